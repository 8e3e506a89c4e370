//! What the subcommands share to talk to people: the human/JSON output format, colour
//! detection, the progress printer (a spinner for the long phases of a large database) and
//! the yes/no confirmation prompt.

use std::io::{BufRead, IsTerminal, Write};

use crate::error::{Error, Result};

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
            _ => eprintln!("{}", crate::printable::lines(message)),
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
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Error::io("read", "standard input", e))?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}
