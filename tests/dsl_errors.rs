//! Every class of bad schema input is refused with a message that names file:line:column.

mod common;

use assert_cmd::Command;
use schemactl::{Error, dsl};

/// Loads `yaml` and returns the first error's one-line message.
fn first_error(yaml: &str) -> String {
    match dsl::load_str("s.yaml", yaml) {
        Ok(_) => panic!("accepted:\n{yaml}"),
        Err(Error::Source(errors)) => errors[0].to_string(),
        Err(other) => panic!("not a located error: {other}"),
    }
}

const HEAD: &str = "schemactl: 1\nversion: 1\n";

/// Returns `line:column` (1-based, in characters) of the n-th occurrence of `marker` in
/// `text`, where the marker is written `text` or `text#n`.
fn place_of(text: &str, marker: &str) -> String {
    let (needle, nth) = match marker.rsplit_once('#') {
        Some((n, k)) => (n, k.parse::<usize>().unwrap()),
        None => (marker, 1),
    };
    let offset = text
        .match_indices(needle)
        .nth(nth - 1)
        .expect("marker in text")
        .0;
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap().chars().count() + 1;
    format!("{line}:{column}")
}

#[test]
fn each_class_of_bad_input_names_its_place() {
    // (what, yaml after the head, where the error must point (the n-th occurrence of a
    // marker, written `marker` or `marker#n`), and the message that must follow the place).
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "unknown key",
            "tables:\n  t:\n    columns:\n      a: { type: TEXT, nullable: true }\n",
            "nullable",
            "unknown field `nullable`",
        ),
        (
            "duplicate key",
            "tables:\n  t:\n    columns: { a: {} }\n  t:\n    columns: { b: {} }\n",
            "t:#2",
            "duplicate key `t`",
        ),
        (
            "duplicate column key",
            "tables:\n  t:\n    columns:\n      a: {}\n      a: {}\n",
            "a:#2",
            "duplicate key `a`",
        ),
        (
            "wrong type",
            "tables:\n  t:\n    columns:\n      a: { not_null: maybe }\n",
            "maybe",
            "",
        ),
        (
            // SQLite accepts the declaration and refuses the first insert (issue 14, class 7).
            "a foreign key to a column that is neither the primary key nor UNIQUE",
            "tables:\n  p:\n    columns: { id: { primary_key: true }, code: {}, u: {} }\n    indexes:\n      p_u: { columns: [u], unique: true, where: \"u > 0\" }\n  t:\n    columns: { a: {} }\n    foreign_keys:\n      - { columns: [a], references: p(u) }\n",
            "p(u)",
            "foreign key on table \"t\" references \"p\"(\"u\"), which is neither its primary key nor UNIQUE",
        ),
        (
            "unknown parent column",
            "tables:\n  p:\n    columns: { id: { primary_key: true } }\n  t:\n    columns: { a: {} }\n    foreign_keys:\n      - { columns: [a], references: p(nope) }\n",
            "p(nope)",
            "foreign key on table \"t\" references unknown column \"p\".\"nope\"",
        ),
        (
            "unknown child column",
            "tables:\n  p:\n    columns: { id: { primary_key: true } }\n  t:\n    columns: { a: {} }\n    foreign_keys:\n      - { columns: [b], references: p }\n",
            "b]",
            "foreign key on table \"t\": unknown column \"b\"",
        ),
        (
            "index on an unknown column",
            "tables:\n  t:\n    columns: { a: {} }\n    indexes:\n      i: { columns: [a, \"b DESC\"] }\n",
            "\"b DESC",
            "index \"i\" on table \"t\": unknown column \"b\"",
        ),
        (
            "primary key on an unknown column",
            "tables:\n  t:\n    columns: { a: {} }\n    primary_key: [a, b]\n",
            "[a, b]",
            "primary key on table \"t\": unknown column \"b\"",
        ),
        (
            "check that does not parse",
            "tables:\n  t:\n    columns:\n      a: { check: \"a BETWEEN AND 1\" }\n",
            "\"a BETWEEN",
            "column \"t\".\"a\" check: near \"AND\": syntax error",
        ),
        (
            "index WHERE that does not parse",
            "tables:\n  t:\n    columns: { a: {} }\n    indexes:\n      i: { columns: [a], where: \"a >\" }\n",
            "\"a >",
            "index \"i\" WHERE: ",
        ),
        (
            "default expression that does not parse",
            "tables:\n  t:\n    columns:\n      a: { default: { sql: \"1 +\" } }\n",
            "{ sql",
            "column \"t\".\"a\" default: ",
        ),
        (
            "an expression smuggling a second statement",
            "tables:\n  t:\n    columns:\n      a: { check: \"1); DROP TABLE t; --\" }\n",
            "\"1);",
            "column \"t\".\"a\" check: unbalanced parentheses",
        ),
        (
            "a type smuggling SQL",
            "tables:\n  t:\n    columns:\n      a: { type: \"TEXT); DROP TABLE t; --\" }\n",
            "\"TEXT",
            "column \"t\".\"a\": type `TEXT); DROP TABLE t; --`",
        ),
        (
            "two primary keys",
            "tables:\n  t:\n    columns:\n      a: { primary_key: true }\n      b: { primary_key: true }\n",
            "b:",
            "table \"t\": more than one column has primary_key: true",
        ),
        (
            "a table with no columns",
            "tables:\n  t: {}\n",
            "t:",
            "table \"t\" has no columns",
        ),
        (
            "something only SQLite refuses",
            "tables:\n  t:\n    columns:\n      a: { type: TEXT, primary_key: true, autoincrement: true }\n",
            "t:",
            "table \"t\": SQLite refuses it: AUTOINCREMENT is only allowed on an INTEGER PRIMARY KEY",
        ),
        (
            "a view over an unknown table",
            "tables:\n  t:\n    columns: { a: {} }\nviews:\n  v: { sql: \"SELECT b FROM nowhere\" }\n",
            "\"SELECT",
            "view \"v\": SQLite refuses it: no such table: main.nowhere",
        ),
        (
            "a trigger on an unknown table",
            "tables:\n  t:\n    columns: { a: {} }\ntriggers:\n  tr: { sql: \"CREATE TRIGGER tr AFTER INSERT ON nowhere BEGIN SELECT 1; END\" }\n",
            "\"CREATE",
            "trigger \"tr\": unknown table \"nowhere\"",
        ),
        (
            "a reserved name",
            "tables:\n  _schemactl_x:\n    columns: { a: {} }\n",
            "_schemactl_x",
            "table \"_schemactl_x\": names starting with sqlite_ or _schemactl are reserved",
        ),
    ];
    for (what, body, marker, message) in cases {
        let yaml = format!("{HEAD}{body}");
        let expected = format!("s.yaml:{}: {message}", place_of(&yaml, marker));
        let got = first_error(&yaml);
        assert!(
            got.starts_with(&expected),
            "{what}:\n  got      {got}\n  expected {expected}..."
        );
    }
    let message = first_error("schemactl: 2\nversion: 1\n");
    assert!(
        message.starts_with("s.yaml:1:12: unknown DSL format version 2"),
        "{message}"
    );
    let message = first_error("schemactl: 1\nversion: 0\n");
    assert!(
        message.starts_with("s.yaml:2:10: version 0 is not a positive integer"),
        "{message}"
    );
}

