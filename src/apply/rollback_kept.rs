//! Objects added by hand: indexes, triggers and views the live database has and its history
//! does not build. A reverse that rebuilds or drops a table would drop them with it, and the
//! schema check would not see it (the replay drops them the same way). So, before a rollback,
//! the live schema is compared with the schema the applied migrations build (their forward
//! SQL as `_schemactl_migrations` keeps it, else their files, replayed from empty): each
//! object the history does not build is dropped before the reverse runs and created again,
//! from its own SQL, after it. One that cannot be created again (its table or a column it
//! reads goes with the rollback) stops the rollback before anything runs, naming it.

use std::collections::BTreeSet;

use rusqlite::Connection;

use super::pipeline::Options;
use crate::error::{Error, Result};
use crate::migrations::{self, Migration, Origin, history};
use crate::model::Schema;
use crate::sql::ident;

/// An object the history does not build, as `sqlite_schema` has it.
#[derive(Debug, Clone)]
pub struct HandMade {
    /// `index`, `trigger` or `view`.
    kind: String,
    name: String,
    table: String,
    sql: String,
}

impl HandMade {
    /// The object's name.
    pub(super) fn name(&self) -> &str {
        &self.name
    }

    /// `index "i" on "t"`, `view "v"`.
    pub(super) fn describe(&self) -> String {
        match self.kind.as_str() {
            "view" => format!("view {}", ident(&self.name)),
            kind => format!("{kind} {} on {}", ident(&self.name), ident(&self.table)),
        }
    }
}

fn q(e: rusqlite::Error) -> Error {
    Error::sqlite("read the objects added by hand", e)
}

/// Returns the schema the applied migrations build, replayed from empty: the forward SQL
/// recorded for each, else its file. None when an applied migration has neither.
pub(super) fn history_schema(
    live: &Connection,
    opts: &Options,
    applied: &[history::Applied],
) -> Result<Option<Schema>> {
    let recorded = history::recorded(live)?;
    let files = migrations::load(&opts.migrations, &opts.rollbacks)?;
    let mut list = Vec::new();
    for a in applied {
        let forward = recorded
            .iter()
            .find(|r| r.version == a.version)
            .map(|r| r.forward.clone())
            .or_else(|| {
                files
                    .iter()
                    .find(|f| f.version == a.version)
                    .map(|f| f.forward.clone())
            });
        let Some(forward) = forward else {
            return Ok(None);
        };
        list.push(Migration::new(
            a.version,
            a.name.clone(),
            forward,
            None,
            Origin::Sync,
        ));
    }
    migrations::expected_schema(&list).map(Some)
}

/// Returns the indexes, triggers and views of `live` that the history does not build, in the
/// order they were created; or, when the history cannot be replayed, why (then
/// [`refuse_untold`] answers for them).
pub fn hand_made(
    live: &Connection,
    opts: &Options,
    applied: &[history::Applied],
) -> Result<std::result::Result<Vec<HandMade>, String>> {
    let built = match history_schema(live, opts, applied) {
        Ok(Some(s)) => s,
        Ok(None) => {
            return Ok(Err(
                "an applied migration has no recorded SQL and no file".into()
            ));
        }
        Err(e) => return Ok(Err(e.to_string())),
    };
    hand_made_beside(live, &built).map(Ok)
}

