//! Issue 14: real applications' migration chains, replayed step by step through the binary.
//!
//! The chains live outside the repository (they come from other projects' repositories) in the
//! directory named by `SCHEMACTL_APP_CHAINS`, one `<project>/NNNN__name.up.sql` chain per folder.
//! For each step k of each chain:
//!
//! 1. state k is the chain's up files 1..k replayed with rusqlite on a fresh file (a file the
//!    bundled SQLite rejects is skipped and reported, the chain goes on without it);
//! 2. `schemactl import` writes state k as YAML;
//! 3. a copy of state k-1, seeded with a few rows per table, is brought to that YAML with
//!    `schemactl sync`, and its catalog must be exactly the catalog of state k, the seeded rows
//!    must survive wherever their table and columns survive, and `schemactl plan --check` must
//!    find nothing left to do;
//! 4. `schemactl rollback last` must give back exactly the catalog of state k-1 and the seeded
//!    rows.
//!
//! The catalog is what other tools and ORMs read (see ../shared/corpus/README.md, "Judging by
//! meaning"): `pragma_table_list` (type, strict, without rowid), `table_xinfo`, `index_list` and
//! `index_xinfo`, `foreign_key_list`, plus what no PRAGMA shows (CHECK bodies, COLLATE,
//! AUTOINCREMENT, partial-index WHERE and index expressions, view and trigger SQL), compared
//! after normalising whitespace, case and quoting. schemactl's own `_schemactl_*` tables are
//! left out.
//!
//! Every command runs in a temp project with its own schemactl.toml and empty migrations/ and
//! rollbacks/, so this repository's migrations never touch a chain's database.

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Instant;

use rusqlite::Connection;
use rusqlite::types::Value;
use sqlparser::dialect::SQLiteDialect;
use sqlparser::tokenizer::{Token, Tokenizer};

/// How many failure messages are kept per phase and chain (`SCHEMACTL_APP_CHAINS_KEEP`
/// overrides it, to see every failure).
fn keep() -> usize {
    std::env::var("SCHEMACTL_APP_CHAINS_KEEP")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
}

/// The phases counted, in table order.
const PHASES: [&str; 7] = [
    "import",
    "sync",
    "catalog",
    "rows",
    "replan",
    "rollback",
    "rows back",
];

/// The chains folder, or None (with a printed notice) when it is unset or absent.
fn chains_dir() -> Option<PathBuf> {
    match std::env::var_os("SCHEMACTL_APP_CHAINS") {
        Some(dir) if Path::new(&dir).is_dir() => Some(PathBuf::from(dir)),
        Some(dir) => {
            println!(
                "NOTICE: SCHEMACTL_APP_CHAINS={} is not a directory; app-chain tests skipped",
                Path::new(&dir).display()
            );
            None
        }
        None => {
            println!("NOTICE: SCHEMACTL_APP_CHAINS is unset; app-chain tests skipped");
            None
        }
    }
}

/// One chain: its name and its up files in order.
fn chains(dir: &Path) -> Vec<(String, Vec<PathBuf>)> {
    let mut out = Vec::new();
    let mut projects: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read the chains folder")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.is_dir())
        .collect();
    projects.sort();
    for project in projects {
        let mut ups: Vec<PathBuf> = std::fs::read_dir(&project)
            .expect("read a chain")
            .map(|e| e.expect("dir entry").path())
            .filter(|p| {
                let name = p.file_name().unwrap_or_default().to_string_lossy();
                name.ends_with(".up.sql")
                    && name.len() > 6
                    && name[..4].bytes().all(|b| b.is_ascii_digit())
                    && name[4..].starts_with("__")
            })
            .collect();
        if ups.is_empty() {
            continue;
        }
        ups.sort();
        let name = project.file_name().unwrap().to_string_lossy().to_string();
        out.push((name, ups));
    }
    out
}

