//! The gate's estimate follows renames across the batch: a drop is counted on the live table
//! whose rows its name holds then, as the driver's recount finds them.

use proptest::prelude::*;
use rusqlite::Connection;

use super::estimate;

/// Tables t0.. with i + 1 rows each.
fn db(n: usize) -> Connection {
    let conn = Connection::open_in_memory().unwrap();
    for i in 0..n {
        conn.execute_batch(&format!(
            "CREATE TABLE t{i} (id INTEGER PRIMARY KEY, v TEXT);
             WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r WHERE x < {})
             INSERT INTO t{i} (id, v) SELECT x, 'v' || x FROM r;",
            i + 1
        ))
        .unwrap();
    }
    conn
}

#[test]
fn a_drop_of_a_name_a_table_was_renamed_to_counts_that_tables_rows() {
    let conn = db(2);
    conn.execute_batch("DELETE FROM t1").unwrap();
    let got = estimate(
        &conn,
        &[
            "DROP TABLE t1; ALTER TABLE t0 RENAME TO t1;",
            "DROP TABLE t1; CREATE TABLE t0 (x);",
        ],
    )
    .unwrap();
    let rows: Vec<Vec<(String, u64)>> = got
        .iter()
        .map(|m| {
            m.iter()
                .map(|d| (d.dropped.table.clone(), d.rows))
                .collect()
        })
        .collect();
    assert_eq!(
        rows,
        [vec![("t1".to_string(), 0)], vec![("t1".to_string(), 1)]]
    );
}

/// Each drop of `sql` on an empty database: its table as named, and whether it is TEMP.
fn temps(sql: &[&str]) -> Vec<Vec<(String, bool)>> {
    let conn = Connection::open_in_memory().unwrap();
    estimate(&conn, sql)
        .unwrap()
        .into_iter()
        .map(|m| m.into_iter().map(|d| (d.dropped.table, d.temp)).collect())
        .collect()
}

#[test]
fn a_drop_is_temp_exactly_when_the_batch_made_that_temp_table() {
    let got = temps(&[
        "CREATE TEMP TABLE n AS SELECT 1; DROP TABLE n; DROP TABLE IF EXISTS n;",
        "CREATE TEMPORARY TABLE \"Patterns\" (x); DROP TABLE main.patterns; \
         ALTER TABLE patterns RENAME TO p2; DROP TABLE patterns; DROP TABLE P2;",
        "CREATE TABLE temp.s (x); ALTER TABLE s DROP COLUMN x; DROP TABLE temp.s; DROP TABLE s;",
    ]);
    let want = |v: &[(&str, bool)]| -> Vec<(String, bool)> {
        v.iter().map(|(t, b)| (t.to_string(), *b)).collect()
    };
    assert_eq!(
        got,
        vec![
            want(&[("n", true), ("n", false)]),
            want(&[("patterns", false), ("patterns", false), ("P2", true)]),
            want(&[("s", true), ("s", true), ("s", false)]),
        ]
    );
}

