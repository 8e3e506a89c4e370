//! What a rebuild's copy does with rows the new table would not take as they are:
//!
//! - ON CONFLICT clauses (in a verbatim `sql:` table) never decide: the copy is
//!   `INSERT OR ABORT`, so a NULL into `NOT NULL ON CONFLICT REPLACE` or a duplicate into
//!   `UNIQUE ON CONFLICT IGNORE` fails the step, all or nothing, through the library, the
//!   `plan --format sql` script and `sync --skip-rehearsal`; and the lint names the rows first.
//! - A nullable integer becoming the INTEGER PRIMARY KEY (the rowid) over NULLs, duplicates or
//!   non-integers is a blocking lint finding with the count and sample rowids.

mod common;

use std::path::Path;

use rusqlite::Connection;
use schemactl::diff::diff;
use schemactl::dsl::Renames;
use schemactl::lint::{FindingKind, lint};
use schemactl::plan::{Direction, plan};
use schemactl::{apply, inspect};
use serde_json::json;

const CURRENT: &str = "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b TEXT)";
const DESIRED: &str = "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT NOT NULL ON CONFLICT REPLACE DEFAULT 'filled', b TEXT UNIQUE ON CONFLICT IGNORE)";
const ROWS: &str = "INSERT INTO t VALUES (1, 'x', 'same'), (2, NULL, 'same'), (3, 'y', 'other')";

fn rows(conn: &Connection, sql: &str) -> Vec<String> {
    let mut stmt = conn.prepare(sql).unwrap();
    stmt.query_map([], |r| {
        let v: rusqlite::types::Value = r.get(0)?;
        Ok(format!("{v:?}"))
    })
    .unwrap()
    .map(|r| r.unwrap())
    .collect()
}

fn t_rows(conn: &Connection) -> Vec<String> {
    rows(
        conn,
        "SELECT id || '|' || ifnull(a, 'NULL') || '|' || b FROM t ORDER BY id",
    )
}

/// The bundled SQLite does what the copy relies on: an explicit OR ABORT overrides the
/// table's own REPLACE and IGNORE.
#[test]
fn or_abort_overrides_the_tables_conflict_clause() {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(&format!(
        "CREATE TABLE src (id INTEGER PRIMARY KEY, a TEXT, b TEXT); {};\n{DESIRED};",
        ROWS.replace("INTO t", "INTO src")
    ))
    .unwrap();
    // A plain INSERT lets the clauses rewrite and drop rows...
    conn.execute_batch("INSERT INTO t SELECT * FROM src")
        .unwrap();
    assert_eq!(
        t_rows(&conn),
        vec!["Text(\"1|x|same\")", "Text(\"3|y|other\")"]
    );
    conn.execute_batch("DELETE FROM t").unwrap();
    // ... OR ABORT fails instead, and leaves nothing behind.
    let err = conn
        .execute_batch("INSERT OR ABORT INTO t SELECT * FROM src")
        .unwrap_err()
        .to_string();
    assert!(err.contains("constraint failed"), "{err}");
    assert!(t_rows(&conn).is_empty());
    let err = conn
        .execute_batch("INSERT OR ABORT INTO t SELECT id, ifnull(a, 'z'), b FROM src")
        .unwrap_err()
        .to_string();
    assert!(err.contains("UNIQUE constraint failed"), "{err}");
}

fn verbatim_pair() -> (Connection, schemactl::Schema, schemactl::Schema) {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(&format!("{CURRENT}; {ROWS};")).unwrap();
    let current = inspect(&conn).unwrap();
    let probe = Connection::open_in_memory().unwrap();
    probe.execute_batch(DESIRED).unwrap();
    let desired = inspect(&probe).unwrap();
    assert!(desired.tables[0].verbatim.is_some(), "kept verbatim");
    (conn, current, desired)
}

#[test]
fn the_copy_fails_instead_of_applying_on_conflict() {
    let (conn, current, desired) = verbatim_pair();
    let before = t_rows(&conn);
    let changes = diff(&current, &desired, &Renames::default()).unwrap();
    let p = plan(&current, &desired, &changes);
    let script = p.script(Direction::Forward);
    assert!(
        script.contains("INSERT OR ABORT INTO _schemactl_new_t"),
        "{script}"
    );

    // The lint names the rows first.
    let findings = lint(&conn, &current, &desired, &changes).unwrap();
    let not_null = findings
        .iter()
        .find(|f| f.kind == FindingKind::NotNull)
        .unwrap_or_else(|| panic!("{findings:?}"));
    assert_eq!(not_null.count, 1);
    assert_eq!(not_null.samples, vec!["id=2"]);
    let unique = findings
        .iter()
        .find(|f| f.kind == FindingKind::Unique)
        .unwrap_or_else(|| panic!("{findings:?}"));
    assert_eq!(unique.count, 1);
    assert_eq!(unique.samples, vec!["'same'"]);
    assert!(findings.iter().all(|f| f.blocks()));

    // The library: the step fails, nothing changed.
    let err = apply::execute(&conn, &p, Direction::Forward)
        .unwrap_err()
        .to_string();
    assert!(err.contains("constraint failed"), "{err}");
    assert_eq!(t_rows(&conn), before);

    // The script: the statement fails, the transaction never commits.
    let err = conn.execute_batch(&script).unwrap_err().to_string();
    assert!(err.contains("constraint failed"), "{err}");
    let _ = conn.execute_batch("ROLLBACK");
    assert_eq!(t_rows(&conn), before);
}

