//! A database's identity, kept inside it (`_schemactl_identity`), so that backups sharing a
//! folder are told apart by the database they were taken from, not by a path as typed.
//!
//! The rules, decided once here and followed everywhere:
//!
//! - A database gets an identity (a random id, the canonical path and time it was created at)
//!   the first time schemactl writes to it (`apply`, `sync`, `rollback`, `restore`). Until then
//!   it is *unmanaged*, and its backups carry `path:<canonical path>` as their identity.
//! - The row also records the canonical path the database was last written at, and the file it
//!   was written in (device, inode and, where the file system keeps one, creation time): the
//!   identity is that file's. The database is the recorded file, at the recorded path (or
//!   another name of it: a hard link), or *moved*: found at another path, it is the very file
//!   recorded (a `mv` within a file system keeps it), whatever lives at the recorded path now
//!   (another file: a copy, or a new database made there).
//!   Anything else is a *copy* (`cp` makes a new file; a copy whose original moved on is
//!   still a copy, even one put at the recorded path; so is a database put back as a new
//!   file), which gets its own identity when schemactl first writes to it, and until then
//!   counts as unmanaged at its path. Two live files therefore never hold one identity: one of them
//!   is not the recorded file. A move across file systems is a copy too (safe: the old
//!   backups stay listed as another database's, and are restored by naming them).
//! - A backup belongs to the database whose identity it records, unless it was taken at a
//!   path where another file lives now (that file may be the database it was taken from) and
//!   its manifest does not record that it was taken of this very file.
//! - The backups taken while a database was unmanaged (`path:<P>`, taken before its identity
//!   was created, at `P` or at another name of the same file) stay its own.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension};

use super::bookkeeping::{CREATE_IDENTITY_TABLE, IDENTITY_TABLE};
use crate::error::{Error, Result};

/// The identity row of a managed database.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Identity {
    /// The id: 32 hex digits.
    pub id: String,
    /// When it was created (RFC 3339, UTC).
    pub created_at: String,
    /// The canonical path it was created at.
    pub created_path: String,
    /// The canonical path the database was last written at.
    pub path: String,
    /// The file it was last written in ([`file_key`]); None in rows older than it.
    #[serde(skip)]
    pub file: Option<String>,
}

/// Whose backups are whose: the identity a new backup of a database records, and the
/// identities of the backups that belong to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// What a backup taken now records: the identity's id, or `path:<canonical path>`.
    pub id: String,
    /// The database's canonical path now.
    pub path: PathBuf,
    /// Backups recorded under this `path:` identity also belong to it when they were taken
    /// before the given time (None: at any time): the database's unmanaged past.
    pub earlier: Option<(String, Option<String>)>,
    /// The file the database is in now ([`file_key`]; None when there is none): a backup
    /// recorded under a `path:` identity is this database's only when taken of this file.
    pub file: Option<String>,
}

impl Owner {
    /// The owner of an unmanaged database at `path` (canonical).
    pub fn unmanaged(path: &Path) -> Self {
        Owner {
            id: path_id(path),
            path: path.to_path_buf(),
            earlier: None,
            file: file_key(path),
        }
    }

    /// The owner of a managed database at `path` (canonical).
    pub fn managed(identity: &Identity, path: &Path) -> Self {
        Owner {
            id: identity.id.clone(),
            path: path.to_path_buf(),
            earlier: Some((
                format!("path:{}", identity.created_path),
                Some(identity.created_at.clone()),
            )),
            file: file_key(path),
        }
    }

