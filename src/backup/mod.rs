//! Backup primitives: a copy of a live database through SQLite's backup API, its sha256, its
//! compression, the sidecar and manifest beside it, and integrity_check.
//!
//! The copy is taken in one step of the backup API, so it is one consistent snapshot of the
//! database even while an application writes to it (in WAL mode the writers go on; in
//! rollback-journal mode they wait for the copy). `apply` (the pre-migration backup and the
//! rehearsal copy), `ops::backup`, `ops::restore` and `ops::prune` (its archives) all use this
//! code; it sits at the bottom of the crate, beside `db`, and imports neither of them.
//!
//! A backup and a safety copy (`pre-apply`, `pre-rollback`, `before-restore`) are made by the
//! same two calls: [`take`] (the plain copy) and [`Pending::finish`] (integrity_check,
//! compression, sha256 sidecar, manifest with its [`Kind`] and the database's identity).
//! Everything written into the folder is announced by a marker ([`partial`]), so that what a
//! killed run left is provably ours and provably abandoned, and the next run removes it.

use std::io::Read;
use std::path::{Path, PathBuf};

use rusqlite::Connection;
use rusqlite::backup::{Backup, StepResult};

use crate::db::sibling;
use crate::error::{Error, Result};

mod compress;
mod finish;
mod hash;
pub mod integrity;
pub mod manifest;
pub mod partial;

pub use compress::{Compression, compress, decompress};
pub use finish::Written;
pub use hash::{Hashing, sha256_file};
pub use integrity::{Unverified, integrity_check};
pub use manifest::{Detail, Kind, Manifest, read_manifest};
use partial::Marker;

/// How long a backup waits for a writer that holds the database.
pub const BUSY_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// A backup that was taken.
#[derive(Debug, Clone)]
pub struct BackupFile {
    /// The backup database.
    pub path: PathBuf,
    /// Its manifest (`<backup>.json`).
    pub manifest: PathBuf,
    /// Its size in bytes.
    pub size: u64,
}

/// A plain copy just taken, not finished yet: [`Pending::finish`] makes it a backup (or a
/// safety copy); dropped unfinished, it is removed with everything beside it.
#[derive(Debug)]
pub struct Pending {
    /// The copy.
    pub file: BackupFile,
    marker: Marker,
}

/// Copies the `main` database of `source` into a new file in `dir`, named after `database`,
/// the time and `label`, and returns it. The file is fsynced; nothing is overwritten.
pub fn take(source: &Connection, database: &Path, dir: &Path, label: &str) -> Result<Pending> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io("create backup directory", dir, e))?;
    let stem = database
        .file_stem()
        .map_or("database".to_string(), |s| s.to_string_lossy().to_string());
    let base = format!("{stem}-{}-{label}", crate::db::timestamp());
    // A name free in every compressed form too, so that compressing never meets a file.
    let taken = |p: &Path| {
        sibling(p, partial::MARKER).exists()
            || [Compression::None, Compression::Zstd, Compression::Gzip]
                .iter()
                .any(|c| sibling(p, c.suffix()).exists())
    };
    let written = |p: &Path| {
        [Compression::None, Compression::Zstd, Compression::Gzip]
            .iter()
            .any(|c| sibling(p, c.suffix()).exists())
    };
    // Two processes sharing a backups folder may pick the same name in the same second: the
    // marker, created exclusively, decides which one writes it; the other takes the next name.
    let mut path = dir.join(format!("{base}.db"));
    let mut n = 1;
    let marker = loop {
        if !taken(&path)
            && let Some(marker) = Marker::claim(&path)?
        {
            if !written(&path) {
                break marker;
            }
            // Completed by another process between the look and the claim.
            marker.release();
        }
        n += 1;
        path = dir.join(format!("{base}-{n}.db"));
    };
    let q = |e| {
        Error::sqlite(
            format!(
                "back up {} to {}",
                crate::printable::path(&database),
                crate::printable::path(&path)
            ),
            e,
        )
    };
    // Created here first, so that a directory we may not write to is reported as such (and
    // a name taken meanwhile is never overwritten).
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| Error::io("create backup", &path, e))?;
    // A failed copy (a full disk, say) leaves nothing behind: the marker removes it.
    let mut dest = Connection::open(&path).map_err(q)?;
    let backup = Backup::new(source, &mut dest).map_err(q)?;
    // One step of every page: the whole database under one read transaction, so the copy
    // is one consistent snapshot. A writer holding the database makes it wait, boundedly.
    let deadline = std::time::Instant::now() + BUSY_WAIT;
    loop {
        match backup.step(-1).map_err(q)? {
            StepResult::Done => break,
            StepResult::More => {}
            _ if std::time::Instant::now() > deadline => {
                return Err(Error::BackupBusy {
                    database: database.to_path_buf(),
                    seconds: BUSY_WAIT.as_secs(),
                });
            }
            _ => std::thread::sleep(std::time::Duration::from_millis(20)),
        }
    }
    drop(backup);
    drop(dest);
    let file = std::fs::File::open(&path).map_err(|e| Error::io("open backup", &path, e))?;
    file.sync_all()
        .map_err(|e| Error::io("sync backup", &path, e))?;
    let size = file
        .metadata()
        .map_err(|e| Error::io("stat backup", &path, e))?
        .len();
    let manifest = manifest_path(&path);
    Ok(Pending {
        file: BackupFile {
            path,
            manifest,
            size,
        },
        marker,
    })
}

/// Returns true when SQLite found a file corrupt or not a database at all, directly or as
/// the reason an integrity check failed.
pub fn is_corrupt(e: &Error) -> bool {
    match e {
        Error::IntegrityCheckFailed { .. } => true,
        Error::Sqlite { cause, .. } => is_corrupt_sqlite(cause),
        Error::BackupRejected { source } => is_corrupt(source),
        _ => false,
    }
}

/// Returns true when SQLite's error says the file is corrupt or not a database.
pub fn is_corrupt_sqlite(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase)
    )
}

/// The manifest of a backup file.
pub fn manifest_path(backup: &Path) -> PathBuf {
    sibling(backup, ".json")
}

/// Returns the sidecar (`<file>.sha256`, in sha256sum's format) of a backup file.
pub fn sidecar_path(backup: &Path) -> PathBuf {
    sibling(backup, ".sha256")
}

/// Returns true when a database file is in WAL mode (file format bytes 18 and 19 are 2):
/// then a connection's uncommitted changes never reach the file itself.
pub fn is_wal(path: &Path) -> bool {
    let mut header = [0u8; 20];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut header))
        .is_ok_and(|()| header[18] == 2 && header[19] == 2)
}

/// Writes the sidecar of `file` (`<file>.sha256`, in sha256sum's format), fsynced.
pub fn write_sidecar(file: &Path, sha256: &str) -> Result<()> {
    let file_name = file
        .file_name()
        .map(|f| f.to_string_lossy().to_string())
        .unwrap_or_default();
    crate::db::write_new(&sidecar_path(file), &format!("{sha256}  {file_name}\n"))
}
