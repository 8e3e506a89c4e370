//! Contradictory rename hints are errors, never silently read one way (h7_07): a hint whose
//! old name is still declared (the old column or table would be both kept and renamed) is a
//! load error at the hint's `file:line:column`; a hint whose old and new names both exist in
//! the live database is a plan-time error naming both and the hint's place. Exit 1, nothing
//! changed. Chains, swaps and a hint from the object's own name in another case stay valid.

mod common;

use std::path::Path;

use common::{empty_project, fails_in, ok_in};
use proptest::prelude::*;
use rusqlite::Connection;

/// The live database's catalog and rows, to show that a refused command changed nothing.
fn state(dir: &Path) -> Vec<String> {
    let conn = Connection::open(dir.join("db.sqlite")).unwrap();
    let mut out: Vec<String> = conn
        .prepare("SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE '\\_schemactl%' ESCAPE '\\' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    for t in tables {
        let mut stmt = conn
            .prepare(&format!("SELECT * FROM \"{t}\" ORDER BY rowid"))
            .unwrap();
        let n = stmt.column_count();
        let rows: Vec<String> = stmt
            .query_map([], |r| {
                Ok((0..n)
                    .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                    .collect::<Vec<_>>()
                    .join("|"))
            })
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        out.push(format!("{t}: {}", rows.join("; ")));
    }
    out
}

/// A declared name and its `renamed_from` hint.
type Hinted<'a> = (&'a str, Option<&'a str>);

