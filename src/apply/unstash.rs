//! Rollback stashes: what a rollback drops (a table or a column its migration added, holding
//! data), kept so that applying the same migration again brings the values back to their rows.
//!
//! Before a rollback runs, [`analyse`] compares the live schema with the schema the rollback
//! leaves (the reverse SQL replayed in memory): every table, virtual table or column that goes
//! and holds data is a destructive drop. [`Drop::save_sql`] keeps it in
//! `_schemactl_stash_{version}_r{n}` (the same shape, identity and naming as an apply stash,
//! see [`crate::plan::Stash`]) and records, in `_schemactl_rollback_stashes`, the SQL that puts
//! it back and the checksums of the migrations rolled back.
//!
//! A re-apply finds its stash by version: after the pending migrations ran, in their
//! transaction, [`restore`] runs each recorded restore whose migrations are all among the ones
//! just applied with the same checksums, and whose table and columns exist again. Rows inserted
//! since the rollback keep what the migration gives them; rows deleted since stay deleted. A
//! stash whose migrations changed before the re-apply is left in place (`stash list` shows it,
//! `stash drop` frees it).

use rusqlite::Connection;

use crate::diff::{Change, TableChange};
use crate::error::{Error, Result};
use crate::migrations::Migration;
use crate::model::{Column, Schema, Table};
use crate::plan::{STASH_PREFIX, Stash};
use crate::sql::{ident, quote_literal};

/// The table that records each rollback stash and how to restore it.
const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS _schemactl_rollback_stashes (
  name TEXT PRIMARY KEY,
  version INTEGER NOT NULL,
  migrations TEXT NOT NULL,
  restore TEXT NOT NULL,
  what TEXT NOT NULL
)";

/// Data a rollback drops.
#[derive(Debug, Clone)]
pub struct Drop {
    /// What goes, for messages: `column "patterns"."category" (50 value(s))`.
    pub what: String,
    /// The rows or values it holds.
    pub count: i64,
    stash: Stash,
}

fn q(context: &'static str) -> impl Fn(rusqlite::Error) -> Error {
    move |e| Error::sqlite(context, e)
}

