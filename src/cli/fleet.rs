//! `schemactl fleet plan|apply|status|rollback`: one migration across many databases. The
//! flags become [`crate::ops::fleet`] options; this file prints what it returns (for people,
//! NDJSON or JSON, Prometheus for status), asks before changing anything, and turns Ctrl-C
//! into "start nothing new".

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use super::SchemaArg;
use super::output::{confirm, json};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::ops::fleet::preflight::{Preflight, State};
use crate::ops::fleet::{self, Count, Outcome, Project, Record, Source, Summary};

/// The subcommands of `schemactl fleet`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Preflight: classify every target, lint its rows, check disk; write nothing.
    Plan(PlanArgs),
    /// Apply the pending migrations to every target, each through the full pipeline.
    Apply(ApplyArgs),
    /// Show each target's state and version, summed up: exit 2 unless all are up to date.
    Status(StatusArgs),
    /// Undo exactly what a run changed, target by target, keeping what the reverse drops.
    Rollback(RollbackArgs),
}

/// Which databases.
#[derive(Debug, clap::Args)]
pub struct TargetArgs {
    /// The databases, as a glob (`tenants/*/memory.db`; `**` for any depth); quote it
    #[arg(long, value_name = "GLOB", conflicts_with = "targets_from")]
    targets: Option<String>,
    /// The databases, one path a line, from FILE (`-`: standard input)
    #[arg(long, value_name = "FILE")]
    targets_from: Option<PathBuf>,
}

impl TargetArgs {
    /// Resolves the targets (never schemactl's own files: see [`fleet::own`]; `backups` is
    /// the fleet's backups template); None when none were named.
    fn resolve(&self, backups: &Path, config: &Config) -> Result<Option<Vec<PathBuf>>> {
        let source = match (&self.targets, &self.targets_from) {
            (Some(glob), _) => Source::Glob(glob.clone()),
            (None, Some(file)) if file.as_os_str() == "-" => {
                let mut text = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
                    .map_err(|e| Error::io("read", "standard input", e))?;
                Source::List {
                    text,
                    origin: "standard input".into(),
                }
            }
            (None, Some(file)) => Source::List {
                text: std::fs::read_to_string(file).map_err(|e| Error::io("read", file, e))?,
                origin: file.display().to_string(),
            },
            (None, None) => return Ok(None),
        };
        let mut folders = vec![config.archives.clone(), config.fleet_runs.clone()];
        if !config.backups.starts_with(crate::config::DIR_PLACEHOLDER) {
            folders.push(config.backups.clone());
        }
        let (found, skipped) = fleet::resolve_naming_skipped(&source, backups, &folders)?;
        // Standard error, so a JSON or ndjson standard output stays one format.
        for (file, why) in skipped {
            crate::note!("note: {} is left out: {why}", crate::printable::path(&file));
        }
        Ok(Some(found))
    }

    fn required(&self, backups: &Path, config: &Config) -> Result<Vec<PathBuf>> {
        self.resolve(backups, config)?.ok_or_else(|| {
            Error::Usage("name the targets: --targets GLOB or --targets-from FILE".into())
        })
    }
}

/// Flags every fleet subcommand shares.
#[derive(Debug, clap::Args)]
pub struct Common {
    #[command(flatten)]
    schema: SchemaArg,
    /// Worker threads [default: the number of cores]
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,
}

impl Common {
    fn jobs(&self) -> usize {
        self.jobs.map_or_else(fleet::default_jobs, usize::from)
    }

    fn project(&self, config: &Config) -> Project {
        Project {
            migrations: config.migrations.clone(),
            rollbacks: config.rollbacks.clone(),
            schema: self.schema.resolve(config),
            exclude: config.exclude.clone(),
        }
    }
}

/// Where backups and run directories go.
#[derive(Debug, clap::Args)]
pub struct Places {
    /// Backups directory; `{dir}` is each database's directory [default: the configuration's
    /// `backups` when it uses `{dir}`, else `{dir}/backups`]
    #[arg(long, value_name = "DIR")]
    backups: Option<PathBuf>,
    /// Run directories (journals) [default: from schemactl.toml, else .swarm/fleet]
    #[arg(long, value_name = "DIR")]
    runs: Option<PathBuf>,
}

