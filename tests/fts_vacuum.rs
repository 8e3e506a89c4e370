//! Full-text indexes whose rows live in another table find them by rowid. A property over
//! their declarations (fts4 and fts5, the content table with or without an INTEGER PRIMARY
//! KEY, quoted in every way SQLite takes, fts5's content_rowid): SQLite itself is the oracle
//! (VACUUM a copy, then the index's own integrity-check; whether the INTEGER PRIMARY KEY is
//! the rowid). `optimize --vacuum` refuses, and changes nothing, exactly when SQLite does not
//! promise to keep the rowids the index finds its rows by (VACUUM "may change" the rowids of a
//! table without an INTEGER PRIMARY KEY: today it renumbers those of a table without an
//! index, once they have a gap); when it runs, the index stays in step; and `check` reports an
//! index out of step (exit 2) and passes one in step. Real files and processes, a temp dir each.

mod common;

use std::path::Path;

use proptest::prelude::*;
use rusqlite::Connection;

#[derive(Debug, Clone)]
struct Case {
    fts5: bool,
    /// The content table's id column: none, `INTEGER PRIMARY KEY`, `INT PRIMARY KEY`,
    /// `INTEGER PRIMARY KEY DESC`, or a table constraint `PRIMARY KEY (id)`.
    key: usize,
    /// content='notes', content="notes" or content=notes.
    quote: usize,
    /// fts5's content_rowid=id (when there is an id column).
    content_rowid: bool,
    rows: usize,
    /// Which rows are deleted before the vacuum (bit i: row i).
    deleted: u32,
    /// fts5 only: the content is a view over the table, `notes_v`, whose `rid` is the
    /// index's content_rowid: 0 no view, 1 `rowid AS rid`, 2 `id AS rid` (`rowid` without an
    /// id column).
    view: usize,
}

const KEYS: [&str; 5] = [
    "",
    "id INTEGER PRIMARY KEY, ",
    "id INT PRIMARY KEY, ",
    "id INTEGER PRIMARY KEY DESC, ",
    "id INTEGER, ",
];

impl Case {
    fn ddl(&self) -> String {
        let table_pk = if self.key == 4 {
            ", PRIMARY KEY (id)"
        } else {
            ""
        };
        let content = ["'notes'", "\"notes\"", "notes"][self.quote];
        let module = if self.fts5 { "fts5" } else { "fts4" };
        let rowid = if self.fts5 && self.content_rowid && self.key > 0 {
            ", content_rowid='id'"
        } else {
            ""
        };
        let mut sql = format!(
            "CREATE TABLE notes ({}title TEXT, body TEXT{table_pk});\n",
            KEYS[self.key]
        );
        if self.through_view() {
            let rid = if self.view == 2 && self.key > 0 {
                "id"
            } else {
                "rowid"
            };
            sql.push_str(&format!(
                "CREATE VIEW notes_v AS SELECT {rid} AS rid, title, body FROM notes;
                 CREATE VIRTUAL TABLE notes_fts USING fts5(title, body, content='notes_v', content_rowid='rid');\n"
            ));
        } else {
            sql.push_str(&format!(
                "CREATE VIRTUAL TABLE notes_fts USING {module}(title, body, content={content}{rowid});\n"
            ));
        }
        for i in 0..self.rows {
            let id = if self.key > 0 {
                format!("{}, ", 10 + 3 * i)
            } else {
                String::new()
            };
            let cols = if self.key > 0 {
                "id, title, body"
            } else {
                "title, body"
            };
            sql.push_str(&format!(
                "INSERT INTO notes ({cols}) VALUES ({id}'n{i}', 'word{i} common');\n"
            ));
        }
        for i in 0..self.rows {
            if self.deleted & (1 << i) != 0 {
                sql.push_str(&format!("DELETE FROM notes WHERE title = 'n{i}';\n"));
            }
        }
        sql.push_str("INSERT INTO notes_fts(notes_fts) VALUES ('rebuild');\n");
        sql
    }
}

impl Case {
    fn through_view(&self) -> bool {
        self.fts5 && self.view > 0
    }
}

fn case() -> impl Strategy<Value = Case> {
    (
        any::<bool>(),
        0usize..5,
        0usize..3,
        any::<bool>(),
        2usize..7,
        any::<u32>(),
        0usize..3,
    )
        .prop_map(
            |(fts5, key, quote, content_rowid, rows, deleted, view)| Case {
                fts5,
                key,
                quote,
                content_rowid,
                rows,
                deleted,
                view,
            },
        )
}

/// The index's own integrity-check against its content table: Ok(true) in step.
fn in_step(db: &Path, fts5: bool) -> bool {
    let conn = Connection::open(db).unwrap();
    let sql = if fts5 {
        "INSERT INTO notes_fts(notes_fts, rank) VALUES ('integrity-check', 1)"
    } else {
        "INSERT INTO notes_fts(notes_fts) VALUES ('integrity-check')"
    };
    conn.execute_batch(sql).is_ok()
}

fn project(c: &Case) -> tempfile::TempDir {
    let dir = common::temp_dir();
    std::fs::create_dir_all(dir.path().join("schema")).unwrap();
    std::fs::write(
        dir.path().join("schemactl.toml"),
        "database = \"db.sqlite\"\nbackups = \"backups\"\n",
    )
    .unwrap();
    Connection::open(dir.path().join("db.sqlite"))
        .unwrap()
        .execute_batch(&c.ddl())
        .unwrap();
    common::ok_in(dir.path(), &["import", "--out", "schema/s.yaml"]);
    dir
}

