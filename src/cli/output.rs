//! What the subcommands share to talk to people: the human/JSON output format, colour
//! detection, the progress printer (a spinner for the long phases of a large database), the
//! yes/no confirmation prompt, and the only two ways out to the terminal.
//!
//! Every line for people goes through [`say!`] (standard output) or [`note!`] (standard error),
//! which escape what a terminal would act on ([`crate::printable::lines`]): a name, a path or a
//! row value can neither move the cursor nor rewrite a line the operator reads before answering
//! a question. Machine formats (JSON, SQL, YAML, DOT, Prometheus) go out as they are through
//! [`out`]; their own quoting is what keeps them whole. The library denies `println!` and its
//! kin (`clippy::print_stdout`, `clippy::print_stderr`), so no line can bypass the two.

use std::io::{BufRead, IsTerminal, Write};

use crate::error::{Error, Result};

/// Prints a line for people on standard output, its control characters escaped: `say!("{x}")`
/// is `println!` through [`crate::printable::lines`].
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::cli::output::say_line(&format!($($arg)*))
    };
}

/// Prints a line for people on standard error, its control characters escaped: `note!("{x}")`
/// is `eprintln!` through [`crate::printable::lines`].
#[macro_export]
macro_rules! note {
    ($($arg:tt)*) => {
        $crate::cli::output::note_line(&format!($($arg)*))
    };
}

/// Prints `text` and a line break on standard output, its control characters escaped.
#[allow(clippy::print_stdout)]
pub fn say_line(text: &str) {
    println!("{}", crate::printable::lines(text));
}

/// Prints `text` and a line break on standard error, its control characters escaped.
#[allow(clippy::print_stderr)]
pub fn note_line(text: &str) {
    eprintln!("{}", crate::printable::lines(text));
}

/// Prints `text` for people on standard output with no line break added, its control
/// characters escaped (a text that ends its own lines).
#[allow(clippy::print_stdout)]
pub fn say_text(text: &str) {
    print!("{}", crate::printable::lines(text));
}

/// Prints `text` for people on standard error with no line break added, its control
/// characters escaped.
#[allow(clippy::print_stderr)]
pub fn note_text(text: &str) {
    eprint!("{}", crate::printable::lines(text));
}

/// Prints a machine format (JSON, SQL, YAML, DOT, Prometheus) on standard output as it is:
/// its own quoting keeps it whole, and escaping would change what it says.
#[allow(clippy::print_stdout)]
pub fn out(text: &str) {
    print!("{text}");
}

/// Prints `text` on standard error as it is: for text made and escaped by a renderer that
/// colours it (miette's diagnostics, whose own ANSI colours must reach the terminal).
#[allow(clippy::print_stderr)]
pub fn note_rendered(text: &str) {
    eprintln!("{text}");
}

/// Output formats shared by most subcommands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// For people.
    Human,
    /// Stable JSON.
    Json,
}

/// Returns true when standard output is a terminal and `NO_COLOR` is not set.
pub fn color() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// Renders `value` as pretty JSON followed by a newline.
pub fn json(value: &serde_json::Value) -> Result<String> {
    serde_json::to_string_pretty(value)
        .map(|text| text + "\n")
        .map_err(|source| Error::Json {
            context: "render JSON",
            source,
        })
}

/// Databases above this size get spinners for the long phases, on a terminal.
const PROGRESS_BYTES: u64 = 64 << 20;

/// Prints pipeline messages; on a terminal, for a large database, a phase announced with
/// "..." shows a spinner until the next message.
pub struct Progress {
    spinners: bool,
    current: Option<indicatif::ProgressBar>,
}

impl Progress {
    /// Creates a printer for operations on `database`.
    pub fn new(database: &std::path::Path) -> Self {
        let large = std::fs::metadata(database).is_ok_and(|m| m.len() > PROGRESS_BYTES);
        Progress {
            spinners: large && std::io::stderr().is_terminal(),
            current: None,
        }
    }

    /// Prints `message` to standard error, or shows it as a spinner.
    pub fn say(&mut self, message: &str) {
        if let Some(bar) = self.current.take() {
            bar.finish();
        }
        match message.strip_suffix(" ...") {
            Some(phase) if self.spinners => {
                let bar = indicatif::ProgressBar::new_spinner()
                    .with_message(crate::printable::line(phase).into_owned());
                bar.set_style(
                    indicatif::ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
                );
                bar.enable_steady_tick(std::time::Duration::from_millis(120));
                self.current = Some(bar);
            }
            _ => note_line(message),
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = self.current.take() {
            bar.finish();
        }
    }
}

/// Asks a yes/no question on the terminal; refuses when there is no terminal to ask on.
pub fn confirm(question: &str) -> Result<bool> {
    if !std::io::stdin().is_terminal() {
        return Err(Error::Usage(format!(
            "{question} needs confirmation: pass --yes when not on a terminal; nothing was changed"
        )));
    }
    note_text(&format!("{question} [y/N] "));
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Error::io("read", "standard input", e))?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}
