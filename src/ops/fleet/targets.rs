//! The fleet's targets: a glob (`tenants/*/memory.db`, `**` for any depth) or a list of paths
//! (one a line; blank lines and `#` comments skipped), resolved to existing paths, in a stable
//! order (sorted by path), each database once however it was named (by its file: device and
//! inode, so symlinks, `..` and hard links name one target), schemactl's own files left out
//! ([`super::own`]: a glob skips them, a list naming one is refused).

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};

/// Where the targets come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// A glob over paths: `*` and `?` within a name, `**` for any number of directories.
    Glob(String),
    /// A list, one path a line; `origin` names it in messages (a file, or standard input).
    List {
        /// The list's text.
        text: String,
        /// Where it was read from.
        origin: String,
    },
}

/// Resolves `source` to targets: sorted, each database once, none of schemactl's own files
/// (`backups` is the fleet's backups template, `folders` the project's backups, archives and
/// run folders). A glob matching nothing, an empty list, or a listed path that is not a
/// regular file or is schemactl's own is an error naming it.
pub fn resolve(source: &Source, backups: &Path, folders: &[PathBuf]) -> Result<Vec<PathBuf>> {
    resolve_naming_skipped(source, backups, folders).map(|(found, _)| found)
}

/// Files a glob matched and left out as schemactl's own, each with why.
pub type Skipped = Vec<(PathBuf, String)>;

/// [`resolve`], with the files a glob matched and left out as schemactl's own, each with why
/// (to be named in the output: no file is dropped from a run without a word).
pub fn resolve_naming_skipped(
    source: &Source,
    backups: &Path,
    folders: &[PathBuf],
) -> Result<(Vec<PathBuf>, Skipped)> {
    let mut skipped = Vec::new();
    let found = match source {
        Source::Glob(pattern) => {
            let mut found = glob(pattern)?;
            let own = super::own::Folders::new(&found, backups, folders);
            found.retain(|p| match own.why(p) {
                Some(why) => {
                    skipped.push((p.clone(), why));
                    false
                }
                None => true,
            });
            if found.is_empty() {
                return Err(Error::InvalidArgument {
                    what: format!("--targets {pattern}"),
                    message: "no file matches".into(),
                });
            }
            found
        }
        Source::List { text, origin } => {
            let mut found = Vec::new();
            for (i, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let path = PathBuf::from(line);
                let bad = |message: String| Error::InvalidArgument {
                    what: format!("{origin}:{}", i + 1),
                    message,
                };
                if !path.is_file() {
                    return Err(bad(if path.exists() {
                        format!("{line} is not a regular file")
                    } else {
                        format!("{line} is not a file")
                    }));
                }
                found.push(path);
            }
            let own = super::own::Folders::new(&found, backups, folders);
            for (i, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                if let Some(why) = own.why(Path::new(line)) {
                    return Err(Error::InvalidArgument {
                        what: format!("{origin}:{}", i + 1),
                        message: format!(
                            "{line} is schemactl's own file, not a database to migrate: {why}"
                        ),
                    });
                }
            }
            if found.is_empty() {
                return Err(Error::InvalidArgument {
                    what: origin.clone(),
                    message: "lists no database".into(),
                });
            }
            found
        }
    };
    Ok((dedup(found), skipped))
}

/// Sorts `paths` and keeps the first name of each file: two names of one file (through `..`,
/// a symlink or a hard link) would run the same database twice, in parallel, under two lock
/// files. A file is its device and inode.
fn dedup(mut paths: Vec<PathBuf>) -> Vec<PathBuf> {
    paths.sort();
    let mut seen = BTreeSet::new();
    paths.retain(|p| seen.insert(file_id(p)));
    paths
}

/// What tells one file from another: device and inode (the canonical path where there are
/// none, or the file cannot be read).
fn file_id(path: &Path) -> (u64, u64, PathBuf) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let Ok(m) = std::fs::metadata(path) {
            return (m.dev(), m.ino(), PathBuf::new());
        }
    }
    (0, 0, crate::db::identity::canonical(path))
}

/// Returns the files matching `pattern`. The directories before the first wildcard are the
/// root of the walk.
fn glob(pattern: &str) -> Result<Vec<PathBuf>> {
    let path = Path::new(pattern);
    let mut root = PathBuf::new();
    let mut rest: Vec<String> = Vec::new();
    for c in path.components() {
        match c {
            Component::Normal(s) if rest.is_empty() && !has_wildcard(&s.to_string_lossy()) => {
                root.push(s);
            }
            Component::Normal(s) => rest.push(s.to_string_lossy().into_owned()),
            other if rest.is_empty() => root.push(other.as_os_str()),
            _ => {
                return Err(Error::InvalidArgument {
                    what: format!("--targets {pattern}"),
                    message: "`.` and `..` may only come before the first wildcard".into(),
                });
            }
        }
    }
    if rest.is_empty() {
        return Ok(if root.is_file() {
            vec![root]
        } else {
            Vec::new()
        });
    }
    let mut out = Vec::new();
    let start = if root.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        root.clone()
    };
    walk(&start, &root, &rest, &mut out)?;
    Ok(out)
}

