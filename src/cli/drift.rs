//! `schemactl drift`: exit 0 when the database, its migrations and schema/ agree, 2 when not
//! ([`crate::drift`] compares them, through the migration catalogue).

use std::process::ExitCode;

use serde_json::json;

use super::output::Format;
use super::{DatabaseArg, SchemaArg};
use crate::config::Config;
use crate::error::Result;

/// Arguments of `schemactl drift`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  schemactl drift\n  schemactl drift --database prod.db --format json"
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

/// Reports drift.
pub fn run(args: &Args, config: &Config) -> Result<ExitCode> {
    let database = args.database.resolve(config);
    let conn = crate::db::open_read_only(&database)?;
    let catalogue =
        crate::migrations::Catalogue::read(&config.migrations, &config.rollbacks, Some(&conn))?;
    let desired = crate::dsl::load(&args.schema.resolve(config))?;
    let exclude = config.exclude.union(&desired.exclude);
    let findings = crate::drift::drift(conn, &catalogue, &desired.schema, &exclude)?;
    match args.format {
        Format::Json => {
            let v = json!({ "database": database.display().to_string(), "drift": !findings.is_empty(), "findings": findings });
            crate::cli::output::out(&(serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"));
        }
        Format::Human => {
            let color = super::output::color();
            if findings.is_empty() {
                crate::say!("{}: no drift", crate::printable::path(&database));
            }
            for f in &findings {
                crate::say!("drift: {}", crate::printable::line(&f.message));
                for line in f.diff.lines() {
                    let line = crate::printable::line(line);
                    let code = match line.chars().next() {
                        Some('+') if !line.starts_with("+++") => "32",
                        Some('-') if !line.starts_with("---") => "31",
                        Some('@') => "36",
                        _ => "",
                    };
                    if color && !code.is_empty() {
                        // The line is escaped above; the colour is ours.
                        super::output::out(&format!("  \x1b[{code}m{line}\x1b[0m\n"));
                    } else {
                        crate::say!("  {line}");
                    }
                }
            }
        }
    }
    Ok(if findings.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}
