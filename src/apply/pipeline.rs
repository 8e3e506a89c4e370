//! The apply pipeline: lock, verify the history against the migration catalogue, backup,
//! rehearsal on the backup, apply on the live database, each step stopping everything when
//! it fails.

use std::path::PathBuf;
use std::sync::Arc;

use refinery_core::Runner;
use rusqlite::Connection;

use super::driver::{Driver, Mode};
use super::lock;
use crate::backup;
use crate::db::identity::Identity;
use crate::error::{Error, Result};
use crate::inspect::Inspection;
use crate::migrations::history::{self, HISTORY_TABLE};
use crate::migrations::{self, Catalogue, Migration, expected_part};

pub use crate::db::open_live;

/// What `apply` is asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    /// The live database (created when missing).
    pub database: PathBuf,
    /// Forward migrations.
    pub migrations: PathBuf,
    /// Reverse migrations.
    pub rollbacks: PathBuf,
    /// Where backups go.
    pub backups: PathBuf,
    /// Wait for another applier instead of failing.
    pub wait: bool,
    /// Skip the pre-migration backup.
    pub skip_backup: bool,
    /// Skip the rehearsal.
    pub skip_rehearsal: bool,
    /// Allow migrations that drop or narrow something.
    pub allow_destructive: bool,
    /// Report what would run, change nothing.
    pub dry_run: bool,
    /// Run the row-level proof on the live run too (the rehearsal always runs it).
    pub verify: bool,
    /// Migrations that are not files (sync's). When there are any, only they run: any other
    /// pending migration is refused (sync never runs a file it was not asked to).
    pub extra: Vec<Migration>,
    /// What the user was shown and confirmed ([`Report::planned`] of the preview). When set,
    /// the run refuses, under the lock and before anything changes, unless it would run
    /// exactly these migrations with exactly this SQL (a file added or edited while the
    /// question was open, or another process's run, is never run unseen).
    pub confirmed: Option<Vec<(String, String)>>,
    /// An inspection of the live database taken before the lock (sync's plan): the pipeline
    /// reads again, under the lock, only the objects whose catalog rows changed since
    /// ([`crate::inspect::inspect_since`]), so a change made in between is still seen.
    pub inspected: Option<Arc<Inspection>>,
    /// The migration files as read before the lock (sync's catalogue): the pipeline reads the
    /// folders again under the lock and takes from these only the files that are byte for
    /// byte the same ([`migrations::files::load_since`]): an edited, added or removed file
    /// is seen, and an unchanged one is not checked and analysed a second time.
    pub files_read: Option<Arc<[Migration]>>,
    /// The live schema `extra` was planned on (sync's diff). When set, the run refuses, under
    /// the lock before anything changes and again in the live transaction before the first
    /// statement, when the live schema is no longer that one: a plan made for another schema
    /// (a column another process added and filled while the question was open) never runs.
    pub planned_on: Option<PlannedOn>,
    /// Work only on a database that exists (the fleet's targets): one missing, or removed
    /// since it was named, is refused as missing, and nothing (database, directory or lock
    /// file) is created at its path.
    pub existing_only: bool,
    /// The caller's check of which database this must be, made under the lock on the live
    /// connection before anything else is read (`fleet rollback`: the database its run
    /// migrated, as that run left it). A file swapped in after the caller looked and before
    /// the lock was taken is refused here, untouched.
    pub under_lock: Option<UnderLock>,
}

/// A check made under the lock ([`Options::under_lock`]): it errs when the database open on
/// the connection is not the one the caller means.
#[derive(Clone)]
pub struct UnderLock(pub Arc<LiveCheck>);

/// What [`UnderLock`] runs on the live connection.
pub type LiveCheck = dyn Fn(&Connection) -> Result<()> + Send + Sync;

impl std::fmt::Debug for UnderLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UnderLock(..)")
    }
}

impl UnderLock {
    /// Runs the check on `live` when there is one.
    pub fn check(check: Option<&UnderLock>, live: &Connection) -> Result<()> {
        check.map_or(Ok(()), |c| (c.0)(live))
    }
}

