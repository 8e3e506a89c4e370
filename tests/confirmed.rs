//! What a command shows and the user confirms is what runs (apply, sync, rollback and fleet
//! apply ask on a terminal, then run): the run is handed the preview ([`Options::confirmed`])
//! and refuses, under the lock and before anything changes, when it would run anything that
//! was not shown (a file added or edited meanwhile). A property over any sequence of changes
//! between the preview and the run: whatever ran was shown with that SQL (all of it when
//! nothing changed), or the run refused and the database is byte for byte as it was.

mod common;

use std::path::Path;

use proptest::prelude::*;
use schemactl::apply::{self, Options};

fn options(dir: &Path) -> Options {
    Options {
        skip_backup: true,
        skip_rehearsal: true,
        allow_destructive: true,
        ..common::pipeline_options(dir, dir.join("db.sqlite"))
    }
}

fn write(dir: &Path, file: &str, sql: &str) {
    std::fs::write(dir.join(file), sql).unwrap();
}

/// A project at V1 (one row in t) with V2 pending.
fn project() -> tempfile::TempDir {
    let dir = common::temp_dir();
    let p = dir.path();
    for d in ["migrations", "rollbacks"] {
        std::fs::create_dir_all(p.join(d)).unwrap();
    }
    write(
        p,
        "migrations/V1__init.sql",
        "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);\n",
    );
    apply::apply(&options(p), &mut |_| {}).unwrap();
    let conn = rusqlite::Connection::open(p.join("db.sqlite")).unwrap();
    conn.execute("INSERT INTO t(v) VALUES ('keep me')", [])
        .unwrap();
    drop(conn);
    write(
        p,
        "migrations/V2__w.sql",
        "ALTER TABLE t ADD COLUMN w TEXT;\n",
    );
    write(p, "rollbacks/V2__w.sql", "ALTER TABLE t DROP COLUMN w;\n");
    dir
}

/// Something that can happen while the question is open.
#[derive(Debug, Clone)]
enum Change {
    /// A new migration file appears.
    Add(u8),
    /// The shown migration's file is edited.
    Edit,
    /// The shown migration's file is edited back to what was shown.
    Restore,
    /// The shown migration's file is removed.
    Remove,
    /// Another process applies what is pending.
    OtherRun,
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        (3u8..6).prop_map(Change::Add),
        Just(Change::Edit),
        Just(Change::Restore),
        Just(Change::Remove),
        Just(Change::OtherRun),
    ]
}

fn make(p: &Path, c: &Change) {
    match c {
        Change::Add(v) => write(
            p,
            &format!("migrations/V{v}__never_shown.sql"),
            "DELETE FROM t;\n",
        ),
        Change::Edit => write(
            p,
            "migrations/V2__w.sql",
            "ALTER TABLE t ADD COLUMN w2 TEXT; UPDATE t SET v = NULL;\n",
        ),
        Change::Restore => write(
            p,
            "migrations/V2__w.sql",
            "ALTER TABLE t ADD COLUMN w TEXT;\n",
        ),
        Change::Remove => {
            let _ = std::fs::remove_file(p.join("migrations/V2__w.sql"));
        }
        Change::OtherRun => {
            // What another schemactl would do: apply whatever the files say now (it may fail
            // on files this sequence broke; then it changed nothing).
            let _ = apply::apply(&options(p), &mut |_| {});
        }
    }
}

