//! `schemactl import`: write a live database's schema as DSL YAML.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use super::DatabaseArg;
use crate::config::Config;
use crate::db;
use crate::error::{Error, Result};

/// Arguments of `schemactl import`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  schemactl import --database .swarm/memory.db --out schema/memory.yaml"
)]
pub struct Args {
    #[command(flatten)]
    database: DatabaseArg,
    /// Write to FILE instead of standard output; an existing file is never overwritten
    #[arg(long, short = 'o', value_name = "FILE")]
    out: Option<PathBuf>,
    /// The schema version to write
    #[arg(long = "schema-version", default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    schema_version: u32,
}

/// Reads the database's schema and writes it as YAML.
pub fn run(args: &Args, config: &Config) -> Result<ExitCode> {
    let path = args.database.resolve(config);
    let conn = db::open_read_only(&path)?;
    let inspection = crate::inspect::inspect_with_notes(&conn)?;
    for note in &inspection.notes {
        crate::note!("warning: {note}");
    }
    // Tables schemactl.toml excludes are not the schema's: left out, and listed as excluded;
    // so is what reads them (a schema file could not hold it), said here by name.
    let dependents = config.exclude.dependents(&inspection.schema);
    for d in &dependents {
        let reads = if d.reads == d.excluded {
            crate::sql::quote_ident(&d.reads)
        } else {
            format!(
                "view {}, which reads {}",
                crate::sql::quote_ident(&d.reads),
                crate::sql::quote_ident(&d.excluded)
            )
        };
        crate::note!(
            "note: view {} reads {reads}, which schemactl.toml excludes: left out of the schema, and left alone like it",
            crate::sql::quote_ident(&d.name),
        );
    }
    for t in &inspection.schema.triggers {
        if let Some(d) = dependents
            .iter()
            .find(|d| d.name.eq_ignore_ascii_case(&t.table))
        {
            crate::note!(
                "note: trigger {} is on view {}, which reads {}, which schemactl.toml excludes: left out of the schema, and left alone like it",
                crate::sql::quote_ident(&t.name),
                crate::sql::quote_ident(&d.name),
                crate::sql::quote_ident(&d.excluded)
            );
        }
    }
    let mut yaml = crate::dsl::export(
        &config.exclude.apply(&inspection.schema),
        args.schema_version,
        // A YAML comment of one line: a newline in the path would end it (and what follows
        // would be read as YAML), and YAML refuses the other controls outright.
        &crate::printable::path(&path).to_string(),
    );
    if !config.exclude.is_empty() {
        yaml.push_str("\n# Tables schemactl leaves alone (from schemactl.toml).\nexclude:\n");
        for pattern in config.exclude.patterns() {
            // A JSON string is a valid YAML double-quoted scalar.
            let quoted = serde_json::to_string(pattern).map_err(|source| Error::Json {
                context: "quote an exclude pattern",
                source,
            })?;
            yaml.push_str(&format!("  - {quoted}\n"));
        }
    }
    check_loads(&yaml, args.out.as_deref(), &inspection.schema, config)?;
    match &args.out {
        None => std::io::stdout()
            .write_all(yaml.as_bytes())
            .map_err(|e| Error::io("write", "standard output", e))?,
        Some(out) => {
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(out)
                .map_err(|e| match e.kind() {
                    std::io::ErrorKind::AlreadyExists => Error::InvalidArgument {
                        what: format!("--out {}", crate::printable::path(&out)),
                        message: "the file exists and import never overwrites a file: remove it, or choose another --out".into(),
                    },
                    _ => Error::io("create", out, e),
                })?;
            file.write_all(yaml.as_bytes())
                .map_err(|e| Error::io("write", out, e))?;
            crate::note!("wrote {}", crate::printable::path(&out));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// What import writes must load, and plan nothing on the database it came from: a shape the
/// loader refuses is refused here, naming it, before anything is written (the database could
/// never be adopted by that file); one that loads but plans changes is warned about.
fn check_loads(
    yaml: &str,
    out: Option<&std::path::Path>,
    live: &crate::model::Schema,
    config: &Config,
) -> Result<()> {
    let file = out.map_or_else(
        || "<import>".to_string(),
        |p| crate::printable::path(p).to_string(),
    );
    let desired = match crate::dsl::load_str(&file, yaml) {
        Ok(desired) => desired,
        Err(e) => {
            crate::note!(
                "error: the schema import would write does not load (below), so this database could not be adopted by it; nothing was written: leave the table out with `exclude = [\"NAME\"]` in schemactl.toml, or rename what is named below"
            );
            return Err(e);
        }
    };
    let current = config.exclude.union(&desired.exclude).apply(live);
    if current != desired.schema {
        crate::note!(
            "warning: the imported schema does not plan \"nothing to do\" on this database; what differs:\n{}",
            crate::normal::describe_difference(&current, &desired.schema)
        );
    }
    Ok(())
}
