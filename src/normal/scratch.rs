//! Materialising a schema in small scratch databases, so its cost follows its size.
//!
//! SQLite rereads its catalog on every CREATE (`OP_ParseSchema` scans `sqlite_schema` for the
//! new object and `OP_SetCookie` walks every table's foreign keys), so creating N objects in
//! one database costs O(N²): 26 s for 5,000 tables and their indexes. Nothing a CREATE checks
//! needs another table, though: a foreign key's parent need not exist, a trigger's body and a
//! view's query are only resolved when used. So each batch of tables is created, with its
//! indexes and triggers, in its own in-memory database, and views, virtual tables and the
//! triggers on views in one more; every object is still created by SQLite itself, which keeps
//! every load-time error exactly as one database gives it.
//!
//! What one database would also refuse across batches is a name used twice (an index named
//! like a table of another batch, a virtual table's shadow table): every name is registered as
//! it is created, in the order one database would create it, and a clash is replayed on a
//! fresh database with just the two objects, so the message is SQLite's own.

use std::collections::HashMap;

use rusqlite::Connection;

use super::{MaterialiseError, Object, sqlite_message};
use crate::error::{Error, Result};
use crate::inspect::{Inspection, inspect_with_notes};
use crate::model::Schema;
use crate::render::{create_index, create_table, create_view};

/// Tables per scratch database: small enough that SQLite's per-CREATE catalog work stays
/// small, large enough that opening the databases costs nothing next to it.
const TABLES_PER_BATCH: usize = 32;

/// A schema created in scratch databases: one per batch of tables, and one for the rest.
pub struct Scratch {
    batches: Vec<Connection>,
}

impl Scratch {
    /// Returns every CREATE statement, scratch database after scratch database, each in the
    /// order it was created (SQLite's own text, as `sqlite_schema` keeps it): replayed from
    /// empty in this order, they build the schema.
    pub fn statements(&self) -> rusqlite::Result<Vec<String>> {
        let mut out = Vec::new();
        for conn in &self.batches {
            let mut stmt = conn.prepare(
                "SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL \
                 AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid",
            )?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            for row in rows {
                out.push(row?);
            }
        }
        Ok(out)
    }

    /// Reads the schema back from every scratch database, as one schema with its notes.
    pub fn inspect(&self) -> Result<Inspection> {
        let mut out = Inspection::default();
        for conn in &self.batches {
            let part = inspect_with_notes(conn)?;
            out.schema.tables.extend(part.schema.tables);
            out.schema.views.extend(part.schema.views);
            out.schema.triggers.extend(part.schema.triggers);
            out.schema.virtual_tables.extend(part.schema.virtual_tables);
            out.notes.extend(part.notes);
        }
        out.schema.normalize();
        Ok(out)
    }
}

/// One object to create: where, what, and the statements a replay needs before it.
struct Job {
    batch: usize,
    object: Object,
    sql: String,
    /// The CREATE of the index's table, for an index (a replay needs the table first).
    table_sql: Option<String>,
}

