//! A rebuild that changes a rowid table's INTEGER PRIMARY KEY: the plan, the row proof and
//! the rollback agree on what happens to the rowids (h8_07). Random rowids and values, and
//! random distinct key values, under three changes: a column renamed into the INTEGER
//! PRIMARY KEY (`id: {INTEGER, primary_key, renamed_from: n}`), an `INT PRIMARY KEY` made
//! `INTEGER PRIMARY KEY`, and a new INTEGER PRIMARY KEY column. When the plan says the rows
//! are renumbered to a column's values, `sync` (rehearsal and row proof included) runs, the
//! rowids are those values, and the rollback refuses without `--lossy` (nothing changed),
//! then with it gives every value back; when the plan says nothing, the rowids stay and the
//! rollback gives back the rows exactly, rowids included (32 cases).

mod common;

use std::path::Path;

use common::{fails_in, ok_in};
use proptest::prelude::*;
use rusqlite::Connection;
use rusqlite::types::Value;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Change {
    /// `n INTEGER` renamed to `id INTEGER PRIMARY KEY`.
    RenameIntoKey,
    /// `n INT PRIMARY KEY` made `n INTEGER PRIMARY KEY`.
    IntToInteger,
    /// A new column `id INTEGER PRIMARY KEY` (the rowids go into it).
    NewKey,
}

fn yaml(version: u32, columns: &str) -> String {
    format!("schemactl: 1\nversion: {version}\ntables:\n  t:\n    columns:\n{columns}")
}

fn schemas(change: Change) -> (String, String) {
    let v = "      v: { type: TEXT }\n";
    match change {
        Change::RenameIntoKey => (
            yaml(1, &format!("      n: {{ type: INTEGER }}\n{v}")),
            yaml(
                2,
                &format!("      id: {{ type: INTEGER, primary_key: true, renamed_from: n }}\n{v}"),
            ),
        ),
        Change::IntToInteger => (
            yaml(
                1,
                &format!("      n: {{ type: INT, primary_key: true }}\n{v}"),
            ),
            yaml(
                2,
                &format!("      n: {{ type: INTEGER, primary_key: true }}\n{v}"),
            ),
        ),
        Change::NewKey => (
            yaml(1, &format!("      n: {{ type: INTEGER }}\n{v}")),
            yaml(
                2,
                &format!(
                    "      id: {{ type: INTEGER, primary_key: true }}\n      n: {{ type: INTEGER }}\n{v}"
                ),
            ),
        ),
    }
}

/// Every row: (rowid, n, v), n read from `key` when the column is named so, in rowid order.
fn rows(db: &Path) -> Vec<(i64, Value, Value)> {
    let conn = Connection::open(db).unwrap();
    let n: bool = conn
        .query_row(
            "SELECT count(*) > 0 FROM pragma_table_info('t') WHERE name = 'n'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let key = if n { "n" } else { "id" };
    conn.prepare(&format!("SELECT _rowid_, {key}, v FROM t ORDER BY _rowid_"))
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

fn values(rows: &[(i64, Value, Value)]) -> Vec<(Value, Value)> {
    let mut v: Vec<_> = rows
        .iter()
        .map(|(_, n, v)| (n.clone(), v.clone()))
        .collect();
    v.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    v
}

fn run_case(change: Change, seed: &[(i64, i64, Option<String>)]) -> Result<(), TestCaseError> {
    let dir = common::empty_project();
    let d = dir.path();
    let db = d.join("db.sqlite");
    let (v1, v2) = schemas(change);
    std::fs::write(d.join("schema/s.yaml"), v1).unwrap();
    ok_in(d, &["sync", "--yes"]);
    {
        let conn = Connection::open(&db).unwrap();
        for (rowid, n, v) in seed {
            conn.execute(
                "INSERT INTO t (_rowid_, n, v) VALUES (?1, ?2, ?3)",
                rusqlite::params![rowid, n, v],
            )
            .unwrap();
        }
    }
    let before = rows(&db);
    std::fs::write(d.join("schema/s.yaml"), v2).unwrap();
    let plan: serde_json::Value =
        serde_json::from_str(&ok_in(d, &["plan", "--format", "json"])).unwrap();
    let summaries: Vec<&str> = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["summary"].as_str().unwrap())
        .collect();
    let renumbers = summaries
        .iter()
        .any(|s| s.contains("renumbers the rows: their rowids become the values of n"));
    let expect_renumbered = change != Change::NewKey;
    prop_assert_eq!(
        renumbers,
        expect_renumbered,
        "{:?}: {:?}",
        change,
        summaries
    );
    if renumbers {
        prop_assert!(
            summaries.iter().any(|s| s.contains("rollback --lossy")),
            "{:?}",
            summaries
        );
    }

    // The proof agrees with the plan: sync, with its rehearsal, runs.
    let out = common::schemactl(d, &["sync", "--yes"]);
    prop_assert_eq!(
        out.status.code(),
        Some(0),
        "{:?}: {}\n{}",
        change,
        common::stdout(&out),
        common::stderr(&out)
    );
    let after = rows(&db);
    prop_assert_eq!(values(&after), values(&before), "{:?}", change);
    for (rowid, n, _) in &after {
        if renumbers {
            prop_assert_eq!(&Value::Integer(*rowid), n, "{:?}: {:?}", change, after);
        }
    }
    if !renumbers {
        prop_assert_eq!(&after, &before, "{:?}", change);
    }

    if renumbers {
        // The old rowids are gone: the rollback says so, and changes nothing.
        let err = fails_in(d, &["rollback", "last", "--yes"], 1);
        prop_assert!(err.contains("--lossy"), "{}", err);
        prop_assert_eq!(&rows(&db), &after);
        ok_in(d, &["rollback", "last", "--yes", "--lossy"]);
        let back = rows(&db);
        prop_assert_eq!(values(&back), values(&before), "{:?}", change);
        // The rows keep the rowids they have now.
        prop_assert_eq!(&back, &after);
    } else {
        // It drops the new column (stashed): destructive, and gated as such.
        ok_in(d, &["rollback", "last", "--yes", "--allow-destructive"]);
        prop_assert_eq!(&rows(&db), &before, "{:?}", change);
    }
    Ok(())
}

fn seed() -> impl Strategy<Value = Vec<(i64, i64, Option<String>)>> {
    (
        prop::collection::btree_set(1i64..400, 1..6),
        // Distinct key values, in an order of their own.
        prop::collection::btree_set(-300i64..300, 6)
            .prop_map(|s| s.into_iter().collect::<Vec<_>>())
            .prop_shuffle(),
        prop::collection::vec(prop::option::weighted(0.8, "[a-c\\n']{0,3}"), 6),
    )
        .prop_map(|(rowids, ns, vs)| {
            rowids
                .into_iter()
                .zip(ns)
                .zip(vs)
                .map(|((r, n), v)| (r, n, v))
                .collect()
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    #[test]
    fn plan_proof_and_rollback_agree_on_the_rowids(
        change in prop::sample::select(vec![Change::RenameIntoKey, Change::IntToInteger, Change::NewKey]),
        seed in seed(),
    ) {
        run_case(change, &seed)?;
    }
}

/// The hostile report's case: n = 100, 200, 300 at rowids 5, 10, 20, renamed to id.
#[test]
fn a_column_renamed_into_the_key_renumbers_and_rolls_back_lossy() {
    let seed = [
        (5, 100, Some("a".to_string())),
        (10, 200, Some("b".to_string())),
        (20, 300, Some("c".to_string())),
    ];
    run_case(Change::RenameIntoKey, &seed).unwrap();
}