#[test]
fn a_temp_table_made_in_one_migration_is_temp_in_the_next() {
    assert_eq!(
        temps(&["CREATE TEMP TABLE n (x);", "DROP TABLE n;", "DROP TABLE n;"]),
        vec![
            vec![],
            vec![("n".to_string(), true)],
            vec![("n".to_string(), false)]
        ]
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Whatever renames, drops and re-creations come before, the estimate of every drop is
    /// the number of rows the table under that name holds when the drop runs (counted by
    /// running the statements one at a time on a copy).
    #[test]
    fn every_drop_is_counted_where_its_rows_are(
        ops in proptest::collection::vec((0..3usize, 0..4usize, 0..4usize), 1..10),
    ) {
        let conn = db(3);
        // Names n0..n3 over t0..t2 and fresh ones; statements that SQLite refuses are left out.
        let names = ["t0", "t1", "t2", "u0"];
        let mut kept = Vec::new();
        let mut truth = Vec::new();
        conn.execute_batch("BEGIN").unwrap();
        for (op, a, b) in ops {
            let stmt = match op {
                0 => format!("ALTER TABLE {} RENAME TO {};", names[a], names[b]),
                1 => format!("DROP TABLE {};", names[a]),
                _ => format!("CREATE TABLE {} (id INTEGER PRIMARY KEY, v TEXT);", names[a]),
            };
            let count = (op == 1).then(|| {
                conn.query_row(&format!("SELECT count(*) FROM {}", names[a]), [], |r| r.get::<_, i64>(0)).ok()
            }).flatten();
            if conn.execute_batch(&stmt).is_ok() {
                if let Some(n) = count {
                    truth.push(n as u64);
                }
                kept.push(stmt);
            }
        }
        conn.execute_batch("ROLLBACK").unwrap();
        let sql = kept.concat();
        let got = estimate(&conn, &[&sql]).unwrap();
        let estimated: Vec<u64> = got[0].iter().map(|d| d.rows).collect();
        prop_assert_eq!(estimated, truth, "{}", sql);
    }

    /// With tables the batch creates and fills from others (`CREATE TABLE x AS SELECT`,
    /// `INSERT INTO x SELECT`) among the renames and drops, a drop is estimated to lose rows
    /// exactly when the table under that name holds rows when the drop runs: never "empty"
    /// (no gate) for a table that holds rows.
    #[test]
    fn a_drop_of_a_filled_table_is_never_estimated_empty(
        ops in proptest::collection::vec((0..5usize, 0..5usize, 0..5usize), 1..12),
    ) {
        let conn = db(3);
        let names = ["t0", "t1", "t2", "u0", "u1"];
        let mut kept = Vec::new();
        let mut truth = Vec::new();
        conn.execute_batch("BEGIN").unwrap();
        for (op, a, b) in ops {
            let (x, y) = (names[a], names[b]);
            let stmt = match op {
                0 => format!("ALTER TABLE {x} RENAME TO {y};"),
                1 => format!("DROP TABLE {x};"),
                2 => format!("CREATE TABLE {x} (id INTEGER PRIMARY KEY, v TEXT);"),
                3 => format!("CREATE TABLE {x} AS SELECT * FROM {y};"),
                _ => format!("INSERT INTO {x} SELECT * FROM {y};"),
            };
            let count = (op == 1).then(|| {
                conn.query_row(&format!("SELECT count(*) FROM {x}"), [], |r| r.get::<_, i64>(0)).ok()
            }).flatten();
            if conn.execute_batch(&stmt).is_ok() {
                if let Some(n) = count {
                    truth.push(n > 0);
                }
                kept.push(stmt);
            }
        }
        conn.execute_batch("ROLLBACK").unwrap();
        let sql = kept.concat();
        let got = estimate(&conn, &[&sql]).unwrap();
        let estimated: Vec<bool> = got[0].iter().map(|d| d.rows > 0).collect();
        prop_assert_eq!(estimated, truth, "{}", sql);
    }
}

#[test]
fn a_table_created_and_filled_then_dropped_holds_the_rows_it_was_filled_with() {
    let conn = db(3);
    for sql in [
        "CREATE TABLE c AS SELECT * FROM t2; DROP TABLE c;",
        "CREATE TABLE c (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO c SELECT * FROM t2; DROP TABLE c;",
        "CREATE TEMP TABLE c AS SELECT * FROM t2; CREATE TABLE d AS SELECT * FROM c; DROP TABLE c; DROP TABLE d;",
    ] {
        let got = estimate(&conn, &[sql]).unwrap();
        let rows: Vec<u64> = got[0].iter().map(|d| d.rows).collect();
        assert!(
            !rows.is_empty() && rows.iter().all(|&n| n == 3),
            "{sql}: {rows:?}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// With TEMP tables named like main's among the creates, fills, renames and drops (SQLite
    /// reads an unqualified name in TEMP first), a drop is estimated to lose rows exactly when
    /// the table SQLite drops holds rows when the drop runs: a TEMP table never makes main's
    /// table of the same name look empty, nor main's rows TEMP's.
    #[test]
    fn a_temp_table_named_like_a_main_one_is_another_table(
        ops in proptest::collection::vec((0..8usize, 0..3usize, 0..3usize, 0..3usize), 1..12),
    ) {
        let conn = db(3);
        let names = ["t0", "t1", "u0"];
        // How a statement names a table: as written, main's, or TEMP's.
        let schemas = ["", "main.", "temp."];
        let mut kept = Vec::new();
        let mut truth = Vec::new();
        conn.execute_batch("BEGIN").unwrap();
        for (op, a, b, s) in ops {
            let (x, y, s) = (names[a], names[b], schemas[s]);
            let stmt = match op {
                0 => format!("CREATE TEMP TABLE {x} (id INTEGER PRIMARY KEY, v TEXT);"),
                1 => format!("CREATE TEMPORARY TABLE {x} AS SELECT * FROM {s}{y};"),
                2 => format!("CREATE TABLE {s}{x} (id INTEGER PRIMARY KEY, v TEXT);"),
                3 => format!("INSERT INTO {s}{x} SELECT * FROM {y};"),
                4 => format!("INSERT INTO {x} SELECT * FROM {s}{y};"),
                5 => format!("ALTER TABLE {s}{x} RENAME TO {y};"),
                6 => format!("ALTER TABLE {s}{x} DROP COLUMN v;"),
                _ => format!("DROP TABLE {s}{x};"),
            };
            // What the statement drops, as SQLite finds it.
            let count = (op >= 6).then(|| {
                conn.query_row(&format!("SELECT count(*) FROM {s}{x}"), [], |r| r.get::<_, i64>(0)).ok()
            }).flatten();
            if conn.execute_batch(&stmt).is_ok() {
                if let Some(n) = count {
                    truth.push(n > 0);
                }
                kept.push(stmt);
            }
        }
        conn.execute_batch("ROLLBACK").unwrap();
        let sql = kept.concat();
        let got = estimate(&conn, &[&sql]).unwrap();
        let estimated: Vec<bool> = got[0].iter().map(|d| d.rows > 0).collect();
        prop_assert_eq!(estimated, truth, "{}", sql);
    }
}

#[test]
fn a_temp_table_named_like_a_main_one_never_hides_its_rows() {
    let conn = db(3);
    for (sql, want) in [
        // h16_01: an empty TEMP t2 parked over main's.
        (
            "CREATE TEMP TABLE s AS SELECT * FROM main.t2; CREATE TEMP TABLE t2 (id, v); DROP TABLE main.t2;",
            vec![3],
        ),
        (
            "CREATE TABLE temp.t2 (x); DROP TABLE main.t2; DROP TABLE t2;",
            vec![3, 0],
        ),
        (
            "CREATE TEMP TABLE t2 (x); DROP TABLE t2; DROP TABLE t2;",
            vec![0, 3],
        ),
        (
            "CREATE TEMP TABLE t2 (x); ALTER TABLE main.t2 DROP COLUMN v;",
            vec![3],
        ),
        // Renamed inside TEMP, the name stays TEMP's; main's keeps its rows.
        (
            "CREATE TEMP TABLE t2 (x); ALTER TABLE t2 RENAME TO w; DROP TABLE w; DROP TABLE t2;",
            vec![0, 3],
        ),
        // Main's rows copied into TEMP and dropped there are counted.
        (
            "CREATE TEMP TABLE t1 AS SELECT * FROM main.t1; DROP TABLE temp.t1;",
            vec![2],
        ),
    ] {
        let got = estimate(&conn, &[sql]).unwrap();
        let rows: Vec<u64> = got[0].iter().map(|d| d.rows).collect();
        assert_eq!(rows, want, "{sql}");
    }
}

/// `name` in one of the spellings SQLite reads as a name: a word, "dq", [br], `bt`, 'str'.
fn spell(name: &str, style: usize) -> String {
    match style % 5 {
        0 => name.to_string(),
        1 => format!("\"{name}\""),
        2 => format!("[{name}]"),
        3 => format!("`{name}`"),
        _ => format!("'{name}'"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// As [`a_drop_of_a_filled_table_is_never_estimated_empty`], with every name in a random
    /// spelling and fills in every form a batch writes them: `INSERT ... SELECT`, `CREATE
    /// TABLE ... AS SELECT`, `WITH ... INSERT`, through a view the batch creates, through a
    /// view the database holds. A drop is estimated to lose rows exactly when the table holds
    /// rows when the drop runs.
    #[test]
    fn a_drop_of_a_table_filled_in_any_form_and_spelling_is_never_estimated_empty(
        ops in proptest::collection::vec((0..8usize, 0..5usize, 0..5usize, 0..25usize), 1..12),
    ) {
        let conn = db(3);
        conn.execute_batch(
            "CREATE VIEW lv0 AS SELECT * FROM t0; CREATE VIEW lv1 AS SELECT * FROM t1;",
        )
        .unwrap();
        let names = ["t0", "t1", "t2", "u0", "u1"];
        let mut kept = Vec::new();
        let mut truth = Vec::new();
        conn.execute_batch("BEGIN").unwrap();
        for (k, (op, a, b, style)) in ops.into_iter().enumerate() {
            let (x, y) = (spell(names[a], style), spell(names[b], style / 5));
            let view = spell(&format!("v{k}"), style / 5);
            let stmt = match op {
                0 => format!("ALTER TABLE {x} RENAME TO {y};"),
                1 => format!("DROP TABLE {x};"),
                2 => format!("CREATE TABLE {x} (id INTEGER PRIMARY KEY, v TEXT);"),
                3 => format!("CREATE TABLE {x} AS SELECT * FROM {y};"),
                4 => format!("INSERT INTO {x} SELECT * FROM {y};"),
                5 => format!("WITH c AS (SELECT * FROM {y}) INSERT INTO {x} SELECT * FROM c;"),
                6 => format!("CREATE VIEW {view} AS SELECT * FROM {y}; INSERT INTO {x} SELECT * FROM {view};"),
                _ => format!("INSERT INTO {x} SELECT * FROM {};", spell(&format!("lv{}", b % 2), style / 5)),
            };
            let count = (op == 1).then(|| {
                conn.query_row(&format!("SELECT count(*) FROM {x}"), [], |r| r.get::<_, i64>(0)).ok()
            }).flatten();
            conn.execute_batch("SAVEPOINT one").unwrap();
            if conn.execute_batch(&stmt).is_ok() {
                conn.execute_batch("RELEASE one").unwrap();
                if let Some(n) = count {
                    truth.push(n > 0);
                }
                kept.push(stmt);
            } else {
                conn.execute_batch("ROLLBACK TO one; RELEASE one").unwrap();
            }
        }
        conn.execute_batch("ROLLBACK").unwrap();
        let sql = kept.join("\n");
        let got = estimate(&conn, &[&sql]).unwrap();
        let estimated: Vec<bool> = got[0].iter().map(|d| d.rows > 0).collect();
        prop_assert_eq!(estimated, truth, "{}", sql);
    }
}

#[test]
fn a_fill_from_a_string_name_a_view_or_a_cte_holds_the_rows_it_reads() {
    let conn = db(3);
    conn.execute_batch("CREATE VIEW va AS SELECT * FROM t2")
        .unwrap();
    for sql in [
        "CREATE TABLE c AS SELECT * FROM 't2'; DROP TABLE c;",
        "CREATE TABLE c (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO c SELECT * FROM 't2'; DROP TABLE c;",
        "CREATE TABLE c AS SELECT * FROM va; DROP TABLE c;",
        "CREATE VIEW vb AS SELECT * FROM t2; CREATE TABLE c AS SELECT * FROM vb; DROP TABLE c;",
        "CREATE TABLE c (id INTEGER PRIMARY KEY, v TEXT); WITH x AS (SELECT * FROM t2) INSERT INTO c SELECT * FROM x; DROP TABLE c;",
    ] {
        let got = estimate(&conn, &[sql]).unwrap();
        let rows: Vec<u64> = got[0].iter().map(|d| d.rows).collect();
        assert_eq!(rows, [3], "{sql}");
    }
}

/// The rows SQLite finds under each `DROP TABLE x` of `stmts` (one statement each) when it
/// runs them in order, rolled back after.
fn real_drops(conn: &Connection, stmts: &[&str]) -> Vec<u64> {
    conn.execute_batch("BEGIN").unwrap();
    let mut out = Vec::new();
    for stmt in stmts {
        if let Some(x) = stmt.strip_prefix("DROP TABLE ") {
            let n: i64 = conn
                .query_row(&format!("SELECT count(*) FROM {x}"), [], |r| r.get(0))
                .unwrap();
            out.push(n as u64);
        }
        conn.execute_batch(stmt).unwrap();
    }
    conn.execute_batch("ROLLBACK").unwrap();
    out
}

#[test]
fn a_view_is_read_in_its_schema_through_renames_and_drops_as_sqlite_reads_it() {
    let conn = db(3);
    for (stmts, want) in [
        // A view of main reads main's t2 even under a TEMP t2.
        (
            &[
                "CREATE VIEW mv AS SELECT * FROM t2",
                "CREATE TEMP TABLE t2 (id, v)",
                "CREATE TABLE c AS SELECT * FROM mv",
                "DROP TABLE c",
            ][..],
            vec![3],
        ),
        // A TEMP view reads TEMP's t2 first.
        (
            &[
                "CREATE TEMP TABLE t2 (id, v)",
                "CREATE TEMP VIEW tv AS SELECT * FROM t2",
                "CREATE TABLE c AS SELECT * FROM tv",
                "DROP TABLE c",
            ][..],
            vec![0],
        ),
        // SQLite writes a table's new name into the view; the old name's new table is empty.
        (
            &[
                "CREATE VIEW mv AS SELECT * FROM t1",
                "ALTER TABLE t1 RENAME TO w",
                "CREATE TABLE t1 (id, v)",
                "CREATE TABLE c AS SELECT * FROM mv",
                "DROP TABLE c",
            ][..],
            vec![2],
        ),
        // ... but not into a TEMP view that reads TEMP's table of that name.
        (
            &[
                "CREATE TEMP TABLE t1 (id, v)",
                "CREATE TEMP VIEW tv AS SELECT * FROM t1",
                "ALTER TABLE main.t1 RENAME TO w",
                "CREATE TABLE c AS SELECT * FROM tv",
                "DROP TABLE c",
            ][..],
            vec![0],
        ),
        // A dropped view's name taken by an empty table.
        (
            &[
                "CREATE VIEW mv AS SELECT * FROM t2",
                "DROP VIEW mv",
                "CREATE TABLE mv (id, v)",
                "CREATE TABLE c AS SELECT * FROM mv",
                "DROP TABLE c",
            ][..],
            vec![0],
        ),
        // Dropping main's t2 leaves TEMP's t2 (filled) in place.
        (
            &[
                "CREATE TEMP TABLE t2 AS SELECT * FROM main.t1",
                "DROP TABLE main.t2",
                "DROP TABLE t2",
            ][..],
            vec![3, 2],
        ),
    ] {
        assert_eq!(real_drops(&conn, stmts), want, "{stmts:?}");
        let sql = stmts.join(";\n") + ";";
        let got = estimate(&conn, &[&sql]).unwrap();
        let rows: Vec<u64> = got[0].iter().map(|d| d.rows).collect();
        assert_eq!(rows, want, "{sql}");
    }
}
