//! `sync`: plan the live database to schema/ (diffed once), refuse when the lint finds rows
//! the change would reject, and hand the plan to the apply pipeline as one [`Migration`] with
//! [`Origin::Sync`](crate::migrations::Origin::Sync), numbered by the migration catalogue and
//! recorded so that it can be rolled back by name.
//!
//! How sync lives with migration files (the README says the same):
//! - sync runs only the migration it plans, never a file: while a migration file is pending
//!   for the database it refuses (apply them, or baseline the database, first), and the
//!   pipeline runs nothing but the `extra` migrations it is given ([`crate::apply::Options`]);
//! - a database with tables and no history is adopted as it is: its schema (without the
//!   excluded tables) is recorded first, in the same transaction, as a migration that is never
//!   run ([`Origin::Adopted`]), so the history replays from empty to the live schema and
//!   `drift` reports nothing after a sync;
//! - the sync's SQL is recorded in `_schemactl_migrations`, so `plan --write` turns it into a
//!   file (the same version, name and text) instead of planning its changes again.

use std::path::PathBuf;
use std::sync::Arc;

use rusqlite::Connection;

use crate::apply::{self, Report};
use crate::error::{Error, Result};
use crate::exclude::Exclude;
use crate::inspect::Inspection;
use crate::lint::Scan;
use crate::migrations::{self, Catalogue, Migration, Origin};
use crate::model::Schema;

/// What `sync` brings to what.
#[derive(Debug, Clone)]
pub struct Options {
    /// The live database (created when missing, by the pipeline).
    pub database: PathBuf,
    /// The schema files.
    pub schema: PathBuf,
    /// Forward migrations (the new version stays above theirs).
    pub migrations: PathBuf,
    /// Reverse migrations.
    pub rollbacks: PathBuf,
    /// Go on when the lint finds rows the change would reject (the change then fails).
    pub ignore_lint: bool,
    /// Tables left alone (schemactl.toml; the schema files add theirs).
    pub exclude: Exclude,
    /// Leave out of the lint the rows the plan's in-place statements check themselves (a named
    /// CHECK added, NOT NULL set: [`crate::lint::Scan::SkipCheckedInPlace`]), so that they
    /// are read once, by SQLite, not twice. Only for a run whose first act is the change (no
    /// preview or confirmation, no backup, no rehearsal): should SQLite refuse it, the
    /// transaction rolls back and [`explain_failure`] runs the whole lint to name the rows,
    /// with the message the lint gives before anything runs.
    pub defer_lint: bool,
}

/// Plans the live database to schema/ and returns the migrations that bring it there (the
/// adoption of a database without history, then the sync), or an empty list when it matches
/// schema/ already. Opens the database read-only; creates nothing.
pub fn migrations(opts: &Options) -> Result<Vec<Migration>> {
    planned(opts).map(|p| p.migrations)
}

/// What [`planned`] found.
#[derive(Debug)]
pub struct Planned {
    /// The migrations, as [`migrations`] returns them.
    pub migrations: Vec<Migration>,
    /// The inspection of the live database they were planned against, for the pipeline
    /// ([`apply::Options::inspected`]), which reads again under its lock what changed since.
    pub inspected: Arc<Inspection>,
    /// The live schema they were planned on (for [`apply::Options::planned_on`]: a run
    /// refuses when the live schema is another by then).
    pub planned_on: apply::PlannedOn,
    /// The migration files as they were read for the plan (for
    /// [`apply::Options::files_read`]: the pipeline analyses again only a file that changed).
    pub files_read: Arc<[Migration]>,
}

