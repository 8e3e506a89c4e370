//! The statements of a migration's SQL, as the runner sees them: split at the top-level `;`
//! (a trigger's body, and a `CASE ... END` inside it, stay in their statement), each
//! classified by its first words.
//!
//! A migration runs inside the transaction schemactl opens (grouped, all or nothing), so a
//! statement that ends, opens or escapes a transaction (`BEGIN`, `COMMIT`, `END`, `ROLLBACK`,
//! `SAVEPOINT`, `RELEASE`, `VACUUM`, `ATTACH`, `DETACH`, `PRAGMA journal_mode`) is refused
//! when a file is loaded, with its place, and again by the driver just before it would run
//! (stored SQL does not come through the loader). A `SELECT` returns rows a migration cannot
//! use and is refused too. `DELETE`, `UPDATE`, `DROP` and `INSERT ... SELECT` change data:
//! [`changes_data`] says so, and the driver then reports every table's row count.

use crate::error::{Error, Result, SourceError};
use crate::sql::{Tok, lex};

/// Words that control the transaction or the connection, refused as a statement's first word.
const TRANSACTION_CONTROL: [&str; 9] = [
    "BEGIN",
    "COMMIT",
    "END",
    "ROLLBACK",
    "SAVEPOINT",
    "RELEASE",
    "VACUUM",
    "ATTACH",
    "DETACH",
];

/// One top-level statement: its tokens.
struct Statement<'t> {
    tokens: &'t [Tok],
}

/// Where top-level statements end, read one token at a time: a `;` ends one, except inside a
/// trigger's body. The body ends at the `END` that comes right after one of its `;`: SQLite's
/// grammar ends every statement of a body with `;` and the body with `END`, so an `END` anywhere
/// else (a `CASE ... END`, a column named `end` as in `new.end`) is not the body's.
/// [`split`] and [`texts`] share it, so that a long text can be split as it is lexed, without
/// all its tokens at once.
#[derive(Default)]
struct Ends {
    /// Where the current statement's first words are in SQLite's own reading of a trigger's
    /// start (`sqlite3_complete`: `[EXPLAIN ...] CREATE [TEMP] TRIGGER`).
    head: Head,
    /// Tokens of the current statement so far.
    count: usize,
    in_trigger: bool,
    /// True once the statement's trigger body has ended (it must not start again).
    body_done: bool,
    /// True when the previous token of the trigger's body was a `;`.
    after_semicolon: bool,
}

impl Ends {
    /// Reads the next token: true when it is a `;` that ends the current statement (which
    /// may be empty), which the next token then starts afresh.
    fn ends(&mut self, t: &Tok) -> bool {
        let semicolon = t.token == sqlparser::tokenizer::Token::SemiColon;
        if self.count == 0 {
            self.in_trigger = false;
            self.body_done = false;
            self.after_semicolon = false;
            self.head = Head::Start;
        }
        if !self.in_trigger && !self.body_done && self.head.next(t) {
            self.in_trigger = true;
        }
        if self.in_trigger {
            if self.after_semicolon && t.is_kw("END") {
                // The trigger's body ends here; its statement ends at the next `;`.
                self.in_trigger = false;
                self.body_done = true;
            }
            self.after_semicolon = semicolon;
        } else if semicolon {
            self.count = 0;
            return true;
        }
        self.count += 1;
        false
    }
}

/// Splits `tokens` into top-level statements (empty ones skipped).
fn split(tokens: &[Tok]) -> Vec<Statement<'_>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut ends = Ends::default();
    for (i, t) in tokens.iter().enumerate() {
        if ends.ends(t) {
            if i > start {
                out.push(Statement {
                    tokens: &tokens[start..i],
                });
            }
            start = i + 1;
        }
    }
    if start < tokens.len() {
        out.push(Statement {
            tokens: &tokens[start..],
        });
    }
    out
}

/// True when `tokens` (a statement's first tokens) read `CREATE [TEMP|TEMPORARY] TRIGGER`.
/// The first words of a statement as `sqlite3_complete` reads them to find a trigger: an
/// `EXPLAIN` may come first, with any words after it (`QUERY PLAN`), then `CREATE`, any
/// number of `TEMP` or `TEMPORARY`, and `TRIGGER`.
#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum Head {
    #[default]
    Start,
    Explain,
    Create,
    /// Not a trigger (or one already found).
    Other,
}

