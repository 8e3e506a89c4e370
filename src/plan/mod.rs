//! `plan(changes)`: ordered steps, each with forward SQL, reverse SQL and a safety class.
//!
//! Order: views and triggers that are dropped, replaced, or depend on a table that is renamed,
//! rebuilt, dropped or loses or renames a column are dropped first (dependents before what
//! they depend on); then virtual tables go; tables are renamed, dropped (children first),
//! created (parents first) and modified; then virtual tables, views (dependencies first) and
//! triggers are created. The reverse of a plan is its steps' reverse SQL, last step first.

mod rebuild;
mod script;
mod table;

use std::collections::BTreeSet;

pub use rebuild::{STASH_PLACEHOLDER, rebuild, rebuild_filled, temp_name};
pub use script::Direction;
pub use table::{affinity, narrows};

use crate::diff::{Change, TableChange};
use crate::model::{Name, Schema, Table, Trigger, View};
use crate::render::{create_index, create_table, create_view};
use crate::sql::{ident, mentions};

/// How a step may affect data.
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

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Step {
    /// Its safety class.
    pub kind: Safety,
    /// True when the step rebuilds a table (it may also be destructive).
    pub rebuild: bool,
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
}

/// Data a step drops: columns of a table, or a whole table.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Stash {
    /// The table, by its name when the step runs.
    pub table: String,
    /// The stored columns that go (every stored column for a whole table).
    pub columns: Vec<String>,
    /// The columns that identify a row (the primary key); empty means the rowid.
    pub key: Vec<String>,
    /// True when the whole table goes.
    pub whole_table: bool,
    /// True when the table is AUTOINCREMENT, so its counter is kept too.
    pub autoincrement: bool,
    /// The step's reverse that refills the columns from the stash while it rebuilds (the
    /// stash table named [`STASH_PLACEHOLDER`]), when the reverse is a rebuild.
    #[serde(skip)]
    pub reverse: Option<Vec<String>>,
}

impl Stash {
    /// The condition that pairs a stash row (alias `s`) with its row in `table` (an SQL
    /// identifier): by rowid, or by primary key.
    pub fn matches(&self, table: &str) -> String {
        if self.key.is_empty() {
            return format!("s._schemactl_rowid = {table}.rowid");
        }
        self.key
            .iter()
            .map(|k| format!("s.{k} IS {table}.{k}", k = ident(k)))
            .collect::<Vec<_>>()
            .join(" AND ")
    }

    /// Describes the stash of a whole table: its rows, with their rowids unless it is
    /// WITHOUT ROWID (then its key is its primary key).
    pub fn table(t: &Table) -> Self {
        let key = if t.without_rowid {
            Self::columns(t, Vec::new()).key
        } else {
            Vec::new()
        };
        Stash {
            table: t.name.to_string(),
            columns: t
                .columns
                .iter()
                .filter(|c| c.generated.is_none())
                .map(|c| c.name.to_string())
                .collect(),
            key,
            whole_table: true,
            autoincrement: t.primary_key.as_ref().is_some_and(|pk| pk.autoincrement),
            reverse: None,
        }
    }

    /// Describes the stash of some columns of a table.
    pub fn columns(t: &Table, columns: Vec<String>) -> Self {
        let key = match &t.primary_key {
            Some(pk) if pk.columns.iter().all(|k| !k.is_expr) => pk
                .columns
                .iter()
                .map(|k| k.expr.as_str().to_string())
                .collect(),
            _ => Vec::new(),
        };
        Stash {
            table: t.name.to_string(),
            columns,
            key,
            whole_table: false,
            autoincrement: false,
            reverse: None,
        }
    }
}

impl Step {
    fn safe(table: &str, summary: String, forward: Vec<String>, reverse: Vec<String>) -> Self {
        Step {
            kind: Safety::Safe,
            rebuild: false,
            table: Some(table.to_string()),
            summary,
            forward,
            reverse,
            stash: None,
        }
    }

    /// Returns true when the step drops something or narrows a type.
    pub fn destructive(&self) -> bool {
        self.kind == Safety::Destructive
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
        self.steps.iter().any(|s| {
            let sqls = match direction {
                Direction::Forward => &s.forward,
                Direction::Reverse => &s.reverse,
            };
            s.rebuild || sqls.iter().any(|sql| sql.starts_with("DROP TABLE"))
        })
    }

    /// Returns true when either direction needs foreign keys off (see
    /// [`Plan::needs_foreign_keys_off_in`]).
    pub fn needs_foreign_keys_off(&self) -> bool {
        self.needs_foreign_keys_off_in(Direction::Forward)
            || self.needs_foreign_keys_off_in(Direction::Reverse)
    }

