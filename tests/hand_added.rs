//! What was added to a live database by hand since the pending migrations were written (a
//! column filled by an app hotfix, an index, a trigger) is never dropped without a word by
//! `apply`: a migration that would lose it (a `plan --write` rebuild copies only the columns
//! it knew) is refused before anything changes, naming each object (a column with its count
//! of values), unless --allow-destructive is given; a migration that keeps it runs and the
//! object and its values are still there. A property over any set of objects added by hand
//! and any kind of pending migration.

mod common;

use std::path::Path;

use proptest::prelude::*;
use schemactl::apply::{self, Options};
use schemactl::error::{Error, GateError};

fn options(dir: &Path, allow_destructive: bool) -> Options {
    Options {
        skip_backup: true,
        allow_destructive,
        verify: true,
        ..common::pipeline_options(dir, dir.join("db.sqlite"))
    }
}

/// V2 as `plan --write` writes a retype of `t.a`: a rebuild that copies (id, a).
const REBUILD: &str = "-- schemactl: foreign-keys off; check: \n\
CREATE TABLE _schemactl_new_t (\n  id INTEGER PRIMARY KEY,\n  a TEXT\n);\n\
INSERT OR ABORT INTO _schemactl_new_t (id, a) SELECT id, a FROM t;\n\
DROP TABLE t;\n\
PRAGMA legacy_alter_table = ON;\n\
ALTER TABLE _schemactl_new_t RENAME TO t;\n\
PRAGMA legacy_alter_table = OFF;\n";

/// A pending migration.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Pending {
    /// Rebuilds t from the columns V1 made: every column, index and trigger added by hand
    /// to t goes with the old table.
    Rebuild,
    /// Adds a column to t: keeps everything.
    AddColumn,
    /// Creates another table: keeps everything.
    OtherTable,
}

/// What is added by hand after V1 was applied.
#[derive(Debug, Clone)]
struct Hand {
    /// Column c, and how many of the rows get a value in it.
    column: Option<usize>,
    index_a: bool,
    index_c: bool,
    trigger: bool,
    view: bool,
}

fn hand() -> impl Strategy<Value = Hand> {
    (
        prop::option::of(0usize..4),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(column, index_a, index_c, trigger, view)| Hand {
            index_c: index_c && column.is_some(),
            column,
            index_a,
            trigger,
            view,
        })
}

fn pending() -> impl Strategy<Value = Pending> {
    prop_oneof![
        Just(Pending::Rebuild),
        Just(Pending::AddColumn),
        Just(Pending::OtherTable)
    ]
}

/// A project at V1 (t with three rows), `hand` added to the live database, V2 pending.
fn project(hand: &Hand, v2: Pending) -> tempfile::TempDir {
    let dir = common::temp_dir();
    let p = dir.path();
    for d in ["migrations", "rollbacks"] {
        std::fs::create_dir_all(p.join(d)).unwrap();
    }
    std::fs::write(
        p.join("migrations/V1__init.sql"),
        "CREATE TABLE t (\n  id INTEGER PRIMARY KEY,\n  a INTEGER\n);\n",
    )
    .unwrap();
    apply::apply(&options(p, false), &mut |_| {}).unwrap();
    let conn = rusqlite::Connection::open(p.join("db.sqlite")).unwrap();
    conn.execute_batch("INSERT INTO t VALUES (1, 10), (2, 20), (3, 30);")
        .unwrap();
    if let Some(filled) = hand.column {
        conn.execute_batch("ALTER TABLE t ADD COLUMN c TEXT;")
            .unwrap();
        conn.execute(
            "UPDATE t SET c = 'precious-' || id WHERE id <= ?1",
            [filled as i64],
        )
        .unwrap();
    }
    if hand.index_a {
        conn.execute_batch("CREATE INDEX t_a ON t(a);").unwrap();
    }
    if hand.index_c {
        conn.execute_batch("CREATE INDEX t_c ON t(c);").unwrap();
    }
    if hand.trigger {
        conn.execute_batch("CREATE TRIGGER t_audit AFTER UPDATE ON t BEGIN SELECT 1; END;")
            .unwrap();
    }
    if hand.view {
        conn.execute_batch("CREATE VIEW t_view AS SELECT id, a FROM t;")
            .unwrap();
    }
    drop(conn);
    let sql = match v2 {
        Pending::Rebuild => REBUILD,
        Pending::AddColumn => "ALTER TABLE t ADD COLUMN z TEXT;\n",
        Pending::OtherTable => "CREATE TABLE other (id INTEGER PRIMARY KEY);\n",
    };
    std::fs::write(p.join("migrations/V2__change.sql"), sql).unwrap();
    dir
}

