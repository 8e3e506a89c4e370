//! Migration files: `migrations/V{n}__{name}.sql` (forward) and `rollbacks/V{n}__{name}.sql`
//! (reverse), loaded at run time. Generated and hand-written files are alike; a generated
//! file's header says what running it safely needs.

use std::path::{Path, PathBuf};

use refinery_core::Migration;

use crate::error::{Error, Result};
use crate::plan::{Direction, Plan};
use crate::sql::lex;

pub use crate::plan::{FOREIGN_KEYS_HEADER, STASH_PREFIX};

/// One forward migration file, with its reverse when there is one.
#[derive(Debug, Clone)]
pub struct MigrationFile {
    /// The version number.
    pub version: i32,
    /// The name after `V{n}__`.
    pub name: String,
    /// The file.
    pub path: PathBuf,
    /// Its SQL.
    pub sql: String,
    /// The reverse file and its SQL, when `rollbacks/` has one.
    pub rollback: Option<(PathBuf, String)>,
}

impl MigrationFile {
    /// Returns refinery's view of the migration (its checksum covers name, version and SQL).
    pub fn to_refinery(&self) -> Result<Migration> {
        Migration::unapplied(&format!("V{}__{}", self.version, self.name), &self.sql)
            .map_err(|e| Error::Usage(format!("{}: {e}", self.path.display())))
    }

    /// Returns `V{n}__{name}`.
    pub fn stem(&self) -> String {
        format!("V{}__{}", self.version, self.name)
    }
}

/// What running a migration's SQL safely needs, read from its header or its statements.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    /// Foreign keys must be off (it drops or rebuilds tables).
    pub foreign_keys_off: bool,
    /// Tables to `foreign_key_check` before committing; None means every table.
    pub check: Option<Vec<String>>,
    /// It drops or narrows something.
    pub destructive: bool,
}

/// Reads what `sql` needs: from a generated header, or (hand-written) from its statements:
/// any `DROP TABLE` needs foreign keys off and a full check, and is destructive, as is any
/// `DROP COLUMN`.
pub fn needs(sql: &str) -> Needs {
    if let Some(line) = sql.lines().find(|l| l.starts_with(FOREIGN_KEYS_HEADER)) {
        let tables = line[FOREIGN_KEYS_HEADER.len()..]
            .split(',')
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect();
        return Needs {
            foreign_keys_off: true,
            check: Some(tables),
            destructive: sql
                .lines()
                .any(|l| l.starts_with("-- step") && l.contains("destructive]")),
        };
    }
    if sql.lines().any(|l| l.starts_with("-- schemactl migration")) {
        return Needs {
            foreign_keys_off: false,
            check: Some(Vec::new()),
            destructive: sql
                .lines()
                .any(|l| l.starts_with("-- step") && l.contains("destructive]")),
        };
    }
    let tokens = lex(sql).unwrap_or_default();
    let pair = |a: &str, b: &str| tokens.windows(2).any(|w| w[0].is_kw(a) && w[1].is_kw(b));
    let drops_table = pair("DROP", "TABLE");
    Needs {
        foreign_keys_off: drops_table,
        check: if drops_table { None } else { Some(Vec::new()) },
        destructive: drops_table || pair("DROP", "COLUMN"),
    }
}

/// Parses `V{n}__{name}.sql`.
fn parse_file_name(file_name: &str) -> Option<(i32, String)> {
    let stem = file_name.strip_suffix(".sql")?;
    let rest = stem.strip_prefix('V')?;
    let (version, name) = rest.split_once("__")?;
    let version: i32 = version.parse().ok()?;
    let valid = !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_');
    valid.then(|| (version, name.to_string()))
}

/// Loads every `V{n}__{name}.sql` of `dir`, sorted by version, each with its reverse from
/// `rollbacks`. A missing `dir` means no migrations. Two files with one version are an error.
pub fn load(dir: &Path, rollbacks: &Path) -> Result<Vec<MigrationFile>> {
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
        if !file_name.ends_with(".sql") {
            continue;
        }
        let Some((version, name)) = parse_file_name(file_name) else {
            return Err(Error::Usage(format!(
                "{}: a migration file is named V{{n}}__{{name}}.sql (name: letters, digits, _)",
                path.display()
            )));
        };
        let sql =
            std::fs::read_to_string(&path).map_err(|e| Error::io("read migration", &path, e))?;
        let reverse_path = rollbacks.join(file_name);
        let rollback = if reverse_path.is_file() {
            let text = std::fs::read_to_string(&reverse_path)
                .map_err(|e| Error::io("read rollback", &reverse_path, e))?;
            Some((reverse_path, text))
        } else {
            None
        };
        files.push(MigrationFile {
            version,
            name,
            path,
            sql,
            rollback,
        });
    }
    files.sort_by_key(|f| f.version);
    for pair in files.windows(2) {
        if pair[0].version == pair[1].version {
            return Err(Error::Usage(format!(
                "{} and {} have the same version",
                pair[0].path.display(),
                pair[1].path.display()
            )));
        }
    }
    Ok(files)
}

/// Renders a plan as a migration file's SQL in `direction` (see [`Plan::migration_file`]).
pub fn render(plan: &Plan, stem: &str, schema_version: u32, direction: Direction) -> String {
    plan.migration_file(stem, schema_version, direction)
}

/// Writes a new file, refusing to overwrite one.
pub fn write_new(path: &Path, text: &str) -> Result<()> {
    use std::io::Write as _;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io("create directory", parent, e))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| Error::io("create", path, e))?;
    file.write_all(text.as_bytes())
        .map_err(|e| Error::io("write", path, e))?;
    file.sync_all().map_err(|e| Error::io("sync", path, e))
}

/// Checks a migration name: letters, digits and `_`.
pub fn check_name(name: &str) -> Result<()> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(Error::Usage(format!(
            "migration name `{name}`: use letters, digits and _ (it becomes V{{n}}__{name}.sql)"
        )));
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

    #[test]
    fn hand_written_sql_says_what_it_needs() {
        assert_eq!(
            needs("ALTER TABLE t ADD COLUMN c TEXT;"),
            Needs {
                foreign_keys_off: false,
                check: Some(vec![]),
                destructive: false
            }
        );
        assert_eq!(
            needs("ALTER TABLE t DROP COLUMN c;"),
            Needs {
                foreign_keys_off: false,
                check: Some(vec![]),
                destructive: true
            }
        );
        assert_eq!(
            needs("CREATE TABLE n (a); INSERT INTO n SELECT * FROM t; DROP TABLE t;"),
            Needs {
                foreign_keys_off: true,
                check: None,
                destructive: true
            }
        );
        // 'drop table' in a string is not a statement
        assert!(!needs("UPDATE t SET note = 'drop table';").foreign_keys_off);
    }
}
