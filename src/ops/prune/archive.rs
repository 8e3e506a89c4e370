//! The archive of a prune: the selected rows in a new SQLite file with the same table shapes,
//! durable before anything is deleted; and the removal of archives whose prune never committed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rusqlite::Connection;

use super::Options;
use super::keys::Keys;
use crate::backup::{self, BackupFile, Detail};
use crate::db::bookkeeping::{ARCHIVE_TABLE, CREATE_ARCHIVE_TABLE, PRUNES_TABLE};
use crate::db::{sync_dir, sync_file};
use crate::error::{Error, Result};
use crate::model::Schema;
use crate::sql::{quote_ident, quote_literal};

/// Writes the archive: the selected rows of each table, read by the live connection (which
/// holds the write lock) and written into a new SQLite file with the same table shapes,
/// committed and fsynced under a `.partial` name, then renamed, with its sha256 sidecar and
/// manifest. Returns its path.
pub(super) fn write_archive(
    conn: &Connection,
    opts: &Options,
    live: &Schema,
    keys: &[&Keys],
    id: &str,
) -> Result<PathBuf> {
    std::fs::create_dir_all(&opts.archives)
        .map_err(|e| Error::io("create archive directory", &opts.archives, e))?;
    let stem = opts
        .database
        .file_stem()
        .map_or("database".to_string(), |s| s.to_string_lossy().to_string());
    let path = opts.archives.join(format!("{stem}-{id}.db"));
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
            quote_literal(&opts.database.display().to_string()),
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
        backup::write_manifest(
            &BackupFile {
                path: path.clone(),
                manifest: backup::manifest_path(&path),
                size,
            },
            &opts.database,
            "prune-archive",
            Detail::Prune {
                prune_id: id.to_string(),
                rows,
            },
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
        cols.insert(0, "rowid".into());
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

pub(super) fn remove_archive(path: &Path) {
    let _ = std::fs::remove_file(path);
    let _ = std::fs::remove_file(backup::sidecar_path(path));
    let _ = std::fs::remove_file(backup::manifest_path(path));
}

/// Removes archives (and `.partial` files) of prunes the history does not record: their
/// deletion never committed, so their rows are all still in the database.
pub(super) fn remove_abandoned(conn: &Connection, dir: &Path) -> Result<Vec<PathBuf>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let recorded = |id: &str| -> bool {
        conn.query_row(
            &format!("SELECT count(*) > 0 FROM {PRUNES_TABLE} WHERE id = ?1"),
            [id],
            |r| r.get::<_, bool>(0),
        )
        .unwrap_or(false)
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let name = path.to_string_lossy().to_string();
        if name.ends_with(".db.partial") {
            let _ = std::fs::remove_file(&path);
            removed.push(path);
            continue;
        }
        if !name.ends_with(".db.json") {
            continue;
        }
        let Some(manifest) = backup::manifest::read(&path) else {
            continue;
        };
        let backup::Detail::Prune { prune_id: id, .. } = &manifest.detail else {
            continue;
        };
        let db = &manifest.database;
        // Only archives of this database (an archives directory may be shared).
        if same_file(Path::new(db), &conn_path(conn)) && !recorded(id) {
            let archive = path.with_extension("");
            remove_archive(&archive);
            removed.push(archive);
        }
    }
    Ok(removed)
}

fn conn_path(conn: &Connection) -> PathBuf {
    conn.path().map(PathBuf::from).unwrap_or_default()
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
