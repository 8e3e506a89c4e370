//! `schemactl prune`: removes the rows the schema's retention rules select, archiving them
//! first into an SQLite file with the same table shapes (re-importable with
//! `schemactl restore ARCHIVE --table T --mode merge`).
//!
//! Crash safety: the live database is write-locked (`BEGIN IMMEDIATE`) for the whole prune, so
//! the rows archived are exactly the rows deleted. Before anything is written into the archives
//! folder, the prune's id and its archive's absolute path are committed into the database
//! (`_schemactl_prune_intents`). The archive is written under a `.partial` name, fsynced and
//! renamed, with its sha256 sidecar and manifest, before anything is deleted; the deletion, a
//! history row naming the archive and the removal of the intent commit together. A crash
//! before that commit leaves every row in the database and the intent naming what it left:
//! the next prune removes those files, and only those, once it has checked that every row they
//! hold is still in the database (see `abandoned`). So a crash loses nothing and deletes
//! nothing twice, and no prune removes another database's files, or an archive that a restore
//! made the only copy of its rows. `--dry-run` writes nothing: no lock file, no intent.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rusqlite::Connection;

use crate::db::ForeignKeys;
use crate::db::bookkeeping::{
    CREATE_PRUNE_INTENTS_TABLE, CREATE_PRUNES_TABLE, PRUNE_INTENTS_TABLE, PRUNES_TABLE,
};
use crate::db::identity::Owner;
use crate::error::{Error, Result};
use crate::model::Schema;
use crate::sql::quote_ident;

mod abandoned;
mod archive;
mod keys;
mod triggers;

use abandoned::remove_archive;
pub use archive::{ROWID_MARK, UNLINKED_TABLE};
use archive::{archive_path, write_archive};
use keys::{Keys, Selection, refusal, select};

/// What `prune` is asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    /// The live database.
    pub database: PathBuf,
    /// Where archives go.
    pub archives: PathBuf,
    /// Only report.
    pub dry_run: bool,
    /// Wait for another schemactl instead of refusing.
    pub wait: bool,
}

/// What one table's rule (or a cascade from it) does.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TableEffect {
    /// The table.
    pub table: String,
    /// Why its rows go: `retention`, or the foreign key a cascade follows.
    pub via: String,
    /// What happens to them: delete, set null, set default, or blocks (a RESTRICT or NO
    /// ACTION reference that makes the prune fail).
    pub action: String,
    /// How many rows.
    pub rows: u64,
}

/// What a prune did (or would do).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    /// True for `--dry-run`.
    pub dry_run: bool,
    /// Row counts per table before.
    pub before: BTreeMap<String, u64>,
    /// Row counts per table after (equal to before for a dry run).
    pub after: BTreeMap<String, u64>,
    /// Every effect: the rules' rows, every foreign key's action, every trigger that fires.
    pub effects: Vec<TableEffect>,
    /// Rows removed per table (the rules' rows and their cascades, to the end), as the real
    /// run removes them.
    pub removed: BTreeMap<String, u64>,
    /// The archive written, if any.
    pub archive: Option<PathBuf>,
    /// Files of this database's earlier prunes that never committed, removed (their rows are
    /// all in the database).
    pub abandoned: Vec<PathBuf>,
    /// Archives of this database's earlier prunes that never committed, kept: why.
    pub kept: Vec<(PathBuf, String)>,
    /// Why the real run would be refused (a dry run only; the real run fails instead). A
    /// dry run that reports one exits 1, as the real run would.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

