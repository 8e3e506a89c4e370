//! Issue 14, class 8: a schema of hundreds of tables is materialised in batches of scratch
//! databases. These tests prove the result is what one database gives: the schema crosses
//! several batch boundaries, with foreign keys, triggers and views across batches, plans
//! empty, syncs one change exactly (judged by SQLite's catalog), and a name used twice across
//! batches is SQLite's own refusal, at its place. Timing is in bench/pipeline.rs (`--only
//! scaling`), never here.

mod common;

use common::catalog::assert_same_catalog;
use common::{fails_in, ok_in, temp_dir};
use rusqlite::Connection;

const TABLES: usize = 300;

/// 300 tables, each with an index and a foreign key to a table of another batch (forward and
/// backward), a UNIQUE column, triggers writing to tables of other batches, views joining
/// tables of different batches, a view over a view, and an FTS5 table.
fn ddl() -> String {
    let mut sql = String::new();
    for i in 0..TABLES {
        let parent = (i * 7 + 113) % TABLES;
        sql.push_str(&format!(
            "CREATE TABLE t{i:03} (id INTEGER PRIMARY KEY, name TEXT NOT NULL, code TEXT UNIQUE, \
             parent_id INTEGER REFERENCES t{parent:03}(id));\n\
             CREATE INDEX t{i:03}_name ON t{i:03}(name);\n"
        ));
    }
    for i in (0..TABLES).step_by(10) {
        let other = (i + 150) % TABLES;
        sql.push_str(&format!(
            "CREATE TRIGGER t{i:03}_copy AFTER INSERT ON t{i:03} BEGIN \
             INSERT INTO t{other:03} (name) VALUES (new.name); END;\n"
        ));
    }
    for i in (0..TABLES).step_by(25) {
        let other = (i + 200) % TABLES;
        sql.push_str(&format!(
            "CREATE VIEW v{i:03} AS SELECT a.id, a.name, b.name AS other FROM t{i:03} a \
             JOIN t{other:03} b ON b.id = a.parent_id;\n"
        ));
    }
    sql.push_str("CREATE VIEW v_all AS SELECT * FROM v000 UNION ALL SELECT * FROM v275;\n");
    sql.push_str("CREATE VIRTUAL TABLE docs USING fts5(body);\n");
    sql
}

fn project(dir: &std::path::Path) {
    std::fs::create_dir_all(dir.join("schema")).unwrap();
    std::fs::write(
        dir.join("schemactl.toml"),
        "database = \"app.db\"\nschema = \"schema\"\nmigrations = \"migrations\"\n\
         rollbacks = \"rollbacks\"\nbackups = \"backups\"\n",
    )
    .unwrap();
}

#[test]
fn hundreds_of_tables_plan_empty_and_sync_one_change_exactly() {
    let dir = temp_dir();
    project(dir.path());
    let db = dir.path().join("app.db");
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch(&ddl()).unwrap();
    conn.execute_batch("INSERT INTO t151 (id, name, code) VALUES (1, 'a', 'x'), (2, 'b', NULL);")
        .unwrap();
    drop(conn);
    ok_in(dir.path(), &["import", "--out", "schema/app.yaml"]);
    let out = ok_in(dir.path(), &["plan", "--check"]);
    assert!(out.contains("nothing to do"), "{out}");

    // One change, to a table in the middle of a batch: a column added at the end.
    let yaml_path = dir.path().join("schema/app.yaml");
    let yaml = std::fs::read_to_string(&yaml_path).unwrap();
    let start = yaml.find("  t151:\n").expect("t151 imported");
    let last = "      parent_id: { type: INTEGER }\n";
    let at = start + yaml[start..].find(last).expect("t151's last column") + last.len();
    let edited = format!(
        "{}      note: {{ type: TEXT }}\n{}",
        &yaml[..at],
        &yaml[at..]
    );
    std::fs::write(&yaml_path, edited).unwrap();
    ok_in(dir.path(), &["sync", "--yes"]);

    // The same change by hand, on a database built from the same DDL.
    let reference = Connection::open_in_memory().unwrap();
    reference.execute_batch(&ddl()).unwrap();
    reference
        .execute_batch("ALTER TABLE t151 ADD COLUMN note TEXT")
        .unwrap();
    let synced = Connection::open(&db).unwrap();
    assert_same_catalog(&reference, &synced, "after the one-table sync");
    let rows: Vec<(i64, String, Option<String>, Option<String>)> = synced
        .prepare("SELECT id, name, code, note FROM t151 ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(
        rows,
        vec![
            (1, "a".into(), Some("x".into()), None),
            (2, "b".into(), None, None)
        ]
    );
    let out = ok_in(dir.path(), &["plan", "--check"]);
    assert!(out.contains("nothing to do"), "{out}");
}

/// A schema of `n` tables in DSL, each with one index, with `extra` appended to table `at`'s
/// indexes; returns the text and the line (1-based) of `extra`.
fn dsl(n: usize, at: usize, extra: &str) -> (String, usize) {
    let mut text = String::from("schemactl: 1\nversion: 1\ntables:\n");
    let mut line = 0;
    for i in 0..n {
        text.push_str(&format!(
            "  t{i}:\n    columns:\n      id: {{ type: INTEGER, primary_key: true }}\n    indexes:\n      t{i}_id: {{ columns: [id] }}\n"
        ));
        if i == at {
            line = text.lines().count() + 1;
            text.push_str(extra);
        }
    }
    (text, line)
}

#[test]
fn a_name_used_twice_across_batches_is_sqlites_refusal_at_its_place() {
    // An index of t70 named like table t1 (another batch), and one named like an index of
    // t3 (another batch again): one database refuses both, so must the batches.
    for (extra, message) in [
        (
            "      t1: { columns: [id] }\n",
            "index \"t1\" on \"t70\": SQLite refuses it: there is already a table named t1",
        ),
        (
            "      t3_id: { columns: [id] }\n",
            "index \"t3_id\" on \"t70\": SQLite refuses it: index t3_id already exists",
        ),
    ] {
        let dir = temp_dir();
        project(dir.path());
        let (text, line) = dsl(80, 70, extra);
        std::fs::write(dir.path().join("schema/app.yaml"), text).unwrap();
        let err = fails_in(dir.path(), &["schema", "check"], 1);
        assert!(err.contains(message), "{err}");
        assert!(
            err.contains(&format!("app.yaml:{line}:7")),
            "line {line}: {err}"
        );
    }
    // The same within one batch is refused the same way (the reference for the message).
    let dir = temp_dir();
    project(dir.path());
    let (text, _) = dsl(80, 2, "      t1: { columns: [id] }\n");
    std::fs::write(dir.path().join("schema/app.yaml"), text).unwrap();
    let err = fails_in(dir.path(), &["schema", "check"], 1);
    assert!(err.contains("there is already a table named t1"), "{err}");
}
