//! `apply`: the checks in front of the apply pipeline ([`crate::apply::apply`]), and what it
//! reports beside the migrations it ran.
//!
//! Before any lock or backup: a project without migration files has nothing to apply (the
//! database is not created); a database that has tables but no history is refused, naming the
//! version it matches and the `baseline` command (the migrations would fail on tables that
//! exist); changes in schema/ that no migration file covers are found (and named after the
//! run, with `plan --write`). Every check that can fail runs before anything changes: a
//! successful run never ends in an error.

use std::path::PathBuf;
use std::time::Instant;

use crate::apply::{self, Report};
use crate::error::{Error, Result};
use crate::exclude::Exclude;
use crate::migrations::{self, Catalogue};

/// What `apply` is asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    /// The pipeline's options.
    pub pipeline: apply::Options,
    /// The schema files, for the report of uncovered changes (it may not exist).
    pub schema: PathBuf,
    /// Tables schemactl does not manage (schemactl.toml; the schema files add theirs).
    pub exclude: Exclude,
}

/// What `apply` did.
#[derive(Debug, Clone)]
pub struct Applied {
    /// The pipeline's report.
    pub report: Report,
    /// The version after the run (in a dry run: after the pending migrations would run).
    pub version_after: Option<i32>,
    /// schema/ has changes no migration covers: how many lines of the dumps differ.
    pub uncovered: Option<usize>,
    /// How long it took.
    pub duration: std::time::Duration,
}

/// Checks what must hold before the pipeline starts: there are migration files, and a database
/// with tables has a history. Opens the database read-only (it is never created here).
pub fn check_entry(opts: &Options) -> Result<()> {
    let p = &opts.pipeline;
    let files = migrations::load(&p.migrations, &p.rollbacks)?;
    if files.is_empty() {
        return Err(Error::NoMigrations {
            dir: p.migrations.clone(),
        });
    }
    if !p.database.exists() {
        return Ok(());
    }
    let conn = crate::db::open_read_only(&p.database)?;
    // One read transaction: the history and the tables come from one snapshot. Read one after
    // the other, a concurrent apply that commits in between (its tables and its history rows
    // together) would look like tables without a history.
    let snapshot = conn
        .unchecked_transaction()
        .map_err(Error::sqlite_in("read the database's history and schema"))?;
    if migrations::history::current_version(&snapshot)?.is_some() {
        return Ok(());
    }
    let live = crate::inspect(&snapshot)?;
    drop(snapshot);
    drop(conn);
    let exclude = opts.exclude.union(&schema_exclude(opts)?);
    if exclude.apply(&live) == crate::model::Schema::default() {
        return Ok(());
    }
    Err(Error::NeedsBaseline {
        database: p.database.clone(),
        matched: crate::ops::baseline::advice(&files, &live, &exclude, &p.database)?,
    })
}

/// Returns the `exclude:` patterns of the schema files, when there are any to read.
pub fn schema_exclude(opts: &Options) -> Result<Exclude> {
    Ok(crate::dsl::load_if_any(&opts.schema)?.map_or_else(Exclude::default, |d| d.exclude))
}

/// Runs the entry checks and compares schema/ with what the migration files build (both read
/// only files, and fail before anything changes), then the pipeline. `say` receives progress
/// lines.
pub fn apply(opts: &Options, say: &mut dyn FnMut(&str)) -> Result<Applied> {
    let started = Instant::now();
    check_entry(opts)?;
    let uncovered = uncovered(opts)?;
    let report = apply::apply(&opts.pipeline, say)?;
    let version_after = report.version_after;
    Ok(Applied {
        report,
        version_after,
        uncovered,
        duration: started.elapsed(),
    })
}

/// Returns how many dump lines differ between schema/ and what the migration files build, when
/// they differ (None when they agree, or there are no schema files: no schema/, or an empty
/// one). It reads files only: callers run it before the pipeline, so that a schema file that
/// does not load stops the command before anything changes, never after a commit.
pub fn uncovered(opts: &Options) -> Result<Option<usize>> {
    let Some(desired) = crate::dsl::load_if_any(&opts.schema)? else {
        return Ok(None);
    };
    let exclude = opts.exclude.union(&desired.exclude);
    let files = Catalogue::new(
        migrations::load(&opts.pipeline.migrations, &opts.pipeline.rollbacks)?,
        Vec::new(),
        Vec::new(),
        &[],
    )?;
    // Migrations whose data statements need real rows do not replay on an empty database:
    // then there is nothing to compare, and the pipeline says what fails where it runs.
    let Ok(built) = files.expected_schema() else {
        return Ok(None);
    };
    let built = exclude.apply_owned(built);
    let desired = exclude.apply(&desired.schema);
    if built == desired {
        return Ok(None);
    }
    let diff = crate::normal::describe_difference(&built, &desired);
    Ok(Some(
        diff.lines()
            .filter(|l| {
                (l.starts_with('+') && !l.starts_with("+++"))
                    || (l.starts_with('-') && !l.starts_with("---"))
            })
            .count(),
    ))
}
