//! Why a restore was refused or stopped, or a file is no backup: each reason names the file,
//! database or table it is about, and says what to do.

use std::path::PathBuf;

/// A restore refused or stopped (nothing was restored), or a file that is no backup.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RestoreError {
    /// A table restore was asked for one of SQLite's own tables, which SQLite writes itself.
    #[error(
        "\"{table}\" is SQLite's own table: it cannot be restored by table; restore the whole database (`schemactl restore BACKUP` without --table); ANALYZE rebuilds sqlite_stat1"
    )]
    SqliteTable {
        /// The table.
        table: String,
    },
    /// A restore waited for a writer that held the database for longer than it waits.
    #[error("{} stayed busy; nothing was restored", crate::printable::path(&database))]
    Busy {
        /// The database.
        database: PathBuf,
    },
    /// A writer holds the database and waiting was not asked for.
    #[error(
        "a writer holds {}: stop it, or pass --wait; nothing was restored",
        crate::printable::path(&database)
    )]
    WriterActive {
        /// The database.
        database: PathBuf,
    },
    /// The backup file is empty (a failed copy, `/dev/null`): it holds no database.
    #[error(
        "{} is empty: an empty file is no backup (a failed copy?)",
        crate::printable::path(&file)
    )]
    EmptyBackup {
        /// The file.
        file: PathBuf,
    },
    /// The backup is not a regular file (a FIFO, a device, a directory).
    #[error(
        "{} is not a regular file ({kind}): a backup is a file",
        crate::printable::path(&file)
    )]
    NotAFile {
        /// The file.
        file: PathBuf,
        /// What it is instead.
        kind: &'static str,
    },
    /// The file is a prune archive: the rows prune removed, not a backup of the database.
    #[error(
        "{} is a prune archive (the rows prune removed from {tables}), not a backup of the database: restoring it whole would replace the database by those rows; put them back with `schemactl restore {} --table TABLE --mode merge`; nothing was restored",
        crate::printable::path(&file),
        crate::printable::path(&file)
    )]
    PruneArchive {
        /// The archive.
        file: PathBuf,
        /// The tables it holds rows of, listed.
        tables: String,
    },
    /// The live database is in WAL mode and the backup has another page size: SQLite cannot
    /// change the page size of a WAL database, so the backup API cannot write it.
    #[error(
        "{} is in WAL mode with a page size of {live} bytes, and the backup's page size is {backup} bytes: SQLite cannot change a WAL database's page size. With the application stopped, run `PRAGMA journal_mode=DELETE` on {}, restore, then `PRAGMA journal_mode=WAL`; nothing was restored and no safety copy was kept",
        crate::printable::path(&database),
        crate::printable::path(&database)
    )]
    WalPageSize {
        /// The live database.
        database: PathBuf,
        /// Its page size.
        live: u32,
        /// The backup's page size.
        backup: u32,
    },
    /// A table restore was asked for a virtual table (FTS5, R*Tree, ...).
    #[error(
        "\"{table}\" is a virtual table (USING {module}): its rows live in its shadow tables and its module's index, which a one-table restore cannot put back consistently; restore the whole database instead; nothing was restored"
    )]
    VirtualTable {
        /// The table.
        table: String,
        /// Its module (fts5, rtree, ...).
        module: String,
    },
    /// A table restore was asked for a shadow table, where a virtual table keeps its data.
    #[error(
        "\"{table}\" is a shadow table of a virtual table (FTS5, R*Tree, ...): it holds part of that table's data and index, which a one-table restore cannot put back consistently; restore the whole database instead; nothing was restored"
    )]
    ShadowTable {
        /// The table.
        table: String,
    },
    /// A table restore would leave a contentless full-text index, kept in step with the
    /// table by its triggers (suspended for the restore), without the rows it writes.
    #[error(
        "the full-text index \"{index}\" is contentless (content='') and kept in step with \"{table}\" by its trigger \"{trigger}\", which a table restore suspends: it would miss the rows the restore writes (or keep those it deletes), and a contentless index keeps no text to be rebuilt from; restore the whole database, or insert the rows through the table so that its triggers index them; nothing was restored"
    )]
    ContentlessIndex {
        /// The table.
        table: String,
        /// The contentless index.
        index: String,
        /// The trigger that writes into it.
        trigger: String,
    },
    /// A merge would leave out backup rows whose key a different live row now holds.
    #[error(
        "{count} row(s) of the backup's \"{table}\" have a key that a different live row now holds ({keys}): a merge would leave them out, so nothing was restored; to restore the other rows and leave those in the backup, pass --skip-taken"
    )]
    KeysTaken {
        /// The table.
        table: String,
        /// How many backup rows.
        count: usize,
        /// Their keys, as SQL literals (the first few, then how many more).
        keys: String,
    },
    /// A prune archive's rows were merged into a table without a primary key already.
    #[error(
        "the rows of prune {prune} were merged into \"{table}\" already ({at}): the table has no primary key, so they cannot be told from identical rows, and a second merge would insert them twice; nothing was restored"
    )]
    ArchiveMerged {
        /// The table.
        table: String,
        /// The prune's id.
        prune: String,
        /// When it was merged.
        at: String,
    },
}
