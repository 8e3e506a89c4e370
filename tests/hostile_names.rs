//! Names that try to escape their quoting (newlines, carriage returns, tabs, vertical tabs,
//! form feeds, quotes of every kind, `]`, `*/`, `--`, `;`, and whole injected statements)
//! through every renderer of SQL: `plan` (human, sql, json), `plan --write` (forward and
//! reverse files), `sync`, and `import`'s YAML read back. Each rendered SQL text is run on a
//! database with rows, and must change only what the plan says: the untouched table keeps
//! every row and value, the changed table keeps its rows (renamed column included), and the
//! schema is the declared one.

mod common;

use std::path::Path;
use std::process::Output;

use proptest::prelude::*;
use rusqlite::Connection;
use schemactl::sql::quote_ident as q;
use serde_json::json;

fn run(dir: &Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_schemactl"))
        .args(args)
        .current_dir(dir)
        .env_remove("SCHEMACTL_DATABASE")
        .output()
        .unwrap()
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = run(dir, args);
    assert!(
        out.status.success(),
        "{args:?}: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn project(dir: &Path) {
    for sub in ["schema", "migrations", "rollbacks"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    std::fs::write(
        dir.join("schemactl.toml"),
        "database = \"db.sqlite\"\nschema = \"schema\"\nmigrations = \"migrations\"\nrollbacks = \"rollbacks\"\nbackups = \"backups\"\n",
    )
    .unwrap();
}

/// The hostile names of one case, distinct by their prefix.
#[derive(Debug, Clone)]
struct Names {
    table: String,
    old: String,
    new: String,
    kept: String,
    dropped: String,
    added: String,
    index: String,
    view: String,
    trigger: String,
}

impl Names {
    fn from(parts: &[String]) -> Self {
        let n = |i: usize, prefix: &str| format!("{prefix}{}", parts[i % parts.len()]);
        Names {
            table: n(0, "t"),
            old: n(1, "o"),
            new: n(2, "n"),
            kept: n(3, "k"),
            dropped: n(4, "x"),
            added: n(5, "a"),
            index: n(6, "i"),
            view: n(7, "v"),
            trigger: n(8, "g"),
        }
    }
}

/// The current database: `keep` (untouched), and the hostile table with an index and a
/// trigger, three rows each.
fn current_sql(n: &Names) -> String {
    format!(
        "CREATE TABLE keep (id INTEGER PRIMARY KEY, note TEXT);
         INSERT INTO keep (note) VALUES ('k1'), ('k2'), ('k3');
         CREATE TABLE {t} (id INTEGER PRIMARY KEY, {o} TEXT, {k} TEXT, {x} TEXT);
         INSERT INTO {t} (id, {o}, {k}, {x}) VALUES (1, 'o1', 'k1', 'x1'), (2, 'o2', 'k2', 'x2'), (3, 'o3', 'k3', 'x3');
         CREATE INDEX {i} ON {t} ({k});
         {trigger};",
        t = q(&n.table),
        o = q(&n.old),
        k = q(&n.kept),
        x = q(&n.dropped),
        i = q(&n.index),
        trigger = trigger_sql(n),
    )
}

fn trigger_sql(n: &Names) -> String {
    format!(
        "CREATE TRIGGER {} AFTER INSERT ON {} BEGIN UPDATE keep SET note = note WHERE 0; END",
        q(&n.trigger),
        q(&n.table)
    )
}

/// The desired schema: the old column renamed (a hint), one dropped, one added (NOT NULL
/// with a default), a view and the trigger over the table; `rebuild` adds a CHECK, which
/// only a rebuild can make.
fn desired(n: &Names, rebuild: bool) -> serde_json::Value {
    let mut columns = serde_json::Map::new();
    columns.insert(
        "id".into(),
        json!({ "type": "INTEGER", "primary_key": true }),
    );
    columns.insert(
        n.new.clone(),
        json!({ "type": "TEXT", "renamed_from": n.old }),
    );
    let mut kept = json!({ "type": "TEXT" });
    if rebuild {
        kept["check"] = json!(format!("{} <> 'never'", q(&n.kept)));
    }
    columns.insert(n.kept.clone(), kept);
    columns.insert(
        n.added.clone(),
        json!({ "type": "TEXT", "not_null": true, "default": "d" }),
    );
    let mut indexes = serde_json::Map::new();
    indexes.insert(n.index.clone(), json!({ "columns": [q(&n.kept)] }));
    let mut tables = serde_json::Map::new();
    tables.insert(
        "keep".into(),
        json!({ "columns": { "id": { "type": "INTEGER", "primary_key": true }, "note": { "type": "TEXT" } } }),
    );
    tables.insert(
        n.table.clone(),
        json!({ "columns": columns, "indexes": indexes }),
    );
    let mut views = serde_json::Map::new();
    views.insert(
        n.view.clone(),
        json!({ "sql": format!("SELECT id, {} FROM {}", q(&n.new), q(&n.table)) }),
    );
    let mut triggers = serde_json::Map::new();
    triggers.insert(n.trigger.clone(), json!({ "sql": trigger_sql(n) }));
    json!({ "schemactl": 1, "version": 2, "tables": tables, "views": views, "triggers": triggers })
}

fn rows(conn: &Connection, sql: &str) -> Vec<Vec<String>> {
    let mut stmt = conn.prepare(sql).unwrap();
    let width = stmt.column_count();
    stmt.query_map([], |r| {
        Ok((0..width)
            .map(|i| match r.get::<_, rusqlite::types::Value>(i).unwrap() {
                rusqlite::types::Value::Null => "NULL".into(),
                rusqlite::types::Value::Integer(v) => v.to_string(),
                rusqlite::types::Value::Text(t) => t,
                other => format!("{other:?}"),
            })
            .collect())
    })
    .unwrap()
    .map(|r| r.unwrap())
    .collect()
}

fn objects(conn: &Connection) -> Vec<Vec<String>> {
    rows(
        conn,
        "SELECT type, name FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' AND name NOT LIKE '_schemactl%' ORDER BY type, name",
    )
}

/// Checks that `conn` holds the desired state: `keep` untouched, the table's rows with the
/// renamed column's values under its new name, the added column at its default, and exactly
/// the declared objects.
fn assert_desired(conn: &Connection, n: &Names, what: &str) {
    assert_eq!(
        rows(conn, "SELECT id, note FROM keep ORDER BY id"),
        vec![vec!["1", "k1"], vec!["2", "k2"], vec!["3", "k3"]],
        "{what}: keep changed"
    );
    let got = rows(
        conn,
        &format!(
            "SELECT id, {}, {}, {} FROM {} ORDER BY id",
            q(&n.new),
            q(&n.kept),
            q(&n.added),
            q(&n.table)
        ),
    );
    let want: Vec<Vec<String>> = (1..=3)
        .map(|i| vec![i.to_string(), format!("o{i}"), format!("k{i}"), "d".into()])
        .collect();
    assert_eq!(got, want, "{what}: rows of the table changed");
    let mut want_objects = vec![
        vec!["index".to_string(), n.index.clone()],
        vec!["table".into(), "keep".into()],
        vec!["table".into(), n.table.clone()],
        vec!["trigger".into(), n.trigger.clone()],
        vec!["view".into(), n.view.clone()],
    ];
    want_objects.sort();
    assert_eq!(objects(conn), want_objects, "{what}: objects");
}

/// Checks that `conn` is back in the current state, every value included.
fn assert_current(conn: &Connection, n: &Names, what: &str) {
    assert_eq!(
        rows(conn, "SELECT id, note FROM keep ORDER BY id"),
        vec![vec!["1", "k1"], vec!["2", "k2"], vec!["3", "k3"]],
        "{what}: keep changed"
    );
    let got = rows(
        conn,
        &format!(
            "SELECT id, {}, {}, {} FROM {} ORDER BY id",
            q(&n.old),
            q(&n.kept),
            q(&n.dropped),
            q(&n.table)
        ),
    );
    let want: Vec<Vec<String>> = (1..=3)
        .map(|i| {
            vec![
                i.to_string(),
                format!("o{i}"),
                format!("k{i}"),
                format!("x{i}"),
            ]
        })
        .collect();
    assert_eq!(got, want, "{what}: rows of the table");
}

fn copy_db(dir: &Path, name: &str) -> Connection {
    let path = dir.join(name);
    std::fs::copy(dir.join("db.sqlite"), &path).unwrap();
    Connection::open(path).unwrap()
}

/// Runs every renderer on one set of names.
fn through_every_renderer(n: &Names, rebuild: bool) {
    let tmp = common::temp_dir();
    let dir = tmp.path();
    project(dir);
    {
        let conn = Connection::open(dir.join("db.sqlite")).unwrap();
        conn.execute_batch(&current_sql(n)).unwrap();
    }

    // import reads the hostile names from the live database; its YAML loads back to the same
    // schema (plan --check finds nothing), and plan --write makes V1 from it.
    let imported = ok(dir, &["import", "--schema-version", "1"]);
    std::fs::write(dir.join("schema/s.yaml"), &imported).unwrap();
    let check = run(dir, &["plan", "--check"]);
    assert_eq!(check.status.code(), Some(0), "import round trip: {check:?}");
    ok(dir, &["plan", "--write", "v1"]);

    std::fs::write(
        dir.join("schema/s.yaml"),
        serde_json::to_string_pretty(&desired(n, rebuild)).unwrap(),
    )
    .unwrap();

    // plan (human) renders; plan --format sql runs as is.
    ok(dir, &["plan", "--no-lint"]);
    let script = ok(dir, &["plan", "--format", "sql"]);
    let conn = copy_db(dir, "script.sqlite");
    conn.execute_batch(&script).unwrap();
    assert_desired(&conn, n, "plan --format sql");

    // plan --format json: the forward statements, then the reverse ones.
    let plan: serde_json::Value =
        serde_json::from_str(&ok(dir, &["plan", "--format", "json"])).unwrap();
    let steps = plan["steps"].as_array().unwrap();
    let statements = |key: &str, order: &mut dyn Iterator<Item = &serde_json::Value>| {
        order
            .flat_map(|s| s[key].as_array().unwrap().clone())
            .map(|s| format!("{};\n", s.as_str().unwrap()))
            .collect::<String>()
    };
    let conn = copy_db(dir, "json.sqlite");
    conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
    conn.execute_batch(&format!(
        "BEGIN;\n{}COMMIT;",
        statements("forward", &mut steps.iter())
    ))
    .unwrap();
    assert_desired(&conn, n, "plan --format json (forward)");
    conn.execute_batch(&format!(
        "BEGIN;\n{}COMMIT;",
        statements("reverse", &mut steps.iter().rev())
    ))
    .unwrap();
    let back = rows(
        &conn,
        &format!("SELECT id, {} FROM {} ORDER BY id", q(&n.old), q(&n.table)),
    );
    assert_eq!(back.len(), 3, "plan --format json (reverse)");

    // plan --write: the forward file and its rollback, with the stash of the dropped column.
    ok(dir, &["plan", "--write", "v2"]);
    let forward = std::fs::read_to_string(dir.join("migrations/V2__v2.sql")).unwrap();
    let reverse = std::fs::read_to_string(dir.join("rollbacks/V2__v2.sql")).unwrap();
    let needs = schemactl::migrations::needs(&forward);
    assert!(needs.destructive, "the file drops a column:\n{forward}");
    assert_eq!(needs.foreign_keys_off, rebuild, "{forward}");
    if rebuild {
        assert_eq!(needs.check, Some(vec![]), "no table has foreign keys");
    }
    let conn = copy_db(dir, "file.sqlite");
    conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
    conn.execute_batch(&format!("BEGIN;\n{forward}\nCOMMIT;"))
        .unwrap();
    assert_desired(&conn, n, "plan --write (forward file)");
    conn.execute_batch(&format!("BEGIN;\n{reverse}\nCOMMIT;"))
        .unwrap();
    assert_current(&conn, n, "plan --write (rollback file)");
    std::fs::remove_file(dir.join("migrations/V2__v2.sql")).unwrap();
    std::fs::remove_file(dir.join("rollbacks/V2__v2.sql")).unwrap();
    std::fs::remove_file(dir.join("migrations/V1__v1.sql")).unwrap();
    std::fs::remove_file(dir.join("rollbacks/V1__v1.sql")).unwrap();

    // sync, then nothing is left to plan, and import reads back the same schema.
    ok(
        dir,
        &["sync", "--yes", "--allow-destructive", "--skip-backup"],
    );
    let conn = Connection::open(dir.join("db.sqlite")).unwrap();
    assert_desired(&conn, n, "sync");
    drop(conn);
    let check = run(dir, &["plan", "--check"]);
    assert_eq!(
        check.status.code(),
        Some(0),
        "re-plan after sync: {check:?}"
    );
    let imported = ok(dir, &["import", "--schema-version", "2"]);
    std::fs::write(dir.join("schema/s.yaml"), &imported).unwrap();
    let check = run(dir, &["plan", "--check"]);
    assert_eq!(check.status.code(), Some(0), "import after sync: {check:?}");
}

/// One hostile fragment: control characters, quotes, comment and statement delimiters, or an
/// injected statement.
fn fragment() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "a",
        "B",
        "_",
        " ",
        "\n",
        "\r",
        "\r\n",
        "\t",
        "\x0b",
        "\x0c",
        "\"",
        "'",
        "`",
        "]",
        "[",
        "*/",
        "/*",
        "--",
        ";",
        "\\",
        "é",
        "\u{2028}",
        "\nDELETE FROM keep;\n--",
        "*/ DELETE FROM keep; /*",
        "\n-- step 9 [safe]: x\n",
        "\n-- schemactl: foreign-keys off; check: keep\n",
    ])
    .prop_map(str::to_string)
}

