//! Choosing the backup to restore, among the database's own (never another database's, and
//! never a safety copy unless asked), verifying it, and the preview shown before confirming.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rusqlite::Connection;

use super::{Options, Source};
use crate::backup::{Kind, read_manifest};
use crate::db::Tables;
use crate::db::identity::Owner;
use crate::error::{Error, Result};
use crate::ops::catalog::{self, Verified};

/// One table's rows in the backup and in the live database.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TableCounts {
    /// The table.
    pub table: String,
    /// Rows in the backup (None: the backup has no such table).
    pub backup: Option<u64>,
    /// Rows in the live database (None: it has no such table, or cannot be read).
    pub live: Option<u64>,
}

/// What a restore would put in place, shown before it is confirmed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Preview {
    /// The backup file.
    pub file: PathBuf,
    /// When it was taken (empty when it has no manifest).
    pub created_at: String,
    /// Its label (a backup) or reason (a safety copy).
    pub label: String,
    /// Backup or safety copy (None when it has no manifest).
    pub kind: Option<Kind>,
    /// The database it was taken from (its canonical path when recorded), or `unknown`.
    pub source_database: String,
    /// That database's identity, when recorded.
    pub source_id: String,
    /// True only when its manifest shows it is a backup of this database (false for another
    /// database's backup, and for a file without a manifest).
    pub this_database: bool,
    /// The last migration applied in it, when it has a history.
    pub schema_version: Option<i32>,
    /// The file's size in bytes.
    pub size: u64,
    /// The database's size uncompressed.
    pub database_size: u64,
    /// False when the backup had no checksum and only integrity_check vouched for it.
    pub checksum_verified: bool,
    /// What its integrity_check could not verify (indexes in a collation this build of
    /// SQLite lacks); empty when it verified everything.
    pub unverified: crate::backup::Unverified,
    /// Every table, with its rows in the backup beside the live ones.
    pub tables: Vec<TableCounts>,
    /// Why the live database could not be read, when it could not.
    pub live_problem: Option<String>,
    /// Backups passed over because they failed verification (with --latest-valid).
    pub skipped: Vec<(PathBuf, String)>,
}

/// The backup chosen, verified, with its row counts.
pub(super) struct Chosen {
    pub(super) from: PathBuf,
    pub(super) plain: Verified,
    pub(super) counts: BTreeMap<String, u64>,
}

/// Picks the backups to try, best first: the file named, or the database's own backups
/// (and, with `include_safety`, its safety copies) newest first, at or before `--at`.
pub(super) fn candidates(opts: &Options, owner: &Owner) -> Result<Vec<PathBuf>> {
    let at = match &opts.source {
        Source::File(f) => return Ok(vec![f.clone()]),
        Source::Latest => None,
        Source::At(t) => Some(
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                .map_err(|_| Error::InvalidArgument {
                    what: format!("--at `{t}`"),
                    message: "give an RFC 3339 time, e.g. 2026-11-25T14:30:00Z".into(),
                })?,
        ),
    };
    let kinds: &[Kind] = if opts.include_safety {
        &[Kind::Backup, Kind::Safety]
    } else {
        &[Kind::Backup]
    };
    let all = catalog::list(&opts.dir)?;
    let chosen: Vec<PathBuf> = all
        .iter()
        .filter(|e| kinds.contains(&e.kind) && e.belongs_to(owner))
        .filter(|e| {
            at.is_none_or(|at| {
                time::OffsetDateTime::parse(
                    &e.created_at,
                    &time::format_description::well_known::Rfc3339,
                )
                .is_ok_and(|c| c <= at)
            })
        })
        .map(|e| e.file.clone())
        .collect();
    if chosen.is_empty() {
        let mine = all
            .iter()
            .filter(|e| e.kind == Kind::Backup && e.belongs_to(owner))
            .count();
        return Err(Error::NoBackup {
            dir: opts.dir.clone(),
            database: opts.database.clone(),
            others: all.len() - mine,
        });
    }
    Ok(chosen)
}

/// Picks the first candidate that passes verification (walking back past failures with
/// `latest_valid`), with the ones skipped.
pub(super) fn pick_verified(
    candidates: Vec<PathBuf>,
    opts: &Options,
) -> Result<(Chosen, Vec<(PathBuf, String)>)> {
    let mut skipped = Vec::new();
    for file in candidates {
        match catalog::verify_plain(&file, opts.without_checksum) {
            Ok(plain) => {
                // Opened read-write, as integrity_check opens it: a WAL-mode copy then needs
                // no `-shm` to exist already.
                let counts = Connection::open(&plain.path)
                    .map_err(|e| {
                        Error::sqlite(format!("open {}", crate::printable::path(&plain.path)), e)
                    })
                    .and_then(|c| crate::db::row_counts(&c, Tables::All))?;
                return Ok((
                    Chosen {
                        from: file,
                        plain,
                        counts,
                    },
                    skipped,
                ));
            }
            Err(e) if opts.latest_valid => skipped.push((file, e.to_string())),
            Err(e) => {
                return Err(Error::BackupRejected {
                    source: Box::new(e),
                });
            }
        }
    }
    Err(Error::NoValidBackup)
}

