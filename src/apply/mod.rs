//! Running a plan on a live connection, safely.
//!
//! `PRAGMA foreign_keys` is a no-op inside a transaction, so it is switched off before the
//! transaction when the plan drops or rebuilds a table (otherwise DROP TABLE cascades into the
//! children), and set back to its previous value afterwards. The whole plan runs in one
//! transaction; `foreign_key_check` runs on every table the plan can have broken before the
//! commit; any failure rolls everything back and leaves the database exactly as it was.

use rusqlite::Connection;

use crate::error::{Error, Result};
use crate::normal::sqlite_message;
use crate::plan::{Direction, Plan};
use crate::sql::quote_literal;

/// Runs `plan` on `conn` in `direction`, all or nothing.
pub fn execute(conn: &Connection, plan: &Plan, direction: Direction) -> Result<()> {
    if plan.is_empty() {
        return Ok(());
    }
    let q = |context: &str, e| Error::sqlite(context.to_string(), e);
    let fk_before: bool = conn
        .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
        .map_err(|e| q("read PRAGMA foreign_keys", e))?;
    let switch_off = fk_before && plan.needs_foreign_keys_off_in(direction);
    if switch_off {
        conn.execute_batch("PRAGMA foreign_keys = OFF")
            .map_err(|e| q("switch foreign keys off", e))?;
    }
    let result = run_in_transaction(conn, plan, direction);
    if switch_off {
        // Restore the connection's setting whatever happened; report the first error.
        let restored = conn
            .execute_batch("PRAGMA foreign_keys = ON")
            .map_err(|e| q("switch foreign keys back on", e));
        result?;
        restored?;
        return Ok(());
    }
    result
}

fn run_in_transaction(conn: &Connection, plan: &Plan, direction: Direction) -> Result<()> {
    conn.execute_batch("BEGIN IMMEDIATE")
        .map_err(|e| Error::sqlite("begin the migration transaction", e))?;
    let result = (|| {
        for (i, sql) in plan.statements(direction) {
            conn.execute_batch(sql).map_err(|e| Error::Apply {
                step: i + 1,
                summary: plan.steps[i].summary.clone(),
                statement: sql.to_string(),
                message: sqlite_message(&e),
            })?;
        }
        check_foreign_keys(conn, plan.fk_check_tables(direction))?;
        conn.execute_batch("COMMIT")
            .map_err(|e| Error::sqlite("commit the migration", e))
    })();
    if result.is_err() && !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    result
}

/// Fails with the first violations when any of `tables` has a foreign key that does not hold.
pub fn check_foreign_keys(conn: &Connection, tables: &[String]) -> Result<()> {
    let mut violations = Vec::new();
    for table in tables {
        let exists: bool = conn
            .query_row(
                "SELECT count(*) > 0 FROM sqlite_schema WHERE type = 'table' AND name = ?1",
                [table],
                |r| r.get(0),
            )
            .map_err(|e| Error::sqlite("check foreign keys", e))?;
        if !exists {
            continue;
        }
        let sql = format!(
            "SELECT \"table\", rowid, parent FROM pragma_foreign_key_check({}) LIMIT 5",
            quote_literal(table)
        );
        let mut stmt = conn
            .prepare(&sql)
            .map_err(|e| Error::sqlite("check foreign keys", e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(format!(
                    "\"{}\" rowid {} -> \"{}\"",
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<i64>>(1)?
                        .map_or("?".into(), |v| v.to_string()),
                    r.get::<_, String>(2)?
                ))
            })
            .map_err(|e| Error::sqlite("check foreign keys", e))?;
        for row in rows {
            violations.push(row.map_err(|e| Error::sqlite("check foreign keys", e))?);
        }
    }
    if violations.is_empty() {
        Ok(())
    } else {
        Err(Error::ForeignKeys(violations))
    }
}

mod driver;
pub use crate::db::lock;
mod pipeline;
mod rollback;
pub mod stash;

pub use driver::{Mode, QUICK_CHECK_PAGES, row_counts};
pub use pipeline::{Options, Report, apply, open_live};
pub use rollback::rollback;
