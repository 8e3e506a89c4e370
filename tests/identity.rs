//! Whose backups are whose, whatever names a database is reached by: a hard link is the same
//! database (one identity, one set of backups), a copy is another one (its backups are never
//! the original's, even while the original cannot be read), and a restore of a database
//! schemactl never wrote to keeps its before-restore copy selectable for "undo the last
//! restore". A sequence property over links, copies, writes, backups and migrations through
//! any name, ending with `restore` of the original (readable or corrupt): it always brings
//! back the original's newest backup. Real files and processes, a temp dir each.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use proptest::prelude::*;
use rusqlite::Connection;

struct Project {
    dir: tempfile::TempDir,
    migrations: usize,
    tick: usize,
}

impl Project {
    fn new() -> Self {
        let dir = common::temp_dir();
        std::fs::create_dir_all(dir.path().join("migrations")).unwrap();
        std::fs::write(
            dir.path().join("migrations/V1__init.sql"),
            "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("schemactl.toml"),
            "database = \"prod.db\"\nbackups = \"backups\"\n",
        )
        .unwrap();
        Project {
            dir,
            migrations: 1,
            tick: 0,
        }
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

    fn rows(&self, name: &str) -> Vec<String> {
        let conn = Connection::open(self.path(name)).unwrap();
        let mut stmt = conn.prepare("SELECT v FROM t ORDER BY id").unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    /// Writes one more row tagged with `tag` through `name`.
    fn write(&mut self, name: &str, tag: &str) {
        self.tick += 1;
        Connection::open(self.path(name))
            .unwrap()
            .execute(
                "INSERT INTO t (v) VALUES (?1)",
                [format!("{tag}-{}", self.tick)],
            )
            .unwrap();
    }
}

fn text(out: &Output) -> String {
    format!("{}{}", common::stdout(out), common::stderr(out))
}

/// Through which name of the database: prod.db itself, a hard link to it, or a copy.
#[derive(Debug, Clone, Copy)]
enum Name {
    Prod,
    Link(u8),
    Copy(u8),
}

impl Name {
    fn file(self) -> String {
        match self {
            Name::Prod => "prod.db".into(),
            Name::Link(k) => format!("link{k}.db"),
            Name::Copy(k) => format!("copy{k}.db"),
        }
    }

    fn is_prod(self) -> bool {
        !matches!(self, Name::Copy(_))
    }
}

#[derive(Debug, Clone, Copy)]
enum Event {
    /// Creates the name (a hard link, or a copy whose rows are then its own).
    Make(Name),
    Write(Name),
    Backup(Name),
    /// A new migration, applied through this name.
    Apply(Name),
}

fn name() -> impl Strategy<Value = Name> {
    prop_oneof![
        Just(Name::Prod),
        (0u8..2).prop_map(Name::Link),
        (0u8..2).prop_map(Name::Copy),
    ]
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        2 => name().prop_map(Event::Make),
        2 => name().prop_map(Event::Write),
        3 => name().prop_map(Event::Backup),
        2 => name().prop_map(Event::Apply),
    ]
}

/// Runs the events, then restores prod.db (after destroying its header when `corrupt`): the
/// rows it gets back are those of prod's newest backup, whichever of its names it was taken
/// through, and never a copy's.
fn restore_brings_back_prods_own_backup(events: &[Event], corrupt: bool) {
    let mut p = Project::new();
    p.ok(&["apply", "--yes", "--database", "prod.db"]);
    p.write("prod.db", "prod");
    p.ok(&["backup", "--database", "prod.db"]);
    let mut expected = p.rows("prod.db");
    for &e in events {
        match e {
            Event::Make(n) => {
                let file = p.path(&n.file());
                if file.exists() || matches!(n, Name::Prod) {
                    continue;
                }
                match n {
                    Name::Link(_) => std::fs::hard_link(p.path("prod.db"), &file).unwrap(),
                    _ => {
                        std::fs::copy(p.path("prod.db"), &file).unwrap();
                        Connection::open(&file)
                            .unwrap()
                            .execute("DELETE FROM t", [])
                            .unwrap();
                        p.write(&n.file(), &n.file());
                    }
                }
            }
            Event::Write(n) if p.path(&n.file()).exists() => {
                let tag = if n.is_prod() { "prod".into() } else { n.file() };
                p.write(&n.file(), &tag);
            }
            Event::Backup(n) if p.path(&n.file()).exists() => {
                p.ok(&["backup", "--database", &n.file()]);
                if n.is_prod() {
                    expected = p.rows(&n.file());
                }
            }
            Event::Apply(n) if p.path(&n.file()).exists() => {
                p.migrations += 1;
                let v = p.migrations;
                std::fs::write(
                    p.path(&format!("migrations/V{v}__x{v}.sql")),
                    format!("CREATE TABLE x{v} (a);\n"),
                )
                .unwrap();
                p.ok(&["apply", "--yes", "--database", &n.file()]);
            }
            _ => {}
        }
        // Backups a second apart at most share a second in their names, never a time.
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    p.write("prod.db", "prod-after-the-last-backup");
    let how = if corrupt {
        let mut bytes = std::fs::read(p.path("prod.db")).unwrap();
        for b in bytes.iter_mut().take(100) {
            *b = 0xA5;
        }
        std::fs::write(p.path("prod.db"), bytes).unwrap();
        "--latest-valid"
    } else {
        "--latest"
    };
    let out = p.run(&["restore", how, "--database", "prod.db", "--yes"]);
    assert!(
        out.status.success(),
        "restore {how} of prod.db after {events:?}: {}",
        text(&out)
    );
    assert_eq!(
        p.rows("prod.db"),
        expected,
        "restore {how} of prod.db after {events:?} brought back another backup: {}",
        text(&out)
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, max_shrink_iters: 64, ..ProptestConfig::default() })]

