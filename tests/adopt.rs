//! Adopting the databases that exist (issue 17): the runbook's database baselined and brought
//! to head with every row kept; `baseline`'s proof, refusals and JSON; `apply`'s entry checks;
//! the `exclude` list in every command that compares schemas.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use rusqlite::Connection;
use rusqlite::types::Value;

/// The runbook's "Database Schema" DDL, verbatim: what every real `.swarm/memory.db` was
/// created with (`category` already there, and the operators' `migrations_applied` log).
/// [`the_embedded_ddl_is_the_runbooks`] holds it equal to the runbook when that is at hand.
const RUNBOOK_DDL: &str = "-- Core tables
CREATE TABLE patterns (
  id TEXT PRIMARY KEY,
  type TEXT NOT NULL,
  pattern_data TEXT NOT NULL,
  confidence REAL NOT NULL DEFAULT 0.5,
  usage_count INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  last_used TEXT,
  category TEXT
);

CREATE TABLE pattern_embeddings (
  pattern_id TEXT PRIMARY KEY,
  embedding BLOB NOT NULL,
  dimension INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  FOREIGN KEY (pattern_id) REFERENCES patterns(id) ON DELETE CASCADE
);

CREATE TABLE task_trajectories (
  id TEXT PRIMARY KEY,
  task_type TEXT NOT NULL,
  execution_data TEXT NOT NULL,
  outcome TEXT NOT NULL,
  execution_time_ms INTEGER,
  created_at TEXT NOT NULL
);

CREATE TABLE verification_history (
  id TEXT PRIMARY KEY,
  agent_name TEXT NOT NULL,
  task_id TEXT NOT NULL,
  truth_score REAL NOT NULL,
  verification_status TEXT NOT NULL,
  details TEXT,
  timestamp TEXT NOT NULL
);

CREATE TABLE memory_entries (
  namespace TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  ttl INTEGER,
  created_at TEXT NOT NULL,
  expires_at TEXT,
  PRIMARY KEY (namespace, key)
);

CREATE TABLE metrics_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  metric_name TEXT NOT NULL,
  metric_value REAL NOT NULL,
  timestamp TEXT NOT NULL
);

CREATE TABLE migrations_applied (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  filename TEXT NOT NULL UNIQUE,
  applied_at TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'success'
);

-- Indexes for performance
CREATE INDEX idx_patterns_confidence ON patterns(confidence DESC);
CREATE INDEX idx_patterns_type ON patterns(type);
CREATE INDEX idx_patterns_category ON patterns(category, confidence DESC);
CREATE INDEX idx_patterns_last_used ON patterns(last_used DESC);
CREATE INDEX idx_task_trajectories_created ON task_trajectories(created_at DESC);
CREATE INDEX idx_verification_history_agent ON verification_history(agent_name, timestamp DESC);
CREATE INDEX idx_memory_entries_expires ON memory_entries(expires_at);
";

