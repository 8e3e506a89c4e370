//! Rows copied out into tables that existed before the migrations (or that hold rows of their
//! own), over any number of hops, then back into a table made anew under the dropped one's
//! name: the proof follows them through tables that hold only the copied rows and compares
//! the values, and refuses ("cannot tell them apart") when a table on the way holds rows of
//! its own beside them. It never proves a rewritten value, never calls the table only dropped.

use proptest::prelude::*;
use rusqlite::Connection;

use super::Proof;

/// Runs `sql` between the proof's two halves, in a transaction rolled back at the end; the
/// values of `a.v` after it (None when the proof refused before it ran).
fn prove(conn: &Connection, sql: &str) -> (Result<String, String>, Option<Vec<String>>) {
    conn.execute_batch("BEGIN").unwrap();
    let mut values = None;
    let result = (|| {
        let proof = Proof::prepare(conn, &[sql]).map_err(|e| e.to_string())?;
        conn.execute_batch(sql)
            .unwrap_or_else(|e| panic!("the test's SQL runs: {e}\n{sql}"));
        values = Some(
            conn.prepare("SELECT v FROM main.a ORDER BY id")
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .collect::<rusqlite::Result<Vec<String>>>()
                .unwrap(),
        );
        proof.verify(conn).map_err(|e| e.to_string())
    })();
    conn.execute_batch("ROLLBACK").unwrap();
    (result, values)
}

/// Where a hop's table comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// In the database before the migrations.
    Existing,
    /// Created by the migration, in main.
    Created,
    /// Created by the migration, TEMP.
    Temp,
}

/// One hop: the table the rows go through.
#[derive(Debug, Clone)]
struct Hop {
    kind: Kind,
    /// It holds two rows of its own before the copy ([`own`]).
    own_rows: bool,
    /// A `DELETE FROM` it without `WHERE` before the copy.
    emptied: bool,
    /// 0 `INSERT`, 1 `INSERT OR REPLACE`, 2 `REPLACE`.
    verb: usize,
    /// An `UPDATE` of it after the copy that changes nothing.
    noop_update: bool,
}

fn hop() -> impl Strategy<Value = Hop> {
    (
        prop_oneof![Just(Kind::Existing), Just(Kind::Created), Just(Kind::Temp)],
        any::<bool>(),
        any::<bool>(),
        0usize..3,
        any::<bool>(),
    )
        .prop_map(|(kind, own_rows, emptied, verb, noop_update)| Hop {
            kind,
            own_rows,
            emptied,
            verb,
            noop_update,
        })
}

const SHAPE: &str = "(id INTEGER, v TEXT, w INTEGER)";

/// Two rows of the hop `i`'s own, with ids no other table has.
fn own(i: usize) -> String {
    format!(
        "INSERT INTO o{i} VALUES ({}, 'own', 0), ({}, 'own', 0); ",
        100 + 10 * i,
        101 + 10 * i
    )
}

/// The database before: `a` with three rows, `b`, and each existing hop's table.
fn db(hops: &[Hop]) -> Connection {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(
        "CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT, w INTEGER);
         INSERT INTO a VALUES (1, 'a1', 1), (2, 'a2', 2), (3, 'a3', 3);
         CREATE TABLE b (id INTEGER PRIMARY KEY, v TEXT);",
    )
    .unwrap();
    for (i, h) in hops.iter().enumerate() {
        if h.kind == Kind::Existing {
            conn.execute_batch(&format!("CREATE TABLE o{i} {SHAPE};"))
                .unwrap();
            if h.own_rows {
                conn.execute_batch(&own(i)).unwrap();
            }
        }
    }
    conn
}

