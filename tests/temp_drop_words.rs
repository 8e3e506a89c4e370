//! The destructive gate lets a migration's own TEMP table go: a migration that fills a TEMP
//! table (named like main's table or not, in any case) from main's rows and drops it, or drops
//! a column of it, however the statement spells the name (`temp.x`, unqualified, `IF EXISTS`,
//! after a rename), loses nothing the database keeps (the rows end with the connection
//! anyway) and runs without --allow-destructive (h21_05, h22_05). A drop of main's table in
//! the same migration is still refused, named as main's, and nothing changes.

mod common;

use std::path::Path;

use proptest::prelude::*;
use rusqlite::Connection;

/// A fresh project whose V1 made main's table `t` with 3 rows.
fn project(t: &str) -> tempfile::TempDir {
    let dir = common::empty_project();
    let q = schemactl::sql::quote_ident(t);
    std::fs::write(
        dir.path().join("migrations/V1__init.sql"),
        format!("CREATE TABLE {q} (id INTEGER PRIMARY KEY, v TEXT, w INTEGER);\n"),
    )
    .unwrap();
    common::ok_in(dir.path(), &["apply", "--yes"]);
    Connection::open(dir.path().join("db.sqlite"))
        .unwrap()
        .execute_batch(&format!(
            "INSERT INTO {q} (v, w) VALUES ('a1', 1), ('a2', 2), ('a3', 3)"
        ))
        .unwrap();
    dir
}

fn version(dir: &Path) -> i64 {
    Connection::open(dir.join("db.sqlite"))
        .unwrap()
        .query_row("SELECT max(version) FROM _schemactl_history", [], |r| {
            r.get(0)
        })
        .unwrap()
}

fn name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_]{0,5}".prop_filter("no keyword", |n| {
        !schemactl::sql::is_keyword(n) && !n.starts_with("sqlite")
    })
}

/// `t` in a random case.
fn spelled(t: &str, upper: &[bool]) -> String {
    t.chars()
        .zip(upper.iter().cycle())
        .map(|(c, u)| if *u { c.to_ascii_uppercase() } else { c })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn a_temp_tables_drop_runs_and_mains_is_refused_as_mains(
        t in name(),
        upper in proptest::collection::vec(any::<bool>(), 1..4),
        shadowing in any::<bool>(),
        make in 0..3usize,
        renamed in any::<bool>(),
        drop in 0..4usize,
        main_too in any::<bool>(),
    ) {
        let dir = project(&t);
        // The TEMP table: main's name in another case, or another name.
        let x = if shadowing { spelled(&t, &upper) } else { format!("{t}_s") };
        let made = match make {
            0 => format!("CREATE TEMP TABLE {x} AS SELECT * FROM main.{t};"),
            1 => format!("CREATE TEMPORARY TABLE {x} AS SELECT * FROM main.{t};"),
            _ => format!("CREATE TABLE temp.{x} AS SELECT * FROM main.{t};"),
        };
        let (rename, d) = if renamed {
            (format!("ALTER TABLE {x} RENAME TO {x}_r;"), format!("{x}_r"))
        } else {
            (String::new(), x.clone())
        };
        let dropping = match drop {
            0 => format!("DROP TABLE temp.{d};"),
            1 => format!("DROP TABLE {d};"),
            2 => format!("DROP TABLE IF EXISTS {d};"),
            _ => format!("ALTER TABLE {d} DROP COLUMN w;"),
        };
        let main_drop = if main_too { format!("DROP TABLE main.{t};") } else { String::new() };
        let sql = format!("{made}\n{rename}\n{dropping}\n{main_drop}\n");
        std::fs::write(dir.path().join("migrations/V2__scratch.sql"), &sql).unwrap();
        let out = common::schemactl(dir.path(), &["apply", "--yes"]);
        let text = format!("{}{}", common::stdout(&out), common::stderr(&out));
        prop_assert!(!text.contains("drops TEMP") && !text.contains("of TEMP table"), "{}\n{}", sql, text);
        if !main_too {
            prop_assert_eq!(out.status.code(), Some(0), "{}\n{}", sql, text);
            prop_assert_eq!(version(dir.path()), 2, "{}\n{}", sql, text);
            let rows: i64 = Connection::open(dir.path().join("db.sqlite"))
                .unwrap()
                .query_row(&format!("SELECT count(*) FROM main.{}", schemactl::sql::quote_ident(&t)), [], |r| r.get(0))
                .unwrap();
            prop_assert_eq!(rows, 3);
            return Ok(());
        }
        prop_assert_eq!(out.status.code(), Some(1), "{}\n{}", sql, text);
        let main_said = format!("drops table \"{t}\" with 3 row(s)");
        prop_assert!(text.contains(&main_said), "{}\n{}", sql, text);
        prop_assert_eq!(text.matches("drops ").count(), 1, "{}\n{}", sql, text);
        prop_assert_eq!(version(dir.path()), 1, "{}\n{}", sql, text);
    }
}
