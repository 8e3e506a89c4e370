//! The row-count check follows the migrations' writes into what the triggers they fire write,
//! as the row proof does (h25_04): a seed row inserted into a table with an audit trigger, or
//! an update that fires one, changes the audit table's count on purpose, and the run says so.
//! Rows removed are still gated on their own.

mod common;

use std::path::Path;

use common::{empty_project, fails_in, ok_all, ok_in};
use rusqlite::Connection;

fn count(db: &Path, table: &str) -> i64 {
    Connection::open(db)
        .expect("open")
        .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .expect("count")
}

#[test]
fn rows_a_fired_trigger_writes_are_the_migrations_own() {
    let dir = empty_project();
    let d = dir.path();
    let db = d.join("db.sqlite");
    std::fs::write(
        d.join("migrations/V1__app.sql"),
        "CREATE TABLE e (id INTEGER PRIMARY KEY, k TEXT);\n\
         CREATE TABLE audit (what TEXT);\n\
         CREATE TABLE audit2 (what TEXT);\n\
         CREATE TABLE precious (id INTEGER PRIMARY KEY);\n\
         INSERT INTO precious VALUES (1), (2);\n\
         CREATE TRIGGER e_ins AFTER INSERT ON e BEGIN INSERT INTO audit VALUES ('ins ' || new.k); END;\n\
         CREATE TRIGGER e_upd AFTER UPDATE ON e BEGIN INSERT INTO audit VALUES ('upd ' || new.k); END;\n\
         CREATE TRIGGER audit_ins AFTER INSERT ON audit BEGIN INSERT INTO audit2 VALUES (new.what); END;\n",
    )
    .expect("V1");
    ok_in(d, &["apply", "--yes"]);
    std::fs::write(
        d.join("migrations/V2__seed.sql"),
        "INSERT INTO e (k) VALUES ('seed');\n",
    )
    .expect("V2");
    let out = ok_all(d, &["apply", "--yes", "--verify"]);
    assert!(
        out.contains("audit: 0 → 1") && out.contains("audit2: 0 → 1"),
        "{out}"
    );
    std::fs::write(
        d.join("migrations/V3__touch.sql"),
        "UPDATE e SET k = 'touched';\n",
    )
    .expect("V3");
    let out = ok_all(d, &["apply", "--yes"]);
    assert!(out.contains("audit: 1 → 2"), "{out}");
    assert_eq!((count(&db, "audit"), count(&db, "audit2")), (2, 2));
    // A trigger that deletes rows is followed too, and its deletions are still gated.
    std::fs::write(
        d.join("migrations/V4__purge.sql"),
        "CREATE TRIGGER e_del AFTER DELETE ON e BEGIN DELETE FROM precious; END;\nDELETE FROM e;\n",
    )
    .expect("V4");
    let err = fails_in(d, &["apply", "--yes"], 1);
    assert!(err.contains("precious"), "{err}");
    assert_eq!(count(&db, "precious"), 2);
}
