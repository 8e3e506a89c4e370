//! Stand-ins for the application's own SQL functions, in scratch connections only.
//!
//! An application may register functions on its own connections (`app_notify(new.id)` in a
//! trigger's body or WHEN clause, `app_fmt(v)` in a view) that schemactl does not have. SQLite
//! reports only the first error of a statement, so an unknown function would hide every other
//! error behind it (a trigger body writing a column that no longer exists). The checks of
//! [`super::resolve`] therefore register a stand-in under each unknown name SQLite reports,
//! any number of arguments, returning NULL, and prepare again until no unknown function is
//! left: what SQLite still refuses is then the object's own error.
//!
//! A name SQLite needs as an aggregate (`FILTER`) or a window function (`OVER`) gets a window
//! stand-in instead of the scalar one (a window function serves as an aggregate too).
//!
//! This is never done on a user's database connection: only on the in-memory databases the
//! plan's proof and the loader build for themselves (nothing there runs on any row).

use std::cell::RefCell;
use std::collections::HashMap;

use rusqlite::Connection;
use rusqlite::functions::{Aggregate, Context, FunctionFlags, WindowAggregate};

use super::sqlite_message;

/// What a stand-in was registered as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Scalar,
    Window,
}

/// The stand-ins registered on one connection, by lowercase name.
#[derive(Debug, Default)]
pub struct StandIns {
    kinds: RefCell<HashMap<String, Kind>>,
}

/// SQLite's prefix for a function it does not know.
const UNKNOWN: &str = "no such function: ";

impl StandIns {
    /// No stand-in yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// SQLite's refusal to prepare `sql` on `conn` (nothing runs), once every unknown function
    /// it names has a stand-in; `None` when it compiles.
    pub fn prepared(&self, conn: &Connection, sql: &str) -> Option<String> {
        loop {
            let message = conn.prepare(sql).err().map(|e| sqlite_message(&e))?;
            if !self.learn(conn, &message) {
                return Some(message);
            }
        }
    }

    /// `run` on `conn` again while its refusal names a function a stand-in can now stand for;
    /// the last refusal, if any.
    pub fn retried(
        &self,
        conn: &Connection,
        mut run: impl FnMut() -> rusqlite::Result<Option<String>>,
    ) -> rusqlite::Result<Option<String>> {
        loop {
            match run()? {
                Some(message) if self.learn(conn, &message) => continue,
                other => return Ok(other),
            }
        }
    }

    /// Registers the stand-in `message` asks for, if it asks for one that is not there yet:
    /// a scalar for an unknown name, a window function for a stand-in SQLite needs as an
    /// aggregate or a window function. Whether one was registered.
    fn learn(&self, conn: &Connection, message: &str) -> bool {
        if let Some(at) = message.find(UNKNOWN) {
            let name = &message[at + UNKNOWN.len()..];
            let key = name.to_lowercase();
            if name.is_empty() || self.kinds.borrow().contains_key(&key) {
                return false;
            }
            let registered = conn
                .create_scalar_function(name, -1, flags(), |_: &Context<'_>| {
                    Ok(rusqlite::types::Null)
                })
                .is_ok();
            if registered {
                self.kinds.borrow_mut().insert(key, Kind::Scalar);
            }
            return registered;
        }
        let lower = message.to_lowercase();
        let wanted = self
            .kinds
            .borrow()
            .iter()
            .filter(|(_, kind)| **kind == Kind::Scalar)
            .map(|(name, _)| name.clone())
            .find(|name| {
                lower.contains(&format!("{name}() may not be used as a window function"))
                    || lower.contains(&format!(
                        "filter may not be used with non-aggregate {name}()"
                    ))
            });
        let Some(name) = wanted else {
            return false;
        };
        let registered = conn
            .create_window_function(name.as_str(), -1, flags(), Null)
            .is_ok();
        if registered {
            self.kinds.borrow_mut().insert(name, Kind::Window);
        }
        registered
    }
}

/// Usable anywhere a schema object can call a function (a view or a trigger, even where the
/// schema is not trusted).
fn flags() -> FunctionFlags {
    FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_INNOCUOUS
}

/// The window (and aggregate) stand-in: NULL over any rows.
struct Null;

impl Aggregate<(), rusqlite::types::Null> for Null {
    fn init(&self, _: &mut Context<'_>) -> rusqlite::Result<()> {
        Ok(())
    }

    fn step(&self, _: &mut Context<'_>, _: &mut ()) -> rusqlite::Result<()> {
        Ok(())
    }

    fn finalize(
        &self,
        _: &mut Context<'_>,
        _: Option<()>,
    ) -> rusqlite::Result<rusqlite::types::Null> {
        Ok(rusqlite::types::Null)
    }
}

impl WindowAggregate<(), rusqlite::types::Null> for Null {
    fn value(&self, _: Option<&mut ()>) -> rusqlite::Result<rusqlite::types::Null> {
        Ok(rusqlite::types::Null)
    }

    fn inverse(&self, _: &mut Context<'_>, _: &mut ()) -> rusqlite::Result<()> {
        Ok(())
    }
}
