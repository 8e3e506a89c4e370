//! Triggers are never lost without being named. SQLite drops a table's triggers with the
//! table, so a rebuild that does not create them again loses them while the schema it leaves
//! is exactly what its SQL makes:
//! - a trigger `exclude` leaves alone on a managed table (H's finding): `sync` (and `plan`)
//!   drop it and create it again around a rebuild of its table, in both directions;
//! - a migration written elsewhere that rebuilds a table without creating its triggers again
//!   is refused before it runs (nothing changed, the trigger named); `DROP TRIGGER` by name
//!   says it is meant.

mod common;

use std::path::Path;

use common::{schemactl, stderr, stdout, temp_dir};
use proptest::prelude::*;
use rusqlite::Connection;

/// Every trigger: (name, SQL), sorted.
fn triggers(db: &Path) -> Vec<(String, String)> {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT name, sql FROM sqlite_schema WHERE type = 'trigger' ORDER BY name")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

fn rows(db: &Path, sql: &str) -> Vec<String> {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn.prepare(sql).unwrap();
    stmt.query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

fn project(exclude: &str) -> tempfile::TempDir {
    let dir = temp_dir();
    for sub in ["schema", "migrations", "rollbacks"] {
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
    }
    std::fs::write(
        dir.path().join("schemactl.toml"),
        format!("database = \"db.sqlite\"\nbackups = \"backups\"\nexclude = [{exclude}]\n"),
    )
    .unwrap();
    dir
}

/// schema/ with `t (id, v TEXT [COLLATE c])` and `log (m TEXT)`.
fn schema(dir: &Path, collate: Option<&str>) {
    let v = match collate {
        Some(c) => format!("{{ type: TEXT, collate: {c} }}"),
        None => "{ type: TEXT }".to_string(),
    };
    std::fs::write(
        dir.join("schema/s.yaml"),
        format!(
            "schemactl: 1\nversion: {}\ntables:\n  t:\n    columns:\n      id: {{ type: INTEGER, primary_key: true }}\n      v: {v}\n  log:\n    columns:\n      m: {{ type: TEXT }}\n",
            if collate.is_some() { 2 } else { 1 }
        ),
    )
    .unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// Triggers left alone (`exclude` names them) on a table a sync rebuilds come back, as
    /// they were, and still fire; so after the rollback.
    #[test]
    fn triggers_left_alone_survive_a_rebuild_of_their_table(
        names in proptest::collection::btree_set("legacy_[a-z]{1,6}", 1..4),
        managed_too in proptest::bool::ANY,
    ) {
        let dir = project("\"legacy_*\"");
        let db = dir.path().join("db.sqlite");
        let conn = Connection::open(&db).unwrap();
        conn.execute_batch(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); CREATE TABLE log (m TEXT);
             INSERT INTO t VALUES (1, 'a'), (2, 'B');",
        )
        .unwrap();
        for n in &names {
            conn.execute_batch(&format!(
                "CREATE TRIGGER {n} AFTER INSERT ON t BEGIN INSERT INTO log VALUES ('{n}:' || new.v); END;"
            ))
            .unwrap();
        }
        drop(conn);
        schema(dir.path(), None);
        if managed_too {
            let mut text = std::fs::read_to_string(dir.path().join("schema/s.yaml")).unwrap();
            text.push_str("triggers:\n  audit:\n    sql: \"CREATE TRIGGER audit AFTER UPDATE ON t BEGIN INSERT INTO log VALUES ('upd'); END\"\n");
            std::fs::write(dir.path().join("schema/s.yaml"), text).unwrap();
        }
        let first = schemactl(dir.path(), &["sync", "--yes"]);
        prop_assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
        let before = triggers(&db);
        // A collation change rebuilds t.
        schema(dir.path(), Some("NOCASE"));
        if managed_too {
            let mut text = std::fs::read_to_string(dir.path().join("schema/s.yaml")).unwrap();
            text.push_str("triggers:\n  audit:\n    sql: \"CREATE TRIGGER audit AFTER UPDATE ON t BEGIN INSERT INTO log VALUES ('upd'); END\"\n");
            std::fs::write(dir.path().join("schema/s.yaml"), text).unwrap();
        }
        let out = schemactl(dir.path(), &["sync", "--yes"]);
        prop_assert_eq!(out.status.code(), Some(0), "{}\n{}", stdout(&out), stderr(&out));
        prop_assert_eq!(triggers(&db), before.clone());
        Connection::open(&db).unwrap().execute_batch("INSERT INTO t VALUES (3, 'c')").unwrap();
        let fired = rows(&db, "SELECT m FROM log WHERE m LIKE '%:c' ORDER BY m");
        let want: Vec<String> = names.iter().map(|n| format!("{n}:c")).collect();
        prop_assert_eq!(fired, want);
        let back = schemactl(dir.path(), &["rollback", "last", "--yes"]);
        prop_assert_eq!(back.status.code(), Some(0), "{}", stderr(&back));
        prop_assert_eq!(triggers(&db), before);
    }
}

/// A project without an exclude list whose V1 makes `t` (one row), `log`, and the trigger
/// `keep_log` on `t`.
fn project_with_trigger() -> tempfile::TempDir {
    let dir = project("");
    std::fs::write(
        dir.path().join("migrations/V1__init.sql"),
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); CREATE TABLE log (m TEXT);
         CREATE TRIGGER keep_log AFTER INSERT ON t BEGIN INSERT INTO log VALUES (new.v); END;
         INSERT INTO t VALUES (1, 'a');",
    )
    .unwrap();
    dir
}

