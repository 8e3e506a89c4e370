//! The table rebuild, for changes ALTER TABLE cannot make.
//!
//! Follows "Making Other Kinds Of Table Schema Changes" in
//! https://www.sqlite.org/lang_altertable.html: create the new table under a temporary name,
//! copy the rows with explicit column lists, drop the old table, rename the new one, and
//! recreate the indexes. Foreign keys are switched off outside the transaction and
//! `foreign_key_check` runs before the commit (see [`crate::apply`] and the plan script); views
//! and triggers that depend on the table are dropped before and recreated after by the plan.

use super::Stash;
use crate::model::{Column, Table};
use crate::render::{create_index, create_table};
use crate::sql::{ident, quote_literal};

/// The temporary name a table is rebuilt under.
pub fn temp_name(table: &str) -> String {
    format!("_schemactl_new_{table}")
}

/// Returns the statements that rebuild table `from` into `to`.
///
/// `renames` maps current column names to desired ones. Every column of `to` that exists in
/// `from` (by name or rename) is copied; other columns take their default. Values are copied
/// as they are and take the new column's affinity on insert, which never loses data, where a
/// CAST would (`CAST('abc' AS INTEGER)` is 0); values a STRICT or narrower type cannot hold are
/// found by the lint before anything runs. Rowids are copied too (into a new INTEGER PRIMARY
/// KEY column as well; see [`rowids`]), and the AUTOINCREMENT counter is carried over. The copy never applies the new
/// table's ON CONFLICT clauses: a row they would replace, skip or rewrite fails the step.
pub fn rebuild(from: &Table, to: &Table, renames: &[(String, String)]) -> Vec<String> {
    rebuild_filled(from, to, renames, None)
}

/// Like [`rebuild`], and fills the stashed columns of `fill` from its stash table while
/// copying, so that a NOT NULL column without a default comes back with its values.
pub fn rebuild_filled(
    from: &Table,
    to: &Table,
    renames: &[(String, String)],
    fill: Option<(&Stash, &str)>,
) -> Vec<String> {
    let tmp = temp_name(&to.name);
    let mut new_table = to.clone();
    new_table.name = tmp.clone().into();
    new_table.indexes.clear();
    if let Some(sql) = &to.verbatim {
        new_table.verbatim = Some(crate::sql::Sql::new(retarget_verbatim(sql.as_str(), &tmp)));
    }
    let mut out = vec![create_table(&new_table)];

    let (mut targets, mut sources) = (Vec::new(), Vec::new());
    // With a fill, the source columns are qualified: the stash is joined in.
    let src = |col: &str| match fill {
        Some(_) => format!("{}.{col}", ident(&from.name)),
        None => col.to_string(),
    };
    // Columns the stash refills come from the stash, not from the table.
    let refilled = |c: &Column| {
        fill.is_some_and(|(stash, _)| {
            stash
                .columns
                .iter()
                .any(|s| s.eq_ignore_ascii_case(&c.name))
        })
    };
    // The rows keep their rowids: copied under a name that reads the rowid on each side,
    // into a new INTEGER PRIMARY KEY column too (a column stash finds its rows by rowid;
    // renumbered rows would receive other rows' values). A stash that refills the new key
    // gives its values back itself.
    if let Rowids::Copied { target, source } = rowids(from, to, renames)
        && !to.column(&target).is_some_and(&refilled)
    {
        // `rowid`, `_rowid_` and `oid` stay bare words: they read the rowid.
        targets.push(match to.column(&target) {
            Some(_) => ident(&target),
            None => target,
        });
        sources.push(src(source));
    }
    for c in to
        .columns
        .iter()
        .filter(|c| c.generated.is_none() && !refilled(c))
    {
        if let Some(source) = source_column(from, c, renames) {
            targets.push(ident(&c.name));
            sources.push(src(&ident(&source.name)));
        }
    }
    let mut source_table = ident(&from.name);
    if let Some((stash, name)) = fill {
        // A row with no stash row (inserted since) gets the column's default.
        let stashed = stash
            .rowid
            .as_ref()
            .map(|_| "s._schemactl_rowid".to_string())
            .or_else(|| stash.key.first().map(|k| format!("s.{}", ident(k))));
        for c in &stash.columns {
            let Some(column) = to.column(c).filter(|c| c.generated.is_none()) else {
                continue;
            };
            if targets.contains(&ident(c)) {
                continue;
            }
            targets.push(ident(c));
            // A narrowed column gets its original value back where the row still holds what
            // it became; a value written since, or a row with no stash row, keeps its own.
            let narrowed = stash
                .narrowed
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(c));
            if let (true, Some(source), Some(id)) =
                (narrowed, source_column(from, column, renames), &stashed)
            {
                let now = src(&ident(&source.name));
                let was = format!("s.{}", ident(&super::stash::narrowed_as(c)));
                sources.push(format!(
                    "CASE WHEN {id} IS NOT NULL AND {now} IS {was} AND typeof({now}) = typeof({was}) THEN s.{} ELSE {now} END",
                    ident(c)
                ));
                continue;
            }
            // The stash gives back the INTEGER PRIMARY KEY: a row it cannot find (inserted
            // since, or lost with --lossy) gets an id above every stashed one, never the id
            // another row had.
            if let (Some(id), true) = (
                &stashed,
                to.rowid_alias().is_some_and(|a| a.eq_ignore_ascii_case(c)),
            ) {
                sources.push(format!(
                    "coalesce(s.{c}, (SELECT coalesce(max({c}), 0) FROM {stash_table}) + row_number() OVER (PARTITION BY {id} IS NULL ORDER BY {t}.rowid))",
                    c = ident(c),
                    stash_table = ident(name),
                    t = ident(&from.name),
                ));
                continue;
            }
            sources.push(match (&column.default, &stashed) {
                (Some(default), Some(id)) => format!(
                    "CASE WHEN {id} IS NULL THEN ({}) ELSE s.{} END",
                    default.as_str(),
                    ident(c)
                ),
                _ => format!("s.{}", ident(c)),
            });
        }
        let t = ident(&from.name);
        let matches = stash.matches(&t);
        source_table = format!("{t} LEFT JOIN {} AS s ON {matches}", ident(name));
    }
    if !targets.is_empty() {
        // OR ABORT overrides any ON CONFLICT clause of the new table
        // (https://www.sqlite.org/lang_conflict.html): a row the new constraints reject fails
        // the step, where REPLACE would delete rows, IGNORE skip them, and a NOT NULL ...
        // ON CONFLICT REPLACE column take its default.
        out.push(format!(
            "INSERT OR ABORT INTO {} ({}) SELECT {} FROM {source_table}",
            ident(&tmp),
            targets.join(", "),
            sources.join(", "),
        ));
    }
    let autoincrement = |t: &Table| t.primary_key.as_ref().is_some_and(|pk| pk.autoincrement);
    if autoincrement(from) && autoincrement(to) {
        // Keep the counter: rows deleted at the top of the range must not have their ids reused.
        out.push(format!(
            "DELETE FROM sqlite_sequence WHERE name = {}",
            quote_literal(&tmp)
        ));
        out.push(format!(
            "INSERT INTO sqlite_sequence (name, seq) SELECT {}, seq FROM sqlite_sequence WHERE name = {}",
            quote_literal(&tmp),
            quote_literal(&from.name)
        ));
    }
    out.push(format!("DROP TABLE {}", ident(&from.name)));
    // Legacy mode keeps the rename from re-checking other views and triggers.
    out.push("PRAGMA legacy_alter_table = ON".to_string());
    out.push(format!(
        "ALTER TABLE {} RENAME TO {}",
        ident(&tmp),
        ident(&to.name)
    ));
    out.push("PRAGMA legacy_alter_table = OFF".to_string());
    for index in &to.indexes {
        out.push(create_index(&to.name, index));
    }
    out
}

