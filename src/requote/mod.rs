//! SQLite's quote fix: legacy double-quoted string literals ("DQS") in views and triggers
//! (here) and in the expressions of tables and indexes ([`sites`]: CHECKs, generated columns,
//! index WHERE clauses and key expressions).
//!
//! SQLite reads `"x"` as a column when one named `x` is in scope and as the string `'x'`
//! otherwise. Its native `ALTER TABLE ... DROP COLUMN` and `RENAME COLUMN` rewrite every such
//! string literal of the WHOLE database to single quotes (alter.c, `renameFixQuotes`), not
//! only in the objects over the altered table: a view `... WHERE v <> "x"` over any table
//! becomes `... WHERE v <> 'x'`. (`RENAME TO`, `ADD COLUMN` and the constraint forms do not.)
//!
//! Which objects SQLite rewrites, and which of their double-quoted words are strings, is
//! asked of SQLite itself ([`literals`]): the part of the schema that holds the candidates (the
//! views and triggers with a double-quoted word) is created in memory, a throwaway table has
//! a column dropped, and the texts that changed are compared token by token. No quoting rule
//! is guessed here: a double-quoted word is a string only where SQLite turned it into one.

use std::collections::{BTreeMap, BTreeSet};

use sqlparser::tokenizer::Token;

use crate::diff::Change;
use crate::lint::{Finding, FindingKind};
use crate::model::Schema;
use crate::sql::{Tok, ident, lex, quote_ident, quote_literal};

mod sites;

/// The throwaway table whose column drop makes SQLite apply its quote fix.
const PROBE: &str = "_schemactl_requote_probe";

/// The double-quoted words of a text, in order, with whether SQLite reads each as a string.
type Words = Vec<(String, bool)>;

/// Returns true when `sql` holds an `ALTER TABLE` that SQLite applies its quote fix for: a
/// `RENAME [COLUMN] a TO b` or a `DROP [COLUMN] a` (not `RENAME TO`, not `DROP CONSTRAINT`,
/// not `ALTER COLUMN a DROP NOT NULL` or `DROP DEFAULT`). Text that does not lex counts.
pub fn requotes(sql: &str) -> bool {
    let Ok(tokens) = lex(sql) else {
        return true;
    };
    let mut in_alter = false;
    for (i, t) in tokens.iter().enumerate() {
        if t.token == Token::SemiColon {
            in_alter = false;
            continue;
        }
        let next = tokens.get(i + 1);
        if t.is_kw("ALTER") && next.is_some_and(|n| n.is_kw("TABLE")) {
            in_alter = true;
            continue;
        }
        if !in_alter {
            continue;
        }
        if t.is_kw("RENAME") && !next.is_some_and(|n| n.is_kw("TO")) {
            return true;
        }
        if t.is_kw("DROP")
            && !next.is_some_and(|n| n.is_kw("CONSTRAINT") || n.is_kw("NOT") || n.is_kw("DEFAULT"))
        {
            return true;
        }
    }
    false
}

/// The views and triggers (lowercase names) SQLite's quote fix rewrites, in `current` or in
/// `desired`, when one of `statements` (a plan's table steps, either way) makes it apply it:
/// a plan drops them before such a step and recreates them after it. Empty otherwise.
pub fn around<'a>(
    mut statements: impl Iterator<Item = &'a String>,
    current: &Schema,
    desired: &Schema,
) -> BTreeSet<String> {
    if !statements.any(|sql| requotes(sql)) {
        return BTreeSet::new();
    }
    let mut names = rewritten(current);
    names.extend(rewritten(desired));
    names
}

/// Returns true when `text` has a double-quoted word, which SQLite may read as a string.
/// Text that does not lex counts.
fn has_double_quoted(text: &str) -> bool {
    lex(text).map_or(true, |tokens| tokens.iter().any(is_double_quoted))
}

fn is_double_quoted(t: &Tok) -> bool {
    matches!(&t.token, Token::Word(w) if w.quote_style == Some('"'))
}

