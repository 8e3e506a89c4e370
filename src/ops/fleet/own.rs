//! schemactl's own files, which are never fleet targets however a glob or list names them:
//! SQLite's side files (`-wal`, `-shm`, `-journal`), the lock files, what a killed run left
//! (`.partial`, `.inprogress`), and every file in a backups folder, told by what describes it
//! (a manifest beside it that names it, with its size and sha256, or an in-progress marker:
//! a checksum file alone is the operators' own and tells nothing) or by where it
//! lies (the backups folder of another target, the project's backups, archives and fleet run
//! folders), not by its name alone: migrating a backup would change the point in time it
//! keeps.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::db::identity::canonical;
use crate::db::sibling;

/// Names SQLite and schemactl give their side files.
const SIDE_FILES: [&str; 6] = [
    "-wal",
    "-shm",
    "-journal",
    ".schemactl-lock",
    ".partial",
    crate::backup::partial::MARKER,
];

/// The folders whose files are schemactl's: the backups folder of each candidate (from the
/// `{dir}` template `backups`), and `folders` (the project's backups, archives, runs).
#[derive(Debug, Clone, Default)]
pub struct Folders {
    dirs: BTreeSet<PathBuf>,
}

impl Folders {
    /// The folders for `candidates` under the template `backups`, and `more`.
    pub fn new(candidates: &[PathBuf], backups: &Path, more: &[PathBuf]) -> Folders {
        let home = |c: &Path| {
            canonical(
                c.parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(Path::new(".")),
            )
        };
        // A template naming the databases' own folder (`{dir}`) makes no folder theirs.
        let dirs = candidates
            .iter()
            .map(|c| (crate::config::backups_for(backups, c), home(c)))
            .filter(|(d, h)| d.is_dir() && canonical(d) != *h)
            .map(|(d, _)| d)
            .chain(more.iter().filter(|d| d.is_dir()).cloned())
            .map(|d| canonical(&d))
            .collect();
        Folders { dirs }
    }

    /// Why `path` is one of schemactl's own files; None when it is not.
    pub fn why(&self, path: &Path) -> Option<String> {
        let name = path.to_string_lossy();
        if let Some(s) = SIDE_FILES.iter().find(|s| name.ends_with(*s)) {
            return Some(format!("a side file ({s}) of SQLite or schemactl"));
        }
        // Told positively: a manifest beside it that names this file, with its size and
        // sha256. A checksum or JSON file of the operators' own (a stale `memory.db.sha256`)
        // describes no backup: the file stays a target.
        if let Some(m) = crate::backup::read_manifest(path).filter(|m| describes(m, path)) {
            return Some(format!(
                "a {} of {} (its manifest {} names it, with its size and sha256)",
                m.kind().as_str(),
                m.database,
                crate::printable::path(&crate::backup::manifest_path(path))
            ));
        }
        let marker = sibling(path, crate::backup::partial::MARKER);
        if marker.is_file() {
            return Some(format!(
                "a backup being written (its in-progress marker {} says so)",
                crate::printable::path(&marker)
            ));
        }
        let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
        let dir = canonical(parent.unwrap_or(Path::new(".")));
        self.dirs
            .get(&dir)
            .map(|d| format!("in schemactl's folder {}", crate::printable::path(&d)))
    }
}

/// True when `manifest` describes `path`: it names a file of that name, of that size, with
/// that sha256 (read only when the name and size agree).
fn describes(manifest: &crate::backup::Manifest, path: &Path) -> bool {
    let named = Path::new(&manifest.file).file_name() == path.file_name();
    let sized = std::fs::metadata(path).is_ok_and(|m| m.len() == manifest.size);
    named
        && sized
        && !manifest.sha256.is_empty()
        && crate::backup::sha256_file(path).is_ok_and(|h| h.eq_ignore_ascii_case(&manifest.sha256))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backup_is_told_by_a_manifest_that_names_it_and_a_database_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        std::fs::create_dir_all(p.join("a/backups")).unwrap();
        for f in [
            "a/memory.db",
            "a/backups/old.db",
            "a/x.db",
            "a/y.db",
            "a/z.db",
            "a/w.db",
        ] {
            std::fs::write(p.join(f), "y").unwrap();
        }
        // An operator's checksum file (stale or not) describes no backup.
        std::fs::write(p.join("a/x.db.sha256"), "ab  x.db\n").unwrap();
        let sha = crate::backup::sha256_file(&p.join("a/y.db")).unwrap();
        std::fs::write(
            p.join("a/y.db.json"),
            format!(
                r#"{{"database": "m.db", "file": "/elsewhere/y.db", "size": 1, "sha256": "{sha}"}}"#
            ),
        )
        .unwrap();
        // A manifest naming another file, or another content, describes no backup of this one.
        std::fs::write(
            p.join("a/w.db.json"),
            r#"{"database": "m.db", "file": "w.db", "size": 1, "sha256": "ab"}"#,
        )
        .unwrap();
        // An application's own JSON beside its database describes no backup.
        std::fs::write(p.join("a/z.db.json"), r#"{"name": "z"}"#).unwrap();
        let candidates = vec![p.join("a/memory.db"), p.join("a/backups/old.db")];
        let folders = Folders::new(&candidates, Path::new("{dir}/backups"), &[]);
        assert_eq!(folders.why(&p.join("a/memory.db")), None);
        assert_eq!(folders.why(&p.join("a/z.db")), None);
        assert_eq!(folders.why(&p.join("a/x.db")), None);
        assert_eq!(folders.why(&p.join("a/w.db")), None);
        assert!(folders.why(&p.join("a/backups/old.db")).is_some());
        assert!(folders.why(&p.join("a/y.db")).unwrap().contains("manifest"));
        assert!(folders.why(&p.join("a/memory.db-wal")).is_some());
    }
}
