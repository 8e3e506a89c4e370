//! The steps for one modified table: SQLite's own ALTER TABLE where it is legal, a rebuild
//! otherwise (https://www.sqlite.org/lang_altertable.html). The constraint ALTERs of SQLite
//! 3.53 are planned, and proved, in `constraint.rs`.

use super::constraint::{self, Proofs, Target};
use super::rebuild::{Rowids, rebuild, rebuild_filled};
use super::{STASH_PLACEHOLDER, Stash, Step, StepKind, TableDrops};
use crate::diff::{TableChange, TableDiff};
use crate::model::{Column, Table};
use crate::render::{column_def, create_index};
use crate::sql::{ident, mentions};

/// Returns the steps that turn `d.from` into `d.to`.
/// With a `target` older than SQLite 3.53, every constraint change rebuilds the table.
/// `proofs` says how the constraint ALTERs are proved (see [`Proofs`]).
pub(super) fn table_steps(d: &TableDiff, target: Target, proofs: Proofs) -> Vec<Step> {
    match native_steps(d, target, proofs) {
        Some(steps) => steps,
        None => vec![rebuild_step(d, target)],
    }
}

fn rebuild_step(d: &TableDiff, target: Target) -> Step {
    let inverse: Vec<(String, String)> = d
        .column_renames
        .iter()
        .map(|(f, t)| (t.clone(), f.clone()))
        .collect();
    let dropped: Vec<&str> = d
        .changes
        .iter()
        .filter_map(|c| match c {
            TableChange::DropColumn(c) => Some(c.name.as_str()),
            _ => None,
        })
        .collect();
    // A column narrows when its declared type changes to one that may not hold its values
    // as they are, and also when only the table's STRICT changes what its type does (`ANY`
    // keeps every value as written in a STRICT table, and is NUMERIC in another): each
    // column of the new table with the column it comes from.
    let modified = |name: &str| {
        d.changes.iter().find_map(|c| match c {
            TableChange::ModifyColumn { from, to } if to.name == name => Some(from),
            _ => None,
        })
    };
    let narrowing: Vec<(&Column, &Column)> =
        d.to.columns
            .iter()
            .filter_map(|to| match modified(&to.name) {
                Some(from) => narrows(from, to, d.from.strict, d.to.strict).then_some((from, to)),
                None => {
                    let from = d.from.column(&renamed_from(d, &to.name))?;
                    let stored = from.generated.is_none() && to.generated.is_none();
                    (stored && converts(from, d.from.strict, to, d.to.strict)).then_some((from, to))
                }
            })
            .collect();
    let narrowed: Vec<&str> = narrowing.iter().map(|(_, to)| to.name.as_str()).collect();
    // A stored column that becomes generated loses its values to the computed ones: they are
    // stashed like a dropped column's, so that the rollback brings them back.
    let overwritten: Vec<&str> = d
        .changes
        .iter()
        .filter_map(|c| match c {
            TableChange::ModifyColumn { from, to }
                if from.generated.is_none() && to.generated.is_some() =>
            {
                Some(to.name.as_str())
            }
            _ => None,
        })
        .collect();
    let mut summary = format!(
        "rebuild table {} ({})",
        ident(&d.to.name),
        describe(&d.changes)
    );
    if !dropped.is_empty() {
        summary.push_str(&format!("; drops column {}", list(&dropped)));
    }
    if !narrowed.is_empty() {
        summary.push_str(&format!("; narrows {}", list(&narrowed)));
    }
    if !overwritten.is_empty() {
        summary.push_str(&format!(
            "; replaces the values of {} by generated ones",
            list(&overwritten)
        ));
    }
    // Rows that cannot keep their rowids say so: other tables and applications may hold them.
    match super::rebuild::rowids(&d.from, &d.to, &d.column_renames) {
        Rowids::FromColumn(c) => summary.push_str(&format!(
            "; renumbers the rows: their rowids become the values of {} (a rollback keeps them: rollback --lossy)",
            ident(&c)
        )),
        Rowids::Renumbered => summary.push_str(
            "; renumbers the rows: no name reads their rowids (columns named rowid, _rowid_ and oid)",
        ),
        Rowids::NotBoth | Rowids::Copied { .. } | Rowids::Aliased => {}
    }
    if let Some(why) = constraint::why_rebuild(d, target) {
        summary.push_str(&format!("; a rebuild because {why}"));
    }
    let destructive = !dropped.is_empty() || !narrowed.is_empty() || !overwritten.is_empty();
    // The stash names columns as the current table does (a ModifyColumn names them after
    // the renames).
    let current_name = |c: &str| renamed_from(d, c);
    let stored: Vec<String> = dropped
        .iter()
        .map(|c| c.to_string())
        .chain(overwritten.iter().map(|c| current_name(c)))
        .filter(|c| d.from.column(c).is_some_and(|c| c.generated.is_none()))
        .collect();
    // A narrowed column's original values are stashed too (TEXT to INTEGER turns '007'
    // into 7): named as the current table does, with the stored affinity of the new type. A
    // stash that could not find its rows refuses the plan (see
    // `migrations::check_stashable`): a narrowing is never planned without its stash.
    let narrowed_stored: Vec<(String, &'static str)> = narrowing
        .iter()
        .filter(|(from, _)| from.generated.is_none())
        .map(|(_, to)| {
            (
                current_name(&to.name),
                stored_affinity(to.decl_type.as_str(), d.to.strict),
            )
        })
        .filter(|(c, _)| d.from.column(c).is_some() && !stored.contains(c))
        .collect();
    // The rebuild copies the rowids (into a new INTEGER PRIMARY KEY column too) unless a
    // column of the old table becomes the INTEGER PRIMARY KEY (see `rebuild::rowids`): then
    // the rowids are that column's values.
    let new_rowid = match super::rebuild::rowids(&d.from, &d.to, &d.column_renames) {
        Rowids::FromColumn(c) => Some(c),
        Rowids::NotBoth | Rowids::Copied { .. } | Rowids::Aliased | Rowids::Renumbered => None,
    };
    let key_kept = {
        let to_key: Vec<String> =
            d.to.key_columns()
                .iter()
                .map(|k| renamed_from(d, k))
                .collect();
        let from_key = d.from.key_columns();
        !from_key.is_empty()
            && from_key.len() == to_key.len()
            && from_key
                .iter()
                .zip(&to_key)
                .all(|(a, b)| a.eq_ignore_ascii_case(b))
    };
    // AUTOINCREMENT turned off: the old table's counter goes with it (DROP TABLE deletes its
    // sqlite_sequence row), and the reverse, which turns it on again, would start from the
    // largest rowid and issue again the ids deleted at the top of the range. It is stashed.
    let autoincrement = |t: &Table| t.primary_key.as_ref().is_some_and(|pk| pk.autoincrement);
    let counter_lost = autoincrement(&d.from) && !autoincrement(&d.to);
    if counter_lost {
        summary.push_str("; turns AUTOINCREMENT off (its counter is kept for the rollback)");
    }
    let stash = (!stored.is_empty() || !narrowed_stored.is_empty()).then(|| {
        let mut stash = Stash::rebuild(
            &d.from,
            stored,
            narrowed_stored,
            key_kept,
            new_rowid.as_deref(),
        );
        stash.fingerprint_kept_by(&d.from, &d.to, &d.column_renames);
        stash.reverse = Some(rebuild_filled(
            &d.to,
            &d.from,
            &inverse,
            Some((&stash, STASH_PLACEHOLDER)),
        ));
        stash
    });
    let stash = match stash {
        Some(mut stash) if counter_lost => {
            stash.autoincrement = true;
            Some(stash)
        }
        None if counter_lost => Some(Stash::counter(&d.from)),
        stash => stash,
    };
    Step {
        kind: StepKind::new(true, destructive),
        drops_table: TableDrops::NONE,
        table: Some(d.to.name.to_string()),
        summary,
        forward: rebuild(&d.from, &d.to, &d.column_renames),
        reverse: rebuild(&d.to, &d.from, &inverse),
        stash,
        reverse_summary: None,
    }
}

fn list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| ident(n))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Names the kinds of change, for a step's summary.
fn describe(changes: &[TableChange]) -> String {
    let mut kinds: Vec<String> = changes
        .iter()
        .map(|c| match c {
            TableChange::AddColumn(c) => format!("add column {}", ident(&c.name)),
            TableChange::DropColumn(c) => format!("drop column {}", ident(&c.name)),
            TableChange::RenameColumn { from, to } => {
                format!("rename column {} to {}", ident(from), ident(to))
            }
            TableChange::ModifyColumn { to, .. } => format!("change column {}", ident(&to.name)),
            TableChange::ReorderColumns => "reorder columns".into(),
            TableChange::AddIndex(i) => format!("add index {}", ident(&i.name)),
            TableChange::DropIndex(i) => format!("drop index {}", ident(&i.name)),
            TableChange::ModifyIndex { to, .. } => format!("change index {}", ident(&to.name)),
            TableChange::ModifyPrimaryKey { .. } => "change primary key".into(),
            TableChange::AddUnique(_) => "add unique".into(),
            TableChange::DropUnique(_) => "drop unique".into(),
            TableChange::AddCheck(_) => "add check".into(),
            TableChange::DropCheck(_) => "drop check".into(),
            TableChange::AddForeignKey(_) => "add foreign key".into(),
            TableChange::DropForeignKey(_) => "drop foreign key".into(),
            TableChange::SetStrict(on) => format!("{} STRICT", if *on { "set" } else { "unset" }),
            TableChange::SetWithoutRowid(on) => {
                format!("{} WITHOUT ROWID", if *on { "set" } else { "unset" })
            }
            TableChange::ReplaceVerbatim => "replace definition".into(),
        })
        .collect();
    kinds.dedup();
    kinds.join(", ")
}

