//! Property: a column dropped by a generated migration comes back, on rollback, to exactly
//! the rows it came from, whatever identifies them: a plain rowid, an INTEGER PRIMARY KEY, a
//! TEXT key holding NULLs, a WITHOUT ROWID key, with user columns named `rowid` or `_rowid_`
//! shadowing the rowid. Rows deleted after the migration stay deleted, and rows inserted after
//! it, even under a deleted row's rowid or key, get the column's default. And: a column
//! narrowed from TEXT (to INTEGER, REAL or NUMERIC) comes back with each row's original text
//! (`'007'`, not `'7'`), values written since as written (64 and 48 cases). After a VACUUM
//! (which renumbers the rowids of a table without an INTEGER PRIMARY KEY) a value comes back
//! to its own row or not at all, never to another row.

use proptest::prelude::*;
use rusqlite::Connection;
use schemactl::plan::Direction;

#[derive(Debug, Clone, Copy)]
enum Key {
    /// No declared key: the rowid.
    Rowid,
    /// `id INTEGER PRIMARY KEY`.
    Integer,
    /// `id TEXT PRIMARY KEY`, NULLs allowed (SQLite's legacy rule).
    NullableText,
    /// `id TEXT NOT NULL PRIMARY KEY`, WITHOUT ROWID.
    WithoutRowid,
}

#[derive(Debug, Clone)]
struct Case {
    key: Key,
    /// How many of `rowid`, `_rowid_` are user columns.
    shadows: usize,
    /// The dropped column is the last one (reverse: ADD COLUMN) or not (reverse: a rebuild).
    last: bool,
    /// The dropped column's default.
    default: Option<&'static str>,
    /// Per original row: its key is NULL (NullableText only).
    null_keys: Vec<bool>,
    /// Per original row: deleted after the migration.
    deleted: Vec<bool>,
    /// Per deleted row: a new row reuses its rowid or key.
    reuse: Vec<bool>,
    /// VACUUM runs before the rollback (it renumbers the rowids of a table without an
    /// INTEGER PRIMARY KEY).
    vacuum: bool,
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop_oneof![
            Just(Key::Rowid),
            Just(Key::Integer),
            Just(Key::NullableText),
            Just(Key::WithoutRowid)
        ],
        0usize..=2,
        any::<bool>(),
        prop_oneof![Just(None), Just(Some("'dflt'"))],
        1usize..10,
        any::<bool>(),
    )
        .prop_flat_map(|(key, shadows, last, default, n, vacuum)| {
            (
                (Just(key), Just(vacuum)),
                Just(shadows),
                Just(last),
                Just(default),
                prop::collection::vec(any::<bool>(), n),
                prop::collection::vec(any::<bool>(), n),
                prop::collection::vec(any::<bool>(), n),
            )
        })
        .prop_map(
            |((key, vacuum), shadows, last, default, null_keys, deleted, reuse)| Case {
                key,
                vacuum,
                shadows,
                last,
                default,
                null_keys,
                deleted,
                reuse,
            },
        )
}

impl Case {
    fn ddl(&self, with_v: bool) -> String {
        let mut cols = Vec::new();
        match self.key {
            Key::Rowid => {}
            Key::Integer => cols.push("id INTEGER PRIMARY KEY".to_string()),
            Key::NullableText => cols.push("id TEXT PRIMARY KEY".to_string()),
            Key::WithoutRowid => cols.push("id TEXT NOT NULL PRIMARY KEY".to_string()),
        }
        for shadow in ["rowid", "_rowid_"].iter().take(self.shadows) {
            cols.push(format!("\"{shadow}\" INTEGER"));
        }
        let v = format!(
            "v TEXT{}",
            self.default
                .map_or(String::new(), |d| format!(" DEFAULT {d}"))
        );
        if with_v && !self.last {
            cols.push(v.clone());
        }
        cols.push("tag TEXT NOT NULL".into());
        if with_v && self.last {
            cols.push(v);
        }
        let tail = if matches!(self.key, Key::WithoutRowid) {
            " WITHOUT ROWID"
        } else {
            ""
        };
        format!("CREATE TABLE t ({}){tail};", cols.join(", "))
    }

    fn key_of(&self, i: usize) -> String {
        match self.key {
            Key::Rowid => String::new(),
            Key::Integer => format!("{}", i + 1),
            Key::NullableText if self.null_keys[i] => "NULL".into(),
            Key::NullableText | Key::WithoutRowid => format!("'k{i}'"),
        }
    }

    fn has_key(&self) -> bool {
        !matches!(self.key, Key::Rowid)
    }

