//! The whole database put in place under one write lock: the live database is locked for
//! writing first, then its `before-restore` safety copy is taken, then the backup's pages are
//! written and committed, and only then is the lock let go. No other connection can commit
//! between the safety copy and the overwrite, so every row it committed is in one of them.
//!
//! The lock is the destination's own lock in SQLite's backup API (its first step, of no
//! pages, takes it and keeps it until the last step commits). While it is held the safety
//! copy is read by a second connection: in WAL mode an ordinary reader (readers go on beside
//! a writer); in rollback-journal mode the lock is EXCLUSIVE and shuts readers out, so the
//! copy is read without file locks (`nolock=1`): the file is then exactly the last commit,
//! since nothing has been written yet and nobody else can write. That connection is closed
//! only after the lock is let go (closing a file drops every POSIX lock this process holds on
//! it).

use std::path::{Path, PathBuf};

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

use super::{Options, keep_before};
use crate::backup::{BUSY_WAIT, manifest_path, sidecar_path};
use crate::db::identity::Owner;
use crate::error::{Error, RestoreError, Result};

/// Puts the backup `from` (a plain, verified database file) in place of `live`, keeping the
/// safety copy under the same lock. Ok(Ok(copy)) when done; Ok(Err(why)) when the safety
/// copy shows the live database is corrupt (nothing was written: the caller moves it aside);
/// Err when nothing was restored (and no safety copy is left).
pub(super) fn overwrite(
    live: &mut Connection,
    from: &Path,
    opts: &Options,
    owner: &Owner,
    restoring: &mut dyn FnMut(),
) -> Result<std::result::Result<PathBuf, String>> {
    let q = |e| {
        Error::sqlite(
            format!("restore {}", crate::printable::path(&opts.database)),
            e,
        )
    };
    let wal = journal_mode(live, &opts.database)? == "wal";
    let src = Connection::open(from).map_err(q)?;
    if wal {
        let (l, b) = (page_size(live, &opts.database)?, page_size(&src, from)?);
        if l != b {
            return Err(RestoreError::WalPageSize {
                database: opts.database.clone(),
                live: l,
                backup: b,
            }
            .into());
        }
    }
    // Declared before the backup: dropped after it, once the lock is let go.
    let reader;
    let backup = Backup::new(&src, live).map_err(q)?;
    step(&backup, 0, &opts.database)?;
    reader = open_reader(&opts.database, wal)?;
    let before = match keep_before(&reader, opts, owner) {
        Ok(path) => path,
        Err(Some(e)) => return Err(e),
        Err(None) => return Ok(Err("it fails integrity_check".into())),
    };
    restoring();
    if let Err(e) = step(&backup, -1, &opts.database) {
        drop(backup);
        discard(&before);
        return Err(e);
    }
    drop(backup);
    drop(reader);
    Ok(Ok(before))
}

/// Copies the plain database `from` into `live` (a new file: nothing to keep) with the backup
/// API.
pub(super) fn copy_into(from: &Path, live: &mut Connection, database: &Path) -> Result<()> {
    let q = |e| Error::sqlite(format!("restore {}", crate::printable::path(&database)), e);
    let src = Connection::open(from).map_err(q)?;
    let backup = Backup::new(&src, live).map_err(q)?;
    step(&backup, -1, database)
}

/// Runs backup steps of `pages` (-1: all, 0: only take the lock) until they are done, waiting
/// for a writer that holds the database, boundedly.
fn step(backup: &Backup<'_, '_>, pages: i32, database: &Path) -> Result<()> {
    let q = |e| Error::sqlite(format!("restore {}", crate::printable::path(&database)), e);
    let deadline = std::time::Instant::now() + BUSY_WAIT;
    loop {
        match backup.step(pages).map_err(q)? {
            StepResult::Done => return Ok(()),
            StepResult::More if pages == 0 => return Ok(()),
            StepResult::More => {}
            _ if std::time::Instant::now() > deadline => {
                return Err(RestoreError::Busy {
                    database: database.to_path_buf(),
                }
                .into());
            }
            _ => std::thread::sleep(std::time::Duration::from_millis(20)),
        }
    }
}

/// A read-only connection to the live database that can read it while the restore holds the
/// write lock (see the module's notes).
fn open_reader(database: &Path, wal: bool) -> Result<Connection> {
    let q = |e| {
        Error::sqlite(
            format!(
                "open {} for its safety copy",
                crate::printable::path(&database)
            ),
            e,
        )
    };
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = if wal {
        Connection::open_with_flags(database, flags)
    } else {
        Connection::open_with_flags(
            format!("file:{}?nolock=1", uri_path(database)),
            flags | OpenFlags::SQLITE_OPEN_URI,
        )
    }
    .map_err(q)?;
    conn.busy_timeout(BUSY_WAIT).map_err(q)?;
    Ok(conn)
}

/// A path as the path part of a `file:` URI: every byte but the unreserved ones and `/`
/// percent-encoded.
fn uri_path(path: &Path) -> String {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    absolute
        .as_os_str()
        .as_encoded_bytes()
        .iter()
        .map(|&b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `PRAGMA data_version` of `conn`: it changes when another connection commits.
pub(super) fn data_version(conn: &Connection) -> Result<i64> {
    conn.query_row("PRAGMA data_version", [], |r| r.get(0))
        .map_err(Error::sqlite_in("read PRAGMA data_version"))
}

fn journal_mode(conn: &Connection, database: &Path) -> Result<String> {
    conn.query_row("PRAGMA journal_mode", [], |r| r.get::<_, String>(0))
        .map(|m| m.to_ascii_lowercase())
        .map_err(|e| {
            Error::sqlite(
                format!(
                    "read the journal mode of {}",
                    crate::printable::path(&database)
                ),
                e,
            )
        })
}

fn page_size(conn: &Connection, file: &Path) -> Result<u32> {
    conn.query_row("PRAGMA page_size", [], |r| r.get(0))
        .map_err(|e| {
            Error::sqlite(
                format!("read the page size of {}", crate::printable::path(&file)),
                e,
            )
        })
}

/// Removes a safety copy that turned out not to be needed (nothing was restored): the
/// backups folder is left as it was.
pub(super) fn discard(copy: &Path) {
    for f in [sidecar_path(copy), manifest_path(copy), copy.to_path_buf()] {
        let _ = std::fs::remove_file(f);
    }
}
