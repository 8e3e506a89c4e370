//! Legacy double-quoted string literals ("DQS") in the expressions a table keeps: CHECK
//! constraints (table and column), generated columns, partial-index WHERE clauses and index
//! expressions. SQLite reads `"x"` there as the column x when the table has one, as the
//! string 'x' otherwise, and its native DROP/RENAME COLUMN rewrites every such string of the
//! database as 'x'. A plan either refuses with the lint (an added or renamed column takes a
//! string's name) or, applied through the bundled SQLite, keeps every row, every index
//! consistent with its table, every generated value and every CHECK's verdict, and the
//! proof never calls the schema "a schemactl bug".

use proptest::prelude::*;
use rusqlite::Connection;
use schemactl::diff::diff;
use schemactl::dsl::Renames;
use schemactl::lint::FindingKind;
use schemactl::plan::{Direction, plan_verified};
use schemactl::{apply, inspect};

/// The double-quoted words: `v` is a column, `x` becomes one when added, `n2` when `a` is
/// renamed to it, the rest never.
const LITS: &[&str] = &["v", "x", "n2", "zz", "a b"];

/// Where a literal sits: 0 table CHECK, 1 column CHECK, 2 generated column, 3 partial-index
/// WHERE, 4 index expression.
#[derive(Debug, Clone)]
struct Site {
    kind: u8,
    lit: usize,
}

#[derive(Debug, Clone)]
struct Ops {
    /// 0: nothing, 1: add column w, 2: add column x.
    add: u8,
    drop_b: bool,
    rename_a: bool,
    /// Drop a column of an unrelated table (a native DROP COLUMN: SQLite's quote fix).
    drop_z: bool,
}

fn site() -> impl Strategy<Value = Site> {
    (0u8..5, 0..LITS.len()).prop_map(|(kind, lit)| Site { kind, lit })
}

fn ops() -> impl Strategy<Value = Ops> {
    (0u8..3, any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
        |(add, drop_b, rename_a, drop_z)| Ops {
            add,
            drop_b,
            rename_a,
            drop_z,
        },
    )
}

fn ddl(sites: &[Site], ops: Option<&Ops>) -> String {
    let mut cols = vec!["id INTEGER PRIMARY KEY".to_string()];
    let mut v = "v TEXT".to_string();
    for s in sites.iter().filter(|s| s.kind == 1) {
        v.push_str(&format!(
            " CHECK (v IS NULL OR v IN ('p', 'q') OR v <> \"{}\")",
            LITS[s.lit]
        ));
    }
    cols.push(v);
    cols.push(
        if ops.is_some_and(|o| o.rename_a) {
            "n2 TEXT"
        } else {
            "a TEXT"
        }
        .to_string(),
    );
    if !ops.is_some_and(|o| o.drop_b) {
        cols.push("b TEXT".into());
    }
    for (i, s) in sites.iter().enumerate().filter(|(_, s)| s.kind == 2) {
        cols.push(format!(
            "g{i} TEXT AS (coalesce(v, '') || \"{}\")",
            LITS[s.lit]
        ));
    }
    match ops.map(|o| o.add) {
        Some(1) => cols.push("w TEXT".into()),
        Some(2) => cols.push("x TEXT DEFAULT 'xx'".into()),
        _ => {}
    }
    for s in sites.iter().filter(|s| s.kind == 0) {
        cols.push(format!(
            "CHECK (v IS NULL OR v IN ('p', 'q') OR v <> \"{}\")",
            LITS[s.lit]
        ));
    }
    let mut out = vec![format!("CREATE TABLE t ({});", cols.join(", "))];
    for (i, s) in sites.iter().enumerate() {
        match s.kind {
            3 => out.push(format!(
                "CREATE INDEX ip{i} ON t(id) WHERE v <> \"{}\";",
                LITS[s.lit]
            )),
            4 => out.push(format!(
                "CREATE INDEX ie{i} ON t(coalesce(v, \"{}\"));",
                LITS[s.lit]
            )),
            _ => {}
        }
    }
    let z_d = if ops.is_some_and(|o| o.drop_z) {
        ""
    } else {
        ", d TEXT"
    };
    out.push(format!(
        "CREATE TABLE z (id INTEGER PRIMARY KEY, c TEXT{z_d});"
    ));
    out.join("\n")
}

fn schema_of(ddl: &str) -> schemactl::Schema {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(ddl).unwrap();
    inspect(&conn).unwrap()
}

