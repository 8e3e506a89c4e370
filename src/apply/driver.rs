//! A refinery driver around a rusqlite connection that runs migrations safely.
//!
//! refinery hands the driver every pending migration and its history row in one batch
//! (`set_grouped(true)`). The driver switches foreign keys off *before* opening the
//! transaction when a migration drops or rebuilds tables (inside a transaction the pragma is a
//! silent no-op), runs each statement on its own so a failure names it, records each
//! migration's forward and reverse SQL in `_schemactl_migrations`, then checks before the
//! commit: `foreign_key_check`, the row count of every table, and (in a rehearsal) quick_check
//! and the schema against the expected one. A rehearsal rolls everything back at the end.

use std::collections::BTreeMap;

use refinery_core::Migration;
use refinery_core::traits::sync::{Migrate, Query, Transaction};
use rusqlite::Connection;
use rusqlite::fallible_iterator::FallibleIterator;

use crate::db::bookkeeping::{
    CREATE_MIGRATIONS_TABLE, DROPPED_COUNTERS_TABLE, HISTORY_TABLE, MIGRATIONS_TABLE,
    STASH_DROPPED_TABLE,
};
use crate::error::{Error, Result};
use crate::inspect::Inspection;
use crate::migrations;
use crate::model::Schema;
use crate::normal::sqlite_message;
use crate::sql::quote_ident;

use super::counts::NamesAfter;
use super::proof::Proof;

/// Whether changes are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Commit: the real run.
    Live,
    /// Roll back at the end: the rehearsal.
    Rehearsal,
}

/// The refinery driver.
pub struct Driver<'c> {
    conn: &'c Connection,
    mode: Mode,
    pending: Vec<migrations::Migration>,
    expected: Option<&'c Schema>,
    /// The schema the migrations must produce, held as the part they reach of the schema
    /// before them (the second): see [`crate::normal::part::Replaced`].
    expected_part: Option<(&'c crate::normal::part::Replaced, &'c Schema)>,
    /// The inspection of the database before the migrations (or of the file it was copied
    /// from): the schema check reads again only the objects whose catalog rows changed.
    before: Option<&'c Inspection>,
    /// Tables above this many pages get quick_check instead of integrity_check.
    quick_check_pages: i64,
    /// Whether the row-level proof ([`super::proof`]) runs.
    prove: bool,
    /// What the checks found, one line each.
    pub checked: Vec<String>,
    /// Rows may disappear from tables (`--allow-destructive`).
    allow_rows_removed: bool,
    /// The restore statements of the rollback stashes the migrations put back (their rows
    /// change on purpose).
    unstash_sql: Vec<String>,
    /// Refuse a destructive statement that would drop a row (apply without
    /// --allow-destructive): counted in the transaction, just before the statement runs.
    refuse_loss: bool,
    /// The database's identity to record in a live run, in the migrations' transaction (one
    /// commit; see [`crate::db::identity`]).
    identity: Option<crate::db::identity::Identity>,
    /// The live schema the migrations were planned on, and the database (for the message):
    /// checked in a live run's transaction before the first statement.
    planned_on: Option<(super::pipeline::PlannedOn, std::path::PathBuf)>,
    /// Where each table's rows are after the migrations: read by the proof, else once when
    /// the row counts need it.
    names_after: Option<std::rc::Rc<NamesAfter>>,
}

impl<'c> Driver<'c> {
    /// Creates a driver; `expected` is the schema the migrations must produce.
    pub fn new(
        conn: &'c Connection,
        mode: Mode,
        pending: Vec<migrations::Migration>,
        expected: Option<&'c Schema>,
    ) -> Self {
        Driver {
            conn,
            mode,
            pending,
            expected,
            expected_part: None,
            before: None,
            quick_check_pages: QUICK_CHECK_PAGES,
            prove: false,
            checked: Vec::new(),
            allow_rows_removed: false,
            unstash_sql: Vec::new(),
            refuse_loss: false,
            identity: None,
            planned_on: None,
            names_after: None,
        }
    }

