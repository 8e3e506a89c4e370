//! Whether SQLite can still compile every view and trigger of a database: the one check that
//! the plan's proof ([`crate::plan::verify`]) and the loader (`schema check`, and every command
//! that loads `schema/`) share.
//!
//! SQLite creates a view or a trigger without resolving it, and compiles it only when it is
//! used: a trigger whose body writes a column that does not exist (`INSERT INTO t (id, c)`,
//! `UPDATE t SET c = ...`, an upsert's `DO UPDATE SET c = ...`) is created, and then fails every
//! statement that fires it. The check SQLite itself runs before an `ALTER TABLE ... RENAME`
//! resolves the expressions of a trigger's body, but not the column lists an INSERT, an UPDATE
//! or an upsert write to (see `renameResolveTrigger` in SQLite's `alter.c`), so it is not
//! enough alone. What compiles everything a body names is preparing a statement that fires the
//! trigger: SQLite codes each trigger the statement can fire when it prepares it (nothing runs).
//! So each view is prepared (`SELECT * FROM v`), and the triggers are checked with
//! `INSERT ... DEFAULT VALUES`, an `UPDATE` of every column and a `DELETE` on each table or view
//! they are on, and with the RENAME check, which also resolves a trigger an `UPDATE OF` list
//! keeps from firing. A statement that fails the same way without the triggers (an INSERT into
//! a view without an INSTEAD OF trigger) says nothing about them. When the triggers together
//! change nothing, all is well; otherwise each one is created alone (the others dropped, inside
//! a savepoint rolled back at the end) and checked the same way, so that each message is its
//! own.
//!
//! An unknown function in a view or a trigger is not an error: the application may register it
//! on its own connections. Since SQLite reports only a statement's first error, each unknown
//! function gets a stand-in on the connection checked ([`super::stand_in`]), so that what the
//! object breaks besides is still seen.

use std::collections::HashSet;

use rusqlite::Connection;

use super::stand_in::StandIns;
use super::{MaterialiseError, Object, sqlite_message};
use crate::model::{Schema, Trigger};
use crate::sql::quote_ident;

/// A view or trigger SQLite cannot compile, or the schema as a whole when SQLite's RENAME check
/// fails without naming one of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unresolved {
    /// The view or trigger; `None` for the schema as a whole.
    pub object: Option<Object>,
    /// SQLite's message.
    pub message: String,
}

