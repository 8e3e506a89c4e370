//! The references a prune set to NULL or their default (ON DELETE SET NULL / SET DEFAULT),
//! put back from its archive by `restore ARCHIVE --table T --mode merge` (see
//! [`crate::ops::prune::UNLINKED_TABLE`] for what the archive keeps). A reference comes back
//! only where the row still exists (found by its primary key; without one, by its rowid and
//! every other value), still holds what the prune left (NULL, or the column's default), and
//! the row it referenced is back: the very row the archive holds, every value equal, not a
//! row that took its key since. A second merge of the archive into a table without a
//! primary key inserts nothing again and only puts references back. Nothing the application wrote since is
//! overwritten, and no foreign key is broken. The rest is counted, not guessed.

use rusqlite::Connection;

use crate::error::{Error, Result};
use crate::model::Table;
use crate::ops::prune::{ROWID_MARK, UNLINKED_TABLE};
use crate::sql::{ident, quote_ident};

/// Whether the archive at `conn` keeps references of `table`.
pub(super) fn kept(conn: &Connection, table: &str) -> Result<bool> {
    kept_in(conn, "main", table)
}

/// Whether the archive attached as `schemactl_snapshot` keeps references of `table`.
pub(super) fn kept_attached(live: &Connection, table: &str) -> Result<bool> {
    kept_in(live, "schemactl_snapshot", table)
}

/// Whether the database attached as `schema` on `conn` keeps references of `table`.
fn kept_in(conn: &Connection, schema: &str, table: &str) -> Result<bool> {
    let q = || Error::sqlite_in(format!("read the references kept for \"{table}\""));
    let has: bool = conn
        .query_row(
            &format!(
                "SELECT count(*) > 0 FROM {schema}.sqlite_schema WHERE type = 'table' AND name = ?1"
            ),
            [UNLINKED_TABLE],
            |r| r.get(0),
        )
        .map_err(q())?;
    if !has {
        return Ok(false);
    }
    conn.query_row(
        &format!(
            "SELECT count(*) > 0 FROM {schema}.{UNLINKED_TABLE} WHERE tbl = ?1 COLLATE NOCASE"
        ),
        [table],
        |r| r.get(0),
    )
    .map_err(q())
}

/// One kept foreign key, as the archive's index row says it.
struct Entry {
    n: i64,
    action: String,
    key: Vec<String>,
    columns: Vec<String>,
    parent: String,
    parent_columns: Vec<String>,
}

/// Puts back the references of `table` kept by the archive attached as `schemactl_snapshot`,
/// inside the caller's transaction: returns (put back, not put back).
pub(super) fn relink(live: &Connection, table: &Table, context: &str) -> Result<(usize, usize)> {
    let context = format!("{context}: put back the references the prune set off");
    let q = |e| Error::sqlite(context.clone(), e);
    let has: bool = live
        .query_row(
            "SELECT count(*) > 0 FROM schemactl_snapshot.sqlite_schema WHERE type = 'table' AND name = ?1",
            [UNLINKED_TABLE],
            |r| r.get(0),
        )
        .map_err(q)?;
    if !has {
        return Ok((0, 0));
    }
    let unreadable = |what: &str| Error::InvalidArgument {
        what: format!("restore table \"{}\"", table.name),
        message: format!("the archive's {UNLINKED_TABLE} is not readable: {what}"),
    };
    let rows: Vec<(i64, String, String, String, String, String)> = live
        .prepare(&format!(
            "SELECT n, action, key, columns, parent, parent_columns FROM schemactl_snapshot.{UNLINKED_TABLE} WHERE tbl = ?1 COLLATE NOCASE ORDER BY n"
        ))
        .and_then(|mut s| {
            s.query_map([table.name.as_str()], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
            })?
            .collect::<rusqlite::Result<_>>()
        })
        .map_err(q)?;
    let list = |text: &str| -> Result<Vec<String>> {
        serde_json::from_str(text).map_err(|e| unreadable(&e.to_string()))
    };
    let (mut done, mut left) = (0usize, 0usize);
    for (n, action, key, columns, parent, parent_columns) in rows {
        let entry = Entry {
            n,
            action,
            key: list(&key)?,
            columns: list(&columns)?,
            parent,
            parent_columns: list(&parent_columns)?,
        };
        let (put, all) = put_back(live, table, &entry).map_err(q)?;
        done += put;
        left += all.saturating_sub(put);
    }
    Ok((done, left))
}

