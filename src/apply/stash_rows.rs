//! Before a rollback puts a migration's column stash back: does the stash still find its
//! rows, and what fills the rows it has no values for?
//!
//! A column stash (`_schemactl_stash_{version}_{step}` with its `_id` index) pairs each stashed
//! row with its row by the identity the index names: `_schemactl_rowid` (the table's rowid
//! under the first alias no column shadows) and the primary key. Its table is the one the
//! migration's `CREATE TABLE ... AS SELECT ... FROM table` read, as `_schemactl_migrations`
//! keeps it. When none of the stashed rows is found while the table has rows (a one-table
//! restore renumbered the rowids), the values cannot go back: the rollback refuses before
//! anything runs, unless told to go on lossy. A NOT NULL column without a default that comes
//! back and has rows without a stashed value (the stash was dropped, or lost its rows) is
//! refused too, unless `--fill table.column=VALUE` gives the value, which is bound as a
//! parameter into a temporary table (`temp._schemactl_fill`) the rollback's SQL reads.

use rusqlite::Connection;

use crate::error::{Error, Result};
use crate::model::Schema;
use crate::plan::{FINGERPRINT, fingerprint_sql};
use crate::sql::{ident, main_table, quote_literal};

/// The temporary table the fill values are bound into, one row per `--fill`.
pub const FILL_TABLE: &str =
    "CREATE TEMP TABLE IF NOT EXISTS _schemactl_fill (n INTEGER PRIMARY KEY, value)";

/// What to do when a stash cannot give a row its values back.
#[derive(Debug, Clone, Default)]
pub struct Lossy {
    /// Go on when a stash finds none of its rows (`--lossy`).
    pub allowed: bool,
    /// `--fill table.column=VALUE`: the value of a NOT NULL column coming back in rows with
    /// nothing stashed.
    pub fills: Vec<Fill>,
}

/// One `--fill table.column=VALUE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fill {
    /// The table.
    pub table: String,
    /// The column.
    pub column: String,
    /// The value, bound as a parameter.
    pub value: String,
}

impl Fill {
    /// Reads `table.column=VALUE`: the table ends at the first `.` and the column at the
    /// first `=`, unless written in double quotes (`"my.tab"."v=1"=VALUE`, `""` for a quote
    /// inside); the value is the rest, as is.
    pub fn parse(text: &str) -> Result<Fill> {
        let bad = |message: &str| Error::InvalidArgument {
            what: format!("--fill {text}"),
            message: message.to_string(),
        };
        let expected = "expected table.column=VALUE (double-quote a name that holds . or =)";
        let (table, rest) = name_until(text, '.').ok_or_else(|| bad(expected))?;
        let (column, value) = name_until(rest, '=').ok_or_else(|| bad(expected))?;
        if table.is_empty() || column.is_empty() {
            return Err(bad(expected));
        }
        Ok(Fill {
            table,
            column,
            value: value.to_string(),
        })
    }
}

/// Reads a name up to `end` (double-quoted, or bare up to the first `end`) and returns it
/// with the text after `end`.
fn name_until(text: &str, end: char) -> Option<(String, &str)> {
    let Some(quoted) = text.strip_prefix('"') else {
        let (name, rest) = text.split_once(end)?;
        return Some((name.to_string(), rest));
    };
    let mut name = String::new();
    let mut chars = quoted.char_indices();
    while let Some((i, c)) = chars.next() {
        if c != '"' {
            name.push(c);
            continue;
        }
        if quoted[i + 1..].starts_with('"') {
            name.push('"');
            chars.next();
            continue;
        }
        return quoted[i + 1..].strip_prefix(end).map(|rest| (name, rest));
    }
    None
}

/// A migration's column stash, as the live database holds it.
#[derive(Debug, Clone)]
struct ColumnStash {
    name: String,
    table: String,
    /// The rowid alias to read `_schemactl_rowid` against, when the identity has it.
    rowid: Option<String>,
    /// Key columns of the identity: the stash's column, and the table's it pairs with (a
    /// narrowed key `k` is found by `_schemactl_as_k`, the value it became).
    key: Vec<(String, String)>,
    /// The stashed columns.
    columns: Vec<String>,
    /// The columns of its fingerprint, when it finds rows by rowid alone.
    fingerprint: Vec<String>,
}

