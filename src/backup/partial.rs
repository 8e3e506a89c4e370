//! Files being written in the backups folder, and what an interrupted run left there.
//!
//! Every file schemactl writes into the folder (a backup, a safety copy, a scratch copy that
//! verification decompresses) is announced first by a marker, `<file>.inprogress`, which the
//! writing process holds an exclusive lock on until the file is complete (its manifest is
//! written) or removed. The operating system drops the lock when the process ends, however
//! it ends. So a marker nobody holds is *provably abandoned*, and the files of its group (the
//! file, its compressed forms, their sidecars and manifests, SQLite's `-journal`, `-wal` and
//! `-shm` beside them) are *provably ours*: [`sweep`] removes them. A group whose manifest was
//! written (the run was killed after its last step) is complete: only its marker goes.
//! Anything else in the folder is left alone and shown by `backup list --all`.

use std::fs::{File, TryLockError};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::{Compression, manifest};
use crate::db::sibling;
use crate::error::{Error, Result};

/// The marker's suffix.
pub const MARKER: &str = ".inprogress";

/// A file being written: removed, with its whole group, when dropped before [`Marker::done`].
#[derive(Debug)]
pub struct Marker {
    path: PathBuf,
    base: PathBuf,
    _file: File,
    done: bool,
}

impl Marker {
    /// Announces that `base` is about to be written, and holds the announcement.
    pub fn begin(base: &Path) -> Result<Marker> {
        let path = sibling(base, MARKER);
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| Error::io("create", &path, e))?;
        // Blocking: a sweeper that locked the new marker first finds nothing to remove and
        // lets go; the marker it unlinked then protects nothing, and nothing of ours is lost.
        file.lock().map_err(|e| Error::io("lock", &path, e))?;
        let _ = write!(file, "schemactl pid {}", std::process::id());
        Ok(Marker {
            path,
            base: base.to_path_buf(),
            _file: file,
            done: false,
        })
    }

    /// Announces that `base` is about to be written, unless another process announced it
    /// first: None then (its marker exists), and nothing of that process is touched.
    pub fn claim(base: &Path) -> Result<Option<Marker>> {
        match Marker::begin(base) {
            Ok(m) => Ok(Some(m)),
            Err(Error::Io { cause, .. }) if cause.kind() == std::io::ErrorKind::AlreadyExists => {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Withdraws the announcement without touching `base` or its group (files another process
    /// completed under the same name before the marker was taken).
    pub fn release(mut self) {
        self.done = true;
        let _ = std::fs::remove_file(&self.path);
    }

    /// Says the file is complete: the marker goes, the files stay.
    pub fn done(mut self) {
        self.done = true;
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Drop for Marker {
    fn drop(&mut self) {
        if !self.done {
            for f in group(&self.base) {
                let _ = std::fs::remove_file(f);
            }
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The files of a group: `base`, its compressed forms, the sidecars and manifests of all of
/// them, and SQLite's files beside `base`.
pub fn group(base: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for c in [Compression::None, Compression::Zstd, Compression::Gzip] {
        let file = sibling(base, c.suffix());
        out.push(sibling(&file, ".sha256"));
        out.push(sibling(&file, ".json"));
        out.push(file);
    }
    for suffix in ["-journal", "-wal", "-shm"] {
        out.push(sibling(base, suffix));
    }
    out
}

/// Returns the marker names in `dir` and whether a live process holds each.
pub fn markers(dir: &Path) -> Result<Vec<(PathBuf, bool)>> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(out);
    };
    for entry in entries {
        let path = entry
            .map_err(|e| Error::io("read backups directory", dir, e))?
            .path();
        if !path.to_string_lossy().ends_with(MARKER) {
            continue;
        }
        let held = match File::open(&path).map(|f| f.try_lock().map(|()| f)) {
            Ok(Ok(_released_on_drop)) => false,
            Ok(Err(TryLockError::WouldBlock)) => true,
            // Gone meanwhile, or not ours to judge: count it as held, touch nothing.
            _ => true,
        };
        out.push((path, held));
    }
    out.sort();
    Ok(out)
}

/// Removes what interrupted runs of schemactl left in `dir`: the groups of markers no live
/// process holds (see the module's notes). Returns the files removed.
pub fn sweep(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    for (marker, held) in markers(dir)? {
        if held {
            continue;
        }
        // Locked while the group is removed, so that a new writer of the same name waits.
        let Ok(file) = std::fs::OpenOptions::new().write(true).open(&marker) else {
            continue;
        };
        if file.try_lock().is_err() {
            continue;
        }
        let name = marker.to_string_lossy();
        let base = PathBuf::from(&name[..name.len() - MARKER.len()]);
        let complete = [Compression::None, Compression::Zstd, Compression::Gzip]
            .iter()
            .map(|c| sibling(&base, c.suffix()))
            .any(|f| {
                manifest::read_manifest(&f)
                    .is_some_and(|m| std::fs::metadata(&f).is_ok_and(|meta| meta.len() == m.size))
            });
        if !complete {
            for f in group(&base) {
                if std::fs::remove_file(&f).is_ok() {
                    removed.push(f);
                }
            }
        }
        if std::fs::remove_file(&marker).is_ok() {
            removed.push(marker);
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_marker_is_left_and_a_dropped_one_cleans_its_group() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("x-20260101T000000Z-manual.db");
        let marker = Marker::begin(&base).unwrap();
        std::fs::write(&base, b"partial").unwrap();
        std::fs::write(sibling(&base, "-journal"), b"j").unwrap();
        let other = dir.path().join("someone-elses.db");
        std::fs::write(&other, b"theirs").unwrap();
        assert!(sweep(dir.path()).unwrap().is_empty(), "held: in progress");
        assert!(base.exists());
        // An abandoned marker: nobody holds it (as when its process died).
        let abandoned = dir.path().join("y.db");
        std::fs::write(&abandoned, b"partial").unwrap();
        std::fs::write(sibling(&abandoned, MARKER), b"schemactl pid 1").unwrap();
        let removed = sweep(dir.path()).unwrap();
        assert!(removed.contains(&abandoned), "{removed:?}");
        assert!(!abandoned.exists() && !sibling(&abandoned, MARKER).exists());
        assert!(other.exists(), "a file without our marker is never touched");
        assert!(base.exists(), "the held group is still there");
        drop(marker);
        assert!(!base.exists() && !sibling(&base, "-journal").exists());
    }

    #[test]
    fn a_complete_group_keeps_its_files() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("z.db");
        let zst = sibling(&base, ".zst");
        std::fs::write(&zst, b"12345").unwrap();
        std::fs::write(
            sibling(&zst, ".json"),
            r#"{"size":5,"sha256":"00","reason":"manual"}"#,
        )
        .unwrap();
        std::fs::write(sibling(&base, MARKER), b"schemactl pid 1").unwrap();
        let removed = sweep(dir.path()).unwrap();
        assert_eq!(removed, [sibling(&base, MARKER)]);
        assert!(zst.exists());
    }
}
