//! Unmanaged objects: the `exclude` list of names and globs (`schemactl.toml`, and the
//! `exclude:` key of each schema file) naming the tables a schema does not own.
//!
//! An excluded table is left alone by every command that compares schemas (`plan`, `sync`,
//! `drift`, `import`, `baseline`, `check`, and `apply`'s report of uncovered changes): it is
//! removed, with its indexes and triggers, from both sides before they are compared, so no plan
//! ever drops it and no drift is reported about it. Views named by the list go too. Matching
//! ignores ASCII case, as SQLite does for names; `*` matches any run of characters and `?` any
//! one character.
//!
//! What reads an excluded table is left alone with it: a view whose SELECT names an excluded
//! table or virtual table (or a view so left alone, to any depth), and the triggers on such a
//! view. The schema files could not hold such a view (SQLite compiles a view against the
//! tables the files declare, and the excluded ones are not among them), and a plan that did
//! not see it would drop it. A name is found as a word of the SELECT, quoted or not, or as a
//! string (SQLite reads `FROM 'name'` as a table): this may over-report (a column named like
//! an excluded table), never under-report. A trigger on a managed table keeps being managed
//! whatever its body reads: SQLite resolves a trigger's body only when it fires, and a
//! rebuild of its table must recreate it.

use crate::error::{Error, Result};
use crate::model::Schema;

/// The patterns of names schemactl does not manage.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exclude {
    patterns: Vec<String>,
}

impl Exclude {
    /// Builds the list from `patterns`; an empty pattern is an error naming `place`.
    pub fn new(patterns: impl IntoIterator<Item = String>, place: &str) -> Result<Self> {
        let patterns: Vec<String> = patterns.into_iter().collect();
        if let Some(bad) = patterns.iter().find(|p| p.trim().is_empty()) {
            return Err(Error::InvalidArgument {
                what: format!("{place}: exclude pattern `{bad}`"),
                message: "an exclude pattern names a table or a glob (`*`, `?`): it is empty"
                    .into(),
            });
        }
        Ok(Exclude { patterns })
    }

    /// Returns the union of two lists.
    pub fn union(&self, other: &Exclude) -> Exclude {
        let mut patterns = self.patterns.clone();
        for p in &other.patterns {
            if !patterns.contains(p) {
                patterns.push(p.clone());
            }
        }
        Exclude { patterns }
    }