fn q(e: rusqlite::Error) -> Error {
    Error::sqlite("read the stashes", e)
}

fn strings(conn: &Connection, sql: &str, arg: &str) -> Result<Vec<String>> {
    conn.prepare(sql)
        .map_err(q)?
        .query_map([arg], |r| r.get(0))
        .map_err(q)?
        .collect::<rusqlite::Result<_>>()
        .map_err(q)
}

fn count(conn: &Connection, sql: &str) -> Result<i64> {
    conn.query_row(sql, [], |r| r.get(0)).map_err(q)
}

/// The table a stash was taken from: the name after the last FROM of the migration's
/// `CREATE TABLE {name} AS SELECT ... FROM {table}` (in any spelling SQLite reads as a name).
fn stash_source(forward: &str, name: &str) -> Option<String> {
    crate::migrations::statements::texts(forward)
        .into_iter()
        .find_map(|text| {
            let tokens = crate::sql::lex(text).ok()?;
            let (stash, at) = crate::sql::object_at(&tokens, 2)?;
            let creates = tokens.first().is_some_and(|t| t.is_kw("CREATE"))
                && tokens.get(1).is_some_and(|t| t.is_kw("TABLE"))
                && stash == name
                && tokens.get(at).is_some_and(|t| t.is_kw("AS"))
                && tokens.get(at + 1).is_some_and(|t| t.is_kw("SELECT"));
            if !creates {
                return None;
            }
            let from = tokens.iter().rposition(|t| t.is_kw("FROM"))?;
            crate::sql::name_at(&tokens, from + 1).map(|(table, _)| table)
        })
}

/// The column stashes of `version` the live database holds, with their tables.
fn column_stashes(conn: &Connection, version: i32, forward: &str) -> Result<Vec<ColumnStash>> {
    let prefix = format!("{}{version}_", crate::plan::STASH_PREFIX);
    let names = strings(
        conn,
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND substr(name, 1, length(?1)) = ?1 ORDER BY name",
        &prefix,
    )?;
    let mut out = Vec::new();
    for name in names {
        // A migration's step stash: digits after the prefix (a rollback's is `r{n}`).
        if !name[prefix.len()..].bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let identity = strings(
            conn,
            "SELECT name FROM pragma_index_info(?1, 'main') ORDER BY seqno",
            &format!("{name}_id"),
        )?;
        let Some(table) = stash_source(forward, &name) else {
            continue;
        };
        if identity.is_empty() || !crate::db::table_exists(conn, &table).map_err(q)? {
            continue;
        }
        let table_columns = strings(
            conn,
            "SELECT name FROM pragma_table_xinfo(?1, 'main')",
            &table,
        )?;
        let has = |c: &str| table_columns.iter().any(|t| t.eq_ignore_ascii_case(c));
        let rowid = if identity.iter().any(|c| c == "_schemactl_rowid") {
            match ["rowid", "_rowid_", "oid"].into_iter().find(|a| !has(a)) {
                Some(a) => Some(a.to_string()),
                None => continue,
            }
        } else {
            None
        };
        let key: Vec<(String, String)> = identity
            .iter()
            .filter(|c| *c != "_schemactl_rowid")
            .map(|c| {
                let column = c.strip_prefix("_schemactl_as_").unwrap_or(c);
                (c.clone(), column.to_string())
            })
            .collect();
        if !key.iter().all(|(_, k)| has(k)) {
            continue;
        }
        let stash_columns = strings(
            conn,
            "SELECT name FROM pragma_table_info(?1, 'main')",
            &name,
        )?;
        // The fingerprint's columns, as its first row names them (see Stash::fingerprint).
        let fingerprint = if stash_columns.iter().any(|c| c == FINGERPRINT) {
            strings(
                conn,
                &format!(
                    "SELECT key FROM json_each((SELECT {FINGERPRINT} FROM {} LIMIT 1)) WHERE ?1 IS NOT NULL",
                    main_table(&name)
                ),
                &name,
            )?
        } else {
            Vec::new()
        };
        let columns = stash_columns
            .into_iter()
            .filter(|c| !identity.contains(c) && !c.starts_with("_schemactl_"))
            .collect();
        out.push(ColumnStash {
            name,
            table,
            rowid,
            key,
            columns,
            fingerprint,
        });
    }
    Ok(out)
}

