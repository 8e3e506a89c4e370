//! A sync runs the plan it made (and showed) on the live schema it made it on, or nothing:
//! whatever another process does to the live schema between the plan and the run (a column
//! added and filled while the question was open, an index, a table) stops the run, under the
//! lock and before anything changes, with "changed after it was shown"; the database is byte
//! for byte as the other process left it. Rows written meanwhile, or a change to an excluded
//! table, change no plan: the run goes on and keeps them. A property over any set of such
//! changes.

mod common;

use std::path::Path;

use proptest::prelude::*;
use schemactl::apply::{self, Options};
use schemactl::error::Error;
use schemactl::exclude::Exclude;
use schemactl::ops::sync;

fn pipeline(dir: &Path) -> Options {
    Options {
        skip_backup: true,
        ..common::pipeline_options(dir, dir.join("db.sqlite"))
    }
}

fn sync_options(dir: &Path) -> sync::Options {
    sync::Options {
        database: dir.join("db.sqlite"),
        schema: dir.join("schema"),
        migrations: dir.join("migrations"),
        rollbacks: dir.join("rollbacks"),
        ignore_lint: false,
        exclude: Exclude::new(vec!["app_cache*".to_string()], "schemactl.toml").unwrap(),
        defer_lint: false,
    }
}

const V1: &str = "schemactl: 1\nversion: 1\ntables:\n  t:\n    columns:\n      id: { type: INTEGER, primary_key: true }\n      a: { type: INTEGER }\n";
/// Retypes t.a: a rebuild that copies (id, a).
const V2: &str = "schemactl: 1\nversion: 2\ntables:\n  t:\n    columns:\n      id: { type: INTEGER, primary_key: true }\n      a: { type: TEXT }\n";

/// What another process does while the question is open.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Meanwhile {
    /// Adds column c to t and fills it.
    AddColumn,
    /// Adds an index on t.
    AddIndex,
    /// Creates a table.
    AddTable,
    /// Writes rows (no schema change).
    WriteRows,
    /// Creates an excluded table (no change to what the plan manages).
    ExcludedTable,
}

impl Meanwhile {
    fn changes_plan(self) -> bool {
        matches!(
            self,
            Meanwhile::AddColumn | Meanwhile::AddIndex | Meanwhile::AddTable
        )
    }

    fn sql(self) -> &'static str {
        match self {
            Meanwhile::AddColumn => {
                "ALTER TABLE t ADD COLUMN c TEXT; UPDATE t SET c = 'precious-' || id;"
            }
            Meanwhile::AddIndex => "CREATE INDEX t_a ON t(a);",
            Meanwhile::AddTable => {
                "CREATE TABLE hotfix (id INTEGER PRIMARY KEY, note TEXT); INSERT INTO hotfix VALUES (1, 'x');"
            }
            Meanwhile::WriteRows => "INSERT INTO t VALUES (100, 1000);",
            Meanwhile::ExcludedTable => "CREATE TABLE app_cache_1 (k TEXT);",
        }
    }
}

