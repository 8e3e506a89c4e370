//! Why a prune refused or stopped: each reason names the table, the foreign key or the
//! trigger it is about (nothing was pruned).

use super::messages::prune_mismatch;

/// A prune refused before changing anything, or stopped and rolled back.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PruneError {
    /// Rows that do not cascade reference rows a prune removes.
    #[error(
        "\"{table}\" has {rows} row(s) that reference rows the prune removes ({via}), and the reference does not cascade; nothing was pruned"
    )]
    Blocked {
        /// The referencing table.
        table: String,
        /// How many of its rows.
        rows: u64,
        /// The foreign key.
        via: String,
    },
    /// A prune refused before changing anything, naming the cause.
    #[error("{reason}; nothing was pruned")]
    Refused {
        /// The cause: a trigger, a foreign key, a table, named.
        reason: String,
    },
    /// A prune would archive or delete a different number of rows than it selected.
    #[error("{}", prune_mismatch(table, *done, *selected, *archiving))]
    Mismatch {
        /// The table.
        table: String,
        /// Rows archived (or deleted).
        done: u64,
        /// Rows selected.
        selected: u64,
        /// True when archiving, false when deleting.
        archiving: bool,
    },
}
