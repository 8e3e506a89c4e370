//! Crash tests: apply, sync, rollback, restore and prune run in a child process that is killed
//! with SIGKILL at a random moment (seeded). After each kill the database must pass
//! integrity_check, its schema, history and every table's rows (a checksum of each) must be
//! exactly the state before or the state after, never in between; and when it is the state
//! before, running the command again must reach the state after (nothing half-done blocks it,
//! and nothing is done twice).
//!
//! The backups folder is shared with another database (`other.db`, a copy that went its own
//! way), whose backups are newer: the restore (`--latest`) must take memory.db's own, every
//! file already in the folder must stay byte for byte, and the next command that writes into
//! the folder must leave no marker or scratch file of the killed run behind.
//!
//! CI runs 42 trials (6 per scenario; `unstash` is a rollback that stashes, `reapply` the
//! apply that brings its stash back); `SCHEMACTL_CRASH_TRIALS=250` runs that many in all.
//! Run with `--nocapture` to see the counts.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use rusqlite::Connection;
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq)]
struct State {
    schema: schemactl::Schema,
    versions: Vec<i64>,
    tables: BTreeMap<String, (i64, String)>,
}

/// Reads a database's state; panics when integrity_check fails.
fn state(db: &Path) -> State {
    let conn = Connection::open(db).unwrap();
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok", "integrity_check of {}", db.display());
    let schema = schemactl::inspect(&conn).unwrap();
    let versions = conn
        .prepare("SELECT version FROM _schemactl_history ORDER BY version")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .unwrap_or_default();
    let mut tables = BTreeMap::new();
    for t in &schema.tables {
        let cols: Vec<String> = t
            .columns
            .iter()
            .map(|c| format!("quote({})", schemactl::sql::quote_ident(&c.name)))
            .collect();
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {} FROM {} ORDER BY 1",
                cols.join(" || ',' || "),
                schemactl::sql::quote_ident(&t.name)
            ))
            .unwrap();
        let mut hasher = Sha256::new();
        let mut n = 0;
        let mut rows = stmt.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            let line: String = row.get(0).unwrap();
            hasher.update(line.as_bytes());
            hasher.update(b"\n");
            n += 1;
        }
        tables.insert(t.name.to_string(), (n, format!("{:x}", hasher.finalize())));
    }
    State {
        schema,
        versions,
        tables,
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn schemactl(dir: &Path, args: &[String]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_schemactl"));
    cmd.args(args)
        .current_dir(dir)
        .env_remove("SCHEMACTL_DATABASE")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    cmd
}

fn ok(dir: &Path, args: &[&str]) {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let out = schemactl(dir, &args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A project at V3 with `n` patterns (half of them old enough for the retention rule), an
/// embedding each, and metrics; in WAL mode unless `wal` is false.
fn base(n: usize, wal: bool) -> tempfile::TempDir {
    let dir = common::project_dir(
        "database = \"memory.db\"\nbackups = \"backups\"\narchives = \"archives\"\n",
    );
    ok(dir.path(), &["apply", "--yes", "--skip-backup"]);
    let conn = Connection::open(dir.path().join("memory.db")).unwrap();
    if wal {
        conn.execute_batch("PRAGMA journal_mode = WAL").unwrap();
    }
    conn.execute_batch(&format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n})
         INSERT INTO patterns (id, type, pattern_data, confidence, usage_count, created_at, last_used, category)
           SELECT printf('p%06d', i), 'kind', 'data-' || i, (i % 10) / 10.0, i % 5,
                  CASE WHEN i % 2 = 0 THEN '2020-01-01T00:00:00Z' ELSE strftime('%Y-%m-%dT%H:%M:%SZ', 'now') END,
                  CASE WHEN i % 2 = 0 THEN '2020-01-01T00:00:00Z' ELSE NULL END, 'general' FROM n;
         INSERT INTO pattern_embeddings SELECT id, randomblob(256), 64, created_at FROM patterns;
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n})
         INSERT INTO metrics_log (metric_name, metric_value, timestamp) SELECT 'm', i, 'now' FROM n;"
    ))
    .unwrap();
    drop(conn);
    dir
}

struct Scenario {
    name: &'static str,
    template: tempfile::TempDir,
    args: Vec<String>,
    before: State,
    after: State,
    duration: Duration,
    /// The files of the backups folder before the run, with their sha256.
    kept: Vec<(String, String)>,
    /// Where every run happens, one at a time, when the template's database and backups were
    /// moved there ([`relocate`]); None: each run in a fresh copy of the template.
    stage: Option<tempfile::TempDir>,
}