/// SQLite's type affinity of a declared type (https://www.sqlite.org/datatype3.html, 3.1).
pub fn affinity(decl_type: &str) -> &'static str {
    let t = decl_type.to_ascii_uppercase();
    if t.contains("INT") {
        "INTEGER"
    } else if t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") {
        "TEXT"
    } else if t.contains("BLOB") || t.trim().is_empty() {
        "BLOB"
    } else if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") {
        "REAL"
    } else {
        "NUMERIC"
    }
}

/// The name the current table gives the column the desired table names `column`.
fn renamed_from(d: &TableDiff, column: &str) -> String {
    d.column_renames
        .iter()
        .find(|(_, to)| to.eq_ignore_ascii_case(column))
        .map_or(column.to_string(), |(from, _)| from.clone())
}

/// How a column stores the values written into it: its declared type's affinity, except
/// `ANY` in a STRICT table, which keeps every value as written ("BLOB", like a typeless
/// column); in a table that is not STRICT, `ANY` is NUMERIC
/// (https://www.sqlite.org/stricttables.html). A STRICT table's other types (INT, INTEGER,
/// REAL, TEXT, BLOB) convert like their affinity, and refuse what does not fit.
pub fn stored_affinity(decl_type: &str, strict: bool) -> &'static str {
    if strict && decl_type.trim().eq_ignore_ascii_case("ANY") {
        "BLOB"
    } else {
        affinity(decl_type)
    }
}

