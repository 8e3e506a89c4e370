//! Rollback: undo a named migration (and, with `cascade`, the ones after it) through the same
//! pipeline as apply: lock, backup, rehearsal on the backup, foreign-key-safe execution.
//!
//! The reverse SQL comes from `_schemactl_migrations`, kept at apply time, and falls back to
//! `rollbacks/V{n}__{name}.sql` for migrations applied by other means. The history rows go in
//! the same transaction as the reverse SQL.
//!
//! Before anything runs, the reverse is replayed in memory (with the stash tables' shapes) to
//! give the schema every rollback is compared with; what it drops that holds data is shown,
//! needs `allow_destructive`, and is stashed for a re-apply (see [`super::unstash`]); a dropped
//! stash that would leave a NOT NULL column without a default unfilled is refused. Indexes,
//! triggers and views added by hand are kept (see [`super::rollback_kept`]).

use rusqlite::Connection;

use super::driver::{Driver, Mode};
use super::lock;
use super::pipeline::{Options, Report, guarded_run};
use super::stash_rows::Lossy;
use crate::db::identity::Identity;
use crate::error::{Error, Result};
use crate::migrations::{self, Migration, Origin, expected_after_with, history};

/// Resolves `target` (`V3`, `3`, a migration name, or `last`) to an applied version.
fn resolve(target: &str, applied: &[history::Applied]) -> Result<i32> {
    if applied.is_empty() {
        return Err(Error::NothingApplied);
    }
    if target == "last" {
        return Ok(applied.iter().map(|a| a.version).max().unwrap_or_default());
    }
    let digits = target
        .strip_prefix('V')
        .or_else(|| target.strip_prefix('v'))
        .unwrap_or(target);
    if let Ok(v) = digits.parse::<i32>() {
        return applied
            .iter()
            .find(|a| a.version == v)
            .map(|a| a.version)
            .ok_or(Error::NotApplied { version: v });
    }
    let by_name: Vec<&history::Applied> = applied
        .iter()
        .filter(|a| a.name == target || format!("V{}__{}", a.version, a.name) == target)
        .collect();
    match by_name.as_slice() {
        [one] => Ok(one.version),
        [] => Err(Error::NoAppliedMigrationNamed {
            name: target.to_string(),
        }),
        _ => Err(Error::AmbiguousMigrationName {
            name: target.to_string(),
        }),
    }
}

/// Rolls back `target` (and later migrations with `cascade`), newest first, in one transaction.
pub fn rollback(
    opts: &Options,
    target: &str,
    cascade: bool,
    say: &mut dyn FnMut(&str),
) -> Result<Report> {
    rollback_lossy(opts, target, cascade, &Lossy::default(), say)
}

