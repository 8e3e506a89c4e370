//! Which rows a prune removes, computed once by one function for the dry run and the real run:
//! each rule's rows, then, to a fixed point, the rows an ON DELETE CASCADE takes with them,
//! following the foreign keys SQLite itself enforces (`PRAGMA foreign_key_list`, so a table
//! schema/ keeps verbatim or excludes is followed too). The keys are held in temporary tables,
//! so that every step (count, archive, delete, check) sees the same rows. The effects (every
//! foreign key's action and every trigger that fires) are counted from that selection.

use std::collections::BTreeMap;

use rusqlite::Connection;

use super::TableEffect;
use super::triggers::{Fired, fired};
use crate::db::bookkeeping::PRUNE_KEYS_PREFIX;
use crate::error::{Error, Result};
use crate::model::{FkAction, Schema, Table};
use crate::sql::quote_ident;

/// The keys of one table's rows to remove.
#[derive(Debug, Clone)]
pub(super) struct Keys {
    pub(super) table: String,
    /// The key as SQL: an unshadowed rowid name, or the quoted primary key columns of a
    /// WITHOUT ROWID table.
    pub(super) columns: Vec<String>,
    pub(super) temp: String,
    pub(super) archive: bool,
    pub(super) rows: u64,
}

impl Keys {
    /// `(key) IN (SELECT * FROM temp.keys)`.
    pub(super) fn member(&self) -> String {
        let list = if self.columns.len() == 1 {
            self.columns[0].clone()
        } else {
            format!("({})", self.columns.join(", "))
        };
        format!("{list} IN (SELECT * FROM temp.{})", quote_ident(&self.temp))
    }
}

/// A foreign key as SQLite enforces it, its parent columns resolved (as SQL).
#[derive(Debug, Clone)]
pub(super) struct LiveKey {
    pub(super) child: String,
    pub(super) columns: Vec<String>,
    pub(super) parent: String,
    pub(super) parent_columns: Vec<String>,
    pub(super) on_delete: FkAction,
    /// Its ON UPDATE action, as SQLite reports it (`NO ACTION`, `CASCADE`, ...).
    pub(super) on_update: String,
    /// The parent columns by name; empty for the parent's rowid.
    pub(super) parent_names: Vec<String>,
}

impl LiveKey {
    fn via(&self) -> String {
        format!(
            "\"{}\"({}) references \"{}\"",
            self.child,
            self.columns.join(", "),
            self.parent
        )
    }
}

/// What a prune selects: the keys per table, every effect, and the triggers that fire.
#[derive(Debug)]
pub(super) struct Selection {
    pub(super) keys: Vec<Keys>,
    pub(super) effects: Vec<TableEffect>,
    pub(super) fired: Vec<Fired>,
    /// The references ON DELETE SET NULL / SET DEFAULT changes: the key, the rows (as a
    /// condition on the child) and how many; the archive keeps their old values.
    pub(super) unlinked: Vec<Unlinked>,
    /// Why setting those references off cannot be undone, if it cannot: named.
    pub(super) refused: Option<String>,
}

/// Rows whose references to removed rows SQLite sets to NULL or their default.
#[derive(Debug, Clone)]
pub(super) struct Unlinked {
    pub(super) fk: LiveKey,
    pub(super) condition: String,
    pub(super) rows: u64,
}

impl Selection {
    /// Rows removed per table.
    pub(super) fn removed(&self) -> BTreeMap<String, u64> {
        self.keys
            .iter()
            .map(|k| (k.table.clone(), k.rows))
            .collect()
    }
}

