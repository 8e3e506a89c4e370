//! Rendering of model objects as SQLite DDL.
//!
//! The same text is used to materialise the desired schema (see [`crate::normal`]), so what is
//! rendered here is what the live database will hold. A single-column primary key is written on
//! its column (AUTOINCREMENT must be); everything else that may be table-level is table-level.

use std::fmt::Write;

use crate::model::{
    Column, Deferrable, FkAction, ForeignKey, Index, KeyPart, Name, PrimaryKey, Table, View,
};
use crate::sql::ident;

/// Renders `CREATE TABLE` for a table (without its indexes).
pub fn create_table(table: &Table) -> String {
    if let Some(sql) = &table.verbatim {
        return sql.as_str().to_string();
    }
    // A key declared after UNIQUE constraints goes among them, table-level, so that SQLite
    // numbers their indexes as declared.
    let inline_pk = table.primary_key.as_ref().filter(|pk| {
        pk.after_uniques == 0
            && pk.columns.len() == 1
            && !pk.columns[0].is_expr
            && pk.columns[0].collate.is_none()
            && !pk.columns[0].desc
    });
    let mut items: Vec<String> = table
        .columns
        .iter()
        .map(|c| {
            let pk = inline_pk.filter(|pk| c.name == pk.columns[0].expr.as_str());
            column_def_with_key(c, pk)
        })
        .collect();
    let table_pk = table.primary_key.as_ref().filter(|_| inline_pk.is_none());
    let before = table_pk.map_or(0, |pk| pk.after_uniques.min(table.uniques.len()));
    let unique = |u: &crate::model::Unique| {
        format!(
            "{}UNIQUE ({})",
            constraint_name(&u.name),
            key_list(&u.columns)
        )
    };
    items.extend(table.uniques[..before].iter().map(unique));
    if let Some(pk) = table_pk {
        let mut clause = constraint_name(&pk.name);
        let _ = write!(clause, "PRIMARY KEY ({}", key_list(&pk.columns));
        if pk.autoincrement {
            clause.push_str(" AUTOINCREMENT");
        }
        clause.push(')');
        items.push(clause);
    }
    items.extend(table.uniques[before..].iter().map(unique));
    for c in &table.checks {
        items.push(format!("{}CHECK ({})", constraint_name(&c.name), c.expr));
    }
    for fk in &table.foreign_keys {
        items.push(foreign_key(fk));
    }
    let mut sql = format!(
        "CREATE TABLE {} (\n  {}\n)",
        ident(&table.name),
        items.join(",\n  ")
    );
    let options: Vec<&str> = [
        (table.strict, "STRICT"),
        (table.without_rowid, "WITHOUT ROWID"),
    ]
    .into_iter()
    .filter_map(|(on, word)| on.then_some(word))
    .collect();
    if !options.is_empty() {
        let _ = write!(sql, " {}", options.join(", "));
    }
    sql
}

/// Renders one column definition, without any primary-key clause.
pub fn column_def(c: &Column) -> String {
    column_def_with_key(c, None)
}

/// Renders a column definition carrying the table's single-column primary key.
fn column_def_with_key(c: &Column, pk: Option<&PrimaryKey>) -> String {
    let mut def = ident(&c.name);
    if !c.decl_type.is_empty() {
        let _ = write!(def, " {}", c.decl_type);
    }
    if let Some(pk) = pk {
        let _ = write!(def, " {}PRIMARY KEY", constraint_name(&pk.name));
        if pk.autoincrement {
            def.push_str(" AUTOINCREMENT");
        }
    }
    if c.not_null {
        let _ = write!(def, " {}NOT NULL", constraint_name(&c.not_null_name));
    }
    if let Some(d) = &c.default {
        let _ = write!(def, " {}DEFAULT {d}", constraint_name(&c.default_name));
    }
    if let Some(coll) = &c.collate {
        let _ = write!(def, " COLLATE {}", ident(coll));
    }
    for check in &c.checks {
        let _ = write!(
            def,
            " {}CHECK ({})",
            constraint_name(&check.name),
            check.expr
        );
    }
    if let Some(g) = &c.generated {
        let _ = write!(
            def,
            " GENERATED ALWAYS AS ({}) {}",
            g.expr,
            if g.stored { "STORED" } else { "VIRTUAL" }
        );
    }
    def
}