/// Prunes (or, with `dry_run`, reports) by the retention rules.
pub fn prune(
    opts: &Options,
    rules: &[crate::dsl::Retention],
    say: &mut dyn FnMut(&str),
) -> Result<Report> {
    crate::db::must_exist(&opts.database)?;
    if opts.dry_run {
        // Writes nothing: no lock file, no intent, a read-only connection.
        let conn = crate::db::open_read_only(&opts.database)?;
        return dry_run(&conn, rules);
    }
    let _lock = crate::db::lock::acquire(&opts.database, opts.wait, &mut |m| say(m))?;
    let conn = crate::db::open_live(&opts.database)?;
    conn.execute_batch("PRAGMA foreign_keys = ON")
        .map_err(Error::sqlite_in("switch foreign keys on"))?;
    let owner = crate::db::identity::owner(&conn, &opts.database)?;
    let settled = abandoned::settle(&conn, &owner)?;
    for a in &settled.removed {
        say(&format!(
            "removed {}: its prune never committed, and every row it holds is still in the database",
            crate::printable::path(&a)
        ));
    }
    for (a, why) in &settled.kept {
        say(&format!(
            "kept {}: its prune never committed, but {why}",
            crate::printable::path(&a)
        ));
    }
    let abandoned = settled.removed;
    let kept = settled.kept;
    crate::ops::user_sql::strict(&conn)?;
    let live = crate::inspect(&conn)?;
    let selection = select(&conn, &live, rules)?;
    let before = counts(&conn, &live)?;
    if let Some(e) = refusal(&selection) {
        return Err(e);
    }
    if selection.keys.iter().all(|k| k.rows == 0) {
        return Ok(Report {
            dry_run: false,
            after: before.clone(),
            before,
            removed: selection.removed(),
            effects: selection.effects,
            archive: None,
            abandoned,
            kept,
            refused: None,
        });
    }
    // Unique per run, and never the id of another database's prune: the time and random bits.
    let id = format!(
        "prune-{}-{}",
        crate::db::timestamp(),
        &crate::db::identity::new_id("prune")[..12]
    );
    let path = archive_path(opts, &id);
    intend(&conn, &id, &path)?;
    let mut archive = None;
    let result = crate::db::immediate(
        &conn,
        ForeignKeys::Keep,
        &format!("lock {}", crate::printable::path(&opts.database)),
        "commit the prune",
        || {
            let target = Target {
                owner: &owner,
                id: &id,
                path: &path,
            };
            run(
                &conn,
                opts,
                &target,
                (&live, rules),
                &before,
                &mut archive,
                say,
            )
        },
    );
    match result {
        Ok((after, selection)) => Ok(Report {
            dry_run: false,
            before,
            after,
            removed: selection.removed(),
            effects: selection.effects,
            archive,
            abandoned,
            kept,
            refused: None,
        }),
        Err(e) => {
            // The deletion was rolled back: an archive of rows still in the database would
            // only mislead. (Should this fail, the intent names it for the next prune.)
            if let Some(a) = &archive {
                remove_archive(a);
            }
            let _ = std::fs::remove_file(crate::db::sibling(&path, ".partial"));
            let _ = abandoned::forget(&conn, &id);
            Err(e)
        }
    }
}

/// `prune --dry-run`: what the rules would remove, on a read-only connection.
fn dry_run(conn: &Connection, rules: &[crate::dsl::Retention]) -> Result<Report> {
    conn.execute_batch("PRAGMA foreign_keys = ON")
        .map_err(Error::sqlite_in("switch foreign keys on"))?;
    crate::ops::user_sql::strict(conn)?;
    let live = crate::inspect(conn)?;
    // The same selection as the real run's, to the same fixed point.
    let selection = select(conn, &live, rules)?;
    let before = counts(conn, &live)?;
    let refused = refusal(&selection).map(|e| e.to_string());
    Ok(Report {
        dry_run: true,
        after: before.clone(),
        before,
        removed: selection.removed(),
        effects: selection.effects,
        archive: None,
        abandoned: Vec::new(),
        kept: Vec::new(),
        refused,
    })
}

/// Records, committed, that prune `id` starts and where its archive goes: from here until the
/// prune's own commit removes the row, the row is the proof that its files are this
/// database's and that its rows were not deleted.
fn intend(conn: &Connection, id: &str, archive: &Path) -> Result<()> {
    let context = format!("record the start of prune {id}");
    crate::db::immediate(conn, ForeignKeys::Keep, &context, &context, || {
        conn.execute_batch(CREATE_PRUNE_INTENTS_TABLE)
            .map_err(Error::sqlite_in(context.clone()))?;
        conn.execute(
            &format!(
                "INSERT INTO {PRUNE_INTENTS_TABLE} (id, archive, started_at) VALUES (?1, ?2, ?3)"
            ),
            rusqlite::params![id, archive.display().to_string(), crate::db::now_rfc3339()],
        )
        .map_err(Error::sqlite_in(context.clone()))
        .map(drop)
    })
}

/// Whose prune this is, its id, and where its archive goes.
struct Target<'a> {
    owner: &'a Owner,
    id: &'a str,
    path: &'a Path,
}