    /// The schema the migrations must produce: `start` with the part `expected` replaces
    /// (instead of a whole schema given to [`Driver::new`]).
    pub fn expecting(
        mut self,
        expected: Option<&'c crate::normal::part::Replaced>,
        start: &'c Schema,
    ) -> Self {
        self.expected_part = expected.map(|e| (e, start));
        self
    }

    /// Records `identity` as the database's in a live run, in the same transaction as the
    /// migrations, after their checks: it commits with them, or not at all.
    pub fn recording_identity(mut self, identity: Option<&crate::db::identity::Identity>) -> Self {
        self.identity = identity.cloned();
        self
    }

    /// Refuses, in a live run's transaction before the first statement, when the live schema
    /// is not `planned_on` (see [`super::pipeline::Options::planned_on`]).
    pub fn planned_on(
        mut self,
        planned_on: Option<super::pipeline::PlannedOn>,
        database: &std::path::Path,
    ) -> Self {
        self.planned_on = planned_on.map(|p| (p, database.to_path_buf()));
        self
    }

    /// Lets the migrations remove rows (`--allow-destructive`); without it, a table that has
    /// fewer rows after them stops the run.
    pub fn allow_rows_removed(mut self, allow: bool) -> Self {
        self.allow_rows_removed = allow;
        self
    }

    /// True when a pending migration has a statement that changes rows.
    fn changes_data(&self) -> bool {
        self.pending.iter().any(|p| p.needs().changes_data)
    }

    /// Refuses (`yes`) any destructive statement that would drop a row or a non-NULL value.
    pub fn refusing_loss(mut self, yes: bool) -> Self {
        self.refuse_loss = yes;
        self
    }

    /// Gives the inspection of the database before the migrations (or of the file this one
    /// is a copy of, taken under the same lock): the schema check then reads again only what
    /// changed since, which is what a full inspection would find different (see
    /// [`crate::inspect::inspect_since`]).
    pub fn inspected_before(mut self, before: Option<&'c Inspection>) -> Self {
        self.before = before;
        self
    }

    /// Runs the row-level proof around the migrations when `prove` is true.
    pub fn proving(mut self, prove: bool) -> Self {
        self.prove = prove;
        self
    }

    /// Describes the pending migrations and stores the rows the proof compares afterwards.
    fn prove_before(&self, unstash: &[super::unstash::Planned]) -> Result<Option<Proof>> {
        if !self.prove {
            return Ok(None);
        }
        // An adoption is recorded, never run. A rollback stash put back after a migration
        // changes rows on purpose: its statements are described with the migration's.
        let sql: Vec<String> = self
            .pending
            .iter()
            .filter(|p| p.origin != migrations::Origin::Adopted)
            .map(|p| {
                let mut sql = p.forward.clone();
                for u in unstash.iter().filter(|u| u.version == p.version) {
                    sql.push_str(";\n");
                    sql.push_str(&u.restore);
                }
                sql
            })
            .collect();
        let sql: Vec<&str> = sql.iter().map(String::as_str).collect();
        Proof::prepare(self.conn, &sql).map(Some)
    }

    /// Where each table of `counts_before` has its rows after the migrations (and their
    /// rollback stashes put back): the proof's reading, or one made now.
    fn names_after(&mut self, counts_before: &BTreeMap<String, u64>) -> std::rc::Rc<NamesAfter> {
        if let Some(names) = &self.names_after {
            return std::rc::Rc::clone(names);
        }
        let before: Vec<String> = counts_before.keys().cloned().collect();
        let sql: Vec<&str> = self
            .pending
            .iter()
            .filter(|p| p.origin != migrations::Origin::Adopted)
            .map(|p| p.forward.as_str())
            .chain(self.unstash_sql.iter().map(String::as_str))
            .collect();
        let names = std::rc::Rc::new(NamesAfter::new(super::proof::names_after(&before, &sql)));
        self.names_after = Some(std::rc::Rc::clone(&names));
        names
    }

