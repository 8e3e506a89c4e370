//! `baseline`: adopt a database that exists without a migration history.
//!
//! The migration files are replayed from empty in memory, one at a time, and the schema after
//! each version is compared, in normal form and without the excluded tables
//! ([`crate::exclude`]), with the live schema. The versions up to the one that matches are
//! recorded as applied (in `_schemactl_history`, with their refinery checksums, and in
//! `_schemactl_migrations` with kind `baseline` and their SQL both ways), and nothing runs.
//! No match: it refuses and shows the nearest version and the diff. Several versions with the
//! same schema (a data-only migration): it refuses and asks which. An explicit version is
//! recorded after its diff is shown (the CLI asks). Flyway's `baseline` and Alembic's `stamp`
//! trust the user; Django's `--fake-initial` only checks that tables exist; this proves it.

use std::path::{Path, PathBuf};

use rusqlite::Connection;

use crate::db::bookkeeping::{CREATE_MIGRATIONS_TABLE, HISTORY_TABLE, MIGRATIONS_TABLE};
use crate::db::lock;
use crate::error::{Error, Result};
use crate::exclude::Exclude;
use crate::migrations::history;
use crate::migrations::{self, Migration};
use crate::model::Schema;
use crate::normal::describe_difference;

/// What `baseline` adopts.
#[derive(Debug, Clone)]
pub struct Options {
    /// The live database; it must exist.
    pub database: PathBuf,
    /// Forward migrations.
    pub migrations: PathBuf,
    /// Reverse migrations.
    pub rollbacks: PathBuf,
    /// Tables left out of the comparison (schemactl.toml and the schema files).
    pub exclude: Exclude,
    /// The version to record; None: the one the live schema matches.
    pub version: Option<i32>,
    /// Wait for another schemactl holding the database's lock instead of failing.
    pub wait: bool,
}

/// How the live schema compares with the schema after one version.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// The version.
    pub version: i32,
    /// How many lines of the canonical dumps differ (0: the same schema).
    pub lines: usize,
    /// The unified diff, the version's schema then the live one (empty when equal).
    pub diff: String,
}

/// What the live schema matches.
#[derive(Debug, Clone)]
pub enum Match {
    /// No table to adopt (or no migration file to compare with).
    Nothing,
    /// These versions build exactly the live schema (more than one: data-only migrations).
    Exact(Vec<i32>),
    /// None does; this one is the nearest.
    Nearest(Comparison),
}

/// Compares `live` with the schema after each migration of `files` (replayed from empty in
/// memory), both without the tables `exclude` names.
pub fn compare(files: &[Migration], live: &Schema, exclude: &Exclude) -> Result<Vec<Comparison>> {
    let live = exclude.apply(live);
    let conn =
        Connection::open_in_memory().map_err(|e| Error::sqlite("open a scratch database", e))?;
    conn.execute_batch("PRAGMA foreign_keys = OFF")
        .map_err(|e| Error::sqlite("open a scratch database", e))?;
    // The files replay in this database alone (h20_01: an ATTACH reached other files).
    crate::db::confined::confine(&conn);
    // Each migration replays as a run runs it: its settings put back after it.
    let settings = crate::db::confined::settings(&conn)
        .map_err(|e| Error::sqlite("open a scratch database", e))?;
    let mut out = Vec::new();
    for m in files {
        conn.execute_batch(&m.forward)
            .and_then(|()| crate::db::confined::put_back(&conn, &settings))
            .map_err(|e| Error::Replay {
                migration: m.stem(),
                origin: m.origin.to_string(),
                how: "replayed from empty",
                message: crate::normal::sqlite_message(&e),
            })?;
        let built = exclude.apply_owned(crate::inspect(&conn)?);
        let (lines, diff) = if built == live {
            (0, String::new())
        } else {
            let diff = describe_difference(&built, &live);
            (changed_lines(&diff), diff)
        };
        out.push(Comparison {
            version: m.version,
            lines,
            diff,
        });
    }
    Ok(out)
}

