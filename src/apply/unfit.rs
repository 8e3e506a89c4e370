//! The rows that break a rule a run of migrations brings in, named by the lint: what a
//! rollback checks before anything runs (a dry run too), and what a run that SQLite stopped
//! on a constraint reports (a row written by another connection after the checks).
//!
//! The rules are the forward lint's findings on the change from the live schema to the one
//! the migrations leave (NOT NULL, CHECK, UNIQUE), and every foreign key the run's
//! `foreign_key_check` reads ([`fk_checked`]) besides those it brings back:
//! the orphans, each named by its table, its key and the parent it misses.

use rusqlite::Connection;

use crate::diff::{Change, TableChange, TableDiff};
use crate::error::{Error, Result};
use crate::lint::FindingKind;
use crate::migrations::Migration;
use crate::model::Schema;

/// The rows of `live` (whose schema is `current`) that break a rule of `expected`, the
/// schema `run` leaves (the migrations as they run, their foreign keys checked by the
/// driver's rule); `sql` is their SQL, read for renames. One line per rule, naming the table,
/// the rule and up to five rows.
pub(super) fn findings(
    live: &Connection,
    current: &Schema,
    expected: &Schema,
    sql: &[&str],
    run: &[Migration],
) -> Result<Vec<String>> {
    Ok(rule_findings(live, current, expected, sql, run)?
        .into_iter()
        .map(|f| f.line())
        .collect())
}

/// [`findings`] as apply checks them before anything runs: without the rules on tables the
/// run writes before it brings them in (see [`super::unfit_fixed`]), left to the rehearsal,
/// which judges them on the rows as those statements leave them.
pub(super) fn before_run(
    live: &Connection,
    current: &Schema,
    expected: &Schema,
    sql: &[&str],
    run: &[Migration],
) -> Result<Vec<String>> {
    let written = super::unfit_fixed::written(current, expected, sql);
    Ok(rule_findings(live, current, expected, sql, run)?
        .into_iter()
        .filter(|f| !written.leaves(f, current, expected))
        .map(|f| f.line())
        .collect())
}

/// The lint's findings behind [`findings`].
fn rule_findings(
    live: &Connection,
    current: &Schema,
    expected: &Schema,
    sql: &[&str],
    run: &[Migration],
) -> Result<Vec<crate::lint::Finding>> {
    let renames = crate::migrations::renames::renames(&sql.join(";\n"));
    let hints = crate::migrations::renames::hints(&renames, current);
    let mut changes = match crate::diff::diff(current, expected, &hints) {
        Ok(changes) => changes,
        Err(_) => crate::diff::diff(current, expected, &Default::default())?,
    };
    // A column the run adds is filled by its stash, a --fill or its default, and checked for
    // that before (see stash_rows): only the rules on the rows as they are.
    for change in &mut changes {
        if let Change::ModifyTable(d) = change {
            d.changes
                .retain(|c| !matches!(c, TableChange::AddColumn(_)));
        }
    }
    foreign_keys(current, expected, &mut changes, &fk_checked(run));
    Ok(crate::lint::lint(live, current, expected, &changes)?
        .into_iter()
        .filter(|f| {
            matches!(
                f.kind,
                FindingKind::NotNull
                    | FindingKind::Check
                    | FindingKind::Unique
                    | FindingKind::ForeignKey
            )
        })
        .collect())
}

/// The rows of `live` that already break a foreign key of a table whose foreign keys a plan
/// from `current` to `desired` checks before it commits (`checked`: the plan's check list,
/// the tables it rebuilds and their children), and that the plan's own `changes` do not
/// bring in: an old orphan, or a key into a table that exists nowhere. The plan's
/// `foreign_key_check` refuses them at the rehearsal; this names them before anything runs,
/// by the rule apply's pre-check uses ([`foreign_keys`]), for the lint of `plan` and `sync`.
/// Each finding names the table, the foreign key and up to five rows.
pub fn orphans_checked(
    live: &Connection,
    current: &Schema,
    desired: &Schema,
    changes: &[Change],
    checked: &[String],
) -> Result<Vec<crate::lint::Finding>> {
    if checked.is_empty() {
        return Ok(Vec::new());
    }
    // The plan's renames (to read each table under its live name), none of its own changes.
    let mut rules: Vec<Change> = changes
        .iter()
        .filter_map(|c| match c {
            Change::RenameTable { .. } => Some(c.clone()),
            Change::ModifyTable(d) => Some(Change::ModifyTable(TableDiff {
                changes: Vec::new(),
                ..d.clone()
            })),
            _ => None,
        })
        .collect();
    foreign_keys(
        current,
        desired,
        &mut rules,
        &FkChecked::Tables(checked.to_vec()),
    );
    Ok(crate::lint::lint(live, current, desired, &rules)?
        .into_iter()
        .filter(|f| f.kind == FindingKind::ForeignKey)
        .collect())
}

