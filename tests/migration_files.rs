//! Hand-written migration and rollback files, as an operator writes them: statements that
//! would break the all-or-nothing run are refused at load time with their place, data changes
//! are counted and gated, and a rollback that drops what its migration added is shown, gated
//! and stashed until the migration is applied again.

mod common;

use std::path::PathBuf;
use std::process::Output;

use assert_cmd::Command;
use rusqlite::Connection;

struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    /// The repository's V1 to V3 applied, with 50 patterns and 4,990 metrics.
    fn new() -> Self {
        let dir = common::project_dir("database = \"memory.db\"\nbackups = \"backups\"\n");
        let p = Project { dir };
        p.ok(&["apply", "--yes"]);
        p.conn()
            .execute_batch(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50)
                 INSERT INTO patterns (id, type, pattern_data, created_at, category)
                   SELECT 'p' || i, 'kind', 'data', '2026-01-01', 'cat-' || i FROM n;
                 WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 4990)
                 INSERT INTO metrics_log (metric_name, metric_value, timestamp) SELECT 'm', i, 'now' FROM n;",
            )
            .unwrap();
        p
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn write(&self, rel: &str, text: &str) {
        std::fs::write(self.path(rel), text).unwrap();
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut cmd = Command::cargo_bin("schemactl").unwrap();
        cmd.current_dir(self.dir.path())
            .env_remove("SCHEMACTL_DATABASE")
            .env("NO_COLOR", "1");
        cmd.args(args).output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    /// Runs a command that must fail with status 1 and change nothing; returns its stderr.
    fn refused(&self, args: &[&str]) -> String {
        let before = self.snapshot();
        let out = self.run(args);
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert_eq!(self.snapshot(), before, "{args:?} changed nothing");
        err
    }

    fn conn(&self) -> Connection {
        Connection::open(self.path("memory.db")).unwrap()
    }

    fn count(&self, sql: &str) -> i64 {
        self.conn().query_row(sql, [], |r| r.get(0)).unwrap()
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

    /// The schema, the history and every table's rows (hidden bookkeeping tables included).
    fn snapshot(&self) -> (schemactl::Schema, Vec<String>) {
        let conn = self.conn();
        let names: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite%' AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        let mut rows = Vec::new();
        for n in names {
            let cols: Vec<String> = conn
                .prepare("SELECT name FROM pragma_table_info(?1)")
                .unwrap()
                .query_map([&n], |r| r.get::<_, String>(0))
                .unwrap()
                .map(|c| format!("quote(\"{}\")", c.unwrap()))
                .collect();
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {} FROM \"{n}\" ORDER BY 1",
                    cols.join(" || ',' || ")
                ))
                .unwrap();
            let lines: Vec<String> = stmt
                .query_map([], |r| r.get::<_, String>(0))
                .unwrap()
                .map(|l| format!("{n}: {}", l.unwrap()))
                .collect();
            rows.extend(lines);
        }
        (schemactl::inspect(&conn).unwrap(), rows)
    }
}

#[test]
fn transaction_control_in_a_file_is_refused_at_load_time_with_its_place() {
    let cases = [
        ("ROLLBACK;", 3, 1),
        ("  COMMIT; BEGIN;", 3, 3),
        ("END;", 3, 1),
        ("SAVEPOINT s;", 3, 1),
        ("RELEASE s;", 3, 1),
        ("VACUUM;", 3, 1),
        ("ATTACH 'other.db' AS other;", 3, 1),
        ("DETACH other;", 3, 1),
        ("PRAGMA journal_mode = DELETE;", 3, 8),
        ("SELECT count(*) FROM notes;", 3, 1),
    ];
    for (bad, line, column) in cases {
        for dir in ["migrations", "rollbacks"] {
            let p = Project::new();
            p.write(
                "migrations/V4__notes.sql",
                "CREATE TABLE notes (body TEXT);\nINSERT INTO notes VALUES ('a');\n",
            );
            p.write("rollbacks/V4__notes.sql", "DROP TABLE notes;\n");
            p.write(
                &format!("{dir}/V4__notes.sql"),
                &format!(
                    "CREATE TABLE notes (body TEXT);\nINSERT INTO notes VALUES ('a');\n{bad}\n"
                ),
            );
            let backups = || std::fs::read_dir(p.path("backups")).map_or(0, |d| d.count());
            let backups_before = backups();
            let err = p.refused(&["apply", "--yes"]);
            let place = format!("{dir}/V4__notes.sql:{line}:{column}");
            assert!(err.contains(&place), "{bad} in {dir}: {err}");
            assert_eq!(p.versions(), [1, 2, 3], "{bad}");
            assert_eq!(backups(), backups_before, "{bad}: no backup is taken");
        }
    }
}

