//! The apply pipeline: lock, verify, backup, rehearsal on the backup, apply on the live
//! database, each step stopping everything when it fails.

use std::path::PathBuf;

use refinery_core::{Migration, Runner};
use rusqlite::Connection;

use super::driver::{Driver, Mode, Pending};
use super::history::{self, HISTORY_TABLE};
use super::lock;
use crate::error::{Error, Result};
use crate::migrations::{self, MigrationFile};
use crate::model::Schema;
use crate::ops::backup;

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
    /// Migrations that are not files (sync's), run after the files.
    pub extra: Vec<Pending>,
}

/// What `apply` did.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The version before.
    pub version_before: Option<i32>,
    /// Migrations applied (or, in a dry run, pending), as `V{n}__{name}`.
    pub migrations: Vec<String>,
    /// The pending SQL, in a dry run.
    pub sql: Vec<String>,
    /// The backup taken.
    pub backup: Option<PathBuf>,
    /// What the rehearsal checked.
    pub rehearsal: Vec<String>,
    /// What the live run checked.
    pub checks: Vec<String>,
}

/// One migration of the full list: a file, or a recorded sync.
#[derive(Debug, Clone)]
pub struct Source {
    /// Version.
    pub version: i32,
    /// Name.
    pub name: String,
    /// File path or `sync`.
    pub origin: String,
    /// Forward SQL.
    pub forward: String,
    /// Reverse SQL, when known.
    pub reverse: Option<String>,
    /// `file` or `sync`.
    pub kind: &'static str,
}

impl Source {
    fn from_file(f: &MigrationFile) -> Self {
        Source {
            version: f.version,
            name: f.name.clone(),
            origin: f.path.display().to_string(),
            forward: f.sql.clone(),
            reverse: f.rollback.as_ref().map(|(_, sql)| sql.clone()),
            kind: "file",
        }
    }

    fn refinery(&self) -> Result<Migration> {
        Migration::unapplied(&format!("V{}__{}", self.version, self.name), &self.forward)
            .map_err(|e| Error::Usage(format!("{}: {e}", self.origin)))
    }

    pub(super) fn pending(&self) -> Pending {
        Pending {
            version: self.version,
            name: self.name.clone(),
            kind: self.kind,
            source: self.origin.clone(),
            forward: self.forward.clone(),
            reverse: self.reverse.clone(),
            needs: migrations::needs(&self.forward),
        }
    }
}

/// Every migration: the files, the syncs recorded in the database, and `extra`, by version.
pub fn migration_list(
    files: &[MigrationFile],
    recorded: &[history::Recorded],
    extra: &[Pending],
) -> Result<Vec<Source>> {
    let mut list: Vec<Source> = files.iter().map(Source::from_file).collect();
    for r in recorded.iter().filter(|r| r.kind == "sync") {
        list.push(Source {
            version: r.version,
            name: r.name.clone(),
            origin: "sync".into(),
            forward: r.forward.clone(),
            reverse: r.reverse.clone(),
            kind: "sync",
        });
    }
    for p in extra {
        list.push(Source {
            version: p.version,
            name: p.name.clone(),
            origin: p.source.clone(),
            forward: p.forward.clone(),
            reverse: p.reverse.clone(),
            kind: p.kind,
        });
    }
    list.sort_by_key(|s| s.version);
    for pair in list.windows(2) {
        if pair[0].version == pair[1].version {
            return Err(Error::Usage(format!(
                "{} and {} have the same version {}",
                pair[0].origin, pair[1].origin, pair[0].version
            )));
        }
    }
    Ok(list)
}

/// The schema the migrations produce, replayed from empty in memory.
pub fn expected_schema(list: &[Source]) -> Result<Schema> {
    replay(&Schema::default(), list, "replayed from empty")
}

/// The schema the pending migrations produce on the live schema: the live schema created in
/// memory, the pending SQL run on it, the result inspected.
pub fn expected_after(live: &Schema, pending: &[Source]) -> Result<Schema> {
    replay(live, pending, "on the live schema")
}

/// Creates `start` in memory, runs `list` on it with foreign keys off, and inspects the result.
fn replay(start: &Schema, list: &[Source], how: &str) -> Result<Schema> {
    let conn = crate::normal::create_in_memory(start).map_err(|e| {
        Error::Usage(format!(
            "materialise the schema: {}: {}",
            e.object, e.message
        ))
    })?;
    conn.execute_batch("PRAGMA foreign_keys = OFF")
        .map_err(|e| Error::sqlite("open a scratch database", e))?;
    for s in list {
        conn.execute_batch(&s.forward).map_err(|e| {
            Error::Usage(format!(
                "V{}__{} ({}) fails {how}: {}",
                s.version,
                s.name,
                s.origin,
                crate::normal::sqlite_message(&e)
            ))
        })?;
    }
    crate::inspect(&conn)
}

