//! The YAML spec structs of DSL version 1, as read by serde.
//!
//! Every name and every piece of SQL is [`Spanned`], so that validation after parsing can point
//! at the place in the file. Unknown keys are refused (`deny_unknown_fields`), and duplicate keys
//! are refused by serde-saphyr's default policy.
//!
//! A [`Spanned`] holds two places (about 100 bytes with a string): the optional keys that few
//! tables, columns or indexes use are boxed, so that a schema of thousands of tables costs
//! little memory while it is parsed and converted.

use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_saphyr::Spanned;

/// A YAML map that keeps its keys' order and places: `columns` are ordered by it.
#[derive(Debug)]
pub struct OrderedMap<V>(pub Vec<(Spanned<String>, V)>);

impl<V> Default for OrderedMap<V> {
    fn default() -> Self {
        OrderedMap(Vec::new())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for OrderedMap<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MapVisitor<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for MapVisitor<V> {
            type Value = OrderedMap<V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map from names to definitions")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    let value = map.next_value::<V>()?;
                    entries.push((key, value));
                }
                // A schema of thousands of tables holds tens of thousands of these maps until
                // it is converted: no spare capacity.
                entries.shrink_to_fit();
                Ok(OrderedMap(entries))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(OrderedMap(Vec::new()))
            }
        }
        deserializer.deserialize_map(MapVisitor(PhantomData))
    }
}

/// One schema file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSpec {
    /// DSL format version; only 1 exists.
    pub schemactl: Spanned<i64>,
    /// Schema version, a positive integer the author bumps.
    #[serde(default)]
    pub version: Option<Spanned<i64>>,
    /// Tables by name.
    #[serde(default)]
    pub tables: OrderedMap<TableSpec>,
    /// Views by name.
    #[serde(default)]
    pub views: OrderedMap<ViewSpec>,
    /// Triggers by name.
    #[serde(default)]
    pub triggers: OrderedMap<TriggerSpec>,
    /// Virtual tables by name.
    #[serde(default)]
    pub virtual_tables: OrderedMap<VirtualTableSpec>,
    /// The application's named queries (one SELECT each), for `explain` and `check`.
    #[serde(default)]
    pub queries: OrderedMap<Spanned<String>>,
    /// Tables (names or globs) this schema does not own: never planned, dropped or reported.
    #[serde(default)]
    pub exclude: Vec<Spanned<String>>,
}

/// A table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableSpec {
    /// The table's previous name, when it is being renamed.
    #[serde(default)]
    pub renamed_from: Option<Box<Spanned<String>>>,
    /// Columns in order.
    #[serde(default)]
    pub columns: OrderedMap<ColumnSpec>,
    /// A composite (or named) primary key.
    #[serde(default)]
    pub primary_key: Option<Box<Spanned<PrimaryKeySpec>>>,
    /// UNIQUE constraints.
    #[serde(default)]
    pub unique: Vec<Spanned<UniqueSpec>>,
    /// Table-level CHECK constraints.
    #[serde(default)]
    pub checks: Vec<Spanned<CheckSpec>>,
    /// Foreign keys.
    #[serde(default)]
    pub foreign_keys: Vec<Spanned<ForeignKeySpec>>,
    /// Indexes by name.
    #[serde(default)]
    pub indexes: OrderedMap<IndexSpec>,
    /// `STRICT`.
    #[serde(default)]
    pub strict: bool,
    /// `WITHOUT ROWID`.
    #[serde(default)]
    pub without_rowid: bool,
    /// A verbatim CREATE TABLE statement, for tables the fields above cannot describe.
    #[serde(default)]
    pub sql: Option<Box<Spanned<String>>>,
    /// Named conditions every row must satisfy (`schemactl check`).
    #[serde(default)]
    pub invariants: OrderedMap<Spanned<String>>,
    /// The column holding each row's expiry time (`schemactl check` counts expired rows).
    #[serde(default)]
    pub expires: Option<Box<Spanned<String>>>,
    /// The rule `schemactl prune` follows.
    #[serde(default)]
    pub retention: Option<Box<Spanned<RetentionSpec>>>,
}

/// A table's retention rule.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionSpec {
    /// An SQL expression, true for the rows to remove.
    pub when: Spanned<String>,
    /// Archive the rows before deleting them (the default).
    #[serde(default = "yes")]
    pub archive: bool,
}

fn yes() -> bool {
    true
}

