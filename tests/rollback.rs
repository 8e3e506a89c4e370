//! `schemactl rollback` as a process: by name and version, --cascade all or nothing, and
//! lossless rollback of dropped columns and tables.

mod common;

use std::path::PathBuf;
use std::process::Output;

use assert_cmd::Command;
use rusqlite::Connection;

struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new() -> Self {
        let dir = common::project_dir("database = \"memory.db\"\nbackups = \"backups\"\n");
        let p = Project { dir };
        let out = p.run(&["apply", "--yes"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        p.conn()
            .execute_batch(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50)
                 INSERT INTO patterns (id, type, pattern_data, confidence, created_at, last_used, category)
                   SELECT 'p' || i, 'kind', 'data', 0.5, '2026-01-01', 'used-' || i, 'cat-' || i FROM n;
                 INSERT INTO pattern_embeddings SELECT id, zeroblob(16), 4, created_at FROM patterns;
                 WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20)
                 INSERT INTO metrics_log (metric_name, metric_value, timestamp) SELECT 'm' || i, i, 'now' FROM n;
                 DELETE FROM metrics_log WHERE id > 15;",
            )
            .unwrap();
        p
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut cmd = Command::cargo_bin("schemactl").unwrap();
        cmd.current_dir(self.dir.path())
            .env_remove("SCHEMACTL_DATABASE")
            .env("NO_COLOR", "1");
        cmd.args(args).output().unwrap()
    }

    fn ok(&self, args: &[&str]) {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn conn(&self) -> Connection {
        Connection::open(self.path("memory.db")).unwrap()
    }

    fn rows(&self, sql: &str) -> Vec<String> {
        let conn = self.conn();
        let mut stmt = conn.prepare(sql).unwrap();
        stmt.query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    }

    fn versions(&self) -> Vec<i32> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare("SELECT version FROM _schemactl_history ORDER BY version")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    }

    fn edit_schema(&self, edit: impl Fn(String) -> String) {
        let path = self.path("schema/memory.yaml");
        let text = std::fs::read_to_string(&path).unwrap();
        let edited = edit(text.clone());
        assert_ne!(text, edited, "the edit must apply");
        std::fs::write(path, edited).unwrap();
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

const ALL_PATTERNS: &str = "SELECT id || '|' || ifnull(last_used, 'NULL') || '|' || ifnull(category, 'NULL') FROM patterns ORDER BY id";

#[test]
fn v2_rolls_back_by_name_and_by_version_without_touching_embeddings() {
    for target in ["add_pattern_category", "V2", "2"] {
        let p = Project::new();
        let embeddings = p.rows("SELECT pattern_id FROM pattern_embeddings ORDER BY pattern_id");
        let before = schemactl::inspect(&p.conn()).unwrap();
        let categories = p.rows(ALL_PATTERNS);
        // V2 added `category`, which now holds values: rolling it back is destructive.
        let out = p.run(&["rollback", target, "--cascade", "--yes"]);
        assert_eq!(out.status.code(), Some(1), "{target}");
        assert!(
            stderr(&out).contains("the rollback drops data")
                && stderr(&out).contains("column patterns.category (50 value(s))"),
            "{}",
            stderr(&out)
        );
        assert_eq!(p.versions(), [1, 2, 3], "{target}: nothing was rolled back");
        assert_eq!(schemactl::inspect(&p.conn()).unwrap(), before);
        // V3 (an index) came later: --cascade rolls it back first.
        p.ok(&[
            "rollback",
            target,
            "--cascade",
            "--allow-destructive",
            "--yes",
        ]);
        assert_eq!(p.versions(), [1], "{target}");
        assert_eq!(
            p.rows("SELECT pattern_id FROM pattern_embeddings ORDER BY pattern_id"),
            embeddings,
            "{target}"
        );
        let v1 = schemactl::migrations::expected_schema(
            &schemactl::migrations::load(&p.path("migrations"), &p.path("rollbacks")).unwrap()[..1],
        )
        .unwrap();
        assert_eq!(schemactl::inspect(&p.conn()).unwrap(), v1, "{target}");
        assert_ne!(before, v1);
        // And it applies again, every category back in its own row.
        p.ok(&["apply", "--yes"]);
        assert_eq!(p.versions(), [1, 2, 3]);
        assert_eq!(p.rows(ALL_PATTERNS), categories, "{target}");
        assert_eq!(schemactl::inspect(&p.conn()).unwrap(), before);
        assert!(
            p.rows(
                "SELECT name FROM sqlite_schema WHERE name LIKE '\\_schemactl\\_stash%' ESCAPE '\\'"
            )
            .is_empty(),
            "the rollback stash is freed"
        );
    }
    // `last` is V3 alone.
    let p = Project::new();
    p.ok(&["rollback", "last", "--yes"]);
    assert_eq!(p.versions(), [1, 2]);
}

#[test]
fn later_migrations_are_refused_without_cascade() {
    let p = Project::new();
    let out = p.run(&["rollback", "V1", "--yes"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(
            "later migrations are applied: V3__add_trajectory_type_index, V2__add_pattern_category"
        ),
        "{}",
        stderr(&out)
    );
    assert_eq!(p.versions(), [1, 2, 3]);
}

#[test]
fn a_dropped_column_comes_back_with_its_data() {
    let p = Project::new();
    p.edit_schema(|s| common::without_last_used(&s));
    let before = p.rows(ALL_PATTERNS);
    let schema_before = schemactl::inspect(&p.conn()).unwrap();
    p.ok(&["sync", "--yes", "--allow-destructive"]);
    assert!(
        p.rows("SELECT name FROM pragma_table_info('patterns')")
            .iter()
            .all(|c| c != "last_used")
    );
    // Life goes on: a row is added, one deleted.
    p.conn().execute_batch("INSERT INTO patterns (id, type, pattern_data, created_at, category) VALUES ('new', 't', 'd', 'now', 'c'); DELETE FROM pattern_embeddings WHERE pattern_id = 'p7'; DELETE FROM patterns WHERE id = 'p7';").unwrap();
    p.ok(&["rollback", "last", "--yes"]);
    assert_eq!(schemactl::inspect(&p.conn()).unwrap(), schema_before);
    let mut expected: Vec<String> = before
        .into_iter()
        .filter(|r| !r.starts_with("p7|"))
        .collect();
    expected.push("new|NULL|c".into());
    expected.sort();
    let mut after = p.rows(ALL_PATTERNS);
    after.sort();
    assert_eq!(after, expected);
    assert!(
        p.rows(
            "SELECT name FROM sqlite_schema WHERE name LIKE '\\_schemactl\\_stash%' ESCAPE '\\'"
        )
        .is_empty(),
        "the stash is freed"
    );
}

#[test]
fn a_dropped_table_comes_back_with_its_rows_and_counter() {
    let p = Project::new();
    p.edit_schema(|s| {
        let start = s.find("  metrics_log:").unwrap();
        s[..start].to_string()
    });
    let rows = p.rows("SELECT id || ':' || metric_name FROM metrics_log ORDER BY id");
    assert_eq!(rows.len(), 15);
    let schema_before = schemactl::inspect(&p.conn()).unwrap();
    p.ok(&["sync", "--yes", "--allow-destructive"]);
    assert!(
        p.rows("SELECT name FROM sqlite_schema WHERE name = 'metrics_log'")
            .is_empty()
    );
    p.ok(&["rollback", "last", "--yes"]);
    assert_eq!(schemactl::inspect(&p.conn()).unwrap(), schema_before);
    assert_eq!(
        p.rows("SELECT id || ':' || metric_name FROM metrics_log ORDER BY id"),
        rows
    );
    p.conn().execute("INSERT INTO metrics_log (metric_name, metric_value, timestamp) VALUES ('next', 1, 'now')", []).unwrap();
    assert_eq!(
        p.rows("SELECT CAST(max(id) AS TEXT) FROM metrics_log"),
        ["21"],
        "the AUTOINCREMENT counter came back too"
    );
}

#[test]
fn cascade_is_all_or_nothing_when_a_later_step_fails() {
    let p = Project::new();
    // V4 with a working reverse; then break V2's stored reverse.
    std::fs::write(
        p.path("migrations/V4__notes.sql"),
        "CREATE TABLE notes (body TEXT);\n",
    )
    .unwrap();
    std::fs::write(p.path("rollbacks/V4__notes.sql"), "DROP TABLE notes;\n").unwrap();
    p.ok(&["apply", "--yes"]);
    p.conn()
        .execute("INSERT INTO notes VALUES ('keep me')", [])
        .unwrap();
    p.conn().execute("UPDATE _schemactl_migrations SET reverse = 'DROP INDEX idx_patterns_category; SELECT no_such_function();' WHERE version = 2", []).unwrap();
    let schema = schemactl::inspect(&p.conn()).unwrap();
    let out = p.run(&["rollback", "V2", "--cascade", "--yes"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no such function: no_such_function"),
        "{}",
        stderr(&out)
    );
    assert_eq!(p.versions(), [1, 2, 3, 4], "nothing was rolled back");
    assert_eq!(schemactl::inspect(&p.conn()).unwrap(), schema);
    assert_eq!(p.rows("SELECT body FROM notes"), ["keep me"]);
    // Skipping the rehearsal, the live run fails the same way and changes nothing.
    let out = p.run(&[
        "rollback",
        "V2",
        "--cascade",
        "--yes",
        "--skip-rehearsal",
        "--skip-backup",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(p.versions(), [1, 2, 3, 4]);
    assert_eq!(schemactl::inspect(&p.conn()).unwrap(), schema);
}

#[test]
fn a_migration_without_any_reverse_is_refused() {
    let p = Project::new();
    std::fs::write(
        p.path("migrations/V4__no_reverse.sql"),
        "CREATE TABLE x (a);\n",
    )
    .unwrap();
    p.ok(&["apply", "--yes"]);
    let out = p.run(&["rollback", "V4", "--yes"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("V4__no_reverse has no reverse"),
        "{}",
        stderr(&out)
    );
    assert_eq!(p.versions(), [1, 2, 3, 4]);
}

#[test]
fn stashes_are_listed_sized_shown_in_plan_and_can_be_dropped() {
    let p = Project::new();
    p.edit_schema(|s| common::without_last_used(&s));
    // plan shows the estimated stash size: 50 values of 'used-N' (6 or 7 bytes) plus keys.
    let out = p.run(&["plan"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("drop column patterns.last_used [destructive] (stash for rollback: about"),
        "{text}"
    );
    let out = p.run(&["plan", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let step = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stash"].is_object())
        .unwrap()
        .clone();
    let values: i64 = (1..=50)
        .map(|i: i64| format!("used-{i}").len() as i64)
        .sum();
    assert_eq!(step["stash_bytes"], serde_json::json!(values + 50 * 16));
    assert_eq!(step["stash"]["columns"], serde_json::json!(["last_used"]));

    p.ok(&["sync", "--yes", "--allow-destructive"]);
    let out = p.run(&["stash", "list", "--format", "json"]);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list[0]["version"], 4);
    assert_eq!(list[0]["rows"], 50);
    assert!(list[0]["bytes"].as_i64().unwrap() > 0);
    assert_eq!(list[0]["dropped"], false);

    p.ok(&["stash", "drop", "V4", "--yes"]);
    let out = p.run(&["stash", "list"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("V4: 0 row(s)"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // The rollback still runs, says it is lossy, and the column comes back empty.
    let out = p.run(&["rollback", "last", "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("warning: the stash of V4__sync_"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        p.rows("SELECT ifnull(last_used, 'NULL') FROM patterns WHERE id = 'p1'"),
        ["NULL"]
    );
    assert!(p.rows("SELECT name FROM sqlite_schema WHERE name LIKE '\\_schemactl\\_stash\\_4\\_%' ESCAPE '\\'").is_empty(), "the stash tables of V4 are gone");
    let out = p.run(&["stash", "drop", "V9", "--yes"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("V9 has no stash"));
}

#[test]
fn objects_added_by_hand_are_kept_or_the_rollback_refuses_naming_them() {
    let p = Project::new();
    p.edit_schema(|s| common::without_last_used(&s));
    p.ok(&["sync", "--yes", "--allow-destructive"]);
    // Added by hand after the migration: the reverse rebuilds `patterns`.
    p.conn()
        .execute_batch(
            "CREATE INDEX hand_idx ON patterns (type, created_at);
             CREATE TABLE hand_log (id TEXT);
             CREATE TRIGGER hand_trg AFTER UPDATE ON patterns BEGIN INSERT INTO hand_log VALUES (NEW.id); END;
             CREATE VIEW hand_view AS SELECT id, type FROM patterns;",
        )
        .unwrap();
    let hand = "SELECT type || ' ' || name || ' ' || sql FROM sqlite_schema WHERE name LIKE 'hand%' ORDER BY name";
    let objects = p.rows(hand);
    assert_eq!(objects.len(), 4);
    let out = p.run(&["rollback", "last", "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(p.rows(hand), objects, "every object added by hand is kept");
    assert!(
        p.rows("SELECT name FROM pragma_table_info('patterns')")
            .iter()
            .any(|c| c == "last_used")
    );
    // The trigger still fires on its table.
    p.conn()
        .execute("UPDATE patterns SET type = 'x' WHERE id = 'p1'", [])
        .unwrap();
    assert_eq!(p.rows("SELECT id FROM hand_log"), ["p1"]);

    // An index added by hand on a table the rollback drops cannot be kept: refused, named.
    std::fs::write(
        p.path("migrations/V5__notes.sql"),
        "CREATE TABLE notes (body TEXT);\n",
    )
    .unwrap();
    std::fs::write(p.path("rollbacks/V5__notes.sql"), "DROP TABLE notes;\n").unwrap();
    p.ok(&["apply", "--yes"]);
    p.conn()
        .execute_batch("CREATE INDEX hand_notes ON notes (body);")
        .unwrap();
    let schema = schemactl::inspect(&p.conn()).unwrap();
    let versions = p.versions();
    for extra in [&[][..], &["--allow-destructive"][..]] {
        let mut args = vec!["rollback", "V5", "--yes"];
        args.extend(extra);
        let out = p.run(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(
            stderr(&out)
                .contains("cannot create it again: index hand_notes on notes (no such table"),
            "{}",
            stderr(&out)
        );
        assert_eq!(p.versions(), versions);
        assert_eq!(schemactl::inspect(&p.conn()).unwrap(), schema);
    }
    p.conn().execute_batch("DROP INDEX hand_notes").unwrap();
    p.ok(&["rollback", "V5", "--yes"]);
}

#[test]
fn a_narrowed_column_comes_back_with_its_original_text() {
    let p = Project::new();
    p.conn()
        .execute_batch(
            "UPDATE patterns SET last_used = '007' WHERE id = 'p1';
             UPDATE patterns SET last_used = '1.50' WHERE id = 'p2';
             UPDATE patterns SET last_used = NULL WHERE id = 'p3';
             UPDATE patterns SET last_used = '12' WHERE id = 'p4';
             UPDATE patterns SET last_used = '0x10' WHERE id = 'p5';
             UPDATE patterns SET last_used = '008' WHERE id = 'p6';",
        )
        .unwrap();
    let before = p.rows(ALL_PATTERNS);
    let schema_before = schemactl::inspect(&p.conn()).unwrap();
    p.edit_schema(|s| {
        s.replace(
            "      last_used:    { type: TEXT }\n",
            "      last_used:    { type: INTEGER }\n",
        )
    });
    // The lint sees that INTEGER does not hold '007' as it is: the stash is what makes it safe.
    let out = p.run(&["sync", "--yes", "--allow-destructive"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("last_used INTEGER does not hold every value"));
    p.ok(&["sync", "--yes", "--allow-destructive", "--ignore-lint"]);
    let typed = "SELECT id || ':' || typeof(last_used) || ':' || ifnull(last_used, 'NULL') FROM patterns WHERE id IN ('p1', 'p2', 'p6') ORDER BY id";
    assert_eq!(
        p.rows(typed),
        ["p1:integer:7", "p2:real:1.5", "p6:integer:8"],
        "the migration narrowed the values"
    );
    // Life goes on: p6 is written since (its new value stays), a row is added, one deleted.
    p.conn().execute_batch(
        "UPDATE patterns SET last_used = 9 WHERE id = 'p6';
         INSERT INTO patterns (id, type, pattern_data, created_at, last_used, category) VALUES ('new', 't', 'd', 'now', 42, 'c');
         DELETE FROM pattern_embeddings WHERE pattern_id = 'p7'; DELETE FROM patterns WHERE id = 'p7';",
    )
    .unwrap();
    p.ok(&["rollback", "last", "--yes"]);
    assert_eq!(schemactl::inspect(&p.conn()).unwrap(), schema_before);
    let mut expected: Vec<String> = before
        .into_iter()
        .filter(|r| !r.starts_with("p7|"))
        .map(|r| {
            if r.starts_with("p6|") {
                r.replace("|008|", "|9|")
            } else {
                r
            }
        })
        .collect();
    expected.push("new|42|c".into());
    expected.sort();
    let mut after = p.rows(ALL_PATTERNS);
    after.sort();
    assert_eq!(
        after, expected,
        "every original text is back in its own row"
    );
    assert!(after.contains(&"p1|007|cat-1".to_string()));
    assert_eq!(
        p.rows("SELECT typeof(last_used) FROM patterns WHERE id IN ('p1', 'p2') ORDER BY id"),
        ["text", "text"]
    );
    assert!(
        p.rows(
            "SELECT name FROM sqlite_schema WHERE name LIKE '\\_schemactl\\_stash%' ESCAPE '\\'"
        )
        .is_empty(),
        "the stash is freed"
    );
}

#[test]
fn a_stash_that_finds_none_of_its_rows_is_refused_unless_lossy() {
    let p = Project::new();
    p.edit_schema(|s| common::without_last_used(&s));
    p.ok(&["sync", "--yes", "--allow-destructive"]);
    // Every row gets another rowid (as a one-table restore renumbering them would), with
    // the stash's deletion trigger gone (as after a later rebuild of the table).
    let trigger = p.rows("SELECT name FROM sqlite_schema WHERE type = 'trigger' AND name LIKE '\\_schemactl\\_stash\\_4\\_%' ESCAPE '\\'");
    // Its forget triggers: on delete, and on insert under a stashed identity.
    assert_eq!(trigger.len(), 2);
    p.conn()
        .execute_batch(&format!(
            "DROP TRIGGER \"{}\"; DROP TRIGGER \"{}\"; UPDATE patterns SET rowid = rowid + 1000;",
            trigger[0], trigger[1]
        ))
        .unwrap();
    let schema = schemactl::inspect(&p.conn()).unwrap();
    let all =
        "SELECT rowid || '|' || id || '|' || ifnull(category, 'NULL') FROM patterns ORDER BY id";
    let rows = p.rows(all);
    for extra in [&[][..], &["--allow-destructive"][..], &["--dry-run"][..]] {
        let mut args = vec!["rollback", "last", "--yes"];
        args.extend(extra);
        let out = p.run(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(
            stderr(&out).contains("of table \"patterns\" finds none of its 50 row(s)")
                && stderr(&out).contains("--lossy"),
            "{}",
            stderr(&out)
        );
        assert_eq!(p.versions(), [1, 2, 3, 4]);
        assert_eq!(schemactl::inspect(&p.conn()).unwrap(), schema);
        assert_eq!(p.rows(all), rows);
    }
    let out = p.run(&["rollback", "last", "--yes", "--lossy"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("warning: --lossy: stash"),
        "{}",
        stderr(&out)
    );
    assert_eq!(p.versions(), [1, 2, 3]);
    assert_eq!(
        p.rows("SELECT count(*) || '' FROM patterns WHERE last_used IS NULL"),
        ["50"],
        "nothing went to a wrong row"
    );
}

#[test]
fn after_stash_drop_a_fill_value_is_bound_never_spliced() {
    let p = Project::new();
    p.edit_schema(|s| s.replace("      pattern_data: { type: TEXT, not_null: true }\n", ""));
    p.ok(&["sync", "--yes", "--allow-destructive"]);
    p.ok(&["stash", "drop", "V4", "--yes"]);
    let schema = schemactl::inspect(&p.conn()).unwrap();
    let out = p.run(&["rollback", "last", "--yes"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("give the value with --fill patterns.pattern_data=VALUE"),
        "{}",
        stderr(&out)
    );
    // Bad fills: each named, nothing changed.
    for (fill, message) in [
        (
            &["--fill", "patterns.pattern_data"][..],
            "--fill patterns.pattern_data: expected table.column=VALUE",
        ),
        (
            &["--fill", "pattern_data=x"][..],
            "expected table.column=VALUE",
        ),
        (
            &[
                "--fill",
                "patterns.pattern_data=x",
                "--fill",
                "patterns.type=x",
            ][..],
            "the rollback brings back no column 'patterns'.'type'",
        ),
    ] {
        let mut args = vec!["rollback", "last", "--yes"];
        args.extend(fill);
        let out = p.run(&args);
        assert_eq!(out.status.code(), Some(1), "{fill:?}");
        assert!(stderr(&out).contains(message), "{fill:?}: {}", stderr(&out));
        assert_eq!(schemactl::inspect(&p.conn()).unwrap(), schema);
        assert_eq!(p.versions(), [1, 2, 3, 4]);
    }
    let hostile = "x'); DROP TABLE patterns; --";
    let fill = format!("patterns.pattern_data={hostile}");
    p.ok(&["rollback", "last", "--yes", "--fill", &fill]);
    assert_eq!(p.versions(), [1, 2, 3]);
    assert_eq!(
        p.rows("SELECT DISTINCT pattern_data FROM patterns"),
        [hostile],
        "every row holds the value as given"
    );
    assert_eq!(p.rows("SELECT count(*) || '' FROM patterns"), ["50"]);
}

#[test]
fn a_dropped_virtual_table_comes_back_with_its_rows() {
    let p = Project::new();
    let virtuals = "virtual_tables:\n  search:\n    sql: \"CREATE VIRTUAL TABLE search USING fts5(title, body UNINDEXED, tokenize = 'porter')\"\n  places:\n    sql: \"CREATE VIRTUAL TABLE places USING rtree(id, min_x, max_x)\"\n";
    p.edit_schema(|s| format!("{s}{virtuals}"));
    p.ok(&["sync", "--yes"]);
    p.conn()
        .execute_batch(
            "INSERT INTO search (rowid, title, body) VALUES (3, 'three', 'x'), (7, 'seven words', NULL);
             INSERT INTO places VALUES (5, 1.0, 2.0), (9, -3.5, 4.25);",
        )
        .unwrap();
    let search = "SELECT rowid || ':' || title || ':' || ifnull(body, 'NULL') FROM search WHERE search MATCH 'seven OR three' ORDER BY rowid";
    let places = "SELECT id || ':' || min_x || ':' || max_x FROM places ORDER BY id";
    let (s, r) = (p.rows(search), p.rows(places));
    assert_eq!(s.len(), 2);
    assert_eq!(r.len(), 2);
    let schema = schemactl::inspect(&p.conn()).unwrap();
    p.edit_schema(|s| s.replace(virtuals, ""));
    p.ok(&["sync", "--yes", "--allow-destructive"]);
    assert!(
        p.rows("SELECT name FROM sqlite_schema WHERE name IN ('search', 'places')")
            .is_empty()
    );
    p.ok(&["rollback", "last", "--yes"]);
    assert_eq!(schemactl::inspect(&p.conn()).unwrap(), schema);
    assert_eq!(p.rows(search), s, "the fts5 rows are back, searchable");
    assert_eq!(p.rows(places), r, "the rtree rows are back");
    assert!(
        p.rows(
            "SELECT name FROM sqlite_schema WHERE name LIKE '\\_schemactl\\_stash%' ESCAPE '\\'"
        )
        .is_empty(),
        "the stash is freed"
    );
}

#[test]
fn rollback_reports_in_json_what_it_would_drop_and_what_it_did() {
    let p = Project::new();
    let json = |out: &Output| -> serde_json::Value {
        assert!(out.status.success(), "{}", stderr(out));
        serde_json::from_slice(&out.stdout).expect("standard output is one JSON object")
    };
    // V2 added `category`, which holds 50 values: rolling it back (with V3) drops them.
    let args = ["rollback", "V2", "--cascade", "--format", "json"];
    let preview = json(&p.run(&[&args[..], &["--dry-run"]].concat()));
    assert_eq!(preview["command"], "rollback");
    assert_eq!(preview["dry_run"], true);
    assert_eq!(preview["ran"], serde_json::json!([]));
    assert_eq!(preview["version_before"], 3);
    assert_eq!(
        preview["pending"],
        serde_json::json!(["V3__add_trajectory_type_index", "V2__add_pattern_category"])
    );
    assert_eq!(
        preview["drops"],
        serde_json::json!(["column patterns.category (50 value(s))"])
    );
    assert_eq!(p.versions(), vec![1, 2, 3], "a dry run changes nothing");

    // Without --allow-destructive it is refused: nothing on standard output, the refusal on
    // standard error.
    let refused = p.run(&[&args[..], &["--yes"]].concat());
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        refused.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&refused.stdout)
    );
    assert!(
        stderr(&refused).contains("patterns.category"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(p.versions(), vec![1, 2, 3]);

    let done = json(&p.run(&[&args[..], &["--yes", "--allow-destructive"]].concat()));
    assert_eq!(done["dry_run"], false);
    assert_eq!(done["ran"], preview["pending"]);
    assert_eq!(done["pending"], serde_json::json!([]));
    assert_eq!(
        (
            done["version_before"].clone(),
            done["version_after"].clone()
        ),
        (serde_json::json!(3), serde_json::json!(1))
    );
    assert_eq!(done["drops"], preview["drops"]);
    assert_eq!(done["row_counts"]["patterns"], 50);
    let backup = PathBuf::from(done["backup"].as_str().expect("a backup was taken"));
    assert!(backup.is_file(), "{}", backup.display());
    assert_eq!(p.versions(), vec![1]);
}
