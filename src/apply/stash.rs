//! Stashes: the data a migration dropped, kept in `_schemactl_stash_{version}_{step}` tables so
//! that its rollback can restore it. They can be listed, and dropped to free their space; the
//! rollback of that migration then becomes lossy, and says so.

use rusqlite::Connection;

use crate::db::bookkeeping::{CREATE_DROPPED_COUNTERS, CREATE_STASH_DROPPED, STASH_PREFIX};
use crate::error::{Error, Result};
use crate::sql::main_table;

/// The stash of one migration.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StashInfo {
    /// The migration's version.
    pub version: i32,
    /// Its stash tables.
    pub tables: Vec<String>,
    /// Rows kept.
    pub rows: i64,
    /// Bytes the tables take (dbstat).
    pub bytes: i64,
    /// True when the stash was dropped: the rollback of this version is lossy.
    pub dropped: bool,
}

impl StashInfo {
    /// What dropping this stash means, as `stash drop` and `stash list` say it: a stash made
    /// only by the rollback of its version (`_r{n}` tables) is what a re-apply of it, or a
    /// rollback of an earlier migration that brings an AUTOINCREMENT counter back, would use;
    /// any other is what rolling its version back restores.
    pub fn drop_consequence(&self) -> String {
        let version = self.version;
        let rollback = format!("{STASH_PREFIX}{version}_r");
        if self.tables.iter().all(|t| t.starts_with(&rollback)) {
            format!(
                "a re-apply of V{version} no longer restores what its rollback kept, and rolling back an earlier migration no longer raises a counter to it"
            )
        } else {
            format!("rolling back V{version} is now lossy")
        }
    }
}

fn q(e: rusqlite::Error) -> Error {
    Error::sqlite("read the stashes", e)
}

/// Lists the stashes, by version.
pub fn list(conn: &Connection) -> Result<Vec<StashInfo>> {
    let names: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name LIKE '\\_schemactl\\_stash\\_%' ESCAPE '\\' AND name <> '_schemactl_stash_dropped' ORDER BY name")
        .map_err(q)?
        .query_map([], |r| r.get(0))
        .map_err(q)?
        .collect::<rusqlite::Result<_>>()
        .map_err(q)?;
    let dropped = dropped_versions(conn)?;
    let mut out: Vec<StashInfo> = Vec::new();
    for name in names {
        let Some(version) = name
            .strip_prefix(STASH_PREFIX)
            .and_then(|r| r.split('_').next())
            .and_then(|v| v.parse::<i32>().ok())
        else {
            continue;
        };
        let rows: i64 = conn
            .query_row(
                &format!("SELECT count(*) FROM {}", main_table(&name)),
                [],
                |r| r.get(0),
            )
            .map_err(q)?;
        let bytes: i64 = conn
            .query_row(
                "SELECT ifnull(sum(pgsize), 0) FROM dbstat WHERE name = ?1",
                [&name],
                |r| r.get(0),
            )
            .unwrap_or(0);
        match out.iter_mut().find(|s| s.version == version) {
            Some(s) => {
                s.tables.push(name);
                s.rows += rows;
                s.bytes += bytes;
            }
            None => out.push(StashInfo {
                version,
                tables: vec![name],
                rows,
                bytes,
                dropped: dropped.contains(&version),
            }),
        }
    }
    out.sort_by_key(|s| s.version);
    Ok(out)
}

/// Versions whose stash was dropped.
pub fn dropped_versions(conn: &Connection) -> Result<Vec<i32>> {
    let exists: bool = crate::db::table_exists(conn, "_schemactl_stash_dropped").map_err(q)?;
    if !exists {
        return Ok(Vec::new());
    }
    conn.prepare("SELECT version FROM main._schemactl_stash_dropped ORDER BY version")
        .map_err(q)?
        .query_map([], |r| r.get(0))
        .map_err(q)?
        .collect::<rusqlite::Result<_>>()
        .map_err(q)
}

