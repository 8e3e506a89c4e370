//! Which messages have line breaks of their own, for printing them to people
//! ([`crate::printable`]).

use super::{Error, GateError, RollbackError};

impl Error {
    /// Returns true when the message has line breaks of its own (a list of rows, the failed
    /// statement): printed for people, only the other control characters of the names in it
    /// are escaped; every other message is one line, its names' line breaks escaped too.
    pub fn has_line_breaks(&self) -> bool {
        // The rehearsal's message is its cause's, after one line of its own.
        if let Error::RehearsalFailed { source } = self {
            return source.has_line_breaks();
        }
        matches!(
            self,
            Error::Source(_)
                | Error::Apply { .. }
                | Error::MigrationStatement { .. }
                | Error::LiveRunFailed { .. }
                | Error::LintBlocked { .. }
                | Error::RowsBreakRules { .. }
                | Error::RollbackDestructive { .. }
                | Error::RowsRemoved { .. }
                | Error::Rollback(RollbackError::Unfit { .. })
                | Error::PlanIncorrect { .. }
                | Error::UnexpectedSchema { .. }
                | Error::IntegrityCheckFailed { .. }
                | Error::NoBaselineMatch { .. }
                | Error::Gate(GateError::RowsUnfit { .. })
        )
    }
}
