//! Table-driven plan tests: the expected forward and reverse SQL, written out.

use rusqlite::Connection;

use super::{Safety, plan};
use crate::diff::diff;
use crate::dsl::Renames;
use crate::inspect;
use crate::model::Schema;

fn schema(ddl: &str) -> Schema {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(ddl).unwrap();
    inspect(&conn).unwrap()
}

struct Case {
    name: &'static str,
    current: &'static str,
    desired: &'static str,
    renames: Renames,
    /// Per step: (kind, forward, reverse).
    steps: Vec<(Safety, Vec<&'static str>, Vec<&'static str>)>,
}

fn rebuild_t(create: &'static str, copy: &'static str) -> Vec<&'static str> {
    vec![
        create,
        copy,
        "DROP TABLE t",
        "PRAGMA legacy_alter_table = ON",
        "ALTER TABLE _schemactl_new_t RENAME TO t",
        "PRAGMA legacy_alter_table = OFF",
    ]
}

#[test]
fn plans_are_minimal_and_reversible() {
    let cases = vec![
        Case {
            name: "add a nullable column at the end: native ADD COLUMN",
            current: "CREATE TABLE t (a INTEGER)",
            desired: "CREATE TABLE t (a INTEGER, b TEXT)",
            renames: Renames::default(),
            steps: vec![(
                Safety::Safe,
                vec!["ALTER TABLE t ADD COLUMN b TEXT"],
                vec!["ALTER TABLE t DROP COLUMN b"],
            )],
        },
        Case {
            name: "add a NOT NULL column with a default: native",
            current: "CREATE TABLE t (a INTEGER)",
            desired: "CREATE TABLE t (a INTEGER, b INTEGER NOT NULL DEFAULT 0)",
            renames: Renames::default(),
            steps: vec![(
                Safety::Safe,
                vec!["ALTER TABLE t ADD COLUMN b INTEGER NOT NULL DEFAULT 0"],
                vec!["ALTER TABLE t DROP COLUMN b"],
            )],
        },
        Case {
            name: "drop the last, unused column: native, reversed by ADD COLUMN",
            current: "CREATE TABLE t (a INTEGER, b TEXT)",
            desired: "CREATE TABLE t (a INTEGER)",
            renames: Renames::default(),
            steps: vec![(
                Safety::Destructive,
                vec!["ALTER TABLE t DROP COLUMN b"],
                vec!["ALTER TABLE t ADD COLUMN b TEXT"],
            )],
        },
        Case {
            name: "drop an indexed column with its index: the index goes first",
            current: "CREATE TABLE t (a INTEGER, b TEXT); CREATE INDEX t_b ON t (b)",
            desired: "CREATE TABLE t (a INTEGER)",
            renames: Renames::default(),
            steps: vec![
                (
                    Safety::Safe,
                    vec!["DROP INDEX t_b"],
                    vec!["CREATE INDEX t_b ON t (b)"],
                ),
                (
                    Safety::Destructive,
                    vec!["ALTER TABLE t DROP COLUMN b"],
                    vec!["ALTER TABLE t ADD COLUMN b TEXT"],
                ),
            ],
        },
        Case {
            name: "drop a middle column: native, reversed by a rebuild that restores the order",
            current: "CREATE TABLE t (a INTEGER, b TEXT, c REAL)",
            desired: "CREATE TABLE t (a INTEGER, c REAL)",
            renames: Renames::default(),
            steps: vec![(
                Safety::Destructive,
                vec!["ALTER TABLE t DROP COLUMN b"],
                rebuild_t(
                    "CREATE TABLE _schemactl_new_t (\n  a INTEGER,\n  b TEXT,\n  c REAL\n)",
                    "INSERT OR ABORT INTO _schemactl_new_t (rowid, a, c) SELECT rowid, a, c FROM t",
                ),
            )],
        },
        Case {
            name: "rename a column by hint",
            current: "CREATE TABLE t (a INTEGER)",
            desired: "CREATE TABLE t (c INTEGER)",
            renames: Renames {
                columns: vec![("t".into(), "c".into(), "a".into())],
                ..Renames::default()
            },
            steps: vec![(
                Safety::Safe,
                vec!["ALTER TABLE t RENAME COLUMN a TO c"],
                vec!["ALTER TABLE t RENAME COLUMN c TO a"],
            )],
        },
        Case {
            name: "rename a table by hint",
            current: "CREATE TABLE t (a INTEGER)",
            desired: "CREATE TABLE u (a INTEGER)",
            renames: Renames {
                tables: vec![("u".into(), "t".into())],
                ..Renames::default()
            },
            steps: vec![(
                Safety::Safe,
                vec!["ALTER TABLE t RENAME TO u"],
                vec!["ALTER TABLE u RENAME TO t"],
            )],
        },
        Case {
            name: "add an index",
            current: "CREATE TABLE t (a INTEGER)",
            desired: "CREATE TABLE t (a INTEGER); CREATE INDEX i ON t (a DESC) WHERE a > 0",
            renames: Renames::default(),
            steps: vec![(
                Safety::Safe,
                vec!["CREATE INDEX i ON t (a DESC) WHERE a > 0"],
                vec!["DROP INDEX i"],
            )],
        },
        Case {
            name: "add a CHECK: a rebuild, copying rowids, reversed by a rebuild back",
            current: "CREATE TABLE t (a INTEGER)",
            desired: "CREATE TABLE t (a INTEGER, CHECK (a > 0))",
            renames: Renames::default(),
            steps: vec![(
                Safety::Rebuild,
                rebuild_t(
                    "CREATE TABLE _schemactl_new_t (\n  a INTEGER,\n  CHECK (a > 0)\n)",
                    "INSERT OR ABORT INTO _schemactl_new_t (rowid, a) SELECT rowid, a FROM t",
                ),
                rebuild_t(
                    "CREATE TABLE _schemactl_new_t (\n  a INTEGER\n)",
                    "INSERT OR ABORT INTO _schemactl_new_t (rowid, a) SELECT rowid, a FROM t",
                ),
            )],
        },
        Case {
            name: "a CURRENT_TIMESTAMP default cannot be added natively: rebuild with the indexes",
            current: "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT); CREATE INDEX t_a ON t (a)",
            desired: "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, at TEXT DEFAULT CURRENT_TIMESTAMP); CREATE INDEX t_a ON t (a)",
            renames: Renames::default(),
            steps: vec![(
                Safety::Rebuild,
                {
                    let mut v = rebuild_t(
                        "CREATE TABLE _schemactl_new_t (\n  id INTEGER PRIMARY KEY,\n  a TEXT,\n  at TEXT DEFAULT CURRENT_TIMESTAMP\n)",
                        "INSERT OR ABORT INTO _schemactl_new_t (id, a) SELECT id, a FROM t",
                    );
                    v.push("CREATE INDEX t_a ON t (a)");
                    v
                },
                {
                    let mut v = rebuild_t(
                        "CREATE TABLE _schemactl_new_t (\n  id INTEGER PRIMARY KEY,\n  a TEXT\n)",
                        "INSERT OR ABORT INTO _schemactl_new_t (id, a) SELECT id, a FROM t",
                    );
                    v.push("CREATE INDEX t_a ON t (a)");
                    v
                },
            )],
        },
        Case {
            name: "an AUTOINCREMENT table keeps its counter through a rebuild",
            current: "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, a TEXT)",
            // A new collation rebuilds (a new NOT NULL no longer does: SQLite 3.53 sets it in place).
            desired: "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, a TEXT COLLATE NOCASE)",
            renames: Renames::default(),
            steps: vec![(
                Safety::Rebuild,
                vec![
                    "CREATE TABLE _schemactl_new_t (\n  id INTEGER PRIMARY KEY AUTOINCREMENT,\n  a TEXT COLLATE NOCASE\n)",
                    "INSERT OR ABORT INTO _schemactl_new_t (id, a) SELECT id, a FROM t",
                    "DELETE FROM sqlite_sequence WHERE name = '_schemactl_new_t'",
                    "INSERT INTO sqlite_sequence (name, seq) SELECT '_schemactl_new_t', seq FROM sqlite_sequence WHERE name = 't'",
                    "DROP TABLE t",
                    "PRAGMA legacy_alter_table = ON",
                    "ALTER TABLE _schemactl_new_t RENAME TO t",
                    "PRAGMA legacy_alter_table = OFF",
                ],
                vec![
                    "CREATE TABLE _schemactl_new_t (\n  id INTEGER PRIMARY KEY AUTOINCREMENT,\n  a TEXT\n)",
                    "INSERT OR ABORT INTO _schemactl_new_t (id, a) SELECT id, a FROM t",
                    "DELETE FROM sqlite_sequence WHERE name = '_schemactl_new_t'",
                    "INSERT INTO sqlite_sequence (name, seq) SELECT '_schemactl_new_t', seq FROM sqlite_sequence WHERE name = 't'",
                    "DROP TABLE t",
                    "PRAGMA legacy_alter_table = ON",
                    "ALTER TABLE _schemactl_new_t RENAME TO t",
                    "PRAGMA legacy_alter_table = OFF",
                ],
            )],
        },
        Case {
            name: "drop a table: reversed by creating it and its indexes",
            current: "CREATE TABLE t (a INTEGER); CREATE INDEX t_a ON t (a); CREATE TABLE keep (x)",
            desired: "CREATE TABLE keep (x)",
            renames: Renames::default(),
            steps: vec![(
                Safety::Destructive,
                vec!["DROP TABLE t"],
                vec![
                    "CREATE TABLE t (\n  a INTEGER\n)",
                    "CREATE INDEX t_a ON t (a)",
                ],
            )],
        },
        Case {
            name: "a view on a rebuilt table is dropped first and recreated after",
            current: "CREATE TABLE t (a INTEGER); CREATE VIEW v AS SELECT a FROM t",
            desired: "CREATE TABLE t (a INTEGER, CHECK (a > 0)); CREATE VIEW v AS SELECT a FROM t",
            renames: Renames::default(),
            steps: vec![
                (
                    Safety::Safe,
                    vec!["DROP VIEW v"],
                    vec!["CREATE VIEW v AS SELECT a FROM t"],
                ),
                (
                    Safety::Rebuild,
                    rebuild_t(
                        "CREATE TABLE _schemactl_new_t (\n  a INTEGER,\n  CHECK (a > 0)\n)",
                        "INSERT OR ABORT INTO _schemactl_new_t (rowid, a) SELECT rowid, a FROM t",
                    ),
                    rebuild_t(
                        "CREATE TABLE _schemactl_new_t (\n  a INTEGER\n)",
                        "INSERT OR ABORT INTO _schemactl_new_t (rowid, a) SELECT rowid, a FROM t",
                    ),
                ),
                (
                    Safety::Safe,
                    vec!["CREATE VIEW v AS SELECT a FROM t"],
                    vec!["DROP VIEW v"],
                ),
            ],
        },
        Case {
            name: "parents are created before children",
            current: "CREATE TABLE other (x)",
            desired: "CREATE TABLE other (x); CREATE TABLE a_child (p INTEGER REFERENCES z_parent (id)); CREATE TABLE z_parent (id INTEGER PRIMARY KEY)",
            renames: Renames::default(),
            steps: vec![
                (
                    Safety::Safe,
                    vec!["CREATE TABLE z_parent (\n  id INTEGER PRIMARY KEY\n)"],
                    vec!["DROP TABLE z_parent"],
                ),
                (
                    Safety::Safe,
                    vec![
                        "CREATE TABLE a_child (\n  p INTEGER,\n  FOREIGN KEY (p) REFERENCES z_parent (id)\n)",
                    ],
                    vec!["DROP TABLE a_child"],
                ),
            ],
        },
    ];
    for case in cases {
        let current = schema(case.current);
        let desired = schema(case.desired);
        let changes = diff(&current, &desired, &case.renames).unwrap();
        let plan = plan(&current, &desired, &changes);
        let got: Vec<(Safety, Vec<&str>, Vec<&str>)> = plan
            .steps
            .iter()
            .map(|s| {
                (
                    s.kind.safety(),
                    s.forward.iter().map(String::as_str).collect(),
                    s.reverse.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(got, case.steps, "{}", case.name);
    }
}

#[test]
fn a_rename_hint_for_a_missing_object_is_an_error_unless_already_applied() {
    let current = schema("CREATE TABLE t (a INTEGER)");
    let desired = schema("CREATE TABLE u (a INTEGER)");
    let hint = |old: &str| Renames {
        tables: vec![("u".into(), old.into())],
        ..Renames::default()
    };
    let err = diff(&current, &desired, &hint("nowhere")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "table \"u\": renamed_from \"nowhere\", but there is no table \"nowhere\""
    );
    // Applied already: the new name exists, so the hint is ignored.
    assert!(diff(&desired, &desired, &hint("t")).unwrap().is_empty());
    // Renames are never guessed: without the hint, t is dropped and u created.
    let changes = diff(&current, &desired, &Renames::default()).unwrap();
    assert_eq!(changes.len(), 2);
}
