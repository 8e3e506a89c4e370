//! Constraint changes SQLite makes in place since 3.53.0, instead of rebuilding the table:
//! `ALTER TABLE t ADD CONSTRAINT name CHECK (expr)`, `ALTER TABLE t ALTER COLUMN c SET NOT
//! NULL` / `DROP NOT NULL`, and `ALTER TABLE t DROP CONSTRAINT name` (a CHECK, table or column
//! level, or a FOREIGN KEY). They check the existing rows where they add a rule and rewrite no
//! page (https://www.sqlite.org/lang_altertable.html).
//!
//! Every step is proved before it is planned: its statement runs on the table materialised in
//! an in-memory SQLite, and the table SQLite leaves must equal the expected one in normal form
//! (both sides inspected back). A forward that fails the proof makes the table a rebuild; a
//! reverse that fails it (a column CHECK added back lands on the table; a foreign key cannot be
//! added in place) is a rebuild of its own. `why_rebuild` says, in a rebuild's summary, when a
//! constraint name would have avoided it.

use std::fmt;

use rusqlite::Connection;

use super::rebuild::rebuild;
use super::{Step, StepKind, TableDrops};
use crate::diff::{TableChange, TableDiff};
use crate::model::{Check, ForeignKey, Name, Schema, Table};
use crate::sql::ident;

/// A SQLite version, `major.minor.patch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, serde::Serialize)]
pub struct SqliteVersion {
    /// Always 3.
    pub major: u32,
    /// The minor version (53 in 3.53.0).
    pub minor: u32,
    /// The patch level.
    pub patch: u32,
}

impl SqliteVersion {
    /// Builds a version.
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        SqliteVersion {
            major,
            minor,
            patch,
        }
    }

    /// Parses `3.40` or `3.40.1`; None for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.trim().split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        let patch = match parts.next() {
            Some(p) => p.parse().ok()?,
            None => 0,
        };
        parts
            .next()
            .is_none()
            .then_some(SqliteVersion::new(major, minor, patch))
    }
}

impl fmt::Display for SqliteVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// The first SQLite with `ADD CONSTRAINT ... CHECK`, `ALTER COLUMN ... SET/DROP NOT NULL` and
/// `DROP CONSTRAINT` (3.53.0, 2026-04-09).
pub const CONSTRAINT_ALTERS: SqliteVersion = SqliteVersion::new(3, 53, 0);

/// The SQLite a plan is written for: which ALTER TABLE forms its steps may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// The oldest SQLite that must run the plan's SQL.
    pub sqlite: SqliteVersion,
}

impl Target {
    /// The bundled SQLite (3.54.1): every in-place form.
    pub const BUNDLED: Target = Target {
        sqlite: SqliteVersion::new(3, 54, 1),
    };

    /// Returns true when the target has the constraint ALTERs of 3.53.0.
    pub fn constraint_alters(self) -> bool {
        self.sqlite >= CONSTRAINT_ALTERS
    }
}

/// Whether each native step is proved on its own while it is planned ([`proved_step`]), or
/// taken as written, the whole plan's proof ([`super::verify`]) deciding (see
/// [`super::plan_verified`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Proofs {
    /// Each native step is run in memory on its table alone before it is planned: a step
    /// that does not leave exactly the desired table falls back to a rebuild, a reverse that
    /// does not restore the table is a rebuild.
    EachStep,
    /// Each native step, and its native reverse, is planned as written. Only for a plan that
    /// [`super::verify`] then proves as a whole, forward and back: when it does, every step
    /// the per-step proof would have kept is kept, and any other plan is replanned with
    /// [`Proofs::EachStep`].
    ByThePlan,
}

impl Default for Target {
    fn default() -> Self {
        Target::BUNDLED
    }
}

/// The constraint changes of one table that SQLite can make in place.
#[derive(Debug, Default)]
pub(super) struct Changes {
    /// Named CHECKs (table or column level) and foreign keys that go, dropped by name first.
    drops: Vec<Dropped>,
    /// Columns (desired names) whose NOT NULL is set (true) or dropped (false), run last.
    nullability: Vec<(String, bool)>,
    /// Table CHECKs that come, run last.
    checks: Vec<Check>,
}

