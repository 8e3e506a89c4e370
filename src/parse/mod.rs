//! Parsing of the CREATE statements SQLite keeps in `sqlite_schema`, into model parts.
//!
//! The tokens come from sqlparser's SQLite tokenizer; the grammar on top follows SQLite's own
//! (https://www.sqlite.org/lang_createtable.html) rather than sqlparser's statement parser,
//! which rejects legal SQLite such as `UNSIGNED BIG INT` or `REAL(3, 2)` and re-spells types
//! and expressions. Here every type and expression keeps the exact text it was written with.
//! What the model cannot hold faithfully (ON CONFLICT clauses, MATCH, a column-level
//! `PRIMARY KEY DESC`) is reported as [`ParseError::Unsupported`], never guessed.

use sqlparser::tokenizer::Token;

use crate::model::{
    Check, Column, Deferrable, FkAction, ForeignKey, Generated, Index, KeyPart, Name, PrimaryKey,
    Table, Unique, View,
};
use crate::sql::{Sql, Tok, lex, matching_paren};

/// Why a statement could not be parsed into the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// The text is not a statement of the expected kind.
    Syntax {
        /// What was expected.
        message: String,
        /// Byte offset in the statement.
        offset: usize,
    },
    /// The statement is legal but uses something the model does not represent.
    Unsupported {
        /// What it uses.
        reason: String,
    },
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParseError::Syntax { message, offset } => write!(f, "{message} at byte {offset}"),
            ParseError::Unsupported { reason } => write!(f, "not representable: {reason}"),
        }
    }
}

type Result<T> = std::result::Result<T, ParseError>;

/// Keywords that end a column's type name and start a column constraint.
const COLUMN_CONSTRAINT_START: &[&str] = &[
    "CONSTRAINT",
    "PRIMARY",
    "NOT",
    "NULL",
    "UNIQUE",
    "CHECK",
    "DEFAULT",
    "COLLATE",
    "REFERENCES",
    "GENERATED",
    "AS",
];

