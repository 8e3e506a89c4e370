//! Random schemas for property tests: raw choices drawn by proptest (so failures shrink),
//! turned into a valid schema by `build`, which enforces SQLite's rules (STRICT types, WITHOUT
//! ROWID needs a key, AUTOINCREMENT only on INTEGER PRIMARY KEY, ...).

use proptest::prelude::*;
use schemactl::model::{
    Check, Column, Deferrable, FkAction, ForeignKey, Generated, Index, KeyPart, PrimaryKey, Schema,
    Table, Unique,
};
use schemactl::sql::{Sql, quote_ident};

pub const NAMES: &[&str] = &[
    "id",
    "name",
    "order",
    "select",
    "group",
    "key",
    "value",
    "a b",
    "it's",
    "x\"y",
    "naïve",
    "表",
    "x\"; DROP TABLE y; --",
    "Mixed_Case",
    "_under",
    "1starts_with_digit",
    "a_very_long_name_that_goes_on_and_on_and_on_and_on_and_on_and_on_and_on_and_on_and_on_and_on_and_on_and_on_and_on_and_on_and_on_and_on_and_on_and_on_and_on_and_on",
    "where",
    "check",
    "default",
];
const TYPES: &[&str] = &[
    "INTEGER",
    "TEXT",
    "REAL",
    "BLOB",
    "",
    "NUMERIC",
    "VARCHAR(20)",
    "UNSIGNED BIG INT",
    "DECIMAL(10, 2)",
    "int",
];
const STRICT_TYPES: &[&str] = &["INTEGER", "TEXT", "REAL", "BLOB", "ANY", "INT"];
const DEFAULTS: &[&str] = &[
    "0",
    "-1",
    "0.5",
    "'x'",
    "''",
    "'it''s'",
    "CURRENT_TIMESTAMP",
    "(1 + 2)",
    "X'00FF'",
    "TRUE",
    "(lower('ABC'))",
];
const COLLATIONS: &[&str] = &["NOCASE", "RTRIM", "BINARY"];
const ACTIONS: &[FkAction] = &[
    FkAction::NoAction,
    FkAction::Cascade,
    FkAction::SetNull,
    FkAction::Restrict,
    FkAction::SetDefault,
];

#[derive(Debug, Clone)]
pub struct RawColumn {
    name: usize,
    ty: usize,
    not_null: bool,
    default: Option<usize>,
    collate: Option<usize>,
    check: bool,
    generated: Option<bool>,
}

#[derive(Debug, Clone)]
pub struct RawTable {
    name: usize,
    columns: Vec<RawColumn>,
    pk: u8,
    strict: bool,
    without_rowid: bool,
    /// A UNIQUE column, named or not, and whether the key is declared after it.
    unique: Option<(usize, bool, bool)>,
    indexes: Vec<(usize, u8, bool, bool)>,
    fk: Option<(usize, usize, usize, bool)>,
}

fn raw_column() -> impl Strategy<Value = RawColumn> {
    (
        0..NAMES.len(),
        0..TYPES.len().max(STRICT_TYPES.len()),
        any::<bool>(),
        prop::option::of(0..DEFAULTS.len()),
        prop::option::weighted(0.3, 0..COLLATIONS.len()),
        prop::bool::weighted(0.3),
        prop::option::weighted(0.2, any::<bool>()),
    )
        .prop_map(
            |(name, ty, not_null, default, collate, check, generated)| RawColumn {
                name,
                ty,
                not_null,
                default,
                collate,
                check,
                generated,
            },
        )
}

pub fn raw_table() -> impl Strategy<Value = RawTable> {
    (
        0..NAMES.len(),
        prop::collection::vec(raw_column(), 1..5),
        0u8..5,
        prop::bool::weighted(0.3),
        prop::bool::weighted(0.3),
        prop::option::weighted(0.3, (0usize..8, any::<bool>(), any::<bool>())),
        prop::collection::vec((0usize..8, 0u8..4, any::<bool>(), any::<bool>()), 0..3),
        prop::option::weighted(0.5, (0usize..8, 0usize..8, 0usize..8, any::<bool>())),
    )
        .prop_map(
            |(name, columns, pk, strict, without_rowid, unique, indexes, fk)| RawTable {
                name,
                columns,
                pk,
                strict,
                without_rowid,
                unique,
                indexes,
                fk,
            },
        )
}

fn unique_name(base: &str, taken: &mut Vec<String>) -> String {
    let mut name = base.to_string();
    let mut n = 2;
    while taken.iter().any(|t| t.eq_ignore_ascii_case(&name)) {
        name = format!("{base}_{n}");
        n += 1;
    }
    taken.push(name.clone());
    name
}

