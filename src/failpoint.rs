//! Failpoints for crash tests: `SCHEMACTL_FAILPOINT=<name>` makes the process abort (no
//! unwinding, no cleanup, like a kill) when it reaches the point of that name. Unset, a
//! failpoint costs one environment lookup.
//!
//! They exist in debug builds (what `cargo test` builds) and with the `failpoints` feature;
//! a release build without the feature (what users install) compiles [`hit`] to nothing.

/// Aborts the process when `SCHEMACTL_FAILPOINT` names this point.
#[cfg(any(debug_assertions, feature = "failpoints"))]
#[allow(clippy::print_stderr)] // a test-only abort, its name ours
pub fn hit(name: &str) {
    if std::env::var_os("SCHEMACTL_FAILPOINT").is_some_and(|v| v == name) {
        eprintln!("schemactl: failpoint {name}: aborting");
        std::process::abort();
    }
}

/// Does nothing: this build has no failpoints (release, without the `failpoints` feature).
#[cfg(not(any(debug_assertions, feature = "failpoints")))]
#[inline(always)]
pub fn hit(_name: &str) {}
