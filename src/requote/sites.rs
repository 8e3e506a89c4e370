//! SQLite's quote fix in the expressions a table keeps: its CHECK constraints (table and
//! column), its generated columns, and its indexes' WHERE clauses and key expressions.
//!
//! SQLite resolves a double-quoted word of these expressions against the table's own
//! columns, and reads it as a string when no column has its name (alter.c,
//! `renameQuotefixFunc`, walks `pCheck`, every column's expression and an index's
//! `aColExpr` and `pPartIdxWhere`). So the same text changes meaning when a column of that
//! name comes or goes, and a native `DROP COLUMN` or `RENAME COLUMN` anywhere rewrites it as
//! `'x'`. (A DEFAULT cannot: SQLite refuses a column name there, and its `DEFAULT "x"` is a
//! string it never rewrites.) Which words are strings is asked of SQLite as for views and
//! triggers ([`super`]): the tables that may hold one are created in memory, read back before
//! and after a throwaway column drop, and each expression is compared token by token.

use std::collections::{BTreeMap, BTreeSet};

use crate::diff::Change;
use crate::lint::{Finding, FindingKind};
use crate::model::{Schema, Table};
use sqlparser::tokenizer::Token;

use crate::sql::{Sql, Tok, canonical, ident, lex, quote_ident, quote_literal};

use super::{PROBE, Words, captured, is_double_quoted, meaning, rewrite};

/// Where in a table an expression sits. A CHECK is known by its text (canonical, as written,
/// never by a settled key), the rest by the column or index it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Part {
    /// A CHECK constraint, of the table or of a column.
    Check(String),
    /// A generated column's expression (the column's lowercase name).
    Generated(String),
    /// An index's WHERE clause (the index's lowercase name).
    Where(String),
    /// An index's key expression (the index's lowercase name and the key's position).
    Key(String, usize),
}

/// One expression of a table: where it sits, a description for messages, its text.
struct Site<'a> {
    part: Part,
    what: String,
    sql: &'a Sql,
}

/// Every expression of `t` that may hold a double-quoted string, in the table's order.
fn of_table(t: &Table) -> Vec<Site<'_>> {
    let lower = |s: &str| s.to_ascii_lowercase();
    let mut out = Vec::new();
    let checks = t
        .checks
        .iter()
        .chain(t.columns.iter().flat_map(|c| c.checks.iter()));
    for c in checks {
        let what = match &c.name {
            Some(n) => format!("CHECK constraint {} of table {}", ident(n), ident(&t.name)),
            None => format!("a CHECK constraint of table {}", ident(&t.name)),
        };
        out.push(Site {
            part: Part::Check(canonical(c.expr.as_str())),
            what,
            sql: &c.expr,
        });
    }
    for c in &t.columns {
        if let Some(g) = &c.generated {
            out.push(Site {
                part: Part::Generated(lower(&c.name)),
                what: format!("generated column {}.{}", ident(&t.name), ident(&c.name)),
                sql: &g.expr,
            });
        }
    }
    for ix in &t.indexes {
        if let Some(w) = &ix.where_clause {
            out.push(Site {
                part: Part::Where(lower(&ix.name)),
                what: format!("the WHERE clause of index {}", ident(&ix.name)),
                sql: w,
            });
        }
        for (i, k) in ix.columns.iter().enumerate().filter(|(_, k)| k.is_expr) {
            out.push(Site {
                part: Part::Key(lower(&ix.name), i),
                what: format!("an expression of index {}", ident(&ix.name)),
                sql: &k.expr,
            });
        }
    }
    out
}

/// Calls `f` on every expression of `t` that [`of_table`] lists, mutably.
fn each_mut(t: &mut Table, mut f: impl FnMut(&Part, &mut Sql)) {
    let lower = |s: &str| s.to_ascii_lowercase();
    let checks = t
        .checks
        .iter_mut()
        .chain(t.columns.iter_mut().flat_map(|c| c.checks.iter_mut()));
    for c in checks {
        let part = Part::Check(canonical(c.expr.as_str()));
        f(&part, &mut c.expr);
    }
    for c in &mut t.columns {
        if let Some(g) = &mut c.generated {
            f(&Part::Generated(lower(&c.name)), &mut g.expr);
        }
    }
    for ix in &mut t.indexes {
        let name = lower(&ix.name);
        if let Some(w) = &mut ix.where_clause {
            f(&Part::Where(name.clone()), w);
        }
        for (i, k) in ix.columns.iter_mut().enumerate().filter(|(_, k)| k.is_expr) {
            f(&Part::Key(name.clone(), i), &mut k.expr);
        }
    }
}

/// Returns true when `text`, an expression of `t`, has a double-quoted word that is none of
/// `t`'s columns: one SQLite may read as a string (a column of the table always wins). Text
/// that does not lex counts.
fn may_hold_string(t: &Table, text: &str) -> bool {
    if !text.contains('"') {
        return false;
    }
    lex(text).map_or(true, |tokens| {
        tokens
            .iter()
            .filter(|tok| is_double_quoted(tok))
            .any(|tok| {
                tok.word()
                    .is_some_and(|w| !t.columns.iter().any(|c| c.name.eq_ignore_ascii_case(w)))
            })
    })
}

/// The lowercase names of the tables of `schema` with an expression that may hold a string.
fn candidates(schema: &Schema) -> BTreeSet<String> {
    schema
        .tables
        .iter()
        .filter(|t| {
            of_table(t)
                .iter()
                .any(|s| may_hold_string(t, s.sql.as_str()))
        })
        .map(|t| t.name.to_ascii_lowercase())
        .collect()
}

