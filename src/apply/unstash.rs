//! Rollback stashes: what a rollback drops (a table or a column its migration added, holding
//! data), kept so that applying the same migration again brings the values back to their rows.
//!
//! Before a rollback runs, [`analyse`] compares the live schema with the schema the rollback
//! leaves (the reverse SQL replayed in memory): every table, virtual table or column that goes
//! and holds data is a destructive drop. [`Drop::save_sql`] keeps it in
//! `_schemactl_stash_{version}_r{n}` (the same shape, identity and naming as an apply stash,
//! see [`crate::plan::Stash`]) and records, in `_schemactl_rollback_stashes`, the SQL that puts
//! it back and the checksums of the migrations rolled back.
//!
//! A re-apply finds its stash by version: after the pending migrations ran, in their
//! transaction, [`restore`] runs each recorded restore whose migrations are all among the ones
//! just applied with the same checksums, and whose table and columns exist again. Rows inserted
//! since the rollback keep what the migration gives them; rows deleted since stay deleted. A
//! stash whose migrations changed before the re-apply is left in place (`stash list` shows it,
//! `stash drop` frees it).

use rusqlite::Connection;

use crate::diff::{Change, TableChange};
use crate::error::{Error, Result};
use crate::migrations::Migration;
use crate::model::{Column, Schema, Table};
use crate::plan::{STASH_PREFIX, Stash};
use crate::sql::{ident, main_table, quote_literal};

/// The table that records each rollback stash and how to restore it.
const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS _schemactl_rollback_stashes (
  name TEXT PRIMARY KEY,
  version INTEGER NOT NULL,
  migrations TEXT NOT NULL,
  restore TEXT NOT NULL,
  what TEXT NOT NULL
)";

/// Data a rollback drops.
#[derive(Debug, Clone)]
pub struct Drop {
    /// What goes, for messages: `column "patterns"."category" (50 value(s))`.
    pub what: String,
    /// The rows or values it holds; None when a newer reverse of the same rollback brings
    /// them back, so that they cannot be counted before it runs.
    pub count: Option<i64>,
    /// The reverse step (0: the newest) before which it is stashed.
    pub step: usize,
    /// How it is kept; None when it cannot be (a contentless fts table).
    stash: Option<Stash>,
    /// True when its forget triggers can go on the table the step leaves.
    forget: bool,
}

fn q(context: &'static str) -> impl Fn(rusqlite::Error) -> Error {
    move |e| Error::sqlite(context, e)
}

/// Returns the data the reverse steps drop, step by step: `steps[i]` is the schema before
/// step `i` runs (`steps[0]` the live schema of `conn`), `steps[i + 1]` the schema it leaves.
/// A table or virtual table that goes while it holds rows, and a column that goes while a
/// value differs from its constant default (NULL when it has none; any non-NULL value when
/// the default is not a constant), is a drop of that step, described in the shape the step
/// finds it (so a column a newer reverse brought back is kept too). What the live database
/// holds in the same shape is counted there; what a newer reverse brings back or reshapes
/// cannot be counted before the rollback runs, so it is a drop whatever it holds.
///
/// `sqls[i]` is the SQL of step `i`: a table or column it renames (`ALTER TABLE ... RENAME`,
/// a rebuild's copy under another name) is a rename, not a drop and an add, so it is neither
/// gated nor stashed; the values stay in their rows under the new name.
pub fn analyse(conn: &Connection, steps: &[Schema], sqls: &[&str]) -> Result<Vec<Drop>> {
    let mut out = Vec::new();
    for (step, pair) in steps.windows(2).enumerate() {
        let renames = crate::migrations::renames::renames(sqls.get(step).copied().unwrap_or(""));
        let hints = crate::migrations::renames::hints(&renames, &pair[0]);
        for mut d in analyse_step(conn, &steps[..=step], &pair[1], &hints)? {
            d.step = step;
            out.push(d);
        }
    }
    Ok(out)
}

