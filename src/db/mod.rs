//! The SQLite plumbing every layer above shares: opening live databases ([`open_live`],
//! [`open_read_only`]), the one write transaction bracket ([`immediate`]), row counts and table
//! lookups, the `_schemactl_*` bookkeeping tables ([`bookkeeping`]), the one-applier lock
//! ([`lock`]), new files written durably ([`write_new`]) and the timestamps schemactl writes.
//!
//! It sits at the bottom of the crate beside `error` and `backup`: it imports neither the
//! pipeline nor the operations, so that `apply/` and `ops/` can both use it.

use std::collections::BTreeMap;
use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use crate::error::{Error, Result};

pub mod bookkeeping;
mod clock;
mod files;
pub mod identity;
pub mod lock;
pub mod orphans;
mod transaction;

pub use crate::error::busy_timeout;
pub use clock::{now_rfc3339, timestamp};
pub use files::{file_system, resolve_links, sibling, sync_dir, sync_file, wal_bytes, write_new};
pub use transaction::{ForeignKeys, immediate};

/// Errs unless the database file exists: commands that work on a database never create one.
pub fn must_exist(path: &Path) -> Result<()> {
    if path.is_file() {
        Ok(())
    } else {
        Err(Error::MissingDatabase {
            path: path.to_path_buf(),
        })
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
    finish_open(conn, path)
}

/// Opens (creating when missing) the live database, with a bounded busy wait.
pub fn open_live(path: &Path) -> Result<Connection> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| Error::io("create directory", parent, e))?;
    }
    let conn =
        Connection::open(path).map_err(|e| Error::sqlite(format!("open {}", path.display()), e))?;
    finish_open(conn, path)
}

/// Sets the busy wait and reads the schema once, so that a file that is not an SQLite
/// database is reported when it is opened.
fn finish_open(conn: Connection, path: &Path) -> Result<Connection> {
    conn.busy_timeout(busy_timeout())
        .map_err(|e| Error::sqlite("set busy_timeout", e))?;
    conn.query_row("SELECT count(*) FROM sqlite_schema", [], |_| Ok(()))
        .map_err(|e| match &e {
            // A hot journal: a writer crashed mid-transaction, and a read-only connection
            // cannot roll it back (SQLITE_READONLY_ROLLBACK).
            rusqlite::Error::SqliteFailure(f, _)
                if f.extended_code == rusqlite::ffi::SQLITE_READONLY_ROLLBACK =>
            {
                Error::HotJournal(path.to_path_buf())
            }
            _ => Error::sqlite(format!("read {}", path.display()), e),
        })?;
    Ok(conn)
}

/// Returns true when the `main` database has a table named `name` (SQLite compares the name
/// as `=` does). The caller wraps the error with what it was doing.
pub fn table_exists(conn: &Connection, name: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT count(*) > 0 FROM sqlite_schema WHERE type = 'table' AND name = ?1",
        [name],
        |r| r.get(0),
    )
}

/// Which tables [`row_counts`] counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tables {
    /// Every table (SQLite's own tables and virtual tables aside).
    All,
    /// The user's tables: also leaves out schemactl's `_schemactl_*` bookkeeping tables.
    User,
}

/// Row counts of the tables of the `main` database, by name.
pub fn row_counts(conn: &Connection, which: Tables) -> Result<BTreeMap<String, u64>> {
    let q = Error::sqlite_in("count rows");
    let ours = match which {
        Tables::All => "",
        Tables::User => " AND name NOT LIKE '\\_schemactl%' ESCAPE '\\'",
    };
    let names: Vec<String> = conn
        .prepare(&format!(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'{ours} AND sql NOT LIKE 'CREATE VIRTUAL%'"
        ))
        .and_then(|mut stmt| {
            stmt.query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()
        })
        .map_err(q)?;
    // Counted by statements of up to COUNTS_PER_STATEMENT `SELECT i, count(*) FROM t`
    // joined by UNION ALL (SQLite's limit on a compound SELECT is 500 terms): one prepare
    // per chunk instead of one per table, which is most of the cost on empty tables. Each
    // row carries the index of its table (a number, never a name), so the order SQLite
    // returns them in does not matter.
    let mut counts = BTreeMap::new();
    for (start, chunk) in (0..)
        .step_by(COUNTS_PER_STATEMENT)
        .zip(names.chunks(COUNTS_PER_STATEMENT))
    {
        let sql = chunk
            .iter()
            .enumerate()
            .map(|(i, name)| {
                format!(
                    "SELECT {}, count(*) FROM {}",
                    start + i,
                    crate::sql::quote_ident(name)
                )
            })
            .collect::<Vec<_>>()
            .join(" UNION ALL ");
        let mut stmt = conn.prepare(&sql).map_err(Error::sqlite_in("count rows"))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))
            .map_err(Error::sqlite_in("count rows"))?;
        for row in rows {
            let (i, n) = row.map_err(Error::sqlite_in("count rows"))?;
            // Every row names one of this chunk's tables, once.
            let name = usize::try_from(i)
                .ok()
                .and_then(|i| names.get(i))
                .ok_or_else(|| {
                    Error::sqlite("count rows", rusqlite::Error::IntegralValueOutOfRange(0, i))
                })?;
            counts.insert(name.clone(), u64::try_from(n).unwrap_or_default());
        }
    }
    if counts.len() != names.len() {
        return Err(Error::sqlite(
            "count rows",
            rusqlite::Error::QueryReturnedNoRows,
        ));
    }
    Ok(counts)
}

