//! Bad files: a truncated or corrupted database, a file that is not SQLite, a read-only
//! database, a full disk during a backup, and missing directories. Each gets a clear message
//! (no panic) and leaves the data untouched.

mod common;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rusqlite::Connection;

fn schemactl(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_schemactl"));
    cmd.args(args)
        .current_dir(dir)
        .env_remove("SCHEMACTL_DATABASE")
        .env("SCHEMACTL_BUSY_TIMEOUT_MS", "500");
    cmd
}

fn sha(path: &Path) -> String {
    schemactl::backup::sha256_file(path).unwrap()
}

/// A project whose database holds some rows (about 1 MB).
fn project() -> tempfile::TempDir {
    let dir = common::project_dir("database = \"memory.db\"\nbackups = \"backups\"\n");
    let out = schemactl(dir.path(), &["apply", "--yes", "--skip-backup"])
        .output()
        .unwrap();
    assert!(out.status.success());
    Connection::open(dir.path().join("memory.db"))
        .unwrap()
        .execute_batch(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
             INSERT INTO patterns (id, type, pattern_data, confidence, created_at) SELECT 'p' || i, 't', hex(randomblob(200)), 0.5, 'now' FROM n;",
        )
        .unwrap();
    dir
}

/// Runs each command on a database that `spoil` damaged; each must fail (or, for read-only
/// commands, report findings) with a message that names the problem, no panic, and the file
/// unchanged.
fn each_command_refuses(name: &str, spoil: impl Fn(&Path), commands: &[&[&str]], expect: &[&str]) {
    let p = project();
    let db = p.path().join("memory.db");
    spoil(&db);
    let before = sha(&db);
    for &args in commands {
        let out = schemactl(p.path(), args).output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_ne!(
            out.status.code(),
            Some(0),
            "{name}: {args:?} succeeded:\n{text}"
        );
        assert!(
            !text.contains("panicked"),
            "{name}: {args:?} panicked:\n{text}"
        );
        assert!(
            expect.iter().any(|e| text.contains(e)),
            "{name}: {args:?} says none of {expect:?}:\n{text}"
        );
        assert_eq!(sha(&db), before, "{name}: {args:?} changed the file");
    }
}

/// Every command that opens the database.
const EVERY_COMMAND: &[&[&str]] = &[
    &["check"],
    &["stats"],
    &["status"],
    &["drift"],
    &["plan"],
    &["apply", "--yes"],
    &["backup"],
    &["prune", "--yes"],
    &["optimize", "--vacuum"],
    &["import"],
    &["explain"],
];

/// The commands that read every page or the damaged tables (others, such as `status`, read
/// only the schema and history, which the damage leaves intact).
const READING_ALL: &[&[&str]] = &[
    &["check"],
    &["stats"],
    &["backup"],
    &["prune", "--yes"],
    &["optimize", "--vacuum"],
];

#[test]
fn a_file_that_is_not_sqlite() {
    each_command_refuses(
        "not sqlite",
        |db| {
            std::fs::write(
                db,
                "these are not the pages you are looking for\n".repeat(200),
            )
            .unwrap()
        },
        EVERY_COMMAND,
        &["file is not a database"],
    );
}

#[test]
fn a_truncated_database() {
    each_command_refuses(
        "truncated",
        |db| {
            let f = std::fs::OpenOptions::new().write(true).open(db).unwrap();
            let len = f.metadata().unwrap().len();
            f.set_len(len / 3).unwrap();
        },
        READING_ALL,
        &["malformed", "integrity", "disk image"],
    );
}

#[test]
fn a_corrupted_database() {
    each_command_refuses(
        "corrupted",
        |db| {
            let mut bytes = std::fs::read(db).unwrap();
            // Page 2 onwards (the schema page, page 1, stays readable): b-tree pages overwritten.
            for b in &mut bytes[4096..4096 * 6] {
                *b = 0x5A;
            }
            std::fs::write(db, bytes).unwrap();
        },
        READING_ALL,
        &["malformed", "integrity", "disk image", "corrupt"],
    );
}

