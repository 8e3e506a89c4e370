//! The rowid of a table without an INTEGER PRIMARY KEY is SQLite's, not a value the table
//! declares: Rails' and Django's table remake (`INSERT INTO new (columns) SELECT columns FROM
//! old`) renumbers it once rows were deleted, and the row proof refused such a faithful copy
//! ("rows changed identity"). Such rows are matched by their declared PRIMARY KEY, or, without
//! one, as a multiset of the values the migrations keep; a copy that moves a value to another
//! row is still refused. Where a full-text index reads the rowids, they stay the identity.

mod common;

use std::path::Path;

use common::{empty_project, fails_in, ok_all, ok_in, read_text};
use proptest::prelude::*;

/// `tags` (a TEXT PRIMARY KEY) and `posts_tags` (no key at all), each with rows deleted
/// between others, so that a copy that does not name the rowid renumbers them.
fn project(extra: &str) -> tempfile::TempDir {
    let dir = empty_project();
    std::fs::write(
        dir.path().join("migrations/V1__tags.sql"),
        format!(
            "CREATE TABLE tags (name TEXT PRIMARY KEY, n INTEGER);\n\
             INSERT INTO tags VALUES ('a', 1), ('b', 2), ('c', 3), ('d', 4);\n\
             CREATE TABLE posts_tags (post_id INTEGER, tag TEXT);\n\
             INSERT INTO posts_tags VALUES (1, 'a'), (1, 'b'), (2, 'c'), (3, 'd');\n\
             {extra}\
             DELETE FROM tags WHERE name = 'b';\n\
             DELETE FROM posts_tags WHERE tag = 'b';\n"
        ),
    )
    .expect("V1");
    ok_in(dir.path(), &["apply", "--yes"]);
    dir
}

/// Rails' remake of both tables; `n` and `tag` are what fill those columns.
fn remake(n: &str, tag: &str) -> String {
    format!(
        "CREATE TABLE new_tags (name TEXT PRIMARY KEY, n INTEGER, extra TEXT);\n\
         INSERT INTO new_tags (name, n) SELECT name, {n} FROM tags;\n\
         DROP TABLE tags;\n\
         ALTER TABLE new_tags RENAME TO tags;\n\
         CREATE TABLE new_pt (post_id INTEGER NOT NULL, tag TEXT);\n\
         INSERT INTO new_pt (post_id, tag) SELECT post_id, {tag} FROM posts_tags;\n\
         DROP TABLE posts_tags;\n\
         ALTER TABLE new_pt RENAME TO posts_tags;\n"
    )
}

fn state(db: &Path) -> String {
    read_text(
        db,
        "SELECT (SELECT group_concat(name || '=' || n, ',') FROM (SELECT * FROM tags ORDER BY name)) || ' ' || \
         (SELECT group_concat(post_id || ':' || tag, ',') FROM (SELECT * FROM posts_tags ORDER BY post_id, tag))",
    )
}

const BEFORE: &str = "a=1,c=3,d=4 1:a,2:c,3:d";

#[test]
fn a_remake_that_renumbers_rowids_is_proven_by_key_and_by_values() {
    let dir = project("");
    let d = dir.path();
    std::fs::write(d.join("migrations/V2__remake.sql"), remake("n", "tag")).expect("V2");
    let out = ok_all(d, &["apply", "--yes", "--allow-destructive", "--verify"]);
    assert!(
        out.contains("live rows: proven row by row (2 table(s), 6 row(s))"),
        "{out}"
    );
    let db = d.join("db.sqlite");
    assert_eq!(state(&db), BEFORE);
    // The copy did renumber them: the case is the one it claims to be.
    assert_eq!(
        read_text(&db, "SELECT group_concat(rowid, ',') FROM posts_tags"),
        "1,2,3"
    );
}

