//! The apply benchmark: schemactl against hand-written SQL run through the same bundled
//! SQLite, on the generated memory database. Run with
//!
//!     cargo bench --bench pipeline -- [--rows N] [--runs R] [--dir DIR] [--only SCENARIO]
//!
//! (defaults: 1,000,000 rows, 3 runs, target/bench-data). It prints medians and ratios as a
//! Markdown table for BENCHMARKS.md. Every run works on a fresh copy of the generated database.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use rusqlite::Connection;

mod native;

struct Args {
    rows: u64,
    /// Bytes per embedding blob (1,536 by default; smaller to fit a million rows on a small disk).
    blob: u64,
    runs: usize,
    dir: PathBuf,
    only: Option<String>,
    /// Fleet scenario: databases, rows per database, databases for the peak RSS measurement.
    fleet: usize,
    fleet_rows: u64,
    fleet_large: usize,
}

fn args() -> Args {
    let mut a = Args {
        rows: 1_000_000,
        blob: 1536,
        runs: 3,
        dir: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data"),
        only: None,
        fleet: 1000,
        fleet_rows: 590,
        fleet_large: 10_000,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < argv.len() {
        let value = argv.get(i + 1).cloned().unwrap_or_default();
        match argv[i].as_str() {
            "--rows" => a.rows = value.parse().expect("--rows N"),
            "--blob-bytes" => a.blob = value.parse().expect("--blob-bytes N"),
            "--runs" => a.runs = value.parse().expect("--runs R"),
            "--dir" => a.dir = PathBuf::from(value),
            "--only" => a.only = Some(value),
            "--fleet" => a.fleet = value.parse().expect("--fleet N"),
            "--fleet-rows" => a.fleet_rows = value.parse().expect("--fleet-rows N"),
            "--fleet-large" => a.fleet_large = value.parse().expect("--fleet-large N"),
            _ => {
                i += 1;
                continue; // cargo bench passes --bench
            }
        }
        i += 2;
    }
    a
}

mod fleet;

fn schemactl() -> &'static str {
    env!("CARGO_BIN_EXE_schemactl")
}

/// Runs schemactl in `project`, returning wall time and peak RSS (KiB).
// The child is reaped by wait4 below, which also gives its peak RSS.
#[allow(clippy::zombie_processes)]
fn run_schemactl(project: &Path, args: &[&str]) -> (Duration, i64) {
    let start = Instant::now();
    let child = Command::new(schemactl())
        .current_dir(project)
        .args(args)
        .spawn()
        .expect("spawn schemactl");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let elapsed = start.elapsed();
    assert_eq!(rc, pid, "wait4");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "schemactl {args:?} failed"
    );
    (elapsed, usage.ru_maxrss)
}

fn time(f: impl FnOnce()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// The project: the repository's migrations applied (V1, V2), N patterns and N embeddings.
fn generate(dir: &Path, rows: u64, blob: u64) -> PathBuf {
    let base = if blob == 1536 {
        dir.join(format!("base-{rows}.db"))
    } else {
        dir.join(format!("base-{rows}-{blob}.db"))
    };
    if base.exists() {
        return base;
    }
    std::fs::create_dir_all(dir).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let project = dir.join("gen");
    let _ = std::fs::remove_dir_all(&project);
    std::fs::create_dir_all(&project).unwrap();
    let tmp = project.join("memory.db");
    let out = Command::new(schemactl())
        .current_dir(root)
        .args([
            "apply",
            "--yes",
            "--skip-backup",
            "--skip-rehearsal",
            "--database",
        ])
        .arg(&tmp)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let conn = Connection::open(&tmp).unwrap();
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL;
         BEGIN;
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows})
         INSERT INTO patterns (id, type, pattern_data, confidence, usage_count, created_at, last_used, category)
           SELECT printf('pattern-%08d', i), 'type-' || (i % 17), 'data-' || i, (i % 100) / 100.0, i % 7,
                  '2026-01-01T00:00:00Z', CASE WHEN i % 3 = 0 THEN NULL ELSE '2026-06-01T00:00:00Z' END, 'general'
           FROM n;
         INSERT INTO pattern_embeddings (pattern_id, embedding, dimension, created_at)
           SELECT id, randomblob({blob}), 384, created_at FROM patterns;
         COMMIT;
         PRAGMA wal_checkpoint(TRUNCATE);"
    ))
    .unwrap();
    drop(conn);
    std::fs::rename(&tmp, &base).unwrap();
    base
}

