//! Hostile identifiers and values through import, plan, apply (sync) and rollback: quotes,
//! spaces and unicode in names, SQL keywords as names, injection-shaped names, very long names,
//! empty-string defaults and blobs. The schema is written as JSON, which is YAML too, so the
//! names reach the DSL exactly.

mod common;

use std::path::Path;
use std::process::Output;

use rusqlite::Connection;
use rusqlite::types::Value;
use schemactl::sql::quote_ident;
use serde_json::json;

const INJECT: &str = "x\"; DROP TABLE y; --";
const KEYWORD: &str = "order";
const SPACED: &str = "with space";
const UNICODE: &str = "ünïcødé 名前 🦀";
const QUOTES: &str = "it's \"quoted\" `and` [bracketed]";

fn long() -> String {
    "l".repeat(300)
}

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
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// Version 1: a table with every hostile kind of name, a keyword-named child with a foreign
/// key to it, and `y`, which an injected DROP would remove.
fn schema_v1() -> serde_json::Value {
    json!({
        "schemactl": 1,
        "version": 1,
        "tables": {
            INJECT: {
                "columns": {
                    "id": { "type": "INTEGER", "primary_key": true },
                    "select": { "type": "TEXT", "not_null": true, "default": "" },
                    SPACED: { "type": "TEXT" },
                    UNICODE: { "type": "BLOB" },
                    QUOTES: { "type": "TEXT", "default": "it's" },
                    long(): { "type": "TEXT" }
                },
                // Index keys are SQL (a column or an expression): names that need quoting
                // are quoted, as the DSL reference says.
                "indexes": { format!("idx {INJECT}"): { "columns": [quote_ident(SPACED), format!("{} DESC", quote_ident(UNICODE))] } }
            },
            KEYWORD: {
                "columns": {
                    "group": { "type": "TEXT", "primary_key": true },
                    "ref": { "type": "INTEGER" }
                },
                "foreign_keys": [
                    { "columns": ["ref"], "references": format!("{}(id)", quote_ident(INJECT)), "on_delete": "cascade" }
                ]
            },
            "y": { "columns": { "keep": { "type": "TEXT" } } }
        }
    })
}

/// Version 2: the long column dropped (a destructive change with a stash), a keyword-named
/// column with an empty-string default added, and a CHECK that forces a rebuild of the parent.
fn schema_v2() -> serde_json::Value {
    let mut v = schema_v1();
    v["version"] = json!(2);
    let cols = v["tables"][INJECT]["columns"].as_object_mut().unwrap();
    cols.remove(&long());
    cols.insert(
        "where".into(),
        json!({ "type": "TEXT", "not_null": true, "default": "" }),
    );
    v["tables"][INJECT]["checks"] = json!([format!("length({}) < 1000", quote_ident(SPACED))]);
    v
}

fn write_schema(dir: &Path, v: &serde_json::Value) {
    std::fs::write(
        dir.join("schema/hostile.yaml"),
        serde_json::to_string_pretty(v).unwrap(),
    )
    .unwrap();
}

/// Every row of every table, as SQL literals, sorted.
fn rows(conn: &Connection, table: &str) -> Vec<Vec<Value>> {
    let mut stmt = conn
        .prepare(&format!("SELECT * FROM {} ORDER BY 1", quote_ident(table)))
        .unwrap();
    let n = stmt.column_count();
    stmt.query_map([], |r| (0..n).map(|i| r.get::<_, Value>(i)).collect())
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn hostile_names_and_values_survive_import_plan_sync_and_rollback() {
    let dir = common::temp_dir();
    let d = dir.path();
    for sub in ["schema", "migrations", "rollbacks"] {
        std::fs::create_dir_all(d.join(sub)).unwrap();
    }
    std::fs::write(
        d.join("schemactl.toml"),
        "database = \"h.db\"\nbackups = \"backups\"\n",
    )
    .unwrap();
    write_schema(d, &schema_v1());
    ok(d, &["schema", "check"]);
    let plan = ok(d, &["plan"]);
    assert!(plan.contains(&quote_ident(INJECT)), "{plan}");
    ok(d, &["plan", "--format", "sql"]);
    ok(d, &["plan", "--format", "json"]);
    ok(d, &["sync", "--yes"]);

    let db = d.join("h.db");
    let conn = Connection::open(&db).unwrap();
    let blob = vec![0u8, 255, 0, 39, 34, 10];
    conn.execute(
        &format!(
            "INSERT INTO {} (id, {}, {}, {}) VALUES (1, ?1, ?2, ?3)",
            quote_ident(INJECT),
            quote_ident(SPACED),
            quote_ident(UNICODE),
            quote_ident(&long())
        ),
        rusqlite::params!["a value; DROP TABLE y; --", blob, "long value"],
    )
    .unwrap();
    conn.execute(
        &format!("INSERT INTO {} (id) VALUES (2)", quote_ident(INJECT)),
        [],
    )
    .unwrap();
    conn.execute(
        &format!("INSERT INTO {} VALUES ('g', 1)", quote_ident(KEYWORD)),
        [],
    )
    .unwrap();
    conn.execute("INSERT INTO y VALUES ('canary')", []).unwrap();
    let parent_v1 = rows(&conn, INJECT);
    // Defaults: the empty string and a quote.
    assert_eq!(parent_v1[1][1], Value::Text(String::new()));
    assert_eq!(parent_v1[1][4], Value::Text("it's".into()));
    let schema_v1_live = schemactl::inspect(&conn).unwrap();
    drop(conn);

    // Import gives back the same schema.
    let yaml = ok(d, &["import", "--database", "h.db"]);
    let imported = schemactl::dsl::load_str("imported.yaml", &yaml).unwrap();
    assert_eq!(imported.schema, schema_v1_live);

    // Version 2 through a rebuild of the parent of a cascading foreign key.
    write_schema(d, &schema_v2());
    let plan = ok(d, &["plan"]);
    assert!(plan.contains("1 destructive"), "{plan}");
    ok(d, &["sync", "--yes", "--allow-destructive"]);
    let conn = Connection::open(&db).unwrap();
    let parent_v2 = rows(&conn, INJECT);
    assert_eq!(parent_v2.len(), 2);
    for (before, after) in parent_v1.iter().zip(&parent_v2) {
        assert_eq!(&before[..5], &after[..5], "kept columns keep their values");
        assert_eq!(
            after[5],
            Value::Text(String::new()),
            "the new column takes ''"
        );
    }
    assert_eq!(
        rows(&conn, KEYWORD).len(),
        1,
        "the child row survived the rebuild"
    );
    assert_eq!(rows(&conn, "y").len(), 1, "the canary survived");
    drop(conn);

    // Rollback: the dropped long-named column comes back with its value.
    ok(d, &["rollback", "last", "--yes"]);
    let conn = Connection::open(&db).unwrap();
    assert_eq!(schemactl::inspect(&conn).unwrap(), schema_v1_live);
    assert_eq!(rows(&conn, INJECT), parent_v1);
    assert_eq!(rows(&conn, KEYWORD).len(), 1);
    assert_eq!(rows(&conn, "y").len(), 1);
    let ok_: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok_, "ok");

    // The operations commands take the names too.
    ok(d, &["check"]);
    ok(d, &["stats", "--format", "json"]);
    ok(d, &["graph", "--format", "dot"]);
    ok(d, &["backup"]);
}
