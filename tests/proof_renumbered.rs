//! The rowid of a table without an INTEGER PRIMARY KEY is SQLite's own: Rails' and Django's
//! table remake (`INSERT INTO new (columns) SELECT columns FROM old`) renumbers it once rows
//! were deleted. What keeps a rowid cannot all be seen (a full-text index, a trigger's audit
//! row, a rollback stash, a contentless index the application fills, the application), so
//! the row proof keeps the rowid as such rows' identity: a renumbering copy is refused, and the
//! refusal says why and how to copy the rowid (it said only "rows changed identity"). Where the
//! rowid goes (an INTEGER PRIMARY KEY dropped), a key that cannot tell rows apart (one holding
//! NULL) is not used: rows sharing a key could trade a column's values unseen.

mod common;

use std::path::Path;

use common::{empty_project, fails_in, ok_all, ok_in, read_text};
use proptest::prelude::*;

/// Every table's rows, rowids included, as text: what "unchanged" means below.
fn dump(db: &Path) -> String {
    let conn = rusqlite::Connection::open(db).expect("open");
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND rootpage > 0 AND name NOT LIKE '\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite%' AND name NOT LIKE '%\\_fts\\_%' ESCAPE '\\' ORDER BY name")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .expect("tables");
    tables
        .iter()
        .map(|t| {
            let cols: Vec<String> = conn
                .prepare(&format!("SELECT name FROM pragma_table_info('{t}')"))
                .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
                .expect("columns");
            let row = cols
                .iter()
                .map(|c| format!("quote(\"{c}\")"))
                .collect::<Vec<_>>()
                .join(" || ',' || ");
            read_text(
                db,
                &format!("SELECT '{t}: ' || coalesce(group_concat(rowid || '=' || {row}, ' '), '') FROM (SELECT rowid, * FROM \"{t}\" ORDER BY rowid)"),
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Applies `later` (file name, SQL) under `--verify` on a project whose V1 is `v1`; returns
/// the apply's output, its exit code, and the rows before and after.
fn attempt(v1: &str, later: &[(&str, &str)]) -> (String, Option<i32>, String, String) {
    let dir = empty_project();
    let d = dir.path();
    std::fs::write(d.join("migrations/V1__init.sql"), v1).expect("V1");
    ok_in(d, &["apply", "--yes"]);
    let db = d.join("db.sqlite");
    let before = dump(&db);
    for (name, sql) in later {
        std::fs::write(d.join("migrations").join(name), sql).expect("migration");
    }
    let out = common::schemactl(d, &["apply", "--yes", "--allow-destructive", "--verify"]);
    let text = format!("{}{}", common::stdout(&out), common::stderr(&out));
    (text, out.status.code(), before, dump(&db))
}

/// `docs` (a TEXT PRIMARY KEY) with a row deleted between others.
const DOCS: &str = "CREATE TABLE docs (slug TEXT PRIMARY KEY, body TEXT);\n\
    INSERT INTO docs VALUES ('a', 'apple pie'), ('b', 'banana split'), ('c', 'cherry tart'), ('d', 'date loaf');\n\
    DELETE FROM docs WHERE slug = 'b';\n";

/// Rails' remake of `docs`; `rowid` is `"rowid, "` to copy the rowids, or empty.
fn docs_remake(rowid: &str) -> String {
    format!(
        "CREATE TABLE new_docs (slug TEXT PRIMARY KEY, body TEXT, extra TEXT);\n\
         INSERT INTO new_docs ({rowid}slug, body) SELECT {rowid}slug, body FROM docs;\n\
         DROP TABLE docs;\n\
         ALTER TABLE new_docs RENAME TO docs;\n"
    )
}

fn refused_as_renumbered(out: &str, code: Option<i32>) {
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("row proof: table \"docs\": rows changed identity")
            && out.contains("no INTEGER PRIMARY KEY")
            && out.contains("INSERT INTO new (rowid, ...) SELECT rowid, ..."),
        "{out}"
    );
}

#[test]
fn a_remake_that_renumbers_rowids_is_refused_with_the_fix_and_applies_with_it() {
    let (out, code, before, after) = attempt(DOCS, &[("V2__remake.sql", &docs_remake(""))]);
    refused_as_renumbered(&out, code);
    assert_eq!(after, before);
    let (out, code, before, after) = attempt(DOCS, &[("V2__remake.sql", &docs_remake("rowid, "))]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("live rows: proven row by row (1 table(s), 3 row(s))"),
        "{out}"
    );
    assert_eq!(
        after,
        before
            .replace("'date loaf'", "'date loaf',NULL")
            .replace("'apple pie'", "'apple pie',NULL")
            .replace("'cherry tart'", "'cherry tart',NULL")
    );
}

/// Whatever keeps the rowids (a full-text index made by an earlier migration of the same
/// run, or read through a view; a trigger's audit rows, by `new.rowid` or
/// `last_insert_rowid()`; a column of the table itself), the renumbering copy is refused
/// (s28 findings 06-08, s29 findings 01-03).
#[test]
fn whatever_keeps_the_rowids_a_renumbering_copy_is_refused() {
    let fts = "CREATE VIRTUAL TABLE docs_fts USING fts5(body, content = 'docs');\nINSERT INTO docs_fts (docs_fts) VALUES ('rebuild');\n";
    let remake = docs_remake("");
    let cases: Vec<(String, Vec<(&str, String)>)> = vec![
        (
            DOCS.to_string(),
            vec![("V2__fts.sql", fts.to_string()), ("V3__remake.sql", remake.clone())],
        ),
        (
            format!(
                "{DOCS}CREATE VIEW docs_v AS SELECT rowid AS rowid, body FROM docs;\n\
                 CREATE VIRTUAL TABLE docs_fts USING fts5(body, content = 'docs_v');\n\
                 INSERT INTO docs_fts (docs_fts) VALUES ('rebuild');\n"
            ),
            vec![(
                "V2__remake.sql",
                format!("DROP VIEW docs_v;\n{remake}CREATE VIEW docs_v AS SELECT rowid AS rowid, body FROM docs;\n"),
            )],
        ),
        (
            DOCS.replacen(
                "\n",
                "\nCREATE TABLE audit (doc INTEGER);\n\
                 CREATE TRIGGER docs_ai AFTER INSERT ON docs BEGIN INSERT INTO audit VALUES (last_insert_rowid()); END;\n",
                1,
            ),
            vec![("V2__remake.sql", format!("DROP TRIGGER docs_ai;\n{remake}"))],
        ),
    ];
    for (v1, later) in cases {
        let later: Vec<(&str, &str)> = later.iter().map(|(n, s)| (*n, s.as_str())).collect();
        let (out, code, before, after) = attempt(&v1, &later);
        refused_as_renumbered(&out, code);
        assert_eq!(after, before, "{v1}");
    }
}

/// A copy that moves a value to another row is refused, whether the rowids move or not, and
/// whatever key the table declares (s28 findings 01-03, 05).
#[test]
fn a_copy_that_moves_a_value_to_another_row_is_refused() {
    for (v1, v2, table) in [
        (
            "CREATE TABLE t (name TEXT PRIMARY KEY, x INTEGER, y INTEGER);\nINSERT INTO t VALUES (NULL, 1, 10), (NULL, 2, 20), ('a', 3, 30);\n",
            "CREATE TABLE new_t (name TEXT PRIMARY KEY, x INTEGER, y INTEGER);\nINSERT INTO new_t (rowid, name, x, y) SELECT rowid, name, x, CASE y WHEN 10 THEN 20 WHEN 20 THEN 10 ELSE y END FROM t;\nDROP TABLE t;\nALTER TABLE new_t RENAME TO t;\n",
            "t",
        ),
        (
            "CREATE TABLE t (a TEXT, b TEXT, c TEXT);\nINSERT INTO t VALUES ('x', '1', '10'), ('x', '2', '20');\n",
            "CREATE TABLE new_t (a TEXT, b INTEGER, c INTEGER);\nINSERT INTO new_t (a, b, c) SELECT a, b, CASE c WHEN '10' THEN '20' WHEN '20' THEN '10' END FROM t;\nDROP TABLE t;\nALTER TABLE new_t RENAME TO t;\n",
            "t",
        ),
        (
            "CREATE TABLE tags (name TEXT PRIMARY KEY, n INTEGER);\nINSERT INTO tags VALUES ('a', 1), ('c', 3);\n",
            "CREATE TABLE new_tags (tag TEXT PRIMARY KEY, n INTEGER);\nINSERT INTO new_tags (tag, n) SELECT name, CASE name WHEN 'a' THEN 3 ELSE 1 END FROM tags;\nDROP TABLE tags;\nALTER TABLE new_tags RENAME TO tags;\n",
            "tags",
        ),
    ] {
        let (out, code, before, after) = attempt(v1, &[("V2__remake.sql", v2)]);
        assert_eq!(code, Some(1), "{v2}: {out}");
        assert!(
            out.contains(&format!("row proof: table \"{table}\"")),
            "{out}"
        );
        assert_eq!(after, before, "{v2}");
    }
}

/// Where the INTEGER PRIMARY KEY goes and the declared key after it holds NULLs, rows are told
/// apart by all their values: a copy that trades a value between two NULL-keyed rows is
/// refused, and a faithful one is proven. (The declared key alone let them trade.)
#[test]
fn a_key_holding_null_does_not_tell_rows_apart() {
    let v1 = "CREATE TABLE t (id INTEGER PRIMARY KEY, code TEXT, v TEXT);\nINSERT INTO t VALUES (1, NULL, 'x'), (2, NULL, 'y'), (3, 'c', 'z');\n";
    let remake = |v: &str| {
        format!(
            "CREATE TABLE new_t (id INT, code TEXT PRIMARY KEY, v TEXT);\nINSERT INTO new_t (id, code, v) SELECT id, code, {v} FROM t;\nDROP TABLE t;\nALTER TABLE new_t RENAME TO t;\n"
        )
    };
    let (out, code, before, after) = attempt(
        v1,
        &[(
            "V2__remake.sql",
            &remake("CASE v WHEN 'x' THEN 'y' WHEN 'y' THEN 'x' ELSE v END"),
        )],
    );
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("row proof: table \"t\": rows do not hold the values the migrations keep")
            && out.contains("rows by the values of (\"id\", \"code\", \"v\")"),
        "{out}"
    );
    assert_eq!(after, before);
    let (out, code, _, _) = attempt(v1, &[("V2__remake.sql", &remake("v"))]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("live rows: proven row by row (1 table(s), 3 row(s))"),
        "{out}"
    );
}

/// Rows whose declared key is NULL, beside a delete on purpose in the same batch, are matched
/// by rowid: an exact copy that keeps the rowids is proven (s28 finding 10).
#[test]
fn null_keys_beside_a_delete_are_matched_by_rowid() {
    let (out, code, _, after) = attempt(
        "CREATE TABLE t (name TEXT PRIMARY KEY, x INTEGER, y INTEGER);\nINSERT INTO t VALUES (NULL, 1, 10), (NULL, 2, 20), ('a', 3, 30), ('b', 4, 40);\n",
        &[(
            "V2__remake.sql",
            "DELETE FROM t WHERE name = 'b';\nCREATE TABLE new_t (name TEXT PRIMARY KEY, x INTEGER, y INTEGER);\nINSERT INTO new_t (name, x, y) SELECT name, x, y FROM t;\nDROP TABLE t;\nALTER TABLE new_t RENAME TO t;\n",
        )],
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("live rows: proven row by row (1 table(s), 3 row(s))"),
        "{out}"
    );
    assert_eq!(after, "t: 1=NULL,1,10 2=NULL,2,20 3='a',3,30");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Rows of a keyless table, some deleted before a remake that does or does not copy the
    /// rowid, with two rows' values of one column swapped, or none: the remake applies exactly
    /// when every row keeps its rowid and its values.
    #[test]
    fn a_keyless_remake_applies_exactly_when_every_row_keeps_its_rowid_and_values(
        deleted in prop::collection::vec(any::<bool>(), 6),
        swap in prop::option::of((0..6usize, 0..6usize)),
        copy_rowid in any::<bool>(),
    ) {
        let dir = empty_project();
        let d = dir.path();
        let rows: Vec<String> = (0..6).map(|i| format!("({i}, 'v{i}')")).collect();
        let gone: Vec<String> = (0..6)
            .filter(|&i| deleted[i])
            .map(|i| i.to_string())
            .collect();
        std::fs::write(
            d.join("migrations/V1__t.sql"),
            format!(
                "CREATE TABLE t (a INTEGER, b TEXT);\nINSERT INTO t VALUES {};\nDELETE FROM t WHERE a IN ({});\n",
                rows.join(", "),
                gone.join(", ")
            ),
        )
        .expect("V1");
        ok_in(d, &["apply", "--yes"]);
        let db = d.join("db.sqlite");
        let before = dump(&db);
        let mut perm: Vec<usize> = (0..6).collect();
        if let Some((i, j)) = swap {
            perm.swap(i, j);
        }
        // b of row i comes from row perm[i].
        let case: Vec<String> = (0..6).map(|i| format!("WHEN {i} THEN 'v{}'", perm[i])).collect();
        let rowid = if copy_rowid { "rowid, " } else { "" };
        std::fs::write(
            d.join("migrations/V2__remake.sql"),
            format!(
                "CREATE TABLE t_new (a INTEGER NOT NULL, b TEXT);\nINSERT INTO t_new ({rowid}a, b) SELECT {rowid}a, CASE a {} END FROM t;\nDROP TABLE t;\nALTER TABLE t_new RENAME TO t;\n",
                case.join(" ")
            ),
        )
        .expect("V2");
        let values_kept = (0..6).all(|i| deleted[i] || perm[i] == i);
        // Without the rowid, the copy numbers the rows it keeps 1, 2, ...: they keep their
        // rowids only when no deleted row comes before a kept one.
        let renumbered = !copy_rowid
            && (0..6).any(|i| deleted[i] && (i + 1..6).any(|j| !deleted[j]));
        let out = common::schemactl(d, &["apply", "--yes", "--allow-destructive", "--verify"]);
        let after = dump(&db);
        if values_kept && !renumbered {
            prop_assert!(out.status.success(), "{}", common::stderr(&out));
            prop_assert_eq!(after, before);
        } else {
            prop_assert_eq!(out.status.code(), Some(1), "{}", common::stdout(&out));
            prop_assert!(common::stderr(&out).contains("row proof"), "{}", common::stderr(&out));
            prop_assert_eq!(after, before);
        }
    }
}

/// A rollback stash finds its rows by rowid and key: after a rollback, a re-applied remake that
/// renumbers them would leave its values nowhere to go (s28 finding 09). The remake is refused
/// and the stash is kept.
#[test]
fn a_renumbering_remake_after_a_rollback_keeps_the_stash() {
    let dir = empty_project();
    let d = dir.path();
    let m = d.join("migrations");
    let r = d.join("rollbacks");
    std::fs::write(
        m.join("V1__init.sql"),
        "CREATE TABLE tags (name TEXT PRIMARY KEY, n INTEGER);\nINSERT INTO tags VALUES ('a', 1), ('b', 2), ('c', 3), ('d', 4);\n",
    )
    .expect("V1");
    let remake = |to: &str| {
        format!(
            "CREATE TABLE {to} (name TEXT PRIMARY KEY, n INTEGER);\nINSERT INTO {to} (name, n) SELECT name, n FROM tags;\nDROP TABLE tags;\nALTER TABLE {to} RENAME TO tags;\n"
        )
    };
    std::fs::write(m.join("V2__remake.sql"), remake("new_tags")).expect("V2");
    std::fs::write(r.join("V2__remake.sql"), remake("old_tags")).expect("R2");
    std::fs::write(
        m.join("V3__category.sql"),
        "ALTER TABLE tags ADD COLUMN category TEXT;\n",
    )
    .expect("V3");
    std::fs::write(
        r.join("V3__category.sql"),
        "ALTER TABLE tags DROP COLUMN category;\n",
    )
    .expect("R3");
    ok_all(d, &["apply", "--yes", "--allow-destructive", "--verify"]);
    let db = d.join("db.sqlite");
    let conn = rusqlite::Connection::open(&db).expect("open");
    conn.execute_batch("UPDATE tags SET category = 'cat-' || name")
        .expect("fill");
    ok_all(
        d,
        &["rollback", "--to", "1", "--yes", "--allow-destructive"],
    );
    let stashes = ok_in(d, &["stash", "list"]);
    assert!(stashes.contains("_schemactl_stash_"), "{stashes}");
    // The application deletes a row after the rollback: the remake would renumber the rest.
    conn.execute_batch("DELETE FROM tags WHERE name = 'a'")
        .expect("delete");
    let err = fails_in(d, &["apply", "--yes", "--allow-destructive", "--verify"], 1);
    assert!(
        err.contains("\"tags\": rows changed identity") && err.contains("SELECT rowid"),
        "{err}"
    );
    assert_eq!(ok_in(d, &["stash", "list"]), stashes);
    assert_eq!(
        read_text(&db, "SELECT group_concat(rowid || name, ',') FROM tags"),
        "2b,3c,4d"
    );
}
