//! Failpoints for crash and race tests: `SCHEMACTL_FAILPOINT=<name>` makes the process abort
//! (no unwinding, no cleanup, like a kill) when it reaches the point of that name; with
//! `SCHEMACTL_FAILPOINT_RUN=<shell command>` set as well, it runs that command there instead
//! (`sh -c`), waits for it, and goes on: what another process does at that very moment (a
//! file swapped between a check and the lock). Unset, a failpoint costs one environment
//! lookup.
//!
//! They exist in debug builds (what `cargo test` builds) and with the `failpoints` feature;
//! a release build without the feature (what users install) compiles [`hit`] to nothing.

/// Aborts the process when `SCHEMACTL_FAILPOINT` names this point, or runs
/// `SCHEMACTL_FAILPOINT_RUN` and goes on when that is set too.
#[cfg(any(debug_assertions, feature = "failpoints"))]
#[allow(clippy::print_stderr)] // a test-only abort, its name ours
pub fn hit(name: &str) {
    if std::env::var_os("SCHEMACTL_FAILPOINT").is_some_and(|v| v == name) {
        if let Some(command) = std::env::var_os("SCHEMACTL_FAILPOINT_RUN") {
            let ran = std::process::Command::new("sh")
                .arg("-c")
                .arg(&command)
                .status();
            if ran.is_ok_and(|s| s.success()) {
                return;
            }
            eprintln!("schemactl: failpoint {name}: the command failed: aborting");
        } else {
            eprintln!("schemactl: failpoint {name}: aborting");
        }
        std::process::abort();
    }
}

/// Does nothing: this build has no failpoints (release, without the `failpoints` feature).
#[cfg(not(any(debug_assertions, feature = "failpoints")))]
#[inline(always)]
pub fn hit(_name: &str) {}
