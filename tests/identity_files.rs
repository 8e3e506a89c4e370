//! A database is a file, not a path: two live files never share an identity, and no command
//! picks or deletes a backup taken of another file. A copy stays a copy whatever happens to
//! its original afterwards (moved away, removed), a copy put at the original's path is no
//! original, and two names of one file (a hard link) are one database, managed or not. A
//! sequence property over copies, moves, removals, writes, backups, restores and prunes of
//! up to three files sharing one backups folder: `restore --latest` only ever brings back a
//! backup of the file it was given, and `backup prune` only ever removes such backups. Real
//! files and processes, a temp dir each.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Output;

use proptest::prelude::*;
use rusqlite::Connection;

/// The places a database can be at (three directories: a move changes the directory too).
const SLOTS: [&str; 3] = ["a.db", "x/b.db", "y/c.db"];

struct Project {
    dir: tempfile::TempDir,
    tick: usize,
}

impl Project {
    fn new() -> Self {
        let dir = common::temp_dir();
        for d in ["migrations", "x", "y", "shared"] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        std::fs::write(
            dir.path().join("migrations/V1__init.sql"),
            "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("schemactl.toml"),
            "database = \"a.db\"\nbackups = \"shared\"\n",
        )
        .unwrap();
        Project { dir, tick: 0 }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn run(&self, args: &[&str]) -> Output {
        common::schemactl(self.dir.path(), args)
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "{args:?}: {}", text(&out));
        common::stdout(&out)
    }

    /// The tags of the rows of `name`, once each.
    fn tags(&self, name: &str) -> BTreeSet<String> {
        let conn = Connection::open(self.path(name)).unwrap();
        let mut stmt = conn.prepare("SELECT v FROM t").unwrap();
        stmt.query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .map(|v| v.unwrap().split('#').next().unwrap().to_string())
            .collect()
    }

    /// Writes one more row tagged `tag` into `name`, as the application would.
    fn write(&mut self, name: &str, tag: &str) {
        self.tick += 1;
        Connection::open(self.path(name))
            .unwrap()
            .execute(
                "INSERT INTO t (v) VALUES (?1)",
                [format!("{tag}#{}", self.tick)],
            )
            .unwrap();
    }

    /// Copies `from` to `to` as a new database: its rows are then its own (`tag`).
    fn copy(&mut self, from: &str, to: &str, tag: &str) {
        std::fs::copy(self.path(from), self.path(to)).unwrap();
        Connection::open(self.path(to))
            .unwrap()
            .execute("DELETE FROM t", [])
            .unwrap();
        self.write(to, tag);
    }

