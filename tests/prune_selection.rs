//! What a prune selects is what its rules say, the dry run says exactly what the real run does,
//! and every row it changes comes back from its archive. A property over random cascade
//! graphs (a self-reference and two levels of children, each ON DELETE CASCADE, SET NULL,
//! RESTRICT or NO ACTION; a child without a primary key, its rowid maybe shadowed by a column
//! named `rowid`), a child referencing a `COLLATE NOCASE` parent key in either case, a rowid
//! the application reuses between the prune and the restore, a trigger chain (a DELETE trigger
//! whose UPDATE fires a trigger that replaces rows), random data of every storage class and
//! random rules; a refused dry run exits 1 as the real run does. Plus each shape the hostile
//! tests found (h10_01, 02, 03, 08, 09, 09b, 13b, 14; H11's are in prune_relink.rs). Real
//! files and processes.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use proptest::prelude::*;
use rusqlite::Connection;

use common::{fails_in, ok_in, schemactl, stderr, stdout};

/// Every row of `table`: rowid -> each column's typeof and quote(), in column order.
type Rows = BTreeMap<i64, Vec<(String, String)>>;

fn snapshot(db: &Path, table: &str) -> Rows {
    let conn = Connection::open(db).unwrap();
    let cols: Vec<String> = conn
        .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    // `_rowid_`, or `oid` where a column takes that name too.
    let rowid = ["_rowid_", "oid"]
        .into_iter()
        .find(|n| !cols.iter().any(|c| c.eq_ignore_ascii_case(n)))
        .unwrap();
    let select: Vec<String> = cols
        .iter()
        .map(|c| format!("typeof(\"{c}\"), quote(\"{c}\")"))
        .collect();
    let mut stmt = conn
        .prepare(&format!(
            "SELECT {rowid}, {} FROM \"{table}\"",
            select.join(", ")
        ))
        .unwrap();
    stmt.query_map([], |r| {
        let mut values = Vec::new();
        for i in 0..cols.len() {
            values.push((r.get(1 + 2 * i)?, r.get(2 + 2 * i)?));
        }
        Ok((r.get(0)?, values))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

fn snapshot_all(db: &Path) -> BTreeMap<String, Rows> {
    ["p", "c", "g", "n", "tally", "notes"]
        .into_iter()
        .map(|t| (t.to_string(), snapshot(db, t)))
        .collect()
}

#[derive(Debug, Clone)]
struct Case {
    /// ON DELETE of p.parent (self), c.pid and g.cid.
    actions: [&'static str; 3],
    /// g has a column named "rowid".
    shadow: bool,
    /// p rows: (parent index or none, old).
    p: Vec<(Option<usize>, bool)>,
    /// c rows: (p index or none, old, value).
    c: Vec<(Option<usize>, bool, u8)>,
    /// g rows: (c index or none, value).
    g: Vec<(Option<usize>, u8)>,
    /// A rule on c too.
    rule_c: bool,
    /// ON DELETE of n.pname, a reference to p's `name TEXT COLLATE NOCASE UNIQUE`.
    n_action: &'static str,
    /// n rows: (p index or none, the name in upper case: the same parent under NOCASE).
    n: Vec<(Option<usize>, bool)>,
    /// Between the prune and the restore, the application deletes a row of g whose reference
    /// the prune set to NULL and writes a new row under its rowid.
    reuse_g: bool,
    /// A DELETE trigger on p that updates `tally`, whose UPDATE trigger replaces rows of
    /// `notes`: a chain no archive keeps, refused by both runs when p loses rows.
    nested: bool,
}

fn action() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("CASCADE"),
        Just("SET NULL"),
        Just("RESTRICT"),
        Just("NO ACTION")
    ]
}

fn case() -> impl Strategy<Value = Case> {
    (
        [action(), action(), action()],
        any::<bool>(),
        proptest::collection::vec((any::<Option<prop::sample::Index>>(), any::<bool>()), 1..8),
        proptest::collection::vec(
            (
                any::<Option<prop::sample::Index>>(),
                any::<bool>(),
                any::<u8>(),
            ),
            0..8,
        ),
        proptest::collection::vec((any::<Option<prop::sample::Index>>(), any::<u8>()), 0..8),
        any::<bool>(),
        action(),
        proptest::collection::vec((any::<Option<prop::sample::Index>>(), any::<bool>()), 0..6),
        any::<bool>(),
        prop::bool::weighted(0.2),
    )
        .prop_map(
            |(actions, shadow, p, c, g, rule_c, n_action, n, reuse_g, nested)| {
                // A self-reference points at an earlier row (the first has none).
                let p: Vec<(Option<usize>, bool)> = p
                    .into_iter()
                    .enumerate()
                    .map(|(i, (parent, old))| (parent.filter(|_| i > 0).map(|x| x.index(i)), old))
                    .collect();
                let np = p.len();
                let c: Vec<(Option<usize>, bool, u8)> = c
                    .into_iter()
                    .map(|(r, old, v)| (r.map(|x| x.index(np)), old, v))
                    .collect();
                let nc = c.len();
                let g = g
                    .into_iter()
                    .map(|(r, v)| (r.filter(|_| nc > 0).map(|x| x.index(nc.max(1))), v))
                    .collect();
                let n = n
                    .into_iter()
                    .map(|(r, upper)| (r.map(|x| x.index(np)), upper))
                    .collect();
                Case {
                    n_action,
                    n,
                    reuse_g,
                    nested,
                    actions,
                    shadow,
                    p,
                    c,
                    g,
                    rule_c,
                }
            },
        )
}

/// A value of every storage class, by `v`.
fn value(v: u8) -> String {
    match v % 7 {
        0 => "NULL".into(),
        1 => format!("{}", i64::from(v) * 1_000_003),
        2 => format!("{}.5", v),
        3 => format!("'{v}'"),
        4 => format!("x'{v:02x}00'"),
        5 => "-0.0".into(),
        _ => "9223372036854775807".into(),
    }
}

fn setup(dir: &Path, case: &Case) {
    let [self_action, c_action, g_action] = case.actions;
    let n_action = case.n_action;
    let shadow = if case.shadow { "\"rowid\" TEXT, " } else { "" };
    let mut sql = format!(
        "CREATE TABLE p (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES p(id) ON DELETE {self_action}, old INTEGER, name TEXT COLLATE NOCASE UNIQUE);
         CREATE TABLE n (id INTEGER PRIMARY KEY, pname TEXT REFERENCES p(name) ON DELETE {n_action});
         CREATE TABLE tally (k INTEGER PRIMARY KEY, n INTEGER);
         CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);
         INSERT INTO tally VALUES (1, 0);
         INSERT INTO notes VALUES (1, 'secret'), (2, 'kept');
         CREATE TABLE c (id INTEGER PRIMARY KEY, pid INTEGER REFERENCES p(id) ON DELETE {c_action}, old INTEGER, v);
         CREATE TABLE g ({shadow}cid INTEGER REFERENCES c(id) ON DELETE {g_action}, v);\n"
    );
    for (i, (parent, old)) in case.p.iter().enumerate() {
        let parent = parent.map_or("NULL".into(), |x| (x + 1).to_string());
        sql += &format!(
            "INSERT INTO p VALUES ({}, {parent}, {}, 'p{}');\n",
            i + 1,
            i32::from(*old),
            i + 1
        );
    }
    for (i, (r, upper)) in case.n.iter().enumerate() {
        let r = r.map_or("NULL".into(), |x| {
            format!("'{}{}'", if *upper { "P" } else { "p" }, x + 1)
        });
        sql += &format!("INSERT INTO n VALUES ({}, {r});\n", 200 + i);
    }
    if case.nested {
        sql += "CREATE TRIGGER p_gone AFTER DELETE ON p BEGIN UPDATE tally SET n = n + 1; END;
                CREATE TRIGGER tally_up AFTER UPDATE ON tally BEGIN REPLACE INTO notes SELECT id, 'redacted' FROM notes WHERE body = 'secret'; END;\n";
    }
    for (i, (r, old, v)) in case.c.iter().enumerate() {
        let r = r.map_or("NULL".into(), |x| (x + 1).to_string());
        sql += &format!(
            "INSERT INTO c VALUES ({}, {r}, {}, {});\n",
            100 + i,
            i32::from(*old),
            value(*v)
        );
    }
    for (i, (r, v)) in case.g.iter().enumerate() {
        let r = r.map_or("NULL".into(), |x| (x + 100).to_string());
        let shadow = if case.shadow {
            format!("'k{}', ", i % 2)
        } else {
            String::new()
        };
        // Rowids with gaps, so that a renumbering would show.
        sql += &format!(
            "INSERT INTO g (_rowid_, {}cid, v) VALUES ({}, {shadow}{r}, {});\n",
            if case.shadow { "\"rowid\", " } else { "" },
            3 * i + 7,
            value(*v)
        );
    }
    let conn = Connection::open(dir.join("db.sqlite")).unwrap();
    conn.execute_batch(&sql).unwrap();
    let rule_c = if case.rule_c {
        "    retention: { when: \"\\\"old\\\" = 1\" }\n"
    } else {
        ""
    };
    std::fs::create_dir_all(dir.join("schema")).unwrap();
    std::fs::write(
        dir.join("schema/s.yaml"),
        format!(
            "schemactl: 1\nversion: 1\ntables:\n  p:\n    columns:\n      id: {{type: INTEGER, primary_key: true}}\n      parent: {{type: INTEGER}}\n      old: {{type: INTEGER}}\n      name: {{type: TEXT, collate: NOCASE, unique: true}}\n    retention: {{ when: \"old = 1\" }}\n  c:\n    columns:\n      id: {{type: INTEGER, primary_key: true}}\n      pid: {{type: INTEGER}}\n      old: {{type: INTEGER}}\n      v: {{type: ANY}}\n{rule_c}"
        ),
    )
    .unwrap();
}

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_str(&stdout(out)).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)))
}

