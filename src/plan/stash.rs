//! The data a step drops and keeps for its rollback: the [`Stash`] description the planner
//! attaches to a step, the statements that save it before the step runs (`stash`) and put it
//! back after the step's reverse (`restore`), and the names of stash tables.
//!
//! A migration file stashes; a plain script (`plan --format sql`) and an in-process apply do
//! not (see [`super::Step::statements`]).

use crate::model::Table;
use crate::sql::{ident, quote_literal};

/// Stash tables are named `_schemactl_stash_{version}_{step}` (see [`crate::db::bookkeeping`]).
pub use crate::db::bookkeeping::STASH_PREFIX;

/// The name that stands for a stash table in SQL built before the migration's version is
/// known; [`super::Step::statements`] replaces it.
pub const STASH_PLACEHOLDER: &str = "_schemactl_stash_placeholder";

/// Returns the stash table of step `step` (1-based) of the migration `V{version}__...`.
pub fn stash_name(version: &str, step: usize) -> String {
    format!("{STASH_PREFIX}{version}_{step}")
}

/// Data a step drops: columns of a table, or a whole table.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Stash {
    /// The table, by its name when the step runs.
    pub table: String,
    /// The stored columns that go (every stored column for a whole table).
    pub columns: Vec<String>,
    /// The columns that identify a row (the primary key); empty means the rowid.
    pub key: Vec<String>,
    /// True when the whole table goes.
    pub whole_table: bool,
    /// True when the table is AUTOINCREMENT, so its counter is kept too.
    pub autoincrement: bool,
    /// The step's reverse that refills the columns from the stash while it rebuilds (the
    /// stash table named [`STASH_PLACEHOLDER`]), when the reverse is a rebuild.
    #[serde(skip)]
    pub reverse: Option<Vec<String>>,
}

impl Stash {
    /// Returns the condition that pairs a stash row (alias `s`) with its row in `table` (an
    /// SQL identifier): by rowid, or by primary key.
    pub fn matches(&self, table: &str) -> String {
        if self.key.is_empty() {
            return format!("s._schemactl_rowid = {table}.rowid");
        }
        self.key
            .iter()
            .map(|k| format!("s.{k} IS {table}.{k}", k = ident(k)))
            .collect::<Vec<_>>()
            .join(" AND ")
    }

    /// Describes the stash of a whole table: its rows, with their rowids unless it is
    /// WITHOUT ROWID (then its key is its primary key).
    pub fn table(t: &Table) -> Self {
        let key = if t.without_rowid {
            Self::columns(t, Vec::new()).key
        } else {
            Vec::new()
        };
        Stash {
            table: t.name.to_string(),
            columns: t
                .columns
                .iter()
                .filter(|c| c.generated.is_none())
                .map(|c| c.name.to_string())
                .collect(),
            key,
            whole_table: true,
            autoincrement: t.primary_key.as_ref().is_some_and(|pk| pk.autoincrement),
            reverse: None,
        }
    }

    /// Describes the stash of some columns of a table.
    pub fn columns(t: &Table, columns: Vec<String>) -> Self {
        let key = match &t.primary_key {
            Some(pk) if pk.columns.iter().all(|k| !k.is_expr) => pk
                .columns
                .iter()
                .map(|k| k.expr.as_str().to_string())
                .collect(),
            _ => Vec::new(),
        };
        Stash {
            table: t.name.to_string(),
            columns,
            key,
            whole_table: false,
            autoincrement: false,
            reverse: None,
        }
    }

    /// Returns the statements that keep what the stash describes in table `name`, before the
    /// step drops it: the row's key (primary key, or rowid) and the dropped values; a whole
    /// table's rows (with rowids when no INTEGER PRIMARY KEY carries them) and its
    /// AUTOINCREMENT counter.
    pub fn save_sql(&self, name: &str) -> Vec<String> {
        let t = ident(&self.table);
        let cols: Vec<String> = self.columns.iter().map(|c| ident(c)).collect();
        let key: Vec<String> = if self.key.is_empty() {
            vec!["rowid AS _schemactl_rowid".to_string()]
        } else {
            self.key
                .iter()
                .map(|k| ident(k))
                .filter(|k| !cols.contains(k))
                .collect()
        };
        let mut out = vec![format!(
            "CREATE TABLE {} AS SELECT {} FROM {t}",
            ident(name),
            key.iter()
                .chain(&cols)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        )];
        if self.whole_table && self.autoincrement {
            out.push(format!(
                "CREATE TABLE {} AS SELECT seq FROM sqlite_sequence WHERE name = {}",
                ident(&format!("{name}_seq")),
                quote_literal(&self.table)
            ));
        }
        out
    }

    /// Returns the statements that put back what [`Stash::save_sql`] kept, after the step's
    /// reverse re-created the table or columns, then drop the stash. Rows inserted since keep
    /// their defaults; rows deleted since stay deleted.
    pub fn restore_sql(&self, name: &str) -> Vec<String> {
        let t = ident(&self.table);
        let s = ident(name);
        let mut out = Vec::new();
        if self.whole_table {
            let cols: Vec<String> = self.columns.iter().map(|c| ident(c)).collect();
            // The stash has a rowid column unless the table is WITHOUT ROWID (see save_sql).
            let c = cols.join(", ");
            out.push(if self.key.is_empty() {
                format!("INSERT INTO {t} (rowid, {c}) SELECT _schemactl_rowid, {c} FROM {s}")
            } else {
                format!("INSERT INTO {t} ({c}) SELECT {c} FROM {s}")
            });
            if self.autoincrement {
                let seq = ident(&format!("{name}_seq"));
                out.push(format!(
                    "DELETE FROM sqlite_sequence WHERE name = {}",
                    quote_literal(&self.table)
                ));
                out.push(format!(
                    "INSERT INTO sqlite_sequence (name, seq) SELECT {}, seq FROM {seq}",
                    quote_literal(&self.table)
                ));
                out.push(format!("DROP TABLE {seq}"));
            }
        } else {
            let matches = self.matches(&t);
            let sets: Vec<String> = self
                .columns
                .iter()
                .map(|c| {
                    format!(
                        "{c} = (SELECT s.{c} FROM {s} AS s WHERE {matches})",
                        c = ident(c)
                    )
                })
                .collect();
            out.push(format!(
                "UPDATE {t} SET {} WHERE EXISTS (SELECT 1 FROM {s} AS s WHERE {matches})",
                sets.join(", ")
            ));
        }
        out.push(format!("DROP TABLE {s}"));
        out
    }
}
