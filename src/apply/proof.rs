//! The row-level proof: every row of every table the migrations touch is the same after them
//! as before, except where the migrations say otherwise.
//!
//! Row counts cannot see a value rewritten. Before the migrations run (inside their
//! transaction), [`Proof::prepare`] describes what their SQL does to each table
//! ([`describe`]: renames, added and dropped columns, rebuilds, hand-written data changes)
//! and, for each table it will prove, stores one row per row in a TEMP table: the row's
//! identity (its rowid where the table has one and keeps it, else its primary key) and a hash
//! of every column the description keeps, with the columns whose type affinity changes stored
//! as values in columns of the new affinity, so SQLite itself applies the conversion
//! (https://www.sqlite.org/datatype3.html). The same pass sums, per column, a hash of (row
//! identity, value) into order-independent accumulators. After the migrations,
//! [`Proof::verify`] makes one pass over each table and compares the sums: when they agree
//! the rows are proven; when not, it joins the stored rows with the new ones to name the
//! table, the columns and up to five keys, and the migration fails (and rolls back). New
//! columns must hold their default. The TEMP tables go to a file (`temp_store = FILE`), so
//! memory stays bounded at a million rows.
//!
//! A table a hand-written migration inserts into or deletes from (and what its triggers and
//! foreign keys reach) is not proven, nor are the columns an `UPDATE` of an existing table
//! sets: those are the data changes the migration makes on purpose. When the migrations hold
//! SQL the description cannot read, every table they do not name is still proven unchanged.

mod catalog;
mod describe;
mod rows;

use catalog::Catalog;

use rows::*;

use std::collections::BTreeSet;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use rusqlite::functions::FunctionFlags;
use rusqlite::types::{Value, ValueRef};

use crate::error::{Error, Result};
use crate::sql::{lex, quote_ident, quote_literal};
use describe::{Description, Reach, Source};

/// The SQL function that hashes a row and adds it to the accumulators: `(slot, first
/// column, key, values...)`, returning the hash of the values.
const FUNCTION: &str = "schemactl_proof_row";
/// The prefix of the TEMP tables the proof keeps its rows in.
const TEMP_PREFIX: &str = "_schemactl_proof_";

/// Order-independent sums over the rows of one table, one side.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Acc {
    rows: u64,
    keys: u64,
    columns: Vec<u64>,
}

/// A column's type affinity (https://www.sqlite.org/datatype3.html, 3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Affinity {
    Integer,
    Text,
    Blob,
    Real,
    Numeric,
}

impl Affinity {
    /// Reads the affinity of a declared type, as SQLite's rules do; in a STRICT table `ANY`
    /// keeps values as they are.
    fn of(declared: &str, strict: bool) -> Self {
        let t = declared.to_ascii_uppercase();
        let t = t.trim_end_matches(" GENERATED ALWAYS").trim();
        if strict && t == "ANY" {
            Affinity::Blob
        } else if t.contains("INT") {
            Affinity::Integer
        } else if t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") {
            Affinity::Text
        } else if t.contains("BLOB") || t.is_empty() {
            Affinity::Blob
        } else if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") {
            Affinity::Real
        } else {
            Affinity::Numeric
        }
    }

    /// A declared type with this affinity, for the TEMP tables.
    fn type_name(self) -> &'static str {
        match self {
            Affinity::Integer => "INTEGER",
            Affinity::Text => "TEXT",
            Affinity::Blob => "BLOB",
            Affinity::Real => "REAL",
            Affinity::Numeric => "NUMERIC",
        }
    }
}

/// One column as the catalog reports it.
#[derive(Debug, Clone)]
struct Col {
    name: String,
    affinity: Affinity,
    pk: i64,
    /// 0 a normal column, 1 hidden (virtual tables), 2 and 3 generated.
    hidden: i64,
    default: Option<String>,
}

/// One table as the catalog reports it.
#[derive(Debug, Clone)]
struct Shape {
    rowid: bool,
    columns: Vec<Col>,
    alias: Option<String>,
}

