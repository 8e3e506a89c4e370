//! The archive of a prune: the selected rows in a new SQLite file with the same table shapes,
//! durable before anything is deleted, its manifest naming the database by identity and by
//! absolute path (see `abandoned` for when one may be removed).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rusqlite::Connection;

use super::Options;
use super::abandoned::remove_archive;
use super::keys::Keys;
use crate::backup::{self, BackupFile, Detail, Kind, Manifest};
use crate::db::bookkeeping::{ARCHIVE_TABLE, CREATE_ARCHIVE_TABLE};
use crate::db::identity::Owner;
use crate::db::{sync_dir, sync_file};
use crate::error::{Error, Result};
use crate::model::Schema;
use crate::sql::{quote_ident, quote_literal};

/// Where the archive of prune `id` goes: an absolute path in the archives folder (recorded in
/// the database before the prune starts, so never resolved against another working directory).
pub(super) fn archive_path(opts: &Options, id: &str) -> PathBuf {
    let stem = opts
        .database
        .file_stem()
        .map_or("database".to_string(), |s| s.to_string_lossy().to_string());
    let dir = crate::db::identity::canonical(&opts.archives);
    dir.join(format!("{stem}-{id}.db"))
}

/// Writes the archive at `path` (from [`archive_path`]): the selected rows of each table, read
/// by the live connection (which holds the write lock) and written into a new SQLite file with
/// the same table shapes, committed and fsynced under a `.partial` name, then renamed, with its
/// sha256 sidecar and manifest (the database's identity, `owner`, and absolute path).
#[allow(clippy::too_many_arguments)]
pub(super) fn write_archive(
    conn: &Connection,
    opts: &Options,
    owner: &Owner,
    live: &Schema,
    keys: &[&Keys],
    id: &str,
    path: &Path,
) -> Result<PathBuf> {
    std::fs::create_dir_all(&opts.archives)
        .map_err(|e| Error::io("create archive directory", &opts.archives, e))?;
    let path = path.to_path_buf();
    let database = std::path::absolute(&opts.database).unwrap_or_else(|_| opts.database.clone());
    if path.exists() {
        return Err(Error::ArchiveExists { path });
    }
    let partial = crate::db::sibling(&path, ".partial");
    let _ = std::fs::remove_file(&partial);
    let result = (|| {
        let out = Connection::open(&partial).map_err(Error::sqlite_in("create the archive"))?;
        out.execute_batch(
            "PRAGMA foreign_keys = OFF; PRAGMA journal_mode = DELETE; PRAGMA synchronous = FULL; BEGIN",
        )
        .map_err(Error::sqlite_in("create the archive"))?;
        for k in keys {
            copy_rows(conn, &out, live, k)?;
        }
        out.execute_batch(&format!(
            "{CREATE_ARCHIVE_TABLE};
             INSERT INTO {ARCHIVE_TABLE} VALUES ({}, {}, {});
             COMMIT",
            quote_literal(id),
            quote_literal(&database.display().to_string()),
            quote_literal(&crate::db::now_rfc3339())
        ))
        .map_err(Error::sqlite_in("finish the archive"))?;
        drop(out);
        sync_file(&partial)?;
        // The sidecar and manifest go first and the rename last, so an archive under its
        // final name always has its manifest: a crash in between leaves a `.partial` and a
        // manifest without a file, both of which the next prune removes.
        let sha = backup::sha256_file(&partial)?;
        backup::write_sidecar(&path, &sha)?;
        let size = std::fs::metadata(&partial)
            .map_err(|e| Error::io("stat", &partial, e))?
            .len();
        let rows: BTreeMap<String, u64> = keys.iter().map(|k| (k.table.clone(), k.rows)).collect();
        let manifest = Manifest::new(
            &database,
            owner,
            "prune-archive",
            Kind::Archive,
            Detail::Prune {
                prune_id: id.to_string(),
                rows,
            },
        );
        backup::manifest::write(
            &BackupFile {
                path: path.clone(),
                manifest: backup::manifest_path(&path),
                size,
            },
            manifest,
            &sha,
        )?;
        sync_dir(&opts.archives)?;
        crate::failpoint::hit("prune-before-rename");
        std::fs::rename(&partial, &path).map_err(|e| Error::io("rename archive", &partial, e))?;
        sync_dir(&opts.archives)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&partial);
        remove_archive(&path);
        return Err(e);
    }
    Ok(path)
}

/// Creates one table in the archive as the live database defines it, and streams its
/// selected rows (with their rowids) into it.
fn copy_rows(conn: &Connection, out: &Connection, live: &Schema, k: &Keys) -> Result<()> {
    let table = live.table(&k.table).ok_or_else(|| Error::MissingTable {
        place: None,
        table: k.table.clone(),
    })?;
    let create: String = conn
        .query_row(
            "SELECT sql FROM main.sqlite_schema WHERE type = 'table' AND name = ?1",
            [table.name.as_str()],
            |r| r.get(0),
        )
        .map_err(Error::sqlite_in(format!(
            "read the definition of \"{}\"",
            table.name
        )))?;
    out.execute_batch(&create)
        .map_err(Error::sqlite_in(format!(
            "create \"{}\" in the archive",
            table.name
        )))?;
    let mut cols: Vec<String> = table
        .columns
        .iter()
        .filter(|col| col.generated.is_none())
        .map(|col| quote_ident(&col.name))
        .collect();
    if !table.without_rowid && table.rowid_alias().is_none() {
        // The rowid under a name no column shadows (the selection refused a table where
        // every such name is a column).
        let rowid = table.rowid_name().ok_or_else(|| Error::PruneRefused {
            reason: format!(
                "\"{}\" has columns named rowid, _rowid_ and oid, so its rows cannot be told apart by rowid",
                table.name
            ),
        })?;
        cols.insert(0, rowid.into());
    }
    let t = quote_ident(&table.name);
    let mut read = conn
        .prepare(&format!(
            "SELECT {} FROM {t} WHERE {}",
            cols.join(", "),
            k.member()
        ))
        .map_err(Error::sqlite_in(format!("archive \"{}\"", table.name)))?;
    let mut write = out
        .prepare(&format!(
            "INSERT INTO {t} ({}) VALUES ({})",
            cols.join(", "),
            vec!["?"; cols.len()].join(", ")
        ))
        .map_err(Error::sqlite_in(format!("archive \"{}\"", table.name)))?;
    let mut rows = read
        .query([])
        .map_err(Error::sqlite_in(format!("archive \"{}\"", table.name)))?;
    let mut n = 0u64;
    while let Some(row) = rows
        .next()
        .map_err(Error::sqlite_in(format!("archive \"{}\"", table.name)))?
    {
        let values: Vec<rusqlite::types::Value> = (0..cols.len())
            .map(|i| row.get(i))
            .collect::<rusqlite::Result<_>>()
            .map_err(Error::sqlite_in(format!("archive \"{}\"", table.name)))?;
        write
            .execute(rusqlite::params_from_iter(values))
            .map_err(Error::sqlite_in(format!("archive \"{}\"", table.name)))?;
        n += 1;
    }
    if n != k.rows {
        return Err(Error::PruneMismatch {
            table: k.table.clone(),
            done: n,
            selected: k.rows,
            archiving: true,
        });
    }
    Ok(())
}
