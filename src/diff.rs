//! `diff(current, desired)`: what must change to turn one schema into the other.
//!
//! Renames come only from `renamed_from` hints and are never guessed. The hints are applied to
//! `current` first, the way SQLite's own `ALTER TABLE ... RENAME` rewrites a schema (foreign
//! keys in other tables follow a renamed table or column), and the result is compared with
//! `desired` by name. A drop carries the whole old object, so its reverse can always be built.

use std::borrow::Cow;

use crate::dsl::Renames;
use crate::error::{Error, Result};
use crate::model::{
    Check, Column, ForeignKey, Index, PrimaryKey, Schema, Table, Trigger, Unique, View,
    VirtualTable,
};

/// One change to the schema.
// A plan holds a handful of changes, built once: variant sizes do not matter here.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Create a table (with its indexes).
    AddTable(Table),
    /// Drop a table.
    DropTable(Table),
    /// Rename a table.
    RenameTable {
        /// Current name.
        from: String,
        /// Desired name.
        to: String,
    },
    /// Change a table in place.
    ModifyTable(TableDiff),
    /// Create a view.
    AddView(View),
    /// Drop a view.
    DropView(View),
    /// Replace a view's definition.
    ModifyView {
        /// Current view.
        from: View,
        /// Desired view.
        to: View,
    },
    /// Create a trigger.
    AddTrigger(Trigger),
    /// Drop a trigger.
    DropTrigger(Trigger),
    /// Replace a trigger.
    ModifyTrigger {
        /// Current trigger.
        from: Trigger,
        /// Desired trigger.
        to: Trigger,
    },
    /// Create a virtual table.
    AddVirtualTable(VirtualTable),
    /// Drop a virtual table.
    DropVirtualTable(VirtualTable),
    /// Replace a virtual table (drop and create: virtual tables are never altered).
    ModifyVirtualTable {
        /// Current virtual table.
        from: VirtualTable,
        /// Desired virtual table.
        to: VirtualTable,
    },
}

/// The changes to one table that exists on both sides.
#[derive(Debug, Clone, PartialEq)]
pub struct TableDiff {
    /// The current table, under its desired name when it is renamed, with its old column names.
    pub from: Table,
    /// The desired table.
    pub to: Table,
    /// `(current, desired)` column names renamed by hints.
    pub column_renames: Vec<(String, String)>,
    /// The changes, after column renames.
    pub changes: Vec<TableChange>,
}

/// One change inside a table.
#[allow(clippy::large_enum_variant)] // see Change
#[derive(Debug, Clone, PartialEq)]
pub enum TableChange {
    /// A new column.
    AddColumn(Column),
    /// A column that goes.
    DropColumn(Column),
    /// A renamed column.
    RenameColumn {
        /// Current name.
        from: String,
        /// Desired name.
        to: String,
    },
    /// A column whose definition changes.
    ModifyColumn {
        /// Current definition (under its desired name).
        from: Column,
        /// Desired definition.
        to: Column,
    },
    /// The surviving columns change order.
    ReorderColumns,
    /// A new index.
    AddIndex(Index),
    /// An index that goes.
    DropIndex(Index),
    /// An index whose definition changes.
    ModifyIndex {
        /// Current index.
        from: Index,
        /// Desired index.
        to: Index,
    },
    /// The primary key changes.
    ModifyPrimaryKey {
        /// Current key.
        from: Option<PrimaryKey>,
        /// Desired key.
        to: Option<PrimaryKey>,
    },
    /// A new UNIQUE constraint.
    AddUnique(Unique),
    /// A UNIQUE constraint that goes.
    DropUnique(Unique),
    /// A new table CHECK.
    AddCheck(Check),
    /// A table CHECK that goes.
    DropCheck(Check),
    /// A new foreign key.
    AddForeignKey(ForeignKey),
    /// A foreign key that goes.
    DropForeignKey(ForeignKey),
    /// STRICT is switched on or off.
    SetStrict(bool),
    /// WITHOUT ROWID is switched on or off.
    SetWithoutRowid(bool),
    /// A verbatim table's text changes.
    ReplaceVerbatim,
}

/// The error for a rename hint on `object` whose old name `from` does not fit the live
/// schema, at the hint's place in its file.
fn rename_source(renames: &Renames, object: String, from: &str, missing: String) -> Error {
    Error::RenameSource {
        place: renames.places.get(&object).cloned(),
        object,
        from: from.to_string(),
        missing,
    }
}

