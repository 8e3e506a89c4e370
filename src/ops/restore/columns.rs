//! Which column of a backup's table feeds which column of the live table, for a one-table
//! restore: by name, through the renames (of the table and of its columns) that the
//! migrations applied since the backup recorded in `_schemactl_migrations`.

use crate::model::{Schema, Table};
use crate::sql::Tok;

/// A rename a migration made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rename {
    /// `ALTER TABLE from RENAME TO to`.
    Table {
        /// The old name.
        from: String,
        /// The new name.
        to: String,
    },
    /// `ALTER TABLE table RENAME [COLUMN] from TO to`.
    Column {
        /// The table, as it was named then.
        table: String,
        /// The old name.
        from: String,
        /// The new name.
        to: String,
    },
    /// A rebuild's copy of the table into its new one: every (old name, new name) pair at
    /// once, as one parallel rename (`INSERT INTO _schemactl_new_t (a, b) SELECT b, a FROM t`
    /// swaps a and b; read as two renames one after the other, it would not).
    Columns {
        /// The table, as it was named then.
        table: String,
        /// (old name, new name), the columns that changed name.
        pairs: Vec<(String, String)>,
    },
}

/// The prefix of the table a rebuild creates (see `plan/rebuild.rs`).
const REBUILD_PREFIX: &str = "_schemactl_new_";

/// The renames in SQL text, in order: `ALTER TABLE ... RENAME`, and the renames a table
/// rebuild makes by copying a column into another name
/// (`INSERT INTO _schemactl_new_t (b) SELECT a FROM t`).
pub fn renames(sql: &str) -> Vec<Rename> {
    let Ok(tokens) = crate::sql::lex(sql) else {
        return Vec::new();
    };
    let word = |t: Option<&Tok>| t.and_then(|t| t.word()).map(str::to_string);
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if tokens[i].is_kw("INSERT") {
            i = rebuild_copy(&tokens, i, &mut out);
            continue;
        }
        if !(tokens[i].is_kw("ALTER") && tokens.get(i + 1).is_some_and(|t| t.is_kw("TABLE"))) {
            i += 1;
            continue;
        }
        // ALTER TABLE [schema .] name RENAME ...
        let mut j = i + 2;
        if tokens
            .get(j + 1)
            .is_some_and(|t| matches!(t.token, sqlparser::tokenizer::Token::Period))
        {
            j += 2;
        }
        let Some(table) = word(tokens.get(j)) else {
            i += 1;
            continue;
        };
        if !tokens.get(j + 1).is_some_and(|t| t.is_kw("RENAME")) {
            i = j + 1;
            continue;
        }
        let mut k = j + 2;
        if tokens.get(k).is_some_and(|t| t.is_kw("TO")) {
            if let Some(to) = word(tokens.get(k + 1)) {
                out.push(Rename::Table { from: table, to });
            }
            i = k + 2;
            continue;
        }
        if tokens.get(k).is_some_and(|t| t.is_kw("COLUMN")) {
            k += 1;
        }
        if let (Some(from), true, Some(to)) = (
            word(tokens.get(k)),
            tokens.get(k + 1).is_some_and(|t| t.is_kw("TO")),
            word(tokens.get(k + 2)),
        ) {
            out.push(Rename::Column { table, from, to });
        }
        i = k + 3;
    }
    out
}

