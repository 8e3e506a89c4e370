//! A database whose indexes use a collation this build of SQLite lacks (Android's
//! `LOCALIZED` and `UNICODE`, registered by the app that wrote it): `backup`, `check`,
//! `backup verify` and `restore` must work on it, say what they could not verify, and still
//! find every problem they can see. A property (32 cases): over random rows and one random
//! corruption of what does not need the collation (a BINARY index out of order, a NULL in a
//! NOT NULL column, a row breaking a CHECK, an index in the collation with the wrong number
//! of entries), the integrity check refuses the corrupt file and accepts the sound one.
//! `check` opens its database read-only, and SQLite leaves out the CHECK constraints of a file
//! opened so: its integrity check runs on a query-only connection of its own, and finds a row
//! breaking a CHECK, with or without such a collation.

mod common;

use std::path::Path;

use common::{empty_project, fails_in, ok_in, schemactl, stderr};
use proptest::prelude::*;
use rusqlite::Connection;

/// Android's LOCALIZED, roughly: case-insensitive order. Only the app (and this test) has it.
fn open_as_app(path: &Path) -> Connection {
    let conn = Connection::open(path).unwrap();
    conn.create_collation("LOCALIZED", |a: &str, b: &str| {
        a.to_lowercase().cmp(&b.to_lowercase()).then(a.cmp(b))
    })
    .unwrap();
    conn.create_collation("UNICODE", |a: &str, b: &str| b.cmp(a))
        .unwrap();
    conn
}

const ROOM_DDL: &str = "
CREATE TABLE android_metadata (locale TEXT);
CREATE TABLE contact (id INTEGER PRIMARY KEY, name TEXT COLLATE LOCALIZED NOT NULL,
  note TEXT, kind TEXT NOT NULL DEFAULT 'p', CHECK (kind IN ('p', 'w')));
CREATE INDEX contact_name ON contact(name);
CREATE UNIQUE INDEX contact_note ON contact(note COLLATE UNICODE) WHERE note IS NOT NULL;
CREATE INDEX contact_kind ON contact(kind);
CREATE TABLE word (w TEXT NOT NULL, n INTEGER);
CREATE INDEX word_w ON word(w);
";

/// A Room-style database at `path` with `rows` contacts and words.
fn room(path: &Path, rows: &[String]) {
    let conn = open_as_app(path);
    conn.execute_batch(ROOM_DDL).unwrap();
    conn.execute("INSERT INTO android_metadata VALUES ('en_US')", [])
        .unwrap();
    for (i, r) in rows.iter().enumerate() {
        conn.execute(
            "INSERT INTO contact (name, note, kind) VALUES (?1, ?2, ?3)",
            rusqlite::params![r, format!("{r}#{i}"), if i % 2 == 0 { "p" } else { "w" }],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO word (w, n) VALUES (?1, ?2)",
            rusqlite::params![format!("{r}{i}"), i as i64],
        )
        .unwrap();
    }
}

