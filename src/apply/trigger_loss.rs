//! Triggers a migration loses without saying so.
//!
//! SQLite drops a table's triggers with the table, so a rebuild (a new table, a copy, `DROP
//! TABLE`, a rename) that does not create them again loses them silently, while the schema it
//! leaves is exactly what its own SQL produces: the schema check cannot see it. schemactl's
//! plans drop and create every trigger of a table they rebuild, the ones schema/ leaves alone
//! (`exclude`) too; a migration written elsewhere may not. A trigger that goes away while its
//! table or view stays must be dropped by name (`DROP TRIGGER`): anything else is refused
//! before the migration runs, naming the trigger.

use std::collections::BTreeSet;

use crate::model::Schema;
use crate::sql::ident;

/// The triggers of `before` (`trigger name on table`, as the gate for objects added by hand
/// names them) that `after` no longer has although their table or view is still there, and
/// that no statement of `sql` drops by name.
pub fn lost(before: &Schema, after: &Schema, sql: &[&str]) -> Vec<String> {
    let dropped = dropped_by_name(sql);
    let holds = |name: &str| {
        after
            .tables
            .iter()
            .any(|t| t.name.eq_ignore_ascii_case(name))
            || after
                .views
                .iter()
                .any(|v| v.name.eq_ignore_ascii_case(name))
    };
    before
        .triggers
        .iter()
        .filter(|t| {
            !after
                .triggers
                .iter()
                .any(|a| a.name.eq_ignore_ascii_case(&t.name))
        })
        .filter(|t| holds(&t.table))
        .filter(|t| !dropped.contains(&t.name.to_lowercase()))
        .map(|t| format!("trigger {} on {}", ident(&t.name), ident(&t.table)))
        .collect()
}

/// The lowercase names that `DROP TRIGGER [IF EXISTS] [schema.]name` statements of `sql` drop.
/// Text that does not lex drops nothing by name.
fn dropped_by_name(sql: &[&str]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for text in sql {
        let Ok(tokens) = crate::sql::lex(text) else {
            continue;
        };
        for (i, t) in tokens.iter().enumerate() {
            if !(t.is_kw("DROP") && tokens.get(i + 1).is_some_and(|n| n.is_kw("TRIGGER"))) {
                continue;
            }
            // `[IF EXISTS] [schema.]name`, the name in any spelling SQLite reads as one.
            if let Some((name, _)) = crate::sql::object_at(&tokens, i + 2) {
                out.insert(name.to_lowercase());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_by_name_are_read_in_every_form() {
        let names = dropped_by_name(&[
            "DROP TRIGGER a; drop trigger if exists \"B c\"; DROP TRIGGER main.[d]; DROP TRIGGER 'É f';",
            "CREATE TABLE x (note TEXT DEFAULT 'DROP TRIGGER e')",
        ]);
        let want: BTreeSet<String> = ["a", "b c", "d", "é f"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(names, want);
    }
}
