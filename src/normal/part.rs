//! The part of a schema some SQL can reach, so that SQL is replayed on that part alone.
//!
//! A migration changes only what it names, and what SQLite changes with it: the indexes and
//! triggers of a table it drops or rebuilds, the foreign keys of other tables that a table
//! rename rewrites, and the views and triggers over any of those. Replaying it on that part
//! (created in memory) and keeping the rest as it is gives the same schema as replaying it on
//! the whole one, at a cost that follows the change, not the schema.

use std::collections::{BTreeSet, HashSet};

use crate::model::Schema;

/// Every view, trigger and virtual table of `schema`: its name and the table or view it is on
/// (a trigger's), both lowercase, and its SQL text.
pub fn texts(schema: &Schema) -> impl Iterator<Item = (String, Option<String>, &str)> {
    let lower = |s: &str| s.to_ascii_lowercase();
    let views = schema
        .views
        .iter()
        .map(move |v| (lower(&v.name), None, v.select.as_str()));
    let triggers = schema
        .triggers
        .iter()
        .map(move |t| (lower(&t.name), Some(lower(&t.table)), t.sql.as_str()));
    let virtual_tables = schema
        .virtual_tables
        .iter()
        .map(move |v| (lower(&v.name), None, v.sql.as_str()));
    views.chain(triggers).chain(virtual_tables)
}

/// The names (lowercase) of the tables, views and virtual tables of `schema`: what a
/// statement can read or write by name.
pub fn relation_names<C: FromIterator<String>>(schema: &Schema) -> C {
    let lower = |s: &str| s.to_ascii_lowercase();
    schema
        .tables
        .iter()
        .map(|t| lower(&t.name))
        .chain(schema.views.iter().map(|v| lower(&v.name)))
        .chain(schema.virtual_tables.iter().map(|v| lower(&v.name)))
        .collect()
}

/// Returns the names (lowercase) of the objects of `schema` that `sql` can reach: the ones
/// it names, the tables whose foreign keys reference a table it names, and, transitively, every
/// view, trigger or virtual table that is on or mentions one of them, with everything it
/// mentions (SQLite re-checks those on a RENAME), and every view and trigger SQLite's quote fix
/// may rewrite when the SQL drops or renames a column natively. None when the text does not lex: then
/// nothing can be left out.
pub fn reach(schema: &Schema, sql: &[&str]) -> Option<BTreeSet<String>> {
    let lower = |s: &str| s.to_ascii_lowercase();
    let words = |text: &str| -> Option<BTreeSet<String>> {
        crate::sql::lex(text)
            .ok()
            .map(|tokens| tokens.iter().filter_map(|t| t.name().map(lower)).collect())
    };
    let objects: BTreeSet<String> = relation_names::<Vec<String>>(schema)
        .into_iter()
        .chain(schema.triggers.iter().map(|t| lower(&t.name)))
        .chain(
            schema
                .tables
                .iter()
                .flat_map(|t| t.indexes.iter().map(|i| lower(&i.name))),
        )
        .collect();
    let mut names = BTreeSet::new();
    for text in sql {
        let words = words(text)?;
        // SQL that writes the catalog itself can reach anything.
        if words.iter().any(|w| {
            matches!(
                w.as_str(),
                "sqlite_schema" | "sqlite_master" | "writable_schema"
            )
        }) {
            return None;
        }
        names.extend(words.into_iter().filter(|w| objects.contains(w)));
    }
    // A native DROP COLUMN or RENAME COLUMN rewrites the double-quoted strings of every view
    // and trigger of the database (see [`crate::requote`]): every one that may hold one.
    if sql.iter().any(|text| crate::requote::requotes(text)) {
        names.extend(crate::requote::candidates(schema));
    }
    // An index named: its table (DROP INDEX, REINDEX).
    for t in &schema.tables {
        if t.indexes.iter().any(|i| names.contains(&lower(&i.name))) {
            names.insert(lower(&t.name));
        }
    }
    // The tables whose foreign keys reference a table the SQL names: a RENAME of the table or
    // of one of its columns rewrites them. Only those the SQL names: a table reached otherwise
    // (mentioned by a view or trigger that is reached) is not renamed by it, so its own
    // referrers do not change (a chain of foreign keys would otherwise take the whole chain).
    let named = names.clone();
    for t in &schema.tables {
        if t.foreign_keys
            .iter()
            .any(|fk| named.contains(&lower(&fk.ref_table)))
        {
            names.insert(lower(&t.name));
        }
    }
    let dependents: Vec<(String, Option<String>, BTreeSet<String>)> = texts(schema)
        .map(|(name, on, text)| (name, on, words(text).unwrap_or_else(|| objects.clone())))
        .collect();
    loop {
        let before = names.len();
        for (name, on, words) in &dependents {
            let reached = names.contains(name)
                || on.as_ref().is_some_and(|t| names.contains(t))
                || words.iter().any(|w| names.contains(w));
            if reached {
                names.insert(name.clone());
                names.extend(on.iter().cloned());
                names.extend(words.iter().filter(|w| objects.contains(*w)).cloned());
            }
        }
        if names.len() == before {
            return Some(names);
        }
    }
}

