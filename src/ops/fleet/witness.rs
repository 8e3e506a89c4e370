//! Which database a run migrated, so that undoing the run acts on that database and on no
//! other. A journal names a target by its path, and a path can come to hold another database
//! (the agent decommissioned, its folder moved aside, a new one created and migrated at the
//! same path). So each `applied` record also keeps the database's identity
//! ([`crate::db::identity::owner`]) and the history rows the run added (version, name,
//! `applied_on`, checksum); `fleet rollback` acts on a target only when the database found at
//! its path has that identity and, since the version the run started from, exactly those
//! history rows. Anything else is "not the database this run migrated", and is left alone.

use std::path::Path;

use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use super::report::Record;
use crate::error::{Error, Result};
use crate::migrations::history;

/// A history row the run added to a database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    /// The version.
    pub version: i32,
    /// Its name (after `V{n}__`).
    pub name: String,
    /// When it was applied (RFC 3339), as the history holds it.
    pub applied_on: String,
    /// refinery's checksum.
    pub checksum: String,
}

impl From<&history::Applied> for Row {
    fn from(a: &history::Applied) -> Self {
        Row {
            version: a.version,
            name: a.name.clone(),
            applied_on: a.applied_on.clone(),
            checksum: a.checksum.clone(),
        }
    }
}

/// What a run leaves as the witness of the database it migrated: its identity and the
/// history rows after `from`, up to `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Witness {
    /// The database's identity (its id, or `path:<canonical path>` while unmanaged).
    pub identity: String,
    /// The history rows with a version after `from` and up to `to`, oldest first.
    pub rows: Vec<Row>,
}

/// The history rows of `applied` after `from`, oldest first.
fn since(applied: &[history::Applied], from: Option<i32>) -> Vec<Row> {
    let mut rows: Vec<Row> = applied
        .iter()
        .filter(|a| from.is_none_or(|f| a.version > f))
        .map(Row::from)
        .collect();
    rows.sort_by_key(|r| r.version);
    rows
}

/// Reads the witness of the database at `path`, which a run just brought from `from` to `to`.
pub fn read(path: &Path, from: Option<i32>, to: Option<i32>) -> Result<Witness> {
    let conn = crate::db::open_read_only(path)?;
    let identity = crate::db::identity::owner(&conn, path)?.id;
    let mut rows = since(&history::applied(&conn)?, from);
    rows.retain(|r| to.is_some_and(|t| r.version <= t));
    Ok(Witness { identity, rows })
}

fn not_it(record: &Record, why: String) -> Error {
    Error::InvalidArgument {
        what: record.target.clone(),
        message: format!("not the database this run migrated: {why}; it is left alone"),
    }
}

/// Errs unless the database open on `conn` at `path` has the identity of the database
/// `record` says its run migrated. A record without one (a journal written before they were
/// recorded, or a database the run could not read back) is refused too: nothing shows which
/// database it was.
pub fn check_identity(conn: &Connection, path: &Path, record: &Record) -> Result<()> {
    let Some(identity) = &record.identity else {
        return Err(not_it(
            record,
            "the run's journal does not record which database it migrated (a journal written before schemactl recorded it); roll it back on its own with `schemactl rollback --database`".into(),
        ));
    };
    let now = crate::db::identity::owner(conn, path)?.id;
    if &now != identity {
        return Err(not_it(
            record,
            format!("its identity is {now}, the run's database was {identity}"),
        ));
    }
    Ok(())
}

/// Errs unless the history of the database open on `conn` holds, after the version the run
/// started from, exactly the rows the run added (`applied_on` and checksum included): a
/// database rolled back and migrated again since, or another database brought to the same
/// version, is not the one the run left there.
pub fn check_history(conn: &Connection, record: &Record) -> Result<()> {
    let rows = since(&history::applied(conn)?, record.from);
    if record.applied.is_empty() {
        return Err(not_it(
            record,
            "the run's journal does not record the history rows it added".into(),
        ));
    }
    if rows.len() != record.applied.len() {
        let theirs: Vec<String> = rows
            .iter()
            .map(|r| format!("V{}__{}", r.version, r.name))
            .collect();
        let ours: Vec<String> = record
            .applied
            .iter()
            .map(|r| format!("V{}__{}", r.version, r.name))
            .collect();
        return Err(not_it(
            record,
            format!(
                "since {} its history holds {}, the run applied {}",
                super::report::version_name(record.from),
                if theirs.is_empty() {
                    "nothing".to_string()
                } else {
                    theirs.join(", ")
                },
                ours.join(", ")
            ),
        ));
    }
    if let Some((row, ran)) = rows
        .iter()
        .zip(&record.applied)
        .find(|(row, ran)| row != ran)
    {
        return Err(not_it(
            record,
            format!(
                "its V{}__{} was applied on {} (checksum {}), the run applied V{}__{} on {} (checksum {})",
                row.version,
                row.name,
                row.applied_on,
                row.checksum,
                ran.version,
                ran.name,
                ran.applied_on,
                ran.checksum
            ),
        ));
    }
    Ok(())
}
