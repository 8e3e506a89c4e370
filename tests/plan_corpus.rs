//! The corpus through plan and apply: every (current, desired) pair converges, re-plans to
//! nothing, reverses exactly, and keeps its rows.

mod common;

use common::converge::{converge, sqldef_renames};

#[test]
fn every_corpus_pair_converges_and_reverses() {
    let pairs = common::corpus::pairs();
    if pairs.is_empty() {
        return; // dir() printed the notice
    }
    let (mut passed, mut with_rows, mut blocked, mut skipped, mut failures) =
        (0, 0, 0, Vec::new(), Vec::new());
    for pair in &pairs {
        if let Some(reason) = &pair.skip {
            skipped.push(format!("{}: {reason}", pair.name));
            continue;
        }
        let renames = sqldef_renames(&pair.desired);
        match converge(&pair.current, &pair.desired, &pair.data_before, &renames) {
            Ok(outcome) => {
                passed += 1;
                if outcome.rows > 0 && !outcome.blocked_by_rows {
                    with_rows += 1;
                }
                if outcome.blocked_by_rows {
                    blocked += 1;
                }
            }
            Err(e) => failures.push(format!("{}: {e}", pair.name)),
        }
    }
    println!(
        "corpus plan: {passed}/{} pairs converge and reverse ({with_rows} with seeded rows, {blocked} where rows block the change); {} skipped:",
        pairs.len() - skipped.len(),
        skipped.len()
    );
    for s in &skipped {
        println!("  skipped {s}");
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