#[test]
fn a_remake_that_moves_a_value_to_another_row_is_still_refused() {
    for (n, tag, table) in [
        // tags: n moved between the rows of 'c' and 'd'.
        (
            "CASE name WHEN 'c' THEN 4 WHEN 'd' THEN 3 ELSE n END",
            "tag",
            "tags",
        ),
        // posts_tags: tags swapped between posts 2 and 3.
        (
            "n",
            "CASE tag WHEN 'c' THEN 'd' WHEN 'd' THEN 'c' ELSE tag END",
            "posts_tags",
        ),
    ] {
        let dir = project("");
        let d = dir.path();
        std::fs::write(d.join("migrations/V2__remake.sql"), remake(n, tag)).expect("V2");
        for flags in [&[][..], &["--skip-rehearsal", "--verify"][..]] {
            let mut args = vec!["apply", "--yes", "--allow-destructive"];
            args.extend_from_slice(flags);
            let err = fails_in(d, &args, 1);
            assert!(
                err.contains("row proof") && err.contains(&format!("\"{table}\"")),
                "{table} {flags:?}: {err}"
            );
            assert_eq!(state(&d.join("db.sqlite")), BEFORE, "{table} {flags:?}");
        }
    }
}

#[test]
fn rowids_a_full_text_index_reads_stay_the_rows_identity() {
    let dir = project(
        "CREATE VIRTUAL TABLE pt_search USING fts5(tag, content = 'posts_tags');\n\
         INSERT INTO pt_search (pt_search) VALUES ('rebuild');\n",
    );
    let d = dir.path();
    std::fs::write(d.join("migrations/V2__remake.sql"), remake("n", "tag")).expect("V2");
    let err = fails_in(d, &["apply", "--yes", "--allow-destructive"], 1);
    assert!(
        err.contains("\"posts_tags\"")
            && err.contains("rows changed identity")
            && err.contains("matched by rowid"),
        "{err}"
    );
    assert_eq!(state(&d.join("db.sqlite")), BEFORE);
}

#[test]
fn beside_a_delete_rows_are_matched_by_the_declared_key_or_refused_by_name() {
    // tags alone, with a delete on purpose: matched by name, proven (h27_02).
    let dir = project("");
    let d = dir.path();
    std::fs::write(
        d.join("migrations/V2__remake.sql"),
        "DELETE FROM tags WHERE name = 'a';\n\
         CREATE TABLE new_tags (name TEXT PRIMARY KEY, n INTEGER, extra TEXT);\n\
         INSERT INTO new_tags (name, n) SELECT name, n FROM tags;\n\
         DROP TABLE tags;\n\
         ALTER TABLE new_tags RENAME TO tags;\n",
    )
    .expect("V2");
    let out = ok_all(d, &["apply", "--yes", "--allow-destructive", "--verify"]);
    assert!(
        out.contains("live rows: proven row by row (1 table(s), 2 row(s))"),
        "{out}"
    );
    assert_eq!(state(&d.join("db.sqlite")), "c=3,d=4 1:a,2:c,3:d");

    // posts_tags, which declares no key: its rows can only be matched by rowid, and the copy
    // renumbered them. Refused, and the message says why and what to write instead.
    let dir = project("");
    let d = dir.path();
    std::fs::write(
        d.join("migrations/V2__remake.sql"),
        "DELETE FROM posts_tags WHERE post_id = 1;\n\
         CREATE TABLE new_pt (post_id INTEGER NOT NULL, tag TEXT);\n\
         INSERT INTO new_pt (post_id, tag) SELECT post_id, tag FROM posts_tags;\n\
         DROP TABLE posts_tags;\n\
         ALTER TABLE new_pt RENAME TO posts_tags;\n",
    )
    .expect("V2");
    let err = fails_in(d, &["apply", "--yes", "--allow-destructive"], 1);
    assert!(
        err.contains("\"posts_tags\"")
            && err.contains("declares no key")
            && err.contains("SELECT rowid"),
        "{err}"
    );
    assert_eq!(state(&d.join("db.sqlite")), BEFORE);
    // Written as the message says, the same migration is proven.
    std::fs::write(
        d.join("migrations/V2__remake.sql"),
        "DELETE FROM posts_tags WHERE post_id = 1;\n\
         CREATE TABLE new_pt (post_id INTEGER NOT NULL, tag TEXT);\n\
         INSERT INTO new_pt (rowid, post_id, tag) SELECT rowid, post_id, tag FROM posts_tags;\n\
         DROP TABLE posts_tags;\n\
         ALTER TABLE new_pt RENAME TO posts_tags;\n",
    )
    .expect("V2");
    ok_all(d, &["apply", "--yes", "--allow-destructive", "--verify"]);
    assert_eq!(state(&d.join("db.sqlite")), "a=1,c=3,d=4 2:c,3:d");
}

