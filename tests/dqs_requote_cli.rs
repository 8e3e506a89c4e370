//! The hostile report's DQS shapes (session 9, findings 1, 2 and 7) through the CLI: an
//! application's view and trigger use legacy double-quoted strings (`"x"`, `"log"`), which
//! SQLite's native DROP COLUMN and RENAME COLUMN re-quote across the whole database. Every
//! ordinary change syncs, rolls back, and leaves no drift, with every text and row as it was;
//! an added column that takes a view's string's name is refused by the lint, naming the view.

mod common;

use std::path::Path;

use common::{db_from_ddl, empty_project, fails_in, ok_in};
use rusqlite::Connection;

const APP: &str = "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, old TEXT);
CREATE TABLE u (a INT, b TEXT);
CREATE TABLE log (m TEXT);
CREATE TRIGGER tr AFTER UPDATE ON t WHEN new.v = \"log\" BEGIN INSERT INTO log VALUES (new.v); END;
CREATE VIEW vx AS SELECT id, v FROM t WHERE v <> \"x\";
INSERT INTO t VALUES (1, 'a', 'o1'), (2, 'x', 'o2');
INSERT INTO u VALUES (7, 'b7');";

/// Every view's and trigger's text, and every row, and what the view returns.
fn state(db: &Path) -> Vec<String> {
    let conn = Connection::open(db).unwrap();
    let mut out = Vec::new();
    for sql in [
        "SELECT name || ': ' || sql FROM sqlite_schema WHERE type IN ('view', 'trigger') AND name NOT LIKE '\\_schemactl%' ESCAPE '\\' ORDER BY name",
        "SELECT 't ' || id || quote(v) || quote(old) FROM t ORDER BY id",
        "SELECT 'u ' || rowid || quote(a) FROM u ORDER BY rowid",
        "SELECT 'vx ' || id FROM vx ORDER BY id",
    ] {
        let mut stmt = conn.prepare(sql).unwrap();
        out.extend(
            stmt.query_map([], |r| r.get::<_, String>(0))
                .unwrap()
                .map(|r| r.unwrap()),
        );
    }
    out
}

/// A project over the application's database, its schema imported, then edited by `edit`.
fn adopted(edit: impl Fn(&str) -> String) -> tempfile::TempDir {
    let dir = empty_project();
    db_from_ddl(dir.path(), "db.sqlite", APP);
    ok_in(dir.path(), &["import", "--out", "schema/s.yaml"]);
    let file = dir.path().join("schema/s.yaml");
    let yaml = std::fs::read_to_string(&file).unwrap();
    let edited = edit(&yaml.replace("version: 1", "version: 2"));
    assert_ne!(edited, yaml);
    std::fs::write(&file, edited).unwrap();
    std::fs::write(dir.path().join("orig.yaml"), yaml).unwrap();
    dir
}

/// Puts the imported schema back (the rollback's target): drift is then clean.
fn drift_clean_at_the_start(dir: &Path) {
    std::fs::copy(dir.join("orig.yaml"), dir.join("schema/s.yaml")).unwrap();
    ok_in(dir, &["drift"]);
}

/// Sync, then rollback: both succeed, the texts and rows are as before after the rollback,
/// and nothing is left to do after the sync, and no drift after the rollback.
fn sync_and_back(dir: &Path, sync: &[&str]) {
    let db = dir.join("db.sqlite");
    let before = state(&db);
    ok_in(dir, sync);
    assert!(ok_in(dir, &["plan"]).contains("nothing to do"));
    let texts: Vec<&String> = before.iter().take(2).collect();
    let after = state(&db);
    assert_eq!(
        after.iter().take(2).collect::<Vec<_>>(),
        texts,
        "texts kept"
    );
    ok_in(dir, &["rollback", "last", "--yes"]);
    assert_eq!(
        state(&db),
        before,
        "the rollback gives back every text and row"
    );
    drift_clean_at_the_start(dir);
}

/// Finding 1: a column added to another table; its reverse is a native DROP COLUMN.
#[test]
fn a_column_added_to_an_unrelated_table_rolls_back() {
    let dir = adopted(|y| {
        y.replace(
            "      b: { type: TEXT }",
            "      b: { type: TEXT }\n      c: { type: TEXT }",
        )
    });
    sync_and_back(dir.path(), &["sync", "--yes"]);
}

/// Finding 2 A: a column added to the table the view and trigger read.
#[test]
fn a_column_added_to_the_table_they_read_syncs_and_rolls_back() {
    let dir = adopted(|y| {
        y.replace(
            "      old: { type: TEXT }",
            "      old: { type: TEXT }\n      w: { type: TEXT }",
        )
    });
    sync_and_back(dir.path(), &["sync", "--yes"]);
}

/// Finding 2 E: a column of an unrelated table dropped.
#[test]
fn a_column_of_an_unrelated_table_dropped_syncs_and_rolls_back() {
    let dir = adopted(|y| y.replace("      b: { type: TEXT }\n", ""));
    sync_and_back(dir.path(), &["sync", "--yes", "--allow-destructive"]);
}

