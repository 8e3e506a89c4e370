//! The fleet tests' project: migrations V1 to V3 of a tiny `notes` schema, a template
//! database at V2 with rows, copies of it as tenants, and what the tests read back (the
//! catalog and rows of every user table, the version, the run directories and journals).

use std::collections::BTreeMap;
use std::path::Path;

use rusqlite::Connection;

use super::{schemactl, stderr};

pub const V3: &str = "CREATE TABLE notes_new (id INTEGER PRIMARY KEY, body TEXT NOT NULL, kind TEXT, tag TEXT, score INTEGER NOT NULL DEFAULT 0);
INSERT INTO notes_new (id, body, kind, tag) SELECT id, body, kind, tag FROM notes;
DROP TABLE notes;
ALTER TABLE notes_new RENAME TO notes;
CREATE INDEX notes_kind ON notes (kind);
";
pub const V3_REVERSE: &str = "DROP INDEX notes_kind;
CREATE TABLE notes_old (id INTEGER PRIMARY KEY, body TEXT, kind TEXT, tag TEXT);
INSERT INTO notes_old (id, body, kind, tag) SELECT id, body, kind, tag FROM notes;
DROP TABLE notes;
ALTER TABLE notes_old RENAME TO notes;
";

/// A project with V1 and V2 applied to `template.db` (with rows), and V3 (a rebuild of
/// `notes` that makes `body` NOT NULL) written after: every copy of the template has V3 pending.
pub fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::create_dir_all(p.join("migrations")).unwrap();
    std::fs::create_dir_all(p.join("rollbacks")).unwrap();
    let write = |f: &str, s: &str| std::fs::write(p.join(f), s).unwrap();
    write(
        "migrations/V1__notes.sql",
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT, kind TEXT);\n",
    );
    write("rollbacks/V1__notes.sql", "DROP TABLE notes;\n");
    write(
        "migrations/V2__add_tag.sql",
        "ALTER TABLE notes ADD COLUMN tag TEXT;\n",
    );
    write(
        "rollbacks/V2__add_tag.sql",
        "ALTER TABLE notes DROP COLUMN tag;\n",
    );
    write(
        "schemactl.toml",
        "migrations = \"migrations\"\nrollbacks = \"rollbacks\"\n",
    );
    let out = schemactl(p, &["apply", "-d", "template.db", "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let conn = Connection::open(p.join("template.db")).unwrap();
    conn.execute_batch(
        "INSERT INTO notes (body, kind, tag) VALUES ('a', 'x', 't1'), ('b', NULL, 't2'), ('it''s', 'y', NULL);",
    )
    .unwrap();
    drop(conn);
    write("migrations/V3__rebuild_notes.sql", V3);
    write("rollbacks/V3__rebuild_notes.sql", V3_REVERSE);
    dir
}

/// Copies the template to `t/NNN/memory.db` for each of `n` tenants; returns the paths,
/// relative to the project, in the fleet's order.
pub fn fleet(p: &Path, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let rel = format!("t/{i:03}/memory.db");
            std::fs::create_dir_all(p.join(format!("t/{i:03}"))).unwrap();
            std::fs::copy(p.join("template.db"), p.join(&rel)).unwrap();
            rel
        })
        .collect()
}

/// Adds a row the V3 rebuild rejects (a NULL body).
pub fn break_rows(db: &Path) {
    let conn = Connection::open(db).unwrap();
    conn.execute("INSERT INTO notes (body, kind) VALUES (NULL, 'z')", [])
        .unwrap();
}

/// Every user table's catalog (`table_xinfo`, `index_list`) and rows, as text.
pub fn dump(db: &Path) -> String {
    let conn = Connection::open(db).unwrap();
    let tables: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite%' AND name NOT LIKE '\\_schemactl%' ESCAPE '\\' ORDER BY name",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut out = String::new();
    for t in tables {
        out += &format!("table {t}\n");
        for q in [
            format!("SELECT * FROM pragma_table_xinfo('{t}')"),
            format!("SELECT name, \"unique\" FROM pragma_index_list('{t}') ORDER BY name"),
            format!("SELECT * FROM \"{t}\" ORDER BY rowid"),
        ] {
            let mut stmt = conn.prepare(&q).unwrap();
            let n = stmt.column_count();
            let rows = stmt
                .query_map([], |r| {
                    (0..n)
                        .map(|i| r.get::<_, rusqlite::types::Value>(i))
                        .collect::<Result<Vec<_>, _>>()
                })
                .unwrap();
            for row in rows {
                out += &format!("  {:?}\n", row.unwrap());
            }
        }
    }
    out
}

/// A row of `notes`: id, body, kind, tag.
pub type Note = (i64, Option<String>, Option<String>, Option<String>);

/// The rows of `notes` (the columns every version has), by id.
pub fn notes(db: &Path) -> Vec<Note> {
    let conn = Connection::open(db).unwrap();
    conn.prepare("SELECT id, body, kind, tag FROM notes ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

pub fn version(db: &Path) -> Option<i32> {
    let conn = Connection::open(db).unwrap();
    conn.query_row("SELECT max(version) FROM _schemactl_history", [], |r| {
        r.get(0)
    })
    .unwrap()
}

pub fn integrity(db: &Path) {
    let conn = Connection::open(db).unwrap();
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok", "{}", db.display());
}

/// The NDJSON lines of a run's standard output: the records by target, and the summary.
pub fn ndjson(out: &str) -> (BTreeMap<String, serde_json::Value>, serde_json::Value) {
    let mut records = BTreeMap::new();
    let mut summary = serde_json::Value::Null;
    for line in out.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if let Some(s) = v.get("summary") {
            summary = s.clone();
        } else {
            let target = v["target"].as_str().unwrap().to_string();
            assert!(
                records.insert(target.clone(), v).is_none(),
                "{target} reported twice"
            );
        }
    }
    (records, summary)
}

/// The run directories, oldest first.
pub fn runs(p: &Path) -> Vec<String> {
    let mut r: Vec<String> = std::fs::read_dir(p.join(".swarm/fleet"))
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    r.sort();
    r
}

/// The journal of run `id`: its complete lines.
pub fn journal(p: &Path, id: &str) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(p.join(".swarm/fleet").join(id).join("journal.ndjson"))
        .unwrap_or_default();
    let complete = text.rfind('\n').map_or("", |i| &text[..i]);
    complete
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

pub const GLOB: &str = "t/*/memory.db";
