//! A rename's reverse is a rename: rolling back a migration that renames a table or columns
//! (plain `ALTER TABLE ... RENAME`, or inside a rebuild) drops nothing, needs no
//! `--allow-destructive` and stashes nothing, and applying the migration again keeps every
//! row the application wrote, updated or deleted after the rollback. A property over random
//! renames (table, columns, with or without a rebuild in the same migration), random writes
//! between rollback and re-apply, through `plan --write` + `apply` or through `sync`, rows
//! compared exactly (32 cases). And: a whole-table stash is never put back over rows the
//! re-applied migration brought from elsewhere (written after the rollback), while seed rows
//! the migration inserts again are replaced as before.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{fails_in, ok_in, stdout};
use proptest::prelude::*;
use rusqlite::Connection;

/// One row: id → (a, b).
type Rows = BTreeMap<i64, (Option<String>, Option<i64>)>;

#[derive(Debug, Clone)]
struct Case {
    rename_table: bool,
    rename_a: bool,
    rename_b: bool,
    /// The migration also rebuilds the table (a CHECK added).
    rebuild: bool,
    /// Forward by `sync` (a new migration each time) instead of `plan --write` + `apply`.
    sync: bool,
    rows: Vec<(Option<String>, Option<i64>)>,
    /// Writes after the rollback: (kind 0 insert / 1 update / 2 delete, row index, value).
    writes: Vec<(u8, usize, Option<String>, Option<i64>)>,
}

fn value() -> impl Strategy<Value = Option<String>> {
    prop_oneof![Just(None), "[a-z]{0,4}".prop_map(Some)]
}

fn case() -> impl Strategy<Value = Case> {
    (
        (any::<bool>(), any::<bool>(), any::<bool>()),
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec((value(), prop::option::of(-5i64..5)), 0..6),
        prop::collection::vec(
            (0u8..3, 0usize..8, value(), prop::option::of(-5i64..5)),
            0..8,
        ),
    )
        .prop_filter("at least one rename", |((t, a, b), ..)| *t || *a || *b)
        .prop_map(|((t, a, b), rebuild, sync, rows, writes)| Case {
            rename_table: t,
            rename_a: a,
            rename_b: b,
            rebuild,
            sync,
            rows,
            writes,
        })
}

impl Case {
    fn names(&self, version: u32) -> (&'static str, &'static str, &'static str) {
        let v2 = version == 2;
        (
            if v2 && self.rename_table {
                "people"
            } else {
                "parent"
            },
            if v2 && self.rename_a { "a2" } else { "a" },
            if v2 && self.rename_b { "b2" } else { "b" },
        )
    }

    fn yaml(&self, version: u32) -> String {
        let (t, a, b) = self.names(version);
        let v2 = version == 2;
        let mut out = format!("schemactl: 1\nversion: {version}\ntables:\n  {t}:\n");
        if v2 && self.rename_table {
            out.push_str("    renamed_from: parent\n");
        }
        out.push_str("    columns:\n      id: { type: INTEGER, primary_key: true }\n");
        let hint = |renamed: bool, from: &str| {
            if v2 && renamed {
                format!(", renamed_from: {from}")
            } else {
                String::new()
            }
        };
        out.push_str(&format!(
            "      {a}: {{ type: TEXT{} }}\n",
            hint(self.rename_a, "a")
        ));
        out.push_str(&format!(
            "      {b}: {{ type: INTEGER{} }}\n",
            hint(self.rename_b, "b")
        ));
        if v2 && self.rebuild {
            out.push_str("    checks:\n      - id > 0\n");
        }
        out
    }
}

fn write_schema(dir: &Path, yaml: &str) {
    std::fs::write(dir.join("schema/s.yaml"), yaml).unwrap();
}