/// A rowid table's PRIMARY KEY may hold NULLs: rows whose key is NULL are told apart by their
/// values, so a copy that moves a value between two of them is refused, and a faithful one is
/// proven.
#[test]
fn rows_whose_declared_key_is_null_are_told_apart_by_their_values() {
    let setup = "CREATE TABLE k (name TEXT PRIMARY KEY, n INTEGER, v TEXT);\n\
                 INSERT INTO k VALUES (NULL, 1, 'x'), ('gone', 0, ''), (NULL, 2, 'y'), ('c', 3, 'z');\n\
                 DELETE FROM k WHERE name = 'gone';\n";
    let remake = |n: &str| {
        format!(
            "CREATE TABLE k_new (name TEXT PRIMARY KEY, n INTEGER, v TEXT);\n\
             INSERT INTO k_new (name, n, v) SELECT name, {n}, v FROM k;\n\
             DROP TABLE k;\n\
             ALTER TABLE k_new RENAME TO k;\n"
        )
    };
    let rows = |db: &Path| {
        read_text(
            db,
            "SELECT group_concat(coalesce(name, '-') || n || v, ',') FROM (SELECT * FROM k ORDER BY v)",
        )
    };
    for (n, proven) in [
        ("n", true),
        ("CASE WHEN name IS NULL THEN 3 - n ELSE n END", false),
    ] {
        let dir = empty_project();
        let d = dir.path();
        std::fs::write(d.join("migrations/V1__k.sql"), setup).expect("V1");
        ok_in(d, &["apply", "--yes"]);
        std::fs::write(d.join("migrations/V2__remake.sql"), remake(n)).expect("V2");
        let db = d.join("db.sqlite");
        if proven {
            let out = ok_all(d, &["apply", "--yes", "--allow-destructive", "--verify"]);
            assert!(
                out.contains("live rows: proven row by row (1 table(s), 3 row(s))"),
                "{out}"
            );
        } else {
            let err = fails_in(d, &["apply", "--yes", "--allow-destructive"], 1);
            assert!(
                err.contains("\"k\"") && err.contains("rows do not hold the values"),
                "{err}"
            );
            assert_eq!(rows(&db), "-1x,-2y,c3z");
        }
    }
}

