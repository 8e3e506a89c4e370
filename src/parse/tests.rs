//! Parser tests.

use super::*;

#[test]
fn parses_types_exactly_as_written() {
    let t = parse_table(
        "CREATE TABLE t (a UNSIGNED BIG INT, b REAL(3, 2), c, d varchar(255) NOT NULL)",
    )
    .unwrap();
    let types: Vec<_> = t.columns.iter().map(|c| c.decl_type.as_str()).collect();
    assert_eq!(
        types,
        ["UNSIGNED BIG INT", "REAL(3, 2)", "", "varchar(255)"]
    );
    assert!(t.columns[3].not_null);
}

#[test]
fn parses_constraints_of_every_kind() {
    let t = parse_table(
        "CREATE TABLE \"x y\" (id INTEGER PRIMARY KEY AUTOINCREMENT, p TEXT COLLATE NOCASE \
         CONSTRAINT ck CHECK (length(p) > 0) DEFAULT 'it''s' UNIQUE, \
         q INT REFERENCES parent ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED, \
         g INT GENERATED ALWAYS AS (q + 1) STORED, v AS (q * 2), \
         CONSTRAINT u2 UNIQUE (p, q DESC), CHECK (q <> 3), \
         FOREIGN KEY (q, p) REFERENCES other(a, b) ON UPDATE SET NULL) STRICT, WITHOUT ROWID",
    )
    .unwrap();
    assert_eq!(t.name, "x y");
    let pk = t.primary_key.as_ref().unwrap();
    assert!(pk.autoincrement);
    assert_eq!(pk.columns, vec![KeyPart::column("id")]);
    assert_eq!(t.columns[1].collate.as_deref(), Some("NOCASE"));
    assert_eq!(t.columns[1].checks[0].name.as_deref(), Some("ck"));
    assert_eq!(t.columns[1].checks[0].expr.as_str(), "length(p) > 0");
    assert_eq!(t.columns[1].default.as_ref().unwrap().as_str(), "'it''s'");
    assert_eq!(t.uniques.len(), 2);
    assert_eq!(t.foreign_keys.len(), 2);
    let cascade = t
        .foreign_keys
        .iter()
        .find(|f| f.ref_table == "parent")
        .unwrap();
    assert_eq!(cascade.on_delete, FkAction::Cascade);
    assert_eq!(cascade.deferrable, Deferrable::InitiallyDeferred);
    assert!(cascade.ref_columns.is_empty());
    let g = t.columns[3].generated.as_ref().unwrap();
    assert!(g.stored);
    assert_eq!(g.expr.as_str(), "q + 1");
    assert!(!t.columns[4].generated.as_ref().unwrap().stored);
    assert_eq!(t.checks[0].expr.as_str(), "q <> 3");
    assert!(t.strict && t.without_rowid);
}

#[test]
fn refuses_what_the_model_cannot_hold() {
    for sql in [
        "CREATE TABLE t (a INT PRIMARY KEY ON CONFLICT REPLACE)",
        "CREATE TABLE t (a INT, UNIQUE (a) ON CONFLICT IGNORE)",
        "CREATE TABLE t (a INTEGER PRIMARY KEY DESC)",
        "CREATE TABLE t (a INT REFERENCES p(x) MATCH FULL)",
    ] {
        assert!(
            matches!(parse_table(sql), Err(ParseError::Unsupported { .. })),
            "{sql}"
        );
    }
}

#[test]
fn rejects_malformed_tables_with_an_offset() {
    let err = parse_table("CREATE TABLE t (a INT,, b)").unwrap_err();
    assert!(
        matches!(err, ParseError::Syntax { offset: 22, .. }),
        "{err:?}"
    );
    assert!(parse_table("CREATE TABLE t (a INT) garbage").is_err());
    assert!(parse_table("CREATE TABLE t (a INT").is_err());
}

#[test]
fn parses_indexes_with_expressions_collation_and_where() {
    let (table, idx) = parse_index(
        "CREATE UNIQUE INDEX i ON t (lower(a) COLLATE NOCASE DESC, b) WHERE b IS NOT NULL",
    )
    .unwrap();
    assert_eq!(table, "t");
    assert!(idx.unique);
    assert!(idx.columns[0].is_expr && idx.columns[0].desc);
    assert_eq!(idx.columns[0].expr.as_str(), "lower(a)");
    assert_eq!(idx.columns[0].collate.as_deref(), Some("NOCASE"));
    assert!(!idx.columns[1].is_expr);
    assert_eq!(idx.where_clause.unwrap().as_str(), "b IS NOT NULL");
}

#[test]
fn parses_views_and_triggers() {
    let v = parse_view("CREATE VIEW v (a) AS SELECT 1;").unwrap();
    assert_eq!((v.name.as_str(), v.columns.len()), ("v", 1));
    assert_eq!(v.select.as_str(), "SELECT 1");
    let (name, table) =
        parse_trigger("CREATE TRIGGER tr AFTER UPDATE OF a, b ON \"t t\" BEGIN SELECT 1; END")
            .unwrap();
    assert_eq!((name.as_str(), table.as_str()), ("tr", "t t"));
}
