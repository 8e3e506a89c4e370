//! The operations a schema declares beside its structure: invariants every row must satisfy,
//! expiry columns, retention rules and the application's named queries. They are not part of
//! the schema's structure (diff, plan and snapshots ignore them); `check`, `prune` and
//! `explain` follow them. Every condition and query is checked against the schema by SQLite
//! when the schema loads, and a refusal is reported at its place in the file.

use rusqlite::Connection;
use serde_saphyr::Spanned;

use super::context::{Ctx, place_of};
use super::spec::{FileSpec, OrderedMap, RetentionSpec};
use crate::model::Schema;
use crate::normal;
use crate::sql::quote_ident;

/// Everything a schema declares for operations.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Rules {
    /// Named conditions every row of a table must satisfy.
    pub invariants: Vec<Invariant>,
    /// Tables whose rows expire, and the column saying when.
    pub expiry: Vec<Expiry>,
    /// Which rows `prune` removes, per table.
    pub retention: Vec<Retention>,
    /// The application's named queries, for `explain` and `check`.
    pub queries: Vec<Query>,
}

/// A named condition every row of a table must satisfy.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Invariant {
    /// The table.
    pub table: String,
    /// The invariant's name.
    pub name: String,
    /// An SQL expression over the table's columns, true for every valid row.
    pub condition: String,
}

/// A table's expiry column: a row whose time there is in the past has expired.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Expiry {
    /// The table.
    pub table: String,
    /// The column holding the expiry time (NULL: never expires).
    pub column: String,
}

/// A table's retention rule.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Retention {
    /// The table.
    pub table: String,
    /// An SQL expression, true for the rows to remove.
    pub when: String,
    /// Whether the rows are archived before they are deleted.
    pub archive: bool,
}

/// A named query the application runs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Query {
    /// The query's name.
    pub name: String,
    /// One SELECT statement; parameters (`?`, `:name`) are allowed.
    pub sql: String,
}

/// The rule keys of every file, taken out of the parsed files so that these can be dropped
/// before the schema is materialised (at thousands of tables they are the largest thing held).
pub(super) struct RuleSpecs(Vec<FileRules>);

/// One file's rule keys.
struct FileRules {
    /// The tables that declare any, in file order.
    tables: Vec<(Spanned<String>, TableRules)>,
    queries: OrderedMap<Spanned<String>>,
}

/// One table's rule keys.
struct TableRules {
    invariants: OrderedMap<Spanned<String>>,
    expires: Option<Box<Spanned<String>>>,
    retention: Option<Box<Spanned<RetentionSpec>>>,
}

/// Takes the rule keys out of the parsed files (leaving them without any).
pub(super) fn take(files: &mut [FileSpec]) -> RuleSpecs {
    let files = files
        .iter_mut()
        .map(|file| FileRules {
            tables: file
                .tables
                .0
                .iter_mut()
                .filter(|(_, spec)| {
                    !spec.invariants.0.is_empty()
                        || spec.expires.is_some()
                        || spec.retention.is_some()
                })
                .map(|(name, spec)| {
                    let rules = TableRules {
                        invariants: std::mem::take(&mut spec.invariants),
                        expires: spec.expires.take(),
                        retention: spec.retention.take(),
                    };
                    (name.clone(), rules)
                })
                .collect(),
            queries: std::mem::take(&mut file.queries),
        })
        .collect();
    RuleSpecs(files)
}

