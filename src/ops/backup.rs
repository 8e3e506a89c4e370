//! `schemactl backup`: a verified, optionally compressed backup of the live database with its
//! sha256 sidecar and manifest (recording the database's identity), built from the
//! primitives in [`crate::backup`]; the retention that may follow acts on that database's
//! backups only (see [`super::catalog::prune`]).

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::backup::{Detail, Kind, Manifest};
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
    /// Count every table's rows in the copy (for the report).
    pub count_rows: bool,
}

/// A finished backup.
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
    /// Every table's rows in the backup, when they were counted.
    pub rows: BTreeMap<String, u64>,
    /// What interrupted runs had left in the backups folder, removed first.
    pub swept: Vec<PathBuf>,
    /// What the backup's integrity_check could not verify (indexes in a collation this build
    /// of SQLite lacks, such as Android's LOCALIZED); empty when it verified everything.
    pub unverified: crate::backup::Unverified,
}

/// Checks that a label can be a part of a file name: letters, digits, `-`, `_` and `.`, not
/// first.
pub fn check_label(label: &str) -> Result<()> {
    let fine = !label.is_empty()
        && label.len() <= 64
        && !label.starts_with('.')
        && label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if fine {
        Ok(())
    } else {
        Err(Error::InvalidArgument {
            what: format!("--label `{label}`"),
            message: "use up to 64 letters, digits, `-`, `_` or `.` (not first)".into(),
        })
    }
}

/// Takes a verified, optionally compressed backup with its sha256 sidecar and manifest. First
/// removes what interrupted runs left in the folder.
pub fn backup(opts: &Options) -> Result<Taken> {
    check_label(&opts.label)?;
    crate::db::must_exist(&opts.database)?;
    let swept = crate::backup::partial::sweep(&opts.dir)?;
    let source = crate::db::open_live(&opts.database)?;
    let owner = crate::db::identity::owner(&source, &opts.database)?;
    let pending = crate::backup::take(&source, &opts.database, &opts.dir, &opts.label)?;
    drop(source);
    let rows = if opts.count_rows {
        rusqlite::Connection::open(&pending.file.path)
            .map_err(|e| {
                Error::sqlite(
                    format!("open {}", crate::printable::path(&pending.file.path)),
                    e,
                )
            })
            .and_then(|c| crate::db::row_counts(&c, crate::db::Tables::User))?
    } else {
        BTreeMap::new()
    };
    let written = pending.finish(
        opts.compress,
        Manifest::new(
            &opts.database,
            &owner,
            &opts.label,
            Kind::Backup,
            Detail::Plain {},
        ),
    )?;
    Ok(Taken {
        path: written.path,
        sha256: written.sha256,
        size: written.size,
        database_size: written.database_size,
        rows,
        swept,
        unverified: written.unverified,
    })
}