    /// Returns true when a backup recording `database_id` (and, for old manifests without
    /// one, the path `database` as typed), taken at `created_at` from the database then at
    /// `canonical_path` in the file `file` (both empty in old manifests), belongs to this
    /// database.
    pub fn owns(
        &self,
        database_id: &str,
        database: &str,
        canonical_path: &str,
        file: &str,
        created_at: &str,
    ) -> bool {
        let before =
            |limit: &Option<String>| limit.as_ref().is_none_or(|t| created_at < t.as_str());
        let taken_at = Path::new(canonical_path);
        let elsewhere = !canonical_path.is_empty() && taken_at != self.path;
        // Another name of this very file (a hard link) is this database.
        let this_file = elsewhere && same_file(taken_at, &self.path);
        // Taken of this very file (its manifest records the file): this database's, at
        // whatever path, whatever lives at that path now (the file proof of a move).
        let taken_of_this = !file.is_empty()
            && self
                .file
                .as_deref()
                .is_some_and(|here| same_key(file, here));
        // Taken at another path where another file lives now, of another file or of one not
        // recorded: that file may be the database it was taken from (the original of a copy,
        // say), so it is not this one's.
        if elsewhere && !this_file && !taken_of_this && std::fs::symlink_metadata(taken_at).is_ok()
        {
            return false;
        }
        // A path identity names whatever file was at the path: one taken of another file (a
        // database removed, then another put at its path) is that file's.
        if database_id.starts_with("path:")
            && !file.is_empty()
            && self
                .file
                .as_deref()
                .is_some_and(|here| !same_key(file, here))
        {
            return false;
        }
        if database_id == self.id {
            return true;
        }
        let unmanaged_past = database_id.starts_with("path:") && this_file;
        match &self.earlier {
            Some((earlier, limit)) if database_id == earlier || unmanaged_past => {
                return before(limit);
            }
            None if unmanaged_past => return true,
            _ => {}
        }
        // A manifest without an identity (older versions): its path, when it is absolute. A
        // relative one was relative to a working directory nobody recorded: resolving it from
        // ours would name whatever database sits there now, so it is nobody's.
        if database_id.is_empty() && Path::new(database).is_absolute() {
            return canonical(Path::new(database)) == self.path;
        }
        false
    }
}

/// The identity an unmanaged database's backups record: `path:<canonical path>`.
pub fn path_id(path: &Path) -> String {
    format!("path:{}", path.display())
}

/// The canonical form of a database path: symlinks and `..` resolved, absolute. A file that
/// does not exist (yet) is named through its canonical directory.
pub fn canonical(path: &Path) -> PathBuf {
    if let Ok(p) = std::fs::canonicalize(path) {
        return p;
    }
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    match (absolute.parent(), absolute.file_name()) {
        (Some(dir), Some(name)) => std::fs::canonicalize(dir)
            .map(|d| d.join(name))
            .unwrap_or(absolute.clone()),
        _ => absolute,
    }
}

/// Reads the identity row of a database; None when it has none.
pub fn read(conn: &Connection) -> Result<Option<Identity>> {
    let q = Error::sqlite_in(format!("read {IDENTITY_TABLE}"));
    if !super::table_exists(conn, IDENTITY_TABLE).map_err(Error::sqlite_in("read the schema"))? {
        return Ok(None);
    }
    let keyed = has_file_column(conn)?;
    let file = if keyed { ", file" } else { "" };
    conn.query_row(
        &format!(
            "SELECT id, created_at, created_path, path{file} FROM main.{IDENTITY_TABLE} LIMIT 1"
        ),
        [],
        |r| {
            Ok(Identity {
                id: r.get(0)?,
                created_at: r.get(1)?,
                created_path: r.get(2)?,
                path: r.get(3)?,
                file: if keyed { r.get(4)? } else { None },
            })
        },
    )
    .optional()
    .map_err(q)
}

/// Returns true when the identity table has the `file` column (rows written before it was
/// added do not).
fn has_file_column(conn: &Connection) -> Result<bool> {
    conn.query_row(
        &format!(
            "SELECT count(*) FROM pragma_table_info('{IDENTITY_TABLE}', 'main') WHERE name = 'file'"
        ),
        [],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n > 0)
    .map_err(Error::sqlite_in(format!(
        "read the columns of {IDENTITY_TABLE}"
    )))
}

/// What names the file at `path` across renames within its file system: its device and inode,
/// and its creation time where the file system keeps one (an inode number freed by a removed
/// file can be given to a new one: the creation time tells them apart). None when there is no
/// file.
#[cfg(unix)]
pub fn file_key(path: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).ok()?;
    let born = meta
        .created()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or_else(|| "-".to_string(), |d| d.as_nanos().to_string());
    Some(format!("{}:{}:{born}", meta.dev(), meta.ino()))
}

/// What names the file at `path`: no inode here, so nothing does (a database found at another
/// path is then always a copy).
#[cfg(not(unix))]
pub fn file_key(_path: &Path) -> Option<String> {
    None
}

/// Returns true when two [`file_key`]s name the same file: the same inode, born at the same
/// time when both know it (a device number may change from one boot to the next on some file
/// systems, a birth time does not), else on the same device.
fn same_key(recorded: &str, here: &str) -> bool {
    let split = |k: &str| -> Option<(String, String, String)> {
        let mut parts = k.splitn(3, ':');
        Some((
            parts.next()?.to_string(),
            parts.next()?.to_string(),
            parts.next()?.to_string(),
        ))
    };
    match (split(recorded), split(here)) {
        (Some((a_dev, a_ino, a_born)), Some((b_dev, b_ino, b_born))) => {
            a_ino == b_ino
                && if a_born != "-" && b_born != "-" {
                    a_born == b_born
                } else {
                    a_dev == b_dev
                }
        }
        _ => false,
    }
}

