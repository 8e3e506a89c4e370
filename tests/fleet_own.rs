//! A fleet leaves out only what is positively schemactl's own: a backup is told by a manifest
//! beside it that names it with its size and sha256 (or by the folder it lies in), never by a
//! checksum or JSON file of the operators' own beside a live database, stale or fresh. And
//! what a glob leaves out is named (never dropped from a run without a word). A property over
//! any mix of live databases with such files beside them and real backups copied among them.

mod common;

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use schemactl::ops::backup::{self, Compression};
use schemactl::ops::fleet::{Source, resolve_naming_skipped};

/// What lies beside a tenant's live database.
#[derive(Debug, Clone, Copy)]
enum Beside {
    Nothing,
    /// `sha256sum memory.db > memory.db.sha256`, then the app wrote more (stale).
    StaleChecksum,
    /// The same, still matching.
    FreshChecksum,
    /// An application's own `memory.db.json`.
    AppJson,
    /// A schemactl manifest of another file copied beside it.
    OtherManifest,
}

fn beside() -> impl Strategy<Value = Beside> {
    prop_oneof![
        Just(Beside::Nothing),
        Just(Beside::StaleChecksum),
        Just(Beside::FreshChecksum),
        Just(Beside::AppJson),
        Just(Beside::OtherManifest),
    ]
}

fn sha256sum(file: &Path) -> String {
    format!(
        "{}  {}\n",
        schemactl::backup::sha256_file(file).unwrap(),
        file.file_name().unwrap().to_string_lossy()
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn only_a_backup_its_manifest_names_is_left_out_and_it_is_named(
        tenants in prop::collection::vec((beside(), any::<bool>()), 1..4),
    ) {
        let dir = common::temp_dir();
        let p = dir.path();
        let store = p.join("store");
        let mut live = Vec::new();
        let mut backups = Vec::new();
        for (i, (beside, with_backup)) in tenants.iter().enumerate() {
            let home = p.join(format!("tenants/t{i}"));
            std::fs::create_dir_all(&home).unwrap();
            let db = home.join("memory.db");
            let conn = rusqlite::Connection::open(&db).unwrap();
            conn.execute_batch("CREATE TABLE app (x); INSERT INTO app VALUES (1);").unwrap();
            drop(conn);
            let taken = backup::backup(&backup::Options {
                database: db.clone(),
                dir: store.clone(),
                compress: Compression::None,
                label: format!("t{i}"),
                count_rows: false,
            })
            .unwrap();
            match beside {
                Beside::Nothing => {}
                Beside::StaleChecksum | Beside::FreshChecksum => {
                    std::fs::write(home.join("memory.db.sha256"), sha256sum(&db)).unwrap();
                    if matches!(beside, Beside::StaleChecksum) {
                        let conn = rusqlite::Connection::open(&db).unwrap();
                        conn.execute_batch("PRAGMA user_version = 5;").unwrap();
                    }
                }
                Beside::AppJson => {
                    std::fs::write(home.join("memory.db.json"), r#"{"name": "tenant"}"#).unwrap();
                }
                Beside::OtherManifest => {
                    std::fs::copy(
                        schemactl::backup::manifest_path(&taken.path),
                        home.join("memory.db.json"),
                    )
                    .unwrap();
                }
            }
            live.push(db);
            if *with_backup {
                // A real backup copied beside the tenant's database, with its manifest and
                // sidecar, under its own name (`memory-<time>-t0.db`: the glob matches it).
                let copy = home.join(taken.path.file_name().unwrap());
                std::fs::copy(&taken.path, &copy).unwrap();
                std::fs::copy(schemactl::backup::manifest_path(&taken.path), schemactl::backup::manifest_path(&copy)).unwrap();
                std::fs::copy(schemactl::backup::sidecar_path(&taken.path), schemactl::backup::sidecar_path(&copy)).unwrap();
                backups.push(copy);
            }
        }
        let pattern = format!("{}/tenants/*/memory*.db", p.display());
        let (found, skipped) =
            resolve_naming_skipped(&Source::Glob(pattern), Path::new("{dir}/backups"), &[store]).unwrap();
        let canon = |v: &[PathBuf]| -> Vec<PathBuf> {
            let mut v: Vec<PathBuf> = v.iter().map(|f| f.canonicalize().unwrap()).collect();
            v.sort();
            v
        };
        prop_assert_eq!(canon(&found), canon(&live));
        let left_out: Vec<PathBuf> = skipped.iter().map(|(f, _)| f.clone()).collect();
        prop_assert_eq!(canon(&left_out), canon(&backups));
        for (_, why) in &skipped {
            prop_assert!(why.contains("manifest"), "{}", why);
        }
    }
}