impl Places {
    fn backups(&self, config: &Config) -> PathBuf {
        if let Some(b) = &self.backups {
            return b.clone();
        }
        Places::default_backups(config)
    }

    /// The backups template without `--backups`.
    fn default_backups(config: &Config) -> PathBuf {
        if config.backups.starts_with(crate::config::DIR_PLACEHOLDER) {
            return config.backups.clone();
        }
        Path::new(crate::config::DIR_PLACEHOLDER).join("backups")
    }

    fn runs(&self, config: &Config) -> PathBuf {
        self.runs
            .clone()
            .unwrap_or_else(|| config.fleet_runs.clone())
    }
}

/// Output of `fleet plan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PlanFormat {
    /// For people.
    Human,
    /// One JSON object.
    Json,
}

/// Output of `fleet apply` and `fleet rollback`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RunFormat {
    /// For people: one line per target, then the summary.
    Human,
    /// One JSON record per target as it finishes, then `{"summary": ...}`.
    Ndjson,
}

/// Output of `fleet status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StatusFormat {
    /// For people.
    Human,
    /// One JSON object.
    Json,
    /// Prometheus text exposition (gauges per state and per version).
    Prometheus,
}

/// Arguments of `schemactl fleet plan`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit status: 0 when every target would converge, 2 when some would be refused (ahead, divergent, not adopted, unreadable), the lint finds rows the migrations reject, or the backups do not fit on disk.\n\nExamples:\n  schemactl fleet plan --targets 'tenants/*/memory.db'\n  find /srv -name memory.db | schemactl fleet plan --targets-from - --format json"
)]
pub struct PlanArgs {
    #[command(flatten)]
    targets: TargetArgs,
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    places: Places,
    /// Output format
    #[arg(long, value_enum, default_value_t = PlanFormat::Human)]
    format: PlanFormat,
}

/// Arguments of `schemactl fleet apply`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Each database goes through the full pipeline (lock, backup, rehearsal, apply, checks) and is all or nothing; there is no atomicity across databases.\nExit status: 0 when every target converged (or --canary-only and the canary passed), 2 when some did not, 1 on an error before the run.\n\nExamples:\n  schemactl fleet apply --targets 'tenants/*/memory.db' --canary 5% --max-failures 10 --yes\n  schemactl fleet apply --resume 20261129T120000Z --yes --format ndjson"
)]
pub struct ApplyArgs {
    #[command(flatten)]
    targets: TargetArgs,
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    places: Places,
    /// The first N targets (or P% of them), in order, run first; any failure there stops the run
    #[arg(long, value_name = "N|P%", default_value = "1")]
    canary: Count,
    /// Stop after the canary
    #[arg(long)]
    canary_only: bool,
    /// Start no new target once N targets (or P% of them) have failed [default: no limit]
    #[arg(long, value_name = "N|P%")]
    max_failures: Option<Count>,
    /// Continue run RUN: what it finished is not run again (the targets default to the run's)
    #[arg(long, value_name = "RUN")]
    resume: Option<String>,
    /// Apply migrations that drop a table or column holding data
    #[arg(long)]
    allow_destructive: bool,
    /// Show the plan (as `fleet plan` does); change nothing
    #[arg(long)]
    dry_run: bool,
    /// Do not ask for confirmation
    #[arg(long, short = 'y')]
    yes: bool,
    /// Output format
    #[arg(long, value_enum, default_value_t = RunFormat::Human)]
    format: RunFormat,
}

/// Arguments of `schemactl fleet status`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  schemactl fleet status --targets 'tenants/*/memory.db'\n  schemactl fleet status --targets-from tenants.txt --format prometheus > fleet.prom"
)]
pub struct StatusArgs {
    #[command(flatten)]
    targets: TargetArgs,
    #[command(flatten)]
    common: Common,
    /// Output format
    #[arg(long, value_enum, default_value_t = StatusFormat::Human)]
    format: StatusFormat,
}

