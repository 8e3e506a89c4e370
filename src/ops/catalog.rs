//! The backups directory: list, verify and prune backups by their manifests.

use std::path::{Path, PathBuf};

use super::backup::{decompress, integrity_check, manifest_path, sha256_file, sidecar_path};
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
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
        let file = path.with_extension("");
        if !file.exists() {
            continue;
        }
        out.push(Entry {
            created_at: s("created_at"),
            reason: s("reason"),
            size: v["size"].as_u64().unwrap_or_default(),
            sha256: s("sha256"),
            database: s("database"),
            file,
        });
    }
    out.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.file.cmp(&a.file)));
    Ok(out)
}

/// Checks a backup: its sha256 against its sidecar (or manifest), then decompresses it to a
/// scratch file beside it and runs integrity_check. Err says what failed.
pub fn verify(file: &Path) -> Result<()> {
    let recorded = std::fs::read_to_string(sidecar_path(file))
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .or_else(|| {
            let text = std::fs::read_to_string(manifest_path(file)).ok()?;
            let v: serde_json::Value = serde_json::from_str(&text).ok()?;
            v["sha256"].as_str().map(str::to_string)
        })
        .ok_or_else(|| {
            Error::Usage(format!(
                "{}: no sha256 sidecar or manifest to verify against",
                file.display()
            ))
        })?;
    let actual = sha256_file(file)?;
    if actual != recorded {
        return Err(Error::Usage(format!(
            "{}: checksum mismatch (recorded {recorded}, file {actual}): the backup is corrupt",
            file.display()
        )));
    }
    let scratch = scratch_path(file);
    let _ = std::fs::remove_file(&scratch);
    let result = decompress(file, &scratch).and_then(|()| integrity_check(&scratch));
    let _ = std::fs::remove_file(&scratch);
    result
}

/// A scratch file name beside a backup.
pub fn scratch_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".scratch.db");
    PathBuf::from(name)
}

/// Deletes backups beyond the `keep_last` newest and older than `keep_days` days (a backup is
/// kept when either rule keeps it), with their sidecars and manifests. Returns what it removed.
pub fn prune(dir: &Path, keep_last: Option<usize>, keep_days: Option<u64>) -> Result<Vec<PathBuf>> {
    if keep_last.is_none() && keep_days.is_none() {
        return Err(Error::Usage(
            "prune needs --keep-last N or --keep-days D".into(),
        ));
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
