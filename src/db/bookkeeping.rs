//! The `_schemactl_*` tables schemactl keeps in a user's database, each with its DDL: every
//! other module names them through these constants.
//!
//! Their names all start with `_schemactl`, which is how [`super::Tables::User`] and the schema
//! comparisons tell them from the user's tables.

/// refinery's history: one row per applied migration (version, name, applied_on, checksum).
/// refinery creates it itself, inside the first migration's transaction.
pub const HISTORY_TABLE: &str = "_schemactl_history";

/// schemactl's record of each applied migration, with its forward and reverse SQL, so that a
/// rollback never depends on files still being there.
pub const MIGRATIONS_TABLE: &str = "_schemactl_migrations";

/// Creates [`MIGRATIONS_TABLE`] when it is missing.
pub const CREATE_MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS _schemactl_migrations (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  kind TEXT NOT NULL,
  forward TEXT NOT NULL,
  reverse TEXT,
  checksum TEXT NOT NULL,
  applied_at TEXT NOT NULL
)";

/// The prefix of stash tables, `_schemactl_stash_{version}_{step}`: the rows and columns a
/// migration dropped, kept for its rollback.
pub const STASH_PREFIX: &str = "_schemactl_stash_";

/// The versions whose stash was dropped (their rollback is lossy).
pub const STASH_DROPPED_TABLE: &str = "_schemactl_stash_dropped";

/// Creates [`STASH_DROPPED_TABLE`] when it is missing.
pub const CREATE_STASH_DROPPED: &str = "CREATE TABLE IF NOT EXISTS _schemactl_stash_dropped (version INTEGER PRIMARY KEY, dropped_at TEXT NOT NULL)";

/// The AUTOINCREMENT counters the rollback stashes of a dropped stash kept, one row per
/// (version, table): a later rollback that brings such a counter back lower is gated by them.
pub const DROPPED_COUNTERS_TABLE: &str = "_schemactl_dropped_counters";

/// Creates [`DROPPED_COUNTERS_TABLE`] when it is missing.
pub const CREATE_DROPPED_COUNTERS: &str = "CREATE TABLE IF NOT EXISTS _schemactl_dropped_counters (version INTEGER NOT NULL, name TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (version, name))";

/// The history of committed prunes: one row per prune, naming its archive. That no row names
/// an archive is no proof that its prune never committed (a restore brings back an older
/// history): see [`PRUNE_INTENTS_TABLE`].
pub const PRUNES_TABLE: &str = "_schemactl_prunes";

/// Creates [`PRUNES_TABLE`] when it is missing.
pub const CREATE_PRUNES_TABLE: &str = "CREATE TABLE IF NOT EXISTS _schemactl_prunes (id TEXT PRIMARY KEY, archive TEXT, pruned_at TEXT NOT NULL, rows INTEGER NOT NULL)";

/// The prunes started and not (yet) committed: a prune records its id and its archive's
/// absolute path here, committed before it writes anything into the archives folder, and the
/// transaction that deletes the rows removes the row again. A row here is the proof that
/// this database's prune never committed, and names every file it may have left.
pub const PRUNE_INTENTS_TABLE: &str = "_schemactl_prune_intents";

/// Creates [`PRUNE_INTENTS_TABLE`] when it is missing.
pub const CREATE_PRUNE_INTENTS_TABLE: &str = "CREATE TABLE IF NOT EXISTS _schemactl_prune_intents (id TEXT PRIMARY KEY, archive TEXT NOT NULL, started_at TEXT NOT NULL)";

/// The prefix of the temporary tables (in `temp`) holding the keys of the rows a prune
/// removes, `_schemactl_prune_keys_{n}`.
pub const PRUNE_KEYS_PREFIX: &str = "_schemactl_prune_keys_";

/// In a prune's archive file (not the live database): which prune wrote it, from which
/// database, when.
pub const ARCHIVE_TABLE: &str = "_schemactl_prune";

/// Creates [`ARCHIVE_TABLE`] in an archive.
pub const CREATE_ARCHIVE_TABLE: &str =
    "CREATE TABLE _schemactl_prune (id TEXT, database TEXT, created_at TEXT)";

/// The prune archives merged into the database, per table (`restore ARCHIVE --table T --mode
/// merge`): a table without a primary key takes every row of its prune's archive once, and
/// this is how a second merge knows the rows are back.
pub const ARCHIVE_MERGES_TABLE: &str = "_schemactl_archive_merges";

/// Creates [`ARCHIVE_MERGES_TABLE`] when it is missing.
pub const CREATE_ARCHIVE_MERGES_TABLE: &str = "CREATE TABLE IF NOT EXISTS _schemactl_archive_merges (prune_id TEXT NOT NULL, tbl TEXT NOT NULL, merged_at TEXT NOT NULL, rows INTEGER NOT NULL, PRIMARY KEY (prune_id, tbl))";

/// The database's identity: one row naming it (an id, where and when it was created, the path
/// it was last written at), so that backups are told apart by the database they were taken
/// from, whatever its path. See [`super::identity`].
pub const IDENTITY_TABLE: &str = "_schemactl_identity";

/// Creates [`IDENTITY_TABLE`] when it is missing.
pub const CREATE_IDENTITY_TABLE: &str = "CREATE TABLE IF NOT EXISTS _schemactl_identity (
  id TEXT NOT NULL,
  created_at TEXT NOT NULL,
  created_path TEXT NOT NULL,
  path TEXT NOT NULL,
  file TEXT
)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ddl_creates_the_named_tables() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        for (name, ddl) in [
            (MIGRATIONS_TABLE, CREATE_MIGRATIONS_TABLE),
            (STASH_DROPPED_TABLE, CREATE_STASH_DROPPED),
            (DROPPED_COUNTERS_TABLE, CREATE_DROPPED_COUNTERS),
            (PRUNES_TABLE, CREATE_PRUNES_TABLE),
            (PRUNE_INTENTS_TABLE, CREATE_PRUNE_INTENTS_TABLE),
            (ARCHIVE_TABLE, CREATE_ARCHIVE_TABLE),
            (ARCHIVE_MERGES_TABLE, CREATE_ARCHIVE_MERGES_TABLE),
            (IDENTITY_TABLE, CREATE_IDENTITY_TABLE),
        ] {
            conn.execute_batch(ddl).unwrap();
            assert!(super::super::table_exists(&conn, name).unwrap(), "{name}");
        }
        assert!(STASH_DROPPED_TABLE.starts_with(STASH_PREFIX));
    }
}
