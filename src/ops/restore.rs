//! Full restore: verify the backup, keep the current database as a before-restore backup,
//! then copy the backup into the live database through SQLite's backup API, which takes
//! SQLite's own locks and writes through its journal or WAL: all or nothing, and never a file
//! copied over a database that has a `-wal` beside it.

use std::path::{Path, PathBuf};

use rusqlite::Connection;
use rusqlite::backup::{Backup, StepResult};

use super::catalog::{self, Entry};
use crate::backup::{self, BUSY_WAIT};
use crate::db::{ForeignKeys, Tables};
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
                .map_err(|_| Error::InvalidArgument {
                    what: format!("--at `{t}`"),
                    message: "give an RFC 3339 time, e.g. 2026-11-25T14:30:00Z".into(),
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
        return Err(Error::NoBackup {
            dir: opts.dir.clone(),
        });
    }
    Ok(chosen)
}

/// Restores the database from a backup.
pub fn restore(opts: &Options, say: &mut dyn FnMut(&str)) -> Result<Restored> {
    let candidates = candidates(opts)?;
    let _lock = crate::db::lock::acquire(&opts.database, opts.wait, &mut |m| say(m))?;
    let mut live = crate::db::open_live(&opts.database)?;
    refuse_while_written(&live, &opts.database, opts.wait)?;
    let (verified, before) = verify_and_keep_before(&live, opts, candidates, say)?;
    say(&format!(
        "restoring {} from {} ...",
        opts.database.display(),
        verified.from.display()
    ));
    copy_into(&verified.plain.path, &mut live, &opts.database)?;
    say("writing the restored pages into the database file ...");
    live.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .map_err(|e| Error::sqlite("checkpoint the restored database", e))?;
    // The pages came from a verified file through SQLite's own pager; the row counts of every
    // table confirm that the data landed (a full check would read the whole file again).
    say("counting the restored rows ...");
    let restored = crate::db::row_counts(&live, Tables::All)?;
    if restored != verified.counts {
        return Err(Error::RestoreMismatch { before });
    }
    Ok(Restored {
        from: verified.from.clone(),
        before,
        skipped: verified.skipped.clone(),
    })
}

/// The backup chosen for a restore, verified.
struct Chosen {
    from: PathBuf,
    plain: catalog::Verified,
    skipped: Vec<(PathBuf, String)>,
    counts: std::collections::BTreeMap<String, u64>,
}

/// Verifies the candidates (on a second thread) while the live database is kept as a
/// before-restore backup: the two full reads overlap. When no backup passes, the
/// before-restore backup is removed again and nothing has changed.
fn verify_and_keep_before(
    live: &Connection,
    opts: &Options,
    candidates: Vec<PathBuf>,
    say: &mut dyn FnMut(&str),
) -> Result<(Chosen, PathBuf)> {
    say("verifying the backup and keeping the current database as a before-restore backup ...");
    let (chosen, before) = std::thread::scope(|s| {
        let verifying = s.spawn(|| pick_verified(candidates, opts.latest_valid));
        let before = keep_before(live, opts);
        let chosen = verifying
            .join()
            .unwrap_or_else(|_| Err(Error::ThreadPanicked { what: "verifying" }));
        (chosen, before)
    });
    let before = match (chosen.as_ref(), before) {
        (Ok(_), before) => before?,
        (Err(_), Ok(before)) => {
            let _ = std::fs::remove_file(backup::manifest_path(&before));
            let _ = std::fs::remove_file(&before);
            before
        }
        (Err(_), Err(_)) => PathBuf::new(),
    };
    let chosen = chosen?;
    for (file, why) in &chosen.skipped {
        say(&format!("skipping {}: {why}", file.display()));
    }
    Ok((chosen, before))
}

/// Picks the first candidate backup that passes verification (walking back past failures
/// with `latest_valid`), with the ones skipped.
fn pick_verified(candidates: Vec<PathBuf>, latest_valid: bool) -> Result<Chosen> {
    let mut skipped = Vec::new();
    for file in candidates {
        match catalog::verify_plain(&file) {
            Ok(plain) => {
                // Opened read-write, as integrity_check opens it: a WAL-mode copy then needs
                // no `-shm` to exist already.
                let counts = Connection::open(&plain.path)
                    .map_err(|e| Error::sqlite(format!("open {}", plain.path.display()), e))
                    .and_then(|c| crate::db::row_counts(&c, Tables::All))?;
                return Ok(Chosen {
                    from: file,
                    plain,
                    skipped,
                    counts,
                });
            }
            Err(e) if latest_valid => skipped.push((file, e.to_string())),
            Err(e) => {
                return Err(Error::BackupRejected {
                    source: Box::new(e),
                });
            }
        }
    }
    Err(Error::NoValidBackup)
}

/// Keeps the live database as a before-restore backup, with its manifest.
fn keep_before(live: &Connection, opts: &Options) -> Result<PathBuf> {
    let before = backup::take(live, &opts.database, &opts.dir, "before-restore")?;
    let sha = backup::sha256_file(&before.path)?;
    backup::write_manifest(
        &before,
        &opts.database,
        "before-restore",
        backup::Detail::Plain {},
        &sha,
    )?;
    Ok(before.path)
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
        Err(_) if !wait => Err(Error::WriterActive {
            database: database.to_path_buf(),
        }),
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
                return Err(Error::RestoreBusy {
                    database: database.to_path_buf(),
                });
            }
            _ => std::thread::sleep(std::time::Duration::from_millis(20)),
        }
    }
}

/// How a single table is restored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableMode {
    /// Delete the table's rows, then insert the backup's.
    Replace,
    /// Insert only the backup's rows whose primary key (or rowid) is missing.
    Merge,
}

