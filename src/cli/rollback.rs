//! `schemactl rollback TARGET`: undo a named migration through the safe pipeline.

use std::process::ExitCode;

use super::DatabaseArg;
use super::apply::{preview_and_confirm, print_report};
use super::output::Progress;
use crate::apply::Options;
use crate::config::Config;
use crate::error::Result;

/// Arguments of `schemactl rollback`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  schemactl rollback last --yes\n  schemactl rollback V2 --dry-run\n  schemactl rollback add_pattern_category --cascade --yes"
)]
pub struct Args {
    /// The migration: a version (`V3` or `3`), a name, or `last`
    target: String,
    #[command(flatten)]
    database: DatabaseArg,
    /// Also roll back the migrations applied after TARGET, newest first, all or nothing
    #[arg(long)]
    cascade: bool,
    /// Do not ask for confirmation
    #[arg(long, short = 'y')]
    yes: bool,
    /// Show the reverse SQL that would run; change nothing
    #[arg(long)]
    dry_run: bool,
    /// Fail at once when another schemactl holds the database's lock, instead of waiting
    #[arg(long)]
    no_wait: bool,
    /// Skip the pre-rollback backup (prints a warning)
    #[arg(long)]
    skip_backup: bool,
    /// Skip the rehearsal on the backup (prints a warning)
    #[arg(long)]
    skip_rehearsal: bool,
}

/// Rolls back.
pub fn run(args: &Args, config: &Config) -> Result<ExitCode> {
    let opts = Options {
        database: args.database.resolve(config),
        migrations: config.migrations.clone(),
        rollbacks: config.rollbacks.clone(),
        backups: config.backups.clone(),
        wait: !args.no_wait,
        skip_backup: args.skip_backup,
        skip_rehearsal: args.skip_rehearsal,
        allow_destructive: true,
        dry_run: false,
        extra: Vec::new(),
    };
    let mut progress = Progress::new(&opts.database);
    let mut say = |m: &str| progress.say(m);
    if args.dry_run || !args.yes {
        let preview = crate::apply::rollback(
            &Options {
                dry_run: true,
                ..opts.clone()
            },
            &args.target,
            args.cascade,
            &mut say,
        )?;
        let heading = format!("to roll back in {}, newest first", opts.database.display());
        if let Some(done) = preview_and_confirm(&preview, &heading, "roll back", args.dry_run)? {
            return Ok(done);
        }
    }
    let report = crate::apply::rollback(&opts, &args.target, args.cascade, &mut say)?;
    drop(progress);
    print_report("rolled back", "in", &report, &opts.database);
    Ok(ExitCode::SUCCESS)
}