/// What the identity row says about the database found at `path` (canonical).
enum Found {
    /// No identity yet.
    None,
    /// Its own, recorded at this path.
    Here(Identity),
    /// Moved here from the recorded path: keeps its id.
    Moved(Identity),
    /// A copy of the database still at the recorded path: gets its own id when written.
    Copy,
}

fn found(conn: &Connection, path: &Path) -> Result<Found> {
    let Some(identity) = read(conn)? else {
        return Ok(Found::None);
    };
    let original = Path::new(&identity.path);
    // The identity is the file's, not the path's: this is the very file last written when the
    // row says which file that was (a rename keeps it; a copy is a new file, even one put at
    // the recorded path after the original moved on, so two live files never both pass). A
    // row without a recorded file (written before files were recorded) proves nothing.
    let proven = identity
        .file
        .as_deref()
        .zip(file_key(path))
        .is_some_and(|(recorded, here)| same_key(recorded, &here));
    // Another name of the same file (a hard link) is the same database, not a copy.
    if original == path || same_file(original, path) {
        return Ok(if proven || identity.file.is_none() {
            Found::Here(identity)
        } else {
            Found::Copy
        });
    }
    // Moved exactly when proven: this is the very file recorded, so whatever lives at the
    // recorded path now (a copy, a new database the application made there) is another file,
    // and is a copy or unmanaged by the same proof. Without the proof this is a copy, even
    // with nothing left at the recorded path.
    Ok(if proven {
        Found::Moved(identity)
    } else {
        Found::Copy
    })
}

/// Returns true when `a` and `b` name the same file (the same device and inode).
#[cfg(unix)]
pub fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Returns true when `a` and `b` name the same file (by canonical path).
#[cfg(not(unix))]
pub fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// The owner of the database open on `conn` at `path`, without writing to it.
pub fn owner(conn: &Connection, path: &Path) -> Result<Owner> {
    let path = canonical(path);
    Ok(match found(conn, &path)? {
        Found::Here(identity) | Found::Moved(identity) => Owner::managed(&identity, &path),
        Found::None | Found::Copy => Owner::unmanaged(&path),
    })
}

/// The identity the database open on `conn` at `path` has, or gets on its next write: its
/// own; its own with the new path recorded (moved); or a new one (no identity yet, or a
/// copy). The flag says whether it must be written (also when the file it is in is not the
/// one recorded yet).
pub fn planned(conn: &Connection, path: &Path) -> Result<(Identity, bool)> {
    let path = canonical(path);
    Ok(match found(conn, &path)? {
        Found::Here(identity) => {
            // A row older than recorded files gets its file on this write.
            let stale = identity.file.is_none();
            (identity, stale)
        }
        Found::Moved(identity) => (
            Identity {
                path: path.display().to_string(),
                file: file_key(&path),
                ..identity
            },
            true,
        ),
        Found::None | Found::Copy => (fresh(&path), true),
    })
}

/// Gives the database open on `conn` at `path` the identity [`planned`] says, writing it in
/// its own write transaction when it changed (call it outside any); returns it.
pub fn ensure(conn: &Connection, path: &Path) -> Result<Identity> {
    let (identity, changed) = planned(conn, path)?;
    if changed {
        record(conn, &identity)?;
    }
    Ok(identity)
}

/// Writes `identity` as the database's, in its own write transaction.
pub fn record(conn: &Connection, identity: &Identity) -> Result<()> {
    let context = format!("record the identity of {}", identity.path);
    super::immediate(conn, super::ForeignKeys::Keep, &context, &context, || {
        write(conn, identity)
    })
}

/// A new identity for a database at `path` (canonical).
pub fn fresh(path: &Path) -> Identity {
    let shown = path.display().to_string();
    Identity {
        id: new_id(&shown),
        created_at: super::now_rfc3339(),
        created_path: shown.clone(),
        path: shown,
        file: file_key(path),
    }
}

