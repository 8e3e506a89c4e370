//! `schemactl explain`: EXPLAIN QUERY PLAN of every query schema/ declares.

use std::process::ExitCode;

use super::output::Format;
use super::{DatabaseArg, SchemaArg};
use crate::config::Config;
use crate::error::{Error, Result};

/// Arguments of `schemactl explain`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Runs EXPLAIN QUERY PLAN on each query under `queries:` in schema/, against the live\ndatabase (or, with --schema-only, an empty database built from schema/), and reports full\nscans and temporary b-trees, with an index that removes the scan when one is found.\n\nExit status: 0 when no query scans a whole table, 2 when one does, 1 on error.\n\nExamples:\n  schemactl explain\n  schemactl explain --schema-only --format json"
)]
pub struct Args {
    #[command(flatten)]
    database: DatabaseArg,
    #[command(flatten)]
    schema: SchemaArg,
    /// Plan against an empty database built from schema/ instead of the live one
    #[arg(long)]
    schema_only: bool,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

/// Explains the declared queries.
pub fn run(args: &Args, config: &Config) -> Result<ExitCode> {
    let desired = crate::dsl::load(&args.schema.resolve(config))?;
    if desired.rules.queries.is_empty() {
        let note = "schema/ declares no queries (add them under `queries:`)";
        match args.format {
            Format::Human => crate::say!("{note}"),
            // Standard output holds only the JSON document in that format: no plans.
            Format::Json => {
                crate::note!("{note}");
                crate::cli::output::out("[]\n");
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let conn = if args.schema_only {
        crate::normal::create_in_memory(&desired.schema)
            .map_err(|e| Error::Usage(format!("{}: {}", e.object, e.message)))?
    } else {
        crate::db::open_read_only(&args.database.resolve(config))?
    };
    let live = if args.schema_only {
        desired.schema.clone()
    } else {
        crate::inspect(&conn)?
    };
    let plans = crate::ops::explain::explain(&conn, &live, &desired.rules.queries)?;
    match args.format {
        Format::Json => crate::cli::output::out(
            &(serde_json::to_string_pretty(&plans).unwrap_or_default() + "\n"),
        ),
        Format::Human => {
            for p in &plans {
                let verdict = match (p.full_scans.is_empty(), p.temp_btrees.is_empty()) {
                    (true, true) => "ok",
                    (true, false) => "sorts without an index",
                    (false, _) => "FULL SCAN",
                };
                crate::say!("{}: {verdict}", p.name);
                for line in &p.plan {
                    crate::say!("    {line}");
                }
                if let Some(s) = &p.suggestion {
                    crate::say!("  suggestion: {s}");
                }
            }
        }
    }
    Ok(if plans.iter().any(|p| !p.full_scans.is_empty()) {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}
