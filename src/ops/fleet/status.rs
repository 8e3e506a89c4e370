//! `fleet status`: where each database of the fleet is, read-only and in parallel: its state
//! (pending, up to date, ahead, divergent, not adopted, unreadable) and version, summed up
//! per state and per version.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use super::preflight::{self, Project, State, Target};
use super::report::version_name;
use crate::error::Result;

/// The fleet's status.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// The head version of the migrations.
    pub head: Option<i32>,
    /// Each target.
    pub targets: Vec<Target>,
    /// How many targets per state.
    pub states: BTreeMap<State, usize>,
    /// How many targets per version (`none`: no history).
    pub versions: BTreeMap<String, usize>,
}

impl Status {
    /// Returns true when every target is up to date.
    pub fn converged(&self) -> bool {
        self.targets.iter().all(|t| t.state == State::UpToDate)
    }
}

/// Reads the status of `targets` on `jobs` threads.
pub fn status(project: &Project, targets: &[PathBuf], jobs: usize) -> Result<Status> {
    let found = preflight::preflight(project, targets, jobs, false, None)?;
    let mut states = BTreeMap::new();
    let mut versions = BTreeMap::new();
    for t in &found.targets {
        *states.entry(t.state).or_insert(0) += 1;
        *versions.entry(version_name(t.from)).or_insert(0) += 1;
    }
    Ok(Status {
        head: found.head,
        targets: found.targets,
        states,
        versions,
    })
}
