//! `schemactl backup [list|verify|prune]`: online, compressed, verified backups, each one
//! database's own.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use super::DatabaseArg;
use super::output::{Format, Progress, confirm};
use crate::backup::Kind;
use crate::config::Config;
use crate::db::identity::Owner;
use crate::error::{Error, Result};
use crate::ops::backup::{self, Compression};
use crate::ops::catalog::{self, Entry};
use crate::ops::retention::{self, Rules};

/// The backups folder flag: `--backups` (the name `restore` uses too), or `--out`.
#[derive(Debug, clap::Args)]
pub struct DirArg {
    /// Directory of backups [default: from schemactl.toml, else .swarm/backups]
    #[arg(long = "backups", visible_alias = "out", value_name = "DIR")]
    pub backups: Option<PathBuf>,
}

impl DirArg {
    fn resolve(&self, config: &Config, database: &std::path::Path) -> PathBuf {
        self.backups
            .clone()
            .unwrap_or_else(|| config.backups_for(database))
    }
}

/// Arguments of `schemactl backup`.
#[derive(Debug, clap::Args)]
#[command(
    args_conflicts_with_subcommands = true,
    after_help = "Several databases may share one backups folder: every backup records the identity of its\ndatabase, and list, verify --all, prune and --keep-last/--keep-days act on that database's\nbackups only.\n\nExamples:\n  schemactl backup\n  schemactl backup --compress gzip --label daily --keep-last 30\n  schemactl backup --format json\n  schemactl backup list\n  schemactl backup list --all\n  schemactl backup verify --all\n  schemactl backup prune --keep-days 30 --dry-run"
)]
pub struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    database: DatabaseArg,
    #[command(flatten)]
    dir: DirArg,
    /// Compression
    #[arg(long, value_enum, default_value_t = CompressArg::Zstd)]
    compress: CompressArg,
    /// A word in the file name and manifest (letters, digits, -, _, .)
    #[arg(long, default_value = "manual", value_name = "L")]
    label: String,
    /// After the backup, keep only this database's N newest backups (and those --keep-days keeps)
    #[arg(long, value_name = "N")]
    keep_last: Option<usize>,
    /// After the backup, keep only this database's backups from the last D days (and those --keep-last keeps)
    #[arg(long, value_name = "D")]
    keep_days: Option<u64>,
    /// Do not ask before pruning (asked only on a terminal)
    #[arg(long, short = 'y')]
    yes: bool,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

/// The `backup` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// List this database's backups, newest first, then its safety copies.
    #[command(
        after_help = "Examples:\n  schemactl backup list --format json\n  schemactl backup list --all"
    )]
    List {
        #[command(flatten)]
        database: DatabaseArg,
        #[command(flatten)]
        dir: DirArg,
        /// Every database's backups, and the files no manifest describes
        #[arg(long)]
        all: bool,
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
        /// Verify every backup and safety copy of this database
        #[arg(long, conflicts_with = "file")]
        all: bool,
        #[command(flatten)]
        database: DatabaseArg,
        #[command(flatten)]
        dir: DirArg,
    },
    /// Delete this database's backups (or safety copies) beyond the retention rules.
    #[command(
        after_help = "The newest backup of the database that passes verification is kept, whatever the rules say,\nunless --including-newest-verified. On a terminal, asks first.\n\nExamples:\n  schemactl backup prune --keep-last 10 --keep-days 30 --dry-run\n  schemactl backup prune --keep-last 7 --label daily --yes\n  schemactl backup prune --safety --keep-days 14 --yes"
    )]
    Prune {
        /// Keep the N newest
        #[arg(long, value_name = "N")]
        keep_last: Option<usize>,
        /// Keep those from the last D days
        #[arg(long, value_name = "D")]
        keep_days: Option<u64>,
        /// Only backups with this label
        #[arg(long, value_name = "L")]
        label: Option<String>,
        /// Prune schemactl's safety copies (pre-apply, pre-rollback, before-restore) instead
        #[arg(long)]
        safety: bool,
        /// Say what would be deleted, delete nothing
        #[arg(long)]
        dry_run: bool,
        /// Do not ask (asked only on a terminal)
        #[arg(long, short = 'y')]
        yes: bool,
        /// Allow deleting the newest backup that passes verification too
        #[arg(long)]
        including_newest_verified: bool,
        #[command(flatten)]
        database: DatabaseArg,
        #[command(flatten)]
        dir: DirArg,
        /// Output format
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
}

/// Asks on a terminal unless `yes`; off a terminal (cron), goes ahead.
fn agreed(yes: bool, question: &str) -> Result<bool> {
    if yes || !std::io::stdin().is_terminal() {
        return Ok(true);
    }
    confirm(question)
}

fn print_json(value: &serde_json::Value) -> Result<()> {
    super::output::out(&super::output::json(value)?);
    Ok(())
}

