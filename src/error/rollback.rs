//! Why a rollback was refused before anything ran: a migration's stash cannot put its values
//! back in their rows (rowids renumbered or changed since), or the rows written since break a
//! rule the rollback brings back. Each names the stash or the rule, the table and the rows.

/// A rollback refused before anything ran; nothing was changed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RollbackError {
    /// The rollback turns a table's INTEGER PRIMARY KEY back into a plain column: the rows
    /// keep its values as their rowids, and the rowids they had before the migration that
    /// made it the key (it renumbered them) do not come back.
    #[error(
        "the rollback cannot give the rows of table \"{table}\" their rowids back: the migration renumbered them to the values of its INTEGER PRIMARY KEY \"{key}\", and nothing kept the old ones; nothing was changed; re-run with --lossy to roll back with the rowids they have now, or restore a backup taken before the migration"
    )]
    RowidsLost {
        /// The table.
        table: String,
        /// Its INTEGER PRIMARY KEY now.
        key: String,
    },
    /// The rollback brings an AUTOINCREMENT counter back, and the rollback stash that kept
    /// it at the ids issued under a later migration was dropped: it comes back lower, and
    /// those ids may be issued again.
    #[error(
        "the rollback brings back the AUTOINCREMENT counter of {at} (what its rows and the stashes left give), but the stash of V{version}, which kept that counter at {kept}, was dropped: the counter goes back below the ids issued under V{version}, and they may be issued again; nothing was changed; re-run with --lossy to roll back so, or restore a backup taken before V{version} was rolled back"
    )]
    CounterLost {
        /// The migration whose rollback stash kept the counter.
        version: i32,
        /// The table and the counter it comes back at.
        at: String,
        /// The counter the dropped stash kept (or what it stood for, when not remembered).
        kept: String,
    },
    /// A migration's stash finds none of its rows (their rowids or keys changed since).
    #[error(
        "stash {stash} of table \"{table}\" finds none of its {stashed} row(s): their rowids or keys changed since the migration (a one-table restore renumbers rowids), so its values cannot go back to their rows; nothing was changed; re-run with --lossy to roll back without them, or restore a backup taken before the migration"
    )]
    StashLost {
        /// The stash table.
        stash: String,
        /// The table.
        table: String,
        /// Rows the stash holds.
        stashed: i64,
    },
    /// A stash keyed by rowid alone finds rows at its rowids that are not the rows it kept.
    #[error(
        "stash {stash} of table \"{table}\" finds its rowids on {rows} row(s) whose other columns changed since the migration (updated, or renumbered by VACUUM): their values cannot be placed safely; nothing was changed; re-run with --lossy to roll back without them, or restore a backup taken before the migration"
    )]
    StashMoved {
        /// The stash table.
        stash: String,
        /// The table.
        table: String,
        /// Rows found at their rowids with other values.
        rows: i64,
    },
    /// A stash keyed by rowid alone has rows that find no row, and they may not have been
    /// deleted: their rows may have been renumbered (VACUUM).
    #[error(
        "stash {stash} of table \"{table}\" finds no row for {rows} of its row(s), and {why}: their values cannot be placed safely; nothing was changed; re-run with --lossy to roll back without them, or restore a backup taken before the migration"
    )]
    StashRenumbered {
        /// The stash table.
        stash: String,
        /// The table.
        table: String,
        /// Stashed rows that find no row.
        rows: i64,
        /// Whether they were renumbered, or may have been.
        why: &'static str,
    },
    /// A rollback would bring back a rule (NOT NULL, CHECK, UNIQUE) that rows written since
    /// the migration break.
    #[error(
        "the rollback brings back a rule that rows written since the migration break; fix those rows first; nothing was changed:\n  {}",
        findings.join("\n  ")
    )]
    Unfit {
        /// One line per rule: the table, the rows, the rule, up to five of them.
        findings: Vec<String>,
    },
}
