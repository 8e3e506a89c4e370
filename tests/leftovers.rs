//! Nothing a migration makes on its connection outlives its statements but the database: a
//! TEMP trigger cannot fire on schemactl's own writes after the checks, and a TEMP table named
//! like one of schemactl's cannot take its records (h21_01 to h21_06). A trigger in the
//! database on one of schemactl's own tables is refused.

mod common;

use common::{empty_project, fails_in, ok_in, project_with_t, read_text, t_state};
use proptest::prelude::*;
use rusqlite::Connection;

const ROWS: &str = "1=one,2=two";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn temp_objects_end_with_the_migrations_statements(
        made in prop::sample::select(vec![
            "CREATE TEMP TRIGGER zz AFTER INSERT ON u BEGIN UPDATE t SET v = 'CHANGED'; DELETE FROM t WHERE id = 2; END;",
            "CREATE TEMP TABLE _schemactl_rollback_stashes (name, version, migrations, restore, what);",
            "CREATE TEMP TABLE _schemactl_dropped_counters (version, name, seq);",
            "CREATE TEMP TRIGGER zz AFTER UPDATE ON t BEGIN DELETE FROM t; END;",
            "CREATE TEMP VIEW t AS SELECT 1 AS id, 'FORGED' AS v;",
            // h22_01: the name of the proof's TEMP table (under --verify), as a trigger's.
            "CREATE TEMP TRIGGER \"_schemactl_proof_0\" AFTER INSERT ON u BEGIN UPDATE t SET v = 'CHANGED'; END;",
        ]),
        verify in any::<bool>(),
    ) {
        let dir = project_with_t();
        let d = dir.path();
        std::fs::write(
            d.join("migrations/V2__temp.sql"),
            format!("CREATE TABLE u (x);\nALTER TABLE t ADD COLUMN w TEXT;\n{made}\n"),
        ).expect("V2");
        // The reverse: TEMP tables named like the records a rollback deletes (h21_02).
        std::fs::write(
            d.join("rollbacks/V2__temp.sql"),
            "CREATE TEMP TABLE _schemactl_rollback_stashes (name, version, migrations, restore, what);\nCREATE TEMP TABLE _schemactl_dropped_counters (version, name, seq);\nDROP TABLE u;\nALTER TABLE t DROP COLUMN w;\n",
        ).expect("V2 back");
        let db = d.join("db.sqlite");
        if verify {
            ok_in(d, &["apply", "--yes", "--verify"]);
        } else {
            ok_in(d, &["apply", "--yes"]);
        }
        prop_assert_eq!(t_state(&db), (ROWS.to_string(), "1,2".to_string()));
        let status = ok_in(d, &["status", "--format", "json"]);
        prop_assert!(!status.contains("V2__temp\",\n") || status.contains("\"pending\": []"), "{}", status);
        ok_in(d, &["rollback", "--to", "1", "--yes", "--allow-destructive"]);
        prop_assert_eq!(t_state(&db), (ROWS.to_string(), "1".to_string()));
        ok_in(d, &["apply", "--yes"]);
        prop_assert_eq!(t_state(&db), (ROWS.to_string(), "1,2".to_string()));
    }
}

