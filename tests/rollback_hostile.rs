//! What a hostile tester found in rollback and the stash (issue 15), each as a process run on
//! a real project in a temp dir: cascades whose newer reverse brings back what an older one
//! drops, the forget trigger of a stash made by a rebuild, seed rows on re-apply, reserved
//! column names, generated columns, contentless fts tables and VACUUM.

mod common;

use std::process::Output;

use rusqlite::Connection;

struct P {
    dir: tempfile::TempDir,
}

impl P {
    fn new() -> Self {
        let dir = common::temp_dir();
        for d in ["schema", "migrations", "rollbacks"] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        std::fs::write(
            dir.path().join("schemactl.toml"),
            "database = \"db.sqlite\"\nbackups = \"backups\"\n",
        )
        .unwrap();
        P { dir }
    }

    /// Writes the schema of version `n` and its migration.
    fn ver(&self, n: u32, tables: &str) {
        std::fs::write(
            self.dir.path().join("schema/s.yaml"),
            format!("schemactl: 1\nversion: {n}\n{tables}"),
        )
        .unwrap();
        self.ok(&["plan", "--write", &format!("v{n}")]);
    }

    fn run(&self, args: &[&str]) -> Output {
        common::schemactl(self.dir.path(), args)
    }

    /// Runs schemactl, asserts it succeeded, and returns what it printed (both streams).
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        let text = format!("{}{}", common::stdout(&out), common::stderr(&out));
        assert!(out.status.success(), "{args:?}: {text}");
        text
    }

    fn fails(&self, args: &[&str]) -> String {
        common::fails_in(self.dir.path(), args, 1)
    }

    fn conn(&self) -> Connection {
        Connection::open(self.dir.path().join("db.sqlite")).unwrap()
    }

    fn exec(&self, sql: &str) {
        self.conn().execute_batch(sql).unwrap();
    }

    /// Each row of `sql`, its columns joined by `|` (NULL as `NULL`).
    fn rows(&self, sql: &str) -> Vec<String> {
        let conn = self.conn();
        let mut stmt = conn.prepare(sql).unwrap();
        let n = stmt.column_count();
        stmt.query_map([], |r| {
            Ok((0..n)
                .map(|i| match r.get_ref(i).unwrap() {
                    rusqlite::types::ValueRef::Null => "NULL".to_string(),
                    rusqlite::types::ValueRef::Integer(v) => v.to_string(),
                    rusqlite::types::ValueRef::Real(v) => v.to_string(),
                    rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into(),
                    rusqlite::types::ValueRef::Blob(b) => format!("{b:?}"),
                })
                .collect::<Vec<_>>()
                .join("|"))
        })
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
    }

    fn file_bytes(&self) -> Vec<u8> {
        std::fs::read(self.dir.path().join("db.sqlite")).unwrap()
    }

    /// Applies the migrations written so far except those in `held` (moved aside and back).
    fn apply_without(&self, held: &[&str], args: &[&str]) -> String {
        let m = self.dir.path().join("migrations");
        let aside = self.dir.path().join("aside");
        std::fs::create_dir_all(&aside).unwrap();
        for h in held {
            std::fs::rename(m.join(h), aside.join(h)).unwrap();
        }
        let out = self.ok(args);
        for h in held {
            std::fs::rename(aside.join(h), m.join(h)).unwrap();
        }
        out
    }
}

const T_ID: &str = "tables:\n  t:\n    columns:\n      id: { type: INTEGER, primary_key: true }\n";

