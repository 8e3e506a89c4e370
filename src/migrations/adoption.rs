//! Replaying an adoption in batches, so that its cost follows its size.
//!
//! An adoption records a database's schema as the CREATE statements that rebuild it (see
//! `ops::sync`). Replayed in one database, N objects cost O(N²): SQLite rereads its catalog on
//! every CREATE (see [`crate::normal::scratch`]), 15 s and 130 MB for 5,000 tables and their
//! indexes. Nothing a CREATE checks needs another table, though, so the statements are run as
//! the schema loader's scratch databases run theirs: each batch of tables with its indexes and
//! triggers in its own in-memory database, then views and the triggers on them in one more;
//! each database is read back and closed before the next one opens.
//!
//! Only what this reading is sure of is batched: statements that are each a CREATE TABLE,
//! INDEX, TRIGGER or VIEW, every table, index and view name used once, an index or trigger
//! after its table, no virtual table (whose shadow tables an older adoption also holds). Any
//! other adoption, and any that one of the batches refuses, is replayed in one database as
//! before, so that what is refused, and SQLite's message, are the same.

use std::collections::{HashMap, HashSet};

use rusqlite::Connection;

use crate::inspect::{Inspection, inspect_without_rows};
use crate::model::Schema;
use crate::sql::{Tok, lex, name_at};

/// Tables per scratch database, as [`crate::normal::scratch`] uses.
const TABLES_PER_BATCH: usize = 32;

/// Below this many statements one database costs nothing, and is what runs.
const WORTH_BATCHING: usize = 256;

/// Where one statement of an adoption runs.
#[derive(Debug, PartialEq, Eq)]
enum Place {
    /// A table: the name it takes.
    Table(String),
    /// An index (no name: the index's own, read back, is checked) or a trigger (its name:
    /// triggers have their own namespace) on the table named.
    On(String, Option<String>),
    /// A view (the name it takes) or a trigger on one: the last database.
    Last(Option<String>),
}

/// The schema the adoption `sql` builds, replayed in batches; None when it is not one this
/// reading is sure of, or a batch refuses it: the caller replays it in one database.
pub(super) fn replayed(sql: &str) -> Option<Schema> {
    batched(sql, WORTH_BATCHING, TABLES_PER_BATCH)
}

/// [`replayed`], batching `sql` when it has at least `at_least` statements, `per_batch` tables
/// to a database.
fn batched(sql: &str, at_least: usize, per_batch: usize) -> Option<Schema> {
    let statements = super::statements::texts(sql);
    if statements.len() < at_least || per_batch == 0 {
        return None;
    }
    let mut batches: Vec<Vec<&str>> = Vec::new();
    let mut last: Vec<&str> = Vec::new();
    let mut batch_of: HashMap<String, usize> = HashMap::new();
    let mut names: HashSet<String> = HashSet::new();
    let mut triggers: HashSet<String> = HashSet::new();
    let mut tables = 0usize;
    for statement in statements {
        let tokens = lex(statement).ok()?;
        let place = place(&tokens)?;
        if let Place::Table(n) | Place::Last(Some(n)) = &place
            && !names.insert(n.to_lowercase())
        {
            return None;
        }
        if let Place::On(_, Some(n)) = &place
            && !triggers.insert(n.to_lowercase())
        {
            return None;
        }
        match place {
            Place::Table(n) => {
                let b = tables / per_batch;
                tables += 1;
                if batches.len() <= b {
                    batches.push(Vec::new());
                }
                batch_of.insert(n.to_lowercase(), b);
                batches.get_mut(b)?.push(statement);
            }
            Place::On(table, _) => match batch_of.get(&table.to_lowercase()) {
                Some(&b) => batches.get_mut(b)?.push(statement),
                // On a view (created last), or on nothing: the last database decides.
                None => last.push(statement),
            },
            Place::Last(_) => last.push(statement),
        }
    }
    let mut whole = Inspection::default();
    // Sized once: grown batch by batch, the list of thousands of tables held spare room,
    // then a copy of itself when fitted.
    whole.schema.tables.reserve_exact(tables);
    for batch in batches.iter().chain(std::iter::once(&last)) {
        if batch.is_empty() {
            continue;
        }
        let part = run(batch)?;
        whole.schema.tables.extend(part.schema.tables);
        whole.schema.views.extend(part.schema.views);
        whole.schema.triggers.extend(part.schema.triggers);
        whole
            .schema
            .virtual_tables
            .extend(part.schema.virtual_tables);
    }
    // As the loader's scratch databases are put together: views settled on the whole schema
    // (the last database holds them without their tables), the whole fitted and in order.
    let mut schema = whole.schema;
    crate::requote::settle(&mut schema);
    crate::inspect::fit(&mut schema);
    schema.normalize();
    // Index names are one namespace with tables and views: checked here, where they are known.
    let mut seen = names;
    for t in &schema.tables {
        for i in &t.indexes {
            if !seen.insert(i.name.to_lowercase()) {
                return None;
            }
        }
    }
    Some(schema)
}

