//! The data-aware lint: each finding class, with its count and sample keys.

mod common;

use rusqlite::Connection;
use schemactl::diff::diff;
use schemactl::dsl::Renames;
use schemactl::lint::{FindingKind, lint};

/// A finding as compared here: kind, count, samples.
type Got = (FindingKind, i64, Vec<String>);

fn findings(current: &str, rows: &str, desired: &str) -> Vec<Got> {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(current).unwrap();
    conn.execute_batch(rows).unwrap();
    let current = schemactl::inspect(&conn).unwrap();
    let desired = common::converge::schema_of(desired).unwrap();
    let changes = diff(&current, &desired, &Renames::default()).unwrap();
    lint(&conn, &current, &desired, &changes)
        .unwrap()
        .into_iter()
        .map(|f| (f.kind, f.count, f.samples))
        .collect()
}

fn s(items: &[&str]) -> Vec<String> {
    items.iter().map(|x| x.to_string()).collect()
}

#[test]
fn each_finding_class_counts_and_names_rows() {
    let cases: Vec<(&str, &str, &str, &str, Vec<Got>)> = vec![
        (
            "NOT NULL over NULLs, named by primary key",
            "CREATE TABLE t (id TEXT PRIMARY KEY, a TEXT)",
            "INSERT INTO t VALUES ('x', NULL), ('y', 'ok'), ('z', NULL)",
            "CREATE TABLE t (id TEXT PRIMARY KEY, a TEXT NOT NULL)",
            vec![(FindingKind::NotNull, 2, s(&["id='x'", "id='z'"]))],
        ),
        (
            "UNIQUE over duplicates (NULLs are not duplicates)",
            "CREATE TABLE t (a TEXT)",
            "INSERT INTO t VALUES ('d'), ('d'), ('e'), (NULL), (NULL)",
            "CREATE TABLE t (a TEXT UNIQUE)",
            vec![(FindingKind::Unique, 1, s(&["'d'"]))],
        ),
        (
            "a unique index over duplicates",
            "CREATE TABLE t (a INT, b INT)",
            "INSERT INTO t VALUES (1, 1), (1, 1), (1, 2)",
            "CREATE TABLE t (a INT, b INT); CREATE UNIQUE INDEX u ON t (a, b)",
            vec![(FindingKind::Unique, 1, s(&["1, 1"]))],
        ),
        (
            "a CHECK the rows violate, named by rowid",
            "CREATE TABLE t (confidence REAL)",
            "INSERT INTO t VALUES (0.5), (1.5), (-1)",
            "CREATE TABLE t (confidence REAL CHECK (confidence BETWEEN 0 AND 1))",
            vec![(FindingKind::Check, 2, s(&["rowid=2", "rowid=3"]))],
        ),
        (
            "a foreign key with orphans",
            "CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE c (id INTEGER PRIMARY KEY, p_id INT)",
            "INSERT INTO p VALUES (1); INSERT INTO c VALUES (10, 1), (11, 2), (12, NULL)",
            "CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE c (id INTEGER PRIMARY KEY, p_id INT REFERENCES p (id))",
            vec![(
                FindingKind::ForeignKey,
                1,
                s(&["id=11: p_id=2 has no parent row"]),
            )],
        ),
        (
            "STRICT over values that do not fit",
            "CREATE TABLE t (n INTEGER, s TEXT)",
            "INSERT INTO t VALUES (1, 'a'), ('12', 'b'), ('abc', x'00'), (2.5, 'c')",
            "CREATE TABLE t (n INTEGER, s TEXT) STRICT",
            vec![
                (FindingKind::Type, 2, s(&["rowid=3", "rowid=4"])),
                (FindingKind::Type, 1, s(&["rowid=3"])),
            ],
        ),
        (
            "a narrower type over values that do not fit",
            "CREATE TABLE t (v TEXT)",
            "INSERT INTO t VALUES ('1'), ('two')",
            "CREATE TABLE t (v INTEGER)",
            vec![(FindingKind::Type, 1, s(&["rowid=2"]))],
        ),
        (
            "clean data gives no finding",
            "CREATE TABLE t (id TEXT PRIMARY KEY, a TEXT)",
            "INSERT INTO t VALUES ('x', 'a'), ('y', 'b')",
            "CREATE TABLE t (id TEXT PRIMARY KEY, a TEXT NOT NULL UNIQUE CHECK (length(a) = 1))",
            vec![],
        ),
    ];
    for (name, current, rows, desired, expected) in cases {
        assert_eq!(findings(current, rows, desired), expected, "{name}");
    }
}

#[test]
fn samples_stop_at_five() {
    let got = findings(
        "CREATE TABLE t (a)",
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 9) INSERT INTO t SELECT NULL FROM n",
        "CREATE TABLE t (a NOT NULL)",
    );
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1, 9);
    assert_eq!(got[0].2.len(), 5);
}
