//! `schemactl backup` and `restore` as processes on real files.

mod common;

use std::path::PathBuf;
use std::process::Output;

use assert_cmd::Command;
use rusqlite::Connection;

struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new() -> Self {
        let dir = common::project_dir("database = \"memory.db\"\nbackups = \"backups\"\n");
        let p = Project { dir };
        let out = p.run(&["apply", "--yes", "--skip-backup"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        p.conn().execute_batch("PRAGMA journal_mode = WAL").unwrap();
        p
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("memory.db")
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut cmd = Command::cargo_bin("schemactl").unwrap();
        cmd.current_dir(self.dir.path())
            .env_remove("SCHEMACTL_DATABASE")
            .env("NO_COLOR", "1");
        cmd.args(args).output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    fn conn(&self) -> Connection {
        Connection::open(self.db()).unwrap()
    }

    fn count(&self) -> i64 {
        self.conn()
            .query_row("SELECT count(*) FROM metrics_log", [], |r| r.get(0))
            .unwrap()
    }

    fn insert(&self, n: usize) {
        let conn = self.conn();
        for _ in 0..n {
            conn.execute("INSERT INTO metrics_log (metric_name, metric_value, timestamp) VALUES ('m', 1, 'now')", []).unwrap();
        }
    }

    /// The backups, newest first, from `backup list --format json`.
    fn backups(&self) -> Vec<serde_json::Value> {
        let out = self.ok(&["backup", "list", "--format", "json"]);
        serde_json::from_str::<Vec<serde_json::Value>>(&out).unwrap()
    }

    /// Sets a backup's recorded time (its manifest), for --at and retention.
    fn backdate(&self, file: &str, created_at: &str) {
        let manifest = format!("{file}.json");
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
        v["created_at"] = created_at.into();
        std::fs::write(&manifest, v.to_string()).unwrap();
    }
}

fn file_of(stdout: &str) -> String {
    stdout.split_whitespace().nth(1).unwrap().to_string()
}

fn abs(p: &Project, rel: &str) -> String {
    p.dir.path().join(rel).display().to_string()
}

#[test]
fn a_backup_taken_during_writes_is_consistent() {
    let p = Project::new();
    let db = p.db();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            // Pairs of rows in one transaction: a consistent snapshot holds both or neither.
            let conn = Connection::open(&db).unwrap();
            conn.busy_timeout(std::time::Duration::from_secs(30))
                .unwrap();
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                conn.execute_batch("BEGIN; INSERT INTO metrics_log (metric_name, metric_value, timestamp) VALUES ('a', 1, 'x'); INSERT INTO metrics_log (metric_name, metric_value, timestamp) VALUES ('b', 1, 'x'); COMMIT;").unwrap();
                n += 1;
            }
            n
        })
    };
    let mut files = Vec::new();
    for _ in 0..3 {
        std::thread::sleep(std::time::Duration::from_millis(60));
        files.push(file_of(&p.ok(&["backup", "--compress", "none"])));
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(writer.join().unwrap() > 0);
    for f in files {
        let conn = Connection::open(p.dir.path().join(&f)).unwrap();
        let ok: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok");
        let (a, b): (i64, i64) = conn
            .query_row(
                "SELECT sum(metric_name = 'a'), sum(metric_name = 'b') FROM metrics_log",
                [],
                |r| {
                    Ok((
                        r.get::<_, Option<i64>>(0)?.unwrap_or(0),
                        r.get::<_, Option<i64>>(1)?.unwrap_or(0),
                    ))
                },
            )
            .unwrap();
        assert_eq!(
            a, b,
            "{f}: a snapshot between the two inserts of a transaction"
        );
    }
}

#[test]
fn a_flipped_byte_is_caught_by_verify_and_refused_by_restore() {
    let p = Project::new();
    p.insert(50);
    for compress in ["zstd", "gzip", "none"] {
        let file = abs(&p, &file_of(&p.ok(&["backup", "--compress", compress])));
        assert!(
            p.run(&["backup", "verify", &file]).status.success(),
            "{compress}"
        );
        let mut bytes = std::fs::read(&file).unwrap();
        let at = bytes.len() / 2;
        bytes[at] ^= 0x40;
        std::fs::write(&file, bytes).unwrap();
        let out = p.run(&["backup", "verify", &file]);
        assert_eq!(out.status.code(), Some(1), "{compress}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("checksum mismatch"),
            "{compress}"
        );
        p.insert(1);
        let before = p.count();
        let listed = p.backups().len();
        let out = p.run(&["restore", &file, "--yes"]);
        assert_eq!(out.status.code(), Some(1), "{compress}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("nothing was restored"));
        assert_eq!(p.count(), before, "the database is untouched");
        assert_eq!(
            p.backups().len(),
            listed,
            "{compress}: a refused restore leaves no before-restore backup behind"
        );
        let scratch: Vec<_> = std::fs::read_dir(p.dir.path().join("backups"))
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains("scratch"))
            .collect();
        assert!(scratch.is_empty(), "{compress}: no scratch file is left");
    }
}

