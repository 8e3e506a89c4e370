//! The run directory and its journal. Each run gets `<fleet_runs>/<run id>/` holding
//! `targets.txt` (the resolved targets, one a line), `run.json` (what was asked) and
//! `journal.ndjson`: one line per finished target, written and fsynced before the next target
//! is reported, so that a killed run's journal holds exactly what it finished (a line torn by
//! the kill was never acknowledged: it is cut off when the journal is opened again). The
//! databases' own histories stay the truth: the journal only says what a run did.

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::report::Record;
use crate::db::identity::canonical;
use crate::error::{Error, Result};

/// The journal of an apply run.
pub const APPLY_JOURNAL: &str = "journal.ndjson";
/// The journal of a fleet rollback of a run.
pub const ROLLBACK_JOURNAL: &str = "rollback.ndjson";

/// The prefix of the hidden directory a run is written in before it is renamed into place.
const SCRATCH: &str = ".new-";
/// The suffix of the file whose lock says the hidden directory's owner is alive.
const LOCK: &str = ".lock";

/// Creates (or opens) `<scratch>.lock` and holds an exclusive lock on it.
fn hold(scratch: &Path) -> Result<File> {
    let path = crate::db::sibling(scratch, LOCK);
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| Error::io("create", &path, e))?;
    file.lock().map_err(|e| Error::io("lock", &path, e))?;
    Ok(file)
}

/// Removes the hidden directories of runs killed before they were renamed into place: those
/// whose lock nobody holds. A directory whose owner is alive, and anything else in `runs`, is
/// left alone. Best effort: what cannot be removed now is tried again by the next run.
fn sweep_abandoned(runs: &Path) {
    let Ok(entries) = std::fs::read_dir(runs) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(stem) = name.strip_suffix(LOCK) else {
            continue;
        };
        if !stem.starts_with(SCRATCH) {
            continue;
        }
        let lock = entry.path();
        let Ok(file) = std::fs::OpenOptions::new().write(true).open(&lock) else {
            continue;
        };
        if file.try_lock().is_ok() {
            let _ = std::fs::remove_dir_all(runs.join(stem));
            let _ = std::fs::remove_file(&lock);
        }
    }
}

/// A run directory.
#[derive(Debug, Clone)]
pub struct Run {
    /// The run's id (its directory's name).
    pub id: String,
    /// Its directory.
    pub dir: PathBuf,
}

impl Run {
    /// Creates a new run directory under `runs`, named after the time, with the targets and
    /// `meta` (what was asked) written and fsynced.
    pub fn create(runs: &Path, targets: &[PathBuf], meta: &serde_json::Value) -> Result<Run> {
        std::fs::create_dir_all(runs).map_err(|e| Error::io("create directory", runs, e))?;
        // Written in a hidden directory, then renamed into place: a run directory is always
        // whole (a kill before the rename leaves only the hidden one, which is no run).
        // The hidden directory's owner holds a lock on `<it>.lock` until the rename is done
        // (the system drops it however the process ends): one nobody holds was abandoned by
        // a killed run, and [`sweep_abandoned`] removes it.
        let scratch = runs.join(format!("{SCRATCH}{}", std::process::id()));
        let owner = hold(&scratch)?;
        if scratch.exists() {
            std::fs::remove_dir_all(&scratch).map_err(|e| Error::io("remove", &scratch, e))?;
        }
        sweep_abandoned(runs);
        std::fs::create_dir(&scratch).map_err(|e| Error::io("create directory", &scratch, e))?;
        // Absolute and canonical: a resume or a rollback started from another directory
        // acts on these databases, never on others at the same relative paths.
        let list: String = targets
            .iter()
            .map(|t| format!("{}\n", canonical(t).display()))
            .collect();
        crate::db::write_new(&scratch.join("targets.txt"), &list)?;
        let mut meta = meta.clone();
        if let (Some(map), Ok(cwd)) = (meta.as_object_mut(), std::env::current_dir()) {
            map.insert("cwd".into(), canonical(&cwd).display().to_string().into());
        }
        let meta = serde_json::to_string_pretty(&meta).map_err(|source| Error::Json {
            context: "render run.json",
            source,
        })?;
        crate::db::write_new(&scratch.join("run.json"), &(meta + "\n"))?;
        crate::db::sync_dir(&scratch)?;
        let stamp = crate::db::timestamp();
        let mut n = 1;
        let (id, dir) = loop {
            let id = if n == 1 {
                stamp.clone()
            } else {
                format!("{stamp}-{n}")
            };
            let dir = runs.join(&id);
            // rename(2) never replaces a directory that has files: a taken name fails.
            if !dir.exists() && std::fs::rename(&scratch, &dir).is_ok() {
                break (id, dir);
            }
            n += 1;
            if n > 1000 {
                return Err(Error::io(
                    "create run directory",
                    &dir,
                    std::io::Error::from(std::io::ErrorKind::AlreadyExists),
                ));
            }
        };
        let _ = std::fs::remove_file(crate::db::sibling(&scratch, LOCK));
        drop(owner);
        crate::db::sync_dir(runs)?;
        Ok(Run { id, dir })
    }

