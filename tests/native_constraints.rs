//! SQLite 3.53's constraint ALTERs on real files with rows: a native step never touches a
//! child row (the cascade trap: ON DELETE CASCADE children keep every row, with foreign keys
//! ON), keeps every row and value of its own table, is reversed likewise, and the lint still
//! names the rows a new rule would reject before anything runs.

mod common;

use rusqlite::Connection;
use schemactl::diff::diff;
use schemactl::dsl::{self, Renames};
use schemactl::plan::{Direction, Plan, plan};
use schemactl::{apply, inspect, lint};

const ROWS: i64 = 300;

/// patterns (parent) and embeddings (child, a named foreign key with ON DELETE CASCADE), and a
/// grandchild on the child, filled; foreign keys ON on the returned connection.
fn database() -> (tempfile::TempDir, Connection) {
    let dir = common::temp_dir();
    let conn = Connection::open(dir.path().join("memory.db")).unwrap();
    conn.execute_batch(&format!(
        "CREATE TABLE patterns (id TEXT PRIMARY KEY, kind TEXT, confidence REAL,
           CONSTRAINT kind_known CHECK (kind <> ''));
         CREATE TABLE embeddings (id INTEGER PRIMARY KEY, pattern_id TEXT NOT NULL,
           v BLOB,
           CONSTRAINT embeddings_pattern FOREIGN KEY (pattern_id) REFERENCES patterns (id) ON DELETE CASCADE);
         CREATE TABLE notes (id INTEGER PRIMARY KEY, embedding_id INTEGER
           REFERENCES embeddings (id) ON DELETE CASCADE);
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {ROWS})
         INSERT INTO patterns SELECT 'p' || i, 'k' || (i % 7), i / 1000.0 FROM n;
         INSERT INTO embeddings (pattern_id, v) SELECT id, randomblob(16) FROM patterns;
         INSERT INTO notes (embedding_id) SELECT id FROM embeddings;
         PRAGMA foreign_keys = ON;"
    ))
    .unwrap();
    (dir, conn)
}

/// Every row of every table, in rowid order, as text: the data, not only the counts.
fn rows(conn: &Connection) -> Vec<String> {
    let mut out = Vec::new();
    for (table, cols) in [
        ("patterns", ["rowid", "id", "kind", "confidence"].as_slice()),
        ("embeddings", ["id", "pattern_id", "v"].as_slice()),
        ("notes", ["id", "embedding_id"].as_slice()),
    ] {
        let values: Vec<String> = cols.iter().map(|c| format!("quote({c})")).collect();
        let sql = format!(
            "SELECT '{table}:' || {} FROM {table} ORDER BY rowid",
            values.join(" || ',' || ")
        );
        let mut stmt = conn.prepare(&sql).unwrap();
        let got = stmt.query_map([], |r| r.get::<_, String>(0)).unwrap();
        out.extend(got.map(Result::unwrap));
    }
    assert_eq!(out.len() as i64, 3 * ROWS, "every row is read");
    out
}

const DESIRED: &str = r#"
schemactl: 1
version: 2
tables:
  patterns:
    columns:
      id: { type: TEXT, primary_key: true }
      kind: { type: TEXT, not_null: true }
      confidence: { type: REAL }
    checks:
      - { name: kind_known, expr: "kind <> ''" }
      - { name: confidence_range, expr: "confidence BETWEEN 0 AND 1" }
  embeddings:
    columns:
      id: { type: INTEGER, primary_key: true }
      pattern_id: { type: TEXT }
      v: { type: BLOB }
  notes:
    columns:
      id: { type: INTEGER, primary_key: true }
      embedding_id: { type: INTEGER }
    foreign_keys:
      - { columns: [embedding_id], references: embeddings(id), on_delete: cascade }
"#;

fn planned(conn: &Connection, yaml: &str) -> (schemactl::model::Schema, dsl::Desired, Plan) {
    let current = inspect(conn).unwrap();
    let desired = dsl::load_str("memory.yaml", yaml).unwrap();
    let changes = diff(&current, &desired.schema, &Renames::default()).unwrap();
    let plan = plan(&current, &desired.schema, &changes);
    (current, desired, plan)
}

