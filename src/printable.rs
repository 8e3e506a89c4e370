//! Text from a user's names, made safe to print for people: one rule for every character a
//! terminal would act on instead of showing (the C0 and C1 controls, DEL, the Unicode line and
//! paragraph separators, and the bidirectional overrides and isolates, which reorder what
//! follows them), escaped as `\n`, `\r`, `\t` or `\u{1b}`, the same spelling the SQL comments
//! use ([`crate::sql::comment`]). Every human line schemactl prints that holds a name goes
//! through [`line`] (a plan step, a check's line) or [`lines`] (a message that has line breaks
//! of its own, such as an error with its list of rows), and every path in it through
//! [`path`]: a name can neither move the cursor, overwrite a line, nor (through `line` and
//! `path`) add one.

use std::borrow::Cow;
use std::fmt::Write;

/// Returns true for a character a terminal acts on rather than shows.
pub fn acts(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}'
                | '\u{2029}'
                | '\u{061c}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
        )
}

/// Writes the escape of `c` (`\n`, `\r`, `\t`, or `\u{hex}`) to `out`.
pub fn escape_into(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
}

fn escaped(text: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !text.chars().any(|c| acts(c) && !keep(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if acts(c) && !keep(c) {
            escape_into(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `text` as one printable line: every character of [`acts`] escaped, line breaks too.
pub fn line(text: &str) -> Cow<'_, str> {
    escaped(text, |_| false)
}

/// `text` with every character of [`acts`] escaped except its line breaks (`\n`): for a
/// message made of several lines.
pub fn lines(text: &str) -> Cow<'_, str> {
    escaped(text, |c| c == '\n')
}

/// A path as it is shown to people, on one line: what [`std::path::Path::display`] shows,
/// with every character of [`acts`] escaped, line breaks too (a directory named with a
/// newline cannot forge a line of its own). Every human line that names a file or database
/// shows it through this; machine formats (JSON) keep the path as it is.
pub fn path<P: AsRef<std::path::Path> + ?Sized>(path: &P) -> Shown<'_> {
    Shown(path.as_ref())
}

/// A path shown on one line ([`path`]).
#[derive(Debug, Clone, Copy)]
pub struct Shown<'a>(&'a std::path::Path);

impl std::fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&line(&self.0.to_string_lossy()))
    }
}

/// SQL text for people, its own layout kept: the line breaks between its tokens stay line
/// breaks, and inside a token (a quoted name, a string) every character of [`acts`] is
/// escaped, line breaks too, so a name holding a newline stays on its line. Outside tokens
/// (whitespace, comments) everything else of [`acts`] is escaped. Text that does not lex is
/// escaped as one line.
pub fn sql_lines(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut at = 0;
    // Statement by statement: the dump of a schema of thousands of tables held its tokens
    // at once (19 MB at 5,000 tables).
    let lexed = crate::sql::lex_statements(sql, |tokens| put(sql, &tokens, &mut out, &mut at));
    if !lexed {
        let Ok(tokens) = crate::sql::lex(sql) else {
            return line(sql).into_owned();
        };
        out.clear();
        at = 0;
        put(sql, &tokens, &mut out, &mut at);
    }
    out.push_str(&lines(&sql[at..]));
    out
}

/// Appends `tokens` of `sql` to `out` as [`sql_lines`] writes them, with the text between
/// them from `at` on.
fn put(sql: &str, tokens: &[crate::sql::Tok], out: &mut String, at: &mut usize) {
    for t in tokens {
        out.push_str(&lines(&sql[*at..t.start]));
        out.push_str(&line(&sql[t.start..t.end]));
        *at = t.end;
    }
}

/// Writes `n` with thousands separators: `4,990`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_separators_and_bidi_are_escaped() {
        assert_eq!(
            line("a\nb\r\tc\x1b[2K\u{7f}\u{9b}"),
            "a\\nb\\r\\tc\\u{1b}[2K\\u{7f}\\u{9b}"
        );
        assert_eq!(
            line("x\u{202e}y\u{2066}\u{2028}"),
            "x\\u{202e}y\\u{2066}\\u{2028}"
        );
        assert_eq!(lines("a\x1b\nb\r"), "a\\u{1b}\nb\\r");
        assert!(matches!(line("plain äpfel \"q\""), Cow::Borrowed(_)));
    }
}
