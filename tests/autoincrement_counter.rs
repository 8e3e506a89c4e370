//! The AUTOINCREMENT counter is state SQLite keeps outside the table's rows
//! (`sqlite_sequence`): a rebuild that turns AUTOINCREMENT off drops it with the old table,
//! and the reverse that turns it on again would start from the largest rowid, issuing again
//! ids the counter had already issued (rows deleted at the top of the range). The step keeps
//! it in its stash, and the rollback puts it back. A property over random counters above
//! the largest id, random sequences of AUTOINCREMENT on and off (with renames of the table
//! and a column added or dropped in the same migration, and rows inserted between the
//! migrations), rolled back to the start: the counter is exactly what it was, or the largest
//! id inserted since if that is higher, and the next insert gets the id after it (32 cases).

mod common;

use std::path::Path;

use common::ok_in;
use proptest::prelude::*;
use rusqlite::Connection;

/// One schema version: AUTOINCREMENT on or off, the table's name (`t` or `t2`), whether it
/// has the column `w`, and how many rows are inserted once it is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct State {
    autoincrement: bool,
    renamed: bool,
    w: bool,
    inserts: u8,
}

#[derive(Debug, Clone)]
struct Case {
    rows: u8,
    /// The counter is set to the largest id plus this.
    above: u16,
    states: Vec<State>,
}

fn state() -> impl Strategy<Value = State> {
    (any::<bool>(), any::<bool>(), any::<bool>(), 0u8..3).prop_map(
        |(autoincrement, renamed, w, inserts)| State {
            autoincrement,
            renamed,
            w,
            inserts,
        },
    )
}

fn case() -> impl Strategy<Value = Case> {
    (0u8..4, 0u16..300, prop::collection::vec(state(), 1..4)).prop_map(|(rows, above, states)| {
        Case {
            rows,
            above,
            states,
        }
    })
}

fn name(renamed: bool) -> &'static str {
    if renamed { "t2" } else { "t" }
}

fn yaml(version: usize, s: &State, before: Option<&State>) -> String {
    let mut out = format!(
        "schemactl: 1\nversion: {version}\ntables:\n  {}:\n",
        name(s.renamed)
    );
    if let Some(b) = before.filter(|b| b.renamed != s.renamed) {
        out.push_str(&format!("    renamed_from: {}\n", name(b.renamed)));
    }
    out.push_str(&format!(
        "    columns:\n      id: {{ type: INTEGER, primary_key: true{} }}\n      v: {{ type: TEXT }}\n",
        if s.autoincrement {
            ", autoincrement: true"
        } else {
            ""
        }
    ));
    if s.w {
        out.push_str("      w: { type: TEXT }\n");
    }
    out
}

fn counter(db: &Path, table: &str) -> Option<i64> {
    let conn = Connection::open(db).unwrap();
    conn.query_row(
        "SELECT seq FROM sqlite_sequence WHERE name = ?1",
        [table],
        |r| r.get(0),
    )
    .ok()
}

fn max_id(db: &Path, table: &str) -> i64 {
    let conn = Connection::open(db).unwrap();
    conn.query_row(
        &format!("SELECT coalesce(max(id), 0) FROM \"{table}\""),
        [],
        |r| r.get(0),
    )
    .unwrap()
}

fn insert(db: &Path, table: &str, n: u8) {
    let conn = Connection::open(db).unwrap();
    for i in 0..n {
        conn.execute(
            &format!("INSERT INTO \"{table}\" (v) VALUES (?1)"),
            [format!("r{i}")],
        )
        .unwrap();
    }
}

fn applied(db: &Path) -> i64 {
    let conn = Connection::open(db).unwrap();
    conn.query_row("SELECT count(*) FROM _schemactl_history", [], |r| r.get(0))
        .unwrap()
}

fn run_case(c: &Case) {
    let dir = common::empty_project();
    let d = dir.path();
    let db = d.join("db.sqlite");
    let first = State {
        autoincrement: true,
        renamed: false,
        w: false,
        inserts: 0,
    };
    std::fs::write(d.join("schema/s.yaml"), yaml(1, &first, None)).unwrap();
    ok_in(d, &["sync", "--yes"]);
    insert(&db, "t", c.rows);
    let seq = i64::from(c.rows) + i64::from(c.above);
    {
        let conn = Connection::open(&db).unwrap();
        conn.execute_batch(&format!(
            "DELETE FROM sqlite_sequence WHERE name = 't'; INSERT INTO sqlite_sequence (name, seq) VALUES ('t', {seq})"
        ))
        .unwrap();
    }
    let mut before = first;
    for (i, s) in c.states.iter().enumerate() {
        std::fs::write(d.join("schema/s.yaml"), yaml(i + 2, s, Some(&before))).unwrap();
        ok_in(d, &["sync", "--yes", "--allow-destructive"]);
        insert(&db, name(s.renamed), s.inserts);
        before = *s;
    }
    // Back to the first migration, one at a time.
    while applied(&db) > 1 {
        ok_in(d, &["rollback", "last", "--yes", "--allow-destructive"]);
    }
    let top = max_id(&db, "t");
    assert_eq!(
        counter(&db, "t"),
        Some(seq.max(top)),
        "the counter after the rollbacks (was {seq}, largest id {top})"
    );
    insert(&db, "t", 1);
    assert_eq!(
        max_id(&db, "t"),
        seq.max(top) + 1,
        "the next id follows the counter"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn a_rollback_gives_back_the_autoincrement_counter_a_rebuild_dropped(c in case()) {
        run_case(&c);
    }
}

/// The hostile tester's case: two rows, the counter at 100, AUTOINCREMENT turned off by a
/// sync and rolled back: the counter is 100 again, and the next row gets id 101.
#[test]
fn turning_autoincrement_off_and_back_keeps_the_counter() {
    run_case(&Case {
        rows: 2,
        above: 98,
        states: vec![State {
            autoincrement: false,
            renamed: false,
            w: false,
            inserts: 0,
        }],
    });
}
