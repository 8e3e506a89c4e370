//! Spec to model: names, references and SQL fragments checked, errors collected with places.

use std::collections::HashMap;

use rusqlite::Connection;
use serde_saphyr::{Location, Spanned};
use sqlparser::tokenizer::Token;

use super::spec::{
    ActionSpec, CheckSpec, ColumnChecks, ColumnSpec, DefaultSpec, DeferrableSpec, FileSpec,
    IndexSpec, PrimaryKeySpec, TableSpec, UniqueSpec,
};
use super::{Desired, FORMAT_VERSION, Renames, Source};
use crate::error::{Error, Result, SourceError};
use crate::model::{
    Check, Column, Deferrable, FkAction, ForeignKey, Generated, Index, KeyPart, Name, PrimaryKey,
    Schema, Table, Trigger, View, VirtualTable,
};
use crate::normal::{self, Object};
use crate::parse::{
    ParseError, check_type, parse_key_part, parse_reference, parse_trigger, parse_virtual_table,
};
use crate::sql::{Sql, lex, matching_paren, quote_literal};

/// Returns the byte offset of 1-based `line` and character `column` in `text`.
pub fn offset_of(text: &str, line: u64, column: u64) -> usize {
    let line = usize::try_from(line).unwrap_or(usize::MAX);
    let column = usize::try_from(column).unwrap_or(usize::MAX);
    let Some((start, _)) = std::iter::once((0, ""))
        .chain(text.match_indices('\n').map(|(i, s)| (i + 1, s)))
        .nth(line.saturating_sub(1))
    else {
        return text.len();
    };
    text[start..]
        .char_indices()
        .nth(column.saturating_sub(1))
        .map_or(text.len(), |(i, _)| start + i)
}

/// A place in one of the sources.
#[derive(Debug, Clone, Copy)]
struct Place {
    src: usize,
    loc: Location,
}

struct Ctx<'a> {
    sources: &'a [Source],
    errors: Vec<SourceError>,
    probe: Option<Connection>,
}

impl Ctx<'_> {
    fn error(&mut self, place: Place, message: impl Into<String>, label: impl Into<String>) {
        let source = &self.sources[place.src];
        let (offset, len) = if place.loc.line() == 0 {
            (0, 0)
        } else {
            let offset = offset_of(&source.text, place.loc.line(), place.loc.column());
            let len = place
                .loc
                .span()
                .byte_len()
                .and_then(|l| usize::try_from(l).ok())
                .unwrap_or(1)
                .max(1);
            (offset, len)
        };
        self.errors.push(SourceError::at(
            &source.file,
            &source.text,
            offset,
            len,
            message,
            label,
        ));
    }

    /// Checks that `text` is one SQL expression that SQLite can parse.
    fn check_expr(&mut self, place: Place, what: &str, text: &str) -> bool {
        match expr_problem(self.probe.as_ref(), text) {
            None => true,
            Some(problem) => {
                self.error(
                    place,
                    format!("{what}: {problem}"),
                    "not a valid SQL expression",
                );
                false
            }
        }
    }
}

/// Returns why `text` is not a single SQLite expression, or None when it is one.
fn expr_problem(probe: Option<&Connection>, text: &str) -> Option<String> {
    let tokens = match lex(text) {
        Ok(t) => t,
        Err(e) => return Some(e.message),
    };
    if tokens.is_empty() {
        return Some("the expression is empty".into());
    }
    let mut i = 0;
    while i < tokens.len() {
        match tokens[i].token {
            Token::LParen => match matching_paren(&tokens, i) {
                Some(close) => i = close + 1,
                None => return Some("unbalanced parentheses".into()),
            },
            Token::RParen => return Some("unbalanced parentheses".into()),
            Token::SemiColon => return Some("`;` ends the statement inside an expression".into()),
            Token::Comma => return Some("a list where one expression is expected".into()),
            _ => i += 1,
        }
    }
    let probe = probe?;
    // SQLite is the judge of its own syntax: a prepared `SELECT (expr)` fails with "syntax
    // error" or "unrecognized token" only when the text does not parse; unknown columns or
    // functions parse fine and are checked later, in context, by materialising.
    match probe.prepare(&format!("SELECT ({text}\n)")) {
        Ok(_) => None,
        Err(e) => {
            let msg = normal::sqlite_message(&e);
            let syntax = ["syntax error", "unrecognized token", "incomplete input"]
                .iter()
                .any(|s| msg.contains(s));
            syntax.then_some(msg)
        }
    }
}

