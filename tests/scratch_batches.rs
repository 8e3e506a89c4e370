//! Issue 14, class 8: the scratch databases (batches of 32 tables, each created, read back and
//! closed before the next one opens) give exactly what one database gives, on random schemas
//! crossing several batches with random clashes and refusals: an index or a view named like a
//! table or an index of another batch (in either case), a table named like a virtual table's
//! shadow table, a table SQLite refuses, a trigger on no table. Either both refuse, with the
//! same object and SQLite's same message (the first refusal one database meets), or both
//! accept, with the same schema, notes and statements read back.

use proptest::prelude::*;
use rusqlite::Connection;
use schemactl::inspect::inspect_with_notes;
use schemactl::model::{Name, Schema};
use schemactl::normal::{self, scratch};
use schemactl::sql::Sql;

/// `n` tables, each with an index and a foreign key to a table of another batch, triggers
/// writing to other batches, views joining tables of different batches, a view over a view,
/// and an FTS5 table.
fn base(n: usize) -> Schema {
    let mut sql = String::new();
    for i in 0..n {
        let parent = (i * 7 + 3) % n;
        sql.push_str(&format!(
            "CREATE TABLE t{i} (id INTEGER PRIMARY KEY, name TEXT, p INTEGER REFERENCES t{parent}(id));\n\
             CREATE INDEX t{i}_name ON t{i}(name);\n"
        ));
    }
    for i in (0..n).step_by(9) {
        let other = (i + 40) % n;
        sql.push_str(&format!(
            "CREATE TRIGGER t{i}_copy AFTER INSERT ON t{i} BEGIN \
             INSERT INTO t{other} (name) VALUES (new.name); END;\n"
        ));
    }
    for i in (0..n).step_by(17) {
        let other = (i + 33) % n;
        sql.push_str(&format!(
            "CREATE VIEW v{i} AS SELECT a.id, b.name FROM t{i} a JOIN t{other} b ON b.id = a.p;\n"
        ));
    }
    sql.push_str("CREATE VIEW v_all AS SELECT * FROM v0 UNION ALL SELECT * FROM v17;\n");
    sql.push_str("CREATE VIRTUAL TABLE docs USING fts5(body);\n");
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(&sql).unwrap();
    schemactl::inspect(&conn).unwrap()
}

/// One change that may make the schema a refused one.
#[derive(Debug, Clone)]
enum Change {
    /// Table a's index takes table b's name.
    IndexLikeTable(usize, usize, bool),
    /// Table a's index takes table b's index's name.
    IndexLikeIndex(usize, usize, bool),
    /// Table a takes table b's name.
    TableLikeTable(usize, usize, bool),
    /// A view takes table b's name.
    ViewLikeTable(usize, usize, bool),
    /// Table a's CREATE is refused (a syntax error).
    BadTable(usize),
    /// A table named like the FTS5 table's shadow table is inserted before table a.
    ShadowName(usize, bool),
    /// A trigger is on a table that does not exist.
    TriggerOnNothing(usize),
}

fn change() -> impl Strategy<Value = Change> {
    let i = || 0usize..1000;
    prop_oneof![
        (i(), i(), any::<bool>()).prop_map(|(a, b, u)| Change::IndexLikeTable(a, b, u)),
        (i(), i(), any::<bool>()).prop_map(|(a, b, u)| Change::IndexLikeIndex(a, b, u)),
        (i(), i(), any::<bool>()).prop_map(|(a, b, u)| Change::TableLikeTable(a, b, u)),
        (i(), i(), any::<bool>()).prop_map(|(a, b, u)| Change::ViewLikeTable(a, b, u)),
        i().prop_map(Change::BadTable),
        (i(), any::<bool>()).prop_map(|(a, u)| Change::ShadowName(a, u)),
        i().prop_map(Change::TriggerOnNothing),
    ]
}

fn cased(name: &str, upper: bool) -> Name {
    Name::new(if upper {
        name.to_ascii_uppercase()
    } else {
        name.to_string()
    })
}

