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

/// A project at V1 with rows in a and b, and a table `old_t` of a's shape holding `held`
/// rows of its own.
fn project_with_old(held: usize) -> tempfile::TempDir {
    let p = project();
    let conn = Connection::open(p.path().join("db.sqlite")).unwrap();
    conn.execute_batch("CREATE TABLE old_t (id INTEGER, v TEXT, w INTEGER);")
        .unwrap();
    for i in 0..held {
        conn.execute("INSERT INTO old_t VALUES (?1, 'own', 0)", [100 + i as i64])
            .unwrap();
    }
    p
}

fn old_values(p: &tempfile::TempDir) -> Vec<String> {
    Connection::open(p.path().join("db.sqlite"))
        .unwrap()
        .prepare("SELECT v FROM old_t ORDER BY rowid")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

/// Fixer AE: rows copied out into a table that existed before the migration (empty, emptied
/// first, or holding rows of its own), then back with a rewrite, are refused; a faithful copy
/// through an empty one is proven, and through one that holds rows of its own (or one renamed
/// into the dropped table's place) is refused as SQL the proof cannot follow.
#[test]
fn a_copy_out_into_a_table_that_existed_before_is_followed() {
    let rewrite = "INSERT INTO a SELECT id, upper(v), w FROM old_t;";
    let faithful = "INSERT INTO a SELECT id, v, w FROM old_t WHERE id < 100;";
    for (held, v2) in [
        (
            0,
            format!("INSERT INTO old_t SELECT * FROM a; {NEW} {rewrite}"),
        ),
        (
            2,
            format!("DELETE FROM old_t; INSERT INTO old_t SELECT * FROM a; {NEW} {rewrite}"),
        ),
        (
            0,
            format!("INSERT OR REPLACE INTO old_t SELECT * FROM a; {NEW} {rewrite}"),
        ),
        (
            0,
            format!(
                "INSERT INTO old_t SELECT * FROM a; UPDATE old_t SET v = upper(v); {NEW} INSERT INTO a SELECT * FROM old_t;"
            ),
        ),
        (
            2,
            format!("INSERT INTO old_t SELECT * FROM a; {NEW} {rewrite}"),
        ),
        (
            2,
            format!("INSERT INTO old_t SELECT * FROM a; {NEW} {faithful}"),
        ),
        (
            0,
            format!(
                "CREATE TABLE old2 (id INTEGER, v TEXT, w INTEGER); INSERT INTO old_t SELECT * FROM a; INSERT INTO old2 SELECT * FROM old_t; {NEW} INSERT INTO a SELECT id, upper(v), w FROM old2;"
            ),
        ),
        (
            0,
            "INSERT INTO old_t SELECT id, upper(v), w FROM a; DROP TABLE a; ALTER TABLE old_t RENAME TO a;".to_string(),
        ),
    ] {
        let p = project_with_old(held);
        std::fs::write(p.path().join("migrations/V2__hand.sql"), &v2).unwrap();
        let err = fails_in(
            p.path(),
            &["apply", "--yes", "--verify", "--allow-destructive"],
            1,
        );
        assert!(err.contains("row proof: table \"a\""), "{v2}\n{err}");
        assert_eq!(values(&p), ["a1", "a2", "a3"], "{v2}");
        assert_eq!(old_values(&p), vec!["own"; held], "{v2}");
    }
    for (held, v2) in [
        (
            0,
            format!("INSERT INTO old_t SELECT * FROM a; {NEW} INSERT INTO a SELECT * FROM old_t;"),
        ),
        (
            2,
            format!(
                "DELETE FROM old_t; INSERT INTO old_t SELECT * FROM a; {NEW} INSERT INTO a SELECT * FROM old_t; DELETE FROM old_t;"
            ),
        ),
    ] {
        let p = project_with_old(held);
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
