//! `schemactl prune`: removes the rows the schema's retention rules select, archiving them
//! first into an SQLite file with the same table shapes (re-importable with
//! `schemactl restore ARCHIVE --table T --mode merge`).
//!
//! Crash safety: the live database is write-locked (`BEGIN IMMEDIATE`) for the whole prune, so
//! the rows archived are exactly the rows deleted. The archive is written under a `.partial`
//! name, fsynced and renamed, with its sha256 sidecar and manifest, before anything is deleted;
//! the deletion and a history row naming the archive commit together. A crash before that
//! commit leaves every row in the database and an archive no history row names: the next prune
//! removes that archive and starts again. So a crash loses nothing and deletes nothing twice.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rusqlite::Connection;

use crate::error::{Error, Result};
use crate::model::{FkAction, Schema, Table};
use crate::ops::backup;
use crate::sql::{quote_ident, quote_literal};

/// The history table of committed prunes.
pub const PRUNES_TABLE: &str = "_schemactl_prunes";

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
    /// Every effect: the rules' rows and their cascades.
    pub effects: Vec<TableEffect>,
    /// The archive written, if any.
    pub archive: Option<PathBuf>,
    /// Archives of earlier prunes that never committed, removed.
    pub abandoned: Vec<PathBuf>,
}

/// A table reached by a rule: directly (`parent` None, with the rule's condition) or by an
/// ON DELETE CASCADE foreign key from another node.
#[derive(Debug, Clone)]
struct Node {
    table: String,
    parent: Option<(usize, crate::model::ForeignKey)>,
    condition: String,
    archive: bool,
}

fn q(what: impl Into<String>) -> impl FnOnce(rusqlite::Error) -> Error {
    let what = what.into();
    move |e| Error::sqlite(what, e)
}

/// Prunes (or, with `dry_run`, reports) by the retention rules.
pub fn prune(
    opts: &Options,
    rules: &[crate::dsl::Retention],
    say: &mut dyn FnMut(&str),
) -> Result<Report> {
    crate::db::must_exist(&opts.database)?;
    let _lock = crate::apply::lock::acquire(&opts.database, opts.wait, &mut |m| say(m))?;
    let conn = crate::apply::open_live(&opts.database)?;
    conn.execute_batch("PRAGMA foreign_keys = ON")
        .map_err(q("switch foreign keys on"))?;
    let abandoned = if opts.dry_run {
        Vec::new()
    } else {
        remove_abandoned(&conn, &opts.archives)?
    };
    for a in &abandoned {
        say(&format!(
            "removed {}: its prune never committed, so its rows are still in the database",
            a.display()
        ));
    }
    let live = crate::inspect(&conn)?;
    let (nodes, effects) = plan(&conn, &live, rules)?;
    let before = counts(&conn, &live)?;
    if let Some(block) = effects.iter().find(|e| e.action == "blocks" && e.rows > 0) {
        let message = format!(
            "\"{}\" has {} row(s) that reference rows the prune removes ({}), and the reference does not cascade; nothing was pruned",
            block.table, block.rows, block.via
        );
        if !opts.dry_run {
            return Err(Error::Usage(message));
        }
        say(&message);
    }
    if opts.dry_run || effects.iter().all(|e| e.rows == 0) {
        return Ok(Report {
            dry_run: opts.dry_run,
            after: before.clone(),
            before,
            effects,
            archive: None,
            abandoned,
        });
    }
    conn.execute_batch("BEGIN IMMEDIATE")
        .map_err(|e| busy(e, &opts.database))?;
    let result = run(&conn, opts, &live, &nodes, &before, say);
    match result {
        Ok((archive, after)) => Ok(Report {
            dry_run: false,
            before,
            after,
            effects,
            archive,
            abandoned,
        }),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

fn busy(e: rusqlite::Error, database: &Path) -> Error {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            Error::Usage(format!(
                "{} stayed busy (another connection is writing); nothing was pruned",
                database.display()
            ))
        }
        _ => Error::sqlite(format!("lock {}", database.display()), e),
    }
}