fn check_case(c: &Case) -> Result<(), TestCaseError> {
    let dir = project(c);
    let db = dir.path().join("db.sqlite");
    prop_assert!(in_step(&db, c.fts5), "in step before: {}", c.ddl());
    // The oracles. Whether VACUUM puts this index out of step with these rows: VACUUM a copy.
    let copy = dir.path().join("copy.sqlite");
    std::fs::copy(&db, &copy).unwrap();
    Connection::open(&copy)
        .unwrap()
        .execute_batch("VACUUM")
        .unwrap();
    let breaks = !in_step(&copy, c.fts5);
    // Whether it may, with other rows (VACUUM keeps rowids 1..n that have no gap): another
    // copy, given a gap first.
    let gap = dir.path().join("gap.sqlite");
    std::fs::copy(&db, &gap).unwrap();
    let (cols, ids) = if c.key > 0 {
        ("id, title, body", ["1000, ", "1001, "])
    } else {
        ("title, body", ["", ""])
    };
    let conn = Connection::open(&gap).unwrap();
    conn.execute_batch(&format!(
        "INSERT INTO notes ({cols}) VALUES ({}'g1', 'gap one');
         INSERT INTO notes ({cols}) VALUES ({}'g2', 'gap two');
         DELETE FROM notes WHERE rowid = (SELECT min(rowid) FROM notes);
         INSERT INTO notes_fts(notes_fts) VALUES ('rebuild');
         VACUUM;",
        ids[0], ids[1]
    ))
    .unwrap();
    drop(conn);
    let may_break = !in_step(&gap, c.fts5);
    prop_assert!(may_break || !breaks);
    // What SQLite promises: VACUUM keeps the rowid of a table whose INTEGER PRIMARY KEY is
    // the rowid (SQLite tells: there, rowid = id for ids given out of sequence), and every
    // column value; it "may change" any other rowid (today: those of a table without an index).
    let alias = c.key > 0
        && Connection::open(&gap)
            .unwrap()
            .query_row(
                "SELECT count(*) = 0 FROM notes WHERE rowid IS NOT id",
                [],
                |r| r.get::<_, bool>(0),
            )
            .unwrap();
    let kept = if c.through_view() {
        // The view's rid: the id column's values (kept), or the table's rowid.
        alias || (c.view == 2 && c.key > 0)
    } else {
        alias || (c.fts5 && c.content_rowid && c.key > 0)
    };
    prop_assert!(
        kept || may_break || c.key > 0,
        "a table without an index is renumbered"
    );

    let before = std::fs::read(&db).unwrap();
    let out = common::schemactl(dir.path(), &["optimize", "--vacuum"]);
    prop_assert!(
        !(kept && may_break),
        "SQLite kept its promise for {}",
        c.ddl()
    );
    if !kept {
        prop_assert_eq!(out.status.code(), Some(1), "VACUUM may break {}", c.ddl());
        prop_assert!(
            common::stderr(&out).contains("notes_fts"),
            "{}",
            common::stderr(&out)
        );
        prop_assert!(
            std::fs::read(&db).unwrap() == before,
            "a refusal changes nothing"
        );
    } else {
        prop_assert!(
            out.status.success(),
            "VACUUM keeps the rowids of {}, yet: {}",
            c.ddl(),
            common::stderr(&out)
        );
    }
    prop_assert!(in_step(&db, c.fts5), "after optimize: {}", c.ddl());

    // check: the database in step passes; the oracle's broken copy is reported.
    let out = common::schemactl(dir.path(), &["check", "--format", "json"]);
    prop_assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        common::stdout(&out),
        common::stderr(&out)
    );
    let out = common::schemactl(
        dir.path(),
        &["check", "--database", "copy.sqlite", "--format", "json"],
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let reported = v["findings"].as_array().unwrap().iter().any(|f| {
        // SQLite's integrity_check names an fts4 index itself; an fts5 one, check's own.
        f["class"] == "integrity"
            && f["severity"] == "error"
            && (f["subject"] == "notes_fts" || f["samples"].to_string().contains("notes_fts"))
    });
    prop_assert_eq!(
        reported,
        breaks,
        "check of the vacuumed copy of {}: {}",
        c.ddl(),
        v
    );
    prop_assert_eq!(out.status.code(), Some(if breaks { 2 } else { 0 }));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, max_shrink_iters: 64, ..ProptestConfig::default() })]

    #[test]
    fn vacuum_refuses_exactly_when_it_would_put_an_index_out_of_step(c in case()) {
        check_case(&c)?;
    }
}

/// h5: the content table has no INTEGER PRIMARY KEY and lost rows before the vacuum.
#[test]
fn an_fts5_index_of_a_table_without_an_integer_primary_key_refuses_vacuum() {
    check_case(&Case {
        fts5: true,
        key: 0,
        quote: 0,
        content_rowid: false,
        rows: 4,
        deleted: 0b0011,
        view: 0,
    })
    .unwrap();
}

/// h10_12: the content is a view over that table, exposing its rowid.
#[test]
fn an_fts5_index_over_a_view_of_a_table_without_an_integer_primary_key_refuses_vacuum() {
    let c = Case {
        fts5: true,
        key: 0,
        quote: 0,
        content_rowid: false,
        rows: 4,
        deleted: 0b0011,
        view: 1,
    };
    check_case(&c).unwrap();
    let dir = project(&c);
    let err = common::fails_in(dir.path(), &["optimize", "--vacuum"], 1);
    assert!(
        err.contains("\"notes_fts\" (content view \"notes_v\", over table \"notes\" without an INTEGER PRIMARY KEY)"),
        "{err}"
    );
}
