//! How `sync` lives with migration files (issue 17, point 4), and the smaller promises a user
//! hit (point 5): dry runs create nothing, the lock never follows a link, misnamed migration
//! files are errors, `rollback --to`, the sync header, the plan's marks, `import --out`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use proptest::prelude::*;
use rusqlite::Connection;

struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    /// This repository's schema/, migrations/ and rollbacks/.
    fn new() -> Self {
        Project {
            dir: common::project_dir("database = \"data/memory.db\"\nbackups = \"data/backups\"\n"),
        }
    }

    /// A folder with only a schemactl.toml: no migration files, no schema.
    fn bare() -> Self {
        let dir = common::temp_dir();
        std::fs::write(
            dir.path().join("schemactl.toml"),
            "database = \"data/memory.db\"\nbackups = \"data/backups\"\nschema = \"schema.yaml\"\n",
        )
        .unwrap();
        Project { dir }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn db(&self) -> PathBuf {
        self.path("data/memory.db")
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::cargo_bin("schemactl")
            .unwrap()
            .current_dir(self.dir.path())
            .env_remove("SCHEMACTL_DATABASE")
            .env("NO_COLOR", "1")
            .args(args)
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?}: {}{}",
            stdout(&out),
            stderr(&out)
        );
        stdout(&out)
    }

    fn fails(&self, args: &[&str], code: i32) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}: {}{}",
            stdout(&out),
            stderr(&out)
        );
        stderr(&out)
    }

    fn edit_schema(&self, from: &str, to: &str) {
        let path = self.path("schema/memory.yaml");
        let text = std::fs::read_to_string(&path).unwrap();
        let edited = text.replacen(from, to, 1);
        assert_ne!(text, edited, "the edit applies");
        std::fs::write(path, edited).unwrap();
    }

    fn count(&self, sql: &str) -> i64 {
        Connection::open(self.db())
            .unwrap()
            .query_row(sql, [], |r| r.get(0))
            .unwrap()
    }
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

const ADD_NOTE: (&str, &str) = (
    "      category:     { type: TEXT }\n",
    "      category:     { type: TEXT }\n      note:         { type: TEXT }\n",
);

#[test]
fn sync_refuses_while_migration_files_are_pending_and_creates_nothing() {
    let p = Project::new();
    let err = p.fails(&["sync", "--yes"], 1);
    assert!(
        err.contains("migration files pending: V1__initial_memory_schema"),
        "{err}"
    );
    assert!(!p.db().exists(), "no database was created");
    // The case: another database and another schema, inside this project.
    std::fs::write(
        p.path("other.yaml"),
        "schemactl: 1\nversion: 1\ntables:\n  t:\n    columns:\n      id: { type: INTEGER, primary_key: true }\n",
    )
    .unwrap();
    let err = p.fails(
        &[
            "sync",
            "--database",
            "other.db",
            "--schema",
            "other.yaml",
            "--yes",
        ],
        1,
    );
    assert!(err.contains("sync never runs a migration file"), "{err}");
    assert!(!p.path("other.db").exists());
}

#[test]
fn sync_never_runs_a_pending_file_that_deletes_rows() {
    let p = Project::new();
    p.ok(&["apply", "--yes"]);
    Connection::open(p.db())
        .unwrap()
        .execute_batch("INSERT INTO patterns (id, type, pattern_data, created_at) VALUES ('a', 't', '{}', 'now')")
        .unwrap();
    std::fs::write(
        p.path("migrations/V4__purge.sql"),
        "DELETE FROM patterns;\n",
    )
    .unwrap();
    p.edit_schema(ADD_NOTE.0, ADD_NOTE.1);
    let err = p.fails(&["sync", "--yes"], 1);
    assert!(err.contains("V4__purge"), "{err}");
    assert_eq!(
        p.count("SELECT count(*) FROM patterns"),
        1,
        "no row was deleted"
    );
    assert_eq!(p.count("SELECT max(version) FROM _schemactl_history"), 3);
}