/// Inside the write transaction: select the keys once, archive, delete, check, record,
/// commit.
fn run(
    conn: &Connection,
    opts: &Options,
    live: &Schema,
    nodes: &[Node],
    before: &BTreeMap<String, u64>,
    say: &mut dyn FnMut(&str),
) -> Result<(Option<PathBuf>, BTreeMap<String, u64>)> {
    // The counts that matter are the ones under the lock.
    let before = {
        let locked = counts(conn, live)?;
        if &locked != before {
            say("the database changed since it was counted; using the counts under the lock");
        }
        locked
    };
    let keys = select_keys(conn, live, nodes)?;
    let expected: BTreeMap<String, u64> = keys.iter().map(|k| (k.table.clone(), k.rows)).collect();
    let id = format!("prune-{}", backup::timestamp());
    let archived: Vec<&Keys> = keys.iter().filter(|k| k.archive && k.rows > 0).collect();
    let archive = if archived.is_empty() {
        None
    } else {
        say(&format!(
            "archiving {} row(s) ...",
            archived.iter().map(|k| k.rows).sum::<u64>()
        ));
        Some(write_archive(conn, opts, live, &archived, &id)?)
    };
    let result = delete_and_record(
        conn,
        live,
        &keys,
        &before,
        &expected,
        &id,
        archive.as_deref(),
        say,
    );
    if result.is_err() {
        // The caller rolls the deletion back: an archive of rows still in the database would
        // only mislead.
        if let Some(a) = &archive {
            remove_archive(a);
        }
    }
    result.map(|after| (archive, after))
}

/// Deletes the selected rows (children first), checks row counts and foreign keys, records the
/// prune and commits.
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
    // Children first, so the result does not depend on the cascade itself.
    for k in keys.iter().rev() {
        conn.execute(
            &format!("DELETE FROM {} WHERE {}", quote_ident(&k.table), k.member()),
            [],
        )
        .map_err(q(format!("delete from \"{}\"", k.table)))?;
    }
    let after = counts(conn, live)?;
    for (table, n) in before {
        let left = after.get(table).copied().unwrap_or_default();
        let want = expected.get(table).copied().unwrap_or_default();
        if left > *n || n - left != want {
            return Err(Error::Usage(format!(
                "the prune would remove {} row(s) of \"{table}\" where {want} were selected (a trigger the schema does not show?); nothing was pruned",
                n.saturating_sub(left)
            )));
        }
    }
    let touched: Vec<String> = keys.iter().map(|k| k.table.clone()).collect();
    crate::apply::check_foreign_keys(conn, &touched)?;
    conn.execute_batch(&format!(
        "CREATE TABLE IF NOT EXISTS {PRUNES_TABLE} (id TEXT PRIMARY KEY, archive TEXT, pruned_at TEXT NOT NULL, rows INTEGER NOT NULL)"
    ))
    .map_err(q("create the prune history"))?;
    conn.execute(
        &format!(
            "INSERT INTO {PRUNES_TABLE} (id, archive, pruned_at, rows) VALUES (?1, ?2, ?3, ?4)"
        ),
        rusqlite::params![
            id,
            archive.map(|a| a.display().to_string()),
            backup::now_rfc3339(),
            i64::try_from(expected.values().sum::<u64>()).unwrap_or(i64::MAX)
        ],
    )
    .map_err(q("record the prune"))?;
    for k in keys {
        let _ = conn.execute_batch(&format!("DROP TABLE temp.{}", quote_ident(&k.temp)));
    }
    conn.execute_batch("COMMIT")
        .map_err(q("commit the prune"))?;
    Ok(after)
}

/// The keys of one table's rows to remove, held in a temporary table so that every step
/// (archive, delete, check) sees the same rows, whatever `now` says by then.
#[derive(Debug, Clone)]
struct Keys {
    table: String,
    /// The key columns: `rowid`, or the primary key of a WITHOUT ROWID table.
    columns: Vec<String>,
    temp: String,
    archive: bool,
    rows: u64,
}

