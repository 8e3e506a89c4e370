//! The proof's row-level work: each table's expected shape and defaults, the scalar function
//! that hashes a row, the scratch simulation of a migration's statements, and the keys of rows
//! that differ.

use super::*;

pub(super) fn after_values(t: &TableProof) -> (Vec<String>, Vec<String>) {
    (
        t.kept.iter().map(|(_, a)| quote_ident(a)).collect(),
        t.converted.iter().map(|(_, a, _)| quote_ident(a)).collect(),
    )
}

/// Shows a value as SQL would write it.
pub(super) fn show(v: &Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::Integer(i) => i.to_string(),
        Value::Real(f) => f.to_string(),
        Value::Text(s) => quote_literal(s),
        Value::Blob(b) => format!(
            "x'{}'",
            b.iter().map(|x| format!("{x:02x}")).collect::<String>()
        ),
    }
}

/// One value a new column may hold, as SQLite stored its default.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Stored {
    /// The value; a text that is not UTF-8 is held as its bytes, in a blob.
    pub value: Value,
    /// The blob holds the bytes of such a text.
    pub text_bytes: bool,
}

impl Stored {
    /// Reads a value as SQLite holds it, a text that is not UTF-8 too.
    fn read(v: ValueRef<'_>) -> Stored {
        match v {
            ValueRef::Text(t) => match std::str::from_utf8(t) {
                Ok(t) => Stored::new(Value::Text(t.to_string())),
                Err(_) => Stored {
                    value: Value::Blob(t.to_vec()),
                    text_bytes: true,
                },
            },
            ValueRef::Null => Stored::new(Value::Null),
            ValueRef::Integer(i) => Stored::new(Value::Integer(i)),
            ValueRef::Real(f) => Stored::new(Value::Real(f)),
            ValueRef::Blob(b) => Stored::new(Value::Blob(b.to_vec())),
        }
    }

    fn new(value: Value) -> Stored {
        Stored {
            value,
            text_bytes: false,
        }
    }

    /// The SQL that gives this value from parameter `i`.
    pub fn sql(&self, i: usize) -> String {
        if self.text_bytes {
            format!("CAST(?{i} AS TEXT)")
        } else {
            format!("?{i}")
        }
    }

    fn show(&self) -> String {
        if self.text_bytes {
            format!("CAST({} AS TEXT)", show(&self.value))
        } else {
            show(&self.value)
        }
    }
}

/// Shows the values a new column may hold: the first, and the others in parentheses.
pub(super) fn show_default(values: &[Stored]) -> String {
    let mut out = values.first().map(Stored::show).unwrap_or_default();
    if values.len() > 1 {
        let others: Vec<String> = values[1..].iter().map(Stored::show).collect();
        out.push_str(&format!(" (or {})", others.join(", ")));
    }
    out
}

