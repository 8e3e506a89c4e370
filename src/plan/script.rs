//! The one renderer of a plan's SQL, framed two ways: as a plain script (no dot-commands) that
//! `sqlite3`, or any SQLite connection, can run as is (`plan --format sql`), and as a
//! migration file with its header lines (`plan --write`, sync). Both walk the same steps with
//! [`Step::statements`]; only a migration file stashes the data a step drops.

use std::fmt::Write;

use super::{Plan, STASH_PLACEHOLDER, Stash, Step, stash_name};
use crate::sql::{comment, ident, quote_literal};

/// The header line announcing the foreign-key needs of a migration; the tables to check
/// follow, as SQL identifiers separated by commas (see [`Plan::migration_file`]).
pub const FOREIGN_KEYS_HEADER: &str = "-- schemactl: foreign-keys off; check:";

use super::guard;

/// Which way to run a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Forward: current to desired.
    Forward,
    /// Reverse: desired back to current.
    Reverse,
}

/// How [`Plan::render`] frames the steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A script to run as is: foreign keys off outside the transaction when needed,
    /// `BEGIN IMMEDIATE`, the steps, a `foreign_key_check` guard and `COMMIT`. It does not
    /// stash.
    Script,
    /// A migration file: header lines naming the migration, its schema version and what
    /// running it needs (the runner brings the transaction); each step stashes what it drops.
    Migration {
        /// `V{n}__{name}`.
        stem: &'a str,
        /// The schema version the migration leads to.
        schema_version: u32,
    },
}

impl Step {
    /// Returns the step's own SQL in `direction`.
    pub fn sql(&self, direction: Direction) -> &[String] {
        match direction {
            Direction::Forward => &self.forward,
            Direction::Reverse => &self.reverse,
        }
    }

    /// Returns every statement the step runs in `direction`. With `stash` (the name of its
    /// stash table), the forward first keeps the data it drops and the reverse puts it back
    /// (a reverse that rebuilds refills the columns while it copies); without, its own SQL.
    pub fn statements(&self, direction: Direction, stash: Option<&str>) -> Vec<String> {
        let (Some(name), Some(kept)) = (stash, &self.stash) else {
            return self.sql(direction).to_vec();
        };
        match (direction, kept) {
            (Direction::Forward, _) => {
                let mut out = kept.save_sql(name);
                out.extend(self.forward.iter().cloned());
                out
            }
            (
                Direction::Reverse,
                Stash {
                    reverse: Some(filled),
                    ..
                },
            ) => {
                let mut out = vec![kept.unforget_sql(name)];
                out.extend(
                    filled
                        .iter()
                        .map(|sql| sql.replace(STASH_PLACEHOLDER, name)),
                );
                out.push(format!("DROP TABLE {}", ident(name)));
                out.extend(kept.counter_restore_sql(name));
                out
            }
            (Direction::Reverse, _) => {
                let mut out = self.reverse.clone();
                out.extend(kept.restore_sql(name));
                out
            }
        }
    }
}

impl Plan {
    /// Returns the statements of the plan in the given direction, each with its step number
    /// (0-based), without stashing.
    pub fn statements(&self, direction: Direction) -> Vec<(usize, &str)> {
        self.order(direction)
            .into_iter()
            .flat_map(|i| {
                self.steps[i]
                    .sql(direction)
                    .iter()
                    .map(move |sql| (i, sql.as_str()))
            })
            .collect()
    }

    /// Tables whose foreign keys are checked before committing in `direction`.
    pub fn fk_check_tables(&self, direction: Direction) -> &[String] {
        match direction {
            Direction::Forward => &self.check_forward,
            Direction::Reverse => &self.check_reverse,
        }
    }

    /// Returns the step indexes in the order they run in `direction`.
    fn order(&self, direction: Direction) -> Vec<usize> {
        match direction {
            Direction::Forward => (0..self.steps.len()).collect(),
            Direction::Reverse => (0..self.steps.len()).rev().collect(),
        }
    }

    /// Renders the plan as one SQL script. Foreign keys are switched off outside the
    /// transaction when the plan rebuilds or drops tables, and a guard rolls the whole
    /// transaction back if `foreign_key_check` finds a violation. Run it with
    /// `sqlite3 -bail DB < plan.sql`, so that a failing statement stops the script.
    pub fn script(&self, direction: Direction) -> String {
        self.render(direction, Frame::Script)
    }

    /// Renders the plan as a migration file's SQL in `direction`, with a header naming the
    /// schema version, what running it needs, and each step's class; each step stashes what
    /// it drops in `_schemactl_stash_{version}_{step}`.
    pub fn migration_file(&self, stem: &str, schema_version: u32, direction: Direction) -> String {
        self.render(
            direction,
            Frame::Migration {
                stem,
                schema_version,
            },
        )
    }