    /// Inserts a row: its key (when the table has one), the shadow columns (values that
    /// look like other rows' rowids), its tag, and `v` when given.
    fn insert(&self, conn: &Connection, key: &str, tag: &str, v: Option<&str>) {
        let mut cols = Vec::new();
        let mut vals = Vec::new();
        if self.has_key() {
            cols.push("id".to_string());
            vals.push(key.to_string());
        }
        for (j, shadow) in ["rowid", "_rowid_"].iter().take(self.shadows).enumerate() {
            cols.push(format!("\"{shadow}\""));
            vals.push(format!("{}", 7 - j));
        }
        cols.push("tag".into());
        vals.push(format!("'{tag}'"));
        if let Some(v) = v {
            cols.push("v".into());
            vals.push(format!("'{v}'"));
        }
        conn.execute_batch(&format!(
            "INSERT INTO t ({}) VALUES ({})",
            cols.join(", "),
            vals.join(", ")
        ))
        .unwrap();
    }
}

fn schema_of(ddl: &str) -> schemactl::Schema {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(ddl).unwrap();
    schemactl::inspect(&conn).unwrap()
}

fn rows(conn: &Connection) -> Vec<(String, Option<String>)> {
    let mut stmt = conn.prepare("SELECT tag, v FROM t ORDER BY tag").unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn dropped_values_return_to_their_own_rows(case in case()) {
        let current = schema_of(&case.ddl(true));
        let desired = schema_of(&case.ddl(false));
        let changes = schemactl::diff::diff(&current, &desired, &Default::default()).unwrap();
        let plan = schemactl::plan::plan(&current, &desired, &changes);
        schemactl::migrations::check_stashable(&plan).unwrap();
        let forward = plan.migration_file("V5__drop_v", 1, Direction::Forward);
        let reverse = plan.migration_file("V5__drop_v", 1, Direction::Reverse);

        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(&case.ddl(true)).unwrap();
        let n = case.null_keys.len();
        for i in 0..n {
            case.insert(&conn, &case.key_of(i), &format!("o{i}"), Some(&format!("v{i}")));
        }
        let rowids: Vec<i64> = if matches!(case.key, Key::WithoutRowid) {
            Vec::new()
        } else {
            let mut stmt = conn.prepare("SELECT oid FROM t ORDER BY tag").unwrap();
            stmt.query_map([], |r| r.get(0)).unwrap().map(|r| r.unwrap()).collect()
        };
        conn.execute_batch(&forward).map_err(|e| TestCaseError::fail(format!("{e}\n{forward}")))?;

        // After the migration: rows deleted, some of their rowids or keys taken by new rows,
        // and a fresh row.
        let mut expected: Vec<(String, Option<String>)> = Vec::new();
        let default = case.default.map(|d| d.trim_matches('\'').to_string());
        for (i, (&deleted, &reuse)) in case.deleted.iter().zip(&case.reuse).enumerate() {
            let tag = format!("o{i}");
            if !deleted {
                expected.push((tag, Some(format!("v{i}"))));
                continue;
            }
            conn.execute("DELETE FROM t WHERE tag = ?1", [&tag]).unwrap();
            if reuse {
                let new_tag = format!("r{i}");
                if case.has_key() {
                    case.insert(&conn, &case.key_of(i), &new_tag, None);
                } else {
                    // The same rowid, explicitly, under an alias no column shadows.
                    let alias = ["rowid", "_rowid_", "oid"][case.shadows];
                    case.insert(&conn, "", &new_tag, None);
                    conn.execute_batch(&format!(
                        "UPDATE t SET {alias} = {} WHERE tag = '{new_tag}'",
                        rowids[i]
                    ))
                    .unwrap();
                }
                expected.push((new_tag, default.clone()));
            }
        }
        if case.has_key() {
            case.insert(&conn, &match case.key {
                Key::Integer => "1000".to_string(),
                _ => "'fresh'".to_string(),
            }, "zfresh", None);
        } else {
            case.insert(&conn, "", "zfresh", None);
        }
        expected.push(("zfresh".into(), default.clone()));
        expected.sort();

        // VACUUM renumbers rowids (a table without an INTEGER PRIMARY KEY): a value then
        // comes back to its own row or not at all, never to another row.
        let stable = matches!(case.key, Key::Integer | Key::WithoutRowid);
        if case.vacuum {
            conn.execute_batch("VACUUM").unwrap();
        }
        conn.execute_batch(&reverse).map_err(|e| TestCaseError::fail(format!("{e}\n{reverse}")))?;
        if case.vacuum && !stable {
            let got = rows(&conn);
            prop_assert_eq!(got.len(), expected.len());
            for ((tag, v), (want_tag, want)) in got.iter().zip(&expected) {
                prop_assert_eq!(tag, want_tag);
                prop_assert!(v == want || *v == default, "row {}: {:?}, want {:?} or the default\n{}\n{}", tag, v, want, forward, reverse);
            }
        } else {
            prop_assert_eq!(rows(&conn), expected, "{}\n{}", forward, reverse);
        }
        prop_assert_eq!(schemactl::inspect(&conn).unwrap(), current);
        let left: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_schema WHERE name LIKE '\\_schemactl%' ESCAPE '\\'", [], |r| r.get(0))
            .unwrap();
        prop_assert_eq!(left, 0, "the stash, its index and trigger are gone");
    }
}

