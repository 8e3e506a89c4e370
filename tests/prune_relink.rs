//! The shapes the hostile pass H11 found in prune and its relink, one test each: a NOCASE
//! parent key (h11_15), a SET NULL whose UPDATE cascades (h11_03), triggers fired by
//! triggers (h11_01/02), a rowid reused between prune and restore (h11_04), a parent key
//! taken by another row (h11_12), SET DEFAULT in a WITHOUT ROWID key (h11_11), a key-less
//! child merged before its parent (h11_05), and a refused dry run's exit status (h11_17).
//! Real files and processes.

mod common;

use std::path::Path;

use rusqlite::Connection;

use common::{schemactl, stderr, stdout};

fn project(ddl: &str, table: &str, when: &str) -> tempfile::TempDir {
    let dir = common::temp_dir();
    Connection::open(dir.path().join("db.sqlite"))
        .unwrap()
        .execute_batch(ddl)
        .unwrap();
    std::fs::create_dir_all(dir.path().join("schema")).unwrap();
    // The rule's table is declared with its id and `active` only: prune reads the rules.
    std::fs::write(
        dir.path().join("schema/s.yaml"),
        format!(
            "schemactl: 1\nversion: 1\ntables:\n  {table}:\n    columns:\n      id: {{type: INTEGER, primary_key: true}}\n      active: {{type: INTEGER}}\n    retention: {{ when: \"{when}\" }}\n"
        ),
    )
    .unwrap();
    dir
}

fn prune(dir: &Path, extra: &[&str]) -> std::process::Output {
    schemactl(
        dir,
        &[
            &["prune", "--database", "db.sqlite", "--schema", "schema"][..],
            extra,
        ]
        .concat(),
    )
}

fn archive_of(out: &std::process::Output) -> String {
    let v: serde_json::Value = serde_json::from_str(&stdout(out)).unwrap();
    v["archive"].as_str().unwrap().to_string()
}

fn restore(dir: &Path, archive: &str, table: &str, extra: &[&str]) -> std::process::Output {
    schemactl(
        dir,
        &[
            &[
                "restore",
                archive,
                "--database",
                "db.sqlite",
                "--table",
                table,
                "--mode",
                "merge",
                "--yes",
            ][..],
            extra,
        ]
        .concat(),
    )
}

