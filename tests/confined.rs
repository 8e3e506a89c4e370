//! A migration file whose text schemactl's lexer cannot read (an unterminated string after a
//! `COMMIT`) is split into statements by SQLite alone: no statement in it may end, open or
//! escape the migration's transaction, whatever it is (SQLite's authorizer judges each one as
//! it is prepared). The rows stay as they were, in the live database and in the safety copy
//! the rehearsal ran on (h19_02: a COMMIT committed the UPDATE before it into both).

mod common;

use std::path::Path;

use common::{empty_project, fails_in, ok_in, project_with_t};
use proptest::prelude::*;
use rusqlite::Connection;

/// The values of `t.v`, in id order.
fn values(path: &Path) -> Vec<String> {
    let conn = Connection::open(path).expect("open");
    let mut stmt = conn
        .prepare("SELECT v FROM t ORDER BY id")
        .expect("prepare");
    stmt.query_map([], |r| r.get(0))
        .expect("query")
        .collect::<rusqlite::Result<_>>()
        .expect("rows")
}

/// The backups in `dir/backups` (zstd-compressed copies).
fn backups(dir: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir.join("backups"))
        .expect("backups")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("zst"))
        .collect()
}

/// The values in each backup of `dir/backups` not in `before`.
fn backed_up(dir: &Path, before: &[std::path::PathBuf]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for path in backups(dir) {
        if before.contains(&path) {
            continue;
        }
        let bytes = zstd::stream::decode_all(std::fs::File::open(&path).expect("open backup"))
            .expect("decompress");
        let copy = dir.join("copy.db");
        std::fs::write(&copy, bytes).expect("write copy");
        out.push(values(&copy));
        std::fs::remove_file(&copy).expect("remove copy");
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn no_statement_escapes_the_transaction_however_the_text_lexes(
        control in prop::sample::select(vec![
            "COMMIT", "END", "end transaction", "ROLLBACK", "BEGIN", "SAVEPOINT s",
            "RELEASE s", "ATTACH 'other.db' AS other", "PRAGMA journal_mode = DELETE",
        ]),
        unreadable in prop::sample::select(vec![
            "INSERT INTO t VALUES (9, 'a typo: unterminated);",
            "SELECT \"unterminated name;",
            "SELECT [unterminated;",
        ]),
        rehearse in any::<bool>(),
    ) {
        let dir = project_with_t();
        let d = dir.path();
        std::fs::write(
            d.join("migrations/V2__hostile.sql"),
            format!("UPDATE t SET v = 'CHANGED';\n{control};\n{unreadable}\n"),
        ).expect("V2");
        let before = backups(d);
        let mut args = vec!["apply", "--yes", "--allow-destructive"];
        if !rehearse {
            args.push("--skip-rehearsal");
        }
        fails_in(d, &args, 1);
        let db = d.join("db.sqlite");
        prop_assert_eq!(values(&db), vec!["one".to_string(), "two".to_string()]);
        let copies = backed_up(d, &before);
        prop_assert_eq!(copies.len(), 1, "the safety copy of this run");
        for copy in copies {
            prop_assert_eq!(copy, vec!["one".to_string(), "two".to_string()]);
        }
        let out = ok_in(d, &["status", "--format", "json"]);
        prop_assert!(out.contains("\"pending\""), "{}", out);
        prop_assert!(!d.join("other.db").exists(), "nothing was attached");
    }
}

/// A statement that returns rows and that the loader lets through (a PRAGMA that reads) runs
/// to its end, and the statements after it run (h19_03: rusqlite's "Execute returned results"
/// stopped the migration); a SELECT after a WITH prefix is refused when the file is loaded, as
/// a SELECT is, naming its place.
#[test]
fn statements_that_return_rows() {
    let dir = empty_project();
    let d = dir.path();
    std::fs::write(
        d.join("migrations/V1__t.sql"),
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);\nPRAGMA table_info(t);\nINSERT INTO t VALUES (1, 'one');\n",
    )
    .expect("V1");
    ok_in(d, &["apply", "--yes"]);
    assert_eq!(values(&d.join("db.sqlite")), vec!["one".to_string()]);
    std::fs::write(
        d.join("migrations/V2__w.sql"),
        "UPDATE t SET v = 'two';\nWITH x AS (SELECT 1) SELECT * FROM x;\n",
    )
    .expect("V2");
    let err = fails_in(d, &["apply", "--yes"], 1);
    assert!(err.contains("V2__w.sql:2:22"), "{err}");
    assert_eq!(values(&d.join("db.sqlite")), vec!["one".to_string()]);
}