/// A trigger in the database on one of schemactl's own tables would fire when schemactl
/// records the run, after its checks: the migration is refused and nothing changes (on its
/// records, by SQLite's authorizer as the trigger is prepared; on its other tables, once the
/// statements have run).
#[test]
fn a_trigger_on_schemactls_own_table_is_refused() {
    let dir = project_with_t();
    let d = dir.path();
    for (made, table, said) in [
        ("", "_schemactl_migrations", "schemactl's own records"),
        // h21_01: a TEMP trigger on them would fire when the run is recorded.
        ("", "main._schemactl_identity", "schemactl's own records"),
        ("", "\"_SCHEMACTL_MIGRATIONS\"", "schemactl's own records"),
        ("", "[_Schemactl_History]", "schemactl's own records"),
        (
            "CREATE TABLE _schemactl_stash_x (v);\n",
            "_schemactl_stash_x",
            "schemactl's own table",
        ),
    ] {
        std::fs::write(
            d.join("migrations/V2__ours.sql"),
            format!(
                "{made}CREATE {} TRIGGER zz AFTER INSERT ON {table} BEGIN UPDATE t SET v = 'CHANGED'; END;\n",
                if table.starts_with("main.") { "TEMP" } else { "" }
            ),
        )
        .expect("V2");
        let err = fails_in(d, &["apply", "--yes"], 1);
        assert!(err.contains(said), "{table}: {err}");
        let db = d.join("db.sqlite");
        assert_eq!(t_state(&db), (ROWS.to_string(), "1".to_string()), "{table}");
    }
}

/// A TEMP AUTOINCREMENT table leaves TEMP's sqlite_sequence, which SQLite never drops and
/// which would answer for main's in schemactl's own steps (h22_02): refused, nothing changed.
#[test]
fn a_temp_autoincrement_table_is_refused() {
    let dir = project_with_t();
    let d = dir.path();
    std::fs::write(
        d.join("migrations/V2__seq.sql"),
        "CREATE TEMP TABLE k (id INTEGER PRIMARY KEY AUTOINCREMENT, x);\nINSERT INTO k (x) VALUES (1);\nUPDATE t SET v = 'CHANGED';\n",
    )
    .expect("V2");
    let err = fails_in(d, &["apply", "--yes"], 1);
    assert!(err.contains("AUTOINCREMENT"), "{err}");
    assert_eq!(
        t_state(&d.join("db.sqlite")),
        (ROWS.to_string(), "1".to_string())
    );
}

/// A setting a migration uses for its own statements does not reach the next one in the same
/// run (h24_01: `legacy_alter_table` left ON made the next RENAME leave a view on the old
/// name, and the run said "schema: as expected"); a foreign key violation left for the commit
/// is refused in the rehearsal, naming the migration (h24_02).
#[test]
fn settings_end_with_the_migrations_statements() {
    let dir = empty_project();
    let d = dir.path();
    std::fs::write(
        d.join("migrations/V1__t.sql"),
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);\nINSERT INTO t VALUES (1, 'one'), (2, 'two');\nCREATE VIEW tv AS SELECT v FROM t;\nCREATE TABLE c (id INTEGER PRIMARY KEY, t_id INTEGER REFERENCES t (id));\n",
    )
    .expect("V1");
    ok_in(d, &["apply", "--yes"]);
    std::fs::write(
        d.join("migrations/V2__legacy.sql"),
        "PRAGMA legacy_alter_table = ON;\n",
    )
    .expect("V2");
    std::fs::write(
        d.join("migrations/V3__rename.sql"),
        "ALTER TABLE t RENAME TO t2;\n",
    )
    .expect("V3");
    ok_in(d, &["apply", "--yes"]);
    let db = d.join("db.sqlite");
    assert_eq!(
        read_text(&db, "SELECT group_concat(v, ',') FROM tv"),
        "one,two",
        "the view follows the rename, as it does when V3 runs alone"
    );
    std::fs::write(
        d.join("migrations/V4__defer.sql"),
        "PRAGMA defer_foreign_keys = ON;\nINSERT INTO c VALUES (1, 99);\n",
    )
    .expect("V4");
    let err = fails_in(d, &["apply", "--yes"], 1);
    assert!(
        err.contains("V4__defer") && err.contains("FOREIGN KEY"),
        "{err}"
    );
    assert!(err.contains("rehearsal"), "{err}");
    assert_eq!(read_text(&db, "SELECT count(*) || '' FROM c"), "0");
}

