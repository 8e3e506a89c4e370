//! Legacy double-quoted string literals ("DQS") in views and triggers, and SQLite's quote fix:
//! a native `DROP COLUMN` or `RENAME COLUMN` rewrites `"x"` to `'x'` in every view and trigger
//! of the database, over the altered table or not. A plan that does one keeps every view's and
//! trigger's text exactly as declared, forward and back, with every row; an added or renamed
//! column that takes a view's string literal's name is a lint finding naming the view.
//! (The CLI paths of the hostile report's scripts are in tests/dqs_requote_cli.rs.)

use std::collections::BTreeSet;

use proptest::prelude::*;
use rusqlite::Connection;
use schemactl::diff::diff;
use schemactl::dsl::Renames;
use schemactl::lint::FindingKind;
use schemactl::plan::{Direction, plan, verify};
use schemactl::{apply, inspect};

/// Double-quoted words the views and triggers use: `v` and `id` are columns of both tables,
/// `n2` becomes one when a column is renamed to it, `x` when one is added, the rest never.
const LITS: &[&str] = &["v", "id", "x", "log", "zz", "a b", "n2"];

const TABLES: &[&str] = &["t", "u"];

#[derive(Debug, Clone)]
struct Object {
    view: bool,
    table: usize,
    lit: usize,
    lit2: usize,
}

impl Object {
    fn ddl(&self, i: usize) -> String {
        let (t, l1, l2) = (TABLES[self.table], LITS[self.lit], LITS[self.lit2]);
        if self.view {
            format!(
                "CREATE VIEW dv{i} AS SELECT id, v FROM {t} WHERE v <> \"{l1}\" OR \"{l2}\" = 'never';"
            )
        } else {
            format!(
                "CREATE TRIGGER dt{i} AFTER UPDATE ON {t} WHEN new.v = \"{l1}\" \
                 BEGIN INSERT INTO log VALUES (\"{l2}\"); END;"
            )
        }
    }
}

/// What happens to one of `t` (columns a, b) and `u` (columns a, b too).
#[derive(Debug, Clone)]
struct TableOps {
    /// 0: nothing, 1: add column w, 2: add column x.
    add: u8,
    drop_b: bool,
    rename_a: bool,
}

fn object() -> impl Strategy<Value = Object> {
    (any::<bool>(), 0..TABLES.len(), 0..LITS.len(), 0..LITS.len()).prop_map(
        |(view, table, lit, lit2)| Object {
            view,
            table,
            lit,
            lit2,
        },
    )
}

fn ops() -> impl Strategy<Value = TableOps> {
    (0u8..3, any::<bool>(), any::<bool>()).prop_map(|(add, drop_b, rename_a)| TableOps {
        add,
        drop_b,
        rename_a,
    })
}

fn table_ddl(name: &str, ops: Option<&TableOps>) -> String {
    let mut cols = vec!["id INTEGER PRIMARY KEY", "v TEXT"];
    match ops {
        Some(o) if o.rename_a => cols.push("n2 TEXT"),
        _ => cols.push("a TEXT"),
    }
    if !ops.is_some_and(|o| o.drop_b) {
        cols.push("b TEXT");
    }
    match ops.map(|o| o.add) {
        Some(1) => cols.push("w TEXT"),
        Some(2) => cols.push("x TEXT DEFAULT 'zzz'"),
        _ => {}
    }
    format!("CREATE TABLE {name} ({});", cols.join(", "))
}

fn ddl(objects: &[Object], ops: Option<&[TableOps]>, z_renamed: bool, z_drop: bool) -> String {
    let mut out = vec!["CREATE TABLE log (m TEXT);".to_string()];
    for (i, t) in TABLES.iter().enumerate() {
        out.push(table_ddl(t, ops.map(|o| &o[i])));
    }
    // An unrelated table no view or trigger reads.
    out.push(format!(
        "CREATE TABLE {} (id INTEGER PRIMARY KEY, c TEXT{});",
        if z_renamed { "z2" } else { "z" },
        if z_drop { "" } else { ", d TEXT" }
    ));
    for (i, o) in objects.iter().enumerate() {
        out.push(o.ddl(i));
    }
    out.join("\n")
}

fn schema_of(ddl: &str) -> schemactl::Schema {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(ddl).unwrap();
    inspect(&conn).unwrap()
}

/// The text of every view and trigger, exactly as SQLite keeps it.
fn texts(conn: &Connection) -> Vec<(String, String)> {
    conn.prepare(
        "SELECT name, sql FROM sqlite_schema WHERE type IN ('view', 'trigger') ORDER BY name",
    )
    .unwrap()
    .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
    .unwrap()
    .map(|r| r.unwrap())
    .collect()
}

