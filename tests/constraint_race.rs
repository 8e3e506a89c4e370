//! A row that breaks a rule, written by another connection after the checks that run before
//! anything (the lint, the rollback's pre-check) and before the run: SQLite stops the run on
//! the constraint, the run rolls back, and the refusal names the rule and the row, not only
//! "constraint failed". For `sync` (SET NOT NULL and a named CHECK added natively) and for
//! `rollback` (of their native drops).
//!
//! No timing: the other connection holds the database's write lock, its row written but not
//! committed (invisible to schemactl's reads in WAL mode), from before schemactl starts; it
//! commits once the run's safety backup exists, which schemactl takes after its checks. schemactl's
//! run cannot begin its write transaction before that commit.

mod common;

use std::path::Path;

use assert_cmd::cargo::CommandCargoExt;
use rusqlite::Connection;

const STRICT: &str = "schemactl: 1\nversion: VERSION\ntables:\n  t:\n    columns:\n      id: { type: INTEGER, primary_key: true }\n      a: { type: INT, not_null: true }\n      b: { type: INT }\n    checks:\n      - { name: ck, expr: \"b < 10\" }\n";
const LOOSE: &str = "schemactl: 1\nversion: VERSION\ntables:\n  t:\n    columns:\n      id: { type: INTEGER, primary_key: true }\n      a: { type: INT }\n      b: { type: INT }\n";

fn write_schema(d: &Path, text: &str, version: u32) {
    std::fs::write(
        d.join("schema/s.yaml"),
        text.replace("VERSION", &version.to_string()),
    )
    .unwrap();
}

/// Runs schemactl with `args` while another connection writes a row breaking both rules
/// (NULL in a, 50 in b), committed once a backup labelled `label` exists.
fn race(d: &Path, args: &[&str], label: &str) -> (Option<i32>, String) {
    let db = d.join("db.sqlite");
    let backups = d.join("backups");
    let taken = |dir: &Path| {
        std::fs::read_dir(dir).map_or(0, |r| {
            r.filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().contains(label))
                .count()
        })
    };
    let before = taken(&backups);
    let writer = Connection::open(&db).unwrap();
    writer
        .execute_batch("BEGIN IMMEDIATE; INSERT INTO t VALUES (9001, NULL, 50);")
        .unwrap();
    let child = std::process::Command::cargo_bin("schemactl")
        .unwrap()
        .current_dir(d)
        .env_remove("SCHEMACTL_DATABASE")
        .env("NO_COLOR", "1")
        .env("SCHEMACTL_BUSY_TIMEOUT_MS", "120000")
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while taken(&backups) == before {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(120),
            "no {label} backup"
        );
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    writer.execute_batch("COMMIT").unwrap();
    let out = child.wait_with_output().unwrap();
    (out.status.code(), common::stderr(&out))
}

fn state(db: &Path) -> (String, i64, i64) {
    let conn = Connection::open(db).unwrap();
    let sql: String = conn
        .query_row("SELECT sql FROM sqlite_master WHERE name = 't'", [], |r| {
            r.get(0)
        })
        .unwrap();
    let version: i64 = conn
        .query_row(
            "SELECT coalesce(max(version), 0) FROM _schemactl_migrations",
            [],
            |r| r.get(0),
        )
        .unwrap_or(0);
    let rows: i64 = conn
        .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
        .unwrap();
    (sql, version, rows)
}

fn project(first: &str) -> tempfile::TempDir {
    let dir = common::empty_project();
    let d = dir.path();
    write_schema(d, first, 1);
    common::ok_in(d, &["sync", "--yes"]);
    let conn = Connection::open(d.join("db.sqlite")).unwrap();
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50) INSERT INTO t SELECT i, i, 1 FROM n;",
    )
    .unwrap();
    dir
}

fn assert_named(code: Option<i32>, err: &str) {
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("constraint failed"), "SQLite's refusal: {err}");
    for rule in [
        "NOT NULL on a (e.g. id=9001)",
        "CHECK (b < 10) (e.g. id=9001)",
    ] {
        assert!(err.contains(rule), "want {rule}\n{err}");
    }
    assert!(err.contains("nothing was changed"), "{err}");
}

#[test]
fn a_sync_stopped_by_a_row_written_meanwhile_names_the_rule_and_the_row() {
    let dir = project(LOOSE);
    let d = dir.path();
    let db = d.join("db.sqlite");
    write_schema(d, STRICT, 2);
    let (sql, version, rows) = state(&db);
    let (code, err) = race(d, &["sync", "--yes"], "pre-apply");
    assert_named(code, &err);
    assert_eq!(
        state(&db),
        (sql, version, rows + 1),
        "nothing changed but the row"
    );
}

#[test]
fn a_rollback_stopped_by_a_row_written_meanwhile_names_the_rule_and_the_row() {
    let dir = project(STRICT);
    let d = dir.path();
    let db = d.join("db.sqlite");
    write_schema(d, LOOSE, 2);
    common::ok_in(d, &["sync", "--yes"]);
    let (sql, version, rows) = state(&db);
    let (code, err) = race(d, &["rollback", "last", "--yes"], "pre-rollback");
    assert_named(code, &err);
    assert!(
        !err.contains("(_schemactl_migrations)"),
        "the reverse's origin in words: {err}"
    );
    assert_eq!(
        state(&db),
        (sql, version, rows + 1),
        "nothing changed but the row"
    );
}
