//! A fleet rollback acts on the databases its run migrated and on nothing else: whatever
//! happens at a target's path between the run and its rollback (the database kept, replaced
//! by another one at any version, removed, or rolled back and migrated again on its own), only
//! a database with the run's identity and the very history rows the run added is rolled
//! back; every other one is refused by name and left byte for byte as it was, and nothing is
//! created where a database has gone.

mod common;

use std::path::Path;

use common::fleet::*;
use common::{schemactl, stderr, stdout};
use proptest::prelude::*;

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = schemactl(dir, args);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    stdout(&out)
}

/// What happens at a target's path between the run and its rollback.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Then {
    /// Nothing: the run's database is still there.
    Kept,
    /// The run's database moved aside; a new database (a copy of the template) put at its
    /// path and migrated to the run's version on its own.
    ReplacedMigrated,
    /// The run's database moved aside; a new one at the version the run started from.
    ReplacedBefore,
    /// The run's database moved aside, nothing put in its place.
    Removed,
    /// The run's database rolled back and migrated again on its own (same identity, other
    /// history rows).
    Redone,
}

fn then() -> impl Strategy<Value = Then> {
    prop_oneof![
        Just(Then::Kept),
        Just(Then::ReplacedMigrated),
        Just(Then::ReplacedBefore),
        Just(Then::Removed),
        Just(Then::Redone),
    ]
}

fn read(p: &Path) -> Option<Vec<u8>> {
    std::fs::read(p).ok()
}

/// Runs the fleet (V2 -> V3), does `thens` to the targets, rolls the run back, and checks
/// each target: only a kept one rolled back, every other one refused and untouched.
fn run_then_rollback(thens: &[Then]) {
    let dir = project();
    let p = dir.path();
    let targets = fleet(p, thens.len());
    ok(
        p,
        &[
            "fleet",
            "apply",
            "--targets",
            GLOB,
            "--canary",
            "0",
            "--allow-destructive",
            "--yes",
        ],
    );
    let run = runs(p)[0].clone();
    for (t, then) in targets.iter().zip(thens) {
        let db = p.join(t);
        let aside = db.with_file_name("decommissioned.db");
        match then {
            Then::Kept => {}
            Then::ReplacedMigrated | Then::ReplacedBefore | Then::Removed => {
                std::fs::rename(&db, &aside).unwrap();
                if *then != Then::Removed {
                    std::fs::copy(p.join("template.db"), &db).unwrap();
                }
                if *then == Then::ReplacedMigrated {
                    ok(p, &["apply", "-d", t, "--allow-destructive", "--yes"]);
                }
            }
            Then::Redone => {
                ok(p, &["rollback", "-d", t, "--to", "V2", "--yes"]);
                ok(p, &["apply", "-d", t, "--allow-destructive", "--yes"]);
            }
        }
    }
    let before: Vec<_> = targets
        .iter()
        .map(|t| {
            let db = p.join(t);
            (read(&db), read(&db.with_file_name("decommissioned.db")))
        })
        .collect();
    let out = schemactl(
        p,
        &[
            "fleet", "rollback", "--run", &run, "--yes", "--format", "ndjson",
        ],
    );
    let all_kept = thens.iter().all(|t| *t == Then::Kept);
    assert_eq!(
        out.status.code(),
        Some(if all_kept { 0 } else { 2 }),
        "{}",
        stderr(&out)
    );
    let (records, _) = ndjson(&stdout(&out));
    for ((t, then), (db_before, aside_before)) in targets.iter().zip(thens).zip(&before) {
        let db = p.join(t);
        let record = &records[t.as_str()];
        // The database the run left aside is never touched.
        assert_eq!(
            &read(&db.with_file_name("decommissioned.db")),
            aside_before,
            "{t} ({then:?}): the run's database moved aside changed"
        );
        if *then == Then::Kept {
            assert_eq!(record["outcome"], "rolled_back", "{t}: {record}");
            assert_eq!(version(&db), Some(2), "{t}");
            continue;
        }
        assert_eq!(record["outcome"], "failed", "{t} ({then:?}): {record}");
        assert_eq!(
            &read(&db),
            db_before,
            "{t} ({then:?}): what is at its path now changed"
        );
        let message = record["error"]["message"].as_str().unwrap_or_default();
        let expected = if *then == Then::Removed {
            "no longer exists"
        } else {
            "not the database this run migrated"
        };
        assert!(
            message.contains(expected) && message.contains(t.as_str()),
            "{t} ({then:?}): {message}"
        );
    }
}