fn constraint_name(name: &Option<Name>) -> String {
    name.as_ref()
        .map(|n| format!("CONSTRAINT {} ", ident(n)))
        .unwrap_or_default()
}

/// Renders a foreign-key table constraint.
pub fn foreign_key(fk: &ForeignKey) -> String {
    let mut s = format!(
        "{}FOREIGN KEY ({}) REFERENCES {}",
        constraint_name(&fk.name),
        names(&fk.columns),
        ident(&fk.ref_table)
    );
    if !fk.ref_columns.is_empty() {
        let _ = write!(s, " ({})", names(&fk.ref_columns));
    }
    if fk.on_delete != FkAction::NoAction {
        let _ = write!(s, " ON DELETE {}", fk.on_delete.as_sql());
    }
    if fk.on_update != FkAction::NoAction {
        let _ = write!(s, " ON UPDATE {}", fk.on_update.as_sql());
    }
    match fk.deferrable {
        Deferrable::No => {}
        Deferrable::InitiallyImmediate => s.push_str(" DEFERRABLE INITIALLY IMMEDIATE"),
        Deferrable::InitiallyDeferred => s.push_str(" DEFERRABLE INITIALLY DEFERRED"),
    }
    s
}

fn names(names: &[Name]) -> String {
    names
        .iter()
        .map(|n| ident(n))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Renders one key part: `column|expr [COLLATE c] [DESC]`.
pub fn key_part(k: &KeyPart) -> String {
    let mut s = if k.is_expr {
        k.expr.as_str().to_string()
    } else {
        ident(k.expr.as_str())
    };
    if let Some(c) = &k.collate {
        let _ = write!(s, " COLLATE {}", ident(c));
    }
    if k.desc {
        s.push_str(" DESC");
    }
    s
}

fn key_list(keys: &[KeyPart]) -> String {
    keys.iter().map(key_part).collect::<Vec<_>>().join(", ")
}

/// Renders `CREATE INDEX` for an index on `table`.
pub fn create_index(table: &str, index: &Index) -> String {
    let mut sql = format!(
        "CREATE {}INDEX {} ON {} ({})",
        if index.unique { "UNIQUE " } else { "" },
        ident(&index.name),
        ident(table),
        key_list(&index.columns)
    );
    if let Some(w) = &index.where_clause {
        let _ = write!(sql, " WHERE {w}");
    }
    sql
}

/// Renders `CREATE VIEW`.
pub fn create_view(view: &View) -> String {
    let cols = if view.columns.is_empty() {
        String::new()
    } else {
        format!(" ({})", names(&view.columns))
    };
    format!("CREATE VIEW {}{cols} AS {}", ident(&view.name), view.select)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_table;

    #[test]
    fn renders_tables_that_parse_back_to_the_same_model() {
        let cases = [
            "CREATE TABLE metrics_log (id INTEGER PRIMARY KEY AUTOINCREMENT, metric_name TEXT NOT NULL)",
            "CREATE TABLE m (namespace TEXT NOT NULL, key TEXT NOT NULL, PRIMARY KEY (namespace, key)) WITHOUT ROWID",
            "CREATE TABLE c (a INT CONSTRAINT ck CHECK (a > 0) DEFAULT (1 + 1) COLLATE NOCASE, b AS (a * 2) STORED, CONSTRAINT pk PRIMARY KEY (a DESC), UNIQUE (b), FOREIGN KEY (a) REFERENCES p ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED) STRICT",
            "CREATE TABLE \"order\" (\"select\" TEXT CONSTRAINT p PRIMARY KEY)",
        ];
        for sql in cases {
            let table = parse_table(sql).unwrap();
            let rendered = create_table(&table);
            assert_eq!(parse_table(&rendered).unwrap(), table, "{rendered}");
        }
    }

    #[test]
    fn puts_a_single_column_key_on_its_column() {
        let table =
            parse_table("CREATE TABLE t (id INTEGER NOT NULL, PRIMARY KEY (id AUTOINCREMENT))")
                .unwrap();
        assert_eq!(
            create_table(&table),
            "CREATE TABLE t (\n  id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL\n)"
        );
    }
}
