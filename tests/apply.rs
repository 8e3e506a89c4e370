//! `schemactl apply` and `sync` as processes on real files: the pipeline's promises.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use rusqlite::Connection;

/// A project: the repository's schema/, migrations/ and rollbacks/ copied into a temp dir.
struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new() -> Self {
        let dir =
            common::project_dir("database = \"data/memory.db\"\nbackups = \"data/backups\"\n");
        Project { dir }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn db(&self) -> PathBuf {
        self.path("data/memory.db")
    }

    fn cmd(&self) -> Command {
        let mut cmd = Command::cargo_bin("schemactl").unwrap();
        cmd.current_dir(self.dir.path())
            .env_remove("SCHEMACTL_DATABASE")
            .env("NO_COLOR", "1");
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().unwrap()
    }

    fn conn(&self) -> Connection {
        Connection::open(self.db()).unwrap()
    }

    /// Applies V1 to V3, then adds `n` patterns with an embedding each.
    fn with_rows(self, n: i64) -> Self {
        let out = self.run(&["apply", "--yes"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.conn()
            .execute_batch(&format!(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n})
                 INSERT INTO patterns (id, type, pattern_data, confidence, created_at, category)
                   SELECT 'p' || i, 'kind', 'data', 0.5, '2026-01-01', 'general' FROM n;
                 INSERT INTO pattern_embeddings SELECT id, zeroblob(32), 8, created_at FROM patterns;"
            ))
            .unwrap();
        self
    }

    fn count(&self, table: &str) -> i64 {
        self.conn()
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    }

    fn history(&self) -> Vec<(i32, String)> {
        if !self.db().exists() {
            return Vec::new();
        }
        let exists: bool = self
            .conn()
            .query_row(
                "SELECT count(*) > 0 FROM sqlite_schema WHERE name = '_schemactl_history'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        if !exists {
            return Vec::new();
        }
        self.conn()
            .prepare("SELECT version, name FROM _schemactl_history ORDER BY version")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    }

    /// Edits schema/memory.yaml so that patterns needs a rebuild (a CHECK on confidence).
    fn require_rebuild(&self) {
        common::require_rebuild(self.dir.path());
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

fn schema_of(conn: &Connection) -> schemactl::Schema {
    schemactl::inspect(conn).unwrap()
}

#[test]
fn the_repository_migrations_build_schema_memory_yaml() {
    let p = Project::new();
    let out = p.run(&["apply", "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let desired = schemactl::dsl::load(&p.path("schema")).unwrap();
    assert_eq!(desired.version, 3);
    assert_eq!(schema_of(&p.conn()), desired.schema);
    assert_eq!(
        p.history(),
        [
            (1, "initial_memory_schema".to_string()),
            (2, "add_pattern_category".to_string()),
            (3, "add_trajectory_type_index".to_string())
        ]
    );
    // The backup has its manifest, with the sha256 of the file.
    let manifests: Vec<PathBuf> = std::fs::read_dir(p.path("data/backups"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    assert_eq!(manifests.len(), 1);
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifests[0]).unwrap()).unwrap();
    let file = PathBuf::from(manifest["file"].as_str().unwrap());
    assert_eq!(
        manifest["sha256"].as_str().unwrap(),
        schemactl::backup::sha256_file(&file).unwrap()
    );
    assert_eq!(
        manifest["migrations"],
        serde_json::json!([
            "V1__initial_memory_schema",
            "V2__add_pattern_category",
            "V3__add_trajectory_type_index"
        ])
    );
    // A second apply has nothing to do.
    let again = p.run(&["apply", "--yes"]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("up to date at V3"));
}

#[test]
fn the_cascade_trap_through_apply_keeps_every_embedding() {
    let p = Project::new().with_rows(300);
    p.require_rebuild();
    let out = p.run(&["plan", "--write", "confidence_check"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v4 = std::fs::read_to_string(p.path("migrations/V4__confidence_check.sql")).unwrap();
    assert!(
        v4.contains("-- schemactl: foreign-keys off; check: pattern_embeddings"),
        "{v4}"
    );
    let out = p.run(&["apply", "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("rehearsal foreign_key_check: ok"),
        "{}",
        stderr(&out)
    );
    assert_eq!(p.count("patterns"), 300);
    assert_eq!(p.count("pattern_embeddings"), 300);
    assert_eq!(
        schema_of(&p.conn()),
        schemactl::dsl::load(&p.path("schema")).unwrap().schema
    );
}

#[test]
fn the_cascade_trap_through_sync_keeps_every_embedding() {
    let p = Project::new().with_rows(300);
    p.require_rebuild();
    let out = p.run(&["sync", "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(p.count("pattern_embeddings"), 300);
    let history = p.history();
    assert_eq!(history.len(), 4);
    assert!(history[3].1.starts_with("sync_"), "{history:?}");
    assert_eq!(
        schema_of(&p.conn()),
        schemactl::dsl::load(&p.path("schema")).unwrap().schema
    );
    // The sync is recorded with its reverse, and a later apply accepts it.
    let reverse: Option<String> = p
        .conn()
        .query_row(
            "SELECT reverse FROM _schemactl_migrations WHERE version = 4",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        reverse
            .unwrap()
            .contains("CREATE TABLE _schemactl_new_patterns")
    );
    let out = p.run(&["apply", "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn sync_refuses_destructive_steps_and_lint_findings_without_their_flags() {
    let p = Project::new().with_rows(5);
    p.conn()
        .execute("UPDATE patterns SET confidence = 1.5 WHERE id = 'p3'", [])
        .unwrap();
    p.require_rebuild();
    let out = p.run(&["sync", "--yes"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(
            "patterns: 1 row(s): CHECK (confidence BETWEEN 0 AND 1) on confidence (e.g. id='p3')"
        ),
        "{}",
        stderr(&out)
    );
    assert_eq!(p.history().len(), 3);
    p.conn()
        .execute("UPDATE patterns SET confidence = 1 WHERE id = 'p3'", [])
        .unwrap();
    // Dropping a column is destructive.
    let path = p.path("schema/memory.yaml");
    let text = common::without_last_used(&std::fs::read_to_string(&path).unwrap());
    std::fs::write(&path, text).unwrap();
    let out = p.run(&["sync", "--yes"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("--allow-destructive"),
        "{}",
        stderr(&out)
    );
    let out = p.run(&["sync", "--yes", "--allow-destructive"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(p.count("pattern_embeddings"), 5);
}

#[test]
fn a_migration_failing_halfway_changes_nothing() {
    for extra in [&[][..], &["--skip-rehearsal", "--skip-backup"][..]] {
        let p = Project::new().with_rows(10);
        std::fs::write(
            p.path("migrations/V4__half.sql"),
            "CREATE TABLE half (a);\nINSERT INTO half VALUES (1);\nDELETE FROM pattern_embeddings WHERE pattern_id = 'p1';\nINSERT INTO patterns (id) VALUES ('no-type');\n",
        )
        .unwrap();
        let before = schema_of(&p.conn());
        let out = p.run(&[&["apply", "--yes"][..], extra].concat());
        assert_eq!(out.status.code(), Some(1), "{extra:?}");
        let err = stderr(&out);
        assert!(
            err.contains("NOT NULL constraint failed: patterns.type"),
            "{err}"
        );
        assert!(
            err.contains("INSERT INTO patterns (id) VALUES ('no-type')"),
            "the failing statement is named: {err}"
        );
        if extra.is_empty() {
            assert!(
                err.contains("rehearsal failed, the live database was not touched"),
                "{err}"
            );
        } else {
            assert!(err.contains("nothing was changed"), "{err}");
        }
        assert_eq!(schema_of(&p.conn()), before);
        assert_eq!(p.count("pattern_embeddings"), 10);
        assert_eq!(p.history().len(), 3);
    }
}

#[test]
fn an_edited_applied_migration_is_refused() {
    let p = Project::new();
    assert!(p.run(&["apply", "--yes"]).status.success());
    let path = p.path("migrations/V2__add_pattern_category.sql");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("'general'", "'misc'")).unwrap();
    std::fs::write(
        p.path("migrations/V4__more.sql"),
        "CREATE TABLE more (a);\n",
    )
    .unwrap();
    let out = p.run(&["apply", "--yes"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("V2__add_pattern_category.sql changed after it was applied"),
        "{}",
        stderr(&out)
    );
    assert_eq!(p.history().len(), 3, "nothing else ran");
    // A missing applied file is refused too.
    std::fs::write(&path, text).unwrap();
    std::fs::remove_file(&path).unwrap();
    let out = p.run(&["apply", "--yes"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("V2__add_pattern_category was applied"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("its file is missing"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn concurrent_applies_never_double_apply() {
    let p = Project::new();
    let children: Vec<_> = (0..4)
        .map(|_| {
            std::process::Command::new(assert_cmd::cargo::cargo_bin("schemactl"))
                .current_dir(p.dir.path())
                .env_remove("SCHEMACTL_DATABASE")
                .args(["apply", "--yes"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<Output> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    for out in &outputs {
        assert!(out.status.success(), "{}", stderr(out));
    }
    let applied = outputs
        .iter()
        .filter(|o| String::from_utf8_lossy(&o.stdout).contains("applied V1__"))
        .count();
    assert_eq!(applied, 1, "exactly one process applies");
    assert_eq!(p.history().len(), 3);
}

#[test]
fn no_wait_fails_while_another_applier_holds_the_lock() {
    let p = Project::new();
    std::fs::create_dir_all(p.path("data")).unwrap();
    let lock = schemactl::db::lock::acquire(&p.db(), false, &mut |_| {}).unwrap();
    let out = p.run(&["apply", "--yes", "--no-wait"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("holds the lock"), "{}", stderr(&out));
    drop(lock);
    assert!(p.run(&["apply", "--yes", "--no-wait"]).status.success());
}

#[test]
fn a_writer_during_apply_loses_no_row() {
    let p = Project::new().with_rows(2000);
    p.conn().execute_batch("PRAGMA journal_mode = WAL").unwrap();
    p.require_rebuild();
    assert!(
        p.run(&["plan", "--write", "confidence_check"])
            .status
            .success()
    );
    let db = p.db();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        std::thread::spawn(move || writer(&db, &stop))
    };
    std::thread::sleep(std::time::Duration::from_millis(100));
    let out = p.run(&["apply", "--yes"]);
    std::thread::sleep(std::time::Duration::from_millis(100));
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let written = writer.join().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(written > 0);
    assert_eq!(
        p.count("metrics_log"),
        written,
        "every committed insert is there"
    );
    assert_eq!(p.count("pattern_embeddings"), 2000);
}

/// Inserts into metrics_log until stopped; returns how many inserts committed.
fn writer(db: &Path, stop: &std::sync::atomic::AtomicBool) -> i64 {
    let conn = Connection::open(db).unwrap();
    conn.busy_timeout(std::time::Duration::from_secs(30))
        .unwrap();
    let mut n = 0;
    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
        if conn
            .execute("INSERT INTO metrics_log (metric_name, metric_value, timestamp) VALUES ('w', 1, 'now')", [])
            .is_ok()
        {
            n += 1;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    n
}

#[test]
fn dry_run_and_status_change_nothing() {
    let p = Project::new();
    let out = p.run(&["apply", "--dry-run"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("pending for") && text.contains("CREATE TABLE patterns"),
        "{text}"
    );
    assert_eq!(p.history().len(), 0);
    let out = p.run(&["status", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["pending"],
        serde_json::json!([
            "V1__initial_memory_schema",
            "V2__add_pattern_category",
            "V3__add_trajectory_type_index"
        ])
    );
    assert_eq!(v["current_version"], serde_json::Value::Null);
    assert_eq!(v["schema_matches"], false);
}

#[test]
fn apply_without_yes_off_a_terminal_asks_and_refuses() {
    let p = Project::new();
    let out = p.run(&["apply"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("pass --yes"), "{}", stderr(&out));
    assert_eq!(p.history().len(), 0);
}

/// Issue 20, point 2: a destructive migration over tables with no rows loses nothing and runs
/// without --allow-destructive (a new database built from the migrations, the README's CI
/// recipe); the gate stays whenever a row would be lost, counted just before the drop, also
/// when the rows are written by an earlier migration of the same run, and whatever the case
/// of the table's name.
#[test]
fn the_destructive_gate_fires_only_when_a_row_would_be_lost() {
    let drop_v4 = "CREATE TABLE scratch (a);\n";
    let drop_v5 = "DROP TABLE SCRATCH;\nDROP INDEX idx_patterns_last_used;\nALTER TABLE patterns DROP COLUMN last_used;\n";
    // A new database: V1 to V5 in one run, the dropped table and column empty.
    let p = Project::new();
    std::fs::write(p.path("migrations/V4__scratch.sql"), drop_v4).unwrap();
    std::fs::write(p.path("migrations/V5__drop_scratch.sql"), drop_v5).unwrap();
    let out = p.run(&["apply", "--yes", "--skip-backup"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out)
            .contains("V5__drop_scratch drop(s) only empty tables or columns, or TEMP tables it made: nothing can be lost"),
        "{}",
        stderr(&out)
    );
    assert_eq!(p.history().len(), 5);

    // Rows in the table a step drops: refused before anything runs, naming the table.
    let p = Project::new().with_rows(3);
    std::fs::write(p.path("migrations/V4__scratch.sql"), drop_v4).unwrap();
    std::fs::write(p.path("migrations/V5__drop_scratch.sql"), drop_v5).unwrap();
    let before = schema_of(&p.conn());
    let out = p.run(&["apply", "--yes"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("\"patterns\".\"last_used\" of 3 row(s)")
            && stderr(&out).contains("--allow-destructive"),
        "{}",
        stderr(&out)
    );
    assert_eq!(schema_of(&p.conn()), before);
    assert_eq!(p.count("patterns"), 3);
    assert_eq!(p.history().len(), 3);

    // Rows written by an earlier migration of the same run into a table a later one drops:
    // the count in the transaction stops it, and nothing changes.
    let p = Project::new();
    std::fs::write(
        p.path("migrations/V4__scratch.sql"),
        "CREATE TABLE scratch (a);\nINSERT INTO scratch VALUES (1);\n",
    )
    .unwrap();
    std::fs::write(
        p.path("migrations/V5__drop_scratch.sql"),
        "DROP TABLE Scratch;\n",
    )
    .unwrap();
    for extra in [&[][..], &["--skip-rehearsal"][..]] {
        let out = p.run(&[&["apply", "--yes", "--skip-backup"][..], extra].concat());
        assert_eq!(out.status.code(), Some(1), "{extra:?} {}", stderr(&out));
        assert!(
            stderr(&out).contains("drops table \"Scratch\" with 1 row(s)"),
            "{}",
            stderr(&out)
        );
        assert_eq!(p.history().len(), 0, "{extra:?}");
    }
    let out = p.run(&["apply", "--yes", "--skip-backup", "--allow-destructive"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(p.history().len(), 5);
}
