//! A key that becomes the INTEGER PRIMARY KEY renumbers the rows: their rowids become its
//! values. Whether the step narrows the key (TEXT '007' → 7: stashed, the rollback puts the
//! text back from the stash) or not (INT → INTEGER: no stash), nothing keeps the old rowids,
//! so the rollback is gated the same way: refused without `--lossy` (the dry run too), naming
//! the table and the key, nothing changed; with `--lossy` every key and value comes back
//! exactly and the rows keep the rowids they have. A property over random key values and
//! random rowids (40 cases).

mod common;

use common::{fails_in, ok_in};
use proptest::prelude::*;
use rusqlite::Connection;

/// (rowid, quote(k), typeof(k), v) of every row of t, by v.
fn dump(db: &std::path::Path) -> Vec<(i64, String, String, String)> {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT rowid, quote(k), typeof(k), v FROM t ORDER BY v")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

fn yaml(version: u32, ty: &str) -> String {
    format!(
        "schemactl: 1\nversion: {version}\ntables:\n  t:\n    columns:\n      k: {{ type: {ty}, primary_key: true }}\n      v: {{ type: TEXT }}\n"
    )
}

/// `keys`: (key, padded with zeros, rowid) of each row; `narrow`: a TEXT key (stashed) or an
/// INT one (not).
fn run_case(narrow: bool, keys: &[(i64, bool, i64)]) {
    let dir = common::empty_project();
    let d = dir.path();
    let from = if narrow { "TEXT" } else { "INT" };
    std::fs::write(d.join("schema/s.yaml"), yaml(1, from)).unwrap();
    ok_in(d, &["sync", "--yes"]);
    let db = d.join("db.sqlite");
    let conn = Connection::open(&db).unwrap();
    for (i, (k, padded, rowid)) in keys.iter().enumerate() {
        let key = if *padded && narrow {
            format!("'00{k}'")
        } else {
            k.to_string()
        };
        conn.execute_batch(&format!(
            "INSERT INTO t (rowid, k, v) VALUES ({rowid}, {key}, 'r{i}')"
        ))
        .unwrap();
    }
    drop(conn);
    let held = dump(&db);
    std::fs::write(d.join("schema/s.yaml"), yaml(2, "INTEGER")).unwrap();
    let plan = ok_in(d, &["plan"]);
    assert!(plan.contains("renumbers the rows"), "{plan}");
    assert_eq!(
        plan.contains("stash for rollback"),
        narrow,
        "a narrowing is stashed, a renumbering alone is not\n{plan}"
    );
    ok_in(
        d,
        &["sync", "--yes", "--allow-destructive", "--ignore-lint"],
    );
    let synced = dump(&db);
    for (rowid, k, ty, _) in &synced {
        assert_eq!(ty, "integer");
        assert_eq!(k, &rowid.to_string(), "the rowids are the key's values");
    }
    for args in [
        &["rollback", "last", "--dry-run"][..],
        &["rollback", "last", "--yes", "--allow-destructive"][..],
    ] {
        let err = fails_in(d, args, 1);
        assert!(
            err.contains(
                "the rollback cannot give the rows of table \"t\" their rowids back: the migration renumbered them to the values of its INTEGER PRIMARY KEY \"k\""
            ) && err.contains("--lossy")
                && err.contains("nothing was changed"),
            "{args:?}: {err}"
        );
        assert_eq!(dump(&db), synced, "a refused rollback changes nothing");
    }
    ok_in(
        d,
        &[
            "rollback",
            "last",
            "--yes",
            "--allow-destructive",
            "--lossy",
        ],
    );
    let back = dump(&db);
    let values = |rows: &[(i64, String, String, String)]| -> Vec<(String, String, String)> {
        rows.iter()
            .map(|(_, k, ty, v)| (k.clone(), ty.clone(), v.clone()))
            .collect()
    };
    assert_eq!(
        values(&back),
        values(&held),
        "every key and value back exactly"
    );
    let rowids = |rows: &[(i64, String, String, String)]| -> Vec<(i64, String)> {
        rows.iter().map(|(r, _, _, v)| (*r, v.clone())).collect()
    };
    assert_eq!(
        rowids(&back),
        rowids(&synced),
        "--lossy: the rows keep the rowids they have"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    #[test]
    fn a_key_made_the_rowid_rolls_back_only_with_lossy_stashed_or_not(
        narrow in any::<bool>(),
        keys in prop::collection::btree_map(1i64..500, (any::<bool>(), 1i64..500), 1..6),
    ) {
        // Distinct keys; distinct rowids, which may differ from the keys.
        let mut seen = std::collections::BTreeSet::new();
        let rows: Vec<(i64, bool, i64)> = keys
            .into_iter()
            .filter(|(_, (_, rowid))| seen.insert(*rowid))
            .map(|(k, (padded, rowid))| (k, padded, rowid))
            .collect();
        run_case(narrow, &rows);
    }
}

/// The case of the brief: a TEXT key, stashed, whose rollback ran without `--lossy` and kept
/// the key's values as the rowids.
#[test]
fn a_stashed_narrowing_into_the_rowid_is_gated() {
    run_case(true, &[(7, true, 1), (12, false, 2), (3, true, 9)]);
}
