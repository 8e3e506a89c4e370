//! A UNIQUE key (a UNIQUE column, a table UNIQUE over two columns, a PRIMARY KEY of a rowid
//! or WITHOUT ROWID table, a unique index) whose column changes collation: rows equal under
//! the new collation make the rebuild's copy fail, and the lint must say so before anything
//! runs. A property over random values and random collation changes (BINARY, NOCASE, RTRIM):
//! a Unique finding exactly when SQLite's copy fails. And the `plan --format sql` script, run
//! as a shell without -bail runs it (each statement, errors ignored), loses no row and
//! changes no value (64 cases).

mod common;

use proptest::prelude::*;
use rusqlite::Connection;
use rusqlite::types::Value;
use schemactl::diff::diff;
use schemactl::dsl::Renames;
use schemactl::lint::{FindingKind, lint};
use schemactl::plan::{Direction, plan};
use sqlparser::tokenizer::Token;

#[derive(Debug, Clone, Copy)]
enum Key {
    Column,
    TableUnique,
    RowidTablePk,
    WithoutRowid,
    UniqueIndex,
}

const COLLATIONS: [&str; 3] = ["BINARY", "NOCASE", "RTRIM"];

fn ddl(key: Key, coll: &str) -> String {
    match key {
        Key::Column => {
            format!("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT COLLATE {coll} UNIQUE, w TEXT)")
        }
        Key::TableUnique => format!(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT COLLATE {coll}, w TEXT, UNIQUE (w, v))"
        ),
        Key::RowidTablePk => format!("CREATE TABLE t (v TEXT COLLATE {coll} PRIMARY KEY, w TEXT)"),
        Key::WithoutRowid => {
            format!("CREATE TABLE t (v TEXT COLLATE {coll} PRIMARY KEY, w TEXT) WITHOUT ROWID")
        }
        Key::UniqueIndex => format!(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT COLLATE {coll}, w TEXT); CREATE UNIQUE INDEX u ON t (v)"
        ),
    }
}

fn value() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        9 => prop::sample::select(vec!["a", "A", "a ", "A  ", "b", "B", " a", "ab", "aB"])
            .prop_map(|s| Some(s.to_string())),
        1 => Just(None),
    ]
}

/// The rows in a stable order, every column.
fn rows(conn: &Connection) -> Vec<Vec<Value>> {
    let mut stmt = conn
        .prepare("SELECT v, w FROM t ORDER BY v COLLATE BINARY, w COLLATE BINARY")
        .unwrap();
    stmt.query_map([], |r| Ok(vec![r.get(0)?, r.get(1)?]))
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

fn seeded(key: Key, coll: &str, values: &[(Option<String>, bool)]) -> Connection {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(&ddl(key, coll)).unwrap();
    for (v, upper) in values {
        // Rows the old key refuses are left out: the table holds what it can.
        conn.execute(
            "INSERT OR IGNORE INTO t (v, w) VALUES (?1, ?2)",
            rusqlite::params![v, if *upper { "X" } else { "x" }],
        )
        .unwrap();
    }
    conn
}

/// Runs `script` as a shell without -bail does: statement by statement, going on after
/// every error.
fn run_without_bail(conn: &Connection, script: &str) {
    let tokens = schemactl::sql::lex(script).unwrap();
    let mut start = 0;
    for t in tokens.iter().filter(|t| t.token == Token::SemiColon) {
        let _ = conn.execute_batch(&script[start..t.end]);
        start = t.end;
    }
    let _ = conn.execute_batch(&script[start..]);
}

fn run_case(key: Key, from: &str, to: &str, values: &[(Option<String>, bool)]) {
    let conn = seeded(key, from, values);
    let before = rows(&conn);
    let current = schemactl::inspect(&conn).unwrap();
    let desired = common::converge::schema_of(&ddl(key, to)).unwrap();
    let changes = diff(&current, &desired, &Renames::default()).unwrap();
    let findings = lint(&conn, &current, &desired, &changes).unwrap();
    assert!(
        findings.iter().all(|f| f.kind != FindingKind::Unchecked),
        "{findings:?}"
    );
    let found = findings.iter().any(|f| f.kind == FindingKind::Unique);
    let script = plan(&current, &desired, &changes).script(Direction::Forward);
    // SQLite's own answer: the script, stopping at the first error.
    let copy = seeded(key, from, values);
    let fails = match copy.execute_batch(&script) {
        Ok(()) => false,
        Err(e) => {
            assert!(
                e.to_string().contains("UNIQUE constraint failed"),
                "{e}\n{script}"
            );
            true
        }
    };
    assert_eq!(
        found, fails,
        "lint finding {found}, copy fails {fails}: {key:?} {from} -> {to}, rows {before:?}\n{findings:?}\n{script}"
    );
    // Without -bail: every row and value is still there, whether the copy failed or not.
    let shell = seeded(key, from, values);
    run_without_bail(&shell, &script);
    assert!(shell.is_autocommit(), "the script left a transaction open");
    assert_eq!(rows(&shell), before, "{script}");
    let exists: i64 = shell
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE name = 't'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(exists, 1);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn unique_lint_judges_the_new_collations(
        key in prop::sample::select(vec![Key::Column, Key::TableUnique, Key::RowidTablePk, Key::WithoutRowid, Key::UniqueIndex]),
        from in prop::sample::select(COLLATIONS.to_vec()),
        to in prop::sample::select(COLLATIONS.to_vec()),
        values in prop::collection::vec((value(), any::<bool>()), 0..7),
    ) {
        run_case(key, from, to, &values);
    }
}

/// The hostile report's case, each key kind: 'a@x' and 'A@X' under NOCASE.
#[test]
fn nocase_duplicates_are_a_finding_for_every_key_kind() {
    for key in [
        Key::Column,
        Key::TableUnique,
        Key::RowidTablePk,
        Key::WithoutRowid,
        Key::UniqueIndex,
    ] {
        let values = [
            (Some("a@x".to_string()), false),
            (Some("A@X".to_string()), false),
        ];
        run_case(key, "BINARY", "NOCASE", &values);
        let conn = seeded(key, "BINARY", &values);
        let current = schemactl::inspect(&conn).unwrap();
        let desired = common::converge::schema_of(&ddl(key, "NOCASE")).unwrap();
        let changes = diff(&current, &desired, &Renames::default()).unwrap();
        let findings = lint(&conn, &current, &desired, &changes).unwrap();
        assert!(
            findings
                .iter()
                .any(|f| f.kind == FindingKind::Unique && f.message.contains("NOCASE")),
            "{key:?}: {findings:?}"
        );
    }
}
