//! Why a run was refused before anything changed because of what the database holds beside
//! what its history built: each reason names the database and the objects, and says what to do.

use std::path::PathBuf;

/// A run refused before anything changed (nothing was changed).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GateError {
    /// Migrations would lose triggers without dropping them by name: a rebuilt table's
    /// triggers not created again.
    #[error(
        "the migrations lose {} without dropping it by name (SQLite drops a table's triggers with the table, and the rebuilt table does not get them back); nothing was changed. Create it again after the rebuild, or write `DROP TRIGGER` for it if losing it is meant",
        crate::printable::line(&triggers.join(", "))
    )]
    TriggersLost {
        /// `trigger x on t`, each.
        triggers: Vec<String>,
    },
    /// The pending migrations would drop columns, indexes, triggers or views added by hand
    /// since they were written (the history does not build them), and `--allow-destructive`
    /// was not given.
    #[error(
        "the pending migrations would drop what was added to {} by hand since they were written: {}; nothing was changed: add it to schema/ and write the migration again (`plan --write`), or re-run with --allow-destructive to drop it (the pre-apply backup keeps it)",
        crate::printable::path(&database),
        objects.join(", ")
    )]
    HandMadeLost {
        /// The database.
        database: PathBuf,
        /// Each object, a column with its count of values.
        objects: Vec<String>,
    },
    /// The applied migrations cannot be replayed, so what was added by hand cannot be told
    /// apart, and a rollback would drop indexes, triggers or views that the migrations it
    /// undoes did not create; `--allow-destructive` was not given.
    #[error(
        "the applied migrations of {} cannot be replayed ({}), so what was added to it by hand cannot be told apart, and the rollback would drop {}, which the migrations it undoes did not create; nothing was changed: re-run with --allow-destructive to drop them (the pre-rollback backup keeps them)",
        crate::printable::path(&database),
        crate::printable::line(why),
        crate::printable::line(&objects.join(", "))
    )]
    RollbackDropsUntold {
        /// The database.
        database: PathBuf,
        /// Why the history does not replay.
        why: String,
        /// Each object: `index "i" on "t"`.
        objects: Vec<String>,
    },
    /// The pending migrations bring in a rule (NOT NULL, CHECK, UNIQUE, a foreign key) that
    /// rows of the database break: the run would fail on them, after the backup.
    #[error(
        "the pending migrations bring in a rule that rows of {} break; fix those rows first; nothing was changed:\n  {}",
        crate::printable::path(&database),
        findings.iter().map(|f| crate::printable::line(f)).collect::<Vec<_>>().join("\n  ")
    )]
    RowsUnfit {
        /// The database.
        database: PathBuf,
        /// One line per rule: the table, the rows, the rule, up to five of them.
        findings: Vec<String>,
    },
}
