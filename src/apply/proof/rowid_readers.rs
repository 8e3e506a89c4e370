//! The tables whose rowids something reads. The rowid of a table without an INTEGER PRIMARY
//! KEY is SQLite's, not a value the table declares, and the row proof matches such rows by
//! their declared key or their values ([`super::rows::table_proof`]), unless the rowid is
//! read: by an external-content full-text index (`content=` the table, or a view over it), by
//! a view whose SQL names the table and a rowid, by a trigger that names a rowid and another
//! table than its own (it may keep the rowid there: `INSERT INTO audit VALUES (new.rowid)`; a
//! trigger that only updates its own row by rowid keeps nothing), or by a rollback stash that
//! finds its rows by rowid. Those rows keep their rowids as their identity: a copy that
//! renumbers them is refused, and the refusal says what reads them.

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::Connection;

use super::q;
use crate::error::Result;
use crate::sql::lex;
use crate::sql::virtual_table::{ROWID_NAMES, external_index};

/// The tables (lowercased) whose rowids are read, each with what reads them. The key `*`
/// stands for every table (a stash whose table is no longer known).
pub(super) type Readers = BTreeMap<String, String>;

/// What reads rowids in the main schema of `conn`: its full-text indexes, views and triggers
/// ([`schema_readers`]) and schemactl's rollback stashes.
pub(super) fn rowid_readers(conn: &Connection) -> Result<Readers> {
    let mut out = schema_readers(conn)?;
    for (stash, table) in crate::apply::stash::rowid_keyed(conn)? {
        let why = format!("the rollback stash \"{stash}\" finds its rows by rowid");
        let table = table.map_or_else(|| "*".to_string(), |t| t.to_ascii_lowercase());
        out.entry(table).or_insert(why);
    }
    Ok(out)
}

/// What reads rowids among the full-text indexes, views and triggers of the main schema.
pub(super) fn schema_readers(conn: &Connection) -> Result<Readers> {
    let objects: Vec<(String, String, String, String)> = conn
        .prepare(
            "SELECT type, name, sql, tbl_name FROM main.sqlite_schema WHERE sql IS NOT NULL AND type IN ('table', 'view', 'trigger')",
        )
        .and_then(|mut s| {
            s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(q("list the objects that may read rowids"))?;
    let kinds: BTreeMap<String, (&str, &str)> = objects
        .iter()
        .map(|(ty, name, sql, _)| (name.to_ascii_lowercase(), (ty.as_str(), sql.as_str())))
        .collect();
    let words = |sql: &str| -> Vec<String> {
        lex(sql)
            .map(|tokens| {
                tokens
                    .iter()
                    .filter_map(|t| t.name())
                    .map(str::to_ascii_lowercase)
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut out = Readers::new();
    // Marks the tables `start` names, or reads through views, as read by `why`.
    let reach = |start: Vec<String>, why: String, out: &mut Readers| {
        let mut work = start;
        let mut seen = BTreeSet::new();
        while let Some(name) = work.pop() {
            if !seen.insert(name.clone()) {
                continue;
            }
            match kinds.get(&name) {
                Some(("table", _)) => {
                    out.entry(name).or_insert_with(|| why.clone());
                }
                Some(("view", sql)) => work.extend(words(sql)),
                _ => {}
            }
        }
    };
    for (ty, name, sql, table) in &objects {
        if ty == "table" {
            if let Some(ix) = external_index(name, sql).filter(|ix| ix.reads_rowid()) {
                let why = format!("the full-text index \"{name}\" reads its rowids");
                reach(vec![ix.content.to_ascii_lowercase()], why, &mut out);
            }
            continue;
        }
        // A view or a trigger that names a rowid: every table it names may be the one.
        let w = words(sql);
        if !w.iter().any(|w| ROWID_NAMES.contains(&w.as_str())) {
            continue;
        }
        let own = table.to_ascii_lowercase();
        let elsewhere = ty == "view"
            || w.iter().any(|w| {
                *w != own
                    && kinds
                        .get(w)
                        .is_some_and(|(k, _)| matches!(*k, "table" | "view"))
            });
        if elsewhere {
            reach(w, format!("the {ty} \"{name}\" names its rowid"), &mut out);
        }
    }
    Ok(out)
}
