//! Operations on live databases: one public function and an options struct each.

pub mod backup;
pub mod catalog;
pub mod check;
pub mod explain;
pub mod graph;
pub mod optimize;
pub mod plan;
pub mod prune;
pub mod restore;
pub mod stats;
pub mod status;
pub mod sync;