#[derive(Debug)]
enum Dropped {
    Check(Check),
    ForeignKey(ForeignKey),
}

impl Changes {
    /// Returns true when there is no constraint change.
    pub(super) fn is_empty(&self) -> bool {
        self.drops.is_empty() && self.nullability.is_empty() && self.checks.is_empty()
    }

    /// Returns true when `check` is a table CHECK these changes add.
    pub(super) fn adds(&self, check: &Check) -> bool {
        self.checks.contains(check)
    }

    /// Takes `change` when it is a constraint change; returns None when it is one that needs a
    /// rebuild, Some(false) when it is no constraint change.
    pub(super) fn take(&mut self, change: &TableChange) -> Option<bool> {
        match change {
            // An unnamed CHECK could be added in place, but its rollback could not drop it:
            // both ways rebuild, and the plan says a name avoids it.
            TableChange::AddCheck(c) if c.name.is_some() => self.checks.push(c.clone()),
            TableChange::DropCheck(c) if c.name.is_some() => {
                self.drops.push(Dropped::Check(c.clone()))
            }
            TableChange::DropForeignKey(fk) if fk.name.is_some() => {
                self.drops.push(Dropped::ForeignKey(fk.clone()))
            }
            TableChange::AddCheck(_)
            | TableChange::DropCheck(_)
            | TableChange::DropForeignKey(_) => {
                return None;
            }
            TableChange::ModifyColumn { from, to } => {
                let mut same = from.clone();
                same.not_null = to.not_null;
                same.checks = to.checks.clone();
                if same != *to || to.checks.iter().any(|c| !from.checks.contains(c)) {
                    return None;
                }
                for gone in from.checks.iter().filter(|c| !to.checks.contains(c)) {
                    gone.name.as_ref()?;
                    self.drops.push(Dropped::Check(gone.clone()));
                }
                if from.not_null != to.not_null {
                    self.nullability.push((to.name.to_string(), to.not_null));
                }
            }
            _ => return Some(false),
        }
        Some(true)
    }

    /// Plans the drops, which run before anything else in the table (by name, so before the
    /// column renames), updating `state`; None when one cannot be proved.
    pub(super) fn drop_steps(&self, state: &mut Table, proofs: Proofs) -> Option<Vec<Step>> {
        let name = ident(&state.name);
        let mut steps = Vec::new();
        for dropped in &self.drops {
            let before = state.clone();
            let (cname, what, reverse) = match dropped {
                Dropped::Check(check) => {
                    // By name: the diff writes the check under the desired column names, the
                    // state still has the current ones.
                    let cname = check.name.as_ref()?;
                    let named = |c: &Check| c.name.as_ref() == Some(cname);
                    let current = state
                        .checks
                        .iter()
                        .chain(state.columns.iter().flat_map(|c| c.checks.iter()))
                        .find(|c| named(c))?
                        .clone();
                    state.checks.retain(|c| !named(c));
                    for column in &mut state.columns {
                        column.checks.retain(|c| !named(c));
                    }
                    (cname, "check", add_check(&name, &current))
                }
                Dropped::ForeignKey(fk) => {
                    let cname = fk.name.as_ref()?;
                    let before_len = state.foreign_keys.len();
                    state
                        .foreign_keys
                        .retain(|f| f.name.as_ref() != Some(cname));
                    if state.foreign_keys.len() == before_len {
                        return None;
                    }
                    // No ALTER TABLE adds a foreign key: the reverse rebuilds.
                    (cname, "foreign key", None)
                }
            };
            if named_twice(&before, cname) {
                return None;
            }
            let forward = vec![format!(
                "ALTER TABLE {name} DROP CONSTRAINT {}",
                ident(cname)
            )];
            let summary = format!("drop {what} {} on {name}", ident(cname));
            let undo = format!("add {what} {} on {name}", ident(cname));
            steps.push(proved_step(
                &before, state, forward, reverse, summary, undo, proofs,
            )?);
        }
        Some(steps)
    }