    /// Opens the run `id` under `runs`.
    pub fn open(runs: &Path, id: &str) -> Result<Run> {
        let bad = |message: &str| Error::InvalidArgument {
            what: format!("run {id}"),
            message: message.to_string(),
        };
        if id.is_empty() || id.contains(['/', '\\']) || id.starts_with('.') {
            return Err(bad(
                "a run id is the name of a directory under the runs directory",
            ));
        }
        let dir = runs.join(id);
        if !dir.join("run.json").is_file() {
            return Err(bad(&format!(
                "no such run in {}",
                crate::printable::path(&runs)
            )));
        }
        Ok(Run {
            id: id.to_string(),
            dir,
        })
    }

    /// Returns the targets the run was started with, absolute (a relative line of a run
    /// written before targets were recorded absolute is resolved against the run's recorded
    /// working directory, see [`Run::locate`]), shown relative to the current directory when
    /// they are under it.
    pub fn targets(&self) -> Result<Vec<PathBuf>> {
        let path = self.dir.join("targets.txt");
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io("read", &path, e))?;
        let here = std::env::current_dir().map(|d| canonical(&d)).ok();
        text.lines()
            .filter(|l| !l.is_empty())
            .map(|l| {
                let at = self.locate_path(l)?;
                Ok(
                    match here.as_deref().and_then(|h| at.strip_prefix(h).ok()) {
                        Some(rel) if !rel.as_os_str().is_empty() => rel.to_path_buf(),
                        _ => at,
                    },
                )
            })
            .collect()
    }

    /// Returns where the database of `record` is: its recorded canonical path; for a record
    /// written before those were recorded, its target, resolved against the directory the
    /// run was started in (`cwd` in run.json). A relative target of a run that recorded no
    /// directory is refused: resolved against the current directory it could name another
    /// database.
    pub fn locate(&self, record: &Record) -> Result<PathBuf> {
        match &record.path {
            Some(p) => Ok(PathBuf::from(p)),
            None => self.locate_path(&record.target),
        }
    }

    fn locate_path(&self, target: &str) -> Result<PathBuf> {
        let path = Path::new(target);
        if path.is_absolute() {
            return Ok(path.to_path_buf());
        }
        let meta = self.dir.join("run.json");
        let cwd = std::fs::read_to_string(&meta)
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| v.get("cwd").and_then(|c| c.as_str()).map(PathBuf::from));
        match cwd {
            Some(cwd) => Ok(cwd.join(path)),
            None => Err(Error::InvalidArgument {
                what: format!("run {}", self.id),
                message: format!(
                    "its journal names {target} relative to the directory the run was started in, which it did not record: add \"cwd\": \"<that directory>\" to {} (or name the targets again with --targets); nothing was changed",
                    crate::printable::path(&meta)
                ),
            }),
        }
    }

    /// Returns the records of the journal `name` (none when it does not exist yet). A last
    /// line without its newline was torn by a kill and is left out.
    pub fn records(&self, name: &str) -> Result<Vec<Record>> {
        let path = self.dir.join(name);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io("read", &path, e)),
        };
        let complete = text.rfind('\n').map_or("", |end| &text[..end]);
        complete
            .lines()
            .enumerate()
            .map(|(i, line)| {
                serde_json::from_str(line).map_err(|e| Error::InvalidArgument {
                    what: format!("{}:{}", crate::printable::path(&path), i + 1),
                    message: format!("not a journal record: {e}"),
                })
            })
            .collect()
    }
}

/// A journal being written: one fsynced line per record.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: Mutex<File>,
}