/// What a rebuild from `from` into `to` does with the rows' rowids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rowids {
    /// One of the tables has none (WITHOUT ROWID).
    NotBoth,
    /// The copy carries them: `source` reads them in the old table, `target` takes them in
    /// the new one (a name that reads the rowid, or the new INTEGER PRIMARY KEY column).
    Copied {
        target: String,
        source: &'static str,
    },
    /// The old INTEGER PRIMARY KEY is copied into the new one: the rowids go with it.
    Aliased,
    /// The new INTEGER PRIMARY KEY is filled from this column of the old table, whose values
    /// become the rows' rowids.
    FromColumn(String),
    /// No name reads the rowid on one side (columns named `rowid`, `_rowid_` and `oid`):
    /// the new table numbers its rows afresh.
    Renumbered,
}

/// Says what a rebuild from `from` into `to` (columns renamed by `renames`) does with the
/// rows' rowids.
pub fn rowids(from: &Table, to: &Table, renames: &[(String, String)]) -> Rowids {
    if from.without_rowid || to.without_rowid {
        return Rowids::NotBoth;
    }
    let key = to.rowid_alias().and_then(|a| to.column(a));
    let fed = key.and_then(|k| source_column(from, k, renames));
    match fed {
        Some(s) if from.rowid_alias() == Some(s.name.as_str()) => return Rowids::Aliased,
        Some(s) => return Rowids::FromColumn(s.name.to_string()),
        None => {}
    }
    let target = match key {
        Some(k) => Some(k.name.to_string()),
        None => super::stash::rowid_alias(to).map(str::to_string),
    };
    match (target, super::stash::rowid_alias(from)) {
        (Some(target), Some(source)) => Rowids::Copied { target, source },
        _ => Rowids::Renumbered,
    }
}

/// Finds the column of `from` that feeds `to_column`: same name, or renamed into it. A
/// generated column feeds a stored one with its computed values (a generated column that
/// becomes a regular one keeps them).
fn source_column<'a>(
    from: &'a Table,
    to_column: &Column,
    renames: &[(String, String)],
) -> Option<&'a Column> {
    let name = renames
        .iter()
        .find(|(_, t)| t.eq_ignore_ascii_case(&to_column.name))
        .map_or(to_column.name.as_str(), |(f, _)| f.as_str());
    from.column(name)
}

/// Rewrites the name in a verbatim CREATE TABLE statement.
fn retarget_verbatim(sql: &str, new_name: &str) -> String {
    match crate::sql::lex(sql) {
        Ok(tokens) => {
            // CREATE [TEMP] TABLE [IF NOT EXISTS] name: the name is the first word after TABLE
            // (and after IF NOT EXISTS).
            let mut i = tokens
                .iter()
                .position(|t| t.is_kw("TABLE"))
                .map_or(0, |p| p + 1);
            if tokens.get(i).is_some_and(|t| t.is_kw("IF")) {
                i += 3;
            }
            match tokens.get(i) {
                Some(t) => format!("{}{}{}", &sql[..t.start], ident(new_name), &sql[t.end..]),
                None => sql.to_string(),
            }
        }
        Err(_) => sql.to_string(),
    }
}