/// Rows in every table, the operators' log included, with NULLs, blobs and an explicit
/// AUTOINCREMENT counter.
const ROWS: &str = "
INSERT INTO patterns VALUES ('p1', 'goap', '{\"a\":1}', 0.9, 3, '2026-01-01T00:00:00Z', '2026-02-01T00:00:00Z', 'goap_planning');
INSERT INTO patterns VALUES ('p2', 'coord', '{}', 0.4, 0, '2026-01-02T00:00:00Z', NULL, NULL);
INSERT INTO patterns VALUES ('p''3', 'x', 'it''s', 0.5, 1, '2026-01-03T00:00:00Z', NULL, 'general');
INSERT INTO pattern_embeddings VALUES ('p1', x'00ff10', 3, '2026-01-01T00:00:00Z');
INSERT INTO pattern_embeddings VALUES ('p2', x'', 0, '2026-01-02T00:00:00Z');
INSERT INTO task_trajectories VALUES ('t1', 'build', '{}', 'ok', 120, '2026-01-01T00:00:00Z');
INSERT INTO task_trajectories VALUES ('t2', 'test', '{}', 'failed', NULL, '2026-01-02T00:00:00Z');
INSERT INTO verification_history VALUES ('v1', 'coder', 't1', 0.97, 'passed', NULL, '2026-01-01T00:00:00Z');
INSERT INTO memory_entries VALUES ('ns', 'k1', 'v', 60, '2026-01-01T00:00:00Z', '2026-01-01T00:01:00Z');
INSERT INTO memory_entries VALUES ('ns', 'k2', 'v', NULL, '2026-01-01T00:00:00Z', NULL);
INSERT INTO metrics_log (id, metric_name, metric_value, timestamp) VALUES (41, 'latency', 1.5, '2026-01-01T00:00:00Z');
INSERT INTO metrics_log (metric_name, metric_value, timestamp) VALUES ('latency', 2.5, '2026-01-01T00:00:01Z');
INSERT INTO migrations_applied (filename, applied_at) VALUES ('20251015120000_add_pattern_category_index.sql', '2025-10-15 12:00:00');
INSERT INTO migrations_applied (filename, applied_at, status) VALUES ('20251016090000_tune.sql', '2025-10-16 09:00:00', 'failed');
";