/// Stores the rows after the migrations beside the ones before and returns up to five keys
/// whose rows differ (or exist on one side only, unless `matched_only`). Runs when the sums
/// differ, and for a table whose rows change on purpose ([`TableProof::partial`]).
pub(super) fn differing_keys(
    conn: &Connection,
    t: &TableProof,
    matched_only: bool,
) -> Result<Vec<String>> {
    let Key::Expr { after, single, .. } = &t.key else {
        return Ok(Vec::new());
    };
    let before_t = format!("temp.{}", quote_ident(&t.temp));
    let after_t = format!("temp.{}", quote_ident(&format!("{}_after", t.temp)));
    let mut cols = vec!["k".to_string(), "h INTEGER".to_string()];
    cols.extend(
        t.converted
            .iter()
            .enumerate()
            .map(|(i, (_, _, a))| format!("c{i} {}", a.type_name())),
    );
    let (values, conv) = after_values(t);
    let mut args = vec![after.clone()];
    args.extend(values);
    let mut select = vec![
        after.clone(),
        // The scratch slot: these sums are not compared.
        format!("{FUNCTION}({}, 0, {})", usize::MAX >> 1, args.join(", ")),
    ];
    select.extend(conv);
    let targets: Vec<String> = std::iter::once("k".to_string())
        .chain(std::iter::once("h".to_string()))
        .chain((0..t.converted.len()).map(|i| format!("c{i}")))
        .collect();
    // An index names its table without the schema: it lives in the table's.
    let index = |table: &str, name: &str| {
        format!(
            "CREATE INDEX IF NOT EXISTS temp.{} ON {} (k)",
            quote_ident(&format!("{}_{name}", t.temp)),
            quote_ident(table)
        )
    };
    conn.execute_batch(&format!(
        "CREATE TEMP TABLE {} ({}); INSERT INTO {after_t} ({}) SELECT {} FROM main.{}; {}; {};",
        quote_ident(&format!("{}_after", t.temp)),
        cols.join(", "),
        targets.join(", "),
        select.join(", "),
        quote_ident(&t.after),
        index(&format!("{}_after", t.temp), "ka"),
        index(&t.temp, "kb"),
    ))
    .map_err(q("store the rows after"))?;
    let show_k = |side: &str| {
        if *single {
            crate::sql::literal_sql(&format!("{side}.k"))
        } else if t.by_values {
            format!("'(' || {side}.k || ')'")
        } else {
            format!("{side}.k")
        }
    };
    let conv_differs: String = (0..t.converted.len())
        .map(|i| {
            format!(" OR a.c{i} IS NOT b.c{i} COLLATE BINARY OR typeof(a.c{i}) <> typeof(b.c{i})")
        })
        .collect();
    let sql = if matched_only {
        format!(
            "SELECT {} FROM {before_t} AS b JOIN {after_t} AS a ON a.k IS b.k WHERE a.h IS NOT b.h{conv_differs} LIMIT 5",
            show_k("b"),
        )
    } else {
        format!(
            "SELECT {} FROM {before_t} AS b LEFT JOIN {after_t} AS a ON a.k IS b.k WHERE a.h IS NULL OR a.h IS NOT b.h{conv_differs} \
             UNION ALL SELECT {} FROM {after_t} AS a WHERE NOT EXISTS (SELECT 1 FROM {before_t} AS b WHERE b.k IS a.k) LIMIT 5",
            show_k("b"),
            show_k("a"),
        )
    };
    conn.prepare(&sql)
        .and_then(|mut s| {
            s.query_map([], |r| {
                Ok(r.get::<_, Option<String>>(0)?.unwrap_or_default())
            })?
            .collect::<rusqlite::Result<Vec<String>>>()
        })
        .map_err(q("compare the rows"))
}

