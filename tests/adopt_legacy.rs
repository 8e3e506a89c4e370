//! Adopting an application's database: whatever `import` writes loads, and plans "nothing to do"
//! on the database it came from; then a change syncs and rolls back with every row in place.
//!
//! The databases are random: tables with odd names (the empty name among them, for tables and
//! columns), tables an `exclude` glob leaves alone (with their indexes), views over managed
//! tables, over excluded ones (by name or as a `'string'`) and over views of either kind, and
//! triggers on excluded tables, on managed tables writing to excluded ones, and INSTEAD OF on
//! views (named like a table too: SQLite keeps triggers in their own namespace). A view that
//! reads an excluded table, directly or through views, is left alone with it (and named by
//! import's note); the test decides which ones from how it built them.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use proptest::prelude::*;
use rusqlite::Connection;
use rusqlite::types::Value;
use schemactl::sql::quote_ident as q;

use common::catalog::catalog;
use common::{ok_in, schemactl, stderr, stdout};

/// Names for managed tables, triggers and columns: the empty name, spaces, quotes, a keyword,
/// non-ASCII, brackets.
const NAMES: &[&str] = &["", "t", "my t", "a\"b", "select", "ü", "x]y", "T2", "order"];

/// How a view is built.
#[derive(Debug, Clone)]
enum ViewKind {
    /// Reads managed table `i`.
    Managed(usize),
    /// Joins managed table `i` with excluded table `j`.
    Join(usize, usize),
    /// Reads excluded table `j`, named as a string (`FROM 'name'`).
    Excluded(usize),
    /// Reads the earlier view `k` (when there is one).
    Over(usize),
}

/// How a trigger is built.
#[derive(Debug, Clone)]
enum TriggerKind {
    /// After an insert into excluded table `j`, updates managed table `i`.
    OnExcluded(usize, usize),
    /// After an insert into managed table `i`, writes to excluded table `j`.
    WritesExcluded(usize, usize),
    /// INSTEAD OF an insert into view `k`.
    OnView(usize),
}

#[derive(Debug, Clone)]
struct Legacy {
    prefix: String,
    upper_pattern: bool,
    /// Managed tables: (name, odd column name).
    tables: Vec<(String, String)>,
    excluded: Vec<String>,
    views: Vec<ViewKind>,
    /// Triggers: (name from NAMES, kind).
    triggers: Vec<(usize, TriggerKind)>,
    /// Add a column (native) rather than change a collation (rebuild).
    add_column: bool,
}

fn legacy() -> impl Strategy<Value = Legacy> {
    let tables = proptest::sample::subsequence((0..NAMES.len()).collect::<Vec<_>>(), 1..=3)
        .prop_flat_map(|picked| {
            let n = picked.len();
            (
                Just(picked),
                proptest::collection::vec(0..NAMES.len(), n..=n),
            )
        })
        .prop_map(|(picked, cols)| {
            picked
                .into_iter()
                .zip(cols)
                .map(|(t, c)| {
                    // The odd column must not be `id` or `v` (case-insensitively).
                    (NAMES[t].to_string(), NAMES[c].to_string())
                })
                .collect::<Vec<_>>()
        });
    (
        "[a-z]{1,3}_",
        any::<bool>(),
        tables,
        proptest::collection::btree_set("[a-z]{1,4}", 1..=2),
        proptest::collection::vec(
            prop_oneof![
                (0..3usize).prop_map(ViewKind::Managed),
                (0..3usize, 0..2usize).prop_map(|(i, j)| ViewKind::Join(i, j)),
                (0..2usize).prop_map(ViewKind::Excluded),
                (0..4usize).prop_map(ViewKind::Over),
            ],
            0..=4,
        ),
        proptest::collection::vec(
            (
                0..NAMES.len(),
                prop_oneof![
                    (0..2usize, 0..3usize).prop_map(|(j, i)| TriggerKind::OnExcluded(j, i)),
                    (0..3usize, 0..2usize).prop_map(|(i, j)| TriggerKind::WritesExcluded(i, j)),
                    (0..4usize).prop_map(TriggerKind::OnView),
                ],
            ),
            0..=3,
        ),
        any::<bool>(),
    )
        .prop_map(
            |(prefix, upper_pattern, tables, excluded, views, triggers, add_column)| {
                let excluded = excluded
                    .into_iter()
                    .map(|e| format!("{prefix}{e}"))
                    .collect();
                Legacy {
                    prefix,
                    upper_pattern,
                    tables,
                    excluded,
                    views,
                    triggers,
                    add_column,
                }
            },
        )
}

