//! ANALYZE statistics (`sqlite_stat1`) across a table rebuild: SQLite deletes a table's rows
//! when the rebuild drops the old table, so the planner would lose them after a sync that
//! changed no row, and a rollback would not bring them back. A property (32 cases) over
//! random tables (rowid or WITHOUT ROWID, with or without indexes, some with hand-written
//! statistics) of which a random subset is rebuilt: after the sync every `sqlite_stat1` row is
//! as it was, and after the rollback too. And in a rebuild that also changes an index's key,
//! that index gets no stale row while the others keep theirs.

mod common;

use std::path::Path;

use common::{empty_project, ok_in};
use proptest::prelude::*;
use rusqlite::Connection;

fn stat1(db: &Path) -> Vec<(String, Option<String>, String)> {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT tbl, idx, stat FROM sqlite_stat1 ORDER BY tbl, idx")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

#[derive(Debug, Clone)]
struct Shape {
    without_rowid: bool,
    indexes: usize,
    rows: usize,
    hand_stat: bool,
    rebuilt: bool,
}

fn ddl(i: usize, s: &Shape) -> String {
    let mut sql = if s.without_rowid {
        format!(
            "CREATE TABLE \"t{i}\" (\"k\" TEXT PRIMARY KEY NOT NULL, \"a\" INTEGER, \"b\" TEXT) WITHOUT ROWID;"
        )
    } else {
        format!(
            "CREATE TABLE \"t{i}\" (\"id\" INTEGER PRIMARY KEY, \"k\" TEXT, \"a\" INTEGER, \"b\" TEXT);"
        )
    };
    for j in 0..s.indexes {
        let col = ["a", "b", "a, b"][j % 3];
        sql.push_str(&format!("CREATE INDEX \"t{i}_ix{j}\" ON \"t{i}\" ({col});"));
    }
    for r in 0..s.rows {
        sql.push_str(&format!(
            "INSERT INTO \"t{i}\" (k, a, b) VALUES ('k{r}', {}, 'v{}');",
            r % 3,
            r % 5
        ));
    }
    sql
}

/// Adds a rebuild-forcing column (NOT NULL with an expression default) to the tables marked.
fn add_columns(dir: &Path, shapes: &[Shape]) {
    let path = dir.join("schema/app.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut out = String::new();
    let mut table: Option<usize> = None;
    for line in text.lines() {
        if let Some(n) = line
            .strip_prefix("  t")
            .and_then(|r| r.strip_suffix(':'))
            .and_then(|n| n.parse::<usize>().ok())
        {
            table = Some(n);
        }
        out.push_str(line);
        out.push('\n');
        if line == "    columns:" && table.is_some_and(|t| shapes[t].rebuilt) {
            out.push_str(
                "      zz: { type: TEXT, not_null: true, default: { sql: CURRENT_TIMESTAMP } }\n",
            );
        }
    }
    let out = out.replacen("version: 1", "version: 2", 1);
    assert_ne!(out, text);
    std::fs::write(path, out).unwrap();
}

fn shape() -> impl Strategy<Value = Shape> {
    (
        any::<bool>(),
        0..3usize,
        0..12usize,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(without_rowid, indexes, rows, hand_stat, rebuilt)| Shape {
            without_rowid,
            indexes,
            rows,
            hand_stat,
            rebuilt,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn a_rebuild_and_its_rollback_keep_the_statistics(
        mut shapes in prop::collection::vec(shape(), 1..4),
    ) {
        shapes[0].rebuilt = true;
        shapes[0].rows = shapes[0].rows.max(1);
        let dir = empty_project();
        let db = dir.path().join("db.sqlite");
        let mut sql: String = shapes.iter().enumerate().map(|(i, s)| ddl(i, s)).collect();
        sql.push_str("ANALYZE;");
        for (i, s) in shapes.iter().enumerate() {
            // Statistics written by hand (to steer the planner) are kept as written.
            if s.hand_stat {
                sql.push_str(&format!(
                    "UPDATE sqlite_stat1 SET stat = '1000000 7' WHERE tbl = 't{i}';"
                ));
            }
        }
        Connection::open(&db).unwrap().execute_batch(&sql).unwrap();
        let before = stat1(&db);
        prop_assert!(!before.is_empty());

        ok_in(dir.path(), &["import", "--out", "schema/app.yaml"]);
        add_columns(dir.path(), &shapes);
        ok_in(dir.path(), &["sync", "--yes"]);
        prop_assert_eq!(&stat1(&db), &before, "after the sync");
        ok_in(dir.path(), &["rollback", "last", "--yes", "--allow-destructive"]);
        prop_assert_eq!(&stat1(&db), &before, "after the rollback");
    }
}

#[test]
fn an_index_whose_key_changes_gets_no_stale_statistics() {
    let dir = empty_project();
    let db = dir.path().join("db.sqlite");
    Connection::open(&db)
        .unwrap()
        .execute_batch(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER, b TEXT);
             CREATE INDEX t_a ON t (a); CREATE INDEX t_b ON t (b);
             INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y'), (2, 'z');
             ANALYZE;",
        )
        .unwrap();
    ok_in(dir.path(), &["import", "--out", "schema/app.yaml"]);
    let path = dir.path().join("schema/app.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let edited = text
        .replacen("version: 1", "version: 2", 1)
        .replace("columns: [a]", "columns: [a, b]")
        .replace(
            "\n    columns:\n",
            "\n    columns:\n      zz: { type: TEXT, not_null: true, default: { sql: CURRENT_TIMESTAMP } }\n",
        );
    assert_ne!(
        text.replacen("version: 1", "version: 2", 1),
        edited,
        "{text}"
    );
    std::fs::write(&path, edited).unwrap();
    ok_in(dir.path(), &["sync", "--yes"]);
    let after = stat1(&db);
    assert!(
        after
            .iter()
            .all(|(_, idx, _)| idx.as_deref() != Some("t_a")),
        "{after:?}"
    );
    assert!(
        after
            .iter()
            .any(|(_, idx, s)| idx.as_deref() == Some("t_b") && s == "3 1"),
        "{after:?}"
    );
}