impl ColumnStash {
    /// The condition pairing stash row `s` with row `t` of the table.
    fn matches(&self) -> String {
        self.rowid
            .iter()
            .map(|r| format!("s._schemactl_rowid = t.{r}"))
            .chain(
                self.key
                    .iter()
                    .map(|(s, k)| format!("s.{} IS t.{}", ident(s), ident(k))),
            )
            .chain((!self.fingerprint.is_empty()).then(|| {
                format!(
                    "s.{FINGERPRINT} IS {}",
                    fingerprint_sql(&self.fingerprint, Some("t"))
                )
            }))
            .collect::<Vec<_>>()
            .join(" AND ")
    }

    /// The statement that gives every row of the table without a stash row one, holding
    /// each stashed column's fill value (`temp._schemactl_fill` row `n`), else the column's
    /// default, else NULL: the rollback then fills those rows with it.
    fn fill_sql(&self, values: &[(String, String)]) -> String {
        let identity: Vec<String> = self
            .rowid
            .iter()
            .map(|_| "_schemactl_rowid".to_string())
            .chain(self.key.iter().map(|(s, _)| ident(s)))
            .chain(self.columns.iter().map(|c| ident(c)))
            .collect();
        let sources: Vec<String> = self
            .rowid
            .iter()
            .map(|r| format!("t.{r}"))
            .chain(self.key.iter().map(|(_, k)| format!("t.{}", ident(k))))
            .chain(self.columns.iter().map(|c| {
                values
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(c))
                    .map_or("NULL".to_string(), |(_, v)| v.clone())
            }))
            .collect();
        format!(
            "INSERT INTO {} ({}) SELECT {} FROM {} AS t WHERE NOT EXISTS (SELECT 1 FROM {} AS s WHERE {})",
            main_table(&self.name),
            identity.join(", "),
            sources.join(", "),
            main_table(&self.table),
            main_table(&self.name),
            self.matches()
        )
    }
}

/// True when the forget trigger of stash `name` (see [`crate::plan::Stash::forget_sql`]) is
/// on `table`: every row deleted since the migration took its stash row with it.
fn forget_trigger_on(conn: &Connection, name: &str, table: &str) -> Result<bool> {
    conn.query_row(
        "SELECT count(*) > 0 FROM sqlite_schema WHERE type = 'trigger' AND name = ?1 AND tbl_name = ?2 COLLATE NOCASE",
        [format!("{name}_forget"), table.to_string()],
        |r| r.get(0),
    )
    .map_err(q)
}

/// What the checks found, for the rollback to run.
#[derive(Debug, Default)]
pub struct Checked {
    /// Per undone version, the statements that give rows without a stash row their fill
    /// values (run just before that version's reverse).
    pub fills: Vec<(i32, String)>,
    /// The fill values, to bind into `temp._schemactl_fill` (row n = index + 1).
    pub values: Vec<String>,
}