    /// Plans the NOT NULL changes and the new table CHECKs, which run once the columns are in
    /// place, updating `state`; None when one cannot be proved.
    pub(super) fn add_steps(&self, state: &mut Table, proofs: Proofs) -> Option<Vec<Step>> {
        let name = ident(&state.name);
        let mut steps = Vec::new();
        for (column, not_null) in &self.nullability {
            let before = state.clone();
            let c = ident(column);
            state
                .columns
                .iter_mut()
                .find(|x| x.name.eq_ignore_ascii_case(column))?
                .not_null = *not_null;
            let (set, unset) = ("SET NOT NULL", "DROP NOT NULL");
            let (forward, reverse, verb, undo) = if *not_null {
                (set, unset, "set", "drop")
            } else {
                (unset, set, "drop", "set")
            };
            steps.push(proved_step(
                &before,
                state,
                vec![nullability(&name, &c, forward)],
                Some(nullability(&name, &c, reverse)),
                format!("{verb} NOT NULL on {name}.{c}"),
                format!("{undo} NOT NULL on {name}.{c}"),
                proofs,
            )?);
        }
        for check in &self.checks {
            let before = state.clone();
            let cname = check.name.as_ref()?;
            if named_twice_with(&before, cname, 0) {
                return None;
            }
            state.checks.push(check.clone());
            state.sort();
            let forward = vec![add_check(&name, check)?];
            let reverse = Some(format!(
                "ALTER TABLE {name} DROP CONSTRAINT {}",
                ident(cname)
            ));
            let summary = format!("add check {} on {name}", ident(cname));
            let undo = format!("drop check {} on {name}", ident(cname));
            steps.push(proved_step(
                &before, state, forward, reverse, summary, undo, proofs,
            )?);
        }
        Some(steps)
    }
}

/// `ALTER TABLE t ALTER COLUMN c SET NOT NULL` (or `DROP NOT NULL`), `table` and `column`
/// quoted already.
fn nullability(table: &str, column: &str, what: &str) -> String {
    format!("ALTER TABLE {table} ALTER COLUMN {column} {what}")
}

/// Returns true when `change` of the table `table` (its current name) is made by one of
/// `plan`'s forward statements that checks every existing row itself and refuses the change
/// on the first row that fails: a named CHECK added in place (`ADD CONSTRAINT ... CHECK`,
/// which reads every row) or NOT NULL set in place (`ALTER COLUMN ... SET NOT NULL`). The
/// lint's scan for the same rows can then wait until SQLite refuses (see
/// [`crate::lint::Scan`]).
pub fn checked_in_place(plan: &super::Plan, table: &str, change: &TableChange) -> bool {
    let name = ident(table);
    let statement = match change {
        TableChange::AddCheck(check) => add_check(&name, check),
        TableChange::ModifyColumn { from, to } if to.not_null && !from.not_null => {
            Some(nullability(&name, &ident(&to.name), "SET NOT NULL"))
        }
        _ => None,
    };
    statement.is_some_and(|sql| {
        plan.steps.iter().any(|s| {
            !s.is_rebuild()
                && s.table
                    .as_deref()
                    .is_some_and(|t| t.eq_ignore_ascii_case(table))
                && s.forward == [sql.as_str()]
        })
    })
}

/// `ALTER TABLE t ADD CONSTRAINT name CHECK (expr)`; None for an unnamed check.
fn add_check(table: &str, check: &Check) -> Option<String> {
    let name = check.name.as_ref()?;
    Some(format!(
        "ALTER TABLE {table} ADD CONSTRAINT {} CHECK ({})",
        ident(name),
        check.expr.as_str()
    ))
}

/// Returns true when more than one constraint of `table` has the name `cname`: DROP
/// CONSTRAINT would then not say which.
fn named_twice(table: &Table, cname: &str) -> bool {
    named_twice_with(table, cname, 1)
}

/// Returns true when more than `allowed` constraints of `table` have the name `cname`.
fn named_twice_with(table: &Table, cname: &str, allowed: usize) -> bool {
    let is = |n: &Option<Name>| n.as_ref().is_some_and(|n| n == cname);
    let count = table.checks.iter().filter(|c| is(&c.name)).count()
        + table
            .columns
            .iter()
            .flat_map(|c| c.checks.iter())
            .filter(|c| is(&c.name))
            .count()
        + table.foreign_keys.iter().filter(|f| is(&f.name)).count()
        + table.uniques.iter().filter(|u| is(&u.name)).count()
        + table.primary_key.iter().filter(|p| is(&p.name)).count();
    count > allowed
}

