//! Reading a live SQLite database into the model.
//!
//! The catalog comes from `sqlite_schema`; each CREATE statement is parsed by [`crate::parse`]
//! for what PRAGMAs do not show (CHECK, COLLATE, AUTOINCREMENT, DEFERRABLE, partial-index WHERE,
//! index and generated-column expressions), and the result is checked against the PRAGMAs
//! (`table_xinfo`, `foreign_key_list`, `table_list`). When the two disagree, or the text uses
//! something the model does not hold, the table is kept verbatim and a note says why: nothing
//! is guessed silently. Bookkeeping tables (`_schemactl*`), SQLite's own tables and the shadow
//! tables of virtual tables are left out.
//!
//! The catalog is streamed (each `sqlite_schema` row is read as a borrowed string and dropped
//! once it is converted), and the rows an inspection keeps share their text with the
//! inspection they were compared with: a schema of thousands of objects is held once.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use rusqlite::Connection;
use rusqlite::types::ValueRef;

use crate::error::{Error, Result};
use crate::model::{Column, Index, Schema, Table, Trigger, View, VirtualTable};
use crate::parse::{parse_index, parse_table, parse_trigger, parse_view, parse_virtual_table};
use crate::sql::Sql;

/// The catalog query: every object with its CREATE text.
const SCHEMA_QUERY: &str = "SELECT type, name, tbl_name, sql FROM main.sqlite_schema \
     WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_schemactl%' ESCAPE '\\'";
/// How many indexes [`SCHEMA_QUERY`] lists with a text of their own.
const INDEX_COUNT_QUERY: &str = "SELECT count(*) FROM main.sqlite_schema \
     WHERE type = 'index' AND sql IS NOT NULL";
/// Table kinds and options: `type` is table, view, virtual or shadow.
const TABLE_LIST_QUERY: &str =
    "SELECT name, type, wr, strict FROM pragma_table_list WHERE schema = 'main'";
/// Columns, hidden and generated ones included (hidden: 2 virtual, 3 stored generated).
const TABLE_XINFO_QUERY: &str =
    "SELECT name, type, \"notnull\", pk, hidden FROM pragma_table_xinfo(?1, 'main')";
/// Foreign keys: one row per column pair, grouped by `id`.
const FOREIGN_KEY_COUNT_QUERY: &str =
    "SELECT count(DISTINCT id) FROM pragma_foreign_key_list(?1, 'main')";

/// What [`inspect_with_notes`] found, with a note for each table kept verbatim.
#[derive(Debug, Clone, Default)]
pub struct Inspection {
    /// The schema in normal form.
    pub schema: Schema,
    /// One line per object that could not be represented faithfully, saying why.
    pub notes: Vec<String>,
    /// The catalog rows the schema was read from, so that a later inspection (of the same
    /// file, or of a copy) reads again only the objects whose rows changed ([`inspect_since`]).
    /// Empty for a schema put together from several databases.
    pub rows: Rows,
}

/// The `sqlite_schema` rows an inspection read, by object kind and name: see
/// [`inspect_since`]. Looked up by borrowed name, so that comparing a catalog with them
/// allocates nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rows {
    by_kind: HashMap<Kind, HashMap<Arc<str>, Row>>,
    len: usize,
}

impl Rows {
    /// How many objects.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn get(&self, kind: &Kind, name: &str) -> Option<(&Arc<str>, &Row)> {
        self.by_kind.get(kind)?.get_key_value(name)
    }

    fn insert(&mut self, kind: Kind, name: Arc<str>, row: Row) {
        if self
            .by_kind
            .entry(kind)
            .or_default()
            .insert(name, row)
            .is_none()
        {
            self.len += 1;
        }
    }
}

/// An object's kind, as `sqlite_schema.type` names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Kind {
    Table,
    Index,
    View,
    Trigger,
    Other(Box<str>),
}

impl Kind {
    fn of(s: &str) -> Kind {
        match s {
            "table" => Kind::Table,
            "index" => Kind::Index,
            "view" => Kind::View,
            "trigger" => Kind::Trigger,
            other => Kind::Other(other.into()),
        }
    }
}