/// The drops of one reverse step, to `after`; `so_far` holds the schema before each step up
/// to this one (the first is what `conn` holds). A table every step so far kept has the rows
/// the live one has (a reverse adds and drops columns, not rows); a column every step so far
/// kept as it is has the live values.
fn analyse_step(
    conn: &Connection,
    so_far: &[Schema],
    after: &Schema,
    hints: &crate::dsl::Renames,
) -> Result<Vec<Drop>> {
    let Some(before) = so_far.last() else {
        return Ok(Vec::new());
    };
    // Renames read from the SQL that the schemas do not bear out fall back to no renames:
    // every table or column that goes is then a drop (gated and stashed).
    let changes = match crate::diff::diff(before, after, hints) {
        Ok(changes) => changes,
        Err(_) => crate::diff::diff(before, after, &Default::default())?,
    };
    let kept_table = |name: &str| {
        so_far
            .iter()
            .all(|s| s.tables.iter().any(|t| t.name == name))
    };
    let kept_column = |table: &str, c: &Column| {
        so_far.iter().all(|s| {
            s.tables
                .iter()
                .find(|t| t.name == table)
                .and_then(|t| t.column(&c.name))
                .is_some_and(|l| l == c)
        })
    };
    let mut out = Vec::new();
    let count = |sql: String| -> Result<i64> {
        conn.query_row(&sql, [], |r| r.get(0))
            .map_err(q("count what the rollback drops"))
    };
    for change in &changes {
        match change {
            Change::DropTable(t) => {
                if !kept_table(&t.name) {
                    refuse_reserved(t)?;
                    out.push(Drop {
                        what: format!(
                            "table {} (its rows as the newer reverses leave them)",
                            ident(&t.name)
                        ),
                        count: None,
                        step: 0,
                        stash: Some(Stash::table(t)),
                        forget: false,
                    });
                    continue;
                }
                let n = count(format!("SELECT count(*) FROM {}", main_table(&t.name)))?;
                if n > 0 {
                    refuse_reserved(t)?;
                    out.push(Drop {
                        what: format!("table {} ({n} row(s))", ident(&t.name)),
                        count: Some(n),
                        step: 0,
                        stash: Some(Stash::table(t)),
                        forget: false,
                    });
                }
            }
            Change::DropVirtualTable(v) => {
                let kept = so_far
                    .iter()
                    .all(|s| s.virtual_tables.iter().any(|l| l.name == v.name));
                if !kept {
                    // Brought back by a newer reverse: its stash was the module's rows.
                    if let Some(stash) = Stash::virtual_table(v) {
                        out.push(Drop {
                            what: format!(
                                "virtual table {} (its rows as the newer reverses leave them)",
                                ident(&v.name)
                            ),
                            count: None,
                            step: 0,
                            stash: Some(stash),
                            forget: false,
                        });
                    }
                    continue;
                }
                // Shadow tables hold an fts or rtree table's rows; its rowid names them.
                let n = count(format!("SELECT count(*) FROM {}", main_table(&v.name))).unwrap_or(0);
                if n == 0 {
                    continue;
                }
                let Some(stash) = Stash::virtual_table(v) else {
                    // An fts table with external content keeps no rows of its own: they live
                    // in its content table. A contentless one keeps none that can be read.
                    if contentless(v.sql.as_str()) {
                        out.push(Drop {
                            what: format!(
                                "virtual table {} ({n} row(s), LOST: a contentless fts table keeps no values a stash could read, so they do not come back)",
                                ident(&v.name)
                            ),
                            count: Some(n),
                            step: 0,
                            stash: None,
                            forget: false,
                        });
                    }
                    continue;
                };
                out.push(Drop {
                    what: format!("virtual table {} ({n} row(s))", ident(&v.name)),
                    count: Some(n),
                    step: 0,
                    stash: Some(stash),
                    forget: false,
                });
            }
            Change::ModifyTable(d) => {
                // A table the step also renames: the diff names it as the step leaves it;
                // its rows are read, and stashed, under the name it has before the step.
                let renamed_from = hints
                    .tables
                    .iter()
                    .find(|(new, _)| new.eq_ignore_ascii_case(&d.from.name))
                    .map(|(_, old)| old.clone());
                let mut from = d.from.clone();
                if let Some(old) = &renamed_from {
                    from.name = old.as_str().into();
                }
                for c in d.changes.iter() {
                    let (c, regenerated) = match c {
                        TableChange::DropColumn(c) if c.generated.is_none() => (c, false),
                        // A stored column that becomes generated loses what was written.
                        TableChange::ModifyColumn { from, to }
                            if from.generated.is_none() && to.generated.is_some() =>
                        {
                            (from, true)
                        }
                        _ => continue,
                    };
                    let n = if kept_column(&from.name, c) {
                        let n = count(if regenerated {
                            // Values the generated expression gives back are not lost.
                            let to = after.tables.iter().find(|t| t.name == d.from.name);
                            let expr = to
                                .and_then(|t| t.column(&c.name))
                                .and_then(|c| c.generated.as_ref())
                                .map(|g| g.expr.as_str().to_string());
                            match expr {
                                Some(e) => format!(
                                    "SELECT count(*) FROM {} WHERE {} IS NOT ({e})",
                                    main_table(&from.name),
                                    ident(&c.name)
                                ),
                                None => format!("SELECT count(*) FROM {}", main_table(&from.name)),
                            }
                        } else {
                            format!(
                                "SELECT count(*) FROM {} WHERE {} IS NOT {}",
                                main_table(&from.name),
                                ident(&c.name),
                                constant_default(c).unwrap_or("NULL")
                            )
                        })
                        .unwrap_or(1);
                        if n == 0 {
                            continue;
                        }
                        Some(n)
                    } else {
                        None
                    };
                    out.push(column_drop(
                        &from,
                        c.name.to_string(),
                        n,
                        after,
                        renamed_from.is_none(),
                    )?);
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Refuses a stash from a table with a column named like the stash's own (`_schemactl_...`):
/// its values and the stash's row identity would be confused.
fn refuse_reserved(t: &Table) -> Result<()> {
    match t
        .columns
        .iter()
        .find(|c| c.name.to_ascii_lowercase().starts_with("_schemactl_"))
    {
        Some(c) => Err(Error::ReservedColumn {
            table: t.name.to_string(),
            column: c.name.to_string(),
        }),
        None => Ok(()),
    }
}

/// The column's default when it is a constant (a literal: adding the column back gives every
/// row that value again), else None. `CURRENT_*` and parenthesised expressions are not.
fn constant_default(c: &Column) -> Option<&str> {
    let d = c.default.as_ref()?;
    let key = d.key();
    let constant = !key.starts_with('(') && !key.starts_with("current_");
    constant.then_some(d.as_str())
}

fn column_drop(
    t: &Table,
    column: String,
    n: Option<i64>,
    after: &Schema,
    same_name: bool,
) -> Result<Drop> {
    refuse_reserved(t)?;
    let stash = Stash::columns(t, vec![column.clone()]);
    // The forget triggers go on the table as the step leaves it: only when it keeps its
    // name, its rowid alias and its key columns (else the rowid and key alone identify rows).
    let forget = same_name
        && after.tables.iter().any(|a| {
            a.name == t.name
                && crate::plan::rowid_alias(a) == stash.rowid.as_deref()
                && stash.key.iter().all(|k| a.column(k).is_some())
        });
    if !stash.identifiable() {
        return Err(Error::StashUnidentifiable {
            table: t.name.to_string(),
            without_rowid: t.without_rowid,
        });
    }
    let held = match n {
        Some(n) => format!("{n} value(s)"),
        None => "its values as the newer reverses leave them".to_string(),
    };
    Ok(Drop {
        what: format!("column {}.{} ({held})", ident(&t.name), ident(&column)),
        count: n,
        step: 0,
        stash: Some(stash),
        forget,
    })
}

/// True for an fts table declared `content=''` (or `""`): it keeps no values.
fn contentless(sql: &str) -> bool {
    let flat: String = sql
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    flat.contains("content=''") || flat.contains("content=\"\"")
}

impl Drop {
    /// Returns the statements that stash this drop in table `name` for the rollback of
    /// `rolled_back` (each migration's version and refinery checksum, as `_schemactl_history`
    /// has them), and record how a re-apply restores it. The stash belongs to `version`, the
    /// migration whose reverse drops it: a re-apply puts it back right after that migration.
    /// Nothing when the drop cannot be kept.
    pub fn save_sql(&self, rolled_back: &[(i32, String)], version: i32, name: &str) -> Vec<String> {
        let Some(stash) = &self.stash else {
            return Vec::new();
        };
        let mut out = stash.save_sql(name);
        out.extend(record_sql(
            rolled_back,
            version,
            name,
            &restore_sql(stash, name),
            &self.what,
        ));
        out
    }

    /// Returns true when its stash keeps the whole table `table` with its AUTOINCREMENT
    /// counter (in `{name}_seq`).
    pub fn keeps_counter_of(&self, table: &str) -> bool {
        self.stash.as_ref().is_some_and(|s| {
            s.whole_table && s.autoincrement && s.table.eq_ignore_ascii_case(table)
        })
    }

    /// Returns the statement to run after the reverse step that drops this, when it is a
    /// column stash: its forget trigger (see [`Stash::forget_sql`]).
    pub fn after_sql(&self, name: &str) -> Option<String> {
        self.forget.then(|| self.stash.as_ref()?.forget_sql(name))?
    }
}

/// Returns the statements that record the rollback stash `name` of `version`, for the
/// rollback of `rolled_back`: `restore` puts it back on a re-apply; `what` names it.
pub fn record_sql(
    rolled_back: &[(i32, String)],
    version: i32,
    name: &str,
    restore: &[String],
    what: &str,
) -> Vec<String> {
    let migrations = serde_json::json!(rolled_back).to_string();
    vec![
        CREATE_TABLE.to_string(),
        format!(
            "INSERT INTO main._schemactl_rollback_stashes (name, version, migrations, restore, what) VALUES ({}, {version}, {}, {}, {})",
            quote_literal(name),
            quote_literal(&migrations),
            quote_literal(&restore.join(";\n")),
            quote_literal(what),
        ),
    ]
}

/// The statements that put the stash back once its table or column exists again: the
/// values into the rows they came from (by rowid and key); or, for a whole table, its rows
/// exactly as they were (the rows the re-applied migration inserted itself, seed rows, are
/// replaced: the stash is the table as the rollback found it); then the stash goes.
fn restore_sql(s: &Stash, name: &str) -> Vec<String> {
    if !s.whole_table {
        return s.restore_sql(name);
    }
    let mut out = vec![format!("DELETE FROM {}", main_table(&s.table))];
    out.extend(s.restore_sql(name));
    out
}

/// Returns `count` free stash names for the rollback of `version`:
/// `_schemactl_stash_{version}_r{n}`, skipping those a kept rollback stash holds.
pub fn free_names(conn: &Connection, version: i32, count: usize) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut n = 1;
    while out.len() < count {
        let name = format!("{STASH_PREFIX}{version}_r{n}");
        let taken: bool = conn
            .query_row(
                "SELECT count(*) > 0 FROM sqlite_schema WHERE name = ?1 OR name = ?1 || '_seq'",
                [&name],
                |r| r.get(0),
            )
            .map_err(q("read the stashes"))?;
        if !taken {
            out.push(name);
        }
        n += 1;
    }
    Ok(out)
}

/// The stash tables' CREATE statements, so that a replay in memory can read them.
pub fn stash_shapes(conn: &Connection) -> Result<Vec<String>> {
    conn.prepare("SELECT sql FROM sqlite_schema WHERE type = 'table' AND name LIKE '\\_schemactl\\_stash\\_%' ESCAPE '\\' AND sql IS NOT NULL")
        .map_err(q("read the stashes"))?
        .query_map([], |r| r.get(0))
        .map_err(q("read the stashes"))?
        .collect::<rusqlite::Result<_>>()
        .map_err(q("read the stashes"))
}

/// A rollback stash a re-apply puts back.
#[derive(Debug, Clone)]
pub struct Planned {
    name: String,
    /// The migration after which it is put back (the oldest it was rolled back with).
    pub version: i32,
    /// Its restore statements.
    pub restore: String,
    what: String,
}

/// Before `applied` run (in the driver's transaction): the rollback stashes whose migrations
/// are all among `applied`, unchanged; each is put back by [`restore`] right after the
/// migration of its version, so the later ones act on its rows as they did the first time.
/// Returns them, and a line for each stash left because its migrations changed.
pub fn planned(conn: &Connection, applied: &[Migration]) -> Result<(Vec<Planned>, Vec<String>)> {
    let exists: bool = crate::db::table_exists(conn, "_schemactl_rollback_stashes")
        .map_err(q("read the rollback stashes"))?;
    if !exists {
        return Ok((Vec::new(), Vec::new()));
    }
    forget_dropped(conn, applied)?;
    let rows: Vec<(String, i32, String, String, String)> = conn
        .prepare("SELECT name, version, migrations, restore, what FROM main._schemactl_rollback_stashes ORDER BY version, name")
        .map_err(q("read the rollback stashes"))?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
        .map_err(q("read the rollback stashes"))?
        .collect::<rusqlite::Result<_>>()
        .map_err(q("read the rollback stashes"))?;
    let mut out = Vec::new();
    let mut lines = Vec::new();
    for (name, version, migrations, restore, what) in rows {
        let wanted: Vec<(i32, String)> =
            serde_json::from_str(&migrations).map_err(|source| Error::Json {
                context: "read _schemactl_rollback_stashes",
                source,
            })?;
        if !applied.iter().any(|m| m.version == version) {
            continue;
        }
        let same = wanted.iter().all(|(v, sum)| {
            applied
                .iter()
                .any(|m| m.version == *v && m.checksum.map(|c| c.to_string()).as_ref() == Some(sum))
        });
        if !same {
            lines.push(format!(
                "stash {name} of {what} kept: the migrations it came from changed since their rollback"
            ));
            continue;
        }
        out.push(Planned {
            name,
            version,
            restore,
            what,
        });
    }
    Ok((out, lines))
}

/// Puts `p` back (in the driver's transaction, right after the migration of its version),
/// with the database's triggers suspended: a restore writes the rows as they were, it does
/// not act on them. Returns what it did: the values or rows put back, counted, or why the
/// stash stays (its table or column is not there).
///
/// `forward` is the SQL of the migration just applied: when it fills a whole stash's table
/// from another table (renames one into it, or copies rows with `INSERT ... SELECT ... FROM`
/// or `CREATE TABLE ... AS SELECT`), those rows may have been written after the rollback,
/// and the stash is not put back over them (see [`foreign_rows`]).
pub fn restore(conn: &Connection, p: &Planned, forward: &str) -> Result<String> {
    let w = q("restore a rollback stash");
    // A savepoint inside the migrations' transaction: a restore that cannot run leaves
    // nothing half done, and its stash stays.
    conn.execute_batch("SAVEPOINT _schemactl_unstash")
        .map_err(&w)?;
    let triggers: Vec<(String, String)> = conn
        .prepare("SELECT name, sql FROM sqlite_schema WHERE type = 'trigger' AND sql IS NOT NULL ORDER BY rowid")
        .map_err(&w)?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(&w)?
        .collect::<rusqlite::Result<_>>()
        .map_err(&w)?;
    let what = p.what.split(" (").next().unwrap_or(&p.what);
    if let Some(n) = foreign_rows(conn, p, forward).map_err(&w)? {
        conn.execute_batch("ROLLBACK TO _schemactl_unstash; RELEASE _schemactl_unstash")
            .map_err(&w)?;
        return Ok(format!(
            "stash {} of {what} kept: the table holds {n} row(s) the stash does not (written since the rollback, or brought by the migration), which putting the stash back would replace; the stash's rows stay in {} (`stash list`)",
            p.name,
            ident(&p.name)
        ));
    }
    if let Some((table, column)) = renamed_into(p, forward) {
        conn.execute_batch("ROLLBACK TO _schemactl_unstash; RELEASE _schemactl_unstash")
            .map_err(&w)?;
        return Ok(format!(
            "stash {} of {what} kept: the migration renames another column into {}.{}, whose values (written since the rollback) putting the stash back would replace; the stash's values stay in {} (`stash list`)",
            p.name,
            ident(&table),
            ident(&column),
            ident(&p.name)
        ));
    }
    let run = || -> rusqlite::Result<usize> {
        // The stored restore and trigger text keeps to the savepoint (see db::confined); the
        // guard goes before the savepoint is released.
        let _confined = crate::db::confined::Confined::new(conn);
        for (name, _) in &triggers {
            conn.execute_batch(&format!("DROP TRIGGER {}", ident(name)))?;
        }
        let mut put = 0;
        for sql in crate::migrations::statements::texts(&p.restore) {
            let changed = conn.execute(sql, [])?;
            let head = sql.trim_start().to_ascii_uppercase();
            if (head.starts_with("INSERT") || head.starts_with("UPDATE"))
                && !head.contains("SQLITE_SEQUENCE")
            {
                put = put.max(changed);
            }
        }
        let forget = format!("{}_forget", p.name).to_ascii_lowercase();
        for (name, sql) in &triggers {
            // The stash's own forget triggers go with it.
            let lower = name.to_ascii_lowercase();
            if lower != forget && lower != format!("{forget}_insert") {
                conn.execute_batch(sql)?;
            }
        }
        Ok(put)
    };
    let done = run();
    match done {
        Err(e) => {
            conn.execute_batch("ROLLBACK TO _schemactl_unstash; RELEASE _schemactl_unstash")
                .map_err(&w)?;
            Ok(format!(
                "stash {} of {what} kept: {}",
                p.name,
                crate::normal::sqlite_message(&e)
            ))
        }
        Ok(put) => {
            conn.execute_batch("RELEASE _schemactl_unstash")
                .map_err(&w)?;
            conn.execute(
                "DELETE FROM main._schemactl_rollback_stashes WHERE name = ?1",
                [&p.name],
            )
            .map_err(q("record the restored stash"))?;
            let unit = if what.starts_with("column") {
                "value(s)"
            } else {
                "row(s)"
            };
            Ok(format!(
                "restored {what} from the rollback stash ({put} {unit})"
            ))
        }
    }
}

/// For the stash of a whole table (its restore empties the table and puts the stash's rows
/// back), the number of rows the table holds that the stash does not hold, by value, when
/// there are any: the re-applied migration brought them from elsewhere (a table renamed or
/// copied into this one), and they may have been written after the rollback, so that putting
/// the stash back would lose them. Rows equal to a stash row (seed rows the migration inserts
/// again) are no reason to keep the stash. None for a column stash.
fn foreign_rows(conn: &Connection, p: &Planned, forward: &str) -> rusqlite::Result<Option<i64>> {
    let texts = crate::migrations::statements::texts(&p.restore);
    let Some(table) = texts.first().and_then(|first| {
        let tokens = crate::sql::lex(first).ok()?;
        let [d, f, ..] = tokens.as_slice() else {
            return None;
        };
        let (table, end) = crate::sql::name_at(&tokens, 2)?;
        (d.is_kw("DELETE") && f.is_kw("FROM") && end == tokens.len()).then_some(table)
    }) else {
        return Ok(None);
    };
    if !fills_from_elsewhere(forward, &table) {
        return Ok(None);
    }
    let live: Vec<String> = conn
        .prepare("SELECT name FROM pragma_table_info(?1, 'main')")?
        .query_map([&table], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let columns: Vec<String> = conn
        .prepare("SELECT name FROM pragma_table_info(?1, 'main')")?
        .query_map([&p.name], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?
        .into_iter()
        .filter(|c| !c.to_ascii_lowercase().starts_with("_schemactl_"))
        .filter(|c| live.iter().any(|l| l.eq_ignore_ascii_case(c)))
        .collect();
    if columns.is_empty() {
        return Ok(None);
    }
    let cols = columns
        .iter()
        .map(|c| ident(c))
        .collect::<Vec<_>>()
        .join(", ");
    let n: i64 = conn.query_row(
        &format!(
            "SELECT count(*) FROM (SELECT {cols} FROM {} EXCEPT SELECT {cols} FROM {})",
            main_table(&table),
            main_table(&p.name)
        ),
        [],
        |r| r.get(0),
    )?;
    Ok((n > 0).then_some(n))
}

/// For the stash of a column (its restore is `UPDATE table SET column = ...`): the table and
/// column when `forward` renames another column into it (`ALTER TABLE ... RENAME COLUMN`, a
/// rebuild's copy under another name). Its values are then the renamed column's, written
/// since the rollback, and the stash is not put back over them.
fn renamed_into(p: &Planned, forward: &str) -> Option<(String, String)> {
    use crate::migrations::renames::{Rename, renames};
    let texts = crate::migrations::statements::texts(&p.restore);
    let update = texts.iter().find_map(|text| {
        let tokens = crate::sql::lex(text).ok()?;
        let mut i = 0;
        if !tokens.first()?.is_kw("UPDATE") {
            return None;
        }
        i += 1;
        if tokens.get(i)?.is_kw("OR") {
            i += 2;
        }
        let (table, set) = crate::sql::name_at(&tokens, i)?;
        if !tokens.get(set)?.is_kw("SET") {
            return None;
        }
        let column = tokens.get(set + 1)?.name()?.to_string();
        Some((table, column))
    })?;
    let (table, column) = &update;
    let into = renames(forward).iter().any(|r| match r {
        Rename::Column { table: t, to, .. } => {
            t.eq_ignore_ascii_case(table) && to.eq_ignore_ascii_case(column)
        }
        Rename::Columns { table: t, pairs } => {
            t.eq_ignore_ascii_case(table)
                && pairs.iter().any(|(_, to)| to.eq_ignore_ascii_case(column))
        }
        _ => false,
    });
    into.then_some(update)
}

/// True when `sql` gives `table` rows read from another table: renames a table into it
/// (not a rebuild's own), or writes it with a statement that reads a table (`INSERT INTO
/// table ... SELECT ... FROM`, `CREATE TABLE table AS SELECT ... FROM`). Seed rows
/// (`INSERT INTO table VALUES ...`) are not.
fn fills_from_elsewhere(sql: &str, table: &str) -> bool {
    use crate::migrations::renames::{REBUILD_PREFIX, Rename, renames};
    let renamed_in = renames(sql).iter().any(|r| {
        matches!(r, Rename::Table { from, to }
            if to.eq_ignore_ascii_case(table) && !from.starts_with(REBUILD_PREFIX))
    });
    renamed_in
        || crate::migrations::statements::texts(sql)
            .iter()
            .any(|text| {
                let Ok(tokens) = crate::sql::lex(text) else {
                    return false;
                };
                let writes = tokens.iter().enumerate().any(|(i, t)| {
                    (t.is_kw("INTO") || t.is_kw("TABLE"))
                        && crate::sql::object_at(&tokens, i + 1)
                            .is_some_and(|(w, _)| w.eq_ignore_ascii_case(table))
                });
                writes && tokens.iter().any(|t| t.is_kw("FROM"))
            })
}

/// Forgets that the stashes of `applied` were dropped: they are applied again, with new ones.
fn forget_dropped(conn: &Connection, applied: &[Migration]) -> Result<()> {
    let exists: bool = crate::db::table_exists(conn, "_schemactl_stash_dropped")
        .map_err(q("read the dropped stashes"))?;
    if exists {
        for m in applied {
            conn.execute(
                "DELETE FROM main._schemactl_stash_dropped WHERE version = ?1",
                [m.version],
            )
            .map_err(q("read the dropped stashes"))?;
        }
    }
    if crate::db::table_exists(conn, "_schemactl_dropped_counters")
        .map_err(q("read the dropped stashes"))?
    {
        for m in applied {
            conn.execute(
                "DELETE FROM main._schemactl_dropped_counters WHERE version = ?1",
                [m.version],
            )
            .map_err(q("read the dropped stashes"))?;
        }
    }
    Ok(())
}
