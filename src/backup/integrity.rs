//! `PRAGMA integrity_check` of a database file, including one whose indexes use a collation
//! this build of SQLite lacks (Android's `LOCALIZED` and `UNICODE`, an app's own): SQLite then
//! refuses the whole check, so a Room database could never be backed up or restored. Such a
//! database is checked again on a QUERY-ONLY connection that has a stand-in (binary) for each
//! missing collation: everything is verified (every page, every row, every other index, the
//! entry count of each index) except the order and contents of the indexes, and the CHECK
//! constraints, that the missing collation decides; the lines SQLite reports about those are
//! set aside and [`Unverified`] names them.
//!
//! A stand-in collation is never registered on a connection that can write (`query_only` is
//! on first, and checked): an insert through it would put index entries in the wrong order and
//! corrupt the index.

use std::collections::BTreeSet;
use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use crate::db::missing_collation;
use crate::error::{Error, Result};

/// What an integrity check could not verify because the database uses collations this build
/// of SQLite does not have. Empty when everything was verified.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Unverified {
    /// The missing collations, as the schema spells them.
    pub collations: Vec<String>,
    /// The indexes whose order and contents depend on them.
    pub indexes: Vec<String>,
    /// The tables whose CHECK constraints may depend on them.
    pub checks: Vec<String>,
    /// The WITHOUT ROWID tables whose PRIMARY KEY is in one: the table is a b-tree in that
    /// key's order, so the order of its rows depends on it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<String>,
}

impl Unverified {
    /// Returns true when everything was verified.
    pub fn is_empty(&self) -> bool {
        self.collations.is_empty()
    }

