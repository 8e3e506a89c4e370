//! The proof on real SQLite databases: it passes what the migrations describe and catches a
//! rewritten value, a swapped copy, a wrong conversion and a new column that does not hold
//! its default.

use proptest::prelude::*;
use rusqlite::Connection;

use super::Proof;

fn db(sql: &str) -> Connection {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(sql).unwrap();
    conn
}

/// Runs `sql` between the proof's two halves, in a transaction rolled back at the end.
fn prove(conn: &Connection, sql: &str) -> Result<String, String> {
    conn.execute_batch("BEGIN").unwrap();
    let result = (|| {
        let proof = Proof::prepare(conn, &[sql]).map_err(|e| e.to_string())?;
        conn.execute_batch(sql).map_err(|e| e.to_string())?;
        proof.verify(conn).map_err(|e| e.to_string())
    })();
    conn.execute_batch("ROLLBACK").unwrap();
    result
}

const T: &str = "CREATE TABLE t (id TEXT PRIMARY KEY, a TEXT, b INTEGER, n);
    INSERT INTO t VALUES ('x', 'one', 1, 1.5), ('y', 'two', 2, NULL), ('z', 'three', 3, x'00');
    CREATE TABLE u (k INTEGER PRIMARY KEY, v TEXT);
    INSERT INTO u VALUES (1, 'u1'), (2, 'u2');";

/// The rebuild schemactl generates: a new table, the copy by name with the rowid, the swap.
fn rebuild(new_columns: &str, copy: &str) -> String {
    format!(
        "CREATE TABLE _schemactl_new_t ({new_columns});
         INSERT INTO _schemactl_new_t {copy} FROM t;
         DROP TABLE t;
         ALTER TABLE _schemactl_new_t RENAME TO t;"
    )
}

#[test]
fn a_faithful_rebuild_is_proven() {
    let conn = db(T);
    let sql = rebuild(
        "id TEXT PRIMARY KEY, a TEXT NOT NULL, b INTEGER CHECK (b > 0), n",
        "(rowid, id, a, b, n) SELECT rowid, id, a, b, n",
    );
    let line = prove(&conn, &sql).unwrap();
    assert_eq!(line, "rows: proven row by row (1 table(s), 3 row(s))");
}

#[test]
fn a_rebuild_that_leaves_a_column_behind_names_it() {
    let conn = db(T);
    let sql = rebuild(
        "id TEXT PRIMARY KEY, a TEXT NOT NULL, b INTEGER CHECK (b > 0)",
        "(rowid, id, a, b) SELECT rowid, id, a, b",
    );
    let line = prove(&conn, &sql).unwrap();
    assert_eq!(
        line,
        "rows: proven row by row (1 table(s), 3 row(s)); dropped by the migrations: \"t\".\"n\""
    );
}

#[test]
fn an_update_inside_a_rebuild_is_caught_with_its_column_and_key() {
    let conn = db(T);
    let sql = "CREATE TABLE _schemactl_new_t (id TEXT PRIMARY KEY, a TEXT, b INTEGER, n);
         INSERT INTO _schemactl_new_t (rowid, id, a, b, n) SELECT rowid, id, a, b, n FROM t;
         UPDATE _schemactl_new_t SET b = b + 1 WHERE id = 'y';
         DROP TABLE t;
         ALTER TABLE _schemactl_new_t RENAME TO t;";
    let e = prove(&conn, sql).unwrap_err();
    assert_eq!(
        e,
        "row proof: table \"t\": column \"b\" does not hold the values the migrations keep; rows by rowid: 2"
    );
}

#[test]
fn a_copy_that_swaps_two_columns_is_caught() {
    let conn = db(T);
    let sql = rebuild(
        "id TEXT PRIMARY KEY, a TEXT, b TEXT, n",
        "(rowid, id, a, b, n) SELECT rowid, id, b, a, n",
    );
    let e = prove(&conn, &sql).unwrap_err();
    assert!(
        e.starts_with("row proof: table \"t\": column \"a\", column \"b\" do not hold"),
        "{e}"
    );
    assert!(e.ends_with("rows by rowid: 1, 2, 3"), "{e}");
}

#[test]
fn a_copy_that_loses_rowids_is_caught_and_named_by_rowid() {
    let conn = db(T);
    // The rowids are not copied: rows renumber (here in reverse order of id).
    let sql = rebuild(
        "id TEXT PRIMARY KEY, a TEXT, b INTEGER, n",
        "(id, a, b, n) SELECT id, a, b, n FROM (SELECT * FROM t ORDER BY id DESC)",
    )
    .replace(" FROM t;", ";");
    // The same rowids, holding other rows: 'x' and 'z' swapped places, 'y' kept its rowid.
    let e = prove(&conn, &sql).unwrap_err();
    assert_eq!(
        e,
        "row proof: table \"t\": column \"id\", column \"a\", column \"b\", column \"n\" do not hold the values the migrations keep; rows by rowid: 1, 3"
    );
}

