//! The native constraint ALTERs of SQLite 3.53 (`--only native`): adding a named CHECK to
//! `patterns`, setting NOT NULL on a column without NULLs (`category`), and dropping a named
//! foreign key (`pattern_embeddings` -> `patterns`), each run by `schemactl sync --yes
//! --skip-backup --skip-rehearsal` against the same change by hand, natively and as the
//! 12-step rebuild. The fixed cost of a schemactl run (process start; and a `sync` with
//! nothing to do: load, inspect, diff, plan) is reported separately; and the full safe
//! pipeline (`sync --yes`) of the CHECK against its backup alone (`backup --compress none`).

use std::path::Path;

use rusqlite::Connection;

use super::{Args, Row, alternate, hand, median, project, run_schemactl, time};

/// One constraint change: the schema edit, the database set-up before it (outside the
/// timing), and the same change by hand, natively and rebuilt.
struct Change {
    name: &'static str,
    what: &'static str,
    edit: fn(String) -> String,
    setup: fn(&Path),
    native: &'static str,
    rebuild: &'static str,
    /// The lint's query for the change (None: nothing to lint).
    lint: Option<&'static str>,
}

fn add_named_check(s: String) -> String {
    let at = "    indexes:\n      idx_patterns_confidence:";
    assert!(s.contains(at), "schema/memory.yaml changed: no {at:?}");
    s.replacen(
        at,
        &format!(
            "    checks:\n      - {{ name: confidence_range, expr: \"confidence BETWEEN 0 AND 1\" }}\n{at}"
        ),
        1,
    )
}

fn category_not_null(s: String) -> String {
    let at = "      category:     { type: TEXT }\n";
    assert!(s.contains(at), "schema/memory.yaml changed: no {at:?}");
    s.replacen(
        at,
        "      category:     { type: TEXT, not_null: true }\n",
        1,
    )
}

fn drop_embeddings_fk(s: String) -> String {
    let at = "    foreign_keys:\n      - { columns: [pattern_id], references: patterns(id), on_delete: cascade }\n";
    assert!(s.contains(at), "schema/memory.yaml changed: no {at:?}");
    s.replacen(at, "", 1)
}

fn nothing(_: &Path) {}

/// Gives the foreign key of `pattern_embeddings` a name, in the text of its CREATE TABLE
/// (`writable_schema`: a name lives in that text only, so no page but the schema's changes;
/// a rebuild of a million embeddings would take longer than the benchmark).
fn name_embeddings_fk(db: &Path) {
    let conn = Connection::open(db).unwrap();
    conn.execute_batch("PRAGMA writable_schema = ON").unwrap();
    let changed = conn
        .execute(
            "UPDATE sqlite_schema SET sql = replace(sql, 'FOREIGN KEY (pattern_id)', \
             'CONSTRAINT pattern_embeddings_pattern FOREIGN KEY (pattern_id)') \
             WHERE name = 'pattern_embeddings'",
            [],
        )
        .unwrap();
    assert_eq!(changed, 1, "the foreign key of pattern_embeddings");
    // Other connections re-read the schema when its version moves.
    let version: i64 = conn
        .query_row("PRAGMA schema_version", [], |r| r.get(0))
        .unwrap();
    conn.execute_batch(&format!(
        "PRAGMA schema_version = {}; PRAGMA writable_schema = OFF;",
        version + 1
    ))
    .unwrap();
    drop(conn);
    let conn = Connection::open(db).unwrap();
    let named: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE name = 'pattern_embeddings' \
             AND sql LIKE '%CONSTRAINT pattern_embeddings_pattern FOREIGN KEY%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(named, 1, "the foreign key is named");
    let ok: String = conn
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
}

/// The 12-step rebuild of `patterns` into `create` (its columns in order), by hand.
fn rebuild_patterns(create: &str) -> String {
    format!(
        "PRAGMA foreign_keys = OFF;
BEGIN;
{create};
INSERT INTO patterns_new SELECT id, type, pattern_data, confidence, usage_count, created_at, last_used, category FROM patterns;
DROP TABLE patterns;
ALTER TABLE patterns_new RENAME TO patterns;
CREATE INDEX idx_patterns_confidence ON patterns(confidence DESC);
CREATE INDEX idx_patterns_type ON patterns(type);
CREATE INDEX idx_patterns_last_used ON patterns(last_used DESC);
CREATE INDEX idx_patterns_category ON patterns(category, confidence DESC);
PRAGMA foreign_key_check;
COMMIT;
PRAGMA foreign_keys = ON;"
    )
}

