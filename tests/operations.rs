//! `check`, `explain`, `optimize`, `prune`, `stats` and `graph` on real databases, through the
//! real binary: one test per finding class, prune's archive-then-delete (and a crash between
//! them), explain catching a full scan, and the fields of stats' JSON.

mod common;

use std::path::PathBuf;
use std::process::Output;

use rusqlite::Connection;

struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    /// The repository's schema and migrations, applied to a fresh database.
    fn new() -> Self {
        let dir = common::project_dir(
            "database = \"memory.db\"\nbackups = \"backups\"\narchives = \"archives\"\n",
        );
        let p = Project { dir };
        p.ok(&["apply", "--yes", "--skip-backup"]);
        p
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_schemactl"));
        cmd.args(args)
            .current_dir(self.dir.path())
            .env_remove("SCHEMACTL_DATABASE");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_env(args, &[])
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    fn conn(&self) -> Connection {
        Connection::open(self.path("memory.db")).unwrap()
    }

    fn count(&self, table: &str) -> i64 {
        self.conn()
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    }

    /// `check --format json`: (exit code, the findings).
    fn check(&self) -> (Option<i32>, Vec<serde_json::Value>) {
        let out = self.run(&["check", "--format", "json"]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
            panic!("{}", String::from_utf8_lossy(&out.stderr));
        });
        (out.status.code(), v["findings"].as_array().unwrap().clone())
    }
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

/// Inserts `n` patterns with an embedding each; `old` ones match the retention rule (created
/// and last used long ago, used once), the rest are fresh.
fn seed(conn: &Connection, fresh: usize, old: usize) {
    let mut ins = conn
        .prepare("INSERT INTO patterns (id, type, pattern_data, confidence, usage_count, created_at, last_used, category) VALUES (?1, 't', 'd', 0.9, ?2, ?3, ?3, 'general')")
        .unwrap();
    let mut emb = conn
        .prepare("INSERT INTO pattern_embeddings (pattern_id, embedding, dimension, created_at) VALUES (?1, randomblob(16), 4, '2026-01-01T00:00:00Z')")
        .unwrap();
    for i in 0..fresh {
        let id = format!("fresh-{i:04}");
        ins.execute(rusqlite::params![id, 10, time_now()]).unwrap();
        emb.execute([&id]).unwrap();
    }
    for i in 0..old {
        let id = format!("old-{i:04}");
        ins.execute(rusqlite::params![id, 1, "2020-01-01T00:00:00Z"])
            .unwrap();
        emb.execute([&id]).unwrap();
    }
}