/// Runs `statements` in a new in-memory database and reads its schema back; None when one
/// of them is refused.
fn run(statements: &[&str]) -> Option<Inspection> {
    let conn = Connection::open_in_memory().ok()?;
    // The smallest page: each table and index takes a root page and holds no row.
    conn.execute_batch("PRAGMA page_size = 512; PRAGMA foreign_keys = OFF")
        .ok()?;
    // Nothing it runs reaches another database (see db::confined).
    let _confined = crate::db::confined::Confined::new(&conn);
    for s in statements {
        // One statement each: text after it is refused, not run.
        conn.prepare(s).and_then(|mut st| st.execute([])).ok()?;
    }
    inspect_without_rows(&conn).ok()
}

/// Where `tokens` (one statement) runs, when it is a CREATE this reading is sure of.
fn place(tokens: &[Tok]) -> Option<Place> {
    let kw = |i: usize, w: &str| tokens.get(i).is_some_and(|t| t.is_kw(w));
    if !kw(0, "CREATE") {
        return None;
    }
    // Past `IF NOT EXISTS`, where it is written.
    let past_if = |i: usize| {
        if kw(i, "IF") && kw(i + 1, "NOT") && kw(i + 2, "EXISTS") {
            i + 3
        } else {
            i
        }
    };
    let mut i = 1;
    if kw(i, "TEMP") || kw(i, "TEMPORARY") || kw(i, "VIRTUAL") {
        return None;
    }
    if kw(i, "UNIQUE") {
        i += 1;
    }
    if kw(i, "TABLE") && i == 1 {
        let (name, _) = plain_name(tokens, past_if(2))?;
        return Some(Place::Table(name));
    }
    if kw(i, "VIEW") && i == 1 {
        let (name, _) = plain_name(tokens, past_if(2))?;
        return Some(Place::Last(Some(name)));
    }
    if kw(i, "INDEX") {
        let (_, after) = plain_name(tokens, past_if(i + 1))?;
        if !kw(after, "ON") {
            return None;
        }
        let (table, _) = plain_name(tokens, after + 1)?;
        return Some(Place::On(table, None));
    }
    if kw(i, "TRIGGER") && i == 1 {
        let (name, after) = plain_name(tokens, past_if(2))?;
        // `[BEFORE|AFTER|INSTEAD OF] {DELETE|INSERT|UPDATE [OF col, ...]} ON table`: the first
        // ON keyword (a column named `on` is quoted, so it is no keyword).
        let on = (after..tokens.len()).find(|&k| kw(k, "ON"))?;
        let (table, _) = plain_name(tokens, on + 1)?;
        return Some(Place::On(table, Some(name)));
    }
    None
}

/// The name at token `i` and the index past it, when it is not schema-qualified (`temp.t`
/// would be another database's: such an adoption runs in one database).
fn plain_name(tokens: &[Tok], i: usize) -> Option<(String, usize)> {
    let (name, after) = name_at(tokens, i)?;
    (after == i + 1).then_some((name, after))
}

#[cfg(test)]
#[path = "adoption_tests.rs"]
mod tests;