/// After sync exits 0, plan is empty; `plan --write` writes the sync as a file (same version,
/// name, SQL) instead of planning its change again; apply and drift agree.
#[test]
fn a_sync_is_written_as_a_file_by_plan_write_and_never_repeated() {
    let p = Project::new();
    p.ok(&["apply", "--yes"]);
    p.edit_schema(ADD_NOTE.0, ADD_NOTE.1);
    let dry = p.ok(&["sync", "--dry-run"]);
    assert!(
        !dry.contains("Generated by `schemactl plan --write`"),
        "{dry}"
    );
    assert!(dry.contains("Planned by `schemactl sync`"), "{dry}");
    let out = p.ok(&["sync", "--yes", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["command"], "sync");
    assert_eq!(v["version_before"], 3);
    assert_eq!(v["version_after"], 4);
    let sync_name = v["ran"][0].as_str().unwrap().to_string();
    assert!(sync_name.starts_with("V4__sync_"), "{sync_name}");
    p.ok(&["plan", "--check"]);

    let out = p.ok(&["plan", "--write", "add_note"]);
    assert!(out.contains(&format!("{sync_name}.sql")), "{out}");
    assert!(out.contains("nothing more to write"), "{out}");
    assert!(!p.path("migrations/V5__add_note.sql").exists());
    // The file is the recorded sync: apply has nothing to do, drift finds nothing, and the
    // files alone now build schema/.
    let out = p.ok(&["apply", "--yes"]);
    assert!(out.contains("up to date at V4"), "{out}");
    p.ok(&["drift"]);
    let out = p.ok(&["plan", "--write", "again"]);
    assert!(out.contains("nothing to write"), "{out}");
    // A fresh database gets the change from the files.
    p.ok(&["apply", "--yes", "--database", "data/fresh.db"]);
    p.ok(&["plan", "--check", "--database", "data/fresh.db"]);
}

/// A database that was never versioned (imported), synced: adopted in the same transaction,
/// so drift replays the history to the live schema and reports nothing.
#[test]
fn drift_after_a_sync_on_an_imported_database_is_clean() {
    let p = Project::bare();
    std::fs::create_dir_all(p.path("data")).unwrap();
    let conn = Connection::open(p.db()).unwrap();
    conn.execute_batch(common::MEMORY_DDL).unwrap();
    conn.execute_batch(
        "INSERT INTO patterns (id, type, pattern_data, created_at) VALUES ('a', 't', '{}', 'now')",
    )
    .unwrap();
    drop(conn);
    p.ok(&["import", "--out", "schema.yaml"]);
    let text = std::fs::read_to_string(p.path("schema.yaml")).unwrap();
    let edited = text.replacen(
        "      last_used: { type: TEXT }\n",
        "      last_used: { type: TEXT }\n      category: { type: TEXT }\n",
        1,
    );
    assert_ne!(text, edited, "{text}");
    std::fs::write(p.path("schema.yaml"), edited).unwrap();
    p.ok(&["sync", "--yes"]);
    p.ok(&["plan", "--check"]);
    p.ok(&["drift"]);
    assert_eq!(p.count("SELECT count(*) FROM patterns"), 1);
    let kinds: Vec<String> = Connection::open(p.db())
        .unwrap()
        .prepare("SELECT kind FROM _schemactl_migrations ORDER BY version")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(kinds, ["adopted", "sync"]);
    // The sync can be undone; then the live schema is still what its history (the adoption)
    // builds, and only schema.yaml is ahead.
    p.ok(&["rollback", "last", "--yes"]);
    let out = p.run(&["drift", "--format", "json"]);
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let kinds: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["uncovered"], "{v}");
    // The adoption itself has no reverse: rollback refuses it.
    p.fails(&["rollback", "last", "--yes"], 1);
}

#[test]
fn dry_runs_create_no_database_and_no_lock_file() {
    let p = Project::new();
    p.ok(&["apply", "--dry-run"]);
    assert!(!p.db().exists());
    assert!(!p.path("data").exists(), "not even its directory");
    p.ok(&["apply", "--yes"]);
    p.edit_schema(ADD_NOTE.0, ADD_NOTE.1);
    std::fs::remove_file(p.path("data/memory.db.schemactl-lock")).unwrap();
    p.ok(&["sync", "--dry-run"]);
    assert!(!p.path("data/memory.db.schemactl-lock").exists());
}

#[cfg(unix)]
#[test]
fn the_lock_file_never_follows_a_symlink() {
    let p = Project::new();
    std::fs::create_dir_all(p.path("data")).unwrap();
    let target = p.path("precious.txt");
    std::fs::write(&target, "keep me").unwrap();
    std::os::unix::fs::symlink(&target, p.path("data/memory.db.schemactl-lock")).unwrap();
    let err = p.fails(&["apply", "--yes"], 1);
    assert!(err.contains("not a regular file"), "{err}");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me");
    assert!(!p.db().exists(), "nothing was created");
}

#[test]
fn a_misnamed_migration_file_is_an_error_naming_it() {
    for name in ["V4__x.SQL", "v4__x.sql", "V4_x.sql"] {
        let p = Project::new();
        std::fs::write(p.path("migrations").join(name), "SELECT 1;\n").unwrap();
        let err = p.fails(&["apply", "--yes"], 1);
        assert!(err.contains(name), "{name}: {err}");
        assert!(!p.db().exists(), "{name}");
        let err = p.fails(&["status"], 1);
        assert!(err.contains(name), "{name}: {err}");
    }
    // A README beside the migrations is not one.
    let p = Project::new();
    std::fs::write(p.path("migrations/README.md"), "notes").unwrap();
    p.ok(&["apply", "--yes"]);
}

