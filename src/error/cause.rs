//! An error's causes, ours only: through the boxed ones (a rehearsal's, a live run's) and
//! through foreign errors (refinery's) down to the next one of ours.

use super::Error;

impl Error {
    /// The next error of ours that caused this one.
    pub fn cause(&self) -> Option<&Error> {
        match self {
            // A Box<Error> as `source` would show the inner error's own source, skipping it.
            Error::RehearsalFailed { source }
            | Error::LiveRunFailed { source, .. }
            | Error::RowsBreakRules { source, .. } => Some(source),
            other => {
                let mut cause = std::error::Error::source(other);
                while let Some(c) = cause {
                    if let Some(ours) = c.downcast_ref::<Error>() {
                        return Some(ours);
                    }
                    cause = c.source();
                }
                None
            }
        }
    }

    /// Returns true when SQLite stopped a migration's statement on a constraint, or its
    /// `foreign_key_check` found orphans: rows break a rule the run brings in.
    pub fn is_constraint_failure(&self) -> bool {
        let mut next = Some(self);
        while let Some(e) = next {
            if matches!(
                e,
                Error::MigrationStatement {
                    constraint: true,
                    ..
                } | Error::ForeignKeys(_)
            ) {
                return true;
            }
            next = e.cause();
        }
        false
    }
}
