//! The crate's error type.
//!
//! Library functions return [`Result`]. Messages are lowercase, have no trailing period, and
//! name the object or the place they are about. Errors in user files are [`SourceError`]s:
//! they carry the file, the line and column in their message, and a labelled snippet that
//! miette renders. Every other failure has its own variant carrying the objects it names, so
//! that a library user can match on it; the message is the variant's `Display`. This module is
//! at the bottom of the crate and imports none of it (SQLite's message, [`sqlite_message`],
//! is built here).

use std::path::PathBuf;

use miette::Diagnostic;

mod cause;
mod gate;
mod lines;
mod messages;
mod prune;
mod restore;
mod rollback;
mod source;

pub use gate::GateError;
pub use messages::{busy_timeout, fill_flag, sqlite_message};
use messages::{missing_table, no_backup, unidentifiable};
pub use prune::PruneError;
pub use restore::RestoreError;
pub use rollback::RollbackError;
pub use source::SourceError;

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in schemactl.
#[derive(Debug, thiserror::Error, Diagnostic)]
#[non_exhaustive]
pub enum Error {
    /// One or more errors in a schema file, each pointing at its place.
    #[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))]
    Source(#[related] Vec<SourceError>),
    /// A file could not be read or written.
    #[error("{action} {}: {cause}", crate::printable::path(&path))]
    Io {
        /// What was being done: "read", "write", ...
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        cause: std::io::Error,
    },
    /// SQLite refused something.
    #[error("{context}: {}", sqlite_message(cause))]
    Sqlite {
        /// What was being done.
        context: String,
        /// The cause.
        cause: rusqlite::Error,
    },
    /// A database object could not be read into the model.
    #[error("{object}: {message}")]
    Inspect {
        /// The object, e.g. `index "idx_x"`.
        object: String,
        /// Why.
        message: String,
    },
    /// A statement of a plan failed; the transaction was rolled back.
    #[error(
        "step {step} ({summary}) failed, nothing was changed: {message}\n  statement: {statement}"
    )]
    Apply {
        /// 1-based step number.
        step: usize,
        /// The step's summary.
        summary: String,
        /// The failing statement.
        statement: String,
        /// SQLite's message.
        message: String,
    },
    /// A statement of a migration failed; the transaction was rolled back.
    #[error(
        "statement {index} of migration {migration} failed, nothing was changed: {message}\n  statement: {statement}"
    )]
    MigrationStatement {
        /// 1-based number of the statement in the migration's SQL.
        index: usize,
        /// The migration: `V3__name (its file)`.
        migration: String,
        /// The failing statement's text.
        statement: String,
        /// SQLite's message, or why schemactl refused it.
        message: String,
        /// SQLite refused it on a constraint (SQLITE_CONSTRAINT).
        constraint: bool,
    },
    /// `foreign_key_check` found violations; the transaction was rolled back.
    #[error("foreign_key_check failed, nothing was changed: {}", .0.join("; "))]
    ForeignKeys(Vec<String>),
    /// A command-line usage error, raised by `cli/` only: library code returns the typed
    /// variants below.
    #[error("{0}")]
    Usage(String),

    // ---- The migration catalogue, the apply pipeline, plan --write and sync ----
    /// A migration cannot be used as it is: its file name, or refinery refuses its name.
    #[error("{migration}: {message}")]
    BadMigration {
        /// The migration's file, or `sync`.
        migration: String,
        /// What is wrong.
        message: String,
    },
    /// Two migrations have one version.
    #[error("{first} and {second} have the same version{}", version.map_or(String::new(), |v| format!(" {v}")))]
    DuplicateVersion {
        /// The first migration's file, or `sync`.
        first: String,
        /// The second one's.
        second: String,
        /// The version, when the message names it.
        version: Option<i32>,
    },
    /// An applied migration is no longer among the migrations.
    #[error(
        "migration V{version}__{name} was applied (on {applied_on}) but its file is missing: restore V{version}__{name}.sql in the migrations directory"
    )]
    MissingMigration {
        /// Its version.
        version: i32,
        /// Its name.
        name: String,
        /// When it was applied (RFC 3339).
        applied_on: String,
    },
    /// An applied migration changed since it was applied.
    #[error(
        "{migration} changed after it was applied (on {applied_on}): an applied migration never changes; restore it and write a new migration"
    )]
    Divergent {
        /// The migration's file, or `sync`.
        migration: String,
        /// When it was applied (RFC 3339).
        applied_on: String,
    },
    /// A pending migration has a version below the highest applied one.
    #[error(
        "{migration} (V{version}) is older than the applied V{applied}: give it a version above V{applied}"
    )]
    OutOfOrder {
        /// The migration's file, or `sync`.
        migration: String,
        /// Its version.
        version: i32,
        /// The highest applied version.
        applied: i32,
    },
    /// Pending migrations drop or narrow data and `allow_destructive` was not given.
    #[error(
        "{} drop(s) or narrow(s) data; re-run with --allow-destructive to apply: {}",
        if migrations.len() == 1 { "this migration" } else { "these migrations" },
        migrations.join(", ")
    )]
    DestructiveRefused {
        /// The migrations, as `V{n}__{name} (file)`.
        migrations: Vec<String>,
    },
    /// A schema could not be created in a scratch database.
    #[error("materialise the schema: {object}: {message}")]
    Materialise {
        /// The object that failed.
        object: String,
        /// SQLite's message.
        message: String,
    },
    /// A migration's SQL fails when replayed in memory.
    #[error("{migration} ({origin}) fails {how}: {message}")]
    Replay {
        /// `V{n}__{name}`.
        migration: String,
        /// Its file, or `sync`.
        origin: String,
        /// On what: "replayed from empty", "on the live schema".
        how: &'static str,
        /// SQLite's message.
        message: String,
    },
    /// refinery stopped the run; the message is the innermost cause's.
    #[error("{message}")]
    Runner {
        /// What failed, from the driver when it was the driver.
        message: String,
        /// refinery's error.
        #[source]
        source: refinery_core::Error,
    },
    /// A worker thread panicked.
    #[error("the {what} thread failed")]
    ThreadPanicked {
        /// What the thread did.
        what: &'static str,
    },
    /// The rehearsal on the backup failed; the live database was not touched.
    #[error("rehearsal failed, the live database was not touched: {source}")]
    RehearsalFailed {
        /// Why.
        #[source]
        source: Box<Error>,
    },
    /// The run on the live database failed and was rolled back.
    #[error("{source}\nnothing was changed; {}", backup.as_ref().map_or("no backup was taken".to_string(), |p| format!("the backup is {}", crate::printable::path(&p))))]
    LiveRunFailed {
        /// Why.
        #[source]
        source: Box<Error>,
        /// The backup taken before, if any.
        backup: Option<PathBuf>,
    },
    /// The live data has rows the change would reject.
    #[error(
        "the live data does not fit the change; fix the rows, or pass --ignore-lint (the change will then fail and roll back, or keep what its rollback cannot give back):\n  {}",
        findings.iter().map(|f| crate::printable::line(f)).collect::<Vec<_>>().join("\n  ")
    )]
    LintBlocked {
        /// The blocking findings, one line each (a line break in a row's value is escaped:
        /// each stays one line).
        findings: Vec<String>,
    },
    /// SQLite stopped the run on a constraint: `source`, with the rows that break the rule.
    #[error("{source}\nthe rows that break the rule, read again after the run rolled back:\n  {}", findings.iter().map(|f| crate::printable::line(f)).collect::<Vec<_>>().join("\n  "))]
    RowsBreakRules {
        /// SQLite's refusal, where it stopped.
        #[source]
        source: Box<Error>,
        /// One line per rule: the table, the rows, the rule, up to five of them.
        findings: Vec<String>,
    },
    /// A migration file to be written exists already.
    #[error("{} exists; schemactl never overwrites a migration", crate::printable::path(&path))]
    MigrationExists {
        /// The file.
        path: PathBuf,
    },
    /// A migration has no stash.
    #[error("V{version} has no stash")]
    NoStash {
        /// The migration's version.
        version: i32,
    },
    /// The directory a database should be in does not exist (nothing is created in it).
    #[error(
        "directory {} does not exist: {} cannot be created or replaced there (create the directory, or check --database)",
        crate::printable::path(&directory),
        crate::printable::path(&database)
    )]
    MissingDirectory {
        /// The database asked for.
        database: PathBuf,
        /// Its directory, which is missing.
        directory: PathBuf,
    },
    /// A value the caller gave is not valid.
    #[error("{what}: {message}")]
    InvalidArgument {
        /// The value, named.
        what: String,
        /// What is wrong with it.
        message: String,
    },
    /// JSON could not be written or read.
    #[error("{context}: {source}")]
    Json {
        /// What was being done.
        context: &'static str,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    // ---- end of the catalogue's block ----
    // -- Rollback, the migration driver's checks and the schema loader (issue 13, plan/apply).
    /// The database to work on does not exist.
    #[error("database {} does not exist", crate::printable::path(&path))]
    DatabaseMissing {
        /// The database file.
        path: PathBuf,
    },
    /// A rollback was asked for, but no migration is applied.
    #[error("no migration is applied: there is nothing to roll back")]
    NothingApplied,
    /// A rollback target names a version that is not applied.
    #[error("V{version} is not applied")]
    NotApplied {
        /// The version asked for.
        version: i32,
    },
    /// A rollback target names no applied migration.
    #[error("no applied migration is named `{name}`")]
    NoAppliedMigrationNamed {
        /// The name asked for.
        name: String,
    },
    /// A rollback target names more than one applied migration.
    #[error("more than one applied migration is named `{name}`: give its version")]
    AmbiguousMigrationName {
        /// The name asked for.
        name: String,
    },
    /// Migrations after the rollback target are applied, and cascade was not asked for.
    #[error(
        "later migrations are applied: {}; roll them back first, or pass --cascade to roll them back too, newest first, all or nothing",
        .later.join(", ")
    )]
    LaterMigrationsApplied {
        /// Their stems, `V{n}__{name}`, newest first.
        later: Vec<String>,
    },
    /// A migration to roll back has no reverse SQL, stored or in a file.
    #[error(
        "{migration} has no reverse: none was stored when it was applied, and {} does not exist",
        crate::printable::path(&path)
    )]
    NoReverse {
        /// Its stem, `V{n}__{name}`.
        migration: String,
        /// The rollback file that would have it.
        path: PathBuf,
    },
    /// A row of refinery's history table cannot be read.
    #[error("_schemactl_history: version {version} has an invalid {field}")]
    BadHistoryRow {
        /// The row's version.
        version: i32,
        /// The unreadable field.
        field: &'static str,
    },
    /// refinery ran a migration the driver was not given.
    #[error("refinery ran a migration schemactl did not plan")]
    UnplannedMigration,
    /// A table lost or gained rows while migrations that do not insert or delete ran.
    #[error(
        "table \"{table}\"{renamed} had {before} row(s) before the migrations and {after} after; nothing was changed"
    )]
    RowCountChanged {
        /// The table.
        table: String,
        /// ` (now "b")` when the migrations renamed it (its rows are counted under its new
        /// name), else empty.
        renamed: String,
        /// Its rows before.
        before: u64,
        /// Its rows after.
        after: u64,
    },
    /// A rollback drops data and `--allow-destructive` was not given.
    #[error(
        "the rollback drops data; nothing was changed; re-run with --allow-destructive to roll back (what it drops is stashed, and applying the same migrations again brings it back):\n  {}",
        .drops.join("\n  ")
    )]
    RollbackDestructive {
        /// What it drops, one line each.
        drops: Vec<String>,
    },
    /// A rollback must bring back a NOT NULL column without a default into rows that have no
    /// stashed value, and no `--fill` gives one.
    #[error(
        "the rollback brings back column \"{table}\".\"{column}\", NOT NULL without a default, and {cause}: nothing can fill its {rows} row(s); nothing was changed; give the value with --fill {} (a lossy rollback), restore a backup taken before the migration, or, instead of rolling back, write a migration that adds the column back with a default",
        fill_flag(table, column)
    )]
    Unfillable {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// The rows that would need a value.
        rows: i64,
        /// Why they have no value: `its stash was dropped`, ...
        cause: &'static str,
    },
    /// A rollback would drop objects added by hand that it cannot create again.
    #[error(
        "the rollback would drop what was added by hand and cannot create it again: {}; nothing was changed; drop it by hand first if it can go",
        .objects.join(", ")
    )]
    RollbackLosesHandMade {
        /// Each object, with SQLite's reason.
        objects: Vec<String>,
    },
    /// A step would stash data it could not pair with its rows again.
    #[error("{}", unidentifiable(table, *without_rowid))]
    StashUnidentifiable {
        /// The table.
        table: String,
        /// True when the table is WITHOUT ROWID (the step removes its key).
        without_rowid: bool,
    },
    /// A stash would read a table with a column named like the stash's own (the table, the
    /// column).
    #[error(
        "table \"{table}\" has a column \"{column}\": names starting with _schemactl_ are schemactl's own, and a stash of this table would confuse its values with its bookkeeping; nothing was changed; rename the column first"
    )]
    ReservedColumn { table: String, column: String },
    /// VACUUM would renumber the rowids a stash finds its rows by (each stash, its table).
    #[error(
        "VACUUM renumbers the rowids of tables without an INTEGER PRIMARY KEY, and {} find rows of such tables by rowid: after it, their rollback could not find those rows again; nothing was changed; roll back first, or drop those stashes with `schemactl stash drop VERSION` (their rollback becomes lossy), then vacuum",
        .stashes.join(", ")
    )]
    VacuumWouldMisplace { stashes: Vec<String> },
    /// VACUUM would renumber the rowids a full-text index finds its content rows by.
    #[error(
        "VACUUM renumbers the rowids of tables without an INTEGER PRIMARY KEY, and these full-text indexes find the rows of such a table (their content table, or the table under their content view) by rowid: {}; after it, their searches would return other rows, or none; nothing was changed; give that table an INTEGER PRIMARY KEY (and set the index's content_rowid, or the view's rowid column, to it), or drop the index, vacuum and create it again",
        .indexes.join(", ")
    )]
    VacuumWouldBreakIndex { indexes: Vec<String> },
    /// Migrations removed rows and `--allow-destructive` was not given.
    #[error(
        "rows would disappear; nothing was changed; re-run with --allow-destructive to allow it:\n  {}",
        .tables.join("\n  ")
    )]
    RowsRemoved {
        /// Each table, `name: before → after`.
        tables: Vec<String>,
    },
    /// `integrity_check` or `quick_check` of a table failed during the rehearsal.
    #[error("rehearsal: {check} of \"{table}\" failed: {result}")]
    IntegrityFailed {
        /// `integrity_check` or `quick_check`.
        check: &'static str,
        /// The table.
        table: String,
        /// What the check said.
        result: String,
    },
    /// A plan, run on the schema alone before anything else, does not produce the schema it
    /// was made for (a planner bug: nothing runs).
    #[error(
        "the {direction} plan does not produce the declared schema (a schemactl bug), nothing was changed:\n{difference}"
    )]
    PlanIncorrect {
        /// `forward` or `reverse`.
        direction: &'static str,
        /// What differs, one line per object, or the statement that failed.
        difference: String,
    },
    /// A plan would leave a view or trigger that SQLite can no longer resolve (it reads a
    /// column or table the plan drops): every statement that fires or reads it would fail.
    #[error(
        "the plan leaves a view or trigger that no longer works: {message}; nothing was changed: change or drop it in schema/ with the change"
    )]
    PlanBreaks {
        /// SQLite's message, naming the object and what it cannot find.
        message: String,
    },
    /// The row-level proof found rows the migrations changed in a way they do not describe;
    /// the transaction was rolled back.
    #[error("row proof: table \"{table}\": {detail}")]
    RowProof {
        /// The table (its name after the migrations).
        table: String,
        /// What differs: the columns, the row counts, up to five keys.
        detail: String,
    },
    /// The schema after the migrations is not the one they should produce.
    #[error("the schema after the migrations is not the schema they should produce:\n{difference}")]
    UnexpectedSchema {
        /// The difference, one line per object.
        difference: String,
    },
    /// A schema directory has no YAML files.
    #[error("no *.yaml schema files in {}", crate::printable::path(&path))]
    NoSchemaFiles {
        /// The directory.
        path: PathBuf,
    },

    // --- Storage: databases, locks, backups, restores, prunes (db/, backup/, ops/). ---
    /// A command that works on an existing database was given a path with no file.
    #[error("database {} does not exist", crate::printable::path(&path))]
    MissingDatabase {
        /// The path given.
        path: PathBuf,
    },
    /// Another schemactl holds the lock of the database, and waiting was not asked for.
    #[error(
        "{holder} holds the lock on {}; try again later, or drop --no-wait to wait",
        crate::printable::path(&database)
    )]
    Locked {
        /// The database.
        database: PathBuf,
        /// Who holds it, as the lock file says: `another schemactl (pid 42)`.
        holder: String,
    },
    /// A backup waited for a writer that held the database for longer than it waits.
    #[error(
        "back up {}: the database stayed busy for {seconds} s; nothing was changed",
        crate::printable::path(&database)
    )]
    BackupBusy {
        /// The database.
        database: PathBuf,
        /// How long the backup waited, in seconds.
        seconds: u64,
    },
    /// A restore refused or stopped, for the reason named; nothing was restored.
    #[error(transparent)]
    Restore(#[from] RestoreError),
    /// A prune refused or stopped (nothing was pruned).
    #[error(transparent)]
    Prune(#[from] PruneError),
    /// A rollback refused before anything ran: its stashes cannot place their values, or a
    /// rule it brings back does not fit the rows; nothing was changed.
    #[error(transparent)]
    Rollback(#[from] RollbackError),
    /// A run refused for what the database holds beside its history; nothing was changed.
    #[error(transparent)]
    Gate(#[from] GateError),
    /// `PRAGMA integrity_check` found a problem in a database file.
    #[error("{}: integrity_check failed:\n  {}", crate::printable::path(&path), result.replace('\n', "\n  "))]
    IntegrityCheckFailed {
        /// The database checked (for a backup, the database it is a copy of).
        path: PathBuf,
        /// The problems SQLite reported, one a line: the first few, then how many more.
        result: String,
    },
    /// A backup's bytes do not hash to what its sidecar or manifest records.
    #[error(
        "{}: checksum mismatch (recorded {recorded}, file {actual}): the backup is corrupt",
        crate::printable::path(&file)
    )]
    ChecksumMismatch {
        /// The backup file.
        file: PathBuf,
        /// The sha256 recorded.
        recorded: String,
        /// The sha256 of the file.
        actual: String,
    },
    /// A backup has neither a sha256 sidecar nor a manifest.
    #[error("{}: no sha256 sidecar or manifest to verify against", crate::printable::path(&file))]
    NoChecksum {
        /// The backup file.
        file: PathBuf,
    },
    /// No backup of the database in the directory fits what was asked for.
    #[error("{}", no_backup(dir, database, *others))]
    NoBackup {
        /// The backups directory.
        dir: PathBuf,
        /// The database whose backups were looked for.
        database: PathBuf,
        /// How many files of other databases (or safety copies) the directory holds.
        others: usize,
    },
    /// The chosen backup failed verification; nothing was restored.
    #[error("{source}; nothing was restored")]
    BackupRejected {
        /// Why it failed.
        #[source]
        source: Box<Error>,
    },
    /// Every candidate backup failed verification; nothing was restored.
    #[error("no backup passes verification; nothing was restored")]
    NoValidBackup,
    /// After a restore, the database's row counts differ from the backup's.
    #[error(
        "the restored database's row counts differ from the backup's; the previous database is {}",
        crate::printable::path(&before)
    )]
    RestoreMismatch {
        /// The before-restore backup of what the database held.
        before: PathBuf,
    },
    /// A database has no table of that name.
    #[error("{}", missing_table(place.as_deref(), table))]
    MissingTable {
        /// Which database: `the live database`, a backup's path; None when it goes without
        /// saying.
        place: Option<String>,
        /// The table.
        table: String,
    },
    /// A table restore found no column the backup's table shares with the live one.
    #[error("the backup's \"{table}\" shares no column with the live one")]
    NoCommonColumns {
        /// The table.
        table: String,
    },
    /// A retention rule names a table the database does not have.
    #[error("retention rule of \"{table}\": the database has no such table")]
    RetentionTable {
        /// The table the rule names.
        table: String,
    },
    /// A prune's archive file already exists.
    #[error("{} already exists; wait a second and prune again", crate::printable::path(&path))]
    ArchiveExists {
        /// The archive.
        path: PathBuf,
    },
    /// Not enough free space for VACUUM.
    #[error(
        "VACUUM needs about {need} bytes free (twice the database) and {} has {free}; nothing was changed",
        crate::printable::path(&place)
    )]
    NoSpace {
        /// The directory short of space.
        place: PathBuf,
        /// Bytes needed.
        need: u64,
        /// Bytes free.
        free: u64,
    },
    /// A configuration file is not valid TOML for schemactl.
    #[error("{}: {message}", crate::printable::path(&path))]
    BadConfig {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A rename hint (`renamed_from`) names an object the current schema does not have, or
    /// one it still has beside the new one (`missing` then says both exist).
    #[error(
        "{}{object}: renamed_from \"{from}\", but {missing}",
        place.as_ref().map(|p| format!("{p}: ")).unwrap_or_default()
    )]
    RenameSource {
        /// Where the hint is written (`file:line:column`), when known.
        place: Option<String>,
        /// The renamed object: `table "t"`, `column "t"."c"`.
        object: String,
        /// The old name the hint gives.
        from: String,
        /// What is missing: `there is no table "x"`.
        missing: String,
    },
    /// Two rename hints (`renamed_from`) name the same old object.
    #[error("{first} and {second} are both renamed_from \"{from}\"")]
    RenamedTwice {
        /// The first object renamed from it: `table "t"`, `column "t"."c"`.
        first: String,
        /// The second.
        second: String,
        /// The old name both give.
        from: String,
    },
    /// Backup retention was asked for without a rule.
    #[error("prune needs --keep-last N or --keep-days D")]
    NoRetentionRule,
    /// The database cannot be read, and the backups taken at its path are of more than one
    /// database: which ones are its own cannot be told.
    #[error(
        "{} cannot be read, and backups of {} databases were taken at its path ({}): name the backup file to restore",
        crate::printable::path(&database),
        identities.len(),
        identities.join(", ")
    )]
    AmbiguousOwner {
        /// The database.
        database: PathBuf,
        /// The identities recorded at its path.
        identities: Vec<String>,
    },
    /// The backup named was taken from another database, and restoring it was not confirmed.
    #[error(
        "{} is a backup of another database ({}), not of {}: pass --from-other-database to restore it anyway; nothing was restored",
        crate::printable::path(&file),
        source_database,
        crate::printable::path(&database)
    )]
    OtherDatabase {
        /// The backup.
        file: PathBuf,
        /// The database it was taken from, as its manifest records it.
        source_database: String,
        /// The database that was to be restored.
        database: PathBuf,
    },
    /// A table restore was asked for on a database that cannot be read.
    #[error(
        "{} cannot be read ({reason}): restore the whole database instead; nothing was restored",
        crate::printable::path(&database)
    )]
    LiveUnreadable {
        /// The database.
        database: PathBuf,
        /// Why.
        reason: String,
    },
    /// A table restore was asked for one of schemactl's own tables.
    #[error("\"{table}\" is schemactl's own bookkeeping table: it is not restored on its own")]
    BookkeepingTable {
        /// The table.
        table: String,
    },
    // --- end of the storage block. ---
    // --- adopting existing databases (issue 17). ---
    /// `apply` in a project without migration files: there is nothing to apply.
    #[error("no migration files in {}: nothing to apply (write the first with `schemactl plan --write NAME`, or bring a database to schema/ with `schemactl sync`)", crate::printable::path(&dir))]
    NoMigrations {
        /// The migrations directory.
        dir: PathBuf,
    },
    /// `apply` on a database that has tables but no history: the migrations would fail on
    /// tables that exist; it has to be baselined first.
    #[error("{} has tables but no migration history: {matched}; nothing was changed (no backup taken)", crate::printable::path(&database))]
    NeedsBaseline {
        /// The database.
        database: PathBuf,
        /// Which version it matches and the command to run, in words.
        matched: String,
    },
    /// `baseline` found no version whose schema is the live one.
    #[error("{} matches no version of the migrations; the nearest is V{nearest} ({lines} line(s) differ):\n{diff}nothing was recorded; to record V{nearest} anyway, after reading the diff: `schemactl baseline V{nearest}`", crate::printable::line(&database.display().to_string()))]
    NoBaselineMatch {
        /// The database.
        database: PathBuf,
        /// The nearest version.
        nearest: i32,
        /// How many dump lines differ.
        lines: usize,
        /// The unified diff, expected (the version) then actual (the database).
        diff: String,
    },
    /// `baseline` found several versions with the live schema (data-only migrations).
    #[error("{} matches {} (they build the same schema): say which one it is at, e.g. `schemactl baseline V{}`; nothing was recorded", crate::printable::path(&database), versions.iter().map(|v| format!("V{v}")).collect::<Vec<_>>().join(", "), versions.last().copied().unwrap_or_default())]
    AmbiguousBaseline {
        /// The database.
        database: PathBuf,
        /// The matching versions.
        versions: Vec<i32>,
    },
    /// `baseline` on a database that already has a history.
    #[error("{} already has a migration history (V{version} applied): baseline is for databases without one; nothing was recorded", crate::printable::path(&database))]
    AlreadyVersioned {
        /// The database.
        database: PathBuf,
        /// Its current version.
        version: i32,
    },
    /// The lock file is a symbolic link or not a regular file: it is never followed.
    #[error("the lock file {} is not a regular file (a symbolic link?): schemactl does not follow it; remove it and try again", crate::printable::path(&path))]
    LockNotAFile {
        /// The lock file.
        path: PathBuf,
    },
    /// `baseline` on a database without a table: there is nothing to adopt.
    #[error("{} has no table to adopt: `schemactl apply` builds it from the migrations", crate::printable::path(&database))]
    NothingToBaseline {
        /// The database.
        database: PathBuf,
    },
    /// The live schema changed between the comparison and the recording of a baseline.
    #[error("the schema of {} changed while it was compared; nothing was recorded: run baseline again", crate::printable::path(&database))]
    BaselineRaced {
        /// The database.
        database: PathBuf,
    },
    /// `sync` in a project whose migration files are not all applied to the database.
    #[error("{} has migration files pending: {}; sync never runs a migration file: apply them first (`schemactl apply`), baseline the database if it already has their schema (`schemactl baseline`), or run sync in a folder without migration files; nothing was changed", crate::printable::path(&database), pending.join(", "))]
    FilesPending {
        /// The database.
        database: PathBuf,
        /// The pending files, as `V{n}__{name}`.
        pending: Vec<String>,
    },
    /// A fleet run whose concurrent backups do not fit on a file system.
    #[error("the backups of {jobs} database(s) at once need about {need} bytes in {} and its file system has {free}; free space or lower --jobs; nothing was changed", crate::printable::path(&place))]
    FleetNoSpace {
        /// A backups directory on that file system.
        place: PathBuf,
        /// How many backups run at once.
        jobs: usize,
        /// Bytes needed.
        need: u64,
        /// Bytes free.
        free: u64,
    },
    /// What a command was about to run is not what it showed and the user confirmed.
    #[error("what would run on {} changed after it was shown (shown: {}; now: {}); nothing was changed: run the command again to see what it runs now", crate::printable::path(&database), shown.join(", "), if now.is_empty() { "nothing".to_string() } else { now.join(", ") })]
    ChangedSinceShown {
        /// The database.
        database: PathBuf,
        /// What was shown, as `V{n}__{name}`.
        shown: Vec<String>,
        /// What would run now, each marked when it was not shown or was edited since.
        now: Vec<String>,
    },
    /// A read-only command found a hot journal (`DB-journal`) a crashed writer left in DB.
    #[error("a crashed writer left {}-journal (a transaction it never finished): a read-only command cannot roll it back; open {} read-write once (e.g. `schemactl backup --database {}`) to roll it back, then run this again; nothing was changed", crate::printable::path(.0), crate::printable::path(.0), crate::printable::path(.0))]
    HotJournal(PathBuf),
}
