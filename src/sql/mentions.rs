//! Which names an SQL text mentions: what an expression, view or trigger depends on, and
//! which of many tables a migration touches.

use super::lex;

/// Returns true when `sql` mentions `name` as a word (quoted or not, ignoring ASCII case).
/// Used to find what an expression, view or trigger depends on; it may over-report (a string
/// literal is not a word, but a same-named column of another table is), never under-report.
pub fn mentions(sql: &str, name: &str) -> bool {
    match lex(sql) {
        Ok(tokens) => tokens
            .iter()
            .any(|t| t.word().is_some_and(|w| w.eq_ignore_ascii_case(name))),
        Err(_) => sql
            .to_ascii_lowercase()
            .contains(&name.to_ascii_lowercase()),
    }
}

/// The names of one SQL text, read once, for asking which of many tables it touches: a
/// migration that creates thousands of tables is lexed once, not once per table. Its words,
/// as [`mentions`] reads them, and its single-quoted strings, which SQLite takes as a table's
/// name where one is expected (see [`super::Tok::name`]).
pub struct Mentions(MentionsInner);

enum MentionsInner {
    Words(std::collections::HashSet<String>),
    /// The text did not lex: its lowercased text, searched as [`mentions`] does.
    Text(String),
}

impl Mentions {
    /// Reads the words of `sql`.
    pub fn new(sql: &str) -> Self {
        Mentions(match lex(sql) {
            Ok(tokens) => MentionsInner::Words(
                tokens
                    .iter()
                    .filter_map(|t| t.name().map(str::to_ascii_lowercase))
                    .collect(),
            ),
            Err(_) => MentionsInner::Text(sql.to_ascii_lowercase()),
        })
    }

    /// Returns true when the text names `name` as a word or a single-quoted string.
    pub fn mentions(&self, name: &str) -> bool {
        match &self.0 {
            MentionsInner::Words(words) => words.contains(&name.to_ascii_lowercase()),
            MentionsInner::Text(text) => text.contains(&name.to_ascii_lowercase()),
        }
    }
}