    /// Renders the steps in `direction` in `frame`.
    pub fn render(&self, direction: Direction, frame: Frame<'_>) -> String {
        let mut s = String::new();
        let fk_off = self.needs_foreign_keys_off_in(direction);
        match frame {
            Frame::Script => {
                if !self.script_head(&mut s, direction, fk_off) {
                    return s;
                }
            }
            Frame::Migration {
                stem,
                schema_version,
            } => self.migration_head(&mut s, direction, fk_off, stem, schema_version),
        }
        for i in self.order(direction) {
            let step = &self.steps[i];
            let summary = match (direction, &step.reverse_summary) {
                (Direction::Reverse, Some(undo)) => undo,
                _ => &step.summary,
            };
            let label = step.kind.label();
            let stash = match frame {
                Frame::Script => {
                    let _ = writeln!(
                        s,
                        "\n{}",
                        comment(&format!("step {}: {summary} [{label}]", i + 1))
                    );
                    None
                }
                Frame::Migration { stem, .. } => {
                    let _ = writeln!(
                        s,
                        "\n{}",
                        comment(&format!("step {} [{label}]: {summary}", i + 1))
                    );
                    Some(stash_name(version_of(stem), i + 1))
                }
            };
            let statements = step.statements(direction, stash.as_deref());
            for (k, sql) in statements.iter().enumerate() {
                let _ = writeln!(s, "{sql};");
                if frame == Frame::Script {
                    guard::after(&mut s, &statements, k);
                }
            }
            // After the step's own statements: a step that rebuilds the table drops the
            // triggers on it.
            if let (Direction::Forward, Some(name), Some(kept)) = (direction, &stash, &step.stash)
                && let Some(trigger) = kept.forget_sql(name)
            {
                let _ = writeln!(s, "{trigger};");
            }
        }
        if frame == Frame::Script {
            self.script_tail(&mut s, direction, fk_off);
        }
        s
    }

    /// Writes the script's header and opens its transaction; returns false when there is
    /// nothing to run.
    fn script_head(&self, s: &mut String, direction: Direction, fk_off: bool) -> bool {
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
            return false;
        }
        match self.requires(direction) {
            Some((version, what)) if version >= super::CONSTRAINT_ALTERS => {
                let _ = writeln!(
                    s,
                    "-- Needs SQLite {version} or later ({what}); for an older sqlite3 shell: schemactl plan --format sql --sqlite-compat 3.40 writes the rebuild form"
                );
            }
            Some((version, what)) => {
                let _ = writeln!(s, "-- Needs SQLite {version} or later ({what})");
            }
            None => {}
        }
        if fk_off {
            s.push_str(
                "PRAGMA foreign_keys = OFF; -- outside the transaction, where it takes effect\n",
            );
        }
        guard::before_begin(s);
        s.push_str("BEGIN IMMEDIATE;\n");
        guard::after_begin(s);
        true
    }

    /// Writes the script's foreign-key guard and commits.
    fn script_tail(&self, s: &mut String, direction: Direction, fk_off: bool) {
        let checks = self.fk_check_tables(direction);
        if fk_off && !checks.is_empty() {
            let counts: Vec<String> = checks
                .iter()
                .map(|t| {
                    // Main's table, and main's parents: a TEMP table of the same name
                    // (which SQLite would read first) never answers for it.
                    format!(
                        "(SELECT count(*) FROM pragma_foreign_key_check({}, 'main'))",
                        quote_literal(t)
                    )
                })
                .collect();
            guard::foreign_keys(s, &counts);
        }
        guard::end(s);
        s.push_str("\nCOMMIT;\n");
        guard::after_commit(s);
        if fk_off {
            s.push_str("PRAGMA foreign_keys = ON;\n");
        }
    }

    /// Writes a migration file's header lines.
    fn migration_head(
        &self,
        s: &mut String,
        direction: Direction,
        fk_off: bool,
        stem: &str,
        schema_version: u32,
    ) {
        let what = match direction {
            Direction::Forward => "migration",
            Direction::Reverse => "migration (reverse)",
        };
        let _ = writeln!(
            s,
            "{}",
            comment(&format!(
                "schemactl {what} {stem} (schema version {schema_version})"
            ))
        );
        let _ = writeln!(
            s,
            "-- Generated by `schemactl plan --write`; edit it before it is applied, never after."
        );
        if fk_off {
            // Names are identifiers (quoted when they need it), so a comma or a newline in a
            // name cannot split the list or end the line: see `needs`.
            let tables: Vec<String> = self
                .fk_check_tables(direction)
                .iter()
                .map(|t| ident(t))
                .collect();
            let header = FOREIGN_KEYS_HEADER.trim_start_matches("-- ");
            let _ = writeln!(s, "{}", comment(&format!("{header} {}", tables.join(", "))));
        }
    }
}

/// The version of a migration stem `V{n}__{name}` ("0" when it has none).
fn version_of(stem: &str) -> &str {
    stem.strip_prefix('V')
        .and_then(|r| r.split("__").next())
        .unwrap_or("0")
}