/// Like [`rollback`], told what to do when a stash cannot give rows their values back
/// (`--lossy`, `--fill`; see [`super::stash_rows`]).
pub fn rollback_lossy(
    opts: &Options,
    target: &str,
    cascade: bool,
    lossy: &Lossy,
    say: &mut dyn FnMut(&str),
) -> Result<Report> {
    if !opts.database.exists() {
        return Err(Error::DatabaseMissing {
            path: opts.database.clone(),
        });
    }
    // A dry run writes nothing, not even the lock file: it reads.
    let (_lock, live) = if opts.dry_run {
        (None, crate::db::open_read_only(&opts.database)?)
    } else {
        (
            Some(lock::acquire(&opts.database, opts.wait, &mut |m| say(m))?),
            // A rollback never creates a database: one removed since the check above is
            // reported missing, not made anew.
            crate::db::open_existing(&opts.database)?,
        )
    };
    super::pipeline::UnderLock::check(opts.under_lock.as_ref(), &live)?;
    let applied = history::applied(&live)?;
    let version = resolve(target, &applied)?;
    let mut later: Vec<&history::Applied> =
        applied.iter().filter(|a| a.version > version).collect();
    later.sort_by_key(|a| std::cmp::Reverse(a.version));
    if !later.is_empty() && !cascade {
        return Err(Error::LaterMigrationsApplied {
            later: later
                .iter()
                .map(|a| format!("V{}__{}", a.version, a.name))
                .collect(),
        });
    }
    let undo = reverse_sources(
        opts,
        &live,
        later
            .iter()
            .copied()
            .chain(applied.iter().filter(|a| a.version == version)),
    )?;
    let dropped = super::stash::dropped_versions(&live)?;
    for s in undo.iter().filter(|s| dropped.contains(&s.version)) {
        say(&format!(
            "warning: the stash of V{}__{} was dropped: the data it dropped does not come back",
            s.version, s.name
        ));
    }
    // Stored reverse SQL did not come through the file loader: check it the same way.
    for u in &undo {
        migrations::statements::check_stored(
            &format!("_schemactl_migrations (reverse of {})", u.stem()),
            &u.forward,
        )?;
    }
    let mut report = Report {
        version_before: applied.iter().map(|a| a.version).max(),
        version_after: applied
            .iter()
            .map(|a| a.version)
            .filter(|v| !undo.iter().any(|u| u.version == *v))
            .max(),
        migrations: undo
            .iter()
            .map(|s| format!("V{}__{}", s.version, s.name))
            .collect(),
        ..Report::default()
    };
    // The schema the rollback leaves: the reverse SQL replayed on the live schema, with the
    // stash tables it reads. Every rollback compares it with the result before committing.
    let current = crate::inspect(&live)?;
    let shapes = super::unstash::stash_shapes(&live)?;
    // Objects added by hand are dropped before the reverse and created again after it.
    let hand_made = super::rollback_kept::hand_made(&live, opts, &applied)?;
    let (undo, expected) =
        super::rollback_kept::keep(hand_made.as_deref().unwrap_or_default(), undo, |undo| {
            expected_after_with(&current, &shapes, undo)
        })?;
    // Without a replay, what the rollback drops that its migrations did not create is gated.
    if let Err(why) = &hand_made {
        let undone: Vec<i32> = undo.iter().map(|u| u.version).collect();
        super::rollback_kept::refuse_untold(&live, opts, why, &undone, &expected, say)?;
    }
    let sql: Vec<&str> = undo.iter().map(|u| u.forward.as_str()).collect();
    let lost = super::trigger_loss::lost(&current, &expected, &sql);
    if !lost.is_empty() {
        return Err(crate::error::GateError::TriggersLost { triggers: lost }.into());
    }
    // Step by step: a newer reverse can bring back what an older one drops.
    let mut steps = vec![current.clone()];
    for i in 1..undo.len() {
        steps.push(expected_after_with(&current, &shapes, &undo[..i])?);
    }
    steps.push(expected.clone());
    if undo.iter().any(|s| dropped.contains(&s.version)) {
        refuse_unfillable(&live, &current, &expected, lossy)?;
    }
    // The migrations' stashes must still find their rows, and a NOT NULL column coming back
    // needs a value in every row.
    let recorded = history::recorded(&live)?;
    let forwards: Vec<(i32, String)> = undo
        .iter()
        .filter_map(|u| {
            recorded
                .iter()
                .find(|r| r.version == u.version)
                .map(|r| (u.version, r.forward.clone()))
        })
        .collect();
    let checked =
        super::stash_rows::check(&live, &forwards, &current, &expected, lossy, &dropped, say)?;
    let undo = with_fills(undo, &checked.fills);
    // What it drops that holds data is destructive: shown, gated, and stashed.
    let sqls: Vec<&str> = undo.iter().map(|u| u.forward.as_str()).collect();
    // A migration that made a column the INTEGER PRIMARY KEY renumbered the rows to its
    // values; its reverse keeps them: lossy, and gated as such.
    for (table, key) in super::proof::Proof::key_values_kept_as_rowids(&live, &sqls)? {
        if !lossy.allowed {
            return Err(crate::error::RollbackError::RowidsLost { table, key }.into());
        }
        say(&format!(
            "warning: --lossy: the rows of table \"{table}\" keep the values of \"{key}\" as their rowids: the rowids they had before the migration do not come back"
        ));
    }
    let drops = super::unstash::analyse(&live, &steps, &sqls)?;
    report.drops = drops.iter().map(|d| d.what.clone()).collect();
    report.sql = undo.iter().map(|s| s.forward.clone()).collect();
    let rolled_back: Vec<(i32, String)> = applied
        .iter()
        .filter(|a| undo.iter().any(|u| u.version == a.version))
        .map(|a| (a.version, a.checksum.clone()))
        .collect();
    // The statements as they run (stashes first): their foreign keys are checked as the run
    // checks them, in a dry run too.
    // Counters the reverses lose are kept, and raised again where a reverse brings them back.
    let counters = super::counters::analyse(&live, &steps, &sqls, |step, table| {
        drops
            .iter()
            .position(|d| d.step == step && d.keeps_counter_of(table))
    })?;
    // A dropped rollback stash kept a counter that ids were issued under: a step that brings
    // the counter back can no longer raise it there.
    // The counter then goes down to what the rows and the other stashes give, and ids
    // issued under V come again: data the rollback cannot keep, gated as a dropped stash's
    // values are (`--lossy`), and named with the values before anything runs.
    // Each table once, however many of the steps bring its counter back.
    let mut back: Vec<&str> = Vec::new();
    for t in counters.brought_back() {
        if !back.iter().any(|b| b.eq_ignore_ascii_case(t)) {
            back.push(t);
        }
    }
    if !back.is_empty() {
        let undone: Vec<i32> = undo.iter().map(|u| u.version).collect();
        for t in &back {
            for (version, kept) in super::stash::dropped_rollback_counters(&live, t)? {
                let table = crate::sql::quote_ident(t);
                let at = super::counters::comes_back_at(&live, t, &undone)?;
                // Nothing issued under V is above what it comes back at: nothing is lost.
                if let (Some(kept), Some(at)) = (kept, at)
                    && at >= kept
                {
                    continue;
                }
                if !lossy.allowed {
                    return Err(crate::error::RollbackError::CounterLost {
                        version,
                        at: format!(
                            "table {table} at {}",
                            at.map_or("0 (no row and no stash gives it more)".into(), |n| n
                                .to_string())
                        ),
                        kept: kept.map_or("the ids issued under it".into(), |k| k.to_string()),
                    }
                    .into());
                }
                say(&format!(
                    "warning: --lossy: the stash of V{version} was dropped: the AUTOINCREMENT counter it kept does not come back, so table {table} may issue ids again that were issued under V{version}"
                ));
            }
        }
    }
    let run_undo = with_stashes(&live, undo.clone(), &drops, &counters, &rolled_back)?;
    refuse_unfit(&live, &current, &expected, &sqls, &run_undo)?;
    super::pipeline::check_confirmed(opts, &report)?;
    if opts.dry_run {
        return Ok(report);
    }
    if !drops.is_empty() && !opts.allow_destructive {
        return Err(Error::RollbackDestructive {
            drops: report.drops.clone(),
        });
    }
    let undo = run_undo;
    let expected = Some(expected);
    let run = |conn: &Connection, mode: Mode, identity: Option<&Identity>| {
        super::stash_rows::bind(conn, &checked.values)?;
        Driver::new(conn, mode, undo.clone(), expected.as_ref())
            .allow_rows_removed(opts.allow_destructive)
            .proving(mode == Mode::Rehearsal || opts.verify)
            .recording_identity(identity)
            .run(Driver::run_reverse)
    };
    // A row written meanwhile that breaks a rule: SQLite says "constraint failed"; the
    // refusal names the rule and the rows, read now that the run rolled back.
    guarded_run(&live, opts, "rollback", undo.len(), &mut report, &run, say)
        .map_err(|e| super::unfit::explain(e, &live, &current, expected.as_ref(), &undo))?;
    Ok(report)
}

