//! What a migration's statements leave on the connection besides the database: TEMP objects,
//! and triggers on schemactl's own tables. Both would act after the migration's checks.
//!
//! - A TEMP table, view or trigger lives only as long as the connection, and the connection
//!   goes on to schemactl's own work: putting a stash back, deleting a rollback's history
//!   rows, the next migration's steps, the records written at the end. A TEMP trigger there
//!   fires on schemactl's writes after every check (h21_01), and a TEMP table named like one
//!   of schemactl's hides it (h21_02, h21_04, h21_06). So every TEMP object a migration makes
//!   is dropped as soon as its statements have run: nothing of a migration outlives its own
//!   statements but the database.
//! - A trigger in the database on one of schemactl's own tables (`_schemactl_*`) would fire
//!   when schemactl records the run, after the checks: a migration that makes one is refused.
//! - The settings a migration may use for its own statements (`legacy_alter_table`,
//!   `defer_foreign_keys`) are put back after them (a foreign key violation left waiting for
//!   the commit is [`super::orphans`]').
//! - A TEMP AUTOINCREMENT table leaves TEMP's `sqlite_sequence`, which SQLite never drops and
//!   which would answer for main's in schemactl's own steps: a migration that makes it is
//!   refused.

use rusqlite::Connection;

use crate::error::{Error, Result};
use crate::sql::quote_ident;

/// Why a migration is refused after its statements.
pub struct Refused {
    /// The statement to show (empty when no one statement is the cause).
    pub statement: String,
    pub message: String,
    /// A constraint is the cause (a foreign key).
    pub constraint: bool,
}

