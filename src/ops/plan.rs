//! `plan`: the steps that bring a database to schema/ (load → inspect → diff → plan, with the
//! lint of the live rows and the size of each stash), and `plan --write`: the next migration
//! file and its rollback, planned from what the migration catalogue builds to schema/.

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::lint::Finding;
use crate::migrations::{self, Catalogue, Origin};
use crate::model::Schema;
use crate::plan::{Direction, Plan};

/// What `plan` compares.
#[derive(Debug, Clone)]
pub struct Options {
    /// The live database; a missing one plans from the empty schema.
    pub database: PathBuf,
    /// The schema files.
    pub schema: PathBuf,
    /// Lint the live rows of the changed tables.
    pub lint: bool,
    /// Tables left alone (schemactl.toml; the schema files add theirs).
    pub exclude: crate::exclude::Exclude,
    /// The SQLite the plan's SQL is for (`--sqlite-compat`): before 3.53, constraint changes
    /// rebuild their table.
    pub target: crate::plan::Target,
}

/// A plan, with what the live data says about it.
#[derive(Debug, Clone)]
pub struct Planned {
    /// The steps.
    pub plan: Plan,
    /// The lint findings (none without a database or without lint).
    pub findings: Vec<Finding>,
    /// The estimated size of each step's stash, when it has one and it could be estimated.
    pub stash_bytes: Vec<Option<i64>>,
    /// The schema version schema/ declares.
    pub schema_version: u32,
}

/// Plans `opts.database` (opened read-only) to `opts.schema`. `say` receives notes for the
/// user.
pub fn plan(opts: &Options, say: &mut dyn FnMut(&str)) -> Result<Planned> {
    let desired = crate::dsl::load(&opts.schema)?;
    let conn = if opts.database.exists() {
        Some(crate::db::open_read_only(&opts.database)?)
    } else {
        say(&format!(
            "note: {} does not exist yet: planning from an empty database",
            crate::printable::path(&opts.database)
        ));
        None
    };
    let exclude = opts.exclude.union(&desired.exclude);
    let live = match &conn {
        Some(c) => crate::inspect(c)?,
        None => Schema::default(),
    };
    // The triggers left alone on managed tables come back after a rebuild of their table
    // (as `sync` plans them). Without an exclude list the live schema is used as it is.
    let (filtered, carried) = if exclude.is_empty() {
        (live, None)
    } else {
        let filtered = exclude.apply(&live);
        let carried = exclude.carry(&live, &filtered, &desired.schema);
        (filtered, carried)
    };
    let (current, desired_schema) = match &carried {
        Some((c, d)) => (c, d),
        None => (&filtered, &desired.schema),
    };
    let recorded = match &conn {
        Some(c) => migrations::history::recorded(c)?,
        None => Vec::new(),
    };
    let renames = migrations::renames_to_plan(
        &desired.renames,
        desired.version,
        recorded
            .iter()
            .filter_map(|r| migrations::schema_version(&r.forward)),
    );
    let changes = crate::diff::diff(current, desired_schema, &renames)?;
    let mut plan = crate::plan::plan_for(current, desired_schema, &changes, opts.target);
    // The carried triggers' drops must not stop the history replaying from empty.
    plan.drop_triggers_if_exists(&crate::exclude::Exclude::carried_triggers(
        current, &filtered,
    ));
    let findings = match (&conn, opts.lint) {
        (Some(c), true) => {
            let mut findings = crate::lint::lint(c, current, desired_schema, &changes)?;
            // The rows that already break a foreign key the plan's check reads.
            let checked = plan.fk_check_tables(Direction::Forward);
            for f in crate::apply::orphans_checked(c, current, desired_schema, &changes, checked)? {
                if !findings.iter().any(|g| g.line() == f.line()) {
                    findings.push(f);
                }
            }
            findings
        }
        _ => Vec::new(),
    };
    let stash_bytes = plan
        .steps
        .iter()
        .map(|s| match (&conn, &s.stash) {
            (Some(c), Some(stash)) => crate::lint::stash_estimate(c, stash),
            _ => None,
        })
        .collect();
    Ok(Planned {
        plan,
        findings,
        stash_bytes,
        schema_version: desired.version,
    })
}

/// What `plan --write` writes.
#[derive(Debug, Clone)]
pub struct WriteOptions {
    /// The live database, whose applied versions the new version stays above, and whose
    /// recorded syncs are written as files first.
    pub database: PathBuf,
    /// The schema files.
    pub schema: PathBuf,
    /// Forward migrations.
    pub migrations: PathBuf,
    /// Reverse migrations.
    pub rollbacks: PathBuf,
    /// The new migration's name (letters, digits, `_`).
    pub name: String,
    /// Tables left alone (schemactl.toml; the schema files add theirs).
    pub exclude: crate::exclude::Exclude,
}

