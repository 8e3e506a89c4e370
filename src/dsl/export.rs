//! Model to YAML: what `schemactl import` writes.
//!
//! The output loads back into exactly the schema it was written from (the round trip is
//! tested on the whole corpus). Single-column keys are written on their column; everything
//! else goes to the table. Strings that are not plain words are written double-quoted
//! (JSON string syntax, which YAML reads as is), so nothing depends on YAML's plain-scalar rules.

use std::fmt::Write;

use crate::model::{Check, Column, Deferrable, FkAction, Schema, Table};
use crate::render::key_part;
use crate::sql::{Sql, ident, lex, strip_outer_parens};

/// Writes `schema` as DSL YAML with the given schema version; `origin` goes in a comment.
pub fn export(schema: &Schema, version: u32, origin: &str) -> String {
    let mut y = String::new();
    let _ = writeln!(y, "# Imported by schemactl from {origin}");
    let _ = writeln!(y, "schemactl: 1\nversion: {version}");
    if !schema.tables.is_empty() {
        y.push_str("tables:\n");
        for table in &schema.tables {
            write_table(&mut y, table);
        }
    }
    if !schema.views.is_empty() {
        y.push_str("views:\n");
        for v in &schema.views {
            let mut fields = vec![format!("sql: {}", s(v.select.as_str()))];
            if !v.columns.is_empty() {
                fields.push(format!("columns: {}", list(v.columns.iter().map(|c| s(c)))));
            }
            let _ = writeln!(y, "  {}: {{ {} }}", s(&v.name), fields.join(", "));
        }
    }
    if !schema.triggers.is_empty() {
        y.push_str("triggers:\n");
        for t in &schema.triggers {
            let _ = writeln!(y, "  {}: {{ sql: {} }}", s(&t.name), s(t.sql.as_str()));
        }
    }
    if !schema.virtual_tables.is_empty() {
        y.push_str("virtual_tables:\n");
        for t in &schema.virtual_tables {
            let _ = writeln!(y, "  {}: {{ sql: {} }}", s(&t.name), s(t.sql.as_str()));
        }
    }
    y
}

