//! The rows a batch of migrations drops, counted on the live database before it runs (the
//! destructive gate's estimate): each `DROP TABLE` and `ALTER TABLE ... DROP COLUMN` is counted
//! on the live table whose rows the dropped name holds at that statement, followed through
//! the renames before it across the whole batch (`DROP TABLE b; ALTER TABLE a RENAME TO b;
//! DROP TABLE b` drops a's rows), as the driver's recount just before each drop will find
//! them. A name a statement creates holds no live table's rows; what the migrations copy into
//! it is counted by the recount in the transaction.

use std::collections::BTreeMap;

use rusqlite::Connection;

use crate::error::Result;
use crate::migrations::Dropped;
use crate::sql::{Tok, lex};

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
    // Each name (lowercased) a statement renamed or created or dropped, and the live table
    // whose rows it holds now (None: no live table's). A name not here is the live table's.
    let mut holds: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut out = Vec::new();
    for text in sql {
        let tokens = lex(text).unwrap_or_default();
        let mut drops = Vec::new();
        for i in 0..tokens.len() {
            let kw = |at: usize, k: &str| tokens.get(at).is_some_and(|t| t.is_kw(k));
            let live_of = |holds: &BTreeMap<String, Option<String>>, name: &str| {
                holds
                    .get(&name.to_ascii_lowercase())
                    .cloned()
                    .unwrap_or_else(|| Some(name.to_string()))
            };
            if kw(i, "CREATE") {
                let mut at = i + 1;
                while kw(at, "TEMP") || kw(at, "TEMPORARY") || kw(at, "VIRTUAL") {
                    at += 1;
                }
                if !kw(at, "TABLE") {
                    continue;
                }
                at += 1;
                if kw(at, "IF") {
                    at += 3;
                }
                if let Some((name, _)) = name_at(&tokens, at) {
                    holds.insert(name.to_ascii_lowercase(), None);
                }
            } else if kw(i, "DROP") && kw(i + 1, "TABLE") {
                let at = if kw(i + 2, "IF") { i + 4 } else { i + 2 };
                if let Some((name, _)) = name_at(&tokens, at) {
                    let rows = match live_of(&holds, &name) {
                        Some(live_table) => super::driver::rows_lost(
                            live,
                            &Dropped {
                                table: live_table,
                                column: None,
                            },
                        )?,
                        None => 0,
                    };
                    drops.push(Drop {
                        dropped: Dropped {
                            table: name.clone(),
                            column: None,
                        },
                        rows,
                    });
                    holds.insert(name.to_ascii_lowercase(), None);
                }
            } else if kw(i, "ALTER") && kw(i + 1, "TABLE") {
                let Some((name, at)) = name_at(&tokens, i + 2) else {
                    continue;
                };
                if kw(at, "RENAME") && kw(at + 1, "TO") {
                    if let Some((to, _)) = name_at(&tokens, at + 2) {
                        let from = live_of(&holds, &name);
                        holds.insert(name.to_ascii_lowercase(), None);
                        holds.insert(to.to_ascii_lowercase(), from);
                    }
                } else if kw(at, "DROP") {
                    let c = if kw(at + 1, "COLUMN") { at + 2 } else { at + 1 };
                    let Some(column) = tokens.get(c).and_then(|t| t.word()) else {
                        continue;
                    };
                    let rows = match live_of(&holds, &name) {
                        Some(live_table) => super::driver::rows_lost(
                            live,
                            &Dropped {
                                table: live_table,
                                column: Some(column.to_string()),
                            },
                        )?,
                        None => 0,
                    };
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

/// Reads a possibly schema-qualified name at `i`: the name and the index after it.
fn name_at(tokens: &[Tok], i: usize) -> Option<(String, usize)> {
    crate::sql::name_at(tokens, i)
}

#[cfg(test)]
#[path = "drop_estimate_tests.rs"]
mod tests;
