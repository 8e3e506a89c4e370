//! `schemactl fleet`: real databases in a temp dir, the real binary. 200 databases where one
//! holds rows the migration rejects; a migration failing everywhere stopped by the canary;
//! max failures; resume; a fleet rollback restoring every changed target exactly; kill -9 of
//! the orchestrator at random moments (50 trials here, `SCHEMACTL_FLEET_TRIALS=200` for more).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{schemactl, stderr, stdout};
use rusqlite::Connection;

const V3: &str = "CREATE TABLE notes_new (id INTEGER PRIMARY KEY, body TEXT NOT NULL, kind TEXT, tag TEXT, score INTEGER NOT NULL DEFAULT 0);
INSERT INTO notes_new (id, body, kind, tag) SELECT id, body, kind, tag FROM notes;
DROP TABLE notes;
ALTER TABLE notes_new RENAME TO notes;
CREATE INDEX notes_kind ON notes (kind);
";
const V3_REVERSE: &str = "DROP INDEX notes_kind;
CREATE TABLE notes_old (id INTEGER PRIMARY KEY, body TEXT, kind TEXT, tag TEXT);
INSERT INTO notes_old (id, body, kind, tag) SELECT id, body, kind, tag FROM notes;
DROP TABLE notes;
ALTER TABLE notes_old RENAME TO notes;
";

/// A project with V1 and V2 applied to `template.db` (with rows), and V3 (a rebuild of
/// `notes` that makes `body` NOT NULL) written after: every copy of the template has V3 pending.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::create_dir_all(p.join("migrations")).unwrap();
    std::fs::create_dir_all(p.join("rollbacks")).unwrap();
    let write = |f: &str, s: &str| std::fs::write(p.join(f), s).unwrap();
    write(
        "migrations/V1__notes.sql",
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT, kind TEXT);\n",
    );
    write("rollbacks/V1__notes.sql", "DROP TABLE notes;\n");
    write(
        "migrations/V2__add_tag.sql",
        "ALTER TABLE notes ADD COLUMN tag TEXT;\n",
    );
    write(
        "rollbacks/V2__add_tag.sql",
        "ALTER TABLE notes DROP COLUMN tag;\n",
    );
    write(
        "schemactl.toml",
        "migrations = \"migrations\"\nrollbacks = \"rollbacks\"\n",
    );
    let out = schemactl(p, &["apply", "-d", "template.db", "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let conn = Connection::open(p.join("template.db")).unwrap();
    conn.execute_batch(
        "INSERT INTO notes (body, kind, tag) VALUES ('a', 'x', 't1'), ('b', NULL, 't2'), ('it''s', 'y', NULL);",
    )
    .unwrap();
    drop(conn);
    write("migrations/V3__rebuild_notes.sql", V3);
    write("rollbacks/V3__rebuild_notes.sql", V3_REVERSE);
    dir
}

/// Copies the template to `t/NNN/memory.db` for each of `n` tenants; returns the paths,
/// relative to the project, in the fleet's order.
fn fleet(p: &Path, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let rel = format!("t/{i:03}/memory.db");
            std::fs::create_dir_all(p.join(format!("t/{i:03}"))).unwrap();
            std::fs::copy(p.join("template.db"), p.join(&rel)).unwrap();
            rel
        })
        .collect()
}

/// Adds a row the V3 rebuild rejects (a NULL body).
fn break_rows(db: &Path) {
    let conn = Connection::open(db).unwrap();
    conn.execute("INSERT INTO notes (body, kind) VALUES (NULL, 'z')", [])
        .unwrap();
}