/// Replaces the identity row with `identity` (inside the caller's transaction), recording the
/// file at `identity.path` (the database `conn` writes) as the one it is in.
pub fn write(conn: &Connection, identity: &Identity) -> Result<()> {
    let q = || Error::sqlite_in(format!("write {IDENTITY_TABLE}"));
    conn.execute_batch(CREATE_IDENTITY_TABLE).map_err(q())?;
    if !has_file_column(conn)? {
        conn.execute_batch(&format!(
            "ALTER TABLE main.{IDENTITY_TABLE} ADD COLUMN file TEXT"
        ))
        .map_err(q())?;
    }
    let file = file_key(Path::new(&identity.path));
    conn.execute(&format!("DELETE FROM main.{IDENTITY_TABLE}"), [])
        .and_then(|_| {
            conn.execute(
                &format!(
                    "INSERT INTO main.{IDENTITY_TABLE} (id, created_at, created_path, path, file) VALUES (?1, ?2, ?3, ?4, ?5)"
                ),
                rusqlite::params![
                    &identity.id,
                    &identity.created_at,
                    &identity.created_path,
                    &identity.path,
                    &file,
                ],
            )
        })
        .map_err(q())?;
    Ok(())
}

/// 32 hex digits from the system's random source; where there is none, from the time, the
/// process and the path.
pub fn new_id(path: &str) -> String {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let mut random = [0u8; 16];
    let from_os = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut random))
        .is_ok();
    let bytes: Vec<u8> = if from_os {
        random.to_vec()
    } else {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        Sha256::digest(format!("{nanos} {} {path}", std::process::id())).to_vec()
    };
    bytes.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db(dir: &Path, name: &str) -> (PathBuf, Connection) {
        let path = dir.join(name);
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE t (x)").unwrap();
        (path, conn)
    }

    #[test]
    fn a_moved_database_keeps_its_id_and_a_copy_gets_its_own_when_written() {
        let dir = tempfile::tempdir().unwrap();
        let (a, conn) = db(dir.path(), "a.db");
        let first = ensure(&conn, &a).unwrap();
        assert_eq!(ensure(&conn, &a).unwrap(), first, "stable");
        drop(conn);
        // Copied: both hold the same row; the copy is unmanaged until it is written.
        let b = dir.path().join("b.db");
        std::fs::copy(&a, &b).unwrap();
        let copy = Connection::open(&b).unwrap();
        assert_eq!(owner(&copy, &b).unwrap(), Owner::unmanaged(&canonical(&b)));
        let split = ensure(&copy, &b).unwrap();
        assert_ne!(split.id, first.id);
        drop(copy);
        let original = Connection::open(&a).unwrap();
        assert_eq!(
            ensure(&original, &a).unwrap(),
            first,
            "the original keeps its id"
        );
        drop(original);
        // Moved: the old path is gone, the id stays, the new path is recorded.
        let c = dir.path().join("c.db");
        std::fs::rename(&a, &c).unwrap();
        let moved = Connection::open(&c).unwrap();
        assert_eq!(owner(&moved, &c).unwrap().id, first.id);
        let after = ensure(&moved, &c).unwrap();
        assert_eq!(after.id, first.id);
        assert_eq!(after.path, canonical(&c).display().to_string());
    }

    #[test]
    fn a_moved_database_stays_itself_whatever_is_put_at_its_old_path() {
        let dir = tempfile::tempdir().unwrap();
        let (a, conn) = db(dir.path(), "a.db");
        let first = ensure(&conn, &a).unwrap();
        drop(conn);
        let b = dir.path().join("b.db");
        std::fs::rename(&a, &b).unwrap();
        // A new database made at the old path: another file, unmanaged.
        let (_, fresh_there) = db(dir.path(), "a.db");
        assert_eq!(
            owner(&fresh_there, &a).unwrap(),
            Owner::unmanaged(&canonical(&a))
        );
        let moved = Connection::open(&b).unwrap();
        assert_eq!(owner(&moved, &b).unwrap().id, first.id, "still moved");
        let (after, changed) = planned(&moved, &b).unwrap();
        assert!(changed, "the new path is recorded");
        assert_eq!(after.id, first.id);
        drop(fresh_there);
        // A copy of the moved database put at the old path: a copy, never the original.
        std::fs::remove_file(&a).unwrap();
        std::fs::copy(&b, &a).unwrap();
        let copy = Connection::open(&a).unwrap();
        assert_eq!(owner(&copy, &a).unwrap(), Owner::unmanaged(&canonical(&a)));
        assert_eq!(owner(&moved, &b).unwrap().id, first.id);
    }

    #[test]
    fn backups_from_the_unmanaged_past_belong_to_the_database() {
        let dir = tempfile::tempdir().unwrap();
        let (a, conn) = db(dir.path(), "a.db");
        let here = canonical(&a);
        let unmanaged = owner(&conn, &a).unwrap();
        assert_eq!(unmanaged.id, path_id(&here));
        let identity = ensure(&conn, &a).unwrap();
        let managed = owner(&conn, &a).unwrap();
        assert!(managed.owns(&identity.id, "", "", "", "2999-01-01T00:00:00Z"));
        assert!(managed.owns(&unmanaged.id, "", "", "", "2000-01-01T00:00:00Z"));
        assert!(
            !managed.owns(&unmanaged.id, "", "", "", "2999-01-01T00:00:00Z"),
            "a path backup taken after the identity is another database's"
        );
        assert!(!managed.owns("0123", "", "", "", "2000-01-01T00:00:00Z"));
    }

    #[test]
    fn a_copy_is_never_the_original_wherever_it_is_put() {
        let dir = tempfile::tempdir().unwrap();
        let (a, conn) = db(dir.path(), "a.db");
        let first = ensure(&conn, &a).unwrap();
        drop(conn);
        // Copied, then the original moves away: the copy is still a copy.
        let b = dir.path().join("b.db");
        std::fs::copy(&a, &b).unwrap();
        let c = dir.path().join("c.db");
        std::fs::rename(&a, &c).unwrap();
        let copy = Connection::open(&b).unwrap();
        assert_eq!(owner(&copy, &b).unwrap(), Owner::unmanaged(&canonical(&b)));
        let moved = Connection::open(&c).unwrap();
        assert_eq!(
            owner(&moved, &c).unwrap().id,
            first.id,
            "the original moved"
        );
        drop(moved);
        // A copy put at the recorded path (the original moved on, unwritten): a copy.
        std::fs::copy(&c, &a).unwrap();
        let back = Connection::open(&a).unwrap();
        assert_eq!(owner(&back, &a).unwrap(), Owner::unmanaged(&canonical(&a)));
        assert_ne!(ensure(&back, &a).unwrap().id, first.id);
    }

    #[test]
    fn a_row_older_than_recorded_files_is_here_only_at_its_path_and_gets_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let (a, conn) = db(dir.path(), "a.db");
        let first = ensure(&conn, &a).unwrap();
        conn.execute_batch(&format!("UPDATE main.{IDENTITY_TABLE} SET file = NULL"))
            .unwrap();
        let (again, stale) = planned(&conn, &a).unwrap();
        assert_eq!((again.id, stale), (first.id.clone(), true));
        assert_eq!(ensure(&conn, &a).unwrap().id, first.id);
        assert_eq!(read(&conn).unwrap(), Some(first), "its file recorded again");
        conn.execute_batch(&format!("UPDATE main.{IDENTITY_TABLE} SET file = NULL"))
            .unwrap();
        drop(conn);
        // Without a recorded file, nothing proves a move.
        let c = dir.path().join("c.db");
        std::fs::rename(&a, &c).unwrap();
        let moved = Connection::open(&c).unwrap();
        assert_eq!(owner(&moved, &c).unwrap(), Owner::unmanaged(&canonical(&c)));
    }

    #[test]
    fn path_backups_belong_to_the_file_they_were_taken_of() {
        let dir = tempfile::tempdir().unwrap();
        let (a, conn) = db(dir.path(), "a.db");
        drop(conn);
        let here = canonical(&a);
        let id = path_id(&here);
        let key = file_key(&here).unwrap();
        let shown = here.display().to_string();
        let link = dir.path().join("link.db");
        std::fs::hard_link(&a, &link).unwrap();
        let through_link = canonical(&link);
        let me = Owner::unmanaged(&here);
        assert!(me.owns(&id, "", &shown, &key, "2000"));
        assert!(
            me.owns(
                &path_id(&through_link),
                "",
                &through_link.display().to_string(),
                &key,
                "2000"
            ),
            "a backup through a hard link is this file's"
        );
        // Removed, and another file put at its path: the old backups are not the new file's.
        std::fs::remove_file(&link).unwrap();
        std::fs::remove_file(&a).unwrap();
        std::fs::write(dir.path().join("hold-the-inode"), b"x").unwrap();
        let (_, conn) = db(dir.path(), "a.db");
        drop(conn);
        let other = Owner::unmanaged(&here);
        assert!(!other.owns(&id, "", &shown, &key, "2000"));
        // A backup taken at a path where another file lives now is not this one's.
        let (b, conn) = db(dir.path(), "b.db");
        let mine = ensure(&conn, &b).unwrap();
        let owner = owner(&conn, &b).unwrap();
        assert!(owner.owns(&mine.id, "", &mine.path, "", "2999"));
        assert!(!owner.owns(&mine.id, "", &shown, "", "2999"));
    }
}