impl Keys {
    /// `(key) IN (SELECT * FROM temp.keys)`.
    fn member(&self) -> String {
        let cols: Vec<String> = self.columns.iter().map(|c| key_col(c)).collect();
        let list = if cols.len() == 1 {
            cols[0].clone()
        } else {
            format!("({})", cols.join(", "))
        };
        format!("{list} IN (SELECT * FROM temp.{})", quote_ident(&self.temp))
    }
}

fn key_col(c: &str) -> String {
    if c == "rowid" {
        "rowid".into()
    } else {
        quote_ident(c)
    }
}

/// Fills one temporary key table per table the rules reach: the rules' rows, then, until
/// nothing changes, the rows that cascade from them.
fn select_keys(conn: &Connection, live: &Schema, nodes: &[Node]) -> Result<Vec<Keys>> {
    let mut keys: Vec<Keys> = Vec::new();
    for node in nodes {
        if let Some(k) = keys.iter_mut().find(|k| k.table == node.table) {
            k.archive |= node.archive;
            continue;
        }
        let table = live
            .table(&node.table)
            .ok_or_else(|| Error::Usage(format!("no table \"{}\"", node.table)))?;
        let columns: Vec<String> = if table.without_rowid {
            table.key_columns()
        } else {
            vec!["rowid".into()]
        };
        let temp = format!("_schemactl_prune_keys_{}", keys.len());
        let names: Vec<String> = (0..columns.len()).map(|i| format!("k{i}")).collect();
        conn.execute_batch(&format!(
            "DROP TABLE IF EXISTS temp.{t}; CREATE TEMP TABLE {t} ({n}, PRIMARY KEY ({n}))",
            t = quote_ident(&temp),
            n = names.join(", ")
        ))
        .map_err(q("hold the keys to prune"))?;
        keys.push(Keys {
            table: node.table.clone(),
            columns,
            temp,
            archive: node.archive,
            rows: 0,
        });
    }
    let index = |table: &str| keys.iter().position(|k| k.table == table).unwrap_or(0);
    let insert = |k: &Keys, condition: &str| -> Result<usize> {
        let cols: Vec<String> = k.columns.iter().map(|c| key_col(c)).collect();
        conn.execute(
            &format!(
                "INSERT OR IGNORE INTO temp.{} SELECT {} FROM {} WHERE {condition}",
                quote_ident(&k.temp),
                cols.join(", "),
                quote_ident(&k.table)
            ),
            [],
        )
        .map_err(q(format!("select the rows to prune in \"{}\"", k.table)))
    };
    for node in nodes.iter().filter(|n| n.parent.is_none()) {
        insert(&keys[index(&node.table)], &format!("({})", node.condition))?;
    }
    for _ in 0..64 {
        let mut added = 0;
        for node in nodes {
            let Some((parent, fk)) = &node.parent else {
                continue;
            };
            let parent_keys = &keys[index(&nodes[*parent].table)];
            let parent_table = live.table(&parent_keys.table);
            let pcols = crate::ops::check::parent_columns(fk, parent_table);
            let fk_list: Vec<String> = fk.columns.iter().map(|c| quote_ident(c)).collect();
            let fk_list = if fk_list.len() == 1 {
                fk_list[0].clone()
            } else {
                format!("({})", fk_list.join(", "))
            };
            let condition = format!(
                "{fk_list} IN (SELECT {} FROM {} WHERE {})",
                pcols
                    .iter()
                    .map(|c| key_col(c))
                    .collect::<Vec<_>>()
                    .join(", "),
                quote_ident(&parent_keys.table),
                parent_keys.member()
            );
            added += insert(&keys[index(&node.table)], &condition)?;
        }
        if added == 0 {
            break;
        }
    }
    for k in &mut keys {
        let n: i64 = conn
            .query_row(
                &format!("SELECT count(*) FROM temp.{}", quote_ident(&k.temp)),
                [],
                |r| r.get(0),
            )
            .map_err(q("count the rows to prune"))?;
        k.rows = u64::try_from(n).unwrap_or_default();
    }
    Ok(keys)
}

