//! Full restore: verify the backup, keep the current database as a before-restore backup,
//! then copy the backup into the live database through SQLite's backup API, which takes
//! SQLite's own locks and writes through its journal or WAL: all or nothing, and never a file
//! copied over a database that has a `-wal` beside it.

use std::path::{Path, PathBuf};

use rusqlite::Connection;
use rusqlite::backup::{Backup, StepResult};

use super::backup::{self, BUSY_WAIT};
use super::catalog::{self, Entry};
use crate::error::{Error, Result};

/// Which backup to restore.
#[derive(Debug, Clone)]
pub enum Source {
    /// This file.
    File(PathBuf),
    /// The newest backup.
    Latest,
    /// The newest backup taken at or before this RFC 3339 time.
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
}

/// What a restore did.
#[derive(Debug, Clone)]
pub struct Restored {
    /// The backup restored.
    pub from: PathBuf,
    /// The before-restore backup of what the database held.
    pub before: PathBuf,
    /// Backups skipped because they failed verification (with `latest_valid`).
    pub skipped: Vec<(PathBuf, String)>,
}

/// Picks the backups to try, best first.
fn candidates(opts: &Options) -> Result<Vec<PathBuf>> {
    let entries: Vec<Entry> = catalog::list(&opts.dir)?;
    let chosen: Vec<PathBuf> = match &opts.source {
        Source::File(f) => return Ok(vec![f.clone()]),
        Source::Latest => entries.iter().map(|e| e.file.clone()).collect(),
        Source::At(t) => {
            let at = time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                .map_err(|_| {
                    Error::Usage(format!(
                        "--at `{t}`: give an RFC 3339 time, e.g. 2026-11-25T14:30:00Z"
                    ))
                })?;
            entries
                .iter()
                .filter(|e| {
                    time::OffsetDateTime::parse(
                        &e.created_at,
                        &time::format_description::well_known::Rfc3339,
                    )
                    .is_ok_and(|c| c <= at)
                })
                .map(|e| e.file.clone())
                .collect()
        }
    };
    if chosen.is_empty() {
        return Err(Error::Usage(format!(
            "no backup in {} fits",
            opts.dir.display()
        )));
    }
    Ok(chosen)
}

/// Restores the database from a backup.
pub fn restore(opts: &Options, say: &mut dyn FnMut(&str)) -> Result<Restored> {
    let mut skipped = Vec::new();
    let mut from = None;
    for file in candidates(opts)? {
        match catalog::verify(&file) {
            Ok(()) => {
                from = Some(file);
                break;
            }
            Err(e) if opts.latest_valid => {
                say(&format!("skipping {}: {e}", file.display()));
                skipped.push((file, e.to_string()));
            }
            Err(e) => return Err(Error::Usage(format!("{e}; nothing was restored"))),
        }
    }
    let from = from.ok_or_else(|| {
        Error::Usage("no backup passes verification; nothing was restored".into())
    })?;
    let _lock = crate::apply::lock::acquire(&opts.database, opts.wait, &mut |m| say(m))?;
    let mut live = crate::apply::open_live(&opts.database)?;
    refuse_while_written(&live, &opts.database, opts.wait)?;
    say("keeping the current database as a before-restore backup ...");
    let before = backup::take(&live, &opts.database, &opts.dir, "before-restore")?;
    let sha = backup::sha256_file(&before.path)?;
    backup::write_manifest(
        &before,
        serde_json::json!({ "database": opts.database.display().to_string(), "reason": "before-restore" }),
        &sha,
    )?;
    let scratch = catalog::scratch_path(&from);
    let _ = std::fs::remove_file(&scratch);
    backup::decompress(&from, &scratch)?;
    say(&format!(
        "restoring {} from {} ...",
        opts.database.display(),
        from.display()
    ));
    let result = copy_into(&scratch, &mut live, &opts.database);
    let _ = std::fs::remove_file(&scratch);
    result?;
    let ok: String = live
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| Error::sqlite("check the restored database", e))?;
    if ok != "ok" {
        return Err(Error::Usage(format!(
            "the restored database fails integrity_check ({ok}); the previous one is {}",
            before.path.display()
        )));
    }
    Ok(Restored {
        from,
        before: before.path,
        skipped,
    })
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
        Err(_) if !wait => Err(Error::Usage(format!(
            "a writer holds {}: stop it, or pass --wait; nothing was restored",
            database.display()
        ))),
        Err(e) => Err(Error::sqlite(
            format!("wait for the writer on {}", database.display()),
            e,
        )),
    }
}

/// Copies the plain database `from` into `live` with the backup API, in one step.
fn copy_into(from: &Path, live: &mut Connection, database: &Path) -> Result<()> {
    let q = |e| Error::sqlite(format!("restore {}", database.display()), e);
    let src = Connection::open(from).map_err(q)?;
    let backup = Backup::new(&src, live).map_err(q)?;
    let deadline = std::time::Instant::now() + BUSY_WAIT;
    loop {
        match backup.step(-1).map_err(q)? {
            StepResult::Done => return Ok(()),
            StepResult::More => {}
            _ if std::time::Instant::now() > deadline => {
                return Err(Error::Usage(format!(
                    "{} stayed busy; nothing was restored",
                    database.display()
                )));
            }
            _ => std::thread::sleep(std::time::Duration::from_millis(20)),
        }
    }
}
