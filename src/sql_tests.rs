//! Tests of [`super`]: lexing, quoting, comments and the canonical form.

use super::*;

#[test]
fn keywords_are_sorted_for_binary_search() {
    let mut sorted = SQLITE_KEYWORDS.to_vec();
    sorted.sort_unstable();
    assert_eq!(sorted, SQLITE_KEYWORDS);
}

#[test]
fn canonical_ignores_case_quotes_spacing_and_outer_parens() {
    let cases = [
        (
            "confidence BETWEEN 0 AND 1",
            "(\"confidence\"  between 0\n and 1)",
            true,
        ),
        ("a > 0", "a >= 0", false),
        ("'Abc'", "'abc'", false),
        ("x'00FF'", "X'00ff'", true),
        ("(a) + (b)", "a + b", false),
        ("((1))", "1", true),
        ("lower(name) -- note", "LOWER( name )", true),
    ];
    for (a, b, equal) in cases {
        assert_eq!(Sql::new(a) == Sql::new(b), equal, "{a:?} vs {b:?}");
    }
}

#[test]
fn lex_reports_byte_ranges_after_multibyte_text() {
    let sql = "CREATE TABLE \"é\" (x)";
    let toks = lex(sql).unwrap();
    assert_eq!(&sql[toks[2].start..toks[2].end], "\"é\"");
    assert_eq!(&sql[toks[4].start..toks[4].end], "x");
}

#[test]
fn rename_word_rewrites_words_not_strings() {
    assert_eq!(
        rename_word("a > 0 AND \"A\" < 'a' AND ab = 1", "a", "b c"),
        "\"b c\" > 0 AND \"b c\" < 'a' AND ab = 1"
    );
    assert!(mentions("SELECT x FROM \"Patterns\"", "patterns"));
    assert!(!mentions("SELECT 'patterns'", "patterns"));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
    /// A comment is one line that no text can end early, and reads back exactly.
    #[test]
    fn comments_hold_any_text_on_one_line(text in "(\\PC|[\n\r\t\x0b\x0c\x01\x7f\u{85}\u{2028}\\\\*/-])*") {
        let line = comment(&text);
        let breaks = ['\n', '\r', '\u{2028}', '\u{2029}'];
        proptest::prop_assert!(!line.contains(breaks), "{}", line);
        proptest::prop_assert!(!line.contains("*/"));
        proptest::prop_assert!(!line.chars().any(char::is_control));
        proptest::prop_assert_eq!(uncomment(&line), Some(text.clone()));
        // SQLite sees nothing but a comment.
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);").unwrap();
        conn.execute_batch(&format!("{line}\nSELECT 1;")).unwrap();
        let n: i64 = conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0)).unwrap();
        proptest::prop_assert_eq!(n, 1);
    }
}

#[test]
fn comment_escapes_what_would_end_it() {
    assert_eq!(
        comment("create view \"v\nDELETE FROM t;\n--\""),
        "-- create view \"v\\nDELETE FROM t;\\n--\""
    );
    assert_eq!(comment("a */ b \\ c\x0b"), "-- a *\\/ b \\\\ c\\u{b}");
    assert_eq!(
        comment("step 1 [safe]: add column t.a"),
        "-- step 1 [safe]: add column t.a"
    );
    let lines = line_comments("-- head\nCREATE TABLE \"x\n-- no\" (a); -- tail\n").unwrap();
    assert_eq!(
        lines,
        vec![
            LineComment {
                line: "-- head".into(),
                leading: true
            },
            LineComment {
                line: "-- tail".into(),
                leading: false
            },
        ]
    );
}

/// The comments of a text lexed whole, as `line_comments` did before it lexed statement
/// by statement.
fn line_comments_whole(sql: &str) -> Option<Vec<LineComment>> {
    use sqlparser::tokenizer::Whitespace;
    let tokens = Tokenizer::new(&SQLiteDialect {}, sql).tokenize().ok()?;
    let mut leading = true;
    let mut out = Vec::new();
    for t in tokens {
        match t {
            Token::Whitespace(Whitespace::SingleLineComment { comment, prefix }) => {
                out.push(LineComment {
                    line: format!("{prefix}{}", comment.trim_end_matches(['\n', '\r'])),
                    leading,
                });
            }
            Token::Whitespace(_) | Token::EOF => {}
            _ => leading = false,
        }
    }
    Some(out)
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 256, ..Default::default() })]
    /// Lexing statement by statement finds what lexing the whole text finds (the same
    /// tokens at the same places, the same comments, the same error), whatever
    /// hides a `;` and a newline (a string, a quoted name, a comment, an unclosed one).
    #[test]
    fn line_comments_by_statement_are_the_whole_texts(
        parts in proptest::collection::vec(
            proptest::sample::select(vec![
                "-- head\n", "CREATE TABLE t (a);\n", "CREATE TABLE t (a); -- c\n",
                "'a;\n-- no;\n'", "\"q;\n-- no\"", "[b;\n]", "`c;\n`", "/* x;\n-- no */",
                "-- c;\n", ";\n", "\n", "SELECT 1", "'", "\"", "/*", "x.", "5;\n.5",
                "-- step 1 [destructive]: drop\n", "\r\n", ";\r\n", "DROP TABLE t;\n",
            ]),
            0..24,
        )
    ) {
        let sql: String = parts.concat();
        proptest::prop_assert_eq!(line_comments(&sql).ok(), line_comments_whole(&sql));
        proptest::prop_assert_eq!(lex(&sql), lex_whole(&sql));
    }
}

