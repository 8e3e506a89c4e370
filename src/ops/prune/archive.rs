//! The archive of a prune: the selected rows in a new SQLite file with the same table shapes,
//! durable before anything is deleted, its manifest naming the database by identity and by
//! absolute path (see `abandoned` for when one may be removed).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rusqlite::Connection;

use super::Options;
use super::abandoned::remove_archive;
use super::keys::{Keys, Unlinked, row_key};
use crate::backup::{self, BackupFile, Detail, Kind, Manifest};
use crate::db::bookkeeping::{ARCHIVE_TABLE, CREATE_ARCHIVE_TABLE};
use crate::db::identity::Owner;
use crate::db::{sync_dir, sync_file};
use crate::error::{Error, Result};
use crate::model::{Schema, Table};
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
    (keys, unlinked): (&[&Keys], &[Unlinked]),
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
        for (n, u) in unlinked.iter().enumerate() {
            copy_references(conn, &out, live, n, u)?;
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
        let rowid = table.rowid_name().ok_or_else(|| crate::error::PruneError::Refused {
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
        return Err(crate::error::PruneError::Mismatch {
            table: k.table.clone(),
            done: n,
            selected: k.rows,
            archiving: true,
        }
        .into());
    }
    Ok(())
}

/// The index of the references an archive keeps: one row per foreign key whose ON DELETE SET
/// NULL / SET DEFAULT the prune set off, naming the child table, the action, its key columns
/// (JSON: its primary key; for a rowid table without one, [`ROWID_MARK`] then every other
/// column it keeps), the key's columns and the parent's (JSON; empty for its
/// rowid). Row `n`'s old values are in `_schemactl_unlinked_<n>`: the child row's key as
/// `k0..`, the reference's old values as `c0..`. `restore ARCHIVE --table T --mode merge` puts
/// them back.
pub const UNLINKED_TABLE: &str = "_schemactl_unlinked";

/// Keeps, in the archive, the old values of the references `u` sets to NULL or their default.
fn copy_references(
    conn: &Connection,
    out: &Connection,
    live: &Schema,
    n: usize,
    u: &Unlinked,
) -> Result<()> {
    let child = live.table(&u.fk.child).ok_or_else(|| Error::MissingTable {
        place: None,
        table: u.fk.child.clone(),
    })?;
    // The row's identity, by which the merge finds it again: its primary key where it has one
    // (a rowid is reused once its row is deleted); for a rowid table without one, its rowid
    // and every other value the prune does not change.
    let (key, key_names) = identity(conn, child, &u.fk.columns)?;
    let context = format!("keep the references of \"{}\" in the archive", child.name);
    let q = |e| Error::sqlite(context.clone(), e);
    let ks: Vec<String> = (0..key.len()).map(|i| format!("k{i}")).collect();
    let cs: Vec<String> = (0..u.fk.columns.len()).map(|i| format!("c{i}")).collect();
    let table = quote_ident(&format!("{UNLINKED_TABLE}_{n}"));
    let json = |v: &[String]| serde_json::to_string(v).unwrap_or_else(|_| "[]".into());
    out.execute_batch(&format!(
        "CREATE TABLE IF NOT EXISTS {UNLINKED_TABLE} (n INTEGER PRIMARY KEY, tbl TEXT NOT NULL, action TEXT NOT NULL, key TEXT NOT NULL, columns TEXT NOT NULL, parent TEXT NOT NULL, parent_columns TEXT NOT NULL);
         CREATE TABLE {table} ({}, {})",
        ks.join(", "),
        cs.join(", ")
    ))
    .map_err(&q)?;
    out.execute(
        &format!("INSERT INTO {UNLINKED_TABLE} VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
        rusqlite::params![
            i64::try_from(n).unwrap_or(i64::MAX),
            child.name.as_str(),
            if u.fk.on_delete == crate::model::FkAction::SetNull {
                "set null"
            } else {
                "set default"
            },
            json(&key_names),
            json(&u.fk.columns),
            u.fk.parent.as_str(),
            json(&u.fk.parent_names),
        ],
    )
    .map_err(&q)?;
    let cols: Vec<String> = u.fk.columns.iter().map(|c| quote_ident(c)).collect();
    let mut read = conn
        .prepare(&format!(
            "SELECT {}, {} FROM {} WHERE {}",
            key.join(", "),
            cols.join(", "),
            quote_ident(&child.name),
            u.condition
        ))
        .map_err(&q)?;
    let width = key.len() + cols.len();
    let mut write = out
        .prepare(&format!(
            "INSERT INTO {table} VALUES ({})",
            vec!["?"; width].join(", ")
        ))
        .map_err(&q)?;
    let mut rows = read.query([]).map_err(&q)?;
    let mut kept = 0u64;
    while let Some(row) = rows.next().map_err(&q)? {
        let values: Vec<rusqlite::types::Value> = (0..width)
            .map(|i| row.get(i))
            .collect::<rusqlite::Result<_>>()
            .map_err(&q)?;
        write
            .execute(rusqlite::params_from_iter(values))
            .map_err(&q)?;
        kept += 1;
    }
    if kept != u.rows {
        return Err(crate::error::PruneError::Mismatch {
            table: child.name.to_string(),
            done: kept,
            selected: u.rows,
            archiving: true,
        }
        .into());
    }
    Ok(())
}

/// Marks, in the archive's `key` list, the rowid of a table without a primary key (a column
/// name never holds a NUL character).
pub const ROWID_MARK: &str = "\u{0}rowid";

/// The identity of `table`'s rows as SQL and as the archive's `key` list: its primary key
/// columns, or (a rowid table without one) its rowid ([`ROWID_MARK`]) and every column but
/// `changed`.
fn identity(
    conn: &Connection,
    table: &Table,
    changed: &[String],
) -> Result<(Vec<String>, Vec<String>)> {
    let pk = child_key_names(conn, &table.name)?;
    if !pk.is_empty() {
        return Ok((pk.iter().map(|c| quote_ident(c)).collect(), pk));
    }
    let mut key = row_key(conn, table)?;
    let mut names = vec![ROWID_MARK.to_string()];
    let columns: Vec<String> = conn
        .prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid")
        .and_then(|mut s| {
            s.query_map([table.name.as_str()], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()
        })
        .map_err(Error::sqlite_in(format!(
            "read the columns of \"{}\"",
            table.name
        )))?;
    for c in columns {
        if !changed.iter().any(|x| x.eq_ignore_ascii_case(&c)) {
            key.push(quote_ident(&c));
            names.push(c);
        }
    }
    Ok((key, names))
}

/// The primary key columns of a table, by name, in key order (none for a rowid table without
/// one).
fn child_key_names(conn: &Connection, table: &str) -> Result<Vec<String>> {
    conn.prepare("SELECT name FROM pragma_table_info(?1) WHERE pk > 0 ORDER BY pk")
        .and_then(|mut s| {
            s.query_map([table], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()
        })
        .map_err(Error::sqlite_in(format!(
            "read the primary key of \"{table}\""
        )))
}