fn find<'a, T>(items: &'a [T], name: &str, key: impl Fn(&T) -> &str) -> Option<&'a T> {
    items.iter().find(|i| key(i).eq_ignore_ascii_case(name))
}

/// Computes the changes from `current` to `desired`, using `renames` hints.
pub fn diff(current: &Schema, desired: &Schema, renames: &Renames) -> Result<Vec<Change>> {
    // A copy of the live schema only when a rename hint changes it: at thousands of tables the
    // copy is as large as the inspection.
    let mut current: Cow<'_, Schema> = Cow::Borrowed(current);
    let mut changes = Vec::new();

    // Table renames, applied to `current` as SQLite applies them: all at once, so that a
    // swap or a chain lands each table where its hint says.
    let table_hints: Vec<(String, String)> = renames.tables.clone();
    let table_renames = pending(
        &table_hints,
        |n| current.table(n).is_some(),
        |to, from| {
            let missing = format!("there is no table \"{from}\"");
            rename_source(renames, format!("table \"{to}\""), from, missing)
        },
        |to, other, from| Error::RenamedTwice {
            first: format!("table \"{other}\""),
            second: format!("table \"{to}\""),
            from: from.to_string(),
        },
        |to, from| {
            let missing = format!(
                "both tables \"{from}\" and \"{to}\" exist: drop one of them first, or remove the hint"
            );
            rename_source(renames, format!("table \"{to}\""), from, missing)
        },
    )?;
    let table_renames: Vec<(String, String)> = table_renames
        .into_iter()
        .map(|(from, to)| {
            let real = current.table(&from).map_or(from, |t| t.name.to_string());
            (real, to)
        })
        .collect();
    for (i, (from, _)) in table_renames.iter().enumerate() {
        rename_table(current.to_mut(), from, &placeholder(i));
    }
    for (i, (from, to)) in table_renames.iter().enumerate() {
        rename_table(current.to_mut(), &placeholder(i), to);
        changes.push(Change::RenameTable {
            from: from.clone(),
            to: to.clone(),
        });
    }
    // Column renames, likewise, table by table.
    let mut column_renames: Vec<(String, String, String)> = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for (table, _, _) in &renames.columns {
        if seen.iter().any(|s| s.eq_ignore_ascii_case(table)) {
            continue;
        }
        seen.push(table.clone());
        let Some(t) = current.table(table) else {
            continue; // a new table: nothing to rename
        };
        let hints: Vec<(String, String)> = renames
            .columns
            .iter()
            .filter(|(tb, _, _)| tb.eq_ignore_ascii_case(table))
            .map(|(_, to, from)| (to.clone(), from.clone()))
            .collect();
        let found = pending(
            &hints,
            |n| t.column(n).is_some(),
            |to, from| {
                let missing = format!("\"{table}\" has no column \"{from}\"");
                rename_source(
                    renames,
                    format!("column \"{table}\".\"{to}\""),
                    from,
                    missing,
                )
            },
            |to, other, from| Error::RenamedTwice {
                first: format!("column \"{table}\".\"{other}\""),
                second: format!("column \"{table}\".\"{to}\""),
                from: from.to_string(),
            },
            |to, from| {
                let missing = format!(
                    "\"{table}\" has both columns \"{from}\" and \"{to}\": drop one of them first, or remove the hint"
                );
                rename_source(
                    renames,
                    format!("column \"{table}\".\"{to}\""),
                    from,
                    missing,
                )
            },
        )?;
        for (from, to) in found {
            let real_from = t.column(&from).map_or(from, |c| c.name.to_string());
            column_renames.push((t.name.to_string(), real_from, to));
        }
    }
    for (table, to, from) in &renames.indexes {
        let Some(t) = current.table(table) else {
            continue;
        };
        let exists = |n: &str| t.indexes.iter().any(|i| i.name.eq_ignore_ascii_case(n));
        if !exists(to) && !exists(from) {
            let missing = format!("\"{table}\" has no index \"{from}\"");
            return Err(rename_source(
                renames,
                format!("index \"{to}\""),
                from,
                missing,
            ));
        }
    }
    // The tables before their column renames (a copy only when there are some).
    let before_columns: Option<Schema> =
        (!column_renames.is_empty()).then(|| current.as_ref().clone());
    // All at once: each column first to a placeholder, then to its new name.
    for (i, (table, from, _)) in column_renames.iter().enumerate() {
        rename_column(current.to_mut(), table, from, &placeholder(i));
    }
    for (i, (table, _, to)) in column_renames.iter().enumerate() {
        rename_column(current.to_mut(), table, &placeholder(i), to);
    }
    let originals: &Schema = before_columns.as_ref().unwrap_or(&current);

    for t in &current.tables {
        if desired.table(&t.name).is_none() {
            let original = originals
                .table(&t.name)
                .cloned()
                .unwrap_or_else(|| t.clone());
            changes.push(Change::DropTable(original));
        }
    }
    for t in &desired.tables {
        if current.table(&t.name).is_none() {
            changes.push(Change::AddTable(t.clone()));
        }
    }
    for to in &desired.tables {
        let Some(renamed) = current.table(&to.name) else {
            continue;
        };
        let from = originals
            .table(&to.name)
            .cloned()
            .unwrap_or_else(|| renamed.clone());
        let renames: Vec<(String, String)> = column_renames
            .iter()
            .filter(|(t, _, _)| t.eq_ignore_ascii_case(&to.name))
            .map(|(_, f, t)| (f.clone(), t.clone()))
            .collect();
        let table_changes = table_changes(renamed, to, &renames);
        if !table_changes.is_empty() || !renames.is_empty() {
            changes.push(Change::ModifyTable(TableDiff {
                from,
                to: to.clone(),
                column_renames: renames,
                changes: table_changes,
            }));
        }
    }

    diff_named(
        &current.views,
        &desired.views,
        |v| &v.name,
        &mut changes,
        Change::DropView,
        Change::AddView,
        |from, to| Change::ModifyView { from, to },
    );
    diff_named(
        &current.triggers,
        &desired.triggers,
        |t| &t.name,
        &mut changes,
        Change::DropTrigger,
        Change::AddTrigger,
        |from, to| Change::ModifyTrigger { from, to },
    );
    diff_named(
        &current.virtual_tables,
        &desired.virtual_tables,
        |t| &t.name,
        &mut changes,
        Change::DropVirtualTable,
        Change::AddVirtualTable,
        |from, to| Change::ModifyVirtualTable { from, to },
    );
    Ok(changes)
}

