//! `schemactl apply`: apply pending migrations through the safe pipeline, showing what is
//! pending and asking first; the flags, the preview and the report (human or JSON) are shared
//! with `sync`.

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use super::output::{Format, Progress, confirm, json};
use super::{DatabaseArg, SchemaArg};
use crate::apply::{Options, Report};
use crate::config::Config;
use crate::error::{Error, Result};

/// Flags shared by the commands that change the live database through the pipeline.
#[derive(Debug, Clone, clap::Args)]
pub struct PipelineArgs {
    /// Do not ask for confirmation
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Show what would run; change nothing (no database, no lock file is created)
    #[arg(long)]
    pub dry_run: bool,
    /// Fail at once when another schemactl holds the database's lock, instead of waiting
    #[arg(long)]
    pub no_wait: bool,
    /// Wait for another schemactl (the default; kept so that scripts may say it)
    #[arg(long, hide = true, conflicts_with = "no_wait")]
    pub wait: bool,
    /// Apply migrations that drop a table, column, view or trigger, or narrow a type
    #[arg(long)]
    pub allow_destructive: bool,
    /// Skip the pre-migration backup (prints a warning)
    #[arg(long)]
    pub skip_backup: bool,
    /// Skip the rehearsal on the backup (prints a warning)
    #[arg(long)]
    pub skip_rehearsal: bool,
    /// Output format: human, or one JSON object on standard output
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Prove the rows row by row on the live run too (the rehearsal always does)
    #[arg(long)]
    pub verify: bool,
}

impl PipelineArgs {
    /// Builds the pipeline's options.
    pub fn options(&self, database: std::path::PathBuf, config: &Config) -> Options {
        Options {
            backups: config.backups_for(&database),
            database,
            migrations: config.migrations.clone(),
            rollbacks: config.rollbacks.clone(),
            wait: !self.no_wait,
            skip_backup: self.skip_backup,
            skip_rehearsal: self.skip_rehearsal,
            allow_destructive: self.allow_destructive,
            dry_run: self.dry_run,
            verify: self.verify,
            extra: Vec::new(),
            confirmed: None,
            inspected: None,
            files_read: None,
            planned_on: None,
            existing_only: false,
            under_lock: None,
        }
    }
}

/// Arguments of `schemactl apply`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  schemactl apply --yes\n  schemactl apply --dry-run\n  schemactl apply --database prod.db --no-wait --yes --format json"
)]
pub struct Args {
    #[command(flatten)]
    database: DatabaseArg,
    #[command(flatten)]
    schema: SchemaArg,
    #[command(flatten)]
    pipeline: PipelineArgs,
}

/// Applies the pending migrations: the entry checks, the pipeline, then the report of
/// changes in schema/ that no migration covers.
pub fn run(args: &Args, config: &Config) -> Result<ExitCode> {
    let started = Instant::now();
    let opts = crate::ops::apply::Options {
        pipeline: args.pipeline.options(args.database.resolve(config), config),
        schema: args.schema.resolve(config),
        exclude: config.exclude.clone(),
    };
    // Both read files only, and fail before anything changes.
    crate::ops::apply::check_entry(&opts)?;
    let uncovered = crate::ops::apply::uncovered(&opts)?;
    let outcome = run_pipeline(&opts.pipeline, &args.pipeline)?;
    if let (Some(lines), Format::Human) = (uncovered, args.pipeline.format) {
        crate::note!(
            "note: {} has changes no migration covers ({lines} line(s) of the schema dump differ): write a migration with `schemactl plan --write NAME`",
            crate::printable::path(&opts.schema)
        );
    }
    let extra = serde_json::json!({ "uncovered_schema_changes": uncovered.is_some() });
    print_outcome(
        "apply",
        &outcome,
        &opts.pipeline.database,
        args.pipeline.format,
        started.elapsed(),
        extra,
    )
}

/// What a pipeline run came to.
pub(super) enum Outcome {
    /// Nothing was pending.
    UpToDate(Report),
    /// A dry run: what would run.
    Previewed(Report),
    /// It ran.
    Ran(Report),
}

