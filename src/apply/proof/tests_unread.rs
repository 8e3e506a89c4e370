//! A table copied out to scratch tables, dropped, made again and filled back is held to its
//! rows whatever SQL fills it back: the proof follows a fill it can read (a plain `INSERT ...
//! SELECT`, a `WITH ...` prefix, a view, each name in any spelling SQLite accepts), and refuses
//! one it cannot (a trigger the migration fires, a view's INSTEAD OF trigger): never "proven",
//! never "only dropped", when a value comes back rewritten.

use proptest::prelude::*;
use rusqlite::Connection;

use super::Proof;

/// Runs `sql` between the proof's two halves, in a transaction rolled back at the end. The
/// SQL itself must run: a test whose SQL SQLite refuses proves nothing.
fn prove(conn: &Connection, sql: &str) -> Result<String, String> {
    conn.execute_batch("BEGIN").unwrap();
    let result = (|| {
        let proof = Proof::prepare(conn, &[sql]).map_err(|e| e.to_string())?;
        conn.execute_batch(sql)
            .unwrap_or_else(|e| panic!("the test's SQL runs: {e}\n{sql}"));
        proof.verify(conn).map_err(|e| e.to_string())
    })();
    conn.execute_batch("ROLLBACK").unwrap();
    result
}

/// The values of `a.v` after `sql`, in a transaction rolled back at the end.
fn values_after(conn: &Connection, sql: &str) -> Vec<String> {
    conn.execute_batch("BEGIN").unwrap();
    conn.execute_batch(sql).unwrap();
    let values = conn
        .prepare("SELECT v FROM main.a ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<Vec<String>>>()
        .unwrap();
    conn.execute_batch("ROLLBACK").unwrap();
    values
}

fn db() -> Connection {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(
        "CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT, w INTEGER);
         INSERT INTO a VALUES (1, 'a1', 1), (2, 'a2', 2), (3, 'a3', 3);
         CREATE TABLE b (id INTEGER PRIMARY KEY, v TEXT);
         INSERT INTO b VALUES (1, 'b1');",
    )
    .unwrap();
    conn
}

/// `name` in one of the spellings SQLite reads as a name: 0 a word, 1 "dq", 2 [br], 3 `bt`,
/// 4 'str'.
fn spell(name: &str, style: usize) -> String {
    match style % 5 {
        0 => name.to_string(),
        1 => format!("\"{name}\""),
        2 => format!("[{name}]"),
        3 => format!("`{name}`"),
        _ => format!("'{name}'"),
    }
}

const NEW: &str = "(id INTEGER PRIMARY KEY, v TEXT, w INTEGER)";

/// How the rows come back into the new `a`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fill {
    Plain,
    With,
    View,
    /// Rows inserted with their keys alone, the values set by an `UPDATE ... FROM` the scratch.
    Update,
    /// An INSERT in the body of a trigger the migration fires (`UPDATE b`).
    Trigger,
    /// An INSERT into a view whose INSTEAD OF trigger inserts into `a`.
    InsteadOf,
}

impl Fill {
    fn readable(self) -> bool {
        matches!(self, Fill::Plain | Fill::With | Fill::View | Fill::Update)
    }
}

