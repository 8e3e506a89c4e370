//! The backups directory: list, verify and prune backups by their manifests.

use std::path::{Path, PathBuf};

use crate::backup::{
    Compression, decompress, integrity_check, manifest_path, read_manifest, sha256_file,
    sidecar_path,
};
use crate::error::{Error, Result};

/// One backup, as its manifest describes it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Entry {
    /// The backup file.
    pub file: PathBuf,
    /// When it was taken (RFC 3339, UTC).
    pub created_at: String,
    /// Why (`manual`, `pre-apply`, ...).
    pub reason: String,
    /// The file's size.
    pub size: u64,
    /// The sha256 the manifest records.
    pub sha256: String,
    /// The database it was taken from.
    pub database: String,
}

/// Lists the backups of `dir` that have a manifest, newest first.
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
            created_at: m.created_at,
            reason: m.reason,
            size: m.size,
            sha256: m.sha256,
            database: m.database,
            file,
        });
    }
    out.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.file.cmp(&a.file)));
    Ok(out)
}

/// Checks a backup: its sha256 against its sidecar (or manifest), and integrity_check on the
/// database it holds. Err says what failed.
pub fn verify(file: &Path) -> Result<()> {
    verify_plain(file).map(drop)
}

/// A verified backup as a plain database file: the backup itself when it is not compressed,
/// else a scratch copy beside it, removed when this is dropped.
#[derive(Debug)]
pub struct Verified {
    /// The plain database file.
    pub path: PathBuf,
    scratch: bool,
}

impl Drop for Verified {
    fn drop(&mut self) {
        if self.scratch {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Verifies a backup and returns it as a plain database file, reading it as few times as
/// possible: a plain backup is hashed while integrity_check runs on it (two threads); a
/// compressed one is hashed while it is decompressed, then the scratch copy is checked.
pub fn verify_plain(file: &Path) -> Result<Verified> {
    let recorded = recorded_sha256(file)?;
    let mismatch = |actual: &str| Error::ChecksumMismatch {
        file: file.to_path_buf(),
        recorded: recorded.clone(),
        actual: actual.to_string(),
    };
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
        if actual != recorded {
            return Err(mismatch(&actual));
        }
        checked?;
        return Ok(Verified {
            path: file.to_path_buf(),
            scratch: false,
        });
    }
    let scratch = scratch_path(file);
    let _ = std::fs::remove_file(&scratch);
    let verified = Verified {
        path: scratch,
        scratch: true,
    };
    match decompress(file, &verified.path) {
        Ok(actual) if actual != recorded => return Err(mismatch(&actual)),
        Ok(_) => {}
        // A corrupt stream stops the decoder: say so as a checksum mismatch when it is one.
        Err(e) => {
            return Err(match sha256_file(file) {
                Ok(actual) if actual != recorded => mismatch(&actual),
                _ => e,
            });
        }
    }
    integrity_check(&verified.path)?;
    Ok(verified)
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

/// A scratch file name beside a backup.
pub fn scratch_path(file: &Path) -> PathBuf {
    crate::db::sibling(file, ".scratch.db")
}

/// Deletes backups beyond the `keep_last` newest and older than `keep_days` days (a backup is
/// kept when either rule keeps it), with their sidecars and manifests. Returns what it removed.
pub fn prune(dir: &Path, keep_last: Option<usize>, keep_days: Option<u64>) -> Result<Vec<PathBuf>> {
    if keep_last.is_none() && keep_days.is_none() {
        return Err(Error::NoRetentionRule);
    }
    let now = time::OffsetDateTime::now_utc();
    let mut removed = Vec::new();
    for (i, entry) in list(dir)?.into_iter().enumerate() {
        let by_count = keep_last.is_some_and(|n| i < n);
        let by_age = keep_days.is_some_and(|d| {
            time::OffsetDateTime::parse(
                &entry.created_at,
                &time::format_description::well_known::Rfc3339,
            )
            .is_ok_and(|t| now - t <= time::Duration::days(i64::try_from(d).unwrap_or(i64::MAX)))
        });
        if by_count || by_age {
            continue;
        }
        for path in [
            sidecar_path(&entry.file),
            manifest_path(&entry.file),
            entry.file.clone(),
        ] {
            if path.exists() {
                std::fs::remove_file(&path).map_err(|e| Error::io("remove", &path, e))?;
            }
        }
        removed.push(entry.file);
    }
    Ok(removed)
}
