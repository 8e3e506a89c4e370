//! `restore ARCHIVE --table T --mode merge` accounts for every row of the archive: inserted,
//! present (the table holds the same row), or taken (a different live row holds its key:
//! refused unless --skip-taken, then named); a prune archive merges into a table without a
//! primary key as a multiset union, once; the full-text indexes over the table find the
//! restored rows. A property over random tables with and without a key and random writes
//! since the prune, and the hostile shapes (h10_05, h10_05b, h10_06) through the CLI.

mod common;

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use rusqlite::Connection;
use schemactl::dsl::Retention;
use schemactl::ops::prune;
use schemactl::ops::restore::{self, Source, TableMode};

/// Prunes `table` by `when` through the library; returns the archive.
fn prune_rows(db: &Path, table: &str, when: &str) -> PathBuf {
    let report = prune::prune(
        &prune::Options {
            database: db.to_path_buf(),
            archives: db.parent().unwrap().join("archives"),
            dry_run: false,
            wait: true,
        },
        &[Retention {
            table: table.into(),
            when: when.into(),
            archive: true,
        }],
        &mut |_| {},
    )
    .unwrap();
    report.archive.expect("an archive")
}

fn merge(
    db: &Path,
    file: &Path,
    table: &str,
    skip_taken: bool,
) -> schemactl::error::Result<restore::TableRestored> {
    let opts = restore::Options {
        database: db.to_path_buf(),
        dir: db.parent().unwrap().join("backups"),
        source: Source::File(file.to_path_buf()),
        latest_valid: false,
        wait: true,
        include_safety: false,
        from_other_database: false,
        without_checksum: false,
    };
    let prepared = restore::prepare(&opts, &mut |_| {})?;
    restore::restore_table(
        &opts,
        prepared,
        table,
        TableMode::Merge,
        skip_taken,
        &mut |_| {},
    )
}