#[test]
fn native_steps_never_touch_child_rows_either_way() {
    let (_dir, conn) = database();
    let before = rows(&conn);
    let (current, desired, plan) = planned(&conn, DESIRED);
    let forward: Vec<&str> = plan
        .steps
        .iter()
        .flat_map(|s| s.forward.iter().map(String::as_str))
        .collect();
    // Every change is an ALTER in place: no table is dropped going forward.
    assert_eq!(
        forward,
        vec![
            "ALTER TABLE embeddings DROP CONSTRAINT embeddings_pattern",
            "ALTER TABLE embeddings ALTER COLUMN pattern_id DROP NOT NULL",
            "ALTER TABLE patterns ALTER COLUMN kind SET NOT NULL",
            "ALTER TABLE patterns ADD CONSTRAINT confidence_range CHECK (confidence BETWEEN 0 AND 1)",
        ],
        "{}",
        plan.script(Direction::Forward)
    );
    assert!(!plan.needs_foreign_keys_off_in(Direction::Forward));
    apply::execute(&conn, &plan, Direction::Forward).unwrap();
    assert_eq!(inspect(&conn).unwrap(), desired.schema);
    assert_eq!(rows(&conn), before, "a native step changed rows");
    let fk: bool = conn
        .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
        .unwrap();
    assert!(fk);
    // The reverse adds the foreign key back by a rebuild of embeddings, the one that has
    // ON DELETE CASCADE children itself (notes): they keep every row too.
    assert!(plan.needs_foreign_keys_off_in(Direction::Reverse));
    apply::execute(&conn, &plan, Direction::Reverse).unwrap();
    assert_eq!(inspect(&conn).unwrap(), current);
    assert_eq!(rows(&conn), before, "the reverse changed rows");
}

#[test]
fn the_script_of_native_steps_is_safe_the_sqlite3_way() {
    // One batch on a connection with foreign keys on, as `sqlite3 -bail` runs it.
    let (_dir, conn) = database();
    let before = rows(&conn);
    let (_, desired, plan) = planned(&conn, DESIRED);
    let script = plan.script(Direction::Forward);
    assert!(!script.contains("PRAGMA foreign_keys = OFF"), "{script}");
    conn.execute_batch(&script).unwrap();
    assert_eq!(inspect(&conn).unwrap(), desired.schema);
    assert_eq!(rows(&conn), before);
}

#[test]
fn the_lint_names_the_rows_a_native_step_would_reject_and_the_apply_changes_nothing() {
    let (_dir, conn) = database();
    conn.execute_batch("UPDATE patterns SET confidence = 2.5 WHERE id = 'p7'; UPDATE patterns SET kind = NULL WHERE id = 'p9';")
        .unwrap();
    let before = rows(&conn);
    let (current, desired, plan) = planned(&conn, DESIRED);
    let changes = diff(&current, &desired.schema, &Renames::default()).unwrap();
    let findings = lint::lint(&conn, &current, &desired.schema, &changes).unwrap();
    let mut seen: Vec<(String, i64, Vec<String>)> = findings
        .iter()
        .map(|f| (f.table.clone(), f.count, f.samples.clone()))
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        vec![
            ("patterns".to_string(), 1, vec!["id='p7'".to_string()]),
            ("patterns".to_string(), 1, vec!["id='p9'".to_string()]),
        ],
        "{findings:?}"
    );
    // Run anyway: SQLite refuses the ALTER, the transaction rolls back, nothing changed.
    assert!(apply::execute(&conn, &plan, Direction::Forward).is_err());
    assert_eq!(inspect(&conn).unwrap(), current);
    assert_eq!(rows(&conn), before);
}