/// How many tables one statement of [`row_counts`] counts (SQLite's default limit on the
/// terms of a compound SELECT is 500).
const COUNTS_PER_STATEMENT: usize = 400;

/// `SELECT count(*) FROM table [WHERE condition]`, as a u64 (a negative count cannot happen).
pub fn count(conn: &Connection, table: &str, condition: Option<&str>) -> rusqlite::Result<u64> {
    let filter = condition.map_or(String::new(), |c| format!(" WHERE {c}"));
    let n: i64 = conn.query_row(
        &format!(
            "SELECT count(*) FROM {}{filter}",
            crate::sql::quote_ident(table)
        ),
        [],
        |r| r.get(0),
    )?;
    Ok(u64::try_from(n).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Every table counted one statement at a time, the way row_counts counted before it
    /// joined them.
    fn one_by_one(conn: &Connection) -> BTreeMap<String, u64> {
        let names: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_schemactl%' ESCAPE '\\'")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        names
            .into_iter()
            .map(|n| {
                let c = count(conn, &n, None).unwrap();
                (n, c)
            })
            .collect()
    }

    fn database(tables: &[(String, u64)]) -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join("t.db")).unwrap();
        conn.execute_batch("BEGIN").unwrap();
        for (name, rows) in tables {
            let t = crate::sql::quote_ident(name);
            conn.execute_batch(&format!("CREATE TABLE {t} (v)"))
                .unwrap();
            for i in 0..*rows {
                conn.execute(
                    &format!("INSERT INTO {t} VALUES (?1)"),
                    [i64::try_from(i).unwrap()],
                )
                .unwrap();
            }
        }
        conn.execute_batch(
            "CREATE TABLE _schemactl_history (v); INSERT INTO _schemactl_history VALUES (1); COMMIT",
        )
        .unwrap();
        (dir, conn)
    }

    #[test]
    fn row_counts_across_statements_match_one_count_per_table() {
        // More tables than two statements hold, each with its own count.
        let tables: Vec<(String, u64)> = (0..(2 * COUNTS_PER_STATEMENT + 3))
            .map(|i| (format!("t \"{i}\" ' x"), (i % 4) as u64))
            .collect();
        let (_dir, conn) = database(&tables);
        let got = row_counts(&conn, Tables::User).unwrap();
        assert_eq!(got, tables.iter().cloned().collect::<BTreeMap<_, _>>());
        assert_eq!(got, one_by_one(&conn));
        let all = row_counts(&conn, Tables::All).unwrap();
        assert_eq!(all.get("_schemactl_history"), Some(&1));
        assert_eq!(all.len(), tables.len() + 1);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        /// Whatever the names (quotes, spaces, SQL words, non-ASCII), each table gets its
        /// own count.
        #[test]
        fn row_counts_name_each_table_with_its_own_count(
            tables in proptest::collection::btree_map("[a-zA-Z0-9 \"'`\\[\\];é-]{1,12}", 0u64..4, 0..12)
        ) {
            // SQLite's names are case-insensitive: keep one of each.
            let mut seen = std::collections::BTreeSet::new();
            let tables: Vec<(String, u64)> = tables
                .into_iter()
                .filter(|(n, _)| {
                    let l = n.to_lowercase();
                    !l.starts_with("sqlite_") && !l.starts_with("_schemactl") && seen.insert(l)
                })
                .collect();
            let (_dir, conn) = database(&tables);
            let got = row_counts(&conn, Tables::User).unwrap();
            prop_assert_eq!(&got, &tables.iter().cloned().collect::<BTreeMap<_, _>>());
            prop_assert_eq!(got, one_by_one(&conn));
        }
    }
}