    #[test]
    fn restore_of_the_original_brings_back_its_own_newest_backup(
        events in proptest::collection::vec(event(), 1..7),
        corrupt in any::<bool>(),
    ) {
        restore_brings_back_prods_own_backup(&events, corrupt);
    }
}

/// h17: an apply through a hard link keeps the database's identity and backups.
#[test]
fn a_write_through_a_hard_link_is_a_write_to_the_same_database() {
    restore_brings_back_prods_own_backup(
        &[
            Event::Make(Name::Link(0)),
            Event::Apply(Name::Link(0)),
            Event::Write(Name::Prod),
        ],
        false,
    );
}

/// h10: while the original cannot be read, a copy's backup is not recorded as the original's.
#[test]
fn a_copy_never_takes_over_an_unreadable_originals_identity() {
    let mut p = Project::new();
    p.ok(&["apply", "--yes", "--database", "prod.db"]);
    p.write("prod.db", "prod");
    p.ok(&["backup", "--database", "prod.db"]);
    let expected = p.rows("prod.db");
    std::fs::copy(p.path("prod.db"), p.path("dev.db")).unwrap();
    Connection::open(p.path("dev.db"))
        .unwrap()
        .execute("UPDATE t SET v = 'DEV-ONLY'", [])
        .unwrap();
    std::fs::write(p.path("prod.db"), vec![0xA5u8; 4096]).unwrap();
    p.ok(&["backup", "--database", "dev.db"]);
    p.ok(&[
        "restore",
        "--latest-valid",
        "--database",
        "prod.db",
        "--yes",
    ]);
    assert_eq!(p.rows("prod.db"), expected);
}

/// h1: a restore of a database schemactl never wrote to keeps its before-restore copy as
/// that database's own: `backup list` shows it, `backup verify --all` verifies it, and
/// `restore --latest --include-safety` undoes the restore.
#[test]
fn the_safety_copy_of_an_unmanaged_databases_restore_undoes_it() {
    let p = Project::new();
    let db = p.path("prod.db");
    Connection::open(&db)
        .unwrap()
        .execute_batch(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t (v) VALUES ('a1')",
        )
        .unwrap();
    p.ok(&["backup"]);
    Connection::open(&db)
        .unwrap()
        .execute(
            "INSERT INTO t (v) VALUES ('a2, written after the backup')",
            [],
        )
        .unwrap();
    let before = p.rows("prod.db");
    p.ok(&["restore", "--latest", "--yes"]);
    assert_eq!(p.rows("prod.db"), ["a1"]);
    let list: Vec<serde_json::Value> =
        serde_json::from_str(&p.ok(&["backup", "list", "--format", "json"])).unwrap();
    let safety: Vec<&serde_json::Value> = list
        .iter()
        .filter(|e| e["reason"] == "before-restore")
        .collect();
    assert_eq!(safety.len(), 1, "{list:?}");
    assert_eq!(safety[0]["this_database"], true, "{list:?}");
    let verified = p.ok(&["backup", "verify", "--all"]);
    let file = safety[0]["file"].as_str().unwrap();
    let name = Path::new(file).file_name().unwrap().to_string_lossy();
    assert!(
        verified.contains(&*name),
        "verify --all skipped {name}: {verified}"
    );
    p.ok(&["restore", "--latest", "--include-safety", "--yes"]);
    assert_eq!(p.rows("prod.db"), before, "the restore is undone");
}