#[test]
fn a_stored_reverse_with_transaction_control_is_refused_before_it_runs() {
    let p = Project::new();
    // A reverse kept by an older schemactl, ending the transaction in the middle.
    p.conn()
        .execute(
            "UPDATE _schemactl_migrations SET reverse = 'DROP INDEX idx_task_trajectories_type; COMMIT; BEGIN;' WHERE version = 3",
            [],
        )
        .unwrap();
    let backups = || std::fs::read_dir(p.path("backups")).map_or(0, |d| d.count());
    let backups_before = backups();
    let err = p.refused(&["rollback", "V3", "--yes"]);
    assert_eq!(backups(), backups_before, "refused before the backup");
    assert!(
        err.contains("_schemactl_migrations (reverse of V3__add_trajectory_type_index):1:")
            && err.contains("`COMMIT` controls the transaction"),
        "{err}"
    );
}

#[test]
fn a_delete_in_a_file_is_counted_and_needs_allow_destructive() {
    let p = Project::new();
    p.write(
        "migrations/V4__clear_metrics.sql",
        "DELETE FROM metrics_log;\n",
    );
    p.write(
        "rollbacks/V4__clear_metrics.sql",
        "CREATE TABLE IF NOT EXISTS unused (x);\nDROP TABLE unused;\n",
    );
    let err = p.refused(&["apply", "--yes"]);
    assert!(
        err.contains("rows would disappear") && err.contains("metrics_log: 4,990 → 0"),
        "{err}"
    );
    // Said once: the rehearsal's failure quotes its cause, and no layer of the chain
    // (refinery's wrapper included) repeats it.
    assert_eq!(err.matches("metrics_log: 4,990 → 0").count(), 1, "{err}");
    assert!(!err.contains("error applying migrations"), "{err}");
    assert_eq!(p.count("SELECT count(*) FROM metrics_log"), 4990);
    // Skipping the rehearsal, the live run checks the same.
    let err = p.refused(&["apply", "--yes", "--skip-rehearsal"]);
    assert!(err.contains("metrics_log: 4,990 → 0"), "{err}");
    assert_eq!(err.matches("metrics_log: 4,990 → 0").count(), 1, "{err}");
    let out = p.ok(&["apply", "--yes", "--allow-destructive"]);
    assert!(out.contains("rows: metrics_log: 4,990 → 0"), "{out}");
    // A count that changed is never called ok: the flag that let it through is named, and
    // the row-count line names the count the migration's own delete changed.
    assert!(
        out.contains("rows removed, allowed by --allow-destructive: metrics_log: 4,990 → 0"),
        "{out}"
    );
    assert!(!out.contains("row counts: ok"), "{out}");
    assert!(
        out.contains("changed by the migrations' own writes (or what their triggers and foreign keys reach): metrics_log: 4,990 → 0"),
        "{out}"
    );
    assert_eq!(p.count("SELECT count(*) FROM metrics_log"), 0);
}