fn read_rows(db: &Path, (t, a, b): (&str, &str, &str)) -> Rows {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare(&format!("SELECT id, \"{a}\", \"{b}\" FROM \"{t}\""))
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

fn stash_tables(db: &Path) -> Vec<String> {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT name FROM sqlite_schema WHERE name LIKE '\\_schemactl\\_stash\\_%' ESCAPE '\\'",
        )
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

fn project() -> tempfile::TempDir {
    common::empty_project()
}

fn run_case(c: &Case) {
    let dir = project();
    let d = dir.path();
    let db = d.join("db.sqlite");
    write_schema(d, &c.yaml(1));
    if c.sync {
        ok_in(d, &["sync", "--yes"]);
    } else {
        ok_in(d, &["plan", "--write", "init"]);
        ok_in(d, &["apply", "--yes"]);
    }
    let old = c.names(1);
    let new = c.names(2);
    {
        let conn = Connection::open(&db).unwrap();
        for (i, (a, b)) in c.rows.iter().enumerate() {
            conn.execute(
                &format!("INSERT INTO \"{}\" VALUES (?1, ?2, ?3)", old.0),
                rusqlite::params![i as i64 + 1, a, b],
            )
            .unwrap();
        }
    }
    let mut model = read_rows(&db, old);
    // Forward: the renames (and the rebuild) drop nothing: no gate.
    write_schema(d, &c.yaml(2));
    if c.sync {
        ok_in(d, &["sync", "--yes"]);
    } else {
        ok_in(d, &["plan", "--write", "rename"]);
        ok_in(d, &["apply", "--yes"]);
    }
    assert_eq!(read_rows(&db, new), model, "after the forward renames");
    // The rollback renames back: nothing dropped, no gate, nothing stashed.
    let dry = ok_in(d, &["rollback", "last", "--dry-run"]);
    assert!(!dry.contains("drops data"), "{dry}");
    ok_in(d, &["rollback", "last", "--yes"]);
    assert_eq!(read_rows(&db, old), model, "after the rollback");
    assert_eq!(stash_tables(&db), Vec::<String>::new());
    // The application writes under the old names.
    {
        let conn = Connection::open(&db).unwrap();
        for (kind, i, a, b) in &c.writes {
            let ids: Vec<i64> = model.keys().copied().collect();
            let t = format!("\"{}\"", old.0);
            match (kind, ids.get(i % ids.len().max(1))) {
                (1, Some(&id)) => {
                    conn.execute(
                        &format!("UPDATE {t} SET a = ?1, b = ?2 WHERE id = ?3"),
                        rusqlite::params![a, b, id],
                    )
                    .unwrap();
                    model.insert(id, (a.clone(), *b));
                }
                (2, Some(&id)) => {
                    conn.execute(&format!("DELETE FROM {t} WHERE id = ?1"), [id])
                        .unwrap();
                    model.remove(&id);
                }
                _ => {
                    let id = model.keys().max().copied().unwrap_or(0) + 1 + *i as i64;
                    conn.execute(
                        &format!("INSERT INTO {t} VALUES (?1, ?2, ?3)"),
                        rusqlite::params![id, a, b],
                    )
                    .unwrap();
                    model.insert(id, (a.clone(), *b));
                }
            }
        }
    }
    // Re-applied: every write made since the rollback is there, exactly.
    if c.sync {
        ok_in(d, &["sync", "--yes"]);
    } else {
        ok_in(d, &["apply", "--yes"]);
    }
    assert_eq!(read_rows(&db, new), model, "after the re-apply");
    assert_eq!(stash_tables(&db), Vec::<String>::new());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn a_rename_rolled_back_and_applied_again_keeps_every_write(c in case()) {
        run_case(&c);
    }
}

/// A hand-written migration that moves a table's rows into a new table (CREATE ... AS SELECT,
/// DROP): its rollback stashes the new table (gated), and the re-apply copies the rows the
/// application wrote since the rollback. Putting the stash back would replace them with the
/// rollback's rows: the stash stays, and the rows written since are kept.
#[test]
fn a_whole_table_stash_never_replaces_rows_written_after_the_rollback() {
    let dir = project();
    let d = dir.path();
    let db = d.join("db.sqlite");
    std::fs::write(
        d.join("migrations/V1__init.sql"),
        "CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT);\n",
    )
    .unwrap();
    std::fs::write(
        d.join("migrations/V2__move.sql"),
        "CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT);\nINSERT INTO people SELECT id, name FROM parent;\nDROP TABLE parent;\n",
    )
    .unwrap();
    std::fs::write(
        d.join("rollbacks/V2__move.sql"),
        "CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT);\nINSERT INTO parent SELECT id, name FROM people;\nDROP TABLE people;\n",
    )
    .unwrap();
    ok_in(d, &["apply", "--yes", "--allow-destructive"]);
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch("INSERT INTO people VALUES (1, 'a'), (2, 'b')")
        .unwrap();
    drop(conn);
    let err = fails_in(d, &["rollback", "V2", "--yes"], 1);
    assert!(err.contains("table people (2 row(s))"), "{err}");
    ok_in(d, &["rollback", "V2", "--yes", "--allow-destructive"]);
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch(
        "INSERT INTO parent VALUES (3, 'written-after-rollback'); UPDATE parent SET name = 'a-updated' WHERE id = 1; DELETE FROM parent WHERE id = 2",
    )
    .unwrap();
    drop(conn);
    let out = common::schemactl(d, &["apply", "--yes", "--allow-destructive"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let said = format!("{}{}", stdout(&out), common::stderr(&out));
    assert!(
        said.contains("kept: the table holds 2 row(s) the stash does not"),
        "{said}"
    );
    let expected: Rows = [
        (1, (Some("a-updated".to_string()), None)),
        (3, (Some("written-after-rollback".to_string()), None)),
    ]
    .into_iter()
    .collect();
    let conn = Connection::open(&db).unwrap();
    let rows: Rows = conn
        .prepare("SELECT id, name FROM people")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, (r.get(1)?, None))))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(rows, expected);
    // The rollback's rows stay in the stash, for the user to read.
    assert_eq!(stash_tables(&db), vec!["_schemactl_stash_2_r1".to_string()]);
}