/// What the test expects V2 to lose of `hand`, as the refusal names it.
fn expected_lost(hand: &Hand, v2: Pending) -> Vec<String> {
    if v2 != Pending::Rebuild {
        return Vec::new();
    }
    let mut out = Vec::new();
    if let Some(filled) = hand.column {
        out.push(format!(
            "column t.c ({filled} value{})",
            if filled == 1 { "" } else { "s" }
        ));
    }
    if hand.index_a {
        out.push("index t_a on t".into());
    }
    if hand.index_c {
        out.push("index t_c on t".into());
    }
    if hand.trigger {
        out.push("trigger t_audit on t".into());
    }
    out
}

/// The objects and the values of c, as SQLite's catalog and the rows have them.
fn state(db: &Path) -> (Vec<String>, Vec<(i64, Option<String>)>) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let objects = conn
        .prepare(
            "SELECT type || ' ' || name FROM sqlite_schema WHERE name NOT LIKE '\\_schemactl%' ESCAPE '\\' ORDER BY 1",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<Vec<String>>>()
        .unwrap();
    let has_c = conn
        .prepare("SELECT 1 FROM pragma_table_info('t') WHERE name = 'c'")
        .unwrap()
        .exists([])
        .unwrap();
    let values = if has_c {
        conn.prepare("SELECT id, c FROM t ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<Vec<_>>>()
            .unwrap()
    } else {
        Vec::new()
    };
    (objects, values)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn apply_never_drops_what_was_added_by_hand_without_a_word(hand in hand(), v2 in pending()) {
        let dir = project(&hand, v2);
        let p = dir.path();
        let db = p.join("db.sqlite");
        let lost = expected_lost(&hand, v2);
        let before_bytes = std::fs::read(&db).unwrap();
        let before = state(&db);
        let result = apply::apply(&options(p, false), &mut |_| {});
        if lost.is_empty() {
            prop_assert!(result.is_ok(), "{:?}", result.err().map(|e| e.to_string()));
            let after = state(&db);
            // Everything added by hand is still there, with its values (V2 may add its own).
            for object in &before.0 {
                prop_assert!(after.0.contains(object), "{} is gone: {:?}", object, after.0);
            }
            prop_assert_eq!(&after.1, &before.1);
        } else {
            match result {
                Err(Error::Gate(GateError::HandMadeLost { objects, .. })) => {
                    prop_assert_eq!(&objects, &lost);
                }
                other => prop_assert!(false, "not refused: {:?}", other.map(|r| r.migrations)),
            }
            prop_assert!(std::fs::read(&db).unwrap() == before_bytes, "the database changed");
            // With --allow-destructive it runs, and says what it drops.
            let mut said = Vec::new();
            let report = apply::apply(&options(p, true), &mut |m| said.push(m.to_string())).unwrap();
            // The row proof counts every live column: the one the rebuild leaves behind is
            // named as dropped, never counted as proven.
            if hand.column.is_some() {
                prop_assert!(
                    report.rehearsal.iter().chain(&report.checks).any(|l| l.contains("dropped by the migrations: \"t\".\"c\"")),
                    "{:?} {:?}", report.rehearsal, report.checks
                );
            }
            let warning = said.iter().find(|l| l.contains("added by hand")).cloned().unwrap_or_default();
            for object in &lost {
                prop_assert!(warning.contains(object.as_str()), "{} not named: {:?}", object, said);
            }
        }
    }
}