const PATTERNS_CHECK: &str = "CREATE TABLE patterns_new (id TEXT PRIMARY KEY, type TEXT NOT NULL, pattern_data TEXT NOT NULL,
  confidence REAL NOT NULL DEFAULT 0.5, usage_count INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL, last_used TEXT, category TEXT,
  CONSTRAINT confidence_range CHECK (confidence BETWEEN 0 AND 1))";

const PATTERNS_NOT_NULL: &str = "CREATE TABLE patterns_new (id TEXT PRIMARY KEY, type TEXT NOT NULL, pattern_data TEXT NOT NULL,
  confidence REAL NOT NULL DEFAULT 0.5, usage_count INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL, last_used TEXT, category TEXT NOT NULL)";

const EMBEDDINGS_REBUILD: &str = "PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE pattern_embeddings_new (pattern_id TEXT PRIMARY KEY, embedding BLOB NOT NULL,
  dimension INTEGER NOT NULL, created_at TEXT NOT NULL);
INSERT INTO pattern_embeddings_new SELECT pattern_id, embedding, dimension, created_at FROM pattern_embeddings;
DROP TABLE pattern_embeddings;
ALTER TABLE pattern_embeddings_new RENAME TO pattern_embeddings;
PRAGMA foreign_key_check;
COMMIT;
PRAGMA foreign_keys = ON;";

fn changes() -> [Change; 3] {
    [
        Change {
            name: "native-check",
            what: "add the named CHECK `confidence_range` to `patterns`",
            edit: add_named_check,
            setup: nothing,
            native: "BEGIN; ALTER TABLE patterns ADD CONSTRAINT confidence_range CHECK (confidence BETWEEN 0 AND 1); COMMIT;",
            rebuild: Box::leak(rebuild_patterns(PATTERNS_CHECK).into_boxed_str()),
            lint: Some("SELECT count(*) FROM patterns WHERE NOT (confidence BETWEEN 0 AND 1)"),
        },
        Change {
            name: "native-not-null",
            what: "SET NOT NULL on `patterns.category` (no NULLs)",
            edit: category_not_null,
            setup: nothing,
            native: "BEGIN; ALTER TABLE patterns ALTER COLUMN category SET NOT NULL; COMMIT;",
            rebuild: Box::leak(rebuild_patterns(PATTERNS_NOT_NULL).into_boxed_str()),
            lint: Some("SELECT count(*) FROM patterns WHERE category IS NULL"),
        },
        Change {
            name: "native-fk",
            what: "drop the named foreign key `pattern_embeddings_pattern`",
            edit: drop_embeddings_fk,
            setup: name_embeddings_fk,
            native: "BEGIN; ALTER TABLE pattern_embeddings DROP CONSTRAINT pattern_embeddings_pattern; COMMIT;",
            rebuild: EMBEDDINGS_REBUILD,
            lint: None,
        },
    ]
}

/// The native statement with what `sync --skip-backup --skip-rehearsal` ran around it on the
/// live database before the lint left the rows of a CHECK or NOT NULL added in place to
/// SQLite, by hand: the lint's query before, the statement in a transaction (the row counts
/// and integrity checks run in the rehearsal, which this skips; the schema comparison reads
/// only the catalog).
fn safe_by_hand(db: &Path, change: &Change) {
    let conn = Connection::open(db).unwrap();
    if let Some(lint) = change.lint {
        let bad: i64 = conn.query_row(lint, [], |r| r.get(0)).unwrap();
        assert_eq!(bad, 0);
    }
    conn.execute_batch(change.native).unwrap();
}

const FAST: [&str; 4] = ["sync", "--yes", "--skip-backup", "--skip-rehearsal"];