struct Cursor<'a> {
    sql: &'a str,
    toks: Vec<Tok>,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(sql: &'a str) -> Result<Self> {
        let toks = lex(sql).map_err(|e| ParseError::Syntax {
            message: e.message,
            offset: e.offset,
        })?;
        Ok(Cursor { sql, toks, pos: 0 })
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn peek_kw(&self, kw: &str) -> bool {
        self.peek().is_some_and(|t| t.is_kw(kw))
    }

    fn peek_token(&self, token: &Token) -> bool {
        self.peek().is_some_and(|t| &t.token == token)
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        let hit = self.peek_kw(kw);
        if hit {
            self.pos += 1;
        }
        hit
    }

    fn eat(&mut self, token: &Token) -> bool {
        let hit = self.peek_token(token);
        if hit {
            self.pos += 1;
        }
        hit
    }

    fn offset(&self) -> usize {
        self.peek().map_or(self.sql.len(), |t| t.start)
    }

    fn err<T>(&self, message: impl Into<String>) -> Result<T> {
        let found = self
            .peek()
            .map_or("end of input".to_string(), |t| format!("`{}`", t.token));
        Err(ParseError::Syntax {
            message: format!("{}, found {found}", message.into()),
            offset: self.offset(),
        })
    }

    fn expect_kw(&mut self, kw: &str) -> Result<()> {
        if self.eat_kw(kw) {
            Ok(())
        } else {
            self.err(format!("expected {kw}"))
        }
    }

    fn expect(&mut self, token: &Token) -> Result<()> {
        if self.eat(token) {
            Ok(())
        } else {
            self.err(format!("expected `{token}`"))
        }
    }

    fn at_end(&self) -> bool {
        self.pos >= self.toks.len()
            || (self.pos + 1 == self.toks.len() && self.peek_token(&Token::SemiColon))
    }

    fn expect_end(&self) -> Result<()> {
        if self.at_end() {
            Ok(())
        } else {
            self.err("expected end of statement")
        }
    }

    /// Reads a name: a word (quoted or not) or, as SQLite allows, a string literal.
    fn name(&mut self) -> Result<Name> {
        let name = match self.peek().map(|t| &t.token) {
            Some(Token::Word(w)) => w.value.clone(),
            Some(Token::SingleQuotedString(s)) => s.clone(),
            _ => return self.err("expected a name"),
        };
        self.pos += 1;
        Ok(Name::new(name))
    }

    /// Reads a possibly schema-qualified name and returns its last part.
    fn qualified_name(&mut self) -> Result<Name> {
        let mut name = self.name()?;
        while self.eat(&Token::Period) {
            name = self.name()?;
        }
        Ok(name)
    }

    /// Reads `( ... )` and returns the token range inside the parentheses.
    fn group(&mut self) -> Result<(usize, usize)> {
        if !self.peek_token(&Token::LParen) {
            return self.err("expected `(`");
        }
        let Some(close) = matching_paren(&self.toks, self.pos) else {
            return self.err("unbalanced parentheses");
        };
        let inner = (self.pos + 1, close);
        self.pos = close + 1;
        Ok(inner)
    }

    /// Returns the source text covering tokens `from..to`.
    fn text(&self, from: usize, to: usize) -> &'a str {
        match (
            self.toks.get(from),
            to.checked_sub(1).and_then(|i| self.toks.get(i)),
        ) {
            (Some(a), Some(b)) if from < to => &self.sql[a.start..b.end],
            _ => "",
        }
    }

    /// Reads `( name, ... )`.
    fn name_list(&mut self) -> Result<Vec<Name>> {
        self.expect(&Token::LParen)?;
        let mut names = vec![self.name()?];
        while self.eat(&Token::Comma) {
            names.push(self.name()?);
        }
        self.expect(&Token::RParen)?;
        Ok(names)
    }

    /// Reads a parenthesised expression and returns its inner text.
    fn paren_expr(&mut self) -> Result<Sql> {
        let (from, to) = self.group()?;
        if from == to {
            return self.err("expected an expression");
        }
        Ok(Sql::new(self.text(from, to)))
    }

    /// Skips an `ON CONFLICT ...` clause, which the model does not hold.
    fn refuse_conflict_clause(&self) -> Result<()> {
        if self.peek_kw("ON")
            && self
                .toks
                .get(self.pos + 1)
                .is_some_and(|t| t.is_kw("CONFLICT"))
        {
            return Err(ParseError::Unsupported {
                reason: "ON CONFLICT clause".into(),
            });
        }
        Ok(())
    }

    /// Splits the tokens `from..to` at top-level commas.
    fn split_commas(&self, from: usize, to: usize) -> Vec<(usize, usize)> {
        let mut parts = Vec::new();
        let mut depth = 0usize;
        let mut start = from;
        for i in from..to {
            match self.toks[i].token {
                Token::LParen => depth += 1,
                Token::RParen => depth = depth.saturating_sub(1),
                Token::Comma if depth == 0 => {
                    parts.push((start, i));
                    start = i + 1;
                }
                _ => {}
            }
        }
        parts.push((start, to));
        parts
    }

    /// Parses the key part in tokens `from..to`: `expr [COLLATE name] [ASC|DESC]`. The
    /// collation's name, and a key that is one name, are read in every spelling SQLite reads
    /// a name in there ([`crate::sql::name_at`]): SQLite takes a string literal in a key list
    /// (`PRIMARY KEY ('a')`, `UNIQUE ('a')`, an index on `('a')`) as the column of that name
    /// (`sqlite3StringToId`), and `COLLATE 'nocase'` as the collation `nocase`.
    fn key_part(&self, from: usize, mut to: usize) -> Result<KeyPart> {
        let mut desc = false;
        if to > from && (self.toks[to - 1].is_kw("DESC") || self.toks[to - 1].is_kw("ASC")) {
            desc = self.toks[to - 1].is_kw("DESC");
            to -= 1;
        }
        let mut collate = None;
        if to >= from + 2 && self.toks[to - 2].is_kw("COLLATE") {
            collate = match self.one_name(to - 1, to) {
                Some(name) => Some(name),
                None => {
                    return Err(ParseError::Syntax {
                        message: "expected a collation name after COLLATE".into(),
                        offset: self.toks[to - 1].start,
                    });
                }
            };
            to -= 2;
        }
        if from >= to {
            return Err(ParseError::Syntax {
                message: "expected a column or expression".into(),
                offset: self.toks.get(from).map_or(self.sql.len(), |t| t.start),
            });
        }
        let single_name = self.one_name(from, to);
        Ok(match single_name {
            Some(name) => KeyPart {
                expr: Sql::new(&name),
                is_expr: false,
                collate,
                desc,
            },
            None => KeyPart {
                expr: Sql::new(self.text(from, to)),
                is_expr: true,
                collate,
                desc,
            },
        })
    }

    /// The name that tokens `from..to` are, alone, in any spelling ([`crate::sql::name_at`],
    /// unqualified): None when they are anything else.
    fn one_name(&self, from: usize, to: usize) -> Option<String> {
        match crate::sql::name_at(&self.toks[..to], from) {
            Some((name, next)) if next == to && to == from + 1 => Some(name),
            _ => None,
        }
    }

    /// Reads `( key, ... )` of an index or key constraint; returns the keys and whether
    /// `AUTOINCREMENT` followed the last one (legal in a table-level PRIMARY KEY).
    fn key_list(&mut self) -> Result<(Vec<KeyPart>, bool)> {
        let (from, mut to) = self.group()?;
        let mut autoincrement = false;
        if to > from && self.toks[to - 1].is_kw("AUTOINCREMENT") {
            autoincrement = true;
            to -= 1;
        }
        let keys = self
            .split_commas(from, to)
            .into_iter()
            .map(|(a, b)| self.key_part(a, b))
            .collect::<Result<Vec<_>>>()?;
        Ok((keys, autoincrement))
    }

    /// Reads a foreign-key clause after REFERENCES.
    fn fk_clause(&mut self, name: Option<Name>, columns: Vec<Name>) -> Result<ForeignKey> {
        let ref_table = self.qualified_name()?;
        let ref_columns = if self.peek_token(&Token::LParen) {
            self.name_list()?
        } else {
            Vec::new()
        };
        let mut fk = ForeignKey {
            name,
            columns,
            ref_table,
            ref_columns,
            on_delete: FkAction::NoAction,
            on_update: FkAction::NoAction,
            deferrable: Deferrable::No,
        };
        loop {
            if self.peek_kw("ON")
                && self
                    .toks
                    .get(self.pos + 1)
                    .is_some_and(|t| t.is_kw("CONFLICT"))
            {
                break;
            }
            if self.eat_kw("ON") {
                let on_delete = if self.eat_kw("DELETE") {
                    true
                } else {
                    self.expect_kw("UPDATE")?;
                    false
                };
                let action = self.fk_action()?;
                if on_delete {
                    fk.on_delete = action;
                } else {
                    fk.on_update = action;
                }
            } else if self.peek_kw("MATCH") {
                return Err(ParseError::Unsupported {
                    reason: "MATCH clause in a foreign key".into(),
                });
            } else if self.peek_kw("NOT") || self.peek_kw("DEFERRABLE") {
                let not = self.eat_kw("NOT");
                self.expect_kw("DEFERRABLE")?;
                let mut deferred = false;
                if self.eat_kw("INITIALLY") {
                    deferred = self.eat_kw("DEFERRED");
                    if !deferred {
                        self.expect_kw("IMMEDIATE")?;
                    }
                }
                fk.deferrable = match (not, deferred) {
                    (true, _) => Deferrable::No,
                    (false, true) => Deferrable::InitiallyDeferred,
                    (false, false) => Deferrable::InitiallyImmediate,
                };
            } else {
                break;
            }
        }
        Ok(fk)
    }

    fn fk_action(&mut self) -> Result<FkAction> {
        if self.eat_kw("SET") {
            if self.eat_kw("NULL") {
                return Ok(FkAction::SetNull);
            }
            self.expect_kw("DEFAULT")?;
            return Ok(FkAction::SetDefault);
        }
        if self.eat_kw("CASCADE") {
            return Ok(FkAction::Cascade);
        }
        if self.eat_kw("RESTRICT") {
            return Ok(FkAction::Restrict);
        }
        self.expect_kw("NO")?;
        self.expect_kw("ACTION")?;
        Ok(FkAction::NoAction)
    }
}

