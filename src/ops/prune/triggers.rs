//! The triggers a prune fires: DELETE triggers of the tables it removes rows from, UPDATE
//! triggers of the tables whose references it sets to NULL or their default, and, to a fixed
//! point, the triggers their bodies fire in turn (an UPDATE in a body fires that table's
//! UPDATE triggers, an INSERT or REPLACE its INSERT triggers, a DELETE its DELETE triggers).
//! For each, the ordinary tables it inserts rows into, deletes rows from, or replaces rows of
//! (`REPLACE`, `INSERT OR REPLACE`, `UPDATE OR REPLACE` delete the rows they displace): rows
//! no archive keeps, so the prune refuses them, naming the trigger, in the dry run and the
//! real run alike.

use rusqlite::Connection;

use super::keys::Keys;
use crate::error::{Error, Result};
use crate::model::Schema;
use crate::sql::{Tok, lex};

/// A trigger the prune fires.
#[derive(Debug, Clone)]
pub(super) struct Fired {
    /// The trigger's name.
    pub(super) trigger: String,
    /// Its table.
    pub(super) table: String,
    /// How many rows fire it.
    pub(super) rows: u64,
    /// The ordinary tables its body inserts into, deletes from or replaces rows of.
    pub(super) writes: Vec<String>,
    /// The trigger whose body fires it, for a trigger the prune fires through another.
    pub(super) by: Option<String>,
}

/// The triggers fired by deleting `keys` and by updating the `unlinked` (table, rows), and
/// the triggers those fire, to a fixed point. A nested trigger's `rows` are those of the
/// trigger that fires it first.
pub(super) fn fired(
    conn: &Connection,
    live: &Schema,
    keys: &[Keys],
    unlinked: &[(String, u64)],
    on_update: &[(String, String)],
) -> Result<Vec<Fired>> {
    let triggers: Vec<(String, String, String)> = conn
        .prepare(
            "SELECT name, tbl_name, sql FROM main.sqlite_schema WHERE type = 'trigger' AND sql IS NOT NULL ORDER BY name",
        )
        .and_then(|mut s| {
            s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<rusqlite::Result<_>>()
        })
        .map_err(Error::sqlite_in("read the triggers"))?;
    let parsed: Vec<(String, String, Option<&'static str>, Vec<Tok>)> = triggers
        .into_iter()
        .filter_map(|(name, table, sql)| {
            let tokens = lex(&sql).ok()?;
            Some((name, table, event(&tokens), tokens))
        })
        .collect();
    // (event, table, rows, the trigger that causes it) still to follow.
    let mut events: Vec<(&'static str, String, u64, Option<String>)> = keys
        .iter()
        .filter(|k| k.rows > 0)
        .map(|k| ("DELETE", k.table.clone(), k.rows, None))
        .chain(
            unlinked
                .iter()
                .filter(|(_, n)| *n > 0)
                .map(|(t, n)| ("UPDATE", t.clone(), *n, None)),
        )
        .collect();
    let mut out: Vec<Fired> = Vec::new();
    while let Some((what, on, rows, by)) = events.pop() {
        // An UPDATE of a parent key carries into its children by their ON UPDATE action.
        if what == "UPDATE" && by.is_some() {
            for (_, child) in on_update
                .iter()
                .filter(|(p, _)| p.eq_ignore_ascii_case(&on))
            {
                if !child.eq_ignore_ascii_case(&on) {
                    events.push(("UPDATE", child.clone(), rows, by.clone()));
                }
            }
        }
        for (name, table, ev, tokens) in &parsed {
            if *ev != Some(what) || !table.eq_ignore_ascii_case(&on) {
                continue;
            }
            if out.iter().any(|f| &f.trigger == name) {
                continue;
            }
            let body = statements(tokens, live);
            for (next, target) in &body.fires {
                events.push((next, target.clone(), rows, Some(name.clone())));
            }
            out.push(Fired {
                trigger: name.clone(),
                table: table.clone(),
                rows,
                writes: body.writes,
                by: by.clone(),
            });
        }
    }
    out.sort_by(|a, b| a.trigger.cmp(&b.trigger));
    Ok(out)
}

/// The event of a trigger: the first DELETE, INSERT or UPDATE keyword of its header.
fn event(tokens: &[Tok]) -> Option<&'static str> {
    tokens
        .iter()
        .take_while(|t| !t.is_kw("BEGIN"))
        .find_map(|t| {
            ["DELETE", "INSERT", "UPDATE"]
                .into_iter()
                .find(|kw| t.is_kw(kw))
        })
}

/// What a trigger body does to ordinary tables.
struct Body {
    /// The tables it inserts into, deletes from or replaces rows of.
    writes: Vec<String>,
    /// The events it causes: (DELETE, INSERT or UPDATE, table).
    fires: Vec<(&'static str, String)>,
}

/// The statements of the body (after BEGIN): INSERT, REPLACE, DELETE and UPDATE, their tables.
fn statements(tokens: &[Tok], live: &Schema) -> Body {
    let mut body = Body {
        writes: Vec::new(),
        fires: Vec::new(),
    };
    let Some(begin) = tokens.iter().position(|t| t.is_kw("BEGIN")) else {
        return body;
    };
    let toks = &tokens[begin + 1..];
    // schemactl's own tables are no table of the live schema's, and a write to one is a write
    // no archive keeps (h26_04: a trigger rewrote `_schemactl_history`).
    let ours = |n: &str| {
        n.get(..11)
            .is_some_and(|p| p.eq_ignore_ascii_case("_schemactl_"))
    };
    // The table named at `at` (`schema.table`: the name after the dot).
    let table_at = |at: usize| -> Option<String> {
        let mut name = toks.get(at).and_then(Tok::word);
        if toks
            .get(at + 1)
            .is_some_and(|t| matches!(&t.token, sqlparser::tokenizer::Token::Period))
        {
            name = toks.get(at + 2).and_then(Tok::word);
        }
        match name {
            Some(n) if ours(n) => Some(n.to_string()),
            n => n.and_then(|n| live.table(n)).map(|t| t.name.to_string()),
        }
    };
    for (i, t) in toks.iter().enumerate() {
        // INSERT [OR x] INTO t, REPLACE INTO t, DELETE FROM t: rows no archive keeps.
        let replace_into = t.is_kw("REPLACE") && toks.get(i + 1).is_some_and(|n| n.is_kw("INTO"));
        let (word, event) = if t.is_kw("INSERT") || replace_into {
            ("INTO", "INSERT")
        } else if t.is_kw("DELETE") {
            ("FROM", "DELETE")
        } else if t.is_kw("UPDATE") {
            // UPDATE [OR x] t: an update (fires UPDATE triggers); OR REPLACE deletes the rows
            // it displaces. (`DO UPDATE SET` of an upsert names no table.)
            let or = toks.get(i + 1).is_some_and(|n| n.is_kw("OR"));
            let at = if or { i + 3 } else { i + 1 };
            if let Some(table) = table_at(at) {
                if (or && toks.get(i + 2).is_some_and(|n| n.is_kw("REPLACE"))) || ours(&table) {
                    push(&mut body.writes, &table);
                }
                body.fires.push(("UPDATE", table));
            }
            continue;
        } else {
            continue;
        };
        let Some(at) = toks[i + 1..].iter().position(|t| t.is_kw(word)) else {
            continue;
        };
        if let Some(table) = table_at(i + 2 + at) {
            push(&mut body.writes, &table);
            body.fires.push((event, table));
        }
    }
    body
}

fn push(out: &mut Vec<String>, table: &str) {
    if !out.iter().any(|o| o == table) {
        out.push(table.to_string());
    }
}
