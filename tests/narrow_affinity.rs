//! A column's values are stored by its declared type AND its table's STRICT: `ANY` keeps
//! every value as written in a STRICT table and is NUMERIC in another, and the other STRICT
//! types convert like their affinity and refuse what does not fit. A property over random
//! (type, STRICT) before and after and random values ('007', '1e1', 1.0, ' 12 ', blobs,
//! 2^63, NULL, +Inf, -Inf, -0.0, the largest and smallest reals, ...), judged against SQLite
//! itself (a scratch database copies the values into the new column and back, row by row):
//! wherever the copy changes a value that the copy back does not give back, either the
//! plan's step narrows (destructive, stashed) and sync then rollback gives back every value
//! exactly, or (a change that is not a narrowing, e.g. REAL to TEXT over +Inf, which
//! becomes 'Inf' for good) the sync is refused before anything changes, naming each such
//! row with its value; a copy SQLite refuses fails the sync and changes nothing; values are
//! compared exactly (a REAL by its bits, so -0.0 is not 0.0); with `id` the INTEGER PRIMARY
//! KEY or a plain column (the stash then finds rows by rowid) (48 cases; and 32 cases of a
//! numeric column, STRICT or not, becoming TEXT over random reals).

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
        Value::Real(f64::INFINITY),
        Value::Real(f64::NEG_INFINITY),
        Value::Real(-0.0),
        Value::Real(f64::MAX),
        Value::Real(f64::MIN_POSITIVE),
        Value::Real(5e-324),
        Value::Real(1.0 / 3.0),
        Value::Real(-1e300),
        Value::Real(f64::NAN),
        Value::Text("Inf".into()),
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

/// The REALs of the pool, and a few more: what a numeric column holds that its text in a
/// TEXT column may not give back.
fn reals() -> Vec<Value> {
    let mut reals: Vec<Value> = values()
        .into_iter()
        .filter(|v| matches!(v, Value::Real(_)))
        .collect();
    reals.extend([
        Value::Real(1e15 + 0.3),
        Value::Real(-f64::MIN_POSITIVE / 3.0),
        Value::Real(123_456_789.123_456_78),
        Value::Integer(-7),
    ]);
    reals
}