#[test]
fn rolling_back_an_added_table_is_gated_and_applying_again_brings_its_rows_back() {
    let p = Project::new();
    p.write(
        "migrations/V4__notes.sql",
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);\nALTER TABLE patterns ADD COLUMN note TEXT;\n",
    );
    p.write(
        "rollbacks/V4__notes.sql",
        "ALTER TABLE patterns DROP COLUMN note;\nDROP TABLE notes;\n",
    );
    p.ok(&["apply", "--yes"]);
    p.conn()
        .execute_batch(
            "INSERT INTO notes (id, body) VALUES (1, 'one'), (5, 'five'), (9, 'nine');
             UPDATE patterns SET note = 'n-' || id WHERE rowid % 3 = 0;",
        )
        .unwrap();
    let before = p.snapshot();
    // Shown first.
    let out = p.ok(&["rollback", "V4", "--dry-run"]);
    assert!(
        out.contains("the rollback drops data [destructive]")
            && out.contains("table notes (3 row(s))")
            && out.contains("column patterns.note (16 value(s))"),
        "{out}"
    );
    // Refused without the flag, nothing changed.
    let err = p.refused(&["rollback", "V4", "--yes"]);
    assert!(err.contains("re-run with --allow-destructive"), "{err}");
    // Allowed: the rows and values go into the stash.
    p.ok(&["rollback", "V4", "--yes", "--allow-destructive"]);
    assert_eq!(p.versions(), [1, 2, 3]);
    let out = p.ok(&["stash", "list"]);
    // The 3 notes, and the note column of every one of the 50 patterns (NULLs included: a
    // re-applied default must not replace a NULL that was there).
    assert!(out.contains("V4: 53 row(s)"), "{out}");
    // Life goes on: a pattern added, one deleted.
    p.conn()
        .execute_batch(
            "INSERT INTO patterns (id, type, pattern_data, created_at) VALUES ('new', 't', 'd', 'now');
             DELETE FROM patterns WHERE id = 'p3';",
        )
        .unwrap();
    let out = p.ok(&["apply", "--yes"]);
    assert!(out.contains("restored table notes"), "{out}");
    let after = p.snapshot();
    assert_eq!(
        after.0, before.0,
        "the schema is the one before the rollback"
    );
    let expected: Vec<String> = before
        .1
        .iter()
        .filter(|r| !r.starts_with("_schemactl") && !r.starts_with("patterns: 'p3',"))
        .cloned()
        .collect();
    let got: Vec<String> = after
        .1
        .iter()
        .filter(|r| !r.starts_with("_schemactl") && !r.starts_with("patterns: 'new',"))
        .cloned()
        .collect();
    let missing: Vec<&String> = expected.iter().filter(|r| !got.contains(r)).collect();
    let extra: Vec<&String> = got.iter().filter(|r| !expected.contains(r)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "every note is back in its own row: missing {missing:?}, unexpected {extra:?}"
    );
    assert_eq!(got.len(), expected.len());
    assert_eq!(
        p.count("SELECT count(*) FROM patterns WHERE id = 'new' AND note IS NULL"),
        1,
        "a row inserted since gets the default"
    );
    assert_eq!(
        p.count("SELECT count(*) FROM sqlite_schema WHERE name LIKE '\\_schemactl\\_stash%' ESCAPE '\\' OR name = '_schemactl_rollback_stashes' AND EXISTS (SELECT 1 FROM _schemactl_rollback_stashes)"),
        0,
        "the rollback stash is freed"
    );
}

#[test]
fn rolling_back_everything_never_drops_every_table_silently() {
    let p = Project::new();
    let err = p.refused(&["rollback", "V1", "--cascade", "--yes"]);
    assert!(
        err.contains("table patterns (50 row(s))")
            && err.contains("table metrics_log (4990 row(s))"),
        "{err}"
    );
    assert_eq!(p.versions(), [1, 2, 3]);
}

