//! Property: for random schemas and random edits, with rows seeded, the plan converges,
//! re-plans to nothing, reverses exactly, and keeps every row whose table and columns survive.

mod common;

use common::converge::converge;
use common::schemas::{build, raw_table};
use proptest::prelude::*;
use schemactl::dsl::Renames;
use schemactl::model::{Check, Column, Index, KeyPart, Schema, Table};
use schemactl::normal::ddl;
use schemactl::sql::{Sql, quote_ident};

/// Returns true when nothing but the column itself refers to it, in its table or as the
/// parent of a foreign key, and the table keeps another stored column.
fn unreferenced(schema: &Schema, t: &Table, name: &str) -> bool {
    let as_parent = schema.tables.iter().any(|o| {
        o.foreign_keys.iter().any(|fk| {
            fk.ref_table == t.name.as_str()
                && (fk.ref_columns.is_empty()
                    || fk.ref_columns.iter().any(|c| c.eq_ignore_ascii_case(name)))
        })
    });
    let plain = t.columns.iter().filter(|c| c.generated.is_none()).count();
    !t.uses_column(name) && !as_parent && plain > 1
}

fn fresh(taken: &[&str], base: &str) -> String {
    let mut n = 1;
    loop {
        let name = format!("{base}_{n}");
        if !taken.iter().any(|t| t.eq_ignore_ascii_case(&name)) {
            return name;
        }
        n += 1;
    }
}

/// Applies edit `op` (with parameters `a`, `b`) to `desired`, recording rename hints.
fn edit(desired: &mut Schema, current: &Schema, renames: &mut Renames, op: u8, a: usize, b: usize) {
    let n = desired.tables.len();
    let ti = a % n;
    let all_names: Vec<String> = desired
        .tables
        .iter()
        .flat_map(|t| {
            std::iter::once(t.name.to_string()).chain(t.indexes.iter().map(|i| i.name.to_string()))
        })
        .collect();
    let snapshot = desired.clone();
    let t = &mut desired.tables[ti];
    let original = current.table(&t.name).is_some()
        && !renames
            .tables
            .iter()
            .any(|(new, _)| new.eq_ignore_ascii_case(&t.name));
    let col_names: Vec<String> = t.columns.iter().map(|c| c.name.to_string()).collect();
    let taken: Vec<&str> = col_names.iter().map(String::as_str).collect();
    let ci = b % t.columns.len();
    let cname = t.columns[ci].name.to_string();
    let editable = t.columns[ci].generated.is_none() && t.verbatim.is_none();
    let renamed_col = renames
        .columns
        .iter()
        .any(|(tt, new, _)| tt.eq_ignore_ascii_case(&t.name) && new.eq_ignore_ascii_case(&cname));
    let orig_col = original
        && current
            .table(&t.name)
            .is_some_and(|ct| ct.column(&cname).is_some())
        && !renamed_col;
    match op % 12 {
        0 | 1 => {
            let mut c = Column::new(
                fresh(&taken, "added"),
                if b.is_multiple_of(2) {
                    "TEXT"
                } else {
                    "INTEGER"
                },
            );
            if b.is_multiple_of(3) {
                c.default = Some(Sql::new(if b.is_multiple_of(2) { "'d'" } else { "7" }));
                c.not_null = b.is_multiple_of(5);
            }
            if t.strict && c.decl_type.is_empty() {
                return;
            }
            let at = if op.is_multiple_of(12) {
                t.columns.len()
            } else {
                b % (t.columns.len() + 1)
            };
            t.columns.insert(at, c);
        }
        2 if editable && unreferenced(&snapshot, t, &cname) && !renamed_col => {
            t.columns.remove(ci);
        }
        3 if editable
            && t.primary_key.as_ref().is_none_or(|pk| {
                !pk.columns
                    .iter()
                    .any(|k| k.expr.as_str().eq_ignore_ascii_case(&cname))
            }) =>
        {
            t.columns[ci].not_null = !t.columns[ci].not_null;
        }
        4 if editable => {
            t.columns[ci].default =
                [None, Some("0"), Some("'x'"), Some("(1 + 1)")][b % 4].map(Sql::new);
        }
        5 if editable => {
            let name = fresh(
                &all_names.iter().map(String::as_str).collect::<Vec<_>>(),
                "idx_added",
            );
            t.indexes.push(Index {
                name: name.into(),
                unique: false,
                columns: vec![KeyPart {
                    desc: b % 2 == 1,
                    ..KeyPart::column(cname)
                }],
                where_clause: None,
            });
        }
        6 if !t.indexes.is_empty() => {
            t.indexes.remove(b % t.indexes.len());
        }
        7 if editable => {
            t.checks.push(Check {
                name: None,
                expr: Sql::new(format!("{} IS NOT 99", quote_ident(&cname))),
            });
        }
        8 if editable && orig_col && unreferenced(&snapshot, t, &cname) => {
            let new = fresh(&taken, "renamed");
            t.rename_column(&cname, &new);
            renames.columns.push((t.name.to_string(), new, cname));
        }
        9 if n > 1
            && !snapshot.tables.iter().any(|o| {
                o.name != t.name
                    && o.foreign_keys
                        .iter()
                        .any(|fk| fk.ref_table == t.name.as_str())
            }) =>
        {
            let name = t.name.clone();
            desired.tables.retain(|x| x.name != name);
            renames.tables.retain(|(new, _)| *new != name.as_str());
            renames.columns.retain(|(tt, _, _)| *tt != name.as_str());
        }
        10 => {
            let mut table = Table::new(fresh(
                &all_names.iter().map(String::as_str).collect::<Vec<_>>(),
                "new_table",
            ));
            table.columns.push(Column::new("id", "INTEGER"));
            table.columns.push(Column::new("note", "TEXT"));
            desired.tables.push(table);
        }
        11 if original
            && !renames
                .columns
                .iter()
                .any(|(tt, _, _)| tt.eq_ignore_ascii_case(&t.name)) =>
        {
            let old = t.name.to_string();
            let new = fresh(
                &all_names.iter().map(String::as_str).collect::<Vec<_>>(),
                "renamed_table",
            );
            t.name = new.clone().into();
            for other in &mut desired.tables {
                for fk in &mut other.foreign_keys {
                    if fk.ref_table == old.as_str() {
                        fk.ref_table = new.clone().into();
                    }
                }
            }
            renames.tables.push((new, old));
        }
        _ => {}
    }
    desired.normalize();
}

fn to_ddl(schema: &Schema) -> String {
    ddl(schema)
        .into_iter()
        .map(|(_, sql)| format!("{sql};\n"))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn random_edits_converge_reverse_and_keep_rows(
        raw in prop::collection::vec(raw_table(), 1..4),
        edits in prop::collection::vec((any::<u8>(), any::<usize>(), any::<usize>()), 1..5),
    ) {
        let current = build(&raw);
        let mut desired = current.clone();
        let mut renames = Renames::default();
        for (op, a, b) in edits {
            edit(&mut desired, &current, &mut renames, op, a, b);
        }
        let result = converge(&to_ddl(&current), &to_ddl(&desired), &[], &renames);
        prop_assert!(result.is_ok(), "{}\nrenames: {:?}", result.unwrap_err(), renames);
    }
}
