//! An application writes all the while (WAL mode, its own process-like connection on a thread)
//! during backup, apply, rollback and prune: no committed write may be lost, and the
//! application's waits stay bounded. A lock held past schemactl's busy timeout gives a clear
//! message and changes nothing.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rusqlite::Connection;

fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_schemactl"));
    cmd.args(args)
        .current_dir(dir)
        .env_remove("SCHEMACTL_DATABASE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn ok(dir: &Path, args: &[&str]) {
    let out = run(dir, args, &[]);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn project() -> tempfile::TempDir {
    let dir = common::project_dir(
        "database = \"memory.db\"\nbackups = \"backups\"\narchives = \"archives\"\n",
    );
    ok(dir.path(), &["apply", "--yes", "--skip-backup"]);
    let conn = Connection::open(dir.path().join("memory.db")).unwrap();
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
         INSERT INTO patterns (id, type, pattern_data, confidence, usage_count, created_at, last_used, category)
           SELECT printf('old%05d', i), 'kind', 'data', 0.9, 1, '2020-01-01T00:00:00Z', '2020-01-01T00:00:00Z', 'general' FROM n;
         INSERT INTO pattern_embeddings SELECT id, randomblob(512), 128, created_at FROM patterns;",
    )
    .unwrap();
    dir
}

/// What the application committed, and its longest wait for one write.
struct Written {
    metrics: Vec<i64>,
    patterns: Vec<String>,
    longest: Duration,
}