#[test]
fn after_stash_drop_a_not_null_column_without_default_is_refused_before_anything() {
    let p = Project::new();
    let path = p.path("schema/memory.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let edited = text.replace("      pattern_data: { type: TEXT, not_null: true }\n", "");
    assert_ne!(text, edited);
    std::fs::write(&path, edited).unwrap();
    p.ok(&["sync", "--yes", "--allow-destructive"]);
    p.ok(&["stash", "drop", "V4", "--yes"]);
    let backups = || std::fs::read_dir(p.path("backups")).map_or(0, |d| d.count());
    let backups_before = backups();
    let err = p.refused(&["rollback", "last", "--yes", "--allow-destructive"]);
    assert!(
        err.contains("brings back column \"patterns\".\"pattern_data\", NOT NULL without a default, and its stash was dropped: nothing can fill its 50 row(s); nothing was changed"),
        "{err}"
    );
    assert_eq!(backups(), backups_before, "refused before the backup");
    assert_eq!(p.versions(), [1, 2, 3, 4]);
}

#[test]
fn an_added_virtual_table_comes_back_with_its_rows() {
    let p = Project::new();
    p.write(
        "migrations/V4__search.sql",
        "CREATE VIRTUAL TABLE search USING fts5(body);\n",
    );
    p.write("rollbacks/V4__search.sql", "DROP TABLE search;\n");
    p.ok(&["apply", "--yes"]);
    p.conn()
        .execute_batch(
            "INSERT INTO search (rowid, body) VALUES (3, 'three'), (7, 'seven words here');",
        )
        .unwrap();
    let err = p.refused(&["rollback", "V4", "--yes"]);
    assert!(err.contains("virtual table search (2 row(s))"), "{err}");
    p.ok(&["rollback", "V4", "--yes", "--allow-destructive"]);
    p.ok(&["apply", "--yes"]);
    let conn = p.conn();
    let rows: Vec<String> = conn
        .prepare("SELECT rowid || ':' || body FROM search WHERE search MATCH 'seven OR three' ORDER BY rowid")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(rows, ["3:three", "7:seven words here"]);
}

#[test]
fn a_failing_statement_is_numbered_from_one_and_named() {
    let p = Project::new();
    // The second statement fails when it runs (the key exists), not when it is prepared.
    p.write(
        "migrations/V4__dup.sql",
        "CREATE TABLE notes (body TEXT);\n-- a comment between\nINSERT INTO patterns (id, type, pattern_data, created_at) VALUES ('p1', 'k', 'd', 'now');\n",
    );
    p.write("rollbacks/V4__dup.sql", "DROP TABLE notes;\n");
    for flags in [
        &["apply", "--yes"][..],
        &["apply", "--yes", "--skip-rehearsal"],
    ] {
        let err = p.refused(flags);
        assert!(
            err.contains("statement 2 of migration V4__dup (")
                && err.contains("V4__dup.sql)")
                && err.contains(
                    "statement: INSERT INTO patterns (id, type, pattern_data, created_at) VALUES ('p1', 'k', 'd', 'now')"
                )
                && err.contains("UNIQUE constraint failed"),
            "{flags:?}: {err}"
        );
        assert!(!err.contains("step 0"), "{err}");
        assert_eq!(p.versions(), [1, 2, 3]);
    }
}

/// A database synced from `schema.yaml`: a bare folder, no migration files.
fn synced(ddl: &str, edit: impl Fn(&str) -> String) -> Project {
    let dir = common::temp_dir();
    std::fs::write(
        dir.path().join("schemactl.toml"),
        "database = \"memory.db\"\nbackups = \"backups\"\nschema = \"schema.yaml\"\n",
    )
    .unwrap();
    let p = Project { dir };
    p.conn().execute_batch(ddl).unwrap();
    p.ok(&["import", "--out", "schema.yaml"]);
    let text = std::fs::read_to_string(p.path("schema.yaml")).unwrap();
    let edited = edit(&text);
    assert_ne!(text, edited, "{text}");
    p.write("schema.yaml", &edited);
    p.ok(&["sync", "--yes", "--allow-destructive"]);
    p
}

#[test]
fn a_sync_that_dropped_an_integer_primary_key_rolls_back_with_every_id_on_its_row() {
    // app-chains finding 8: the stash keyed on the dropped key itself, and the rebuild
    // renumbered the rows; the rollback failed ("no such column: t.id").
    let p = synced(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT);
         INSERT INTO t VALUES (3, 'a'), (7, 'b'), (9, 'c');",
        |yaml| yaml.replacen("      id: { type: INTEGER, primary_key: true }\n", "", 1),
    );
    p.conn()
        .execute_batch("DELETE FROM t WHERE name = 'a'; INSERT INTO t (name) VALUES ('new');")
        .unwrap();
    // Bringing the column back drops nothing: no flag needed.
    p.ok(&["rollback", "last", "--yes"]);
    let rows: Vec<(i64, String)> = p
        .conn()
        .prepare("SELECT id, name FROM t ORDER BY name")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(rows[0], (7, "b".to_string()));
    assert_eq!(rows[1], (9, "c".to_string()));
    assert_eq!(rows[2].1, "new");
    assert!(rows[2].0 != 7 && rows[2].0 != 9, "{rows:?}");
    assert_eq!(rows.len(), 3);
}

#[test]
fn a_sync_that_dropped_an_integer_primary_key_rolls_back_on_an_empty_table() {
    let p = synced(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT);",
        |yaml| yaml.replacen("      id: { type: INTEGER, primary_key: true }\n", "", 1),
    );
    p.ok(&["rollback", "last", "--yes"]);
    let cols: Vec<String> = p
        .conn()
        .prepare("SELECT name FROM pragma_table_xinfo('t')")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(cols, ["id", "name"]);
}
