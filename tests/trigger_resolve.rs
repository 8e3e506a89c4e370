//! A view or trigger that names a column the plan drops is refused before anything runs,
//! whatever part of it names the column: an INSERT's column list, an UPDATE's or an upsert's
//! SET target, a subquery, a CTE, a WHERE, `new.x`/`old.x`, a view's SELECT. SQLite creates
//! both without resolving them, and its own RENAME check does not resolve the columns a
//! trigger writes, so a plan it accepted could leave a trigger that fails every statement
//! firing it. The plan's proof and the loader share the check ([`schemactl::normal::resolve`]).

use std::process::Command;

use proptest::prelude::*;
use rusqlite::Connection;
use schemactl::diff::diff;
use schemactl::dsl::Renames;
use schemactl::plan::{Direction, plan, verify};
use schemactl::{apply, inspect};

const TABLES: [&str; 2] = ["t0", "t1"];
const COLUMNS: [&str; 3] = ["a", "b", "c"];

/// One statement of a trigger's body: (form, table, column). Every form names `column` of
/// `table` (form 6 names it of the trigger's own table, through `new.`/`old.`).
type Statement = (usize, usize, usize);

fn statement((form, table, column): Statement, on: usize, row: &str) -> (String, usize) {
    let (t, x) = (TABLES[table], COLUMNS[column]);
    let sql = match form {
        0 => format!("INSERT INTO {t} (id, {x}) VALUES (NULL, 1)"),
        1 => format!("UPDATE {t} SET {x} = 1 WHERE id = -1"),
        2 => format!("INSERT INTO {t} (id) VALUES (-1) ON CONFLICT (id) DO UPDATE SET {x} = 2"),
        3 => format!("INSERT INTO log (v) SELECT {x} FROM {t}"),
        4 => format!("DELETE FROM {t} WHERE {x} = -1"),
        5 => format!(
            "INSERT INTO log (v) SELECT v FROM (WITH q AS (SELECT {x} AS v FROM {t}) SELECT v FROM q)"
        ),
        6 => return (format!("INSERT INTO log (v) VALUES ({row}.{x})"), on),
        _ => format!("UPDATE {t} SET id = id WHERE id IN (SELECT {x} FROM {t} WHERE id < -1)"),
    };
    (sql, table)
}

/// A call of an application function (one schemactl does not know, registered by the app on
/// its own connections): where (0 nowhere, 1 a statement of the body, 2 the WHEN clause, 3
/// both) and which (0 a scalar, 1 an aggregate with FILTER, 2 a window function).
type Call = (usize, usize);

/// A trigger: the table it is on, its event (insert, update, delete), its body and its call
/// of an application function.
type Trigger = (usize, usize, Vec<Statement>, Call);

/// The expression calling application function `which` (see [`Call`]), `row` being `new` or
/// `old`.
fn app_call(which: usize, row: &str) -> String {
    match which {
        0 => format!("app_f({row}.id)"),
        1 => "(SELECT app_agg(id) FILTER (WHERE id > 0) FROM t0)".to_string(),
        _ => "(SELECT app_win(id) OVER () FROM t1 LIMIT 1)".to_string(),
    }
}

/// Registers the application's functions on `conn`, as the application does on its own.
fn register_app_functions(conn: &Connection) {
    use rusqlite::functions::{Aggregate, Context, FunctionFlags, WindowAggregate};
    struct Count;
    impl Aggregate<i64, i64> for Count {
        fn init(&self, _: &mut Context<'_>) -> rusqlite::Result<i64> {
            Ok(0)
        }
        fn step(&self, _: &mut Context<'_>, n: &mut i64) -> rusqlite::Result<()> {
            *n += 1;
            Ok(())
        }
        fn finalize(&self, _: &mut Context<'_>, n: Option<i64>) -> rusqlite::Result<i64> {
            Ok(n.unwrap_or(0))
        }
    }
    impl WindowAggregate<i64, i64> for Count {
        fn value(&self, n: Option<&mut i64>) -> rusqlite::Result<i64> {
            Ok(n.map_or(0, |n| *n))
        }
        fn inverse(&self, _: &mut Context<'_>, n: &mut i64) -> rusqlite::Result<()> {
            *n -= 1;
            Ok(())
        }
    }
    let flags = FunctionFlags::SQLITE_UTF8;
    conn.create_scalar_function("app_f", 1, flags, |_| Ok(1))
        .unwrap();
    conn.create_aggregate_function("app_agg", 1, flags, Count)
        .unwrap();
    conn.create_window_function("app_win", 1, flags, Count)
        .unwrap();
}

