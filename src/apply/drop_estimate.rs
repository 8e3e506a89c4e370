//! The rows a batch of migrations drops, counted on the live database before it runs (the
//! destructive gate's estimate): each `DROP TABLE` and `ALTER TABLE ... DROP COLUMN` is counted
//! on the live table whose rows the dropped name holds at that statement, followed through
//! the renames before it across the whole batch (`DROP TABLE b; ALTER TABLE a RENAME TO b;
//! DROP TABLE b` drops a's rows), as the driver's recount just before each drop will find
//! them. A name a statement creates holds no live table's rows until the batch fills it
//! (`CREATE TABLE c AS SELECT ...`, `INSERT INTO c SELECT ...`, `WITH ... INSERT ...`): then
//! it holds the rows of every live table the fill reads (a name in any spelling SQLite
//! accepts, a view read through its query), so a table the batch fills and drops is never
//! "empty".

use std::collections::BTreeMap;

use rusqlite::Connection;

use crate::error::Result;
use crate::migrations::Dropped;
use crate::sql::{Tok, lex};
use sqlparser::tokenizer::Token;

/// One drop of a migration: what it drops (under the name the statement gives) and the rows
/// of the live table it holds.
#[derive(Debug, Clone)]
pub struct Drop {
    /// The table (and column) as the statement names it.
    pub dropped: Dropped,
    /// The rows it drops, counted on the live table whose rows it holds.
    pub rows: u64,
}

/// Counts the rows each of `sql` (the pending migrations, in order) drops: one list per
/// migration, empty when it drops nothing it can name.
pub fn estimate(live: &Connection, sql: &[&str]) -> Result<Vec<Vec<Drop>>> {
    // Each name (lowercased) a statement renamed, created, filled or dropped, and the live
    // tables whose rows it holds now (none: an empty table the batch created). A name not
    // here holds its own live table's rows.
    let mut holds: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let live_of = |holds: &BTreeMap<String, Vec<String>>, name: &str| {
        holds
            .get(&name.to_ascii_lowercase())
            .cloned()
            .unwrap_or_else(|| vec![name.to_string()])
    };
    let count = |tables: &[String], column: Option<&str>| -> Result<u64> {
        let mut rows = 0u64;
        for table in tables {
            rows = rows.saturating_add(super::driver::rows_lost(
                live,
                &Dropped {
                    table: table.clone(),
                    column: column.map(String::from),
                },
            )?);
        }
        Ok(rows)
    };
    // Each view (lowercased), live or created by the batch, and the names its query reads.
    let mut views = live_views(live)?;
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
                while kw(at, "TEMP") || kw(at, "TEMPORARY") || kw(at, "VIRTUAL") {
                    at += 1;
                }
                if kw(at, "VIEW") {
                    if let Some((name, next)) = crate::sql::object_at(&tokens, at + 1) {
                        let reads = statement_names(&tokens[next.min(tokens.len())..]);
                        views.insert(name.to_ascii_lowercase(), reads);
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
                if let Some((name, next)) = name_at(&tokens, at) {
                    // `CREATE TABLE c AS SELECT ...` holds the rows of what it reads.
                    let filled = if kw(next, "AS") {
                        let reads = statement_names(&tokens[next.min(tokens.len())..]);
                        fill_sources(&reads, &name, &views, &holds, live_of)
                    } else {
                        Vec::new()
                    };
                    holds.insert(name.to_ascii_lowercase(), filled);
                }
            } else if (kw(i, "INSERT") || kw(i, "REPLACE"))
                && let Some(into) = (i + 1..tokens.len().min(i + 5)).find(|&at| kw(at, "INTO"))
                && let Some((name, next)) = name_at(&tokens, into + 1)
            {
                // Rows copied in from other tables: the name holds theirs too.
                let mut held = live_of(&holds, &name);
                // A `WITH` prefix's CTEs are read by the fill too.
                let mut reads = statement_names(&tokens[next.min(tokens.len())..]);
                if kw(start, "WITH") {
                    reads.extend(statement_names(&tokens[start..i]));
                }
                for s in fill_sources(&reads, &name, &views, &holds, live_of) {
                    if !held.iter().any(|h| h.eq_ignore_ascii_case(&s)) {
                        held.push(s);
                    }
                }
                holds.insert(name.to_ascii_lowercase(), held);
            } else if kw(i, "DROP") && kw(i + 1, "TABLE") {
                let at = if kw(i + 2, "IF") { i + 4 } else { i + 2 };
                if let Some((name, _)) = name_at(&tokens, at) {
                    let rows = count(&live_of(&holds, &name), None)?;
                    drops.push(Drop {
                        dropped: Dropped {
                            table: name.clone(),
                            column: None,
                        },
                        rows,
                    });
                    holds.insert(name.to_ascii_lowercase(), Vec::new());
                }
            } else if kw(i, "ALTER") && kw(i + 1, "TABLE") {
                let Some((name, at)) = name_at(&tokens, i + 2) else {
                    continue;
                };
                if kw(at, "RENAME") && kw(at + 1, "TO") {
                    if let Some((to, _)) = name_at(&tokens, at + 2) {
                        // SQLite renames the table in the views that read it.
                        let (old, new) = (name.to_ascii_lowercase(), to.to_ascii_lowercase());
                        for reads in views.values_mut() {
                            for r in reads.iter_mut().filter(|r| **r == old) {
                                r.clone_from(&new);
                            }
                        }
                        let from = live_of(&holds, &name);
                        holds.insert(name.to_ascii_lowercase(), Vec::new());
                        holds.insert(to.to_ascii_lowercase(), from);
                    }
                } else if kw(at, "DROP") {
                    let c = if kw(at + 1, "COLUMN") { at + 2 } else { at + 1 };
                    let Some(column) = tokens.get(c).and_then(|t| t.name()) else {
                        continue;
                    };
                    let rows = count(&live_of(&holds, &name), Some(column))?;
                    drops.push(Drop {
                        dropped: Dropped {
                            table: name,
                            column: Some(column.to_string()),
                        },
                        rows,
                    });
                }
            }
        }
        out.push(drops);
    }
    Ok(out)
}

