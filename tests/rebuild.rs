//! What a rebuild must keep beyond rows: the AUTOINCREMENT counter and rowids.

mod common;

use rusqlite::Connection;
use schemactl::diff::diff;
use schemactl::dsl::Renames;
use schemactl::plan::{Direction, plan};
use schemactl::{apply, inspect};

fn migrate(conn: &Connection, desired_ddl: &str) {
    let desired = common::converge::schema_of(desired_ddl).unwrap();
    let current = inspect(conn).unwrap();
    let changes = diff(&current, &desired, &Renames::default()).unwrap();
    let plan = plan(&current, &desired, &changes);
    assert!(
        plan.steps.iter().any(|s| s.is_rebuild()),
        "{}",
        plan.script(Direction::Forward)
    );
    apply::execute(conn, &plan, Direction::Forward).unwrap();
    assert_eq!(inspect(conn).unwrap(), desired);
}

#[test]
fn the_autoincrement_counter_survives_a_rebuild() {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(
        "CREATE TABLE metrics_log (id INTEGER PRIMARY KEY AUTOINCREMENT, metric_name TEXT);
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10)
         INSERT INTO metrics_log (metric_name) SELECT 'm' FROM n;
         DELETE FROM metrics_log WHERE id > 7;",
    )
    .unwrap();
    migrate(
        &conn,
        "CREATE TABLE metrics_log (id INTEGER PRIMARY KEY AUTOINCREMENT, metric_name TEXT NOT NULL DEFAULT 'x')",
    );
    conn.execute("INSERT INTO metrics_log (metric_name) VALUES ('next')", [])
        .unwrap();
    let id: i64 = conn
        .query_row("SELECT max(id) FROM metrics_log", [], |r| r.get(0))
        .unwrap();
    assert_eq!(id, 11, "ids 8..10 were used once and must not come back");
}

#[test]
fn rowids_survive_a_rebuild_of_a_table_without_an_integer_key() {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(
        "CREATE TABLE t (name TEXT);
         INSERT INTO t (rowid, name) VALUES (5, 'five'), (42, 'forty-two'), (1000, 'thousand');",
    )
    .unwrap();
    migrate(&conn, "CREATE TABLE t (name TEXT CHECK (length(name) > 0))");
    let rows: Vec<(i64, String)> = conn
        .prepare("SELECT rowid, name FROM t ORDER BY rowid")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(
        rows,
        [
            (5, "five".into()),
            (42, "forty-two".into()),
            (1000, "thousand".into())
        ]
    );
}

#[test]
fn a_failing_statement_leaves_the_database_as_it_was() {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch("CREATE TABLE t (a TEXT); INSERT INTO t VALUES ('x'), (NULL);")
        .unwrap();
    let before = inspect(&conn).unwrap();
    // A new type with NOT NULL: a rebuild (NOT NULL alone is set in place since SQLite 3.53).
    let desired = common::converge::schema_of(
        "CREATE TABLE t (a VARCHAR(10) NOT NULL, b INT); CREATE INDEX t_b ON t (b)",
    )
    .unwrap();
    let changes = diff(&before, &desired, &Renames::default()).unwrap();
    let plan = plan(&before, &desired, &changes);
    let err = apply::execute(&conn, &plan, Direction::Forward).unwrap_err();
    assert!(
        err.to_string().contains("NOT NULL constraint failed"),
        "{err}"
    );
    assert!(err.to_string().contains("step 1 (rebuild table t"), "{err}");
    assert_eq!(inspect(&conn).unwrap(), before);
    let n: i64 = conn
        .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 2);
    assert!(conn.is_autocommit(), "no transaction left open");
}
