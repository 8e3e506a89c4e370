//! The triggers a prune fires: DELETE triggers of the tables it removes rows from, UPDATE
//! triggers of the tables whose references it sets to NULL or their default; and which
//! ordinary tables each one inserts rows into or deletes rows from (rows no archive keeps,
//! so the prune refuses them, naming the trigger, in the dry run and the real run alike).

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
    /// The ordinary tables its body inserts into or deletes from.
    pub(super) writes: Vec<String>,
}

/// The triggers fired by deleting `keys` and by updating the `unlinked` (table, rows).
pub(super) fn fired(
    conn: &Connection,
    live: &Schema,
    keys: &[Keys],
    unlinked: &[(String, u64)],
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
    let mut out = Vec::new();
    for (name, table, sql) in triggers {
        let Ok(tokens) = lex(&sql) else { continue };
        let rows = match event(&tokens) {
            Some("DELETE") => keys
                .iter()
                .find(|k| k.table.eq_ignore_ascii_case(&table))
                .map_or(0, |k| k.rows),
            Some("UPDATE") => unlinked
                .iter()
                .filter(|(t, _)| t.eq_ignore_ascii_case(&table))
                .map(|(_, n)| n)
                .sum(),
            _ => 0,
        };
        if rows == 0 {
            continue;
        }
        out.push(Fired {
            trigger: name,
            table,
            rows,
            writes: writes(&tokens, live),
        });
    }
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

/// The ordinary tables the body (after BEGIN) inserts into, replaces into or deletes from.
fn writes(tokens: &[Tok], live: &Schema) -> Vec<String> {
    let Some(begin) = tokens.iter().position(|t| t.is_kw("BEGIN")) else {
        return Vec::new();
    };
    let body = &tokens[begin + 1..];
    let mut out: Vec<String> = Vec::new();
    for (i, t) in body.iter().enumerate() {
        let word = if t.is_kw("INSERT") || t.is_kw("REPLACE") {
            "INTO"
        } else if t.is_kw("DELETE") {
            "FROM"
        } else {
            continue;
        };
        let Some(at) = body[i + 1..].iter().position(|t| t.is_kw(word)) else {
            continue;
        };
        let mut name = body.get(i + 2 + at).and_then(Tok::word);
        // `schema.table`: the name after the dot.
        if body
            .get(i + 3 + at)
            .is_some_and(|t| matches!(&t.token, sqlparser::tokenizer::Token::Period))
        {
            name = body.get(i + 4 + at).and_then(Tok::word);
        }
        if let Some(table) = name.and_then(|n| live.table(n))
            && !out.iter().any(|o| o == table.name.as_str())
        {
            out.push(table.name.to_string());
        }
    }
    out
}
