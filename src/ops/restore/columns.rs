//! Which column of a backup's table feeds which column of the live table, for a one-table
//! restore: by name, through the renames (of the table and of its columns) that the
//! migrations applied since the backup recorded in `_schemactl_migrations`.

pub use crate::migrations::renames::{REBUILD_PREFIX, Rename, renames};
use crate::model::{Schema, Table};

/// How the backup's table maps onto the live one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// The table's name in the backup.
    pub backup_table: String,
    /// (live column, backup column), in the live table's order.
    pub pairs: Vec<(String, String)>,
    /// The backup's columns that feed no live column (dropped since): not restored.
    pub unmapped: Vec<String>,
    /// The live columns no backup column feeds (added since): they take their default.
    pub unfilled: Vec<String>,
}

impl Mapping {
    /// The backup column feeding the live column `live`, if any.
    pub fn source(&self, live: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(l, _)| l.eq_ignore_ascii_case(live))
            .map(|(_, b)| b.as_str())
    }
}

/// The renames from the backup's schema to the live one, oldest first, following both
/// histories exactly: the migrations the backup has and the live database no longer has
/// (rolled back since, or never applied to it) are undone newest first, by the renames of
/// their reverse SQL (recorded in the backup's `_schemactl_migrations`, else the live one's);
/// then the migrations the live database has and the backup does not run forward, by the
/// renames of their recorded forward SQL. The histories part at their first difference (a
/// version, or its name, not the same).
pub fn renames_between(
    backup: &rusqlite::Connection,
    live: &rusqlite::Connection,
) -> crate::error::Result<Vec<Rename>> {
    use crate::migrations::history;
    let backup_applied = history::applied(backup)?;
    let live_applied = history::applied(live)?;
    let common = backup_applied
        .iter()
        .zip(&live_applied)
        .take_while(|(b, l)| b.version == l.version && b.name == l.name)
        .count();
    let backup_recorded = history::recorded(backup)?;
    let live_recorded = history::recorded(live)?;
    let find = |list: &[history::Recorded], version: i32, name: &str| {
        list.iter()
            .find(|r| r.version == version && r.name == name)
            .cloned()
    };
    let mut out = Vec::new();
    for undone in backup_applied[common..].iter().rev() {
        let reverse = find(&backup_recorded, undone.version, &undone.name)
            .and_then(|r| r.reverse)
            .or_else(|| find(&live_recorded, undone.version, &undone.name).and_then(|r| r.reverse));
        if let Some(reverse) = reverse {
            out.extend(renames(&reverse));
        }
    }
    for ran in &live_applied[common..] {
        if let Some(r) = find(&live_recorded, ran.version, &ran.name) {
            out.extend(renames(&r.forward));
        }
    }
    Ok(out)
}

