//! Online backups: SQLite's backup API into a new file, its sha256, and a JSON manifest.
//!
//! The copy is taken in one step of the backup API, so it is one consistent snapshot of the
//! database even while an application writes to it (in WAL mode the writers go on; in
//! rollback-journal mode they wait for the copy). apply and rollback use this same code.

use std::io::Read;
use std::path::{Path, PathBuf};

use rusqlite::Connection;
use rusqlite::backup::{Backup, StepResult};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

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

/// Returns the current UTC time as `YYYYMMDDTHHMMSSZ`, for file names.
pub fn timestamp() -> String {
    let now = time::OffsetDateTime::now_utc();
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    now.format(&format)
        .unwrap_or_else(|_| now.unix_timestamp().to_string())
}

/// Returns the current UTC time in RFC 3339, for manifests.
pub fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| now.unix_timestamp().to_string())
}

/// Copies the `main` database of `source` into a new file in `dir`, named after `database`,
/// the time and `label`, and returns it. The file is fsynced; nothing is overwritten.
pub fn take(source: &Connection, database: &Path, dir: &Path, label: &str) -> Result<BackupFile> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io("create backup directory", dir, e))?;
    let stem = database
        .file_stem()
        .map_or("database".to_string(), |s| s.to_string_lossy().to_string());
    let base = format!("{stem}-{}-{label}", timestamp());
    let mut path = dir.join(format!("{base}.db"));
    let mut n = 1;
    while path.exists() {
        n += 1;
        path = dir.join(format!("{base}-{n}.db"));
    }
    let q = |e| {
        Error::sqlite(
            format!("back up {} to {}", database.display(), path.display()),
            e,
        )
    };
    {
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
                    return Err(Error::Usage(format!(
                        "back up {}: the database stayed busy for {} s; nothing was changed",
                        database.display(),
                        BUSY_WAIT.as_secs()
                    )));
                }
                _ => std::thread::sleep(std::time::Duration::from_millis(20)),
            }
        }
    }
    let file = std::fs::File::open(&path).map_err(|e| Error::io("open backup", &path, e))?;
    file.sync_all()
        .map_err(|e| Error::io("sync backup", &path, e))?;
    let size = file
        .metadata()
        .map_err(|e| Error::io("stat backup", &path, e))?
        .len();
    let manifest = manifest_path(&path);
    Ok(BackupFile {
        path,
        manifest,
        size,
    })
}

/// The manifest of a backup file.
pub fn manifest_path(backup: &Path) -> PathBuf {
    let mut name = backup.as_os_str().to_owned();
    name.push(".json");
    PathBuf::from(name)
}

/// Returns the hex sha256 of a file, reading it in 1 MiB blocks.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut file = std::fs::File::open(path).map_err(|e| Error::io("read", path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| Error::io("read", path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Returns true when a database file is in WAL mode (file format bytes 18 and 19 are 2):
/// then a connection's uncommitted changes never reach the file itself.
pub fn is_wal(path: &Path) -> bool {
    let mut header = [0u8; 20];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut header))
        .is_ok_and(|()| header[18] == 2 && header[19] == 2)
}

/// Writes a backup's manifest (JSON) next to it, with its sha256, and fsyncs it.
pub fn write_manifest(
    backup: &BackupFile,
    mut fields: serde_json::Value,
    sha256: &str,
) -> Result<()> {
    if let Some(map) = fields.as_object_mut() {
        map.insert("file".into(), backup.path.display().to_string().into());
        map.insert("size".into(), backup.size.into());
        map.insert("sha256".into(), sha256.into());
        map.insert("created_at".into(), now_rfc3339().into());
        map.insert("sqlite_version".into(), rusqlite::version().into());
    }
    let text = serde_json::to_string_pretty(&fields)
        .map_err(|e| Error::Usage(format!("manifest: {e}")))?;
    crate::migrations::write_new(&backup.manifest, &(text + "\n"))
}
