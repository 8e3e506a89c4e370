//! `plan(changes)`: ordered steps, each with forward SQL, reverse SQL and a safety class.
//!
//! Order: views and triggers that are dropped, replaced, or depend on a table that is renamed,
//! rebuilt, dropped or loses or renames a column are dropped first (dependents before what
//! they depend on); then virtual tables go; tables are renamed, dropped (children first),
//! created (parents first) and modified; then virtual tables, views (dependencies first) and
//! triggers are created. The reverse of a plan is its steps' reverse SQL, last step first.
//!
//! A [`Step`] says everything it does once: its [`StepKind`] (whether it rebuilds a table and
//! whether it is destructive), the directions in which it drops a table ([`TableDrops`], which
//! decide when foreign keys go off), its forward and reverse SQL, and the data it stashes
//! ([`Stash`], in `stash.rs`). `script.rs` renders the steps, as a plain script or as a
//! migration file; `table.rs` plans one modified table and `rebuild.rs` the table rebuild;
//! `dependents.rs` the views and triggers dropped and created around the table steps;
//! `verify.rs` proves a plan on the schema alone before anything runs; `constraint.rs` plans
//! SQLite 3.53's constraint ALTERs, each proved on the table in memory before it is used.

mod constraint;
mod dependents;
mod guard;
mod rebuild;
mod script;
pub(crate) mod stash;
mod table;
mod verify;

use std::collections::BTreeSet;

use constraint::Proofs;
use dependents::Dependents;

pub use constraint::{CONSTRAINT_ALTERS, SqliteVersion, Target, checked_in_place};
pub use rebuild::{Rowids, rebuild, rebuild_filled, rowids, temp_name};
pub use script::{Direction, FOREIGN_KEYS_HEADER};
pub use stash::{
    FINGERPRINT, STASH_PLACEHOLDER, STASH_PREFIX, Stash, fingerprint_sql, rowid_alias, stash_name,
};
pub use table::{affinity, converts, narrows, stored_affinity};
pub use verify::verify;

use crate::diff::{Change, TableChange};
use crate::error::Result;
use crate::model::{Name, Schema, Table, Trigger, View};
use crate::render::{create_index, create_table, create_view};
use crate::sql::{ident, mentions};

/// How a step may affect data: its class in `plan --format json` (`kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Safety {
    /// Changes no data.
    Safe,
    /// Rebuilds a table: every row is copied.
    Rebuild,
    /// Drops a table, column, view or trigger, or narrows a type.
    Destructive,
}

/// What a step does to data: the one place that says whether it rebuilds a table and whether
/// it is destructive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// Changes no data.
    Safe,
    /// Rebuilds a table, keeping every row and value.
    Rebuild,
    /// Drops a table, column, view or trigger, or narrows a type, without a rebuild.
    Destructive,
    /// Rebuilds a table and drops or narrows a column while doing so.
    RebuildDestructive,
}

impl StepKind {
    /// Returns the kind of a step that rebuilds a table or not, and drops data or not.
    pub fn new(rebuild: bool, destructive: bool) -> Self {
        match (rebuild, destructive) {
            (false, false) => StepKind::Safe,
            (true, false) => StepKind::Rebuild,
            (false, true) => StepKind::Destructive,
            (true, true) => StepKind::RebuildDestructive,
        }
    }

    /// Returns true when the step rebuilds a table (it may also be destructive).
    pub fn is_rebuild(self) -> bool {
        matches!(self, StepKind::Rebuild | StepKind::RebuildDestructive)
    }

    /// Returns true when the step drops something or narrows a type.
    pub fn is_destructive(self) -> bool {
        matches!(self, StepKind::Destructive | StepKind::RebuildDestructive)
    }

    /// Returns the safety class: destructive wins over rebuild.
    pub fn safety(self) -> Safety {
        match self {
            StepKind::Safe => Safety::Safe,
            StepKind::Rebuild => Safety::Rebuild,
            StepKind::Destructive | StepKind::RebuildDestructive => Safety::Destructive,
        }
    }