impl Shape {
    fn read(conn: &Connection, table: &str) -> Result<Self> {
        let q = |e| Error::sqlite(format!("read the columns of \"{table}\""), e);
        // PRAGMA statements, not their table-valued functions: an object a migration makes
        // under such a function's name cannot answer for them (the proof reads shapes in the
        // migrations' own transaction, after running them: rows::in_place).
        let arg = quote_literal(table);
        let (wr, strict): (i64, i64) = conn
            .query_row(&format!("PRAGMA main.table_list({arg})"), [], |r| {
                Ok((r.get(4)?, r.get(5)?))
            })
            .map_err(q)?;
        let mut stmt = conn
            .prepare(&format!("PRAGMA main.table_xinfo({arg})"))
            .map_err(q)?;
        let columns = stmt
            .query_map([], |r| {
                Ok(Col {
                    name: r.get(1)?,
                    affinity: Affinity::of(&r.get::<_, String>(2)?, strict != 0),
                    pk: r.get(5)?,
                    hidden: r.get(6)?,
                    default: r.get(4)?,
                })
            })
            .map_err(q)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(q)?;
        // An INTEGER PRIMARY KEY is the rowid and has no index of its own.
        let origins = conn
            .prepare(&format!("PRAGMA main.index_list({arg})"))
            .and_then(|mut s| {
                s.query_map([], |r| r.get::<_, String>(3))?
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(q)?;
        let pk_index = origins.iter().filter(|o| *o == "pk").count();
        let pk: Vec<&Col> = columns.iter().filter(|c| c.pk > 0).collect();
        let alias = match pk.as_slice() {
            [one] if wr == 0 && pk_index == 0 => Some(one.name.clone()),
            _ => None,
        };
        Ok(Shape {
            rowid: wr == 0,
            columns,
            alias,
        })
    }

    fn column(&self, name: &str) -> Option<&Col> {
        self.columns
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// A name that reads the rowid here (a column may take `rowid`, `_rowid_` or `oid`).
    fn rowid_name(&self) -> Option<&'static str> {
        ["rowid", "_rowid_", "oid"]
            .into_iter()
            .find(|n| self.column(n).is_none())
    }
}

/// How rows are matched before and after.
#[derive(Debug, Clone)]
enum Key {
    /// By an SQL expression on each side; `label` says what it is in messages.
    Expr {
        before: String,
        after: String,
        label: String,
        /// The key is one value, shown with [`crate::sql::literal_sql`]; else it is already
        /// text (each value's literal, joined by commas).
        single: bool,
    },
    /// The table has no identity the migrations keep: rows are compared as a multiset.
    None,
}

/// What the proof holds for one table.
#[derive(Debug)]
struct TableProof {
    before: String,
    after: String,
    temp: String,
    key: Key,
    /// (before, after) columns whose values must be equal.
    kept: Vec<(String, String)>,
    /// (before, after, affinity after) columns whose values must be the declared conversion.
    converted: Vec<(String, String, Affinity)>,
    /// New columns and the values a row may hold, each one way SQLite stores the default
    /// (None: a default the proof cannot compute, such as `CURRENT_TIMESTAMP`).
    added: Vec<(String, Option<Vec<Stored>>)>,
    slot: usize,
    /// Stored columns before that no column after takes: the migrations drop them.
    dropped: Vec<String>,
    /// The key is the rowid of a table without an INTEGER PRIMARY KEY ([`rows::table_proof`]).
    bare_rowid: bool,
    /// Its rows are matched by every value the migrations keep: it loses its rowid and
    /// declares no key that tells them apart ([`rows::table_proof`]).
    by_values: bool,
    /// Its rows change on purpose and the migrations rebuild it (h26_02): only the rows on
    /// both sides (by key) are held to their values, one by one ([`rows::differing_keys`]).
    partial: bool,
}

/// The proof of one batch of migrations, between [`Proof::prepare`] and [`Proof::verify`].
#[derive(Debug)]
pub struct Proof {
    state: Arc<Mutex<Vec<Acc>>>,
    tables: Vec<TableProof>,
    /// Tables the proof leaves alone, and why.
    skipped: Vec<String>,
    /// Where each table's rows are after the migrations ([`names_after`]).
    names_after: Vec<(String, Option<String>)>,
    /// Tables the migrations reshape whose shape after them could not be learnt, because the
    /// migrations failed when the proof ran them first ([`rows::after`]): the run fails with
    /// them; should it not (a result that depends on more than the rows), [`Proof::verify`]
    /// refuses it.
    unsimulated: Vec<String>,
}

fn q(context: &str) -> impl Fn(rusqlite::Error) -> Error + '_ {
    move |e| Error::sqlite(format!("row proof: {context}"), e)
}

/// The tables of the main schema, but SQLite's and schemactl's own.
fn list_tables(conn: &Connection) -> Result<Vec<String>> {
    conn.prepare(
        "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_schemactl%' ESCAPE '\\' ORDER BY name",
    )
    .and_then(|mut s| {
        s.query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()
    })
    .map_err(q("list the tables"))
}

/// Where the rows of each table of `before` are after `sql` (the pending migrations, in the
/// order they run): the name of the table holding them, through every rename and rebuild in
/// turn, or None when `sql` drops the table (or copies its rows into a table that does not
/// take its place). The row counts follow the tables by this, as the proof does.
pub fn names_after(before: &[String], sql: &[&str]) -> Vec<(String, Option<String>)> {
    struct Nothing;
    impl Reach for Nothing {
        fn reached_from(&self, _: &str) -> Vec<String> {
            Vec::new()
        }
    }
    names(before, &Description::new(before, sql, &Nothing))
}

fn names(before: &[String], d: &Description) -> Vec<(String, Option<String>)> {
    before
        .iter()
        .enumerate()
        .map(|(i, b)| (b.clone(), d.successor(i).map(|(_, n)| n.to_string())))
        .collect()
}

/// The tables of `conn` before `sql` runs, and what `sql` does to them.
fn describe(conn: &Connection, sql: &[&str]) -> Result<(Vec<String>, Description)> {
    let before = list_tables(conn)?;
    let catalog = Catalog::new(conn, &before, sql);
    let d = Description::new(&before, sql, &catalog);
    Ok((before, d))
}

impl Proof {
    /// Describes `sql` (the pending migrations, in the order they run) and stores what the
    /// proof needs of every table it will prove. Runs inside the migration transaction,
    /// before the migrations.
    pub fn prepare(conn: &Connection, sql: &[&str]) -> Result<Proof> {
        let (before, d) = describe(conn, sql)?;
        let state = Arc::new(Mutex::new(Vec::new()));
        let mut proof = Proof {
            state: Arc::clone(&state),
            tables: Vec::new(),
            skipped: Vec::new(),
            names_after: names(&before, &d),
            unsimulated: Vec::new(),
        };
        let everything = !d.undescribed.is_empty();
        let mut chosen = Vec::new();
        for (i, name) in before.iter().enumerate() {
            let named = d.named.contains(&name.to_ascii_lowercase());
            if let Some((why, fix)) = d.unread_into(i) {
                // Fail closed: the rows may be back, rewritten, where the proof cannot look.
                return Err(Error::RowProof {
                    table: name.clone(),
                    detail: format!(
                        "it is dropped and a table of its name is filled by SQL the proof cannot follow ({why}); {fix}"
                    ),
                });
            }
            // Rows changed on purpose in a table the migrations rebuild: the rows they keep
            // must still hold their values (h26_02: a swap behind a DELETE ... WHERE 0).
            let rebuilt = d.chain(i).is_some_and(|c| c.len() > 1);
            if d.tables[i].rows_changed && (!rebuilt || d.tables[i].rows_rewritten) {
                proof
                    .skipped
                    .push(format!("\"{name}\" (its rows change on purpose)"));
            } else if named || everything {
                chosen.push((i, named));
            }
        }
        if chosen.is_empty() {
            return Ok(proof);
        }
        register(conn, state)?;
        // The shape after the migrations: the schema of the database, with the migrations
        // run on it, in memory. Only tables the migrations name can change shape.
        let after_names: Vec<&str> = chosen
            .iter()
            .filter(|&&(_, named)| named)
            .filter_map(|&(i, _)| d.successor(i).map(|(_, name)| name))
            .collect();
        let simulated = if after_names.is_empty() {
            None
        } else {
            after(conn, sql, &d.named, &after_names)?
        };
        for (i, named) in chosen {
            let name = &before[i];
            if let Some(collation) = unreadable(conn, name) {
                // No statement can write such a table's rows either (each insert or update
                // compares in the collation): the migrations can only rename, empty or drop
                // it, and the row counts follow it.
                proof.skipped.push(format!(
                    "\"{name}\" (its rows cannot be read without collation \"{collation}\", which is not in this build of SQLite; they are counted)"
                ));
                continue;
            }
            let Some((after_index, after_name)) = d.successor(i) else {
                // Rows copied into a table that does not take its place are not followed: say
                // so. A table only dropped is the destructive gate's and the stash's.
                if let Some(to) = d.copied_into(i) {
                    proof.skipped.push(format!(
                        "\"{name}\" (its rows were copied into \"{to}\", which does not take its place)"
                    ));
                }
                continue;
            };
            let shape_before = Shape::read(conn, name)?;
            let shape_after = if !named {
                shape_before.clone()
            } else {
                match simulated.as_ref().map(|sim| sim.shape(after_name)) {
                    Some(Some(s)) => s,
                    // Fail closed: its rows are where the proof cannot look.
                    Some(None) => {
                        return Err(Error::RowProof {
                            table: name.clone(),
                            detail: format!(
                                "the migrations leave its rows in \"{after_name}\", whose columns cannot be read after them: the proof cannot follow them, so nothing is applied"
                            ),
                        });
                    }
                    None => {
                        proof.unsimulated.push(name.clone());
                        continue;
                    }
                }
            };
            let slot = proof.tables.len() * 3;
            let mut t = table_proof(
                conn,
                &d,
                (i, name, &shape_before),
                (after_index, after_name, &shape_after),
                slot,
            )?;
            if d.tables[i].rows_changed {
                if matches!(t.key, Key::None) {
                    // No key to match its rows by: what the migrations do to them is theirs.
                    proof
                        .skipped
                        .push(format!("\"{name}\" (its rows change on purpose)"));
                    continue;
                }
                t.partial = true;
            }
            proof.snapshot(conn, &t)?;
            proof.tables.push(t);
        }
        Ok(proof)
    }