/// Refuses, before anything runs, a rollback whose stash was dropped when it must bring back
/// a NOT NULL column without a default into a table that has rows: nothing could fill it.
fn refuse_unfillable(
    live: &Connection,
    current: &crate::model::Schema,
    expected: &crate::model::Schema,
    lossy: &Lossy,
) -> Result<()> {
    for t in &expected.tables {
        let Some(now) = current.tables.iter().find(|c| c.name == t.name) else {
            continue;
        };
        for c in t.columns.iter().filter(|c| {
            c.not_null
                && c.default.is_none()
                && c.generated.is_none()
                && now.column(&c.name).is_none()
                && !lossy.fills.iter().any(|f| {
                    f.table.eq_ignore_ascii_case(&t.name) && f.column.eq_ignore_ascii_case(&c.name)
                })
        }) {
            let rows: i64 = live
                .query_row(
                    &format!("SELECT count(*) FROM {}", crate::sql::main_table(&t.name)),
                    [],
                    |r| r.get(0),
                )
                .map_err(|e| Error::sqlite("count rows", e))?;
            if rows > 0 {
                return Err(Error::Unfillable {
                    table: t.name.to_string(),
                    column: c.name.to_string(),
                    rows,
                    cause: "its stash was dropped",
                });
            }
        }
    }
    Ok(())
}