/// The part of `schema` named in `names` (a trigger with its table).
pub fn within(schema: &Schema, names: &BTreeSet<String>) -> Schema {
    let keep = |n: &str| names.contains(&n.to_ascii_lowercase());
    Schema {
        tables: schema
            .tables
            .iter()
            .filter(|t| keep(&t.name))
            .cloned()
            .collect(),
        views: schema
            .views
            .iter()
            .filter(|v| keep(&v.name))
            .cloned()
            .collect(),
        triggers: schema
            .triggers
            .iter()
            .filter(|t| keep(&t.name) && keep(&t.table))
            .cloned()
            .collect(),
        virtual_tables: schema
            .virtual_tables
            .iter()
            .filter(|v| keep(&v.name))
            .cloned()
            .collect(),
    }
}

/// Returns `schema` with the part named in `names` replaced by `part`.
pub fn replace(schema: &Schema, names: &BTreeSet<String>, part: Schema) -> Schema {
    replace_in(schema.clone(), names, part)
}

/// [`replace`] on a schema the caller gives up, without a copy of it.
fn replace_in(mut schema: Schema, names: &BTreeSet<String>, part: Schema) -> Schema {
    let away = |n: &str| !names.contains(&n.to_ascii_lowercase());
    schema.tables.retain(|t| away(&t.name));
    schema.tables.extend(part.tables);
    schema.views.retain(|v| away(&v.name));
    schema.views.extend(part.views);
    schema.triggers.retain(|t| away(&t.name) || away(&t.table));
    schema.triggers.extend(part.triggers);
    schema.virtual_tables.retain(|v| away(&v.name));
    schema.virtual_tables.extend(part.virtual_tables);
    schema.normalize();
    schema
}

/// A schema held as another one with a part replaced ([`replace`]), without a copy of the
/// rest: what migrations produce from a live schema, as the part they reach. At thousands of
/// tables the whole would be as large as the live schema itself, for a change of one table.
#[derive(Debug, Clone)]
pub struct Replaced {
    /// The names (lowercase) of the part replaced; None when the whole schema is.
    names: Option<BTreeSet<String>>,
    /// What replaces that part, in normal form.
    part: Schema,
}

impl Replaced {
    /// The schema that is `part` where `names` are (the whole schema when `names` is None).
    pub fn new(names: Option<BTreeSet<String>>, mut part: Schema) -> Self {
        part.normalize();
        Replaced { names, part }
    }

    /// The whole schema: `start` with the part replaced.
    pub fn schema(&self, start: &Schema) -> Schema {
        match &self.names {
            Some(names) => replace(start, names, self.part.clone()),
            None => self.part.clone(),
        }
    }

    /// [`Replaced::schema`] of a `start` the caller gives up, without a copy of it.
    pub fn into_schema(self, start: Schema) -> Schema {
        match &self.names {
            Some(names) => replace_in(start, names, self.part),
            None => self.part,
        }
    }

    /// Whether `got` is [`Replaced::schema`] of `start`, compared object by object in place.
    pub fn matches(&self, start: &Schema, got: &Schema) -> bool {
        self.matches_except(start, got, &HashSet::new())
    }

