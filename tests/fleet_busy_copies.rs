//! A database an application keeps busy is tried several times per fleet run; a try that
//! changed nothing leaves no safety copy behind (h17_04): the backups folder of a busy target
//! is as it was after `fleet apply` and after `fleet rollback`, and the database too.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::fleet::*;
use common::{stderr, stdout};
use rusqlite::Connection;

/// Runs schemactl in `dir` with a short busy wait.
fn run(dir: &Path, args: &[&str]) -> std::process::Output {
    use assert_cmd::cargo::CommandCargoExt;
    std::process::Command::cargo_bin("schemactl")
        .unwrap()
        .current_dir(dir)
        .env_remove("SCHEMACTL_DATABASE")
        .env("NO_COLOR", "1")
        .env("SCHEMACTL_BUSY_TIMEOUT_MS", "50")
        .args(args)
        .output()
        .unwrap()
}

/// The files of `dir` (none when it does not exist).
fn files(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Holds a write transaction on `db` (an application writing) until dropped.
fn hold(db: &Path) -> Connection {
    let conn = Connection::open(db).unwrap();
    conn.execute_batch("BEGIN IMMEDIATE; INSERT INTO notes (body) VALUES ('held');")
        .unwrap();
    conn
}

#[test]
fn a_busy_target_keeps_no_safety_copy_of_a_try_that_changed_nothing() {
    let dir = project();
    let p = dir.path();
    let targets = fleet(p, 2);
    let busy = p.join(&targets[0]);
    let backups = busy.with_file_name("backups");
    let apply = [
        "fleet",
        "apply",
        "--targets",
        GLOB,
        "--canary",
        "0",
        "--jobs",
        "1",
        "--allow-destructive",
        "--yes",
        "--format",
        "ndjson",
    ];

    let held = hold(&busy);
    let before = files(&backups);
    let out = run(p, &apply);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let (records, _) = ndjson(&stdout(&out));
    assert_eq!(records[&targets[0]]["outcome"], "busy", "{records:?}");
    assert!(records[&targets[0]]["backup"].is_null(), "{records:?}");
    assert_eq!(records[&targets[1]]["outcome"], "applied");
    assert_eq!(files(&backups), before, "a busy try left files behind");
    drop(held);
    assert_eq!(version(&busy), Some(2));

    // Converged; then rolled back while the application holds it again.
    let out = run(p, &apply);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let id = runs(p).last().unwrap().clone();
    let held = hold(&busy);
    let before = files(&backups);
    let out = run(
        p,
        &[
            "fleet", "rollback", "--run", &id, "--yes", "--format", "ndjson",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let (records, _) = ndjson(&stdout(&out));
    assert_eq!(records[&targets[0]]["outcome"], "busy", "{records:?}");
    assert_eq!(
        files(&backups),
        before,
        "a busy rollback try left files behind"
    );
    drop(held);
    assert_eq!(version(&busy), Some(3));
}