/// Runs one kept foreign key's UPDATE: (rows put back, rows put back plus rows not back).
fn put_back(live: &Connection, table: &Table, e: &Entry) -> rusqlite::Result<(usize, usize)> {
    let t = ident(&table.name);
    let u = format!(
        "schemactl_snapshot.{}",
        quote_ident(&format!("{UNLINKED_TABLE}_{}", e.n))
    );
    let all: i64 = live.query_row(&format!("SELECT count(*) FROM {u}"), [], |r| r.get(0))?;
    let all = usize::try_from(all).unwrap_or_default();
    // The row's identity, as the prune kept it: its primary key, or (a rowid table without
    // one) its rowid and every other value. An archive that kept a rowid alone names no row:
    // the rowid may belong to a row written since.
    // (An archive written before identities were kept names a rowid table's rows by rowid:
    // that is their identity only where the rowid is the primary key.)
    let mut key: Vec<String> = Vec::new();
    if e.key.is_empty() {
        match (table.rowid_name(), integer_primary_key(live, &table.name)?) {
            (Some(r), true) => key.push(r.to_string()),
            _ => return Ok((0, all)),
        }
    }
    for k in &e.key {
        if k == ROWID_MARK {
            match table.rowid_name() {
                Some(r) => key.push(r.to_string()),
                None => return Ok((0, all)),
            }
        } else {
            key.push(quote_ident(k));
        }
    }
    let same_row = key
        .iter()
        .enumerate()
        .map(|(i, k)| format!("u.k{i} IS main.{t}.{k}"))
        .collect::<Vec<_>>()
        .join(" AND ");
    let parent_cols: Vec<String> = if e.parent_columns.is_empty() {
        let names: Vec<String> = live
            .prepare("SELECT name FROM pragma_table_info(?1, 'main')")?
            .query_map([e.parent.as_str()], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        match ["rowid", "_rowid_", "oid"]
            .into_iter()
            .find(|r| !names.iter().any(|n| n.eq_ignore_ascii_case(r)))
        {
            Some(r) => vec![r.to_string()],
            None => return Ok((0, all)),
        }
    } else {
        e.parent_columns.iter().map(|c| quote_ident(c)).collect()
    };
    // The parent row must be the one the archive held (every value it kept equal), not a row
    // that took its key since: otherwise the reference would tie the row to another parent.
    let kept_columns: Vec<String> = live
        .prepare("SELECT name FROM pragma_table_info(?1, 'schemactl_snapshot')")?
        .query_map([e.parent.as_str()], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    if kept_columns.is_empty() {
        return Ok((0, all));
    }
    let live_columns: Vec<String> = live
        .prepare("SELECT name FROM pragma_table_info(?1, 'main')")?
        .query_map([e.parent.as_str()], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut same_parent: Vec<String> = Vec::new();
    for (i, p) in parent_cols.iter().enumerate() {
        same_parent.push(format!("p.{p} = u.c{i}"));
        same_parent.push(format!("a.{p} = u.c{i}"));
    }
    for c in kept_columns
        .iter()
        .filter(|c| live_columns.iter().any(|l| l == *c))
    {
        let c = quote_ident(c);
        same_parent.push(format!("p.{c} IS a.{c} COLLATE BINARY"));
    }
    let parent_back = format!(
        "EXISTS (SELECT 1 FROM main.{p} AS p, schemactl_snapshot.{p} AS a WHERE {})",
        same_parent.join(" AND "),
        p = quote_ident(&e.parent),
    );
    // What the prune left: NULL, or the column's default as the live schema declares it.
    let mut as_left = Vec::new();
    for c in &e.columns {
        let value = if e.action == "set default" {
            live.query_row(
                "SELECT dflt_value FROM pragma_table_info(?1, 'main') WHERE name = ?2",
                [table.name.as_str(), c.as_str()],
                |r| r.get::<_, Option<String>>(0),
            )?
            .unwrap_or_else(|| "NULL".into())
        } else {
            "NULL".into()
        };
        as_left.push(format!("main.{t}.{} IS ({value})", quote_ident(c)));
    }
    let cols: Vec<String> = e.columns.iter().map(|c| quote_ident(c)).collect();
    let olds: Vec<String> = (0..cols.len()).map(|i| format!("u.c{i}")).collect();
    let put = live.execute(
        &format!(
            "UPDATE main.{t} SET ({}) = (SELECT {} FROM {u} AS u WHERE {same_row}) WHERE {} AND EXISTS (SELECT 1 FROM {u} AS u WHERE {same_row} AND {parent_back})",
            cols.join(", "),
            olds.join(", "),
            as_left.join(" AND ")
        ),
        [],
    )?;
    // Kept references the table now holds (put back now or by an earlier merge).
    let back: i64 = live.query_row(
        &format!(
            "SELECT count(*) FROM {u} AS u WHERE EXISTS (SELECT 1 FROM main.{t} WHERE {same_row} AND {})",
            cols.iter()
                .zip(&olds)
                .map(|(c, o)| format!("main.{t}.{c} IS {o}"))
                .collect::<Vec<_>>()
                .join(" AND ")
        ),
        [],
        |r| r.get(0),
    )?;
    let back = usize::try_from(back).unwrap_or_default();
    Ok((put, all.saturating_sub(back) + put))
}

/// Whether `table`'s primary key is one INTEGER column: in a rowid table, its rowid.
fn integer_primary_key(live: &Connection, table: &str) -> rusqlite::Result<bool> {
    live.query_row(
        "SELECT count(*) = 1 AND max(upper(type) = 'INTEGER') FROM pragma_table_info(?1, 'main') WHERE pk > 0",
        [table],
        |r| r.get(0),
    )
}
