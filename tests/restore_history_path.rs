//! `restore --table` maps the backup's columns onto the live table through the history
//! exactly as it went between them, rollbacks included: the migrations the backup has and the
//! live database no longer has are undone by their reverse renames, the ones the live database
//! has since run forward. A property over any sequence of applies and rollbacks of a column
//! rename and a table rename, with the backup taken at any point: after the values are changed
//! in the live table, `restore --table --mode replace` (and `merge` over deleted rows) brings
//! back every row's value under the live column's name, whatever it is called now.

mod common;

use std::path::Path;

use proptest::prelude::*;
use rusqlite::Connection;

const ROWS: i64 = 3;

fn setup() -> tempfile::TempDir {
    let dir = common::temp_dir();
    let p = dir.path();
    for d in ["migrations", "rollbacks"] {
        std::fs::create_dir_all(p.join(d)).unwrap();
    }
    std::fs::write(
        p.join("schemactl.toml"),
        "database = \"db.sqlite\"\nbackups = \"backups\"\n",
    )
    .unwrap();
    let files = [
        (
            "V1__init.sql",
            "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT);\n",
            "DROP TABLE t;\n",
        ),
        (
            "V2__rename_col.sql",
            "ALTER TABLE t RENAME COLUMN name TO full_name;\n",
            "ALTER TABLE t RENAME COLUMN full_name TO name;\n",
        ),
        (
            "V3__rename_table.sql",
            "ALTER TABLE t RENAME TO people;\n",
            "ALTER TABLE people RENAME TO t;\n",
        ),
    ];
    for (name, forward, reverse) in files {
        std::fs::write(p.join("migrations").join(name), forward).unwrap();
        std::fs::write(p.join("rollbacks").join(name), reverse).unwrap();
    }
    dir
}

fn ok(p: &Path, args: &[&str]) -> String {
    common::ok_in(p, args)
}

fn version(p: &Path) -> i64 {
    Connection::open(p.join("db.sqlite"))
        .unwrap()
        .query_row("SELECT max(version) FROM _schemactl_history", [], |r| {
            r.get(0)
        })
        .unwrap()
}

/// The live table and its value column at a version.
fn names(version: i64) -> (&'static str, &'static str) {
    (
        if version >= 3 { "people" } else { "t" },
        if version >= 2 { "full_name" } else { "name" },
    )
}

fn values(p: &Path) -> Vec<(i64, Option<String>)> {
    let (table, column) = names(version(p));
    let conn = Connection::open(p.join("db.sqlite")).unwrap();
    conn.prepare(&format!("SELECT id, {column} FROM {table} ORDER BY id"))
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

/// One step of the history: apply everything pending, or roll the last migration back.
#[derive(Debug, Clone, Copy)]
enum Step {
    Apply,
    Rollback,
}

fn step(p: &Path, s: Step) {
    match s {
        Step::Apply => {
            ok(p, &["apply", "--yes", "--skip-backup"]);
        }
        Step::Rollback if version(p) >= 2 => {
            ok(
                p,
                &[
                    "rollback",
                    "last",
                    "--yes",
                    "--skip-backup",
                    "--allow-destructive",
                ],
            );
        }
        Step::Rollback => {}
    }
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(prop_oneof![Just(Step::Apply), Just(Step::Rollback)], 0..4)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn a_table_restore_follows_the_history_between_backup_and_live(
        before in steps(),
        after in steps(),
        merge in any::<bool>(),
    ) {
        let dir = setup();
        let p = dir.path();
        ok(p, &["apply", "--yes", "--skip-backup"]);
        for s in &before {
            step(p, *s);
        }
        {
            let (table, column) = names(version(p));
            let conn = Connection::open(p.join("db.sqlite")).unwrap();
            for id in 1..=ROWS {
                conn.execute(&format!("INSERT INTO {table} (id, {column}) VALUES (?1, 'v-' || ?1)"), [id]).unwrap();
            }
        }
        let expected: Vec<(i64, Option<String>)> = (1..=ROWS).map(|id| (id, Some(format!("v-{id}")))).collect();
        prop_assert_eq!(values(p), expected.clone());
        ok(p, &["backup", "--label", "point"]);
        for s in &after {
            step(p, *s);
        }
        let (table, column) = names(version(p));
        {
            let conn = Connection::open(p.join("db.sqlite")).unwrap();
            if merge {
                conn.execute_batch(&format!("DELETE FROM {table};")).unwrap();
            } else {
                conn.execute_batch(&format!("UPDATE {table} SET {column} = 'changed';")).unwrap();
            }
        }
        let mode = if merge { "merge" } else { "replace" };
        ok(p, &["restore", "--latest", "--table", table, "--mode", mode, "--yes"]);
        prop_assert_eq!(values(p), expected);
    }
}
