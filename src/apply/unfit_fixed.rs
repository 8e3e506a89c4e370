//! The tables whose rows a run of migrations writes before it brings in a rule on them: the
//! pre-check of [`super::unfit`] judges the live rows, which such a run changes first (the
//! textbook `UPDATE` that de-duplicates, then `CREATE UNIQUE INDEX`), so it leaves those
//! tables to the rehearsal, which runs the statements in order on a copy and names the rows
//! when SQLite stops on a constraint.
//!
//! A table counts as written when a statement writes into it (`INSERT`, `UPDATE`, `DELETE`,
//! `REPLACE`, a `WITH` prefix included, or `DROP TABLE`), or when a trigger or a foreign key
//! action fired by such a write may write into it; renames carry the mark to the new name and
//! back. A NOT NULL, CHECK or UNIQUE finding is left out when a later `CREATE TABLE`, `CREATE
//! INDEX` or `ALTER TABLE` names a written table (the statement that brings the rule in comes
//! after the write); a foreign key
//! finding when its table, or a parent it references, is written anywhere in the run (the
//! run's `foreign_key_check` comes last). Text that cannot be read counts as writing
//! everything. Over-counting only moves a refusal from before the backup to the rehearsal.

use std::collections::HashSet;

use crate::lint::{Finding, FindingKind};
use crate::model::{FkAction, Schema};
use crate::sql::{Tok, lex};

/// What the run writes before its rules, as far as the pre-check is concerned.
#[derive(Debug, Default)]
pub(super) struct Written {
    /// The text could not be read: every table may be written.
    all: bool,
    /// Tables written anywhere in the run (lower case, each name a rename gave them).
    anywhere: HashSet<String>,
    /// Tables written and then named by a later statement (lower case).
    before_rule: HashSet<String>,
}

impl Written {
    /// Whether the pre-check leaves `finding` to the rehearsal.
    pub(super) fn leaves(&self, finding: &Finding, current: &Schema, expected: &Schema) -> bool {
        if self.all {
            return true;
        }
        let table = finding.table.to_ascii_lowercase();
        if finding.kind != FindingKind::ForeignKey {
            return self.before_rule.contains(&table);
        }
        if self.anywhere.contains(&table) {
            return true;
        }
        [current, expected]
            .iter()
            .filter_map(|s| s.table(&finding.table))
            .flat_map(|t| &t.foreign_keys)
            .any(|fk| self.anywhere.contains(&fk.ref_table.to_ascii_lowercase()))
    }
}

/// The tables `sql` (the run's migrations, in order) writes, on the schemas it runs between.
pub(super) fn written(current: &Schema, expected: &Schema, sql: &[&str]) -> Written {
    let mut out = Written::default();
    let mut edges = Edges::new(current, expected);
    let mut renames: Vec<(String, String)> = Vec::new();
    for text in sql {
        for statement in crate::migrations::statements::texts(text) {
            let Ok(tokens) = lex(statement) else {
                out.all = true;
                return out;
            };
            if tokens.first().is_some_and(|t| t.is_kw("CREATE")) {
                let _ = edges.trigger(&tokens);
            }
            if let Some(pair) = copy(&tokens) {
                // A rebuild's copy: the new table holds the old one's rows as they are.
                renames.push(pair);
                spread(&mut out.anywhere, &renames);
                continue;
            }
            let target = if crate::migrations::statements::writes_rows(statement) {
                match write_target(&tokens) {
                    Some(t) => Some(t),
                    None => {
                        out.all = true;
                        return out;
                    }
                }
            } else if tokens.first().is_some_and(|t| t.is_kw("DROP"))
                && tokens.get(1).is_some_and(|t| t.is_kw("TABLE"))
            {
                // Its rows go, and a foreign key action may write its children's.
                if let Some(t) = last_name(&tokens[2..]) {
                    for c in edges.closure(&t).into_iter().filter(|c| *c != t) {
                        out.anywhere.insert(c);
                    }
                }
                None
            } else {
                None
            };
            match target {
                Some(t) => {
                    for t in edges.closure(&t) {
                        out.anywhere.insert(t);
                    }
                }
                None => {
                    if let Some(pair) = rename(&tokens) {
                        renames.push(pair);
                        spread(&mut out.anywhere, &renames);
                    }
                    // A CREATE TABLE, CREATE INDEX or ALTER TABLE that names a written
                    // table may bring in its rule.
                    if !brings_rules(&tokens) {
                        continue;
                    }
                    for w in tokens.iter().filter_map(Tok::word) {
                        let w = w.to_ascii_lowercase();
                        if out.anywhere.contains(&w) {
                            out.before_rule.insert(w);
                        }
                    }
                }
            }
        }
    }
    spread(&mut out.anywhere, &renames);
    spread(&mut out.before_rule, &renames);
    out
}

