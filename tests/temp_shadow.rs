//! A TEMP table named like a main table (SQLite reads an unqualified name in TEMP first) never
//! answers for main's in what schemactl counts and checks around a migration: the row counts
//! before and after, the recount before each drop, the drop estimate, the foreign-key check,
//! the schema check, the foreign-key guard of `plan --format sql` and the run's own records
//! (history, migrations, identity, stashes) all name main's table. So a migration that parks a
//! TEMP table over a main one and then drops or empties main's is refused without
//! `--allow-destructive` (with or without the rehearsal), and one that only makes TEMP tables
//! is never refused.

mod common;

use std::path::Path;

use proptest::prelude::*;
use rusqlite::Connection;

const ROWS: &str = "INSERT INTO {t} (v, w) VALUES ('a1', 1), ('a2', 2), ('a3', 3)";

/// A fresh project whose V1 made main's table `t` (3 rows) and a child `c` referencing it.
fn project(t: &str) -> tempfile::TempDir {
    let dir = common::empty_project();
    let q = schemactl::sql::quote_ident(t);
    std::fs::write(
        dir.path().join("migrations/V1__init.sql"),
        format!(
            "CREATE TABLE {q} (id INTEGER PRIMARY KEY, v TEXT, w INTEGER);\n\
             CREATE TABLE c (id INTEGER PRIMARY KEY, p INTEGER REFERENCES {q}(id));\n"
        ),
    )
    .unwrap();
    common::ok_in(dir.path(), &["apply", "--yes"]);
    let conn = Connection::open(dir.path().join("db.sqlite")).unwrap();
    conn.execute_batch(&ROWS.replace("{t}", &q)).unwrap();
    conn.execute_batch("INSERT INTO c (p) VALUES (1), (2)")
        .unwrap();
    dir
}

/// Main's rows of `t` and `c`, as text.
fn main_rows(dir: &Path, t: &str) -> Vec<String> {
    let conn = Connection::open(dir.join("db.sqlite")).unwrap();
    let mut out = Vec::new();
    for table in [schemactl::sql::quote_ident(t), "c".into()] {
        let mut stmt = conn
            .prepare(&format!("SELECT * FROM main.{table} ORDER BY id"))
            .unwrap();
        let n = stmt.column_count();
        let rows = stmt
            .query_map([], |r| {
                (0..n)
                    .map(|i| {
                        r.get::<_, rusqlite::types::Value>(i)
                            .map(|v| format!("{v:?}"))
                    })
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .unwrap();
        out.extend(rows.map(|r| format!("{table}: {}", r.unwrap().join("|"))));
    }
    out
}

/// Runs `apply --yes` with V2 holding `sql` and the mode's flags: its exit code and output.
fn apply(dir: &Path, sql: &str, mode: &[&str]) -> (Option<i32>, String) {
    std::fs::write(dir.join("migrations/V2__hand.sql"), sql).unwrap();
    let mut args = vec!["apply", "--yes"];
    args.extend(mode);
    let out = common::schemactl(dir, &args);
    (
        out.status.code(),
        format!("{}{}", common::stdout(&out), common::stderr(&out)),
    )
}

const MODES: [&[&str]; 3] = [
    &["--skip-rehearsal"],
    &[],
    &["--skip-rehearsal", "--verify"],
];

/// A table name: a word, some in another case than the migration writes it.
fn name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_]{0,5}".prop_filter("no keyword, not c", |n| {
        !schemactl::sql::is_keyword(n) && n != "c" && !n.starts_with("sqlite")
    })
}

/// The ways a migration makes a TEMP table named `t` (`x` spelled in any case).
fn shadow(x: &str, how: usize) -> String {
    match how {
        0 => format!("CREATE TEMP TABLE {x} (id INTEGER PRIMARY KEY, v TEXT, w INTEGER);"),
        1 => format!("CREATE TEMPORARY TABLE {x} (x TEXT);"),
        2 => format!("CREATE TABLE temp.{x} (id INTEGER PRIMARY KEY, v TEXT, w INTEGER);"),
        _ => format!("CREATE TEMP TABLE {x} AS SELECT * FROM main.{x} WHERE 0;"),
    }
}