/// Parses a `CREATE TABLE` statement into a [`Table`] (without its indexes).
pub fn parse_table(sql: &str) -> Result<Table> {
    let mut c = Cursor::new(sql)?;
    c.expect_kw("CREATE")?;
    let _ = c.eat_kw("TEMP") || c.eat_kw("TEMPORARY");
    c.expect_kw("TABLE")?;
    if c.eat_kw("IF") {
        c.expect_kw("NOT")?;
        c.expect_kw("EXISTS")?;
    }
    let mut table = Table::new(c.qualified_name()?);
    let (from, to) = c.group()?;
    let body_end = c.pos;
    for (a, b) in c.split_commas(from, to) {
        c.pos = a;
        let starts_constraint = ["CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"]
            .iter()
            .any(|kw| c.peek_kw(kw));
        if starts_constraint {
            table_constraint(&mut c, &mut table)?;
        } else {
            column_def(&mut c, &mut table, b)?;
        }
        if c.pos != b {
            return c.err("unexpected text in table definition");
        }
    }
    c.pos = body_end;
    loop {
        if c.eat_kw("STRICT") {
            table.strict = true;
        } else if c.eat_kw("WITHOUT") {
            let Some(word) = c.peek().and_then(Tok::word) else {
                return c.err("expected ROWID");
            };
            if !word.eq_ignore_ascii_case("rowid") {
                return c.err("expected ROWID");
            }
            c.pos += 1;
            table.without_rowid = true;
        } else {
            break;
        }
        if !c.eat(&Token::Comma) {
            break;
        }
    }
    c.expect_end()?;
    table.sort();
    Ok(table)
}