/// Which tables a run of `pending` reads with `foreign_key_check` before it commits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum FkChecked {
    /// None: no migration switches foreign keys off (SQLite enforces them statement by
    /// statement).
    Nothing,
    /// These tables, which the migrations' headers name.
    Tables(Vec<String>),
    /// Every user table (a hand-written migration that drops a table).
    All,
}

/// The tables the driver's `foreign_key_check` reads after running `pending`: the same rule
/// for the run and for what a rollback checks before it runs (see [`findings`]).
pub(super) fn fk_checked(pending: &[Migration]) -> FkChecked {
    let mut tables = Vec::new();
    let mut any = false;
    for p in pending.iter().filter(|p| p.needs().foreign_keys_off) {
        any = true;
        match &p.needs().check {
            Some(check) => tables.extend(check.iter().cloned()),
            None => return FkChecked::All,
        }
    }
    if any {
        FkChecked::Tables(tables)
    } else {
        FkChecked::Nothing
    }
}

/// Adds to `changes` (from `current` to `expected`) the foreign keys whose orphans the run
/// refuses: every one of the tables `checked` reads, besides those brought back. A foreign
/// key to a table the run creates is left to the run's own check (the rows it puts there are
/// not known before it runs), as is a table the run creates.
fn foreign_keys(
    current: &Schema,
    expected: &Schema,
    changes: &mut Vec<Change>,
    checked: &FkChecked,
) {
    let live_name = |name: &str, changes: &[Change]| {
        changes
            .iter()
            .find_map(|c| match c {
                Change::RenameTable { from, to } if to.eq_ignore_ascii_case(name) => {
                    Some(from.clone())
                }
                _ => None,
            })
            .unwrap_or_else(|| name.to_string())
    };
    for table in &expected.tables {
        let live = live_name(&table.name, changes);
        let Some(now) = current.table(&live) else {
            continue;
        };
        let read = match checked {
            FkChecked::Nothing => false,
            FkChecked::All => true,
            FkChecked::Tables(t) => t
                .iter()
                .any(|x| x.eq_ignore_ascii_case(&table.name) || x.eq_ignore_ascii_case(&live)),
        };
        // A parent that exists nowhere (neither before nor after) is no table the run
        // creates: `foreign_key_check` counts every set key into it as an orphan.
        let keys: Vec<_> = table
            .foreign_keys
            .iter()
            .filter(|fk| {
                current.table(&live_name(&fk.ref_table, changes)).is_some()
                    || expected.table(&fk.ref_table).is_none()
            })
            .cloned()
            .collect();
        let index = changes.iter().position(
            |c| matches!(c, Change::ModifyTable(d) if d.to.name.eq_ignore_ascii_case(&table.name)),
        );
        let index = match index {
            Some(i) => i,
            None if read && !keys.is_empty() => {
                let mut from = now.clone();
                from.name = table.name.clone();
                changes.push(Change::ModifyTable(TableDiff {
                    from,
                    to: table.clone(),
                    column_renames: Vec::new(),
                    changes: Vec::new(),
                }));
                changes.len() - 1
            }
            None => continue,
        };
        let Change::ModifyTable(d) = &mut changes[index] else {
            continue;
        };
        // Brought back to a parent the run creates: its rows are not known yet.
        d.changes.retain(|c| match c {
            TableChange::AddForeignKey(fk) => keys.contains(fk),
            _ => true,
        });
        if read {
            for fk in keys {
                let add = TableChange::AddForeignKey(fk);
                if !d.changes.contains(&add) {
                    d.changes.push(add);
                }
            }
        }
    }
}

/// Returns `failed` with the rows that break the rules of `run` when SQLite stopped it on a
/// constraint (a row written by another connection after the checks before the run): the
/// message names the rules and rows, not only "constraint failed". `failed` as it is
/// otherwise, or when the rows cannot be read.
pub(super) fn explain(
    failed: Error,
    live: &Connection,
    current: &Schema,
    expected: Option<&Schema>,
    run: &[Migration],
) -> Error {
    let Some(expected) = expected.filter(|_| failed.is_constraint_failure()) else {
        return failed;
    };
    let sql: Vec<&str> = run.iter().map(|m| m.forward.as_str()).collect();
    match findings(live, current, expected, &sql, run) {
        Ok(findings) if !findings.is_empty() => with_rows(failed, findings),
        _ => failed,
    }
}

/// `failed` with `findings` after SQLite's refusal, inside where it happened (the rehearsal,
/// the live run), so that the error still says where, and what was kept.
fn with_rows(failed: Error, findings: Vec<String>) -> Error {
    match failed {
        Error::RehearsalFailed { source } => Error::RehearsalFailed {
            source: Box::new(with_rows(*source, findings)),
        },
        Error::LiveRunFailed { source, backup } => Error::LiveRunFailed {
            source: Box::new(with_rows(*source, findings)),
            backup,
        },
        failed => Error::RowsBreakRules {
            source: Box::new(failed),
            findings,
        },
    }
}