/// Every row of `t`, `u` and the unrelated table, and what every view returns.
fn rows(conn: &Connection, objects: &[Object]) -> Vec<String> {
    let mut out = Vec::new();
    let z = if conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE name = 'z2'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .unwrap()
        == 1
    {
        "z2"
    } else {
        "z"
    };
    for sql in [
        "SELECT id || ':' || quote(v) FROM t".to_string(),
        "SELECT id || ':' || quote(v) FROM u".to_string(),
        format!("SELECT id || ':' || quote(c) FROM {z}"),
        "SELECT quote(m) FROM log".to_string(),
    ]
    .into_iter()
    .chain(
        objects
            .iter()
            .enumerate()
            .filter(|(_, o)| o.view)
            .map(|(i, _)| format!("SELECT 'dv{i} ' || id FROM dv{i}")),
    ) {
        let mut got: Vec<String> = conn
            .prepare(&sql)
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        got.sort();
        out.extend(got);
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Random DQS views and triggers (strings that are and are not column names), random
    /// native column drops, renames and adds on the tables they read and on one they do not:
    /// the plan's proof passes, forward gives exactly the declared texts, rows and view
    /// results, reverse exactly the current ones; the lint names the views whose string an
    /// added or renamed column takes.
    #[test]
    fn native_steps_keep_dqs_texts_both_ways(
        objects in prop::collection::vec(object(), 1..5),
        ops in prop::collection::vec(ops(), 2),
        z_renamed in any::<bool>(),
        z_drop in any::<bool>(),
    ) {
        let current_ddl = ddl(&objects, None, false, false);
        let desired_ddl = ddl(&objects, Some(&ops), z_renamed, z_drop);
        prop_assume!(current_ddl != desired_ddl);
        let desired = schema_of(&desired_ddl);
        let want_texts = texts(&{
            let c = Connection::open_in_memory().unwrap();
            c.execute_batch(&desired_ddl).unwrap();
            c
        });

        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(&current_ddl).unwrap();
        conn.execute_batch(
            "INSERT INTO t (id, v, a, b) VALUES (1, 'x', 'a1', 'b1'), (2, 'zz', 'a2', 'b2'), (3, 'log', 'a3', 'b3');
             INSERT INTO u (id, v, a, b) VALUES (1, 'v', 'a1', 'b1'), (2, 'a b', 'a2', 'b2');
             INSERT INTO z (id, c, d) VALUES (1, 'c1', 'd1');
             UPDATE t SET v = v; UPDATE u SET v = v;",
        ).unwrap();
        let current = inspect(&conn).unwrap();
        let current_texts = texts(&conn);
        let rows_before = rows(&conn, &objects);

        let mut renames = Renames::default();
        for (i, o) in ops.iter().enumerate() {
            if o.rename_a {
                renames.columns.push((TABLES[i].to_string(), "n2".into(), "a".into()));
            }
        }
        if z_renamed {
            renames.tables.push(("z2".into(), "z".into()));
        }
        let changes = diff(&current, &desired, &renames).unwrap();
        let p = plan(&current, &desired, &changes);
        verify(&p, &current, &desired)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{}", p.script(Direction::Forward))))?;

        // The lint: exactly the views over a table that gains a column named after one of
        // their strings (a trigger's `new.v = "x"` and `VALUES ("x")` stay strings).
        let findings: BTreeSet<String> = schemactl::lint::lint(&conn, &current, &desired, &changes)
            .unwrap()
            .into_iter()
            .filter(|f| f.kind == FindingKind::QuotedString)
            .map(|f| f.message.split_whitespace().nth(1).unwrap_or_default().to_string())
            .collect();
        let expected: BTreeSet<String> = objects
            .iter()
            .enumerate()
            .filter(|(_, o)| o.view)
            .filter(|(_, o)| {
                let gained: Vec<&str> = [
                    (ops[o.table].add == 2).then_some("x"),
                    ops[o.table].rename_a.then_some("n2"),
                ]
                .into_iter()
                .flatten()
                .collect();
                gained.contains(&LITS[o.lit]) || gained.contains(&LITS[o.lit2])
            })
            .map(|(i, _)| format!("dv{i}"))
            .collect();
        prop_assert_eq!(&findings, &expected, "lint\n{}", desired_ddl);

        apply::execute(&conn, &p, Direction::Forward)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{}", p.script(Direction::Forward))))?;
        prop_assert!(inspect(&conn).unwrap() == desired, "forward does not converge\n{}", p.script(Direction::Forward));
        prop_assert_eq!(texts(&conn), want_texts, "forward texts\n{}", p.script(Direction::Forward));
        if expected.is_empty() {
            // No view changes meaning: every row and every view's result is the same.
            prop_assert_eq!(rows(&conn, &objects), rows_before.clone(), "forward rows");
        }

        apply::execute(&conn, &p, Direction::Reverse)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{}", p.script(Direction::Reverse))))?;
        prop_assert!(inspect(&conn).unwrap() == current, "reverse does not restore\n{}", p.script(Direction::Reverse));
        prop_assert_eq!(texts(&conn), current_texts, "reverse texts\n{}", p.script(Direction::Reverse));
        prop_assert_eq!(rows(&conn, &objects), rows_before, "reverse rows");
    }
}