    /// The tables (with their INTEGER PRIMARY KEY) whose INTEGER PRIMARY KEY `sql` copies
    /// into a column that is not the key after it: the rows keep its values as their rowids.
    /// Run on a rollback, these are the rows whose rowids the migration took from a column
    /// (see `plan::Rowids::FromColumn`): the rowids they had before it do not come back.
    pub fn key_values_kept_as_rowids(
        conn: &Connection,
        sql: &[&str],
    ) -> Result<Vec<(String, String)>> {
        let (before, d) = describe(conn, sql)?;
        let Some(sim) = (!d.named.is_empty())
            .then(|| simulate(conn, sql, &d.named))
            .flatten()
        else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for (i, name) in before.iter().enumerate() {
            if !d.named.contains(&name.to_ascii_lowercase()) {
                continue;
            }
            let Some((ai, after_name)) = d.successor(i) else {
                continue;
            };
            // A reverse filled from its migration's stash (a narrowed key that became the
            // INTEGER PRIMARY KEY) gets the key's values back, not the rowids: the stash keeps
            // none, so it is gated as the same renumbering without a stash is.
            let shape = Shape::read(conn, name)?;
            let (true, Some(key)) = (shape.rowid, &shape.alias) else {
                continue;
            };
            let Ok(after) = Shape::read(&sim, after_name) else {
                continue;
            };
            let copied = after.rowid
                && after.columns.iter().filter(|c| c.hidden == 0).any(|c| {
                    after.alias.as_deref() != Some(c.name.as_str())
                        && matches!(d.source(i, ai, &c.name), Source::Kept(b) if b.eq_ignore_ascii_case(key))
                });
            if copied {
                out.push((name.clone(), key.clone()));
            }
        }
        Ok(out)
    }