/// A name no user object can have (`_schemactl` names are reserved), standing for a renamed
/// object between its old and new name while renames are applied all at once.
fn placeholder(i: usize) -> String {
    format!("_schemactl_renaming_{i}")
}

/// Returns the rename hints `(new, old)` that are still to apply, as `(old, new)` pairs, given
/// which names exist now. A hint is pending when its old name exists and its new name is free
/// or is itself the old name of another pending hint (a chain `b <- a, c <- b`, or a swap);
/// it is applied already when its old name is gone and its new name exists. A hint whose
/// names both do not exist, or two hints from the same old name, are errors; so is a hint
/// whose names both exist (`both`) when it is neither pending nor the next link of a chain
/// already made (its old name the new name of another hint): the old object would be
/// dropped and the hint silently ignored. A hint from its own name in another case is not
/// one (SQLite treats both spellings as one name): it renames nothing.
fn pending(
    hints: &[(String, String)],
    exists: impl Fn(&str) -> bool,
    missing: impl Fn(&str, &str) -> Error,
    twice: impl Fn(&str, &str, &str) -> Error,
    both: impl Fn(&str, &str) -> Error,
) -> Result<Vec<(String, String)>> {
    for (i, (to, from)) in hints.iter().enumerate() {
        if let Some((other, _)) = hints[..i]
            .iter()
            .find(|(_, f)| f.eq_ignore_ascii_case(from))
        {
            return Err(twice(to, other, from));
        }
        if !exists(from) && !exists(to) {
            return Err(missing(to, from));
        }
    }
    let mut live: Vec<bool> = hints.iter().map(|(_, from)| exists(from)).collect();
    loop {
        let next: Vec<bool> = hints
            .iter()
            .enumerate()
            .map(|(i, (to, _))| {
                live[i]
                    && (!exists(to)
                        || hints
                            .iter()
                            .enumerate()
                            .any(|(j, (_, f))| j != i && live[j] && f.eq_ignore_ascii_case(to)))
            })
            .collect();
        if next == live {
            break;
        }
        live = next;
    }
    for (i, (to, from)) in hints.iter().enumerate() {
        let chained = hints
            .iter()
            .enumerate()
            .any(|(j, (t, _))| j != i && t.eq_ignore_ascii_case(from));
        if !live[i] && exists(from) && exists(to) && !from.eq_ignore_ascii_case(to) && !chained {
            return Err(both(to, from));
        }
    }
    Ok(hints
        .iter()
        .zip(live)
        .filter(|(_, live)| *live)
        .map(|((to, from), _)| (from.clone(), to.clone()))
        .collect())
}