/// Finding 2 F: an unrelated table and one of its columns renamed.
#[test]
fn an_unrelated_table_and_column_renamed_sync_and_roll_back() {
    let dir = adopted(|y| {
        y.replace("  u:\n", "  u2:\n    renamed_from: u\n").replace(
            "      b: { type: TEXT }",
            "      c: { type: TEXT, renamed_from: b }",
        )
    });
    let db = dir.path().join("db.sqlite");
    let before = state(&db);
    ok_in(dir.path(), &["sync", "--yes"]);
    assert!(ok_in(dir.path(), &["plan"]).contains("nothing to do"));
    ok_in(dir.path(), &["rollback", "last", "--yes"]);
    assert_eq!(state(&db), before);
    drift_clean_at_the_start(dir.path());
}

/// Finding 2 B, C (controls): a column of `t` renamed, and one dropped.
#[test]
fn a_column_of_their_table_renamed_or_dropped_syncs_and_rolls_back() {
    let dir = adopted(|y| {
        y.replace(
            "      old: { type: TEXT }",
            "      older: { type: TEXT, renamed_from: old }",
        )
    });
    let db = dir.path().join("db.sqlite");
    let before = state(&db);
    ok_in(dir.path(), &["sync", "--yes"]);
    assert!(ok_in(dir.path(), &["plan"]).contains("nothing to do"));
    ok_in(dir.path(), &["rollback", "last", "--yes"]);
    assert_eq!(state(&db), before);
    drift_clean_at_the_start(dir.path());
    let dir = adopted(|y| y.replace("      old: { type: TEXT }\n", ""));
    let db = dir.path().join("db.sqlite");
    let before = state(&db);
    ok_in(dir.path(), &["sync", "--yes", "--allow-destructive"]);
    assert!(ok_in(dir.path(), &["plan"]).contains("nothing to do"));
    ok_in(dir.path(), &["rollback", "last", "--yes"]);
    assert_eq!(state(&db), before);
}

/// Finding 7: a column named like the view's string is refused by the lint, naming the view
/// and the literal and saying to write it in single quotes; nothing changes. `--ignore-lint`
/// takes the new meaning; writing the literal in single quotes keeps the old one.
#[test]
fn a_column_that_takes_a_views_string_is_a_lint_finding() {
    let dir = adopted(|y| {
        y.replace(
            "      old: { type: TEXT }",
            "      old: { type: TEXT }\n      x: { type: TEXT, default: \"zzz\" }",
        )
    });
    let db = dir.path().join("db.sqlite");
    let before = state(&db);
    let plan = ok_in(dir.path(), &["plan"]);
    assert!(plan.contains("view vx uses \"x\" as a string"), "{plan}");
    let err = fails_in(dir.path(), &["sync", "--yes"], 1);
    assert!(err.contains("view vx uses \"x\" as a string"), "{err}");
    assert!(err.contains("single quotes ('x')"), "{err}");
    assert!(
        !err.contains("tr uses"),
        "the trigger's strings stay strings: {err}"
    );
    assert_eq!(state(&db), before, "nothing changed");

    // The fix the message gives: the literal in single quotes.
    let file = dir.path().join("schema/s.yaml");
    let yaml = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, yaml.replace("v <> \\\"x\\\"", "v <> 'x'")).unwrap();
    ok_in(dir.path(), &["sync", "--yes"]);
    let conn = Connection::open(&db).unwrap();
    let ids: Vec<i64> = conn
        .prepare("SELECT id FROM vx ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(ids, vec![1], "the view still compares with the string");
}

