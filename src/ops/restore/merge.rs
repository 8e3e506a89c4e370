//! The accounting of a one-table merge: every row of the backup is inserted, or not inserted
//! for a reason the output names (the table holds the same row; a different live row holds
//! its key), and a merge that would leave rows out for the second reason refuses unless told.
//!
//! A prune archive's rows all left the table when its prune committed (the database's
//! `_schemactl_prunes` names it): a table without a primary key takes every one of them back,
//! whatever identical rows the application wrote since (the multiset union), once; the merge
//! is recorded in `_schemactl_archive_merges`, and a second one of the same archive into the
//! same table is refused. Any other backup holds rows that may still be in the table: a row
//! the table already holds as often as the backup does is not inserted again.

use rusqlite::Connection;

use crate::db::bookkeeping::{ARCHIVE_MERGES_TABLE, CREATE_ARCHIVE_MERGES_TABLE, PRUNES_TABLE};
use crate::error::{Error, RestoreError, Result};

/// How many taken keys the output names.
pub const SHOWN: usize = 20;

fn count(live: &Connection, sql: &str, context: &str) -> Result<usize> {
    live.query_row(sql, [], |r| r.get::<_, i64>(0))
        .map(|n| usize::try_from(n).unwrap_or_default())
        .map_err(|e| Error::sqlite(context.to_string(), e))
}

/// The backup's rows (from `b`, an attached table) whose key a different live row of `t`
/// holds: how many, and the first [`SHOWN`] keys as SQL literals. `key` pairs (live column,
/// backup column), both quoted; `same` is true when `l` and `b` hold the same values.
pub(super) fn taken(
    live: &Connection,
    (t, b): (&str, &str),
    key: &[(String, String)],
    same: &str,
    context: &str,
) -> Result<(usize, Vec<String>)> {
    let key_match = key
        .iter()
        .map(|(l, s)| format!("l.{l} IS b.{s}"))
        .collect::<Vec<_>>()
        .join(" AND ");
    let condition = format!(
        "EXISTS (SELECT 1 FROM {t} AS l WHERE {key_match}) AND NOT EXISTS (SELECT 1 FROM {t} AS l WHERE {key_match} AND {same})"
    );
    let n = count(
        live,
        &format!("SELECT count(*) FROM {b} AS b WHERE {condition}"),
        context,
    )?;
    if n == 0 {
        return Ok((0, Vec::new()));
    }
    let shown = key
        .iter()
        .map(|(_, s)| crate::sql::literal_sql(&format!("b.{s}")))
        .collect::<Vec<_>>()
        .join(" || ', ' || ");
    let order = key
        .iter()
        .map(|(_, s)| format!("b.{s}"))
        .collect::<Vec<_>>()
        .join(", ");
    let keys = live
        .prepare(&format!(
            "SELECT {shown} FROM {b} AS b WHERE {condition} ORDER BY {order} LIMIT {SHOWN}"
        ))
        .and_then(|mut s| {
            s.query_map([], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(|e| Error::sqlite(context.to_string(), e))?;
    let keys = if key.len() > 1 {
        keys.into_iter().map(|k| format!("({k})")).collect()
    } else {
        keys
    };
    Ok((n, keys))
}

/// The refusal of a merge that would leave `n` rows out (their keys `keys`).
pub(super) fn refuse_taken(table: &str, n: usize, keys: &[String]) -> Error {
    let more = n.saturating_sub(keys.len());
    RestoreError::KeysTaken {
        table: table.to_string(),
        count: n,
        keys: if more > 0 {
            format!("{} and {more} more", keys.join("; "))
        } else {
            keys.join("; ")
        },
    }
    .into()
}

/// Whether the live database's history records prune `id` as committed: its archive's rows
/// then all left the table.
pub(super) fn committed(live: &Connection, id: &str, context: &str) -> Result<bool> {
    let q = |e| Error::sqlite(format!("{context}: read {PRUNES_TABLE}"), e);
    if !crate::db::table_exists(live, PRUNES_TABLE).map_err(q)? {
        return Ok(false);
    }
    live.query_row(
        &format!("SELECT count(*) > 0 FROM main.{PRUNES_TABLE} WHERE id = ?1"),
        [id],
        |r| r.get(0),
    )
    .map_err(q)
}

/// When prune `id`'s archive was merged into `table` already, if it was.
pub(super) fn merged_at(
    live: &Connection,
    id: &str,
    table: &str,
    context: &str,
) -> Result<Option<String>> {
    let q = |e| Error::sqlite(format!("{context}: read {ARCHIVE_MERGES_TABLE}"), e);
    if !crate::db::table_exists(live, ARCHIVE_MERGES_TABLE).map_err(q)? {
        return Ok(None);
    }
    live.query_row(
        &format!(
            "SELECT merged_at FROM main.{ARCHIVE_MERGES_TABLE} WHERE prune_id = ?1 AND tbl = ?2 COLLATE NOCASE"
        ),
        [id, table],
        |r| r.get(0),
    )
    .map(Some)
    .or_else(|e| match e {
        rusqlite::Error::QueryReturnedNoRows => Ok(None),
        e => Err(e),
    })
    .map_err(q)
}

/// Refuses a second union merge of prune `id`'s archive into `table`.
pub(super) fn refuse_again(live: &Connection, id: &str, table: &str, context: &str) -> Result<()> {
    match merged_at(live, id, table, context)? {
        Some(at) => Err(RestoreError::ArchiveMerged {
            table: table.to_string(),
            prune: id.to_string(),
            at,
        }
        .into()),
        None => Ok(()),
    }
}

/// Records (inside the restore's transaction) that prune `id`'s archive was merged into
/// `table`, `rows` rows inserted.
pub(super) fn record(
    live: &Connection,
    id: &str,
    table: &str,
    rows: usize,
    context: &str,
) -> Result<()> {
    let q = |e| Error::sqlite(format!("{context}: record the merge"), e);
    live.execute_batch(CREATE_ARCHIVE_MERGES_TABLE).map_err(q)?;
    live.execute(
        &format!(
            "INSERT OR REPLACE INTO main.{ARCHIVE_MERGES_TABLE} (prune_id, tbl, merged_at, rows) VALUES (?1, ?2, ?3, ?4)"
        ),
        rusqlite::params![
            id,
            table,
            crate::db::now_rfc3339(),
            i64::try_from(rows).unwrap_or(i64::MAX)
        ],
    )
    .map_err(q)?;
    Ok(())
}

/// The number of rows of the attached backup table `b`.
pub(super) fn backup_rows(live: &Connection, b: &str, context: &str) -> Result<usize> {
    count(live, &format!("SELECT count(*) FROM {b}"), context)
}
