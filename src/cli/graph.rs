//! `schemactl graph`: an entity-relationship diagram of schema/ (or of a live database).

use std::process::ExitCode;

use super::{DatabaseArg, SchemaArg};
use crate::config::Config;
use crate::error::Result;
use crate::ops::graph;

/// Arguments of `schemactl graph`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  schemactl graph > schema.mmd\n  schemactl graph --format dot | dot -Tsvg > schema.svg\n  schemactl graph --live --database .swarm/memory.db"
)]
pub struct Args {
    #[command(flatten)]
    schema: SchemaArg,
    #[command(flatten)]
    database: DatabaseArg,
    /// Draw the live database's schema instead of schema/
    #[arg(long)]
    live: bool,
    /// Diagram format
    #[arg(long, value_enum, default_value_t = Format::Mermaid)]
    format: Format,
}

/// The diagram formats, as the command line names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A Mermaid `erDiagram` (renders in GitHub and GitLab Markdown).
    Mermaid,
    /// Graphviz DOT (`dot -Tsvg`).
    Dot,
}

impl From<Format> for graph::Format {
    fn from(format: Format) -> Self {
        match format {
            Format::Mermaid => graph::Format::Mermaid,
            Format::Dot => graph::Format::Dot,
        }
    }
}

/// Prints the diagram.
pub fn run(args: &Args, config: &Config) -> Result<ExitCode> {
    let schema = if args.live {
        crate::inspect(&crate::db::open_read_only(&args.database.resolve(config))?)?
    } else {
        crate::dsl::load(&args.schema.resolve(config))?.schema
    };
    super::output::out(&graph::graph(&schema, args.format.into()));
    Ok(ExitCode::SUCCESS)
}