/// The three changes, each schemactl vs by hand natively vs by hand rebuilt; the fixed cost of
/// a run; and the full pipeline of the CHECK against its backup.
pub(super) fn native_scenario(a: &Args, base: &Path, peak: &mut i64, rows: &mut Vec<Row>) {
    // Process start alone.
    let p = project(&a.dir, base, "native-start", &|s| s);
    let start = median(
        (0..a.runs)
            .map(|_| run_schemactl(&p, &["--version"]).0)
            .collect(),
    );
    let _ = std::fs::remove_dir_all(&p);
    eprintln!(
        "process start (`schemactl --version`): {:.3} s",
        start.as_secs_f64()
    );
    for change in changes() {
        let (mut ours, mut idle, mut native, mut rebuilt, mut safe) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        alternate(
            a.runs,
            || {
                let p = project(&a.dir, base, change.name, &|s| (change.edit)(s));
                (change.setup)(&p.join("memory.db"));
                let (t, rss) = run_schemactl(&p, &FAST);
                ours.push(t);
                *peak = (*peak).max(rss);
                // The same again, with nothing left to do: the fixed cost of a run.
                let (t, _) = run_schemactl(&p, &FAST);
                idle.push(t);
                let _ = std::fs::remove_dir_all(&p);
            },
            || {
                let p = project(&a.dir, base, &format!("{}-hand", change.name), &|s| s);
                let db = p.join("memory.db");
                (change.setup)(&db);
                native.push(time(|| hand(&db, change.native)));
                let p = project(&a.dir, base, &format!("{}-safe", change.name), &|s| s);
                let db = p.join("memory.db");
                (change.setup)(&db);
                safe.push(time(|| safe_by_hand(&db, &change)));
                let p = project(&a.dir, base, &format!("{}-rebuild", change.name), &|s| s);
                let db = p.join("memory.db");
                (change.setup)(&db);
                rebuilt.push(time(|| hand(&db, change.rebuild)));
                let _ = std::fs::remove_dir_all(&p);
            },
        );
        let (ours, idle, native, safe) = (median(ours), median(idle), median(native), median(safe));
        rows.push((
            format!(
                "{} (`sync --skip-backup --skip-rehearsal`) vs the hand-written 12-step rebuild",
                change.what
            ),
            ours,
            median(rebuilt),
        ));
        rows.push((
            "the same vs the native statement by hand (one transaction)".into(),
            ours,
            native,
        ));
        rows.push((
            "the same less the fixed cost of a run (a `sync` with nothing to do) vs the native statement by hand".into(),
            ours.saturating_sub(idle),
            native,
        ));
        rows.push((
            "the same less the fixed cost vs the lint's query + the native statement, by hand"
                .into(),
            ours.saturating_sub(idle),
            safe,
        ));
        eprintln!(
            "{}: a run with nothing to do {:.3} s (process start {:.3} s)",
            change.name,
            idle.as_secs_f64(),
            start.as_secs_f64()
        );
    }
    pipeline(a, base, peak, rows);
}

/// The full safe pipeline of the CHECK (`sync --yes`: lock, backup, rehearsal on the backup,
/// apply, checks) against its backup alone (`backup`, compressed with zstd as sync's is) and
/// against the change alone (`sync --skip-backup --skip-rehearsal`).
fn pipeline(a: &Args, base: &Path, peak: &mut i64, rows: &mut Vec<Row>) {
    let (mut full, mut backup, mut change) = (Vec::new(), Vec::new(), Vec::new());
    let (mut peak_full, mut peak_backup) = (0, 0);
    alternate(
        a.runs,
        || {
            let p = project(&a.dir, base, "native-pipeline", &add_named_check);
            let (t, rss) = run_schemactl(&p, &["sync", "--yes"]);
            full.push(t);
            peak_full = peak_full.max(rss);
            let _ = std::fs::remove_dir_all(&p);
        },
        || {
            let p = project(&a.dir, base, "native-backup", &|s| s);
            let (t, rss) = run_schemactl(&p, &["backup"]);
            backup.push(t);
            peak_backup = peak_backup.max(rss);
            let _ = std::fs::remove_dir_all(&p);
            let p = project(&a.dir, base, "native-change", &add_named_check);
            change.push(run_schemactl(&p, &FAST).0);
            let _ = std::fs::remove_dir_all(&p);
        },
    );
    *peak = (*peak).max(peak_full).max(peak_backup);
    let (full, backup, change) = (median(full), median(backup), median(change));
    let share = |d: std::time::Duration| 100.0 * d.as_secs_f64() / full.as_secs_f64();
    eprintln!(
        "native pipeline: `sync --yes` {:.2} s; a backup alone {:.2} s ({:.0}%); the change alone {:.2} s ({:.1}%)",
        full.as_secs_f64(),
        backup.as_secs_f64(),
        share(backup),
        change.as_secs_f64(),
        share(change)
    );
    rows.push((
        "full pipeline of the named CHECK (`sync --yes`) vs its backup alone (`backup`: zstd, checksum, integrity_check, as sync's)".into(),
        full,
        backup,
    ));
    rows.push((
        "the same vs the change alone (`sync --skip-backup --skip-rehearsal`)".into(),
        full,
        change,
    ));
}