/// Runs `backup` or one of its subcommands.
pub fn run(args: &Args, config: &Config) -> Result<ExitCode> {
    let started = Instant::now();
    match &args.command {
        None => take(args, config, started),
        Some(Command::List {
            database,
            dir,
            all,
            format,
        }) => list(
            &database.resolve(config),
            &dir.resolve(config, &database.resolve(config)),
            *all,
            *format,
        ),
        Some(Command::Verify {
            file,
            all,
            database,
            dir,
        }) => {
            let files: Vec<PathBuf> = match (file, all) {
                (Some(f), _) => vec![f.clone()],
                (None, true) => {
                    let dir = dir.resolve(config, &database.resolve(config));
                    let owner = catalog::owner(&database.resolve(config), &dir)?;
                    catalog::owned(&dir, &owner, &[Kind::Backup, Kind::Safety])?
                        .into_iter()
                        .map(|e| e.file)
                        .collect()
                }
                (None, false) => return Err(Error::Usage("give a backup file, or --all".into())),
            };
            verify(&files)
        }
        Some(Command::Prune {
            keep_last,
            keep_days,
            label,
            safety,
            dry_run,
            yes,
            including_newest_verified,
            database,
            dir,
            format,
        }) => {
            let database = database.resolve(config);
            let dir = dir.resolve(config, &database);
            let swept = crate::backup::partial::sweep(&dir)?;
            let owner = catalog::owner(&database, &dir)?;
            let rules = Rules {
                keep_last: *keep_last,
                keep_days: *keep_days,
                label: label.clone(),
                kind: if *safety { Kind::Safety } else { Kind::Backup },
                protect: Vec::new(),
                allow_newest_verified: *including_newest_verified,
            };
            let pruned = prune(&dir, &owner, &rules, *dry_run, *yes, *format)?;
            if *format == Format::Json {
                print_json(&serde_json::json!({
                    "command": "backup prune",
                    "database": database.display().to_string(),
                    "dry_run": dry_run,
                    "removed": pruned.removed,
                    "kept_newest_verified": pruned.kept_newest_verified,
                    "swept": swept,
                    "duration_ms": started.elapsed().as_millis() as u64,
                }))?;
            } else {
                for f in &swept {
                    crate::say!(
                        "removed {} (left by an interrupted run)",
                        crate::printable::path(&f)
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `schemactl backup`: take one, then prune when asked.
fn take(args: &Args, config: &Config, started: Instant) -> Result<ExitCode> {
    let database = args.database.resolve(config);
    if !database.is_file() {
        return Err(Error::Usage(format!(
            "database {} does not exist",
            crate::printable::path(&database)
        )));
    }
    let opts = backup::Options {
        dir: args.dir.resolve(config, &database),
        database,
        compress: args.compress.into(),
        label: args.label.clone(),
        count_rows: args.format == Format::Json,
    };
    let mut progress = Progress::new(&opts.database);
    progress.say(&format!(
        "backing up {} ...",
        crate::printable::path(&opts.database)
    ));
    let taken = backup::backup(&opts);
    drop(progress);
    let taken = taken?;
    if args.format == Format::Human {
        for f in &taken.swept {
            crate::say!(
                "removed {} (left by an interrupted run)",
                crate::printable::path(&f)
            );
        }
        crate::say!(
            "backup: {} ({} bytes, database {} bytes, sha256 {})",
            crate::printable::path(&taken.path),
            taken.size,
            taken.database_size,
            taken.sha256
        );
    }
    if !taken.unverified.is_empty() {
        crate::note!("warning: {}", taken.unverified.describe("integrity_check"));
    }
    let mut pruned = retention::Pruned::default();
    if args.keep_last.is_some() || args.keep_days.is_some() {
        let owner = catalog::owner(&opts.database, &opts.dir)?;
        let rules = Rules {
            keep_last: args.keep_last,
            keep_days: args.keep_days,
            label: None,
            kind: Kind::Backup,
            // What was just written is never pruned by its own run.
            protect: vec![taken.path.clone()],
            allow_newest_verified: false,
        };
        pruned = prune(&opts.dir, &owner, &rules, false, args.yes, args.format)?;
    }
    if args.format == Format::Json {
        print_json(&serde_json::json!({
            "command": "backup",
            "database": opts.database.display().to_string(),
            "backup": taken.path,
            "size": taken.size,
            "database_size": taken.database_size,
            "sha256": taken.sha256,
            "unverified": taken.unverified,
            "rows": taken.rows,
            "pruned": pruned.removed,
            "swept": taken.swept,
            "duration_ms": started.elapsed().as_millis() as u64,
        }))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Plans a prune, shows it, asks on a terminal, and removes (unless a dry run).
fn prune(
    dir: &Path,
    owner: &Owner,
    rules: &Rules,
    dry_run: bool,
    yes: bool,
    format: Format,
) -> Result<retention::Pruned> {
    let pruned = retention::plan(dir, owner, rules)?;
    let human = format == Format::Human;
    let verb = if dry_run { "would prune" } else { "pruning" };
    if human || !dry_run {
        for f in &pruned.removed {
            crate::note!("{verb} {}", crate::printable::path(&f));
        }
        if let Some(kept) = &pruned.kept_newest_verified {
            crate::note!(
                "keeping {}: the newest verified {} of {} (pass --including-newest-verified to prune it too)",
                crate::printable::path(&kept),
                if rules.kind == Kind::Safety {
                    "safety copy"
                } else {
                    "backup"
                },
                crate::printable::path(&owner.path)
            );
        }
    }
    if dry_run || pruned.removed.is_empty() {
        if human {
            crate::say!(
                "{} file(s) {}",
                pruned.removed.len(),
                if dry_run {
                    "would be removed (dry run)"
                } else {
                    "removed"
                }
            );
        }
        return Ok(pruned);
    }
    if !agreed(
        yes,
        &format!("delete these {} file(s)?", pruned.removed.len()),
    )? {
        return Err(Error::Usage("not confirmed; nothing was deleted".into()));
    }
    retention::remove(&pruned)?;
    if human {
        for f in &pruned.removed {
            crate::say!("pruned {}", crate::printable::path(&f));
        }
        crate::say!("{} file(s) removed", pruned.removed.len());
    }
    Ok(pruned)
}

/// `backup list`: this database's backups, then its safety copies; with `all`, every
/// database's, then the files no manifest describes.
fn list(database: &Path, dir: &Path, all: bool, format: Format) -> Result<ExitCode> {
    let owner = catalog::owner(database, dir)?;
    let entries: Vec<Entry> = if all {
        catalog::list(dir)?
    } else {
        catalog::owned(dir, &owner, &[Kind::Backup, Kind::Safety])?
    };
    let strays = if all {
        catalog::strays(dir)?
    } else {
        Vec::new()
    };
    if format == Format::Json {
        let rows: Vec<serde_json::Value> = entries
            .iter()
            .map(|e| {
                let mut v = serde_json::to_value(e).unwrap_or_default();
                v["this_database"] = e.belongs_to(&owner).into();
                v
            })
            .collect();
        if all {
            print_json(&serde_json::json!({ "files": rows, "unrecognised": strays }))?;
        } else {
            print_json(&serde_json::Value::Array(rows))?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let line = |e: &Entry| {
        format!(
            "{}  {:>12}  {:<14}  {}",
            e.created_at,
            e.size,
            e.reason,
            crate::printable::path(&e.file)
        )
    };
    let mine = |kind: Kind| -> Vec<&Entry> {
        entries
            .iter()
            .filter(|e| e.kind == kind && e.belongs_to(&owner))
            .collect()
    };
    crate::say!("backups of {}:", crate::printable::path(&owner.path));
    let backups = mine(Kind::Backup);
    for e in &backups {
        crate::say!("  {}", line(e));
    }
    if backups.is_empty() {
        crate::say!("  none in {}", crate::printable::path(&dir));
    }
    let safety = mine(Kind::Safety);
    if !safety.is_empty() {
        crate::say!("safety copies schemactl kept (restore names them, or --include-safety):");
        for e in &safety {
            crate::say!("  {}", line(e));
        }
    }
    if all {
        let others: Vec<&Entry> = entries.iter().filter(|e| !e.belongs_to(&owner)).collect();
        if !others.is_empty() {
            crate::say!("other databases' backups and archives:");
            for e in others {
                let from = if e.canonical_path.is_empty() {
                    &e.database
                } else {
                    &e.canonical_path
                };
                crate::say!("  {}  ({} of {from})", line(e), e.kind.as_str());
            }
        }
        if !strays.is_empty() {
            crate::say!("files no manifest describes (left alone):");
            for f in &strays {
                crate::say!("  {}", crate::printable::path(&f));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `backup verify`: each file's checksum and integrity_check.
fn verify(files: &[PathBuf]) -> Result<ExitCode> {
    let mut failed = 0;
    for f in files {
        let mut progress = Progress::new(f);
        progress.say(&format!("verifying {} ...", crate::printable::path(&f)));
        let verified = catalog::verify(f);
        drop(progress);
        match verified {
            Ok(unverified) => {
                crate::say!("ok      {}", crate::printable::path(&f));
                if !unverified.is_empty() {
                    crate::say!("        {}", unverified.describe("integrity_check"));
                }
            }
            Err(e) => {
                failed += 1;
                crate::say!("FAILED  {e}");
            }
        }
    }
    if failed > 0 {
        return Err(Error::Usage(format!(
            "{failed} of {} backup(s) failed verification",
            files.len()
        )));
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
