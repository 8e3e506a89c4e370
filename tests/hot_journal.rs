//! A writer that crashed mid-transaction (rollback-journal mode) leaves a hot `-journal`. A
//! read-only connection cannot roll it back: every command that reads the database read-only
//! names the crash and the fix (exit 1, nothing changed), and the fix works (`backup` opens it
//! read-write, SQLite rolls the journal back, the rows are as they were before the crash).

mod common;

use std::path::Path;

use common::{schemactl, stderr, stdout};
use rusqlite::Connection;

const SCHEMA: &str = "schemactl: 1\nversion: 1\ntables:\n  t:\n    columns:\n      id: {type: INTEGER, primary_key: true}\n      v: {type: TEXT}\n";

/// The database at `p/db.sqlite` as a crash mid-transaction leaves it: the database file
/// with some of the transaction's pages written into it, and its hot journal. Made by
/// copying both files while the transaction is open (a copy nobody holds a lock on).
fn crashed(p: &Path) {
    let scratch = p.join("scratch");
    std::fs::create_dir_all(&scratch).unwrap();
    let db = scratch.join("db.sqlite");
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch(
        "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);
         WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000)
         INSERT INTO t(v) SELECT 'before-' || x FROM c;",
    )
    .unwrap();
    conn.execute_batch("PRAGMA cache_size = 5; BEGIN; UPDATE t SET v = 'overwritten';")
        .unwrap();
    std::fs::copy(&db, p.join("db.sqlite")).unwrap();
    std::fs::copy(
        scratch.join("db.sqlite-journal"),
        p.join("db.sqlite-journal"),
    )
    .unwrap();
    conn.execute_batch("ROLLBACK").unwrap();
}

#[test]
fn read_only_commands_name_the_crashed_writer_and_the_fix() {
    let dir = common::temp_dir();
    let p = dir.path();
    std::fs::create_dir_all(p.join("schema")).unwrap();
    std::fs::write(p.join("schema/s.yaml"), SCHEMA).unwrap();
    std::fs::write(
        p.join("schemactl.toml"),
        "database = \"db.sqlite\"\nbackups = \"backups\"\n",
    )
    .unwrap();
    crashed(p);
    let db = std::fs::read(p.join("db.sqlite")).unwrap();
    let journal = std::fs::read(p.join("db.sqlite-journal")).unwrap();
    assert!(!journal.is_empty());
    let want = format!(
        "a crashed writer left {}-journal",
        p.join("db.sqlite").display()
    );
    for cmd in [
        &["check"][..],
        &["stats"],
        &["status"],
        &["plan"],
        &["drift"],
        &["import"],
        &["graph", "--live"],
    ] {
        let out = schemactl(p, cmd);
        assert_eq!(out.status.code(), Some(1), "{cmd:?}: {}", stdout(&out));
        assert!(
            stderr(&out).contains(&want) && stderr(&out).contains("schemactl backup"),
            "{cmd:?}: {}",
            stderr(&out)
        );
        assert!(
            !stderr(&out).contains("attempt to write a readonly database"),
            "{}",
            stderr(&out)
        );
        assert_eq!(std::fs::read(p.join("db.sqlite")).unwrap(), db, "{cmd:?}");
        assert_eq!(
            std::fs::read(p.join("db.sqlite-journal")).unwrap(),
            journal,
            "{cmd:?}"
        );
    }
    // The fix it names: the journal is rolled back, the rows are as before the crash.
    let out = schemactl(p, &["backup"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = schemactl(p, &["check"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let conn = Connection::open(p.join("db.sqlite")).unwrap();
    let overwritten: i64 = conn
        .query_row("SELECT count(*) FROM t WHERE v = 'overwritten'", [], |r| {
            r.get(0)
        })
        .unwrap();
    let rows: i64 = conn
        .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
        .unwrap();
    assert_eq!((overwritten, rows), (0, 3000));
}
