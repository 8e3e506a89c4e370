//! Generated and regular columns turning into each other. A regular column that becomes
//! generated loses its stored values to the computed ones: the step is destructive (sync
//! needs `--allow-destructive`), and its migration stashes the values, so that the rollback
//! brings them back. A generated column that becomes regular keeps its values: the computed
//! ones are copied into it, never NULL.

mod common;

use std::path::Path;

use rusqlite::Connection;
use schemactl::diff::diff;
use schemactl::dsl::Renames;
use schemactl::plan::{Direction, plan};
use schemactl::{apply, inspect};

fn project(dir: &Path, current: &str, desired_b: &str) {
    for sub in ["schema", "migrations", "rollbacks"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    std::fs::write(
        dir.join("schemactl.toml"),
        "database = \"db.sqlite\"\nschema = \"schema\"\nmigrations = \"migrations\"\nrollbacks = \"rollbacks\"\nbackups = \"backups\"\n",
    )
    .unwrap();
    let conn = Connection::open(dir.join("db.sqlite")).unwrap();
    conn.execute_batch(current).unwrap();
    std::fs::write(
        dir.join("schema/s.yaml"),
        format!(
            "schemactl: 1\nversion: 2\ntables:\n  t:\n    columns:\n      id: {{ type: INTEGER, primary_key: true }}\n      a: {{ type: TEXT }}\n      b: {desired_b}\n"
        ),
    )
    .unwrap();
}

fn run(dir: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_schemactl"))
        .args(args)
        .current_dir(dir)
        .env_remove("SCHEMACTL_DATABASE")
        .output()
        .unwrap()
}

fn b_values(dir: &Path) -> Vec<Option<String>> {
    let conn = Connection::open(dir.join("db.sqlite")).unwrap();
    let mut stmt = conn.prepare("SELECT b FROM t ORDER BY id").unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

fn some(v: &[&str]) -> Vec<Option<String>> {
    v.iter().map(|s| Some(s.to_string())).collect()
}

#[test]
fn regular_to_generated_is_destructive_and_rolls_back() {
    for stored in [false, true] {
        let tmp = common::temp_dir();
        let dir = tmp.path();
        project(
            dir,
            "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b TEXT);
             INSERT INTO t VALUES (1, 'x', 'typed by a user'), (2, 'y', 'another');",
            &format!("{{ type: TEXT, generated: {{ expr: \"a || '!'\", stored: {stored} }} }}"),
        );
        let plan = run(dir, &["plan", "--format", "json"]);
        let plan: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
        assert_eq!(plan["steps"][0]["destructive"], true, "{plan}");

        let refused = run(dir, &["sync", "--yes"]);
        assert_eq!(refused.status.code(), Some(1), "{refused:?}");
        assert_eq!(b_values(dir), some(&["typed by a user", "another"]));

        let out = run(dir, &["sync", "--yes", "--allow-destructive"]);
        assert!(out.status.success(), "{out:?}");
        assert_eq!(b_values(dir), some(&["x!", "y!"]));

        let out = run(dir, &["rollback", "last", "--yes"]);
        assert!(out.status.success(), "{out:?}");
        assert_eq!(
            b_values(dir),
            some(&["typed by a user", "another"]),
            "stored {stored}"
        );
    }
}

#[test]
fn generated_to_regular_keeps_the_values() {
    for stored in ["VIRTUAL", "STORED"] {
        let tmp = common::temp_dir();
        let dir = tmp.path();
        project(
            dir,
            &format!(
                "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b TEXT GENERATED ALWAYS AS (a || '!') {stored});
                 INSERT INTO t (id, a) VALUES (1, 'x'), (2, 'y');"
            ),
            "{ type: TEXT }",
        );
        let out = run(dir, &["sync", "--yes", "--allow-destructive"]);
        assert!(out.status.success(), "{out:?}");
        assert_eq!(b_values(dir), some(&["x!", "y!"]), "{stored}");
        // b is a plain column now: a change to a leaves it alone.
        let conn = Connection::open(dir.join("db.sqlite")).unwrap();
        conn.execute_batch("UPDATE t SET a = 'z' WHERE id = 1")
            .unwrap();
        drop(conn);
        assert_eq!(b_values(dir), some(&["x!", "y!"]));
    }
}

/// The same through the library, both ways, with the plan's SQL alone (no stash): generated
/// to regular keeps the computed values, in the forward and in the reverse of the opposite.
#[test]
fn the_plan_copies_computed_values() {
    let generated =
        "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b TEXT GENERATED ALWAYS AS (a || '!'))";
    let regular = "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b TEXT)";
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(generated).unwrap();
    conn.execute_batch("INSERT INTO t (id, a) VALUES (1, 'x')")
        .unwrap();
    let current = inspect(&conn).unwrap();
    let probe = Connection::open_in_memory().unwrap();
    probe.execute_batch(regular).unwrap();
    let desired = inspect(&probe).unwrap();
    let p = plan(
        &current,
        &desired,
        &diff(&current, &desired, &Renames::default()).unwrap(),
    );
    assert!(!p.steps[0].is_destructive());
    apply::execute(&conn, &p, Direction::Forward).unwrap();
    let b: String = conn.query_row("SELECT b FROM t", [], |r| r.get(0)).unwrap();
    assert_eq!(b, "x!");
    // Its reverse makes b generated again: destructive in that direction, computed again.
    apply::execute(&conn, &p, Direction::Reverse).unwrap();
    assert!(inspect(&conn).unwrap() == current);
}