/// Refuses, before anything runs (a dry run too), a rollback that brings back a rule the rows
/// written since break: a NOT NULL over NULLs, a CHECK they violate, a UNIQUE over duplicates
/// (a migration dropped it natively, and the reverse sets it again), a foreign key over
/// orphans (one the reverse brings back, or one of a table its `foreign_key_check` reads:
/// `run`, the statements as they run). The forward lint's findings name the rule and up to
/// five rows (see [`super::unfit`]); SQLite alone would say only "constraint failed", or
/// find the orphans after the backup and the rehearsal.
fn refuse_unfit(
    live: &Connection,
    current: &crate::model::Schema,
    expected: &crate::model::Schema,
    sql: &[&str],
    run: &[Migration],
) -> Result<()> {
    let findings = super::unfit::before_run(live, current, expected, sql, run)?;
    if findings.is_empty() {
        return Ok(());
    }
    Err(crate::error::RollbackError::Unfit { findings }.into())
}

/// Returns `undo` with each fill statement before the reverse of its version.
fn with_fills(undo: Vec<Migration>, fills: &[(i32, String)]) -> Vec<Migration> {
    undo.into_iter()
        .map(|u| {
            let mine: Vec<&str> = fills
                .iter()
                .filter(|(v, _)| *v == u.version)
                .map(|(_, sql)| sql.as_str())
                .collect();
            if mine.is_empty() {
                return u;
            }
            Migration::new(
                u.version,
                u.name.clone(),
                format!("{};\n{}", mine.join(";\n"), u.forward),
                u.reverse.clone(),
                u.origin.clone(),
            )
        })
        .collect()
}

/// Returns `undo` with the statements that stash `drops` and keep the `counters` lost, each
/// before the reverse step that drops it (so it is kept in the shape, and with the rows, that
/// step finds), and after each step the statements that raise the counters it brings back.
fn with_stashes(
    live: &Connection,
    mut undo: Vec<Migration>,
    drops: &[super::unstash::Drop],
    counters: &super::counters::Counters,
    rolled_back: &[(i32, String)],
) -> Result<Vec<Migration>> {
    let Some(target) = undo.last() else {
        return Ok(undo);
    };
    let own = counters.lost.iter().filter(|c| c.kept_by.is_none()).count();
    let mut names = super::unstash::free_names(live, target.version, drops.len() + own)?;
    let mut own_names = names.split_off(drops.len()).into_iter();
    // The stash keeping each lost counter: a whole-table drop's, or its own.
    let counter_names: Vec<String> = counters
        .lost
        .iter()
        .map(|c| match c.kept_by {
            Some(k) => names.get(k).cloned().unwrap_or_default(),
            None => own_names.next().unwrap_or_default(),
        })
        .collect();
    let sqls: Vec<String> = undo.iter().map(|u| u.forward.clone()).collect();
    let sqls: Vec<&str> = sqls.iter().map(String::as_str).collect();
    for (i, u) in undo.iter_mut().enumerate() {
        let save: Vec<String> = drops
            .iter()
            .zip(&names)
            .filter(|(d, _)| d.step == i)
            .flat_map(|(d, name)| d.save_sql(rolled_back, u.version, name))
            .chain(
                counters
                    .lost
                    .iter()
                    .zip(&counter_names)
                    .filter(|(c, _)| c.step == i)
                    .flat_map(|(c, name)| c.save_sql(rolled_back, u.version, name)),
            )
            .collect();
        // Forget triggers after the step: a reverse that rebuilds the table drops them.
        let after: Vec<String> = drops
            .iter()
            .zip(&names)
            .filter(|(d, _)| d.step == i)
            .filter_map(|(d, name)| d.after_sql(name))
            .chain(counters.raise_sql(i, &counter_names, &sqls))
            .collect();
        if save.is_empty() && after.is_empty() {
            continue;
        }
        let save = if save.is_empty() {
            String::new()
        } else {
            format!("{};\n", save.join(";\n"))
        };
        let after = if after.is_empty() {
            String::new()
        } else {
            format!("\n;\n{};", after.join(";\n"))
        };
        *u = Migration::new(
            u.version,
            u.name.clone(),
            format!("{save}{}{after}", u.forward),
            u.reverse.clone(),
            u.origin.clone(),
        );
    }
    Ok(undo)
}

