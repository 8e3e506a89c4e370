//! `schemactl.toml`: the project's defaults, found in the current directory or above it.
//!
//! Paths in the file are relative to the file's directory. Flags override the file, and the
//! environment variable `SCHEMACTL_DATABASE` overrides the database path (clap reads it).
//! `exclude = ["migrations_applied", "legacy_*"]` names tables schemactl leaves alone
//! (see [`crate::exclude`]).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::exclude::Exclude;

/// The configuration file's name.
pub const FILE_NAME: &str = "schemactl.toml";

/// The placeholder for a database's directory in a backups path: `{dir}/backups`.
pub const DIR_PLACEHOLDER: &str = "{dir}";

/// Returns `template` with a leading `{dir}` replaced by the directory of `database`
/// (`.` when it has none); any other path is returned as it is.
pub fn backups_for(template: &Path, database: &Path) -> PathBuf {
    match template.strip_prefix(DIR_PLACEHOLDER) {
        Ok(rest) => {
            let dir = database
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            dir.join(rest)
        }
        Err(_) => template.to_path_buf(),
    }
}

/// Resolved project paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The live database.
    pub database: PathBuf,
    /// The schema file or directory.
    pub schema: PathBuf,
    /// Forward migrations.
    pub migrations: PathBuf,
    /// Reverse migrations.
    pub rollbacks: PathBuf,
    /// Canonical schema snapshots.
    pub snapshots: PathBuf,
    /// Backups. A path starting with `{dir}` is a template: `{dir}` stands for the directory of
    /// each database (see [`Config::backups_for`]); `fleet` puts backups beside each database
    /// this way by default.
    pub backups: PathBuf,
    /// The run directories of `fleet` (journals and run records).
    pub fleet_runs: PathBuf,
    /// Archives of pruned rows.
    pub archives: PathBuf,
    /// Tables schemactl does not manage (names or globs); each schema file can add its own.
    pub exclude: Exclude,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    database: Option<PathBuf>,
    schema: Option<PathBuf>,
    migrations: Option<PathBuf>,
    rollbacks: Option<PathBuf>,
    snapshots: Option<PathBuf>,
    backups: Option<PathBuf>,
    archives: Option<PathBuf>,
    fleet_runs: Option<PathBuf>,
    exclude: Option<Vec<String>>,
}

impl Config {
    /// Returns the backups directory of `database`: the configured one, with `{dir}` replaced
    /// by the database's directory.
    pub fn backups_for(&self, database: &Path) -> PathBuf {
        backups_for(&self.backups, database)
    }

    /// Returns the defaults, relative to `root`.
    pub fn defaults(root: &Path) -> Self {
        Config {
            database: root.join(".swarm/memory.db"),
            schema: root.join("schema"),
            migrations: root.join("migrations"),
            rollbacks: root.join("rollbacks"),
            snapshots: root.join("snapshots"),
            backups: root.join(".swarm/backups"),
            archives: root.join(".swarm/archives"),
            fleet_runs: root.join(".swarm/fleet"),
            exclude: Exclude::default(),
        }
    }

    /// Loads `explicit`, or the nearest `schemactl.toml` at or above the current directory,
    /// or the defaults relative to the current directory when there is none.
    pub fn discover(explicit: Option<&Path>) -> Result<Self> {
        if let Some(path) = explicit {
            return Self::load(path);
        }
        let cwd = std::env::current_dir().map_err(|e| Error::io("read", ".", e))?;
        for dir in cwd.ancestors() {
            let candidate = dir.join(FILE_NAME);
            if candidate.is_file() {
                return Self::load(&candidate);
            }
        }
        Ok(Self::defaults(Path::new("")))
    }

    /// Loads one configuration file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?;
        let file: ConfigFile = toml::from_str(&text).map_err(|e| Error::BadConfig {
            path: path.to_path_buf(),
            message: e.message().to_string(),
        })?;
        let root = path.parent().unwrap_or(Path::new(""));
        let defaults = Self::defaults(root);
        let at = |p: Option<PathBuf>, d: PathBuf| p.map_or(d, |p| root.join(p));
        // A `{dir}` template is relative to each database, not to the file.
        let backups = match file.backups {
            Some(p) if p.starts_with(DIR_PLACEHOLDER) => p,
            other => at(other, defaults.backups),
        };
        Ok(Config {
            database: at(file.database, defaults.database),
            schema: at(file.schema, defaults.schema),
            migrations: at(file.migrations, defaults.migrations),
            rollbacks: at(file.rollbacks, defaults.rollbacks),
            snapshots: at(file.snapshots, defaults.snapshots),
            backups,
            archives: at(file.archives, defaults.archives),
            fleet_runs: at(file.fleet_runs, defaults.fleet_runs),
            exclude: Exclude::new(
                file.exclude.unwrap_or_default(),
                &path.display().to_string(),
            )?,
        })
    }
}
