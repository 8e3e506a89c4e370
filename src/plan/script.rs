//! A plan as one plain SQL script (no dot-commands) that `sqlite3`, or any SQLite connection,
//! can run as is.

use std::fmt::Write;

use super::Plan;
use crate::sql::quote_literal;

/// Which way to run a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Forward: current to desired.
    Forward,
    /// Reverse: desired back to current.
    Reverse,
}

impl Plan {
    /// Returns the statements of the plan in the given direction, each with its step number.
    pub fn statements(&self, direction: Direction) -> Vec<(usize, &str)> {
        match direction {
            Direction::Forward => self
                .steps
                .iter()
                .enumerate()
                .flat_map(|(i, s)| s.forward.iter().map(move |sql| (i, sql.as_str())))
                .collect(),
            Direction::Reverse => self
                .steps
                .iter()
                .enumerate()
                .rev()
                .flat_map(|(i, s)| s.reverse.iter().map(move |sql| (i, sql.as_str())))
                .collect(),
        }
    }

    /// Tables whose foreign keys are checked before committing in `direction`.
    pub fn fk_check_tables(&self, direction: Direction) -> &[String] {
        match direction {
            Direction::Forward => &self.check_forward,
            Direction::Reverse => &self.check_reverse,
        }
    }

    /// Renders the plan as one SQL script. Foreign keys are switched off outside the
    /// transaction when the plan rebuilds or drops tables, and a guard rolls the whole
    /// transaction back if `foreign_key_check` finds a violation. Run it with
    /// `sqlite3 -bail DB < plan.sql`, so that a failing statement stops the script.
    pub fn script(&self, direction: Direction) -> String {
        let mut s = String::new();
        let fk_off = self.needs_foreign_keys_off_in(direction);
        let _ = writeln!(
            s,
            "-- schemactl plan ({}): {} step(s)\n-- Run with: sqlite3 -bail DB < this-file.sql",
            match direction {
                Direction::Forward => "forward",
                Direction::Reverse => "reverse",
            },
            self.steps.len()
        );
        if self.steps.is_empty() {
            return s;
        }
        if fk_off {
            s.push_str(
                "PRAGMA foreign_keys = OFF; -- outside the transaction, where it takes effect\n",
            );
        }
        s.push_str("BEGIN IMMEDIATE;\n");
        let order: Vec<usize> = match direction {
            Direction::Forward => (0..self.steps.len()).collect(),
            Direction::Reverse => (0..self.steps.len()).rev().collect(),
        };
        for i in order {
            let step = &self.steps[i];
            let _ = writeln!(
                s,
                "\n-- step {}: {} [{}]",
                i + 1,
                step.summary,
                kind_label(step)
            );
            let sqls = match direction {
                Direction::Forward => &step.forward,
                Direction::Reverse => &step.reverse,
            };
            for sql in sqls {
                let _ = writeln!(s, "{sql};");
            }
        }
        let checks = self.fk_check_tables(direction);
        if fk_off && !checks.is_empty() {
            let counts: Vec<String> = checks
                .iter()
                .map(|t| {
                    format!(
                        "(SELECT count(*) FROM pragma_foreign_key_check({}))",
                        quote_literal(t)
                    )
                })
                .collect();
            s.push_str("\n-- foreign_key_check: any violation rolls the whole transaction back\n");
            s.push_str("CREATE TEMP TABLE _schemactl_fk_guard (violations INTEGER CHECK (violations = 0));\n");
            let _ = writeln!(
                s,
                "INSERT OR ROLLBACK INTO _schemactl_fk_guard SELECT {};",
                counts.join(" + ")
            );
            s.push_str("DROP TABLE temp._schemactl_fk_guard;\n");
        }
        s.push_str("\nCOMMIT;\n");
        if fk_off {
            s.push_str("PRAGMA foreign_keys = ON;\n");
        }
        s
    }
}

fn kind_label(step: &super::Step) -> &'static str {
    match (step.kind, step.rebuild) {
        (super::Safety::Destructive, true) => "rebuild, destructive",
        (super::Safety::Destructive, false) => "destructive",
        (_, true) => "rebuild",
        _ => "safe",
    }
}