/// Every name (lowercased) of the statement that starts at `tokens[0]`, up to its `;`: words
/// and single-quoted strings alike, as SQLite reads a string where a name belongs
/// ([`Tok::name`]).
fn statement_names(tokens: &[Tok]) -> Vec<String> {
    tokens
        .iter()
        .take_while(|t| t.token != Token::SemiColon)
        .filter_map(|t| t.name().map(str::to_ascii_lowercase))
        .collect()
}

/// The views of the live database (lowercased), with the names their query reads.
fn live_views(live: &Connection) -> Result<BTreeMap<String, Vec<String>>> {
    let q = |e| crate::error::Error::sqlite("read the views of the database", e);
    let mut stmt = live
        .prepare("SELECT name, sql FROM main.sqlite_schema WHERE type = 'view' AND sql IS NOT NULL")
        .map_err(q)?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .map_err(q)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(q)?;
    Ok(rows
        .into_iter()
        .map(|(name, sql)| {
            let reads = statement_names(&lex(&sql).unwrap_or_default());
            (name.to_ascii_lowercase(), reads)
        })
        .collect())
}

/// The live tables whose rows a fill of `target` (a `CREATE TABLE ... AS SELECT` or an
/// `INSERT ... SELECT`) that reads the names `reads` copies in: every name it reads (through
/// every view among them, to the names the view's query reads), resolved through `holds` to
/// the live tables it holds. A name that is no table counts no rows, so reading every name is
/// safe: the estimate never counts fewer rows than the fill brings (it may count more, when a
/// `WHERE` keeps fewer: the gate then stays).
fn fill_sources(
    reads: &[String],
    target: &str,
    views: &BTreeMap<String, Vec<String>>,
    holds: &BTreeMap<String, Vec<String>>,
    live_of: impl Fn(&BTreeMap<String, Vec<String>>, &str) -> Vec<String>,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    let mut work: Vec<&str> = reads.iter().map(String::as_str).collect();
    while let Some(w) = work.pop() {
        if w.eq_ignore_ascii_case(target) || !seen.insert(w) {
            continue;
        }
        // A view the batch has not dropped or replaced by a table: read through its query.
        if !holds.contains_key(w)
            && let Some(through) = views.get(w)
        {
            work.extend(through.iter().map(String::as_str));
            continue;
        }
        for s in live_of(holds, w) {
            if !out.iter().any(|o| o.eq_ignore_ascii_case(&s)) {
                out.push(s);
            }
        }
    }
    out
}

/// Reads a possibly schema-qualified name at `i`: the name and the index after it.
fn name_at(tokens: &[Tok], i: usize) -> Option<(String, usize)> {
    crate::sql::name_at(tokens, i)
}

#[cfg(test)]
#[path = "drop_estimate_tests.rs"]
mod tests;