#[test]
fn ident_quotes_only_when_needed() {
    assert_eq!(ident("patterns"), "patterns");
    assert_eq!(ident("order"), "\"order\"");
    assert_eq!(ident("x\"y"), "\"x\"\"y\"");
    assert_eq!(ident("1a"), "\"1a\"");
    assert_eq!(ident(""), "\"\"");
}

/// Values SQLite tells apart, with the look-alikes that `quote()`, a separator or a type
/// could confuse: texts with NULs, commas and quotes, 1 / 1.0 / '1' / X'31', blobs with NULs.
fn sql_value() -> impl proptest::strategy::Strategy<Value = rusqlite::types::Value> {
    use proptest::prelude::*;
    use rusqlite::types::Value;
    prop_oneof![
        Just(Value::Null),
        (-2i64..3).prop_map(Value::Integer),
        proptest::sample::select(vec![1.0, 1.5, -2.0, 0.1, 1e300, 2.5e-310]).prop_map(Value::Real),
        proptest::collection::vec(
            proptest::sample::select(vec!["x", "\0", ",", "'", "1", "é"]),
            0..4
        )
        .prop_map(|p| Value::Text(p.concat())),
        proptest::collection::vec(
            proptest::sample::select(vec![0u8, b'x', b',', b'1', 0xff]),
            0..3
        )
        .prop_map(Value::Blob),
    ]
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Two sequences of values give the same literals, joined by commas, only when they are
    /// the same values of the same types: a row named by them is one row.
    #[test]
    fn literals_of_values_tell_every_sequence_apart(
        x in proptest::collection::vec(sql_value(), 1..4),
        y in proptest::collection::vec(sql_value(), 1..4),
    ) {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let joined = |v: &[rusqlite::types::Value]| -> String {
            let exprs: Vec<String> = (1..=v.len()).map(|i| literal_sql(&format!("?{i}"))).collect();
            conn.query_row(
                &format!("SELECT {}", exprs.join(" || ',' || ")),
                rusqlite::params_from_iter(v),
                |r| r.get(0),
            )
            .unwrap()
        };
        let (a, b) = (joined(&x), joined(&y));
        proptest::prop_assert_eq!(a == b, x == y, "{:?} {:?}: {} / {}", x, y, a, b);
        // Each value's literal reads back as the value itself.
        for v in &x {
            let lit: String = conn.query_row(&format!("SELECT {}", literal_sql("?1")), [v], |r| r.get(0)).unwrap();
            let back: rusqlite::types::Value = conn.query_row(&format!("SELECT {lit}"), [], |r| r.get(0)).unwrap();
            proptest::prop_assert_eq!(&back, v, "{}", lit);
        }
    }
}

/// A settled key (a double-quoted word read as a string) keeps its string through a rename
/// to that word, as SQLite's RENAME COLUMN does (it writes the string as `'x'` first); a key
/// that is the text's own renames as the text does.
#[test]
fn a_rename_keeps_a_settled_string() {
    let settled = Sql::new("v <> \"x\" AND (a = \"a\")").keyed_as("v <> 'x' AND (a = \"a\")");
    let renamed = settled.renamed("a", "x");
    assert_eq!(renamed.as_str(), "v <> \"x\" AND (\"x\" = \"x\")");
    assert_eq!(renamed.key(), canonical("v <> 'x' AND (x = x)"));
    let plain = Sql::new("v <> \"x\" AND a = 1").renamed("a", "x");
    assert_eq!(plain.key(), canonical("v <> x AND x = 1"));
    // A key that is no reading of the text: renamed as the text.
    let odd = Sql::new("v <> \"x\"").keyed_as("w = 2").renamed("v", "y");
    assert_eq!(odd.key(), canonical("y <> x"));
}

#[test]
fn object_at_reads_a_name_in_every_spelling_after_if_exists() {
    for (sql, want) in [
        ("DROP TABLE b", "b"),
        ("DROP TABLE IF EXISTS \"b c\"", "b c"),
        ("CREATE TABLE if not exists main.[b]", "b"),
        ("DROP TABLE IF EXISTS main.`b``c`", "b`c"),
        ("DROP TABLE IF EXISTS 'b''c'", "b'c"),
        ("DROP TABLE 'main'.'é'", "é"),
    ] {
        let tokens = lex(sql).unwrap();
        let (name, end) = object_at(&tokens, 2).unwrap();
        assert_eq!((name.as_str(), end), (want, tokens.len()), "{sql}");
    }
    let tokens = lex("DROP TABLE IF b").unwrap();
    assert_eq!(object_at(&tokens, 2), None);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
    /// In ASCII text the shortcut finds every (line, column), in or past the text, where the
    /// walk through the characters does.
    #[test]
    fn ascii_positions_are_the_walked_ones(
        text in "[ -~\n\t]{0,80}",
        line in 0u64..8,
        column in 0u64..90,
    ) {
        let starts = line_starts(&text);
        proptest::prop_assert_eq!(
            byte_at(&text, &starts, line, column, true),
            byte_at(&text, &starts, line, column, false)
        );
    }
}
