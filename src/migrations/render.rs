//! A migration's SQL text: rendering a plan as a migration file (with the stash and restore
//! statements of the steps that drop data), and reading back what running a migration's SQL
//! needs ([`needs`]), from a generated file's header or a hand-written file's statements.

use crate::plan::{Direction, Plan, Stash};
use crate::sql::{lex, line_comments, uncomment};

pub use crate::plan::{FOREIGN_KEYS_HEADER, STASH_PREFIX};

/// What running a migration's SQL safely needs, read from its header or its statements.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    /// Foreign keys must be off (it drops or rebuilds tables).
    pub foreign_keys_off: bool,
    /// Tables to `foreign_key_check` before committing; None means every table.
    pub check: Option<Vec<String>>,
    /// It drops or narrows something.
    pub destructive: bool,
    /// It has a statement that changes rows (`DELETE`, `UPDATE`, `DROP TABLE`, `INSERT ... SELECT`):
    /// the driver reports every table's row count before and after, and rows that disappear
    /// need `--allow-destructive`.
    pub changes_data: bool,
}

/// Reads what `sql` needs: from a generated header, or (hand-written) from its statements:
/// any `DROP TABLE` needs foreign keys off and a full check, and is destructive, as is any
/// `DROP COLUMN`.
///
/// Only real comments count, as the lexer finds them: a header is a comment before the first
/// statement, a step line (`-- step N [kind]: ...`) a comment anywhere. Text inside a quoted
/// name or a string is never a header, however it looks, so a name cannot forge one. SQL
/// that does not lex needs everything (foreign keys off, a full check, destructive).
pub fn needs(sql: &str) -> Needs {
    Needs {
        changes_data: super::statements::changes_data(sql),
        ..needs_from_header_or_statements(sql)
    }
}

fn needs_from_header_or_statements(sql: &str) -> Needs {
    let Ok(comments) = line_comments(sql) else {
        return Needs {
            foreign_keys_off: true,
            check: None,
            destructive: true,
            changes_data: false,
        };
    };
    let header_prefix = FOREIGN_KEYS_HEADER.trim_start_matches("-- ");
    let texts: Vec<(String, bool)> = comments
        .iter()
        .filter_map(|c| uncomment(&c.line).map(|t| (t, c.leading)))
        .collect();
    let destructive = texts
        .iter()
        .any(|(t, _)| step_label(t).is_some_and(|l| l.contains("destructive")));
    let leading = || texts.iter().filter(|(_, leading)| *leading).map(|(t, _)| t);
    if let Some(list) = leading().find_map(|t| t.strip_prefix(header_prefix)) {
        return Needs {
            foreign_keys_off: true,
            check: Some(check_list(list)),
            destructive,
            changes_data: false,
        };
    }
    if leading().any(|t| t.starts_with("schemactl migration")) {
        return Needs {
            foreign_keys_off: false,
            check: Some(Vec::new()),
            destructive,
            changes_data: false,
        };
    }
    let tokens = lex(sql).unwrap_or_default();
    let pair = |a: &str, b: &str| tokens.windows(2).any(|w| w[0].is_kw(a) && w[1].is_kw(b));
    let drops_table = pair("DROP", "TABLE");
    Needs {
        foreign_keys_off: drops_table,
        check: if drops_table { None } else { Some(Vec::new()) },
        destructive: drops_table || pair("DROP", "COLUMN"),
        changes_data: false,
    }
}

/// Refuses a plan with a step whose stash could not find its rows again: a table whose
/// columns shadow `rowid`, `_rowid_` and `oid` and whose primary key may be NULL.
pub fn check_stashable(plan: &Plan) -> crate::error::Result<()> {
    match plan
        .steps
        .iter()
        .filter_map(|s| s.stash.as_ref())
        .find(|s| !s.identifiable())
    {
        Some(Stash {
            table,
            reserved: Some(column),
            ..
        }) => Err(crate::error::Error::ReservedColumn {
            table: table.clone(),
            column: column.clone(),
        }),
        Some(stash) => Err(crate::error::Error::StashUnidentifiable {
            table: stash.table.clone(),
            without_rowid: stash.without_rowid,
        }),
        None => Ok(()),
    }
}

/// Reads the schema version a generated migration leads to, from its header comment
/// (`-- schemactl migration V{n}__{name} (schema version N)`); None for a hand-written file.
///
/// Only the header is lexed ([`header`]: the comments and whitespace before the first
/// statement), not the statements after it: the history's migrations are read on every
/// sync and plan, an adoption of thousands of CREATEs among them.
pub fn schema_version(sql: &str) -> Option<u32> {
    let comments = line_comments(header(sql)).ok()?;
    comments
        .iter()
        .filter(|c| c.leading)
        .filter_map(|c| uncomment(&c.line))
        .find(|t| t.starts_with("schemactl migration"))?
        .rsplit_once("(schema version ")?
        .1
        .strip_suffix(')')?
        .parse()
        .ok()
}

