//! Statements confined to the transaction they run in: SQLite's own authorizer, asked as each
//! statement is prepared (https://www.sqlite.org/c3ref/set_authorizer.html), refuses the ones
//! that would end, open or escape schemactl's migration transaction: `BEGIN`, `COMMIT`, `END`,
//! `ROLLBACK` (SQLITE_TRANSACTION), `SAVEPOINT`, `RELEASE`, `ROLLBACK TO` (SQLITE_SAVEPOINT),
//! `ATTACH`, `DETACH`, and `PRAGMA journal_mode` (and `wal_checkpoint`, which cannot run inside
//! one); and the PRAGMAs that, once set, change for the rest of the connection how it reads the
//! schema or the rows ([`NOT_SET`]), which schemactl's checks after the migration read through.
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

/// Settings a migration may use for its own statements and that would otherwise last for the
/// rest of the connection (or of the transaction): a run, and every replay, puts them back
/// after each migration, so that a migration behaves in a run as it does alone (h24_01:
/// `legacy_alter_table` left ON made the next migration's RENAME leave a view on the old name).
pub const SETTINGS: [&str; 2] = ["legacy_alter_table", "defer_foreign_keys"];

/// The values of [`SETTINGS`] on `conn`.
pub fn settings(conn: &Connection) -> rusqlite::Result<Vec<(&'static str, i64)>> {
    SETTINGS
        .iter()
        .map(|name| {
            conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get::<_, i64>(0))
                .map(|v| (*name, v))
        })
        .collect()
}

