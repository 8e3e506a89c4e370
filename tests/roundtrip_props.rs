//! Property: for random schemas with hostile names, rendering, creating, inspecting,
//! importing and loading all agree.

mod common;

use common::schemas::{build, raw_table};
use proptest::prelude::*;
use rusqlite::Connection;
use schemactl::{dsl, inspect, normal};

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_schemas_round_trip_exactly(raw in prop::collection::vec(raw_table(), 1..4)) {
        let schema = build(&raw);
        let conn = Connection::open_in_memory().unwrap();
        for (_, sql) in normal::ddl(&schema) {
            conn.execute_batch(&sql).map_err(|e| TestCaseError::fail(format!("{e}\n{sql}"))).unwrap();
        }
        let inspection = inspect::inspect_with_notes(&conn).unwrap();
        prop_assert!(inspection.notes.is_empty(), "{:?}", inspection.notes);
        // What was rendered reads back as the same model...
        prop_assert_eq!(&inspection.schema, &schema);
        // ...and the import loads back to it, through the normal form.
        let yaml = dsl::export(&inspection.schema, 1, "proptest");
        let loaded = dsl::load_str("p.yaml", &yaml).map_err(|e| TestCaseError::fail(format!("{e}\n{yaml}")))?;
        prop_assert_eq!(&loaded.schema, &schema, "{}", yaml);
        // ...and what it creates is the same catalog as other tools read it (autoindex
        // numbers, foreign key ids).
        let again = Connection::open_in_memory().unwrap();
        for (_, sql) in normal::ddl(&loaded.schema) {
            again.execute_batch(&sql).unwrap();
        }
        let difference = common::catalog::catalog_difference(&conn, &again);
        prop_assert!(difference.is_empty(), "{}\n{}", difference, yaml);
    }
}
