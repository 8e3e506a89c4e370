//! A trigger on a managed table that writes into a table `exclude` leaves alone (an app's
//! audit trigger into an operator-owned log) is adopted like any other trigger: import writes
//! it, the imported schema plans nothing, a rebuild of its table keeps it firing into the
//! excluded table, and `plan --write` writes the versioned workflow's files, whatever the
//! quoting of its literals (a legacy double-quoted string `"upd:"` included) and of the
//! views beside it (h13_04).

mod common;

use std::path::Path;

use common::{db_from_ddl, empty_project, ok_in, schemactl, stderr, stdout};
use proptest::prelude::*;
use rusqlite::Connection;

/// The audit rows `db` holds, in order.
fn audit(db: &Path, table: &str) -> Vec<(i64, String)> {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare(&format!("SELECT uid, what FROM \"{table}\" ORDER BY id"))
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Asserts that `plan --check` exits 0 ("nothing to do") in `dir`.
fn plans_nothing(dir: &Path, when: &str) {
    let out = schemactl(dir, &["plan", "--check"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{when}: plan is not a no-op:\n{}{}",
        stdout(&out),
        stderr(&out)
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn an_audit_trigger_into_an_excluded_table_is_adopted(
        dqs_trigger in any::<bool>(),
        dqs_view in any::<bool>(),
        event in prop::sample::select(vec!["UPDATE", "INSERT"]),
        log in prop::sample::select(vec!["audit_log", "AUDIT_trail", "audit_x"]),
    ) {
        let p = empty_project();
        let dir = p.path();
        std::fs::write(
            dir.join("schemactl.toml"),
            "database = \"db.sqlite\"\nbackups = \"backups\"\nexclude = [\"audit_*\"]\n",
        )
        .unwrap();
        let q = |dqs: bool, s: &str| if dqs { format!("\"{s}\"") } else { format!("'{s}'") };
        let ddl = format!(
            "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);
             CREATE TABLE {log} (id INTEGER PRIMARY KEY AUTOINCREMENT, uid INTEGER, what TEXT);
             CREATE TRIGGER users_audit AFTER {event} ON users
               BEGIN INSERT INTO {log} (uid, what) VALUES (new.id, {} || new.name); END;
             CREATE VIEW named AS SELECT id FROM users WHERE name <> {};
             INSERT INTO users VALUES (1, 'a');",
            q(dqs_trigger, "ev:"),
            q(dqs_view, "zz"),
        );
        let db = db_from_ddl(dir, "db.sqlite", &ddl);
        let before = audit(&db, log);

        // Import writes the trigger and no warning: the schema plans nothing.
        let out = schemactl(dir, &["import", "--out", "schema/app.yaml"]);
        prop_assert!(out.status.success(), "{}", stderr(&out));
        prop_assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
        let yaml = std::fs::read_to_string(dir.join("schema/app.yaml")).unwrap();
        prop_assert!(yaml.contains("users_audit"), "{yaml}");
        plans_nothing(dir, "after import");
        // The versioned workflow from the start (a copy of the project: its first migration
        // holds the trigger, which the files alone, without the log table, must still prove).
        let copy = empty_project();
        for f in ["schemactl.toml", "db.sqlite", "schema/app.yaml"] {
            std::fs::copy(dir.join(f), copy.path().join(f)).unwrap();
        }
        ok_in(copy.path(), &["plan", "--write", "init"]);
        ok_in(dir, &["sync", "--yes"]);

        // A rebuild of users keeps the trigger firing into the excluded table.
        let yaml = yaml.replace("version: 1", "version: 2").replace(
            "      name: { type: TEXT }\n",
            "      name: { type: TEXT }\n      created: { type: TEXT, not_null: true, default: { sql: CURRENT_TIMESTAMP } }\n",
        );
        std::fs::write(dir.join("schema/app.yaml"), &yaml).unwrap();
        ok_in(dir, &["sync", "--yes"]);
        plans_nothing(dir, "after the sync");
        let conn = Connection::open(&db).unwrap();
        conn.execute_batch(
            "INSERT INTO users (id, name) VALUES (2, 'b'); UPDATE users SET name = 'c' WHERE id = 2;",
        )
        .unwrap();
        drop(conn);
        let after = audit(&db, log);
        prop_assert_eq!(after.len(), before.len() + 1, "{:?}", after);
        prop_assert!(after.last().unwrap().1.starts_with("ev:"), "{:?}", after);

        // The versioned workflow: the syncs as files, and the next change as a migration the
        // live database applies, its trigger still firing.
        let yaml = yaml.replace("version: 2", "version: 3").replace(
            "      created: ",
            "      note: { type: TEXT }\n      created: ",
        );
        std::fs::write(dir.join("schema/app.yaml"), &yaml).unwrap();
        ok_in(dir, &["plan", "--write", "more"]);
        ok_in(dir, &["apply", "--yes"]);
        plans_nothing(dir, "after apply");
        let conn = Connection::open(&db).unwrap();
        conn.execute_batch("INSERT INTO users (id, name) VALUES (3, 'd'); UPDATE users SET name = 'e' WHERE id = 3;")
            .unwrap();
        drop(conn);
        prop_assert_eq!(audit(&db, log).len(), after.len() + 1);
    }
}
