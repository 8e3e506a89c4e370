//! The rows a batch of migrations drops, counted on the live database before it runs (the
//! destructive gate's estimate): each `DROP TABLE` and `ALTER TABLE ... DROP COLUMN` is counted
//! on the live table whose rows the dropped name holds at that statement, followed through
//! the renames before it across the whole batch (`DROP TABLE b; ALTER TABLE a RENAME TO b;
//! DROP TABLE b` drops a's rows), as the driver's recount just before each drop will find
//! them. A name a statement creates holds no live table's rows until the batch fills it
//! (`CREATE TABLE c AS SELECT ...`, `INSERT INTO c SELECT ...`): then it holds the rows of
//! every live table the fill reads, so a table the batch fills and drops is never "empty".
//! The fill is read in every form SQLite runs: a name in any spelling it accepts (a word,
//! quoted, or a `'string'`), a `WITH` prefix's CTEs (`WITH c AS (...) INSERT INTO x ...`), and
//! a view through its query (a live view or one the batch creates, with the table renames
//! SQLite writes into it). A TEMP table is another table than main's of the same name (SQLite
//! reads an unqualified name in TEMP first): it holds no live rows until the batch fills it,
//! as any new table. A view of main reads main's tables; a TEMP view reads as SQLite finds
//! its names when it runs.

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::Connection;

use crate::error::{Error, Result};
use crate::migrations::Dropped;
use crate::sql::{Schema, Tok, lex, qualified_at, quote_ident};
use sqlparser::tokenizer::Token;

/// One drop of a migration: what it drops (under the name the statement gives) and the rows
/// of the live table it holds.
#[derive(Debug, Clone)]
pub struct Drop {
    /// The table (and column) as the statement names it.
    pub dropped: Dropped,
    /// The rows it drops, counted on the live table whose rows it holds.
    pub rows: u64,
    /// True when the table it drops is one of the batch's TEMP tables at that point (SQLite
    /// reads an unqualified name in TEMP first): the gate then lets it go (its rows end with
    /// the connection anyway).
    pub temp: bool,
}

/// Where a name's rows are: a table of main or of TEMP, by its lowercased name. A TEMP table
/// (`CREATE TEMP TABLE a`, `temp.a`) is another table than main's `a`, even when it shadows
/// it: SQLite reads an unqualified name in TEMP first.
type Key = (Schema, String);

/// A name a query reads, in the schema it is written in (a view of main reads main's).
type Read = (Schema, String);

/// The tables the batch has made in TEMP so far, what each name holds, and the views.
#[derive(Default)]
struct Names {
    /// Each name (main's or TEMP's) a statement renamed, created, filled or dropped, and the
    /// live tables whose rows it holds now (none: an empty table the batch created). A main
    /// name not here holds its own live table's rows; a TEMP name not here holds none.
    holds: BTreeMap<Key, Vec<String>>,
    /// The TEMP tables the batch created and has not dropped (lowercased).
    temp: BTreeSet<String>,
    /// Each view (live, or created by the batch and not dropped) and the names its query
    /// reads: a fill that reads a view reads them.
    views: BTreeMap<Key, Vec<Read>>,
}

impl Names {
    /// The table `name`, written in `schema`, means at this point of the batch.
    fn key(&self, schema: Schema, name: &str) -> Key {
        let name = name.to_ascii_lowercase();
        let temp = match schema {
            Schema::Temp => true,
            Schema::Unqualified => {
                self.temp.contains(&name) || self.views.contains_key(&(Schema::Temp, name.clone()))
            }
            Schema::Main | Schema::Other => false,
        };
        (if temp { Schema::Temp } else { Schema::Main }, name)
    }

    /// The live (main) tables whose rows `key` holds.
    fn live_of(&self, key: &Key) -> Vec<String> {
        match self.holds.get(key) {
            Some(held) => held.clone(),
            None if key.0 == Schema::Temp => Vec::new(),
            None => vec![key.1.clone()],
        }
    }

    /// The view `key` names, unless a table has taken its name.
    fn view(&self, key: &Key) -> Option<&Vec<Read>> {
        self.views
            .get(key)
            .filter(|_| !self.holds.contains_key(key))
    }