/// Returns the hints without those that form a cycle (a swap `a <- b, b <- a`, or longer):
/// whether a cycle was applied cannot be read from the names, which are the same before and
/// after, so a caller that knows it was applied (see `ops::sync`) leaves them out.
pub fn without_rename_cycles(renames: &Renames) -> Renames {
    fn in_cycle(hints: &[(&str, &str)], start: usize) -> bool {
        // Follow old -> new: from the hint's new name, the hint whose old name it is, ...
        let mut at = start;
        for _ in 0..hints.len() {
            let to = hints[at].0;
            match hints.iter().position(|(_, f)| f.eq_ignore_ascii_case(to)) {
                Some(next) if next == start => return true,
                Some(next) => at = next,
                None => return false,
            }
        }
        false
    }
    let tables: Vec<(&str, &str)> = renames
        .tables
        .iter()
        .map(|(t, f)| (t.as_str(), f.as_str()))
        .collect();
    let columns = renames
        .columns
        .iter()
        .filter(|(table, to, from)| {
            let hints: Vec<(&str, &str)> = renames
                .columns
                .iter()
                .filter(|(t, _, _)| t.eq_ignore_ascii_case(table))
                .map(|(_, t, f)| (t.as_str(), f.as_str()))
                .collect();
            let me = hints
                .iter()
                .position(|(t, f)| t == to && f == from)
                .unwrap_or(0);
            !in_cycle(&hints, me)
        })
        .cloned()
        .collect();
    Renames {
        tables: renames
            .tables
            .iter()
            .enumerate()
            .filter(|(i, _)| !in_cycle(&tables, *i))
            .map(|(_, h)| h.clone())
            .collect(),
        columns,
        indexes: renames.indexes.clone(),
        places: renames.places.clone(),
    }
}

#[allow(clippy::too_many_arguments)]
fn diff_named<T: Clone + PartialEq>(
    current: &[T],
    desired: &[T],
    name: impl Fn(&T) -> &str,
    changes: &mut Vec<Change>,
    drop: impl Fn(T) -> Change,
    add: impl Fn(T) -> Change,
    modify: impl Fn(T, T) -> Change,
) {
    for c in current {
        match find(desired, name(c), |d| name(d)) {
            None => changes.push(drop(c.clone())),
            Some(d) if d != c => changes.push(modify(c.clone(), d.clone())),
            Some(_) => {}
        }
    }
    for d in desired {
        if find(current, name(d), |c| name(c)).is_none() {
            changes.push(add(d.clone()));
        }
    }
}

/// Renames a table in `schema`, with foreign keys that reference it.
fn rename_table(schema: &mut Schema, from: &str, to: &str) {
    for t in &mut schema.tables {
        if t.name.eq_ignore_ascii_case(from) {
            t.name = to.into();
        }
        for fk in &mut t.foreign_keys {
            if fk.ref_table.eq_ignore_ascii_case(from) {
                fk.ref_table = to.into();
            }
        }
    }
    schema.normalize();
}

/// Renames a column in `schema`: in its table (see [`Table::rename_column`]) and in foreign
/// keys of other tables that reference it.
fn rename_column(schema: &mut Schema, table: &str, from: &str, to: &str) {
    for t in &mut schema.tables {
        for fk in &mut t.foreign_keys {
            if fk.ref_table.eq_ignore_ascii_case(table) {
                for c in &mut fk.ref_columns {
                    if c.eq_ignore_ascii_case(from) {
                        *c = to.into();
                    }
                }
            }
        }
        if t.name.eq_ignore_ascii_case(table) {
            t.rename_column(from, to);
        }
    }
    schema.normalize();
}