    /// Where each table's rows are after the migrations ([`names_after`], read once here).
    pub fn names_after(&self) -> Vec<(String, Option<String>)> {
        self.names_after.clone()
    }

    /// Stores the rows of `t` before the migrations and sums them.
    fn snapshot(&self, conn: &Connection, t: &TableProof) -> Result<()> {
        let key_type = match &t.key {
            Key::Expr { before, .. }
                if before == "rowid" || before == "_rowid_" || before == "oid" =>
            {
                "INTEGER PRIMARY KEY"
            }
            _ => "",
        };
        let mut cols = vec![format!("k {key_type}"), "h INTEGER".to_string()];
        cols.extend(
            t.converted
                .iter()
                .enumerate()
                .map(|(i, (_, _, a))| format!("c{i} {}", a.type_name())),
        );
        conn.execute_batch(&format!(
            "CREATE TEMP TABLE {} ({})",
            quote_ident(&t.temp),
            cols.join(", ")
        ))
        .map_err(q("create its table"))?;
        let key = match &t.key {
            Key::Expr { before, .. } => before.clone(),
            Key::None => "NULL".into(),
        };
        let mut values = vec![key.clone()];
        values.extend(t.kept.iter().map(|(b, _)| quote_ident(b)));
        let mut select = vec![
            key,
            format!("{FUNCTION}({}, 0, {})", t.slot, values.join(", ")),
        ];
        select.extend(t.converted.iter().map(|(b, _, _)| quote_ident(b)));
        let targets: Vec<String> = std::iter::once("k".to_string())
            .chain(std::iter::once("h".to_string()))
            .chain((0..t.converted.len()).map(|i| format!("c{i}")))
            .collect();
        conn.execute(
            &format!(
                "INSERT INTO temp.{} ({}) SELECT {} FROM main.{}",
                quote_ident(&t.temp),
                targets.join(", "),
                select.join(", "),
                quote_ident(&t.before)
            ),
            [],
        )
        .map_err(q(&format!("read \"{}\"", t.before)))?;
        if !t.converted.is_empty() {
            // The converted values, as the new affinity stored them.
            let conv: Vec<String> = (0..t.converted.len()).map(|i| format!("c{i}")).collect();
            conn.query_row(
                &format!(
                    "SELECT count({FUNCTION}({}, {}, k, {})) FROM temp.{}",
                    t.slot + 1,
                    t.kept.len(),
                    conv.join(", "),
                    quote_ident(&t.temp)
                ),
                [],
                |_| Ok(()),
            )
            .map_err(q(&format!("read \"{}\"", t.before)))?;
        }
        Ok(())
    }

