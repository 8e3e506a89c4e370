//! The backups folder: whose backup each file is, listing, verifying and retention.
//!
//! Several databases may share one folder. Each manifest records the identity of the database
//! it was taken from (see [`crate::db::identity`]); everything that chooses among backups
//! (`restore --latest`, `--at`, `--latest-valid`, `backup list`, `verify --all`, every
//! retention rule) first keeps only the backups of the one database it was given
//! ([`owned`]), and of the kind asked for: backups, or schemactl's own safety copies.

use std::path::{Path, PathBuf};

use crate::backup::partial::{self, Marker};
use crate::backup::{
    Compression, Kind, Unverified, decompress, integrity_check, manifest_path, read_manifest,
    sha256_file, sidecar_path,
};
use crate::db::identity::{self, Owner};
use crate::error::{Error, RestoreError, Result};

/// One file of the folder, as its manifest describes it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Entry {
    /// The backup file.
    pub file: PathBuf,
    /// When it was taken (RFC 3339, UTC).
    pub created_at: String,
    /// Why: the label of a backup (`manual`, `daily`, ...), or `pre-apply`, `pre-rollback`,
    /// `before-restore` for a safety copy.
    pub reason: String,
    /// Backup, safety copy or archive.
    pub kind: Kind,
    /// The file's size.
    pub size: u64,
    /// The sha256 the manifest records.
    pub sha256: String,
    /// The database it was taken from, as it was given then.
    pub database: String,
    /// The identity of that database (empty in manifests older than identities).
    pub database_id: String,
    /// Its canonical path then (empty in older manifests).
    pub canonical_path: String,
    /// The file it was in then (empty when unknown, and in older manifests).
    #[serde(skip)]
    pub file_key: String,
}

impl Entry {
    /// Returns true when the file was taken from the database `owner` describes.
    pub fn belongs_to(&self, owner: &Owner) -> bool {
        owner.owns(
            &self.database_id,
            &self.database,
            &self.canonical_path,
            &self.file_key,
            &self.created_at,
        )
    }
}

/// Lists every file of `dir` that has a manifest, of every database, newest first.
pub fn list(dir: &Path) -> Result<Vec<Entry>> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io("read backups directory", dir, e))? {
        let path = entry
            .map_err(|e| Error::io("read backups directory", dir, e))?
            .path();
        if path.extension().is_none_or(|x| x != "json") {
            continue;
        }
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io("read", &path, e))?;
        let Some(m) = crate::backup::manifest::parse(&text) else {
            continue;
        };
        let file = path.with_extension("");
        if !file.exists() {
            continue;
        }
        out.push(Entry {
            kind: m.kind(),
            created_at: m.created_at,
            reason: m.reason,
            size: m.size,
            sha256: m.sha256,
            database: m.database,
            database_id: m.database_id,
            canonical_path: m.canonical_path,
            file_key: m.file_key,
            file,
        });
    }
    out.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.file.cmp(&a.file)));
    Ok(out)
}

/// Lists the files of `dir` taken from the database `owner` describes, of the kinds in
/// `kinds`, newest first.
pub fn owned(dir: &Path, owner: &Owner, kinds: &[Kind]) -> Result<Vec<Entry>> {
    Ok(list(dir)?
        .into_iter()
        .filter(|e| kinds.contains(&e.kind) && e.belongs_to(owner))
        .collect())
}