/// The schema with `dropped` (table, column) left out of its table, and whether one of the
/// triggers or views names that column.
fn ddl(
    triggers: &[Trigger],
    views: &[(usize, usize, bool)],
    dropped: Option<(usize, usize)>,
) -> (String, bool) {
    let mut out = String::from("CREATE TABLE log (v);\n");
    let mut names = false;
    for (i, t) in TABLES.iter().enumerate() {
        let columns: Vec<&str> = COLUMNS
            .iter()
            .enumerate()
            .filter(|&(j, _)| dropped != Some((i, j)))
            .map(|(_, c)| *c)
            .collect();
        out.push_str(&format!(
            "CREATE TABLE {t} (id INTEGER PRIMARY KEY, {});\n",
            columns.join(", ")
        ));
    }
    for (k, (on, event, body, (place, which))) in triggers.iter().enumerate() {
        let (event, row) = [("INSERT", "new"), ("UPDATE", "new"), ("DELETE", "old")][*event];
        let mut stmts = Vec::new();
        if place & 1 == 1 {
            stmts.push(format!("SELECT {};", app_call(*which, row)));
        }
        let when = if place & 2 == 2 {
            format!("WHEN {} IS NOT 0 ", app_call(*which, row))
        } else {
            String::new()
        };
        for s in body {
            let (sql, table) = statement(*s, *on, row);
            names |= dropped == Some((table, s.2));
            stmts.push(format!("{sql};"));
        }
        out.push_str(&format!(
            "CREATE TRIGGER trg{k} AFTER {event} ON {} {when}BEGIN {} END;\n",
            TABLES[*on],
            stmts.join(" ")
        ));
    }
    for (k, (table, column, call)) in views.iter().enumerate() {
        names |= dropped == Some((*table, *column));
        let read = if *call {
            format!("app_f({}) AS v", COLUMNS[*column])
        } else {
            COLUMNS[*column].to_string()
        };
        out.push_str(&format!(
            "CREATE VIEW view{k} AS SELECT id, {read} FROM {};\n",
            TABLES[*table]
        ));
    }
    (out, names)
}