    /// SQLite writes a table's new name into the views that read it (as it resolves their
    /// names): `from` is renamed `to` in every view read that means it now.
    fn rename_in_views(&mut self, from: &Key, to: &str) {
        let hits: Vec<(Key, usize)> = self
            .views
            .iter()
            .flat_map(|(view, reads)| {
                reads
                    .iter()
                    .enumerate()
                    .filter(|(_, (s, n))| self.key(*s, n) == *from)
                    .map(|(j, _)| (view.clone(), j))
            })
            .collect();
        for (view, j) in hits {
            if let Some(read) = self.views.get_mut(&view).and_then(|r| r.get_mut(j)) {
                read.1 = to.to_string();
            }
        }
    }
}

/// Counts the rows each of `sql` (the pending migrations, in order) drops: one list per
/// migration, empty when it drops nothing it can name.
pub fn estimate(live: &Connection, sql: &[&str]) -> Result<Vec<Vec<Drop>>> {
    let mut names = Names {
        views: live_views(live)?,
        ..Names::default()
    };
    // The rows of live tables (main's: the live connection has no TEMP table).
    let count = |tables: &[String], column: Option<&str>| -> Result<u64> {
        let mut rows = 0u64;
        for table in tables {
            rows = rows.saturating_add(rows_lost(
                live,
                &Dropped {
                    schema: Schema::Main,
                    table: table.clone(),
                    column: column.map(String::from),
                },
            )?);
        }
        Ok(rows)
    };
    let mut out = Vec::new();
    for text in sql {
        let tokens = lex(text).unwrap_or_default();
        let mut drops = Vec::new();
        // Where the statement holding token i starts (after the last `;` before it).
        let mut start = 0;
        for i in 0..tokens.len() {
            let kw = |at: usize, k: &str| tokens.get(at).is_some_and(|t| t.is_kw(k));
            if i > 0 && tokens[i - 1].token == Token::SemiColon {
                start = i;
            }
            if kw(i, "CREATE") {
                let mut at = i + 1;
                let mut temp = false;
                while kw(at, "TEMP") || kw(at, "TEMPORARY") || kw(at, "VIRTUAL") {
                    temp |= !kw(at, "VIRTUAL");
                    at += 1;
                }
                if kw(at, "VIEW") {
                    if let Some((key, reads)) = view_at(&tokens, at + 1, temp) {
                        names.views.insert(key, reads);
                    }
                    continue;
                }
                if !kw(at, "TABLE") {
                    continue;
                }
                at += 1;
                if kw(at, "IF") {
                    at += 3;
                }
                if let Some((schema, name, next)) = qualified_at(&tokens, at) {
                    let schema = if temp { Schema::Temp } else { schema };
                    // `CREATE TABLE main.a` makes main's, whatever TEMP holds.
                    let key = names.key(
                        if schema == Schema::Unqualified {
                            Schema::Main
                        } else {
                            schema
                        },
                        &name,
                    );
                    // `CREATE TABLE c AS SELECT ...` holds the rows of what it reads.
                    let filled = if kw(next, "AS") {
                        fill_sources(&tokens, next, &key, &names)
                    } else {
                        Vec::new()
                    };
                    if key.0 == Schema::Temp {
                        names.temp.insert(key.1.clone());
                    }
                    names.holds.insert(key, filled);
                }
            } else if (kw(i, "INSERT") || kw(i, "REPLACE"))
                && let Some(into) = (i + 1..tokens.len().min(i + 5)).find(|&at| kw(at, "INTO"))
                && let Some((schema, name, next)) = qualified_at(&tokens, into + 1)
            {
                // Rows copied in from other tables: the name holds theirs too. A `WITH`
                // prefix's CTEs are read by the fill as well.
                let key = names.key(schema, &name);
                let mut held = names.live_of(&key);
                let from = if kw(start, "WITH") { start } else { next };
                for s in fill_sources(&tokens, from, &key, &names) {
                    if !held.iter().any(|h| h.eq_ignore_ascii_case(&s)) {
                        held.push(s);
                    }
                }
                names.holds.insert(key, held);
            } else if kw(i, "DROP") && kw(i + 1, "TABLE") {
                let at = if kw(i + 2, "IF") { i + 4 } else { i + 2 };
                if let Some((schema, name, _)) = qualified_at(&tokens, at) {
                    let key = names.key(schema, &name);
                    let rows = count(&names.live_of(&key), None)?;
                    drops.push(Drop {
                        dropped: Dropped {
                            schema,
                            table: name.clone(),
                            column: None,
                        },
                        rows,
                        temp: key.0 == Schema::Temp,
                    });
                    if key.0 == Schema::Temp {
                        names.temp.remove(&key.1);
                    }
                    names.holds.insert(key, Vec::new());
                }
            } else if kw(i, "DROP") && kw(i + 1, "VIEW") {
                let at = if kw(i + 2, "IF") { i + 4 } else { i + 2 };
                if let Some((schema, name, _)) = qualified_at(&tokens, at) {
                    let key = names.key(schema, &name);
                    names.views.remove(&key);
                }
            } else if kw(i, "ALTER") && kw(i + 1, "TABLE") {
                let Some((schema, name, at)) = qualified_at(&tokens, i + 2) else {
                    continue;
                };
                let key = names.key(schema, &name);
                if kw(at, "RENAME") && kw(at + 1, "TO") {
                    // A rename keeps the table in its schema.
                    if let Some((to, _)) = crate::sql::name_at(&tokens, at + 2) {
                        names.rename_in_views(&key, &to);
                        let from = names.live_of(&key);
                        let to = (key.0, to.to_ascii_lowercase());
                        if key.0 == Schema::Temp {
                            names.temp.remove(&key.1);
                            names.temp.insert(to.1.clone());
                        }
                        names.holds.insert(key, Vec::new());
                        names.holds.insert(to, from);
                    }
                } else if kw(at, "DROP") {
                    let c = if kw(at + 1, "COLUMN") { at + 2 } else { at + 1 };
                    let Some(column) = tokens.get(c).and_then(|t| t.name()) else {
                        continue;
                    };
                    let rows = count(&names.live_of(&key), Some(column))?;
                    drops.push(Drop {
                        dropped: Dropped {
                            schema,
                            table: name,
                            column: Some(column.to_string()),
                        },
                        rows,
                        temp: key.0 == Schema::Temp,
                    });
                }
            }
        }
        out.push(drops);
    }
    Ok(out)
}