/// Creates every object of `schema` in scratch databases, in the order one database would
/// create them (tables, indexes, virtual tables, views, triggers), stopping at the first
/// refusal, as [`super::create`] does.
pub fn create(schema: &Schema) -> Result<Scratch, MaterialiseError> {
    let batch_of_table: HashMap<String, usize> = schema
        .tables
        .iter()
        .enumerate()
        .map(|(i, t)| (t.name.to_ascii_lowercase(), i / TABLES_PER_BATCH))
        .collect();
    let rest = schema.tables.len().div_ceil(TABLES_PER_BATCH);
    let mut jobs: Vec<Job> = Vec::new();
    for (i, t) in schema.tables.iter().enumerate() {
        jobs.push(Job {
            batch: i / TABLES_PER_BATCH,
            object: Object::Table(t.name.to_string()),
            sql: create_table(t),
            table_sql: None,
        });
    }
    for (i, t) in schema.tables.iter().enumerate() {
        for index in &t.indexes {
            jobs.push(Job {
                batch: i / TABLES_PER_BATCH,
                object: Object::Index {
                    table: t.name.to_string(),
                    name: index.name.to_string(),
                },
                sql: create_index(&t.name, index),
                table_sql: Some(create_table(t)),
            });
        }
    }
    for v in &schema.virtual_tables {
        jobs.push(Job {
            batch: rest,
            object: Object::VirtualTable(v.name.to_string()),
            sql: v.sql.as_str().to_string(),
            table_sql: None,
        });
    }
    let mut views = Vec::new();
    for v in &schema.views {
        views.push(Job {
            batch: rest,
            object: Object::View(v.name.to_string()),
            sql: create_view(v),
            table_sql: None,
        });
    }
    let mut triggers = Vec::new();
    for t in &schema.triggers {
        // A trigger on a table goes with it; on a view (or on nothing, which SQLite refuses)
        // with the views.
        let batch = batch_of_table
            .get(&t.table.to_ascii_lowercase())
            .copied()
            .unwrap_or(rest);
        triggers.push(Job {
            batch,
            object: Object::Trigger(t.name.to_string()),
            sql: t.sql.as_str().to_string(),
            table_sql: None,
        });
    }

    let mut run = Runner {
        batches: Vec::new(),
        names: HashMap::new(),
    };
    for job in &jobs {
        run.create(job)?;
    }
    // Views are retried until no more can be created, so a view may use a view that sorts
    // after it.
    while !views.is_empty() {
        let before = views.len();
        let mut first_err = None;
        let mut left = Vec::new();
        for job in views {
            match run.create(&job) {
                Ok(()) => {}
                Err(e) => {
                    first_err.get_or_insert(e);
                    left.push(job);
                }
            }
        }
        views = left;
        if views.len() == before
            && let Some(e) = first_err
        {
            return Err(e);
        }
    }
    for job in &triggers {
        run.create(job)?;
    }
    Ok(Scratch {
        batches: run.batches,
    })
}

/// The scratch databases being filled, and every name created so far with its owner.
struct Runner {
    batches: Vec<Connection>,
    /// Lowercased name -> the batch and the job (object, statements) that created it.
    names: HashMap<String, (usize, Object, Vec<String>)>,
}

impl Runner {
    fn conn(&mut self, batch: usize) -> Result<&Connection, MaterialiseError> {
        while self.batches.len() <= batch {
            // The smallest page: each table and index takes a root page and holds no row, so
            // 157 databases of 4 KiB pages hold 40 MB of empty pages at 5,000 tables.
            let conn = Connection::open_in_memory()
                .and_then(|c| c.execute_batch("PRAGMA page_size = 512").map(|()| c))
                .map_err(|e| MaterialiseError {
                    object: Object::Table(String::new()),
                    sql: String::new(),
                    message: sqlite_message(&e),
                })?;
            self.batches.push(conn);
        }
        self.batches.get(batch).ok_or_else(|| MaterialiseError {
            object: Object::Table(String::new()),
            sql: String::new(),
            message: "no scratch database".into(),
        })
    }

    /// Creates one object in its batch, then registers the names it made (a virtual table
    /// makes its shadow tables too); a name another batch already holds is SQLite's refusal,
    /// replayed.
    fn create(&mut self, job: &Job) -> Result<(), MaterialiseError> {
        let fail = |e: rusqlite::Error| MaterialiseError {
            object: job.object.clone(),
            sql: job.sql.clone(),
            message: sqlite_message(&e),
        };
        // Before running it: a clash with another batch must be refused before anything of
        // it exists, as one database would.
        let own = own_name(&job.object);
        if let Some(name) = &own
            && let Some((batch, _, owner)) = self.names.get(&name.to_ascii_lowercase())
            && *batch != job.batch
        {
            return Err(replay(owner, job));
        }
        let conn = self.conn(job.batch)?;
        conn.prepare(&job.sql)
            .and_then(|mut stmt| stmt.execute([]))
            .map_err(fail)?;
        let made: Vec<String> = match (&job.object, own) {
            (Object::VirtualTable(_), _) => conn
                .prepare("SELECT name FROM sqlite_schema WHERE type IN ('table', 'index')")
                .and_then(|mut s| {
                    s.query_map([], |r| r.get::<_, String>(0))?
                        .collect::<rusqlite::Result<Vec<_>>>()
                })
                .map_err(fail)?,
            (_, Some(name)) => vec![name],
            (_, None) => Vec::new(),
        };
        let statements: Vec<String> = job
            .table_sql
            .iter()
            .cloned()
            .chain([job.sql.clone()])
            .collect();
        for name in made {
            let key = name.to_ascii_lowercase();
            match self.names.get(&key) {
                Some((batch, _, owner)) if *batch != job.batch => {
                    return Err(replay(owner, job));
                }
                Some(_) => {}
                None => {
                    self.names
                        .insert(key, (job.batch, job.object.clone(), statements.clone()));
                }
            }
        }
        Ok(())
    }
}

