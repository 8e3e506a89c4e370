//! Connections that run the SQL schema/ declares as text (a retention rule's `when:`, a
//! `check` invariant, a declared query): SQLite's double-quoted-string fallback is switched
//! off for DML on them, so that `"col"` naming a column the live table lacks is "no such
//! column", as the unquoted `col` is, and never the string 'col'. schemactl's own SQL on such
//! a connection writes every literal in single quotes.

use rusqlite::Connection;
use rusqlite::config::DbConfig;

use crate::error::{Error, Result};

/// Switches the double-quoted-string fallback off for DML on `conn` (until it closes, or
/// [`restore`] is called with the value returned: whether it was on).
pub fn strict(conn: &Connection) -> Result<bool> {
    let context = "switch off double-quoted strings";
    let was = conn
        .db_config(DbConfig::SQLITE_DBCONFIG_DQS_DML)
        .map_err(Error::sqlite_in(context))?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_DQS_DML, false)
        .map_err(Error::sqlite_in(context))?;
    Ok(was)
}

/// Sets the fallback back to `was` (the value [`strict`] returned).
pub fn restore(conn: &Connection, was: bool) {
    let _ = conn.set_db_config(DbConfig::SQLITE_DBCONFIG_DQS_DML, was);
}
