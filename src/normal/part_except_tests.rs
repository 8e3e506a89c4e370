//! The schema check without the tables whose catalog rows did not change
//! ([`crate::inspect::schema_changed_since`], [`Replaced::matches_except`]) judges every
//! expected schema exactly as the check on a full inspection does: the same changes caught,
//! whichever part the expected schema replaces.

use std::collections::BTreeSet;

use proptest::prelude::*;
use rusqlite::Connection;

use super::{Replaced, within};

const BASE: &str = "
    CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT);
    CREATE INDEX a_v ON a (v);
    CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER REFERENCES a (id));
    CREATE INDEX b_a ON b (a_id);
    CREATE TABLE c (id INTEGER PRIMARY KEY, w TEXT CHECK (w <> 'x'));
    CREATE TABLE d (k TEXT PRIMARY KEY, n INT) WITHOUT ROWID;
    CREATE TABLE \"Mixed Case\" (id INTEGER PRIMARY KEY);
    CREATE VIEW va AS SELECT id, v FROM a;
    CREATE TRIGGER tb AFTER INSERT ON b BEGIN UPDATE c SET w = 'y'; END;";

/// A view holding a double-quoted string: how SQLite reads it depends on every table's
/// columns, so nothing may be left out then.
const QUOTED_VIEW: &str = "CREATE VIEW vq AS SELECT \"nope\" AS s FROM c;";

/// What a migration may do, reached by the expected part or not.
const CHANGES: [&str; 14] = [
    "",
    "ALTER TABLE a ADD COLUMN z INT",
    "CREATE INDEX c_w ON c (w)",
    "DROP INDEX b_a",
    "DROP INDEX b_a; CREATE INDEX b_a ON b (a_id, id)",
    "DROP TABLE d",
    "CREATE TABLE e (x)",
    "ALTER TABLE c RENAME TO c2",
    "DROP VIEW va; CREATE VIEW va AS SELECT id FROM a",
    "ALTER TABLE d ADD COLUMN m TEXT",
    "DROP TRIGGER tb",
    "ALTER TABLE b RENAME COLUMN a_id TO a_ref",
    "DROP TABLE \"Mixed Case\"; CREATE TABLE \"mixed case\" (id INTEGER PRIMARY KEY)",
    "ALTER TABLE a RENAME TO a_old; CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT); \
     CREATE INDEX a_v2 ON a (v); DROP TABLE a_old",
];

const NAMES: [&str; 11] = [
    "a",
    "b",
    "c",
    "c2",
    "d",
    "e",
    "mixed case",
    "va",
    "vq",
    "tb",
    "a_old",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn leaving_unchanged_tables_out_judges_as_the_full_check(
        change in 0..CHANGES.len(),
        quoted in any::<bool>(),
        picked in proptest::collection::vec(any::<bool>(), NAMES.len()),
        whole in any::<bool>(),
        planned in 0..CHANGES.len(),
    ) {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(BASE).unwrap();
        if quoted {
            conn.execute_batch(QUOTED_VIEW).unwrap();
        }
        let before = crate::inspect::inspect_since(&conn, None).unwrap();
        conn.execute_batch(CHANGES[change]).unwrap();
        let after = crate::inspect(&conn).unwrap();
        let (got, same) = crate::inspect::schema_changed_since(&conn, &before).unwrap();
        // (A RENAME COLUMN anywhere makes SQLite write such a string as 'nope' everywhere.)
        let still_quoted = after.views.iter().any(|v| v.select.as_str().contains('"'))
            || after.triggers.iter().any(|t| t.sql.as_str().contains('"'));
        if still_quoted {
            prop_assert!(same.is_empty(), "{same:?}");
        }
        // The expected schema: the part `names` of what the change `planned` builds (the
        // one that ran, or another), over the schema before.
        let names: BTreeSet<String> = NAMES
            .iter()
            .zip(&picked)
            .filter(|(_, p)| **p)
            .map(|(n, _)| n.to_string())
            .collect();
        let plan = Connection::open_in_memory().unwrap();
        plan.execute_batch(BASE).unwrap();
        if quoted {
            plan.execute_batch(QUOTED_VIEW).unwrap();
        }
        plan.execute_batch(CHANGES[planned]).unwrap();
        let source = &crate::inspect(&plan).unwrap();
        let expected = if whole {
            Replaced::new(None, source.clone())
        } else {
            Replaced::new(Some(names.clone()), within(source, &names))
        };
        let full = expected.matches(&before.schema, &after);
        prop_assert_eq!(
            expected.matches_except(&before.schema, &got, &same),
            full,
            "change {:?}, planned {:?}, names {:?}, left out {:?}",
            CHANGES[change],
            CHANGES[planned],
            names,
            same
        );
        // And the full check itself: the real result over the part that holds every
        // object the change touched is as expected.
        let whole_after = Replaced::new(None, after.clone());
        prop_assert!(whole_after.matches_except(&before.schema, &got, &same));
    }
}

#[test]
fn a_change_outside_the_part_is_caught_though_its_table_is_read_alone() {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(BASE).unwrap();
    let before = crate::inspect::inspect_since(&conn, None).unwrap();
    // The plan expected a change of `a` alone; the run also added an index to `c`.
    conn.execute_batch("ALTER TABLE a ADD COLUMN z INT; CREATE INDEX c_w ON c (w)")
        .unwrap();
    let after = crate::inspect(&conn).unwrap();
    let names: BTreeSet<String> = ["a".to_string()].into();
    let expected = Replaced::new(Some(names.clone()), within(&after, &names));
    let (got, same) = crate::inspect::schema_changed_since(&conn, &before).unwrap();
    assert!(
        same.contains("b") && same.contains("d") && !same.contains("c"),
        "{same:?}"
    );
    assert!(!expected.matches_except(&before.schema, &got, &same));
    // Without the index, it is as expected, and b, d and "Mixed Case" were not read.
    conn.execute_batch("DROP INDEX c_w").unwrap();
    let (got, same) = crate::inspect::schema_changed_since(&conn, &before).unwrap();
    assert!(expected.matches_except(&before.schema, &got, &same));
    assert!(got.table("b").is_none() && got.table("Mixed Case").is_none());
}