#[test]
fn a_read_only_database_is_read_but_never_written() {
    let p = project();
    let dir = p.path();
    let db = dir.join("memory.db");
    let before = sha(&db);
    // Root ignores file modes, so the commands run as `nobody` when the tests run as root.
    let root = unsafe { libc::geteuid() } == 0;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o444)).unwrap();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555)).unwrap();
    let as_reader = |args: &[&str]| -> Output {
        let mut cmd = schemactl(dir, args);
        if root {
            // SAFETY: setuid/setgid between fork and exec only change this child's identity.
            unsafe {
                cmd.pre_exec(|| {
                    if libc::setgid(65534) != 0 || libc::setuid(65534) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        cmd.output().unwrap()
    };
    // The tempdir itself must be reachable by `nobody`.
    let mut up = dir.parent();
    while let Some(d) = up {
        if d.starts_with(std::env::temp_dir()) && d != std::env::temp_dir() {
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        up = d.parent();
    }
    let out = as_reader(&["stats"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = as_reader(&["check", "--quick"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for args in [
        &["apply", "--yes"][..],
        &["prune", "--yes"][..],
        &["optimize"][..],
        &["backup"][..],
    ] {
        let out = as_reader(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains("readonly")
                || err.contains("read-only")
                || err.contains("Permission denied"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("panicked"));
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert_eq!(sha(&db), before);
}

#[test]
fn a_full_disk_during_a_backup_leaves_no_partial_backup() {
    let p = project();
    let dir = p.path();
    let db = dir.join("memory.db");
    let before = sha(&db);
    for compress in ["none", "zstd"] {
        let mut cmd = schemactl(dir, &["backup", "--compress", compress]);
        // A file-size limit of 64 KiB: every write past it fails with EFBIG, as on a full disk.
        // SAFETY: setrlimit and signal only change this child between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                let limit = libc::rlimit {
                    rlim_cur: 64 * 1024,
                    rlim_max: 64 * 1024,
                };
                if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let out = cmd.output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{compress}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(
            err.contains("disk") || err.contains("too large") || err.contains("full"),
            "{compress}: {err}"
        );
        let left: Vec<PathBuf> = std::fs::read_dir(dir.join("backups"))
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "{compress}: partial files left: {left:?}");
        assert_eq!(sha(&db), before);
    }
    // Without the limit the same backup works.
    assert!(
        schemactl(dir, &["backup"])
            .output()
            .unwrap()
            .status
            .success()
    );
}

#[test]
fn missing_directories_are_named() {
    let p = project();
    let dir = p.path();
    for args in [
        &["check", "--database", "no/such/dir/memory.db"][..],
        &["stats", "--database", "no/such/dir/memory.db"][..],
        &["restore", "--latest", "--yes", "--backups", "no/such/dir"][..],
        &["backup", "--out", "memory.db/sub"][..],
        &["plan", "--schema", "no/such/schema"][..],
    ] {
        let out = schemactl(dir, args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains("no/such") || err.contains("memory.db/sub") || err.contains("no backup"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("panicked"));
    }
}

/// h16_06: a backup of a database whose index page is corrupt (many problems) is refused
/// with a message that names the database given (not the copy it took), lists at most ten
/// problems one a line, then how many more, and holds no escaped line break.
#[test]
fn a_refused_backup_names_the_database_and_lists_a_few_problems_one_a_line() {
    let dir = common::empty_project();
    let d = dir.path();
    let db = d.join("db.sqlite");
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);
         CREATE INDEX ix ON t (v);
         WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r WHERE x < 30)
         INSERT INTO t (v) SELECT 'v' || x FROM r;",
    )
    .unwrap();
    let page_size: i64 = conn
        .query_row("PRAGMA page_size", [], |r| r.get(0))
        .unwrap();
    let root: i64 = conn
        .query_row(
            "SELECT rootpage FROM sqlite_schema WHERE name = 'ix'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    drop(conn);
    // The index's cell pointers (after its 8-byte leaf header) overwritten: one problem each.
    let mut bytes = std::fs::read(&db).unwrap();
    let at = ((root - 1) * page_size + 8) as usize;
    for b in &mut bytes[at..at + 64] {
        *b = 0xff;
    }
    std::fs::write(&db, bytes).unwrap();
    let out = schemactl(d, &["backup", "--yes", "--label", "bad"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("db.sqlite: integrity_check failed:"),
        "{text}"
    );
    assert!(!text.contains("-bad.db"), "{text}");
    assert!(!text.contains("\\n"), "{text}");
    let problems: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("out of range") || l.contains("Offset") || l.contains("page"))
        .collect();
    assert!(
        !problems.is_empty() && problems.len() <= 10,
        "{} problem lines:\n{text}",
        problems.len()
    );
    assert!(
        text.lines()
            .any(|l| l.trim_start_matches([' ', '│']).starts_with('(') && l.ends_with(" more)")),
        "{text}"
    );
}
