//! Preflight: what a fleet run would do, writing nothing. Each target is opened read-only and
//! classified (pending, up to date, ahead, divergent, not adopted, or unreadable); the
//! data-aware lint runs on each pending one and is summed up over the fleet ("NOT NULL ...:
//! 3 of 1,000 database(s)"); free disk is checked for the backups taken at the same time.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rusqlite::Connection;

use crate::error::{Error, Result};
use crate::exclude::Exclude;
use crate::migrations::{self, Catalogue, Migration};

/// The project the fleet is migrated to.
#[derive(Debug, Clone)]
pub struct Project {
    /// Forward migrations.
    pub migrations: PathBuf,
    /// Reverse migrations.
    pub rollbacks: PathBuf,
    /// The schema files (they may not exist).
    pub schema: PathBuf,
    /// Tables schemactl does not manage.
    pub exclude: Exclude,
}

/// A target's state before the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Migrations are pending.
    Pending,
    /// Every migration is applied.
    UpToDate,
    /// It has versions the project does not know: refused.
    Ahead,
    /// An applied migration changed, or one the project still has is missing: refused.
    Divergent,
    /// It has tables but no history: `schemactl baseline` first.
    NotAdopted,
    /// It cannot be read as a database.
    Unreadable,
}

impl State {
    /// Returns true when the run refuses the target without starting its pipeline.
    pub fn refused(self) -> bool {
        !matches!(self, State::Pending | State::UpToDate)
    }
}

/// One target, classified.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Target {
    /// The database.
    pub target: PathBuf,
    /// Its state.
    pub state: State,
    /// Its version.
    pub from: Option<i32>,
    /// The version the run brings it to.
    pub to: Option<i32>,
    /// The pending migrations, as `V{n}__{name}`.
    pub pending: Vec<String>,
    /// What the data-aware lint found on its rows (pending targets, with the lint asked for).
    pub lint: Vec<String>,
    /// Why it is refused or unreadable.
    pub error: Option<String>,
    /// The size of the database file, in bytes.
    #[serde(skip)]
    pub bytes: u64,
}

/// A file system's free space against what the concurrent backups need on it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Disk {
    /// A backups directory on that file system.
    pub directory: PathBuf,
    /// Free bytes.
    pub free: u64,
    /// Bytes the concurrent backups can take at once.
    pub needed: u64,
}

impl Disk {
    /// Returns true when the backups fit.
    pub fn fits(&self) -> bool {
        self.free >= self.needed
    }
}

/// What preflight found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Preflight {
    /// The head version of the migrations.
    pub head: Option<i32>,
    /// Each target, in the run's order.
    pub targets: Vec<Target>,
    /// Each lint finding, with the number of databases it was found in.
    pub lint: Vec<(String, usize)>,
    /// Free disk per file system holding backups.
    pub disk: Vec<Disk>,
    /// The migration files it was made from: what a run after it runs, and nothing else
    /// (see [`super::Options::files`]).
    #[serde(skip)]
    pub files: Vec<Migration>,
}

impl Preflight {
    /// Returns how many targets are in `state`.
    pub fn count(&self, state: State) -> usize {
        self.targets.iter().filter(|t| t.state == state).count()
    }

    /// Returns the lint summary, one line per finding: `... in 3 of 1,000 database(s)`.
    pub fn lint_lines(&self) -> Vec<String> {
        self.lint
            .iter()
            .map(|(f, n)| format!("{f}: in {n} of {} database(s)", self.targets.len()))
            .collect()
    }
}

/// Loads the project's migrations once for the whole fleet.
pub fn load(project: &Project) -> Result<Vec<Migration>> {
    let files = migrations::load(&project.migrations, &project.rollbacks)?;
    if files.is_empty() {
        return Err(Error::NoMigrations {
            dir: project.migrations.clone(),
        });
    }
    Ok(files)
}

/// Classifies `targets` (in parallel on `jobs` threads), with the data-aware lint when `lint`;
/// with `backups` (a `{dir}` template), checks the free disk for `jobs` backups at once.
pub fn preflight(
    project: &Project,
    targets: &[PathBuf],
    jobs: usize,
    lint: bool,
    backups: Option<&Path>,
) -> Result<Preflight> {
    preflight_with(project, load(project)?, targets, jobs, lint, backups)
}

/// Like [`preflight`], from migration files already loaded (those a confirmed preview showed).
pub fn preflight_with(
    project: &Project,
    files: Vec<Migration>,
    targets: &[PathBuf],
    jobs: usize,
    lint: bool,
    backups: Option<&Path>,
) -> Result<Preflight> {
    // The project's files are read once, before any target: a schema file that does not
    // load is the project's error (exit 1), not every target's "unreadable".
    let exclude = project.exclude.union(
        &crate::dsl::load_if_any(&project.schema)?.map_or_else(Exclude::default, |d| d.exclude),
    );
    let head = files.iter().map(|m| m.version).max();
    let classified = super::pool::map(targets, jobs, |t| classify(&exclude, &files, t, lint));
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for t in &classified {
        let mut seen: Vec<&String> = t.lint.iter().collect();
        seen.dedup();
        for f in seen {
            *counts.entry(f.clone()).or_insert(0) += 1;
        }
    }
    let disk = match backups {
        Some(template) => disk(&classified, template, jobs)?,
        None => Vec::new(),
    };
    Ok(Preflight {
        head,
        targets: classified,
        lint: counts.into_iter().collect(),
        disk,
        files,
    })
}

