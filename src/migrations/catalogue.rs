//! The catalogue: the migration files, the syncs recorded in the database and any migration
//! about to run, together with the database's history. It answers which migrations are
//! applied, pending, divergent or missing, verifies the history before a run, replays
//! migrations in memory to give the schema they build, and gives the next version number.

use std::path::Path;

use rusqlite::Connection;

use super::history::{self, Applied, Recorded};
use super::{Migration, Origin};
use crate::error::{Error, Result};
use crate::model::Schema;
use crate::normal::part::Replaced;

/// The migrations and the history of one database.
#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    /// Every migration, by version: the files, the recorded syncs, and the extra ones.
    pub migrations: Vec<Migration>,
    /// refinery's history, oldest first.
    pub applied: Vec<Applied>,
}

/// What the catalogue says about one applied migration.
#[derive(Debug, Clone, Copy)]
pub enum AppliedState<'a> {
    /// It is among the migrations, unchanged.
    Unchanged(&'a Migration),
    /// It is among the migrations, but its name or SQL changed since it was applied (or
    /// refinery refuses its name, see [`Migration::refinery`]).
    Divergent(&'a Migration),
    /// It is no longer among the migrations.
    Missing,
}

/// Applied, pending, divergent and missing migrations.
#[derive(Debug, Clone)]
pub struct Status<'a> {
    /// The highest applied version.
    pub current: Option<i32>,
    /// refinery's history, oldest first.
    pub applied: &'a [Applied],
    /// The migrations not applied yet, by version.
    pub pending: Vec<&'a Migration>,
    /// The applied migrations that changed since.
    pub divergent: Vec<&'a Migration>,
    /// The applied migrations that are gone.
    pub missing: Vec<&'a Applied>,
}

impl Catalogue {
    /// Builds the catalogue from the migration files, the database's history and `extra`
    /// (migrations that are not files, run after them). Two migrations with one version are
    /// an error.
    pub fn new(
        files: Vec<Migration>,
        applied: Vec<Applied>,
        recorded: Vec<Recorded>,
        extra: &[Migration],
    ) -> Result<Self> {
        let mut migrations = files;
        // Recorded syncs and adoptions are migrations too, unless a file is the same migration
        // (`plan --write` writes a sync as a file with its version, name and text; `baseline`
        // records files). A file with the same version and another name stays a conflict.
        // The recorded texts move into their migrations: not held twice.
        for r in recorded {
            let origin = match r.kind.as_str() {
                "sync" => Origin::Sync,
                "adopted" => Origin::Adopted,
                _ => continue,
            };
            if migrations
                .iter()
                .any(|m| m.version == r.version && m.name == r.name)
            {
                continue;
            }
            migrations.push(Migration::new(
                r.version, r.name, r.forward, r.reverse, origin,
            ));
        }
        migrations.extend(extra.iter().cloned());
        migrations.sort_by_key(|m| m.version);
        for pair in migrations.windows(2) {
            if pair[0].version == pair[1].version {
                return Err(Error::DuplicateVersion {
                    first: pair[0].origin.to_string(),
                    second: pair[1].origin.to_string(),
                    version: Some(pair[0].version),
                });
            }
        }
        Ok(Catalogue {
            migrations,
            applied,
        })
    }

    /// Loads the files of `dir` (reverses in `rollbacks`) and, when `conn` is given, the
    /// history of that database.
    pub fn read(dir: &Path, rollbacks: &Path, conn: Option<&Connection>) -> Result<Self> {
        let files = super::load(dir, rollbacks)?;
        let (applied, recorded) = match conn {
            Some(conn) => (history::applied(conn)?, history::recorded(conn)?),
            None => (Vec::new(), Vec::new()),
        };
        Catalogue::new(files, applied, recorded, &[])
    }

    /// Returns the highest applied version.
    pub fn current_version(&self) -> Option<i32> {
        self.applied.iter().map(|a| a.version).max()
    }