#[test]
fn a_table_that_hides_every_rowid_alias_and_has_a_nullable_key_is_refused() {
    let with = "CREATE TABLE t (id TEXT PRIMARY KEY, rowid INT, _rowid_ INT, oid INT, v TEXT);";
    let without = "CREATE TABLE t (id TEXT PRIMARY KEY, rowid INT, _rowid_ INT, oid INT);";
    let (current, desired) = (schema_of(with), schema_of(without));
    let changes = schemactl::diff::diff(&current, &desired, &Default::default()).unwrap();
    let plan = schemactl::plan::plan(&current, &desired, &changes);
    let err = schemactl::migrations::check_stashable(&plan).unwrap_err();
    assert_eq!(
        err.to_string(),
        "table \"t\" has columns named rowid, _rowid_ and oid, which hide its rowid, and no NOT NULL primary key: a stash of its data could not find its rows again; rename one of those columns first"
    );
    // A NOT NULL key identifies the rows by itself.
    let with =
        "CREATE TABLE t (id TEXT NOT NULL PRIMARY KEY, rowid INT, _rowid_ INT, oid INT, v TEXT);";
    let without = "CREATE TABLE t (id TEXT NOT NULL PRIMARY KEY, rowid INT, _rowid_ INT, oid INT);";
    let (current, desired) = (schema_of(with), schema_of(without));
    let changes = schemactl::diff::diff(&current, &desired, &Default::default()).unwrap();
    let plan = schemactl::plan::plan(&current, &desired, &changes);
    schemactl::migrations::check_stashable(&plan).unwrap();
}

#[test]
fn a_without_rowid_table_losing_a_key_column_is_refused_naming_the_real_cause() {
    let with = "CREATE TABLE t (k TEXT NOT NULL, j TEXT NOT NULL, v TEXT, PRIMARY KEY (k, j)) WITHOUT ROWID;";
    let without = "CREATE TABLE t (j TEXT NOT NULL PRIMARY KEY, v TEXT) WITHOUT ROWID;";
    let (current, desired) = (schema_of(with), schema_of(without));
    let changes = schemactl::diff::diff(&current, &desired, &Default::default()).unwrap();
    let plan = schemactl::plan::plan(&current, &desired, &changes);
    let err = schemactl::migrations::check_stashable(&plan)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "table \"t\" is WITHOUT ROWID and the step removes or changes a column of its primary key: a WITHOUT ROWID table has no rowid, so a stash of its data could not find its rows again; change the primary key in a migration of its own first"
    );
    assert!(!err.contains("rowid, _rowid_ and oid"), "{err}");
}

/// What happens to a row after a narrowing migration.
#[derive(Debug, Clone, Copy)]
enum After {
    Kept,
    /// Written since: it keeps its new value.
    Updated(i64),
    Deleted,
}

fn narrowing_case() -> impl Strategy<Value = (Key, &'static str, Vec<(Option<String>, After)>)> {
    let value = prop_oneof![
        Just(None),
        prop::sample::select(vec![
            "007", "1.50", "12", " 5", "1e3", "0x10", "abc", "", "-0", "2.0"
        ])
        .prop_map(|s| Some(s.to_string())),
        "[0-9 .e+-]{0,5}".prop_map(Some),
    ];
    let after = prop_oneof![
        3 => Just(After::Kept),
        1 => (0i64..100).prop_map(After::Updated),
        1 => Just(After::Deleted),
    ];
    (
        prop_oneof![
            Just(Key::Rowid),
            Just(Key::Integer),
            Just(Key::NullableText),
            Just(Key::WithoutRowid)
        ],
        prop::sample::select(vec!["INTEGER", "REAL", "NUMERIC"]),
        prop::collection::vec((value, after), 1..10),
    )
}

