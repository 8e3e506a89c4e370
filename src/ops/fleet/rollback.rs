//! `fleet rollback`: undo exactly what a run changed. The targets are those the run's journal
//! records as `applied`; each is rolled back to the version it had before the run through the
//! rollback pipeline ([`crate::apply::rollback`]: lock, backup, rehearsal, the reverse SQL in
//! one transaction), with what the reverse drops kept in a stash (the same migration applied
//! again brings it back), so nothing is lost. A target that is already back at its version
//! is up to date (re-running converges); one that moved since the run (another migration
//! applied, or rolled back by hand), or that is not the database the run migrated (another
//! identity, or other history rows since the run's start: [`super::witness`]), is refused,
//! untouched. The records go to the run's
//! `rollback.ndjson`, journaled like the apply's.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use serde::Serialize;

use super::journal::{APPLY_JOURNAL, Journal, ROLLBACK_JOURNAL, Run};
use super::pool::{self, Attempt};
use super::preflight::Project;
use super::report::{Outcome, Record, Summary};
use super::{is_busy, ms, record_failure};
use crate::error::{Error, Result};

/// What `fleet rollback` is asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    /// The project.
    pub project: Project,
    /// The run directories.
    pub runs: PathBuf,
    /// The run whose changes are undone.
    pub run: String,
    /// Where each database's backups go: a path, or a `{dir}` template.
    pub backups: PathBuf,
    /// Worker threads.
    pub jobs: usize,
    /// Set to stop starting new targets.
    pub stop: Arc<AtomicBool>,
    /// The preview the user confirmed ([`preview`]): each target then rolls back exactly
    /// what it showed for it, or is refused (`ChangedSinceShown`), untouched.
    pub confirmed: Option<Vec<Planned>>,
}

/// A target the run changed, and what undoing it would do.
#[derive(Debug, Clone, Serialize)]
pub struct Planned {
    /// The database.
    pub target: String,
    /// The version the run left it at.
    pub to: Option<i32>,
    /// The version it goes back to.
    pub from: Option<i32>,
    /// The migrations undone, newest first.
    pub migrations: Vec<String>,
    /// What the reverse drops that holds data (kept in a stash).
    pub drops: Vec<String>,
    /// Why it cannot be rolled back, or that it already is.
    pub note: Option<String>,
    /// The database (canonical), and what the reverse runs: each migration with its SQL.
    #[serde(skip)]
    pub planned: (Option<String>, Vec<(String, String)>),
}

/// What a fleet rollback did.
#[derive(Debug, Clone)]
pub struct RolledBack {
    /// The run.
    pub run: Run,
    /// One record per target the run changed.
    pub records: Vec<Record>,
    /// The summary.
    pub summary: Summary,
}

/// The targets the run changed: the last `applied` record of each in its journal.
fn changed(run: &Run) -> Result<Vec<Record>> {
    let mut out: Vec<Record> = Vec::new();
    for mut r in run.records(APPLY_JOURNAL)? {
        if r.outcome == Outcome::Applied && r.from != r.to {
            // Where the run's database is, whatever directory this rollback runs in.
            r.path = Some(run.locate(&r)?.display().to_string());
            out.retain(|o| o.path != r.path);
            out.push(r);
        }
    }
    out.sort_by(|a, b| a.target.cmp(&b.target));
    Ok(out)
}

fn pipeline(opts: &Options, database: &std::path::Path, dry_run: bool) -> crate::apply::Options {
    crate::apply::Options {
        database: database.to_path_buf(),
        migrations: opts.project.migrations.clone(),
        rollbacks: opts.project.rollbacks.clone(),
        backups: crate::config::backups_for(&opts.backups, database),
        wait: false,
        skip_backup: false,
        skip_rehearsal: false,
        // What the reverse drops is stashed, not lost: the fleet rollback undoes the run.
        allow_destructive: true,
        dry_run,
        verify: false,
        extra: Vec::new(),
        confirmed: None,
        inspected: None,
        files_read: None,
        planned_on: None,
        existing_only: true,
        under_lock: None,
    }
}

/// Where a target stands against what the run did to it.
enum Position {
    /// Still where the run left it: undo from this version.
    AtRun(i32),
    /// Back where it was before the run.
    Back,
}

/// The database of `r` (its path, which [`changed`] fills in).
fn at(r: &Record) -> PathBuf {
    PathBuf::from(r.path.as_deref().unwrap_or(&r.target))
}

/// Reads where `r`'s database is now: refused unless it is the database the run migrated
/// (its identity, and the history rows the run added: [`super::witness`]).
fn position(r: &Record) -> Result<Position> {
    let path = at(r);
    let conn = crate::db::open_read_only(&path)?;
    position_on(&conn, &path, r)
}

/// [`position`], read on `conn` (the database at `path`).
fn position_on(
    conn: &rusqlite::Connection,
    path: &std::path::Path,
    r: &Record,
) -> Result<Position> {
    super::witness::check_identity(conn, path, r)?;
    let applied = crate::migrations::history::applied(conn)?;
    let now = applied.iter().map(|a| a.version).max();
    if now == r.from {
        return Ok(Position::Back);
    }
    if now == r.to {
        super::witness::check_history(conn, r)?;
    }
    let first = applied
        .iter()
        .map(|a| a.version)
        .filter(|v| r.from.is_none_or(|from| *v > from))
        .min();
    match first {
        Some(first) if now == r.to => Ok(Position::AtRun(first)),
        _ => Err(Error::InvalidArgument {
            what: r.target.clone(),
            message: format!(
                "it is at {} and the run left it at {}: it changed since, and is left alone",
                super::report::version_name(now),
                super::report::version_name(r.to)
            ),
        }),
    }
}