/// Inside the write transaction: select the keys once (as the dry run does), refuse what the
/// dry run refuses, archive (into `archive`), delete, check and record. The caller commits.
fn run(
    conn: &Connection,
    opts: &Options,
    target: &Target,
    (live, rules): (&Schema, &[crate::dsl::Retention]),
    before: &BTreeMap<String, u64>,
    archive: &mut Option<PathBuf>,
    say: &mut dyn FnMut(&str),
) -> Result<(BTreeMap<String, u64>, Selection)> {
    // The counts that matter are the ones under the lock.
    let before = {
        let locked = counts(conn, live)?;
        if &locked != before {
            say("the database changed since it was counted; using the counts under the lock");
        }
        locked
    };
    let selection = select(conn, live, rules)?;
    if let Some(e) = refusal(&selection) {
        return Err(e);
    }
    let keys = &selection.keys;
    let expected = selection.removed();
    let archived: Vec<&Keys> = keys.iter().filter(|k| k.archive && k.rows > 0).collect();
    if !archived.is_empty() {
        say(&format!(
            "archiving {} row(s) ...",
            archived.iter().map(|k| k.rows).sum::<u64>()
        ));
        *archive = Some(write_archive(
            conn,
            opts,
            target.owner,
            live,
            (&archived, &selection.unlinked),
            target.id,
            target.path,
        )?);
    }
    let after = delete_and_record(
        conn,
        live,
        keys,
        &before,
        &expected,
        target.id,
        archive.as_deref(),
        say,
    )?;
    Ok((after, selection))
}

/// Deletes the selected rows (children first), checks row counts and foreign keys, and records
/// the prune.
#[allow(clippy::too_many_arguments)]
fn delete_and_record(
    conn: &Connection,
    live: &Schema,
    keys: &[Keys],
    before: &BTreeMap<String, u64>,
    expected: &BTreeMap<String, u64>,
    id: &str,
    archive: Option<&Path>,
    say: &mut dyn FnMut(&str),
) -> Result<BTreeMap<String, u64>> {
    crate::failpoint::hit("prune-after-archive");
    say("deleting ...");
    // NO ACTION references between rows that all go are checked at the commit (and by
    // `check_foreign_keys` below), whatever order the tables are deleted in; SQLite ends the
    // deferral with the transaction.
    conn.execute_batch("PRAGMA defer_foreign_keys = ON")
        .map_err(Error::sqlite_in("defer the foreign key checks"))?;
    // Children first, so the result does not depend on the cascade itself. Confined: a
    // trigger these deletes fire may not write schemactl's records (h26_04), whatever the
    // analysis before made of its body.
    {
        let _confined = crate::db::confined::Confined::new(conn);
        for k in keys.iter().rev() {
            conn.execute(
                &format!("DELETE FROM {} WHERE {}", quote_ident(&k.table), k.member()),
                [],
            )
            .map_err(Error::sqlite_in(format!("delete from \"{}\"", k.table)))?;
        }
    }
    let after = counts(conn, live)?;
    for (table, n) in before {
        let left = after.get(table).copied().unwrap_or_default();
        let want = expected.get(table).copied().unwrap_or_default();
        if left > *n || n - left != want {
            return Err(crate::error::PruneError::Mismatch {
                table: table.clone(),
                done: n.saturating_sub(left),
                selected: want,
                archiving: false,
            }
            .into());
        }
    }
    let touched: Vec<String> = keys.iter().map(|k| k.table.clone()).collect();
    crate::apply::check_foreign_keys(conn, &touched)?;
    conn.execute_batch(CREATE_PRUNES_TABLE)
        .map_err(Error::sqlite_in("create the prune history"))?;
    conn.execute(
        &format!(
            "INSERT INTO {PRUNES_TABLE} (id, archive, pruned_at, rows) VALUES (?1, ?2, ?3, ?4)"
        ),
        rusqlite::params![
            id,
            archive.map(|a| a.display().to_string()),
            crate::db::now_rfc3339(),
            i64::try_from(expected.values().sum::<u64>()).unwrap_or(i64::MAX)
        ],
    )
    .map_err(Error::sqlite_in("record the prune"))?;
    conn.execute(
        &format!("DELETE FROM {PRUNE_INTENTS_TABLE} WHERE id = ?1"),
        [id],
    )
    .map_err(Error::sqlite_in("record the prune"))?;
    for k in keys {
        let _ = conn.execute_batch(&format!("DROP TABLE temp.{}", quote_ident(&k.temp)));
    }
    Ok(after)
}

/// Row counts of every table.
fn counts(conn: &Connection, live: &Schema) -> Result<BTreeMap<String, u64>> {
    live.tables
        .iter()
        .map(|t| {
            let n = crate::db::count(conn, &t.name, None)
                .map_err(Error::sqlite_in(format!("count \"{}\"", t.name)))?;
            Ok((t.name.to_string(), n))
        })
        .collect()
}
