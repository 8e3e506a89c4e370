//! Issue 14, class 8: the schema checks of a sync read the live database once and then read
//! again only the objects whose `sqlite_schema` rows changed (`inspect::inspect_since`).
//! These tests prove that this is as strong as a full inspection: after any sequence of DDL on
//! the same file or on a copy of it, the result is what a full inspection gives (schema and
//! notes), and a hand edit made to another object while the pipeline runs is still caught by
//! the rehearsal or the live run, which then change nothing.

mod common;

use common::temp_dir;
use proptest::prelude::*;
use rusqlite::Connection;
use schemactl::Error;
use schemactl::apply::{self, Options};
use schemactl::inspect::{
    inspect_since, inspect_with_notes, inspect_without_rows, unchanged_since,
};

/// Tables of several kinds (a verbatim one, WITHOUT ROWID, STRICT, foreign keys), indexes, a
/// view, a trigger and an FTS5 table with its shadow tables.
const START: &str = "
CREATE TABLE a (id INTEGER PRIMARY KEY, name TEXT NOT NULL, note TEXT);
CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER REFERENCES a(id), name TEXT);
CREATE TABLE c (k TEXT PRIMARY KEY, v INTEGER) WITHOUT ROWID;
CREATE TABLE d (id INTEGER PRIMARY KEY, name TEXT, b_id INTEGER REFERENCES b(id)) STRICT;
CREATE TABLE odd (id INTEGER PRIMARY KEY ON CONFLICT REPLACE, name TEXT);
CREATE INDEX a_name ON a(name);
CREATE UNIQUE INDEX b_name ON b(name) WHERE name IS NOT NULL;
CREATE VIEW va AS SELECT a.id, b.name FROM a JOIN b ON b.a_id = a.id;
CREATE TRIGGER a_ins AFTER INSERT ON a BEGIN INSERT INTO b (a_id, name) VALUES (new.id, new.name); END;
CREATE VIRTUAL TABLE docs USING fts5(body);
";

const TABLES: [&str; 6] = ["a", "b", "c", "d", "odd", "docs"];

/// One DDL statement, from an operation number, a table and a counter (for fresh names).
/// Many fail on some states (a table already dropped): they are skipped, as SQLite refuses them.
fn statement(op: u8, table: &str, n: usize) -> String {
    match op % 14 {
        0 => format!("ALTER TABLE {table} ADD COLUMN x{n} TEXT"),
        1 => format!("CREATE INDEX i{n} ON {table}(name)"),
        2 => "DROP INDEX a_name".into(),
        3 => format!("ALTER TABLE {table} RENAME TO {table}_r{n}"),
        4 => format!("DROP TABLE {table}"),
        5 => format!(
            "CREATE TABLE n{n} (id INTEGER PRIMARY KEY, v TEXT REFERENCES {table}(id) ON DELETE CASCADE)"
        ),
        6 => format!("CREATE VIEW v{n} AS SELECT * FROM {table}"),
        7 => format!("CREATE TRIGGER tr{n} AFTER DELETE ON {table} BEGIN SELECT 1; END"),
        8 => format!("ALTER TABLE {table} RENAME COLUMN name TO name{n}"),
        9 => "DROP VIEW va".into(),
        10 => format!("ALTER TABLE {table} DROP COLUMN note"),
        // Same name, another spelling: the row changes, the model may not.
        11 => format!(
            "ALTER TABLE {table} RENAME TO {}",
            table.to_ascii_uppercase()
        ),
        12 => "DROP TRIGGER a_ins".into(),
        _ => format!(
            "CREATE TABLE {table}_v{n} (id INTEGER PRIMARY KEY ON CONFLICT IGNORE, name TEXT)"
        ),
    }
}