/// The AUTOINCREMENT counters the stash of `version` keeps (its `..._seq` tables, each a row
/// `(name, seq)`): (table, counter, kept by a rollback). A rollback stash's
/// (`{STASH_PREFIX}{version}_r{n}_seq`) is the counter the rollback of `version` kept: the
/// rollback of an earlier migration that turns AUTOINCREMENT on again raises the counter to it.
pub fn kept_counters(conn: &Connection, version: i32) -> Result<Vec<(String, i64, bool)>> {
    let Some(info) = list(conn)?.into_iter().find(|s| s.version == version) else {
        return Ok(Vec::new());
    };
    let rollback = format!("{STASH_PREFIX}{version}_r");
    let mut out = Vec::new();
    for table in info.tables.iter().filter(|t| t.ends_with("_seq")) {
        let has_name: bool = conn
            .query_row(
                "SELECT count(*) > 0 FROM pragma_table_info(?1, 'main') WHERE name = 'name'",
                [table],
                |r| r.get(0),
            )
            .map_err(q)?;
        if !has_name {
            continue;
        }
        let rows: Vec<(String, i64)> = conn
            .prepare(&format!(
                "SELECT CAST(name AS TEXT), CAST(seq AS INTEGER) FROM {} WHERE name IS NOT NULL",
                main_table(table)
            ))
            .map_err(q)?
            .query_map([], |r| {
                Ok((r.get(0)?, r.get::<_, Option<i64>>(1)?.unwrap_or(0)))
            })
            .map_err(q)?
            .collect::<rusqlite::Result<_>>()
            .map_err(q)?;
        let by_rollback = table.starts_with(&rollback);
        out.extend(rows.into_iter().map(|(n, c)| (n, c, by_rollback)));
    }
    Ok(out)
}

