//! Running a plan on a live connection, safely.
//!
//! `PRAGMA foreign_keys` is a no-op inside a transaction, so it is switched off before the
//! transaction when the plan drops or rebuilds a table (otherwise DROP TABLE cascades into the
//! children), and set back to its previous value afterwards. The whole plan runs in one
//! transaction; `foreign_key_check` runs on every table the plan can have broken before the
//! commit; any failure rolls everything back and leaves the database exactly as it was.

use rusqlite::Connection;

use crate::db::ForeignKeys;
use crate::error::{Error, Result};
use crate::normal::sqlite_message;
use crate::plan::{Direction, Plan};
use crate::sql::quote_literal;

/// Runs `plan` on `conn` in `direction`, all or nothing.
pub fn execute(conn: &Connection, plan: &Plan, direction: Direction) -> Result<()> {
    if plan.is_empty() {
        return Ok(());
    }
    let foreign_keys = if plan.needs_foreign_keys_off_in(direction) {
        ForeignKeys::Off
    } else {
        ForeignKeys::Keep
    };
    crate::db::immediate(
        conn,
        foreign_keys,
        "begin the migration transaction",
        "commit the migration",
        || {
            for (i, sql) in plan.statements(direction) {
                conn.execute_batch(sql).map_err(|e| Error::Apply {
                    step: i + 1,
                    summary: plan.steps[i].summary.clone(),
                    statement: sql.to_string(),
                    message: sqlite_message(&e),
                })?;
            }
            check_foreign_keys(conn, plan.fk_check_tables(direction))
        },
    )
}

/// Fails with the first violations when any of `tables` has a foreign key that does not hold.
pub fn check_foreign_keys(conn: &Connection, tables: &[String]) -> Result<()> {
    let mut violations = Vec::new();
    for table in tables {
        let exists = crate::db::table_exists(conn, table)
            .map_err(|e| Error::sqlite("check foreign keys", e))?;
        if !exists {
            continue;
        }
        let sql = format!(
            "SELECT \"table\", rowid, parent FROM pragma_foreign_key_check({}, 'main') LIMIT 5",
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

mod counters;
mod counts;
mod driver;
mod drop_estimate;
mod hand_lost;
mod leftovers;
mod orphans;
pub use crate::db::lock;
mod pipeline;
mod proof;
mod rollback;
mod rollback_kept;
pub mod stash;
pub mod stash_rows;
mod statistics;
mod trigger_loss;
mod unfit;
mod unfit_fixed;
pub mod unstash;

pub use driver::{Mode, QUICK_CHECK_PAGES, row_counts};
pub use pipeline::{
    Options, PlannedOn, Report, UnderLock, apply, apply_leaving_rows_to_rehearsal, open_live,
};
pub use rollback::{rollback, rollback_lossy};
pub use unfit::orphans_checked;
