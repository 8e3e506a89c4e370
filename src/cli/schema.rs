//! `schemactl schema check|sql|json-schema`.

use std::process::ExitCode;

use super::SchemaArg;
use crate::config::Config;
use crate::error::Result;

/// The `schema` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Load and validate the schema files, materialising them in memory.
    #[command(after_help = "Example:\n  schemactl schema check --schema schema/")]
    Check(SchemaArg),
    /// Print the schema's normal form as SQL (the statements SQLite keeps).
    #[command(after_help = "Example:\n  schemactl schema sql > schema.sql")]
    Sql(SchemaArg),
    /// Print the JSON Schema of the DSL, for editors.
    #[command(
        name = "json-schema",
        after_help = "Example:\n  schemactl schema json-schema > .schemactl.schema.json"
    )]
    JsonSchema,
}

/// Runs a `schema` subcommand.
pub fn run(cmd: &Command, config: &Config) -> Result<ExitCode> {
    match cmd {
        Command::Check(arg) => {
            let path = arg.resolve(config);
            let desired = crate::dsl::load(&path)?;
            let s = &desired.schema;
            let indexes: usize = s.tables.iter().map(|t| t.indexes.len()).sum();
            crate::say!(
                "{}: ok (version {}; {} tables, {indexes} indexes, {} views, {} triggers, {} virtual tables)",
                crate::printable::path(&path),
                desired.version,
                s.tables.len(),
                s.views.len(),
                s.triggers.len(),
                s.virtual_tables.len()
            );
        }
        Command::Sql(arg) => {
            let desired = crate::dsl::load(&arg.resolve(config))?;
            for (_, sql) in crate::normal::ddl(&desired.schema) {
                crate::cli::output::out(&format!("{sql};\n\n"));
            }
        }
        Command::JsonSchema => {
            let text = serde_json::to_string_pretty(&crate::dsl::json_schema()).unwrap_or_default();
            crate::cli::output::out(&(text + "\n"));
        }
    }
    Ok(ExitCode::SUCCESS)
}