/// The triggers `sql` creates, as (the table or view each is on, its statement): a write
/// the migrations make may fire one the database does not hold yet.
pub(super) fn created_triggers(sql: &[&str]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for text in sql {
        for statement in crate::migrations::statements::texts(text) {
            let Ok(tokens) = lex(statement) else { continue };
            if !tokens.first().is_some_and(|t| t.is_kw("CREATE")) {
                continue;
            }
            let mut edges = Edges { pairs: Vec::new() };
            if let Some(table) = edges.trigger(&tokens) {
                out.push((table, statement.to_string()));
            }
        }
    }
    out
}

/// The tables (lower case) the body of the `CREATE TRIGGER` statement `statement` writes:
/// the target of each `INSERT`, `REPLACE`, `UPDATE` and `DELETE` in it (none when it does not
/// lex: SQLite then cannot run it either, and the migrations that hold it fail).
pub(super) fn trigger_writes(statement: &str) -> Vec<String> {
    let Ok(tokens) = lex(statement) else {
        return Vec::new();
    };
    let mut edges = Edges { pairs: Vec::new() };
    edges.trigger(&tokens);
    edges.pairs.into_iter().map(|(_, to)| to).collect()
}

/// Whether a statement that writes no rows may bring in a rule: `ALTER TABLE`, or a `CREATE`
/// of a table or an index.
fn brings_rules(tokens: &[Tok]) -> bool {
    let Some(first) = tokens.first() else {
        return false;
    };
    if first.is_kw("ALTER") {
        return true;
    }
    first.is_kw("CREATE")
        && tokens
            .iter()
            .skip(1)
            .take(3)
            .any(|t| t.is_kw("TABLE") || t.is_kw("INDEX"))
}

/// Adds to `set` every name a rename of `renames` ties to one in it.
fn spread(set: &mut HashSet<String>, renames: &[(String, String)]) {
    loop {
        let before = set.len();
        for (a, b) in renames {
            if set.contains(a) || set.contains(b) {
                set.insert(a.clone());
                set.insert(b.clone());
            }
        }
        if set.len() == before {
            return;
        }
    }
}

/// `INSERT [OR ...] INTO new [(columns)] SELECT c, ... FROM old`, each selected item a bare
/// column, nothing after the table (a rebuild's copy, as `plan` writes it): (old, new), lower
/// case. Anything else that writes may change the rows.
fn copy(tokens: &[Tok]) -> Option<(String, String)> {
    use sqlparser::tokenizer::Token;
    if !tokens.first()?.is_kw("INSERT") {
        return None;
    }
    let new = target_at(tokens, 0)?;
    let select = tokens.iter().position(|t| t.is_kw("SELECT"))?;
    let from = tokens.iter().position(|t| t.is_kw("FROM"))?;
    if from < select {
        return None;
    }
    let items = &tokens[select + 1..from];
    let bare = items.iter().enumerate().all(|(i, t)| {
        if i % 2 == 0 {
            t.word().is_some() && !t.is_kw("DISTINCT") && !t.is_kw("ALL")
        } else {
            t.token == Token::Comma
        }
    });
    let rest = &tokens[from + 1..];
    let table_only = match rest.len() {
        1 => true,
        3 => rest[1].token == Token::Period,
        _ => false,
    };
    if !(bare && items.len() % 2 == 1 && table_only) {
        return None;
    }
    Some((last_name(rest)?, new))
}

/// `ALTER TABLE a RENAME TO b`: (a, b), lower case.
fn rename(tokens: &[Tok]) -> Option<(String, String)> {
    if !(tokens.first()?.is_kw("ALTER") && tokens.get(1)?.is_kw("TABLE")) {
        return None;
    }
    let to = tokens.iter().position(|t| t.is_kw("RENAME"))?;
    if !tokens.get(to + 1)?.is_kw("TO") {
        return None;
    }
    let from = last_name(&tokens[2..to])?;
    let new = last_name(&tokens[to + 2..])?;
    Some((from, new))
}

/// The table a `[schema.]name` at the start of `tokens` names, lower case.
fn last_name(tokens: &[Tok]) -> Option<String> {
    let mut i = 0;
    while tokens
        .get(i)
        .is_some_and(|t| t.is_kw("IF") || t.is_kw("EXISTS"))
    {
        i += 1;
    }
    let first = tokens.get(i)?.name()?;
    let name = match (tokens.get(i + 1), tokens.get(i + 2)) {
        (Some(dot), Some(second)) if dot.token == sqlparser::tokenizer::Token::Period => {
            second.name()?
        }
        _ => first,
    };
    Some(name.to_ascii_lowercase())
}

/// The table one writing statement writes into (after a `WITH` prefix, its verb at depth 0).
fn write_target(tokens: &[Tok]) -> Option<String> {
    let mut depth = 0i32;
    let verb = tokens.iter().position(|t| {
        match t.token {
            sqlparser::tokenizer::Token::LParen => depth += 1,
            sqlparser::tokenizer::Token::RParen => depth -= 1,
            _ => {
                return depth == 0
                    && ["INSERT", "REPLACE", "UPDATE", "DELETE"]
                        .iter()
                        .any(|k| t.is_kw(k));
            }
        }
        false
    })?;
    target_at(tokens, verb)
}

