//! The row counts follow every table to the table that holds its rows: any permutation of
//! tables by renames (swaps, cycles, chains into new names), with rebuilds on the way, passes
//! the rehearsal's counts when tables hold different numbers of rows, and a row lost in a
//! renamed table is still refused.

use proptest::prelude::*;
use rusqlite::Connection;

use crate::apply::driver::{Driver, Mode};
use crate::error::Error;
use crate::inspect::inspect_with_notes;
use crate::migrations::{Migration, Origin, expected_after};

/// `n` tables t0.. with i + 1 rows each, in a file.
fn start(n: usize) -> (tempfile::TempDir, Connection) {
    let dir = tempfile::tempdir().unwrap();
    let conn = Connection::open(dir.path().join("db.sqlite")).unwrap();
    for i in 0..n {
        conn.execute_batch(&format!(
            "CREATE TABLE t{i} (id INTEGER PRIMARY KEY, v TEXT);
             WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r WHERE x < {})
             INSERT INTO t{i} (id, v) SELECT x, 'v' || x FROM r;",
            i + 1
        ))
        .unwrap();
    }
    (dir, conn)
}

/// Runs `sql` in a rehearsal, with the row proof or without it.
fn rehearse(conn: &Connection, sql: &str, prove: bool) -> crate::error::Result<Vec<String>> {
    let before = inspect_with_notes(conn).unwrap();
    let m = Migration::new(1, "m", sql, None, Origin::Sync);
    let expected = expected_after(&before.schema, [&m]).unwrap();
    Driver::new(conn, Mode::Rehearsal, vec![m], Some(&expected))
        .inspected_before(Some(&before))
        .proving(prove)
        .run(Driver::run_reverse)
}

/// Moves table `t{i}` to the name `targets[i]` (through temporary names, so that any
/// permutation can be written); the tables in `rebuilt` are rebuilt under their new name,
/// and the copy of `lossy` leaves its first row behind.
fn script(targets: &[String], rebuilt: &[bool], lossy: Option<usize>) -> String {
    let mut sql = String::new();
    for i in 0..targets.len() {
        sql.push_str(&format!("ALTER TABLE t{i} RENAME TO tmp{i};\n"));
    }
    for (i, to) in targets.iter().enumerate() {
        sql.push_str(&format!("ALTER TABLE tmp{i} RENAME TO {to};\n"));
        if rebuilt[i] || lossy == Some(i) {
            let filter = if lossy == Some(i) {
                " WHERE id > 1"
            } else {
                ""
            };
            sql.push_str(&format!(
                "CREATE TABLE new{i} (id INTEGER PRIMARY KEY, v TEXT);
                 INSERT INTO new{i} (id, v) SELECT id, v FROM {to}{filter};
                 DROP TABLE {to};
                 ALTER TABLE new{i} RENAME TO {to};\n"
            ));
        }
    }
    sql
}

