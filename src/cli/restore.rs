//! `schemactl restore`: the whole database, or one table, from a verified backup of it; shows
//! what it will put in place before asking.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use super::DatabaseArg;
use super::output::{Format, Progress, confirm};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::ops::restore::{self, Source, TableMode};

/// Arguments of `schemactl restore`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "--latest, --at and --latest-valid choose among this database's own backups (never another\ndatabase's from the same folder, never a safety copy unless --include-safety). A backup of\nanother database is restored only when named, with --from-other-database (or on a terminal,\nafter a warning). A live file that cannot be read is moved aside intact, then restored over.\n\nExamples:\n  schemactl restore --latest --yes\n  schemactl restore --latest --table patterns --mode merge --yes\n  schemactl restore --at 2026-11-25T14:30:00Z --yes\n  schemactl restore --latest-valid --yes\n  schemactl restore .swarm/backups/memory-20261125T020000Z-daily.db.zst --yes\n  schemactl restore /srv/old/backup.db.gz --without-checksum --yes"
)]
pub struct Args {
    /// The backup file
    #[arg(conflicts_with_all = ["latest", "at"])]
    file: Option<PathBuf>,
    /// This database's newest backup
    #[arg(long)]
    latest: bool,
    /// This database's newest backup taken at or before TIME (RFC 3339, e.g. 2026-11-25T14:30:00Z)
    #[arg(long, value_name = "TIME")]
    at: Option<String>,
    /// Walk back past backups that fail verification (disaster recovery)
    #[arg(long)]
    latest_valid: bool,
    /// Let --latest, --at and --latest-valid choose schemactl's safety copies too
    #[arg(long)]
    include_safety: bool,
    /// Restore a named backup that was taken from another database
    #[arg(long)]
    from_other_database: bool,
    /// Accept a backup with neither sha256 sidecar nor manifest, on integrity_check alone
    #[arg(long)]
    without_checksum: bool,
    #[command(flatten)]
    database: DatabaseArg,
    /// Directory of backups [default: from schemactl.toml, else .swarm/backups]
    #[arg(long, visible_alias = "out", value_name = "DIR")]
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
    /// With --table: replace its rows, or merge in the rows missing by primary key (or rowid)
    #[arg(long, value_enum, default_value_t = ModeArg::Replace, requires = "table")]
    mode: ModeArg,
    /// With --mode merge from a prune archive: when some of its keys are held by other live rows,
    /// restore the other rows (those stay only in the archive, and are listed) instead of refusing
    #[arg(long, requires = "table")]
    skip_taken: bool,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

/// Restores.
pub fn run(args: &Args, config: &Config) -> Result<ExitCode> {
    let started = Instant::now();
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
    let database = args.database.resolve(config);
    let mut opts = restore::Options {
        dir: args
            .backups
            .clone()
            .unwrap_or_else(|| config.backups_for(&database)),
        database,
        source,
        latest_valid: args.latest_valid,
        wait: args.wait,
        include_safety: args.include_safety,
        from_other_database: args.from_other_database,
        without_checksum: args.without_checksum,
    };
    let mut progress = Progress::new(&opts.database);
    let prepared = restore::prepare(&opts, &mut |m| progress.say(m));
    drop(progress);
    let prepared = prepared?;
    if args.table.is_none() {
        prepared.refuse_whole()?;
    }
    // What will be put in place, before anything is asked or done.
    crate::cli::output::note_text(&restore::render(&prepared.preview, &opts.database));
    if !prepared.preview.this_database && !opts.from_other_database {
        if prepared.preview.kind.is_none() {
            crate::note!(
                "warning: {} has no manifest: nothing shows it is a backup of {}",
                crate::printable::path(&prepared.preview.file),
                crate::printable::path(&opts.database)
            );
        } else {
            crate::note!(
                "warning: {} is a backup of another database ({}), not of {}",
                crate::printable::path(&prepared.preview.file),
                prepared.preview.source_database,
                crate::printable::path(&opts.database)
            );
        }
        if std::io::stdin().is_terminal() && !args.yes {
            opts.from_other_database = confirm("restore another database's backup over it?")?;
        }
    }
    if !args.yes
        && !confirm(&format!(
            "{} the contents of {}?",
            if args.table.is_some() {
                "restore a table in"
            } else {
                "replace"
            },
            crate::printable::path(&opts.database)
        ))?
    {
        return Err(Error::Usage("not confirmed; nothing was restored".into()));
    }
    let preview = prepared.preview.clone();
    let mut progress = Progress::new(&opts.database);
    if let Some(table) = &args.table {
        let r = restore::restore_table(
            &opts,
            prepared,
            table,
            args.mode.into(),
            args.skip_taken,
            &mut |m| progress.say(m),
        );
        drop(progress);
        let r = r?;
        if args.format == Format::Json {
            super::output::out(&super::output::json(&serde_json::json!({
                "command": "restore",
                "database": opts.database.display().to_string(),
                "table": table,
                "mode": TableMode::from(args.mode),
                "preview": preview,
                "result": r,
                "duration_ms": started.elapsed().as_millis() as u64,
            }))?);
            return Ok(ExitCode::SUCCESS);
        }
        for (live, from) in &r.renamed_columns {
            crate::note!(
                "note: \"{table}\".\"{live}\" restored from the backup's \"{from}\" (renamed since)"
            );
        }
        if !r.unmapped_columns.is_empty() {
            crate::note!(
                "note: the live \"{table}\" no longer has {}: those values were not restored",
                r.unmapped_columns.join(", ")
            );
        }
        if !r.unfilled_columns.is_empty() {
            crate::note!(
                "note: the backup has no value for {}: the restored rows take the default",
                r.unfilled_columns.join(", ")
            );
        }
        if r.triggers_suspended > 0 {
            crate::note!(
                "note: {} trigger(s) of \"{table}\" were suspended during the restore and are back",
                r.triggers_suspended
            );
        }
        if !r.indexes_rebuilt.is_empty() {
            crate::note!(
                "note: full-text index(es) {} over \"{table}\" rebuilt, so that the restored rows are found",
                r.indexes_rebuilt
                    .iter()
                    .map(|i| format!("\"{i}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        if r.present > 0 {
            crate::note!(
                "note: {} row(s) of the backup not inserted: \"{table}\" holds the same row already",
                r.present
            );
        }
        if r.taken > 0 {
            let keys = format!(
                "{}{}",
                r.taken_keys.join("; "),
                if r.taken > r.taken_keys.len() {
                    format!(" and {} more", r.taken - r.taken_keys.len())
                } else {
                    String::new()
                }
            );
            if r.archived {
                crate::note!(
                    "warning: {} row(s) of the archive NOT restored (--skip-taken): a different live row holds their key ({keys}); they are only in {}",
                    r.taken,
                    crate::printable::path(&r.from)
                );
            } else {
                crate::note!(
                    "note: {} row(s) of the backup not inserted: the table holds a different row under their key ({keys}), changed since the backup; the live rows are kept",
                    r.taken
                );
            }
        }
        if r.relinked + r.not_relinked > 0 {
            crate::note!(
                "{} reference(s) of \"{table}\" that the prune set to NULL or their default put back{}",
                r.relinked,
                if r.not_relinked > 0 {
                    format!(
                        "; {} not: the row is gone, its reference changed since, or the row it referenced is not back (restore that table first, then this one again)",
                        r.not_relinked
                    )
                } else {
                    String::new()
                }
            );
        }
        crate::say!(
            "restored table \"{table}\" in {} from {}: {} row(s) deleted, {} inserted{} (the previous contents are in {})",
            crate::printable::path(&opts.database),
            crate::printable::path(&r.from),
            r.deleted,
            r.inserted,
            if r.renumbered > 0 {
                format!(
                    ", {} of them under a new rowid (theirs was taken)",
                    r.renumbered
                )
            } else {
                String::new()
            },
            crate::printable::path(&r.before)
        );
        return Ok(ExitCode::SUCCESS);
    }
    let restored = restore::restore(&opts, prepared, &mut |m| progress.say(m));
    drop(progress);
    let restored = restored?;
    if args.format == Format::Json {
        super::output::out(&super::output::json(&serde_json::json!({
            "command": "restore",
            "database": opts.database.display().to_string(),
            "preview": preview,
            "result": restored,
            "duration_ms": started.elapsed().as_millis() as u64,
        }))?);
        return Ok(ExitCode::SUCCESS);
    }
    crate::say!(
        "restored {} from {} ({})",
        crate::printable::path(&opts.database),
        crate::printable::path(&restored.from),
        match (&restored.before, restored.moved_aside.first()) {
            (Some(before), _) => format!(
                "the previous contents are in {}",
                crate::printable::path(&before)
            ),
            (None, Some(aside)) => format!(
                "the unreadable file was moved aside to {}",
                crate::printable::path(&aside)
            ),
            (None, None) => "there was no database before".to_string(),
        }
    );
    Ok(ExitCode::SUCCESS)
}

/// `--mode`: the CLI's names for [`TableMode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ModeArg {
    /// Delete the table's rows, then insert the backup's (with their rowids).
    Replace,
    /// Insert only the backup's rows that are missing (by primary key, or by content).
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