/// The views and triggers (lowercase names) with a double-quoted word: those SQLite's quote
/// fix may rewrite. A superset of what it rewrites, found without SQLite.
pub fn candidates(schema: &Schema) -> BTreeSet<String> {
    schema
        .views
        .iter()
        .filter(|v| has_double_quoted(v.select.as_str()))
        .map(|v| v.name.to_ascii_lowercase())
        .chain(
            schema
                .triggers
                .iter()
                .filter(|t| has_double_quoted(t.sql.as_str()))
                .map(|t| t.name.to_ascii_lowercase()),
        )
        .collect()
}

/// The views and triggers (lowercase names) that SQLite's quote fix rewrites in `schema`,
/// asked of SQLite; when SQLite cannot be asked (the part does not build), every candidate.
pub fn rewritten(schema: &Schema) -> BTreeSet<String> {
    match literals(schema) {
        Some(found) => found.into_keys().collect(),
        None => candidates(schema),
    }
}

/// The double-quoted string literals of each view and trigger of `schema` (by lowercase
/// name), as SQLite's quote fix finds them: only the objects that have one are listed. None
/// when the part of the schema that holds the candidates cannot be created in memory.
pub fn literals(schema: &Schema) -> Option<BTreeMap<String, Vec<String>>> {
    Some(
        probe(schema)?
            .into_iter()
            .map(|(name, words)| {
                let strings = words.into_iter().filter(|(_, s)| *s).map(|(w, _)| w);
                (name, strings.collect())
            })
            .collect(),
    )
}

