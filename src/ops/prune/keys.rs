//! Which rows a prune removes: each rule's table and every table an ON DELETE CASCADE reaches
//! from it (with dry-run counts), and the keys of those rows, selected once.

use rusqlite::Connection;

use super::{Node, TableEffect};
use crate::db::bookkeeping::PRUNE_KEYS_PREFIX;
use crate::db::orphans::{parent_columns, references_condition};
use crate::error::{Error, Result};
use crate::model::{FkAction, Schema, Table};
use crate::sql::quote_ident;

/// The keys of one table's rows to remove, held in a temporary table so that every step
/// (archive, delete, check) sees the same rows, whatever `now` says by then.
#[derive(Debug, Clone)]
pub(super) struct Keys {
    pub(super) table: String,
    /// The key columns: `rowid`, or the primary key of a WITHOUT ROWID table.
    pub(super) columns: Vec<String>,
    pub(super) temp: String,
    pub(super) archive: bool,
    pub(super) rows: u64,
}

impl Keys {
    /// `(key) IN (SELECT * FROM temp.keys)`.
    pub(super) fn member(&self) -> String {
        let cols: Vec<String> = self.columns.iter().map(|c| key_col(c)).collect();
        let list = if cols.len() == 1 {
            cols[0].clone()
        } else {
            format!("({})", cols.join(", "))
        };
        format!("{list} IN (SELECT * FROM temp.{})", quote_ident(&self.temp))
    }
}

pub(super) fn key_col(c: &str) -> String {
    if c == "rowid" {
        "rowid".into()
    } else {
        quote_ident(c)
    }
}

/// Fills one temporary key table per table the rules reach: the rules' rows, then, until
/// nothing changes, the rows that cascade from them.
pub(super) fn select_keys(conn: &Connection, live: &Schema, nodes: &[Node]) -> Result<Vec<Keys>> {
    let mut keys: Vec<Keys> = Vec::new();
    for node in nodes {
        if let Some(k) = keys.iter_mut().find(|k| k.table == node.table) {
            k.archive |= node.archive;
            continue;
        }
        let table = live.table(&node.table).ok_or_else(|| Error::MissingTable {
            place: None,
            table: node.table.clone(),
        })?;
        let columns: Vec<String> = if table.without_rowid {
            table.key_columns()
        } else {
            vec!["rowid".into()]
        };
        let temp = format!("{PRUNE_KEYS_PREFIX}{}", keys.len());
        let names: Vec<String> = (0..columns.len()).map(|i| format!("k{i}")).collect();
        conn.execute_batch(&format!(
            "DROP TABLE IF EXISTS temp.{t}; CREATE TEMP TABLE {t} ({n}, PRIMARY KEY ({n}))",
            t = quote_ident(&temp),
            n = names.join(", ")
        ))
        .map_err(Error::sqlite_in("hold the keys to prune"))?;
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
        .map_err(Error::sqlite_in(format!(
            "select the rows to prune in \"{}\"",
            k.table
        )))
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
            let pcols: Vec<String> = parent_columns(fk, parent_table)
                .iter()
                .map(|c| key_col(c))
                .collect();
            let columns: Vec<String> = fk.columns.iter().map(|c| c.to_string()).collect();
            let condition =
                references_condition(&columns, &parent_keys.table, &pcols, &parent_keys.member());
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
            .map_err(Error::sqlite_in("count the rows to prune"))?;
        k.rows = u64::try_from(n).unwrap_or_default();
    }
    Ok(keys)
}

/// The nodes (each rule's table, and every table an ON DELETE CASCADE reaches from it) and
/// every effect, with row counts, following the foreign keys of the live schema.
pub(super) fn plan(
    conn: &Connection,
    live: &Schema,
    rules: &[crate::dsl::Retention],
) -> Result<(Vec<Node>, Vec<TableEffect>)> {
    let mut nodes: Vec<Node> = Vec::new();
    let mut effects = Vec::new();
    for rule in rules {
        let Some(table) = live.table(&rule.table) else {
            return Err(Error::RetentionTable {
                table: rule.table.clone(),
            });
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
            let parent =
                live.table(&nodes[at].table)
                    .cloned()
                    .ok_or_else(|| Error::MissingTable {
                        place: None,
                        table: nodes[at].table.clone(),
                    })?;
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
    let pcols: Vec<String> = parent_columns(fk, Some(parent))
        .iter()
        .map(|c| quote_ident(c))
        .collect();
    let columns: Vec<String> = fk.columns.iter().map(|c| c.to_string()).collect();
    references_condition(&columns, &parent.name, &pcols, condition)
}

fn count(conn: &Connection, table: &str, condition: &str) -> Result<u64> {
    crate::db::count(conn, table, Some(condition)).map_err(Error::sqlite_in(format!(
        "count the rows to prune in \"{table}\""
    )))
}
