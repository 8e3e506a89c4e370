//! A column's values are stored by its declared type AND its table's STRICT: `ANY` keeps
//! every value as written in a STRICT table and is NUMERIC in another, and the other STRICT
//! types convert like their affinity and refuse what does not fit. A property over random
//! (type, STRICT) before and after and random values ('007', '1e1', 1.0, ' 12 ', blobs,
//! 2^63, NULL, ...), judged against SQLite itself (a scratch database copies the values
//! into the new column and back): wherever the copy changes a value that the copy back does
//! not give back, the plan's step narrows (destructive, stashed); a copy SQLite refuses
//! fails the sync and changes nothing; and in every case sync then rollback gives back every
//! value exactly; with `id` the INTEGER PRIMARY KEY or a plain column (the stash then finds
//! rows by rowid) (48 cases).

mod common;

use common::ok_in;
use proptest::prelude::*;
use rusqlite::Connection;
use rusqlite::types::Value;

const STRICT_TYPES: [&str; 6] = ["INT", "INTEGER", "REAL", "TEXT", "BLOB", "ANY"];
const LOOSE_TYPES: [&str; 8] = [
    "INT", "INTEGER", "REAL", "TEXT", "BLOB", "ANY", "NUMERIC", "",
];

fn values() -> Vec<Value> {
    vec![
        Value::Null,
        Value::Integer(7),
        Value::Integer(9_007_199_254_740_993),
        Value::Integer(i64::MAX),
        Value::Real(1.0),
        Value::Real(1.5),
        Value::Real(9_223_372_036_854_775_808.0),
        Value::Real(0.1 + 0.2),
        Value::Text("007".into()),
        Value::Text("1e1".into()),
        Value::Text(" 12 ".into()),
        Value::Text("7".into()),
        Value::Text("abc".into()),
        Value::Text("9223372036854775808".into()),
        Value::Text("1.5".into()),
        Value::Blob(vec![0, 255]),
        Value::Blob(b"7".to_vec()),
    ]
}

/// A column type, and whether its table is STRICT.
fn storage() -> impl Strategy<Value = (&'static str, bool)> {
    prop_oneof![
        prop::sample::select(STRICT_TYPES.to_vec()).prop_map(|t| (t, true)),
        prop::sample::select(LOOSE_TYPES.to_vec()).prop_map(|t| (t, false)),
    ]
}

/// Half of the cases change only the table's STRICT (a type both allow).
fn case() -> impl Strategy<Value = ((&'static str, bool), (&'static str, bool), Vec<Value>)> {
    let pair = prop_oneof![
        (storage(), storage()),
        (prop::sample::select(STRICT_TYPES.to_vec()), any::<bool>())
            .prop_map(|(t, strict)| ((t, strict), (t, !strict))),
    ];
    (
        pair,
        prop::collection::vec(prop::sample::select(values()), 1..6),
    )
        .prop_map(|((a, b), v)| (a, b, v))
        .prop_filter("a change", |(a, b, _)| a != b)
}

fn create(conn: &Connection, name: &str, (ty, strict): (&str, bool), keyed: bool) {
    let ty = if ty.is_empty() {
        String::new()
    } else {
        format!(" {ty}")
    };
    let strict = if strict { " STRICT" } else { "" };
    conn.execute_batch(&format!(
        "CREATE TABLE {name} (id INTEGER{}, n{ty}){strict}",
        if keyed { " PRIMARY KEY" } else { "" }
    ))
    .unwrap();
}

