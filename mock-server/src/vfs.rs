//! The in-memory file tree, plus the generated files under `/gen` (see [`crate::generated`])
//! and the uploads into the sink under `/sink`, recorded by size only (see [`crate::sink`]).
//!
//! Paths are absolute, `/`-separated, normalised: `.` and empty segments vanish and `..` stops at
//! the root (as in a chroot), so no path can escape the tree.

use std::collections::BTreeMap;

use bytes::Bytes;
use time::{macros::datetime, OffsetDateTime};

use crate::encoding::NameEncoding;
use crate::generated;
use crate::sink;

/// The modification time of files set up without one: 2024-01-01 00:00:00 UTC, so listings
/// and `MDTM` are the same on every run.
pub const DEFAULT_MTIME: OffsetDateTime = datetime!(2024-01-01 00:00 UTC);

#[derive(Debug, Clone)]
pub(crate) enum Node {
    Dir {
        mtime: OffsetDateTime,
    },
    File {
        content: Source,
        mtime: OffsetDateTime,
    },
    /// An upload into the sink: its size, not its bytes.
    Sunk {
        size: u64,
        mtime: OffsetDateTime,
    },
}

/// Where a file's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    Memory(Bytes),
    Generated(u64),
}

impl Source {
    pub(crate) fn len(&self) -> u64 {
        match self {
            Source::Memory(b) => b.len() as u64,
            Source::Generated(n) => *n,
        }
    }
}

/// One directory entry, for listings and `SIZE`/`MDTM`/`MLST`.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub name: String,
    pub is_dir: bool,
    pub size: u64,
    pub mtime: OffsetDateTime,
    pub writable: bool,
}

/// Why a file operation failed. All map to 550 except where noted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FsError {
    #[error("{0}: No such file or directory")]
    NotFound(String),
    #[error("{0}: Not a directory")]
    NotADirectory(String),
    #[error("{0}: Is a directory")]
    IsADirectory(String),
    #[error("{0}: File exists")]
    Exists(String),
    #[error("{0}: Directory not empty")]
    NotEmpty(String),
    #[error("{0}: Read-only (generated files cannot be changed)")]
    ReadOnly(String),
    #[error("{0}: Parent directory does not exist")]
    NoParent(String),
    #[error("{0}: In the upload sink, which keeps no bytes (uploads only)")]
    SinkNotReadable(String),
    #[error("{0}: Not a size (names under /sink/gen are sizes, as under /gen)")]
    SinkGenName(String),
}

/// The tree.
#[derive(Debug, Clone)]
pub(crate) struct Vfs {
    nodes: BTreeMap<String, Node>,
}

impl Default for Vfs {
    fn default() -> Self {
        let mut nodes = BTreeMap::new();
        nodes.insert(
            "/".to_owned(),
            Node::Dir {
                mtime: DEFAULT_MTIME,
            },
        );
        Vfs { nodes }
    }
}

/// Resolves `arg` against `cwd` into a normalised absolute path.
pub(crate) fn resolve(cwd: &str, arg: &str) -> String {
    let joined = if arg.starts_with('/') {
        arg.to_owned()
    } else {
        format!("{cwd}/{arg}")
    };
    let mut parts: Vec<&str> = Vec::new();
    for seg in joined.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    format!("/{}", parts.join("/"))
}