/// `t` in a random case.
fn spelled(t: &str, upper: &[bool]) -> String {
    t.chars()
        .zip(upper.iter().cycle())
        .map(|(c, u)| if *u { c.to_ascii_uppercase() } else { c })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// A migration that hides main's table behind a TEMP one of the same name and then drops
    /// it, empties it, drops a column of it, or breaks a foreign key to it, is refused
    /// (exit 1) without --allow-destructive, in every mode, and main keeps every row.
    #[test]
    fn rows_lost_under_a_temp_table_of_the_same_name_are_refused(
        t in name(),
        upper in proptest::collection::vec(any::<bool>(), 1..4),
        how in 0..4usize,
        loss in 0..6usize,
        mode in 0..3usize,
    ) {
        let dir = project(&t);
        let before = main_rows(dir.path(), &t);
        let x = spelled(&t, &upper);
        let create = format!("CREATE TABLE main.{x} (id INTEGER PRIMARY KEY, v TEXT, w INTEGER);");
        let lose = match loss {
            0 => format!("DROP TABLE main.{x}; {create}"),
            1 => format!("DELETE FROM main.{x};"),
            2 => format!("DELETE FROM main.{x} WHERE id > 1;"),
            3 => format!("ALTER TABLE main.{x} DROP COLUMN v;"),
            4 => format!("CREATE TEMP TABLE s AS SELECT * FROM main.{x}; DROP TABLE main.{x}; {create} INSERT INTO temp.{x} SELECT * FROM s;"),
            _ => format!("INSERT INTO temp.{x} SELECT * FROM main.{x}; DELETE FROM main.{x};"),
        };
        let sql = format!("{}\n{lose}\n", shadow(&x, how));
        let (code, out) = apply(dir.path(), &sql, MODES[mode]);
        // Some shapes do not run at all (a column the TEMP table lacks): refused either way.
        prop_assert_eq!(code, Some(1), "{}\n{}", sql, out);
        prop_assert_eq!(main_rows(dir.path(), &t), before, "{}\n{}", sql, out);
    }

    /// A migration that only makes, fills, renames and drops TEMP tables named like main's
    /// (left for the connection to drop, or dropped while empty) applies (exit 0), in every
    /// mode, and main keeps every row.
    #[test]
    fn a_temp_only_migration_is_never_refused(
        t in name(),
        upper in proptest::collection::vec(any::<bool>(), 1..4),
        how in 0..4usize,
        then in 0..5usize,
        mode in 0..3usize,
    ) {
        let dir = project(&t);
        let before = main_rows(dir.path(), &t);
        let x = spelled(&t, &upper);
        let more = match then {
            0 => String::new(),
            // Main's rows copied into TEMP's (left there): main keeps them.
            1 if how == 1 => format!("INSERT INTO temp.{x} (x) SELECT v FROM main.{x};"),
            1 => format!("INSERT INTO temp.{x} SELECT * FROM main.{x};"),
            2 => format!("DROP TABLE {x};"),
            3 => format!("ALTER TABLE temp.{x} RENAME TO {x}_w; DROP TABLE temp.{x}_w;"),
            _ => format!("DELETE FROM {x};"),
        };
        // A TEMP table filled from main's and dropped is gated as any filled table is (the
        // estimate does not read a WHERE): made empty here instead.
        let made = match how {
            3 => format!("CREATE TEMP TABLE IF NOT EXISTS {x} (id INTEGER PRIMARY KEY, v TEXT, w INTEGER);"),
            how => shadow(&x, how),
        };
        let sql = format!("{made}\n{more}\n");
        let (code, out) = apply(dir.path(), &sql, MODES[mode]);
        prop_assert_eq!(code, Some(0), "{}\n{}", sql, out);
        prop_assert_eq!(main_rows(dir.path(), &t), before, "{}\n{}", sql, out);
    }
}

/// A foreign key of main's child broken under a TEMP table named like the child (the
/// migration drops a table, so foreign keys are off and every table is checked): the
/// foreign-key check reads main's child, and refuses.
#[test]
fn a_broken_foreign_key_under_a_temp_table_is_refused() {
    for mode in MODES {
        let dir = project("a");
        let before = main_rows(dir.path(), "a");
        let sql = "CREATE TEMP TABLE c (x TEXT);\nCREATE TABLE z (x);\nDROP TABLE z;\nUPDATE main.a SET id = 10 WHERE id = 1;\n";
        let (code, out) = apply(dir.path(), sql, mode);
        assert_eq!(code, Some(1), "{mode:?}: {out}");
        assert!(out.contains("foreign_key_check failed"), "{mode:?}: {out}");
        assert_eq!(main_rows(dir.path(), "a"), before, "{mode:?}: {out}");
    }
}