/// Checks the column stashes of `versions` (each with its recorded forward SQL) against the
/// live rows and `expected` (the schema the rollback leaves). Refuses a stash that finds none
/// of its rows unless `lossy.allowed`, and a NOT NULL column without a default that would be
/// left empty in some row unless a fill names it; says what is lost. `dropped`: the versions
/// whose stash was dropped.
pub fn check(
    conn: &Connection,
    versions: &[(i32, String)],
    current: &Schema,
    expected: &Schema,
    lossy: &Lossy,
    dropped: &[i32],
    say: &mut dyn FnMut(&str),
) -> Result<Checked> {
    let mut out = Checked::default();
    let mut used = vec![false; lossy.fills.len()];
    for (version, forward) in versions {
        for stash in column_stashes(conn, *version, forward)? {
            let t = ident(&stash.table);
            // The tables as SQL reads them: main's, never a TEMP table of the same name.
            let (tq, sq) = (main_table(&stash.table), main_table(&stash.name));
            let stashed = count(conn, &format!("SELECT count(*) FROM {sq}"))?;
            let rows = count(conn, &format!("SELECT count(*) FROM {tq}"))?;
            let found = count(
                conn,
                &format!(
                    "SELECT count(*) FROM {sq} AS s WHERE EXISTS (SELECT 1 FROM {tq} AS t WHERE {})",
                    stash.matches()
                ),
            )?;
            if let (false, Some(r)) = (stash.fingerprint.is_empty(), &stash.rowid) {
                let moved = count(
                    conn,
                    &format!(
                        "SELECT count(*) FROM {sq} AS s WHERE EXISTS (SELECT 1 FROM {tq} AS t WHERE s._schemactl_rowid = t.{r}) AND NOT EXISTS (SELECT 1 FROM {tq} AS t WHERE {})",
                        stash.matches()
                    ),
                )?;
                if moved > 0 && !lossy.allowed {
                    return Err(crate::error::RollbackError::StashMoved {
                        stash: stash.name.clone(),
                        table: stash.table.clone(),
                        rows: moved,
                    }
                    .into());
                }
                if moved > 0 {
                    say(&format!(
                        "warning: --lossy: stash {} finds {moved} row(s) of table {t} changed since the migration: their values do not come back",
                        stash.name
                    ));
                }
            }
            if stashed > 0 && rows > 0 && found == 0 {
                if !lossy.allowed {
                    return Err(crate::error::RollbackError::StashLost {
                        stash: stash.name.clone(),
                        table: stash.table.clone(),
                        stashed,
                    }
                    .into());
                }
                say(&format!(
                    "warning: --lossy: stash {} finds none of its {stashed} row(s) in table {}: their values do not come back",
                    stash.name, t
                ));
            } else if found < stashed && stash.rowid.is_some() && stash.key.is_empty() {
                // Keyed by rowid alone: VACUUM renumbers such a table. The forget trigger
                // removes a deleted row's stash row, so while it is on the table a stash row
                // without its row was not deleted: it was renumbered. Without the trigger (a
                // later rebuild dropped it) deleted and renumbered cannot be told apart.
                let unmatched = stashed - found;
                let recorded = forget_trigger_on(conn, &stash.name, &stash.table)?;
                if !lossy.allowed {
                    return Err(crate::error::RollbackError::StashRenumbered {
                        stash: stash.name.clone(),
                        table: stash.table.clone(),
                        rows: unmatched,
                        why: if recorded {
                            "they were not deleted (its trigger records deletions): their rows were renumbered (VACUUM renumbers a table without an INTEGER PRIMARY KEY)"
                        } else {
                            "deleted or renumbered (VACUUM renumbers a table without an INTEGER PRIMARY KEY), which cannot be told apart since a rebuild dropped the stash's trigger"
                        },
                    }
                    .into());
                }
                say(&format!(
                    "warning: --lossy: stash {} finds no row for {unmatched} of its row(s) of table {t} (renumbered or deleted since the migration): their values do not come back, nor do those of rows whose kept columns another stashed row shares (after a renumbering they may sit on each other's rowids)",
                    stash.name
                ));
                if !stash.fingerprint.is_empty() {
                    out.fills.push((
                        *version,
                        format!(
                            "DELETE FROM {sq} WHERE {FINGERPRINT} IN (SELECT {FINGERPRINT} FROM {sq} GROUP BY {FINGERPRINT} HAVING count(*) > 1)"
                        ),
                    ));
                }
            } else if found < stashed {
                say(&format!(
                    "{} stashed row(s) of table {t} find no row (deleted since): their values are not put back",
                    stashed - found
                ));
            }
            let unfilled = count(
                conn,
                &format!(
                    "SELECT count(*) FROM {tq} AS t WHERE NOT EXISTS (SELECT 1 FROM {sq} AS s WHERE {})",
                    stash.matches()
                ),
            )?;
            let Some(after) = expected.tables.iter().find(|x| x.name == stash.table) else {
                continue;
            };
            let now = current.tables.iter().find(|x| x.name == stash.table);
            let mut values = Vec::new();
            for c in &stash.columns {
                let Some(col) = after
                    .column(c)
                    .filter(|_| now.is_some_and(|n| n.column(c).is_none()) && unfilled > 0)
                else {
                    continue;
                };
                let fill = lossy.fills.iter().position(|f| {
                    f.table.eq_ignore_ascii_case(&stash.table) && f.column.eq_ignore_ascii_case(c)
                });
                match (fill, &col.default) {
                    (Some(i), _) => {
                        used[i] = true;
                        out.values.push(lossy.fills[i].value.clone());
                        values.push((
                            c.clone(),
                            format!(
                                "(SELECT value FROM temp._schemactl_fill WHERE n = {})",
                                out.values.len()
                            ),
                        ));
                    }
                    (None, Some(d)) => values.push((c.clone(), format!("({})", d.as_str()))),
                    (None, None) if col.not_null && col.generated.is_none() => {
                        return Err(Error::Unfillable {
                            table: stash.table.clone(),
                            column: c.clone(),
                            rows: unfilled,
                            cause: if dropped.contains(version) {
                                "its stash was dropped"
                            } else {
                                "those rows have no stashed value (inserted since the migration, or the stash lost them)"
                            },
                        });
                    }
                    (None, None) => {}
                }
            }
            if values
                .iter()
                .any(|(_, v)| v.contains("temp._schemactl_fill"))
            {
                out.fills.push((*version, stash.fill_sql(&values)));
            }
        }
    }
    if let Some(i) = used.iter().position(|u| !u) {
        let f = &lossy.fills[i];
        return Err(Error::InvalidArgument {
            what: format!("--fill {}.{}", f.table, f.column),
            message: format!(
                "the rollback brings back no column {}.{} with rows to fill (a fill is for a column whose stash was dropped or lost its rows)",
                quote_literal(&f.table),
                quote_literal(&f.column)
            ),
        });
    }
    Ok(out)
}