fn parent_of(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

fn name_of(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or("")
}

fn is_gen(path: &str) -> bool {
    path == generated::GEN_DIR || path.starts_with("/gen/")
}

impl Vfs {
    /// Adds a file, creating missing parent directories.
    pub(crate) fn add_file(&mut self, path: &str, content: Source, mtime: OffsetDateTime) {
        let path = resolve("/", path);
        self.add_parents(&path);
        self.nodes.insert(path, Node::File { content, mtime });
    }

    /// Adds a directory and its parents.
    pub(crate) fn add_dir(&mut self, path: &str) {
        let path = resolve("/", path);
        self.add_parents(&path);
        self.nodes.entry(path).or_insert(Node::Dir {
            mtime: DEFAULT_MTIME,
        });
    }

    fn add_parents(&mut self, path: &str) {
        let mut p = parent_of(path);
        while p != "/" {
            self.nodes.entry(p.to_owned()).or_insert(Node::Dir {
                mtime: DEFAULT_MTIME,
            });
            p = parent_of(p);
        }
    }

    pub(crate) fn stat(&self, path: &str) -> Result<Entry, FsError> {
        let name = if path == "/" {
            "/".to_owned()
        } else {
            name_of(path).to_owned()
        };
        if let Some(node) = self.nodes.get(path) {
            return Ok(match node {
                Node::Dir { mtime } => Entry {
                    name,
                    is_dir: true,
                    size: 0,
                    mtime: *mtime,
                    writable: true,
                },
                Node::File { content, mtime } => Entry {
                    name,
                    is_dir: false,
                    size: content.len(),
                    mtime: *mtime,
                    writable: true,
                },
                Node::Sunk { size, mtime } => Entry {
                    name,
                    is_dir: false,
                    size: *size,
                    mtime: *mtime,
                    writable: true,
                },
            });
        }
        // The two directories that exist without being set up: `/gen` (read-only) and the
        // sink (written by uploads).
        if path == generated::GEN_DIR || path == sink::SINK_DIR {
            return Ok(Entry {
                name,
                is_dir: true,
                size: 0,
                mtime: DEFAULT_MTIME,
                writable: path == sink::SINK_DIR,
            });
        }
        if let Some(size) = generated::size_of_path(path) {
            return Ok(Entry {
                name,
                is_dir: false,
                size,
                mtime: DEFAULT_MTIME,
                writable: false,
            });
        }
        Err(FsError::NotFound(path.to_owned()))
    }

    /// Bytes of file content held in memory: files set up and uploads kept (generated files
    /// and uploads into the sink hold none).
    pub(crate) fn bytes_held(&self) -> u64 {
        self.nodes
            .values()
            .map(|n| match n {
                Node::File {
                    content: Source::Memory(b),
                    ..
                } => b.len() as u64,
                _ => 0,
            })
            .sum()
    }

    /// The first path (in order) with a character `encoding` cannot send, if any.
    pub(crate) fn first_path_outside(&self, encoding: NameEncoding) -> Option<String> {
        self.nodes.keys().find(|p| !encoding.can_encode(p)).cloned()
    }

    pub(crate) fn is_dir(&self, path: &str) -> bool {
        self.stat(path).map(|e| e.is_dir).unwrap_or(false)
    }

    /// The entries of a directory, sorted by name; a file lists as itself.
    pub(crate) fn list(&self, path: &str) -> Result<Vec<Entry>, FsError> {
        let me = self.stat(path)?;
        if !me.is_dir {
            return Ok(vec![me]);
        }
        let mut out = Vec::new();
        let prefix = if path == "/" {
            "/".to_owned()
        } else {
            format!("{path}/")
        };
        for (p, _) in self.nodes.range(prefix.clone()..) {
            let Some(rest) = p.strip_prefix(&prefix) else {
                break;
            };
            if rest.is_empty() || rest.contains('/') {
                continue;
            }
            out.push(self.stat(p)?);
        }
        if path == "/" && !self.nodes.contains_key(generated::GEN_DIR) {
            out.push(self.stat(generated::GEN_DIR)?);
        }
        if path == generated::GEN_DIR {
            for size in ["1K", "1M", "64M", "1G", "10G"] {
                out.push(self.stat(&format!("{}/{size}", generated::GEN_DIR))?);
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    pub(crate) fn read(&self, path: &str) -> Result<Source, FsError> {
        match self.nodes.get(path) {
            Some(Node::File { content, .. }) => return Ok(content.clone()),
            Some(Node::Dir { .. }) => return Err(FsError::IsADirectory(path.to_owned())),
            Some(Node::Sunk { .. }) => return Err(FsError::SinkNotReadable(path.to_owned())),
            None => {}
        }
        if path == sink::SINK_DIR {
            return Err(FsError::IsADirectory(path.to_owned()));
        }
        if sink::is_sink(path) {
            return Err(FsError::NotFound(path.to_owned()));
        }
        if path == generated::GEN_DIR {
            return Err(FsError::IsADirectory(path.to_owned()));
        }
        generated::size_of_path(path)
            .map(Source::Generated)
            .ok_or_else(|| FsError::NotFound(path.to_owned()))
    }

    /// Checks that `path` may be written (for STOR/APPE), before any data moves.
    pub(crate) fn check_writable(&self, path: &str) -> Result<(), FsError> {
        if is_gen(path) {
            return Err(FsError::ReadOnly(path.to_owned()));
        }
        if path == "/" || matches!(self.nodes.get(path), Some(Node::Dir { .. })) {
            return Err(FsError::IsADirectory(path.to_owned()));
        }
        if path == sink::SINK_DIR {
            return Err(FsError::IsADirectory(path.to_owned()));
        }
        if sink::is_sink(path) {
            // Any name, any depth: the directories are made as uploads arrive.
            if sink::gen_size(path) == Some(None) {
                return Err(FsError::SinkGenName(path.to_owned()));
            }
            let mut p = parent_of(path);
            while p != "/" {
                if matches!(
                    self.nodes.get(p),
                    Some(Node::File { .. } | Node::Sunk { .. })
                ) {
                    return Err(FsError::NotADirectory(p.to_owned()));
                }
                p = parent_of(p);
            }
            return Ok(());
        }
        match self.nodes.get(parent_of(path)) {
            Some(Node::Dir { .. }) => Ok(()),
            Some(Node::File { .. } | Node::Sunk { .. }) => {
                Err(FsError::NotADirectory(parent_of(path).to_owned()))
            }
            None => Err(FsError::NoParent(path.to_owned())),
        }
    }

    /// The current content of a stored file (for APPE and REST+STOR).
    pub(crate) fn existing(&self, path: &str) -> Option<Bytes> {
        match self.nodes.get(path) {
            Some(Node::File {
                content: Source::Memory(data),
                ..
            }) => Some(data.clone()),
            _ => None,
        }
    }

    pub(crate) fn store(&mut self, path: &str, data: Bytes) -> Result<(), FsError> {
        self.check_writable(path)?;
        self.nodes.insert(
            path.to_owned(),
            Node::File {
                content: Source::Memory(data),
                mtime: now(),
            },
        );
        Ok(())
    }

    /// The size of an upload into the sink at `path`, if there is one.
    pub(crate) fn sunk_size(&self, path: &str) -> Option<u64> {
        match self.nodes.get(path) {
            Some(Node::Sunk { size, .. }) => Some(*size),
            _ => None,
        }
    }

    /// Records an upload into the sink: its size, with the directories above it.
    pub(crate) fn store_sunk(&mut self, path: &str, size: u64) -> Result<(), FsError> {
        self.check_writable(path)?;
        self.add_parents(path);
        self.nodes
            .insert(path.to_owned(), Node::Sunk { size, mtime: now() });
        Ok(())
    }

    pub(crate) fn mkdir(&mut self, path: &str) -> Result<(), FsError> {
        if is_gen(path) || sink::is_sink(path) {
            return Err(FsError::ReadOnly(path.to_owned()));
        }
        if self.stat(path).is_ok() {
            return Err(FsError::Exists(path.to_owned()));
        }
        match self.nodes.get(parent_of(path)) {
            Some(Node::Dir { .. }) => {
                self.nodes
                    .insert(path.to_owned(), Node::Dir { mtime: now() });
                Ok(())
            }
            Some(Node::File { .. } | Node::Sunk { .. }) => {
                Err(FsError::NotADirectory(parent_of(path).to_owned()))
            }
            None => Err(FsError::NoParent(path.to_owned())),
        }
    }

    pub(crate) fn rmdir(&mut self, path: &str) -> Result<(), FsError> {
        if is_gen(path) || sink::is_sink(path) || path == "/" {
            return Err(FsError::ReadOnly(path.to_owned()));
        }
        match self.nodes.get(path) {
            Some(Node::Dir { .. }) => {}
            Some(Node::File { .. } | Node::Sunk { .. }) => {
                return Err(FsError::NotADirectory(path.to_owned()))
            }
            None => return Err(FsError::NotFound(path.to_owned())),
        }
        let prefix = format!("{path}/");
        if self
            .nodes
            .range(prefix.clone()..)
            .next()
            .is_some_and(|(p, _)| p.starts_with(&prefix))
        {
            return Err(FsError::NotEmpty(path.to_owned()));
        }
        self.nodes.remove(path);
        Ok(())
    }

    pub(crate) fn delete(&mut self, path: &str) -> Result<(), FsError> {
        if is_gen(path) {
            return Err(FsError::ReadOnly(path.to_owned()));
        }
        match self.nodes.get(path) {
            Some(Node::File { .. } | Node::Sunk { .. }) => {
                self.nodes.remove(path);
                Ok(())
            }
            Some(Node::Dir { .. }) => Err(FsError::IsADirectory(path.to_owned())),
            None => Err(FsError::NotFound(path.to_owned())),
        }
    }

    pub(crate) fn rename(&mut self, from: &str, to: &str) -> Result<(), FsError> {
        if is_gen(from) || is_gen(to) || sink::is_sink(from) || sink::is_sink(to) || from == "/" {
            return Err(FsError::ReadOnly(from.to_owned()));
        }
        if !self.nodes.contains_key(from) {
            return Err(FsError::NotFound(from.to_owned()));
        }
        if self.nodes.contains_key(to) {
            return Err(FsError::Exists(to.to_owned()));
        }
        if to.starts_with(&format!("{from}/")) {
            return Err(FsError::NotADirectory(to.to_owned()));
        }
        if !matches!(self.nodes.get(parent_of(to)), Some(Node::Dir { .. })) {
            return Err(FsError::NoParent(to.to_owned()));
        }
        let prefix = format!("{from}/");
        let moved: Vec<String> = self
            .nodes
            .range(from.to_owned()..)
            .map(|(p, _)| p.clone())
            .take_while(|p| p == from || p.starts_with(&prefix))
            .collect();
        for old in moved {
            let node = self.nodes.remove(&old).expect("listed above");
            let new = format!("{to}{}", &old[from.len()..]);
            self.nodes.insert(new, node);
        }
        Ok(())
    }
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or(DEFAULT_MTIME)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("/", "a", "/a")]
    #[case("/a", "b/c", "/a/b/c")]
    #[case("/a", "/x", "/x")]
    #[case("/a/b", "..", "/a")]
    #[case("/", "../../etc/passwd", "/etc/passwd")]
    #[case("/a", "./b//c/./", "/a/b/c")]
    #[case("/a", "../../..", "/")]
    #[case("/", "", "/")]
    fn resolves(#[case] cwd: &str, #[case] arg: &str, #[case] out: &str) {
        assert_eq!(resolve(cwd, arg), out);
    }

    fn tree() -> Vfs {
        let mut v = Vfs::default();
        v.add_file(
            "/docs/readme.txt",
            Source::Memory(Bytes::from_static(b"hi")),
            DEFAULT_MTIME,
        );
        v.add_dir("/empty");
        v
    }

    #[test]
    fn lists_sorted_with_gen() {
        let names: Vec<String> = tree()
            .list("/")
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(names, ["docs", "empty", "gen"]);
        assert_eq!(tree().list("/docs/readme.txt").unwrap()[0].size, 2);
    }

    #[test]
    fn renames_directories_with_their_contents() {
        let mut v = tree();
        v.rename("/docs", "/empty/docs").unwrap();
        assert!(v.read("/empty/docs/readme.txt").is_ok());
        assert!(v.read("/docs/readme.txt").is_err());
        assert_eq!(
            v.rename("/empty", "/empty/inside"),
            Err(FsError::NotADirectory("/empty/inside".into()))
        );
    }

    #[test]
    fn refuses_what_it_must() {
        let mut v = tree();
        assert_eq!(v.rmdir("/docs"), Err(FsError::NotEmpty("/docs".into())));
        assert_eq!(
            v.delete("/gen/1K"),
            Err(FsError::ReadOnly("/gen/1K".into()))
        );
        assert_eq!(v.mkdir("/docs"), Err(FsError::Exists("/docs".into())));
        assert_eq!(
            v.mkdir("/no/such"),
            Err(FsError::NoParent("/no/such".into()))
        );
        assert_eq!(
            v.check_writable("/docs/readme.txt/x"),
            Err(FsError::NotADirectory("/docs/readme.txt".into()))
        );
        assert!(matches!(v.read("/gen/64M"), Ok(Source::Generated(n)) if n == 64 << 20));
        assert!(v.rmdir("/empty").is_ok());
    }

    #[test]
    fn the_sink_records_sizes_and_keeps_no_bytes() {
        let mut v = tree();
        let held = v.bytes_held();
        assert_eq!(held, 2);
        assert!(v.stat("/sink").unwrap().is_dir, "there before any upload");
        assert_eq!(v.list("/sink").unwrap().len(), 0);
        v.store_sunk("/sink/a/big.bin", 10 << 30).unwrap();
        assert_eq!(v.bytes_held(), held);
        assert_eq!(v.stat("/sink/a/big.bin").unwrap().size, 10 << 30);
        assert_eq!(v.sunk_size("/sink/a/big.bin"), Some(10 << 30));
        assert_eq!(v.list("/sink").unwrap()[0].name, "a");
        assert!(v.list("/").unwrap().iter().any(|e| e.name == "sink"));
        assert_eq!(
            v.read("/sink/a/big.bin"),
            Err(FsError::SinkNotReadable("/sink/a/big.bin".into()))
        );
        assert_eq!(v.read("/sink/b"), Err(FsError::NotFound("/sink/b".into())));
        assert_eq!(v.existing("/sink/a/big.bin"), None, "nothing to append to");
        assert_eq!(
            v.check_writable("/sink/gen/big"),
            Err(FsError::SinkGenName("/sink/gen/big".into()))
        );
        assert!(v.check_writable("/sink/gen/10G").is_ok());
        assert_eq!(
            v.check_writable("/sink/a/big.bin/x"),
            Err(FsError::NotADirectory("/sink/a/big.bin".into()))
        );
        assert_eq!(
            v.check_writable("/sink"),
            Err(FsError::IsADirectory("/sink".into()))
        );
        assert_eq!(v.mkdir("/sink/d"), Err(FsError::ReadOnly("/sink/d".into())));
        assert_eq!(
            v.rename("/sink/a/big.bin", "/kept"),
            Err(FsError::ReadOnly("/sink/a/big.bin".into()))
        );
        v.delete("/sink/a/big.bin").unwrap();
        assert!(v.stat("/sink/a/big.bin").is_err());
    }
}