/// Everything an object's inspection reads: its `sqlite_schema` row, and for a table what
/// `pragma_table_list` says of it (SQLite derives `table_xinfo` and `foreign_key_list` from the
/// CREATE text alone). Two objects with equal rows inspect to the same model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    tbl_name: Arc<str>,
    sql: Arc<str>,
    info: Option<TableInfo>,
}

impl Row {
    /// Whether this row is the catalog row read now.
    fn is(&self, tbl_name: &str, sql: &str, info: Option<&TableInfo>) -> bool {
        *self.tbl_name == *tbl_name && *self.sql == *sql && self.info.as_ref() == info
    }
}

/// Reads the schema of the `main` database of `conn`.
pub fn inspect(conn: &Connection) -> Result<Schema> {
    read(conn, None, false).map(|i| i.schema)
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct TableInfo {
    kind: TableKind,
    without_rowid: bool,
    strict: bool,
}

/// `pragma_table_list.type`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum TableKind {
    Table,
    View,
    Virtual,
    Shadow,
    Other(Box<str>),
}

impl TableKind {
    fn of(s: &str) -> TableKind {
        match s {
            "table" => TableKind::Table,
            "view" => TableKind::View,
            "virtual" => TableKind::Virtual,
            "shadow" => TableKind::Shadow,
            other => TableKind::Other(other.into()),
        }
    }
}

/// Reads the schema of the `main` database of `conn`, with notes on verbatim tables.
pub fn inspect_with_notes(conn: &Connection) -> Result<Inspection> {
    inspect_since(conn, None)
}

/// Reads the schema of the `main` database of `conn` with notes, as [`inspect_with_notes`]
/// does, without keeping the catalog rows ([`Inspection::rows`] is empty): for a database
/// that is read once and closed (a scratch database of [`crate::normal::scratch`]).
pub fn inspect_without_rows(conn: &Connection) -> Result<Inspection> {
    read(conn, None, false)
}

/// Reads the schema of the `main` database of `conn` as [`inspect_with_notes`] does, taking
/// from `before` (an inspection of this file, or of the file it was copied from) every object
/// whose catalog row is the same as then: the same `sqlite_schema` text, table name and
/// `pragma_table_list` entry, which is all its inspection reads. Every other object (changed,
/// added, or kept verbatim before) is read again, and one that is gone is gone: the result
/// is what a full inspection gives, at the cost of one catalog query and what changed.
pub fn inspect_since(conn: &Connection, before: Option<&Inspection>) -> Result<Inspection> {
    read(conn, before, true)
}

/// The schema [`inspect_since`] reads, without the catalog rows a later inspection would
/// reuse: for a check that only compares it.
pub fn schema_since(conn: &Connection, before: Option<&Inspection>) -> Result<Schema> {
    Ok(read(conn, before, false)?.schema)
}

/// One `sqlite_schema` column as borrowed text (None for NULL).
fn text<'r>(r: &'r rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Option<&'r str>> {
    match r.get_ref(i)? {
        ValueRef::Null => Ok(None),
        ValueRef::Text(bytes) => std::str::from_utf8(bytes)
            .map(Some)
            .map_err(|e| rusqlite::Error::Utf8Error(i, e)),
        other => Err(rusqlite::Error::InvalidColumnType(
            i,
            String::new(),
            other.data_type(),
        )),
    }
}

/// One `sqlite_schema` column that may not be NULL.
fn text_not_null<'r>(r: &'r rusqlite::Row<'_>, i: usize) -> rusqlite::Result<&'r str> {
    text(r, i)?.ok_or(rusqlite::Error::InvalidColumnType(
        i,
        String::new(),
        rusqlite::types::Type::Null,
    ))
}

/// [`inspect_since`]; the catalog rows are kept only when `keep_rows`.
fn read(conn: &Connection, before: Option<&Inspection>, keep_rows: bool) -> Result<Inspection> {
    let mut out = read_unsettled(conn, before, keep_rows, &HashSet::new())?;
    // `"x"` that SQLite reads as the string 'x' compares as 'x' (its quote fix makes one the
    // other: a native DROP COLUMN or RENAME COLUMN elsewhere rewrites it).
    crate::requote::settle(&mut out.schema);
    fit(&mut out.schema);
    out.schema.normalize();
    // In the order of their tables' names, as the schema is (the catalog is read in its own
    // order: sorting it by name would hold a copy of every row's text in SQLite's sorter).
    out.notes.sort();
    Ok(out)
}