    /// Says what `pragma` (`integrity_check` or `quick_check`) did not verify, in a sentence
    /// (empty when everything was).
    pub fn describe(&self, pragma: &str) -> String {
        if self.is_empty() {
            return String::new();
        }
        let list = |names: &[String]| {
            names
                .iter()
                .map(|n| format!("\"{n}\""))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut what = Vec::new();
        if !self.indexes.is_empty() {
            what.push(format!(
                "the order and contents of index {}{}",
                list(&self.indexes),
                if pragma == "integrity_check" {
                    " (their entry counts were checked)"
                } else {
                    ""
                }
            ));
        }
        if !self.keys.is_empty() {
            what.push(format!(
                "the order of the rows of WITHOUT ROWID table {} (by their PRIMARY KEY)",
                list(&self.keys)
            ));
        }
        if !self.checks.is_empty() {
            what.push(format!(
                "the CHECK constraints of table {}",
                list(&self.checks)
            ));
        }
        if what.is_empty() {
            what.push("nothing that SQLite checks".into());
        }
        format!(
            "collation {} is not in this build of SQLite: {pragma} could not verify {}; \
             everything else was verified",
            list(&self.collations),
            what.join(", nor ")
        )
    }
}

/// How many of the problems integrity_check reports a failure names, one a line; the rest
/// are counted (`(N more)`).
pub const SHOWN_PROBLEMS: usize = 10;

/// The problems of integrity_check's rows (each may hold several lines, after a `*** in
/// database main ***` heading): the first [`SHOWN_PROBLEMS`], one a line, then how many more.
pub fn problems(rows: &[String]) -> String {
    let all: Vec<&str> = rows
        .iter()
        .flat_map(|r| r.lines())
        .map(str::trim)
        .filter(|l| !(l.is_empty() || l.starts_with("*** in database ") && l.ends_with("***")))
        .collect();
    if all.is_empty() {
        return rows.join(" ");
    }
    let mut out: Vec<String> = all
        .iter()
        .take(SHOWN_PROBLEMS)
        .map(|l| l.to_string())
        .collect();
    if all.len() > SHOWN_PROBLEMS {
        out.push(format!("({} more)", all.len() - SHOWN_PROBLEMS));
    }
    out.join("\n")
}

/// Runs `PRAGMA integrity_check` on a database file; Err names its problems (see
/// [`problems`]). When the database uses a collation this build lacks, the check runs again
/// without it (see the module header) and the result says what could not be verified.
pub fn integrity_check(path: &Path) -> Result<Unverified> {
    let context = || format!("check {}", crate::printable::path(&path));
    let first = {
        // Opened read-write so that a WAL-mode copy cleans up its -wal and -shm when closed.
        let conn = Connection::open(path)
            .map_err(|e| Error::sqlite(format!("open {}", crate::printable::path(&path)), e))?;
        conn.prepare("PRAGMA integrity_check").and_then(|mut stmt| {
            let mut out: Vec<String> = Vec::new();
            let mut rows = stmt.query([])?;
            loop {
                match rows.next() {
                    Ok(Some(row)) => out.push(row.get(0)?),
                    Ok(None) => break,
                    // SQLite may stop on a page it cannot read after naming problems: they
                    // are what is reported, with why it stopped.
                    Err(e) if out.iter().any(|r| r != "ok") => {
                        out.push(e.to_string());
                        break;
                    }
                    Err(e) => return Err(e),
                }
            }
            Ok(out)
        })
    };
    let rows = match first {
        Ok(rows) => rows,
        // SQLite's own limit of problems (100) is the most it names of one check.
        Err(e) if missing_collation(&e).is_some() => {
            let (lines, unverified) = without_collations(path, "integrity_check", 100)?;
            if lines.is_empty() {
                return Ok(unverified);
            }
            lines
        }
        Err(e) => return Err(Error::sqlite(context(), e)),
    };
    if rows.iter().all(|r| r == "ok") {
        Ok(Unverified::default())
    } else {
        Err(Error::IntegrityCheckFailed {
            path: path.to_path_buf(),
            result: problems(&rows),
        })
    }
}

/// Runs `pragma` (`integrity_check` or `quick_check`) on a query-only connection to `path`
/// with a binary stand-in for every collation SQLite says is missing, and returns up to
/// `limit` of the problems it reports (none when the file is sound), leaving out those about
/// what the missing collations decide, and what those were.
pub fn without_collations(
    path: &Path,
    pragma: &'static str,
    limit: usize,
) -> Result<(Vec<String>, Unverified)> {
    let sqlite = |e| Error::sqlite(format!("check {}", crate::printable::path(&path)), e);
    // Opened read-write because SQLite leaves out the CHECK constraints of a read-only file
    // (integrity_check would skip them), but query_only before anything else: from here on
    // SQLite refuses every write on this connection, so the stand-in never orders an entry.
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sqlite)?;
    conn.pragma_update(None, "query_only", true)
        .map_err(sqlite)?;
    let query_only: bool = conn
        .query_row("PRAGMA query_only", [], |r| r.get(0))
        .map_err(sqlite)?;
    if !query_only {
        return Err(Error::sqlite(
            format!("check {}", crate::printable::path(&path)),
            rusqlite::Error::InvalidQuery,
        ));
    }
    // No error limit: the lines set aside may be one per row, and a real problem after them
    // must still be seen. They are read one at a time and not kept.
    let sql = format!("PRAGMA {pragma}(2147483647)");
    let mut missing: Vec<String> = Vec::new();
    let mut stmt = loop {
        match conn.prepare(&sql) {
            Ok(stmt) => break stmt,
            Err(e) => match missing_collation(&e) {
                // Each round registers one more; a name seen twice did not help.
                Some(name) if !missing.iter().any(|m| m.eq_ignore_ascii_case(&name)) => {
                    conn.create_collation(name.as_str(), |a: &str, b: &str| a.cmp(b))
                        .map_err(sqlite)?;
                    missing.push(name);
                }
                _ => return Err(sqlite(e)),
            },
        }
    };
    let unverified = decided_by(&conn, &missing).map_err(sqlite)?;
    let set_aside = |line: &str| {
        unverified.indexes.iter().any(|ix| {
            line.ends_with(&format!(" index {ix}"))
                && !(line.starts_with("wrong # of entries") && counted(&conn, ix))
                || line.starts_with(&format!("index {ix} stores "))
        }) || unverified
            .checks
            .iter()
            .any(|t| line == format!("CHECK constraint failed in {t}"))
            || unverified
                .keys
                .iter()
                .any(|t| line == format!("row not in PRIMARY KEY order for {t}"))
    };
    let mut lines = Vec::new();
    let mut rows = stmt.query([]).map_err(sqlite)?;
    while let Some(row) = rows.next().map_err(sqlite)? {
        let line: String = row.get(0).map_err(sqlite)?;
        if line == "ok" || set_aside(&line) {
            continue;
        }
        lines.push(line);
        if lines.len() >= limit {
            break;
        }
    }
    Ok((lines, unverified))
}