/// The SQL files as they are now, to tell whether the sequence left them as shown.
fn files(p: &Path) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(p.join("migrations"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|f| {
            (
                f.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&f).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

fn history(p: &Path) -> Vec<(i64, String)> {
    let conn = rusqlite::Connection::open(p.join("db.sqlite")).unwrap();
    let mut stmt = conn
        .prepare("SELECT version, name FROM _schemactl_history ORDER BY version")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn apply_runs_what_it_showed_or_nothing(changes in proptest::collection::vec(change(), 0..4)) {
        let dir = project();
        let p = dir.path();
        let shown_files = files(p);
        let preview = apply::apply(&Options { dry_run: true, ..options(p) }, &mut |_| {}).unwrap();
        prop_assert_eq!(&preview.migrations, &vec!["V2__w".to_string()]);
        for c in &changes {
            make(p, c);
        }
        let unchanged = files(p) == shown_files && history(p).len() == 1;
        let before = std::fs::read(p.join("db.sqlite")).unwrap();
        let before_history = history(p);
        let shown = preview.planned();
        let result = apply::apply(
            &Options { confirmed: Some(shown.clone()), ..options(p) },
            &mut |_| {},
        );
        match result {
            Ok(report) => {
                // Whatever ran was shown, with that SQL; nothing else ran.
                for ran in report.planned() {
                    prop_assert!(shown.contains(&ran), "{changes:?}: ran {ran:?} unseen");
                }
                prop_assert_eq!(history(p).len(), before_history.len() + report.migrations.len());
                if unchanged {
                    prop_assert_eq!(&report.migrations, &preview.migrations);
                }
            }
            Err(err) => {
                prop_assert!(!unchanged, "{changes:?}: {err}");
                prop_assert_eq!(history(p), before_history);
                prop_assert_eq!(std::fs::read(p.join("db.sqlite")).unwrap(), before);
                let plain = apply::apply(&Options { dry_run: true, ..options(p) }, &mut |_| {});
                if matches!(err, schemactl::Error::ChangedSinceShown { .. }) {
                    // It would run something that was not shown.
                    let now = plain.unwrap().planned();
                    prop_assert!(now.iter().any(|m| !shown.contains(m)), "{changes:?}: {err}");
                    prop_assert!(err.to_string().contains("nothing was changed"), "{err}");
                } else {
                    // Refused earlier, for what any run would refuse now (a file of an applied
                    // migration removed, say): the same error without a preview.
                    prop_assert_eq!(plain.map(|_| ()).unwrap_err().to_string(), err.to_string());
                }
            }
        }
    }
}

#[test]
fn a_file_added_while_the_question_was_open_is_named_and_not_run() {
    let dir = project();
    let p = dir.path();
    let preview = apply::apply(
        &Options {
            dry_run: true,
            ..options(p)
        },
        &mut |_| {},
    )
    .unwrap();
    make(p, &Change::Add(3));
    make(p, &Change::Edit);
    let err = apply::apply(
        &Options {
            confirmed: Some(preview.planned()),
            ..options(p)
        },
        &mut |_| {},
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "what would run on {} changed after it was shown (shown: V2__w; now: V2__w (edited since), V3__never_shown (not shown)); nothing was changed: run the command again to see what it runs now",
            p.join("db.sqlite").display()
        )
    );
    assert_eq!(history(p).len(), 1);
}

#[test]
fn a_rollback_runs_what_it_showed_or_nothing() {
    let dir = project();
    let p = dir.path();
    apply::apply(&options(p), &mut |_| {}).unwrap();
    let preview = apply::rollback(
        &Options {
            dry_run: true,
            ..options(p)
        },
        "V2",
        true,
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(preview.migrations, vec!["V2__w".to_string()]);
    // Meanwhile another process applies V3: the rollback would now undo it too, unseen.
    write(p, "migrations/V3__x.sql", "CREATE TABLE x(id INTEGER);\n");
    write(p, "rollbacks/V3__x.sql", "DROP TABLE x;\n");
    apply::apply(&options(p), &mut |_| {}).unwrap();
    let before = std::fs::read(p.join("db.sqlite")).unwrap();
    let confirmed = Options {
        confirmed: Some(preview.planned()),
        ..options(p)
    };
    let err = apply::rollback(&confirmed, "V2", true, &mut |_| {}).unwrap_err();
    assert!(
        matches!(err, schemactl::Error::ChangedSinceShown { ref now, .. } if now == &["V3__x (not shown)".to_string(), "V2__w".to_string()]),
        "{err}"
    );
    assert_eq!(std::fs::read(p.join("db.sqlite")).unwrap(), before);
    // What was shown, unchanged, runs.
    apply::rollback(&options(p), "V3", false, &mut |_| {}).unwrap();
    let report = apply::rollback(&confirmed, "V2", true, &mut |_| {}).unwrap();
    assert_eq!(report.migrations, vec!["V2__w".to_string()]);
    assert_eq!(history(p), vec![(1, "init".to_string())]);
}

#[test]
fn a_fleet_runs_what_its_preview_showed_or_refuses_the_target() {
    use schemactl::ops::fleet;
    let dir = project();
    let p = dir.path();
    std::fs::create_dir_all(p.join("t/a")).unwrap();
    std::fs::copy(p.join("db.sqlite"), p.join("t/a/memory.db")).unwrap();
    let project = fleet::Project {
        migrations: p.join("migrations"),
        rollbacks: p.join("rollbacks"),
        schema: p.join("schema"),
        exclude: Default::default(),
    };
    let targets = vec![p.join("t/a/memory.db")];
    let shown = fleet::preflight(&project, &targets, 1, false, None).unwrap();
    assert_eq!(shown.targets[0].pending, vec!["V2__w".to_string()]);
    // While the question is open: V2 edited, V3 added.
    make(p, &Change::Edit);
    make(p, &Change::Add(3));
    let before = std::fs::read(p.join("t/a/memory.db")).unwrap();
    let done = fleet::apply(
        &fleet::Options {
            project,
            targets: Some(targets),
            runs: p.join("runs"),
            backups: "{dir}/backups".into(),
            jobs: 1,
            canary: fleet::Count::Absolute(0),
            canary_only: false,
            max_failures: None,
            resume: None,
            allow_destructive: true,
            stop: Default::default(),
            files: Some(shown.files),
        },
        &|_| {},
    )
    .unwrap();
    let r = &done.records[0];
    assert_eq!(r.outcome, fleet::Outcome::Failed, "{r:?}");
    let message = &r.error.as_ref().unwrap().message;
    assert!(
        message.contains("(shown: V2__w; now: V2__w (edited since), V3__never_shown (not shown)); nothing was changed"),
        "{message}"
    );
    assert_eq!(std::fs::read(p.join("t/a/memory.db")).unwrap(), before);
}

#[test]
fn a_fleet_rollback_undoes_what_its_preview_showed_or_refuses_the_target() {
    use schemactl::ops::fleet;
    let dir = project();
    let p = dir.path();
    for t in ["a", "b"] {
        std::fs::create_dir_all(p.join("t").join(t)).unwrap();
        std::fs::copy(p.join("db.sqlite"), p.join("t").join(t).join("memory.db")).unwrap();
    }
    let project = fleet::Project {
        migrations: p.join("migrations"),
        rollbacks: p.join("rollbacks"),
        schema: p.join("schema"),
        exclude: Default::default(),
    };
    let done = fleet::apply(
        &fleet::Options {
            project: project.clone(),
            targets: Some(vec![p.join("t/a/memory.db"), p.join("t/b/memory.db")]),
            runs: p.join("runs"),
            backups: "{dir}/backups".into(),
            jobs: 1,
            canary: fleet::Count::Absolute(0),
            canary_only: false,
            max_failures: None,
            resume: None,
            allow_destructive: true,
            stop: Default::default(),
            files: None,
        },
        &|_| {},
    )
    .unwrap();
    assert!(
        done.records
            .iter()
            .all(|r| r.outcome == fleet::Outcome::Applied)
    );
    let mut opts = fleet::rollback::Options {
        project,
        runs: p.join("runs"),
        run: done.run.id.clone(),
        backups: "{dir}/backups".into(),
        jobs: 1,
        stop: Default::default(),
        confirmed: None,
    };
    let mut shown = fleet::rollback::preview(&opts).unwrap();
    assert_eq!(shown.len(), 2);
    // What t/b would run is not what was shown for it (as if its reverse changed meanwhile).
    shown[1].planned.1[0].1 = "ALTER TABLE t DROP COLUMN v;".into();
    let b = std::fs::read(p.join("t/b/memory.db")).unwrap();
    opts.confirmed = Some(shown);
    let rolled = fleet::rollback(&opts, &|_| {}).unwrap();
    assert_eq!(rolled.records[0].outcome, fleet::Outcome::RolledBack);
    assert_eq!(
        rolled.records[1].outcome,
        fleet::Outcome::Failed,
        "{:?}",
        rolled.records[1]
    );
    assert!(
        rolled.records[1]
            .error
            .as_ref()
            .unwrap()
            .message
            .contains("V2__w (edited since)")
    );
    assert_eq!(std::fs::read(p.join("t/b/memory.db")).unwrap(), b);
}