/// SQLite 3.54.1 refuses `DROP CONSTRAINT` on a foreign key with a `SET DEFAULT` action ("near
/// \"DEFAULT\": syntax error"), found by tests/native_props.rs. The planner proves each native
/// statement on the table in memory first, so such a drop is planned as a rebuild and keeps
/// every row. If a later SQLite accepts it, the first assertion fails: the property test's
/// exception can then go.
#[test]
fn sqlite_drop_constraint_refuses_set_default_and_the_plan_rebuilds() {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(
        "CREATE TABLE p (id INTEGER PRIMARY KEY);
         CREATE TABLE c (id INTEGER PRIMARY KEY, p_id INTEGER DEFAULT 0,
           CONSTRAINT c_p FOREIGN KEY (p_id) REFERENCES p (id) ON UPDATE SET DEFAULT);
         INSERT INTO p VALUES (0), (1), (2);
         INSERT INTO c (p_id) VALUES (1), (2), (NULL);",
    )
    .unwrap();
    let refused = conn
        .execute_batch("ALTER TABLE c DROP CONSTRAINT c_p")
        .unwrap_err()
        .to_string();
    assert!(refused.contains("near \"DEFAULT\""), "{refused}");
    let c_rows = |conn: &Connection| -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT quote(id) || ',' || quote(p_id) FROM c ORDER BY id")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let before = c_rows(&conn);
    assert_eq!(before.len(), 3);
    let live = inspect::inspect(&conn).unwrap();
    let mut desired = live.clone();
    desired
        .tables
        .iter_mut()
        .find(|t| t.name.as_str() == "c")
        .unwrap()
        .foreign_keys
        .clear();
    let changes = diff(&live, &desired, &Renames::default()).unwrap();
    let p = plan(&live, &desired, &changes);
    assert!(p.steps.iter().any(|s| s.is_rebuild()), "{:#?}", p.steps);
    let sql: String = p
        .steps
        .iter()
        .flat_map(|s| s.forward.iter())
        .map(|s| format!("{s};\n"))
        .collect();
    conn.execute_batch(&format!("PRAGMA foreign_keys = OFF; BEGIN; {sql} COMMIT;"))
        .unwrap();
    assert_eq!(c_rows(&conn), before);
    let fks: i64 = conn
        .query_row(
            "SELECT count(*) FROM pragma_foreign_key_list('c')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(fks, 0);
}

/// A project around the database of [`database`] (its connection closed) with `DESIRED` as
/// schema/, for the CLI.
fn project() -> tempfile::TempDir {
    let (dir, conn) = database();
    conn.execute_batch("UPDATE patterns SET confidence = 2.5 WHERE id IN ('p7', 'p8'); UPDATE patterns SET kind = NULL WHERE id = 'p9';")
        .unwrap();
    drop(conn);
    for sub in ["schema", "migrations", "rollbacks"] {
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
    }
    std::fs::write(dir.path().join("schema/memory.yaml"), DESIRED).unwrap();
    std::fs::write(
        dir.path().join("schemactl.toml"),
        "database = \"memory.db\"\nbackups = \"backups\"\nmigrations = \"migrations\"\nrollbacks = \"rollbacks\"\n",
    )
    .unwrap();
    dir
}

/// The whole database as SQLite sees it: every row, and the catalog (sqlite_schema).
fn everything(dir: &std::path::Path) -> (Vec<String>, Vec<String>) {
    let conn = Connection::open(dir.join("memory.db")).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT type || ' ' || name || ' ' || ifnull(sql, '') FROM sqlite_schema ORDER BY name",
        )
        .unwrap();
    let catalog = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    (rows(&conn), catalog)
}

/// The lint's refusal, from its first line on (what comes before are progress lines).
fn refusal(stderr: &str) -> &str {
    let at = stderr
        .find("the live data does not fit the change")
        .unwrap_or_else(|| panic!("no lint refusal in: {stderr}"));
    &stderr[at..]
}

