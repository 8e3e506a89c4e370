//! The fleet apply run: preflight, then the canary (the first targets in order, no failure
//! allowed), then the rest on the worker pool until done, `max_failures` failures, or a stop
//! (Ctrl-C); each finished target journaled (fsynced) and reported as it finishes, the ones
//! never started reported `skipped`. `resume` continues a run: targets it finished (applied
//! or up to date) are not run again; every other one is.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use super::journal::{APPLY_JOURNAL, Journal, Run};
use super::pool::{self, Attempt};
use super::preflight::{self, Preflight, Project, State, Target};
use super::report::{Failure, Outcome, Record, Summary};
use super::{is_busy, ms, name, record_failure};
use crate::db::identity::canonical;
use crate::error::{Error, Result};

/// A number of targets, or a percentage of them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Count {
    /// This many.
    Absolute(usize),
    /// This percentage of the targets, rounded up.
    Percent(f64),
}

impl Count {
    /// Returns how many of `total` targets this is: a percentage is rounded up, so that any
    /// percentage above zero is at least one target.
    pub fn of(self, total: usize) -> usize {
        match self {
            Count::Absolute(n) => n.min(total),
            Count::Percent(p) => ((total as f64 * p / 100.0).ceil() as usize).min(total),
        }
    }
}

impl std::str::FromStr for Count {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let bad = || format!("`{s}` is not a count (`N`) or a percentage (`P%`)");
        match s.strip_suffix('%') {
            Some(p) => {
                let p: f64 = p.trim().parse().map_err(|_| bad())?;
                if !(0.0..=100.0).contains(&p) {
                    return Err(format!("`{s}`: a percentage is between 0% and 100%"));
                }
                Ok(Count::Percent(p))
            }
            None => s.trim().parse().map(Count::Absolute).map_err(|_| bad()),
        }
    }
}

/// What `fleet apply` is asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    /// The project the fleet is brought to.
    pub project: Project,
    /// The targets, resolved (see [`super::resolve`]); with `resume` and none given, the run's.
    pub targets: Option<Vec<PathBuf>>,
    /// The run directories.
    pub runs: PathBuf,
    /// Where each database's backups go: a path, or a `{dir}` template.
    pub backups: PathBuf,
    /// Worker threads.
    pub jobs: usize,
    /// The canary: the first targets, run first, no failure allowed.
    pub canary: Count,
    /// Stop after the canary.
    pub canary_only: bool,
    /// Start no new target once this many have failed.
    pub max_failures: Option<Count>,
    /// Continue this run (its id).
    pub resume: Option<String>,
    /// Apply migrations that drop data.
    pub allow_destructive: bool,
    /// Set (by a Ctrl-C handler, say) to stop starting new targets.
    pub stop: Arc<AtomicBool>,
    /// The migration files of the preview the user confirmed ([`Preflight::files`]); None
    /// loads them. Either way each target runs exactly what the run's preflight planned for
    /// it, or is refused (`ChangedSinceShown`), never a file added or edited since.
    pub files: Option<Vec<crate::migrations::Migration>>,
}

/// What a fleet apply did.
#[derive(Debug, Clone)]
pub struct Applied {
    /// The run.
    pub run: Run,
    /// What preflight found.
    pub preflight: Preflight,
    /// One record per target, in the targets' order.
    pub records: Vec<Record>,
    /// The summary.
    pub summary: Summary,
    /// Why targets were skipped, when some were: the canary failed, max failures, a stop.
    pub stopped: Option<String>,
}