/// The live schema a plan was made on, as the plan saw it (the excluded tables left out).
#[derive(Debug, Clone)]
pub struct PlannedOn {
    /// The live schema without the excluded tables, when the exclude list leaves one out
    /// (None: `inspected`'s own schema, shared rather than copied: a run clones this for its
    /// rehearsal and its live run, and a copy of 5,000 tables is megabytes).
    excluded: Option<Arc<crate::model::Schema>>,
    /// The tables the plan leaves alone.
    exclude: crate::exclude::Exclude,
    /// The inspection `schema` comes from: a database whose catalog rows are still its rows
    /// has that schema ([`crate::inspect::unchanged_since`]).
    inspected: Arc<Inspection>,
}

impl PlannedOn {
    /// The live schema of `inspected`, without the tables `exclude` leaves alone.
    pub fn new(inspected: Arc<Inspection>, exclude: crate::exclude::Exclude) -> Self {
        let excluded = (!exclude.is_empty())
            .then(|| exclude.apply(&inspected.schema))
            .filter(|s| *s != inspected.schema)
            .map(Arc::new);
        PlannedOn {
            excluded,
            exclude,
            inspected,
        }
    }

    /// The live schema planned on, without the excluded tables.
    pub fn schema(&self) -> &crate::model::Schema {
        self.excluded.as_deref().unwrap_or(&self.inspected.schema)
    }

    /// Refuses, naming what changed, when `conn`'s live schema is not the one planned on.
    /// `planned` are the migrations made on it, as `V{n}__{name}`. `base` is an earlier
    /// inspection of the file: only what changed since is read again
    /// ([`crate::inspect::inspect_since`]). Returns true when the catalog rows are still
    /// those of the inspection planned on ([`crate::inspect::unchanged_since`]).
    pub(super) fn check(
        &self,
        conn: &Connection,
        database: &std::path::Path,
        planned: &[String],
        base: Option<&Inspection>,
    ) -> Result<bool> {
        // The same catalog rows as the inspection planned on: the same schema, read no further.
        if crate::inspect::unchanged_since(conn, &self.inspected)? {
            return Ok(true);
        }
        let now = self
            .exclude
            .apply(&crate::inspect::inspect_since(conn, base)?.schema);
        if now == *self.schema() {
            return Ok(false);
        }
        let diff = crate::normal::describe_difference(self.schema(), &now);
        // The dump's changed lines, less those that only gained or lost a comma.
        let side = |sign: char, other: &str| -> Vec<String> {
            let body = |l: &str| l[1..].trim().trim_end_matches(',').to_string();
            let theirs: Vec<String> = diff
                .lines()
                .filter(|l| l.starts_with(other) && !l.starts_with(&other.repeat(3)))
                .map(body)
                .collect();
            diff.lines()
                .filter(|l| l.starts_with(sign) && !l.starts_with(&sign.to_string().repeat(3)))
                .map(body)
                .filter(|b| !theirs.contains(b))
                .map(|b| format!("{sign} {b}"))
                .collect()
        };
        let mut changed = side('-', "+");
        changed.extend(side('+', "-"));
        changed.truncate(3);
        Err(Error::ChangedSinceShown {
            database: database.to_path_buf(),
            shown: planned.to_vec(),
            now: planned
                .iter()
                .map(|stem| {
                    format!(
                        "{stem} (planned on a live schema that changed since: {})",
                        changed.join(" ")
                    )
                })
                .collect(),
        })
    }
}

/// What `apply` did.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The version before.
    pub version_before: Option<i32>,
    /// The version after (in a dry run: after the pending migrations would run).
    pub version_after: Option<i32>,
    /// Migrations applied (or, in a dry run, pending), as `V{n}__{name}`.
    pub migrations: Vec<String>,
    /// The SQL of each migration in `migrations`, in the same order.
    pub sql: Vec<String>,
    /// What a rollback drops and stashes, one line each (shown first, and gated by
    /// `allow_destructive`).
    pub drops: Vec<String>,
    /// The backup taken.
    pub backup: Option<PathBuf>,
    /// What the rehearsal checked.
    pub rehearsal: Vec<String>,
    /// What the live run checked.
    pub checks: Vec<String>,
}

