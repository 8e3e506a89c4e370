//! Migration files: `migrations/V{n}__{name}.sql` (forward) and `rollbacks/V{n}__{name}.sql`
//! (reverse), loaded at run time into [`Migration`]s with [`Origin::File`]. Generated and
//! hand-written files are alike; a generated file's header says what running it safely needs.
//! Statements that would break the all-or-nothing run (transaction control, `ATTACH`,
//! `VACUUM`, `PRAGMA journal_mode`) or return rows (`SELECT`) are refused at load time, with
//! their place (see [`statements`]).

use std::path::Path;

use super::{Migration, Origin, statements};
use crate::error::{Error, Result};

/// Parses `V{n}__{name}.sql`.
fn parse_file_name(file_name: &str) -> Option<(i32, String)> {
    let stem = file_name.strip_suffix(".sql")?;
    let rest = stem.strip_prefix('V')?;
    let (version, name) = rest.split_once("__")?;
    let version: i32 = version.parse().ok()?;
    let valid = !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_');
    valid.then(|| (version, name.to_string()))
}

/// Returns true for a file name that is meant as a migration: any `.sql` (in any case), or
/// a name starting with `V` or `v` and a digit. Such a file that is not named exactly
/// `V{n}__{name}.sql` is an error, never skipped in silence; other files (a README) are
/// ignored.
fn looks_like_migration(file_name: &str) -> bool {
    let lower = file_name.to_ascii_lowercase();
    let versioned = lower.starts_with('v') && lower[1..].starts_with(|c: char| c.is_ascii_digit());
    !file_name.starts_with('.') && (lower.ends_with(".sql") || versioned)
}

/// Loads every `V{n}__{name}.sql` of `dir`, sorted by version, each with its reverse from
/// `rollbacks`. A missing `dir` means no migrations. Two files with one version are an error.
pub fn load(dir: &Path, rollbacks: &Path) -> Result<Vec<Migration>> {
    load_since(dir, rollbacks, &[])
}

/// [`load`], reading every file again but taking from `before` (the files as an earlier
/// [`load`] of the same folders gave them) each migration whose files are byte for byte the
/// same: the same paths, the same forward and reverse text. Its checks passed on those bytes
/// and what it needs was read from them: they are not done again. Any other file (edited,
/// added, renamed) is read and checked as [`load`] does, and a file that is gone is gone.
pub fn load_since(dir: &Path, rollbacks: &Path, before: &[Migration]) -> Result<Vec<Migration>> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let entries =
        std::fs::read_dir(dir).map_err(|e| Error::io("read migrations directory", dir, e))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| Error::io("read migrations directory", dir, e))?
            .path();
        let Some(file_name) = path.file_name().and_then(|f| f.to_str()) else {
            continue;
        };
        if !looks_like_migration(file_name) {
            continue;
        }
        let Some((version, name)) = parse_file_name(file_name) else {
            return Err(Error::BadMigration {
                migration: path.display().to_string(),
                message: "this looks like a migration but is not named V{n}__{name}.sql (a capital V, two underscores, name: letters, digits, _; lowercase .sql): rename it, or move it out of the folder"
                    .into(),
            });
        };
        let sql =
            std::fs::read_to_string(&path).map_err(|e| Error::io("read migration", &path, e))?;
        let reverse_path = rollbacks.join(file_name);
        let (rollback_path, reverse) = if reverse_path.is_file() {
            let text = std::fs::read_to_string(&reverse_path)
                .map_err(|e| Error::io("read rollback", &reverse_path, e))?;
            (Some(reverse_path), Some(text))
        } else {
            (None, None)
        };
        if let Some(same) = before.iter().find(|m| {
            m.version == version
                && m.name == name
                && matches!(&m.origin, Origin::File { path: p, rollback_path: r }
                    if *p == path && *r == rollback_path)
                && m.forward == sql
                && m.reverse == reverse
        }) {
            files.push(same.clone());
            continue;
        }
        statements::check(&path.display().to_string(), &sql)?;
        if let (Some(reverse_path), Some(text)) = (&rollback_path, &reverse) {
            statements::check(&reverse_path.display().to_string(), text)?;
        }
        files.push(Migration::new(
            version,
            name,
            sql,
            reverse,
            Origin::File {
                path,
                rollback_path,
            },
        ));
    }
    files.sort_by_key(|f| f.version);
    for pair in files.windows(2) {
        if pair[0].version == pair[1].version {
            return Err(Error::DuplicateVersion {
                first: pair[0].origin.to_string(),
                second: pair[1].origin.to_string(),
                version: None,
            });
        }
    }
    Ok(files)
}

