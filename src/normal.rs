//! The one normal form: a schema is materialised in an in-memory SQLite and inspected back.
//!
//! Both sides of every comparison take this path (the live database is inspected directly, the
//! desired schema is rendered, created here and inspected), so two schemas are equal exactly
//! when their normal forms are equal, whatever spelling either side used.

use rusqlite::Connection;

pub mod part;
pub mod resolve;
pub mod scratch;
pub mod stand_in;

use crate::error::Result;
use crate::model::Schema;
use crate::render::{create_index, create_table, create_view};

/// SQLite's own message for an error; it lives in [`crate::error`], below this module.
pub use crate::error::sqlite_message;

/// A schema object, named for error reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Object {
    /// A table.
    Table(String),
    /// An index on a table.
    Index {
        /// The table.
        table: String,
        /// The index.
        name: String,
    },
    /// A view.
    View(String),
    /// A trigger.
    Trigger(String),
    /// A virtual table.
    VirtualTable(String),
}

impl std::fmt::Display for Object {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Object::Table(n) => write!(f, "table \"{n}\""),
            Object::Index { table, name } => write!(f, "index \"{name}\" on \"{table}\""),
            Object::View(n) => write!(f, "view \"{n}\""),
            Object::Trigger(n) => write!(f, "trigger \"{n}\""),
            Object::VirtualTable(n) => write!(f, "virtual table \"{n}\""),
        }
    }
}

/// SQLite refused to create an object of the schema.
#[derive(Debug, Clone)]
pub struct MaterialiseError {
    /// The object.
    pub object: Object,
    /// The statement that failed.
    pub sql: String,
    /// SQLite's message.
    pub message: String,
}

/// Returns the CREATE statements of a schema, each with its object, in an order SQLite accepts
/// (tables, their indexes, virtual tables, views, triggers). Views that depend on other views
/// are ordered by [`materialise`], which retries them.
pub fn ddl(schema: &Schema) -> Vec<(Object, String)> {
    let mut out = Vec::new();
    for t in &schema.tables {
        out.push((Object::Table(t.name.to_string()), create_table(t)));
    }
    for t in &schema.tables {
        for i in &t.indexes {
            let object = Object::Index {
                table: t.name.to_string(),
                name: i.name.to_string(),
            };
            out.push((object, create_index(&t.name, i)));
        }
    }
    for v in &schema.virtual_tables {
        out.push((
            Object::VirtualTable(v.name.to_string()),
            v.sql.as_str().to_string(),
        ));
    }
    for v in &schema.views {
        out.push((Object::View(v.name.to_string()), create_view(v)));
    }
    for t in &schema.triggers {
        out.push((
            Object::Trigger(t.name.to_string()),
            t.sql.as_str().to_string(),
        ));
    }
    out
}

/// Creates `schema` in a fresh in-memory database and returns the connection.
pub fn create_in_memory(schema: &Schema) -> Result<Connection, MaterialiseError> {
    let conn = Connection::open_in_memory().map_err(|e| MaterialiseError {
        object: Object::Table(String::new()),
        sql: String::new(),
        message: e.to_string(),
    })?;
    create(&conn, schema)?;
    Ok(conn)
}

/// Creates every object of `schema` on `conn`, one statement at a time.
///
/// Views are retried until no more can be created, so a view may use a view that sorts after
/// it. Each statement is prepared on its own, so text after a statement (`...; DROP TABLE x`)
/// is refused rather than run.
pub fn create(conn: &Connection, schema: &Schema) -> Result<(), MaterialiseError> {
    // A schema's verbatim text keeps to this database (see db::confined).
    let _confined = crate::db::confined::Confined::new(conn);
    let run = |object: &Object, sql: &str| -> Result<(), MaterialiseError> {
        conn.prepare(sql)
            .and_then(|mut stmt| stmt.execute([]))
            .map(|_| ())
            .map_err(|e| MaterialiseError {
                object: object.clone(),
                sql: sql.to_string(),
                message: sqlite_message(&e),
            })
    };
    let mut views = Vec::new();
    let mut triggers = Vec::new();
    for (object, sql) in ddl(schema) {
        match object {
            Object::View(_) => views.push((object, sql)),
            Object::Trigger(_) => triggers.push((object, sql)),
            _ => run(&object, &sql)?,
        }
    }
    while !views.is_empty() {
        let before = views.len();
        let mut last_err = None;
        views.retain(|(object, sql)| match run(object, sql) {
            Ok(()) => false,
            Err(e) => {
                last_err.get_or_insert(e);
                true
            }
        });
        if views.len() == before
            && let Some(e) = last_err
        {
            return Err(e);
        }
    }
    for (object, sql) in triggers {
        run(&object, &sql)?;
    }
    Ok(())
}

/// Materialises `schema` in memory and inspects it back: its normal form. The objects are
/// created in small scratch databases (see [`scratch`]), so the cost follows the schema's size;
/// the result is what one database holding them all reads back.
pub fn materialise(schema: &Schema) -> Result<Schema> {
    scratch::materialise(schema).map(|i| i.schema)
}

/// Returns the canonical dump of a schema: its CREATE statements, one block each, in the
/// deterministic order of [`ddl`].
pub fn dump(schema: &Schema) -> String {
    ddl(schema)
        .into_iter()
        .map(|(_, sql)| format!("{sql};\n"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Describes how `got` differs from `expected` as a unified diff of their dumps, for people:
/// each object's SQL keeps its own line breaks, and a name's control characters (a newline
/// too) are escaped ([`crate::printable::sql_lines`]), so a name cannot add a line to the diff
/// of a message that keeps its line breaks.
pub fn describe_difference(expected: &Schema, got: &Schema) -> String {
    let printable = |s: &Schema| crate::printable::sql_lines(&dump(s));
    similar::TextDiff::from_lines(&printable(expected), &printable(got))
        .unified_diff()
        .header("expected", "actual")
        .to_string()
}

/// The header of this repository's snapshot test (`tests/snapshots.rs`, asserting `dump`).
pub const SNAPSHOT_HEADER: &str = "source: tests/snapshots.rs\nexpression: dump\n";

/// Returns the canonical dump in insta's snapshot file format, as `snapshots/schema.snap`
/// holds it: a header, then the dump.
pub fn snapshot(schema: &Schema) -> String {
    snapshot_over(schema, None)
}

/// Returns the snapshot file insta writes for `schema`'s dump over `existing` (the snapshot
/// file's current text): its header kept (the test that owns it: `source`, `expression`,
/// ...) without the `assertion_line` insta no longer persists; [`SNAPSHOT_HEADER`] when there
/// is no such file or it has no header.
pub fn snapshot_over(schema: &Schema, existing: Option<&str>) -> String {
    let header = existing
        .and_then(|text| text.strip_prefix("---\n"))
        .and_then(|rest| rest.split_once("\n---\n"))
        .map(|(header, _)| {
            header
                .lines()
                .filter(|l| !l.starts_with("assertion_line:"))
                .map(|l| format!("{l}\n"))
                .collect::<String>()
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| SNAPSHOT_HEADER.to_string());
    format!("---\n{header}---\n{}", dump(schema))
}
