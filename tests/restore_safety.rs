//! Restore never loses another connection's write, acts on the file a symbolic link points
//! to, refuses what is no backup of the database (an empty file, a device, a FIFO, a prune
//! archive) and what it cannot restore (a WAL database of another page size, a virtual
//! table), leaving the database and the backups folder exactly as they were; a one-table
//! restore maps columns through a rebuild's parallel renames. Real files, real processes.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use proptest::prelude::*;
use rusqlite::Connection;
use schemactl::ops::restore::columns;

/// A project with a database `db.sqlite` and its backups in `backups/`.
struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new() -> Self {
        Project {
            dir: common::empty_project(),
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn run(&self, args: &[&str]) -> Output {
        common::schemactl(self.dir.path(), args)
    }

    fn ok(&self, args: &[&str]) -> String {
        common::ok_in(self.dir.path(), args)
    }

    fn fails(&self, args: &[&str]) -> String {
        common::fails_in(self.dir.path(), args, 1)
    }

    fn conn(&self) -> Connection {
        Connection::open(self.path("db.sqlite")).unwrap()
    }

    /// The files in backups/, sorted.
    fn backups(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.path("backups")) else {
            return Vec::new();
        };
        let mut names: Vec<String> = entries
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        names.sort();
        names
    }

    /// The before-restore safety copies, decompressed into the temp dir.
    fn safety_copies(&self) -> Vec<PathBuf> {
        self.backups()
            .iter()
            .filter(|n| n.contains("before-restore") && n.ends_with(".db.zst"))
            .enumerate()
            .map(|(i, n)| {
                let to = self.path(&format!("safety-{i}.db"));
                schemactl::backup::decompress(&self.path("backups").join(n), &to).unwrap();
                to
            })
            .collect()
    }
}

/// The `n` of every `app-n` row of t in `db`.
fn app_rows(db: &Path) -> BTreeSet<i64> {
    let conn = Connection::open(db).unwrap();
    conn.busy_timeout(std::time::Duration::from_secs(60))
        .unwrap();
    let mut stmt = conn
        .prepare("SELECT CAST(substr(v, 5) AS INTEGER) FROM t WHERE v LIKE 'app-%'")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

/// Restores (`args`) while another connection inserts a row every millisecond or so; every row that
/// connection committed must be in the live database or in the before-restore safety copy.
fn race(wal: bool, args: &[&str]) {
    let p = Project::new();
    p.conn()
        .execute_batch(&format!(
            "{} CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t (v) VALUES ('from-backup');",
            if wal { "PRAGMA journal_mode = WAL;" } else { "" }
        ))
        .unwrap();
    p.ok(&["backup"]);
    let stop = Arc::new(AtomicBool::new(false));
    let db = p.path("db.sqlite");
    let writer = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let conn = Connection::open(&db).unwrap();
            conn.busy_timeout(std::time::Duration::from_secs(60))
                .unwrap();
            let mut committed = BTreeSet::new();
            let mut n = 0i64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                // Autocommit: Ok means committed.
                if conn
                    .execute("INSERT INTO t (v) VALUES (?1)", [format!("app-{n}")])
                    .is_ok()
                {
                    committed.insert(n);
                }
                // A busy application, not a lock-hog that starves everyone else's locks.
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            committed
        })
    };
    // Let the writer get going, so that it is writing when the restore starts.
    while app_rows(&p.path("db.sqlite")).len() < 50 {
        std::thread::yield_now();
    }
    let out = p.run(args);
    std::thread::sleep(std::time::Duration::from_millis(100));
    stop.store(true, Ordering::Relaxed);
    let committed = writer.join().unwrap();
    assert!(out.status.success(), "{args:?}: {}", common::stderr(&out));
    let mut kept = app_rows(&p.path("db.sqlite"));
    let copies = p.safety_copies();
    assert_eq!(copies.len(), 1, "one safety copy: {:?}", p.backups());
    kept.extend(app_rows(&copies[0]));
    let lost: Vec<&i64> = committed.difference(&kept).collect();
    assert!(
        lost.is_empty(),
        "{args:?} (wal: {wal}): {} of {} committed rows are neither in the database nor in the safety copy: {:?}",
        lost.len(),
        committed.len(),
        &lost[..lost.len().min(10)]
    );
}