fn effect_rows(report: &serde_json::Value, actions: &[&str]) -> u64 {
    report["effects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| actions.contains(&e["action"].as_str().unwrap()))
        .map(|e| e["rows"].as_u64().unwrap())
        .sum()
}

/// The rows each table loses: the report's `removed`, else (a report without it) the sum of
/// its delete effects, which is what the report claims.
fn removed(report: &serde_json::Value) -> BTreeMap<String, u64> {
    if report["removed"].is_object() {
        return serde_json::from_value(report["removed"].clone()).unwrap();
    }
    let mut out = BTreeMap::new();
    for e in report["effects"].as_array().unwrap() {
        if e["action"] == "delete" {
            *out.entry(e["table"].as_str().unwrap().to_string())
                .or_default() += e["rows"].as_u64().unwrap();
        }
    }
    out.retain(|_, n| *n > 0);
    out
}

fn check_case(case: &Case) -> Result<(), TestCaseError> {
    let dir = common::temp_dir();
    let dir = dir.path();
    setup(dir, case);
    let db = dir.join("db.sqlite");
    let before = snapshot_all(&db);
    let base = ["prune", "--database", "db.sqlite", "--schema", "schema"];
    let dry = schemactl(
        dir,
        &[&base[..], &["--dry-run", "--format", "json"]].concat(),
    );
    let dry_err = stderr(&dry);
    let dry_code = dry.status.code();
    let dry = json(&dry);
    let blocked = effect_rows(&dry, &["blocks"]) > 0;
    // p loses rows: its DELETE trigger fires, and the chain behind it replaces notes.
    let chain = case.nested && removed(&dry).get("p").copied().unwrap_or(0) > 0;
    // A dry run the real run would refuse fails as the real run does (exit 1), naming why.
    prop_assert_eq!(dry_code, Some(i32::from(blocked || chain)), "{}", dry_err);
    prop_assert_eq!(dry["refused"].is_string(), blocked || chain);
    if case.nested {
        // Every trigger that fires is named, the nested one too.
        let fires = |t: &str| {
            dry["effects"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["action"] == "fires" && e["via"] == format!("trigger \"{t}\""))
        };
        prop_assert_eq!(fires("p_gone"), chain);
        prop_assert_eq!(fires("tally_up"), chain);
    }
    let real = schemactl(dir, &[&base[..], &["--yes", "--format", "json"]].concat());
    if blocked || chain {
        // The dry run's refusal is the real run's, and nothing changed.
        prop_assert_eq!(real.status.code(), Some(1), "{}", stdout(&real));
        let why = if blocked {
            "does not cascade"
        } else {
            "tally_up"
        };
        prop_assert!(stderr(&real).contains(why), "{}", stderr(&real));
        prop_assert!(dry_err.contains(why), "{}", dry_err);
        prop_assert_eq!(&snapshot_all(&db), &before);
        return Ok(());
    }
    prop_assert!(real.status.success(), "{}", stderr(&real));
    let real = json(&real);
    let after = snapshot_all(&db);
    // The dry run's selection is the real run's, and is what left the tables.
    prop_assert_eq!(removed(&dry), removed(&real));
    for (t, rows) in &before {
        let gone = (rows.len() - after[t].len()) as u64;
        prop_assert_eq!(
            removed(&real).get(t).copied().unwrap_or(0),
            gone,
            "table {}",
            t
        );
    }
    let Some(archive) = real["archive"].as_str() else {
        prop_assert!(removed(&real).values().all(|n| *n == 0));
        return Ok(());
    };
    // Every removed row is in the archive, by rowid, with the same values and types.
    for (t, rows) in &before {
        let gone: Rows = rows
            .iter()
            .filter(|(k, _)| !after[t].contains_key(k))
            .map(|(k, v)| (*k, v.clone()))
            .collect();
        let archived = if gone.is_empty() {
            Rows::new()
        } else {
            snapshot(Path::new(archive), t)
        };
        prop_assert_eq!(&archived, &gone, "archive of {}", t);
    }
    // The application deletes a row of g whose reference the prune set to NULL, and writes
    // a new row that SQLite gives its rowid: the merge must not take the new row for it.
    let mut expected = before.clone();
    if case.reuse_g {
        let nulled = before["g"].iter().find_map(|(rowid, values)| {
            let cid = &values[usize::from(case.shadow)];
            let now = after["g"].get(rowid)?;
            (cid.0 != "null" && now[usize::from(case.shadow)].0 == "null").then_some(*rowid)
        });
        if let Some(rowid) = nulled {
            let conn = Connection::open(&db).unwrap();
            conn.execute_batch(&format!(
                "DELETE FROM g WHERE _rowid_ = {rowid}; INSERT INTO g (_rowid_, cid, v) VALUES ({rowid}, NULL, 'new');"
            ))
            .unwrap();
            expected
                .get_mut("g")
                .unwrap()
                .insert(rowid, snapshot(&db, "g")[&rowid].clone());
        }
    }
    // Archive + merge restore (parents first) gives back every row exactly, and every
    // reference SET NULL changed.
    for t in ["p", "c", "g", "n"] {
        let unlinked =
            real["effects"].as_array().unwrap().iter().any(|e| {
                e["table"] == t && e["action"] == "set null" && e["rows"].as_u64() > Some(0)
            });
        if removed(&real).get(t).copied().unwrap_or(0) > 0 || unlinked {
            ok_in(
                dir,
                &[
                    "restore",
                    archive,
                    "--database",
                    "db.sqlite",
                    "--table",
                    t,
                    "--mode",
                    "merge",
                    "--yes",
                ],
            );
        }
    }
    prop_assert_eq!(&snapshot_all(&db), &expected);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn the_dry_run_is_the_real_run_and_the_archive_gives_back_every_row(case in case()) {
        check_case(&case)?;
    }
}

fn project(ddl: &str, yaml: &str) -> tempfile::TempDir {
    let dir = common::temp_dir();
    Connection::open(dir.path().join("db.sqlite"))
        .unwrap()
        .execute_batch(ddl)
        .unwrap();
    std::fs::create_dir_all(dir.path().join("schema")).unwrap();
    std::fs::write(dir.path().join("schema/s.yaml"), yaml).unwrap();
    dir
}

const PRUNE: [&str; 5] = ["prune", "--database", "db.sqlite", "--schema", "schema"];

fn prune(dir: &Path, extra: &[&str]) -> std::process::Output {
    schemactl(dir, &[&PRUNE[..], extra].concat())
}

#[test]
fn a_column_named_rowid_does_not_choose_the_rows() {
    // h10_14: rows are selected and deleted by the real rowid, never by the user's column.
    let dir = project(
        "CREATE TABLE log (\"rowid\" TEXT, msg TEXT, old INTEGER);
         INSERT INTO log VALUES ('k1','a',1),('k1','b',0),('k2','c',0),(NULL,'d',1),('k3','e',1);",
        "schemactl: 1\nversion: 1\ntables:\n  log:\n    columns:\n      rowid: {type: TEXT}\n      msg: {type: TEXT}\n      old: {type: INTEGER}\n    retention: { when: \"old = 1\" }\n",
    );
    let out = prune(dir.path(), &["--yes", "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let left: Vec<String> = Connection::open(dir.path().join("db.sqlite"))
        .unwrap()
        .prepare("SELECT msg FROM log ORDER BY _rowid_")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(left, ["b", "c"]);
    let archive = json(&out)["archive"].as_str().unwrap().to_string();
    let archived: Vec<(i64, String)> = Connection::open(archive)
        .unwrap()
        .prepare("SELECT _rowid_, msg FROM log ORDER BY _rowid_")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        archived,
        [(1, "a".to_string()), (4, "d".into()), (5, "e".into())]
    );
}

#[test]
fn a_table_whose_columns_take_every_rowid_name_is_refused_by_name() {
    let dir = project(
        "CREATE TABLE log (\"rowid\" TEXT, \"_rowid_\" TEXT, \"oid\" TEXT, old INTEGER);
         INSERT INTO log VALUES ('a','b','c',1);",
        "schemactl: 1\nversion: 1\ntables:\n  log:\n    columns:\n      rowid: {type: TEXT}\n      _rowid_: {type: TEXT}\n      oid: {type: TEXT}\n      old: {type: INTEGER}\n    retention: { when: \"old = 1\" }\n",
    );
    for extra in [&["--dry-run"][..], &["--yes"][..]] {
        let err = fails_in(dir.path(), &[&PRUNE[..], extra].concat(), 1);
        assert!(
            err.contains("\"log\" has columns named rowid, _rowid_ and oid"),
            "{err}"
        );
    }
    let n: i64 = Connection::open(dir.path().join("db.sqlite"))
        .unwrap()
        .query_row("SELECT count(*) FROM log", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
}

#[test]
fn a_double_quoted_missing_column_is_an_error_in_a_rule_and_an_invariant() {
    // h10_01 and h10_08: "state" is a column name, never the string 'state'.
    let dir = project(
        "CREATE TABLE events (id INTEGER PRIMARY KEY, amt INTEGER);
         INSERT INTO events VALUES (1, 5), (2, -1);",
        "schemactl: 1\nversion: 1\ntables:\n  events:\n    columns:\n      id: {type: INTEGER, primary_key: true}\n      amt: {type: INTEGER}\n      state: {type: TEXT}\n    retention: { when: \"\\\"state\\\" <> 'keep'\" }\n",
    );
    for extra in [&["--dry-run"][..], &["--yes"][..]] {
        let err = fails_in(dir.path(), &[&PRUNE[..], extra].concat(), 1);
        assert!(err.contains("no such column: \"state\""), "{err}");
    }
    assert_eq!(snapshot(&dir.path().join("db.sqlite"), "events").len(), 2);
    let dir = project(
        "CREATE TABLE ledger (id INTEGER PRIMARY KEY, amt INTEGER);
         INSERT INTO ledger VALUES (1, 5), (2, -1);",
        "schemactl: 1\nversion: 1\ntables:\n  ledger:\n    columns:\n      id: {type: INTEGER, primary_key: true}\n      amt: {type: INTEGER}\n      amount: {type: INTEGER}\n    invariants:\n      amount_not_negative: \"\\\"amount\\\" >= 0\"\n",
    );
    let err = fails_in(
        dir.path(),
        &["check", "--database", "db.sqlite", "--schema", "schema"],
        1,
    );
    assert!(err.contains("no such column: \"amount\""), "{err}");
}

#[test]
fn set_null_references_are_archived_and_a_merge_puts_them_back() {
    // h10_02: the old references go into the archive; restoring the parents, then the
    // children, gives every value back.
    let dir = project(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, active INTEGER);
         CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id) ON DELETE SET NULL);
         INSERT INTO users VALUES (1,1),(2,0),(3,0);
         INSERT INTO orders VALUES (10,1),(11,2),(12,2),(13,3);",
        "schemactl: 1\nversion: 1\ntables:\n  users:\n    columns:\n      id: {type: INTEGER, primary_key: true}\n      active: {type: INTEGER}\n    retention: { when: \"active = 0\" }\n",
    );
    let out = prune(dir.path(), &["--dry-run"]);
    assert!(
        stdout(&out).contains(
            "set null     3 row(s) of \"orders\" (\"orders\"(user_id) references \"users\"); their old values go into the archive"
        ),
        "{}",
        stdout(&out)
    );
    let db = dir.path().join("db.sqlite");
    let before = (snapshot(&db, "users"), snapshot(&db, "orders"));
    let out = prune(dir.path(), &["--yes", "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let archive = json(&out)["archive"].as_str().unwrap().to_string();
    let nulls: i64 = Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT count(*) FROM orders WHERE user_id IS NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(nulls, 3);
    let restore = |t: &str| {
        common::schemactl(
            dir.path(),
            &[
                "restore",
                &archive,
                "--database",
                "db.sqlite",
                "--table",
                t,
                "--mode",
                "merge",
                "--yes",
            ],
        )
    };
    // Children before their parents: nothing can be put back yet, and it says so.
    let early = restore("orders");
    assert!(early.status.success(), "{}", stderr(&early));
    assert!(stderr(&early).contains("3 not"), "{}", stderr(&early));
    assert!(restore("users").status.success());
    let out = restore("orders");
    assert!(
        stderr(&out).contains("3 reference(s) of \"orders\""),
        "{}",
        stderr(&out)
    );
    assert_eq!((snapshot(&db, "users"), snapshot(&db, "orders")), before);
}

#[test]
fn a_self_referencing_cascade_is_counted_to_the_end_and_a_restrict_below_it_blocks_both_runs() {
    // h10_09 and h10_09b.
    let ddl = "CREATE TABLE comments (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES comments(id) ON DELETE CASCADE, old INTEGER);
         INSERT INTO comments VALUES (1,NULL,1),(2,1,0),(3,2,0),(4,3,0),(5,4,0),(10,NULL,0),(11,10,0);";
    let yaml = "schemactl: 1\nversion: 1\ntables:\n  comments:\n    columns:\n      id: {type: INTEGER, primary_key: true}\n      parent_id: {type: INTEGER}\n      old: {type: INTEGER}\n    retention: { when: \"old = 1\" }\n";
    let dir = project(ddl, yaml);
    let dry = json(&prune(dir.path(), &["--dry-run", "--format", "json"]));
    assert_eq!(removed(&dry)["comments"], 5);
    assert_eq!(effect_rows(&dry, &["delete"]), 5);
    let real = json(&prune(dir.path(), &["--yes", "--format", "json"]));
    assert_eq!(removed(&real)["comments"], 5);
    assert_eq!(snapshot(&dir.path().join("db.sqlite"), "comments").len(), 2);
    let dir = project(
        &format!(
            "{ddl} CREATE TABLE votes (id INTEGER PRIMARY KEY, comment_id INTEGER REFERENCES comments(id) ON DELETE RESTRICT); INSERT INTO votes VALUES (1, 4);"
        ),
        yaml,
    );
    let out = prune(dir.path(), &["--dry-run"]);
    assert!(
        stdout(&out).contains("blocks       1 row(s) of \"votes\""),
        "{}",
        stdout(&out)
    );
    let err = fails_in(dir.path(), &[&PRUNE[..], &["--yes"]].concat(), 1);
    assert!(
        err.contains("\"votes\" has 1 row(s) that reference"),
        "{err}"
    );
}

#[test]
fn a_trigger_that_writes_other_tables_is_named_by_the_dry_run_and_the_refusal() {
    // h10_03 a, and c (a trigger that only updates is listed, and the prune goes ahead).
    let yaml = "schemactl: 1\nversion: 1\ntables:\n  events:\n    columns:\n      id: {type: INTEGER, primary_key: true}\n      old: {type: INTEGER}\n    retention: { when: \"old = 1\" }\n";
    let dir = project(
        "CREATE TABLE events (id INTEGER PRIMARY KEY, old INTEGER);
         CREATE TABLE audit (id INTEGER);
         CREATE TRIGGER ev_audit AFTER DELETE ON events BEGIN INSERT INTO audit VALUES (old.id); END;
         INSERT INTO events VALUES (1,1),(2,0),(3,1);",
        yaml,
    );
    let out = prune(dir.path(), &["--dry-run"]);
    let text = stdout(&out) + &stderr(&out);
    assert!(text.contains("trigger \"ev_audit\""), "{text}");
    assert!(text.contains("writes rows of \"audit\""), "{text}");
    let err = fails_in(dir.path(), &[&PRUNE[..], &["--yes"]].concat(), 1);
    assert!(
        err.contains("trigger \"ev_audit\" on \"events\"") && err.contains("\"audit\""),
        "{err}"
    );
    assert_eq!(snapshot(&dir.path().join("db.sqlite"), "events").len(), 3);
    let dir = project(
        "CREATE TABLE events (id INTEGER PRIMARY KEY, old INTEGER);
         CREATE TABLE stats (n INTEGER);
         CREATE TRIGGER ev_stats AFTER DELETE ON events BEGIN UPDATE stats SET n = n - 1; END;
         INSERT INTO stats VALUES (5);
         INSERT INTO events VALUES (1,1),(2,0),(3,1);",
        yaml,
    );
    let out = prune(dir.path(), &["--dry-run"]);
    assert!(
        stdout(&out).contains("fires        2 row(s) of \"events\" (trigger \"ev_stats\")"),
        "{}",
        stdout(&out)
    );
    ok_in(dir.path(), &[&PRUNE[..], &["--yes"]].concat());
}

#[test]
fn a_cascade_into_a_table_kept_verbatim_is_seen_by_the_dry_run() {
    // h10_13 b: the foreign keys are SQLite's, not only the ones schema/ could model.
    let dir = project(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, active INTEGER);
         CREATE TABLE notes (id INTEGER PRIMARY KEY ON CONFLICT REPLACE, user_id INTEGER REFERENCES users(id) ON DELETE CASCADE, txt TEXT);
         INSERT INTO users VALUES (1,1),(2,0);
         INSERT INTO notes VALUES (1,1,'a'),(2,2,'b'),(3,2,'c');",
        "schemactl: 1\nversion: 1\ntables:\n  users:\n    columns:\n      id: {type: INTEGER, primary_key: true}\n      active: {type: INTEGER}\n    retention: { when: \"active = 0\" }\n",
    );
    let dry = json(&prune(dir.path(), &["--dry-run", "--format", "json"]));
    assert_eq!(removed(&dry)["notes"], 2);
    let real = json(&prune(dir.path(), &["--yes", "--format", "json"]));
    assert_eq!(removed(&real), removed(&dry));
    assert_eq!(snapshot(&dir.path().join("db.sqlite"), "notes").len(), 1);
}
