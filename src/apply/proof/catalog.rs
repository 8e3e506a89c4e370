//! The database's triggers, foreign keys and views as the row proof's description reaches
//! them ([`Reach`]): read from the catalog once, when a statement first needs them, with the
//! triggers the migrations themselves create; and whether a table holds rows before them.

use std::cell::OnceCell;
use std::collections::BTreeMap;

use rusqlite::Connection;

use super::describe::Reach;
use crate::sql::lex;

/// The database's triggers, foreign keys and views, read once when a data change needs them.
pub(super) struct Catalog<'c> {
    conn: &'c Connection,
    before: &'c [String],
    triggers: OnceCell<Vec<(String, String)>>,
    references: OnceCell<Vec<(String, String)>>,
    /// The views (lowercased), with the names their query reads.
    views: OnceCell<BTreeMap<String, Vec<String>>>,
    /// The triggers the migrations create, (table, statement): a write they make may fire one.
    created: Vec<(String, String)>,
}

impl<'c> Catalog<'c> {
    /// The catalog of `conn`, whose tables are `before`, with the triggers `sql` (the pending
    /// migrations) creates.
    pub(super) fn new(conn: &'c Connection, before: &'c [String], sql: &[&str]) -> Self {
        Catalog {
            conn,
            before,
            triggers: OnceCell::new(),
            references: OnceCell::new(),
            views: OnceCell::new(),
            created: super::super::unfit_fixed::created_triggers(sql),
        }
    }

    fn triggers(&self) -> &[(String, String)] {
        self.triggers.get_or_init(|| {
            rows2(
                self.conn,
                "SELECT tbl_name, sql FROM main.sqlite_schema WHERE type = 'trigger' AND sql IS NOT NULL",
            )
        })
    }
}

impl Reach for Catalog<'_> {
    fn trigger_writes(&self, table: &str) -> Vec<String> {
        self.triggers()
            .iter()
            .chain(&self.created)
            .filter(|(on, _)| on.eq_ignore_ascii_case(table))
            .flat_map(|(_, sql)| super::super::unfit_fixed::trigger_writes(sql))
            .collect()
    }

    fn view_reads(&self, name: &str) -> Option<Vec<String>> {
        let views = self.views.get_or_init(|| {
            rows2(
                self.conn,
                "SELECT name, sql FROM main.sqlite_schema WHERE type = 'view' AND sql IS NOT NULL",
            )
            .into_iter()
            .map(|(view, sql)| {
                let reads = lex(&sql)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|t| t.name().map(String::from))
                    .collect();
                (view.to_ascii_lowercase(), reads)
            })
            .collect()
        });
        views.get(&name.to_ascii_lowercase()).cloned()
    }

    fn holds_rows(&self, table: &str) -> bool {
        // An error reads as "holds rows": such a table is never followed as a scratch copy.
        self.conn
            .query_row(
                &format!(
                    "SELECT EXISTS (SELECT 1 FROM main.{})",
                    crate::sql::quote_ident(table)
                ),
                [],
                |r| r.get::<_, bool>(0),
            )
            .unwrap_or(true)
    }

    fn reached_from(&self, table: &str) -> Vec<String> {
        let triggers = self.triggers();
        let references = self.references.get_or_init(|| {
            rows2(
                self.conn,
                "SELECT f.\"table\", m.name FROM main.sqlite_schema AS m, pragma_foreign_key_list(m.name, 'main') AS f WHERE m.type = 'table'",
            )
        });
        let mut out = Vec::new();
        for (on, sql) in triggers.iter().chain(&self.created) {
            if on.eq_ignore_ascii_case(table) {
                let words: Vec<String> = lex(sql)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|t| t.name().map(str::to_ascii_lowercase))
                    .collect();
                out.extend(
                    self.before
                        .iter()
                        .filter(|b| words.contains(&b.to_ascii_lowercase()))
                        .cloned(),
                );
            }
        }
        out.extend(
            references
                .iter()
                .filter(|(parent, _)| parent.eq_ignore_ascii_case(table))
                .map(|(_, child)| child.clone()),
        );
        out
    }
}

/// Reads two text columns; an error reads as nothing (the proof then reaches less far, and
/// proves more).
fn rows2(conn: &Connection, sql: &str) -> Vec<(String, String)> {
    let Ok(mut stmt) = conn.prepare(sql) else {
        return Vec::new();
    };
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .map(|rows| rows.filter_map(|r| r.ok()).collect())
        .unwrap_or_default()
}
