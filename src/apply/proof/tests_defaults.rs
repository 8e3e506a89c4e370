//! A new column's default, as SQLite stores it: whatever constant expression and declared
//! type, a column added by `ALTER TABLE ADD COLUMN` or by a rebuild is proven (SQLite reads
//! `DEFAULT 1e3` as '1e3' in the rows ADD COLUMN extends and as '1000.0' in a row inserted),
//! and a value rewritten behind the migration's back is still caught.

use proptest::prelude::*;
use rusqlite::Connection;

use super::Proof;
use crate::sql::quote_literal;

const T: &str = "CREATE TABLE t (id TEXT PRIMARY KEY, a TEXT, b INTEGER);
    INSERT INTO t VALUES ('x', 'one', 1), ('y', NULL, 2), ('z', 'three', 3);";

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

/// A literal SQLite takes as a bare DEFAULT.
fn literal() -> impl Strategy<Value = String> {
    let words = prop::sample::select(vec![
        "",
        "007",
        "1e3",
        " 12 ",
        "abc",
        "0x10",
        "1.0",
        "-0",
        "3.5abc",
        "9223372036854775808",
        "it's",
    ]);
    prop_oneof![
        (prop::sample::select(vec!["", "+", "-"]), any::<i64>())
            .prop_map(|(s, i)| format!("{s}{}", i.unsigned_abs())),
        (prop::sample::select(vec!["", "+", "-"]), any::<u32>())
            .prop_map(|(s, i)| format!("{s}0x{i:x}")),
        (
            prop::sample::select(vec!["", "+", "-"]),
            0u32..1000,
            prop::sample::select(vec!["", "0", "5", "50", "125"]),
            prop::sample::select(vec!["", "e3", "E-2", "e+1", "e308", "e400"]),
        )
            .prop_map(|(s, m, f, e)| format!("{s}{m}.{f}{e}")),
        (0u32..100, prop::sample::select(vec!["e3", "e0", "E10"]))
            .prop_map(|(m, e)| format!("{m}{e}")),
        words.prop_map(quote_literal),
        prop::collection::vec(any::<u8>(), 0..4).prop_map(|b| format!(
            "x'{}'",
            b.iter().map(|x| format!("{x:02x}")).collect::<String>()
        )),
        prop::sample::select(vec!["NULL", "TRUE", "FALSE", ".5", "-0.0"]).prop_map(String::from),
    ]
}

/// A constant default: a literal, or an expression of literals in parentheses.
fn default() -> impl Strategy<Value = String> {
    prop_oneof![
        literal(),
        (
            literal(),
            prop::sample::select(vec!["||", "+", "*", "-", "AND"]),
            literal()
        )
            .prop_map(|(a, op, b)| format!("({a} {op} {b})")),
        (
            literal(),
            prop::sample::select(vec!["INTEGER", "TEXT", "REAL", "NUMERIC", "BLOB"])
        )
            .prop_map(|(a, ty)| format!("(CAST({a} AS {ty}))")),
    ]
}

fn declared() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "TEXT",
        "VARCHAR(10)",
        "INTEGER",
        "INT",
        "REAL",
        "DOUBLE",
        "NUMERIC",
        "DECIMAL(10,2)",
        "BOOLEAN",
        "DATETIME",
        "BLOB",
        "",
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn a_constant_default_is_proven_whichever_way_sqlite_stores_it(
        d in default(),
        ty in declared(),
    ) {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(T).unwrap();
        let column = format!("c {ty} DEFAULT {d}");
        // SQLite may refuse the default (a value too large, a non-constant on rows): then
        // there is no migration to prove.
        let added = format!("ALTER TABLE t ADD COLUMN {column}");
        let runs = conn.execute_batch("BEGIN").is_ok()
            && conn.execute_batch(&added).is_ok();
        conn.execute_batch("ROLLBACK").unwrap();
        if runs {
            let r = prove(&conn, &added);
            prop_assert!(r.is_ok(), "{added}: {r:?}");
        }
        let rebuild = |extra: &str| format!(
            "CREATE TABLE _schemactl_new_t (id TEXT PRIMARY KEY, a TEXT, b INTEGER, {column});{extra}
             INSERT INTO _schemactl_new_t (rowid, id, a, b) SELECT rowid, id, a, b FROM t;
             DROP TABLE t; ALTER TABLE _schemactl_new_t RENAME TO t;"
        );
        let faithful = rebuild("");
        let runs = conn.execute_batch("BEGIN").is_ok()
            && conn.execute_batch(&faithful).is_ok();
        conn.execute_batch("ROLLBACK").unwrap();
        if !runs {
            return Ok(());
        }
        let r = prove(&conn, &faithful);
        prop_assert!(r.is_ok(), "{faithful}: {r:?}");
        // A trigger on the new table rewrites the new column as the copy runs: a blob no
        // default here makes.
        let rewritten = rebuild(
            "CREATE TRIGGER tr AFTER INSERT ON _schemactl_new_t WHEN new.b = 3
               BEGIN UPDATE _schemactl_new_t SET c = x'5a5a5a5a5a5a5a5a5a' WHERE rowid = new.rowid; END;",
        );
        let e = prove(&conn, &rewritten).unwrap_err();
        prop_assert!(
            e.contains("new column \"c\" does not hold its default") && e.ends_with("rows by rowid: 3"),
            "{rewritten}: {e}"
        );
    }
}

/// The hostile case: `DEFAULT 1e3` on a TEXT column added to a table with rows, which SQLite
/// reads as '1e3' there (and stores as '1000.0' in a row inserted).
#[test]
fn a_text_column_added_with_a_float_default_is_proven() {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(T).unwrap();
    for d in ["1e3", "-0.0", "1.50", "+5", "0x10", "-0"] {
        let sql = format!("ALTER TABLE t ADD COLUMN c TEXT DEFAULT {d}");
        assert_eq!(
            prove(&conn, &sql),
            Ok("rows: proven row by row (1 table(s), 3 row(s))".to_string()),
            "{sql}"
        );
    }
    let sql = "CREATE TABLE _schemactl_new_t (id TEXT PRIMARY KEY, a TEXT, b INTEGER, c TEXT DEFAULT 1e3);
         CREATE TRIGGER tr AFTER INSERT ON _schemactl_new_t WHEN new.b = 3
           BEGIN UPDATE _schemactl_new_t SET c = '1000' WHERE rowid = new.rowid; END;
         INSERT INTO _schemactl_new_t (rowid, id, a, b) SELECT rowid, id, a, b FROM t;
         DROP TRIGGER tr; DROP TABLE t; ALTER TABLE _schemactl_new_t RENAME TO t;";
    assert_eq!(
        prove(&conn, sql),
        Err("row proof: table \"t\": new column \"c\" does not hold its default '1000.0' (or '1e3'); rows by rowid: 3".to_string())
    );
}