#[test]
fn a_cascade_gates_and_stashes_a_table_a_newer_reverse_brought_back() {
    let p = P::new();
    p.ver(1, T_ID);
    p.ver(
        2,
        &format!("{T_ID}  n:\n    columns:\n      id: {{ type: INTEGER, primary_key: true }}\n      v: {{ type: TEXT }}\n"),
    );
    p.ok(&["apply", "--yes"]);
    p.exec("INSERT INTO n VALUES (1, 'n1'), (2, 'n2')");
    p.ver(3, T_ID);
    p.ok(&["apply", "--yes", "--allow-destructive"]);
    let before = p.file_bytes();
    // Shown in the dry run, refused without --allow-destructive, nothing changed.
    let dry = p.ok(&["rollback", "--to", "1", "--dry-run"]);
    assert!(dry.contains("table n"), "{dry}");
    let err = p.fails(&["rollback", "--to", "1", "--yes"]);
    assert!(
        err.contains("drops data") && err.contains("table n"),
        "{err}"
    );
    assert_eq!(p.file_bytes(), before, "a refused rollback changes nothing");
    // Allowed: kept in a rollback stash, holding the rows V3's reverse brought back.
    p.ok(&["rollback", "--to", "1", "--yes", "--allow-destructive"]);
    assert_eq!(
        p.rows("SELECT id, v FROM _schemactl_stash_2_r1 ORDER BY id"),
        ["1|n1", "2|n2"]
    );
    // Applying V2 and V3 again and rolling back V3 brings them back.
    p.ok(&["apply", "--yes", "--allow-destructive"]);
    p.ok(&["rollback", "last", "--yes"]);
    assert_eq!(p.rows("SELECT id, v FROM n ORDER BY id"), ["1|n1", "2|n2"]);
}

#[test]
fn a_cascade_gates_and_stashes_a_column_a_newer_reverse_brought_back() {
    let p = P::new();
    p.ver(1, T_ID);
    p.ver(2, &format!("{T_ID}      x: {{ type: TEXT }}\n"));
    p.ok(&["apply", "--yes"]);
    p.exec("INSERT INTO t VALUES (1, 'x1'), (2, 'x2')");
    p.ver(3, T_ID);
    p.ok(&["apply", "--yes", "--allow-destructive"]);
    let err = p.fails(&["rollback", "--to", "1", "--yes"]);
    assert!(err.contains("column t.x"), "{err}");
    p.ok(&["rollback", "--to", "1", "--yes", "--allow-destructive"]);
    p.ok(&["apply", "--yes", "--allow-destructive"]);
    p.ok(&["rollback", "last", "--yes"]);
    assert_eq!(p.rows("SELECT id, x FROM t ORDER BY id"), ["1|x1", "2|x2"]);
}

#[test]
fn rollback_to_0_stashes_a_table_in_the_shape_its_reverse_finds() {
    let p = P::new();
    p.ver(
        1,
        "tables:\n  t:\n    columns:\n      id: { type: INTEGER, primary_key: true }\n      a: { type: TEXT }\n      b: { type: TEXT }\n",
    );
    p.ver(
        2,
        "tables:\n  t:\n    columns:\n      id: { type: INTEGER, primary_key: true }\n      b: { type: TEXT }\n",
    );
    p.apply_without(&["V2__v2.sql"], &["apply", "--yes"]);
    p.exec("INSERT INTO t VALUES (1, 'a1', 'b1'), (2, 'a2', 'b2')");
    p.ok(&["apply", "--yes", "--allow-destructive"]);
    p.ok(&["rollback", "--to", "0", "--yes", "--allow-destructive"]);
    assert_eq!(
        p.rows("SELECT id, a, b FROM _schemactl_stash_1_r1 ORDER BY id"),
        ["1|a1|b1", "2|a2|b2"],
        "the stash holds t as V1's reverse found it, with a back"
    );
    // Applying both again puts t back right after V1, so V2 stashes a again.
    let out = p.ok(&["apply", "--yes", "--allow-destructive"]);
    assert!(
        out.contains("restored table t from the rollback stash (2 row(s))"),
        "{out}"
    );
    assert_eq!(p.rows("SELECT id, b FROM t ORDER BY id"), ["1|b1", "2|b2"]);
    p.ok(&["rollback", "last", "--yes", "--allow-destructive"]);
    assert_eq!(
        p.rows("SELECT id, a, b FROM t ORDER BY id"),
        ["1|a1|b1", "2|a2|b2"]
    );
}