/// A table or view named like one of SQLite's built-in table-valued functions would answer
/// for it wherever it is read without a schema (h25_01: a view named `pragma_table_list`
/// blinded the proof and the schema check; h25_02: one named `pragma_table_xinfo` left every
/// command failing): refused, nothing changed.
#[test]
fn a_view_named_like_a_built_in_function_is_refused() {
    let dir = project_with_t();
    let d = dir.path();
    for name in [
        "pragma_table_list",
        "\"PRAGMA_TABLE_XINFO\"",
        "dbstat",
        "[json_each]",
    ] {
        std::fs::write(
            d.join("migrations/V2__shadow.sql"),
            format!("UPDATE t SET v = 'CHANGED';\nCREATE VIEW {name} AS SELECT 1 AS x;\n"),
        )
        .expect("V2");
        let err = fails_in(d, &["apply", "--yes"], 1);
        assert!(err.contains("built-in table-valued"), "{name}: {err}");
        assert_eq!(
            t_state(&d.join("db.sqlite")),
            (ROWS.to_string(), "1".to_string()),
            "{name}"
        );
    }
}

/// The row proof follows a migration whose statements need an object they do not name (a
/// trigger of the table they write fills another): it runs them once more on the whole schema
/// rather than leaving the table unproven, and a rebuild that swaps two columns' values is
/// refused (h25_03b).
#[test]
fn the_proof_follows_a_trigger_into_a_table_the_migration_does_not_name() {
    let dir = empty_project();
    let d = dir.path();
    std::fs::write(
        d.join("migrations/V1__t.sql"),
        "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b TEXT);\nINSERT INTO t VALUES (1, 'a1', 'b1'), (2, 'a2', 'b2');\nCREATE TABLE e (k TEXT);\nCREATE TABLE n (c INTEGER NOT NULL);\nINSERT INTO n VALUES (0);\nCREATE TRIGGER bump AFTER INSERT ON e BEGIN UPDATE n SET c = c + 1; END;\n",
    )
    .expect("V1");
    ok_in(d, &["apply", "--yes"]);
    std::fs::write(
        d.join("migrations/V2__swap.sql"),
        "INSERT INTO e VALUES ('x');\nCREATE TABLE t_new (id INTEGER PRIMARY KEY, a TEXT, b TEXT);\nINSERT INTO t_new (id, a, b) SELECT id, b, a FROM t;\nDROP TABLE t;\nALTER TABLE t_new RENAME TO t;\n",
    )
    .expect("V2");
    let err = fails_in(d, &["apply", "--yes", "--allow-destructive"], 1);
    assert!(err.contains("\"t\""), "{err}");
    assert_eq!(
        read_text(
            &d.join("db.sqlite"),
            "SELECT group_concat(a || b, ',') FROM t"
        ),
        "a1b1,a2b2"
    );
}

/// A foreign key violation left for the commit is refused naming the statement that made it,
/// and the row (h25_05: the message named the migration's last statement, with no text); a
/// violation a later statement resolves is no one's, and the migration applies.
#[test]
fn a_waiting_violation_is_named_by_the_statement_that_made_it() {
    let dir = empty_project();
    let d = dir.path();
    std::fs::write(
        d.join("migrations/V1__t.sql"),
        "CREATE TABLE p (id INTEGER PRIMARY KEY);\nCREATE TABLE k (id INTEGER PRIMARY KEY, p_id INTEGER REFERENCES p (id) DEFERRABLE INITIALLY DEFERRED);\n",
    )
    .expect("V1");
    ok_in(d, &["apply", "--yes"]);
    for (sql, index, statement) in [
        (
            "INSERT INTO k VALUES (3, 99);\nCREATE TABLE z (x);\nCREATE INDEX z_x ON z (x);\n",
            1,
            "INSERT INTO k VALUES (3, 99)",
        ),
        (
            "INSERT INTO k VALUES (3, 99);\nINSERT INTO p VALUES (99);\nINSERT INTO k VALUES (4, 98);\nCREATE TABLE z (x);\n",
            3,
            "INSERT INTO k VALUES (4, 98)",
        ),
    ] {
        std::fs::write(d.join("migrations/V2__orphan.sql"), sql).expect("V2");
        let err = fails_in(d, &["apply", "--yes"], 1);
        assert!(
            err.contains(&format!("statement {index} of migration V2__orphan"))
                && err.contains(statement)
                && err.contains("of \"k\" references \"p\""),
            "{sql}: {err}"
        );
        assert_eq!(
            read_text(&d.join("db.sqlite"), "SELECT count(*) || '' FROM k"),
            "0"
        );
    }
    std::fs::write(
        d.join("migrations/V2__orphan.sql"),
        "INSERT INTO k VALUES (3, 99);\nINSERT INTO p VALUES (99);\nCREATE TABLE z (x);\n",
    )
    .expect("V2");
    ok_in(d, &["apply", "--yes"]);
    assert_eq!(
        read_text(&d.join("db.sqlite"), "SELECT count(*) || '' FROM k"),
        "1"
    );
}