/// A migration file and its rollback, written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Files {
    /// `migrations/V{n}__{name}.sql`.
    pub forward: PathBuf,
    /// `rollbacks/V{n}__{name}.sql`.
    pub reverse: PathBuf,
    /// How many of its steps are destructive.
    pub destructive: usize,
}

/// What `plan --write` did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Written {
    /// The syncs (and the adoption before the first one) recorded in the database, written
    /// as files with their version, name and SQL, oldest first: forward, and reverse when one
    /// was recorded.
    pub promoted: Vec<(PathBuf, Option<PathBuf>)>,
    /// The migration planned from what the files build to schema/; None when they build it.
    pub planned: Option<Files>,
}

/// Writes the next migration and its rollback: from what the migration files build (replayed
/// from empty) to schema/, numbered above every file and every version applied to
/// `opts.database`. Never overwrites a file.
///
/// The syncs applied to `opts.database` above the files (and the adoption recorded before the
/// first one) are written first, as files with the same version, name and SQL, so the files
/// carry their changes and the database's history matches the files: a later plan does not
/// repeat them, and `apply` sees them applied.
pub fn write_migration(opts: &WriteOptions) -> Result<Written> {
    migrations::check_name(&opts.name)?;
    let desired = crate::dsl::load(&opts.schema)?;
    let exclude = opts.exclude.union(&desired.exclude);
    let (applied, recorded) = if opts.database.exists() {
        let conn = crate::db::open_read_only(&opts.database)?;
        (
            migrations::history::applied(&conn)?,
            migrations::history::recorded(&conn)?,
        )
    } else {
        (Vec::new(), Vec::new())
    };
    let mut written = Written::default();
    let on_disk = Catalogue::new(
        migrations::load(&opts.migrations, &opts.rollbacks)?,
        applied.clone(),
        recorded.clone(),
        &[],
    )?;
    let max_file = on_disk.files().map(|m| m.version).max().unwrap_or(0);
    for m in on_disk.applied_migrations() {
        if !matches!(m.origin, Origin::Sync | Origin::Adopted) || m.version < max_file {
            continue;
        }
        let forward = opts.migrations.join(format!("{}.sql", m.stem()));
        let reverse = opts.rollbacks.join(format!("{}.sql", m.stem()));
        for path in [&forward, &reverse] {
            if path.exists() {
                return Err(Error::MigrationExists { path: path.clone() });
            }
        }
        migrations::write_new(&forward, &m.forward)?;
        let reverse = match &m.reverse {
            Some(sql) => {
                migrations::write_new(&reverse, sql)?;
                Some(reverse)
            }
            None => None,
        };
        written.promoted.push((forward, reverse));
    }
    // The files alone: a sync applied to one database is not part of what the files build
    // until it is written as a file (above).
    let files = Catalogue::new(
        migrations::load(&opts.migrations, &opts.rollbacks)?,
        Vec::new(),
        Vec::new(),
        &[],
    )?;
    let current = exclude.apply_owned(files.expected_schema()?);
    let renames = migrations::renames_to_plan(
        &desired.renames,
        desired.version,
        files
            .migrations
            .iter()
            .filter_map(|m| migrations::schema_version(&m.forward)),
    );
    let changes = crate::diff::diff(&current, &desired.schema, &renames)?;
    let plan = crate::plan::plan(&current, &desired.schema, &changes);
    if plan.is_empty() {
        return Ok(written);
    }
    migrations::check_stashable(&plan)?;
    // A trigger of schema/ that writes into a table the list leaves alone (an audit log the
    // operators own) resolves on the live database, which has that table, and not on the
    // files replayed from empty: the proof borrows the live table, as the rehearsal has it.
    let lent =
        match exclude.named_by_triggers(&desired.schema).is_empty() || !opts.database.exists() {
            true => None,
            false => {
                let live = crate::inspect(&crate::db::open_read_only(&opts.database)?)?;
                exclude.lend(&live, &current, &desired.schema)
            }
        };
    match &lent {
        Some((current, desired)) => crate::plan::verify(&plan, current, desired)?,
        None => crate::plan::verify(&plan, &current, &desired.schema)?,
    }
    let catalogue = Catalogue { applied, ..files };
    let version = catalogue.next_version();
    let stem = format!("V{version}__{}", opts.name);
    let forward = opts.migrations.join(format!("{stem}.sql"));
    let reverse = opts.rollbacks.join(format!("{stem}.sql"));
    for path in [&forward, &reverse] {
        if path.exists() {
            return Err(Error::MigrationExists { path: path.clone() });
        }
    }
    migrations::write_new(
        &forward,
        &migrations::render(&plan, &stem, desired.version, Direction::Forward),
    )?;
    migrations::write_new(
        &reverse,
        &migrations::render(&plan, &stem, desired.version, Direction::Reverse),
    )?;
    written.planned = Some(Files {
        forward,
        reverse,
        destructive: plan.destructive_steps().count(),
    });
    Ok(written)
}
