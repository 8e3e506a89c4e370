//! A table whose rows a migration inserts or deletes on purpose and that the migrations also
//! rebuild is no longer left unproven: every row on both sides, matched by its key, must keep
//! the values the migrations keep; the rows inserted or deleted are theirs (h26_02b: a swapping
//! rebuild behind a `DELETE ... WHERE 0` applied with exit 0). A REPLACE,
//! an upsert, or a trigger's write may rewrite the rows it keeps: such a table stays unproven.

mod common;

use std::path::Path;

use common::{fails_in, ok_all, project_with_t, read_text};

fn rows(db: &Path) -> String {
    read_text(
        db,
        "SELECT group_concat(id || '=' || v, ',') FROM (SELECT * FROM t ORDER BY id)",
    )
}

/// A hand-written rebuild of t (id, v) into (id, v, w); `v_from` is what fills v.
fn rebuild(v_from: &str) -> String {
    format!(
        "CREATE TABLE t_new (id INTEGER PRIMARY KEY, v TEXT, w TEXT);\nINSERT INTO t_new (id, v, w) SELECT id, {v_from}, 'w' FROM t;\nDROP TABLE t;\nALTER TABLE t_new RENAME TO t;\n"
    )
}

#[test]
fn a_rewriting_rebuild_behind_a_change_on_purpose_is_refused() {
    for (before_rebuild, flags) in [
        ("DELETE FROM t WHERE 0;\n", &[][..]),
        (
            "INSERT INTO t SELECT * FROM t WHERE 0;\n",
            &["--verify"][..],
        ),
        ("DELETE FROM t WHERE id = 99;\n", &[][..]),
        (
            "DELETE FROM t WHERE id = 2;\n",
            &["--skip-rehearsal", "--verify"][..],
        ),
        ("INSERT INTO t VALUES (3, 'three');\n", &[][..]),
    ] {
        let dir = project_with_t();
        let d = dir.path();
        let db = d.join("db.sqlite");
        std::fs::write(
            d.join("migrations/V2__swap.sql"),
            format!("{before_rebuild}{}", rebuild("upper(v)")),
        )
        .expect("V2");
        let mut args = vec!["apply", "--yes", "--allow-destructive"];
        args.extend_from_slice(flags);
        let err = fails_in(d, &args, 1);
        assert!(
            err.contains("row proof")
                && err.contains("rows change on purpose")
                && err.contains("\"v\""),
            "{before_rebuild}: {err}"
        );
        assert_eq!(rows(&db), "1=one,2=two", "{before_rebuild}");
    }
}

#[test]
fn a_faithful_rebuild_beside_a_change_on_purpose_is_proven() {
    for (change, proven, left) in [
        ("DELETE FROM t WHERE id = 2;\n", "1 row(s)", "1=one"),
        (
            "INSERT INTO t (id, v) VALUES (3, 'three');\n",
            "3 row(s)",
            "1=one,2=two,3=three",
        ),
    ] {
        for change_after in [false, true] {
            let dir = project_with_t();
            let d = dir.path();
            let db = d.join("db.sqlite");
            let sql = if change_after {
                format!("{}{change}", rebuild("v"))
            } else {
                format!("{change}{}", rebuild("v"))
            };
            std::fs::write(d.join("migrations/V2__rebuild.sql"), &sql).expect("V2");
            let out = ok_all(d, &["apply", "--yes", "--allow-destructive", "--verify"]);
            assert_eq!(
                out.matches(&format!("proven row by row (1 table(s), {proven})"))
                    .count(),
                2,
                "{sql}: {out}"
            );
            assert_eq!(rows(&db), left, "{sql}");
        }
    }
}

/// `EXPLAIN` runs nothing (h26_07: `EXPLAIN DELETE FROM t` counted as a delete and hid a
/// swap; `EXPLAIN CREATE TRIGGER` applied and made no trigger): a migration file holding one is
/// refused at its place, before anything runs.
#[test]
fn explain_in_a_migration_file_is_refused_at_its_place() {
    let dir = project_with_t();
    let d = dir.path();
    let db = d.join("db.sqlite");
    std::fs::write(
        d.join("migrations/V2__explain.sql"),
        format!("EXPLAIN DELETE FROM t;\n{}", rebuild("upper(v)")),
    )
    .expect("V2");
    let err = fails_in(d, &["apply", "--yes", "--allow-destructive"], 1);
    assert!(
        err.contains("EXPLAIN runs nothing") && err.contains("V2__explain.sql:1:1"),
        "{err}"
    );
    assert_eq!(rows(&db), "1=one,2=two");
}
