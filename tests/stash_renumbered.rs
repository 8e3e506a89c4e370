//! A column stash keyed by rowid alone (a table without a primary key), after VACUUM
//! renumbered the table's rows: the rollback tells rows deleted since (its forget trigger
//! removed their stash rows) from rows renumbered, and refuses unless --lossy when a stashed
//! row finds no row it was not deleted from; with --lossy, a value comes back to its own row
//! or not at all, never to another row, even among rows whose kept columns are all equal.
//! A property over random rows (duplicate kept values), random deletions and VACUUM or not
//! (32 cases).

mod common;

use std::path::Path;

use common::{fails_in, ok_in};
use proptest::prelude::*;
use rusqlite::Connection;

fn project() -> tempfile::TempDir {
    common::empty_project()
}

/// (rowid, x, y) in rowid order; y NULL when the table has no column y.
fn rows(db: &Path) -> Vec<(i64, String, Option<String>)> {
    let conn = Connection::open(db).unwrap();
    let has_y: bool = conn
        .query_row(
            "SELECT count(*) > 0 FROM pragma_table_info('n') WHERE name = 'y'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let sql = if has_y {
        "SELECT rowid, x, y FROM n ORDER BY rowid"
    } else {
        "SELECT rowid, x, NULL FROM n ORDER BY rowid"
    };
    conn.prepare(sql)
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

fn run_case(xs: &[bool], deleted: &[bool], early: bool, vacuum: bool, lossy: bool) {
    let dir = project();
    let d = dir.path();
    let db = d.join("db.sqlite");
    std::fs::write(
        d.join("schema/s.yaml"),
        "schemactl: 1\nversion: 1\ntables:\n  n:\n    columns:\n      x: { type: TEXT }\n      y: { type: TEXT }\n",
    )
    .unwrap();
    ok_in(d, &["plan", "--write", "init"]);
    std::fs::write(
        d.join("schema/s.yaml"),
        "schemactl: 1\nversion: 2\ntables:\n  n:\n    columns:\n      x: { type: TEXT }\n",
    )
    .unwrap();
    ok_in(d, &["plan", "--write", "drop_y"]);
    ok_in(d, &["apply", "--yes", "--allow-destructive"]);
    ok_in(d, &["rollback", "V2", "--yes"]);
    {
        let conn = Connection::open(&db).unwrap();
        for (i, same) in xs.iter().enumerate() {
            let x = if *same { "same" } else { "other" };
            conn.execute(
                "INSERT INTO n (rowid, x, y) VALUES (?1, ?2, ?3)",
                rusqlite::params![i as i64 + 1, x, format!("y{}", i + 1)],
            )
            .unwrap();
        }
    }
    // Rows deleted before the migration (`early`: the stash never held them) or after it
    // (its forget trigger removes their stash rows).
    if !early {
        ok_in(d, &["apply", "--yes", "--allow-destructive"]);
    }
    // Each surviving row, in rowid order, with the value it had.
    let mut survivors: Vec<(String, String)> = Vec::new();
    {
        let conn = Connection::open(&db).unwrap();
        for (i, gone) in deleted.iter().enumerate() {
            let rowid = i as i64 + 1;
            if *gone {
                conn.execute("DELETE FROM n WHERE rowid = ?1", [rowid])
                    .unwrap();
            } else {
                let x = if xs[i] { "same" } else { "other" };
                survivors.push((x.to_string(), format!("y{rowid}")));
            }
        }
    }
    if early {
        ok_in(d, &["apply", "--yes", "--allow-destructive"]);
    }
    if vacuum {
        Connection::open(&db)
            .unwrap()
            .execute_batch("VACUUM")
            .unwrap();
    }
    let before = rows(&db);
    let renumbered = before
        .iter()
        .zip(deleted.iter().enumerate().filter(|(_, g)| !**g))
        .any(|((rowid, _, _), (i, _))| *rowid != i as i64 + 1);
    let mut args = vec!["rollback", "V2", "--yes"];
    if lossy {
        args.push("--lossy");
    }
    if renumbered && !lossy {
        let err = fails_in(d, &args, 1);
        assert!(err.contains("re-run with --lossy"), "{err}");
        assert_eq!(rows(&db), before, "a refused rollback changes nothing");
        return;
    }
    ok_in(d, &args);
    let after = rows(&db);
    assert_eq!(after.len(), survivors.len());
    for ((_, x, y), (want_x, want_y)) in after.iter().zip(&survivors) {
        assert_eq!(x, want_x);
        if renumbered {
            // Lossy: its own value or none, never another row's.
            assert!(
                y.is_none() || y.as_deref() == Some(want_y.as_str()),
                "{after:?} vs {survivors:?}"
            );
        } else {
            assert_eq!(y.as_deref(), Some(want_y.as_str()), "{after:?}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn a_renumbered_stash_is_refused_or_puts_values_only_on_their_own_rows(
        (xs, deleted) in (1usize..6).prop_flat_map(|n| (
            prop::collection::vec(any::<bool>(), n),
            prop::collection::vec(any::<bool>(), n),
        )),
        early in any::<bool>(),
        vacuum in any::<bool>(),
        lossy in any::<bool>(),
    ) {
        run_case(&xs, &deleted, early, vacuum, lossy);
    }
}

/// The hostile tester's case: rows 2 and 3 share their kept column, row 1 was deleted before
/// the migration, VACUUM renumbers them to 1 and 2: refused without --lossy.
#[test]
fn vacuum_over_duplicate_kept_values_is_refused_without_lossy() {
    run_case(
        &[true, true, true],
        &[true, false, false],
        true,
        true,
        false,
    );
    run_case(&[true, true, true], &[true, false, false], true, true, true);
}
