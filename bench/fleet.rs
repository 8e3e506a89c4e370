//! The fleet scenario (`--only fleet`): N copies of a memory database at V2 (about 1.5 MB:
//! `--fleet-rows` patterns with their 1,536-byte embeddings) brought to head by one
//! `schemactl fleet apply` (the repository's V3 plus a V4 that rebuilds `patterns`, full
//! pipeline), against one `schemactl apply` process per database in a loop, one at a time and
//! two at a time (on a sample of the copies); a `fleet status` scan of the up-to-date fleet;
//! and the peak RSS of `fleet apply` over `--fleet-large` small databases (the same schema,
//! no rows). Everything is written under `--dir`/fleet and removed at the end.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::{Args, HAND_REBUILD, schemactl};

/// The rebuild of `patterns` as a migration: the hand-written 12 steps without the
/// transaction and pragmas (the pipeline owns those).
fn rebuild_migration() -> String {
    HAND_REBUILD
        .lines()
        .filter(|l| !l.starts_with("PRAGMA") && !l.starts_with("BEGIN") && !l.starts_with("COMMIT"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A project with V1 and V2 of the repository, and a base database at V2 with `rows` rows.
fn base(dir: &Path, rows: u64) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let _ = std::fs::remove_dir_all(dir);
    for sub in ["migrations", "rollbacks"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
        for e in std::fs::read_dir(root.join(sub)).unwrap() {
            let f = e.unwrap().path();
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with("V1__") || name.starts_with("V2__") {
                std::fs::copy(&f, dir.join(sub).join(&name)).unwrap();
            }
        }
    }
    std::fs::write(
        dir.join("schemactl.toml"),
        "migrations = \"migrations\"\nrollbacks = \"rollbacks\"\n",
    )
    .unwrap();
    let db = dir.join(format!("base-{rows}.db"));
    let out = Command::new(schemactl())
        .current_dir(dir)
        .args([
            "apply",
            "--yes",
            "--skip-backup",
            "--skip-rehearsal",
            "--database",
        ])
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch(&format!(
        "BEGIN;
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows})
         INSERT INTO patterns (id, type, pattern_data, confidence, usage_count, created_at, last_used, category)
           SELECT printf('pattern-%08d', i), 'type-' || (i % 17), 'data-' || i, (i % 100) / 100.0, i % 7,
                  '2026-01-01T00:00:00Z', CASE WHEN i % 3 = 0 THEN NULL ELSE '2026-06-01T00:00:00Z' END, 'general'
           FROM n WHERE {rows} > 0;
         INSERT INTO pattern_embeddings (pattern_id, embedding, dimension, created_at)
           SELECT id, randomblob(1536), 384, created_at FROM patterns;
         COMMIT;"
    ))
    .unwrap();
    drop(conn);
    // Then the head: the repository's V3 and the rebuild.
    for sub in ["migrations", "rollbacks"] {
        for e in std::fs::read_dir(root.join(sub)).unwrap() {
            let f = e.unwrap().path();
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with("V3__") {
                std::fs::copy(&f, dir.join(sub).join(&name)).unwrap();
            }
        }
    }
    std::fs::write(
        dir.join("migrations/V4__rebuild_patterns.sql"),
        rebuild_migration(),
    )
    .unwrap();
    db
}

/// Copies `base` to `<dir>/<prefix>/NNNNN/memory.db`, `n` times.
fn copies(dir: &Path, prefix: &str, base: &Path, n: usize) -> Vec<PathBuf> {
    let out: Vec<PathBuf> = (0..n)
        .map(|i| {
            let d = dir.join(prefix).join(format!("{i:05}"));
            std::fs::create_dir_all(&d).unwrap();
            let db = d.join("memory.db");
            std::fs::copy(base, &db).unwrap();
            db
        })
        .collect();
    // SAFETY: sync(2) takes no arguments and cannot fail.
    unsafe { libc::sync() };
    out
}

fn per_minute(n: usize, t: Duration) -> f64 {
    n as f64 * 60.0 / t.as_secs_f64()
}