#[test]
fn a_whole_restore_loses_no_row_another_connection_commits_wal() {
    race(true, &["restore", "--latest", "--wait", "--yes"]);
}

#[test]
fn a_whole_restore_loses_no_row_another_connection_commits_rollback_journal() {
    race(false, &["restore", "--latest", "--wait", "--yes"]);
}

#[test]
fn a_table_replace_loses_no_row_another_connection_commits_wal() {
    race(
        true,
        &[
            "restore", "--latest", "--table", "t", "--mode", "replace", "--wait", "--yes",
        ],
    );
}

#[test]
fn a_table_replace_loses_no_row_another_connection_commits_rollback_journal() {
    race(
        false,
        &[
            "restore", "--latest", "--table", "t", "--mode", "replace", "--wait", "--yes",
        ],
    );
}

#[test]
fn a_restore_through_symbolic_links_restores_the_file_they_point_to() {
    let p = Project::new();
    std::fs::create_dir(p.path("real")).unwrap();
    Connection::open(p.path("real/app.db"))
        .unwrap()
        .execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES ('good');")
        .unwrap();
    // A chain of relative links: link.db -> links/hop.db -> ../real/app.db.
    std::fs::create_dir(p.path("links")).unwrap();
    std::os::unix::fs::symlink("../real/app.db", p.path("links/hop.db")).unwrap();
    std::os::unix::fs::symlink("links/hop.db", p.path("link.db")).unwrap();
    p.ok(&["backup", "--database", "link.db"]);
    // Readable: restored in place, the links untouched.
    Connection::open(p.path("real/app.db"))
        .unwrap()
        .execute_batch("DELETE FROM t")
        .unwrap();
    p.ok(&["restore", "--latest", "--database", "link.db", "--yes"]);
    let rows = |db: &str| -> Vec<String> {
        let conn = Connection::open(p.path(db)).unwrap();
        let mut s = conn.prepare("SELECT x FROM t").unwrap();
        s.query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    };
    assert_eq!(rows("real/app.db"), ["good"]);
    // Corrupt: the file the links point to is moved aside and restored, never a link.
    std::fs::write(p.path("real/app.db"), [0x5au8; 4096]).unwrap();
    p.ok(&[
        "restore",
        "--latest-valid",
        "--database",
        "link.db",
        "--yes",
    ]);
    for link in ["link.db", "links/hop.db"] {
        assert!(
            std::fs::symlink_metadata(p.path(link))
                .unwrap()
                .file_type()
                .is_symlink(),
            "{link} is still a link"
        );
    }
    assert_eq!(rows("real/app.db"), ["good"], "the real file is restored");
    let aside: Vec<String> = std::fs::read_dir(p.path("real"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with("app.db.corrupt-"))
        .collect();
    assert_eq!(
        aside.len(),
        1,
        "the corrupt file moved aside beside itself: {aside:?}"
    );
    assert_eq!(
        std::fs::read(p.path("real").join(&aside[0])).unwrap(),
        [0x5au8; 4096]
    );
    let beside_links: Vec<String> = std::fs::read_dir(p.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.contains("corrupt"))
        .collect();
    assert!(beside_links.is_empty(), "{beside_links:?}");
}

#[test]
fn the_lock_of_a_database_is_one_whatever_link_names_it() {
    let dir = common::temp_dir();
    std::fs::write(dir.path().join("app.db"), b"").unwrap();
    std::os::unix::fs::symlink("app.db", dir.path().join("link.db")).unwrap();
    let held =
        schemactl::db::lock::acquire(&dir.path().join("app.db"), false, &mut |_| {}).unwrap();
    let through_link =
        schemactl::db::lock::acquire(&dir.path().join("link.db"), false, &mut |_| {});
    assert!(
        through_link.is_err(),
        "the link's lock is the file's lock, held already"
    );
    drop(held);
    schemactl::db::lock::acquire(&dir.path().join("link.db"), false, &mut |_| {}).unwrap();
    assert!(!dir.path().join("link.db.schemactl-lock").exists());
}

/// The database's rows and schema, and the backups folder, as they are.
fn state(p: &Project) -> (Vec<String>, Vec<String>) {
    let conn = p.conn();
    let mut s = conn
        .prepare(
            "SELECT type || ' ' || name FROM sqlite_schema UNION ALL SELECT x FROM t ORDER BY 1",
        )
        .unwrap();
    let db = s
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    (db, p.backups())
}

#[test]
fn an_empty_file_a_device_or_a_fifo_is_no_backup() {
    let p = Project::new();
    p.conn()
        .execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES ('row1'), ('row2');")
        .unwrap();
    p.ok(&["backup"]);
    let before = state(&p);
    std::fs::write(p.path("empty.db"), b"").unwrap();
    // A compressed file whose content is empty.
    std::fs::write(
        p.path("empty.db.zst"),
        zstd::encode_all(&b""[..], 3).unwrap(),
    )
    .unwrap();
    std::fs::write(p.path("empty.db.gz"), {
        use std::io::Write as _;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(b"").unwrap();
        e.finish().unwrap()
    })
    .unwrap();
    let fifo = p.path("pipe.db");
    let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    for (file, says) in [
        ("empty.db", "is empty: an empty file is no backup"),
        ("empty.db.zst", "is empty: an empty file is no backup"),
        ("empty.db.gz", "is empty: an empty file is no backup"),
        ("/dev/null", "is not a regular file (a device)"),
        ("pipe.db", "is not a regular file (a FIFO)"),
        ("backups", "is not a regular file (a directory)"),
    ] {
        let err = p.fails(&["restore", file, "--without-checksum", "--yes"]);
        assert!(err.contains(says) && err.contains(file), "{file}: {err}");
        assert_eq!(state(&p), before, "{file}: nothing changed");
        if file.ends_with(".zst") || file.ends_with(".gz") {
            continue; // backup verify wants a checksum for those
        }
        let out = p.run(&["backup", "verify", file]);
        let said = common::stdout(&out);
        assert_eq!(out.status.code(), Some(1), "backup verify {file}: {said}");
        assert!(said.contains(says), "backup verify {file}: {said}");
    }
}

#[test]
fn a_bad_compressed_backup_is_named_not_its_scratch_copy() {
    let p = Project::new();
    p.conn()
        .execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES ('row1');")
        .unwrap();
    let before = state(&p);
    let garbage = zstd::encode_all(&[0x42u8; 8192][..], 3).unwrap();
    std::fs::write(p.path("bad.db.zst"), garbage).unwrap();
    let gz = {
        use std::io::Write as _;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(&[0x42u8; 8192]).unwrap();
        e.finish().unwrap()
    };
    std::fs::write(p.path("bad.db.gz"), gz).unwrap();
    for file in ["bad.db.zst", "bad.db.gz"] {
        let err = p.fails(&["restore", file, "--without-checksum", "--yes"]);
        assert!(err.contains(file), "{err}");
        assert!(!err.contains("scratch"), "{err}");
        assert_eq!(state(&p), before);
    }
}

#[test]
fn a_prune_archive_is_no_backup_of_the_database() {
    let p = Project::new();
    std::fs::write(
        p.path("schema/s.yaml"),
        "schemactl: 1\nversion: 1\ntables:\n  t:\n    columns:\n      id: {type: INTEGER, primary_key: true}\n      x: {type: TEXT}\n    retention: { when: \"x LIKE 'old%'\" }\n  u:\n    columns:\n      id: {type: INTEGER, primary_key: true}\n",
    )
    .unwrap();
    p.conn()
        .execute_batch(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, x TEXT); CREATE TABLE u (id INTEGER PRIMARY KEY);
             INSERT INTO u VALUES (1), (2), (3); INSERT INTO t (x) VALUES ('old'), ('new1'), ('new2');",
        )
        .unwrap();
    p.ok(&["prune", "--yes"]);
    let archives = p.path(".swarm/archives");
    let archive = std::fs::read_dir(&archives)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|f| f.extension().is_some_and(|e| e == "db"))
        .expect("the prune archive");
    let archive = archive.display().to_string();
    let before = state(&p);
    let err = p.fails(&["restore", &archive, "--yes"]);
    assert!(
        err.contains("is a prune archive") && err.contains("--table TABLE --mode merge"),
        "{err}"
    );
    assert_eq!(state(&p), before, "nothing changed, no safety copy");
    // Its rows come back the way prune says.
    p.ok(&[
        "restore", &archive, "--table", "t", "--mode", "merge", "--yes",
    ]);
    let n: i64 = p
        .conn()
        .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 3);
    let n: i64 = p
        .conn()
        .query_row("SELECT count(*) FROM u", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 3);
}