/// What the test built: the DDL, and the views left alone (by name).
struct Built {
    ddl: String,
    /// Every view's name, and whether it reads an excluded table.
    views: Vec<(String, bool)>,
    /// Names of the triggers left alone (on a view left alone).
    unmanaged_triggers: Vec<String>,
}

fn build(l: &Legacy) -> Built {
    let mut ddl = String::new();
    for (i, (t, col)) in l.tables.iter().enumerate() {
        let col = if ["id", "v"].contains(&col.to_ascii_lowercase().as_str()) {
            format!("{col}{i}")
        } else {
            col.clone()
        };
        ddl.push_str(&format!(
            "CREATE TABLE {} (id INTEGER PRIMARY KEY, v TEXT, {} INT);\n",
            q(t),
            q(&col)
        ));
        ddl.push_str(&format!(
            "INSERT INTO {} VALUES (1, 'a', 10), (2, 'B', NULL), (5, NULL, -3);\n",
            q(t)
        ));
    }
    for e in &l.excluded {
        ddl.push_str(&format!(
            "CREATE TABLE {e} (id INTEGER PRIMARY KEY, tid INT, note TEXT);\n\
             CREATE INDEX {e}_tid ON {e} (tid);\n\
             INSERT INTO {e} VALUES (1, 1, 'n1'), (2, 5, 'n2');\n"
        ));
    }
    let table = |i: usize| q(&l.tables[i % l.tables.len()].0);
    let excluded = |j: usize| l.excluded[j % l.excluded.len()].clone();
    let mut views: Vec<(String, bool)> = Vec::new();
    for (n, kind) in l.views.iter().enumerate() {
        let name = format!("w{n} \"v\"");
        let (select, reads_excluded) = match kind {
            ViewKind::Managed(i) => (format!("SELECT id, v FROM {}", table(*i)), false),
            ViewKind::Join(i, j) => (
                format!(
                    "SELECT t.id, t.v, e.note FROM {} AS t JOIN {} AS e ON e.tid = t.id",
                    table(*i),
                    excluded(*j)
                ),
                true,
            ),
            ViewKind::Excluded(j) => (format!("SELECT * FROM '{}'", excluded(*j)), true),
            ViewKind::Over(k) if !views.is_empty() => {
                let (over, reads) = views[k % views.len()].clone();
                (format!("SELECT * FROM {}", q(&over)), reads)
            }
            ViewKind::Over(i) => (format!("SELECT v FROM {}", table(*i)), false),
        };
        ddl.push_str(&format!("CREATE VIEW {} AS {select};\n", q(&name)));
        views.push((name, reads_excluded));
    }
    let mut unmanaged_triggers = Vec::new();
    let mut used: Vec<String> = Vec::new();
    for (n, (name, kind)) in l.triggers.iter().enumerate() {
        let mut name = NAMES[*name].to_string();
        if used.iter().any(|u| u.eq_ignore_ascii_case(&name)) {
            name = format!("{name} #{n}");
        }
        used.push(name.clone());
        let body = match kind {
            TriggerKind::OnExcluded(j, i) => format!(
                "AFTER INSERT ON {} BEGIN UPDATE {} SET v = v || '+' WHERE id = new.tid; END",
                excluded(*j),
                table(*i)
            ),
            TriggerKind::WritesExcluded(i, j) => format!(
                "AFTER INSERT ON {} BEGIN INSERT INTO {}(tid, note) VALUES (new.id, 'x'); END",
                table(*i),
                excluded(*j)
            ),
            TriggerKind::OnView(k) if !views.is_empty() => {
                let (view, reads) = &views[k % views.len()];
                if *reads {
                    unmanaged_triggers.push(name.clone());
                }
                format!(
                    "INSTEAD OF INSERT ON {} BEGIN UPDATE {} SET v = 'i' WHERE id = 1; END",
                    q(view),
                    table(0)
                )
            }
            TriggerKind::OnView(i) => {
                format!("AFTER DELETE ON {} BEGIN SELECT old.id; END", table(*i))
            }
        };
        ddl.push_str(&format!("CREATE TRIGGER {} {body};\n", q(&name)));
    }
    Built {
        ddl,
        views,
        unmanaged_triggers,
    }
}