/// Returns true when copying a column's values from `from` (in a table STRICT or not,
/// `from_strict`) into `to` (`to_strict`) may change a value so that copying it back does
/// not give it back: a move to a numeric affinity from another ('007' becomes 7); a move
/// to TEXT affinity from a column that keeps every value as it is written (BLOB affinity:
/// typeless or BLOB; `ANY` in a STRICT table), which turns 7 into '7' for good (no
/// affinity of the old type turns it back). The affinities are the stored ones (see
/// [`stored_affinity`]), so that a table's STRICT going off narrows its `ANY` columns.
pub fn converts(from: &Column, from_strict: bool, to: &Column, to_strict: bool) -> bool {
    let a = stored_affinity(from.decl_type.as_str(), from_strict);
    let b = stored_affinity(to.decl_type.as_str(), to_strict);
    (a != b && matches!(b, "INTEGER" | "REAL" | "NUMERIC")) || (a == "BLOB" && b == "TEXT")
}

/// Returns true when a changed column's new definition may not hold every value the old
/// one could: its values convert (see [`converts`]), or the table becomes STRICT, which
/// refuses what does not fit its type.
pub fn narrows(from: &Column, to: &Column, from_strict: bool, to_strict: bool) -> bool {
    (to_strict && !from_strict) || converts(from, from_strict, to, to_strict)
}