    /// Returns the version the next migration gets: one above every file and every applied
    /// migration.
    pub fn next_version(&self) -> i32 {
        self.files()
            .map(|m| m.version)
            .chain(self.applied.iter().map(|a| a.version))
            .max()
            .unwrap_or(0)
            + 1
    }

    /// Returns the migrations that are files.
    pub fn files(&self) -> impl Iterator<Item = &Migration> {
        self.migrations
            .iter()
            .filter(|m| matches!(m.origin, Origin::File { .. }))
    }

    fn is_applied(&self, version: i32) -> bool {
        self.applied.iter().any(|a| a.version == version)
    }

    /// Returns the applied migrations that are in the catalogue, by version.
    pub fn applied_migrations(&self) -> impl Iterator<Item = &Migration> {
        self.migrations
            .iter()
            .filter(|m| self.is_applied(m.version))
    }

    /// Returns the migrations not applied yet, by version.
    pub fn pending(&self) -> impl Iterator<Item = &Migration> {
        self.migrations
            .iter()
            .filter(|m| !self.is_applied(m.version))
    }

    /// Returns what the catalogue says about each applied migration, oldest first.
    pub fn states(&self) -> impl Iterator<Item = (&Applied, AppliedState<'_>)> {
        self.applied.iter().map(|a| {
            let state = match self.migrations.iter().find(|m| m.version == a.version) {
                None => AppliedState::Missing,
                Some(m) => {
                    let same_sql = m.checksum.map(|c| c.to_string()).as_ref() == Some(&a.checksum);
                    if same_sql && m.name == a.name {
                        AppliedState::Unchanged(m)
                    } else {
                        AppliedState::Divergent(m)
                    }
                }
            };
            (a, state)
        })
    }

    /// Returns the applied, pending, divergent and missing migrations.
    pub fn status(&self) -> Status<'_> {
        let mut divergent = Vec::new();
        let mut missing = Vec::new();
        for (a, state) in self.states() {
            match state {
                AppliedState::Unchanged(_) => {}
                AppliedState::Divergent(m) => divergent.push(m),
                AppliedState::Missing => missing.push(a),
            }
        }
        Status {
            current: self.current_version(),
            applied: &self.applied,
            pending: self.pending().collect(),
            divergent,
            missing,
        }
    }

    /// Checks the history against the migrations: every applied migration must still be
    /// there, unchanged, and no pending one may be older than the newest applied one.
    /// Returns the pending ones.
    pub fn verify(&self) -> Result<Vec<&Migration>> {
        for (a, state) in self.states() {
            match state {
                AppliedState::Unchanged(_) => {}
                AppliedState::Missing => {
                    return Err(Error::MissingMigration {
                        version: a.version,
                        name: a.name.clone(),
                        applied_on: a.applied_on.clone(),
                    });
                }
                AppliedState::Divergent(m) => {
                    // refinery's refusal of the name, when that is why, says more.
                    m.refinery()?;
                    return Err(Error::Divergent {
                        migration: m.origin.to_string(),
                        applied_on: a.applied_on.clone(),
                    });
                }
            }
        }
        let pending: Vec<&Migration> = self.pending().collect();
        if let Some(max) = self.current_version()
            && let Some(old) = pending.iter().find(|m| m.version < max)
        {
            return Err(Error::OutOfOrder {
                migration: old.origin.to_string(),
                version: old.version,
                applied: max,
            });
        }
        Ok(pending)
    }

    /// Returns the schema every migration builds, replayed from empty in memory.
    pub fn expected_schema(&self) -> Result<Schema> {
        expected_schema(&self.migrations)
    }

    /// Returns the schema the migrations up to `version` build (none: the empty schema).
    pub fn expected_at(&self, version: Option<i32>) -> Result<Schema> {
        expected_schema(
            self.migrations
                .iter()
                .filter(|m| version.is_some_and(|v| m.version <= v)),
        )
    }
}

