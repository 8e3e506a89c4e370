//! The plan's own proof, before anything runs: the forward SQL, run on the current schema
//! (materialised in memory), produces exactly the desired schema, tables, indexes, views and
//! triggers included, and the reverse SQL brings back the current one. A step that loses a
//! trigger or a view, or any other planner mistake, stops `sync` and `plan --write` here,
//! instead of being replayed into the "expected" schema the apply compares with.

use rusqlite::Connection;

use super::{Direction, Plan};
use crate::error::{Error, Result};
use crate::model::Schema;
use crate::normal::{create_in_memory, describe_difference, sqlite_message};

/// Checks that `plan` turns `current` into `desired` and back, on empty tables in memory.
pub fn verify(plan: &Plan, current: &Schema, desired: &Schema) -> Result<()> {
    if plan.is_empty() {
        return Ok(());
    }
    let conn = create_in_memory(current).map_err(|e| Error::Materialise {
        object: e.object.to_string(),
        message: e.message,
    })?;
    run(&conn, plan, Direction::Forward)?;
    compare(&conn, desired, Direction::Forward)?;
    run(&conn, plan, Direction::Reverse)?;
    compare(&conn, current, Direction::Reverse)
}

fn run(conn: &Connection, plan: &Plan, direction: Direction) -> Result<()> {
    let fail = |message: String| Error::PlanIncorrect {
        direction: label(direction),
        difference: message,
    };
    conn.execute_batch("PRAGMA foreign_keys = OFF; BEGIN")
        .map_err(|e| fail(sqlite_message(&e)))?;
    for (i, sql) in plan.statements(direction) {
        if let Err(e) = conn.execute_batch(sql) {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(fail(format!(
                "step {} fails on the schema alone: {}\n  statement: {sql}",
                i + 1,
                sqlite_message(&e)
            )));
        }
    }
    conn.execute_batch("COMMIT")
        .map_err(|e| fail(sqlite_message(&e)))
}

fn compare(conn: &Connection, want: &Schema, direction: Direction) -> Result<()> {
    let got = crate::inspect(conn)?;
    if &got != want {
        return Err(Error::PlanIncorrect {
            direction: label(direction),
            difference: describe_difference(want, &got),
        });
    }
    Ok(())
}

fn label(direction: Direction) -> &'static str {
    match direction {
        Direction::Forward => "forward",
        Direction::Reverse => "reverse",
    }
}