/// Classifies one target, reading it in one read transaction (`exclude`: the tables neither
/// the configuration nor the schema files manage). Never fails: what cannot be read is
/// `Unreadable`, with the reason.
pub fn classify(exclude: &Exclude, files: &[Migration], path: &Path, lint: bool) -> Target {
    let mut target = Target {
        target: path.to_path_buf(),
        state: State::Unreadable,
        from: None,
        to: None,
        pending: Vec::new(),
        lint: Vec::new(),
        error: None,
        bytes: std::fs::metadata(path).map_or(0, |m| m.len()),
    };
    if let Err(e) = read(exclude, files, path, lint, &mut target) {
        target.state = State::Unreadable;
        target.error = Some(e.to_string());
    }
    target.to = match target.state {
        State::Pending | State::UpToDate => files.iter().map(|m| m.version).max(),
        _ => target.from,
    };
    target
}

fn read(
    exclude: &Exclude,
    files: &[Migration],
    path: &Path,
    lint: bool,
    target: &mut Target,
) -> Result<()> {
    if !path.is_file() {
        if !path.exists() {
            return Err(Error::DatabaseMissing {
                path: path.to_path_buf(),
            });
        }
        return Err(Error::InvalidArgument {
            what: path.display().to_string(),
            message: "not a regular file (a directory, FIFO, socket or device): not a database"
                .into(),
        });
    }
    let conn = crate::db::open_read_only(path)?;
    let snapshot = conn
        .unchecked_transaction()
        .map_err(Error::sqlite_in("read the database's history and schema"))?;
    let applied = migrations::history::applied(&snapshot)?;
    let recorded = migrations::history::recorded(&snapshot)?;
    target.from = applied.iter().map(|a| a.version).max();
    if applied.is_empty() && !empty(&snapshot, exclude)? {
        target.state = State::NotAdopted;
        target.error = Some(format!(
            "{} has tables but no migration history: adopt it with `schemactl baseline`",
            crate::printable::path(&path)
        ));
        return Ok(());
    }
    let catalogue = Catalogue::new(files.to_vec(), applied, recorded, &[])?;
    let pending = match catalogue.verify() {
        Ok(p) => p,
        Err(e) => {
            let head = files.iter().map(|m| m.version).max();
            target.state = match e {
                Error::MissingMigration { version, .. } if Some(version) > head => State::Ahead,
                Error::MissingMigration { .. }
                | Error::Divergent { .. }
                | Error::OutOfOrder { .. } => State::Divergent,
                other => return Err(other),
            };
            target.error = Some(e.to_string());
            return Ok(());
        }
    };
    target.pending = pending.iter().map(|m| m.stem()).collect();
    if pending.is_empty() {
        target.state = State::UpToDate;
        return Ok(());
    }
    target.state = State::Pending;
    if lint {
        target.lint = findings(&snapshot, &pending)?;
    }
    Ok(())
}

/// Returns true when the database has no table schemactl manages.
fn empty(conn: &Connection, exclude: &Exclude) -> Result<bool> {
    let live = crate::inspect(conn)?;
    Ok(exclude.apply(&live) == crate::model::Schema::default())
}

/// Runs the data-aware lint of the schema change `pending` makes, on the live rows. Migrations
/// whose data statements cannot be replayed on an empty copy are not linted (the rehearsal
/// tries them on the rows).
fn findings(conn: &Connection, pending: &[&Migration]) -> Result<Vec<String>> {
    let current = crate::inspect(conn)?;
    let Ok(desired) = migrations::expected_after(&current, pending.iter().copied()) else {
        return Ok(Vec::new());
    };
    let changes = crate::diff::diff(&current, &desired, &Default::default())?;
    let found = crate::lint::lint(conn, &current, &desired, &changes)?;
    let mut lines: Vec<String> = found
        .iter()
        .filter(|f| f.blocks())
        .map(|f| format!("\"{}\": {}", f.table, f.message))
        .collect();
    lines.sort();
    lines.dedup();
    Ok(lines)
}

/// Checks free space for `jobs` backups at once on each file system holding backups: each
/// takes a plain copy of the database, then its compressed form beside it (both at once, for
/// a moment), so the `jobs` largest databases there, twice.
fn disk(targets: &[Target], template: &Path, jobs: usize) -> Result<Vec<Disk>> {
    // file system id -> (a directory on it, the sizes of its databases)
    let mut by_fs: BTreeMap<u64, (PathBuf, Vec<u64>)> = BTreeMap::new();
    for t in targets.iter().filter(|t| t.state == State::Pending) {
        let dir = crate::config::backups_for(template, &t.target);
        let existing = dir
            .ancestors()
            .find(|a| !a.as_os_str().is_empty() && a.exists())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let Some((fsid, _)) = crate::db::file_system(&existing) else {
            continue;
        };
        by_fs
            .entry(fsid)
            .or_insert_with(|| (existing, Vec::new()))
            .1
            .push(t.bytes);
    }
    let mut out = Vec::new();
    for (dir, mut sizes) in by_fs.into_values() {
        sizes.sort_unstable_by(|a, b| b.cmp(a));
        let needed: u64 = sizes
            .iter()
            .take(jobs.max(1))
            .sum::<u64>()
            .saturating_mul(2);
        let free = crate::db::file_system(&dir).map_or(u64::MAX, |(_, free)| free);
        out.push(Disk {
            directory: dir,
            free,
            needed,
        });
    }
    Ok(out)
}
