//! The data-aware lint: what the live rows say about a plan, before anything runs.
//!
//! Each check counts the rows a change would reject and names up to five of them by key (or
//! rowid): NOT NULL over NULLs, UNIQUE over duplicates (every UNIQUE key of the new table,
//! read from SQLite's catalog of its definition with the collation each column compares
//! under, that the live table does not already enforce), a CHECK the rows violate, a foreign
//! key with orphans, a STRICT or narrower type the values do not fit, and a column becoming
//! the INTEGER PRIMARY KEY (the rowid) over NULLs, duplicates or non-integers. The NOT NULL
//! constraints of a verbatim table (which may carry ON CONFLICT clauses) are read from
//! SQLite's catalog of the new definition too.

use rusqlite::Connection;
use rusqlite::types::Value;

use crate::diff::{Change, TableChange, TableDiff};
use crate::error::{Error, Result};
use crate::model::{Column, KeyPart, Schema, Table};
use crate::plan::{converts, narrows, stored_affinity};
use crate::render::{create_index, key_part};
use crate::sql::{ident, rename_words};

mod foreign_key;

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// NOT NULL on a column that holds NULLs.
    NotNull,
    /// UNIQUE (constraint, key or index) over duplicate values.
    Unique,
    /// A CHECK that rows violate.
    Check,
    /// A foreign key with orphan rows.
    ForeignKey,
    /// A STRICT or narrower type that values do not fit.
    Type,
    /// The lint could not evaluate a condition (it does not block).
    Unchecked,
    /// A double-quoted string that the change turns into a column: in a view, a trigger, a
    /// CHECK, a generated column, or an index's WHERE clause or key expression.
    QuotedString,
}

/// One lint finding.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// The table, by its current name.
    pub table: String,
    /// What it is about.
    pub kind: FindingKind,
    /// What is wrong, naming the column or constraint.
    pub message: String,
    /// How many rows (or duplicate groups) are affected.
    pub count: i64,
    /// Up to five offending keys or rowids, as `col=value`.
    pub samples: Vec<String>,
}

impl Finding {
    /// Returns true when the finding blocks applying the plan.
    pub fn blocks(&self) -> bool {
        self.kind != FindingKind::Unchecked
    }

    /// The finding on one line, as a refusal lists it: `t: 2 row(s): what (e.g. id=1; id=2)`.
    pub fn line(&self) -> String {
        let (t, m, samples) = (&self.table, &self.message, self.samples.join("; "));
        match self.kind {
            FindingKind::QuotedString => format!("{t}: {m}"),
            _ => format!("{t}: {} row(s): {m} (e.g. {samples})", self.count),
        }
    }
}

/// Which of the lint's row checks run.
#[derive(Debug, Clone, Copy)]
pub enum Scan<'p> {
    /// Every check: the lint reports the rows a change would reject before anything runs.
    All,
    /// Every check but those that `plan` makes itself, in place, in the migration's
    /// transaction ([`crate::plan::checked_in_place`]: a named CHECK added, NOT NULL set), so
    /// that a run whose first act is the change reads the rows once, not twice. SQLite then
    /// refuses the change on the first row that fails, the transaction rolls back, and the
    /// caller runs the lint with [`Scan::All`] to name the rows (as `sync` does, see
    /// [`crate::ops::sync`]).
    SkipCheckedInPlace(&'p crate::plan::Plan),
}

/// Checks `changes` against the rows of `conn`, whose schema is `current`.
pub fn lint(
    conn: &Connection,
    current: &Schema,
    desired: &Schema,
    changes: &[Change],
) -> Result<Vec<Finding>> {
    lint_with(conn, current, desired, changes, Scan::All)
}

