//! `plan --format sql` is all-or-nothing when the runner goes on after an error (`sqlite3`
//! without -bail, `.read`, GUI tools): whichever single statement of the plan fails, the
//! database ends exactly as it was (schema, rows, rowids, sqlite_sequence) or exactly as the
//! whole script leaves it, with no transaction open.
//!
//! Representative plans (a rebuild with an AUTOINCREMENT counter, a unique index, a view, a
//! trigger and a child table; add column + unique index; native constraint steps and their
//! 3.40 rebuild form; index changes; renames; drops and creates), both directions, both
//! targets. For every statement of the plan: the statement skipped (a statement that fails
//! changes nothing), and the statement replaced by `ROLLBACK` (a failure that ends the
//! transaction, such as SQLITE_FULL), and the statement skipped after a `BEGIN IMMEDIATE`
//! that failed (another connection writing). Real failures: a table already named `_schemactl_new_t`,
//! a unique index over duplicates, and a CHECK that calls a function the runner lacks.

mod common;

use std::ffi::CString;

use rusqlite::Connection;
use schemactl::diff::diff;
use schemactl::dsl::Renames;
use schemactl::plan::{Direction, Plan, SqliteVersion, Target, plan_for};

/// A whole dump of the main database: every object's SQL, then every table's rows (rowids
/// included where there are), each value with its type, sorted.
fn state(conn: &Connection) -> Vec<String> {
    let mut out = Vec::new();
    let mut objects: Vec<(String, String, Option<String>)> = conn
        .prepare("SELECT type, name, sql FROM main.sqlite_schema")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    objects.sort();
    for (kind, name, sql) in &objects {
        out.push(format!("{kind} {name}: {sql:?}"));
        if kind != "table" {
            continue;
        }
        let q = schemactl::sql::quote_ident(name);
        let columns: Vec<String> = conn
            .prepare("SELECT name FROM pragma_table_info(?1)")
            .unwrap()
            .query_map([name], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        let values: Vec<String> = columns
            .iter()
            .map(|c| {
                let c = schemactl::sql::quote_ident(c);
                format!("typeof({c}) || ':' || quote({c})")
            })
            .collect();
        let list = values.join(" || ' ' || ");
        let sql = format!("SELECT 'rowid ' || rowid || ' ' || {list} FROM main.{q}");
        let sql = match conn.prepare(&sql) {
            Ok(_) => sql,
            Err(_) => format!("SELECT {list} FROM main.{q}"),
        };
        let mut rows: Vec<String> = conn
            .prepare(&sql)
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        rows.sort();
        out.extend(rows.into_iter().map(|r| format!("  {name}: {r}")));
    }
    out
}

/// Splits a script into its statements as a shell does (a trigger's body stays whole), each
/// with the comment lines before it.
fn split(script: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, _) in script.match_indices(';') {
        let chunk = &script[start..=i];
        let c = CString::new(chunk).unwrap();
        // SAFETY: a NUL-terminated string that lives across the call.
        if unsafe { rusqlite::ffi::sqlite3_complete(c.as_ptr()) } != 0 {
            out.push(chunk.to_string());
            start = i + 1;
        }
    }
    out
}

/// The statement itself: the chunk without the comment lines before it and its `;`.
fn bare(chunk: &str) -> &str {
    let mut rest = chunk.trim_start();
    while rest.starts_with("--") {
        rest = rest.split_once('\n').map_or("", |(_, r)| r).trim_start();
    }
    rest.trim_end().trim_end_matches(';')
}

/// Runs `chunks` as a shell without -bail does: each one, going on after every error.
fn run_without_bail(conn: &Connection, chunks: &[String]) {
    for chunk in chunks {
        let _ = conn.execute_batch(chunk);
    }
}

struct Case {
    name: &'static str,
    from: &'static str,
    rows: &'static str,
    to: &'static str,
    renames: Renames,
}