/// The start of `sql` up to its first statement: whitespace (as the lexer sees it: any
/// Unicode white space) and comments, `--` to the end of the line, `/* ... */` (an
/// unterminated one takes the rest, and fails to lex as it would in the whole text). The
/// lexer finds in it exactly the leading comments it finds in the whole text.
fn header(sql: &str) -> &str {
    let mut rest = sql;
    loop {
        rest = rest.trim_start_matches(char::is_whitespace);
        if let Some(after) = rest.strip_prefix("--") {
            rest = after.split_once('\n').map_or("", |(_, tail)| tail);
        } else if let Some(after) = rest.strip_prefix("/*") {
            rest = after.split_once("*/").map_or("", |(_, tail)| tail);
        } else {
            return &sql[..sql.len() - rest.len()];
        }
    }
}

/// Returns the rename hints to plan with, given the schema versions migrations already led
/// to (`applied`): all of them, unless a migration already led to `version`; then the hints
/// that form a cycle (a swap) are left out, since the names alone cannot say whether a swap
/// has been made, and making it again would swap the columns back.
pub fn renames_to_plan(
    renames: &crate::dsl::Renames,
    version: u32,
    applied: impl IntoIterator<Item = u32>,
) -> crate::dsl::Renames {
    if applied.into_iter().any(|v| v >= version) {
        crate::diff::without_rename_cycles(renames)
    } else {
        renames.clone()
    }
}

/// The label of a step line `step N [label]: summary`, or None when `text` is not one.
fn step_label(text: &str) -> Option<&str> {
    let rest = text.strip_prefix("step ")?;
    let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if digits == 0 {
        return None;
    }
    rest[digits..]
        .strip_prefix(" [")?
        .split_once("]:")
        .map(|(label, _)| label)
}

/// The tables of a foreign-key header: SQL identifiers separated by commas (older files wrote
/// bare names, which read the same way).
fn check_list(list: &str) -> Vec<String> {
    let words = lex(list).ok().and_then(|tokens| {
        let mut names = Vec::new();
        for (i, t) in tokens.iter().enumerate() {
            match (i % 2, t.word()) {
                (0, Some(w)) => names.push(w.to_string()),
                (1, None) if t.token == sqlparser::tokenizer::Token::Comma => {}
                _ => return None,
            }
        }
        Some(names)
    });
    words.unwrap_or_else(|| {
        list.split(',')
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect()
    })
}

/// What one statement drops: a table, or one column of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    /// The schema the statement names the table in (`DROP TABLE temp.t`): an unqualified
    /// name is TEMP's when the connection has a TEMP table of that name, main's otherwise.
    pub schema: crate::sql::Schema,
    /// The table dropped, or whose column is dropped.
    pub table: String,
    /// The column dropped, when only a column is.
    pub column: Option<String>,
}

/// The tables and columns `sql`'s statements drop (`DROP TABLE [IF EXISTS] t`,
/// `ALTER TABLE t DROP [COLUMN] c`), in order. SQL that does not lex drops nothing known:
/// callers treat a destructive migration with no known drop as one that may lose rows.
pub fn drops(sql: &str) -> Vec<Dropped> {
    let tokens = lex(sql).unwrap_or_default();
    // A possibly schema-qualified name starting at `i`: its schema and its last part.
    let name_at = |i: usize| crate::sql::qualified_at(&tokens, i);
    let mut out = Vec::new();
    for i in 0..tokens.len() {
        if tokens[i].is_kw("DROP") && tokens.get(i + 1).is_some_and(|t| t.is_kw("TABLE")) {
            let mut at = i + 2;
            if tokens.get(at).is_some_and(|t| t.is_kw("IF"))
                && tokens.get(at + 1).is_some_and(|t| t.is_kw("EXISTS"))
            {
                at += 2;
            }
            if let Some((schema, table, _)) = name_at(at) {
                out.push(Dropped {
                    schema,
                    table,
                    column: None,
                });
            }
        } else if tokens[i].is_kw("ALTER") && tokens.get(i + 1).is_some_and(|t| t.is_kw("TABLE")) {
            let Some((schema, table, mut at)) = name_at(i + 2) else {
                continue;
            };
            if !tokens.get(at).is_some_and(|t| t.is_kw("DROP")) {
                continue;
            }
            at += 1;
            if tokens.get(at).is_some_and(|t| t.is_kw("COLUMN")) {
                at += 1;
            }
            if let Some(column) = tokens.get(at).and_then(|t| t.name()) {
                out.push(Dropped {
                    schema,
                    table,
                    column: Some(column.to_string()),
                });
            }
        }
    }
    out
}