/// A permutation of `n` tables onto names among t0.. and u0..
fn targets(n: usize) -> impl Strategy<Value = Vec<String>> {
    let names: Vec<String> = (0..n)
        .map(|i| format!("t{i}"))
        .chain((0..n).map(|i| format!("u{i}")))
        .collect();
    Just(names)
        .prop_shuffle()
        .prop_map(move |all| all.into_iter().take(n).collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn counts_follow_every_permutation_of_renames_and_rebuilds(
        (targets, rebuilt, prove, lost) in (2..5usize).prop_flat_map(|n| (
            targets(n),
            proptest::collection::vec(any::<bool>(), n),
            any::<bool>(),
            0..n,
        )),
    ) {
        let (_dir, conn) = start(targets.len());
        let sql = script(&targets, &rebuilt, None);
        let checked = rehearse(&conn, &sql, prove);
        prop_assert!(checked.is_ok(), "{}: {}", sql, checked.unwrap_err());
        // One row lost in a renamed (and rebuilt) table: refused, by the table's name.
        let sql = script(&targets, &rebuilt, Some(lost));
        let e = rehearse(&conn, &sql, false).unwrap_err();
        let before = format!("t{lost}");
        match &e {
            Error::RowCountChanged { table, before: b, after, .. } => {
                prop_assert_eq!(table, &before);
                prop_assert_eq!((*b, *after), (lost as u64 + 1, lost as u64));
            }
            Error::RowsRemoved { tables } => {
                prop_assert!(tables.iter().any(|t| t.starts_with(&format!("{before} ")) || t.starts_with(&format!("{before}:"))), "{:?}", tables);
            }
            other => prop_assert!(false, "{}: {}", sql, other),
        }
        // Nothing changed: every table still holds its rows under its old name.
        for i in 0..targets.len() {
            let n: i64 = conn.query_row(&format!("SELECT count(*) FROM t{i}"), [], |r| r.get(0)).unwrap();
            prop_assert_eq!(n, i as i64 + 1);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Tables dropped, and others renamed (and perhaps rebuilt) onto their names: each
    /// renamed table is counted where its rows are, and a dropped one is a drop (reported as
    /// dropped, gated as rows removed), never compared with the table that took its name.
    #[test]
    fn a_table_renamed_onto_a_dropped_ones_name_is_counted_as_itself(
        (dropped, targets, rebuilt) in (2..5usize).prop_flat_map(|n| (
            proptest::collection::vec(any::<bool>(), n),
            targets(n),
            proptest::collection::vec(any::<bool>(), n),
        )),
    ) {
        prop_assume!(dropped.iter().any(|d| *d) && dropped.iter().any(|d| !*d));
        let (_dir, conn) = start(targets.len());
        let mut sql = String::new();
        for (i, d) in dropped.iter().enumerate() {
            if *d {
                sql.push_str(&format!("DROP TABLE t{i};\n"));
            }
        }
        // The kept tables take the names of the permutation, dropped names among them.
        let kept: Vec<usize> = (0..targets.len()).filter(|&i| !dropped[i]).collect();
        let mut names = vec![String::new(); targets.len()];
        for (k, &i) in kept.iter().enumerate() {
            names[i] = targets[k].clone();
        }
        let moves: Vec<String> = kept.iter().map(|&i| names[i].clone()).collect();
        let renames = script(&moves, &rebuilt[..kept.len()], None);
        // script() numbers tables 0..: map its t{k} onto the kept table t{i}.
        let mut renames_fixed = renames;
        for (k, &i) in kept.iter().enumerate().rev() {
            renames_fixed = renames_fixed.replace(&format!("ALTER TABLE t{k} RENAME TO tmp{k};"), &format!("ALTER TABLE t{i} RENAME TO tmp{k};"));
        }
        sql.push_str(&renames_fixed);
        let before = inspect_with_notes(&conn).unwrap();
        let m = Migration::new(1, "m", &sql, None, Origin::Sync);
        let expected = expected_after(&before.schema, [&m]).unwrap();
        let checked = Driver::new(&conn, Mode::Rehearsal, vec![m], Some(&expected))
            .inspected_before(Some(&before))
            .allow_rows_removed(true)
            .run(Driver::run_reverse);
        prop_assert!(checked.is_ok(), "{}: {}", sql, checked.unwrap_err());
        let lines = checked.unwrap().join("\n");
        for (i, d) in dropped.iter().enumerate() {
            if *d {
                prop_assert!(lines.contains(&format!("rows: t{i}: {} → dropped", i + 1)), "{}\n{}", sql, lines);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// A table an INSERT or DELETE names as a word, "quoted", [bracketed], `backticked` or as a
    /// 'string' (SQLite's fallback) is the same target of the row counts.
    #[test]
    fn a_dml_target_in_any_form_is_the_word_target(
        steps in prop::collection::vec((0usize..3, 0usize..4, 0usize..5, any::<bool>()), 1..4),
    ) {
        let written = |name: &str, form: usize| match form {
            1 => format!("\"{name}\""),
            2 => format!("[{name}]"),
            3 => format!("`{name}`"),
            4 => format!("'{name}'"),
            _ => name.to_string(),
        };
        let text = |formed: bool| -> String {
            steps
                .iter()
                .map(|&(kind, t, form, schema)| {
                    let form = if formed { form } else { 0 };
                    let table = written(&format!("t{t}"), form);
                    let table = if schema { format!("{}.{table}", written("main", form)) } else { table };
                    match kind {
                        0 => format!("DELETE FROM {table} WHERE id = 1;"),
                        1 => format!("INSERT INTO {table}(id) VALUES (9);"),
                        _ => format!("REPLACE INTO {table}(id) VALUES (9);"),
                    }
                })
                .collect()
        };
        let lower = |v: Vec<String>| -> Vec<String> { v.into_iter().map(|s| s.to_ascii_lowercase()).collect() };
        prop_assert_eq!(
            lower(super::dml_targets(&text(true))),
            lower(super::dml_targets(&text(false))),
            "{}",
            text(true)
        );
    }
}

/// A TEMP table's inserts and deletes change no main table's count: they never make a main
/// table of the same name's changed count "on purpose".
#[test]
fn a_temp_tables_inserts_and_deletes_target_no_main_table() {
    assert_eq!(
        super::dml_targets(
            "INSERT INTO temp.a SELECT * FROM main.a; DELETE FROM \"TEMP\".b; \
             DELETE FROM main.c; INSERT INTO d VALUES (1); REPLACE INTO 'temp'.e VALUES (1);"
        ),
        vec!["c".to_string(), "d".to_string()]
    );
}
