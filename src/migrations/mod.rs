//! The migration catalogue: one [`Migration`] type for every migration schemactl knows (a
//! file, a sync, a rollback about to run), the migration files ([`files`]), the database's
//! history ([`history`]), the SQL text of a migration ([`render`]: a plan rendered as a file,
//! and what running a file needs), and the [`Catalogue`] built from the files and the history,
//! which answers status, verification, the expected schema at any version and the next
//! version. `status`, `plan --write`, `sync`, `drift`, `apply` and `rollback` all ask it.

mod adoption;
mod catalogue;
pub mod files;
pub mod history;
pub mod renames;
mod render;
pub mod statements;

use std::fmt;
use std::path::PathBuf;

pub use catalogue::{
    AppliedState, Catalogue, Status, expected_after, expected_after_with, expected_part,
    expected_schema,
};
pub use files::{check_name, load, write_new};
pub use render::{
    Dropped, FOREIGN_KEYS_HEADER, Needs, STASH_PREFIX, check_stashable, drops, needs,
    renames_to_plan, render, schema_version,
};

use crate::error::{Error, Result};
use crate::plan::{Direction, Plan};

/// Where a migration comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A file of `migrations/`, with its reverse in `rollbacks/` when there is one.
    File {
        /// The forward file.
        path: PathBuf,
        /// The reverse file.
        rollback_path: Option<PathBuf>,
    },
    /// A `sync` run: planned against the live database, recorded in `_schemactl_migrations`.
    Sync,
    /// The schema a database without history had when schemactl first changed it (a `sync`
    /// adopts it): recorded in the history, never run on that database, replayed from empty
    /// so that the history rebuilds its schema. (Files that `schemactl baseline` records as
    /// applied keep their [`Origin::File`]; their rows say `baseline`.)
    Adopted,
    /// The reverse of an applied migration, about to run; `from` says where the reverse SQL
    /// comes from (`_schemactl_migrations` or the rollback file).
    Rollback {
        /// Where the SQL comes from.
        from: String,
    },
}

impl Origin {
    /// Returns the kind recorded in `_schemactl_migrations`: `file`, `sync`, `adopted` or
    /// `rollback` (and `baseline` for the files `schemactl baseline` records).
    pub fn kind(&self) -> &'static str {
        match self {
            Origin::File { .. } => "file",
            Origin::Sync => "sync",
            Origin::Adopted => "adopted",
            Origin::Rollback { .. } => "rollback",
        }
    }
}

/// Shows the origin as messages name it: the file's path, `sync`, or where a reverse comes from.
impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File { path, .. } => write!(f, "{}", path.display()),
            Origin::Sync => f.write_str("sync"),
            Origin::Adopted => f.write_str("adopted (recorded, never run)"),
            Origin::Rollback { from } => f.write_str(from),
        }
    }
}

/// One migration: its version, name, SQL both ways, refinery checksum, what running it needs
/// (read once, the first time it is asked: only a migration about to run is, so the history's
/// applied migrations, an adoption of thousands of CREATEs among them, are never lexed for it)
/// and where it comes from.
#[derive(Debug, Clone)]
pub struct Migration {
    /// The version number.
    pub version: i32,
    /// The name after `V{n}__`.
    pub name: String,
    /// The SQL that runs (for a rollback: the reverse of the migration it undoes).
    pub forward: String,
    /// The reverse SQL, when known.
    pub reverse: Option<String>,
    /// refinery's checksum of name, version and forward SQL; None when refinery refuses the
    /// name ([`Migration::refinery`] says why).
    pub checksum: Option<u64>,
    /// What running `forward` safely needs ([`Migration::needs`]), read on first use.
    needs: std::sync::OnceLock<Needs>,
    /// Where it comes from.
    pub origin: Origin,
}

impl Migration {
    /// Builds a migration, computing its checksum (what it needs is read when first asked).
    pub fn new(
        version: i32,
        name: impl Into<String>,
        forward: impl Into<String>,
        reverse: Option<String>,
        origin: Origin,
    ) -> Self {
        let name = name.into();
        let forward = forward.into();
        let checksum = refinery_core::Migration::unapplied(&stem(version, &name), &forward)
            .ok()
            .map(|m| m.checksum());
        Migration {
            version,
            name,
            forward,
            reverse,
            checksum,
            needs: std::sync::OnceLock::new(),
            origin,
        }
    }

    /// Builds the migration `sync` runs for `plan`: version `version`, named `sync_<time>`,
    /// with its reverse, recorded like a file's so that it can be rolled back by name.
    pub fn sync(plan: &Plan, schema_version: u32, version: i32) -> Self {
        let name = format!("sync_{}", crate::db::timestamp().to_ascii_lowercase());
        let stem = stem(version, &name);
        // The renderer's header says a file was generated by `plan --write`; a sync is not.
        let header = |text: String| {
            text.replacen(
                "-- Generated by `schemactl plan --write`; edit it before it is applied, never after.",
                "-- Planned by `schemactl sync` against the live database and recorded there; `plan --write` writes it as a file.",
                1,
            )
        };
        let forward = header(render(plan, &stem, schema_version, Direction::Forward));
        let reverse = header(render(plan, &stem, schema_version, Direction::Reverse));
        Migration::new(version, name, forward, Some(reverse), Origin::Sync)
    }

    /// Returns what running `forward` safely needs ([`needs`]), read the first time.
    pub fn needs(&self) -> &Needs {
        self.needs.get_or_init(|| needs(&self.forward))
    }

    /// Returns `V{n}__{name}`.
    pub fn stem(&self) -> String {
        stem(self.version, &self.name)
    }

    /// Returns refinery's view of the migration (its checksum covers name, version and SQL).
    pub fn refinery(&self) -> Result<refinery_core::Migration> {
        refinery_core::Migration::unapplied(&self.stem(), &self.forward).map_err(|e| {
            Error::BadMigration {
                migration: self.origin.to_string(),
                message: e.to_string(),
            }
        })
    }
}

fn stem(version: i32, name: &str) -> String {
    format!("V{version}__{name}")
}
