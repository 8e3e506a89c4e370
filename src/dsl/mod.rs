//! The YAML schema DSL, version 1: loading and validating schema files into the model.
//!
//! A schema is one `.yaml` file or a directory of them, merged. Loading parses each file
//! (serde-saphyr: duplicate keys, unknown keys and wrong types are errors with their place),
//! checks every name and reference, checks every SQL fragment with SQLite itself, and finally
//! materialises the schema in memory and inspects it back (see [`crate::normal`]), so the
//! result is in normal form and anything SQLite refuses is reported at its place in the file.

mod context;
mod convert;
mod export;
mod json_schema;
mod rules;
mod spec;
mod table;

use std::path::Path;

pub use export::export;
pub use json_schema::json_schema;
pub use rules::{Expiry, Invariant, Query, Retention, Rules};

use crate::error::{Error, Result, SourceError};
use crate::model::Schema;

/// The only DSL format version.
pub const FORMAT_VERSION: i64 = 1;

/// A loaded desired schema: its version, normal form and rename hints.
#[derive(Debug, Clone)]
pub struct Desired {
    /// The schema version the author declared.
    pub version: u32,
    /// The schema in normal form.
    pub schema: Schema,
    /// `renamed_from` hints, which diff uses and never guesses.
    pub renames: Renames,
    /// Invariants, expiry, retention and queries (not part of the structure).
    pub rules: Rules,
    /// The tables the schema files exclude (their `exclude:` keys, merged).
    pub exclude: crate::exclude::Exclude,
}

impl Desired {
    /// No schema: nothing declared, nothing excluded.
    pub fn empty() -> Desired {
        Desired {
            version: 0,
            schema: Schema::default(),
            renames: Renames::default(),
            rules: Rules::default(),
            exclude: crate::exclude::Exclude::default(),
        }
    }
}

/// The `renamed_from` hints of a schema.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Renames {
    /// `(new table, old table)`.
    pub tables: Vec<(String, String)>,
    /// `(table, new column, old column)`.
    pub columns: Vec<(String, String, String)>,
    /// `(table, new index, old index)`.
    pub indexes: Vec<(String, String, String)>,
    /// Where each hint is written (`file:line:column`), by the object it renames, spelled as
    /// the diff's messages spell it: `table "u"`, `column "t"."c"`, `index "i"`.
    pub places: std::collections::BTreeMap<String, String>,
}

/// One schema file's name (as shown in messages) and text.
#[derive(Debug, Clone)]
pub struct Source {
    /// The file's path as given.
    pub file: String,
    /// Its contents.
    pub text: String,
}

/// Loads a schema file, or every `*.yaml`/`*.yml` file of a directory, into normal form.
pub fn load(path: &Path) -> Result<Desired> {
    load_sources(&read_sources(path)?)
}

/// Loads the schema files at `path` when there are any: None when `path` does not exist or is
/// a directory without `*.yaml` files (a versioned-only project, with migration files alone).
/// Whatever the files hold is loaded and checked as [`load`] does.
pub fn load_if_any(path: &Path) -> Result<Option<Desired>> {
    match load(path) {
        Err(Error::NoSchemaFiles { .. }) => Ok(None),
        _ if !path.exists() => Ok(None),
        other => other.map(Some),
    }
}

/// Loads a schema from text, naming it `file` in messages.
pub fn load_str(file: &str, text: &str) -> Result<Desired> {
    load_sources(&[Source {
        file: file.to_string(),
        text: text.to_string(),
    }])
}

/// Reads the schema files at `path`, sorted by name when it is a directory.
pub fn read_sources(path: &Path) -> Result<Vec<Source>> {
    let read = |p: &Path| {
        std::fs::read_to_string(p)
            .map(|text| Source {
                file: p.display().to_string(),
                text,
            })
            .map_err(|e| Error::io("read schema file", p, e))
    };
    let meta = std::fs::metadata(path).map_err(|e| Error::io("read schema", path, e))?;
    if !meta.is_dir() {
        return Ok(vec![read(path)?]);
    }
    let mut files: Vec<_> = std::fs::read_dir(path)
        .map_err(|e| Error::io("read schema directory", path, e))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(Error::NoSchemaFiles {
            path: path.to_path_buf(),
        });
    }
    files.iter().map(|p| read(p)).collect()
}

/// Loads schema sources into normal form, reporting every error found with its place.
pub fn load_sources(sources: &[Source]) -> Result<Desired> {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for source in sources {
        if source.text.trim().is_empty() {
            errors.push(SourceError::at(
                &source.file,
                &source.text,
                0,
                0,
                "the file is empty: a schema file starts with `schemactl: 1`",
                "empty",
            ));
            continue;
        }
        match serde_saphyr::from_str::<spec::FileSpec>(&source.text) {
            Ok(file) => files.push(file),
            Err(e) => errors.push(yaml_error(source, &e)),
        }
    }
    if !errors.is_empty() {
        return Err(Error::Source(errors));
    }
    convert::convert(sources, files)
}

fn yaml_error(source: &Source, e: &serde_saphyr::Error) -> SourceError {
    let message = yaml_message(&e.without_snippet().to_string());
    match e.location() {
        Some(loc) if loc.line() > 0 => {
            let offset = context::offset_of(&source.text, loc.line(), loc.column());
            SourceError::at(&source.file, &source.text, offset, 1, message, "here")
        }
        _ => SourceError::at(&source.file, &source.text, 0, 0, message, "in this file"),
    }
}

/// Makes serde-saphyr's message read like ours: no trailing position (the prefix has it), and
/// duplicate keys explained rather than configurable.
fn yaml_message(raw: &str) -> String {
    let first = raw.lines().next().unwrap_or("invalid YAML");
    let first = first.rfind(" at line ").map_or(first, |i| &first[..i]);
    match first.strip_prefix("duplicate mapping key: ") {
        Some(rest) => {
            let key = rest.split(',').next().unwrap_or(rest).trim();
            format!(
                "duplicate key `{key}`: a key may appear only once in a map (the second would silently replace the first)"
            )
        }
        None => first.to_string(),
    }
}
