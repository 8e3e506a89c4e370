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
//! The batches are streamed: one is created, its statements and schema are read back, and it
//! is closed before the next one opens, so memory follows one batch, not the schema (157 open
//! databases held 40 MB at 5,000 tables).
//!
//! What one database would also refuse across batches is a name used twice (an index named
//! like a table of another batch, a virtual table's shadow table): the names of every table and
//! index are registered before anything is created, in the order one database would create
//! them, and a clash is replayed on a fresh database with just the two objects, so the message
//! is SQLite's own. Which refusal is reported is the one one database meets first: every
//! object has its place in that order ([`Pos`]), a batch stops at its first refusal, and the
//! earliest refusal of all the batches and clashes is the one returned.

use std::collections::HashMap;

use rusqlite::Connection;

use super::{MaterialiseError, Object, sqlite_message};
use crate::error::{Error, Result};
use crate::inspect::{Inspection, inspect_without_rows};
use crate::model::Schema;
use crate::render::{create_index, create_table, create_view};

/// Tables per scratch database: small enough that SQLite's per-CREATE catalog work stays
/// small, large enough that opening the databases costs nothing next to it.
const TABLES_PER_BATCH: usize = 32;

/// A schema created in scratch databases (one per batch of tables, and one for the rest), as
/// read back from them before they were closed.
pub struct Scratch {
    statements: rusqlite::Result<Vec<String>>,
    inspection: Result<Inspection>,
}

impl Scratch {
    /// Returns every CREATE statement, scratch database after scratch database, each in the
    /// order it was created (SQLite's own text, as `sqlite_schema` keeps it): replayed from
    /// empty in this order, they build the schema.
    pub fn statements(self) -> rusqlite::Result<Vec<String>> {
        self.statements
    }

    /// Returns the schema read back from every scratch database, as one schema with its notes.
    pub fn inspect(self) -> Result<Inspection> {
        self.inspection
    }
}

/// Where an object comes in the order one database creates a schema: its phase (tables,
/// indexes, virtual tables, views, triggers), then its rank within the phase. Views are
/// retried in rounds, so they share one place.
type Pos = (u8, usize);
const TABLES: u8 = 1;
const INDEXES: u8 = 2;
const VIRTUAL: u8 = 3;
const VIEWS: u8 = 4;
const TRIGGERS: u8 = 5;

/// One object to create: what, and the statement a replay needs before it.
struct Job {
    object: Object,
    sql: String,
    /// The CREATE of the index's table, for an index (a replay needs the table first).
    table_sql: Option<String>,
}

/// The object that holds a name: the statements that create it again, for a replay.
enum Owner {
    /// `schema.tables[i]`.
    Table(usize),
    /// `schema.tables[i].indexes[j]`.
    Index(usize, usize),
    /// An object of the last database (a view, a virtual table), with its statements.
    Sql(Vec<String>),
}

/// What to read back from each scratch database before it closes.
#[derive(Clone, Copy)]
struct Want {
    statements: bool,
    inspection: bool,
}

/// What the batches read back, as they close.
struct Read {
    /// None when not asked for.
    statements: Option<rusqlite::Result<Vec<String>>>,
    /// None when not asked for.
    inspection: Option<Result<Inspection>>,
}

impl Read {
    fn new(want: Want) -> Read {
        Read {
            statements: want.statements.then(|| Ok(Vec::new())),
            inspection: want.inspection.then(|| Ok(Inspection::default())),
        }
    }

    /// Reads one scratch database's statements and schema, as asked, before it closes.
    fn take(&mut self, conn: &Connection) {
        if let Some(Ok(out)) = &mut self.statements
            && let Err(e) = statements_of(conn, out)
        {
            self.statements = Some(Err(e));
        }
        if let Some(Ok(out)) = &mut self.inspection {
            // Its catalog rows are not kept: the database is closed next.
            match inspect_without_rows(conn) {
                Ok(part) => {
                    out.schema.tables.extend(part.schema.tables);
                    out.schema.views.extend(part.schema.views);
                    out.schema.triggers.extend(part.schema.triggers);
                    out.schema.virtual_tables.extend(part.schema.virtual_tables);
                    out.notes.extend(part.notes);
                }
                Err(e) => self.inspection = Some(Err(e)),
            }
        }
    }
}

