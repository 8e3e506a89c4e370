//! Errors at a place in a user's file: the file, line and column in the message, and a
//! labelled snippet that miette renders.

use miette::{Diagnostic, NamedSource, SourceSpan};

use super::Error;

/// An error at a place in a user's file.
#[derive(Debug, Clone, thiserror::Error, Diagnostic)]
#[error("{file}:{line}:{column}: {message}")]
pub struct SourceError {
    /// The file as given by the user.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// What is wrong, naming the object.
    pub message: String,
    /// The file's text, for the snippet.
    #[source_code]
    pub src: NamedSource<String>,
    /// The place.
    #[label("{label}")]
    pub span: SourceSpan,
    /// The label shown at the place.
    pub label: String,
    /// How to fix it, when there is a clear way.
    #[help]
    pub help: Option<String>,
}

impl SourceError {
    /// Builds an error at byte `offset` (length `len`) of `text`, the contents of `file`.
    pub fn at(
        file: &str,
        text: &str,
        offset: usize,
        len: usize,
        message: impl Into<String>,
        label: impl Into<String>,
    ) -> Self {
        let offset = floor_char_boundary(text, offset.min(text.len()));
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = text[line_start..offset].chars().count() + 1;
        SourceError {
            file: file.to_string(),
            line,
            column,
            message: message.into(),
            src: NamedSource::new(file, text.to_string()),
            span: SourceSpan::new(offset.into(), len.min(text.len() - offset)),
            label: label.into(),
            help: None,
        }
    }

    /// The same error with every character a terminal would act on escaped
    /// ([`crate::printable`]) in its file name, message, label, help and snippet, the place
    /// moved with the text: what a file holds can neither move the cursor nor rewrite a line.
    /// A line break stays a line break (and a CR before it, for a CRLF file).
    pub fn printable(&self) -> SourceError {
        let text = self.src.inner();
        let start = self.span.offset().min(text.len());
        let end = (start + self.span.len()).min(text.len());
        let mut out = String::with_capacity(text.len());
        let (mut new_start, mut new_end) = (0, 0);
        let mut chars = text.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if i == start {
                new_start = out.len();
            }
            if i == end {
                new_end = out.len();
            }
            let crlf = c == '\r' && chars.peek().is_some_and(|&(_, n)| n == '\n');
            if crate::printable::acts(c) && c != '\n' && !crlf {
                crate::printable::escape_into(&mut out, c);
            } else {
                out.push(c);
            }
        }
        if start >= text.len() {
            new_start = out.len();
        }
        if end >= text.len() {
            new_end = out.len();
        }
        let lines = |t: &str| crate::printable::lines(t).into_owned();
        SourceError {
            file: lines(&self.file),
            line: self.line,
            column: self.column,
            message: lines(&self.message),
            src: NamedSource::new(lines(self.src.name()), out),
            span: SourceSpan::new(new_start.into(), new_end - new_start),
            label: lines(&self.label),
            help: self.help.as_deref().map(lines),
        }
    }

    /// Adds a hint on how to fix the error.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl From<SourceError> for Error {
    fn from(e: SourceError) -> Self {
        Error::Source(vec![e])
    }
}