/// Lists the changes between two tables of the same name (column renames already applied).
fn table_changes(from: &Table, to: &Table, renames: &[(String, String)]) -> Vec<TableChange> {
    let mut out: Vec<TableChange> = renames
        .iter()
        .map(|(f, t)| TableChange::RenameColumn {
            from: f.clone(),
            to: t.clone(),
        })
        .collect();
    if from.verbatim.is_some() || to.verbatim.is_some() {
        if from != to {
            out.push(TableChange::ReplaceVerbatim);
        }
        index_changes(from, to, &mut out);
        return out;
    }
    for c in &from.columns {
        match to.column(&c.name) {
            None => out.push(TableChange::DropColumn(c.clone())),
            Some(d) if d != c => out.push(TableChange::ModifyColumn {
                from: c.clone(),
                to: d.clone(),
            }),
            Some(_) => {}
        }
    }
    for c in &to.columns {
        if from.column(&c.name).is_none() {
            out.push(TableChange::AddColumn(c.clone()));
        }
    }
    let common = |a: &Table, b: &Table| -> Vec<String> {
        a.columns
            .iter()
            .filter(|c| b.column(&c.name).is_some())
            .map(|c| c.name.to_ascii_lowercase())
            .collect()
    };
    if common(from, to) != common(to, from) {
        out.push(TableChange::ReorderColumns);
    }
    if from.primary_key != to.primary_key {
        out.push(TableChange::ModifyPrimaryKey {
            from: from.primary_key.clone(),
            to: to.primary_key.clone(),
        });
    }
    ordered_changes(
        &from.uniques,
        &to.uniques,
        &mut out,
        TableChange::DropUnique,
        TableChange::AddUnique,
    );
    set_changes(
        &from.checks,
        &to.checks,
        &mut out,
        TableChange::DropCheck,
        TableChange::AddCheck,
    );
    ordered_changes(
        &from.foreign_keys,
        &to.foreign_keys,
        &mut out,
        TableChange::DropForeignKey,
        TableChange::AddForeignKey,
    );
    if from.strict != to.strict {
        out.push(TableChange::SetStrict(to.strict));
    }
    if from.without_rowid != to.without_rowid {
        out.push(TableChange::SetWithoutRowid(to.without_rowid));
    }
    index_changes(from, to, &mut out);
    out
}

/// Like [`set_changes`], for constraints whose declaration order SQLite makes visible
/// (UNIQUE constraints number their automatic indexes by it, foreign keys their ids): those
/// both sides have, in another order, are dropped and added again from the first one out of
/// place, so the rebuilt table declares them in the desired order.
fn ordered_changes<T: Clone + PartialEq>(
    from: &[T],
    to: &[T],
    out: &mut Vec<TableChange>,
    drop: impl Fn(T) -> TableChange,
    add: impl Fn(T) -> TableChange,
) {
    set_changes(from, to, out, &drop, &add);
    let kept_from: Vec<&T> = from.iter().filter(|f| to.contains(f)).collect();
    let kept_to: Vec<&T> = to.iter().filter(|t| from.contains(t)).collect();
    if let Some(first) = kept_from.iter().zip(&kept_to).position(|(a, b)| a != b) {
        for t in kept_to.into_iter().skip(first) {
            out.push(drop(t.clone()));
            out.push(add(t.clone()));
        }
    }
}

fn set_changes<T: Clone + PartialEq>(
    from: &[T],
    to: &[T],
    out: &mut Vec<TableChange>,
    drop: impl Fn(T) -> TableChange,
    add: impl Fn(T) -> TableChange,
) {
    for f in from {
        if !to.contains(f) {
            out.push(drop(f.clone()));
        }
    }
    for t in to {
        if !from.contains(t) {
            out.push(add(t.clone()));
        }
    }
}

fn index_changes(from: &Table, to: &Table, out: &mut Vec<TableChange>) {
    for i in &from.indexes {
        match find(&to.indexes, &i.name, |x| &x.name) {
            None => out.push(TableChange::DropIndex(i.clone())),
            Some(d) if d != i => out.push(TableChange::ModifyIndex {
                from: i.clone(),
                to: d.clone(),
            }),
            Some(_) => {}
        }
    }
    for i in &to.indexes {
        if find(&from.indexes, &i.name, |x| &x.name).is_none() {
            out.push(TableChange::AddIndex(i.clone()));
        }
    }
}
