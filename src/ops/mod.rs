//! Operations on live databases: one public function and an options struct each.

pub mod backup;
pub mod catalog;
pub mod restore;