fn time_now() -> String {
    let now = time::OffsetDateTime::now_utc();
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

fn classes(findings: &[serde_json::Value]) -> Vec<String> {
    findings
        .iter()
        .map(|f| f["class"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_healthy_database_checks_clean() {
    let p = Project::new();
    seed(&p.conn(), 10, 0);
    let (code, findings) = p.check();
    assert_eq!(findings, Vec::<serde_json::Value>::new());
    assert_eq!(code, Some(0));
    let out = p.run(&["check", "--quick"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("healthy"));
}

#[test]
fn check_finds_broken_invariants_with_counts_and_sample_keys() {
    let p = Project::new();
    seed(&p.conn(), 3, 0);
    p.conn()
        .execute_batch(
            "UPDATE patterns SET confidence = 1.5 WHERE id IN ('fresh-0000', 'fresh-0001');
             UPDATE patterns SET usage_count = -1 WHERE id = 'fresh-0002';",
        )
        .unwrap();
    let (code, findings) = p.check();
    assert_eq!(code, Some(2));
    let inv: Vec<_> = findings
        .iter()
        .filter(|f| f["class"] == "invariant")
        .collect();
    assert_eq!(inv.len(), 2, "{findings:?}");
    let range = inv
        .iter()
        .find(|f| f["subject"] == "patterns.confidence_in_unit_range")
        .unwrap();
    assert_eq!(range["count"], 2);
    assert_eq!(
        range["samples"],
        serde_json::json!(["'fresh-0000'", "'fresh-0001'"])
    );
    let usage = inv
        .iter()
        .find(|f| f["subject"] == "patterns.usage_count_not_negative")
        .unwrap();
    assert_eq!(usage["count"], 1);
    assert_eq!(usage["samples"], serde_json::json!(["'fresh-0002'"]));
}

#[test]
fn check_finds_foreign_key_violations_with_table_and_parent() {
    let p = Project::new();
    let conn = p.conn();
    conn.execute_batch(
        "PRAGMA foreign_keys = OFF;
         INSERT INTO pattern_embeddings VALUES ('ghost', x'00', 1, '2026-01-01');",
    )
    .unwrap();
    drop(conn);
    let (code, findings) = p.check();
    assert_eq!(code, Some(2));
    assert_eq!(classes(&findings), ["foreign_key"]);
    assert_eq!(findings[0]["subject"], "pattern_embeddings");
    assert_eq!(findings[0]["count"], 1);
    assert_eq!(findings[0]["samples"], serde_json::json!(["'ghost'"]));
    assert!(
        findings[0]["message"]
            .as_str()
            .unwrap()
            .contains("\"patterns\"")
    );
}

#[test]
fn check_finds_orphans_of_relationships_only_the_schema_declares() {
    let p = Project::new();
    // The live table lost its foreign key (an old hand rebuild): foreign_key_check cannot see
    // the orphans any more, the schema's declaration still can.
    p.conn()
        .execute_batch(
            "PRAGMA foreign_keys = OFF;
             CREATE TABLE pe2 (pattern_id TEXT PRIMARY KEY, embedding BLOB NOT NULL, dimension INTEGER NOT NULL, created_at TEXT NOT NULL);
             DROP TABLE pattern_embeddings;
             ALTER TABLE pe2 RENAME TO pattern_embeddings;
             INSERT INTO pattern_embeddings VALUES ('lost-1', x'00', 1, '2026-01-01'), ('lost-2', x'00', 1, '2026-01-01');",
        )
        .unwrap();
    let (code, findings) = p.check();
    assert_eq!(code, Some(2));
    let orphan = findings.iter().find(|f| f["class"] == "orphan").unwrap();
    assert_eq!(orphan["subject"], "pattern_embeddings");
    assert_eq!(orphan["count"], 2);
    assert_eq!(
        orphan["samples"],
        serde_json::json!(["'lost-1'", "'lost-2'"])
    );
    assert!(!classes(&findings).contains(&"foreign_key".to_string()));
}

#[test]
fn check_counts_expired_rows() {
    let p = Project::new();
    p.conn()
        .execute_batch(
            "INSERT INTO memory_entries VALUES ('ns', 'gone', 'v', 60, '2020-01-01T00:00:00Z', '2020-01-01T00:01:00Z');
             INSERT INTO memory_entries VALUES ('ns', 'live', 'v', 60, '2020-01-01T00:00:00Z', '2999-01-01T00:00:00Z');
             INSERT INTO memory_entries VALUES ('ns', 'forever', 'v', NULL, '2020-01-01T00:00:00Z', NULL);",
        )
        .unwrap();
    // Issue 20: expired rows are a warning: the daily check exits 0 on them by default
    // (a cron job alerts on what needs action) and 2 with --fail-on warning.
    let (code, findings) = p.check();
    assert_eq!(code, Some(0));
    assert_eq!(classes(&findings), ["expired"]);
    assert_eq!(findings[0]["severity"], "warning");
    assert_eq!(findings[0]["subject"], "memory_entries");
    assert_eq!(findings[0]["count"], 1);
    assert_eq!(findings[0]["samples"], serde_json::json!(["'ns', 'gone'"]));
    let out = p.run(&["check", "--fail-on", "warning", "--format", "json"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (
            v["healthy"].clone(),
            v["errors"].clone(),
            v["warnings"].clone()
        ),
        (true.into(), 0.into(), 1.into())
    );
    let out = p.run(&["check"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("warning  expired") && stdout(&out).contains("healthy, 1 warning(s)"),
        "{}",
        stdout(&out)
    );
    // An error beside the warning exits 2 whatever --fail-on says.
    p.conn()
        .execute_batch("DROP INDEX idx_patterns_type;")
        .unwrap();
    let (code, findings) = p.check();
    assert_eq!(code, Some(2));
    let severity = |class: &str| {
        findings
            .iter()
            .find(|f| f["class"] == class)
            .map(|f| f["severity"].clone())
    };
    assert_eq!(severity("index"), Some("error".into()));
    assert_eq!(severity("expired"), Some("warning".into()));
}

#[test]
fn check_finds_missing_and_changed_indexes() {
    let p = Project::new();
    p.conn()
        .execute_batch(
            "DROP INDEX idx_patterns_type;
             DROP INDEX idx_verification_history_agent;
             CREATE INDEX idx_verification_history_agent ON verification_history(agent_name);",
        )
        .unwrap();
    let (code, findings) = p.check();
    assert_eq!(code, Some(2));
    let index: Vec<_> = findings.iter().filter(|f| f["class"] == "index").collect();
    assert_eq!(index.len(), 2, "{findings:?}");
    assert!(index.iter().any(|f| f["subject"] == "idx_patterns_type"
        && f["message"].as_str().unwrap().contains("missing")));
    assert!(
        index
            .iter()
            .any(|f| f["subject"] == "idx_verification_history_agent"
                && f["message"].as_str().unwrap().contains("differs"))
    );
    // The changed index still serves `verifications_by_agent` (a search by agent_name, then a
    // sort), so no query error: index health and query plans are separate classes. The sort it
    // no longer serves is a warning (issue 20: a temporary b-tree).
    let query: Vec<_> = findings.iter().filter(|f| f["class"] == "query").collect();
    assert_eq!(query.len(), 1, "{findings:?}");
    assert_eq!(query[0]["severity"], "warning");
    assert_eq!(query[0]["subject"], "verifications_by_agent");
    assert!(
        query[0]["message"]
            .as_str()
            .unwrap()
            .contains("USE TEMP B-TREE FOR ORDER BY"),
        "{findings:?}"
    );
}

#[test]
fn check_fails_when_a_declared_query_loses_its_index() {
    let p = Project::new();
    p.conn()
        .execute_batch(
            "DROP INDEX idx_task_trajectories_type; DROP INDEX idx_task_trajectories_created;",
        )
        .unwrap();
    let (code, findings) = p.check();
    assert_eq!(code, Some(2));
    let query = findings.iter().find(|f| f["class"] == "query").unwrap();
    assert_eq!(query["severity"], "error");
    assert_eq!(query["subject"], "trajectories_by_type");
    assert!(
        query["message"]
            .as_str()
            .unwrap()
            .contains("SCAN task_trajectories")
    );
}

#[test]
fn check_finds_integrity_problems() {
    let p = Project::new();
    seed(&p.conn(), 200, 0);
    // Corrupt the index without touching the table: writable_schema lets an index point at
    // the wrong root page, which integrity_check reports.
    let conn = p.conn();
    let root: i64 = conn
        .query_row(
            "SELECT rootpage FROM sqlite_schema WHERE name = 'idx_patterns_type'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let other: i64 = conn
        .query_row(
            "SELECT rootpage FROM sqlite_schema WHERE name = 'idx_patterns_confidence'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    conn.execute_batch("PRAGMA writable_schema = ON").unwrap();
    conn.execute(
        "UPDATE sqlite_schema SET rootpage = ?1 WHERE name = 'idx_patterns_type'",
        [other],
    )
    .unwrap();
    conn.execute(
        "UPDATE sqlite_schema SET rootpage = ?1 WHERE name = 'idx_patterns_confidence'",
        [root],
    )
    .unwrap();
    drop(conn);
    let (code, findings) = p.check();
    assert_eq!(code, Some(2));
    let integrity = findings.iter().find(|f| f["class"] == "integrity").unwrap();
    assert!(integrity["count"].as_u64().unwrap() > 0);
    assert!(!integrity["samples"].as_array().unwrap().is_empty());
}

#[test]
fn explain_catches_a_full_scan_and_proves_its_suggestion() {
    let p = Project::new();
    p.conn()
        .execute_batch(
            "DROP INDEX idx_task_trajectories_type; DROP INDEX idx_task_trajectories_created;",
        )
        .unwrap();
    let out = p.run(&["explain", "--format", "json"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let plans: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let t = plans
        .iter()
        .find(|q| q["name"] == "trajectories_by_type")
        .unwrap();
    assert_eq!(
        t["full_scans"],
        serde_json::json!(["SCAN task_trajectories"])
    );
    assert_eq!(
        t["temp_btrees"],
        serde_json::json!(["USE TEMP B-TREE FOR ORDER BY"])
    );
    let suggestion = t["suggestion"].as_str().unwrap();
    assert_eq!(
        suggestion,
        "CREATE INDEX idx_task_trajectories_task_type ON task_trajectories(task_type, created_at DESC)"
    );
    // The suggestion works on the live database too.
    p.conn().execute_batch(suggestion).unwrap();
    let out = p.run(&["explain"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    // The other queries used their indexes all along.
    for q in &plans {
        if q["name"] != "trajectories_by_type" {
            assert_eq!(q["full_scans"], serde_json::json!([]), "{q}");
        }
    }
}

#[test]
fn prune_archives_then_deletes_with_cascades_and_the_archive_restores() {
    let p = Project::new();
    seed(&p.conn(), 5, 3);
    let out = p.run(&["prune", "--dry-run", "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let dry: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(dry["dry_run"], true);
    let effects = dry["effects"].as_array().unwrap();
    assert!(
        effects
            .iter()
            .any(|e| e["table"] == "patterns" && e["rows"] == 3 && e["via"] == "retention")
    );
    assert!(effects.iter().any(|e| {
        e["table"] == "pattern_embeddings"
            && e["rows"] == 3
            && e["action"] == "delete"
            && e["via"]
                .as_str()
                .unwrap()
                .contains("references \"patterns\"")
    }));
    assert_eq!(p.count("patterns"), 8, "a dry run changes nothing");
    assert!(!p.path("archives").exists(), "a dry run writes no archive");

    let out = p.run(&["prune", "--yes", "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["before"]["patterns"], 8);
    assert_eq!(r["after"]["patterns"], 5);
    assert_eq!(r["before"]["pattern_embeddings"], 8);
    assert_eq!(r["after"]["pattern_embeddings"], 5);
    assert_eq!(p.count("patterns"), 5);
    let archive = PathBuf::from(r["archive"].as_str().unwrap());
    let a = Connection::open(&archive).unwrap();
    let ids: Vec<String> = a
        .prepare("SELECT id FROM patterns ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(ids, ["old-0000", "old-0001", "old-0002"]);
    let emb: i64 = a
        .query_row("SELECT count(*) FROM pattern_embeddings", [], |r| r.get(0))
        .unwrap();
    assert_eq!(emb, 3, "the cascaded embeddings are archived too");
    drop(a);
    // Pruning again finds nothing.
    let again = p.ok(&["prune", "--yes"]);
    assert!(again.contains("nothing to prune"), "{again}");
    // The archive is re-importable with restore --table (merge), parents first.
    let archive = archive.to_str().unwrap();
    p.ok(&[
        "restore", archive, "--table", "patterns", "--mode", "merge", "--yes",
    ]);
    p.ok(&[
        "restore",
        archive,
        "--table",
        "pattern_embeddings",
        "--mode",
        "merge",
        "--yes",
    ]);
    assert_eq!(p.count("patterns"), 8);
    assert_eq!(p.count("pattern_embeddings"), 8);
}

#[test]
fn a_crash_between_archive_and_delete_loses_nothing_and_deletes_nothing_twice() {
    let p = Project::new();
    seed(&p.conn(), 4, 2);
    let out = p.run_env(
        &["prune", "--yes"],
        &[("SCHEMACTL_FAILPOINT", "prune-after-archive")],
    );
    assert!(!out.status.success(), "the failpoint aborts the process");
    assert_eq!(p.count("patterns"), 6, "nothing was deleted");
    assert_eq!(p.count("pattern_embeddings"), 6);
    let archives = |p: &Project| -> Vec<PathBuf> {
        std::fs::read_dir(p.path("archives"))
            .map(|d| {
                d.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|f| f.extension().is_some_and(|x| x == "db"))
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(
        archives(&p).len(),
        1,
        "the archive was written before the crash"
    );
    let ok: String = p
        .conn()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
    // The next prune removes the abandoned archive and does the whole job once.
    let out = p.run(&["prune", "--yes", "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("never committed"), "{}", stderr(&out));
    assert_eq!(p.count("patterns"), 4);
    assert_eq!(p.count("pattern_embeddings"), 4);
    let left = archives(&p);
    assert_eq!(left.len(), 1, "{left:?}");
    let n: i64 = Connection::open(&left[0])
        .unwrap()
        .query_row("SELECT count(*) FROM patterns", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 2, "each pruned row is archived exactly once");
    let recorded: i64 = p
        .conn()
        .query_row("SELECT count(*) FROM _schemactl_prunes", [], |r| r.get(0))
        .unwrap();
    assert_eq!(recorded, 1);
}

#[test]
fn prune_reports_a_restricting_reference_and_changes_nothing() {
    let p = Project::new();
    seed(&p.conn(), 0, 1);
    // An application table that references patterns without a cascade.
    p.conn()
        .execute_batch(
            "CREATE TABLE notes (id INTEGER PRIMARY KEY, pattern_id TEXT REFERENCES patterns(id));
             INSERT INTO notes (pattern_id) VALUES ('old-0000');",
        )
        .unwrap();
    // The dry run reports the block and fails as the real run would (h11_17).
    let out = p.run(&["prune", "--dry-run"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stdout(&out).contains("blocks"), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("nothing was pruned"),
        "{}",
        stderr(&out)
    );
    let out = p.run(&["prune", "--yes"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("nothing was pruned"),
        "{}",
        stderr(&out)
    );
    assert_eq!(p.count("patterns"), 1);
    assert!(
        !p.path("archives").exists()
            || std::fs::read_dir(p.path("archives"))
                .unwrap()
                .next()
                .is_none()
    );
}

#[test]
fn stats_json_has_every_field_and_max_size_exits_2() {
    let p = Project::new();
    seed(&p.conn(), 20, 0);
    let out = p.run(&["stats", "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let size = std::fs::metadata(p.path("memory.db")).unwrap().len();
    assert_eq!(s["file_bytes"], size);
    assert_eq!(s["wal_bytes"], 0);
    assert_eq!(s["page_size"], 4096);
    assert_eq!(s["page_count"].as_u64().unwrap() * 4096, size);
    assert!(s["freelist_count"].is_u64());
    assert_eq!(s["journal_mode"], "delete");
    assert_eq!(s["schema_version"], 3);
    assert_eq!(s["last_migration"], "V3__add_trajectory_type_index");
    assert_eq!(s["max_size"], serde_json::Value::Null);
    assert_eq!(s["over_max_size"], false);
    let objects = s["objects"].as_array().unwrap();
    let patterns = objects.iter().find(|o| o["name"] == "patterns").unwrap();
    assert_eq!(patterns["kind"], "table");
    assert_eq!(patterns["rows"], 20);
    assert!(patterns["bytes"].as_u64().unwrap() >= 4096);
    assert!(patterns["pages"].as_u64().unwrap() >= 1);
    let index = objects
        .iter()
        .find(|o| o["name"] == "idx_patterns_type")
        .unwrap();
    assert_eq!(index["kind"], "index");
    assert_eq!(index["table"], "patterns");
    assert_eq!(index["rows"], serde_json::Value::Null);
    let total: u64 = objects.iter().map(|o| o["pages"].as_u64().unwrap()).sum();
    assert_eq!(
        total + s["freelist_count"].as_u64().unwrap(),
        s["page_count"].as_u64().unwrap(),
        "dbstat accounts for every page"
    );

    let out = p.run(&["stats", "--max-size", "1KB"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("over --max-size"));
    let out = p.run(&["stats", "--max-size", "1GB", "--format", "prometheus"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    let db = s["database"].as_str().unwrap();
    assert!(
        text.contains(&format!(
            "schemactl_database_file_bytes{{database=\"{db}\"}} {size}"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "schemactl_table_rows{{database=\"{db}\",table=\"patterns\"}} 20"
        )),
        "{text}"
    );
    assert!(
        text.contains("# TYPE schemactl_object_bytes gauge"),
        "{text}"
    );
    let out = p.run(&["stats", "--max-size", "lots"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("not a size"), "{}", stderr(&out));
}

#[test]
fn optimize_reports_sizes_and_reclaims_space() {
    let p = Project::new();
    seed(&p.conn(), 300, 0);
    p.conn()
        .execute_batch("DELETE FROM pattern_embeddings")
        .unwrap();
    let before = std::fs::metadata(p.path("memory.db")).unwrap().len();
    let out = p.ok(&["optimize", "--vacuum", "--analyze"]);
    assert!(out.contains("VACUUM, ANALYZE"), "{out}");
    let after = std::fs::metadata(p.path("memory.db")).unwrap().len();
    assert!(after < before, "{before} -> {after}");
    assert!(
        out.contains(&format!("size: {before} -> {after} bytes")),
        "{out}"
    );
    let stat1: i64 = p
        .conn()
        .query_row("SELECT count(*) FROM sqlite_stat1", [], |r| r.get(0))
        .unwrap();
    assert!(stat1 > 0);
    p.ok(&["optimize"]);
}

#[test]
fn graph_draws_tables_keys_and_relationships() {
    let p = Project::new();
    let mermaid = p.ok(&["graph"]);
    assert!(mermaid.starts_with("erDiagram\n"));
    let id = |name: &str| {
        mermaid
            .lines()
            .find(|l| l.contains(&format!("[\"{name}\"]")))
            .map(|l| l.trim().split('[').next().unwrap().to_string())
            .unwrap()
    };
    let (patterns, embeddings) = (id("patterns"), id("pattern_embeddings"));
    assert!(
        mermaid.contains(&format!("{patterns} ||--o| {embeddings} : \"pattern_id\"")),
        "{mermaid}"
    );
    assert!(mermaid.contains("TEXT pattern_id PK, FK"), "{mermaid}");
    assert!(mermaid.contains("TEXT last_used \"nullable\""), "{mermaid}");
    let dot = p.ok(&["graph", "--format", "dot"]);
    assert!(dot.starts_with("digraph schema {"));
    assert!(dot.contains("<b>pattern_embeddings</b>"));
    assert!(dot.contains("[label=\"pattern_id\"]"));
    // Hostile names draw too.
    let dir = common::temp_dir();
    let db = common::db_from_ddl(
        dir.path(),
        "h.db",
        "CREATE TABLE \"a \"\"b\" (\"x<y>\" INTEGER PRIMARY KEY); CREATE TABLE c (r INTEGER REFERENCES \"a \"\"b\");",
    );
    let out = p.ok(&[
        "graph",
        "--live",
        "--database",
        db.to_str().unwrap(),
        "--format",
        "dot",
    ]);
    assert!(out.contains("a \"b") || out.contains("a &quot;b"), "{out}");
    assert!(out.contains("x&lt;y&gt;"), "{out}");
    let out = p.ok(&["graph", "--live", "--database", db.to_str().unwrap()]);
    assert!(out.contains("[\"a #quot;b\"]"), "{out}");
}

#[test]
fn bad_rules_are_reported_at_their_place() {
    let dir = common::temp_dir();
    let file = dir.path().join("s.yaml");
    std::fs::write(
        &file,
        "schemactl: 1\nversion: 1\ntables:\n  t:\n    columns:\n      a: { type: INTEGER }\n    invariants:\n      bad: \"nosuch > 0\"\n      injected: \"1); DROP TABLE t; --\"\n    expires: missing\n    retention:\n      when: \"a >\"\nqueries:\n  writes: \"DELETE FROM t\"\n  broken: \"SELECT * FROM nowhere\"\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_schemactl"))
        .args(["schema", "check", "--schema"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    for expected in [
        "s.yaml:8:",
        "invariant \"bad\": SQLite refuses it: no such column: nosuch",
        "s.yaml:9:",
        "invariant \"injected\"",
        "s.yaml:10:",
        "expires: no column \"missing\"",
        "s.yaml:12:",
        "retention",
        "query \"writes\": a declared query must only read",
        "query \"broken\": SQLite refuses it: no such table: nowhere",
    ] {
        assert!(err.contains(expected), "missing `{expected}` in:\n{err}");
    }
}

#[test]
fn output_cut_short_by_a_closed_pipe_is_not_a_panic() {
    let p = Project::new();
    for args in [&["graph"][..], &["stats"][..], &["check"][..]] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_schemactl"))
            .args(args)
            .current_dir(p.dir.path())
            .env_remove("SCHEMACTL_DATABASE")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // The reader goes away before the first line is written, as `| head -0` would.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = stderr(&out);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn a_crash_before_the_archive_is_renamed_is_cleaned_up_by_an_immediate_rerun() {
    let p = Project::new();
    seed(&p.conn(), 4, 2);
    let out = p.run_env(
        &["prune", "--yes"],
        &[("SCHEMACTL_FAILPOINT", "prune-before-rename")],
    );
    assert!(!out.status.success(), "the failpoint aborts the process");
    assert_eq!(p.count("patterns"), 6, "nothing was deleted");
    let names = |p: &Project| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(p.path("archives"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        v.sort();
        v
    };
    let left = names(&p);
    assert!(
        left.iter().any(|n| n.ends_with(".db.partial")) && !left.iter().any(|n| n.ends_with(".db")),
        "the archive never got its final name: {left:?}"
    );
    // Within the same second, the rerun removes the leftovers and prunes once.
    let out = p.run(&["prune", "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(p.count("patterns"), 4);
    assert_eq!(p.count("pattern_embeddings"), 4);
    let left = names(&p);
    assert_eq!(
        left.len(),
        3,
        "one archive, its sidecar and manifest: {left:?}"
    );
    let archive = p
        .path("archives")
        .join(left.iter().find(|n| n.ends_with(".db")).unwrap());
    let n: i64 = Connection::open(&archive)
        .unwrap()
        .query_row("SELECT count(*) FROM patterns", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 2);
    p.ok(&["backup", "verify", archive.to_str().unwrap()]);
}
