//! `status`: the migration catalogue's view of one database (applied, pending, divergent and
//! missing migrations, the current version) and whether its live schema matches schema/.

use std::path::PathBuf;

use crate::error::Result;
use crate::migrations::Catalogue;
use crate::migrations::history::Applied;

/// What `status` looks at.
#[derive(Debug, Clone)]
pub struct Options {
    /// The live database (it may not exist yet).
    pub database: PathBuf,
    /// Forward migrations.
    pub migrations: PathBuf,
    /// Reverse migrations.
    pub rollbacks: PathBuf,
    /// The schema files.
    pub schema: PathBuf,
    /// Tables left out of the comparison with schema/ (schemactl.toml; schema/ adds its own).
    pub exclude: crate::exclude::Exclude,
}

/// The status of one database.
#[derive(Debug, Clone)]
pub struct Status {
    /// True when the database exists.
    pub exists: bool,
    /// The highest applied version.
    pub current_version: Option<i32>,
    /// refinery's history, oldest first.
    pub applied: Vec<Applied>,
    /// Pending migrations, as `V{n}__{name}`.
    pub pending: Vec<String>,
    /// Applied migrations that changed since, by file (or `sync`).
    pub divergent: Vec<String>,
    /// Applied migrations that are gone, as `V{n}__{name}`.
    pub missing: Vec<String>,
    /// Whether the live schema (empty when the database does not exist) matches schema/;
    /// None when schema/ cannot be loaded.
    pub schema_matches: Option<bool>,
}

/// Reads the status of `opts.database`, opened read-only.
pub fn status(opts: &Options) -> Result<Status> {
    // schema/ first: its loading needs memory of its own (the YAML's form, the scratch
    // databases) that is better not beside the live schema's.
    let desired = crate::dsl::load(&opts.schema);
    let files = crate::migrations::load(&opts.migrations, &opts.rollbacks)?;
    let (applied, recorded, live) = if opts.database.exists() {
        let conn = crate::db::open_read_only(&opts.database)?;
        (
            crate::migrations::history::applied(&conn)?,
            crate::migrations::history::recorded(&conn)?,
            Some(crate::inspect(&conn)?),
        )
    } else {
        (Vec::new(), Vec::new(), None)
    };
    let catalogue = Catalogue::new(files, applied, recorded, &[])?;
    let status = catalogue.status();
    for m in &status.divergent {
        // A migration whose name refinery refuses cannot be compared: say why.
        m.refinery()?;
    }
    let exists = live.is_some();
    let schema_matches = match (live, desired) {
        // Compared without a copy of the live schema (megabytes at thousands of tables).
        (Some(live), Ok(desired)) => {
            Some(opts.exclude.union(&desired.exclude).apply_owned(live) == desired.schema)
        }
        (None, Ok(desired)) => Some(desired.schema.tables.is_empty()),
        (_, Err(_)) => None,
    };
    Ok(Status {
        exists,
        current_version: status.current,
        pending: status.pending.iter().map(|m| m.stem()).collect(),
        divergent: status
            .divergent
            .iter()
            .map(|m| m.origin.to_string())
            .collect(),
        missing: status
            .missing
            .iter()
            .map(|a| format!("V{}__{}", a.version, a.name))
            .collect(),
        applied: catalogue.applied.clone(),
        schema_matches,
    })
}