/// The schema of the `main` database of `conn` as its catalog reads, in SQLite's order, each
/// text as it is stored: no quote-fix settling and no sorting (for [`crate::requote`], which
/// compares the texts of one schema before and after SQLite's quote fix, part by part).
pub(crate) fn unsettled(conn: &Connection) -> Result<Schema> {
    read_unsettled(conn, None, false, &HashSet::new()).map(|i| i.schema)
}

/// [`read`] without the settling, fitting and sorting; the tables named in `skip` (lowercase)
/// and their indexes are left out.
fn read_unsettled(
    conn: &Connection,
    before: Option<&Inspection>,
    keep_rows: bool,
    skip: &HashSet<String>,
) -> Result<Inspection> {
    let reuse = before.map(Reuse::new);
    let table_info = table_list(conn)?;
    let q = |e| Error::sqlite("read the schema", e);
    let mut stmt = conn.prepare(SCHEMA_QUERY).map_err(q)?;
    let mut rows = stmt.query([]).map_err(q)?;
    let mut out = Inspection::default();
    // At most one model per table SQLite lists (it lists views, virtual and shadow tables
    // too): no vector grown to twice the schema while it is read.
    out.schema
        .tables
        .reserve_exact(table_info.len().saturating_sub(skip.len()));
    // Likewise the indexes, counted first: thousands of them pushed one by one held a vector
    // and its grown copy at once.
    let index_count: i64 = conn
        .query_row(INDEX_COUNT_QUERY, [], |r| r.get(0))
        .map_err(q)?;
    let mut indexes = match skip.is_empty() {
        true => Vec::with_capacity(usize::try_from(index_count).unwrap_or(0)),
        false => Vec::new(),
    };
    // The tables read again (lowercase): their indexes are read again too.
    let mut read_again: std::collections::HashSet<String> = std::collections::HashSet::new();
    while let Some(r) = rows.next().map_err(q)? {
        let kind = Kind::of(text_not_null(r, 0).map_err(q)?);
        let name = text_not_null(r, 1).map_err(q)?;
        let tbl_name = text_not_null(r, 2).map_err(q)?;
        let Some(sql) = text(r, 3).map_err(q)? else {
            continue; // automatic indexes (UNIQUE, PRIMARY KEY) have no SQL of their own
        };
        if matches!(kind, Kind::Table | Kind::Index)
            && !skip.is_empty()
            && skip.contains(&tbl_name.to_ascii_lowercase())
        {
            continue;
        }
        let info = table_info.get(name).filter(|_| kind == Kind::Table);
        // The row as before, when it is the same: its text is shared, not copied.
        let before_row = reuse
            .as_ref()
            .and_then(|r| r.before.rows.get(&kind, name))
            .filter(|(_, row)| row.is(tbl_name, sql, info));
        let same = before_row.and(reuse.as_ref());
        match kind {
            Kind::Table => match info.map(|i| &i.kind) {
                Some(TableKind::Shadow) => {}
                Some(TableKind::Virtual) => match same.and_then(|r| r.virtual_table(name)) {
                    Some(v) => out.schema.virtual_tables.push(v.clone()),
                    None => {
                        parse_virtual_table(sql)
                            .map_err(|e| inspect_err("virtual table", name, e))?;
                        out.schema.virtual_tables.push(VirtualTable {
                            name: name.into(),
                            sql: Sql::new(sql),
                        });
                    }
                },
                _ => match same.and_then(|r| r.table(name)) {
                    Some(t) => out.schema.tables.push(t),
                    None => {
                        let table = read_table(conn, name, sql, info, &mut out.notes)?;
                        out.schema.tables.push(table);
                        read_again.insert(name.to_ascii_lowercase());
                    }
                },
            },
            Kind::Index => {
                // Taken from before, it keeps its text, to be read again if its table is.
                let index = match (same.and_then(|r| r.index(tbl_name, name)), before_row) {
                    (Some(i), Some((_, row))) => (i.clone(), Some(Arc::clone(&row.sql))),
                    _ => {
                        let index = parse_index(sql)
                            .map_err(|e| inspect_err("index", name, e))?
                            .1;
                        (index, None)
                    }
                };
                indexes.push((name.to_string(), tbl_name.to_string(), index));
            }
            Kind::View => match same.and_then(|r| r.view(name)) {
                Some(v) => out.schema.views.push(v),
                None => {
                    let view = parse_view(sql).map_err(|e| inspect_err("view", name, e))?;
                    out.schema.views.push(view);
                }
            },
            Kind::Trigger => match same.and_then(|r| r.trigger(name)) {
                Some(t) => out.schema.triggers.push(t),
                None => {
                    let (_, table) =
                        parse_trigger(sql).map_err(|e| inspect_err("trigger", name, e))?;
                    out.schema.triggers.push(Trigger {
                        name: name.into(),
                        table,
                        sql: Sql::new(sql),
                    });
                }
            },
            Kind::Other(_) => {}
        }
        if keep_rows {
            let (name, row) = match before_row {
                Some((name, row)) => (Arc::clone(name), row.clone()),
                None => {
                    let name: Arc<str> = name.into();
                    let tbl_name = if *tbl_name == *name {
                        Arc::clone(&name)
                    } else {
                        tbl_name.into()
                    };
                    let row = Row {
                        tbl_name,
                        sql: sql.into(),
                        info: info.cloned(),
                    };
                    (name, row)
                }
            };
            out.rows.insert(kind, name, row);
        }
    }
    drop(rows);
    drop(stmt);
    // By name, so that thousands of indexes do not each scan thousands of tables.
    let position: BTreeMap<String, usize> = out
        .schema
        .tables
        .iter()
        .enumerate()
        .map(|(i, t)| (t.name.to_ascii_lowercase(), i))
        .collect();
    for (name, tbl_name, (index, before_sql)) in indexes {
        // An index taken from before is read again when its table is: what it makes of its
        // expressions may depend on the table's columns (a `"x"` that SQLite reads as a
        // column once the table has one), and so may change when its own text does not.
        let index = match before_sql {
            Some(sql) if read_again.contains(&tbl_name.to_ascii_lowercase()) => {
                parse_index(&sql)
                    .map_err(|e| inspect_err("index", &name, e))?
                    .1
            }
            _ => index,
        };
        let Some(table) = position
            .get(&tbl_name.to_ascii_lowercase())
            .and_then(|&i| out.schema.tables.get_mut(i))
        else {
            return Err(Error::Inspect {
                object: format!("index \"{name}\""),
                message: format!("its table \"{tbl_name}\" was not read"),
            });
        };
        table.indexes.push(index);
    }
    Ok(out)
}