/// The key of `table`'s rows as SQL: its unshadowed rowid name, or (WITHOUT ROWID) its primary
/// key as SQLite reports it. A rowid table whose columns take `rowid`, `_rowid_` and `oid` is
/// refused, named.
pub(super) fn row_key(conn: &Connection, table: &Table) -> Result<Vec<String>> {
    if !table.without_rowid {
        return table.rowid_name().map(|n| vec![n.to_string()]).ok_or_else(|| {
            crate::error::PruneError::Refused {
                reason: format!(
                    "\"{}\" has columns named rowid, _rowid_ and oid, so its rows cannot be told apart by rowid",
                    table.name
                ),
            }.into()
        });
    }
    Ok(primary_key(conn, &table.name)?
        .iter()
        .map(|c| quote_ident(c))
        .collect())
}

/// The primary key columns of `table` in key order, as SQLite reports them.
fn primary_key(conn: &Connection, table: &str) -> Result<Vec<String>> {
    conn.prepare("SELECT name FROM pragma_table_info(?1) WHERE pk > 0 ORDER BY pk")
        .and_then(|mut s| {
            s.query_map([table], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()
        })
        .map_err(Error::sqlite_in(format!(
            "read the primary key of \"{table}\""
        )))
}

/// Every foreign key of the live database, from SQLite's catalog, with its parent columns.
pub(super) fn live_keys(conn: &Connection, live: &Schema) -> Result<Vec<LiveKey>> {
    type Row = (String, i64, String, String, Option<String>, String, String);
    let rows: Vec<Row> = conn
        .prepare(
            "SELECT m.name, f.id, f.\"table\", f.\"from\", f.\"to\", f.on_delete, f.on_update \
             FROM sqlite_schema m, pragma_foreign_key_list(m.name) f \
             WHERE m.type = 'table' ORDER BY m.name, f.id, f.seq",
        )
        .and_then(|mut s| {
            s.query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            })?
            .collect::<rusqlite::Result<_>>()
        })
        .map_err(Error::sqlite_in("read the foreign keys"))?;
    let mut keys: Vec<(String, i64, LiveKey, Vec<Option<String>>)> = Vec::new();
    for (child, id, parent, from, to, on_delete, on_update) in rows {
        // A key to a table that does not exist references nothing a prune removes.
        let (Some(child_t), Some(parent_t)) = (live.table(&child), live.table(&parent)) else {
            continue;
        };
        if let Some(k) = keys.iter_mut().find(|k| k.0 == child && k.1 == id) {
            k.2.columns.push(from);
            k.3.push(to);
            continue;
        }
        let on_delete = match on_delete.to_ascii_uppercase().as_str() {
            "CASCADE" => FkAction::Cascade,
            "SET NULL" => FkAction::SetNull,
            "SET DEFAULT" => FkAction::SetDefault,
            "RESTRICT" => FkAction::Restrict,
            _ => FkAction::NoAction,
        };
        keys.push((
            child.clone(),
            id,
            LiveKey {
                child: child_t.name.to_string(),
                columns: vec![from],
                parent: parent_t.name.to_string(),
                parent_columns: Vec::new(),
                on_delete,
                on_update,
                parent_names: Vec::new(),
            },
            vec![to],
        ));
    }
    let mut out = Vec::new();
    for (_, _, mut key, to) in keys {
        key.parent_columns = if to.iter().all(Option::is_some) {
            key.parent_names = to.into_iter().flatten().collect();
            key.parent_names.iter().map(|c| quote_ident(c)).collect()
        } else {
            // `REFERENCES parent` without columns: the parent's primary key.
            let pk = primary_key(conn, &key.parent)?;
            key.parent_names.clone_from(&pk);
            if pk.is_empty() {
                let parent = live.table(&key.parent).ok_or_else(|| Error::MissingTable {
                    place: None,
                    table: key.parent.clone(),
                })?;
                row_key(conn, parent)?
            } else {
                pk.iter().map(|c| quote_ident(c)).collect()
            }
        };
        out.push(key);
    }
    Ok(out)
}