/// One `schemactl apply` process per database, `parallel` at a time.
fn shell_loop(dir: &Path, dbs: &[PathBuf], parallel: usize) -> Duration {
    let start = Instant::now();
    std::thread::scope(|s| {
        for chunk in dbs.chunks(dbs.len().div_ceil(parallel)) {
            s.spawn(move || {
                for db in chunk {
                    let out = Command::new(schemactl())
                        .current_dir(dir)
                        .args(["apply", "--yes", "--allow-destructive", "--database"])
                        .arg(db)
                        .output()
                        .unwrap();
                    assert!(
                        out.status.success(),
                        "{}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
            });
        }
    });
    start.elapsed()
}

/// Runs the fleet scenario and prints its table.
pub fn scenario(a: &Args) {
    let dir = a.dir.join("fleet");
    let base = base(&dir, a.fleet_rows);
    let size = std::fs::metadata(&base).unwrap().len();
    eprintln!("fleet: {} copies of {} bytes ...", a.fleet, size);
    copies(&dir, "t", &base, a.fleet);
    let apply = [
        "fleet",
        "apply",
        "--targets",
        "t/*/memory.db",
        "--canary",
        "0",
        "--allow-destructive",
        "--yes",
        "--format",
        "ndjson",
    ];
    let (t_apply, rss_apply) = run_quiet(&dir, &apply);
    let status = [
        "fleet",
        "status",
        "--targets",
        "t/*/memory.db",
        "--format",
        "json",
    ];
    let (t_status, rss_status) = run_quiet(&dir, &status);
    std::fs::remove_dir_all(dir.join("t")).unwrap();

    // The shell loop, on a sample.
    let sample = a.fleet.min(200);
    let dbs = copies(&dir, "s1", &base, sample);
    let t_seq = shell_loop(&dir, &dbs, 1);
    std::fs::remove_dir_all(dir.join("s1")).unwrap();
    let dbs = copies(&dir, "s2", &base, sample);
    let t_two = shell_loop(&dir, &dbs, 2);
    std::fs::remove_dir_all(dir.join("s2")).unwrap();

    // Peak RSS at many targets: the same schema without rows.
    let small = base_small(&dir);
    let small_size = std::fs::metadata(&small).unwrap().len();
    eprintln!(
        "fleet: {} copies of {} bytes ...",
        a.fleet_large, small_size
    );
    copies(&dir, "l", &small, a.fleet_large);
    let large = [
        "fleet",
        "apply",
        "--targets",
        "l/*/memory.db",
        "--canary",
        "0",
        "--allow-destructive",
        "--yes",
        "--format",
        "ndjson",
    ];
    let (t_large, rss_large) = run_quiet(&dir, &large);
    let large_status = [
        "fleet",
        "status",
        "--targets",
        "l/*/memory.db",
        "--format",
        "json",
    ];
    let (t_large_status, rss_large_status) = run_quiet(&dir, &large_status);
    let _ = std::fs::remove_dir_all(&dir);

    println!(
        "\nfleet: {} databases of {:.2} MB ({} patterns each), V2 -> V4 (V3 + a rebuild of `patterns`), SQLite {}\n",
        a.fleet,
        size as f64 / 1e6,
        a.fleet_rows,
        rusqlite::version()
    );
    println!("| measurement | time | databases per minute | peak RSS |");
    println!("|---|---|---|---|");
    let row = |name: &str, n: usize, t: Duration, rss: Option<i64>| {
        println!(
            "| {name} | {:.2} s | {:.0} | {} |",
            t.as_secs_f64(),
            per_minute(n, t),
            rss.map_or("".into(), |r| format!("{:.1} MB", r as f64 / 1024.0))
        );
    };
    row(
        &format!("`fleet apply`, {} databases, full pipeline", a.fleet),
        a.fleet,
        t_apply,
        Some(rss_apply),
    );
    row(
        &format!("one `schemactl apply` per database, one at a time ({sample} databases)"),
        sample,
        t_seq,
        None,
    );
    row(
        &format!("one `schemactl apply` per database, two at a time ({sample} databases)"),
        sample,
        t_two,
        None,
    );
    row(
        &format!(
            "`fleet status` of the up-to-date fleet ({} databases)",
            a.fleet
        ),
        a.fleet,
        t_status,
        Some(rss_status),
    );
    row(
        &format!(
            "`fleet apply`, {} databases of {:.0} KB",
            a.fleet_large,
            small_size as f64 / 1e3
        ),
        a.fleet_large,
        t_large,
        Some(rss_large),
    );
    row(
        &format!("`fleet status`, {} databases", a.fleet_large),
        a.fleet_large,
        t_large_status,
        Some(rss_large_status),
    );
}

/// A base at V2 without rows, for the many-targets measurement.
fn base_small(dir: &Path) -> PathBuf {
    let small_dir = dir.join("small");
    let db = base(&small_dir, 0);
    // The project of the big fleet has the same migrations: keep one.
    let to = dir.join("small.db");
    std::fs::rename(&db, &to).unwrap();
    let _ = std::fs::remove_dir_all(&small_dir);
    to
}

/// Runs schemactl in `dir` with its standard output discarded (one line per database); wall
/// time and peak RSS (KiB, from wait4). It must exit 0: the fleet converged.
// The child is reaped by wait4 below.
#[allow(clippy::zombie_processes)]
fn run_quiet(dir: &Path, args: &[&str]) -> (Duration, i64) {
    let start = Instant::now();
    let child = Command::new(schemactl())
        .current_dir(dir)
        .args(args)
        .stdout(std::process::Stdio::null())
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
        "schemactl {args:?} did not converge"
    );
    (elapsed, usage.ru_maxrss)
}
