//! Writing a run's files: `results.json`, `junit.xml`, `index.html`, and each kept
//! diagnostics bundle under `cases/` (and, for a merged run, each packet capture copied
//! there).

use std::path::Path;

use crate::error::Error;
use crate::model::RunResults;

impl RunResults {
    /// Writes `results.json`, `junit.xml` and `index.html` into `dir`, and each case's kept
    /// diagnostics bundle (its text) at its relative path ([`crate::paths`]); with a
    /// baseline, the HTML marks what changed and lists regressions first. Bundles of an
    /// earlier run in the same directory are left as they are (only this run's are linked).
    pub fn write(&self, dir: &Path, baseline: Option<&RunResults>) -> Result<(), Error> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |error| Error::Io { path, error }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let files = [
            ("results.json", self.to_json()),
            ("junit.xml", crate::junit::junit(self)),
            ("index.html", crate::html::html(self, baseline)),
        ];
        for (name, text) in files {
            let path = dir.join(name);
            std::fs::write(&path, text).map_err(io(&path))?;
        }
        for r in &self.results {
            let (Some(rel), Some(text)) = (&r.diagnostics, &r.diagnostics_text) else {
                continue;
            };
            let path = dir.join(rel);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(io(parent))?;
            }
            std::fs::write(&path, text).map_err(io(&path))?;
        }
        for r in &self.results {
            let (Some(rel), Some(from)) = (&r.capture, &r.capture_from) else {
                continue;
            };
            let path = dir.join(rel);
            if same_file(from, &path) {
                continue;
            }
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(io(parent))?;
            }
            std::fs::copy(from, &path).map_err(io(&path))?;
        }
        Ok(())
    }

    /// Reads back the diagnostics bundles of a run written to `dir` (for `ftpspec merge`, which
    /// writes them again beside the merged report), and notes where its packet captures are
    /// (`capture_from`, copied by [`RunResults::write`]). A bundle or capture named in
    /// `results.json` but gone from the disk loses its link, and is said in the returned
    /// warnings.
    pub fn read_bundles(&mut self, dir: &Path) -> Vec<String> {
        let mut warnings = Vec::new();
        for r in &mut self.results {
            if let Some(rel) = &r.capture {
                let path = dir.join(rel);
                if path.is_file() {
                    r.capture_from = Some(path);
                } else {
                    warnings.push(format!(
                        "{} {}: its capture {} is gone; the merged report does not link it",
                        r.client,
                        r.scenario,
                        path.display()
                    ));
                    r.capture = None;
                }
            }
            let Some(rel) = &r.diagnostics else {
                continue;
            };
            let path = dir.join(rel);
            match std::fs::read_to_string(&path) {
                Ok(text) => r.diagnostics_text = Some(text),
                Err(e) => {
                    warnings.push(format!(
                        "{} {}: its diagnostics bundle {} cannot be read ({e}); the merged report does not link it",
                        r.client,
                        r.scenario,
                        path.display()
                    ));
                    r.diagnostics = None;
                }
            }
        }
        warnings
    }
}

/// Whether two paths name the same existing file.
fn same_file(a: &Path, b: &Path) -> bool {
    matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a == b)
}
