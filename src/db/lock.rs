//! One applier at a time, across processes: an exclusive lock on `<database>.schemactl-lock`.
//!
//! The operating system releases the lock when the process ends, however it ends, so a killed
//! schemactl never leaves a stale lock behind.

use std::fs::{File, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A held lock; released when dropped.
#[derive(Debug)]
pub struct Lock {
    _file: File,
    /// The lock file.
    pub path: PathBuf,
}

/// Returns the lock file of a database.
pub fn lock_path(database: &Path) -> PathBuf {
    super::sibling(database, ".schemactl-lock")
}

/// Takes the lock of `database`. When another process holds it: with `wait`, says so through
/// `on_wait` and waits; without, fails naming the holder.
pub fn acquire(database: &Path, wait: bool, on_wait: &mut dyn FnMut(&str)) -> Result<Lock> {
    // One lock per database file: named through a symbolic link or not, the same lock file.
    let path = lock_path(&super::resolve_links(database));
    // The lock file sits beside the database: a missing directory is named as such, not as
    // a lock file that cannot be opened.
    if let Some(directory) = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty() && !d.is_dir())
    {
        return Err(Error::MissingDirectory {
            database: database.to_path_buf(),
            directory: directory.to_path_buf(),
        });
    }
    let mut options = std::fs::OpenOptions::new();
    options.create(true).truncate(false).read(true).write(true);
    // Never follow a symbolic link: the lock file is written below, and a link planted in its
    // place would make that write land in (and truncate) whatever the link points to.
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NOFOLLOW);
    let refuse = || Error::LockNotAFile { path: path.clone() };
    if std::fs::symlink_metadata(&path).is_ok_and(|m| !m.file_type().is_file()) {
        return Err(refuse());
    }
    let mut file = options.open(&path).map_err(|e| {
        // O_NOFOLLOW on a link: ELOOP.
        if e.raw_os_error() == Some(libc::ELOOP) {
            refuse()
        } else {
            Error::io("open lock file", &path, e)
        }
    })?;
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        return Err(refuse());
    }
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let holder = std::fs::read_to_string(&path).unwrap_or_default();
            let holder = holder.trim();
            let who = if holder.is_empty() {
                "another schemactl".to_string()
            } else {
                format!("another schemactl ({holder})")
            };
            if !wait {
                return Err(Error::Locked {
                    database: database.to_path_buf(),
                    holder: who,
                });
            }
            on_wait(&format!(
                "waiting for {who} to release {}",
                crate::printable::path(&path)
            ));
            file.lock().map_err(|e| Error::io("lock", &path, e))?;
        }
        Err(TryLockError::Error(e)) => return Err(Error::io("lock", &path, e)),
    }
    // Say who holds it, for the next one that waits.
    let _ = file.set_len(0);
    let _ = write!(file, "pid {}", std::process::id());
    Ok(Lock { _file: file, path })
}
