//! The schema model: plain data, no I/O, deterministic order.
//!
//! A [`Schema`] is what both sides of every comparison are turned into: the live database by
//! [`crate::inspect`], and the YAML DSL by [`crate::dsl::load`] followed by
//! [`crate::normal::materialise`]. Collections that have no meaningful order (tables, indexes,
//! constraints) are kept sorted so that the same schema always compares and prints the same way;
//! columns keep their declared order, which is part of a table's meaning.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

use crate::sql::Sql;

/// An SQL identifier as written, compared and sorted ignoring ASCII case, as SQLite does.
#[derive(Clone, Default)]
pub struct Name(String);

impl Name {
    /// Wraps a name.
    pub fn new(name: impl Into<String>) -> Self {
        Name(name.into())
    }

    /// Returns the name as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}
impl From<String> for Name {
    fn from(s: String) -> Self {
        Name(s)
    }
}
impl From<&str> for Name {
    fn from(s: &str) -> Self {
        Name(s.to_string())
    }
}
impl From<Name> for String {
    fn from(n: Name) -> Self {
        n.0
    }
}
impl From<&Name> for Name {
    fn from(n: &Name) -> Self {
        n.clone()
    }
}
impl From<&String> for Name {
    fn from(s: &String) -> Self {
        Name(s.clone())
    }
}
impl PartialEq for Name {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }
}
impl Eq for Name {}
impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        self.0.eq_ignore_ascii_case(other)
    }
}
impl PartialEq<String> for Name {
    fn eq(&self, other: &String) -> bool {
        self.0.eq_ignore_ascii_case(other)
    }
}
impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        self.0.eq_ignore_ascii_case(other)
    }
}
impl PartialOrd for Name {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Name {
    fn cmp(&self, other: &Self) -> Ordering {
        let fold = |s: &str| {
            s.bytes()
                .map(|b| b.to_ascii_lowercase())
                .collect::<Vec<_>>()
        };
        fold(&self.0)
            .cmp(&fold(&other.0))
            .then_with(|| self.0.cmp(&other.0))
    }
}
impl Hash for Name {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.to_ascii_lowercase().hash(state);
    }
}
impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}
impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A whole database schema in normal form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Schema {
    /// Ordinary tables, sorted by name, each with its indexes.
    pub tables: Vec<Table>,
    /// Views, sorted by name.
    pub views: Vec<View>,
    /// Triggers, sorted by name.
    pub triggers: Vec<Trigger>,
    /// Virtual tables (FTS5 and others), sorted by name; kept verbatim, never altered.
    pub virtual_tables: Vec<VirtualTable>,
}

/// One ordinary table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// The table's name as written.
    pub name: Name,
    /// Columns in declared order.
    pub columns: Vec<Column>,
    /// The primary key, declared on a column or on the table.
    pub primary_key: Option<PrimaryKey>,
    /// UNIQUE constraints (column- and table-level), sorted.
    pub uniques: Vec<Unique>,
    /// Table-level CHECK constraints, sorted.
    pub checks: Vec<Check>,
    /// Foreign keys (column- and table-level), sorted.
    pub foreign_keys: Vec<ForeignKey>,
    /// Explicit indexes (CREATE INDEX), sorted by name.
    pub indexes: Vec<Index>,
    /// `STRICT` table option.
    pub strict: bool,
    /// `WITHOUT ROWID` table option.
    pub without_rowid: bool,
    /// The original CREATE TABLE text, set only when the table could not be represented
    /// faithfully by the fields above. Such a table is compared and recreated by this text.
    pub verbatim: Option<Sql>,
}

/// One column of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// The column's name as written.
    pub name: Name,
    /// The declared type exactly as written (empty when none); compared without regard to
    /// case or spacing.
    pub decl_type: Sql,
    /// `NOT NULL`.
    pub not_null: bool,
    /// `CONSTRAINT name` of the NOT NULL, if given (SQLite's `DROP CONSTRAINT` uses it).
    pub not_null_name: Option<Name>,
    /// `DEFAULT` expression text (a literal, `CURRENT_TIMESTAMP` or a parenthesised expression).
    pub default: Option<Sql>,
    /// `CONSTRAINT name` of the DEFAULT, if given.
    pub default_name: Option<Name>,
    /// `COLLATE` sequence name.
    pub collate: Option<String>,
    /// Column-level CHECK constraints, which SQLite drops together with the column.
    pub checks: Vec<Check>,
    /// `GENERATED ALWAYS AS (expr) STORED|VIRTUAL`.
    pub generated: Option<Generated>,
}

