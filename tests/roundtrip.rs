//! The exact round trip, on every schema of the corpus and on the memory schema:
//! import(DB) → load (materialise) → inspect == inspect(DB), and SQLite's catalog (PRAGMA
//! table_xinfo, index_list/index_xinfo, foreign_key_list, views and triggers) of the schema
//! created from the imported file is the original's.

mod common;

use rusqlite::Connection;
use schemactl::{dsl, normal};

/// Runs the round trip on one DDL text; Err says where it broke.
fn round_trip(ddl: &str) -> Result<(), String> {
    let conn = Connection::open_in_memory().map_err(|e| e.to_string())?;
    conn.execute_batch(ddl)
        .map_err(|e| format!("SQLite refuses the DDL: {e}"))?;
    let inspection =
        schemactl::inspect::inspect_with_notes(&conn).map_err(|e| format!("inspect: {e}"))?;
    if !inspection.notes.is_empty() && !ddl.contains("ON CONFLICT") {
        return Err(format!("kept verbatim: {:?}", inspection.notes));
    }
    let live = inspection.schema;
    let yaml = dsl::export(&live, 1, "test");
    let desired = dsl::load_str("import.yaml", &yaml).map_err(|e| format!("load: {e}\n{yaml}"))?;
    if desired.schema != live {
        return Err(format!(
            "import then load differs from the live schema\nlive: {live:#?}\nloaded: {:#?}\n{yaml}",
            desired.schema
        ));
    }
    // Equal as other tools read it too: SQLite's catalog of the schema created from the
    // imported file is the original's.
    let created = normal::create_in_memory(&desired.schema)
        .map_err(|e| format!("create {}: {}", e.object, e.message))?;
    let difference = common::catalog::catalog_difference(&conn, &created);
    if !difference.is_empty() {
        return Err(format!(
            "the catalog of the imported schema differs:\n{difference}\n{yaml}"
        ));
    }
    let again = normal::materialise(&live).map_err(|e| format!("materialise: {e}"))?;
    if again != live {
        return Err(format!(
            "materialise(inspect(db)) != inspect(db)\n{again:#?}\n{live:#?}"
        ));
    }
    Ok(())
}

