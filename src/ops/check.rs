//! `schemactl check`: the database's health, and the rules the schema declares.
//!
//! Each finding has a class (integrity, foreign_key, orphan, expired, index, invariant, query),
//! a severity (an error needs action; a warning is worth knowing), the object it concerns, how
//! many rows it covers and a few sample keys, so that a person can find the rows and a machine
//! can count them.

use rusqlite::Connection;

use crate::db::orphans::{orphan_condition, parent_columns};
use crate::dsl::Desired;
use crate::error::{Error, Result};
use crate::model::{Schema, Table};
use crate::sql::quote_ident;

/// How many sample keys a finding carries.
pub const SAMPLES: usize = 5;

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing, no action needed today: expired rows, a declared query that sorts in a
    /// temporary b-tree.
    Warning,
    /// Needs action: integrity, foreign keys, orphans, invariants, a missing or changed index,
    /// a declared query that no index serves any more.
    Error,
}

impl Severity {
    /// `error` or `warning`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One problem found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// integrity, foreign_key, orphan, expired, index, invariant or query.
    pub class: &'static str,
    /// Error (needs action) or warning.
    pub severity: Severity,
    /// The table, index, invariant or query concerned.
    pub subject: String,
    /// What is wrong, in a sentence.
    pub message: String,
    /// How many rows (or problems) it covers.
    pub count: u64,
    /// Up to [`SAMPLES`] keys of the rows concerned (SQL literals).
    pub samples: Vec<String>,
}

/// What `check` did and found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    /// The classes checked, in order.
    pub checked: Vec<&'static str>,
    /// Every finding; empty when the database is healthy.
    pub findings: Vec<Finding>,
}

impl Report {
    /// How many findings have `severity`.
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }

    /// Whether any finding is at least as severe as `threshold` (the exit status 2 test).
    pub fn fails(&self, threshold: Severity) -> bool {
        self.findings.iter().any(|f| f.severity >= threshold)
    }
}

/// Runs every check on `conn` against the desired schema and its rules.
pub fn check(conn: &Connection, desired: &Desired, quick: bool) -> Result<Report> {
    let mut findings = Vec::new();
    integrity(conn, quick, &mut findings)?;
    if !findings.iter().any(|f| f.severity == Severity::Error) {
        full_text(conn, &mut findings);
    }
    let checked = vec![
        if quick {
            "quick_check"
        } else {
            "integrity_check"
        },
        "foreign_key",
        "orphan",
        "expired",
        "index",
        "invariant",
        "query",
    ];
    // Invariants and queries are schema/'s text: a double-quoted name is a column, never a
    // string (see `user_sql`).
    let dqs = crate::ops::user_sql::strict(conn)?;
    let declared = declared(conn, desired, &mut findings);
    crate::ops::user_sql::restore(conn, dqs);
    match declared {
        Ok(()) => Ok(Report { checked, findings }),
        // A corrupt database stops the other checks; the integrity finding says why, and the
        // ones that could not run are not claimed as checked.
        Err(e) if !findings.is_empty() && crate::backup::is_corrupt(&e) => {
            findings.push(Finding {
                class: "integrity",
                severity: Severity::Error,
                subject: "database".into(),
                message: format!("the other checks could not read the database: {e}"),
                count: 1,
                samples: Vec::new(),
            });
            Ok(Report {
                checked: checked[..1].to_vec(),
                findings,
            })
        }
        Err(e) => Err(e),
    }
}

/// The checks after the integrity check: keys, orphans, expiry, indexes, invariants, queries.
fn declared(conn: &Connection, desired: &Desired, findings: &mut Vec<Finding>) -> Result<()> {
    // The tables schema/ excludes are not its own: their objects are not compared.
    let live = desired.exclude.apply_owned(crate::inspect(conn)?);
    foreign_keys(conn, &live, findings)?;
    orphans(conn, &live, &desired.schema, findings)?;
    expired(conn, &live, desired, findings)?;
    indexes(&live, &desired.schema, findings);
    invariants(conn, &live, desired, findings)?;
    for plan in crate::ops::explain::explain(conn, &live, &desired.rules.queries)? {
        if let Some(scan) = plan.full_scans.first() {
            findings.push(Finding {
                class: "query",
                severity: Severity::Error,
                subject: plan.name.clone(),
                message: format!(
                    "query \"{}\" no longer uses an index: {scan}{}",
                    plan.name,
                    plan.suggestion
                        .as_ref()
                        .map(|s| format!(" (try: {s})"))
                        .unwrap_or_default()
                ),
                count: plan.full_scans.len() as u64,
                samples: Vec::new(),
            });
        } else if let Some(sort) = plan.temp_btrees.first() {
            findings.push(Finding {
                class: "query",
                severity: Severity::Warning,
                subject: plan.name.clone(),
                message: format!(
                    "query \"{}\" sorts in a temporary b-tree: {sort}",
                    plan.name
                ),
                count: plan.temp_btrees.len() as u64,
                samples: Vec::new(),
            });
        }
    }
    Ok(())
}