impl std::fmt::Display for Unresolved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.object {
            Some(object) => write!(f, "{object}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// Returns every view and trigger of `conn`'s main schema that SQLite cannot compile, each
/// with SQLite's message, views first, each kind by name. `conn` is left as it was (the
/// triggers are dropped and created again inside a savepoint that is rolled back), but for
/// the stand-ins it registers for the functions it does not know: call it only on a scratch
/// connection of schemactl's own, never on a user's database.
pub fn unresolved(conn: &Connection) -> rusqlite::Result<Vec<Unresolved>> {
    let stand_ins = StandIns::new();
    let mut out = Vec::new();
    let views = names(conn, "view")?;
    for (view, _, _) in &views {
        let sql = format!("SELECT * FROM {} LIMIT 0", quote_ident(view));
        if let Some(message) = stand_ins.prepared(conn, &sql) {
            out.push(Unresolved {
                object: Some(Object::View(view.clone())),
                message,
            });
        }
    }
    let triggers = names(conn, "trigger")?;
    conn.execute_batch("SAVEPOINT _schemactl_resolve")?;
    // A broken view would stop the RENAME check before it reaches a trigger: it is reported
    // already, and dropped here (a trigger that reads it is then refused as reading nothing).
    let mut checked = Ok(());
    for u in &out {
        if let Some(Object::View(view)) = &u.object {
            checked = checked.and(conn.execute_batch(&format!("DROP VIEW {}", quote_ident(view))));
        }
    }
    let checked = checked.and_then(|()| triggers_alone(conn, &stand_ins, &triggers, &mut out));
    let undone = conn.execute_batch("ROLLBACK TO _schemactl_resolve; RELEASE _schemactl_resolve");
    checked.and(undone)?;
    Ok(out)
}

/// Checks the triggers (see the module header): first all together, which is enough when
/// every statement and the RENAME check give what they give without any trigger; otherwise
/// each one alone, so that each message is its own. The RENAME check's own failure without any
/// trigger is reported for the schema as a whole when no view was reported.
fn triggers_alone(
    conn: &Connection,
    stand_ins: &StandIns,
    triggers: &[(String, String, String)],
    out: &mut Vec<Unresolved>,
) -> rusqlite::Result<()> {
    // The statements that fire them, by table or view (lowercase), and what each gives.
    let mut tables: Vec<(String, Vec<String>)> = Vec::new();
    for (_, table, _) in triggers {
        let key = table.to_ascii_lowercase();
        if !tables.iter().any(|(k, _)| *k == key) {
            tables.push((key, firing(conn, table)?));
        }
    }
    let prepared = |conn: &Connection, sql: &str| stand_ins.prepared(conn, sql);
    let rename_check = |conn: &Connection| stand_ins.retried(conn, || rename_check(conn));
    let results = |conn: &Connection, tables: &[(String, Vec<String>)]| {
        tables
            .iter()
            .map(|(_, stmts)| stmts.iter().map(|s| prepared(conn, s)).collect())
            .collect::<Vec<Vec<Option<String>>>>()
    };
    let together = (results(conn, &tables), rename_check(conn)?);
    for (name, _, _) in triggers {
        conn.execute_batch(&format!("DROP TRIGGER {}", quote_ident(name)))?;
    }
    let without = (results(conn, &tables), rename_check(conn)?);
    if let Some(message) = &without.1
        && out.is_empty()
    {
        out.push(Unresolved {
            object: None,
            message: message.clone(),
        });
    }
    if together == without {
        return Ok(());
    }
    // The triggers' text keeps to this database (see db::confined).
    let _confined = crate::db::confined::Confined::new(conn);
    for (name, table, sql) in triggers {
        if let Err(e) = conn.execute_batch(sql) {
            out.push(Unresolved {
                object: Some(Object::Trigger(name.clone())),
                message: sqlite_message(&e),
            });
            continue;
        }
        let key = table.to_ascii_lowercase();
        let mut found = None;
        if let Some(i) = tables.iter().position(|(k, _)| *k == key)
            && let (Some((_, stmts)), Some(base)) = (tables.get(i), without.0.get(i))
        {
            found = stmts
                .iter()
                .zip(base)
                .filter_map(|(stmt, base)| {
                    prepared(conn, stmt).filter(|m| Some(m) != base.as_ref())
                })
                .next();
        }
        if found.is_none() {
            found = rename_check(conn)?.filter(|m| Some(m) != without.1.as_ref());
        }
        if let Some(message) = found {
            out.push(Unresolved {
                object: Some(Object::Trigger(name.clone())),
                message,
            });
        }
        conn.execute_batch(&format!("DROP TRIGGER {}", quote_ident(name)))?;
    }
    Ok(())
}

/// The name, table and SQL of every object of `kind` in the main schema, by name.
fn names(conn: &Connection, kind: &str) -> rusqlite::Result<Vec<(String, String, String)>> {
    let mut stmt = conn.prepare(
        "SELECT name, tbl_name, sql FROM main.sqlite_schema WHERE type = ?1 AND sql IS NOT NULL ORDER BY name",
    )?;
    stmt.query_map([kind], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect()
}

/// The statements that fire every trigger on `table`: an INSERT, an UPDATE of every column
/// that can be set (so every `UPDATE OF` list meets one), a DELETE.
fn firing(conn: &Connection, table: &str) -> rusqlite::Result<Vec<String>> {
    let quoted = quote_ident(table);
    let columns: Vec<String> = conn
        .prepare("SELECT name FROM pragma_table_xinfo(?1, 'main') WHERE hidden NOT IN (2, 3)")
        .and_then(|mut stmt| {
            stmt.query_map([table], |r| r.get::<_, String>(0))?
                .collect()
        })
        // A view that does not compile has no columns to read: its INSERT and DELETE still
        // fire its INSTEAD OF triggers.
        .unwrap_or_default();
    let mut out = vec![format!("INSERT INTO {quoted} DEFAULT VALUES")];
    if !columns.is_empty() {
        let set: Vec<String> = columns
            .iter()
            .map(|c| format!("{0} = {0}", quote_ident(c)))
            .collect();
        out.push(format!("UPDATE {quoted} SET {}", set.join(", ")));
    }
    out.push(format!("DELETE FROM {quoted}"));
    Ok(out)
}

/// What SQLite says of the views and triggers of `conn` when it resolves them all, as it does
/// before a `RENAME` (`error in trigger tr: no such column: new.note`); `None` when every one
/// resolves. The probe table it renames is gone afterwards, whatever the answer.
fn rename_check(conn: &Connection) -> rusqlite::Result<Option<String>> {
    const PROBE: &str = "_schemactl_resolve_probe";
    conn.execute_batch(&format!("CREATE TABLE {PROBE} (a)"))?;
    let renamed = conn.execute_batch(&format!("ALTER TABLE {PROBE} RENAME TO {PROBE}2"));
    let table = if renamed.is_ok() {
        format!("{PROBE}2")
    } else {
        PROBE.to_string()
    };
    conn.execute_batch(&format!("DROP TABLE {table}"))?;
    Ok(renamed.err().map(|e| sqlite_message(&e)))
}

/// Triggers checked per scratch database by [`compile`]: each is created and dropped once
/// there, and SQLite's catalog work per CREATE follows the database's size.
const TRIGGERS_PER_BATCH: usize = 32;

/// Checks every view and trigger of `schema` as [`unresolved`] does, in scratch databases that
/// hold what they name: one for the views, and one per batch of triggers. A trigger whose body
/// names a table the schema does not declare is not reported: it may write a table the schema
/// leaves alone (`exclude`), which only the database holds. Nor is the schema as a whole:
/// every view is prepared on its own.
pub fn compile(schema: &Schema) -> Result<Vec<Unresolved>, MaterialiseError> {
    let lower = |s: &str| s.to_ascii_lowercase();
    let objects: HashSet<String> = crate::normal::part::relation_names(schema);
    let words = |text: &str| -> HashSet<String> {
        match crate::sql::lex(text) {
            Ok(tokens) => tokens
                .iter()
                // Names in every spelling (`FROM 'a'`): over-reporting is safe.
                .filter_map(|t| t.name())
                .map(lower)
                .filter(|w| objects.contains(w))
                .collect(),
            // Unlexable text names nothing we can see: take everything (SQLite will refuse it
            // anyway).
            Err(_) => objects.clone(),
        }
    };
    let view_words: Vec<(String, HashSet<String>)> = schema
        .views
        .iter()
        .map(|v| (lower(&v.name), words(v.select.as_str())))
        .collect();
    // What `names` reach through the views among them, to any depth.
    let closed = |mut names: HashSet<String>| {
        loop {
            let before = names.len();
            for (view, words) in &view_words {
                if names.contains(view) {
                    names.extend(words.iter().cloned());
                }
            }
            if names.len() == before {
                return names;
            }
        }
    };
    let part = |names: &HashSet<String>, triggers: &[Trigger]| Schema {
        tables: schema
            .tables
            .iter()
            .filter(|t| names.contains(&lower(&t.name)))
            .cloned()
            .collect(),
        views: schema
            .views
            .iter()
            .filter(|v| names.contains(&lower(&v.name)))
            .cloned()
            .collect(),
        triggers: triggers.to_vec(),
        virtual_tables: schema
            .virtual_tables
            .iter()
            .filter(|v| names.contains(&lower(&v.name)))
            .cloned()
            .collect(),
    };
    let check = |part: &Schema| -> Result<Vec<Unresolved>, MaterialiseError> {
        let conn = super::create_in_memory(part)?;
        unresolved(&conn).map_err(|e| MaterialiseError {
            object: Object::Table(String::new()),
            sql: String::new(),
            message: sqlite_message(&e),
        })
    };
    let mut out = Vec::new();
    if !schema.views.is_empty() {
        let names = closed(schema.views.iter().map(|v| lower(&v.name)).collect());
        out.extend(check(&part(&names, &[]))?);
    }
    for batch in schema.triggers.chunks(TRIGGERS_PER_BATCH) {
        let mut names = HashSet::new();
        for t in batch {
            names.insert(lower(&t.table));
            names.extend(words(t.sql.as_str()));
        }
        let names = closed(names);
        out.extend(
            check(&part(&names, batch))?
                .into_iter()
                .filter(|u| matches!(u.object, Some(Object::Trigger(_))))
                .filter(|u| !u.message.starts_with("no such table")),
        );
    }
    out.retain(|u| u.object.is_some());
    Ok(out)
}

#[cfg(test)]
mod tests {
    //! Each broken view and trigger is reported with its own message, whatever shares its
    //! table; what works is not reported; the database is left as it was.

    use rusqlite::Connection;

    use super::{Object, unresolved};

    #[test]
    fn each_object_gets_its_own_message() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, d TEXT);
             CREATE TABLE u (id INTEGER PRIMARY KEY, c TEXT);
             CREATE VIEW w AS SELECT id, d FROM t;
             CREATE VIEW bad_view AS SELECT nope FROM t;
             CREATE TRIGGER a_ins AFTER INSERT ON u BEGIN INSERT INTO t (id, c) VALUES (new.id, 1); END;
             CREATE TRIGGER b_ins AFTER INSERT ON u BEGIN UPDATE t SET q = 1; END;
             CREATE TRIGGER c_ok AFTER INSERT ON u BEGIN INSERT INTO t (id, d) VALUES (new.id, new.c); END;
             CREATE TRIGGER d_upd AFTER UPDATE OF gone ON u BEGIN SELECT new.zz; END;
             CREATE TRIGGER e_del AFTER DELETE ON t BEGIN INSERT INTO u (id) VALUES (old.id) ON CONFLICT (id) DO UPDATE SET zz = 1; END;
             CREATE TRIGGER f_view INSTEAD OF INSERT ON w BEGIN INSERT INTO t (id, zz) VALUES (new.id, 1); END;
             CREATE TRIGGER g_view_ok INSTEAD OF UPDATE ON w BEGIN UPDATE t SET d = new.d WHERE id = new.id; END;
             CREATE TRIGGER h_fn AFTER INSERT ON t BEGIN SELECT app_function(new.id); END;
             CREATE TRIGGER i_fn AFTER DELETE ON t WHEN app_when(old.id) BEGIN SELECT app_sum(id) FILTER (WHERE id > 0), app_rank() OVER () FROM t; INSERT INTO u (id, zz) VALUES (1, 1); END;
             CREATE VIEW j_fn_view AS SELECT app_fmt(d), app_fmt(nope) FROM t;",
        )
        .unwrap();
        let before: String = conn
            .query_row(
                "SELECT group_concat(sql, ';') FROM sqlite_schema",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let found: Vec<(String, String)> = unresolved(&conn)
            .unwrap()
            .into_iter()
            .map(|u| {
                let object = match u.object {
                    Some(Object::View(n) | Object::Trigger(n)) => n,
                    other => format!("{other:?}"),
                };
                (object, u.message)
            })
            .collect();
        let want = [
            ("bad_view", "no such column: nope"),
            ("j_fn_view", "no such column: nope"),
            ("a_ins", "table t has no column named c"),
            ("b_ins", "no such column: q"),
            ("d_upd", "error in trigger d_upd: no such column: new.zz"),
            ("e_del", "no such column: zz"),
            ("f_view", "table t has no column named zz"),
            ("i_fn", "table u has no column named zz"),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(o, m)| (o.to_string(), m.to_string()))
            .collect();
        assert_eq!(found, want);
        let after: String = conn
            .query_row(
                "SELECT group_concat(sql, ';') FROM sqlite_schema",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(after, before);
    }
}
