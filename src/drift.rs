//! Drift: where the live database, its migrations and schema/ disagree.
//!
//! The live schema is compared with the schema its applied migrations build (replayed from
//! empty in memory), and schema/ with the schema all the migrations build. Divergent and
//! missing migration files and pending migrations are reported too, as the migration
//! [`Catalogue`] sees them. Differences are shown as unified diffs of the canonical dumps
//! ([`crate::normal::dump`]). Excluded tables ([`crate::exclude`]) are left out of every
//! comparison.
//!
//! Each cause is reported once: a migration that fails to replay is one `replay_applied` or
//! `replay` finding (not one per comparison that needs it), and an applied file that is gone
//! is one `missing` finding: the replays, which would run the migrations after it without it,
//! are not attempted, so no knock-on finding names the next migration.

use rusqlite::Connection;

use crate::error::Result;
use crate::exclude::Exclude;
use crate::migrations::{AppliedState, Catalogue};
use crate::model::Schema;
use crate::normal::describe_difference;

/// What kind of drift a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftKind {
    /// The live schema is not what its applied migrations build (objects extra, missing or
    /// changed by hand).
    LiveSchema,
    /// An applied migration's file changed since.
    Divergent,
    /// An applied migration's file is gone.
    Missing,
    /// A migration is not applied yet.
    Pending,
    /// schema/ has changes that no migration covers.
    Uncovered,
    /// The applied migrations fail when replayed from empty (the live schema cannot be
    /// compared).
    ReplayApplied,
    /// A pending migration fails when all the migrations are replayed from empty (schema/
    /// cannot be compared).
    Replay,
}

impl DriftKind {
    /// Every kind, in the order findings are reported.
    pub const ALL: [DriftKind; 7] = [
        DriftKind::Missing,
        DriftKind::Divergent,
        DriftKind::Pending,
        DriftKind::ReplayApplied,
        DriftKind::LiveSchema,
        DriftKind::Replay,
        DriftKind::Uncovered,
    ];
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// Its kind.
    pub kind: DriftKind,
    /// What it is, naming the object or file.
    pub message: String,
    /// A unified diff (expected, then actual), when the finding is about a schema.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub diff: String,
}

/// Compares the live database (`conn`), its migration catalogue (the files and `conn`'s
/// history) and `desired` (schema/), all without the tables `exclude` names. The live schema
/// is read first and `conn` closed before the migrations are replayed (its parsed catalog
/// and page cache are megabytes at thousands of tables).
pub fn drift(
    conn: Connection,
    catalogue: &Catalogue,
    desired: &Schema,
    exclude: &Exclude,
) -> Result<Vec<Finding>> {
    // Each schema is held only while it is compared (at thousands of tables each is
    // megabytes), and copied only when the list excludes something.
    let desired = if exclude.is_empty() {
        std::borrow::Cow::Borrowed(desired)
    } else {
        std::borrow::Cow::Owned(exclude.apply(desired))
    };
    let desired = desired.as_ref();
    let mut findings = Vec::new();
    for (a, state) in catalogue.states() {
        match state {
            AppliedState::Missing => findings.push(Finding {
                kind: DriftKind::Missing,
                message: format!(
                    "V{}__{} is applied but its file is missing",
                    a.version, a.name
                ),
                diff: String::new(),
            }),
            AppliedState::Divergent(m) => findings.push(Finding {
                kind: DriftKind::Divergent,
                message: format!(
                    "{} changed after it was applied (on {})",
                    m.origin, a.applied_on
                ),
                diff: String::new(),
            }),
            AppliedState::Unchanged(_) => {}
        }
    }
    for m in catalogue.pending() {
        findings.push(Finding {
            kind: DriftKind::Pending,
            message: format!("{} ({}) is not applied", m.stem(), m.origin),
            diff: String::new(),
        });
    }
    // An applied file that is gone leaves a hole in every replay: its finding is the cause,
    // and comparing what the rest builds would only report that hole again.
    if findings.iter().any(|f| f.kind == DriftKind::Missing) {
        if let Some(f) = findings.iter_mut().find(|f| f.kind == DriftKind::Missing) {
            f.message.push_str(
                " (the migrations cannot be replayed without it: the live schema and schema/ are not compared)",
            );
        }
        return Ok(findings);
    }
    let live = exclude.apply_owned(crate::inspect(&conn)?);
    drop(conn);
    let mut applied_failure = None;
    // With nothing pending, what the applied migrations build is what all of them build:
    // replayed once, kept for schema/'s comparison below.
    let all_applied = catalogue.pending().next().is_none();
    let mut built_once = None;
    match crate::migrations::expected_schema(catalogue.applied_migrations())
        .map(|s| exclude.apply_owned(s))
    {
        Ok(expected) => {
            if expected != live {
                findings.push(Finding {
                    kind: DriftKind::LiveSchema,
                    message: "the live schema is not what its applied migrations build".into(),
                    diff: describe_difference(&expected, &live),
                });
            }
            if all_applied {
                built_once = Some(expected);
            }
        }
        Err(e) => {
            let message = e.to_string();
            findings.push(Finding {
                kind: DriftKind::ReplayApplied,
                message: format!(
                    "the applied migrations do not replay, so the live schema is not compared: {message}"
                ),
                diff: String::new(),
            });
            applied_failure = Some(message);
        }
    }
    drop(live);
    let built = match built_once {
        Some(built) => Ok(built),
        None => catalogue.expected_schema().map(|s| exclude.apply_owned(s)),
    };
    match built {
        Ok(built) if &built != desired => findings.push(Finding {
            kind: DriftKind::Uncovered,
            message: "schema/ has changes no migration covers (write one with `schemactl plan --write NAME`)".into(),
            diff: describe_difference(&built, desired),
        }),
        Ok(_) => {}
        // The same failure as the applied migrations': reported once, above.
        Err(e) if applied_failure.as_deref() == Some(e.to_string().as_str()) => {}
        Err(e) => findings.push(Finding {
            kind: DriftKind::Replay,
            message: format!(
                "the migrations do not replay, so schema/ is not compared with them: {e}"
            ),
            diff: String::new(),
        }),
    }
    Ok(findings)
}