impl Report {
    /// What runs: each migration (`V{n}__{name}`) with its SQL, what [`Options::confirmed`]
    /// takes from a preview.
    pub fn planned(&self) -> Vec<(String, String)> {
        self.migrations
            .iter()
            .cloned()
            .zip(self.sql.iter().cloned())
            .collect()
    }
}

/// Refuses when `opts.confirmed` is set and `report` would run anything that was not shown:
/// a migration not in the list, or another SQL for one that is. Running less than was shown
/// (another process ran some of it meanwhile) runs nothing unseen. Nothing has changed yet
/// when it is called.
pub(super) fn check_confirmed(opts: &Options, report: &Report) -> Result<()> {
    let Some(shown) = &opts.confirmed else {
        return Ok(());
    };
    let planned = report.planned();
    if planned.iter().all(|p| shown.contains(p)) {
        return Ok(());
    }
    let now = planned
        .iter()
        .map(|(stem, sql)| match shown.iter().find(|(s, _)| s == stem) {
            None => format!("{stem} (not shown)"),
            Some((_, was)) if was != sql => format!("{stem} (edited since)"),
            Some(_) => stem.clone(),
        })
        .collect();
    Err(Error::ChangedSinceShown {
        database: opts.database.clone(),
        shown: shown.iter().map(|(stem, _)| stem.clone()).collect(),
        now,
    })
}

/// Runs `all` through refinery with `driver`, which holds the pending migrations and what
/// their run checks.
fn run_refinery(driver: Driver<'_>, all: &[refinery_core::Migration]) -> Result<Vec<String>> {
    let mut runner = Runner::new(all)
        .set_grouped(true)
        .set_abort_divergent(true)
        .set_abort_missing(true);
    runner.set_migration_table_name(HISTORY_TABLE);
    driver.run(|driver| {
        runner.run(driver).map(|_| ()).map_err(|e| {
            // refinery wraps the driver's own error: show that one.
            let message = std::error::Error::source(&e)
                .map_or_else(|| e.to_string(), |inner| inner.to_string());
            Error::Runner { message, source: e }
        })
    })
}

/// Runs the pipeline. `say` receives progress lines for the user. Migration files that bring
/// in a rule the live rows break are refused before anything runs, naming the rows.
pub fn apply(opts: &Options, say: &mut dyn FnMut(&str)) -> Result<Report> {
    run_pipeline(opts, true, say)
}

/// Like [`apply`], leaving the rows that break a rule the files bring in to the rehearsal
/// (which then fails, naming them): for `fleet apply`, whose own lint reports them per
/// database before the run and whose outcome records the rehearsal's failure.
pub fn apply_leaving_rows_to_rehearsal(
    opts: &Options,
    say: &mut dyn FnMut(&str),
) -> Result<Report> {
    run_pipeline(opts, false, say)
}