#[test]
fn a_conversion_is_what_sqlite_affinity_makes_and_nothing_else() {
    let conn =
        db("CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('12'), ('abc'), ('1.0'), (' 7 ');");
    // TEXT -> INTEGER: the copy lets the new affinity convert '12' and '1.0' and keep 'abc'.
    let faithful = rebuild("v INTEGER", "(rowid, v) SELECT rowid, v");
    assert!(prove(&conn, &faithful).is_ok());
    // CAST turns 'abc' into 0: not the declared conversion.
    let cast = rebuild("v INTEGER", "(rowid, v) SELECT rowid, CAST(v AS INTEGER)");
    let e = prove(&conn, &cast).unwrap_err();
    assert!(
        e.contains("column \"v\" does not hold the values (or conversions)"),
        "{e}"
    );
    assert!(e.ends_with("rows by rowid: 2"), "{e}");
}

#[test]
fn renames_follow_the_alter_statements() {
    let conn = db(T);
    let ok = "ALTER TABLE t RENAME COLUMN a TO tmp; ALTER TABLE t RENAME COLUMN b TO a;
              ALTER TABLE t RENAME COLUMN tmp TO b; ALTER TABLE t RENAME TO t2;";
    assert!(prove(&conn, ok).is_ok());
}

#[test]
fn a_new_column_must_hold_its_default() {
    let conn = db(T);
    assert!(prove(&conn, "ALTER TABLE t ADD COLUMN c TEXT DEFAULT 5").is_ok());
    // A trigger on the new table rewrites the new column as the copy runs.
    let sql = "CREATE TABLE _schemactl_new_t (id TEXT PRIMARY KEY, a TEXT, b INTEGER, n, c TEXT DEFAULT 'd');
         CREATE TRIGGER tr AFTER INSERT ON _schemactl_new_t WHEN new.b = 3
           BEGIN UPDATE _schemactl_new_t SET c = 'x' WHERE rowid = new.rowid; END;
         INSERT INTO _schemactl_new_t (rowid, id, a, b, n) SELECT rowid, id, a, b, n FROM t;
         DROP TRIGGER tr; DROP TABLE t; ALTER TABLE _schemactl_new_t RENAME TO t;";
    let e = prove(&conn, sql).unwrap_err();
    assert_eq!(
        e,
        "row proof: table \"t\": new column \"c\" does not hold its default 'd'; rows by rowid: 3"
    );
}

#[test]
fn hand_written_data_changes_are_left_to_the_migration() {
    let conn = db(T);
    // The backfill of a new column, and rows deleted on purpose: not proven, not refused.
    let line = prove(
        &conn,
        "ALTER TABLE t ADD COLUMN c TEXT; UPDATE t SET c = 'general' WHERE c IS NULL; DELETE FROM u WHERE k = 1;",
    )
    .unwrap();
    assert_eq!(
        line,
        "rows: proven row by row (1 table(s), 3 row(s)); not proven: \"u\" (its rows change on purpose)"
    );
    // An UPDATE of a kept column of an existing table is the migration's own change.
    assert!(prove(&conn, "UPDATE t SET a = upper(a)").is_ok());
}

#[test]
fn sql_it_cannot_describe_still_proves_the_tables_it_does_not_name() {
    let conn = db(T);
    let line = prove(
        &conn,
        "SAVEPOINT sp; DELETE FROM t WHERE 0 IN (SELECT 1); RELEASE sp",
    )
    .unwrap();
    assert_eq!(
        line,
        "rows: proven row by row (1 table(s), 2 row(s)); not proven: \"t\" (its rows change on purpose)"
    );
    // A `WITH` prefix is read now: the DELETE after it is described, and u, which it does not
    // name, needs no proof.
    let line = prove(
        &conn,
        "WITH g AS (SELECT 1) DELETE FROM t WHERE 0 IN (SELECT * FROM g)",
    )
    .unwrap();
    assert_eq!(
        line,
        "rows: proven row by row (0 table(s), 0 row(s)); not proven: \"t\" (its rows change on purpose)"
    );
}