fn hostile() -> impl Strategy<Value = String> {
    prop::collection::vec(fragment(), 1..5).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Random hostile names through every renderer: the SQL changes only what the plan says.
    #[test]
    fn hostile_names_change_only_what_the_plan_says(
        parts in prop::collection::vec(hostile(), 9),
        rebuild in any::<bool>(),
    ) {
        through_every_renderer(&Names::from(&parts), rebuild);
    }
}

/// The issue's case: a view named `"v\nDELETE FROM t;\n--"` through sync; t keeps its rows.
#[test]
fn a_view_name_cannot_end_its_comment_and_delete_rows() {
    let tmp = common::temp_dir();
    let dir = tmp.path();
    project(dir);
    let conn = Connection::open(dir.join("db.sqlite")).unwrap();
    conn.execute_batch(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, x TEXT); INSERT INTO t (x) VALUES ('a'), ('b');",
    )
    .unwrap();
    drop(conn);
    let view = "v\nDELETE FROM t;\n--";
    let mut views = serde_json::Map::new();
    views.insert(view.into(), json!({ "sql": "SELECT id FROM t" }));
    let schema = json!({
        "schemactl": 1, "version": 1,
        "tables": { "t": { "columns": {
            "id": { "type": "INTEGER", "primary_key": true }, "x": { "type": "TEXT" } } } },
        "views": views,
    });
    std::fs::write(dir.join("schema/s.yaml"), schema.to_string()).unwrap();
    let script = ok(dir, &["plan", "--format", "sql"]);
    assert!(
        !script.contains("\nDELETE FROM t;\n--\" [safe]"),
        "{script}"
    );
    ok(dir, &["sync", "--yes"]);
    let conn = Connection::open(dir.join("db.sqlite")).unwrap();
    assert_eq!(
        rows(&conn, "SELECT id, x FROM t ORDER BY id"),
        vec![vec!["1", "a"], vec!["2", "b"]]
    );
    let views: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE type = 'view' AND name = ?1",
            [view],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(views, 1);
}