    /// Checks every proven table after the migrations (inside their transaction), drops the
    /// proof's TEMP tables, and returns what it proved, one line.
    pub fn verify(self, conn: &Connection) -> Result<String> {
        let result = match self.unsimulated.first() {
            // The migrations failed when run first and ran now: what they do depends on more
            // than the rows (random(), the time), and the proof cannot hold them to it.
            Some(table) => Err(Error::RowProof {
                table: table.clone(),
                detail: "the migrations failed when the proof ran them before the run and succeeded in it: what they do depends on more than the rows and the schema (random(), the time), so the proof cannot tell what they keep, and nothing is applied".into(),
            }),
            None => self.verify_tables(conn),
        };
        for t in &self.tables {
            let _ = conn.execute_batch(&format!(
                "DROP TABLE IF EXISTS temp.{}",
                quote_ident(&t.temp)
            ));
            let _ = conn.execute_batch(&format!(
                "DROP TABLE IF EXISTS temp.{}",
                quote_ident(&format!("{}_after", t.temp))
            ));
        }
        let _ = conn.execute_batch(&format!("DROP TABLE IF EXISTS temp.{TEMP_PREFIX}value"));
        if !self.tables.is_empty() {
            let _ = conn.remove_function(FUNCTION, -1);
        }
        let rows = result?;
        let mut line = format!(
            "rows: proven row by row ({} table(s), {rows} row(s))",
            self.tables.len()
        );
        let dropped: Vec<String> = self
            .tables
            .iter()
            .flat_map(|t| {
                t.dropped
                    .iter()
                    .map(move |c| format!("{}.{}", quote_ident(&t.before), quote_ident(c)))
            })
            .collect();
        if !dropped.is_empty() {
            line.push_str(&format!(
                "; dropped by the migrations: {}",
                dropped.join(", ")
            ));
        }
        if !self.skipped.is_empty() {
            line.push_str(&format!("; not proven: {}", self.skipped.join(", ")));
        }
        Ok(line)
    }