/// Puts `values` (read by [`settings`]) back on `conn`.
pub fn put_back(conn: &Connection, values: &[(&'static str, i64)]) -> rusqlite::Result<()> {
    for (name, value) in values {
        conn.execute_batch(&format!("PRAGMA {name} = {value}"))?;
    }
    Ok(())
}

/// True when `e` is a statement refused by [`Confined`].
pub fn is_refusal(e: &rusqlite::Error) -> bool {
    // A function refused is said in words only (SQLite's resolver gives no SQLITE_AUTH).
    e.sqlite_error_code() == Some(rusqlite::ErrorCode::AuthorizationForStatementDenied)
        || e.to_string().starts_with("not authorized to use function")
}

/// What [`Confined`] says of a statement it refused.
pub const REFUSAL: &str = "it controls the transaction or the connection (BEGIN, COMMIT, END, ROLLBACK, SAVEPOINT, RELEASE, ATTACH, DETACH, PRAGMA journal_mode or wal_checkpoint, or sets a PRAGMA that changes how the connection reads the schema or the rows: writable_schema, schema_version, case_sensitive_like, ignore_check_constraints, recursive_triggers, query_only, reverse_unordered_selects, trusted_schema, count_changes, or the process's soft_heap_limit or hard_heap_limit), which a migration may not do: it runs inside schemactl's transaction, on the connection its checks use; or it writes, or makes an object named like, schemactl's own records (_schemactl_history, _schemactl_migrations, _schemactl_identity), which a statement may only read, or calls one of schemactl's own functions (schemactl_*): refused before it ran";

/// PRAGMAs a statement may read but not set: each would change, for the rest of the
/// connection, how it reads the schema or the rows, and so what schemactl's own checks and
/// steps after the migration see (h23: a trigger hidden from a LIKE, a schema rewritten under
/// the connection's parsed one, CHECKs skipped in the next migration).
const NOT_SET: [&[u8]; 11] = [
    b"count_changes",
    b"hard_heap_limit",
    b"soft_heap_limit",
    b"writable_schema",
    b"schema_version",
    b"case_sensitive_like",
    b"ignore_check_constraints",
    b"recursive_triggers",
    b"query_only",
    b"reverse_unordered_selects",
    b"trusted_schema",
];

/// schemactl's records of what ran (h22_04): a statement may read them, and nothing else. A
/// migration that wrote them (`DELETE FROM _schemactl_history`) would leave a history that
/// no longer says what ran; one that made an object of their name would take their place.
const RECORDS: [&[u8]; 3] = [
    b"_schemactl_history",
    b"_schemactl_migrations",
    b"_schemactl_identity",
];

/// The prefix of the SQL functions schemactl registers on a connection for its own steps (the
/// row proof's `schemactl_proof_row`): a statement that called one could feed their state
/// (h26_01: a migration forged the proof's sums).
const OWN_FUNCTIONS: &[u8] = b"schemactl_";

/// True when the NUL-terminated `name` (or NULL) is one of [`RECORDS`], in any case.
fn is_record(name: *const c_char) -> bool {
    if name.is_null() {
        return false;
    }
    // SAFETY: SQLite passes the authorizer NUL-terminated strings, valid for the call.
    let name = unsafe { CStr::from_ptr(name) }.to_bytes();
    is_record_name(name)
}

/// True when `name` is one of schemactl's records of what ran ([`RECORDS`]), in any case.
pub fn is_record_name(name: &[u8]) -> bool {
    RECORDS.iter().any(|r| name.eq_ignore_ascii_case(r))
}

/// The authorizer: SQLITE_DENY for transaction control, savepoints, ATTACH, DETACH,
/// `PRAGMA journal_mode` and `wal_checkpoint`, a set of a [`NOT_SET`] PRAGMA, and anything but a
/// read done to one of schemactl's [`RECORDS`] (or an object of its name made); SQLITE_OK for
/// everything else.
extern "C" fn deny_control(
    _data: *mut c_void,
    action: c_int,
    first: *const c_char,
    second: *const c_char,
    _database: *const c_char,
    _trigger: *const c_char,
) -> c_int {
    match action {
        // The table, view or index is the first string: made, written or dropped.
        ffi::SQLITE_CREATE_TABLE
        | ffi::SQLITE_CREATE_TEMP_TABLE
        | ffi::SQLITE_CREATE_INDEX
        | ffi::SQLITE_CREATE_TEMP_INDEX
        | ffi::SQLITE_CREATE_VIEW
        | ffi::SQLITE_CREATE_TEMP_VIEW
        | ffi::SQLITE_CREATE_VTABLE
        | ffi::SQLITE_INSERT
        | ffi::SQLITE_UPDATE
        | ffi::SQLITE_DELETE
        | ffi::SQLITE_DROP_TABLE
        | ffi::SQLITE_DROP_TEMP_TABLE
        | ffi::SQLITE_DROP_VIEW
        | ffi::SQLITE_DROP_TEMP_VIEW
        | ffi::SQLITE_DROP_VTABLE
            if is_record(first) =>
        {
            ffi::SQLITE_DENY
        }
        // The function's name is the second string.
        ffi::SQLITE_FUNCTION if !second.is_null() => {
            // SAFETY: for SQLITE_FUNCTION, SQLite passes the function's name as a
            // NUL-terminated string, valid for the call.
            let name = unsafe { CStr::from_ptr(second) }.to_bytes();
            let own = name
                .get(..OWN_FUNCTIONS.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(OWN_FUNCTIONS));
            if own {
                ffi::SQLITE_DENY
            } else {
                ffi::SQLITE_OK
            }
        }
        // The table is the second string: an index or trigger on it, or ALTER TABLE.
        ffi::SQLITE_CREATE_INDEX
        | ffi::SQLITE_CREATE_TEMP_INDEX
        | ffi::SQLITE_DROP_INDEX
        | ffi::SQLITE_DROP_TEMP_INDEX
        | ffi::SQLITE_CREATE_TRIGGER
        | ffi::SQLITE_CREATE_TEMP_TRIGGER
        | ffi::SQLITE_ALTER_TABLE
            if is_record(second) =>
        {
            ffi::SQLITE_DENY
        }
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
            // SQLite passes the value being set as the second string, NULL for a read.
            let sets = !second.is_null();
            if name.eq_ignore_ascii_case(b"journal_mode")
                || name.eq_ignore_ascii_case(b"wal_checkpoint")
                || (sets && NOT_SET.iter().any(|n| name.eq_ignore_ascii_case(n)))
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
        conn.execute_batch("CREATE TABLE t (x); CREATE TABLE _schemactl_history (v); BEGIN;")
            .expect("setup");
        conn.create_scalar_function(
            "schemactl_proof_row",
            -1,
            rusqlite::functions::FunctionFlags::SQLITE_UTF8,
            |_| Ok(0),
        )
        .expect("function");
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
            "PRAGMA writable_schema = ON",
            "PRAGMA writable_schema = RESET",
            "PRAGMA main.schema_version = 9",
            "PRAGMA case_sensitive_like = ON",
            "PRAGMA ignore_check_constraints = 1",
            "PRAGMA recursive_triggers = ON",
            "PRAGMA query_only = 1",
            "PRAGMA reverse_unordered_selects = ON",
            "PRAGMA trusted_schema = OFF",
            // schemactl's records (h22_04): read, never written, dropped or replaced.
            "DELETE FROM _schemactl_history",
            "INSERT INTO main._SCHEMACTL_HISTORY VALUES (1)",
            "UPDATE \"_schemactl_history\" SET v = 2",
            "DROP TABLE _schemactl_history",
            "ALTER TABLE _schemactl_history ADD COLUMN w",
            "ALTER TABLE _schemactl_history RENAME TO h",
            "CREATE INDEX i ON _schemactl_history (v)",
            "CREATE TRIGGER g2 AFTER INSERT ON _schemactl_history BEGIN SELECT 1; END",
            "CREATE TABLE _schemactl_migrations (x)",
            "CREATE TEMP TABLE _schemactl_history (x)",
            "CREATE VIEW _schemactl_identity AS SELECT 1",
            "CREATE INDEX _schemactl_identity ON t (x)",
            "WITH d AS (SELECT 1) DELETE FROM _schemactl_history",
            // h26_01: schemactl's own functions (the row proof's).
            "SELECT schemactl_proof_row(0, 0, 1, 1)",
            "INSERT INTO t SELECT SCHEMACTL_PROOF_ROW(2, 0, 1, 1)",
        ];
        let allowed = [
            "INSERT INTO t VALUES (1)",
            "PRAGMA foreign_keys = OFF",
            "PRAGMA legacy_alter_table = ON",
            "PRAGMA writable_schema",
            "PRAGMA user_version = 3",
            "PRAGMA defer_foreign_keys = ON",
            "CREATE TRIGGER g AFTER INSERT ON t BEGIN SELECT RAISE(ROLLBACK, 'no') WHERE 0; END",
            "INSERT OR ROLLBACK INTO t VALUES (2)",
            "SELECT * FROM _schemactl_history",
            "INSERT INTO t SELECT v FROM main._schemactl_history",
            "CREATE TABLE _schemactl_history_copy AS SELECT * FROM _schemactl_history",
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
