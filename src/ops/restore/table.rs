//! One table restored from a backup by ATTACH, in one transaction: the table's triggers
//! suspended (dropped and created again inside the transaction, as a rebuild does), rows
//! matched by primary key or rowid, rowids kept, columns mapped through the renames since.

use std::path::Path;

use rusqlite::Connection;

use super::columns::Mapping;
use super::merge;
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
    /// Insert only the backup's rows that are missing: by primary key; for a table without
    /// one, by content (the backup's k-th copy of a row comes back when the table holds fewer
    /// than k). Rowids are kept where they are free.
    Merge,
}

/// What the rows part of a table restore did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rows {
    /// Rows deleted (replace).
    pub deleted: usize,
    /// Rows inserted.
    pub inserted: usize,
    /// Of those, rows whose rowid was taken by another live row: they got a new one.
    pub renumbered: usize,
    /// Triggers suspended for the restore and created again.
    pub triggers: usize,
    /// Merge: the backup's rows not inserted because the table holds the same row (the same
    /// values under the same key; for a table without a key, an identical copy).
    pub present: usize,
    /// Merge: the backup's rows not inserted because a different live row holds their key
    /// (from a backup: the row changed since; from a committed prune's archive: the key was
    /// given to another row, and the archived row is not restored).
    pub taken: usize,
    /// The keys of those rows (at most [`merge::SHOWN`]), each as SQL literals.
    pub taken_keys: Vec<String>,
    /// Merge: the backup is the archive of a prune this database's history records, so its
    /// rows all left the table (a taken key is another row's; see `merge`).
    pub archived: bool,
    /// Full-text indexes over the table (external content) rebuilt in the same transaction.
    pub indexes_rebuilt: Vec<String>,
    /// References a prune set to NULL or their default, put back from its archive.
    pub relinked: usize,
    /// References the archive keeps that were not put back: the row is gone, its reference
    /// was changed since, or the row it referenced is not back (restore that table first).
    pub not_relinked: usize,
}

