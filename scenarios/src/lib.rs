//! ftpspec-scenarios: the scenario catalogue, one TOML file per case, as
//! `scenarios/<group>/<name>.toml` (the id being `group/name`), embedded so that it ships with
//! ftpspec as a dependency; and the server personalities, `scenarios/personalities/<name>.toml`
//! (sets of the mock's knobs that reproduce a real server, which a scenario or a whole run can
//! name). The files' shape is documented in `ftpspec::scenario`; this crate
//! only carries them.
//!
//! ```
//! let ids: Vec<&str> = ftpspec_scenarios::files().map(|f| f.id).collect();
//! assert!(ids.contains(&"passive/unroutable-address"));
//! ```

use include_dir::{include_dir, Dir, DirEntry};

static CRATE_DIR: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR");

/// One scenario file of the catalogue.
#[derive(Debug, Clone, Copy)]
pub struct CatalogueFile {
    /// `group/name` (the path without `.toml`).
    pub id: &'static str,
    /// `group/name.toml`.
    pub path: &'static str,
    /// The TOML text (a file that is not UTF-8 comes out empty, and fails to load).
    pub text: &'static str,
}

/// The folder of the server personalities (not a scenario group).
pub const PERSONALITIES: &str = "personalities";

/// The group of server cases (`server/<name>.toml`: cases for `ftpspec run --server`, whose
/// files have a shape of their own).
pub const SERVER: &str = "server";

/// Every client scenario file, in no particular order: the `.toml` files in the group
/// folders (everything but `src/`, `personalities/`, `server/` and the crate's own files at
/// the top).
pub fn files() -> impl Iterator<Item = CatalogueFile> {
    let stack: Vec<&'static Dir<'static>> = CRATE_DIR
        .dirs()
        .filter(|d| ![Some("src"), Some(PERSONALITIES), Some(SERVER)].contains(&d.path().to_str()))
        .collect();
    toml_files(stack)
}

/// Every server case's file (`server/<name>.toml`, id `server/<name>`), in no particular
/// order.
///
/// ```
/// assert!(ftpspec_scenarios::server_files().any(|f| f.id == "server/epsv"));
/// ```
pub fn server_files() -> impl Iterator<Item = CatalogueFile> {
    toml_files(CRATE_DIR.get_dir(SERVER).into_iter().collect())
}

/// Every server personality, in no particular order; `id` is its name (`vsftpd-like`) and
/// `path` is `personalities/vsftpd-like.toml`.
pub fn personalities() -> impl Iterator<Item = CatalogueFile> {
    let stack: Vec<&'static Dir<'static>> = CRATE_DIR.get_dir(PERSONALITIES).into_iter().collect();
    toml_files(stack).map(|mut f| {
        f.id = f.id.strip_prefix("personalities/").unwrap_or(f.id);
        f
    })
}

/// The `.toml` files under these folders, recursively.
fn toml_files(mut stack: Vec<&'static Dir<'static>>) -> std::vec::IntoIter<CatalogueFile> {
    let mut out = Vec::new();
    while let Some(dir) = stack.pop() {
        for entry in dir.entries() {
            match entry {
                DirEntry::Dir(d) => stack.push(d),
                DirEntry::File(f) => {
                    let Some(path) = f.path().to_str() else {
                        continue;
                    };
                    if let Some(id) = path.strip_suffix(".toml") {
                        out.push(CatalogueFile {
                            id,
                            path,
                            text: f.contents_utf8().unwrap_or_default(),
                        });
                    }
                }
            }
        }
    }
    out.into_iter()
}

#[cfg(test)]
mod tests {
    #[test]
    fn holds_only_group_files() {
        let files: Vec<_> = super::files().collect();
        assert!(files.len() >= 30, "{}", files.len());
        for f in &files {
            assert!(f.id.contains('/') && !f.id.starts_with("src/"), "{}", f.id);
            assert!(!f.text.is_empty(), "{}", f.path);
            assert!(!f.id.starts_with("personalities/"), "{}", f.id);
        }
    }

    #[test]
    fn personalities_are_named_by_their_file() {
        for f in super::personalities() {
            assert!(!f.id.contains('/'), "{}", f.id);
            assert!(f.path.starts_with("personalities/"), "{}", f.path);
        }
    }
}