    /// Returns the label of plans and migration files: `safe`, `rebuild`, `destructive` or
    /// `rebuild, destructive`.
    pub fn label(self) -> &'static str {
        match self {
            StepKind::Safe => "safe",
            StepKind::Rebuild => "rebuild",
            StepKind::Destructive => "destructive",
            StepKind::RebuildDestructive => "rebuild, destructive",
        }
    }
}

/// The directions in which a step drops a table outside a rebuild (a rebuild always does):
/// set by the planner where it writes the `DROP TABLE`. Foreign keys must be off while such a
/// step runs, or the drop cascades into the children.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct TableDrops {
    /// The forward SQL drops a table.
    pub forward: bool,
    /// The reverse SQL drops a table.
    pub reverse: bool,
}

impl TableDrops {
    /// No table is dropped either way.
    pub const NONE: TableDrops = TableDrops {
        forward: false,
        reverse: false,
    };
    /// The forward SQL drops a table (drop table, drop virtual table).
    pub const FORWARD: TableDrops = TableDrops {
        forward: true,
        reverse: false,
    };
    /// The reverse SQL drops a table (create table, create virtual table, a reverse rebuild).
    pub const REVERSE: TableDrops = TableDrops {
        forward: false,
        reverse: true,
    };
}

/// One step of a plan: what it does, its SQL both ways, and the data it stashes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Step {
    /// Whether it rebuilds a table and whether it is destructive.
    pub kind: StepKind,
    /// The directions in which its SQL drops a table besides a rebuild.
    pub drops_table: TableDrops,
    /// The table it belongs to, if any.
    pub table: Option<String>,
    /// One line saying what it does.
    pub summary: String,
    /// Statements that make the change.
    pub forward: Vec<String>,
    /// Statements that undo it.
    pub reverse: Vec<String>,
    /// Data the step drops, which a migration stashes first so that its rollback restores it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stash: Option<Stash>,
    /// One line saying what its reverse does, when the summary does not say it the other
    /// way round (a native constraint step: `drop NOT NULL on t.a` is undone by `set NOT
    /// NULL on t.a`); a reverse migration's step header shows it. A rebuild's header keeps
    /// the forward's summary, which reading a reverse migration relies on (see
    /// `apply/proof/describe.rs`).
    #[serde(skip)]
    pub reverse_summary: Option<String>,
}

impl Step {
    fn safe(table: &str, summary: String, forward: Vec<String>, reverse: Vec<String>) -> Self {
        Step {
            kind: StepKind::Safe,
            drops_table: TableDrops::NONE,
            table: Some(table.to_string()),
            summary,
            forward,
            reverse,
            stash: None,
            reverse_summary: None,
        }
    }

    /// Returns true when the step rebuilds a table (it may also be destructive).
    pub fn is_rebuild(&self) -> bool {
        self.kind.is_rebuild()
    }

    /// Returns true when the step drops something or narrows a type.
    pub fn is_destructive(&self) -> bool {
        self.kind.is_destructive()
    }

    /// Returns true when the step, run in `direction`, drops a table (a rebuild included).
    pub fn drops_table_in(&self, direction: Direction) -> bool {
        self.is_rebuild()
            || match direction {
                Direction::Forward => self.drops_table.forward,
                Direction::Reverse => self.drops_table.reverse,
            }
    }
}

/// An ordered list of steps, with what running them safely needs.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Plan {
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// Tables whose foreign keys must be checked before committing the forward plan.
    pub check_forward: Vec<String>,
    /// Tables whose foreign keys must be checked before committing the reverse plan.
    pub check_reverse: Vec<String>,
    /// The SQLite the plan was written for (see [`plan_for`]).
    #[serde(skip)]
    pub target: Target,
}

impl Plan {
    /// Returns true when there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Returns true when the plan, run in `direction`, drops or rebuilds a table, so foreign
    /// keys must be off (outside the transaction) while it runs: otherwise DROP TABLE cascades
    /// into the children.
    pub fn needs_foreign_keys_off_in(&self, direction: Direction) -> bool {
        self.steps.iter().any(|s| s.drops_table_in(direction))
    }