/// Rewrites the template in `from` as if its database and backups had always been in `to`:
/// the paths its identity and manifests record. A run then copies it into `to` (a new file
/// each time: the identity records no file, as a row older than recorded files, so that it is
/// taken as the database at its recorded path; a copy elsewhere would be another database,
/// with no backup of its own).
fn relocate(from: &Path, to: &Path) {
    let f = std::fs::canonicalize(from).unwrap().display().to_string();
    let t = std::fs::canonicalize(to).unwrap().display().to_string();
    for entry in std::fs::read_dir(from.join("backups")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|x| x == "json") {
            let text = std::fs::read_to_string(&path).unwrap();
            std::fs::write(&path, text.replace(&f, &t)).unwrap();
        }
    }
    Connection::open(from.join("memory.db"))
        .unwrap()
        .execute(
            "UPDATE _schemactl_identity SET path = replace(path, ?1, ?2),
               created_path = replace(created_path, ?1, ?2), file = NULL",
            [&f, &t],
        )
        .unwrap();
}

/// Where a run of `s` happens: its stage, emptied and filled with the template, or a fresh
/// copy of the template (kept alive by the second value).
fn workdir(
    template: &Path,
    stage: Option<&tempfile::TempDir>,
) -> (PathBuf, Option<tempfile::TempDir>) {
    match stage {
        Some(stage) => {
            std::fs::remove_dir_all(stage.path()).unwrap();
            copy_dir(template, stage.path());
            (stage.path().to_path_buf(), None)
        }
        None => {
            let dir = common::temp_dir();
            copy_dir(template, dir.path());
            (dir.path().to_path_buf(), Some(dir))
        }
    }
}

/// The files of `dir/backups`, with the sha256 of each, sorted.
fn backups_folder(dir: &Path) -> Vec<(String, String)> {
    let Ok(entries) = std::fs::read_dir(dir.join("backups")) else {
        return Vec::new();
    };
    let mut out: Vec<(String, String)> = entries
        .map(|e| e.unwrap().path())
        .map(|p| {
            let sha = format!("{:x}", Sha256::digest(std::fs::read(&p).unwrap()));
            (p.file_name().unwrap().to_string_lossy().to_string(), sha)
        })
        .collect();
    out.sort();
    out
}

/// Every file the folder held before is still there, unchanged; after a command that writes
/// into the folder has run, nothing of an interrupted run is left.
fn check_folder(s: &Scenario, dir: &Path, context: &str) {
    let now = backups_folder(dir);
    for kept in &s.kept {
        assert!(
            now.contains(kept),
            "{context}: {} was changed or removed",
            kept.0
        );
    }
    ok(dir, &["backup", "--label", "probe"]);
    let leftovers: Vec<String> = backups_folder(dir)
        .into_iter()
        .map(|(name, _)| name)
        .filter(|name| name.ends_with(".inprogress") || name.contains(".scratch.db"))
        .collect();
    assert!(leftovers.is_empty(), "{context}: left behind {leftovers:?}");
}

impl Scenario {
    fn new(name: &'static str, template: tempfile::TempDir, args: &[&str]) -> Self {
        Self::build(name, template, args, None)
    }

    /// A scenario whose runs all happen in one directory, the template's database and backups
    /// relocated there ([`relocate`]).
    fn staged(name: &'static str, template: tempfile::TempDir, args: &[&str]) -> Self {
        let stage = common::temp_dir();
        relocate(template.path(), stage.path());
        Self::build(name, template, args, Some(stage))
    }

    fn build(
        name: &'static str,
        template: tempfile::TempDir,
        args: &[&str],
        stage: Option<tempfile::TempDir>,
    ) -> Self {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let before = state(&template.path().join("memory.db"));
        let (reference, _kept) = workdir(template.path(), stage.as_ref());
        let start = Instant::now();
        let out = schemactl(&reference, &args).output().unwrap();
        let duration = start.elapsed();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let after = state(&reference.join("memory.db"));
        assert_ne!(before, after, "{name}: the command changes something");
        let kept = backups_folder(template.path());
        Scenario {
            name,
            template,
            args,
            before,
            after,
            duration,
            kept,
            stage,
        }
    }
}

#[derive(Default, Debug)]
struct Tally {
    trials: usize,
    killed: usize,
    before: usize,
    after: usize,
}

/// A small deterministic generator (xorshift64*), so a failing trial can be replayed.
fn next(seed: &mut u64) -> u64 {
    *seed ^= *seed >> 12;
    *seed ^= *seed << 25;
    *seed ^= *seed >> 27;
    seed.wrapping_mul(0x2545_F491_4F6C_DD1D)
}

