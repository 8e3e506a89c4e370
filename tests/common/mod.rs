//! Helpers shared by the integration tests: temp databases and the conformance corpus.
#![allow(dead_code)]

pub mod catalog;
pub mod converge;
pub mod corpus;
pub mod fleet;
pub mod schemas;

use std::path::{Path, PathBuf};

use rusqlite::Connection;

/// Runs the schemactl binary in `dir`, without `SCHEMACTL_DATABASE` from the environment and
/// without colour.
pub fn schemactl(dir: &Path, args: &[&str]) -> std::process::Output {
    use assert_cmd::cargo::CommandCargoExt;
    std::process::Command::cargo_bin("schemactl")
        .expect("the schemactl binary")
        .current_dir(dir)
        .env_remove("SCHEMACTL_DATABASE")
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .expect("run schemactl")
}

/// A process's standard output, as text.
pub fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A process's standard error, as text.
pub fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs schemactl in `dir`, asserts it succeeded, and returns its standard output.
pub fn ok_in(dir: &Path, args: &[&str]) -> String {
    let out = schemactl(dir, args);
    assert!(
        out.status.success(),
        "{args:?}: {}{}",
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
}

/// Runs schemactl in `dir`, asserts it succeeded, and returns everything it wrote (the run's
/// check lines go to standard error).
pub fn ok_all(dir: &Path, args: &[&str]) -> String {
    let out = schemactl(dir, args);
    let text = format!("{}{}", stdout(&out), stderr(&out));
    assert!(out.status.success(), "{args:?}: {text}");
    text
}

/// The first column of the first row `sql` reads from the database at `path`, as text.
pub fn read_text(path: &Path, sql: &str) -> String {
    let conn = Connection::open(path).expect("open");
    conn.query_row(sql, [], |r| r.get(0)).expect(sql)
}

/// The rows of `project_with_t`'s table `t` (`1=one,2=two`), and the versions its history
/// holds (`1,2`).
pub fn t_state(db: &Path) -> (String, String) {
    (
        read_text(
            db,
            "SELECT group_concat(id || '=' || v, ',') FROM (SELECT * FROM t ORDER BY id)",
        ),
        read_text(
            db,
            "SELECT group_concat(version, ',') FROM (SELECT version FROM main._schemactl_history ORDER BY version)",
        ),
    )
}

/// Runs schemactl in `dir`, asserts it exited with `code`, and returns its standard error.
pub fn fails_in(dir: &Path, args: &[&str], code: i32) -> String {
    let out = schemactl(dir, args);
    assert_eq!(
        out.status.code(),
        Some(code),
        "{args:?}: {}{}",
        stdout(&out),
        stderr(&out)
    );
    stderr(&out)
}

/// A fresh temporary directory, removed when dropped.
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("create a temp dir")
}

/// Creates a database file at `dir/name` from `ddl` and returns its path.
pub fn db_from_ddl(dir: &Path, name: &str, ddl: &str) -> PathBuf {
    let path = dir.join(name);
    let conn = Connection::open(&path).expect("open db");
    conn.execute_batch(ddl).expect("run ddl");
    path
}

/// The memory database's DDL, as given in the foundation issue.
pub const MEMORY_DDL: &str = "
CREATE TABLE patterns (id TEXT PRIMARY KEY, type TEXT NOT NULL, pattern_data TEXT NOT NULL,
  confidence REAL NOT NULL DEFAULT 0.5, usage_count INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL, last_used TEXT);
CREATE TABLE pattern_embeddings (pattern_id TEXT PRIMARY KEY, embedding BLOB NOT NULL,
  dimension INTEGER NOT NULL, created_at TEXT NOT NULL,
  FOREIGN KEY (pattern_id) REFERENCES patterns(id) ON DELETE CASCADE);
CREATE TABLE task_trajectories (id TEXT PRIMARY KEY, task_type TEXT NOT NULL,
  execution_data TEXT NOT NULL, outcome TEXT NOT NULL, execution_time_ms INTEGER, created_at TEXT NOT NULL);
CREATE TABLE verification_history (id TEXT PRIMARY KEY, agent_name TEXT NOT NULL, task_id TEXT NOT NULL,
  truth_score REAL NOT NULL, verification_status TEXT NOT NULL, details TEXT, timestamp TEXT NOT NULL);
CREATE TABLE memory_entries (namespace TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, ttl INTEGER,
  created_at TEXT NOT NULL, expires_at TEXT, PRIMARY KEY (namespace, key));
CREATE TABLE metrics_log (id INTEGER PRIMARY KEY AUTOINCREMENT, metric_name TEXT NOT NULL,
  metric_value REAL NOT NULL, timestamp TEXT NOT NULL);
