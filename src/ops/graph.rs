//! `schemactl graph`: the schema as an entity-relationship diagram, in Mermaid or Graphviz
//! DOT, with each table's columns, primary and foreign keys, and one edge per foreign key.

use crate::model::{Schema, Table};

/// The diagram formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A Mermaid `erDiagram` (renders in GitHub and GitLab Markdown).
    Mermaid,
    /// Graphviz DOT (`dot -Tsvg`).
    Dot,
}

/// Draws `schema` in `format`.
pub fn graph(schema: &Schema, format: Format) -> String {
    match format {
        Format::Mermaid => mermaid(schema),
        Format::Dot => dot(schema),
    }
}

fn is_pk(t: &Table, column: &str) -> bool {
    t.primary_key.as_ref().is_some_and(|pk| {
        pk.columns
            .iter()
            .any(|k| !k.is_expr && k.expr.as_str().eq_ignore_ascii_case(column))
    })
}

fn is_fk(t: &Table, column: &str) -> bool {
    t.foreign_keys.iter().any(|fk| {
        fk.columns
            .iter()
            .any(|c| c.as_str().eq_ignore_ascii_case(column))
    })
}

/// True when each parent row has at most one child row through `fk` (its columns are the
/// child's primary key or a UNIQUE key).
fn one_to_one(t: &Table, fk: &crate::model::ForeignKey) -> bool {
    let same = |cols: &[crate::model::KeyPart]| {
        cols.len() == fk.columns.len()
            && cols.iter().all(|k| {
                fk.columns
                    .iter()
                    .any(|c| c.as_str().eq_ignore_ascii_case(k.expr.as_str()))
            })
    };
    t.primary_key.as_ref().is_some_and(|pk| same(&pk.columns))
        || t.uniques.iter().any(|u| same(&u.columns))
}

/// A Mermaid identifier: letters, digits, `_` and `-`; anything else becomes `_`.
fn mermaid_word(s: &str) -> String {
    let w: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if w.is_empty() { "_".into() } else { w }
}

/// A Mermaid label (inside `"..."`): `#`, `"` and every control character (a newline would
/// end the line, and the diagram with it) as Mermaid's entity codes (`#35;`, `#quot;`,
/// `#10;`), which draw as themselves.
fn mermaid_label(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '#' => out.push_str("#35;"),
            c if c.is_control() => out.push_str(&format!("#{};", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

fn mermaid(schema: &Schema) -> String {
    let mut out = String::from("erDiagram\n");
    // Entities get stable ids (their position) and their real names as labels, so that any
    // name draws.
    let id = |name: &str| {
        schema
            .tables
            .iter()
            .position(|t| t.name.as_str().eq_ignore_ascii_case(name))
            .map(|i| format!("t{i}"))
    };
    for (i, t) in schema.tables.iter().enumerate() {
        out.push_str(&format!("    t{i}[\"{}\"] {{\n", mermaid_label(&t.name)));
        for c in &t.columns {
            let ty = if c.decl_type.is_empty() {
                "ANY".to_string()
            } else {
                mermaid_word(c.decl_type.as_str())
            };
            let mut keys = Vec::new();
            if is_pk(t, &c.name) {
                keys.push("PK");
            }
            if is_fk(t, &c.name) {
                keys.push("FK");
            }
            let keys = if keys.is_empty() {
                String::new()
            } else {
                format!(" {}", keys.join(", "))
            };
            // A key column is drawn as required: SQLite's NULL-in-a-TEXT-key quirk is not
            // something a diagram should suggest using.
            let note = if c.not_null || is_pk(t, &c.name) {
                ""
            } else {
                " \"nullable\""
            };
            out.push_str(&format!(
                "        {ty} {}{keys}{note}\n",
                mermaid_word(&c.name)
            ));
        }
        out.push_str("    }\n");
    }
    for t in &schema.tables {
        for fk in &t.foreign_keys {
            let (Some(parent), Some(child)) = (id(&fk.ref_table), id(&t.name)) else {
                continue;
            };
            let optional = fk.columns.iter().any(|c| {
                t.column(c)
                    .is_some_and(|col| !col.not_null && !is_pk(t, &col.name))
            });
            let left = if optional { "|o" } else { "||" };
            let right = if one_to_one(t, fk) { "o|" } else { "o{" };
            let cols: Vec<&str> = fk.columns.iter().map(|c| c.as_str()).collect();
            out.push_str(&format!(
                "    {parent} {left}--{right} {child} : \"{}\"\n",
                mermaid_label(&cols.join(", "))
            ));
        }
    }
    out
}

fn dot_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn dot(schema: &Schema) -> String {
    let mut out = String::from(
        "digraph schema {\n    rankdir=LR;\n    node [shape=plain, fontname=\"Helvetica\"];\n    edge [fontname=\"Helvetica\", fontsize=10];\n",
    );
    for (i, t) in schema.tables.iter().enumerate() {
        out.push_str(&format!(
            "    t{i} [label=<<table border=\"0\" cellborder=\"1\" cellspacing=\"0\"><tr><td colspan=\"2\" bgcolor=\"lightgrey\"><b>{}</b></td></tr>",
            dot_escape(&t.name)
        ));
        for (j, c) in t.columns.iter().enumerate() {
            let mut name = dot_escape(&c.name);
            if is_pk(t, &c.name) {
                name = format!("<u>{name}</u> (PK)");
            }
            if is_fk(t, &c.name) {
                name.push_str(" (FK)");
            }
            out.push_str(&format!(
                "<tr><td port=\"c{j}\" align=\"left\">{name}</td><td align=\"left\">{}{}</td></tr>",
                dot_escape(c.decl_type.as_str()),
                if c.not_null { " NOT NULL" } else { "" }
            ));
        }
        out.push_str("</table>>];\n");
    }
    for (i, t) in schema.tables.iter().enumerate() {
        for fk in &t.foreign_keys {
            let Some(p) = schema
                .tables
                .iter()
                .position(|x| x.name.as_str().eq_ignore_ascii_case(fk.ref_table.as_str()))
            else {
                continue;
            };
            let port = fk
                .columns
                .first()
                .and_then(|c| t.columns.iter().position(|col| col.name == *c))
                .map(|j| format!(":c{j}"))
                .unwrap_or_default();
            let cols: Vec<&str> = fk.columns.iter().map(|c| c.as_str()).collect();
            out.push_str(&format!(
                "    t{i}{port} -> t{p} [label=\"{}\"];\n",
                dot_escape(&cols.join(", ")).replace('\\', "\\\\")
            ));
        }
    }
    out.push_str("}\n");
    out
}
