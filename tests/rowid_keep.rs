//! A rebuild keeps every row's rowid, or its plan says it cannot. Rowid tables with gaps in
//! their rowids (no key, an `INT PRIMARY KEY`, an `INTEGER PRIMARY KEY`) get a random key
//! change: a new `INTEGER PRIMARY KEY` column (it takes the rowids), the old key made the
//! rowid (`INT` to `INTEGER`: the rowids become its values), another column made the
//! INTEGER PRIMARY KEY, the key dropped, or a collation change alone. After `sync` (with the
//! rehearsal and its row proof) every row keeps its rowid and its values, unless a step of
//! the plan says it renumbers the rows; the proof never refuses a plan the lint found
//! nothing against (32 cases).

mod common;

use common::ok_in;
use proptest::prelude::*;
use rusqlite::Connection;
use rusqlite::types::Value;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Start {
    Bare,
    IntPk,
    IntegerPk,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Change {
    AddIntegerKeyFirst,
    AddIntegerKeyLast,
    KeyBecomesInteger,
    NBecomesIntegerKey,
    DropKey,
    Collate,
}

fn yaml(version: u32, columns: &[(&str, &str, bool, &str)]) -> String {
    let mut s = format!("schemactl: 1\nversion: {version}\ntables:\n  t:\n    columns:\n");
    for (name, ty, pk, extra) in columns {
        s.push_str(&format!(
            "      {name}: {{ type: {ty}{}{extra} }}\n",
            if *pk { ", primary_key: true" } else { "" }
        ));
    }
    s
}

fn start_columns(start: Start) -> Vec<(&'static str, &'static str, bool, &'static str)> {
    let mut c = match start {
        Start::Bare => vec![],
        Start::IntPk => vec![("k", "INT", true, "")],
        Start::IntegerPk => vec![("k", "INTEGER", true, "")],
    };
    c.extend([("v", "TEXT", false, ""), ("n", "INTEGER", false, "")]);
    c
}

fn changed_columns(
    start: Start,
    change: Change,
) -> Vec<(&'static str, &'static str, bool, &'static str)> {
    let mut c = start_columns(start);
    match change {
        Change::AddIntegerKeyFirst | Change::AddIntegerKeyLast => {
            for col in &mut c {
                col.2 = false;
            }
            let new = ("id", "INTEGER", true, "");
            if change == Change::AddIntegerKeyFirst {
                c.insert(0, new);
            } else {
                c.push(new);
            }
        }
        Change::KeyBecomesInteger => {
            for col in c.iter_mut().filter(|c| c.0 == "k") {
                col.1 = "INTEGER";
            }
        }
        Change::NBecomesIntegerKey => {
            for col in &mut c {
                col.2 = col.0 == "n";
            }
        }
        Change::DropKey => {
            for col in &mut c {
                col.2 = false;
            }
        }
        Change::Collate => {
            for col in c.iter_mut().filter(|c| c.0 == "v") {
                col.3 = ", collate: NOCASE";
            }
        }
    }
    c
}

/// Every row by rowid: (rowid, v, n, k).
fn rows(conn: &Connection, with_k: bool) -> Vec<(i64, Value, Value, Value)> {
    let k = if with_k { "k" } else { "NULL" };
    let mut stmt = conn
        .prepare(&format!(
            "SELECT _rowid_, v, n, {k} FROM t ORDER BY _rowid_"
        ))
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

fn run_case(start: Start, change: Change, seed: &[(i64, Option<String>, Option<i64>)]) {
    let dir = common::empty_project();
    let d = dir.path();
    std::fs::write(d.join("schema/s.yaml"), yaml(1, &start_columns(start))).unwrap();
    ok_in(d, &["sync", "--yes"]);
    let db = d.join("db.sqlite");
    let conn = Connection::open(&db).unwrap();
    let with_k = start != Start::Bare;
    for (i, (rowid, v, n)) in seed.iter().enumerate() {
        if with_k {
            // The key: the rowid for an INTEGER PRIMARY KEY; distinct values in another
            // order for an INT one.
            let k = if start == Start::IntegerPk {
                *rowid
            } else {
                1000 - i as i64
            };
            conn.execute(
                "INSERT INTO t (_rowid_, k, v, n) VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![rowid, k, v, n],
            )
            .unwrap();
        } else {
            conn.execute(
                "INSERT INTO t (_rowid_, v, n) VALUES (?1, ?2, ?3)",
                rusqlite::params![rowid, v, n],
            )
            .unwrap();
        }
    }
    let before = rows(&conn, with_k);
    drop(conn);
    let columns = changed_columns(start, change);
    std::fs::write(d.join("schema/s.yaml"), yaml(2, &columns)).unwrap();
    let plan: serde_json::Value =
        serde_json::from_str(&ok_in(d, &["plan", "--format", "json"])).unwrap();
    let blocking = plan["lint"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["kind"] != "unchecked");
    let unchecked: Vec<&serde_json::Value> = plan["lint"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "unchecked")
        .collect();
    assert!(
        unchecked.is_empty(),
        "the lint could not check: {unchecked:?}"
    );
    let renumbers = plan["steps"].as_array().unwrap().iter().any(|s| {
        s["summary"]
            .as_str()
            .unwrap()
            .contains("renumbers the rows")
    });
    let out = common::schemactl(d, &["sync", "--yes", "--allow-destructive"]);
    if blocking {
        assert_eq!(out.status.code(), Some(1), "{}", common::stderr(&out));
        let conn = Connection::open(&db).unwrap();
        assert_eq!(rows(&conn, with_k), before);
        return;
    }
    assert_eq!(
        out.status.code(),
        Some(0),
        "{start:?} {change:?}: sync refused a plan without a lint finding:\n{}\n{}",
        common::stdout(&out),
        common::stderr(&out)
    );
    let conn = Connection::open(&db).unwrap();
    let k_after = columns.iter().any(|c| c.0 == "k");
    let after = rows(&conn, k_after);
    let values = |r: &[(i64, Value, Value, Value)]| -> Vec<(Value, Value, Value)> {
        let mut v: Vec<_> = r
            .iter()
            .map(|(_, v, n, k)| (v.clone(), n.clone(), k.clone()))
            .collect();
        v.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
        v
    };
    // The same rows and values, always.
    assert_eq!(values(&after), values(&before), "{start:?} {change:?}");
    if !renumbers {
        assert_eq!(
            after, before,
            "{start:?} {change:?}: rows renumbered, and the plan did not say so: {}",
            plan["steps"]
        );
    }
    // A new INTEGER PRIMARY KEY column holds the rowid.
    if columns.iter().any(|c| c.0 == "id") {
        let off: i64 = conn
            .query_row("SELECT count(*) FROM t WHERE id IS NOT _rowid_", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(off, 0);
    }
}

fn seed() -> impl Strategy<Value = Vec<(i64, Option<String>, Option<i64>)>> {
    (
        prop::collection::btree_set(1i64..500, 1..6),
        prop::collection::vec(
            (
                prop::option::of("[a-c]{0,2}"),
                prop::option::weighted(0.8, 1i64..6),
            ),
            6,
        ),
    )
        .prop_map(|(rowids, values)| {
            rowids
                .into_iter()
                .zip(values)
                .map(|(r, (v, n))| (r, v, n))
                .collect()
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    #[test]
    fn rows_keep_their_rowids_unless_the_plan_says(
        start in prop::sample::select(vec![Start::Bare, Start::IntPk, Start::IntegerPk]),
        change in prop::sample::select(vec![
            Change::AddIntegerKeyFirst,
            Change::AddIntegerKeyLast,
            Change::KeyBecomesInteger,
            Change::NBecomesIntegerKey,
            Change::DropKey,
            Change::Collate,
        ]),
        seed in seed(),
    ) {
        run_case(start, change, &seed);
    }
}

/// The hostile report's case: rowids 5, 10, 20 and a new first column `id INTEGER PRIMARY
/// KEY`, which takes them; and `INT PRIMARY KEY` made `INTEGER PRIMARY KEY`, whose plan says
/// the rowids become the key's values.
#[test]
fn a_new_integer_primary_key_takes_the_rowids() {
    let seed: Vec<(i64, Option<String>, Option<i64>)> = [5, 10, 20]
        .iter()
        .map(|&r| (r, Some(format!("r{r}")), Some(r)))
        .collect();
    run_case(Start::Bare, Change::AddIntegerKeyFirst, &seed);
    run_case(Start::IntPk, Change::KeyBecomesInteger, &seed);

    let dir = common::empty_project();
    let d = dir.path();
    std::fs::write(
        d.join("schema/s.yaml"),
        yaml(1, &start_columns(Start::IntPk)),
    )
    .unwrap();
    ok_in(d, &["sync", "--yes"]);
    let columns = changed_columns(Start::IntPk, Change::KeyBecomesInteger);
    std::fs::write(d.join("schema/s.yaml"), yaml(2, &columns)).unwrap();
    let plan = ok_in(d, &["plan"]);
    assert!(
        plan.contains("renumbers the rows: their rowids become the values of k"),
        "{plan}"
    );
}