/// A column narrowed from TEXT (to INTEGER, REAL or NUMERIC) comes back, on rollback,
/// with each row's original text, type included; a value written since stays as written;
/// a row inserted since keeps its own; a deleted row stays deleted.
fn narrowing_round_trip(
    case: (Key, &str, Vec<(Option<String>, After)>),
) -> Result<(), TestCaseError> {
    let (key, to, rows_in) = case;
    let ddl = |ty: &str| {
        let (k, tail) = match key {
            Key::Rowid => ("", ""),
            Key::Integer => ("id INTEGER PRIMARY KEY, ", ""),
            Key::NullableText => ("id TEXT PRIMARY KEY, ", ""),
            Key::WithoutRowid => ("id TEXT NOT NULL PRIMARY KEY, ", " WITHOUT ROWID"),
        };
        format!("CREATE TABLE t ({k}tag TEXT NOT NULL, v {ty}){tail};")
    };
    let current = schema_of(&ddl("TEXT"));
    let desired = schema_of(&ddl(to));
    let changes = schemactl::diff::diff(&current, &desired, &Default::default()).unwrap();
    let plan = schemactl::plan::plan(&current, &desired, &changes);
    schemactl::migrations::check_stashable(&plan).unwrap();
    let forward = plan.migration_file("V5__narrow_v", 1, Direction::Forward);
    let reverse = plan.migration_file("V5__narrow_v", 1, Direction::Reverse);

    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(&ddl("TEXT")).unwrap();
    let insert = |i: usize, tag: &str, v: &dyn rusqlite::ToSql| {
        let id: Option<String> = match key {
            Key::Rowid => None,
            Key::Integer => Some((i + 1).to_string()),
            // Every other row's key is NULL.
            Key::NullableText if i.is_multiple_of(2) => None,
            Key::NullableText | Key::WithoutRowid => Some(format!("k{i}")),
        };
        if matches!(key, Key::Rowid) {
            conn.execute(
                "INSERT INTO t (tag, v) VALUES (?1, ?2)",
                rusqlite::params![tag, v],
            )
            .unwrap();
        } else {
            conn.execute(
                "INSERT INTO t (id, tag, v) VALUES (?1, ?2, ?3)",
                rusqlite::params![id, tag, v],
            )
            .unwrap();
        }
    };
    for (i, (v, _)) in rows_in.iter().enumerate() {
        insert(i, &format!("o{i}"), v);
    }
    let snapshot = |conn: &Connection| -> Vec<(String, String, Option<String>)> {
        let mut stmt = conn
            .prepare("SELECT tag, typeof(v), CAST(v AS TEXT) FROM t ORDER BY tag")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    };
    let before = snapshot(&conn);
    conn.execute_batch(&forward)
        .map_err(|e| TestCaseError::fail(format!("{e}\n{forward}")))?;

    let mut expected = Vec::new();
    let mut written: Vec<String> = Vec::new();
    for (i, ((_, after), row)) in rows_in.iter().zip(&before).enumerate() {
        let tag = format!("o{i}");
        match after {
            After::Kept => expected.push(row.clone()),
            After::Updated(n) => {
                // Writing the value the row already holds (' 5' became 5, then 5 is
                // written) changes nothing a database could see: the original comes back.
                // Compared as stored, after the column's affinity: 1 written to a REAL
                // column that holds 1.0 is stored as 1.0, the same value.
                let stored = |conn: &Connection| -> (String, Option<String>) {
                    conn.query_row(
                        "SELECT typeof(v), quote(v) FROM t WHERE tag = ?1",
                        [&tag],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .unwrap()
                };
                let was = stored(&conn);
                conn.execute(
                    "UPDATE t SET v = ?1 WHERE tag = ?2",
                    rusqlite::params![n, tag],
                )
                .unwrap();
                let same = stored(&conn) == was;
                if same {
                    expected.push(row.clone());
                } else {
                    written.push(tag);
                }
            }
            After::Deleted => {
                conn.execute("DELETE FROM t WHERE tag = ?1", [&tag])
                    .unwrap();
            }
        }
    }
    insert(rows_in.len() + 100, "zfresh", &42i64);
    written.push("zfresh".into());
    // A value written since comes back as the narrowed column holds it, as text (42 in
    // a REAL column is 42.0, and comes back '42.0').
    for row in snapshot(&conn)
        .into_iter()
        .filter(|r| written.contains(&r.0))
    {
        expected.push((row.0, "text".into(), row.2));
    }
    expected.sort();

    conn.execute_batch(&reverse)
        .map_err(|e| TestCaseError::fail(format!("{e}\n{reverse}")))?;
    prop_assert_eq!(snapshot(&conn), expected, "{}\n{}", forward, reverse);
    prop_assert_eq!(schemactl::inspect(&conn).unwrap(), current);
    let left: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE name LIKE '\\_schemactl%' ESCAPE '\\'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    prop_assert_eq!(left, 0, "the stash is gone");
    Ok(())
}

/// Found by CI: '1' narrowed to REAL is 1.0; writing the integer 1 since stores 1.0 again,
/// the same value, so the original '1' comes back.
#[test]
fn a_write_of_the_same_stored_value_keeps_the_original() {
    narrowing_round_trip((
        Key::Rowid,
        "REAL",
        vec![(Some("1".into()), After::Updated(1))],
    ))
    .unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn narrowed_values_return_as_they_were(case in narrowing_case()) {
        narrowing_round_trip(case)?;
    }
}