/// The copy-out, drop, create anew, fill-back migration: `hops` scratch tables (each TEMP or
/// not, created AS SELECT or created then filled), `fill`, every name spelled by the next of
/// `styles`, and the value copied back `upper(v)` when `rewrite`.
fn script(hops: &[(bool, bool)], fill: Fill, styles: &[usize], rewrite: bool) -> String {
    // A CTE's name is never a string.
    let x = spell("x", styles.first().copied().unwrap_or(0) % 4);
    let mut style = styles.iter().cycle().copied();
    let mut n = |name: &str| spell(name, style.next().unwrap_or(0));
    let mut sql = String::new();
    let mut from = "a".to_string();
    let mut temp_any = false;
    for (i, &(temp, as_select)) in hops.iter().enumerate() {
        let s = format!("s{i}");
        let t = if temp { "TEMP " } else { "" };
        temp_any |= temp;
        if as_select {
            sql.push_str(&format!(
                "CREATE {t}TABLE {} AS SELECT * FROM {};\n",
                n(&s),
                n(&from)
            ));
        } else {
            sql.push_str(&format!("CREATE {t}TABLE {} {NEW};\n", n(&s)));
            sql.push_str(&format!(
                "INSERT INTO {} SELECT * FROM {};\n",
                n(&s),
                n(&from)
            ));
        }
        from = s;
    }
    sql.push_str(&format!(
        "DROP TABLE {};\nCREATE TABLE {} {NEW};\n",
        n("a"),
        n("a")
    ));
    let v = if rewrite { "upper(v)" } else { "v" };
    // A view over a TEMP table must be TEMP itself.
    let view = if temp_any { "TEMP VIEW" } else { "VIEW" };
    let (a, s) = (n("a"), n(&from));
    sql.push_str(&match fill {
        Fill::Plain => format!("INSERT INTO {a} SELECT id, {v}, w FROM {s};\n"),
        Fill::With => {
            format!("WITH {x} AS (SELECT id, {v} AS v, w FROM {s}) INSERT INTO {a} SELECT * FROM {x};\n")
        }
        Fill::View => {
            let sv = n("sv");
            format!(
                "CREATE {view} {sv} AS SELECT id, {v} AS v, w FROM {s};\nINSERT INTO {a} SELECT * FROM {};\nDROP VIEW {};\n",
                n("sv"),
                n("sv")
            )
        }
        Fill::Update => format!(
            "INSERT INTO {a} (id, w) VALUES (1, 1), (2, 2), (3, 3);\nUPDATE {} SET v = q.v2 FROM (SELECT id AS k, {v} AS v2 FROM {s}) AS q WHERE q.k = id;\n",
            n("a")
        ),
        Fill::Trigger => format!(
            "CREATE TEMP TRIGGER tr AFTER UPDATE ON {} BEGIN INSERT INTO {a} SELECT id, {v}, w FROM {s}; END;\nUPDATE {} SET v = v;\nDROP TRIGGER tr;\n",
            n("b"),
            n("b")
        ),
        Fill::InsteadOf => format!(
            "CREATE TEMP VIEW {} AS SELECT id, v, w FROM {s} WHERE 0;\nCREATE TEMP TRIGGER tr INSTEAD OF INSERT ON {} BEGIN INSERT INTO {a} VALUES (NEW.id, NEW.v, NEW.w); END;\nINSERT INTO {} SELECT id, {v}, w FROM {s};\nDROP TRIGGER tr;\nDROP VIEW {};\n",
            n("iv"),
            n("iv"),
            n("iv"),
            n("iv")
        ),
    });
    for i in (0..hops.len()).rev() {
        sql.push_str(&format!("DROP TABLE {};\n", n(&format!("s{i}"))));
    }
    sql
}

