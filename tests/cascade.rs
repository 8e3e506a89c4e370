//! The cascade trap: rebuilding `patterns` while `pattern_embeddings` references it with
//! ON DELETE CASCADE, on a connection with foreign keys ON. Every embedding must survive,
//! also with a view and a trigger on the rebuilt table.

mod common;

use rusqlite::Connection;
use schemactl::diff::diff;
use schemactl::dsl::{self, Renames};
use schemactl::plan::{Direction, plan};
use schemactl::{apply, inspect};

const ROWS: i64 = 500;

fn memory_db(extra: &str) -> (tempfile::TempDir, Connection) {
    let dir = common::temp_dir();
    let path = common::db_from_ddl(dir.path(), "memory.db", common::MEMORY_DDL);
    let conn = Connection::open(path).unwrap();
    conn.execute_batch(extra).unwrap();
    conn.execute_batch(&format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {ROWS})
         INSERT INTO patterns (id, type, pattern_data, confidence, created_at)
           SELECT 'p' || i, 'kind', 'data', 0.5, '2026-01-01' FROM n;
         INSERT INTO pattern_embeddings (pattern_id, embedding, dimension, created_at)
           SELECT id, zeroblob(64), 16, created_at FROM patterns;"
    ))
    .unwrap();
    conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
    (dir, conn)
}

