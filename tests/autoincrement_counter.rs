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

/// One migration of [`Cycle`]: AUTOINCREMENT on or off, the table's name, and, once it is
/// applied, how many rows the application inserts, and whether it deletes them again (the
/// counter then stays above the largest id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Turn {
    autoincrement: bool,
    renamed: bool,
    inserts: u8,
    delete: bool,
}

#[derive(Debug, Clone)]
struct Cycle {
    turns: Vec<Turn>,
    /// True: `rollback --to 1`; false: `rollback last` until one migration is left.
    at_once: bool,
}

fn cycle() -> impl Strategy<Value = Cycle> {
    let turn = (any::<bool>(), any::<bool>(), 0u8..6, any::<bool>()).prop_map(
        |(autoincrement, renamed, inserts, delete)| Turn {
            autoincrement,
            renamed,
            inserts,
            delete,
        },
    );
    (prop::collection::vec(turn, 1..5), any::<bool>())
        .prop_map(|(turns, at_once)| Cycle { turns, at_once })
}

/// Inserts `n` rows into `table` and, with `delete`, deletes them again.
fn issue(db: &Path, table: &str, n: u8, delete: bool) {
    insert(db, table, n);
    if delete {
        let conn = Connection::open(db).unwrap();
        conn.execute(&format!("DELETE FROM \"{table}\" WHERE v <> 'keep'"), [])
            .unwrap();
    }
}