/// The connection's TEMP objects and the triggers on schemactl's own tables, before a
/// migration's statements run.
pub struct Before {
    /// Each TEMP object's type and name (triggers have a namespace of their own).
    temp: Vec<(String, String)>,
    /// Whether TEMP held a `sqlite_sequence`.
    sequence: bool,
    ours: Vec<String>,
    /// The triggers of main whose text names one of schemactl's tables ([`NAMING_OURS`]), by
    /// name and text: one dropped and made again with another body is a new one (h27_04).
    naming_ours: Vec<(String, String)>,
    /// The objects named like schemactl's records ([`RECORD_OBJECTS`]).
    records: Vec<(String, String, String)>,
    /// Objects of main named like a built-in table-valued function ([`BUILT_IN_NAMES`]).
    built_in: Vec<String>,
    /// The connection settings a migration may set for its own statements, with their values
    /// before it: put back after them, so that no setting reaches the next migration or
    /// schemactl's own steps (h24_01: `legacy_alter_table` left ON made the next migration's
    /// RENAME leave a view reading the old name).
    settings: Vec<(&'static str, i64)>,
}

/// Every TEMP table, view and trigger, whatever its name (`PRAGMA writable_schema` lets a
/// statement take a `sqlite_` name: h22_03), but `sqlite_sequence` (see
/// [`Before::made_sequence`]).
const TEMP_OBJECTS: &str = "SELECT type, name, coalesce(sql, '') FROM temp.sqlite_schema \
     WHERE type IN ('table', 'view', 'trigger') AND name <> 'sqlite_sequence'";

/// Whether TEMP holds a `sqlite_sequence`.
const TEMP_SEQUENCE: &str =
    "SELECT count(*) FROM temp.sqlite_schema WHERE type = 'table' AND name = 'sqlite_sequence'";

/// Objects of main named like one of SQLite's built-in table-valued functions, which a view or
/// table of that name shadows wherever it is read without a schema: schemactl's own
/// inspection, proof and checks read `pragma_table_list`, `pragma_table_xinfo`, `dbstat`, ...
/// (h25_01: a view named `pragma_table_list` blinded the proof and the schema check).
const BUILT_IN_NAMES: &str = "SELECT type, name, coalesce(sql, '') FROM main.sqlite_schema \
     WHERE type IN ('table', 'view') AND (lower(name) GLOB 'pragma_*' OR lower(name) IN \
     ('dbstat', 'json_each', 'json_tree', 'jsonb_each', 'jsonb_tree', 'sqlite_dbpage', \
     'sqlite_stmt', 'fts5vocab'))";

const OUR_TRIGGERS: &str = "SELECT name, tbl_name, coalesce(sql, '') FROM main.sqlite_schema \
     WHERE type = 'trigger' AND lower(substr(tbl_name, 1, 11)) = '_schemactl_'";

/// Objects of main and TEMP named like schemactl's records of what ran: a statement may not make
/// one (SQLite's authorizer refuses most ways), but `ALTER TABLE x RENAME TO` names the new
/// table nowhere the authorizer sees (h26_05).
/// Which names are records is [`crate::db::confined::is_record_name`]'s: [`record_objects`]
/// keeps those of the `_schemactl_` objects this reads.
const RECORD_OBJECTS: &str = "SELECT 'main', name, coalesce(sql, '') FROM main.sqlite_schema \
     WHERE instr(lower(name), '_schemactl_') = 1 \
     UNION ALL SELECT 'temp', name, coalesce(sql, '') FROM temp.sqlite_schema \
     WHERE instr(lower(name), '_schemactl_') = 1";

/// Triggers of main whose text names one of schemactl's tables: [`Before::end`] refuses a new
/// one whose body writes its records (h26_04: a trigger on an application table, fired later
/// by `prune` or by the application itself, rewrote `_schemactl_history`).
const NAMING_OURS: &str = "SELECT name, tbl_name, coalesce(sql, '') FROM main.sqlite_schema \
     WHERE type = 'trigger' AND instr(lower(sql), '_schemactl_') > 0";

/// The objects of main and TEMP named like one of schemactl's records: schema, name, SQL.
fn record_objects(conn: &Connection) -> Result<Vec<(String, String, String)>> {
    let mut found = rows(conn, RECORD_OBJECTS)?;
    found.retain(|(_, name, _)| crate::db::confined::is_record_name(name.as_bytes()));
    Ok(found)
}

fn rows(conn: &Connection, sql: &str) -> Result<Vec<(String, String, String)>> {
    let q = Error::sqlite_in("read what the migration left on its connection");
    conn.prepare(sql)
        .and_then(|mut stmt| {
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect()
        })
        .map_err(q)
}

impl Before {
    /// Reads them.
    pub fn read(conn: &Connection) -> Result<Before> {
        Ok(Before {
            temp: rows(conn, TEMP_OBJECTS)?
                .into_iter()
                .map(|(kind, name, _)| (kind, name))
                .collect(),
            sequence: temp_sequence(conn)?,
            settings: crate::db::confined::settings(conn)
                .map_err(Error::sqlite_in("read the connection's settings"))?,
            ours: rows(conn, OUR_TRIGGERS)?
                .into_iter()
                .map(|(n, _, _)| n)
                .collect(),
            naming_ours: rows(conn, NAMING_OURS)?
                .into_iter()
                .map(|(n, _, sql)| (n, sql))
                .collect(),
            records: record_objects(conn)?,
            built_in: rows(conn, BUILT_IN_NAMES)?
                .into_iter()
                .map(|(_, n, _)| n)
                .collect(),
        })
    }

    /// After the statements: what they left is refused (a table or view named like a built-in
    /// table-valued function, an object named like one of schemactl's records or a trigger
    /// that writes them, a TEMP AUTOINCREMENT table, a trigger on one of schemactl's own
    /// tables), or cleared ([`Before::clear`]).
    pub fn end(&self, conn: &Connection) -> Result<Option<Refused>> {
        if let Some((kind, name, statement)) = self.made_built_in_name(conn)? {
            return Ok(Some(Refused {
                statement,
                message: format!(
                    "it makes {kind} \"{name}\", the name of one of SQLite's built-in table-valued functions, which it would hide from every reader (schemactl's inspection, proof and checks among them): refused"
                ),
                constraint: false,
            }));
        }
        if let Some((schema, name, statement)) = record_objects(conn)?
            .into_iter()
            .find(|r| !self.records.contains(r))
        {
            return Ok(Some(Refused {
                statement,
                message: format!(
                    "it makes {schema}.\"{name}\", under the name of one of schemactl's own records of what ran (a statement may only read them), which it would take the place of: refused"
                ),
                constraint: false,
            }));
        }
        if let Some((name, table, statement)) = self.made_record_writer(conn)? {
            return Ok(Some(Refused {
                statement,
                message: format!(
                    "it makes trigger \"{name}\" on \"{table}\", whose body writes schemactl's own records of what ran (a statement may only read them): it would rewrite them whenever it fires, after this run: refused"
                ),
                constraint: false,
            }));
        }
        if self.made_sequence(conn)? {
            return Ok(Some(Refused {
                statement: String::new(),
                message: "it makes a TEMP table with AUTOINCREMENT, and SQLite then keeps a TEMP sqlite_sequence for the rest of the connection, where schemactl's own steps would read and write counters instead of main's: refused (make the TEMP table without AUTOINCREMENT)".into(),
                constraint: false,
            }));
        }
        Ok(self.clear(conn)?.map(|(name, table, statement)| Refused {
            statement,
            message: format!(
                "it makes trigger \"{name}\" on schemactl's own table \"{table}\", which would fire when schemactl records the run, after its checks: refused"
            ),
            constraint: false,
        }))
    }