/// `plan --format sql` run on a connection that holds a TEMP table named like a main table
/// its foreign-key guard checks (a `.read` in a session that made one): the guard reads main's
/// table, finds the orphan, and the whole script rolls back. Each way of spelling the child in
/// any case; a TEMP parent named like main's too.
#[test]
fn a_plan_script_guard_is_not_hidden_by_a_temp_table() {
    use schemactl::plan::{Direction, Target, plan_for};
    let from = "CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER);
                CREATE TABLE c (id INTEGER PRIMARY KEY, t_id INTEGER REFERENCES t (id));";
    // A type change rebuilds t: foreign keys go off, and the guard checks t's children.
    let to = "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT);
              CREATE TABLE c (id INTEGER PRIMARY KEY, t_id INTEGER REFERENCES t (id));";
    let open = || {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(from).unwrap();
        conn.execute_batch(
            "PRAGMA foreign_keys = OFF; INSERT INTO t VALUES (1, 1);
             INSERT INTO c VALUES (1, 1), (2, 99); PRAGMA foreign_keys = ON;",
        )
        .unwrap();
        conn
    };
    let current = schemactl::inspect(&open()).unwrap();
    let desired = common::converge::schema_of(to).unwrap();
    let changes = schemactl::diff::diff(&current, &desired, &Default::default()).unwrap();
    let plan = plan_for(&current, &desired, &changes, Target::BUNDLED);
    let script = plan.script(Direction::Forward);
    assert!(
        script.contains("foreign_key_check"),
        "the plan has no foreign-key guard:\n{script}"
    );
    for temp in [
        "",
        "CREATE TEMP TABLE c (x);",
        "CREATE TEMP TABLE C (x);",
        "CREATE TABLE temp.\"c\" (x); CREATE TEMP TABLE t (id INTEGER PRIMARY KEY);",
        "CREATE TEMP TABLE t (id INTEGER PRIMARY KEY); INSERT INTO temp.t VALUES (99);",
    ] {
        let conn = open();
        conn.execute_batch(temp).unwrap();
        let outcome = conn.execute_batch(&script);
        assert!(
            outcome.is_err(),
            "{temp:?}: the script committed over an orphan of main.c"
        );
        let ty: String = conn
            .query_row(
                "SELECT type FROM pragma_table_info('t', 'main') WHERE name = 'a'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(ty, "INTEGER", "{temp:?}: the script's change was kept");
    }
}

/// A migration that makes TEMP tables named like schemactl's own: what the run records goes
/// to main's tables all the same, so the migration is applied once, and recorded as applied;
/// one named like the records of what ran (history, migrations, identity) is refused before it
/// is made, and nothing is recorded.
#[test]
fn bookkeeping_is_not_hidden_by_temp_tables() {
    for mode in MODES {
        let dir = project("a");
        let sql = "CREATE TEMP TABLE _schemactl_rollback_stashes (name, version, migrations, restore, what);
CREATE TEMP TABLE _schemactl_dropped_counters (version, name, seq);
CREATE TABLE z (x);\n";
        let (code, out) = apply(dir.path(), sql, mode);
        assert_eq!(code, Some(0), "{mode:?}: {out}");
        let conn = Connection::open(dir.path().join("db.sqlite")).unwrap();
        for table in ["_schemactl_history", "_schemactl_migrations"] {
            let v: i64 = conn
                .query_row(&format!("SELECT max(version) FROM main.{table}"), [], |r| {
                    r.get(0)
                })
                .unwrap();
            assert_eq!(v, 2, "{mode:?}: {table} lacks V2: {out}");
        }
        // Nothing pending: a second apply runs nothing (V2 again would fail on table z).
        let again = common::ok_in(dir.path(), &["apply", "--yes"]);
        assert!(!again.contains("V2__hand"), "{mode:?}: {again}");
        for record in [
            "_schemactl_history (version, name, applied_on, checksum)",
            "_schemactl_migrations (version, name, kind, forward, reverse, checksum, applied_at)",
            "_schemactl_identity (id, created_at, created_path, path, file)",
        ] {
            let dir = project("a");
            let sql = format!("CREATE TABLE z (x);\nCREATE TEMP TABLE {record};\n");
            let (code, out) = apply(dir.path(), &sql, mode);
            assert_eq!(code, Some(1), "{mode:?} {record}: {out}");
            assert!(out.contains("schemactl's own records"), "{mode:?}: {out}");
            let conn = Connection::open(dir.path().join("db.sqlite")).unwrap();
            let v: i64 = conn
                .query_row(
                    "SELECT max(version) FROM main._schemactl_history",
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(v, 1, "{mode:?}: {record}: {out}");
        }
    }
}
