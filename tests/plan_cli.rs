//! `schemactl plan` as a process: formats, --check exit codes, lint in the output.

mod common;

use assert_cmd::Command;
use rusqlite::Connection;

fn schemactl(dir: &std::path::Path) -> Command {
    let mut cmd = Command::cargo_bin("schemactl").unwrap();
    cmd.current_dir(dir)
        .env_remove("SCHEMACTL_DATABASE")
        .env("NO_COLOR", "1");
    cmd
}

/// A project dir with the memory database at version 3 (two patterns, one with confidence
/// 1.5) and a schema that adds a CHECK on confidence and a `source` column.
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
        .execute_batch(
            "INSERT INTO patterns VALUES ('p1','t','d',1.5,0,'now',NULL,'general'), ('p2','t','d',0.5,0,'now',NULL,'general');
             INSERT INTO pattern_embeddings VALUES ('p1', x'00', 1, 'now');",
        )
        .unwrap();
    let schema = std::fs::read_to_string(common::repo_root().join("schema/memory.yaml")).unwrap();
    let edited = schema
        .replace("confidence:   { type: REAL, not_null: true, default: 0.5 }", "confidence:   { type: REAL, not_null: true, default: 0.5, check: \"confidence BETWEEN 0 AND 1\" }")
        .replace("      category:     { type: TEXT }\n", "      category:     { type: TEXT }\n      source:       { type: TEXT }\n");
    assert_ne!(schema, edited);
    std::fs::write(dir.path().join("changed.yaml"), edited).unwrap();
    std::fs::write(dir.path().join("same.yaml"), schema).unwrap();
    dir
}

#[test]
fn check_exits_2_when_changes_are_pending_and_0_when_not() {
    let dir = project();
    let run = |schema: &str| {
        schemactl(dir.path())
            .args(["plan", "--check", "-d", "m.db", "-s", schema])
            .output()
            .unwrap()
    };
    assert_eq!(run("changed.yaml").status.code(), Some(2));
    let same = run("same.yaml");
    assert_eq!(same.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&same.stdout).contains("nothing to do"));
    std::fs::write(
        dir.path().join("bad.yaml"),
        "schemactl: 1\nversion: 1\ntables: {t: {columns: {a: {typo: 1}}}}\n",
    )
    .unwrap();
    assert_eq!(run("bad.yaml").status.code(), Some(1));
}

#[test]
fn human_output_groups_by_table_and_shows_lint_findings() {
    let dir = project();
    let out = schemactl(dir.path())
        .args(["plan", "-d", "m.db", "-s", "changed.yaml"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("patterns\n  ~  1. rebuild table patterns"),
        "{text}"
    );
    assert!(text.contains("[rebuild]"), "{text}");
    assert!(
        text.contains(
            "x patterns: 1 row(s): CHECK (confidence BETWEEN 0 AND 1) on confidence (e.g. id='p1')"
        ),
        "{text}"
    );
    assert!(
        !text.contains("\x1b["),
        "no colour when NO_COLOR is set or stdout is not a terminal"
    );
}

#[test]
fn json_output_has_the_documented_fields() {
    let dir = project();
    let out = schemactl(dir.path())
        .args([
            "plan",
            "-d",
            "m.db",
            "-s",
            "changed.yaml",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["pending"], true);
    assert_eq!(v["schema_version"], 3);
    assert_eq!(v["foreign_keys_off"], true);
    let step = &v["steps"][0];
    assert_eq!(step["index"], 1);
    assert_eq!(step["kind"], "rebuild");
    assert_eq!(step["rebuild"], true);
    assert_eq!(step["destructive"], false);
    assert_eq!(step["table"], "patterns");
    assert!(
        step["forward"][0]
            .as_str()
            .unwrap()
            .starts_with("CREATE TABLE _schemactl_new_patterns")
    );
    assert!(step["reverse"].as_array().unwrap().len() > 3);
    let finding = &v["lint"][0];
    assert_eq!(finding["kind"], "check");
    assert_eq!(finding["count"], 1);
    assert_eq!(finding["table"], "patterns");
    assert_eq!(finding["samples"][0], "id='p1'");
}

#[test]
fn the_sql_script_runs_as_is_and_then_nothing_is_pending() {
    let dir = project();
    let db = dir.path().join("m.db");
    Connection::open(&db)
        .unwrap()
        .execute("UPDATE patterns SET confidence = 1 WHERE id = 'p1'", [])
        .unwrap();
    let out = schemactl(dir.path())
        .args([
            "plan",
            "-d",
            "m.db",
            "-s",
            "changed.yaml",
            "--format",
            "sql",
        ])
        .output()
        .unwrap();
    let script = String::from_utf8(out.stdout).unwrap();
    assert!(
        !script.lines().any(|l| l.starts_with('.')),
        "no dot-commands"
    );
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch(&script).unwrap();
    let embeddings: i64 = conn
        .query_row("SELECT count(*) FROM pattern_embeddings", [], |r| r.get(0))
        .unwrap();
    assert_eq!(embeddings, 1);
    drop(conn);
    let check = schemactl(dir.path())
        .args(["plan", "--check", "-d", "m.db", "-s", "changed.yaml"])
        .output()
        .unwrap();
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
}

#[test]
fn a_missing_database_is_planned_from_empty() {
    let dir = project();
    let out = schemactl(dir.path())
        .args([
            "plan",
            "-d",
            "new.db",
            "-s",
            "same.yaml",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist yet"));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["steps"].as_array().unwrap().len(), 6);
    assert!(
        !dir.path().join("new.db").exists(),
        "plan never creates the database"
    );
}
