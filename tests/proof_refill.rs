//! Hostile report 16, h16_02/h16_03: a table copied out to a scratch table, dropped, made
//! again and filled back through a view, a TEMP view, a `WITH ... INSERT`, a trigger the
//! migration fires, or with its names written as strings, is never applied with a rewritten
//! value under `apply --verify --allow-destructive`: each is refused, nothing changes, and a
//! faithful copy back in a form the proof reads applies.

mod common;

use common::{empty_project, fails_in, ok_in, schemactl, stderr, stdout};
use rusqlite::Connection;

const V1: &str = "CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT, w INTEGER);\nCREATE TABLE b (id INTEGER PRIMARY KEY, v TEXT);\n";
const NEW: &str = "DROP TABLE a; CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT, w INTEGER);";

/// A project at V1 with rows in a and b.
fn project() -> tempfile::TempDir {
    let p = empty_project();
    std::fs::write(p.path().join("migrations/V1__init.sql"), V1).unwrap();
    ok_in(p.path(), &["apply", "--yes"]);
    Connection::open(p.path().join("db.sqlite"))
        .unwrap()
        .execute_batch(
            "INSERT INTO a (v, w) VALUES ('a1', 1), ('a2', 2), ('a3', 3); INSERT INTO b (v) VALUES ('b1');",
        )
        .unwrap();
    p
}

fn values(p: &tempfile::TempDir) -> Vec<String> {
    Connection::open(p.path().join("db.sqlite"))
        .unwrap()
        .prepare("SELECT v FROM a ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

#[test]
fn every_refill_that_rewrites_is_refused_by_apply_verify() {
    for v2 in [
        format!(
            "CREATE TABLE s AS SELECT * FROM a; CREATE VIEW sv AS SELECT id, upper(v) AS v, w FROM s; {NEW} INSERT INTO a SELECT * FROM sv; DROP VIEW sv; DROP TABLE s;"
        ),
        format!(
            "CREATE TEMP TABLE s AS SELECT * FROM a; CREATE TEMP VIEW sv AS SELECT id, upper(v) AS v, w FROM s; {NEW} INSERT INTO a SELECT * FROM sv; DROP TABLE s;"
        ),
        format!(
            "CREATE TABLE s AS SELECT * FROM a; {NEW} WITH x AS (SELECT id, upper(v), w FROM s) INSERT INTO a SELECT * FROM x; DROP TABLE s;"
        ),
        format!(
            "CREATE TABLE s AS SELECT * FROM a; {NEW} CREATE TEMP TRIGGER tr AFTER UPDATE ON b BEGIN INSERT INTO a SELECT id, upper(v), w FROM s; END; UPDATE b SET v = v; DROP TABLE s;"
        ),
        format!(
            "CREATE TABLE s AS SELECT * FROM 'a'; {NEW} INSERT INTO a SELECT id, upper(v), w FROM 's'; DROP TABLE s;"
        ),
    ] {
        let p = project();
        std::fs::write(p.path().join("migrations/V2__hand.sql"), &v2).unwrap();
        let err = fails_in(
            p.path(),
            &["apply", "--yes", "--verify", "--allow-destructive"],
            1,
        );
        assert!(err.contains("row proof: table \"a\""), "{v2}\n{err}");
        assert_eq!(values(&p), ["a1", "a2", "a3"], "{v2}");
    }
}

#[test]
fn a_faithful_refill_through_a_cte_or_a_view_applies() {
    for v2 in [
        format!(
            "CREATE TABLE s AS SELECT * FROM a; {NEW} WITH x AS (SELECT id, v, w FROM 's') INSERT INTO a SELECT * FROM x; DROP TABLE s;"
        ),
        format!(
            "CREATE TABLE s AS SELECT * FROM a; CREATE VIEW sv AS SELECT * FROM s; {NEW} INSERT INTO a SELECT * FROM sv; DROP VIEW sv; DROP TABLE s;"
        ),
    ] {
        let p = project();
        std::fs::write(p.path().join("migrations/V2__hand.sql"), &v2).unwrap();
        let run = schemactl(
            p.path(),
            &["apply", "--yes", "--verify", "--allow-destructive"],
        );
        let out = format!("{}{}", stdout(&run), stderr(&run));
        assert!(run.status.success(), "{v2}\n{out}");
        assert!(
            out.contains("rows: proven row by row (1 table(s), 3 row(s))"),
            "{v2}\n{out}"
        );
        assert_eq!(values(&p), ["a1", "a2", "a3"], "{v2}");
    }
}