fn has_wildcard(s: &str) -> bool {
    s.contains(['*', '?'])
}

/// Matches `parts` under the directory `dir` (shown as `shown`), pushing matching files.
fn walk(dir: &Path, shown: &Path, parts: &[String], out: &mut Vec<PathBuf>) -> Result<()> {
    let Some((first, rest)) = parts.split_first() else {
        return Ok(());
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io("read directory", dir, e)),
    };
    let mut names: Vec<(String, bool)> = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("read directory", dir, e))?;
        // Follows links, as a shell glob does.
        let is_dir = entry.path().is_dir();
        names.push((entry.file_name().to_string_lossy().into_owned(), is_dir));
    }
    names.sort();
    if first == "**" {
        // Zero directories, then each directory (hidden ones aside) one level down.
        walk(dir, shown, rest, out)?;
        for (name, is_dir) in &names {
            if *is_dir && !name.starts_with('.') {
                walk(&dir.join(name), &shown.join(name), parts, out)?;
            }
        }
        return Ok(());
    }
    for (name, is_dir) in names {
        // As in a shell, a wildcard does not match a leading dot.
        if name.starts_with('.') && !first.starts_with('.') {
            continue;
        }
        if !matches(first.as_bytes(), name.as_bytes()) {
            continue;
        }
        if rest.is_empty() {
            if !is_dir {
                out.push(shown.join(&name));
            }
        } else if is_dir {
            walk(&dir.join(&name), &shown.join(&name), rest, out)?;
        }
    }
    Ok(())
}

/// Matches one name against a pattern with `*` (any run) and `?` (one character).
fn matches(pattern: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, n));
                p += 1;
            }
            Some(&c) if c == b'?' || c == name[n] => {
                p += 1;
                n += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    p = sp + 1;
                    n = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve_plain(source: &Source) -> Result<Vec<PathBuf>> {
        resolve(source, Path::new("{dir}/backups"), &[])
    }

    /// The plain definition: `*` any run, `?` one byte, anything else itself.
    fn reference(p: &[u8], n: &[u8]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some(b'*'), _) => reference(&p[1..], n) || (!n.is_empty() && reference(p, &n[1..])),
            (Some(b'?'), Some(_)) => reference(&p[1..], &n[1..]),
            (Some(a), Some(b)) if a == b => reference(&p[1..], &n[1..]),
            _ => false,
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 64, ..Default::default() })]
        #[test]
        fn the_matcher_agrees_with_the_definition(p in "[ab*?.]{0,8}", n in "[ab.]{0,10}") {
            proptest::prop_assert_eq!(matches(p.as_bytes(), n.as_bytes()), reference(p.as_bytes(), n.as_bytes()));
        }
    }

    #[test]
    fn wildcards_match_within_one_name() {
        assert!(matches(b"*.db", b"a.db"));
        assert!(matches(b"t?.db", b"t1.db"));
        assert!(!matches(b"t?.db", b"t12.db"));
        assert!(matches(b"*a*b", b"xaxxb"));
        assert!(!matches(b"*.db", b"a.db-wal"));
        assert!(matches(b"*", b""));
    }

    #[test]
    fn a_glob_resolves_sorted_and_skips_sqlite_side_files() {
        let dir = tempfile::tempdir().unwrap();
        for t in ["b", "a", "c"] {
            std::fs::create_dir_all(dir.path().join(t)).unwrap();
            std::fs::write(dir.path().join(t).join("memory.db"), "").unwrap();
        }
        std::fs::write(dir.path().join("a/memory.db-wal"), "").unwrap();
        std::fs::create_dir_all(dir.path().join("a/deep/er")).unwrap();
        std::fs::write(dir.path().join("a/deep/er/memory.db"), "").unwrap();
        let root = dir.path().display().to_string();
        let got = resolve_plain(&Source::Glob(format!("{root}/*/memory.db"))).unwrap();
        let want: Vec<PathBuf> = ["a", "b", "c"]
            .iter()
            .map(|t| dir.path().join(t).join("memory.db"))
            .collect();
        assert_eq!(got, want);
        let deep = resolve_plain(&Source::Glob(format!("{root}/**/memory.db"))).unwrap();
        assert_eq!(deep.len(), 4);
        assert!(resolve_plain(&Source::Glob(format!("{root}/*/none.db"))).is_err());
    }

    #[test]
    fn a_list_names_the_line_of_a_missing_file_and_the_same_file_counts_once() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.db");
        std::fs::write(&a, "").unwrap();
        let again = dir.path().join("sub/../a.db");
        std::fs::create_dir_all(dir.path().join("sub")).unwrap();
        let text = format!("# tenants\n{}\n\n{}\n", a.display(), again.display());
        let got = resolve_plain(&Source::List {
            text,
            origin: "list.txt".into(),
        })
        .unwrap();
        assert_eq!(got.len(), 1);
        let bad = resolve_plain(&Source::List {
            text: format!("{}\nnowhere.db\n", a.display()),
            origin: "list.txt".into(),
        })
        .unwrap_err();
        assert_eq!(bad.to_string(), "list.txt:2: nowhere.db is not a file");
    }
}