/// A run whose first act is the change (`sync --yes --skip-backup --skip-rehearsal`) lets
/// SQLite check the rows of a named CHECK and a NOT NULL added in place instead of scanning
/// them first; when SQLite refuses, the rows are named exactly as the lint names them before
/// anything runs (`plan`, `sync` with its backup), exit 1, and nothing changed: no row, no
/// catalog entry, no history, no identity, no backup.
#[test]
fn a_change_sqlite_refuses_in_place_is_reported_as_the_lint_reports_it() {
    let tmp = project();
    let dir = tmp.path();
    let before = everything(dir);
    let upfront = common::fails_in(dir, &["sync", "--yes"], 1);
    assert!(upfront.contains("id='p7'; id='p8'"), "{upfront}");
    assert!(upfront.contains("id='p9'"), "{upfront}");
    assert!(
        !dir.join("backups").exists(),
        "the lint refuses before the backup"
    );
    let fast = common::fails_in(
        dir,
        &["sync", "--yes", "--skip-backup", "--skip-rehearsal"],
        1,
    );
    assert_eq!(refusal(&fast), refusal(&upfront));
    assert_eq!(everything(dir), before, "nothing changed");
    // plan shows the same rows, before anything runs.
    let plan = common::schemactl(dir, &["plan"]);
    let shown = common::stdout(&plan) + &common::stderr(&plan);
    assert!(
        shown.contains("id='p7'") && shown.contains("id='p9'"),
        "{shown}"
    );
    // Only one of the two rules failing: the other is still named, the first by SQLite.
    let conn = Connection::open(dir.join("memory.db")).unwrap();
    conn.execute_batch("UPDATE patterns SET kind = 'k' WHERE id = 'p9'")
        .unwrap();
    drop(conn);
    let before = everything(dir);
    let upfront = common::fails_in(dir, &["sync", "--yes"], 1);
    let fast = common::fails_in(
        dir,
        &["sync", "--yes", "--skip-backup", "--skip-rehearsal"],
        1,
    );
    assert_eq!(refusal(&fast), refusal(&upfront));
    assert!(!fast.contains("id='p9'"), "{fast}");
    assert_eq!(everything(dir), before, "nothing changed");
    // With --ignore-lint SQLite's own refusal is the message; still nothing changed (the
    // database's identity, written in the same transaction, included).
    let ignored = common::fails_in(
        dir,
        &[
            "sync",
            "--yes",
            "--skip-backup",
            "--skip-rehearsal",
            "--ignore-lint",
        ],
        1,
    );
    assert!(
        ignored.contains("constraint failed")
            && ignored.contains("ADD CONSTRAINT confidence_range"),
        "{ignored}"
    );
    assert!(!ignored.contains("does not fit"), "{ignored}");
    assert_eq!(everything(dir), before, "nothing changed");
    // The rows fixed, the same run changes the table in place, keeping every row.
    let conn = Connection::open(dir.join("memory.db")).unwrap();
    conn.execute_batch("UPDATE patterns SET confidence = 0.5 WHERE id IN ('p7', 'p8')")
        .unwrap();
    let rows_before = rows(&conn);
    drop(conn);
    common::ok_in(dir, &["sync", "--yes", "--skip-backup", "--skip-rehearsal"]);
    let conn = Connection::open(dir.join("memory.db")).unwrap();
    assert_eq!(rows(&conn), rows_before);
    let desired = dsl::load_str("memory.yaml", DESIRED).unwrap();
    assert_eq!(inspect(&conn).unwrap(), desired.schema);
    let identities: i64 = conn
        .query_row("SELECT count(*) FROM _schemactl_identity", [], |r| r.get(0))
        .unwrap();
    assert_eq!(identities, 1, "the first write records the identity");
}

/// The lint leaves to SQLite exactly the rules the plan adds in place (a named CHECK added,
/// NOT NULL set), and still scans for every other: here a NOT NULL whose column also changes
/// type, which rebuilds the table.
#[test]
fn the_lint_skips_only_what_the_plan_checks_in_place() {
    let (_dir, conn) = database();
    conn.execute_batch("UPDATE patterns SET confidence = 2.5 WHERE id = 'p7'; UPDATE patterns SET kind = NULL WHERE id = 'p9';")
        .unwrap();
    let (current, desired, plan) = planned(&conn, DESIRED);
    let changes = diff(&current, &desired.schema, &Renames::default()).unwrap();
    let all = lint::lint(&conn, &current, &desired.schema, &changes).unwrap();
    assert_eq!(all.len(), 2, "{all:?}");
    let deferred = lint::lint_with(
        &conn,
        &current,
        &desired.schema,
        &changes,
        lint::Scan::SkipCheckedInPlace(&plan),
    )
    .unwrap();
    assert_eq!(deferred, Vec::new(), "both rules are checked in place");
    // kind also becomes INTEGER: a rebuild, whose copy the lint must still vouch for.
    let retyped = DESIRED.replace(
        "kind: { type: TEXT, not_null: true }",
        "kind: { type: INTEGER, not_null: true }",
    );
    let (current, desired, plan) = planned(&conn, &retyped);
    assert!(plan.steps.iter().any(|s| s.is_rebuild()), "{plan:?}");
    let changes = diff(&current, &desired.schema, &Renames::default()).unwrap();
    let deferred = lint::lint_with(
        &conn,
        &current,
        &desired.schema,
        &changes,
        lint::Scan::SkipCheckedInPlace(&plan),
    )
    .unwrap();
    let all = lint::lint(&conn, &current, &desired.schema, &changes).unwrap();
    assert_eq!(deferred, all, "the rebuild's rules are all scanned first");
    let kinds: Vec<(lint::FindingKind, Vec<String>)> = deferred
        .iter()
        .map(|f| (f.kind, f.samples.clone()))
        .collect();
    assert!(
        kinds.contains(&(lint::FindingKind::NotNull, vec!["id='p9'".to_string()])),
        "{deferred:?}"
    );
}