/// Every double-quoted word, in order, of the CREATE text of each view and trigger of
/// `schema` that SQLite's quote fix rewrites (by lowercase name), with whether SQLite made it
/// a string. None when the part of the schema that holds the candidates cannot be created
/// in memory, or SQLite's rewrite is not one token for one token.
fn probe(schema: &Schema) -> Option<BTreeMap<String, Vec<(String, bool)>>> {
    let candidates = candidates(schema);
    if candidates.is_empty() {
        return Some(BTreeMap::new());
    }
    let part = crate::normal::part::within(schema, &closure(schema, candidates));
    let conn = crate::normal::create_in_memory(&part).ok()?;
    let read = |conn: &rusqlite::Connection| -> rusqlite::Result<BTreeMap<String, String>> {
        let mut stmt = conn.prepare(
            "SELECT lower(name), sql FROM sqlite_schema WHERE type IN ('view', 'trigger')",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect()
    };
    let before = read(&conn).ok()?;
    conn.execute_batch(&format!(
        "CREATE TABLE \"{PROBE}\" (a, b); ALTER TABLE \"{PROBE}\" DROP COLUMN b;"
    ))
    .ok()?;
    let after = read(&conn).ok()?;
    let mut out = BTreeMap::new();
    for (name, old) in &before {
        let Some(new) = after.get(name).filter(|new| *new != old) else {
            continue;
        };
        let (Ok(old), Ok(new)) = (lex(old), lex(new)) else {
            return None;
        };
        out.insert(name.clone(), align_tokens(&old, &new)?);
    }
    Some(out)
}

/// Every double-quoted word, in order, of a text SQLite's quote fix rewrote, with whether it
/// became a string, from the text before (`old`) and after (`new`), lexed. None when the
/// rewrite is not one token for one token, or made no string.
fn align_tokens(old: &[Tok], new: &[Tok]) -> Option<Words> {
    if old.len() != new.len() {
        return None;
    }
    // SQLite replaces a token by a token: the double-quoted words that came back as
    // single-quoted strings are the string literals.
    let words: Words = old
        .iter()
        .zip(new.iter())
        .filter(|(o, _)| is_double_quoted(o))
        .filter_map(|(o, n)| match (&o.token, &n.token) {
            (Token::Word(w), Token::SingleQuotedString(_)) => Some((w.value.clone(), true)),
            (Token::Word(w), _) => Some((w.value.clone(), false)),
            _ => None,
        })
        .collect();
    if !words.iter().any(|(_, s)| *s) {
        return None;
    }
    Some(words)
}

/// Gives every view and trigger of `schema` that holds a double-quoted string literal the
/// comparison key of its text as SQLite's quote fix rewrites it (`"x"` read as `'x'`), its
/// text unchanged: two texts that differ only by that rewrite are the same definition, by
/// SQLite's own rule, while a double-quoted word SQLite reads as a column stays a column.
/// Nothing changes when SQLite cannot be asked.
pub fn settle(schema: &mut Schema) {
    sites::settle(schema);
    let quoted = |text: &str| text.contains('"');
    if !schema.views.iter().any(|v| quoted(v.select.as_str()))
        && !schema.triggers.iter().any(|t| quoted(t.sql.as_str()))
    {
        return;
    }
    let Some(found) = probe(schema) else {
        return;
    };
    if found.is_empty() {
        return;
    }
    let fix = |name: &str, sql: &mut crate::sql::Sql| {
        let Some(words) = found.get(&name.to_ascii_lowercase()) else {
            return;
        };
        if let Some(meaning) = rewrite(sql.as_str(), words) {
            *sql = sql.clone().keyed_as(&meaning);
        }
    };
    for v in &mut schema.views {
        fix(&v.name.to_string(), &mut v.select);
    }
    for t in &mut schema.triggers {
        fix(&t.name.to_string(), &mut t.sql);
    }
}

/// `text` (a view's SELECT or a trigger's CREATE, the tail of the CREATE text SQLite keeps)
/// with the double-quoted words `words` says are strings written as strings: its words are
/// the last ones of `words`, in order.
fn rewrite(text: &str, words: &[(String, bool)]) -> Option<String> {
    let tokens = lex(text).ok()?;
    let mine: Vec<&Tok> = tokens.iter().filter(|t| is_double_quoted(t)).collect();
    let skip = words.len().checked_sub(mine.len())?;
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (tok, (word, string)) in mine.iter().zip(&words[skip..]) {
        if tok.word() != Some(word.as_str()) {
            return None;
        }
        if *string {
            out.push_str(text.get(at..tok.start)?);
            out.push_str(&quote_literal(word));
            at = tok.end;
        }
    }
    out.push_str(text.get(at..)?);
    Some(out)
}

/// `names` with everything they mention, transitively (a trigger with its table), so that
/// SQLite can resolve them.
fn closure(schema: &Schema, mut names: BTreeSet<String>) -> BTreeSet<String> {
    let lower = |s: &str| s.to_ascii_lowercase();
    let objects: BTreeSet<String> = crate::normal::part::relation_names(schema);
    let texts: Vec<(String, Option<String>, &str)> = crate::normal::part::texts(schema).collect();
    loop {
        let before = names.len();
        for (name, on, text) in &texts {
            if !names.contains(name) {
                continue;
            }
            names.extend(on.iter().cloned());
            match lex(text) {
                Ok(tokens) => names.extend(
                    tokens
                        .iter()
                        .filter_map(|t| t.word().map(lower))
                        .filter(|w| objects.contains(w)),
                ),
                Err(_) => names.extend(objects.iter().cloned()),
            }
        }
        if names.len() == before {
            return names;
        }
    }
}

/// The lint's findings for the double-quoted string literals of the views and triggers that
/// `changes` turn into column names (an added or renamed column takes the literal's name):
/// a view or trigger of the desired schema whose text reads as the current one only if one
/// of its double-quoted words that SQLite now reads as a column were the string it was (the
/// current text may be that `"x"`, or SQLite's rewrite of it, `'x'`). Such an object keeps
/// its text, and silently reads the column instead of the string. Asked of SQLite on both
/// schemas; nothing when either cannot be asked.
pub fn lint(current: &Schema, desired: &Schema, changes: &[Change]) -> Vec<Finding> {
    let relevant = changes
        .iter()
        .any(|c| matches!(c, Change::ModifyTable(_) | Change::RenameTable { .. }));
    if !relevant {
        return Vec::new();
    }
    let mut out = sites::lint(current, desired, changes);
    out.extend(views_lint(current, desired));
    out
}

/// [`lint`] for the views and triggers.
fn views_lint(current: &Schema, desired: &Schema) -> Vec<Finding> {
    if candidates(desired).is_empty() {
        return Vec::new();
    }
    let (Some(before), Some(after)) = (probe(current), probe(desired)) else {
        return Vec::new();
    };
    // (kind, name, text in the current schema, text in the desired one)
    let objects = current
        .views
        .iter()
        .filter_map(|v| {
            let to = desired
                .views
                .iter()
                .find(|d| d.name.eq_ignore_ascii_case(&v.name))?;
            Some(("view", &v.name, v.select.as_str(), to.select.as_str()))
        })
        .chain(current.triggers.iter().filter_map(|t| {
            let to = desired
                .triggers
                .iter()
                .find(|d| d.name.eq_ignore_ascii_case(&t.name))?;
            Some(("trigger", &t.name, t.sql.as_str(), to.sql.as_str()))
        }));
    let mut out = Vec::new();
    for (kind, name, from, to) in objects {
        let lower = name.to_ascii_lowercase();
        let was = meaning(from, before.get(&lower));
        for literal in captured(to, after.get(&lower), &was) {
            let table = column_table(desired, &literal, to).unwrap_or_default();
            out.push(Finding {
                table: table.clone(),
                kind: FindingKind::QuotedString,
                message: format!(
                    "{kind} {} uses {} as a string (a legacy double-quoted string literal), and \
                     after this change SQLite reads it as the column {}.{}: the {kind} silently \
                     reads the column instead; write the literal in single quotes ({}) in the \
                     {kind}'s definition, or pass --ignore-lint to take the new meaning",
                    ident(name),
                    quote_ident(&literal),
                    ident(&table),
                    ident(&literal),
                    quote_literal(&literal),
                ),
                count: 0,
                samples: Vec::new(),
            });
        }
    }
    out
}

/// `text` with the double-quoted words SQLite reads as strings (`words`, from [`probe`])
/// written as strings.
fn meaning(text: &str, words: Option<&Vec<(String, bool)>>) -> String {
    words
        .and_then(|w| rewrite(text, w))
        .unwrap_or_else(|| text.to_string())
}

/// The double-quoted words of `text` that SQLite reads as columns (`words` says which it
/// reads as strings) where `was` (the current text, its strings written as strings) has
/// that word as a string, when reading them all as strings gives `was`: each such word once.
fn captured(text: &str, words: Option<&Vec<(String, bool)>>, was: &str) -> Vec<String> {
    let (Ok(tokens), Ok(old)) = (lex(text), lex(was)) else {
        return Vec::new();
    };
    if tokens.len() != old.len() {
        return Vec::new();
    }
    let dq = tokens.iter().filter(|t| is_double_quoted(t)).count();
    // SQLite's flags for the words of `text`: the last ones of `words`.
    let mut as_string: Vec<(String, bool)> = match words {
        Some(w) if w.len() >= dq => w[w.len() - dq..].to_vec(),
        Some(_) => return Vec::new(),
        None => tokens
            .iter()
            .filter(|t| is_double_quoted(t))
            .filter_map(|t| t.word().map(|w| (w.to_string(), false)))
            .collect(),
    };
    let mut out: Vec<String> = Vec::new();
    let mine = tokens.iter().zip(&old).filter(|(t, _)| is_double_quoted(t));
    for ((new, old), (word, string)) in mine.zip(as_string.iter_mut()) {
        let was_string = matches!(&old.token, Token::SingleQuotedString(v) if v == word);
        if !*string && was_string && new.word() == Some(word.as_str()) {
            *string = true;
            if !out.contains(word) {
                out.push(word.clone());
            }
        }
    }
    let same = rewrite(text, &as_string)
        .is_some_and(|t| crate::sql::canonical(&t) == crate::sql::canonical(was));
    if same { out } else { Vec::new() }
}

/// The table of `desired` with a column named `column` that `text` mentions.
fn column_table(desired: &Schema, column: &str, text: &str) -> Option<String> {
    desired
        .tables
        .iter()
        .filter(|t| {
            t.columns
                .iter()
                .any(|c| c.name.eq_ignore_ascii_case(column))
        })
        .find(|t| crate::sql::mentions(text, &t.name))
        .map(|t| t.name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(ddl: &str) -> Schema {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch(ddl).unwrap();
        crate::inspect(&conn).unwrap()
    }

    #[test]
    fn statements_that_requote() {
        for sql in [
            "ALTER TABLE t DROP COLUMN w",
            "ALTER TABLE \"t\" DROP \"w\"",
            "ALTER TABLE t RENAME COLUMN a TO b",
            "ALTER TABLE t RENAME a TO b",
            "CREATE TABLE x (a); ALTER TABLE main.t DROP w;",
        ] {
            assert!(requotes(sql), "{sql}");
        }
        for sql in [
            "ALTER TABLE t RENAME TO u",
            "ALTER TABLE t ADD COLUMN w",
            "ALTER TABLE t DROP CONSTRAINT c",
            "ALTER TABLE t ALTER COLUMN a DROP NOT NULL",
            "DROP TABLE t",
            "CREATE VIEW v AS SELECT 1; DROP VIEW v",
        ] {
            assert!(!requotes(sql), "{sql}");
        }
    }

    #[test]
    fn literals_are_what_sqlite_requotes() {
        let s = schema(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, x TEXT); CREATE TABLE u (a);
             CREATE VIEW vx AS SELECT \"id\" FROM t WHERE v <> \"x\" AND v <> \"y\";
             CREATE VIEW plain AS SELECT \"v\" FROM t;
             CREATE TRIGGER tr AFTER UPDATE ON u WHEN new.a = \"log\" BEGIN SELECT 1; END;",
        );
        let found = literals(&s).unwrap();
        assert_eq!(
            found,
            BTreeMap::from([
                ("vx".to_string(), vec!["y".to_string()]),
                ("tr".to_string(), vec!["log".to_string()]),
            ])
        );
        assert_eq!(candidates(&s).len(), 3);
        assert_eq!(rewritten(&s), found.into_keys().collect());
    }

    /// SQLite's quote fix as the comparison rule: `"x"` read as a string is `'x'`; `"v"` read
    /// as a column is not `'v'`, and a string is never an identifier.
    #[test]
    fn settled_texts_compare_as_sqlite_reads_them() {
        let base = "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); CREATE TABLE log (m TEXT);";
        let view = |w: &str| {
            schema(&format!(
                "{base} CREATE VIEW vx AS SELECT id FROM t WHERE v <> {w};
                 CREATE TRIGGER tr AFTER UPDATE ON t WHEN new.v = {w} BEGIN INSERT INTO log VALUES ({w}); END;"
            ))
        };
        assert_eq!(view("\"x\""), view("'x'"));
        assert_eq!(
            view("\"x\"").views[0].select.as_str(),
            "SELECT id FROM t WHERE v <> \"x\""
        );
        assert_ne!(view("\"v\"").views, view("'v'").views);
        assert_ne!(view("\"x\""), view("'y'"));
        let both = |w: &str| {
            schema(&format!(
                "{base} CREATE VIEW vx AS SELECT id FROM t WHERE v <> \"v\" AND v <> {w};"
            ))
        };
        assert_eq!(both("\"x\""), both("'x'"));
        assert_ne!(both("\"x\""), both("\"id\""));
    }
}
