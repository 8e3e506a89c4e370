//! SQL conditions over foreign keys, built in one place for lint, check and prune: the parent
//! columns a key references, the rows whose parent row is missing (orphans), and the rows that
//! reference a selection of parent rows.

use crate::model::{ForeignKey, Table};
use crate::sql::quote_ident;

/// The columns of `parent` that `fk` references: its own list, else the parent's primary key,
/// else `rowid` (SQLite's rule for `REFERENCES parent` without columns).
pub fn parent_columns(fk: &ForeignKey, parent: Option<&Table>) -> Vec<String> {
    if !fk.ref_columns.is_empty() {
        return fk.ref_columns.iter().map(|c| c.to_string()).collect();
    }
    match parent.map(Table::key_columns) {
        Some(cols) if !cols.is_empty() => cols,
        _ => vec!["rowid".into()],
    }
}

/// `row.c1 IS NOT NULL AND ...`: the rows whose key `columns` is set (a NULL in a foreign key
/// column references nothing). `row` is the child's table name or alias, as SQL.
pub fn not_null(row: &str, columns: &[String]) -> String {
    columns
        .iter()
        .map(|c| format!("{row}.{} IS NOT NULL", quote_ident(c)))
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// The orphan condition: the rows of the child (`row`, its table name or alias as SQL) whose
/// key `columns` is set and matches no row of `parent` on `parent_columns`, pair by pair.
pub fn orphan_condition(
    row: &str,
    columns: &[String],
    parent: &str,
    parent_columns: &[String],
) -> String {
    let matches: Vec<String> = parent_columns
        .iter()
        .zip(columns)
        .map(|(p, c)| format!("p.{} = {row}.{}", quote_ident(p), quote_ident(c)))
        .collect();
    format!(
        "{} AND NOT EXISTS (SELECT 1 FROM {} AS p WHERE {})",
        not_null(row, columns),
        quote_ident(parent),
        matches.join(" AND ")
    )
}

/// `(c1, c2) IN (SELECT p1, p2 FROM parent WHERE selection)`: the child rows that reference the
/// parent rows `selection` picks. `parent_columns` are SQL already (quoted names, `rowid`).
pub fn references_condition(
    columns: &[String],
    parent: &str,
    parent_columns: &[String],
    selection: &str,
) -> String {
    let quoted: Vec<String> = columns.iter().map(|c| quote_ident(c)).collect();
    let list = if quoted.len() == 1 {
        quoted[0].clone()
    } else {
        format!("({})", quoted.join(", "))
    };
    format!(
        "{list} IN (SELECT {} FROM {} WHERE {selection})",
        parent_columns.join(", "),
        quote_ident(parent)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orphan_condition_pairs_the_columns() {
        let cols = vec!["a".to_string(), "b".to_string()];
        let parent = vec!["x".to_string(), "y".to_string()];
        assert_eq!(
            orphan_condition("t", &cols, "p t", &parent),
            "t.\"a\" IS NOT NULL AND t.\"b\" IS NOT NULL AND NOT EXISTS (SELECT 1 FROM \"p t\" AS p WHERE p.\"x\" = t.\"a\" AND p.\"y\" = t.\"b\")"
        );
    }

    #[test]
    fn references_condition_lists_a_composite_key() {
        assert_eq!(
            references_condition(&["a".into()], "p", &["\"id\"".into()], "x > 1"),
            "\"a\" IN (SELECT \"id\" FROM \"p\" WHERE x > 1)"
        );
        assert_eq!(
            references_condition(
                &["a".into(), "b".into()],
                "p",
                &["rowid".into(), "\"k\"".into()],
                "1"
            ),
            "(\"a\", \"b\") IN (SELECT rowid, \"k\" FROM \"p\" WHERE 1)"
        );
    }
}
