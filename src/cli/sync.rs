//! `schemactl sync`: plan against the live database and apply the plan through the same
//! pipeline, recorded under a generated version so it can be rolled back by name
//! ([`crate::ops::sync`] builds the migration).

use std::process::ExitCode;

use super::apply::{PipelineArgs, run_pipeline};
use super::{DatabaseArg, SchemaArg};
use crate::config::Config;
use crate::error::Result;
use crate::ops::sync;

/// Arguments of `schemactl sync`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  schemactl sync --yes\n  schemactl sync --schema schema/ --allow-destructive --yes\n  schemactl sync --dry-run"
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
    let database = args.database.resolve(config);
    let migration = sync::migration(&sync::Options {
        database: database.clone(),
        schema: args.schema.resolve(config),
        migrations: config.migrations.clone(),
        rollbacks: config.rollbacks.clone(),
        ignore_lint: args.ignore_lint,
    })?;
    let Some(migration) = migration else {
        println!("{} matches the schema: nothing to do", database.display());
        return Ok(ExitCode::SUCCESS);
    };
    let mut opts = args.pipeline.options(database, config);
    opts.extra.push(migration);
    run_pipeline(opts, &args.pipeline)
}
