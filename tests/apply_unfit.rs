//! Migration files that bring in a rule the live rows break (a NOT NULL, a named CHECK, a
//! foreign key, added by `plan --write`): `apply --dry-run` and `apply` agree, and refuse
//! before anything runs (no pre-apply backup, no rehearsal), naming every rule with every row
//! that breaks it, nothing changed; once the rows are fixed the files apply. A property over
//! random rules and random rows (32 cases).

mod common;

use common::{fails_in, ok_in};
use proptest::prelude::*;
use rusqlite::Connection;

fn schema(version: u32, not_null: bool, check: bool, fk: bool) -> String {
    let mut s = format!(
        "schemactl: 1\nversion: {version}\ntables:\n  par:\n    columns:\n      id: {{ type: INTEGER, primary_key: true }}\n  t:\n    columns:\n      id: {{ type: INTEGER, primary_key: true }}\n      a: {{ type: TEXT{} }}\n      b: {{ type: INTEGER }}\n      pid: {{ type: INTEGER }}\n",
        if not_null { ", not_null: true" } else { "" }
    );
    if check {
        s.push_str("    checks:\n      - { name: ck_b, expr: \"b < 10\" }\n");
    }
    if fk {
        s.push_str(
            "    foreign_keys:\n      - { name: fk_par, columns: [pid], references: par(id) }\n",
        );
    }
    s
}

