//! The conversion context: errors collected with their places in the sources, and SQLite as
//! the judge of whether an expression parses.

use rusqlite::Connection;
use serde_saphyr::{Location, Spanned};
use sqlparser::tokenizer::Token;

use super::Source;
use crate::error::SourceError;
use crate::normal;
use crate::sql::{lex, matching_paren};

/// Returns the byte offset of 1-based `line` and character `column` in `text`.
pub fn offset_of(text: &str, line: u64, column: u64) -> usize {
    let line = usize::try_from(line).unwrap_or(usize::MAX);
    let column = usize::try_from(column).unwrap_or(usize::MAX);
    let Some((start, _)) = std::iter::once((0, ""))
        .chain(text.match_indices('\n').map(|(i, s)| (i + 1, s)))
        .nth(line.saturating_sub(1))
    else {
        return text.len();
    };
    text[start..]
        .char_indices()
        .nth(column.saturating_sub(1))
        .map_or(text.len(), |(i, _)| start + i)
}

/// A place in one of the sources.
#[derive(Debug, Clone, Copy)]
pub(super) struct Place {
    pub(super) src: usize,
    pub(super) loc: Location,
}

pub(super) struct Ctx<'a> {
    pub(super) sources: &'a [Source],
    pub(super) errors: Vec<SourceError>,
    pub(super) probe: Option<Connection>,
}

impl Ctx<'_> {
    pub(super) fn error(
        &mut self,
        place: Place,
        message: impl Into<String>,
        label: impl Into<String>,
    ) {
        let source = &self.sources[place.src];
        let (offset, len) = if place.loc.line() == 0 {
            (0, 0)
        } else {
            let offset = offset_of(&source.text, place.loc.line(), place.loc.column());
            let len = place
                .loc
                .span()
                .byte_len()
                .and_then(|l| usize::try_from(l).ok())
                .unwrap_or(1)
                .max(1);
            (offset, len)
        };
        self.errors.push(SourceError::at(
            &source.file,
            &source.text,
            offset,
            len,
            message,
            label,
        ));
    }

    /// Checks that `text` is one SQL expression that SQLite can parse.
    pub(super) fn check_expr(&mut self, place: Place, what: &str, text: &str) -> bool {
        match expr_problem(self.probe.as_ref(), text) {
            None => true,
            Some(problem) => {
                self.error(
                    place,
                    format!("{what}: {problem}"),
                    "not a valid SQL expression",
                );
                false
            }
        }
    }
}

/// Returns why `text` is not a single SQLite expression, or None when it is one.
fn expr_problem(probe: Option<&Connection>, text: &str) -> Option<String> {
    let tokens = match lex(text) {
        Ok(t) => t,
        Err(e) => return Some(e.message),
    };
    if tokens.is_empty() {
        return Some("the expression is empty".into());
    }
    let mut i = 0;
    while i < tokens.len() {
        match tokens[i].token {
            Token::LParen => match matching_paren(&tokens, i) {
                Some(close) => i = close + 1,
                None => return Some("unbalanced parentheses".into()),
            },
            Token::RParen => return Some("unbalanced parentheses".into()),
            Token::SemiColon => return Some("`;` ends the statement inside an expression".into()),
            Token::Comma => return Some("a list where one expression is expected".into()),
            _ => i += 1,
        }
    }
    let probe = probe?;
    // SQLite is the judge of its own syntax: a prepared `SELECT (expr)` fails with "syntax
    // error" or "unrecognized token" only when the text does not parse; unknown columns or
    // functions parse fine and are checked later, in context, by materialising.
    match probe.prepare(&format!("SELECT ({text}\n)")) {
        Ok(_) => None,
        Err(e) => {
            let msg = normal::sqlite_message(&e);
            let syntax = ["syntax error", "unrecognized token", "incomplete input"]
                .iter()
                .any(|s| msg.contains(s));
            syntax.then_some(msg)
        }
    }
}

pub(super) fn place_of<T>(src: usize, s: &Spanned<T>) -> Place {
    Place {
        src,
        loc: s.referenced,
    }
}