/// Every command that replays the migration files keeps them to its scratch database: an
/// ATTACH or VACUUM INTO in a file the loader cannot read reaches no other file, and not the
/// database given (h20_01: `baseline --dry-run` emptied another database and rewrote this
/// one).
#[test]
fn replays_reach_no_other_file() {
    let dir = empty_project();
    let d = dir.path();
    let make = |path: &Path| {
        let conn = Connection::open(path).expect("open");
        conn.execute_batch(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'one'), (2, 'two');",
        )
        .expect("build");
    };
    make(&d.join("db.sqlite"));
    make(&d.join("other.db"));
    std::fs::write(
        d.join("migrations/V1__t.sql"),
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);\n",
    )
    .expect("V1");
    let (other, this, new) = (d.join("other.db"), d.join("db.sqlite"), d.join("new.db"));
    std::fs::write(
        d.join("migrations/V2__hostile.sql"),
        format!(
            "CREATE TABLE z (a);\nATTACH '{}' AS o;\nDELETE FROM o.t;\nATTACH '{}' AS live;\nUPDATE live.t SET v = 'CHANGED';\nVACUUM INTO '{}';\nINSERT INTO z VALUES ('a typo: unterminated);\n",
            other.display(),
            this.display(),
            new.display()
        ),
    )
    .expect("V2");
    for args in [
        &["baseline", "--dry-run"][..],
        &["baseline", "--yes"],
        &["status"],
        &["drift"],
        &["plan"],
    ] {
        let _ = common::schemactl(d, args);
        let both = vec!["one".to_string(), "two".to_string()];
        assert_eq!(values(&other), both, "{args:?}: another database");
        assert_eq!(values(&this), both, "{args:?}: the database given");
        assert!(!new.exists(), "{args:?}: VACUUM INTO made a file");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// A PRAGMA that, once set, changes how the connection reads the schema or the rows is
    /// refused, in any spelling: the checks after the migration read through that connection
    /// (h23: case_sensitive_like hid a trigger on schemactl's table from its rule,
    /// writable_schema committed a schema the checks never read, ignore_check_constraints let
    /// the next migration break a CHECK). Nothing changes.
    #[test]
    fn pragmas_that_change_the_connection_are_refused(
        pragma in prop::sample::select(vec![
            "PRAGMA case_sensitive_like = ON",
            "PRAGMA writable_schema = ON",
            "pragma main.writable_schema=1",
            "PRAGMA ignore_check_constraints = 1",
            "PRAGMA recursive_triggers = ON",
            "PRAGMA \"query_only\" = 1",
            "PRAGMA reverse_unordered_selects = 1",
            "PRAGMA trusted_schema = 0",
            "PRAGMA schema_version = 99",
            "PRAGMA count_changes = ON",
            "PRAGMA hard_heap_limit = 200000",
            "PRAGMA soft_heap_limit = 100",
        ]),
    ) {
        let dir = project_with_t();
        let d = dir.path();
        std::fs::write(
            d.join("migrations/V2__p.sql"),
            format!("UPDATE t SET v = 'CHANGED';\n{pragma};\n"),
        ).expect("V2");
        let err = fails_in(d, &["apply", "--yes"], 1);
        prop_assert!(err.contains("refused"), "{}", err);
        prop_assert_eq!(values(&d.join("db.sqlite")), vec!["one".to_string(), "two".to_string()]);
    }
}

