//! Issue 20, the operator's day: messages that point at the place, as processes on real files.

mod common;

use std::path::Path;
use std::process::Output;

fn run(dir: &Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_schemactl"))
        .args(args)
        .current_dir(dir)
        .env_remove("SCHEMACTL_DATABASE")
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

/// Restoring into a directory that does not exist names the directory (not a lock file that
/// cannot be opened), exits 1, and creates nothing.
#[test]
fn restoring_into_a_missing_directory_names_the_directory() {
    let p = common::project_dir("database = \"memory.db\"\nbackups = \"backups\"\n");
    let out = run(p.path(), &["apply", "--yes", "--skip-backup"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(p.path(), &["backup"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let listed = run(p.path(), &["backup", "list", "--format", "json"]);
    let backups: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    let file = backups[0]["path"]
        .as_str()
        .or_else(|| backups[0]["file"].as_str())
        .unwrap_or_else(|| panic!("{backups}"))
        .to_string();
    let file = p.path().join(file);
    let target = p.path().join("nowhere/deeper/memory.db");
    let out = run(
        p.path(),
        &[
            "restore",
            file.to_str().unwrap(),
            "--database",
            target.to_str().unwrap(),
            "--yes",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "directory {} does not exist",
            p.path().join("nowhere/deeper").display()
        )),
        "{err}"
    );
    assert!(!err.contains("lock file"), "{err}");
    assert!(!p.path().join("nowhere").exists());
}

/// `import --out` onto an existing file names the file and says it is never overwritten.
#[test]
fn import_onto_an_existing_file_names_it() {
    let dir = common::temp_dir();
    let db = common::db_from_ddl(dir.path(), "m.db", "CREATE TABLE t (a);");
    let out_file = dir.path().join("taken.yaml");
    std::fs::write(&out_file, "mine").unwrap();
    let out = run(
        dir.path(),
        &[
            "import",
            "--database",
            db.to_str().unwrap(),
            "--out",
            out_file.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("--out {}: the file exists", out_file.display())),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&out_file).unwrap(), "mine");
}
