//! Disaster recovery and what restore shows: a corrupt live file is moved aside intact and
//! restored over; restore previews the backup against the live database before it asks; full
//! `check` reports corruption as a finding like `--quick`; a runbook backup without a checksum
//! is restored only when asked, after integrity_check. Real files and processes.

mod common;

use std::path::PathBuf;
use std::process::Output;

use rusqlite::Connection;

struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new() -> Self {
        let dir = common::project_dir("database = \"memory.db\"\nbackups = \"backups\"\n");
        let p = Project { dir };
        p.ok(&["apply", "--yes", "--skip-backup"]);
        p
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn run(&self, args: &[&str]) -> Output {
        common::schemactl(self.dir.path(), args)
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
        Connection::open(self.path("memory.db")).unwrap()
    }

    fn count(&self) -> i64 {
        self.conn()
            .query_row("SELECT count(*) FROM metrics_log", [], |r| r.get(0))
            .unwrap()
    }

    fn insert(&self, n: usize) {
        self.conn()
            .execute_batch(&format!(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n})
                 INSERT INTO metrics_log (metric_name, metric_value, timestamp) SELECT printf('m%06d', i), i, 'now' FROM n"
            ))
            .unwrap();
    }

    fn backup(&self) -> String {
        let out = self.ok(&["backup", "--label", "nightly"]);
        self.path(out.split_whitespace().nth(1).unwrap())
            .display()
            .to_string()
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

/// What happens to the live file's bytes.
type Damage = fn(&mut Vec<u8>);

#[test]
fn a_corrupt_live_file_is_moved_aside_intact_and_restored_over() {
    let cases: [(&str, Damage); 3] = [
        ("truncated", |b| b.truncate(b.len() / 3)),
        ("not sqlite", |b| {
            *b = b"this is not a database, it is a note\n".repeat(200)
        }),
        ("pages overwritten", |b| {
            let at = b.len() / 2;
            for x in &mut b[at..at + 8192] {
                *x = 0xA5;
            }
        }),
    ];
    for (name, damage) in cases {
        let p = Project::new();
        p.insert(3000);
        p.backup();
        p.insert(10);
        let mut bytes = std::fs::read(p.path("memory.db")).unwrap();
        damage(&mut bytes);
        std::fs::write(p.path("memory.db"), &bytes).unwrap();
        let out = p.run(&["restore", "--latest-valid", "--yes"]);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        let err = stderr(&out);
        let aside: Vec<PathBuf> = std::fs::read_dir(p.dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|f| f.to_string_lossy().contains("memory.db.corrupt-"))
            .collect();
        assert_eq!(aside.len(), 1, "{name}: {aside:?}");
        assert!(
            err.contains(&aside[0].display().to_string()),
            "{name}: named in the output: {err}"
        );
        assert_eq!(
            std::fs::read(&aside[0]).unwrap(),
            bytes,
            "{name}: kept intact, never deleted"
        );
        assert_eq!(p.count(), 3000, "{name}: the backup's rows");
        let ok: String = p
            .conn()
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok", "{name}");
    }
}

#[test]
fn restore_shows_the_backup_beside_the_live_database_before_it_asks() {
    let p = Project::new();
    p.insert(7);
    p.conn()
        .execute_batch(
            "INSERT INTO patterns (id, type, pattern_data, created_at) VALUES ('p1','t','d','now')",
        )
        .unwrap();
    let file = p.backup();
    p.insert(5);
    // Off a terminal without --yes: the preview, then a refusal, and nothing changed.
    let out = p.run(&["restore", "--latest"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains(&format!("from {file}")), "{err}");
    for line in [
        "label:          nightly",
        "schema version: 3",
        "taken:          20",
        "source:         ",
    ] {
        assert!(err.contains(line), "{line}: {err}");
    }
    let size = std::fs::metadata(&file).unwrap().len();
    assert!(
        err.contains(&format!("size:           {size} bytes")),
        "{err}"
    );
    let row = |table: &str| {
        err.lines()
            .find(|l| l.split_whitespace().next() == Some(table))
            .map(|l| l.split_whitespace().skip(1).collect::<Vec<_>>().join(" "))
    };
    assert_eq!(row("metrics_log").as_deref(), Some("7 12"), "{err}");
    assert_eq!(row("patterns").as_deref(), Some("1 1"), "{err}");
    assert!(err.contains("needs confirmation"), "{err}");
    assert_eq!(p.count(), 12, "nothing was restored");
}

/// Adds a table with an index to `db` and damages the index page that SQLite's full
/// integrity_check stops on ("database disk image is malformed"), while quick_check reports
/// it (the case from the issue); returns `db`.
fn damage_index(db: &std::path::Path) -> PathBuf {
    let conn = Connection::open(db).unwrap();
    conn.execute_batch(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); CREATE INDEX ti ON t(v);
         WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 2999)
         INSERT INTO t (v) SELECT printf('%.50c%d', 'x', i) FROM n;",
    )
    .unwrap();
    let page_size: i64 = conn
        .query_row("PRAGMA page_size", [], |r| r.get(0))
        .unwrap();
    let pages: Vec<i64> = conn
        .prepare(
            "SELECT pageno FROM dbstat WHERE name = 'ti' AND pagetype = 'leaf' ORDER BY pageno",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    drop(conn);
    let original = std::fs::read(db).unwrap();
    for page in pages {
        let mut bytes = original.clone();
        let at = usize::try_from((page - 1) * page_size).unwrap();
        for b in &mut bytes[at + 8..at + 100] {
            *b = 0xff;
        }
        std::fs::write(db, &bytes).unwrap();
        let conn = Connection::open(db).unwrap();
        let full = conn
            .prepare("PRAGMA integrity_check(100)")
            .and_then(|mut s| {
                s.query_map([], |r| r.get::<_, String>(0))?
                    .collect::<rusqlite::Result<Vec<_>>>()
            });
        let quick = conn.prepare("PRAGMA quick_check(100)").and_then(|mut s| {
            s.query_map([], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()
        });
        if full.is_err() && quick.is_ok_and(|q| q != ["ok"]) {
            return db.to_path_buf();
        }
    }
    panic!("no index page makes integrity_check stop while quick_check reports it");
}

#[test]
fn full_check_reports_corruption_as_a_finding_like_quick() {
    let p = Project::new();
    let db = damage_index(&p.path("memory.db"));
    let db = db.display().to_string();
    for quick in [false, true] {
        let mut args = vec!["check", "--database", &db, "--format", "json"];
        if quick {
            args.push("--quick");
        }
        let out = p.run(&args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "quick={quick}: {}",
            stderr(&out)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(
            v["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["class"] == "integrity"),
            "quick={quick}: {v}"
        );
    }
}

#[test]
fn a_runbook_backup_without_checksum_is_restored_only_when_asked_after_integrity_check() {
    let p = Project::new();
    p.insert(4);
    // The runbook's way: sqlite3 .backup, then gzip; no sidecar, no manifest.
    let plain = p.path("runbook.db");
    p.conn()
        .backup(
            rusqlite::MAIN_DB,
            &plain,
            None::<fn(rusqlite::backup::Progress)>,
        )
        .unwrap();
    let gz = p.path("runbook.db.gz");
    let mut encoder = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::fast(),
    );
    std::io::copy(&mut std::fs::File::open(&plain).unwrap(), &mut encoder).unwrap();
    encoder.finish().unwrap();
    p.insert(6);
    let gz = gz.display().to_string();
    let out = p.run(&["restore", &gz, "--yes"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no sha256 sidecar or manifest"),
        "{}",
        stderr(&out)
    );
    assert_eq!(p.count(), 10);
    // No manifest: nothing shows it is this database's, which is asked for too.
    let out = p.run(&["restore", &gz, "--without-checksum", "--yes"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("it has no manifest, so nothing shows it is a backup of"),
        "{}",
        stderr(&out)
    );
    assert_eq!(p.count(), 10);
    let out = p.run(&[
        "restore",
        &gz,
        "--without-checksum",
        "--from-other-database",
        "--yes",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("NO CHECKSUM"), "{}", stderr(&out));
    assert_eq!(p.count(), 4);
    // One that fails integrity_check is refused even so.
    let bad = p.path("damaged.db");
    std::fs::copy(&plain, &bad).unwrap();
    let bad = damage_index(&bad).display().to_string();
    let out = p.run(&["restore", &bad, "--without-checksum", "--yes"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("nothing was restored"),
        "{}",
        stderr(&out)
    );
    assert_eq!(p.count(), 4);
}
