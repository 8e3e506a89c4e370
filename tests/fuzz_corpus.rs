//! Replays the fuzz targets' seed corpus and every saved crash (`fuzz/regressions/`) through the
//! same entry points cargo-fuzz drives, on stable Rust, so a crash found once stays fixed.

use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut n = 0;
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_file() {
                let data = std::fs::read(&path).unwrap();
                let outcome = std::panic::catch_unwind(|| run(&data));
                assert!(outcome.is_ok(), "{} panics", path.display());
                n += 1;
            }
        }
    }
    n
}

#[test]
fn the_dsl_corpus_and_regressions_never_panic() {
    assert!(
        replay("dsl", schemactl::fuzz::dsl) >= 2,
        "the seeds are there"
    );
}

#[test]
fn the_sqlite_master_corpus_and_regressions_never_panic() {
    assert!(
        replay("sqlite_master", schemactl::fuzz::sqlite_master) >= 12,
        "the seeds are there"
    );
}
