//! SQL text: lexing with sqlparser's SQLite tokenizer, identifier and literal quoting, and the
//! canonical form under which two spellings of the same SQL compare equal.
//!
//! SQLite keeps the text of every CREATE statement exactly as it was written, so the same
//! expression can come back as `confidence BETWEEN 0 AND 1` from the YAML and as
//! `"confidence" between 0 and 1` from a live database. [`Sql`] keeps the text as written, for
//! rendering, and compares by its canonical token form: comments and spacing dropped, words
//! (keywords and identifiers, quoted or not) folded to lower case as SQLite folds them, and
//! redundant outer parentheses removed.

use std::cmp::Ordering;
use std::fmt;

use sqlparser::dialect::SQLiteDialect;
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};

mod mentions;
mod schema;
pub mod virtual_table;
pub use mentions::{Mentions, mentions};
pub use schema::{Schema, main_table, qualified_at};

/// A piece of SQL text that compares by meaning-preserving canonical form.
#[derive(Clone)]
pub struct Sql {
    text: String,
    key: String,
}

impl Sql {
    /// Wraps SQL text, computing its canonical form once.
    pub fn new(text: impl Into<String>) -> Self {
        let text = text.into();
        let key = canonical(&text);
        Sql { text, key }
    }

    /// The same text, compared as `meaning` is: for a text that differs from `meaning` only
    /// where SQLite reads both the same (see [`crate::requote::settle`]).
    pub fn keyed_as(self, meaning: &str) -> Self {
        Sql {
            key: canonical(meaning),
            text: self.text,
        }
    }

    /// The same text with the word `from` renamed `to` (as SQLite's RENAME COLUMN renames
    /// it), compared as its meaning renamed: a double-quoted word the key reads as a string
    /// (see [`Sql::keyed_as`]) stays a string, even where it now names the renamed column.
    /// SQLite's own RENAME COLUMN does the same: it writes such a string as `'x'` first.
    pub fn renamed(&self, from: &str, to: &str) -> Self {
        let text = rename_word(&self.text, from, to);
        if self.key == canonical(&self.text) {
            return Sql::new(text);
        }
        match self.meaning() {
            Some(meaning) => Sql {
                key: canonical(&rename_word(&meaning, from, to)),
                text,
            },
            None => Sql::new(text),
        }
    }

    /// The text with the double-quoted words its key reads as strings written as strings
    /// (the text [`Sql::keyed_as`] was given), found by reading the key token by token; None
    /// when the key is not such a reading of the text.
    fn meaning(&self) -> Option<String> {
        let tokens = lex(&self.text).ok()?;
        let mut key = self.key.as_str();
        let mut strings = Vec::new();
        for (i, t) in strip_outer_parens(&tokens).iter().enumerate() {
            if i > 0 {
                key = key.strip_prefix(' ')?;
            }
            let ends = |rest: &str, piece: &str| {
                rest.strip_prefix(piece)
                    .filter(|r| r.is_empty() || r.starts_with(' '))
                    .map(str::len)
            };
            let word = canonical_tokens(std::slice::from_ref(t));
            let string = match &t.token {
                Token::Word(w) if w.quote_style == Some('"') => Some(quote_literal(&w.value)),
                _ => None,
            };
            if let Some(left) = string.as_deref().and_then(|s| ends(key, s)) {
                strings.push(t);
                key = &key[key.len() - left..];
            } else {
                let left = ends(key, &word)?;
                key = &key[key.len() - left..];
            }
        }
        if !key.is_empty() {
            return None;
        }
        let mut out = String::with_capacity(self.text.len());
        let mut at = 0;
        for t in strings {
            out.push_str(self.text.get(at..t.start)?);
            out.push_str(&quote_literal(t.word()?));
            at = t.end;
        }
        out.push_str(self.text.get(at..)?);
        Some(out)
    }

    /// Returns the text as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Returns the canonical form used for comparison.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Returns true when the text is empty or only whitespace.
    pub fn is_empty(&self) -> bool {
        self.key.is_empty()
    }
}

impl PartialEq for Sql {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl Eq for Sql {}
impl PartialOrd for Sql {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Sql {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key.cmp(&other.key)
    }
}
impl fmt::Debug for Sql {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.text)
    }
}
impl fmt::Display for Sql {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// One significant token with its byte range in the source text.
#[derive(Debug, Clone, PartialEq)]
pub struct Tok {
    /// The token.
    pub token: Token,
    /// Byte offset of its first character.
    pub start: usize,
    /// Byte offset just past its last character.
    pub end: usize,
}

impl Tok {
    /// Returns the word's value when the token is an unquoted or quoted word.
    pub fn word(&self) -> Option<&str> {
        match &self.token {
            Token::Word(w) => Some(&w.value),
            _ => None,
        }
    }

