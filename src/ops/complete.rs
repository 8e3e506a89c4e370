//! Completion candidates for the shells (`schemactl complete-values KIND`): the project's
//! migrations (for `rollback` and `rollback --to`), the stashes of the database (for
//! `stash drop`), and the backup files (for `restore`). Completion never fails loudly: what
//! cannot be read gives no candidate.

use std::path::Path;

/// `last`, then each migration file's version (`V3`) and stem (`V3__add_index`), newest first.
pub fn migrations(migrations: &Path, rollbacks: &Path) -> Vec<String> {
    let mut list = crate::migrations::load(migrations, rollbacks).unwrap_or_default();
    list.sort_by_key(|m| std::cmp::Reverse(m.version));
    std::iter::once("last".to_string())
        .chain(
            list.iter()
                .flat_map(|m| [format!("V{}", m.version), m.stem()]),
        )
        .collect()
}

/// The versions (`V3`) whose stash the database keeps, and that can still be dropped.
pub fn stashes(database: &Path) -> Vec<String> {
    if !database.is_file() {
        return Vec::new();
    }
    let Ok(conn) = crate::db::open_read_only(database) else {
        return Vec::new();
    };
    crate::apply::stash::list(&conn)
        .unwrap_or_default()
        .into_iter()
        .filter(|s| !s.dropped)
        .map(|s| format!("V{}", s.version))
        .collect()
}

/// The backup files of `dir` (their sidecars, manifests and SQLite's side files left out),
/// newest name first, as paths under `dir`.
pub fn backups(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| {
            !n.starts_with('.')
                && ![".sha256", ".json", "-wal", "-shm", "-journal", ".tmp"]
                    .iter()
                    .any(|s| n.ends_with(s))
        })
        .collect();
    names.sort_by(|a, b| b.cmp(a));
    names
        .into_iter()
        .map(|n| dir.join(n).display().to_string())
        .collect()
}
