//! Rows that already break a foreign key (an old orphan, or a key into a table that exists
//! nowhere) of a table whose foreign keys the plan checks: `plan` names them as a lint
//! finding and `sync` refuses them before the backup, exit 1, where only the rehearsal's
//! `foreign_key_check` used to find them (h13_03).

mod common;

use common::{db_from_ddl, empty_project, schemactl, stderr, stdout};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn old_orphans_of_a_checked_table_are_named_before_anything_runs(
        into_missing_table in any::<bool>(),
        orphans in 1usize..8,
        rebuild_child in any::<bool>(),
    ) {
        let p = empty_project();
        let dir = p.path();
        let (column, parent) = if into_missing_table { ("ghost_id", "ghost") } else { ("author_id", "auth_user") };
        let mut ddl = String::from(
            "PRAGMA foreign_keys = OFF;
             CREATE TABLE auth_user (id INTEGER PRIMARY KEY, username TEXT NOT NULL);
             CREATE TABLE blog_post (id INTEGER PRIMARY KEY, author_id INTEGER REFERENCES auth_user (id), ghost_id INTEGER REFERENCES ghost (id), title TEXT);
             INSERT INTO auth_user VALUES (1, 'bob');
             INSERT INTO blog_post VALUES (100, 1, NULL, 'fine');",
        );
        for i in 0..orphans {
            ddl.push_str(&format!(
                "INSERT INTO blog_post (id, {column}) VALUES ({}, {});",
                i + 1,
                50 + i
            ));
        }
        let db = db_from_ddl(dir, "db.sqlite", &ddl);
        let out = schemactl(dir, &["import", "--out", "schema/app.yaml"]);
        prop_assert!(out.status.success(), "{}", stderr(&out));
        // A change that rebuilds the parent (its children are checked) or the child itself.
        let yaml = std::fs::read_to_string(dir.join("schema/app.yaml")).unwrap();
        let (table_line, after) = if rebuild_child {
            ("      title: { type: TEXT }\n", "      title: { type: TEXT }\n      created: { type: TEXT, not_null: true, default: { sql: CURRENT_TIMESTAMP } }\n")
        } else {
            ("      username: { type: TEXT, not_null: true }\n", "      username: { type: TEXT, not_null: true }\n      created: { type: TEXT, not_null: true, default: { sql: CURRENT_TIMESTAMP } }\n")
        };
        prop_assert!(yaml.contains(table_line), "{yaml}");
        let yaml = yaml.replace("version: 1", "version: 2").replace(table_line, after);
        std::fs::write(dir.join("schema/app.yaml"), yaml).unwrap();
        let before = std::fs::read(&db).unwrap();

        // plan: one foreign_key finding on blog_post naming the key, up to five rows.
        let out = schemactl(dir, &["plan", "--format", "json"]);
        prop_assert!(out.status.success(), "{}", stderr(&out));
        let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        let found: Vec<&serde_json::Value> = json["lint"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["kind"] == "foreign_key")
            .collect();
        prop_assert_eq!(found.len(), 1, "{}", json["lint"]);
        let f = found[0];
        prop_assert_eq!(&f["table"], "blog_post");
        prop_assert_eq!(f["count"].as_u64(), Some(orphans as u64));
        let message = f["message"].as_str().unwrap();
        prop_assert!(message.contains(column) && message.contains(parent), "{message}");
        let samples = f["samples"].as_array().unwrap();
        prop_assert_eq!(samples.len(), orphans.min(5), "{:?}", samples);
        prop_assert!(samples[0].as_str().unwrap().contains("id=1"), "{:?}", samples);

        // sync: refused by the lint, exit 1, before any backup, nothing changed.
        let out = schemactl(dir, &["sync", "--yes"]);
        prop_assert_eq!(out.status.code(), Some(1), "{}{}", stdout(&out), stderr(&out));
        prop_assert!(stderr(&out).contains("blog_post"), "{}", stderr(&out));
        prop_assert!(!dir.join("backups").exists(), "a backup was taken");
        prop_assert!(std::fs::read(&db).unwrap() == before, "the database changed");
    }
}
