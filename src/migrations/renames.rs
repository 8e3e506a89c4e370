//! Renames a migration's SQL makes: `ALTER TABLE ... RENAME` (a table, a column) and the
//! renames a rebuild makes by copying a column into another name. A restore of one table
//! follows them back to a backup's names; a rollback follows them forward, so that a table or
//! column a reverse renames back is a rename (nothing dropped, nothing stashed). (The row
//! counts of a run follow a table by the row proof's description, `apply::counts`.)

use crate::sql::{Tok, name_at};

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
pub const REBUILD_PREFIX: &str = "_schemactl_new_";

/// The renames in SQL text, in order: `ALTER TABLE ... RENAME`, and the renames a table
/// rebuild makes by copying a column into another name
/// (`INSERT INTO _schemactl_new_t (b) SELECT a FROM t`).
pub fn renames(sql: &str) -> Vec<Rename> {
    let Ok(tokens) = crate::sql::lex(sql) else {
        return Vec::new();
    };
    // A name in each spelling SQLite accepts where one is expected (a word, quoted or not,
    // or a single-quoted string: `ALTER TABLE 'a' RENAME COLUMN 'x' TO "y"`).
    let name = |t: Option<&Tok>| t.and_then(|t| t.name()).map(str::to_string);
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
        let Some((table, j)) = name_at(&tokens, i + 2) else {
            i += 1;
            continue;
        };
        if !tokens.get(j).is_some_and(|t| t.is_kw("RENAME")) {
            i = j;
            continue;
        }
        let mut k = j + 1;
        if tokens.get(k).is_some_and(|t| t.is_kw("TO")) {
            if let Some(to) = name(tokens.get(k + 1)) {
                out.push(Rename::Table { from: table, to });
            }
            i = k + 2;
            continue;
        }
        if tokens.get(k).is_some_and(|t| t.is_kw("COLUMN")) {
            k += 1;
        }
        if let (Some(from), true, Some(to)) = (
            name(tokens.get(k)),
            tokens.get(k + 1).is_some_and(|t| t.is_kw("TO")),
            name(tokens.get(k + 2)),
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
    // INSERT [OR conflict] INTO
    let into = if tokens.get(i + 1).is_some_and(|t| t.is_kw("OR")) {
        i + 3
    } else {
        i + 1
    };
    let Some((target, open)) = name_at(tokens, into + 1)
        .filter(|(w, _)| w.starts_with(REBUILD_PREFIX))
        .filter(|(_, open)| {
            tokens.get(into).is_some_and(|t| t.is_kw("INTO"))
                && tokens
                    .get(*open)
                    .is_some_and(|t| matches!(t.token, Token::LParen))
        })
    else {
        return i + 1;
    };
    let table = target[REBUILD_PREFIX.len()..].to_string();
    // The column list (names: SQLite takes a single-quoted string there as one).
    let mut k = open + 1;
    let mut columns = Vec::new();
    while let Some(t) = tokens.get(k) {
        match &t.token {
            Token::RParen => break,
            Token::Comma => {}
            _ => columns.push(t.name().map(str::to_string)),
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
            // A column, or a column qualified by its table (`t.a`, when a stash is joined in):
            // words only, a single-quoted string in an expression being a value.
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
    let Some((source, after)) = name_at(tokens, k + 1) else {
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
    after
}

/// A table followed through renames: its name before, its name now, and each column's
/// (name before, name now).
type Followed = (String, String, Vec<(String, String)>);

/// The net renames of `renames` (in order) on the tables and columns of `before`, as hints
/// for [`crate::diff::diff`]: each table of `before` that ends under another name, and each
/// of its stored columns that does. A rename whose new name some other object of `before`
/// also ends with (a table dropped and another renamed into its name) is left out: the diff
/// then sees a drop, which is gated and stashed, never a value moved into the wrong place.
pub fn hints(renames: &[Rename], before: &crate::model::Schema) -> crate::dsl::Renames {
    // Each table of `before`: its name now, and each column's (original, now).
    let mut tables: Vec<Followed> = before
        .tables
        .iter()
        .map(|t| {
            let cols = t
                .columns
                .iter()
                .map(|c| (c.name.to_string(), c.name.to_string()))
                .collect();
            (t.name.to_string(), t.name.to_string(), cols)
        })
        .collect();
    for r in renames {
        match r {
            Rename::Table { from, to } if !from.starts_with(REBUILD_PREFIX) => {
                for (_, now, _) in tables
                    .iter_mut()
                    .filter(|(_, n, _)| n.eq_ignore_ascii_case(from))
                {
                    *now = to.clone();
                }
            }
            Rename::Column { table, from, to } => {
                for (_, _, cols) in tables
                    .iter_mut()
                    .filter(|(_, n, _)| n.eq_ignore_ascii_case(table))
                {
                    for (_, now) in cols
                        .iter_mut()
                        .filter(|(_, n)| n.eq_ignore_ascii_case(from))
                    {
                        *now = to.clone();
                    }
                }
            }
            Rename::Columns { table, pairs } => {
                for (_, _, cols) in tables
                    .iter_mut()
                    .filter(|(_, n, _)| n.eq_ignore_ascii_case(table))
                {
                    for (_, now) in cols.iter_mut() {
                        if let Some((_, to)) =
                            pairs.iter().find(|(f, _)| f.eq_ignore_ascii_case(now))
                        {
                            *now = to.clone();
                        }
                    }
                }
            }
            _ => {}
        }
    }
    let unique = |names: Vec<&String>, name: &String| {
        names
            .iter()
            .filter(|n| n.eq_ignore_ascii_case(name))
            .count()
            == 1
    };
    let table_names: Vec<&String> = tables.iter().map(|(_, n, _)| n).collect();
    let mut out = crate::dsl::Renames::default();
    for (was, now, cols) in &tables {
        if !unique(table_names.clone(), now) {
            continue;
        }
        if !was.eq_ignore_ascii_case(now) {
            out.tables.push((now.clone(), was.clone()));
        }
        let col_names: Vec<&String> = cols.iter().map(|(_, n)| n).collect();
        for (c_was, c_now) in cols {
            if !c_was.eq_ignore_ascii_case(c_now) && unique(col_names.clone(), c_now) {
                out.columns
                    .push((now.clone(), c_now.clone(), c_was.clone()));
            }
        }
    }
    out
}
