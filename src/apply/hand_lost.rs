//! Apply's gate on what was added by hand since the pending migrations were written: a
//! column, index, trigger or view the live database has and its applied history does not
//! build. A migration written against the history (a `plan --write` rebuild copies the
//! columns it knows) would drop it without a word, and every later check would agree (the
//! expected schema is replayed from the live one, so it loses the object the same way). So,
//! before anything runs, the live schema is compared with the one the history builds (as
//! [`super::rollback_kept`] does for a rollback), the pending migrations are replayed on the
//! live schema, and each object added by hand that the replay no longer has is named, a
//! column with the values it holds. Without `--allow-destructive` the apply is refused.

use rusqlite::Connection;

use super::pipeline::Options;
use crate::error::{Error, Result};
use crate::migrations::{self, Migration, history};
use crate::model::Schema;
use crate::sql::{ident, quote_ident};

/// Returns what the pending migrations would drop of what was added by hand to `live`, one
/// line each (`column "t"."c" (2 values)`, `index "i" on "t"`). `say` is told when the
/// history or the migrations cannot be replayed (then nothing can be told apart).
pub(super) fn lost(
    live: &Connection,
    opts: &Options,
    pending: &[Migration],
    now: &Schema,
    say: &mut dyn FnMut(&str),
) -> Result<Vec<String>> {
    // Sync's migrations are planned on the live schema itself (what they drop is in their
    // plan, behind sync's own gate) and run on that schema only (`Options::planned_on`).
    if !opts.extra.is_empty() {
        return Ok(Vec::new());
    }
    let applied = history::applied(live)?;
    if applied.is_empty() || pending.is_empty() {
        return Ok(Vec::new());
    }
    let built = match super::rollback_kept::history_schema(live, opts, &applied) {
        Ok(Some(s)) => s,
        Ok(None) | Err(_) => {
            say(
                "warning: the applied migrations cannot be replayed, so columns and objects added by hand cannot be told apart; a migration that rebuilds a table drops what was added to it by hand",
            );
            return Ok(Vec::new());
        }
    };
    // Only what the history does not build can be lost by hand: without any, nothing to
    // replay.
    let hand_columns = now.tables.iter().any(|t| {
        built
            .table(&t.name)
            .is_some_and(|k| t.columns.iter().any(|c| k.column(&c.name).is_none()))
    });
    let objects = super::rollback_kept::hand_made_beside(live, &built)?;
    if !hand_columns && objects.is_empty() {
        return Ok(Vec::new());
    }
    let after = match migrations::expected_after(now, pending) {
        Ok(s) => s,
        Err(e) => {
            say(&format!(
                "warning: the pending migrations cannot be replayed on the live schema ({e}), so what they drop of what was added by hand cannot be named"
            ));
            return Ok(Vec::new());
        }
    };
    let mut out = Vec::new();
    for table in &now.tables {
        let Some(known) = built.table(&table.name) else {
            continue;
        };
        // A table the migrations drop or rename: the destructive gate counts a drop's rows,
        // and a rename keeps every column.
        let Some(kept) = after.table(&table.name) else {
            continue;
        };
        for column in &table.columns {
            if known.column(&column.name).is_some() || kept.column(&column.name).is_some() {
                continue;
            }
            let values: i64 = live
                .query_row(
                    &format!(
                        "SELECT count({}) FROM {}",
                        quote_ident(&column.name),
                        crate::sql::main_table(&table.name)
                    ),
                    [],
                    |r| r.get(0),
                )
                .map_err(|e| {
                    Error::sqlite(
                        format!(
                            "count the values of {}.{}",
                            ident(&table.name),
                            ident(&column.name)
                        ),
                        e,
                    )
                })?;
            out.push(format!(
                "column {}.{} ({values} value{})",
                ident(&table.name),
                ident(&column.name),
                if values == 1 { "" } else { "s" }
            ));
        }
    }
    for object in objects {
        if !has_object(&after, object.name()) {
            out.push(object.describe());
        }
    }
    Ok(out)
}

/// True when `schema` has an index, trigger or view named `name` (ignoring ASCII case).
fn has_object(schema: &Schema, name: &str) -> bool {
    schema
        .tables
        .iter()
        .flat_map(|t| t.indexes.iter().map(|i| &i.name))
        .chain(schema.views.iter().map(|v| &v.name))
        .chain(schema.triggers.iter().map(|t| &t.name))
        .any(|n| n.eq_ignore_ascii_case(name))
}
