//! Which files a fleet acts on: each database once however it is named (a property over any
//! mix of hard links, symlinks and `..` names), never schemactl's own files (backups beside
//! the databases or anywhere a manifest describes them), and, for a resume or a rollback
//! started from another directory, the run's own databases and no others at the same
//! relative paths (old journals without absolute paths: resolved against the recorded
//! directory, or refused).

mod common;

use std::path::{Path, PathBuf};

use common::fleet::*;
use common::{schemactl, stderr, stdout};
use proptest::prelude::*;
use schemactl::ops::fleet::{Source, resolve};

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = schemactl(dir, args);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    stdout(&out)
}

/// How a database is named a second time.
#[derive(Debug, Clone, Copy)]
enum Alias {
    HardLink,
    SymLink,
    DotDot,
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// However many names each database has, resolve gives each one once, by its first name in
    /// sorted order, from a glob and from a list.
    #[test]
    fn each_database_is_one_target_however_it_is_named(
        aliases in proptest::collection::vec(
            proptest::collection::vec(prop_oneof![Just(Alias::HardLink), Just(Alias::SymLink), Just(Alias::DotDot)], 0..4),
            1..5,
        )
    ) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        let mut list = Vec::new();
        let mut firsts = Vec::new();
        for (i, names) in aliases.iter().enumerate() {
            std::fs::create_dir_all(p.join(format!("t/{i}a"))).unwrap();
            let db = p.join(format!("t/{i}a/memory.db"));
            std::fs::write(&db, format!("db {i}")).unwrap();
            list.push(db.clone());
            let mut all = vec![db.clone()];
            for (k, alias) in names.iter().enumerate() {
                let other = p.join(format!("t/{i}b{k}/memory.db"));
                std::fs::create_dir_all(other.parent().unwrap()).unwrap();
                match alias {
                    Alias::HardLink => std::fs::hard_link(&db, &other).unwrap(),
                    Alias::SymLink => std::os::unix::fs::symlink(&db, &other).unwrap(),
                    Alias::DotDot => {
                        list.push(p.join(format!("t/{i}b{k}/../{i}a/memory.db")));
                        continue;
                    }
                }
                list.push(other.clone());
                all.push(other);
            }
            all.sort();
            firsts.push(all[0].clone());
        }
        firsts.sort();
        let glob = resolve(
            &Source::Glob(format!("{}/t/*/memory.db", p.display())),
            Path::new("{dir}/backups"),
            &[],
        )
        .unwrap();
        prop_assert_eq!(&glob, &firsts);
        let text: String = list.iter().map(|l| format!("{}\n", l.display())).collect();
        let listed = resolve(&Source::List { text, origin: "list".into() }, Path::new("{dir}/backups"), &[]).unwrap();
        prop_assert_eq!(listed.len(), aliases.len());
    }
}