/// The name an object takes in the tables-and-indexes namespace (triggers have their own,
/// and the DSL already refuses a trigger name used twice).
fn own_name(object: &Object) -> Option<String> {
    match object {
        Object::Table(n) | Object::View(n) => Some(n.clone()),
        Object::Index { name, .. } => Some(name.clone()),
        Object::VirtualTable(_) | Object::Trigger(_) => None,
    }
}

/// Creates `owner`'s statements, then `job`'s, on a fresh database, and returns SQLite's
/// refusal of `job`.
fn replay(owner: &[String], job: &Job) -> MaterialiseError {
    let refused = |message: String| MaterialiseError {
        object: job.object.clone(),
        sql: job.sql.clone(),
        message,
    };
    let conn = match Connection::open_in_memory() {
        Ok(c) => c,
        Err(e) => return refused(sqlite_message(&e)),
    };
    for sql in owner.iter().chain(job.table_sql.iter()) {
        // The owner was created once already; an index's table is created before its index
        // in every batch. Either may fail here only when it clashes itself, which is the
        // refusal to report.
        if let Err(e) = conn.execute_batch(sql) {
            return refused(sqlite_message(&e));
        }
    }
    match conn.prepare(&job.sql).and_then(|mut s| s.execute([])) {
        Err(e) => refused(sqlite_message(&e)),
        Ok(_) => refused(match own_name(&job.object) {
            Some(name) => format!("there is already an object named {name}"),
            None => "its name is already taken by another object".into(),
        }),
    }
}

/// Materialises `schema` in scratch databases and inspects it back, with notes.
pub fn materialise(schema: &Schema) -> Result<Inspection> {
    let scratch = create(schema).map_err(|e| Error::Inspect {
        object: e.object.to_string(),
        message: e.message,
    })?;
    scratch.inspect()
}

/// Creates `schema`'s views in one scratch database, with the tables, indexes and virtual
/// tables their queries name (views are compiled only when used, against what they read),
/// and returns each view SQLite cannot compile with its message.
pub fn compile_views(schema: &Schema) -> Result<Vec<(String, String)>, MaterialiseError> {
    if schema.views.is_empty() {
        return Ok(Vec::new());
    }
    let mut words: std::collections::HashSet<String> = std::collections::HashSet::new();
    for v in &schema.views {
        match crate::sql::lex(v.select.as_str()) {
            Ok(tokens) => words.extend(
                tokens
                    .iter()
                    .filter_map(|t| t.word())
                    .map(str::to_ascii_lowercase),
            ),
            // Unlexable text names nothing we can see: take every table (SQLite will refuse
            // the view anyway).
            Err(_) => words.extend(schema.tables.iter().map(|t| t.name.to_ascii_lowercase())),
        }
    }
    let named = |n: &str| words.contains(&n.to_ascii_lowercase());
    let part = Schema {
        tables: schema
            .tables
            .iter()
            .filter(|t| named(&t.name))
            .cloned()
            .collect(),
        virtual_tables: schema
            .virtual_tables
            .iter()
            .filter(|v| named(&v.name))
            .cloned()
            .collect(),
        views: schema.views.clone(),
        triggers: Vec::new(),
    };
    let conn = super::create_in_memory(&part)?;
    let mut refused = Vec::new();
    for view in &schema.views {
        let sql = format!(
            "SELECT * FROM {} LIMIT 0",
            crate::sql::quote_ident(&view.name)
        );
        if let Err(e) = conn.prepare(&sql) {
            refused.push((view.name.to_string(), sqlite_message(&e)));
        }
    }
    Ok(refused)
}
