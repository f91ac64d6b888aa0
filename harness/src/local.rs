//! The client's local files, before and after: the partial file a resume starts from, and
//! whether a download (whole, resumed, or as ASCII text) or a mirrored tree is what the server
//! served. Each check reads only what it must (a resumed 12 GB file: the bytes after the
//! offset) and says what was wrong in words: the size, the first wrong byte, the missing or
//! extra file.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use ftpspec_mock::{generated, FileSpec, ServerSpec};

/// A partial file at most this long is written whole; a longer one is sparse.
pub const DENSE_LIMIT: u64 = 64 << 20;
/// Of a sparse partial file, the bytes written right: the last 64 KiB before the offset.
pub const SPARSE_TAIL: u64 = 64 << 10;
/// The largest text an ASCII download is compared as (it is read whole).
const TEXT_LIMIT: u64 = 64 << 20;
const CHUNK: usize = 64 << 10;

/// A file the server serves: bytes, or generated content of a size (`/gen/SIZE` or a
/// `{ generated = "SIZE" }` file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Served {
    /// Its bytes.
    Bytes(Vec<u8>),
    /// Generated content ([`ftpspec_mock::generated`]) of this many bytes.
    Generated(u64),
}

impl Served {
    /// Its size.
    pub fn len(&self) -> u64 {
        match self {
            Served::Bytes(b) => b.len() as u64,
            Served::Generated(n) => *n,
        }
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Its bytes from `offset`, as many as `buf` holds (the caller stays within the file).
    fn fill(&self, offset: u64, buf: &mut [u8]) {
        match self {
            Served::Bytes(b) => {
                let start = offset as usize;
                buf.copy_from_slice(&b[start..start + buf.len()]);
            }
            Served::Generated(_) => generated::fill(offset, buf),
        }
    }

    /// All of it (for texts: the caller keeps it small).
    fn bytes(&self) -> Vec<u8> {
        let mut all = vec![0; self.len() as usize];
        self.fill(0, &mut all);
        all
    }
}

/// What the scenario's server serves at `path`: a generated file or a file of its tree.
pub fn served(spec: &ServerSpec, path: &str) -> Option<Served> {
    if let Some(size) = generated::size_of_path(path) {
        return Some(Served::Generated(size));
    }
    Some(match spec.files.get(path)? {
        FileSpec::Text(t) => Served::Bytes(t.clone().into_bytes()),
        FileSpec::Generated { generated } => Served::Generated(generated::parse_size(generated)?),
    })
}

/// A served directory tree, by paths relative to its root (`a/b.txt`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tree {
    /// Every file below the root.
    pub files: BTreeMap<String, Served>,
    /// Every directory below the root: declared, or holding a file.
    pub dirs: BTreeSet<String>,
}

/// The tree the scenario's server serves under the directory `dir`; `None` when `dir` is
/// not a directory of its `[server]` files and dirs.
pub fn served_tree(spec: &ServerSpec, dir: &str) -> Option<Tree> {
    let root = dir.trim_end_matches('/');
    let prefix = format!("{root}/");
    let mut tree = Tree::default();
    let add_parents = |tree: &mut Tree, rel: &str| {
        let mut at = 0;
        while let Some(i) = rel[at..].find('/') {
            tree.dirs.insert(rel[..at + i].to_owned());
            at += i + 1;
        }
    };
    for path in spec.files.keys() {
        if let Some(rel) = path.strip_prefix(&prefix) {
            add_parents(&mut tree, rel);
            tree.files.insert(rel.to_owned(), served(spec, path)?);
        }
    }
    let mut declared = false;
    for d in &spec.dirs {
        let d = d.trim_end_matches('/');
        declared |= d == root;
        if let Some(rel) = d.strip_prefix(&prefix) {
            add_parents(&mut tree, rel);
            tree.dirs.insert(rel.to_owned());
        }
    }
    let exists = declared || !tree.files.is_empty() || !tree.dirs.is_empty();
    exists.then_some(tree)
}

