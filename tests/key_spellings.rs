//! A key column and a collation are names, and SQLite reads a name in a key list in every
//! spelling: bare, `"a"`, `[a]`, `` `a` `` and the string `'a'` (a string literal in a
//! PRIMARY KEY, UNIQUE or index column list is the column of that name), and
//! `COLLATE 'nocase'` is the collation `nocase`. Whatever the spelling, the schema read from
//! the database is the one read from its bare spelling (no false change in a plan), and the
//! database schemactl creates from it has the same catalog (`index_xinfo`: columns,
//! collations, order; `table_xinfo`: primary key), so a rebuild keeps the key and its
//! collation.

mod common;

use proptest::prelude::*;
use rusqlite::Connection;
use schemactl::diff::diff;
use schemactl::model::Schema;
use schemactl::plan::{Direction, plan};
use schemactl::{apply, inspect};

/// `name` in spelling `how` (0 bare, 1 double quotes, 2 brackets, 3 backticks, 4 string).
fn spell(name: &str, how: usize) -> String {
    match how {
        0 => name.to_string(),
        1 => format!("\"{name}\""),
        2 => format!("[{name}]"),
        3 => format!("`{name}`"),
        _ => format!("'{name}'"),
    }
}

/// One key part: a column in a spelling, with a collation in a spelling (or none), ASC/DESC.
#[derive(Debug, Clone)]
struct Part {
    column: &'static str,
    how: usize,
    collation: Option<(&'static str, usize)>,
    order: &'static str,
}

impl Part {
    fn sql(&self, spelled: bool) -> String {
        let how = |h: usize| if spelled { h } else { 0 };
        let mut s = spell(self.column, how(self.how));
        if let Some((c, h)) = self.collation {
            s.push_str(&format!(" COLLATE {}", spell(c, how(h))));
        }
        s.push_str(self.order);
        s
    }
}

fn part(column: &'static str) -> impl Strategy<Value = Part> {
    (
        Just(column),
        0..5usize,
        prop::option::of((
            prop::sample::select(vec!["nocase", "NOCASE", "rtrim"]),
            0..5usize,
        )),
        prop::sample::select(vec!["", " ASC", " DESC"]),
    )
        .prop_map(|(column, how, collation, order)| Part {
            column,
            how,
            collation,
            order,
        })
}

/// One to three key parts, each on another column (a column twice in one key makes the
/// table one schemactl keeps verbatim, compared as text), in any order.
fn keys() -> impl Strategy<Value = Vec<Part>> {
    prop::sample::subsequence(vec!["a", "b", "c"], 1..=3)
        .prop_shuffle()
        .prop_flat_map(|columns| columns.into_iter().map(part).collect::<Vec<_>>())
}

/// The DDL: a table whose key is `parts` (as PRIMARY KEY, UNIQUE, or an index), spelled or
/// bare.
fn ddl(kind: usize, parts: &[Part], spelled: bool) -> String {
    let keys: Vec<String> = parts.iter().map(|p| p.sql(spelled)).collect();
    let keys = keys.join(", ");
    let columns = "a TEXT, b TEXT, c INTEGER";
    match kind {
        0 => format!("CREATE TABLE t ({columns}, PRIMARY KEY ({keys}));"),
        1 => format!("CREATE TABLE t ({columns}, PRIMARY KEY ({keys})) WITHOUT ROWID;"),
        2 => format!("CREATE TABLE t ({columns}, UNIQUE ({keys}));"),
        _ => format!("CREATE TABLE t ({columns}); CREATE UNIQUE INDEX i ON t ({keys});"),
    }
}

fn database(ddl: &str) -> Option<Connection> {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(ddl).ok().map(|()| conn)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn key_columns_and_collations_are_read_in_every_spelling(
        kind in 0..4usize,
        parts in keys(),
    ) {
        let spelled = ddl(kind, &parts, true);
        let bare = ddl(kind, &parts, false);
        // SQLite refuses some shapes (a collation on a rowid alias): both spellings alike.
        let (Some(live), Some(plain)) = (database(&spelled), database(&bare)) else {
            prop_assert!(database(&spelled).is_none() && database(&bare).is_none(), "{spelled}\n{bare}");
            return Ok(());
        };
        let read = inspect(&live).unwrap();
        let read_bare = inspect(&plain).unwrap();
        // No false change: the spelled database's schema is the bare one's.
        let changes = diff(&read, &read_bare, &Default::default()).unwrap();
        prop_assert!(changes.is_empty(), "{spelled}\n{bare}\n{changes:?}");
        // Created anew from what was read: the same catalog as the database it was read from.
        let fresh = Connection::open_in_memory().unwrap();
        let empty = Schema::default();
        let create = diff(&empty, &read, &Default::default()).unwrap();
        let steps = plan(&empty, &read, &create);
        apply::execute(&fresh, &steps, Direction::Forward).unwrap();
        let difference = common::catalog::catalog_difference(&live, &fresh);
        prop_assert!(difference.is_empty(), "{spelled}\n{difference}\n{}", steps.script(Direction::Forward));
    }
}
