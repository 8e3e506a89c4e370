//! A primary-key column whose type narrows ('007' becomes 7): in a WITHOUT ROWID table, or
//! in a rowid table where it becomes the INTEGER PRIMARY KEY (the rowid). The stash finds
//! its rows by the key the migration made of them, so the rollback gives back every key and
//! value exactly, keeps what was written since, and never refuses a change the migration
//! itself made; a copy SQLite refuses (two keys that become one) fails the sync and changes
//! nothing. A property over random key types and values, judged by SQLite itself (a scratch
//! database copies the rows into the new table), with random writes, deletions and an insertion after the
//! migration (48 cases). A key that becomes the INTEGER PRIMARY KEY renumbers the rows to its
//! values and nothing keeps the old rowids: its rollback is refused without `--lossy`, and
//! with it gives every key back and keeps the rowids the rows have. And a rowid table whose columns hide the rowid (`rowid`, `_rowid_`, `oid`)
//! and has no key: a narrowing there cannot be stashed, and is refused.

mod common;

use common::{fails_in, ok_in};
use proptest::prelude::*;
use rusqlite::Connection;
use rusqlite::types::Value;

const FROM: [&str; 5] = ["TEXT", "BLOB", "", "NUMERIC", "REAL"];
const TO: [&str; 5] = ["INTEGER", "NUMERIC", "REAL", "INT", "TEXT"];

fn keys() -> Vec<Value> {
    vec![
        Value::Integer(7),
        Value::Integer(i64::MAX),
        Value::Real(1.0),
        Value::Real(1.5),
        Value::Real(9_223_372_036_854_775_808.0),
        Value::Text("007".into()),
        Value::Text("1e1".into()),
        Value::Text(" 12 ".into()),
        Value::Text("7".into()),
        Value::Text("10".into()),
        Value::Text("abc".into()),
        Value::Text("9223372036854775808".into()),
        Value::Blob(vec![0, 255]),
    ]
}

#[derive(Debug, Clone)]
struct Case {
    from: &'static str,
    to: &'static str,
    without_rowid: bool,
    keys: Vec<Value>,
    /// Rows (by position) whose `v` is written after the migration.
    writes: Vec<usize>,
    /// A row (by position) deleted after the migration, and one inserted then.
    delete: Option<usize>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::sample::select(FROM.to_vec()),
        prop::sample::select(TO.to_vec()),
        any::<bool>(),
        prop::collection::vec(prop::sample::select(keys()), 1..6),
        prop::collection::vec(0usize..6, 0..3),
        prop::option::of(0usize..6),
    )
        .prop_filter("a change", |(f, t, _, _, _, _)| f != t)
        .prop_map(|(from, to, without_rowid, keys, writes, delete)| Case {
            from,
            to,
            without_rowid,
            keys,
            writes,
            delete,
        })
}

fn table_sql(name: &str, ty: &str, without_rowid: bool) -> String {
    format!(
        "CREATE TABLE {name} (k {ty} PRIMARY KEY, v TEXT){}",
        if without_rowid { " WITHOUT ROWID" } else { "" }
    )
}

/// (quote(k), typeof(k), v) by v.
fn rows(conn: &Connection, table: &str) -> Vec<(String, String, String)> {
    conn.prepare(&format!(
        "SELECT quote(k), typeof(k), v FROM {table} ORDER BY v"
    ))
    .unwrap()
    .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
    .unwrap()
    .map(|r| r.unwrap())
    .collect()
}

fn yaml(version: u32, ty: &str, without_rowid: bool) -> String {
    format!(
        "schemactl: 1\nversion: {version}\ntables:\n  t:\n    columns:\n      k: {{ type: \"{ty}\", primary_key: true }}\n      v: {{ type: TEXT }}\n    without_rowid: {without_rowid}\n"
    )
}