    fn verify_tables(&self, conn: &Connection) -> Result<u64> {
        let mut rows = 0;
        for t in &self.tables {
            if t.partial {
                rows += self.verify_kept_rows(conn, t)?;
                continue;
            }
            let (values, conv) = after_values(t);
            let key = match &t.key {
                Key::Expr { after, .. } => after.clone(),
                Key::None => "NULL".into(),
            };
            let mut args = vec![key];
            args.extend(values.iter().chain(&conv).cloned());
            conn.query_row(
                &format!(
                    "SELECT count({FUNCTION}({}, 0, {})) FROM main.{}",
                    t.slot + 2,
                    args.join(", "),
                    quote_ident(&t.after)
                ),
                [],
                |_| Ok(()),
            )
            .map_err(q(&format!("read \"{}\"", t.after)))?;
            let (before, after) = {
                let state = self
                    .state
                    .lock()
                    .map_err(|_| Error::ThreadPanicked { what: "row proof" })?;
                let get = |s: usize| state.get(s).cloned().unwrap_or_default();
                let mut before = get(t.slot);
                let conv = get(t.slot + 1);
                before.columns.resize(t.kept.len() + t.converted.len(), 0);
                for i in t.kept.len()..before.columns.len() {
                    before.columns[i] = conv.columns.get(i).copied().unwrap_or_default();
                }
                let mut after = get(t.slot + 2);
                after.columns.resize(before.columns.len(), 0);
                (before, after)
            };
            if before != after {
                return Err(self.explain(conn, t, &before, &after));
            }
            self.check_added(conn, t)?;
            rows += after.rows;
        }
        Ok(rows)
    }

