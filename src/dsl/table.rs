//! One table spec to a model table: columns, keys, constraints and indexes, each name and
//! reference checked against the shapes of all tables.

use std::collections::HashMap;

use serde_saphyr::Spanned;

use super::Renames;
use super::context::{Ctx, Place, place_of};
use super::convert::{TableShape, parse_message};
use super::spec::{
    ActionSpec, CheckSpec, ColumnChecks, ColumnSpec, DefaultSpec, DeferrableSpec, IndexSpec,
    PrimaryKeySpec, TableSpec, UniqueSpec,
};
use crate::model::{
    Check, Column, Deferrable, FkAction, ForeignKey, Generated, Index, KeyPart, Name, PrimaryKey,
    Table,
};
use crate::parse::{check_type, parse_key_part, parse_reference};
use crate::sql::{Sql, quote_literal};

pub(super) fn has_column(shape: &TableShape, name: &str) -> bool {
    shape.columns.iter().any(|c| c.eq_ignore_ascii_case(name))
}

/// Converts one table spec to a model table, or None (with errors in `ctx`) when it is
/// wrong; records its rename hints in `renames`.
/// `file:line:column` of a `renamed_from` value, for the diff's message when the object it
/// names is missing from the live database.
fn hint_place(ctx: &Ctx<'_>, src: usize, old: &Spanned<String>) -> String {
    let place = place_of(src, old);
    let file = ctx.sources.get(src).map_or("", |s| s.file.as_str());
    format!("{file}:{}:{}", place.loc.line(), place.loc.column())
}

pub(super) fn table(
    ctx: &mut Ctx<'_>,
    src: usize,
    name: &Spanned<String>,
    spec: &TableSpec,
    shapes: &HashMap<String, TableShape>,
    renames: &mut Renames,
) -> Option<Table> {
    let tname = name.value.clone();
    let errors_before = ctx.errors.len();
    let mut table = Table::new(tname.clone());
    if let Some(old) = &spec.renamed_from {
        renames.tables.push((tname.clone(), old.value.clone()));
        renames
            .places
            .insert(format!("table \"{tname}\""), hint_place(ctx, src, old));
    }
    let shape = shapes.get(&tname.to_ascii_lowercase())?;
    verbatim(ctx, src, name, spec, &mut table);
    let column_pk = columns(ctx, src, spec, renames, &mut table);
    primary_key(ctx, src, spec, shape, &column_pk, &mut table);
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
        if let Some(fk) = foreign_key(ctx, src, &tname, fk, shape, shapes) {
            table.foreign_keys.push(fk);
        }
    }
    for (iname, ispec) in &spec.indexes.0 {
        if let Some(old) = &ispec.renamed_from {
            renames
                .indexes
                .push((tname.clone(), iname.value.clone(), old.value.clone()));
            renames.places.insert(
                format!("index \"{}\"", iname.value),
                hint_place(ctx, src, old),
            );
        }
        if let Some(index) = index(ctx, src, &tname, shape, iname, ispec) {
            table.indexes.push(index);
        }
    }
    table.strict = spec.strict;
    table.without_rowid = spec.without_rowid;
    unique_constraint_names(ctx, src, &tname, spec);
    (ctx.errors.len() == errors_before).then_some(table)
}

