//! Foreign key violations a migration leaves for the commit.
//!
//! With foreign keys on (as a migration runs unless it rebuilds a table), SQLite refuses a
//! statement that breaks a key at once, except a key it defers: one declared `DEFERRABLE
//! INITIALLY DEFERRED`, or every key while `PRAGMA defer_foreign_keys` is on. Those wait for
//! the commit, which the rehearsal never reaches: only the live run would fail (h24_02). So a
//! migration that leaves one waiting is refused, named by the statement after which it first
//! waited and the row `foreign_key_check` reports (h25_05).
//!
//! Turning `defer_foreign_keys` off again (Rails' `disable_referential_integrity` does ON,
//! then OFF) makes SQLite forget the violations the pragma deferred (h26_03): a migration that
//! sets it is held to `foreign_key_check` itself, against the violations the database had
//! before it.

use std::collections::HashSet;

use rusqlite::Connection;

use crate::error::{Error, Result};
use crate::sql::lex;

/// One row of `PRAGMA foreign_key_check`: table, rowid, parent, key id.
type Violation = (String, Option<i64>, String, i64);

/// A migration's waiting violations, followed statement by statement.
pub struct Orphans {
    /// The statement after which a violation first waited: gone when a later one resolves it.
    made: Option<(usize, String)>,
    /// The violations before the migration, read when one of its statements sets
    /// `defer_foreign_keys`.
    before: Option<HashSet<Violation>>,
}

impl Orphans {
    /// Before the statements `texts` of a migration.
    pub fn new<'s>(conn: &Connection, mut texts: impl Iterator<Item = &'s str>) -> Result<Self> {
        let before = match texts.any(sets_defer_foreign_keys) {
            true => Some(violations(conn)?.into_iter().collect()),
            false => None,
        };
        Ok(Orphans { made: None, before })
    }

    /// After statement `index` (from 1), `text`.
    pub fn after(&mut self, conn: &Connection, index: usize, text: &str) {
        match (waiting(conn), &self.made) {
            (true, None) => self.made = Some((index, text.to_string())),
            // Turned off, the pragma forgets what it deferred: the end reads the rows.
            (false, Some(_)) if self.before.is_some() && sets_defer_foreign_keys(text) => {}
            (false, _) => self.made = None,
            (true, Some(_)) => {}
        }
    }

    /// After the last statement (`count`): the statement to name, its text and the message,
    /// when a violation waits for the commit or one is new since the migration began.
    pub fn refused(
        &self,
        conn: &Connection,
        count: usize,
    ) -> Result<Option<(usize, String, String)>> {
        let (index, statement) = self.made.clone().unwrap_or((count, String::new()));
        if waiting(conn) {
            let row = violations(conn)?.into_iter().next();
            return Ok(Some((
                index,
                statement,
                format!(
                    "it leaves a FOREIGN KEY violation waiting for the commit (a deferred key: PRAGMA defer_foreign_keys, or one declared DEFERRABLE INITIALLY DEFERRED){}: refused",
                    row.as_ref().map(said).unwrap_or_default()
                ),
            )));
        }
        let Some(before) = &self.before else {
            return Ok(None);
        };
        Ok(violations(conn)?
            .into_iter()
            .find(|v| !before.contains(v))
            .map(|v| {
                (
                    index,
                    statement,
                    format!(
                        "it sets PRAGMA defer_foreign_keys and leaves a FOREIGN KEY violation{} (turning the pragma off makes SQLite forget the violations it deferred, so the commit would not find it): refused",
                        said(&v)
                    ),
                )
            }))
    }
}

/// True when a foreign key violation waits for the commit.
fn waiting(conn: &Connection) -> bool {
    let (mut current, mut highest) = (0, 0);
    // SAFETY: the handle is `conn`'s open database; the out-pointers are valid locals.
    let rc = unsafe {
        rusqlite::ffi::sqlite3_db_status(
            conn.handle(),
            rusqlite::ffi::SQLITE_DBSTATUS_DEFERRED_FKS,
            &mut current,
            &mut highest,
            0,
        )
    };
    rc == rusqlite::ffi::SQLITE_OK && current > 0
}

/// Every row `PRAGMA foreign_key_check` reports for main (the PRAGMA statement: no object a
/// migration makes can answer for it).
fn violations(conn: &Connection) -> Result<Vec<Violation>> {
    conn.prepare("PRAGMA main.foreign_key_check")
        .and_then(|mut s| {
            s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                .collect()
        })
        .map_err(Error::sqlite_in(
            "check the foreign keys the migration wrote",
        ))
}

/// `: row 3 of "kid" references "par", which has no such row`.
fn said((table, rowid, parent, _): &Violation) -> String {
    format!(
        ": {} of \"{table}\" references \"{parent}\", which has no such row",
        rowid.map_or_else(|| "a row".to_string(), |r| format!("row {r}"))
    )
}

/// True when `text` is `PRAGMA [schema.]defer_foreign_keys = ...` (or `(...)`).
fn sets_defer_foreign_keys(text: &str) -> bool {
    let Ok(tokens) = lex(text) else {
        return false;
    };
    let words: Vec<&str> = tokens.iter().filter_map(|t| t.word()).collect();
    // SQLite reads `==` as `=` (h27_03).
    let set = tokens.iter().any(|t| {
        matches!(
            t.token,
            sqlparser::tokenizer::Token::Eq
                | sqlparser::tokenizer::Token::DoubleEq
                | sqlparser::tokenizer::Token::LParen
        )
    });
    set && words
        .first()
        .is_some_and(|w| w.eq_ignore_ascii_case("PRAGMA"))
        && words
            .iter()
            .take(3)
            .any(|w| w.eq_ignore_ascii_case("defer_foreign_keys"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pragma_is_found_however_it_is_written() {
        for text in [
            "PRAGMA defer_foreign_keys = ON",
            "pragma main.DEFER_FOREIGN_KEYS=off",
            "PRAGMA \"defer_foreign_keys\" (1)",
            "PRAGMA defer_foreign_keys == OFF",
        ] {
            assert!(sets_defer_foreign_keys(text), "{text}");
        }
        for text in [
            "PRAGMA defer_foreign_keys",
            "PRAGMA foreign_keys = OFF",
            "INSERT INTO t VALUES ('PRAGMA defer_foreign_keys = ON')",
        ] {
            assert!(!sets_defer_foreign_keys(text), "{text}");
        }
    }
}