/// Row counts of every table.
fn counts(conn: &Connection, live: &Schema) -> Result<BTreeMap<String, u64>> {
    live.tables
        .iter()
        .map(|t| {
            let n: i64 = conn
                .query_row(
                    &format!("SELECT count(*) FROM {}", quote_ident(&t.name)),
                    [],
                    |r| r.get(0),
                )
                .map_err(q(format!("count \"{}\"", t.name)))?;
            Ok((t.name.to_string(), u64::try_from(n).unwrap_or_default()))
        })
        .collect()
}

/// The nodes (each rule's table, and every table an ON DELETE CASCADE reaches from it) and
/// every effect, with row counts, following the foreign keys of the live schema.
fn plan(
    conn: &Connection,
    live: &Schema,
    rules: &[crate::dsl::Retention],
) -> Result<(Vec<Node>, Vec<TableEffect>)> {
    let mut nodes: Vec<Node> = Vec::new();
    let mut effects = Vec::new();
    for rule in rules {
        let Some(table) = live.table(&rule.table) else {
            return Err(Error::Usage(format!(
                "retention rule of \"{}\": the database has no such table",
                rule.table
            )));
        };
        let condition = format!("({})", rule.when);
        effects.push(TableEffect {
            table: table.name.to_string(),
            via: "retention".into(),
            action: "delete".into(),
            rows: count(conn, &table.name, &condition)?,
        });
        nodes.push(Node {
            table: table.name.to_string(),
            parent: None,
            condition,
            archive: rule.archive,
        });
        let mut stack = vec![(nodes.len() - 1, vec![table.name.to_string()])];
        while let Some((at, path)) = stack.pop() {
            let parent = live
                .table(&nodes[at].table)
                .cloned()
                .ok_or_else(|| Error::Usage(format!("no table \"{}\"", nodes[at].table)))?;
            for (child, fk) in referencing(live, &parent.name) {
                let child_condition = child_condition(&parent, fk, &nodes[at].condition);
                let via = format!(
                    "\"{}\"({}) references \"{}\"",
                    child.name,
                    fk.columns
                        .iter()
                        .map(|c| c.to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                    parent.name
                );
                let action = match fk.on_delete {
                    FkAction::Cascade => "delete",
                    FkAction::SetNull => "set null",
                    FkAction::SetDefault => "set default",
                    FkAction::Restrict | FkAction::NoAction => "blocks",
                };
                effects.push(TableEffect {
                    table: child.name.to_string(),
                    via,
                    action: action.into(),
                    rows: count(conn, &child.name, &child_condition)?,
                });
                let on_path = path.iter().any(|p| p.eq_ignore_ascii_case(&child.name));
                if fk.on_delete == FkAction::Cascade {
                    nodes.push(Node {
                        table: child.name.to_string(),
                        parent: Some((at, fk.clone())),
                        condition: child_condition,
                        archive: rule.archive,
                    });
                    // A cycle is followed by the key selection until nothing changes; the
                    // dry run's counts stop at it.
                    if !on_path {
                        let mut path = path.clone();
                        path.push(child.name.to_string());
                        stack.push((nodes.len() - 1, path));
                    }
                }
            }
        }
    }
    Ok((nodes, effects))
}

/// The tables with a foreign key to `parent`, and those keys.
fn referencing<'a>(
    live: &'a Schema,
    parent: &str,
) -> Vec<(&'a Table, &'a crate::model::ForeignKey)> {
    live.tables
        .iter()
        .flat_map(|t| {
            t.foreign_keys
                .iter()
                .filter(|fk| fk.ref_table.as_str().eq_ignore_ascii_case(parent))
                .map(move |fk| (t, fk))
        })
        .collect()
}

/// The rows of a child that reference the parent rows selected by `condition`.
fn child_condition(parent: &Table, fk: &crate::model::ForeignKey, condition: &str) -> String {
    let pcols = crate::ops::check::parent_columns(fk, Some(parent));
    let list = |cols: &mut dyn Iterator<Item = String>| {
        let cols: Vec<String> = cols.map(|c| quote_ident(&c)).collect();
        if cols.len() == 1 {
            cols[0].clone()
        } else {
            format!("({})", cols.join(", "))
        }
    };
    format!(
        "{} IN (SELECT {} FROM {} WHERE {condition})",
        list(&mut fk.columns.iter().map(|c| c.to_string())),
        pcols
            .iter()
            .map(|c| quote_ident(c))
            .collect::<Vec<_>>()
            .join(", "),
        quote_ident(&parent.name)
    )
}