/// The table the write whose verb is `tokens[verb]` names.
fn target_at(tokens: &[Tok], verb: usize) -> Option<String> {
    let mut i = verb + 1;
    if tokens.get(i).is_some_and(|t| t.is_kw("OR")) {
        i += 2;
    }
    if tokens
        .get(i)
        .is_some_and(|t| t.is_kw("INTO") || t.is_kw("FROM"))
    {
        i += 1;
    }
    last_name(tokens.get(i..)?)
}

/// Who writes where when a table is written: triggers (by the table they are on) and
/// foreign key actions (parent to child).
struct Edges {
    /// (from, to), lower case.
    pairs: Vec<(String, String)>,
}

impl Edges {
    fn new(current: &Schema, expected: &Schema) -> Self {
        let mut edges = Edges { pairs: Vec::new() };
        for schema in [current, expected] {
            for trigger in &schema.triggers {
                if let Ok(tokens) = lex(trigger.sql.as_str()) {
                    let _ = edges.trigger(&tokens);
                }
            }
            for table in &schema.tables {
                for fk in &table.foreign_keys {
                    let acts = |a: &FkAction| !matches!(a, FkAction::NoAction | FkAction::Restrict);
                    if acts(&fk.on_delete) || acts(&fk.on_update) {
                        edges.pairs.push((
                            fk.ref_table.to_ascii_lowercase(),
                            table.name.to_ascii_lowercase(),
                        ));
                    }
                }
            }
        }
        edges
    }

    /// Adds a `CREATE TRIGGER`'s edges: from its table to every table its body writes.
    /// Returns the table (None when `tokens` are no trigger).
    fn trigger(&mut self, tokens: &[Tok]) -> Option<String> {
        if !tokens.iter().take(4).any(|t| t.is_kw("TRIGGER")) {
            return None;
        }
        let begin = tokens.iter().position(|t| t.is_kw("BEGIN"))?;
        let on = tokens[..begin].iter().rposition(|t| t.is_kw("ON"))?;
        let table = last_name(&tokens[on + 1..begin])?;
        for i in begin + 1..tokens.len() {
            let t = &tokens[i];
            if ["INSERT", "REPLACE", "UPDATE", "DELETE"]
                .iter()
                .any(|k| t.is_kw(k))
                && let Some(to) = target_at(tokens, i)
            {
                self.pairs.push((table.clone(), to));
            }
        }
        Some(table)
    }

    /// `table` and every table a write into it may write, lower case.
    fn closure(&self, table: &str) -> HashSet<String> {
        let mut out = HashSet::from([table.to_ascii_lowercase()]);
        loop {
            let before = out.len();
            for (from, to) in &self.pairs {
                if out.contains(from) {
                    out.insert(to.clone());
                }
            }
            if out.len() == before {
                return out;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn before_rule(sql: &[&str]) -> Vec<String> {
        let w = written(&Schema::default(), &Schema::default(), sql);
        assert!(!w.all, "{sql:?}");
        let mut out: Vec<String> = w.before_rule.into_iter().collect();
        out.sort();
        out
    }

    #[test]
    fn a_write_counts_only_before_a_statement_that_may_bring_a_rule() {
        // The fix, then the rule: in one file or two.
        assert_eq!(
            before_rule(&["UPDATE t SET a = 1; CREATE UNIQUE INDEX i ON t(a);"]),
            ["t"]
        );
        assert_eq!(
            before_rule(&["DELETE FROM main.\"T\";", "CREATE UNIQUE INDEX i ON t(a);"]),
            ["t"]
        );
        // The rule, then the write: SQLite stops on the rule first.
        assert!(before_rule(&["CREATE UNIQUE INDEX i ON t(a); UPDATE t SET a = 1;"]).is_empty());
        // A trigger or a view naming the table brings no rule.
        assert!(
            before_rule(&[
                "UPDATE t SET a = 1; CREATE TRIGGER g AFTER INSERT ON u BEGIN DELETE FROM t; END;"
            ])
            .is_empty()
        );
        // A rebuild's plain copy writes nothing new; a copy that computes does.
        let rebuild = |copy: &str| {
            format!("CREATE TABLE n (a NOT NULL); {copy}; DROP TABLE t; ALTER TABLE n RENAME TO t;")
        };
        assert!(before_rule(&[&rebuild("INSERT INTO n (a) SELECT a FROM t")]).is_empty());
        assert_eq!(
            before_rule(&[&rebuild("INSERT INTO n (a) SELECT coalesce(a, 0) FROM t")]),
            ["n", "t"]
        );
        // Through a trigger the migration creates, on a table it writes.
        assert_eq!(
            before_rule(&[
                "CREATE TRIGGER g AFTER INSERT ON log BEGIN UPDATE t SET a = 0; END; INSERT INTO log VALUES (1); ALTER TABLE t ADD b;"
            ]),
            ["t"]
        );
    }
}
