//! Reading the parts of a migration's statements the description needs, from their tokens:
//! statement boundaries (a trigger's body stays in its statement), `[schema .] name`, a
//! `CREATE TABLE`'s column names, an `UPDATE`'s SET targets, and the generated step headers
//! with the renames a rebuild's header names.

use sqlparser::tokenizer::Token;

use crate::sql::{Tok, lex, matching_paren};

/// Reads the column names of a `CREATE TABLE name (...)` from the token after the name; None
/// for `CREATE TABLE ... AS SELECT` (or anything else it cannot read).
pub(super) fn defined_columns(st: &[Tok], at: usize) -> Option<Vec<String>> {
    if st.get(at)?.token != Token::LParen {
        return None;
    }
    let close = matching_paren(st, at)?;
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut first = true;
    for t in &st[at + 1..close] {
        match t.token {
            Token::LParen => depth += 1,
            Token::RParen => depth = depth.saturating_sub(1),
            Token::Comma if depth == 0 => first = true,
            _ if first && depth == 0 => {
                first = false;
                let constraint = ["CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"]
                    .iter()
                    .any(|k| t.is_kw(k));
                if !constraint {
                    out.push(t.name()?.to_string());
                }
            }
            _ => {}
        }
    }
    Some(out)
}

/// Finds the generated step headers (`-- step N [kind]: summary` lines) of a migration's text,
/// with their byte offsets: only lines that start outside every token, so that a name holding
/// such a line inside its quotes is never read as one.
pub(super) fn step_headers<'a>(text: &'a str, tokens: &[Tok]) -> Vec<(usize, &'a str)> {
    let mut out = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if line.starts_with("-- step ")
            && !tokens.iter().any(|t| t.start <= offset && offset < t.end)
        {
            out.push((offset, line.trim_end()));
        }
        offset += line.len();
    }
    out
}

/// Reads the renames a generated rebuild makes in its copy, from its step header
/// (`rebuild table T (rename column a to b, ...)`): the table and the `(from, to)` pairs, the
/// other way round in a reverse migration. The header is the tool's own description of the
/// step; every other column of the copy is held to its name.
pub(super) fn rebuild_renames(
    header: &str,
    reverse: bool,
) -> Option<(String, Vec<(String, String)>)> {
    let at = header.find("rebuild table ")? + "rebuild table ".len();
    let tokens = lex(&header[at..]).ok()?;
    let table = tokens.first()?.word()?.to_string();
    let mut pairs = Vec::new();
    for w in tokens.windows(5) {
        if w[0].is_kw("rename")
            && w[1].is_kw("column")
            && w[3].is_kw("to")
            && let (Some(from), Some(to)) = (w[2].word(), w[4].word())
        {
            pairs.push(if reverse {
                (to.to_string(), from.to_string())
            } else {
                (from.to_string(), to.to_string())
            });
        }
    }
    (!pairs.is_empty()).then_some((table, pairs))
}

/// Reads `[schema .] name` at `i`: the schema, the name and the index after it.
pub(super) fn name_at(st: &[Tok], i: usize) -> Option<(Option<String>, String, usize)> {
    let first = st.get(i)?.name()?.to_string();
    if st.get(i + 1).is_some_and(|t| t.token == Token::Period)
        && let Some(name) = st.get(i + 2).and_then(|t| t.name())
    {
        return Some((Some(first), name.to_string(), i + 3));
    }
    Some((None, first, i + 1))
}

/// The columns an `UPDATE`'s SET clause assigns (from the token after the table name).
pub(super) fn set_columns(st: &[Tok], from: usize) -> Vec<String> {
    let Some(set) = st[from.min(st.len())..]
        .iter()
        .position(|t| t.is_kw("SET"))
        .map(|p| p + from)
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut expect_target = true;
    let mut i = set + 1;
    while i < st.len() {
        let t = &st[i];
        match &t.token {
            Token::LParen if depth == 0 && expect_target => {
                // (a, b) = (...)
                let close = matching_paren(st, i).unwrap_or(st.len() - 1);
                out.extend(
                    st[i + 1..close]
                        .iter()
                        .filter_map(|t| t.name())
                        .map(String::from),
                );
                i = close;
                expect_target = false;
            }
            Token::LParen => depth += 1,
            Token::RParen => depth = depth.saturating_sub(1),
            Token::Comma if depth == 0 => expect_target = true,
            Token::Word(_)
                if depth == 0
                    && ["FROM", "WHERE", "RETURNING", "ORDER", "LIMIT"]
                        .iter()
                        .any(|k| t.is_kw(k)) =>
            {
                break;
            }
            Token::Word(w) if depth == 0 && expect_target => {
                out.push(w.value.clone());
                expect_target = false;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// Splits tokens into statements at top-level semicolons; a trigger's body (up to
/// `; END ;`) stays in its CREATE TRIGGER statement.
pub(super) fn statements(tokens: &[Tok]) -> Vec<&[Tok]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut in_trigger = false;
    for (i, t) in tokens.iter().enumerate() {
        if i == start {
            let create_trigger =
                t.is_kw("CREATE") && tokens[i + 1..].iter().take(3).any(|t| t.is_kw("TRIGGER"));
            in_trigger = create_trigger;
        }
        if t.token != Token::SemiColon {
            continue;
        }
        if in_trigger {
            let ends =
                i >= 2 && tokens[i - 1].is_kw("END") && tokens[i - 2].token == Token::SemiColon;
            if !ends {
                continue;
            }
        }
        if i > start {
            out.push(&tokens[start..i]);
        }
        start = i + 1;
    }
    if start < tokens.len() {
        out.push(&tokens[start..]);
    }
    out
}