/// Selects the rows the rules remove (see the module header), in temporary key tables on
/// `conn`, and counts every effect. The dry run and the real run both call this.
pub(super) fn select(
    conn: &Connection,
    live: &Schema,
    rules: &[crate::dsl::Retention],
) -> Result<Selection> {
    let fks = live_keys(conn, live)?;
    let mut keys: Vec<Keys> = Vec::new();
    let mut effects = Vec::new();
    for rule in rules {
        let table = live
            .table(&rule.table)
            .ok_or_else(|| Error::RetentionTable {
                table: rule.table.clone(),
            })?;
        let at = ensure(conn, &mut keys, table, rule.archive)?;
        let condition = format!("({})", rule.when);
        effects.push(TableEffect {
            table: table.name.to_string(),
            via: "retention".into(),
            action: "delete".into(),
            rows: count(conn, &table.name, &condition)?,
        });
        insert(conn, &keys[at], &condition)?;
    }
    // To a fixed point: a self-reference, or a cycle, reaches new rows until it reaches none.
    loop {
        let mut changed = false;
        for fk in fks.iter().filter(|f| f.on_delete == FkAction::Cascade) {
            let Some(p) = keys.iter().position(|k| k.table == fk.parent) else {
                continue;
            };
            let archive = keys[p].archive;
            let child = live.table(&fk.child).ok_or_else(|| Error::MissingTable {
                place: None,
                table: fk.child.clone(),
            })?;
            let c = ensure(conn, &mut keys, child, archive)?;
            if archive && !keys[c].archive {
                keys[c].archive = true;
                changed = true;
            }
            let condition = referencing(fk, &keys[p]);
            changed |= insert(conn, &keys[c], &condition)? > 0;
        }
        if !changed {
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
            .map_err(Error::sqlite_in("count the rows to prune"))?;
        k.rows = u64::try_from(n).unwrap_or_default();
    }
    // Every foreign key into a table that loses rows: what happens to the rows referencing them.
    let mut unlinked: Vec<Unlinked> = Vec::new();
    for fk in &fks {
        let Some(parent) = keys.iter().find(|k| k.table == fk.parent) else {
            continue;
        };
        let mut condition = referencing(fk, parent);
        // Rows the prune removes anyway are neither unlinked nor blocking, except by a
        // RESTRICT reference: SQLite checks that one row by row, even where the referencing
        // row goes in the same statement, so every referencing row blocks.
        if !matches!(fk.on_delete, FkAction::Cascade | FkAction::Restrict)
            && let Some(own) = keys.iter().find(|k| k.table == fk.child)
        {
            condition = format!("{condition} AND NOT {}", own.member());
        }
        let rows = count(conn, &fk.child, &condition)?;
        let action = match fk.on_delete {
            FkAction::Cascade => "delete",
            FkAction::SetNull => "set null",
            FkAction::SetDefault => "set default",
            FkAction::Restrict | FkAction::NoAction => "blocks",
        };
        if matches!(fk.on_delete, FkAction::SetNull | FkAction::SetDefault) && rows > 0 {
            unlinked.push(Unlinked {
                fk: fk.clone(),
                condition: condition.clone(),
                rows,
            });
        }
        effects.push(TableEffect {
            table: fk.child.clone(),
            via: fk.via(),
            action: action.into(),
            rows,
        });
    }
    let refused = unlinking_refused(conn, &fks, &unlinked)?;
    let updated: Vec<(String, u64)> = unlinked
        .iter()
        .map(|u| (u.fk.child.clone(), u.rows))
        .collect();
    let on_update: Vec<(String, String)> = fks
        .iter()
        .filter(|k| {
            matches!(
                k.on_update.to_ascii_uppercase().as_str(),
                "CASCADE" | "SET NULL" | "SET DEFAULT"
            )
        })
        .map(|k| (k.parent.clone(), k.child.clone()))
        .collect();
    let fired = fired(conn, live, &keys, &updated, &on_update)?;
    for f in &fired {
        effects.push(TableEffect {
            table: f.table.clone(),
            via: format!("trigger \"{}\"", f.trigger),
            action: "fires".into(),
            rows: f.rows,
        });
    }
    Ok(Selection {
        keys,
        effects,
        fired,
        unlinked,
        refused,
    })
}

/// Why the references ON DELETE SET NULL / SET DEFAULT change cannot be kept and put back,
/// if they cannot: a column of the child's primary key (the row's identity, by which the
/// archive finds it again, would change: for a WITHOUT ROWID table its very key), or a column
/// another foreign key references (SQLite's change is an UPDATE of the parent key: its ON
/// UPDATE action would change, or refuse, rows no archive keeps).
fn unlinking_refused(
    conn: &Connection,
    fks: &[LiveKey],
    unlinked: &[Unlinked],
) -> Result<Option<String>> {
    for u in unlinked {
        let pk = primary_key(conn, &u.fk.child)?;
        if let Some(c) =
            u.fk.columns
                .iter()
                .find(|c| pk.iter().any(|k| k.eq_ignore_ascii_case(c)))
        {
            return Ok(Some(format!(
                "{} ON DELETE {}, and \"{c}\" is part of the primary key of \"{}\": the {} row(s) would change their key, and the archive could not find them again to put the reference back",
                u.fk.via(),
                action_sql(&u.fk.on_delete),
                u.fk.child,
                u.rows
            )));
        }
        for k in fks.iter().filter(|k| k.parent == u.fk.child) {
            let Some(c) = k
                .parent_names
                .iter()
                .find(|p| u.fk.columns.iter().any(|c| c.eq_ignore_ascii_case(p)))
            else {
                continue;
            };
            let parent = quote_ident(&k.parent);
            let pairs = k
                .parent_columns
                .iter()
                .zip(&k.columns)
                .map(|(p, c)| format!("{parent}.{p} = \"_schemactl_child\".{}", quote_ident(c)))
                .collect::<Vec<_>>()
                .join(" AND ");
            let rows: i64 = conn
                .query_row(
                    &format!(
                        "SELECT count(*) FROM {} AS \"_schemactl_child\" WHERE EXISTS (SELECT 1 FROM {parent} WHERE {pairs} AND ({}))",
                        quote_ident(&k.child),
                        u.condition
                    ),
                    [],
                    |r| r.get(0),
                )
                .map_err(Error::sqlite_in(format!(
                    "count the rows of \"{}\" an update of \"{}\" reaches",
                    k.child, k.parent
                )))?;
            if rows > 0 {
                return Ok(Some(format!(
                    "{} ON DELETE {} changes \"{}\".\"{c}\", which {} (ON UPDATE {}) from {rows} row(s): SQLite would carry the change into rows no archive keeps",
                    u.fk.via(),
                    action_sql(&u.fk.on_delete),
                    u.fk.child,
                    k.via(),
                    k.on_update
                )));
            }
        }
    }
    Ok(None)
}

fn action_sql(a: &FkAction) -> &'static str {
    match a {
        FkAction::SetNull => "SET NULL",
        FkAction::SetDefault => "SET DEFAULT",
        FkAction::Cascade => "CASCADE",
        FkAction::Restrict => "RESTRICT",
        FkAction::NoAction => "NO ACTION",
    }
}

