//! Writing a run's files: `results.json`, `junit.xml` and `index.html`.

use std::path::Path;

use crate::error::Error;
use crate::model::RunResults;

impl RunResults {
    /// Writes `results.json`, `junit.xml` and `index.html` into `dir`; with a baseline, the
    /// HTML marks what changed and lists regressions first.
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
        Ok(())
    }
}