fn write_table(y: &mut String, table: &Table) {
    let _ = writeln!(y, "  {}:", s(&table.name));
    if let Some(sql) = &table.verbatim {
        let _ = writeln!(y, "    sql: {}", s(sql.as_str()));
        write_indexes(y, table);
        return;
    }
    // A key that fits on its column is written there.
    let plain = |k: &crate::model::KeyPart| !k.is_expr && k.collate.is_none() && !k.desc;
    let mut column_pk = table
        .primary_key
        .as_ref()
        .filter(|pk| pk.name.is_none() && pk.columns.len() == 1 && plain(&pk.columns[0]));
    // The DSL declares the column ones first, in column order, then the table-level ones:
    // only a leading run of single-column keys in column order goes on the columns, so the
    // declaration order (SQLite's autoindex numbering) comes back as it was.
    let position = |c: &str| {
        table
            .columns
            .iter()
            .position(|x| x.name.eq_ignore_ascii_case(c))
    };
    let mut column_unique: Vec<&str> = Vec::new();
    let mut table_uniques = Vec::new();
    let mut last = None;
    for u in &table.uniques {
        let single = (table_uniques.is_empty()
            && u.name.is_none()
            && u.columns.len() == 1
            && plain(&u.columns[0]))
        .then(|| u.columns[0].expr.as_str())
        .filter(|c| !column_unique.iter().any(|x| x.eq_ignore_ascii_case(c)))
        .filter(|c| position(c).is_some() && position(c) > last);
        match single {
            Some(c) => {
                last = position(c);
                column_unique.push(c);
            }
            None => table_uniques.push(u),
        }
    }
    // The key comes after the UNIQUE constraints declared before it (SQLite numbers their
    // indexes in that order). The DSL declares a column's key after the UNIQUE of the columns
    // before it, a table-level key after every column's UNIQUE and before the table's.
    if let Some(pk) = &table.primary_key {
        let before = pk.after_uniques;
        if column_unique.len() > before {
            let moved = column_unique.split_off(before);
            let rest: Vec<_> = table.uniques[before..before + moved.len()].iter().collect();
            table_uniques.splice(0..0, rest);
        }
        let on_column = |c: &str| {
            let at = position(c);
            column_unique.iter().filter(|u| position(u) < at).count()
        };
        if column_pk.is_some_and(|pk| on_column(pk.columns[0].expr.as_str()) != before) {
            column_pk = None;
        }
        if column_pk.is_none() && column_unique.len() != before {
            // Declared after a table-level UNIQUE: only the SQL says so.
            let sql = crate::render::create_table(table);
            let _ = writeln!(y, "    sql: {}", s(&sql));
            write_indexes(y, table);
            return;
        }
    }
    y.push_str("    columns:\n");
    for c in &table.columns {
        let mut fields = Vec::new();
        if !c.decl_type.is_empty() {
            fields.push(format!("type: {}", s(c.decl_type.as_str())));
        }
        if let Some(pk) =
            column_pk.filter(|pk| pk.columns[0].expr.as_str().eq_ignore_ascii_case(&c.name))
        {
            fields.push("primary_key: true".into());
            if pk.autoincrement {
                fields.push("autoincrement: true".into());
            }
        }
        column_fields(
            &mut fields,
            c,
            column_unique
                .iter()
                .any(|u| u.eq_ignore_ascii_case(&c.name)),
        );
        let _ = writeln!(y, "      {}: {{ {} }}", s(&c.name), fields.join(", "));
    }
    if let Some(pk) = table.primary_key.as_ref().filter(|_| column_pk.is_none()) {
        let keys = list(pk.columns.iter().map(|k| s(&key_part(k))));
        if pk.name.is_none() && !pk.autoincrement {
            let _ = writeln!(y, "    primary_key: {keys}");
        } else {
            let mut fields = Vec::new();
            if let Some(n) = &pk.name {
                fields.push(format!("name: {}", s(n)));
            }
            fields.push(format!("columns: {keys}"));
            if pk.autoincrement {
                fields.push("autoincrement: true".into());
            }
            let _ = writeln!(y, "    primary_key: {{ {} }}", fields.join(", "));
        }
    }
    if !table_uniques.is_empty() {
        y.push_str("    unique:\n");
        for u in table_uniques {
            let keys = list(u.columns.iter().map(|k| s(&key_part(k))));
            match &u.name {
                Some(n) => {
                    let _ = writeln!(y, "      - {{ name: {}, columns: {keys} }}", s(n));
                }
                None => {
                    let _ = writeln!(y, "      - {keys}");
                }
            }
        }
    }
    if !table.checks.is_empty() {
        y.push_str("    checks:\n");
        for c in &table.checks {
            let _ = writeln!(y, "      - {}", check(c));
        }
    }
    if !table.foreign_keys.is_empty() {
        y.push_str("    foreign_keys:\n");
        for fk in &table.foreign_keys {
            let mut fields = Vec::new();
            if let Some(n) = &fk.name {
                fields.push(format!("name: {}", s(n)));
            }
            fields.push(format!(
                "columns: {}",
                list(fk.columns.iter().map(|c| s(c)))
            ));
            let mut target = ident(&fk.ref_table);
            if !fk.ref_columns.is_empty() {
                let cols: Vec<String> = fk.ref_columns.iter().map(|c| ident(c)).collect();
                let _ = write!(target, "({})", cols.join(", "));
            }
            fields.push(format!("references: {}", s(&target)));
            for (key, a) in [("on_delete", fk.on_delete), ("on_update", fk.on_update)] {
                if a != FkAction::NoAction {
                    fields.push(format!("{key}: {}", action(a)));
                }
            }
            match fk.deferrable {
                Deferrable::No => {}
                Deferrable::InitiallyImmediate => {
                    fields.push("deferrable: initially_immediate".into())
                }
                Deferrable::InitiallyDeferred => {
                    fields.push("deferrable: initially_deferred".into())
                }
            }
            let _ = writeln!(y, "      - {{ {} }}", fields.join(", "));
        }
    }
    if table.strict {
        y.push_str("    strict: true\n");
    }
    if table.without_rowid {
        y.push_str("    without_rowid: true\n");
    }
    write_indexes(y, table);
}

