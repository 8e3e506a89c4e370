//! The lint's foreign key check: the orphans of a foreign key a change adds, read under the
//! parent's live name and columns.

use super::{FindingKind, Lint};
use crate::db::orphans::{not_null, orphan_condition};
use crate::diff::Change;
use crate::error::{Error, Result};
use crate::model::{ForeignKey, Schema};
use crate::sql::ident;

impl Lint<'_> {
    /// The orphans of `fk` (rows whose key is set and finds no parent row), each named by
    /// its key and the values of its foreign key columns. The parent is read under its live
    /// name and columns (the same changes may rename it, or them).
    pub(super) fn foreign_key(&mut self, fk: &ForeignKey, desired: &Schema) -> Result<()> {
        let child: Vec<String> = fk.columns.iter().map(|c| self.live_column(c)).collect();
        let parent_columns: Vec<String> = if fk.ref_columns.is_empty() {
            desired
                .table(&fk.ref_table)
                .map(crate::model::Table::key_columns)
                .unwrap_or_default()
        } else {
            fk.ref_columns.iter().map(|c| c.to_string()).collect()
        };
        let (parent, parent_columns) = live_parent(self.changes, &fk.ref_table, parent_columns);
        let message = format!(
            "FOREIGN KEY ({}) REFERENCES {}",
            fk.columns
                .iter()
                .map(|c| ident(c))
                .collect::<Vec<_>>()
                .join(", "),
            ident(&fk.ref_table)
        );
        let parent_exists =
            crate::db::table_exists(self.conn, &parent).map_err(|e| Error::sqlite("lint", e))?;
        // With no parent table (or a key of another width), every set key is an orphan.
        let row = ident(&self.live.name);
        let condition = if parent_exists && parent_columns.len() == child.len() {
            orphan_condition(&row, &child, &parent, &parent_columns)
        } else {
            not_null(&row, &child)
        };
        let shown = fk
            .columns
            .iter()
            .zip(&child)
            .map(|(name, live)| {
                format!(
                    "{} || '=' || {}",
                    crate::sql::quote_literal(name.as_str()),
                    crate::sql::literal_sql(&ident(live))
                )
            })
            .collect::<Vec<_>>()
            .join(" || ', ' || ");
        self.rows_where_showing(
            FindingKind::ForeignKey,
            format!("{message}: orphan rows"),
            &condition,
            Some(&format!("({shown}) || ' has no parent row'")),
        )
    }
}

/// The live name of the parent table `desired` and of its `columns` (desired names), through
/// the renames of `changes`.
fn live_parent(changes: &[Change], desired: &str, columns: Vec<String>) -> (String, Vec<String>) {
    let name = changes
        .iter()
        .find_map(|c| match c {
            Change::RenameTable { from, to } if to.eq_ignore_ascii_case(desired) => {
                Some(from.clone())
            }
            _ => None,
        })
        .unwrap_or_else(|| desired.to_string());
    let renames = changes.iter().find_map(|c| match c {
        Change::ModifyTable(d) if d.to.name == desired => Some(&d.column_renames),
        _ => None,
    });
    let columns = columns
        .into_iter()
        .map(|c| {
            renames
                .and_then(|r| r.iter().find(|(_, to)| to.eq_ignore_ascii_case(&c)))
                .map_or(c, |(from, _)| from.clone())
        })
        .collect();
    (name, columns)
}
