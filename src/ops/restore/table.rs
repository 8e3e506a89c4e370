//! One table restored from a backup by ATTACH, in one transaction: the table's triggers
//! suspended (dropped and created again inside the transaction, as a rebuild does), rows
//! matched by primary key or rowid, rowids kept, columns mapped through the renames since.

use std::path::Path;

use rusqlite::Connection;

use super::columns::Mapping;
use crate::db::ForeignKeys;
use crate::error::{Error, Result};
use crate::model::Table;
use crate::sql::{ident, quote_literal};

/// How a single table is restored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TableMode {
    /// Delete the table's rows, then insert the backup's (with their rowids).
    Replace,
    /// Insert only the backup's rows that are missing: by primary key, or for a table
    /// without one, by rowid (and never a row the table already holds under another rowid).
    Merge,
}

/// What the rows part of a table restore did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rows {
    /// Rows deleted (replace).
    pub deleted: usize,
    /// Rows inserted.
    pub inserted: usize,
    /// Of those, rows whose rowid was taken by another live row: they got a new one.
    pub renumbered: usize,
    /// Triggers suspended for the restore and created again.
    pub triggers: usize,
}

/// A name that reaches the rowid of `tables`' rows: `rowid`, `_rowid_` or `oid`, whichever
/// none of them has as a column; None for a table without rowid, or one with all three.
fn rowid_name(tables: &[&Table]) -> Option<&'static str> {
    if tables.iter().any(|t| t.without_rowid) {
        return None;
    }
    ["rowid", "_rowid_", "oid"]
        .into_iter()
        .find(|n| tables.iter().all(|t| t.column(n).is_none()))
}

/// Runs the restore of `table`'s rows from the backup copy `scratch`.
pub(super) fn restore_rows(
    live: &Connection,
    scratch: &Path,
    table: &Table,
    backup_table: &Table,
    mapping: &Mapping,
    mode: TableMode,
) -> Result<Rows> {
    let context = format!("restore table \"{}\"", table.name);
    live.execute_batch(&format!(
        "ATTACH DATABASE {} AS schemactl_snapshot",
        quote_literal(&scratch.display().to_string())
    ))
    .map_err(Error::sqlite_in(context.clone()))?;
    let result = crate::db::immediate(live, ForeignKeys::Off, &context, &context, || {
        let triggers = suspend_triggers(live, &table.name, &context)?;
        let mut rows = write_rows(live, table, backup_table, mapping, mode, &context)?;
        for sql in &triggers {
            live.execute_batch(sql)
                .map_err(|e| Error::sqlite(format!("{context}: create its triggers again"), e))?;
        }
        rows.triggers = triggers.len();
        // The table as a child, and every table that references it.
        let q = Error::sqlite_in(context.clone());
        let mut check = vec![table.name.to_string()];
        let children: Vec<String> = live
            .prepare("SELECT m.name FROM sqlite_schema m, pragma_foreign_key_list(m.name) f WHERE m.type = 'table' AND f.\"table\" = ?1 COLLATE NOCASE")
            .and_then(|mut s| s.query_map([table.name.as_str()], |r| r.get(0))?.collect::<rusqlite::Result<_>>())
            .map_err(q)?;
        check.extend(children);
        crate::apply::check_foreign_keys(live, &check)?;
        Ok(rows)
    });
    let _ = live.execute_batch("DETACH DATABASE schemactl_snapshot");
    result
}

