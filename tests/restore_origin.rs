//! A restore puts a file in place with `--yes` alone only when its manifest shows it is a
//! backup of this database. Every other origin (another database's backup, or a file with no
//! manifest: the manifest lost, or a runbook's backup beside its `sha256sum` file) needs
//! `--from-other-database`, and the preview says so. Each sidecar combination, with and
//! without the flag: refused ones change nothing.

mod common;

use std::path::Path;

use common::{schemactl, stderr};
use rusqlite::Connection;

fn rows(db: &Path) -> Vec<String> {
    let conn = Connection::open(db).unwrap();
    conn.prepare("SELECT v FROM t ORDER BY rowid")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// What is left beside the backup.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Left {
    /// Its manifest and checksum file.
    Both,
    /// The checksum file alone (the manifest lost; a runbook's backup looks the same).
    Checksum,
    /// Neither.
    Nothing,
}

/// Backs up `from` (a.db or b.db) and restores the file into a.db with `flags`: returns the
/// exit code, standard error, and a.db's rows after.
fn restore(from: &str, left: Left, flags: &[&str]) -> (Option<i32>, String, Vec<String>) {
    let dir = common::temp_dir();
    let p = dir.path();
    std::fs::write(p.join("schemactl.toml"), "backups = \"backups\"\n").unwrap();
    for n in ["a", "b"] {
        let conn = Connection::open(p.join(format!("{n}.db"))).unwrap();
        conn.execute_batch(&format!(
            "CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('{n}1'), ('{n}2');"
        ))
        .unwrap();
    }
    common::ok_in(p, &["backup", "--database", from]);
    let file = std::fs::read_dir(p.join("backups"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|f| f.to_string_lossy().ends_with(".db.zst"))
        .unwrap();
    let side = |ext: &str| p.join(format!("{}{ext}", file.display()));
    if left != Left::Both {
        std::fs::remove_file(side(".json")).unwrap();
    }
    if left == Left::Nothing {
        std::fs::remove_file(side(".sha256")).unwrap();
    }
    // a.db changes after the backup: a restore of a's own backup is seen.
    Connection::open(p.join("a.db"))
        .unwrap()
        .execute("INSERT INTO t VALUES ('a3')", [])
        .unwrap();
    let file = file.display().to_string();
    let mut args = vec!["restore", file.as_str(), "--database", "a.db", "--yes"];
    args.extend_from_slice(flags);
    let out = schemactl(p, &args);
    (out.status.code(), stderr(&out), rows(&p.join("a.db")))
}

#[test]
fn only_a_manifest_of_this_database_restores_with_yes_alone() {
    let unchanged = vec!["a1".to_string(), "a2".into(), "a3".into()];
    for from in ["a.db", "b.db"] {
        for left in [Left::Both, Left::Checksum, Left::Nothing] {
            for other in [false, true] {
                let mut flags = Vec::new();
                if left == Left::Nothing {
                    flags.push("--without-checksum");
                }
                if other {
                    flags.push("--from-other-database");
                }
                let case = format!("{from}, {left:?}, {flags:?}");
                let (code, err, after) = restore(from, left, &flags);
                let shown_ours = from == "a.db" && left == Left::Both;
                if shown_ours || other {
                    assert_eq!(code, Some(0), "{case}: {err}");
                    let want = if from == "a.db" { "a" } else { "b" };
                    assert_eq!(after, [format!("{want}1"), format!("{want}2")], "{case}");
                    continue;
                }
                assert_eq!(code, Some(1), "{case}: {err}");
                assert_eq!(after, unchanged, "{case}: a refused restore changed a.db");
                assert!(err.contains("--from-other-database"), "{case}: {err}");
                if left == Left::Both {
                    assert!(err.contains("<- ANOTHER DATABASE"), "{case}: {err}");
                } else {
                    assert!(
                        err.contains("it has no manifest, so nothing shows it is a backup of a.db")
                            && err.contains("NOT SHOWN TO BE THIS DATABASE'S"),
                        "{case}: {err}"
                    );
                }
            }
        }
    }
}