/// Appends `conn`'s CREATE statements, in the order they were created. The shadow tables of a
/// virtual table (FTS5's `docs_data`, ...) are left out: its CREATE VIRTUAL TABLE makes them,
/// so a replay that created them too would be refused ("table already exists").
fn statements_of(conn: &Connection, out: &mut Vec<String>) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare(
        "SELECT sql FROM sqlite_schema AS s WHERE sql IS NOT NULL \
         AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
         AND NOT EXISTS (SELECT 1 FROM pragma_table_list AS l \
           WHERE l.schema = 'main' AND l.name = s.name AND l.type = 'shadow') \
         ORDER BY rowid",
    )?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
    for row in rows {
        out.push(row?);
    }
    Ok(())
}

/// Creates every object of `schema` in scratch databases, in the order one database would
/// create them (tables, indexes, virtual tables, views, triggers), and reads back each
/// database's statements and schema; the refusal one database would meet first is the error,
/// as [`super::create`] gives it.
pub fn create(schema: &Schema) -> Result<Scratch, MaterialiseError> {
    let want = Want {
        statements: true,
        inspection: true,
    };
    let read = stream(schema, want)?;
    Ok(Scratch {
        statements: read.statements.unwrap_or_else(|| Ok(Vec::new())),
        inspection: read.inspection.unwrap_or_else(|| Ok(Inspection::default())),
    })
}

/// [`create`], reading back the schema alone (what loading a schema needs): the same
/// databases, created in the same order, with the same refusals; the inner result is the
/// schema read back, as [`Scratch::inspect`] returns it.
pub fn create_inspected(schema: &Schema) -> Result<Result<Inspection>, MaterialiseError> {
    let want = Want {
        statements: false,
        inspection: true,
    };
    let read = stream(schema, want)?;
    Ok(read.inspection.unwrap_or_else(|| Ok(Inspection::default())))
}

/// The statements of [`create`] alone (no schema read back): replayed from empty in this
/// order, they build `schema`.
pub fn statements(schema: &Schema) -> Result<Vec<String>, MaterialiseError> {
    let want = Want {
        statements: true,
        inspection: false,
    };
    stream(schema, want)?
        .statements
        .unwrap_or_else(|| Ok(Vec::new()))
        .map_err(|e| MaterialiseError {
            object: Object::Table(String::new()),
            sql: String::new(),
            message: sqlite_message(&e),
        })
}

/// The earliest refusal so far, with its place.
struct First(Option<(Pos, MaterialiseError)>);

impl First {
    /// Whether an object at `pos` still matters: nothing before it was refused.
    fn before(&self, pos: Pos) -> bool {
        self.0.as_ref().is_none_or(|(at, _)| pos < *at)
    }

    fn record(&mut self, pos: Pos, e: MaterialiseError) {
        if self.before(pos) {
            self.0 = Some((pos, e));
        }
    }
}