    /// Compares the rows with the ones [`Driver::prove_before`] stored.
    fn prove_after(&mut self, proof: Option<Proof>) -> Result<()> {
        if let Some(proof) = proof {
            self.names_after = Some(std::rc::Rc::new(NamesAfter::new(proof.names_after())));
            self.checked.push(proof.verify(self.conn)?);
        }
        Ok(())
    }
}

/// Above this many pages (64 MiB at 4 KiB pages) a table gets quick_check in the rehearsal,
/// which skips the cross-check of index contents, instead of integrity_check.
pub const QUICK_CHECK_PAGES: i64 = 16_384;

fn q(context: &str) -> impl Fn(rusqlite::Error) -> Error + '_ {
    move |e| Error::sqlite(context.to_string(), e)
}

impl Transaction for Driver<'_> {
    type Error = Error;

    fn execute<'a, T: Iterator<Item = &'a str>>(&mut self, queries: T) -> Result<usize> {
        let queries: Vec<&str> = queries.collect();
        let history_insert = format!("INSERT INTO {HISTORY_TABLE}");
        if !queries.iter().any(|q| q.starts_with(&history_insert)) {
            // refinery creating its history table, inside the migration transaction.
            for sql in &queries {
                self.conn
                    .execute_batch(sql)
                    .map_err(q("create _schemactl_history"))?;
            }
            return Ok(queries.len());
        }
        self.run_batch(&queries)
    }
}

impl Query<Vec<Migration>> for Driver<'_> {
    fn query(&mut self, query: &str) -> Result<Vec<Migration>> {
        let ctx = "read _schemactl_history";
        let mut stmt = self.conn.prepare(query).map_err(q(ctx))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, i32>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })
            .map_err(q(ctx))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(q(ctx))?;
        rows.into_iter()
            .map(|(version, name, applied_on, checksum)| {
                let bad = |field: &'static str| Error::BadHistoryRow { version, field };
                let applied_on = time::OffsetDateTime::parse(
                    &applied_on,
                    &time::format_description::well_known::Rfc3339,
                )
                .map_err(|_| bad("applied_on"))?;
                let checksum = checksum.parse::<u64>().map_err(|_| bad("checksum"))?;
                Ok(Migration::applied(version, name, applied_on, checksum))
            })
            .collect()
    }
}

impl Migrate for Driver<'_> {}