/// [`migrations`], with the inspection of the live database they were planned against.
pub fn planned(opts: &Options) -> Result<Planned> {
    let desired = crate::dsl::load(&opts.schema)?;
    let exclude = opts.exclude.union(&desired.exclude);
    let conn = if opts.database.exists() {
        crate::db::open_read_only(&opts.database)?
    } else {
        Connection::open_in_memory().map_err(|e| Error::sqlite("open an empty database", e))?
    };
    let inspected = Arc::new(crate::inspect::inspect_with_notes(&conn)?);
    let planned_on = apply::PlannedOn::new(Arc::clone(&inspected), exclude.clone());
    let current = planned_on.schema();
    let files = migrations::load(&opts.migrations, &opts.rollbacks)?;
    let files_read: Arc<[Migration]> = files.iter().cloned().collect();
    let catalogue = Catalogue::new(
        files,
        migrations::history::applied(&conn)?,
        migrations::history::recorded(&conn)?,
        &[],
    )?;
    // Sync never runs a migration file: the files must all be applied first.
    let files_pending: Vec<String> = catalogue
        .pending()
        .filter(|m| matches!(m.origin, Origin::File { .. }))
        .map(Migration::stem)
        .collect();
    if !files_pending.is_empty() {
        return Err(Error::FilesPending {
            database: opts.database.clone(),
            pending: files_pending,
        });
    }
    catalogue.verify()?;
    let renames = migrations::renames_to_plan(
        &desired.renames,
        desired.version,
        catalogue
            .applied_migrations()
            .filter_map(|m| migrations::schema_version(&m.forward)),
    );
    // The triggers left alone on managed tables come back after a rebuild of their table.
    let carried = exclude.carry(&inspected.schema, current, &desired.schema);
    let (from, to) = match &carried {
        Some((c, d)) => (c, d),
        None => (current, &desired.schema),
    };
    let changes = crate::diff::diff(from, to, &renames)?;
    // Planned and proved at once (see plan::plan_verified): an empty plan proves nothing.
    let mut plan = crate::plan::plan_verified(from, to, &changes)?;
    // The carried triggers' drops must not stop the history replaying from empty.
    plan.drop_triggers_if_exists(&crate::exclude::Exclude::carried_triggers(from, current));
    let scan = if opts.defer_lint {
        Scan::SkipCheckedInPlace(&plan)
    } else {
        Scan::All
    };
    let mut findings = crate::lint::lint_with(&conn, from, to, &changes, scan)?;
    // The rows that already break a foreign key the plan's check reads: its rehearsal would
    // refuse them, after the backup.
    let checked = plan.fk_check_tables(crate::plan::Direction::Forward);
    for f in apply::orphans_checked(&conn, from, to, &changes, checked)? {
        if !findings.iter().any(|g| g.line() == f.line()) {
            findings.push(f);
        }
    }
    let adopt = catalogue.applied.is_empty() && *current != Schema::default();
    drop(conn);
    if plan.is_empty() {
        return Ok(Planned {
            migrations: Vec::new(),
            inspected,
            planned_on,
            files_read,
        });
    }
    let blocking: Vec<String> = findings
        .iter()
        .filter(|f| f.blocks())
        .map(crate::lint::Finding::line)
        .collect();
    if !blocking.is_empty() && !opts.ignore_lint {
        return Err(Error::LintBlocked { findings: blocking });
    }
    crate::migrations::check_stashable(&plan)?;
    let mut version = catalogue.next_version();
    let mut out = Vec::new();
    if adopt {
        out.push(adoption(current, version)?);
        version += 1;
    }
    out.push(Migration::sync(&plan, desired.version, version));
    Ok(Planned {
        migrations: out,
        inspected,
        planned_on,
        files_read,
    })
}

/// Returns the migration that records `current` as where a database without history starts:
/// its CREATE statements in an order that replays, never run on the database itself.
fn adoption(current: &Schema, version: i32) -> Result<Migration> {
    // In scratch databases (one per batch of tables, then the rest: each one's statements
    // replay after the ones before), so a schema of thousands of tables costs no more than
    // its size.
    // The statements alone: the schema is not read back.
    let statements =
        crate::normal::scratch::statements(current).map_err(|e| Error::Materialise {
            object: e.object.to_string(),
            message: e.message,
        })?;
    // No user text in the comment: the path could hold a line break.
    let mut forward = format!(
        "-- schemactl adoption V{version}__adopted: the schema the database had before its first sync.\n\
         -- Recorded, never run on it: replayed from empty, it rebuilds where the history starts.\n"
    );
    for s in statements {
        forward.push_str(&s);
        forward.push_str(";\n");
    }
    Ok(Migration::new(
        version,
        "adopted",
        forward,
        None,
        Origin::Adopted,
    ))
}

/// Plans and applies: [`migrations`], then the apply pipeline with them (`pipeline.extra`
/// gets them, so nothing else may run). Returns None when the database matches schema/
/// already.
pub fn sync(
    opts: &Options,
    mut pipeline: apply::Options,
    say: &mut dyn FnMut(&str),
) -> Result<Option<Report>> {
    let planned = planned(opts)?;
    if planned.migrations.is_empty() {
        return Ok(None);
    }
    pipeline.extra.extend(planned.migrations);
    pipeline.inspected = Some(planned.inspected);
    pipeline.planned_on = Some(planned.planned_on);
    pipeline.files_read = Some(planned.files_read);
    apply::apply(&pipeline, say)
        .map(Some)
        .map_err(|e| explain_failure(opts, e))
}

/// What a sync that left checks to SQLite ([`Options::defer_lint`]) reports when it failed:
/// the lint's refusal naming the rows (the same message, computed now on the live database,
/// which the rolled-back transaction left as it was) when the live rows do not fit the
/// change; `failed` otherwise.
pub fn explain_failure(opts: &Options, failed: Error) -> Error {
    if !opts.defer_lint || opts.ignore_lint {
        return failed;
    }
    let all = Options {
        defer_lint: false,
        ..opts.clone()
    };
    match migrations(&all) {
        Err(blocked @ Error::LintBlocked { .. }) => blocked,
        _ => failed,
    }
}
