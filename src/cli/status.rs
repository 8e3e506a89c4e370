//! `schemactl status`: applied, pending, divergent and missing migrations, the current
//! version, and whether the live schema matches schema/.

use std::process::ExitCode;

use serde_json::json;

use super::{DatabaseArg, SchemaArg};
use crate::apply::history;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::migrations;

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

/// Output formats of `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// For people.
    Human,
    /// Stable JSON.
    Json,
}

/// Prints the status.
pub fn run(args: &Args, config: &Config) -> Result<ExitCode> {
    let database = args.database.resolve(config);
    let files = migrations::load(&config.migrations, &config.rollbacks)?;
    let (applied, recorded, live) = if database.exists() {
        let conn = crate::db::open_read_only(&database)?;
        (
            history::applied(&conn)?,
            history::recorded(&conn)?,
            Some(crate::inspect(&conn)?),
        )
    } else {
        (Vec::new(), Vec::new(), None)
    };
    let list = crate::apply::migration_list(&files, &recorded, &[])?;
    let mut divergent = Vec::new();
    let mut missing = Vec::new();
    for a in &applied {
        match list.iter().find(|s| s.version == a.version) {
            None => missing.push(format!("V{}__{}", a.version, a.name)),
            Some(s) => {
                let checksum = refinery_core::Migration::unapplied(
                    &format!("V{}__{}", s.version, s.name),
                    &s.forward,
                )
                .map(|m| m.checksum().to_string())
                .map_err(|e| Error::Usage(e.to_string()))?;
                if checksum != a.checksum || s.name != a.name {
                    divergent.push(s.origin.clone());
                }
            }
        }
    }
    let pending: Vec<String> = list
        .iter()
        .filter(|s| !applied.iter().any(|a| a.version == s.version))
        .map(|s| format!("V{}__{}", s.version, s.name))
        .collect();
    let current = applied.iter().map(|a| a.version).max();
    let schema_path = args.schema.resolve(config);
    let matches = match (&live, crate::dsl::load(&schema_path)) {
        (Some(live), Ok(desired)) => Some(*live == desired.schema),
        (None, Ok(desired)) => Some(desired.schema.tables.is_empty()),
        (_, Err(_)) => None,
    };
    let applied_list: Vec<_> = applied
        .iter()
        .map(|a| json!({ "version": a.version, "name": a.name, "applied_on": a.applied_on }))
        .collect();
    match args.format {
        Format::Json => {
            let v = json!({
                "database": database.display().to_string(),
                "exists": live.is_some(),
                "current_version": current,
                "applied": applied_list,
                "pending": pending,
                "divergent": divergent,
                "missing": missing,
                "schema": schema_path.display().to_string(),
                "schema_matches": matches,
            });
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        }
        Format::Human => {
            let db = database.display();
            match current {
                Some(v) => println!("{db}: version {v}"),
                None if live.is_some() => println!("{db}: no migrations applied"),
                None => println!("{db}: does not exist yet"),
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
            println!("  applied:   {}", names(&applied_names));
            println!("  pending:   {}", names(&pending));
            println!("  divergent: {}", names(&divergent));
            println!("  missing:   {}", names(&missing));
            let m = match matches {
                Some(true) => "matches the live schema".to_string(),
                Some(false) => "differs from the live schema (see `schemactl plan`)".to_string(),
                None => "cannot be loaded (see `schemactl schema check`)".to_string(),
            };
            println!("  {}: {m}", schema_path.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