/// Returns what `live` matches among `files`.
pub fn find_match(files: &[Migration], live: &Schema, exclude: &Exclude) -> Result<Match> {
    if files.is_empty() || exclude.apply(live) == Schema::default() {
        return Ok(Match::Nothing);
    }
    let all = compare(files, live, exclude)?;
    let exact: Vec<i32> = all
        .iter()
        .filter(|c| c.lines == 0)
        .map(|c| c.version)
        .collect();
    if !exact.is_empty() {
        return Ok(Match::Exact(exact));
    }
    // Fewest differing lines; on a tie the later version.
    let nearest = all
        .into_iter()
        .min_by_key(|c| (c.lines, std::cmp::Reverse(c.version)));
    Ok(nearest.map_or(Match::Nothing, Match::Nearest))
}

fn changed_lines(diff: &str) -> usize {
    diff.lines()
        .filter(|l| {
            (l.starts_with('+') && !l.starts_with("+++"))
                || (l.starts_with('-') && !l.starts_with("---"))
        })
        .count()
}

/// What a baseline would record, found by [`find`].
#[derive(Debug, Clone)]
pub struct Preview {
    /// The version to record.
    pub version: i32,
    /// True when the live schema is exactly that version's.
    pub matched: bool,
    /// The diff between the version's schema and the live one (empty when matched).
    pub diff: String,
    /// The migrations to record as applied, `V1` to the version.
    pub record: Vec<Migration>,
    /// The recorded migrations whose files hold data statements (INSERT, UPDATE, DELETE,
    /// REPLACE) that a baseline does not run.
    pub data_statements: Vec<String>,
    live: Schema,
}

/// Finds what to record for `opts.database` (opened read-only; it must exist and have no
/// history): the matching version, or `opts.version` with its diff.
pub fn find(opts: &Options) -> Result<Preview> {
    let conn = crate::db::open_read_only(&opts.database)?;
    refuse_history(&conn, &opts.database)?;
    let live = opts.exclude.apply_owned(crate::inspect(&conn)?);
    drop(conn);
    let files = migrations::load(&opts.migrations, &opts.rollbacks)?;
    if files.is_empty() {
        return Err(Error::NoMigrations {
            dir: opts.migrations.clone(),
        });
    }
    let comparisons = compare(&files, &live, &opts.exclude)?;
    let chosen = match opts.version {
        Some(v) => comparisons
            .iter()
            .find(|c| c.version == v)
            .cloned()
            .ok_or_else(|| Error::InvalidArgument {
                what: format!("version V{v}"),
                message: format!(
                    "no migration file has it; the versions are {}",
                    files
                        .iter()
                        .map(|m| format!("V{}", m.version))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })?,
        None => match find_match(&files, &live, &opts.exclude)? {
            Match::Nothing => {
                return Err(Error::NothingToBaseline {
                    database: opts.database.clone(),
                });
            }
            Match::Exact(versions) if versions.len() > 1 => {
                return Err(Error::AmbiguousBaseline {
                    database: opts.database.clone(),
                    versions,
                });
            }
            Match::Exact(versions) => Comparison {
                version: versions[0],
                lines: 0,
                diff: String::new(),
            },
            Match::Nearest(c) => {
                return Err(Error::NoBaselineMatch {
                    database: opts.database.clone(),
                    nearest: c.version,
                    lines: c.lines,
                    diff: c.diff,
                });
            }
        },
    };
    let record: Vec<Migration> = files
        .into_iter()
        .filter(|m| m.version <= chosen.version)
        .collect();
    for m in &record {
        // refinery refuses some names; say so now rather than record a row it cannot read.
        m.refinery()?;
    }
    let data_statements = record
        .iter()
        .filter(|m| crate::migrations::statements::writes_rows(&m.forward))
        .map(Migration::stem)
        .collect();
    Ok(Preview {
        version: chosen.version,
        matched: chosen.lines == 0,
        diff: chosen.diff,
        record,
        data_statements,
        live,
    })
}

/// What `baseline` recorded.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    /// The database.
    pub database: String,
    /// The version before (none: it had no history).
    pub version_before: Option<i32>,
    /// The version recorded.
    pub version_after: i32,
    /// The migrations recorded as applied, as `V{n}__{name}`.
    pub recorded: Vec<String>,
    /// True when the live schema is exactly the recorded version's.
    pub matched: bool,
    /// Recorded migrations whose data statements did not run.
    pub data_statements_not_run: Vec<String>,
}