/// Reads and checks the rules of every file against the normal schema.
/// `failed` names the declared tables that did not convert (their errors are reported): their
/// rules, and queries naming them, are not checked.
pub(super) fn rules(
    ctx: &mut Ctx<'_>,
    specs: &RuleSpecs,
    schema: &Schema,
    failed: &[String],
) -> Rules {
    let files = &specs.0;
    // Created when a rule first needs it, with only the part of the schema the rules can
    // reach (the tables they name, and what the views they name read): a schema of thousands
    // of tables is never created a second time. A schema with errors may not materialise whole
    // (a view over a table that failed): then that part's tables and indexes alone are the
    // basis.
    let lazy = std::cell::OnceCell::new();
    let conn = || -> Option<&Connection> {
        lazy.get_or_init(|| {
            let part = reached(specs, schema);
            normal::create_in_memory(&part).ok().or_else(|| {
                let tables_only = Schema {
                    tables: part.tables,
                    ..Schema::default()
                };
                normal::create_in_memory(&tables_only).ok()
            })
        })
        .as_ref()
    };
    let knock_on = |sql: &str| failed.iter().any(|t| crate::sql::mentions(sql, t));
    let mut rules = Rules::default();
    for (src, file) in files.iter().enumerate() {
        for (tname, spec) in &file.tables {
            let table = tname.value.clone();
            if failed.iter().any(|t| t.eq_ignore_ascii_case(&table)) {
                continue;
            }
            let columns: Vec<String> = schema
                .table(&table)
                .map(|t| t.columns.iter().map(|c| c.name.to_string()).collect())
                .unwrap_or_default();
            for (name, condition) in &spec.invariants.0 {
                let what = format!("table \"{table}\", invariant \"{}\"", name.value);
                let sql = format!(
                    "SELECT count(*) FROM {} WHERE NOT ({}\n)",
                    quote_ident(&table),
                    condition.value
                );
                if check(ctx, conn(), src, condition, &what, &sql) {
                    rules.invariants.push(Invariant {
                        table: table.clone(),
                        name: name.value.clone(),
                        condition: condition.value.trim().to_string(),
                    });
                }
            }
            if let Some(column) = &spec.expires {
                match columns
                    .iter()
                    .find(|c| c.eq_ignore_ascii_case(&column.value))
                {
                    Some(c) => rules.expiry.push(Expiry {
                        table: table.clone(),
                        column: c.clone(),
                    }),
                    None => ctx.error(
                        place_of(src, column),
                        format!("table \"{table}\", expires: no column \"{}\"", column.value),
                        "unknown column",
                    ),
                }
            }
            if let Some(rule) = &spec.retention {
                let what = format!("table \"{table}\", retention");
                let sql = format!(
                    "SELECT count(*) FROM {} WHERE ({}\n)",
                    quote_ident(&table),
                    rule.value.when.value
                );
                if check(ctx, conn(), src, &rule.value.when, &what, &sql) {
                    rules.retention.push(Retention {
                        table: table.clone(),
                        when: rule.value.when.value.trim().to_string(),
                        archive: rule.value.archive,
                    });
                }
            }
        }
        for (name, sql) in &file.queries.0 {
            let what = format!("query \"{}\"", name.value);
            let place = place_of(src, sql);
            let Some(conn) = conn() else { continue };
            match conn.prepare(sql.value.trim()) {
                Ok(stmt) if stmt.readonly() => rules.queries.push(Query {
                    name: name.value.clone(),
                    sql: sql.value.trim().to_string(),
                }),
                Ok(_) => ctx.error(
                    place,
                    format!("{what}: a declared query must only read (one SELECT)"),
                    "writes",
                ),
                Err(_) if knock_on(&sql.value) => {}
                Err(e) => ctx.error(
                    place,
                    format!("{what}: SQLite refuses it: {}", normal::sqlite_message(&e)),
                    "refused by SQLite",
                ),
            }
        }
    }
    rules
}

/// The part of `schema` that the rules and queries of `specs` can reach: what they name, and
/// transitively what the views they name read (see [`normal::part::reach`]); the whole schema
/// when some text does not lex or names the catalog.
fn reached(specs: &RuleSpecs, schema: &Schema) -> Schema {
    let mut texts: Vec<String> = Vec::new();
    for file in &specs.0 {
        for (tname, spec) in &file.tables {
            let rules = spec.invariants.0.iter().map(|(_, c)| c.value.as_str());
            let retention = spec.retention.iter().map(|r| r.value.when.value.as_str());
            let conditions: Vec<&str> = rules.chain(retention).collect();
            if conditions.is_empty() {
                continue;
            }
            texts.push(quote_ident(&tname.value));
            texts.extend(conditions.into_iter().map(str::to_string));
        }
        texts.extend(file.queries.0.iter().map(|(_, q)| q.value.clone()));
    }
    if texts.is_empty() {
        return Schema::default();
    }
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    match normal::part::reach(schema, &texts) {
        Some(names) => normal::part::within(schema, &names),
        None => schema.clone(),
    }
}

/// Checks that `condition` is one expression and that SQLite prepares `sql` built from it.
fn check(
    ctx: &mut Ctx<'_>,
    conn: Option<&Connection>,
    src: usize,
    condition: &Spanned<String>,
    what: &str,
    sql: &str,
) -> bool {
    let place = place_of(src, condition);
    if !ctx.check_expr(place, what, &condition.value) {
        return false;
    }
    let Some(conn) = conn else { return false };
    match conn.prepare(sql) {
        Ok(_) => true,
        Err(e) => {
            ctx.error(
                place,
                format!("{what}: SQLite refuses it: {}", normal::sqlite_message(&e)),
                "refused by SQLite",
            );
            false
        }
    }
}