fn column_def(c: &mut Cursor<'_>, table: &mut Table, end: usize) -> Result<()> {
    let name = c.name()?;
    let type_start = c.pos;
    let mut depth = 0usize;
    while c.pos < end {
        let tok = &c.toks[c.pos];
        match tok.token {
            Token::LParen => depth += 1,
            Token::RParen => depth = depth.saturating_sub(1),
            _ if depth == 0 && COLUMN_CONSTRAINT_START.iter().any(|kw| tok.is_kw(kw)) => break,
            _ => {}
        }
        c.pos += 1;
    }
    let mut column = Column::new(name.clone(), c.text(type_start, c.pos));
    let mut constraint_name: Option<Name> = None;
    while c.pos < end {
        if c.eat_kw("CONSTRAINT") {
            constraint_name = Some(c.name()?);
            continue;
        }
        let cname = constraint_name.take();
        if c.eat_kw("PRIMARY") {
            c.expect_kw("KEY")?;
            if c.peek_kw("DESC") {
                return Err(ParseError::Unsupported {
                    reason: format!(
                        "column-level PRIMARY KEY DESC on \"{name}\" (not a rowid alias)"
                    ),
                });
            }
            c.eat_kw("ASC");
            c.refuse_conflict_clause()?;
            let autoincrement = c.eat_kw("AUTOINCREMENT");
            if table.primary_key.is_some() {
                return c.err(format!(
                    "table \"{}\" has more than one primary key",
                    table.name
                ));
            }
            table.primary_key = Some(PrimaryKey {
                name: cname,
                columns: vec![KeyPart::column(name.clone())],
                autoincrement,
                after_uniques: table.uniques.len(),
            });
        } else if c.eat_kw("NOT") {
            c.expect_kw("NULL")?;
            c.refuse_conflict_clause()?;
            column.not_null = true;
            column.not_null_name = cname;
        } else if c.eat_kw("NULL") {
            c.refuse_conflict_clause()?;
            unnamed(&cname, "NULL", &name)?;
        } else if c.eat_kw("UNIQUE") {
            c.refuse_conflict_clause()?;
            table.uniques.push(Unique {
                name: cname,
                columns: vec![KeyPart::column(name.clone())],
            });
        } else if c.eat_kw("CHECK") {
            let expr = c.paren_expr()?;
            column.checks.push(Check { name: cname, expr });
        } else if c.eat_kw("DEFAULT") {
            column.default = Some(default_value(c)?);
            column.default_name = cname;
        } else if c.eat_kw("COLLATE") {
            unnamed(&cname, "COLLATE", &name)?;
            column.collate = Some(c.name()?.to_string());
        } else if c.eat_kw("REFERENCES") {
            let fk = c.fk_clause(cname, vec![name.clone()])?;
            table.foreign_keys.push(fk);
        } else if c.peek_kw("GENERATED") || c.peek_kw("AS") {
            unnamed(&cname, "GENERATED", &name)?;
            if c.eat_kw("GENERATED") {
                c.expect_kw("ALWAYS")?;
            }
            c.expect_kw("AS")?;
            let expr = c.paren_expr()?;
            let stored = c.eat_kw("STORED");
            if !stored {
                c.eat_kw("VIRTUAL");
            }
            column.generated = Some(Generated { expr, stored });
        } else {
            return c.err(format!("expected a constraint on column \"{name}\""));
        }
    }
    // `DEFAULT NULL` stays: `PRAGMA table_xinfo` reports it (dflt_value 'NULL').
    table.columns.push(column);
    Ok(())
}