/// Arguments of `schemactl fleet rollback`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Rolls back, to the version it had before, each target the run applied migrations to and that has not changed since; what the reverse drops is stashed (applying the run's migrations again brings it back).\n\nExamples:\n  schemactl fleet rollback --run 20261129T120000Z\n  schemactl fleet rollback --run 20261129T120000Z --yes --format ndjson"
)]
pub struct RollbackArgs {
    /// The run to undo (its directory's name under the run directories)
    #[arg(long, value_name = "RUN")]
    run: String,
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    places: Places,
    /// Do not ask for confirmation
    #[arg(long, short = 'y')]
    yes: bool,
    /// Output format
    #[arg(long, value_enum, default_value_t = RunFormat::Human)]
    format: RunFormat,
}

/// Runs a fleet subcommand.
pub fn run(cmd: &Command, config: &Config) -> Result<ExitCode> {
    match cmd {
        Command::Plan(args) => plan(args, config),
        Command::Apply(args) => apply(args, config),
        Command::Status(args) => status(args, config),
        Command::Rollback(args) => rollback(args, config),
    }
}

fn plan(args: &PlanArgs, config: &Config) -> Result<ExitCode> {
    let backups = args.places.backups(config);
    let targets = args.targets.required(&backups, config)?;
    let jobs = args.common.jobs();
    let found = fleet::preflight(
        &args.common.project(config),
        &targets,
        jobs,
        true,
        Some(&backups),
    )?;
    match args.format {
        PlanFormat::Human => super::output::say_text(&describe_plan(&found, jobs)),
        PlanFormat::Json => super::output::out(&json(&plan_json(&found))?),
    }
    Ok(plan_code(&found))
}

/// 0 when every target would converge, 2 otherwise.
fn plan_code(found: &Preflight) -> ExitCode {
    let clean = found.targets.iter().all(|t| !t.state.refused())
        && found.lint.is_empty()
        && found.disk.iter().all(|d| d.fits());
    if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    }
}

fn plan_json(found: &Preflight) -> serde_json::Value {
    let mut states = serde_json::Map::new();
    for t in &found.targets {
        let key = state_name(t.state).to_string();
        let n = states
            .get(&key)
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0);
        states.insert(key, (n + 1).into());
    }
    serde_json::json!({
        "head": found.head,
        "targets": found.targets,
        "states": states,
        "lint": found.lint_lines(),
        "disk": found.disk,
    })
}

fn describe_plan(found: &Preflight, jobs: usize) -> String {
    let mut out = format!(
        "{} target(s); the migrations' head is {}\n",
        found.targets.len(),
        fleet::report::version_name(found.head)
    );
    for (state, label) in [
        (State::Pending, "pending"),
        (State::UpToDate, "up to date"),
        (State::Ahead, "ahead (refused)"),
        (State::Divergent, "divergent (refused)"),
        (State::NotAdopted, "not adopted (refused)"),
        (State::Unreadable, "unreadable (refused)"),
    ] {
        let n = found.count(state);
        if n > 0 {
            out += &format!("  {label}: {n}\n");
        }
    }
    if !found.lint.is_empty() {
        out += "lint (rows the migrations reject; those databases fail their rehearsal):\n";
        for line in found.lint_lines() {
            out += &format!("  {line}\n");
        }
    }
    for d in &found.disk {
        out += &format!(
            "disk: {} backup(s) at once need about {} bytes in {}: {} bytes free{}\n",
            jobs,
            d.needed,
            crate::printable::path(&d.directory),
            d.free,
            if d.fits() { "" } else { " (NOT ENOUGH)" }
        );
    }
    for t in found.targets.iter().filter(|t| t.state.refused()) {
        out += &format!(
            "  {}: {}\n",
            crate::printable::path(&t.target),
            t.error.as_deref().unwrap_or("refused")
        );
    }
    out
}

/// Returns a state's name, as JSON and Prometheus write it.
fn state_name(state: State) -> &'static str {
    match state {
        State::Pending => "pending",
        State::UpToDate => "up_to_date",
        State::Ahead => "ahead",
        State::Divergent => "divergent",
        State::NotAdopted => "not_adopted",
        State::Unreadable => "unreadable",
    }
}

/// The flag set by Ctrl-C (and SIGTERM): stop starting new targets.
static STOP: OnceLock<Arc<AtomicBool>> = OnceLock::new();