#[test]
fn a_restore_beside_a_stale_wal_does_not_corrupt() {
    let p = Project::new();
    p.insert(10);
    let file = abs(&p, &file_of(&p.ok(&["backup"])));
    // A writer dies with committed frames left in memory.db-wal.
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "exec python3 -c \"import sqlite3,os; c=sqlite3.connect('{}'); c.execute('PRAGMA journal_mode=WAL'); c.execute('PRAGMA wal_autocheckpoint=0'); [c.execute(\\\"INSERT INTO metrics_log (metric_name, metric_value, timestamp) VALUES ('late', 1, 'x')\\\") for _ in range(500)]; c.commit(); os._exit(0)\"",
            p.db().display()
        ))
        .status()
        .unwrap();
    assert!(status.success());
    let wal = PathBuf::from(format!("{}-wal", p.db().display()));
    assert!(
        wal.exists() && std::fs::metadata(&wal).unwrap().len() > 0,
        "the stale -wal is there"
    );
    p.ok(&["restore", &file, "--yes"]);
    let conn = p.conn();
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
    assert_eq!(p.count(), 10, "the backup's rows, not the stale frames");
}

#[test]
fn at_and_latest_valid_choose_correctly() {
    let p = Project::new();
    let mut files = Vec::new();
    for (i, when) in [
        "2026-01-01T00:00:00Z",
        "2026-02-01T00:00:00Z",
        "2026-03-01T00:00:00Z",
    ]
    .iter()
    .enumerate()
    {
        p.insert(1);
        let f = abs(
            &p,
            &file_of(&p.ok(&["backup", "--label", &format!("b{i}")])),
        );
        p.backdate(&f, when);
        files.push(f);
    }
    p.insert(5);
    // Corrupt the newest: --latest refuses, --latest-valid walks back to the second (2 rows).
    let mut bytes = std::fs::read(&files[2]).unwrap();
    let end = bytes.len() - 10;
    bytes[end] ^= 1;
    std::fs::write(&files[2], bytes).unwrap();
    assert_eq!(
        p.run(&["restore", "--latest", "--yes"]).status.code(),
        Some(1)
    );
    assert_eq!(p.count(), 8, "nothing was restored");
    let out = p.run(&["restore", "--latest-valid", "--yes"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("skipping {}", files[2])));
    assert_eq!(p.count(), 2);
    // --at picks the newest backup at or before the time (the before-restore backup just
    // taken is newer): the first one (1 row).
    p.ok(&["restore", "--at", "2026-01-15T00:00:00Z", "--yes"]);
    assert_eq!(p.count(), 1);
    let out = p.run(&["restore", "--at", "2025-12-01T00:00:00Z", "--yes"]);
    assert_eq!(out.status.code(), Some(1), "nothing that old");
    assert_eq!(p.count(), 1);
}

