//! The exact round trip, on every schema of the corpus and on the memory schema:
//! import(DB) → load (materialise) → inspect == inspect(DB).

mod common;

use rusqlite::Connection;
use schemactl::{dsl, normal};

/// Runs the round trip on one DDL text; Err says where it broke.
fn round_trip(ddl: &str) -> Result<(), String> {
    let conn = Connection::open_in_memory().map_err(|e| e.to_string())?;
    conn.execute_batch(ddl).map_err(|e| format!("SQLite refuses the DDL: {e}"))?;
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
    let again = normal::materialise(&live).map_err(|e| format!("materialise: {e}"))?;
    if again != live {
        return Err(format!("materialise(inspect(db)) != inspect(db)\n{again:#?}\n{live:#?}"));
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
    println!("corpus round trip: {passed} schemas exact, {refused} refused by SQLite in cases sqldef expects to fail");
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n\n"));
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
    assert!(inspection.notes[0].contains("\"t\" kept verbatim: not representable: ON CONFLICT"), "{:?}", inspection.notes);
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