/// schemactl's records of what ran may be read by a migration, never written, dropped or
/// replaced (h22_04: `DELETE FROM _schemactl_history` applied, and the history no longer said
/// what ran), neither by its own statements nor by a trigger they fire; the run changes
/// nothing and says why.
#[test]
fn a_migration_cannot_write_schemactls_records() {
    for (i, sql) in [
        "DELETE FROM _schemactl_history;",
        "UPDATE main._schemactl_migrations SET forward = '';",
        "INSERT INTO _schemactl_history SELECT * FROM _schemactl_history;",
        "ALTER TABLE _schemactl_history RENAME TO h;",
        "CREATE TRIGGER wipe AFTER UPDATE ON t BEGIN DELETE FROM _schemactl_history; END;\nUPDATE t SET v = v;",
        // h26_04: a trigger left behind, which the application or a prune fires later.
        "CREATE TRIGGER later AFTER DELETE ON t BEGIN UPDATE _schemactl_history SET version = version + 100; END;",
        // h26_05: a rename names the new table nowhere SQLite's authorizer sees.
        "CREATE TEMP TABLE x (v);\nALTER TABLE temp.x RENAME TO _schemactl_history;",
    ]
    .iter()
    .enumerate()
    {
        let dir = project_with_t();
        let d = dir.path();
        let db = d.join("db.sqlite");
        let history = |db: &Path| -> String {
            Connection::open(db)
                .expect("open")
                .query_row(
                    "SELECT group_concat(version || name, ',') FROM _schemactl_history",
                    [],
                    |r| r.get(0),
                )
                .expect("history")
        };
        let before = history(&db);
        std::fs::write(
            d.join(format!("migrations/V2__records{i}.sql")),
            format!("ALTER TABLE t ADD COLUMN w TEXT;\n{sql}\n"),
        )
        .expect("V2");
        for flags in [&[][..], &["--skip-rehearsal"][..]] {
            let mut args = vec!["apply", "--yes", "--allow-destructive"];
            args.extend_from_slice(flags);
            let err = fails_in(d, &args, 1);
            assert!(err.contains("schemactl's own records"), "{sql}: {err}");
            assert_eq!(history(&db), before, "{sql}");
            assert_eq!(values(&db), ["one", "two"], "{sql}");
        }
    }
    // Reading them is a statement like another.
    let dir = project_with_t();
    let d = dir.path();
    std::fs::write(
        d.join("migrations/V2__read.sql"),
        "CREATE TABLE ran (n INTEGER);\nINSERT INTO ran SELECT count(*) FROM _schemactl_history;\n",
    )
    .expect("V2");
    ok_in(d, &["apply", "--yes"]);
    let ran: i64 = Connection::open(d.join("db.sqlite"))
        .expect("open")
        .query_row("SELECT n FROM ran", [], |r| r.get(0))
        .expect("ran");
    assert_eq!(ran, 1);
}

/// A trigger that only reads the records, dropped and made again with a body that writes them,
/// is a new trigger (h27_04: it was judged by its name, which had named the records before).
#[test]
fn a_trigger_remade_to_write_the_records_is_refused() {
    let dir = project_with_t();
    let d = dir.path();
    std::fs::write(
        d.join("migrations/V2__reader.sql"),
        "CREATE TABLE seen (n);\nCREATE TRIGGER tg AFTER DELETE ON t BEGIN INSERT INTO seen SELECT count(*) FROM _schemactl_history; END;\n",
    )
    .expect("V2");
    ok_in(d, &["apply", "--yes"]);
    std::fs::write(
        d.join("migrations/V3__writer.sql"),
        "DROP TRIGGER tg;\nCREATE TRIGGER tg AFTER DELETE ON t BEGIN UPDATE _schemactl_history SET version = version + 100; END;\n",
    )
    .expect("V3");
    let err = fails_in(d, &["apply", "--yes"], 1);
    assert!(err.contains("schemactl's own records"), "{err}");
    let sql: String = Connection::open(d.join("db.sqlite"))
        .expect("open")
        .query_row("SELECT sql FROM sqlite_schema WHERE name = 'tg'", [], |r| {
            r.get(0)
        })
        .expect("tg");
    assert!(sql.contains("INSERT INTO seen"), "{sql}");
}
