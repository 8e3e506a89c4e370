//! Tests of the description of a migration's SQL: renames, rebuilds and data changes.

use super::*;

struct Nothing;
impl Reach for Nothing {
    fn reached_from(&self, _: &str) -> Vec<String> {
        Vec::new()
    }
}

fn describe(before: &[&str], sql: &str) -> Description {
    let before: Vec<String> = before.iter().map(|s| s.to_string()).collect();
    Description::new(&before, &[sql], &Nothing)
}

#[test]
fn a_rebuild_keeps_columns_by_name_and_renames_by_alter() {
    let d = describe(
        &["t"],
        "ALTER TABLE t RENAME COLUMN a TO b;
         CREATE TABLE _new_t (b TEXT, c TEXT, d TEXT);
         INSERT INTO _new_t (b, c) SELECT c, b FROM t;
         DROP TABLE t;
         ALTER TABLE _new_t RENAME TO t;",
    );
    let (after, name) = d.successor(0).unwrap();
    assert_eq!(name, "t");
    assert_ne!(after, 0);
    // the copy swaps b and c, but the description keeps them: the proof sees the swap
    assert_eq!(d.source(0, after, "b"), Source::Kept("a".into()));
    assert_eq!(d.source(0, after, "c"), Source::Kept("c".into()));
    assert_eq!(d.source(0, after, "d"), Source::Kept("d".into()));
    assert!(!d.fills_new_column(0, after, "d"));
    assert!(d.undescribed.is_empty());
}

#[test]
fn swapped_renames_through_a_temporary_name_are_followed() {
    let d = describe(
        &["t"],
        "ALTER TABLE t RENAME COLUMN a TO tmp; ALTER TABLE t RENAME COLUMN b TO a;
         ALTER TABLE t RENAME COLUMN tmp TO b;",
    );
    assert_eq!(d.source(0, 0, "a"), Source::Kept("b".into()));
    assert_eq!(d.source(0, 0, "b"), Source::Kept("a".into()));
}

#[test]
fn an_update_of_an_existing_table_writes_its_columns() {
    let d = describe(
        &["t"],
        "ALTER TABLE t ADD COLUMN c TEXT; UPDATE t SET c = 'x', (d, e) = (1, 2) WHERE a = 1;",
    );
    assert_eq!(d.source(0, 0, "c"), Source::Written);
    assert_eq!(d.source(0, 0, "d"), Source::Written);
    assert_eq!(d.source(0, 0, "a"), Source::Kept("a".into()));
    assert!(!d.tables[0].rows_changed);
}

#[test]
fn dml_on_an_existing_table_changes_its_rows_and_unknown_sql_is_undescribed() {
    let d = describe(&["t", "u"], "DELETE FROM t WHERE a = 1; VACUUM;");
    assert!(d.tables[0].rows_changed);
    assert!(!d.tables[1].rows_changed);
    assert_eq!(d.undescribed, vec!["VACUUM".to_string()]);
}

#[test]
fn a_drop_without_a_copy_has_no_successor() {
    let d = describe(&["t"], "DROP TABLE t; CREATE TABLE t (a);");
    assert_eq!(d.successor(0), None);
}

#[test]
fn a_generated_rebuild_that_swaps_follows_its_header_both_ways() {
    let body = "-- step 1 [rebuild]: rebuild table t (rename column b to a, rename column a to b)
CREATE TABLE _schemactl_new_t (id INTEGER PRIMARY KEY, a TEXT, b TEXT);
INSERT OR ABORT INTO _schemactl_new_t (id, a, b) SELECT id, b, a FROM t;
DROP TABLE t;
ALTER TABLE _schemactl_new_t RENAME TO t;
";
    let d = describe(&["t"], body);
    let (after, _) = d.successor(0).unwrap();
    assert_eq!(d.source(0, after, "a"), Source::Kept("b".into()));
    assert_eq!(d.source(0, after, "b"), Source::Kept("a".into()));
    // A chain, reversed: forward c <- b, b <- a; the reverse gives b <- c, a <- b.
    let chain = "-- schemactl migration (reverse) V2__x\n-- step 1 [rebuild]: rebuild table t (rename column b to c, rename column a to b)\nCREATE TABLE _n (a, b);\nINSERT INTO _n (a, b) SELECT b, c FROM t;\nDROP TABLE t;\nALTER TABLE _n RENAME TO t;\n";
    let d = describe(&["t"], chain);
    let (after, _) = d.successor(0).unwrap();
    assert_eq!(d.source(0, after, "a"), Source::Kept("b".into()));
    assert_eq!(d.source(0, after, "b"), Source::Kept("c".into()));
}

#[test]
fn trigger_bodies_stay_in_their_statement() {
    let tokens =
        lex("CREATE TRIGGER x AFTER INSERT ON t BEGIN DELETE FROM u; END; DELETE FROM t;").unwrap();
    assert_eq!(statements(&tokens).len(), 2);
}

#[test]
fn a_column_one_rebuild_drops_and_the_next_fills_is_new() {
    // Two generated reverses in one batch: the first rebuild leaves c1 out of its new table,
    // the second brings it back from a stash. The c1 after is not the c1 before.
    let d = describe(
        &["t"],
        "CREATE TABLE _schemactl_new_t (id INTEGER PRIMARY KEY, c2 TEXT);
         INSERT OR ABORT INTO _schemactl_new_t (id, c2) SELECT id, c2 FROM t;
         DROP TABLE t;
         ALTER TABLE _schemactl_new_t RENAME TO t;
         CREATE TABLE _schemactl_new_t (id INTEGER PRIMARY KEY, c1 TEXT, c2 TEXT);
         INSERT OR ABORT INTO _schemactl_new_t (id, c2, c1) SELECT t.id, t.c2, s.c1 FROM t
           LEFT JOIN _schemactl_stash_3_1 AS s ON s._schemactl_rowid = t.rowid;
         DROP TABLE t;
         ALTER TABLE _schemactl_new_t RENAME TO t;",
    );
    let (after, name) = d.successor(0).unwrap();
    assert_eq!(name, "t");
    assert_eq!(d.source(0, after, "c1"), Source::Added);
    assert!(d.fills_new_column(0, after, "c1"));
    assert_eq!(d.source(0, after, "c2"), Source::Kept("c2".into()));
    // A column the new table defines but its copy leaves out is still held to the old one.
    let d = describe(
        &["t"],
        "CREATE TABLE n1 (id INTEGER PRIMARY KEY, c1 TEXT, c2 TEXT);
         INSERT INTO n1 (id, c2) SELECT id, c2 FROM t;
         DROP TABLE t;
         ALTER TABLE n1 RENAME TO t;
         CREATE TABLE n2 (id INTEGER PRIMARY KEY, c1 TEXT, c2 TEXT);
         INSERT INTO n2 (id, c2, c1) SELECT id, c2, c1 FROM t;
         DROP TABLE t;
         ALTER TABLE n2 RENAME TO t;",
    );
    let (after, _) = d.successor(0).unwrap();
    assert_eq!(d.source(0, after, "c1"), Source::Kept("c1".into()));
}