/// A fresh project dir with a copy of the base database and a schema/ made by `edit`.
/// Removes every scenario's copy, keeping only the generated database: one copy at a time, as
/// the disk is shared and a copy is 2.3 GB at N = 1M.
fn tidy(dir: &Path) {
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap().path();
        if e.is_dir() && e.file_name().is_some_and(|n| n != "gen") {
            std::fs::remove_dir_all(&e).unwrap();
        }
    }
}

fn project(dir: &Path, base: &Path, name: &str, edit: &dyn Fn(String) -> String) -> PathBuf {
    let p = dir.join(name);
    tidy(dir);
    std::fs::create_dir_all(p.join("schema")).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let schema = std::fs::read_to_string(root.join("schema/memory.yaml")).unwrap();
    std::fs::write(p.join("schema/memory.yaml"), edit(schema)).unwrap();
    std::fs::write(p.join("schemactl.toml"), "database = \"memory.db\"\nbackups = \"backups\"\nmigrations = \"migrations\"\nrollbacks = \"rollbacks\"\n").unwrap();
    for sub in ["migrations", "rollbacks"] {
        std::fs::create_dir_all(p.join(sub)).unwrap();
        for e in std::fs::read_dir(root.join(sub)).unwrap() {
            let f = e.unwrap().path();
            std::fs::copy(&f, p.join(sub).join(f.file_name().unwrap())).unwrap();
        }
    }
    std::fs::copy(base, p.join("memory.db")).unwrap();
    // Write the copy out now, so that no measurement pays for an earlier one's writeback.
    // SAFETY: sync(2) takes no arguments and cannot fail.
    unsafe { libc::sync() };
    p
}

/// Removes `category`, its index, and the declared query that reads it (a schema that keeps a
/// query on a dropped column does not load).
fn drop_category(s: String) -> String {
    let s = cut(s, "      category:     { type: TEXT }\n");
    let s = cut(
        s,
        "      idx_patterns_category:   { columns: [category, \"confidence DESC\"] }\n",
    );
    cut(
        s,
        "  confident_patterns_in_category: >-\n    SELECT * FROM patterns WHERE category = :category AND confidence > 0.8\n    ORDER BY confidence DESC LIMIT 100\n",
    )
}

/// Removes `what` from `s`, and stops the benchmark when `schema/memory.yaml` no longer holds it.
fn cut(s: String, what: &str) -> String {
    assert!(
        s.contains(what),
        "schema/memory.yaml changed: the benchmark edit no longer finds {what:?}"
    );
    s.replacen(what, "", 1)
}

fn add_check(s: String) -> String {
    s.replace(
        "confidence:   { type: REAL, not_null: true, default: 0.5 }",
        "confidence:   { type: REAL, not_null: true, default: 0.5, check: \"confidence BETWEEN 0 AND 1\" }",
    )
}

const HAND_DROP: &str =
    "DROP INDEX idx_patterns_category; ALTER TABLE patterns DROP COLUMN category;";

/// The same, all or nothing, as schemactl runs it.
const HAND_DROP_ATOMIC: &str =
    "BEGIN; DROP INDEX idx_patterns_category; ALTER TABLE patterns DROP COLUMN category; COMMIT;";

/// The same with what schemactl must also do: keep the dropped values (the stash, keyed by rowid
/// and primary key, indexed, and forgotten when a row is deleted), all or nothing.
const HAND_DROP_STASHED: &str = "BEGIN; DROP INDEX idx_patterns_category;
CREATE TABLE stash AS SELECT rowid AS _schemactl_rowid, id, category FROM patterns;
CREATE INDEX stash_id ON stash (_schemactl_rowid, id);
CREATE TRIGGER stash_forget AFTER DELETE ON patterns BEGIN DELETE FROM stash WHERE _schemactl_rowid = OLD.rowid AND id IS OLD.id; END;
ALTER TABLE patterns DROP COLUMN category; COMMIT;";

/// SQLite's 12-step rebuild of patterns with a CHECK added, by hand.
const HAND_REBUILD: &str = "
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE patterns_new (id TEXT PRIMARY KEY, type TEXT NOT NULL, pattern_data TEXT NOT NULL,
  confidence REAL NOT NULL DEFAULT 0.5 CHECK (confidence BETWEEN 0 AND 1), usage_count INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL, last_used TEXT, category TEXT);
