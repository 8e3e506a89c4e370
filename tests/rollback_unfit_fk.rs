//! A rollback over rows written since that break the rules it brings back, foreign keys
//! included: a property over random rules (a named CHECK and a NOT NULL dropped natively, a
//! named foreign key dropped natively or kept, an unnamed CHECK whose drop rebuilds the
//! table) and random rows breaking each of them. `rollback --dry-run` and the rollback agree
//! (both refuse, or both run), and a refusal names every rule with every row that breaks it,
//! before anything runs (no pre-rollback backup), nothing changed; once the rows are fixed the
//! rollback runs. An orphan of a foreign key kept in both versions is refused when the
//! rollback's `foreign_key_check` reads its table (a reverse that rebuilds it), and only then,
//! as the run itself would.

mod common;

use common::{fails_in, ok_in};
use proptest::prelude::*;
use rusqlite::Connection;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Fk {
    None,
    /// Named in V1, dropped natively by V2: the rollback brings it back (by a rebuild).
    Dropped,
    /// In both versions: the rollback checks it only when it rebuilds the table.
    Kept,
}

#[derive(Debug, Clone)]
struct Rules {
    not_null: bool,
    check: bool,
    unnamed_check: bool,
    fk: Fk,
}

/// One row written after V2: which rules it breaks.
#[derive(Debug, Clone, Copy)]
struct Row {
    null_a: bool,
    bad_b: bool,
    orphan: bool,
}

fn schema(version: u32, r: &Rules) -> String {
    let first = version == 1;
    let mut s = format!(
        "schemactl: 1\nversion: {version}\ntables:\n  par:\n    columns:\n      id: {{ type: INTEGER, primary_key: true }}\n  t:\n    columns:\n      id: {{ type: INTEGER, primary_key: true }}\n      a: {{ type: TEXT{} }}\n      b: {{ type: INTEGER }}\n      pid: {{ type: INTEGER }}\n",
        if first && r.not_null {
            ", not_null: true"
        } else {
            ""
        }
    );
    let mut checks = Vec::new();
    if first && r.check {
        checks.push("      - { name: ck_b, expr: \"b < 10\" }\n");
    }
    if first && r.unnamed_check {
        checks.push("      - \"id > 0\"\n");
    }
    if !checks.is_empty() {
        s.push_str("    checks:\n");
        s.push_str(&checks.concat());
    }
    match (r.fk, first) {
        (Fk::Dropped, true) => s.push_str(
            "    foreign_keys:\n      - { name: fk_par, columns: [pid], references: par(id) }\n",
        ),
        (Fk::Kept, _) => {
            s.push_str("    foreign_keys:\n      - { columns: [pid], references: par(id) }\n")
        }
        _ => {}
    }
    s
}

