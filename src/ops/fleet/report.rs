//! The fleet's report: one record per target (what the journal holds too), and the summary
//! that closes it: counts per outcome, versions before and after, databases per minute and
//! the failures.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// What happened to one target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The pending migrations ran.
    Applied,
    /// Nothing was pending.
    UpToDate,
    /// A fleet rollback undid what the run applied.
    RolledBack,
    /// The rehearsal on the backup failed; the database was not touched.
    RehearsalFailed,
    /// The live run failed and was rolled back; the database is as it was.
    ApplyFailed,
    /// Another process held the database for every attempt.
    Busy,
    /// The database has versions this project does not know: refused.
    Ahead,
    /// An applied migration changed since (checksum or name), or is missing: refused.
    Divergent,
    /// The database has tables but no history (`schemactl baseline` adopts it): refused.
    NotAdopted,
    /// Anything else failed (a missing file, a destructive migration without
    /// `--allow-destructive`, an unreadable database): the error says what.
    Failed,
    /// Never started: the canary failed, `--max-failures` was reached, Ctrl-C, or
    /// `--canary-only`.
    Skipped,
}

impl Outcome {
    /// Returns true when the target is where the command wanted it.
    pub fn converged(self) -> bool {
        matches!(
            self,
            Outcome::Applied | Outcome::UpToDate | Outcome::RolledBack
        )
    }

    /// Returns true for a failure of the pipeline itself (what `--max-failures` and the canary
    /// count); refusals known before the run (ahead, divergent, not adopted), busy targets and
    /// skipped ones do not count.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            Outcome::RehearsalFailed | Outcome::ApplyFailed | Outcome::Failed
        )
    }

    /// Returns the outcome's name, as the report writes it.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::UpToDate => "up_to_date",
            Outcome::RolledBack => "rolled_back",
            Outcome::RehearsalFailed => "rehearsal_failed",
            Outcome::ApplyFailed => "apply_failed",
            Outcome::Busy => "busy",
            Outcome::Ahead => "ahead",
            Outcome::Divergent => "divergent",
            Outcome::NotAdopted => "not_adopted",
            Outcome::Failed => "failed",
            Outcome::Skipped => "skipped",
        }
    }
}

/// Why a target failed: the migration and statement when one failed, and the message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// The migration whose statement failed: `V3__name (its file)`.
    pub migration: Option<String>,
    /// The failing statement's text.
    pub statement: Option<String>,
    /// The whole message.
    pub message: String,
}

impl Failure {
    /// Describes `error`, finding the failing migration and statement in its causes.
    pub fn from_error(error: &Error) -> Failure {
        let mut failure = Failure {
            migration: None,
            statement: None,
            message: error.to_string(),
        };
        let mut cause = Some(error);
        while let Some(e) = cause {
            match e {
                Error::MigrationStatement {
                    migration,
                    statement,
                    ..
                } => {
                    failure.migration = Some(migration.clone());
                    failure.statement = Some(statement.clone());
                    break;
                }
                Error::Apply {
                    summary, statement, ..
                } => {
                    failure.migration = Some(summary.clone());
                    failure.statement = Some(statement.clone());
                    break;
                }
                _ => {}
            }
            cause = e.cause();
        }
        failure
    }

    /// A failure that is only a message.
    pub fn message(message: impl Into<String>) -> Failure {
        Failure {
            migration: None,
            statement: None,
            message: message.into(),
        }
    }
}

/// One target's record, in the report and in the run's journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The database, as resolved from the targets.
    pub target: String,
    /// The run's id.
    pub run: String,
    /// The version before.
    pub from: Option<i32>,
    /// The version after.
    pub to: Option<i32>,
    /// What happened.
    pub outcome: Outcome,
    /// How long it took, in milliseconds.
    pub ms: u64,
    /// The backup taken before the change.
    pub backup: Option<String>,
    /// The preflight's lint findings on this database.
    pub lint: Vec<String>,
    /// Why it failed.
    pub error: Option<Failure>,
    /// The database's canonical (absolute) path: what a resume or a rollback acts on,
    /// from whatever directory it is started in. Journals written before it was recorded
    /// lack it (see [`super::journal::Run::locate`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// For a target the run applied migrations to: the identity of the database it migrated
    /// (see [`super::witness`]), which a fleet rollback requires of the database it finds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// For a target the run applied migrations to: the history rows it added.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub applied: Vec<super::witness::Row>,
}