/// Runs the fleet: preflight, canary, the rest. `on_record` receives each record as its
/// target finishes (from the worker threads), and the skipped ones at the end.
pub fn apply(opts: &Options, on_record: &(dyn Fn(&Record) + Sync)) -> Result<Applied> {
    let started = Instant::now();
    let resumed = match &opts.resume {
        Some(id) => Some(Run::open(&opts.runs, id)?),
        None => None,
    };
    let targets = match (&opts.targets, &resumed) {
        (Some(t), _) => t.clone(),
        (None, Some(run)) => run.targets()?,
        (None, None) => {
            return Err(Error::Usage(
                "name the targets (--targets or --targets-from)".into(),
            ));
        }
    };
    let files = match &opts.files {
        Some(files) => files.clone(),
        None => preflight::load(&opts.project)?,
    };
    let preflight = preflight::preflight_with(
        &opts.project,
        files,
        &targets,
        opts.jobs,
        true,
        Some(&opts.backups),
    )?;
    if let Some(d) = preflight.disk.iter().find(|d| !d.fits()) {
        return Err(Error::FleetNoSpace {
            place: d.directory.clone(),
            jobs: opts.jobs,
            need: d.needed,
            free: d.free,
        });
    }
    let run = match resumed {
        Some(run) => run,
        None => Run::create(
            &opts.runs,
            &targets,
            &serde_json::json!({
                "command": "fleet apply",
                "started": crate::db::now_rfc3339(),
                "migrations": opts.project.migrations.display().to_string(),
                "head": preflight.head,
                "targets": targets.len(),
                "backups": opts.backups.display().to_string(),
            }),
        )?,
    };
    // Matched by where the database is, not by how it was named (a resume may be started
    // from another directory, or name the targets differently).
    let mut finished: BTreeMap<PathBuf, Record> = BTreeMap::new();
    for r in run.records(APPLY_JOURNAL)? {
        if r.outcome.converged() {
            finished.insert(canonical(&run.locate(&r)?), r);
        }
    }
    let journal = Journal::open(&run, APPLY_JOURNAL)?;
    let mut records: Vec<Option<Record>> = vec![None; preflight.targets.len()];
    let emit = |r: &Record| -> Result<()> {
        journal.write(r)?;
        on_record(r);
        Ok(())
    };
    // Finished by the run before (resume), and refused by preflight: no pipeline.
    let mut runnable = Vec::new();
    for (i, t) in preflight.targets.iter().enumerate() {
        if let Some(done) = finished.get(&canonical(&t.target)) {
            on_record(done);
            records[i] = Some(done.clone());
        } else if t.state.refused() {
            let r = refused(t, &run.id);
            emit(&r)?;
            records[i] = Some(r);
        } else {
            runnable.push(i);
        }
    }
    let failures = AtomicUsize::new(0);
    let limit = opts.max_failures.map(|c| c.of(runnable.len()).max(1));
    let canary = opts.canary.of(runnable.len());
    let journal_error: std::sync::Mutex<Option<Error>> = std::sync::Mutex::new(None);
    let mut stopped = None;
    let phases: [(&[usize], bool); 2] = [(&runnable[..canary], true), (&runnable[canary..], false)];
    for (phase, is_canary) in phases {
        if phase.is_empty() {
            continue;
        }
        let stop = || {
            opts.stop.load(Ordering::SeqCst)
                || journal_error.lock().is_ok_and(|e| e.is_some())
                || (is_canary && failures.load(Ordering::SeqCst) > 0)
                || limit.is_some_and(|l| failures.load(Ordering::SeqCst) >= l)
        };
        let work = |k: usize, last: bool| {
            let t = &preflight.targets[phase[k]];
            let r = match one(opts, t, &preflight.files, &run.id, last) {
                Some(r) => r,
                None => return Attempt::Busy,
            };
            if r.outcome.is_failure() {
                failures.fetch_add(1, Ordering::SeqCst);
            }
            if let Err(e) = emit(&r) {
                // The journal cannot be written: stop starting targets, report the error.
                if let Ok(mut slot) = journal_error.lock() {
                    slot.get_or_insert(e);
                }
            }
            Attempt::Done(r)
        };
        for (k, r) in pool::run(phase.len(), opts.jobs, &stop, &work)
            .into_iter()
            .enumerate()
        {
            records[phase[k]] = r;
        }
        if let Some(e) = journal_error.lock().ok().and_then(|mut e| e.take()) {
            return Err(e);
        }
        let failed = failures.load(Ordering::SeqCst);
        stopped = if opts.stop.load(Ordering::SeqCst) {
            Some("interrupted: no new target was started".to_string())
        } else if is_canary && failed > 0 {
            Some(format!(
                "the canary failed ({failed} of {} target(s)): no other target was started",
                phase.len()
            ))
        } else if limit.is_some_and(|l| failed >= l) {
            Some(format!(
                "{failed} target(s) failed (--max-failures {}): no new target was started",
                limit.unwrap_or_default()
            ))
        } else if is_canary && opts.canary_only {
            Some("--canary-only: the canary passed; no other target was started".to_string())
        } else {
            None
        };
        if stopped.is_some() {
            break;
        }
    }
    let records: Vec<Record> = records
        .into_iter()
        .zip(&preflight.targets)
        .map(|(r, t)| {
            r.unwrap_or_else(|| {
                let r = skipped(t, &run.id);
                on_record(&r);
                r
            })
        })
        .collect();
    let mut summary = Summary::of(&run.id, &records, started.elapsed());
    if opts.resume.is_some() {
        // Before this resume, each database was where preflight found it (a target the
        // run had finished is at its new version, not at the one its record started from).
        summary.versions_before = BTreeMap::new();
        for t in &preflight.targets {
            *summary
                .versions_before
                .entry(super::report::version_name(t.from))
                .or_insert(0) += 1;
        }
    }
    Ok(Applied {
        run,
        preflight,
        records,
        summary,
        stopped,
    })
}

