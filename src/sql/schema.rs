//! Which database schema (`main` or `temp`) a name in SQL means. SQLite resolves an unqualified
//! table name in TEMP first (https://www.sqlite.org/lang_naming.html), so a migration that
//! creates `TEMP TABLE a` shadows `main.a` for every unqualified read on its connection: every
//! statement schemactl writes to read or count a user table names it [`main_table`], and every
//! reader of a migration's statements that follows a table by name keeps its schema
//! ([`qualified_at`], [`Schema`]).

use super::{Tok, Token, quote_ident};

/// The schema a statement names a table in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Schema {
    /// No schema written: SQLite looks in TEMP first, then in main.
    Unqualified,
    /// `main.t`: the database file.
    Main,
    /// `temp.t`, or `CREATE TEMP TABLE t`: the connection's own, gone when it closes.
    Temp,
    /// Any other schema (an attached database: a migration cannot attach one).
    Other,
}

impl Schema {
    /// Reads a schema's name (`main`, `temp`, ASCII case ignored).
    pub fn named(name: &str) -> Self {
        if name.eq_ignore_ascii_case("main") {
            Schema::Main
        } else if name.eq_ignore_ascii_case("temp") {
            Schema::Temp
        } else {
            Schema::Other
        }
    }
}

/// The table `name` of the main database, quoted: what every count and read of a user table
/// that schemactl writes names, so that a TEMP table of the same name never answers for it.
pub fn main_table(name: &str) -> String {
    format!("main.{}", quote_ident(name))
}

/// Reads a possibly schema-qualified name at token `i` as [`super::name_at`] does, with the
/// schema written before it: `(schema, name, index after it)`.
pub fn qualified_at(tokens: &[Tok], i: usize) -> Option<(Schema, String, usize)> {
    let (name, next) = super::name_at(tokens, i)?;
    let schema = if next >= i + 3
        && tokens
            .get(next - 2)
            .is_some_and(|t| t.token == Token::Period)
    {
        tokens
            .get(next - 3)
            .and_then(|t| t.name())
            .map_or(Schema::Other, Schema::named)
    } else {
        Schema::Unqualified
    };
    Some((schema, name, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qualified_at_reads_the_schema_in_every_spelling() {
        let read = |sql: &str| {
            let tokens = crate::sql::lex(sql).unwrap();
            qualified_at(&tokens, 0).map(|(s, n, _)| (s, n))
        };
        assert_eq!(read("a"), Some((Schema::Unqualified, "a".into())));
        assert_eq!(read("TEMP.\"a b\""), Some((Schema::Temp, "a b".into())));
        assert_eq!(read("'temp'.a"), Some((Schema::Temp, "a".into())));
        assert_eq!(read("[Main].`a`"), Some((Schema::Main, "a".into())));
        assert_eq!(read("aux.a"), Some((Schema::Other, "a".into())));
        assert_eq!(main_table("a\"b"), "main.\"a\"\"b\"");
    }
}
