//! `schemactl completions SHELL`.

use std::process::ExitCode;

use clap::CommandFactory;
use clap_complete::Shell;

use crate::error::Result;

/// Arguments of `schemactl completions`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Example:\n  schemactl completions bash > /etc/bash_completion.d/schemactl")]
pub struct Args {
    /// The shell.
    pub shell: Shell,
}

/// Prints the completions script for the shell.
pub fn run(args: &Args) -> Result<ExitCode> {
    let mut cmd = super::Cli::command();
    clap_complete::generate(args.shell, &mut cmd, "schemactl", &mut std::io::stdout());
    Ok(ExitCode::SUCCESS)
}