/// Applies the cycle's migrations after a first one (AUTOINCREMENT on, counter 10, one row
/// kept), issuing ids under each; rolls them back (one by one, or at once). After a rollback
/// to a version that has AUTOINCREMENT on, the counter is at least every value it had since
/// that version was applied (under it, and under every later version rolled back), and the
/// next insert gets an id above them all. (A migration that turns AUTOINCREMENT on again
/// starts the counter from the largest rowid, as SQLite does: the values before it are the
/// rollback's to keep, not its own.)
fn run_cycle(c: &Cycle) {
    let dir = common::empty_project();
    let d = dir.path();
    let db = d.join("db.sqlite");
    let first = Turn {
        autoincrement: true,
        renamed: false,
        inserts: 0,
        delete: false,
    };
    let state = |t: &Turn| State {
        autoincrement: t.autoincrement,
        renamed: t.renamed,
        w: false,
        inserts: 0,
    };
    std::fs::write(d.join("schema/s.yaml"), yaml(1, &state(&first), None)).unwrap();
    ok_in(d, &["sync", "--yes"]);
    {
        let conn = Connection::open(&db).unwrap();
        conn.execute_batch(
            "INSERT INTO t (id, v) VALUES (10, 'x'); DELETE FROM t; INSERT INTO t (id, v) VALUES (1, 'keep')",
        )
        .unwrap();
    }
    // Each applied version, and the largest value the counter had while it was the last.
    let mut turns = vec![(first, counter(&db, "t").unwrap_or(0))];
    assert_eq!(turns[0].1, 10);
    let mut before = first;
    for (i, t) in c.turns.iter().enumerate() {
        std::fs::write(
            d.join("schema/s.yaml"),
            yaml(i + 2, &state(t), Some(&state(&before))),
        )
        .unwrap();
        ok_in(d, &["sync", "--yes", "--allow-destructive"]);
        before = *t;
        // A schema the database already has writes no migration.
        if applied(&db) > turns.len() as i64 {
            turns.push((*t, 0));
        }
        let table = name(t.renamed);
        issue(&db, table, t.inserts, t.delete);
        if t.autoincrement {
            let last = turns.len() - 1;
            turns[last].1 = turns[last].1.max(counter(&db, table).unwrap_or(0));
        }
    }
    // The values since the version rolled back to; `to` is how many versions stay.
    let check = |turns: &mut Vec<(Turn, i64)>, to: usize| {
        let since = turns[to - 1..]
            .iter()
            .map(|(_, seen)| *seen)
            .max()
            .unwrap_or(0);
        turns.truncate(to);
        let (last, seen) = &mut turns[to - 1];
        if !last.autoincrement {
            return;
        }
        let now = counter(&db, name(last.renamed)).unwrap_or(0);
        assert!(
            now >= since,
            "after rolling back to V{to}: counter {now}, below {since}, a value it had since"
        );
        *seen = now;
    };
    if c.at_once && turns.len() > 1 {
        ok_in(
            d,
            &["rollback", "--to", "1", "--yes", "--allow-destructive"],
        );
        check(&mut turns, 1);
    } else {
        while turns.len() > 1 {
            ok_in(d, &["rollback", "last", "--yes", "--allow-destructive"]);
            let to = turns.len() - 1;
            check(&mut turns, to);
        }
    }
    assert_eq!(applied(&db), 1);
    let highest = turns[0].1;
    insert(&db, "t", 1);
    assert!(
        max_id(&db, "t") > highest,
        "the next id {} is above every id the counter issued ({highest})",
        max_id(&db, "t")
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn rolling_back_autoincrement_on_and_off_never_lowers_the_counter(c in cycle()) {
        run_cycle(&c);
    }
}

/// The hostile tester's case: on (counter 10), off, on again with ids 2..16 issued and
/// deleted; rolled back at once, and one by one: the counter is 16, the next id 17.
#[test]
fn on_off_on_rolled_back_keeps_the_counter_raised_in_between() {
    for at_once in [true, false] {
        let off = |autoincrement| Turn {
            autoincrement,
            renamed: false,
            inserts: 0,
            delete: false,
        };
        run_cycle(&Cycle {
            turns: vec![
                off(false),
                Turn {
                    inserts: 15,
                    delete: true,
                    ..off(true)
                },
            ],
            at_once,
        });
    }
}

/// The same through a table dropped and created again: V1 has `u` (AUTOINCREMENT, counter
/// 10), V2 drops it (its stash keeps the counter), V3 creates it again and issues ids up to
/// 18, deleted. Rolled back to V1, `u` comes back with its row and the counter at 18: the
/// reverse that drops the new `u` keeps its counter, though the table holds no row.
#[test]
fn a_table_dropped_and_created_again_rolled_back_keeps_the_counter_of_both() {
    let dir = common::empty_project();
    let d = dir.path();
    let db = d.join("db.sqlite");
    let schema = |version: usize, u: bool| {
        let mut s = format!(
            "schemactl: 1\nversion: {version}\ntables:\n  k:\n    columns:\n      id: {{ type: INTEGER, primary_key: true }}\n"
        );
        if u {
            s.push_str("  u:\n    columns:\n      id: { type: INTEGER, primary_key: true, autoincrement: true }\n      v: { type: TEXT }\n");
        }
        std::fs::write(d.join("schema/s.yaml"), s).unwrap();
    };
    schema(1, true);
    ok_in(d, &["sync", "--yes"]);
    Connection::open(&db)
        .unwrap()
        .execute_batch("INSERT INTO u (id, v) VALUES (10, 'x'); DELETE FROM u; INSERT INTO u (id, v) VALUES (1, 'keep')")
        .unwrap();
    schema(2, false);
    ok_in(d, &["sync", "--yes", "--allow-destructive"]);
    schema(3, true);
    ok_in(d, &["sync", "--yes"]);
    insert(&db, "u", 18);
    Connection::open(&db)
        .unwrap()
        .execute_batch("DELETE FROM u")
        .unwrap();
    assert_eq!(counter(&db, "u"), Some(18));
    ok_in(
        d,
        &["rollback", "--to", "1", "--yes", "--allow-destructive"],
    );
    assert_eq!(counter(&db, "u"), Some(18), "the counter V3 raised");
    insert(&db, "u", 1);
    assert_eq!(max_id(&db, "u"), 19);
}

/// A rollback stash that keeps a counter (on, counter 10; off; on again with ids up to 20
/// issued; V3 rolled back, which keeps 20 in `_schemactl_stash_3_r1_seq`), dropped: the drop
/// names the counter it kept and does not call rolling back V3 (not applied) lossy; the later
/// rollback of V2, which brings the counter back without it (lower: ids issued again), is
/// refused unless --lossy, naming the table and the value it comes back at, and with --lossy
/// warns, naming the table.
#[test]
fn dropping_a_rollback_stash_that_kept_a_counter_says_so_and_the_rollback_warns() {
    let dir = common::empty_project();
    let d = dir.path();
    let db = d.join("db.sqlite");
    let write = |version: usize, on: bool| {
        let s = State {
            autoincrement: on,
            renamed: false,
            w: false,
            inserts: 0,
        };
        std::fs::write(d.join("schema/s.yaml"), yaml(version, &s, None)).unwrap();
    };
    write(1, true);
    ok_in(d, &["sync", "--yes"]);
    Connection::open(&db)
        .unwrap()
        .execute_batch("INSERT INTO t (id, v) VALUES (10, 'x'); DELETE FROM t; INSERT INTO t (id, v) VALUES (1, 'keep')")
        .unwrap();
    write(2, false);
    ok_in(d, &["sync", "--yes"]);
    write(3, true);
    ok_in(d, &["sync", "--yes"]);
    Connection::open(&db)
        .unwrap()
        .execute_batch("INSERT INTO t (id, v) VALUES (20, 'y'); DELETE FROM t WHERE id = 20")
        .unwrap();
    ok_in(d, &["rollback", "last", "--yes"]);
    let dropped = ok_in(d, &["stash", "drop", "3", "--yes"]);
    assert!(
        dropped.contains("the AUTOINCREMENT counter of table \"t\" at 20"),
        "{dropped}"
    );
    assert!(
        !dropped.contains("rolling back V3 is now lossy"),
        "{dropped}"
    );
    // The counter would come back at 10 (V2's stash; the largest id is 1), below the 20 V3's
    // rollback kept: gated, named with the value, before anything changes.
    let before = std::fs::read(&db).unwrap();
    let refused = common::fails_in(d, &["rollback", "last", "--yes"], 1);
    assert!(
        refused.contains("the AUTOINCREMENT counter of table \"t\" at 10")
            && refused.contains("the stash of V3, which kept that counter at 20, was dropped")
            && refused.contains("--lossy"),
        "{refused}"
    );
    assert_eq!(applied(&db), 2);
    assert_eq!(std::fs::read(&db).unwrap(), before, "nothing was changed");
    let out = common::schemactl(d, &["rollback", "last", "--yes", "--lossy"]);
    let rolled = format!("{}{}", common::stdout(&out), common::stderr(&out));
    assert!(out.status.success(), "{rolled}");
    assert!(
        rolled.contains("warning: --lossy: the stash of V3 was dropped")
            && rolled.contains("table \"t\" may issue ids again"),
        "{rolled}"
    );
    assert_eq!(applied(&db), 1);
}

/// The same, but no id was issued under V3 (its counter started from the rows, at 1): the
/// dropped stash kept 1, the counter comes back at 10 (V2's stash), nothing is lost: no gate,
/// no warning.
#[test]
fn a_dropped_counter_that_comes_back_as_high_is_not_gated() {
    let dir = common::empty_project();
    let d = dir.path();
    let db = d.join("db.sqlite");
    let write = |version: usize, on: bool| {
        let s = State {
            autoincrement: on,
            renamed: false,
            w: false,
            inserts: 0,
        };
        std::fs::write(d.join("schema/s.yaml"), yaml(version, &s, None)).unwrap();
    };
    write(1, true);
    ok_in(d, &["sync", "--yes"]);
    Connection::open(&db)
        .unwrap()
        .execute_batch("INSERT INTO t (id, v) VALUES (10, 'x'); DELETE FROM t; INSERT INTO t (id, v) VALUES (1, 'keep')")
        .unwrap();
    write(2, false);
    ok_in(d, &["sync", "--yes"]);
    write(3, true);
    ok_in(d, &["sync", "--yes"]);
    ok_in(d, &["rollback", "last", "--yes"]);
    let dropped = ok_in(d, &["stash", "drop", "3", "--yes"]);
    assert!(
        dropped.contains("the AUTOINCREMENT counter of table \"t\" at 1;"),
        "{dropped}"
    );
    let out = common::schemactl(d, &["rollback", "last", "--yes"]);
    let rolled = format!("{}{}", common::stdout(&out), common::stderr(&out));
    assert!(out.status.success(), "{rolled}");
    assert!(!rolled.contains("may issue ids again"), "{rolled}");
    assert_eq!(counter(&db, "t"), Some(10));
}

/// h16_04: on, off, on, off, on (ids up to 30 under V5); V5 rolled back, its rollback stash
/// dropped. `stash list` says what that drop means as `stash drop` does (V5 is not applied:
/// never "its rollback is lossy"), and the rollback to V1 with --lossy, where two steps (V4's
/// and V2's reverses) bring the counter back, warns of the table once.
#[test]
fn a_dropped_rollback_stash_is_listed_as_what_it_is_and_warned_of_once_per_table() {
    let dir = common::empty_project();
    let d = dir.path();
    let db = d.join("db.sqlite");
    let write = |version: usize, on: bool| {
        let s = State {
            autoincrement: on,
            renamed: false,
            w: false,
            inserts: 0,
        };
        std::fs::write(d.join("schema/s.yaml"), yaml(version, &s, None)).unwrap();
    };
    let issued = |id: i64| {
        Connection::open(&db)
            .unwrap()
            .execute_batch(&format!(
                "INSERT INTO t (id, v) VALUES ({id}, 'y'); DELETE FROM t WHERE id = {id}"
            ))
            .unwrap();
    };
    write(1, true);
    ok_in(d, &["sync", "--yes"]);
    Connection::open(&db)
        .unwrap()
        .execute_batch("INSERT INTO t (id, v) VALUES (1, 'keep')")
        .unwrap();
    issued(10);
    for (version, on, id) in [
        (2, false, None),
        (3, true, Some(20)),
        (4, false, None),
        (5, true, Some(30)),
    ] {
        write(version, on);
        ok_in(d, &["sync", "--yes"]);
        if let Some(id) = id {
            issued(id);
        }
    }
    ok_in(d, &["rollback", "last", "--yes"]);
    ok_in(d, &["stash", "drop", "5", "--yes"]);
    let listed = ok_in(d, &["stash", "list"]);
    let v5 = listed
        .lines()
        .find(|l| l.starts_with("V5:"))
        .unwrap_or_else(|| panic!("{listed}"));
    assert!(
        v5.contains("(dropped: a re-apply of V5 no longer restores what its rollback kept"),
        "{listed}"
    );
    assert!(!listed.contains("lossy"), "{listed}");
    // The counter comes back below the 30 V5's rollback kept: gated (--lossy), and warned
    // of once for table "t", though V4's and V2's reverses both bring it back.
    let out = common::schemactl(d, &["rollback", "--to", "1", "--yes", "--lossy"]);
    let rolled = format!("{}{}", common::stdout(&out), common::stderr(&out));
    assert!(out.status.success(), "{rolled}");
    let warnings: Vec<&str> = rolled
        .lines()
        .filter(|l| l.contains("the stash of V5 was dropped"))
        .collect();
    assert_eq!(warnings.len(), 1, "{rolled}");
    assert_eq!(warnings[0].matches("table \"t\"").count(), 1, "{rolled}");
}