/// Every row of every table, with its rowid, and the schema, read as the app reads them.
fn contents(path: &Path) -> Vec<String> {
    let conn = open_as_app(path);
    let mut out: Vec<String> = conn
        .prepare("SELECT type || ' ' || name || ' ' || coalesce(sql, '') FROM sqlite_schema WHERE name NOT LIKE '\\_schemactl%' ESCAPE '\\' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    for t in ["android_metadata", "contact", "word"] {
        let mut stmt = conn
            .prepare(&format!("SELECT rowid, * FROM {t} ORDER BY rowid"))
            .unwrap();
        let n = stmt.column_count();
        let rows = stmt
            .query_map([], |r| {
                (0..n)
                    .map(|i| {
                        r.get::<_, rusqlite::types::Value>(i)
                            .map(|v| format!("{v:?}"))
                    })
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .unwrap();
        for row in rows {
            out.push(format!("{t}: {}", row.unwrap().join(", ")));
        }
    }
    out
}

fn integrity_as_app(path: &Path) -> String {
    open_as_app(path)
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn backup_check_verify_and_restore_work_without_the_collation() {
    let dir = empty_project();
    let db = dir.path().join("db.sqlite");
    let rows: Vec<String> = ["b", "A", "c", "é", "B"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    room(&db, &rows);
    let before = contents(&db);

    // backup: taken, and says what its check could not verify.
    let out = schemactl(dir.path(), &["backup", "--compress", "none"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("collation \"LOCALIZED\""), "{err}");
    assert!(err.contains("\"contact_name\""), "{err}");
    assert!(!err.contains("\"word_w\""), "{err}");

    // check: a warning naming the collation and the index, not a refusal.
    let json = ok_in(dir.path(), &["check", "--format", "json"]);
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{json}");
    assert_eq!(findings[0]["severity"], "warning", "{json}");
    assert!(
        findings[0]["message"]
            .as_str()
            .unwrap()
            .contains("contact_name"),
        "{json}"
    );
    assert_eq!(report["errors"], 0, "{json}");

    let verified = ok_in(dir.path(), &["backup", "verify", "--all"]);
    assert!(verified.contains("LOCALIZED"), "{verified}");

    // The app goes on writing; the restore gives back exactly what was backed up.
    open_as_app(&db)
        .execute_batch("DELETE FROM contact WHERE id > 2; INSERT INTO word VALUES ('z', 9);")
        .unwrap();
    let out = schemactl(dir.path(), &["restore", "--latest", "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(contents(&db), before);
    assert_eq!(integrity_as_app(&db), "ok");
}

#[test]
fn a_real_problem_beside_the_unknown_collation_is_still_found() {
    let dir = empty_project();
    let db = dir.path().join("db.sqlite");
    room(&db, &["x".into(), "y".into(), "z".into()]);
    // word_w (BINARY) now claims descending order: its entries are not where SQLite looks.
    corrupt(&db, Corruption::BinaryIndexOrder);
    let err = fails_in(dir.path(), &["backup"], 1);
    assert!(err.contains("word_w"), "{err}");
    assert!(
        !dir.path().join("backups").exists()
            || std::fs::read_dir(dir.path().join("backups"))
                .unwrap()
                .next()
                .is_none(),
        "a refused backup leaves no file"
    );
    let out = schemactl(dir.path(), &["check"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn check_finds_a_row_breaking_a_check_constraint() {
    for with_room in [false, true] {
        let dir = empty_project();
        let db = dir.path().join("db.sqlite");
        if with_room {
            room(&db, &["x".into(), "y".into()]);
        } else {
            let conn = Connection::open(&db).unwrap();
            conn.execute_batch(
                "CREATE TABLE word (w TEXT NOT NULL, n INTEGER); INSERT INTO word VALUES ('a', 1);",
            )
            .unwrap();
        }
        corrupt(&db, Corruption::Check);
        let out = schemactl(dir.path(), &["check", "--format", "json"]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        let json = common::stdout(&out);
        assert!(json.contains("CHECK constraint failed in word"), "{json}");
    }
}

#[derive(Debug, Clone, Copy)]
enum Corruption {
    /// A BINARY index's stored order reversed.
    BinaryIndexOrder,
    /// A NULL in a column declared NOT NULL afterwards.
    NotNull,
    /// A row that breaks a CHECK declared afterwards (on a table without the collation).
    Check,
    /// An index in the missing collation with fewer entries than rows.
    EntryCount,
}

/// Breaks the file behind SQLite's back (writable_schema), as a bad disk or a bad tool would.
fn corrupt(path: &Path, how: Corruption) {
    let conn = open_as_app(path);
    let sql = match how {
        Corruption::BinaryIndexOrder => {
            "UPDATE sqlite_schema SET sql = 'CREATE INDEX word_w ON word(w DESC)' WHERE name = 'word_w'"
        }
        Corruption::NotNull => {
            conn.execute("INSERT INTO word (w, n) VALUES ('-', NULL)", [])
                .unwrap();
            "UPDATE sqlite_schema SET sql = 'CREATE TABLE word (w TEXT NOT NULL, n INTEGER NOT NULL)' WHERE name = 'word'"
        }
        Corruption::Check => {
            conn.execute("INSERT INTO word (w, n) VALUES ('-', -1)", [])
                .unwrap();
            "UPDATE sqlite_schema SET sql = 'CREATE TABLE word (w TEXT NOT NULL, n INTEGER CHECK (n >= 0))' WHERE name = 'word'"
        }
        Corruption::EntryCount => {
            conn.execute_batch(
                "DROP INDEX contact_name; CREATE INDEX contact_name ON contact(name) WHERE id > 1;",
            )
            .unwrap();
            "UPDATE sqlite_schema SET sql = 'CREATE INDEX contact_name ON contact(name)' WHERE name = 'contact_name'"
        }
    };
    conn.execute_batch(&format!(
        "PRAGMA writable_schema = ON; {sql}; PRAGMA writable_schema = OFF;"
    ))
    .unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn integrity_check_without_the_collation_finds_what_it_can(
        rows in prop::collection::vec("[a-zA-Zé]{1,6}", 2..12),
        how in prop::sample::select(vec![
            Corruption::BinaryIndexOrder,
            Corruption::NotNull,
            Corruption::Check,
            Corruption::EntryCount,
        ]),
    ) {
        let dir = common::temp_dir();
        let sound = dir.path().join("sound.sqlite");
        room(&sound, &rows);
        let unverified = schemactl::backup::integrity_check(&sound);
        prop_assert!(unverified.is_ok(), "{unverified:?}");
        let unverified = unverified.unwrap();
        prop_assert_eq!(&unverified.collations, &vec!["LOCALIZED".to_string(), "UNICODE".to_string()]);
        prop_assert_eq!(
            &unverified.indexes,
            &vec!["contact_name".to_string(), "contact_note".to_string()]
        );
        prop_assert_eq!(&unverified.checks, &vec!["contact".to_string()]);

        let broken = dir.path().join("broken.sqlite");
        room(&broken, &rows);
        corrupt(&broken, how);
        // The app itself (with the collation) sees the problem ...
        prop_assert_ne!(integrity_as_app(&broken), "ok");
        // ... and so does the check without it.
        let checked = schemactl::backup::integrity_check(&broken);
        prop_assert!(checked.is_err(), "{how:?}: {checked:?}");
    }
}
