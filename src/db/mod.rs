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
pub mod confined;
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
    .map_err(|e| Error::sqlite(format!("open {}", crate::printable::path(&path)), e))?;
    finish_open(conn, path)
}

/// Opens (creating when missing) the live database, with a bounded busy wait.
pub fn open_live(path: &Path) -> Result<Connection> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| Error::io("create directory", parent, e))?;
    }
    let conn = Connection::open(path)
        .map_err(|e| Error::sqlite(format!("open {}", crate::printable::path(&path)), e))?;
    finish_open(conn, path)
}

/// Opens the live database read-write, only when it exists: never creates one (SQLite opens
/// without `SQLITE_OPEN_CREATE`), so a database removed or moved away since it was named is
/// reported missing, and nothing is left at its path.
pub fn open_existing(path: &Path) -> Result<Connection> {
    must_exist(path)?;
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| {
        // Gone between the check and the open.
        if path.exists() {
            Error::sqlite(format!("open {}", crate::printable::path(&path)), e)
        } else {
            Error::MissingDatabase {
                path: path.to_path_buf(),
            }
        }
    })?;
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
            _ => Error::sqlite(format!("read {}", crate::printable::path(&path)), e),
        })?;
    Ok(conn)
}

/// Returns true when the `main` database has a table named `name` (SQLite compares the name
/// as `=` does). The caller wraps the error with what it was doing.
pub fn table_exists(conn: &Connection, name: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT count(*) > 0 FROM main.sqlite_schema WHERE type = 'table' AND name = ?1",
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

/// Runs a prepared statement to its end. One that returns rows (`WITH ... SELECT`, a PRAGMA
/// that reads) is stepped through, as the sqlite3 shell runs it, its rows going nowhere
/// (rusqlite's `execute` refuses it).
pub fn run_to_end(stmt: &mut rusqlite::Statement<'_>) -> rusqlite::Result<()> {
    if stmt.column_count() == 0 {
        return stmt.raw_execute().map(|_| ());
    }
    let mut rows = stmt.raw_query();
    while rows.next()?.is_some() {}
    Ok(())
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
            "SELECT name FROM main.sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'{ours} AND sql NOT LIKE 'CREATE VIRTUAL%'"
        ))
        .and_then(|mut stmt| {
            stmt.query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()
        })
        .map_err(q)?;
    // Many tables to a statement, one scalar subquery each (SQLite counts each as it counts
    // one table, from the b-tree): one preparation, not one per table, at thousands of
    // tables. A statement SQLite refuses (a collation this build lacks) is counted again
    // table by table, as [`count`] counts.
    let mut out = BTreeMap::new();
    for chunk in names.chunks(COUNTS_PER_STATEMENT) {
        let subqueries: Vec<String> = chunk
            .iter()
            .map(|name| format!("(SELECT count(*) FROM {})", crate::sql::main_table(name)))
            .collect();
        let counted: rusqlite::Result<Vec<i64>> =
            conn.query_row(&format!("SELECT {}", subqueries.join(", ")), [], |r| {
                (0..chunk.len()).map(|i| r.get(i)).collect()
            });
        match counted {
            Ok(counts) => {
                for (name, n) in chunk.iter().zip(counts) {
                    out.insert(name.clone(), u64::try_from(n).unwrap_or_default());
                }
            }
            Err(_) => {
                for name in chunk {
                    let n = count(conn, name, None).map_err(Error::sqlite_in("count rows"))?;
                    out.insert(name.clone(), n);
                }
            }
        }
    }
    Ok(out)
}

/// Tables counted by one statement in [`row_counts`].
const COUNTS_PER_STATEMENT: usize = 200;

/// `SELECT count(*) FROM main.table [WHERE condition]`, as a u64 (a negative count cannot
/// happen): main's table, never a TEMP table of the same name.
pub fn count(conn: &Connection, table: &str, condition: Option<&str>) -> rusqlite::Result<u64> {
    let filter = condition.map_or(String::new(), |c| format!(" WHERE {c}"));
    let sql = |hint: &str| {
        format!(
            "SELECT count(*) FROM {}{hint}{filter}",
            crate::sql::main_table(table)
        )
    };
    let n: i64 = match conn.query_row(&sql(""), [], |r| r.get(0)) {
        // SQLite counts through the smallest index, which may use a collation this build
        // lacks (Android's LOCALIZED); the table itself needs none.
        Err(e) if missing_collation(&e).is_some() => {
            match conn.query_row(&sql(" NOT INDEXED"), [], |r| r.get(0)) {
                // A WITHOUT ROWID table whose PRIMARY KEY is in such a collation is itself a
                // b-tree in its order: its entries are counted from its pages, which need no
                // collation (dbstat reads them through this connection, so inside a
                // transaction it sees the transaction's rows).
                Err(e) if missing_collation(&e).is_some() && condition.is_none() => {
                    entries(conn, table)?.ok_or(e)?
                }
                n => n?,
            }
        }
        n => n?,
    };
    Ok(u64::try_from(n).unwrap_or_default())
}