/// The summary closing a report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// The run's id.
    pub run: String,
    /// How many targets.
    pub targets: usize,
    /// How many targets per outcome.
    pub outcomes: BTreeMap<String, usize>,
    /// How many targets were at each version before (`none`: no history).
    pub versions_before: BTreeMap<String, usize>,
    /// How many targets are at each version after.
    pub versions_after: BTreeMap<String, usize>,
    /// Targets processed (not skipped) per minute of wall time.
    pub databases_per_minute: f64,
    /// Wall time, in milliseconds.
    pub ms: u64,
    /// Whether every target converged.
    pub converged: bool,
    /// The targets that did not converge, with why.
    pub failures: Vec<FailureLine>,
}

/// A target that did not converge, in the summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailureLine {
    /// The database.
    pub target: String,
    /// What happened.
    pub outcome: Outcome,
    /// Why, when there was an error.
    pub message: Option<String>,
}

/// Returns a version as the summary names it.
pub fn version_name(v: Option<i32>) -> String {
    v.map_or("none".to_string(), |v| format!("V{v}"))
}

impl Summary {
    /// Sums up `records` of run `run`, which took `elapsed`.
    pub fn of(run: &str, records: &[Record], elapsed: Duration) -> Summary {
        let mut outcomes = BTreeMap::new();
        let mut before = BTreeMap::new();
        let mut after = BTreeMap::new();
        let mut failures = Vec::new();
        for r in records {
            *outcomes.entry(r.outcome.name().to_string()).or_insert(0) += 1;
            *before.entry(version_name(r.from)).or_insert(0) += 1;
            *after.entry(version_name(r.to)).or_insert(0) += 1;
            if !r.outcome.converged() {
                failures.push(FailureLine {
                    target: r.target.clone(),
                    outcome: r.outcome,
                    message: r.error.as_ref().map(|e| e.message.clone()),
                });
            }
        }
        let processed = records
            .iter()
            .filter(|r| r.outcome != Outcome::Skipped)
            .count();
        let minutes = elapsed.as_secs_f64() / 60.0;
        Summary {
            run: run.to_string(),
            targets: records.len(),
            outcomes,
            versions_before: before,
            versions_after: after,
            databases_per_minute: if minutes > 0.0 {
                (processed as f64 / minutes).round()
            } else {
                0.0
            },
            ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
            converged: failures.is_empty(),
            failures,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(target: &str, from: Option<i32>, to: Option<i32>, outcome: Outcome) -> Record {
        Record {
            target: target.into(),
            run: "r".into(),
            from,
            to,
            outcome,
            ms: 1,
            backup: None,
            lint: Vec::new(),
            error: None,
            path: None,
            identity: None,
            applied: Vec::new(),
        }
    }

    #[test]
    fn the_summary_counts_outcomes_and_versions_and_lists_what_did_not_converge() {
        let records = [
            record("a.db", Some(2), Some(3), Outcome::Applied),
            record("b.db", Some(3), Some(3), Outcome::UpToDate),
            record("c.db", Some(2), Some(2), Outcome::RehearsalFailed),
            record("d.db", None, None, Outcome::Skipped),
        ];
        let s = Summary::of("r", &records, Duration::from_secs(30));
        assert_eq!(s.targets, 4);
        assert_eq!(s.outcomes["applied"], 1);
        assert_eq!(s.outcomes["skipped"], 1);
        assert_eq!(s.versions_before["V2"], 2);
        assert_eq!(s.versions_after["V3"], 2);
        assert_eq!(s.versions_after["none"], 1);
        assert_eq!(s.databases_per_minute, 6.0);
        assert!(!s.converged);
        let failed: Vec<&str> = s.failures.iter().map(|f| f.target.as_str()).collect();
        assert_eq!(failed, ["c.db", "d.db"]);
    }

    #[test]
    fn a_failing_statement_is_found_under_the_rehearsal_failure() {
        let e = Error::RehearsalFailed {
            source: Box::new(Error::MigrationStatement {
                index: 2,
                migration: "V3__x (migrations/V3__x.sql)".into(),
                statement: "UPDATE t SET a = NULL".into(),
                message: "NOT NULL constraint failed: t.a".into(),
                constraint: true,
            }),
        };
        let f = Failure::from_error(&e);
        assert_eq!(f.migration.as_deref(), Some("V3__x (migrations/V3__x.sql)"));
        assert_eq!(f.statement.as_deref(), Some("UPDATE t SET a = NULL"));
        assert!(f.message.contains("NOT NULL constraint failed"));
    }
}
