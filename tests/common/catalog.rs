//! Schema equality as other tools read it: SQLite's catalog PRAGMAs, not our normal form.
//!
//! `catalog(conn)` reads, for every table, `PRAGMA table_xinfo`, `table_list` (type, strict,
//! without rowid), `index_list` with each index's `index_xinfo`, and `foreign_key_list` (every
//! column, ids included), plus the SQL of views and triggers; `assert_same_catalog` compares
//! two databases by it and names the first object that differs. SQLite's own tables and
//! schemactl's bookkeeping tables are left out.

use rusqlite::Connection;

type Rows = Vec<Vec<String>>;

fn rows(conn: &Connection, sql: &str, arg: Option<&str>) -> Rows {
    let mut stmt = conn.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let n = stmt.column_count();
    let map = |r: &rusqlite::Row<'_>| {
        (0..n)
            .map(|i| {
                r.get_ref(i).map(|v| match v {
                    rusqlite::types::ValueRef::Null => "NULL".to_string(),
                    rusqlite::types::ValueRef::Integer(i) => i.to_string(),
                    rusqlite::types::ValueRef::Real(f) => f.to_string(),
                    rusqlite::types::ValueRef::Text(t) => {
                        format!("'{}'", String::from_utf8_lossy(t))
                    }
                    rusqlite::types::ValueRef::Blob(b) => format!("x{b:02x?}"),
                })
            })
            .collect::<rusqlite::Result<Vec<String>>>()
    };
    let out = match arg {
        Some(a) => stmt.query_map([a], map),
        None => stmt.query_map([], map),
    };
    out.and_then(|rows| rows.collect())
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

const USER: &str =
    "name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_schemactl%' ESCAPE '\\'";

/// The catalog of `conn`'s main database, one line per fact, sorted by object.
pub fn catalog(conn: &Connection) -> Vec<String> {
    let mut out = Vec::new();
    let tables = rows(
        conn,
        &format!(
            "SELECT name, type, wr, strict FROM pragma_table_list WHERE schema = 'main' \
             AND type IN ('table', 'virtual', 'view') AND {USER} ORDER BY name"
        ),
        None,
    );
    // Shadow tables of virtual tables are SQLite's own: left out with their owner's content.
    for t in &tables {
        let name = t[0].trim_matches('\'').to_string();
        out.push(format!("table {name}: {}", t[1..].join(", ")));
        for c in rows(conn, "SELECT * FROM pragma_table_xinfo(?1)", Some(&name)) {
            out.push(format!("table {name} column: {}", c.join(", ")));
        }
        for fk in rows(
            conn,
            "SELECT * FROM pragma_foreign_key_list(?1) ORDER BY id, seq",
            Some(&name),
        ) {
            out.push(format!("table {name} foreign key: {}", fk.join(", ")));
        }
        // index_list's seq follows creation order, which SQLite itself does not keep
        // across a VACUUM or a rebuild: indexes are compared by name.
        let mut indexes = rows(
            conn,
            "SELECT name, \"unique\", origin, partial FROM pragma_index_list(?1) ORDER BY name",
            Some(&name),
        );
        indexes.sort();
        for i in indexes {
            let iname = i[0].trim_matches('\'').to_string();
            out.push(format!("table {name} index: {}", i.join(", ")));
            for c in rows(conn, "SELECT * FROM pragma_index_xinfo(?1)", Some(&iname)) {
                out.push(format!(
                    "table {name} index {iname} column: {}",
                    c.join(", ")
                ));
            }
        }
    }
    // A view's columns are above (table_xinfo); of its text, the query is compared with
    // spacing set aside: how its own name is spelled in the header is not what it reads.
    for o in rows(
        conn,
        &format!(
            "SELECT type, name, tbl_name, sql FROM sqlite_schema \
             WHERE type IN ('view', 'trigger') AND {USER} ORDER BY type, name"
        ),
        None,
    ) {
        let sql = o[3].trim_matches('\'').replace("''", "'");
        let text = if o[0] == "'view'" {
            let words: Vec<&str> = sql.split_whitespace().collect();
            let at = words
                .iter()
                .position(|w| w.eq_ignore_ascii_case("as"))
                .map_or(0, |i| i + 1);
            words[at..].join(" ")
        } else {
            sql
        };
        out.push(format!("{} {} on {}: {text}", o[0], o[1], o[2]));
    }
    out
}

/// Describes how the catalogs of `expected` and `got` differ (empty when equal), as a unified
/// diff of their lines.
pub fn catalog_difference(expected: &Connection, got: &Connection) -> String {
    let (a, b) = (catalog(expected), catalog(got));
    if a == b {
        return String::new();
    }
    similar::TextDiff::from_lines(&(a.join("\n") + "\n"), &(b.join("\n") + "\n"))
        .unified_diff()
        .header("expected", "actual")
        .to_string()
}

/// Asserts that two databases have the same catalog, showing the difference.
pub fn assert_same_catalog(expected: &Connection, got: &Connection, context: &str) {
    let difference = catalog_difference(expected, got);
    assert!(
        difference.is_empty(),
        "{context}: the catalogs differ:\n{difference}"
    );
}