/// Returns the schema `list` builds, replayed from empty in memory.
pub fn expected_schema<'a>(list: impl IntoIterator<Item = &'a Migration>) -> Result<Schema> {
    let list: Vec<&Migration> = list.into_iter().collect();
    // A history that starts with an adoption of thousands of objects: the adoption is
    // replayed in batches, and what follows on the part of it that it reaches.
    if let Some((first, rest)) = list.split_first()
        && first.origin == Origin::Adopted
        && let Some(adopted) = super::adoption::replayed(&first.forward)
    {
        let how = "replayed from empty";
        return Ok(replay_part(&adopted, &[], rest.iter().copied(), how)?.into_schema(adopted));
    }
    replay(&Schema::default(), list, "replayed from empty")
}

/// Returns the schema `pending` produces on the live schema: the live schema created in
/// memory, the pending SQL run on it, the result inspected.
pub fn expected_after<'a>(
    live: &Schema,
    pending: impl IntoIterator<Item = &'a Migration>,
) -> Result<Schema> {
    Ok(expected_part(live, pending)?.schema(live))
}

/// What [`expected_after`] returns, held as the part of `live` the migrations reach: the
/// rest is `live` itself (see [`Replaced::matches`]).
pub fn expected_part<'a>(
    live: &Schema,
    pending: impl IntoIterator<Item = &'a Migration>,
) -> Result<Replaced> {
    // An adoption records the schema the database has already: it does not run on it.
    let running = pending.into_iter().filter(|m| m.origin != Origin::Adopted);
    replay_part(live, &[], running, "on the live schema")
}

/// Like [`expected_after`], with `setup` run first on the scratch database: the bookkeeping
/// tables (stashes) the SQL reads, which the schema model leaves out.
pub fn expected_after_with<'a>(
    live: &Schema,
    setup: &[String],
    pending: impl IntoIterator<Item = &'a Migration>,
) -> Result<Schema> {
    replay_with(live, setup, pending, "on the live schema")
}

/// Runs an adoption's statements one by one, leaving out the CREATE TABLE of a table that is
/// already there as the shadow table of a virtual table created before it: adoptions recorded
/// before they left shadow tables out hold both, and the virtual table makes its own.
fn replay_adoption(conn: &rusqlite::Connection, sql: &str) -> rusqlite::Result<()> {
    // Only a virtual table made earlier in the replay has shadow tables: until one is, no
    // table is asked about (an adoption of thousands of tables asked once per table).
    let mut virtual_made = conn.query_row(
        "SELECT count(*) > 0 FROM pragma_table_list WHERE schema = 'main' AND type = 'virtual'",
        [],
        |r| r.get::<_, bool>(0),
    )?;
    for statement in super::statements::texts(sql) {
        let shadow = virtual_made
            && crate::parse::parse_table(statement)
                .ok()
                .map(|t| {
                    conn.query_row(
                        "SELECT count(*) FROM pragma_table_list(?1) \
                         WHERE schema = 'main' AND type = 'shadow'",
                        [t.name.as_str()],
                        |r| r.get::<_, i64>(0),
                    )
                })
                .transpose()?
                .is_some_and(|n| n > 0);
        if !shadow {
            conn.execute_batch(statement)?;
            virtual_made = virtual_made || creates_virtual_table(statement);
        }
    }
    Ok(())
}

/// Whether `statement` is a `CREATE VIRTUAL TABLE`.
fn creates_virtual_table(statement: &str) -> bool {
    let words: Vec<String> = crate::sql::lex(statement)
        .map(|tokens| {
            tokens
                .iter()
                .filter_map(|t| t.word().map(str::to_ascii_uppercase))
                .take(2)
                .collect()
        })
        .unwrap_or_default();
    words.first().is_some_and(|w| w == "CREATE") && words.get(1).is_some_and(|w| w == "VIRTUAL")
}

/// Creates `start` in memory, runs `list` on it with foreign keys off, and inspects the result.
fn replay<'a>(
    start: &Schema,
    list: impl IntoIterator<Item = &'a Migration>,
    how: &'static str,
) -> Result<Schema> {
    replay_with(start, &[], list, how)
}

