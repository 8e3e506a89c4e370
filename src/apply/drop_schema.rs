//! Which schema each drop of a batch of migrations drops from, for the words that describe it:
//! `DROP TABLE n` drops a TEMP table when the batch has made a TEMP table `n` by then (SQLite
//! reads an unqualified name in TEMP first), so the gate says `drops TEMP table "n"` and no
//! operator reads that main's table of that name goes. The live connection has no TEMP table
//! before the batch: every TEMP table a drop can reach is one the batch made (`CREATE TEMP
//! TABLE`, `CREATE TABLE temp.t`), kept under its name through renames until it is dropped.

use std::collections::BTreeSet;

use crate::migrations::{self, Dropped};
use crate::sql::{Schema, lex, qualified_at};

use super::drop_estimate::Drop;

/// One drop as its statement names it, and whether the table it drops is a TEMP one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The drop as the statement names it.
    pub named: Dropped,
    /// True when the table is the batch's TEMP table.
    pub temp: bool,
}

/// The drops of each of `sql` (the pending migrations, in order), statement by statement, each
/// with whether it drops a TEMP table at that point of the batch.
pub fn resolved(sql: &[&str]) -> Vec<Vec<Resolved>> {
    let mut temp: BTreeSet<String> = BTreeSet::new();
    let mut out = Vec::new();
    for text in sql {
        let mut drops = Vec::new();
        for statement in migrations::statements::texts(text) {
            for named in migrations::drops(statement) {
                let is_temp = in_temp(&temp, named.schema, &named.table);
                drops.push(Resolved {
                    named,
                    temp: is_temp,
                });
            }
            follow(&mut temp, statement);
        }
        out.push(drops);
    }
    out
}

/// `drops` (the estimate's, as the statements name them) with the schema each drops from:
/// `Schema::Temp` for a TEMP table, as named otherwise. The k-th drop of one name (schema,
/// table, column) in a migration is the k-th of `resolved` with that name.
pub fn described(drops: &[Drop], resolved: &[Resolved]) -> Vec<(Dropped, u64)> {
    let same = |a: &Dropped, b: &Dropped| {
        a.schema == b.schema
            && a.table.eq_ignore_ascii_case(&b.table)
            && match (&a.column, &b.column) {
                (Some(x), Some(y)) => x.eq_ignore_ascii_case(y),
                (None, None) => true,
                _ => false,
            }
    };
    let mut used = vec![false; resolved.len()];
    drops
        .iter()
        .map(|d| {
            let found =
                (0..resolved.len()).find(|&k| !used[k] && same(&resolved[k].named, &d.dropped));
            let mut dropped = d.dropped.clone();
            if let Some(k) = found {
                used[k] = true;
                if resolved[k].temp {
                    dropped.schema = Schema::Temp;
                }
            }
            (dropped, d.rows)
        })
        .collect()
}

/// Returns true when `table`, named in `schema`, is a TEMP table while `temp` are the batch's.
fn in_temp(temp: &BTreeSet<String>, schema: Schema, table: &str) -> bool {
    match schema {
        Schema::Temp => true,
        Schema::Unqualified => temp.contains(&table.to_ascii_lowercase()),
        Schema::Main | Schema::Other => false,
    }
}

/// Follows the batch's TEMP tables through one statement: made, renamed or dropped.
fn follow(temp: &mut BTreeSet<String>, statement: &str) {
    let Ok(tokens) = lex(statement) else {
        return;
    };
    let kw = |at: usize, k: &str| tokens.get(at).is_some_and(|t| t.is_kw(k));
    if kw(0, "CREATE") {
        let mut at = 1;
        let mut is_temp = false;
        while kw(at, "TEMP") || kw(at, "TEMPORARY") {
            is_temp = true;
            at += 1;
        }
        if !kw(at, "TABLE") {
            return;
        }
        at += 1;
        if kw(at, "IF") && kw(at + 1, "NOT") && kw(at + 2, "EXISTS") {
            at += 3;
        }
        if let Some((schema, name, _)) = qualified_at(&tokens, at)
            && (is_temp || schema == Schema::Temp)
        {
            temp.insert(name.to_ascii_lowercase());
        }
    } else if kw(0, "DROP") && kw(1, "TABLE") {
        let at = if kw(2, "IF") && kw(3, "EXISTS") { 4 } else { 2 };
        if let Some((schema, name, _)) = qualified_at(&tokens, at)
            && in_temp(temp, schema, &name)
        {
            temp.remove(&name.to_ascii_lowercase());
        }
    } else if kw(0, "ALTER")
        && kw(1, "TABLE")
        && let Some((schema, name, at)) = qualified_at(&tokens, 2)
        && in_temp(temp, schema, &name)
        && kw(at, "RENAME")
        && kw(at + 1, "TO")
        && let Some((to, _)) = crate::sql::name_at(&tokens, at + 2)
    {
        temp.remove(&name.to_ascii_lowercase());
        temp.insert(to.to_ascii_lowercase());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temps(sql: &[&str]) -> Vec<Vec<(String, bool)>> {
        resolved(sql)
            .into_iter()
            .map(|m| m.into_iter().map(|r| (r.named.table, r.temp)).collect())
            .collect()
    }

    #[test]
    fn a_drop_is_temp_exactly_when_the_batch_made_that_temp_table() {
        let got = temps(&[
            "CREATE TEMP TABLE n AS SELECT 1; DROP TABLE n; DROP TABLE IF EXISTS n;",
            "CREATE TEMPORARY TABLE \"Patterns\" (x); DROP TABLE main.patterns; \
             ALTER TABLE patterns RENAME TO p2; DROP TABLE patterns; DROP TABLE P2;",
            "CREATE TABLE temp.s (x); ALTER TABLE s DROP COLUMN x; DROP TABLE temp.s; DROP TABLE s;",
        ]);
        let want = |v: &[(&str, bool)]| -> Vec<(String, bool)> {
            v.iter().map(|(t, b)| (t.to_string(), *b)).collect()
        };
        assert_eq!(
            got,
            vec![
                want(&[("n", true), ("n", false)]),
                want(&[("patterns", false), ("patterns", false), ("P2", true)]),
                want(&[("s", true), ("s", true), ("s", false)]),
            ]
        );
    }

    #[test]
    fn a_temp_table_made_in_one_migration_is_temp_in_the_next() {
        assert_eq!(
            temps(&["CREATE TEMP TABLE n (x);", "DROP TABLE n;", "DROP TABLE n;"]),
            vec![
                vec![],
                vec![("n".to_string(), true)],
                vec![("n".to_string(), false)]
            ]
        );
    }
}
