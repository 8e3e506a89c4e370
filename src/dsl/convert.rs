//! Spec to model: names, references and SQL fragments checked, errors collected with places.

use std::collections::HashMap;

use rusqlite::Connection;
use serde_saphyr::{Location, Spanned};

use super::context::{Ctx, Place, place_of};
use super::spec::{FileSpec, PrimaryKeySpec, TableSpec, TriggerSpec, UniqueSpec, VirtualTableSpec};
use super::table::table;
use super::{Desired, FORMAT_VERSION, Renames, Source};
use crate::error::{Error, Result};
use crate::exclude::Exclude;
use crate::model::{Name, Schema, Trigger, View, VirtualTable};
use crate::normal::{self, Object};
use crate::parse::{ParseError, parse_trigger, parse_virtual_table};
use crate::sql::Sql;

/// What later checks need to know of every table: its columns, primary-key arity, and the
/// column sets a foreign key may reference (lowercased; None when unknown, for verbatim and
/// virtual tables).
pub(super) struct TableShape {
    pub(super) columns: Vec<String>,
    pub(super) pk_len: usize,
    pub(super) keys: Option<Keys>,
}

/// The primary key's columns and every other unique column set of a table, lowercased.
pub(super) struct Keys {
    pub(super) primary: Vec<String>,
    pub(super) unique: Vec<Vec<String>>,
}

/// Converts the parsed files into the desired schema in three passes (declare, convert,
/// materialise in SQLite), collecting every error with its place.
pub(super) fn convert(sources: &[Source], mut files: Vec<FileSpec>) -> Result<Desired> {
    let mut ctx = Ctx {
        sources,
        errors: Vec::new(),
        probe: Connection::open_in_memory().ok(),
    };
    let version = file_versions(&mut ctx, &files);

    // Pass 1: every object's name, place and (for tables) shape, across files.
    let Declared {
        places,
        shapes,
        tables,
    } = declare_all(&mut ctx, &files);

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
    super::table::contradictory_renames(&mut ctx, &tables);
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
            objects.insert(
                object_key(&Object::Trigger(name.value.clone())),
                place_of(src, &spec.sql),
            );
            if let Some(t) = trigger(&mut ctx, src, name, spec, &places) {
                schema.triggers.push(t);
            }
        }
        for (name, spec) in &file.virtual_tables.0 {
            objects.insert(
                object_key(&Object::VirtualTable(name.value.clone())),
                place_of(src, &spec.sql),
            );
            if let Some(v) = virtual_table(&mut ctx, src, name, spec) {
                schema.virtual_tables.push(v);
            }
        }
    }
    let exclude = excluded(&mut ctx, &files, &schema);
    schema.normalize();
    // The tables that did not convert (their errors say why): what only fails because of
    // them is not reported again.
    let failed: Vec<String> = tables
        .iter()
        .map(|(_, name, _)| name.value.clone())
        .filter(|name| schema.table(name).is_none())
        .collect();
    drop((tables, shapes, places));
    // The parsed files are done with but for their rules: the largest thing held, dropped
    // before the schema is materialised.
    let rule_specs = super::rules::take(&mut files);
    drop(files);

    // Pass 3: SQLite has the last word; its refusals are reported at the object's place.
    let normal = if ctx.errors.is_empty() {
        materialise(&mut ctx, &schema, &objects)
    } else {
        None
    };
    drop(objects);
    // The normal form, once there is one, replaces the converted schema (dropped now: at
    // thousands of tables the two copies are the largest things held).
    let materialised = normal.is_some();
    let schema = normal.unwrap_or(schema);
    // Pass 4: the rules and queries, checked even when the structure has errors, so that
    // every error is reported at once: against the tables that converted, leaving out what
    // only fails because a table it names did not convert (that table's error says why).
    let rules = super::rules::rules(&mut ctx, &rule_specs, &schema, &failed);
    if !ctx.errors.is_empty() {
        return Err(Error::Source(ctx.errors));
    }
    let (Some(version), true) = (version, materialised) else {
        return Err(Error::Source(ctx.errors));
    };
    Ok(Desired {
        version,
        schema,
        renames,
        rules,
        exclude,
    })
}

