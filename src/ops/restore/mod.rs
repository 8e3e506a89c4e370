//! `schemactl restore`, in two calls: [`prepare`] chooses the backup among the database's own
//! (see [`choose`]), verifies it and builds the [`Preview`] shown before confirming; then
//! [`restore`] (the whole database) or [`restore_table`] (one table) puts it in place.
//!
//! A whole restore keeps the current database as a `before-restore` safety copy, written like
//! any backup, taken under the same write lock as the overwrite (see [`whole`]): no other
//! connection's commit can fall between them. When the live file cannot be opened, or that
//! copy fails its integrity check, the live file (with its `-wal` and `-journal`) is moved
//! aside intact instead, never deleted. The backup is copied in through SQLite's backup API,
//! which takes SQLite's own locks and writes through its journal or WAL: all or nothing, and
//! never a file copied over a database that has a `-wal` beside it. The database keeps its own
//! identity. A database named through a symbolic link is the file the link points to: that
//! file is restored (or moved aside), never the link.
//!
//! A file that holds no database (empty, not a regular file) or a prune archive (the rows a
//! prune removed, see `ops::prune`) is refused as a whole backup.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rusqlite::Connection;

use crate::backup::{self, BUSY_WAIT, Detail, Kind, Manifest, is_corrupt};
use crate::db::Tables;
use crate::db::bookkeeping::{ARCHIVE_TABLE, IDENTITY_TABLE};
use crate::db::identity::{self, Identity, Owner};
use crate::error::{Error, RestoreError, Result};
use crate::ops::catalog;

mod choose;
pub mod columns;
mod merge;
mod relink;
mod table;
mod whole;

use choose::{Chosen, candidates, pick_verified, preview};
pub use choose::{Preview, TableCounts, render};
pub use table::{MergeOptions, TableMode};

/// Which backup to restore.
#[derive(Debug, Clone)]
pub enum Source {
    /// This file.
    File(PathBuf),
    /// The newest backup of the database.
    Latest,
    /// The newest backup of the database taken at or before this RFC 3339 time.
    At(String),
}

/// What `restore` is asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    /// The live database.
    pub database: PathBuf,
    /// The backups directory.
    pub dir: PathBuf,
    /// The backup.
    pub source: Source,
    /// Walk back past backups that fail verification.
    pub latest_valid: bool,
    /// Wait for a writer instead of refusing.
    pub wait: bool,
    /// Let `--latest` and `--at` choose schemactl's safety copies too.
    pub include_safety: bool,
    /// Restore a file whose manifest names another database.
    pub from_other_database: bool,
    /// Accept a backup with neither sidecar nor manifest on integrity_check alone.
    pub without_checksum: bool,
}

/// A backup chosen and verified, ready to restore: see [`Prepared::preview`].
pub struct Prepared {
    /// What the restore would put in place.
    pub preview: Preview,
    owner: Owner,
    chosen: Chosen,
}

/// Chooses and verifies the backup, and says what restoring it would do. Changes nothing.
pub fn prepare(opts: &Options, say: &mut dyn FnMut(&str)) -> Result<Prepared> {
    let opts = &resolved(opts);
    // Where the database is to be is checked first: a missing directory is never created.
    if let Some(directory) = opts
        .database
        .parent()
        .filter(|d| !d.as_os_str().is_empty() && !d.is_dir())
    {
        return Err(Error::MissingDirectory {
            database: opts.database.clone(),
            directory: directory.to_path_buf(),
        });
    }
    let owner = catalog::owner(&opts.database, &opts.dir)?;
    let candidates = candidates(opts, &owner)?;
    say("verifying the backup ...");
    let (chosen, skipped) = pick_verified(candidates, opts)?;
    for (file, why) in &skipped {
        say(&format!(
            "skipping {}: {why}",
            crate::printable::path(&file)
        ));
    }
    let preview = preview(opts, &owner, &chosen, skipped);
    Ok(Prepared {
        preview,
        owner,
        chosen,
    })
}

/// The options with the database named by the file a symbolic link points to (through every
/// link of a chain): a restore writes, or moves aside, that file and never the link.
fn resolved(opts: &Options) -> Options {
    Options {
        database: crate::db::resolve_links(&opts.database),
        ..opts.clone()
    }
}

