//! `schemactl check`: health and declared rules; exit 0 healthy, 2 findings, 1 error.

use std::process::ExitCode;

use super::output::Format;
use super::{DatabaseArg, SchemaArg};
use crate::config::Config;
use crate::error::Result;

/// Arguments of `schemactl check`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Checks: integrity_check (quick_check with --quick), foreign_key_check, orphan rows of the\nrelationships schema/ declares, expired rows (tables with `expires:`), index health, the\ntables' `invariants:`, and that every declared query uses an index.\n\nExit status: 0 healthy, 2 findings, 1 error.\n\nExamples:\n  schemactl check\n  schemactl check --quick --format json | jq '.findings[] | .class'"
)]
pub struct Args {
    #[command(flatten)]
    database: DatabaseArg,
    #[command(flatten)]
    schema: SchemaArg,
    /// Run quick_check instead of the full integrity_check
    #[arg(long)]
    quick: bool,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

/// Checks the database.
pub fn run(args: &Args, config: &Config) -> Result<ExitCode> {
    let database = args.database.resolve(config);
    let mut desired = crate::dsl::load(&args.schema.resolve(config))?;
    desired.exclude = config.exclude.union(&desired.exclude);
    let conn = crate::db::open_read_only(&database)?;
    let report = crate::ops::check::check(&conn, &desired, args.quick)?;
    match args.format {
        Format::Json => {
            let v = serde_json::json!({
                "database": database.display().to_string(),
                "healthy": report.findings.is_empty(),
                "checked": report.checked,
                "findings": report.findings,
            });
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        }
        Format::Human => {
            for f in &report.findings {
                println!("{:<12} {}", f.class, f.message);
                if !f.samples.is_empty() {
                    println!("{:<12}   e.g. {}", "", f.samples.join("; "));
                }
            }
            println!(
                "{}: {} ({})",
                database.display(),
                if report.findings.is_empty() {
                    "healthy".to_string()
                } else {
                    format!("{} finding(s)", report.findings.len())
                },
                report.checked.join(", ")
            );
        }
    }
    Ok(if report.findings.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}