/// Per-chain results: pass counts and the first failure messages, per phase.
#[derive(Default)]
struct Tally {
    steps: usize,
    rejected: Vec<String>,
    blocked_by_rows: Vec<String>,
    /// Steps whose sync had nothing to do (the step changes no schema), so there is nothing to
    /// roll back: the rollback phase passes when state k-1 and state k have the same catalog.
    noop: usize,
    /// Rollbacks that left an empty `sqlite_sequence` behind (SQLite never drops it).
    sequence_left: usize,
    pass: BTreeMap<&'static str, usize>,
    fail: BTreeMap<&'static str, usize>,
    messages: BTreeMap<&'static str, Vec<String>>,
}

impl Tally {
    fn ok(&mut self, phase: &'static str) {
        *self.pass.entry(phase).or_default() += 1;
    }

    fn failed(&mut self, phase: &'static str, step: &str, message: String) {
        *self.fail.entry(phase).or_default() += 1;
        let kept = self.messages.entry(phase).or_default();
        if kept.len() < keep() {
            kept.push(format!("{step}: {}", clip(&message, 1500)));
        }
    }

    /// Records a phase's outcome; returns whether it passed.
    fn record(&mut self, phase: &'static str, step: &str, result: Result<(), String>) -> bool {
        match result {
            Ok(()) => {
                self.ok(phase);
                true
            }
            Err(e) => {
                self.failed(phase, step, e);
                false
            }
        }
    }

    fn failures(&self) -> usize {
        self.fail.values().sum()
    }
}

fn clip(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{} [... {} more bytes]", &text[..end], text.len() - end)
}

/// A temp project: schemactl.toml and empty migrations/ and rollbacks/.
struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new() -> Self {
        let dir = common::temp_dir();
        for sub in ["migrations", "rollbacks", "schema", "snapshots", "backups"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        std::fs::write(
            dir.path().join("schemactl.toml"),
            "database = \"unused.db\"\nschema = \"schema\"\nmigrations = \"migrations\"\n\
             rollbacks = \"rollbacks\"\nsnapshots = \"snapshots\"\nbackups = \"backups\"\n\
             archives = \"archives\"\n",
        )
        .unwrap();
        Project { dir }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Runs `schemactl <command> --config <this project> <args>`.
    fn run(&self, command: &str, args: &[&str]) -> Output {
        let config = self.path("schemactl.toml");
        std::process::Command::new(env!("CARGO_BIN_EXE_schemactl"))
            .arg(command)
            .arg("--config")
            .arg(&config)
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("SCHEMACTL_DATABASE")
            .env("NO_COLOR", "1")
            .output()
            .expect("run schemactl")
    }

    /// Runs a command; Err holds the exit status and the output when it fails.
    fn ok(&self, command: &str, args: &[&str]) -> Result<(), String> {
        let out = self.run(command, args);
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "`schemactl {command} {}` exited {}:\n{}{}",
                args.join(" "),
                out.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&out.stderr),
                String::from_utf8_lossy(&out.stdout)
            ))
        }
    }
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

/// Copies a database file into `to` (rollback journals only: no WAL is left behind).
fn copy_db(from: &Path, to: &Path) {
    let _ = std::fs::remove_file(to);
    std::fs::copy(from, to).expect("copy a database file");
}

// ---------------------------------------------------------------------------------------------
// The catalog
// ---------------------------------------------------------------------------------------------