fn cases() -> Vec<Case> {
    let none = Renames::default;
    vec![
        Case {
            name: "rebuild with counter, unique index, view, trigger and child",
            from: "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, e TEXT, n INTEGER);
                   CREATE UNIQUE INDEX ix_e ON t (e);
                   CREATE VIEW v AS SELECT id, e FROM t;
                   CREATE TABLE log (x);
                   CREATE TRIGGER tr AFTER INSERT ON t BEGIN INSERT INTO log VALUES (new.id); END;
                   CREATE TABLE c (id INTEGER PRIMARY KEY, t_id INTEGER REFERENCES t (id));",
            rows: "INSERT INTO t VALUES (1, 'a@x', 1), (5, 'b@x', 2), (9, 'c@x', 3);
                   DELETE FROM t WHERE id = 9;
                   INSERT INTO c VALUES (1, 1), (2, 5);",
            to: "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, e TEXT COLLATE NOCASE, n TEXT);
                 CREATE UNIQUE INDEX ix_e ON t (e);
                 CREATE VIEW v AS SELECT id, e FROM t;
                 CREATE TABLE log (x);
                 CREATE TRIGGER tr AFTER INSERT ON t BEGIN INSERT INTO log VALUES (new.id); END;
                 CREATE TABLE c (id INTEGER PRIMARY KEY, t_id INTEGER REFERENCES t (id));",
            renames: none(),
        },
        Case {
            name: "add column and unique index",
            from: "CREATE TABLE t (id INTEGER PRIMARY KEY, e TEXT, n INTEGER);",
            rows: "INSERT INTO t VALUES (1, 'a@x', 1), (2, 'b@x', 2);",
            to: "CREATE TABLE t (id INTEGER PRIMARY KEY, e TEXT, n INTEGER, f TEXT DEFAULT 'x');
                 CREATE UNIQUE INDEX ix_e ON t (e);",
            renames: none(),
        },
        Case {
            name: "native constraint steps",
            from: "CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER, b TEXT,
                     CONSTRAINT a_pos CHECK (a > 0));",
            rows: "INSERT INTO t VALUES (1, 1, 'x'), (2, 7, 'y');",
            to: "CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER NOT NULL, b TEXT,
                   CONSTRAINT a_small CHECK (a < 100));",
            renames: none(),
        },
        Case {
            name: "index changes",
            from: "CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER, b TEXT);
                   CREATE INDEX i1 ON t (a); CREATE INDEX i3 ON t (a, b);",
            rows: "INSERT INTO t VALUES (1, 1, 'x'), (2, 2, 'y');",
            to: "CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER, b TEXT);
                 CREATE INDEX i2 ON t (b); CREATE INDEX i3 ON t (b, a);",
            renames: none(),
        },
        Case {
            name: "renames",
            from: "CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER, b TEXT);
                   CREATE INDEX t_a ON t (a);",
            rows: "INSERT INTO t VALUES (1, 1, 'x'), (2, 2, 'y');",
            to: "CREATE TABLE u (id INTEGER PRIMARY KEY, a2 INTEGER, b TEXT);
                 CREATE INDEX t_a ON u (a2);",
            renames: Renames {
                tables: vec![("u".into(), "t".into())],
                columns: vec![("u".into(), "a2".into(), "a".into())],
                ..Renames::default()
            },
        },
        Case {
            name: "drops and creates",
            from: "CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER, gone TEXT);
                   CREATE TABLE old (x); CREATE VIEW ov AS SELECT x FROM old;",
            rows: "INSERT INTO t VALUES (1, 1, 'x'), (2, 2, 'y'); INSERT INTO old VALUES (1);",
            to: "CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER);
                 CREATE TABLE fresh (y TEXT); CREATE VIEW fv AS SELECT y FROM fresh;
                 CREATE TRIGGER ftr AFTER DELETE ON t BEGIN DELETE FROM fresh; END;",
            renames: none(),
        },
    ]
}