impl Head {
    /// Reads the next token: true when it is the `TRIGGER` that makes the statement a
    /// trigger's.
    fn next(&mut self, t: &Tok) -> bool {
        let is = |k: &str| t.is_kw(k);
        let (state, trigger) = match *self {
            Head::Start if is("EXPLAIN") => (Head::Explain, false),
            Head::Start | Head::Explain if is("CREATE") => (Head::Create, false),
            Head::Explain
                if ["EXPLAIN", "TEMP", "TEMPORARY", "TRIGGER", "END"]
                    .iter()
                    .all(|k| !is(k)) =>
            {
                (Head::Explain, false)
            }
            Head::Create if is("TEMP") || is("TEMPORARY") => (Head::Create, false),
            Head::Create if is("TRIGGER") => (Head::Other, true),
            _ => (Head::Other, false),
        };
        *self = state;
        trigger
    }
}

/// What is wrong with a statement: the token to point at, and the message.
struct Problem<'t> {
    at: &'t Tok,
    message: String,
    help: &'static str,
    /// A SELECT: harmless to run, refused in files only.
    select: bool,
}

fn problem<'t>(s: &Statement<'t>) -> Option<Problem<'t>> {
    let first = s.tokens.first()?;
    if let Some(word) = TRANSACTION_CONTROL.iter().find(|w| first.is_kw(w)) {
        return Some(Problem {
            at: first,
            message: format!(
                "`{word}` controls the transaction or the connection, and a migration runs inside schemactl's transaction (all pending migrations commit together, or none)"
            ),
            help: "remove it: schemactl opens and commits the transaction, and switches foreign keys off outside it when needed",
            select: false,
        });
    }
    if first.is_kw("PRAGMA") {
        // PRAGMA [schema.]journal_mode
        let name = match s.tokens.get(2).map(|t| &t.token) {
            Some(sqlparser::tokenizer::Token::Period) => s.tokens.get(3),
            _ => s.tokens.get(1),
        };
        // The name in any spelling SQLite reads as one: `journal_mode`, `"journal_mode"`,
        // `'journal_mode'` (h20_02).
        let named = |n: &&Tok| match &n.token {
            sqlparser::tokenizer::Token::SingleQuotedString(s) => {
                s.eq_ignore_ascii_case("journal_mode")
            }
            _ => n
                .word()
                .is_some_and(|w| w.eq_ignore_ascii_case("journal_mode")),
        };
        if let Some(name) = name.filter(named) {
            return Some(Problem {
                at: name,
                message: "`PRAGMA journal_mode` cannot change inside a transaction, and a migration runs inside schemactl's".into(),
                help: "set the journal mode outside migrations (`schemactl optimize`, or the application)",
                select: false,
            });
        }
    }
    // EXPLAIN compiles the statement and returns its program; nothing of it runs (h26_07).
    if first.is_kw("EXPLAIN") {
        return Some(Problem {
            at: first,
            message: "EXPLAIN runs nothing: it returns how SQLite would run the statement, and a migration has nowhere to show that".into(),
            help: "remove EXPLAIN (and QUERY PLAN) to run the statement",
            select: true,
        });
    }
    // After a WITH prefix, the verb that follows its CTEs.
    let verb = verb(s).unwrap_or(first);
    if verb.is_kw("SELECT") || first.is_kw("VALUES") {
        return Some(Problem {
            at: verb,
            message: "a SELECT returns rows, and a migration has nowhere to show them".into(),
            help: "remove it, or write the rows somewhere with INSERT INTO ... SELECT",
            select: true,
        });
    }
    None
}

/// Checks the statements of `text`, the contents of `file` (a migration or rollback file):
/// every statement schemactl refuses, each with its file:line:column. Text that does not lex
/// is left to SQLite, which names the error when it runs.
pub fn check(file: &str, text: &str) -> Result<()> {
    check_with(file, text, true)
}

/// Like [`check`], for SQL stored in the database (a reverse kept at apply time): only what
/// would break the transaction is refused; a SELECT there runs and returns nothing to anyone.
pub fn check_stored(what: &str, text: &str) -> Result<()> {
    check_with(what, text, false)
}

