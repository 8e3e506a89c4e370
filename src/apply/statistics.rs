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

use std::collections::{HashMap, HashSet};

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

/// Every index's table and key columns (as one string), by index name: one statement.
fn keys(conn: &Connection) -> Result<HashMap<String, (String, String)>> {
    let mut stmt = conn
        .prepare(
            "SELECT s.name, s.tbl_name, group_concat(coalesce(x.name, '<expr>') || ' ' || x.desc \
             || ' ' || coalesce(x.coll, ''), ', ' ORDER BY x.seqno) \
             FROM main.sqlite_schema AS s, pragma_index_xinfo(s.name, 'main') AS x \
             WHERE s.type = 'index' AND x.key GROUP BY s.name",
        )
        .map_err(q("read the indexes of sqlite_stat1"))?;
    stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            (r.get::<_, String>(1)?, r.get::<_, String>(2)?),
        ))
    })
    .and_then(|rows| rows.collect::<rusqlite::Result<HashMap<_, _>>>())
    .map_err(q("read the indexes of sqlite_stat1"))
}

/// The key of `index` when it is an index on `table`.
fn key_on(keys: &HashMap<String, (String, String)>, table: &str, index: &str) -> Option<String> {
    keys.get(index)
        .filter(|(t, _)| t == table)
        .map(|(_, k)| k.clone())
}

/// Every `sqlite_stat1` row's table and index.
fn rows(conn: &Connection) -> Result<Vec<(String, Option<String>, String)>> {
    let mut stmt = conn
        .prepare("SELECT tbl, idx, stat FROM main.sqlite_stat1")
        .map_err(q("read sqlite_stat1"))?;
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
        .map_err(q("read sqlite_stat1"))
}

impl Statistics {
    /// Reads every `sqlite_stat1` row, and the key of each row's index.
    pub fn read(conn: &Connection) -> Result<Self> {
        if !analysed(conn)? {
            return Ok(Self::default());
        }
        let keys = keys(conn)?;
        let rows = rows(conn)?
            .into_iter()
            .map(|(tbl, idx, stat)| Row {
                key: idx.as_deref().and_then(|i| key_on(&keys, &tbl, i)),
                tbl,
                idx,
                stat,
            })
            .collect();
        Ok(Self { rows })
    }

    /// Puts back every row read before that is gone while its table, and its index with the
    /// same key, are still there; says how many in `checked` (the driver's report).
    pub fn restore(&self, conn: &Connection, checked: &mut Vec<String>) -> Result<()> {
        if self.rows.is_empty() || !analysed(conn)? {
            return Ok(());
        }
        let present: HashSet<(String, Option<String>)> = rows(conn)?
            .into_iter()
            .map(|(tbl, idx, _)| (tbl, idx))
            .collect();
        let gone: Vec<&Row> = self
            .rows
            .iter()
            .filter(|r| !present.contains(&(r.tbl.clone(), r.idx.clone())))
            .collect();
        if gone.is_empty() {
            return Ok(());
        }
        let keys = keys(conn)?;
        let mut restored = 0;
        for row in gone {
            if !crate::db::table_exists(conn, &row.tbl).map_err(q("read sqlite_stat1"))? {
                continue;
            }
            if let Some(idx) = &row.idx
                && key_on(&keys, &row.tbl, idx) != row.key
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