/// A column.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnSpec {
    /// The declared type, exactly as SQLite should keep it.
    #[serde(default, rename = "type")]
    pub decl_type: Option<Spanned<String>>,
    /// The column's previous name, when it is being renamed.
    #[serde(default)]
    pub renamed_from: Option<Box<Spanned<String>>>,
    /// Single-column primary key.
    #[serde(default)]
    pub primary_key: bool,
    /// AUTOINCREMENT on an INTEGER PRIMARY KEY.
    #[serde(default)]
    pub autoincrement: bool,
    /// NOT NULL: `true`, or `{ name: N }` for a named one (`CONSTRAINT N NOT NULL`).
    #[serde(default)]
    pub not_null: Option<Box<Spanned<NotNullSpec>>>,
    /// Single-column UNIQUE.
    #[serde(default)]
    pub unique: bool,
    /// DEFAULT: a number, a string, a boolean, or `{ sql: EXPR }`.
    #[serde(default)]
    pub default: Option<Box<Spanned<DefaultSpec>>>,
    /// COLLATE sequence.
    #[serde(default)]
    pub collate: Option<Box<Spanned<String>>>,
    /// Column CHECK: an expression, `{ name, expr }`, or a list of them.
    #[serde(default)]
    pub check: Option<Box<Spanned<ColumnChecks>>>,
    /// GENERATED ALWAYS AS.
    #[serde(default)]
    pub generated: Option<Box<Spanned<GeneratedSpec>>>,
}

/// A column default.
#[derive(Debug)]
pub enum DefaultSpec {
    /// `true` / `false`.
    Bool(bool),
    /// An integer literal.
    Int(i64),
    /// A real literal.
    Float(f64),
    /// A string literal.
    Str(String),
    /// An SQL expression, e.g. `{ sql: CURRENT_TIMESTAMP }`, optionally named
    /// (`{ sql: 3, name: df }` is `CONSTRAINT df DEFAULT 3`).
    Sql {
        /// The expression, as written (a YAML number or boolean under `sql:` is its text).
        sql: String,
        /// `CONSTRAINT name`, if given.
        name: Option<String>,
    },
}

/// What a `default:` may be, for the message when it is none of them.
const DEFAULT_FORMS: &str = "a default: a number, a string, true or false, or \
    { sql: EXPR } (e.g. { sql: CURRENT_TIMESTAMP }, { sql: \"1e3\" }), with an optional name \
    ({ sql: 3, name: df } for CONSTRAINT df DEFAULT 3)";