/// Refuses a constraint name the model has no place for (on NULL, COLLATE or GENERATED): the
/// table is then kept verbatim rather than losing the name.
fn unnamed(cname: &Option<Name>, what: &str, column: &Name) -> Result<()> {
    match cname {
        None => Ok(()),
        Some(n) => Err(ParseError::Unsupported {
            reason: format!("a constraint name (\"{n}\") on the {what} of column \"{column}\""),
        }),
    }
}

/// Reads a DEFAULT value: a signed number, a literal or name, or a parenthesised expression.
fn default_value(c: &mut Cursor<'_>) -> Result<Sql> {
    let start = c.pos;
    if c.peek_token(&Token::LParen) {
        c.group()?;
        return Ok(Sql::new(c.text(start, c.pos)));
    }
    if c.peek_token(&Token::Minus) || c.peek_token(&Token::Plus) {
        c.pos += 1;
    }
    match c.peek().map(|t| &t.token) {
        Some(
            Token::Number(..)
            | Token::SingleQuotedString(_)
            | Token::HexStringLiteral(_)
            | Token::Word(_),
        ) => {
            c.pos += 1;
            Ok(Sql::new(c.text(start, c.pos)))
        }
        _ => c.err("expected a default value"),
    }
}

fn table_constraint(c: &mut Cursor<'_>, table: &mut Table) -> Result<()> {
    let name = if c.eat_kw("CONSTRAINT") {
        Some(c.name()?)
    } else {
        None
    };
    if c.eat_kw("PRIMARY") {
        c.expect_kw("KEY")?;
        let (columns, autoincrement) = c.key_list()?;
        c.refuse_conflict_clause()?;
        if table.primary_key.is_some() {
            return c.err(format!(
                "table \"{}\" has more than one primary key",
                table.name
            ));
        }
        table.primary_key = Some(PrimaryKey {
            name,
            columns,
            autoincrement,
            after_uniques: table.uniques.len(),
        });
    } else if c.eat_kw("UNIQUE") {
        let (columns, _) = c.key_list()?;
        c.refuse_conflict_clause()?;
        table.uniques.push(Unique { name, columns });
    } else if c.eat_kw("CHECK") {
        let expr = c.paren_expr()?;
        table.checks.push(Check { name, expr });
    } else if c.eat_kw("FOREIGN") {
        c.expect_kw("KEY")?;
        let columns = c.name_list()?;
        c.expect_kw("REFERENCES")?;
        let fk = c.fk_clause(name, columns)?;
        table.foreign_keys.push(fk);
    } else {
        return c.err("expected PRIMARY KEY, UNIQUE, CHECK or FOREIGN KEY");
    }
    Ok(())
}

/// Parses a `CREATE INDEX` statement; returns the indexed table's name and the index.
pub fn parse_index(sql: &str) -> Result<(Name, Index)> {
    let mut c = Cursor::new(sql)?;
    c.expect_kw("CREATE")?;
    let unique = c.eat_kw("UNIQUE");
    c.expect_kw("INDEX")?;
    if c.eat_kw("IF") {
        c.expect_kw("NOT")?;
        c.expect_kw("EXISTS")?;
    }
    let name = c.qualified_name()?;
    c.expect_kw("ON")?;
    let table = c.qualified_name()?;
    let (columns, autoincrement) = c.key_list()?;
    if autoincrement {
        return c.err("AUTOINCREMENT is not allowed in an index");
    }
    let where_clause = if c.eat_kw("WHERE") {
        let from = c.pos;
        let mut to = c.toks.len();
        if to > from && c.toks[to - 1].token == Token::SemiColon {
            to -= 1;
        }
        c.pos = to;
        Some(Sql::new(c.text(from, to)))
    } else {
        None
    };
    c.expect_end()?;
    Ok((
        table,
        Index {
            name,
            unique,
            columns,
            where_clause,
        },
    ))
}

