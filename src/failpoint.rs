//! Failpoints for crash tests: `SCHEMACTL_FAILPOINT=<name>` makes the process abort (no
//! unwinding, no cleanup, like a kill) when it reaches the point of that name. Unset, a
//! failpoint costs one environment lookup.

/// Aborts the process when `SCHEMACTL_FAILPOINT` names this point.
pub fn hit(name: &str) {
    if std::env::var_os("SCHEMACTL_FAILPOINT").is_some_and(|v| v == name) {
        eprintln!("schemactl: failpoint {name}: aborting");
        std::process::abort();
    }
}