    /// The backup files (not their sidecars or manifests) in the shared folder.
    fn backups(&self) -> BTreeSet<String> {
        std::fs::read_dir(self.path("shared"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .filter(|n| !n.ends_with(".json") && !n.ends_with(".sha256"))
            .collect()
    }

    fn backup(&self, name: &str, label: &str) {
        self.ok(&["backup", "--database", name, "--label", label]);
        // Backups a moment apart never share a time.
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

fn text(out: &Output) -> String {
    format!("{}{}", common::stdout(out), common::stderr(out))
}

fn set(tags: &[&str]) -> BTreeSet<String> {
    tags.iter().map(|t| t.to_string()).collect()
}

/// h17_02: prod is copied (prod still there), then prod moves. The copy stays a copy: prod's
/// `restore --latest` takes prod's newest backup, never the copy's newer one, and the copy's
/// prune removes none of prod's backups.
#[test]
fn a_copy_stays_a_copy_after_its_original_moves() {
    let mut p = Project::new();
    p.ok(&["apply", "--yes", "--database", "a.db"]);
    p.write("a.db", "prod");
    p.copy("a.db", "x/b.db", "staging");
    std::fs::rename(p.path("a.db"), p.path("y/c.db")).unwrap();
    p.backup("y/c.db", "daily");
    p.backup("y/c.db", "daily");
    let prods = p.backups();
    p.backup("x/b.db", "daily");
    let list = p.ok(&["backup", "list", "--database", "y/c.db"]);
    assert_eq!(
        list.lines().filter(|l| l.contains(" daily ")).count(),
        2,
        "prod's two, not staging's: {list}"
    );
    p.write("y/c.db", "prod-later");
    p.ok(&["restore", "--latest", "--database", "y/c.db", "--yes"]);
    assert_eq!(p.tags("y/c.db"), set(&["prod"]), "prod got its own backup");
    let out = p.ok(&[
        "backup",
        "prune",
        "--database",
        "x/b.db",
        "--keep-last",
        "1",
        "--yes",
    ]);
    let left = p.backups();
    assert!(
        prods.is_subset(&left),
        "staging's prune removed prod's: {out}"
    );
}

/// h17_02b: the clones of a managed template that is then removed are two databases, neither
/// of them the template: each one's `restore --latest` takes its own backup.
#[test]
fn clones_of_a_removed_template_keep_their_backups_apart() {
    let mut p = Project::new();
    p.ok(&["apply", "--yes", "--database", "a.db"]);
    p.write("a.db", "template");
    p.copy("a.db", "x/b.db", "agent1");
    p.copy("a.db", "y/c.db", "agent2");
    std::fs::remove_file(p.path("a.db")).unwrap();
    p.backup("y/c.db", "daily");
    p.backup("x/b.db", "daily");
    p.write("y/c.db", "agent2-later");
    p.ok(&["restore", "--latest", "--database", "y/c.db", "--yes"]);
    assert_eq!(p.tags("y/c.db"), set(&["agent2"]));
}

/// A managed database moves away and a copy of it is put back at its old path: the copy is
/// not the database its backups there were taken of, and its prune leaves them alone.
#[test]
fn a_copy_put_back_at_the_original_path_is_not_the_original() {
    let mut p = Project::new();
    p.ok(&["apply", "--yes", "--database", "a.db"]);
    p.write("a.db", "prod");
    p.backup("a.db", "daily");
    let prods = p.backups();
    std::fs::rename(p.path("a.db"), p.path("x/b.db")).unwrap();
    p.copy("x/b.db", "a.db", "copy");
    let out = p.run(&["restore", "--latest", "--database", "a.db", "--yes"]);
    assert!(!out.status.success(), "{}", text(&out));
    assert_eq!(p.tags("a.db"), set(&["copy"]), "nothing restored");
    p.backup("a.db", "daily");
    p.backup("a.db", "daily");
    p.ok(&[
        "backup",
        "prune",
        "--database",
        "a.db",
        "--keep-last",
        "1",
        "--yes",
    ]);
    assert!(
        prods.is_subset(&p.backups()),
        "the copy's prune removed prod's"
    );
}

/// h17_05: an unmanaged database backed up through two hard-linked names has one set of
/// backups: `restore --latest` through either name takes the newest.
#[test]
fn hard_linked_names_of_an_unmanaged_database_share_its_backups() {
    let mut p = Project::new();
    Connection::open(p.path("a.db"))
        .unwrap()
        .execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        .unwrap();
    std::fs::hard_link(p.path("a.db"), p.path("x/b.db")).unwrap();
    p.write("a.db", "monday");
    p.backup("a.db", "monday");
    p.write("a.db", "tuesday");
    p.backup("x/b.db", "tuesday");
    Connection::open(p.path("a.db"))
        .unwrap()
        .execute("DELETE FROM t", [])
        .unwrap();
    let list = p.ok(&["backup", "list", "--database", "a.db"]);
    assert!(
        list.contains("tuesday") && list.contains("monday"),
        "{list}"
    );
    p.ok(&["restore", "--latest", "--database", "a.db", "--yes"]);
    assert_eq!(p.tags("a.db"), set(&["monday", "tuesday"]));
}

/// The id in the identity row of `name`.
fn identity_id(p: &Project, name: &str) -> String {
    Connection::open(p.path(name))
        .unwrap()
        .query_row("SELECT id FROM _schemactl_identity", [], |r| r.get(0))
        .unwrap()
}

/// How many of `name`'s backups `backup list` shows labelled daily, and the list.
fn daily(p: &Project, name: &str) -> (usize, String) {
    let list = p.ok(&["backup", "list", "--database", name]);
    (list.lines().filter(|l| l.contains(" daily ")).count(), list)
}

/// What the application may leave at a moved database's old path.
#[derive(Debug, Clone, Copy)]
enum AtOldPath {
    Nothing,
    /// A new, unrelated database (the application, still configured there, made it).
    NewDatabase,
    /// A copy of the moved database.
    Copy,
}

/// id_b: a managed database moved with `mv` is the very file its identity records, whatever
/// is put at its old path afterwards: it keeps its id (also through its next write) and its
/// backups, including those taken at the old path; the file at the old path is another
/// database and sees none of them.
#[test]
fn a_moved_database_keeps_its_backups_whatever_is_put_at_its_old_path() {
    for at_old in [AtOldPath::Nothing, AtOldPath::NewDatabase, AtOldPath::Copy] {
        let mut p = Project::new();
        p.ok(&["apply", "--yes", "--database", "a.db"]);
        p.write("a.db", "prod");
        p.backup("a.db", "daily");
        let id = identity_id(&p, "a.db");
        std::fs::rename(p.path("a.db"), p.path("x/b.db")).unwrap();
        match at_old {
            AtOldPath::Nothing => {}
            AtOldPath::NewDatabase => Connection::open(p.path("a.db"))
                .unwrap()
                .execute_batch("CREATE TABLE app_boot (x)")
                .unwrap(),
            AtOldPath::Copy => p.copy("x/b.db", "a.db", "copy"),
        }
        let (n, list) = daily(&p, "x/b.db");
        assert_eq!(n, 1, "{at_old:?}: the moved database's backup: {list}");
        p.write("x/b.db", "prod-later");
        let out = p.run(&["restore", "--latest", "--database", "x/b.db", "--yes"]);
        assert!(out.status.success(), "{at_old:?}: {}", text(&out));
        assert_eq!(p.tags("x/b.db"), set(&["prod"]), "{at_old:?}");
        // Its next write keeps its id, and its backups stay its own.
        std::fs::write(
            p.path("migrations/V2__more.sql"),
            "CREATE TABLE more (x);\n",
        )
        .unwrap();
        p.ok(&["apply", "--yes", "--database", "x/b.db"]);
        assert_eq!(identity_id(&p, "x/b.db"), id, "{at_old:?}: re-identified");
        std::fs::remove_file(p.path("migrations/V2__more.sql")).unwrap();
        let (n, list) = daily(&p, "x/b.db");
        assert_eq!(n, 1, "{at_old:?}: after a write: {list}");
        // The file at the old path is another database: none of them is its.
        if !matches!(at_old, AtOldPath::Nothing) {
            let (n, list) = daily(&p, "a.db");
            assert_eq!(n, 0, "{at_old:?}: the old path's new file: {list}");
            let before = std::fs::read(p.path("a.db")).unwrap();
            let out = p.run(&["restore", "--latest", "--database", "a.db", "--yes"]);
            assert!(!out.status.success(), "{at_old:?}: {}", text(&out));
            assert_eq!(std::fs::read(p.path("a.db")).unwrap(), before, "{at_old:?}");
            std::fs::remove_file(p.path("a.db")).unwrap();
        }
        let (n, list) = daily(&p, "x/b.db");
        assert_eq!(n, 1, "{at_old:?}: with the old path empty again: {list}");
    }
}

/// What happens next; a slot number picks among the slots that hold a database (and, for the
/// destination of a copy or a move, among the empty ones), so that every event acts.
#[derive(Debug, Clone, Copy)]
enum Event {
    Copy(usize, usize),
    Move(usize, usize),
    Remove(usize),
    Write(usize),
    Backup(usize),
    /// `apply` of one more migration (the file gets, or keeps, an identity).
    Apply(usize),
    Restore(usize),
    Prune(usize),
}

fn slot() -> impl Strategy<Value = usize> {
    0..SLOTS.len()
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        2 => (slot(), slot()).prop_map(|(a, b)| Event::Copy(a, b)),
        2 => (slot(), slot()).prop_map(|(a, b)| Event::Move(a, b)),
        1 => slot().prop_map(Event::Remove),
        1 => slot().prop_map(Event::Write),
        3 => slot().prop_map(Event::Backup),
        1 => slot().prop_map(Event::Apply),
        2 => slot().prop_map(Event::Restore),
        1 => slot().prop_map(Event::Prune),
    ]
}

/// Runs the events; every file is a database of its own (its rows carry its tag), and every
/// backup file is known by the database it was taken of. Restore and prune only ever touch
/// backups of the file they were given.
fn never_another_files_backup(events: &[Event]) {
    let mut p = Project::new();
    p.ok(&["apply", "--yes", "--database", SLOTS[0]]);
    let mut next = 0;
    // What database each slot holds, and what database each backup file was taken of.
    let mut at: [Option<String>; 3] = [Some("d0".into()), None, None];
    p.write(SLOTS[0], "d0");
    let mut taken: BTreeMap<String, String> = BTreeMap::new();
    let mut migrations = 1;
    let mut log = Vec::new();
    for (i, &e) in events.iter().enumerate() {
        let before = p.backups();
        let mut acted = None;
        let full: Vec<usize> = (0..SLOTS.len()).filter(|&k| at[k].is_some()).collect();
        let empty: Vec<usize> = (0..SLOTS.len()).filter(|&k| at[k].is_none()).collect();
        let pick = |from: &[usize], k: usize| from.get(k % from.len().max(1)).copied();
        let e = match e {
            Event::Copy(a, b) | Event::Move(a, b) => match (pick(&full, a), pick(&empty, b)) {
                (Some(a), Some(b)) if matches!(e, Event::Copy(..)) => Event::Copy(a, b),
                (Some(a), Some(b)) => Event::Move(a, b),
                // No empty slot: a backup instead.
                (Some(a), None) => Event::Backup(a),
                _ => continue,
            },
            Event::Remove(a) if full.len() > 1 => Event::Remove(full[a % full.len()]),
            Event::Remove(a) => Event::Write(full[a % full.len()]),
            Event::Write(a) => Event::Write(pick(&full, a).unwrap()),
            Event::Backup(a) => Event::Backup(pick(&full, a).unwrap()),
            Event::Apply(a) => Event::Apply(pick(&full, a).unwrap()),
            Event::Restore(a) => Event::Restore(pick(&full, a).unwrap()),
            Event::Prune(a) => Event::Prune(pick(&full, a).unwrap()),
        };
        log.push(e);
        match e {
            Event::Copy(a, b) if a != b && at[a].is_some() && at[b].is_none() => {
                next += 1;
                let tag = format!("d{next}");
                p.copy(SLOTS[a], SLOTS[b], &tag);
                at[b] = Some(tag);
            }
            Event::Move(a, b) if a != b && at[a].is_some() && at[b].is_none() => {
                std::fs::rename(p.path(SLOTS[a]), p.path(SLOTS[b])).unwrap();
                at[b] = at[a].take();
            }
            Event::Remove(a) if at[a].is_some() => {
                std::fs::remove_file(p.path(SLOTS[a])).unwrap();
                at[a] = None;
            }
            Event::Write(a) if at[a].is_some() => {
                let tag = at[a].clone().unwrap();
                p.write(SLOTS[a], &tag);
            }
            Event::Backup(a) if at[a].is_some() => {
                p.backup(SLOTS[a], &format!("e{i}"));
                acted = Some(a);
            }
            Event::Apply(a) if at[a].is_some() => {
                migrations += 1;
                std::fs::write(
                    p.path(&format!("migrations/V{migrations}__m{migrations}.sql")),
                    format!("CREATE TABLE m{migrations} (x);\n"),
                )
                .unwrap();
                p.ok(&["apply", "--yes", "--database", SLOTS[a]]);
                acted = Some(a);
            }
            Event::Restore(a) if at[a].is_some() => {
                let tag = at[a].clone().unwrap();
                let out = p.run(&["restore", "--latest", "--database", SLOTS[a], "--yes"]);
                if out.status.success() {
                    assert_eq!(
                        p.tags(SLOTS[a]),
                        set(&[&tag]),
                        "restore --latest of {} ({tag}) after {:?} brought back another file's backup: {}",
                        SLOTS[a],
                        &log,
                        text(&out)
                    );
                }
                acted = Some(a);
            }
            Event::Prune(a) if at[a].is_some() => {
                let tag = at[a].clone().unwrap();
                let out = p.run(&[
                    "backup",
                    "prune",
                    "--database",
                    SLOTS[a],
                    "--keep-last",
                    "1",
                    "--yes",
                ]);
                let after = p.backups();
                for gone in before.difference(&after) {
                    assert_eq!(
                        taken.get(gone),
                        Some(&tag),
                        "prune of {} ({tag}) after {:?} removed {gone}: {}",
                        SLOTS[a],
                        &log,
                        text(&out)
                    );
                }
            }
            _ => {}
        }
        if let Some(a) = acted {
            let tag = at[a].clone().unwrap();
            for new in p.backups().difference(&before) {
                taken.insert(new.clone(), tag.clone());
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, max_shrink_iters: 64, ..ProptestConfig::default() })]

    #[test]
    fn restore_and_prune_never_touch_another_files_backup(
        events in proptest::collection::vec(event(), 4..14),
    ) {
        never_another_files_backup(&events);
    }
}