/// A stash made by a step that rebuilds its table keeps its forget trigger: a row deleted and
/// inserted again under the same key since the migration does not get the deleted row's value.
#[test]
fn a_stash_made_by_a_rebuild_keeps_its_forget_trigger() {
    let cases = [
        // Narrowing TEXT to INTEGER.
        (
            "      zip: { type: TEXT }\n",
            "      zip: { type: INTEGER }\n",
            "INSERT INTO t VALUES (1, '00123'), (2, '00456')",
            "DELETE FROM t WHERE id = 1; INSERT INTO t VALUES (1, 123)",
            "SELECT id, zip, typeof(zip) FROM t ORDER BY id",
            vec!["1|123|text", "2|00456|text"],
        ),
        // Dropping a column with a UNIQUE constraint.
        (
            "      email: { type: TEXT }\n    unique: [[email]]\n",
            "",
            "INSERT INTO t VALUES (1, 'alice@x'), (2, 'bob@x')",
            "DELETE FROM t WHERE id = 2; INSERT INTO t VALUES (2)",
            "SELECT id, email FROM t ORDER BY id",
            vec!["1|alice@x", "2|NULL"],
        ),
    ];
    for (v1, v2, seed, since, check, want) in cases {
        let p = P::new();
        p.ver(1, &format!("{T_ID}{v1}"));
        p.ok(&["apply", "--yes"]);
        p.exec(seed);
        p.ver(2, &format!("{T_ID}{v2}"));
        p.ok(&["apply", "--yes", "--allow-destructive"]);
        assert_eq!(
            p.rows("SELECT name FROM sqlite_schema WHERE type = 'trigger'"),
            [
                "_schemactl_stash_2_1_forget",
                "_schemactl_stash_2_1_forget_insert"
            ]
        );
        p.exec(since);
        p.ok(&["rollback", "last", "--yes", "--allow-destructive"]);
        assert_eq!(p.rows(check), want);
    }
}

#[test]
fn a_whole_table_stash_replaces_the_seed_rows_and_counts_true() {
    let p = P::new();
    p.ver(1, T_ID);
    p.ver(
        2,
        &format!("{T_ID}  s:\n    columns:\n      id: {{ type: INTEGER, primary_key: true }}\n      v: {{ type: TEXT }}\n"),
    );
    p.apply_without(&["V2__v2.sql"], &["apply", "--yes"]);
    // V2 seeds s.
    let m = p.dir.path().join("migrations/V2__v2.sql");
    let mut text = std::fs::read_to_string(&m).unwrap();
    text.push_str("\nINSERT INTO s VALUES (1, 'seed 1'), (2, 'seed 2');\n");
    std::fs::write(&m, text).unwrap();
    p.ok(&["apply", "--yes"]);
    p.exec(
        "DELETE FROM s WHERE id = 1; INSERT INTO s VALUES (1, 'app 1');
         UPDATE s SET v = 'app 2' WHERE id = 2; INSERT INTO s VALUES (3, 'app 3')",
    );
    p.ok(&["rollback", "last", "--yes", "--allow-destructive"]);
    let out = p.ok(&["apply", "--yes"]);
    assert!(
        out.contains("restored table s from the rollback stash (3 row(s))"),
        "{out}"
    );
    assert_eq!(
        p.rows("SELECT id, v FROM s ORDER BY id"),
        ["1|app 1", "2|app 2", "3|app 3"]
    );
}

#[test]
fn the_restore_counts_the_values_it_puts_back() {
    let p = P::new();
    p.ver(1, T_ID);
    p.ver(2, &format!("{T_ID}      c: {{ type: TEXT }}\n"));
    p.ok(&["apply", "--yes"]);
    p.exec("INSERT INTO t VALUES (1, 'c1'), (2, 'c2'), (3, 'c3')");
    p.ok(&["rollback", "last", "--yes", "--allow-destructive"]);
    p.exec("DELETE FROM t WHERE id = 3");
    let out = p.ok(&["apply", "--yes"]);
    assert!(
        out.contains("restored column t.c from the rollback stash (2 value(s))"),
        "{out}"
    );
}