    /// Names what differs in `t`: the columns, the row counts, and up to five keys.
    fn explain(&self, conn: &Connection, t: &TableProof, before: &Acc, after: &Acc) -> Error {
        let mut what = Vec::new();
        if before.rows != after.rows {
            what.push(format!(
                "{} row(s) before, {} after",
                before.rows, after.rows
            ));
        } else if before.keys != after.keys {
            what.push(if t.by_values {
                "rows do not hold the values the migrations keep (no key tells its rows apart, so they are compared by all those values)".to_string()
            } else {
                format!("rows changed identity{}", rows::renumbered_hint(t))
            });
        }
        // Missing or renumbered rows move every column's sum: name columns only when the
        // rows are the same ones.
        let same_rows = what.is_empty();
        let names: Vec<String> = t
            .kept
            .iter()
            .map(|(b, a)| (b, a))
            .chain(t.converted.iter().map(|(b, a, _)| (b, a)))
            .zip(before.columns.iter().zip(&after.columns))
            .filter(|(_, (x, y))| x != y)
            .map(|((b, a), _)| {
                if b.eq_ignore_ascii_case(a) {
                    format!("column \"{a}\"")
                } else {
                    format!("column \"{a}\" (from \"{b}\")")
                }
            })
            .collect();
        if same_rows && !names.is_empty() {
            let converted = t.converted.iter().any(|(_, a, _)| {
                names
                    .iter()
                    .any(|n| n.starts_with(&format!("column \"{a}\"")))
            });
            what.push(format!(
                "{} {} not hold the {} the migrations keep",
                names.join(", "),
                if names.len() == 1 { "does" } else { "do" },
                if converted {
                    "values (or conversions)"
                } else {
                    "values"
                }
            ));
        }
        let keys = match &t.key {
            Key::Expr { label, .. } => match differing_keys(conn, t, false) {
                Ok(k) if !k.is_empty() => format!("; rows by {label}: {}", k.join(", ")),
                Ok(_) => String::new(),
                Err(e) => format!("; the rows could not be named: {e}"),
            },
            Key::None => "; the table has no key the migrations keep".to_string(),
        };
        Error::RowProof {
            table: t.after.clone(),
            detail: format!("{}{keys}", what.join("; ")),
        }
    }

    /// Checks that every new column holds its default.
    fn check_added(&self, conn: &Connection, t: &TableProof) -> Result<()> {
        for (column, expected) in &t.added {
            let Some(expected) = expected else { continue };
            let c = quote_ident(column);
            // Rows without a key the migrations keep are named by the values they keep, or
            // by the value they hold.
            let kept: Vec<&str> = t.kept.iter().map(|(_, a)| a.as_str()).collect();
            let (key, label) = match &t.key {
                Key::Expr {
                    after,
                    single,
                    label,
                    ..
                } => (
                    if *single {
                        crate::sql::literal_sql(after)
                    } else {
                        after.clone()
                    },
                    label.clone(),
                ),
                Key::None if kept.is_empty() => {
                    (crate::sql::literal_sql(&c), "the value they hold".into())
                }
                Key::None => (
                    format!(
                        "'(' || {} || ')'",
                        kept.iter()
                            .map(|k| crate::sql::literal_sql(&quote_ident(k)))
                            .collect::<Vec<_>>()
                            .join(" || ', ' || ")
                    ),
                    format!(
                        "values ({})",
                        kept.iter()
                            .map(|k| format!("\"{k}\""))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ),
            };
            let holds: Vec<String> = expected
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let v = v.sql(i + 1);
                    format!("({c} IS {v} COLLATE BINARY AND typeof({c}) = typeof({v}))")
                })
                .collect();
            let sql = format!(
                "SELECT {key} FROM main.{} WHERE NOT ({}) LIMIT 5",
                quote_ident(&t.after),
                holds.join(" OR ")
            );
            let keys: Vec<Option<String>> = conn
                .prepare(&sql)
                .and_then(|mut s| {
                    s.query_map(
                        rusqlite::params_from_iter(expected.iter().map(|v| &v.value)),
                        |r| r.get(0),
                    )?
                    .collect::<rusqlite::Result<_>>()
                })
                .map_err(q(&format!("read \"{}\"", t.after)))?;
            if !keys.is_empty() {
                return Err(Error::RowProof {
                    table: t.after.clone(),
                    detail: format!(
                        "new column \"{column}\" does not hold its default {}; rows by {label}: {}",
                        show_default(expected),
                        keys.into_iter()
                            .map(|k| k.unwrap_or_else(|| "?".into()))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                });
            }
        }
        Ok(())
    }
}

/// The after-side expressions of the kept and converted columns.
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_defaults;
#[cfg(test)]
mod tests_existing;
#[cfg(test)]
mod tests_follow;
#[cfg(test)]
mod tests_identity;
#[cfg(test)]
mod tests_unread;