/// The native steps, or None when the changes need a rebuild.
fn native_steps(d: &TableDiff, target: Target, proofs: Proofs) -> Option<Vec<Step>> {
    let mut constraints = constraint::Changes::default();
    let mut drops = Vec::new();
    let mut adds = Vec::new();
    let mut drop_indexes = Vec::new();
    let mut add_indexes = Vec::new();
    for c in &d.changes {
        match c {
            TableChange::RenameColumn { .. } => {}
            TableChange::DropColumn(c) => drops.push(c),
            TableChange::AddColumn(c) => adds.push(c),
            TableChange::DropIndex(i) => drop_indexes.push(i),
            TableChange::AddIndex(i) => add_indexes.push(i),
            TableChange::ModifyIndex { from, to } => {
                drop_indexes.push(from);
                add_indexes.push(to);
            }
            _ if target.constraint_alters() => {
                if !constraints.take(c)? {
                    return None;
                }
            }
            _ => return None,
        }
    }
    // DROP COLUMN refuses to remove a table's last column, even when others are added after.
    if drops.len() >= d.from.columns.len() {
        return None;
    }
    let name = ident(&d.to.name);
    // `state` follows the table through the steps, so each reverse is built from the state
    // the step leaves behind.
    let mut state = d.from.clone();
    // Constraints go by name first, so that a column their expression uses can go next.
    let mut steps = constraints.drop_steps(&mut state, proofs)?;
    for index in drop_indexes {
        // Indexes go before the renames, so they are dropped (and re-created on reverse)
        // under the current column names.
        let index = d
            .from
            .indexes
            .iter()
            .find(|i| i.name == index.name)
            .unwrap_or(index);
        steps.push(Step::safe(
            &d.to.name,
            format!("drop index {}", ident(&index.name)),
            vec![format!("DROP INDEX {}", ident(&index.name))],
            vec![create_index(&d.to.name, index)],
        ));
        state.indexes.retain(|i| i.name != index.name);
    }
    for (from, to) in &super::rename_order(&d.column_renames) {
        steps.push(Step::safe(
            &d.to.name,
            format!("rename column {}.{} to {}", name, ident(from), ident(to)),
            vec![format!(
                "ALTER TABLE {name} RENAME COLUMN {} TO {}",
                ident(from),
                ident(to)
            )],
            vec![format!(
                "ALTER TABLE {name} RENAME COLUMN {} TO {}",
                ident(to),
                ident(from)
            )],
        ));
        state.rename_column(from, to);
    }
    for column in drops {
        if !can_drop_column(&state, &column.name) {
            return None;
        }
        let before = state.clone();
        state.columns.retain(|c| c.name != column.name);
        let was_last = before.columns.last().is_some_and(|c| c.name == column.name);
        let mut stash = Stash::columns(&before, vec![column.name.to_string()]);
        let native_reverse = was_last && can_add_column(&before, column);
        let reverse = if native_reverse {
            vec![format!(
                "ALTER TABLE {name} ADD COLUMN {}",
                column_def(column)
            )]
        } else {
            stash.reverse = Some(rebuild_filled(
                &state,
                &before,
                &[],
                Some((&stash, STASH_PLACEHOLDER)),
            ));
            rebuild(&state, &before, &[])
        };
        steps.push(Step {
            kind: StepKind::Destructive,
            // A reverse that cannot add the column back rebuilds the table.
            drops_table: if native_reverse {
                TableDrops::NONE
            } else {
                TableDrops::REVERSE
            },
            table: Some(d.to.name.to_string()),
            summary: format!("drop column {}.{}", name, ident(&column.name)),
            forward: vec![format!(
                "ALTER TABLE {name} DROP COLUMN {}",
                ident(&column.name)
            )],
            reverse,
            stash: Some(stash),
            reverse_summary: None,
        });
    }
    for column in &adds {
        // A table CHECK the constraint steps add after the columns may use the new column.
        let mut to = d.to.clone();
        to.checks.retain(|c| !constraints.adds(c));
        if !can_add_column(&to, column) {
            return None;
        }
        state.columns.push((*column).clone());
    }
    // Added columns must land where the desired table has them: at the end, in order.
    let names = |t: &Table| {
        t.columns
            .iter()
            .map(|c| c.name.to_ascii_lowercase())
            .collect::<Vec<_>>()
    };
    if names(&state) != names(&d.to) {
        return None;
    }
    for column in adds {
        steps.push(Step::safe(
            &d.to.name,
            format!("add column {}.{}", name, ident(&column.name)),
            vec![format!(
                "ALTER TABLE {name} ADD COLUMN {}",
                column_def(column)
            )],
            vec![format!(
                "ALTER TABLE {name} DROP COLUMN {}",
                ident(&column.name)
            )],
        ));
    }
    steps.extend(constraints.add_steps(&mut state, proofs)?);
    if !constraints.is_empty() {
        // Each constraint step is proved on its own; the table they leave must be the
        // desired one (the new indexes follow).
        let bare = |t: &Table| {
            let mut t = t.clone();
            t.indexes.clear();
            t.normalize();
            t
        };
        if bare(&state) != bare(&d.to) {
            return None;
        }
    }
    for index in add_indexes {
        steps.push(Step::safe(
            &d.to.name,
            format!("create index {}", ident(&index.name)),
            vec![create_index(&d.to.name, index)],
            vec![format!("DROP INDEX {}", ident(&index.name))],
        ));
    }
    Some(steps)
}