/// Reads every file's `exclude:` list; a pattern that is empty, or that matches an object the
/// schema declares (it cannot both own and leave it alone), is an error at its place.
fn excluded(ctx: &mut Ctx<'_>, files: &[FileSpec], schema: &Schema) -> Exclude {
    let mut patterns = Vec::new();
    for (src, file) in files.iter().enumerate() {
        for pattern in &file.exclude {
            let one = match Exclude::new(vec![pattern.value.clone()], "exclude") {
                Ok(one) => one,
                Err(_) => {
                    ctx.error(
                        place_of(src, pattern),
                        "an exclude pattern names a table or a glob (`*`, `?`): it is empty",
                        "empty pattern",
                    );
                    continue;
                }
            };
            let declared = schema
                .tables
                .iter()
                .map(|t| t.name.as_str())
                .chain(schema.views.iter().map(|v| v.name.as_str()))
                .chain(schema.virtual_tables.iter().map(|v| v.name.as_str()))
                .find(|name| one.matches(name));
            if let Some(name) = declared {
                ctx.error(
                    place_of(src, pattern),
                    format!(
                        "`{}` excludes `{name}`, which this schema declares: a schema either owns an object or leaves it alone",
                        pattern.value
                    ),
                    "excludes a declared object",
                );
                continue;
            }
            patterns.push(pattern.value.clone());
        }
    }
    Exclude::new(patterns, "exclude").unwrap_or_default()
}

/// What pass 1 learns of every object, across files.
struct Declared<'a> {
    /// Every object's place and kind, by lowercase name.
    places: HashMap<String, (Place, &'static str)>,
    /// Every table's (and virtual table's) shape, by lowercase name.
    shapes: HashMap<String, TableShape>,
    /// The table specs with their file and name.
    tables: Vec<(usize, &'a Spanned<String>, &'a TableSpec)>,
}

/// Pass 1: declares every object (a name used twice is an error) and records the shapes.
fn declare_all<'a>(ctx: &mut Ctx<'_>, files: &'a [FileSpec]) -> Declared<'a> {
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
                declare(ctx, &mut places, src, name, kind);
            }
        }
        for (name, spec) in &file.tables.0 {
            tables.push((src, name, spec));
            shapes.insert(name.value.to_ascii_lowercase(), shape_of(ctx, spec));
        }
    }
    for (src, file) in files.iter().enumerate() {
        for (name, _) in &file.virtual_tables.0 {
            shapes
                .entry(name.value.to_ascii_lowercase())
                .or_insert(TableShape {
                    columns: Vec::new(),
                    pk_len: 0,
                    keys: None,
                });
            let _ = src;
        }
    }
    Declared {
        places,
        shapes,
        tables,
    }
}

/// Converts one trigger, checking that its SQL creates it and that its table exists.
fn trigger(
    ctx: &mut Ctx<'_>,
    src: usize,
    name: &Spanned<String>,
    spec: &TriggerSpec,
    places: &HashMap<String, (Place, &'static str)>,
) -> Option<Trigger> {
    let place = place_of(src, &spec.sql);
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
            Some(Trigger {
                name: name.value.clone().into(),
                table,
                sql: Sql::new(spec.sql.value.trim().to_string()),
            })
        }
        Err(e) => {
            ctx.error(
                place,
                format!("trigger \"{}\": {}", name.value, parse_message(&e)),
                "expected CREATE TRIGGER ... BEGIN ... END",
            );
            None
        }
    }
}

/// Converts one virtual table, checking that its SQL creates it.
fn virtual_table(
    ctx: &mut Ctx<'_>,
    src: usize,
    name: &Spanned<String>,
    spec: &VirtualTableSpec,
) -> Option<VirtualTable> {
    let place = place_of(src, &spec.sql);
    match parse_virtual_table(&spec.sql.value) {
        Ok(vname) if vname.eq_ignore_ascii_case(&name.value) => Some(VirtualTable {
            name: name.value.clone().into(),
            sql: Sql::new(spec.sql.value.trim().to_string()),
        }),
        Ok(vname) => {
            ctx.error(
                place,
                format!(
                    "virtual table \"{}\": its SQL creates \"{vname}\"",
                    name.value
                ),
                "name differs from the key",
            );
            None
        }
        Err(e) => {
            ctx.error(
                place,
                format!("virtual table \"{}\": {}", name.value, parse_message(&e)),
                "expected CREATE VIRTUAL TABLE ... USING ...",
            );
            None
        }
    }
}

pub(super) fn parse_message(e: &ParseError) -> String {
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
    // SQLite keeps tables, views, virtual tables and indexes in one namespace and triggers in
    // another: a trigger may be named like its table (and a database that has one imports).
    let key = if kind == "trigger" {
        format!("trigger\u{0}{lower}")
    } else {
        lower.clone()
    };
    if let Some((first, first_kind)) = places.get(&key).copied() {
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
    places.insert(key, (place, kind));
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
        let (columns, pk_len) = ctx
            .probe
            .as_ref()
            .and_then(|c| verbatim_columns(c, &sql.value).ok())
            .unwrap_or_default();
        return TableShape {
            pk_len,
            columns,
            keys: None,
        };
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
        keys: Some(keys_of(spec)),
    }
}