/// Shrinks every vector of `schema` to its length. An inspection is held for the rest of a
/// run, and a vector grown by pushing starts at four places: thousands of tables with one
/// index and one foreign key each held three times what they use.
pub(crate) fn fit(schema: &mut Schema) {
    for t in &mut schema.tables {
        t.columns.shrink_to_fit();
        t.uniques.shrink_to_fit();
        t.checks.shrink_to_fit();
        t.foreign_keys.shrink_to_fit();
        t.indexes.shrink_to_fit();
    }
    schema.tables.shrink_to_fit();
    schema.views.shrink_to_fit();
    schema.triggers.shrink_to_fit();
    schema.virtual_tables.shrink_to_fit();
}

/// `pragma_table_list`, by table name.
fn table_list(conn: &Connection) -> Result<BTreeMap<String, TableInfo>> {
    let q = |e| Error::sqlite("read the schema", e);
    let mut stmt = conn.prepare(TABLE_LIST_QUERY).map_err(q)?;
    let mut rows = stmt.query([]).map_err(q)?;
    let mut out = BTreeMap::new();
    while let Some(r) = rows.next().map_err(q)? {
        let info = TableInfo {
            kind: TableKind::of(text_not_null(r, 1).map_err(q)?),
            without_rowid: r.get(2).map_err(q)?,
            strict: r.get(3).map_err(q)?,
        };
        out.insert(r.get(0).map_err(q)?, info);
    }
    Ok(out)
}