/// Refuses a constraint name given twice in one table (ignoring ASCII case, as SQLite's
/// `ALTER TABLE ... DROP CONSTRAINT` finds them): the primary key's, the unique constraints',
/// the checks' (on the table and on its columns) and the foreign keys'. Each second use is an
/// error at its place, naming the first.
fn unique_constraint_names(ctx: &mut Ctx<'_>, src: usize, tname: &str, spec: &TableSpec) {
    let mut named: Vec<(String, Place)> = Vec::new();
    if let Some(pk) = &spec.primary_key
        && let PrimaryKeySpec::Full {
            name: Some(name), ..
        } = &pk.value
    {
        named.push((name.clone(), place_of(src, pk)));
    }
    for u in &spec.unique {
        if let UniqueSpec::Named {
            name: Some(name), ..
        } = &u.value
        {
            named.push((name.clone(), place_of(src, u)));
        }
    }
    for (_, cspec) in &spec.columns.0 {
        let Some(checks) = &cspec.check else {
            continue;
        };
        let list = match &checks.value {
            ColumnChecks::One(c) => std::slice::from_ref(c),
            ColumnChecks::Many(v) => v.as_slice(),
        };
        for c in list {
            if let CheckSpec::Named { name, .. } = c {
                named.push((name.clone(), place_of(src, checks)));
            }
        }
    }
    for c in &spec.checks {
        if let CheckSpec::Named { name, .. } = &c.value {
            named.push((name.clone(), place_of(src, c)));
        }
    }
    for fk in &spec.foreign_keys {
        if let Some(name) = &fk.value.name {
            named.push((name.clone(), place_of(src, fk)));
        }
    }
    for (i, (name, place)) in named.iter().enumerate() {
        if named[..i].iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
            ctx.error(
                *place,
                format!(
                    "table \"{tname}\": the constraint name \"{name}\" is given twice (a name appears once per table; names ignore case)"
                ),
                "name each constraint once",
            );
        }
    }
}

/// Takes a verbatim `sql:` table, which may not also give columns or constraints; a table
/// without it needs columns.
fn verbatim(
    ctx: &mut Ctx<'_>,
    src: usize,
    name: &Spanned<String>,
    spec: &TableSpec,
    table: &mut Table,
) {
    let tname = &name.value;
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
            Ok(n) if !n.eq_ignore_ascii_case(tname) => ctx.error(
                place_of(src, sql),
                format!("table \"{tname}\": its SQL creates \"{n}\""),
                "name differs from the key",
            ),
            _ => {}
        }
        table.verbatim = Some(Sql::new(sql.value.trim().trim_end_matches(';').to_string()));
    } else if spec.columns.0.is_empty() {
        ctx.error(
            place_of(src, name),
            format!("table \"{tname}\" has no columns"),
            "add `columns:`",
        );
    }
}