#[test]
fn rollback_to_undoes_everything_after_the_version() {
    let p = Project::new();
    p.ok(&["apply", "--yes"]);
    p.ok(&["rollback", "--to", "V1", "--yes"]);
    assert_eq!(p.count("SELECT max(version) FROM _schemactl_history"), 1);
    let err = p.fails(&["rollback", "--to", "V1", "--yes"], 1);
    assert!(err.contains("nothing is applied after V1"), "{err}");
    p.fails(&["rollback", "V1", "--to", "V1"], 1);
}

#[test]
fn plan_marks_a_dropped_index_with_a_minus() {
    let p = Project::new();
    p.ok(&["apply", "--yes"]);
    p.edit_schema(
        "      idx_task_trajectories_type:    { columns: [task_type, \"created_at DESC\"] }\n",
        "",
    );
    // The declared query that needs the index goes too (a schema whose query scans is valid).
    let out = p.run(&["plan"]);
    let text = stdout(&out);
    assert!(
        text.contains("  -  1. drop index idx_task_trajectories_type [safe]"),
        "{text}{}",
        stderr(&out)
    );
}

#[test]
fn import_out_onto_an_existing_file_names_it() {
    let p = Project::new();
    p.ok(&["apply", "--yes"]);
    std::fs::write(p.path("taken.yaml"), "mine").unwrap();
    let err = p.fails(&["import", "--out", "taken.yaml"], 1);
    assert!(err.contains("taken.yaml"), "{err}");
    assert!(err.contains("remove it, or choose another --out"), "{err}");
    assert_eq!(
        std::fs::read_to_string(p.path("taken.yaml")).unwrap(),
        "mine"
    );
}

#[test]
fn waiting_is_one_convention_and_the_other_flag_is_accepted() {
    let p = Project::new();
    p.ok(&["apply", "--yes", "--wait"]);
    p.ok(&["optimize", "--no-wait"]);
    p.ok(&["optimize", "--wait"]);
    p.ok(&["prune", "--dry-run", "--no-wait"]);
    p.fails(&["apply", "--wait", "--no-wait"], 1);
}

fn write_schema(dir: &Path, schema: &schemactl::Schema) {
    std::fs::write(
        dir.join("schema.yaml"),
        schemactl::dsl::export(schema, 1, "test"),
    )
    .unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// For random live and desired schemas, in a folder without migration files: a sync that
    /// succeeds leaves `plan` empty and `drift` clean (the adoption replays to the live schema),
    /// and a database built from the same schema with no history baselines nothing but V1 once
    /// the sync is written as files.
    #[test]
    fn after_sync_plan_is_empty_and_drift_is_clean(
        live in prop::collection::vec(common::schemas::raw_table(), 1..4),
        desired in prop::collection::vec(common::schemas::raw_table(), 1..4),
    ) {
        let live = common::schemas::build(&live);
        let desired = common::schemas::build(&desired);
        let p = Project::bare();
        std::fs::create_dir_all(p.path("data")).unwrap();
        let conn = Connection::open(p.db()).unwrap();
        schemactl::normal::create(&conn, &live).unwrap();
        let before = schemactl::inspect(&conn).unwrap();
        drop(conn);
        write_schema(p.dir.path(), &desired);
        let out = p.run(&["sync", "--yes", "--allow-destructive", "--skip-backup"]);
        if !out.status.success() && stderr(&out).contains("could not find its rows again") {
            // The stash's refusal (a table whose rows a stash could not pair again) comes before
            // anything runs: the database must be exactly as it was, and the case says nothing
            // about plan and drift after a sync.
            let conn = Connection::open(p.db()).unwrap();
            prop_assert_eq!(schemactl::inspect(&conn).unwrap(), before);
            return Ok(());
        }
        prop_assert!(out.status.success(), "{}", stderr(&out));
        let out = p.run(&["plan", "--check"]);
        prop_assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
        let out = p.run(&["drift"]);
        prop_assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
        // The history as files: another database at the live schema baselines at V1.
        let out = p.run(&["plan", "--write", "next"]);
        prop_assert!(out.status.success(), "{}", stderr(&out));
        let other = p.path("data/other.db");
        let conn = Connection::open(&other).unwrap();
        schemactl::normal::create(&conn, &live).unwrap();
        drop(conn);
        let out = p.run(&["baseline", "--database", "data/other.db"]);
        prop_assert!(out.status.success(), "{}", stderr(&out));
        prop_assert!(stdout(&out).contains("matches V1"), "{}", stdout(&out));
        let out = p.run(&["apply", "--yes", "--database", "data/other.db", "--allow-destructive", "--skip-backup"]);
        prop_assert!(out.status.success(), "{}", stderr(&out));
        let out = p.run(&["plan", "--check", "--database", "data/other.db"]);
        prop_assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    }
}