impl Proof {
    /// A table whose rows change on purpose and that the migrations rebuild: every row on
    /// both sides (by its key) holds the values the migrations keep; rows inserted or deleted
    /// are theirs. Returns how many rows it has after.
    pub(super) fn verify_kept_rows(&self, conn: &Connection, t: &TableProof) -> Result<u64> {
        let keys = differing_keys(conn, t, true)?;
        if let (Some(_), Key::Expr { label, .. }) = (keys.first(), &t.key) {
            return Err(Error::RowProof {
                table: t.after.clone(),
                detail: format!(
                    "its rows change on purpose and the migrations rebuild it, so the rows they keep must keep their values (columns {}): rows by {label}: {} do not{}",
                    t.kept
                        .iter()
                        .map(|(_, a)| format!("\"{a}\""))
                        .chain(t.converted.iter().map(|(_, a, _)| format!("\"{a}\"")))
                        .collect::<Vec<_>>()
                        .join(", "),
                    keys.join(", "),
                    renumbered_hint(t)
                ),
            });
        }
        let n: i64 = conn
            .query_row(
                &format!("SELECT count(*) FROM main.{}", quote_ident(&t.after)),
                [],
                |r| r.get(0),
            )
            .map_err(q(&format!("read \"{}\"", t.after)))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

/// What to add to a refusal of rows matched by the rowid of a table without an INTEGER
/// PRIMARY KEY.
pub(super) fn renumbered_hint(t: &TableProof) -> &'static str {
    if t.bare_rowid {
        " (the table has no INTEGER PRIMARY KEY: its rows are matched by their rowids, which a copy that does not name them renumbers, and what keeps a rowid (a full-text index, a trigger, the application) would then find another row; name it: INSERT INTO new (rowid, ...) SELECT rowid, ... FROM old)"
    } else {
        ""
    }
}

/// The declared PRIMARY KEY of the table after, as (before, after) column pairs, when the
/// migrations keep every column of it (`map` gives the column before of a column after).
fn declared_key(
    after: &Shape,
    map: &dyn Fn(&str) -> Option<String>,
) -> Option<Vec<(String, String)>> {
    let mut pk: Vec<&Col> = after.columns.iter().filter(|c| c.pk > 0).collect();
    pk.sort_by_key(|c| c.pk);
    pk.iter()
        .map(|c| map(&c.name).map(|b| (b, c.name.clone())))
        .collect::<Option<Vec<_>>>()
        .filter(|m| !m.is_empty())
}

/// Whether a row of `table` holds NULL in one of the key's columns (before, after).
fn has_null(conn: &Connection, table: &str, key: &[(String, String)]) -> Result<bool> {
    let any = key
        .iter()
        .map(|(b, _)| format!("{} IS NULL", quote_ident(b)))
        .collect::<Vec<_>>()
        .join(" OR ");
    conn.query_row(
        &format!(
            "SELECT EXISTS (SELECT 1 FROM main.{} WHERE {any})",
            quote_ident(table)
        ),
        [],
        |r| r.get(0),
    )
    .map_err(q(&format!("read the key of \"{table}\"")))
}

/// The key over `mapped` (before, after) columns: their values, each as its SQL literal when
/// there are several; `by_values` when they are every column kept, not a declared key.
fn key_over(mapped: &[(String, String)], by_values: bool) -> Key {
    let side = |pick: fn(&(String, String)) -> &String| -> String {
        if mapped.len() == 1 {
            quote_ident(pick(&mapped[0]))
        } else {
            mapped
                .iter()
                .map(|m| crate::sql::literal_sql(&quote_ident(pick(m))))
                .collect::<Vec<_>>()
                .join(" || ',' || ")
        }
    };
    let names = mapped
        .iter()
        .map(|m| format!("\"{}\"", m.1))
        .collect::<Vec<_>>()
        .join(", ");
    Key::Expr {
        before: side(|m| &m.0),
        after: side(|m| &m.1),
        label: if by_values {
            format!("the values of ({names})")
        } else {
            format!("({names})")
        },
        single: mapped.len() == 1,
    }
}

/// Builds the proof of one table: which columns it keeps, converts and adds, and its key.
pub(super) fn table_proof(
    conn: &Connection,
    d: &Description,
    (bi, before_name, before): (usize, &str, &Shape),
    (ai, after_name, after): (usize, &str, &Shape),
    slot: usize,
) -> Result<TableProof> {
    let mut kept = Vec::new();
    let mut converted = Vec::new();
    let mut added = Vec::new();
    let mut sources: Vec<String> = Vec::new();
    for c in after.columns.iter().filter(|c| c.hidden == 0) {
        let source = match d.source(bi, ai, &c.name) {
            Source::Kept(name) => match before.column(&name) {
                Some(b) if b.hidden != 1 => Source::Kept(b.name.clone()),
                _ => Source::Added,
            },
            other => other,
        };
        if let Source::Kept(b) = &source {
            sources.push(b.clone());
        }
        match source {
            // A generated column made regular by a rollback gets back the values its
            // migration stashed, not the computed ones.
            Source::Kept(b)
                if before.column(&b).is_some_and(|b| b.hidden >= 2)
                    && d.filled_from_stash(bi, ai) => {}
            Source::Kept(b) => {
                let from = before.column(&b).map_or(c.affinity, |b| b.affinity);
                if from != c.affinity && d.filled_from_stash(bi, ai) {
                    // A rollback putting back a narrowed column's original values from its
                    // stash ('007', not the 7 the conversion gives): the stash answers for it.
                    continue;
                }
                if from == c.affinity {
                    kept.push((b, c.name.clone()));
                } else {
                    converted.push((b, c.name.clone(), c.affinity));
                }
            }
            Source::Added if d.fills_new_column(bi, ai, &c.name) => {}
            // A new INTEGER PRIMARY KEY is the rowid: held to the rows' rowids below.
            Source::Added if after.alias.as_deref() == Some(c.name.as_str()) => {}
            Source::Added => added.push((c.name.clone(), default_value(conn, c)?)),
            Source::Written => {}
        }
    }
    let map = |after_col: &str| -> Option<String> {
        kept.iter()
            .find(|(_, a)| a.eq_ignore_ascii_case(after_col))
            .map(|(b, _)| b.clone())
    };
    // The rowid is the rows' identity, INTEGER PRIMARY KEY or not. The rowids of a table
    // without one are SQLite's own (VACUUM renumbers them, and so does a copy that does not
    // name them: Rails' and Django's table remake), but what keeps a rowid cannot all be seen
    // (a full-text index, a trigger's audit row, a contentless index the application fills,
    // the application itself): a copy that renumbers such rows is refused, saying so and how
    // to copy the rowid ([`renumbered_hint`]).
    let mut key = Key::None;
    if before.rowid && after.rowid {
        // A new INTEGER PRIMARY KEY column takes the rowids the rows had (a rollback's
        // stash gives back the keys it kept, and new ones above them to rows it cannot find).
        // A column of the table before that becomes it, under its name or renamed, is not
        // new: its values become the rowids, and the rows are matched by it below.
        let fed = |a: &str| {
            kept.iter()
                .map(|(b, after)| (b, after))
                .chain(converted.iter().map(|(b, after, _)| (b, after)))
                .any(|(_, after)| after.eq_ignore_ascii_case(a))
        };
        let new_key =
            |a: &str| before.column(a).is_none() && !fed(a) && !d.filled_from_stash(bi, ai);
        let keeps_rowid = match (&before.alias, &after.alias) {
            (None, None) => true,
            (Some(b), Some(a)) => map(a).is_some_and(|m| m.eq_ignore_ascii_case(b)) || new_key(a),
            (None, Some(a)) => new_key(a),
            (Some(_), None) => false,
        };
        if let (true, Some(b), Some(a)) = (keeps_rowid, before.rowid_name(), after.rowid_name()) {
            key = Key::Expr {
                before: b.into(),
                after: a.into(),
                label: "rowid".into(),
                single: true,
            };
        }
    }
    // The INTEGER PRIMARY KEY goes (or comes from a column), or the table becomes WITHOUT
    // ROWID: the declared key, when it tells the rows apart (a rowid table's key may hold
    // NULLs, and rows sharing a key could trade a column's values unseen: the sums are per
    // column and per key), else all the values, when every column is kept as it is.
    let mut by_values = false;
    if matches!(key, Key::None) {
        let stored = after.columns.iter().filter(|c| c.hidden == 0).count();
        let every_column_kept = !kept.is_empty() && kept.len() == stored;
        let mapped = match declared_key(after, &map) {
            Some(k) if !(before.rowid && has_null(conn, before_name, &k)?) => Some(k),
            _ if every_column_kept && !d.tables[bi].rows_changed => {
                by_values = true;
                Some(kept.iter().map(|(b, a)| (b.clone(), a.clone())).collect())
            }
            _ => None,
        };
        if let Some(mapped) = mapped {
            key = key_over(&mapped, by_values);
        }
    }
    // Every stored column of the table before is counted: one no column after takes (by its
    // name or as a source) goes with the migrations, and the proof names it.
    let dropped = before
        .columns
        .iter()
        .filter(|b| b.hidden == 0)
        .filter(|b| !sources.iter().any(|s| s.eq_ignore_ascii_case(&b.name)))
        .filter(|b| after.column(&b.name).is_none())
        .map(|b| b.name.clone())
        .collect();
    let bare_rowid = before.alias.is_none()
        && after.alias.is_none()
        && matches!(&key, Key::Expr { label, .. } if label == "rowid");
    Ok(TableProof {
        bare_rowid,
        by_values,
        dropped,
        before: before_name.to_string(),
        after: after_name.to_string(),
        temp: format!("{TEMP_PREFIX}{}", slot / 3),
        key,
        kept,
        converted,
        added,
        slot,
        partial: false,
    })
}

/// The values a new column may hold in the rows that existed, as SQLite itself stores its
/// default there: NULL when it has none; else the value a row inserted without the column
/// gets (the default evaluated, the column's affinity applied) and the value the rows of a
/// table gain from `ALTER TABLE ADD COLUMN` (SQLite reads the default's literal text with the
/// affinity applied, so a TEXT column with `DEFAULT 1e3` holds '1e3' there and '1000.0'
/// after an INSERT; https://www.sqlite.org/lang_altertable.html). The migration took one of
/// the two ways; both are SQLite's own. None when the default is not a constant (such as
/// `CURRENT_TIMESTAMP` or a function call): the value the statement produced is accepted.
/// Keywords a parenthesis may follow in a constant expression: not function calls.
const OPERATORS: [&str; 13] = [
    "CAST", "CASE", "WHEN", "THEN", "ELSE", "AND", "OR", "NOT", "IN", "IS", "BETWEEN", "LIKE",
    "GLOB",
];

pub(super) fn default_value(conn: &Connection, c: &Col) -> Result<Option<Vec<Stored>>> {
    let Some(default) = &c.default else {
        return Ok(Some(vec![Stored::new(Value::Null)]));
    };
    let tokens = lex(default).unwrap_or_default();
    let constant = !tokens.is_empty()
        && !tokens.iter().enumerate().any(|(i, t)| {
            t.is_kw("CURRENT_TIME")
                || t.is_kw("CURRENT_DATE")
                || t.is_kw("CURRENT_TIMESTAMP")
                || (t.word().is_some()
                    && !OPERATORS.iter().any(|k| t.is_kw(k))
                    && tokens
                        .get(i + 1)
                        .is_some_and(|n| n.token == sqlparser::tokenizer::Token::LParen))
        });
    if !constant {
        return Ok(None);
    }
    // The default is the expression SQLite already accepted as this column's DEFAULT (the
    // catalog gives it without the parentheses it may need, which SQLite's parser does not
    // keep: `(1e3)` is the same expression as `1e3`); it goes back into a DEFAULT clause, one
    // statement each (execute refuses more), with its closing parenthesis on a line of its
    // own so that a trailing comment cannot reach it.
    let ty = c.affinity.type_name();
    let table = format!("temp.{TEMP_PREFIX}value");
    let column = format!("v {ty} DEFAULT ({default}\n)");
    let computed = |steps: &[String]| -> Option<Stored> {
        let run = || -> Option<Stored> {
            for s in steps {
                conn.execute(s, []).ok()?;
            }
            conn.query_row(&format!("SELECT v FROM {table}"), [], |r| {
                Ok(Stored::read(r.get_ref(0)?))
            })
            .ok()
        };
        let _ = conn.execute_batch(&format!("DROP TABLE IF EXISTS {table}"));
        let v = run();
        let _ = conn.execute_batch(&format!("DROP TABLE IF EXISTS {table}"));
        v
    };
    let inserted = computed(&[
        format!("CREATE TEMP TABLE {TEMP_PREFIX}value ({column})"),
        format!("INSERT INTO {table} DEFAULT VALUES"),
    ]);
    // SQLite refuses ADD COLUMN with a default it cannot read as a constant on a table with
    // rows: then only the INSERT way is open.
    let altered = computed(&[
        format!("CREATE TEMP TABLE {TEMP_PREFIX}value (x)"),
        format!("INSERT INTO {table} (x) VALUES (NULL)"),
        format!("ALTER TABLE {table} ADD COLUMN {column}"),
    ]);
    let mut values: Vec<Stored> = Vec::new();
    for v in inserted.into_iter().chain(altered) {
        if !values.contains(&v) {
            values.push(v);
        }
    }
    Ok((!values.is_empty()).then_some(values))
}

/// Shapes by the names asked for; None for one not readable.
pub(super) type Shapes = Vec<(String, Option<Shape>)>;

/// Where the proof reads the shape of a table after the migrations.
pub(super) enum After {
    /// A copy of the schema in memory, with the migrations run on it.
    Copy(Connection),
    /// The shapes read in the migrations' own transaction, where they ran in a savepoint and
    /// were rolled back ([`in_place`]).
    Read(Shapes),
}

impl After {
    /// The shape of `table` after the migrations; None when it cannot be read.
    pub(super) fn shape(&self, table: &str) -> Option<Shape> {
        match self {
            After::Copy(sim) => Shape::read(sim, table).ok(),
            After::Read(shapes) => shapes
                .iter()
                .find(|(name, _)| name == table)
                .and_then(|(_, shape)| shape.clone()),
        }
    }
}

/// The schema after `sql`, for the proof to read the shapes of `tables` from.
///
/// First on a copy of the objects the migrations name ([`simulate_on`]): cheap at thousands of
/// tables. Where they do not run on that copy (a statement needs rows: a NOT NULL column
/// filled from an aggregate of a table, h25_03; a trigger of a table they write fills one they
/// do not name, h25_03b), they run on the real rows and schema, in a savepoint of the
/// transaction `conn` is in, and are rolled back ([`in_place`]): a migration that runs for
/// real runs there. None only when they fail there too, so that the run itself fails on the
/// same statement (or, outside a transaction, when they do not run on a copy of the whole
/// schema either).
pub(super) fn after(
    conn: &Connection,
    sql: &[&str],
    named: &BTreeSet<String>,
    tables: &[&str],
) -> Result<Option<After>> {
    if conn.is_autocommit() {
        return Ok(simulate(conn, sql, named).map(After::Copy));
    }
    if let Some(sim) = simulate_on(conn, sql, Some(named)) {
        return Ok(Some(After::Copy(sim)));
    }
    Ok(in_place(conn, sql, tables)?.map(After::Read))
}

/// The savepoint [`in_place`] runs the migrations in.
const SAVEPOINT: &str = "_schemactl_proof_simulation";

/// Runs `sql` in a savepoint of `conn`'s transaction (confined, as the run confines it), reads
/// the shapes of `tables`, and rolls the savepoint back; the connection's settings a statement
/// may change are put back, so that the transaction is as it was. None when a statement
/// fails. An error when the statements ended the transaction itself (a conflict resolved with
/// `OR ROLLBACK`, a trigger's `RAISE(ROLLBACK, ...)`): nothing of it is left to commit.
fn in_place(conn: &Connection, sql: &[&str], tables: &[&str]) -> Result<Option<Shapes>> {
    let settings =
        crate::db::confined::settings(conn).map_err(q("read the connection's settings"))?;
    conn.execute_batch(&format!("SAVEPOINT {SAVEPOINT}"))
        .map_err(q("start its run of the migrations"))?;
    let ran = {
        let _confined = crate::db::confined::Confined::new(conn);
        sql.iter().all(|s| conn.execute_batch(s).is_ok())
    };
    if conn.is_autocommit() {
        return Err(Error::RowProof {
            table: tables.first().map_or_else(String::new, |t| t.to_string()),
            detail: "the migrations ended the transaction when the proof ran them (a conflict resolved with OR ROLLBACK, or RAISE(ROLLBACK) in a trigger): nothing was applied".into(),
        });
    }
    let shapes = ran.then(|| {
        tables
            .iter()
            .map(|t| (t.to_string(), Shape::read(conn, t).ok()))
            .collect()
    });
    conn.execute_batch(&format!("ROLLBACK TO {SAVEPOINT}; RELEASE {SAVEPOINT}"))
        .map_err(q("undo its run of the migrations"))?;
    crate::db::confined::put_back(conn, &settings)
        .map_err(q("put back the connection's settings"))?;
    Ok(shapes)
}

/// Creates the objects of `conn` the migrations name (and the indexes and triggers of the
/// tables they name) in memory and runs `sql` on them; None when it does not run there
/// (migrations whose data statements need real rows, or that need objects they do not name).
/// Creating only what they name keeps a one-table change on a schema of thousands of tables
/// cheap: SQLite rereads its catalog on every CREATE.
///
/// When they do not run on what they name alone (a trigger of a table they write fills another
/// table: h25_03b), they run once more on the whole schema, rows aside.
pub(super) fn simulate(
    conn: &Connection,
    sql: &[&str],
    named: &BTreeSet<String>,
) -> Option<Connection> {
    simulate_on(conn, sql, Some(named)).or_else(|| simulate_on(conn, sql, None))
}

/// [`simulate`] on the objects `named` names, or on every object.
fn simulate_on(
    conn: &Connection,
    sql: &[&str],
    named: Option<&BTreeSet<String>>,
) -> Option<Connection> {
    let sim = Connection::open_in_memory().ok()?;
    let objects: Vec<String> = conn
        .prepare("SELECT name, tbl_name, sql FROM main.sqlite_schema WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid")
        .and_then(|mut s| {
            s.query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()
        })
        .ok()?
        .into_iter()
        .filter(|(name, table, _)| {
            named.is_none_or(|named| {
                named.contains(&name.to_ascii_lowercase())
                    || named.contains(&table.to_ascii_lowercase())
            })
        })
        .map(|(_, _, sql)| sql)
        .collect();
    sim.execute_batch("PRAGMA foreign_keys = OFF; BEGIN").ok()?;
    for o in &objects {
        // The shadow tables of a virtual table exist once the virtual table does.
        let _ = sim.execute_batch(o);
    }
    sim.execute_batch("COMMIT").ok()?;
    {
        // The migration's statements keep to the simulation (see db::confined).
        let _confined = crate::db::confined::Confined::new(&sim);
        for s in sql {
            sim.execute_batch(s).ok()?;
        }
    }
    Some(sim)
}

/// The collation this build lacks that reading the rows of `table` needs (a WITHOUT ROWID
/// key in it, say), if any.
pub(super) fn unreadable(conn: &Connection, table: &str) -> Option<String> {
    // A read of a WITHOUT ROWID table keyed in it fails as "no query solution"; a count
    // names the collation.
    let read = |sql: &str| {
        conn.prepare(&format!("{sql} main.{} NOT INDEXED", quote_ident(table)))
            .and_then(|mut s| s.exists([]))
    };
    match read("SELECT * FROM") {
        Err(_) => read("SELECT count(*) FROM")
            .err()
            .and_then(|e| crate::db::missing_collation(&e)),
        Ok(_) => None,
    }
}

/// Registers [`FUNCTION`] on `conn`, summing into `state`.
pub(super) fn register(conn: &Connection, state: Arc<Mutex<Vec<Acc>>>) -> Result<()> {
    conn.create_scalar_function(FUNCTION, -1, FunctionFlags::SQLITE_UTF8, move |ctx| {
        let fail = |m: &str| rusqlite::Error::UserFunctionError(m.to_string().into());
        if ctx.len() < 3 {
            return Err(fail("row proof: too few arguments"));
        }
        let slot = usize::try_from(ctx.get::<i64>(0)?).map_err(|_| fail("bad slot"))?;
        // A table has at most 32,767 columns (SQLITE_MAX_COLUMN's ceiling).
        let first = usize::try_from(ctx.get::<i64>(1)?)
            .ok()
            .filter(|f| *f <= 1 << 15)
            .ok_or_else(|| fail("bad column"))?;
        let mut key = DefaultHasher::new();
        feed(&mut key, ctx.get_raw(2));
        let mut row = DefaultHasher::new();
        let mut state = state.lock().map_err(|_| fail("row proof: poisoned"))?;
        if slot > 1 << 20 {
            // The scratch slot: only the row's hash is wanted.
            for i in 3..ctx.len() {
                feed(&mut row, ctx.get_raw(i));
            }
            return Ok(row.finish() as i64);
        }
        if state.len() <= slot {
            state.resize(slot + 1, Acc::default());
        }
        let acc = &mut state[slot];
        acc.rows += 1;
        acc.keys = acc.keys.wrapping_add(key.finish());
        for i in 3..ctx.len() {
            let v = ctx.get_raw(i);
            feed(&mut row, v);
            let c = first + i - 3;
            let mut h = key.clone();
            c.hash(&mut h);
            feed(&mut h, v);
            if acc.columns.len() <= c {
                acc.columns.resize(c + 1, 0);
            }
            acc.columns[c] = acc.columns[c].wrapping_add(h.finish());
        }
        // The row's hash is stored as SQLite's signed 64-bit integer, bit for bit.
        Ok(row.finish() as i64)
    })
    .map_err(q("register its function"))
}

/// Feeds one value, with its storage class, to a hasher.
pub(super) fn feed(h: &mut DefaultHasher, v: ValueRef<'_>) {
    match v {
        ValueRef::Null => h.write_u8(0),
        ValueRef::Integer(i) => {
            h.write_u8(1);
            h.write_i64(i);
        }
        ValueRef::Real(f) => {
            h.write_u8(2);
            h.write_u64(f.to_bits());
        }
        ValueRef::Text(t) => {
            h.write_u8(3);
            h.write_usize(t.len());
            h.write(t);
        }
        ValueRef::Blob(b) => {
            h.write_u8(4);
            h.write_usize(b.len());
            h.write(b);
        }
    }
}
