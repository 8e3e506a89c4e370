//! The proof follows a table through any sequence of renames and rebuilds (in each of the
//! orders a rebuild is written in, the hand-written "copy out to a scratch table, drop,
//! create anew, copy back" in main and TEMP among them), and names a table whose rows it
//! cannot follow.

use proptest::prelude::*;
use rusqlite::Connection;

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

fn db() -> Connection {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(
        "CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT);
         INSERT INTO a VALUES (1, 'a1'), (2, 'b2'), (3, NULL);
         CREATE TABLE other (k INTEGER PRIMARY KEY, w TEXT);
         INSERT INTO other VALUES (1, 'o');",
    )
    .unwrap();
    conn
}

/// One step on the table the test follows.
#[derive(Debug, Clone)]
enum Step {
    /// `ALTER TABLE ... RENAME TO` a fresh name.
    Rename,
    /// A rebuild in one of six orders: 0 new table, copy, drop, rename into place; 1 the
    /// old table renamed away, the new one created under its name, copy, drop; 2 new table,
    /// copy, old renamed away, new renamed into place, drop; 3 (4 in TEMP) a scratch table
    /// created AS SELECT from it, the table dropped, created anew, copied back from the
    /// scratch, the scratch dropped; 5 the same with a scratch created, then filled; 6..=9
    /// the same through a chain of scratch copies, each filled from the one before and the
    /// one before dropped: 6 two hops in main, 7 two hops with the first in TEMP, 8 three
    /// hops in main, 9 three hops in TEMP created then filled.
    Rebuild(usize),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![Just(Step::Rename), (0..10usize).prop_map(Step::Rebuild)]
}

/// The SQL of `steps` on table `a`; the rebuild numbered `bad` (counting rebuilds) copies
/// `upper(v)` instead of `v`, or, with `lose`, leaves out row 2.
fn script(steps: &[Step], bad: Option<usize>, lose: bool) -> (String, String) {
    let mut sql = String::new();
    let mut name = "a".to_string();
    let mut rebuilds = 0;
    for (i, s) in steps.iter().enumerate() {
        match s {
            Step::Rename => {
                let to = format!("r{i}");
                sql.push_str(&format!("ALTER TABLE {name} RENAME TO {to};\n"));
                name = to;
            }
            Step::Rebuild(order) => {
                let (v, rows) = match (bad == Some(rebuilds), lose) {
                    (true, false) => ("upper(v)", ""),
                    (true, true) => ("v", " WHERE id <> 2"),
                    _ => ("v", ""),
                };
                rebuilds += 1;
                let (new, old) = (format!("n{i}"), format!("o{i}"));
                let create =
                    |t: &str| format!("CREATE TABLE {t} (id INTEGER PRIMARY KEY, v TEXT);\n");
                let copy = |to: &str, from: &str| {
                    format!("INSERT INTO {to} (id, v) SELECT id, {v} FROM {from}{rows};\n")
                };
                let rename = |from: &str, to: &str| format!("ALTER TABLE {from} RENAME TO {to};\n");
                let drop = |t: &str| format!("DROP TABLE {t};\n");
                sql.push_str(&match order {
                    0 => [
                        create(&new),
                        copy(&new, &name),
                        drop(&name),
                        rename(&new, &name),
                    ]
                    .concat(),
                    1 => [
                        rename(&name, &old),
                        create(&name),
                        copy(&name, &old),
                        drop(&old),
                    ]
                    .concat(),
                    2 => [
                        create(&new),
                        copy(&new, &name),
                        rename(&name, &old),
                        rename(&new, &name),
                        drop(&old),
                    ]
                    .concat(),
                    3 | 4 => [
                        format!(
                            "CREATE {}TABLE {old} AS SELECT * FROM {name};\n",
                            if *order == 4 { "TEMP " } else { "" }
                        ),
                        drop(&name),
                        create(&name),
                        copy(&name, &old),
                        drop(&old),
                    ]
                    .concat(),
                    6..=9 => {
                        let hops = if *order < 8 { 2 } else { 3 };
                        let mut out = String::new();
                        let mut from = name.clone();
                        for h in 0..hops {
                            let s = format!("s{i}_{h}");
                            let temp = *order == 9 || (*order == 7 && h == 0);
                            let temp = if temp { "TEMP " } else { "" };
                            if *order == 9 {
                                out.push_str(&format!(
                                    "CREATE {temp}TABLE {s} (id INTEGER PRIMARY KEY, v TEXT);\nINSERT INTO {s} SELECT * FROM {from};\n"
                                ));
                            } else {
                                out.push_str(&format!(
                                    "CREATE {temp}TABLE {s} AS SELECT * FROM {from};\n"
                                ));
                            }
                            if h > 0 {
                                out.push_str(&drop(&from));
                            }
                            from = s;
                        }
                        [out, drop(&name), create(&name), copy(&name, &from), drop(&from)].concat()
                    }
                    _ => [
                        create(&old),
                        format!("INSERT INTO {old} SELECT * FROM {name};\n"),
                        drop(&name),
                        create(&name),
                        copy(&name, &old),
                        drop(&old),
                    ]
                    .concat(),
                });
            }
        }
    }
    (sql, name)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever the order of renames and rebuilds, the table is proven row by row, and a
    /// rewritten value in any one of the copies is caught under the table's final name.
    #[test]
    fn every_rename_and_rebuild_sequence_is_followed(
        steps in proptest::collection::vec(step(), 1..5),
        bad in 0..4usize,
        lose in any::<bool>(),
    ) {
        let conn = db();
        let (sql, name) = script(&steps, None, false);
        let line = prove(&conn, &sql).unwrap();
        prop_assert_eq!(line, "rows: proven row by row (1 table(s), 3 row(s))".to_string(), "{}", sql);
        let rebuilds = steps.iter().filter(|s| matches!(s, Step::Rebuild(_))).count();
        prop_assume!(rebuilds > 0);
        let (sql, _) = script(&steps, Some(bad % rebuilds), lose);
        let e = prove(&conn, &sql).unwrap_err();
        let expected = if lose {
            format!("row proof: table \"{name}\": 3 row(s) before, 2 after; rows by rowid: 2")
        } else {
            format!("row proof: table \"{name}\": column \"v\" does not hold the values the migrations keep; rows by rowid: 1, 2")
        };
        prop_assert_eq!(e, expected, "{}", sql);
    }
}