fn database(ddl: &str, rows: &str) -> Connection {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(ddl).unwrap();
    conn.execute_batch(rows).unwrap();
    conn
}

/// A copy of `conn`'s main database in a new in-memory connection.
fn copy(conn: &Connection) -> Connection {
    let mut to = Connection::open_in_memory().unwrap();
    {
        let backup = rusqlite::backup::Backup::new(conn, &mut to).unwrap();
        backup.step(-1).unwrap();
    }
    to
}

fn the_plan(case: &Case, target: Target, direction: Direction) -> (Plan, String) {
    let current = schemactl::inspect(&database(case.from, "")).unwrap();
    let desired = common::converge::schema_of(case.to).unwrap();
    let changes = diff(&current, &desired, &case.renames).unwrap();
    let plan = plan_for(&current, &desired, &changes, target);
    let script = plan.script(direction);
    (plan, script)
}

/// Every plan statement of `script` fails in turn, in each way; the database ends as `before`
/// or as `after`, with no transaction open.
fn every_statement_fails(
    context: &str,
    start: &Connection,
    plan: &Plan,
    direction: Direction,
    script: &str,
) -> usize {
    let before = state(start);
    let full = copy(start);
    full.execute_batch(script)
        .unwrap_or_else(|e| panic!("{context}: the script fails with -bail: {e}\n{script}"));
    let after = state(&full);
    assert_ne!(before, after, "{context}: the script changes nothing");
    let chunks = split(script);
    let own: Vec<&str> = plan
        .statements(direction)
        .into_iter()
        .map(|(_, s)| s)
        .collect();
    let positions: Vec<usize> = (0..chunks.len())
        .filter(|&i| own.contains(&bare(&chunks[i])))
        .collect();
    assert_eq!(
        positions.len(),
        own.len(),
        "{context}: not every plan statement found in the script\n{script}"
    );
    // Without a failure, a runner without -bail gets the same as with it.
    let plain = copy(start);
    run_without_bail(&plain, &chunks);
    assert!(plain.is_autocommit(), "{context}: a transaction left open");
    assert_eq!(
        state(&plain),
        after,
        "{context}: run without -bail\n{script}"
    );
    let begin = chunks
        .iter()
        .position(|c| bare(c) == "BEGIN IMMEDIATE")
        .unwrap_or_else(|| panic!("{context}: no BEGIN IMMEDIATE\n{script}"));
    for &i in &positions {
        for how in [
            "skipped",
            "replaced by ROLLBACK",
            "skipped, after a BEGIN that failed",
        ] {
            let mut broken = chunks.clone();
            match how {
                "skipped" => broken[i] = String::new(),
                "replaced by ROLLBACK" => broken[i] = "ROLLBACK;".to_string(),
                _ => {
                    // BEGIN IMMEDIATE failed (another connection was writing): the runner
                    // is in autocommit when the script goes on.
                    broken[i] = String::new();
                    broken[begin] = String::new();
                }
            }
            let conn = copy(start);
            run_without_bail(&conn, &broken);
            let what = format!("{context}: statement {:?} {how}", bare(&chunks[i]));
            assert!(conn.is_autocommit(), "{what}: a transaction left open");
            let got = state(&conn);
            assert!(
                got == before || got == after,
                "{what}: the database is half migrated\nbefore: {before:#?}\nafter: {after:#?}\ngot: {got:#?}\n{script}"
            );
        }
    }
    positions.len()
}