/// When the history cannot be replayed (`why`), so that objects added by hand cannot be told
/// apart: refuses, without `allow_destructive`, a rollback that would drop an index, trigger
/// or view of `live` that `expected` (the schema it leaves) does not have and that the
/// migrations it undoes (`undone`, their versions) did not create themselves. Such an object
/// may have been added by hand, and the rollback would drop it without a word. With
/// `allow_destructive` (or in a dry run) `say` names them.
pub fn refuse_untold(
    live: &Connection,
    opts: &Options,
    why: &str,
    undone: &[i32],
    expected: &Schema,
    say: &mut dyn FnMut(&str),
) -> Result<()> {
    let recorded = history::recorded(live)?;
    let files = migrations::load(&opts.migrations, &opts.rollbacks).unwrap_or_default();
    let created: BTreeSet<String> = undone
        .iter()
        .filter_map(|v| {
            recorded
                .iter()
                .find(|r| r.version == *v)
                .map(|r| r.forward.as_str())
                .or_else(|| {
                    files
                        .iter()
                        .find(|f| f.version == *v)
                        .map(|f| f.forward.as_str())
                })
        })
        .flat_map(created_by_name)
        .collect();
    let lost: Vec<String> = hand_made_beside(live, expected)?
        .into_iter()
        .filter(|h| !created.contains(&h.name.to_lowercase()))
        .map(|h| h.describe())
        .collect();
    if lost.is_empty() {
        return Ok(());
    }
    if !opts.allow_destructive && !opts.dry_run {
        return Err(crate::error::GateError::RollbackDropsUntold {
            database: opts.database.clone(),
            why: why.to_string(),
            objects: lost,
        }
        .into());
    }
    say(&format!(
        "warning: the applied migrations cannot be replayed ({why}), so what was added by hand cannot be told apart: the rollback drops {}{}",
        lost.join(", "),
        if opts.dry_run {
            " (refused without --allow-destructive)"
        } else {
            " (--allow-destructive; the pre-rollback backup keeps them)"
        }
    ));
    Ok(())
}

/// The lowercase names of the indexes, triggers and views that the CREATE statements of
/// `sql` create (`CREATE [UNIQUE|TEMP] INDEX|TRIGGER|VIEW [IF NOT EXISTS] [schema.]name`).
/// Text that does not lex creates nothing by name.
fn created_by_name(sql: &str) -> Vec<String> {
    let Ok(tokens) = crate::sql::lex(sql) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        if !t.is_kw("CREATE") {
            continue;
        }
        let mut at = i + 1;
        while tokens
            .get(at)
            .is_some_and(|n| n.is_kw("UNIQUE") || n.is_kw("TEMP") || n.is_kw("TEMPORARY"))
        {
            at += 1;
        }
        if !tokens
            .get(at)
            .is_some_and(|n| n.is_kw("INDEX") || n.is_kw("TRIGGER") || n.is_kw("VIEW"))
        {
            continue;
        }
        // `[IF NOT EXISTS] [schema.]name`, the name in any spelling SQLite reads as one.
        if let Some((name, _)) = crate::sql::object_at(&tokens, at + 1) {
            out.push(name.to_lowercase());
        }
    }
    out
}

/// Returns the indexes, triggers and views of `live` that `built` (the schema its history
/// builds) does not have, in the order they were created.
pub(super) fn hand_made_beside(live: &Connection, built: &Schema) -> Result<Vec<HandMade>> {
    let known: BTreeSet<String> = built
        .tables
        .iter()
        .flat_map(|t| t.indexes.iter().map(|i| i.name.to_string()))
        .chain(built.views.iter().map(|v| v.name.to_string()))
        .chain(built.triggers.iter().map(|t| t.name.to_string()))
        .map(|n| n.to_lowercase())
        .collect();
    let mut stmt = live
        .prepare(
            "SELECT type, name, tbl_name, sql FROM sqlite_schema
             WHERE type IN ('index', 'trigger', 'view') AND sql IS NOT NULL
               AND name NOT LIKE '\\_schemactl\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
             ORDER BY rowid",
        )
        .map_err(q)?;
    let rows = stmt
        .query_map([], |r| {
            Ok(HandMade {
                kind: r.get(0)?,
                name: r.get(1)?,
                table: r.get(2)?,
                sql: r.get(3)?,
            })
        })
        .map_err(q)?;
    let mut out = Vec::new();
    for row in rows {
        let row = row.map_err(q)?;
        if !known.contains(&row.name.to_lowercase()) {
            out.push(row);
        }
    }
    Ok(out)
}

