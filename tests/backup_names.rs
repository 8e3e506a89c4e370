//! Backups taken at the same moment into one folder (two `apply` processes sharing a project's
//! backups folder, or fleet workers) each get their own file: none fails on a name another
//! took, none removes another's file.

use std::sync::{Arc, Barrier};

#[test]
fn backups_taken_at_once_into_one_folder_each_get_their_own_name() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1), (2), (3);")
        .unwrap();
    drop(conn);
    let backups = dir.path().join("backups");
    for round in 0..10 {
        let threads = 6;
        let barrier = Arc::new(Barrier::new(threads));
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let (db, backups, barrier) = (db.clone(), backups.clone(), barrier.clone());
                std::thread::spawn(move || {
                    let source = rusqlite::Connection::open(&db).unwrap();
                    barrier.wait();
                    let taken = schemactl::backup::take(&source, &db, &backups, "pre-apply");
                    // Hold every copy until all are taken, as concurrent runs would.
                    barrier.wait();
                    taken
                        .map(|p| p.file.path.clone())
                        .map_err(|e| e.to_string())
                })
            })
            .collect();
        let mut paths = Vec::new();
        for h in handles {
            match h.join().unwrap() {
                Ok(p) => paths.push(p),
                Err(e) => panic!("round {round}: a backup failed: {e}"),
            }
        }
        let mut unique = paths.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), paths.len(), "round {round}: {paths:?}");
        // Every copy taken in the round was removed by its own marker (none finished); the
        // folder holds no file of this round.
        let left: Vec<_> = std::fs::read_dir(&backups).unwrap().collect();
        assert!(left.is_empty(), "round {round}: {left:?}");
    }
}
