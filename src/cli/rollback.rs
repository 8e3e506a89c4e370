//! `schemactl rollback TARGET`: undo a named migration through the safe pipeline.

use std::process::ExitCode;

use super::DatabaseArg;
use super::apply::{Outcome, preview_and_confirm, print_outcome};
use super::output::{Format, Progress, confirm};
use crate::apply::Options;
use crate::config::Config;
use crate::error::{Error, Result};

/// Arguments of `schemactl rollback`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  schemactl rollback last --yes\n  schemactl rollback V2 --dry-run\n  schemactl rollback --to V1 --allow-destructive --yes\n  schemactl rollback add_pattern_category --cascade --allow-destructive --yes\n  schemactl rollback last --fill patterns.pattern_data='' --yes\n  schemactl rollback V3 --yes --format json"
)]
pub struct Args {
    /// The migration: a version (`V3` or `3`), a name, or `last`
    #[arg(required_unless_present = "to", conflicts_with = "to")]
    target: Option<String>,
    /// Undo every migration applied after VERSION (`V1` or `1`; `0` undoes them all), newest first
    #[arg(long, value_name = "VERSION")]
    to: Option<String>,
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
    /// Allow a rollback that drops data (a table or column its migration added, holding
    /// values): it is stashed, and applying the same migration again brings it back
    #[arg(long)]
    allow_destructive: bool,
    /// Prove the rows row by row on the live run too (the rehearsal always does)
    #[arg(long)]
    verify: bool,
    /// Roll back even when a migration's stash finds none of its rows (their rowids or keys
    /// changed since, e.g. a one-table restore): their stashed values do not come back; or
    /// when an AUTOINCREMENT counter comes back lower because the stash that kept it was dropped
    #[arg(long)]
    lossy: bool,
    /// The value of a NOT NULL column without a default that comes back into rows with no
    /// stashed value (its stash was dropped): `table.column=VALUE`, bound as a parameter;
    /// repeatable
    #[arg(long, value_name = "TABLE.COLUMN=VALUE")]
    fill: Vec<String>,
    /// Output format: human, or one JSON object on standard output (what was rolled back,
    /// versions before and after, the backup, the data it dropped and stashed, row counts)
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

/// Rolls back.
pub fn run(args: &Args, config: &Config) -> Result<ExitCode> {
    let started = std::time::Instant::now();
    let json = args.format == Format::Json;
    let mut opts = Options {
        database: args.database.resolve(config),
        migrations: config.migrations.clone(),
        rollbacks: config.rollbacks.clone(),
        backups: config.backups_for(&args.database.resolve(config)),
        wait: !args.no_wait,
        skip_backup: args.skip_backup,
        skip_rehearsal: args.skip_rehearsal,
        allow_destructive: args.allow_destructive,
        dry_run: false,
        verify: args.verify,
        extra: Vec::new(),
        confirmed: None,
        inspected: None,
        files_read: None,
        planned_on: None,
        existing_only: false,
        under_lock: None,
    };
    let (target, cascade) = match (&args.target, &args.to) {
        (Some(target), _) => (target.clone(), args.cascade),
        (None, Some(to)) => (after(&opts.database, to)?, true),
        (None, None) => return Err(Error::Usage("name a migration, or --to VERSION".into())),
    };
    let lossy = crate::apply::stash_rows::Lossy {
        allowed: args.lossy,
        fills: args
            .fill
            .iter()
            .map(|f| crate::apply::stash_rows::Fill::parse(f))
            .collect::<Result<_>>()?,
    };
    let mut progress = Progress::new(&opts.database);
    let mut say = |m: &str| progress.say(m);
    if args.dry_run || !args.yes {
        let preview = crate::apply::rollback_lossy(
            &Options {
                dry_run: true,
                ..opts.clone()
            },
            &target,
            cascade,
            &lossy,
            &mut say,
        )?;
        if !preview.drops.is_empty() {
            // Standard output holds only the JSON object in that format.
            let show = |text: &str| {
                let line = crate::printable::line(text);
                if json {
                    crate::note!("{line}");
                } else {
                    crate::say!("{line}");
                }
            };
            show(
                "the rollback drops data [destructive]; it is stashed, and applying the same migration(s) again brings it back:",
            );
            for d in &preview.drops {
                show(&format!("  {d}"));
            }
            if !args.allow_destructive && !args.dry_run {
                return Err(Error::RollbackDestructive {
                    drops: preview.drops,
                });
            }
        }
        let heading = format!(
            "to roll back in {}, newest first",
            crate::printable::path(&opts.database)
        );
        if json {
            if args.dry_run {
                let drops = serde_json::json!({ "drops": preview.drops });
                let outcome = Outcome::Previewed(preview);
                return print_outcome(
                    "rollback",
                    &outcome,
                    &opts.database,
                    args.format,
                    started.elapsed(),
                    drops,
                );
            }
            crate::note!("{heading}: {}", preview.migrations.join(", "));
            if !confirm(&format!(
                "roll back {} migration(s)?",
                preview.migrations.len()
            ))? {
                return Err(Error::Usage(
                    "not confirmed; nothing was changed (pass --yes to skip the question)".into(),
                ));
            }
        } else if let Some(done) =
            preview_and_confirm(&preview, &heading, "roll back", args.dry_run)?
        {
            return Ok(done);
        }
        // Exactly what was shown runs, or nothing (checked under the lock).
        opts.confirmed = Some(preview.planned());
    }
    let report = crate::apply::rollback_lossy(&opts, &target, cascade, &lossy, &mut say)?;
    drop(progress);
    if !json {
        super::apply::print_report("rolled back", "in", &report, &opts.database);
        return Ok(ExitCode::SUCCESS);
    }
    let drops = serde_json::json!({ "drops": report.drops });
    print_outcome(
        "rollback",
        &Outcome::Ran(report),
        &opts.database,
        args.format,
        started.elapsed(),
        drops,
    )
}

/// `--to VERSION`: the first migration applied after VERSION (rolled back with the later ones).
fn after(database: &std::path::Path, to: &str) -> Result<String> {
    let version: i32 = to
        .strip_prefix(['V', 'v'])
        .unwrap_or(to)
        .parse()
        .ok()
        .filter(|v| *v >= 0)
        .ok_or_else(|| Error::InvalidArgument {
            what: format!("--to {to}"),
            message: "a version is `V{n}` or `{n}`".into(),
        })?;
    let conn = crate::db::open_read_only(database)?;
    let applied = crate::migrations::history::applied(&conn)?;
    applied
        .iter()
        .map(|a| a.version)
        .filter(|v| *v > version)
        .min()
        .map(|v| format!("V{v}"))
        .ok_or_else(|| {
            Error::Usage(format!(
                "nothing is applied after V{version} in {}: nothing to roll back",
                crate::printable::path(&database)
            ))
        })
}
