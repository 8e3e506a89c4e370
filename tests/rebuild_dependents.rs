//! Every path that rebuilds a table keeps what depends on it: the table's triggers, triggers
//! on other tables that mention it, and views over it come back, and still work (a trigger
//! fires). A property over the changes that force a rebuild, alone or combined, each run
//! forward and back on a database with rows.

use proptest::prelude::*;
use rusqlite::Connection;
use schemactl::diff::diff;
use schemactl::dsl::Renames;
use schemactl::plan::{Direction, plan};
use schemactl::{apply, inspect};

const BASE: &str = "CREATE TABLE log (msg TEXT);
CREATE TABLE other (id INTEGER PRIMARY KEY, ref INTEGER);
CREATE TRIGGER other_ins AFTER INSERT ON other BEGIN INSERT INTO log SELECT 'other ' || count(*) FROM t; END;";

const DEPENDENTS: &str =
    "CREATE TRIGGER t_ins AFTER INSERT ON t BEGIN INSERT INTO log VALUES ('t ' || new.id); END;
CREATE TRIGGER t_upd AFTER UPDATE OF b ON t BEGIN INSERT INTO log VALUES ('u ' || new.id); END;
CREATE VIEW tv AS SELECT id, b FROM t;
CREATE VIEW tvv AS SELECT count(*) AS n FROM tv;";

/// Changes to `t`: each forces a rebuild (ALTER TABLE cannot make it). The column lists are
/// the parts of `CREATE TABLE t (...)`.
const CHANGES: &[(&str, &str)] = &[
    (
        "add column, non-constant default",
        "ts TEXT DEFAULT (datetime('now'))",
    ),
    (
        "add column, CURRENT_TIMESTAMP default",
        "ts2 TEXT DEFAULT CURRENT_TIMESTAMP",
    ),
    (
        "add stored generated column",
        "g TEXT GENERATED ALWAYS AS (b || 'g') STORED",
    ),
    ("add column NOT NULL without default", "nn TEXT NOT NULL"),
    ("add unique column", "u INTEGER UNIQUE"),
    ("add table check", "CHECK (b IS NOT 'never')"),
    ("add foreign key", "FOREIGN KEY (c) REFERENCES other (id)"),
];

/// Column changes to `t` that force a rebuild: (current definition of c, desired one).
const COLUMN_CHANGES: &[(&str, &str)] = &[
    ("c INTEGER", "c INTEGER"),
    ("c INTEGER", "c TEXT"),
    ("c INTEGER", "c INTEGER NOT NULL DEFAULT 0"),
    ("c INTEGER", "c INTEGER DEFAULT 7"),
    ("c INTEGER", "c INTEGER CHECK (c IS NOT 42)"),
];

fn table(columns: &[&str], strict: bool) -> String {
    format!(
        "CREATE TABLE t ({}){};",
        columns.join(", "),
        if strict { " STRICT" } else { "" }
    )
}

fn schema_of(ddl: &str) -> schemactl::Schema {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(ddl).unwrap();
    inspect(&conn).unwrap()
}

