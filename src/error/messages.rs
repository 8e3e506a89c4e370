//! SQLite's messages in words, the busy timeout they name, the constructors that wrap a cause
//! with what was being done, and the longer messages some variants compose.

use std::path::PathBuf;

use super::Error;

/// A path as given, and, when it holds `.` or `..`, as resolved (`app/../real/x.db (that is
/// /srv/real/x.db)`): the part that does not exist yet is joined to the one that does.
pub(super) fn path_shown(path: &std::path::Path) -> String {
    use std::path::Component;
    let unnormalised = path
        .components()
        .any(|c| matches!(c, Component::ParentDir | Component::CurDir));
    if !unnormalised {
        return path.display().to_string();
    }
    let mut existing = path.to_path_buf();
    let mut rest = Vec::new();
    let resolved = loop {
        if let Ok(found) = std::fs::canonicalize(&existing) {
            break rest
                .iter()
                .rev()
                .fold(found, |acc: PathBuf, part| acc.join(part));
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                existing = if parent.as_os_str().is_empty() {
                    PathBuf::from(".")
                } else {
                    parent.to_path_buf()
                };
            }
            _ => return path.display().to_string(),
        }
    };
    format!("{} (that is {})", path.display(), resolved.display())
}

pub(super) fn no_backup(
    dir: &std::path::Path,
    database: &std::path::Path,
    others: usize,
) -> String {
    let mut text = format!(
        "no backup of {} in {} fits",
        path_shown(database),
        path_shown(dir)
    );
    if others > 0 {
        text.push_str(&format!(
            " ({others} other file(s) there are safety copies or backups of other databases: see `schemactl backup list --all`, and name a file to restore it)"
        ));
    }
    text
}

pub(super) fn missing_table(place: Option<&str>, table: &str) -> String {
    match place {
        Some(place) => format!("{place} has no table \"{table}\""),
        None => format!("no table \"{table}\""),
    }
}

pub(super) fn prune_mismatch(table: &str, done: u64, selected: u64, archiving: bool) -> String {
    if archiving {
        format!(
            "archived {done} row(s) of \"{table}\" where {selected} were selected; nothing was pruned"
        )
    } else {
        format!(
            "the prune would remove {done} row(s) of \"{table}\" where {selected} were selected (a trigger the schema does not show?); nothing was pruned"
        )
    }
}

/// Returns SQLite's own message for an error, without rusqlite's wrapping; a busy database is
/// said in words, with the timeout that ran out.
pub fn sqlite_message(e: &rusqlite::Error) -> String {
    if matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    ) {
        return format!(
            "the database is locked: another connection held it for longer than the busy timeout ({} ms; set SCHEMACTL_BUSY_TIMEOUT_MS to wait longer); nothing was changed",
            busy_timeout().as_millis()
        );
    }
    if e.sqlite_error_code() == Some(rusqlite::ErrorCode::AuthorizationForStatementDenied) {
        return format!(
            "not authorized: a statement there controls the transaction or the connection ({}), writes schemactl's own records ({}), which a statement may only read, or calls one of schemactl's own functions (schemactl_*): refused before it ran",
            "BEGIN, COMMIT, END, ROLLBACK, SAVEPOINT, RELEASE, ATTACH, DETACH, PRAGMA journal_mode or wal_checkpoint, or a PRAGMA set that changes how the connection reads the schema or the rows",
            "_schemactl_history, _schemactl_migrations, _schemactl_identity"
        );
    }
    match e {
        rusqlite::Error::SqlInputError { msg, .. } => msg.clone(),
        rusqlite::Error::SqliteFailure(_, Some(msg)) => msg.clone(),
        rusqlite::Error::MultipleStatement => "more than one statement".into(),
        other => other.to_string(),
    }
}

/// How long schemactl waits for another connection's lock before it gives up with a message:
/// `SCHEMACTL_BUSY_TIMEOUT_MS` milliseconds, 10 s by default. It lives here, beside the
/// message that names it; `db` re-exports it.
pub fn busy_timeout() -> std::time::Duration {
    std::env::var("SCHEMACTL_BUSY_TIMEOUT_MS")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(
            std::time::Duration::from_secs(10),
            std::time::Duration::from_millis,
        )
}

impl Error {
    /// Wraps a SQLite error with what was being done.
    pub fn sqlite(context: impl Into<String>, source: rusqlite::Error) -> Self {
        Error::Sqlite {
            context: context.into(),
            cause: source,
        }
    }

    /// `map_err(Error::sqlite_in("count rows"))`: wraps a SQLite error with what was being done.
    pub fn sqlite_in(context: impl Into<String>) -> impl FnOnce(rusqlite::Error) -> Self {
        let context = context.into();
        move |e| Error::sqlite(context, e)
    }

    /// Wraps an I/O error with the action and file.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.into(),
            cause: source,
        }
    }
}

/// The `--fill` target for `table.column` as `schemactl rollback --fill` reads it: each part
/// double-quoted (`""` for a quote inside) when it holds `.`, `=` or `"`, or is empty.
pub fn fill_flag(table: &str, column: &str) -> String {
    let part = |p: &str| {
        if p.is_empty() || p.contains(['.', '=', '"']) || p.starts_with(char::is_whitespace) {
            format!("\"{}\"", p.replace('"', "\"\""))
        } else {
            p.to_string()
        }
    };
    format!("{}.{}=VALUE", part(table), part(column))
}

/// The message of [`Error::StashUnidentifiable`], naming the real cause.
pub(super) fn unidentifiable(table: &str, without_rowid: bool) -> String {
    if without_rowid {
        format!(
            "table \"{table}\" is WITHOUT ROWID and the step removes or changes a column of its primary key: a WITHOUT ROWID table has no rowid, so a stash of its data could not find its rows again; change the primary key in a migration of its own first"
        )
    } else {
        format!(
            "table \"{table}\" has columns named rowid, _rowid_ and oid, which hide its rowid, and no NOT NULL primary key: a stash of its data could not find its rows again; rename one of those columns first"
        )
    }
}
