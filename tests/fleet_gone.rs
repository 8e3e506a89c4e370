//! A fleet target that is gone when its turn comes (moved away or removed after the run
//! began) is reported "no longer exists", and nothing is created at its path: no empty
//! database that a re-run would then build from nothing. Told for `fleet apply` and `fleet
//! rollback`, with the targets removed while the run is under way (from the report's
//! callback, one worker: deterministic, no timing).

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::fleet::*;
use common::{schemactl, stderr};
use proptest::prelude::*;
use schemactl::ops::fleet;

fn project_of(p: &Path) -> fleet::Project {
    fleet::Project {
        migrations: p.join("migrations"),
        rollbacks: p.join("rollbacks"),
        schema: p.join("schema"),
        exclude: Default::default(),
    }
}

fn apply_opts(p: &Path, targets: &[PathBuf]) -> fleet::Options {
    fleet::Options {
        project: project_of(p),
        targets: Some(targets.to_vec()),
        runs: p.join(".swarm/fleet"),
        backups: "{dir}/backups".into(),
        jobs: 1,
        canary: fleet::Count::Absolute(0),
        canary_only: false,
        max_failures: None,
        resume: None,
        allow_destructive: true,
        stop: Default::default(),
        files: None,
    }
}

/// Moves each of `gone` away (to `moved.db` beside it) the first time `first` is reported.
fn remover<'a>(first: &'a Path, gone: &'a [PathBuf]) -> impl Fn(&fleet::Record) + Sync + 'a {
    let done = std::sync::atomic::AtomicBool::new(false);
    move |r: &fleet::Record| {
        if Path::new(&r.target) == first && !done.swap(true, std::sync::atomic::Ordering::SeqCst) {
            for g in gone {
                std::fs::rename(g, g.with_file_name("moved.db")).unwrap();
            }
        }
    }
}

/// Checks that each target of `gone` is reported gone, nothing is at its path, and the
/// database moved away is byte for byte as it was (`moved`).
fn assert_gone(records: &[fleet::Record], gone: &[PathBuf], moved: &[Vec<u8>]) {
    for (g, bytes) in gone.iter().zip(moved) {
        let r = records.iter().find(|r| Path::new(&r.target) == g).unwrap();
        assert_eq!(r.outcome, fleet::Outcome::Failed, "{r:?}");
        let message = &r.error.as_ref().unwrap().message;
        assert!(
            message.contains("no longer exists") && message.contains(&r.target),
            "{message}"
        );
        assert!(
            std::fs::symlink_metadata(g).is_err(),
            "{}: something was created at its path",
            g.display()
        );
        assert_eq!(
            &std::fs::read(g.with_file_name("moved.db")).unwrap(),
            bytes,
            "{}: the database moved away changed",
            g.display()
        );
    }
}

/// Runs the fleet over `n` targets, moving `gone` away once the first target is reported;
/// then (when `rollback`) runs it again over the rest and rolls it back, moving `gone_back`
/// away once the first target's rollback is reported.
fn run(n: usize, gone: &BTreeSet<usize>, gone_back: &BTreeSet<usize>) {
    let dir = project();
    let p = dir.path();
    let targets: Vec<PathBuf> = fleet(p, n).iter().map(|t| p.join(t)).collect();
    let g: Vec<PathBuf> = gone.iter().map(|&i| targets[i].clone()).collect();
    let bytes: Vec<Vec<u8>> = g.iter().map(|t| std::fs::read(t).unwrap()).collect();
    let done = fleet::apply(&apply_opts(p, &targets), &remover(&targets[0], &g)).unwrap();
    assert_gone(&done.records, &g, &bytes);
    for (i, r) in done.records.iter().enumerate() {
        if !gone.contains(&i) {
            assert_eq!(r.outcome, fleet::Outcome::Applied, "{r:?}");
        }
    }
    // The re-run the README advises converges on what is there and creates nothing.
    let out = schemactl(
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
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for t in &g {
        assert!(std::fs::symlink_metadata(t).is_err(), "{}", t.display());
    }

    // The rollback of the run, with more targets gone while it runs.
    // The first target the rollback reports stays; the others of `gone_back` go then.
    let first = targets
        .iter()
        .enumerate()
        .find(|(i, _)| !gone.contains(i))
        .map(|(_, t)| t.clone())
        .unwrap();
    let back: Vec<PathBuf> = gone_back
        .iter()
        .filter(|i| !gone.contains(i))
        .map(|&i| targets[i].clone())
        .filter(|t| *t != first)
        .collect();
    let back_bytes: Vec<Vec<u8>> = back.iter().map(|t| std::fs::read(t).unwrap()).collect();
    let opts = fleet::rollback::Options {
        project: project_of(p),
        runs: p.join(".swarm/fleet"),
        run: done.run.id.clone(),
        backups: "{dir}/backups".into(),
        jobs: 1,
        stop: Default::default(),
        confirmed: None,
    };
    let undone = fleet::rollback(&opts, &remover(&first, &back)).unwrap();
    assert_gone(&undone.records, &back, &back_bytes);
    for r in &undone.records {
        if !back.iter().any(|b| Path::new(&r.target) == b) {
            assert_eq!(r.outcome, fleet::Outcome::RolledBack, "{r:?}");
        }
    }
}

#[test]
fn a_target_moved_away_during_the_run_is_gone_and_nothing_is_created() {
    run(3, &BTreeSet::from([2]), &BTreeSet::from([1]));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    /// Whichever targets go while a fleet apply or rollback runs, each is reported gone and
    /// nothing is created at its path; the others converge.
    #[test]
    fn targets_gone_midrun_are_reported_and_never_created(
        n in 2usize..5,
        gone in proptest::collection::btree_set(1usize..5, 0..3),
        gone_back in proptest::collection::btree_set(0usize..5, 0..3),
    ) {
        let gone: BTreeSet<usize> = gone.into_iter().filter(|&i| i < n).collect();
        let gone_back: BTreeSet<usize> = gone_back.into_iter().filter(|&i| i < n).collect();
        run(n, &gone, &gone_back);
    }
}