fn count(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

fn dependents(conn: &Connection) -> Vec<String> {
    let mut stmt = conn
        .prepare("SELECT type || ' ' || name FROM sqlite_schema WHERE type IN ('view', 'trigger') ORDER BY 1")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

/// Checks that the triggers fire: an insert into `t` and `other`, an update of `t.b`.
fn triggers_fire(conn: &Connection, what: &str) {
    let before = count(conn, "SELECT count(*) FROM log");
    let nn = dependents_need_nn(conn);
    conn.execute_batch(&format!(
        "INSERT INTO other (id) VALUES (100);
         INSERT INTO t (id, b, c{}) VALUES (100, 'x', 100{});
         UPDATE t SET b = 'y' WHERE id = 100;
         DELETE FROM t WHERE id = 100; DELETE FROM other WHERE id = 100;",
        if nn { ", nn" } else { "" },
        if nn { ", 'n'" } else { "" },
    ))
    .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(
        count(conn, "SELECT count(*) FROM log") - before,
        3,
        "{what}: every trigger fires"
    );
}

fn dependents_need_nn(conn: &Connection) -> bool {
    count(
        conn,
        "SELECT count(*) FROM pragma_table_info('t') WHERE name = 'nn'",
    ) > 0
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any combination of rebuild-forcing changes keeps the table's triggers, the triggers
    /// that mention it, and the views over it, forward and back, with every row.
    #[test]
    fn every_rebuild_keeps_triggers_and_views(
        picks in prop::collection::btree_set(0..CHANGES.len(), 0..3),
        column in 0..COLUMN_CHANGES.len(),
        strict in prop::bool::weighted(0.2),
        rows in any::<bool>(),
    ) {
        let (from_c, to_c) = COLUMN_CHANGES[column];
        prop_assume!(!picks.is_empty() || column != 0);
        // NOT NULL without a default only goes onto an empty table.
        let adds_nn = picks.iter().any(|&i| CHANGES[i].1.contains("NOT NULL"));
        let rows = rows && !adds_nn;
        let mut current_cols = vec!["id INTEGER PRIMARY KEY", "b TEXT"];
        current_cols.push(from_c);
        let mut desired_cols: Vec<String> = vec!["id INTEGER PRIMARY KEY".into(), "b TEXT".into(), to_c.to_string()];
        for &i in &picks {
            desired_cols.push(CHANGES[i].1.to_string());
        }
        // Table constraints go after the columns.
        desired_cols.sort_by_key(|c| c.starts_with("CHECK") || c.starts_with("FOREIGN"));
        let desired_refs: Vec<&str> = desired_cols.iter().map(String::as_str).collect();
        let current_ddl = format!("{BASE}\n{}\n{DEPENDENTS}", table(&current_cols, false));
        let desired_ddl = format!("{BASE}\n{}\n{DEPENDENTS}", table(&desired_refs, strict));
        let desired = schema_of(&desired_ddl);

        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(&current_ddl).unwrap();
        if rows {
            conn.execute_batch(
                "INSERT INTO other (id) VALUES (1), (2), (3), (7);
                 INSERT INTO t (id, b, c) VALUES (1, 'one', 1), (2, 'two', 2), (3, 'three', 3);",
            ).unwrap();
        }
        let current = inspect(&conn).unwrap();
        let rows_before: Vec<(i64, String)> = conn
            .prepare("SELECT id, b FROM t ORDER BY id").unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap()
            .map(|r| r.unwrap()).collect();
        let deps = dependents(&conn);

        let changes = diff(&current, &desired, &Renames::default()).unwrap();
        let p = plan(&current, &desired, &changes);
        prop_assert!(p.steps.iter().any(|s| s.is_rebuild()), "{}", p.script(Direction::Forward));
        apply::execute(&conn, &p, Direction::Forward)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{}", p.script(Direction::Forward))))?;
        let after = inspect(&conn).unwrap();
        prop_assert_eq!(dependents(&conn), deps.clone(), "forward\n{}", p.script(Direction::Forward));
        prop_assert!(after == desired, "forward does not converge\n{}", p.script(Direction::Forward));
        let rows_after: Vec<(i64, String)> = conn
            .prepare("SELECT id, b FROM t ORDER BY id").unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap()
            .map(|r| r.unwrap()).collect();
        prop_assert_eq!(&rows_after, &rows_before);
        triggers_fire(&conn, &format!("forward {desired_ddl}"));

        apply::execute(&conn, &p, Direction::Reverse)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{}", p.script(Direction::Reverse))))?;
        prop_assert_eq!(dependents(&conn), deps, "reverse\n{}", p.script(Direction::Reverse));
        prop_assert!(inspect(&conn).unwrap() == current, "reverse does not restore");
        triggers_fire(&conn, &format!("reverse {current_ddl}"));
    }
}

/// The plan's own proof: a plan that loses a trigger (here, one whose step that recreates it
/// is removed) is refused before anything runs, naming the trigger.
#[test]
fn verify_refuses_a_plan_that_loses_a_trigger() {
    let current_ddl = format!(
        "{BASE}\n{}\n{DEPENDENTS}",
        table(&["id INTEGER PRIMARY KEY", "b TEXT", "c INTEGER"], false)
    );
    let desired_ddl = format!(
        "{BASE}\n{}\n{DEPENDENTS}",
        table(
            &[
                "id INTEGER PRIMARY KEY",
                "b TEXT",
                "c INTEGER",
                "ts TEXT DEFAULT (datetime('now'))"
            ],
            false
        )
    );
    let (current, desired) = (schema_of(&current_ddl), schema_of(&desired_ddl));
    let changes = diff(&current, &desired, &Renames::default()).unwrap();
    let mut p = plan(&current, &desired, &changes);
    schemactl::plan::verify(&p, &current, &desired).unwrap();
    p.steps.retain(|s| s.summary != "create trigger t_upd");
    let err = schemactl::plan::verify(&p, &current, &desired)
        .unwrap_err()
        .to_string();
    assert!(err.contains("t_upd"), "{err}");
    assert!(
        err.starts_with("the forward plan does not produce"),
        "{err}"
    );
}
