//! A database's identity, kept inside it (`_schemactl_identity`), so that backups sharing a
//! folder are told apart by the database they were taken from, not by a path as typed.
//!
//! The rules, decided once here and followed everywhere:
//!
//! - A database gets an identity (a random id, the canonical path and time it was created at)
//!   the first time schemactl writes to it (`apply`, `sync`, `rollback`, `restore`). Until then
//!   it is *unmanaged*, and its backups carry `path:<canonical path>` as their identity.
//! - The row also records the canonical path the database was last written at. A database
//!   found at another path is the same file (a hard link: same device and inode), *moved* or
//!   *copied*: it was moved, and keeps its id (the new path is recorded on the next write),
//!   only when nothing exists at the recorded path any more; when anything does (the
//!   original, even unreadable or corrupt, or another file), it is a copy, which gets its own
//!   identity when schemactl first writes to it (until then it counts as unmanaged at its
//!   new path). A hard link is neither: the same database under another name.
//! - The backups taken while a database was unmanaged (`path:<P>`, taken before its identity
//!   was created at `P`) stay its own.

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
}

impl Owner {
    /// The owner of an unmanaged database at `path` (canonical).
    pub fn unmanaged(path: &Path) -> Self {
        Owner {
            id: path_id(path),
            path: path.to_path_buf(),
            earlier: None,
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
        }
    }

    /// Returns true when a backup recording `database_id` (and, for old manifests without
    /// one, the path `database` as typed), taken at `created_at`, belongs to this database.
    pub fn owns(&self, database_id: &str, database: &str, created_at: &str) -> bool {
        let before =
            |limit: &Option<String>| limit.as_ref().is_none_or(|t| created_at < t.as_str());
        if database_id == self.id {
            return true;
        }
        if let Some((earlier, limit)) = &self.earlier
            && database_id == earlier
            && before(limit)
        {
            return true;
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
    conn.query_row(
        &format!("SELECT id, created_at, created_path, path FROM {IDENTITY_TABLE} LIMIT 1"),
        [],
        |r| {
            Ok(Identity {
                id: r.get(0)?,
                created_at: r.get(1)?,
                created_path: r.get(2)?,
                path: r.get(3)?,
            })
        },
    )
    .optional()
    .map_err(q)
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
    // Another name of the same file (a hard link) is the same database, not a copy.
    if original == path || same_file(original, path) {
        return Ok(Found::Here(identity));
    }
    // Moved only when nothing is left at the recorded path. A file there that cannot be read
    // (corrupt, locked away, another database) may be the original: a copy taking over its
    // identity would take its backups too, so the database found here is a copy.
    Ok(match std::fs::symlink_metadata(original) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Found::Moved(identity),
        _ => Found::Copy,
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
/// own; its own with the new path recorded (moved); or a new one (no identity yet, or a copy
/// of a database still at the recorded path). The flag says whether it must be written.
pub fn planned(conn: &Connection, path: &Path) -> Result<(Identity, bool)> {
    let path = canonical(path);
    Ok(match found(conn, &path)? {
        Found::Here(identity) => (identity, false),
        Found::Moved(identity) => (
            Identity {
                path: path.display().to_string(),
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
    }
}

/// Replaces the identity row with `identity` (inside the caller's transaction).
pub fn write(conn: &Connection, identity: &Identity) -> Result<()> {
    let q = Error::sqlite_in(format!("write {IDENTITY_TABLE}"));
    conn.execute_batch(CREATE_IDENTITY_TABLE).map_err(q)?;
    let q = Error::sqlite_in(format!("write {IDENTITY_TABLE}"));
    conn.execute(&format!("DELETE FROM {IDENTITY_TABLE}"), [])
        .and_then(|_| {
            conn.execute(
                &format!(
                    "INSERT INTO {IDENTITY_TABLE} (id, created_at, created_path, path) VALUES (?1, ?2, ?3, ?4)"
                ),
                [
                    &identity.id,
                    &identity.created_at,
                    &identity.created_path,
                    &identity.path,
                ],
            )
        })
        .map_err(q)?;
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
    fn backups_from_the_unmanaged_past_belong_to_the_database() {
        let dir = tempfile::tempdir().unwrap();
        let (a, conn) = db(dir.path(), "a.db");
        let here = canonical(&a);
        let unmanaged = owner(&conn, &a).unwrap();
        assert_eq!(unmanaged.id, path_id(&here));
        let identity = ensure(&conn, &a).unwrap();
        let managed = owner(&conn, &a).unwrap();
        assert!(managed.owns(&identity.id, "", "2999-01-01T00:00:00Z"));
        assert!(managed.owns(&unmanaged.id, "", "2000-01-01T00:00:00Z"));
        assert!(
            !managed.owns(&unmanaged.id, "", "2999-01-01T00:00:00Z"),
            "a path backup taken after the identity is another database's"
        );
        assert!(!managed.owns("0123", "", "2000-01-01T00:00:00Z"));
    }
}
