//! AUTOINCREMENT counters across rollbacks: a reverse step that loses a table's counter (it
//! turns AUTOINCREMENT off, or drops the table) keeps it, and a later reverse step that brings
//! the counter back (turns AUTOINCREMENT on again, or re-creates the table) raises it to every
//! counter kept for that table, in the same rollback or an earlier one.
//!
//! The counter is state SQLite keeps outside the rows (`sqlite_sequence`): a migration that
//! turns AUTOINCREMENT off stashes it, and its reverse puts that value back (the larger of it
//! and the largest rowid). Ids the counter issued after that migration, under a newer one that
//! turned AUTOINCREMENT on again, are not in that stash: rolled back over both, the counter
//! would issue them again. So the reverse that turns it off keeps the live counter in a
//! rollback stash (`_schemactl_stash_{version}_r{n}_seq`, a row `(name, seq)`, recorded in
//! `_schemactl_rollback_stashes` like every rollback stash: a re-apply of the migration puts
//! it back, `stash list` shows it), and every reverse that brings the counter back raises it
//! to the largest kept value ([`Counters::raise_sql`]). Keeping a counter drops no data: it is
//! neither gated nor shown as destructive.

use rusqlite::Connection;

use crate::error::{Error, Result};
use crate::migrations::renames::{REBUILD_PREFIX, Rename, renames};
use crate::model::{Schema, Table};
use crate::plan::Stash;
use crate::sql::{ident, quote_literal};

fn q(e: rusqlite::Error) -> Error {
    Error::sqlite("read the kept AUTOINCREMENT counters", e)
}

/// A counter a reverse step loses.
#[derive(Debug, Clone)]
pub struct Lost {
    /// The reverse step (0: the newest) before which it is kept.
    pub step: usize,
    /// The table, as the step finds it.
    table: Table,
    /// The rollback stash that already keeps it (a whole table the step drops, whose stash
    /// keeps its counter in `{name}_seq`): its index among the rollback's drops.
    pub kept_by: Option<usize>,
}

/// The counters a rollback loses, and the counters it brings back.
#[derive(Debug, Clone, Default)]
pub struct Counters {
    /// The counters lost, in step order.
    pub lost: Vec<Lost>,
    /// (step, table as the step leaves it, the names it had before the step): a counter the
    /// step brings back.
    gained: Vec<(usize, String, Vec<String>)>,
    /// Counters kept by earlier rollbacks: (their `_seq` table, the table name they hold).
    kept: Vec<(String, String)>,
}

fn autoincrement(t: &Table) -> bool {
    t.primary_key.as_ref().is_some_and(|pk| pk.autoincrement)
}

fn find<'a>(s: &'a Schema, name: &str) -> Option<&'a Table> {
    s.tables
        .iter()
        .find(|t| t.name.as_str().eq_ignore_ascii_case(name))
}

/// The tables `sql` renames (not a rebuild's own): (from, to).
fn table_renames(sql: &str) -> Vec<(String, String)> {
    renames(sql)
        .into_iter()
        .filter_map(|r| match r {
            Rename::Table { from, to } if !from.starts_with(REBUILD_PREFIX) => Some((from, to)),
            _ => None,
        })
        .collect()
}