INSERT INTO patterns_new SELECT id, type, pattern_data, confidence, usage_count, created_at, last_used, category FROM patterns;
DROP TABLE patterns;
ALTER TABLE patterns_new RENAME TO patterns;
CREATE INDEX idx_patterns_confidence ON patterns(confidence DESC);
CREATE INDEX idx_patterns_type ON patterns(type);
CREATE INDEX idx_patterns_last_used ON patterns(last_used DESC);
CREATE INDEX idx_patterns_category ON patterns(category, confidence DESC);
PRAGMA foreign_key_check;
COMMIT;
PRAGMA foreign_keys = ON;";

fn hand(db: &Path, sql: &str) {
    let conn = Connection::open(db).unwrap();
    conn.execute_batch(sql).unwrap();
}

fn hand_backup(db: &Path, to: &Path) {
    let _ = std::fs::remove_file(to);
    let src = Connection::open(db).unwrap();
    src.backup(
        rusqlite::MAIN_DB,
        to,
        None::<fn(rusqlite::backup::Progress)>,
    )
    .unwrap();
}

fn integrity(db: &Path) {
    let conn = Connection::open(db).unwrap();
    let r: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(r, "ok");
}

/// Runs `ours` and `theirs` `runs` times each, alternating which goes first.
fn alternate(runs: usize, mut ours: impl FnMut(), mut theirs: impl FnMut()) {
    for run in 0..runs {
        if run % 2 == 0 {
            ours();
            theirs();
        } else {
            theirs();
            ours();
        }
    }
}

type Row = (String, Duration, Duration);

fn drop_scenario(a: &Args, base: &Path, peak: &mut i64, rows: &mut Vec<Row>) {
    let (mut ours, mut theirs, mut atomic, mut stashed) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    alternate(
        a.runs,
        || {
            let p = project(&a.dir, base, "drop", &drop_category);
            let args = [
                "sync",
                "--yes",
                "--allow-destructive",
                "--skip-backup",
                "--skip-rehearsal",
            ];
            let (t, rss) = run_schemactl(&p, &args);
            ours.push(t);
            *peak = (*peak).max(rss);
        },
        || {
            let p = project(&a.dir, base, "drop-hand", &drop_category);
            theirs.push(time(|| hand(&p.join("memory.db"), HAND_DROP)));
            let p = project(&a.dir, base, "drop-hand", &drop_category);
            atomic.push(time(|| hand(&p.join("memory.db"), HAND_DROP_ATOMIC)));
            let p = project(&a.dir, base, "drop-hand", &drop_category);
            stashed.push(time(|| hand(&p.join("memory.db"), HAND_DROP_STASHED)));
        },
    );
    let ours = median(ours);
    rows.push(("drop `category` + index (`sync --skip-backup --skip-rehearsal`) vs DROP INDEX + DROP COLUMN".into(), ours, median(theirs)));
    rows.push(("the same vs DROP INDEX + DROP COLUMN in one transaction (all or nothing, as schemactl runs it)".into(), ours, median(atomic)));
    rows.push(("the same vs the same transaction with the stash schemactl keeps (its floor: the values saved, indexed, forgotten on delete)".into(), ours, median(stashed)));
}

fn rebuild_scenario(a: &Args, base: &Path, peak: &mut i64, rows: &mut Vec<Row>) {
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    alternate(
        a.runs,
        || {
            let p = project(&a.dir, base, "rebuild", &add_check);
            let (t, rss) =
                run_schemactl(&p, &["sync", "--yes", "--skip-backup", "--skip-rehearsal"]);
            ours.push(t);
            *peak = (*peak).max(rss);
        },
        || {
            let p = project(&a.dir, base, "rebuild-hand", &add_check);
            theirs.push(time(|| hand(&p.join("memory.db"), HAND_REBUILD)));
        },
    );
    rows.push((
        "rebuild `patterns` (add CHECK) vs the hand-written 12-step rebuild".into(),
        median(ours),
        median(theirs),
    ));
}

