//! schemactl: declarative, versioned schema migrations and operations for SQLite.
//!
//! The pipeline is `load` (YAML DSL, [`dsl::load`]) → `inspect` (live SQLite, [`inspect()`]) →
//! `diff` → `plan` → `apply`. Both sides of every comparison are brought to one normal form
//! ([`normal::materialise`]): the desired schema is created in an in-memory SQLite and inspected
//! back, so two schemas are equal exactly when their [`model::Schema`]s are equal.

// Every line for people goes out through `cli::output` (`say!`, `note!`), which escapes what a
// terminal would act on; machine formats through `cli::output::out`.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod apply;
pub mod backup;
pub mod cli;
pub mod config;
pub mod db;
pub mod diff;
pub mod drift;
pub mod dsl;
pub mod error;
pub mod exclude;
pub mod failpoint;
pub mod fuzz;
pub mod inspect;
pub mod lint;
pub mod migrations;
pub mod model;
pub mod normal;
pub mod ops;
pub mod parse;
pub mod plan;
pub mod printable;
pub mod render;
pub mod requote;
pub mod sql;

pub use dsl::{Desired, load};
pub use error::{Error, Result};
pub use inspect::inspect;
pub use model::Schema;