/// Returns the counters the reverse steps lose and bring back: `steps[i]` is the schema
/// before step `i` (`steps[0]` what `conn` holds), `sqls[i]` its SQL; `whole` says, for a
/// table a step drops, which of the rollback's drops stashes it with its counter. A table
/// the step renames keeps its counter (SQLite renames its `sqlite_sequence` row).
pub fn analyse(
    conn: &Connection,
    steps: &[Schema],
    sqls: &[&str],
    whole: impl Fn(usize, &str) -> Option<usize>,
) -> Result<Counters> {
    let mut out = Counters {
        kept: kept(conn)?,
        ..Counters::default()
    };
    for (step, pair) in steps.windows(2).enumerate() {
        let (before, after) = (&pair[0], &pair[1]);
        let moved = table_renames(sqls.get(step).copied().unwrap_or(""));
        let now = |name: &str| {
            moved
                .iter()
                .rev()
                .find(|(from, _)| from.eq_ignore_ascii_case(name))
                .map_or(name, |(_, to)| to.as_str())
                .to_string()
        };
        for t in before.tables.iter().filter(|t| autoincrement(t)) {
            if find(after, &now(&t.name)).is_some_and(autoincrement) {
                continue;
            }
            let kept_by = whole(step, &t.name);
            // The live table (the first step finds it as it is) whose counter never issued
            // an id has nothing to keep.
            if step == 0 && kept_by.is_none() && !counted(conn, &t.name) {
                continue;
            }
            out.lost.push(Lost {
                step,
                table: t.clone(),
                kept_by,
            });
        }
        for t in after.tables.iter().filter(|t| autoincrement(t)) {
            let earlier: Vec<String> = moved
                .iter()
                .filter(|(_, to)| to.eq_ignore_ascii_case(&t.name))
                .map(|(from, _)| from.clone())
                .collect();
            let had = std::iter::once(t.name.to_string())
                .chain(earlier.iter().cloned())
                .any(|n| find(before, &n).is_some_and(autoincrement));
            if !had {
                out.gained.push((step, t.name.to_string(), earlier));
            }
        }
    }
    Ok(out)
}

/// True when `sqlite_sequence` holds a counter for `table` (an unreadable one counts).
fn counted(conn: &Connection, table: &str) -> bool {
    conn.query_row(
        "SELECT count(*) > 0 FROM sqlite_sequence WHERE name = ?1",
        [table],
        |r| r.get(0),
    )
    .unwrap_or(true)
}

/// The counters earlier rollbacks kept: each rollback stash's `{name}_seq` table that holds
/// the table's name beside its counter.
fn kept(conn: &Connection) -> Result<Vec<(String, String)>> {
    let recorded: bool = crate::db::table_exists(conn, "_schemactl_rollback_stashes").map_err(q)?;
    if !recorded {
        return Ok(Vec::new());
    }
    let seqs: Vec<String> = conn
        .prepare(
            "SELECT s.name || '_seq' FROM main._schemactl_rollback_stashes AS s
             WHERE EXISTS (SELECT 1 FROM pragma_table_info(s.name || '_seq', 'main') WHERE name = 'name')",
        )
        .map_err(q)?
        .query_map([], |r| r.get(0))
        .map_err(q)?
        .collect::<rusqlite::Result<_>>()
        .map_err(q)?;
    let mut out = Vec::new();
    for seq in seqs {
        let names: Vec<String> = conn
            .prepare(&format!(
                "SELECT DISTINCT CAST(name AS TEXT) FROM {} WHERE name IS NOT NULL",
                ident(&seq)
            ))
            .map_err(q)?
            .query_map([], |r| r.get(0))
            .map_err(q)?
            .collect::<rusqlite::Result<_>>()
            .map_err(q)?;
        out.extend(names.into_iter().map(|n| (seq.clone(), n)));
    }
    Ok(out)
}

/// The least a rollback of `undone` that brings back the counter of `table` raises it to:
/// the largest id of its rows now and the counters the stashes of `undone` (and the rollback
/// stashes still kept) hold for it. None when nothing gives one.
pub fn comes_back_at(conn: &Connection, table: &str, undone: &[i32]) -> Result<Option<i64>> {
    let mut best: Option<i64> = conn
        .query_row(
            &format!("SELECT max(rowid) FROM main.{}", ident(table)),
            [],
            |r| r.get(0),
        )
        .ok()
        .flatten();
    let mut versions: Vec<i32> = undone.to_vec();
    versions.extend(kept(conn)?.iter().filter_map(|(seq, _)| {
        seq.strip_prefix(crate::db::bookkeeping::STASH_PREFIX)?
            .split('_')
            .next()?
            .parse::<i32>()
            .ok()
    }));
    versions.sort_unstable();
    versions.dedup();
    for v in versions {
        for (name, seq, _) in crate::apply::stash::kept_counters(conn, v)? {
            if name.eq_ignore_ascii_case(table) {
                best = Some(best.map_or(seq, |b| b.max(seq)));
            }
        }
    }
    Ok(best)
}