/// A trigger that keeps a row's rowid in another table makes the rowid the row's identity: a
/// copy that renumbers the rows is refused. One that only updates its own row by rowid keeps
/// nothing, and the same copy is proven.
#[test]
fn a_trigger_that_keeps_rowids_elsewhere_makes_them_the_identity() {
    for (trigger, refused) in [
        (
            "CREATE TABLE seen (pt INTEGER);\n\
             CREATE TRIGGER keep AFTER INSERT ON posts_tags BEGIN INSERT INTO seen VALUES (new.rowid); END;\n",
            true,
        ),
        (
            "CREATE TRIGGER touch AFTER UPDATE OF tag ON posts_tags BEGIN UPDATE posts_tags SET post_id = post_id WHERE rowid = new.rowid; END;\n",
            false,
        ),
    ] {
        let dir = project(trigger);
        let d = dir.path();
        // The remake drops the trigger by name (SQLite drops it with the table anyway).
        std::fs::write(
            d.join("migrations/V2__remake.sql"),
            format!(
                "DROP TRIGGER IF EXISTS keep;\nDROP TRIGGER IF EXISTS touch;\n{}",
                remake("n", "tag")
            ),
        )
        .expect("V2");
        if refused {
            let err = fails_in(d, &["apply", "--yes", "--allow-destructive"], 1);
            assert!(
                err.contains("\"posts_tags\"")
                    && err.contains("rows changed identity")
                    && err.contains("matched by rowid"),
                "{err}"
            );
            assert_eq!(state(&d.join("db.sqlite")), BEFORE);
        } else {
            ok_all(d, &["apply", "--yes", "--allow-destructive", "--verify"]);
            assert_eq!(state(&d.join("db.sqlite")), BEFORE);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Rows of a keyless table, some deleted before the remake, copied back with two rows'
    /// values of one column swapped, or none: the remake applies exactly when every row
    /// keeps its values.
    #[test]
    fn a_keyless_remake_applies_exactly_when_no_value_moves(
        deleted in prop::collection::vec(any::<bool>(), 6),
        swap in prop::option::of((0..6usize, 0..6usize)),
    ) {
        // Half the cases copy every value to its own row; the rest swap two rows' values.
        let mut perm: Vec<usize> = (0..6).collect();
        if let Some((i, j)) = swap {
            perm.swap(i, j);
        }
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
        let before = read_text(&db, "SELECT coalesce(group_concat(a || b, ','), '') FROM (SELECT * FROM t ORDER BY a)");
        // b of row i comes from row perm[i].
        let case: Vec<String> = (0..6).map(|i| format!("WHEN {i} THEN 'v{}'", perm[i])).collect();
        std::fs::write(
            d.join("migrations/V2__remake.sql"),
            format!(
                "CREATE TABLE t_new (a INTEGER NOT NULL, b TEXT);\nINSERT INTO t_new (a, b) SELECT a, CASE a {} END FROM t;\nDROP TABLE t;\nALTER TABLE t_new RENAME TO t;\n",
                case.join(" ")
            ),
        )
        .expect("V2");
        let kept = (0..6).all(|i| deleted[i] || perm[i] == i);
        let out = common::schemactl(d, &["apply", "--yes", "--allow-destructive", "--verify"]);
        let after = read_text(&db, "SELECT coalesce(group_concat(a || b, ','), '') FROM (SELECT * FROM t ORDER BY a)");
        if kept {
            prop_assert!(out.status.success(), "{}", common::stderr(&out));
            prop_assert_eq!(after, before);
        } else {
            prop_assert_eq!(out.status.code(), Some(1), "{}", common::stdout(&out));
            prop_assert!(common::stderr(&out).contains("row proof"), "{}", common::stderr(&out));
            prop_assert_eq!(after, before);
        }
    }
}

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

/// Applies `later` (file name, SQL) on a project whose V1 is `v1`; returns the apply's
/// output, its exit code, and the rows before and after.
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

/// A key that cannot tell the rows apart (the declared key retyped or renamed by the copy,
/// a keyless table whose columns change type) leaves the rowid as their identity: a copy that
/// moves a value to another row is refused, even where the rows share every value kept (s28
/// findings 02, 03, 05).
#[test]
fn where_no_kept_key_tells_rows_apart_the_rowid_still_does() {
    for (v1, v2, table) in [
        (
            "CREATE TABLE t (a TEXT, b TEXT, c TEXT);\nINSERT INTO t VALUES ('x', '1', '10'), ('x', '2', '20');\n",
            "CREATE TABLE new_t (a TEXT, b INTEGER, c INTEGER);\nINSERT INTO new_t (a, b, c) SELECT a, b, CASE c WHEN '10' THEN '20' WHEN '20' THEN '10' END FROM t;\nDROP TABLE t;\nALTER TABLE new_t RENAME TO t;\n",
            "t",
        ),
        (
            "CREATE TABLE accounts (code TEXT PRIMARY KEY, kind TEXT, balance TEXT);\nINSERT INTO accounts VALUES ('1', 'checking', '100'), ('2', 'checking', '5000');\n",
            "CREATE TABLE new_a (code INT PRIMARY KEY, kind TEXT, balance INTEGER);\nINSERT INTO new_a (code, kind, balance) SELECT code, kind, CASE code WHEN '1' THEN '5000' ELSE '100' END FROM accounts;\nDROP TABLE accounts;\nALTER TABLE new_a RENAME TO accounts;\n",
            "accounts",
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

const DOCS: &str = "CREATE TABLE docs (slug TEXT PRIMARY KEY, body TEXT);\n\
    INSERT INTO docs VALUES ('a', 'apple pie'), ('b', 'banana split'), ('c', 'cherry tart'), ('d', 'date loaf');\n\
    DELETE FROM docs WHERE slug = 'b';\n";

const DOCS_REMAKE: &str = "CREATE TABLE new_docs (slug TEXT PRIMARY KEY, body TEXT, extra TEXT);\n\
    INSERT INTO new_docs (slug, body) SELECT slug, body FROM docs;\n\
    DROP TABLE docs;\n\
    ALTER TABLE new_docs RENAME TO docs;\n";

/// What reads the rowids after the migrations counts too (a full-text index an earlier
/// migration of the same run creates), and a full-text index that reads them through a view
/// (s28 findings 06, 07). The refusal names the reader.
#[test]
fn rowids_read_after_the_migrations_or_through_a_view_stay_the_identity() {
    let fts = "CREATE VIRTUAL TABLE docs_fts USING fts5(body, content = 'docs');\nINSERT INTO docs_fts (docs_fts) VALUES ('rebuild');\n";
    let (out, code, before, after) = attempt(
        DOCS,
        &[("V2__fts.sql", fts), ("V3__remake.sql", DOCS_REMAKE)],
    );
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("rows changed identity")
            && out.contains("the full-text index \"docs_fts\" reads its rowids"),
        "{out}"
    );
    assert_eq!(after, before);

    let v1 = format!(
        "{DOCS}CREATE VIEW docs_v AS SELECT rowid AS rowid, body FROM docs;\n\
         CREATE VIRTUAL TABLE docs_fts USING fts5(body, content = 'docs_v');\n\
         INSERT INTO docs_fts (docs_fts) VALUES ('rebuild');\n"
    );
    let v2 = format!(
        "DROP VIEW docs_v;\n{DOCS_REMAKE}CREATE VIEW docs_v AS SELECT rowid AS rowid, body FROM docs;\n"
    );
    let (out, code, before, after) = attempt(&v1, &[("V2__remake.sql", &v2)]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("rows changed identity") && out.contains("reads its rowids")
            || out.contains("names its rowid"),
        "{out}"
    );
    assert_eq!(after, before);
}

/// A row whose declared key is NULL, beside a delete on purpose in the same batch, is matched
/// by its rowid: an exact copy is proven (s28 finding 10).
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

/// A rollback stash finds its rows by rowid and key: after a rollback, a re-applied remake
/// that renumbers them would leave its values nowhere to go, and the stash was then dropped
/// (s28 finding 09). The remake is refused, naming the stash, and the stash is kept.
#[test]
fn a_stash_that_finds_rows_by_rowid_keeps_the_rowid_the_identity() {
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
    assert!(
        ok_in(d, &["stash", "list"]).contains("_schemactl_stash_"),
        "a stash"
    );
    // The application deletes a row after the rollback: the remake would renumber the rest.
    conn.execute_batch("DELETE FROM tags WHERE name = 'a'")
        .expect("delete");
    let stashes_before = ok_in(d, &["stash", "list"]);
    let err = fails_in(d, &["apply", "--yes", "--allow-destructive", "--verify"], 1);
    assert!(
        err.contains("\"tags\"") && err.contains("rollback stash") && err.contains("by rowid"),
        "{err}"
    );
    assert_eq!(ok_in(d, &["stash", "list"]), stashes_before);
    assert_eq!(
        read_text(&db, "SELECT group_concat(rowid || name, ',') FROM tags"),
        "2b,3c,4d"
    );
}