    /// Returns the destructive steps.
    pub fn destructive_steps(&self) -> impl Iterator<Item = &Step> {
        self.steps.iter().filter(|s| s.destructive())
    }
}

/// Plans `changes`, which turn `current` into `desired`.
pub fn plan(current: &Schema, desired: &Schema, changes: &[Change]) -> Plan {
    let mut steps = Vec::new();

    // Tables whose dependents (views, triggers) must be dropped and recreated.
    let mut affected: BTreeSet<String> = BTreeSet::new();
    let mut dropped_views: BTreeSet<String> = BTreeSet::new();
    let mut created_views: BTreeSet<String> = BTreeSet::new();
    let mut dropped_triggers: BTreeSet<String> = BTreeSet::new();
    let mut created_triggers: BTreeSet<String> = BTreeSet::new();
    for change in changes {
        match change {
            Change::RenameTable { from, to } => {
                affected.insert(from.to_ascii_lowercase());
                affected.insert(to.to_ascii_lowercase());
            }
            Change::DropTable(t) => {
                affected.insert(t.name.to_ascii_lowercase());
            }
            Change::ModifyTable(d) => {
                let structural = d.changes.iter().any(|c| {
                    !matches!(
                        c,
                        TableChange::AddColumn(_)
                            | TableChange::AddIndex(_)
                            | TableChange::DropIndex(_)
                            | TableChange::ModifyIndex { .. }
                    )
                });
                if structural || !d.column_renames.is_empty() {
                    affected.insert(d.to.name.to_ascii_lowercase());
                    affected.insert(d.from.name.to_ascii_lowercase());
                }
            }
            Change::DropView(v) => {
                dropped_views.insert(v.name.to_ascii_lowercase());
            }
            Change::AddView(v) => {
                created_views.insert(v.name.to_ascii_lowercase());
            }
            Change::ModifyView { to, .. } => {
                dropped_views.insert(to.name.to_ascii_lowercase());
                created_views.insert(to.name.to_ascii_lowercase());
            }
            Change::DropTrigger(t) => {
                dropped_triggers.insert(t.name.to_ascii_lowercase());
            }
            Change::AddTrigger(t) => {
                created_triggers.insert(t.name.to_ascii_lowercase());
            }
            Change::ModifyTrigger { to, .. } => {
                dropped_triggers.insert(to.name.to_ascii_lowercase());
                created_triggers.insert(to.name.to_ascii_lowercase());
            }
            Change::DropVirtualTable(v) | Change::ModifyVirtualTable { from: v, .. } => {
                affected.insert(v.name.to_ascii_lowercase());
            }
            _ => {}
        }
    }
    // Views depending on affected names are affected too, transitively.
    loop {
        let before = dropped_views.len();
        for v in &current.views {
            let lower = v.name.to_ascii_lowercase();
            let depends = affected
                .iter()
                .chain(dropped_views.iter())
                .any(|n| *n != lower && mentions(v.select.as_str(), n));
            if depends {
                dropped_views.insert(lower);
            }
        }
        if dropped_views.len() == before {
            break;
        }
    }
    for t in &current.triggers {
        let depends = affected
            .iter()
            .chain(dropped_views.iter())
            .any(|n| t.table.eq_ignore_ascii_case(n) || mentions(t.sql.as_str(), n));
        if depends {
            dropped_triggers.insert(t.name.to_ascii_lowercase());
        }
    }
    // Recreate what was dropped only for a dependency, when the desired schema still has it.
    for name in &dropped_views {
        if desired
            .views
            .iter()
            .any(|v| v.name.eq_ignore_ascii_case(name))
        {
            created_views.insert(name.clone());
        }
    }
    for name in &dropped_triggers {
        if desired
            .triggers
            .iter()
            .any(|t| t.name.eq_ignore_ascii_case(name))
        {
            created_triggers.insert(name.clone());
        }
    }

    // 1. Drop triggers, then views (dependents first).
    for t in current
        .triggers
        .iter()
        .filter(|t| dropped_triggers.contains(&t.name.to_ascii_lowercase()))
    {
        steps.push(drop_trigger(
            t,
            !created_triggers.contains(&t.name.to_ascii_lowercase()),
        ));
    }
    let views: Vec<&View> = current
        .views
        .iter()
        .filter(|v| dropped_views.contains(&v.name.to_ascii_lowercase()))
        .collect();
    for v in view_order(&views).into_iter().rev() {
        steps.push(drop_view(
            v,
            !created_views.contains(&v.name.to_ascii_lowercase()),
        ));
    }
    // 2. Virtual tables that go or change.
    for change in changes {
        if let Change::DropVirtualTable(v) | Change::ModifyVirtualTable { from: v, .. } = change {
            steps.push(Step {
                kind: Safety::Destructive,
                rebuild: false,
                table: Some(v.name.to_string()),
                summary: format!("drop virtual table {}", ident(&v.name)),
                forward: vec![format!("DROP TABLE {}", ident(&v.name))],
                reverse: vec![v.sql.as_str().to_string()],
                stash: None,
            });
        }
    }
    // 3. Tables: renames, drops (children first), creates (parents first), modifications.
    for change in changes {
        if let Change::RenameTable { from, to } = change {
            steps.push(Step::safe(
                to,
                format!("rename table {} to {}", ident(from), ident(to)),
                vec![format!(
                    "ALTER TABLE {} RENAME TO {}",
                    ident(from),
                    ident(to)
                )],
                vec![format!(
                    "ALTER TABLE {} RENAME TO {}",
                    ident(to),
                    ident(from)
                )],
            ));
        }
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
            kind: Safety::Destructive,
            rebuild: false,
            table: Some(t.name.to_string()),
            summary: format!("drop table {}", ident(&t.name)),
            forward: vec![format!("DROP TABLE {}", ident(&t.name))],
            reverse,
            stash: Some(Stash::table(t)),
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
        steps.push(Step::safe(
            &t.name,
            format!("create table {}", ident(&t.name)),
            forward,
            vec![format!("DROP TABLE {}", ident(&t.name))],
        ));
    }
    for change in changes {
        if let Change::ModifyTable(d) = change {
            steps.extend(table::table_steps(d));
        }
    }
    // 4. Create virtual tables, views (dependencies first), triggers.
    for change in changes {
        if let Change::AddVirtualTable(v) | Change::ModifyVirtualTable { to: v, .. } = change {
            steps.push(Step::safe(
                &v.name,
                format!("create virtual table {}", ident(&v.name)),
                vec![v.sql.as_str().to_string()],
                vec![format!("DROP TABLE {}", ident(&v.name))],
            ));
        }
    }
    let views: Vec<&View> = desired
        .views
        .iter()
        .filter(|v| created_views.contains(&v.name.to_ascii_lowercase()))
        .collect();
    for v in view_order(&views) {
        steps.push(Step {
            kind: Safety::Safe,
            rebuild: false,
            table: None,
            summary: format!("create view {}", ident(&v.name)),
            forward: vec![create_view(v)],
            reverse: vec![format!("DROP VIEW {}", ident(&v.name))],
            stash: None,
        });
    }
    for t in desired
        .triggers
        .iter()
        .filter(|t| created_triggers.contains(&t.name.to_ascii_lowercase()))
    {
        steps.push(Step {
            kind: Safety::Safe,
            rebuild: false,
            table: Some(t.table.to_string()),
            summary: format!("create trigger {}", ident(&t.name)),
            forward: vec![t.sql.as_str().to_string()],
            reverse: vec![format!("DROP TRIGGER {}", ident(&t.name))],
            stash: None,
        });
    }

    let touched: BTreeSet<String> = steps
        .iter()
        .filter(|s| {
            s.rebuild
                || s.forward
                    .iter()
                    .chain(&s.reverse)
                    .any(|f| f.starts_with("DROP TABLE") || f.starts_with("CREATE TABLE"))
        })
        .filter_map(|s| s.table.clone())
        .collect();
    Plan {
        check_forward: fk_checks(desired, &touched),
        check_reverse: fk_checks(current, &touched),
        steps,
    }
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

fn drop_view(v: &View, destructive: bool) -> Step {
    Step {
        kind: if destructive {
            Safety::Destructive
        } else {
            Safety::Safe
        },
        rebuild: false,
        table: None,
        summary: format!(
            "drop view {}{}",
            ident(&v.name),
            if destructive {
                ""
            } else {
                " (recreated below)"
            }
        ),
        forward: vec![format!("DROP VIEW {}", ident(&v.name))],
        reverse: vec![create_view(v)],
        stash: None,
    }
}

fn drop_trigger(t: &Trigger, destructive: bool) -> Step {
    Step {
        kind: if destructive {
            Safety::Destructive
        } else {
            Safety::Safe
        },
        rebuild: false,
        table: Some(t.table.to_string()),
        summary: format!(
            "drop trigger {}{}",
            ident(&t.name),
            if destructive {
                ""
            } else {
                " (recreated below)"
            }
        ),
        forward: vec![format!("DROP TRIGGER {}", ident(&t.name))],
        reverse: vec![t.sql.as_str().to_string()],
        stash: None,
    }
}

/// Orders views so that each comes after the views it mentions.
fn view_order<'a>(views: &[&'a View]) -> Vec<&'a View> {
    topological(
        views,
        |v| &v.name,
        |v, other| mentions(v.select.as_str(), &other.name),
    )
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
mod tests;