fn stream(schema: &Schema, want: Want) -> Result<Read, MaterialiseError> {
    let tables = &schema.tables;
    let batches = tables.len().div_ceil(TABLES_PER_BATCH);
    let mut first = First(None);

    // Every table and index name, in creation order: a name another batch took first is
    // refused where one database refuses it (a name taken twice in one batch is SQLite's).
    let mut names: HashMap<String, (usize, Owner)> = HashMap::new();
    let claim = |names: &mut HashMap<String, (usize, Owner)>,
                 first: &mut First,
                 name: &str,
                 batch: usize,
                 owner: Owner,
                 pos: Pos,
                 job: &dyn Fn() -> Job| {
        match names.get(&name.to_ascii_lowercase()) {
            None => {
                names.insert(name.to_ascii_lowercase(), (batch, owner));
            }
            Some((other, taken)) if *other != batch && first.before(pos) => {
                let e = replay(&owner_sql(schema, taken), &job());
                first.record(pos, e);
            }
            Some(_) => {}
        }
    };
    for (i, t) in tables.iter().enumerate() {
        let job = || table_job(t);
        claim(
            &mut names,
            &mut first,
            &t.name,
            i / TABLES_PER_BATCH,
            Owner::Table(i),
            (TABLES, i),
            &job,
        );
    }
    let mut rank = 0;
    for (i, t) in tables.iter().enumerate() {
        for (j, index) in t.indexes.iter().enumerate() {
            let job = || index_job(t, j);
            claim(
                &mut names,
                &mut first,
                &index.name,
                i / TABLES_PER_BATCH,
                Owner::Index(i, j),
                (INDEXES, rank),
                &job,
            );
            rank += 1;
        }
    }

    // A trigger on a table goes with it; on a view (or on nothing, which SQLite refuses)
    // with the views, in the last database.
    let batch_of_table: HashMap<String, usize> = tables
        .iter()
        .enumerate()
        .map(|(i, t)| (t.name.to_ascii_lowercase(), i / TABLES_PER_BATCH))
        .collect();
    let mut triggers_of: Vec<Vec<usize>> = vec![Vec::new(); batches + 1];
    for (k, t) in schema.triggers.iter().enumerate() {
        let batch = batch_of_table
            .get(&t.table.to_ascii_lowercase())
            .copied()
            .unwrap_or(batches);
        if let Some(list) = triggers_of.get_mut(batch) {
            list.push(k);
        }
    }
    let trigger_job = |k: usize| {
        schema.triggers.get(k).map(|t| Job {
            object: Object::Trigger(t.name.to_string()),
            sql: t.sql.as_str().to_string(),
            table_sql: None,
        })
    };

    let mut read = Read::new(want);
    let mut rank = 0;
    for (batch, triggers) in triggers_of.iter().enumerate().take(batches) {
        let lo = batch * TABLES_PER_BATCH;
        let hi = (lo + TABLES_PER_BATCH).min(tables.len());
        let part = tables.get(lo..hi).unwrap_or_default();
        let ranks = rank;
        rank += part.iter().map(|t| t.indexes.len()).sum::<usize>();
        if !first.before((TABLES, lo)) {
            break;
        }
        let conn = open()?;
        let mut jobs: Vec<(Pos, Job)> = Vec::new();
        for (i, t) in part.iter().enumerate() {
            jobs.push(((TABLES, lo + i), table_job(t)));
        }
        let mut r = ranks;
        for t in part {
            for j in 0..t.indexes.len() {
                jobs.push(((INDEXES, r), index_job(t, j)));
                r += 1;
            }
        }
        for &k in triggers {
            if let Some(job) = trigger_job(k) {
                jobs.push(((TRIGGERS, k), job));
            }
        }
        for (pos, job) in jobs {
            if !first.before(pos) {
                break;
            }
            if let Err(e) = run(&conn, &job) {
                first.record(pos, e);
                break;
            }
        }
        if first.0.is_none() {
            read.take(&conn);
        }
    }

    // The last database: virtual tables, views, and the triggers on views.
    let rest = triggers_of
        .get(batches)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let any = !schema.virtual_tables.is_empty() || !schema.views.is_empty() || !rest.is_empty();
    if any && first.before((VIRTUAL, 0)) {
        let mut last = Last {
            conn: open()?,
            batch: batches,
            names: &mut names,
            schema,
        };
        let result = last.create_all(schema, rest, &trigger_job, &first);
        match result {
            Ok(()) => {
                if first.0.is_none() {
                    read.take(&last.conn);
                }
            }
            Err((pos, e)) => first.record(pos, e),
        }
    }
    match first.0 {
        Some((_, e)) => Err(e),
        None => {
            if let Some(Ok(i)) = &mut read.inspection {
                // Settled on the whole schema: a scratch database may hold a view without
                // the tables it reads (see [`crate::requote::settle`]).
                crate::requote::settle(&mut i.schema);
                // Each part is fitted; the whole, put together part after part, is too.
                crate::inspect::fit(&mut i.schema);
                i.schema.normalize();
            }
            Ok(read)
        }
    }
}

fn table_job(t: &crate::model::Table) -> Job {
    Job {
        object: Object::Table(t.name.to_string()),
        sql: create_table(t),
        table_sql: None,
    }
}

/// The job of `t.indexes[j]` (an empty one when there is no such index: never asked).
fn index_job(t: &crate::model::Table, j: usize) -> Job {
    match t.indexes.get(j) {
        Some(index) => Job {
            object: Object::Index {
                table: t.name.to_string(),
                name: index.name.to_string(),
            },
            sql: create_index(&t.name, index),
            table_sql: Some(create_table(t)),
        },
        None => Job {
            object: Object::Table(t.name.to_string()),
            sql: String::new(),
            table_sql: None,
        },
    }
}

/// The statements that create `owner` on an empty database.
fn owner_sql(schema: &Schema, owner: &Owner) -> Vec<String> {
    match owner {
        Owner::Table(i) => schema
            .tables
            .get(*i)
            .map(create_table)
            .into_iter()
            .collect(),
        Owner::Index(i, j) => schema
            .tables
            .get(*i)
            .map(|t| {
                let job = index_job(t, *j);
                job.table_sql.into_iter().chain([job.sql]).collect()
            })
            .unwrap_or_default(),
        Owner::Sql(statements) => statements.clone(),
    }
}

