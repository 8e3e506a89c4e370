//! A prune's archive may hold the only copy of the rows it removed: no later command removes
//! it, whatever happens in between. A sequence property over two databases that share one
//! archives folder and one backups folder, each run from its own directory with a relative
//! `--database`: rows written, pruned (and pruned with a crash before the commit), backed up,
//! restored from their backups. After every step, every archive of a committed prune is still
//! there, byte for byte; a crashed prune deleted nothing; `prune --dry-run` writes nothing.
//! Real files and processes, a temp dir each.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use proptest::prelude::*;
use rusqlite::Connection;

const SCHEMA: &str = "schemactl: 1\nversion: 1\ntables:\n  t:\n    columns:\n      id: {type: INTEGER, primary_key: true}\n      v: {type: TEXT}\n    retention: { when: \"v LIKE 'old%'\" }\n";

/// Two databases, `a/db.sqlite` and `b/db.sqlite`, each with its own project directory and
/// `database = "db.sqlite"`, sharing `archives/` and `backups/` beside them.
struct Pair {
    dir: tempfile::TempDir,
    next: u64,
}

impl Pair {
    fn new() -> Self {
        let dir = common::temp_dir();
        for p in ["a", "b"] {
            let project = dir.path().join(p);
            std::fs::create_dir_all(project.join("schema")).unwrap();
            std::fs::write(project.join("schema/s.yaml"), SCHEMA).unwrap();
            std::fs::write(
                project.join("schemactl.toml"),
                "database = \"db.sqlite\"\narchives = \"../archives\"\nbackups = \"../backups\"\n",
            )
            .unwrap();
            Connection::open(project.join("db.sqlite"))
                .unwrap()
                .execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
                .unwrap();
        }
        Pair { dir, next: 0 }
    }

    fn project(&self, db: usize) -> PathBuf {
        self.dir.path().join(["a", "b"][db])
    }

    fn run(&self, db: usize, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_schemactl"));
        cmd.args(args)
            .current_dir(self.project(db))
            .env_remove("SCHEMACTL_DATABASE")
            .env_remove("SCHEMACTL_FAILPOINT")
            .env("NO_COLOR", "1");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }

