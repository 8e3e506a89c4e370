//! The history a database keeps of its migrations, read as raw rows: refinery's
//! `_schemactl_history` (version, name, applied_on, checksum) and schemactl's
//! `_schemactl_migrations`, which keeps each applied migration's forward and reverse SQL so
//! that rollback never depends on files still being there. The [`super::Catalogue`] joins
//! these rows with the migration files.

use rusqlite::{Connection, OptionalExtension};

use crate::error::{Error, Result};

pub use crate::db::bookkeeping::{CREATE_MIGRATIONS_TABLE, HISTORY_TABLE};

/// A row of refinery's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// Version.
    pub version: i32,
    /// Name (after `V{n}__`).
    pub name: String,
    /// When (RFC 3339).
    pub applied_on: String,
    /// refinery's checksum.
    pub checksum: String,
}

/// A row of `_schemactl_migrations`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// Version.
    pub version: i32,
    /// Name.
    pub name: String,
    /// `file` or `sync`.
    pub kind: String,
    /// The forward SQL that ran.
    pub forward: String,
    /// The reverse SQL, when one was known.
    pub reverse: Option<String>,
}

fn table_exists(conn: &Connection, name: &str) -> Result<bool> {
    crate::db::table_exists(conn, name).map_err(Error::sqlite_in("read the migration history"))
}

/// Reads refinery's history, oldest first; empty when there is none.
pub fn applied(conn: &Connection) -> Result<Vec<Applied>> {
    if !table_exists(conn, HISTORY_TABLE)? {
        return Ok(Vec::new());
    }
    let q = |e| Error::sqlite("read _schemactl_history", e);
    let mut stmt = conn
        .prepare(
            "SELECT version, name, applied_on, checksum FROM _schemactl_history ORDER BY version",
        )
        .map_err(q)?;
    let rows = stmt
        .query_map([], |r| {
            Ok(Applied {
                version: r.get(0)?,
                name: r.get(1)?,
                applied_on: r.get(2)?,
                checksum: r.get(3)?,
            })
        })
        .map_err(q)?;
    rows.collect::<rusqlite::Result<_>>().map_err(q)
}

/// Reads the bookkeeping rows, oldest first; empty when there are none.
pub fn recorded(conn: &Connection) -> Result<Vec<Recorded>> {
    if !table_exists(conn, "_schemactl_migrations")? {
        return Ok(Vec::new());
    }
    let q = |e| Error::sqlite("read _schemactl_migrations", e);
    let mut stmt = conn
        .prepare("SELECT version, name, kind, forward, reverse FROM _schemactl_migrations ORDER BY version")
        .map_err(q)?;
    let rows = stmt
        .query_map([], |r| {
            Ok(Recorded {
                version: r.get(0)?,
                name: r.get(1)?,
                kind: r.get(2)?,
                forward: r.get(3)?,
                reverse: r.get(4)?,
            })
        })
        .map_err(q)?;
    rows.collect::<rusqlite::Result<_>>().map_err(q)
}

/// Returns the highest applied version, if any.
pub fn current_version(conn: &Connection) -> Result<Option<i32>> {
    if !table_exists(conn, HISTORY_TABLE)? {
        return Ok(None);
    }
    conn.query_row("SELECT max(version) FROM _schemactl_history", [], |r| {
        r.get(0)
    })
    .optional()
    .map(Option::flatten)
    .map_err(|e| Error::sqlite("read _schemactl_history", e))
}