#[test]
fn schemactl_column_names_are_reserved_and_never_stashed() {
    // In the schema files: a load error naming the place.
    let p = P::new();
    std::fs::write(
        p.dir.path().join("schema/s.yaml"),
        "schemactl: 1\nversion: 1\ntables:\n  t:\n    columns:\n      k: { type: TEXT, primary_key: true }\n      _schemactl_rowid: { type: TEXT }\n",
    )
    .unwrap();
    let err = p.fails(&["plan", "--write", "v1"]);
    assert!(
        err.contains("s.yaml:7:7") && err.contains("_schemactl_rowid") && err.contains("reserved"),
        "{err}"
    );
    // In a live table made by hand: a migration that would stash it is refused, and so is a
    // rollback that would.
    for column in ["_schemactl_rowid", "_schemactl_as_c"] {
        let p = P::new();
        p.ver(1, T_ID);
        p.ok(&["apply", "--yes"]);
        let m = p.dir.path().join("migrations/V2__by_hand.sql");
        std::fs::write(
            &m,
            format!("CREATE TABLE h (k TEXT PRIMARY KEY, {column} TEXT, c TEXT);\n"),
        )
        .unwrap();
        std::fs::write(
            p.dir.path().join("rollbacks/V2__by_hand.sql"),
            "DROP TABLE h;\n",
        )
        .unwrap();
        p.ok(&["apply", "--yes"]);
        p.exec(&format!(
            "INSERT INTO h (k, {column}, c) VALUES ('k1', 'secret', '007')"
        ));
        let before = p.file_bytes();
        let err = p.fails(&["rollback", "last", "--yes", "--allow-destructive"]);
        assert!(
            err.contains(column) && err.contains("rename the column"),
            "{err}"
        );
        assert_eq!(p.file_bytes(), before);
        assert_eq!(p.rows("SELECT k, c FROM h"), ["k1|007"]);
    }
}

#[test]
fn rolling_back_generated_to_regular_is_gated_stashed_and_brought_back() {
    let p = P::new();
    let gen_s = "      s: { type: TEXT, generated: { expr: \"upper(a)\", stored: true } }\n";
    p.ver(1, &format!("{T_ID}      a: {{ type: TEXT }}\n{gen_s}"));
    p.ok(&["apply", "--yes"]);
    p.exec("INSERT INTO t (id, a) VALUES (1, 'x'), (2, 'y')");
    p.ver(
        2,
        &format!("{T_ID}      a: {{ type: TEXT }}\n      s: {{ type: TEXT }}\n"),
    );
    p.ok(&["apply", "--yes"]);
    p.exec("UPDATE t SET s = 'written by app' WHERE id = 1");
    let dry = p.ok(&["rollback", "last", "--dry-run"]);
    assert!(dry.contains("column t.s (1 value(s))"), "{dry}");
    let err = p.fails(&["rollback", "last", "--yes"]);
    assert!(err.contains("column t.s"), "{err}");
    assert_eq!(p.rows("SELECT s FROM t WHERE id = 1"), ["written by app"]);
    p.ok(&["rollback", "last", "--yes", "--allow-destructive"]);
    assert_eq!(p.rows("SELECT s FROM t ORDER BY id"), ["X", "Y"]);
    p.ok(&["apply", "--yes"]);
    assert_eq!(
        p.rows("SELECT id, s FROM t ORDER BY id"),
        ["1|written by app", "2|Y"]
    );
}

#[test]
fn a_contentless_fts_table_is_said_lost_not_promised_back() {
    let p = P::new();
    p.ver(1, T_ID);
    p.ver(
        2,
        &format!("{T_ID}virtual_tables:\n  cl:\n    sql: \"CREATE VIRTUAL TABLE cl USING fts5(body, content='')\"\n"),
    );
    p.ok(&["apply", "--yes"]);
    p.exec("INSERT INTO cl (rowid, body) VALUES (1, 'secret words'), (2, 'more words')");
    let err = p.fails(&["rollback", "last", "--yes"]);
    assert!(err.contains("virtual table cl (2 row(s), LOST"), "{err}");
    let out = p.ok(&["rollback", "last", "--yes", "--allow-destructive"]);
    assert_eq!(
        p.rows(
            "SELECT name FROM sqlite_schema WHERE name LIKE '\\_schemactl\\_stash%' ESCAPE '\\'"
        ),
        Vec::<String>::new(),
        "{out}"
    );
    let out = p.ok(&["apply", "--yes"]);
    assert!(!out.contains("restored"), "{out}");
}

