//! The views and triggers a plan drops before its table steps and creates after them: those the
//! changes name, and those that depend on a table the plan renames, drops, rebuilds or changes
//! (SQLite drops a table's triggers with it, and re-quotes views and triggers on a native
//! column drop or rename).

use super::*;

/// The views and triggers a plan drops and creates (lowercase names): those the changes name,
/// and those that depend on a table the plan renames, drops, rebuilds (in either direction,
/// whatever forced the rebuild) or changes.
#[derive(Default)]
pub(super) struct Dependents {
    /// Tables whose dependents (views, triggers) must be dropped and recreated.
    affected: BTreeSet<String>,
    dropped_views: BTreeSet<String>,
    created_views: BTreeSet<String>,
    dropped_triggers: BTreeSet<String>,
    created_triggers: BTreeSet<String>,
}

impl Dependents {
    pub(super) fn of(
        current: &Schema,
        desired: &Schema,
        changes: &[Change],
        rebuilt: BTreeSet<String>,
    ) -> Self {
        let mut d = Dependents {
            affected: rebuilt,
            ..Dependents::default()
        };
        for change in changes {
            d.note(change);
        }
        d.add_dependents(current);
        // Recreate what was dropped only for a dependency, when the desired schema still has it.
        for name in &d.dropped_views {
            if desired
                .views
                .iter()
                .any(|v| v.name.eq_ignore_ascii_case(name))
            {
                d.created_views.insert(name.clone());
            }
        }
        for name in &d.dropped_triggers {
            if desired
                .triggers
                .iter()
                .any(|t| t.name.eq_ignore_ascii_case(name))
            {
                d.created_triggers.insert(name.clone());
            }
        }
        d
    }

    /// Drops the views and triggers of `current` named in `names` (lowercase), and what depends
    /// on them, and recreates those `desired` still has, from their own text.
    pub(super) fn add_requoted(
        &mut self,
        current: &Schema,
        desired: &Schema,
        names: &BTreeSet<String>,
    ) {
        if names.is_empty() {
            return;
        }
        let known = (self.dropped_views.clone(), self.dropped_triggers.clone());
        let named = |n: &Name| names.contains(&n.to_ascii_lowercase());
        let views = current.views.iter().filter(|v| named(&v.name));
        self.dropped_views
            .extend(views.map(|v| v.name.to_ascii_lowercase()));
        let triggers = current.triggers.iter().filter(|t| named(&t.name));
        self.dropped_triggers
            .extend(triggers.map(|t| t.name.to_ascii_lowercase()));
        self.add_dependents(current);
        for name in self.dropped_views.difference(&known.0) {
            if desired
                .views
                .iter()
                .any(|v| v.name.eq_ignore_ascii_case(name))
            {
                self.created_views.insert(name.clone());
            }
        }
        for name in self.dropped_triggers.difference(&known.1) {
            if desired
                .triggers
                .iter()
                .any(|t| t.name.eq_ignore_ascii_case(name))
            {
                self.created_triggers.insert(name.clone());
            }
        }
    }

    /// Notes what one change affects, drops or creates.
    fn note(&mut self, change: &Change) {
        let lower = |n: &Name| n.to_ascii_lowercase();
        match change {
            Change::RenameTable { from, to } => {
                self.affected.insert(from.to_ascii_lowercase());
                self.affected.insert(to.to_ascii_lowercase());
            }
            Change::DropTable(t) => {
                self.affected.insert(lower(&t.name));
            }
            Change::ModifyTable(d) => {
                // Constraint changes are structural only when they rebuild the table, and a
                // rebuild (either way) is in `rebuilt` already.
                let structural = d.changes.iter().any(|c| {
                    !matches!(
                        c,
                        TableChange::AddColumn(_)
                            | TableChange::AddIndex(_)
                            | TableChange::DropIndex(_)
                            | TableChange::ModifyIndex { .. }
                            | TableChange::AddCheck(_)
                            | TableChange::DropCheck(_)
                            | TableChange::DropForeignKey(_)
                            | TableChange::ModifyColumn { .. }
                    )
                });
                if structural || !d.column_renames.is_empty() {
                    self.affected.insert(lower(&d.to.name));
                    self.affected.insert(lower(&d.from.name));
                }
            }
            Change::DropView(v) => {
                self.dropped_views.insert(lower(&v.name));
            }
            Change::AddView(v) => {
                self.created_views.insert(lower(&v.name));
            }
            Change::ModifyView { to, .. } => {
                self.dropped_views.insert(lower(&to.name));
                self.created_views.insert(lower(&to.name));
            }
            Change::DropTrigger(t) => {
                self.dropped_triggers.insert(lower(&t.name));
            }
            Change::AddTrigger(t) => {
                self.created_triggers.insert(lower(&t.name));
            }
            Change::ModifyTrigger { to, .. } => {
                self.dropped_triggers.insert(lower(&to.name));
                self.created_triggers.insert(lower(&to.name));
            }
            Change::DropVirtualTable(v) | Change::ModifyVirtualTable { from: v, .. } => {
                self.affected.insert(lower(&v.name));
            }
            _ => {}
        }
    }