fn project(dir: &Path) {
    for sub in ["schema", "migrations", "rollbacks"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    std::fs::write(
        dir.join("schemactl.toml"),
        "database = \"db.sqlite\"\nschema = \"schema\"\nmigrations = \"migrations\"\nrollbacks = \"rollbacks\"\nbackups = \"backups\"\n",
    )
    .unwrap();
}

fn run(dir: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_schemactl"))
        .args(args)
        .current_dir(dir)
        .env_remove("SCHEMACTL_DATABASE")
        .output()
        .unwrap()
}

/// Through the CLI: sync refuses (the lint), and with `--ignore-lint --skip-rehearsal` the
/// step fails on the live database, which keeps every row.
#[test]
fn sync_never_lets_on_conflict_rewrite_rows() {
    let tmp = common::temp_dir();
    let dir = tmp.path();
    project(dir);
    let conn = Connection::open(dir.join("db.sqlite")).unwrap();
    conn.execute_batch(&format!("{CURRENT}; {ROWS};")).unwrap();
    let before = t_rows(&conn);
    drop(conn);
    let schema = json!({ "schemactl": 1, "version": 1, "tables": { "t": { "sql": DESIRED } } });
    std::fs::write(dir.join("schema/s.yaml"), schema.to_string()).unwrap();

    let out = run(dir, &["sync", "--yes"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("NOT NULL on a"), "{stderr}");
    let out = run(
        dir,
        &[
            "sync",
            "--yes",
            "--ignore-lint",
            "--skip-rehearsal",
            "--skip-backup",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let conn = Connection::open(dir.join("db.sqlite")).unwrap();
    assert_eq!(t_rows(&conn), before);
}

fn rowid_findings(current_ddl: &str, data: &str) -> Vec<schemactl::lint::Finding> {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(current_ddl).unwrap();
    conn.execute_batch(data).unwrap();
    let current = inspect(&conn).unwrap();
    let probe = Connection::open_in_memory().unwrap();
    probe
        .execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        .unwrap();
    let desired = inspect(&probe).unwrap();
    let changes = diff(&current, &desired, &Renames::default()).unwrap();
    lint(&conn, &current, &desired, &changes).unwrap()
}

#[test]
fn a_nullable_integer_becoming_the_rowid_is_a_finding() {
    // NULLs would get new ids.
    let f = rowid_findings(
        "CREATE TABLE t (id INTEGER, v TEXT)",
        "INSERT INTO t VALUES (10, 'a'), (NULL, 'b'), (NULL, 'c'), (11, 'd')",
    );
    let nulls = f
        .iter()
        .find(|f| f.kind == FindingKind::NotNull)
        .unwrap_or_else(|| panic!("{f:?}"));
    assert_eq!(nulls.count, 2);
    assert_eq!(nulls.samples, vec!["rowid=2", "rowid=3"]);
    assert!(nulls.message.contains("new ids"), "{}", nulls.message);
    assert!(nulls.blocks());

    // Duplicates and non-integers.
    let f = rowid_findings(
        "CREATE TABLE t (id INTEGER, v TEXT)",
        "INSERT INTO t VALUES (1, 'a'), (1, 'b'), ('abc', 'c'), (2.5, 'd'), (3, 'e')",
    );
    let kinds: Vec<(FindingKind, i64)> = f.iter().map(|f| (f.kind, f.count)).collect();
    assert!(kinds.contains(&(FindingKind::Unique, 1)), "{f:?}");
    assert!(kinds.contains(&(FindingKind::Type, 2)), "{f:?}");

    // A legacy non-alias key (INT PRIMARY KEY allows NULLs) becoming the rowid.
    let f = rowid_findings(
        "CREATE TABLE t (id INT PRIMARY KEY, v TEXT)",
        "INSERT INTO t VALUES (1, 'a'), (NULL, 'b')",
    );
    assert!(
        f.iter()
            .any(|f| f.kind == FindingKind::NotNull && f.count == 1),
        "{f:?}"
    );

    // Clean integers: nothing to say.
    let f = rowid_findings(
        "CREATE TABLE t (id INTEGER, v TEXT)",
        "INSERT INTO t VALUES (1, 'a'), (2, 'b')",
    );
    assert!(f.is_empty(), "{f:?}");
}