#[test]
fn a_new_database_migrated_at_a_run_targets_path_is_not_rolled_back() {
    run_then_rollback(&[Then::ReplacedMigrated, Then::Kept]);
}

#[test]
fn a_database_rolled_back_and_migrated_again_on_its_own_is_not_the_runs() {
    run_then_rollback(&[Then::Kept, Then::Redone]);
}

#[test]
fn a_new_database_at_the_runs_starting_version_is_not_called_up_to_date() {
    run_then_rollback(&[Then::ReplacedBefore, Then::Removed]);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]
    /// Whatever happens at each target's path between the run and its rollback, only the
    /// run's own databases are rolled back.
    #[test]
    fn a_fleet_rollback_acts_on_the_runs_databases_only(
        thens in proptest::collection::vec(then(), 1..4)
    ) {
        run_then_rollback(&thens);
    }
}

/// A swap at the very moment between the rollback's reading of a target and its lock (the
/// `fleet-rollback-before-lock` failpoint runs a shell command there): the database at the
/// path is checked again under the lock, and one that is not the run's, or not as the run
/// left it, is refused by name, every file left byte for byte as it was.
#[test]
fn a_database_swapped_in_before_the_lock_is_not_rolled_back() {
    // (what the command does at the failpoint, what the refusal says)
    let swaps = [
        // The run's database moved aside, a new one migrated to the run's version put there.
        (
            "mv t/000/memory.db t/000/decommissioned.db && mv t/000/new.db t/000/memory.db && cp t/000/memory.db t/000/swapped.db",
            "not the database this run migrated",
        ),
        // The run's database rolled back and migrated again by hand (same identity).
        (
            "\"$SCHEMACTL\" rollback -d t/000/memory.db --to V2 --yes >/dev/null && \"$SCHEMACTL\" apply -d t/000/memory.db --allow-destructive --yes >/dev/null && cp t/000/memory.db t/000/swapped.db",
            "not the database this run migrated",
        ),
    ];
    for (swap, expected) in swaps {
        let dir = project();
        let p = dir.path();
        let targets = fleet(p, 1);
        ok(
            p,
            &[
                "fleet",
                "apply",
                "--targets",
                GLOB,
                "--canary",
                "0",
                "--allow-destructive",
                "--yes",
            ],
        );
        let run = runs(p)[0].clone();
        std::fs::copy(p.join("template.db"), p.join("t/000/new.db")).unwrap();
        ok(
            p,
            &[
                "apply",
                "-d",
                "t/000/new.db",
                "--allow-destructive",
                "--yes",
            ],
        );
        let out = {
            use assert_cmd::cargo::CommandCargoExt;
            let bin = std::process::Command::cargo_bin("schemactl").unwrap();
            let bin = bin.get_program().to_owned();
            std::process::Command::new(&bin)
                .current_dir(p)
                .env_remove("SCHEMACTL_DATABASE")
                .env("NO_COLOR", "1")
                .env("SCHEMACTL", &bin)
                .env("SCHEMACTL_FAILPOINT", "fleet-rollback-before-lock")
                .env("SCHEMACTL_FAILPOINT_RUN", swap)
                .args([
                    "fleet", "rollback", "--run", &run, "--yes", "--format", "ndjson",
                ])
                .output()
                .unwrap()
        };
        let db = p.join(&targets[0]);
        let after_swap = read(&db.with_file_name("swapped.db"));
        assert!(
            after_swap.is_some(),
            "{swap}: the failpoint's command did not run"
        );
        assert_eq!(out.status.code(), Some(2), "{swap}: {}", stderr(&out));
        let (records, _) = ndjson(&stdout(&out));
        let record = &records[targets[0].as_str()];
        assert_eq!(record["outcome"], "failed", "{swap}: {record}");
        let message = record["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(expected), "{swap}: {message}");
        // Nothing changed after the swap: what is at the path is still at V3.
        assert_eq!(version(&db), Some(3), "{swap}: {record}");
        assert_eq!(read(&db), after_swap, "{swap}");
        if let Some(aside) = read(&db.with_file_name("decommissioned.db")) {
            // The run's database moved aside: never touched, still at the run's version.
            assert_eq!(
                version(&db.with_file_name("decommissioned.db")),
                Some(3),
                "{swap}"
            );
            assert!(!aside.is_empty(), "{swap}");
        }
    }
}
