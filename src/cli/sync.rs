//! `schemactl sync`: plan against the live database and apply the plan through the same
//! pipeline, recorded under a generated version so it can be rolled back by name
//! ([`crate::ops::sync`] builds the migration, and says how sync lives with migration files).

use std::process::ExitCode;
use std::time::Instant;

use super::apply::{Outcome, PipelineArgs, print_outcome, run_pipeline};
use super::{DatabaseArg, SchemaArg};
use crate::config::Config;
use crate::error::Result;
use crate::ops::sync;

/// Arguments of `schemactl sync`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  schemactl sync --yes\n  schemactl sync --schema schema/ --allow-destructive --yes\n  schemactl sync --dry-run\n  schemactl sync --yes --format json"
)]
pub struct Args {
    #[command(flatten)]
    database: DatabaseArg,
    #[command(flatten)]
    schema: SchemaArg,
    #[command(flatten)]
    pipeline: PipelineArgs,
    /// Apply even when the lint finds rows the change would reject (they make it fail)
    #[arg(long)]
    ignore_lint: bool,
}

/// Plans and applies.
pub fn run(args: &Args, config: &Config) -> Result<ExitCode> {
    let started = Instant::now();
    let database = args.database.resolve(config);
    let p = &args.pipeline;
    let sync_opts = sync::Options {
        database: database.clone(),
        schema: args.schema.resolve(config),
        migrations: config.migrations.clone(),
        rollbacks: config.rollbacks.clone(),
        ignore_lint: args.ignore_lint,
        exclude: config.exclude.clone(),
        // The change is the run's first act: SQLite checks the rows it adds a rule for.
        defer_lint: p.yes && !p.dry_run && p.skip_backup && p.skip_rehearsal,
    };
    let planned = sync::planned(&sync_opts)?;
    let outcome = if planned.migrations.is_empty() {
        if args.pipeline.format == super::output::Format::Human {
            crate::say!(
                "{} matches the schema: nothing to do",
                crate::printable::path(&database)
            );
            return Ok(ExitCode::SUCCESS);
        }
        let version = if database.exists() {
            let conn = crate::db::open_read_only(&database)?;
            crate::migrations::history::current_version(&conn)?
        } else {
            None
        };
        Outcome::UpToDate(crate::apply::Report {
            version_before: version,
            version_after: version,
            ..Default::default()
        })
    } else {
        let mut opts = args.pipeline.options(database.clone(), config);
        opts.extra = planned.migrations;
        opts.inspected = Some(planned.inspected);
        // The plan runs on the live schema it was made on, or not at all (checked under the
        // lock and in the live transaction: a change made while the question was open).
        opts.planned_on = Some(planned.planned_on);
        // The files read for the plan: only one that changed since is analysed again.
        opts.files_read = Some(planned.files_read);
        run_pipeline(&opts, &args.pipeline).map_err(|e| sync::explain_failure(&sync_opts, e))?
    };
    print_outcome(
        "sync",
        &outcome,
        &database,
        args.pipeline.format,
        started.elapsed(),
        serde_json::json!({}),
    )
}
