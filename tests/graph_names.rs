//! `graph` draws any name: for any table and column names (quotes, `#`, newlines, any control
//! character), the Mermaid diagram keeps one statement a line, and each label reads back as
//! the name it stands for.

use proptest::prelude::*;
use schemactl::ops::graph::{Format, graph};

/// Reads a Mermaid label back: its entity codes (`#quot;`, `#NN;`) as characters.
fn decode(label: &str) -> String {
    let mut out = String::new();
    let mut rest = label;
    while let Some(i) = rest.find('#') {
        out.push_str(&rest[..i]);
        let code = &rest[i + 1..];
        let end = code.find(';').expect("an entity ends with ;");
        let name = &code[..end];
        out.push(if name == "quot" {
            '"'
        } else {
            char::from_u32(name.parse().expect("a decimal code")).expect("a character")
        });
        rest = &code[end + 1..];
    }
    out.push_str(rest);
    out
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn any_name_draws_on_its_own_line_and_reads_back(
        parent in "[a-z\"#\n\t\r\u{1}é ]{1,8}",
        child in "[a-z\"#\n\t\r\u{1}é ]{1,8}",
        fk in "[a-z\"#\n ]{1,6}",
    ) {
        prop_assume!(!parent.eq_ignore_ascii_case(&child));
        prop_assume!(!fk.eq_ignore_ascii_case("id"));
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch(&format!(
            "CREATE TABLE {} (id INTEGER PRIMARY KEY); CREATE TABLE {} (id INTEGER PRIMARY KEY, {} INTEGER REFERENCES {}(id));",
            quote(&parent), quote(&child), quote(&fk), quote(&parent)
        )).unwrap();
        let schema = schemactl::inspect(&conn).unwrap();
        let out = graph(&schema, Format::Mermaid);
        let lines: Vec<&str> = out.lines().collect();
        // erDiagram, two entities of 1 and 2 columns with their braces, one relationship.
        prop_assert_eq!(lines.len(), 1 + 3 + 4 + 1, "{}", out);
        let mut labels = Vec::new();
        for line in &lines[1..] {
            let l = line.trim_start();
            prop_assert!(
                l == "}" || l.starts_with('t') || l.starts_with("INTEGER"),
                "{:?} in {}", line, out
            );
            if let (Some(a), Some(b)) = (l.find("[\""), l.rfind("\"]")) {
                labels.push(decode(&l[a + 2..b]));
            }
            if l.contains(" : \"") {
                let a = l.find(" : \"").unwrap() + 4;
                prop_assert_eq!(decode(&l[a..l.len() - 1]), fk.clone());
            }
        }
        let mut want = vec![parent.clone(), child.clone()];
        want.sort();
        labels.sort();
        prop_assert_eq!(labels, want);
    }
}
