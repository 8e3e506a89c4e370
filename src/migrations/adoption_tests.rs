//! An adoption replayed in batches builds, as SQLite's catalog reports it, exactly the schema
//! one database builds from the same statements; what batches cannot judge alike falls back.

use proptest::prelude::*;
use rusqlite::Connection;

use super::batched;
use crate::sql::{quote_ident as q, quote_literal};

/// The schema `statements` build in one in-memory database, as the replay read it before.
fn in_one(statements: &[String]) -> crate::model::Schema {
    let conn = Connection::open_in_memory().expect("open");
    conn.execute_batch("PRAGMA foreign_keys = OFF")
        .expect("pragma");
    for s in statements {
        conn.execute_batch(s).unwrap_or_else(|e| panic!("{s}: {e}"));
    }
    crate::inspect(&conn).expect("inspect")
}

fn joined(statements: &[String]) -> String {
    statements.iter().map(|s| format!("{s};\n")).collect()
}

/// A schema of `names.len()` tables that crosses batches every way: each table has a foreign
/// key to the one before, an index, a partial unique index and an expression index; every
/// third a trigger that writes the next table; views over tables of other batches and over a
/// view that sorts after them; a trigger on a view; a WITHOUT ROWID table with a generated
/// column and a CHECK.
fn statements(names: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for (k, n) in names.iter().enumerate() {
        let parent = if k == 0 {
            String::new()
        } else {
            format!(
                ", parent INTEGER REFERENCES {}(id) ON DELETE CASCADE",
                q(&names[k - 1])
            )
        };
        if k % 5 == 4 {
            out.push(format!(
                "CREATE TABLE {} (id INTEGER NOT NULL, v TEXT COLLATE NOCASE CHECK (length(v) < 99), \
                 w INTEGER GENERATED ALWAYS AS (id * 2) VIRTUAL{parent}, PRIMARY KEY (id, v)) WITHOUT ROWID",
                q(n)
            ));
        } else {
            out.push(format!(
                "CREATE TABLE {} (id INTEGER PRIMARY KEY, v TEXT DEFAULT {} NOT NULL{parent})",
                q(n),
                quote_literal(n)
            ));
        }
        out.push(format!(
            "CREATE INDEX {} ON {} (v)",
            q(&format!("{n} v")),
            q(n)
        ));
        out.push(format!(
            "CREATE UNIQUE INDEX {} ON {} (v, id) WHERE v <> 'x'",
            q(&format!("{n} u")),
            q(n)
        ));
        out.push(format!(
            "CREATE INDEX {} ON {} (lower(v))",
            q(&format!("{n} e")),
            q(n)
        ));
        if k % 3 == 0
            && let Some(next) = names.get(k + 1)
        {
            out.push(format!(
                "CREATE TRIGGER {} AFTER INSERT ON {} BEGIN INSERT INTO {} (v) VALUES (new.v); END",
                q(&format!("{n} t")),
                q(n),
                q(next)
            ));
        }
    }
    let last = names.len() - 1;
    // A view over a view that is created after it, and both over tables of other batches.
    out.push(format!(
        "CREATE VIEW {} AS SELECT a.id, b.v FROM {} AS a JOIN {} AS b ON a.id = b.id",
        q("v1 outer"),
        q("v2 inner"),
        q(&names[last])
    ));
    out.push(format!(
        "CREATE VIEW {} AS SELECT id, v FROM {}",
        q("v2 inner"),
        q(&names[0])
    ));
    out.push(format!(
        "CREATE TRIGGER {} INSTEAD OF INSERT ON {} BEGIN INSERT INTO {} (v) VALUES (new.v); END",
        q("on view"),
        q("v2 inner"),
        q(&names[0])
    ));
    out
}

/// In the order one database accepts them: the view over the later view needs it first.
fn one_db_order(statements: &[String]) -> Vec<String> {
    let mut s = statements.to_vec();
    let n = s.len();
    s.swap(n - 3, n - 2);
    s
}