/// Opens a scratch database.
fn open() -> Result<Connection, MaterialiseError> {
    // The smallest page: each table and index takes a root page and holds no row.
    Connection::open_in_memory()
        .and_then(|c| c.execute_batch("PRAGMA page_size = 512").map(|()| c))
        .inspect(crate::db::confined::confine)
        .map_err(|e| MaterialiseError {
            object: Object::Table(String::new()),
            sql: String::new(),
            message: sqlite_message(&e),
        })
}

/// Creates one object, as one statement (text after it is refused, not run).
fn run(conn: &Connection, job: &Job) -> Result<(), MaterialiseError> {
    conn.prepare(&job.sql)
        .and_then(|mut stmt| stmt.execute([]))
        .map(|_| ())
        .map_err(|e| MaterialiseError {
            object: job.object.clone(),
            sql: job.sql.clone(),
            message: sqlite_message(&e),
        })
}

/// The last scratch database, and every name the others hold.
struct Last<'a> {
    conn: Connection,
    batch: usize,
    names: &'a mut HashMap<String, (usize, Owner)>,
    schema: &'a Schema,
}

impl Last<'_> {
    /// Creates the virtual tables, the views (retried until no more can be created, so a view
    /// may use a view that sorts after it) and the triggers of this database, stopping at the
    /// first refusal or at the first place `first` already holds.
    fn create_all(
        &mut self,
        schema: &Schema,
        triggers: &[usize],
        trigger_job: &dyn Fn(usize) -> Option<Job>,
        first: &First,
    ) -> Result<(), (Pos, MaterialiseError)> {
        for (k, v) in schema.virtual_tables.iter().enumerate() {
            let job = Job {
                object: Object::VirtualTable(v.name.to_string()),
                sql: v.sql.as_str().to_string(),
                table_sql: None,
            };
            self.create(&job).map_err(|e| ((VIRTUAL, k), e))?;
        }
        let mut views: Vec<Job> = schema
            .views
            .iter()
            .map(|v| Job {
                object: Object::View(v.name.to_string()),
                sql: create_view(v),
                table_sql: None,
            })
            .collect();
        while !views.is_empty() {
            let before = views.len();
            let mut first_err = None;
            let mut left = Vec::new();
            for job in views {
                if let Err(e) = self.create(&job) {
                    first_err.get_or_insert(e);
                    left.push(job);
                }
            }
            views = left;
            if views.len() == before
                && let Some(e) = first_err
            {
                return Err(((VIEWS, 0), e));
            }
        }
        for &k in triggers {
            if !first.before((TRIGGERS, k)) {
                break;
            }
            if let Some(job) = trigger_job(k) {
                self.create(&job).map_err(|e| ((TRIGGERS, k), e))?;
            }
        }
        Ok(())
    }

    /// Creates one object, then registers the names it made (a virtual table makes its
    /// shadow tables too); a name another database already holds is SQLite's refusal,
    /// replayed.
    fn create(&mut self, job: &Job) -> Result<(), MaterialiseError> {
        let fail = |e: rusqlite::Error| MaterialiseError {
            object: job.object.clone(),
            sql: job.sql.clone(),
            message: sqlite_message(&e),
        };
        // Before running it: a clash with another database must be refused before anything
        // of it exists, as one database would.
        let own = own_name(&job.object);
        if let Some(name) = &own
            && let Some((batch, owner)) = self.names.get(&name.to_ascii_lowercase())
            && *batch != self.batch
        {
            return Err(replay(&owner_sql(self.schema, owner), job));
        }
        run(&self.conn, job)?;
        let made: Vec<String> = match (&job.object, own) {
            (Object::VirtualTable(_), _) => self
                .conn
                .prepare("SELECT name FROM sqlite_schema WHERE type IN ('table', 'index')")
                .and_then(|mut s| {
                    s.query_map([], |r| r.get::<_, String>(0))?
                        .collect::<rusqlite::Result<Vec<_>>>()
                })
                .map_err(fail)?,
            (_, Some(name)) => vec![name],
            (_, None) => Vec::new(),
        };
        for name in made {
            let key = name.to_ascii_lowercase();
            match self.names.get(&key) {
                Some((batch, owner)) if *batch != self.batch => {
                    return Err(replay(&owner_sql(self.schema, owner), job));
                }
                Some(_) => {}
                None => {
                    let statements = vec![job.sql.clone()];
                    self.names.insert(key, (self.batch, Owner::Sql(statements)));
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
    crate::db::confined::confine(&conn);
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
    create_inspected(schema).map_err(|e| Error::Inspect {
        object: e.object.to_string(),
        message: e.message,
    })?
}