/// Returns true when every catalog row [`inspect_since`] reads is the same as in `before`
/// (an inspection of this file, or of the file it was copied from), no object added or
/// gone: a full inspection would then give `before`'s schema and notes, so that they can be
/// used as they are, at the cost of the catalog query alone. False when `before` holds no
/// rows (a schema put together from several databases, or an empty one).
pub fn unchanged_since(conn: &Connection, before: &Inspection) -> Result<bool> {
    if before.rows.is_empty() {
        return Ok(false);
    }
    let mut seen = 0usize;
    let all_same = compare_rows(conn, before, |_, _, _, same| {
        seen += 1;
        same
    })?;
    Ok(all_same && seen == before.rows.len())
}

/// Reads `conn`'s catalog rows (those with a text of their own) one by one, telling `each`
/// the row's kind, name and table name, and whether it is the same as in `before`; stops
/// when `each` returns false. Returns whether every row was read.
fn compare_rows(
    conn: &Connection,
    before: &Inspection,
    mut each: impl FnMut(Kind, &str, &str, bool) -> bool,
) -> Result<bool> {
    let table_info = table_list(conn)?;
    let q = |e| Error::sqlite("read the schema", e);
    let mut stmt = conn.prepare(SCHEMA_QUERY).map_err(q)?;
    let mut rows = stmt.query([]).map_err(q)?;
    while let Some(r) = rows.next().map_err(q)? {
        let Some(sql) = text(r, 3).map_err(q)? else {
            continue;
        };
        let kind = Kind::of(text_not_null(r, 0).map_err(q)?);
        let name = text_not_null(r, 1).map_err(q)?;
        let tbl_name = text_not_null(r, 2).map_err(q)?;
        let info = table_info.get(name).filter(|_| kind == Kind::Table);
        let same = before
            .rows
            .get(&kind, name)
            .is_some_and(|(_, row)| row.is(tbl_name, sql, info));
        if !each(kind, name, tbl_name, same) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The schema [`schema_since`] reads, without the tables that are as `before` has them: what
/// a check that compares it with a schema derived from `before` needs, at the cost of what
/// changed (a full schema of thousands of tables, beside `before`'s, doubled the memory of a
/// one-table sync). Returns the schema of everything else and the names (lowercase) of the
/// tables left out: those whose catalog row, and every index row of theirs, is the same as in
/// `before`, with no index added or gone; each would read as `before.schema` has it, so the
/// full schema is this one with those tables of `before.schema` put in. Nothing is left out
/// when a view or trigger holds a double-quoted word (how SQLite reads it depends on the
/// columns of every table, see [`crate::requote::settle`]) or `before` holds no rows.
pub fn schema_changed_since(
    conn: &Connection,
    before: &Inspection,
) -> Result<(Schema, HashSet<String>)> {
    let same = tables_unchanged_since(conn, before)?;
    if same.is_empty() {
        return Ok((schema_since(conn, Some(before))?, same));
    }
    let mut out = read_unsettled(conn, Some(before), false, &same)?;
    let quoted = out
        .schema
        .views
        .iter()
        .any(|v| v.select.as_str().contains('"'))
        || out
            .schema
            .triggers
            .iter()
            .any(|t| t.sql.as_str().contains('"'));
    if quoted {
        return Ok((schema_since(conn, Some(before))?, HashSet::new()));
    }
    crate::requote::settle(&mut out.schema);
    fit(&mut out.schema);
    out.schema.normalize();
    Ok((out.schema, same))
}

/// The tables of [`schema_changed_since`] that read as `before` has them (lowercase names).
fn tables_unchanged_since(conn: &Connection, before: &Inspection) -> Result<HashSet<String>> {
    if before.rows.is_empty() {
        return Ok(HashSet::new());
    }
    // Tables whose own row is the same; how many index rows of each table are; the tables
    // with an index row that changed or is new.
    let mut same_tables: HashSet<String> = HashSet::new();
    let mut same_indexes: HashMap<String, usize> = HashMap::new();
    let mut changed: HashSet<String> = HashSet::new();
    compare_rows(conn, before, |kind, name, tbl_name, same| {
        match (kind, same) {
            (Kind::Table, true) => {
                same_tables.insert(name.to_ascii_lowercase());
            }
            (Kind::Index, true) => {
                *same_indexes
                    .entry(tbl_name.to_ascii_lowercase())
                    .or_insert(0) += 1;
            }
            (Kind::Index, false) => {
                changed.insert(tbl_name.to_ascii_lowercase());
            }
            _ => {}
        }
        true
    })?;
    // Only tables `before` read itself (not kept verbatim: those are read again, with their
    // note), each with exactly its indexes of then.
    Ok(before
        .schema
        .tables
        .iter()
        .filter(|t| t.verbatim.is_none())
        .map(|t| (t.name.to_ascii_lowercase(), t.indexes.len()))
        .filter(|(name, indexes)| {
            same_tables.contains(name)
                && !changed.contains(name)
                && same_indexes.get(name).copied().unwrap_or(0) == *indexes
        })
        .map(|(name, _)| name)
        .collect())
}

/// An earlier inspection, looked up by name: the objects [`inspect_since`] may take from it.
struct Reuse<'a> {
    before: &'a Inspection,
    tables: HashMap<&'a str, &'a Table>,
    views: HashMap<&'a str, &'a View>,
    triggers: HashMap<&'a str, &'a Trigger>,
    virtual_tables: HashMap<&'a str, &'a VirtualTable>,
}

impl<'a> Reuse<'a> {
    fn new(before: &'a Inspection) -> Self {
        let s = &before.schema;
        Reuse {
            before,
            tables: s.tables.iter().map(|t| (t.name.as_str(), t)).collect(),
            views: s.views.iter().map(|v| (v.name.as_str(), v)).collect(),
            triggers: s.triggers.iter().map(|t| (t.name.as_str(), t)).collect(),
            virtual_tables: s
                .virtual_tables
                .iter()
                .map(|v| (v.name.as_str(), v))
                .collect(),
        }
    }

    /// The table as read before, without its indexes (they are rows of their own). A table
    /// kept verbatim is read again, so that its note is written again.
    fn table(&self, name: &str) -> Option<Table> {
        let t = self.tables.get(name).filter(|t| t.verbatim.is_none())?;
        // Every field but the indexes, which are not copied only to be dropped.
        Some(Table {
            name: t.name.clone(),
            columns: t.columns.clone(),
            primary_key: t.primary_key.clone(),
            uniques: t.uniques.clone(),
            checks: t.checks.clone(),
            foreign_keys: t.foreign_keys.clone(),
            indexes: Vec::new(),
            strict: t.strict,
            without_rowid: t.without_rowid,
            verbatim: t.verbatim.clone(),
        })
    }

    fn index(&self, table: &str, name: &str) -> Option<&'a Index> {
        self.tables
            .get(table)?
            .indexes
            .iter()
            .find(|i| i.name.as_str() == name)
    }

    /// The view as its text reads: what [`crate::requote::settle`] made of it before depends
    /// on the columns of the tables it reads (a `"x"` is the string 'x' until a column x
    /// exists), not on its own row, so it is settled again with the rest.
    fn view(&self, name: &str) -> Option<View> {
        self.views.get(name).map(|v| View {
            name: v.name.clone(),
            columns: v.columns.clone(),
            select: rekeyed(&v.select),
        })
    }

    /// The trigger as its text reads (settled again, as a view is).
    fn trigger(&self, name: &str) -> Option<Trigger> {
        self.triggers.get(name).map(|t| Trigger {
            name: t.name.clone(),
            table: t.table.clone(),
            sql: rekeyed(&t.sql),
        })
    }

    fn virtual_table(&self, name: &str) -> Option<&'a VirtualTable> {
        self.virtual_tables.get(name).copied()
    }
}

