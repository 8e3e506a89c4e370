//! `schemactl stash list|drop`: the data migrations dropped, kept for their rollback.

use std::process::ExitCode;

use super::DatabaseArg;
use super::output::Format;
use crate::config::Config;
use crate::error::{Error, Result};

/// The `stash` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// List the stashes, with their sizes.
    #[command(
        after_help = "Example:\n  schemactl stash list\n  schemactl stash list --format json"
    )]
    List {
        #[command(flatten)]
        database: DatabaseArg,
        /// Output format
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Free the stash of one migration; its rollback then no longer restores dropped data.
    #[command(after_help = "Example:\n  schemactl stash drop V3 --yes")]
    Drop {
        /// The migration's version (`V3` or `3`)
        #[arg(value_name = "VERSION")]
        migration: String,
        #[command(flatten)]
        database: DatabaseArg,
        /// Do not ask for confirmation (required off a terminal)
        #[arg(long, short = 'y')]
        yes: bool,
    },
}

/// Runs a `stash` subcommand.
pub fn run(cmd: &Command, config: &Config) -> Result<ExitCode> {
    match cmd {
        Command::List { database, format } => {
            let path = database.resolve(config);
            let conn = crate::db::open_read_only(&path)?;
            let stashes = crate::apply::stash::list(&conn)?;
            if *format == Format::Json {
                crate::say!(
                    "{}",
                    serde_json::to_string_pretty(&stashes).unwrap_or_default()
                );
            } else if stashes.is_empty() {
                crate::say!("{}: no stashes", crate::printable::path(&path));
            } else {
                for s in stashes {
                    let note = if s.dropped {
                        format!(" (dropped: {})", s.drop_consequence())
                    } else {
                        String::new()
                    };
                    crate::say!(
                        "V{}: {} row(s), {} bytes in {}{note}",
                        s.version,
                        s.rows,
                        s.bytes,
                        s.tables.join(", ")
                    );
                }
            }
        }
        Command::Drop {
            migration,
            database,
            yes,
        } => {
            let digits = migration.trim_start_matches(['V', 'v']);
            let version: i32 = digits
                .parse()
                .map_err(|_| Error::Usage(format!("`{migration}` is not a version (V3 or 3)")))?;
            let path = database.resolve(config);
            // Only apply, sync and baseline create a database.
            crate::db::must_exist(&path)?;
            if !yes
                && !super::output::confirm(&format!(
                    "drop the stash of V{version}? its rollback will not restore the data it dropped"
                ))?
            {
                return Err(Error::Usage("not confirmed; nothing was changed".into()));
            }
            let conn = crate::apply::open_live(&path)?;
            let counters = crate::apply::stash::kept_counters(&conn, version)?;
            let info = crate::apply::stash::drop(&conn, version)?;
            let consequence = info.drop_consequence();
            let kept: Vec<String> = counters
                .iter()
                .map(|(table, seq, _)| {
                    format!(
                        "the AUTOINCREMENT counter of table {} at {seq}",
                        crate::sql::quote_ident(table)
                    )
                })
                .collect();
            let kept = if kept.is_empty() {
                String::new()
            } else {
                format!("; it kept {}", kept.join(", "))
            };
            crate::say!(
                "dropped the stash of V{version} ({} row(s)){kept}; {consequence}",
                info.rows
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