/// Where a reverse kept in the database comes from, as messages name it.
const KEPT: &str = "its reverse, kept in the database when it was applied";

/// The reverse SQL of each of `targets` (in that order): the one stored when it was applied,
/// or its file in `rollbacks/`.
fn reverse_sources<'a>(
    opts: &Options,
    live: &Connection,
    targets: impl Iterator<Item = &'a history::Applied>,
) -> Result<Vec<Migration>> {
    let recorded = history::recorded(live)?;
    let files = migrations::load(&opts.migrations, &opts.rollbacks)?;
    let mut undo: Vec<Migration> = Vec::new();
    for a in targets {
        let stored = recorded
            .iter()
            .find(|r| r.version == a.version)
            .and_then(|r| r.reverse.clone());
        let from_file = || {
            files.iter().find(|f| f.version == a.version).and_then(|f| {
                match (&f.origin, &f.reverse) {
                    (
                        Origin::File {
                            rollback_path: Some(path),
                            ..
                        },
                        Some(sql),
                    ) => Some((path.display().to_string(), sql.clone())),
                    _ => None,
                }
            })
        };
        let (origin, reverse) = match (stored, from_file()) {
            (Some(sql), _) => (KEPT.to_string(), sql),
            (None, Some((path, sql))) => (path, sql),
            (None, None) => {
                return Err(Error::NoReverse {
                    migration: format!("V{}__{}", a.version, a.name),
                    path: opts
                        .rollbacks
                        .join(format!("V{}__{}.sql", a.version, a.name)),
                });
            }
        };
        undo.push(Migration::new(
            a.version,
            a.name.clone(),
            reverse,
            None,
            Origin::Rollback { from: origin },
        ));
    }
    Ok(undo)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn applied(versions: &[(i32, &str)]) -> Vec<history::Applied> {
        versions
            .iter()
            .map(|(v, n)| history::Applied {
                version: *v,
                name: n.to_string(),
                applied_on: String::new(),
                checksum: String::new(),
            })
            .collect()
    }

    #[test]
    fn targets_are_versions_names_or_last() {
        let a = applied(&[(1, "init"), (2, "add_category"), (3, "sync_x")]);
        assert_eq!(resolve("V2", &a).unwrap(), 2);
        assert_eq!(resolve("2", &a).unwrap(), 2);
        assert_eq!(resolve("add_category", &a).unwrap(), 2);
        assert_eq!(resolve("V2__add_category", &a).unwrap(), 2);
        assert_eq!(resolve("last", &a).unwrap(), 3);
        assert_eq!(
            resolve("V9", &a).unwrap_err().to_string(),
            "V9 is not applied"
        );
        assert_eq!(
            resolve("nope", &a).unwrap_err().to_string(),
            "no applied migration is named `nope`"
        );
        assert!(resolve("last", &[]).is_err());
    }
}