#[test]
fn foreign_keys_sqlite_accepts_load() {
    // A parent the schema does not declare (SQLite allows it; import writes such files), and
    // parent keys that are UNIQUE by column, by constraint, by a full unique index, or the
    // primary key in another order.
    let yaml = format!(
        "{HEAD}tables:\n  p:\n    columns: {{ a: {{}}, b: {{}}, c: {{ unique: true }}, d: {{}}, e: {{}} }}\n    primary_key: [b, a]\n    unique: [[d, c]]\n    indexes:\n      p_e: {{ columns: [e], unique: true }}\n  t:\n    columns: {{ x: {{}}, y: {{}} }}\n    foreign_keys:\n      - {{ columns: [x], references: elsewhere(id) }}\n      - {{ columns: [x, y], references: \"p(a, b)\" }}\n      - {{ columns: [x], references: p(c) }}\n      - {{ columns: [x, y], references: \"p(c, d)\" }}\n      - {{ columns: [x], references: p(e) }}\n"
    );
    let desired = dsl::load_str("s.yaml", &yaml).unwrap_or_else(|e| panic!("{e}"));
    let t = desired.schema.table("t").unwrap();
    assert_eq!(t.foreign_keys.len(), 5);
    assert!(t.foreign_keys.iter().any(|f| f.ref_table == "elsewhere"));
}

#[test]
fn every_error_is_reported_not_only_the_first() {
    let yaml = format!(
        "{HEAD}tables:\n  t:\n    columns: {{ a: {{}} }}\n    indexes:\n      i: {{ columns: [x] }}\n      j: {{ columns: [y] }}\n"
    );
    let Err(Error::Source(errors)) = dsl::load_str("s.yaml", &yaml) else {
        panic!("accepted")
    };
    let lines: Vec<_> = errors.iter().map(|e| (e.line, e.column)).collect();
    let expected: Vec<_> = ["[x]", "[y]"]
        .iter()
        .map(|m| {
            let p = place_of(&yaml, m);
            let (l, c) = p.split_once(':').unwrap();
            (l.parse::<usize>().unwrap(), c.parse::<usize>().unwrap() + 1)
        })
        .collect();
    assert_eq!(lines, expected);
}

