//! The `schemactl` binary: parse arguments, run, render any error, set the exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match schemactl::cli::Cli::try_parse() {
        Ok(cli) => cli,
        // --help and --version print and succeed; a bad command line is an error: exit 1,
        // as for every other bad input (2 means "differences found").
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match schemactl::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            schemactl::cli::report(e);
            ExitCode::FAILURE
        }
    }
}
