//! The evidence an app chain's replay is judged by: each database's catalog as SQLite reports
//! it (normalised SQL, PRAGMA rows), and its rows, seeded before a step and compared after.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use rusqlite::Connection;
use rusqlite::types::Value;
use sqlparser::dialect::SQLiteDialect;
use sqlparser::tokenizer::{Token, Tokenizer};

// ---------------------------------------------------------------------------------------------
// The catalog
// ---------------------------------------------------------------------------------------------

/// SQL compared by meaning: comments and spacing dropped, words (quoted or not) folded to lower
/// case, one space between tokens.
pub(super) fn normalise(sql: &str) -> String {
    let tokens = match Tokenizer::new(&SQLiteDialect {}, sql).tokenize() {
        Ok(t) => t,
        Err(_) => return sql.split_whitespace().collect::<Vec<_>>().join(" "),
    };
    tokens
        .iter()
        .filter(|t| !matches!(t, Token::Whitespace(_)))
        .map(|t| match t {
            Token::Word(w) => w.value.to_lowercase(),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
        .trim_end_matches(" ;")
        .to_string()
}

/// The significant tokens of `sql`, words folded as in [`normalise`].
pub(super) fn tokens(sql: &str) -> Vec<String> {
    Tokenizer::new(&SQLiteDialect {}, sql)
        .tokenize()
        .unwrap_or_default()
        .iter()
        .filter(|t| !matches!(t, Token::Whitespace(_)))
        .map(|t| match t {
            Token::Word(w) => w.value.to_lowercase(),
            other => other.to_string(),
        })
        .collect()
}

/// What PRAGMAs do not show of a CREATE TABLE: its CHECK bodies (table-level, or per column),
/// COLLATE clauses per column, and AUTOINCREMENT.
pub(super) fn table_extras(sql: &str) -> Vec<String> {
    let toks = tokens(sql);
    let Some(open) = toks.iter().position(|t| t == "(") else {
        return Vec::new();
    };
    // Split the body at its top-level commas.
    let mut elements: Vec<Vec<String>> = vec![Vec::new()];
    let mut depth = 0usize;
    for t in &toks[open + 1..] {
        match t.as_str() {
            "(" => depth += 1,
            ")" if depth == 0 => break,
            ")" => depth -= 1,
            "," if depth == 0 => {
                elements.push(Vec::new());
                continue;
            }
            _ => {}
        }
        elements.last_mut().unwrap().push(t.clone());
    }
    let mut out = Vec::new();
    for element in elements {
        let Some(first) = element.first() else {
            continue;
        };
        let owner =
            if ["constraint", "primary", "unique", "check", "foreign"].contains(&first.as_str()) {
                "table".to_string()
            } else {
                format!("column {first}")
            };
        let mut i = 0;
        while i < element.len() {
            match element[i].as_str() {
                "check" if element.get(i + 1).is_some_and(|t| t == "(") => {
                    let mut depth = 0usize;
                    let mut body = Vec::new();
                    for t in &element[i + 1..] {
                        match t.as_str() {
                            "(" => depth += 1,
                            ")" => depth -= 1,
                            _ => {}
                        }
                        body.push(t.clone());
                        if depth == 0 {
                            break;
                        }
                    }
                    i += body.len();
                    out.push(format!("{owner}: check {}", body.join(" ")));
                }
                "collate" => {
                    out.push(format!(
                        "{owner}: collate {}",
                        element.get(i + 1).cloned().unwrap_or_default()
                    ));
                    i += 1;
                }
                "autoincrement" => out.push(format!("{owner}: autoincrement")),
                _ => {}
            }
            i += 1;
        }
    }
    out.sort();
    out
}

pub(super) fn value_text(v: &Value) -> String {
    match v {
        // Not "NULL": a default of NULL (no default) and `DEFAULT NULL` (the text) must differ.
        Value::Null => "<null>".into(),
        Value::Integer(i) => i.to_string(),
        Value::Real(r) => r.to_string(),
        Value::Text(t) => t.clone(),
        Value::Blob(b) => format!(
            "x'{}'",
            b.iter().map(|x| format!("{x:02x}")).collect::<String>()
        ),
    }
}

/// Runs a PRAGMA-style query and renders each row as `a|b|c`.
pub(super) fn lines(conn: &Connection, sql: &str, params: &[&dyn rusqlite::ToSql]) -> Vec<String> {
    let mut stmt = match conn.prepare(sql) {
        Ok(s) => s,
        Err(e) => return vec![format!("error: {e}")],
    };
    let n = stmt.column_count();
    stmt.query_map(params, |r| {
        Ok((0..n)
            .map(|i| value_text(&r.get::<_, Value>(i).unwrap()))
            .collect::<Vec<_>>()
            .join("|"))
    })
    .map(|rows| rows.map(|r| r.unwrap()).collect())
    .unwrap_or_else(|e| vec![format!("error: {e}")])
}

pub(super) fn ours(name: &str) -> bool {
    name.to_ascii_lowercase().starts_with("_schemactl_")
}

/// The catalog of a database, one line per fact, in a stable order.
pub(super) fn catalog(path: &Path) -> Vec<String> {
    let conn = Connection::open(path).expect("open a database for its catalog");
    let mut out = Vec::new();
    let mut tables: Vec<(String, String)> = lines(
        &conn,
        "SELECT name, type || ' ncol=' || ncol || ' wr=' || wr || ' strict=' || strict \
         FROM pragma_table_list WHERE schema = 'main'",
        &[],
    )
    .into_iter()
    .filter_map(|l| {
        let (name, rest) = l.split_once('|')?;
        Some((name.to_string(), rest.to_string()))
    })
    .filter(|(n, _)| !ours(n))
    .collect();
    tables.sort_by_key(|(n, _)| n.to_ascii_lowercase());
    for (table, kind) in &tables {
        let t = table.to_ascii_lowercase();
        out.push(format!("table {t}: {kind}"));
        for l in lines(
            &conn,
            "SELECT cid, lower(name), type, \"notnull\", dflt_value, pk, hidden \
             FROM pragma_table_xinfo(?1)",
            &[table],
        ) {
            out.push(format!("table {t}: column {l}"));
        }
        let mut indexes: Vec<(String, String)> = lines(
            &conn,
            "SELECT name, \"unique\" || '|' || origin || '|' || partial FROM pragma_index_list(?1)",
            &[table],
        )
        .into_iter()
        .filter_map(|l| {
            let (name, rest) = l.split_once('|')?;
            Some((name.to_string(), rest.to_string()))
        })
        .collect();
        indexes.sort_by_key(|(n, _)| n.to_ascii_lowercase());
        for (index, kind) in indexes {
            let i = index.to_ascii_lowercase();
            out.push(format!("table {t}: index {i}: {kind}"));
            for l in lines(
                &conn,
                "SELECT seqno, cid, lower(name), \"desc\", coll, key FROM pragma_index_xinfo(?1)",
                &[&index],
            ) {
                out.push(format!("table {t}: index {i}: {l}"));
            }
            // Partial WHERE and expressions: what index_xinfo does not show.
            let sql: Option<String> = conn
                .query_row(
                    "SELECT sql FROM sqlite_schema WHERE type = 'index' AND name = ?1",
                    [&index],
                    |r| r.get(0),
                )
                .ok()
                .flatten();
            if let Some(sql) = sql
                && (kind.ends_with("|1")
                    || !lines(
                        &conn,
                        "SELECT 1 FROM pragma_index_xinfo(?1) WHERE cid = -2",
                        &[&index],
                    )
                    .is_empty())
            {
                out.push(format!("table {t}: index {i}: sql {}", normalise(&sql)));
            }
        }
        for l in lines(
            &conn,
            "SELECT id, seq, lower(\"table\"), lower(\"from\"), lower(\"to\"), on_update, on_delete, \
             \"match\" FROM pragma_foreign_key_list(?1)",
            &[table],
        ) {
            out.push(format!("table {t}: foreign key {l}"));
        }
        let sql: Option<String> = conn
            .query_row(
                "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?1",
                [table],
                |r| r.get(0),
            )
            .ok()
            .flatten();
        if let Some(sql) = sql {
            if kind.starts_with("virtual") {
                out.push(format!("table {t}: sql {}", normalise(&sql)));
            } else {
                for extra in table_extras(&sql) {
                    out.push(format!("table {t}: {extra}"));
                }
            }
        }
    }
    let mut others: Vec<String> = lines(
        &conn,
        "SELECT type, lower(name), lower(tbl_name), sql FROM sqlite_schema \
         WHERE type IN ('view', 'trigger')",
        &[],
    )
    .into_iter()
    .filter(|l| {
        let parts: Vec<&str> = l.splitn(4, '|').collect();
        !parts.iter().take(3).any(|p| ours(p))
    })
    .map(|l| {
        let parts: Vec<&str> = l.splitn(4, '|').collect();
        format!("{} {}: {}", parts[0], parts[1], normalise(parts[3]))
    })
    .collect();
    others.sort();
    out.extend(others);
    out
}

/// The first differences between two catalogs, as a short diff.
pub(super) fn compare(got: &[String], want: &[String]) -> Result<(), String> {
    if got == want {
        return Ok(());
    }
    let mut text = String::new();
    let mut shown = 0;
    for l in want.iter().filter(|l| !got.contains(l)) {
        if shown < 12 {
            let _ = writeln!(text, "  - {l}");
        }
        shown += 1;
    }
    for l in got.iter().filter(|l| !want.contains(l)) {
        if shown < 24 {
            let _ = writeln!(text, "  + {l}");
        }
        shown += 1;
    }
    if shown == 0 {
        text.push_str("  (same facts, different order)\n");
    }
    Err(format!("catalog differs (- expected, + got):\n{text}"))
}

/// True when `got` has an empty `sqlite_sequence` that `want` has not: SQLite creates it with
/// the first AUTOINCREMENT table and refuses to drop it ("may not be dropped"), so a rollback
/// of that table cannot remove it.
pub(super) fn sequence_left(path: &Path, got: &[String], want: &[String]) -> bool {
    let has = |c: &[String]| c.iter().any(|l| l.starts_with("table sqlite_sequence:"));
    has(got)
        && !has(want)
        && Connection::open(path)
            .and_then(|c| c.query_row("SELECT count(*) FROM sqlite_sequence", [], |r| r.get(0)))
            .is_ok_and(|n: i64| n == 0)
}

// ---------------------------------------------------------------------------------------------
// Seeded rows
// ---------------------------------------------------------------------------------------------

/// Ordinary tables of a database (no virtual, shadow or internal tables, none of ours), with
/// their stored columns and declared types.
pub(super) fn plain_tables(conn: &Connection) -> Vec<(String, Vec<(String, String)>)> {
    let names: Vec<String> = {
        let mut stmt = conn
            .prepare(
                "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' \
                 AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
            )
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .filter(|n: &String| !ours(n))
            .collect()
    };
    names
        .into_iter()
        .map(|name| {
            let mut stmt = conn
                .prepare("SELECT name, type FROM pragma_table_xinfo(?1) WHERE hidden = 0")
                .unwrap();
            let cols = stmt
                .query_map([&name], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .map(|r| r.unwrap())
                .collect();
            (name, cols)
        })
        .collect()
}

pub(super) fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A value for row `i` of a column of declared type `decl`, by SQLite's affinity rules.
pub(super) fn typed_value(decl: &str, i: usize) -> String {
    let d = decl.to_ascii_uppercase();
    if d.contains("INT") {
        i.to_string()
    } else if d.contains("CHAR") || d.contains("CLOB") || d.contains("TEXT") {
        format!("'v{i}'")
    } else if d.contains("BLOB") {
        format!("x'0{i}'")
    } else if d.contains("REAL") || d.contains("FLOA") || d.contains("DOUB") {
        format!("{i}.5")
    } else if d.is_empty() {
        format!("'v{i}'")
    } else {
        // NUMERIC affinity (BOOLEAN, DATETIME, DECIMAL, ...).
        i.to_string()
    }
}

/// Inserts up to three rows per table with foreign keys on (so no orphans), parents first by
/// repeated passes; rows SQLite refuses are skipped. Returns the number inserted.
pub(super) fn seed(path: &Path) -> usize {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
    let tables = plain_tables(&conn);
    let mut done: BTreeMap<(String, usize), bool> = BTreeMap::new();
    let mut inserted = 0;
    for _pass in 0..4 {
        let mut progress = false;
        for (table, cols) in &tables {
            for i in 1..=3 {
                if done.contains_key(&(table.clone(), i)) {
                    continue;
                }
                let names: Vec<String> = cols.iter().map(|(n, _)| quote(n)).collect();
                let values: Vec<String> = cols.iter().map(|(_, t)| typed_value(t, i)).collect();
                let typed = format!(
                    "INSERT INTO {} ({}) VALUES ({})",
                    quote(table),
                    names.join(", "),
                    values.join(", ")
                );
                let defaults = format!("INSERT INTO {} DEFAULT VALUES", quote(table));
                if conn.execute(&typed, []).is_ok()
                    || (i == 1 && conn.execute(&defaults, []).is_ok())
                {
                    done.insert((table.clone(), i), true);
                    inserted += 1;
                    progress = true;
                }
            }
        }
        if !progress {
            break;
        }
    }
    inserted
}

/// Every row of every plain table: table -> column names and sorted rows (values as text, so
/// that affinity changes such as 1 vs '1' compare equal).
pub(super) type Rows = BTreeMap<String, (Vec<String>, Vec<Vec<String>>)>;

pub(super) fn rows(path: &Path) -> Rows {
    let conn = Connection::open(path).unwrap();
    let mut out = Rows::new();
    for (table, cols) in plain_tables(&conn) {
        let names: Vec<String> = cols.iter().map(|(n, _)| n.to_ascii_lowercase()).collect();
        let sql = format!(
            "SELECT {} FROM {}",
            cols.iter()
                .map(|(n, _)| quote(n))
                .collect::<Vec<_>>()
                .join(", "),
            quote(&table)
        );
        let mut list: Vec<Vec<String>> = match conn.prepare(&sql) {
            Ok(mut stmt) => stmt
                .query_map([], |r| {
                    Ok((0..names.len())
                        .map(|i| value_text(&r.get::<_, Value>(i).unwrap()))
                        .collect())
                })
                .unwrap()
                .map(|r| r.unwrap())
                .collect(),
            Err(_) => continue,
        };
        list.sort();
        out.insert(table.to_ascii_lowercase(), (names, list));
    }
    out
}

/// Checks that the `seeded` rows are in `after`, projected on the columns both have, for every
/// table `after` still has. With `exact`, every table and column of `seeded` must be there.
pub(super) fn rows_survive(seeded: &Rows, after: &Rows, exact: bool) -> Result<(), String> {
    for (table, (cols, before)) in seeded {
        let Some((after_cols, after_rows)) = after.get(table) else {
            if exact {
                return Err(format!("table {table} is gone"));
            }
            continue;
        };
        let kept: Vec<(usize, usize)> = cols
            .iter()
            .enumerate()
            .filter_map(|(i, c)| after_cols.iter().position(|a| a == c).map(|j| (i, j)))
            .collect();
        if exact && kept.len() != cols.len() {
            return Err(format!(
                "table {table}: columns {cols:?} became {after_cols:?}"
            ));
        }
        let mut a: Vec<Vec<&String>> = before
            .iter()
            .map(|r| kept.iter().map(|(i, _)| &r[*i]).collect())
            .collect();
        let mut b: Vec<Vec<&String>> = after_rows
            .iter()
            .map(|r| kept.iter().map(|(_, j)| &r[*j]).collect())
            .collect();
        a.sort();
        b.sort();
        // The chain's own later steps never run on the copy, so the rows are exactly the seeded
        // ones; a sync must neither lose nor invent rows.
        if a != b {
            return Err(format!(
                "rows of {table} changed (columns kept: {:?}):\n  before {a:?}\n  after  {b:?}",
                kept.iter().map(|(i, _)| &cols[*i]).collect::<Vec<_>>()
            ));
        }
    }
    Ok(())
}