    /// Returns the patterns, as written.
    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }

    /// Returns true when there is no pattern.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Returns the first pattern that matches `name`.
    pub fn matching(&self, name: &str) -> Option<&str> {
        self.patterns
            .iter()
            .find(|p| glob(p.as_bytes(), name.as_bytes()))
            .map(String::as_str)
    }

    /// Returns true when `name` is excluded.
    pub fn matches(&self, name: &str) -> bool {
        self.matching(name).is_some()
    }

    /// Returns `schema` without the excluded tables (with their indexes and triggers), views
    /// and virtual tables, and without what reads them ([`Exclude::dependents`]).
    pub fn apply(&self, schema: &Schema) -> Schema {
        self.apply_owned(schema.clone())
    }

    /// [`Exclude::apply`] on a schema the caller gives up: without a copy of it (a schema of
    /// thousands of tables is megabytes), and as it is when nothing is excluded.
    pub fn apply_owned(&self, mut schema: Schema) -> Schema {
        if self.is_empty() {
            return schema;
        }
        let dependents = self.dependents(&schema);
        let gone = |name: &str| {
            self.matches(name) || dependents.iter().any(|d| d.name.eq_ignore_ascii_case(name))
        };
        let count = |s: &Schema| (s.tables.len(), s.views.len(), s.triggers.len());
        let before = count(&schema);
        schema.tables.retain(|t| !self.matches(&t.name));
        schema.views.retain(|v| !gone(&v.name));
        schema.virtual_tables.retain(|v| !self.matches(&v.name));
        schema
            .triggers
            .retain(|t| !self.matches(&t.name) && !gone(&t.table));
        if count(&schema) != before {
            settle_anew(&mut schema);
        }
        schema
    }

    /// `current` and `desired` with the triggers of `live` that the list leaves alone although
    /// the table or view they are on is managed, and declared under the same name, added to
    /// both: a plan that rebuilds that table then drops them and creates them again as they
    /// are (SQLite drops a table's triggers with it), where it would otherwise lose them.
    /// Being the same on both sides, they are never a change of their own. `None` when there
    /// is no such trigger.
    pub fn carry(
        &self,
        live: &Schema,
        current: &Schema,
        desired: &Schema,
    ) -> Option<(Schema, Schema)> {
        if self.is_empty() {
            return None;
        }
        let on_both = |table: &str| {
            let holds = |s: &Schema| {
                s.tables.iter().any(|t| t.name.eq_ignore_ascii_case(table))
                    || s.views.iter().any(|v| v.name.eq_ignore_ascii_case(table))
            };
            holds(current) && holds(desired)
        };
        let carried: Vec<&crate::model::Trigger> = live
            .triggers
            .iter()
            .filter(|t| {
                !current
                    .triggers
                    .iter()
                    .any(|c| c.name.eq_ignore_ascii_case(&t.name))
            })
            .filter(|t| {
                !desired
                    .triggers
                    .iter()
                    .any(|d| d.name.eq_ignore_ascii_case(&t.name))
            })
            .filter(|t| on_both(&t.table))
            .collect();
        if carried.is_empty() {
            return None;
        }
        let with = |s: &Schema| {
            let mut out = s.clone();
            out.triggers.extend(carried.iter().map(|t| (*t).clone()));
            settle_anew(&mut out);
            out
        };
        Some((with(current), with(desired)))
    }

    /// `current` and `desired` with the tables of `live` that the list leaves alone and that
    /// a trigger of `desired` on a managed table names (an audit trigger writing into an
    /// excluded log), added to both: what a replay of the schema alone needs to resolve that
    /// trigger as the live database does (SQLite resolves every trigger before a `RENAME`),
    /// without making the tables part of any plan (they are the same on both sides). `None`
    /// when no trigger names one, or `live` does not have it.
    pub fn lend(
        &self,
        live: &Schema,
        current: &Schema,
        desired: &Schema,
    ) -> Option<(Schema, Schema)> {
        let named: Vec<String> = self.named_by_triggers(desired);
        if named.is_empty() {
            return None;
        }
        let lent: Vec<&crate::model::Table> = live
            .tables
            .iter()
            .filter(|t| named.contains(&t.name.to_ascii_lowercase()))
            .collect();
        if lent.is_empty() {
            return None;
        }
        let with = |s: &Schema| {
            let mut out = s.clone();
            out.tables.extend(lent.iter().map(|t| (*t).clone()));
            out.normalize();
            settle_anew(&mut out);
            out
        };
        Some((with(current), with(desired)))
    }

    /// The names (lowercase) the triggers of `schema` mention, as a word or a string, that
    /// the list excludes.
    pub fn named_by_triggers(&self, schema: &Schema) -> Vec<String> {
        if self.is_empty() {
            return Vec::new();
        }
        let mut out: Vec<String> = Vec::new();
        for t in &schema.triggers {
            let words = match crate::sql::lex(t.sql.as_str()) {
                Ok(tokens) => tokens
                    .iter()
                    .filter_map(|t| match &t.token {
                        sqlparser::tokenizer::Token::Word(w) => Some(w.value.clone()),
                        sqlparser::tokenizer::Token::SingleQuotedString(s)
                        | sqlparser::tokenizer::Token::DoubleQuotedString(s) => Some(s.clone()),
                        _ => None,
                    })
                    .collect::<Vec<String>>(),
                Err(_) => Vec::new(),
            };
            for w in words {
                let lower = w.to_ascii_lowercase();
                if self.matches(&lower) && !out.contains(&lower) {
                    out.push(lower);
                }
            }
        }
        out
    }

    /// Returns the names of the triggers [`Exclude::carry`] added: those of `carried` that
    /// `current` (the schema before it added them) does not have.
    pub fn carried_triggers(carried: &Schema, current: &Schema) -> Vec<String> {
        carried
            .triggers
            .iter()
            .filter(|t| {
                !current
                    .triggers
                    .iter()
                    .any(|c| c.name.eq_ignore_ascii_case(&t.name))
            })
            .map(|t| t.name.to_string())
            .collect()
    }

    /// The views of `schema` that the list leaves alone because they read an excluded object
    /// (directly, or through another view so left alone), in the order they were found, each
    /// with the name it reads. The views the list names itself are not among them.
    pub fn dependents(&self, schema: &Schema) -> Vec<Dependent> {
        let mut out: Vec<Dependent> = Vec::new();
        if self.is_empty() {
            return out;
        }
        // Lowercase names of what is left alone so far.
        let mut gone: Vec<String> = schema
            .tables
            .iter()
            .map(|t| t.name.as_str())
            .chain(schema.views.iter().map(|v| v.name.as_str()))
            .chain(schema.virtual_tables.iter().map(|v| v.name.as_str()))
            .filter(|name| self.matches(name))
            .map(str::to_ascii_lowercase)
            .collect();
        if gone.is_empty() {
            return out;
        }
        let mut pending: Vec<(&str, NamesRead)> = schema
            .views
            .iter()
            .filter(|v| !self.matches(&v.name))
            .map(|v| (v.name.as_str(), NamesRead::new(v.select.as_str())))
            .collect();
        // Until nothing more is found: a view over a view left alone is found the round after.
        loop {
            let before = out.len();
            pending.retain(|(name, words)| {
                let Some(reads) = gone.iter().find(|g| words.contains(g)).cloned() else {
                    return true;
                };
                let excluded = out
                    .iter()
                    .find(|d| d.name.eq_ignore_ascii_case(&reads))
                    .map_or_else(|| schema_name(schema, &reads), |d| d.excluded.clone());
                out.push(Dependent {
                    name: (*name).to_string(),
                    reads: schema_name(schema, &reads),
                    excluded,
                });
                false
            });
            if out.len() == before {
                return out;
            }
            gone.extend(out[before..].iter().map(|d| d.name.to_ascii_lowercase()));
        }
    }
}

