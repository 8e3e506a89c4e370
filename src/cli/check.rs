//! `schemactl check`: health and declared rules; exit 0 healthy, 2 error findings (or warnings
//! too, with `--fail-on warning`), 1 error.

use std::process::ExitCode;

use super::output::Format;
use super::{DatabaseArg, SchemaArg};
use crate::config::Config;
use crate::error::Result;
use crate::ops::check::Severity;

/// The least severe finding that makes `check` exit 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    /// Errors only (the default): a daily cron job alerts on what needs action.
    Error,
    /// Errors and warnings.
    Warning,
}

/// Arguments of `schemactl check`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Checks: integrity_check (quick_check with --quick), foreign_key_check, orphan rows of the\nrelationships schema/ declares, expired rows (tables with `expires:`), index health, the\ntables' `invariants:`, and that every declared query uses an index.\n\nEach finding is an error (integrity, foreign keys, orphans, invariants, a missing or changed\nindex, a query no index serves) or a warning (expired rows, a query sorting in a temporary\nb-tree).\n\nExit status: 0 no error findings, 2 error findings (or any finding, with --fail-on warning),\n1 error.\n\nExamples:\n  schemactl check\n  schemactl check --fail-on warning\n  schemactl check --quick --format json | jq '.findings[] | {class, severity}'"
)]
pub struct Args {
    #[command(flatten)]
    database: DatabaseArg,
    #[command(flatten)]
    schema: SchemaArg,
    /// Run quick_check instead of the full integrity_check
    #[arg(long)]
    quick: bool,
    /// The least severe finding that exits 2
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    fail_on: FailOn,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

/// Checks the database.
pub fn run(args: &Args, config: &Config) -> Result<ExitCode> {
    let database = args.database.resolve(config);
    let schema = args.schema.resolve(config);
    // Without schema files (a versioned-only project) the database's own checks run alone.
    let mut desired = match crate::dsl::load_if_any(&schema)? {
        Some(d) => d,
        None => {
            crate::note!(
                "note: no schema files in {}: only the checks of the database itself run (integrity, foreign keys)",
                crate::printable::path(&schema)
            );
            crate::dsl::Desired::empty()
        }
    };
    desired.exclude = config.exclude.union(&desired.exclude);
    let conn = crate::db::open_read_only(&database)?;
    let report = crate::ops::check::check(&conn, &desired, args.quick)?;
    let threshold = match args.fail_on {
        FailOn::Error => Severity::Error,
        FailOn::Warning => Severity::Warning,
    };
    let (errors, warnings) = (
        report.count(Severity::Error),
        report.count(Severity::Warning),
    );
    match args.format {
        Format::Json => {
            let v = serde_json::json!({
                "database": database.display().to_string(),
                "healthy": errors == 0,
                "errors": errors,
                "warnings": warnings,
                "checked": report.checked,
                "findings": report.findings,
            });
            crate::cli::output::out(&(serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"));
        }
        Format::Human => {
            for f in &report.findings {
                let line = crate::printable::line;
                crate::say!(
                    "{:<8} {:<12} {}",
                    f.severity.as_str(),
                    f.class,
                    line(&f.message)
                );
                if !f.samples.is_empty() {
                    crate::say!("{:<21}   e.g. {}", "", line(&f.samples.join("; ")));
                }
            }
            crate::say!(
                "{}: {} ({})",
                crate::printable::path(&database),
                match (errors, warnings) {
                    (0, 0) => "healthy".to_string(),
                    (0, w) => format!("healthy, {w} warning(s)"),
                    (e, w) => format!("{e} error(s), {w} warning(s)"),
                },
                report.checked.join(", ")
            );
        }
    }
    Ok(if report.fails(threshold) {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}
