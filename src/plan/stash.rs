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
    /// The primary key's columns (empty: none, or an expression key).
    pub key: Vec<String>,
    /// The name under which the stash reads the table's rowid: the first of `rowid`,
    /// `_rowid_` and `oid` that no column shadows. None for a WITHOUT ROWID table, and for a
    /// table whose columns shadow all three (see [`Stash::identifiable`]).
    #[serde(skip)]
    pub rowid: Option<String>,
    /// True when the table is WITHOUT ROWID (for messages: its key alone finds its rows).
    #[serde(skip)]
    pub without_rowid: bool,
    /// True when the whole table goes.
    pub whole_table: bool,
    /// True when the step loses the table's AUTOINCREMENT counter, so the stash keeps it too
    /// (in `{name}_seq`): the whole table goes, or a rebuild turns AUTOINCREMENT off (the old
    /// table's `sqlite_sequence` row goes with it; see [`Stash::counter`]).
    pub autoincrement: bool,
    /// Columns of [`Stash::columns`] whose type narrows (TEXT to INTEGER: `'007'` becomes 7),
    /// each with the affinity of its new type. Beside each original value the stash keeps the
    /// value it becomes (column [`narrowed_as`]); the rollback puts the original back where
    /// the row still holds that value, and leaves a value written since alone.
    #[serde(skip)]
    pub narrowed: Vec<(String, &'static str)>,
    /// The step's reverse that refills the columns from the stash while it rebuilds (the
    /// stash table named [`STASH_PLACEHOLDER`]), when the reverse is a rebuild.
    #[serde(skip)]
    pub reverse: Option<Vec<String>>,
    /// A column of the table named like the stash's own bookkeeping (`_schemactl_...`):
    /// such a table is not stashed (see [`Stash::identifiable`]).
    #[serde(skip)]
    pub reserved: Option<String>,
    /// When the stash finds rows by rowid alone (no primary key identifies them), the
    /// columns the step keeps: beside each row the stash keeps their values
    /// ([`FINGERPRINT`]), and a value goes back only to the row at its rowid that still holds
    /// them, so that rowids renumbered since (VACUUM renumbers a table without an INTEGER
    /// PRIMARY KEY) never put a value into another row.
    #[serde(skip)]
    pub fingerprint: Vec<String>,
}

/// The stash column that keeps the fingerprint of [`Stash::fingerprint`].
pub const FINGERPRINT: &str = "_schemactl_fp";

/// The fingerprint of `columns` of the row `row` (an alias, or None for the table read
/// directly): a JSON object of each column's name and value as its exact SQL literal
/// ([`crate::sql::literal_sql`]: `quote()`, which a stash written before kept, for every value
/// but a text holding a NUL, which `quote()` cuts short).
pub fn fingerprint_sql(columns: &[String], row: Option<&str>) -> String {
    let parts: Vec<String> = columns
        .iter()
        .map(|c| {
            let col = match row {
                Some(r) => format!("{r}.{}", ident(c)),
                None => ident(c),
            };
            format!("{}, {}", quote_literal(c), crate::sql::literal_sql(&col))
        })
        .collect();
    format!("json_object({})", parts.join(", "))
}

impl Stash {
    /// Returns the condition that pairs a stash row (alias `s`) with its row in `table` (an
    /// SQL identifier): by rowid and primary key together, so that a NULL key never pairs
    /// with another row's NULL key and a key deleted and inserted again since (it gets a new
    /// rowid) does not receive the old row's value; by primary key alone in a WITHOUT ROWID
    /// table (its key is NOT NULL and unique).
    pub fn matches(&self, table: &str) -> String {
        let rowid = self
            .rowid
            .as_ref()
            .map(|r| format!("s._schemactl_rowid = {table}.{r}"));
        rowid
            .into_iter()
            .chain(
                self.key
                    .iter()
                    .map(|k| format!("s.{} IS {table}.{}", ident(&self.stash_key(k)), ident(k))),
            )
            .chain((!self.fingerprint.is_empty()).then(|| {
                format!(
                    "s.{FINGERPRINT} IS {}",
                    fingerprint_sql(&self.fingerprint, Some(table))
                )
            }))
            .collect::<Vec<_>>()
            .join(" AND ")
    }