fn schema_of(ddl: &str) -> schemactl::Schema {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(ddl).unwrap();
    inspect(&conn).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Random triggers writing and reading random columns of random tables, random views, a
    /// random dropped column: the plan is refused exactly when a trigger or view names the
    /// dropped column, the loader's check (which `schema check` runs) reports exactly then,
    /// and a plan that is accepted leaves every trigger firing and every view readable. The
    /// triggers and views call random application functions (scalar, aggregate, window; in a
    /// body, in a WHEN clause, in a view) that schemactl does not know: they hide nothing.
    #[test]
    fn a_plan_is_refused_exactly_when_a_body_names_a_dropped_column(
        triggers in prop::collection::vec(
            (
                0..2usize,
                0..3usize,
                prop::collection::vec((0..8usize, 0..2usize, 0..3usize), 1..3),
                (0..4usize, 0..3usize),
            ),
            1..4,
        ),
        views in prop::collection::vec((0..2usize, 0..3usize, any::<bool>()), 0..2),
        dropped in (0..2usize, 0..3usize),
    ) {
        let (current_ddl, _) = ddl(&triggers, &views, None);
        let (desired_ddl, names) = ddl(&triggers, &views, Some(dropped));
        let conn = Connection::open_in_memory().unwrap();
        register_app_functions(&conn);
        conn.execute_batch(&current_ddl).unwrap();
        let current = inspect(&conn).unwrap();
        let desired = schema_of(&desired_ddl);
        let changes = diff(&current, &desired, &Renames::default()).unwrap();
        let p = plan(&current, &desired, &changes);
        let verdict = verify(&p, &current, &desired);
        let refusals = schemactl::normal::resolve::compile(&desired).unwrap();
        prop_assert_eq!(
            !refusals.is_empty(),
            names,
            "loader's check: {:?}\n{}",
            refusals,
            desired_ddl
        );
        match verdict {
            Err(e) => prop_assert!(names, "refused, but nothing names the column: {e}\n{desired_ddl}"),
            Ok(()) => {
                prop_assert!(!names, "accepted, but a body names the column\n{desired_ddl}\n{}", p.script(Direction::Forward));
                apply::execute(&conn, &p, Direction::Forward).unwrap();
                for (i, t) in TABLES.iter().enumerate() {
                    for sql in [
                        format!("INSERT INTO {t} (id) VALUES ({})", 100 + i),
                        format!("UPDATE {t} SET id = id"),
                        format!("DELETE FROM {t}"),
                    ] {
                        let fired = conn.execute_batch(&sql);
                        prop_assert!(fired.is_ok(), "{sql}: {fired:?}\n{desired_ddl}");
                    }
                }
                for k in 0..views.len() {
                    let read = conn.execute_batch(&format!("SELECT * FROM view{k}"));
                    prop_assert!(read.is_ok(), "view{k}: {read:?}");
                }
            }
        }
    }
}