/// A safe step whose forward is proved to turn `before` into `after`; its reverse is the
/// native one when proved to turn `after` back into `before`, a rebuild otherwise. None when
/// the forward cannot be proved. With [`Proofs::ByThePlan`], nothing runs here: the step and
/// its native reverse are taken as written, for the whole plan's proof to decide.
fn proved_step(
    before: &Table,
    after: &Table,
    forward: Vec<String>,
    reverse: Option<String>,
    summary: String,
    undo: String,
    proofs: Proofs,
) -> Option<Step> {
    let reverse_proved = match proofs {
        Proofs::EachStep => Proof::run(before, &forward, after, reverse.as_deref())?.reverse_proved,
        Proofs::ByThePlan => true,
    };
    // The reverse's own words: `undo` when it is the native statement, else a rebuild that
    // undoes the summary.
    let (reverse, drops_table, undo) = match reverse.filter(|_| reverse_proved) {
        Some(r) => (vec![r], TableDrops::NONE, undo),
        None => (
            rebuild(after, before, &[]),
            TableDrops::REVERSE,
            format!("{undo} (by a rebuild)"),
        ),
    };
    Some(Step {
        kind: StepKind::Safe,
        drops_table,
        table: Some(after.name.to_string()),
        summary,
        forward,
        reverse,
        stash: None,
        reverse_summary: Some(undo),
    })
}

/// The proof of a native step, made on two in-memory SQLite databases: one holding `before`,
/// one holding `after`, each created by SQLite from its normal form and inspected back.
struct Proof {
    /// Whether the reverse statement, run on `after`, leaves `before` (indexes included).
    reverse_proved: bool,
}

impl Proof {
    /// None when the forward statements, run on `before`, do not leave exactly `after`
    /// (or SQLite refuses one). The reverse is run on the database that holds `after` as
    /// SQLite created it, and compared with `before` as read back before the forward ran.
    fn run(
        before: &Table,
        forward: &[String],
        after: &Table,
        reverse: Option<&str>,
    ) -> Option<Self> {
        let from = Materialised::new(before)?;
        let before_read = from.read()?;
        let got = from.after(forward)?;
        let to = Materialised::new(after)?;
        if got != to.read()? {
            return None;
        }
        let reverse_proved =
            reverse.is_some_and(|r| to.after(&[r.to_string()]) == Some(before_read));
        Some(Proof { reverse_proved })
    }
}

/// One table created alone in an in-memory SQLite.
struct Materialised {
    conn: Connection,
    name: crate::model::Name,
}

impl Materialised {
    /// None when SQLite refuses the table's CREATE (or one of its indexes').
    fn new(table: &Table) -> Option<Self> {
        let schema = Schema {
            tables: vec![table.clone()],
            ..Schema::default()
        };
        let conn = crate::normal::create_in_memory(&schema).ok()?;
        Some(Materialised {
            conn,
            name: table.name.clone(),
        })
    }

    /// The table as SQLite now reports it, in normal form.
    fn read(&self) -> Option<Table> {
        let inspected = crate::inspect::inspect(&self.conn).ok()?;
        inspected.table(&self.name).cloned()
    }

    /// Runs `statements`, then reads the table back; None when SQLite refuses a statement.
    fn after(&self, statements: &[String]) -> Option<Table> {
        for sql in statements {
            self.conn.execute_batch(sql).ok()?;
        }
        self.read()
    }
}