/// Whether an index's entry count does not depend on a collation: it has no WHERE (the
/// WHERE of a partial index is evaluated with the stand-in).
fn counted(conn: &Connection, index: &str) -> bool {
    conn.query_row(
        "SELECT \"partial\" FROM pragma_index_list((SELECT tbl_name FROM sqlite_schema \
         WHERE type = 'index' AND name = ?1)) WHERE name = ?1",
        [index],
        |r| r.get::<_, bool>(0),
    )
    .is_ok_and(|partial| !partial)
}

/// The indexes and CHECK-holding tables whose verification the `missing` collations decide:
/// an index with a key column in one, or whose SQL or (when partial) its table's SQL names
/// one; a table with a CHECK whose SQL names one (a column's collation applies to the
/// comparisons a CHECK makes on it).
fn decided_by(conn: &Connection, missing: &[String]) -> rusqlite::Result<Unverified> {
    let names = |sql: &str| {
        let sql = sql.to_ascii_uppercase();
        missing
            .iter()
            .any(|m| sql.contains(&m.to_ascii_uppercase()))
    };
    let mut checks = BTreeSet::new();
    let mut tables_naming = BTreeSet::new();
    let mut stmt =
        conn.prepare("SELECT name, coalesce(sql, '') FROM sqlite_schema WHERE type = 'table'")?;
    for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))? {
        let (table, sql) = row?;
        if names(&sql) {
            if sql.to_ascii_uppercase().contains("CHECK") {
                checks.insert(table.clone());
            }
            tables_naming.insert(table);
        }
    }
    let mut indexes = BTreeSet::new();
    let mut stmt = conn.prepare(
        "SELECT s.name, s.tbl_name, coalesce(s.sql, ''), l.\"partial\" \
         FROM sqlite_schema s JOIN pragma_index_list(s.tbl_name) l ON l.name = s.name \
         WHERE s.type = 'index'",
    )?;
    // Every column of an entry, not only the key: the entries of an index on a WITHOUT ROWID
    // table end with the table's PRIMARY KEY, in its collations.
    let mut colls = conn.prepare("SELECT coll FROM pragma_index_xinfo(?1)")?;
    for row in stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, bool>(3)?,
        ))
    })? {
        let (index, table, sql, partial) = row?;
        let mut keyed = false;
        for coll in colls.query_map([&index], |r| r.get::<_, Option<String>>(0))? {
            let coll = coll?.unwrap_or_default();
            keyed |= missing.iter().any(|m| m.eq_ignore_ascii_case(&coll));
        }
        if keyed || names(&sql) || (partial && tables_naming.contains(&table)) {
            indexes.insert(index);
        }
    }
    // A WITHOUT ROWID table's PRIMARY KEY has no sqlite_schema row: read it from the table.
    let mut keys = BTreeSet::new();
    let mut stmt = conn.prepare(
        "SELECT t.name, x.coll FROM pragma_table_list AS t, pragma_index_list(t.name) AS l, \
         pragma_index_xinfo(l.name) AS x WHERE t.schema = 'main' AND t.wr AND l.origin = 'pk' \
         AND x.key",
    )?;
    for row in stmt.query_map([], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
    })? {
        let (table, coll) = row?;
        let coll = coll.unwrap_or_default();
        if missing.iter().any(|m| m.eq_ignore_ascii_case(&coll)) {
            keys.insert(table);
        }
    }
    let mut collations = missing.to_vec();
    collations.sort();
    Ok(Unverified {
        collations,
        indexes: indexes.into_iter().collect(),
        checks: checks.into_iter().collect(),
        keys: keys.into_iter().collect(),
    })
}
