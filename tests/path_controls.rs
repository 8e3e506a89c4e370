//! A database path holding control characters (a tenant's directory named by the tenant)
//! never reaches a terminal raw (h17_07): every human line of `check`, `stats`, `backup`,
//! `backup list`, `restore`, `status`, the `fleet` commands and an error naming the path shows
//! it escaped (`\n`, `\u{1b}`), so the path stays on its line and cannot move the cursor or
//! forge a line of its own.

mod common;

use std::path::Path;

use common::fleet::*;
use common::{schemactl, stderr, stdout};
use proptest::prelude::*;

/// A character a terminal acts on: what no output may hold raw, but for schemactl's own
/// line breaks.
fn acts(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{061c}' | '\u{200e}' | '\u{200f}'
                | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// The middle of a directory name: letters and the characters of [`acts`].
fn middle() -> impl Strategy<Value = String> {
    let chars = prop::sample::select(vec![
        'a', 'Z', ' ', '[', '-', '\n', '\r', '\t', '\x1b', '\x07', '\x7f', '\u{85}', '\u{9b}',
        '\u{202e}', '\u{2066}', '\u{2028}',
    ]);
    prop::collection::vec(chars, 1..8).prop_map(|v| v.into_iter().collect())
}

/// Checks one command's output: nothing of [`acts`] raw but line breaks, and the name's two
/// ends (`HEAD` and `TAIL`) on the same line wherever its tail is shown.
fn assert_escaped(what: &str, out: &std::process::Output) {
    for (stream, text) in [("stdout", stdout(out)), ("stderr", stderr(out))] {
        let raw: Vec<char> = text.chars().filter(|&c| acts(c) && c != '\n').collect();
        assert!(raw.is_empty(), "{what} {stream}: raw {raw:?} in {text:?}");
        for line in text.lines() {
            if line.contains("TAIL") {
                assert!(
                    line.contains("HEAD"),
                    "{what} {stream}: a line holds the path's tail alone: {line:?}\n{text:?}"
                );
            }
        }
    }
}

fn check_all(middle: &str) {
    let dir = project();
    let p = dir.path();
    let name = format!("HEAD{middle}TAIL");
    let rel = format!("t/{name}/memory.db");
    std::fs::create_dir_all(p.join("t").join(&name)).unwrap();
    std::fs::copy(p.join("template.db"), p.join(&rel)).unwrap();
    let run = |args: &[&str]| {
        let out = schemactl(p, args);
        assert_escaped(&format!("{args:?}"), &out);
        out
    };
    run(&["check", "--quick", "--database", &rel]);
    run(&["stats", "--database", &rel]);
    run(&["status", "--database", &rel]);
    let out = run(&["backup", "--database", &rel]);
    assert!(out.status.success(), "{}", stderr(&out));
    run(&["backup", "list", "--database", &rel]);
    let out = run(&["restore", "--latest", "--yes", "--database", &rel]);
    assert!(out.status.success(), "{}", stderr(&out));
    run(&["fleet", "plan", "--targets", GLOB]);
    let out = run(&[
        "fleet",
        "apply",
        "--targets",
        GLOB,
        "--allow-destructive",
        "--yes",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    run(&["fleet", "status", "--targets", GLOB]);
    let id = runs(p)[0].clone();
    let out = run(&["fleet", "rollback", "--run", &id, "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // Errors naming the path.
    let missing = format!("t/{name}/missing.db");
    run(&["check", "--database", &missing]);
    run(&["backup", "--database", &missing]);
    assert!(Path::new(&p.join(&rel)).is_file());
}

#[test]
fn a_newline_and_an_escape_sequence_in_a_path_stay_escaped() {
    check_all("\n\x1b[2Afake: healthy");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]
    /// Whatever controls a directory name holds, every human output shows it escaped.
    #[test]
    fn controls_in_a_path_are_escaped_in_every_human_output(middle in middle()) {
        check_all(&middle);
    }
}

/// A whole project inside a directory whose name holds `middle`: every command that names its
/// database, its backups or its files in a human line (the pipeline's progress lines
/// included: "backing up ...", "running the apply ... on ...", "backup: ...") shows them
/// escaped, each on its line.
fn check_project(middle: &str) {
    let root = common::temp_dir();
    let p = root.path().join(format!("HEAD{middle}TAIL"));
    for sub in ["migrations", "rollbacks", "schema"] {
        std::fs::create_dir_all(p.join(sub)).unwrap();
    }
    let write = |f: &str, s: &str| std::fs::write(p.join(f), s).unwrap();
    write(
        "schemactl.toml",
        "database = \"db.sqlite\"\nbackups = \"backups\"\n",
    );
    write(
        "migrations/V1__notes.sql",
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);\n",
    );
    write("rollbacks/V1__notes.sql", "DROP TABLE notes;\n");
    write(
        "migrations/V2__tag.sql",
        "ALTER TABLE notes ADD COLUMN tag TEXT;\n",
    );
    write(
        "rollbacks/V2__tag.sql",
        "ALTER TABLE notes DROP COLUMN tag;\n",
    );
    let run = |args: &[&str]| {
        let out = schemactl(&p, args);
        assert_escaped(&format!("{args:?}"), &out);
        out
    };
    let ok = |args: &[&str]| {
        let out = run(args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        out
    };
    let db = p.join("db.sqlite");
    let db = db.to_str().unwrap();
    ok(&["apply", "--yes"]);
    ok(&["status"]);
    ok(&["rollback", "--to", "V1", "--yes"]);
    ok(&["stash", "list"]);
    ok(&["apply", "--yes", "--verify"]);
    // A database made before schemactl, recorded as at V1 (h21_03: its line printed the path
    // raw).
    let ext = p.join("ext.db");
    rusqlite::Connection::open(&ext)
        .unwrap()
        .execute_batch("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);")
        .unwrap();
    ok(&["baseline", "--yes", "--database", ext.to_str().unwrap()]);
    // The schema the live database has, plus a table: sync and plan have a step to run.
    let scratch = p.join("scratch.db");
    rusqlite::Connection::open(&scratch)
        .unwrap()
        .execute_batch(
            "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT, tag TEXT);
             CREATE TABLE tags (id INTEGER PRIMARY KEY, name TEXT);",
        )
        .unwrap();
    let scratch = scratch.to_str().unwrap();
    ok(&["import", "--database", scratch, "--out", "schema/app.yaml"]);
    run(&["plan"]);
    run(&["drift"]);
    ok(&["sync", "--yes"]);
    ok(&["backup"]);
    ok(&["restore", "--latest", "--yes"]);
    ok(&["optimize"]);
    run(&["check", "--database", db]);
    // A pending file, named by its path.
    write("migrations/V9__later.sql", "CREATE TABLE later (x);\n");
    run(&["status"]);
    run(&["drift"]);
    run(&["apply", "--yes", "--dry-run"]);
    run(&["restore", "--latest", "--yes", "--database", "other.db"]);
    // Errors naming a path in the directory.
    run(&["apply", "--yes", "--database", "gone/x.db", "--no-wait"]);
    run(&[
        "rollback",
        "--to",
        "V1",
        "--yes",
        "--database",
        "missing.db",
    ]);
    run(&["import", "--database", "missing.db"]);
}

#[test]
fn a_newline_and_an_escape_sequence_in_a_project_path_stay_escaped() {
    for middle in [
        "\n\x1b[2Afake: healthy",
        "\r\u{9b}2K\t\x07",
        "\u{2028}\u{202e}\u{85}\x7f",
    ] {
        check_project(middle);
    }
}