/// Renders a plan as a migration file's SQL in `direction` (see [`Plan::migration_file`]).
pub fn render(plan: &Plan, stem: &str, schema_version: u32, direction: Direction) -> String {
    plan.migration_file(stem, schema_version, direction)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_written_sql_says_what_it_needs() {
        assert_eq!(
            needs("ALTER TABLE t ADD COLUMN c TEXT;"),
            Needs {
                foreign_keys_off: false,
                check: Some(vec![]),
                destructive: false,
                changes_data: false,
            }
        );
        assert_eq!(
            needs("ALTER TABLE t DROP COLUMN c;"),
            Needs {
                foreign_keys_off: false,
                check: Some(vec![]),
                destructive: true,
                changes_data: false,
            }
        );
        assert_eq!(
            needs("CREATE TABLE n (a); INSERT INTO n SELECT * FROM t; DROP TABLE t;"),
            Needs {
                foreign_keys_off: true,
                check: None,
                destructive: true,
                changes_data: true,
            }
        );
        // A name that looks like a header or a step line is not one.
        let forged = "-- schemactl migration V9__x (schema version 9)\n\n-- step 1 [safe]: create table x\n\
            CREATE TABLE \"x\n-- schemactl: foreign-keys off; check: y\n-- step 2 [destructive]: z\" (a);\n";
        assert_eq!(
            needs(forged),
            Needs {
                foreign_keys_off: false,
                check: Some(vec![]),
                destructive: false,
                changes_data: false,
            }
        );
        // The check list is a list of identifiers: a comma or a newline stays in its name.
        let header =
            "-- schemactl: foreign-keys off; check: \"a, b\", \"c\\n-- d\", plain\nDROP TABLE x;";
        assert_eq!(
            needs(header).check,
            Some(vec![
                "a, b".to_string(),
                "c\n-- d".to_string(),
                "plain".to_string()
            ])
        );
        // 'drop table' in a string is not a statement
        assert!(!needs("UPDATE t SET note = 'drop table';").foreign_keys_off);
    }

    /// The header as the whole text's lexing reads it (what [`schema_version`] did before it
    /// lexed only the header).
    fn schema_version_of_whole(sql: &str) -> Option<u32> {
        line_comments(sql)
            .ok()?
            .iter()
            .filter(|c| c.leading)
            .filter_map(|c| uncomment(&c.line))
            .find(|t| t.starts_with("schemactl migration"))?
            .rsplit_once("(schema version ")?
            .1
            .strip_suffix(')')?
            .parse()
            .ok()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// Reading the version from the header alone finds what lexing the whole text finds,
        /// for any text that lexes: headers after comments, blank lines, block comments and
        /// Unicode white space, and forged headers inside names and strings or after the
        /// first statement.
        #[test]
        fn schema_version_reads_the_header_as_the_whole_text_does(
            parts in proptest::collection::vec(proptest::sample::select(vec![
                "-- schemactl migration V3__x (schema version 7)\n",
                "-- schemactl migration V4__y (schema version 12)",
                "-- schemactl: foreign-keys off; check: t\n",
                "-- note\r\n",
                "--\n",
                "/* block -- schemactl migration V1__z (schema version 9)\n */",
                "/* unterminated",
                "\n", " ", "\t", "\u{a0}", "\u{2028}", "\u{3000}",
                "CREATE TABLE \"t\n-- schemactl migration V5__w (schema version 5)\" (a);\n",
                "INSERT INTO t VALUES ('\n-- schemactl migration V6__v (schema version 6)');\n",
                "DROP TABLE t;",
                "-",
                "/",
                "*/",
                "'",
            ]), 0..8)
        ) {
            let sql: String = parts.concat();
            if line_comments(&sql).is_ok() {
                proptest::prop_assert_eq!(schema_version(&sql), schema_version_of_whole(&sql), "{:?}", sql);
            }
        }
    }

    #[test]
    fn schema_version_reads_only_the_header() {
        assert_eq!(
            schema_version(
                "\n-- other\n/* x */ -- schemactl migration V2__a (schema version 3)\nCREATE TABLE t (a);"
            ),
            Some(3)
        );
        assert_eq!(
            schema_version(
                "CREATE TABLE t (a);\n-- schemactl migration V2__a (schema version 3)\n"
            ),
            None
        );
        assert_eq!(
            header("  -- a\n/* b */\nSELECT 1; -- c"),
            "  -- a\n/* b */\n"
        );
        assert_eq!(header("/* open"), "/* open");
    }

    #[test]
    fn drops_names_the_tables_and_columns() {
        use crate::sql::Schema;
        let d = |schema: Schema, table: &str, column: Option<&str>| Dropped {
            schema,
            table: table.into(),
            column: column.map(Into::into),
        };
        assert_eq!(
            drops(
                "DROP TABLE IF EXISTS main.\"a b\"; ALTER TABLE t DROP COLUMN c; \
                 ALTER TABLE [u] DROP v; ALTER TABLE t ADD COLUMN w; DROP INDEX i; \
                 UPDATE t SET note = 'drop table x';"
            ),
            vec![
                d(Schema::Main, "a b", None),
                d(Schema::Unqualified, "t", Some("c")),
                d(Schema::Unqualified, "u", Some("v"))
            ]
        );
        // A TEMP table is named as the statement names it: the driver resolves it.
        assert_eq!(
            drops("DROP TABLE temp.a; ALTER TABLE TEMP.'b' DROP COLUMN c; DROP TABLE x.y"),
            vec![
                d(Schema::Temp, "a", None),
                d(Schema::Temp, "b", Some("c")),
                d(Schema::Other, "y", None)
            ]
        );
    }
}