fn apply(schema: &mut Schema, change: &Change) {
    let n = schema.tables.len();
    let name = |s: &Schema, b: usize| s.tables[b % n].name.to_string();
    match *change {
        Change::IndexLikeTable(a, b, u) => {
            let taken = name(schema, b);
            schema.tables[a % n].indexes[0].name = cased(&taken, u);
        }
        Change::IndexLikeIndex(a, b, u) => {
            let taken = schema.tables[b % n].indexes[0].name.to_string();
            schema.tables[a % n].indexes[0].name = cased(&taken, u);
        }
        Change::TableLikeTable(a, b, u) => {
            let taken = name(schema, b);
            schema.tables[a % n].name = cased(&taken, u);
        }
        Change::ViewLikeTable(a, b, u) => {
            let taken = name(schema, b);
            let views = schema.views.len();
            schema.views[a % views].name = cased(&taken, u);
        }
        Change::BadTable(a) => {
            let t = &mut schema.tables[a % n];
            t.verbatim = Some(Sql::new(format!(
                "CREATE TABLE \"{}\" (id INTEGER PRIMARY KEY, name TEXT,)",
                t.name
            )));
        }
        Change::ShadowName(a, u) => {
            let mut t = schema.tables[a % n].clone();
            t.name = cased("docs_data", u);
            t.indexes[0].name = Name::new(format!("docs_data_{a}"));
            schema.tables.insert(a % n, t);
        }
        Change::TriggerOnNothing(a) => {
            let triggers = schema.triggers.len();
            let t = &mut schema.triggers[a % triggers];
            t.sql = Sql::new(format!(
                "CREATE TRIGGER \"{}\" AFTER INSERT ON nosuch BEGIN SELECT 1; END",
                t.name
            ));
        }
    }
}

/// Sorted, for comparing what two inspections read regardless of database order.
fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn batches_give_what_one_database_gives(
        n in 33usize..110,
        changes in prop::collection::vec(change(), 0..3),
    ) {
        let mut schema = base(n);
        for c in &changes {
            apply(&mut schema, c);
        }
        let one = normal::create_in_memory(&schema);
        let batches = scratch::create(&schema);
        let statements = scratch::statements(&schema);
        // What loading uses: the schema read back alone, with the same refusal.
        let inspected = scratch::create_inspected(&schema);
        match (&one, &inspected) {
            (Err(want), Err(got)) => {
                prop_assert_eq!(&got.object, &want.object);
                prop_assert_eq!(&got.message, &want.message);
            }
            (Ok(conn), Ok(Ok(got))) => {
                let want = inspect_with_notes(conn).unwrap();
                prop_assert_eq!(&got.schema, &want.schema);
                prop_assert_eq!(sorted(got.notes.clone()), sorted(want.notes));
            }
            _ => prop_assert!(false, "one database and the read-back disagree: {:?}", changes),
        }
        match (one, batches) {
            (Err(want), Err(got)) => {
                prop_assert_eq!(&got.object, &want.object, "{:?}", changes);
                prop_assert_eq!(&got.message, &want.message, "{:?}", changes);
                let got = statements.err().map(|e| (e.object, e.message));
                prop_assert_eq!(got, Some((want.object, want.message)));
            }
            (Ok(conn), Ok(batches)) => {
                let want = inspect_with_notes(&conn).unwrap();
                let got = batches.inspect().unwrap();
                prop_assert_eq!(&got.schema, &want.schema, "{:?}", changes);
                prop_assert_eq!(sorted(got.notes), sorted(want.notes));
                // The statements are SQLite's own text of every object, as one database
                // keeps them (in another order: batch after batch), but for the shadow
                // tables of a virtual table, which its CREATE makes.
                let mut one_db = Vec::new();
                let mut stmt = conn
                    .prepare(
                        "SELECT sql FROM sqlite_schema AS s WHERE sql IS NOT NULL \
                         AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
                         AND NOT EXISTS (SELECT 1 FROM pragma_table_list AS l \
                           WHERE l.schema = 'main' AND l.name = s.name AND l.type = 'shadow')",
                    )
                    .unwrap();
                for row in stmt.query_map([], |r| r.get::<_, String>(0)).unwrap() {
                    one_db.push(row.unwrap());
                }
                let statements = statements.unwrap();
                prop_assert_eq!(sorted(statements.clone()), sorted(one_db));
                // Replayed from empty in their order, they build the same schema.
                let replayed = Connection::open_in_memory().unwrap();
                for sql in &statements {
                    replayed.execute_batch(sql).map_err(|e| {
                        TestCaseError::fail(format!("{sql}: {e}"))
                    })?;
                }
                let again = inspect_with_notes(&replayed).unwrap();
                prop_assert_eq!(&again.schema, &want.schema);
            }
            (want, got) => prop_assert!(
                false,
                "one database: {:?}; batches: {:?}; {:?}",
                want.err().map(|e| e.message),
                got.err().map(|e| e.message),
                changes
            ),
        }
    }
}