    fn rows(&self, db: usize) -> BTreeMap<i64, String> {
        let conn = Connection::open(self.project(db).join("db.sqlite")).unwrap();
        let mut stmt = conn.prepare("SELECT id, v FROM t").unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    fn insert(&mut self, db: usize, old: u8, new: u8) {
        let conn = Connection::open(self.project(db).join("db.sqlite")).unwrap();
        for (prefix, n) in [("old", old), ("new", new)] {
            for _ in 0..n {
                self.next += 1;
                conn.execute(
                    "INSERT INTO t (v) VALUES (?1)",
                    [format!("{prefix} {} of {db}", self.next)],
                )
                .unwrap();
            }
        }
    }

    /// Every file in the shared archives folder, with its bytes.
    fn archive_files(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        std::fs::read_dir(self.dir.path().join("archives"))
            .map(|d| {
                d.map(|e| e.unwrap().path())
                    .map(|p| {
                        let bytes = std::fs::read(&p).unwrap_or_default();
                        (p, bytes)
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The files of a database's project directory (not its subdirectories), each with a
    /// digest of its bytes.
    fn project_files(&self, db: usize) -> BTreeMap<PathBuf, u64> {
        use std::hash::{Hash, Hasher};
        std::fs::read_dir(self.project(db))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file())
            .map(|p| {
                let mut h = std::collections::hash_map::DefaultHasher::new();
                std::fs::read(&p).unwrap().hash(&mut h);
                (p, h.finish())
            })
            .collect()
    }

    fn has_backup(&self) -> bool {
        std::fs::read_dir(self.dir.path().join("backups")).is_ok_and(|mut d| d.next().is_some())
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[derive(Debug, Clone)]
enum Step {
    Insert { db: usize, old: u8, new: u8 },
    Prune { db: usize },
    DryRun { db: usize },
    CrashPrune { db: usize, point: &'static str },
    Backup { db: usize },
    Restore { db: usize },
}

fn step() -> impl Strategy<Value = Step> {
    let db = 0usize..2;
    prop_oneof![
        3 => (db.clone(), 0u8..3, 0u8..2).prop_map(|(db, old, new)| Step::Insert { db, old, new }),
        3 => db.clone().prop_map(|db| Step::Prune { db }),
        1 => db.clone().prop_map(|db| Step::DryRun { db }),
        2 => (db.clone(), prop_oneof![Just("prune-after-archive"), Just("prune-before-rename")])
            .prop_map(|(db, point)| Step::CrashPrune { db, point }),
        2 => db.clone().prop_map(|db| Step::Backup { db }),
        2 => db.prop_map(|db| Step::Restore { db }),
    ]
}

/// Runs the steps; after each, every committed prune's archive is still in place, unchanged.
fn check_sequence(steps: &[Step]) -> Result<(), TestCaseError> {
    let mut pair = Pair::new();
    // The archives of committed prunes (their rows are nowhere else): path -> bytes.
    let mut committed: BTreeMap<PathBuf, Vec<u8>> = BTreeMap::new();
    for (i, s) in steps.iter().enumerate() {
        match *s {
            Step::Insert { db, old, new } => pair.insert(db, old, new),
            Step::Prune { db } => {
                // A relative --database, as typed from the database's own directory.
                let out = pair.run(
                    db,
                    &[
                        "prune",
                        "--database",
                        "db.sqlite",
                        "--yes",
                        "--format",
                        "json",
                    ],
                    &[],
                );
                prop_assert!(out.status.success(), "step {i} {s:?}: {}", text(&out));
                let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
                if let Some(a) = r["archive"].as_str() {
                    let a = PathBuf::from(a);
                    prop_assert!(
                        a.is_absolute(),
                        "the report names the archive absolutely: {a:?}"
                    );
                    let bytes = std::fs::read(&a).unwrap();
                    committed.insert(a.canonicalize().unwrap(), bytes);
                }
                let left: Vec<i64> = pair
                    .rows(db)
                    .into_iter()
                    .filter(|(_, v)| v.starts_with("old"))
                    .map(|(k, _)| k)
                    .collect();
                prop_assert!(left.is_empty(), "step {i}: pruned, yet {left:?} remain");
            }
            Step::DryRun { db } => {
                let before: Vec<PathBuf> = pair.archive_files().into_keys().collect();
                let project = pair.project_files(db);
                let out = pair.run(db, &["prune", "--dry-run"], &[]);
                prop_assert!(out.status.success(), "step {i} {s:?}: {}", text(&out));
                let after: Vec<PathBuf> = pair.archive_files().into_keys().collect();
                prop_assert_eq!(after, before, "step {}: a dry run writes no archive", i);
                prop_assert_eq!(
                    pair.project_files(db),
                    project,
                    "step {}: a dry run writes nothing (no lock file, no database change)",
                    i
                );
            }
            Step::CrashPrune { db, point } => {
                let rows = pair.rows(db);
                let out = pair.run(db, &["prune", "--yes"], &[("SCHEMACTL_FAILPOINT", point)]);
                let killed = !out.status.success();
                if killed {
                    prop_assert_eq!(
                        pair.rows(db),
                        rows,
                        "step {}: a crashed prune deleted rows",
                        i
                    );
                }
            }
            Step::Backup { db } => {
                let out = pair.run(db, &["backup"], &[]);
                prop_assert!(out.status.success(), "step {i} {s:?}: {}", text(&out));
            }
            Step::Restore { db } => {
                if pair.has_backup() {
                    // Fails (exit 1) when this database has no backup of its own yet.
                    let _ = pair.run(db, &["restore", "--latest", "--yes"], &[]);
                }
            }
        }
        // The folder after every step: each committed prune's archive is there, unchanged,
        // with its manifest naming its database by an absolute path.
        let files = pair.archive_files();
        for (archive, bytes) in &committed {
            prop_assert!(
                files.get(archive) == Some(bytes),
                "step {i} {s:?} removed or changed {} (its rows exist nowhere else); steps: {steps:?}",
                archive.display()
            );
            let manifest: serde_json::Value =
                serde_json::from_slice(&std::fs::read(common_manifest(archive)).unwrap()).unwrap();
            let database = manifest["database"].as_str().unwrap_or_default();
            prop_assert!(
                Path::new(database).is_absolute(),
                "manifest of {} names {database:?}",
                archive.display()
            );
        }
    }
    Ok(())
}

fn common_manifest(archive: &Path) -> PathBuf {
    PathBuf::from(format!("{}.json", archive.display()))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, max_shrink_iters: 64, ..ProptestConfig::default() })]

    /// No sequence of prunes, crashed prunes, backups and restores of two databases sharing
    /// the folders removes an archive of a committed prune.
    #[test]
    fn no_sequence_removes_a_committed_archive(steps in proptest::collection::vec(step(), 1..10)) {
        check_sequence(&steps)?;
    }
}

/// h16: a row written after the backup is pruned; the database is restored from the backup
/// (whose prune history does not name the archive); the next prune keeps the archive.
#[test]
fn a_restore_from_before_the_prune_does_not_make_its_archive_abandoned() {
    check_sequence(&[
        Step::Insert {
            db: 0,
            old: 0,
            new: 1,
        },
        Step::Backup { db: 0 },
        Step::Insert {
            db: 0,
            old: 1,
            new: 0,
        },
        Step::Prune { db: 0 },
        Step::Restore { db: 0 },
        Step::Prune { db: 0 },
    ])
    .unwrap();
}

/// h15: a's prune, run from a's directory with a relative --database, is never taken by b's
/// prune (run from b's directory) for one of b's own.
#[test]
fn another_databases_archive_in_the_shared_folder_is_never_removed() {
    check_sequence(&[
        Step::Insert {
            db: 0,
            old: 2,
            new: 1,
        },
        Step::Prune { db: 0 },
        Step::Prune { db: 1 },
        Step::Insert {
            db: 1,
            old: 1,
            new: 0,
        },
        Step::Prune { db: 1 },
    ])
    .unwrap();
}

/// A crashed prune's files go at the next prune of the same database (its rows are all still
/// there), and no other database's prune touches them.
#[test]
fn a_crashed_prunes_files_go_with_its_own_databases_next_prune_only() {
    for (point, suffix) in [
        ("prune-before-rename", ".db.partial"),
        ("prune-after-archive", ".db"),
    ] {
        let mut pair = Pair::new();
        pair.insert(0, 2, 1);
        let out = pair.run(0, &["prune", "--yes"], &[("SCHEMACTL_FAILPOINT", point)]);
        assert!(!out.status.success(), "{point}: {}", text(&out));
        let left = pair.archive_files();
        assert!(
            left.keys().any(|p| p.to_string_lossy().ends_with(suffix)),
            "{point}: {left:?}"
        );
        // b's prune leaves them alone.
        let out = pair.run(1, &["prune", "--yes"], &[]);
        assert!(out.status.success(), "{}", text(&out));
        assert_eq!(pair.archive_files(), left, "{point}");
        // a's next prune removes them, then prunes once.
        let out = pair.run(0, &["prune", "--yes", "--format", "json"], &[]);
        assert!(out.status.success(), "{}", text(&out));
        let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(r["abandoned"].as_array().unwrap().len(), 1, "{point}: {r}");
        let now = pair.archive_files();
        assert_eq!(
            now.len(),
            3,
            "{point}: one archive, its sidecar and manifest: {now:?}"
        );
        assert!(now.keys().all(|p| !left.contains_key(p)), "{point}");
        let archive = now
            .keys()
            .find(|p| p.extension().is_some_and(|x| x == "db"))
            .unwrap();
        let n: i64 = Connection::open(archive)
            .unwrap()
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 2, "{point}: each pruned row archived once");
    }
}