impl Counters {
    /// The tables (as the steps leave them) whose counter a step of the rollback brings back.
    pub fn brought_back(&self) -> Vec<&str> {
        self.gained.iter().map(|(_, t, _)| t.as_str()).collect()
    }
}

impl Lost {
    /// Returns the statements that keep the counter in `{name}_seq` before its step, and
    /// record it as a rollback stash of `version` for the rollback of `rolled_back` (a
    /// re-apply of `version` puts it back, the larger of it and the one the re-apply leaves).
    /// Nothing when a whole-table stash keeps it already.
    pub fn save_sql(&self, rolled_back: &[(i32, String)], version: i32, name: &str) -> Vec<String> {
        if self.kept_by.is_some() {
            return Vec::new();
        }
        let stash = Stash::counter(&self.table);
        let mut out = stash.save_sql(name);
        out.extend(crate::apply::unstash::record_sql(
            rolled_back,
            version,
            name,
            &stash.counter_restore_sql(name),
            &format!(
                "the AUTOINCREMENT counter of table {}",
                ident(&self.table.name)
            ),
        ));
        out
    }
}

impl Counters {
    /// Returns the statements to run after reverse step `step`, given the stash names of the
    /// counters lost (`names[i]` keeps `lost[i]`; `{name}_seq` holds it): each counter the
    /// step brings back becomes at least the largest counter kept for the table, by an
    /// earlier step (followed through the renames of the steps between) or an earlier
    /// rollback.
    pub fn raise_sql(&self, step: usize, names: &[String], sqls: &[&str]) -> Vec<String> {
        let mut out = Vec::new();
        for (_, table, earlier) in self.gained.iter().filter(|(s, _, _)| *s == step) {
            let known = |n: &str| {
                n.eq_ignore_ascii_case(table) || earlier.iter().any(|e| e.eq_ignore_ascii_case(n))
            };
            let mut sources: Vec<String> = self
                .kept
                .iter()
                .filter(|(_, n)| known(n))
                .map(|(seq, n)| {
                    format!(
                        "(SELECT max(seq) FROM {} WHERE name = {})",
                        ident(seq),
                        quote_literal(n)
                    )
                })
                .collect();
            for (lost, name) in self.lost.iter().zip(names) {
                if lost.step >= step {
                    continue;
                }
                // The name the table has when this step runs (the step that lost the counter
                // may have renamed it too).
                let mut now = lost.table.name.to_string();
                for sql in sqls.iter().take(step).skip(lost.step) {
                    for (from, to) in table_renames(sql) {
                        if from.eq_ignore_ascii_case(&now) {
                            now = to;
                        }
                    }
                }
                if known(&now) {
                    sources.push(format!(
                        "(SELECT max(seq) FROM {})",
                        ident(&format!("{name}_seq"))
                    ));
                }
            }
            if sources.is_empty() {
                continue;
            }
            let floor = format!(
                "max(-1, {})",
                sources
                    .iter()
                    .map(|s| format!("coalesce({s}, -1)"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let t = quote_literal(table);
            out.push(format!(
                "DELETE FROM sqlite_sequence WHERE name = {t} AND seq < {floor}"
            ));
            out.push(format!(
                "INSERT INTO sqlite_sequence (name, seq) SELECT {t}, {floor} WHERE {floor} > coalesce((SELECT max(seq) FROM sqlite_sequence WHERE name = {t}), -1)"
            ));
        }
        out
    }
}