    /// Returns the name the token can stand for where SQL expects an object's name: a word
    /// (quoted or not), or a single-quoted string, which SQLite takes as a name there when no
    /// column or keyword fits (`DROP TABLE 'b'`, `UPDATE 'a' SET ...`). Callers that collect
    /// the objects a statement touches read names through this, so that a name written as a
    /// string is never left out; it may over-report (a string value that happens to equal a
    /// table's name), never under-report.
    pub fn name(&self) -> Option<&str> {
        match &self.token {
            Token::Word(w) => Some(&w.value),
            Token::SingleQuotedString(s) => Some(s),
            _ => None,
        }
    }

    /// Returns true when the token is the unquoted keyword `kw` (ASCII case-insensitive).
    pub fn is_kw(&self, kw: &str) -> bool {
        matches!(&self.token, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(kw))
    }
}

/// A lexing failure with the byte offset where it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexError {
    /// What went wrong.
    pub message: String,
    /// Byte offset in the lexed text.
    pub offset: usize,
}

/// Splits SQL text into significant tokens (no whitespace or comments), with byte ranges.
pub fn lex(sql: &str) -> Result<Vec<Tok>, LexError> {
    let mut out = Vec::new();
    match lex_statements(sql, |tokens| out.extend(tokens)) {
        true => Ok(out),
        // So that the error is the whole text's.
        false => lex_whole(sql),
    }
}

/// Lexes `sql` statement by statement (see [`statement_tokens`]), handing each one's
/// significant tokens to `each`, so that neither the whitespace tokens of a long text nor
/// all its tokens are ever held at once. False when a statement does not lex: [`lex`] then
/// lexes the whole text.
pub fn lex_statements(sql: &str, mut each: impl FnMut(Vec<Tok>)) -> bool {
    let mut start = 0;
    while start < sql.len() {
        let Ok((end, tokens)) = statement_tokens(sql, start) else {
            return false;
        };
        let mut piece = Vec::new();
        significant(
            sql.get(start..end).unwrap_or_default(),
            start,
            tokens,
            &mut piece,
        );
        each(piece);
        start = end;
    }
    true
}

/// [`lex`] on the whole text at once.
fn lex_whole(sql: &str) -> Result<Vec<Tok>, LexError> {
    let tokens = Tokenizer::new(&SQLiteDialect {}, sql)
        .tokenize_with_location()
        .map_err(|e| LexError {
            message: e.message.clone(),
            offset: byte_at(
                sql,
                &line_starts(sql),
                e.location.line,
                e.location.column,
                false,
            ),
        })?;
    let mut out = Vec::new();
    significant(sql, 0, tokens, &mut out);
    Ok(out)
}

/// Appends the tokens of `text` (which starts at byte `base` of the whole) that are not
/// whitespace or comments, with their byte ranges in the whole.
fn significant(text: &str, base: usize, tokens: Vec<TokenWithSpan>, out: &mut Vec<Tok>) {
    let starts = line_starts(text);
    // In ASCII text a column is a byte: no line is walked again for each of its tokens.
    let ascii = text.is_ascii();
    let at = |line, column| byte_at(text, &starts, line, column, ascii);
    out.extend(
        tokens
            .into_iter()
            .filter(|t| !matches!(t.token, Token::Whitespace(_) | Token::EOF))
            .map(|t| Tok {
                start: base + at(t.span.start.line, t.span.start.column),
                end: base + at(t.span.end.line, t.span.end.column),
                token: t.token,
            }),
    );
}

/// The byte offset of a 1-based line and column (in characters) of `text`. When `ascii` (the
/// whole text is ASCII), a column's character is the byte at that offset, and the line is not
/// walked.
fn byte_at(text: &str, line_starts: &[usize], line: u64, column: u64, ascii: bool) -> usize {
    let Some(&start) = usize::try_from(line)
        .ok()
        .and_then(|l| l.checked_sub(1))
        .and_then(|l| line_starts.get(l))
    else {
        return text.len();
    };
    let skip = usize::try_from(column.saturating_sub(1)).unwrap_or(usize::MAX);
    if ascii {
        return start.saturating_add(skip).min(text.len());
    }
    text.get(start..)
        .and_then(|rest| rest.char_indices().nth(skip))
        .map_or(text.len(), |(i, _)| start + i)
}

fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect()
}

