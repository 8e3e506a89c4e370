//! The proof names a row by its key's exact values: keys that differ only after a NUL, by a
//! separator inside a value, or by type (1, 1.0, '1', X'31') are different rows, and a
//! migration that swaps the values of two of them is caught.

use proptest::prelude::*;
use rusqlite::Connection;
use rusqlite::types::Value;

use super::Proof;

/// Runs `sql` between the proof's two halves, in a transaction rolled back at the end.
fn prove(conn: &Connection, sql: &str) -> Result<String, String> {
    conn.execute_batch("BEGIN").unwrap();
    let result = (|| {
        let proof = Proof::prepare(conn, &[sql]).map_err(|e| e.to_string())?;
        conn.execute_batch(sql).map_err(|e| e.to_string())?;
        proof.verify(conn).map_err(|e| e.to_string())
    })();
    conn.execute_batch("ROLLBACK").unwrap();
    result
}

/// Keys with the look-alikes a row's name could confuse: texts equal up to a NUL, texts
/// holding the separator or a quote, 1 / 1.5 / '1' / X'31', blobs with NULs.
fn key() -> impl Strategy<Value = Value> {
    prop_oneof![
        (1i64..3).prop_map(Value::Integer),
        Just(Value::Real(1.5)),
        proptest::sample::select(vec![
            "x", "x\0A", "x\0B", "\0", "\0\0", ",", "x',1", "'", "1"
        ])
        .prop_map(|t| Value::Text(t.to_string())),
        proptest::sample::select(vec![&b"x\0A"[..], b"x\0B", b"x", b"1"])
            .prop_map(|b| Value::Blob(b.to_vec())),
    ]
}

/// Values, as varied.
fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        (-2i64..3).prop_map(Value::Integer),
        proptest::sample::select(vec![1.0, 1.5, -2.0]).prop_map(Value::Real),
        proptest::collection::vec(
            proptest::sample::select(vec!["x", "\0", ",", "'", "1"]),
            0..4
        )
        .prop_map(|p| Value::Text(p.concat())),
        proptest::collection::vec(proptest::sample::select(vec![0u8, b'x', b',', b'1']), 0..3)
            .prop_map(Value::Blob),
    ]
}

/// A literal that writes `v` exactly, for the migration's SQL (built here, not by the code
/// under test).
fn lit(v: &Value) -> String {
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02X}")).collect::<String>();
    match v {
        Value::Null => "NULL".into(),
        Value::Integer(i) => i.to_string(),
        Value::Real(f) => format!("{f:?}"),
        Value::Text(t) => format!("CAST(X'{}' AS TEXT)", hex(t.as_bytes())),
        Value::Blob(b) => format!("X'{}'", hex(b)),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Rows keyed by (a, b) in a WITHOUT ROWID table and by a single key column in another:
    /// the faithful rebuild is proven, and swapping the values of any two rows is caught.
    #[test]
    fn swapping_the_values_of_any_two_rows_is_caught(
        rows in proptest::collection::vec((key(), key(), value()), 2..7),
        composite in any::<bool>(),
    ) {
        let conn = Connection::open_in_memory().unwrap();
        let (create, key) = if composite {
            ("CREATE TABLE t (a NOT NULL, b NOT NULL, v, PRIMARY KEY (a, b)) WITHOUT ROWID", "a, b")
        } else {
            ("CREATE TABLE t (a PRIMARY KEY NOT NULL, b, v) WITHOUT ROWID", "a")
        };
        conn.execute_batch(create).unwrap();
        for (a, b, v) in &rows {
            conn.execute("INSERT OR IGNORE INTO t (a, b, v) VALUES (?1, ?2, ?3)", [a, b, v]).unwrap();
        }
        let kept: Vec<(Value, Value, Value)> = conn
            .prepare("SELECT a, b, v FROM t").unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap()
            .collect::<Result<_, _>>().unwrap();
        let at = |r: &(Value, Value, Value)| {
            if composite {
                format!("a IS {} AND b IS {}", lit(&r.0), lit(&r.1))
            } else {
                format!("a IS {}", lit(&r.0))
            }
        };
        let rebuild = |change: &str| format!(
            "CREATE TABLE _new_t {};
             INSERT INTO _new_t (a, b, v) SELECT a, b, v FROM t;
             {change}
             DROP TABLE t;
             ALTER TABLE _new_t RENAME TO t;",
            &create[create.find('(').unwrap()..]
        );
        let line = prove(&conn, &rebuild("")).unwrap();
        prop_assert_eq!(line, format!("rows: proven row by row (1 table(s), {} row(s))", kept.len()));
        // Every pair of rows whose values differ.
        for i in 0..kept.len() {
            for j in i + 1..kept.len() {
                if kept[i].2 == kept[j].2 {
                    continue;
                }
                let swap = format!(
                    "UPDATE _new_t SET v = CASE WHEN {ai} THEN {vj} WHEN {aj} THEN {vi} ELSE v END;",
                    ai = at(&kept[i]), aj = at(&kept[j]), vi = lit(&kept[i].2), vj = lit(&kept[j].2)
                );
                let e = prove(&conn, &rebuild(&swap)).unwrap_err();
                prop_assert!(
                    e.starts_with("row proof: table \"t\": column \"v\" does not hold the values the migrations keep; rows by"),
                    "{} ({} / key {})", e, swap, key
                );
            }
        }
    }
}