/// Records `preview` in `opts.database`'s history, under the lock and in one transaction,
/// after checking again that the database has no history and the same schema.
pub fn record(opts: &Options, preview: &Preview, say: &mut dyn FnMut(&str)) -> Result<Report> {
    crate::db::must_exist(&opts.database)?;
    let _lock = lock::acquire(&opts.database, opts.wait, &mut |m| say(m))?;
    let conn = crate::db::open_live(&opts.database)?;
    refuse_history(&conn, &opts.database)?;
    if opts.exclude.apply_owned(crate::inspect(&conn)?) != preview.live {
        return Err(Error::BaselineRaced {
            database: opts.database.clone(),
        });
    }
    let q = |what: &'static str| move |e| Error::sqlite(what, e);
    crate::db::immediate(
        &conn,
        crate::db::ForeignKeys::Keep,
        "begin the baseline",
        "commit the baseline",
        || {
            conn.execute_batch(CREATE_HISTORY_TABLE)
                .map_err(q("create _schemactl_history"))?;
            conn.execute_batch(CREATE_MIGRATIONS_TABLE)
                .map_err(q("create _schemactl_migrations"))?;
            let now = crate::db::now_rfc3339();
            for m in &preview.record {
                let checksum = m.refinery()?.checksum().to_string();
                conn.execute(
                    &format!("INSERT INTO {HISTORY_TABLE} (version, name, applied_on, checksum) VALUES (?1, ?2, ?3, ?4)"),
                    rusqlite::params![m.version, m.name, now, checksum],
                )
                .map_err(q("record the baseline in _schemactl_history"))?;
                conn.execute(
                    &format!("INSERT INTO {MIGRATIONS_TABLE} (version, name, kind, forward, reverse, checksum, applied_at) VALUES (?1, ?2, 'baseline', ?3, ?4, ?5, ?6)"),
                    rusqlite::params![m.version, m.name, m.forward, m.reverse, checksum, now],
                )
                .map_err(q("record the baseline in _schemactl_migrations"))?;
            }
            Ok(())
        },
    )?;
    Ok(Report {
        database: opts.database.display().to_string(),
        version_before: None,
        version_after: preview.version,
        recorded: preview.record.iter().map(Migration::stem).collect(),
        matched: preview.matched,
        data_statements_not_run: preview.data_statements.clone(),
    })
}

/// refinery's history table, as refinery itself creates it (`traits/mod.rs`), so that its
/// runner reads the rows a baseline writes.
pub const CREATE_HISTORY_TABLE: &str = "CREATE TABLE IF NOT EXISTS _schemactl_history(
             version int4 PRIMARY KEY,
             name VARCHAR(255),
             applied_on VARCHAR(255),
             checksum VARCHAR(255));";

fn refuse_history(conn: &Connection, database: &Path) -> Result<()> {
    match history::current_version(conn)? {
        Some(version) => Err(Error::AlreadyVersioned {
            database: database.to_path_buf(),
            version,
        }),
        None => Ok(()),
    }
}

/// Describes, for `apply`'s refusal, which version `live` matches and the command to run.
pub fn advice(
    files: &[Migration],
    live: &Schema,
    exclude: &Exclude,
    database: &Path,
) -> Result<String> {
    let db = crate::printable::path(&database);
    Ok(match find_match(files, live, exclude)? {
        Match::Nothing => format!("run `schemactl baseline --database {db}` to see why"),
        Match::Exact(versions) if versions.len() == 1 => format!(
            "it matches V{}: record that with `schemactl baseline --database {db}` (nothing runs), then apply",
            versions[0]
        ),
        Match::Exact(versions) => format!(
            "it matches {} (the same schema): record the right one with `schemactl baseline V{} --database {db}`, then apply",
            versions
                .iter()
                .map(|v| format!("V{v}"))
                .collect::<Vec<_>>()
                .join(", "),
            versions.last().copied().unwrap_or_default()
        ),
        Match::Nearest(c) => format!(
            "it matches no version (nearest: V{}, {} line(s) differ); see the diff with `schemactl baseline --database {db} --dry-run`",
            c.version, c.lines
        ),
    })
}
