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