/// Drops the table's triggers (inside the caller's transaction) and returns their SQL, to
/// be run again before the commit: so that restoring rows fires none of them.
fn suspend_triggers(live: &Connection, table: &str, context: &str) -> Result<Vec<String>> {
    let q = |e| Error::sqlite(format!("{context}: suspend its triggers"), e);
    let triggers: Vec<(String, String)> = live
        .prepare("SELECT name, sql FROM main.sqlite_schema WHERE type = 'trigger' AND tbl_name = ?1 COLLATE NOCASE AND sql IS NOT NULL ORDER BY rowid")
        .and_then(|mut s| {
            s.query_map([table], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()
        })
        .map_err(q)?;
    for (name, _) in &triggers {
        live.execute_batch(&format!("DROP TRIGGER main.{}", ident(name)))
            .map_err(q)?;
    }
    Ok(triggers.into_iter().map(|(_, sql)| sql).collect())
}

fn write_rows(
    live: &Connection,
    table: &Table,
    backup_table: &Table,
    mapping: &Mapping,
    mode: TableMode,
    context: &str,
) -> Result<Rows> {
    let q = |e| Error::sqlite(context.to_string(), e);
    let t = format!("main.{}", ident(&table.name));
    let b = format!("schemactl_snapshot.{}", ident(&mapping.backup_table));
    // The rowid goes with the row, unless a column already carries it (INTEGER PRIMARY KEY).
    let rowid = rowid_name(&[table, backup_table]).filter(|_| {
        table
            .rowid_alias()
            .is_none_or(|a| mapping.source(a).is_none())
    });
    let live_cols: Vec<String> = mapping.pairs.iter().map(|(l, _)| ident(l)).collect();
    let backup_cols: Vec<String> = mapping
        .pairs
        .iter()
        .map(|(_, c)| format!("b.{}", ident(c)))
        .collect();
    let insert = |with_rowid: bool, condition: &str| -> rusqlite::Result<usize> {
        let (r_live, r_backup) = match rowid.filter(|_| with_rowid) {
            Some(r) => (format!("{r}, "), format!("b.{r}, ")),
            None => (String::new(), String::new()),
        };
        live.execute(
            &format!(
                "INSERT INTO {t} ({r_live}{}) SELECT {r_backup}{} FROM {b} AS b WHERE {condition}",
                live_cols.join(", "),
                backup_cols.join(", ")
            ),
            [],
        )
    };
    let mut rows = Rows::default();
    match mode {
        TableMode::Replace => {
            rows.deleted = live.execute(&format!("DELETE FROM {t}"), []).map_err(q)?;
            rows.inserted = insert(true, "1").map_err(q)?;
        }
        TableMode::Merge => {
            let key: Vec<(String, &str)> = table
                .key_columns()
                .into_iter()
                .filter_map(|k| mapping.source(&k).map(|s| (k.clone(), s)))
                .collect();
            let free =
                rowid.map(|r| format!("NOT EXISTS (SELECT 1 FROM {t} AS l WHERE l.{r} = b.{r})"));
            if !key.is_empty() && key.len() == table.key_columns().len() {
                let missing = format!(
                    "NOT EXISTS (SELECT 1 FROM {t} AS l WHERE {})",
                    key.iter()
                        .map(|(l, s)| format!("l.{} IS b.{}", ident(l), ident(s)))
                        .collect::<Vec<_>>()
                        .join(" AND ")
                );
                // Rowids kept where they are free; a row whose rowid another live row took
                // comes back under a new one.
                match &free {
                    Some(free) => {
                        rows.inserted =
                            insert(true, &format!("{missing} AND {free}")).map_err(q)?;
                        rows.renumbered = insert(false, &missing).map_err(q)?;
                        rows.inserted += rows.renumbered;
                    }
                    None => rows.inserted = insert(false, &missing).map_err(q)?,
                }
            } else if let Some(free) = &free {
                // No usable primary key: the rowid names the row; a row the table holds
                // already under another rowid (renumbered by a VACUUM) is not inserted again.
                let same = mapping
                    .pairs
                    .iter()
                    .map(|(l, s)| format!("l.{} IS b.{}", ident(l), ident(s)))
                    .collect::<Vec<_>>()
                    .join(" AND ");
                rows.inserted = insert(
                    true,
                    &format!("{free} AND NOT EXISTS (SELECT 1 FROM {t} AS l WHERE {same})"),
                )
                .map_err(q)?;
            } else {
                return Err(Error::InvalidArgument {
                    what: format!("restore table \"{}\" --mode merge", table.name),
                    message: "the table has neither a primary key the backup shares nor a rowid to match rows by".into(),
                });
            }
        }
    }
    Ok(rows)
}