/// Compares the views and triggers of `schema` anew as SQLite's quote fix reads them in
/// `schema` itself (see [`crate::requote::settle`]). Which double-quoted words SQLite reads as
/// strings is asked of SQLite on the objects a trigger or view names: a live database settles
/// an audit trigger `... VALUES ("upd:")` against the excluded log table it writes into, while
/// the schema files, which do not have that table, cannot. A schema the list has filtered (or
/// added to) is therefore settled again on what it holds, as the files' schema is, so that
/// the same text compares equal on both sides.
fn settle_anew(schema: &mut Schema) {
    let quoted = |text: &str| text.contains('"');
    if !schema.views.iter().any(|v| quoted(v.select.as_str()))
        && !schema.triggers.iter().any(|t| quoted(t.sql.as_str()))
    {
        return;
    }
    for v in &mut schema.views {
        v.select = crate::sql::Sql::new(v.select.as_str());
    }
    for t in &mut schema.triggers {
        t.sql = crate::sql::Sql::new(t.sql.as_str());
    }
    crate::requote::settle(schema);
}

/// A view left alone because it reads an excluded object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependent {
    /// The view's name.
    pub name: String,
    /// The excluded object, or the view left alone, it reads, as the schema spells it.
    pub reads: String,
    /// The excluded table, virtual table or view it reads, directly (then `reads`) or
    /// through the views left alone.
    pub excluded: String,
}

/// The words (quoted or not) and strings of `sql`, lowercased: every name it may read.
enum NamesRead {
    Words(std::collections::HashSet<String>),
    /// The text did not lex: its lowercased text, searched for the name.
    Text(String),
}

impl NamesRead {
    fn new(sql: &str) -> Self {
        use sqlparser::tokenizer::Token;
        match crate::sql::lex(sql) {
            Ok(tokens) => NamesRead::Words(
                tokens
                    .iter()
                    .filter_map(|t| match &t.token {
                        Token::Word(w) => Some(w.value.to_ascii_lowercase()),
                        Token::SingleQuotedString(s) | Token::DoubleQuotedString(s) => {
                            Some(s.to_ascii_lowercase())
                        }
                        _ => None,
                    })
                    .collect(),
            ),
            Err(_) => NamesRead::Text(sql.to_ascii_lowercase()),
        }
    }

    /// Returns true when the SQL may read `lower` (a lowercase name).
    fn contains(&self, lower: &str) -> bool {
        match self {
            NamesRead::Words(words) => words.contains(lower),
            NamesRead::Text(text) => text.contains(lower),
        }
    }
}

/// The name of `schema`'s table, view or virtual table whose lowercase name is `lower`.
fn schema_name(schema: &Schema, lower: &str) -> String {
    schema
        .tables
        .iter()
        .map(|t| t.name.as_str())
        .chain(schema.views.iter().map(|v| v.name.as_str()))
        .chain(schema.virtual_tables.iter().map(|v| v.name.as_str()))
        .find(|n| n.eq_ignore_ascii_case(lower))
        .unwrap_or(lower)
        .to_string()
}

