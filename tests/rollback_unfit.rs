//! Rolling back a native DROP NOT NULL or DROP CONSTRAINT (CHECK) over rows written since
//! that break the rule coming back: refused before anything runs, `--dry-run` too, naming the
//! rule and up to five of the rows (as the forward lint does), nothing changed; once the rows
//! are fixed the rollback runs. The reverse migration's step headers say what the reverse
//! does (`set NOT NULL`, `add check`). A property over random rows written since (32 cases).

mod common;

use common::{fails_in, ok_in};
use proptest::prelude::*;
use rusqlite::Connection;

fn project(rule: bool) -> tempfile::TempDir {
    let dir = common::empty_project();
    let d = dir.path();
    let v1 = if rule {
        "schemactl: 1\nversion: 1\ntables:\n  t:\n    columns:\n      id: { type: INTEGER, primary_key: true }\n      a: { type: TEXT, not_null: true }\n"
    } else {
        "schemactl: 1\nversion: 1\ntables:\n  t:\n    columns:\n      id: { type: INTEGER, primary_key: true }\n      a: { type: TEXT }\n    checks:\n      - { name: ck_a, expr: \"a <> 'bad'\" }\n"
    };
    std::fs::write(d.join("schema/s.yaml"), v1).unwrap();
    ok_in(d, &["plan", "--write", "init"]);
    let v2 = "schemactl: 1\nversion: 2\ntables:\n  t:\n    columns:\n      id: { type: INTEGER, primary_key: true }\n      a: { type: TEXT }\n";
    std::fs::write(d.join("schema/s.yaml"), v2).unwrap();
    ok_in(d, &["plan", "--write", "relax"]);
    dir
}

fn run_case(not_null: bool, rows: &[bool]) {
    let dir = project(not_null);
    let d = dir.path();
    let reverse = std::fs::read_to_string(d.join("rollbacks/V2__relax.sql")).unwrap();
    if not_null {
        assert!(reverse.contains("set NOT NULL on t.a"), "{reverse}");
        assert!(!reverse.contains("drop NOT NULL"), "{reverse}");
    } else {
        assert!(reverse.contains("add check ck_a on t"), "{reverse}");
        assert!(!reverse.contains("drop check"), "{reverse}");
    }
    ok_in(d, &["apply", "--yes"]);
    let db = d.join("db.sqlite");
    let bad_value = if not_null { "NULL" } else { "'bad'" };
    let conn = Connection::open(&db).unwrap();
    let mut bad = Vec::new();
    for (i, breaks) in rows.iter().enumerate() {
        let id = i + 1;
        let v = if *breaks {
            bad.push(id);
            bad_value.to_string()
        } else {
            format!("'ok{id}'")
        };
        conn.execute_batch(&format!("INSERT INTO t VALUES ({id}, {v})"))
            .unwrap();
    }
    drop(conn);
    if bad.is_empty() {
        ok_in(d, &["rollback", "last", "--yes"]);
        return;
    }
    let rule = if not_null {
        "NOT NULL on a"
    } else {
        "CHECK (a <> 'bad')"
    };
    let samples: Vec<String> = bad.iter().take(5).map(|id| format!("id={id}")).collect();
    let line = format!(
        "t: {} row(s): {rule} (e.g. {})",
        bad.len(),
        samples.join("; ")
    );
    for args in [
        &["rollback", "last", "--dry-run"][..],
        &["rollback", "last", "--yes"][..],
    ] {
        let err = fails_in(d, args, 1);
        assert!(err.contains(&line), "{args:?}: want {line}\n{err}");
        assert!(err.contains("nothing was changed"), "{err}");
    }
    let conn = Connection::open(&db).unwrap();
    let version: i64 = conn
        .query_row("SELECT max(version) FROM _schemactl_migrations", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(version, 2, "nothing rolled back");
    conn.execute_batch("UPDATE t SET a = 'fixed' WHERE a IS NULL OR a = 'bad'")
        .unwrap();
    drop(conn);
    ok_in(d, &["rollback", "last", "--yes"]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn a_rule_coming_back_over_rows_written_since_is_refused_naming_them(
        not_null in any::<bool>(),
        rows in prop::collection::vec(any::<bool>(), 0..9),
    ) {
        run_case(not_null, &rows);
    }
}

/// A reverse that fixes the rows before it brings the rule back (de-duplicates, then creates
/// the UNIQUE index again) rolls back, leaving the rows SQLite leaves; without the fix it is
/// refused before anything runs (h11_13's class, on the way back).
#[test]
fn a_reverse_that_fixes_its_rows_first_rolls_back() {
    for fix in [true, false] {
        let dir = common::empty_project();
        let d = dir.path();
        std::fs::write(
            d.join("schemactl.toml"),
            "database = \"db.sqlite\"\nmigrations = \"migrations\"\nbackups = \"backups\"\n",
        )
        .unwrap();
        std::fs::write(
            d.join("migrations/V1__init.sql"),
            "CREATE TABLE t (id INTEGER PRIMARY KEY, email TEXT);\nCREATE UNIQUE INDEX t_email ON t(email);\n",
        )
        .unwrap();
        std::fs::write(d.join("migrations/V2__relax.sql"), "DROP INDEX t_email;\n").unwrap();
        let dedupe = "UPDATE main.t SET email = email || '#' || id WHERE id NOT IN (SELECT min(id) FROM t GROUP BY email);\n";
        let reverse = format!(
            "{}CREATE UNIQUE INDEX t_email ON t(email);\n",
            if fix { dedupe } else { "" }
        );
        std::fs::write(d.join("rollbacks/V2__relax.sql"), &reverse).unwrap();
        ok_in(d, &["apply", "--yes"]);
        let db = d.join("db.sqlite");
        Connection::open(&db)
            .unwrap()
            .execute_batch("INSERT INTO t VALUES (1, 'a'), (2, 'a'), (3, 'b'), (4, 'b');")
            .unwrap();
        let copy = d.join("copy.sqlite");
        std::fs::copy(&db, &copy).unwrap();
        let oracle = Connection::open(&copy).unwrap().execute_batch(&reverse);
        let rows = |db: &std::path::Path| -> Vec<(i64, String)> {
            let conn = Connection::open(db).unwrap();
            let mut s = conn.prepare("SELECT id, email FROM t ORDER BY id").unwrap();
            s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap()
        };
        if fix {
            oracle.expect("SQLite runs the reverse");
            ok_in(d, &["rollback", "last", "--dry-run"]);
            ok_in(d, &["rollback", "last", "--yes"]);
            assert_eq!(rows(&db), rows(&copy), "the rows as SQLite leaves them");
        } else {
            assert!(oracle.is_err());
            let before = rows(&db);
            let err = fails_in(d, &["rollback", "last", "--yes"], 1);
            assert!(err.contains("t: 2 row(s)"), "{err}");
            assert!(!err.contains("rehearsal"), "before anything runs: {err}");
            assert_eq!(rows(&db), before);
        }
    }
}