/// Checks the applied history against the list: every applied migration must still be there,
/// unchanged. Returns the pending ones.
fn verify(applied: &[history::Applied], list: &[Source]) -> Result<Vec<Source>> {
    for a in applied {
        let Some(s) = list.iter().find(|s| s.version == a.version) else {
            return Err(Error::Usage(format!(
                "migration V{}__{} was applied (on {}) but its file is missing: restore V{}__{}.sql in the migrations directory",
                a.version, a.name, a.applied_on, a.version, a.name
            )));
        };
        let checksum = s.refinery()?.checksum().to_string();
        if s.name != a.name || checksum != a.checksum {
            return Err(Error::Usage(format!(
                "{} changed after it was applied (on {}): an applied migration never changes; restore it and write a new migration",
                s.origin, a.applied_on
            )));
        }
    }
    let pending: Vec<Source> = list
        .iter()
        .filter(|s| !applied.iter().any(|a| a.version == s.version))
        .cloned()
        .collect();
    if let Some(max) = applied.iter().map(|a| a.version).max()
        && let Some(old) = pending.iter().find(|s| s.version < max)
    {
        return Err(Error::Usage(format!(
            "{} (V{}) is older than the applied V{max}: give it a version above V{max}",
            old.origin, old.version
        )));
    }
    Ok(pending)
}

/// Opens (creating when missing) the live database, with a bounded busy wait.
pub fn open_live(path: &std::path::Path) -> Result<Connection> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| Error::io("create directory", parent, e))?;
    }
    let conn =
        Connection::open(path).map_err(|e| Error::sqlite(format!("open {}", path.display()), e))?;
    conn.busy_timeout(crate::db::busy_timeout())
        .map_err(|e| Error::sqlite("set busy_timeout", e))?;
    conn.query_row("SELECT count(*) FROM sqlite_schema", [], |_| Ok(()))
        .map_err(|e| Error::sqlite(format!("read {}", path.display()), e))?;
    Ok(conn)
}

fn run_refinery(
    conn: &Connection,
    mode: Mode,
    pending: &[Source],
    all: &[Migration],
    expected: &Option<Schema>,
) -> Result<Vec<String>> {
    let driver = Driver::new(
        conn,
        mode,
        pending.iter().map(Source::pending).collect(),
        expected.clone(),
    );
    let mut runner = Runner::new(all)
        .set_grouped(true)
        .set_abort_divergent(true)
        .set_abort_missing(true);
    runner.set_migration_table_name(HISTORY_TABLE);
    driver.run(|driver| {
        runner.run(driver).map(|_| ()).map_err(|e| {
            // refinery wraps the driver's own error: show that one.
            Error::Usage(
                std::error::Error::source(&e)
                    .map_or_else(|| e.to_string(), |inner| inner.to_string()),
            )
        })
    })
}

/// Runs the pipeline. `say` receives progress lines for the user.
pub fn apply(opts: &Options, say: &mut dyn FnMut(&str)) -> Result<Report> {
    // 1. Lock: one applier at a time.
    if let Some(parent) = opts.database.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| Error::io("create directory", parent, e))?;
    }
    let _lock = lock::acquire(&opts.database, opts.wait, &mut |m| say(m))?;
    let live = open_live(&opts.database)?;

    // 2. Verify the history against the files.
    let files = migrations::load(&opts.migrations, &opts.rollbacks)?;
    let recorded = history::recorded(&live)?;
    let list = migration_list(&files, &recorded, &opts.extra)?;
    let applied = history::applied(&live)?;
    let pending = verify(&applied, &list)?;
    let mut report = Report {
        version_before: applied.iter().map(|a| a.version).max(),
        migrations: pending
            .iter()
            .map(|s| format!("V{}__{}", s.version, s.name))
            .collect(),
        ..Report::default()
    };
    if pending.is_empty() {
        return Ok(report);
    }
    let destructive: Vec<&Source> = pending
        .iter()
        .filter(|s| migrations::needs(&s.forward).destructive)
        .collect();
    if !destructive.is_empty() && !opts.allow_destructive && !opts.dry_run {
        let names: Vec<String> = destructive
            .iter()
            .map(|s| format!("V{}__{} ({})", s.version, s.name, s.origin))
            .collect();
        return Err(Error::Usage(format!(
            "{} drop(s) or narrow(s) data; re-run with --allow-destructive to apply: {}",
            if names.len() == 1 {
                "this migration"
            } else {
                "these migrations"
            },
            names.join(", ")
        )));
    }
    if opts.dry_run {
        report.sql = pending.iter().map(|s| s.forward.clone()).collect();
        return Ok(report);
    }
    // The schema the migrations should produce, from the live schema alone. Migrations whose
    // data statements need real rows may not run on an empty copy: then the schema is not
    // compared, and the rehearsal and the live run say what fails.
    let expected = match expected_after(&crate::inspect(&live)?, &pending) {
        Ok(schema) => Some(schema),
        Err(e) => {
            say(&format!("note: the expected schema is not compared: {e}"));
            None
        }
    };
    let all: Vec<Migration> = list.iter().map(Source::refinery).collect::<Result<_>>()?;

    let run = |conn: &Connection, mode: Mode| run_refinery(conn, mode, &pending, &all, &expected);
    guarded_run(&live, opts, "apply", pending.len(), &mut report, &run, say)?;
    Ok(report)
}