impl Driver<'_> {
    /// Runs `body` inside the driver's transaction (foreign keys switched off around it when a
    /// migration needs it), commits in a live run when it succeeds, rolls back otherwise, and
    /// returns what the checks found.
    pub fn run(mut self, body: impl FnOnce(&mut Self) -> Result<()>) -> Result<Vec<String>> {
        let restore_fk = self.begin()?;
        let result = body(&mut self).and_then(|()| self.record_identity());
        let ended = self.end(result.is_ok(), restore_fk);
        result?;
        ended?;
        Ok(self.checked)
    }

    /// Writes the identity ([`Driver::recording_identity`]) in a live run, inside the
    /// transaction. A write that fails is undone alone (a savepoint) and noted: the
    /// migrations still commit, and the next write records the identity.
    fn record_identity(&mut self) -> Result<()> {
        let Some(identity) = self.identity.as_ref().filter(|_| self.mode == Mode::Live) else {
            return Ok(());
        };
        self.conn
            .execute_batch("SAVEPOINT schemactl_identity")
            .map_err(q("begin the identity's savepoint"))?;
        match crate::db::identity::write(self.conn, identity) {
            Ok(()) => self
                .conn
                .execute_batch("RELEASE schemactl_identity")
                .map_err(q("release the identity's savepoint")),
            Err(e) => {
                self.conn
                    .execute_batch("ROLLBACK TO schemactl_identity; RELEASE schemactl_identity")
                    .map_err(q("undo the identity's write"))?;
                self.checked.push(format!(
                    "warning: the database's identity was not recorded ({e}); the next write records one"
                ));
                Ok(())
            }
        }
    }

    /// Begins the migration transaction, switching foreign keys off first when needed;
    /// returns whether they must be switched back on.
    fn begin(&self) -> Result<bool> {
        let fk_on: bool = self
            .conn
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .map_err(q("read PRAGMA foreign_keys"))?;
        let switch = fk_on && self.pending.iter().any(|p| p.needs().foreign_keys_off);
        if self.prove {
            // The proof's TEMP tables go to a file, so a million rows stay out of memory
            // (the pragma cannot change inside a transaction).
            self.conn
                .execute_batch("PRAGMA temp_store = FILE")
                .map_err(q("set temp_store"))?;
        }
        if switch {
            self.conn
                .execute_batch("PRAGMA foreign_keys = OFF")
                .map_err(q("switch foreign keys off"))?;
        }
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(q("begin the migration transaction"))?;
        Ok(switch)
    }

    /// Ends the transaction opened by [`Driver::begin`]: commits when `ok` in a live run,
    /// rolls back otherwise, and restores foreign keys.
    fn end(&self, ok: bool, restore_fk: bool) -> Result<()> {
        let result = if ok && self.mode == Mode::Live {
            self.conn
                .execute_batch("COMMIT")
                .map_err(q("commit the migrations"))
        } else {
            if !self.conn.is_autocommit() {
                self.conn
                    .execute_batch("ROLLBACK")
                    .map_err(q("roll back"))?;
            }
            Ok(())
        };
        if restore_fk {
            self.conn
                .execute_batch("PRAGMA foreign_keys = ON")
                .map_err(q("switch foreign keys back on"))?;
        }
        result
    }

    fn run_batch(&mut self, queries: &[&str]) -> Result<usize> {
        // The transaction was opened by the pipeline (see apply::run_refinery) before refinery
        // asked for anything, so the history table, the migrations and the checks share it.
        if let (Some((planned_on, database)), Mode::Live) = (&self.planned_on, self.mode) {
            let stems: Vec<String> = self.pending.iter().map(|p| p.stem()).collect();
            planned_on.check(self.conn, database, &stems, self.before)?;
        }
        let counts_before = if self.mode == Mode::Rehearsal || self.changes_data() {
            row_counts(self.conn)?
        } else {
            BTreeMap::new()
        };
        let (unstash, kept) = super::unstash::planned(self.conn, &self.pending)?;
        self.checked.extend(kept);
        self.unstash_sql = unstash.iter().map(|u| u.restore.clone()).collect();
        let proof = self.prove_before(&unstash)?;
        let statistics = super::statistics::Statistics::read(self.conn)?;
        let history_insert = format!("INSERT INTO {HISTORY_TABLE}");
        let mut index = 0;
        for sql in queries {
            if let Some(rest) = sql.strip_prefix(&history_insert) {
                // Main's history table: a TEMP table of the same name, which a migration
                // could have made, never takes the row.
                self.conn
                    .execute_batch(&format!("INSERT INTO main.{HISTORY_TABLE}{rest}"))
                    .map_err(q("record the migration in _schemactl_history"))?;
                index += 1;
                continue;
            }
            let Some(p) = self.pending.get(index) else {
                return Err(Error::UnplannedMigration);
            };
            // An adoption (a database's schema before its first sync) is recorded, never
            // run: the database has it already.
            if p.origin != migrations::Origin::Adopted {
                run_statements(self.conn, sql, p, self.refuse_loss && p.needs().destructive)?;
            }
            // A rollback stash of this migration goes back before the later ones run.
            for u in unstash.iter().filter(|u| u.version == p.version) {
                let line = super::unstash::restore(self.conn, u, &p.forward)?;
                self.checked.push(line);
            }
        }
        self.prove_after(proof)?;
        statistics.restore(self.conn, &mut self.checked)?;
        self.conn
            .execute_batch(CREATE_MIGRATIONS_TABLE)
            .map_err(q("create _schemactl_migrations"))?;
        for p in &self.pending {
            let checksum = p.checksum.map(|c| c.to_string()).unwrap_or_default();
            self.conn
                .execute(
                    "INSERT OR REPLACE INTO main._schemactl_migrations (version, name, kind, forward, reverse, checksum, applied_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    rusqlite::params![p.version, p.name, p.origin.kind(), p.forward, p.reverse, checksum, crate::db::now_rfc3339()],
                )
                .map_err(q("record the migration in _schemactl_migrations"))?;
        }
        self.check(&counts_before)?;
        Ok(queries.len())
    }

    /// Runs the reverse of the pending migrations, in the order given (newest first); here
    /// each one's `forward` holds its reverse SQL. Removes their history rows in the same
    /// transaction, then checks as a migration run does.
    pub fn run_reverse(&mut self) -> Result<()> {
        let counts_before = if self.mode == Mode::Rehearsal || self.changes_data() {
            row_counts(self.conn)?
        } else {
            BTreeMap::new()
        };
        let proof = self.prove_before(&[])?;
        let statistics = super::statistics::Statistics::read(self.conn)?;
        for p in &self.pending {
            run_statements(self.conn, &p.forward, p, false)?;
            for table in [
                HISTORY_TABLE,
                MIGRATIONS_TABLE,
                STASH_DROPPED_TABLE,
                DROPPED_COUNTERS_TABLE,
            ] {
                let exists =
                    crate::db::table_exists(self.conn, table).map_err(q("read the history"))?;
                if !exists {
                    continue;
                }
                self.conn
                    .execute(
                        &format!("DELETE FROM {table} WHERE version = ?1"),
                        [p.version],
                    )
                    .map_err(q("remove the migration from the history"))?;
            }
        }
        self.prove_after(proof)?;
        statistics.restore(self.conn, &mut self.checked)?;
        self.check(&counts_before)
    }

    /// Checks what the migrations could have broken, inside their transaction: foreign
    /// keys; in the rehearsal also row counts and integrity; then the schema.
    fn check(&mut self, counts_before: &BTreeMap<String, u64>) -> Result<()> {
        self.check_foreign_keys()?;
        // Every table counted once after the migrations (the checks below only read: the
        // counts stay true for all of them, in the same transaction).
        let counts_after = if self.changes_data() || self.mode == Mode::Rehearsal {
            Some(row_counts(self.conn)?)
        } else {
            None
        };
        if self.changes_data()
            && let Some(after) = &counts_after
        {
            self.check_rows_removed(counts_before, after)?;
        }
        if self.mode == Mode::Live {
            // The rehearsal counted every table on the same data; the live run checks the
            // foreign keys (above) and the schema (below), and keeps its transaction short.
            return self.check_schema();
        }
        let counts_after = match counts_after {
            Some(after) => after,
            None => row_counts(self.conn)?,
        };
        self.check_row_counts(counts_before, &counts_after)?;
        self.check_integrity(&counts_after)?;
        self.check_schema()
    }

    /// Runs `foreign_key_check` on the tables the migrations could have broken: those their
    /// headers name, or every table for a hand-written migration that drops one.
    fn check_foreign_keys(&mut self) -> Result<()> {
        let tables = match super::unfit::fk_checked(&self.pending) {
            super::unfit::FkChecked::Nothing => return Ok(()),
            super::unfit::FkChecked::Tables(t) => t,
            super::unfit::FkChecked::All => row_counts(self.conn)?.into_keys().collect(),
        };
        super::check_foreign_keys(self.conn, &tables)?;
        self.checked
            .push(format!("foreign_key_check: ok ({} table(s))", tables.len()));
        Ok(())
    }

    /// Runs `integrity_check` (or `quick_check` on large tables) on the tables the migrations
    /// mention.
    fn check_integrity(&mut self, counts_after: &BTreeMap<String, u64>) -> Result<()> {
        // Integrity of what the migrations touched (every table a statement mentions):
        // integrity_check, or quick_check above QUICK_CHECK_PAGES.
        // Each migration lexed once; an adoption is recorded, never run: it touches nothing.
        let words: Vec<crate::sql::Mentions> = self
            .pending
            .iter()
            .filter(|p| p.origin != migrations::Origin::Adopted)
            .map(|p| crate::sql::Mentions::new(&p.forward))
            .collect();
        let touched: Vec<&String> = counts_after
            .keys()
            .filter(|t| words.iter().any(|w| w.mentions(t)))
            .collect();
        let mut not_checked = Vec::new();
        for table in &touched {
            let pages: i64 = self
                .conn
                .query_row(
                    "SELECT count(*) FROM dbstat WHERE name = ?1",
                    [table],
                    |r| r.get(0),
                )
                .unwrap_or(0);
            let pragma = if pages > self.quick_check_pages {
                "quick_check"
            } else {
                "integrity_check"
            };
            let result: String = match self.conn.query_row(
                &format!("PRAGMA main.{pragma}({})", quote_ident(table)),
                [],
                |r| r.get(0),
            ) {
                // A table whose b-tree (its WITHOUT ROWID key, an index) or CHECK needs a
                // collation this build lacks: SQLite can check none of it without it. Nor can
                // any statement write its rows (each insert or update compares in it): the
                // migrations could only rename, empty or drop it, which the row counts see.
                Err(e) => match crate::db::missing_collation(&e) {
                    Some(collation) => {
                        not_checked.push(format!(
                            "\"{table}\" (collation \"{collation}\" is not in this build of SQLite, and no statement can write its rows without it)"
                        ));
                        continue;
                    }
                    None => return Err(q("check integrity")(e)),
                },
                Ok(result) => result,
            };
            if result != "ok" {
                return Err(Error::IntegrityFailed {
                    check: pragma,
                    table: table.to_string(),
                    result,
                });
            }
        }
        let mut line = format!("integrity: ok ({} table(s) touched)", touched.len());
        if !not_checked.is_empty() {
            line.push_str(&format!("; not checked: {}", not_checked.join(", ")));
        }
        self.checked.push(line);
        Ok(())
    }

    /// Compares the schema inside the transaction with the one the migrations should produce.
    fn check_schema(&mut self) -> Result<()> {
        if self.expected.is_none() && self.expected_part.is_none() {
            return Ok(());
        }
        let same = match (self.expected, self.expected_part, self.before) {
            // The expected schema is `before`'s with a part replaced: the tables whose catalog
            // rows are as `before` read them are `before`'s own, compared without a copy.
            (None, Some((part, start)), Some(before)) if std::ptr::eq(start, &before.schema) => {
                let (got, unchanged) = crate::inspect::schema_changed_since(self.conn, before)?;
                part.matches_except(start, &got, &unchanged)
            }
            (Some(expected), _, _) => {
                &crate::inspect::schema_since(self.conn, self.before)? == expected
            }
            (None, Some((part, start)), _) => part.matches(
                start,
                &crate::inspect::schema_since(self.conn, self.before)?,
            ),
            (None, None, _) => true,
        };
        if !same {
            let got = crate::inspect::schema_since(self.conn, self.before)?;
            // Built whole only to say how it differs.
            let expected = match (self.expected, self.expected_part) {
                (Some(expected), _) => expected.clone(),
                (None, Some((part, start))) => part.schema(start),
                (None, None) => got.clone(),
            };
            return Err(Error::UnexpectedSchema {
                difference: crate::normal::describe_difference(&expected, &got),
            });
        }
        self.checked.push("schema: as expected".into());
        Ok(())
    }
}

