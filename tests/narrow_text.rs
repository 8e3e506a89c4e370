//! A column that keeps every value as it is written (typeless, BLOB, or ANY in a STRICT
//! table) moved to TEXT turns 7 into '7', and no affinity of the old type turns it back: the
//! change narrows. It is destructive (the plan says so, applying needs --allow-destructive),
//! its values are stashed, and the rollback gives each row its value back with its type
//! (7 integer, 3.5 real), leaving values written since as written. A property over random
//! values of every storage class and random writes after the migration (32 cases).

mod common;

use common::{fails_in, ok_in};
use proptest::prelude::*;
use rusqlite::Connection;
use rusqlite::types::Value;

#[derive(Debug, Clone, Copy)]
enum From {
    Typeless,
    Blob,
    StrictAny,
}

fn value(blobs: bool) -> BoxedStrategy<Value> {
    let mut options = vec![
        Just(Value::Null).boxed(),
        (-1000i64..1000).prop_map(Value::Integer).boxed(),
        (-100i32..100)
            .prop_map(|n| Value::Real(n as f64 / 4.0))
            .boxed(),
        "[a-z0-9.]{0,4}".prop_map(Value::Text).boxed(),
    ];
    if blobs {
        options.push(
            prop::collection::vec(any::<u8>(), 0..3)
                .prop_map(Value::Blob)
                .boxed(),
        );
    }
    prop::strategy::Union::new(options).boxed()
}

fn case() -> impl Strategy<Value = (From, Vec<Value>, Vec<(usize, Value)>)> {
    prop_oneof![
        Just(From::Typeless),
        Just(From::Blob),
        Just(From::StrictAny)
    ]
    .prop_flat_map(|from| {
        let blobs = !matches!(from, From::StrictAny);
        (
            Just(from),
            prop::collection::vec(value(blobs), 1..6),
            prop::collection::vec((0usize..6, value(blobs)), 0..4),
        )
    })
}

fn rows(conn: &Connection) -> Vec<(i64, Value)> {
    conn.prepare("SELECT id, n FROM t ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

fn run_case(from: From, values: &[Value], writes: &[(usize, Value)]) {
    let dir = common::empty_project();
    let d = dir.path();
    let (ty, strict) = match from {
        From::Typeless => ("\"\"", false),
        From::Blob => ("BLOB", false),
        From::StrictAny => ("ANY", true),
    };
    let yaml = |version: u32, ty: &str| {
        format!(
            "schemactl: 1\nversion: {version}\ntables:\n  t:\n    columns:\n      id: {{ type: INTEGER, primary_key: true }}\n      n: {{ type: {ty} }}\n    strict: {strict}\n"
        )
    };
    std::fs::write(d.join("schema/s.yaml"), yaml(1, ty)).unwrap();
    ok_in(d, &["plan", "--write", "init"]);
    ok_in(d, &["apply", "--yes"]);
    let db = d.join("db.sqlite");
    let conn = Connection::open(&db).unwrap();
    for (i, v) in values.iter().enumerate() {
        conn.execute(
            "INSERT INTO t VALUES (?1, ?2)",
            rusqlite::params![i as i64, v],
        )
        .unwrap();
    }
    let mut expected = rows(&conn);
    drop(conn);
    std::fs::write(d.join("schema/s.yaml"), yaml(2, "TEXT")).unwrap();
    let plan = ok_in(d, &["plan", "--write", "to_text"]);
    assert!(plan.contains("destructive"), "{plan}");
    // Destructive: gated.
    let err = fails_in(d, &["apply", "--yes"], 1);
    assert!(err.contains("--allow-destructive"), "{err}");
    ok_in(d, &["apply", "--yes", "--allow-destructive"]);
    // Written since, as TEXT: kept as written by the rollback.
    let conn = Connection::open(&db).unwrap();
    let original = expected.clone();
    let converted = rows(&conn);
    for (i, v) in writes {
        let id = (*i % values.len()) as i64;
        let read = |conn: &Connection| -> Value {
            conn.query_row("SELECT n FROM t WHERE id = ?1", [id], |r| r.get(0))
                .unwrap()
        };
        conn.execute(
            "UPDATE t SET n = ?1 WHERE id = ?2",
            rusqlite::params![v, id],
        )
        .unwrap();
        let now = read(&conn);
        // A row holding what the migration made of its value gets its original back (the
        // stash cannot tell a write of that same value); else the old column keeps the
        // value as the TEXT column stored it.
        expected[id as usize].1 = if now == converted[id as usize].1 {
            original[id as usize].1.clone()
        } else {
            now
        };
    }
    drop(conn);
    ok_in(d, &["rollback", "V2", "--yes"]);
    let conn = Connection::open(&db).unwrap();
    assert_eq!(
        rows(&conn),
        expected,
        "values and their types after the rollback"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn a_keep_as_written_column_moved_to_text_comes_back_with_its_types((from, values, writes) in case()) {
        run_case(from, &values, &writes);
    }
}

#[test]
fn typeless_and_strict_any_to_text_give_numbers_back_as_numbers() {
    let values = [
        Value::Integer(7),
        Value::Real(3.5),
        Value::Text("txt".into()),
    ];
    run_case(From::Typeless, &values, &[]);
    run_case(From::StrictAny, &values, &[(2, Value::Integer(9))]);
}