/// Like [`lint`], running the row checks `scan` says.
pub fn lint_with(
    conn: &Connection,
    current: &Schema,
    desired: &Schema,
    changes: &[Change],
    scan: Scan<'_>,
) -> Result<Vec<Finding>> {
    let mut findings = Vec::new();
    for change in changes {
        let Change::ModifyTable(d) = change else {
            continue;
        };
        let live_name = changes
            .iter()
            .find_map(|c| match c {
                Change::RenameTable { from, to } if d.to.name == to.as_str() => Some(from.clone()),
                _ => None,
            })
            .unwrap_or_else(|| d.from.name.to_string());
        let Some(live) = current.table(&live_name) else {
            continue;
        };
        let mut l = Lint {
            conn,
            live,
            d,
            changes,
            scan,
            findings: &mut findings,
        };
        l.table(desired)?;
    }
    findings.extend(crate::requote::lint(current, desired, changes));
    Ok(findings)
}

struct Lint<'a> {
    conn: &'a Connection,
    live: &'a Table,
    d: &'a TableDiff,
    /// Every change of the plan: a parent table renamed, or its columns, by the same plan.
    changes: &'a [Change],
    scan: Scan<'a>,
    findings: &'a mut Vec<Finding>,
}

impl Lint<'_> {
    /// Returns true when the plan's own statement checks the rows `change` would reject.
    fn checked_in_place(&self, change: &TableChange) -> bool {
        match self.scan {
            Scan::All => false,
            Scan::SkipCheckedInPlace(plan) => {
                crate::plan::checked_in_place(plan, &self.d.from.name, change)
            }
        }
    }

    /// Rewrites desired column names in `sql` back to the live ones.
    fn live_sql(&self, sql: &str) -> String {
        let back: Vec<(String, String)> = self
            .d
            .column_renames
            .iter()
            .map(|(from, to)| (to.clone(), from.clone()))
            .collect();
        rename_words(sql, &back)
    }

    fn live_column(&self, name: &str) -> String {
        self.d
            .column_renames
            .iter()
            .find(|(_, to)| to.eq_ignore_ascii_case(name))
            .map_or(name.to_string(), |(from, _)| from.clone())
    }

    /// Expression naming a row: its primary key, or its rowid.
    fn key_expr(&self) -> String {
        match &self.live.primary_key {
            Some(pk) if pk.columns.iter().all(|k| !k.is_expr) => pk
                .columns
                .iter()
                .map(|k| {
                    format!(
                        "{} || '=' || {}",
                        crate::sql::quote_literal(k.expr.as_str()),
                        crate::sql::literal_sql(&ident(k.expr.as_str()))
                    )
                })
                .collect::<Vec<_>>()
                .join(" || ', ' || "),
            // The rowid under a name no column shadows (a column named `rowid` is not it).
            _ => match crate::plan::rowid_alias(self.live) {
                Some(a) => format!("'{a}=' || {a}"),
                None => "'?'".into(),
            },
        }
    }

    /// Counts rows of the live table matching `condition`, with up to five keys.
    fn rows_where(&mut self, kind: FindingKind, message: String, condition: &str) -> Result<()> {
        self.rows_where_showing(kind, message, condition, None)
    }

    /// [`Self::rows_where`], each key followed by `shown` (an SQL expression over the row,
    /// e.g. its value and type) when given.
    fn rows_where_showing(
        &mut self,
        kind: FindingKind,
        message: String,
        condition: &str,
        shown: Option<&str>,
    ) -> Result<()> {
        let table = ident(&self.live.name);
        let count_sql = format!("SELECT count(*) FROM {table} WHERE {condition}");
        let count: i64 = match self.conn.query_row(&count_sql, [], |r| r.get(0)) {
            Ok(n) => n,
            Err(e) => return self.unchecked(&message, &e),
        };
        if count == 0 {
            return Ok(());
        }
        let sample_sql = format!(
            "SELECT {}{} FROM {table} WHERE {condition} LIMIT 5",
            self.key_expr(),
            shown.map_or(String::new(), |s| format!(" || ': ' || {s}"))
        );
        let samples = self.strings(&sample_sql)?;
        self.push(kind, message, count, samples);
        Ok(())
    }

    fn strings(&self, sql: &str) -> Result<Vec<String>> {
        let q = |e| Error::sqlite(format!("lint \"{}\"", self.live.name), e);
        let mut stmt = self.conn.prepare(sql).map_err(q)?;
        let rows = stmt
            .query_map([], |r| r.get::<_, Value>(0))
            .map_err(q)?
            .map(|v| {
                v.map(|v| match v {
                    Value::Text(t) => t,
                    Value::Integer(i) => i.to_string(),
                    Value::Real(f) => f.to_string(),
                    Value::Null => "NULL".into(),
                    Value::Blob(b) => format!("<{} bytes>", b.len()),
                })
            })
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(q)?;
        Ok(rows)
    }

    fn push(&mut self, kind: FindingKind, message: String, count: i64, samples: Vec<String>) {
        self.findings.push(Finding {
            table: self.live.name.to_string(),
            kind,
            message,
            count,
            samples,
        });
    }

    fn unchecked(&mut self, what: &str, e: &rusqlite::Error) -> Result<()> {
        let message = format!(
            "could not check {what}: {}",
            crate::normal::sqlite_message(e)
        );
        self.push(FindingKind::Unchecked, message, 0, Vec::new());
        Ok(())
    }

    fn table(&mut self, desired: &Schema) -> Result<()> {
        let d = self.d;
        let becomes_strict = d.to.strict && !d.from.strict;
        for change in &d.changes {
            match change {
                TableChange::ModifyColumn { from, to } => {
                    let not_null = !self.checked_in_place(change);
                    self.column(from, to, becomes_strict, not_null)?;
                }
                TableChange::AddColumn(c)
                    if c.not_null && c.default.is_none() && c.generated.is_none() =>
                {
                    self.rows_where(
                        FindingKind::NotNull,
                        format!(
                            "new column {} is NOT NULL without a default",
                            ident(&c.name)
                        ),
                        "1",
                    )?;
                }
                // UNIQUE and PRIMARY KEY constraints, and unique indexes over columns, are
                // read from the new table's catalog (see `copy_constraints`): with the
                // collations they compare under. An index over expressions is checked here.
                TableChange::AddIndex(i) | TableChange::ModifyIndex { to: i, .. }
                    if i.unique && i.columns.iter().any(|k| k.is_expr) =>
                {
                    let message = format!("unique index {}", ident(&i.name));
                    let where_clause = i.where_clause.as_ref().map(|w| self.live_sql(w.as_str()));
                    self.unique(&message, &i.columns, where_clause.as_deref())?;
                }
                TableChange::AddCheck(_) if self.checked_in_place(change) => {}
                TableChange::AddCheck(c) => {
                    let expr = self.live_sql(c.expr.as_str());
                    self.rows_where(
                        FindingKind::Check,
                        format!("CHECK ({})", c.expr),
                        &format!("NOT ({expr})"),
                    )?;
                }
                TableChange::AddForeignKey(fk) => self.foreign_key(fk, desired)?,
                _ => {}
            }
        }
        self.copy_constraints()?;
        // A column the changes do not name, in a table whose STRICT changes: checked when it
        // becomes STRICT, or when its type stores values otherwise (ANY is NUMERIC in a table
        // that is not STRICT).
        if d.from.strict != d.to.strict {
            for c in d.to.columns.iter().filter(|c| c.generated.is_none()) {
                let unchanged = !d.changes.iter().any(
                    |ch| matches!(ch, TableChange::ModifyColumn { to, .. } if to.name == c.name),
                );
                let from = d.from.column(&self.live_column(&c.name)).cloned();
                if let Some(from) = from.filter(|_| unchanged)
                    && (becomes_strict || converts(&from, d.from.strict, c, d.to.strict))
                {
                    self.fits(c, d.to.strict)?;
                }
            }
        }
        Ok(())
    }

    /// What the rebuild's copy would run into that the changes above do not name: the
    /// constraints of a verbatim table's new text (its NOT NULL and UNIQUE constraints, read
    /// from SQLite's catalog, since the model does not hold them; an ON CONFLICT clause there
    /// would otherwise decide what happens to the rows), and a column becoming the INTEGER
    /// PRIMARY KEY, which is the rowid: SQLite gives a NULL there a new id instead of failing.
    fn copy_constraints(&mut self) -> Result<()> {
        let to = &self.d.to;
        // The new table alone, in memory, for SQLite to say what it declares.
        let probe = Connection::open_in_memory().and_then(|c| {
            c.execute_batch(&crate::render::create_table(to))
                .map(|()| c)
        });
        let probe = match probe {
            Ok(p) => p,
            Err(e) => return self.unchecked("the new definition's constraints", &e),
        };
        // Its indexes, each alone (one SQLite cannot create does not hide the others).
        for index in &to.indexes {
            if let Err(e) = probe.execute_batch(&create_index(&to.name, index))
                && index.unique
            {
                self.unchecked(&format!("unique index {}", ident(&index.name)), &e)?;
            }
        }
        let new = Catalog::read(&probe, &to.name);
        let live = Catalog::read(self.conn, &self.live.name);
        let (new, live) = match (new, live) {
            (Ok(n), Ok(l)) => (n, l),
            (Err(e), _) | (_, Err(e)) => {
                return self.unchecked("the new definition's constraints", &e);
            }
        };
        if to.verbatim.is_some() {
            for column in &new.not_null {
                let live_col = self.live_column(column);
                let was = live
                    .not_null
                    .iter()
                    .any(|c| c.eq_ignore_ascii_case(&live_col));
                if !was && self.live.column(&live_col).is_some() {
                    self.rows_where(
                        FindingKind::NotNull,
                        format!("NOT NULL on {}", ident(column)),
                        &format!("{} IS NULL", ident(&live_col)),
                    )?;
                }
            }
        }
        // Every UNIQUE key of the new table (constraint, PRIMARY KEY, unique index) that the
        // live table does not already enforce, under the same collations, over the same rows:
        // rows equal under the new key's collations would fail the copy.
        for key in &new.unique {
            let live_parts: Vec<KeyPart> = key
                .parts
                .iter()
                .map(|k| KeyPart {
                    expr: crate::sql::Sql::new(self.live_column(k.expr.as_str())),
                    ..k.clone()
                })
                .collect();
            let new_where = key
                .partial
                .then(|| self.where_of(to, &key.name).map(|w| self.live_sql(&w)))
                .flatten();
            let enforced = live.unique.iter().any(|l| {
                same_parts(&l.parts, &live_parts)
                    && l.partial == key.partial
                    && (!l.partial || self.where_of(self.live, &l.name) == new_where)
            });
            if enforced {
                continue;
            }
            if key.partial && new_where.is_none() {
                continue; // a partial index the model does not know: nothing to filter by
            }
            let shown: Vec<KeyPart> = key
                .parts
                .iter()
                .map(|k| KeyPart {
                    collate: k
                        .collate
                        .clone()
                        .filter(|c| !c.eq_ignore_ascii_case("binary")),
                    ..k.clone()
                })
                .collect();
            let what = match key.origin.as_str() {
                "pk" => format!("PRIMARY KEY ({})", keys(&shown)),
                "u" => format!("UNIQUE ({})", keys(&shown)),
                _ => format!("unique index {} ({})", ident(&key.name), keys(&shown)),
            };
            self.unique(&what, &key.parts, new_where.as_deref())?;
        }
        if let Some(alias) = &new.rowid_alias {
            let col = self.live_column(alias);
            let already = live
                .rowid_alias
                .as_ref()
                .is_some_and(|a| a.eq_ignore_ascii_case(&col));
            if !already && self.live.column(&col).is_some() {
                let c = ident(&col);
                self.rows_where(
                    FindingKind::NotNull,
                    format!(
                        "{} becomes the INTEGER PRIMARY KEY (the rowid): SQLite would give the rows where it is NULL new ids",
                        ident(alias)
                    ),
                    &format!("{c} IS NULL"),
                )?;
                self.rows_where(
                    FindingKind::Type,
                    format!("{} becomes the INTEGER PRIMARY KEY: values that are not integers", ident(alias)),
                    &format!(
                        "{c} IS NOT NULL AND NOT (typeof({c}) = 'integer' OR (typeof({c}) IN ('real', 'text') AND CAST({c} AS INTEGER) = {c}))"
                    ),
                )?;
                // The rowid has no index in the catalog: its uniqueness is checked here.
                self.unique(
                    &format!("INTEGER PRIMARY KEY ({})", ident(alias)),
                    &[KeyPart::column(alias.as_str())],
                    None,
                )?;
            }
        }
        Ok(())
    }

    /// The rows a column's change would reject; its new NOT NULL only when `not_null`.
    fn column(
        &mut self,
        from: &Column,
        to: &Column,
        becomes_strict: bool,
        not_null: bool,
    ) -> Result<()> {
        let col = ident(&self.live_column(&to.name));
        if not_null && to.not_null && !from.not_null {
            self.rows_where(
                FindingKind::NotNull,
                format!("NOT NULL on {}", ident(&to.name)),
                &format!("{col} IS NULL"),
            )?;
        }
        for check in to.checks.iter().filter(|c| !from.checks.contains(c)) {
            let expr = self.live_sql(check.expr.as_str());
            self.rows_where(
                FindingKind::Check,
                format!("CHECK ({}) on {}", check.expr, ident(&to.name)),
                &format!("NOT ({expr})"),
            )?;
        }
        if becomes_strict
            || self.d.to.strict
            || narrows(from, to, self.d.from.strict, self.d.to.strict)
        {
            self.fits(to, self.d.to.strict)?;
        }
        // A narrowing is stashed: its rollback gives every value back.
        if !narrows(from, to, self.d.from.strict, self.d.to.strict) && to.generated.is_none() {
            self.comes_back(from, to)?;
        }
        Ok(())
    }

    /// Values that a change which does not narrow (so is not stashed) turns into values the
    /// rollback's copy back does not turn back. A numeric column's values become their text
    /// in a TEXT column, and SQLite's text of a REAL converts back exactly (17 significant
    /// digits), except +Inf and -Inf: 'Inf' and '-Inf' are not numbers to SQLite, so they
    /// stay TEXT (or a STRICT REAL column refuses them) and the rollback cannot give them
    /// back. The condition is the round trip itself (the text cast back), so that any REAL
    /// whose text would not give it back is named, with its value and type; the plan is
    /// refused unless `--ignore-lint`. Integers always come back from their text.
    fn comes_back(&mut self, from: &Column, to: &Column) -> Result<()> {
        let old = stored_affinity(from.decl_type.as_str(), self.d.from.strict);
        let new = stored_affinity(to.decl_type.as_str(), self.d.to.strict);
        if !(matches!(old, "INTEGER" | "REAL" | "NUMERIC") && new == "TEXT") {
            return Ok(());
        }
        let col = ident(&self.live_column(&to.name));
        let condition = format!(
            "typeof({col}) = 'real' AND (abs({col}) > 1.7976931348623157e308 OR CAST(CAST({col} AS TEXT) AS REAL) IS NOT {col})"
        );
        let message = format!(
            "{} {} turns these values into text that does not convert back to {}: the rollback could not give them back",
            ident(&to.name),
            to.decl_type,
            from.decl_type
        );
        let shown = format!(
            "{} || ' (' || typeof({col}) || ')'",
            crate::sql::literal_sql(&col)
        );
        self.rows_where_showing(FindingKind::Type, message, &condition, Some(&shown))
    }

    /// Values of a column that its new type cannot hold.
    fn fits(&mut self, to: &Column, strict: bool) -> Result<()> {
        let col = ident(&self.live_column(&to.name));
        let misfit = match (stored_affinity(to.decl_type.as_str(), strict), strict) {
            ("INTEGER", _) => format!(
                "typeof({col}) IN ('text', 'real', 'blob') AND NOT (typeof({col}) <> 'blob' AND CAST({col} AS INTEGER) = {col} AND CAST(CAST({col} AS INTEGER) AS TEXT) = CAST({col} AS TEXT))"
            ),
            ("REAL" | "NUMERIC", _) => format!(
                "typeof({col}) IN ('text', 'blob') AND NOT (typeof({col}) = 'text' AND CAST({col} AS REAL) || '' = {col})"
            ),
            ("TEXT", true) => format!("typeof({col}) = 'blob'"),
            ("BLOB", true) if !to.decl_type.as_str().eq_ignore_ascii_case("any") => {
                format!("typeof({col}) NOT IN ('blob', 'null')")
            }
            _ => return Ok(()),
        };
        let message = format!(
            "{}{} {} does not hold every value",
            if strict { "STRICT " } else { "" },
            ident(&to.name),
            to.decl_type
        );
        self.rows_where(FindingKind::Type, message, &misfit)
    }

    /// The WHERE clause of the partial index `name` of `table`, as the model holds it.
    fn where_of(&self, table: &Table, name: &str) -> Option<String> {
        table
            .indexes
            .iter()
            .find(|i| i.name.as_str().eq_ignore_ascii_case(name))
            .and_then(|i| i.where_clause.as_ref())
            .map(|w| w.as_str().to_string())
    }

    /// What the rebuild's copy fills the new column `name` with, as an expression over the
    /// live table: the rowid for a new INTEGER PRIMARY KEY that takes it, else its default
    /// (a constant, the same in every row), else NULL.
    fn filled_with(&self, name: &str) -> String {
        let d = self.d;
        let takes_rowid = matches!(
            crate::plan::rowids(&d.from, &d.to, &d.column_renames),
            crate::plan::Rowids::Copied { target, .. } if target.eq_ignore_ascii_case(name)
        );
        if takes_rowid && let Some(rowid) = crate::plan::rowid_alias(self.live) {
            return rowid.to_string();
        }
        match d.to.column(name).and_then(|c| c.default.as_ref()) {
            Some(default) => format!("({})", default.as_str()),
            None => "NULL".into(),
        }
    }

    fn unique(
        &mut self,
        what: &str,
        columns: &[KeyPart],
        where_clause: Option<&str>,
    ) -> Result<()> {
        let exprs: Vec<String> = columns
            .iter()
            .map(|k| {
                let mut k = k.clone();
                k.desc = false;
                if k.is_expr {
                    return self.live_sql(&key_part(&k));
                }
                let live = self.live_column(k.expr.as_str());
                let value = match self.live.column(&live) {
                    Some(_) => ident(&live),
                    None => self.filled_with(k.expr.as_str()),
                };
                match &k.collate {
                    Some(c) => format!("{value} COLLATE {}", ident(c)),
                    None => value,
                }
            })
            .collect();
        let mut conditions: Vec<String> = columns
            .iter()
            .zip(&exprs)
            .map(|(_, e)| format!("({e}) IS NOT NULL"))
            .collect();
        if let Some(w) = where_clause {
            conditions.push(format!("({w})"));
        }
        let table = ident(&self.live.name);
        let group = exprs.join(", ");
        let sql = format!(
            "SELECT count(*) FROM (SELECT 1 FROM {table} WHERE {} GROUP BY {group} HAVING count(*) > 1)",
            conditions.join(" AND ")
        );
        let count: i64 = match self.conn.query_row(&sql, [], |r| r.get(0)) {
            Ok(n) => n,
            Err(e) => return self.unchecked(what, &e),
        };
        if count == 0 {
            return Ok(());
        }
        let shown: Vec<String> = exprs.iter().map(|e| crate::sql::literal_sql(e)).collect();
        let sample_sql = format!(
            "SELECT {} FROM {table} WHERE {} GROUP BY {group} HAVING count(*) > 1 LIMIT 5",
            shown.join(" || ', ' || "),
            conditions.join(" AND ")
        );
        let samples = self.strings(&sample_sql)?;
        self.push(
            FindingKind::Unique,
            format!("{what}: {count} duplicated value(s)"),
            count,
            samples,
        );
        Ok(())
    }
}

