//! The query planner's statistics (`sqlite_stat1`, written by ANALYZE) across a migration.
//!
//! A table rebuild (https://www.sqlite.org/lang_altertable.html, the 12 steps) drops the old
//! table, and SQLite deletes its `sqlite_stat1` rows with it: after a sync that changed no
//! row, the planner would choose its plans without statistics, and a rollback would not bring
//! them back. So the driver reads the rows before the migrations and, in the same
//! transaction, puts back each one that is gone while its table and index are still there,
//! the index with the same key columns: the rebuild kept every row, so the statistics still
//! describe them. They are copied rather than recomputed by ANALYZE: the planner then
//! behaves exactly as before (statistics an operator wrote or tuned by hand included), a
//! rollback restores them the same way, and no table is read again. An index that is new, or
//! whose key changed, gets none (its old numbers would describe other columns); a migration
//! that runs ANALYZE itself keeps what ANALYZE wrote.
//!
//! This is the driver's work, so it applies to every migration it runs (a generated rebuild,
//! a hand-written one, a rollback); a `plan --format sql` script run by hand does not do it.

use rusqlite::Connection;

use crate::error::{Error, Result};

/// One `sqlite_stat1` row, with the key columns of its index when it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    tbl: String,
    idx: Option<String>,
    stat: String,
    key: Option<String>,
}

/// The `sqlite_stat1` rows read before the migrations (none when the database has no such
/// table: it was never analysed).
#[derive(Debug, Clone, Default)]
pub struct Statistics {
    rows: Vec<Row>,
}

fn q(what: &'static str) -> impl Fn(rusqlite::Error) -> Error {
    move |e| Error::sqlite(what, e)
}

/// Whether the database has `sqlite_stat1`.
fn analysed(conn: &Connection) -> Result<bool> {
    crate::db::table_exists(conn, "sqlite_stat1").map_err(q("read sqlite_stat1"))
}

/// The key columns of `index` on `table`, as one string (None when there is no such index).
fn key(conn: &Connection, table: &str, index: &str) -> Result<Option<String>> {
    let on_table: bool = conn
        .query_row(
            "SELECT count(*) > 0 FROM sqlite_schema WHERE type = 'index' AND name = ?1 AND tbl_name = ?2",
            [index, table],
            |r| r.get(0),
        )
        .map_err(q("read an index of sqlite_stat1"))?;
    if !on_table {
        return Ok(None);
    }
    let mut stmt = conn
        .prepare(
            "SELECT coalesce(name, '<expr>') || ' ' || desc || ' ' || coalesce(coll, '') \
             FROM pragma_index_xinfo(?1) WHERE key ORDER BY seqno",
        )
        .map_err(q("read an index of sqlite_stat1"))?;
    let parts = stmt
        .query_map([index], |r| r.get::<_, String>(0))
        .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
        .map_err(q("read an index of sqlite_stat1"))?;
    Ok(Some(parts.join(", ")))
}

impl Statistics {
    /// Reads every `sqlite_stat1` row, and the key of each row's index.
    pub fn read(conn: &Connection) -> Result<Self> {
        if !analysed(conn)? {
            return Ok(Self::default());
        }
        let mut stmt = conn
            .prepare("SELECT tbl, idx, stat FROM main.sqlite_stat1")
            .map_err(q("read sqlite_stat1"))?;
        let raw = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(q("read sqlite_stat1"))?;
        let mut rows = Vec::with_capacity(raw.len());
        for (tbl, idx, stat) in raw {
            let key = match &idx {
                Some(idx) => key(conn, &tbl, idx)?,
                None => None,
            };
            rows.push(Row {
                tbl,
                idx,
                stat,
                key,
            });
        }
        Ok(Self { rows })
    }

    /// Puts back every row read before that is gone while its table, and its index with the
    /// same key, are still there; says how many in `checked` (the driver's report).
    pub fn restore(&self, conn: &Connection, checked: &mut Vec<String>) -> Result<()> {
        if self.rows.is_empty() || !analysed(conn)? {
            return Ok(());
        }
        let mut restored = 0;
        for row in &self.rows {
            let gone: bool = conn
                .query_row(
                    "SELECT NOT EXISTS (SELECT 1 FROM main.sqlite_stat1 WHERE tbl = ?1 AND idx IS ?2)",
                    rusqlite::params![row.tbl, row.idx],
                    |r| r.get(0),
                )
                .map_err(q("read sqlite_stat1"))?;
            if !gone || !crate::db::table_exists(conn, &row.tbl).map_err(q("read sqlite_stat1"))? {
                continue;
            }
            if let Some(idx) = &row.idx
                && key(conn, &row.tbl, idx)? != row.key
            {
                continue;
            }
            conn.execute(
                "INSERT INTO main.sqlite_stat1 (tbl, idx, stat) VALUES (?1, ?2, ?3)",
                rusqlite::params![row.tbl, row.idx, row.stat],
            )
            .map_err(q("put back sqlite_stat1"))?;
            restored += 1;
        }
        if restored > 0 {
            checked.push(format!("sqlite_stat1: {restored} row(s) kept"));
        }
        Ok(())
    }
}