/// Binds the fill values into `temp._schemactl_fill` on `conn` (the rehearsal's copy or the
/// live database), before the rollback's transaction.
pub fn bind(conn: &Connection, values: &[String]) -> Result<()> {
    if values.is_empty() {
        return Ok(());
    }
    let w = |e| Error::sqlite("bind the --fill values", e);
    // Changing temp_store deletes every TEMP table; the driver sets FILE for its proof, and
    // setting the value it already has changes nothing.
    conn.execute_batch("PRAGMA temp_store = FILE").map_err(w)?;
    conn.execute_batch(FILL_TABLE).map_err(w)?;
    conn.execute_batch("DELETE FROM temp._schemactl_fill")
        .map_err(w)?;
    for (i, v) in values.iter().enumerate() {
        conn.execute(
            "INSERT INTO temp._schemactl_fill (n, value) VALUES (?1, ?2)",
            rusqlite::params![i as i64 + 1, v],
        )
        .map_err(w)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Option<(String, String, String)> {
        Fill::parse(text).ok().map(|f| (f.table, f.column, f.value))
    }

    fn three(t: &str, c: &str, v: &str) -> Option<(String, String, String)> {
        Some((t.into(), c.into(), v.into()))
    }

    #[test]
    fn a_fill_names_any_table_and_column_and_its_suggestion_parses_back() {
        assert_eq!(parsed("t.c=x=y"), three("t", "c", "x=y"));
        assert_eq!(parsed("\"my.tab\".\"v=1\"=x"), three("my.tab", "v=1", "x"));
        assert_eq!(parsed("\"a\"\"b\".c="), three("a\"b", "c", ""));
        assert_eq!(parsed("\"my.tab\"v=x"), None);
        assert_eq!(parsed("t=x"), None);
        assert_eq!(parsed(".c=x"), None);
        for (t, c) in [("my.tab", "v=1"), ("t", "c"), ("a\"b", "."), ("x", " y")] {
            let flag = crate::error::fill_flag(t, c).replace("VALUE", "v");
            assert_eq!(parsed(&flag), three(t, c, "v"), "{flag}");
        }
    }
}
