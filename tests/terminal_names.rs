//! Names holding control characters never reach a terminal raw (h7_08): the human `plan`,
//! a `sync` refused at its prompt, and an error naming the object print every C0/C1 control,
//! DEL, line separator and bidirectional override of a name escaped (`\n`, `\u{1b}`), so each
//! plan step stays one line and no name can move the cursor or overwrite a line.

mod common;

use std::path::Path;

use common::{empty_project, schemactl, stderr, stdout};
use proptest::prelude::*;
use rusqlite::Connection;

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

/// A name with controls in it: letters, brackets, and the characters of [`acts`].
fn name() -> impl Strategy<Value = String> {
    let chars = prop::sample::select(vec![
        'a', 'b', 'Z', ' ', '[', '1', '-', '.', '\n', '\r', '\t', '\x1b', '\x07', '\x08', '\x7f',
        '\u{85}', '\u{9b}', '\u{202e}', '\u{2066}', '\u{2028}', '\u{200f}',
    ]);
    proptest::collection::vec(chars, 1..10)
        .prop_map(|cs| format!("n{}", cs.into_iter().collect::<String>()))
}

/// JSON (which YAML reads) with every character YAML will not take raw escaped.
fn yaml_text(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value)
        .unwrap()
        .chars()
        .map(|c| {
            if (c != '\n' && acts(c)) || c == '\u{85}' {
                format!("\\u{:04x}", c as u32)
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Asserts that `text` holds no raw character of [`acts`] but line breaks.
fn clean(what: &str, text: &str) -> Result<(), TestCaseError> {
    let raw: Vec<char> = text.chars().filter(|&c| c != '\n' && acts(c)).collect();
    prop_assert!(raw.is_empty(), "{}: raw {:?} in {:?}", what, raw, text);
    Ok(())
}

fn write_schema(dir: &Path, value: &serde_json::Value) {
    std::fs::write(dir.join("schema/s.yaml"), yaml_text(value)).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn names_with_controls_print_escaped_one_step_per_line(
        table in name(), column in name(), view in name(), missing in name(),
    ) {
        let names = [&table, &column, &view, &missing];
        let distinct = (0..4).all(|i| (0..i).all(|j| !names[i].eq_ignore_ascii_case(names[j])));
        prop_assume!(distinct);
        let dir = empty_project();
        let conn = Connection::open(dir.path().join("db.sqlite")).unwrap();
        conn.execute_batch(
            "CREATE TABLE keep (id INTEGER PRIMARY KEY); INSERT INTO keep VALUES (1), (2);
             CREATE TABLE t (id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1);",
        )
        .unwrap();
        drop(conn);
        let id = serde_json::json!({ "type": "INTEGER", "primary_key": true });
        let mut schema = serde_json::json!({
            "schemactl": 1,
            "version": 2,
            "tables": {
                "t": { "columns": { "id": id, column.as_str(): { "type": "TEXT" } } },
                table.as_str(): { "columns": { "id": id, column.as_str(): { "type": "TEXT" } } },
            },
            "views": { view.as_str(): { "sql": "SELECT 1 AS x" } },
        });
        write_schema(dir.path(), &schema);

        // plan: every step one line, nothing raw.
        let json = schemactl(dir.path(), &["plan", "--format", "json"]);
        prop_assert!(matches!(json.status.code(), Some(0 | 2)), "{}", stderr(&json));
        let plan: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
        let steps = plan["steps"].as_array().unwrap().len();
        prop_assert!(steps >= 4, "{}", stdout(&json));
        let human = schemactl(dir.path(), &["plan"]);
        prop_assert!(matches!(human.status.code(), Some(0 | 2)), "{}", stderr(&human));
        let (out, err) = (stdout(&human), stderr(&human));
        clean("plan stdout", &out)?;
        clean("plan stderr", &err)?;
        let step_lines = out
            .lines()
            .filter(|l| {
                let l = l.trim_start();
                let mut parts = l.splitn(2, ' ');
                let mark = parts.next().unwrap_or("");
                let rest = parts.next().unwrap_or("").trim_start();
                ["+", "-", "~", "!"].contains(&mark)
                    && rest.split_once(". ").is_some_and(|(n, _)| n.parse::<usize>().is_ok())
            })
            .count();
        prop_assert_eq!(step_lines, steps, "{}", out);

        // sync, refused at its prompt: nothing raw, nothing changed.
        let sync = schemactl(dir.path(), &["sync", "--allow-destructive"]);
        prop_assert_eq!(sync.status.code(), Some(1));
        clean("sync stdout", &stdout(&sync))?;
        clean("sync stderr", &stderr(&sync))?;

        // An error naming the object: a rename hint from a table that is not there.
        schema["tables"][table.as_str()]["renamed_from"] = serde_json::json!(missing);
        write_schema(dir.path(), &schema);
        let bad = schemactl(dir.path(), &["plan"]);
        prop_assert_eq!(bad.status.code(), Some(1), "{}", stdout(&bad));
        let err = stderr(&bad);
        clean("error", &err)?;
        prop_assert!(err.contains("renamed_from"), "{}", err);
        prop_assert_eq!(err.trim_end().lines().count(), 1, "{}", err);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// A row's value with controls in it, named by sync's lint refusal (h8_04): escaped, and
    /// each finding one line, so a value's line break cannot forge a line of the report.
    #[test]
    fn row_values_in_syncs_lint_refusal_print_escaped_one_finding_per_line(
        value in name(), other in name(),
    ) {
        prop_assume!(value != other);
        let dir = empty_project();
        let conn = Connection::open(dir.path().join("db.sqlite")).unwrap();
        conn.execute_batch(
            "CREATE TABLE t (k TEXT PRIMARY KEY, e TEXT); CREATE TABLE u (k TEXT PRIMARY KEY, e INTEGER);",
        )
        .unwrap();
        conn.execute("INSERT INTO t VALUES (?1, NULL)", [&value]).unwrap();
        conn.execute("INSERT INTO u VALUES (?1, NULL)", [&other]).unwrap();
        drop(conn);
        let not_null = serde_json::json!({ "type": "TEXT", "not_null": true });
        let int_not_null = serde_json::json!({ "type": "INTEGER", "not_null": true });
        let key = serde_json::json!({ "type": "TEXT", "primary_key": true });
        write_schema(dir.path(), &serde_json::json!({
            "schemactl": 1,
            "version": 2,
            "tables": {
                "t": { "columns": { "k": key, "e": not_null } },
                "u": { "columns": { "k": key, "e": int_not_null } },
            },
        }));
        let sync = schemactl(dir.path(), &["sync", "--yes"]);
        prop_assert_eq!(sync.status.code(), Some(1), "{}", stdout(&sync));
        let err = stderr(&sync);
        clean("sync stderr", &err)?;
        prop_assert!(err.contains("does not fit the change"), "{}", err);
        // The message's own line, then one line per finding.
        let lines: Vec<&str> = err.trim_end().lines().collect();
        prop_assert_eq!(lines.len(), 3, "{}", err);
        for line in &lines[1..] {
            let finding = line.trim_start().trim_start_matches('│').trim_start();
            prop_assert!(finding.starts_with("t: 1 row(s)") || finding.starts_with("u: 1 row(s)"), "{}", err);
        }
    }
}

/// A file name with controls in it: what [`name`] makes, less `/` (which no file name holds).
fn file_name() -> impl Strategy<Value = String> {
    name().prop_map(|n| n.replace('/', "_") + ".db")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// The operators' commands print what a database holds (its path, its tables' names) and
    /// what a schema file holds escaped, in every human output: status, stats, check, backup and
    /// its list and verify, restore (its preview and its result), stash list, prune, fleet
    /// status, schema check, and an error in a schema file with its snippet. The library denies
    /// `println!`, so these all go through one escaping printer; this property holds it to that.
    #[test]
    fn operator_commands_print_paths_and_names_escaped(
        db_name in file_name(), table in name(), column in name(),
    ) {
        prop_assume!(!table.eq_ignore_ascii_case(&column) && !table.eq_ignore_ascii_case("t"));
        let dir = empty_project();
        let db = dir.path().join(&db_name);
        let conn = Connection::open(&db).unwrap();
        let q = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
        conn.execute_batch(&format!(
            "CREATE TABLE t (id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1);
             CREATE TABLE {} (id INTEGER PRIMARY KEY, {} TEXT); INSERT INTO {} VALUES (1, 'x');",
            q(&table), q(&column), q(&table)
        ))
        .unwrap();
        drop(conn);
        let db_arg = db.to_str().unwrap().to_string();
        let with_db = |args: &[&str]| -> Vec<String> {
            let mut v: Vec<String> = args.iter().map(|s| s.to_string()).collect();
            v.push("--database".into());
            v.push(db_arg.clone());
            v
        };
        let run = |args: Vec<String>| {
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            schemactl(dir.path(), &refs)
        };
        let id = serde_json::json!({ "type": "INTEGER", "primary_key": true });
        write_schema(dir.path(), &serde_json::json!({
            "schemactl": 1,
            "version": 1,
            "tables": {
                "t": { "columns": { "id": id } },
                table.as_str(): { "columns": { "id": id, column.as_str(): { "type": "TEXT" } } },
            },
        }));
        // fleet reads its targets from a file, one path a line: the name's line breaks would
        // split it, so the file names the database by a link without them.
        std::os::unix::fs::symlink(&db, dir.path().join("target.db")).unwrap();
        std::fs::write(dir.path().join("targets"), "target.db\n").unwrap();
        let commands: Vec<Vec<String>> = vec![
            with_db(&["status"]),
            with_db(&["stats"]),
            with_db(&["check"]),
            with_db(&["backup"]),
            with_db(&["backup", "list"]),
            with_db(&["stash", "list"]),
            with_db(&["prune", "--yes"]),
            with_db(&["restore", "--latest", "--yes"]),
            with_db(&["restore", "--latest", "--table", &table, "--yes"]),
            with_db(&["drift"]),
            with_db(&["plan"]),
            vec!["fleet".into(), "status".into(), "--targets-from".into(), "targets".into()],
            vec!["status".into(), "--database".into(), db_arg.clone(), "--no-such-flag".into()],
            vec!["schema".into(), "check".into()],
        ];
        let mut verified = false;
        for args in commands {
            let out = run(args.clone());
            prop_assert!(
                out.status.code().is_some(),
                "{:?} ended by a signal: {}", args, stderr(&out)
            );
            clean(&format!("{args:?} stdout"), &stdout(&out))?;
            clean(&format!("{args:?} stderr"), &stderr(&out))?;
            // The backup the commands after it use exists: restore found it.
            if args[0] == "restore" && out.status.code() == Some(0) {
                verified = true;
            }
        }
        prop_assert!(verified, "no restore succeeded: the property saw no restore output");

        // An error in a schema file shows its snippet: a raw ESC in the file stays escaped.
        std::fs::write(
            dir.path().join("schema/s.yaml"),
            format!("schemactl: 1\nversion: 1\ntables:\n  {}: [\n", table.replace(['\n', '\r'], "")),
        )
        .unwrap();
        let bad = run(vec!["schema".into(), "check".into()]);
        prop_assert_eq!(bad.status.code(), Some(1), "{}", stdout(&bad));
        clean("schema error", &stderr(&bad))?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// An error that shows a diff of schemas (baseline's nearest version, h9_05) keeps the diff's
    /// line breaks, one line per line of SQL, while a name's own controls, its newlines too,
    /// stay escaped inside its quotes: a name adds no line to the diff.
    #[test]
    fn a_diff_in_an_error_keeps_its_lines_and_escapes_names(table in name()) {
        let dir = empty_project();
        let q = format!("\"{}\"", table.replace('"', "\"\""));
        std::fs::write(
            dir.path().join("migrations/V1__init.sql"),
            format!("CREATE TABLE {q} (id INTEGER PRIMARY KEY, v TEXT);\n"),
        )
        .unwrap();
        Connection::open(dir.path().join("db.sqlite"))
            .unwrap()
            .execute_batch(&format!("CREATE TABLE {q} (id INTEGER PRIMARY KEY, v TEXT, extra INT);"))
            .unwrap();
        for args in [&["baseline"][..], &["baseline", "--dry-run"][..]] {
            let out = schemactl(dir.path(), args);
            prop_assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
            let err = stderr(&out);
            clean("baseline error", &err)?;
            let lines: Vec<&str> = err.lines().map(|l| l.trim_start_matches([' ', '│', '×'])).collect();
            prop_assert!(lines.iter().any(|l| l.trim_end() == "+  extra INT"), "{}", err);
            prop_assert!(lines.iter().any(|l| l.trim_end() == "-  v TEXT"), "{}", err);
            // The table's CREATE line is one line: its name, escaped, and the open paren.
            let create = lines.iter().filter(|l| l.trim_start().starts_with("CREATE TABLE")).count();
            prop_assert_eq!(create, 1, "{}", err);
            prop_assert!(!lines.iter().any(|l| l.contains("\\n  ")), "{}", err);
        }
    }
}