/// The rows of `sql`'s single text column, in order.
fn strings(db: &Path, sql: &str) -> Vec<String> {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn.prepare(sql).unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

const CONTENT: &str = "quote(a) || ',' || quote(b)";

type Row = (Option<i64>, Option<String>, bool);

fn row() -> impl Strategy<Value = Row> {
    (
        prop::option::of(0i64..3),
        prop::option::of(prop::sample::select(vec!["x".to_string(), "y".to_string()])),
        any::<bool>(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    /// Prune `old = 1`, let the application write (new rows, some reusing a pruned key, some
    /// identical to pruned rows; deletes; maybe a VACUUM), then merge the archive with
    /// --skip-taken: every archived row is inserted, present or taken; the table ends as the
    /// rows it held plus the inserted ones; a taken row's key is named and its live row kept;
    /// without --skip-taken a taken key refuses and changes nothing; a second merge inserts
    /// nothing (keyed) or is refused (key-less).
    #[test]
    fn every_archived_row_is_accounted_for(
        keyed in any::<bool>(),
        rows in prop::collection::vec(row(), 1..10),
        added in prop::collection::vec((prop::option::of(1i64..12), row()), 0..6),
        deleted in prop::collection::vec(any::<bool>(), 10),
        vacuum in any::<bool>(),
    ) {
        let dir = common::temp_dir();
        let db = dir.path().join("p.db");
        let conn = Connection::open(&db).unwrap();
        if keyed {
            conn.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER, b TEXT, old INTEGER)").unwrap();
        } else {
            conn.execute_batch("CREATE TABLE t (a INTEGER, b TEXT, old INTEGER)").unwrap();
        }
        for (a, b, old) in &rows {
            conn.execute("INSERT INTO t (a, b, old) VALUES (?1, ?2, ?3)", rusqlite::params![a, b, old]).unwrap();
        }
        prop_assume!(rows.iter().any(|r| r.2));
        drop(conn);
        let archive = prune_rows(&db, "t", "old = 1");
        let archived: Vec<String> = {
            let a = Connection::open(&archive).unwrap();
            let sql = if keyed { format!("SELECT id || ':' || {CONTENT} || ',' || old FROM t ORDER BY id") } else { format!("SELECT {CONTENT} || ',' || old FROM t") };
            let mut s = a.prepare(&sql).unwrap();
            s.query_map([], |r| r.get(0)).unwrap().map(|r| r.unwrap()).collect()
        };
        let conn = Connection::open(&db).unwrap();
        for (i, gone) in deleted.iter().enumerate() {
            if *gone && i % 3 == 0 {
                conn.execute("DELETE FROM t WHERE rowid = (SELECT rowid FROM t ORDER BY rowid LIMIT 1 OFFSET ?1)", [i as i64 / 3]).unwrap();
            }
        }
        for (id, (a, b, _)) in &added {
            if keyed {
                conn.execute("INSERT OR IGNORE INTO t (id, a, b, old) VALUES (?1, ?2, ?3, 0)", rusqlite::params![id, a, b]).unwrap();
            } else {
                conn.execute("INSERT INTO t (a, b, old) VALUES (?1, ?2, 1)", rusqlite::params![a, b]).unwrap();
            }
        }
        if vacuum && !keyed {
            conn.execute_batch("VACUUM").unwrap();
        }
        drop(conn);
        let full = if keyed { format!("id || ':' || {CONTENT} || ',' || old") } else { format!("{CONTENT} || ',' || old") };
        let all = format!("SELECT {full} FROM t ORDER BY 1");
        let live = strings(&db, &all);
        // What each archived row meets in the live table.
        let (mut free, mut same, mut taken) = (Vec::new(), 0usize, Vec::new());
        if keyed {
            let conn = Connection::open(&db).unwrap();
            for r in &archived {
                let (id, content) = r.split_once(':').unwrap();
                let held: Option<String> = conn
                    .query_row(&format!("SELECT {CONTENT} || ',' || old FROM t WHERE id = ?1"), [id.parse::<i64>().unwrap()], |r| r.get(0))
                    .ok();
                match held {
                    None => free.push(r.clone()),
                    Some(c) if c == content => same += 1,
                    Some(_) => taken.push(id.to_string()),
                }
            }
        } else {
            free = archived.clone();
        }
        if !taken.is_empty() {
            let refused = merge(&db, &archive, "t", false);
            prop_assert!(refused.is_err(), "a taken key refuses");
            let message = refused.err().unwrap().to_string();
            for k in &taken {
                prop_assert!(message.contains(k.as_str()), "{} names key {}", message, k);
            }
            prop_assert_eq!(strings(&db, &all), live.clone(), "a refused merge changes nothing");
        }
        let done = merge(&db, &archive, "t", true).unwrap();
        prop_assert_eq!(done.inserted + done.present + done.taken, archived.len(), "every archived row is accounted for: {:?}", done);
        prop_assert_eq!(done.inserted, free.len());
        prop_assert_eq!(done.present, same);
        prop_assert_eq!(done.taken, taken.len());
        prop_assert_eq!(done.taken_keys.clone(), taken.clone());
        let mut expected: Vec<String> = live.iter().cloned().chain(free.iter().cloned()).collect();
        expected.sort();
        let after = strings(&db, &all);
        prop_assert_eq!(&after, &expected, "the table ends as its rows plus the archived rows inserted");
        let again = merge(&db, &archive, "t", true);
        if keyed {
            prop_assert_eq!(again.unwrap().inserted, 0, "a second merge inserts nothing");
        } else {
            prop_assert!(again.is_err(), "a second merge of a key-less table is refused");
        }
        prop_assert_eq!(strings(&db, &all), after, "and changes nothing");
    }
}

fn db_with(dir: &Path, ddl: &str) -> PathBuf {
    let db = dir.join("db.sqlite");
    Connection::open(&db).unwrap().execute_batch(ddl).unwrap();
    db
}

/// h10_05: the app reused the pruned keys; the merge refuses, naming them, and changes
/// nothing; with --skip-taken it restores the rest and names those left out.
#[test]
fn a_reused_key_refuses_the_merge_and_names_the_keys() {
    let dir = common::temp_dir();
    let db = db_with(
        dir.path(),
        "CREATE TABLE jobs (id INTEGER PRIMARY KEY, name TEXT, done INTEGER);
         INSERT INTO jobs VALUES (1, 'keep-1', 0), (2, 'old-2', 1), (3, 'old-3', 1), (4, 'old-4', 1);",
    );
    let archive = prune_rows(&db, "jobs", "done = 1");
    Connection::open(&db)
        .unwrap()
        .execute_batch(
            "INSERT INTO jobs (name, done) VALUES ('new-A', 0), ('new-B', 0); DELETE FROM jobs WHERE id = 3;",
        )
        .unwrap();
    let a = archive.display().to_string();
    let args = [
        "restore",
        &a,
        "--database",
        "db.sqlite",
        "--table",
        "jobs",
        "--mode",
        "merge",
        "--yes",
    ];
    let err = common::fails_in(dir.path(), &args, 1);
    assert!(
        err.contains(
            "1 row(s) of the backup's \"jobs\" have a key that a different live row now holds (2)"
        ),
        "{err}"
    );
    assert!(err.contains("--skip-taken"), "{err}");
    let all = "SELECT id || ':' || name FROM jobs ORDER BY id";
    assert_eq!(strings(&db, all), ["1:keep-1", "2:new-A"]);
    let out = common::schemactl(dir.path(), &[&args[..], &["--skip-taken"]].concat());
    assert!(out.status.success(), "{}", common::stderr(&out));
    let err = common::stderr(&out);
    assert!(
        err.contains("1 row(s) of the archive NOT restored (--skip-taken): a different live row holds their key (2)"),
        "{err}"
    );
    assert!(
        common::stdout(&out).contains("2 inserted"),
        "{}",
        common::stdout(&out)
    );
    assert_eq!(
        strings(&db, all),
        ["1:keep-1", "2:new-A", "3:old-3", "4:old-4"]
    );
}

/// h10_05b: four archived copies of a row and one identical row the app wrote since end as
/// five, after a VACUUM too; a second merge is refused.
#[test]
fn archived_copies_come_back_beside_identical_new_rows_once() {
    let dir = common::temp_dir();
    let db = db_with(
        dir.path(),
        "CREATE TABLE l (a, b TEXT, old INTEGER);
         INSERT INTO l VALUES (1, 'x', 0), (1, 'x', 1), (1, 'x', 1), (2, 'y', 1), (1, 'x', 1), (1, 'x', 1), (1, 'x', 0);",
    );
    let archive = prune_rows(&db, "l", "old = 1");
    Connection::open(&db)
        .unwrap()
        .execute_batch("INSERT INTO l VALUES (1, 'x', 1); VACUUM;")
        .unwrap();
    let a = archive.display().to_string();
    let args = [
        "restore",
        &a,
        "--database",
        "db.sqlite",
        "--table",
        "l",
        "--mode",
        "merge",
        "--yes",
    ];
    let out = common::ok_in(dir.path(), &args);
    assert!(out.contains("5 inserted"), "{out}");
    let counts = "SELECT quote(a) || quote(b) || old || ':' || count(*) FROM l GROUP BY a, b, old ORDER BY 1";
    assert_eq!(strings(&db, counts), ["1'x'0:2", "1'x'1:5", "2'y'1:1"]);
    let err = common::fails_in(dir.path(), &args, 1);
    assert!(err.contains("merged into \"l\" already"), "{err}");
    assert_eq!(strings(&db, counts), ["1'x'0:2", "1'x'1:5", "2'y'1:1"]);
}

/// h10_06: the rows a merge (or a replace) puts back with the table's triggers suspended are
/// found by the external-content full-text indexes over the table and over a view of it.
#[test]
fn restored_rows_are_found_by_the_full_text_indexes_over_the_table() {
    let dir = common::temp_dir();
    let db = db_with(
        dir.path(),
        "CREATE TABLE docs (id INTEGER PRIMARY KEY, body TEXT, old INTEGER);
         CREATE VIEW docs_v AS SELECT id, body FROM docs;
         CREATE VIRTUAL TABLE docs_fts USING fts5(body, content='docs', content_rowid='id');
         CREATE VIRTUAL TABLE docs_vfts USING fts5(body, content='docs_v', content_rowid='id');
         CREATE TRIGGER docs_ai AFTER INSERT ON docs BEGIN
           INSERT INTO docs_fts(rowid, body) VALUES (new.id, new.body);
           INSERT INTO docs_vfts(rowid, body) VALUES (new.id, new.body); END;
         CREATE TRIGGER docs_ad AFTER DELETE ON docs BEGIN
           INSERT INTO docs_fts(docs_fts, rowid, body) VALUES ('delete', old.id, old.body);
           INSERT INTO docs_vfts(docs_vfts, rowid, body) VALUES ('delete', old.id, old.body); END;
         INSERT INTO docs VALUES (1, 'apple pie', 0), (2, 'banana split', 1), (3, 'cherry tart', 1);",
    );
    let archive = prune_rows(&db, "docs", "old = 1");
    let a = archive.display().to_string();
    let out = common::schemactl(
        dir.path(),
        &[
            "restore",
            &a,
            "--database",
            "db.sqlite",
            "--table",
            "docs",
            "--mode",
            "merge",
            "--yes",
        ],
    );
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert!(
        common::stderr(&out).contains("\"docs_fts\", \"docs_vfts\" over \"docs\" rebuilt"),
        "{}",
        common::stderr(&out)
    );
    for ix in ["docs_fts", "docs_vfts"] {
        assert_eq!(
            strings(
                &db,
                &format!(
                    "SELECT CAST(rowid AS TEXT) FROM {ix} WHERE {ix} MATCH 'banana OR cherry OR apple' ORDER BY rowid"
                )
            ),
            ["1", "2", "3"],
            "{ix}"
        );
        Connection::open(&db)
            .unwrap()
            .execute_batch(&format!(
                "INSERT INTO {ix}({ix}, rank) VALUES ('integrity-check', 1)"
            ))
            .unwrap();
    }
    // A replace from a backup taken now, after the app deleted a row.
    let backup = common::ok_in(
        dir.path(),
        &["backup", "--database", "db.sqlite", "--out", "backups"],
    );
    let file = dir.path().join(backup.split_whitespace().nth(1).unwrap());
    Connection::open(&db)
        .unwrap()
        .execute_batch("DELETE FROM docs WHERE id = 2")
        .unwrap();
    common::ok_in(
        dir.path(),
        &[
            "restore",
            &file.display().to_string(),
            "--database",
            "db.sqlite",
            "--backups",
            "backups",
            "--table",
            "docs",
            "--yes",
        ],
    );
    assert_eq!(
        strings(
            &db,
            "SELECT CAST(rowid AS TEXT) FROM docs_fts WHERE docs_fts MATCH 'banana'"
        ),
        ["2"]
    );
}

/// From a backup (not a prune's archive), a live row under a backup row's key is that row,
/// changed since: the live version stays, and the merge says so instead of refusing.
#[test]
fn a_row_changed_since_a_backup_is_kept_and_counted() {
    let dir = common::temp_dir();
    let db = db_with(
        dir.path(),
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);
         INSERT INTO t VALUES (1, 'one'), (2, 'two'), (3, 'three');",
    );
    let taken = schemactl::ops::backup::backup(&schemactl::ops::backup::Options {
        database: db.clone(),
        dir: dir.path().join("backups"),
        compress: schemactl::ops::backup::Compression::Zstd,
        label: "t".into(),
        count_rows: false,
    })
    .unwrap();
    Connection::open(&db)
        .unwrap()
        .execute_batch("UPDATE t SET v = 'uno' WHERE id = 1; DELETE FROM t WHERE id = 3;")
        .unwrap();
    let done = merge(&db, &taken.path, "t", false).unwrap();
    assert_eq!(
        (done.inserted, done.present, done.taken, done.archived),
        (1, 1, 1, false)
    );
    assert_eq!(done.taken_keys, ["1"]);
    assert_eq!(
        strings(&db, "SELECT id || v FROM t ORDER BY id"),
        ["1uno", "2two", "3three"]
    );
}
