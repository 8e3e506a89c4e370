//! `schemactl backup [list|verify|prune]`: online, compressed, verified backups.

use std::path::PathBuf;
use std::process::ExitCode;

use super::DatabaseArg;
use super::output::Format;
use super::output::Progress;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::ops::backup::{self, Compression};
use crate::ops::catalog;

/// Arguments of `schemactl backup`.
#[derive(Debug, clap::Args)]
#[command(
    args_conflicts_with_subcommands = true,
    after_help = "Examples:\n  schemactl backup\n  schemactl backup --compress gzip --label daily --keep-last 30\n  schemactl backup list\n  schemactl backup verify --all\n  schemactl backup prune --keep-days 30"
)]
pub struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    database: DatabaseArg,
    /// Directory of backups [default: from schemactl.toml, else .swarm/backups]
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Compression
    #[arg(long, value_enum, default_value_t = CompressArg::Zstd)]
    compress: CompressArg,
    /// A word in the file name and manifest
    #[arg(long, default_value = "manual", value_name = "L")]
    label: String,
    /// After the backup, keep only the N newest backups (and those --keep-days keeps)
    #[arg(long, value_name = "N")]
    keep_last: Option<usize>,
    /// After the backup, keep only backups from the last D days (and those --keep-last keeps)
    #[arg(long, value_name = "D")]
    keep_days: Option<u64>,
}

/// The `backup` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// List the backups, newest first.
    #[command(after_help = "Example:\n  schemactl backup list --format json")]
    List {
        /// Directory of backups
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Output format
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Check a backup's checksum, decompress it and run integrity_check.
    #[command(
        after_help = "Examples:\n  schemactl backup verify .swarm/backups/memory-20261125T120000Z-manual.db.zst\n  schemactl backup verify --all"
    )]
    Verify {
        /// The backup file
        file: Option<PathBuf>,
        /// Verify every backup
        #[arg(long, conflicts_with = "file")]
        all: bool,
        /// Directory of backups
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Delete backups beyond the retention rules.
    #[command(after_help = "Example:\n  schemactl backup prune --keep-last 10 --keep-days 30")]
    Prune {
        /// Keep the N newest backups
        #[arg(long, value_name = "N")]
        keep_last: Option<usize>,
        /// Keep backups from the last D days
        #[arg(long, value_name = "D")]
        keep_days: Option<u64>,
        /// Directory of backups
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
}

/// Runs `backup` or one of its subcommands.
pub fn run(args: &Args, config: &Config) -> Result<ExitCode> {
    let dir = |out: &Option<PathBuf>| out.clone().unwrap_or_else(|| config.backups.clone());
    match &args.command {
        None => {
            let database = args.database.resolve(config);
            if !database.is_file() {
                return Err(Error::Usage(format!(
                    "database {} does not exist",
                    database.display()
                )));
            }
            let opts = backup::Options {
                database,
                dir: dir(&args.out),
                compress: args.compress.into(),
                label: args.label.clone(),
            };
            let mut progress = Progress::new(&opts.database);
            progress.say(&format!("backing up {} ...", opts.database.display()));
            let taken = backup::backup(&opts);
            drop(progress);
            let taken = taken?;
            println!(
                "backup: {} ({} bytes, database {} bytes, sha256 {})",
                taken.path.display(),
                taken.size,
                taken.database_size,
                taken.sha256
            );
            if args.keep_last.is_some() || args.keep_days.is_some() {
                for removed in catalog::prune(&opts.dir, args.keep_last, args.keep_days)? {
                    println!("pruned {}", removed.display());
                }
            }
        }
        Some(Command::List { out, format }) => {
            let entries = catalog::list(&dir(out))?;
            if *format == Format::Json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&entries).unwrap_or_default()
                );
            } else {
                for e in &entries {
                    println!(
                        "{}  {:>12}  {:<14}  {}",
                        e.created_at,
                        e.size,
                        e.reason,
                        e.file.display()
                    );
                }
                if entries.is_empty() {
                    println!("no backups in {}", dir(out).display());
                }
            }
        }
        Some(Command::Verify { file, all, out }) => {
            let files: Vec<PathBuf> = match (file, all) {
                (Some(f), _) => vec![f.clone()],
                (None, true) => catalog::list(&dir(out))?
                    .into_iter()
                    .map(|e| e.file)
                    .collect(),
                (None, false) => return Err(Error::Usage("give a backup file, or --all".into())),
            };
            let mut failed = 0;
            for f in &files {
                let mut progress = Progress::new(f);
                progress.say(&format!("verifying {} ...", f.display()));
                let verified = catalog::verify(f);
                drop(progress);
                match verified {
                    Ok(()) => println!("ok      {}", f.display()),
                    Err(e) => {
                        failed += 1;
                        println!("FAILED  {e}");
                    }
                }
            }
            if failed > 0 {
                return Err(Error::Usage(format!(
                    "{failed} of {} backup(s) failed verification",
                    files.len()
                )));
            }
        }
        Some(Command::Prune {
            keep_last,
            keep_days,
            out,
        }) => {
            let removed = catalog::prune(&dir(out), *keep_last, *keep_days)?;
            for r in &removed {
                println!("pruned {}", r.display());
            }
            println!("{} backup(s) removed", removed.len());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `--compress`: the CLI's names for [`Compression`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum CompressArg {
    /// zstd, streaming (the default).
    Zstd,
    /// gzip, streaming.
    Gzip,
    /// A plain SQLite file.
    None,
}

impl From<CompressArg> for Compression {
    fn from(c: CompressArg) -> Self {
        match c {
            CompressArg::Zstd => Compression::Zstd,
            CompressArg::Gzip => Compression::Gzip,
            CompressArg::None => Compression::None,
        }
    }
}