impl Prepared {
    /// Refuses a file that is no backup of a whole database: a prune archive holds only the
    /// rows a prune removed (restore them with `--table T --mode merge`).
    pub fn refuse_whole(&self) -> Result<()> {
        if !self.chosen.counts.contains_key(ARCHIVE_TABLE) {
            return Ok(());
        }
        let tables: Vec<String> = self
            .chosen
            .counts
            .keys()
            .filter(|t| !t.starts_with("_schemactl"))
            .map(|t| format!("\"{t}\""))
            .collect();
        Err(RestoreError::PruneArchive {
            file: self.chosen.from.clone(),
            tables: tables.join(", "),
        }
        .into())
    }
}

/// What a restore did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Restored {
    /// The backup restored.
    pub from: PathBuf,
    /// The before-restore safety copy of what the database held (None when there was no
    /// database, or it could not be read and was moved aside).
    pub before: Option<PathBuf>,
    /// Where the unreadable live file (and its `-wal`, `-journal`) was moved, kept intact.
    pub moved_aside: Vec<PathBuf>,
    /// Every table's rows, as restored.
    pub rows: BTreeMap<String, u64>,
    /// What interrupted runs had left in the backups folder, removed first.
    pub swept: Vec<PathBuf>,
}

/// The live database as found under the lock.
enum Live {
    /// Readable: its connection and identity (the flag: not recorded in it yet; boxed, the
    /// largest variant by far).
    Ok(Connection, Box<Identity>, bool),
    /// There is none (or it is an empty file).
    Missing,
    /// It cannot be opened or read: why.
    Unreadable(String),
}

/// Opens the live database under the lock: refuses while a writer holds it, and reads the
/// identity it has or gets (recorded once the restore succeeded: a failure leaves the
/// database as it was). A file SQLite calls corrupt is [`Live::Unreadable`].
fn open(opts: &Options) -> Result<Live> {
    if std::fs::metadata(&opts.database).map_or(true, |m| m.len() == 0) {
        return Ok(Live::Missing);
    }
    let opened = crate::db::open_live(&opts.database).and_then(|live| {
        refuse_while_written(&live, &opts.database, opts.wait)?;
        let (identity, new) = identity::planned(&live, &opts.database)?;
        Ok((live, identity, new))
    });
    match opened {
        Ok((live, identity, new)) => Ok(Live::Ok(live, Box::new(identity), new)),
        Err(e) if is_corrupt(&e) => Ok(Live::Unreadable(e.to_string())),
        Err(e) => Err(e),
    }
}

/// Refuses a backup of another database unless it was asked for.
fn gate(opts: &Options, prepared: &Prepared) -> Result<()> {
    if prepared.preview.this_database || opts.from_other_database {
        return Ok(());
    }
    if prepared.preview.kind.is_none() {
        return Err(Error::InvalidArgument {
            what: prepared.chosen.from.display().to_string(),
            message: format!(
                "it has no manifest, so nothing shows it is a backup of {}: pass --from-other-database to restore it anyway; nothing was restored",
                crate::printable::path(&opts.database)
            ),
        });
    }
    Err(Error::OtherDatabase {
        file: prepared.chosen.from.clone(),
        source_database: prepared.preview.source_database.clone(),
        database: opts.database.clone(),
    })
}

/// Keeps the live database as a `before-restore` safety copy, written like a backup. Err(None)
/// when the copy fails its integrity check (the live database is corrupt).
fn keep_before(
    live: &Connection,
    opts: &Options,
    owner: &Owner,
) -> std::result::Result<PathBuf, Option<Error>> {
    let pending = backup::take(live, &opts.database, &opts.dir, "before-restore")
        .map_err(|e| (!is_corrupt(&e)).then_some(e))?;
    let manifest = Manifest::new(
        &opts.database,
        owner,
        "before-restore",
        Kind::Safety,
        Detail::Plain {},
    );
    pending
        .finish(backup::Compression::Zstd, manifest)
        .map(|w| w.path)
        .map_err(|e| (!is_corrupt(&e)).then_some(e))
}