fn run_pipeline(opts: &Options, check_rows: bool, say: &mut dyn FnMut(&str)) -> Result<Report> {
    // 1. Lock: one applier at a time. A dry run creates nothing: no lock file, no database
    // (a missing one is previewed from an empty in-memory one), and opens the file read-only.
    let (_lock, live) = if opts.dry_run {
        let conn = if opts.database.exists() {
            crate::db::open_read_only(&opts.database)?
        } else {
            Connection::open_in_memory()
                .map_err(|e| Error::sqlite("open an empty database to preview", e))?
        };
        (None, conn)
    } else if opts.existing_only {
        crate::db::must_exist(&opts.database)?;
        let lock = lock::acquire(&opts.database, opts.wait, &mut |m| say(m))?;
        (Some(lock), crate::db::open_existing(&opts.database)?)
    } else {
        if let Some(parent) = opts.database.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| Error::io("create directory", parent, e))?;
        }
        let lock = lock::acquire(&opts.database, opts.wait, &mut |m| say(m))?;
        (Some(lock), open_live(&opts.database)?)
    };
    UnderLock::check(opts.under_lock.as_ref(), &live)?;

    // 2. Verify the history against the migrations.
    let catalogue = Catalogue::new(
        migrations::files::load_since(
            &opts.migrations,
            &opts.rollbacks,
            opts.files_read.as_deref().unwrap_or_default(),
        )?,
        history::applied(&live)?,
        history::recorded(&live)?,
        &opts.extra,
    )?;
    let pending: Vec<Migration> = catalogue.verify()?.into_iter().cloned().collect();
    let mut report = Report {
        version_before: catalogue.current_version(),
        version_after: pending
            .iter()
            .map(|m| m.version)
            .max()
            .or(catalogue.current_version()),
        migrations: pending.iter().map(Migration::stem).collect(),
        sql: pending.iter().map(|m| m.forward.clone()).collect(),
        ..Report::default()
    };
    check_confirmed(opts, &report)?;
    // Whether `opts.inspected` is known to be the live schema now: the plan's check found the
    // catalog rows of that very inspection unchanged, just now, under the lock.
    let mut inspected_is_live = false;
    if let Some(planned_on) = &opts.planned_on {
        let unchanged = planned_on.check(
            &live,
            &opts.database,
            &report.migrations,
            opts.inspected.as_deref(),
        )?;
        inspected_is_live = unchanged
            && opts
                .inspected
                .as_ref()
                .is_some_and(|i| Arc::ptr_eq(i, &planned_on.inspected));
    }
    if !opts.extra.is_empty() {
        let others: Vec<String> = pending
            .iter()
            .filter(|m| !opts.extra.iter().any(|e| e.version == m.version))
            .map(Migration::stem)
            .collect();
        if !others.is_empty() {
            return Err(Error::FilesPending {
                database: opts.database.clone(),
                pending: others,
            });
        }
    }
    if pending.is_empty() {
        return Ok(report);
    }
    // What was added by hand since the migrations were written and they would drop: refused
    // without --allow-destructive, named either way (never dropped without a word).
    // Read under the lock; the rehearsal's and the live run's schema checks read again only
    // what changed since (the backup is a copy of this file, taken under the same lock).
    // Unchanged since sync's inspection (the usual case): that one, not a copy of it.
    // (The plan's check above read the same catalog rows against the same inspection a moment
    // ago: it is not read a third time. A schema change by another process in between is
    // refused anyway: the live transaction checks the plan's schema again before its first
    // statement, and the rehearsal compares its result with the schema expected from this
    // one.)
    let before: Arc<Inspection> = match &opts.inspected {
        Some(inspected) if inspected_is_live => Arc::clone(inspected),
        Some(inspected) if crate::inspect::unchanged_since(&live, inspected)? => {
            Arc::clone(inspected)
        }
        base => Arc::new(crate::inspect::inspect_since(&live, base.as_deref())?),
    };
    let hand_lost = super::hand_lost::lost(&live, opts, &pending, &before.schema, say)?;
    if !hand_lost.is_empty() {
        if !opts.allow_destructive && !opts.dry_run {
            return Err(crate::error::GateError::HandMadeLost {
                database: opts.database.clone(),
                objects: hand_lost,
            }
            .into());
        }
        say(&format!(
            "warning: the migrations drop what was added by hand since they were written: {}{}",
            hand_lost.join(", "),
            if opts.dry_run {
                " (refused without --allow-destructive)"
            } else {
                " (--allow-destructive; the pre-apply backup keeps it)"
            }
        ));
    }
    // The destructive gate: a destructive migration that drops a table or column holding
    // data needs --allow-destructive. One that drops only empty tables (a new database built
    // from the migrations) loses nothing and runs; the driver counts again in the live
    // transaction, just before each drop, so rows that appear meanwhile still stop it. A
    // destructive migration whose drops cannot be named keeps the gate.
    let refuse_loss = !opts.allow_destructive && !opts.dry_run;
    if refuse_loss {
        let mut losing = Vec::new();
        let mut empty = Vec::new();
        // Each drop counted where its rows are then, through the batch's renames.
        let sql: Vec<&str> = pending.iter().map(|m| m.forward.as_str()).collect();
        let estimates = super::drop_estimate::estimate(&live, &sql)?;
        for (m, dropped) in pending.iter().zip(&estimates) {
            if !m.needs().destructive {
                continue;
            }
            if dropped.is_empty() {
                losing.push(format!("{} ({})", m.stem(), m.origin));
                continue;
            }
            // A TEMP table the batch made loses nothing the database keeps when it goes: its
            // rows end with the run's connection anyway (h21_05).
            let lost: Vec<String> = dropped
                .iter()
                .filter(|d| d.rows > 0 && !d.temp && d.dropped.schema != crate::sql::Schema::Temp)
                .map(|d| super::drop_estimate::describe_loss(&d.dropped, d.rows))
                .collect();
            if lost.is_empty() {
                empty.push(m.stem());
            } else {
                losing.push(format!("{} ({}: {})", m.stem(), m.origin, lost.join(", ")));
            }
        }
        if !losing.is_empty() {
            return Err(Error::DestructiveRefused { migrations: losing });
        }
        if !empty.is_empty() {
            say(&format!(
                "note: {} drop(s) only empty tables or columns, or TEMP tables it made: nothing can be lost, so it runs without --allow-destructive",
                empty.join(", ")
            ));
        }
    }
    // The schema the migrations should produce, from the live schema alone. Migrations whose
    // data statements need real rows may not run on an empty copy: then the schema is not
    // compared, and the rehearsal and the live run say what fails.
    // Held as the part the migrations reach (the rest is `before`): the whole is built only
    // for the checks below and dropped before the backup, when SQLite's integrity check of
    // the copy needs its memory.
    let expected = match expected_part(&before.schema, &pending) {
        Ok(part) => {
            let schema = part.schema(&before.schema);
            let sql: Vec<&str> = pending.iter().map(|m| m.forward.as_str()).collect();
            let mut lost = super::trigger_loss::lost(&before.schema, &schema, &sql);
            // A trigger added by hand is behind its own gate (shown, --allow-destructive).
            lost.retain(|l| !hand_lost.contains(l));
            if !lost.is_empty() {
                return Err(crate::error::GateError::TriggersLost { triggers: lost }.into());
            }
            // Migration files bring in rules over rows nothing checked yet (sync's lint
            // checked its own): the rows that break them are named before anything runs, a
            // dry run too. A table the run writes before its rule is left to the rehearsal
            // (the rows as the run leaves them).
            if check_rows && opts.extra.is_empty() {
                let findings =
                    super::unfit::before_run(&live, &before.schema, &schema, &sql, &pending)?;
                if !findings.is_empty() {
                    return Err(crate::error::GateError::RowsUnfit {
                        database: opts.database.clone(),
                        findings,
                    }
                    .into());
                }
            }
            Some(part)
        }
        Err(e) => {
            if !opts.dry_run {
                say(&format!("note: the expected schema is not compared: {e}"));
            }
            None
        }
    };
    if opts.dry_run {
        return Ok(report);
    }
    let all: Vec<refinery_core::Migration> = catalogue
        .migrations
        .iter()
        .map(Migration::refinery)
        .collect::<Result<_>>()?;

    let run = |conn: &Connection, mode: Mode, identity: Option<&Identity>| {
        let driver = Driver::new(conn, mode, pending.to_vec(), None)
            .expecting(expected.as_ref(), &before.schema)
            .allow_rows_removed(opts.allow_destructive)
            .refusing_loss(refuse_loss)
            .proving(mode == Mode::Rehearsal || opts.verify)
            .recording_identity(identity)
            .inspected_before(Some(&before))
            .planned_on(opts.planned_on.clone(), &opts.database);
        run_refinery(driver, &all)
    };
    // A row written meanwhile that breaks a rule: SQLite says "constraint failed"; the
    // refusal names the rule and the rows, read now that the run rolled back.
    guarded_run(&live, opts, "apply", pending.len(), &mut report, &run, say).map_err(|e| {
        let expected = expected.as_ref().map(|part| part.schema(&before.schema));
        super::unfit::explain(e, &live, &before.schema, expected.as_ref(), &pending)
    })?;
    Ok(report)
}