extern "C" fn on_signal(signal: libc::c_int) {
    if let Some(stop) = STOP.get() {
        stop.store(true, Ordering::SeqCst);
    }
    // A second Ctrl-C ends the process at once (each database stays all or nothing).
    // SAFETY: signal() is async-signal-safe; SIG_DFL restores the default action.
    unsafe {
        libc::signal(signal, libc::SIG_DFL);
    }
}

/// Returns the stop flag, with the handlers installed.
fn stop_on_signals() -> Arc<AtomicBool> {
    let stop = STOP
        .get_or_init(|| Arc::new(AtomicBool::new(false)))
        .clone();
    let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: the handler only stores into an atomic and calls signal().
    unsafe {
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
    }
    stop
}

/// Prints one record as it finishes: a JSON line, or a line for people.
fn print_record(record: &Record, format: RunFormat) {
    let line = match format {
        RunFormat::Ndjson => serde_json::to_string(record).unwrap_or_default(),
        RunFormat::Human => {
            let mut line = format!(
                "{:<16} {}  {} -> {}  ({} ms)",
                record.outcome.name(),
                crate::printable::line(&record.target),
                fleet::report::version_name(record.from),
                fleet::report::version_name(record.to),
                record.ms
            );
            if let Some(e) = &record.error {
                line += &format!(
                    "\n    {}",
                    crate::printable::lines(&e.message).replace('\n', "\n    ")
                );
            }
            line
        }
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
}

fn print_summary(summary: &Summary, stopped: Option<&str>, format: RunFormat) -> Result<()> {
    match format {
        RunFormat::Ndjson => {
            let line = serde_json::to_string(&serde_json::json!({
                "summary": summary,
                "stopped": stopped,
            }))
            .map_err(|source| Error::Json {
                context: "render the summary",
                source,
            })?;
            crate::say!("{line}");
        }
        RunFormat::Human => {
            let counts: Vec<String> = summary
                .outcomes
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            let versions = |m: &std::collections::BTreeMap<String, usize>| {
                m.iter()
                    .map(|(k, v)| format!("{k}: {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            crate::say!(
                "run {}: {} target(s): {}",
                summary.run,
                summary.targets,
                counts.join(", ")
            );
            crate::say!("  versions before: {}", versions(&summary.versions_before));
            crate::say!("  versions after:  {}", versions(&summary.versions_after));
            crate::say!(
                "  {} ms, {} database(s) per minute",
                summary.ms,
                summary.databases_per_minute
            );
            if let Some(why) = stopped {
                crate::say!("  stopped: {why}");
            }
            crate::say!(
                "  {}",
                if summary.converged {
                    "converged"
                } else {
                    "NOT converged: there is no atomicity across databases; fix and re-run, `--resume` the run, or `fleet rollback --run` it"
                }
            );
        }
    }
    Ok(())
}

fn apply(args: &ApplyArgs, config: &Config) -> Result<ExitCode> {
    let project = args.common.project(config);
    let backups = args.places.backups(config);
    let runs = args.places.runs(config);
    let jobs = args.common.jobs();
    let mut targets = args.targets.resolve(&backups, config)?;
    if targets.is_none() && args.resume.is_none() {
        return Err(Error::Usage(
            "name the targets: --targets GLOB or --targets-from FILE (or --resume RUN)".into(),
        ));
    }
    let mut files = None;
    if args.dry_run || !args.yes {
        let list = match (&targets, &args.resume) {
            (Some(t), _) => t.clone(),
            (None, Some(id)) => fleet::journal::Run::open(&runs, id)?.targets()?,
            (None, None) => Vec::new(),
        };
        let found = fleet::preflight(&project, &list, jobs, true, Some(&backups))?;
        if args.dry_run {
            super::output::say_text(&describe_plan(&found, jobs));
            return Ok(plan_code(&found));
        }
        super::output::note_text(&describe_plan(&found, jobs));
        if !confirm(&format!(
            "apply to {} pending database(s)?",
            found.count(State::Pending)
        ))? {
            return Err(Error::Usage(
                "not confirmed; nothing was changed (pass --yes to skip the question)".into(),
            ));
        }
        targets = Some(list);
        // What runs is what this preview showed: its files, each target's planned migrations.
        files = Some(found.files);
    }
    let opts = fleet::Options {
        project,
        targets,
        runs,
        backups,
        jobs,
        canary: args.canary,
        canary_only: args.canary_only,
        max_failures: args.max_failures,
        resume: args.resume.clone(),
        allow_destructive: args.allow_destructive,
        stop: stop_on_signals(),
        files,
    };
    let format = args.format;
    let done = fleet::apply(&opts, &|r| print_record(r, format))?;
    crate::note!(
        "run {} (journal: {})",
        done.run.id,
        crate::printable::path(&done.run.dir.join(fleet::journal::APPLY_JOURNAL))
    );
    print_summary(&done.summary, done.stopped.as_deref(), format)?;
    let canary_passed = args.canary_only
        && done
            .records
            .iter()
            .all(|r| r.outcome.converged() || r.outcome == Outcome::Skipped);
    Ok(if done.summary.converged || canary_passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

fn status(args: &StatusArgs, config: &Config) -> Result<ExitCode> {
    let targets = args
        .targets
        .required(&Places::default_backups(config), config)?;
    let found = fleet::status(&args.common.project(config), &targets, args.common.jobs())?;
    match args.format {
        StatusFormat::Json => {
            super::output::out(&json(&serde_json::to_value(&found).unwrap_or_default())?);
        }
        StatusFormat::Prometheus => {
            let mut out = String::from(
                "# HELP schemactl_fleet_databases Databases of the fleet per state.\n# TYPE schemactl_fleet_databases gauge\n",
            );
            for (state, n) in &found.states {
                let name = state_name(*state);
                out += &format!("schemactl_fleet_databases{{state=\"{name}\"}} {n}\n");
            }
            out += "# HELP schemactl_fleet_version_databases Databases of the fleet per applied version.\n# TYPE schemactl_fleet_version_databases gauge\n";
            for (version, n) in &found.versions {
                out += &format!("schemactl_fleet_version_databases{{version=\"{version}\"}} {n}\n");
            }
            out += "# HELP schemactl_fleet_head_version The newest version of the migrations.\n# TYPE schemactl_fleet_head_version gauge\n";
            out += &format!(
                "schemactl_fleet_head_version {}\n",
                found.head.unwrap_or_default()
            );
            super::output::out(&out);
        }
        StatusFormat::Human => {
            crate::say!(
                "{} target(s); the migrations' head is {}",
                found.targets.len(),
                fleet::report::version_name(found.head)
            );
            for (state, n) in &found.states {
                crate::say!("  {}: {n}", state_name(*state));
            }
            let versions: Vec<String> = found
                .versions
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect();
            crate::say!("  versions: {}", versions.join(", "));
            for t in found.targets.iter().filter(|t| t.state.refused()) {
                crate::say!(
                    "  {}: {}",
                    crate::printable::path(&t.target),
                    t.error.as_deref().unwrap_or("refused")
                );
            }
        }
    }
    Ok(if found.converged() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

fn rollback(args: &RollbackArgs, config: &Config) -> Result<ExitCode> {
    let mut opts = fleet::rollback::Options {
        project: args.common.project(config),
        runs: args.places.runs(config),
        run: args.run.clone(),
        backups: args.places.backups(config),
        jobs: args.common.jobs(),
        stop: stop_on_signals(),
        confirmed: None,
    };
    if !args.yes {
        let planned = fleet::rollback::preview(&opts)?;
        for p in &planned {
            crate::note!(
                "{}: {} -> {}{}",
                crate::printable::line(&p.target),
                fleet::report::version_name(p.to),
                fleet::report::version_name(p.from),
                p.note.as_ref().map_or(String::new(), |n| format!(" ({n})"))
            );
            for d in &p.drops {
                crate::note!("    drops, kept in a stash: {d}");
            }
        }
        if !confirm(&format!(
            "roll back {} database(s) the run changed?",
            planned.iter().filter(|p| p.note.is_none()).count()
        ))? {
            return Err(Error::Usage(
                "not confirmed; nothing was changed (pass --yes to skip the question)".into(),
            ));
        }
        // Each target rolls back what was shown for it, or nothing.
        opts.confirmed = Some(planned);
    }
    let format = args.format;
    let done = fleet::rollback(&opts, &|r| print_record(r, format))?;
    print_summary(&done.summary, None, format)?;
    Ok(if done.summary.converged {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}