/// A generated column's expression and storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    /// The expression, without its surrounding parentheses.
    pub expr: Sql,
    /// `STORED` when true, `VIRTUAL` (SQLite's default) when false.
    pub stored: bool,
}

/// A primary key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrimaryKey {
    /// `CONSTRAINT name`, if given.
    pub name: Option<Name>,
    /// Key columns in order.
    pub columns: Vec<KeyPart>,
    /// `AUTOINCREMENT` (only legal on a single INTEGER PRIMARY KEY column).
    pub autoincrement: bool,
    /// How many of the table's UNIQUE constraints were declared before the key. SQLite numbers
    /// the indexes of both in declaration order (`sqlite_autoindex_<t>_N`, which
    /// `PRAGMA index_list` reports): `a TEXT UNIQUE, b TEXT PRIMARY KEY` numbers the UNIQUE 1
    /// and the key 2. Always 0 for a rowid alias, which has no index.
    pub after_uniques: usize,
}

/// A UNIQUE constraint.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Unique {
    /// `CONSTRAINT name`, if given.
    pub name: Option<Name>,
    /// Key columns in order.
    pub columns: Vec<KeyPart>,
}

/// A CHECK constraint.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Check {
    /// `CONSTRAINT name`, if given.
    pub name: Option<Name>,
    /// The condition, without its surrounding parentheses.
    pub expr: Sql,
}

/// What a foreign key does when its parent row changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum FkAction {
    /// `NO ACTION` (SQLite's default).
    #[default]
    NoAction,
    /// `RESTRICT`.
    Restrict,
    /// `SET NULL`.
    SetNull,
    /// `SET DEFAULT`.
    SetDefault,
    /// `CASCADE`.
    Cascade,
}

/// When a foreign key is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Deferrable {
    /// Checked at the end of each statement (SQLite's default, and `NOT DEFERRABLE ...`).
    #[default]
    No,
    /// `DEFERRABLE` or `DEFERRABLE INITIALLY IMMEDIATE`.
    InitiallyImmediate,
    /// `DEFERRABLE INITIALLY DEFERRED`: checked at commit.
    InitiallyDeferred,
}

/// A foreign key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ForeignKey {
    /// `CONSTRAINT name`, if given.
    pub name: Option<Name>,
    /// Child columns in order.
    pub columns: Vec<Name>,
    /// The parent table.
    pub ref_table: Name,
    /// Parent columns; empty means the parent's primary key.
    pub ref_columns: Vec<Name>,
    /// `ON DELETE`.
    pub on_delete: FkAction,
    /// `ON UPDATE`.
    pub on_update: FkAction,
    /// `DEFERRABLE ...`.
    pub deferrable: Deferrable,
}

/// One key of an index or key constraint: a column or an expression, with its collation
/// and direction.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct KeyPart {
    /// A column name, or an expression when [`KeyPart::is_expr`] is set.
    pub expr: Sql,
    /// True when `expr` is an expression rather than a plain column name.
    pub is_expr: bool,
    /// `COLLATE` sequence name.
    pub collate: Option<String>,
    /// `DESC`.
    pub desc: bool,
}

/// A CREATE INDEX index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    /// The index's name.
    pub name: Name,
    /// `UNIQUE`.
    pub unique: bool,
    /// Keys in order.
    pub columns: Vec<KeyPart>,
    /// The partial-index condition.
    pub where_clause: Option<Sql>,
}

/// A view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    /// The view's name.
    pub name: Name,
    /// Explicit column names (`CREATE VIEW v(a, b) AS ...`), usually empty.
    pub columns: Vec<Name>,
    /// The SELECT statement.
    pub select: Sql,
}

/// A trigger, kept as its whole CREATE TRIGGER statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trigger {
    /// The trigger's name.
    pub name: Name,
    /// The table or view it is attached to.
    pub table: Name,
    /// The whole CREATE TRIGGER statement.
    pub sql: Sql,
}

/// A virtual table, kept as its whole CREATE VIRTUAL TABLE statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualTable {
    /// The table's name.
    pub name: Name,
    /// The whole CREATE VIRTUAL TABLE statement.
    pub sql: Sql,
}

impl Schema {
    /// Sorts every unordered collection, so that equal schemas compare equal.
    ///
    /// Each list holds one object per name (SQLite's catalog and the DSL allow no other), so
    /// an unstable sort gives the one order; it needs no scratch copy of the list (a stable
    /// sort of thousands of tables held one of half of it).
    pub fn normalize(&mut self) {
        self.tables.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        for table in &mut self.tables {
            table.normalize();
        }
        self.views.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        self.triggers.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        self.virtual_tables
            .sort_unstable_by(|a, b| a.name.cmp(&b.name));
    }