#[test]
fn a_wal_database_of_another_page_size_is_refused_with_the_way_out() {
    let p = Project::new();
    p.conn()
        .execute_batch(
            "PRAGMA journal_mode = WAL; CREATE TABLE t (x); INSERT INTO t VALUES ('v1');",
        )
        .unwrap();
    p.ok(&["backup"]);
    {
        let c = p.conn();
        c.execute_batch(
            "INSERT INTO t VALUES ('v2'); PRAGMA journal_mode = DELETE; PRAGMA page_size = 8192; VACUUM;",
        )
        .unwrap();
        c.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
            .unwrap();
    }
    let before = state(&p);
    for _ in 0..2 {
        let err = p.fails(&["restore", "--latest", "--yes"]);
        assert!(
            err.contains("WAL mode")
                && err.contains("page size of 8192")
                && err.contains("4096")
                && err.contains("PRAGMA journal_mode=DELETE"),
            "{err}"
        );
        assert_eq!(state(&p), before, "nothing changed, no safety copy kept");
    }
    // The way out the message gives works.
    p.conn()
        .query_row("PRAGMA journal_mode = DELETE", [], |_| Ok(()))
        .unwrap();
    p.ok(&["restore", "--latest", "--yes"]);
    let c = p.conn();
    c.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
        .unwrap();
    let rows: Vec<String> = c
        .prepare("SELECT x FROM t")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(rows, ["v1"]);
}