    /// Returns true when either direction needs foreign keys off (see
    /// [`Plan::needs_foreign_keys_off_in`]).
    pub fn needs_foreign_keys_off(&self) -> bool {
        self.needs_foreign_keys_off_in(Direction::Forward)
            || self.needs_foreign_keys_off_in(Direction::Reverse)
    }

    /// Returns the oldest SQLite that runs the plan's SQL in `direction`, with the ALTER TABLE
    /// form that needs it; None when no step uses a form newer than SQLite 3.25.
    pub fn requires(&self, direction: Direction) -> Option<(SqliteVersion, &'static str)> {
        self.statements(direction)
            .into_iter()
            .filter_map(|(_, sql)| constraint::requires(sql))
            .max_by_key(|(v, _)| *v)
    }

    /// Returns the destructive steps.
    pub fn destructive_steps(&self) -> impl Iterator<Item = &Step> {
        self.steps.iter().filter(|s| s.is_destructive())
    }
}

/// Plans `changes`, which turn `current` into `desired`, for the bundled SQLite.
pub fn plan(current: &Schema, desired: &Schema, changes: &[Change]) -> Plan {
    plan_for(current, desired, changes, Target::BUNDLED)
}

/// Plans `changes`, which turn `current` into `desired`, with the ALTER TABLE forms `target`
/// has: before SQLite 3.53, every constraint change rebuilds its table.
pub fn plan_for(current: &Schema, desired: &Schema, changes: &[Change], target: Target) -> Plan {
    plan_with(current, desired, changes, target, Proofs::EachStep)
}

/// Plans `changes` for the bundled SQLite, as [`plan`] does, and proves the plan with
/// [`verify`]: the same plan, and the same proof, for less. [`plan`] proves each constraint
/// ALTER on its table alone in memory (two in-memory databases per step) to choose between
/// it and a rebuild, and [`verify`] then runs the whole plan, forward and back, on the
/// current schema in memory. Here the steps are first taken as written
/// ([`Proofs::ByThePlan`]) and [`verify`] proves the whole plan: forward it leaves exactly
/// `desired`, reverse exactly `current`, which is what each per-step proof checks of its own
/// step: each native step changes one named constraint or one column's NOT NULL, which no
/// other step of the plan changes, so a step that did not do what it says would leave a
/// schema other than `desired`, and a reverse that did not restore its constraint one other
/// than `current`. When that fails (a step SQLite would make otherwise, a
/// reverse that does not restore), the plan is made again with each step proved and verified
/// again: the plan and the errors are then those of [`plan`] followed by [`verify`].
pub fn plan_verified(current: &Schema, desired: &Schema, changes: &[Change]) -> Result<Plan> {
    let target = Target::BUNDLED;
    let trusted = plan_with(current, desired, changes, target, Proofs::ByThePlan);
    let Err(first) = verify(&trusted, current, desired) else {
        return Ok(trusted);
    };
    let proved = plan_with(current, desired, changes, target, Proofs::EachStep);
    if proved == trusted {
        return Err(first);
    }
    verify(&proved, current, desired)?;
    Ok(proved)
}