/// `schema check` refuses a trigger whose body writes a column its table does not have, at
/// the trigger's place, and accepts one that writes a table the schema does not declare (an
/// excluded table the database holds).
#[test]
fn schema_check_resolves_what_a_trigger_writes() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.yaml");
    let schema = |body: &str| {
        format!(
            "schemactl: 1\nversion: 1\ntables:\n  t:\n    columns:\n      id: {{ type: INTEGER, primary_key: true }}\n      d: {{ type: TEXT }}\n  u:\n    columns:\n      id: {{ type: INTEGER, primary_key: true }}\ntriggers:\n  u_log:\n    sql: \"CREATE TRIGGER u_log AFTER INSERT ON u BEGIN {body}; END\"\n"
        )
    };
    let check = |body: &str| {
        std::fs::write(&file, schema(body)).unwrap();
        Command::new(env!("CARGO_BIN_EXE_schemactl"))
            .current_dir(dir.path())
            .env("NO_COLOR", "1")
            .args(["schema", "check", "--schema"])
            .arg(&file)
            .output()
            .unwrap()
    };
    for (body, message) in [
        (
            "INSERT INTO t (id, c) VALUES (new.id, 1)",
            "table t has no column named c",
        ),
        ("UPDATE t SET c = 1 WHERE id = new.id", "no such column: c"),
        (
            "INSERT INTO t (id) VALUES (new.id) ON CONFLICT (id) DO UPDATE SET c = 1",
            "no such column: c",
        ),
        (
            "INSERT INTO t (id, d) VALUES (new.id, new.nope)",
            "no such column: new.nope",
        ),
        // An application function before the error hides nothing.
        (
            "SELECT app_notify(new.id); INSERT INTO t (id, c) VALUES (new.id, 1)",
            "table t has no column named c",
        ),
        (
            "SELECT app_sum(id) FILTER (WHERE id > 0), app_rank(id) OVER () FROM t; UPDATE t SET c = 1",
            "no such column: c",
        ),
    ] {
        let out = check(body);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{body}: {stderr}");
        assert!(
            stderr.contains(&format!("trigger \"u_log\": SQLite refuses it: {message}")),
            "{body}: {stderr}"
        );
        assert!(stderr.contains("s.yaml:13:"), "{body}: {stderr}");
    }
    for body in [
        "INSERT INTO t (id, d) VALUES (new.id, 'x')",
        "INSERT INTO legacy_audit (id) VALUES (new.id)",
        "UPDATE t SET d = app_function(new.id)",
    ] {
        let out = check(body);
        assert!(
            out.status.success(),
            "{body}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A trigger the schema leaves alone (`exclude`), on a table the plan does not touch, that
/// writes a column the plan drops: `schema/` cannot show it, so the plan's proof refuses the
/// plan, naming it, and nothing changes.
#[test]
fn an_excluded_trigger_writing_a_dropped_column_refuses_the_sync() {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["schema", "migrations", "rollbacks"] {
        std::fs::create_dir(dir.path().join(sub)).unwrap();
    }
    std::fs::write(
        dir.path().join("schemactl.toml"),
        "database = \"db.sqlite\"\nbackups = \"backups\"\nexclude = [\"legacy_*\"]\n",
    )
    .unwrap();
    let write = |version: u32, note: &str| {
        std::fs::write(
            dir.path().join("schema/s.yaml"),
            format!(
                "schemactl: 1\nversion: {version}\ntables:\n  t:\n    columns:\n      id: {{ type: INTEGER, primary_key: true }}\n      v: {{ type: TEXT }}\n{note}  log:\n    columns:\n      m: {{ type: TEXT }}\n"
            ),
        )
        .unwrap();
    };
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_schemactl"))
            .current_dir(dir.path())
            .env("NO_COLOR", "1")
            .env_remove("SCHEMACTL_DATABASE")
            .args(args)
            .output()
            .unwrap()
    };
    write(1, "      note: { type: TEXT }\n");
    assert!(run(&["sync", "--yes"]).status.success());
    let db = dir.path().join("db.sqlite");
    Connection::open(&db)
        .unwrap()
        .execute_batch(
            "CREATE TRIGGER legacy_w AFTER INSERT ON log BEGIN UPDATE t SET note = new.m; END;",
        )
        .unwrap();
    let before = std::fs::read(&db).unwrap();
    write(2, "");
    let out = run(&["sync", "--yes", "--allow-destructive"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("no longer works: trigger \"legacy_w\": no such column: note"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&db).unwrap(), before, "nothing may change");
}

/// A view calling an application function (one the application registers on its own
/// connections) is accepted by `import` and `schema check`, as SQLite accepts it; the same
/// view reading a column its table does not have is still refused, naming the column.
#[test]
fn a_view_calling_an_application_function_is_checked_for_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["schema", "migrations", "rollbacks"] {
        std::fs::create_dir(dir.path().join(sub)).unwrap();
    }
    std::fs::write(
        dir.path().join("schemactl.toml"),
        "database = \"db.sqlite\"\nbackups = \"backups\"\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_schemactl"))
            .current_dir(dir.path())
            .env("NO_COLOR", "1")
            .env_remove("SCHEMACTL_DATABASE")
            .args(args)
            .output()
            .unwrap()
    };
    Connection::open(dir.path().join("db.sqlite"))
        .unwrap()
        .execute_batch(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);
             CREATE VIEW tv AS SELECT app_fmt(v) AS f, app_total(id) OVER () AS n FROM t;
             INSERT INTO t (v) VALUES ('a');",
        )
        .unwrap();
    let out = run(&["import", "--out", "schema/app.yaml"]);
    assert!(
        out.status.success(),
        "import: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&["schema", "check"]);
    assert!(
        out.status.success(),
        "schema check: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let file = dir.path().join("schema/app.yaml");
    for (select, message) in [
        ("SELECT app_fmt(nope) AS f FROM t", "no such column: nope"),
        (
            "SELECT app_fmt(v) AS f, app_total(id) OVER () AS n FROM t JOIN gone",
            "no such table: main.gone",
        ),
    ] {
        let yaml = format!(
            "schemactl: 1\nversion: 1\ntables:\n  t:\n    columns:\n      id: {{ type: INTEGER, primary_key: true }}\n      v: {{ type: TEXT }}\nviews:\n  tv: {{ sql: \"{select}\" }}\n"
        );
        std::fs::write(&file, yaml).unwrap();
        let out = run(&["schema", "check"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{select}: {stderr}");
        assert!(
            stderr.contains(&format!("view \"tv\": SQLite refuses it: {message}")),
            "{select}: {stderr}"
        );
    }
}