/// Matches `name` against `pattern` (`*` any run, `?` one character), ignoring ASCII case.
/// Iterative with one backtrack point, so it is linear-ish and never recurses deeply.
fn glob(pattern: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        if p < pattern.len()
            && (pattern[p] == b'?' || pattern[p].eq_ignore_ascii_case(&name[n]))
            && pattern[p] != b'*'
        {
            p += 1;
            n += 1;
        } else if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, n));
            p += 1;
        } else if let Some((sp, sn)) = star {
            p = sp + 1;
            n = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_names_ignoring_case() {
        for (pattern, name, expected) in [
            ("migrations_applied", "migrations_applied", true),
            ("migrations_applied", "MIGRATIONS_APPLIED", true),
            ("migrations_applied", "migrations_applied2", false),
            ("legacy_*", "legacy_log", true),
            ("legacy_*", "legacy_", true),
            ("legacy_*", "legacy", false),
            ("*_log", "metrics_log", true),
            ("*_log", "metrics_logs", false),
            ("t?", "t1", true),
            ("t?", "t12", false),
            ("*", "anything", true),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "axxbyy", false),
        ] {
            assert_eq!(
                glob(pattern.as_bytes(), name.as_bytes()),
                expected,
                "{pattern} ~ {name}"
            );
        }
    }

    #[test]
    fn what_reads_an_excluded_object_is_left_alone_with_it() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);
             CREATE TABLE legacy_a (id INTEGER PRIMARY KEY, tid INT, note TEXT);
             CREATE INDEX legacy_a_tid ON legacy_a (tid);
             CREATE VIEW legacy_v AS SELECT * FROM t;
             CREATE VIEW direct AS SELECT t.v, a.note FROM t JOIN \"LEGACY_A\" a ON a.tid = t.id;
             CREATE VIEW as_string AS SELECT * FROM 'legacy_a';
             CREATE VIEW deeper AS SELECT * FROM direct;
             CREATE VIEW over_view AS SELECT * FROM legacy_v;
             CREATE VIEW managed AS SELECT v FROM t;
             CREATE VIEW managed_over AS SELECT * FROM managed;
             CREATE TRIGGER on_deeper INSTEAD OF INSERT ON deeper BEGIN SELECT 1; END;
             CREATE TRIGGER on_managed INSTEAD OF INSERT ON managed BEGIN SELECT 1; END;
             CREATE TRIGGER writes AFTER INSERT ON t BEGIN INSERT INTO legacy_a (tid) VALUES (new.id); END;
             CREATE TRIGGER on_legacy AFTER INSERT ON legacy_a BEGIN SELECT 1; END;",
        )
        .unwrap();
        let schema = crate::inspect(&conn).unwrap();
        let exclude = Exclude::new(vec!["legacy_*".to_string()], "test").unwrap();
        let mut found: Vec<(String, String, String)> = exclude
            .dependents(&schema)
            .into_iter()
            .map(|d| (d.name, d.reads, d.excluded))
            .collect();
        found.sort();
        let s = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());
        assert_eq!(
            found,
            vec![
                s("as_string", "legacy_a", "legacy_a"),
                s("deeper", "direct", "legacy_a"),
                s("direct", "legacy_a", "legacy_a"),
                s("over_view", "legacy_v", "legacy_v"),
            ]
        );
        let kept = exclude.apply(&schema);
        let names = |v: Vec<&str>| v.into_iter().map(str::to_string).collect::<Vec<_>>();
        assert_eq!(
            kept.views
                .iter()
                .map(|v| v.name.to_string())
                .collect::<Vec<_>>(),
            names(vec!["managed", "managed_over"])
        );
        assert_eq!(
            kept.triggers
                .iter()
                .map(|t| t.name.to_string())
                .collect::<Vec<_>>(),
            names(vec!["on_managed", "writes"])
        );
        assert_eq!(
            kept.tables
                .iter()
                .map(|t| t.name.to_string())
                .collect::<Vec<_>>(),
            names(vec!["t"])
        );
        // Without an excluded object in the schema, nothing is left out.
        assert!(
            Exclude::new(vec!["other_*".to_string()], "test")
                .unwrap()
                .dependents(&schema)
                .is_empty()
        );
    }

    #[test]
    fn an_empty_pattern_is_refused_naming_its_place() {
        let err = Exclude::new(vec![" ".to_string()], "schemactl.toml").unwrap_err();
        assert!(err.to_string().contains("schemactl.toml"), "{err}");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// A pattern without wildcards matches exactly its own name (ignoring case), and
        /// `prefix*` matches every name that starts with the prefix.
        #[test]
        fn literal_and_prefix_patterns(name in "[a-z_]{1,12}", other in "[a-z_]{1,12}") {
            proptest::prop_assert!(glob(name.as_bytes(), name.to_uppercase().as_bytes()));
            proptest::prop_assert_eq!(glob(name.as_bytes(), other.as_bytes()), name == other);
            let prefix = format!("{name}*");
            let longer = format!("{name}{other}");
            proptest::prop_assert!(glob(prefix.as_bytes(), longer.as_bytes()));
        }
    }
}