/// Why the prune must not go ahead, naming the cause: a reference that does not cascade, or a
/// trigger that writes rows of other tables (rows no archive would keep).
pub(super) fn refusal(selection: &Selection) -> Option<Error> {
    if let Some(block) = selection
        .effects
        .iter()
        .find(|e| e.action == "blocks" && e.rows > 0)
    {
        return Some(
            crate::error::PruneError::Blocked {
                table: block.table.clone(),
                rows: block.rows,
                via: block.via.clone(),
            }
            .into(),
        );
    }
    if let Some(reason) = &selection.refused {
        return Some(
            crate::error::PruneError::Refused {
                reason: reason.clone(),
            }
            .into(),
        );
    }
    if let Some((f, target)) = selection
        .fired
        .iter()
        .find_map(|f| f.writes.first().map(|t| (f, t)))
    {
        return Some(crate::error::PruneError::Refused {
            reason: format!(
                "trigger \"{}\" on \"{}\" fires for the rows the prune changes{} and writes rows of \"{target}\", which no archive would keep",
                f.trigger,
                f.table,
                f.by
                    .as_ref()
                    .map(|b| format!(" (fired by trigger \"{b}\")"))
                    .unwrap_or_default()
            ),
        }.into());
    }
    None
}

/// The rows of `fk`'s child that reference the rows selected in `parent`, matched as SQLite
/// matches a foreign key: each parent column compared with its own collation (and affinity),
/// so that a NOCASE parent key takes `'BOB'` as well as `'bob'`. The parent column is the left
/// operand of each `=`, which is what gives it the precedence.
fn referencing(fk: &LiveKey, parent: &Keys) -> String {
    let child = quote_ident(&fk.child);
    let pairs = fk
        .parent_columns
        .iter()
        .zip(&fk.columns)
        .map(|(p, c)| format!("{PARENT_ALIAS}.{p} = {child}.{}", quote_ident(c)))
        .collect::<Vec<_>>()
        .join(" AND ");
    let member = parent
        .columns
        .iter()
        .map(|k| format!("{PARENT_ALIAS}.{k}"))
        .collect::<Vec<_>>();
    let member = if member.len() == 1 {
        member[0].clone()
    } else {
        format!("({})", member.join(", "))
    };
    format!(
        "EXISTS (SELECT 1 FROM {} AS {PARENT_ALIAS} WHERE {pairs} AND {member} IN (SELECT * FROM temp.{}))",
        quote_ident(&fk.parent),
        quote_ident(&parent.temp)
    )
}