    /// After the statements: drops every TEMP object they made (virtual tables first, which
    /// take their shadow tables with them; then triggers, views and tables). Returns a trigger
    /// they made on one of schemactl's own tables: its name, table and SQL (the caller
    /// refuses the migration).
    fn clear(&self, conn: &Connection) -> Result<Option<(String, String, String)>> {
        let mut made: Vec<(String, String, String)> = rows(conn, TEMP_OBJECTS)?
            .into_iter()
            .filter(|(kind, name, _)| !self.temp.iter().any(|(k, n)| k == kind && n == name))
            .collect();
        let rank = |(kind, _, sql): &(String, String, String)| match kind.as_str() {
            "table"
                if sql
                    .get(..14)
                    .is_some_and(|s| s.eq_ignore_ascii_case("CREATE VIRTUAL")) =>
            {
                0
            }
            "trigger" => 1,
            "view" => 2,
            _ => 3,
        };
        made.sort_by_key(rank);
        crate::db::confined::put_back(conn, &self.settings)
            .map_err(Error::sqlite_in("put the connection's settings back"))?;
        for (kind, name, _) in &made {
            let kind = match kind.as_str() {
                "trigger" => "TRIGGER",
                "view" => "VIEW",
                _ => "TABLE",
            };
            conn.execute_batch(&format!("DROP {kind} IF EXISTS temp.{}", quote_ident(name)))
                .map_err(Error::sqlite_in("drop the TEMP objects the migration made"))?;
        }
        Ok(rows(conn, OUR_TRIGGERS)?
            .into_iter()
            .find(|(name, _, _)| !self.ours.contains(name)))
    }

    /// A trigger of main the statements made whose body writes one of schemactl's records:
    /// its name, table and SQL.
    fn made_record_writer(&self, conn: &Connection) -> Result<Option<(String, String, String)>> {
        Ok(rows(conn, NAMING_OURS)?.into_iter().find(|(name, _, sql)| {
            !self.naming_ours.iter().any(|(n, s)| n == name && s == sql)
                && super::unfit_fixed::trigger_writes(sql)
                    .iter()
                    .any(|t| crate::db::confined::is_record_name(t.as_bytes()))
        }))
    }

    /// True when the statements made TEMP's `sqlite_sequence` (a TEMP AUTOINCREMENT table):
    /// SQLite never drops it, and for the rest of the connection an unqualified
    /// `sqlite_sequence` in schemactl's own steps (a rebuild's or a stash's counter) would
    /// read and write it instead of main's (h22_02). The caller refuses the migration.
    fn made_sequence(&self, conn: &Connection) -> Result<bool> {
        Ok(!self.sequence && temp_sequence(conn)?)
    }

    /// A table or view the statements made in main under the name of one of SQLite's built-in
    /// table-valued functions: its type, name and SQL (the caller refuses the migration).
    fn made_built_in_name(&self, conn: &Connection) -> Result<Option<(String, String, String)>> {
        Ok(rows(conn, BUILT_IN_NAMES)?
            .into_iter()
            .find(|(_, name, _)| !self.built_in.contains(name)))
    }
}

fn temp_sequence(conn: &Connection) -> Result<bool> {
    conn.query_row(TEMP_SEQUENCE, [], |r| r.get::<_, i64>(0))
        .map(|n| n > 0)
        .map_err(Error::sqlite_in(
            "read what the migration left on its connection",
        ))
}
