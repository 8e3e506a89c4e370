//! `schemactl explain`: EXPLAIN QUERY PLAN for each declared query, with full scans and
//! temporary b-trees called out, and an index suggested (and proven, on an empty copy of the
//! schema) where one would remove a full scan.

use rusqlite::Connection;
use sqlparser::tokenizer::Token;

use crate::dsl::Query;
use crate::error::{Error, Result};
use crate::model::{Schema, Table};
use crate::sql::{Tok, ident, lex};

/// The plan of one declared query.
#[derive(Debug, Clone, serde::Serialize)]
pub struct QueryPlan {
    /// The query's name.
    pub name: String,
    /// Its SQL.
    pub sql: String,
    /// The plan's lines, indented by depth.
    pub plan: Vec<String>,
    /// Lines that scan a whole table.
    pub full_scans: Vec<String>,
    /// Lines that build a temporary b-tree (a sort or DISTINCT without an index).
    pub temp_btrees: Vec<String>,
    /// A CREATE INDEX that removes a full scan, when one was found.
    pub suggestion: Option<String>,
}

/// Explains every query on `conn`, whose schema (as inspected) is `live`.
pub fn explain(conn: &Connection, live: &Schema, queries: &[Query]) -> Result<Vec<QueryPlan>> {
    queries
        .iter()
        .map(|query| {
            let lines = plan_lines(conn, &query.sql)
                .map_err(|e| Error::sqlite(format!("explain query \"{}\"", query.name), e))?;
            let full_scans: Vec<String> = lines
                .iter()
                .filter(|l| scanned(l).is_some())
                .map(|l| l.trim().to_string())
                .collect();
            let temp_btrees = lines
                .iter()
                .filter(|l| l.contains("USE TEMP B-TREE"))
                .map(|l| l.trim().to_string())
                .collect();
            let suggestion = full_scans
                .first()
                .and_then(|l| scanned(l))
                .and_then(|name| suggest(live, &query.sql, &name));
            Ok(QueryPlan {
                name: query.name.clone(),
                sql: query.sql.clone(),
                plan: lines,
                full_scans,
                temp_btrees,
                suggestion,
            })
        })
        .collect()
}

/// EXPLAIN QUERY PLAN's lines, each indented two spaces per level.
fn plan_lines(conn: &Connection, sql: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
    // Declared queries keep their parameters unbound (NULL): the plan does not depend on
    // their values, and a raw query does not insist on them.
    let mut raw = stmt.raw_query();
    let mut rows: Vec<(i64, i64, String)> = Vec::new();
    while let Some(r) = raw.next()? {
        rows.push((r.get(0)?, r.get(1)?, r.get(3)?));
    }
    let mut depth: Vec<(i64, usize)> = Vec::new();
    Ok(rows
        .into_iter()
        .map(|(id, parent, detail)| {
            let level = depth
                .iter()
                .find(|(i, _)| *i == parent)
                .map_or(0, |(_, l)| l + 1);
            depth.push((id, level));
            format!("{}{detail}", "  ".repeat(level))
        })
        .collect())
}

/// The table (or alias) a plan line scans whole, if it does.
fn scanned(line: &str) -> Option<String> {
    let rest = line.trim().strip_prefix("SCAN ")?;
    if rest.starts_with("CONSTANT ROW") || rest.starts_with('(') {
        return None;
    }
    let name = rest.split(" USING ").next().unwrap_or(rest);
    let name = name.strip_prefix("TABLE ").unwrap_or(name);
    let name = name.rsplit(" AS ").next().unwrap_or(name);
    Some(name.trim().to_string())
}

/// Finds the table behind `name` (a table, or an alias in the query's FROM).
fn table_of<'a>(schema: &'a Schema, tokens: &[Tok], name: &str) -> Option<&'a Table> {
    if let Some(t) = schema.table(name) {
        return Some(t);
    }
    tokens.windows(3).find_map(|w| {
        let alias = if w[1].is_kw("AS") { &w[2] } else { &w[1] };
        // The table and its alias are names (a single-quoted string is one there: `FROM
        // 'a' AS 'x'`).
        let table = w[0].name().and_then(|t| schema.table(t))?;
        alias
            .name()
            .filter(|a| a.eq_ignore_ascii_case(name))
            .map(|_| table)
    })
}

