//! The plan's own proof, before anything runs: the forward SQL, run on the current schema
//! (materialised in memory), produces exactly the desired schema, tables, indexes, views and
//! triggers included, and the reverse SQL brings back the current one. A step that loses a
//! trigger or a view, or any other planner mistake, stops `sync` and `plan --write` here,
//! instead of being replayed into the "expected" schema the apply compares with.
//!
//! The proof runs on the part of the schema the plan can reach (see [`scope`]), so its cost
//! follows the size of the change, not of the schema.

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::Connection;

use super::{Direction, Plan};
use crate::error::{Error, Result};
use crate::model::{Schema, Table};
use crate::normal::resolve::{Unresolved, unresolved};
use crate::normal::{create_in_memory, describe_difference, sqlite_message};

/// Checks that `plan` turns `current` into `desired` and back, on empty tables in memory.
pub fn verify(plan: &Plan, current: &Schema, desired: &Schema) -> Result<()> {
    if plan.is_empty() {
        return Ok(());
    }
    let names = scope(plan, current, desired);
    let (current, desired) = (
        crate::normal::part::within(current, &names),
        crate::normal::part::within(desired, &names),
    );
    let conn = create_in_memory(&current).map_err(|e| Error::Materialise {
        object: e.object.to_string(),
        message: e.message,
    })?;
    let broken_before = broken(&conn)?;
    run(&conn, plan, Direction::Forward)?;
    compare(&conn, &desired, Direction::Forward)?;
    // SQLite creates a trigger or a view without resolving it: one that reads or writes a
    // column the plan drops is created, and fails every statement that fires or reads it
    // afterwards. What was broken before the plan is not the plan's doing.
    if let Some(refusal) = broken(&conn)?
        .into_iter()
        .find(|u| !broken_before.contains(u))
    {
        return Err(Error::PlanBreaks {
            message: crate::printable::line(&refusal.to_string()).into_owned(),
        });
    }
    run(&conn, plan, Direction::Reverse)?;
    compare(&conn, &current, Direction::Reverse)
}

/// The names (lowercase) of what the plan can reach: the tables its steps name, every table,
/// view, trigger or virtual table that differs between the two schemas (added, dropped,
/// renamed or changed), every view and trigger with a double-quoted word when a step drops or
/// renames a column natively (SQLite re-quotes those), and, transitively, every view, trigger or virtual table that is on
/// or mentions one of those, with everything it mentions (so that SQLite can resolve it
/// when a RENAME re-checks the schema).
fn scope(plan: &Plan, current: &Schema, desired: &Schema) -> BTreeSet<String> {
    let lower = |s: &str| s.to_ascii_lowercase();
    let mut names: BTreeSet<String> = plan
        .steps
        .iter()
        .filter_map(|s| s.table.as_deref().map(lower))
        .collect();
    let differs = |a: &Schema, b: &Schema, names: &mut BTreeSet<String>| {
        let b_tables: BTreeMap<String, &Table> =
            b.tables.iter().map(|t| (lower(&t.name), t)).collect();
        for t in &a.tables {
            if b_tables.get(&lower(&t.name)) != Some(&t) {
                names.insert(lower(&t.name));
            }
        }
        for v in &a.views {
            if !b.views.contains(v) {
                names.insert(lower(&v.name));
            }
        }
        for t in &a.triggers {
            if !b.triggers.contains(t) {
                names.insert(lower(&t.name));
            }
        }
        for v in &a.virtual_tables {
            if !b.virtual_tables.contains(v) {
                names.insert(lower(&v.name));
            }
        }
    };
    differs(current, desired, &mut names);
    differs(desired, current, &mut names);
    // A native DROP COLUMN or RENAME COLUMN rewrites the double-quoted strings of every view
    // and trigger of the database (see [`crate::requote`]): every one that may hold one is in
    // reach, whatever the planner made of it.
    if plan.steps.iter().any(|s| {
        s.forward
            .iter()
            .chain(&s.reverse)
            .any(|sql| crate::requote::requotes(sql))
    }) {
        names.extend(crate::requote::candidates(current));
        names.extend(crate::requote::candidates(desired));
    }
    // Every object name, and the words of each view, trigger and virtual table.
    let objects: BTreeSet<String> = [current, desired]
        .iter()
        .flat_map(|s| {
            s.tables
                .iter()
                .map(|t| lower(&t.name))
                .chain(s.views.iter().map(|v| lower(&v.name)))
                .chain(s.virtual_tables.iter().map(|v| lower(&v.name)))
        })
        .collect();
    let dependents: Vec<(String, BTreeSet<String>)> = [current, desired]
        .iter()
        .flat_map(|s| {
            s.views
                .iter()
                .map(|v| (lower(&v.name), v.select.as_str()))
                .chain(s.triggers.iter().map(|t| (lower(&t.name), t.sql.as_str())))
                .chain(
                    s.virtual_tables
                        .iter()
                        .map(|v| (lower(&v.name), v.sql.as_str())),
                )
        })
        .map(|(name, sql)| {
            let words = crate::sql::lex(sql)
                .map(|tokens| {
                    tokens
                        .iter()
                        // Names in every spelling (`FROM 'a'`): over-reporting is safe.
                        .filter_map(|t| t.name().map(lower))
                        .collect::<BTreeSet<String>>()
                })
                // Text that does not lex: assume it mentions everything.
                .unwrap_or_else(|_| objects.clone());
            (name, words)
        })
        .collect();
    loop {
        let before = names.len();
        for (name, words) in &dependents {
            if names.contains(name) || words.iter().any(|w| names.contains(w)) {
                names.insert(name.clone());
                names.extend(words.iter().filter(|w| objects.contains(*w)).cloned());
            }
        }
        if names.len() == before {
            return names;
        }
    }
}

fn run(conn: &Connection, plan: &Plan, direction: Direction) -> Result<()> {
    // SQLite's message names the object as written: one line, escaped (the error keeps its
    // own line breaks for the diff below).
    let fail = |message: String| Error::PlanIncorrect {
        direction: label(direction),
        difference: crate::printable::line(&message).into_owned(),
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

/// Every view and trigger of `conn` that SQLite cannot compile (see
/// [`crate::normal::resolve`], which the loader uses too).
fn broken(conn: &Connection) -> Result<Vec<Unresolved>> {
    unresolved(conn).map_err(|e| Error::PlanBreaks {
        message: format!(
            "the views and triggers could not be checked: {}",
            sqlite_message(&e)
        ),
    })
}

fn label(direction: Direction) -> &'static str {
    match direction {
        Direction::Forward => "forward",
        Direction::Reverse => "reverse",
    }
}