/// `PRAGMA defer_foreign_keys = ON` ... `OFF` (Rails' disable_referential_integrity): turning
/// it off makes SQLite forget the violations it deferred, so the migration is held to
/// `foreign_key_check` itself (h26_03); a violation the database had before is not its own.
#[test]
fn a_violation_the_pragma_forgets_is_still_refused() {
    let dir = empty_project();
    let d = dir.path();
    let db = d.join("db.sqlite");
    std::fs::write(
        d.join("migrations/V1__t.sql"),
        "CREATE TABLE p (id INTEGER PRIMARY KEY);\nCREATE TABLE k (id INTEGER PRIMARY KEY, p_id INTEGER REFERENCES p (id));\nINSERT INTO p VALUES (1);\n",
    )
    .expect("V1");
    ok_in(d, &["apply", "--yes"]);
    // An orphan the application left, with foreign keys off (SQLite's default).
    Connection::open(&db)
        .expect("open")
        .execute_batch("PRAGMA foreign_keys = OFF; INSERT INTO k VALUES (9, 404);")
        .expect("old orphan");
    std::fs::write(
        d.join("migrations/V2__rails.sql"),
        "PRAGMA defer_foreign_keys = ON;\nINSERT INTO k VALUES (5, 77);\nPRAGMA defer_foreign_keys = OFF;\n",
    )
    .expect("V2");
    for flags in [&[][..], &["--skip-rehearsal"][..]] {
        let mut args = vec!["apply", "--yes"];
        args.extend_from_slice(flags);
        let err = fails_in(d, &args, 1);
        assert!(
            err.contains("defer_foreign_keys")
                && err.contains("row 5 of \"k\" references \"p\"")
                && err.contains("statement 2 of migration V2__rails"),
            "{flags:?}: {err}"
        );
        assert_eq!(
            read_text(&db, "SELECT group_concat(id) FROM k"),
            "9",
            "{flags:?}"
        );
    }
    // SQLite reads `==` as `=` (h27_03).
    std::fs::write(
        d.join("migrations/V2__rails.sql"),
        "PRAGMA defer_foreign_keys == ON;\nINSERT INTO k VALUES (5, 77);\nPRAGMA defer_foreign_keys == OFF;\n",
    )
    .expect("V2");
    let err = fails_in(d, &["apply", "--yes"], 1);
    assert!(err.contains("row 5 of \"k\" references \"p\""), "{err}");
    assert_eq!(read_text(&db, "SELECT group_concat(id) FROM k"), "9");
    // The same pattern kept consistent applies, the old orphan notwithstanding.
    std::fs::write(
        d.join("migrations/V2__rails.sql"),
        "PRAGMA defer_foreign_keys = ON;\nINSERT INTO k VALUES (5, 2);\nINSERT INTO p VALUES (2);\nPRAGMA defer_foreign_keys = OFF;\n",
    )
    .expect("V2");
    ok_in(d, &["apply", "--yes"]);
    assert_eq!(read_text(&db, "SELECT group_concat(id) FROM k"), "5,9");
}