/// The migration: each hop copied from the one before (the first from `a`), `a` dropped and
/// made anew, filled back from the last. `rewrite`: 0 none, 1 at the copy back, 2 by an
/// `UPDATE` of the hop `at`, 3 in the copy into the hop `at`. `filter` keeps the copy back to
/// the ids `a` had. `rename`: instead of a new `a`, the last hop's table is renamed into
/// its place (when it is not TEMP).
fn migration(hops: &[Hop], rewrite: usize, at: usize, filter: bool, rename: bool) -> String {
    let mut sql = String::new();
    let mut prev = "a".to_string();
    for (i, h) in hops.iter().enumerate() {
        let o = format!("o{i}");
        match h.kind {
            Kind::Existing => {}
            Kind::Created => sql.push_str(&format!("CREATE TABLE {o} {SHAPE}; ")),
            Kind::Temp => sql.push_str(&format!("CREATE TEMP TABLE {o} {SHAPE}; ")),
        }
        if h.kind != Kind::Existing && h.own_rows {
            sql.push_str(&own(i));
        }
        if h.emptied {
            sql.push_str(&format!("DELETE FROM {o}; "));
        }
        let verb = ["INSERT INTO", "INSERT OR REPLACE INTO", "REPLACE INTO"][h.verb];
        let v = if rewrite == 3 && at == i {
            "upper(v)"
        } else {
            "v"
        };
        sql.push_str(&format!("{verb} {o} SELECT id, {v}, w FROM {prev}; "));
        if h.noop_update {
            sql.push_str(&format!("UPDATE {o} SET w = w; "));
        }
        if rewrite == 2 && at == i {
            sql.push_str(&format!("UPDATE {o} SET v = upper(v) WHERE id < 100; "));
        }
        prev = o;
    }
    if rename {
        if rewrite == 1 {
            sql.push_str(&format!("UPDATE {prev} SET v = upper(v) WHERE id < 100; "));
        }
        sql.push_str(&format!("DROP TABLE a; ALTER TABLE {prev} RENAME TO a;"));
        return sql;
    }
    let v = if rewrite == 1 { "upper(v)" } else { "v" };
    let filter = if filter { " WHERE id < 100" } else { "" };
    sql.push_str(&format!(
        "DROP TABLE a; CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT, w INTEGER); \
         INSERT INTO a SELECT id, {v}, w FROM {prev}{filter};"
    ));
    sql
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// Never proven with a rewritten value; refused as mixed when a hop held rows of its own
    /// at the copy; refused when a table that existed before is renamed into the place; a
    /// faithful copy through clean hops is proven.
    #[test]
    fn copies_through_tables_that_existed_before_are_followed_or_refused(
        hops in prop::collection::vec(hop(), 1..4),
        rewrite in 0usize..4,
        at in 0usize..3,
        filter in any::<bool>(),
        rename in any::<bool>(),
    ) {
        let at = at % hops.len();
        let last = hops[hops.len() - 1].kind;
        let rename = rename && last != Kind::Temp;
        let sql = migration(&hops, rewrite, at, filter, rename);
        let held = hops.iter().any(|h| h.own_rows && !h.emptied);
        // The SQL really does what the case says (checked without the proof).
        let conn = db(&hops);
        conn.execute_batch("BEGIN").unwrap();
        conn.execute_batch(&sql).unwrap();
        let after: Vec<String> = conn
            .prepare("SELECT v FROM main.a WHERE id < 100 ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        conn.execute_batch("ROLLBACK").unwrap();
        prop_assert_eq!(after != ["a1", "a2", "a3"], rewrite != 0, "{}", sql);

        let (result, values) = prove(&db(&hops), &sql);
        if let Ok(line) = &result {
            // Never exit 0 with a value rewritten.
            prop_assert_eq!(values.as_deref(), Some(&["a1", "a2", "a3"].map(String::from)[..]), "{}\n{}", sql, line);
        }
        if rename {
            // Followed only into a table the migration creates, holding only the copied rows.
            let ok = last == Kind::Created && !held && rewrite == 0;
            prop_assert_eq!(result.is_ok(), ok, "{}\n{:?}", sql, result);
            if let Err(e) = &result {
                prop_assert!(e.starts_with("row proof: table \"a\""), "{}\n{}", sql, e);
            }
            if last == Kind::Existing {
                prop_assert!(result.as_ref().is_err_and(|e| e.contains("cannot follow")), "{}\n{:?}", sql, result);
            }
        } else if held {
            let err = result.as_ref().err();
            prop_assert!(
                err.is_some_and(|e| e.starts_with("row proof: table \"a\"") && e.contains("cannot tell them apart")),
                "{}\n{:?}", sql, result
            );
        } else if rewrite != 0 {
            let err = result.as_ref().err();
            prop_assert!(err.is_some_and(|e| e.starts_with("row proof: table \"a\"")), "{}\n{:?}", sql, result);
        } else {
            let line = result.as_ref().map_err(|e| format!("{sql}\n{e}"));
            prop_assert!(
                line.is_ok_and(|l| l.starts_with("rows: proven row by row (1 table(s), 3 row(s))")),
                "{}\n{:?}", sql, result
            );
        }
    }
}

/// The forms the brief names, one by one: an existing table empty, emptied first, or holding
/// rows of its own; the last refused even for a faithful copy.
#[test]
fn the_forms_of_a_copy_through_an_existing_table() {
    let clean = Hop {
        kind: Kind::Existing,
        own_rows: false,
        emptied: false,
        verb: 0,
        noop_update: false,
    };
    let held = Hop {
        own_rows: true,
        ..clean.clone()
    };
    let emptied = Hop {
        emptied: true,
        ..held.clone()
    };
    for (hops, rewrite, ok) in [
        (vec![clean.clone()], 0, true),
        (vec![clean.clone()], 1, false),
        (vec![emptied.clone()], 0, true),
        (vec![emptied.clone()], 2, false),
        (vec![held.clone()], 0, false),
        (vec![clean.clone(), clean.clone()], 3, false),
        (vec![clean, emptied], 0, true),
    ] {
        let sql = migration(&hops, rewrite, 0, true, false);
        let (result, _) = prove(&db(&hops), &sql);
        assert_eq!(result.is_ok(), ok, "{sql}\n{result:?}");
        if let Err(e) = result {
            assert!(e.starts_with("row proof: table \"a\""), "{sql}\n{e}");
        }
    }
}

/// A table that existed before, filled from the dropped one and renamed into its name, is
/// refused whatever it holds: the proof does not follow rows into a table that existed before.
#[test]
fn an_existing_table_renamed_into_the_dropped_ones_place_is_refused() {
    let clean = Hop {
        kind: Kind::Existing,
        own_rows: false,
        emptied: false,
        verb: 0,
        noop_update: false,
    };
    for (own_rows, v) in [(false, "upper(v)"), (true, "upper(v)"), (false, "v")] {
        let hops = [Hop {
            own_rows,
            ..clean.clone()
        }];
        let sql = format!(
            "INSERT INTO o0 SELECT id, {v}, w FROM a; DROP TABLE a; ALTER TABLE o0 RENAME TO a;"
        );
        let (result, _) = prove(&db(&hops), &sql);
        let err = result.expect_err(&sql);
        assert!(
            err.starts_with("row proof: table \"a\"") && err.contains("cannot follow"),
            "{sql}\n{err}"
        );
    }
}