fn run_case(c: &Case) {
    // What SQLite does with these rows: the ones the old table takes, and the copy.
    let scratch = Connection::open_in_memory().unwrap();
    scratch
        .execute_batch(&table_sql("a", c.from, c.without_rowid))
        .unwrap();
    for (i, k) in c.keys.iter().enumerate() {
        let _ = scratch.execute(
            "INSERT INTO a VALUES (?1, ?2)",
            rusqlite::params![k, format!("r{i}")],
        );
    }
    let held = rows(&scratch, "a");
    scratch
        .execute_batch(&table_sql("b", c.to, c.without_rowid))
        .unwrap();
    let copied = scratch
        .execute_batch("INSERT INTO b SELECT k, v FROM a")
        .ok()
        .map(|()| rows(&scratch, "b"));
    // And what a copy back gives.
    scratch
        .execute_batch(&table_sql("c", c.from, c.without_rowid))
        .unwrap();
    let back = match scratch.execute_batch("INSERT INTO c SELECT k, v FROM b") {
        Ok(()) => rows(&scratch, "c"),
        Err(_) => Vec::new(),
    };

    let dir = common::empty_project();
    let d = dir.path();
    std::fs::write(d.join("schema/s.yaml"), yaml(1, c.from, c.without_rowid)).unwrap();
    ok_in(d, &["sync", "--yes"]);
    let db = d.join("db.sqlite");
    let conn = Connection::open(&db).unwrap();
    for (i, k) in c.keys.iter().enumerate() {
        let _ = conn.execute(
            "INSERT INTO t VALUES (?1, ?2)",
            rusqlite::params![k, format!("r{i}")],
        );
    }
    assert_eq!(
        rows(&conn, "t"),
        held,
        "the old table holds what SQLite says"
    );
    drop(conn);
    std::fs::write(d.join("schema/s.yaml"), yaml(2, c.to, c.without_rowid)).unwrap();
    let plan = ok_in(d, &["plan"]);
    let sync = common::schemactl(
        d,
        &["sync", "--yes", "--allow-destructive", "--ignore-lint"],
    );
    let conn = Connection::open(&db).unwrap();
    let Some(copied) = copied else {
        assert_eq!(
            sync.status.code(),
            Some(1),
            "SQLite refuses the copy\n{plan}"
        );
        assert_eq!(rows(&conn, "t"), held, "a refused sync changes nothing");
        return;
    };
    assert_eq!(
        sync.status.code(),
        Some(0),
        "{plan}\n{}",
        common::stderr(&sync)
    );
    assert_eq!(rows(&conn, "t"), copied, "the sync copies as SQLite does");
    if copied != held && back != held {
        assert!(
            plan.contains("destructive") && plan.contains("stash for rollback"),
            "{c:?}: keys change for good: a narrowing, stashed\n{plan}"
        );
    }
    // Written since: each row keeps its new v, and gets its own key back.
    let mut expected = held.clone();
    for w in &c.writes {
        let i = w % held.len();
        let v = expected[i].2.clone();
        let n = conn
            .execute("UPDATE t SET v = v || '!' WHERE v = ?1", [&v])
            .unwrap();
        assert_eq!(n, 1);
        expected[i].2.push('!');
    }
    // Deleted since: stays deleted; a row inserted since (under a key no row had) stays,
    // its key as the old column stores what the new one holds.
    if let Some(i) = c.delete {
        let gone = expected.remove(i % expected.len());
        conn.execute("DELETE FROM t WHERE v = ?1", [&gone.2])
            .unwrap();
        conn.execute("INSERT INTO t VALUES (12345, 'zz')", [])
            .unwrap();
        let now: Value = conn
            .query_row("SELECT k FROM t WHERE v = 'zz'", [], |r| r.get(0))
            .unwrap();
        scratch
            .execute_batch(&table_sql("d", c.from, c.without_rowid))
            .unwrap();
        scratch
            .execute("INSERT INTO d VALUES (?1, 'zz')", [now])
            .unwrap();
        expected.extend(rows(&scratch, "d"));
    }
    expected.sort_by(|a, b| a.2.cmp(&b.2));
    // The key became the INTEGER PRIMARY KEY: the rows' rowids became its values, and the
    // stash keeps the key's old values, not the old rowids: gated as without a stash.
    let renumbered = !c.without_rowid && c.to == "INTEGER";
    let rowids_before = rowids(&conn);
    let now = rows(&conn, "t");
    drop(conn);
    let mut args = vec!["rollback", "last", "--yes", "--allow-destructive"];
    if renumbered {
        let err = fails_in(d, &args, 1);
        assert!(
            err.contains("cannot give the rows of table \"t\" their rowids back")
                && err.contains("--lossy"),
            "{c:?}: {err}"
        );
        let conn = Connection::open(&db).unwrap();
        assert_eq!(rows(&conn, "t"), now, "a refused rollback changes nothing");
        assert_eq!(rowids(&conn), rowids_before);
        args.push("--lossy");
    }
    ok_in(d, &args);
    let conn = Connection::open(&db).unwrap();
    let mut after = rows(&conn, "t");
    after.sort_by(|a, b| a.2.cmp(&b.2));
    assert_eq!(
        after, expected,
        "{c:?}: every key back, writes kept\n{plan}"
    );
    if renumbered {
        assert_eq!(
            rowids(&conn),
            rowids_before,
            "--lossy keeps the rowids they have"
        );
    }
}