/// The entries of the b-tree of a WITHOUT ROWID table, from its pages: every cell of an
/// index b-tree, interior pages' too, is one row (https://www.sqlite.org/fileformat2.html,
/// 1.6); overflow pages hold none. None for a table that is not WITHOUT ROWID.
fn entries(conn: &Connection, table: &str) -> rusqlite::Result<Option<i64>> {
    let without_rowid: bool = conn.query_row(
        "SELECT wr FROM pragma_table_list WHERE schema = 'main' AND name = ?1",
        [table],
        |r| r.get(0),
    )?;
    if !without_rowid {
        return Ok(None);
    }
    conn.query_row(
        "SELECT coalesce(sum(ncell), 0) FROM dbstat('main') WHERE name = ?1 AND pagetype IN ('internal', 'leaf')",
        [table],
        |r| r.get(0),
    )
    .map(Some)
}

/// Returns the collation SQLite's error says is missing (`no such collation sequence: X`):
/// a database made by an app that registers its own (Android's `LOCALIZED` and `UNICODE`).
pub fn missing_collation(e: &rusqlite::Error) -> Option<String> {
    let rusqlite::Error::SqliteFailure(_, Some(message)) = e else {
        return None;
    };
    message
        .strip_prefix("no such collation sequence: ")
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bundled SQLite is built with `SQLITE_MALLOC_SOFT_LIMIT=0` (.cargo/config.toml), so
    /// its hash tables grow with a schema of thousands of tables (by default they stop at 64
    /// buckets and every name lookup walks a chain).
    #[test]
    fn sqlite_is_built_without_the_hash_table_cap() {
        let conn = Connection::open_in_memory().expect("open");
        let options: Vec<String> = conn
            .prepare("PRAGMA compile_options")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .expect("compile_options");
        assert!(
            options.iter().any(|o| o == "MALLOC_SOFT_LIMIT=0"),
            "{options:?}"
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

        /// Counted many tables to a statement, every table has the count it has alone: across
        /// statements, with names that need quoting, beside a TEMP table of the same name, and
        /// where one table's index is in a collation this connection lacks (that statement is
        /// counted table by table).
        #[test]
        fn counts_many_to_a_statement_are_each_tables_own(
            rows in proptest::collection::vec(0usize..4, 0..450),
            odd in 0usize..450,
            shadowed in 0usize..450,
        ) {
            let dir = tempfile::tempdir().expect("temp dir");
            let path = dir.path().join("c.db");
            let name = |i: usize| if i == odd { format!("o\"d'd\n{i}") } else { format!("t{i}") };
            {
                let conn = Connection::open(&path).expect("open");
                conn.create_collation("LOCALIZED", |a: &str, b: &str| a.cmp(b)).expect("collation");
                let mut sql = String::from("BEGIN;");
                for (i, n) in rows.iter().enumerate() {
                    let t = crate::sql::quote_ident(&name(i));
                    // Wide rows, so that SQLite counts the odd table through its index.
                    sql.push_str(&format!("CREATE TABLE {t} (x TEXT, pad TEXT, more TEXT);"));
                    for k in 0..*n {
                        sql.push_str(&format!("INSERT INTO {t} VALUES ('{k}', 'pad', 'more');"));
                    }
                    if i == odd {
                        let ix = crate::sql::quote_ident(&format!("i{i}"));
                        sql.push_str(&format!("CREATE INDEX {ix} ON {t} (x COLLATE LOCALIZED);"));
                    }
                }
                sql.push_str("COMMIT;");
                conn.execute_batch(&sql).expect("build");
            }
            let conn = Connection::open(&path).expect("open");
            if shadowed < rows.len() {
                let t = crate::sql::quote_ident(&name(shadowed));
                conn.execute_batch(&format!(
                    "CREATE TEMP TABLE {t} (x); INSERT INTO temp.{t} VALUES (1), (2), (3), (4), (5);"
                )).expect("temp");
            }
            let counted = row_counts(&conn, Tables::All).expect("row counts");
            let alone: BTreeMap<String, u64> = (0..rows.len())
                .map(|i| (name(i), count(&conn, &name(i), None).expect("count")))
                .collect();
            let declared: BTreeMap<String, u64> =
                rows.iter().enumerate().map(|(i, n)| (name(i), *n as u64)).collect();
            proptest::prop_assert_eq!(&counted, &alone);
            proptest::prop_assert_eq!(&counted, &declared);
        }
    }
}