fn one(conn: &Connection, sql: &str) -> Vec<String> {
    conn.prepare(sql)
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

/// Every row of `t` (the column `a` under either name), with every generated value, and of `z`.
fn rows(conn: &Connection, sites: &[Site]) -> Vec<String> {
    let a = if one(
        conn,
        "SELECT name FROM pragma_table_info('t') WHERE name = 'n2'",
    )
    .is_empty()
    {
        "a"
    } else {
        "n2"
    };
    let mut cols = vec!["id".to_string(), "v".into(), a.into()];
    for (i, _) in sites.iter().enumerate().filter(|(_, s)| s.kind == 2) {
        cols.push(format!("g{i}"));
    }
    let expr: Vec<String> = cols.iter().map(|c| format!("quote({c})")).collect();
    let mut out = one(
        conn,
        &format!("SELECT {} FROM t ORDER BY id", expr.join(" || ',' || ")),
    );
    out.extend(one(conn, "SELECT id || ',' || quote(c) FROM z ORDER BY id"));
    out
}

/// Whether `t` accepts a row with each literal (and a plain value) as `v`: every CHECK's
/// verdict. Nothing is kept.
fn verdicts(conn: &Connection) -> Vec<bool> {
    LITS.iter()
        .chain(&["p"])
        .map(|lit| {
            conn.execute_batch("SAVEPOINT probe").unwrap();
            let ok = conn
                .execute("INSERT INTO t (id, v) VALUES (100, ?1)", [lit])
                .is_ok();
            conn.execute_batch("ROLLBACK TO probe; RELEASE probe")
                .unwrap();
            ok
        })
        .collect()
}

fn integrity(conn: &Connection) -> Vec<String> {
    one(conn, "PRAGMA integrity_check")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Random DQS literals in random table expressions, random added, dropped and renamed
    /// columns (and a native drop on an unrelated table): the lint names exactly the
    /// expressions whose string a new column takes; otherwise the proved plan, forward and
    /// back, keeps every row, generated value and CHECK verdict, and every index consistent.
    #[test]
    fn dqs_in_table_expressions_refused_or_kept(
        sites in prop::collection::vec(site(), 1..5),
        ops in ops(),
    ) {
        let current_ddl = ddl(&sites, None);
        let desired_ddl = ddl(&sites, Some(&ops));
        prop_assume!(current_ddl != desired_ddl);
        let desired = schema_of(&desired_ddl);

        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(&current_ddl).unwrap();
        conn.execute_batch(
            "INSERT INTO t (id, v, a, b) VALUES (1, 'p', 'a1', 'b1'), (2, 'q', 'a2', 'b2'), (3, NULL, 'a3', 'b3');
             INSERT INTO z (id, c, d) VALUES (1, 'c1', 'd1');",
        ).unwrap();
        let current = inspect(&conn).unwrap();
        let rows_before = rows(&conn, &sites);
        let verdicts_before = verdicts(&conn);

        let mut renames = Renames::default();
        if ops.rename_a {
            renames.columns.push(("t".into(), "n2".into(), "a".into()));
        }
        let changes = diff(&current, &desired, &renames).unwrap();
        let findings = schemactl::lint::lint(&conn, &current, &desired, &changes)
            .unwrap()
            .into_iter()
            .filter(|f| f.kind == FindingKind::QuotedString)
            .count();
        let gained: Vec<&str> = [(ops.add == 2).then_some("x"), ops.rename_a.then_some("n2")]
            .into_iter()
            .flatten()
            .collect();
        let captured = sites.iter().filter(|s| gained.contains(&LITS[s.lit])).count();
        prop_assert_eq!(findings, captured, "lint\n{}\n->\n{}", current_ddl, desired_ddl);

        let p = plan_verified(&current, &desired, &changes);
        if captured > 0 {
            // Refused by the lint. A plan taken anyway (--ignore-lint) is a plan (an added
            // column and a column renamed to the string's name alike: never "a schemactl
            // bug"), makes what is declared (the new meaning) when the rows fit it, and still
            // leaves every index consistent with its table.
            let p = p.map_err(|e| TestCaseError::fail(format!("{e}\n{current_ddl}\n->\n{desired_ddl}")))?;
            if apply::execute(&conn, &p, Direction::Forward).is_ok() {
                prop_assert!(inspect(&conn).unwrap() == desired, "forward does not converge\n{}", p.script(Direction::Forward));
                prop_assert_eq!(integrity(&conn), vec!["ok".to_string()]);
            }
            return Ok(());
        }
        let p = p.map_err(|e| TestCaseError::fail(format!("{e}\n{current_ddl}\n->\n{desired_ddl}")))?;
        apply::execute(&conn, &p, Direction::Forward)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{}", p.script(Direction::Forward))))?;
        prop_assert!(inspect(&conn).unwrap() == desired, "forward does not converge\n{}", p.script(Direction::Forward));
        prop_assert_eq!(integrity(&conn), vec!["ok".to_string()]);
        prop_assert_eq!(rows(&conn, &sites), rows_before.clone(), "forward rows");
        prop_assert_eq!(verdicts(&conn), verdicts_before.clone(), "forward verdicts");

        apply::execute(&conn, &p, Direction::Reverse)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{}", p.script(Direction::Reverse))))?;
        prop_assert!(inspect(&conn).unwrap() == current, "reverse does not restore\n{}", p.script(Direction::Reverse));
        prop_assert_eq!(integrity(&conn), vec!["ok".to_string()]);
        prop_assert_eq!(rows(&conn, &sites), rows_before, "reverse rows");
        prop_assert_eq!(verdicts(&conn), verdicts_before, "reverse verdicts");
    }
}
