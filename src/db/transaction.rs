//! The one write transaction bracket: `BEGIN IMMEDIATE`, the work, `COMMIT`, or `ROLLBACK` on
//! any error, with foreign key enforcement switched off around it when asked.
//!
//! `PRAGMA foreign_keys` is a no-op inside a transaction
//! (<https://www.sqlite.org/pragma.html#pragma_foreign_keys>), so it is switched off before
//! `BEGIN` and set back afterwards, whatever happened. `BEGIN IMMEDIATE` takes the write lock
//! at once, so what the work reads is what it changes.

use rusqlite::Connection;

use crate::error::{Error, Result};

/// What happens to foreign key enforcement around a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForeignKeys {
    /// Leave the connection's setting as it is.
    Keep,
    /// Switch enforcement off before the transaction (when it is on) and back on after it:
    /// for work that drops or rebuilds tables, or rewrites rows, and checks the keys itself.
    Off,
}

/// Runs `work` in one `BEGIN IMMEDIATE` transaction on `conn`, all or nothing: commits when it
/// returns Ok, rolls back when it (or the commit) fails. `begin` and `commit` say what was
/// being done, for the errors of those two statements.
pub fn immediate<T>(
    conn: &Connection,
    foreign_keys: ForeignKeys,
    begin: &str,
    commit: &str,
    work: impl FnOnce() -> Result<T>,
) -> Result<T> {
    let switch_off = foreign_keys == ForeignKeys::Off && {
        let on: bool = conn
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .map_err(Error::sqlite_in("read PRAGMA foreign_keys"))?;
        on
    };
    if switch_off {
        conn.execute_batch("PRAGMA foreign_keys = OFF")
            .map_err(Error::sqlite_in("switch foreign keys off"))?;
    }
    let result = in_transaction(conn, begin, commit, work);
    if switch_off {
        // Restore the connection's setting whatever happened; report the first error.
        let restored = conn
            .execute_batch("PRAGMA foreign_keys = ON")
            .map_err(Error::sqlite_in("switch foreign keys back on"));
        let value = result?;
        restored?;
        return Ok(value);
    }
    result
}

fn in_transaction<T>(
    conn: &Connection,
    begin: &str,
    commit: &str,
    work: impl FnOnce() -> Result<T>,
) -> Result<T> {
    conn.execute_batch("BEGIN IMMEDIATE")
        .map_err(Error::sqlite_in(begin))?;
    let result = work().and_then(|value| {
        conn.execute_batch("COMMIT")
            .map_err(Error::sqlite_in(commit))?;
        Ok(value)
    });
    if result.is_err() && !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "PRAGMA foreign_keys = ON; CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE c (p INTEGER REFERENCES p(id)); INSERT INTO p VALUES (1); INSERT INTO c VALUES (1);",
        )
        .unwrap();
        conn
    }

    fn count(conn: &Connection, table: &str) -> i64 {
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn commits_on_ok_and_rolls_back_on_err() {
        let conn = conn();
        immediate(&conn, ForeignKeys::Keep, "begin", "commit", || {
            conn.execute_batch("INSERT INTO p VALUES (2)")
                .map_err(Error::sqlite_in("insert"))
        })
        .unwrap();
        assert_eq!(count(&conn, "p"), 2);
        let err = immediate(&conn, ForeignKeys::Keep, "begin", "commit", || {
            conn.execute_batch("INSERT INTO p VALUES (3)")
                .map_err(Error::sqlite_in("insert"))?;
            conn.execute_batch("INSERT INTO nowhere VALUES (1)")
                .map_err(Error::sqlite_in("insert"))
        });
        assert!(err.is_err());
        assert!(conn.is_autocommit());
        assert_eq!(count(&conn, "p"), 2);
    }

    #[test]
    fn foreign_keys_are_off_inside_and_restored_after() {
        let conn = conn();
        immediate(&conn, ForeignKeys::Off, "begin", "commit", || {
            // With enforcement on, this DROP would fail or cascade.
            conn.execute_batch(
                "DROP TABLE p; CREATE TABLE p (id INTEGER PRIMARY KEY); INSERT INTO p VALUES (1)",
            )
            .map_err(Error::sqlite_in("rebuild"))
        })
        .unwrap();
        assert_eq!(count(&conn, "c"), 1);
        let on: bool = conn
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .unwrap();
        assert!(on);
    }
}