    /// Finds a table by name, ignoring ASCII case as SQLite does: by binary search when the
    /// tables are in [`Schema::normalize`]'s order (a diff of thousands of tables looks each one
    /// up), by a scan otherwise.
    pub fn table(&self, name: &str) -> Option<&Table> {
        fn folded(s: &str) -> impl Iterator<Item = u8> + '_ {
            s.bytes().map(|b| b.to_ascii_lowercase())
        }
        let at = self
            .tables
            .partition_point(|t| folded(&t.name).lt(folded(name)));
        match self.tables.get(at) {
            Some(t) if t.name.eq_ignore_ascii_case(name) => Some(t),
            _ => self
                .tables
                .iter()
                .find(|t| t.name.eq_ignore_ascii_case(name)),
        }
    }
}

impl Table {
    /// Creates an empty ordinary table.
    pub fn new(name: impl Into<Name>) -> Self {
        Table {
            name: name.into(),
            columns: Vec::new(),
            primary_key: None,
            uniques: Vec::new(),
            checks: Vec::new(),
            foreign_keys: Vec::new(),
            indexes: Vec::new(),
            strict: false,
            without_rowid: false,
            verbatim: None,
        }
    }

    /// Brings the table to normal form: unordered collections sorted, and NOT NULL set where
    /// SQLite implies it, as `PRAGMA table_xinfo` reports it: primary-key columns of WITHOUT
    /// ROWID and STRICT tables are NOT NULL whether declared or not
    /// (https://www.sqlite.org/withoutrowid.html, https://www.sqlite.org/stricttables.html).
    /// A NOT NULL the user declared on a rowid alias (INTEGER PRIMARY KEY) is kept: SQLite
    /// would not need it, but its catalog, and every tool that reads it, shows it.
    pub fn normalize(&mut self) {
        self.sort();
        if self.verbatim.is_some() {
            return;
        }
        let indexed_key = self.rowid_alias().is_none();
        let uniques = self.uniques.len();
        if let Some(pk) = &mut self.primary_key {
            pk.after_uniques = if indexed_key {
                pk.after_uniques.min(uniques)
            } else {
                0
            };
        }
        let implied: Vec<String> = if self.without_rowid || self.strict {
            self.primary_key
                .iter()
                .flat_map(|pk| {
                    pk.columns
                        .iter()
                        .filter(|k| !k.is_expr)
                        .map(|k| k.expr.as_str().to_string())
                })
                .collect()
        } else {
            Vec::new()
        };
        // A STRICT table's INTEGER PRIMARY KEY is the rowid: SQLite does not report it
        // NOT NULL (PRAGMA table_xinfo), so it is NOT NULL only where it is declared so.
        let alias = self.rowid_alias().map(str::to_string);
        for column in &mut self.columns {
            let is_alias = alias
                .as_deref()
                .is_some_and(|a| a.eq_ignore_ascii_case(&column.name));
            if !is_alias && implied.iter().any(|k| k.eq_ignore_ascii_case(&column.name)) {
                column.not_null = true;
            }
        }
    }