/// A column that stores numbers (INTEGER, REAL or NUMERIC affinity, STRICT or not) becoming
/// TEXT (STRICT or not): a change that converts its values but does not narrow.
fn numeric_to_text()
-> impl Strategy<Value = ((&'static str, bool), (&'static str, bool), Vec<Value>)> {
    let from = prop_oneof![
        prop::sample::select(vec!["INT", "INTEGER", "REAL"]).prop_map(|t| (t, true)),
        prop::sample::select(vec!["INT", "INTEGER", "REAL", "NUMERIC", "ANY", "DOUBLE"])
            .prop_map(|t| (t, false)),
    ];
    (
        from,
        any::<bool>(),
        prop::collection::vec(prop::sample::select(reals()), 1..6),
    )
        .prop_map(|(a, strict, v)| (a, ("TEXT", strict), v))
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

/// Rows compared exactly: a REAL by its bits (-0.0 is not 0.0, as `Value`'s `==` says).
fn exact(rows: &[(i64, Value)]) -> Vec<(i64, String)> {
    rows.iter()
        .map(|(id, v)| {
            let shown = match v {
                Value::Real(f) => format!("Real({f:?}, {:#x})", f.to_bits()),
                v => format!("{v:?}"),
            };
            (*id, shown)
        })
        .collect()
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
/// the new one would hold (None: the copy fails), the rows a copy back would give, and the
/// ids of the rows whose value a copy back, row by row, does not give back exactly (or
/// refuses).
type Oracle = (
    Vec<(i64, Value)>,
    Option<Vec<(i64, Value)>>,
    Vec<(i64, Value)>,
    Vec<i64>,
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
        return (held, None, Vec::new(), Vec::new());
    }
    let copied = rows(&conn, "b");
    create(&conn, "c", from, keyed);
    let back = match conn.execute_batch("INSERT INTO c SELECT id, n FROM b") {
        Ok(()) => rows(&conn, "c"),
        Err(_) => Vec::new(),
    };
    create(&conn, "d", from, keyed);
    let lost = held
        .iter()
        .filter(|(id, v)| {
            let back = conn
                .execute("INSERT INTO d SELECT id, n FROM b WHERE id = ?1", [id])
                .ok()
                .and_then(|_| {
                    conn.query_row("SELECT n FROM d WHERE id = ?1", [id], |r| r.get(0))
                        .ok()
                });
            back.is_none_or(|b: Value| exact(&[(*id, b)]) != exact(&[(*id, v.clone())]))
        })
        .map(|(id, _)| *id)
        .collect();
    (held, Some(copied), back, lost)
}

fn yaml(version: u32, (ty, strict): (&str, bool), keyed: bool) -> String {
    format!(
        "schemactl: 1\nversion: {version}\ntables:\n  t:\n    columns:\n      id: {{ type: INTEGER, primary_key: {keyed} }}\n      n: {{ type: \"{ty}\" }}\n    strict: {strict}\n"
    )
}

/// `keyed`: `id` is the INTEGER PRIMARY KEY; else a plain column, and the stash finds rows
/// by rowid.
fn run_case(from: (&'static str, bool), to: (&'static str, bool), values: &[Value], keyed: bool) {
    let (held, copied, back, lost) = oracle(from, to, values, keyed);
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
        exact(&rows(&conn, "t")),
        exact(&held),
        "the old column holds what SQLite says"
    );
    drop(conn);
    std::fs::write(d.join("schema/s.yaml"), yaml(2, to, keyed)).unwrap();
    let plan = ok_in(d, &["plan"]);
    if copied.is_some() && !lost.is_empty() && !plan.contains("stash for rollback") {
        // Not a narrowing, yet some values would not come back: the lint refuses the run
        // before anything changes, naming each such row (by key, or rowid) and its value.
        let sync = common::schemactl(d, &["sync", "--yes", "--allow-destructive"]);
        let out = format!("{}{}", common::stdout(&sync), common::stderr(&sync));
        assert_eq!(
            sync.status.code(),
            Some(1),
            "{from:?} -> {to:?} would lose rows {lost:?} of {held:?} for good: refused\n{plan}\n{out}"
        );
        for id in &lost {
            let key = if keyed {
                format!("id={id}")
            } else {
                let at = held.iter().position(|(i, _)| i == id).unwrap() + 1;
                format!("rowid={at}")
            };
            assert!(out.contains(&key), "the refusal names {key}\n{out}");
        }
        assert_eq!(
            exact(&rows(&Connection::open(&db).unwrap(), "t")),
            exact(&held),
            "a refused sync changes nothing"
        );
        return;
    }
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
        assert_eq!(exact(&now), exact(&held), "a refused sync changes nothing");
        return;
    };
    assert_eq!(
        sync.status.code(),
        Some(0),
        "{plan}\n{}",
        common::stderr(&sync)
    );
    assert_eq!(
        exact(&now),
        exact(&copied),
        "the sync copies as SQLite does\n{plan}"
    );
    if exact(&copied) != exact(&held) && exact(&back) != exact(&held) {
        assert!(
            plan.contains("destructive") && plan.contains("stash for rollback"),
            "{from:?} -> {to:?} changes {held:?} into {copied:?} for good: a narrowing, stashed\n{plan}"
        );
    }
    ok_in(d, &["rollback", "last", "--yes", "--allow-destructive"]);
    assert_eq!(
        exact(&rows(&Connection::open(&db).unwrap(), "t")),
        exact(&held),
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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn a_numeric_column_becoming_text_gives_back_every_real_or_is_refused_naming_the_rows(
        (from, to, values) in numeric_to_text(), keyed in any::<bool>()
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

#[test]
fn real_to_text_over_infinity_is_refused_naming_the_rows_and_finite_reals_are_not() {
    let values = [
        Value::Real(f64::INFINITY),
        Value::Real(0.1 + 0.2),
        Value::Real(f64::NEG_INFINITY),
        Value::Real(-0.0),
    ];
    for from in [
        ("REAL", false),
        ("REAL", true),
        ("NUMERIC", false),
        ("INT", false),
    ] {
        for to in [("TEXT", false), ("TEXT", true)] {
            if from.1 && !to.1 {
                continue;
            }
            run_case(from, to, &values, true);
            run_case(from, to, &values, false);
        }
    }
    // Finite reals come back from their text: the change is neither destructive nor refused.
    let dir = common::empty_project();
    let d = dir.path();
    std::fs::write(d.join("schema/s.yaml"), yaml(1, ("REAL", false), true)).unwrap();
    ok_in(d, &["sync", "--yes"]);
    let conn = Connection::open(d.join("db.sqlite")).unwrap();
    conn.execute_batch("INSERT INTO t VALUES (1, 0.1 + 0.2), (2, 1e300), (3, -0.0), (4, 9e999)")
        .unwrap();
    std::fs::write(d.join("schema/s.yaml"), yaml(2, ("TEXT", false), true)).unwrap();
    let refused = common::schemactl(d, &["sync", "--yes"]);
    let out = format!("{}{}", common::stdout(&refused), common::stderr(&refused));
    assert_eq!(refused.status.code(), Some(1), "{out}");
    assert!(
        out.contains("id=4")
            && !out.contains("id=1")
            && !out.contains("id=2")
            && !out.contains("id=3"),
        "only the +Inf row is named\n{out}"
    );
    conn.execute_batch("DELETE FROM t WHERE id = 4").unwrap();
    let plan = ok_in(d, &["plan"]);
    assert!(plan.contains(", 0 destructive"), "{plan}");
    ok_in(d, &["sync", "--yes"]);
}