#[test]
fn a_stash_restore_fires_no_trigger() {
    let p = P::new();
    let audit = "  audit:\n    columns:\n      msg: { type: TEXT }\ntriggers:\n  t_audit:\n    sql: \"CREATE TRIGGER t_audit AFTER UPDATE ON t BEGIN INSERT INTO audit VALUES ('update ' || NEW.id); END\"\n";
    p.ver(1, &format!("{T_ID}{audit}"));
    p.ver(2, &format!("{T_ID}      x: {{ type: TEXT }}\n{audit}"));
    p.ok(&["apply", "--yes"]);
    p.exec("INSERT INTO t VALUES (1, 'x1'), (2, 'x2')");
    p.ok(&["rollback", "last", "--yes", "--allow-destructive"]);
    let out = p.ok(&["apply", "--yes"]);
    assert_eq!(out.matches("live restored column t.x").count(), 1, "{out}");
    assert_eq!(p.rows("SELECT id, x FROM t ORDER BY id"), ["1|x1", "2|x2"]);
    assert_eq!(p.rows("SELECT count(*) FROM audit"), ["0"]);
    assert_eq!(
        p.rows("SELECT name FROM sqlite_schema WHERE type = 'trigger'"),
        ["t_audit"]
    );
}

/// VACUUM renumbers the rowids of a table without an INTEGER PRIMARY KEY: `optimize
/// --vacuum` refuses while a stash finds rows of such a table by rowid, and a rollback after
/// an external VACUUM refuses rather than put values into other rows (or, with --lossy, puts
/// back only the values whose row it can still tell).
#[test]
fn vacuum_never_lets_a_stash_misplace_values() {
    let cases = [
        // No primary key at all.
        (
            "tables:\n  t:\n    columns:\n      name: { type: TEXT }\n      v: { type: TEXT }\n",
            "tables:\n  t:\n    columns:\n      name: { type: TEXT }\n",
            "INSERT INTO t VALUES ('a', 'va'), ('b', 'vb'), ('c', 'vc'), ('d', 'vd'), ('e', 've')",
            "DELETE FROM t WHERE name = 'b'",
            "SELECT name, v FROM t ORDER BY name",
            vec!["a|va", "c|NULL", "d|NULL", "e|NULL"],
        ),
        // V2 drops the INTEGER PRIMARY KEY.
        (
            "tables:\n  t:\n    columns:\n      id: { type: INTEGER, primary_key: true }\n      name: { type: TEXT }\n",
            "tables:\n  t:\n    columns:\n      name: { type: TEXT }\n",
            "INSERT INTO t VALUES (1, 'one'), (2, 'two'), (3, 'three'), (4, 'four')",
            "DELETE FROM t WHERE name = 'two'",
            // 'three' and 'four' moved: they get new ids, never another row's old one.
            "SELECT name, id FROM t WHERE id <= 4 ORDER BY id",
            vec!["one|1"],
        ),
    ];
    for (v1, v2, seed, delete, check, want) in cases {
        let p = P::new();
        p.ver(1, v1);
        p.ok(&["apply", "--yes"]);
        p.exec(seed);
        p.ver(2, v2);
        p.ok(&["apply", "--yes", "--allow-destructive"]);
        p.exec(delete);
        let before = p.file_bytes();
        let err = p.fails(&["optimize", "--vacuum"]);
        assert!(err.contains("_schemactl_stash_2_1 (table \"t\")"), "{err}");
        assert_eq!(p.file_bytes(), before, "a refused VACUUM changes nothing");
        // VACUUM from elsewhere: the rollback refuses, then --lossy misplaces nothing.
        p.exec("VACUUM");
        let vacuumed = p.file_bytes();
        let err = p.fails(&["rollback", "last", "--yes", "--allow-destructive"]);
        assert!(err.contains("renumbered by VACUUM"), "{err}");
        assert_eq!(p.file_bytes(), vacuumed);
        p.ok(&[
            "rollback",
            "last",
            "--yes",
            "--allow-destructive",
            "--lossy",
        ]);
        assert_eq!(p.rows(check), want);
    }
}

