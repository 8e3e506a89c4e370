//! A WITHOUT ROWID table whose PRIMARY KEY is in a collation this build of SQLite lacks (an
//! application's `NOCASE_UTF8`), left alone with `exclude`: SQLite cannot read its rows, count
//! them through SQL, or check its order without the collation. A sync of the other tables must
//! still run, the row counts must count it (from its b-tree's pages, interior ones too: the
//! table here spans several levels), a migration that empties it is refused by those counts,
//! one that renames it runs and says what it could not prove or check, and `check` warns by
//! name.

mod common;

use std::path::Path;

use common::{empty_project, fails_in, schemactl, stderr, stdout};
use rusqlite::Connection;

/// The application's connection: it has the collation.
fn open_as_app(path: &Path) -> Connection {
    let conn = Connection::open(path).unwrap();
    conn.create_collation("NOCASE_UTF8", |a: &str, b: &str| {
        a.to_lowercase().cmp(&b.to_lowercase())
    })
    .unwrap();
    conn
}

const ROWS: i64 = 3000;

fn app_db(path: &Path) {
    let conn = open_as_app(path);
    conn.execute_batch(
        "CREATE TABLE k (name TEXT COLLATE NOCASE_UTF8 PRIMARY KEY, v INTEGER) WITHOUT ROWID;
         CREATE INDEX k_v ON k(v);
         CREATE TABLE other (id INTEGER PRIMARY KEY, x TEXT);
         INSERT INTO other (x) VALUES ('a'), ('b');",
    )
    .unwrap();
    // Long keys in mixed case: many pages, several levels, and an order that is not binary.
    conn.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
         INSERT INTO k SELECT CASE i % 2 WHEN 0 THEN 'Key' ELSE 'key' END || printf('%06d', i) || hex(zeroblob(40)), i % 7 FROM n",
        [ROWS],
    )
    .unwrap();
}

fn rows_of_k(path: &Path) -> i64 {
    open_as_app(path)
        .query_row("SELECT count(*) FROM k", [], |r| r.get(0))
        .unwrap()
}

fn both(out: &std::process::Output) -> String {
    format!("{}{}", stdout(out), stderr(out))
}

#[test]
fn a_without_rowid_key_in_a_missing_collation_is_counted_and_named() {
    let dir = empty_project();
    let p = dir.path();
    let db = p.join("db.sqlite");
    app_db(&db);
    std::fs::write(
        p.join("schemactl.toml"),
        "database = \"db.sqlite\"\nbackups = \"backups\"\nexclude = [\"k\"]\n",
    )
    .unwrap();
    std::fs::write(
        p.join("schema/app.yaml"),
        "schemactl: 1\nversion: 1\ntables:\n  other:\n    columns:\n      id: { type: INTEGER, primary_key: true }\n      x: { type: TEXT }\n      y: { type: TEXT }\nexclude:\n  - \"k\"\n",
    )
    .unwrap();
    let out = schemactl(p, &["sync", "--yes"]);
    let text = both(&out);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("rehearsal row counts: ok (2 table(s))"),
        "{text}"
    );
    assert_eq!(rows_of_k(&db), ROWS);

    // A migration that empties it (DELETE without WHERE needs no collation): the counts see it.
    let write = |v: &str, forward: &str| {
        std::fs::write(p.join(format!("migrations/{v}.sql")), forward).unwrap();
        std::fs::write(
            p.join(format!("rollbacks/{v}.sql")),
            "PRAGMA user_version = 0;\n",
        )
        .unwrap();
    };
    write("V3__empty_k", "DELETE FROM k;\n");
    let e = fails_in(p, &["apply", "--yes"], 1);
    assert!(
        e.contains("rows would disappear") && e.contains("k: 3,000 → 0"),
        "{e}"
    );
    assert_eq!(rows_of_k(&db), ROWS);
    std::fs::remove_file(p.join("migrations/V3__empty_k.sql")).unwrap();
    std::fs::remove_file(p.join("rollbacks/V3__empty_k.sql")).unwrap();

    // A migration that renames it (and back): it runs, and says what it could not read.
    write(
        "V3__rename_k",
        "ALTER TABLE k RENAME TO k_old;\nALTER TABLE k_old RENAME TO k;\n",
    );
    let out = schemactl(p, &["apply", "--yes"]);
    let text = both(&out);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains(
            "not proven: \"k\" (its rows cannot be read without collation \"NOCASE_UTF8\""
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "not checked: \"k\" (collation \"NOCASE_UTF8\" is not in this build of SQLite"
        ),
        "{text}"
    );
    assert_eq!(rows_of_k(&db), ROWS);
    let ok: String = open_as_app(&db)
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");

    // check: a warning that names the table whose order it could not verify, exit 0.
    let out = schemactl(p, &["check"]);
    let text = both(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("the order of the rows of WITHOUT ROWID table \"k\""),
        "{text}"
    );
}