/// The files of `dir` that no manifest describes and no running schemactl is writing: what
/// `backup list --all` shows beside the backups (nothing here is ever removed).
pub fn strays(dir: &Path) -> Result<Vec<PathBuf>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let described: Vec<PathBuf> = list(dir)?.into_iter().map(|e| e.file).collect();
    let in_progress: Vec<PathBuf> = partial::markers(dir)?
        .into_iter()
        .filter(|(_, held)| *held)
        .flat_map(|(m, _)| {
            let name = m.to_string_lossy().to_string();
            let mut g = partial::group(Path::new(&name[..name.len() - partial::MARKER.len()]));
            g.push(m);
            g
        })
        .collect();
    let mut out = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| Error::io("read backups directory", dir, e))?
            .path();
        let ours = described
            .iter()
            .any(|f| path == *f || path == sidecar_path(f) || path == manifest_path(f));
        if !ours && !in_progress.contains(&path) && path.is_file() {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

/// The owner of `database`, for choosing among the backups of `dir`: read from the database
/// itself when it can be read; otherwise (a corrupt or missing file) from the backups taken
/// at its canonical path, which must all be of one database.
pub fn owner(database: &Path, dir: &Path) -> Result<Owner> {
    if let Some(owner) = crate::db::open_read_only(database)
        .ok()
        .and_then(|c| identity::owner(&c, database).ok())
    {
        return Ok(owner);
    }
    let path = identity::canonical(database);
    let shown = path.display().to_string();
    let mut ids: Vec<String> = list(dir)?
        .into_iter()
        .filter(|e| e.canonical_path == shown && !e.database_id.starts_with("path:"))
        .map(|e| e.database_id)
        .filter(|id| !id.is_empty())
        .collect();
    ids.sort();
    ids.dedup();
    match ids.as_slice() {
        [] => Ok(Owner::unmanaged(&path)),
        [id] => Ok(Owner {
            id: id.clone(),
            earlier: Some((identity::path_id(&path), None)),
            file: identity::file_key(&path),
            path,
        }),
        _ => Err(Error::AmbiguousOwner {
            database: database.to_path_buf(),
            identities: ids,
        }),
    }
}

/// Checks a backup: its sha256 against its sidecar (or manifest), and integrity_check on the
/// database it holds. Err says what failed; Ok says what integrity_check could not verify
/// (indexes in a collation this build of SQLite lacks), usually nothing.
pub fn verify(file: &Path) -> Result<Unverified> {
    verify_plain(file, false).map(|v| v.unverified.clone())
}

/// A verified backup as a plain database file: the backup itself when it is not compressed,
/// else a scratch copy beside it, removed when this is dropped.
#[derive(Debug)]
pub struct Verified {
    /// The plain database file.
    pub path: PathBuf,
    /// False when the backup had no checksum and only integrity_check vouches for it.
    pub checksum: bool,
    /// What integrity_check could not verify (see [`Unverified`]).
    pub unverified: Unverified,
    /// The scratch copy's marker: dropping it removes the copy.
    _scratch: Option<Marker>,
}

/// Verifies a backup and returns it as a plain database file, reading it as few times as
/// possible: a plain backup is hashed while integrity_check runs on it (two threads); a
/// compressed one is hashed while it is decompressed, then the scratch copy is checked.
/// With `without_checksum`, a backup with neither sidecar nor manifest (a runbook's
/// `backup.db.gz`) is accepted on integrity_check alone.
pub fn verify_plain(file: &Path, without_checksum: bool) -> Result<Verified> {
    holds_bytes(file)?;
    let recorded = match recorded_sha256(file) {
        Ok(sha) => Some(sha),
        Err(Error::NoChecksum { .. }) if without_checksum => None,
        Err(e) => return Err(e),
    };
    let mismatch = |actual: &str| Error::ChecksumMismatch {
        file: file.to_path_buf(),
        recorded: recorded.clone().unwrap_or_default(),
        actual: actual.to_string(),
    };
    let differs = |actual: &str| recorded.as_deref().is_some_and(|r| r != actual);
    if Compression::of(file) == Compression::None {
        let (actual, checked) = std::thread::scope(|s| {
            let hashing = s.spawn(|| sha256_file(file));
            let checked = integrity_check(file);
            let actual = hashing
                .join()
                .unwrap_or_else(|_| Err(Error::ThreadPanicked { what: "checksum" }));
            (actual, checked)
        });
        let actual = actual?;
        if differs(&actual) {
            return Err(mismatch(&actual));
        }
        let unverified = checked?;
        return Ok(Verified {
            path: file.to_path_buf(),
            checksum: recorded.is_some(),
            unverified,
            _scratch: None,
        });
    }
    let scratch = scratch_path(file);
    let marker = Marker::begin(&scratch)?;
    let mut verified = Verified {
        path: scratch,
        checksum: recorded.is_some(),
        unverified: Unverified::default(),
        _scratch: Some(marker),
    };
    match decompress(file, &verified.path) {
        Ok(actual) if differs(&actual) => return Err(mismatch(&actual)),
        Ok(_) => {}
        // A corrupt stream stops the decoder: say so as a checksum mismatch when it is one.
        Err(e) => {
            return Err(match sha256_file(file) {
                Ok(actual) if differs(&actual) => mismatch(&actual),
                _ => e,
            });
        }
    }
    // Errors name the backup, not the scratch copy (removed when this returns).
    let named = |e: Error| match e {
        Error::IntegrityCheckFailed { result, .. } => Error::IntegrityCheckFailed {
            path: file.to_path_buf(),
            result,
        },
        Error::Sqlite { cause, .. } => Error::Sqlite {
            context: format!("check {} (decompressed)", crate::printable::path(&file)),
            cause,
        },
        e => e,
    };
    if std::fs::metadata(&verified.path).is_ok_and(|m| m.len() == 0) {
        return Err(RestoreError::EmptyBackup {
            file: file.to_path_buf(),
        }
        .into());
    }
    verified.unverified = integrity_check(&verified.path).map_err(named)?;
    Ok(verified)
}

/// Refuses a file that cannot hold a backup: not a regular file (a FIFO would block the
/// read, a device is no backup), or empty (SQLite reads an empty file as an empty database,
/// which passes integrity_check: restoring it would empty the database).
fn holds_bytes(file: &Path) -> Result<()> {
    let meta = std::fs::metadata(file).map_err(|e| Error::io("read", file, e))?;
    let kind = meta.file_type();
    if !kind.is_file() {
        use std::os::unix::fs::FileTypeExt as _;
        return Err(RestoreError::NotAFile {
            file: file.to_path_buf(),
            kind: if kind.is_dir() {
                "a directory"
            } else if kind.is_fifo() {
                "a FIFO"
            } else if kind.is_char_device() || kind.is_block_device() {
                "a device"
            } else if kind.is_socket() {
                "a socket"
            } else {
                "not a file"
            },
        }
        .into());
    }
    if meta.len() == 0 {
        return Err(RestoreError::EmptyBackup {
            file: file.to_path_buf(),
        }
        .into());
    }
    Ok(())
}

/// The sha256 a backup's sidecar (or else its manifest) records.
fn recorded_sha256(file: &Path) -> Result<String> {
    std::fs::read_to_string(sidecar_path(file))
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .or_else(|| {
            read_manifest(file)
                .map(|m| m.sha256)
                .filter(|s| !s.is_empty())
        })
        .ok_or_else(|| Error::NoChecksum {
            file: file.to_path_buf(),
        })
}

/// A scratch file name beside a backup, this process's own.
pub fn scratch_path(file: &Path) -> PathBuf {
    crate::db::sibling(file, &format!(".{}.scratch.db", std::process::id()))
}
