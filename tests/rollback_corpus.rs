//! Apply then rollback, for every pair of the corpus, with rows: the rollback restores the
//! schema exactly and every row, including the values of dropped columns and tables.

mod common;

use common::converge::{rows, schema_of, seed, sqldef_renames};
use rusqlite::Connection;
use schemactl::apply::{self, Options};
use schemactl::diff::diff;
use schemactl::plan::plan;

/// Runs one pair; `with_rows` seeds `current` first. Returns the number of seeded rows.
fn apply_then_rollback(
    current_ddl: &str,
    desired_ddl: &str,
    data: &[String],
    with_rows: bool,
) -> Result<usize, String> {
    let dir = common::temp_dir();
    let db = dir.path().join("db.sqlite");
    let current = {
        let conn = Connection::open(&db).map_err(|e| e.to_string())?;
        conn.execute_batch(current_ddl)
            .map_err(|e| format!("SQLite refuses the DDL: {e}"))?;
        schemactl::inspect(&conn).map_err(|e| e.to_string())?
    };
    let desired = schema_of(desired_ddl)?;
    let conn = Connection::open(&db).map_err(|e| e.to_string())?;
    let mut seeded = 0;
    if with_rows {
        if data.is_empty() {
            seeded = seed(&conn, &current);
        } else {
            for sql in data {
                conn.execute_batch(sql).map_err(|e| e.to_string())?;
                seeded += 1;
            }
        }
    }
    let before = rows(&conn, &current);
    drop(conn);
    let changes =
        diff(&current, &desired, &sqldef_renames(desired_ddl)).map_err(|e| e.to_string())?;
    let plan = plan(&current, &desired, &changes);
    if plan.is_empty() {
        return Ok(seeded);
    }
    let opts = Options {
        allow_destructive: true,
        verify: true,
        extra: vec![schemactl::migrations::Migration::sync(&plan, 1, 1)],
        ..common::pipeline_options(dir.path(), db.clone())
    };
    apply::apply(&opts, &mut |_| {}).map_err(|e| format!("apply: {e}"))?;
    let conn = Connection::open(&db).map_err(|e| e.to_string())?;
    let applied = schemactl::inspect(&conn).map_err(|e| e.to_string())?;
    if applied != desired {
        return Err(format!(
            "apply does not converge:\n{}",
            schemactl::normal::describe_difference(&desired, &applied)
        ));
    }
    drop(conn);
    apply::rollback(
        &Options {
            extra: Vec::new(),
            confirmed: None,
            planned_on: None,
            existing_only: false,
            under_lock: None,
            ..opts
        },
        "last",
        false,
        &mut |_| {},
    )
    .map_err(|e| format!("rollback: {e}"))?;
    let conn = Connection::open(&db).map_err(|e| e.to_string())?;
    let back = schemactl::inspect(&conn).map_err(|e| e.to_string())?;
    if back != current {
        return Err(format!(
            "rollback does not restore the schema:\n{}",
            schemactl::normal::describe_difference(&current, &back)
        ));
    }
    let after = rows(&conn, &current);
    if after != before {
        return Err(format!(
            "rollback does not restore the rows:\n before {before:?}\n after  {after:?}"
        ));
    }
    Ok(seeded)
}

#[test]
fn every_corpus_pair_applies_and_rolls_back_with_its_data() {
    let pairs = common::corpus::pairs();
    if pairs.is_empty() {
        return; // dir() printed the notice
    }
    let (mut passed, mut with_rows, mut blocked, mut failures) = (0, 0, 0, Vec::new());
    for pair in pairs.iter().filter(|p| p.skip.is_none()) {
        match apply_then_rollback(&pair.current, &pair.desired, &pair.data_before, true) {
            Ok(n) => {
                passed += 1;
                if n > 0 {
                    with_rows += 1;
                }
            }
            // Rows the change cannot take (NOT NULL without a default, ...): the apply fails
            // and changes nothing; the pair then runs on an empty database.
            Err(e) if e.starts_with("apply:") => {
                match apply_then_rollback(&pair.current, &pair.desired, &[], false) {
                    Ok(_) => {
                        passed += 1;
                        blocked += 1;
                    }
                    Err(e2) => failures.push(format!("{}: {e}\nwithout rows: {e2}", pair.name)),
                }
            }
            Err(e) => failures.push(format!("{}: {e}", pair.name)),
        }
    }
    println!(
        "corpus apply+rollback: {passed} pairs restored exactly ({with_rows} with rows, {blocked} where rows block the change)"
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
