//! Triggers the exclude list leaves alone on a managed table are carried through a rebuild of
//! that table (dropped before it, created again after it). The history never created them, so
//! the recorded SQL must still replay from empty: otherwise what was added by hand can no
//! longer be told apart, and the next rollback would drop an index added by hand. A property
//! over random excluded triggers (names with quotes and spaces, one to three of them, on the
//! rebuilt table), random changes that force the rebuild, and an index added by hand after
//! the sync: `drift` replays the history and finds nothing, and the rollback keeps the index
//! and the triggers (24 cases).
//!
//! And: when the history cannot be replayed (a migration reads an unmanaged table), a
//! rollback that would drop an index the migrations it undoes did not create is refused
//! without `--allow-destructive`, naming it, with nothing changed.

mod common;

use std::path::Path;

use common::{fails_in, ok_in, schemactl};
use proptest::prelude::*;
use rusqlite::Connection;

#[derive(Debug, Clone)]
struct Case {
    /// The triggers' name suffixes (each named `trg_{suffix}`).
    triggers: Vec<String>,
    /// 0: a collation, 1: a CHECK, 2: a column's type.
    change: u8,
    rows: u8,
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::collection::btree_set("[a-z\" ']{1,5}", 1..4),
        0u8..3,
        0u8..4,
    )
        .prop_map(|(triggers, change, rows)| Case {
            triggers: triggers.into_iter().collect(),
            change,
            rows,
        })
}

fn q(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn yaml(version: u32, change: Option<u8>) -> String {
    let mut out = format!(
        "schemactl: 1\nversion: {version}\ntables:\n  t:\n    columns:\n      id: {{ type: INTEGER, primary_key: true }}\n"
    );
    out.push_str(match change {
        Some(0) => "      v: { type: TEXT, collate: NOCASE }\n",
        Some(2) => "      v: { type: BLOB }\n",
        _ => "      v: { type: TEXT }\n",
    });
    if change == Some(1) {
        out.push_str("    checks:\n      - id > 0\n");
    }
    out
}

fn objects(db: &Path) -> Vec<(String, String)> {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT type, name FROM sqlite_schema WHERE type IN ('index', 'trigger') AND name NOT LIKE 'sqlite%' ORDER BY type, name")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

fn run_case(c: &Case) {
    let dir = common::empty_project();
    let d = dir.path();
    let db = d.join("db.sqlite");
    std::fs::write(
        d.join("schemactl.toml"),
        "database = \"db.sqlite\"\nbackups = \"backups\"\nexclude = [\"audit\", \"trg_*\"]\n",
    )
    .unwrap();
    std::fs::write(d.join("schema/s.yaml"), yaml(1, None)).unwrap();
    ok_in(d, &["sync", "--yes"]);
    {
        let conn = Connection::open(&db).unwrap();
        conn.execute_batch("CREATE TABLE audit (x)").unwrap();
        for t in &c.triggers {
            conn.execute_batch(&format!(
                "CREATE TRIGGER {} AFTER INSERT ON t BEGIN INSERT INTO audit VALUES (new.id); END",
                q(&format!("trg_{t}"))
            ))
            .unwrap();
        }
        for i in 0..c.rows {
            conn.execute("INSERT INTO t (v) VALUES (?1)", [format!("r{i}")])
                .unwrap();
        }
    }
    std::fs::write(d.join("schema/s.yaml"), yaml(2, Some(c.change))).unwrap();
    let out = ok_in(d, &["sync", "--yes"]);
    assert!(out.contains("applied"), "{out}");
    // The history replays from empty: drift compares and finds nothing.
    let drift = schemactl(d, &["drift"]);
    assert_eq!(
        drift.status.code(),
        Some(0),
        "drift after the sync: {}{}",
        common::stdout(&drift),
        common::stderr(&drift)
    );
    Connection::open(&db)
        .unwrap()
        .execute_batch("CREATE INDEX ix_hand ON t (v)")
        .unwrap();
    let before = objects(&db);
    ok_in(d, &["rollback", "last", "--yes"]);
    assert_eq!(
        objects(&db),
        before,
        "the rollback keeps the index added by hand and the carried triggers"
    );
    // The triggers still fire.
    let conn = Connection::open(&db).unwrap();
    let audited = || -> i64 {
        conn.query_row("SELECT count(*) FROM audit", [], |r| r.get(0))
            .unwrap()
    };
    let was = audited();
    conn.execute("INSERT INTO t (v) VALUES ('new')", [])
        .unwrap();
    assert_eq!(
        audited() - was,
        c.triggers.len() as i64,
        "each trigger fires once"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn a_carried_trigger_keeps_the_history_replayable_and_the_hand_made_index(c in case()) {
        run_case(&c);
    }
}

/// The hostile tester's case: one excluded trigger, a collation change.
#[test]
fn an_excluded_trigger_on_a_rebuilt_table_keeps_ix_hand() {
    run_case(&Case {
        triggers: vec!["ins".into()],
        change: 0,
        rows: 2,
    });
}

/// A history that cannot be replayed from empty (V1 reads an unmanaged table): a rollback
/// whose reverse rebuilds the table would drop an index added by hand, and nothing tells it
/// from the migrations' own: refused, naming it, nothing changed; with --allow-destructive
/// it runs and says so. An index the rolled-back migration created itself is not named.
#[test]
fn an_unreplayable_history_gates_a_rollback_that_drops_an_index_added_by_hand() {
    let dir = common::empty_project();
    let d = dir.path();
    let db = d.join("db.sqlite");
    std::fs::write(
        d.join("schemactl.toml"),
        "database = \"db.sqlite\"\nbackups = \"backups\"\nexclude = [\"legacy\"]\n",
    )
    .unwrap();
    Connection::open(&db)
        .unwrap()
        .execute_batch("CREATE TABLE legacy (x); INSERT INTO legacy VALUES ('a'), ('b');")
        .unwrap();
    std::fs::write(
        d.join("migrations/V1__init.sql"),
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);\nINSERT INTO t (v) SELECT x FROM legacy;\n",
    )
    .unwrap();
    let rebuild = |collate: &str| {
        format!(
            "CREATE TABLE t_new (id INTEGER PRIMARY KEY, v TEXT{collate});\nINSERT INTO t_new (id, v) SELECT id, v FROM t;\nDROP TABLE t;\nALTER TABLE t_new RENAME TO t;\n"
        )
    };
    std::fs::write(
        d.join("migrations/V2__nocase.sql"),
        format!(
            "{}CREATE INDEX ix_own ON t (id, v);\n",
            rebuild(" COLLATE NOCASE")
        ),
    )
    .unwrap();
    std::fs::write(d.join("rollbacks/V2__nocase.sql"), rebuild("")).unwrap();
    ok_in(d, &["apply", "--yes", "--allow-destructive"]);
    Connection::open(&db)
        .unwrap()
        .execute_batch("CREATE INDEX ix_hand ON t (v)")
        .unwrap();
    let before = objects(&db);
    let err = fails_in(d, &["rollback", "last", "--yes"], 1);
    assert!(
        err.contains("cannot be replayed") && err.contains("ix_hand") && !err.contains("ix_own"),
        "{err}"
    );
    assert_eq!(objects(&db), before, "nothing changed");
    let out = schemactl(d, &["rollback", "last", "--yes", "--allow-destructive"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert!(
        common::stderr(&out).contains("ix_hand") || common::stdout(&out).contains("ix_hand"),
        "the rollback names what it drops: {}{}",
        common::stdout(&out),
        common::stderr(&out)
    );
}