/// Says why a table's constraint change needs a rebuild when a name (or a table-level CHECK)
/// would have let SQLite make it in place; None when other changes of the table (a type, a
/// key, STRICT, a new foreign key, ...) need the rebuild anyway.
pub(super) fn why_rebuild(d: &TableDiff, target: Target) -> Option<String> {
    if !target.constraint_alters() {
        return None;
    }
    // Advice only when nothing else in the change needs the rebuild.
    let only_constraints = d.changes.iter().all(|c| match c {
        TableChange::ModifyColumn { from, to } => {
            let mut same = from.clone();
            same.not_null = to.not_null;
            same.checks = to.checks.clone();
            same == *to
        }
        TableChange::AddColumn(_)
        | TableChange::DropColumn(_)
        | TableChange::RenameColumn { .. }
        | TableChange::AddIndex(_)
        | TableChange::DropIndex(_)
        | TableChange::ModifyIndex { .. }
        | TableChange::AddCheck(_)
        | TableChange::DropCheck(_)
        | TableChange::DropForeignKey(_) => true,
        _ => false,
    });
    if !only_constraints {
        return None;
    }
    let mut reasons = Vec::new();
    for c in &d.changes {
        match c {
            TableChange::AddCheck(c) if c.name.is_none() => reasons.push(format!(
                "the new check ({}) has no name, so SQLite could not drop it in place on rollback",
                c.expr.as_str()
            )),
            TableChange::DropCheck(c) if c.name.is_none() => reasons.push(format!(
                "the check ({}) has no name, so SQLite cannot drop it in place",
                c.expr.as_str()
            )),
            TableChange::DropForeignKey(fk) if fk.name.is_none() => reasons.push(format!(
                "the foreign key ({}) has no name, so SQLite cannot drop it in place",
                fk.columns
                    .iter()
                    .map(|c| ident(c))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            TableChange::ModifyColumn { from, to } => {
                if from
                    .checks
                    .iter()
                    .any(|c| !to.checks.contains(c) && c.name.is_none())
                {
                    reasons.push(format!(
                        "a check on column {} has no name, so SQLite cannot drop it in place",
                        ident(&to.name)
                    ));
                }
                if to.checks.iter().any(|c| !from.checks.contains(c)) {
                    reasons.push(format!(
                        "SQLite adds a check in place only on the table, not on column {}",
                        ident(&to.name)
                    ));
                }
            }
            _ => {}
        }
    }
    (!reasons.is_empty()).then(|| {
        format!(
            "{}; name each check and foreign key (`name:` in the schema file) and declare new checks on the table, so that later changes run in place",
            reasons.join("; ")
        )
    })
}

/// Returns the oldest SQLite that runs `sql`, a statement the planner wrote, with what needs
/// it: the constraint ALTERs (3.53.0), DROP COLUMN (3.35.0), RENAME COLUMN (3.25.0).
pub fn requires(sql: &str) -> Option<(SqliteVersion, &'static str)> {
    let rest = after_alter_table(sql)?;
    // `get`, not slicing: the text after the name may start with any character.
    let starts = |p: &str| {
        rest.get(..p.len())
            .is_some_and(|h| h.eq_ignore_ascii_case(p))
    };
    if starts("ADD CONSTRAINT ") || starts("DROP CONSTRAINT ") || starts("ALTER COLUMN ") {
        Some((
            CONSTRAINT_ALTERS,
            "ALTER TABLE ... ADD CONSTRAINT, DROP CONSTRAINT, ALTER COLUMN ... NOT NULL",
        ))
    } else if starts("DROP COLUMN ") {
        Some((SqliteVersion::new(3, 35, 0), "ALTER TABLE ... DROP COLUMN"))
    } else if starts("RENAME COLUMN ") {
        Some((
            SqliteVersion::new(3, 25, 0),
            "ALTER TABLE ... RENAME COLUMN",
        ))
    } else {
        None
    }
}

/// The text after `ALTER TABLE <name> ` in a statement the planner wrote (its table name is
/// written by [`ident`]: bare, or double-quoted with quotes doubled).
fn after_alter_table(sql: &str) -> Option<&str> {
    let rest = sql.strip_prefix("ALTER TABLE ")?;
    let end = if let Some(quoted) = rest.strip_prefix('"') {
        let mut i = 0;
        let bytes = quoted.as_bytes();
        loop {
            match bytes.get(i)? {
                b'"' if bytes.get(i + 1) == Some(&b'"') => i += 2,
                b'"' => break i + 2,
                _ => i += 1,
            }
        }
    } else {
        rest.find(' ')?
    };
    rest.get(end..)?.strip_prefix(' ')
}
