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
        statements::check(&path.display().to_string(), &sql)?;
        let reverse_path = rollbacks.join(file_name);
        let (rollback_path, reverse) = if reverse_path.is_file() {
            let text = std::fs::read_to_string(&reverse_path)
                .map_err(|e| Error::io("read rollback", &reverse_path, e))?;
            statements::check(&reverse_path.display().to_string(), &text)?;
            (Some(reverse_path), Some(text))
        } else {
            (None, None)
        };
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