fn count(conn: &Connection, table: &str, condition: &str) -> Result<u64> {
    let n: i64 = conn
        .query_row(
            &format!(
                "SELECT count(*) FROM {} WHERE {condition}",
                quote_ident(table)
            ),
            [],
            |r| r.get(0),
        )
        .map_err(q(format!("count the rows to prune in \"{table}\"")))?;
    Ok(u64::try_from(n).unwrap_or_default())
}

/// Writes the archive: the selected rows of each table, read by the live connection (which
/// holds the write lock) and written into a new SQLite file with the same table shapes,
/// committed and fsynced under a `.partial` name, then renamed, with its sha256 sidecar and
/// manifest. Returns its path.
fn write_archive(
    conn: &Connection,
    opts: &Options,
    live: &Schema,
    keys: &[&Keys],
    id: &str,
) -> Result<PathBuf> {
    std::fs::create_dir_all(&opts.archives)
        .map_err(|e| Error::io("create archive directory", &opts.archives, e))?;
    let stem = opts
        .database
        .file_stem()
        .map_or("database".to_string(), |s| s.to_string_lossy().to_string());
    let path = opts.archives.join(format!("{stem}-{id}.db"));
    if path.exists() {
        return Err(Error::Usage(format!(
            "{} already exists; wait a second and prune again",
            path.display()
        )));
    }
    let mut partial_name = path.as_os_str().to_owned();
    partial_name.push(".partial");
    let partial = PathBuf::from(partial_name);
    let _ = std::fs::remove_file(&partial);
    let result = (|| {
        let out = Connection::open(&partial).map_err(q("create the archive"))?;
        out.execute_batch(
            "PRAGMA foreign_keys = OFF; PRAGMA journal_mode = DELETE; PRAGMA synchronous = FULL; BEGIN",
        )
        .map_err(q("create the archive"))?;
        for k in keys {
            copy_rows(conn, &out, live, k)?;
        }
        out.execute_batch(&format!(
            "CREATE TABLE _schemactl_prune (id TEXT, database TEXT, created_at TEXT);
             INSERT INTO _schemactl_prune VALUES ({}, {}, {});
             COMMIT",
            quote_literal(id),
            quote_literal(&opts.database.display().to_string()),
            quote_literal(&backup::now_rfc3339())
        ))
        .map_err(q("finish the archive"))?;
        drop(out);
        sync_file(&partial)?;
        std::fs::rename(&partial, &path).map_err(|e| Error::io("rename archive", &partial, e))?;
        sync_dir(&opts.archives)?;
        let sha = backup::sha256_file(&path)?;
        let file_name = path
            .file_name()
            .map(|f| f.to_string_lossy().to_string())
            .unwrap_or_default();
        crate::migrations::write_new(
            &backup::sidecar_path(&path),
            &format!("{sha}  {file_name}\n"),
        )?;
        let size = std::fs::metadata(&path)
            .map_err(|e| Error::io("stat", &path, e))?
            .len();
        let rows: BTreeMap<&str, u64> = keys.iter().map(|k| (k.table.as_str(), k.rows)).collect();
        backup::write_manifest(
            &backup::BackupFile {
                path: path.clone(),
                manifest: backup::manifest_path(&path),
                size,
            },
            serde_json::json!({
                "database": opts.database.display().to_string(),
                "reason": "prune-archive",
                "prune_id": id,
                "rows": rows,
            }),
            &sha,
        )?;
        sync_dir(&opts.archives)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&partial);
        remove_archive(&path);
        return Err(e);
    }
    Ok(path)
}

