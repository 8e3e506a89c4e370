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
