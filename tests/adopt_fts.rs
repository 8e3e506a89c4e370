//! Adopting a database that has a virtual table with shadow tables (FTS5): the adoption
//! records the virtual table, not its shadow tables (its CREATE makes them), so the history
//! replays from empty and `drift` compares the live schema.

mod common;

use common::{empty_project, fails_in, ok_in};
use rusqlite::Connection;

#[test]
fn a_database_with_an_fts5_table_is_adopted_and_its_history_replays() {
    let dir = empty_project();
    let db = dir.path().join("db.sqlite");
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);
         CREATE VIRTUAL TABLE docs USING fts5(body);
         INSERT INTO t (v) VALUES ('one');
         INSERT INTO docs (body) VALUES ('hello world');",
    )
    .unwrap();
    drop(conn);
    ok_in(dir.path(), &["import", "--out", "schema/app.yaml"]);
    let yaml = dir.path().join("schema/app.yaml");
    let text = std::fs::read_to_string(&yaml).unwrap();
    let at = "      v: { type: TEXT }\n";
    assert!(text.contains(at), "{text}");
    std::fs::write(
        &yaml,
        text.replace(at, &format!("{at}      w: {{ type: TEXT }}\n")),
    )
    .unwrap();
    ok_in(dir.path(), &["sync", "--yes"]);
    // The history replays from empty: drift compares, and finds nothing.
    ok_in(dir.path(), &["drift"]);
    ok_in(dir.path(), &["rollback", "last", "--yes"]);
    std::fs::write(&yaml, &text).unwrap();
    let out = ok_in(dir.path(), &["drift"]);
    assert!(!out.contains("do not replay"), "{out}");
    // The rows and the index are as they were.
    let conn = Connection::open(&db).unwrap();
    let v: String = conn.query_row("SELECT v FROM t", [], |r| r.get(0)).unwrap();
    assert_eq!(v, "one");
    let hit: i64 = conn
        .query_row(
            "SELECT count(*) FROM docs WHERE docs MATCH 'hello'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(hit, 1);
    // The replay is a real comparison: a table dropped by hand is drift.
    conn.execute_batch("DROP TABLE t").unwrap();
    drop(conn);
    let err = fails_in(dir.path(), &["drift"], 2);
    assert!(!err.contains("do not replay"), "{err}");
}