pub use crate::db::write_new;

/// Checks a migration name: letters, digits and `_`.
pub fn check_name(name: &str) -> Result<()> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(Error::InvalidArgument {
            what: format!("migration name `{name}`"),
            message: format!("use letters, digits and _ (it becomes V{{n}}__{name}.sql)"),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What tells two loads apart: every field but the lazily read needs, which are compared
    /// by value.
    fn summary(files: &[Migration]) -> Vec<String> {
        files
            .iter()
            .map(|m| {
                format!(
                    "{} {} {:?} {:?} {:?} {:?} {:?}",
                    m.version,
                    m.name,
                    m.forward,
                    m.reverse,
                    m.checksum,
                    m.needs(),
                    m.origin
                )
            })
            .collect()
    }

    #[test]
    fn loading_again_takes_only_what_is_byte_for_byte_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let (m, r) = (dir.path().join("migrations"), dir.path().join("rollbacks"));
        std::fs::create_dir_all(&m).unwrap();
        std::fs::create_dir_all(&r).unwrap();
        let write = |p: &Path, text: &str| std::fs::write(p, text).unwrap();
        write(&m.join("V1__a.sql"), "CREATE TABLE a (x);\n");
        write(&r.join("V1__a.sql"), "DROP TABLE a;\n");
        write(&m.join("V2__b.sql"), "CREATE TABLE b (x);\n");
        write(&m.join("V3__c.sql"), "CREATE TABLE c (x);\n");
        let before = load(&m, &r).unwrap();
        assert_eq!(
            summary(&load_since(&m, &r, &before).unwrap()),
            summary(&before)
        );
        // Edited (forward and reverse), gone, added, and a reverse added: each as a fresh load.
        write(
            &m.join("V1__a.sql"),
            "CREATE TABLE a (x); DROP TABLE a; -- now\n",
        );
        write(&r.join("V1__a.sql"), "-- nothing\n");
        std::fs::remove_file(m.join("V2__b.sql")).unwrap();
        write(&r.join("V3__c.sql"), "DROP TABLE c;\n");
        write(&m.join("V4__d.sql"), "CREATE TABLE d (x);\n");
        let fresh = load(&m, &r).unwrap();
        let again = load_since(&m, &r, &before).unwrap();
        assert_eq!(summary(&again), summary(&fresh));
        assert!(again[0].needs().destructive, "{:?}", again[0].needs());
        // A file whose new text fails the load's checks fails as in a fresh load.
        write(&m.join("V3__c.sql"), "CREATE TABLE c (x); COMMIT;\n");
        let fresh = load(&m, &r).unwrap_err().to_string();
        assert_eq!(load_since(&m, &r, &before).unwrap_err().to_string(), fresh);
    }

    #[test]
    fn file_names_follow_refinery() {
        assert_eq!(
            parse_file_name("V2__add_category.sql"),
            Some((2, "add_category".into()))
        );
        assert_eq!(parse_file_name("V10__x.sql"), Some((10, "x".into())));
        for name in [
            "V11__x.SQL",
            "v2__x.sql",
            "V3__x.sql.bak",
            "V4__a-b.sql",
            "x.sql",
        ] {
            assert!(looks_like_migration(name), "{name}");
            assert_eq!(parse_file_name(name), None, "{name}");
        }
        for name in ["README.md", ".gitkeep", "notes.txt", "Vendor.md"] {
            assert!(!looks_like_migration(name), "{name}");
        }
        for bad in [
            "V2_add.sql",
            "v2__x.sql",
            "V__x.sql",
            "V2__.sql",
            "V2__a-b.sql",
            "V2__x.txt",
        ] {
            assert_eq!(parse_file_name(bad), None, "{bad}");
        }
    }
}
