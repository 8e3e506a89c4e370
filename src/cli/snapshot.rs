//! `schemactl snapshot`: write the canonical dump of schema/ in insta's snapshot format: the
//! same bytes insta writes for the snapshot test (an existing file's header is kept, without
//! `assertion_line`).

use std::process::ExitCode;

use super::SchemaArg;
use crate::config::Config;
use crate::error::{Error, Result};

/// Arguments of `schemactl snapshot`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  schemactl snapshot\n  schemactl snapshot --out tests/snapshots"
)]
pub struct Args {
    #[command(flatten)]
    schema: SchemaArg,
    /// Directory to write `schema.snap` to [default: from schemactl.toml, else snapshots/]
    #[arg(long, value_name = "DIR")]
    out: Option<std::path::PathBuf>,
}

/// Writes the snapshot.
pub fn run(args: &Args, config: &Config) -> Result<ExitCode> {
    let desired = crate::dsl::load(&args.schema.resolve(config))?;
    let dir = args.out.clone().unwrap_or_else(|| config.snapshots.clone());
    std::fs::create_dir_all(&dir).map_err(|e| Error::io("create directory", &dir, e))?;
    let path = dir.join("schema.snap");
    let existing = match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io("read", &path, e)),
    };
    let text = crate::normal::snapshot_over(&desired.schema, existing.as_deref());
    std::fs::write(&path, text).map_err(|e| Error::io("write", &path, e))?;
    crate::say!("wrote {}", crate::printable::path(&path));
    Ok(ExitCode::SUCCESS)
}