fn rows(dir: &Path, sql: &str) -> Vec<String> {
    let conn = Connection::open(dir.join("db.sqlite")).unwrap();
    let mut stmt = conn.prepare(sql).unwrap();
    let n = stmt.column_count();
    stmt.query_map([], |r| {
        let mut s = Vec::new();
        for i in 0..n {
            let v: rusqlite::types::Value = r.get(i)?;
            s.push(format!("{v:?}"));
        }
        Ok(s.join("|"))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

/// Both runs refuse (exit 1) naming `why`, and nothing changed.
fn refused_both(dir: &Path, why: &str, check: &str) {
    let before = rows(dir, check);
    for extra in [
        &["--dry-run"][..],
        &["--dry-run", "--format", "json"],
        &["--yes"],
    ] {
        let out = prune(dir, extra);
        assert_eq!(out.status.code(), Some(1), "{extra:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(why), "{extra:?}: {}", stderr(&out));
    }
    assert_eq!(rows(dir, check), before);
}

#[test]
fn a_nocase_parent_key_takes_every_reference_sqlite_takes() {
    for action in ["CASCADE", "SET NULL"] {
        let dir = project(
            &format!(
                "CREATE TABLE acc (id INTEGER PRIMARY KEY, name TEXT COLLATE NOCASE UNIQUE, active INTEGER);
                 CREATE TABLE item (id INTEGER PRIMARY KEY, acc_name TEXT REFERENCES acc(name) ON DELETE {action}, n INTEGER);
                 INSERT INTO acc VALUES (1,'ann',1),(2,'bob',0);
                 INSERT INTO item VALUES (1,'ann',1),(2,'bob',2),(3,'BOB',3);"
            ),
            "acc",
            "active = 0",
        );
        let before = rows(dir.path(), "SELECT * FROM item ORDER BY id");
        let out = prune(dir.path(), &["--dry-run", "--format", "json"]);
        assert!(out.status.success(), "{action}: {}", stderr(&out));
        assert!(
            stdout(&out).contains("\"rows\": 2"),
            "{action}: {}",
            stdout(&out)
        );
        let out = prune(dir.path(), &["--yes", "--format", "json"]);
        assert!(out.status.success(), "{action}: {}", stderr(&out));
        let archive = archive_of(&out);
        assert!(restore(dir.path(), &archive, "acc", &[]).status.success());
        let out = restore(dir.path(), &archive, "item", &[]);
        assert!(out.status.success(), "{action}: {}", stderr(&out));
        assert_eq!(
            rows(dir.path(), "SELECT * FROM item ORDER BY id"),
            before,
            "{action}"
        );
    }
}

#[test]
fn set_null_on_a_column_another_key_references_on_update_is_refused_by_both_runs() {
    let dir = project(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, active INTEGER);
         CREATE TABLE orders (id INTEGER PRIMARY KEY, user_ref INTEGER REFERENCES users ON DELETE SET NULL, UNIQUE (user_ref, id));
         CREATE TABLE shipments (id INTEGER PRIMARY KEY, o_user INTEGER, o_id INTEGER, FOREIGN KEY (o_user, o_id) REFERENCES orders (user_ref, id) ON UPDATE CASCADE);
         INSERT INTO users VALUES (1,1),(2,0);
         INSERT INTO orders VALUES (10,1),(11,2);
         INSERT INTO shipments VALUES (100,1,10),(101,2,11);",
        "users",
        "active = 0",
    );
    refused_both(
        dir.path(),
        "\"shipments\"(o_user, o_id) references \"orders\" (ON UPDATE CASCADE)",
        "SELECT * FROM shipments",
    );
}

#[test]
fn set_default_on_a_without_rowid_key_column_is_refused_by_both_runs() {
    let dir = project(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, active INTEGER);
         CREATE TABLE pins (pid INTEGER, uid INTEGER DEFAULT 1 REFERENCES users ON DELETE SET DEFAULT, PRIMARY KEY (pid, uid)) WITHOUT ROWID;
         INSERT INTO users VALUES (1,1),(2,0);
         INSERT INTO pins VALUES (100,2),(101,1);",
        "users",
        "active = 0",
    );
    refused_both(
        dir.path(),
        "\"uid\" is part of the primary key of \"pins\"",
        "SELECT * FROM pins",
    );
}

#[test]
fn triggers_fired_by_triggers_are_named_and_refused_by_both_runs() {
    for body in [
        "REPLACE INTO notes (id, uid, body) SELECT id, uid, 'redacted' FROM notes WHERE uid = new.uid",
        "DELETE FROM notes WHERE uid = new.uid",
        "UPDATE OR REPLACE notes SET id = 1 WHERE uid = new.uid",
    ] {
        let dir = project(
            &format!(
                "CREATE TABLE users (id INTEGER PRIMARY KEY, active INTEGER);
                 CREATE TABLE notes (id INTEGER PRIMARY KEY, uid INTEGER, body TEXT);
                 CREATE TABLE flags (uid INTEGER PRIMARY KEY, gone INTEGER);
                 CREATE TABLE marks (uid INTEGER PRIMARY KEY, n INTEGER);
                 CREATE TRIGGER users_gone AFTER DELETE ON users BEGIN UPDATE flags SET gone = 1 WHERE uid = old.id; END;
                 CREATE TRIGGER flags_up AFTER UPDATE OF gone ON flags BEGIN UPDATE marks SET n = n + 1 WHERE uid = new.uid; END;
                 CREATE TRIGGER marks_up AFTER UPDATE ON marks BEGIN {body}; END;
                 INSERT INTO users VALUES (1,1),(2,0);
                 INSERT INTO flags VALUES (1,0),(2,0);
                 INSERT INTO marks VALUES (1,0),(2,0);
                 INSERT INTO notes VALUES (10,1,'a1'),(11,2,'b1 secret'),(12,2,'b2 secret');"
            ),
            "users",
            "active = 0",
        );
        let out = prune(dir.path(), &["--dry-run"]);
        for t in ["users_gone", "flags_up", "marks_up"] {
            assert!(
                stdout(&out).contains(&format!("(trigger \"{t}\")")),
                "{body}: {}",
                stdout(&out)
            );
        }
        refused_both(
            dir.path(),
            "trigger \"marks_up\" on \"marks\"",
            "SELECT * FROM notes",
        );
    }
}

#[test]
fn a_rowid_reused_since_the_prune_is_not_taken_for_the_row() {
    let dir = project(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, active INTEGER);
         CREATE TABLE orders (code TEXT PRIMARY KEY, user_ref INTEGER REFERENCES users ON DELETE SET NULL, total INTEGER);
         CREATE TABLE events (user_ref INTEGER REFERENCES users ON DELETE SET NULL, what TEXT);
         INSERT INTO users VALUES (1,1),(2,0);
         INSERT INTO orders VALUES ('x',1,9),('y',2,8),('z',2,7);
         INSERT INTO events VALUES (1,'a'),(2,'b'),(2,'c');",
        "users",
        "active = 0",
    );
    let out = prune(dir.path(), &["--yes", "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let archive = archive_of(&out);
    // The application deletes 'z' and the event 'c', and writes new rows under their rowids.
    Connection::open(dir.path().join("db.sqlite"))
        .unwrap()
        .execute_batch(
            "DELETE FROM orders WHERE code = 'z'; INSERT INTO orders (rowid, code, user_ref, total) VALUES (3, 'w', NULL, 100);
             DELETE FROM events WHERE what = 'c'; INSERT INTO events (rowid, user_ref, what) VALUES (3, NULL, 'new');",
        )
        .unwrap();
    for t in ["users", "orders", "events"] {
        let out = restore(dir.path(), &archive, t, &[]);
        assert!(out.status.success(), "{t}: {}", stderr(&out));
    }
    assert_eq!(
        rows(dir.path(), "SELECT rowid, * FROM orders ORDER BY rowid"),
        [
            "Integer(1)|Text(\"x\")|Integer(1)|Integer(9)",
            "Integer(2)|Text(\"y\")|Integer(2)|Integer(8)",
            "Integer(3)|Text(\"w\")|Null|Integer(100)"
        ]
    );
    assert_eq!(
        rows(dir.path(), "SELECT rowid, * FROM events ORDER BY rowid"),
        [
            "Integer(1)|Integer(1)|Text(\"a\")",
            "Integer(2)|Integer(2)|Text(\"b\")",
            "Integer(3)|Null|Text(\"new\")"
        ]
    );
}

#[test]
fn a_reference_goes_back_only_to_the_parent_row_the_archive_holds() {
    let dir = project(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, active INTEGER);
         CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users ON DELETE SET NULL);
         INSERT INTO users VALUES (1,'ann',1),(2,'bob',0);
         INSERT INTO orders VALUES (10,1),(11,2),(12,2);",
        "users",
        "active = 0",
    );
    let out = prune(dir.path(), &["--yes", "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let archive = archive_of(&out);
    Connection::open(dir.path().join("db.sqlite"))
        .unwrap()
        .execute_batch("INSERT INTO users VALUES (2, 'zed', 1)")
        .unwrap();
    assert!(
        restore(dir.path(), &archive, "users", &["--skip-taken"])
            .status
            .success()
    );
    let out = restore(dir.path(), &archive, "orders", &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("2 not"), "{}", stderr(&out));
    assert_eq!(
        rows(dir.path(), "SELECT * FROM orders ORDER BY id"),
        [
            "Integer(10)|Integer(1)",
            "Integer(11)|Null",
            "Integer(12)|Null"
        ]
    );
}

#[test]
fn a_keyless_child_merged_before_its_parent_gets_its_references_by_the_advised_rerun() {
    let dir = project(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, active INTEGER);
         CREATE TABLE events (user_ref INTEGER REFERENCES users ON DELETE SET NULL, what TEXT, old INTEGER);
         INSERT INTO users VALUES (1,1),(2,0);
         INSERT INTO events VALUES (1,'login',0),(2,'login',0),(2,'logout',0),(NULL,'boot',1);",
        "users",
        "active = 0",
    );
    // events loses a row of its own: the archive holds rows of it, merged once.
    std::fs::write(
        dir.path().join("schema/s.yaml"),
        "schemactl: 1\nversion: 1\ntables:\n  users:\n    columns:\n      id: {type: INTEGER, primary_key: true}\n      active: {type: INTEGER}\n    retention: { when: \"active = 0\" }\n  events:\n    columns:\n      user_ref: {type: INTEGER}\n      what: {type: TEXT}\n      old: {type: INTEGER}\n    retention: { when: \"old = 1\" }\n",
    )
    .unwrap();
    let before = rows(dir.path(), "SELECT rowid, * FROM events ORDER BY rowid");
    let out = prune(dir.path(), &["--yes", "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let archive = archive_of(&out);
    let early = restore(dir.path(), &archive, "events", &[]);
    assert!(
        stderr(&early).contains("restore that table first, then this one again"),
        "{}",
        stderr(&early)
    );
    assert!(restore(dir.path(), &archive, "users", &[]).status.success());
    let again = restore(dir.path(), &archive, "events", &[]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(
        rows(dir.path(), "SELECT rowid, * FROM events ORDER BY rowid"),
        before
    );
}

#[test]
fn a_trigger_reached_through_an_on_update_cascade_is_named_and_refused() {
    let dir = project(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, active INTEGER);
         CREATE TABLE acct (id INTEGER PRIMARY KEY, code TEXT UNIQUE);
         CREATE TABLE audit (id INTEGER PRIMARY KEY, code TEXT REFERENCES acct(code) ON UPDATE CASCADE);
         CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);
         CREATE TRIGGER users_gone AFTER DELETE ON users BEGIN UPDATE acct SET code = code || '-gone' WHERE id = old.id; END;
         CREATE TRIGGER audit_up AFTER UPDATE ON audit BEGIN DELETE FROM notes; END;
         INSERT INTO users VALUES (1,1),(2,0);
         INSERT INTO acct VALUES (1,'a'),(2,'b');
         INSERT INTO audit VALUES (10,'b');
         INSERT INTO notes VALUES (1,'keep me');",
        "users",
        "active = 0",
    );
    refused_both(
        dir.path(),
        "trigger \"audit_up\" on \"audit\" fires for the rows the prune changes (fired by trigger \"users_gone\")",
        "SELECT * FROM notes",
    );
}