#[test]
fn a_large_adoption_is_batched_and_builds_what_one_database_builds() {
    let names: Vec<String> = (0..70).map(|k| format!("table {k:03}")).collect();
    let list = statements(&names);
    let batched_schema = batched(&joined(&one_db_order(&list)), 0, 32)
        .expect("an adoption of plain CREATEs is batched");
    assert_eq!(batched_schema, in_one(&one_db_order(&list)));
    // The threshold: a small adoption runs in one database.
    assert!(batched(&joined(&list[..10]), 256, 32).is_none());
}

#[test]
fn what_batches_cannot_judge_alike_runs_in_one_database() {
    let base = [
        "CREATE TABLE a (id INTEGER PRIMARY KEY)".to_string(),
        "CREATE TABLE b (id INTEGER PRIMARY KEY)".to_string(),
    ];
    let with = |extra: &str| {
        let mut s = base.to_vec();
        s.push(extra.to_string());
        joined(&s)
    };
    assert!(batched(&joined(&base), 0, 1).is_some());
    // An index named like a table of another batch: one database refuses it.
    assert!(batched(&with("CREATE INDEX a ON b (id)"), 0, 1).is_none());
    // A name taken twice, in any case.
    assert!(batched(&with("CREATE TABLE A (x)"), 0, 1).is_none());
    assert!(batched(&with("CREATE VIEW B AS SELECT 1"), 0, 1).is_none());
    // Triggers share their own namespace across batches.
    assert!(
        batched(
            &format!(
                "{}CREATE TRIGGER t AFTER INSERT ON a BEGIN SELECT 1; END;\n\
                 CREATE TRIGGER T AFTER INSERT ON b BEGIN SELECT 1; END;\n",
                joined(&base)
            ),
            0,
            1
        )
        .is_none()
    );
    // Virtual tables (an older adoption holds their shadow tables too), temp and qualified
    // names, anything but a CREATE, and a statement SQLite refuses.
    assert!(batched(&with("CREATE VIRTUAL TABLE d USING fts5(body)"), 0, 1).is_none());
    assert!(batched(&with("CREATE TEMP TABLE c (x)"), 0, 1).is_none());
    assert!(batched(&with("CREATE TABLE main.c (x)"), 0, 1).is_none());
    assert!(batched(&with("INSERT INTO a VALUES (1)"), 0, 1).is_none());
    assert!(batched(&with("CREATE INDEX i ON a (missing)"), 0, 1).is_none());
}

/// Names as an application may choose them: spaces, quotes of every kind, a newline, unicode.
fn name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9 \"'`\\[\\]\n_é]{0,8}"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn any_names_any_batch_size_build_the_same_schema(
        names in proptest::collection::hash_set(name(), 2..9),
        per_batch in 1usize..4,
    ) {
        // Names that differ only in case are one name to SQLite: kept apart here, since
        // the fallback for a clash is checked above.
        let mut seen = std::collections::HashSet::new();
        let names: Vec<String> = names
            .into_iter()
            .filter(|n| seen.insert(n.to_lowercase()))
            .filter(|n| !n.to_lowercase().starts_with("sqlite_"))
            .collect();
        prop_assume!(names.len() >= 2);
        // Every name the schema takes (tables, indexes, views) once: a clash falls back.
        let mut taken = std::collections::HashSet::new();
        let all = names
            .iter()
            .flat_map(|n| [n.clone(), format!("{n} v"), format!("{n} u"), format!("{n} e")])
            .chain(["v1 outer".to_string(), "v2 inner".to_string()]);
        let distinct = all.into_iter().all(|n| taken.insert(n.to_lowercase()));
        prop_assume!(distinct);
        let list = one_db_order(&statements(&names));
        let got = batched(&joined(&list), 0, per_batch);
        prop_assert!(got.is_some(), "{:?}", names);
        prop_assert_eq!(got.unwrap_or_default(), in_one(&list));
    }
}
