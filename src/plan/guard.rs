//! The guards of a plain script (`plan --format sql`): what makes it all-or-nothing when the
//! runner goes on after an error (`sqlite3` without `-bail`, `.read`, GUI tools).
//!
//! SQLite undoes a failing statement and goes on with the transaction, and the only SQL that
//! can undo a whole transaction from inside it is a constraint failure under `OR ROLLBACK`.
//! So after every statement the script inserts into a TEMP guard table, created before
//! `BEGIN` (a rollback keeps it), a row saying whether the statement did what it should; its
//! CHECK fails and rolls everything back when not. Each guard reads only what always exists
//! (the guard table, `pragma_schema_version`, `sqlite_temp_master`, and tables the statements
//! before it made and guarded), so that it prepares whatever failed before it: a guard that
//! cannot be prepared guards nothing.
//! - A schema statement (CREATE, DROP, ALTER) ran exactly when it changed the schema: the
//!   schema version is above the one the guard before it saw (a statement that fails changes
//!   nothing, whatever the cause: a missing function or collation, a name already taken).
//! - A rebuild's copy kept every row: the new table, which the guarded CREATE before it made
//!   empty, holds as many rows as the old one.
//! - The `sqlite_sequence` moves: the new table's counter is gone, then equal to the old one's.
//!
//! After a rollback the runner would run the rest one statement at a time, each committed: a
//! `SAVEPOINT` after every guard opens a transaction again (inside one it only nests), and the
//! last guard, which finds the marker table made inside the script's transaction gone, rolls
//! that one back too; `COMMIT` then fails, and nothing the script did stays.

use std::fmt::Write;

use crate::sql::{ident, lex, quote_literal};

/// The guard table (TEMP, made before `BEGIN`): one row per guard that held.
pub(super) const GUARD: &str = "_schemactl_guard";

/// The marker table (TEMP, made inside the script's transaction): gone once a guard rolled
/// the transaction back.
pub(super) const BEGUN: &str = "_schemactl_begun";

/// Writes what comes before `BEGIN`: the guard table, made afresh.
pub(super) fn before_begin(s: &mut String) {
    s.push_str(
        "-- Without -bail, a guard after every statement rolls the whole script back when the\n-- statement failed (see README, \"plan --format sql\")\n",
    );
    let _ = writeln!(s, "DROP TABLE IF EXISTS temp.{GUARD};");
    let _ = writeln!(
        s,
        "CREATE TEMP TABLE {GUARD} (ok INTEGER CONSTRAINT {} CHECK (ok IS 1), version INTEGER);",
        ident("schemactl: a statement of the script failed; nothing of it is kept")
    );
}

/// Writes what comes right after `BEGIN`: a `SAVEPOINT` (it only nests; but when `BEGIN
/// IMMEDIATE` failed, for another connection writing, it opens the transaction that the
/// marker lives in, so that what follows is still guarded), the marker, and the first schema
/// version.
pub(super) fn after_begin(s: &mut String) {
    let _ = writeln!(s, "SAVEPOINT {GUARD};");
    let _ = writeln!(
        s,
        "-- made in this transaction: the last guard finds it gone when a guard rolled it back"
    );
    let _ = writeln!(s, "CREATE TEMP TABLE {BEGUN} (x);");
    let _ = writeln!(
        s,
        "INSERT INTO temp.{GUARD} SELECT 1, schema_version FROM pragma_schema_version;"
    );
}

/// Writes the guard of `statements[k]` (nothing for a setting such as `PRAGMA
/// legacy_alter_table`, which cannot fail, and whose effect the guards of the statements
/// after it check).
pub(super) fn after(s: &mut String, statements: &[String], k: usize) {
    let Some(sql) = statements.get(k) else {
        return;
    };
    let Some((what, condition)) = postcondition(statements, k, sql) else {
        return;
    };
    let _ = writeln!(s, "-- guard: {what}, or the whole script rolls back");
    write_guard(s, &condition);
    let _ = writeln!(s, "SAVEPOINT {GUARD};");
}

/// Writes the foreign-key guard over `counts` (SQL expressions of violation counts).
pub(super) fn foreign_keys(s: &mut String, counts: &[String]) {
    s.push_str(
        "\n-- guard: foreign_key_check finds no violation, or the whole script rolls back\n",
    );
    write_guard(s, &format!("{} = 0", counts.join(" + ")));
}

/// Writes the last guard: still the script's own transaction (no guard rolled it back).
pub(super) fn end(s: &mut String) {
    s.push_str(
        "\n-- guard: this is still the transaction the script began (after a guard rolled it back,\n-- the rest ran in one that rolls back here, and COMMIT fails)\n",
    );
    write_guard(
        s,
        &format!(
            "EXISTS (SELECT 1 FROM sqlite_temp_master WHERE name = {})",
            quote_literal(BEGUN)
        ),
    );
    let _ = writeln!(s, "DROP TABLE temp.{BEGUN};");
}