impl<'de> Deserialize<'de> for DefaultSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = DefaultSpec;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(DEFAULT_FORMS)
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<DefaultSpec, E> {
                Ok(DefaultSpec::Bool(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<DefaultSpec, E> {
                Ok(DefaultSpec::Int(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<DefaultSpec, E> {
                i64::try_from(v).map(DefaultSpec::Int).map_err(|_| {
                    E::custom(format!(
                        "{v} is too large for an INTEGER default: write {{ sql: {v} }}"
                    ))
                })
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<DefaultSpec, E> {
                Ok(DefaultSpec::Float(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<DefaultSpec, E> {
                Ok(DefaultSpec::Str(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<DefaultSpec, A::Error> {
                let (mut sql, mut name) = (None, None);
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "sql" if sql.is_none() => sql = Some(map.next_value::<ScalarText>()?.0),
                        "name" if name.is_none() => name = Some(map.next_value::<String>()?),
                        "sql" | "name" => {
                            return Err(serde::de::Error::custom(format!("duplicate key `{key}`")));
                        }
                        other => {
                            return Err(serde::de::Error::custom(format!(
                                "unknown key `{other}` in a default: expected `sql` (and `name`)"
                            )));
                        }
                    }
                }
                match sql {
                    Some(sql) => Ok(DefaultSpec::Sql { sql, name }),
                    None => Err(serde::de::Error::custom(format!(
                        "a default map needs `sql`: {DEFAULT_FORMS}"
                    ))),
                }
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// A YAML scalar taken as the text it is: `sql: 1e3` and `sql: "1e3"` are both `1e3`.
struct ScalarText(String);

impl<'de> Deserialize<'de> for ScalarText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ScalarText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an SQL expression (a YAML string, number or boolean)")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ScalarText, E> {
                Ok(ScalarText(v.to_string()))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<ScalarText, E> {
                Ok(ScalarText(if v { "TRUE" } else { "FALSE" }.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<ScalarText, E> {
                Ok(ScalarText(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<ScalarText, E> {
                Ok(ScalarText(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<ScalarText, E> {
                Ok(ScalarText(format!("{v:?}")))
            }
        }
        // As a string first: YAML keeps the scalar's text (`1e3`, not 1000.0) where it can.
        deserializer.deserialize_str(V)
    }
}

/// NOT NULL: `true` / `false`, or `{ name: N }` for `CONSTRAINT N NOT NULL`.
#[derive(Debug, Default)]
pub enum NotNullSpec {
    /// `false` (the default).
    #[default]
    No,
    /// `true`.
    Yes,
    /// `{ name: N }`.
    Named(String),
    /// Any other scalar, refused where it stands when the spec is converted (an error raised
    /// here would point at the key, not the value).
    Invalid(String),
}

impl NotNullSpec {
    /// Whether the column is NOT NULL.
    pub fn is_set(&self) -> bool {
        matches!(self, NotNullSpec::Yes | NotNullSpec::Named(_))
    }

    /// The constraint's name, when it has one.
    pub fn name(&self) -> Option<&str> {
        match self {
            NotNullSpec::Named(n) => Some(n),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for NotNullSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = NotNullSpec;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("not_null: true or false, or { name: N } for CONSTRAINT N NOT NULL")
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<NotNullSpec, E> {
                Ok(if v { NotNullSpec::Yes } else { NotNullSpec::No })
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<NotNullSpec, E> {
                Ok(NotNullSpec::Invalid(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<NotNullSpec, E> {
                Ok(NotNullSpec::Invalid(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<NotNullSpec, E> {
                Ok(NotNullSpec::Invalid(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<NotNullSpec, E> {
                Ok(NotNullSpec::Invalid(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NotNullSpec, A::Error> {
                let mut name = None;
                while let Some(key) = map.next_key::<String>()? {
                    if key != "name" || name.is_some() {
                        return Err(serde::de::Error::custom(format!(
                            "unexpected key `{key}`: {}",
                            "not_null: true or false, or { name: N } for CONSTRAINT N NOT NULL"
                        )));
                    }
                    name = Some(map.next_value::<String>()?);
                }
                name.map(NotNullSpec::Named).ok_or_else(|| {
                    serde::de::Error::custom(
                        "not_null: { name: N } needs `name` (or write not_null: true)",
                    )
                })
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// A CHECK: an expression, or a named one.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum CheckSpec {
    /// An unnamed check.
    Expr(String),
    /// A named check.
    Named {
        /// Constraint name.
        name: String,
        /// The condition.
        expr: String,
    },
}

/// One column check or several.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum ColumnChecks {
    /// One check.
    One(CheckSpec),
    /// Several checks.
    Many(Vec<CheckSpec>),
}

/// A generated column.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeneratedSpec {
    /// The expression.
    pub expr: String,
    /// STORED (true) or VIRTUAL (false, the default).
    #[serde(default)]
    pub stored: bool,
}

/// A table-level primary key: a list of keys, or a full form.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum PrimaryKeySpec {
    /// `[a, b]`.
    Keys(Vec<String>),
    /// `{ name, columns, autoincrement }`.
    Full {
        /// Constraint name.
        #[serde(default)]
        name: Option<String>,
        /// Keys.
        columns: Vec<String>,
        /// AUTOINCREMENT.
        #[serde(default)]
        autoincrement: bool,
    },
}

/// A UNIQUE constraint: a list of keys, or a named one.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum UniqueSpec {
    /// `[a, b]`.
    Keys(Vec<String>),
    /// `{ name, columns }`.
    Named {
        /// Constraint name.
        #[serde(default)]
        name: Option<String>,
        /// Keys.
        columns: Vec<String>,
    },
}

/// What a foreign key does on a parent change.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionSpec {
    /// NO ACTION.
    NoAction,
    /// RESTRICT.
    Restrict,
    /// SET NULL.
    SetNull,
    /// SET DEFAULT.
    SetDefault,
    /// CASCADE.
    Cascade,
}

/// When a foreign key is checked.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeferrableSpec {
    /// Not deferrable.
    No,
    /// DEFERRABLE INITIALLY IMMEDIATE.
    InitiallyImmediate,
    /// DEFERRABLE INITIALLY DEFERRED.
    InitiallyDeferred,
}

/// A foreign key.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForeignKeySpec {
    /// Constraint name.
    #[serde(default)]
    pub name: Option<String>,
    /// Child columns.
    pub columns: Vec<Spanned<String>>,
    /// Parent: `table` or `table(col, ...)`.
    pub references: Spanned<String>,
    /// ON DELETE.
    #[serde(default)]
    pub on_delete: Option<ActionSpec>,
    /// ON UPDATE.
    #[serde(default)]
    pub on_update: Option<ActionSpec>,
    /// DEFERRABLE.
    #[serde(default)]
    pub deferrable: Option<DeferrableSpec>,
}

/// An index.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexSpec {
    /// Keys: `col`, `col DESC`, `col COLLATE NOCASE`, or an expression such as `lower(name)`.
    pub columns: Vec<Spanned<String>>,
    /// UNIQUE.
    #[serde(default)]
    pub unique: bool,
    /// Partial-index condition.
    #[serde(default, rename = "where")]
    pub where_clause: Option<Box<Spanned<String>>>,
    /// The index's previous name, when it is being renamed.
    #[serde(default)]
    pub renamed_from: Option<Box<Spanned<String>>>,
}

/// A view.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViewSpec {
    /// The SELECT statement.
    pub sql: Spanned<String>,
    /// Explicit column names.
    #[serde(default)]
    pub columns: Vec<String>,
}

/// A trigger.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriggerSpec {
    /// The whole CREATE TRIGGER statement.
    pub sql: Spanned<String>,
}

/// A virtual table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VirtualTableSpec {
    /// The whole CREATE VIRTUAL TABLE statement.
    pub sql: Spanned<String>,
}