fn place_of<T>(src: usize, s: &Spanned<T>) -> Place {
    Place {
        src,
        loc: s.referenced,
    }
}

/// What later checks need to know of every table: its columns and primary-key arity.
struct TableShape {
    columns: Vec<String>,
    pk_len: usize,
}

pub(super) fn convert(sources: &[Source], files: &[FileSpec]) -> Result<Desired> {
    let mut ctx = Ctx {
        sources,
        errors: Vec::new(),
        probe: Connection::open_in_memory().ok(),
    };
    let version = file_versions(&mut ctx, files);

    // Pass 1: every object's name, place and (for tables) shape, across files.
    let mut places: HashMap<String, (Place, &'static str)> = HashMap::new();
    let mut shapes: HashMap<String, TableShape> = HashMap::new();
    let mut tables: Vec<(usize, &Spanned<String>, &TableSpec)> = Vec::new();
    for (src, file) in files.iter().enumerate() {
        let kinds = [
            (
                "table",
                file.tables.0.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            ),
            ("view", file.views.0.iter().map(|(k, _)| k).collect()),
            ("trigger", file.triggers.0.iter().map(|(k, _)| k).collect()),
            (
                "virtual table",
                file.virtual_tables.0.iter().map(|(k, _)| k).collect(),
            ),
        ];
        for (kind, names) in kinds {
            for name in names {
                declare(&mut ctx, &mut places, src, name, kind);
            }
        }
        for (name, spec) in &file.tables.0 {
            tables.push((src, name, spec));
            shapes.insert(name.value.to_ascii_lowercase(), shape_of(&ctx, spec));
        }
    }
    for (src, file) in files.iter().enumerate() {
        for (name, _) in &file.virtual_tables.0 {
            shapes
                .entry(name.value.to_ascii_lowercase())
                .or_insert(TableShape {
                    columns: Vec::new(),
                    pk_len: 0,
                });
            let _ = src;
        }
    }

    // Pass 2: convert, checking references against the shapes.
    let mut schema = Schema::default();
    let mut renames = Renames::default();
    let mut objects: HashMap<String, Place> = HashMap::new();
    for (src, name, spec) in &tables {
        objects.insert(
            object_key(&Object::Table(name.value.clone())),
            place_of(*src, name),
        );
        for (iname, _) in &spec.indexes.0 {
            let object = Object::Index {
                table: name.value.clone(),
                name: iname.value.clone(),
            };
            objects.insert(object_key(&object), place_of(*src, iname));
        }
        if let Some(table) = table(&mut ctx, *src, name, spec, &shapes, &mut renames) {
            schema.tables.push(table);
        }
    }
    for (src, file) in files.iter().enumerate() {
        for (name, spec) in &file.views.0 {
            objects.insert(
                object_key(&Object::View(name.value.clone())),
                place_of(src, &spec.sql),
            );
            schema.views.push(View {
                name: name.value.clone().into(),
                columns: spec.columns.iter().map(Name::from).collect(),
                select: Sql::new(spec.sql.value.trim().trim_end_matches(';')),
            });
        }
        for (name, spec) in &file.triggers.0 {
            let place = place_of(src, &spec.sql);
            objects.insert(object_key(&Object::Trigger(name.value.clone())), place);
            match parse_trigger(&spec.sql.value) {
                Ok((tname, table)) => {
                    if !tname.eq_ignore_ascii_case(&name.value) {
                        ctx.error(
                            place,
                            format!("trigger \"{}\": its SQL creates \"{tname}\"", name.value),
                            "name differs from the key",
                        );
                    } else if !places
                        .get(&table.to_ascii_lowercase())
                        .is_some_and(|(_, k)| *k == "table" || *k == "view")
                    {
                        ctx.error(
                            place,
                            format!("trigger \"{}\": unknown table \"{table}\"", name.value),
                            "no such table or view in the schema",
                        );
                    }
                    schema.triggers.push(Trigger {
                        name: name.value.clone().into(),
                        table,
                        sql: Sql::new(spec.sql.value.trim().to_string()),
                    });
                }
                Err(e) => ctx.error(
                    place,
                    format!("trigger \"{}\": {}", name.value, parse_message(&e)),
                    "expected CREATE TRIGGER ... BEGIN ... END",
                ),
            }
        }
        for (name, spec) in &file.virtual_tables.0 {
            let place = place_of(src, &spec.sql);
            objects.insert(object_key(&Object::VirtualTable(name.value.clone())), place);
            match parse_virtual_table(&spec.sql.value) {
                Ok(vname) if vname.eq_ignore_ascii_case(&name.value) => {
                    schema.virtual_tables.push(VirtualTable {
                        name: name.value.clone().into(),
                        sql: Sql::new(spec.sql.value.trim().to_string()),
                    });
                }
                Ok(vname) => ctx.error(
                    place,
                    format!(
                        "virtual table \"{}\": its SQL creates \"{vname}\"",
                        name.value
                    ),
                    "name differs from the key",
                ),
                Err(e) => ctx.error(
                    place,
                    format!("virtual table \"{}\": {}", name.value, parse_message(&e)),
                    "expected CREATE VIRTUAL TABLE ... USING ...",
                ),
            }
        }
    }
    if !ctx.errors.is_empty() {
        return Err(Error::Source(ctx.errors));
    }
    schema.normalize();

    // Pass 3: SQLite has the last word; its refusals are reported at the object's place.
    let normal = materialise(&mut ctx, &schema, &objects);
    if !ctx.errors.is_empty() {
        return Err(Error::Source(ctx.errors));
    }
    let (Some(version), Some(schema)) = (version, normal) else {
        return Err(Error::Source(ctx.errors));
    };
    Ok(Desired {
        version,
        schema,
        renames,
    })
}

fn parse_message(e: &ParseError) -> String {
    match e {
        ParseError::Syntax { message, .. } => message.clone(),
        ParseError::Unsupported { reason } => format!("not supported: {reason}"),
    }
}

fn object_key(object: &Object) -> String {
    object.to_string().to_ascii_lowercase()
}

fn declare(
    ctx: &mut Ctx<'_>,
    places: &mut HashMap<String, (Place, &'static str)>,
    src: usize,
    name: &Spanned<String>,
    kind: &'static str,
) {
    let place = place_of(src, name);
    let lower = name.value.to_ascii_lowercase();
    if name.value.is_empty() {
        ctx.error(place, format!("{kind} with an empty name"), "name it");
        return;
    }
    if lower.starts_with("sqlite_") || lower.starts_with("_schemactl") {
        ctx.error(
            place,
            format!(
                "{kind} \"{}\": names starting with sqlite_ or _schemactl are reserved",
                name.value
            ),
            "reserved name",
        );
    }
    if let Some((first, first_kind)) = places.get(&lower).copied() {
        let first_at = format!(
            "{}:{}:{}",
            ctx.sources[first.src].file,
            first.loc.line(),
            first.loc.column()
        );
        ctx.error(
            place,
            format!(
                "{kind} \"{}\" is defined twice: also as a {first_kind} at {first_at}",
                name.value
            ),
            "second definition",
        );
        return;
    }
    places.insert(lower, (place, kind));
}

fn file_versions(ctx: &mut Ctx<'_>, files: &[FileSpec]) -> Option<u32> {
    let mut version: Option<(u32, Place)> = None;
    for (src, file) in files.iter().enumerate() {
        if file.schemactl.value != FORMAT_VERSION {
            ctx.error(
                place_of(src, &file.schemactl),
                format!(
                    "unknown DSL format version {}; this schemactl reads version {FORMAT_VERSION}",
                    file.schemactl.value
                ),
                "unsupported version",
            );
        }
        let Some(v) = &file.version else { continue };
        let place = place_of(src, v);
        let Some(value) = u32::try_from(v.value).ok().filter(|v| *v > 0) else {
            ctx.error(
                place,
                format!("version {} is not a positive integer", v.value),
                "must be 1 or more",
            );
            continue;
        };
        match version {
            Some((first, _)) if first != value => ctx.error(
                place,
                format!("version {value} disagrees with version {first} declared in another file"),
                "conflicting version",
            ),
            Some(_) => {}
            None => version = Some((value, place)),
        }
    }
    if version.is_none() && ctx.errors.is_empty() {
        ctx.error(
            Place {
                src: 0,
                loc: Location::UNKNOWN,
            },
            "the schema declares no version: add `version: 1` (a positive integer you bump)",
            "missing version",
        );
    }
    version.map(|(v, _)| v)
}

fn shape_of(ctx: &Ctx<'_>, spec: &TableSpec) -> TableShape {
    if let Some(sql) = &spec.sql {
        // A verbatim table's shape is whatever SQLite makes of it.
        let columns = ctx
            .probe
            .as_ref()
            .and_then(|c| verbatim_columns(c, &sql.value).ok())
            .unwrap_or_default();
        return TableShape { pk_len: 0, columns };
    }
    let column_pk = spec.columns.0.iter().filter(|(_, c)| c.primary_key).count();
    let pk_len = match spec.primary_key.as_ref().map(|p| &p.value) {
        Some(PrimaryKeySpec::Keys(k)) => k.len(),
        Some(PrimaryKeySpec::Full { columns, .. }) => columns.len(),
        None => column_pk,
    };
    TableShape {
        columns: spec
            .columns
            .0
            .iter()
            .map(|(k, _)| k.value.clone())
            .collect(),
        pk_len,
    }
}

/// Creates a verbatim table in a scratch savepoint and reads its column names.
fn verbatim_columns(conn: &Connection, sql: &str) -> rusqlite::Result<Vec<String>> {
    conn.execute_batch("SAVEPOINT shape")?;
    let result = (|| {
        conn.prepare(sql)?.execute([])?;
        let name: String = conn.query_row(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid DESC LIMIT 1",
            [],
            |r| r.get(0),
        )?;
        let mut stmt = conn.prepare("SELECT name FROM pragma_table_xinfo(?1)")?;
        let cols = stmt
            .query_map([name], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        Ok(cols)
    })();
    conn.execute_batch("ROLLBACK TO shape; RELEASE shape")?;
    result
}

fn has_column(shape: &TableShape, name: &str) -> bool {
    shape.columns.iter().any(|c| c.eq_ignore_ascii_case(name))
}

fn table(
    ctx: &mut Ctx<'_>,
    src: usize,
    name: &Spanned<String>,
    spec: &TableSpec,
    shapes: &HashMap<String, TableShape>,
    renames: &mut Renames,
) -> Option<Table> {
    let tname = name.value.clone();
    let tplace = place_of(src, name);
    let errors_before = ctx.errors.len();
    let mut table = Table::new(tname.clone());
    if let Some(old) = &spec.renamed_from {
        renames.tables.push((tname.clone(), old.value.clone()));
    }
    let shape = shapes.get(&tname.to_ascii_lowercase())?;
    if let Some(sql) = &spec.sql {
        let structural = !spec.columns.0.is_empty()
            || spec.primary_key.is_some()
            || !spec.unique.is_empty()
            || !spec.checks.is_empty()
            || !spec.foreign_keys.is_empty()
            || spec.strict
            || spec.without_rowid;
        if structural {
            ctx.error(place_of(src, sql), format!("table \"{tname}\": `sql` replaces columns and constraints; give one or the other"), "verbatim table");
        }
        match crate::parse::parse_table(&sql.value).map(|t| t.name) {
            Ok(n) if !n.eq_ignore_ascii_case(&tname) => ctx.error(
                place_of(src, sql),
                format!("table \"{tname}\": its SQL creates \"{n}\""),
                "name differs from the key",
            ),
            _ => {}
        }
        table.verbatim = Some(Sql::new(sql.value.trim().trim_end_matches(';').to_string()));
    } else if spec.columns.0.is_empty() {
        ctx.error(
            tplace,
            format!("table \"{tname}\" has no columns"),
            "add `columns:`",
        );
    }

    let mut column_pk: Vec<(&Spanned<String>, &ColumnSpec)> = Vec::new();
    for (cname, cspec) in &spec.columns.0 {
        if cname.value.is_empty() {
            ctx.error(
                place_of(src, cname),
                format!("table \"{tname}\": a column has an empty name"),
                "name it",
            );
        }
        if table
            .columns
            .iter()
            .any(|c| c.name.eq_ignore_ascii_case(&cname.value))
        {
            ctx.error(
                place_of(src, cname),
                format!(
                    "column \"{tname}\".\"{}\" is defined twice (names ignore case)",
                    cname.value
                ),
                "second definition",
            );
        }
        if let Some(old) = &cspec.renamed_from {
            renames
                .columns
                .push((tname.clone(), cname.value.clone(), old.value.clone()));
        }
        let column = column(ctx, src, &tname, cname, cspec);
        if cspec.primary_key {
            column_pk.push((cname, cspec));
        } else if cspec.autoincrement {
            ctx.error(
                place_of(src, cname),
                format!(
                    "column \"{tname}\".\"{}\": autoincrement needs primary_key: true",
                    cname.value
                ),
                "autoincrement without a key",
            );
        }
        if cspec.unique {
            table.uniques.push(crate::model::Unique {
                name: None,
                columns: vec![KeyPart::column(cname.value.clone())],
            });
        }
        table.columns.push(column);
    }

    match (&spec.primary_key, column_pk.as_slice()) {
        (Some(pk), [(c, _), ..]) => ctx.error(
            place_of(src, pk),
            format!(
                "table \"{tname}\": primary key declared both on column \"{}\" and on the table",
                c.value
            ),
            "second primary key",
        ),
        (None, [_, (second, _), ..]) => ctx.error(
            place_of(src, second),
            format!("table \"{tname}\": more than one column has primary_key: true"),
            "declare a composite key with the table's `primary_key: [a, b]`",
        ),
        (None, [(c, cspec)]) => {
            table.primary_key = Some(PrimaryKey {
                name: None,
                columns: vec![KeyPart::column(c.value.clone())],
                autoincrement: cspec.autoincrement,
            });
        }
        (Some(pk), []) => {
            let place = place_of(src, pk);
            let (name, keys, autoincrement) = match &pk.value {
                PrimaryKeySpec::Keys(k) => (None, k, false),
                PrimaryKeySpec::Full {
                    name,
                    columns,
                    autoincrement,
                } => (name.clone(), columns, *autoincrement),
            };
            let columns = key_parts(ctx, place, &tname, shape, keys, "primary key");
            table.primary_key = Some(PrimaryKey {
                name: name.map(Name::from),
                columns,
                autoincrement,
            });
        }
        (None, []) => {}
    }

    for u in &spec.unique {
        let place = place_of(src, u);
        let (name, keys) = match &u.value {
            UniqueSpec::Keys(k) => (None, k),
            UniqueSpec::Named { name, columns } => (name.clone(), columns),
        };
        let columns = key_parts(ctx, place, &tname, shape, keys, "unique constraint");
        table.uniques.push(crate::model::Unique {
            name: name.map(Name::from),
            columns,
        });
    }
    for c in &spec.checks {
        let place = place_of(src, c);
        if let Some(check) = check(ctx, place, &format!("check on table \"{tname}\""), &c.value) {
            table.checks.push(check);
        }
    }
    for fk in &spec.foreign_keys {
        let place = place_of(src, fk);
        let fkv = &fk.value;
        for col in &fkv.columns {
            if !has_column(shape, &col.value) {
                ctx.error(
                    place_of(src, col),
                    format!(
                        "foreign key on table \"{tname}\": unknown column \"{}\"",
                        col.value
                    ),
                    "no such column in this table",
                );
            }
        }
        let rplace = place_of(src, &fkv.references);
        let (ref_table, ref_columns) = match parse_reference(&fkv.references.value) {
            Ok(r) => r,
            Err(e) => {
                ctx.error(
                    rplace,
                    format!("foreign key on table \"{tname}\": {}", parse_message(&e)),
                    "expected `table` or `table(column, ...)`",
                );
                continue;
            }
        };
        match shapes.get(&ref_table.to_ascii_lowercase()) {
            None => ctx.error(
                rplace,
                format!(
                    "foreign key on table \"{tname}\" references unknown table \"{ref_table}\""
                ),
                "no such table in the schema",
            ),
            Some(parent) => {
                for rc in &ref_columns {
                    if !parent.columns.is_empty() && !has_column(parent, rc) {
                        ctx.error(rplace, format!("foreign key on table \"{tname}\" references unknown column \"{ref_table}\".\"{rc}\""), "no such column in the parent");
                    }
                }
                let arity = if ref_columns.is_empty() {
                    parent.pk_len
                } else {
                    ref_columns.len()
                };
                if (!ref_columns.is_empty() || !parent.columns.is_empty())
                    && arity != fkv.columns.len()
                {
                    ctx.error(place, format!("foreign key on table \"{tname}\": {} child column(s) but {arity} parent column(s)", fkv.columns.len()), "column counts differ");
                }
            }
        }
        table.foreign_keys.push(ForeignKey {
            name: fkv.name.as_ref().map(Name::from),
            columns: fkv.columns.iter().map(|c| Name::from(&c.value)).collect(),
            ref_table,
            ref_columns,
            on_delete: action(fkv.on_delete),
            on_update: action(fkv.on_update),
            deferrable: match fkv.deferrable {
                None | Some(DeferrableSpec::No) => Deferrable::No,
                Some(DeferrableSpec::InitiallyImmediate) => Deferrable::InitiallyImmediate,
                Some(DeferrableSpec::InitiallyDeferred) => Deferrable::InitiallyDeferred,
            },
        });
    }
    for (iname, ispec) in &spec.indexes.0 {
        if let Some(old) = &ispec.renamed_from {
            renames
                .indexes
                .push((tname.clone(), iname.value.clone(), old.value.clone()));
        }
        if let Some(index) = index(ctx, src, &tname, shape, iname, ispec) {
            table.indexes.push(index);
        }
    }
    table.strict = spec.strict;
    table.without_rowid = spec.without_rowid;
    (ctx.errors.len() == errors_before).then_some(table)
}

fn action(a: Option<ActionSpec>) -> FkAction {
    match a {
        None | Some(ActionSpec::NoAction) => FkAction::NoAction,
        Some(ActionSpec::Restrict) => FkAction::Restrict,
        Some(ActionSpec::SetNull) => FkAction::SetNull,
        Some(ActionSpec::SetDefault) => FkAction::SetDefault,
        Some(ActionSpec::Cascade) => FkAction::Cascade,
    }
}

fn key_parts(
    ctx: &mut Ctx<'_>,
    place: Place,
    tname: &str,
    shape: &TableShape,
    keys: &[String],
    what: &str,
) -> Vec<KeyPart> {
    if keys.is_empty() {
        ctx.error(
            place,
            format!("{what} on table \"{tname}\" has no columns"),
            "list at least one column",
        );
    }
    keys.iter()
        .filter_map(|k| key(ctx, place, tname, shape, k, what))
        .collect()
}

/// Parses one key of a key constraint or index, checking its column or its expression.
fn key(
    ctx: &mut Ctx<'_>,
    place: Place,
    tname: &str,
    shape: &TableShape,
    text: &str,
    what: &str,
) -> Option<KeyPart> {
    match parse_key_part(text) {
        Ok(k) if k.is_expr => ctx
            .check_expr(place, &format!("{what} on table \"{tname}\""), k.expr.as_str())
            .then_some(k),
        Ok(k) => {
            if !has_column(shape, k.expr.as_str()) {
                ctx.error(
                    place,
                    format!("{what} on table \"{tname}\": unknown column \"{}\"", k.expr),
                    "no such column in this table",
                );
            }
            Some(k)
        }
        Err(e) => {
            ctx.error(
                place,
                format!("{what} on table \"{tname}\": key `{text}`: {}", parse_message(&e)),
                "expected `column [COLLATE name] [ASC|DESC]` or an expression",
            );
            None
        }
    }
}

fn index(
    ctx: &mut Ctx<'_>,
    src: usize,
    tname: &str,
    shape: &TableShape,
    iname: &Spanned<String>,
    spec: &IndexSpec,
) -> Option<Index> {
    let what = format!("index \"{}\"", iname.value);
    if spec.columns.is_empty() {
        ctx.error(
            place_of(src, iname),
            format!("{what} has no columns"),
            "list at least one column",
        );
    }
    let columns = spec
        .columns
        .iter()
        .filter_map(|k| key(ctx, place_of(src, k), tname, shape, &k.value, &what))
        .collect();
    let where_clause = spec.where_clause.as_ref().map(|w| {
        ctx.check_expr(place_of(src, w), &format!("{what} WHERE"), &w.value);
        Sql::new(w.value.clone())
    });
    Some(Index {
        name: iname.value.clone().into(),
        unique: spec.unique,
        columns,
        where_clause,
    })
}

fn check(ctx: &mut Ctx<'_>, place: Place, what: &str, spec: &CheckSpec) -> Option<Check> {
    let (name, expr) = match spec {
        CheckSpec::Expr(e) => (None, e),
        CheckSpec::Named { name, expr } => (Some(name.clone()), expr),
    };
    ctx.check_expr(place, what, expr).then(|| Check {
        name: name.map(Name::from),
        expr: Sql::new(expr.clone()),
    })
}

fn column(
    ctx: &mut Ctx<'_>,
    src: usize,
    tname: &str,
    cname: &Spanned<String>,
    spec: &ColumnSpec,
) -> Column {
    let what = format!("column \"{tname}\".\"{}\"", cname.value);
    let decl_type = spec.decl_type.as_ref().map_or("", |t| t.value.as_str());
    if let Some(t) = &spec.decl_type
        && let Err(e) = check_type(&t.value)
    {
        ctx.error(
            place_of(src, t),
            format!("{what}: type `{}`: {}", t.value, parse_message(&e)),
            "expected a type such as TEXT or VARCHAR(255)",
        );
    }
    let mut column = Column::new(cname.value.clone(), decl_type.trim());
    column.not_null = spec.not_null;
    if let Some(d) = &spec.default {
        let place = place_of(src, d);
        let text = match &d.value {
            DefaultSpec::Bool(b) => Some(if *b {
                "TRUE".to_string()
            } else {
                "FALSE".to_string()
            }),
            DefaultSpec::Int(i) => Some(i.to_string()),
            DefaultSpec::Float(f) if f.is_finite() => Some(format!("{f:?}")),
            DefaultSpec::Float(_) => {
                ctx.error(
                    place,
                    format!("{what}: a default must be a finite number"),
                    "not finite",
                );
                None
            }
            DefaultSpec::Str(s) => Some(quote_literal(s)),
            DefaultSpec::Sql { sql } => ctx
                .check_expr(place, &format!("{what} default"), sql)
                .then(|| format!("({sql})")),
        };
        column.default = text.map(Sql::new).filter(|s| s.key() != "null");
    }
    if let Some(c) = &spec.collate {
        if c.value.trim().is_empty() {
            ctx.error(
                place_of(src, c),
                format!("{what}: empty collation name"),
                "name a collation such as NOCASE",
            );
        }
        column.collate = Some(c.value.clone());
    }
    if let Some(checks) = &spec.check {
        let place = place_of(src, checks);
        let list: Vec<&CheckSpec> = match &checks.value {
            ColumnChecks::One(c) => vec![c],
            ColumnChecks::Many(cs) => cs.iter().collect(),
        };
        for c in list {
            if let Some(c) = check(ctx, place, &format!("{what} check"), c) {
                column.checks.push(c);
            }
        }
    }
    if let Some(g) = &spec.generated {
        let place = place_of(src, g);
        if ctx.check_expr(place, &format!("{what} generated"), &g.value.expr) {
            column.generated = Some(Generated {
                expr: Sql::new(g.value.expr.clone()),
                stored: g.value.stored,
            });
        }
    }
    column
}

/// Creates the schema in memory, reporting SQLite's refusals at the objects' places, and
/// returns its normal form.
fn materialise(
    ctx: &mut Ctx<'_>,
    schema: &Schema,
    objects: &HashMap<String, Place>,
) -> Option<Schema> {
    let place_for = |object: &Object| {
        objects.get(&object_key(object)).copied().unwrap_or(Place {
            src: 0,
            loc: Location::UNKNOWN,
        })
    };
    let conn = match normal::create_in_memory(schema) {
        Ok(conn) => conn,
        Err(e) => {
            let place = place_for(&e.object);
            ctx.error(
                place,
                format!("{}: SQLite refuses it: {}", e.object, e.message),
                "refused by SQLite",
            );
            return None;
        }
    };
    // Views and triggers are only compiled when used: compile each view now.
    for view in &schema.views {
        let sql = format!(
            "SELECT * FROM {} LIMIT 0",
            crate::sql::quote_ident(&view.name)
        );
        if let Err(e) = conn.prepare(&sql) {
            let object = Object::View(view.name.to_string());
            ctx.error(
                place_for(&object),
                format!(
                    "{object}: SQLite refuses it: {}",
                    normal::sqlite_message(&e)
                ),
                "refused by SQLite",
            );
        }
    }
    let inspected = match crate::inspect::inspect_with_notes(&conn) {
        Ok(i) => i,
        Err(e) => {
            ctx.error(
                Place {
                    src: 0,
                    loc: Location::UNKNOWN,
                },
                format!("the schema could not be read back: {e}"),
                "internal error",
            );
            return None;
        }
    };
    for table in &inspected.schema.tables {
        let structural = schema
            .table(&table.name)
            .is_some_and(|t| t.verbatim.is_none());
        if structural && table.verbatim.is_some() {
            let object = Object::Table(table.name.to_string());
            let note = inspected
                .notes
                .iter()
                .find(|n| n.contains(&format!("\"{}\"", table.name)))
                .cloned()
                .unwrap_or_default();
            ctx.error(
                place_for(&object),
                format!("{object} does not read back faithfully: {note}"),
                "please report this",
            );
        }
    }
    Some(inspected.schema)
}