/// Parses one index key as written in the DSL: `expr [COLLATE name] [ASC|DESC]`.
pub fn parse_key_part(text: &str) -> Result<KeyPart> {
    let c = Cursor::new(text)?;
    let (from, to) = c
        .split_commas(0, c.toks.len())
        .first()
        .copied()
        .unwrap_or((0, 0));
    if to != c.toks.len() {
        return Err(ParseError::Syntax {
            message: "expected one key, found a comma".into(),
            offset: c.toks.get(to).map_or(text.len(), |t| t.start),
        });
    }
    c.key_part(from, to)
}

/// Parses a `CREATE VIEW` statement.
pub fn parse_view(sql: &str) -> Result<View> {
    let mut c = Cursor::new(sql)?;
    c.expect_kw("CREATE")?;
    let _ = c.eat_kw("TEMP") || c.eat_kw("TEMPORARY");
    c.expect_kw("VIEW")?;
    if c.eat_kw("IF") {
        c.expect_kw("NOT")?;
        c.expect_kw("EXISTS")?;
    }
    let name = c.qualified_name()?;
    let columns = if c.peek_token(&Token::LParen) {
        c.name_list()?
    } else {
        Vec::new()
    };
    c.expect_kw("AS")?;
    let from = c.pos;
    let mut to = c.toks.len();
    if to > from && c.toks[to - 1].token == Token::SemiColon {
        to -= 1;
    }
    if from >= to {
        return c.err("expected a SELECT statement");
    }
    Ok(View {
        name,
        columns,
        select: Sql::new(c.text(from, to)),
    })
}

/// Parses the head of a `CREATE TRIGGER` statement; returns its name and its table.
pub fn parse_trigger(sql: &str) -> Result<(Name, Name)> {
    let mut c = Cursor::new(sql)?;
    c.expect_kw("CREATE")?;
    let _ = c.eat_kw("TEMP") || c.eat_kw("TEMPORARY");
    c.expect_kw("TRIGGER")?;
    if c.eat_kw("IF") {
        c.expect_kw("NOT")?;
        c.expect_kw("EXISTS")?;
    }
    let name = c.qualified_name()?;
    while !c.at_end() && !c.peek_kw("ON") {
        c.pos += 1;
    }
    c.expect_kw("ON")?;
    let table = c.qualified_name()?;
    if !c.toks[c.pos..].iter().any(|t| t.is_kw("BEGIN")) {
        return c.err("expected BEGIN ... END");
    }
    Ok((name, table))
}

/// Parses the head of a `CREATE VIRTUAL TABLE` statement; returns its name.
pub fn parse_virtual_table(sql: &str) -> Result<Name> {
    let mut c = Cursor::new(sql)?;
    c.expect_kw("CREATE")?;
    c.expect_kw("VIRTUAL")?;
    c.expect_kw("TABLE")?;
    if c.eat_kw("IF") {
        c.expect_kw("NOT")?;
        c.expect_kw("EXISTS")?;
    }
    let name = c.qualified_name()?;
    c.expect_kw("USING")?;
    c.name()?;
    Ok(name)
}

/// Parses a foreign-key target as written in the DSL: `table` or `table(col, ...)`.
pub fn parse_reference(text: &str) -> Result<(Name, Vec<Name>)> {
    let mut c = Cursor::new(text)?;
    let table = c.qualified_name()?;
    let columns = if c.peek_token(&Token::LParen) {
        c.name_list()?
    } else {
        Vec::new()
    };
    c.expect_end()?;
    Ok((table, columns))
}

/// Checks a declared type as written in the DSL: type words, then optionally one or two
/// signed numbers in parentheses, as SQLite's grammar allows.
pub fn check_type(text: &str) -> Result<()> {
    let mut c = Cursor::new(text)?;
    while let Some(t) = c.peek() {
        match &t.token {
            Token::Word(_) if !COLUMN_CONSTRAINT_START.iter().any(|kw| t.is_kw(kw)) => c.pos += 1,
            Token::LParen => break,
            _ => return c.err("expected a type name"),
        }
    }
    if c.eat(&Token::LParen) {
        for i in 0..2 {
            if i == 1 && !c.eat(&Token::Comma) {
                break;
            }
            let _ = c.eat(&Token::Minus) || c.eat(&Token::Plus);
            if !matches!(c.peek().map(|t| &t.token), Some(Token::Number(..))) {
                return c.err("expected a number");
            }
            c.pos += 1;
        }
        c.expect(&Token::RParen)?;
    }
    if c.pos < c.toks.len() {
        return c.err("expected end of type");
    }
    Ok(())
}

#[cfg(test)]
mod tests;