    /// Drops the views depending on affected names too, transitively, and the triggers on
    /// or mentioning an affected table or dropped view.
    fn add_dependents(&mut self, current: &Schema) {
        loop {
            let before = self.dropped_views.len();
            for v in &current.views {
                let lower = v.name.to_ascii_lowercase();
                let depends = self
                    .affected
                    .iter()
                    .chain(self.dropped_views.iter())
                    .any(|n| *n != lower && mentions(v.select.as_str(), n));
                if depends {
                    self.dropped_views.insert(lower);
                }
            }
            if self.dropped_views.len() == before {
                break;
            }
        }
        for t in &current.triggers {
            let depends = self
                .affected
                .iter()
                .chain(self.dropped_views.iter())
                .any(|n| t.table.eq_ignore_ascii_case(n) || mentions(t.sql.as_str(), n));
            if depends {
                self.dropped_triggers.insert(t.name.to_ascii_lowercase());
            }
        }
    }

    /// The steps that drop triggers, then views (dependents first).
    pub(super) fn drop_steps(&self, current: &Schema, steps: &mut Vec<Step>) {
        for t in current
            .triggers
            .iter()
            .filter(|t| self.dropped_triggers.contains(&t.name.to_ascii_lowercase()))
        {
            steps.push(drop_trigger(
                t,
                !self.created_triggers.contains(&t.name.to_ascii_lowercase()),
            ));
        }
        let views: Vec<&View> = current
            .views
            .iter()
            .filter(|v| self.dropped_views.contains(&v.name.to_ascii_lowercase()))
            .collect();
        for v in view_order(&views).into_iter().rev() {
            steps.push(drop_view(
                v,
                !self.created_views.contains(&v.name.to_ascii_lowercase()),
            ));
        }
    }

    /// The steps that create views (dependencies first), then triggers.
    pub(super) fn create_steps(&self, desired: &Schema, steps: &mut Vec<Step>) {
        let views: Vec<&View> = desired
            .views
            .iter()
            .filter(|v| self.created_views.contains(&v.name.to_ascii_lowercase()))
            .collect();
        for v in view_order(&views) {
            steps.push(Step {
                kind: StepKind::Safe,
                drops_table: TableDrops::NONE,
                table: None,
                summary: format!("create view {}", ident(&v.name)),
                forward: vec![create_view(v)],
                reverse: vec![format!("DROP VIEW {}", ident(&v.name))],
                stash: None,
                reverse_summary: None,
            });
        }
        for t in desired
            .triggers
            .iter()
            .filter(|t| self.created_triggers.contains(&t.name.to_ascii_lowercase()))
        {
            steps.push(Step::safe(
                &t.table,
                format!("create trigger {}", ident(&t.name)),
                vec![t.sql.as_str().to_string()],
                vec![format!("DROP TRIGGER {}", ident(&t.name))],
            ));
        }
    }
}

fn drop_view(v: &View, destructive: bool) -> Step {
    Step {
        kind: StepKind::new(false, destructive),
        drops_table: TableDrops::NONE,
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
        reverse_summary: None,
    }
}

impl Plan {
    /// Writes each `DROP TRIGGER` of the plan that names one of `triggers` as `DROP TRIGGER IF
    /// EXISTS`, in both directions. `triggers` are the ones carried through a rebuild of their
    /// table although the exclude list leaves them alone (see [`crate::exclude::Exclude::carry`]):
    /// the history never creates them, so a plain DROP would stop the history replaying from
    /// empty, and with it what tells apart the objects added by hand. On the database, where
    /// they exist, the statement is the same.
    pub fn drop_triggers_if_exists(&mut self, triggers: &[String]) {
        if triggers.is_empty() {
            return;
        }
        let plain: Vec<(String, String)> = triggers
            .iter()
            .map(|t| {
                (
                    format!("DROP TRIGGER {}", ident(t)),
                    format!("DROP TRIGGER IF EXISTS {}", ident(t)),
                )
            })
            .collect();
        for step in &mut self.steps {
            for sql in step.forward.iter_mut().chain(step.reverse.iter_mut()) {
                if let Some((_, tolerant)) = plain.iter().find(|(p, _)| p.eq_ignore_ascii_case(sql))
                {
                    sql.clone_from(tolerant);
                }
            }
        }
    }
}

fn drop_trigger(t: &Trigger, destructive: bool) -> Step {
    Step {
        kind: StepKind::new(false, destructive),
        drops_table: TableDrops::NONE,
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
        reverse_summary: None,
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