/// Every row of every table (excluded ones included), with its rowid, restricted to the
/// columns `columns` gives for it (the columns before the change), in rowid order.
fn rows(db: &Path, columns: &BTreeMap<String, Vec<String>>) -> BTreeMap<String, Vec<Vec<Value>>> {
    let conn = Connection::open(db).unwrap();
    columns
        .iter()
        .map(|(t, cols)| {
            let list: Vec<String> = cols.iter().map(|c| q(c)).collect();
            let sql = format!(
                "SELECT rowid, {} FROM {} ORDER BY rowid",
                list.join(", "),
                q(t)
            );
            let mut stmt = conn.prepare(&sql).unwrap();
            let n = stmt.column_count();
            let rows = stmt
                .query_map([], |r| (0..n).map(|i| r.get::<_, Value>(i)).collect())
                .unwrap()
                .collect::<Result<Vec<Vec<Value>>, _>>()
                .unwrap();
            (t.clone(), rows)
        })
        .collect()
}

/// Every user table's columns.
fn columns(db: &Path) -> BTreeMap<String, Vec<String>> {
    let conn = Connection::open(db).unwrap();
    let tables: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_schemactl%' ESCAPE '\\'",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    tables
        .into_iter()
        .map(|t| {
            let cols: Vec<String> = conn
                .prepare("SELECT name FROM pragma_table_xinfo(?1)")
                .unwrap()
                .query_map([&t], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            (t, cols)
        })
        .collect()
}

/// The SQL of the views and triggers named, as sqlite_schema holds it.
fn objects_sql(db: &Path, names: &[String]) -> Vec<(String, String)> {
    let conn = Connection::open(db).unwrap();
    names
        .iter()
        .map(|n| {
            let sql: String = conn
                .query_row(
                    "SELECT sql FROM sqlite_schema WHERE name = ?1 AND type IN ('view', 'trigger')",
                    [n],
                    |r| r.get(0),
                )
                .unwrap_or_else(|e| panic!("{n} is gone: {e}"));
            (n.clone(), sql)
        })
        .collect()
}

/// Every view answers a query.
fn views_answer(db: &Path, views: &[(String, bool)]) {
    let conn = Connection::open(db).unwrap();
    for (v, _) in views {
        conn.query_row(&format!("SELECT count(*) FROM {}", q(v)), [], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap_or_else(|e| panic!("view {v}: {e}"));
    }
}

fn plans_nothing(dir: &Path, context: &str) {
    let out = schemactl(dir, &["plan"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{context}: plan: {}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stdout(&out).contains("nothing to do"),
        "{context}: plan: {}",
        stdout(&out)
    );
}

fn adopt_change_and_roll_back(l: &Legacy) {
    let dir = common::temp_dir();
    let p = dir.path();
    std::fs::create_dir_all(p.join("schema")).unwrap();
    let pattern = format!("{}*", l.prefix);
    let pattern = if l.upper_pattern {
        pattern.to_uppercase()
    } else {
        pattern
    };
    std::fs::write(
        p.join("schemactl.toml"),
        format!("database = \"db.sqlite\"\nbackups = \"backups\"\nexclude = [\"{pattern}\"]\n"),
    )
    .unwrap();
    let built = build(l);
    let db = p.join("db.sqlite");
    Connection::open(&db)
        .unwrap()
        .execute_batch(&built.ddl)
        .unwrap_or_else(|e| panic!("{e}\n{}", built.ddl));

    // Import: the views that read an excluded table are left out, each named.
    let out = schemactl(p, &["import", "--out", "schema/app.yaml"]);
    assert!(out.status.success(), "import: {}", stderr(&out));
    let notes = stderr(&out);
    assert!(
        !notes.contains("warning"),
        "import warns: {notes}\n{}",
        built.ddl
    );
    let unmanaged: Vec<String> = built
        .views
        .iter()
        .filter(|(_, reads)| *reads)
        .map(|(v, _)| v.clone())
        .collect();
    for v in &unmanaged {
        assert!(
            notes.contains(&format!("view {} reads", q(v))),
            "import names the view {v} it leaves out: {notes}\n{}",
            built.ddl
        );
    }
    for t in &built.unmanaged_triggers {
        assert!(
            notes.contains(&format!("trigger {} is on view", q(t))),
            "import names the trigger {t} it leaves out: {notes}\n{}",
            built.ddl
        );
    }
    let context = format!("schema:\n{}\ndatabase:\n{}", built.ddl, notes);
    plans_nothing(p, &format!("after import\n{context}"));

    // A change to a managed table: a native ADD COLUMN, or a rebuild.
    let yaml = std::fs::read_to_string(p.join("schema/app.yaml")).unwrap();
    let changed = if l.add_column {
        yaml.replacen(
            "      v: { type: TEXT }\n",
            "      v: { type: TEXT }\n      added: { type: TEXT }\n",
            1,
        )
    } else {
        yaml.replacen("v: { type: TEXT }", "v: { type: TEXT, collate: NOCASE }", 1)
    }
    .replacen("version: 1\n", "version: 2\n", 1);
    assert_ne!(changed, yaml, "the change applies to the imported file");
    std::fs::write(p.join("schema/app.yaml"), changed).unwrap();

    let left_alone: Vec<String> = unmanaged
        .iter()
        .chain(&built.unmanaged_triggers)
        .cloned()
        .collect();
    let cols = columns(&db);
    let rows_before = rows(&db, &cols);
    let alone_before = objects_sql(&db, &left_alone);
    let catalog_before = catalog(&Connection::open(&db).unwrap());

    let out = schemactl(p, &["sync", "--yes"]);
    assert!(
        out.status.success(),
        "sync: {}{}\n{context}",
        stdout(&out),
        stderr(&out)
    );
    assert_eq!(
        rows(&db, &cols),
        rows_before,
        "sync keeps every row\n{context}"
    );
    assert_eq!(
        objects_sql(&db, &left_alone),
        alone_before,
        "sync leaves alone what reads an excluded table\n{context}"
    );
    views_answer(&db, &built.views);
    plans_nothing(p, &format!("after sync\n{context}"));

    let out = schemactl(p, &["rollback", "last", "--yes"]);
    assert!(
        out.status.success(),
        "rollback: {}{}\n{context}",
        stdout(&out),
        stderr(&out)
    );
    assert_eq!(
        rows(&db, &cols),
        rows_before,
        "rollback keeps every row\n{context}"
    );
    assert_eq!(
        objects_sql(&db, &left_alone),
        alone_before,
        "rollback leaves alone what reads an excluded table\n{context}"
    );
    assert_eq!(
        catalog(&Connection::open(&db).unwrap()),
        catalog_before,
        "rollback brings the catalog back\n{context}"
    );
    views_answer(&db, &built.views);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// import → plan "nothing to do" → a change → sync → rollback, rows equal throughout, on
    /// random legacy databases.
    #[test]
    fn a_legacy_database_adopts_changes_and_rolls_back(l in legacy()) {
        adopt_change_and_roll_back(&l);
    }
}

/// h9_08: a view joining a managed table with an excluded one.
#[test]
fn a_view_over_an_excluded_table_is_left_alone() {
    let l = Legacy {
        prefix: "legacy_".into(),
        upper_pattern: false,
        tables: vec![("t".into(), "n".into())],
        excluded: vec!["legacy_audit".into()],
        views: vec![
            ViewKind::Join(0, 0),
            ViewKind::Over(0),
            ViewKind::Managed(0),
        ],
        triggers: vec![
            (1, TriggerKind::OnView(0)),
            (2, TriggerKind::WritesExcluded(0, 0)),
            (3, TriggerKind::OnExcluded(0, 0)),
        ],
        add_column: false,
    };
    adopt_change_and_roll_back(&l);
}

/// h9_04: a table and a column named with the empty string, and a trigger named like its table.
#[test]
fn empty_names_and_a_trigger_named_like_its_table_adopt() {
    let l = Legacy {
        prefix: "legacy_".into(),
        upper_pattern: true,
        tables: vec![("".into(), "".into()), ("t".into(), "".into())],
        excluded: vec!["legacy_a".into()],
        views: vec![ViewKind::Managed(0)],
        triggers: vec![(1, TriggerKind::WritesExcluded(1, 0))],
        add_column: true,
    };
    adopt_change_and_roll_back(&l);
}

/// h9_04's other shape: `CREATE TABLE x AS SELECT ... AS ""`, without any exclude list.
#[test]
fn a_column_named_empty_by_create_table_as_adopts() {
    let dir = common::empty_project();
    let p = dir.path();
    Connection::open(p.join("db.sqlite"))
        .unwrap()
        .execute_batch(
            "CREATE TABLE s (a, b); INSERT INTO s VALUES (1, 'x');
             CREATE TABLE x AS SELECT a, max(b) AS \"\" FROM s GROUP BY a;",
        )
        .unwrap();
    ok_in(p, &["import", "--out", "schema/app.yaml"]);
    plans_nothing(p, "a column named \"\"");
}

/// A foreign key to an excluded table and an fts5 table over one stay managed, and load.
#[test]
fn a_key_and_an_fts_table_over_an_excluded_table_adopt() {
    let dir = common::empty_project();
    let p = dir.path();
    std::fs::write(
        p.join("schemactl.toml"),
        "database = \"db.sqlite\"\nbackups = \"backups\"\nexclude = [\"legacy_*\"]\n",
    )
    .unwrap();
    Connection::open(p.join("db.sqlite"))
        .unwrap()
        .execute_batch(
            "CREATE TABLE legacy_x (id INTEGER PRIMARY KEY, body TEXT);
             CREATE TABLE t (id INTEGER PRIMARY KEY, lid INT REFERENCES legacy_x(id), v TEXT);
             CREATE VIRTUAL TABLE f USING fts5(body, content='legacy_x', content_rowid='id');
             INSERT INTO legacy_x VALUES (1, 'hello'); INSERT INTO t VALUES (1, 1, 'a');",
        )
        .unwrap();
    ok_in(p, &["import", "--out", "schema/app.yaml"]);
    let yaml = std::fs::read_to_string(p.join("schema/app.yaml")).unwrap();
    assert!(
        yaml.contains("legacy_x(id)") && yaml.contains("f:"),
        "{yaml}"
    );
    plans_nothing(p, "a key and an fts table over an excluded table");
}

/// A shape the loader refuses stops the import, naming it, with the way out, and writes
/// nothing; excluding the table then adopts the rest.
#[test]
fn import_refuses_what_its_loader_refuses_and_writes_nothing() {
    let dir = common::empty_project();
    let p = dir.path();
    Connection::open(p.join("db.sqlite"))
        .unwrap()
        .execute_batch(
            "CREATE TABLE odd (id INTEGER PRIMARY KEY, _schemactl_rowid INT);
             CREATE TABLE t (a TEXT);",
        )
        .unwrap();
    let out = schemactl(p, &["import", "--out", "schema/app.yaml"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("_schemactl_rowid") && err.contains("exclude"),
        "{err}"
    );
    assert!(!p.join("schema/app.yaml").exists());
    std::fs::write(
        p.join("schemactl.toml"),
        "database = \"db.sqlite\"\nbackups = \"backups\"\nexclude = [\"odd\"]\n",
    )
    .unwrap();
    ok_in(p, &["import", "--out", "schema/app.yaml"]);
    plans_nothing(p, "the odd table excluded");
}
