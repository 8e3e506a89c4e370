//! `sync`: plan the live database to schema/ (diffed once), refuse when the lint finds rows
//! the change would reject, and hand the plan to the apply pipeline as one [`Migration`] with
//! [`Origin::Sync`](crate::migrations::Origin::Sync), numbered by the migration catalogue and
//! recorded so that it can be rolled back by name.

use std::path::PathBuf;

use crate::apply::{self, Report};
use crate::error::{Error, Result};
use crate::migrations::{self, Catalogue, Migration};

/// What `sync` brings to what.
#[derive(Debug, Clone)]
pub struct Options {
    /// The live database (created when missing).
    pub database: PathBuf,
    /// The schema files.
    pub schema: PathBuf,
    /// Forward migrations (the new version stays above theirs).
    pub migrations: PathBuf,
    /// Reverse migrations.
    pub rollbacks: PathBuf,
    /// Go on when the lint finds rows the change would reject (the change then fails).
    pub ignore_lint: bool,
}

/// Plans the live database to schema/ and returns the migration that brings it there, or
/// None when it matches schema/ already.
pub fn migration(opts: &Options) -> Result<Option<Migration>> {
    let desired = crate::dsl::load(&opts.schema)?;
    let conn = crate::apply::open_live(&opts.database)?;
    let current = crate::inspect(&conn)?;
    let changes = crate::diff::diff(&current, &desired.schema, &desired.renames)?;
    let findings = crate::lint::lint(&conn, &current, &desired.schema, &changes)?;
    // The version: above every file and every applied migration.
    let catalogue = Catalogue::new(
        migrations::load(&opts.migrations, &opts.rollbacks)?,
        migrations::history::applied(&conn)?,
        Vec::new(),
        &[],
    )?;
    drop(conn);
    let plan = crate::plan::plan(&current, &desired.schema, &changes);
    if plan.is_empty() {
        return Ok(None);
    }
    let blocking: Vec<String> = findings
        .iter()
        .filter(|f| f.blocks())
        .map(|f| {
            format!(
                "{}: {} row(s): {} (e.g. {})",
                f.table,
                f.count,
                f.message,
                f.samples.join("; ")
            )
        })
        .collect();
    if !blocking.is_empty() && !opts.ignore_lint {
        return Err(Error::LintBlocked { findings: blocking });
    }
    Ok(Some(Migration::sync(
        &plan,
        desired.version,
        catalogue.next_version(),
    )))
}

/// Plans and applies: [`migration`], then the apply pipeline with it (`pipeline.extra` gets
/// it). Returns None when the database matches schema/ already.
pub fn sync(
    opts: &Options,
    mut pipeline: apply::Options,
    say: &mut dyn FnMut(&str),
) -> Result<Option<Report>> {
    let Some(migration) = migration(opts)? else {
        return Ok(None);
    };
    pipeline.extra.push(migration);
    apply::apply(&pipeline, say).map(Some)
}