/// Shows what is pending, asks when interactive, then runs the pipeline.
pub(super) fn run_pipeline(opts: &Options, args: &PipelineArgs) -> Result<Outcome> {
    let run = crate::apply::apply;
    let mut progress = Progress::new(&opts.database);
    let mut say = |m: &str| progress.say(m);
    let mut opts = opts.clone();
    if args.dry_run || !args.yes {
        let preview = run(
            &Options {
                dry_run: true,
                ..opts.clone()
            },
            &mut say,
        )?;
        if preview.migrations.is_empty() {
            return Ok(Outcome::UpToDate(preview));
        }
        if args.dry_run {
            return Ok(Outcome::Previewed(preview));
        }
        let heading = crate::printable::line(&format!(
            "pending for {}: {}",
            crate::printable::path(&opts.database),
            preview.migrations.join(", ")
        ))
        .into_owned();
        // Standard output holds only the JSON object in that format.
        match args.format {
            Format::Human => crate::say!("{heading}"),
            Format::Json => crate::note!("{heading}"),
        }
        if !confirm(&format!("apply {} migration(s)?", preview.migrations.len()))? {
            return Err(Error::Usage(
                "not confirmed; nothing was changed (pass --yes to skip the question)".into(),
            ));
        }
        // Exactly what was shown runs, or nothing (checked under the lock).
        opts.confirmed = Some(preview.planned());
    }
    let report = run(&opts, &mut say)?;
    drop(progress);
    if report.migrations.is_empty() {
        return Ok(Outcome::UpToDate(report));
    }
    Ok(Outcome::Ran(report))
}

/// Prints an outcome, for people or as one JSON object (`command`, `database`, `dry_run`,
/// `ran`, `pending`, `version_before`, `version_after`, `backup`, `row_counts`, `checks`,
/// `duration_ms`, and the fields of `extra`).
pub(super) fn print_outcome(
    command: &str,
    outcome: &Outcome,
    database: &Path,
    format: Format,
    duration: Duration,
    extra: serde_json::Value,
) -> Result<ExitCode> {
    let (report, ran, dry_run) = match outcome {
        Outcome::UpToDate(r) => (r, false, false),
        Outcome::Previewed(r) => (r, false, true),
        Outcome::Ran(r) => (r, true, false),
    };
    if format == Format::Json {
        let row_counts = if database.exists() {
            let conn = crate::db::open_read_only(database)?;
            serde_json::to_value(crate::db::row_counts(&conn, crate::db::Tables::User)?)
                .unwrap_or_default()
        } else {
            serde_json::Value::Null
        };
        let mut value = serde_json::json!({
            "command": command,
            "database": database.display().to_string(),
            "dry_run": dry_run,
            "ran": if ran { report.migrations.clone() } else { Vec::new() },
            "pending": if ran { Vec::new() } else { report.migrations.clone() },
            "version_before": report.version_before,
            "version_after": if ran { report.version_after } else { report.version_before },
            "backup": report.backup.as_ref().map(|b| b.display().to_string()),
            "row_counts": row_counts,
            "checks": report.rehearsal.iter().map(|c| format!("rehearsal {c}"))
                .chain(report.checks.iter().map(|c| format!("live {c}"))).collect::<Vec<_>>(),
            "duration_ms": u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
        });
        if let (Some(map), serde_json::Value::Object(more)) = (value.as_object_mut(), extra) {
            map.extend(more);
        }
        crate::cli::output::out(&json(&value)?);
        return Ok(ExitCode::SUCCESS);
    }
    match outcome {
        Outcome::UpToDate(r) => crate::say!(
            "{} is up to date{}",
            crate::printable::line(&database.display().to_string()),
            r.version_before
                .map_or(String::new(), |v| format!(" at V{v}"))
        ),
        Outcome::Previewed(r) => {
            crate::say!(
                "{}",
                crate::printable::line(&format!(
                    "pending for {}: {}",
                    crate::printable::path(&database),
                    r.migrations.join(", ")
                ))
            );
            for sql in &r.sql {
                crate::say!("\n{}", sql.trim_end());
            }
        }
        Outcome::Ran(r) => print_report("applied", "to", r, database),
    }
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
    crate::say!(
        "{}",
        crate::printable::line(&format!("{heading}: {}", preview.migrations.join(", ")))
    );
    if dry_run {
        for sql in &preview.sql {
            crate::say!("\n{}", sql.trim_end());
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
pub(super) fn print_report(done: &str, preposition: &str, report: &Report, database: &Path) {
    for line in report
        .rehearsal
        .iter()
        .map(|c| format!("rehearsal {c}"))
        .chain(report.checks.iter().map(|c| format!("live {c}")))
    {
        crate::note!("  {}", crate::printable::line(&line));
    }
    let backup = report.backup.as_ref().map_or(String::new(), |b| {
        format!(" (backup: {})", crate::printable::path(&b))
    });
    crate::say!(
        "{}",
        crate::printable::line(&format!(
            "{done} {} {preposition} {}{backup}",
            report.migrations.join(", "),
            crate::printable::path(&database)
        ))
    );
}