/// (v, rowid) of every row of t (a WITHOUT ROWID table: none).
fn rowids(conn: &Connection) -> Vec<(String, i64)> {
    conn.prepare("SELECT v, rowid FROM t ORDER BY v")
        .and_then(|mut s| {
            s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()
        })
        .unwrap_or_default()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn a_narrowed_key_rolls_back_exactly(c in case()) {
        run_case(&c);
    }
}

#[test]
fn text_keys_that_become_numbers_come_back() {
    for (to, without_rowid) in [("NUMERIC", true), ("INTEGER", false)] {
        run_case(&Case {
            from: "TEXT",
            to,
            without_rowid,
            keys: vec![Value::Text("007".into()), Value::Text("1e1".into())],
            writes: vec![1],
            delete: Some(0),
        });
    }
}

#[test]
fn a_narrowing_in_a_table_whose_rowid_has_no_name_is_refused() {
    let dir = common::empty_project();
    let d = dir.path();
    let db = d.join("db.sqlite");
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch(
        "CREATE TABLE t (\"rowid\" TEXT, \"_rowid_\" TEXT, oid TEXT, v TEXT);
         INSERT INTO t VALUES ('a', 'b', 'c', '007'), ('x', 'y', 'z', '1e1');",
    )
    .unwrap();
    drop(conn);
    ok_in(d, &["import", "--out", "schema/s.yaml"]);
    let yaml = std::fs::read_to_string(d.join("schema/s.yaml")).unwrap();
    let changed = yaml
        .replace("version: 1", "version: 2")
        .replace("v: { type: TEXT }", "v: { type: INTEGER }");
    assert_ne!(changed, yaml, "{yaml}");
    std::fs::write(d.join("schema/s.yaml"), changed).unwrap();
    // The lint names rows by what it can: not by a column named rowid.
    let lint = common::schemactl(d, &["plan"]);
    let text = format!("{}{}", common::stdout(&lint), common::stderr(&lint));
    assert!(!text.contains("rowid=a"), "{text}");
    let err = fails_in(
        d,
        &["sync", "--yes", "--allow-destructive", "--ignore-lint"],
        1,
    );
    assert!(
        err.contains("rowid, _rowid_ and oid") && err.contains("could not find its rows"),
        "{err}"
    );
    let conn = Connection::open(&db).unwrap();
    let v: Vec<String> = conn
        .prepare("SELECT quote(v) FROM t ORDER BY v")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(v, ["'007'", "'1e1'"]);
}