/// A migration written elsewhere that rebuilds a table and does not create its trigger again
/// is refused, naming the trigger, and changes nothing; with `DROP TRIGGER` it runs.
#[test]
fn a_rebuild_that_loses_a_trigger_unnamed_is_refused() {
    let dir = project_with_trigger();
    let db = dir.path().join("db.sqlite");
    let init = schemactl(dir.path(), &["apply", "--yes"]);
    assert_eq!(init.status.code(), Some(0), "{}", stderr(&init));
    let rebuild = "CREATE TABLE t_new (id INTEGER PRIMARY KEY, v TEXT COLLATE NOCASE);
         INSERT INTO t_new SELECT id, v FROM t; DROP TABLE t; ALTER TABLE t_new RENAME TO t;";
    std::fs::write(dir.path().join("migrations/V2__nocase.sql"), rebuild).unwrap();
    let before = std::fs::read(&db).unwrap();
    let out = schemactl(dir.path(), &["apply", "--yes", "--allow-destructive"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(err.contains("trigger keep_log on t"), "{err}");
    assert_eq!(std::fs::read(&db).unwrap(), before, "nothing may change");
    std::fs::write(
        dir.path().join("migrations/V2__nocase.sql"),
        format!("DROP TRIGGER keep_log; {rebuild}"),
    )
    .unwrap();
    let out = schemactl(dir.path(), &["apply", "--yes", "--allow-destructive"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(triggers(&db).is_empty());
}

/// A rollback file that rebuilds a table without its trigger is refused the same way.
#[test]
fn a_rollback_that_loses_a_trigger_unnamed_is_refused() {
    let dir = project_with_trigger();
    let db = dir.path().join("db.sqlite");
    std::fs::write(
        dir.path().join("migrations/V2__w.sql"),
        "ALTER TABLE t ADD COLUMN w TEXT;",
    )
    .unwrap();
    // The reverse drops w by a rebuild and forgets V1's trigger.
    std::fs::write(
        dir.path().join("rollbacks/V2__w.sql"),
        "CREATE TABLE t_old (id INTEGER PRIMARY KEY, v TEXT);
         INSERT INTO t_old SELECT id, v FROM t; DROP TABLE t; ALTER TABLE t_old RENAME TO t;",
    )
    .unwrap();
    let init = schemactl(dir.path(), &["apply", "--yes"]);
    assert_eq!(init.status.code(), Some(0), "{}", stderr(&init));
    let before = std::fs::read(&db).unwrap();
    let out = schemactl(
        dir.path(),
        &["rollback", "V2", "--yes", "--allow-destructive"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(err.contains("trigger keep_log on t"), "{err}");
    assert_eq!(std::fs::read(&db).unwrap(), before, "nothing may change");
}

/// A trigger (left alone, or declared) that reads a column the plan drops would be created
/// again by the plan, which SQLite allows, and then fail every insert (h11_06): the plan is
/// refused before anything runs, naming the trigger and the column.
#[test]
fn a_plan_that_leaves_a_trigger_broken_is_refused() {
    for exclude in ["\"legacy_*\"", ""] {
        let dir = project(exclude);
        let db = dir.path().join("db.sqlite");
        let conn = Connection::open(&db).unwrap();
        conn.execute_batch(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, note TEXT); CREATE TABLE log (m TEXT);
             CREATE TRIGGER legacy_note AFTER INSERT ON t BEGIN INSERT INTO log VALUES (new.note); END;
             INSERT INTO t VALUES (1, 'a', 'n');",
        )
        .unwrap();
        drop(conn);
        let declared_trigger = if exclude.is_empty() {
            "triggers:\n  legacy_note:\n    sql: \"CREATE TRIGGER legacy_note AFTER INSERT ON t BEGIN INSERT INTO log VALUES (new.note); END\"\n"
        } else {
            ""
        };
        let write = |note: bool| {
            std::fs::write(
                dir.path().join("schema/s.yaml"),
                format!(
                    "schemactl: 1\nversion: {}\ntables:\n  t:\n    columns:\n      id: {{ type: INTEGER, primary_key: true }}\n      v: {{ type: TEXT }}\n{}  log:\n    columns:\n      m: {{ type: TEXT }}\n{declared_trigger}",
                    if note { 1 } else { 2 },
                    if note { "      note: { type: TEXT }\n" } else { "" },
                ),
            )
            .unwrap();
        };
        write(true);
        let first = schemactl(dir.path(), &["sync", "--yes"]);
        assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
        let before = std::fs::read(&db).unwrap();
        write(false);
        // `plan --write` plans from the migrations (none here: from empty), where only a
        // declared trigger exists.
        let second: &[&str] = if exclude.is_empty() {
            &["plan", "--write", "drop_note"]
        } else {
            &["sync", "--yes"]
        };
        for args in [&["sync", "--yes", "--allow-destructive"][..], second] {
            let out = schemactl(dir.path(), args);
            assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stdout(&out));
            let err = stderr(&out);
            assert!(
                err.contains("legacy_note") && err.contains("new.note"),
                "{args:?}: {err}"
            );
        }
        assert_eq!(std::fs::read(&db).unwrap(), before, "nothing may change");
    }
}
