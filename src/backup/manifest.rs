//! The manifest beside every backup and archive (`<file>.json`): what the file is, where it came
//! from, its size and sha256. This is the one place manifests are written and read.
//!
//! The keys keep the order they have always had: `database`, `reason`, what this kind of file
//! adds ([`Detail`]), then `file`, `size`, `sha256`, `created_at`, `sqlite_version`. Reading is
//! lenient: a key that is missing reads as empty, so older manifests still list.

use std::collections::BTreeMap;
use std::path::Path;

use super::{BackupFile, Compression, manifest_path};
use crate::error::{Error, Result};

/// A backup's or archive's manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Manifest {
    /// The database the file was taken from.
    pub database: String,
    /// Why it was taken: `manual`, `pre-apply`, `before-restore`, `prune-archive`, ...
    pub reason: String,
    /// What this kind of file adds.
    #[serde(flatten)]
    pub detail: Detail,
    /// The file the manifest describes.
    pub file: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its hex sha256.
    pub sha256: String,
    /// When it was written (RFC 3339, UTC).
    pub created_at: String,
    /// The SQLite version that wrote it.
    pub sqlite_version: String,
}

/// What a manifest says beyond the common keys, by the kind of file it describes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum Detail {
    /// A backup taken by `schemactl backup`.
    Backup {
        /// How the file is compressed.
        compression: Compression,
        /// The database's size, uncompressed.
        database_size: u64,
        /// The applied version when it was taken.
        schema_version: Option<i32>,
        /// The last applied migration, `V{n}__{name}`.
        last_migration: Option<String>,
    },
    /// The backup taken before an apply or a rollback.
    Migration {
        /// The version before.
        schema_version_before: Option<i32>,
        /// The migrations run, `V{n}__{name}`.
        migrations: Vec<String>,
    },
    /// A prune's archive.
    Prune {
        /// The prune's id, as `_schemactl_prunes` records it once it commits.
        prune_id: String,
        /// Rows archived, by table.
        #[serde(default)]
        rows: BTreeMap<String, u64>,
    },
    /// Nothing more (a before-restore backup).
    Plain {},
}

impl Default for Detail {
    fn default() -> Self {
        Detail::Plain {}
    }
}

/// Writes the manifest of `file` (a new file, fsynced) with its sha256, taken from `database`
/// for `reason`.
pub fn write_manifest(
    file: &BackupFile,
    database: &Path,
    reason: &str,
    detail: Detail,
    sha256: &str,
) -> Result<()> {
    let manifest = Manifest {
        database: database.display().to_string(),
        reason: reason.to_string(),
        detail,
        file: file.path.display().to_string(),
        size: file.size,
        sha256: sha256.to_string(),
        created_at: crate::db::now_rfc3339(),
        sqlite_version: rusqlite::version().to_string(),
    };
    let text = serde_json::to_string_pretty(&manifest).map_err(|source| Error::Json {
        context: "manifest",
        source,
    })?;
    crate::db::write_new(&file.manifest, &(text + "\n"))
}

/// Reads the manifest of a backup or archive file; None when there is none or it is not a
/// manifest.
pub fn read_manifest(file: &Path) -> Option<Manifest> {
    read(&manifest_path(file))
}

/// Reads a manifest file; None when it is missing or not a manifest.
pub fn read(manifest: &Path) -> Option<Manifest> {
    parse(&std::fs::read_to_string(manifest).ok()?)
}

/// Parses the text of a manifest; None when it is not one.
pub fn parse(text: &str) -> Option<Manifest> {
    serde_json::from_str(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(detail: Detail) -> Manifest {
        Manifest {
            database: "db".into(),
            reason: "why".into(),
            detail,
            file: "f".into(),
            size: 1,
            sha256: "00".into(),
            created_at: "2026-01-01T00:00:00Z".into(),
            sqlite_version: "3".into(),
        }
    }

    #[test]
    fn keys_keep_their_order_and_kinds_round_trip() {
        let cases = [
            (
                Detail::Backup {
                    compression: Compression::Zstd,
                    database_size: 9,
                    schema_version: None,
                    last_migration: None,
                },
                r#"{"database":"db","reason":"why","compression":"zstd","database_size":9,"schema_version":null,"last_migration":null,"file":"f","size":1,"sha256":"00","created_at":"2026-01-01T00:00:00Z","sqlite_version":"3"}"#,
            ),
            (
                Detail::Migration {
                    schema_version_before: Some(2),
                    migrations: vec!["V3__x".into()],
                },
                r#"{"database":"db","reason":"why","schema_version_before":2,"migrations":["V3__x"],"file":"f","size":1,"sha256":"00","created_at":"2026-01-01T00:00:00Z","sqlite_version":"3"}"#,
            ),
            (
                Detail::Prune {
                    prune_id: "p".into(),
                    rows: BTreeMap::from([("t".to_string(), 4)]),
                },
                r#"{"database":"db","reason":"why","prune_id":"p","rows":{"t":4},"file":"f","size":1,"sha256":"00","created_at":"2026-01-01T00:00:00Z","sqlite_version":"3"}"#,
            ),
            (
                Detail::Plain {},
                r#"{"database":"db","reason":"why","file":"f","size":1,"sha256":"00","created_at":"2026-01-01T00:00:00Z","sqlite_version":"3"}"#,
            ),
        ];
        for (detail, json) in cases {
            let m = manifest(detail);
            assert_eq!(serde_json::to_string(&m).unwrap(), json);
            assert_eq!(serde_json::from_str::<Manifest>(json).unwrap(), m);
        }
    }

    #[test]
    fn missing_keys_read_as_empty() {
        let m: Manifest = serde_json::from_str(r#"{"sha256":"ab"}"#).unwrap();
        assert_eq!(m.sha256, "ab");
        assert_eq!(m.detail, Detail::Plain {});
    }
}