    /// [`Replaced::matches`] for a `got` read without the tables named in `same` (lowercase):
    /// tables whose catalog rows are as they were when `start` was read from the same catalog,
    /// so that each is `start`'s own (see [`crate::inspect::schema_changed_since`]). Such a
    /// table outside the part is what the whole expects there; one inside it must be what the
    /// part holds.
    pub fn matches_except(&self, start: &Schema, got: &Schema, same: &HashSet<String>) -> bool {
        let within = |n: &str| {
            self.names
                .as_ref()
                .is_none_or(|ns| ns.contains(&n.to_ascii_lowercase()))
        };
        let unread = |n: &str| same.contains(&n.to_ascii_lowercase());
        // Each table left out is `start`'s: inside the part, the part must hold it as it is.
        let kept = same.iter().all(|n| match start.table(n) {
            Some(t) if within(&t.name) => self.part.table(n) == Some(t),
            Some(_) => true,
            None => false,
        });
        // As `replace` builds it: the objects of `start` left, then the part's, in the order
        // `Schema::normalize` sorts them (a stable sort by name).
        fn same_list<'a, T: PartialEq + 'a>(
            kept: impl Iterator<Item = &'a T>,
            part: impl Iterator<Item = &'a T>,
            got: &[T],
            order: impl Fn(&T, &T) -> std::cmp::Ordering,
        ) -> bool {
            let mut want: Vec<&T> = kept.chain(part).collect();
            want.sort_by(|a, b| order(a, b));
            want.len() == got.len() && want.iter().zip(got).all(|(w, g)| *w == g)
        }
        kept && same_list(
            start
                .tables
                .iter()
                .filter(|t| !within(&t.name) && !unread(&t.name)),
            self.part.tables.iter().filter(|t| !unread(&t.name)),
            &got.tables,
            |a, b| a.name.cmp(&b.name),
        ) && same_list(
            start.views.iter().filter(|v| !within(&v.name)),
            self.part.views.iter(),
            &got.views,
            |a, b| a.name.cmp(&b.name),
        ) && same_list(
            start
                .triggers
                .iter()
                .filter(|t| !within(&t.name) || !within(&t.table)),
            self.part.triggers.iter(),
            &got.triggers,
            |a, b| a.name.cmp(&b.name),
        ) && same_list(
            start.virtual_tables.iter().filter(|v| !within(&v.name)),
            self.part.virtual_tables.iter(),
            &got.virtual_tables,
            |a, b| a.name.cmp(&b.name),
        )
    }
}

#[cfg(test)]
mod tests {
    //! Replaying SQL on the part it reaches gives what replaying it on the whole schema gives,
    //! along a chain of foreign keys (where the part now stops at the first referrer).

    use rusqlite::Connection;

    use super::{Replaced, reach, replace, within};
    use crate::model::Schema;

    const CHAIN: &str = "
        CREATE TABLE t0 (id INTEGER PRIMARY KEY, name TEXT);
        CREATE TABLE t1 (id INTEGER PRIMARY KEY, name TEXT, p INTEGER REFERENCES t0(id));
        CREATE TABLE t2 (id INTEGER PRIMARY KEY, name TEXT, p INTEGER REFERENCES t1(id));
        CREATE TABLE t3 (id INTEGER PRIMARY KEY, name TEXT, p INTEGER REFERENCES t2(id));
        CREATE TABLE t4 (id INTEGER PRIMARY KEY, name TEXT, p INTEGER REFERENCES t3(id));
        CREATE TABLE t5 (id INTEGER PRIMARY KEY, name TEXT, p INTEGER REFERENCES t4(name));
        CREATE INDEX t2_name ON t2(name);
        CREATE INDEX t3_p ON t3(p);
        CREATE VIEW v3 AS SELECT t3.name, t4.id FROM t3 JOIN t4 ON t4.p = t3.id;
        CREATE VIEW v1 AS SELECT name FROM t1;
        CREATE TRIGGER t4_ins AFTER INSERT ON t4 BEGIN UPDATE t2 SET name = new.name; END;
        CREATE TRIGGER t1_del AFTER DELETE ON t1 BEGIN DELETE FROM t5; END;";

    fn replayed(start: &Schema, sql: &str) -> Schema {
        let conn = crate::normal::create_in_memory(start).unwrap();
        conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
        conn.execute_batch(sql).unwrap();
        crate::inspect(&conn).unwrap()
    }

