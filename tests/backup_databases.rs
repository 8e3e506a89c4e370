//! Two databases sharing one backups folder: every choice (restore --latest, --at,
//! --latest-valid, backup list, verify --all, retention) acts on one database's backups only;
//! safety copies are written like backups and never chosen unless asked; what an interrupted
//! run left is removed by the next one. Real files and processes, a temp dir each.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use rusqlite::Connection;

/// A project with two migrated databases, `prod.db` (the configured one) and `test.db`, and
/// one backups folder.
struct Two {
    dir: tempfile::TempDir,
}

impl Two {
    fn new() -> Self {
        let dir = common::project_dir("database = \"prod.db\"\nbackups = \"backups\"\n");
        let t = Two { dir };
        for db in ["prod.db", "test.db"] {
            t.ok(&["apply", "--yes", "--skip-backup", "--database", db]);
        }
        t
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

    fn conn(&self, db: &str) -> Connection {
        Connection::open(self.path(db)).unwrap()
    }

    /// Rows of metrics_log: each database holds its own number of them.
    fn count(&self, db: &str) -> i64 {
        self.conn(db)
            .query_row("SELECT count(*) FROM metrics_log", [], |r| r.get(0))
            .unwrap()
    }

    fn set_rows(&self, db: &str, n: usize) {
        let conn = self.conn(db);
        conn.execute("DELETE FROM metrics_log", []).unwrap();
        for i in 0..n {
            conn.execute(
                "INSERT INTO metrics_log (metric_name, metric_value, timestamp) VALUES (?1, 1, 'now')",
                [format!("{db}-{i}")],
            )
            .unwrap();
        }
    }

    /// Takes a backup of `db` and returns its file (absolute).
    fn backup(&self, db: &str, label: &str) -> String {
        let out = self.ok(&["backup", "--database", db, "--label", label]);
        let rel = out.split_whitespace().nth(1).unwrap();
        self.path(rel).display().to_string()
    }

    /// `backup list --format json` for `db`.
    fn list(&self, db: &str) -> Vec<serde_json::Value> {
        serde_json::from_str(&self.ok(&["backup", "list", "--database", db, "--format", "json"]))
            .unwrap()
    }

    fn identity(&self, db: &str) -> String {
        self.conn(db)
            .query_row("SELECT id FROM _schemactl_identity", [], |r| r.get(0))
            .unwrap()
    }

    fn backdate(&self, file: &str, created_at: &str) {
        let manifest = format!("{file}.json");
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
        v["created_at"] = created_at.into();
        std::fs::write(&manifest, v.to_string()).unwrap();
    }

    fn files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.path("backups"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        names.sort();
        names
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

#[test]
fn latest_restores_the_named_databases_own_backup_and_retention_spares_the_other() {
    let t = Two::new();
    t.set_rows("prod.db", 5);
    t.set_rows("test.db", 1);
    let prod_backup = t.backup("prod.db", "nightly");
    // test.db's backup is newer: the one a folder-wide --latest would have taken.
    let test_backup = t.backup("test.db", "nightly");
    t.set_rows("prod.db", 9);
    t.ok(&["restore", "--latest", "--database", "prod.db", "--yes"]);
    assert_eq!(t.count("prod.db"), 5, "prod's own backup, not test's");
    assert_eq!(t.count("test.db"), 1);
    // Each database lists its own backups only (and its safety copies apart).
    let prod: Vec<String> = t
        .list("prod.db")
        .iter()
        .filter(|e| e["kind"] == "backup")
        .map(|e| e["file"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(prod.len(), 1);
    assert!(prod_backup.ends_with(&prod[0]), "{prod:?}");
    let safety = t
        .list("prod.db")
        .into_iter()
        .filter(|e| e["kind"] == "safety")
        .count();
    assert_eq!(safety, 1, "the before-restore copy, listed apart");
    // Retention of test.db never touches prod.db's backups.
    t.backup("test.db", "nightly");
    t.ok(&["backup", "--database", "test.db", "--keep-last", "1"]);
    assert!(
        Path::new(&prod_backup).exists(),
        "prod's backup survives test's retention"
    );
    assert!(!Path::new(&test_backup).exists(), "test's old backup went");
    t.ok(&[
        "backup",
        "prune",
        "--database",
        "test.db",
        "--keep-last",
        "0",
        "--including-newest-verified",
        "--yes",
    ]);
    assert!(Path::new(&prod_backup).exists());
    assert_eq!(t.list("prod.db").len(), 2, "prod's backup and safety copy");
    // verify --all verifies this database's files only.
    let out = t.ok(&["backup", "verify", "--all", "--database", "prod.db"]);
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(out.lines().all(|l| l.starts_with("ok")), "{out}");
}

#[test]
fn at_and_latest_valid_choose_among_one_databases_backups() {
    let t = Two::new();
    let mut prod = Vec::new();
    for (i, when) in ["2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"]
        .iter()
        .enumerate()
    {
        t.set_rows("prod.db", i + 1);
        let f = t.backup("prod.db", &format!("p{i}"));
        t.backdate(&f, when);
        prod.push(f);
    }
    // test.db's backups sit between and after prod's, and one is the newest valid overall.
    t.set_rows("test.db", 7);
    for when in ["2026-01-15T00:00:00Z", "2026-03-01T00:00:00Z"] {
        let f = t.backup("test.db", "t");
        t.backdate(&f, when);
    }
    t.ok(&[
        "restore",
        "--at",
        "2026-01-20T00:00:00Z",
        "--database",
        "prod.db",
        "--yes",
    ]);
    assert_eq!(
        t.count("prod.db"),
        1,
        "prod's January backup, not test's of the 15th"
    );
    // Corrupt prod's newest: --latest-valid walks back to prod's older one, never to test's.
    let mut bytes = std::fs::read(&prod[1]).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x55;
    std::fs::write(&prod[1], bytes).unwrap();
    t.set_rows("prod.db", 3);
    let out = t.run(&[
        "restore",
        "--latest-valid",
        "--database",
        "prod.db",
        "--yes",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(t.count("prod.db"), 1);
    assert!(
        stderr(&out).contains(&format!("skipping {}", prod[1])),
        "{}",
        stderr(&out)
    );
    // Before any of prod's backups: nothing fits, and the message points at the others.
    let out = t.run(&[
        "restore",
        "--at",
        "2025-06-01T00:00:00Z",
        "--database",
        "prod.db",
        "--yes",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("other file(s)"), "{}", stderr(&out));
}

#[test]
fn another_databases_backup_is_restored_only_when_named_and_confirmed() {
    let t = Two::new();
    t.set_rows("prod.db", 4);
    t.set_rows("test.db", 2);
    let prod_id = t.identity("prod.db");
    assert_ne!(
        prod_id,
        t.identity("test.db"),
        "two databases, two identities"
    );
    let test_backup = t.backup("test.db", "manual");
    let out = t.run(&["restore", &test_backup, "--database", "prod.db", "--yes"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "refused without --from-other-database"
    );
    assert!(
        stderr(&out).contains("backup of another database"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("ANOTHER DATABASE"),
        "the preview says so: {}",
        stderr(&out)
    );
    assert_eq!(t.count("prod.db"), 4, "nothing changed");
    t.ok(&[
        "restore",
        &test_backup,
        "--database",
        "prod.db",
        "--from-other-database",
        "--yes",
    ]);
    assert_eq!(t.count("prod.db"), 2);
    assert_eq!(
        t.identity("prod.db"),
        prod_id,
        "prod keeps its own identity"
    );
    // So prod's next --latest is prod's own again, never test's.
    t.set_rows("prod.db", 6);
    let own = t.backup("prod.db", "after");
    t.set_rows("prod.db", 1);
    let out = t.ok(&["restore", "--latest", "--database", "prod.db", "--yes"]);
    assert!(out.contains(&own), "{out}");
    assert_eq!(t.count("prod.db"), 6);
}

#[test]
fn identity_survives_a_move_and_a_deleted_database_is_recovered_from_its_backups() {
    let t = Two::new();
    t.set_rows("prod.db", 3);
    let id = t.identity("prod.db");
    t.backup("prod.db", "manual");
    std::fs::rename(t.path("prod.db"), t.path("moved.db")).unwrap();
    t.set_rows("moved.db", 8);
    t.ok(&["restore", "--latest", "--database", "moved.db", "--yes"]);
    assert_eq!(t.count("moved.db"), 3, "a moved database keeps its backups");
    assert_eq!(t.identity("moved.db"), id);
    // Gone entirely: its backups (by the path they were taken at) bring it back, same id.
    t.backup("moved.db", "manual");
    std::fs::remove_file(t.path("moved.db")).unwrap();
    t.ok(&["restore", "--latest", "--database", "moved.db", "--yes"]);
    assert_eq!(t.count("moved.db"), 3);
    assert_eq!(t.identity("moved.db"), id);
    // A copy is another database once written: its backups are not the original's.
    std::fs::copy(t.path("moved.db"), t.path("copy.db")).unwrap();
    t.conn("copy.db")
        .execute("DELETE FROM metrics_log", [])
        .unwrap();
    let copy_backup = t.backup("copy.db", "newest");
    t.set_rows("moved.db", 11);
    let out = t.ok(&["restore", "--latest", "--database", "moved.db", "--yes"]);
    assert!(!out.contains(&copy_backup), "{out}");
    assert_eq!(t.count("moved.db"), 3);
}

#[test]
fn safety_copies_are_backups_in_form_but_never_chosen_unless_asked() {
    let t = Two::new();
    t.set_rows("prod.db", 5);
    t.backup("prod.db", "manual");
    t.set_rows("prod.db", 8);
    t.ok(&["restore", "--latest", "--database", "prod.db", "--yes"]);
    assert_eq!(t.count("prod.db"), 5);
    // A second restore in a row does not swap states back.
    t.ok(&["restore", "--latest", "--database", "prod.db", "--yes"]);
    assert_eq!(t.count("prod.db"), 5);
    let safety: Vec<serde_json::Value> = t
        .list("prod.db")
        .into_iter()
        .filter(|e| e["kind"] == "safety")
        .collect();
    assert_eq!(safety.len(), 2);
    for s in &safety {
        let file = s["file"].as_str().unwrap();
        assert!(file.ends_with(".db.zst"), "compressed: {file}");
        assert_eq!(s["reason"], "before-restore");
        let file = t.path(file);
        assert!(PathBuf::from(format!("{}.sha256", file.display())).exists());
        t.ok(&["backup", "verify", &file.display().to_string()]);
    }
    // The oldest safety copy holds the 8 rows the first restore replaced.
    let first = t
        .path(safety[1]["file"].as_str().unwrap())
        .display()
        .to_string();
    t.ok(&["restore", &first, "--database", "prod.db", "--yes"]);
    assert_eq!(t.count("prod.db"), 8);
    // --include-safety lets --latest take the newest safety copy (the 5 rows just replaced).
    t.ok(&[
        "restore",
        "--latest",
        "--include-safety",
        "--database",
        "prod.db",
        "--yes",
    ]);
    assert_eq!(t.count("prod.db"), 5);
    // A rollback's copy is a safety copy too, compressed, with its own retention.
    t.ok(&["rollback", "last", "--yes", "--database", "prod.db"]);
    let reasons: Vec<String> = t
        .list("prod.db")
        .iter()
        .filter(|e| e["kind"] == "safety")
        .map(|e| e["reason"].as_str().unwrap().to_string())
        .collect();
    assert!(reasons.contains(&"pre-rollback".to_string()), "{reasons:?}");
    t.ok(&[
        "backup",
        "prune",
        "--safety",
        "--keep-last",
        "1",
        "--database",
        "prod.db",
        "--yes",
    ]);
    let left: Vec<serde_json::Value> = t.list("prod.db");
    assert_eq!(left.iter().filter(|e| e["kind"] == "safety").count(), 1);
    assert_eq!(
        left.iter().filter(|e| e["kind"] == "backup").count(),
        1,
        "backups untouched"
    );
}

#[test]
fn restoring_into_a_new_file_writes_no_empty_safety_copy() {
    let t = Two::new();
    t.set_rows("prod.db", 5);
    let b = t.backup("prod.db", "manual");
    let before = t.files();
    let out = t.ok(&[
        "restore",
        &b,
        "--database",
        "fresh.db",
        "--from-other-database",
        "--yes",
    ]);
    assert!(out.contains("there was no database before"), "{out}");
    assert_eq!(t.files(), before, "nothing new in the folder");
    assert_eq!(t.count("fresh.db"), 5);
    t.ok(&[
        "restore",
        &b,
        "--database",
        "fresh.db",
        "--from-other-database",
        "--yes",
    ]);
    assert_ne!(
        t.identity("fresh.db"),
        t.identity("prod.db"),
        "a copy gets its own identity"
    );
}

#[test]
fn prune_asks_previews_and_keeps_the_newest_verified_backup() {
    let t = Two::new();
    let mut files = Vec::new();
    for (i, when) in [
        "2026-01-01T00:00:00Z",
        "2026-01-02T00:00:00Z",
        "2026-01-03T00:00:00Z",
    ]
    .iter()
    .enumerate()
    {
        let f = t.backup("prod.db", if i == 0 { "weekly" } else { "daily" });
        t.backdate(&f, when);
        files.push(f);
    }
    let other = t.backup("test.db", "daily");
    let before = t.files();
    let out = t.run(&["backup", "prune", "--keep-last", "0", "--dry-run"]);
    assert!(out.status.success());
    assert_eq!(t.files(), before, "a dry run deletes nothing");
    assert!(
        stderr(&out).contains(&format!("would prune {}", files[0])),
        "{}",
        stderr(&out)
    );
    // --label: only the daily ones are considered.
    t.ok(&["backup", "prune", "--keep-last", "1", "--label", "daily"]);
    assert!(
        Path::new(&files[0]).exists(),
        "the weekly one is not considered"
    );
    assert!(!Path::new(&files[1]).exists());
    assert!(Path::new(&files[2]).exists());
    // --keep-last 0 keeps the newest verified backup unless told explicitly.
    let out = t.run(&["backup", "prune", "--keep-last", "0"]);
    assert!(out.status.success());
    assert!(
        stderr(&out).contains(&format!("keeping {}", files[2])),
        "{}",
        stderr(&out)
    );
    assert!(Path::new(&files[2]).exists() && !Path::new(&files[0]).exists());
    // Corrupt it: the newest *verified* one is then none of prod's, so it can go; test's stays.
    std::fs::write(&files[2], b"garbage").unwrap();
    t.ok(&["backup", "prune", "--keep-last", "0"]);
    assert!(!Path::new(&files[2]).exists());
    assert!(
        Path::new(&other).exists(),
        "test.db's backup is never prod's to prune"
    );
    // backup --keep-last 0 never prunes what it just wrote.
    let out = t.ok(&["backup", "--keep-last", "0"]);
    let just = t.path(out.split_whitespace().nth(1).unwrap());
    assert!(just.exists());
}

#[test]
fn the_next_run_removes_what_an_interrupted_run_left_and_list_all_shows_the_rest() {
    let t = Two::new();
    let dir = t.path("backups");
    std::fs::create_dir_all(&dir).unwrap();
    // A killed backup: its marker (held by no process), the partial copy and SQLite's journal.
    let base = dir.join("prod-20260101T000000Z-pre-apply.db");
    for (suffix, text) in [
        (".inprogress", "schemactl pid 1"),
        ("", "partial"),
        ("-journal", "j"),
    ] {
        std::fs::write(format!("{}{suffix}", base.display()), text).unwrap();
    }
    // A file in progress in a live process: its marker is locked.
    let live = dir.join("prod-20260101T000001Z-manual.db");
    std::fs::write(&live, "being written").unwrap();
    let marker = std::fs::File::create(format!("{}.inprogress", live.display())).unwrap();
    marker.lock().unwrap();
    // Not ours: no marker, no manifest.
    let stray = dir.join("notes.txt");
    std::fs::write(&stray, "keep me").unwrap();
    let legacy = dir.join("prod-20250101T000000Z-pre-apply.db");
    std::fs::write(&legacy, "old").unwrap();
    let out = t.ok(&["backup"]);
    assert!(
        out.contains(&format!("removed {}", base.display())),
        "{out}"
    );
    assert!(!base.exists() && !PathBuf::from(format!("{}-journal", base.display())).exists());
    assert!(!PathBuf::from(format!("{}.inprogress", base.display())).exists());
    assert!(live.exists(), "a file a live process writes is left alone");
    assert!(
        stray.exists() && legacy.exists(),
        "what is not provably ours stays"
    );
    let all = t.ok(&["backup", "list", "--all"]);
    assert!(all.contains(&stray.display().to_string()), "{all}");
    assert!(all.contains(&legacy.display().to_string()), "{all}");
    assert!(!all.contains("being written"));
    let json: serde_json::Value =
        serde_json::from_str(&t.ok(&["backup", "list", "--all", "--format", "json"])).unwrap();
    assert_eq!(json["unrecognised"].as_array().unwrap().len(), 2, "{json}");
    drop(marker);
}

#[test]
fn json_output_and_the_shared_folder_flag() {
    let t = Two::new();
    t.set_rows("prod.db", 4);
    // --backups names the folder for backup as for restore; --out stays an alias.
    let v: serde_json::Value =
        serde_json::from_str(&t.ok(&["backup", "--backups", "elsewhere", "--format", "json"]))
            .unwrap();
    assert_eq!(v["command"], "backup");
    assert_eq!(v["rows"]["metrics_log"], 4);
    assert!(v["duration_ms"].is_u64());
    let file = v["backup"].as_str().unwrap().to_string();
    assert!(file.starts_with("elsewhere"), "{file}");
    t.ok(&["backup", "--out", "elsewhere", "--label", "alias"]);
    t.set_rows("prod.db", 1);
    let v: serde_json::Value = serde_json::from_str(&t.ok(&[
        "restore",
        "--latest",
        "--out",
        "elsewhere",
        "--yes",
        "--format",
        "json",
    ]))
    .unwrap();
    assert_eq!(v["command"], "restore");
    assert_eq!(v["result"]["rows"]["metrics_log"], 4);
    assert_eq!(v["preview"]["this_database"], true);
    assert!(v["result"]["before"].as_str().unwrap().ends_with(".db.zst"));
    let v: serde_json::Value = serde_json::from_str(&t.ok(&[
        "backup",
        "prune",
        "--backups",
        "elsewhere",
        "--keep-last",
        "1",
        "--dry-run",
        "--format",
        "json",
    ]))
    .unwrap();
    assert_eq!(v["command"], "backup prune");
    assert_eq!(v["dry_run"], true);
    assert_eq!(v["removed"].as_array().unwrap().len(), 1);
}