#[test]
fn backups_are_never_targets_wherever_they_are() {
    let dir = project();
    let p = dir.path();
    let targets = fleet(p, 2);
    // Uncompressed backups: in the fleet's default backups folder, in a folder of their own
    // (told by their manifest), and in the folder of the database itself.
    ok(
        p,
        &[
            "backup",
            "-d",
            &targets[0],
            "--backups",
            "t/000/backups",
            "--compress",
            "none",
        ],
    );
    ok(
        p,
        &[
            "backup",
            "-d",
            &targets[1],
            "--backups",
            "t/elsewhere",
            "--compress",
            "none",
        ],
    );
    ok(
        p,
        &[
            "backup",
            "-d",
            &targets[1],
            "--backups",
            "t/001",
            "--compress",
            "none",
        ],
    );
    let backups: Vec<PathBuf> = ["t/000/backups", "t/elsewhere", "t/001"]
        .iter()
        .flat_map(|d| std::fs::read_dir(p.join(d)).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|f| f.extension().is_some_and(|x| x == "db"))
        .filter(|f| f.file_name().unwrap() != "memory.db")
        .collect();
    assert_eq!(backups.len(), 3, "{backups:?}");
    let bytes: Vec<Vec<u8>> = backups.iter().map(|b| std::fs::read(b).unwrap()).collect();
    let out = schemactl(
        p,
        &[
            "fleet",
            "apply",
            "--targets",
            "t/**/*.db",
            "--allow-destructive",
            "--yes",
            "--format",
            "ndjson",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (records, summary) = ndjson(&stdout(&out));
    assert_eq!(
        records.keys().cloned().collect::<Vec<_>>(),
        targets,
        "{summary}"
    );
    for (b, before) in backups.iter().zip(&bytes) {
        assert_eq!(&std::fs::read(b).unwrap(), before, "{}", b.display());
    }
    assert!(!p.join("t/000/backups/backups").exists());
    // A list naming a backup is refused, naming why.
    std::fs::write(
        p.join("list.txt"),
        format!("{}\n{}\n", targets[0], backups[1].display()),
    )
    .unwrap();
    let out = schemactl(p, &["fleet", "plan", "--targets-from", "list.txt"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("is schemactl's own file, not a database to migrate: a backup of"),
        "{}",
        stderr(&out)
    );
}

/// A run's databases under `t/`, and others at the same relative paths under `other/t/`.
fn two_places() -> (tempfile::TempDir, Vec<String>) {
    let dir = project();
    let p = dir.path();
    let targets = fleet(p, 3);
    let other = p.join("other");
    std::fs::create_dir_all(&other).unwrap();
    for t in &targets {
        std::fs::create_dir_all(other.join(t).parent().unwrap()).unwrap();
        std::fs::copy(p.join("template.db"), other.join(t)).unwrap();
    }
    (dir, targets)
}

#[test]
fn a_rollback_from_another_directory_acts_on_the_runs_databases_only() {
    let (dir, targets) = two_places();
    let p = dir.path();
    let other = p.join("other");
    ok(
        p,
        &[
            "fleet",
            "apply",
            "--targets",
            GLOB,
            "--allow-destructive",
            "--yes",
        ],
    );
    // The unrelated databases are brought to V3 too, by hand, with a row of their own.
    for t in &targets {
        ok(
            &other,
            &[
                "apply",
                "--config",
                "../schemactl.toml",
                "-d",
                t,
                "--allow-destructive",
                "--yes",
            ],
        );
        rusqlite::Connection::open(other.join(t))
            .unwrap()
            .execute("INSERT INTO notes (body) VALUES ('unrelated')", [])
            .unwrap();
    }
    let unrelated: Vec<Vec<u8>> = targets
        .iter()
        .map(|t| std::fs::read(other.join(t)).unwrap())
        .collect();
    let run = runs(p)[0].clone();
    let out = schemactl(
        &other,
        &[
            "fleet",
            "rollback",
            "--run",
            &run,
            "--config",
            "../schemactl.toml",
            "--yes",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for (t, before) in targets.iter().zip(&unrelated) {
        assert_eq!(version(&p.join(t)), Some(2), "{t}");
        assert_eq!(version(&other.join(t)), Some(3), "other/{t}");
        assert_eq!(&std::fs::read(other.join(t)).unwrap(), before, "other/{t}");
    }
}

#[test]
fn a_resume_from_another_directory_acts_on_the_runs_databases_only() {
    let (dir, targets) = two_places();
    let p = dir.path();
    let other = p.join("other");
    ok(
        p,
        &[
            "fleet",
            "apply",
            "--targets",
            GLOB,
            "--canary",
            "1",
            "--canary-only",
            "--allow-destructive",
            "--yes",
        ],
    );
    let run = runs(p)[0].clone();
    let unrelated: Vec<Vec<u8>> = targets
        .iter()
        .map(|t| std::fs::read(other.join(t)).unwrap())
        .collect();
    let out = schemactl(
        &other,
        &[
            "fleet",
            "apply",
            "--resume",
            &run,
            "--config",
            "../schemactl.toml",
            "--allow-destructive",
            "--yes",
            "--format",
            "ndjson",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (_, summary) = ndjson(&stdout(&out));
    // Before this resume: the canary at V3, the two others at V2.
    assert_eq!(summary["versions_before"]["V3"], 1, "{summary}");
    assert_eq!(summary["versions_before"]["V2"], 2, "{summary}");
    for (t, before) in targets.iter().zip(&unrelated) {
        assert_eq!(version(&p.join(t)), Some(3), "{t}");
        assert_eq!(&std::fs::read(other.join(t)).unwrap(), before, "other/{t}");
    }
}

#[test]
fn an_old_journal_with_relative_targets_is_resolved_where_the_run_started_or_refused() {
    let (dir, targets) = two_places();
    let p = dir.path();
    let other = p.join("other");
    ok(
        p,
        &[
            "fleet",
            "apply",
            "--targets",
            GLOB,
            "--allow-destructive",
            "--yes",
        ],
    );
    let run = runs(p)[0].clone();
    // Made old: no absolute paths in the journal, no directory in run.json.
    let run_dir = p.join(".swarm/fleet").join(&run);
    let journal = std::fs::read_to_string(run_dir.join("journal.ndjson")).unwrap();
    let old: String = journal
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            v.as_object_mut().unwrap().remove("path");
            format!("{v}\n")
        })
        .collect();
    std::fs::write(run_dir.join("journal.ndjson"), old).unwrap();
    let meta_path = run_dir.join("run.json");
    let mut meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&meta_path).unwrap()).unwrap();
    let cwd = meta.as_object_mut().unwrap().remove("cwd").unwrap();
    std::fs::write(&meta_path, meta.to_string()).unwrap();
    let unrelated: Vec<Vec<u8>> = targets
        .iter()
        .map(|t| std::fs::read(other.join(t)).unwrap())
        .collect();
    let args = [
        "fleet",
        "rollback",
        "--run",
        &run,
        "--config",
        "../schemactl.toml",
        "--yes",
    ];
    let out = schemactl(&other, &args);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stderr(&out)
            .contains("relative to the directory the run was started in, which it did not record"),
        "{}",
        stderr(&out)
    );
    for (t, before) in targets.iter().zip(&unrelated) {
        assert_eq!(version(&p.join(t)), Some(3), "{t}");
        assert_eq!(&std::fs::read(other.join(t)).unwrap(), before, "other/{t}");
    }
    // With the directory recorded, the relative targets are the run's.
    meta.as_object_mut().unwrap().insert("cwd".into(), cwd);
    std::fs::write(&meta_path, meta.to_string()).unwrap();
    let out = schemactl(&other, &args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for (t, before) in targets.iter().zip(&unrelated) {
        assert_eq!(version(&p.join(t)), Some(2), "{t}");
        assert_eq!(&std::fs::read(other.join(t)).unwrap(), before, "other/{t}");
    }
}

#[test]
fn a_fifo_target_is_not_a_regular_file() {
    let dir = project();
    let p = dir.path();
    let targets = fleet(p, 1);
    std::fs::create_dir_all(p.join("t/fifo")).unwrap();
    let fifo = std::ffi::CString::new(p.join("t/fifo/memory.db").to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo only creates the node.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    let out = schemactl(p, &["fleet", "plan", "--targets", GLOB, "--format", "json"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let fifo = &v["targets"][1];
    assert_eq!(fifo["target"], "t/fifo/memory.db", "{v}");
    assert_eq!(fifo["state"], "unreadable");
    assert_eq!(
        fifo["error"],
        "t/fifo/memory.db: not a regular file (a directory, FIFO, socket or device): not a database"
    );
    assert_eq!(v["targets"][0]["target"], targets[0].as_str());
    std::fs::write(p.join("list.txt"), "t/fifo/memory.db\n").unwrap();
    let out = schemactl(p, &["fleet", "plan", "--targets-from", "list.txt"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("list.txt:1: t/fifo/memory.db is not a regular file"),
        "{}",
        stderr(&out)
    );
}