    #[test]
    fn the_part_gives_what_the_whole_gives() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(CHAIN).unwrap();
        let schema = crate::inspect(&conn).unwrap();
        for sql in [
            "ALTER TABLE t2 RENAME TO t2b",
            "PRAGMA legacy_alter_table = ON; ALTER TABLE t2 RENAME TO t2b; PRAGMA legacy_alter_table = OFF",
            "ALTER TABLE t2 RENAME COLUMN id TO key",
            "ALTER TABLE t4 RENAME COLUMN name TO label",
            "ALTER TABLE t1 RENAME COLUMN name TO label",
            "ALTER TABLE t2 ADD COLUMN note TEXT",
            "DROP TABLE t1",
            "DROP INDEX t3_p",
            "CREATE TABLE _new_t2 (id INTEGER PRIMARY KEY, note TEXT, name TEXT, p INTEGER REFERENCES t1(id));
             INSERT INTO _new_t2 (id, name, p) SELECT id, name, p FROM t2; DROP TABLE t2;
             PRAGMA legacy_alter_table = ON; ALTER TABLE _new_t2 RENAME TO t2;
             PRAGMA legacy_alter_table = OFF; CREATE INDEX t2_name ON t2(name);",
        ] {
            let whole = replayed(&schema, sql);
            let names = reach(&schema, &[sql]).unwrap();
            let part = replace(&schema, &names, replayed(&within(&schema, &names), sql));
            assert_eq!(
                part,
                whole,
                "{sql}: {}",
                crate::normal::describe_difference(&whole, &part)
            );
        }
    }

    /// `Replaced::matches` compares in place what `replace` builds: equal exactly where the
    /// built schema is equal, for every replay above, compared with the replay itself and with
    /// every other one (which differ from it).
    #[test]
    fn a_replaced_part_matches_exactly_what_replace_builds() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(CHAIN).unwrap();
        let schema = crate::inspect(&conn).unwrap();
        let sqls = [
            "ALTER TABLE t2 RENAME TO t2b",
            "ALTER TABLE t4 RENAME COLUMN name TO label",
            "ALTER TABLE t2 ADD COLUMN note TEXT",
            "DROP TABLE t1",
            "DROP INDEX t3_p",
            "CREATE TABLE a_new (x); CREATE VIEW zz AS SELECT x FROM a_new",
            "DROP TRIGGER t4_ins; DROP VIEW v3",
            "SELECT 1",
        ];
        let parts: Vec<Replaced> = sqls
            .iter()
            .map(|sql| {
                let names = reach(&schema, &[sql]).unwrap();
                Replaced::new(Some(names.clone()), replayed(&within(&schema, &names), sql))
            })
            .collect();
        let wholes: Vec<Schema> = sqls.iter().map(|sql| replayed(&schema, sql)).collect();
        for (i, part) in parts.iter().enumerate() {
            assert_eq!(part.schema(&schema), wholes[i], "{}", sqls[i]);
            for (j, whole) in wholes.iter().enumerate() {
                assert_eq!(
                    part.matches(&schema, whole),
                    part.schema(&schema) == *whole,
                    "{} against {}",
                    sqls[i],
                    sqls[j]
                );
                assert_eq!(
                    part.matches(&schema, whole),
                    i == j,
                    "{} against {}",
                    sqls[i],
                    sqls[j]
                );
            }
        }
        let whole = Replaced::new(None, wholes[0].clone());
        assert!(whole.matches(&schema, &wholes[0]) && !whole.matches(&schema, &wholes[1]));
    }

    #[test]
    fn a_chain_of_foreign_keys_is_reached_one_step_down() {
        let conn = Connection::open_in_memory().unwrap();
        // The chain alone, with a view and a trigger on t1.
        let plain = CHAIN
            .replace(
                "CREATE VIEW v3 AS SELECT t3.name, t4.id FROM t3 JOIN t4 ON t4.p = t3.id;",
                "",
            )
            .replace(
                "CREATE TRIGGER t4_ins AFTER INSERT ON t4 BEGIN UPDATE t2 SET name = new.name; END;",
                "",
            );
        conn.execute_batch(&plain).unwrap();
        let schema = crate::inspect(&conn).unwrap();
        let names = reach(&schema, &["ALTER TABLE t1 ADD COLUMN note TEXT"]).unwrap();
        // t1, its referrer t2, the view and trigger on t1 (and what they mention: t5).
        for name in ["t1", "t2", "v1", "t1_del", "t5"] {
            assert!(names.contains(name), "{name} in {names:?}");
        }
        for name in ["t3", "t4"] {
            assert!(!names.contains(name), "{name} in {names:?}");
        }
    }
}

#[cfg(test)]
#[path = "part_names_tests.rs"]
mod names_tests;

#[cfg(test)]
#[path = "part_except_tests.rs"]
mod except_tests;