/// Proposes an index from the query's WHERE and ORDER BY columns of the scanned table
/// (equalities first, then one range or the ORDER BY), and keeps it only when EXPLAIN on an
/// empty copy of the schema shows that it removes the full scan.
fn suggest(live: &Schema, sql: &str, scanned_name: &str) -> Option<String> {
    let tokens = lex(sql).ok()?;
    let table = table_of(live, &tokens, scanned_name)?;
    let column_at = |i: usize| -> Option<String> {
        let w = tokens.get(i)?.word()?;
        let col = table.column(w)?;
        // Skip the qualifier of `t.col`: it is the next word's.
        if matches!(tokens.get(i + 1).map(|t| &t.token), Some(Token::Period)) {
            return None;
        }
        Some(col.name.to_string())
    };
    let (mut eq, mut range, mut order) = (Vec::new(), Vec::new(), Vec::new());
    let mut section = "";
    for i in 0..tokens.len() {
        let t = &tokens[i];
        if t.is_kw("WHERE") {
            section = "where";
        } else if t.is_kw("ORDER") {
            section = "order";
        } else if t.is_kw("GROUP") || t.is_kw("LIMIT") || t.is_kw("HAVING") {
            section = "";
        }
        let Some(col) = column_at(i) else { continue };
        match section {
            "where" => {
                let next = tokens.get(i + 1);
                let is_eq = next.is_some_and(|n| {
                    matches!(n.token, Token::Eq | Token::DoubleEq) || n.is_kw("IN") || n.is_kw("IS")
                });
                let target = if is_eq { &mut eq } else { &mut range };
                if !target.contains(&col) {
                    target.push(col);
                }
            }
            "order" => {
                let desc = tokens.get(i + 1).is_some_and(|n| n.is_kw("DESC"));
                order.push(if desc {
                    format!("{} DESC", ident(&col))
                } else {
                    ident(&col)
                });
            }
            _ => {}
        }
    }
    let mut keys: Vec<String> = eq.iter().map(|c| ident(c)).collect();
    match (range.iter().find(|c| !eq.contains(c)), order.is_empty()) {
        (_, false) => keys.extend(order),
        (Some(r), true) => keys.push(ident(r)),
        (None, true) => {}
    }
    if keys.is_empty() {
        return None;
    }
    let name = format!(
        "idx_{}_{}",
        table.name,
        eq.iter()
            .chain(range.iter())
            .next()
            .cloned()
            .unwrap_or_else(|| "order".into())
    );
    let create = format!(
        "CREATE INDEX {} ON {}({})",
        ident(&name),
        ident(&table.name),
        keys.join(", ")
    );
    let scratch = crate::normal::create_in_memory(live).ok()?;
    scratch.execute_batch(&create).ok()?;
    let after = plan_lines(&scratch, sql).ok()?;
    let still = after
        .iter()
        .filter_map(|l| scanned(l))
        .any(|n| n.eq_ignore_ascii_case(scanned_name));
    (!still).then_some(create)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_and_its_alias_are_read_in_every_spelling() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT)")
            .unwrap();
        let schema = crate::inspect(&conn).unwrap();
        for sql in [
            "SELECT * FROM a AS x WHERE v = 1",
            "SELECT * FROM \"a\" \"x\" WHERE v = 1",
            "SELECT * FROM [a] AS `x` WHERE v = 1",
            "SELECT * FROM 'a' AS 'x' WHERE v = 1",
        ] {
            let tokens = lex(sql).unwrap();
            let table = table_of(&schema, &tokens, "x").map(|t| t.name.to_string());
            assert_eq!(table.as_deref(), Some("a"), "{sql}");
        }
    }
}
