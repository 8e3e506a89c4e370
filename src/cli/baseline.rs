//! `schemactl baseline [VERSION]`: adopt a database that exists without a migration history,
//! after proving which version of the migrations it is at ([`crate::ops::baseline`]).

use std::process::ExitCode;
use std::time::Instant;

use super::output::{Format, Progress, confirm, json};
use super::{DatabaseArg, SchemaArg};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::ops::baseline;

/// Arguments of `schemactl baseline`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  schemactl baseline --dry-run\n  schemactl baseline\n  schemactl baseline V2 --yes\n  schemactl baseline --database /srv/app/.swarm/memory.db --format json"
)]
pub struct Args {
    /// The version to record (`V2` or `2`) [default: the one the live schema matches]
    #[arg(value_name = "VERSION")]
    target: Option<String>,
    #[command(flatten)]
    database: DatabaseArg,
    #[command(flatten)]
    schema: SchemaArg,
    /// Show what would be recorded; change nothing
    #[arg(long)]
    dry_run: bool,
    /// Do not ask for confirmation (needed off a terminal to record an explicit VERSION)
    #[arg(long, short = 'y')]
    yes: bool,
    /// Fail at once when another schemactl holds the database's lock, instead of waiting
    #[arg(long)]
    no_wait: bool,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

/// Parses `V2` or `2`.
fn parse_version(text: &str) -> Result<i32> {
    let digits = text.strip_prefix(['V', 'v']).unwrap_or(text);
    digits
        .parse::<i32>()
        .ok()
        .filter(|v| *v > 0)
        .ok_or_else(|| Error::InvalidArgument {
            what: format!("version `{text}`"),
            message: "a version is `V{n}` or `{n}`, n a positive integer".into(),
        })
}

/// Finds the version, shows it, asks when it was named, and records it.
pub fn run(args: &Args, config: &Config) -> Result<ExitCode> {
    let started = Instant::now();
    let schema = args.schema.resolve(config);
    let schema_exclude = crate::dsl::load_if_any(&schema)?
        .map_or_else(crate::exclude::Exclude::default, |d| d.exclude);
    let opts = baseline::Options {
        database: args.database.resolve(config),
        migrations: config.migrations.clone(),
        rollbacks: config.rollbacks.clone(),
        exclude: config.exclude.union(&schema_exclude),
        version: args.target.as_deref().map(parse_version).transpose()?,
        wait: !args.no_wait,
    };
    let preview = baseline::find(&opts)?;
    let human = args.format == Format::Human;
    let stems: Vec<String> = preview
        .record
        .iter()
        .map(crate::migrations::Migration::stem)
        .collect();
    let line = |text: String| {
        if human {
            crate::say!("{text}");
        } else {
            crate::note!("{text}");
        }
    };
    if preview.matched {
        line(format!(
            "{} matches V{}: its schema is exactly what {} build",
            crate::printable::path(&opts.database),
            preview.version,
            stems.join(", ")
        ));
    } else {
        line(format!(
            "{} is not exactly V{}; the difference (expected V{}, then the database):\n{}",
            crate::printable::path(&opts.database),
            preview.version,
            preview.version,
            preview.diff.trim_end()
        ));
    }
    for stem in &preview.data_statements {
        crate::note!(
            "note: {stem} changes rows (INSERT, UPDATE, DELETE or REPLACE); a baseline runs nothing, so check that the database has those changes"
        );
    }
    if args.dry_run {
        line(format!(
            "dry run: would record {} as applied (nothing runs)",
            stems.join(", ")
        ));
        if !human {
            crate::cli::output::out(&json(&serde_json::json!({
                "command": "baseline",
                "database": opts.database.display().to_string(),
                "dry_run": true,
                "matched": preview.matched,
                "version_before": null,
                "version_after": null,
                "would_record": stems,
                "diff": preview.diff,
                "data_statements_not_run": preview.data_statements,
                "duration_ms": u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            }))?);
        }
        return Ok(ExitCode::SUCCESS);
    }
    if opts.version.is_some()
        && !args.yes
        && !confirm(&format!(
            "record {} as applied to {} (nothing runs)?",
            stems.join(", "),
            crate::printable::path(&opts.database)
        ))?
    {
        return Err(Error::Usage(
            "not confirmed; nothing was recorded (pass --yes to skip the question)".into(),
        ));
    }
    let mut progress = Progress::new(&opts.database);
    let report = baseline::record(&opts, &preview, &mut |m| progress.say(m))?;
    drop(progress);
    if human {
        crate::say!(
            "recorded {} as applied to {} (baseline, nothing ran); `schemactl apply` runs the rest",
            report.recorded.join(", "),
            crate::printable::path(&opts.database)
        );
    } else {
        let mut value = serde_json::to_value(&report).map_err(|source| Error::Json {
            context: "render the baseline report",
            source,
        })?;
        if let Some(map) = value.as_object_mut() {
            map.insert("command".into(), "baseline".into());
            map.insert("dry_run".into(), false.into());
            map.insert("diff".into(), preview.diff.clone().into());
            map.insert(
                "duration_ms".into(),
                u64::try_from(started.elapsed().as_millis())
                    .unwrap_or(u64::MAX)
                    .into(),
            );
        }
        crate::cli::output::out(&json(&value)?);
    }
    Ok(ExitCode::SUCCESS)
}
