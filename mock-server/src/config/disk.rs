//! Copying a directory from disk into the in-memory file tree (`Builder::root_dir`).

use std::path::Path;

use crate::error::Error;
use crate::vfs::{Source, Vfs, DEFAULT_MTIME};

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |error| Error::Io {
        path: path.to_owned(),
        error,
    }
}

pub(super) fn load_dir(vfs: &mut Vfs, dir: &Path, at: &str, total: &mut u64) -> Result<(), Error> {
    const MAX: u64 = 1 << 30;
    let entries = std::fs::read_dir(dir).map_err(io_error(dir))?;
    vfs.add_dir(at);
    for entry in entries {
        let entry = entry.map_err(io_error(dir))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let target = if at == "/" {
            format!("/{name}")
        } else {
            format!("{at}/{name}")
        };
        let meta = std::fs::metadata(&path).map_err(io_error(&path))?;
        if meta.is_dir() {
            load_dir(vfs, &path, &target, total)?;
        } else if meta.is_file() {
            *total += meta.len();
            if *total > MAX {
                return Err(Error::TreeTooLarge {
                    path: dir.to_owned(),
                });
            }
            let data = std::fs::read(&path).map_err(io_error(&path))?;
            let mtime = meta
                .modified()
                .ok()
                .map(time::OffsetDateTime::from)
                .unwrap_or(DEFAULT_MTIME);
            vfs.add_file(
                &target,
                Source::Memory(data.into()),
                mtime.replace_nanosecond(0).unwrap_or(DEFAULT_MTIME),
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::error::Error;
    use crate::MockServer;

    #[test]
    fn root_dir_is_copied() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/f.txt"), "x").unwrap();
        let cfg = MockServer::builder().root_dir(dir.path()).build().unwrap();
        assert_eq!(cfg.vfs.stat("/sub/f.txt").unwrap().size, 1);
        let e = MockServer::builder()
            .root_dir(dir.path().join("missing"))
            .build()
            .unwrap_err();
        assert!(matches!(e, Error::Io { .. }));
    }
}