impl Journal {
    /// Opens the journal `name` of `run` for appending, cutting off a line torn by a kill.
    pub fn open(run: &Run, name: &str) -> Result<Journal> {
        let path = run.dir.join(name);
        let io = |what: &'static str| {
            let path = path.clone();
            move |e| Error::io(what, path, e)
        };
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(io("open journal"))?;
        let text = std::fs::read(&path).map_err(io("read journal"))?;
        let keep = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        if keep < text.len() {
            file.set_len(keep as u64)
                .map_err(io("cut the torn line of"))?;
        }
        file.seek(SeekFrom::Start(keep as u64))
            .map_err(io("seek journal"))?;
        Ok(Journal {
            path,
            file: Mutex::new(file),
        })
    }

    /// Appends `record` as one line and fsyncs it.
    pub fn write(&self, record: &Record) -> Result<()> {
        let mut line = serde_json::to_string(record).map_err(|source| Error::Json {
            context: "render a journal record",
            source,
        })?;
        line.push('\n');
        // A poisoned lock means a writer panicked between lines; the file is still whole lines.
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        file.write_all(line.as_bytes())
            .and_then(|()| file.sync_data())
            .map_err(|e| Error::io("write journal", &self.path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::super::report::Outcome;
    use super::*;

    fn record(target: &str) -> Record {
        Record {
            target: target.into(),
            run: "r".into(),
            from: Some(1),
            to: Some(2),
            outcome: Outcome::Applied,
            ms: 3,
            backup: None,
            lint: Vec::new(),
            error: None,
            path: None,
            identity: None,
            applied: Vec::new(),
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 64, ..Default::default() })]
        /// A kill can cut the journal anywhere: what is read back is exactly the records
        /// whose line was whole, and the next record lands on a line of its own after them.
        #[test]
        fn a_journal_cut_anywhere_reads_back_its_whole_lines(n in 1usize..6, cut in 0.0f64..1.0) {
            let dir = tempfile::tempdir().unwrap();
            let run = Run::create(dir.path(), &[], &serde_json::json!({})).unwrap();
            let journal = Journal::open(&run, APPLY_JOURNAL).unwrap();
            let records: Vec<Record> = (0..n).map(|i| record(&format!("t{i}.db"))).collect();
            for r in &records {
                journal.write(r).unwrap();
            }
            drop(journal);
            let path = run.dir.join(APPLY_JOURNAL);
            let text = std::fs::read(&path).unwrap();
            let at = (text.len() as f64 * cut) as usize;
            std::fs::write(&path, &text[..at]).unwrap();
            let whole = text[..at].iter().filter(|&&b| b == b'\n').count();
            proptest::prop_assert_eq!(run.records(APPLY_JOURNAL).unwrap(), records[..whole].to_vec());
            let journal = Journal::open(&run, APPLY_JOURNAL).unwrap();
            journal.write(&record("next.db")).unwrap();
            let mut want = records[..whole].to_vec();
            want.push(record("next.db"));
            proptest::prop_assert_eq!(run.records(APPLY_JOURNAL).unwrap(), want);
        }
    }

    #[test]
    fn a_killed_runs_hidden_directory_is_swept_and_a_live_ones_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let runs = dir.path();
        // Killed: its directory and lock file remain, nobody holds the lock.
        let dead = runs.join(".new-4000001");
        std::fs::create_dir(&dead).unwrap();
        std::fs::write(dead.join("targets.txt"), "a.db\n").unwrap();
        drop(hold(&dead).unwrap());
        // Alive: another process (here, this test) holds its lock.
        let live = runs.join(".new-4000002");
        let held = hold(&live).unwrap();
        std::fs::create_dir(&live).unwrap();
        // Not ours to judge: no lock file.
        let other = runs.join(".new-4000003");
        std::fs::create_dir(&other).unwrap();

        let run = Run::create(runs, &[], &serde_json::json!({})).unwrap();
        assert!(!dead.exists() && !crate::db::sibling(&dead, LOCK).exists());
        assert!(live.exists() && other.exists());
        drop(held);
        let mut names: Vec<String> = std::fs::read_dir(runs)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            vec![
                ".new-4000002".to_string(),
                ".new-4000002.lock".into(),
                ".new-4000003".into(),
                run.id.clone()
            ],
            "the run's own lock file is gone, the live and foreign ones stay"
        );
    }

    #[test]
    fn a_torn_last_line_is_left_out_and_cut_off_before_the_next_record() {
        let dir = tempfile::tempdir().unwrap();
        let run =
            Run::create(dir.path(), &[PathBuf::from("a.db")], &serde_json::json!({})).unwrap();
        let journal = Journal::open(&run, APPLY_JOURNAL).unwrap();
        journal.write(&record("a.db")).unwrap();
        drop(journal);
        let path = run.dir.join(APPLY_JOURNAL);
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(b"{\"target\":\"b.d").unwrap();
        drop(f);
        assert_eq!(run.records(APPLY_JOURNAL).unwrap(), vec![record("a.db")]);
        let journal = Journal::open(&run, APPLY_JOURNAL).unwrap();
        journal.write(&record("c.db")).unwrap();
        assert_eq!(
            run.records(APPLY_JOURNAL).unwrap(),
            vec![record("a.db"), record("c.db")]
        );
        let again = Run::open(dir.path(), &run.id).unwrap();
        assert_eq!(again.targets().unwrap(), vec![PathBuf::from("a.db")]);
        assert!(Run::open(dir.path(), "../x").is_err());
        assert!(Run::open(dir.path(), "nope").is_err());
    }
}