/// What a table restore did.
#[derive(Debug, Clone)]
pub struct TableRestored {
    /// The backup restored from.
    pub from: PathBuf,
    /// The before-restore backup of the whole database.
    pub before: PathBuf,
    /// Rows deleted (replace).
    pub deleted: usize,
    /// Rows inserted.
    pub inserted: usize,
    /// Columns of the backup's table the live table no longer has (not restored).
    pub dropped_columns: Vec<String>,
}

/// Restores one table from a backup by ATTACH, in one transaction, mapping columns by name;
/// foreign keys are switched off outside the transaction and checked before the commit.
pub fn restore_table(
    opts: &Options,
    table: &str,
    mode: TableMode,
    say: &mut dyn FnMut(&str),
) -> Result<TableRestored> {
    let candidates = candidates(opts)?;
    let _lock = crate::db::lock::acquire(&opts.database, opts.wait, &mut |m| say(m))?;
    let live = crate::db::open_live(&opts.database)?;
    refuse_while_written(&live, &opts.database, opts.wait)?;
    let live_schema = crate::inspect(&live)?;
    let Some(live_table) = live_schema.table(table).cloned() else {
        return Err(Error::MissingTable {
            place: Some("the live database".into()),
            table: table.to_string(),
        });
    };
    let (chosen, before) = verify_and_keep_before(&live, opts, candidates, say)?;
    let (from, scratch) = (chosen.from.clone(), chosen.plain.path.clone());
    let result = (|| {
        let snapshot = crate::db::open_read_only(&scratch)?;
        let backup_schema = crate::inspect(&snapshot)?;
        drop(snapshot);
        let Some(backup_table) = backup_schema.table(table).cloned() else {
            return Err(Error::MissingTable {
                place: Some(from.display().to_string()),
                table: table.to_string(),
            });
        };
        let stored = |t: &crate::model::Table| -> Vec<String> {
            t.columns
                .iter()
                .filter(|c| c.generated.is_none())
                .map(|c| c.name.to_string())
                .collect()
        };
        let live_cols = stored(&live_table);
        let common: Vec<String> = stored(&backup_table)
            .into_iter()
            .filter(|c| live_cols.iter().any(|l| l.eq_ignore_ascii_case(c)))
            .collect();
        let dropped_columns: Vec<String> = stored(&backup_table)
            .into_iter()
            .filter(|c| !common.contains(c))
            .collect();
        if common.is_empty() {
            return Err(Error::NoCommonColumns {
                table: table.to_string(),
            });
        }
        run_table_restore(&live, &scratch, &live_table, &common, mode)
            .map(|(deleted, inserted)| (deleted, inserted, dropped_columns))
    })();
    drop(chosen);
    let (deleted, inserted, dropped_columns) = result?;
    Ok(TableRestored {
        from,
        before,
        deleted,
        inserted,
        dropped_columns,
    })
}

fn run_table_restore(
    live: &Connection,
    scratch: &Path,
    table: &crate::model::Table,
    columns: &[String],
    mode: TableMode,
) -> Result<(usize, usize)> {
    use crate::sql::{ident, quote_literal};
    let context = format!("restore table \"{}\"", table.name);
    let q = Error::sqlite_in(context.clone());
    live.execute_batch(&format!(
        "ATTACH DATABASE {} AS schemactl_snapshot",
        quote_literal(&scratch.display().to_string())
    ))
    .map_err(q)?;
    let q = |e| Error::sqlite(context.clone(), e);
    let t = ident(&table.name);
    let cols = columns
        .iter()
        .map(|c| ident(c))
        .collect::<Vec<_>>()
        .join(", ");
    let result = crate::db::immediate(live, ForeignKeys::Off, &context, &context, || {
        let mut deleted = 0;
        let inserted = match mode {
            TableMode::Replace => {
                deleted = live
                    .execute(&format!("DELETE FROM main.{t}"), [])
                    .map_err(q)?;
                live.execute(
                    &format!(
                        "INSERT INTO main.{t} ({cols}) SELECT {cols} FROM schemactl_snapshot.{t}"
                    ),
                    [],
                )
                .map_err(q)?
            }
            TableMode::Merge => {
                let key: Vec<String> = match &table.primary_key {
                    Some(pk) if pk.columns.iter().all(|k| !k.is_expr) => {
                        pk.columns.iter().map(|k| ident(k.expr.as_str())).collect()
                    }
                    _ => vec!["rowid".to_string()],
                };
                let matches = key
                    .iter()
                    .map(|k| format!("l.{k} IS b.{k}"))
                    .collect::<Vec<_>>()
                    .join(" AND ");
                let select = columns
                    .iter()
                    .map(|c| format!("b.{}", ident(c)))
                    .collect::<Vec<_>>()
                    .join(", ");
                live.execute(
                    &format!("INSERT INTO main.{t} ({cols}) SELECT {select} FROM schemactl_snapshot.{t} AS b WHERE NOT EXISTS (SELECT 1 FROM main.{t} AS l WHERE {matches})"),
                    [],
                )
                .map_err(q)?
            }
        };
        // The table as a child, and every table that references it.
        let mut check = vec![table.name.to_string()];
        let children: Vec<String> = live
            .prepare("SELECT m.name FROM sqlite_schema m, pragma_foreign_key_list(m.name) f WHERE m.type = 'table' AND f.\"table\" = ?1 COLLATE NOCASE")
            .map_err(q)?
            .query_map([table.name.as_str()], |r| r.get(0))
            .map_err(q)?
            .collect::<rusqlite::Result<_>>()
            .map_err(q)?;
        check.extend(children);
        crate::apply::check_foreign_keys(live, &check)?;
        Ok((deleted, inserted))
    });
    let _ = live.execute_batch("DETACH DATABASE schemactl_snapshot");
    result
}