fn run_case(r: &Rules, rows: &[Row]) {
    let dir = common::empty_project();
    let d = dir.path();
    std::fs::write(d.join("schema/s.yaml"), schema(1, r)).unwrap();
    ok_in(d, &["plan", "--write", "init"]);
    std::fs::write(d.join("schema/s.yaml"), schema(2, r)).unwrap();
    let changes = r.not_null || r.check || r.unnamed_check || r.fk == Fk::Dropped;
    if !changes {
        return;
    }
    ok_in(d, &["plan", "--write", "relax"]);
    ok_in(d, &["apply", "--yes"]);
    let reverse = std::fs::read_to_string(d.join("rollbacks/V2__relax.sql")).unwrap();
    // The reverse rebuilds t: its foreign_key_check reads t, every foreign key of it.
    let fk_checked = reverse.contains("foreign-keys off");
    let db = d.join("db.sqlite");
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch("PRAGMA foreign_keys = OFF; INSERT INTO par VALUES (1);")
        .unwrap();
    let (mut nulls, mut bads, mut orphans) = (Vec::new(), Vec::new(), Vec::new());
    for (i, row) in rows.iter().enumerate() {
        let id = i + 1;
        let null_a = row.null_a && r.not_null;
        let bad_b = row.bad_b && r.check;
        let orphan = row.orphan && r.fk != Fk::None;
        let a = if null_a {
            "NULL".into()
        } else {
            format!("'a{id}'")
        };
        let b = if bad_b { 50 + id } else { id % 3 };
        let pid = if orphan {
            (100 + id).to_string()
        } else if id % 2 == 0 {
            "1".into()
        } else {
            "NULL".into()
        };
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
    if !nulls.is_empty() {
        lines.push(format!(
            "t: {} row(s): NOT NULL on a (e.g. {})",
            nulls.len(),
            nulls.join("; ")
        ));
    }
    if !bads.is_empty() {
        lines.push(format!(
            "t: {} row(s): CHECK (b < 10) (e.g. {})",
            bads.len(),
            bads.join("; ")
        ));
    }
    let orphans_refused = r.fk == Fk::Dropped || (r.fk == Fk::Kept && fk_checked);
    if !orphans.is_empty() && orphans_refused {
        lines.push(format!(
            "t: {} row(s): FOREIGN KEY (pid) REFERENCES par: orphan rows (e.g. {})",
            orphans.len(),
            orphans.join("; ")
        ));
    }
    let dump = |db: &std::path::Path| -> Vec<(i64, Option<String>, i64, Option<i64>)> {
        let conn = Connection::open(db).unwrap();
        let mut stmt = conn
            .prepare("SELECT id, a, b, pid FROM t ORDER BY id")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    };
    let before = dump(&db);
    if lines.is_empty() {
        ok_in(d, &["rollback", "last", "--dry-run"]);
        ok_in(d, &["rollback", "last", "--yes"]);
        assert_eq!(dump(&db), before, "the rollback keeps every row");
        return;
    }
    for args in [
        &["rollback", "last", "--dry-run"][..],
        &["rollback", "last", "--yes"][..],
    ] {
        let err = fails_in(d, args, 1);
        for line in &lines {
            assert!(err.contains(line), "{args:?}: want {line}\n{err}");
        }
        assert!(err.contains("nothing was changed"), "{err}");
        assert!(
            !err.contains("rehearsal"),
            "{args:?}: refused before anything runs\n{err}"
        );
    }
    let backups = std::fs::read_dir(d.join("backups"))
        .map(|r| {
            r.filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().contains("pre-rollback"))
                .count()
        })
        .unwrap_or(0);
    assert_eq!(backups, 0, "refused before the backup");
    assert_eq!(dump(&db), before, "nothing changed");
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch(
        "UPDATE t SET a = 'fixed' WHERE a IS NULL; UPDATE t SET b = 0 WHERE b >= 10; UPDATE t SET pid = 1 WHERE pid > 1;",
    )
    .unwrap();
    drop(conn);
    ok_in(d, &["rollback", "last", "--dry-run"]);
    ok_in(d, &["rollback", "last", "--yes"]);
}

fn rules() -> impl Strategy<Value = Rules> {
    (
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        prop_oneof![Just(Fk::None), Just(Fk::Dropped), Just(Fk::Kept)],
    )
        .prop_map(|(not_null, check, unnamed_check, fk)| Rules {
            not_null,
            check,
            unnamed_check,
            fk,
        })
}

fn row() -> impl Strategy<Value = Row> {
    (any::<bool>(), any::<bool>(), any::<bool>()).prop_map(|(null_a, bad_b, orphan)| Row {
        null_a,
        bad_b,
        orphan,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    #[test]
    fn dry_run_and_rollback_agree_naming_every_row_that_breaks_a_rule_coming_back(
        r in rules(),
        rows in prop::collection::vec(row(), 0..6),
    ) {
        run_case(&r, &rows);
    }
}

/// H9's h9_03: an orphan alone, after a native drop of a named foreign key.
#[test]
fn an_orphan_of_a_foreign_key_coming_back_is_refused_by_the_dry_run_too() {
    let r = Rules {
        not_null: false,
        check: false,
        unnamed_check: false,
        fk: Fk::Dropped,
    };
    let orphan = Row {
        null_a: false,
        bad_b: false,
        orphan: true,
    };
    run_case(&r, &[orphan]);
}