fn run_case(rules: (bool, bool, bool), rows: &[(bool, bool, bool)]) {
    let (not_null, check, fk) = rules;
    if !(not_null || check || fk) {
        return;
    }
    let dir = common::empty_project();
    let d = dir.path();
    std::fs::write(d.join("schema/s.yaml"), schema(1, false, false, false)).unwrap();
    ok_in(d, &["plan", "--write", "init"]);
    ok_in(d, &["apply", "--yes"]);
    std::fs::write(d.join("schema/s.yaml"), schema(2, not_null, check, fk)).unwrap();
    ok_in(d, &["plan", "--write", "strict"]);
    let db = d.join("db.sqlite");
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch("INSERT INTO par VALUES (1);").unwrap();
    let (mut nulls, mut bads, mut orphans) = (Vec::new(), Vec::new(), Vec::new());
    for (i, (null_a, bad_b, orphan)) in rows.iter().enumerate() {
        let id = i + 1;
        let (null_a, bad_b, orphan) = (*null_a && not_null, *bad_b && check, *orphan && fk);
        let a = if null_a {
            "NULL".into()
        } else {
            format!("'a{id}'")
        };
        let b = if bad_b { 50 + id } else { id % 3 };
        let pid = if orphan { 100 + id } else { 1 };
        conn.execute_batch(&format!("INSERT INTO t VALUES ({id}, {a}, {b}, {pid})"))
            .unwrap();
        if null_a {
            nulls.push(format!("id={id}"));
        }
        if bad_b {
            bads.push(format!("id={id}"));
        }
        if orphan {
            orphans.push(format!("id={id}: pid={} has no parent row", 100 + id));
        }
    }
    drop(conn);
    let mut lines = Vec::new();
    for (found, rule) in [
        (&nulls, "NOT NULL on a"),
        (&bads, "CHECK (b < 10)"),
        (&orphans, "FOREIGN KEY (pid) REFERENCES par: orphan rows"),
    ] {
        if !found.is_empty() {
            lines.push(format!(
                "t: {} row(s): {rule} (e.g. {})",
                found.len(),
                found.join("; ")
            ));
        }
    }
    let backups =
        || std::fs::read_dir(d.join("backups")).map_or(0, |r| r.filter_map(|e| e.ok()).count());
    if !lines.is_empty() {
        let taken = backups();
        for args in [&["apply", "--dry-run"][..], &["apply", "--yes"][..]] {
            let err = fails_in(d, args, 1);
            for line in &lines {
                assert!(err.contains(line), "{args:?}: want {line}\n{err}");
            }
            assert!(err.contains("nothing was changed"), "{err}");
            assert!(!err.contains("rehearsal"), "before anything runs: {err}");
        }
        assert_eq!(backups(), taken, "no backup taken");
        let conn = Connection::open(&db).unwrap();
        let version: i64 = conn
            .query_row("SELECT max(version) FROM _schemactl_migrations", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(version, 1, "nothing applied");
        conn.execute_batch(
            "UPDATE t SET a = 'fixed' WHERE a IS NULL; UPDATE t SET b = 0 WHERE b >= 10; UPDATE t SET pid = 1;",
        )
        .unwrap();
    }
    ok_in(d, &["apply", "--dry-run"]);
    ok_in(d, &["apply", "--yes"]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn apply_names_every_row_a_new_rule_refuses_before_anything_runs(
        rules in (any::<bool>(), any::<bool>(), any::<bool>()),
        rows in prop::collection::vec((any::<bool>(), any::<bool>(), any::<bool>()), 0..6),
    ) {
        run_case(rules, &rows);
    }
}

/// The statements that fix the duplicated emails, one form each.
const FIX_UNIQUE: [&str; 4] = [
    "UPDATE t SET email = email || '#' || id WHERE id NOT IN (SELECT min(id) FROM t GROUP BY email);",
    "DELETE FROM main.t WHERE id NOT IN (SELECT min(id) FROM t GROUP BY email);",
    "WITH keep AS (SELECT min(id) AS id FROM t GROUP BY email) UPDATE OR ABORT t SET email = email || '#' || id WHERE id NOT IN (SELECT id FROM keep);",
    "CREATE TRIGGER fix_t AFTER INSERT ON fix_log BEGIN UPDATE t SET email = email || '#' || id WHERE id NOT IN (SELECT min(id) FROM t GROUP BY email); END;\nINSERT INTO fix_log VALUES (1);\nDROP TRIGGER fix_t;",
];

/// The statements that fix the negative `n`, one form each.
const FIX_CHECK: [&str; 4] = [
    "UPDATE t SET n = -n WHERE n < 0;",
    "DELETE FROM t WHERE n < 0;",
    "REPLACE INTO t (id, email, n) SELECT id, email, 0 FROM t WHERE n < 0;",
    "WITH bad AS (SELECT id FROM t WHERE n < 0) UPDATE t SET n = 0 WHERE id IN (SELECT id FROM bad);",
];

/// A CHECK brought in by a hand-written rebuild, as plan writes one (the copy changes nothing).
const RULE_CHECK: &str = "CREATE TABLE t_new (id INTEGER PRIMARY KEY, email TEXT, n INTEGER CHECK (n >= 0));\nINSERT INTO t_new (id, email, n) SELECT id, email, n FROM t;\nDROP TABLE t;\nALTER TABLE t_new RENAME TO t;";
const RULE_UNIQUE: &str = "CREATE UNIQUE INDEX t_email ON t(email);";

/// Where the statements that fix the rows are.
#[derive(Debug, Clone, Copy)]
enum Fix {
    /// Before the rules, in the same file.
    SameFile,
    /// In an earlier pending file.
    EarlierFile,
    /// After the rules (SQLite stops on the rule).
    After,
    /// Nowhere.
    None,
}

fn t_rows(db: &std::path::Path) -> Vec<(i64, Option<String>, Option<i64>)> {
    let conn = Connection::open(db).unwrap();
    let mut s = conn
        .prepare("SELECT id, email, n FROM t ORDER BY id")
        .unwrap();
    s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

fn run_fixing(
    (unique, check): (bool, bool),
    (fix_unique, fix_check): (usize, usize),
    fix: Fix,
    rows: &[(u8, Option<i8>)],
) {
    let dir = common::empty_project();
    let d = dir.path();
    std::fs::write(
        d.join("schemactl.toml"),
        "database = \"db.sqlite\"\nmigrations = \"migrations\"\nbackups = \"backups\"\n",
    )
    .unwrap();
    std::fs::write(
        d.join("migrations/V1__init.sql"),
        "CREATE TABLE t (id INTEGER PRIMARY KEY, email TEXT, n INTEGER);\nCREATE TABLE fix_log (x);\n",
    )
    .unwrap();
    ok_in(d, &["apply", "--yes"]);
    let db = d.join("db.sqlite");
    let conn = Connection::open(&db).unwrap();
    // Rows 1 and 2 share an email, row 2 has a negative n: each rule has a row to refuse.
    conn.execute_batch("INSERT INTO t VALUES (1, 'a', 1), (2, 'a', -1);")
        .unwrap();
    for (i, (email, n)) in rows.iter().enumerate() {
        conn.execute(
            "INSERT INTO t VALUES (?1, ?2, ?3)",
            rusqlite::params![i as i64 + 3, format!("{}", (b'a' + email % 4) as char), n],
        )
        .unwrap();
    }
    drop(conn);
    let mut fixes = Vec::new();
    let mut rules = Vec::new();
    if check {
        fixes.push(FIX_CHECK[fix_check]);
        rules.push(RULE_CHECK);
    }
    if unique {
        fixes.push(FIX_UNIQUE[fix_unique]);
        rules.push(RULE_UNIQUE);
    }
    let (fixes, rules) = (fixes.join("\n"), rules.join("\n"));
    let files: Vec<String> = match fix {
        Fix::SameFile => vec![format!("{fixes}\n{rules}\n")],
        Fix::EarlierFile => vec![format!("{fixes}\n"), format!("{rules}\n")],
        Fix::After => vec![format!("{rules}\n{fixes}\n")],
        Fix::None => vec![format!("{rules}\n")],
    };
    for (i, sql) in files.iter().enumerate() {
        std::fs::write(d.join(format!("migrations/V{}__step.sql", i + 2)), sql).unwrap();
    }
    // SQLite itself, on a copy: the rows the migrations leave, or its refusal.
    let copy = d.join("copy.sqlite");
    std::fs::copy(&db, &copy).unwrap();
    let oracle = Connection::open(&copy)
        .unwrap()
        .execute_batch(&files.concat());
    let before = t_rows(&db);
    let backups =
        || std::fs::read_dir(d.join("backups")).map_or(0, |r| r.filter_map(|e| e.ok()).count());
    let taken = backups();
    let apply = ["apply", "--yes", "--allow-destructive"];
    match fix {
        Fix::SameFile | Fix::EarlierFile => {
            oracle.expect("SQLite runs the migrations");
            ok_in(d, &["apply", "--dry-run", "--allow-destructive"]);
            ok_in(d, &apply);
            assert_eq!(t_rows(&db), t_rows(&copy), "the rows as SQLite leaves them");
        }
        Fix::After | Fix::None => {
            assert!(oracle.is_err(), "SQLite refuses the rule");
            for args in [
                &["apply", "--dry-run", "--allow-destructive"][..],
                &apply[..],
            ] {
                let err = fails_in(d, args, 1);
                assert!(err.contains("t: ") && err.contains("row(s)"), "{err}");
                assert!(err.contains("nothing was changed"), "{err}");
                assert!(!err.contains("rehearsal"), "before anything runs: {err}");
            }
            assert_eq!(backups(), taken, "no backup taken");
            assert_eq!(t_rows(&db), before, "nothing changed");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// A migration that fixes the rows before it brings in the rule (the textbook UPDATE then
    /// CREATE UNIQUE INDEX, a DELETE, a WITH prefix, a REPLACE, a trigger it fires; in the
    /// same file or an earlier pending one) applies, leaving the rows SQLite leaves (h11_13:
    /// the pre-check judged the rows before the fix and refused in every mode). One whose fix
    /// comes after its rule, or has none, is still refused before anything runs.
    #[test]
    fn a_migration_that_fixes_its_rows_first_applies(
        rules in (any::<bool>(), any::<bool>()).prop_filter("a rule", |(u, c)| *u || *c),
        forms in (0..FIX_UNIQUE.len(), 0..FIX_CHECK.len()),
        fix in prop_oneof![
            2 => Just(Fix::SameFile),
            2 => Just(Fix::EarlierFile),
            1 => Just(Fix::After),
            1 => Just(Fix::None),
        ],
        rows in proptest::collection::vec((any::<u8>(), proptest::option::of(-3i8..5)), 0..6),
    ) {
        run_fixing(rules, forms, fix, &rows);
    }
}
