//! A name in a hand-written migration reads the same in every spelling SQLite accepts where a
//! name is expected: a word, "double-quoted", [bracketed], `backticked`, or a 'single-quoted
//! string'. Each reader of names in SQL (the renames a rollback follows, the row proof, the
//! trigger-loss gate, the rollback stash's restore) reads them as SQLite does, so that a
//! quoted or string name is never missed: no false refusal, no stash put back over rows the
//! migration brought, no rename taken for a drop. Examples for each reader, and a property
//! (32 cases): random migrations (rename a table, rename a column, add a column, copy a table,
//! create a trigger) on random names (spaces, quotes, backticks, unicode), each name written in
//! a random one of the five spellings, give the same outcome (exit statuses, the objects, the
//! rows and values, the stashes) through apply, rollback and apply again as the word form.

mod common;

use std::path::Path;

use common::{ok_in, schemactl, stderr, stdout};
use proptest::prelude::*;
use rusqlite::Connection;
use rusqlite::types::Value;

/// A project with hand-written `V1__init.sql` applied, `rows` inserted, then `V2__hand.sql`
/// (and its rollback) written.
fn project(v1: &str, rows: &str, v2: &str, rollback: &str) -> tempfile::TempDir {
    let dir = common::empty_project();
    std::fs::write(dir.path().join("migrations/V1__init.sql"), v1).unwrap();
    ok_in(dir.path(), &["apply", "--yes"]);
    write(dir.path(), rows);
    std::fs::write(dir.path().join("migrations/V2__hand.sql"), v2).unwrap();
    std::fs::write(dir.path().join("rollbacks/V2__hand.sql"), rollback).unwrap();
    dir
}

fn write(dir: &Path, sql: &str) {
    Connection::open(dir.join("db.sqlite"))
        .unwrap()
        .execute_batch(sql)
        .unwrap();
}

fn query(dir: &Path, sql: &str) -> Vec<Vec<String>> {
    let conn = Connection::open(dir.join("db.sqlite")).unwrap();
    let mut stmt = conn.prepare(sql).unwrap();
    let n = stmt.column_count();
    stmt.query_map([], |r| {
        (0..n)
            .map(|i| r.get::<_, Value>(i).map(|v| format!("{v:?}")))
            .collect::<rusqlite::Result<Vec<_>>>()
    })
    .unwrap()
    .map(|r| r.unwrap())
    .collect()
}

const V1: &str = "CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT, w TEXT);";
const ROWS: &str = "INSERT INTO a (v, w) VALUES ('x', 'y'), ('p', 'q');";

#[test]
fn a_table_renamed_by_strings_rolls_back_as_a_rename() {
    let dir = project(
        V1,
        ROWS,
        "ALTER TABLE 'a' RENAME TO 'b';",
        "ALTER TABLE 'b' RENAME TO 'a';",
    );
    ok_in(dir.path(), &["apply", "--yes"]);
    // Not a drop of b (refused without --allow-destructive): the reverse renames it back.
    ok_in(dir.path(), &["rollback", "last", "--yes"]);
    assert_eq!(
        query(dir.path(), "SELECT id, v, w FROM a ORDER BY id").len(),
        2
    );
}

#[test]
fn a_column_renamed_by_quoted_names_is_proven_and_rolled_back() {
    let dir = project(
        V1,
        ROWS,
        "ALTER TABLE \"a\" RENAME COLUMN 'v' TO \"v2\";",
        "ALTER TABLE [a] RENAME COLUMN `v2` TO 'v';",
    );
    // The row proof follows the rename (not "new column v2 does not hold its default").
    ok_in(dir.path(), &["apply", "--yes"]);
    assert_eq!(
        query(dir.path(), "SELECT v2 FROM a ORDER BY id"),
        vec![
            vec!["Text(\"x\")".to_string()],
            vec!["Text(\"p\")".to_string()]
        ]
    );
    ok_in(dir.path(), &["rollback", "last", "--yes"]);
    assert_eq!(query(dir.path(), "SELECT v FROM a ORDER BY id").len(), 2);
}