/// Every user table's catalog (`table_xinfo`, `index_list`) and rows, as text.
fn dump(db: &Path) -> String {
    let conn = Connection::open(db).unwrap();
    let tables: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite%' AND name NOT LIKE '\\_schemactl%' ESCAPE '\\' ORDER BY name",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut out = String::new();
    for t in tables {
        out += &format!("table {t}\n");
        for q in [
            format!("SELECT * FROM pragma_table_xinfo('{t}')"),
            format!("SELECT name, \"unique\" FROM pragma_index_list('{t}') ORDER BY name"),
            format!("SELECT * FROM \"{t}\" ORDER BY rowid"),
        ] {
            let mut stmt = conn.prepare(&q).unwrap();
            let n = stmt.column_count();
            let rows = stmt
                .query_map([], |r| {
                    (0..n)
                        .map(|i| r.get::<_, rusqlite::types::Value>(i))
                        .collect::<Result<Vec<_>, _>>()
                })
                .unwrap();
            for row in rows {
                out += &format!("  {:?}\n", row.unwrap());
            }
        }
    }
    out
}

/// A row of `notes`: id, body, kind, tag.
type Note = (i64, Option<String>, Option<String>, Option<String>);

/// The rows of `notes` (the columns every version has), by id.
fn notes(db: &Path) -> Vec<Note> {
    let conn = Connection::open(db).unwrap();
    conn.prepare("SELECT id, body, kind, tag FROM notes ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn version(db: &Path) -> Option<i32> {
    let conn = Connection::open(db).unwrap();
    conn.query_row("SELECT max(version) FROM _schemactl_history", [], |r| {
        r.get(0)
    })
    .unwrap()
}

fn integrity(db: &Path) {
    let conn = Connection::open(db).unwrap();
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok", "{}", db.display());
}

/// The NDJSON lines of a run's standard output: the records by target, and the summary.
fn ndjson(out: &str) -> (BTreeMap<String, serde_json::Value>, serde_json::Value) {
    let mut records = BTreeMap::new();
    let mut summary = serde_json::Value::Null;
    for line in out.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if let Some(s) = v.get("summary") {
            summary = s.clone();
        } else {
            let target = v["target"].as_str().unwrap().to_string();
            assert!(
                records.insert(target.clone(), v).is_none(),
                "{target} reported twice"
            );
        }
    }
    (records, summary)
}

/// The run directories, oldest first.
fn runs(p: &Path) -> Vec<String> {
    let mut r: Vec<String> = std::fs::read_dir(p.join(".swarm/fleet"))
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    r.sort();
    r
}

/// The journal of run `id`: its complete lines.
fn journal(p: &Path, id: &str) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(p.join(".swarm/fleet").join(id).join("journal.ndjson"))
        .unwrap_or_default();
    let complete = text.rfind('\n').map_or("", |i| &text[..i]);
    complete
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

const GLOB: &str = "t/*/memory.db";

