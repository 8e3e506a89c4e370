//! Files beside a database: sibling names (`<db>-wal`, `<backup>.sha256`, ...), new files
//! written durably (created, never overwritten, fsynced), and the file system that holds them.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// `path` with `suffix` appended to its file name: `<db>-wal`, `<backup>.sha256`, ...
pub fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    name.into()
}

/// The file a path names once every symbolic link in a chain of them is followed (a link's
/// relative target is taken from the link's directory); the path itself when it is no link.
/// What is written to a database, moved aside or locked is this file, never a link to it
/// (SQLite, too, puts `-wal` and `-journal` beside the file the link points to).
pub fn resolve_links(path: &Path) -> PathBuf {
    let mut file = path.to_path_buf();
    // As many links as the kernel follows before it calls the chain a loop.
    for _ in 0..40 {
        let Ok(target) = std::fs::read_link(&file) else {
            break;
        };
        file = match file.parent() {
            Some(dir) if target.is_relative() => dir.join(target),
            _ => target,
        };
    }
    file
}

/// The size of a database's `-wal` file, 0 when there is none.
pub fn wal_bytes(path: &Path) -> u64 {
    std::fs::metadata(sibling(path, "-wal")).map_or(0, |m| m.len())
}

/// Writes `text` to a new file `path` (creating its directory; an existing file is an error,
/// never overwritten) and fsyncs it.
pub fn write_new(path: &Path, text: &str) -> Result<()> {
    use std::io::Write as _;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io("create directory", parent, e))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| Error::io("create", path, e))?;
    file.write_all(text.as_bytes())
        .map_err(|e| Error::io("write", path, e))?;
    file.sync_all().map_err(|e| Error::io("sync", path, e))
}

/// Fsyncs a file.
pub fn sync_file(path: &Path) -> Result<()> {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::io("sync", path, e))
}

/// Fsyncs a directory, so that a rename or a new file in it survives a crash.
pub fn sync_dir(dir: &Path) -> Result<()> {
    // Directories are fsynced through a read-only handle on Unix; elsewhere this is a no-op.
    match std::fs::File::open(dir) {
        Ok(f) => {
            let _ = f.sync_all();
            Ok(())
        }
        Err(e) => Err(Error::io("sync", dir, e)),
    }
}

/// Returns the id and the free bytes (for an unprivileged writer) of the file system holding
/// `path`; None when `statvfs` cannot tell.
// statvfs's field types differ between platforms (u32 on some 32-bit ones).
#[allow(clippy::useless_conversion)]
pub fn file_system(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs is plain old data, for which all-zero bytes are a valid value.
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated path and `s` a properly sized out-parameter.
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut s) };
    (rc == 0).then(|| {
        (
            u64::from(s.f_fsid),
            u64::from(s.f_bavail).saturating_mul(u64::from(s.f_frsize)),
        )
    })
}
