//! `schemactl drift`: each kind of drift, with its exit code and its diff.

mod common;

use std::process::Output;

use assert_cmd::Command;
use rusqlite::Connection;

/// A project whose database has this repository's migrations applied: no drift.
fn project() -> tempfile::TempDir {
    let dir = common::project_dir("database = \"memory.db\"\nbackups = \"backups\"\n");
    assert!(run(&dir, &["apply", "--yes"]).status.success());
    dir
}

fn run(dir: &tempfile::TempDir, args: &[&str]) -> Output {
    let mut cmd = Command::cargo_bin("schemactl").unwrap();
    cmd.current_dir(dir.path())
        .env_remove("SCHEMACTL_DATABASE")
        .env("NO_COLOR", "1");
    cmd.args(args).output().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn no_drift_exits_0() {
    let dir = project();
    let out = run(&dir, &["drift"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout(&out).contains("no drift"));
}

#[test]
fn a_hand_made_index_is_drift() {
    let dir = project();
    Connection::open(dir.path().join("memory.db"))
        .unwrap()
        .execute_batch("CREATE INDEX by_hand ON patterns (usage_count)")
        .unwrap();
    let out = run(&dir, &["drift"]);
    assert_eq!(out.status.code(), Some(2));
    let text = stdout(&out);
    assert!(
        text.contains("drift: the live schema is not what its applied migrations build"),
        "{text}"
    );
    assert!(
        text.contains("+CREATE INDEX by_hand ON patterns (usage_count);"),
        "{text}"
    );
    let out = run(&dir, &["drift", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["drift"], true);
    assert_eq!(v["findings"][0]["kind"], "live_schema");
    assert!(
        v["findings"][0]["diff"]
            .as_str()
            .unwrap()
            .contains("+CREATE INDEX by_hand")
    );
}

#[test]
fn an_edited_migration_is_drift() {
    let dir = project();
    let path = dir.path().join("migrations/V2__add_pattern_category.sql");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("'general'", "'misc'")).unwrap();
    let out = run(&dir, &["drift"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stdout(&out).contains("V2__add_pattern_category.sql changed after it was applied"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_schema_change_without_a_migration_is_drift() {
    let dir = project();
    let path = dir.path().join("schema/memory.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace(
            "      ttl:        { type: INTEGER }",
            "      ttl:        { type: INTEGER, default: 60 }",
        ),
    )
    .unwrap();
    let out = run(&dir, &["drift"]);
    assert_eq!(out.status.code(), Some(2));
    let text = stdout(&out);
    assert!(
        text.contains("drift: schema/ has changes no migration covers"),
        "{text}"
    );
    assert!(
        text.contains("-  ttl INTEGER,") && text.contains("+  ttl INTEGER DEFAULT 60,"),
        "{text}"
    );
}

#[test]
fn a_pending_migration_is_drift() {
    let dir = project();
    std::fs::write(
        dir.path().join("migrations/V4__notes.sql"),
        "CREATE TABLE notes (body TEXT);\n",
    )
    .unwrap();
    let out = run(&dir, &["drift"]);
    assert_eq!(out.status.code(), Some(2));
    let text = stdout(&out);
    assert!(text.contains("drift: V4__notes ("), "{text}");
    assert!(text.contains("is not applied"), "{text}");
    // schema/ lacks the table the new migration creates: that shows too.
    assert!(
        text.contains("+CREATE TABLE notes") || text.contains("-CREATE TABLE notes"),
        "{text}"
    );
}

#[test]
fn a_missing_database_is_an_error_not_drift() {
    let dir = common::temp_dir();
    let out = run(&dir, &["drift", "--database", "nope.db"]);
    assert_eq!(out.status.code(), Some(1));
}

fn kinds(out: &Output) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap().to_string())
        .collect()
}

/// Issue 20, point 5: one missing applied file is one finding (no knock-on finding for the
/// migrations after it); a migration that does not replay has its own kind, reported once.
#[test]
fn each_cause_is_reported_once_under_its_own_kind() {
    let dir = project();
    let v2 = dir.path().join("migrations/V2__add_pattern_category.sql");
    let text = std::fs::read_to_string(&v2).unwrap();
    std::fs::remove_file(&v2).unwrap();
    let out = run(&dir, &["drift", "--format", "json"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(kinds(&out), ["missing"], "{}", stdout(&out));
    assert!(stdout(&out).contains("V2__add_pattern_category is applied but its file is missing"));
    std::fs::write(&v2, text).unwrap();

    // A pending migration that fails: `replay`, beside `pending`.
    let v4 = dir.path().join("migrations/V4__bad.sql");
    std::fs::write(&v4, "SELEC nonsense;\n").unwrap();
    let out = run(&dir, &["drift", "--format", "json"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(kinds(&out), ["pending", "replay"], "{}", stdout(&out));
    std::fs::remove_file(&v4).unwrap();

    // An applied migration edited into one that fails: `divergent`, and one
    // `replay_applied` (the same failure is not reported again as `replay`).
    let v3 = dir
        .path()
        .join("migrations/V3__add_trajectory_type_index.sql");
    std::fs::write(&v3, "CREATE INDEX broken ON nowhere (a);\n").unwrap();
    let out = run(&dir, &["drift", "--format", "json"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        kinds(&out),
        ["divergent", "replay_applied"],
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("no such table: main.nowhere") || stdout(&out).contains("nowhere")
    );
}

/// Every drift kind is listed in the README's drift section.
#[test]
fn the_readme_lists_every_drift_kind() {
    let readme = std::fs::read_to_string(common::repo_root().join("README.md")).unwrap();
    let start = readme.find("### `schemactl drift").unwrap();
    let section = &readme[start..start + readme[start..].find("\n### ").unwrap()];
    for kind in schemactl::drift::DriftKind::ALL {
        let name = serde_json::to_value(kind).unwrap();
        let name = name.as_str().unwrap();
        assert!(
            section.contains(&format!("`{name}`")),
            "README drift section lacks `{name}`"
        );
    }
}
