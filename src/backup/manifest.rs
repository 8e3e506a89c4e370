//! The manifest beside every backup and archive (`<file>.json`): what the file is, where it came
//! from, its size and sha256. This is the one place manifests are written and read.
//!
//! The keys keep the order they have always had: `database`, `reason`, what this kind of file
//! adds ([`Detail`]), then `file`, `size`, `sha256`, `created_at`, `sqlite_version`; the keys
//! added since come last: `database_id` and `canonical_path` (whose backup it is, see
//! [`crate::db::identity`]) and `kind` (a backup, a safety copy or an archive). Reading is
//! lenient: a key that is missing reads as empty, so older manifests still list (their kind
//! is told by their reason).

use std::collections::BTreeMap;
use std::path::Path;

use super::{BackupFile, Compression, manifest_path};
use crate::db::identity::Owner;
use crate::error::{Error, Result};

/// What a file in the backups folder is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A backup a person asked for (`schemactl backup`).
    Backup,
    /// A copy schemactl keeps before it changes a database: `pre-apply`, `pre-rollback`,
    /// `before-restore`. Never chosen by `restore --latest` or `--at` unless asked.
    Safety,
    /// A prune's archive of the rows it removed.
    Archive,
}

impl Kind {
    /// The kind of a file whose manifest predates `kind`, by its reason.
    pub fn of_reason(reason: &str) -> Self {
        match reason {
            "pre-apply" | "pre-rollback" | "before-restore" => Kind::Safety,
            "prune-archive" => Kind::Archive,
            _ => Kind::Backup,
        }
    }

    /// The word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Backup => "backup",
            Kind::Safety => "safety",
            Kind::Archive => "archive",
        }
    }
}

/// A backup's or archive's manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Manifest {
    /// The database the file was taken from, as an absolute path (older manifests: as typed).
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
    /// The file the database was in ([`crate::db::identity::file_key`]); empty when unknown,
    /// and in older manifests.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub file_key: String,
    /// The identity of the database it was taken from (its id, or `path:<canonical path>`
    /// while it had none); empty in manifests older than identities.
    pub database_id: String,
    /// The canonical path of the database it was taken from; empty in older manifests.
    pub canonical_path: String,
    /// What the file is; None in older manifests (then [`Manifest::kind`] tells it by reason).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<Kind>,
}

impl Manifest {
    /// A manifest for a file about to be written from `database` (made absolute), owned by `owner`:
    /// the keys describing the file itself are filled in when it is written.
    pub fn new(database: &Path, owner: &Owner, reason: &str, kind: Kind, detail: Detail) -> Self {
        Manifest {
            // Absolute: a path relative to a working directory nobody recorded would name
            // another database when read from elsewhere.
            database: std::path::absolute(database)
                .unwrap_or_else(|_| database.to_path_buf())
                .display()
                .to_string(),
            reason: reason.to_string(),
            detail,
            database_id: owner.id.clone(),
            canonical_path: owner.path.display().to_string(),
            file_key: owner.file.clone().unwrap_or_default(),
            kind: Some(kind),
            ..Manifest::default()
        }
    }

    /// What the file is.
    pub fn kind(&self) -> Kind {
        self.kind.unwrap_or_else(|| Kind::of_reason(&self.reason))
    }

    /// Returns true when the file was taken from the database `owner` describes.
    pub fn belongs_to(&self, owner: &Owner) -> bool {
        owner.owns(
            &self.database_id,
            &self.database,
            &self.canonical_path,
            &self.file_key,
            &self.created_at,
        )
    }
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

/// Writes `manifest` for `file` (a new file, fsynced), filling in the file's name, size and
/// sha256, the time and the SQLite version; returns what it wrote.
pub fn write(file: &BackupFile, manifest: Manifest, sha256: &str) -> Result<Manifest> {
    let manifest = Manifest {
        file: file.path.display().to_string(),
        size: file.size,
        sha256: sha256.to_string(),
        created_at: crate::db::now_rfc3339(),
        sqlite_version: rusqlite::version().to_string(),
        ..manifest
    };
    let text = serde_json::to_string_pretty(&manifest).map_err(|source| Error::Json {
        context: "manifest",
        source,
    })?;
    crate::db::write_new(&file.manifest, &(text + "\n"))?;
    Ok(manifest)
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
            database_id: String::new(),
            canonical_path: String::new(),
            file_key: String::new(),
            kind: None,
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
                r#"{"database":"db","reason":"why","compression":"zstd","database_size":9,"schema_version":null,"last_migration":null,"file":"f","size":1,"sha256":"00","created_at":"2026-01-01T00:00:00Z","sqlite_version":"3","database_id":"","canonical_path":""}"#,
            ),
            (
                Detail::Migration {
                    schema_version_before: Some(2),
                    migrations: vec!["V3__x".into()],
                },
                r#"{"database":"db","reason":"why","schema_version_before":2,"migrations":["V3__x"],"file":"f","size":1,"sha256":"00","created_at":"2026-01-01T00:00:00Z","sqlite_version":"3","database_id":"","canonical_path":""}"#,
            ),
            (
                Detail::Prune {
                    prune_id: "p".into(),
                    rows: BTreeMap::from([("t".to_string(), 4)]),
                },
                r#"{"database":"db","reason":"why","prune_id":"p","rows":{"t":4},"file":"f","size":1,"sha256":"00","created_at":"2026-01-01T00:00:00Z","sqlite_version":"3","database_id":"","canonical_path":""}"#,
            ),
            (
                Detail::Plain {},
                r#"{"database":"db","reason":"why","file":"f","size":1,"sha256":"00","created_at":"2026-01-01T00:00:00Z","sqlite_version":"3","database_id":"","canonical_path":""}"#,
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
        assert_eq!(m.kind(), Kind::Backup);
    }

    #[test]
    fn identity_and_kind_come_last_and_old_manifests_are_told_by_reason() {
        let owner = Owner::unmanaged(Path::new("/srv/db.sqlite"));
        let m = Manifest {
            sha256: "00".into(),
            ..Manifest::new(
                Path::new("db.sqlite"),
                &owner,
                "before-restore",
                Kind::Safety,
                Detail::Plain {},
            )
        };
        let json = serde_json::to_string(&m).unwrap();
        assert!(
            json.ends_with(r#""database_id":"path:/srv/db.sqlite","canonical_path":"/srv/db.sqlite","kind":"safety"}"#),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<Manifest>(&json).unwrap(), m);
        for (reason, kind) in [
            ("pre-apply", Kind::Safety),
            ("pre-rollback", Kind::Safety),
            ("before-restore", Kind::Safety),
            ("prune-archive", Kind::Archive),
            ("manual", Kind::Backup),
            ("pre-deploy", Kind::Backup),
        ] {
            let old: Manifest =
                serde_json::from_str(&format!(r#"{{"reason":"{reason}"}}"#)).unwrap();
            assert_eq!(old.kind(), kind, "{reason}");
        }
    }
}
