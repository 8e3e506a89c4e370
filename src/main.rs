//! The `schemactl` binary: parse arguments, run, render any error, set the exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // Output piped into `head` and cut short ends the process quietly, as for other Unix
    // tools, instead of println! panicking on EPIPE. Rust sets SIGPIPE to ignored; restore the
    // default before anything is printed.
    // SAFETY: called once at start-up, before any thread exists; SIG_DFL is always valid.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // glibc serves a block of 128 KiB or more from mmap, but raises that bound to the size
    // of each such block freed, after which large blocks come from the heap and stay there
    // once freed: a run over thousands of tables (SQLite's integrity-check program, the
    // inspection's vectors) then held several MB it no longer used. A fixed bound returns
    // every large block to the system when it is freed.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: called once at start-up, before any thread exists or any allocation matters;
    // mallopt only sets an allocator parameter.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
    let cli = match schemactl::cli::Cli::try_parse() {
        Ok(cli) => cli,
        // --help and --version print and succeed; a bad command line is an error: exit 1,
        // as for every other bad input (2 means "differences found").
        Err(e) => {
            // clap's message quotes the argument it refused as given: a control character in
            // it is escaped like every other line schemactl prints (and the message loses
            // clap's colours, which only a message without one keeps).
            let plain = e.to_string();
            if plain
                .chars()
                .any(|c| c != '\n' && schemactl::printable::acts(c))
            {
                let text = schemactl::printable::lines(&plain);
                if e.use_stderr() {
                    eprint!("{text}");
                } else {
                    print!("{text}");
                }
            } else {
                let _ = e.print();
            }
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
