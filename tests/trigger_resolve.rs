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

/// A trigger: the table it is on, its event (insert, update, delete) and its body.
type Trigger = (usize, usize, Vec<Statement>);

/// The schema with `dropped` (table, column) left out of its table, and whether one of the
/// triggers or views names that column.
fn ddl(
    triggers: &[Trigger],
    views: &[(usize, usize)],
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
    for (k, (on, event, body)) in triggers.iter().enumerate() {
        let (event, row) = [("INSERT", "new"), ("UPDATE", "new"), ("DELETE", "old")][*event];
        let mut stmts = Vec::new();
        for s in body {
            let (sql, table) = statement(*s, *on, row);
            names |= dropped == Some((table, s.2));
            stmts.push(format!("{sql};"));
        }
        out.push_str(&format!(
            "CREATE TRIGGER trg{k} AFTER {event} ON {} BEGIN {} END;\n",
            TABLES[*on],
            stmts.join(" ")
        ));
    }
    for (k, (table, column)) in views.iter().enumerate() {
        names |= dropped == Some((*table, *column));
        out.push_str(&format!(
            "CREATE VIEW view{k} AS SELECT id, {} FROM {};\n",
            COLUMNS[*column], TABLES[*table]
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
    /// and a plan that is accepted leaves every trigger firing and every view readable.
    #[test]
    fn a_plan_is_refused_exactly_when_a_body_names_a_dropped_column(
        triggers in prop::collection::vec(
            (0..2usize, 0..3usize, prop::collection::vec((0..8usize, 0..2usize, 0..3usize), 1..3)),
            1..4,
        ),
        views in prop::collection::vec((0..2usize, 0..3usize), 0..2),
        dropped in (0..2usize, 0..3usize),
    ) {
        let (current_ddl, _) = ddl(&triggers, &views, None);
        let (desired_ddl, names) = ddl(&triggers, &views, Some(dropped));
        let conn = Connection::open_in_memory().unwrap();
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
