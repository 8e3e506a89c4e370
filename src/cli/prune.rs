//! `schemactl prune`: the retention rules of schema/, archive first.

use std::path::PathBuf;
use std::process::ExitCode;

use super::output::Format;
use super::output::{Progress, confirm};
use super::{DatabaseArg, SchemaArg};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::ops::prune;

/// Arguments of `schemactl prune`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Follows each table's `retention:` rule in schema/. Rows (and the rows an ON DELETE CASCADE\nwould take with them) are archived into an SQLite file with the same table shapes, fsynced,\nthen deleted in one transaction. Restore archived rows with\n`schemactl restore ARCHIVE --table T --mode merge`.\n\nExamples:\n  schemactl prune --dry-run\n  schemactl prune --yes\n  schemactl prune --yes --archives /srv/archives --format json"
)]
pub struct Args {
    #[command(flatten)]
    database: DatabaseArg,
    #[command(flatten)]
    schema: SchemaArg,
    /// Report what would be pruned, with the foreign-key cascades, and change nothing
    #[arg(long)]
    dry_run: bool,
    /// Do not ask for confirmation (required off a terminal)
    #[arg(long, short = 'y')]
    yes: bool,
    /// Directory of archives [default: from schemactl.toml, else .swarm/archives]
    #[arg(long, value_name = "DIR")]
    archives: Option<PathBuf>,
    /// Fail at once when another schemactl holds the database's lock, instead of waiting
    #[arg(long)]
    no_wait: bool,
    /// Wait for another schemactl (the default; kept so that scripts may say it)
    #[arg(long, hide = true, conflicts_with = "no_wait")]
    wait: bool,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

/// Prunes.
pub fn run(args: &Args, config: &Config) -> Result<ExitCode> {
    let started = std::time::Instant::now();
    let desired = crate::dsl::load(&args.schema.resolve(config))?;
    let database = args.database.resolve(config);
    if desired.rules.retention.is_empty() {
        let note =
            "schema/ declares no retention rules (add `retention:` to a table); nothing to prune";
        match args.format {
            Format::Human => crate::say!("{note}"),
            // Standard output holds only the JSON object in that format: an empty report.
            Format::Json => {
                crate::note!("{note}");
                let empty = prune::Report {
                    dry_run: args.dry_run,
                    before: Default::default(),
                    after: Default::default(),
                    effects: Vec::new(),
                    removed: Default::default(),
                    archive: None,
                    abandoned: Vec::new(),
                    kept: Vec::new(),
                    refused: None,
                };
                print_json(&empty, &database, started)?;
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let opts = prune::Options {
        database,
        archives: args
            .archives
            .clone()
            .unwrap_or_else(|| config.archives.clone()),
        dry_run: args.dry_run,
        wait: !args.no_wait,
    };
    let mut progress = Progress::new(&opts.database);
    if !args.dry_run && !args.yes {
        let preview = prune::prune(
            &prune::Options {
                dry_run: true,
                ..opts.clone()
            },
            &desired.rules.retention,
            &mut |m| progress.say(m),
        )?;
        // Standard output holds only the JSON object in that format.
        match args.format {
            Format::Human => super::output::say_text(&human(&preview)),
            Format::Json => super::output::note_text(&human(&preview)),
        }
        if let Some(why) = &preview.refused {
            return Err(crate::error::PruneError::Refused {
                reason: why.clone(),
            }
            .into());
        }
        if !confirm(&format!(
            "prune {}?",
            crate::printable::path(&opts.database)
        ))? {
            return Err(Error::Usage("not confirmed; nothing was pruned".into()));
        }
    }
    let report = prune::prune(&opts, &desired.rules.retention, &mut |m| progress.say(m));
    drop(progress);
    let report = report?;
    match args.format {
        Format::Json => print_json(&report, &opts.database, started)?,
        Format::Human => super::output::say_text(&human(&report)),
    }
    // A dry run that the real run would refuse fails as the real run does (exit 1), naming why.
    if let Some(why) = &report.refused {
        crate::note!("error: {why}");
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints `report` as the one JSON object of `--format json`, with `command`, `database`,
/// `version_before`, `version_after` and `duration_ms`.
fn print_json(
    report: &prune::Report,
    database: &std::path::Path,
    started: std::time::Instant,
) -> Result<()> {
    let mut value = serde_json::to_value(report).map_err(|source| Error::Json {
        context: "render the prune report",
        source,
    })?;
    let version = match crate::db::open_read_only(database) {
        Ok(conn) => crate::migrations::history::current_version(&conn)?,
        Err(_) => None,
    };
    if let Some(map) = value.as_object_mut() {
        map.insert("command".into(), "prune".into());
        map.insert("database".into(), database.display().to_string().into());
        // A prune changes rows, never the schema: the version stays.
        map.insert("version_before".into(), version.into());
        map.insert("version_after".into(), version.into());
        map.insert(
            "duration_ms".into(),
            u64::try_from(started.elapsed().as_millis())
                .unwrap_or(u64::MAX)
                .into(),
        );
    }
    super::output::out(&super::output::json(&value)?);
    Ok(())
}

fn human(r: &prune::Report) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for e in &r.effects {
        let via = if e.via == "retention" {
            "its retention rule".to_string()
        } else {
            e.via.clone()
        };
        let kept = if (e.action == "set null" || e.action == "set default") && e.rows > 0 {
            "; their old values go into the archive"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "{:<12} {} row(s) of \"{}\" ({via}){kept}",
            e.action, e.rows, e.table
        );
    }
    if r.dry_run {
        if r.refused.is_some() {
            out.push_str("dry run: the prune would be refused (below); nothing was changed\n");
            return out;
        }
        out.push_str("dry run: nothing was changed\n");
        return out;
    }
    for (table, before) in &r.before {
        let after = r.after.get(table).copied().unwrap_or_default();
        if after != *before {
            let _ = writeln!(out, "{table}: {before} -> {after} rows");
        }
    }
    match &r.archive {
        Some(a) => {
            let _ = writeln!(
                out,
                "archived to {} (restore with: schemactl restore {} --table T --mode merge)",
                crate::printable::path(&a),
                crate::printable::path(&a)
            );
            let mut unlinked: Vec<&str> = r
                .effects
                .iter()
                .filter(|e| (e.action == "set null" || e.action == "set default") && e.rows > 0)
                .map(|e| e.table.as_str())
                .collect();
            unlinked.dedup();
            for t in unlinked {
                let _ = writeln!(
                    out,
                    "the old references of \"{t}\" are in the archive: after the tables they reference, `schemactl restore {} --table {t} --mode merge` puts them back",
                    crate::printable::path(&a)
                );
            }
        }
        None if r.effects.iter().all(|e| e.rows == 0) => out.push_str("nothing to prune\n"),
        None => out.push_str("pruned without an archive (the rules say `archive: false`)\n"),
    }
    out
}
