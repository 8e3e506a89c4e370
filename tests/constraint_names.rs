//! A constraint name appears once per table (the README's rule; SQLite's `DROP CONSTRAINT`
//! finds a constraint by its name): a schema file that gives one twice in a table, in any of
//! the places a name goes (the primary key, a unique constraint, a check on the table or on a
//! column, a foreign key), in any case, is refused when it loads with file:line:column; one
//! whose names differ loads. A property over any such set of names.

use proptest::prelude::*;
use schemactl::{Error, dsl};

/// The places a constraint name goes.
#[derive(Debug, Clone, Copy)]
enum Kind {
    PrimaryKey,
    Unique,
    ColumnCheck,
    TableCheck,
    ForeignKey,
}

fn yaml(names: &[(Kind, String)]) -> String {
    let mut pk = "      id: { type: INTEGER, primary_key: true }\n".to_string();
    let mut table = String::new();
    let mut columns = String::new();
    let mut checks = Vec::new();
    let mut uniques = Vec::new();
    let mut fks = Vec::new();
    for (i, (kind, name)) in names.iter().enumerate() {
        match kind {
            Kind::PrimaryKey => {
                pk = "      id: { type: INTEGER }\n".to_string();
                table.push_str(&format!(
                    "    primary_key: {{ name: {name}, columns: [id] }}\n"
                ));
            }
            Kind::Unique => uniques.push(format!("{{ name: {name}, columns: [c{i}] }}")),
            Kind::ColumnCheck => {
                columns.push_str(&format!(
                    "      k{i}: {{ type: INTEGER, check: {{ name: {name}, expr: \"k{i} > 0\" }} }}\n"
                ));
            }
            Kind::TableCheck => checks.push(format!("{{ name: {name}, expr: \"c{i} > 0\" }}")),
            Kind::ForeignKey => fks.push(format!(
                "{{ name: {name}, columns: [c{i}], references: \"p(id)\" }}"
            )),
        }
    }
    let mut out = String::from(
        "schemactl: 1\nversion: 1\ntables:\n  p:\n    columns:\n      id: { type: INTEGER, primary_key: true }\n  t:\n    columns:\n",
    );
    out.push_str(&pk);
    for i in 0..names.len() {
        out.push_str(&format!("      c{i}: {{ type: INTEGER }}\n"));
    }
    out.push_str(&columns);
    out.push_str(&table);
    if !uniques.is_empty() {
        out.push_str(&format!("    unique: [{}]\n", uniques.join(", ")));
    }
    if !checks.is_empty() {
        out.push_str(&format!("    checks: [{}]\n", checks.join(", ")));
    }
    if !fks.is_empty() {
        out.push_str(&format!("    foreign_keys: [{}]\n", fks.join(", ")));
    }
    out
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        Just(Kind::PrimaryKey),
        Just(Kind::Unique),
        Just(Kind::ColumnCheck),
        Just(Kind::TableCheck),
        Just(Kind::ForeignKey),
    ]
}

fn names() -> impl Strategy<Value = Vec<(Kind, String)>> {
    prop::collection::vec(
        (
            kind(),
            prop_oneof![
                Just("dup"),
                Just("DUP"),
                Just("Dup"),
                Just("other"),
                Just("third")
            ],
        ),
        1..5,
    )
    .prop_map(|v| {
        // One primary key at most.
        let mut seen_pk = false;
        v.into_iter()
            .filter(|(k, _)| {
                !matches!(k, Kind::PrimaryKey) || !std::mem::replace(&mut seen_pk, true)
            })
            .map(|(k, n)| (k, n.to_string()))
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn a_constraint_name_given_twice_in_a_table_is_refused_at_its_place(names in names()) {
        let text = yaml(&names);
        let lower: Vec<String> = names.iter().map(|(_, n)| n.to_ascii_lowercase()).collect();
        let twice = lower.iter().enumerate().any(|(i, n)| lower[..i].contains(n));
        match dsl::load_str("s.yaml", &text) {
            Ok(_) => prop_assert!(!twice, "accepted:\n{}", text),
            Err(Error::Source(errors)) => {
                prop_assert!(twice, "refused:\n{}\n{:?}", text, errors.iter().map(|e| e.to_string()).collect::<Vec<_>>());
                let first = errors[0].to_string();
                prop_assert!(first.starts_with("s.yaml:"), "{}", first);
                prop_assert!(first.contains("is given twice"), "{}", first);
            }
            Err(other) => prop_assert!(false, "not a located error: {}\n{}", other, text),
        }
    }
}