#[test]
fn any_single_failing_statement_leaves_before_or_after() {
    let old = Target {
        sqlite: SqliteVersion::new(3, 40, 0),
    };
    let mut statements = 0;
    for case in cases() {
        for (tname, target) in [("bundled", Target::BUNDLED), ("3.40", old)] {
            let start = database(case.from, case.rows);
            let (plan, forward) = the_plan(&case, target, Direction::Forward);
            let context = format!("{} ({tname}, forward)", case.name);
            statements +=
                every_statement_fails(&context, &start, &plan, Direction::Forward, &forward);
            // The reverse, from where the forward leaves the database.
            let done = copy(&start);
            done.execute_batch(&forward).unwrap();
            let reverse = plan.script(Direction::Reverse);
            let context = format!("{} ({tname}, reverse)", case.name);
            statements +=
                every_statement_fails(&context, &done, &plan, Direction::Reverse, &reverse);
        }
    }
    assert!(statements > 100, "only {statements} statements tried");
}

/// Runs the forward script of `case` without -bail on a database with `rows` and `extra`,
/// and returns the state before and after.
fn real_failure(case: &Case, extra: &str) -> (Vec<String>, Vec<String>, bool, String) {
    let (_, script) = the_plan(case, Target::BUNDLED, Direction::Forward);
    let conn = database(case.from, case.rows);
    conn.execute_batch(extra).unwrap();
    let before = state(&conn);
    run_without_bail(&conn, &split(&script));
    (before, state(&conn), conn.is_autocommit(), script)
}

#[test]
fn a_table_in_the_way_of_the_rebuild_changes_nothing() {
    let case = &cases()[0];
    let (before, got, autocommit, script) = real_failure(
        case,
        "CREATE TABLE _schemactl_new_t (id INTEGER PRIMARY KEY AUTOINCREMENT, e TEXT, n TEXT);
         INSERT INTO _schemactl_new_t VALUES (1, 'stale1', 1), (5, 'stale2', 2);",
    );
    assert!(autocommit);
    assert_eq!(got, before, "{script}");
}

#[test]
fn a_unique_index_over_duplicates_changes_nothing() {
    // Without a rebuild (add column + unique index), and after one (NOCASE duplicates).
    let (before, got, autocommit, script) = real_failure(&cases()[1], "UPDATE t SET e = 'a@x'");
    assert!(autocommit);
    assert_eq!(got, before, "{script}");
    let (before, got, autocommit, script) =
        real_failure(&cases()[0], "UPDATE t SET e = 'A@X' WHERE id = 5");
    assert!(autocommit);
    assert_eq!(got, before, "{script}");
}

#[test]
fn a_create_the_runner_cannot_prepare_changes_nothing() {
    // The new table's CHECK calls a function this connection lacks (as 3.40 lacks concat()):
    // the plan is made where it exists, the script runs where it does not.
    let case = Case {
        name: "missing function",
        from: "CREATE TABLE t (id INTEGER PRIMARY KEY, e TEXT);",
        rows: "INSERT INTO t VALUES (1, 'a'), (2, 'b');",
        to: "CREATE TABLE t (id INTEGER PRIMARY KEY, e TEXT, CHECK (schemactl_test_fn(e) <> ''));",
        renames: Renames::default(),
    };
    let planning = Connection::open_in_memory().unwrap();
    planning
        .create_scalar_function(
            "schemactl_test_fn",
            1,
            rusqlite::functions::FunctionFlags::SQLITE_DETERMINISTIC,
            |ctx| ctx.get::<rusqlite::types::Value>(0),
        )
        .unwrap();
    planning.execute_batch(case.from).unwrap();
    let current = schemactl::inspect(&planning).unwrap();
    planning.execute_batch("DROP TABLE t;").unwrap();
    planning.execute_batch(case.to).unwrap();
    let desired = schemactl::inspect(&planning).unwrap();
    let changes = diff(&current, &desired, &case.renames).unwrap();
    let script = plan_for(&current, &desired, &changes, Target::BUNDLED).script(Direction::Forward);
    assert!(script.contains("_schemactl_new_t"), "{script}");
    let conn = database(case.from, case.rows);
    let before = state(&conn);
    run_without_bail(&conn, &split(&script));
    assert!(conn.is_autocommit());
    assert_eq!(state(&conn), before, "{script}");
}