/// Moves the live file and SQLite's files beside it aside, intact, to
/// `<database>.corrupt-<time>[-n]`; returns where they went.
fn move_aside(database: &Path) -> Result<Vec<PathBuf>> {
    let base = format!("{}.corrupt-{}", database.display(), crate::db::timestamp());
    let mut target = PathBuf::from(&base);
    let mut n = 1;
    while target.exists() {
        n += 1;
        target = PathBuf::from(format!("{base}-{n}"));
    }
    let mut moved = Vec::new();
    for suffix in ["", "-wal", "-journal", "-shm"] {
        let from = crate::db::sibling(database, suffix);
        if from.exists() {
            let to = crate::db::sibling(&target, suffix);
            std::fs::rename(&from, &to).map_err(|e| Error::io("move aside", &from, e))?;
            moved.push(to);
        }
    }
    if let Some(dir) = database.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::db::sync_dir(dir)?;
    }
    Ok(moved)
}

/// Restores the whole database from the prepared backup.
pub fn restore(opts: &Options, prepared: Prepared, say: &mut dyn FnMut(&str)) -> Result<Restored> {
    let opts = &resolved(opts);
    prepared.refuse_whole()?;
    gate(opts, &prepared)?;
    let swept = backup::partial::sweep(&opts.dir)?;
    for f in &swept {
        say(&format!(
            "removed {} (left by an interrupted run)",
            crate::printable::path(&f)
        ));
    }
    let _lock = crate::db::lock::acquire(&opts.database, opts.wait, &mut |m| say(m))?;
    let mut before = None;
    let mut moved_aside = Vec::new();
    let mut known = None;
    let mut restored_into = None;
    // Changes only when another connection commits (see the check below).
    let mut version = 0;
    let from = &prepared.chosen.plain.path;
    let restoring = format!(
        "restoring {} from {} ...",
        crate::printable::path(&opts.database),
        crate::printable::path(&prepared.chosen.from)
    );
    let unreadable = match open(opts)? {
        Live::Ok(mut live, identity, _) => {
            say("locking the database for writing, keeping it as a before-restore safety copy ...");
            // The safety copy is recorded under the identity the database has or gets here
            // (restamp records it), as apply's are: an unmanaged database's copy taken under
            // its path, after the identity's creation time, would be nobody's.
            let owner = Owner::managed(&identity, &identity::canonical(&opts.database));
            version = whole::data_version(&live)?;
            match whole::overwrite(&mut live, from, opts, &owner, &mut || say(&restoring))? {
                Ok(path) => {
                    before = Some(path);
                    known = Some(*identity);
                    restored_into = Some(live);
                    None
                }
                Err(why) => Some(why),
            }
        }
        Live::Missing => None,
        Live::Unreadable(why) => Some(why),
    };
    if let Some(why) = unreadable {
        moved_aside = move_aside(&opts.database)?;
        say(&format!(
            "{} cannot be read ({why}): moved it aside, intact, to {}",
            crate::printable::path(&opts.database),
            moved_aside
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        known = None;
    }
    let live = match restored_into {
        Some(live) => live,
        None => {
            let mut live = crate::db::open_live(&opts.database)?;
            version = whole::data_version(&live)?;
            say(&restoring);
            whole::copy_into(from, &mut live, &opts.database)?;
            live
        }
    };
    say("writing the restored pages into the database file ...");
    live.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .map_err(|e| Error::sqlite("checkpoint the restored database", e))?;
    // The pages came from a verified file through SQLite's own pager; the row counts of every
    // table confirm that the data landed (a full check would read the whole file again). An
    // application may write as soon as the restore lets go of its lock: its rows are then
    // counted too, and the counts are compared only when no other connection has committed
    // since the restore took the lock (`PRAGMA data_version`, which the restore's own commit
    // leaves as it is).
    say("counting the restored rows ...");
    let mut restored = crate::db::row_counts(&live, Tables::All)?;
    let mut expected = prepared.chosen.counts.clone();
    restored.remove(IDENTITY_TABLE);
    expected.remove(IDENTITY_TABLE);
    let written_since = whole::data_version(&live)? != version;
    if written_since {
        say("another connection has written since the restore: its row counts are not compared");
    } else if restored != expected {
        return Err(Error::RestoreMismatch {
            before: before.clone().unwrap_or_default(),
        });
    }
    restamp(&live, opts, &prepared.owner, known)?;
    Ok(Restored {
        from: prepared.chosen.from.clone(),
        before,
        moved_aside,
        rows: restored,
        swept,
    })
}

/// Gives the restored database back its own identity (the backup's may be another's, or
/// none): the one it had, else the one its backups record, else a new one.
fn restamp(
    live: &Connection,
    opts: &Options,
    owner: &Owner,
    known: Option<Identity>,
) -> Result<()> {
    let path = identity::canonical(&opts.database);
    let identity = match known {
        Some(identity) => Identity {
            path: path.display().to_string(),
            ..identity
        },
        None if owner.id.starts_with("path:") => {
            identity::ensure(live, &opts.database)?;
            return Ok(());
        }
        None => Identity {
            id: owner.id.clone(),
            ..identity::fresh(&path)
        },
    };
    identity::record(live, &identity)
}

/// Refuses a one-table restore of a virtual table (FTS5, R*Tree, ...) or of one of the shadow
/// tables that hold a virtual table's data: their rows and the module's index only make sense
/// together.
fn refuse_virtual(live: &Connection, name: &str) -> Result<()> {
    let kind: Option<String> = live
        .query_row(
            "SELECT type FROM pragma_table_list WHERE schema = 'main' AND name = ?1 COLLATE NOCASE",
            [name],
            |r| r.get(0),
        )
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })
        .map_err(Error::sqlite_in(format!("read what \"{name}\" is")))?;
    let module = match kind.as_deref() {
        Some("virtual") => {
            let sql: String = live
                .query_row(
                    "SELECT sql FROM main.sqlite_schema WHERE type = 'table' AND name = ?1 COLLATE NOCASE",
                    [name],
                    |r| r.get(0),
                )
                .map_err(Error::sqlite_in(format!("read the definition of \"{name}\"")))?;
            crate::sql::lex(&sql)
                .ok()
                .and_then(|t| {
                    let using = t.iter().position(|t| t.is_kw("USING"))?;
                    t.get(using + 1)?.name().map(str::to_string)
                })
                .unwrap_or_else(|| "a module".into())
        }
        Some("shadow") => {
            return Err(RestoreError::ShadowTable {
                table: name.to_string(),
            }
            .into());
        }
        _ => return Ok(()),
    };
    Err(RestoreError::VirtualTable {
        table: name.to_string(),
        module,
    }
    .into())
}

