//! No input reaches a panic: the parsers and the loader return errors for anything.

use proptest::prelude::*;
use schemactl::{dsl, parse};

/// Fragments that steer random text toward the grammar's corners.
const PIECES: &[&str] = &[
    "CREATE",
    "TABLE",
    "INDEX",
    "VIEW",
    "TRIGGER",
    "VIRTUAL",
    "UNIQUE",
    "ON",
    "(",
    ")",
    ",",
    "t",
    "\"a\"",
    "`b`",
    "[c d]",
    "'s'",
    "PRIMARY",
    "KEY",
    "AUTOINCREMENT",
    "NOT",
    "NULL",
    "DEFAULT",
    "-",
    "1",
    "CHECK",
    "COLLATE",
    "REFERENCES",
    "DEFERRABLE",
    "INITIALLY",
    "DEFERRED",
    "GENERATED",
    "ALWAYS",
    "AS",
    "STORED",
    "CONSTRAINT",
    "FOREIGN",
    "WITHOUT",
    "ROWID",
    "STRICT",
    "WHERE",
    "DESC",
    ";",
    "BEGIN",
    "END",
    "USING",
    "x'00'",
    "é",
    "/*",
    "--",
    "\n",
];

fn sqlish() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..30).prop_map(|p| p.join(" "))
}

const YAML_PIECES: &[&str] = &[
    "schemactl: 1\n",
    "version: 1\n",
    "version: -3\n",
    "tables:\n",
    "  t:\n",
    "    columns:\n",
    "      a: { type: TEXT }\n",
    "      b: { primary_key: true }\n",
    "    indexes:\n",
    "      i: { columns: [a] }\n",
    "    foreign_keys: [{ columns: [a], references: t(b) }]\n",
    "views:\n",
    "  v: { sql: \"SELECT 1\" }\n",
    "triggers:\n",
    "  tr: { sql: \"CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END\" }\n",
    "- ",
    "[",
    "}",
    "    sql: \"CREATE TABLE t (a)\"\n",
    "    primary_key: [a]\n",
    "      c: { default: { sql: \"(\" } }\n",
    "&a ",
    "*a\n",
    "\t",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn parsers_never_panic(text in sqlish(), raw in ".{0,80}") {
        for t in [&text, &raw] {
            let _ = parse::parse_table(t);
            let _ = parse::parse_index(t);
            let _ = parse::parse_view(t);
            let _ = parse::parse_trigger(t);
            let _ = parse::parse_virtual_table(t);
            let _ = parse::parse_key_part(t);
            let _ = parse::parse_reference(t);
            let _ = parse::check_type(t);
            let _ = schemactl::sql::canonical(t);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    #[test]
    fn the_loader_never_panics(pieces in prop::collection::vec(prop::sample::select(YAML_PIECES), 0..14)) {
        let _ = dsl::load_str("f.yaml", &pieces.concat());
    }
}