#[test]
fn a_trigger_dropped_by_a_string_name_is_dropped_by_name() {
    let dir = project(
        V1,
        ROWS,
        "CREATE TRIGGER tr AFTER INSERT ON a BEGIN SELECT 1; END;",
        "DROP TRIGGER 'tr';",
    );
    ok_in(dir.path(), &["apply", "--yes"]);
    // Not "the migrations lose trigger tr on a without dropping it by name".
    ok_in(dir.path(), &["rollback", "last", "--yes"]);
    assert!(
        query(
            dir.path(),
            "SELECT name FROM sqlite_schema WHERE type = 'trigger'"
        )
        .is_empty()
    );
}

#[test]
fn a_stash_is_not_put_back_over_rows_a_copy_through_strings_brought() {
    let dir = project(
        V1,
        ROWS,
        "CREATE TABLE 'n' AS SELECT * FROM 'a';",
        "DROP TABLE 'n';",
    );
    ok_in(dir.path(), &["apply", "--yes"]);
    ok_in(
        dir.path(),
        &["rollback", "last", "--yes", "--allow-destructive"],
    );
    write(dir.path(), "INSERT INTO a (v, w) VALUES ('new', 'row');");
    ok_in(dir.path(), &["apply", "--yes"]);
    // The copy brought the row written since the rollback; the stash (two rows) stays aside.
    assert_eq!(query(dir.path(), "SELECT id FROM n").len(), 3);
}

/// The five spellings of a name where SQL expects one. The word form is the bare name when
/// it is one, else the double-quoted name (the only way to write it as a word).
fn spell(name: &str, how: u8) -> String {
    let bare = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    match how {
        0 if bare => name.to_string(),
        0 | 1 => format!("\"{}\"", name.replace('"', "\"\"")),
        2 => format!("[{name}]"),
        3 => format!("`{}`", name.replace('`', "``")),
        _ => format!("'{}'", name.replace('\'', "''")),
    }
}

/// A random name: a prefix no keyword starts with, then letters, digits, spaces, quotes,
/// backticks and non-ASCII letters (never `]`, which a bracketed name cannot hold).
fn name(prefix: &'static str) -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just('a'),
            Just('z'),
            Just('7'),
            Just(' '),
            Just('\''),
            Just('"'),
            Just('`'),
            Just('é'),
            Just('日'),
        ],
        0..5,
    )
    .prop_map(move |cs| format!("{prefix}{}", cs.into_iter().collect::<String>()))
}

#[derive(Debug, Clone)]
struct Case {
    /// 0 rename the table, 1 rename a column, 2 add a column, 3 copy the table, 4 a trigger.
    kind: u8,
    /// The table, the column, the second name (new table, new column, copy, trigger).
    table: String,
    column: String,
    other: String,
    /// The spelling of each name occurrence of the migration and its rollback, in turn.
    spellings: Vec<u8>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        0u8..5,
        name("t_"),
        name("c_"),
        name("o_"),
        prop::collection::vec(0u8..5, 8),
    )
        .prop_map(|(kind, table, column, other, spellings)| Case {
            kind,
            table,
            column,
            other,
            spellings,
        })
}

impl Case {
    /// The migration and its rollback, each name spelled by `how` (occurrence `i` gets
    /// `how(i)`).
    fn texts(&self, how: impl Fn(usize) -> u8) -> (String, String) {
        let (t, c, o) = (&self.table, &self.column, &self.other);
        let s = |i: usize, n: &str| spell(n, how(i));
        match self.kind {
            0 => (
                format!("ALTER TABLE {} RENAME TO {};", s(0, t), s(1, o)),
                format!("ALTER TABLE {} RENAME TO {};", s(2, o), s(3, t)),
            ),
            1 => (
                format!(
                    "ALTER TABLE {} RENAME COLUMN {} TO {};",
                    s(0, t),
                    s(1, c),
                    s(2, o)
                ),
                format!(
                    "ALTER TABLE {} RENAME COLUMN {} TO {};",
                    s(3, t),
                    s(4, o),
                    s(5, c)
                ),
            ),
            2 => (
                format!("ALTER TABLE {} ADD COLUMN {} TEXT;", s(0, t), s(1, o)),
                format!("ALTER TABLE {} DROP COLUMN {};", s(2, t), s(3, o)),
            ),
            3 => (
                format!("CREATE TABLE {} AS SELECT * FROM {};", s(0, o), s(1, t)),
                format!("DROP TABLE {};", s(2, o)),
            ),
            _ => (
                format!(
                    "CREATE TRIGGER {} AFTER INSERT ON {} BEGIN SELECT 1; END;",
                    s(0, o),
                    s(1, t)
                ),
                format!("DROP TRIGGER {};", s(2, o)),
            ),
        }
    }

