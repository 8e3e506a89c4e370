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
/// history) and `desired` (schema/), all without the tables `exclude` names.
pub fn drift(
    conn: &Connection,
    catalogue: &Catalogue,
    desired: &Schema,
    exclude: &Exclude,
) -> Result<Vec<Finding>> {
    let desired = &exclude.apply(desired);
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
    let live = exclude.apply(&crate::inspect(conn)?);
    let mut applied_failure = None;
    match crate::migrations::expected_schema(catalogue.applied_migrations())
        .map(|s| exclude.apply(&s))
    {
        Ok(expected) if expected != live => findings.push(Finding {
            kind: DriftKind::LiveSchema,
            message: "the live schema is not what its applied migrations build".into(),
            diff: describe_difference(&expected, &live),
        }),
        Ok(_) => {}
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
    match catalogue.expected_schema().map(|s| exclude.apply(&s)) {
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