#[test]
fn fill_takes_quoted_names_and_suggests_a_flag_that_works() {
    let p = P::new();
    let tab =
        "tables:\n  \"my.tab\":\n    columns:\n      id: { type: INTEGER, primary_key: true }\n";
    p.ver(
        1,
        &format!("{tab}      \"v=1\": {{ type: TEXT, not_null: true }}\n"),
    );
    p.ok(&["apply", "--yes"]);
    p.exec("INSERT INTO \"my.tab\" VALUES (1, 'a'), (2, 'b')");
    p.ver(2, tab);
    p.ok(&["apply", "--yes", "--allow-destructive"]);
    p.ok(&["stash", "drop", "2", "--yes"]);
    let err = p.fails(&["rollback", "last", "--yes"]);
    let flag = "\"my.tab\".\"v=1\"=VALUE";
    assert!(err.contains(&format!("--fill {flag}")), "{err}");
    p.ok(&[
        "rollback",
        "last",
        "--yes",
        "--fill",
        &flag.replace("VALUE", "x"),
    ]);
    assert_eq!(
        p.rows("SELECT id, \"v=1\" FROM \"my.tab\" ORDER BY id"),
        ["1|x", "2|x"]
    );
}

#[test]
fn stash_drop_and_a_dry_run_create_nothing() {
    let p = P::new();
    let err = p.fails(&["stash", "drop", "1", "--yes"]);
    assert!(
        err.contains("db.sqlite") && err.contains("does not exist"),
        "{err}"
    );
    assert!(!p.dir.path().join("db.sqlite").exists());
    p.ver(1, T_ID);
    p.ok(&["apply", "--yes"]);
    let lock = p.dir.path().join("db.sqlite.schemactl-lock");
    let _ = std::fs::remove_file(&lock);
    let before = p.file_bytes();
    p.ok(&["rollback", "last", "--dry-run"]);
    assert!(!lock.exists(), "a dry run writes no lock file");
    assert_eq!(p.file_bytes(), before);
}

/// SQLite checks neither a trigger's body nor a view's columns at CREATE: one added by hand
/// that reads a column the rollback drops is refused by name, not created again broken.
#[test]
fn a_hand_made_trigger_or_view_reading_a_dropped_column_is_refused() {
    let log = "  log:\n    columns:\n      msg: { type: TEXT }\n";
    for (object, name) in [
        (
            "CREATE TRIGGER hand_log AFTER INSERT ON t BEGIN INSERT INTO log VALUES (NEW.x); END",
            "trigger hand_log on t",
        ),
        ("CREATE VIEW hand_v AS SELECT id, x FROM t", "view hand_v"),
    ] {
        let p = P::new();
        p.ver(1, &format!("{T_ID}{log}"));
        p.ver(2, &format!("{T_ID}      x: {{ type: TEXT }}\n{log}"));
        p.ok(&["apply", "--yes"]);
        p.exec(object);
        p.exec("INSERT INTO t VALUES (1, 'x1')");
        let before = p.file_bytes();
        let err = p.fails(&["rollback", "last", "--yes", "--allow-destructive"]);
        assert!(
            err.contains(name) && err.contains("no such column"),
            "{err}"
        );
        assert_eq!(p.file_bytes(), before);
    }
}

/// REPLACE deletes the row it replaces without firing delete triggers: the row it inserts
/// under the same key is new, and gets the default, not the replaced row's stashed value.
#[test]
fn a_row_replaced_since_the_migration_gets_no_stashed_value() {
    let p = P::new();
    let t = "tables:\n  t:\n    without_rowid: true\n    columns:\n      k: { type: TEXT, primary_key: true, not_null: true }\n";
    p.ver(1, &format!("{t}      c: {{ type: TEXT }}\n"));
    p.ok(&["apply", "--yes"]);
    p.exec("INSERT INTO t VALUES ('k1', 'c1'), ('k2', 'c2')");
    p.ver(2, t);
    p.ok(&["apply", "--yes", "--allow-destructive"]);
    p.exec("REPLACE INTO t (k) VALUES ('k1')");
    p.ok(&["rollback", "last", "--yes", "--allow-destructive"]);
    assert_eq!(
        p.rows("SELECT k, c FROM t ORDER BY k"),
        ["k1|NULL", "k2|c2"]
    );
}