fn trial(s: &Scenario, seed: u64, tally: &mut Tally) {
    let (dir, _kept) = workdir(s.template.path(), s.stage.as_ref());
    let dir = dir.as_path();
    let mut rng = seed;
    // Up to 110% of an uninterrupted run, so some kills land after the end.
    let span = s.duration.as_micros() as u64 * 11 / 10;
    let delay = Duration::from_micros(next(&mut rng) % span.max(1));
    let mut child = schemactl(dir, &s.args).spawn().unwrap();
    std::thread::sleep(delay);
    let finished = child.try_wait().unwrap().is_some();
    if !finished {
        child.kill().unwrap(); // SIGKILL
        tally.killed += 1;
    }
    child.wait().unwrap();
    tally.trials += 1;
    let db = dir.join("memory.db");
    let got = state(&db);
    let context = format!("{} trial seed {seed} (kill after {delay:?})", s.name);
    if got == s.after {
        tally.after += 1;
        check_folder(s, dir, &context);
        return;
    }
    assert!(
        got == s.before,
        "{context}: the database is neither the state before nor after:\n{}",
        schemactl::normal::describe_difference(&s.before.schema, &got.schema)
    );
    tally.before += 1;
    // Nothing half-done stands in the way, and nothing is done twice.
    let out = schemactl(dir, &s.args).output().unwrap();
    assert!(
        out.status.success(),
        "{context}: the rerun fails: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again = state(&db);
    assert_eq!(
        again.tables, s.after.tables,
        "{context}: rows lost or duplicated"
    );
    assert_eq!(again.schema, s.after.schema, "{context}");
    assert_eq!(again.versions.len(), s.after.versions.len(), "{context}");
    check_folder(s, dir, &context);
}

#[test]
fn sigkill_at_random_moments_leaves_the_state_before_or_after() {
    let total: usize = std::env::var("SCHEMACTL_CRASH_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    let rows = 20_000;

    let apply = {
        let t = base(rows, true);
        common::require_rebuild(t.path());
        ok(t.path(), &["plan", "--write", "confidence_check"]);
        Scenario::new("apply", t, &["apply", "--yes"])
    };
    let sync = {
        let t = base(rows, false);
        common::require_rebuild(t.path());
        Scenario::new("sync", t, &["sync", "--yes"])
    };
    let rollback = {
        let t = base(rows, true);
        common::require_rebuild(t.path());
        ok(t.path(), &["sync", "--yes"]);
        Scenario::new("rollback", t, &["rollback", "last", "--yes"])
    };
    // A rollback that stashes (V2 added `category`, which holds values), and the apply that
    // brings the stash back.
    let rollback_stash = {
        let t = base(rows, true);
        Scenario::new(
            "unstash",
            t,
            &[
                "rollback",
                "V2",
                "--cascade",
                "--allow-destructive",
                "--yes",
            ],
        )
    };
    let reapply = {
        let t = base(rows, true);
        ok(
            t.path(),
            &[
                "rollback",
                "V2",
                "--cascade",
                "--allow-destructive",
                "--yes",
            ],
        );
        Scenario::new("reapply", t, &["apply", "--yes"])
    };
    let restore = {
        let t = base(rows, true);
        ok(
            t.path(),
            &["backup", "--compress", "zstd", "--label", "crash"],
        );
        // Another database backs up into the same folder, later: a copy gone its own way.
        std::fs::copy(t.path().join("memory.db"), t.path().join("other.db")).unwrap();
        Connection::open(t.path().join("other.db"))
            .unwrap()
            .execute_batch("DELETE FROM metrics_log WHERE rowid % 2 = 0")
            .unwrap();
        for label in ["other1", "other2"] {
            ok(
                t.path(),
                &["backup", "--database", "other.db", "--label", label],
            );
        }
        let conn = Connection::open(t.path().join("memory.db")).unwrap();
        conn.execute_batch(
            "INSERT INTO metrics_log (metric_name, metric_value, timestamp) VALUES ('after-backup', 1, 'now');
             DELETE FROM pattern_embeddings WHERE rowid % 3 = 0;",
        )
        .unwrap();
        // A copy of a database is another database (db::identity), with no backup of its own:
        // every run happens in one stage directory the template's database and backups were
        // relocated to.
        drop(conn);
        let s = Scenario::staged("restore", t, &["restore", "--latest", "--yes"]);
        assert_eq!(
            s.after.tables["metrics_log"].0, rows as i64,
            "memory.db's own backup, not other.db's newer ones"
        );
        s
    };
    let prune = {
        let t = base(rows, true);
        Scenario::new("prune", t, &["prune", "--yes"])
    };

    let scenarios = [
        apply,
        sync,
        rollback,
        rollback_stash,
        reapply,
        restore,
        prune,
    ];
    let per = total.div_ceil(scenarios.len());
    let mut all = Tally::default();
    for (k, s) in scenarios.iter().enumerate() {
        let mut tally = Tally::default();
        for i in 0..per {
            let seed = 0x9E37_79B9_7F4A_7C15_u64 ^ ((k as u64) << 32 | i as u64);
            trial(s, seed.max(1), &mut tally);
        }
        println!(
            "crash {:<8} uninterrupted {:>6.0?}: {} trials, {} killed mid-run, {} left the state before (then rerun to the state after), {} the state after, 0 rows lost",
            s.name, s.duration, tally.trials, tally.killed, tally.before, tally.after
        );
        all.trials += tally.trials;
        all.killed += tally.killed;
        all.before += tally.before;
        all.after += tally.after;
    }
    println!(
        "crash total: {} trials, {} killed mid-run, {} before, {} after, 0 rows lost or duplicated",
        all.trials, all.killed, all.before, all.after
    );
    assert!(all.killed > 0, "some kills land mid-run");
}
