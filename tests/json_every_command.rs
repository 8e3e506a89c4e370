//! `--format json` prints exactly one JSON document on standard output, whatever the state:
//! every subcommand that has the format, run in the edge states of a project (no database yet,
//! nothing to do, no `queries:` or `retention:` declared, no migration files, no schema/), exits
//! 0 or 2 with one JSON document on standard output, or 1 with nothing on it (the error is on
//! standard error). Notes and progress never reach standard output in that format.

mod common;

use std::path::Path;

/// A project state.
#[derive(Debug, Clone, Copy)]
enum State {
    /// schema/ with one table; no database, no migration files.
    Fresh,
    /// Synced: the database matches schema/ (no queries, no retention rules declared).
    Synced,
    /// A migration file written (`plan --write`) and applied, then one more pending.
    FilePending,
    /// No schema/ (versioned only), a migration file applied.
    NoSchema,
}

const STATES: [State; 4] = [
    State::Fresh,
    State::Synced,
    State::FilePending,
    State::NoSchema,
];

const SCHEMA_V1: &str = "schemactl: 1\nversion: 1\ntables:\n  t:\n    columns:\n      id: { type: INTEGER, primary_key: true }\n      a: { type: TEXT }\n";
const SCHEMA_V2: &str = "schemactl: 1\nversion: 2\ntables:\n  t:\n    columns:\n      id: { type: INTEGER, primary_key: true }\n      a: { type: TEXT }\n      b: { type: TEXT }\n";

fn setup(state: State) -> tempfile::TempDir {
    let dir = common::temp_dir();
    let p = dir.path();
    for d in ["schema", "migrations", "rollbacks"] {
        std::fs::create_dir_all(p.join(d)).unwrap();
    }
    std::fs::write(
        p.join("schemactl.toml"),
        "database = \"db.sqlite\"\nbackups = \"backups\"\n",
    )
    .unwrap();
    std::fs::write(p.join("schema/s.yaml"), SCHEMA_V1).unwrap();
    match state {
        State::Fresh => {}
        State::Synced => {
            common::ok_in(p, &["sync", "--yes", "--skip-backup"]);
            let conn = rusqlite::Connection::open(p.join("db.sqlite")).unwrap();
            conn.execute_batch("INSERT INTO t VALUES (1, 'x');")
                .unwrap();
        }
        State::FilePending => {
            common::ok_in(p, &["plan", "--write", "init"]);
            common::ok_in(p, &["apply", "--yes", "--skip-backup"]);
            std::fs::write(p.join("schema/s.yaml"), SCHEMA_V2).unwrap();
            common::ok_in(p, &["plan", "--write", "add_b"]);
        }
        State::NoSchema => {
            std::fs::write(
                p.join("migrations/V1__init.sql"),
                "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT);\n",
            )
            .unwrap();
            common::ok_in(p, &["apply", "--yes", "--skip-backup"]);
            std::fs::remove_dir_all(p.join("schema")).unwrap();
        }
    }
    dir
}

/// Every subcommand with a JSON format, with the arguments of a run.
const COMMANDS: &[&[&str]] = &[
    &["plan", "--format", "json"],
    &["apply", "--dry-run", "--format", "json"],
    &["apply", "--yes", "--format", "json"],
    &["sync", "--dry-run", "--format", "json"],
    &["sync", "--yes", "--format", "json"],
    &["rollback", "last", "--dry-run", "--format", "json"],
    &[
        "rollback",
        "last",
        "--yes",
        "--allow-destructive",
        "--format",
        "json",
    ],
    &["stash", "list", "--format", "json"],
    &["drift", "--format", "json"],
    &["backup", "--format", "json"],
    &["backup", "list", "--format", "json"],
    &["restore", "--latest", "--yes", "--format", "json"],
    &["check", "--format", "json"],
    &["explain", "--format", "json"],
    &["explain", "--schema-only", "--format", "json"],
    &["prune", "--dry-run", "--format", "json"],
    &["prune", "--yes", "--format", "json"],
    &["stats", "--format", "json"],
    &["status", "--format", "json"],
    &["baseline", "--dry-run", "--format", "json"],
    &[
        "fleet",
        "plan",
        "--targets",
        "db.sqlite",
        "--format",
        "json",
    ],
    &[
        "fleet",
        "status",
        "--targets",
        "db.sqlite",
        "--format",
        "json",
    ],
];

fn check(p: &Path, state: State, args: &[&str]) -> Result<(), String> {
    let out = common::schemactl(p, args);
    let stdout = common::stdout(&out);
    let code = out.status.code();
    let context = || {
        format!(
            "{state:?} {args:?} exit {code:?}\nstdout: {stdout}\nstderr: {}",
            common::stderr(&out)
        )
    };
    match code {
        Some(0) | Some(2) => serde_json::from_str::<serde_json::Value>(&stdout)
            .map(|_| ())
            .map_err(|e| format!("not one JSON document ({e}): {}", context())),
        Some(1) if stdout.trim().is_empty() => Ok(()),
        Some(1) => Err(format!("an error with something on stdout: {}", context())),
        _ => Err(format!("no exit code 0, 1 or 2: {}", context())),
    }
}

#[test]
fn every_json_format_prints_one_json_document_in_every_edge_state() {
    let mut failures = Vec::new();
    for state in STATES {
        for args in COMMANDS {
            let dir = setup(state);
            if let Err(e) = check(dir.path(), state, args) {
                failures.push(e);
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
