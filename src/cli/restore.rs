//! `schemactl restore`: the whole database from a verified backup.

use std::path::PathBuf;
use std::process::ExitCode;

use super::DatabaseArg;
use super::output::{Progress, confirm};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::ops::restore::{self, Source, TableMode};

/// Arguments of `schemactl restore`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  schemactl restore --latest --yes\n  schemactl restore --latest --table patterns --mode merge --yes\n  schemactl restore --at 2026-11-25T14:30:00Z --yes\n  schemactl restore --latest-valid --yes\n  schemactl restore .swarm/backups/memory-20261125T020000Z-daily.db.zst --yes"
)]
pub struct Args {
    /// The backup file
    #[arg(conflicts_with_all = ["latest", "at"])]
    file: Option<PathBuf>,
    /// The newest backup
    #[arg(long)]
    latest: bool,
    /// The newest backup taken at or before TIME (RFC 3339, e.g. 2026-11-25T14:30:00Z)
    #[arg(long, value_name = "TIME")]
    at: Option<String>,
    /// Walk back past backups that fail verification (disaster recovery)
    #[arg(long)]
    latest_valid: bool,
    #[command(flatten)]
    database: DatabaseArg,
    /// Directory of backups [default: from schemactl.toml, else .swarm/backups]
    #[arg(long, value_name = "DIR")]
    backups: Option<PathBuf>,
    /// Wait for a writer that holds the database, instead of refusing
    #[arg(long)]
    wait: bool,
    /// Do not ask for confirmation (required off a terminal)
    #[arg(long, short = 'y')]
    yes: bool,
    /// Restore only this table, by ATTACH, in one transaction
    #[arg(long, value_name = "T")]
    table: Option<String>,
    /// With --table: replace its rows, or merge in the rows missing by primary key
    #[arg(long, value_enum, default_value_t = ModeArg::Replace, requires = "table")]
    mode: ModeArg,
}

/// Restores.
pub fn run(args: &Args, config: &Config) -> Result<ExitCode> {
    let source = match (&args.file, args.latest || args.latest_valid, &args.at) {
        (Some(f), _, _) => Source::File(f.clone()),
        (None, _, Some(t)) => Source::At(t.clone()),
        (None, true, None) => Source::Latest,
        (None, false, None) => {
            return Err(Error::Usage(
                "give a backup file, --latest, --latest-valid or --at TIME".into(),
            ));
        }
    };
    let opts = restore::Options {
        database: args.database.resolve(config),
        dir: args
            .backups
            .clone()
            .unwrap_or_else(|| config.backups.clone()),
        source,
        latest_valid: args.latest_valid,
        wait: args.wait,
    };
    if !args.yes
        && !confirm(&format!(
            "{} the contents of {}?",
            if args.table.is_some() {
                "restore a table in"
            } else {
                "replace"
            },
            opts.database.display()
        ))?
    {
        return Err(Error::Usage("not confirmed; nothing was restored".into()));
    }
    if let Some(table) = &args.table {
        let mut progress = Progress::new(&opts.database);
        let r = restore::restore_table(&opts, table, args.mode.into(), &mut |m| progress.say(m));
        drop(progress);
        let r = r?;
        if !r.dropped_columns.is_empty() {
            eprintln!(
                "note: the live \"{table}\" no longer has {}: those values were not restored",
                r.dropped_columns.join(", ")
            );
        }
        println!(
            "restored table \"{table}\" in {} from {}: {} row(s) deleted, {} inserted (the previous contents are in {})",
            opts.database.display(),
            r.from.display(),
            r.deleted,
            r.inserted,
            r.before.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let mut progress = Progress::new(&opts.database);
    let restored = restore::restore(&opts, &mut |m| progress.say(m));
    drop(progress);
    let restored = restored?;
    println!(
        "restored {} from {} (the previous contents are in {})",
        opts.database.display(),
        restored.from.display(),
        restored.before.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `--mode`: the CLI's names for [`TableMode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ModeArg {
    /// Delete the table's rows, then insert the backup's.
    Replace,
    /// Insert only the backup's rows whose primary key (or rowid) is missing.
    Merge,
}

impl From<ModeArg> for TableMode {
    fn from(m: ModeArg) -> Self {
        match m {
            ModeArg::Replace => TableMode::Replace,
            ModeArg::Merge => TableMode::Merge,
        }
    }
}