/// Writes until `stop`: each transaction inserts a metric and a fresh pattern with its
/// embedding; only what committed is recorded.
fn application(db: PathBuf, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<Written> {
    std::thread::spawn(move || {
        let conn = Connection::open(&db).unwrap();
        conn.busy_timeout(Duration::from_secs(60)).unwrap();
        let mut w = Written {
            metrics: Vec::new(),
            patterns: Vec::new(),
            longest: Duration::ZERO,
        };
        let now = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        let mut i = 0;
        while !stop.load(Ordering::Relaxed) {
            i += 1;
            let id = format!("app{i:06}");
            let start = Instant::now();
            let result = (|| -> rusqlite::Result<i64> {
                let tx = conn.unchecked_transaction()?;
                tx.execute(
                    "INSERT INTO metrics_log (metric_name, metric_value, timestamp) VALUES ('app', ?1, 'now')",
                    [i],
                )?;
                let metric = tx.last_insert_rowid();
                tx.execute(
                    "INSERT INTO patterns (id, type, pattern_data, confidence, usage_count, created_at, last_used, category) VALUES (?1, 'app', 'd', 0.9, 5, ?2, ?2, 'general')",
                    rusqlite::params![id, now],
                )?;
                tx.execute(
                    "INSERT INTO pattern_embeddings VALUES (?1, x'0102', 1, ?2)",
                    rusqlite::params![id, now],
                )?;
                tx.commit()?;
                Ok(metric)
            })();
            w.longest = w.longest.max(start.elapsed());
            match result {
                Ok(metric) => {
                    w.metrics.push(metric);
                    w.patterns.push(id);
                }
                // A write that did not commit is not recorded: only committed writes count.
                Err(e) => panic!("the application's write failed: {e}"),
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        w
    })
}

#[test]
fn no_write_is_lost_during_backup_apply_rollback_and_prune() {
    let p = project();
    let dir = p.path();
    let db = dir.join("memory.db");
    common::require_rebuild(dir);
    ok(dir, &["plan", "--write", "confidence_check"]);
    let stop = Arc::new(AtomicBool::new(false));
    let app = application(db.clone(), stop.clone());
    std::thread::sleep(Duration::from_millis(100));
    ok(dir, &["backup"]);
    ok(dir, &["apply", "--yes"]);
    ok(dir, &["rollback", "last", "--yes"]);
    ok(dir, &["prune", "--yes"]);
    std::thread::sleep(Duration::from_millis(100));
    stop.store(true, Ordering::Relaxed);
    let w = app.join().unwrap();
    assert!(
        w.metrics.len() > 20,
        "the application wrote all along ({})",
        w.metrics.len()
    );

    let conn = Connection::open(&db).unwrap();
    let ok_: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok_, "ok");
    let present = |sql: &str, key: &dyn rusqlite::ToSql| -> bool {
        conn.query_row(sql, [key], |r| r.get::<_, i64>(0)).unwrap() == 1
    };
    let lost_metrics = w
        .metrics
        .iter()
        .filter(|id| !present("SELECT count(*) FROM metrics_log WHERE id = ?1", *id))
        .count();
    let lost_patterns = w
        .patterns
        .iter()
        .filter(|id| {
            !present("SELECT count(*) FROM patterns WHERE id = ?1", *id)
                || !present(
                    "SELECT count(*) FROM pattern_embeddings WHERE pattern_id = ?1",
                    *id,
                )
        })
        .count();
    println!(
        "concurrency: {} application transactions committed during backup, apply, rollback and prune; longest wait {:?}; {lost_metrics} metrics and {lost_patterns} patterns lost",
        w.metrics.len(),
        w.longest
    );
    assert_eq!(lost_metrics, 0);
    assert_eq!(lost_patterns, 0);
    // The prune took the 2,000 old patterns (and their embeddings) and nothing else.
    let old: i64 = conn
        .query_row(
            "SELECT count(*) FROM patterns WHERE id LIKE 'old%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(old, 0);
    assert!(
        w.longest < Duration::from_secs(10),
        "waits are bounded: {:?}",
        w.longest
    );
}

#[test]
fn a_lock_held_past_the_busy_timeout_gives_a_clear_message_and_changes_nothing() {
    let p = project();
    let dir = p.path();
    common::require_rebuild(dir);
    ok(dir, &["plan", "--write", "confidence_check"]);
    let db = dir.join("memory.db");
    let holder = Connection::open(&db).unwrap();
    holder
        .execute_batch("BEGIN IMMEDIATE; INSERT INTO metrics_log (metric_name, metric_value, timestamp) VALUES ('held', 1, 'now');")
        .unwrap();
    let env = [("SCHEMACTL_BUSY_TIMEOUT_MS", "300")];
    for args in [
        &["apply", "--yes", "--skip-backup", "--skip-rehearsal"][..],
        &["prune", "--yes"][..],
        &["optimize", "--analyze"][..],
    ] {
        let start = Instant::now();
        let out = run(dir, args, &env);
        let took = start.elapsed();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("locked") || err.contains("busy"),
            "{args:?}: {err}"
        );
        assert!(
            err.contains("nothing was") || err.contains("busy timeout"),
            "{args:?}: {err}"
        );
        assert!(took < Duration::from_secs(5), "{args:?} waited {took:?}");
    }
    holder.execute_batch("ROLLBACK").unwrap();
    drop(holder);
    let conn = Connection::open(&db).unwrap();
    let versions: i64 = conn
        .query_row("SELECT count(*) FROM _schemactl_history", [], |r| r.get(0))
        .unwrap();
    assert_eq!(versions, 3, "nothing was applied");
    let old: i64 = conn
        .query_row("SELECT count(*) FROM patterns", [], |r| r.get(0))
        .unwrap();
    assert_eq!(old, 2000, "nothing was pruned");
}

#[test]
fn a_restore_beside_another_databases_backups_taken_meanwhile_takes_its_own_and_spoils_none() {
    let p = project();
    let dir = p.path();
    let db = dir.join("memory.db");
    ok(dir, &["backup", "--label", "mine"]);
    let own: i64 = Connection::open(&db)
        .unwrap()
        .query_row("SELECT count(*) FROM patterns", [], |r| r.get(0))
        .unwrap();
    ok(
        dir,
        &["apply", "--yes", "--skip-backup", "--database", "other.db"],
    );
    // The application writes into other.db all along, while other.db is backed up into the
    // same folder again and again (each run sweeping the folder), and memory.db is restored.
    let stop = Arc::new(AtomicBool::new(false));
    let app = application(dir.join("other.db"), stop.clone());
    let taken_so_far = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let backups = {
        let dir = dir.to_path_buf();
        let stop = stop.clone();
        let taken_so_far = taken_so_far.clone();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                ok(
                    &dir,
                    &["backup", "--database", "other.db", "--label", "other"],
                );
                taken_so_far.fetch_add(1, Ordering::SeqCst);
            }
            taken_so_far.load(Ordering::SeqCst)
        })
    };
    // other.db's backups are the newest in the folder before the first restore.
    while taken_so_far.load(Ordering::SeqCst) < 2 {
        std::thread::sleep(Duration::from_millis(20));
    }
    Connection::open(&db)
        .unwrap()
        .execute_batch("DELETE FROM pattern_embeddings; DELETE FROM patterns;")
        .unwrap();
    for _ in 0..3 {
        ok(dir, &["restore", "--latest", "--yes", "--wait"]);
        let restored: i64 = Connection::open(&db)
            .unwrap()
            .query_row("SELECT count(*) FROM patterns", [], |r| r.get(0))
            .unwrap();
        assert_eq!(
            restored, own,
            "memory.db's own backup, not other.db's newer ones"
        );
    }
    stop.store(true, Ordering::Relaxed);
    let taken = backups.join().unwrap();
    let w = app.join().unwrap();
    assert!(taken > 0 && !w.metrics.is_empty());
    // Every backup of other.db verifies, and nothing of a run is left in the folder.
    let out = run(
        dir,
        &["backup", "verify", "--all", "--database", "other.db"],
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let verified = String::from_utf8_lossy(&out.stdout).lines().count();
    assert!(verified >= taken, "{verified} verified, {taken} taken");
    let leftovers: Vec<String> = std::fs::read_dir(dir.join("backups"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".inprogress") || n.contains(".scratch.db"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // The application's writes to other.db are all there.
    let other = Connection::open(dir.join("other.db")).unwrap();
    let lost = w
        .metrics
        .iter()
        .filter(|id| {
            other
                .query_row(
                    "SELECT count(*) FROM metrics_log WHERE id = ?1",
                    [*id],
                    |r| r.get::<_, i64>(0),
                )
                .unwrap()
                == 0
        })
        .count();
    println!(
        "concurrency: 3 restores of memory.db beside {taken} backups of other.db taken meanwhile and {} application writes to other.db; {lost} lost",
        w.metrics.len()
    );
    assert_eq!(lost, 0);
}