    /// A write after the migration, on its names (always quoted, SQLite's own way).
    fn write_after_apply(&self) -> String {
        let (t, c, o) = (q(&self.table), q(&self.column), q(&self.other));
        match self.kind {
            0 => format!("INSERT INTO {o} ({c}) VALUES ('after apply');"),
            1 => format!("UPDATE {t} SET {o} = {o} || '!' ;"),
            2 => format!("UPDATE {t} SET {o} = 'z' || id;"),
            3 => format!("UPDATE {o} SET {c} = 'copied';"),
            _ => format!("INSERT INTO {t} ({c}) VALUES ('after apply');"),
        }
    }
}

fn q(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// What a run leaves: the exit status of each step, the objects, every row of every table,
/// and how many stashes.
#[derive(Debug, PartialEq)]
struct Outcome {
    statuses: Vec<Option<i32>>,
    objects: Vec<Vec<String>>,
    rows: Vec<(String, Vec<Vec<String>>)>,
    stashes: usize,
}

fn run(c: &Case, how: impl Fn(usize) -> u8) -> Outcome {
    let (t, col) = (q(&c.table), q(&c.column));
    let (forward, reverse) = c.texts(how);
    let dir = project(
        &format!("CREATE TABLE {t} (id INTEGER PRIMARY KEY, {col} TEXT);"),
        &format!("INSERT INTO {t} ({col}) VALUES ('x'), ('y');"),
        &forward,
        &reverse,
    );
    let dir = dir.path();
    let mut statuses = Vec::new();
    let mut step = |args: &[&str]| {
        let out = schemactl(dir, args);
        statuses.push(out.status.code());
        format!("{}{}", stdout(&out), stderr(&out))
    };
    let applied = step(&["apply", "--yes"]);
    write(dir, &c.write_after_apply());
    let rolled = step(&["rollback", "last", "--yes", "--allow-destructive"]);
    write(
        dir,
        &format!("INSERT INTO {t} ({col}) VALUES ('after rollback');"),
    );
    let again = step(&["apply", "--yes"]);
    assert!(
        statuses.iter().all(|s| *s == Some(0)),
        "{forward} / {reverse}: {statuses:?}\n{applied}\n{rolled}\n{again}"
    );
    let objects = query(
        dir,
        "SELECT type, name FROM sqlite_schema WHERE name NOT LIKE '\\_schemactl\\_%' ESCAPE '\\' \
         AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY type, name",
    );
    let tables: Vec<String> = {
        let conn = Connection::open(dir.join("db.sqlite")).unwrap();
        let mut stmt = conn
            .prepare(
                "SELECT name FROM sqlite_schema WHERE type = 'table' \
                 AND name NOT LIKE '\\_schemactl\\_%' ESCAPE '\\' \
                 AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
            )
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    };
    let rows = tables
        .into_iter()
        .map(|name| {
            let rows = query(dir, &format!("SELECT * FROM {} ORDER BY rowid", q(&name)));
            (name, rows)
        })
        .collect();
    let stashes = query(
        dir,
        "SELECT name FROM sqlite_schema WHERE name LIKE '\\_schemactl\\_stash\\_%' ESCAPE '\\'",
    )
    .len();
    Outcome {
        statuses,
        objects,
        rows,
        stashes,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn every_spelling_of_a_name_gives_the_outcome_of_the_word(c in case()) {
        let word = run(&c, |_| 0);
        let spelled = run(&c, |i| c.spellings[i]);
        prop_assert_eq!(word, spelled, "{:?}", c.texts(|i| c.spellings[i]));
    }
}
