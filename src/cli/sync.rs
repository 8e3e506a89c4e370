//! `schemactl sync`: plan against the live database and apply the plan through the same
//! pipeline, recorded under a generated version so it can be rolled back by name.

use std::process::ExitCode;

use super::apply::{PipelineArgs, run_pipeline};
use super::{DatabaseArg, SchemaArg};
use crate::apply::history;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::migrations;

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
    let desired = crate::dsl::load(&args.schema.resolve(config))?;
    let (current, findings, next_version) = {
        let conn = crate::apply::open_live(&database)?;
        let current = crate::inspect(&conn)?;
        let changes = crate::diff::diff(&current, &desired.schema, &desired.renames)?;
        let findings = crate::lint::lint(&conn, &current, &desired.schema, &changes)?;
        let files = migrations::load(&config.migrations, &config.rollbacks)?;
        let applied = history::applied(&conn)?;
        let next = files
            .iter()
            .map(|f| f.version)
            .chain(applied.iter().map(|a| a.version))
            .max()
            .unwrap_or(0)
            + 1;
        (current, findings, next)
    };
    let changes = crate::diff::diff(&current, &desired.schema, &desired.renames)?;
    let plan = crate::plan::plan(&current, &desired.schema, &changes);
    if plan.is_empty() {
        println!("{} matches the schema: nothing to do", database.display());
        return Ok(ExitCode::SUCCESS);
    }
    let blocking: Vec<_> = findings.iter().filter(|f| f.blocks()).collect();
    if !blocking.is_empty() && !args.ignore_lint {
        let list: Vec<String> = blocking
            .iter()
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
        return Err(Error::Usage(format!(
            "the live data does not fit the change; fix the rows, or pass --ignore-lint (the change will then fail and roll back):\n  {}",
            list.join("\n  ")
        )));
    }
    let mut opts = args.pipeline.options(database, config);
    opts.extra.push(crate::apply::sync_migration(
        &plan,
        desired.version,
        next_version,
    ));
    run_pipeline(opts, &args.pipeline)
}
