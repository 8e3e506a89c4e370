//! The driver's row-count checks around the migrations: the rows each table had before,
//! compared with the table that holds them after (followed through renames and rebuilds by
//! [`super::super::counts::NamesAfter`]); rows removed are refused unless allowed, and a count
//! the migrations' own writes changed (or their triggers and foreign keys) is named, never
//! called ok.

use std::collections::BTreeMap;

use super::super::counts::{dml_targets, references_any, with_trigger_writes};
use super::Driver;
use crate::error::{Error, Result};
use crate::printable::thousands;

impl Driver<'_> {
    /// Reports the row count of every table the migrations changed (`metrics_log: 4,990 → 0`,
    /// a dropped table `→ dropped`), and fails when rows disappeared without
    /// [`Driver::allow_rows_removed`].
    pub(super) fn check_rows_removed(
        &mut self,
        counts_before: &BTreeMap<String, u64>,
        counts_after: &BTreeMap<String, u64>,
    ) -> Result<()> {
        // A table keeps its rows under the name the migrations give it (through every
        // rename and rebuild: a swap or a chain too).
        let names = self.names_after(counts_before);
        let mut removed = Vec::new();
        let mut followed: Vec<String> = Vec::new();
        for (table, before) in counts_before {
            let renamed = names.renamed(table).is_some();
            let (label, after) = match names.count_after(table, counts_after) {
                Some((now, n)) if renamed => {
                    followed.push(now.clone());
                    (format!("{table} (renamed {now})"), Some(n))
                }
                other => (table.clone(), other.map(|(_, n)| n)),
            };
            if after == Some(*before) {
                if renamed {
                    self.checked
                        .push(format!("rows: {label}: {}", thousands(*before)));
                }
                continue;
            }
            let line = format!(
                "{label}: {} → {}",
                thousands(*before),
                after.map_or("dropped".to_string(), thousands)
            );
            if after.unwrap_or(0) < *before {
                removed.push(line.clone());
            }
            self.checked.push(format!("rows: {line}"));
        }
        for (table, after) in counts_after {
            if !counts_before.contains_key(table) && !followed.contains(table) && *after > 0 {
                self.checked
                    .push(format!("rows: {table}: new → {}", thousands(*after)));
            }
        }
        if removed.is_empty() {
            return Ok(());
        }
        if self.allow_rows_removed {
            // Said as what it is: rows gone, let through by the flag, never "ok".
            self.checked.push(format!(
                "rows removed, allowed by --allow-destructive: {}",
                removed.join(", ")
            ));
            return Ok(());
        }
        Err(Error::RowsRemoved { tables: removed })
    }

    /// Compares every table's rows in `counts_before` with `counts_after`.
    pub(super) fn check_row_counts(
        &mut self,
        counts_before: &BTreeMap<String, u64>,
        counts_after: &BTreeMap<String, u64>,
    ) -> Result<()> {
        // Row counts: every table that exists before and after keeps its rows, unless a
        // migration inserts into or deletes from it (or a parent it cascades from). Which
        // tables those are is read only when a count changed.
        let mut changed_by_dml: Option<Vec<String>> = None;
        // Each table is compared with the table its rows went to (a swap or a chain of
        // renames moves them to a name another table had).
        let names = self.names_after(counts_before);
        // Counts the migrations' own writes changed: named, never called ok.
        let mut on_purpose = Vec::new();
        for (table, before) in counts_before {
            let Some((now, after)) = names.count_after(table, counts_after) else {
                continue;
            };
            if *before == after {
                continue;
            }
            if changed_by_dml.is_none() {
                let sql: Vec<&str> = self
                    .pending
                    .iter()
                    .map(|p| p.forward.as_str())
                    .chain(self.unstash_sql.iter().map(String::as_str))
                    .collect();
                let mut targets: Vec<String> = sql.iter().flat_map(|s| dml_targets(s)).collect();
                with_trigger_writes(self.conn, &sql, &mut targets)?;
                changed_by_dml = Some(targets);
            }
            let targets = changed_by_dml.as_deref().unwrap_or_default();
            if targets
                .iter()
                .any(|t| t.eq_ignore_ascii_case(table) || t.eq_ignore_ascii_case(&now))
                || references_any(self.conn, &now, targets)?
            {
                on_purpose.push(format!(
                    "{table}{}: {} → {}",
                    if now.eq_ignore_ascii_case(table) {
                        String::new()
                    } else {
                        format!(" (renamed {now})")
                    },
                    thousands(*before),
                    thousands(after)
                ));
                continue;
            }
            return Err(Error::RowCountChanged {
                table: table.clone(),
                renamed: if now.eq_ignore_ascii_case(table) {
                    String::new()
                } else {
                    format!(" (now \"{now}\")")
                },
                before: *before,
                after,
            });
        }
        self.checked.push(if on_purpose.is_empty() {
            format!("row counts: ok ({} table(s))", counts_after.len())
        } else {
            format!(
                "row counts: {} table(s); changed by the migrations' own writes (or what their triggers and foreign keys reach): {}",
                counts_after.len(),
                on_purpose.join(", ")
            )
        });
        Ok(())
    }
}
