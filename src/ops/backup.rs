//! `schemactl backup`: a verified, optionally compressed backup of the live database with its
//! sha256 sidecar and manifest, built from the primitives in [`crate::backup`].

use std::path::{Path, PathBuf};

use rusqlite::Connection;

use crate::backup::{
    BackupFile, Detail, compress, integrity_check, manifest_path, remove_with_sidecars,
    sha256_file, write_manifest, write_sidecar,
};
use crate::db::sibling;
use crate::error::{Error, Result};

pub use crate::backup::Compression;

/// What `backup` is asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    /// The live database.
    pub database: PathBuf,
    /// Where backups go.
    pub dir: PathBuf,
    /// Compression.
    pub compress: Compression,
    /// A word in the file name (`manual`, `daily`, ...).
    pub label: String,
}

/// A finished backup: the file, its sidecar and manifest, and what they say.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Taken {
    /// The backup file.
    pub path: PathBuf,
    /// The sha256 of the file.
    pub sha256: String,
    /// The file's size.
    pub size: u64,
    /// The database's size (uncompressed).
    pub database_size: u64,
}

/// Takes a verified, optionally compressed backup with its sha256 sidecar and manifest.
pub fn backup(opts: &Options) -> Result<Taken> {
    crate::db::must_exist(&opts.database)?;
    let source = crate::db::open_live(&opts.database)?;
    let raw = crate::backup::take(&source, &opts.database, &opts.dir, &opts.label)?;
    drop(source);
    let result = finish(opts, &raw);
    if result.is_err() {
        remove_with_sidecars(&raw.path);
        for c in [Compression::Zstd, Compression::Gzip] {
            remove_with_sidecars(&sibling(&raw.path, c.suffix()));
        }
    }
    result
}

/// Makes the copy self-contained, checks, compresses and hashes it, and writes its sidecar and
/// manifest. On error the caller removes whatever was written.
fn finish(opts: &Options, raw: &BackupFile) -> Result<Taken> {
    // A backup is one self-contained file: no WAL to go with it.
    Connection::open(&raw.path)
        .and_then(|c| {
            c.query_row("PRAGMA journal_mode = DELETE", [], |r| {
                r.get::<_, String>(0)
            })
        })
        .map_err(|e| Error::sqlite(format!("finish {}", raw.path.display()), e))?;
    let raw = BackupFile {
        size: std::fs::metadata(&raw.path)
            .map_err(|e| Error::io("stat", &raw.path, e))?
            .len(),
        ..raw.clone()
    };
    // The integrity check of the copy runs beside the pass that compresses and hashes it
    // (or only hashes it): two full reads of the copy, on two cores at once.
    let compressed = |c: Compression| sibling(&raw.path, c.suffix());
    let (checked, hashed) = std::thread::scope(|s| {
        let hashing = s.spawn(|| match opts.compress {
            Compression::None => sha256_file(&raw.path),
            c => compress(&raw.path, &compressed(c), c),
        });
        let checked = integrity_check(&raw.path);
        let hashed = hashing
            .join()
            .unwrap_or_else(|_| Err(Error::ThreadPanicked { what: "checksum" }));
        (checked, hashed)
    });
    let path = compressed(opts.compress);
    let sha256 = checked.and(hashed)?;
    if path != raw.path {
        let _ = std::fs::remove_file(&raw.path);
    }
    let size = std::fs::metadata(&path)
        .map_err(|e| Error::io("stat", &path, e))?
        .len();
    write_sidecar(&path, &sha256)?;
    let (schema_version, last_migration) = schema_version(&opts.database);
    let taken = BackupFile {
        path: path.clone(),
        manifest: manifest_path(&path),
        size,
    };
    write_manifest(
        &taken,
        &opts.database,
        &opts.label,
        Detail::Backup {
            compression: opts.compress,
            database_size: raw.size,
            schema_version,
            last_migration,
        },
        &sha256,
    )?;
    Ok(Taken {
        path,
        sha256,
        size,
        database_size: raw.size,
    })
}

/// The applied version and last migration of a database, when it has a history.
fn schema_version(database: &Path) -> (Option<i32>, Option<String>) {
    let Ok(conn) = crate::db::open_read_only(database) else {
        return (None, None);
    };
    let applied = crate::migrations::history::applied(&conn).unwrap_or_default();
    let last = applied
        .last()
        .map(|a| format!("V{}__{}", a.version, a.name));
    (applied.last().map(|a| a.version), last)
}