fn replay_with<'a>(
    start: &Schema,
    setup: &[String],
    list: impl IntoIterator<Item = &'a Migration>,
    how: &'static str,
) -> Result<Schema> {
    Ok(replay_part(start, setup, list, how)?.schema(start))
}

/// [`replay_with`], the result held as the part replayed ([`Replaced`]).
fn replay_part<'a>(
    start: &Schema,
    setup: &[String],
    list: impl IntoIterator<Item = &'a Migration>,
    how: &'static str,
) -> Result<Replaced> {
    let list: Vec<&Migration> = list.into_iter().collect();
    // Only the part of `start` the SQL can reach is created and replayed on; the rest stays
    // as it is (SQLite rereads its catalog on every CREATE: the whole of a schema of
    // thousands of tables would cost seconds).
    let texts: Vec<&str> = list
        .iter()
        .map(|m| m.forward.as_str())
        .chain(setup.iter().map(String::as_str))
        .collect();
    let scope = crate::normal::part::reach(start, &texts);
    let part = match &scope {
        Some(names) => crate::normal::part::within(start, names),
        None => start.clone(),
    };
    let conn = crate::normal::create_in_memory(&part).map_err(|e| Error::Materialise {
        object: e.object.to_string(),
        message: e.message,
    })?;
    for sql in setup {
        conn.execute_batch(sql)
            .map_err(|e| Error::sqlite("create the stash tables in a scratch database", e))?;
    }
    conn.execute_batch("PRAGMA foreign_keys = OFF")
        .map_err(|e| Error::sqlite("open a scratch database", e))?;
    // A replay, like a run, keeps to its own database (an ATTACH would create a file).
    let _confined = crate::db::confined::Confined::new(&conn);
    // Each migration replays as a run runs it: its settings put back after it.
    let settings = crate::db::confined::settings(&conn)
        .map_err(|e| Error::sqlite("open a scratch database", e))?;
    for m in list {
        let replayed = if m.origin == Origin::Adopted {
            replay_adoption(&conn, &m.forward)
        } else {
            conn.execute_batch(&m.forward)
        }
        .and_then(|()| crate::db::confined::put_back(&conn, &settings));
        replayed.map_err(|e| Error::Replay {
            migration: m.stem(),
            origin: m.origin.to_string(),
            how,
            message: crate::normal::sqlite_message(&e),
        })?;
    }
    let got = crate::inspect(&conn)?;
    Ok(Replaced::new(scope, got))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An adoption of a database with an FTS5 table, as adoptions were recorded before they
    /// left shadow tables out: the virtual table's CREATE, then its shadow tables' own.
    const OLD_ADOPTION: &str = "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);
CREATE VIRTUAL TABLE docs USING fts5(body);
CREATE TABLE 'docs_data'(id INTEGER PRIMARY KEY, block BLOB);
CREATE TABLE 'docs_idx'(segid, term, pgno, PRIMARY KEY(segid, term)) WITHOUT ROWID;
CREATE TABLE 'docs_content'(id INTEGER PRIMARY KEY, c0);
CREATE TABLE 'docs_docsize'(id INTEGER PRIMARY KEY, sz BLOB);
CREATE TABLE 'docs_config'(k PRIMARY KEY, v) WITHOUT ROWID;
";

    #[test]
    fn an_adoption_holding_shadow_tables_replays_and_a_sync_migration_does_not_skip_them() {
        let adopted = Migration::new(1, "adopted", OLD_ADOPTION, None, Origin::Adopted);
        let schema = expected_schema([&adopted]).expect("the adoption replays");
        assert!(schema.table("t").is_some());
        assert_eq!(
            schema.virtual_tables.len(),
            1,
            "{:?}",
            schema.virtual_tables
        );
        // Only an adoption is read that way: a migration that creates a table a virtual
        // table already made is refused as SQLite refuses it.
        let synced = Migration::new(1, "sync", OLD_ADOPTION, None, Origin::Sync);
        let e = expected_schema([&synced]).unwrap_err().to_string();
        assert!(
            e.contains("docs_data") && e.contains("already exists"),
            "{e}"
        );
    }
}