/// The record of target `t` in run `run` with `outcome`, still at its version before the run.
fn record(t: &Target, run: &str, outcome: Outcome) -> Record {
    Record {
        target: name(&t.target),
        run: run.to_string(),
        from: t.from,
        to: t.from,
        outcome,
        ms: 0,
        backup: None,
        lint: t.lint.clone(),
        error: None,
        path: Some(canonical(&t.target).display().to_string()),
        identity: None,
        applied: Vec::new(),
    }
}

/// The record of a target preflight refused.
fn refused(t: &Target, run: &str) -> Record {
    let outcome = match t.state {
        State::Ahead => Outcome::Ahead,
        State::Divergent => Outcome::Divergent,
        State::NotAdopted => Outcome::NotAdopted,
        _ => Outcome::Failed,
    };
    Record {
        error: t.error.clone().map(Failure::message),
        ..record(t, run, outcome)
    }
}

/// The record of a target never started.
fn skipped(t: &Target, run: &str) -> Record {
    record(t, run, Outcome::Skipped)
}

/// Runs one target through the pipeline: exactly the migrations preflight planned for it, with
/// the SQL of `files`. Returns None when it was busy and `last` is false.
fn one(
    opts: &Options,
    t: &Target,
    files: &[crate::migrations::Migration],
    run: &str,
    last: bool,
) -> Option<Record> {
    let planned = t
        .pending
        .iter()
        .map(|stem| {
            let sql = files
                .iter()
                .find(|m| m.stem() == *stem)
                .map(|m| m.forward.clone());
            (stem.clone(), sql.unwrap_or_default())
        })
        .collect();
    let started = Instant::now();
    let apply_opts = crate::ops::apply::Options {
        pipeline: crate::apply::Options {
            database: t.target.clone(),
            migrations: opts.project.migrations.clone(),
            rollbacks: opts.project.rollbacks.clone(),
            backups: crate::config::backups_for(&opts.backups, &t.target),
            // A busy database goes back to the queue instead of holding a worker.
            wait: false,
            skip_backup: false,
            skip_rehearsal: false,
            allow_destructive: opts.allow_destructive,
            dry_run: false,
            verify: false,
            extra: Vec::new(),
            confirmed: Some(planned),
            inspected: None,
            files_read: None,
            planned_on: None,
            existing_only: true,
            under_lock: None,
        },
        schema: opts.project.schema.clone(),
        exclude: opts.project.exclude.clone(),
    };
    let result = crate::ops::apply::check_entry(&apply_opts)
        .and_then(|()| {
            crate::apply::apply_leaving_rows_to_rehearsal(&apply_opts.pipeline, &mut |_| {})
        })
        .map_err(super::discard_busy_copy);
    let mut record = record(t, run, Outcome::Failed);
    match result {
        Ok(report) => {
            record.from = report.version_before;
            if report.migrations.is_empty() {
                record.outcome = Outcome::UpToDate;
                record.to = report.version_before;
            } else {
                record.outcome = Outcome::Applied;
                record.to = report.version_after;
                // Which database this was, for a rollback of the run to find it again (or
                // refuse another one found at its path). Unreadable now: no witness, and a
                // rollback of the run refuses it, saying so.
                if let Ok(w) = super::witness::read(&t.target, record.from, record.to) {
                    record.identity = Some(w.identity);
                    record.applied = w.rows;
                }
            }
            record.backup = report.backup.map(|b| b.display().to_string());
        }
        Err(e) if is_busy(&e) && !last => return None,
        Err(e) => {
            let head = t.to;
            record_failure(&mut record, &e, |e| match e {
                Error::MissingMigration { version, .. } if Some(*version) > head => Outcome::Ahead,
                Error::MissingMigration { .. }
                | Error::Divergent { .. }
                | Error::OutOfOrder { .. } => Outcome::Divergent,
                Error::NeedsBaseline { .. } => Outcome::NotAdopted,
                _ => Outcome::Failed,
            });
        }
    }
    record.ms = ms(started);
    Some(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_percentages_of_the_targets() {
        assert_eq!("3".parse::<Count>().unwrap().of(10), 3);
        assert_eq!("30".parse::<Count>().unwrap().of(10), 10);
        assert_eq!("5%".parse::<Count>().unwrap().of(1000), 50);
        assert_eq!("1%".parse::<Count>().unwrap().of(10), 1);
        assert_eq!("0%".parse::<Count>().unwrap().of(10), 0);
        assert!("150%".parse::<Count>().is_err());
        assert!("x".parse::<Count>().is_err());
        assert!("-1".parse::<Count>().is_err());
    }
}
