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

/// The human format: sizes in KiB/MiB/GiB, every column aligned (names left, numbers right).
fn human(s: &stats::Stats) -> String {
    use std::fmt::Write;
    let size = stats::human_size;
    let mut out = String::new();
    let _ = writeln!(out, "{}", crate::printable::line(&s.database));
    let _ = writeln!(
        out,
        "  file {}, WAL {} ({} mode), {} pages of {}, {} free",
        size(s.file_bytes),
        size(s.wal_bytes),
        s.journal_mode,
        s.page_count,
        size(s.page_size),
        s.freelist_count
    );
    let _ = writeln!(
        out,
        "  schema version {}",
        s.last_migration
            .as_deref()
            .unwrap_or("(none applied by schemactl)")
    );
    let rows: Vec<[String; 4]> = s
        .objects
        .iter()
        .map(|o| {
            [
                o.name.clone(),
                o.kind.clone(),
                size(o.bytes),
                o.rows.map(|r| r.to_string()).unwrap_or_default(),
            ]
        })
        .collect();
    let header = ["object", "kind", "size", "rows"].map(String::from);
    let width = |i: usize| {
        std::iter::once(&header)
            .chain(&rows)
            .map(|r| r[i].chars().count())
            .max()
            .unwrap_or(0)
    };
    let (w0, w1, w2, w3) = (width(0), width(1), width(2), width(3));
    for r in std::iter::once(&header).chain(&rows) {
        let line = format!(
            "  {:<w0$}  {:<w1$}  {:>w2$}  {:>w3$}",
            r[0], r[1], r[2], r[3]
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out
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
            crate::cli::output::out(&(serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"));
        }
        Format::Prometheus => super::output::out(&stats::prometheus(&s)),
        Format::Human => super::output::say_text(&human(&s)),
    }
    if let Some(max) = over {
        crate::note!(
            "{} is {} ({total} bytes, file + WAL), over --max-size {} ({max} bytes)",
            crate::printable::path(&database),
            stats::human_size(total),
            stats::human_size(max)
        );
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}
