//! `schemactl plan`: what it would take to bring the database to schema/, printed for people,
//! as SQL or as JSON; `plan --write` writes it as the next migration ([`crate::ops::plan`]
//! plans and writes).

use std::process::ExitCode;

use serde_json::json;

use super::output;
use super::{DatabaseArg, SchemaArg};
use crate::config::Config;
use crate::error::Result;
use crate::lint::{Finding, FindingKind};
use crate::ops::plan::{Files, Planned};
use crate::plan::{Direction, Plan, StepKind};

/// Output formats of `plan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Steps grouped by table, coloured on a terminal.
    Human,
    /// One plain SQL script, runnable with `sqlite3 -bail DB < plan.sql`.
    Sql,
    /// Stable JSON: steps and lint findings.
    Json,
}

/// Arguments of `schemactl plan`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  schemactl plan\n  schemactl plan --write add_pattern_category\n  schemactl plan --format sql > migrate.sql && sqlite3 -bail .swarm/memory.db < migrate.sql\n  schemactl plan --check || echo \"changes pending\""
)]
pub struct Args {
    #[command(flatten)]
    database: DatabaseArg,
    #[command(flatten)]
    schema: SchemaArg,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Exit 0 when there is nothing to do, 2 when changes are pending (1 on error)
    #[arg(long)]
    check: bool,
    /// Skip the lint, which reads the rows of every changed table
    #[arg(long)]
    no_lint: bool,
    /// Write migrations/V{n}__NAME.sql and rollbacks/V{n}__NAME.sql, planned from the
    /// migrations (replayed from empty) to schema/, instead of from the database
    #[arg(long, value_name = "NAME")]
    write: Option<String>,
    /// Plan for an older SQLite (e.g. 3.40, the sqlite3 shell of many systems): before 3.53,
    /// constraint changes (CHECK, NOT NULL, dropping a foreign key) rebuild their table
    /// instead of ALTER TABLE ... ADD/DROP CONSTRAINT and ALTER COLUMN
    #[arg(long, value_name = "VERSION", value_parser = compat_version, conflicts_with = "write")]
    sqlite_compat: Option<crate::plan::SqliteVersion>,
}

/// Parses `--sqlite-compat`: `3.MINOR[.PATCH]`, 3.35.0 or later (the DROP COLUMN of the
/// plans' native steps).
fn compat_version(text: &str) -> std::result::Result<crate::plan::SqliteVersion, String> {
    let oldest = crate::plan::SqliteVersion::new(3, 35, 0);
    match crate::plan::SqliteVersion::parse(text) {
        Some(v) if v.major == 3 && v >= oldest => Ok(v),
        Some(v) => Err(format!(
            "SQLite {v} is too old: schemactl's plans need {oldest} or later (ALTER TABLE ... DROP COLUMN)"
        )),
        None => Err(format!(
            "\"{text}\" is no SQLite version: write it as 3.40 or 3.40.1"
        )),
    }
}