fn check(ops: &[(u8, usize)], copy: bool) -> Result<(), TestCaseError> {
    let dir = temp_dir();
    let path = dir.path().join("live.db");
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(START).unwrap();
    let before = inspect_with_notes(&conn).unwrap();
    prop_assert_eq!(before.notes.len(), 1, "{:?}", before.notes);
    let target = if copy {
        let copied = dir.path().join("copy.db");
        conn.execute("VACUUM INTO ?1", [copied.to_str().unwrap()])
            .unwrap();
        drop(conn);
        Connection::open(&copied).unwrap()
    } else {
        conn
    };
    // Nothing changed: everything is taken from before, and equal to a full inspection.
    let same = inspect_since(&target, Some(&before)).unwrap();
    prop_assert_eq!(&same.schema, &before.schema);
    prop_assert_eq!(&same.notes, &before.notes);
    prop_assert!(unchanged_since(&target, &before).unwrap());
    for (n, (op, table)) in ops.iter().enumerate() {
        let sql = statement(*op, TABLES[*table % TABLES.len()], n);
        let _ = target.execute_batch(&sql);
    }
    let full = inspect_with_notes(&target).unwrap();
    // Read without keeping the catalog rows (a scratch database's read-back), and without
    // notes: the same schema and notes.
    let rowless = inspect_without_rows(&target).unwrap();
    prop_assert_eq!(&rowless.schema, &full.schema);
    prop_assert_eq!(&rowless.notes, &full.notes);
    prop_assert!(rowless.rows.is_empty());
    prop_assert_eq!(&schemactl::inspect(&target).unwrap(), &full.schema);
    // Rows are one per object with SQL text (automatic indexes have none), shadow tables
    // included: what the catalog holds, not what the model keeps.
    let with_sql: i64 = target
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE sql IS NOT NULL \
             AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
             AND name NOT LIKE '\\_schemactl%' ESCAPE '\\'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    prop_assert_eq!(full.rows.len() as i64, with_sql);
    let since = inspect_since(&target, Some(&before)).unwrap();
    prop_assert_eq!(
        &since.schema,
        &full.schema,
        "{}",
        schemactl::normal::describe_difference(&full.schema, &since.schema)
    );
    prop_assert_eq!(&since.notes, &full.notes);
    prop_assert_eq!(&since.rows, &full.rows);
    // "Unchanged" exactly when every catalog row is the same, and then the full inspection
    // is the one before (what the pipeline takes instead of reading again).
    let unchanged = unchanged_since(&target, &before).unwrap();
    prop_assert_eq!(unchanged, full.rows == before.rows);
    if unchanged {
        prop_assert_eq!(&full.schema, &before.schema);
        prop_assert_eq!(&full.notes, &before.notes);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// After any DDL on the file inspected, or on a copy of it, reading again only what
    /// changed gives exactly what a full inspection gives.
    #[test]
    fn reading_again_only_what_changed_is_a_full_inspection(
        ops in proptest::collection::vec((any::<u8>(), 0usize..6), 0..8),
        copy in any::<bool>(),
    ) {
        check(&ops, copy)?;
    }
}

#[test]
fn every_kind_of_change_is_read_again() {
    // Each operation on each table alone, on the file and on a copy.
    for op in 0..14u8 {
        for table in 0..TABLES.len() {
            for copy in [false, true] {
                check(&[(op, table)], copy).unwrap();
            }
        }
    }
}

/// The words a legacy double-quoted string may hold, which a table may also gain as columns.
const WORDS: [&str; 3] = ["p", "q", "r"];

/// A view, trigger or index whose text holds `"word"`: SQLite reads it as a column of the
/// table it reads when that table has one, and as the string 'word' otherwise.
fn dqs_object(kind: usize, word: &str, n: usize) -> String {
    match kind % 4 {
        0 => format!("CREATE VIEW w{n} AS SELECT id FROM t WHERE v <> \"{word}\""),
        1 => format!(
            "CREATE TRIGGER tr{n} AFTER INSERT ON u BEGIN UPDATE t SET v = 1 WHERE v = \"{word}\"; END"
        ),
        2 => format!("CREATE VIEW w{n} AS SELECT \"{word}\" AS k FROM t"),
        _ => format!("CREATE INDEX i{n} ON t(v) WHERE v <> \"{word}\""),
    }
}

/// A change to `t`'s columns: add, drop or rename a column named like a word.
fn column_change(op: usize, word: &str, n: usize) -> String {
    match op % 3 {
        0 => format!("ALTER TABLE t ADD COLUMN {word} TEXT"),
        1 => format!("ALTER TABLE t DROP COLUMN {word}"),
        _ => format!("ALTER TABLE t RENAME COLUMN {word} TO {word}{n}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// What an inspection makes of a view's, trigger's or index's `"x"` depends on the columns
    /// of the table it reads, not on its own row: after random column changes to that table
    /// (the object's text unchanged, or rewritten by SQLite), reading again only what changed,
    /// step after step, gives what a full inspection gives.
    #[test]
    fn a_cached_object_follows_the_columns_it_reads(
        objects in proptest::collection::vec((0usize..4, 0usize..3), 1..4),
        steps in proptest::collection::vec(
            proptest::collection::vec((0usize..3, 0usize..3), 1..3),
            1..4,
        ),
        copy in any::<bool>(),
    ) {
        let dir = temp_dir();
        let path = dir.path().join("live.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); CREATE TABLE u (id INTEGER PRIMARY KEY);",
        )
        .unwrap();
        let mut texts = Vec::new();
        for (n, (kind, word)) in objects.iter().enumerate() {
            let sql = dqs_object(*kind, WORDS[*word], n);
            if conn.execute_batch(&sql).is_ok() {
                texts.push(sql);
            }
        }
        let mut before = inspect_with_notes(&conn).unwrap();
        let mut target = conn;
        let mut n = 0;
        for (k, step) in steps.iter().enumerate() {
            if copy && k == 0 {
                let copied = dir.path().join("copy.db");
                target
                    .execute("VACUUM INTO ?1", [copied.to_str().unwrap()])
                    .unwrap();
                target = Connection::open(&copied).unwrap();
            }
            for (op, word) in step {
                n += 1;
                // Refused ones (a column that is not there, one a view needs) change nothing.
                let _ = target.execute_batch(&column_change(*op, WORDS[*word], n));
            }
            let full = inspect_with_notes(&target).unwrap();
            let since = inspect_since(&target, Some(&before)).unwrap();
            prop_assert_eq!(
                &since.schema,
                &full.schema,
                "{:?}\n{}",
                texts,
                schemactl::normal::describe_difference(&full.schema, &since.schema)
            );
            prop_assert_eq!(&since.notes, &full.notes);
            before = since;
        }
    }
}

/// A project whose migration V1 adds a column to `a`; returns its pipeline options.
fn project(dir: &std::path::Path) -> Options {
    let db = dir.join("app.db");
    Connection::open(&db)
        .unwrap()
        .execute_batch(
            "CREATE TABLE a (id INTEGER PRIMARY KEY, name TEXT);
             CREATE TABLE b (id INTEGER PRIMARY KEY, name TEXT);
             CREATE INDEX b_name ON b(name);
             CREATE VIEW vb AS SELECT name FROM b;
             INSERT INTO a (name) VALUES ('x'); INSERT INTO b (name) VALUES ('y');",
        )
        .unwrap();
    std::fs::create_dir_all(dir.join("migrations")).unwrap();
    std::fs::create_dir_all(dir.join("rollbacks")).unwrap();
    std::fs::write(
        dir.join("migrations/V1__note.sql"),
        "ALTER TABLE a ADD COLUMN note TEXT;\n",
    )
    .unwrap();
    common::pipeline_options(dir, db)
}

/// Hand edits to objects the migration does not touch.
const EDITS: [&str; 4] = [
    "CREATE INDEX hand ON b(id, name)",
    "ALTER TABLE b ADD COLUMN hand TEXT",
    "DROP VIEW vb",
    "DROP INDEX b_name",
];

/// Runs the pipeline with `edit` made by another connection when the pipeline says a line
/// starting with `when`, and returns its error.
fn edited_while_running(edit: &str, when: &str) -> (tempfile::TempDir, Options, Error) {
    let dir = temp_dir();
    let opts = project(dir.path());
    let db = opts.database.clone();
    let mut say = |line: &str| {
        if line.starts_with(when) {
            Connection::open(&db).unwrap().execute_batch(edit).unwrap();
        }
    };
    let err = apply::apply(&opts, &mut say).expect_err("the hand edit must stop the apply");
    (dir, opts, err)
}

/// The schema check's refusal (refinery wraps the driver's error: its text is kept).
fn unexpected_schema(e: &Error) -> bool {
    matches!(e, Error::UnexpectedSchema { .. })
        || e.to_string()
            .contains("the schema after the migrations is not the schema they should produce")
}

fn assert_not_applied(opts: &Options, edit: &str) {
    let conn = Connection::open(&opts.database).unwrap();
    let columns: Vec<String> = conn
        .prepare("SELECT name FROM pragma_table_xinfo('a')")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(columns, ["id", "name"], "after {edit}: the migration ran");
    let history: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE name = '_schemactl_history'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    if history > 0 {
        let n: i64 = conn
            .query_row("SELECT count(*) FROM _schemactl_history", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0, "after {edit}: the migration was recorded");
    }
}

#[test]
fn a_hand_edit_after_the_backup_is_caught_by_the_live_run() {
    for edit in EDITS {
        // The backup (and so the rehearsal) has the database as inspected; the live one has
        // the edit: its schema check reads the edited object again and refuses.
        let (_dir, opts, err) = edited_while_running(edit, "rehearsing");
        match &err {
            Error::LiveRunFailed { source, .. } => {
                assert!(unexpected_schema(source), "{edit}: {source}")
            }
            other => panic!("{edit}: expected the live run to fail, got {other:?}"),
        }
        assert_not_applied(&opts, edit);
    }
}

#[test]
fn a_hand_edit_before_the_backup_is_caught_by_the_rehearsal() {
    for edit in EDITS {
        let (_dir, opts, err) = edited_while_running(edit, "backing up");
        match &err {
            Error::RehearsalFailed { source } => {
                assert!(unexpected_schema(source), "{edit}: {source}")
            }
            other => panic!("{edit}: expected the rehearsal to fail, got {other}"),
        }
        assert_not_applied(&opts, edit);
    }
}

#[test]
fn without_a_hand_edit_the_same_pipeline_applies() {
    // The control of the two tests above: the edit is what stops them.
    let dir = temp_dir();
    let opts = project(dir.path());
    let report = apply::apply(&opts, &mut |_| {}).unwrap();
    assert!(report.rehearsal.iter().any(|l| l == "schema: as expected"));
    assert!(report.checks.iter().any(|l| l == "schema: as expected"));
}

#[test]
fn an_inspection_older_than_the_lock_is_read_again_where_it_changed() {
    // sync plans against an inspection taken before the lock and hands it to the pipeline:
    // an object edited in between is read again, so the result is the one the pipeline gives
    // with no inspection handed over.
    let run = |hand: bool| {
        let dir = temp_dir();
        let mut opts = project(dir.path());
        std::fs::remove_file(dir.path().join("migrations/V1__note.sql")).unwrap();
        std::fs::write(
            dir.path().join("schema.yaml"),
            "schemactl: 1\nversion: 1\ntables:\n  a:\n    columns:\n      id: { type: INTEGER, primary_key: true }\n      name: { type: TEXT }\n      note: { type: TEXT }\n  b:\n    columns:\n      id: { type: INTEGER, primary_key: true }\n      name: { type: TEXT }\n    indexes:\n      b_name: { columns: [name] }\nviews:\n  vb:\n    sql: SELECT name FROM b\n",
        )
        .unwrap();
        let planned = schemactl::ops::sync::planned(&schemactl::ops::sync::Options {
            database: opts.database.clone(),
            schema: dir.path().join("schema.yaml"),
            migrations: opts.migrations.clone(),
            rollbacks: opts.rollbacks.clone(),
            ignore_lint: false,
            exclude: Default::default(),
            defer_lint: false,
        })
        .unwrap();
        assert!(!planned.migrations.is_empty());
        Connection::open(&opts.database)
            .unwrap()
            .execute_batch("ALTER TABLE b ADD COLUMN hand TEXT; CREATE INDEX hand ON b(hand);")
            .unwrap();
        opts.extra = planned.migrations;
        if hand {
            opts.inspected = Some(planned.inspected);
        }
        let report = apply::apply(&opts, &mut |_| {}).unwrap();
        assert!(report.checks.iter().any(|l| l == "schema: as expected"));
        let conn = Connection::open(&opts.database).unwrap();
        (dir, schemactl::inspect(&conn).unwrap())
    };
    let (_a, with) = run(true);
    let (_b, without) = run(false);
    assert_eq!(with, without);
    let b = with.table("b").unwrap();
    assert!(b.columns.iter().any(|c| c.name.as_str() == "hand"));
    assert!(b.indexes.iter().any(|i| i.name.as_str() == "hand"));
}