/// Returns the data that turning `live` (the schema of `conn`) into `after` drops: the tables
/// and virtual tables that go while they hold rows, and the columns that go while a value
/// differs from their constant default (NULL when they have none; any non-NULL value when the
/// default is not a constant).
pub fn analyse(conn: &Connection, live: &Schema, after: &Schema) -> Result<Vec<Drop>> {
    let changes = crate::diff::diff(live, after, &Default::default())?;
    let mut out = Vec::new();
    let count = |sql: String| -> Result<i64> {
        conn.query_row(&sql, [], |r| r.get(0))
            .map_err(q("count what the rollback drops"))
    };
    for change in &changes {
        match change {
            Change::DropTable(t) => {
                let n = count(format!("SELECT count(*) FROM {}", ident(&t.name)))?;
                if n > 0 {
                    out.push(Drop {
                        what: format!("table {} ({n} row(s))", ident(&t.name)),
                        count: n,
                        stash: Stash::table(t),
                    });
                }
            }
            Change::DropVirtualTable(v) => {
                // Shadow tables hold an fts or rtree table's rows; its rowid names them.
                let n = count(format!("SELECT count(*) FROM {}", ident(&v.name))).unwrap_or(0);
                let columns = virtual_columns(conn, &v.name)?;
                // An rtree's first column is its rowid; fts tables take the rowid on insert.
                let rtree = crate::sql::mentions(v.sql.as_str(), "rtree");
                let (rowid, key) = match columns.first() {
                    Some(first) if rtree => (None, vec![first.clone()]),
                    _ => (Some("rowid".to_string()), Vec::new()),
                };
                if n > 0 && !columns.is_empty() {
                    out.push(Drop {
                        what: format!("virtual table {} ({n} row(s))", ident(&v.name)),
                        count: n,
                        stash: Stash {
                            table: v.name.to_string(),
                            columns,
                            key,
                            rowid,
                            without_rowid: false,
                            whole_table: true,
                            autoincrement: false,
                            narrowed: Vec::new(),
                            reverse: None,
                        },
                    });
                }
            }
            Change::ModifyTable(d) => {
                let dropped: Vec<&Column> = d
                    .changes
                    .iter()
                    .filter_map(|c| match c {
                        TableChange::DropColumn(c) if c.generated.is_none() => Some(c),
                        _ => None,
                    })
                    .collect();
                for c in dropped {
                    let n = count(format!(
                        "SELECT count(*) FROM {} WHERE {} IS NOT {}",
                        ident(&d.from.name),
                        ident(&c.name),
                        constant_default(c).unwrap_or("NULL")
                    ))?;
                    if n > 0 {
                        out.push(column_drop(&d.from, c.name.to_string(), n)?);
                    }
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

/// The column's default when it is a constant (a literal: adding the column back gives every
/// row that value again), else None. `CURRENT_*` and parenthesised expressions are not.
fn constant_default(c: &Column) -> Option<&str> {
    let d = c.default.as_ref()?;
    let key = d.key();
    let constant = !key.starts_with('(') && !key.starts_with("current_");
    constant.then_some(d.as_str())
}

fn column_drop(t: &Table, column: String, n: i64) -> Result<Drop> {
    let stash = Stash::columns(t, vec![column.clone()]);
    if !stash.identifiable() {
        return Err(Error::StashUnidentifiable {
            table: t.name.to_string(),
            without_rowid: t.without_rowid,
        });
    }
    Ok(Drop {
        what: format!(
            "column {}.{} ({n} value(s))",
            ident(&t.name),
            ident(&column)
        ),
        count: n,
        stash,
    })
}

/// The columns of a virtual table, as `SELECT *` returns them.
fn virtual_columns(conn: &Connection, name: &str) -> Result<Vec<String>> {
    let stmt = conn
        .prepare(&format!("SELECT * FROM {} LIMIT 0", ident(name)))
        .map_err(q("read a virtual table's columns"))?;
    Ok(stmt.column_names().map(str::to_string).collect())
}

impl Drop {
    /// Returns the statements that stash this drop in table `name` for the rollback of
    /// `rolled_back` (each migration's version and refinery checksum, as `_schemactl_history`
    /// has them), and record how a re-apply restores it. The stash belongs to the oldest.
    pub fn save_sql(&self, rolled_back: &[(i32, String)], name: &str) -> Vec<String> {
        let version = rolled_back.iter().map(|(v, _)| *v).min().unwrap_or(0);
        let name = name.to_string();
        let mut out = self.stash.save_sql(&name);
        let migrations = serde_json::json!(rolled_back).to_string();
        let restore = self.restore_sql(&name).join(";\n");
        out.push(CREATE_TABLE.to_string());
        out.push(format!(
            "INSERT INTO _schemactl_rollback_stashes (name, version, migrations, restore, what) VALUES ({}, {version}, {}, {}, {})",
            quote_literal(&name),
            quote_literal(&migrations),
            quote_literal(&restore),
            quote_literal(&self.what),
        ));
        out
    }

    /// The statements that put the stash back once its table or column exists again: the
    /// values into the rows they came from (by rowid and key), or the rows that are not there
    /// (by rowid, or by key in a WITHOUT ROWID table); then the stash goes.
    fn restore_sql(&self, name: &str) -> Vec<String> {
        let s = &self.stash;
        if !s.whole_table {
            return s.restore_sql(name);
        }
        let t = ident(&s.table);
        let cols: Vec<String> = s.columns.iter().map(|c| ident(c)).collect();
        let c = cols.join(", ");
        let (targets, sources) = match &s.rowid {
            Some(r) => (format!("{r}, {c}"), format!("_schemactl_rowid, {c}")),
            None => (c.clone(), c.clone()),
        };
        // Rows the re-applied migration created itself (seed rows) are not replaced.
        let absent = format!(
            "NOT EXISTS (SELECT 1 FROM {t} AS _schemactl_t WHERE {})",
            s.matches("_schemactl_t")
        );
        let mut out = vec![format!(
            "INSERT INTO {t} ({targets}) SELECT {sources} FROM {} AS s WHERE {absent}",
            ident(name)
        )];
        if s.autoincrement {
            let mut kept = s.restore_sql(name);
            // restore_sql ends with the stash's own INSERT first and DROP last: keep the
            // counter statements in between.
            kept.remove(0);
            kept.pop();
            out.extend(kept);
        }
        out.push(format!("DROP TABLE {}", ident(name)));
        out
    }
}

/// Returns `count` free stash names for the rollback of `version`:
/// `_schemactl_stash_{version}_r{n}`, skipping those a kept rollback stash holds.
pub fn free_names(conn: &Connection, version: i32, count: usize) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut n = 1;
    while out.len() < count {
        let name = format!("{STASH_PREFIX}{version}_r{n}");
        let taken: bool = conn
            .query_row(
                "SELECT count(*) > 0 FROM sqlite_schema WHERE name = ?1 OR name = ?1 || '_seq'",
                [&name],
                |r| r.get(0),
            )
            .map_err(q("read the stashes"))?;
        if !taken {
            out.push(name);
        }
        n += 1;
    }
    Ok(out)
}

/// The stash tables' CREATE statements, so that a replay in memory can read them.
pub fn stash_shapes(conn: &Connection) -> Result<Vec<String>> {
    conn.prepare("SELECT sql FROM sqlite_schema WHERE type = 'table' AND name LIKE '\\_schemactl\\_stash\\_%' ESCAPE '\\' AND sql IS NOT NULL")
        .map_err(q("read the stashes"))?
        .query_map([], |r| r.get(0))
        .map_err(q("read the stashes"))?
        .collect::<rusqlite::Result<_>>()
        .map_err(q("read the stashes"))
}

/// After `applied` ran (in the driver's transaction): restores every rollback stash whose
/// migrations are all among `applied`, unchanged, and whose table and columns exist again.
/// Returns a line per stash restored or left.
pub fn restore(conn: &Connection, applied: &[Migration]) -> Result<Vec<String>> {
    let exists: bool = conn
        .query_row(
            "SELECT count(*) > 0 FROM sqlite_schema WHERE name = '_schemactl_rollback_stashes'",
            [],
            |r| r.get(0),
        )
        .map_err(q("read the rollback stashes"))?;
    if !exists {
        return Ok(Vec::new());
    }
    forget_dropped(conn, applied)?;
    let rows: Vec<(String, i32, String, String, String)> = conn
        .prepare("SELECT name, version, migrations, restore, what FROM _schemactl_rollback_stashes ORDER BY version, name")
        .map_err(q("read the rollback stashes"))?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
        .map_err(q("read the rollback stashes"))?
        .collect::<rusqlite::Result<_>>()
        .map_err(q("read the rollback stashes"))?;
    let mut lines = Vec::new();
    for (name, version, migrations, restore, what) in rows {
        let wanted: Vec<(i32, String)> =
            serde_json::from_str(&migrations).map_err(|source| Error::Json {
                context: "read _schemactl_rollback_stashes",
                source,
            })?;
        if !applied.iter().any(|m| m.version == version) {
            continue;
        }
        let same = wanted.iter().all(|(v, sum)| {
            applied
                .iter()
                .any(|m| m.version == *v && m.checksum.map(|c| c.to_string()).as_ref() == Some(sum))
        });
        if !same {
            lines.push(format!(
                "stash {name} of {what} kept: the migrations it came from changed since their rollback"
            ));
            continue;
        }
        // A savepoint inside the migrations' transaction: a restore that cannot run (its
        // table or column is gone again, dropped by a later pending migration) leaves nothing
        // half done, and its stash stays.
        conn.execute_batch("SAVEPOINT _schemactl_unstash")
            .map_err(q("restore a rollback stash"))?;
        if let Err(e) = conn.execute_batch(&restore) {
            conn.execute_batch("ROLLBACK TO _schemactl_unstash; RELEASE _schemactl_unstash")
                .map_err(q("restore a rollback stash"))?;
            lines.push(format!(
                "stash {name} of {what} kept: {}",
                crate::normal::sqlite_message(&e)
            ));
            continue;
        }
        conn.execute_batch("RELEASE _schemactl_unstash")
            .map_err(q("restore a rollback stash"))?;
        conn.execute(
            "DELETE FROM _schemactl_rollback_stashes WHERE name = ?1",
            [&name],
        )
        .map_err(q("record the restored stash"))?;
        lines.push(format!("restored {what} from the rollback stash"));
    }
    Ok(lines)
}

/// Forgets that the stashes of `applied` were dropped: they are applied again, with new ones.
fn forget_dropped(conn: &Connection, applied: &[Migration]) -> Result<()> {
    let exists: bool = conn
        .query_row(
            "SELECT count(*) > 0 FROM sqlite_schema WHERE name = '_schemactl_stash_dropped'",
            [],
            |r| r.get(0),
        )
        .map_err(q("read the dropped stashes"))?;
    if exists {
        for m in applied {
            conn.execute(
                "DELETE FROM _schemactl_stash_dropped WHERE version = ?1",
                [m.version],
            )
            .map_err(q("read the dropped stashes"))?;
        }
    }
    Ok(())
}