/// The check the rollback pipeline makes under the lock: the database at `r`'s path is still
/// the one `r`'s run migrated, still where the run left it (undone from `first`), as
/// [`position`] found it before the lock.
fn still_at_run(r: &Record, first: i32) -> crate::apply::UnderLock {
    let r = r.clone();
    crate::apply::UnderLock(std::sync::Arc::new(move |conn| {
        match position_on(conn, &at(&r), &r)? {
            Position::AtRun(now) if now == first => Ok(()),
            _ => Err(Error::InvalidArgument {
                what: r.target.clone(),
                message: "it changed while the rollback waited for its lock, and is left alone"
                    .into(),
            }),
        }
    }))
}

/// Shows what rolling back the run would do, changing nothing.
pub fn preview(opts: &Options) -> Result<Vec<Planned>> {
    let run = Run::open(&opts.runs, &opts.run)?;
    let changed = changed(&run)?;
    Ok(pool::map(&changed, opts.jobs, |r| {
        let mut planned = Planned {
            target: r.target.clone(),
            to: r.to,
            from: r.from,
            migrations: Vec::new(),
            drops: Vec::new(),
            note: None,
            planned: (r.path.clone(), Vec::new()),
        };
        match position(r) {
            Ok(Position::Back) => planned.note = Some("already back at its version".into()),
            Ok(Position::AtRun(first)) => {
                let p = pipeline(opts, &at(r), true);
                match crate::apply::rollback(&p, &format!("V{first}"), true, &mut |_| {}) {
                    Ok(report) => {
                        planned.planned.1 = report.planned();
                        planned.migrations = report.migrations;
                        planned.drops = report.drops;
                    }
                    Err(e) => planned.note = Some(e.to_string()),
                }
            }
            Err(e) => planned.note = Some(e.to_string()),
        }
        planned
    }))
}

/// Rolls back every target the run changed. `on_record` receives each record as it finishes.
pub fn rollback(opts: &Options, on_record: &(dyn Fn(&Record) + Sync)) -> Result<RolledBack> {
    let started = Instant::now();
    let run = Run::open(&opts.runs, &opts.run)?;
    let changed = changed(&run)?;
    let journal = Journal::open(&run, ROLLBACK_JOURNAL)?;
    let journal_error: std::sync::Mutex<Option<Error>> = std::sync::Mutex::new(None);
    let stop =
        || opts.stop.load(Ordering::SeqCst) || journal_error.lock().is_ok_and(|e| e.is_some());
    let work = |i: usize, last: bool| {
        let Some(r) = one(opts, &changed[i], &run.id, last) else {
            return Attempt::Busy;
        };
        match journal.write(&r) {
            Ok(()) => on_record(&r),
            Err(e) => {
                if let Ok(mut slot) = journal_error.lock() {
                    slot.get_or_insert(e);
                }
            }
        }
        Attempt::Done(r)
    };
    let results = pool::run(changed.len(), opts.jobs, &stop, &work);
    if let Some(e) = journal_error.lock().ok().and_then(|mut e| e.take()) {
        return Err(e);
    }
    let records: Vec<Record> = results
        .into_iter()
        .zip(&changed)
        .map(|(r, c)| {
            r.unwrap_or_else(|| {
                let r = Record {
                    target: c.target.clone(),
                    run: run.id.clone(),
                    from: c.to,
                    to: c.to,
                    outcome: Outcome::Skipped,
                    ms: 0,
                    backup: None,
                    lint: Vec::new(),
                    error: None,
                    path: c.path.clone(),
                    identity: None,
                    applied: Vec::new(),
                };
                on_record(&r);
                r
            })
        })
        .collect();
    let summary = Summary::of(&run.id, &records, started.elapsed());
    Ok(RolledBack {
        run,
        records,
        summary,
    })
}

/// Rolls back one target. None when it was busy and `last` is false.
fn one(opts: &Options, changed: &Record, run: &str, last: bool) -> Option<Record> {
    let started = Instant::now();
    let mut record = Record {
        target: changed.target.clone(),
        run: run.to_string(),
        from: changed.to,
        to: changed.to,
        outcome: Outcome::Failed,
        ms: 0,
        backup: None,
        lint: Vec::new(),
        error: None,
        path: changed.path.clone(),
        identity: None,
        applied: Vec::new(),
    };
    let result = position(changed).and_then(|p| match p {
        Position::Back => Ok(None),
        Position::AtRun(first) => {
            // Read before the lock: what is at the path may change until the pipeline holds
            // it, so the same reading is made again under the lock.
            crate::failpoint::hit("fleet-rollback-before-lock");
            let mut p = pipeline(opts, &at(changed), false);
            p.under_lock = Some(still_at_run(changed, first));
            if let Some(shown) = &opts.confirmed {
                // Shown with nothing to run (or not shown at all): anything would be unseen.
                p.confirmed = Some(
                    shown
                        .iter()
                        .find(|s| s.planned.0 == changed.path)
                        .map(|s| s.planned.1.clone())
                        .unwrap_or_default(),
                );
            }
            crate::apply::rollback(&p, &format!("V{first}"), true, &mut |_| {})
                .map(Some)
                .map_err(super::discard_busy_copy)
        }
    });
    match result {
        Ok(None) => {
            record.from = changed.from;
            record.to = changed.from;
            record.outcome = Outcome::UpToDate;
        }
        Ok(Some(report)) => {
            record.to = changed.from;
            record.outcome = Outcome::RolledBack;
            record.backup = report.backup.map(|b| b.display().to_string());
        }
        Err(e) if is_busy(&e) && !last => return None,
        Err(e) => {
            record_failure(&mut record, &e, |_| Outcome::Failed);
        }
    }
    record.ms = ms(started);
    Some(record)
}
