//! `schemactl plan --format sql` with constraint ALTERs: the header names the SQLite the
//! script needs, and `--sqlite-compat` writes the rebuild form for an older shell.

mod common;

use rusqlite::Connection;

/// A project with the memory database (no NULL in `patterns.category`) and a schema that sets
/// NOT NULL on it.
fn project() -> tempfile::TempDir {
    let dir = common::temp_dir();
    let db = common::db_from_ddl(
        dir.path(),
        "m.db",
        &format!(
            "{}{}{}",
            common::MEMORY_DDL,
            common::RUNBOOK_V2,
            common::RUNBOOK_V3
        ),
    );
    Connection::open(db)
        .unwrap()
        .execute_batch("INSERT INTO patterns VALUES ('p1','t','d',0.5,0,'now',NULL,'general')")
        .unwrap();
    let schema = std::fs::read_to_string(common::repo_root().join("schema/memory.yaml")).unwrap();
    let edited = schema.replace(
        "      category:     { type: TEXT }\n",
        "      category:     { type: TEXT, not_null: true }\n",
    );
    assert_ne!(schema, edited, "the edit must apply");
    std::fs::create_dir_all(dir.path().join("schema")).unwrap();
    std::fs::write(dir.path().join("schema/memory.yaml"), edited).unwrap();
    dir
}

fn run_script(dir: &std::path::Path, script: &str) {
    let conn = Connection::open(dir.join("m.db")).unwrap();
    conn.execute_batch(script).unwrap();
    let not_null: bool = conn
        .query_row(
            "SELECT \"notnull\" FROM pragma_table_info('patterns') WHERE name = 'category'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(not_null);
}

#[test]
fn the_script_names_the_sqlite_it_needs_and_runs_in_place() {
    let dir = project();
    let script = common::ok_in(
        dir.path(),
        &["plan", "--database", "m.db", "--format", "sql"],
    );
    let head: Vec<&str> = script.lines().take(3).collect();
    assert_eq!(
        head,
        vec![
            "-- schemactl plan (forward): 1 step(s)",
            "-- Run with: sqlite3 -bail DB < this-file.sql",
            "-- Needs SQLite 3.53.0 or later (ALTER TABLE ... ADD CONSTRAINT, DROP CONSTRAINT, ALTER COLUMN ... NOT NULL); for an older sqlite3 shell: schemactl plan --format sql --sqlite-compat 3.40 writes the rebuild form",
        ],
        "{script}"
    );
    // Then only the guard table (made before the transaction, see script_all_or_nothing.rs),
    // and the transaction.
    let before_begin: Vec<&str> = script
        .lines()
        .skip(3)
        .take_while(|l| *l != "BEGIN IMMEDIATE;")
        .filter(|l| !l.starts_with("--"))
        .collect();
    assert_eq!(before_begin.len(), 2, "{script}");
    assert!(
        before_begin[0].starts_with("DROP TABLE IF EXISTS temp._schemactl_guard"),
        "{script}"
    );
    assert!(
        before_begin[1].starts_with("CREATE TEMP TABLE _schemactl_guard "),
        "{script}"
    );
    assert!(script.contains("\nBEGIN IMMEDIATE;\n"), "{script}");
    assert!(script.contains("\nALTER TABLE patterns ALTER COLUMN category SET NOT NULL;\n"));
    run_script(dir.path(), &script);
}

#[test]
fn sqlite_compat_writes_the_rebuild_form() {
    let dir = project();
    let script = common::ok_in(
        dir.path(),
        &[
            "plan",
            "--database",
            "m.db",
            "--format",
            "sql",
            "--sqlite-compat",
            "3.40",
        ],
    );
    assert!(!script.contains("ALTER COLUMN"), "{script}");
    assert!(!script.contains("Needs SQLite"), "{script}");
    assert!(
        script.contains("CREATE TABLE _schemactl_new_patterns"),
        "{script}"
    );
    assert!(script.contains("PRAGMA foreign_keys = OFF"), "{script}");
    run_script(dir.path(), &script);
}

#[test]
fn a_bad_or_too_old_compat_version_is_refused() {
    let dir = project();
    let err = common::fails_in(
        dir.path(),
        &["plan", "--database", "m.db", "--sqlite-compat", "3.20"],
        1,
    );
    assert!(
        err.contains("SQLite 3.20.0 is too old: schemactl's plans need 3.35.0 or later"),
        "{err}"
    );
    let err = common::fails_in(
        dir.path(),
        &["plan", "--database", "m.db", "--sqlite-compat", "latest"],
        1,
    );
    assert!(err.contains("\"latest\" is no SQLite version"), "{err}");
    common::fails_in(
        dir.path(),
        &["plan", "--write", "x", "--sqlite-compat", "3.40"],
        1,
    );
}

#[test]
fn the_json_plan_names_the_sqlite_each_direction_needs() {
    let dir = project();
    let plan = |extra: &[&str]| -> serde_json::Value {
        let args = [
            &["plan", "--database", "m.db", "--format", "json"][..],
            extra,
        ]
        .concat();
        serde_json::from_str(&common::ok_in(dir.path(), &args)).unwrap()
    };
    // SET NOT NULL forward; its reverse is DROP NOT NULL, in place too.
    assert_eq!(
        plan(&[])["requires_sqlite"],
        serde_json::json!({ "forward": "3.53.0", "reverse": "3.53.0" })
    );
    assert_eq!(
        plan(&["--sqlite-compat", "3.40"])["requires_sqlite"],
        serde_json::json!({ "forward": null, "reverse": null })
    );
}