/// The versions whose dropped stash had a rollback's kept AUTOINCREMENT counter of `table`
/// (`{STASH_PREFIX}{version}_r{n}_seq`, now empty; its record in
/// `_schemactl_rollback_stashes` says whose counter it kept): a rollback that brings that
/// counter back can no longer raise it to what the counter issued under that version. A
/// record that names no table (or none) counts for every table. With each version, the
/// counter the drop remembered (None: a drop that did not remember it).
pub fn dropped_rollback_counters(
    conn: &Connection,
    table: &str,
) -> Result<Vec<(i32, Option<i64>)>> {
    let recorded = crate::db::table_exists(conn, "_schemactl_rollback_stashes").map_err(q)?;
    let t = crate::sql::ident(table);
    let names_it = |what: &str| {
        what == format!("the AUTOINCREMENT counter of table {t}")
            || what.starts_with(&format!("table {t} ("))
    };
    let names_a_table = |what: &str| {
        what.starts_with("the AUTOINCREMENT counter of table ") || what.starts_with("table ")
    };
    let mut out = Vec::new();
    for version in dropped_versions(conn)? {
        let prefix = format!("{STASH_PREFIX}{version}_r");
        let seqs: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND substr(name, 1, length(?1)) = ?1 AND name LIKE '%\\_seq' ESCAPE '\\'")
            .and_then(|mut s| {
                s.query_map([&prefix], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()
            })
            .map_err(q)?;
        let mut kept = false;
        for seq in &seqs {
            let stash = seq.strip_suffix("_seq").unwrap_or(seq);
            let what: Option<String> = if recorded {
                conn.query_row(
                    "SELECT what FROM main._schemactl_rollback_stashes WHERE name = ?1",
                    [stash],
                    |r| r.get(0),
                )
                .ok()
            } else {
                None
            };
            kept |= match what {
                Some(w) if names_a_table(&w) => names_it(&w),
                _ => true,
            };
        }
        if kept {
            out.push((version, dropped_counter(conn, version, table)?));
        }
    }
    Ok(out)
}

/// The counter of `table` that the dropped stash of `version` had kept, when the drop
/// remembered it.
fn dropped_counter(conn: &Connection, version: i32, table: &str) -> Result<Option<i64>> {
    if !crate::db::table_exists(conn, "_schemactl_dropped_counters").map_err(q)? {
        return Ok(None);
    }
    conn.query_row(
        "SELECT max(seq) FROM main._schemactl_dropped_counters WHERE version = ?1 AND name = ?2 COLLATE NOCASE",
        rusqlite::params![version, table],
        |r| r.get(0),
    )
    .map_err(q)
}

/// Empties the stash of `version` in one transaction, keeping the tables' shape so that the
/// rollback still runs (restoring nothing), and records it as dropped. The freed pages are
/// reused by the database; `VACUUM` returns them to the file system.
pub fn drop(conn: &Connection, version: i32) -> Result<StashInfo> {
    let Some(info) = list(conn)?.into_iter().find(|s| s.version == version) else {
        return Err(Error::NoStash { version });
    };
    // The counters its rollback stashes kept are remembered: the stash goes, but a rollback
    // that would bring such a counter back lower must still be able to say by how much.
    let counters: Vec<(String, i64)> = kept_counters(conn, version)?
        .into_iter()
        .filter(|(_, _, by_rollback)| *by_rollback)
        .map(|(name, seq, _)| (name, seq))
        .collect();
    let context = format!("drop the stash of V{version}");
    let w = |e| Error::sqlite(context.clone(), e);
    crate::db::immediate(
        conn,
        crate::db::ForeignKeys::Keep,
        &context,
        &context,
        || {
            for table in &info.tables {
                conn.execute_batch(&format!("DELETE FROM {}", main_table(table)))
                    .map_err(w)?;
            }
            conn.execute_batch(CREATE_STASH_DROPPED).map_err(w)?;
            conn.execute(
                "INSERT OR REPLACE INTO main._schemactl_stash_dropped (version, dropped_at) VALUES (?1, ?2)",
                rusqlite::params![version, crate::db::now_rfc3339()],
            )
            .map_err(w)?;
            if !counters.is_empty() {
                conn.execute_batch(CREATE_DROPPED_COUNTERS).map_err(w)?;
                for (name, seq) in &counters {
                    conn.execute(
                        "INSERT INTO main._schemactl_dropped_counters (version, name, seq) VALUES (?1, ?2, ?3)
                         ON CONFLICT (version, name) DO UPDATE SET seq = max(seq, excluded.seq)",
                        rusqlite::params![version, name, seq],
                    )
                    .map_err(w)?;
                }
            }
            Ok(())
        },
    )?;
    Ok(info)
}

/// The column stashes that find rows by rowid in a table VACUUM may renumber (one without
/// an INTEGER PRIMARY KEY), each as `stash (table "t")`: after VACUUM their values would
/// find no row, or, keyed by rowid alone, another row's other columns (which the
/// fingerprint then refuses). A stash whose table cannot be told (its forget trigger went
/// with a rebuild) is named too. Empty stashes (dropped) are not.
pub fn renumbered_by_vacuum(conn: &Connection) -> Result<Vec<String>> {
    let names: Vec<String> = conn
        .prepare(
            "SELECT s.name FROM sqlite_schema AS s WHERE s.type = 'table' AND s.name LIKE '\\_schemactl\\_stash\\_%' ESCAPE '\\'
               AND EXISTS (SELECT 1 FROM pragma_table_info(s.name, 'main') WHERE name = '_schemactl_rowid')
               AND EXISTS (SELECT 1 FROM sqlite_schema AS i WHERE i.type = 'index' AND i.name = s.name || '_id')
             ORDER BY s.name",
        )
        .map_err(q)?
        .query_map([], |r| r.get(0))
        .map_err(q)?
        .collect::<rusqlite::Result<_>>()
        .map_err(q)?;
    let mut out = Vec::new();
    for name in names {
        let rows: i64 = conn
            .query_row(
                &format!("SELECT count(*) FROM {}", main_table(&name)),
                [],
                |r| r.get(0),
            )
            .map_err(q)?;
        if rows == 0 {
            continue;
        }
        let table: Option<String> = conn
            .query_row(
                "SELECT tbl_name FROM sqlite_schema WHERE type = 'trigger' AND name = ?1 || '_forget'",
                [&name],
                |r| r.get(0),
            )
            .ok();
        let Some(table) = table else {
            out.push(format!("{name} (its table unknown)"));
            continue;
        };
        // An INTEGER PRIMARY KEY is the rowid, which VACUUM keeps.
        let ipk: bool = conn
            .query_row(
                "SELECT count(*) = 1 AND sum(pk = 1 AND upper(type) = 'INTEGER') = 1 FROM pragma_table_info(?1, 'main') WHERE pk > 0",
                [&table],
                |r| r.get::<_, Option<bool>>(0),
            )
            .map_err(q)?
            .unwrap_or(false);
        if !ipk {
            out.push(format!("{name} (table \"{table}\")"));
        }
    }
    Ok(out)
}