/// SQL compared by meaning: comments and spacing dropped, words (quoted or not) folded to lower
/// case, one space between tokens.
fn normalise(sql: &str) -> String {
    let tokens = match Tokenizer::new(&SQLiteDialect {}, sql).tokenize() {
        Ok(t) => t,
        Err(_) => return sql.split_whitespace().collect::<Vec<_>>().join(" "),
    };
    tokens
        .iter()
        .filter(|t| !matches!(t, Token::Whitespace(_)))
        .map(|t| match t {
            Token::Word(w) => w.value.to_lowercase(),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
        .trim_end_matches(" ;")
        .to_string()
}

/// The significant tokens of `sql`, words folded as in [`normalise`].
fn tokens(sql: &str) -> Vec<String> {
    Tokenizer::new(&SQLiteDialect {}, sql)
        .tokenize()
        .unwrap_or_default()
        .iter()
        .filter(|t| !matches!(t, Token::Whitespace(_)))
        .map(|t| match t {
            Token::Word(w) => w.value.to_lowercase(),
            other => other.to_string(),
        })
        .collect()
}

/// What PRAGMAs do not show of a CREATE TABLE: its CHECK bodies (table-level, or per column),
/// COLLATE clauses per column, and AUTOINCREMENT.
fn table_extras(sql: &str) -> Vec<String> {
    let toks = tokens(sql);
    let Some(open) = toks.iter().position(|t| t == "(") else {
        return Vec::new();
    };
    // Split the body at its top-level commas.
    let mut elements: Vec<Vec<String>> = vec![Vec::new()];
    let mut depth = 0usize;
    for t in &toks[open + 1..] {
        match t.as_str() {
            "(" => depth += 1,
            ")" if depth == 0 => break,
            ")" => depth -= 1,
            "," if depth == 0 => {
                elements.push(Vec::new());
                continue;
            }
            _ => {}
        }
        elements.last_mut().unwrap().push(t.clone());
    }
    let mut out = Vec::new();
    for element in elements {
        let Some(first) = element.first() else {
            continue;
        };
        let owner =
            if ["constraint", "primary", "unique", "check", "foreign"].contains(&first.as_str()) {
                "table".to_string()
            } else {
                format!("column {first}")
            };
        let mut i = 0;
        while i < element.len() {
            match element[i].as_str() {
                "check" if element.get(i + 1).is_some_and(|t| t == "(") => {
                    let mut depth = 0usize;
                    let mut body = Vec::new();
                    for t in &element[i + 1..] {
                        match t.as_str() {
                            "(" => depth += 1,
                            ")" => depth -= 1,
                            _ => {}
                        }
                        body.push(t.clone());
                        if depth == 0 {
                            break;
                        }
                    }
                    i += body.len();
                    out.push(format!("{owner}: check {}", body.join(" ")));
                }
                "collate" => {
                    out.push(format!(
                        "{owner}: collate {}",
                        element.get(i + 1).cloned().unwrap_or_default()
                    ));
                    i += 1;
                }
                "autoincrement" => out.push(format!("{owner}: autoincrement")),
                _ => {}
            }
            i += 1;
        }
    }
    out.sort();
    out
}

fn value_text(v: &Value) -> String {
    match v {
        // Not "NULL": a default of NULL (no default) and `DEFAULT NULL` (the text) must differ.
        Value::Null => "<null>".into(),
        Value::Integer(i) => i.to_string(),
        Value::Real(r) => r.to_string(),
        Value::Text(t) => t.clone(),
        Value::Blob(b) => format!(
            "x'{}'",
            b.iter().map(|x| format!("{x:02x}")).collect::<String>()
        ),
    }
}

/// Runs a PRAGMA-style query and renders each row as `a|b|c`.
fn lines(conn: &Connection, sql: &str, params: &[&dyn rusqlite::ToSql]) -> Vec<String> {
    let mut stmt = match conn.prepare(sql) {
        Ok(s) => s,
        Err(e) => return vec![format!("error: {e}")],
    };
    let n = stmt.column_count();
    stmt.query_map(params, |r| {
        Ok((0..n)
            .map(|i| value_text(&r.get::<_, Value>(i).unwrap()))
            .collect::<Vec<_>>()
            .join("|"))
    })
    .map(|rows| rows.map(|r| r.unwrap()).collect())
    .unwrap_or_else(|e| vec![format!("error: {e}")])
}

fn ours(name: &str) -> bool {
    name.to_ascii_lowercase().starts_with("_schemactl_")
}

/// The catalog of a database, one line per fact, in a stable order.
fn catalog(path: &Path) -> Vec<String> {
    let conn = Connection::open(path).expect("open a database for its catalog");
    let mut out = Vec::new();
    let mut tables: Vec<(String, String)> = lines(
        &conn,
        "SELECT name, type || ' ncol=' || ncol || ' wr=' || wr || ' strict=' || strict \
         FROM pragma_table_list WHERE schema = 'main'",
        &[],
    )
    .into_iter()
    .filter_map(|l| {
        let (name, rest) = l.split_once('|')?;
        Some((name.to_string(), rest.to_string()))
    })
    .filter(|(n, _)| !ours(n))
    .collect();
    tables.sort_by_key(|(n, _)| n.to_ascii_lowercase());
    for (table, kind) in &tables {
        let t = table.to_ascii_lowercase();
        out.push(format!("table {t}: {kind}"));
        for l in lines(
            &conn,
            "SELECT cid, lower(name), type, \"notnull\", dflt_value, pk, hidden \
             FROM pragma_table_xinfo(?1)",
            &[table],
        ) {
            out.push(format!("table {t}: column {l}"));
        }
        let mut indexes: Vec<(String, String)> = lines(
            &conn,
            "SELECT name, \"unique\" || '|' || origin || '|' || partial FROM pragma_index_list(?1)",
            &[table],
        )
        .into_iter()
        .filter_map(|l| {
            let (name, rest) = l.split_once('|')?;
            Some((name.to_string(), rest.to_string()))
        })
        .collect();
        indexes.sort_by_key(|(n, _)| n.to_ascii_lowercase());
        for (index, kind) in indexes {
            let i = index.to_ascii_lowercase();
            out.push(format!("table {t}: index {i}: {kind}"));
            for l in lines(
                &conn,
                "SELECT seqno, cid, lower(name), \"desc\", coll, key FROM pragma_index_xinfo(?1)",
                &[&index],
            ) {
                out.push(format!("table {t}: index {i}: {l}"));
            }
            // Partial WHERE and expressions: what index_xinfo does not show.
            let sql: Option<String> = conn
                .query_row(
                    "SELECT sql FROM sqlite_schema WHERE type = 'index' AND name = ?1",
                    [&index],
                    |r| r.get(0),
                )
                .ok()
                .flatten();
            if let Some(sql) = sql
                && (kind.ends_with("|1")
                    || !lines(
                        &conn,
                        "SELECT 1 FROM pragma_index_xinfo(?1) WHERE cid = -2",
                        &[&index],
                    )
                    .is_empty())
            {
                out.push(format!("table {t}: index {i}: sql {}", normalise(&sql)));
            }
        }
        for l in lines(
            &conn,
            "SELECT id, seq, lower(\"table\"), lower(\"from\"), lower(\"to\"), on_update, on_delete, \
             \"match\" FROM pragma_foreign_key_list(?1)",
            &[table],
        ) {
            out.push(format!("table {t}: foreign key {l}"));
        }
        let sql: Option<String> = conn
            .query_row(
                "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?1",
                [table],
                |r| r.get(0),
            )
            .ok()
            .flatten();
        if let Some(sql) = sql {
            if kind.starts_with("virtual") {
                out.push(format!("table {t}: sql {}", normalise(&sql)));
            } else {
                for extra in table_extras(&sql) {
                    out.push(format!("table {t}: {extra}"));
                }
            }
        }
    }
    let mut others: Vec<String> = lines(
        &conn,
        "SELECT type, lower(name), lower(tbl_name), sql FROM sqlite_schema \
         WHERE type IN ('view', 'trigger')",
        &[],
    )
    .into_iter()
    .filter(|l| {
        let parts: Vec<&str> = l.splitn(4, '|').collect();
        !parts.iter().take(3).any(|p| ours(p))
    })
    .map(|l| {
        let parts: Vec<&str> = l.splitn(4, '|').collect();
        format!("{} {}: {}", parts[0], parts[1], normalise(parts[3]))
    })
    .collect();
    others.sort();
    out.extend(others);
    out
}

/// The first differences between two catalogs, as a short diff.
fn compare(got: &[String], want: &[String]) -> Result<(), String> {
    if got == want {
        return Ok(());
    }
    let mut text = String::new();
    let mut shown = 0;
    for l in want.iter().filter(|l| !got.contains(l)) {
        if shown < 12 {
            let _ = writeln!(text, "  - {l}");
        }
        shown += 1;
    }
    for l in got.iter().filter(|l| !want.contains(l)) {
        if shown < 24 {
            let _ = writeln!(text, "  + {l}");
        }
        shown += 1;
    }
    if shown == 0 {
        text.push_str("  (same facts, different order)\n");
    }
    Err(format!("catalog differs (- expected, + got):\n{text}"))
}

/// True when `got` has an empty `sqlite_sequence` that `want` has not: SQLite creates it with
/// the first AUTOINCREMENT table and refuses to drop it ("may not be dropped"), so a rollback
/// of that table cannot remove it.
fn sequence_left(path: &Path, got: &[String], want: &[String]) -> bool {
    let has = |c: &[String]| c.iter().any(|l| l.starts_with("table sqlite_sequence:"));
    has(got)
        && !has(want)
        && Connection::open(path)
            .and_then(|c| c.query_row("SELECT count(*) FROM sqlite_sequence", [], |r| r.get(0)))
            .is_ok_and(|n: i64| n == 0)
}

// ---------------------------------------------------------------------------------------------
// Seeded rows
// ---------------------------------------------------------------------------------------------

/// Ordinary tables of a database (no virtual, shadow or internal tables, none of ours), with
/// their stored columns and declared types.
fn plain_tables(conn: &Connection) -> Vec<(String, Vec<(String, String)>)> {
    let names: Vec<String> = {
        let mut stmt = conn
            .prepare(
                "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' \
                 AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
            )
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .filter(|n: &String| !ours(n))
            .collect()
    };
    names
        .into_iter()
        .map(|name| {
            let mut stmt = conn
                .prepare("SELECT name, type FROM pragma_table_xinfo(?1) WHERE hidden = 0")
                .unwrap();
            let cols = stmt
                .query_map([&name], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .map(|r| r.unwrap())
                .collect();
            (name, cols)
        })
        .collect()
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A value for row `i` of a column of declared type `decl`, by SQLite's affinity rules.
fn typed_value(decl: &str, i: usize) -> String {
    let d = decl.to_ascii_uppercase();
    if d.contains("INT") {
        i.to_string()
    } else if d.contains("CHAR") || d.contains("CLOB") || d.contains("TEXT") {
        format!("'v{i}'")
    } else if d.contains("BLOB") {
        format!("x'0{i}'")
    } else if d.contains("REAL") || d.contains("FLOA") || d.contains("DOUB") {
        format!("{i}.5")
    } else if d.is_empty() {
        format!("'v{i}'")
    } else {
        // NUMERIC affinity (BOOLEAN, DATETIME, DECIMAL, ...).
        i.to_string()
    }
}

/// Inserts up to three rows per table with foreign keys on (so no orphans), parents first by
/// repeated passes; rows SQLite refuses are skipped. Returns the number inserted.
fn seed(path: &Path) -> usize {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
    let tables = plain_tables(&conn);
    let mut done: BTreeMap<(String, usize), bool> = BTreeMap::new();
    let mut inserted = 0;
    for _pass in 0..4 {
        let mut progress = false;
        for (table, cols) in &tables {
            for i in 1..=3 {
                if done.contains_key(&(table.clone(), i)) {
                    continue;
                }
                let names: Vec<String> = cols.iter().map(|(n, _)| quote(n)).collect();
                let values: Vec<String> = cols.iter().map(|(_, t)| typed_value(t, i)).collect();
                let typed = format!(
                    "INSERT INTO {} ({}) VALUES ({})",
                    quote(table),
                    names.join(", "),
                    values.join(", ")
                );
                let defaults = format!("INSERT INTO {} DEFAULT VALUES", quote(table));
                if conn.execute(&typed, []).is_ok()
                    || (i == 1 && conn.execute(&defaults, []).is_ok())
                {
                    done.insert((table.clone(), i), true);
                    inserted += 1;
                    progress = true;
                }
            }
        }
        if !progress {
            break;
        }
    }
    inserted
}

/// Every row of every plain table: table -> column names and sorted rows (values as text, so
/// that affinity changes such as 1 vs '1' compare equal).
type Rows = BTreeMap<String, (Vec<String>, Vec<Vec<String>>)>;

fn rows(path: &Path) -> Rows {
    let conn = Connection::open(path).unwrap();
    let mut out = Rows::new();
    for (table, cols) in plain_tables(&conn) {
        let names: Vec<String> = cols.iter().map(|(n, _)| n.to_ascii_lowercase()).collect();
        let sql = format!(
            "SELECT {} FROM {}",
            cols.iter()
                .map(|(n, _)| quote(n))
                .collect::<Vec<_>>()
                .join(", "),
            quote(&table)
        );
        let mut list: Vec<Vec<String>> = match conn.prepare(&sql) {
            Ok(mut stmt) => stmt
                .query_map([], |r| {
                    Ok((0..names.len())
                        .map(|i| value_text(&r.get::<_, Value>(i).unwrap()))
                        .collect())
                })
                .unwrap()
                .map(|r| r.unwrap())
                .collect(),
            Err(_) => continue,
        };
        list.sort();
        out.insert(table.to_ascii_lowercase(), (names, list));
    }
    out
}

/// Checks that the `seeded` rows are in `after`, projected on the columns both have, for every
/// table `after` still has. With `exact`, every table and column of `seeded` must be there.
fn rows_survive(seeded: &Rows, after: &Rows, exact: bool) -> Result<(), String> {
    for (table, (cols, before)) in seeded {
        let Some((after_cols, after_rows)) = after.get(table) else {
            if exact {
                return Err(format!("table {table} is gone"));
            }
            continue;
        };
        let kept: Vec<(usize, usize)> = cols
            .iter()
            .enumerate()
            .filter_map(|(i, c)| after_cols.iter().position(|a| a == c).map(|j| (i, j)))
            .collect();
        if exact && kept.len() != cols.len() {
            return Err(format!(
                "table {table}: columns {cols:?} became {after_cols:?}"
            ));
        }
        let mut a: Vec<Vec<&String>> = before
            .iter()
            .map(|r| kept.iter().map(|(i, _)| &r[*i]).collect())
            .collect();
        let mut b: Vec<Vec<&String>> = after_rows
            .iter()
            .map(|r| kept.iter().map(|(_, j)| &r[*j]).collect())
            .collect();
        a.sort();
        b.sort();
        // The chain's own later steps never run on the copy, so the rows are exactly the seeded
        // ones; a sync must neither lose nor invent rows.
        if a != b {
            return Err(format!(
                "rows of {table} changed (columns kept: {:?}):\n  before {a:?}\n  after  {b:?}",
                kept.iter().map(|(i, _)| &cols[*i]).collect::<Vec<_>>()
            ));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The replay
// ---------------------------------------------------------------------------------------------

/// Replays one chain; returns its tally.
fn replay(name: &str, ups: &[PathBuf]) -> Tally {
    let mut tally = Tally::default();
    let project = Project::new();
    let work = project.path("work");
    std::fs::create_dir_all(&work).unwrap();

    // State 0: an empty database file.
    let mut prev = work.join("state_0.db");
    Connection::open(&prev)
        .unwrap()
        .execute_batch("PRAGMA user_version = 0")
        .unwrap();
    let running = work.join("running.db");
    copy_db(&prev, &running);

    for (k0, up) in ups.iter().enumerate() {
        let k = k0 + 1;
        let file = up.file_name().unwrap().to_string_lossy().to_string();
        let step = format!("{name} {k} ({file})");
        tally.steps += 1;

        // 1. State k: the running replay plus this file; a file SQLite rejects is skipped and
        //    the running state restored.
        let sql = std::fs::read_to_string(up).expect("read an up file");
        let snapshot = work.join("snapshot.db");
        copy_db(&running, &snapshot);
        let applied = {
            let conn = Connection::open(&running).unwrap();
            let r = conn.execute_batch(&sql);
            // Files that leave a transaction open (they manage their own) are closed here.
            if !conn.is_autocommit() {
                let _ = conn.execute_batch("COMMIT");
            }
            r
        };
        if let Err(e) = applied {
            copy_db(&snapshot, &running);
            tally.rejected.push(format!("{step}: {e}"));
            continue;
        }
        let state = work.join(format!("state_{k}.db"));
        copy_db(&running, &state);

        // 2. Import.
        let yaml = work.join(format!("{k}.yaml"));
        let imported = project.ok("import", &["--database", s(&state), "--out", s(&yaml)]);
        if !tally.record("import", &step, imported) {
            prev = state;
            continue;
        }

        // 3. Sync a seeded copy of state k-1.
        let copy = work.join(format!("copy_{k}.db"));
        copy_db(&prev, &copy);
        let seeded_count = seed(&copy);
        let seeded = rows(&copy);
        let sync_args = [
            "--database",
            s(&copy),
            "--schema",
            s(&yaml),
            "--yes",
            "--allow-destructive",
            "--ignore-lint",
        ];
        let mut synced = project.ok("sync", &sync_args);
        let mut with_rows = seeded_count > 0;
        if synced.is_err() && with_rows {
            // The rows may block the change itself (a NOT NULL column without a default, ...):
            // the same sync on an empty copy tells which.
            copy_db(&prev, &copy);
            if project.ok("sync", &sync_args).is_ok() {
                tally.blocked_by_rows.push(format!(
                    "{step}: {}",
                    clip(synced.as_ref().unwrap_err(), 600)
                ));
                synced = Ok(());
                with_rows = false;
            } else {
                copy_db(&prev, &copy);
            }
        }
        if !tally.record("sync", &step, synced) {
            prev = state;
            continue;
        }
        let state_catalog = catalog(&state);
        tally.record("catalog", &step, compare(&catalog(&copy), &state_catalog));
        if with_rows {
            tally.record("rows", &step, rows_survive(&seeded, &rows(&copy), false));
        }

        // 4. Nothing left to plan.
        let replan = project.ok(
            "plan",
            &["--database", s(&copy), "--schema", s(&yaml), "--check"],
        );
        tally.record("replan", &step, replan);

        // 5. Roll back to state k-1.
        let prev_catalog = catalog(&prev);
        let rolled = match project.ok("rollback", &["last", "--database", s(&copy), "--yes"]) {
            Err(e) if e.contains("nothing to roll back") && prev_catalog == state_catalog => {
                tally.noop += 1;
                Ok(())
            }
            Err(e) => Err(e),
            Ok(()) => {
                let mut got = catalog(&copy);
                if sequence_left(&copy, &got, &prev_catalog) {
                    tally.sequence_left += 1;
                    got.retain(|l| !l.starts_with("table sqlite_sequence:"));
                }
                compare(&got, &prev_catalog)
            }
        };
        let rolled_ok = tally.record("rollback", &step, rolled);
        if rolled_ok && with_rows {
            tally.record(
                "rows back",
                &step,
                rows_survive(&seeded, &rows(&copy), true),
            );
        }

        let _ = std::fs::remove_file(&copy);
        prev = state;
    }
    tally
}

fn report(results: &[(String, Tally)]) -> String {
    let mut out = String::new();
    let _ = write!(out, "\n{:<22} {:>5} {:>4}", "chain", "steps", "rej");
    for p in PHASES {
        let _ = write!(out, " {p:>10}");
    }
    let _ = writeln!(out, " {:>8} {:>5} {:>6}", "rows-blk", "noop", "seq");
    let mut totals: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let (mut steps, mut rejected, mut blocked, mut noop, mut seq) = (0, 0, 0, 0, 0);
    for (name, t) in results {
        let _ = write!(out, "{name:<22} {:>5} {:>4}", t.steps, t.rejected.len());
        steps += t.steps;
        rejected += t.rejected.len();
        blocked += t.blocked_by_rows.len();
        for p in PHASES {
            let pass = t.pass.get(p).copied().unwrap_or(0);
            let fail = t.fail.get(p).copied().unwrap_or(0);
            let e = totals.entry(p).or_default();
            e.0 += pass;
            e.1 += pass + fail;
            let _ = write!(out, " {:>10}", format!("{pass}/{}", pass + fail));
        }
        let _ = writeln!(
            out,
            " {:>8} {:>5} {:>6}",
            t.blocked_by_rows.len(),
            t.noop,
            t.sequence_left
        );
        noop += t.noop;
        seq += t.sequence_left;
    }
    let _ = write!(out, "{:<22} {steps:>5} {rejected:>4}", "TOTAL");
    for p in PHASES {
        let (pass, all) = totals.get(p).copied().unwrap_or_default();
        let _ = write!(out, " {:>10}", format!("{pass}/{all}"));
    }
    let _ = writeln!(out, " {blocked:>8} {noop:>5} {seq:>6}");
    let _ = writeln!(
        out,
        "(pass/run per phase; a phase runs only when the one before it passed; rows = seeded rows \
         survive the sync, rows back = after the rollback; rej = files the bundled SQLite \
         rejects; rows-blk = syncs that fail on seeded rows but pass on the empty copy; noop = steps that change \
         no schema, so nothing to roll back; seq = rollbacks that leave an empty sqlite_sequence, \
         which SQLite never drops, ignored)"
    );
    for (name, t) in results {
        for r in &t.rejected {
            let _ = writeln!(out, "\nREJECTED {r}");
        }
        for b in &t.blocked_by_rows {
            let _ = writeln!(out, "\nBLOCKED BY ROWS {b}");
        }
        for p in PHASES {
            for m in t.messages.get(p).into_iter().flatten() {
                let _ = writeln!(
                    out,
                    "\nFAIL [{name}/{p}] ({} in all) {m}",
                    t.fail.get(p).copied().unwrap_or(0)
                );
            }
        }
    }
    out
}

#[test]
#[ignore = "run with SCHEMACTL_APP_CHAINS=/work/app-chains cargo test --test app_chains -- --ignored; see issue 14"]
fn app_chains_import_sync_rollback_with_exact_catalogs() {
    let Some(dir) = chains_dir() else {
        return; // chains_dir() printed the notice
    };
    let chains = chains(&dir);
    assert!(!chains.is_empty(), "no chain in {}", dir.display());
    let start = Instant::now();
    // Two workers: the chains are independent, each in its own temp project.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some((name, ups)) = chains.get(i) else {
                        break;
                    };
                    let t = Instant::now();
                    let tally = replay(name, ups);
                    println!(
                        "{name}: {} steps in {:.1}s",
                        tally.steps,
                        t.elapsed().as_secs_f64()
                    );
                    results.lock().unwrap().push((name.clone(), tally));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by(|a, b| a.0.cmp(&b.0));
    let text = report(&results);
    println!("{text}\nin {:.1}s", start.elapsed().as_secs_f64());
    let failures: usize = results.iter().map(|(_, t)| t.failures()).sum();
    assert_eq!(failures, 0, "app chains: {failures} phase failures{text}");
}
