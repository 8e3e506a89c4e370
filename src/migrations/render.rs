//! A migration's SQL text: rendering a plan as a migration file (with the stash and restore
//! statements of the steps that drop data), and reading back what running a migration's SQL
//! needs ([`needs`]), from a generated file's header or a hand-written file's statements.

use crate::plan::{Direction, Plan};
use crate::sql::lex;

pub use crate::plan::{FOREIGN_KEYS_HEADER, STASH_PREFIX};

/// What running a migration's SQL safely needs, read from its header or its statements.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    /// Foreign keys must be off (it drops or rebuilds tables).
    pub foreign_keys_off: bool,
    /// Tables to `foreign_key_check` before committing; None means every table.
    pub check: Option<Vec<String>>,
    /// It drops or narrows something.
    pub destructive: bool,
    /// It has a statement that changes rows (`DELETE`, `UPDATE`, `DROP`, `INSERT ... SELECT`):
    /// the driver reports every table's row count before and after, and rows that disappear
    /// need `--allow-destructive`.
    pub changes_data: bool,
}

/// Reads what `sql` needs: from a generated header, or (hand-written) from its statements:
/// any `DROP TABLE` needs foreign keys off and a full check, and is destructive, as is any
/// `DROP COLUMN`.
pub fn needs(sql: &str) -> Needs {
    Needs {
        changes_data: super::statements::changes_data(sql),
        ..needs_from_header_or_statements(sql)
    }
}

fn needs_from_header_or_statements(sql: &str) -> Needs {
    if let Some(line) = sql.lines().find(|l| l.starts_with(FOREIGN_KEYS_HEADER)) {
        let tables = line[FOREIGN_KEYS_HEADER.len()..]
            .split(',')
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect();
        return Needs {
            foreign_keys_off: true,
            check: Some(tables),
            destructive: sql
                .lines()
                .any(|l| l.starts_with("-- step") && l.contains("destructive]")),
            changes_data: false,
        };
    }
    if sql.lines().any(|l| l.starts_with("-- schemactl migration")) {
        return Needs {
            foreign_keys_off: false,
            check: Some(Vec::new()),
            destructive: sql
                .lines()
                .any(|l| l.starts_with("-- step") && l.contains("destructive]")),
            changes_data: false,
        };
    }
    let tokens = lex(sql).unwrap_or_default();
    let pair = |a: &str, b: &str| tokens.windows(2).any(|w| w[0].is_kw(a) && w[1].is_kw(b));
    let drops_table = pair("DROP", "TABLE");
    Needs {
        foreign_keys_off: drops_table,
        check: if drops_table { None } else { Some(Vec::new()) },
        destructive: drops_table || pair("DROP", "COLUMN"),
        changes_data: false,
    }
}

/// Refuses a plan with a step whose stash could not find its rows again: a table whose
/// columns shadow `rowid`, `_rowid_` and `oid` and whose primary key may be NULL.
pub fn check_stashable(plan: &Plan) -> crate::error::Result<()> {
    match plan
        .steps
        .iter()
        .filter_map(|s| s.stash.as_ref())
        .find(|s| !s.identifiable())
    {
        Some(stash) => Err(crate::error::Error::StashUnidentifiable {
            table: stash.table.clone(),
        }),
        None => Ok(()),
    }
}

/// Renders a plan as a migration file's SQL in `direction` (see [`Plan::migration_file`]).
pub fn render(plan: &Plan, stem: &str, schema_version: u32, direction: Direction) -> String {
    plan.migration_file(stem, schema_version, direction)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_written_sql_says_what_it_needs() {
        assert_eq!(
            needs("ALTER TABLE t ADD COLUMN c TEXT;"),
            Needs {
                foreign_keys_off: false,
                check: Some(vec![]),
                destructive: false,
                changes_data: false,
            }
        );
        assert_eq!(
            needs("ALTER TABLE t DROP COLUMN c;"),
            Needs {
                foreign_keys_off: false,
                check: Some(vec![]),
                destructive: true,
                changes_data: false,
            }
        );
        assert_eq!(
            needs("CREATE TABLE n (a); INSERT INTO n SELECT * FROM t; DROP TABLE t;"),
            Needs {
                foreign_keys_off: true,
                check: None,
                destructive: true,
                changes_data: true,
            }
        );
        // 'drop table' in a string is not a statement
        assert!(!needs("UPDATE t SET note = 'drop table';").foreign_keys_off);
    }
}