/// Reads a rebuild's copy at `tokens[i]` (`INSERT INTO _schemactl_new_t (cols) SELECT items
/// FROM s`): a column copied from a column of another name is a rename on `s`, and `s`
/// becoming `t` a table rename. Returns where to go on.
fn rebuild_copy(tokens: &[Tok], i: usize, out: &mut Vec<Rename>) -> usize {
    use sqlparser::tokenizer::Token;
    let word = |k: usize| tokens.get(k).and_then(|t| t.word());
    // INSERT [OR conflict] INTO
    let into = if tokens.get(i + 1).is_some_and(|t| t.is_kw("OR")) {
        i + 3
    } else {
        i + 1
    };
    let (Some(target), true) = (
        word(into + 1).filter(|w| w.starts_with(REBUILD_PREFIX)),
        tokens.get(into).is_some_and(|t| t.is_kw("INTO"))
            && tokens
                .get(into + 2)
                .is_some_and(|t| matches!(t.token, Token::LParen)),
    ) else {
        return i + 1;
    };
    let table = target[REBUILD_PREFIX.len()..].to_string();
    // The column list.
    let mut k = into + 3;
    let mut columns = Vec::new();
    while let Some(t) = tokens.get(k) {
        match &t.token {
            Token::RParen => break,
            Token::Comma => {}
            _ => columns.push(t.word().map(str::to_string)),
        }
        k += 1;
    }
    if !tokens.get(k + 1).is_some_and(|t| t.is_kw("SELECT")) {
        return k;
    }
    // The select list: one item per comma at depth 0, a plain column when it is one word.
    k += 2;
    let mut items: Vec<Option<String>> = Vec::new();
    let mut current: Vec<&Tok> = Vec::new();
    let mut depth = 0usize;
    while let Some(t) = tokens.get(k) {
        match &t.token {
            Token::LParen => depth += 1,
            Token::RParen => depth = depth.saturating_sub(1),
            _ => {}
        }
        let end = depth == 0 && (t.is_kw("FROM") || matches!(t.token, Token::Comma));
        if end {
            // A column, or a column qualified by its table (`t.a`, when a stash is joined in).
            items.push(match current.as_slice() {
                [one] => one.word().map(str::to_string),
                [_, dot, one] if matches!(dot.token, Token::Period) => {
                    one.word().map(str::to_string)
                }
                _ => None,
            });
            current.clear();
            if t.is_kw("FROM") {
                break;
            }
        } else {
            current.push(t);
        }
        k += 1;
    }
    let Some(source) = word(k + 1).map(str::to_string) else {
        return k;
    };
    let pairs: Vec<(String, String)> = columns
        .iter()
        .zip(&items)
        .filter_map(|(column, item)| match (column, item) {
            (Some(to), Some(from)) if !to.eq_ignore_ascii_case(from) => {
                Some((from.clone(), to.clone()))
            }
            _ => None,
        })
        .collect();
    if !pairs.is_empty() {
        out.push(Rename::Columns {
            table: source.clone(),
            pairs,
        });
    }
    if !source.eq_ignore_ascii_case(&table) {
        out.push(Rename::Table {
            from: source,
            to: table,
        });
    }
    k + 2
}

/// How the backup's table maps onto the live one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// The table's name in the backup.
    pub backup_table: String,
    /// (live column, backup column), in the live table's order.
    pub pairs: Vec<(String, String)>,
    /// The backup's columns that feed no live column (dropped since): not restored.
    pub unmapped: Vec<String>,
    /// The live columns no backup column feeds (added since): they take their default.
    pub unfilled: Vec<String>,
}

impl Mapping {
    /// The backup column feeding the live column `live`, if any.
    pub fn source(&self, live: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(l, _)| l.eq_ignore_ascii_case(live))
            .map(|(_, b)| b.as_str())
    }
}

