//! The text of a `CREATE VIRTUAL TABLE` statement: its module and arguments, and the full-text
//! indexes whose rows live in another table (`content=...`), which find those rows by rowid.

use sqlparser::tokenizer::Token;

use super::Tok;

/// The names SQLite gives a rowid table's rowid.
pub const ROWID_NAMES: [&str; 3] = ["rowid", "oid", "_rowid_"];

/// The module and the arguments (each a list of tokens) of a CREATE VIRTUAL TABLE statement.
pub fn module_args(sql: &str) -> Option<(String, Vec<Vec<Tok>>)> {
    let tokens = super::lex(sql).ok()?;
    let using = tokens.iter().position(|t| t.is_kw("USING"))?;
    let module = tokens.get(using + 1)?.name()?.to_string();
    let open = using + 2;
    if tokens.get(open).is_none_or(|t| t.token != Token::LParen) {
        return Some((module, Vec::new()));
    }
    let close = super::matching_paren(&tokens, open)?;
    let mut args = vec![Vec::new()];
    let mut depth = 0usize;
    for t in &tokens[open + 1..close] {
        match t.token {
            Token::LParen => depth += 1,
            Token::RParen => depth = depth.saturating_sub(1),
            Token::Comma if depth == 0 => {
                args.push(Vec::new());
                continue;
            }
            _ => {}
        }
        if let Some(last) = args.last_mut() {
            last.push(t.clone());
        }
    }
    args.retain(|a| !a.is_empty());
    Some((module, args))
}

/// An fts3/4/5 table whose content lives in another table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalIndex {
    /// The fts table.
    pub name: String,
    /// `fts3`, `fts4` or `fts5`.
    pub module: String,
    /// The content table (or view).
    pub content: String,
    /// The content table's column the index takes for its rowid (`rowid` unless fts5's
    /// `content_rowid` says otherwise).
    pub content_rowid: String,
}

impl ExternalIndex {
    /// Whether the index finds the rows of its content table by their rowid itself (not by
    /// a column that is an INTEGER PRIMARY KEY or holds its own values).
    pub fn reads_rowid(&self) -> bool {
        ROWID_NAMES
            .iter()
            .any(|r| self.content_rowid.eq_ignore_ascii_case(r))
    }
}

/// The value of a `name = value` argument: a string, a quoted or bare word, a number.
fn value(arg: &[Tok]) -> Option<String> {
    let eq = arg.iter().position(|t| t.token == Token::Eq)?;
    let v = arg.get(eq + 1)?;
    Some(match &v.token {
        Token::SingleQuotedString(s) | Token::DoubleQuotedString(s) => s.clone(),
        Token::Word(w) => w.value.clone(),
        Token::Number(n, _) => n.clone(),
        _ => return None,
    })
}

/// The value of the option `name` among a module's arguments.
pub fn option(args: &[Vec<Tok>], name: &str) -> Option<String> {
    args.iter()
        .filter(|a| {
            a.first()
                .and_then(|t| t.word())
                .is_some_and(|w| w.eq_ignore_ascii_case(name))
        })
        .find_map(|a| value(a))
}

/// The fts table `name` created by `sql`, when it is one with a non-empty `content=` option.
pub fn external_index(name: &str, sql: &str) -> Option<ExternalIndex> {
    let (module, args) = module_args(sql)?;
    let module = module.to_ascii_lowercase();
    if !matches!(module.as_str(), "fts3" | "fts4" | "fts5") {
        return None;
    }
    let content = option(&args, "content").filter(|c| !c.is_empty())?;
    let content_rowid = if module == "fts5" {
        option(&args, "content_rowid").unwrap_or_else(|| "rowid".into())
    } else {
        "rowid".into()
    };
    Some(ExternalIndex {
        name: name.to_string(),
        module,
        content,
        content_rowid,
    })
}
