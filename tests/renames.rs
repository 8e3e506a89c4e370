//! Rename hints that swap, chain or permute: each value lands in the column (or table) the
//! hints say, forward, and comes back on the reverse. A property over random permutations
//! and chains of column renames (with and without a rebuild), the swap of two tables, and the
//! CLI: a swap applied by `sync` is not made again by the next `sync`, and `rollback` brings
//! the columns back.

mod common;

use std::path::Path;

use proptest::prelude::*;
use rusqlite::Connection;
use schemactl::diff::{diff, without_rename_cycles};
use schemactl::dsl::Renames;
use schemactl::plan::{Direction, plan};
use schemactl::{apply, inspect};

fn schema_of(ddl: &str) -> schemactl::Schema {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(ddl).unwrap();
    inspect(&conn).unwrap()
}

fn values(conn: &Connection, table: &str, columns: &[String]) -> Vec<Vec<String>> {
    let sql = format!(
        "SELECT {} FROM \"{table}\" ORDER BY id",
        columns
            .iter()
            .map(|c| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut stmt = conn.prepare(&sql).unwrap();
    stmt.query_map([], |r| {
        (0..columns.len())
            .map(|i| r.get::<_, String>(i))
            .collect::<Result<Vec<_>, _>>()
    })
    .unwrap()
    .map(|r| r.unwrap())
    .collect()
}

fn table_ddl(name: &str, columns: &[String], rebuild: bool) -> String {
    let cols: Vec<String> = columns.iter().map(|c| format!("\"{c}\" TEXT")).collect();
    format!(
        "CREATE TABLE \"{name}\" (id INTEGER PRIMARY KEY, {}{});\nCREATE INDEX \"{name}_first\" ON \"{name}\" (\"{}\");",
        cols.join(", "),
        if rebuild { ", CHECK (id > 0)" } else { "" },
        columns[0]
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Random renames among the columns and fresh names (swaps, rotations, chains): after the
    /// plan each value is in the column its hint names; a re-plan is empty once the cycles
    /// are known to be applied; the reverse puts every value back.
    #[test]
    fn renames_follow_the_hints_exactly(
        n in 2usize..6,
        fresh in 0usize..3,
        seed in any::<u64>(),
        rebuild in any::<bool>(),
    ) {
        let old: Vec<String> = (0..n).map(|i| format!("c{i}")).collect();
        // The new names: a random arrangement of the old names and `fresh` new ones.
        let mut pool: Vec<String> = old.iter().cloned().chain((0..fresh).map(|i| format!("n{i}"))).collect();
        let mut state = seed;
        for i in (1..pool.len()).rev() {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let j = (state >> 33) as usize % (i + 1);
            pool.swap(i, j);
        }
        let new: Vec<String> = pool[..n].to_vec();
        let hints = Renames {
            columns: old
                .iter()
                .zip(&new)
                .filter(|(o, n)| o != n)
                .map(|(o, n)| ("t".to_string(), n.clone(), o.clone()))
                .collect(),
            ..Renames::default()
        };
        prop_assume!(!hints.columns.is_empty());

        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(&table_ddl("t", &old, false)).unwrap();
        for row in 1..=3 {
            let vals: Vec<String> = (0..n).map(|i| format!("'r{row}c{i}'")).collect();
            conn.execute_batch(&format!(
                "INSERT INTO t VALUES ({row}, {})",
                vals.join(", ")
            ))
            .unwrap();
        }
        let before = values(&conn, "t", &old);
        let current = inspect(&conn).unwrap();
        // The index keeps its name, on the column c0 became.
        let desired_ddl = table_ddl("t", &new, rebuild);
        let desired = schema_of(&desired_ddl);

        let changes = diff(&current, &desired, &hints).unwrap();
        let p = plan(&current, &desired, &changes);
        apply::execute(&conn, &p, Direction::Forward)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{}", p.script(Direction::Forward))))?;
        prop_assert!(inspect(&conn).unwrap() == desired, "forward does not converge\n{}", p.script(Direction::Forward));
        // Old column i's values are under new[i].
        prop_assert_eq!(values(&conn, "t", &new), before.clone(), "{:?}\n{}", hints, p.script(Direction::Forward));

        let after = inspect(&conn).unwrap();
        let again = plan(&after, &desired, &diff(&after, &desired, &without_rename_cycles(&hints)).unwrap());
        prop_assert!(again.is_empty(), "re-plan: {}", again.script(Direction::Forward));

        apply::execute(&conn, &p, Direction::Reverse)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{}", p.script(Direction::Reverse))))?;
        prop_assert!(inspect(&conn).unwrap() == current, "reverse does not restore");
        prop_assert_eq!(values(&conn, "t", &old), before);
    }
}

/// `a <- b, b <- a` on tables swaps them, and back.
#[test]
fn table_swap_follows_the_hints() {
    let ddl = "CREATE TABLE a (id INTEGER PRIMARY KEY, x TEXT); CREATE TABLE b (id INTEGER PRIMARY KEY, y TEXT);";
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(ddl).unwrap();
    conn.execute_batch("INSERT INTO a VALUES (1, 'in a'); INSERT INTO b VALUES (1, 'in b');")
        .unwrap();
    let current = inspect(&conn).unwrap();
    let desired = schema_of(
        "CREATE TABLE a (id INTEGER PRIMARY KEY, y TEXT); CREATE TABLE b (id INTEGER PRIMARY KEY, x TEXT);",
    );
    let hints = Renames {
        tables: vec![("a".into(), "b".into()), ("b".into(), "a".into())],
        ..Renames::default()
    };
    let p = plan(
        &current,
        &desired,
        &diff(&current, &desired, &hints).unwrap(),
    );
    apply::execute(&conn, &p, Direction::Forward).unwrap();
    assert!(inspect(&conn).unwrap() == desired);
    assert_eq!(values(&conn, "a", &["y".into()]), vec![vec!["in b"]]);
    assert_eq!(values(&conn, "b", &["x".into()]), vec![vec!["in a"]]);
    apply::execute(&conn, &p, Direction::Reverse).unwrap();
    assert!(inspect(&conn).unwrap() == current);
    assert_eq!(values(&conn, "a", &["x".into()]), vec![vec!["in a"]]);
}

/// The chain: `b <- a, c <- b` fills b from a and c from b.
#[test]
fn a_chain_fills_the_right_columns() {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b TEXT); INSERT INTO t VALUES (1, 'A', 'B');")
        .unwrap();
    let current = inspect(&conn).unwrap();
    let desired = schema_of("CREATE TABLE t (id INTEGER PRIMARY KEY, b TEXT, c TEXT);");
    let hints = Renames {
        columns: vec![
            ("t".into(), "b".into(), "a".into()),
            ("t".into(), "c".into(), "b".into()),
        ],
        ..Renames::default()
    };
    let p = plan(
        &current,
        &desired,
        &diff(&current, &desired, &hints).unwrap(),
    );
    apply::execute(&conn, &p, Direction::Forward).unwrap();
    assert_eq!(
        values(&conn, "t", &["b".into(), "c".into()]),
        vec![vec!["A", "B"]]
    );
    // Applied: the same hints plan nothing.
    let after = inspect(&conn).unwrap();
    assert!(plan(&after, &desired, &diff(&after, &desired, &hints).unwrap()).is_empty());
}

fn run(dir: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_schemactl"))
        .args(args)
        .current_dir(dir)
        .env_remove("SCHEMACTL_DATABASE")
        .output()
        .unwrap()
}

/// Through the CLI: `sync` swaps two columns, the next `sync` and `plan --check` find nothing
/// to do (the swap is not made again), and `rollback` swaps them back.
#[test]
fn sync_swaps_once_and_rollback_swaps_back() {
    let tmp = common::temp_dir();
    let dir = tmp.path();
    for sub in ["schema", "migrations", "rollbacks"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    std::fs::write(
        dir.join("schemactl.toml"),
        "database = \"db.sqlite\"\nschema = \"schema\"\nmigrations = \"migrations\"\nrollbacks = \"rollbacks\"\nbackups = \"backups\"\n",
    )
    .unwrap();
    let conn = Connection::open(dir.join("db.sqlite")).unwrap();
    conn.execute_batch(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b TEXT); INSERT INTO t VALUES (1, 'A', 'B'), (2, 'A2', 'B2');",
    )
    .unwrap();
    drop(conn);
    std::fs::write(
        dir.join("schema/s.yaml"),
        "schemactl: 1\nversion: 2\ntables:\n  t:\n    columns:\n      id: { type: INTEGER, primary_key: true }\n      a: { type: TEXT, renamed_from: b }\n      b: { type: TEXT, renamed_from: a }\n",
    )
    .unwrap();
    let read = || {
        let conn = Connection::open(dir.join("db.sqlite")).unwrap();
        values(&conn, "t", &["a".into(), "b".into()])
    };
    let out = run(dir, &["sync", "--yes"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(read(), vec![vec!["B", "A"], vec!["B2", "A2"]]);
    let check = run(dir, &["plan", "--check"]);
    assert_eq!(check.status.code(), Some(0), "{check:?}");
    let again = run(dir, &["sync", "--yes"]);
    assert!(again.status.success(), "{again:?}");
    assert_eq!(
        read(),
        vec![vec!["B", "A"], vec!["B2", "A2"]],
        "not swapped twice"
    );
    let back = run(dir, &["rollback", "last", "--yes"]);
    assert!(back.status.success(), "{back:?}");
    assert_eq!(read(), vec![vec!["A", "B"], vec!["A2", "B2"]]);
}