/// What runs the migrations on a connection in a mode, recording the database's identity
/// when given one (in the live run's transaction).
pub(super) type Run<'a> = dyn Fn(&Connection, Mode, Option<&Identity>) -> Result<Vec<String>> + 'a;

/// Steps 3 to 5 of apply and rollback: the backup, the rehearsal on it (`run` in
/// [`Mode::Rehearsal`]), and the live run (`run` in [`Mode::Live`]), each stopping everything
/// when it fails. `what` names the operation ("apply", "rollback") in messages and manifests.
pub(super) fn guarded_run(
    live: &Connection,
    opts: &Options,
    what: &str,
    count: usize,
    report: &mut Report,
    run: &Run<'_>,
    say: &mut dyn FnMut(&str),
) -> Result<()> {
    // 3. Backup (a safety copy, written like any backup), 4. rehearsal on it.
    for f in backup::partial::sweep(&opts.backups)? {
        say(&format!(
            "removed {} (left by an interrupted run)",
            crate::printable::path(&f)
        ));
    }
    // The database's first write by schemactl gives it its identity (see db::identity),
    // recorded in the live run's transaction: a failure leaves the database as it was.
    let (identity, new_identity) = crate::db::identity::planned(live, &opts.database)?;
    let owner = crate::db::identity::Owner::managed(
        &identity,
        &crate::db::identity::canonical(&opts.database),
    );
    let mut backup_file = None;
    if opts.skip_backup {
        say(
            "warning: --skip-backup: no backup is taken; a failure still rolls back, but nothing older can be restored",
        );
    } else {
        say(&format!(
            "backing up {} ...",
            crate::printable::path(&opts.database)
        ));
        backup_file = Some(backup::take(
            live,
            &opts.database,
            &opts.backups,
            &format!("pre-{what}"),
        )?);
    }
    if opts.skip_rehearsal {
        say(
            "warning: --skip-rehearsal: the migrations run on the live database without a rehearsal",
        );
    } else {
        // The rehearsal runs on the plain copy before it is finished (its changes are rolled
        // back); without a backup, on a scratch copy removed when dropped.
        let scratch;
        let copy = match &backup_file {
            Some(b) => b,
            None => {
                scratch = backup::take(live, &opts.database, &opts.backups, "rehearsal")?;
                &scratch
            }
        };
        say(&format!(
            "rehearsing the {what} of {count} migration(s) on the backup ..."
        ));
        let result = Connection::open(&copy.file.path)
            .map_err(|e| {
                Error::sqlite(
                    format!("open {}", crate::printable::path(&copy.file.path)),
                    e,
                )
            })
            .and_then(|conn| run(&conn, Mode::Rehearsal, None));
        match result {
            Ok(checked) => report.rehearsal = checked,
            Err(e) => {
                finish_backup(backup_file, opts, &owner, what, report, say)?;
                return Err(Error::RehearsalFailed {
                    source: Box::new(e),
                });
            }
        }
    }
    // The live connection's page cache goes back before SQLite's integrity check of the
    // copy takes its own (the pages are read again from the OS's cache when needed).
    let _ = live.execute_batch("PRAGMA shrink_memory");
    finish_backup(backup_file, opts, &owner, what, report, say)?;

    // 5. Apply on the live database, all or nothing.
    say(&format!(
        "running the {what} of {count} migration(s) on {} ...",
        crate::printable::path(&opts.database)
    ));
    match run(live, Mode::Live, new_identity.then_some(&identity)) {
        Ok(checked) => report.checks = checked,
        Err(e) => {
            return Err(Error::LiveRunFailed {
                source: Box::new(e),
                backup: report.backup.clone(),
            });
        }
    }
    Ok(())
}

/// Finishes the pre-migration copy like any backup (integrity_check, compression, sidecar,
/// manifest of kind `safety`) and records it in the report.
fn finish_backup(
    pending: Option<backup::Pending>,
    opts: &Options,
    owner: &crate::db::identity::Owner,
    what: &str,
    report: &mut Report,
    say: &mut dyn FnMut(&str),
) -> Result<()> {
    let Some(pending) = pending else {
        return Ok(());
    };
    let manifest = backup::Manifest::new(
        &opts.database,
        owner,
        &format!("pre-{what}"),
        backup::Kind::Safety,
        backup::Detail::Migration {
            schema_version_before: report.version_before,
            migrations: report.migrations.clone(),
        },
    );
    let written = pending.finish(backup::Compression::Zstd, manifest)?;
    say(&format!(
        "backup: {} ({} bytes, database {} bytes)",
        crate::printable::path(&written.path),
        written.size,
        written.database_size
    ));
    report.backup = Some(written.path);
    Ok(())
}