/// Returns the canonical form of SQL text: tokens joined by single spaces, words folded to
/// lower case, outer parentheses removed. Text that does not lex is compared by its
/// whitespace-collapsed form.
pub fn canonical(sql: &str) -> String {
    match lex(sql) {
        Ok(tokens) => canonical_tokens(strip_outer_parens(&tokens)),
        Err(_) => sql.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

fn canonical_tokens(tokens: &[Tok]) -> String {
    let mut out = String::new();
    for t in tokens {
        if !out.is_empty() {
            out.push(' ');
        }
        match &t.token {
            Token::Word(w) => out.push_str(&w.value.to_ascii_lowercase()),
            Token::SingleQuotedString(s) => out.push_str(&quote_literal(s)),
            Token::HexStringLiteral(s) => {
                out.push_str("x'");
                out.push_str(&s.to_ascii_lowercase());
                out.push('\'');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    out
}

/// Removes parentheses that wrap the whole token list, as often as they do.
pub fn strip_outer_parens(mut tokens: &[Tok]) -> &[Tok] {
    while tokens.len() >= 2
        && tokens[0].token == Token::LParen
        && matching_paren(tokens, 0) == Some(tokens.len() - 1)
    {
        tokens = &tokens[1..tokens.len() - 1];
    }
    tokens
}

/// Returns the index of the parenthesis closing the one at `open`.
pub fn matching_paren(tokens: &[Tok], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, t) in tokens.iter().enumerate().skip(open) {
        match t.token {
            Token::LParen => depth += 1,
            Token::RParen => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Quotes an identifier when it needs quoting: anything but `[A-Za-z_][A-Za-z0-9_]*` that is
/// not an SQLite keyword.
pub fn ident(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !is_keyword(name);
    if plain {
        name.to_string()
    } else {
        quote_ident(name)
    }
}

/// Quotes an identifier with double quotes, always.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Quotes a string literal with single quotes.
pub fn quote_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// An SQL expression giving the value of `expr` as the SQL literal that writes it exactly,
/// for naming a row by its values: `quote()`, but for a text holding a NUL, which `quote()`
/// cuts at the NUL (`'x\0A'` and `'x\0B'` would both read `'x'`), written
/// `CAST(X'...' AS TEXT)` with all its bytes. Values SQLite tells apart give different
/// literals (1, 1.0, '1' and X'31' included; a REAL is written to round-trip, and -0.0 reads
/// 0.0, as SQLite compares them), and each literal ends where SQL reads it to end, so
/// literals joined by a separator still tell every sequence of values apart. `expr` is a
/// column or another expression without side effects: it is read more than once.
pub fn literal_sql(expr: &str) -> String {
    format!(
        "CASE WHEN typeof({expr}) = 'text' AND instr({expr}, char(0)) > 0 THEN 'CAST(X''' || hex({expr}) || ''' AS TEXT)' ELSE quote({expr}) END"
    )
}

/// Renders `text` as one SQL line comment, `-- text`, that nothing in the text can end early
/// or turn into SQL: every control character (newlines and carriage returns above all, which
/// end a `--` comment), the Unicode line and paragraph separators, the bidirectional
/// overrides ([`crate::printable::acts`]), and the backslash are escaped (`\n`, `\r`, `\t`, `\\`, `\u{b}`, ...), and `*/` becomes `*\/`, so the text cannot
/// close a block comment either. Every comment schemactl writes into SQL (step headers, script
/// and migration-file headers) goes through here; [`uncomment`] reads one back.
pub fn comment(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 3);
    out.push_str("-- ");
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '*' if chars.peek() == Some(&'/') => out.push_str("*\\"),
            c if crate::printable::acts(c) => crate::printable::escape_into(&mut out, c),
            c => out.push(c),
        }
    }
    out
}

/// Reads back the text of a line comment written by [`comment`]: `line` without its `--`
/// (and one space), with the escapes undone. Returns None when `line` is not a `--` comment.
pub fn uncomment(line: &str) -> Option<String> {
    let body = line.strip_prefix("--")?;
    let body = body.strip_prefix(' ').unwrap_or(body);
    let body = body.trim_end_matches(['\n', '\r']);
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('u') => {
                let rest = chars.as_str();
                let decoded = rest
                    .strip_prefix('{')
                    .and_then(|r| r.split_once('}'))
                    .and_then(|(hex, tail)| {
                        let c = u32::from_str_radix(hex, 16).ok().and_then(char::from_u32)?;
                        Some((c, tail))
                    });
                match decoded {
                    Some((c, tail)) => {
                        out.push(c);
                        chars = tail.chars();
                    }
                    None => out.push_str("\\u"),
                }
            }
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    Some(out)
}

/// A `--` comment of an SQL text, with whether only comments and whitespace come before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineComment {
    /// The comment as written, from `--` to the end of its line (without the newline).
    pub line: String,
    /// True when no statement text comes before it (a header comment).
    pub leading: bool,
}

/// Returns the `--` comments of `sql`, as the lexer sees them: text inside a quoted
/// identifier or a string is never a comment, however it looks. Fails when `sql` does not lex.
///
/// The text is lexed one statement at a time ([`statement_tokens`]), so that memory follows
/// the longest statement, not the text: the tokens of a 5,000-table adoption migration
/// (1.3 MB of SQL) took 46 MB at once.
pub fn line_comments(sql: &str) -> Result<Vec<LineComment>, LexError> {
    use sqlparser::tokenizer::Whitespace;
    let mut leading = true;
    let mut out = Vec::new();
    let mut start = 0;
    while start < sql.len() {
        let (end, tokens) = statement_tokens(sql, start).map_err(|_| {
            // The whole text's error, as lexing it whole gives it.
            let e = Tokenizer::new(&SQLiteDialect {}, sql).tokenize().err();
            LexError {
                message: e.map(|e| e.message).unwrap_or_default(),
                offset: 0,
            }
        })?;
        for t in tokens.into_iter().map(|t| t.token) {
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
        start = end;
    }
    Ok(out)
}

/// Lexes `sql` from `start` to the end of a statement: to just after a `;` and a newline
/// that the lexer sees as those two tokens (not inside a string, a quoted name or a
/// comment), or to the end of the text. Returns where it stopped and the tokens.
///
/// Lexing stops there exactly as it would in the whole text: both tokens are one character
/// that nothing before them looks past, and what comes after a `;` lexes as at the start of
/// a text (the lexer only looks back for a `.` or a word).
fn statement_tokens(
    sql: &str,
    start: usize,
) -> Result<(usize, Vec<TokenWithSpan>), sqlparser::tokenizer::TokenizerError> {
    use sqlparser::tokenizer::Whitespace;
    let lex = |text: &str| Tokenizer::new(&SQLiteDialect {}, text).tokenize_with_location();
    let rest = sql.get(start..).unwrap_or_default();
    let mut from = 0;
    // A `;` and a newline inside a string or a comment are tried again a few times, then the
    // rest is lexed whole (which is what this was before, at any length).
    for _ in 0..16 {
        let Some(cut) = rest
            .get(from..)
            .and_then(|r| r.find(";\n"))
            .map(|i| from + i + 2)
        else {
            break;
        };
        if cut >= rest.len() {
            break;
        }
        if let Ok(tokens) = lex(rest.get(..cut).unwrap_or_default())
            && let [
                ..,
                TokenWithSpan {
                    token: Token::SemiColon,
                    ..
                },
                TokenWithSpan {
                    token: Token::Whitespace(Whitespace::Newline),
                    ..
                },
            ] = tokens.as_slice()
        {
            return Ok((start + cut, tokens));
        }
        from = cut;
    }
    lex(rest).map(|tokens| (sql.len(), tokens))
}

/// Returns true when `word` is one of SQLite's keywords (https://www.sqlite.org/lang_keywords.html).
pub fn is_keyword(word: &str) -> bool {
    let upper = word.to_ascii_uppercase();
    SQLITE_KEYWORDS.binary_search(&upper.as_str()).is_ok()
}

/// SQLite's keywords, sorted, from https://www.sqlite.org/lang_keywords.html.
const SQLITE_KEYWORDS: &[&str] = &[
    "ABORT",
    "ACTION",
    "ADD",
    "AFTER",
    "ALL",
    "ALTER",
    "ALWAYS",
    "ANALYZE",
    "AND",
    "AS",
    "ASC",
    "ATTACH",
    "AUTOINCREMENT",
    "BEFORE",
    "BEGIN",
    "BETWEEN",
    "BY",
    "CASCADE",
    "CASE",
    "CAST",
    "CHECK",
    "COLLATE",
    "COLUMN",
    "COMMIT",
    "CONFLICT",
    "CONSTRAINT",
    "CREATE",
    "CROSS",
    "CURRENT",
    "CURRENT_DATE",
    "CURRENT_TIME",
    "CURRENT_TIMESTAMP",
    "DATABASE",
    "DEFAULT",
    "DEFERRABLE",
    "DEFERRED",
    "DELETE",
    "DESC",
    "DETACH",
    "DISTINCT",
    "DO",
    "DROP",
    "EACH",
    "ELSE",
    "END",
    "ESCAPE",
    "EXCEPT",
    "EXCLUDE",
    "EXCLUSIVE",
    "EXISTS",
    "EXPLAIN",
    "FAIL",
    "FILTER",
    "FIRST",
    "FOLLOWING",
    "FOR",
    "FOREIGN",
    "FROM",
    "FULL",
    "GENERATED",
    "GLOB",
    "GROUP",
    "GROUPS",
    "HAVING",
    "IF",
    "IGNORE",
    "IMMEDIATE",
    "IN",
    "INDEX",
    "INDEXED",
    "INITIALLY",
    "INNER",
    "INSERT",
    "INSTEAD",
    "INTERSECT",
    "INTO",
    "IS",
    "ISNULL",
    "JOIN",
    "KEY",
    "LAST",
    "LEFT",
    "LIKE",
    "LIMIT",
    "MATCH",
    "MATERIALIZED",
    "NATURAL",
    "NO",
    "NOT",
    "NOTHING",
    "NOTNULL",
    "NULL",
    "NULLS",
    "OF",
    "OFFSET",
    "ON",
    "OR",
    "ORDER",
    "OTHERS",
    "OUTER",
    "OVER",
    "PARTITION",
    "PLAN",
    "PRAGMA",
    "PRECEDING",
    "PRIMARY",
    "QUERY",
    "RAISE",
    "RANGE",
    "RECURSIVE",
    "REFERENCES",
    "REGEXP",
    "REINDEX",
    "RELEASE",
    "RENAME",
    "REPLACE",
    "RESTRICT",
    "RETURNING",
    "RIGHT",
    "ROLLBACK",
    "ROW",
    "ROWS",
    "SAVEPOINT",
    "SELECT",
    "SET",
    "TABLE",
    "TEMP",
    "TEMPORARY",
    "THEN",
    "TIES",
    "TO",
    "TRANSACTION",
    "TRIGGER",
    "UNBOUNDED",
    "UNION",
    "UNIQUE",
    "UPDATE",
    "USING",
    "VACUUM",
    "VALUES",
    "VIEW",
    "VIRTUAL",
    "WHEN",
    "WHERE",
    "WINDOW",
    "WITH",
    "WITHOUT",
];

/// Reads a possibly schema-qualified object name starting at token `i` (`name`, `s.name`,
/// each part a word or a single-quoted string, see [`Tok::name`]): the last part and the index
/// just past it.
pub fn name_at(tokens: &[Tok], mut i: usize) -> Option<(String, usize)> {
    let mut name = tokens.get(i)?.name()?.to_string();
    while tokens.get(i + 1).is_some_and(|t| t.token == Token::Period) {
        name = tokens.get(i + 2)?.name()?.to_string();
        i += 2;
    }
    Some((name, i + 1))
}

/// [`name_at`] after an optional `IF EXISTS` or `IF NOT EXISTS` at token `i`: the object a
/// `CREATE` or `DROP` of an index, table, trigger or view names (`DROP TRIGGER IF EXISTS
/// main.'t'`), and the index just past it. Every reader of such a statement's object goes
/// through here, so that it reads the name in each spelling SQLite accepts.
pub fn object_at(tokens: &[Tok], mut i: usize) -> Option<(String, usize)> {
    if tokens.get(i).is_some_and(|t| t.is_kw("IF")) {
        i += 1;
        if tokens.get(i).is_some_and(|t| t.is_kw("NOT")) {
            i += 1;
        }
        if !tokens.get(i).is_some_and(|t| t.is_kw("EXISTS")) {
            return None;
        }
        i += 1;
    }
    name_at(tokens, i)
}

/// Replaces every word `from` (quoted or not, ignoring ASCII case) in `sql` by the identifier
/// `to`, as SQLite's RENAME COLUMN rewrites expressions.
pub fn rename_word(sql: &str, from: &str, to: &str) -> String {
    rename_words(sql, &[(from.to_string(), to.to_string())])
}

/// Replaces every word that is the first of a pair `(from, to)` by the second, all at once
/// (so a swap `a -> b, b -> a` swaps), as SQLite's RENAME COLUMN rewrites expressions.
pub fn rename_words(sql: &str, renames: &[(String, String)]) -> String {
    let Ok(tokens) = lex(sql) else {
        return sql.to_string();
    };
    let mut out = String::with_capacity(sql.len());
    let mut last = 0;
    for t in tokens {
        let Some(w) = t.word() else { continue };
        if let Some((_, to)) = renames.iter().find(|(f, _)| w.eq_ignore_ascii_case(f)) {
            out.push_str(&sql[last..t.start]);
            out.push_str(&quote_ident(to));
            last = t.end;
        }
    }
    out.push_str(&sql[last..]);
    out
}

#[cfg(test)]
#[path = "sql_tests.rs"]
mod tests;