/// The preview of restoring `chosen` into the database `owner` describes.
pub(super) fn preview(
    opts: &Options,
    owner: &Owner,
    chosen: &Chosen,
    skipped: Vec<(PathBuf, String)>,
) -> Preview {
    let manifest = read_manifest(&chosen.from);
    let (live_counts, live_problem) = match crate::db::open_read_only(&opts.database)
        .and_then(|c| crate::db::row_counts(&c, Tables::User))
    {
        Ok(counts) => (counts, None),
        Err(_) if !opts.database.exists() => (BTreeMap::new(), Some("it does not exist".into())),
        Err(e) => (BTreeMap::new(), Some(e.to_string())),
    };
    let mut names: Vec<&String> = chosen
        .counts
        .keys()
        .chain(live_counts.keys())
        .filter(|n| !n.starts_with("_schemactl"))
        .collect();
    names.sort();
    names.dedup();
    let tables = names
        .into_iter()
        .map(|n| TableCounts {
            table: n.clone(),
            backup: chosen.counts.get(n).copied(),
            live: live_counts.get(n).copied(),
        })
        .collect();
    let schema_version = Connection::open(&chosen.plain.path).ok().and_then(|c| {
        crate::migrations::history::current_version(&c)
            .ok()
            .flatten()
    });
    let database_size = std::fs::metadata(&chosen.plain.path).map_or(0, |m| m.len());
    let size = std::fs::metadata(&chosen.from).map_or(0, |m| m.len());
    // Only a manifest can show whose backup a file is: one without (its manifest lost, or a
    // runbook's own copy beside its `sha256sum` file) is not shown to be this database's,
    // and restoring it is gated like another database's backup.
    let this_database = manifest.as_ref().is_some_and(|m| m.belongs_to(owner));
    let source_database = manifest
        .as_ref()
        .map_or("unknown (no manifest)".into(), |m| {
            if m.canonical_path.is_empty() {
                m.database.clone()
            } else {
                m.canonical_path.clone()
            }
        });
    Preview {
        file: chosen.from.clone(),
        created_at: manifest
            .as_ref()
            .map(|m| m.created_at.clone())
            .unwrap_or_default(),
        label: manifest
            .as_ref()
            .map(|m| m.reason.clone())
            .unwrap_or_default(),
        kind: manifest.as_ref().map(|m| m.kind()),
        source_id: manifest
            .as_ref()
            .map(|m| m.database_id.clone())
            .unwrap_or_default(),
        source_database,
        this_database,
        schema_version,
        size,
        database_size,
        checksum_verified: chosen.plain.checksum,
        unverified: chosen.plain.unverified.clone(),
        tables,
        live_problem,
        skipped,
    }
}

/// Renders a preview for people: one line per fact, then the tables.
pub fn render(p: &Preview, database: &Path) -> String {
    let mut out = format!(
        "restore {} from {}\n",
        crate::printable::path(&database),
        crate::printable::path(&p.file)
    );
    let or_unknown = |s: &str| {
        if s.is_empty() {
            "unknown".to_string()
        } else {
            s.to_string()
        }
    };
    out.push_str(&format!(
        "  taken:          {}\n",
        or_unknown(&p.created_at)
    ));
    out.push_str(&format!(
        "  label:          {}{}\n",
        crate::printable::line(&or_unknown(&p.label)),
        match p.kind {
            Some(Kind::Safety) => " (a safety copy schemactl kept)",
            _ => "",
        }
    ));
    out.push_str(&format!(
        "  source:         {}{}\n",
        crate::printable::line(&p.source_database),
        match (p.this_database, p.kind) {
            (true, _) => "",
            (false, None) => {
                "  <- NOT SHOWN TO BE THIS DATABASE'S: restoring it needs --from-other-database"
            }
            (false, Some(_)) => "  <- ANOTHER DATABASE",
        }
    ));
    out.push_str(&format!(
        "  schema version: {}\n",
        p.schema_version
            .map_or("none recorded".to_string(), |v| v.to_string())
    ));
    out.push_str(&format!(
        "  size:           {} bytes ({} bytes uncompressed){}\n",
        p.size,
        p.database_size,
        if p.checksum_verified {
            ""
        } else {
            "; NO CHECKSUM: only integrity_check vouches for it"
        }
    ));
    if !p.unverified.is_empty() {
        out.push_str(&format!(
            "  not verified:   {}\n",
            p.unverified.describe("integrity_check")
        ));
    }
    if let Some(problem) = &p.live_problem {
        out.push_str(&format!("  live database:  cannot be read ({problem})\n"));
    }
    let width = p
        .tables
        .iter()
        .map(|t| t.table.len())
        .max()
        .unwrap_or(5)
        .max(5);
    out.push_str(&format!(
        "  {:<width$}  {:>12}  {:>12}\n",
        "table", "backup", "live"
    ));
    let n = |c: Option<u64>| c.map_or("-".to_string(), |c| c.to_string());
    for t in &p.tables {
        out.push_str(&format!(
            "  {:<width$}  {:>12}  {:>12}\n",
            t.table,
            n(t.backup),
            n(t.live)
        ));
    }
    out
}
