//! A table or index named as a word, "quoted", [bracketed], `backticked` or as a 'string'
//! (SQLite takes a single-quoted string as a name where one is expected) is the same object
//! to every reader of names: the part a migration reaches is the same as for the word form,
//! replaying it on that part gives what replaying it on the whole gives, and the drops the
//! destructive gate reads are the same.

use proptest::prelude::*;
use rusqlite::Connection;

use super::{reach, replace, within};
use crate::model::Schema;

const SCHEMA: &str = "
    CREATE TABLE t0 (id INTEGER PRIMARY KEY, name TEXT);
    CREATE TABLE t1 (id INTEGER PRIMARY KEY, name TEXT, p INTEGER REFERENCES t0(id));
    CREATE TABLE t2 (id INTEGER PRIMARY KEY, name TEXT, p INTEGER REFERENCES t1(id));
    CREATE TABLE t3 (id INTEGER PRIMARY KEY, name TEXT);
    CREATE INDEX t2_name ON t2(name);
    CREATE INDEX t3_name ON t3(name);
    CREATE VIEW v1 AS SELECT name FROM t1;
    CREATE TRIGGER t3_ins AFTER INSERT ON t3 BEGIN UPDATE t2 SET name = new.name; END;";

/// Writes `name` in form `form`: 0 word, 1 "quoted", 2 [bracketed], 3 `backticked`, 4 'string'.
fn written(name: &str, form: usize) -> String {
    match form {
        1 => format!("\"{name}\""),
        2 => format!("[{name}]"),
        3 => format!("`{name}`"),
        4 => format!("'{name}'"),
        _ => name.to_string(),
    }
}

/// One statement of kind `kind` on table `t` (or index `t`_name), its names in form `form`.
fn statement(kind: usize, t: usize, form: usize) -> String {
    let table = written(&format!("t{t}"), form);
    match kind {
        0 => format!("DROP TABLE {table};"),
        1 => format!("DROP TABLE IF EXISTS {table};"),
        2 => format!("ALTER TABLE {table} ADD COLUMN z{t} TEXT;"),
        3 => format!("CREATE INDEX ix_new{t} ON {table}(name);"),
        4 => format!("UPDATE {table} SET name = upper(name);"),
        5 => format!("DELETE FROM {table} WHERE id = 1;"),
        6 => format!("INSERT INTO {table}(id) VALUES (99);"),
        7 => format!("ALTER TABLE {table} RENAME COLUMN name TO label{t};"),
        8 => format!("ALTER TABLE {table} RENAME TO moved{t};"),
        _ => format!(
            "DROP INDEX IF EXISTS {};",
            written(&format!("t{t}_name"), form)
        ),
    }
}

/// The schema after `sql` on `start`; None when SQLite refuses the SQL.
fn replayed(start: &Schema, sql: &str) -> Option<Schema> {
    let conn = crate::normal::create_in_memory(start).unwrap();
    conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
    conn.execute_batch(sql).ok()?;
    Some(crate::inspect(&conn).unwrap())
}

fn schema() -> Schema {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(SCHEMA).unwrap();
    crate::inspect(&conn).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn a_name_in_any_form_reaches_what_the_word_reaches(
        steps in prop::collection::vec((0usize..10, 0usize..4, 0usize..5), 1..4),
    ) {
        let schema = schema();
        // Each table at most once, so that no statement names a table an earlier one dropped
        // or renamed.
        let mut seen = std::collections::BTreeSet::new();
        let steps: Vec<_> = steps.into_iter().filter(|(_, t, _)| seen.insert(*t)).collect();
        let word: String = steps.iter().map(|&(k, t, _)| statement(k, t, 0)).collect();
        let formed: String = steps.iter().map(|&(k, t, f)| statement(k, t, f)).collect();
        // A sequence SQLite refuses in either form (a trigger on a table another statement
        // dropped) says nothing about names.
        let (Some(whole), Some(by_word)) = (replayed(&schema, &formed), replayed(&schema, &word))
        else {
            return Err(TestCaseError::reject("SQLite refuses the sequence"));
        };
        prop_assert_eq!(&whole, &by_word, "{}", formed);
        let names = reach(&schema, &[&formed]);
        prop_assert_eq!(&names, &reach(&schema, &[&word]), "{}", formed);
        let names = names.unwrap();
        let part = replace(&schema, &names, replayed(&within(&schema, &names), &formed).unwrap());
        prop_assert!(
            part == whole,
            "{formed}: {}",
            crate::normal::describe_difference(&whole, &part)
        );
        let drops = |sql: &str| -> Vec<(String, Option<String>)> {
            crate::migrations::drops(sql)
                .into_iter()
                .map(|d| (d.table.to_ascii_lowercase(), d.column))
                .collect()
        };
        prop_assert_eq!(drops(&formed), drops(&word), "{}", formed);
    }
}