fn column_fields(fields: &mut Vec<String>, c: &Column, unique: bool) {
    match (&c.not_null, &c.not_null_name) {
        (true, Some(name)) => fields.push(format!("not_null: {{ name: {} }}", s(name))),
        (true, None) => fields.push("not_null: true".into()),
        (false, _) => {}
    }
    if unique {
        fields.push("unique: true".into());
    }
    if let Some(d) = &c.default {
        match &c.default_name {
            Some(name) => fields.push(format!(
                "default: {{ sql: {}, name: {} }}",
                s(default_inner(d)),
                s(name)
            )),
            None => fields.push(format!("default: {}", default(d))),
        }
    }
    if let Some(coll) = &c.collate {
        fields.push(format!("collate: {}", s(coll)));
    }
    match c.checks.as_slice() {
        [] => {}
        [one] => fields.push(format!("check: {}", check(one))),
        many => fields.push(format!("check: {}", list(many.iter().map(check)))),
    }
    if let Some(g) = &c.generated {
        let stored = if g.stored { ", stored: true" } else { "" };
        fields.push(format!(
            "generated: {{ expr: {}{stored} }}",
            s(g.expr.as_str())
        ));
    }
}

fn write_indexes(y: &mut String, table: &Table) {
    if table.indexes.is_empty() {
        return;
    }
    y.push_str("    indexes:\n");
    for i in &table.indexes {
        let mut fields = vec![format!(
            "columns: {}",
            list(i.columns.iter().map(|k| s(&key_part(k))))
        )];
        if i.unique {
            fields.push("unique: true".into());
        }
        if let Some(w) = &i.where_clause {
            fields.push(format!("where: {}", s(w.as_str())));
        }
        let _ = writeln!(y, "      {}: {{ {} }}", s(&i.name), fields.join(", "));
    }
}

fn check(c: &Check) -> String {
    match &c.name {
        Some(n) => format!("{{ name: {}, expr: {} }}", s(n), s(c.expr.as_str())),
        None => s(c.expr.as_str()),
    }
}

fn action(a: FkAction) -> &'static str {
    match a {
        FkAction::NoAction => "no_action",
        FkAction::Restrict => "restrict",
        FkAction::SetNull => "set_null",
        FkAction::SetDefault => "set_default",
        FkAction::Cascade => "cascade",
    }
}

/// A default's SQL without its outer parentheses (loading puts them back where needed).
fn default_inner(d: &Sql) -> &str {
    let text = d.as_str();
    match lex(text) {
        Ok(tokens) => {
            let inner = strip_outer_parens(&tokens);
            match (inner.first(), inner.last()) {
                (Some(a), Some(b)) => &text[a.start..b.end],
                _ => text,
            }
        }
        Err(_) => text,
    }
}

/// Writes a default as the simplest YAML that loads back to the same SQL.
fn default(d: &Sql) -> String {
    let inner = default_inner(d);
    if inner.parse::<i64>().is_ok_and(|i| i.to_string() == inner) {
        return inner.to_string();
    }
    if inner
        .parse::<f64>()
        .is_ok_and(|f| f.is_finite() && format!("{f:?}") == inner)
    {
        return inner.to_string();
    }
    // A YAML boolean loads back as TRUE or FALSE: other spellings (`false`, as ORMs write it)
    // stay SQL, so `PRAGMA table_xinfo` reports the default as it was written.
    if inner == "TRUE" || inner == "FALSE" {
        return inner.to_ascii_lowercase();
    }
    if let Ok(tokens) = lex(inner)
        && let [tok] = tokens.as_slice()
        && let sqlparser::tokenizer::Token::SingleQuotedString(value) = &tok.token
    {
        return s(value);
    }
    format!("{{ sql: {} }}", s(inner))
}

fn list(items: impl Iterator<Item = String>) -> String {
    format!("[{}]", items.collect::<Vec<_>>().join(", "))
}

/// Writes a YAML scalar: plain when it is a simple word YAML cannot misread, else quoted.
fn s(value: &str) -> String {
    let simple = value
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let special = ["true", "false", "null", "yes", "no", "on", "off", "y", "n"]
        .iter()
        .any(|w| value.eq_ignore_ascii_case(w));
    if simple && !special {
        value.to_string()
    } else {
        serde_json::Value::String(value.to_string()).to_string()
    }
}