#[test]
fn a_table_defined_in_two_files_names_both() {
    let dir = common::temp_dir();
    std::fs::write(
        dir.path().join("a.yaml"),
        format!("{HEAD}tables:\n  users:\n    columns: {{ id: {{}} }}\n"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("b.yaml"),
        "schemactl: 1\ntables:\n  Users:\n    columns: { id: {} }\n",
    )
    .unwrap();
    let Err(Error::Source(errors)) = dsl::load(dir.path()) else {
        panic!("accepted")
    };
    let message = errors[0].to_string();
    let a = dir.path().join("a.yaml").display().to_string();
    let b = dir.path().join("b.yaml").display().to_string();
    assert!(
        message.starts_with(&format!("{b}:3:3: table \"Users\" is defined twice")),
        "{message}"
    );
    assert!(message.contains(&format!("{a}:4:3")), "{message}");
}

#[test]
fn a_directory_of_files_merges() {
    let dir = common::temp_dir();
    std::fs::write(
        dir.path().join("a.yaml"),
        format!(
            "{HEAD}tables:\n  p:\n    columns: {{ id: {{ type: INTEGER, primary_key: true }} }}\n"
        ),
    )
    .unwrap();
    std::fs::write(dir.path().join("b.yml"), "schemactl: 1\ntables:\n  c:\n    columns: { p_id: { type: INTEGER } }\n    foreign_keys: [{ columns: [p_id], references: p }]\n").unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a schema").unwrap();
    let desired = dsl::load(dir.path()).unwrap();
    let names: Vec<_> = desired
        .schema
        .tables
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    assert_eq!(names, ["c", "p"]);
    assert_eq!(desired.version, 1);
}

#[test]
fn the_cli_exits_1_and_shows_the_place() {
    let dir = common::temp_dir();
    let file = dir.path().join("bad.yaml");
    std::fs::write(
        &file,
        format!("{HEAD}tables:\n  t:\n    columns:\n      a: {{ type: TEXT, nullable: true }}\n"),
    )
    .unwrap();
    let out = Command::cargo_bin("schemactl")
        .unwrap()
        .current_dir(dir.path())
        .args(["schema", "check", "--schema"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bad.yaml:6:24: unknown field `nullable`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("a: { type: TEXT, nullable: true }"),
        "snippet missing: {stderr}"
    );
    assert!(out.stdout.is_empty());
}

/// Issue 20, point 4: structural errors and query/rule errors come in one report; a query or
/// rule that fails only because the table it names did not convert is not reported twice.
#[test]
fn structural_and_query_errors_are_reported_together() {
    let yaml = format!(
        "{HEAD}tables:\n  t:\n    columns: {{ a: {{}} }}\n    indexes:\n      i: {{ columns: [x] }}\n  u:\n    columns: {{ b: {{}} }}\n    invariants:\n      positive: \"nosuch > 0\"\nqueries:\n  broken: \"SELECT * FROM nowhere\"\n  of_t: \"SELECT * FROM t\"\n"
    );
    let Err(Error::Source(errors)) = dsl::load_str("s.yaml", &yaml) else {
        panic!("accepted")
    };
    let messages: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    assert_eq!(errors.len(), 3, "{messages:#?}");
    assert!(
        messages[0].contains("[x]") || messages[0].contains("\"x\""),
        "{messages:#?}"
    );
    assert!(
        messages[1].contains("invariant \"positive\"") && messages[1].contains("nosuch"),
        "{messages:#?}"
    );
    assert!(
        messages[2].contains("query \"broken\"") && messages[2].contains("nowhere"),
        "{messages:#?}"
    );
    let broken = place_of(&yaml, "\"SELECT * FROM nowhere");
    assert_eq!(format!("{}:{}", errors[2].line, errors[2].column), broken);
}

/// Issue 20, point 4: a `renamed_from` naming a column (table, index) the database does not
/// have names the file, line and column of the hint.
#[test]
fn a_rename_hint_for_a_missing_object_names_its_place() {
    let live = "CREATE TABLE t (a INTEGER); CREATE INDEX i ON t (a);";
    let current = {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch(live).unwrap();
        schemactl::inspect(&conn).unwrap()
    };
    for (what, body, hint, message) in [
        (
            "column",
            "tables:\n  t:\n    columns:\n      a: { type: INTEGER }\n      c: { type: INTEGER, renamed_from: gone }\n    indexes:\n      i: { columns: [a] }\n",
            "gone",
            "column \"t\".\"c\": renamed_from \"gone\", but \"t\" has no column \"gone\"",
        ),
        (
            "table",
            "tables:\n  t:\n    columns:\n      a: { type: INTEGER }\n    indexes:\n      i: { columns: [a] }\n  u:\n    renamed_from: nowhere\n    columns:\n      b: { type: INTEGER }\n",
            "nowhere",
            "table \"u\": renamed_from \"nowhere\", but there is no table \"nowhere\"",
        ),
        (
            "index",
            "tables:\n  t:\n    columns:\n      a: { type: INTEGER }\n    indexes:\n      j: { columns: [a], renamed_from: old_j }\n",
            "old_j",
            "index \"j\": renamed_from \"old_j\", but \"t\" has no index \"old_j\"",
        ),
    ] {
        let yaml = format!("{HEAD}{body}");
        let desired = dsl::load_str("s.yaml", &yaml).unwrap();
        let err = schemactl::diff::diff(&current, &desired.schema, &desired.renames)
            .unwrap_err()
            .to_string();
        let expected = format!("s.yaml:{}: {message}", place_of(&yaml, hint));
        assert!(
            err.starts_with(&expected),
            "{what}: {err}\nwanted {expected}"
        );
    }
}
