//! Issue 14 (app-chains findings 3 and 4): foreign keys and UNIQUE constraints come back in
//! the order the source declared them, so `foreign_key_list` ids and the numbering of
//! `sqlite_autoindex_<t>_N` are what other tools read from the original, after import and
//! sync into a new database, and after a rebuild of the table.

mod common;

use common::catalog::{assert_same_catalog, catalog};
use common::{ok_in, temp_dir};
use rusqlite::Connection;

const CASES: &[&str] = &[
    // Finding 3: two column-level foreign keys.
    "CREATE TABLE u (id INTEGER PRIMARY KEY);
     CREATE TABLE f (id INTEGER PRIMARY KEY);
     CREATE TABLE c (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES u(id),
       folder_id INTEGER REFERENCES f(id), note TEXT);",
    // Finding 4: two column-level UNIQUE constraints.
    "CREATE TABLE c (id INTEGER PRIMARY KEY, username TEXT UNIQUE, email TEXT UNIQUE, note TEXT);",
    // Table-level, against column order, mixed with column-level ones, and composite.
    "CREATE TABLE p (a INTEGER, b INTEGER, PRIMARY KEY (a, b));
     CREATE TABLE q (id INTEGER PRIMARY KEY);
     CREATE TABLE c (id INTEGER PRIMARY KEY, x TEXT UNIQUE, y TEXT, z TEXT,
       pa INTEGER REFERENCES q(id), pb INTEGER, note TEXT,
       UNIQUE (z), UNIQUE (y), UNIQUE (z, y),
       FOREIGN KEY (pb, pa) REFERENCES p(a, b), FOREIGN KEY (pb) REFERENCES q(id));",
    // Foreign keys declared in reverse column order; a UNIQUE before the columns' own.
    "CREATE TABLE r (id INTEGER PRIMARY KEY);
     CREATE TABLE c (id INTEGER PRIMARY KEY, a INTEGER, b INTEGER, note TEXT,
       FOREIGN KEY (b) REFERENCES r(id), FOREIGN KEY (a) REFERENCES r(id),
       UNIQUE (b), UNIQUE (a));",
    // A key with an index declared after UNIQUE constraints: SQLite numbers it after them.
    "CREATE TABLE c (a TEXT UNIQUE, id TEXT PRIMARY KEY, b TEXT UNIQUE, note TEXT);",
    "CREATE TABLE c (x TEXT UNIQUE, y TEXT UNIQUE, id TEXT NOT NULL PRIMARY KEY, note TEXT) WITHOUT ROWID;",
    "CREATE TABLE c (a TEXT UNIQUE, b TEXT, id TEXT, note TEXT, PRIMARY KEY (id, b), UNIQUE (b));",
    // A column key after a later column's UNIQUE: declared on the table.
    "CREATE TABLE c (id TEXT, a TEXT UNIQUE, note TEXT, PRIMARY KEY (id));",
    // The same with a quote in the key's name, and a foreign key to it by name.
    "CREATE TABLE p (\"x\"\"y\" INTEGER NOT NULL, a INTEGER UNIQUE, PRIMARY KEY (\"x\"\"y\")) WITHOUT ROWID;
     CREATE TABLE c (id INTEGER PRIMARY KEY, px INTEGER REFERENCES p(\"x\"\"y\"), note TEXT);",
];

/// Tables the import keeps as SQL: an order the DSL cannot say with columns and lists (a key
/// declared between two table-level UNIQUE constraints), a conflict clause; a foreign key
/// that names such a table without columns refers to its key.
const SQL_ONLY: &[&str] = &[
    "CREATE TABLE p (id TEXT PRIMARY KEY ON CONFLICT REPLACE, note TEXT);
     CREATE TABLE c (id INTEGER PRIMARY KEY, p_id TEXT REFERENCES p, note TEXT);",
    "CREATE TABLE p (a TEXT, id TEXT, CONSTRAINT u UNIQUE (a), PRIMARY KEY (id));
     CREATE TABLE c (id INTEGER PRIMARY KEY, p_id TEXT REFERENCES p, note TEXT);",
    "CREATE TABLE c (a TEXT, b TEXT, id TEXT, note TEXT, UNIQUE (a, b), PRIMARY KEY (id), UNIQUE (b));",
];

fn project(dir: &std::path::Path, db: &str) {
    std::fs::create_dir_all(dir.join("schema")).unwrap();
    std::fs::write(
        dir.join("schemactl.toml"),
        format!(
            "database = \"{db}\"\nschema = \"schema\"\nmigrations = \"migrations\"\n\
             rollbacks = \"rollbacks\"\nbackups = \"backups\"\n"
        ),
    )
    .unwrap();
}

/// The catalog lines about table `c`'s foreign keys and indexes.
fn keys_of_c(conn: &Connection) -> Vec<String> {
    catalog(conn)
        .into_iter()
        .filter(|l| l.starts_with("table c foreign key") || l.starts_with("table c index"))
        .collect()
}

#[test]
fn import_then_sync_into_a_new_database_keeps_the_declared_order() {
    for ddl in CASES.iter().chain(SQL_ONLY) {
        let dir = temp_dir();
        project(dir.path(), "new.db");
        let original = Connection::open(dir.path().join("original.db")).unwrap();
        original.execute_batch(ddl).unwrap();
        ok_in(
            dir.path(),
            &[
                "import",
                "--database",
                "original.db",
                "--out",
                "schema/app.yaml",
            ],
        );
        ok_in(dir.path(), &["sync", "--yes"]);
        let synced = Connection::open(dir.path().join("new.db")).unwrap();
        assert_same_catalog(&original, &synced, ddl);
    }
}

#[test]
fn a_rebuild_keeps_the_declared_order() {
    for ddl in CASES {
        let dir = temp_dir();
        project(dir.path(), "app.db");
        let db = dir.path().join("app.db");
        let conn = Connection::open(&db).unwrap();
        conn.execute_batch(ddl).unwrap();
        let before = keys_of_c(&conn);
        drop(conn);
        ok_in(dir.path(), &["import", "--out", "schema/app.yaml"]);
        // A CHECK on `note` can only be added by rebuilding c.
        let yaml_path = dir.path().join("schema/app.yaml");
        let yaml = std::fs::read_to_string(&yaml_path).unwrap();
        let note = "      note: { type: TEXT }\n";
        assert!(yaml.contains(note), "{yaml}");
        std::fs::write(
            &yaml_path,
            yaml.replace(
                note,
                "      note: { type: TEXT, check: \"length(note) < 100\" }\n",
            ),
        )
        .unwrap();
        ok_in(dir.path(), &["sync", "--yes"]);
        let conn = Connection::open(&db).unwrap();
        let sql: String = conn
            .query_row("SELECT sql FROM sqlite_schema WHERE name = 'c'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert!(
            sql.contains("length(note) < 100"),
            "{ddl}: not rebuilt: {sql}"
        );
        let after = keys_of_c(&conn);
        assert_eq!(before, after, "{ddl}");
    }
}