/// Refuses while another connection holds a write lock, unless `wait`.
fn refuse_while_written(live: &Connection, database: &Path, wait: bool) -> Result<()> {
    let timeout = if wait {
        BUSY_WAIT
    } else {
        std::time::Duration::ZERO
    };
    live.busy_timeout(timeout)
        .map_err(|e| Error::sqlite("set busy_timeout", e))?;
    match live.execute_batch("BEGIN IMMEDIATE; ROLLBACK") {
        Ok(()) => live
            .busy_timeout(BUSY_WAIT)
            .map_err(|e| Error::sqlite("set busy_timeout", e)),
        Err(e) if !wait && e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) => {
            Err(RestoreError::WriterActive {
                database: database.to_path_buf(),
            }
            .into())
        }
        Err(e) => Err(Error::sqlite(
            format!(
                "wait for the writer on {}",
                crate::printable::path(&database)
            ),
            e,
        )),
    }
}

/// What a table restore did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TableRestored {
    /// The backup restored from.
    pub from: PathBuf,
    /// The before-restore safety copy of the whole database.
    pub before: PathBuf,
    /// Rows deleted (replace).
    pub deleted: usize,
    /// Rows inserted.
    pub inserted: usize,
    /// Of those, rows whose rowid another live row had taken: they got a new one.
    pub renumbered: usize,
    /// Merge: the backup's rows not inserted because the table holds the same row (the same
    /// values under the same key; for a table without a primary key, an identical copy).
    pub present: usize,
    /// Merge: the backup's rows not inserted because a different live row holds their key.
    /// From a backup, that is the row changed since (the live version stays); from the
    /// archive of a committed prune (`archived`), another row given the key (allowed by
    /// `skip_taken` only): the archived rows are then only in the archive.
    pub taken: usize,
    /// Their keys, as SQL literals (the first 20).
    pub taken_keys: Vec<String>,
    /// The backup is the archive of a prune this database's history records: its rows all
    /// left the table.
    pub archived: bool,
    /// Full-text indexes whose content is the table (or a view over it), rebuilt in the same
    /// transaction: the restored rows are searchable.
    pub indexes_rebuilt: Vec<String>,
    /// Triggers of the table suspended during the restore (and created again).
    pub triggers_suspended: usize,
    /// References a prune set to NULL or their default, put back from its archive (merge).
    pub relinked: usize,
    /// References its archive keeps that were not put back: the row is gone, its reference
    /// changed since, or the row it referenced is not back yet.
    pub not_relinked: usize,
    /// (live column, backup column) pairs where a rename since the backup was followed.
    pub renamed_columns: Vec<(String, String)>,
    /// Columns of the backup's table no live column takes (dropped since): not restored.
    pub unmapped_columns: Vec<String>,
    /// Live columns no backup column feeds (added since): they took their default.
    pub unfilled_columns: Vec<String>,
    /// What interrupted runs had left in the backups folder, removed first.
    pub swept: Vec<PathBuf>,
}

