//! Statements confined to the transaction they run in: SQLite's own authorizer, asked as each
//! statement is prepared (https://www.sqlite.org/c3ref/set_authorizer.html), refuses the ones
//! that would end, open or escape schemactl's migration transaction: `BEGIN`, `COMMIT`, `END`,
//! `ROLLBACK` (SQLITE_TRANSACTION), `SAVEPOINT`, `RELEASE`, `ROLLBACK TO` (SQLITE_SAVEPOINT),
//! `ATTACH`, `DETACH`, and `PRAGMA journal_mode` (and `wal_checkpoint`, which cannot run inside
//! one).
//!
//! The migration loader refuses these words when it reads a file, by schemactl's own lexer;
//! this is the check that does not depend on that lexer. Text it cannot read (an unterminated
//! string after a `COMMIT`) is split into statements by SQLite alone, and each is judged here
//! before it runs. (`VACUUM` needs no rule: SQLite refuses it inside a transaction.)

use std::ffi::{CStr, c_char, c_int, c_void};

use rusqlite::Connection;
use rusqlite::ffi;

/// While alive, `conn` prepares no statement that controls the transaction or the connection:
/// preparing one fails with SQLITE_AUTH ([`is_refusal`]). Dropped, the authorizer is removed.
pub struct Confined<'c> {
    conn: &'c Connection,
}

impl<'c> Confined<'c> {
    /// Installs the authorizer on `conn` (which has none of its own: schemactl sets no other).
    pub fn new(conn: &'c Connection) -> Confined<'c> {
        // SAFETY: the handle is `conn`'s open database, valid for the borrow; the callback is
        // a plain function that reads only its arguments, and it needs no user data.
        unsafe {
            ffi::sqlite3_set_authorizer(conn.handle(), Some(deny_control), std::ptr::null_mut());
        }
        Confined { conn }
    }
}

impl Drop for Confined<'_> {
    fn drop(&mut self) {
        // SAFETY: as in `new`; a null callback removes the authorizer.
        unsafe {
            ffi::sqlite3_set_authorizer(self.conn.handle(), None, std::ptr::null_mut());
        }
    }
}

/// Confines `conn` for as long as it is open: for a scratch database that runs nothing of
/// schemactl's own that [`Confined`] refuses.
pub fn confine(conn: &Connection) {
    std::mem::forget(Confined::new(conn));
}

/// True when `e` is a statement refused by [`Confined`].
pub fn is_refusal(e: &rusqlite::Error) -> bool {
    e.sqlite_error_code() == Some(rusqlite::ErrorCode::AuthorizationForStatementDenied)
}

/// What [`Confined`] says of a statement it refused.
pub const REFUSAL: &str = "it controls the transaction or the connection (BEGIN, COMMIT, END, ROLLBACK, SAVEPOINT, RELEASE, ATTACH, DETACH, PRAGMA journal_mode or wal_checkpoint), and a migration runs inside schemactl's transaction: refused before it ran";

/// The authorizer: SQLITE_DENY for transaction control, savepoints, ATTACH, DETACH and
/// `PRAGMA journal_mode`; SQLITE_OK for everything else.
extern "C" fn deny_control(
    _data: *mut c_void,
    action: c_int,
    first: *const c_char,
    _second: *const c_char,
    _database: *const c_char,
    _trigger: *const c_char,
) -> c_int {
    match action {
        ffi::SQLITE_TRANSACTION
        | ffi::SQLITE_SAVEPOINT
        | ffi::SQLITE_ATTACH
        | ffi::SQLITE_DETACH => ffi::SQLITE_DENY,
        ffi::SQLITE_PRAGMA if !first.is_null() => {
            // SAFETY: for SQLITE_PRAGMA, SQLite passes the pragma's name as a NUL-terminated
            // string, valid for the call.
            let name = unsafe { CStr::from_ptr(first) };
            let name = name.to_bytes();
            // A checkpoint cannot run inside a transaction either (SQLite says "locked").
            if name.eq_ignore_ascii_case(b"journal_mode")
                || name.eq_ignore_ascii_case(b"wal_checkpoint")
            {
                ffi::SQLITE_DENY
            } else {
                ffi::SQLITE_OK
            }
        }
        _ => ffi::SQLITE_OK,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every statement that controls the transaction is refused as it is prepared, in any
    /// spelling SQLite accepts, and nothing else is; gone with the guard.
    #[test]
    fn control_is_refused_when_prepared_and_nothing_else() {
        let conn = Connection::open_in_memory().expect("open");
        conn.execute_batch("CREATE TABLE t (x); BEGIN;")
            .expect("setup");
        let refused = [
            "COMMIT",
            "end transaction",
            "ROLLBACK",
            "BEGIN",
            "SAVEPOINT s",
            "RELEASE s",
            "ROLLBACK TO s",
            "ATTACH ':memory:' AS other",
            "DETACH other",
            "PRAGMA journal_mode = OFF",
            "PRAGMA \"journal_mode\"",
            "pragma main.JOURNAL_MODE=wal",
            "PRAGMA 'journal_mode'",
            "PRAGMA wal_checkpoint(TRUNCATE)",
        ];
        let allowed = [
            "INSERT INTO t VALUES (1)",
            "PRAGMA foreign_keys = OFF",
            "PRAGMA legacy_alter_table = ON",
            "CREATE TRIGGER g AFTER INSERT ON t BEGIN SELECT RAISE(ROLLBACK, 'no') WHERE 0; END",
            "INSERT OR ROLLBACK INTO t VALUES (2)",
        ];
        {
            let _confined = Confined::new(&conn);
            for sql in refused {
                let e = conn.prepare(sql).map(|_| ()).expect_err(sql);
                assert!(is_refusal(&e), "{sql}: {e}");
            }
            for sql in allowed {
                conn.execute_batch(sql)
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
            assert!(!conn.is_autocommit(), "the transaction is still open");
        }
        conn.execute_batch("COMMIT")
            .expect("allowed again once the guard is gone");
        let n: i64 = conn
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .expect("count");
        assert_eq!(n, 2);
    }
}