fn pipeline_scenario(a: &Args, base: &Path, peak: &mut i64, rows: &mut Vec<Row>) {
    let (mut ours, mut floor, mut runbook) = (Vec::new(), Vec::new(), Vec::new());
    alternate(
        a.runs,
        || {
            let p = project(&a.dir, base, "pipeline", &add_check);
            let (t, rss) = run_schemactl(&p, &["sync", "--yes"]);
            ours.push(t);
            *peak = (*peak).max(rss);
            let _ = std::fs::remove_dir_all(p.join("backups"));
        },
        || {
            // Unavoidable: .backup once, the change twice.
            let p = project(&a.dir, base, "floor", &add_check);
            let db = p.join("memory.db");
            let b = time(|| hand_backup(&db, &p.join("backup.db")));
            let r1 = time(|| hand(&p.join("backup.db"), HAND_REBUILD));
            let r2 = time(|| hand(&db, HAND_REBUILD));
            floor.push(b + r1 + r2);
            let _ = std::fs::remove_file(p.join("backup.db"));
            // The runbook: .backup, cp, apply on the copy, integrity_check, apply on live,
            // integrity_check.
            let p = project(&a.dir, base, "runbook", &add_check);
            let db = p.join("memory.db");
            runbook.push(time(|| {
                hand_backup(&db, &p.join("pre.backup"));
                std::fs::copy(&db, p.join("test.db")).unwrap();
                hand(&p.join("test.db"), HAND_REBUILD);
                integrity(&p.join("test.db"));
                hand(&db, HAND_REBUILD);
                integrity(&db);
            }));
        },
    );
    let pipeline = median(ours);
    rows.push(("full pipeline (`sync`: lock, backup, rehearsal, apply, checks) vs one backup + the change twice".into(), pipeline, median(floor)));
    rows.push(("full pipeline vs the runbook's procedure (.backup, cp, apply, integrity_check, apply, integrity_check)".into(), pipeline, median(runbook)));
}

/// The row-level proof's cost: `sync --verify` runs it twice (rehearsal and live run), `sync`
/// once (rehearsal), so the difference is one proof of the rebuilt table.
fn proof_scenario(a: &Args, base: &Path, peak: &mut i64, rows: &mut Vec<Row>) {
    let (mut plain, mut verify) = (Vec::new(), Vec::new());
    let (mut peak_v, mut peak_p) = (0, 0);
    alternate(
        a.runs,
        || {
            let p = project(&a.dir, base, "proof-verify", &add_check);
            let (t, rss) = run_schemactl(&p, &["sync", "--yes", "--verify"]);
            verify.push(t);
            peak_v = peak_v.max(rss);
            let _ = std::fs::remove_dir_all(&p);
        },
        || {
            let p = project(&a.dir, base, "proof", &add_check);
            let (t, rss) = run_schemactl(&p, &["sync", "--yes"]);
            plain.push(t);
            peak_p = peak_p.max(rss);
            let _ = std::fs::remove_dir_all(&p);
        },
    );
    *peak = (*peak).max(peak_v).max(peak_p);
    let (v, p) = (median(verify), median(plain));
    let one = v.saturating_sub(p);
    let without = p.saturating_sub(one);
    eprintln!(
        "proof: one pass {:.2} s; the pipeline without it {:.2} s; its share {:.1}%",
        one.as_secs_f64(),
        without.as_secs_f64(),
        100.0 * one.as_secs_f64() / without.as_secs_f64()
    );
    rows.push(("`sync --verify` (the row proof in the rehearsal and the live run) vs `sync` (in the rehearsal only)".into(), v, p));
    rows.push((
        "one row proof (the difference) vs the pipeline without it".into(),
        one,
        without,
    ));
}

