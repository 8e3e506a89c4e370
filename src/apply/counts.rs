//! What the row counts around a batch of migrations compare: where each table's rows are after
//! it ([`NamesAfter`]: the name of the table that holds them, followed through every rename and
//! rebuild in turn, by the description the row proof holds each table to,
//! [`super::proof::names_after`]), so that a swap (`a` <-> `b`) or a chain (`c` <- `b` <- `a`)
//! is counted where the rows are, never by the name another table took; and the tables whose
//! rows a migration changes on purpose (it inserts into or deletes from them, or they
//! reference such a table).

use std::collections::BTreeMap;

use rusqlite::Connection;

use crate::error::{Error, Result};
use crate::sql::lex;

/// The table that holds each table's rows after the migrations.
#[derive(Debug, Clone, Default)]
pub struct NamesAfter {
    /// Each table before (lowercased) and the name of the table holding its rows after; None
    /// when the migrations drop it (or copy its rows where no table takes its place).
    map: BTreeMap<String, Option<String>>,
    /// The names (lowercased) that hold another table's rows after the migrations: a table
    /// dropped whose name one of them took is gone, not compared with what now holds its name.
    taken: std::collections::BTreeSet<String>,
}

impl NamesAfter {
    /// Reads `(name before, name after)` pairs.
    pub fn new(pairs: Vec<(String, Option<String>)>) -> Self {
        let taken = pairs
            .iter()
            .filter_map(|(b, a)| Some((b, a.as_deref()?)))
            .filter(|(b, a)| !a.eq_ignore_ascii_case(b))
            .map(|(_, a)| a.to_ascii_lowercase())
            .collect();
        NamesAfter {
            map: pairs
                .into_iter()
                .map(|(b, a)| (b.to_ascii_lowercase(), a))
                .collect(),
            taken,
        }
    }

    /// True when the migrations drop `table` and another table's rows end under its name
    /// (`DROP TABLE b; ALTER TABLE a RENAME TO b`): its rows are gone (the destructive gate's),
    /// and the count under its name is the other table's.
    pub fn dropped_for_another(&self, table: &str) -> bool {
        let key = table.to_ascii_lowercase();
        matches!(self.map.get(&key), Some(None)) && self.taken.contains(&key)
    }

    /// The name of the table holding the rows of `table` after the migrations, when it is
    /// another name; None when it keeps its name, or when the description does not follow
    /// it (dropped): the caller then compares by name, as a table no migration names is.
    pub fn renamed<'a>(&'a self, table: &str) -> Option<&'a str> {
        self.map
            .get(&table.to_ascii_lowercase())?
            .as_deref()
            .filter(|now| !now.eq_ignore_ascii_case(table))
    }

    /// The count of the table `table` holds its rows in after the migrations, from
    /// `counts_after`, with that table's name; by its own name when it is not renamed; None
    /// when it is dropped and another table's rows hold its name.
    pub fn count_after(
        &self,
        table: &str,
        counts_after: &BTreeMap<String, u64>,
    ) -> Option<(String, u64)> {
        if self.dropped_for_another(table) {
            return None;
        }
        let Some(now) = self.renamed(table) else {
            return counts_after.get(table).map(|n| (table.to_string(), *n));
        };
        // The name as the statements wrote it; the catalog may spell it in another case
        // (looked up by scan only for a renamed table, so never quadratic in the tables).
        counts_after
            .get(now)
            .map(|n| (now.to_string(), *n))
            .or_else(|| {
                counts_after
                    .iter()
                    .find(|(t, _)| t.eq_ignore_ascii_case(now))
                    .map(|(t, n)| (t.clone(), *n))
            })
    }
}

/// Tables a migration inserts into, deletes from or updates (main's, or unqualified): an
/// `UPDATE OR REPLACE` deletes rows, and any write may fire a trigger that writes another
/// table ([`with_trigger_writes`]).
pub(super) fn dml_targets(sql: &str) -> Vec<String> {
    let tokens = lex(sql).unwrap_or_default();
    let mut out = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        let at = if t.is_kw("DELETE") && tokens.get(i + 1).is_some_and(|n| n.is_kw("FROM")) {
            Some(i + 2)
        } else if t.is_kw("UPDATE") {
            // Not `AFTER UPDATE ON`, `UPDATE OF`, `DO UPDATE SET`, `ON UPDATE CASCADE`...
            let or = tokens.get(i + 1).is_some_and(|n| n.is_kw("OR"));
            let at = if or { i + 3 } else { i + 1 };
            let clause = ["ON", "OF", "SET", "CASCADE", "RESTRICT", "NO"];
            tokens
                .get(at)
                .filter(|n| !clause.iter().any(|k| n.is_kw(k)))
                .map(|_| at)
        } else if t.is_kw("INTO")
            && tokens[..i]
                .iter()
                .rev()
                .take(3)
                .any(|p| p.is_kw("INSERT") || p.is_kw("REPLACE"))
        {
            Some(i + 1)
        } else {
            None
        };
        // `main.t`: the table is the name after the schema's (a word or a string); `temp.t`
        // is a TEMP table, whose rows no main table's count holds.
        if let Some((schema, name, _)) = at.and_then(|at| crate::sql::qualified_at(&tokens, at))
            && schema != crate::sql::Schema::Temp
        {
            out.push(name);
        }
    }
    out
}

/// Adds to `targets` every table a trigger on one of them writes, and so on (h25_04): an audit
/// trigger's rows are the migrations' own, as the row proof reads them. The triggers are the
/// database's now, with the ones `sql` (the migrations) creates: one may be gone since it fired.
pub(super) fn with_trigger_writes(
    conn: &Connection,
    sql: &[&str],
    targets: &mut Vec<String>,
) -> Result<()> {
    let mut triggers: Vec<(String, String)> = conn
        .prepare("SELECT tbl_name, sql FROM main.sqlite_schema WHERE type = 'trigger' AND sql IS NOT NULL")
        .and_then(|mut s| {
            s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()
        })
        .map_err(q("read triggers"))?;
    triggers.extend(super::unfit_fixed::created_triggers(sql));
    let mut at = 0;
    while let Some(on) = targets.get(at).cloned() {
        for (_, text) in triggers.iter().filter(|(t, _)| t.eq_ignore_ascii_case(&on)) {
            for written in super::unfit_fixed::trigger_writes(text) {
                if !targets.iter().any(|t| t.eq_ignore_ascii_case(&written)) {
                    targets.push(written);
                }
            }
        }
        at += 1;
    }
    Ok(())
}

/// Returns true when `table` has a foreign key to one of `parents`.
pub(super) fn references_any(conn: &Connection, table: &str, parents: &[String]) -> Result<bool> {
    if parents.is_empty() {
        return Ok(false);
    }
    let mut stmt = conn
        .prepare("SELECT \"table\" FROM pragma_foreign_key_list(?1, 'main')")
        .map_err(q("read foreign keys"))?;
    let refs: Vec<String> = stmt
        .query_map([table], |r| r.get(0))
        .map_err(q("read foreign keys"))?
        .collect::<rusqlite::Result<_>>()
        .map_err(q("read foreign keys"))?;
    Ok(refs
        .iter()
        .any(|r| parents.iter().any(|p| p.eq_ignore_ascii_case(r))))
}

fn q(context: &str) -> impl Fn(rusqlite::Error) -> Error + '_ {
    move |e| Error::sqlite(context.to_string(), e)
}

#[cfg(test)]
#[path = "counts_tests.rs"]
mod tests;