/// Converts the columns into `table` (with their `unique: true` constraints); returns the
/// columns that say `primary_key: true`.
fn columns<'a>(
    ctx: &mut Ctx<'_>,
    src: usize,
    spec: &'a TableSpec,
    renames: &mut Renames,
    table: &mut Table,
) -> Vec<(&'a Spanned<String>, &'a ColumnSpec)> {
    let tname = table.name.to_string();
    let mut column_pk: Vec<(&Spanned<String>, &ColumnSpec)> = Vec::new();
    for (cname, cspec) in &spec.columns.0 {
        // The stashes keep their bookkeeping (`_schemactl_rowid`, `_schemactl_as_...`)
        // beside a table's columns: a column named like it would be confused with it.
        if cname.value.to_ascii_lowercase().starts_with("_schemactl_") {
            ctx.error(
                place_of(src, cname),
                format!(
                    "column \"{tname}\".\"{}\": column names starting with _schemactl_ are reserved (the stashes keep their own columns under them)",
                    cname.value
                ),
                "reserved name",
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
            renames.places.insert(
                format!("column \"{tname}\".\"{}\"", cname.value),
                hint_place(ctx, src, old),
            );
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

    column_pk
}

/// Sets the primary key of `table`: from one column's `primary_key: true` or from the
/// table's `primary_key:`, never both.
fn primary_key(
    ctx: &mut Ctx<'_>,
    src: usize,
    spec: &TableSpec,
    shape: &TableShape,
    column_pk: &[(&Spanned<String>, &ColumnSpec)],
    table: &mut Table,
) {
    let tname = table.name.to_string();
    match (&spec.primary_key, column_pk) {
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
            // Declared on its column: after the UNIQUE of the columns before it (the
            // table's `unique:` list comes after every column).
            let position = |name: &str| {
                table
                    .columns
                    .iter()
                    .position(|x| x.name.eq_ignore_ascii_case(name))
            };
            let at = position(&c.value);
            let after_uniques = table
                .uniques
                .iter()
                .filter_map(|u| position(u.columns.first()?.expr.as_str()))
                .filter(|p| at.is_some_and(|at| *p < at))
                .count();
            table.primary_key = Some(PrimaryKey {
                name: None,
                columns: vec![KeyPart::column(c.value.clone())],
                autoincrement: cspec.autoincrement,
                after_uniques,
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
            // Declared on the table: after every column's UNIQUE, before the table's
            // `unique:` list.
            table.primary_key = Some(PrimaryKey {
                name: name.map(Name::from),
                columns,
                autoincrement,
                after_uniques: table.uniques.len(),
            });
        }
        (None, []) => {}
    }
}

/// Converts one foreign key of table `tname`, checking its columns and its parent against
/// `shapes`; None when its reference does not parse.
/// Writes an SQL default as the user wrote it when it is one term (a literal, a name such as
/// `CURRENT_TIMESTAMP`, a signed number, a double-quoted string that SQLite reads as text after
/// DEFAULT), so the catalog's `dflt_value` is the user's text; any other expression in
/// parentheses, as SQLite requires.
fn default_sql(sql: &str) -> String {
    let tokens = crate::sql::lex(sql).unwrap_or_default();
    let term = match tokens.as_slice() {
        [_] => true,
        [sign, n] => {
            matches!(
                sign.token,
                sqlparser::tokenizer::Token::Minus | sqlparser::tokenizer::Token::Plus
            ) && matches!(n.token, sqlparser::tokenizer::Token::Number(..))
        }
        _ => false,
    };
    if term
        && !tokens
            .iter()
            .any(|t| t.token == sqlparser::tokenizer::Token::LParen)
    {
        sql.trim().to_string()
    } else {
        format!("({sql})")
    }
}

/// Checks that a foreign key's parent columns are the parent's primary key or one of its unique
/// column sets: SQLite accepts the declaration and refuses the first insert ("foreign key
/// mismatch"), so this is an error at load time.
fn parent_key(
    ctx: &mut Ctx<'_>,
    place: super::context::Place,
    tname: &str,
    ref_table: &str,
    ref_columns: &[Name],
    keys: &super::convert::Keys,
) {
    if ref_columns.is_empty() {
        if keys.primary.is_empty() {
            ctx.error(
                place,
                format!("foreign key on table \"{tname}\" references the primary key of \"{ref_table}\", which has none: SQLite would refuse every insert (foreign key mismatch)"),
                "the parent has no primary key",
            );
        }
        return;
    }
    let mut wanted: Vec<String> = ref_columns.iter().map(|c| c.to_ascii_lowercase()).collect();
    wanted.sort();
    if keys.primary == wanted || keys.unique.contains(&wanted) {
        return;
    }
    let cols = ref_columns
        .iter()
        .map(|c| format!("\"{c}\""))
        .collect::<Vec<_>>()
        .join(", ");
    ctx.error(
        place,
        format!("foreign key on table \"{tname}\" references \"{ref_table}\"({cols}), which is neither its primary key nor UNIQUE: SQLite would refuse every insert (foreign key mismatch)"),
        "the parent key must be the primary key, or UNIQUE",
    );
}

fn foreign_key(
    ctx: &mut Ctx<'_>,
    src: usize,
    tname: &str,
    fk: &Spanned<super::spec::ForeignKeySpec>,
    shape: &TableShape,
    shapes: &HashMap<String, TableShape>,
) -> Option<ForeignKey> {
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
            return None;
        }
    };
    // A parent the schema does not declare is allowed, as SQLite allows it: the foreign key
    // is kept as declared (https://www.sqlite.org/foreignkeys.html).
    if let Some(parent) = shapes.get(&ref_table.to_ascii_lowercase()) {
        {
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
            if (!ref_columns.is_empty() || !parent.columns.is_empty()) && arity != fkv.columns.len()
            {
                ctx.error(place, format!("foreign key on table \"{tname}\": {} child column(s) but {arity} parent column(s)", fkv.columns.len()), "column counts differ");
            }
            if let Some(keys) = &parent.keys {
                parent_key(ctx, rplace, tname, &ref_table, &ref_columns, keys);
            }
        }
    }
    Some(ForeignKey {
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
    })
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
            .check_expr(
                place,
                &format!("{what} on table \"{tname}\""),
                k.expr.as_str(),
            )
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
                format!(
                    "{what} on table \"{tname}\": key `{text}`: {}",
                    parse_message(&e)
                ),
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
    if let Some(nn) = &spec.not_null {
        if let crate::dsl::spec::NotNullSpec::Invalid(v) = &nn.value {
            ctx.error(
                place_of(src, nn),
                format!("{what}: not_null: `{v}` is not true, false or {{ name: N }}"),
                "expected not_null: true or false, or { name: N } for CONSTRAINT N NOT NULL",
            );
        }
        column.not_null = nn.value.is_set();
        column.not_null_name = nn.value.name().map(Name::from);
    }
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
            DefaultSpec::Sql { sql, name } => {
                column.default_name = name.as_deref().map(Name::from);
                ctx.check_expr(place, &format!("{what} default"), sql)
                    .then(|| default_sql(sql))
            }
        };
        // `DEFAULT NULL` is kept: the catalog shows it.
        column.default = text.map(Sql::new);
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

/// Refuses a `renamed_from` hint whose old name is still declared as a table (or, for a
/// column, as a column of the same table) that is not itself renamed from something else (a
/// chain or a swap): the old object cannot be both kept and renamed. Names ignore ASCII case,
/// as SQLite's do; a hint from the object's own name in another case renames nothing (SQLite
/// treats both spellings as one name) and is not a contradiction.
pub(super) fn contradictory_renames(
    ctx: &mut Ctx<'_>,
    tables: &[(usize, &Spanned<String>, &TableSpec)],
) {
    fn kept(names: &[(&str, bool)], old: &str, own: &str) -> bool {
        !old.eq_ignore_ascii_case(own)
            && names
                .iter()
                .any(|(n, hinted)| !hinted && n.eq_ignore_ascii_case(old))
    }
    let table_names: Vec<(&str, bool)> = tables
        .iter()
        .map(|(_, n, s)| (n.value.as_str(), s.renamed_from.is_some()))
        .collect();
    for (src, name, spec) in tables {
        if let Some(old) = &spec.renamed_from
            && kept(&table_names, &old.value, &name.value)
        {
            ctx.error(
                place_of(*src, old),
                format!(
                    "table \"{}\": renamed_from \"{}\", but table \"{}\" is still declared: remove the hint (the rename is done) or the table \"{}\"",
                    name.value, old.value, old.value, old.value
                ),
                "old name still declared",
            );
        }
        for (cname, cspec) in &spec.columns.0 {
            let Some(old) = &cspec.renamed_from else {
                continue;
            };
            let names: Vec<(&str, bool)> = spec
                .columns
                .0
                .iter()
                .map(|(n, c)| (n.value.as_str(), c.renamed_from.is_some()))
                .collect();
            if kept(&names, &old.value, &cname.value) {
                ctx.error(
                    place_of(*src, old),
                    format!(
                        "column \"{}\".\"{}\": renamed_from \"{}\", but column \"{}\".\"{}\" is still declared: remove the hint (the rename is done) or the column \"{}\"",
                        name.value, cname.value, old.value, name.value, old.value, old.value
                    ),
                    "old name still declared",
                );
            }
        }
    }
}