/// A project with this repository's schema/, migrations/ and rollbacks/.
struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new() -> Self {
        Project {
            dir: common::project_dir("database = \"data/memory.db\"\nbackups = \"data/backups\"\n"),
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn db(&self) -> PathBuf {
        self.path("data/memory.db")
    }

    /// Creates data/memory.db from the runbook's DDL, with `ROWS`, and edits `edit` after.
    fn runbook_db(&self, edit: &str) {
        std::fs::create_dir_all(self.path("data")).unwrap();
        let conn = Connection::open(self.db()).unwrap();
        conn.execute_batch(RUNBOOK_DDL).unwrap();
        conn.execute_batch(ROWS).unwrap();
        conn.execute_batch(edit).unwrap();
    }

    fn run(&self, args: &[&str]) -> Output {
        common::schemactl(self.dir.path(), args)
    }

    fn ok(&self, args: &[&str]) -> String {
        common::ok_in(self.dir.path(), args)
    }

    fn fails(&self, args: &[&str], code: i32) -> String {
        common::fails_in(self.dir.path(), args, code)
    }

    fn history(&self) -> Vec<(i64, String, String)> {
        let conn = Connection::open(self.db()).unwrap();
        let mut stmt = conn
            .prepare("SELECT version, name, kind FROM _schemactl_migrations ORDER BY version")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }
}

use common::{stderr, stdout};

/// Every row of every table (the operators' log and sqlite_sequence included), with rowids,
/// in rowid order: the data, not only the schema.
fn all_rows(db: &Path) -> Vec<(String, Vec<Vec<Value>>)> {
    let conn = Connection::open(db).unwrap();
    let tables: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE '\\_schemactl%' ESCAPE '\\' ORDER BY name",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    tables
        .into_iter()
        .map(|t| {
            let sql = if t == "sqlite_sequence" {
                "SELECT * FROM sqlite_sequence ORDER BY name".to_string()
            } else {
                format!("SELECT rowid, * FROM \"{t}\" ORDER BY rowid")
            };
            let mut stmt = conn.prepare(&sql).unwrap();
            let n = stmt.column_count();
            let rows = stmt
                .query_map([], |r| (0..n).map(|i| r.get::<_, Value>(i)).collect())
                .unwrap()
                .collect::<Result<Vec<Vec<Value>>, _>>()
                .unwrap();
            (t, rows)
        })
        .collect()
}

#[test]
fn the_embedded_ddl_is_the_runbooks() {
    let runbook = common::repo_root().join("../shared/reference/database-operations-runbook.md");
    let Ok(text) = std::fs::read_to_string(&runbook) else {
        eprintln!(
            "note: {} is not here; the DDL is checked against the copy above",
            runbook.display()
        );
        return;
    };
    let block = text
        .split("### Database Schema\n\n```sql\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("the runbook's schema block");
    assert_eq!(block, RUNBOOK_DDL);
}

/// The issue's "done when": the runbook's database, rows everywhere, baselined, applied to
/// head; every row, the operators' log, `plan --check` and `drift` hold.
#[test]
fn a_runbook_database_is_baselined_applied_and_keeps_every_row() {
    let p = Project::new();
    p.runbook_db("");
    let before = all_rows(&p.db());
    let bytes_before = std::fs::read(p.db()).unwrap();

    // apply refuses before any backup, naming the version and the command.
    let err = p.fails(&["apply", "--yes"], 1);
    assert!(err.contains("has tables but no migration history"), "{err}");
    assert!(err.contains("it matches V2"), "{err}");
    assert!(err.contains("schemactl baseline --database"), "{err}");
    assert!(!p.path("data/backups").exists(), "no backup was taken");
    assert_eq!(
        std::fs::read(p.db()).unwrap(),
        bytes_before,
        "nothing changed"
    );

    let out = p.ok(&["baseline"]);
    assert!(out.contains("matches V2"), "{out}");
    assert_eq!(
        p.history(),
        vec![
            (1, "initial_memory_schema".into(), "baseline".into()),
            (2, "add_pattern_category".into(), "baseline".into()),
        ]
    );
    assert_eq!(all_rows(&p.db()), before, "a baseline runs nothing");

    let out = p.ok(&["apply", "--yes"]);
    assert!(
        out.contains("applied V3__add_trajectory_type_index"),
        "{out}"
    );
    assert_eq!(p.history().last().unwrap().0, 3);
    assert_eq!(
        all_rows(&p.db()),
        before,
        "every row, with its values, in its place"
    );
    let log: Vec<String> = Connection::open(p.db())
        .unwrap()
        .prepare("SELECT filename || '|' || status FROM migrations_applied ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        log,
        [
            "20251015120000_add_pattern_category_index.sql|success",
            "20251016090000_tune.sql|failed"
        ]
    );
    p.ok(&["plan", "--check"]);
    let out = p.ok(&["drift"]);
    assert!(out.contains("no drift"), "{out}");
    p.ok(&["status"]);
}

#[test]
fn baseline_without_a_match_refuses_and_shows_the_nearest_version_and_the_diff() {
    let p = Project::new();
    p.runbook_db("DROP INDEX idx_patterns_type;");
    let err = p.fails(&["baseline"], 1);
    assert!(err.contains("matches no version"), "{err}");
    assert!(err.contains("the nearest is V2"), "{err}");
    assert!(
        err.contains("-CREATE INDEX idx_patterns_type ON patterns (type);"),
        "{err}"
    );
    let tables: i64 = Connection::open(p.db())
        .unwrap()
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE name LIKE '\\_schemactl%' ESCAPE '\\'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(tables, 0, "nothing was recorded");
    // apply says the same, before any backup.
    let err = p.fails(&["apply", "--yes"], 1);
    assert!(err.contains("matches no version (nearest: V2"), "{err}");

    // Naming the version: the diff, and a question that off a terminal needs --yes.
    let out = p.run(&["baseline", "V2"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("-CREATE INDEX idx_patterns_type"),
        "{}",
        stdout(&out)
    );
    assert!(stderr(&out).contains("pass --yes"), "{}", stderr(&out));
    p.ok(&["baseline", "V2", "--yes"]);
    assert_eq!(p.history().len(), 2);
    // Already versioned: baseline refuses.
    let err = p.fails(&["baseline", "V2", "--yes"], 1);
    assert!(err.contains("already has a migration history"), "{err}");
}

#[test]
fn baseline_dry_run_and_json_create_and_record_nothing_but_say_what() {
    let p = Project::new();
    p.runbook_db("");
    let out = p.ok(&["baseline", "--dry-run", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["command"], "baseline");
    assert_eq!(v["dry_run"], true);
    assert_eq!(v["matched"], true);
    assert_eq!(
        v["would_record"],
        serde_json::json!(["V1__initial_memory_schema", "V2__add_pattern_category"])
    );
    assert_eq!(
        v["data_statements_not_run"],
        serde_json::json!(["V2__add_pattern_category"])
    );
    assert!(
        !p.path("data/memory.db.schemactl-lock").exists(),
        "no lock file"
    );
    let out = p.ok(&["baseline", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["version_before"], serde_json::Value::Null);
    assert_eq!(v["version_after"], 2);
    assert!(v["duration_ms"].is_u64());
}

#[test]
fn baseline_asks_which_version_when_several_build_the_same_schema() {
    let p = Project::new();
    p.runbook_db("");
    // A data-only V4 builds the same schema as V3; the database is brought to V3's by hand.
    std::fs::write(
        p.path("migrations/V4__backfill.sql"),
        "UPDATE patterns SET category = 'general' WHERE category IS NULL;\n",
    )
    .unwrap();
    Connection::open(p.db())
        .unwrap()
        .execute_batch(common::RUNBOOK_V3)
        .unwrap();
    let err = p.fails(&["baseline"], 1);
    assert!(err.contains("matches V3, V4"), "{err}");
    assert!(err.contains("schemactl baseline V4"), "{err}");
    p.ok(&["baseline", "V3", "--yes"]);
    p.ok(&["apply", "--yes"]);
    let nulls: i64 = Connection::open(p.db())
        .unwrap()
        .query_row(
            "SELECT count(*) FROM patterns WHERE category IS NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(nulls, 0, "V4 ran");
}

#[test]
fn apply_without_migration_files_says_so_and_creates_nothing() {
    let dir = common::temp_dir();
    std::fs::write(
        dir.path().join("schemactl.toml"),
        "database = \"db/memory.db\"\n",
    )
    .unwrap();
    let out = Command::cargo_bin("schemactl")
        .unwrap()
        .current_dir(dir.path())
        .env_remove("SCHEMACTL_DATABASE")
        .args(["apply", "--yes"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no migration files in"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.path().join("db").exists(), "no database, no directory");
}

#[test]
fn apply_names_schema_changes_no_migration_covers() {
    let p = Project::new();
    let path = p.path("schema/memory.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let edited = text.replace(
        "      idx_task_trajectories_type:    { columns: [task_type, \"created_at DESC\"] }\n",
        "      idx_task_trajectories_type:    { columns: [task_type, \"created_at DESC\"] }\n      idx_task_trajectories_outcome: { columns: [outcome] }\n",
    );
    assert_ne!(text, edited);
    std::fs::write(&path, edited).unwrap();
    let out = p.run(&["apply", "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("has changes no migration covers")
            && stderr(&out).contains("plan --write"),
        "{}",
        stderr(&out)
    );
    let out = p.ok(&["apply", "--yes", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["uncovered_schema_changes"], true);
}

#[test]
fn apply_json_says_what_ran_versions_backup_rows_and_time() {
    let p = Project::new();
    let out = p.ok(&["apply", "--yes", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["command"], "apply");
    assert_eq!(
        v["ran"],
        serde_json::json!([
            "V1__initial_memory_schema",
            "V2__add_pattern_category",
            "V3__add_trajectory_type_index"
        ])
    );
    assert_eq!(v["version_before"], serde_json::Value::Null);
    assert_eq!(v["version_after"], 3);
    let backup = v["backup"].as_str().expect("a backup path");
    assert!(Path::new(backup).exists(), "{backup}");
    assert_eq!(v["row_counts"]["patterns"], 0);
    assert!(v["duration_ms"].is_u64());
    let out = p.ok(&["apply", "--yes", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["ran"], serde_json::json!([]));
    assert_eq!(v["version_before"], 3);
    assert_eq!(v["version_after"], 3);
}

/// Without the schema's `exclude:`, plan would drop the operators' log: the exclusion is
/// what keeps it.
#[test]
fn the_operators_log_is_kept_by_the_exclude_list_only() {
    let p = Project::new();
    p.runbook_db("");
    p.ok(&["baseline"]);
    p.ok(&["apply", "--yes"]);
    p.ok(&["plan", "--check"]);
    let path = p.path("schema/memory.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("exclude: [migrations_applied]\n", "")).unwrap();
    let out = p.run(&["plan", "--check"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stdout(&out).contains("drop table migrations_applied"),
        "{}",
        stdout(&out)
    );
    // schemactl.toml's list does the same job.
    std::fs::write(
        p.path("schemactl.toml"),
        "database = \"data/memory.db\"\nbackups = \"data/backups\"\nexclude = [\"migrations_*\"]\n",
    )
    .unwrap();
    p.ok(&["plan", "--check"]);
    p.ok(&["drift"]);
    // check finds the expired memory entry of ROWS, and nothing about the log. An expired
    // row is a warning (issue 20): exit 0 by default, 2 with --fail-on warning.
    assert_eq!(p.run(&["check"]).status.code(), Some(0));
    let out = p.run(&["check", "--fail-on", "warning"]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("healthy, 1 warning(s)"),
        "{}",
        stdout(&out)
    );
    assert!(
        !stdout(&out).contains("migrations_applied"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn excluded_tables_are_left_alone_by_sync_drift_import_and_check() {
    let p = Project::new();
    p.ok(&["apply", "--yes"]);
    Connection::open(p.db())
        .unwrap()
        .execute_batch(
            "CREATE TABLE legacy_log (id INTEGER PRIMARY KEY, note TEXT);
             CREATE INDEX legacy_log_note ON legacy_log (note);
             INSERT INTO legacy_log VALUES (1, 'kept');",
        )
        .unwrap();
    assert_eq!(p.run(&["plan", "--check"]).status.code(), Some(2));
    assert_eq!(p.run(&["drift"]).status.code(), Some(2));
    std::fs::write(
        p.path("schemactl.toml"),
        "database = \"data/memory.db\"\nbackups = \"data/backups\"\nexclude = [\"LEGACY_*\"]\n",
    )
    .unwrap();
    p.ok(&["plan", "--check"]);
    p.ok(&["drift"]);
    let out = p.ok(&["sync", "--yes", "--allow-destructive"]);
    assert!(out.contains("nothing to do"), "{out}");
    let yaml = p.ok(&["import"]);
    assert!(!yaml.contains("legacy_log:"), "{yaml}");
    assert!(yaml.contains("exclude:\n  - \"LEGACY_*\""), "{yaml}");
    // The imported file loads, excludes the table, and plans nothing against the database.
    std::fs::write(p.path("imported.yaml"), &yaml).unwrap();
    p.ok(&["plan", "--check", "--schema", "imported.yaml"]);
    let note: String = Connection::open(p.db())
        .unwrap()
        .query_row("SELECT note FROM legacy_log", [], |r| r.get(0))
        .unwrap();
    assert_eq!(note, "kept");
}

#[test]
fn a_schema_cannot_both_declare_and_exclude_a_table() {
    let p = Project::new();
    let path = p.path("schema/memory.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace(
            "exclude: [migrations_applied]",
            "exclude: [migrations_applied, \"pattern*\"]",
        ),
    )
    .unwrap();
    let err = p.fails(&["schema", "check"], 1);
    assert!(err.contains("memory.yaml:"), "{err}");
    assert!(
        err.contains("excludes `pattern_embeddings`") || err.contains("excludes `patterns`"),
        "{err}"
    );
}