#[test]
fn two_hundred_databases_one_with_rows_the_migration_rejects() {
    let dir = project();
    let p = dir.path();
    let targets = fleet(p, 200);
    let bad = p.join(&targets[137]);
    break_rows(&bad);
    let before_rows: Vec<_> = targets.iter().map(|t| notes(&p.join(t))).collect();
    let bad_bytes = std::fs::read(&bad).unwrap();

    // Preflight names the rows, writes nothing.
    let plan = schemactl(p, &["fleet", "plan", "--targets", GLOB]);
    assert_eq!(plan.status.code(), Some(2), "{}", stderr(&plan));
    assert!(
        stdout(&plan).contains("\"notes\": NOT NULL on body: in 1 of 200 database(s)"),
        "{}",
        stdout(&plan)
    );
    assert!(runs(p).is_empty());
    assert_eq!(std::fs::read(&bad).unwrap(), bad_bytes);

    let out = schemactl(
        p,
        &[
            "fleet",
            "apply",
            "--targets",
            GLOB,
            "--jobs",
            "2",
            "--allow-destructive",
            "--yes",
            "--format",
            "ndjson",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let (records, summary) = ndjson(&stdout(&out));
    assert_eq!(records.len(), 200);
    for (i, t) in targets.iter().enumerate() {
        let r = &records[t];
        let db = p.join(t);
        integrity(&db);
        if i == 137 {
            assert_eq!(r["outcome"], "rehearsal_failed");
            assert_eq!(r["from"], 2);
            assert_eq!(r["to"], 2);
            assert_eq!(
                r["error"]["statement"],
                "INSERT INTO notes_new (id, body, kind, tag) SELECT id, body, kind, tag FROM notes"
            );
            assert!(
                r["error"]["migration"]
                    .as_str()
                    .unwrap()
                    .starts_with("V3__rebuild_notes")
            );
            assert_eq!(r["lint"][0], "\"notes\": NOT NULL on body");
            // Untouched: the same bytes, the same history.
            assert_eq!(std::fs::read(&db).unwrap(), bad_bytes);
            assert_eq!(version(&db), Some(2));
        } else {
            assert_eq!(r["outcome"], "applied", "{t}: {r}");
            assert_eq!(r["from"], 2);
            assert_eq!(r["to"], 3);
            assert_eq!(version(&db), Some(3));
            let backup = PathBuf::from(r["backup"].as_str().unwrap());
            assert_eq!(
                backup.parent().unwrap(),
                Path::new(t).parent().unwrap().join("backups")
            );
            assert!(p.join(&backup).is_file());
            // The same rows, with the same values, in the rebuilt table; the new column
            // holds its default.
            let after = dump(&db);
            assert!(after.contains("Text(\"score\")"), "{after}");
            assert!(after.contains("Text(\"notes_kind\")"), "{after}");
            assert_eq!(notes(&db), before_rows[i]);
            let conn = Connection::open(&db).unwrap();
            let scores: i64 = conn
                .query_row("SELECT count(*) FROM notes WHERE score IS NOT 0", [], |r| {
                    r.get(0)
                })
                .unwrap();
            assert_eq!(scores, 0);
        }
    }
    assert_eq!(summary["outcomes"]["applied"], 199);
    assert_eq!(summary["outcomes"]["rehearsal_failed"], 1);
    assert_eq!(summary["versions_before"]["V2"], 200);
    assert_eq!(summary["versions_after"]["V3"], 199);
    assert_eq!(summary["converged"], false);
    assert_eq!(summary["failures"][0]["target"], targets[137]);

    // The journal says what the histories say.
    let run = &runs(p)[0];
    let journal = journal(p, run);
    assert_eq!(journal.len(), 200);
    for r in &journal {
        assert_eq!(
            version(&p.join(r["target"].as_str().unwrap())),
            r["to"].as_i64().map(|v| v as i32)
        );
    }

    // Status: one pending, 199 up to date, exit 2; prometheus says the same.
    let st = schemactl(
        p,
        &[
            "fleet",
            "status",
            "--targets",
            GLOB,
            "--format",
            "prometheus",
        ],
    );
    assert_eq!(st.status.code(), Some(2));
    let text = stdout(&st);
    assert!(
        text.contains("schemactl_fleet_databases{state=\"pending\"} 1\n"),
        "{text}"
    );
    assert!(text.contains("schemactl_fleet_databases{state=\"up_to_date\"} 199\n"));
    assert!(text.contains("schemactl_fleet_version_databases{version=\"V3\"} 199\n"));
}

#[test]
fn a_migration_failing_everywhere_stops_after_the_canary_with_nothing_changed() {
    let dir = project();
    let p = dir.path();
    let targets = fleet(p, 12);
    for t in &targets {
        break_rows(&p.join(t));
    }
    let bytes: Vec<Vec<u8>> = targets
        .iter()
        .map(|t| std::fs::read(p.join(t)).unwrap())
        .collect();
    let out = schemactl(
        p,
        &[
            "fleet",
            "apply",
            "--targets",
            GLOB,
            "--canary",
            "3",
            "--jobs",
            "1",
            "--allow-destructive",
            "--yes",
            "--format",
            "ndjson",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let (records, summary) = ndjson(&stdout(&out));
    assert_eq!(records.len(), 12);
    for (i, t) in targets.iter().enumerate() {
        // No failure is allowed in the canary: its first failure stops it.
        let want = if i == 0 {
            "rehearsal_failed"
        } else {
            "skipped"
        };
        assert_eq!(records[t]["outcome"], want, "{t}");
        assert_eq!(std::fs::read(p.join(t)).unwrap(), bytes[i], "{t} changed");
    }
    assert_eq!(summary["outcomes"]["skipped"], 11);
    // Only what finished is journaled: the skipped run on resume.
    assert_eq!(journal(p, &runs(p)[0]).len(), 1);
}

#[test]
fn max_failures_stops_new_targets_and_the_canary_only_then_resume_finishes_the_run() {
    let dir = project();
    let p = dir.path();
    let targets = fleet(p, 10);
    for i in [1, 3, 5, 7] {
        break_rows(&p.join(&targets[i]));
    }
    // One worker: the order is the targets' order, so what ran is known exactly.
    let out = schemactl(
        p,
        &[
            "fleet",
            "apply",
            "--targets",
            GLOB,
            "--canary",
            "0",
            "--max-failures",
            "2",
            "--jobs",
            "1",
            "--allow-destructive",
            "--yes",
            "--format",
            "ndjson",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let (records, _) = ndjson(&stdout(&out));
    let outcomes: Vec<&str> = targets
        .iter()
        .map(|t| records[t]["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        [
            "applied",
            "rehearsal_failed",
            "applied",
            "rehearsal_failed",
            "skipped",
            "skipped",
            "skipped",
            "skipped",
            "skipped",
            "skipped"
        ]
    );
    for (i, t) in targets.iter().enumerate() {
        let want = if i == 0 || i == 2 { Some(3) } else { Some(2) };
        assert_eq!(version(&p.join(t)), want, "{t}");
    }

    // A fresh fleet: the canary only, then resume the same run.
    let dir = project();
    let p = dir.path();
    let targets = fleet(p, 6);
    let out = schemactl(
        p,
        &[
            "fleet",
            "apply",
            "--targets",
            GLOB,
            "--canary",
            "2",
            "--canary-only",
            "--allow-destructive",
            "--yes",
            "--format",
            "ndjson",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (records, _) = ndjson(&stdout(&out));
    assert_eq!(records[&targets[0]]["outcome"], "applied");
    assert_eq!(records[&targets[1]]["outcome"], "applied");
    assert!(
        targets[2..]
            .iter()
            .all(|t| records[t]["outcome"] == "skipped")
    );
    assert!(targets[2..].iter().all(|t| version(&p.join(t)) == Some(2)));
    let run = runs(p)[0].clone();
    let out = schemactl(
        p,
        &[
            "fleet",
            "apply",
            "--resume",
            &run,
            "--allow-destructive",
            "--yes",
            "--format",
            "ndjson",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (records, summary) = ndjson(&stdout(&out));
    assert_eq!(summary["outcomes"]["applied"], 6);
    assert_eq!(summary["run"], run.as_str());
    assert!(targets.iter().all(|t| version(&p.join(t)) == Some(3)));
    // The two the run had finished were not run again: their records are the first ones.
    let journal = journal(p, &run);
    assert_eq!(journal.len(), 6);
    for t in &targets[..2] {
        assert_eq!(
            journal.iter().filter(|r| r["target"] == t.as_str()).count(),
            1
        );
        assert_eq!(
            records[t],
            *journal.iter().find(|r| r["target"] == t.as_str()).unwrap()
        );
    }
    assert_eq!(runs(p).len(), 1);
}

#[test]
fn a_fleet_rollback_restores_every_changed_target_exactly_dropped_data_included() {
    let dir = project();
    let p = dir.path();
    let targets = fleet(p, 8);
    // One already at V3 before the run (the run does not change it), one the run cannot change.
    let out = schemactl(
        p,
        &["apply", "-d", &targets[0], "--allow-destructive", "--yes"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    break_rows(&p.join(&targets[5]));
    let before: Vec<String> = targets.iter().map(|t| dump(&p.join(t))).collect();
    let out = schemactl(
        p,
        &[
            "fleet",
            "apply",
            "--targets",
            GLOB,
            "--canary",
            "0",
            "--allow-destructive",
            "--yes",
            "--format",
            "ndjson",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let run = runs(p)[0].clone();
    // Data written after the run, into the column the run added: the rollback drops it.
    for t in &targets[1..5] {
        let conn = Connection::open(p.join(t)).unwrap();
        conn.execute("UPDATE notes SET score = id * 10", [])
            .unwrap();
    }
    let scored: Vec<String> = targets.iter().map(|t| dump(&p.join(t))).collect();

    let out = schemactl(
        p,
        &[
            "fleet", "rollback", "--run", &run, "--yes", "--format", "ndjson",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (records, summary) = ndjson(&stdout(&out));
    assert_eq!(records.len(), 6, "exactly the targets the run changed");
    assert!(!records.contains_key(&targets[0]));
    assert!(!records.contains_key(&targets[5]));
    assert_eq!(summary["outcomes"]["rolled_back"], 6);
    for (i, t) in targets.iter().enumerate() {
        let db = p.join(t);
        integrity(&db);
        if i == 0 {
            assert_eq!(version(&db), Some(3));
            assert_eq!(dump(&db), scored[0]);
        } else {
            assert_eq!(version(&db), Some(2), "{t}");
            assert_eq!(dump(&db), before[i], "{t} is not as it was");
        }
    }
    // Again: nothing left to do, every target up to date.
    let out = schemactl(
        p,
        &[
            "fleet", "rollback", "--run", &run, "--yes", "--format", "ndjson",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (_, summary) = ndjson(&stdout(&out));
    assert_eq!(summary["outcomes"]["up_to_date"], 6);
    // The dropped scores were stashed: applying again brings them back.
    let out = schemactl(
        p,
        &[
            "fleet",
            "apply",
            "--targets",
            GLOB,
            "--canary",
            "0",
            "--allow-destructive",
            "--yes",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    for t in &targets[1..5] {
        assert_eq!(
            dump(&p.join(t)),
            scored[targets.iter().position(|x| x == t).unwrap()]
        );
    }
}

#[test]
fn bad_targets_are_refused_naming_the_place_with_nothing_written() {
    let dir = project();
    let p = dir.path();
    fleet(p, 2);
    std::fs::write(p.join("list.txt"), "t/000/memory.db\nt/404/memory.db\n").unwrap();
    let out = schemactl(
        p,
        &["fleet", "apply", "--targets-from", "list.txt", "--yes"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("list.txt:2: t/404/memory.db is not a file"),
        "{}",
        stderr(&out)
    );
    let out = schemactl(p, &["fleet", "apply", "--targets", "none/*.db", "--yes"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--targets none/*.db: no file matches"));
    let out = schemactl(p, &["fleet", "apply", "--resume", "nope", "--yes"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("run nope: no such run"),
        "{}",
        stderr(&out)
    );
    let out = schemactl(
        p,
        &[
            "fleet",
            "apply",
            "--targets",
            GLOB,
            "--canary",
            "x",
            "--yes",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("`x` is not a count"),
        "{}",
        stderr(&out)
    );
    assert!(runs(p).is_empty());
    assert_eq!(version(&p.join("t/000/memory.db")), Some(2));
}

/// Kill -9 of `fleet apply` at random moments: no database half applied (each at V2 with its
/// V2 rows and schema, or at V3 with the rebuilt ones), the journal agrees with the histories,
/// and a re-run (resuming the run when it was created) converges.
#[test]
fn kill_9_at_random_moments_leaves_no_database_half_applied() {
    let trials: usize = std::env::var("SCHEMACTL_FLEET_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let dir = project();
    let p = dir.path();
    let n = 6;
    let targets = fleet(p, n);
    let v2 = dump(&p.join(&targets[0]));
    // The V3 dump, and how long a whole run takes here.
    let started = Instant::now();
    let out = schemactl(
        p,
        &[
            "fleet",
            "apply",
            "--targets",
            GLOB,
            "--canary",
            "0",
            "--allow-destructive",
            "--yes",
        ],
    );
    let whole = started.elapsed();
    assert!(out.status.success(), "{}", stderr(&out));
    let v3 = dump(&p.join(&targets[0]));
    assert_ne!(v2, v3);
    let bin = assert_cmd::cargo::cargo_bin("schemactl");
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut killed_mid_run = 0;
    for trial in 0..trials {
        std::fs::remove_dir_all(p.join("t")).unwrap();
        let _ = std::fs::remove_dir_all(p.join(".swarm"));
        fleet(p, n);
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = Duration::from_micros(seed % (whole.as_micros() as u64 + 1));
        let mut child = Command::new(&bin)
            .current_dir(p)
            .env_remove("SCHEMACTL_DATABASE")
            .args([
                "fleet",
                "apply",
                "--targets",
                GLOB,
                "--canary",
                "0",
                "--jobs",
                "2",
                "--allow-destructive",
                "--yes",
                "--format",
                "ndjson",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        if status.code().is_none() {
            killed_mid_run += 1;
        }
        let run = runs(p).first().cloned();
        let journal = run.as_deref().map(|r| journal(p, r)).unwrap_or_default();
        for t in &targets {
            let db = p.join(t);
            integrity(&db);
            let d = dump(&db);
            match version(&db) {
                Some(2) => assert_eq!(d, v2, "trial {trial}: {t} half applied"),
                Some(3) => assert_eq!(d, v3, "trial {trial}: {t} half applied"),
                other => panic!("trial {trial}: {t} at {other:?}"),
            }
        }
        for r in &journal {
            let db = p.join(r["target"].as_str().unwrap());
            assert_eq!(
                version(&db).map(i64::from),
                r["to"].as_i64(),
                "trial {trial}: the journal says {r}"
            );
        }
        let mut args = vec![
            "fleet",
            "apply",
            "--canary",
            "0",
            "--allow-destructive",
            "--yes",
            "--format",
            "ndjson",
        ];
        match &run {
            Some(r) => args.extend(["--resume", r.as_str()]),
            None => args.extend(["--targets", GLOB]),
        }
        let out = schemactl(p, &args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "trial {trial}: {}",
            stderr(&out)
        );
        let (records, _) = ndjson(&stdout(&out));
        assert_eq!(records.len(), n);
        for t in &targets {
            assert_eq!(dump(&p.join(t)), v3, "trial {trial}: {t} did not converge");
            // No half-written backup survives a re-run: partial files are swept.
            let backups = p.join(Path::new(t).parent().unwrap()).join("backups");
            for f in std::fs::read_dir(&backups).into_iter().flatten() {
                let name = f.unwrap().file_name().to_string_lossy().into_owned();
                assert!(!name.ends_with(".inprogress"), "trial {trial}: {name}");
            }
        }
    }
    eprintln!("{trials} trials, {killed_mid_run} killed before the end (a run takes {whole:?})");
    assert!(
        killed_mid_run * 2 >= trials,
        "most kills must land during a run"
    );
}

#[test]
fn a_database_another_process_holds_is_retried_at_the_end_then_reported_busy() {
    let dir = project();
    let p = dir.path();
    let targets = fleet(p, 4);
    // Another schemactl holds the lock of the first database for the whole run.
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(p.join("t/000/memory.db.schemactl-lock"))
        .unwrap();
    lock.lock().unwrap();
    let bytes = std::fs::read(p.join(&targets[0])).unwrap();
    let out = schemactl(
        p,
        &[
            "fleet",
            "apply",
            "--targets",
            GLOB,
            "--canary",
            "0",
            "--jobs",
            "1",
            "--allow-destructive",
            "--yes",
            "--format",
            "ndjson",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let text = stdout(&out);
    let (records, _) = ndjson(&text);
    assert_eq!(records[&targets[0]]["outcome"], "busy");
    assert!(
        targets[1..]
            .iter()
            .all(|t| records[t]["outcome"] == "applied")
    );
    // Re-queued at the end: the others finished before it was given up.
    let order: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split("\"target\":\"").nth(1))
        .map(|l| &l[..15])
        .collect();
    assert_eq!(order.last(), Some(&"t/000/memory.db"));
    assert_eq!(std::fs::read(p.join(&targets[0])).unwrap(), bytes);
    drop(lock);
}
