//! What an interrupted prune of this database left behind, and when it may go.
//!
//! A file in the archives folder is removed only with proof on two counts:
//!
//! - it is this database's and its prune never committed: the database itself names it in
//!   [`PRUNE_INTENTS_TABLE`] (recorded, committed, before the prune wrote anything; removed by
//!   the transaction that deletes the rows). The folder is never scanned: another database's
//!   archive, or one of a prune this database's history no longer records (after a restore
//!   from an older backup), is never touched;
//! - nothing is lost: an archive goes only when its manifest names this prune and this
//!   database's identity, and every row it holds is still in the database with the same
//!   values. A `.partial` file never held the only copy of a row (the rows are deleted only
//!   after it was renamed), so a recorded one goes.
//!
//! An archive that fails either proof is kept, and said so.

use std::path::{Path, PathBuf};

use rusqlite::Connection;

use crate::backup;
use crate::db::bookkeeping::{ARCHIVE_TABLE, PRUNE_INTENTS_TABLE, PRUNES_TABLE};
use crate::db::identity::Owner;
use crate::error::{Error, Result};
use crate::sql::{quote_ident, quote_literal};

/// What was done with the files of this database's prunes that never committed.
#[derive(Debug, Default)]
pub(super) struct Settled {
    /// Removed: their rows are all still in the database.
    pub removed: Vec<PathBuf>,
    /// Kept, and why.
    pub kept: Vec<(PathBuf, String)>,
}

/// Settles every prune this database started and never committed (call under the lock,
/// outside any transaction): removes its files where that loses nothing, keeps them
/// otherwise, and forgets the intent.
pub(super) fn settle(conn: &Connection, owner: &Owner) -> Result<Settled> {
    let mut settled = Settled::default();
    if !crate::db::table_exists(conn, PRUNE_INTENTS_TABLE)
        .map_err(Error::sqlite_in("read the schema"))?
    {
        return Ok(settled);
    }
    let intents: Vec<(String, String)> = {
        let mut stmt = conn
            .prepare(&format!("SELECT id, archive FROM {PRUNE_INTENTS_TABLE}"))
            .map_err(Error::sqlite_in(format!("read {PRUNE_INTENTS_TABLE}")))?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .and_then(|rows| rows.collect::<rusqlite::Result<_>>())
            .map_err(Error::sqlite_in(format!("read {PRUNE_INTENTS_TABLE}")))?
    };
    for (id, archive) in intents {
        let committed = crate::db::table_exists(conn, PRUNES_TABLE)
            .map_err(Error::sqlite_in("read the schema"))?
            && conn
                .query_row(
                    &format!("SELECT count(*) > 0 FROM {PRUNES_TABLE} WHERE id = ?1"),
                    [&id],
                    |r| r.get::<_, bool>(0),
                )
                .map_err(Error::sqlite_in(format!("read {PRUNES_TABLE}")))?;
        let archive = PathBuf::from(archive);
        if !committed {
            let partial = crate::db::sibling(&archive, ".partial");
            if partial.exists() {
                let _ = std::fs::remove_file(&partial);
                settled.removed.push(partial);
            }
            match removable(conn, owner, &id, &archive) {
                Ok(true) => {
                    remove_archive(&archive);
                    settled.removed.push(archive);
                }
                Ok(false) => {}
                Err(why) => settled.kept.push((archive, why)),
            }
        }
        forget(conn, &id)?;
    }
    Ok(settled)
}

/// Forgets a prune's intent, in its own transaction.
pub(super) fn forget(conn: &Connection, id: &str) -> Result<()> {
    conn.execute(
        &format!("DELETE FROM {PRUNE_INTENTS_TABLE} WHERE id = ?1"),
        [id],
    )
    .map_err(Error::sqlite_in(format!("update {PRUNE_INTENTS_TABLE}")))
    .map(drop)
}

/// Ok(true) when the archive of prune `id` may go (its manifest names this prune and this
/// database, and its rows are all in the database); Ok(false) when there is none (the prune
/// stopped before the rename, or its files are gone); Err says why it must stay.
fn removable(
    conn: &Connection,
    owner: &Owner,
    id: &str,
    archive: &Path,
) -> std::result::Result<bool, String> {
    let manifest = backup::read_manifest(archive);
    if !archive.exists() {
        if manifest.is_some() {
            // The manifest of an archive that was never renamed into place.
            remove_archive(archive);
        }
        return Ok(false);
    }
    let Some(manifest) = manifest else {
        return Err("it has no manifest".into());
    };
    let ours = matches!(&manifest.detail, backup::Detail::Prune { prune_id, .. } if prune_id == id)
        && !manifest.database_id.is_empty()
        && manifest.belongs_to(owner);
    if !ours {
        return Err("its manifest does not name this database's prune".into());
    }
    let missing =
        rows_missing(conn, archive).map_err(|e| format!("its rows cannot be compared: {e}"))?;
    if missing > 0 {
        return Err(format!(
            "{missing} of its rows are not in the database (restore them with `schemactl restore {} --table T --mode merge`)",
            crate::printable::path(&archive)
        ));
    }
    Ok(true)
}

/// The number of the archive's rows that the database does not hold with the same values.
pub(super) fn rows_missing(conn: &Connection, archive: &Path) -> Result<u64> {
    let arch = Connection::open_with_flags(archive, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| Error::sqlite(format!("open {}", crate::printable::path(&archive)), e))?;
    let schema = crate::inspect(&arch)?;
    drop(arch);
    conn.execute_batch(&format!(
        "ATTACH {} AS _schemactl_archive",
        quote_literal(&archive.display().to_string())
    ))
    .map_err(Error::sqlite_in(format!(
        "attach {}",
        crate::printable::path(&archive)
    )))?;
    let result = (|| {
        let mut missing = 0u64;
        for table in schema.tables.iter().filter(|t| t.name != ARCHIVE_TABLE) {
            // Compared byte for byte, whatever the column's collation.
            let mut cols: Vec<String> = table
                .columns
                .iter()
                .filter(|c| c.generated.is_none())
                .map(|c| format!("{} COLLATE BINARY", quote_ident(&c.name)))
                .collect();
            let mut plain: Vec<String> = table
                .columns
                .iter()
                .filter(|c| c.generated.is_none())
                .map(|c| quote_ident(&c.name))
                .collect();
            if !table.without_rowid && table.rowid_alias().is_none() {
                // The rowid under a name no column shadows (a prune refuses a table where
                // each of them is a column, so its archive has none).
                let rowid = table.rowid_name().unwrap_or("rowid");
                cols.insert(0, rowid.into());
                plain.insert(0, rowid.into());
            }
            let t = quote_ident(&table.name);
            let n: i64 = conn
                .query_row(
                    &format!(
                        "SELECT count(*) FROM (SELECT {} FROM _schemactl_archive.{t} EXCEPT SELECT {} FROM main.{t})",
                        cols.join(", "),
                        plain.join(", ")
                    ),
                    [],
                    |r| r.get(0),
                )
                .map_err(Error::sqlite_in(format!(
                    "compare \"{}\" with the archive",
                    table.name
                )))?;
            missing += u64::try_from(n).unwrap_or_default();
        }
        Ok(missing)
    })();
    let _ = conn.execute_batch("DETACH _schemactl_archive");
    result
}

/// Removes an archive with its sidecar and manifest.
pub(super) fn remove_archive(path: &Path) {
    let _ = std::fs::remove_file(path);
    let _ = std::fs::remove_file(backup::sidecar_path(path));
    let _ = std::fs::remove_file(backup::manifest_path(path));
}