/// Reads the column sets of a table that SQLite accepts as a foreign key's parent key: the
/// primary key, UNIQUE columns and constraints, and unique indexes on plain columns without a
/// WHERE clause (https://www.sqlite.org/foreignkeys.html#fk_indexes).
fn keys_of(spec: &TableSpec) -> Keys {
    // `col`, `"col"`, `col DESC`, `col COLLATE x`: the column; None for an expression.
    // Read as the key itself is (`"x""y"` is the column x"y).
    let column = |key: &str| -> Option<String> {
        crate::parse::parse_key_part(key)
            .ok()
            .filter(|k| !k.is_expr)
            .map(|k| k.expr.as_str().to_ascii_lowercase())
    };
    let set = |keys: &[String]| -> Option<Vec<String>> {
        let mut out: Vec<String> = keys.iter().map(|k| column(k)).collect::<Option<_>>()?;
        out.sort();
        Some(out)
    };
    let mut primary = match spec.primary_key.as_ref().map(|p| &p.value) {
        Some(PrimaryKeySpec::Keys(k)) | Some(PrimaryKeySpec::Full { columns: k, .. }) => {
            set(k).unwrap_or_default()
        }
        None => spec
            .columns
            .0
            .iter()
            .filter(|(_, c)| c.primary_key)
            .map(|(k, _)| k.value.to_ascii_lowercase())
            .collect(),
    };
    primary.sort();
    let mut unique: Vec<Vec<String>> = spec
        .columns
        .0
        .iter()
        .filter(|(_, c)| c.unique)
        .map(|(k, _)| vec![k.value.to_ascii_lowercase()])
        .collect();
    for u in &spec.unique {
        let (UniqueSpec::Keys(k) | UniqueSpec::Named { columns: k, .. }) = &u.value;
        unique.extend(set(k));
    }
    for (_, index) in &spec.indexes.0 {
        if index.unique && index.where_clause.is_none() {
            let cols: Vec<String> = index.columns.iter().map(|c| c.value.clone()).collect();
            unique.extend(set(&cols));
        }
    }
    Keys { primary, unique }
}

/// Creates a verbatim table in a scratch savepoint and reads its column names.
fn verbatim_columns(conn: &Connection, sql: &str) -> rusqlite::Result<(Vec<String>, usize)> {
    conn.execute_batch("SAVEPOINT shape")?;
    let result = (|| {
        {
            // The verbatim text keeps to the savepoint (see db::confined).
            let _confined = crate::db::confined::Confined::new(conn);
            conn.prepare(sql)?.execute([])?;
        }
        let name: String = conn.query_row(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid DESC LIMIT 1",
            [],
            |r| r.get(0),
        )?;
        let mut stmt = conn.prepare("SELECT name, pk FROM pragma_table_xinfo(?1)")?;
        let cols = stmt
            .query_map([name], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })?
            .collect::<rusqlite::Result<Vec<(String, i64)>>>()?;
        let pk_len = cols.iter().filter(|(_, pk)| *pk > 0).count();
        Ok((cols.into_iter().map(|(c, _)| c).collect(), pk_len))
    })();
    conn.execute_batch("ROLLBACK TO shape; RELEASE shape")?;
    result
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
    let refused = |ctx: &mut Ctx<'_>, e: normal::MaterialiseError| {
        let place = place_for(&e.object);
        ctx.error(
            place,
            format!("{}: SQLite refuses it: {}", e.object, e.message),
            "refused by SQLite",
        );
    };
    // The schema alone is read back (no statements: loading does not need them).
    let inspected = match normal::scratch::create_inspected(schema) {
        Ok(inspected) => inspected,
        Err(e) => {
            refused(ctx, e);
            return None;
        }
    };
    // Views and triggers are only compiled when used: compile each one now, as the plan's
    // proof does (a trigger writing a column no table has would fail every statement firing it).
    match normal::resolve::compile(schema) {
        Ok(refusals) => {
            for refusal in refusals {
                let Some(object) = refusal.object else {
                    continue;
                };
                ctx.error(
                    place_for(&object),
                    format!("{object}: SQLite refuses it: {}", refusal.message),
                    "refused by SQLite",
                );
            }
        }
        Err(e) => {
            refused(ctx, e);
            return None;
        }
    }
    let inspected = match inspected {
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