/// `sql` compared as its own text reads, as a fresh parse gives it: what an earlier
/// [`crate::requote::settle`] keyed it as is dropped (it depended on other objects).
fn rekeyed(sql: &Sql) -> Sql {
    Sql::new(sql.as_str())
}

fn inspect_err(kind: &str, name: &str, e: crate::parse::ParseError) -> Error {
    Error::Inspect {
        object: format!("{kind} \"{name}\""),
        message: e.to_string(),
    }
}

#[derive(Debug)]
struct XColumn {
    name: String,
    decl_type: String,
    not_null: bool,
    pk: i64,
    hidden: i64,
}

fn read_table(
    conn: &Connection,
    name: &str,
    sql: &str,
    info: Option<&TableInfo>,
    notes: &mut Vec<String>,
) -> Result<Table> {
    let q = |e| Error::sqlite(format!("read table \"{name}\""), e);
    // Cached: one preparation for every table of the schema, not one each.
    let xcolumns: Vec<XColumn> = conn
        .prepare_cached(TABLE_XINFO_QUERY)
        .map_err(q)?
        .query_map([name], |r| {
            Ok(XColumn {
                name: r.get(0)?,
                decl_type: r.get(1)?,
                not_null: r.get(2)?,
                pk: r.get(3)?,
                hidden: r.get(4)?,
            })
        })
        .map_err(q)?
        .collect::<rusqlite::Result<_>>()
        .map_err(q)?;
    let fk_count: i64 = conn
        .prepare_cached(FOREIGN_KEY_COUNT_QUERY)
        .and_then(|mut stmt| stmt.query_row([name], |r| r.get(0)))
        .map_err(q)?;
    let parsed = parse_table(sql)
        .map_err(|e| e.to_string())
        .and_then(|t| agrees_with_pragmas(&t, &xcolumns, fk_count, info).map(|()| t));
    match parsed {
        Ok(table) => Ok(table),
        Err(reason) => {
            notes.push(format!("table \"{name}\" kept verbatim: {reason}"));
            let mut table = Table::new(name);
            table.columns = xcolumns
                .iter()
                .map(|x| Column::new(x.name.clone(), x.decl_type.clone()))
                .collect();
            table.strict = info.is_some_and(|i| i.strict);
            table.without_rowid = info.is_some_and(|i| i.without_rowid);
            table.verbatim = Some(Sql::new(sql));
            Ok(table)
        }
    }
}