#[test]
fn every_corpus_schema_round_trips_exactly() {
    let pairs = common::corpus::pairs();
    if pairs.is_empty() {
        return; // dir() printed the notice
    }
    let (mut passed, mut refused, mut failures) = (0, 0, Vec::new());
    for pair in &pairs {
        for (side, ddl) in [("current", &pair.current), ("desired", &pair.desired)] {
            if ddl.trim().is_empty() {
                continue;
            }
            match round_trip(ddl) {
                Ok(()) => passed += 1,
                Err(e) if e.starts_with("SQLite refuses the DDL") && pair.skip.is_some() => {
                    refused += 1;
                }
                Err(e) => failures.push(format!("{} ({side}): {e}", pair.name)),
            }
        }
    }
    println!(
        "corpus round trip: {passed} schemas exact, {refused} refused by SQLite in cases sqldef expects to fail"
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    assert!(passed > 100, "only {passed} schemas ran");
}

#[test]
fn memory_schema_round_trips_exactly() {
    round_trip(common::MEMORY_DDL).unwrap();
}

#[test]
fn verbatim_tables_round_trip_and_are_reported() {
    let ddl = "CREATE TABLE t (a INTEGER PRIMARY KEY ON CONFLICT REPLACE, b TEXT);
               CREATE INDEX t_b ON t(b);";
    round_trip(ddl).unwrap();
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(ddl).unwrap();
    let inspection = schemactl::inspect::inspect_with_notes(&conn).unwrap();
    assert_eq!(inspection.notes.len(), 1);
    assert!(
        inspection.notes[0].contains("\"t\" kept verbatim: not representable: ON CONFLICT"),
        "{:?}",
        inspection.notes
    );
    let t = &inspection.schema.tables[0];
    assert!(t.verbatim.is_some());
    assert_eq!(t.indexes.len(), 1);
}

#[test]
fn views_triggers_and_virtual_tables_round_trip() {
    round_trip(
        "CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT NOT NULL DEFAULT '' COLLATE NOCASE);
         CREATE VIEW v2 AS SELECT * FROM v1;
         CREATE VIEW v1 (x, y) AS SELECT a, b FROM t WHERE a > 0;
         CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET b = upper(new.b) WHERE a = new.a; END;
         CREATE VIRTUAL TABLE docs USING fts5(title, body);",
    )
    .unwrap();
}

fn schema_of(ddl: &str) -> schemactl::Schema {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(ddl).unwrap();
    schemactl::inspect(&conn).unwrap()
}

#[test]
fn spellings_with_the_same_meaning_compare_equal() {
    let same = [
        (
            "CREATE TABLE t (id INTEGER PRIMARY KEY NOT NULL, a TEXT)",
            "CREATE TABLE \"t\" (\"id\" integer NOT NULL, `a` text, PRIMARY KEY (id))",
        ),
        (
            "CREATE TABLE t (a INT UNIQUE, b INT REFERENCES p(x))",
            "CREATE TABLE t (a INT, b INT, FOREIGN KEY (b) REFERENCES p (x), UNIQUE (a))",
        ),
        (
            "CREATE TABLE t (a REAL CHECK (a BETWEEN 0 AND 1) DEFAULT 0.5)",
            "CREATE TABLE t (a REAL DEFAULT (0.5) CHECK (\"a\"  between 0 and 1))",
        ),
        (
            "CREATE TABLE t (k TEXT PRIMARY KEY, v) WITHOUT ROWID",
            "CREATE TABLE t (k TEXT NOT NULL PRIMARY KEY, v) WITHOUT ROWID",
        ),
        (
            "CREATE TABLE t (k TEXT PRIMARY KEY, v ANY) STRICT",
            "CREATE TABLE t (k TEXT NOT NULL, v ANY, PRIMARY KEY (k)) STRICT",
        ),
        (
            "CREATE TABLE t (a); CREATE INDEX i ON t (a ASC) WHERE a > 0",
            "CREATE TABLE t (a); CREATE INDEX i ON t(a) WHERE (a > 0)",
        ),
        (
            "CREATE TABLE t (a INT, b INT, UNIQUE (a), CHECK (a > 0), CHECK (b > 0))",
            "CREATE TABLE t (a INT, b INT, CHECK (b > 0), CHECK (a > 0), UNIQUE (a))",
        ),
    ];
    for (a, b) in same {
        assert_eq!(schema_of(a), schema_of(b), "\n{a}\n{b}");
    }
    let different = [
        (
            "CREATE TABLE t (id INTEGER PRIMARY KEY)",
            "CREATE TABLE t (id INT PRIMARY KEY)",
        ),
        (
            "CREATE TABLE t (k TEXT PRIMARY KEY)",
            "CREATE TABLE t (k TEXT NOT NULL PRIMARY KEY)",
        ),
        // Issue 14, class 7: what the catalog shows differs (table_xinfo notnull, dflt_value),
        // though SQLite would not need it.
        (
            "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT)",
            "CREATE TABLE t (id INTEGER PRIMARY KEY NOT NULL, a TEXT)",
        ),
        ("CREATE TABLE t (a DEFAULT NULL)", "CREATE TABLE t (a)"),
        ("CREATE TABLE t (a, b)", "CREATE TABLE t (b, a)"),
        (
            "CREATE TABLE t (a TEXT)",
            "CREATE TABLE t (a TEXT COLLATE NOCASE)",
        ),
        (
            "CREATE TABLE t (a DEFAULT 'x')",
            "CREATE TABLE t (a DEFAULT 'X')",
        ),
        (
            "CREATE TABLE t (a CHECK (a > 0))",
            "CREATE TABLE t (a, CHECK (a > 0))",
        ),
        (
            "CREATE TABLE t (a); CREATE INDEX i ON t (a)",
            "CREATE TABLE t (a); CREATE INDEX i ON t (a DESC)",
        ),
        (
            "CREATE TABLE t (b, a AS (1) STORED)",
            "CREATE TABLE t (b, a AS (1) VIRTUAL)",
        ),
        (
            "CREATE TABLE t (a INT REFERENCES p ON DELETE CASCADE)",
            "CREATE TABLE t (a INT REFERENCES p)",
        ),
        (
            "CREATE TABLE t (a INT REFERENCES p DEFERRABLE INITIALLY DEFERRED)",
            "CREATE TABLE t (a INT REFERENCES p)",
        ),
        (
            "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT)",
            "CREATE TABLE t (id INTEGER PRIMARY KEY)",
        ),
        ("CREATE TABLE t (a) STRICT", "CREATE TABLE t (a)"),
    ];
    for (a, b) in different {
        let (a_sql, b_sql) = (a.replace("(a) STRICT", "(a ANY) STRICT"), b);
        assert_ne!(schema_of(&a_sql), schema_of(b_sql), "\n{a_sql}\n{b_sql}");
    }
}

/// App-chains finding 6: `DEFAULT false` (as ORMs write it) came back `FALSE` in
/// `PRAGMA table_xinfo`'s dflt_value; every spelling of a boolean default is kept.
#[test]
fn boolean_defaults_keep_their_spelling_in_the_catalog() {
    round_trip(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER NOT NULL DEFAULT false, \
         b INTEGER DEFAULT TRUE, c INTEGER DEFAULT true, d INTEGER DEFAULT False, \
         e INTEGER DEFAULT (false));",
    )
    .unwrap();
}