fn backup_scenario(a: &Args, base: &Path, peak: &mut i64, rows: &mut Vec<Row>) {
    let p = project(&a.dir, base, "backup", &|s| s);
    let db = p.join("memory.db");
    let (mut plain, mut dot_backup, mut vacuum_into, mut zstd, mut runbook, mut restore) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    let (mut restore_plain, mut backup_floor, mut restore_floor) =
        (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..a.runs {
        let _ = std::fs::remove_dir_all(p.join("backups"));
        let (t, rss) = run_schemactl(&p, &["backup", "--compress", "none"]);
        plain.push(t);
        *peak = (*peak).max(rss);
        let (t, rss) = run_schemactl(&p, &["backup", "--compress", "zstd"]);
        zstd.push(t);
        *peak = (*peak).max(rss);
        let file = std::fs::read_dir(p.join("backups"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|f| f.extension().is_some_and(|x| x == "zst"))
            .unwrap();
        let (t, rss) = run_schemactl(&p, &["restore", file.to_str().unwrap(), "--yes"]);
        restore.push(t);
        *peak = (*peak).max(rss);
        let file = std::fs::read_dir(p.join("backups"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|f| {
                f.extension().is_some_and(|x| x == "db")
                    && !f.to_string_lossy().contains("before-restore")
            })
            .unwrap();
        let (t, rss) = run_schemactl(&p, &["restore", file.to_str().unwrap(), "--yes"]);
        restore_plain.push(t);
        *peak = (*peak).max(rss);
        let _ = std::fs::remove_dir_all(p.join("backups"));
        dot_backup.push(time(|| hand_backup(&db, &p.join("dot.backup"))));
        let _ = std::fs::remove_file(p.join("vacuum.db"));
        vacuum_into.push(time(|| {
            let conn = Connection::open(&db).unwrap();
            conn.execute("VACUUM INTO ?1", [p.join("vacuum.db").to_str().unwrap()])
                .unwrap();
        }));
        let _ = std::fs::remove_file(p.join("vacuum.db"));
        // The runbook: .backup, integrity_check, gzip, sha256sum.
        runbook.push(time(|| {
            let f = p.join("runbook.backup");
            hand_backup(&db, &f);
            integrity(&f);
            assert!(
                Command::new("gzip")
                    .arg("-f")
                    .arg(&f)
                    .status()
                    .unwrap()
                    .success()
            );
            let gz = p.join("runbook.backup.gz");
            let out = Command::new("sha256sum").arg(&gz).output().unwrap();
            std::fs::write(p.join("runbook.backup.gz.sha256"), out.stdout).unwrap();
        }));
        // The work `backup --compress none` cannot avoid: the copy, and integrity_check of it.
        backup_floor.push(time(|| {
            hand_backup(&db, &p.join("floor.backup"));
            integrity(&p.join("floor.backup"));
        }));
        // The work `restore FILE.db` cannot avoid, one step after the other: integrity_check of
        // the backup, a before-restore copy of the live database, and the copy into it through
        // the backup API (WAL-safe), checkpointed.
        restore_floor.push(time(|| {
            integrity(&p.join("floor.backup"));
            hand_backup(&db, &p.join("floor.before"));
            let mut live = Connection::open(&db).unwrap();
            live.restore(
                rusqlite::MAIN_DB,
                p.join("floor.backup"),
                None::<fn(rusqlite::backup::Progress)>,
            )
            .unwrap();
            live.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
                .unwrap();
        }));
        for f in [
            "dot.backup",
            "runbook.backup.gz",
            "floor.backup",
            "floor.before",
        ] {
            let _ = std::fs::remove_file(p.join(f));
        }
    }
    let plain = median(plain);
    rows.push(("`backup --compress none` (backup API, integrity_check of the copy, sha256, manifest) vs `.backup`".into(), plain, median(dot_backup)));
    rows.push((
        "the same vs `VACUUM INTO`".into(),
        plain,
        median(vacuum_into),
    ));
    rows.push((
        "the same vs its unavoidable work: `.backup` + integrity_check of the copy".into(),
        plain,
        median(backup_floor),
    ));
    rows.push((
        "`backup` (zstd, checksum) vs the runbook's `.backup`, integrity_check, gzip, sha256sum"
            .into(),
        median(zstd),
        median(runbook),
    ));
    rows.push(("`restore FILE.zst` (verify: checksum while decompressing, integrity_check; before-restore backup beside it; copy; row counts) vs `backup --compress none`".into(), median(restore), plain));
    let restore_plain = median(restore_plain);
    rows.push(("`restore FILE.db` (verify: checksum beside integrity_check; before-restore backup beside it; copy; row counts) vs `backup --compress none`".into(), restore_plain, plain));
    rows.push(("the same vs its unavoidable work, one step after another: integrity_check of the backup, a before-restore copy, the copy into the WAL-mode live database".into(), restore_plain, median(restore_floor)));
}

/// Class 8 of issue 14: a no-op `plan` and a one-table `sync` (the first one, which adopts
/// the database, and a later one) on N tables, each with an index and a foreign key to the
/// table before it. Needs no generated rows.
fn scaling_scenario(a: &Args) {
    let mut table = String::from(
        "\n| tables (+ as many indexes and foreign keys) | no-op `plan` | first one-table `sync` (adopts) | later one-table `sync` |\n|---|---|---|---|\n",
    );
    for n in [100usize, 1_000, 5_000] {
        let dir = a.dir.join(format!("scaling-{n}"));
        let base = dir.join("base.db");
        if !base.exists() {
            std::fs::create_dir_all(&dir).unwrap();
            let tmp = dir.join("base.tmp");
            let _ = std::fs::remove_file(&tmp);
            let conn = Connection::open(&tmp).unwrap();
            let mut sql = String::from("BEGIN;\n");
            for i in 0..n {
                let parent = if i == 0 {
                    String::new()
                } else {
                    format!(" REFERENCES t{}(id)", i - 1)
                };
                sql.push_str(&format!(
                    "CREATE TABLE t{i} (id INTEGER PRIMARY KEY, name TEXT NOT NULL, parent_id INTEGER{parent});\n\
                     CREATE INDEX t{i}_name ON t{i}(name);\n"
                ));
            }
            sql.push_str("COMMIT;");
            conn.execute_batch(&sql).unwrap();
            drop(conn);
            std::fs::rename(&tmp, &base).unwrap();
        }
        let mut plans = Vec::new();
        let mut firsts = Vec::new();
        let mut laters = Vec::new();
        for _ in 0..a.runs {
            let p = dir.join("project");
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(p.join("schema")).unwrap();
            std::fs::write(p.join("schemactl.toml"), "database = \"app.db\"\nschema = \"schema\"\nbackups = \"backups\"\nmigrations = \"migrations\"\nrollbacks = \"rollbacks\"\n").unwrap();
            std::fs::copy(&base, p.join("app.db")).unwrap();
            run_schemactl(&p, &["import", "--out", "schema/app.yaml"]);
            plans.push(run_schemactl(&p, &["plan"]).0);
            let yaml = p.join("schema/app.yaml");
            let key = format!(
                "  t{}:\n    columns:\n      id: {{ type: INTEGER, primary_key: true }}\n",
                n / 2
            );
            let add = |column: &str| {
                let text = std::fs::read_to_string(&yaml).unwrap();
                assert!(text.contains(&key), "import wrote t{} differently", n / 2);
                let text = text.replace(&key, &format!("{key}      {column}: {{ type: TEXT }}\n"));
                std::fs::write(&yaml, text).unwrap();
            };
            add("note");
            firsts.push(run_schemactl(&p, &["sync", "--yes"]).0);
            add("note2");
            laters.push(run_schemactl(&p, &["sync", "--yes"]).0);
        }
        table.push_str(&format!(
            "| {n} | {:.2} s | {:.2} s | {:.2} s |\n",
            median(plans).as_secs_f64(),
            median(firsts).as_secs_f64(),
            median(laters).as_secs_f64()
        ));
    }
    for n in [100usize, 1_000, 5_000] {
        let _ = std::fs::remove_dir_all(a.dir.join(format!("scaling-{n}")));
    }
    println!(
        "{table}\nmedians of {} runs, SQLite {}",
        a.runs,
        rusqlite::version()
    );
}

fn main() {
    let a = args();
    if a.only.as_deref() == Some("fleet") {
        fleet::scenario(&a);
        return;
    }
    if a.only.as_deref() == Some("scaling") {
        scaling_scenario(&a);
        return;
    }
    eprintln!("generating {} rows in {} ...", a.rows, a.dir.display());
    let base = generate(&a.dir, a.rows, a.blob);
    let size = std::fs::metadata(&base).unwrap().len();
    let mut rows: Vec<Row> = Vec::new();
    let mut peak = 0i64;
    let wanted = |name: &str| a.only.as_deref().is_none_or(|o| o == name);
    if wanted("drop") {
        drop_scenario(&a, &base, &mut peak, &mut rows);
    }
    if wanted("rebuild") {
        rebuild_scenario(&a, &base, &mut peak, &mut rows);
    }
    if wanted("pipeline") {
        pipeline_scenario(&a, &base, &mut peak, &mut rows);
    }
    if wanted("backup") {
        backup_scenario(&a, &base, &mut peak, &mut rows);
    }
    if wanted("proof") {
        proof_scenario(&a, &base, &mut peak, &mut rows);
    }
    if wanted("native") {
        native::native_scenario(&a, &base, &mut peak, &mut rows);
    }
    if wanted("scaling") {
        scaling_scenario(&a);
    }
    tidy(&a.dir);
    println!(
        "\nN = {} rows ({:.2} GB), medians of {} runs, SQLite {}; peak RSS of any schemactl run: {:.1} MB\n",
        a.rows,
        size as f64 / 1e9,
        a.runs,
        rusqlite::version(),
        peak as f64 / 1024.0
    );
    println!("| measurement | schemactl | baseline | ratio |");
    println!("|---|---|---|---|");
    for (name, ours, base) in rows {
        println!(
            "| {name} | {:.2} s | {:.2} s | {:.2} |",
            ours.as_secs_f64(),
            base.as_secs_f64(),
            ours.as_secs_f64() / base.as_secs_f64()
        );
    }
}