/// [`plan_for`], with each constraint ALTER proved as `proofs` says.
fn plan_with(
    current: &Schema,
    desired: &Schema,
    changes: &[Change],
    target: Target,
    proofs: Proofs,
) -> Plan {
    // The table steps come first, so that what depends on a table they rebuild (either way)
    // is known, whatever forced the rebuild: SQLite drops a table's triggers with the table.
    let mut tables = Vec::new();
    table_steps(changes, target, proofs, &mut tables);
    let rebuilt: BTreeSet<String> = tables
        .iter()
        .filter(|s| s.drops_table_in(Direction::Forward) || s.drops_table_in(Direction::Reverse))
        .filter_map(|s| s.table.as_deref().map(str::to_ascii_lowercase))
        .collect();
    let mut dependents = Dependents::of(current, desired, changes, rebuilt);
    // SQLite's native DROP COLUMN and RENAME COLUMN re-quote the views and triggers of the
    // whole database: those are dependents of such a step too (see [`crate::requote`]).
    let sql = tables
        .iter()
        .flat_map(|s| s.forward.iter().chain(&s.reverse));
    dependents.add_requoted(
        current,
        desired,
        &crate::requote::around(sql, current, desired),
    );
    let mut steps = Vec::new();
    // 1. Drop triggers, then views (dependents first).
    dependents.drop_steps(current, &mut steps);
    // 2. Virtual tables that go or change.
    drop_virtual_tables(changes, &mut steps);
    // 3. Tables: renames, drops (children first), creates (parents first), modifications.
    steps.extend(tables);
    // 4. Create virtual tables, views (dependencies first), triggers.
    create_virtual_tables(changes, &mut steps);
    dependents.create_steps(desired, &mut steps);

    // Tables created, dropped or rebuilt either way: their foreign keys are checked.
    let touched: BTreeSet<String> = steps
        .iter()
        .filter(|s| s.drops_table_in(Direction::Forward) || s.drops_table_in(Direction::Reverse))
        .filter_map(|s| s.table.clone())
        .collect();
    Plan {
        check_forward: fk_checks(desired, &touched),
        check_reverse: fk_checks(current, &touched),
        steps,
        target,
    }
}

/// The steps that drop the virtual tables that go or change.
fn drop_virtual_tables(changes: &[Change], steps: &mut Vec<Step>) {
    for change in changes {
        if let Change::DropVirtualTable(v) | Change::ModifyVirtualTable { from: v, .. } = change {
            steps.push(Step {
                kind: StepKind::Destructive,
                drops_table: TableDrops::FORWARD,
                table: Some(v.name.to_string()),
                summary: format!("drop virtual table {}", ident(&v.name)),
                forward: vec![format!("DROP TABLE {}", ident(&v.name))],
                reverse: vec![v.sql.as_str().to_string()],
                stash: Stash::virtual_table(v),
                reverse_summary: None,
            });
        }
    }
}

/// The steps that create the virtual tables that come or change.
fn create_virtual_tables(changes: &[Change], steps: &mut Vec<Step>) {
    for change in changes {
        if let Change::AddVirtualTable(v) | Change::ModifyVirtualTable { to: v, .. } = change {
            steps.push(Step {
                drops_table: TableDrops::REVERSE,
                ..Step::safe(
                    &v.name,
                    format!("create virtual table {}", ident(&v.name)),
                    vec![v.sql.as_str().to_string()],
                    vec![format!("DROP TABLE {}", ident(&v.name))],
                )
            });
        }
    }
}

/// The table steps: renames, drops (children first), creates (parents first), modifications.
fn table_steps(changes: &[Change], target: Target, proofs: Proofs, steps: &mut Vec<Step>) {
    let renames: Vec<(String, String)> = changes
        .iter()
        .filter_map(|c| match c {
            Change::RenameTable { from, to } => Some((from.clone(), to.clone())),
            _ => None,
        })
        .collect();
    for (from, to) in rename_order(&renames) {
        steps.push(Step::safe(
            &to,
            format!("rename table {} to {}", ident(&from), ident(&to)),
            vec![format!(
                "ALTER TABLE {} RENAME TO {}",
                ident(&from),
                ident(&to)
            )],
            vec![format!(
                "ALTER TABLE {} RENAME TO {}",
                ident(&to),
                ident(&from)
            )],
        ));
    }
    let dropped: Vec<&Table> = changes
        .iter()
        .filter_map(|c| match c {
            Change::DropTable(t) => Some(t),
            _ => None,
        })
        .collect();
    for t in parent_order(&dropped).into_iter().rev() {
        let mut reverse = vec![create_table(t)];
        reverse.extend(t.indexes.iter().map(|i| create_index(&t.name, i)));
        steps.push(Step {
            kind: StepKind::Destructive,
            drops_table: TableDrops::FORWARD,
            table: Some(t.name.to_string()),
            summary: format!("drop table {}", ident(&t.name)),
            forward: vec![format!("DROP TABLE {}", ident(&t.name))],
            reverse,
            stash: Some(Stash::table(t)),
            reverse_summary: None,
        });
    }
    let added: Vec<&Table> = changes
        .iter()
        .filter_map(|c| match c {
            Change::AddTable(t) => Some(t),
            _ => None,
        })
        .collect();
    for t in parent_order(&added) {
        let mut forward = vec![create_table(t)];
        forward.extend(t.indexes.iter().map(|i| create_index(&t.name, i)));
        steps.push(Step {
            drops_table: TableDrops::REVERSE,
            ..Step::safe(
                &t.name,
                format!("create table {}", ident(&t.name)),
                forward,
                vec![format!("DROP TABLE {}", ident(&t.name))],
            )
        });
    }
    for change in changes {
        if let Change::ModifyTable(d) = change {
            steps.extend(table::table_steps(d, target, proofs));
        }
    }
}

