//! `schemactl stats`: sizes, rows, pages, WAL and schema version; exit 2 over --max-size.

use std::process::ExitCode;

use super::DatabaseArg;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::ops::stats;

/// Output formats of `stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// For people.
    Human,
    /// Stable JSON.
    Json,
    /// Prometheus' text exposition format (for node_exporter's textfile collector).
    Prometheus,
}

/// Arguments of `schemactl stats`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit status: 0, or 2 when the database file and its WAL together exceed --max-size.\n\nExamples:\n  schemactl stats\n  schemactl stats --max-size 1GB\n  schemactl stats --format prometheus > /var/lib/node_exporter/schemactl.prom"
)]
pub struct Args {
    #[command(flatten)]
    database: DatabaseArg,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Exit 2 when the database (file + WAL) is larger, e.g. 1GB, 500MiB, 1073741824
    #[arg(long, value_name = "SIZE", value_parser = stats::parse_size)]
    max_size: Option<u64>,
}

/// Prints the statistics.
pub fn run(args: &Args, config: &Config) -> Result<ExitCode> {
    let database = args.database.resolve(config);
    let conn = crate::db::open_read_only(&database)?;
    let s = stats::stats(&conn, &database)?;
    let total = s.file_bytes + s.wal_bytes;
    let over = args.max_size.filter(|max| total > *max);
    match args.format {
        Format::Json => {
            let mut v = serde_json::to_value(&s).map_err(|source| Error::Json {
                context: "render JSON",
                source,
            })?;
            if let Some(map) = v.as_object_mut() {
                map.insert("max_size".into(), args.max_size.into());
                map.insert("over_max_size".into(), over.is_some().into());
            }
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        }
        Format::Prometheus => print!("{}", stats::prometheus(&s)),
        Format::Human => {
            println!("{}", s.database);
            println!(
                "  file {} bytes, WAL {} bytes ({} mode), {} pages of {} bytes, {} free",
                s.file_bytes,
                s.wal_bytes,
                s.journal_mode,
                s.page_count,
                s.page_size,
                s.freelist_count
            );
            println!(
                "  schema version {}",
                s.last_migration
                    .as_deref()
                    .unwrap_or("(none applied by schemactl)")
            );
            println!(
                "  {:<36} {:<6} {:>14} {:>12}",
                "object", "kind", "bytes", "rows"
            );
            for o in &s.objects {
                println!(
                    "  {:<36} {:<6} {:>14} {:>12}",
                    o.name,
                    o.kind,
                    o.bytes,
                    o.rows.map(|r| r.to_string()).unwrap_or_default()
                );
            }
        }
    }
    if let Some(max) = over {
        eprintln!(
            "{} is {total} bytes (file + WAL), over --max-size {max}",
            database.display()
        );
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}