/// Writes the partial file a resume starts from: `offset` bytes of which the first are the
/// served file's. Up to [`DENSE_LIMIT`] every byte is written; beyond, the file is sparse
/// (`set_len(offset)`) with only the last [`SPARSE_TAIL`] bytes before the offset written
/// right, where a client that checks the overlap looks. (A client that compares the start
/// of the file with the server's would find zeros there.)
pub fn write_partial(path: &Path, served: &Served, offset: u64) -> std::io::Result<()> {
    let mut file = std::fs::File::create(path)?;
    let start = if offset > DENSE_LIMIT {
        file.set_len(offset)?;
        offset - SPARSE_TAIL
    } else {
        0
    };
    file.seek(SeekFrom::Start(start))?;
    let mut buf = vec![0u8; CHUNK];
    let mut pos = start;
    while pos < offset {
        let n = (offset - pos).min(CHUNK as u64) as usize;
        served.fill(pos, &mut buf[..n]);
        file.write_all(&buf[..n])?;
        pos += n as u64;
    }
    file.sync_all()
}

/// How a downloaded file is judged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DownloadCheck {
    /// A resumed file: only the bytes from here on are read (the size is checked whole).
    pub from: u64,
    /// A TYPE A download: the text with LF line ends.
    pub ascii: bool,
}

/// Judges a downloaded file: its size (`None`: no file) and what is wrong with it, if
/// anything.
pub fn check_download(
    local: &Path,
    served: &Served,
    how: DownloadCheck,
) -> (Option<u64>, Option<String>) {
    let Ok(meta) = std::fs::metadata(local) else {
        return (None, Some("there is no local file".into()));
    };
    let size = meta.len();
    let wrong = if how.ascii {
        check_text(local, served)
    } else {
        check_bytes(local, size, served, how.from)
    };
    (Some(size), wrong.err())
}

/// The file is the served one, reading only `[from, end)`.
fn check_bytes(local: &Path, size: u64, served: &Served, from: u64) -> Result<(), String> {
    let full = served.len();
    if size != full {
        let partial = if from > 0 {
            format!(" (the partial file left for it held {from})")
        } else {
            String::new()
        };
        return Err(format!(
            "the local file holds {size} bytes, expected {full}{partial}"
        ));
    }
    let io = |e: std::io::Error| format!("cannot read the local file: {e}");
    let mut file = std::fs::File::open(local).map_err(io)?;
    file.seek(SeekFrom::Start(from)).map_err(io)?;
    let (mut got, mut want) = (vec![0u8; CHUNK], vec![0u8; CHUNK]);
    let mut pos = from;
    while pos < full {
        let n = (full - pos).min(CHUNK as u64) as usize;
        file.read_exact(&mut got[..n]).map_err(io)?;
        served.fill(pos, &mut want[..n]);
        if let Some(i) = first_difference(&got[..n], &want[..n]) {
            let at = pos + i as u64;
            return Err(format!(
                "the first wrong byte is at offset {at} (expected {}, found {})",
                hex(want[i]),
                hex(got[i])
            ));
        }
        pos += n as u64;
    }
    Ok(())
}

/// The file is the served text with this system's line ends (LF): the server sends CRLF in
/// TYPE A, and the client writes LF.
fn check_text(local: &Path, served: &Served) -> Result<(), String> {
    if served.len() > TEXT_LIMIT {
        return Err(format!(
            "the served file ({} bytes) is too large to compare as text",
            served.len()
        ));
    }
    let got = std::fs::read(local).map_err(|e| format!("cannot read the local file: {e}"))?;
    let want = lf_text(&served.bytes());
    if got == want {
        return Ok(());
    }
    let as_lf = lf_text(&got);
    if as_lf == want {
        let cr = got.iter().position(|b| *b == b'\r').unwrap_or(0);
        return Err(format!(
            "no bytes lost, but the lines do not end in LF as on this system: a CR is at byte {cr} (the TYPE A wire form is kept)"
        ));
    }
    let i = first_difference(&as_lf, &want).unwrap_or(0);
    let show = |b: Option<&u8>| b.map_or("the end".to_owned(), |b| hex(*b));
    Err(format!(
        "bytes lost or changed: {} bytes, expected the served text with LF line ends, {} bytes; the first difference is at byte {i} of the text (expected {}, found {})",
        got.len(),
        want.len(),
        show(want.get(i)),
        show(as_lf.get(i))
    ))
}

