//! The names of a column's NOT NULL and DEFAULT constraints (`a INT CONSTRAINT nn NOT NULL
//! CONSTRAINT df DEFAULT 3`) are part of the schema: SQLite's `ALTER TABLE ... DROP
//! CONSTRAINT nn` needs them. A property (32 cases) over random names (quotes, spaces, keywords)
//! and random default forms, named or not: `import` writes them to the YAML, the imported
//! schema plans nothing, a rebuild keeps them (the live CREATE TABLE names them, and `DROP
//! CONSTRAINT` finds them afterwards), and a renamed constraint is a change. And a default
//! under `sql:` that YAML reads as a number (`1e3`) is its text; a default of no accepted form
//! says which forms are accepted, at its place.

mod common;

use common::{empty_project, fails_in, ok_in, schemactl, stderr};
use proptest::prelude::*;
use rusqlite::Connection;

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn live_sql(db: &std::path::Path) -> String {
    Connection::open(db)
        .unwrap()
        .query_row("SELECT sql FROM sqlite_schema WHERE name = 't'", [], |r| {
            r.get(0)
        })
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn not_null_and_default_names_survive_import_and_rebuild(
        nn in prop::option::of("[a-z][a-z0-9_ \"]{0,8}|select|default"),
        df in prop::option::of("[a-z][a-z0-9_ \"]{0,8}|null|check"),
        default in prop::sample::select(vec!["3", "-1", "'it''s'", "(1+1)", "1e3", "CURRENT_TIMESTAMP", "x'00ff'", "NULL"]),
    ) {
        prop_assume!(nn.is_none() || nn != df);
        let dir = empty_project();
        let db = dir.path().join("db.sqlite");
        let named = |n: &Option<String>| n.as_ref().map(|n| format!("CONSTRAINT {} ", quote(n))).unwrap_or_default();
        let ddl = format!(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, a {}NOT NULL {}DEFAULT {default}, b TEXT);
             INSERT INTO t (id, a, b) VALUES (1, 7, 'x');",
            named(&nn),
            named(&df),
        );
        Connection::open(&db).unwrap().execute_batch(&ddl).unwrap();
        ok_in(dir.path(), &["import", "--out", "schema/app.yaml"]);
        let yaml = std::fs::read_to_string(dir.path().join("schema/app.yaml")).unwrap();
        prop_assert_eq!(nn.is_some(), yaml.contains("not_null: { name: "), "{}", yaml);
        prop_assert_eq!(df.is_some(), yaml.contains(", name: "), "{}", yaml);
        ok_in(dir.path(), &["plan", "--check"]);

        // A rebuild (a NOT NULL column with an expression default) keeps both names.
        let edited = yaml
            .replacen("version: 1", "version: 2", 1)
            .replace("      b: { type: TEXT }\n", "      b: { type: TEXT }\n      zz: { type: TEXT, not_null: true, default: { sql: CURRENT_TIMESTAMP } }\n");
        prop_assert_ne!(&edited, &yaml);
        std::fs::write(dir.path().join("schema/app.yaml"), &edited).unwrap();
        ok_in(dir.path(), &["sync", "--yes"]);
        let sql = live_sql(&db);
        for n in [&nn, &df].into_iter().flatten() {
            // Quoted, or bare when the name needs no quotes.
            prop_assert!(
                sql.contains(&format!("CONSTRAINT {} ", quote(n)))
                    || sql.contains(&format!("CONSTRAINT {n} ")),
                "{}", sql
            );
        }
        ok_in(dir.path(), &["plan", "--check"]);
        if let Some(n) = &nn {
            let conn = Connection::open(&db).unwrap();
            prop_assert!(
                conn.execute_batch(&format!("ALTER TABLE t DROP CONSTRAINT {}", quote(n))).is_ok(),
                "DROP CONSTRAINT {} after the rebuild: {}", n, sql
            );
        }
    }
}

#[test]
fn renaming_a_not_null_constraint_is_a_change() {
    let dir = empty_project();
    let db = dir.path().join("db.sqlite");
    Connection::open(&db)
        .unwrap()
        .execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER CONSTRAINT nn NOT NULL);")
        .unwrap();
    ok_in(dir.path(), &["import", "--out", "schema/app.yaml"]);
    let path = dir.path().join("schema/app.yaml");
    let yaml = std::fs::read_to_string(&path).unwrap();
    let edited = yaml
        .replacen("version: 1", "version: 2", 1)
        .replace("not_null: { name: nn }", "not_null: { name: nn2 }");
    assert_ne!(edited.replacen("version: 2", "version: 1", 1), yaml);
    std::fs::write(&path, edited).unwrap();
    let out = schemactl(dir.path(), &["plan", "--check"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    ok_in(dir.path(), &["sync", "--yes"]);
    assert!(
        live_sql(&db).contains("CONSTRAINT nn2 NOT NULL"),
        "{}",
        live_sql(&db)
    );
    // SQLite finds the constraint by the new name only.
    let conn = Connection::open(&db).unwrap();
    assert!(
        conn.execute_batch("ALTER TABLE t DROP CONSTRAINT nn")
            .is_err()
    );
    conn.execute_batch("ALTER TABLE t DROP CONSTRAINT nn2")
        .unwrap();
    conn.execute("INSERT INTO t (a) VALUES (NULL)", []).unwrap();
}

#[test]
fn a_default_under_sql_that_yaml_reads_as_a_number_is_its_text() {
    let dir = empty_project();
    std::fs::write(
        dir.path().join("schema/app.yaml"),
        "schemactl: 1\nversion: 1\ntables:\n  t:\n    columns:\n      id: { type: INTEGER, primary_key: true }\n      a: { type: REAL, default: { sql: 1e3 } }\n      b: { type: INTEGER, default: { sql: 10, name: ten } }\n",
    )
    .unwrap();
    ok_in(dir.path(), &["sync", "--yes"]);
    let sql = live_sql(&dir.path().join("db.sqlite"));
    assert!(sql.contains("a REAL DEFAULT 1e3"), "{sql}");
    assert!(sql.contains("b INTEGER CONSTRAINT ten DEFAULT 10"), "{sql}");
}

#[test]
fn a_default_of_no_accepted_form_says_which_are() {
    let dir = empty_project();
    for (bad, says) in [
        (
            "[1, 2]",
            "a number, a string, true or false, or { sql: EXPR }",
        ),
        ("{ expr: 1 }", "unknown key `expr` in a default"),
        ("{ name: df }", "a default map needs `sql`"),
    ] {
        std::fs::write(
            dir.path().join("schema/app.yaml"),
            format!("schemactl: 1\nversion: 1\ntables:\n  t:\n    columns:\n      id: {{ type: INTEGER, primary_key: true }}\n      a: {{ default: {bad} }}\n"),
        )
        .unwrap();
        let err = fails_in(dir.path(), &["plan"], 1);
        assert!(err.contains(says), "{bad}: {err}");
        assert!(err.contains("app.yaml:7:"), "{bad}: {err}");
        assert!(!err.contains("untagged"), "{bad}: {err}");
    }
    std::fs::write(
        dir.path().join("schema/app.yaml"),
        "schemactl: 1\nversion: 1\ntables:\n  t:\n    columns:\n      id: { type: INTEGER, primary_key: true }\n      a: { not_null: { nam: x } }\n",
    )
    .unwrap();
    let err = fails_in(dir.path(), &["plan"], 1);
    assert!(
        err.contains("{ name: N } for CONSTRAINT N NOT NULL"),
        "{err}"
    );
}