fn count(conn: &Connection, table: &str) -> i64 {
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

/// schema/memory.yaml with a CHECK added to patterns.confidence: a change only a rebuild makes.
fn desired_with_check(extra_yaml: &str) -> dsl::Desired {
    let text = std::fs::read_to_string(common::repo_root().join("schema/memory.yaml")).unwrap();
    let text = text.replace(
        "confidence:   { type: REAL, not_null: true, default: 0.5 }",
        "confidence:   { type: REAL, not_null: true, default: 0.5, check: \"confidence BETWEEN 0 AND 1\" }",
    );
    assert!(text.contains("BETWEEN 0 AND 1"), "the edit must apply");
    dsl::load_str("memory.yaml", &format!("{text}{extra_yaml}")).unwrap()
}

fn rebuild_patterns(conn: &Connection, desired: &dsl::Desired) {
    let current = inspect(conn).unwrap();
    let changes = diff(&current, &desired.schema, &Renames::default()).unwrap();
    let plan = plan(&current, &desired.schema, &changes);
    assert!(
        plan.steps
            .iter()
            .any(|s| s.is_rebuild() && s.table.as_deref() == Some("patterns")),
        "{}",
        plan.script(Direction::Forward)
    );
    assert!(
        plan.steps.iter().all(|s| !s.is_destructive()),
        "{}",
        plan.script(Direction::Forward)
    );
    apply::execute(conn, &plan, Direction::Forward).unwrap();
    assert_eq!(inspect(conn).unwrap(), desired.schema);
    let fk: bool = conn
        .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
        .unwrap();
    assert!(fk, "foreign keys must be back on");
}

#[test]
fn the_trap_is_real_a_naive_rebuild_loses_every_embedding() {
    // The control: the same rebuild with foreign keys left on deletes the children. If this
    // stops failing, the tests below no longer prove anything.
    let (_dir, conn) = memory_db("");
    conn.execute_batch(
        "BEGIN;
         PRAGMA foreign_keys = OFF; -- a no-op inside a transaction
         CREATE TABLE patterns_new AS SELECT * FROM patterns;
         DROP TABLE patterns;
         ALTER TABLE patterns_new RENAME TO patterns;
         COMMIT;",
    )
    .unwrap();
    assert_eq!(count(&conn, "pattern_embeddings"), 0);
}

#[test]
fn a_rebuild_of_patterns_keeps_every_embedding() {
    let (_dir, conn) = memory_db("");
    rebuild_patterns(&conn, &desired_with_check(""));
    assert_eq!(count(&conn, "patterns"), ROWS);
    assert_eq!(count(&conn, "pattern_embeddings"), ROWS);
}

#[test]
fn a_rebuild_keeps_embeddings_and_a_view_on_the_table() {
    let view =
        "CREATE VIEW confident AS SELECT id, confidence FROM patterns WHERE confidence > 0.4;";
    let (_dir, conn) = memory_db(view);
    rebuild_patterns(
        &conn,
        &desired_with_check(
            "views:\n  confident: { sql: \"SELECT id, confidence FROM patterns WHERE confidence > 0.4\" }\n",
        ),
    );
    assert_eq!(count(&conn, "pattern_embeddings"), ROWS);
    assert_eq!(count(&conn, "confident"), ROWS);
}

#[test]
fn a_rebuild_keeps_embeddings_and_a_trigger_on_the_table() {
    let trigger = "CREATE TRIGGER touch AFTER UPDATE OF usage_count ON patterns BEGIN UPDATE patterns SET last_used = 'now' WHERE id = new.id; END";
    let (_dir, conn) = memory_db(&format!("{trigger};"));
    rebuild_patterns(
        &conn,
        &desired_with_check(&format!("triggers:\n  touch: {{ sql: \"{trigger}\" }}\n")),
    );
    assert_eq!(count(&conn, "pattern_embeddings"), ROWS);
    // The trigger is there and works.
    conn.execute("UPDATE patterns SET usage_count = 1 WHERE id = 'p1'", [])
        .unwrap();
    let last: String = conn
        .query_row("SELECT last_used FROM patterns WHERE id = 'p1'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(last, "now");
}

#[test]
fn the_reverse_rebuild_keeps_every_embedding_too() {
    let (_dir, conn) = memory_db("");
    let current = inspect(&conn).unwrap();
    let desired = desired_with_check("");
    let changes = diff(&current, &desired.schema, &Renames::default()).unwrap();
    let plan = plan(&current, &desired.schema, &changes);
    apply::execute(&conn, &plan, Direction::Forward).unwrap();
    apply::execute(&conn, &plan, Direction::Reverse).unwrap();
    assert_eq!(inspect(&conn).unwrap(), current);
    assert_eq!(count(&conn, "pattern_embeddings"), ROWS);
}

#[test]
fn the_sql_script_is_safe_in_the_sqlite3_way_too() {
    // The plan as a plain script, run the way `sqlite3 -bail` runs it: one batch on a
    // connection with foreign keys on.
    let (_dir, conn) = memory_db("");
    let current = inspect(&conn).unwrap();
    let desired = desired_with_check("");
    let changes = diff(&current, &desired.schema, &Renames::default()).unwrap();
    let script = plan(&current, &desired.schema, &changes).script(Direction::Forward);
    conn.execute_batch(&script).unwrap();
    assert_eq!(count(&conn, "pattern_embeddings"), ROWS);
    assert_eq!(inspect(&conn).unwrap(), desired.schema);
}

#[test]
fn a_foreign_key_violation_rolls_everything_back() {
    let (_dir, conn) = memory_db("");
    // An orphan the new foreign key would not accept.
    conn.execute_batch("PRAGMA foreign_keys = OFF; INSERT INTO task_trajectories VALUES ('t1', 'x', 'd', 'ok', 1, 'now'); PRAGMA foreign_keys = ON;").unwrap();
    let text = std::fs::read_to_string(common::repo_root().join("schema/memory.yaml")).unwrap();
    let text = text.replace(
        "      created_at:        { type: TEXT, not_null: true }\n    indexes:\n      idx_task_trajectories_created",
        "      created_at:        { type: TEXT, not_null: true }\n    foreign_keys:\n      - { columns: [id], references: patterns(id) }\n    indexes:\n      idx_task_trajectories_created",
    );
    let desired = dsl::load_str("m.yaml", &text).unwrap();
    let current = inspect(&conn).unwrap();
    assert_ne!(current, desired.schema, "the edit must apply");
    let changes = diff(&current, &desired.schema, &Renames::default()).unwrap();
    let plan = plan(&current, &desired.schema, &changes);
    let err = apply::execute(&conn, &plan, Direction::Forward).unwrap_err();
    assert!(
        err.to_string().contains("foreign_key_check failed"),
        "{err}"
    );
    assert!(err.to_string().contains("task_trajectories"), "{err}");
    assert_eq!(inspect(&conn).unwrap(), current);
    assert_eq!(count(&conn, "task_trajectories"), 1);
    assert_eq!(count(&conn, "pattern_embeddings"), ROWS);
    // And the script's guard does the same with plain SQL.
    let err = conn
        .execute_batch(&plan.script(Direction::Forward))
        .unwrap_err();
    assert!(err.to_string().contains("CHECK constraint failed"), "{err}");
    conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
    assert_eq!(inspect(&conn).unwrap(), current);
    assert!(conn.is_autocommit());
}