/// Writes what comes after `COMMIT`.
pub(super) fn after_commit(s: &mut String) {
    let _ = writeln!(s, "DROP TABLE IF EXISTS temp.{GUARD};");
}

/// One guard row: `condition`, which must not be NULL for the guard to hold.
fn write_guard(s: &mut String, condition: &str) {
    let _ = writeln!(
        s,
        "INSERT OR ROLLBACK INTO temp.{GUARD} SELECT {condition}, schema_version FROM pragma_schema_version;"
    );
}

/// What `sql` (statement `k` of `statements`) must have done, in words and as SQL; None for a
/// setting.
fn postcondition(statements: &[String], k: usize, sql: &str) -> Option<(String, String)> {
    let tokens = lex(sql).ok()?;
    let first = tokens.first()?;
    if first.is_kw("PRAGMA") {
        return None;
    }
    if ["CREATE", "DROP", "ALTER"].iter().any(|kw| first.is_kw(kw)) {
        return Some((
            "the statement changed the schema".to_string(),
            format!("schema_version > (SELECT max(version) FROM temp.{GUARD})"),
        ));
    }
    if let Some((new, old)) = rebuild_copy(statements, k) {
        return Some((
            "the copy kept every row".to_string(),
            format!("(SELECT count(*) FROM main.{new}) = (SELECT count(*) FROM main.{old})"),
        ));
    }
    let literal = |t: &crate::sql::Tok| sql.get(t.start..t.end).map(str::to_string);
    // Each token as its word, and a table named after FROM or INTO as its name in any
    // spelling SQLite reads as one (`FROM 'sqlite_sequence'`); a value is "".
    let words: Vec<String> = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let table_place = i
                .checked_sub(1)
                .and_then(|p| tokens.get(p))
                .is_some_and(|p| p.is_kw("FROM") || p.is_kw("INTO"));
            let word = if table_place { t.name() } else { t.word() };
            word.unwrap_or_default().to_ascii_lowercase()
        })
        .collect();
    let seq = "SELECT seq FROM sqlite_sequence WHERE name =";
    match words.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["delete", "from", "sqlite_sequence", "where", "name", "", ""] => {
            let name = literal(tokens.last()?)?;
            Some((
                "the counter is gone".to_string(),
                format!("NOT EXISTS ({seq} {name})"),
            ))
        }
        [
            "insert",
            "into",
            "sqlite_sequence",
            "",
            "name",
            "",
            "seq",
            "",
            "select",
            "",
            "",
            "seq",
            "from",
            "sqlite_sequence",
            "where",
            "name",
            "",
            "",
        ] => {
            let new = literal(&tokens[9])?;
            let old = literal(tokens.last()?)?;
            Some((
                "the counter is copied".to_string(),
                format!("({seq} {new}) IS ({seq} {old})"),
            ))
        }
        // No other data statement is in a plan's script; were one added, it would have no
        // guard until it gets its own postcondition here (the property tests in
        // tests/script_all_or_nothing.rs make every statement fail in turn).
        _ => None,
    }
}

/// When statement `k` of `statements` is a rebuild's copy (`INSERT OR ABORT INTO
/// _schemactl_new_*`), returns the new table and the old one (the table the rebuild drops
/// next), as SQL names.
pub(super) fn rebuild_copy(statements: &[String], k: usize) -> Option<(String, String)> {
    let tokens = lex(statements.get(k)?).ok()?;
    let head = ["INSERT", "OR", "ABORT", "INTO"];
    if tokens.len() < 5 || !head.iter().zip(&tokens).all(|(kw, t)| t.is_kw(kw)) {
        return None;
    }
    let (new, _) = crate::sql::name_at(&tokens, 4)?;
    if !new.to_ascii_lowercase().starts_with("_schemactl_new_") {
        return None;
    }
    let old = statements[k + 1..]
        .iter()
        .find_map(|s| s.strip_prefix("DROP TABLE "))?;
    Some((ident(&new), old.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_counter_statement_is_guarded_whichever_way_its_tables_are_spelled() {
        for table in [
            "sqlite_sequence",
            "\"sqlite_sequence\"",
            "[sqlite_sequence]",
            "'sqlite_sequence'",
        ] {
            let delete = format!("DELETE FROM {table} WHERE name = 't'");
            let (what, _) = postcondition(std::slice::from_ref(&delete), 0, &delete).unwrap();
            assert_eq!(what, "the counter is gone", "{delete}");
            let copy = format!(
                "INSERT INTO {table} (name, seq) SELECT 'n', seq FROM {table} WHERE name = 't'"
            );
            let (what, _) = postcondition(std::slice::from_ref(&copy), 0, &copy).unwrap();
            assert_eq!(what, "the counter is copied", "{copy}");
        }
        let copy = "INSERT OR ABORT INTO main.'_schemactl_new_t' (a) SELECT a FROM t".to_string();
        let statements = [copy, "DROP TABLE t".to_string()];
        assert_eq!(
            rebuild_copy(&statements, 0),
            Some(("_schemactl_new_t".to_string(), "t".to_string()))
        );
    }
}