/// Turns raw choices into a schema SQLite accepts.
pub fn build(raw: &[RawTable]) -> Schema {
    let mut schema = Schema::default();
    let mut global_names = Vec::new();
    for rt in raw {
        let tname = unique_name(NAMES[rt.name], &mut global_names);
        let mut table = Table::new(tname.clone());
        table.strict = rt.strict;
        let mut taken = Vec::new();
        for rc in &rt.columns {
            let cname = unique_name(NAMES[rc.name], &mut taken);
            let ty = if rt.strict {
                STRICT_TYPES[rc.ty % STRICT_TYPES.len()]
            } else {
                TYPES[rc.ty % TYPES.len()]
            };
            let mut c = Column::new(cname.clone(), ty);
            c.not_null = rc.not_null;
            c.collate = rc.collate.map(|i| COLLATIONS[i].to_string());
            if rc.check {
                c.checks.push(Check {
                    name: None,
                    expr: Sql::new(format!("{} IS NOT 42", quote_ident(&cname))),
                });
            }
            let plain: Vec<&Column> = table
                .columns
                .iter()
                .filter(|c| c.generated.is_none())
                .collect();
            match (rc.generated, plain.first()) {
                (Some(stored), Some(base)) => {
                    c.generated = Some(Generated {
                        expr: Sql::new(format!("{} || 'g'", quote_ident(&base.name))),
                        stored,
                    });
                }
                _ => {
                    // A STRICT column's default must be storable in it.
                    let strict_default = |i: usize| match ty {
                        "INTEGER" | "INT" => "-1",
                        "TEXT" => "'it''s'",
                        "REAL" => "0.5",
                        "BLOB" => "X'00FF'",
                        _ => DEFAULTS[i],
                    };
                    c.default = rc.default.map(|i| {
                        Sql::new(if rt.strict {
                            strict_default(i)
                        } else {
                            DEFAULTS[i]
                        })
                    });
                }
            }
            table.columns.push(c);
        }
        let plain: Vec<String> = table
            .columns
            .iter()
            .filter(|c| c.generated.is_none())
            .map(|c| c.name.to_string())
            .collect();
        table.primary_key = match rt.pk {
            1 => Some(PrimaryKey {
                name: None,
                columns: vec![KeyPart::column(plain[0].clone())],
                autoincrement: false,
                after_uniques: 0,
            }),
            2 if plain.len() >= 2 => Some(PrimaryKey {
                name: Some(format!("pk {tname}").into()),
                columns: vec![
                    KeyPart::column(plain[0].clone()),
                    KeyPart {
                        desc: true,
                        ..KeyPart::column(plain[1].clone())
                    },
                ],
                autoincrement: false,
                after_uniques: 0,
            }),
            3 if !rt.without_rowid => {
                table.columns[0].decl_type = Sql::new("INTEGER");
                table.columns[0].generated = None;
                table.columns[0].default = None;
                Some(PrimaryKey {
                    name: None,
                    columns: vec![KeyPart::column(table.columns[0].name.clone())],
                    autoincrement: true,
                    after_uniques: 0,
                })
            }
            _ => None,
        };
        table.without_rowid = rt.without_rowid && table.primary_key.is_some();
        if let Some((i, named, key_after)) = rt.unique {
            let col = &plain[i % plain.len()];
            table.uniques.push(Unique {
                name: named.then(|| format!("uq {col}").into()),
                columns: vec![KeyPart::column(col.clone())],
            });
            if let Some(pk) = table.primary_key.as_mut().filter(|_| key_after) {
                // Normal form makes it 0 again for a rowid alias, which has no index.
                pk.after_uniques = 1;
            }
        }
        for (n, (col, kind, desc, partial)) in rt.indexes.iter().enumerate() {
            let col = &table.columns[col % table.columns.len()].name;
            let key = match kind {
                0 => KeyPart::column(col.clone()),
                1 => KeyPart {
                    collate: Some("NOCASE".into()),
                    ..KeyPart::column(col.clone())
                },
                2 => KeyPart {
                    expr: Sql::new(format!("lower({})", quote_ident(col))),
                    is_expr: true,
                    collate: None,
                    desc: false,
                },
                _ => KeyPart::column(col.clone()),
            };
            let iname = unique_name(&format!("idx {tname} {n}"), &mut global_names);
            table.indexes.push(Index {
                name: iname.into(),
                unique: false,
                columns: vec![KeyPart { desc: *desc, ..key }],
                where_clause: partial
                    .then(|| Sql::new(format!("{} IS NOT NULL", quote_ident(col)))),
            });
        }
        if let Some((parent, col, action, deferred)) = rt.fk {
            let parents: Vec<&Table> = schema
                .tables
                .iter()
                .filter(|t| {
                    t.primary_key
                        .as_ref()
                        .is_some_and(|pk| pk.columns.len() == 1)
                })
                .collect();
            if !parents.is_empty() {
                let p = parents[parent % parents.len()];
                let pcol = p.primary_key.as_ref().unwrap().columns[0]
                    .expr
                    .as_str()
                    .to_string();
                table.foreign_keys.push(ForeignKey {
                    name: None,
                    columns: vec![plain[col % plain.len()].clone().into()],
                    ref_table: p.name.clone(),
                    ref_columns: if deferred {
                        Vec::new()
                    } else {
                        vec![pcol.into()]
                    },
                    on_delete: ACTIONS[action % ACTIONS.len()],
                    on_update: ACTIONS[(action + 1) % ACTIONS.len()],
                    deferrable: if deferred {
                        Deferrable::InitiallyDeferred
                    } else {
                        Deferrable::No
                    },
                });
            }
        }
        table.normalize();
        schema.tables.push(table);
    }
    schema.normalize();
    schema
}