fn check_with(file: &str, text: &str, selects: bool) -> Result<()> {
    let Ok(tokens) = lex(text) else {
        return Ok(());
    };
    let errors: Vec<SourceError> = split(&tokens)
        .iter()
        .filter_map(problem)
        .filter(|p| selects || !p.select)
        .map(|p| {
            SourceError::at(
                file,
                text,
                p.at.start,
                p.at.end - p.at.start,
                p.message,
                "refused here",
            )
            .with_help(p.help)
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Source(errors))
    }
}

/// Returns the text of each top-level statement of `sql`, in order (comments between
/// statements and the `;` left out), so that a statement can be named even when SQLite cannot
/// prepare it. Text that does not lex comes back whole, as one statement.
pub fn texts(sql: &str) -> Vec<&str> {
    // Split as it is lexed, statement by statement: an adoption of thousands of tables would
    // otherwise hold every token of its text at once (14 MB at 5,000 tables).
    let mut out = Vec::new();
    let mut ends = Ends::default();
    // The current statement's first and last byte.
    let mut span: Option<(usize, usize)> = None;
    let lexed = crate::sql::lex_statements(sql, |tokens| {
        for t in &tokens {
            if ends.ends(t) {
                if let Some(text) = span.take().and_then(|(a, b)| sql.get(a..b)) {
                    out.push(text);
                }
            } else {
                span = Some((span.map_or(t.start, |(a, _)| a), t.end));
            }
        }
    });
    if !lexed {
        // As the whole text lexes (which names the same error, or none).
        let Ok(tokens) = lex(sql) else {
            let whole = sql.trim();
            return if whole.is_empty() {
                Vec::new()
            } else {
                vec![whole]
            };
        };
        return split(&tokens)
            .iter()
            .filter_map(|s| {
                let (first, last) = (s.tokens.first()?, s.tokens.last()?);
                sql.get(first.start..last.end)
            })
            .collect();
    }
    if let Some(text) = span.and_then(|(a, b)| sql.get(a..b)) {
        out.push(text);
    }
    out
}

/// Returns why `sql` (one statement, about to run) must not run in a migration, if it must not.
pub fn refused(sql: &str) -> Option<String> {
    let tokens = lex(sql).ok()?;
    split(&tokens)
        .iter()
        .filter_map(problem)
        .find(|p| !p.select)
        .map(|p| p.message)
}

/// The verb of a statement: its first word, or after a `WITH` prefix the verb that follows the
/// CTEs at depth 0.
fn verb<'t>(s: &Statement<'t>) -> Option<&'t Tok> {
    let first = s.tokens.first()?;
    if !first.is_kw("WITH") {
        return Some(first);
    }
    Some(
        top_level(s.tokens)
            .find(|t| {
                ["DELETE", "UPDATE", "INSERT", "REPLACE", "SELECT"]
                    .iter()
                    .any(|k| t.is_kw(k))
            })
            .unwrap_or(first),
    )
}

/// Returns true when `sql` has a statement that changes rows: `DELETE`, `UPDATE`, `DROP TABLE`,
/// `REPLACE`, or `INSERT ... SELECT` (a `WITH` prefix included).
pub fn changes_data(sql: &str) -> bool {
    let Ok(tokens) = lex(sql) else {
        return true;
    };
    split(&tokens).iter().any(|s| {
        let Some(verb) = verb(s) else {
            return false;
        };
        if ["DELETE", "UPDATE", "REPLACE"]
            .iter()
            .any(|k| verb.is_kw(k))
        {
            return true;
        }
        if verb.is_kw("DROP") {
            // Only a dropped table takes rows with it; an index, a view or a trigger does not.
            return s.tokens.get(1).is_some_and(|t| t.is_kw("TABLE"));
        }
        (verb.is_kw("INSERT")) && s.tokens.iter().any(|t| t.is_kw("SELECT"))
    })
}

/// Returns true when `sql` has a statement that writes rows itself: `INSERT` (`VALUES` too),
/// `UPDATE`, `DELETE` or `REPLACE`, a `WITH` prefix included. A trigger's body is part of its
/// `CREATE TRIGGER`, which writes none. Text that does not lex counts as writing.
pub fn writes_rows(sql: &str) -> bool {
    let Ok(tokens) = lex(sql) else {
        return true;
    };
    split(&tokens).iter().filter_map(verb).any(|verb| {
        ["INSERT", "UPDATE", "DELETE", "REPLACE"]
            .iter()
            .any(|k| verb.is_kw(k))
    })
}

