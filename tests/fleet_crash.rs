//! `schemactl fleet apply` killed (-9) at random moments, and interrupted by Ctrl-C: no
//! database half applied, the journal agrees with the histories, a re-run converges. 50 kill
//! trials by default; `SCHEMACTL_FLEET_TRIALS=200` for more.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::fleet::*;
use common::{schemactl, stderr, stdout};

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
    let n = 4;
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
    // The window the kills fall in: a whole run at first, then narrowed when a run ends before
    // its kill and widened when the kill lands, so that about half land during a run however
    // loaded the machine is.
    let mut whole = started.elapsed();
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
            whole = whole.mul_f64(1.05);
        } else {
            whole = whole.mul_f64(0.85);
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
    eprintln!(
        "{trials} trials, {killed_mid_run} killed during a run (window at the end: {whole:?})"
    );
    assert!(
        killed_mid_run * 3 >= trials,
        "at least a third of the kills must land during a run"
    );
}

#[test]
fn ctrl_c_starts_nothing_new_finishes_what_is_in_flight_and_reports_the_rest_skipped() {
    let dir = project();
    let p = dir.path();
    let targets = fleet(p, 40);
    let bin = assert_cmd::cargo::cargo_bin("schemactl");
    let child = Command::new(&bin)
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
            "1",
            "--allow-destructive",
            "--yes",
            "--format",
            "ndjson",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Once the first target is journaled, Ctrl-C.
    let deadline = Instant::now() + Duration::from_secs(60);
    while runs(p).first().is_none_or(|r| journal(p, r).is_empty()) {
        assert!(Instant::now() < deadline, "no target finished");
        std::thread::sleep(Duration::from_millis(5));
    }
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) },
        0
    );
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let text = stdout(&out);
    let (records, _) = ndjson(&text);
    assert_eq!(records.len(), 40);
    let summary: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(summary["stopped"], "interrupted: no new target was started");
    let skipped = targets
        .iter()
        .filter(|t| records[*t]["outcome"] == "skipped")
        .count();
    assert!(skipped > 0, "{text}");
    for t in &targets {
        let want = if records[t]["outcome"] == "skipped" {
            Some(2)
        } else {
            assert_eq!(records[t]["outcome"], "applied");
            Some(3)
        };
        assert_eq!(version(&p.join(t)), want, "{t}");
    }
    // Only what finished is journaled, and resume finishes the rest.
    let run = runs(p)[0].clone();
    assert_eq!(journal(p, &run).len(), 40 - skipped);
    let out = schemactl(
        p,
        &[
            "fleet",
            "apply",
            "--resume",
            &run,
            "--allow-destructive",
            "--yes",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(targets.iter().all(|t| version(&p.join(t)) == Some(3)));
}