/// The whole state of the project's tables `t` and `n`: each table's columns and rows.
fn snapshot(p: &P) -> Vec<String> {
    let mut out = Vec::new();
    for table in ["t", "n"] {
        let cols = p.rows(&format!("SELECT name FROM pragma_table_info('{table}')"));
        if cols.is_empty() {
            continue;
        }
        out.push(format!("{table}({})", cols.join(", ")));
        out.extend(
            p.rows(&format!("SELECT * FROM {table} ORDER BY id"))
                .into_iter()
                .map(|r| format!("{table}: {r}")),
        );
    }
    out
}

/// The schema of one version: `t(id)` with the columns `c1`, `c2` present in it, and table
/// `n` when present.
fn version_yaml(present: &[bool; 3]) -> String {
    let mut y = T_ID.to_string();
    for (i, c) in ["c1", "c2"].iter().enumerate() {
        if present[i] {
            y.push_str(&format!("      {c}: {{ type: TEXT }}\n"));
        }
    }
    if present[2] {
        y.push_str("  n:\n    columns:\n      id: { type: INTEGER, primary_key: true }\n      v: { type: TEXT }\n");
    }
    y
}

use proptest::prelude::*;

fn versions() -> impl Strategy<Value = (Vec<[bool; 3]>, usize)> {
    (
        prop::collection::vec(any::<[bool; 3]>(), 4)
            .prop_filter("each version changes something", |v| {
                v.windows(2).all(|w| w[0] != w[1])
            }),
        0usize..4,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Cascades: whatever columns and tables four migrations add and drop, and whatever is
    /// written between them, `rollback --to K` then `apply` gives back exactly the data before
    /// the rollback, and rolling back again gives exactly the data of the first rollback:
    /// nothing a newer reverse brought back is lost by an older one.
    #[test]
    fn a_cascade_and_its_reapply_lose_nothing((present, to) in versions()) {
        cascade(&present, to);
    }
}

/// The cascade property's case: versions 1..=4 of `present`, written between, then `rollback
/// --to to`, re-apply, and roll back again; each gives back exactly the data it should.
fn cascade(present: &[[bool; 3]], to: usize) {
    let p = P::new();
    for (i, v) in present.iter().enumerate() {
        let n = i as u32 + 1;
        p.ver(n, &version_yaml(v));
        p.ok(&["apply", "--yes", "--allow-destructive"]);
        let mut sql = format!("INSERT INTO t (id) VALUES ({n}0), ({n}1);");
        for (j, c) in ["c1", "c2"].iter().enumerate() {
            if v[j] {
                sql.push_str(&format!(
                    "UPDATE t SET {c} = '{c}-v{n}-' || id WHERE id % 3 != {};",
                    n % 3
                ));
            }
        }
        if v[2] {
            sql.push_str(&format!("INSERT INTO n VALUES ({n}0, 'n-v{n}');"));
        }
        p.exec(&sql);
    }
    let before = snapshot(&p);
    let to = to.to_string();
    p.ok(&["rollback", "--to", &to, "--yes", "--allow-destructive"]);
    let rolled_back = snapshot(&p);
    p.ok(&["apply", "--yes", "--allow-destructive"]);
    assert_eq!(snapshot(&p), before, "re-applied after rollback --to {to}");
    p.ok(&["rollback", "--to", &to, "--yes", "--allow-destructive"]);
    assert_eq!(snapshot(&p), rolled_back, "rolled back again to {to}");
}

/// The cascade property's case that the proof refused once it followed a table through every
/// rebuild of a batch: V4's reverse rebuilds t without c1, V3's reverse rebuilds it again with
/// c1 from V3's stash; the c1 after is a new column (the stash's values), not the c1 before.
#[test]
fn a_column_a_rebuild_drops_and_a_later_one_fills_from_its_stash_is_not_the_old_one() {
    let (y, n) = (true, false);
    cascade(&[[y, n, n], [y, y, n], [n, y, n], [y, y, n]], 1);
}