/// What SQLite's catalog says about a table's keys: its NOT NULL columns, its UNIQUE and
/// PRIMARY KEY constraints (as key parts, expressions left out), and its rowid alias.
struct Catalog {
    not_null: Vec<String>,
    unique: Vec<UniqueKey>,
    rowid_alias: Option<String>,
}

/// One UNIQUE key over columns, as SQLite's catalog has it.
struct UniqueKey {
    /// The index's name (`sqlite_autoindex_*` for a constraint).
    name: String,
    /// `pk`, `u` (a UNIQUE constraint) or `c` (CREATE UNIQUE INDEX).
    origin: String,
    /// The columns, each with the collation it compares under (BINARY too).
    parts: Vec<KeyPart>,
    /// A partial index.
    partial: bool,
}

/// Same columns (by name, in order) under the same collations.
fn same_parts(a: &[KeyPart], b: &[KeyPart]) -> bool {
    let coll = |k: &KeyPart| k.collate.clone().unwrap_or_default().to_ascii_lowercase();
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.expr.as_str().eq_ignore_ascii_case(y.expr.as_str()) && coll(x) == coll(y)
        })
}

impl Catalog {
    fn read(conn: &Connection, table: &str) -> rusqlite::Result<Self> {
        let mut stmt = conn.prepare(
            "SELECT name, type, \"notnull\", pk FROM pragma_table_info(?1) ORDER BY cid",
        )?;
        let columns: Vec<(String, String, bool, i64)> = stmt
            .query_map([table], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let without_rowid: bool = conn.query_row(
            "SELECT count(*) > 0 FROM pragma_table_list WHERE name = ?1 AND wr",
            [table],
            |r| r.get(0),
        )?;
        let pk: Vec<&(String, String, bool, i64)> = columns.iter().filter(|c| c.3 > 0).collect();
        let rowid_alias = match pk.as_slice() {
            [(name, ty, _, _)] if !without_rowid && ty.eq_ignore_ascii_case("integer") => {
                Some(name.clone())
            }
            _ => None,
        };
        let mut stmt = conn
            .prepare("SELECT name, origin, partial FROM pragma_index_list(?1) WHERE \"unique\"")?;
        let indexes: Vec<(String, String, bool)> = stmt
            .query_map([table], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut unique = Vec::new();
        for (index, origin, partial) in indexes {
            let mut stmt = conn.prepare(
                "SELECT name, coll, desc FROM pragma_index_xinfo(?1) WHERE key ORDER BY seqno",
            )?;
            let parts: Vec<Option<KeyPart>> = stmt
                .query_map([&index], |r| {
                    let name: Option<String> = r.get(0)?;
                    let coll: String = r.get(1)?;
                    Ok(name.map(|n| KeyPart {
                        collate: Some(coll),
                        desc: false,
                        ..KeyPart::column(n)
                    }))
                })?
                .collect::<rusqlite::Result<_>>()?;
            // Keys over expressions are left out (an index over expressions is checked
            // where it changes).
            if let Some(parts) = parts.into_iter().collect::<Option<Vec<_>>>() {
                unique.push(UniqueKey {
                    name: index,
                    origin,
                    parts,
                    partial,
                });
            }
        }
        Ok(Catalog {
            not_null: columns
                .iter()
                .filter(|c| c.2)
                .map(|c| c.0.clone())
                .collect(),
            unique,
            rowid_alias,
        })
    }
}

fn keys(columns: &[KeyPart]) -> String {
    columns.iter().map(key_part).collect::<Vec<_>>().join(", ")
}

/// Estimates the bytes a migration will stash for `stash`: the pages of a whole table
/// (dbstat), or the stored size of the dropped columns' values. None when it cannot tell.
pub fn stash_estimate(conn: &Connection, stash: &crate::plan::Stash) -> Option<i64> {
    if stash.whole_table {
        return conn
            .query_row(
                "SELECT sum(pgsize) FROM dbstat WHERE name = ?1",
                [&stash.table],
                |r| r.get(0),
            )
            .ok();
    }
    // A counter alone: one row, nothing worth estimating.
    if stash.counter_only() {
        return None;
    }
    let sizes: Vec<String> = stash
        .columns
        .iter()
        .map(|c| format!("ifnull(length(CAST({} AS BLOB)), 0)", ident(c)))
        .collect();
    let key = if stash.key.is_empty() { 8 } else { 16 };
    let sql = format!(
        "SELECT sum({} + {key}) FROM {}",
        sizes.join(" + "),
        ident(&stash.table)
    );
    conn.query_row(&sql, [], |r| r.get::<_, Option<i64>>(0))
        .ok()
        .flatten()
}