/// Restores one table from the prepared backup by ATTACH, in one transaction (see
/// [`table`]); foreign keys are switched off outside the transaction and checked before the
/// commit.
pub fn restore_table(
    opts: &Options,
    prepared: Prepared,
    name: &str,
    mode: TableMode,
    skip_taken: bool,
    say: &mut dyn FnMut(&str),
) -> Result<TableRestored> {
    let opts = &resolved(opts);
    if name.starts_with("_schemactl") {
        return Err(Error::BookkeepingTable {
            table: name.to_string(),
        });
    }
    // sqlite_stat1, sqlite_sequence, ...: SQLite's own (and hidden from the schema).
    if name
        .get(..7)
        .is_some_and(|p| p.eq_ignore_ascii_case("sqlite_"))
    {
        return Err(crate::error::RestoreError::SqliteTable {
            table: name.to_string(),
        }
        .into());
    }
    gate(opts, &prepared)?;
    let swept = backup::partial::sweep(&opts.dir)?;
    let _lock = crate::db::lock::acquire(&opts.database, opts.wait, &mut |m| say(m))?;
    let unreadable = |reason: String| Error::LiveUnreadable {
        database: opts.database.clone(),
        reason,
    };
    let (live, identity, new_identity) = match open(opts)? {
        Live::Ok(live, identity, new) => (live, *identity, new),
        Live::Missing => return Err(unreadable("it does not exist".into())),
        Live::Unreadable(why) => return Err(unreadable(why)),
    };
    refuse_virtual(&live, name)?;
    let live_schema = crate::inspect(&live)?;
    let Some(live_table) = live_schema.table(name).cloned() else {
        return Err(Error::MissingTable {
            place: Some("the live database".into()),
            table: name.to_string(),
        });
    };
    let scratch = &prepared.chosen.plain.path;
    let backup_conn = Connection::open(scratch)
        .map_err(|e| Error::sqlite(format!("open {}", crate::printable::path(&scratch)), e))?;
    let backup_schema = crate::inspect(&backup_conn)?;
    // A prune archive names its prune: see `merge`.
    let archive = if prepared.chosen.counts.contains_key(ARCHIVE_TABLE) {
        backup_conn
            .query_row(&format!("SELECT id FROM {ARCHIVE_TABLE}"), [], |r| {
                r.get::<_, Option<String>>(0)
            })
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                e => Err(e),
            })
            .map_err(Error::sqlite_in(format!(
                "read which prune wrote {}",
                crate::printable::path(&prepared.chosen.from)
            )))?
    } else {
        None
    };
    // From the backup's history to the live one, through the rollbacks between them too.
    let renames = columns::renames_between(&backup_conn, &live)?;
    // A prune archive without the table's rows may still keep references of it (ON DELETE
    // SET NULL / SET DEFAULT): a merge puts those back.
    let references_only = mode == TableMode::Merge
        && columns::map(&live_table, &backup_schema, &renames).is_none()
        && relink::kept(&backup_conn, name)?;
    drop(backup_conn);
    let rows_from = if references_only {
        None
    } else {
        let mapping = columns::map(&live_table, &backup_schema, &renames).ok_or_else(|| {
            Error::MissingTable {
                place: Some(format!(
                    "backup {}",
                    crate::printable::path(&prepared.chosen.from)
                )),
                table: name.to_string(),
            }
        })?;
        if mapping.pairs.is_empty() {
            return Err(Error::NoCommonColumns {
                table: name.to_string(),
            });
        }
        let backup_table = backup_schema
            .table(&mapping.backup_table)
            .cloned()
            .ok_or_else(|| Error::MissingTable {
                place: Some(format!(
                    "backup {}",
                    crate::printable::path(&prepared.chosen.from)
                )),
                table: mapping.backup_table.clone(),
            })?;
        Some((backup_table, mapping))
    };
    // A contentless full-text index fed by the table's triggers cannot be rebuilt after them.
    if rows_from.is_some()
        && let Some((index, trigger)) = crate::ops::fts::contentless_fed_by(&live_schema, name)
            .into_iter()
            .next()
    {
        return Err(RestoreError::ContentlessIndex {
            table: name.to_string(),
            index,
            trigger,
        }
        .into());
    }
    say("locking the database for writing, keeping it as a before-restore safety copy ...");
    // Taken inside the restore's write transaction, by a second connection (a reader goes on
    // beside the lock): no other connection's commit falls between the copy and the restore.
    let owner = Owner::managed(&identity, &identity::canonical(&opts.database));
    let mut before = None;
    let keep = || -> Result<PathBuf> {
        let reader = crate::db::open_read_only(&opts.database)?;
        let copy = keep_before(&reader, opts, &owner)
            .map_err(|e| e.unwrap_or_else(|| unreadable("it fails integrity_check".into())))?;
        before = Some(copy.clone());
        say(&format!(
            "restoring table \"{name}\" from {} ...",
            crate::printable::path(&prepared.chosen.from)
        ));
        Ok(copy)
    };
    let restored = table::restore_rows(
        &live,
        scratch,
        &live_table,
        rows_from.as_ref().map(|(b, m)| (b, m)),
        (
            mode,
            &MergeOptions {
                skip_taken,
                archive,
            },
        ),
        &crate::ops::fts::over_table(&live_schema, &live_table.name),
        keep,
    );
    let (rows, before) = match restored {
        Ok(done) => done,
        Err(e) => {
            // Nothing was restored: the backups folder is left as it was.
            if let Some(copy) = &before {
                whole::discard(copy);
            }
            return Err(e);
        }
    };
    if new_identity {
        identity::record(&live, &identity)?;
    }
    Ok(TableRestored {
        from: prepared.chosen.from.clone(),
        before,
        deleted: rows.deleted,
        inserted: rows.inserted,
        renumbered: rows.renumbered,
        present: rows.present,
        taken: rows.taken,
        taken_keys: rows.taken_keys,
        archived: rows.archived,
        indexes_rebuilt: rows.indexes_rebuilt,
        triggers_suspended: rows.triggers,
        relinked: rows.relinked,
        not_relinked: rows.not_relinked,
        renamed_columns: rows_from.as_ref().map_or(Vec::new(), |(_, m)| {
            m.pairs
                .iter()
                .filter(|(l, b)| !l.eq_ignore_ascii_case(b))
                .cloned()
                .collect()
        }),
        unmapped_columns: rows_from
            .as_ref()
            .map_or(Vec::new(), |(_, m)| m.unmapped.clone()),
        unfilled_columns: rows_from
            .as_ref()
            .map_or(Vec::new(), |(_, m)| m.unfilled.clone()),
        swept,
    })
}