/// How a merge treats the rows it cannot insert, and what the backup is.
#[derive(Debug, Clone, Default)]
pub struct MergeOptions {
    /// Restore the other rows when some of the backup's keys are held by different live rows
    /// (those rows are then reported, not restored); without it the merge refuses.
    pub skip_taken: bool,
    /// The prune id, when the backup is a prune archive.
    pub archive: Option<String>,
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
/// `keep` runs first inside the write transaction (the safety copy: nobody else can commit
/// between it and the restore); its value is returned with the rows. With no `rows_from`
/// (a prune archive without the table's rows), only the references it keeps are put back.
pub(super) fn restore_rows<T>(
    live: &Connection,
    scratch: &Path,
    table: &Table,
    rows_from: Option<(&Table, &Mapping)>,
    (mode, options): (TableMode, &MergeOptions),
    indexes: &[crate::ops::fts::ExternalIndex],
    keep: impl FnOnce() -> Result<T>,
) -> Result<(Rows, T)> {
    let context = format!("restore table \"{}\"", table.name);
    live.execute_batch(&format!(
        "ATTACH DATABASE {} AS schemactl_snapshot",
        quote_literal(&scratch.display().to_string())
    ))
    .map_err(Error::sqlite_in(context.clone()))?;
    let result = crate::db::immediate(live, ForeignKeys::Off, &context, &context, || {
        let kept = keep()?;
        let triggers = suspend_triggers(live, &table.name, &context)?;
        let mut rows = match rows_from {
            Some((backup_table, mapping)) => write_rows(
                live,
                (table, backup_table),
                mapping,
                (mode, options),
                &context,
            )?,
            None => Rows::default(),
        };
        if mode == TableMode::Merge {
            (rows.relinked, rows.not_relinked) = super::relink::relink(live, table, &context)?;
        }
        // The backup's trigger text keeps to the transaction (see db::confined).
        let confined = crate::db::confined::Confined::new(live);
        for sql in &triggers {
            live.execute_batch(sql)
                .map_err(|e| Error::sqlite(format!("{context}: create its triggers again"), e))?;
        }
        drop(confined);
        rows.triggers = triggers.len();
        // The full-text indexes over the table were kept in step by those triggers (or not at
        // all): the rows restored without them are indexed by a rebuild, before the commit.
        for ix in indexes {
            crate::ops::fts::rebuild(live, ix)?;
            rows.indexes_rebuilt.push(ix.name.clone());
        }
        // The table as a child, and every table that references it.
        let q = Error::sqlite_in(context.clone());
        let mut check = vec![table.name.to_string()];
        let children: Vec<String> = live
            .prepare("SELECT m.name FROM sqlite_schema m, pragma_foreign_key_list(m.name) f WHERE m.type = 'table' AND f.\"table\" = ?1 COLLATE NOCASE")
            .and_then(|mut s| s.query_map([table.name.as_str()], |r| r.get(0))?.collect::<rusqlite::Result<_>>())
            .map_err(q)?;
        check.extend(children);
        crate::apply::check_foreign_keys(live, &check)?;
        Ok((rows, kept))
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
    (table, backup_table): (&Table, &Table),
    mapping: &Mapping,
    (mode, options): (TableMode, &MergeOptions),
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
    // Rows come from `source` as `b`, their rowid as `b_rowid`. A row whose rowid another
    // live row holds gets a new one (NULL), after the rows that keep theirs, so that no new
    // rowid takes one of theirs; SQLite evaluates the SELECT in full before inserting, since
    // it reads the table inserted into.
    let insert = |source: &str,
                  b_rowid: &str,
                  condition: &str|
     -> rusqlite::Result<(usize, usize)> {
        let Some(r) = rowid else {
            let n = live.execute(
                &format!(
                    "INSERT INTO {t} ({}) SELECT {} FROM {source} AS b WHERE {condition}",
                    live_cols.join(", "),
                    backup_cols.join(", ")
                ),
                [],
            )?;
            return Ok((n, 0));
        };
        let taken = format!("EXISTS (SELECT 1 FROM {t} AS l WHERE l.{r} = {b_rowid})");
        let renumbered: i64 = live.query_row(
            &format!("SELECT count(*) FROM {source} AS b WHERE ({condition}) AND {taken}"),
            [],
            |row| row.get(0),
        )?;
        let n = live.execute(
            &format!(
                "INSERT INTO {t} ({r}, {}) SELECT CASE WHEN NOT {taken} THEN {b_rowid} END, {} FROM {source} AS b WHERE {condition} ORDER BY {taken}, {b_rowid}",
                live_cols.join(", "),
                backup_cols.join(", ")
            ),
            [],
        )?;
        Ok((n, usize::try_from(renumbered).unwrap_or_default()))
    };
    let plain_rowid = rowid.map_or(String::new(), |r| format!("b.{r}"));
    let same = mapping
        .pairs
        .iter()
        .map(|(l, s)| format!("l.{} IS b.{}", ident(l), ident(s)))
        .collect::<Vec<_>>()
        .join(" AND ");
    let mut rows = Rows::default();
    match mode {
        TableMode::Replace => {
            rows.deleted = live.execute(&format!("DELETE FROM {t}"), []).map_err(q)?;
            (rows.inserted, rows.renumbered) = insert(&b, &plain_rowid, "1").map_err(q)?;
        }
        TableMode::Merge => {
            let key: Vec<(String, &str)> = table
                .key_columns()
                .into_iter()
                .filter_map(|k| mapping.source(&k).map(|s| (k.clone(), s)))
                .collect();
            let total = merge::backup_rows(live, &b, context)?;
            // A committed prune's archive: every row it holds left the table.
            let left = match &options.archive {
                Some(id) => merge::committed(live, id, context)?,
                None => false,
            };
            rows.archived = left;
            if !key.is_empty() && key.len() == table.key_columns().len() {
                let key: Vec<(String, String)> =
                    key.iter().map(|(l, s)| (ident(l), ident(s))).collect();
                // Every backup row: its key free (inserted), held by the same row (present),
                // or held by a different row (taken: refused unless told, then reported).
                (rows.taken, rows.taken_keys) = merge::taken(live, (&t, &b), &key, &same, context)?;
                // From an archive, a live row under an archived row's key is another row (the
                // key was given again): the archived row would be lost unless told. From a
                // backup it is the same row, changed since: the live version stays.
                if left && rows.taken > 0 && !options.skip_taken {
                    return Err(merge::refuse_taken(
                        &table.name,
                        rows.taken,
                        &rows.taken_keys,
                    ));
                }
                let missing = format!(
                    "NOT EXISTS (SELECT 1 FROM {t} AS l WHERE {})",
                    key.iter()
                        .map(|(l, s)| format!("l.{l} IS b.{s}"))
                        .collect::<Vec<_>>()
                        .join(" AND ")
                );
                (rows.inserted, rows.renumbered) = insert(&b, &plain_rowid, &missing).map_err(q)?;
                rows.present = total.saturating_sub(rows.inserted + rows.taken);
            } else if let Some(r) = rowid {
                if left {
                    // A committed prune's archive: every row it holds left the table, so
                    // every one comes back, beside whatever identical rows were written
                    // since (4 archived copies and 1 new one make 5); once.
                    // A second merge of the same archive inserts nothing again: it only
                    // puts back the references the archive keeps (the advice after a merge
                    // that ran before the parent's), and is refused when it keeps none.
                    let again = match &options.archive {
                        Some(id) if super::relink::kept_attached(live, &table.name)? => {
                            merge::merged_at(live, id, &table.name, context)?.is_some()
                        }
                        Some(id) => {
                            merge::refuse_again(live, id, &table.name, context)?;
                            false
                        }
                        None => false,
                    };
                    if !again {
                        (rows.inserted, rows.renumbered) =
                            insert(&b, &plain_rowid, "1").map_err(q)?;
                    }
                } else {
                    // No primary key, and rows that may still be in the table: compared by
                    // content, as a multiset. The k-th copy of a row in the backup (by
                    // rowid) comes back when the table holds fewer than k copies: so a
                    // second merge inserts nothing, and no row the table holds (under
                    // whatever rowid a VACUUM gave it) is inserted again.
                    let partition = mapping
                        .pairs
                        .iter()
                        .map(|(_, s)| ident(s))
                        .collect::<Vec<_>>()
                        .join(", ");
                    let ranked = format!(
                        "(SELECT *, {r} AS schemactl_rowid, row_number() OVER (PARTITION BY {partition} ORDER BY {r}) AS schemactl_rank FROM {b})"
                    );
                    (rows.inserted, rows.renumbered) = insert(
                        &ranked,
                        "b.schemactl_rowid",
                        &format!("b.schemactl_rank > (SELECT count(*) FROM {t} AS l WHERE {same})"),
                    )
                    .map_err(q)?;
                }
                rows.present = total.saturating_sub(rows.inserted);
            } else {
                return Err(Error::InvalidArgument {
                    what: format!("restore table \"{}\" --mode merge", table.name),
                    message: "the table has neither a primary key the backup shares nor a rowid to match rows by".into(),
                });
            }
            if let Some(id) = &options.archive {
                merge::record(live, id, &table.name, rows.inserted, context)?;
            }
        }
    }
    Ok(rows)
}