/// The double-quoted words of each table expression of `schema` that holds a string, by
/// the table's lowercase name and the expression's place, with whether SQLite reads each as
/// a string; only the expressions that hold one are listed. None when SQLite cannot be
/// asked (the tables cannot be created in memory, or its rewrite is not token for token).
pub(super) fn probe(schema: &Schema) -> Option<BTreeMap<(String, Part), Words>> {
    let names = candidates(schema);
    if names.is_empty() {
        return Some(BTreeMap::new());
    }
    let part = crate::normal::part::within(schema, &names);
    let part = Schema {
        views: Vec::new(),
        triggers: Vec::new(),
        virtual_tables: Vec::new(),
        ..part
    };
    let conn = crate::normal::create_in_memory(&part).ok()?;
    let before = crate::inspect::unsettled(&conn).ok()?;
    conn.execute_batch(&format!(
        "CREATE TABLE \"{PROBE}\" (a, b); ALTER TABLE \"{PROBE}\" DROP COLUMN b;"
    ))
    .ok()?;
    let after = crate::inspect::unsettled(&conn).ok()?;
    let mut out = BTreeMap::new();
    for old in &before.tables {
        let new = after.table(&old.name)?;
        let new_sites = of_table(new);
        // By what SQLite changed, not by position: a table's CHECKs are read back in their
        // texts' order, which the rewrite may change.
        for o in of_table(old) {
            if new_sites.iter().any(|n| n.sql.as_str() == o.sql.as_str()) {
                continue;
            }
            let old_tokens = lex(o.sql.as_str()).ok()?;
            let words = new_sites
                .iter()
                .filter(|n| same_place(&o.part, &n.part))
                .find_map(|n| rewritten_from(&old_tokens, &lex(n.sql.as_str()).ok()?))?;
            out.insert((old.name.to_ascii_lowercase(), o.part.clone()), words);
        }
    }
    Some(out)
}

/// The double-quoted words of `old`, with whether each became a string, when `new` is
/// `old` with some of them rewritten as single-quoted strings of the same value and nothing
/// else changed, and at least one was.
fn rewritten_from(old: &[Tok], new: &[Tok]) -> Option<Words> {
    if old.len() != new.len() {
        return None;
    }
    let mut words = Words::new();
    for (o, n) in old.iter().zip(new) {
        match (&o.token, &n.token) {
            (Token::Word(w), Token::SingleQuotedString(v))
                if is_double_quoted(o) && *v == w.value =>
            {
                words.push((w.value.clone(), true));
            }
            (a, b) if a != b => return None,
            (Token::Word(w), _) if is_double_quoted(o) => words.push((w.value.clone(), false)),
            _ => {}
        }
    }
    words.iter().any(|(_, s)| *s).then_some(words)
}

/// Gives every table expression of `schema` that holds a double-quoted string literal the
/// comparison key of its text as SQLite's quote fix rewrites it (see [`super::settle`]).
pub(super) fn settle(schema: &mut Schema) {
    let Some(found) = probe(schema) else {
        return;
    };
    if found.is_empty() {
        return;
    }
    for t in &mut schema.tables {
        let table = t.name.to_ascii_lowercase();
        each_mut(t, |part, sql| {
            let Some(words) = found.get(&(table.clone(), part.clone())) else {
                return;
            };
            if let Some(meaning) = rewrite(sql.as_str(), words) {
                *sql = sql.clone().keyed_as(&meaning);
            }
        });
    }
}

/// Returns true when a current expression at `from` may be the desired one at `to`: any two
/// CHECKs of the table, otherwise the same place.
fn same_place(from: &Part, to: &Part) -> bool {
    matches!((from, to), (Part::Check(_), Part::Check(_))) || from == to
}

/// The lint's findings for the double-quoted string literals of the table expressions that
/// `changes` turn into column references (an added or renamed column takes the literal's
/// name): a desired expression that reads as a current one of its table only if a word
/// SQLite now reads as a column were the string it was. Nothing when SQLite cannot be asked.
pub(super) fn lint(current: &Schema, desired: &Schema, changes: &[Change]) -> Vec<Finding> {
    let Some(before) = probe(current) else {
        return Vec::new();
    };
    if before.is_empty() {
        return Vec::new();
    }
    let Some(after) = probe(desired) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for to in &desired.tables {
        let from_name = changes
            .iter()
            .find_map(|c| match c {
                Change::RenameTable { from, to: renamed } if to.name == renamed.as_str() => {
                    Some(from.to_string())
                }
                _ => None,
            })
            .unwrap_or_else(|| to.name.to_string());
        let Some(from) = current.table(&from_name) else {
            continue;
        };
        let (from_key, to_key) = (from.name.to_ascii_lowercase(), to.name.to_ascii_lowercase());
        let from_sites = of_table(from);
        for site in of_table(to) {
            let words = after.get(&(to_key.clone(), site.part.clone()));
            let found = from_sites
                .iter()
                .filter(|f| same_place(&f.part, &site.part))
                .filter_map(|f| {
                    let strings = before.get(&(from_key.clone(), f.part.clone()))?;
                    let was = meaning(f.sql.as_str(), Some(strings));
                    Some(captured(site.sql.as_str(), words, &was))
                })
                .find(|found| !found.is_empty());
            for literal in found.unwrap_or_default() {
                out.push(Finding {
                    table: from.name.to_string(),
                    kind: FindingKind::QuotedString,
                    message: format!(
                        "{} uses {} as a string (a legacy double-quoted string literal), and \
                         after this change SQLite reads it as the column {}.{}: the expression \
                         silently reads the column instead; write the literal in single quotes \
                         ({}) there, or pass --ignore-lint to take the new meaning",
                        site.what,
                        quote_ident(&literal),
                        ident(&to.name),
                        ident(&literal),
                        quote_literal(&literal),
                    ),
                    count: 0,
                    samples: Vec::new(),
                });
            }
        }
    }
    out
}