/// Maps the backup's table onto `live`, undoing `renames` (all the renames since the backup,
/// oldest first) to find the names the backup knew. None when the backup has no such table.
pub fn map(live: &Table, backup: &Schema, renames: &[Rename]) -> Option<Mapping> {
    let stored = |t: &Table| -> Vec<String> {
        t.columns
            .iter()
            .filter(|c| c.generated.is_none())
            .map(|c| c.name.to_string())
            .collect()
    };
    let mut table = live.name.to_string();
    let mut names: Vec<(String, String)> =
        stored(live).into_iter().map(|c| (c.clone(), c)).collect();
    for rename in renames.iter().rev() {
        match rename {
            // The rebuild's own table taking the name is no rename of the user's table.
            Rename::Table { from, to }
                if to.eq_ignore_ascii_case(&table) && !from.starts_with(REBUILD_PREFIX) =>
            {
                table = from.clone()
            }
            Rename::Column { table: t, from, to } if t.eq_ignore_ascii_case(&table) => {
                for (_, then) in names.iter_mut().filter(|(_, n)| n.eq_ignore_ascii_case(to)) {
                    *then = from.clone();
                }
            }
            // All at once: each name is looked up among the new names as they were before
            // this copy, never through another pair of the same copy.
            Rename::Columns { table: t, pairs } if t.eq_ignore_ascii_case(&table) => {
                for (_, then) in names.iter_mut() {
                    if let Some((from, _)) =
                        pairs.iter().find(|(_, to)| to.eq_ignore_ascii_case(then))
                    {
                        *then = from.clone();
                    }
                }
            }
            _ => {}
        }
    }
    let backup_table = backup.table(&table)?;
    let backup_columns = stored(backup_table);
    let mut pairs = Vec::new();
    let mut unfilled = Vec::new();
    for (now, then) in names {
        match backup_columns
            .iter()
            .find(|b| b.eq_ignore_ascii_case(&then))
        {
            Some(b) => pairs.push((now, b.clone())),
            None => unfilled.push(now),
        }
    }
    let unmapped = backup_columns
        .into_iter()
        .filter(|b| !pairs.iter().any(|(_, p)| p.eq_ignore_ascii_case(b)))
        .collect();
    Some(Mapping {
        backup_table: backup_table.name.to_string(),
        pairs,
        unmapped,
        unfilled,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renames_are_read_from_migration_sql() {
        let sql = "CREATE INDEX i ON t(a);\nALTER TABLE t RENAME COLUMN a TO b;\nALTER TABLE \"t\" RENAME c TO \"d e\";\n-- ALTER TABLE t RENAME COLUMN x TO y\nALTER TABLE main.t RENAME TO u;\nALTER TABLE u ADD COLUMN z;";
        assert_eq!(
            renames(sql),
            [
                Rename::Column {
                    table: "t".into(),
                    from: "a".into(),
                    to: "b".into()
                },
                Rename::Column {
                    table: "t".into(),
                    from: "c".into(),
                    to: "d e".into()
                },
                Rename::Table {
                    from: "t".into(),
                    to: "u".into()
                },
            ]
        );
    }

    #[test]
    fn a_rebuild_copy_is_read_as_its_renames() {
        let sql = "CREATE TABLE _schemactl_new_u (id INTEGER, value REAL, unit TEXT);\nINSERT OR ABORT INTO _schemactl_new_u (id, value, unit) SELECT id, t.metric_value, upper(u) FROM t;\nDROP TABLE t;\nALTER TABLE _schemactl_new_u RENAME TO u;";
        let all = renames(sql);
        assert_eq!(
            all,
            [
                Rename::Columns {
                    table: "t".into(),
                    pairs: vec![("metric_value".into(), "value".into())],
                },
                Rename::Table {
                    from: "t".into(),
                    to: "u".into()
                },
                Rename::Table {
                    from: "_schemactl_new_u".into(),
                    to: "u".into()
                },
            ]
        );
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (id INTEGER, metric_value REAL, u TEXT)")
            .unwrap();
        let backup = crate::inspect(&conn).unwrap();
        conn.execute_batch(sql).unwrap();
        let live = crate::inspect(&conn).unwrap();
        let m = map(live.table("u").unwrap(), &backup, &all).unwrap();
        assert_eq!(m.backup_table, "t");
        assert_eq!(
            m.pairs,
            [
                ("id".to_string(), "id".to_string()),
                ("value".to_string(), "metric_value".to_string())
            ]
        );
        assert_eq!(m.unfilled, ["unit"], "an expression is not a rename");
        assert_eq!(m.unmapped, ["u"]);
    }

    #[test]
    fn a_renamed_column_of_a_renamed_table_is_mapped_and_the_rest_reported() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, a, gone)")
            .unwrap();
        let backup = crate::inspect(&conn).unwrap();
        conn.execute_batch(
            "ALTER TABLE t RENAME COLUMN a TO b; ALTER TABLE t RENAME TO u; ALTER TABLE u RENAME COLUMN b TO c; ALTER TABLE u DROP COLUMN gone; ALTER TABLE u ADD COLUMN fresh",
        )
        .unwrap();
        let live = crate::inspect(&conn).unwrap();
        let all = renames(
            "ALTER TABLE t RENAME COLUMN a TO b; ALTER TABLE t RENAME TO u; ALTER TABLE u RENAME COLUMN b TO c;",
        );
        let m = map(live.table("u").unwrap(), &backup, &all).unwrap();
        assert_eq!(m.backup_table, "t");
        assert_eq!(
            m.pairs,
            [
                ("id".to_string(), "id".to_string()),
                ("c".to_string(), "a".to_string())
            ]
        );
        assert_eq!(m.unmapped, ["gone"]);
        assert_eq!(m.unfilled, ["fresh"]);
    }
}