    /// Returns true when a stash row can be paired with its row: the table has an unshadowed
    /// rowid alias, or a primary key whose columns are all NOT NULL. A stash of the counter
    /// alone keeps no rows.
    pub fn identifiable(&self) -> bool {
        self.counter_only()
            || self.reserved.is_none() && (self.rowid.is_some() || !self.key.is_empty())
    }

    /// Describes the stash of a rebuild that keeps every value but turns AUTOINCREMENT off:
    /// the table's counter alone, so that the rollback, which turns it on again, does not
    /// hand out ids the counter had already issued (the new table would start from its
    /// largest rowid).
    pub fn counter(t: &Table) -> Self {
        Stash {
            table: t.name.to_string(),
            columns: Vec::new(),
            key: Vec::new(),
            rowid: None,
            without_rowid: t.without_rowid,
            whole_table: false,
            autoincrement: true,
            narrowed: Vec::new(),
            reverse: None,
            reserved: None,
            fingerprint: Vec::new(),
        }
    }

    /// Returns true when the stash keeps the AUTOINCREMENT counter and no rows (see
    /// [`Stash::counter`]): it has no table `{name}`, only `{name}_seq`.
    pub fn counter_only(&self) -> bool {
        !self.whole_table && self.columns.is_empty() && self.autoincrement
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
            rowid: rowid_alias(t).map(str::to_string),
            columns: t
                .columns
                .iter()
                .filter(|c| c.generated.is_none())
                .map(|c| c.name.to_string())
                .collect(),
            key,
            without_rowid: t.without_rowid,
            whole_table: true,
            autoincrement: t.primary_key.as_ref().is_some_and(|pk| pk.autoincrement),
            narrowed: Vec::new(),
            reverse: None,
            reserved: reserved_column(t),
            fingerprint: Vec::new(),
        }
    }

    /// Describes the stash of a virtual table a step drops: its rows, read through the
    /// module. fts3, fts4 and fts5 tables keep their rowids and the columns the arguments
    /// declare (options, `name=value`, are not columns); an rtree's first column is its id.
    /// None for another module, or an fts table whose content lives elsewhere
    /// (`content=...`: its rows are not its own) or nowhere.
    pub fn virtual_table(v: &crate::model::VirtualTable) -> Option<Self> {
        let (module, args) = crate::sql::virtual_table::module_args(v.sql.as_str())?;
        let module = module.to_ascii_lowercase();
        let fts = matches!(module.as_str(), "fts3" | "fts4" | "fts5");
        if !fts && module != "rtree" && module != "rtree_i32" {
            return None;
        }
        let mut columns = Vec::new();
        for arg in &args {
            if arg
                .iter()
                .any(|t| t.token == sqlparser::tokenizer::Token::Eq)
            {
                if fts
                    && arg.first().and_then(|t| t.word()).is_some_and(|w| {
                        w.eq_ignore_ascii_case("content")
                            || w.eq_ignore_ascii_case("contentless_delete")
                    })
                {
                    return None;
                }
                continue;
            }
            // fts3's `tokenize porter` is an option without `=`.
            if fts && arg.first().is_some_and(|t| t.is_kw("tokenize")) {
                continue;
            }
            // An rtree's auxiliary column is written `+name`.
            let name = arg.iter().find_map(|t| t.word())?;
            columns.push(name.to_string());
        }
        if columns.is_empty() {
            return None;
        }
        let (rowid, key) = if fts {
            (Some("rowid".to_string()), Vec::new())
        } else {
            (None, vec![columns[0].clone()])
        };
        Some(Stash {
            table: v.name.to_string(),
            columns,
            key,
            rowid,
            without_rowid: false,
            whole_table: true,
            autoincrement: false,
            narrowed: Vec::new(),
            reverse: None,
            reserved: None,
            fingerprint: Vec::new(),
        })
    }

    /// Describes the stash of some columns of a table.
    pub fn columns(t: &Table, columns: Vec<String>) -> Self {
        let rowid = rowid_alias(t).map(str::to_string);
        let key: Vec<String> = match &t.primary_key {
            Some(pk) if pk.columns.iter().all(|k| !k.is_expr) => pk
                .columns
                .iter()
                .map(|k| k.expr.as_str().to_string())
                .collect(),
            _ => Vec::new(),
        };
        // A key column the step drops cannot find the row afterwards: the rowid alone does.
        let key = if key
            .iter()
            .any(|k| columns.iter().any(|c| c.eq_ignore_ascii_case(k)))
        {
            Vec::new()
        } else {
            key
        };
        // Without a rowid, a key that may be NULL identifies nothing: NULL = NULL is not true.
        let nullable = |k: &String| {
            !t.without_rowid
                && t.rowid_alias().is_none_or(|a| !a.eq_ignore_ascii_case(k))
                && t.column(k).is_none_or(|c| !c.not_null)
        };
        let key = if rowid.is_none() && key.iter().any(nullable) {
            Vec::new()
        } else {
            key
        };
        let fingerprint = if key.is_empty() && rowid.is_some() {
            t.columns
                .iter()
                .filter(|c| c.generated.is_none())
                .filter(|c| !columns.iter().any(|s| s.eq_ignore_ascii_case(&c.name)))
                .map(|c| c.name.to_string())
                .collect()
        } else {
            Vec::new()
        };
        Stash {
            table: t.name.to_string(),
            rowid,
            fingerprint,
            columns,
            key,
            without_rowid: t.without_rowid,
            whole_table: false,
            autoincrement: false,
            narrowed: Vec::new(),
            reverse: None,
            reserved: reserved_column(t),
        }
    }

    /// Describes the stash of a rebuild that drops (or overwrites) the columns `stored` of
    /// `t` and narrows the columns `narrowed` (each with the stored affinity of its new type,
    /// see [`Stash::narrowed`]). While the primary key stays the table's key (`key_kept`:
    /// then two keys that would become one fail the copy), a narrowed key column stays in the
    /// stash's key: the stash finds its row by the value the key becomes (the column
    /// [`narrowed_as`], which converts as the new column does), so that a key '007' that
    /// becomes 7 still finds its row. When the rebuild does not keep the rowids
    /// (`new_rowid`: the column that becomes the INTEGER PRIMARY KEY, whose values the rowids
    /// then are), the key finds the rows alone, if it can: NOT NULL, or that very column.
    pub fn rebuild(
        t: &Table,
        stored: Vec<String>,
        narrowed: Vec<(String, &'static str)>,
        key_kept: bool,
        new_rowid: Option<&str>,
    ) -> Self {
        let narrowed_names = narrowed.iter().map(|(c, _)| c.clone());
        let mut stash = if key_kept {
            Stash::columns(t, stored)
        } else {
            Stash::columns(t, stored.into_iter().chain(narrowed_names).collect())
        };
        for (c, _) in &narrowed {
            if !stash.columns.iter().any(|s| s.eq_ignore_ascii_case(c)) {
                stash.columns.push(c.clone());
            }
        }
        // A narrowed value is not what it was after the step: it cannot fingerprint its row.
        let columns = stash.columns.clone();
        stash
            .fingerprint
            .retain(|f| !columns.iter().any(|c| c.eq_ignore_ascii_case(f)));
        if let Some(new_rowid) = new_rowid {
            let alone = match stash.key.as_slice() {
                [k] if k.eq_ignore_ascii_case(new_rowid) => true,
                [] => false,
                key => key.iter().all(|k| t.column(k).is_some_and(|c| c.not_null)),
            };
            if alone {
                stash.rowid = None;
                stash.fingerprint.clear();
            }
        }
        stash.narrowed = narrowed;
        stash
    }

    /// The stash column that finds a row by key column `k` after the step: `k`, or, when
    /// `k` narrows, the value it becomes ([`narrowed_as`]).
    pub fn stash_key(&self, k: &str) -> String {
        if self.narrowed.iter().any(|(n, _)| n.eq_ignore_ascii_case(k)) {
            narrowed_as(k)
        } else {
            k.to_string()
        }
    }

    /// Keeps in the fingerprint only the columns a step that turns the table into `to`
    /// keeps as they are: the same name and declared type, not renamed (`renames`: from, to).
    /// Their values after the step are the ones the fingerprint read before it.
    pub fn fingerprint_kept_by(&mut self, from: &Table, to: &Table, renames: &[(String, String)]) {
        self.fingerprint.retain(|c| {
            let renamed = renames
                .iter()
                .any(|(a, b)| a.eq_ignore_ascii_case(c) || b.eq_ignore_ascii_case(c));
            let same = match (from.column(c), to.column(c)) {
                (Some(a), Some(b)) => {
                    a.decl_type
                        .as_str()
                        .eq_ignore_ascii_case(b.decl_type.as_str())
                        && b.generated.is_none()
                }
                _ => false,
            };
            !renamed && same
        });
    }

    /// Returns the statements that keep what the stash describes in table `name`, before the
    /// step drops it: the row's key (primary key, or rowid) and the dropped values; a whole
    /// table's rows (with rowids when no INTEGER PRIMARY KEY carries them) and its
    /// AUTOINCREMENT counter.
    pub fn save_sql(&self, name: &str) -> Vec<String> {
        if self.counter_only() {
            return vec![self.counter_save_sql(name)];
        }
        let t = ident(&self.table);
        let cols: Vec<String> = self.columns.iter().map(|c| ident(c)).collect();
        let key: Vec<String> = self
            .rowid
            .iter()
            .map(|r| format!("{r} AS _schemactl_rowid"))
            .chain(
                (!self.whole_table)
                    .then_some(&self.key)
                    .into_iter()
                    .flatten()
                    .map(|k| ident(k))
                    .filter(|k| !cols.contains(k)),
            )
            .collect();
        let fingerprint = (!self.fingerprint.is_empty()).then(|| {
            format!(
                "{} AS {FINGERPRINT}",
                fingerprint_sql(&self.fingerprint, None)
            )
        });
        let mut out = vec![format!(
            "CREATE TABLE {} AS SELECT {} FROM {t}",
            ident(name),
            key.iter()
                .chain(&cols)
                .cloned()
                .chain(fingerprint)
                .collect::<Vec<_>>()
                .join(", ")
        )];
        if self.autoincrement {
            out.push(self.counter_save_sql(name));
        }
        out.extend(self.narrowed_sql(name));
        if !self.whole_table {
            out.extend(self.identity_index_sql(name));
        }
        out
    }

    /// The statement that keeps the table's AUTOINCREMENT counter in `{name}_seq`, beside
    /// the table's name (a later rollback finds the counters kept for a table by it).
    fn counter_save_sql(&self, name: &str) -> String {
        format!(
            "CREATE TABLE {} AS SELECT name, seq FROM sqlite_sequence WHERE name = {}",
            ident(&format!("{name}_seq")),
            quote_literal(&self.table)
        )
    }

    /// Returns the statements that put back the counter a rebuild kept in `{name}_seq` (see
    /// [`Stash::counter`]), once the step's reverse made the table AUTOINCREMENT again, and
    /// drop that stash; nothing when the stash keeps no counter. The counter becomes the
    /// larger of the kept one and the one the reverse's copy left (its largest rowid): an id
    /// issued before the step, or a row inserted since, is never issued again. An emptied
    /// (dropped) stash changes nothing.
    pub fn counter_restore_sql(&self, name: &str) -> Vec<String> {
        if self.whole_table || !self.autoincrement {
            return Vec::new();
        }
        let seq = ident(&format!("{name}_seq"));
        let t = quote_literal(&self.table);
        vec![
            format!(
                "DELETE FROM {seq} WHERE seq <= (SELECT max(seq) FROM sqlite_sequence WHERE name = {t})"
            ),
            format!(
                "DELETE FROM sqlite_sequence WHERE name = {t} AND EXISTS (SELECT 1 FROM {seq})"
            ),
            format!("INSERT INTO sqlite_sequence (name, seq) SELECT {t}, seq FROM {seq}"),
            format!("DROP TABLE {seq}"),
        ]
    }

    /// Returns the trigger that keeps a column stash true while the table lives on: it
    /// forgets a row's stashed values when the row is deleted, so that a row inserted later
    /// under the same rowid or key (SQLite reuses the highest rowid, and a key can be inserted
    /// again) gets the default, not the deleted row's value. It is created after the
    /// migration's last step (a step that rebuilds the table drops the triggers on it). A
    /// rebuild of the table by a later migration drops it; from then on the rowid and key
    /// alone identify rows. None for a whole-table stash.
    ///
    /// A second trigger forgets the stashed values of a row's identity when a row is
    /// inserted under it: a row inserted after the migration is never the row the stash
    /// kept, and `REPLACE` deletes the row it replaces without firing delete triggers.
    pub fn forget_sql(&self, name: &str) -> Option<String> {
        if self.whole_table || self.counter_only() || (self.rowid.is_none() && self.key.is_empty())
        {
            return None;
        }
        let trigger = |suffix: &str, event: &str, row: &str| {
            format!(
                "CREATE TRIGGER {} AFTER {event} ON {} BEGIN DELETE FROM {} WHERE {}; END",
                ident(&format!("{name}{suffix}")),
                ident(&self.table),
                ident(name),
                self.identity_of(row)
            )
        };
        Some(format!(
            "{};\n{}",
            trigger("_forget", "DELETE", "OLD"),
            trigger("_forget_insert", "INSERT", "NEW")
        ))
    }

    /// The statements that keep, beside each narrowed column's original value, the value it
    /// becomes: a column of the new type's affinity, assigned the original (the same
    /// conversion the rebuild's copy makes). When the stash holds nothing else, the rows whose
    /// values the change keeps as they are (same value, same type) are not kept.
    fn narrowed_sql(&self, name: &str) -> Vec<String> {
        let s = ident(name);
        let mut out = Vec::new();
        for (c, affinity) in &self.narrowed {
            let a = ident(&narrowed_as(c));
            out.push(format!("ALTER TABLE {s} ADD COLUMN {a} {affinity}"));
            out.push(format!("UPDATE {s} SET {a} = {}", ident(c)));
        }
        if !self.narrowed.is_empty() && self.narrowed.len() == self.columns.len() {
            let unchanged: Vec<String> = self
                .narrowed
                .iter()
                .map(|(c, _)| {
                    let (c, a) = (ident(c), ident(&narrowed_as(c)));
                    // SQL cannot tell -0.0 from 0.0 (`IS`, quote() and CAST agree they are
                    // the same), and a REAL column turns -0.0 into 0.0: a REAL zero always
                    // stays in the stash, so that the rollback gives -0.0 back.
                    format!(
                        "({c} IS {a} AND typeof({c}) = typeof({a}) AND NOT (typeof({c}) = 'real' AND {c} = 0))"
                    )
                })
                .collect();
            out.push(format!("DELETE FROM {s} WHERE {}", unchanged.join(" AND ")));
        }
        out
    }

    /// The identity columns of a stash row (`_schemactl_rowid`, then the key), matched with
    /// `row` (`OLD` in a trigger).
    fn identity_of(&self, row: &str) -> String {
        self.rowid
            .iter()
            .map(|r| format!("_schemactl_rowid = {row}.{r}"))
            .chain(
                self.key
                    .iter()
                    .map(|k| format!("{} IS {row}.{}", ident(&self.stash_key(k)), ident(k))),
            )
            .collect::<Vec<_>>()
            .join(" AND ")
    }

    /// The index on a column stash's identity, which the restore and the forget trigger
    /// look rows up by.
    fn identity_index_sql(&self, name: &str) -> Option<String> {
        let identity: Vec<String> = self
            .rowid
            .iter()
            .map(|_| "_schemactl_rowid".to_string())
            .chain(self.key.iter().map(|k| ident(&self.stash_key(k))))
            .collect();
        if identity.is_empty() {
            return None;
        }
        Some(format!(
            "CREATE INDEX {} ON {} ({})",
            ident(&format!("{name}_id")),
            ident(name),
            identity.join(", ")
        ))
    }

    /// Returns the statement that drops the trigger of [`Stash::forget_sql`] (before the
    /// table is rebuilt or its stash is restored).
    pub fn unforget_sql(&self, name: &str) -> String {
        format!(
            "DROP TRIGGER IF EXISTS {};\nDROP TRIGGER IF EXISTS {}",
            ident(&format!("{name}_forget")),
            ident(&format!("{name}_forget_insert"))
        )
    }

    /// Returns the statements that put back what [`Stash::save_sql`] kept, after the step's
    /// reverse re-created the table or columns, then drop the stash. Rows inserted since keep
    /// their defaults; rows deleted since stay deleted. `OR ABORT` keeps the table's ON
    /// CONFLICT clauses from replacing or skipping rows: a conflict fails the rollback.
    pub fn restore_sql(&self, name: &str) -> Vec<String> {
        let t = ident(&self.table);
        let s = ident(name);
        let mut out = Vec::new();
        if self.whole_table {
            let cols: Vec<String> = self.columns.iter().map(|c| ident(c)).collect();
            // The stash has a rowid column unless the table is WITHOUT ROWID (see save_sql).
            let c = cols.join(", ");
            out.push(match &self.rowid {
                Some(r) => {
                    format!(
                        "INSERT OR ABORT INTO {t} ({r}, {c}) SELECT _schemactl_rowid, {c} FROM {s}"
                    )
                }
                None => format!("INSERT OR ABORT INTO {t} ({c}) SELECT {c} FROM {s}"),
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
        } else if self.counter_only() {
            return self.counter_restore_sql(name);
        } else {
            out.push(self.unforget_sql(name));
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
                "UPDATE OR ABORT {t} SET {} WHERE EXISTS (SELECT 1 FROM {s} AS s WHERE {matches})",
                sets.join(", ")
            ));
        }
        out.push(format!("DROP TABLE {s}"));
        out.extend(self.counter_restore_sql(name));
        out
    }
}

