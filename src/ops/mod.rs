//! The use cases: plan (and write a migration), sync, status, and the operations on live
//! databases. One public function and an options struct each, returning data that the CLI
//! (or another front end) prints.

pub mod apply;
pub mod backup;
pub mod baseline;
pub mod catalog;
pub mod check;
pub mod complete;
pub mod explain;
pub mod fleet;
pub mod fts;
pub mod graph;
pub mod optimize;
pub mod plan;
pub mod prune;
pub mod restore;
pub mod retention;
pub mod stats;
pub mod status;
pub mod sync;
pub mod user_sql;