/// Maps the backup's table onto `live`, undoing `renames` (all the renames since the backup,
/// oldest first) to find the names the backup knew. None when the backup has no such table.
pub fn map(live: &Table, backup: &Schema, renames: &[Rename]) -> Option<Mapping> {
    let stored = |t: &Table| -> Vec<String> {
        t.columns
            .iter()
            .filter(|c| c.generated.is_none())
            .map(|c| c.name.to_string())
            .collect()
    };
    let mut table = live.name.to_string();
    let mut names: Vec<(String, String)> =
        stored(live).into_iter().map(|c| (c.clone(), c)).collect();
    for rename in renames.iter().rev() {
        match rename {
            // The rebuild's own table taking the name is no rename of the user's table.
            Rename::Table { from, to }
                if to.eq_ignore_ascii_case(&table) && !from.starts_with(REBUILD_PREFIX) =>
            {
                table = from.clone()
            }
            Rename::Column { table: t, from, to } if t.eq_ignore_ascii_case(&table) => {
                for (_, then) in names.iter_mut().filter(|(_, n)| n.eq_ignore_ascii_case(to)) {
                    *then = from.clone();
                }
            }
            // All at once: each name is looked up among the new names as they were before
            // this copy, never through another pair of the same copy.
            Rename::Columns { table: t, pairs } if t.eq_ignore_ascii_case(&table) => {
                for (_, then) in names.iter_mut() {
                    if let Some((from, _)) =
                        pairs.iter().find(|(_, to)| to.eq_ignore_ascii_case(then))
                    {
                        *then = from.clone();
                    }
                }
            }
            _ => {}
        }
    }
    let backup_table = backup.table(&table)?;
    let backup_columns = stored(backup_table);
    let mut pairs = Vec::new();
    let mut unfilled = Vec::new();
    for (now, then) in names {
        match backup_columns
            .iter()
            .find(|b| b.eq_ignore_ascii_case(&then))
        {
            Some(b) => pairs.push((now, b.clone())),
            None => unfilled.push(now),
        }
    }
    let unmapped = backup_columns
        .into_iter()
        .filter(|b| !pairs.iter().any(|(_, p)| p.eq_ignore_ascii_case(b)))
        .collect();
    Some(Mapping {
        backup_table: backup_table.name.to_string(),
        pairs,
        unmapped,
        unfilled,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renames_are_read_from_migration_sql() {
        let sql = "CREATE INDEX i ON t(a);\nALTER TABLE t RENAME COLUMN a TO b;\nALTER TABLE \"t\" RENAME c TO \"d e\";\n-- ALTER TABLE t RENAME COLUMN x TO y\nALTER TABLE main.t RENAME TO u;\nALTER TABLE u ADD COLUMN z;";
        assert_eq!(
            renames(sql),
            [
                Rename::Column {
                    table: "t".into(),
                    from: "a".into(),
                    to: "b".into()
                },
                Rename::Column {
                    table: "t".into(),
                    from: "c".into(),
                    to: "d e".into()
                },
                Rename::Table {
                    from: "t".into(),
                    to: "u".into()
                },
            ]
        );
    }

    #[test]
    fn a_rebuild_copy_is_read_as_its_renames() {
        let sql = "CREATE TABLE _schemactl_new_u (id INTEGER, value REAL, unit TEXT);\nINSERT OR ABORT INTO _schemactl_new_u (id, value, unit) SELECT id, t.metric_value, upper(u) FROM t;\nDROP TABLE t;\nALTER TABLE _schemactl_new_u RENAME TO u;";
        let all = renames(sql);
        assert_eq!(
            all,
            [
                Rename::Columns {
                    table: "t".into(),
                    pairs: vec![("metric_value".into(), "value".into())],
                },
                Rename::Table {
                    from: "t".into(),
                    to: "u".into()
                },
                Rename::Table {
                    from: "_schemactl_new_u".into(),
                    to: "u".into()
                },
            ]
        );
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (id INTEGER, metric_value REAL, u TEXT)")
            .unwrap();
        let backup = crate::inspect(&conn).unwrap();
        conn.execute_batch(sql).unwrap();
        let live = crate::inspect(&conn).unwrap();
        let m = map(live.table("u").unwrap(), &backup, &all).unwrap();
        assert_eq!(m.backup_table, "t");
        assert_eq!(
            m.pairs,
            [
                ("id".to_string(), "id".to_string()),
                ("value".to_string(), "metric_value".to_string())
            ]
        );
        assert_eq!(m.unfilled, ["unit"], "an expression is not a rename");
        assert_eq!(m.unmapped, ["u"]);
    }

    #[test]
    fn a_renamed_column_of_a_renamed_table_is_mapped_and_the_rest_reported() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, a, gone)")
            .unwrap();
        let backup = crate::inspect(&conn).unwrap();
        conn.execute_batch(
            "ALTER TABLE t RENAME COLUMN a TO b; ALTER TABLE t RENAME TO u; ALTER TABLE u RENAME COLUMN b TO c; ALTER TABLE u DROP COLUMN gone; ALTER TABLE u ADD COLUMN fresh",
        )
        .unwrap();
        let live = crate::inspect(&conn).unwrap();
        let all = renames(
            "ALTER TABLE t RENAME COLUMN a TO b; ALTER TABLE t RENAME TO u; ALTER TABLE u RENAME COLUMN b TO c;",
        );
        let m = map(live.table("u").unwrap(), &backup, &all).unwrap();
        assert_eq!(m.backup_table, "t");
        assert_eq!(
            m.pairs,
            [
                ("id".to_string(), "id".to_string()),
                ("c".to_string(), "a".to_string())
            ]
        );
        assert_eq!(m.unmapped, ["gone"]);
        assert_eq!(m.unfilled, ["fresh"]);
    }
}