#[test]
fn tables_without_rowid_are_matched_by_primary_key() {
    let conn = db(
        "CREATE TABLE w (a TEXT, b INTEGER, c, PRIMARY KEY (a, b)) WITHOUT ROWID;
         INSERT INTO w VALUES ('p', 1, 'x'), ('q', 2, 'y');",
    );
    let ok = "CREATE TABLE _n (a TEXT, b INTEGER, c, d DEFAULT 0, PRIMARY KEY (a, b)) WITHOUT ROWID;
              INSERT INTO _n (a, b, c) SELECT a, b, c FROM w; DROP TABLE w; ALTER TABLE _n RENAME TO w;";
    assert!(prove(&conn, ok).is_ok());
    let bad = ok.replace(
        "SELECT a, b, c FROM w",
        "SELECT a, b, c FROM w WHERE a = 'p'",
    );
    let e = prove(&conn, &bad).unwrap_err();
    assert_eq!(
        e,
        "row proof: table \"w\": 2 row(s) before, 1 after; rows by (\"a\", \"b\"): 'q',2"
    );
}

#[test]
fn a_generated_column_made_regular_keeps_its_values() {
    let conn = db(
        "CREATE TABLE g (a INTEGER, b INTEGER GENERATED ALWAYS AS (a * 2) VIRTUAL);
         INSERT INTO g (a) VALUES (1), (2);",
    );
    let keeps = "CREATE TABLE _n (a INTEGER, b INTEGER); INSERT INTO _n (rowid, a, b) SELECT rowid, a, b FROM g;
                 DROP TABLE g; ALTER TABLE _n RENAME TO g;";
    assert!(prove(&conn, keeps).is_ok());
    // The copy that leaves the former generated column out sets it to NULL.
    let loses = keeps.replace(
        "(rowid, a, b) SELECT rowid, a, b",
        "(rowid, a) SELECT rowid, a",
    );
    let e = prove(&conn, &loses).unwrap_err();
    assert!(e.contains("column \"b\" does not hold"), "{e}");
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("NULL".to_string()),
        any::<i64>().prop_map(|i| i.to_string()),
        (-1e6f64..1e6).prop_map(|f| format!("{f:?}")),
        "[ 0-9.eE+-]{0,8}".prop_map(|s| format!("'{s}'")),
        "[a-z]{0,4}".prop_map(|s| format!("'{s}'")),
        proptest::collection::vec(any::<u8>(), 0..4).prop_map(|b| format!(
            "x'{}'",
            b.iter().map(|x| format!("{x:02x}")).collect::<String>()
        )),
    ]
}

fn declared() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "",
        "INTEGER",
        "TEXT",
        "BLOB",
        "REAL",
        "NUMERIC",
        "VARCHAR(3)",
        "FLOAT",
        "BOOLEAN",
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Any change of declared type, copied as schemactl copies, is proven (the conversion is
    /// SQLite's own); changing any one stored value afterwards is caught and named.
    #[test]
    fn conversions_pass_and_one_changed_value_is_caught(
        values in proptest::collection::vec(value(), 1..8),
        from in declared(),
        to in declared(),
        victim in any::<prop::sample::Index>(),
    ) {
        let conn = db(&format!("CREATE TABLE t (k INTEGER PRIMARY KEY, v {from})"));
        for (i, v) in values.iter().enumerate() {
            conn.execute_batch(&format!("INSERT INTO t VALUES ({}, {v})", i + 1)).unwrap();
        }
        let copy = format!(
            "CREATE TABLE _n (k INTEGER PRIMARY KEY, v {to}); INSERT INTO _n (k, v) SELECT k, v FROM t;
             DROP TABLE t; ALTER TABLE _n RENAME TO t;"
        );
        prop_assert!(prove(&conn, &copy).is_ok(), "{:?}", prove(&conn, &copy));
        let k = victim.index(values.len()) + 1;
        let changed = format!(
            "CREATE TABLE _n (k INTEGER PRIMARY KEY, v {to}); INSERT INTO _n (k, v) SELECT k, v FROM t;
             UPDATE _n SET v = CASE WHEN v IS NULL THEN 'was null' ELSE NULL END WHERE k = {k};
             DROP TABLE t; ALTER TABLE _n RENAME TO t;"
        );
        let e = prove(&conn, &changed).unwrap_err();
        prop_assert!(e.ends_with(&format!("rows by (\"k\"): {k}")) || e.ends_with(&format!("rows by rowid: {k}")), "{}", e);
    }
}

