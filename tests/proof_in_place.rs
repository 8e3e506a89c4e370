//! The row proof learns the shape of a table after the migrations by running them first. On a
//! copy of the objects they name that is cheap, but a statement may need the real rows (a NOT
//! NULL column filled from an aggregate of a table, empty in the copy). The proof then runs
//! them on the real rows, in a savepoint of the run's transaction, and rolls them back: it
//! never leaves a table the migrations rebuild unproven while the run goes on (h25_03).

mod common;

use common::{fails_in, ok_all, ok_in, project_with_t, read_text, t_state};

/// A statement that fails on an empty copy of the schema: max() of no rows is NULL.
const NEEDS_ROWS: &str = "CREATE TABLE stats (k TEXT PRIMARY KEY, n INTEGER NOT NULL);\nINSERT INTO stats SELECT 'max', max(id) FROM t;\n";

/// A hand-written rebuild of t (id, v) into (id, v, w); `v_from` is what fills v.
fn rebuild(v_from: &str) -> String {
    format!(
        "CREATE TABLE t_new (id INTEGER PRIMARY KEY, v TEXT, w TEXT);\nINSERT INTO t_new (id, v, w) SELECT id, {v_from}, 'w' FROM t;\nDROP TABLE t;\nALTER TABLE t_new RENAME TO t;\n"
    )
}

#[test]
fn a_rebuild_that_rewrites_values_after_a_statement_needing_rows_is_refused() {
    for flags in [
        &[][..],
        &["--verify"][..],
        &["--skip-rehearsal", "--verify"][..],
    ] {
        let dir = project_with_t();
        let d = dir.path();
        let db = d.join("db.sqlite");
        let before = t_state(&db);
        std::fs::write(
            d.join("migrations/V2__swap.sql"),
            format!("{NEEDS_ROWS}{}", rebuild("upper(v)")),
        )
        .expect("V2");
        let mut args = vec!["apply", "--yes", "--allow-destructive"];
        args.extend_from_slice(flags);
        let err = fails_in(d, &args, 1);
        assert!(
            err.contains("row proof") && err.contains("\"t\"") && err.contains("\"v\""),
            "{flags:?}: {err}"
        );
        assert_eq!(t_state(&db), before, "{flags:?}");
        assert_eq!(
            read_text(
                &db,
                "SELECT CAST(count(*) AS TEXT) FROM sqlite_schema WHERE name IN ('stats', 't_new')"
            ),
            "0"
        );
    }
}

#[test]
fn a_faithful_rebuild_after_a_statement_needing_rows_is_proven() {
    let dir = project_with_t();
    let d = dir.path();
    let db = d.join("db.sqlite");
    std::fs::write(
        d.join("migrations/V2__rebuild.sql"),
        format!("{NEEDS_ROWS}{}", rebuild("v")),
    )
    .expect("V2");
    let out = ok_all(d, &["apply", "--yes", "--verify", "--allow-destructive"]);
    // Proven, not left aside: the rehearsal's and the live run's proof both cover t.
    assert_eq!(
        out.matches("proven row by row (1 table(s), 2 row(s))")
            .count(),
        2,
        "{out}"
    );
    assert!(!out.contains("not proven"), "{out}");
    assert_eq!(t_state(&db), ("1=one,2=two".into(), "1,2".into()));
    assert_eq!(read_text(&db, "SELECT k || n FROM stats"), "max2");
    assert_eq!(read_text(&db, "SELECT group_concat(w) FROM t"), "w,w");
}

/// The proof's own run of the migrations changes nothing the run then sees: a PRAGMA the
/// migration sets is put back before the run, so its RENAME rewrites the view that reads the
/// table (with legacy_alter_table left on, the view would still read "t" and the run fail).
#[test]
fn the_proofs_own_run_leaves_the_connection_as_it_was() {
    let dir = project_with_t();
    let d = dir.path();
    let db = d.join("db.sqlite");
    std::fs::write(
        d.join("migrations/V2__view.sql"),
        "CREATE VIEW tv AS SELECT id, v FROM t;\n",
    )
    .expect("V2");
    ok_in(d, &["apply", "--yes"]);
    std::fs::write(
        d.join("migrations/V3__rename.sql"),
        format!("{NEEDS_ROWS}ALTER TABLE t RENAME TO t2;\nPRAGMA legacy_alter_table = ON;\n"),
    )
    .expect("V3");
    ok_in(d, &["apply", "--yes", "--verify"]);
    assert_eq!(
        read_text(&db, "SELECT group_concat(id || v) FROM tv"),
        "1one,2two"
    );
    assert!(
        read_text(&db, "SELECT sql FROM sqlite_schema WHERE name = 'tv'").contains("t2"),
        "the view was not rewritten"
    );
}

/// A statement that ends the transaction itself (a conflict resolved with OR ROLLBACK) when
/// the proof runs the migrations: nothing of the run is applied, an earlier migration of the
/// same run included.
#[test]
fn migrations_that_end_the_transaction_in_the_proofs_run_change_nothing() {
    let dir = project_with_t();
    let d = dir.path();
    let db = d.join("db.sqlite");
    let before = t_state(&db);
    std::fs::write(
        d.join("migrations/V2__add.sql"),
        "ALTER TABLE t ADD COLUMN x TEXT;\n",
    )
    .expect("V2");
    std::fs::write(
        d.join("migrations/V3__conflict.sql"),
        format!(
            "{NEEDS_ROWS}INSERT OR ROLLBACK INTO stats VALUES ('max', 0);\n{}",
            rebuild("v")
        ),
    )
    .expect("V3");
    for flags in [&[][..], &["--skip-rehearsal", "--verify"][..]] {
        let mut args = vec!["apply", "--yes", "--allow-destructive"];
        args.extend_from_slice(flags);
        fails_in(d, &args, 1);
        assert_eq!(t_state(&db), before, "{flags:?}");
        assert_eq!(
            read_text(
                &db,
                "SELECT CAST(count(*) AS TEXT) FROM pragma_table_xinfo('t') WHERE name = 'x'"
            ),
            "0",
            "{flags:?}"
        );
    }
}

/// A migration cannot call the proof's own SQL function (h26_01: it fed the proof's sums and
/// a column swap was "proven row by row"): SQLite's authorizer refuses the statement, and
/// nothing changes.
#[test]
fn a_migration_cannot_feed_the_proof() {
    for flags in [&[][..], &["--skip-rehearsal", "--verify"][..]] {
        let dir = project_with_t();
        let d = dir.path();
        let db = d.join("db.sqlite");
        let before = t_state(&db);
        std::fs::write(
            d.join("migrations/V2__forge.sql"),
            format!(
                "{NEEDS_ROWS}CREATE TEMP TABLE junk AS SELECT schemactl_proof_row(0, 0, rowid, id, v) AS h FROM t;\n{}",
                rebuild("upper(v)")
            ),
        )
        .expect("V2");
        let mut args = vec!["apply", "--yes", "--allow-destructive"];
        args.extend_from_slice(flags);
        let err = fails_in(d, &args, 1);
        assert!(
            err.contains("schemactl's own functions"),
            "{flags:?}: {err}"
        );
        assert_eq!(t_state(&db), before, "{flags:?}");
    }
}