/// Plans and prints.
pub fn run(args: &Args, config: &Config) -> Result<ExitCode> {
    if let Some(name) = &args.write {
        return write(args, config, name);
    }
    let db_path = args.database.resolve(config);
    let schema_path = args.schema.resolve(config);
    let planned = crate::ops::plan::plan(
        &crate::ops::plan::Options {
            database: db_path.clone(),
            schema: schema_path.clone(),
            lint: !args.no_lint,
            exclude: config.exclude.clone(),
            target: args
                .sqlite_compat
                .map_or(crate::plan::Target::BUNDLED, |sqlite| crate::plan::Target {
                    sqlite,
                }),
        },
        &mut |note| crate::note!("{note}"),
    )?;
    let Planned {
        plan,
        findings,
        stash_bytes,
        schema_version,
    } = planned;
    // A step whose stash could not find its rows again is refused by sync and plan --write
    // (the same check): plan says so too. A plain script stashes nothing, and runs.
    if args.check || !matches!(args.format, Format::Sql) {
        crate::migrations::check_stashable(&plan)?;
    }
    let out = match args.format {
        Format::Human => human(
            &plan,
            &stash_bytes,
            &findings,
            &db_path.display().to_string(),
            &schema_path.display().to_string(),
            output::color(),
        ),
        Format::Sql => {
            // The script goes to stdout, for sqlite3: what the lint found goes to stderr, so
            // that a script with findings is never produced silently.
            for f in findings.iter().filter(|f| f.blocks()) {
                crate::note!("lint: {}", f.line());
            }
            plan.script(Direction::Forward)
        }
        Format::Json => output::json(&to_json(
            &plan,
            &stash_bytes,
            &findings,
            &db_path.display().to_string(),
            &schema_path.display().to_string(),
            schema_version,
        ))?,
    };
    super::output::out(&out);
    Ok(if args.check && !plan.is_empty() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// Writes the next migration and its rollback: from what the migrations build to schema/.
fn write(args: &Args, config: &Config, name: &str) -> Result<ExitCode> {
    let schema = args.schema.resolve(config);
    let written = crate::ops::plan::write_migration(&crate::ops::plan::WriteOptions {
        database: args.database.resolve(config),
        schema: schema.clone(),
        migrations: config.migrations.clone(),
        rollbacks: config.rollbacks.clone(),
        name: name.to_string(),
        exclude: config.exclude.clone(),
    })?;
    for (forward, reverse) in &written.promoted {
        crate::say!(
            "wrote {} and {} (the sync recorded in the database, as a file: the same version, name and SQL)",
            crate::printable::path(&forward),
            reverse
                .as_ref()
                .map_or("no rollback file (none was recorded)".into(), |r| {
                    crate::printable::path(r).to_string()
                })
        );
    }
    match written.planned {
        None if written.promoted.is_empty() => crate::say!(
            "the migrations already build {}: nothing to write",
            crate::printable::path(&schema)
        ),
        None => crate::say!(
            "the migrations now build {}: nothing more to write",
            crate::printable::path(&schema)
        ),
        Some(Files {
            forward,
            reverse,
            destructive,
        }) => {
            crate::say!(
                "wrote {} and {}",
                crate::printable::path(&forward),
                crate::printable::path(&reverse)
            );
            if destructive > 0 {
                crate::say!(
                    "note: {destructive} destructive step(s): applying needs --allow-destructive"
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The JSON document of `plan --format json` (documented in the README).
pub fn to_json(
    plan: &Plan,
    stash_bytes: &[Option<i64>],
    findings: &[Finding],
    database: &str,
    schema: &str,
    version: u32,
) -> serde_json::Value {
    let steps: Vec<_> = plan
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            json!({
                "index": i + 1,
                "kind": s.kind.safety(),
                "rebuild": s.is_rebuild(),
                "destructive": s.is_destructive(),
                "table": s.table,
                "summary": s.summary,
                "forward": s.forward,
                "reverse": s.reverse,
                "stash": s.stash,
                "stash_bytes": stash_bytes.get(i).copied().flatten(),
            })
        })
        .collect();
    json!({
        "database": database,
        "schema": schema,
        "schema_version": version,
        "pending": !plan.is_empty(),
        "foreign_keys_off": plan.needs_foreign_keys_off_in(Direction::Forward),
        "requires_sqlite": {
            "forward": plan.requires(Direction::Forward).map(|(v, _)| v.to_string()),
            "reverse": plan.requires(Direction::Reverse).map(|(v, _)| v.to_string()),
        },
        "steps": steps,
        "lint": findings,
    })
}

/// Renders the plan for people: steps grouped by table, then lint findings.
pub fn human(
    plan: &Plan,
    stash_bytes: &[Option<i64>],
    findings: &[Finding],
    database: &str,
    schema: &str,
    color: bool,
) -> String {
    let paint = |code: &str, text: &str| {
        if color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    };
    // Every name and path printed goes through `line`: a control character in a name can
    // neither move the cursor nor break a step into two lines.
    use crate::printable::line;
    let (database, schema) = (line(database), line(schema));
    let mut out = String::new();
    if plan.is_empty() {
        out.push_str(&format!("{database} matches {schema}: nothing to do\n"));
    } else {
        let rebuilds = plan.steps.iter().filter(|s| s.is_rebuild()).count();
        let destructive = plan.destructive_steps().count();
        out.push_str(&format!(
            "Plan for {database} -> {schema}: {} step(s), {rebuilds} rebuild(s), {destructive} destructive\n",
            plan.steps.len()
        ));
        let mut groups: Vec<(String, Vec<(usize, &crate::plan::Step)>)> = Vec::new();
        for (i, step) in plan.steps.iter().enumerate() {
            let group = step.table.clone().unwrap_or_else(|| "(views)".to_string());
            match groups.iter_mut().find(|(g, _)| *g == group) {
                Some((_, steps)) => steps.push((i, step)),
                None => groups.push((group, vec![(i, step)])),
            }
        }
        for (group, steps) in groups {
            out.push_str(&format!("\n{}\n", paint("1", &line(&group))));
            for (i, step) in steps {
                let (mark, code) = match step.kind {
                    StepKind::RebuildDestructive => ("!", "31"),
                    StepKind::Destructive => ("-", "31"),
                    StepKind::Rebuild => ("~", "33"),
                    // A safe step that removes something (an index) is still a removal.
                    StepKind::Safe if step.summary.starts_with("drop ") => ("-", "32"),
                    StepKind::Safe => ("+", "32"),
                };
                let label = step.kind.label();
                let stash = match stash_bytes.get(i).copied().flatten() {
                    Some(bytes) => format!(" (stash for rollback: about {})", human_bytes(bytes)),
                    None if step.stash.is_some() => " (stashed for rollback)".to_string(),
                    None => String::new(),
                };
                out.push_str(&format!(
                    "  {} {:>2}. {} [{}]{stash}\n",
                    paint(code, mark),
                    i + 1,
                    line(&step.summary),
                    paint(code, label)
                ));
            }
        }
        if destructive > 0 {
            out.push_str(&format!(
                "\n{}\n",
                paint(
                    "31",
                    "Destructive steps drop data: applying them needs --allow-destructive."
                )
            ));
        }
    }
    if !findings.is_empty() {
        out.push_str(&format!(
            "\n{}\n",
            paint(
                "1",
                &format!("Lint: {} finding(s) in the live data", findings.len())
            )
        ));
        for f in findings {
            let samples = if f.samples.is_empty() {
                String::new()
            } else {
                format!(" (e.g. {})", line(&f.samples.join("; ")))
            };
            let mark = if f.blocks() {
                paint("31", "x")
            } else {
                paint("33", "?")
            };
            let rows = if f.kind == FindingKind::QuotedString {
                String::new()
            } else {
                format!("{} row(s): ", f.count)
            };
            out.push_str(&format!(
                "  {mark} {}: {rows}{}{samples}\n",
                line(&f.table),
                line(&f.message)
            ));
        }
    }
    out
}

/// Formats a byte count for people.
fn human_bytes(bytes: i64) -> String {
    let b = bytes as f64;
    if b >= 1e9 {
        format!("{:.1} GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.1} MB", b / 1e6)
    } else if b >= 1e3 {
        format!("{:.1} kB", b / 1e3)
    } else {
        format!("{bytes} B")
    }
}