/// Checks the parsed table against what SQLite itself reports.
fn agrees_with_pragmas(
    t: &Table,
    xcolumns: &[XColumn],
    fk_count: i64,
    info: Option<&TableInfo>,
) -> Result<(), String> {
    let disagree = |what: &str| Err(format!("parsed {what} disagrees with PRAGMA table_xinfo"));
    if t.columns.len() != xcolumns.len() {
        return disagree("column count");
    }
    for (c, x) in t.columns.iter().zip(xcolumns) {
        if c.name != x.name || !same_spacing_aside(c.decl_type.as_str(), &x.decl_type) {
            return disagree(&format!("column \"{}\"", x.name));
        }
        // SQLite reports NOT NULL for explicit constraints, and for the primary-key columns
        // of WITHOUT ROWID and STRICT tables, where it is implied.
        let implied = (t.without_rowid || t.strict) && x.pk > 0;
        if c.not_null != x.not_null && !(implied && x.not_null) {
            return disagree(&format!("NOT NULL of \"{}\"", x.name));
        }
        let generated = match x.hidden {
            2 => Some(false),
            3 => Some(true),
            _ => None,
        };
        if c.generated.as_ref().map(|g| g.stored) != generated {
            return disagree(&format!("generated column \"{}\"", x.name));
        }
    }
    let mut pk_columns: Vec<(i64, &str)> = xcolumns
        .iter()
        .filter(|x| x.pk > 0)
        .map(|x| (x.pk, x.name.as_str()))
        .collect();
    pk_columns.sort();
    let parsed_pk: Vec<&str> = t
        .primary_key
        .iter()
        .flat_map(|pk| pk.columns.iter().map(|k| k.expr.as_str()))
        .collect();
    let pragma_pk: Vec<&str> = pk_columns.iter().map(|(_, n)| *n).collect();
    if parsed_pk.len() != pragma_pk.len()
        || parsed_pk
            .iter()
            .zip(&pragma_pk)
            .any(|(a, b)| !a.eq_ignore_ascii_case(b))
    {
        return disagree("primary key");
    }
    if i64::try_from(t.foreign_keys.len()).ok() != Some(fk_count) {
        return Err("parsed foreign keys disagree with PRAGMA foreign_key_list".into());
    }
    if let Some(info) = info
        && (info.strict != t.strict || info.without_rowid != t.without_rowid)
    {
        return Err("parsed table options disagree with PRAGMA table_list".into());
    }
    Ok(())
}

/// Compares declared types as SQLite reports them: PRAGMA table_xinfo upper-cases the type of
/// an INTEGER PRIMARY KEY, so case and spacing are set aside.
fn same_spacing_aside(a: &str, b: &str) -> bool {
    a.split_whitespace()
        .map(str::to_ascii_lowercase)
        .eq(b.split_whitespace().map(str::to_ascii_lowercase))
}
