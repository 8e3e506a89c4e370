//! `schemactl apply`: apply pending migrations through the safe pipeline, showing what is
//! pending and asking first; the flags and the preview are shared with `sync` and `rollback`.

use std::process::ExitCode;

use super::DatabaseArg;
use super::output::{Progress, confirm};
use crate::apply::{Options, Report};
use crate::config::Config;
use crate::error::{Error, Result};

/// Flags shared by the commands that change the live database through the pipeline.
#[derive(Debug, Clone, clap::Args)]
pub struct PipelineArgs {
    /// Do not ask for confirmation
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Show what would run; change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Fail at once when another schemactl holds the database's lock, instead of waiting
    #[arg(long)]
    pub no_wait: bool,
    /// Apply migrations that drop a table, column, view or trigger, or narrow a type
    #[arg(long)]
    pub allow_destructive: bool,
    /// Skip the pre-migration backup (prints a warning)
    #[arg(long)]
    pub skip_backup: bool,
    /// Skip the rehearsal on the backup (prints a warning)
    #[arg(long)]
    pub skip_rehearsal: bool,
}

impl PipelineArgs {
    /// Builds the pipeline's options.
    pub fn options(&self, database: std::path::PathBuf, config: &Config) -> Options {
        Options {
            database,
            migrations: config.migrations.clone(),
            rollbacks: config.rollbacks.clone(),
            backups: config.backups.clone(),
            wait: !self.no_wait,
            skip_backup: self.skip_backup,
            skip_rehearsal: self.skip_rehearsal,
            allow_destructive: self.allow_destructive,
            dry_run: self.dry_run,
            extra: Vec::new(),
        }
    }
}

/// Arguments of `schemactl apply`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  schemactl apply --yes\n  schemactl apply --dry-run\n  schemactl apply --database prod.db --no-wait --yes"
)]
pub struct Args {
    #[command(flatten)]
    database: DatabaseArg,
    #[command(flatten)]
    pipeline: PipelineArgs,
}

/// Applies the pending migrations.
pub fn run(args: &Args, config: &Config) -> Result<ExitCode> {
    let opts = args.pipeline.options(args.database.resolve(config), config);
    run_pipeline(opts, &args.pipeline)
}

/// Shows what is pending, asks when interactive, then runs the pipeline.
pub fn run_pipeline(opts: Options, args: &PipelineArgs) -> Result<ExitCode> {
    let mut progress = Progress::new(&opts.database);
    let mut say = |m: &str| progress.say(m);
    if args.dry_run || !args.yes {
        let preview = crate::apply::apply(
            &Options {
                dry_run: true,
                ..opts.clone()
            },
            &mut say,
        )?;
        if preview.migrations.is_empty() {
            println!(
                "{} is up to date{}",
                opts.database.display(),
                version(&preview)
            );
            return Ok(ExitCode::SUCCESS);
        }
        let heading = format!("pending for {}", opts.database.display());
        if let Some(done) = preview_and_confirm(&preview, &heading, "apply", args.dry_run)? {
            return Ok(done);
        }
    }
    let report = crate::apply::apply(&opts, &mut say)?;
    drop(progress);
    if report.migrations.is_empty() {
        println!(
            "{} is up to date{}",
            opts.database.display(),
            version(&report)
        );
        return Ok(ExitCode::SUCCESS);
    }
    print_report("applied", "to", &report, &opts.database);
    Ok(ExitCode::SUCCESS)
}

/// Shows what a pipeline run would do; with `dry_run` prints its SQL and returns the exit code,
/// otherwise asks to `verb` it and returns None when confirmed.
pub(super) fn preview_and_confirm(
    preview: &Report,
    heading: &str,
    verb: &str,
    dry_run: bool,
) -> Result<Option<ExitCode>> {
    println!("{heading}: {}", preview.migrations.join(", "));
    if dry_run {
        for sql in &preview.sql {
            println!("\n{}", sql.trim_end());
        }
        return Ok(Some(ExitCode::SUCCESS));
    }
    if !confirm(&format!(
        "{verb} {} migration(s)?",
        preview.migrations.len()
    ))? {
        return Err(Error::Usage(
            "not confirmed; nothing was changed (pass --yes to skip the question)".into(),
        ));
    }
    Ok(None)
}

/// Prints what the checks found (to stderr) and what was done, with the backup (to stdout).
pub(super) fn print_report(
    done: &str,
    preposition: &str,
    report: &Report,
    database: &std::path::Path,
) {
    for line in report
        .rehearsal
        .iter()
        .map(|c| format!("rehearsal {c}"))
        .chain(report.checks.iter().map(|c| format!("live {c}")))
    {
        eprintln!("  {line}");
    }
    let backup = report
        .backup
        .as_ref()
        .map_or(String::new(), |b| format!(" (backup: {})", b.display()));
    println!(
        "{done} {} {preposition} {}{backup}",
        report.migrations.join(", "),
        database.display()
    );
}

fn version(report: &Report) -> String {
    report
        .version_before
        .map_or(String::new(), |v| format!(" at V{v}"))
}