#[test]
fn a_virtual_table_or_its_shadow_is_not_restored_alone() {
    let p = Project::new();
    p.conn()
        .execute_batch(
            "CREATE VIRTUAL TABLE docs USING fts5(title, body); INSERT INTO docs VALUES ('t1', 'hello');
             CREATE TABLE t (x); INSERT INTO t VALUES ('row');",
        )
        .unwrap();
    p.ok(&["backup"]);
    p.conn().execute_batch("DELETE FROM docs").unwrap();
    let before = state(&p);
    let err = p.fails(&["restore", "--latest", "--table", "docs", "--yes"]);
    assert!(
        err.contains("\"docs\" is a virtual table (USING fts5)")
            && err.contains("restore the whole database instead"),
        "{err}"
    );
    let err = p.fails(&["restore", "--latest", "--table", "docs_data", "--yes"]);
    assert!(err.contains("\"docs_data\" is a shadow table"), "{err}");
    assert_eq!(state(&p), before);
}

#[test]
fn a_swap_by_a_rebuild_restores_each_value_to_its_column() {
    let p = Project::new();
    let schema = |version: u32, a: &str, b: &str| {
        format!(
            "schemactl: 1\nversion: {version}\ntables:\n  t:\n    columns:\n      id: {{type: INTEGER, primary_key: true}}\n      a: {{type: TEXT{a}}}\n      b: {{type: TEXT{b}}}\n"
        )
    };
    std::fs::write(p.path("schema/s.yaml"), schema(1, "", "")).unwrap();
    p.ok(&["sync", "--yes"]);
    p.conn()
        .execute_batch("INSERT INTO t (a, b) VALUES ('was-a', 'was-b')")
        .unwrap();
    p.ok(&["backup"]);
    std::fs::write(
        p.path("schema/s.yaml"),
        schema(2, ", renamed_from: b", ", renamed_from: a"),
    )
    .unwrap();
    p.ok(&["sync", "--yes"]);
    let row = |p: &Project| -> (String, String) {
        p.conn()
            .query_row("SELECT a, b FROM t WHERE id = 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap()
    };
    assert_eq!(row(&p), ("was-b".into(), "was-a".into()), "the swap");
    for mode in ["replace", "merge"] {
        p.conn().execute_batch("DELETE FROM t").unwrap();
        p.ok(&[
            "restore", "--latest", "--table", "t", "--mode", mode, "--yes",
        ]);
        assert_eq!(row(&p), ("was-b".into(), "was-a".into()), "--mode {mode}");
    }
}

/// One step of a migration that moves column names around: a rebuild that copies columns
/// into a permutation of their names, or a native rename (through a temporary name).
#[derive(Debug, Clone)]
enum Step {
    Rebuild(Vec<usize>),
    Native(usize, usize),
}

fn steps(n: usize) -> impl Strategy<Value = Vec<Step>> {
    let step = prop_oneof![
        Just((0..n).collect::<Vec<usize>>())
            .prop_shuffle()
            .prop_map(Step::Rebuild),
        (0..n, 0..n).prop_map(|(i, j)| Step::Native(i, j)),
    ];
    proptest::collection::vec(step, 1..5)
}

/// The SQL of `step` on table t, whose columns are `names` (renamed as the step renames them).
fn step_sql(step: &Step, names: &mut [String]) -> String {
    let quoted = |n: &String| format!("\"{n}\"");
    match step {
        Step::Rebuild(perm) => {
            // As a rebuild writes it: column i of the new table (same names) takes the values
            // of column perm[i], which is a rename of perm[i]'s name to i's.
            let new: Vec<String> = names.iter().map(quoted).collect();
            let old: Vec<String> = perm.iter().map(|&j| quoted(&names[j])).collect();
            format!(
                "CREATE TABLE _schemactl_new_t (id INTEGER PRIMARY KEY, {});\nINSERT INTO _schemactl_new_t (id, {}) SELECT id, {} FROM t;\nDROP TABLE t;\nALTER TABLE _schemactl_new_t RENAME TO t;\n",
                new.join(", "),
                new.join(", "),
                old.join(", ")
            )
        }
        Step::Native(i, j) if i != j => {
            // A swap of two names through a temporary, as three native renames.
            let (a, b) = (names[*i].clone(), names[*j].clone());
            names.swap(*i, *j);
            format!(
                "ALTER TABLE t RENAME COLUMN \"{a}\" TO tmp_swap;\nALTER TABLE t RENAME COLUMN \"{b}\" TO \"{a}\";\nALTER TABLE t RENAME COLUMN tmp_swap TO \"{b}\";\n"
            )
        }
        Step::Native(..) => String::new(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Whatever cycles of names rebuilds made and swaps through temporaries native renames
    /// made since the backup, the mapping read from the migrations' SQL gives each live column
    /// the backup column whose values SQLite actually moved into it.
    #[test]
    fn the_column_mapping_follows_where_sqlite_moved_the_values(
        plan in (2usize..6).prop_flat_map(|n| (Just(n), steps(n))),
    ) {
        let (width, plan) = plan;
        let mut names: Vec<String> = (0..width).map(|i| format!("c{i}")).collect();
        let conn = Connection::open_in_memory().unwrap();
        // Each cell holds its backup column's name.
        conn.execute_batch(&format!(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, {});\nINSERT INTO t VALUES (1, {});",
            names.join(", "),
            names.iter().map(|c| format!("'{c}'")).collect::<Vec<_>>().join(", ")
        )).unwrap();
        let backup = schemactl::inspect(&conn).unwrap();
        let sql: String = plan.iter().map(|step| step_sql(step, &mut names)).collect();
        conn.execute_batch(&sql).unwrap();
        let live = schemactl::inspect(&conn).unwrap();
        let mapping = columns::map(live.table("t").unwrap(), &backup, &columns::renames(&sql)).unwrap();
        prop_assert_eq!(mapping.pairs.len(), width + 1, "{:?}", &mapping);
        for (live_col, backup_col) in mapping.pairs.iter().filter(|(l, _)| l != "id") {
            let moved: String = conn
                .query_row(&format!("SELECT \"{live_col}\" FROM t"), [], |r| r.get(0))
                .unwrap();
            prop_assert_eq!(backup_col, &moved, "live {} after\n{}", live_col, sql);
        }
        prop_assert!(mapping.unfilled.is_empty() && mapping.unmapped.is_empty(), "{:?}", mapping);
    }
}