/// The names a statement reads from token `from` to its `;`, each with the schema written
/// before it: words and single-quoted strings alike, as SQLite reads a string where a name
/// belongs ([`Tok::name`]). A word that is no table counts no rows, so reading every word is
/// safe (it may count more, never fewer).
fn reads(tokens: &[Tok], from: usize) -> Vec<Read> {
    let end = tokens[from.min(tokens.len())..]
        .iter()
        .position(|t| t.token == Token::SemiColon)
        .map_or(tokens.len(), |n| from + n);
    let period = |at: usize| tokens.get(at).is_some_and(|t| t.token == Token::Period);
    let mut out = Vec::new();
    for i in from.min(end)..end {
        let Some(w) = tokens[i].name() else { continue };
        if period(i + 1) {
            // The schema of the name after it.
            continue;
        }
        let schema = match i.checked_sub(2) {
            Some(s) if period(i - 1) => tokens[s].name().map_or(Schema::Other, Schema::named),
            _ => Schema::Unqualified,
        };
        out.push((schema, w.to_ascii_lowercase()));
    }
    out
}

/// The view a `CREATE [TEMP] VIEW` makes (`at`: the token after `VIEW`), and the names its
/// query reads. A view of main reads main's tables whatever TEMP holds (SQLite binds its
/// names to its own schema); a TEMP view's names are found as SQLite finds them when it runs.
fn view_at(tokens: &[Tok], at: usize, temp: bool) -> Option<(Key, Vec<Read>)> {
    let kw = |at: usize, k: &str| tokens.get(at).is_some_and(|t| t.is_kw(k));
    let at = if kw(at, "IF") { at + 3 } else { at };
    let (schema, name, next) = qualified_at(tokens, at)?;
    let temp = temp || schema == Schema::Temp;
    let mut reads = reads(tokens, next);
    if !temp {
        for read in &mut reads {
            if read.0 == Schema::Unqualified {
                read.0 = Schema::Main;
            }
        }
    }
    let schema = if temp { Schema::Temp } else { Schema::Main };
    Some(((schema, name.to_ascii_lowercase()), reads))
}

/// The views of the live database (of main: the live connection has no TEMP view), with the
/// names their query reads.
fn live_views(live: &Connection) -> Result<BTreeMap<Key, Vec<Read>>> {
    let q = |e| crate::error::Error::sqlite("read the views of the database", e);
    let mut stmt = live
        .prepare("SELECT sql FROM main.sqlite_schema WHERE type = 'view' AND sql IS NOT NULL")
        .map_err(q)?;
    let sqls = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .map_err(q)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(q)?;
    let mut views = BTreeMap::new();
    for sql in sqls {
        let tokens = lex(&sql).unwrap_or_default();
        // `CREATE VIEW name ...`, as SQLite stores it.
        let at = (0..tokens.len().min(4)).find(|&i| tokens[i].is_kw("VIEW"));
        if let Some((key, reads)) = at.and_then(|at| view_at(&tokens, at + 1, false)) {
            views.insert(key, reads);
        }
    }
    Ok(views)
}