fn rows(conn: &Connection, table: &str) -> Vec<(i64, Value)> {
    conn.prepare(&format!("SELECT id, n FROM {table} ORDER BY id"))
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

/// What SQLite does: the rows the old column holds (values it refuses left out), the rows
/// the new one would hold (None: the copy fails), and the rows a copy back would give.
type Oracle = (
    Vec<(i64, Value)>,
    Option<Vec<(i64, Value)>>,
    Vec<(i64, Value)>,
);

fn oracle(from: (&str, bool), to: (&str, bool), values: &[Value], keyed: bool) -> Oracle {
    let conn = Connection::open_in_memory().unwrap();
    create(&conn, "a", from, keyed);
    for (i, v) in values.iter().enumerate() {
        let _ = conn.execute(
            "INSERT INTO a VALUES (?1, ?2)",
            rusqlite::params![i as i64, v],
        );
    }
    let held = rows(&conn, "a");
    create(&conn, "b", to, keyed);
    if conn
        .execute_batch("INSERT INTO b SELECT id, n FROM a")
        .is_err()
    {
        return (held, None, Vec::new());
    }
    let copied = rows(&conn, "b");
    create(&conn, "c", from, keyed);
    let back = match conn.execute_batch("INSERT INTO c SELECT id, n FROM b") {
        Ok(()) => rows(&conn, "c"),
        Err(_) => Vec::new(),
    };
    (held, Some(copied), back)
}

fn yaml(version: u32, (ty, strict): (&str, bool), keyed: bool) -> String {
    format!(
        "schemactl: 1\nversion: {version}\ntables:\n  t:\n    columns:\n      id: {{ type: INTEGER, primary_key: {keyed} }}\n      n: {{ type: \"{ty}\" }}\n    strict: {strict}\n"
    )
}

/// `keyed`: `id` is the INTEGER PRIMARY KEY; else a plain column, and the stash finds rows
/// by rowid.
fn run_case(from: (&'static str, bool), to: (&'static str, bool), values: &[Value], keyed: bool) {
    let (held, copied, back) = oracle(from, to, values, keyed);
    let dir = common::empty_project();
    let d = dir.path();
    std::fs::write(d.join("schema/s.yaml"), yaml(1, from, keyed)).unwrap();
    ok_in(d, &["sync", "--yes"]);
    let db = d.join("db.sqlite");
    let conn = Connection::open(&db).unwrap();
    for (id, v) in &held {
        conn.execute("INSERT INTO t VALUES (?1, ?2)", rusqlite::params![id, v])
            .unwrap();
    }
    assert_eq!(
        rows(&conn, "t"),
        held,
        "the old column holds what SQLite says"
    );
    drop(conn);
    std::fs::write(d.join("schema/s.yaml"), yaml(2, to, keyed)).unwrap();
    let plan = ok_in(d, &["plan"]);
    let sync = common::schemactl(
        d,
        &["sync", "--yes", "--allow-destructive", "--ignore-lint"],
    );
    let now = rows(&Connection::open(&db).unwrap(), "t");
    let Some(copied) = copied else {
        assert_eq!(
            sync.status.code(),
            Some(1),
            "SQLite refuses the copy\n{plan}"
        );
        assert_eq!(now, held, "a refused sync changes nothing");
        return;
    };
    assert_eq!(
        sync.status.code(),
        Some(0),
        "{plan}\n{}",
        common::stderr(&sync)
    );
    assert_eq!(now, copied, "the sync copies as SQLite does\n{plan}");
    if copied != held && back != held {
        assert!(
            plan.contains("destructive") && plan.contains("stash for rollback"),
            "{from:?} -> {to:?} changes {held:?} into {copied:?} for good: a narrowing, stashed\n{plan}"
        );
    }
    ok_in(d, &["rollback", "last", "--yes", "--allow-destructive"]);
    assert_eq!(
        rows(&Connection::open(&db).unwrap(), "t"),
        held,
        "{from:?} -> {to:?}: the rollback gives back every value with its type\n{plan}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn a_change_of_type_or_strict_that_changes_values_narrows_and_rolls_back_exactly(
        (from, to, values) in case(), keyed in any::<bool>()
    ) {
        run_case(from, to, &values, keyed);
    }
}

#[test]
fn strict_off_turns_any_numeric_and_the_rollback_gives_the_values_back() {
    let values = [
        Value::Text("007".into()),
        Value::Text("1e1".into()),
        Value::Real(1.0),
    ];
    run_case(("ANY", true), ("ANY", false), &values, true);
    run_case(("ANY", true), ("ANY", false), &values, false);
}