fn integrity(conn: &Connection, quick: bool, out: &mut Vec<Finding>) -> Result<()> {
    let pragma = if quick {
        "quick_check"
    } else {
        "integrity_check"
    };
    // SQLite may stop the check itself on a malformed page: that is a finding too, as
    // quick_check reports it, not an error of `check`.
    let stopped = |e: &dyn std::fmt::Display| vec![format!("{pragma} stopped: {e}")];
    let lines: Vec<String> = match conn.path().filter(|p| !p.is_empty()) {
        // A file is checked on a query-only connection of its own, opened read-write: SQLite
        // leaves out the CHECK constraints of a file opened read-only (as `conn` is), so they
        // would go unchecked; and an index in a collation this build lacks (Android's
        // LOCALIZED) is checked there with a stand-in, what that could not verify being a
        // finding of its own.
        Some(path) => {
            match crate::backup::integrity::without_collations(
                std::path::Path::new(path),
                pragma,
                100,
            ) {
                Ok((lines, unverified)) => {
                    if !unverified.is_empty() {
                        out.push(unverified_finding(&unverified, pragma));
                    }
                    if lines.is_empty() {
                        vec!["ok".to_string()]
                    } else {
                        lines
                    }
                }
                Err(Error::Sqlite { cause, .. }) if crate::backup::is_corrupt_sqlite(&cause) => {
                    stopped(&cause)
                }
                Err(e) => return Err(e),
            }
        }
        None => match conn
            .prepare(&format!("PRAGMA {pragma}(100)"))
            .and_then(|mut stmt| {
                stmt.query_map([], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()
            }) {
            Ok(lines) => lines,
            Err(e) if crate::backup::is_corrupt_sqlite(&e) => stopped(&e),
            Err(e) => return Err(Error::sqlite(pragma, e)),
        },
    };
    if lines != ["ok"] {
        out.push(Finding {
            class: "integrity",
            severity: Severity::Error,
            subject: "database".into(),
            message: format!("{pragma} reports {} problem(s)", lines.len()),
            count: lines.len() as u64,
            samples: lines.into_iter().take(SAMPLES).collect(),
        });
    }
    Ok(())
}

/// The warning that `pragma` could not verify what a missing collation decides.
fn unverified_finding(unverified: &crate::backup::Unverified, pragma: &str) -> Finding {
    Finding {
        class: "integrity",
        severity: Severity::Warning,
        subject: unverified.collations.join(", "),
        message: unverified.describe(pragma),
        count: (unverified.indexes.len() + unverified.checks.len() + unverified.keys.len()) as u64,
        samples: unverified
            .indexes
            .iter()
            .chain(&unverified.checks)
            .chain(&unverified.keys)
            .take(SAMPLES)
            .map(|n| crate::sql::quote_ident(n))
            .collect(),
    }
}

/// The external-content full-text indexes out of step with their content tables (the
/// integrity class: a search would return other rows, or none), found by their own
/// integrity-check; one that could not be checked is a warning.
fn full_text(conn: &Connection, out: &mut Vec<Finding>) {
    let Some(path) = conn.path().filter(|p| !p.is_empty()) else {
        return;
    };
    let Ok(schema) = crate::inspect(conn) else {
        return;
    };
    let busy = std::time::Duration::from_secs(5);
    for (ix, found) in crate::ops::fts::out_of_step(std::path::Path::new(path), &schema, busy) {
        let (severity, message) = match found {
            Ok(why) => (Severity::Error, why),
            Err(why) => (
                Severity::Warning,
                format!("full-text index \"{}\" was not checked: {why}", ix.name),
            ),
        };
        out.push(Finding {
            class: "integrity",
            severity,
            subject: ix.name.clone(),
            message,
            count: 1,
            samples: Vec::new(),
        });
    }
}

/// An SQL expression giving a row's key as text: its primary key columns (quoted literals,
/// comma-separated) or its rowid.
pub fn key_sql(table: &Table, alias: &str) -> String {
    let cols: Vec<String> = table
        .key_columns()
        .iter()
        .map(|c| crate::sql::literal_sql(&format!("{alias}.{}", quote_ident(c))))
        .collect();
    if cols.is_empty() || table.rowid_alias().is_some() && !table.without_rowid {
        if table.without_rowid {
            return "''".into();
        }
        // A column named `rowid` shadows that name: the one no column takes (a table whose
        // columns take all three has no reachable rowid; its rows show no sample key).
        return table
            .rowid_name()
            .map_or("''".into(), |r| format!("{alias}.{r}"));
    }
    cols.join(" || ', ' || ")
}

/// Counts the rows of `table` where `condition` holds, with a few sample keys.
fn count_where(
    conn: &Connection,
    table: &Table,
    condition: &str,
    what: &str,
) -> Result<(u64, Vec<String>)> {
    let from = format!("{} AS t", quote_ident(&table.name));
    let count: i64 = conn
        .query_row(
            &format!("SELECT count(*) FROM {from} WHERE {condition}"),
            [],
            |r| r.get(0),
        )
        .map_err(Error::sqlite_in(what))?;
    if count == 0 {
        return Ok((0, Vec::new()));
    }
    let mut stmt = conn
        .prepare(&format!(
            "SELECT CAST({} AS TEXT) FROM {from} WHERE {condition} LIMIT {SAMPLES}",
            key_sql(table, "t")
        ))
        .map_err(Error::sqlite_in(what))?;
    let samples = stmt
        .query_map([], |r| r.get::<_, Option<String>>(0))
        .map_err(Error::sqlite_in(what))?
        .map(|r| r.map(Option::unwrap_or_default))
        .collect::<rusqlite::Result<_>>()
        .map_err(Error::sqlite_in(what))?;
    Ok((u64::try_from(count).unwrap_or_default(), samples))
}

fn foreign_keys(conn: &Connection, live: &Schema, out: &mut Vec<Finding>) -> Result<()> {
    let mut stmt = conn
        .prepare("PRAGMA foreign_key_check")
        .map_err(Error::sqlite_in("foreign_key_check"))?;
    let rows: Vec<(String, Option<i64>, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .map_err(Error::sqlite_in("foreign_key_check"))?
        .collect::<rusqlite::Result<_>>()
        .map_err(Error::sqlite_in("foreign_key_check"))?;
    let mut groups: Vec<(String, String, Vec<Option<i64>>)> = Vec::new();
    for (table, rowid, parent) in rows {
        match groups
            .iter_mut()
            .find(|(t, p, _)| *t == table && *p == parent)
        {
            Some(g) => g.2.push(rowid),
            None => groups.push((table, parent, vec![rowid])),
        }
    }
    for (table, parent, rowids) in groups {
        let keyed = live.table(&table);
        let mut samples = Vec::new();
        for rowid in rowids.iter().take(SAMPLES) {
            let key = match (rowid, keyed) {
                (Some(id), Some(t)) => conn
                    .query_row(
                        &format!(
                            "SELECT CAST({} AS TEXT) FROM {} AS t WHERE t.rowid = ?1",
                            key_sql(t, "t"),
                            quote_ident(&table)
                        ),
                        [id],
                        |r| r.get::<_, Option<String>>(0),
                    )
                    .ok()
                    .flatten()
                    .unwrap_or_else(|| format!("rowid {id}")),
                (Some(id), None) => format!("rowid {id}"),
                (None, _) => "(without rowid)".into(),
            };
            samples.push(key);
        }
        out.push(Finding {
            class: "foreign_key",
            severity: Severity::Error,
            subject: table.clone(),
            message: format!(
                "{} row(s) of \"{table}\" reference missing rows of \"{parent}\"",
                rowids.len()
            ),
            count: rowids.len() as u64,
            samples,
        });
    }
    Ok(())
}

/// Rows of relationships schema/ declares but the live database does not enforce (no such
/// foreign key there), whose parent row is missing. Relationships the live database declares
/// are foreign_key_check's.
fn orphans(
    conn: &Connection,
    live: &Schema,
    desired: &Schema,
    out: &mut Vec<Finding>,
) -> Result<()> {
    for table in &desired.tables {
        let Some(live_table) = live.table(&table.name) else {
            continue;
        };
        for fk in &table.foreign_keys {
            let enforced = live_table
                .foreign_keys
                .iter()
                .any(|l| l.ref_table == fk.ref_table && l.columns == fk.columns);
            let parent = live.table(&fk.ref_table);
            let columns_there = fk.columns.iter().all(|c| live_table.column(c).is_some());
            if enforced || parent.is_none() || !columns_there {
                continue;
            }
            let columns: Vec<String> = fk.columns.iter().map(|c| c.to_string()).collect();
            let condition =
                orphan_condition("t", &columns, &fk.ref_table, &parent_columns(fk, parent));
            let (count, samples) =
                count_where(conn, live_table, &condition, "look for orphan rows")?;
            if count > 0 {
                out.push(Finding {
                    class: "orphan",
                severity: Severity::Error,
                    subject: table.name.to_string(),
                    message: format!(
                        "{count} row(s) of \"{}\" have no \"{}\" row (a relationship schema/ declares and the database does not enforce)",
                        table.name, fk.ref_table
                    ),
                    count,
                    samples,
                });
            }
        }
    }
    Ok(())
}

fn expired(
    conn: &Connection,
    live: &Schema,
    desired: &Desired,
    out: &mut Vec<Finding>,
) -> Result<()> {
    for rule in &desired.rules.expiry {
        let Some(table) = live.table(&rule.table) else {
            continue;
        };
        if table.column(&rule.column).is_none() {
            continue;
        }
        let col = format!("t.{}", quote_ident(&rule.column));
        // What an `expires:` column may hold: ISO-8601 text (`2026-11-30`, `2026-11-30
        // 14:30:00`, with `T`, fractions, `Z` or `+02:00`), or a number: a Julian day
        // (0 to 5373484.5) or else Unix seconds (SQLite's 'auto' modifier, also for numeric
        // text). Anything else (milliseconds, a blob, words) is not a date: reported, never
        // taken as "not expired".
        let when = format!("julianday({col}, 'auto')");
        let condition = format!("{col} IS NOT NULL AND {when} < julianday('now')");
        let (count, samples) = count_where(conn, table, &condition, "count expired rows")?;
        if count > 0 {
            let pruned = desired
                .rules
                .retention
                .iter()
                .any(|r| r.table == rule.table);
            out.push(Finding {
                class: "expired",
                severity: Severity::Warning,
                subject: rule.table.clone(),
                message: format!(
                    "{count} row(s) of \"{}\" expired ({} is in the past){}",
                    rule.table,
                    rule.column,
                    if pruned {
                        "; its retention rule decides what `schemactl prune` removes"
                    } else {
                        "; no retention rule covers the table"
                    }
                ),
                count,
                samples,
            });
        }
        let condition = format!("{col} IS NOT NULL AND {when} IS NULL");
        let (count, samples) = count_where(
            conn,
            table,
            &condition,
            "count expiry times that are not dates",
        )?;
        if count > 0 {
            out.push(Finding {
                class: "expired",
                severity: Severity::Warning,
                subject: rule.table.clone(),
                message: format!(
                    "{count} row(s) of \"{}\" have a value in \"{}\" that is not a date, so whether they expired is unknown: `expires:` takes ISO-8601 text (2026-11-30 14:30:00), a Julian day number or Unix seconds (not milliseconds)",
                    rule.table, rule.column
                ),
                count,
                samples,
            });
        }
    }
    Ok(())
}

fn indexes(live: &Schema, desired: &Schema, out: &mut Vec<Finding>) {
    for table in &desired.tables {
        let live_table = live.table(&table.name);
        for index in &table.indexes {
            let found = live_table.and_then(|t| t.indexes.iter().find(|i| i.name == index.name));
            let message = match found {
                None => format!(
                    "index \"{}\" on \"{}\" is missing from the database",
                    index.name, table.name
                ),
                Some(i) if i != index => format!(
                    "index \"{}\" on \"{}\" differs from schema/ (run `schemactl drift`)",
                    index.name, table.name
                ),
                Some(_) => continue,
            };
            out.push(Finding {
                class: "index",
                severity: Severity::Error,
                subject: index.name.to_string(),
                message,
                count: 1,
                samples: Vec::new(),
            });
        }
    }
}

fn invariants(
    conn: &Connection,
    live: &Schema,
    desired: &Desired,
    out: &mut Vec<Finding>,
) -> Result<()> {
    for inv in &desired.rules.invariants {
        let Some(table) = live.table(&inv.table) else {
            continue;
        };
        let condition = format!("NOT ({}\n)", inv.condition);
        let what = format!("check invariant \"{}\" of \"{}\"", inv.name, inv.table);
        let (count, samples) = count_where(conn, table, &condition, &what)?;
        if count > 0 {
            out.push(Finding {
                class: "invariant",
                severity: Severity::Error,
                subject: format!("{}.{}", inv.table, inv.name),
                message: format!(
                    "{count} row(s) of \"{}\" break invariant \"{}\": {}",
                    inv.table, inv.name, inv.condition
                ),
                count,
                samples,
            });
        }
    }
    Ok(())
}
