//! The driver's schema check, when it reads again only what changed since the inspection
//! before the migrations (issue 14, class 8): a migration that changes an object the expected
//! schema does not change, or a hand edit between that inspection and the run, still stops
//! the run, which then leaves the database as it was.

use rusqlite::Connection;

use super::{Driver, Mode};
use crate::error::Error;
use crate::inspect::{Inspection, inspect_with_notes};
use crate::migrations::{Migration, Origin, expected_after};
use crate::model::Schema;

const START: &str = "CREATE TABLE a (id INTEGER PRIMARY KEY, name TEXT);
    CREATE TABLE b (id INTEGER PRIMARY KEY, name TEXT);
    CREATE TABLE c (id INTEGER PRIMARY KEY, b_id INTEGER REFERENCES b(id));
    CREATE INDEX c_b ON c(b_id);
    INSERT INTO a (name) VALUES ('x');";

fn start() -> (tempfile::TempDir, Connection, Inspection) {
    let dir = tempfile::tempdir().unwrap();
    let conn = Connection::open(dir.path().join("db.sqlite")).unwrap();
    conn.execute_batch(START).unwrap();
    let before = inspect_with_notes(&conn).unwrap();
    (dir, conn, before)
}

fn migration(sql: &str) -> Migration {
    Migration::new(1, "m", sql, None, Origin::Sync)
}

/// The schema `promised` should produce from `before`.
fn expected(before: &Inspection, promised: &str) -> Schema {
    expected_after(&before.schema, [&migration(promised)]).unwrap()
}

fn run(
    conn: &Connection,
    mode: Mode,
    sql: &str,
    expected: &Schema,
    before: &Inspection,
) -> crate::error::Result<Vec<String>> {
    Driver::new(conn, mode, vec![migration(sql)], Some(expected))
        .inspected_before(Some(before))
        .run(Driver::run_reverse)
}

#[test]
fn a_migration_that_changes_another_object_is_refused() {
    let promised = "ALTER TABLE a ADD COLUMN note TEXT;";
    for (more, object) in [
        ("ALTER TABLE b ADD COLUMN extra TEXT;", "b"),
        ("DROP INDEX c_b;", "c_b"),
        ("CREATE INDEX hidden ON b(name);", "hidden"),
        ("CREATE VIEW sneaky AS SELECT 1;", "sneaky"),
    ] {
        for mode in [Mode::Rehearsal, Mode::Live] {
            let (_dir, conn, before) = start();
            let expected = expected(&before, promised);
            let err = run(
                &conn,
                mode,
                &format!("{promised}\n{more}"),
                &expected,
                &before,
            )
            .expect_err("the schema check must refuse");
            match err {
                Error::UnexpectedSchema { difference } => {
                    assert!(difference.contains(object), "{more}: {difference}");
                }
                other => panic!("{more}: {other}"),
            }
            // Rolled back: the database is as it was.
            assert_eq!(
                inspect_with_notes(&conn).unwrap().schema,
                before.schema,
                "{more}"
            );
        }
    }
}

#[test]
fn a_hand_edit_after_the_inspection_is_refused() {
    let promised = "ALTER TABLE a ADD COLUMN note TEXT;";
    for edit in [
        "ALTER TABLE c ADD COLUMN hand TEXT",
        "CREATE INDEX hand ON b(name)",
        "DROP INDEX c_b",
        "DROP TABLE c",
    ] {
        for mode in [Mode::Rehearsal, Mode::Live] {
            let (dir, conn, before) = start();
            let expected = expected(&before, promised);
            Connection::open(dir.path().join("db.sqlite"))
                .unwrap()
                .execute_batch(edit)
                .unwrap();
            let edited = inspect_with_notes(&conn).unwrap().schema;
            let err = run(&conn, mode, promised, &expected, &before)
                .expect_err("the hand edit must be seen");
            assert!(
                matches!(err, Error::UnexpectedSchema { .. }),
                "{edit}: {err}"
            );
            assert_eq!(inspect_with_notes(&conn).unwrap().schema, edited, "{edit}");
        }
    }
}

#[test]
fn the_migration_it_promised_passes() {
    // The control: the same check passes when the migration does what it promised.
    let promised = "ALTER TABLE a ADD COLUMN note TEXT;";
    for mode in [Mode::Rehearsal, Mode::Live] {
        let (_dir, conn, before) = start();
        let expected = expected(&before, promised);
        let checked = run(&conn, mode, promised, &expected, &before).unwrap();
        assert!(
            checked.iter().any(|l| l == "schema: as expected"),
            "{checked:?}"
        );
    }
}

/// The driver's own gate, just before each drop, lets a TEMP table (or a column of one) go:
/// its rows end with the connection anyway (h21_05). Main's table of the same name is still
/// refused, and named as main's, where the statement drops it (its table found where SQLite
/// finds it: `DROP TABLE a` drops TEMP's `a` while there is one).
#[test]
fn the_gate_before_a_drop_lets_a_temp_table_go_and_stops_mains() {
    let cases = [
        (
            "CREATE TEMP TABLE a AS SELECT * FROM main.a; DROP TABLE a;",
            None,
        ),
        (
            "CREATE TEMP TABLE s AS SELECT * FROM main.a; ALTER TABLE temp.s DROP COLUMN name;",
            None,
        ),
        (
            "CREATE TEMP TABLE a AS SELECT * FROM main.a; DROP TABLE main.a;",
            Some("drops table \"a\" with 1 row(s)"),
        ),
        (
            "CREATE TEMP TABLE a AS SELECT * FROM main.a; DROP TABLE a; DROP TABLE a;",
            Some("drops table \"a\" with 1 row(s)"),
        ),
    ];
    for (sql, said) in cases {
        let (_dir, conn, _) = start();
        conn.execute_batch("BEGIN").unwrap();
        let result = super::run_statements(&conn, sql, &migration(sql), true);
        conn.execute_batch("ROLLBACK").unwrap();
        match (result, said) {
            (Ok(()), None) => {}
            (Err(Error::DestructiveRefused { migrations }), Some(said)) => assert!(
                migrations[0].ends_with(&format!("{said})")),
                "{sql}: {migrations:?}"
            ),
            (other, _) => panic!("{sql}: {other:?}"),
        }
    }
}