/// Orders renames `(old, new)` that happen all at once (a swap, a chain `b <- a, c <- b`)
/// into one-at-a-time renames that SQLite can run: a rename goes once nothing still to be
/// renamed holds its new name; a cycle goes through a temporary name
/// (`_schemactl_swap_N`, reserved, so no user object has it).
pub fn rename_order(renames: &[(String, String)]) -> Vec<(String, String)> {
    let mut rest: Vec<(String, String)> = renames.to_vec();
    let mut out = Vec::new();
    let mut temps = 0;
    while !rest.is_empty() {
        let free = (0..rest.len()).find(|&i| {
            !rest
                .iter()
                .enumerate()
                .any(|(j, (from, _))| j != i && from.eq_ignore_ascii_case(&rest[i].1))
        });
        match free {
            Some(i) => out.push(rest.remove(i)),
            None => {
                // Every new name is still held: a cycle. Park the first one aside.
                let temp = format!("_schemactl_swap_{temps}");
                temps += 1;
                let (from, to) = rest[0].clone();
                out.push((from, temp.clone()));
                rest[0] = (temp, to);
            }
        }
    }
    out
}

/// The tables whose foreign keys can be broken by changing `touched`: the touched tables
/// themselves and every table referencing one of them.
fn fk_checks(schema: &Schema, touched: &BTreeSet<String>) -> Vec<String> {
    schema
        .tables
        .iter()
        .filter(|t| {
            touched.iter().any(|n| n.eq_ignore_ascii_case(&t.name))
                || t.foreign_keys.iter().any(|fk| {
                    touched
                        .iter()
                        .any(|n| n.eq_ignore_ascii_case(&fk.ref_table))
                })
        })
        .filter(|t| !t.foreign_keys.is_empty())
        .map(|t| t.name.to_string())
        .collect()
}

/// Orders tables so that each comes after the tables it references.
fn parent_order<'a>(tables: &[&'a Table]) -> Vec<&'a Table> {
    topological(
        tables,
        |t| &t.name,
        |t, other| {
            t.foreign_keys
                .iter()
                .any(|fk| fk.ref_table.eq_ignore_ascii_case(&other.name))
        },
    )
}

/// A stable topological order; cycles keep their input order.
fn topological<'a, T>(
    items: &[&'a T],
    name: impl Fn(&T) -> &Name,
    depends: impl Fn(&T, &T) -> bool,
) -> Vec<&'a T> {
    let mut out: Vec<&'a T> = Vec::new();
    let mut rest: Vec<&'a T> = items.to_vec();
    while !rest.is_empty() {
        let ready = rest.iter().position(|item| {
            rest.iter().all(|other| {
                std::ptr::eq(*other, *item)
                    || name(other).eq_ignore_ascii_case(name(item))
                    || !depends(item, other)
            })
        });
        let i = ready.unwrap_or(0);
        out.push(rest.remove(i));
    }
    out
}

#[cfg(test)]
mod constraint_tests;
#[cfg(test)]
mod tests;