/// Returns the first of `rowid`, `_rowid_` and `oid` that no column of `t` shadows (a column
/// with one of these names hides the rowid under that name), or None for a WITHOUT ROWID
/// table or when all three are shadowed.
pub fn rowid_alias(t: &Table) -> Option<&'static str> {
    if t.without_rowid {
        return None;
    }
    ["rowid", "_rowid_", "oid"]
        .into_iter()
        .find(|alias| t.column(alias).is_none())
}

/// The first column of `t` whose name starts with `_schemactl_` (the stashes' own).
fn reserved_column(t: &Table) -> Option<String> {
    t.columns
        .iter()
        .find(|c| c.name.to_ascii_lowercase().starts_with("_schemactl_"))
        .map(|c| c.name.to_string())
}

/// The stash column that keeps what a narrowed column's value becomes.
pub fn narrowed_as(column: &str) -> String {
    format!("_schemactl_as_{column}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stash_of(sql: &str) -> Option<(Vec<String>, Option<String>, Vec<String>)> {
        let v = crate::model::VirtualTable {
            name: "v".into(),
            sql: crate::sql::Sql::new(sql),
        };
        Stash::virtual_table(&v).map(|s| (s.columns, s.rowid, s.key))
    }

    #[test]
    fn a_virtual_tables_stash_reads_its_declared_columns() {
        let cols = |c: &[&str]| c.iter().map(|c| c.to_string()).collect::<Vec<_>>();
        assert_eq!(
            stash_of(
                "CREATE VIRTUAL TABLE v USING fts5(a, \"b c\" UNINDEXED, tokenize = 'porter', prefix='2 3')"
            ),
            Some((cols(&["a", "b c"]), Some("rowid".into()), Vec::new()))
        );
        assert_eq!(
            stash_of("CREATE VIRTUAL TABLE v USING fts3(a, tokenize porter)"),
            Some((cols(&["a"]), Some("rowid".into()), Vec::new()))
        );
        assert_eq!(
            stash_of("CREATE VIRTUAL TABLE v USING rtree(id, x0, x1, +aux)"),
            Some((cols(&["id", "x0", "x1", "aux"]), None, cols(&["id"])))
        );
        // Rows that are not its own, or another module: not stashed.
        assert_eq!(
            stash_of("CREATE VIRTUAL TABLE v USING fts4(a, content=\"t\")"),
            None
        );
        assert_eq!(
            stash_of("CREATE VIRTUAL TABLE v USING fts5(a, content='')"),
            None
        );
        assert_eq!(stash_of("CREATE VIRTUAL TABLE v USING spellfix1"), None);
    }

    #[test]
    fn a_fingerprint_tells_apart_values_quote_cuts_at_a_nul_and_keeps_the_rest() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE t (a, b); INSERT INTO t VALUES (CAST(X'78004141' AS TEXT), 1), (CAST(X'78004142' AS TEXT), 1), ('x''y', 1.0), ('x''y', 1)",
        )
        .unwrap();
        let columns = vec!["a".to_string(), "b".to_string()];
        let fp: Vec<String> = conn
            .prepare(&format!(
                "SELECT {} FROM t ORDER BY rowid",
                fingerprint_sql(&columns, Some("t"))
            ))
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(fp.len(), 4);
        for (i, x) in fp.iter().enumerate() {
            for y in &fp[i + 1..] {
                assert_ne!(x, y);
            }
        }
        // Where quote() wrote the whole value, the fingerprint is what a stash written with
        // quote() kept: such stashes still find their rows.
        let old: String = conn
            .query_row(
                "SELECT json_object('a', quote(a), 'b', quote(b)) FROM t WHERE rowid = 3",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(fp[2], old);
    }
}
