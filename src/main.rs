//! The `schemactl` binary: parse arguments, run, render any error, set the exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = schemactl::cli::Cli::parse();
    match schemactl::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            schemactl::cli::report(e);
            ExitCode::FAILURE
        }
    }
}
