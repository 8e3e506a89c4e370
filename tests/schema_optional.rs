//! Every check that can fail runs before anything changes: for each state schema/ can be in
//! (missing, empty, a file that does not load, one the migrations do not cover, one they
//! build), `apply` (human and JSON) either succeeds, or exits 1 with the database exactly as
//! it was, never "an error after the commit". A project without schema files is a
//! versioned-only project: `check` runs the database's own checks, and fleet preflight calls
//! a database with tables and no history "not adopted", not "unreadable".

mod common;

use std::path::Path;

use common::{schemactl, stderr, stdout};

const SCHEMA_OK: &str = "schemactl: 1\nversion: 1\ntables:\n  t:\n    columns:\n      id: {type: INTEGER, primary_key: true}\n      v: {type: TEXT}\n";
const SCHEMA_MORE: &str = "schemactl: 1\nversion: 1\ntables:\n  t:\n    columns:\n      id: {type: INTEGER, primary_key: true}\n      v: {type: TEXT}\n      w: {type: TEXT}\n";

/// The states schema/ can be in.
const STATES: [(&str, Option<&str>); 5] = [
    ("missing", None),
    ("empty", Some("")),
    ("broken", Some("schemactl: 1\ntables: [\n")),
    ("uncovered", Some(SCHEMA_MORE)),
    ("covered", Some(SCHEMA_OK)),
];

fn project(schema: Option<&str>) -> tempfile::TempDir {
    let dir = common::temp_dir();
    let p = dir.path();
    std::fs::create_dir_all(p.join("migrations")).unwrap();
    std::fs::write(
        p.join("migrations/V1__init.sql"),
        "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);\n",
    )
    .unwrap();
    std::fs::write(
        p.join("schemactl.toml"),
        "database = \"db.sqlite\"\nbackups = \"backups\"\n",
    )
    .unwrap();
    if let Some(text) = schema {
        std::fs::create_dir_all(p.join("schema")).unwrap();
        if !text.is_empty() {
            std::fs::write(p.join("schema/s.yaml"), text).unwrap();
        }
    }
    dir
}

fn history(db: &Path) -> Vec<i64> {
    if !db.exists() {
        return Vec::new();
    }
    let conn = rusqlite::Connection::open(db).unwrap();
    let Ok(mut stmt) = conn.prepare("SELECT version FROM _schemactl_history ORDER BY version")
    else {
        return Vec::new();
    };
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn apply_succeeds_or_fails_with_nothing_changed_whatever_schema_holds() {
    for (state, schema) in STATES {
        for format in ["human", "json"] {
            let dir = project(schema);
            let p = dir.path();
            let out = schemactl(p, &["apply", "--yes", "--format", format]);
            let db = p.join("db.sqlite");
            match out.status.code() {
                Some(0) => {
                    assert_eq!(history(&db), vec![1], "{state} {format}");
                    if format == "json" {
                        let v: serde_json::Value = serde_json::from_str(&stdout(&out))
                            .unwrap_or_else(|e| panic!("{state}: {e}: {}", stdout(&out)));
                        assert_eq!(
                            v["uncovered_schema_changes"],
                            state == "uncovered",
                            "{state}"
                        );
                    }
                }
                Some(1) => {
                    assert!(!db.exists(), "{state} {format}: {}", stderr(&out));
                    assert_eq!(state, "broken", "{}", stderr(&out));
                }
                other => panic!("{state} {format}: exit {other:?}: {}", stderr(&out)),
            }
            if state != "broken" {
                assert_eq!(out.status.code(), Some(0), "{state}: {}", stderr(&out));
            }
            // A second apply on the applied database says so, exit 0.
            if out.status.success() {
                let again = schemactl(p, &["apply", "--yes", "--format", format]);
                assert_eq!(again.status.code(), Some(0), "{state}: {}", stderr(&again));
            }
        }
    }
}

#[test]
fn without_schema_files_check_runs_and_preflight_names_a_database_not_adopted() {
    for (state, schema) in &STATES[..2] {
        let dir = project(*schema);
        let p = dir.path();
        let out = schemactl(p, &["apply", "--yes"]);
        assert_eq!(out.status.code(), Some(0), "{state}: {}", stderr(&out));
        let out = schemactl(p, &["check"]);
        assert_eq!(out.status.code(), Some(0), "{state}: {}", stderr(&out));
        assert!(stdout(&out).contains("healthy"), "{}", stdout(&out));
        let conn = rusqlite::Connection::open(p.join("other.db")).unwrap();
        conn.execute_batch("CREATE TABLE x(id INTEGER)").unwrap();
        drop(conn);
        let out = schemactl(
            p,
            &["fleet", "plan", "--targets", "other.db", "--format", "json"],
        );
        assert_eq!(out.status.code(), Some(2), "{state}: {}", stderr(&out));
        let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(v["targets"][0]["state"], "not_adopted", "{state}: {v}");
    }
    // A schema file that does not load is the project's error, named once: exit 1.
    let dir = project(STATES[2].1);
    let p = dir.path();
    std::fs::write(p.join("a.db"), "").unwrap();
    let out = schemactl(p, &["fleet", "plan", "--targets", "a.db"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
}

#[test]
fn a_migration_that_needs_real_rows_applies_and_the_comparison_is_skipped() {
    // V2 reads a row V1's table holds: replayed from empty (to compare with schema/) it fails,
    // on the database it runs. The comparison is a report: it never fails the command.
    let dir = project(Some(SCHEMA_OK));
    let p = dir.path();
    let out = schemactl(p, &["apply", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    rusqlite::Connection::open(p.join("db.sqlite"))
        .unwrap()
        .execute("INSERT INTO t(v) VALUES ('first')", [])
        .unwrap();
    std::fs::write(
        p.join("migrations/V2__copy.sql"),
        "CREATE TABLE n(x TEXT NOT NULL);\nINSERT INTO n(x) SELECT (SELECT v FROM t LIMIT 1);\n",
    )
    .unwrap();
    for format in ["human", "json"] {
        let out = schemactl(p, &["apply", "--yes", "--format", format]);
        assert_eq!(out.status.code(), Some(0), "{format}: {}", stderr(&out));
    }
    assert_eq!(history(&p.join("db.sqlite")), vec![1, 2]);
}