/// A schema file of tables, each `(name, hint, columns)`, every column `(name, hint)` TEXT;
/// returns the text and, for each hint, its `line:column` (1-based, of its value).
fn yaml(tables: &[(&str, Option<&str>, Vec<Hinted<'_>>)]) -> (String, Vec<String>) {
    let mut lines = vec![
        "schemactl: 1".to_string(),
        "version: 2".into(),
        "tables:".into(),
    ];
    let mut places = Vec::new();
    for (t, hint, columns) in tables {
        lines.push(format!("  {t}:"));
        if let Some(h) = hint {
            let prefix = "    renamed_from: ";
            places.push(format!("{}:{}", lines.len() + 1, prefix.len() + 1));
            lines.push(format!("{prefix}{h}"));
        }
        lines.push("    columns:".into());
        lines.push("      id: { type: INTEGER, primary_key: true }".into());
        for (c, hint) in columns {
            match hint {
                Some(h) => {
                    let prefix = format!("      {c}: {{ type: TEXT, renamed_from: ");
                    places.push(format!("{}:{}", lines.len() + 1, prefix.len() + 1));
                    lines.push(format!("{prefix}{h} }}"));
                }
                None => lines.push(format!("      {c}: {{ type: TEXT }}")),
            }
        }
    }
    (lines.join("\n") + "\n", places)
}

/// A project whose live database has the tables `(name, columns)`, one row each.
fn project(live: &[(&str, &[&str])]) -> tempfile::TempDir {
    let dir = empty_project();
    let conn = Connection::open(dir.path().join("db.sqlite")).unwrap();
    for (t, columns) in live {
        let cols: Vec<String> = columns.iter().map(|c| format!(", \"{c}\" TEXT")).collect();
        conn.execute_batch(&format!(
            "CREATE TABLE \"{t}\" (id INTEGER PRIMARY KEY{}); INSERT INTO \"{t}\" (id) VALUES (1);",
            cols.concat()
        ))
        .unwrap();
        for c in *columns {
            conn.execute(
                &format!("UPDATE \"{t}\" SET \"{c}\" = ?1"),
                [format!("{t}.{c}")],
            )
            .unwrap();
        }
    }
    dir
}

/// `plan` and `sync` both refuse with exit 1, the message holding every one of `needles`,
/// and the database is as it was.
fn refused(dir: &Path, schema: &str, needles: &[String]) -> Result<(), TestCaseError> {
    std::fs::write(dir.join("schema/s.yaml"), schema).unwrap();
    let before = state(dir);
    for args in [&["plan"][..], &["sync", "--yes", "--allow-destructive"][..]] {
        let err = fails_in(dir, args, 1);
        for n in needles {
            prop_assert!(err.contains(n.as_str()), "{:?}: {} not in {}", args, n, err);
        }
    }
    prop_assert_eq!(state(dir), before);
    Ok(())
}

/// A name unlike the others ignoring case, in a random case.
fn names() -> impl Strategy<Value = (String, String, String)> {
    ("[a-z]{1,6}", "[a-z]{1,6}", "[a-z]{1,6}", any::<[bool; 3]>())
        .prop_filter("distinct, not id", |(a, b, c, _)| {
            a != b && b != c && a != c && ![a, b, c].iter().any(|n| *n == "id")
        })
        .prop_map(|(a, b, c, up)| {
            let case = |s: String, u: bool| {
                if u {
                    let mut cs = s.chars();
                    cs.next()
                        .map(|f| f.to_ascii_uppercase().to_string() + cs.as_str())
                        .unwrap()
                } else {
                    s
                }
            };
            (case(a, up[0]), case(b, up[1]), case(c, up[2]))
        })
}

/// The hint's old name as written: the live name in another case (names ignore case).
fn respelled(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_lowercase() {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Random names, each contradiction in turn (a column, a table), with the old name in
    /// either case: refused at the hint's place, nothing changed.
    #[test]
    fn contradictory_hints_are_refused_and_change_nothing((a, b, c) in names(), kind in 0usize..4, respell in any::<bool>()) {
        let old_a = if respell { respelled(&a) } else { a.clone() };
        match kind {
            // The column `a` is still declared, and `c` is renamed from it.
            0 => {
                let dir = project(&[("t", &[a.as_str(), b.as_str()])]);
                let (s, places) = yaml(&[("t", None, vec![(&a, None), (&b, None), (&c, Some(&old_a))])]);
                refused(dir.path(), &s, &[
                    format!("s.yaml:{}: column \"t\".\"{c}\": renamed_from \"{old_a}\", but column \"t\".\"{old_a}\" is still declared", places[0]),
                ])?;
            }
            // The live table has both `a` and `b`; only `b`, renamed from `a`, is declared.
            1 => {
                let dir = project(&[("t", &[a.as_str(), b.as_str()])]);
                let (s, places) = yaml(&[("t", None, vec![(&b, Some(&old_a))])]);
                refused(dir.path(), &s, &[
                    format!("s.yaml:{}: column \"t\".\"{b}\": renamed_from \"{old_a}\", but \"t\" has both columns \"{old_a}\" and \"{b}\"", places[0]),
                ])?;
            }
            // The table `a` is still declared, and `c` is renamed from it.
            2 => {
                let dir = project(&[(a.as_str(), &["v"])]);
                let (s, places) = yaml(&[(&a, None, vec![("v", None)]), (&c, Some(&old_a), vec![("v", None)])]);
                refused(dir.path(), &s, &[
                    format!("s.yaml:{}: table \"{c}\": renamed_from \"{old_a}\", but table \"{old_a}\" is still declared", places[0]),
                ])?;
            }
            // Both tables `a` and `b` exist live; only `b`, renamed from `a`, is declared.
            _ => {
                let dir = project(&[(a.as_str(), &["v"]), (b.as_str(), &["v"])]);
                let (s, places) = yaml(&[(&b, Some(&old_a), vec![("v", None)])]);
                refused(dir.path(), &s, &[
                    format!("s.yaml:{}: table \"{b}\": renamed_from \"{old_a}\", but both tables \"{old_a}\" and \"{b}\" exist", places[0]),
                ])?;
            }
        }
    }
}

#[test]
fn chains_swaps_and_case_only_hints_stay_valid() {
    // A chain c <- b <- a where b and c are declared with hints: planned, then a no-op once
    // made (b and c both exist then, but b is the chain's next link).
    let dir = project(&[("t", &["a", "b"])]);
    let (s, _) = yaml(&[("t", None, vec![("b", Some("a")), ("c", Some("b"))])]);
    std::fs::write(dir.path().join("schema/s.yaml"), &s).unwrap();
    ok_in(dir.path(), &["sync", "--yes"]);
    let conn = Connection::open(dir.path().join("db.sqlite")).unwrap();
    let row: (String, String) = conn
        .query_row("SELECT b, c FROM t", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    assert_eq!(row, ("t.a".to_string(), "t.b".to_string()));
    assert!(ok_in(dir.path(), &["plan"]).contains("nothing to do"));
    // A swap: both names are declared, each renamed from the other.
    let dir = project(&[("t", &["a", "b"])]);
    let (s, _) = yaml(&[("t", None, vec![("a", Some("b")), ("b", Some("a"))])]);
    std::fs::write(dir.path().join("schema/s.yaml"), &s).unwrap();
    ok_in(dir.path(), &["sync", "--yes"]);
    // A case-only hint renames nothing (SQLite treats both spellings as one name).
    let dir = project(&[("Users", &["Name"])]);
    let (s, _) = yaml(&[("users", Some("Users"), vec![("name", Some("Name"))])]);
    std::fs::write(dir.path().join("schema/s.yaml"), &s).unwrap();
    assert!(ok_in(dir.path(), &["plan"]).contains("nothing to do"));
}