/// Runs one migration's SQL statement by statement, naming the failing one: statements are
/// split by schemactl's own lexer and numbered from 1, so that a statement SQLite cannot even
/// prepare is still named by its text. With `refuse_loss`, a statement that drops a table or
/// column holding data is refused (the count and the drop share the transaction, so no row
/// appears in between).
fn run_statements(
    conn: &Connection,
    sql: &str,
    p: &migrations::Migration,
    refuse_loss: bool,
) -> Result<()> {
    let migration = format!("V{}__{} ({})", p.version, p.name, p.origin);
    // SQLite itself refuses, as it prepares each statement, one that would end or escape the
    // transaction: whatever schemactl's lexer makes of the text (see db::confined).
    let _confined = crate::db::confined::Confined::new(conn);
    let before = super::leftovers::Before::read(conn)?;
    let texts = migrations::statements::texts(sql);
    let mut orphans = super::orphans::Orphans::new(conn, texts.iter().copied())?;
    let mut count = 0;
    for (i, text) in texts.into_iter().enumerate() {
        count = i + 1;
        let refused = |message: String, constraint: bool| Error::MigrationStatement {
            index: i + 1,
            migration: migration.clone(),
            statement: text.to_string(),
            message,
            constraint,
        };
        let fail = |message: String| refused(message, false);
        // Stored SQL (a reverse kept at apply time) does not come through the file loader's
        // check: refuse transaction control here too, before it can commit anything.
        if let Some(why) = migrations::statements::refused(text) {
            return Err(fail(why));
        }
        // A batch, not one prepared statement: should the split ever keep two statements
        // together, both still run (one prepared statement would skip the second).
        let mut batch = rusqlite::Batch::new(conn, text);
        loop {
            let mut stmt = match batch.next() {
                Ok(Some(stmt)) => stmt,
                Ok(None) => break,
                Err(e) if crate::db::confined::is_refusal(&e) => {
                    return Err(fail(crate::db::confined::REFUSAL.into()));
                }
                Err(e) => return Err(fail(sqlite_message(&e))),
            };
            if refuse_loss {
                let one = stmt.expanded_sql().unwrap_or_else(|| text.to_string());
                for dropped in migrations::drops(&one) {
                    // A TEMP table's rows end with the connection whatever the statement does
                    // (the migration made it: the run's connection has none of its own).
                    let found = super::drop_estimate::found_in(conn, &dropped)?;
                    if found == Some(crate::sql::Schema::Temp) {
                        continue;
                    }
                    let rows = super::drop_estimate::rows_lost(conn, &dropped)?;
                    if rows > 0 {
                        let dropped = migrations::Dropped {
                            schema: found.unwrap_or(dropped.schema),
                            ..dropped
                        };
                        return Err(Error::DestructiveRefused {
                            migrations: vec![format!(
                                "{} ({}: {})",
                                p.stem(),
                                p.origin,
                                super::drop_estimate::describe_loss(&dropped, rows)
                            )],
                        });
                    }
                }
            }
            crate::db::run_to_end(&mut stmt).map_err(|e| {
                let constraint =
                    e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation);
                refused(sqlite_message(&e), constraint)
            })?;
            if conn.is_autocommit() {
                return Err(fail(
                    "the statement ended the migration's transaction".into(),
                ));
            }
        }
        orphans.after(conn, i + 1, text);
    }
    // Nothing of the migration outlives its statements but the database (see leftovers).
    // Before the settings are put back (turning defer_foreign_keys off forgets violations).
    if let Some((index, statement, message)) = orphans.refused(conn, count)? {
        let constraint = true;
        return Err(Error::MigrationStatement {
            index,
            migration,
            statement,
            message,
            constraint,
        });
    }
    if let Some(refused) = before.end(conn)? {
        return Err(Error::MigrationStatement {
            index: count,
            migration,
            statement: refused.statement,
            message: refused.message,
            constraint: refused.constraint,
        });
    }
    Ok(())
}

/// Row counts of every user table (schemactl's own tables aside).
pub fn row_counts(conn: &Connection) -> Result<BTreeMap<String, u64>> {
    crate::db::row_counts(conn, crate::db::Tables::User)
}

#[path = "driver_counts.rs"]
mod counts_check;

#[cfg(test)]
#[path = "driver_tests.rs"]
mod tests;