/// Creates one table in the archive as the live database defines it, and streams its
/// selected rows (with their rowids) into it.
fn copy_rows(conn: &Connection, out: &Connection, live: &Schema, k: &Keys) -> Result<()> {
    let table = live
        .table(&k.table)
        .ok_or_else(|| Error::Usage(format!("no table \"{}\"", k.table)))?;
    let create: String = conn
        .query_row(
            "SELECT sql FROM main.sqlite_schema WHERE type = 'table' AND name = ?1",
            [table.name.as_str()],
            |r| r.get(0),
        )
        .map_err(q(format!("read the definition of \"{}\"", table.name)))?;
    out.execute_batch(&create)
        .map_err(q(format!("create \"{}\" in the archive", table.name)))?;
    let mut cols: Vec<String> = table
        .columns
        .iter()
        .filter(|col| col.generated.is_none())
        .map(|col| quote_ident(&col.name))
        .collect();
    if !table.without_rowid && table.rowid_alias().is_none() {
        cols.insert(0, "rowid".into());
    }
    let t = quote_ident(&table.name);
    let mut read = conn
        .prepare(&format!(
            "SELECT {} FROM {t} WHERE {}",
            cols.join(", "),
            k.member()
        ))
        .map_err(q(format!("archive \"{}\"", table.name)))?;
    let mut write = out
        .prepare(&format!(
            "INSERT INTO {t} ({}) VALUES ({})",
            cols.join(", "),
            vec!["?"; cols.len()].join(", ")
        ))
        .map_err(q(format!("archive \"{}\"", table.name)))?;
    let mut rows = read
        .query([])
        .map_err(q(format!("archive \"{}\"", table.name)))?;
    let mut n = 0u64;
    while let Some(row) = rows
        .next()
        .map_err(q(format!("archive \"{}\"", table.name)))?
    {
        let values: Vec<rusqlite::types::Value> = (0..cols.len())
            .map(|i| row.get(i))
            .collect::<rusqlite::Result<_>>()
            .map_err(q(format!("archive \"{}\"", table.name)))?;
        write
            .execute(rusqlite::params_from_iter(values))
            .map_err(q(format!("archive \"{}\"", table.name)))?;
        n += 1;
    }
    if n != k.rows {
        return Err(Error::Usage(format!(
            "archived {n} row(s) of \"{}\" where {} were selected; nothing was pruned",
            k.table, k.rows
        )));
    }
    Ok(())
}

fn sync_file(path: &Path) -> Result<()> {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::io("sync", path, e))
}

fn sync_dir(dir: &Path) -> Result<()> {
    // Directories are fsynced through a read-only handle on Unix; elsewhere this is a no-op.
    match std::fs::File::open(dir) {
        Ok(f) => {
            let _ = f.sync_all();
            Ok(())
        }
        Err(e) => Err(Error::io("sync", dir, e)),
    }
}

fn remove_archive(path: &Path) {
    let _ = std::fs::remove_file(path);
    let _ = std::fs::remove_file(backup::sidecar_path(path));
    let _ = std::fs::remove_file(backup::manifest_path(path));
}

/// Removes archives (and `.partial` files) of prunes the history does not record: their
/// deletion never committed, so their rows are all still in the database.
fn remove_abandoned(conn: &Connection, dir: &Path) -> Result<Vec<PathBuf>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let recorded = |id: &str| -> bool {
        conn.query_row(
            &format!("SELECT count(*) > 0 FROM {PRUNES_TABLE} WHERE id = ?1"),
            [id],
            |r| r.get::<_, bool>(0),
        )
        .unwrap_or(false)
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let name = path.to_string_lossy().to_string();
        if name.ends_with(".db.partial") {
            let _ = std::fs::remove_file(&path);
            removed.push(path);
            continue;
        }
        if !name.ends_with(".db.json") {
            continue;
        }
        let Some(manifest) = std::fs::read_to_string(&path)
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        else {
            continue;
        };
        let (Some(id), Some(db)) = (manifest["prune_id"].as_str(), manifest["database"].as_str())
        else {
            continue;
        };
        // Only archives of this database (an archives directory may be shared).
        if same_file(Path::new(db), &conn_path(conn)) && !recorded(id) {
            let archive = path.with_extension("");
            remove_archive(&archive);
            removed.push(archive);
        }
    }
    Ok(removed)
}

fn conn_path(conn: &Connection) -> PathBuf {
    conn.path().map(PathBuf::from).unwrap_or_default()
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