fn fill() -> impl Strategy<Value = Fill> {
    prop_oneof![
        Just(Fill::Plain),
        Just(Fill::With),
        Just(Fill::View),
        Just(Fill::Update),
        Just(Fill::Trigger),
        Just(Fill::InsteadOf),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever the hops, the spellings and the form of the fill back: a rewritten value is
    /// never proven (the proof refuses), and a faithful copy in a form the proof reads is
    /// proven, `a` with its 3 rows.
    #[test]
    fn a_refill_is_proven_when_faithful_and_readable_and_refused_when_rewritten(
        hops in proptest::collection::vec((any::<bool>(), any::<bool>()), 1..3),
        fill in fill(),
        styles in proptest::collection::vec(0..5usize, 1..12),
        rewrite in any::<bool>(),
    ) {
        let conn = db();
        let sql = script(&hops, fill, &styles, rewrite);
        let values = values_after(&conn, &sql);
        let expected = if rewrite { ["A1", "A2", "A3"] } else { ["a1", "a2", "a3"] };
        prop_assert_eq!(&values, &expected, "{}", sql);
        let got = prove(&conn, &sql);
        if rewrite {
            prop_assert!(got.is_err(), "a rewritten value passed: {:?}\n{}", got, sql);
            let e = got.unwrap_err();
            prop_assert!(e.starts_with("row proof: table \"a\""), "{}\n{}", e, sql);
        } else if fill.readable() {
            let line = got.map_err(|e| TestCaseError::fail(format!("{e}\n{sql}")))?;
            prop_assert!(line.contains("(1 table(s), 3 row(s))") && !line.contains("not proven"), "{}\n{}", line, sql);
        } else {
            // A fill it cannot read is refused even when faithful: it fails closed.
            let e = got.err().unwrap_or_default();
            prop_assert!(e.contains("filled by SQL the proof cannot follow"), "{}\n{}", e, sql);
        }
    }
}

#[test]
fn each_fill_of_the_hostile_report_is_refused_when_it_rewrites() {
    let conn = db();
    let new = format!("DROP TABLE a; CREATE TABLE a {NEW};");
    for (sql, refusal) in [
        (
            format!(
                "CREATE TABLE s AS SELECT * FROM a; CREATE VIEW sv AS SELECT id, upper(v) AS v, w FROM s; {new} INSERT INTO a SELECT * FROM sv; DROP VIEW sv; DROP TABLE s;"
            ),
            "column \"v\" does not hold the values",
        ),
        (
            format!(
                "CREATE TEMP TABLE s AS SELECT * FROM a; CREATE TEMP VIEW sv AS SELECT id, upper(v) AS v, w FROM s; {new} INSERT INTO a SELECT * FROM sv; DROP TABLE s;"
            ),
            "column \"v\" does not hold the values",
        ),
        (
            format!(
                "CREATE TABLE s AS SELECT * FROM a; {new} WITH x AS (SELECT id, upper(v), w FROM s) INSERT INTO a SELECT * FROM x; DROP TABLE s;"
            ),
            "column \"v\" does not hold the values",
        ),
        (
            format!(
                "CREATE TABLE s AS SELECT * FROM a; {new} CREATE TEMP TRIGGER tr AFTER UPDATE ON b BEGIN INSERT INTO a SELECT id, upper(v), w FROM s; END; UPDATE b SET v = v; DROP TABLE s;"
            ),
            "(\"a\": a trigger on \"b\" writes it)",
        ),
        (
            format!(
                "CREATE TABLE s AS SELECT * FROM a; {new} INSERT INTO a SELECT id, upper(v), w FROM 's'; DROP TABLE s;"
            ),
            "column \"v\" does not hold the values",
        ),
        (
            format!(
                "CREATE TABLE 's' AS SELECT * FROM 'a'; CREATE TABLE 't' AS SELECT * FROM 's'; DROP TABLE 'a'; CREATE TABLE 'a' {NEW}; INSERT INTO 'a' SELECT id, upper(v), w FROM 't'; DROP TABLE 't'; DROP TABLE 's';"
            ),
            "column \"v\" does not hold the values",
        ),
    ] {
        let e = prove(&conn, &sql).unwrap_err();
        assert!(
            e.starts_with("row proof: table \"a\": ") && e.contains(refusal),
            "{sql}: {e}"
        );
    }
}

#[test]
fn a_fill_through_a_view_the_database_holds_is_followed() {
    let conn = db();
    // SQLite resolves a view's tables when it is used: the scratch comes with the migration.
    conn.execute_batch(
        "CREATE VIEW up AS SELECT id, upper(v) AS v, w FROM s; CREATE VIEW same AS SELECT * FROM s;",
    )
    .unwrap();
    let new = format!("DROP TABLE a; CREATE TABLE a {NEW};");
    let copy = "CREATE TABLE s AS SELECT * FROM a;";
    let e = prove(
        &conn,
        &format!("{copy} {new} INSERT INTO a SELECT * FROM up; DROP TABLE s;"),
    )
    .unwrap_err();
    assert!(e.contains("column \"v\" does not hold the values"), "{e}");
    let line = prove(
        &conn,
        &format!("{copy} {new} INSERT INTO a SELECT * FROM same; DROP TABLE s;"),
    )
    .unwrap();
    assert!(line.contains("(1 table(s), 3 row(s))"), "{line}");
}

#[test]
fn a_drop_with_no_fill_stays_the_destructive_gates() {
    // Nothing written into the new table: only dropped, as before.
    let conn = db();
    let line = prove(&conn, &format!("DROP TABLE a; CREATE TABLE a {NEW};")).unwrap();
    assert!(line.contains("(0 table(s), 0 row(s))"), "{line}");
    // A trigger writing another table the migration created takes no dropped table's place.
    let line = prove(
        &conn,
        "CREATE TABLE log (x); CREATE TEMP TRIGGER tr AFTER UPDATE ON b BEGIN INSERT INTO log VALUES (NEW.v); END; UPDATE b SET v = v;",
    )
    .unwrap();
    assert!(!line.contains("\"a\""), "{line}");
}

#[test]
fn a_copy_back_by_update_is_followed() {
    let conn = db();
    let base = format!(
        "CREATE TABLE s AS SELECT * FROM a; DROP TABLE a; CREATE TABLE a {NEW}; INSERT INTO a (id, w) VALUES (1, 1), (2, 2), (3, 3);"
    );
    let e = prove(
        &conn,
        &format!(
            "{base} UPDATE a SET v = (SELECT upper(v) FROM 's' WHERE s.id = a.id); DROP TABLE s;"
        ),
    )
    .unwrap_err();
    assert!(e.contains("column \"v\" does not hold the values"), "{e}");
    let line = prove(
        &conn,
        &format!("{base} UPDATE a SET v = (SELECT v FROM s WHERE s.id = a.id); DROP TABLE s;"),
    )
    .unwrap();
    assert!(line.contains("(1 table(s), 3 row(s))"), "{line}");
}