/// Steps 3 to 5 of apply and rollback: the backup, the rehearsal on it (`run` in
/// [`Mode::Rehearsal`]), and the live run (`run` in [`Mode::Live`]), each stopping everything
/// when it fails. `what` names the operation ("apply", "rollback") in messages and manifests.
pub(super) fn guarded_run(
    live: &Connection,
    opts: &Options,
    what: &str,
    count: usize,
    report: &mut Report,
    run: &dyn Fn(&Connection, Mode) -> Result<Vec<String>>,
    say: &mut dyn FnMut(&str),
) -> Result<()> {
    // 3. Backup, 4. rehearsal on it.
    let mut backup_file = None;
    if opts.skip_backup {
        say(
            "warning: --skip-backup: no backup is taken; a failure still rolls back, but nothing older can be restored",
        );
    } else {
        say(&format!("backing up {} ...", opts.database.display()));
        let b = backup::take(live, &opts.database, &opts.backups, &format!("pre-{what}"))?;
        say(&format!("backup: {} ({} bytes)", b.path.display(), b.size));
        backup_file = Some(b);
    }
    if opts.skip_rehearsal {
        say(
            "warning: --skip-rehearsal: the migrations run on the live database without a rehearsal",
        );
    } else {
        let (rehearsal_path, scratch) = match &backup_file {
            Some(b) => (b.path.clone(), false),
            None => (
                backup::take(live, &opts.database, &opts.backups, "rehearsal")?.path,
                true,
            ),
        };
        say(&format!(
            "rehearsing the {what} of {count} migration(s) on the backup ..."
        ));
        // The backup's checksum: in WAL mode the rehearsal's writes stay in the -wal file
        // (and are rolled back), so the file can be hashed while the rehearsal runs;
        // otherwise it is hashed first.
        let hash = |b: &backup::BackupFile| backup::sha256_file(&b.path);
        let (sha256, result) = std::thread::scope(|scope| {
            let hasher = backup_file
                .as_ref()
                .filter(|b| backup::is_wal(&b.path))
                .map(|b| scope.spawn(move || hash(b)));
            let before = match (&backup_file, &hasher) {
                (Some(b), None) => Some(hash(b)),
                _ => None,
            };
            let result = Connection::open(&rehearsal_path)
                .map_err(|e| Error::sqlite(format!("open {}", rehearsal_path.display()), e))
                .and_then(|conn| run(&conn, Mode::Rehearsal));
            let during = hasher.map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Error::Usage("the checksum thread failed".into())))
            });
            (before.or(during), result)
        });
        if scratch {
            let _ = std::fs::remove_file(&rehearsal_path);
        }
        if let (Some(b), Some(sha256)) = (&backup_file, sha256) {
            write_manifest(b, opts, what, report, &sha256?)?;
            report.backup = Some(b.path.clone());
        }
        match result {
            Ok(checked) => report.rehearsal = checked,
            Err(e) => {
                return Err(Error::Usage(format!(
                    "rehearsal failed, the live database was not touched: {e}"
                )));
            }
        }
    }
    if let (Some(b), None) = (&backup_file, &report.backup) {
        write_manifest(b, opts, what, report, &backup::sha256_file(&b.path)?)?;
        report.backup = Some(b.path.clone());
    }

    // 5. Apply on the live database, all or nothing.
    say(&format!(
        "running the {what} of {count} migration(s) on {} ...",
        opts.database.display()
    ));
    match run(live, Mode::Live) {
        Ok(checked) => report.checks = checked,
        Err(e) => {
            let backup = report
                .backup
                .as_ref()
                .map_or("no backup was taken".to_string(), |p| {
                    format!("the backup is {}", p.display())
                });
            return Err(Error::Usage(format!("{e}\nnothing was changed; {backup}")));
        }
    }
    Ok(())
}

fn write_manifest(
    b: &backup::BackupFile,
    opts: &Options,
    what: &str,
    report: &Report,
    sha256: &str,
) -> Result<()> {
    backup::write_manifest(
        b,
        serde_json::json!({
            "database": opts.database.display().to_string(),
            "reason": format!("pre-{what}"),
            "schema_version_before": report.version_before,
            "migrations": report.migrations,
        }),
        sha256,
    )
}

/// The migration `sync` runs for `plan`: version `version`, named `sync_<time>`, with its
/// reverse, recorded like a file's so that it can be rolled back by name.
pub fn sync_migration(plan: &crate::plan::Plan, schema_version: u32, version: i32) -> Pending {
    let name = format!("sync_{}", backup::timestamp().to_ascii_lowercase());
    let stem = format!("V{version}__{name}");
    let forward = migrations::render(plan, &stem, schema_version, crate::plan::Direction::Forward);
    let reverse = migrations::render(plan, &stem, schema_version, crate::plan::Direction::Reverse);
    Pending {
        version,
        name,
        kind: "sync",
        source: "sync".into(),
        needs: migrations::needs(&forward),
        forward,
        reverse: Some(reverse),
    }
}