    /// The primary key's columns by name (expressions left out); empty without a key.
    pub fn key_columns(&self) -> Vec<String> {
        self.primary_key
            .as_ref()
            .map(|pk| {
                pk.columns
                    .iter()
                    .filter(|k| !k.is_expr)
                    .map(|k| k.expr.as_str().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A name that reaches the rowid: `rowid`, `_rowid_` or `oid`, whichever is not a column
    /// of the table (a column named `rowid` shadows that name); None for a WITHOUT ROWID
    /// table, or one whose columns take all three names.
    pub fn rowid_name(&self) -> Option<&'static str> {
        if self.without_rowid {
            return None;
        }
        ["rowid", "_rowid_", "oid"]
            .into_iter()
            .find(|n| self.column(n).is_none())
    }

    /// Returns the column that aliases the rowid: the single column of the primary key of a
    /// rowid table, declared exactly `INTEGER` (https://www.sqlite.org/lang_createtable.html#rowid).
    pub fn rowid_alias(&self) -> Option<&str> {
        if self.without_rowid {
            return None;
        }
        let pk = self.primary_key.as_ref()?;
        let [key] = pk.columns.as_slice() else {
            return None;
        };
        if key.is_expr {
            return None;
        }
        let column = self.column(key.expr.as_str())?;
        column
            .decl_type
            .as_str()
            .eq_ignore_ascii_case("integer")
            .then_some(column.name.as_str())
    }

    /// Sorts the table's unordered collections. UNIQUE constraints and foreign keys keep the
    /// order they were declared in: SQLite numbers them by it (`sqlite_autoindex_<t>_N`,
    /// `foreign_key_list`'s ids), and other tools read those numbers.
    pub fn sort(&mut self) {
        self.checks.sort();
        self.indexes.sort_by(|a, b| a.name.cmp(&b.name));
        for column in &mut self.columns {
            column.checks.sort();
        }
    }

    /// Renames a column everywhere in the table, as SQLite's RENAME COLUMN does: the column,
    /// its keys, foreign keys, indexes and every expression that mentions it.
    pub fn rename_column(&mut self, from: &str, to: &str) {
        let same = |a: &str| a.eq_ignore_ascii_case(from);
        // A settled key keeps its strings (see [`Sql::renamed`]).
        let expr = |s: &mut Sql| *s = s.renamed(from, to);
        let key = |k: &mut KeyPart| {
            if k.is_expr {
                expr(&mut k.expr);
            } else if same(k.expr.as_str()) {
                k.expr = Sql::new(to);
            }
        };
        for c in &mut self.columns {
            if same(&c.name) {
                c.name = to.into();
            }
            c.checks.iter_mut().for_each(|ch| expr(&mut ch.expr));
            if let Some(g) = &mut c.generated {
                expr(&mut g.expr);
            }
        }
        if let Some(pk) = &mut self.primary_key {
            pk.columns.iter_mut().for_each(key);
        }
        for u in &mut self.uniques {
            u.columns.iter_mut().for_each(key);
        }
        self.checks.iter_mut().for_each(|ch| expr(&mut ch.expr));
        for fk in &mut self.foreign_keys {
            for c in &mut fk.columns {
                if same(c) {
                    *c = to.into();
                }
            }
        }
        for i in &mut self.indexes {
            i.columns.iter_mut().for_each(key);
            if let Some(w) = &mut i.where_clause {
                expr(w);
            }
        }
    }

    /// Returns true when anything in the table but the column itself uses `column`: a key,
    /// UNIQUE, index or partial-index condition, a foreign key, a table CHECK, or another
    /// column's CHECK or generated expression. (The column's own CHECKs go with it.)
    pub fn uses_column(&self, column: &str) -> bool {
        let mentions = |sql: &Sql| crate::sql::mentions(sql.as_str(), column);
        let in_keys = self
            .primary_key
            .iter()
            .flat_map(|pk| pk.columns.iter())
            .chain(self.uniques.iter().flat_map(|u| u.columns.iter()))
            .chain(self.indexes.iter().flat_map(|i| i.columns.iter()))
            .any(|k| k.uses(column));
        let in_where = self
            .indexes
            .iter()
            .filter_map(|i| i.where_clause.as_ref())
            .any(mentions);
        let in_fk = self
            .foreign_keys
            .iter()
            .any(|fk| fk.columns.iter().any(|c| c.eq_ignore_ascii_case(column)));
        let in_checks = self.checks.iter().any(|c| mentions(&c.expr));
        let in_other_columns = self
            .columns
            .iter()
            .filter(|c| !c.name.eq_ignore_ascii_case(column))
            .any(|c| {
                c.checks.iter().any(|ch| mentions(&ch.expr))
                    || c.generated.as_ref().is_some_and(|g| mentions(&g.expr))
            });
        in_keys || in_where || in_fk || in_checks || in_other_columns
    }

    /// Finds a column by name, ignoring ASCII case as SQLite does.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
    }
}

impl Column {
    /// Creates a nullable column with the given declared type and nothing else.
    pub fn new(name: impl Into<Name>, decl_type: impl Into<String>) -> Self {
        Column {
            name: name.into(),
            decl_type: Sql::new(decl_type),
            not_null: false,
            not_null_name: None,
            default: None,
            default_name: None,
            collate: None,
            checks: Vec::new(),
            generated: None,
        }
    }
}

impl KeyPart {
    /// Returns true when the key uses `column`: is it, or mentions it in its expression.
    pub fn uses(&self, column: &str) -> bool {
        if self.is_expr {
            crate::sql::mentions(self.expr.as_str(), column)
        } else {
            self.expr.as_str().eq_ignore_ascii_case(column)
        }
    }

    /// Creates an ascending key on a plain column.
    pub fn column(name: impl Into<String>) -> Self {
        KeyPart {
            expr: Sql::new(name.into()),
            is_expr: false,
            collate: None,
            desc: false,
        }
    }
}

impl FkAction {
    /// Returns the SQL spelling of the action.
    pub fn as_sql(self) -> &'static str {
        match self {
            FkAction::NoAction => "NO ACTION",
            FkAction::Restrict => "RESTRICT",
            FkAction::SetNull => "SET NULL",
            FkAction::SetDefault => "SET DEFAULT",
            FkAction::Cascade => "CASCADE",
        }
    }
}
