//! The second half of every backup and safety copy: the plain copy made self-contained,
//! checked, compressed and hashed, then its sidecar and manifest written, the manifest last.

use std::path::PathBuf;

use rusqlite::Connection;

use super::{
    BackupFile, Compression, Detail, Manifest, Pending, compress, integrity_check, manifest,
    manifest_path, sha256_file, write_sidecar,
};
use crate::db::bookkeeping::HISTORY_TABLE;
use crate::db::sibling;
use crate::error::{Error, Result};

/// A finished backup or safety copy: the file, its sidecar and manifest, and what they say.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Written {
    /// The backup file.
    pub path: PathBuf,
    /// The sha256 of the file.
    pub sha256: String,
    /// The file's size.
    pub size: u64,
    /// The database's size (uncompressed).
    pub database_size: u64,
    /// What its integrity_check could not verify (indexes in a collation this build lacks).
    pub unverified: super::Unverified,
    /// The manifest written beside it.
    #[serde(skip)]
    pub manifest: Manifest,
}

impl Pending {
    /// Makes the copy self-contained (no `-wal`), runs integrity_check on it beside the pass
    /// that compresses and hashes it, writes the sha256 sidecar and then `manifest` (the
    /// file's own keys filled in; a [`Detail::Plain`] detail becomes [`Detail::Backup`], read
    /// from the copy). On error everything written is removed.
    pub fn finish(self, compression: Compression, manifest: Manifest) -> Result<Written> {
        // The copy is the database's pages as they are: a failed check names the database,
        // not the copy (removed here).
        let database = PathBuf::from(&manifest.database);
        let copy = self.file.path.display().to_string();
        let written = finish(&self.file, compression, manifest).map_err(|e| match e {
            Error::IntegrityCheckFailed { result, .. } => Error::IntegrityCheckFailed {
                path: database,
                result,
            },
            Error::Sqlite { context, cause } if context.contains(&copy) => Error::Sqlite {
                context: context.replace(&copy, &database.display().to_string()),
                cause,
            },
            e => e,
        })?;
        self.marker.done();
        Ok(written)
    }
}

/// Above this many tables and indexes, a backup's integrity check and its compression run one
/// after the other rather than at once (see [`finish`]).
const PARALLEL_CHECK_MAX_BTREES: i64 = 1000;

fn finish(raw: &BackupFile, compression: Compression, manifest: Manifest) -> Result<Written> {
    // A backup is one self-contained file: no WAL to go with it.
    let btrees: i64 = Connection::open(&raw.path)
        .and_then(|c| {
            c.query_row("PRAGMA journal_mode = DELETE", [], |r| {
                r.get::<_, String>(0)
            })?;
            c.query_row(
                "SELECT count(*) FROM sqlite_schema WHERE rootpage > 0",
                [],
                |r| r.get(0),
            )
        })
        .map_err(|e| Error::sqlite(format!("finish {}", raw.path.display()), e))?;
    let database_size = std::fs::metadata(&raw.path)
        .map_err(|e| Error::io("stat", &raw.path, e))?
        .len();
    // The integrity check of the copy runs beside the pass that compresses and hashes it
    // (or only hashes it): two full reads of the copy, on two cores at once. SQLite's check
    // builds one program over every table and index (about 2 KB each), so with thousands of
    // them the two run one after the other: the memory stays bounded whatever the schema.
    let path = sibling(&raw.path, compression.suffix());
    let hash = || match compression {
        Compression::None => sha256_file(&raw.path),
        c => compress(&raw.path, &path, c),
    };
    let (checked, hashed) = if btrees > PARALLEL_CHECK_MAX_BTREES {
        let checked = integrity_check(&raw.path);
        (checked, hash())
    } else {
        std::thread::scope(|s| {
            let hashing = s.spawn(hash);
            let checked = integrity_check(&raw.path);
            let hashed = hashing
                .join()
                .unwrap_or_else(|_| Err(Error::ThreadPanicked { what: "checksum" }));
            (checked, hashed)
        })
    };
    let unverified = checked?;
    let sha256 = hashed?;
    let detail = match manifest.detail {
        Detail::Plain {} => {
            let (schema_version, last_migration) = schema_version(raw);
            Detail::Backup {
                compression,
                database_size,
                schema_version,
                last_migration,
            }
        }
        other => other,
    };
    if path != raw.path {
        let _ = std::fs::remove_file(&raw.path);
    }
    let size = std::fs::metadata(&path)
        .map_err(|e| Error::io("stat", &path, e))?
        .len();
    write_sidecar(&path, &sha256)?;
    let file = BackupFile {
        path: path.clone(),
        manifest: manifest_path(&path),
        size,
    };
    let manifest = manifest::write(&file, Manifest { detail, ..manifest }, &sha256)?;
    Ok(Written {
        path,
        sha256,
        size,
        database_size,
        unverified,
        manifest,
    })
}

/// The last applied version and migration recorded in the copy, when it has a history.
fn schema_version(raw: &BackupFile) -> (Option<i32>, Option<String>) {
    let Ok(conn) = Connection::open(&raw.path) else {
        return (None, None);
    };
    conn.query_row(
        &format!("SELECT version, name FROM {HISTORY_TABLE} ORDER BY version DESC LIMIT 1"),
        [],
        |r| Ok((r.get::<_, i32>(0)?, r.get::<_, String>(1)?)),
    )
    .map_or((None, None), |(v, name)| {
        (Some(v), Some(format!("V{v}__{name}")))
    })
}
