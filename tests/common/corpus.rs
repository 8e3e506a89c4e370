//! The conformance corpus in ../shared/corpus: schema pairs from sqldef and Atlas.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

/// One (current, desired) pair, in SQLite DDL.
#[derive(Debug, Clone)]
pub struct Pair {
    /// `sqldef/tests.yml:CaseName` or `atlas/name#i`.
    pub name: String,
    /// The current schema's DDL (may be empty).
    pub current: String,
    /// The desired schema's DDL (may be empty).
    pub desired: String,
    /// Rows inserted into `current` by the source, when it gives them.
    pub data_before: Vec<String>,
    /// Why the pair is outside this tool's scope, when it is.
    pub skip: Option<String>,
}

#[derive(Debug, Deserialize)]
struct SqldefCase {
    #[serde(default)]
    current: Option<String>,
    #[serde(default)]
    desired: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
struct AtlasRecord {
    name: String,
    pairs: Vec<AtlasPair>,
}

#[derive(Debug, Deserialize)]
struct AtlasPair {
    current: String,
    desired: String,
    #[serde(default)]
    data_before: Vec<serde_json::Value>,
}

/// The corpus folder, or None (with a printed notice) when it is absent.
pub fn dir() -> Option<PathBuf> {
    let dir = super::repo_root().join("../shared/corpus");
    if dir.is_dir() {
        Some(dir)
    } else {
        println!("NOTICE: {} is absent; corpus tests skipped", dir.display());
        None
    }
}

/// Every pair of the corpus; empty when the corpus is absent.
pub fn pairs() -> Vec<Pair> {
    let Some(dir) = dir() else { return Vec::new() };
    let mut out = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(dir.join("sqldef"))
        .expect("read sqldef dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml"))
        .collect();
    files.sort();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read sqldef file");
        let cases: BTreeMap<String, SqldefCase> =
            serde_saphyr::from_str(&text).expect("parse sqldef yaml");
        let fname = file
            .file_name()
            .map(|f| f.to_string_lossy().to_string())
            .unwrap_or_default();
        for (name, case) in cases {
            let skip = if case.error.is_some() {
                Some("sqldef expects an error here".to_string())
            } else {
                None
            };
            out.push(Pair {
                name: format!("sqldef/{fname}:{name}"),
                current: case.current.unwrap_or_default(),
                desired: case.desired.unwrap_or_default(),
                data_before: Vec::new(),
                skip,
            });
        }
    }
    let text = std::fs::read_to_string(dir.join("atlas/chains.json")).expect("read chains.json");
    let records: Vec<AtlasRecord> = serde_json::from_str(&text).expect("parse chains.json");
    for record in records {
        for (i, pair) in record.pairs.into_iter().enumerate() {
            out.push(Pair {
                name: format!("atlas/{}#{i}", record.name),
                current: pair.current,
                desired: pair.desired,
                data_before: pair
                    .data_before
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect(),
                skip: None,
            });
        }
    }
    out
}