/// The parent's alias in [`referencing`]: no table a user names is reached by it there.
const PARENT_ALIAS: &str = "\"_schemactl_parent\"";

/// The index of `table`'s key table, created (empty) when it has none yet.
fn ensure(conn: &Connection, keys: &mut Vec<Keys>, table: &Table, archive: bool) -> Result<usize> {
    if let Some(at) = keys.iter().position(|k| k.table == table.name.as_str()) {
        keys[at].archive |= archive;
        return Ok(at);
    }
    let columns = row_key(conn, table)?;
    let temp = format!("{PRUNE_KEYS_PREFIX}{}", keys.len());
    let names: Vec<String> = (0..columns.len()).map(|i| format!("k{i}")).collect();
    conn.execute_batch(&format!(
        "DROP TABLE IF EXISTS temp.{t}; CREATE TEMP TABLE {t} ({n}, PRIMARY KEY ({n}))",
        t = quote_ident(&temp),
        n = names.join(", ")
    ))
    .map_err(Error::sqlite_in("hold the keys to prune"))?;
    keys.push(Keys {
        table: table.name.to_string(),
        columns,
        temp,
        archive,
        rows: 0,
    });
    Ok(keys.len() - 1)
}

/// Adds the keys of `k.table`'s rows where `condition` holds; returns how many were new.
fn insert(conn: &Connection, k: &Keys, condition: &str) -> Result<usize> {
    conn.execute(
        &format!(
            "INSERT OR IGNORE INTO temp.{} SELECT {} FROM {} WHERE {condition}",
            quote_ident(&k.temp),
            k.columns.join(", "),
            quote_ident(&k.table)
        ),
        [],
    )
    .map_err(Error::sqlite_in(format!(
        "select the rows to prune in \"{}\"",
        k.table
    )))
}

fn count(conn: &Connection, table: &str, condition: &str) -> Result<u64> {
    crate::db::count(conn, table, Some(condition)).map_err(Error::sqlite_in(format!(
        "count the rows to prune in \"{table}\""
    )))
}