/// Finding 2 D: hand-written files whose rollback is a native DROP COLUMN: SQLite re-quotes
/// the view in the live database (`"x"` becomes `'x'`), which is the same definition by
/// SQLite's own rule: drift is clean and the plan has nothing to do afterwards (that a
/// double-quoted word SQLite reads as a column is still compared as a column is in the unit
/// tests of src/requote.rs).
#[test]
fn a_hand_written_drop_column_leaves_no_drift() {
    let dir = empty_project();
    let p = dir.path();
    let db = db_from_ddl(
        p,
        "db.sqlite",
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'a'), (2, 'x');
         CREATE VIEW vx AS SELECT id FROM t WHERE v <> \"x\";",
    );
    ok_in(p, &["import", "--out", "schema/s.yaml"]);
    ok_in(p, &["plan", "--write", "base"]);
    ok_in(p, &["baseline", "--yes"]);
    std::fs::write(
        p.join("migrations/V2__addw.sql"),
        "ALTER TABLE t ADD COLUMN w TEXT;\n",
    )
    .unwrap();
    std::fs::write(
        p.join("rollbacks/V2__addw.sql"),
        "ALTER TABLE t DROP COLUMN w;\n",
    )
    .unwrap();
    let file = p.join("schema/s.yaml");
    let yaml = std::fs::read_to_string(&file).unwrap();
    let with_w = yaml.replace("version: 1", "version: 2").replace(
        "      v: { type: TEXT }",
        "      v: { type: TEXT }\n      w: { type: TEXT }",
    );
    assert_ne!(with_w, yaml);
    std::fs::write(&file, &with_w).unwrap();
    ok_in(p, &["apply", "--yes"]);
    ok_in(p, &["drift"]);
    ok_in(p, &["rollback", "last", "--yes"]);
    let conn = Connection::open(&db).unwrap();
    let text: String = conn
        .query_row("SELECT sql FROM sqlite_schema WHERE name = 'vx'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(
        text, "CREATE VIEW vx AS SELECT id FROM t WHERE v <> 'x'",
        "SQLite's rewrite"
    );
    std::fs::remove_file(p.join("migrations/V2__addw.sql")).unwrap();
    std::fs::remove_file(p.join("rollbacks/V2__addw.sql")).unwrap();
    std::fs::write(&file, &yaml).unwrap();
    ok_in(p, &["drift"]);
    assert!(ok_in(p, &["plan"]).contains("nothing to do"));
    let ids: Vec<i64> = conn
        .prepare("SELECT id FROM vx ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(ids, vec![1]);

    // The live text is now SQLite's 'x', the declared one still "x": a column x added to t
    // would make the recreated view read it, and the lint says so.
    std::fs::write(
        &file,
        yaml.replace("version: 1", "version: 2").replace(
            "      v: { type: TEXT }",
            "      v: { type: TEXT }\n      x: { type: TEXT }",
        ),
    )
    .unwrap();
    let plan = ok_in(p, &["plan"]);
    assert!(plan.contains("view vx uses \"x\" as a string"), "{plan}");
}

/// Session 10, finding 4: an adopted partial UNIQUE index `WHERE status <> "deleted"`, and
/// a column renamed to `deleted` (`renamed_from`). As for a column added under that name,
/// `sync` is refused by the lint, naming the index (never "a schemactl bug"), and nothing
/// changes; `--ignore-lint` applies the declared index (which now reads the column), and the
/// rollback gives back the old column and the old index, every row kept.
#[test]
fn a_column_renamed_to_an_index_string_is_a_lint_finding() {
    let dir = empty_project();
    db_from_ddl(
        dir.path(),
        "db.sqlite",
        "CREATE TABLE t (id INTEGER PRIMARY KEY, email TEXT, status TEXT, flag INTEGER NOT NULL DEFAULT 0);
         CREATE UNIQUE INDEX ux ON t (email) WHERE status <> \"deleted\";
         INSERT INTO t (id, email, status) VALUES (1, 'c@x', 'deleted'), (2, 'a@x', 'active'), (4, 'd@x', 'deleted');",
    );
    ok_in(dir.path(), &["import", "--out", "schema/s.yaml"]);
    let file = dir.path().join("schema/s.yaml");
    let yaml = std::fs::read_to_string(&file).unwrap();
    let flag = "      flag: { type: INTEGER, not_null: true, default: 0 }";
    assert!(yaml.contains(flag), "{yaml}");
    std::fs::write(
        &file,
        yaml.replace("version: 1", "version: 2").replace(
            flag,
            "      deleted: { type: INTEGER, not_null: true, default: 0, renamed_from: flag }",
        ),
    )
    .unwrap();
    let db = dir.path().join("db.sqlite");
    let schema = |db: &Path| -> Vec<String> {
        let conn = Connection::open(db).unwrap();
        let mut stmt = conn
            .prepare("SELECT sql FROM sqlite_schema WHERE name IN ('t', 'ux') ORDER BY name")
            .unwrap();
        let mut out: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        let rows: Vec<String> = conn
            .prepare("SELECT id || quote(email) || quote(status) FROM t ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        out.extend(rows);
        out
    };
    let before = schema(&db);
    let plan = ok_in(dir.path(), &["plan"]);
    assert!(
        plan.contains("the WHERE clause of index ux uses \"deleted\" as a string"),
        "{plan}"
    );
    let err = fails_in(dir.path(), &["sync", "--yes"], 1);
    assert!(
        err.contains("the WHERE clause of index ux uses \"deleted\" as a string"),
        "{err}"
    );
    assert!(!err.contains("schemactl bug"), "{err}");
    assert_eq!(schema(&db), before, "nothing changed");

    ok_in(dir.path(), &["sync", "--yes", "--ignore-lint"]);
    let after = schema(&db);
    assert!(
        after[1].contains("WHERE status <> \"deleted\"") && after[0].contains("deleted INTEGER"),
        "{after:?}"
    );
    assert_eq!(after[2..], before[2..], "every row kept");
    assert!(ok_in(dir.path(), &["plan"]).contains("nothing to do"));
    ok_in(dir.path(), &["rollback", "last", "--yes"]);
    assert_eq!(
        schema(&db),
        before,
        "the rollback gives back the column and the index"
    );
}
