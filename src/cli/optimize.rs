//! `schemactl optimize`: PRAGMA optimize or ANALYZE, and VACUUM.

use std::process::ExitCode;

use super::DatabaseArg;
use super::output::Progress;
use crate::config::Config;
use crate::error::Result;
use crate::ops::optimize;

/// Arguments of `schemactl optimize`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Without flags it runs PRAGMA optimize (cheap; refreshes the statistics that need it).\n\nExamples:\n  schemactl optimize\n  schemactl optimize --analyze\n  schemactl optimize --vacuum --analyze"
)]
pub struct Args {
    #[command(flatten)]
    database: DatabaseArg,
    /// Rebuild the file with VACUUM (needs about twice the file's size free; checked first)
    #[arg(long)]
    vacuum: bool,
    /// Run a full ANALYZE instead of PRAGMA optimize
    #[arg(long)]
    analyze: bool,
    /// Fail at once when another schemactl holds the database's lock, instead of waiting
    #[arg(long)]
    no_wait: bool,
    /// Wait for another schemactl (the default; kept so that scripts may say it)
    #[arg(long, hide = true, conflicts_with = "no_wait")]
    wait: bool,
}

/// Optimizes.
pub fn run(args: &Args, config: &Config) -> Result<ExitCode> {
    let opts = optimize::Options {
        database: args.database.resolve(config),
        vacuum: args.vacuum,
        analyze: args.analyze,
        wait: !args.no_wait,
    };
    let mut progress = Progress::new(&opts.database);
    let report = optimize::optimize(&opts, &mut |m| progress.say(m));
    drop(progress);
    let r = report?;
    crate::say!("ran: {}", r.ran.join(", "));
    crate::say!(
        "size: {} -> {} bytes (WAL {} -> {}, free pages {} -> {})",
        r.before.file_bytes,
        r.after.file_bytes,
        r.before.wal_bytes,
        r.after.wal_bytes,
        r.before.freelist_pages,
        r.after.freelist_pages
    );
    Ok(ExitCode::SUCCESS)
}