#[test]
fn rows_copied_into_a_table_that_takes_no_place_are_named_as_not_proven() {
    let conn = db();
    let sql = "CREATE TABLE b (id INTEGER PRIMARY KEY, v TEXT);
        INSERT INTO b (id, v) SELECT id, upper(v) FROM a;
        DROP TABLE a;";
    let line = prove(&conn, sql).unwrap();
    assert_eq!(
        line,
        "rows: proven row by row (0 table(s), 0 row(s)); not proven: \"a\" (its rows were copied into \"b\", which does not take its place)"
    );
}

#[test]
fn a_copy_out_and_back_is_followed_in_main_and_temp() {
    for temp in ["", "TEMP "] {
        for (back, expected) in [
            ("SELECT id, v FROM a_backup", Ok("rows: proven row by row (1 table(s), 3 row(s))".to_string())),
            (
                "SELECT id, upper(v) FROM a_backup",
                Err("row proof: table \"a\": column \"v\" does not hold the values the migrations keep; rows by rowid: 1, 2".to_string()),
            ),
            (
                "SELECT id, v FROM a_backup WHERE id <> 2",
                Err("row proof: table \"a\": 3 row(s) before, 2 after; rows by rowid: 2".to_string()),
            ),
        ] {
            let conn = db();
            let sql = format!(
                "CREATE {temp}TABLE a_backup AS SELECT * FROM a;
                 DROP TABLE a;
                 CREATE TABLE a(id INTEGER PRIMARY KEY, v TEXT);
                 INSERT INTO a {back};
                 DROP TABLE a_backup;"
            );
            assert_eq!(prove(&conn, &sql), expected, "{sql}");
        }
    }
}

#[test]
fn rows_copied_through_a_chain_of_scratch_tables_into_another_name_are_not_proven() {
    for hops in [2, 3] {
        for temp in ["", "TEMP "] {
            let conn = db();
            let mut sql = String::new();
            let mut from = "a".to_string();
            for h in 0..hops {
                sql.push_str(&format!(
                    "CREATE {temp}TABLE s{h} AS SELECT * FROM {from};\n"
                ));
                if h > 0 {
                    sql.push_str(&format!("DROP TABLE {from};\n"));
                }
                from = format!("s{h}");
            }
            sql.push_str(&format!(
                "DROP TABLE a;
                 CREATE TABLE b (id INTEGER PRIMARY KEY, v TEXT);
                 INSERT INTO b SELECT id, upper(v) FROM {from};
                 DROP TABLE {from};"
            ));
            let line = prove(&conn, &sql).unwrap();
            assert_eq!(
                line,
                "rows: proven row by row (0 table(s), 0 row(s)); not proven: \"a\" (its rows were copied into \"b\", which does not take its place)",
                "{sql}"
            );
        }
    }
}

#[test]
fn a_copy_into_a_temp_table_takes_no_place() {
    let conn = db();
    let sql = "ALTER TABLE a RENAME TO a_old;
        CREATE TEMP TABLE a AS SELECT * FROM a_old;
        DROP TABLE a_old;";
    let line = prove(&conn, sql).unwrap();
    assert_eq!(
        line,
        "rows: proven row by row (0 table(s), 0 row(s)); not proven: \"a\" (its rows were copied into \"a\", which does not take its place)"
    );
}