#[test]
fn retention_keeps_exactly_what_it_says() {
    let p = Project::new();
    let dates = [
        "2026-01-01T00:00:00Z",
        "2026-01-02T00:00:00Z",
        "2026-01-03T00:00:00Z",
        "2026-01-04T00:00:00Z",
    ];
    for (i, when) in dates.iter().enumerate() {
        let f = abs(
            &p,
            &file_of(&p.ok(&["backup", "--label", &format!("r{i}")])),
        );
        p.backdate(&f, when);
    }
    assert_eq!(p.backups().len(), 4);
    p.ok(&["backup", "prune", "--keep-last", "2"]);
    let left: Vec<String> = p
        .backups()
        .iter()
        .map(|b| b["created_at"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(left, ["2026-01-04T00:00:00Z", "2026-01-03T00:00:00Z"]);
    let files: Vec<_> = std::fs::read_dir(p.dir.path().join("backups"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(
        files.len(),
        6,
        "two backups with sidecar and manifest each: {files:?}"
    );
    // A fresh one is kept by --keep-days; the old ones go.
    p.ok(&["backup", "--label", "fresh"]);
    p.ok(&["backup", "prune", "--keep-days", "7"]);
    let left: Vec<String> = p
        .backups()
        .iter()
        .map(|b| b["reason"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(left, ["fresh"]);
    assert_eq!(
        p.run(&["backup", "prune"]).status.code(),
        Some(1),
        "prune needs a rule"
    );
}

#[test]
fn restore_refuses_while_a_writer_holds_the_database() {
    let p = Project::new();
    let file = abs(&p, &file_of(&p.ok(&["backup"])));
    let writer = p.conn();
    writer.execute_batch("BEGIN IMMEDIATE; INSERT INTO metrics_log (metric_name, metric_value, timestamp) VALUES ('w', 1, 'x');").unwrap();
    let out = p.run(&["restore", &file, "--yes"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("a writer holds"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    writer.execute_batch("COMMIT").unwrap();
}

#[test]
fn a_table_is_restored_in_both_modes_after_the_schema_changed() {
    for mode in ["replace", "merge"] {
        let p = Project::new();
        p.conn()
            .execute_batch(
                "INSERT INTO patterns (id, type, pattern_data, created_at, category) VALUES ('p1','t','one','now','c'), ('p2','t','two','now','c'), ('p3','t','three','now','c');
                 INSERT INTO pattern_embeddings VALUES ('p1', x'00', 1, 'now'), ('p2', x'00', 1, 'now');",
            )
            .unwrap();
        let file = abs(&p, &file_of(&p.ok(&["backup"])));
        // The schema changes (patterns gains a column), and the data moves on.
        let path = p.dir.path().join("schema/memory.yaml");
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace("      category:     { type: TEXT }\n", "      category:     { type: TEXT }\n      source:       { type: TEXT, default: \"import\" }\n")).unwrap();
        p.ok(&["sync", "--yes"]);
        p.conn()
            .execute_batch(
                "UPDATE patterns SET pattern_data = 'changed', source = 'live' WHERE id = 'p1';
                 DELETE FROM patterns WHERE id = 'p3';
                 INSERT INTO patterns (id, type, pattern_data, created_at, source) VALUES ('p4','t','four','now','live');",
            )
            .unwrap();
        let out = p.ok(&[
            "restore", &file, "--table", "patterns", "--mode", mode, "--yes",
        ]);
        assert!(out.contains("restored table \"patterns\""), "{out}");
        let rows: Vec<String> = {
            let conn = p.conn();
            let mut stmt = conn.prepare("SELECT id || ':' || pattern_data || ':' || ifnull(source, 'NULL') FROM patterns ORDER BY id").unwrap();
            stmt.query_map([], |r| r.get(0))
                .unwrap()
                .map(|r| r.unwrap())
                .collect()
        };
        match mode {
            // The backup's rows, exactly; the new column takes its default.
            "replace" => assert_eq!(rows, ["p1:one:import", "p2:two:import", "p3:three:import"]),
            // Only the missing p3 comes back; p1's change and p4 stay.
            _ => assert_eq!(
                rows,
                [
                    "p1:changed:live",
                    "p2:two:import",
                    "p3:three:import",
                    "p4:four:live"
                ]
            ),
        }
        let embeddings: i64 = p
            .conn()
            .query_row("SELECT count(*) FROM pattern_embeddings", [], |r| r.get(0))
            .unwrap();
        assert_eq!(
            embeddings, 2,
            "{mode}: replacing the parent's rows cascades to no child"
        );
    }
}

#[test]
fn a_table_restore_that_breaks_a_foreign_key_changes_nothing() {
    let p = Project::new();
    p.conn().execute_batch("INSERT INTO patterns (id, type, pattern_data, created_at) VALUES ('p1','t','one','now');").unwrap();
    let file = abs(&p, &file_of(&p.ok(&["backup"])));
    p.conn().execute_batch("INSERT INTO patterns (id, type, pattern_data, created_at) VALUES ('p2','t','two','now'); INSERT INTO pattern_embeddings VALUES ('p2', x'00', 1, 'now');").unwrap();
    let out = p.run(&["restore", &file, "--table", "patterns", "--yes"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("foreign_key_check failed"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let n: i64 = p
        .conn()
        .query_row("SELECT count(*) FROM patterns", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 2, "nothing changed");
}