/// ALTER TABLE ADD COLUMN's rules: no PRIMARY KEY or UNIQUE, no CURRENT_* or parenthesised
/// default, a non-NULL default with NOT NULL, not STORED, no foreign key (which would need a
/// column-level REFERENCES), and no default in a STRICT table.
fn can_add_column(table: &Table, column: &Column) -> bool {
    let name = column.name.as_str();
    let in_keys = table
        .primary_key
        .iter()
        .flat_map(|pk| pk.columns.iter())
        .chain(table.uniques.iter().flat_map(|u| u.columns.iter()))
        .any(|k| k.is_expr || k.expr.as_str().eq_ignore_ascii_case(name));
    let in_fk = table
        .foreign_keys
        .iter()
        .any(|fk| fk.columns.iter().any(|c| c.eq_ignore_ascii_case(name)));
    let default_ok = column.default.as_ref().is_none_or(|d| {
        let key = d.key();
        !key.starts_with('(')
            && !key.starts_with("current_")
            && !d.as_str().trim_start().starts_with('(')
    });
    let not_null_ok = !column.not_null || column.default.is_some() || column.generated.is_some();
    let stored = column.generated.as_ref().is_some_and(|g| g.stored);
    let in_table_checks = table.checks.iter().any(|c| mentions(c.expr.as_str(), name));
    // In a STRICT table ADD COLUMN also type-checks the default ("type mismatch on DEFAULT"),
    // where CREATE TABLE does not: leave those to a rebuild.
    let strict_default = table.strict && column.default.is_some();
    !strict_default
        && !in_keys
        && !in_fk
        && default_ok
        && not_null_ok
        && !stored
        && !in_table_checks
}

/// ALTER TABLE DROP COLUMN's rules: nothing else in the table uses the column (see
/// [`Table::uses_column`]), and it is not a STORED generated column. (Views and triggers that
/// use it are dropped before by the plan.)
fn can_drop_column(table: &Table, name: &str) -> bool {
    let stored = table
        .column(name)
        .is_some_and(|c| c.generated.as_ref().is_some_and(|g| g.stored));
    table.verbatim.is_none() && !stored && !table.uses_column(name)
}