/// A text with CRLF line ends turned into LF.
fn lf_text(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for (i, &b) in text.iter().enumerate() {
        if !(b == b'\r' && text.get(i + 1) == Some(&b'\n')) {
            out.push(b);
        }
    }
    out
}

/// The first index where two byte strings differ (one ending before the other included).
fn first_difference(a: &[u8], b: &[u8]) -> Option<usize> {
    let common = a.iter().zip(b).position(|(x, y)| x != y);
    common.or_else(|| (a.len() != b.len()).then_some(a.len().min(b.len())))
}

fn hex(b: u8) -> String {
    format!("0x{b:02x}")
}

/// Judges a mirrored tree: the bytes it holds, and the first thing wrong with it, in this
/// order: a served file missing or wrong (by path), a served directory missing, a file or
/// directory the server does not serve.
pub fn check_tree(local_dir: &Path, served: &Tree) -> (u64, Option<String>) {
    let mut files = BTreeMap::new();
    let mut dirs = BTreeSet::new();
    if let Err(e) = walk(local_dir, "", &mut files, &mut dirs) {
        return (0, Some(format!("cannot read {}: {e}", local_dir.display())));
    }
    let bytes = files.values().sum();
    let wrong = (|| {
        for (rel, want) in &served.files {
            let Some(_) = files.get(rel) else {
                return Some(format!("the local tree lacks the file {rel:?}"));
            };
            let how = DownloadCheck::default();
            if let (_, Some(w)) = check_download(&local_dir.join(rel), want, how) {
                return Some(format!("the local file {rel:?} is wrong: {w}"));
            }
        }
        if let Some(d) = served.dirs.iter().find(|d| !dirs.contains(*d)) {
            return Some(format!("the local tree lacks the directory {d:?}"));
        }
        if let Some(f) = files.keys().find(|f| !served.files.contains_key(*f)) {
            return Some(format!(
                "the local tree has a file the server does not serve: {f:?}"
            ));
        }
        let extra = dirs.iter().find(|d| !served.dirs.contains(*d));
        extra.map(|d| format!("the local tree has a directory the server does not serve: {d:?}"))
    })();
    (bytes, wrong)
}

/// The files (with their sizes) and directories below `dir`, by relative path.
fn walk(
    dir: &Path,
    rel: &str,
    files: &mut BTreeMap<String, u64>,
    dirs: &mut BTreeSet<String>,
) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        let meta = entry.metadata()?;
        if meta.is_dir() {
            walk(&entry.path(), &path, files, dirs)?;
            dirs.insert(path);
        } else {
            files.insert(path, meta.len());
        }
    }
    Ok(())
}

