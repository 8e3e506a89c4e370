//! `schemactl status`: applied, pending, divergent and missing migrations, the current
//! version, and whether the live schema matches schema/ ([`crate::ops::status`] reads them).

use std::process::ExitCode;

use serde_json::json;

use super::output::Format;
use super::{DatabaseArg, SchemaArg};
use crate::config::Config;
use crate::error::Result;
use crate::ops::status::Status;

/// Arguments of `schemactl status`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  schemactl status\n  schemactl status --format json | jq .pending"
)]
pub struct Args {
    #[command(flatten)]
    database: DatabaseArg,
    #[command(flatten)]
    schema: SchemaArg,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

/// Prints the status.
pub fn run(args: &Args, config: &Config) -> Result<ExitCode> {
    let database = args.database.resolve(config);
    let schema_path = args.schema.resolve(config);
    let status = crate::ops::status::status(&crate::ops::status::Options {
        database: database.clone(),
        migrations: config.migrations.clone(),
        rollbacks: config.rollbacks.clone(),
        exclude: config.exclude.clone(),
        schema: schema_path.clone(),
    })?;
    let Status {
        exists,
        current_version: current,
        applied,
        pending,
        divergent,
        missing,
        schema_matches: matches,
    } = status;
    let applied_list: Vec<_> = applied
        .iter()
        .map(|a| json!({ "version": a.version, "name": a.name, "applied_on": a.applied_on }))
        .collect();
    match args.format {
        Format::Json => {
            let v = json!({
                "database": database.display().to_string(),
                "exists": exists,
                "current_version": current,
                "applied": applied_list,
                "pending": pending,
                "divergent": divergent,
                "missing": missing,
                "schema": schema_path.display().to_string(),
                "schema_matches": matches,
            });
            crate::cli::output::out(&(serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"));
        }
        Format::Human => {
            let db = crate::printable::path(&database);
            match current {
                Some(v) => crate::say!("{db}: version {v}"),
                None if exists => crate::say!("{db}: no migrations applied"),
                None => crate::say!("{db}: does not exist yet"),
            }
            let names = |items: &[String]| {
                if items.is_empty() {
                    "none".to_string()
                } else {
                    items.join(", ")
                }
            };
            let applied_names: Vec<String> = applied
                .iter()
                .map(|a| format!("V{}__{} ({})", a.version, a.name, a.applied_on))
                .collect();
            crate::say!("  applied:   {}", names(&applied_names));
            crate::say!("  pending:   {}", names(&pending));
            crate::say!("  divergent: {}", names(&divergent));
            crate::say!("  missing:   {}", names(&missing));
            let m = match matches {
                Some(true) => "matches the live schema".to_string(),
                Some(false) => "differs from the live schema (see `schemactl plan`)".to_string(),
                None => "cannot be loaded (see `schemactl schema check`)".to_string(),
            };
            crate::say!("  {}: {m}", crate::printable::path(&schema_path));
        }
    }
    Ok(ExitCode::SUCCESS)
}