/// The tokens of a statement outside parentheses.
fn top_level(tokens: &[Tok]) -> impl Iterator<Item = &Tok> {
    let mut depth = 0i32;
    tokens.iter().filter(move |t| {
        match t.token {
            sqlparser::tokenizer::Token::LParen => depth += 1,
            sqlparser::tokenizer::Token::RParen => depth -= 1,
            _ => return depth == 0,
        }
        false
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn rows_written_are_found_at_statement_starts_only() {
        assert!(writes_rows("ALTER TABLE t ADD c; UPDATE t SET c = 1;"));
        assert!(writes_rows("insert into t values (1)"));
        assert!(writes_rows("WITH x AS (SELECT 1) DELETE FROM t"));
        assert!(!writes_rows("CREATE TABLE t (a); -- UPDATE t\n"));
        assert!(!writes_rows("CREATE TABLE t (note TEXT DEFAULT 'delete')"));
        assert!(!writes_rows("WITH x AS (SELECT 1) SELECT * FROM x"));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// A trigger's body writes rows only when the trigger fires, never when it is created:
        /// however many statements it holds (h9_06: two made `baseline` warn), and with CASE
        /// ... END inside them; the same statements at the top level write rows exactly when
        /// one of them is an INSERT, UPDATE, DELETE or REPLACE.
        #[test]
        fn a_trigger_body_writes_no_rows_when_created(
            body in proptest::collection::vec(proptest::sample::select(vec![
                "INSERT INTO log VALUES (new.v)",
                "UPDATE log SET m = CASE WHEN new.v = 'end' THEN 'x' ELSE 'y' END",
                "DELETE FROM log WHERE m = 'END;'",
                "REPLACE INTO log VALUES (1)",
                "SELECT CASE new.v WHEN 1 THEN 2 END",
                "SELECT RAISE(IGNORE)",
            ]), 1..5),
            temp in proptest::bool::ANY,
        ) {
            let statements = body.iter().map(|s| format!("{s};")).collect::<Vec<_>>().join(" ");
            let temp = if temp { "TEMP " } else { "" };
            let create = format!(
                "CREATE TABLE log (m); CREATE {temp}TRIGGER tr AFTER INSERT ON t BEGIN {statements} END; CREATE INDEX i ON log(m);"
            );
            proptest::prop_assert!(!writes_rows(&create), "{}", create);
            let writes = body.iter().any(|s| !s.starts_with("SELECT"));
            proptest::prop_assert_eq!(writes_rows(&statements), writes, "{}", statements);
        }
    }

    #[test]
    fn texts_name_each_statement_even_one_sqlite_cannot_prepare() {
        let sql = "CREATE TABLE a (x);\n-- note\nINSERT INTO missing VALUES (1) ;\n\
                   CREATE TRIGGER g AFTER INSERT ON a BEGIN SELECT CASE WHEN 1 THEN 2 END; END;\n\
                   CREATE TABLE b (y);\n";
        assert_eq!(
            texts(sql),
            [
                "CREATE TABLE a (x)",
                "INSERT INTO missing VALUES (1)",
                "CREATE TRIGGER g AFTER INSERT ON a BEGIN SELECT CASE WHEN 1 THEN 2 END; END",
                "CREATE TABLE b (y)",
            ]
        );
        // A statement after a trigger is its own: a COMMIT there is seen and refused.
        assert!(
            check(
                "f.sql",
                "CREATE TRIGGER g AFTER INSERT ON a BEGIN SELECT 1; END;\nCOMMIT;\n"
            )
            .is_err()
        );
        assert!(texts("  -- only a comment\n").is_empty());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(128))]

        /// Split as it is lexed, piece by piece, a text gives the statements that its whole
        /// token list gives: with `;` and newlines inside strings, quoted names, comments and
        /// trigger bodies (where the lexer's pieces end but a statement does not), and empty
        /// statements.
        #[test]
        fn texts_split_as_lexed_are_the_whole_texts(
            parts in proptest::collection::vec(proptest::sample::select(vec![
                "CREATE TABLE a (x)",
                "CREATE TABLE \"q;\n\" ('x;\n' TEXT DEFAULT 'y;\nz')",
                "INSERT INTO a VALUES ('v;\n')",
                "-- c;\n",
                "/* b;\n */",
                "",
                "CREATE TRIGGER g AFTER INSERT ON a BEGIN\n  SELECT 1;\n  UPDATE a SET x = CASE WHEN x THEN 'END;\n' ELSE 2 END;\nEND",
                "CREATE TEMP TRIGGER h AFTER DELETE ON a BEGIN DELETE FROM b;\n END",
                "CREATE VIEW v AS SELECT 'a;\nb' AS [c;\n]",
            ]), 0..12),
            seps in proptest::collection::vec(proptest::sample::select(vec![";\n", ";", " ;\n\n", ";\n-- x;\n"]), 12),
        ) {
            let sql: String = parts.iter().zip(&seps).map(|(p, s)| format!("{p}{s}")).collect();
            let tokens = lex(&sql).expect("lexes");
            let whole: Vec<&str> = split(&tokens)
                .iter()
                .map(|s| &sql[s.tokens[0].start..s.tokens[s.tokens.len() - 1].end])
                .collect();
            proptest::prop_assert_eq!(texts(&sql), whole, "{:?}", sql);
        }
    }

    /// The statements SQLite's own `sqlite3_complete` sees in `sql`: the text up to each `;`
    /// at which the text so far is complete (its rule for a trigger: the body ends at an `END`
    /// right after a `;`), without the ones that hold no token but `;`.
    fn sqlite_split(sql: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut start = 0;
        for (i, _) in sql.match_indices(';') {
            let prefix = std::ffi::CString::new(&sql[..=i]).expect("no NUL");
            // SAFETY: a NUL-terminated string, valid for the call.
            if unsafe { rusqlite::ffi::sqlite3_complete(prefix.as_ptr()) } != 0 {
                out.push(sql[start..=i].to_string());
                start = i + 1;
            }
        }
        out.push(sql[start..].to_string());
        out.into_iter()
            .filter(|chunk| {
                lex(chunk).is_ok_and(|t| {
                    t.iter()
                        .any(|t| t.token != sqlparser::tokenizer::Token::SemiColon)
                })
            })
            .collect()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(128))]

        /// The statements are the ones SQLite sees: a trigger's body ends at the `END` after a
        /// `;`, not at a column named `end` (`new.end`, h19_01) nor a `CASE ... END`.
        #[test]
        fn statements_end_where_sqlite_ends_them(
            parts in proptest::collection::vec(proptest::sample::select(vec![
                "CREATE TABLE t (id INTEGER PRIMARY KEY, \"end\" TEXT, v TEXT)",
                "CREATE TRIGGER g AFTER UPDATE ON t BEGIN UPDATE t SET v = new.end WHERE id = old.id; END",
                "CREATE TRIGGER h AFTER INSERT ON t WHEN CASE WHEN new.v THEN 1 END BEGIN SELECT CASE new.end WHEN 1 THEN 'END;' END; INSERT INTO t (v) SELECT t.end FROM t; END",
                "create temp trigger k before delete on t begin delete from t where \"end\" = old.end;\n select 1; end",
                "INSERT INTO t VALUES (1, 'a;\nEND;', 'b')",
                "UPDATE t SET v = CASE WHEN id > 1 THEN 'x' END",
                "-- c; END;\n",
                // h20_04: SQLite reads these as triggers too.
                "EXPLAIN CREATE TRIGGER e1 AFTER INSERT ON t BEGIN SELECT 1; END",
                "explain query plan create temp trigger e2 after insert on t begin select 2; end",
                "EXPLAIN SELECT 1",
                "CREATE TEMP TEMPORARY TRIGGER e3 AFTER INSERT ON t BEGIN SELECT 3; END",
            ]), 1..8),
            seps in proptest::collection::vec(proptest::sample::select(vec![";\n", ";", " ;\n\n", ";;"]), 8),
        ) {
            let sql: String = parts.iter().zip(&seps).map(|(p, s)| format!("{p}{s}")).collect();
            let ours = texts(&sql);
            let sqlites = sqlite_split(&sql);
            proptest::prop_assert_eq!(ours.len(), sqlites.len(), "{:?}: {:?} vs {:?}", sql, ours, sqlites);
            for (o, s) in ours.iter().zip(&sqlites) {
                proptest::prop_assert!(s.contains(o), "{:?} not in {:?}", o, s);
            }
        }
    }

    use super::*;

    fn places(text: &str) -> Vec<(usize, usize)> {
        match check("V1__x.sql", text) {
            Ok(()) => Vec::new(),
            Err(Error::Source(errors)) => errors.iter().map(|e| (e.line, e.column)).collect(),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn transaction_control_is_refused_with_its_place() {
        for word in TRANSACTION_CONTROL {
            assert_eq!(
                places(&format!("CREATE TABLE a (x);\n  {word};\n")),
                vec![(2, 3)],
                "{word}"
            );
        }
        assert_eq!(
            places("CREATE TABLE a (x);\nROLLBACK;\nCOMMIT; BEGIN;\n"),
            vec![(2, 1), (3, 1), (3, 9)]
        );
        assert_eq!(places("PRAGMA journal_mode = WAL;"), vec![(1, 8)]);
        assert_eq!(places("PRAGMA main.journal_mode=DELETE;"), vec![(1, 13)]);
        assert_eq!(places("PRAGMA \"journal_mode\" = DELETE;"), vec![(1, 8)]);
        assert_eq!(places("PRAGMA 'JOURNAL_MODE';"), vec![(1, 8)]);
        assert_eq!(places("begin transaction;"), vec![(1, 1)]);
        assert_eq!(places("SELECT count(*) FROM a;"), vec![(1, 1)]);
        // h19_03: a SELECT after a WITH prefix is one too.
        assert_eq!(
            places("WITH x AS (SELECT 1) SELECT * FROM x;"),
            vec![(1, 22)]
        );
        assert_eq!(
            places("WITH x AS (SELECT 1) INSERT INTO a SELECT * FROM x;"),
            Vec::<(usize, usize)>::new()
        );
    }

    #[test]
    fn words_inside_statements_are_not_transaction_control() {
        let ok = [
            "CREATE TRIGGER t AFTER INSERT ON a BEGIN UPDATE a SET x = CASE WHEN x THEN 1 ELSE 2 END; DELETE FROM b; END;\nCREATE TABLE c (y);",
            "CREATE TEMP TRIGGER t AFTER INSERT ON a BEGIN SELECT RAISE(ROLLBACK, 'no'); END;",
            "INSERT OR ROLLBACK INTO a VALUES (1);",
            "UPDATE a SET x = 'COMMIT; BEGIN;'; -- ROLLBACK;\n",
            "PRAGMA foreign_keys = OFF;",
            "CREATE TABLE \"begin\" (\"end\");",
        ];
        for sql in ok {
            assert_eq!(places(sql), Vec::<(usize, usize)>::new(), "{sql}");
        }
        assert_eq!(
            refused("CREATE TRIGGER t AFTER INSERT ON a BEGIN DELETE FROM b; END"),
            None
        );
        assert!(refused("COMMIT").is_some());
    }

    #[test]
    fn data_changes_are_classified() {
        for sql in [
            "DELETE FROM metrics_log;",
            "UPDATE a SET x = 1;",
            "DROP TABLE a;",
            "drop table if exists a;",
            "CREATE INDEX i ON a (x); DROP TABLE a;",
            "INSERT INTO a SELECT * FROM b;",
            "WITH old AS (SELECT 1) DELETE FROM a WHERE x IN old;",
            "REPLACE INTO a VALUES (1);",
        ] {
            assert!(changes_data(sql), "{sql}");
        }
        for sql in [
            "CREATE TABLE a (x);",
            "INSERT INTO a VALUES (1);",
            "ALTER TABLE a ADD COLUMN y;",
            "CREATE TRIGGER t AFTER INSERT ON a BEGIN DELETE FROM b; END;",
            "CREATE INDEX i ON a (x);",
            "DROP INDEX i;",
            "DROP VIEW IF EXISTS v;",
            "DROP TRIGGER t;",
            "ALTER TABLE a DROP COLUMN y;",
        ] {
            assert!(!changes_data(sql), "{sql}");
        }
    }
}
