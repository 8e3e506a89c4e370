//! Opening live databases.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use crate::error::{Error, Result};

/// `path` with `suffix` appended to its file name: `<db>-wal`, `<backup>.sha256`, ...
pub fn sibling(path: &Path, suffix: &str) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    name.into()
}

/// The size of a database's `-wal` file, 0 when there is none.
pub fn wal_bytes(path: &Path) -> u64 {
    std::fs::metadata(sibling(path, "-wal")).map_or(0, |m| m.len())
}

/// How long schemactl waits for another connection's lock before it gives up with a message:
/// `SCHEMACTL_BUSY_TIMEOUT_MS` milliseconds, 10 s by default.
pub fn busy_timeout() -> std::time::Duration {
    std::env::var("SCHEMACTL_BUSY_TIMEOUT_MS")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(
            std::time::Duration::from_secs(10),
            std::time::Duration::from_millis,
        )
}

/// Errs unless the database file exists: commands that work on a database never create one.
pub fn must_exist(path: &Path) -> Result<()> {
    if path.is_file() {
        Ok(())
    } else {
        Err(Error::Usage(format!(
            "database {} does not exist",
            path.display()
        )))
    }
}

/// Opens an existing database read-only, checking that it is an SQLite database.
pub fn open_read_only(path: &Path) -> Result<Connection> {
    must_exist(path)?;
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| Error::sqlite(format!("open {}", path.display()), e))?;
    conn.busy_timeout(busy_timeout())
        .map_err(|e| Error::sqlite("set busy_timeout", e))?;
    conn.query_row("SELECT count(*) FROM sqlite_schema", [], |_| Ok(()))
        .map_err(|e| Error::sqlite(format!("read {}", path.display()), e))?;
    Ok(conn)
}

/// Row counts of every table of the `main` database (SQLite's own tables and virtual tables
/// aside), by name.
pub fn row_counts(conn: &Connection) -> Result<std::collections::BTreeMap<String, u64>> {
    let q = |e| Error::sqlite("count rows", e);
    let names: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND sql NOT LIKE 'CREATE VIRTUAL%'",
        )
        .map_err(q)?
        .query_map([], |r| r.get(0))
        .map_err(q)?
        .collect::<rusqlite::Result<_>>()
        .map_err(q)?;
    names
        .into_iter()
        .map(|name| {
            let n: i64 = conn
                .query_row(
                    &format!("SELECT count(*) FROM {}", crate::sql::quote_ident(&name)),
                    [],
                    |r| r.get(0),
                )
                .map_err(q)?;
            Ok((name, u64::try_from(n).unwrap_or_default()))
        })
        .collect()
}
