//! Backup retention (`backup prune`, `backup --keep-last/--keep-days`): which of one
//! database's backups (or safety copies) go, shown before anything is deleted.
//!
//! The rules only ever see the files of the database given and of the kind asked for; the
//! backup a `backup` run just wrote is never among them; and the newest backup of the
//! database that passes verification is kept unless the caller says otherwise, so that no
//! rule can leave a database without a restorable copy.

use std::path::{Path, PathBuf};

use super::catalog::{self, Entry};
use crate::backup::{Kind, manifest_path, sidecar_path};
use crate::db::identity::Owner;
use crate::error::{Error, Result};

/// What to keep.
#[derive(Debug, Clone)]
pub struct Rules {
    /// Keep the N newest.
    pub keep_last: Option<usize>,
    /// Keep those from the last D days.
    pub keep_days: Option<u64>,
    /// Only files with this label (reason) are considered.
    pub label: Option<String>,
    /// Backups, or safety copies.
    pub kind: Kind,
    /// Files never removed (the backup just written).
    pub protect: Vec<PathBuf>,
    /// Allow removing the newest verified one too.
    pub allow_newest_verified: bool,
}

/// What a prune removes (or, in a dry run, would remove).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Pruned {
    /// The files removed, with their sidecars and manifests.
    pub removed: Vec<PathBuf>,
    /// The newest verified file, kept although the rules would have removed it.
    pub kept_newest_verified: Option<PathBuf>,
}

/// Works out what the rules remove from the files of `owner` in `dir`, removing nothing.
pub fn plan(dir: &Path, owner: &Owner, rules: &Rules) -> Result<Pruned> {
    if rules.keep_last.is_none() && rules.keep_days.is_none() {
        return Err(Error::NoRetentionRule);
    }
    let all: Vec<Entry> = catalog::owned(dir, owner, &[rules.kind])?;
    let considered: Vec<&Entry> = all
        .iter()
        .filter(|e| rules.label.as_ref().is_none_or(|l| *l == e.reason))
        .filter(|e| !rules.protect.contains(&e.file))
        .collect();
    let now = time::OffsetDateTime::now_utc();
    let mut removed: Vec<PathBuf> = Vec::new();
    for (i, entry) in considered.iter().enumerate() {
        let by_count = rules.keep_last.is_some_and(|n| i < n);
        let by_age = rules.keep_days.is_some_and(|d| {
            time::OffsetDateTime::parse(
                &entry.created_at,
                &time::format_description::well_known::Rfc3339,
            )
            .is_ok_and(|t| now - t <= time::Duration::days(i64::try_from(d).unwrap_or(i64::MAX)))
        });
        if !(by_count || by_age) {
            removed.push(entry.file.clone());
        }
    }
    let mut kept_newest_verified = None;
    if !rules.allow_newest_verified && !removed.is_empty() {
        // Newest first; a file just written was verified as it was written.
        let newest = all.iter().find(|e| {
            rules.protect.contains(&e.file) || catalog::verify_plain(&e.file, false).is_ok()
        });
        if let Some(newest) = newest
            && let Some(at) = removed.iter().position(|f| *f == newest.file)
        {
            kept_newest_verified = Some(removed.remove(at));
        }
    }
    Ok(Pruned {
        removed,
        kept_newest_verified,
    })
}

/// Removes the files `plan` chose, each with its sidecar and manifest (the manifest last, so
/// that an interrupted removal leaves a file that still lists, or nothing).
pub fn remove(pruned: &Pruned) -> Result<()> {
    for file in &pruned.removed {
        for path in [sidecar_path(file), file.clone(), manifest_path(file)] {
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io("remove", &path, e)),
            }
        }
    }
    Ok(())
}