/// A hand-written data change on `table`, for [`deliberate_changes_around_a_rebuild_are_left_to_the_migration`].
fn dml(kind: usize, table: &str) -> String {
    let (key, col) = if table == "t" {
        ("id", "a")
    } else {
        ("k", "v")
    };
    let key_value = if table == "t" { "'y'" } else { "2" };
    match kind {
        0 => format!("DELETE FROM {table} WHERE {key} = {key_value};"),
        1 => format!("UPDATE {table} SET {col} = upper({col}) || '!';"),
        _ if table == "t" => "INSERT INTO t (id, a, b) VALUES ('new', 'n', 9);".into(),
        _ => "INSERT INTO u (k, v) VALUES (9, 'n');".into(),
    }
}

#[test]
fn a_delete_or_update_after_a_rebuild_is_left_to_the_migration() {
    // h7_06: the DELETE after the rebuild of the same table was refused ("3 row(s) before,
    // 2 after"), the UPDATE too ("column "a" does not hold ...").
    let conn = db(T);
    let copy = rebuild(
        "id TEXT PRIMARY KEY, a TEXT, b INTEGER, n, c TEXT DEFAULT 'd'",
        "(rowid, id, a, b, n) SELECT rowid, id, a, b, n",
    );
    // The rows the DELETE leaves are held to their values, one by one (h26_02).
    let line = prove(&conn, &format!("{copy}\nDELETE FROM t WHERE id = 'y';")).unwrap();
    assert_eq!(line, "rows: proven row by row (1 table(s), 2 row(s))");
    let line = prove(&conn, &format!("DELETE FROM t WHERE id = 'y';\n{copy}")).unwrap();
    assert_eq!(line, "rows: proven row by row (1 table(s), 2 row(s))");
    // The UPDATE leaves its column to the migration; every other column stays proven, so a
    // copy that swaps two others is still caught, in either order.
    for (before, after) in [
        ("", "UPDATE t SET a = upper(a);"),
        ("UPDATE t SET a = upper(a);", ""),
    ] {
        let sql = format!("{before}\n{copy}\n{after}");
        assert_eq!(
            prove(&conn, &sql).unwrap(),
            "rows: proven row by row (1 table(s), 3 row(s))"
        );
        let swapped = sql.replace("SELECT rowid, id, a, b, n", "SELECT rowid, id, a, n, b");
        let e = prove(&conn, &swapped).unwrap_err();
        assert!(e.contains("column \"b\", column \"n\" do not hold"), "{e}");
    }
    // An UPDATE inside the rebuild, before the new table takes the old one's place, is still
    // the copy's: caught.
    let inside = copy.replace(
        "DROP TABLE t;",
        "DROP TABLE t; UPDATE _schemactl_new_t SET a = 'x';",
    );
    assert!(prove(&conn, &inside).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// A DELETE, UPDATE or INSERT on the rebuilt table or on another one, before or after the
    /// rebuild (in the same file or the next): the migration passes, the changed table (or
    /// the updated column) is left to it, and every other table and column stays proven: a
    /// value the copy rewrites in a column the DML does not touch is caught.
    #[test]
    fn deliberate_changes_around_a_rebuild_are_left_to_the_migration(
        kind in 0usize..3,
        on_t in any::<bool>(),
        dml_first in any::<bool>(),
        split in any::<bool>(),
        corrupt in any::<bool>(),
    ) {
        let conn = db(T);
        let copy_b = if corrupt { "b + 1" } else { "b" };
        let copy = rebuild(
            "id TEXT PRIMARY KEY, a TEXT, b INTEGER, n",
            &format!("(rowid, id, a, b, n) SELECT rowid, id, a, {copy_b}, n"),
        );
        let change = dml(kind, if on_t { "t" } else { "u" });
        let (first, second) = if dml_first { (change.clone(), copy) } else { (copy, change.clone()) };
        conn.execute_batch("BEGIN").unwrap();
        let result = (|| {
            let files: Vec<String> = if split {
                vec![first.clone(), second.clone()]
            } else {
                vec![format!("{first}\n{second}")]
            };
            let refs: Vec<&str> = files.iter().map(String::as_str).collect();
            let proof = Proof::prepare(&conn, &refs).map_err(|e| e.to_string())?;
            for f in &files {
                conn.execute_batch(f).map_err(|e| e.to_string())?;
            }
            proof.verify(&conn).map_err(|e| e.to_string())
        })();
        conn.execute_batch("ROLLBACK").unwrap();
        // Rows inserted into or deleted from the rebuilt t: the rows it keeps are still held
        // to their values, one by one (h26_02).
        let t_changed = on_t && kind != 1;
        if corrupt {
            let e = result.unwrap_err();
            let said = if t_changed {
                "row proof: table \"t\": its rows change on purpose"
            } else {
                "row proof: table \"t\": column \"b\""
            };
            prop_assert!(e.starts_with(said), "{}", e);
        } else {
            let line = result.unwrap();
            let u_left = !on_t && kind != 1;
            let proven = match (t_changed, kind, u_left) {
                (true, 0, _) => "(1 table(s), 2 row(s))",
                (true, _, _) => "(1 table(s), 4 row(s))",
                (false, _, true) => "(1 table(s), 3 row(s))",
                (false, _, false) if on_t => "(1 table(s), 3 row(s))",
                (false, _, false) => "(2 table(s), 5 row(s))",
            };
            prop_assert!(line.starts_with(&format!("rows: proven row by row {proven}")), "{}", line);
            let left = if u_left { Some("u") } else { None };
            match left {
                Some(n) => prop_assert!(line.ends_with(&format!("not proven: \"{n}\" (its rows change on purpose)")), "{}", line),
                None => prop_assert!(!line.contains("not proven"), "{}", line),
            }
        }
    }
}

/// A new INTEGER PRIMARY KEY takes the rows' rowids: the proof holds it to them, and names
/// the rows by rowid when the copy renumbers them. A new column that does not hold its
/// default in a table with no key the migrations keep names the rows by their values.
#[test]
fn a_new_integer_primary_key_is_held_to_the_rowids() {
    let conn =
        db("CREATE TABLE t (v TEXT); INSERT INTO t (rowid, v) VALUES (5, 'five'), (10, 'ten');");
    let kept = rebuild("id INTEGER PRIMARY KEY, v TEXT", "(id, v) SELECT rowid, v");
    assert!(prove(&conn, &kept).is_ok(), "{:?}", prove(&conn, &kept));
    let renumbered = rebuild("id INTEGER PRIMARY KEY, v TEXT", "(v) SELECT v");
    let e = prove(&conn, &renumbered).unwrap_err();
    assert!(
        e.contains("rows changed identity; rows by rowid: 5, 10"),
        "{e}"
    );
    // No name reads the rowid (columns take all three), and a trigger rewrites the new
    // column as the copy runs.
    let conn = db(
        "CREATE TABLE t (rowid TEXT, _rowid_ TEXT, oid TEXT, v TEXT);
        INSERT INTO t VALUES ('r', 'rr', 'o', 'one'), ('r', 'rr', 'o', 'two');",
    );
    let sql = "CREATE TABLE _schemactl_new_t (rowid TEXT, _rowid_ TEXT, oid TEXT, v TEXT, c TEXT DEFAULT 'd');
         CREATE TRIGGER tr AFTER INSERT ON _schemactl_new_t
           BEGIN UPDATE _schemactl_new_t SET c = 'x' WHERE v = new.v; END;
         INSERT INTO _schemactl_new_t (rowid, _rowid_, oid, v) SELECT rowid, _rowid_, oid, v FROM t;
         DROP TRIGGER tr; DROP TABLE t; ALTER TABLE _schemactl_new_t RENAME TO t;";
    let e = prove(&conn, sql).unwrap_err();
    assert!(!e.contains('?'), "{e}");
    assert!(e.contains("'one'") && e.contains("'two'"), "{e}");
}

/// A column renamed into the INTEGER PRIMARY KEY (h8_07): its values become the rowids, and
/// the proof matches the rows by it, not by the rowids they had; a copy that puts the values
/// on other rows is still caught.
#[test]
fn a_column_renamed_into_the_integer_primary_key_is_matched_by_its_values() {
    let conn = db("CREATE TABLE t (n INTEGER, v TEXT);
         INSERT INTO t (rowid, n, v) VALUES (5, 100, 'a'), (10, 200, 'b'), (20, 300, 'c');");
    // The generated step's header names the rename, as a migration file's does.
    let header = "-- step 1: rebuild table t (rename column n to id, change primary key)\n";
    let renamed = format!(
        "{header}{}",
        rebuild("id INTEGER PRIMARY KEY, v TEXT", "(id, v) SELECT n, v")
    );
    assert!(
        prove(&conn, &renamed).is_ok(),
        "{:?}",
        prove(&conn, &renamed)
    );
    let swapped = format!(
        "{header}{}",
        rebuild(
            "id INTEGER PRIMARY KEY, v TEXT",
            "(id, v) SELECT n, CASE v WHEN 'a' THEN 'b' WHEN 'b' THEN 'a' ELSE v END",
        )
    );
    let e = prove(&conn, &swapped).unwrap_err();
    assert!(e.contains("rows by (\"id\"): 100, 200"), "{e}");
}