/// Whether the client continued from `offset`: it sent `REST offset`. Else what it did, in
/// words.
pub fn resumed_at(commands: &[&str], offset: u64) -> Result<(), String> {
    let rests: Vec<&str> = commands
        .iter()
        .filter(|l| l.get(..5).is_some_and(|v| v.eq_ignore_ascii_case("REST ")))
        .map(|l| l[5..].trim())
        .collect();
    if rests.iter().any(|r| r.parse() == Ok(offset)) {
        return Ok(());
    }
    let sent = if rests.is_empty() {
        "no REST".to_owned()
    } else {
        format!("REST {}", rests.join(", REST "))
    };
    Err(format!(
        "it did not continue the partial file: expected REST {offset}, it sent {sent}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> ServerSpec {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn served_files_and_trees() {
        let s = spec(
            "dirs = [\"/m/empty\", \"/e\"]\n[files]\n\"/m/a.txt\" = \"A\\n\"\n\"/m/sub/b.bin\" = { generated = \"1K\" }\n\"/other\" = \"x\"\n",
        );
        assert_eq!(served(&s, "/gen/1M"), Some(Served::Generated(1 << 20)));
        assert_eq!(served(&s, "/m/a.txt"), Some(Served::Bytes(b"A\n".to_vec())));
        assert_eq!(served(&s, "/nothing"), None);
        let t = served_tree(&s, "/m/").unwrap();
        assert_eq!(t.files.keys().collect::<Vec<_>>(), ["a.txt", "sub/b.bin"]);
        assert_eq!(t.dirs.iter().collect::<Vec<_>>(), ["empty", "sub"]);
        assert_eq!(served_tree(&s, "/e"), Some(Tree::default()));
        assert_eq!(served_tree(&s, "/none"), None);
        assert_eq!(served_tree(&s, "/m/a.txt"), None);
    }

    #[test]
    fn a_small_partial_file_is_written_whole() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("part");
        write_partial(&p, &Served::Generated(1 << 20), 400_000).unwrap();
        let data = std::fs::read(&p).unwrap();
        assert_eq!(data.len(), 400_000);
        assert!(generated::verify(0, &data).is_ok());
    }

    #[test]
    fn a_large_partial_file_is_sparse_with_its_tail_right() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("part");
        let offset = 12_345_678_910;
        write_partial(&p, &Served::Generated(offset + 1000), offset).unwrap();
        let meta = std::fs::metadata(&p).unwrap();
        assert_eq!(meta.len(), offset);
        use std::os::unix::fs::MetadataExt;
        assert!(meta.blocks() * 512 < 1 << 20, "{} blocks", meta.blocks());
        let mut f = std::fs::File::open(&p).unwrap();
        f.seek(SeekFrom::Start(offset - SPARSE_TAIL)).unwrap();
        let mut tail = vec![0; SPARSE_TAIL as usize];
        f.read_exact(&mut tail).unwrap();
        assert!(generated::verify(offset - SPARSE_TAIL, &tail).is_ok());
    }

    #[test]
    fn a_resumed_file_is_judged_by_its_size_and_its_tail_only() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        let served = Served::Generated(12_345_679_910);
        let offset = 12_345_678_910;
        let how = DownloadCheck {
            from: offset,
            ascii: false,
        };
        // Sparse zeros up to the offset (wrong bytes nobody reads), then the right tail.
        let mut f = std::fs::File::create(&p).unwrap();
        f.set_len(offset).unwrap();
        f.seek(SeekFrom::Start(offset)).unwrap();
        let mut tail = vec![0; 1000];
        generated::fill(offset, &mut tail);
        f.write_all(&tail).unwrap();
        drop(f);
        assert_eq!(check_download(&p, &served, how), (Some(served.len()), None));
        // The head is wrong: a whole-file check finds it.
        let whole = check_download(&p, &served, DownloadCheck::default()).1;
        assert!(whole.unwrap().contains("first wrong byte is at offset 0"));
        // A wrong byte in the tail, and a short file.
        let mut f = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
        f.seek(SeekFrom::Start(offset + 500)).unwrap();
        f.write_all(&[!tail[500]]).unwrap();
        let e = check_download(&p, &served, how).1.unwrap();
        assert!(e.contains("at offset 12345679410"), "{e}");
        f.set_len(offset + 999).unwrap();
        let e = check_download(&p, &served, how).1.unwrap();
        assert_eq!(
            e,
            "the local file holds 12345679909 bytes, expected 12345679910 (the partial file left for it held 12345678910)"
        );
    }

    #[test]
    fn an_empty_download_must_exist_and_be_empty() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        let empty = Served::Bytes(Vec::new());
        let how = DownloadCheck::default();
        assert_eq!(
            check_download(&p, &empty, how),
            (None, Some("there is no local file".into()))
        );
        std::fs::write(&p, b"").unwrap();
        assert_eq!(check_download(&p, &empty, how), (Some(0), None));
        std::fs::write(&p, b"x").unwrap();
        let (n, e) = check_download(&p, &empty, how);
        assert_eq!(n, Some(1));
        assert!(e.unwrap().contains("holds 1 bytes, expected 0"));
    }

    #[test]
    fn an_ascii_download_has_lf_line_ends_and_no_bytes_lost() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        let served = Served::Bytes(b"one\ntwo\r\nthree\n".to_vec());
        let how = DownloadCheck {
            from: 0,
            ascii: true,
        };
        std::fs::write(&p, b"one\ntwo\nthree\n").unwrap();
        assert_eq!(check_download(&p, &served, how), (Some(14), None));
        std::fs::write(&p, b"one\r\ntwo\r\nthree\r\n").unwrap();
        let e = check_download(&p, &served, how).1.unwrap();
        assert!(
            e.starts_with("no bytes lost") && e.contains("byte 3"),
            "{e}"
        );
        std::fs::write(&p, b"one\ntwo\nthee\n").unwrap();
        let e = check_download(&p, &served, how).1.unwrap();
        assert!(
            e.starts_with("bytes lost or changed")
                && e.contains("byte 10 of the text (expected 0x72, found 0x65)"),
            "{e}"
        );
        std::fs::write(&p, b"one\ntwo\n").unwrap();
        let e = check_download(&p, &served, how).1.unwrap();
        assert!(e.contains("expected 0x74, found the end"), "{e}");
    }

    fn tree_fixture() -> (tempfile::TempDir, Tree) {
        let s = spec(
            "dirs = [\"/m/empty\"]\n[files]\n\"/m/01 1234 foo.mp3\" = \"tune\"\n\"/m/sub/b.bin\" = { generated = \"1K\" }\n",
        );
        let tree = served_tree(&s, "/m").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::create_dir_all(root.join("empty")).unwrap();
        std::fs::write(root.join("01 1234 foo.mp3"), "tune").unwrap();
        let mut b = vec![0; 1024];
        generated::fill(0, &mut b);
        std::fs::write(root.join("sub/b.bin"), &b).unwrap();
        (dir, tree)
    }

    #[test]
    fn the_right_tree_passes() {
        let (dir, tree) = tree_fixture();
        assert_eq!(check_tree(dir.path(), &tree), (1028, None));
    }

    #[test]
    fn a_missing_file_a_wrong_byte_and_extras_fail_with_their_names() {
        let (dir, tree) = tree_fixture();
        let root = dir.path();
        let judged = |want: &str| {
            let e = check_tree(root, &tree).1.unwrap();
            assert!(e.contains(want), "{e}");
        };
        std::fs::write(root.join("extra.txt"), "x").unwrap();
        judged("a file the server does not serve: \"extra.txt\"");
        std::fs::remove_file(root.join("extra.txt")).unwrap();
        std::fs::create_dir(root.join("more")).unwrap();
        judged("a directory the server does not serve: \"more\"");
        std::fs::remove_dir(root.join("empty")).unwrap();
        judged("lacks the directory \"empty\"");
        std::fs::write(root.join("sub/b.bin"), [0u8; 1024]).unwrap();
        judged("the local file \"sub/b.bin\" is wrong: the first wrong byte is at offset 0");
        std::fs::remove_file(root.join("01 1234 foo.mp3")).unwrap();
        judged("lacks the file \"01 1234 foo.mp3\"");
    }

    #[test]
    fn a_resume_is_a_rest_at_the_offset() {
        assert_eq!(
            resumed_at(&["TYPE I", "REST 400000", "RETR /x"], 400_000),
            Ok(())
        );
        assert_eq!(
            resumed_at(&["RETR /x"], 400_000).unwrap_err(),
            "it did not continue the partial file: expected REST 400000, it sent no REST"
        );
        assert!(resumed_at(&["REST 0", "rest 12"], 400_000)
            .unwrap_err()
            .ends_with("it sent REST 0, REST 12"));
    }
}
