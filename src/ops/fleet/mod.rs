//! `fleet`: one migration across many databases, in one process. Each database goes through
//! the apply pipeline unchanged ([`crate::ops::apply::check_entry`], then
//! [`crate::apply::apply`]: lock, backup, rehearsal, apply, checks), each all or nothing; there
//! is no atomicity across databases: the fleet converges, target by target, and a run can be
//! resumed or re-run (the databases' histories are the truth).
//!
//! The concerns, one file each: [`targets`] (which databases), [`own`] (schemactl's own files, never targets), [`preflight`] (what would
//! happen, writing nothing), [`pool`] (the worker threads and the busy queue), [`journal`] (the
//! run directory and its fsynced journal), [`report`] (records and summary), [`run`] (the
//! apply run: canary, max failures, stop), [`rollback`] (undo what a run changed), [`status`]
//! (the fleet's versions, read-only), [`witness`] (which database a run migrated).

pub mod journal;
pub mod own;
pub mod pool;
pub mod preflight;
pub mod report;
pub mod rollback;
pub mod run;
pub mod status;
pub mod targets;
pub mod witness;

use std::path::Path;

pub use preflight::{Preflight, Project, State, preflight};
pub use report::{Failure, Outcome, Record, Summary};
pub use rollback::rollback;
pub use run::{Applied, Count, Options, apply};
pub use status::status;
pub use targets::{Source, resolve, resolve_naming_skipped};

/// Returns the default number of workers: the number of cores.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// Returns a target path as the report writes it.
pub fn name(path: &Path) -> String {
    path.display().to_string()
}

/// Returns how long `started` ago was, in milliseconds.
fn ms(started: std::time::Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Returns true when `error` says another process holds the database: schemactl's lock, a
/// backup that waited out a writer, or SQLite's own lock.
fn is_busy(error: &crate::Error) -> bool {
    use crate::Error;
    let mut cause = Some(error);
    while let Some(e) = cause {
        match e {
            Error::Locked { .. } | Error::BackupBusy { .. } => return true,
            Error::Sqlite { cause, .. }
                if matches!(
                    cause.sqlite_error_code(),
                    Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
                ) =>
            {
                return true;
            }
            _ => {}
        }
        cause = e.cause();
    }
    false
}

/// Removes the safety copy a busy try took when that try changed nothing (the live run was
/// rolled back: [`crate::Error::LiveRunFailed`]): a database an application keeps busy is
/// tried several times per run, and each try's full copy of an unchanged database would
/// otherwise stay behind. Returns the error with the copy no longer named. The manifest goes
/// last, so an interrupted removal leaves a file that still lists, or nothing.
fn discard_busy_copy(error: crate::Error) -> crate::Error {
    use crate::Error;
    match error {
        Error::LiveRunFailed {
            source,
            backup: Some(copy),
        } if is_busy(&source) => {
            let removed = [
                crate::backup::sidecar_path(&copy),
                copy.clone(),
                crate::backup::manifest_path(&copy),
            ]
            .iter()
            .all(|f| std::fs::remove_file(f).is_ok() || !f.exists());
            Error::LiveRunFailed {
                source,
                // Kept (and named) when it could not be removed.
                backup: (!removed).then_some(copy),
            }
        }
        e => e,
    }
}

/// Records in `record` how a target's pipeline failed with `error`: busy, in the rehearsal, or
/// in the live run (with the backup that run names); `other` names the outcome of any other
/// error. The error itself goes into the record too.
fn record_failure(
    record: &mut report::Record,
    error: &crate::Error,
    other: impl FnOnce(&crate::Error) -> report::Outcome,
) {
    use crate::Error;
    use report::Outcome;
    record.outcome = match error {
        _ if is_busy(error) => Outcome::Busy,
        Error::RehearsalFailed { .. } => Outcome::RehearsalFailed,
        Error::LiveRunFailed { backup, .. } => {
            record.backup = backup.as_ref().map(|b| b.display().to_string());
            Outcome::ApplyFailed
        }
        e => other(e),
    };
    record.error = Some(match error {
        // A target that has gone since the run began (moved away, removed): said as such, and
        // nothing was created at its path (the fleet opens targets only when they exist).
        Error::MissingDatabase { .. } | Error::DatabaseMissing { .. } => {
            report::Failure::message(format!(
                "{} no longer exists: nothing was created at its path, nothing changed",
                crate::printable::line(&record.target)
            ))
        }
        _ => report::Failure::from_error(error),
    });
}
