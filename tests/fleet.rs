//! `schemactl fleet`: real databases in a temp dir, the real binary. 200 databases where one
//! holds rows the migration rejects; a migration failing everywhere stopped by the canary;
//! max failures; canary-only and resume; a busy database; bad targets; a fleet rollback
//! restoring every changed target exactly. Kills and Ctrl-C are in `fleet_crash.rs`.

mod common;

use std::path::{Path, PathBuf};

use common::fleet::*;
use common::{schemactl, stderr, stdout};
use rusqlite::Connection;

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
    // A dry run shows the plan (every database fails the lint) and writes nothing.
    let out = schemactl(
        p,
        &["fleet", "apply", "--targets", GLOB, "--dry-run", "--yes"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("NOT NULL on body: in 12 of 12 database(s)"),
        "{}",
        stdout(&out)
    );
    assert!(runs(p).is_empty());
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