/// Seed rows the migration inserts again are the stash's own: the stash is put back, with
/// the rows the application had added before the rollback.
#[test]
fn a_whole_table_stash_replaces_seed_rows_the_migration_inserts_again() {
    let dir = project();
    let d = dir.path();
    let db = d.join("db.sqlite");
    std::fs::write(
        d.join("migrations/V1__status.sql"),
        "CREATE TABLE status (id INTEGER PRIMARY KEY, name TEXT);\nINSERT INTO status VALUES (1, 'open'), (2, 'closed');\n",
    )
    .unwrap();
    std::fs::write(d.join("rollbacks/V1__status.sql"), "DROP TABLE status;\n").unwrap();
    ok_in(d, &["apply", "--yes"]);
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch("INSERT INTO status VALUES (3, 'archived')")
        .unwrap();
    drop(conn);
    ok_in(d, &["rollback", "V1", "--yes", "--allow-destructive"]);
    ok_in(d, &["apply", "--yes"]);
    let conn = Connection::open(&db).unwrap();
    let names: Vec<String> = conn
        .prepare("SELECT name FROM status ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(names, ["open", "closed", "archived"]);
    assert_eq!(stash_tables(&db), Vec::<String>::new());
}

/// A hand-written migration renames a column; its hand-written reverse copies it back into a
/// new column and drops the renamed one (gated, stashed). The re-apply renames the column the
/// application wrote since into place: the stash is not put back over those values.
#[test]
fn a_column_stash_never_replaces_values_renamed_into_its_column() {
    let dir = project();
    let d = dir.path();
    let db = d.join("db.sqlite");
    std::fs::write(
        d.join("migrations/V1__init.sql"),
        "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT);\n",
    )
    .unwrap();
    std::fs::write(
        d.join("migrations/V2__rename.sql"),
        "ALTER TABLE t RENAME COLUMN name TO full_name;\n",
    )
    .unwrap();
    std::fs::write(
        d.join("rollbacks/V2__rename.sql"),
        "ALTER TABLE t ADD COLUMN name TEXT;\nUPDATE t SET name = full_name;\nALTER TABLE t DROP COLUMN full_name;\n",
    )
    .unwrap();
    ok_in(d, &["apply", "--yes"]);
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch("INSERT INTO t VALUES (1, 'a'), (2, 'b')")
        .unwrap();
    drop(conn);
    ok_in(d, &["rollback", "V2", "--yes", "--allow-destructive"]);
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch(
        "UPDATE t SET name = 'a-updated' WHERE id = 1; UPDATE t SET name = NULL WHERE id = 2",
    )
    .unwrap();
    drop(conn);
    let out = common::schemactl(d, &["apply", "--yes"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let said = format!("{}{}", stdout(&out), common::stderr(&out));
    assert!(
        said.contains("kept: the migration renames another column into t.full_name"),
        "{said}"
    );
    let conn = Connection::open(&db).unwrap();
    let rows: Vec<(i64, Option<String>)> = conn
        .prepare("SELECT id, full_name FROM t ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(rows, [(1, Some("a-updated".to_string())), (2, None)]);
}