/// Returns `undo` with `kept` dropped before the first reverse and created again after the
/// last, and the schema that leaves: `expected` (the reverse replayed with the objects
/// dropped) with them created again. Refuses, naming them, the objects that cannot be.
pub fn keep(
    kept: &[HandMade],
    mut undo: Vec<Migration>,
    replay: impl Fn(&[Migration]) -> Result<Schema>,
) -> Result<(Vec<Migration>, Schema)> {
    if kept.is_empty() || undo.is_empty() {
        let expected = replay(&undo)?;
        return Ok((undo, expected));
    }
    let drops: Vec<String> = kept
        .iter()
        .rev()
        .map(|h| {
            format!(
                "DROP {} IF EXISTS {};\n",
                h.kind.to_uppercase(),
                ident(&h.name)
            )
        })
        .collect();
    let first = &undo[0];
    undo[0] = Migration::new(
        first.version,
        first.name.clone(),
        format!("{}{}", drops.concat(), first.forward),
        first.reverse.clone(),
        first.origin.clone(),
    );
    let without = replay(&undo)?;
    let conn = crate::normal::create_in_memory(&without).map_err(|e| Error::Materialise {
        object: e.object.to_string(),
        message: e.message,
    })?;
    let mut lost = Vec::new();
    // SQLite does not check a trigger's body or a view's columns at CREATE; renaming a table
    // re-reads every trigger and view of the schema and fails on one that reads what is gone.
    let probe = |conn: &Connection| {
        conn.execute_batch(
            "CREATE TABLE _schemactl_probe (x); ALTER TABLE _schemactl_probe RENAME TO _schemactl_probe_2; DROP TABLE _schemactl_probe_2;",
        )
    };
    let checkable = probe(&conn).is_ok();
    // The objects' text keeps to this database (see db::confined).
    crate::db::confined::confine(&conn);
    for h in kept {
        let made = conn.execute_batch(&h.sql).and_then(|()| match checkable {
            true => probe(&conn).inspect_err(|_| {
                let _ = conn.execute_batch(&format!(
                    "DROP {} IF EXISTS {}",
                    h.kind.to_uppercase(),
                    ident(&h.name)
                ));
            }),
            false => Ok(()),
        });
        if let Err(e) = made {
            lost.push(format!(
                "{} ({})",
                h.describe(),
                crate::normal::sqlite_message(&e)
            ));
        }
    }
    if !lost.is_empty() {
        return Err(Error::RollbackLosesHandMade { objects: lost });
    }
    let expected = crate::inspect(&conn)?;
    let last = undo.len() - 1;
    let l = &undo[last];
    let creates: String = kept.iter().map(|h| format!("\n{};", h.sql)).collect();
    undo[last] = Migration::new(
        l.version,
        l.name.clone(),
        format!("{}\n;{creates}", l.forward),
        l.reverse.clone(),
        l.origin.clone(),
    );
    Ok((undo, expected))
}

#[cfg(test)]
mod tests {
    use super::created_by_name;

    #[test]
    fn the_names_created_are_read_from_every_create_form() {
        let sql = "CREATE UNIQUE INDEX IF NOT EXISTS main.\"a b\" ON t (v);
            create temp trigger [T2] after insert on t begin select 1; end;
            CREATE VIEW v3 AS SELECT 'CREATE INDEX no ON t (v)';
            CREATE TABLE t4 (x); -- CREATE INDEX no2 ON t (v)
            DROP INDEX gone;
            CREATE INDEX 'ix 5' ON 't' (v);
            CREATE VIEW IF NOT EXISTS main.'V6' AS SELECT 1;
            CREATE TRIGGER `t 7` AFTER DELETE ON t BEGIN SELECT 1; END;";
        assert_eq!(
            created_by_name(sql),
            vec!["a b", "t2", "v3", "ix 5", "v6", "t 7"]
        );
    }
}