/// The live tables whose rows a fill of `target` (a `CREATE TABLE ... AS SELECT` or an
/// `INSERT ... SELECT`, from the token `from` to the end of its statement, a `WITH` prefix
/// included) copies in: every name it reads (in the schema it names, or the one SQLite finds
/// it in), through every view among them to the names the view's query reads, resolved
/// through `names` to the live tables it holds. The estimate never counts fewer rows than the
/// fill brings (it may count more, when a `WHERE` keeps fewer: the gate then stays).
fn fill_sources(tokens: &[Tok], from: usize, target: &Key, names: &Names) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut seen = BTreeSet::new();
    let mut work = reads(tokens, from);
    while let Some((schema, name)) = work.pop() {
        let key = names.key(schema, &name);
        if &key == target || !seen.insert(key.clone()) {
            continue;
        }
        if let Some(through) = names.view(&key) {
            work.extend(through.iter().cloned());
            continue;
        }
        for s in names.live_of(&key) {
            if !out.iter().any(|o| o.eq_ignore_ascii_case(&s)) {
                out.push(s);
            }
        }
    }
    out
}

#[cfg(test)]
#[path = "drop_estimate_tests.rs"]
mod tests;

/// How many rows `dropped` would touch now: the rows of the table dropped, or of the table
/// whose column is dropped (every row loses a value, NULL or not: the gate stays on whenever
/// the table holds a row), in the schema SQLite finds it in (`temp.t`, or an unqualified name
/// the connection has a TEMP table of: SQLite looks there first; main's otherwise); 0 when the
/// table does not exist (yet). (The gates let a TEMP table go whatever it holds.)
pub fn rows_lost(conn: &Connection, dropped: &Dropped) -> Result<u64> {
    let q = || Error::sqlite_in("count the rows a destructive step drops");
    let Some(schema) = found_in(conn, dropped)? else {
        return Ok(0);
    };
    let schema = if schema == Schema::Temp {
        "temp"
    } else {
        "main"
    };
    let n: i64 = conn
        .query_row(
            &format!(
                "SELECT count(*) FROM {schema}.{}",
                quote_ident(&dropped.table)
            ),
            [],
            |r| r.get(0),
        )
        .map_err(q())?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// The schema (`Main` or `Temp`) SQLite finds the table of `dropped` in on `conn`: the one
/// named, or for an unqualified name TEMP's when the connection has such a TEMP table, main's
/// otherwise; None when the table does not exist there (or the schema is another one).
pub fn found_in(conn: &Connection, dropped: &Dropped) -> Result<Option<Schema>> {
    let q = || Error::sqlite_in("find the table a destructive step drops");
    // SQLite's names are case-insensitive: `DROP TABLE Patterns` drops `patterns`.
    let exists_in = |schema: &str| -> Result<bool> {
        conn.query_row(
            &format!(
                "SELECT count(*) > 0 FROM {schema}.sqlite_schema WHERE type = 'table' AND name = ?1 COLLATE NOCASE"
            ),
            [&dropped.table],
            |r| r.get(0),
        )
        .map_err(q())
    };
    let (schema, name) = match dropped.schema {
        Schema::Main => (Schema::Main, "main"),
        Schema::Temp => (Schema::Temp, "temp"),
        Schema::Unqualified if exists_in("temp")? => (Schema::Temp, "temp"),
        Schema::Unqualified => (Schema::Main, "main"),
        // A migration cannot attach a database: SQLite refuses the statement itself.
        Schema::Other => return Ok(None),
    };
    Ok(exists_in(name)?.then_some(schema))
}

/// Names what `dropped` (a table or column of main: a TEMP table's drop loses nothing the
/// database keeps) loses, for the gate's message.
pub fn describe_loss(dropped: &Dropped, rows: u64) -> String {
    match &dropped.column {
        None => format!("drops table \"{}\" with {rows} row(s)", dropped.table),
        Some(c) => format!(
            "drops column \"{}\".\"{c}\" of {rows} row(s)",
            dropped.table
        ),
    }
}