fn meanwhile() -> impl Strategy<Value = Vec<Meanwhile>> {
    prop::collection::vec(
        prop_oneof![
            Just(Meanwhile::AddColumn),
            Just(Meanwhile::AddIndex),
            Just(Meanwhile::AddTable),
            Just(Meanwhile::WriteRows),
            Just(Meanwhile::ExcludedTable),
        ],
        0..3,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn sync_runs_its_plan_on_the_schema_it_was_made_on_or_nothing(changes in meanwhile()) {
        let dir = common::temp_dir();
        let p = dir.path();
        for d in ["migrations", "rollbacks", "schema"] {
            std::fs::create_dir_all(p.join(d)).unwrap();
        }
        std::fs::write(p.join("schema/s.yaml"), V1).unwrap();
        let planned = sync::planned(&sync_options(p)).unwrap();
        let mut opts = pipeline(p);
        opts.extra = planned.migrations;
        opts.inspected = Some(planned.inspected);
        opts.planned_on = Some(planned.planned_on);
        opts.files_read = Some(planned.files_read);
        apply::apply(&opts, &mut |_| {}).unwrap();
        let conn = rusqlite::Connection::open(p.join("db.sqlite")).unwrap();
        conn.execute_batch("INSERT INTO t VALUES (1, 10), (2, 20);").unwrap();
        drop(conn);
        std::fs::write(p.join("schema/s.yaml"), V2).unwrap();

        // What the CLI does: plan, preview, ask; meanwhile another process changes the db.
        let planned = sync::planned(&sync_options(p)).unwrap();
        let mut opts = pipeline(p);
        opts.extra = planned.migrations;
        opts.inspected = Some(planned.inspected);
        opts.planned_on = Some(planned.planned_on);
        opts.files_read = Some(planned.files_read);
        let preview = apply::apply(&Options { dry_run: true, ..opts.clone() }, &mut |_| {}).unwrap();
        prop_assert_eq!(preview.migrations.len(), 1);
        opts.confirmed = Some(preview.planned());
        let conn = rusqlite::Connection::open(p.join("db.sqlite")).unwrap();
        for c in &changes {
            // Each at most once (a second ADD COLUMN c would fail).
            let _ = conn.execute_batch(c.sql());
        }
        drop(conn);
        let before = std::fs::read(p.join("db.sqlite")).unwrap();
        let result = apply::apply(&opts, &mut |_| {});
        if changes.iter().any(|c| c.changes_plan()) {
            match result {
                Err(Error::ChangedSinceShown { now, .. }) => {
                    prop_assert!(now.iter().any(|n| n.contains("changed since")), "{:?}", now);
                }
                other => prop_assert!(false, "not refused: {:?}", other.map(|r| r.migrations)),
            }
            prop_assert!(std::fs::read(p.join("db.sqlite")).unwrap() == before, "the database changed");
        } else {
            prop_assert!(result.is_ok(), "{:?}", result.err().map(|e| e.to_string()));
            let conn = rusqlite::Connection::open(p.join("db.sqlite")).unwrap();
            let rows: Vec<(i64, String)> = conn
                .prepare("SELECT id, a FROM t ORDER BY id").unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap()
                .collect::<rusqlite::Result<_>>().unwrap();
            let mut expected = vec![(1, "10".to_string()), (2, "20".to_string())];
            if changes.contains(&Meanwhile::WriteRows) {
                expected.push((100, "1000".to_string()));
            }
            prop_assert_eq!(rows, expected);
            let excluded: i64 = conn
                .query_row("SELECT count(*) FROM sqlite_schema WHERE name = 'app_cache_1'", [], |r| r.get(0))
                .unwrap();
            prop_assert_eq!(excluded, i64::from(changes.contains(&Meanwhile::ExcludedTable)));
        }
    }
}

/// The migration files a sync's plan read are handed to the pipeline, which reads the folders
/// again under the lock and reuses only a file that is byte for byte the same: an applied file
/// edited, or a file added, between the plan and the run is seen there and refused, and the
/// database is left as it was.
#[test]
fn a_migration_file_changed_after_the_plan_is_seen_by_the_run() {
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Change {
        None,
        EditApplied,
        Add,
    }
    for change in [Change::None, Change::EditApplied, Change::Add] {
        let dir = common::temp_dir();
        let p = dir.path();
        for d in ["migrations", "rollbacks", "schema"] {
            std::fs::create_dir_all(p.join(d)).unwrap();
        }
        let v1 = "CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER);\n";
        std::fs::write(p.join("migrations/V1__t.sql"), v1).unwrap();
        std::fs::write(p.join("rollbacks/V1__t.sql"), "DROP TABLE t;\n").unwrap();
        apply::apply(&pipeline(p), &mut |_| {}).unwrap();
        std::fs::write(p.join("schema/s.yaml"), V2).unwrap();
        let planned = sync::planned(&sync_options(p)).unwrap();
        assert_eq!(planned.files_read.len(), 1);
        let mut opts = pipeline(p);
        opts.extra = planned.migrations;
        opts.inspected = Some(planned.inspected);
        opts.planned_on = Some(planned.planned_on);
        opts.files_read = Some(planned.files_read);
        match change {
            Change::None => {}
            Change::EditApplied => {
                std::fs::write(p.join("migrations/V1__t.sql"), format!("{v1}-- edited\n")).unwrap()
            }
            Change::Add => {
                std::fs::write(p.join("migrations/V9__u.sql"), "CREATE TABLE u (x);\n").unwrap()
            }
        }
        let before = std::fs::read(p.join("db.sqlite")).unwrap();
        let result = apply::apply(&opts, &mut |_| {});
        match change {
            Change::None => assert!(result.is_ok(), "{:?}", result.err()),
            Change::EditApplied => {
                assert!(
                    matches!(result, Err(Error::Divergent { .. })),
                    "{change:?}: {:?}",
                    result.map(|r| r.migrations)
                );
                assert!(std::fs::read(p.join("db.sqlite")).unwrap() == before);
            }
            Change::Add => {
                assert!(
                    matches!(result, Err(Error::FilesPending { .. })),
                    "{change:?}: {:?}",
                    result.map(|r| r.migrations)
                );
                assert!(std::fs::read(p.join("db.sqlite")).unwrap() == before);
            }
        }
    }
}