CREATE INDEX idx_patterns_confidence ON patterns(confidence DESC);
CREATE INDEX idx_patterns_type ON patterns(type);
CREATE INDEX idx_patterns_last_used ON patterns(last_used DESC);
CREATE INDEX idx_task_trajectories_created ON task_trajectories(created_at DESC);
CREATE INDEX idx_verification_history_agent ON verification_history(agent_name, timestamp DESC);
CREATE INDEX idx_memory_entries_expires ON memory_entries(expires_at);
";

/// The runbook's version 2, by hand: what migrations/V2 does to the schema.
pub const RUNBOOK_V2: &str = "ALTER TABLE patterns ADD COLUMN category TEXT;
CREATE INDEX idx_patterns_category ON patterns(category, confidence DESC);";

/// Version 3, also from the runbook ("Optimize common queries"): the index the declared query
/// `trajectories_by_type` needs.
pub const RUNBOOK_V3: &str =
    "CREATE INDEX idx_task_trajectories_type ON task_trajectories(task_type, created_at DESC);";

/// A temp project with copies of this repository's schema/, migrations/ and rollbacks/, and
/// a schemactl.toml holding `config`.
pub fn project_dir(config: &str) -> tempfile::TempDir {
    let dir = temp_dir();
    for sub in ["schema", "migrations", "rollbacks"] {
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        for entry in std::fs::read_dir(repo_root().join(sub)).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, dir.path().join(sub).join(path.file_name().unwrap())).unwrap();
        }
    }
    std::fs::write(dir.path().join("schemactl.toml"), config).unwrap();
    dir
}

/// A temp project with empty schema/, migrations/ and rollbacks/, the database `db.sqlite`
/// and its backups in `backups`.
pub fn empty_project() -> tempfile::TempDir {
    let dir = temp_dir();
    for sub in ["schema", "migrations", "rollbacks"] {
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
    }
    std::fs::write(
        dir.path().join("schemactl.toml"),
        "database = \"db.sqlite\"\nbackups = \"backups\"\n",
    )
    .unwrap();
    dir
}

/// An empty project ([`empty_project`]) whose database holds `t (id INTEGER PRIMARY KEY, v
/// TEXT)` with the rows (1, 'one') and (2, 'two'), applied from `migrations/V1__t.sql`.
pub fn project_with_t() -> tempfile::TempDir {
    let dir = empty_project();
    std::fs::write(
        dir.path().join("migrations/V1__t.sql"),
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);\nINSERT INTO t VALUES (1, 'one'), (2, 'two');\n",
    )
    .expect("V1");
    ok_in(dir.path(), &["apply", "--yes"]);
    dir
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// schema/memory.yaml's text without `patterns.last_used`: the column, its index, and the
/// retention rule that reads it (a rule naming a dropped column is a schema error).
pub fn without_last_used(text: &str) -> String {
    let start = text.find("    retention:\n").expect("the retention rule");
    let end = text[start..]
        .find("      archive: true\n")
        .map(|i| start + i + "      archive: true\n".len())
        .expect("the end of the retention rule");
    let out = format!("{}{}", &text[..start], &text[end..])
        .replace("      last_used:    { type: TEXT }\n", "")
        .replace(
            "      idx_patterns_last_used:  { columns: [\"last_used DESC\"] }\n",
            "",
        );
    assert!(!out.contains("last_used"), "every use of last_used is gone");
    out
}

/// Edits `dir/schema/memory.yaml` so that `patterns` needs a rebuild (a CHECK on confidence)
/// and the schema version becomes 4: the cascade trap, as a migration to apply.
pub fn require_rebuild(dir: &Path) {
    let path = dir.join("schema/memory.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let edited = text
        .replace(
            "confidence:   { type: REAL, not_null: true, default: 0.5 }",
            "confidence:   { type: REAL, not_null: true, default: 0.5, check: \"confidence BETWEEN 0 AND 1\" }",
        )
        .replace("version: 3", "version: 4");
    assert_ne!(text, edited, "the edit must apply");
    std::fs::write(path, edited).unwrap();
}

/// The pipeline's options for `database` in the project `dir` (its migrations/, rollbacks/
/// and backups/), with every safety step on and nothing else asked: wait for the lock, back up,
/// rehearse, no destructive step, no verify, no extra migration, nothing shown before. A test
/// states what it changes: `Options { skip_backup: true, ..pipeline_options(dir, db) }`.
pub fn pipeline_options(dir: &Path, database: PathBuf) -> schemactl::apply::Options {
    schemactl::apply::Options {
        database,
        migrations: dir.join("migrations"),
        rollbacks: dir.join("rollbacks"),
        backups: dir.join("backups"),
        wait: true,
        skip_backup: false,
        skip_rehearsal: false,
        allow_destructive: false,
        dry_run: false,
        verify: false,
        extra: Vec::new(),
        confirmed: None,
        inspected: None,
        files_read: None,
        planned_on: None,
        existing_only: false,
        under_lock: None,
    }
}
