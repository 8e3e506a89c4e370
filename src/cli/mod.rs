//! The command line: clap definitions, and one small file per subcommand that turns its
//! arguments into a library call and prints what it returns. What several subcommands share
//! to talk to people (format, colour, progress, confirmation) is in `output.rs`; no file here
//! chains pipeline stages itself.

mod apply;
mod backup;
mod baseline;
mod check;
mod completions;
mod drift;
mod explain;
mod fleet;
mod graph;
mod import;
mod optimize;
mod output;
mod plan;
mod prune;
mod restore;
mod rollback;
mod schema;
mod snapshot;
mod stash;
mod stats;
mod status;
mod sync;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::error::{Error, Result};

/// Declarative, versioned schema migrations and operations for SQLite.
#[derive(Debug, Parser)]
#[command(name = "schemactl", version, about, propagate_version = true)]
#[command(
    after_help = "Example:\n  schemactl schema check\n  schemactl import --database .swarm/memory.db --out schema/memory.yaml"
)]
pub struct Cli {
    /// Configuration file [default: the nearest schemactl.toml at or above the current directory]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a live database's schema as DSL YAML.
    Import(import::Args),
    /// Show the steps that bring the database to schema/, with their reverse and lint.
    Plan(plan::Args),
    /// Apply pending migrations: lock, backup, rehearsal on the backup, then the live database.
    Apply(apply::Args),
    /// Plan against the live database and apply the plan through the same pipeline.
    Sync(sync::Args),
    /// Adopt a database without history: prove which version it is at and record it (nothing runs).
    Baseline(baseline::Args),
    /// Undo a named migration (and later ones with --cascade) through the same pipeline.
    Rollback(rollback::Args),
    /// List or free the data migrations dropped, kept for their rollback.
    #[command(subcommand)]
    Stash(stash::Command),
    /// Show applied, pending, divergent and missing migrations.
    Status(status::Args),
    /// Compare the live database, its migrations and schema/: exit 2 on drift.
    Drift(drift::Args),
    /// Take an online, compressed, verified backup; list, verify or prune backups.
    Backup(backup::Args),
    /// Restore the database from a verified backup.
    Restore(restore::Args),
    /// Check integrity, foreign keys, orphans, expiry, indexes, invariants and queries: exit 2 on findings.
    Check(check::Args),
    /// One migration across many databases: plan, apply (resumable), status, rollback.
    #[command(subcommand)]
    Fleet(fleet::Command),
    /// Run PRAGMA optimize or ANALYZE, and VACUUM after checking for disk space.
    Optimize(optimize::Args),
    /// Run EXPLAIN QUERY PLAN on the queries schema/ declares: full scans, temp b-trees, indexes to add.
    Explain(explain::Args),
    /// Archive, then delete, the rows the retention rules of schema/ select.
    Prune(prune::Args),
    /// Sizes per table and index, row counts, pages, WAL and version: exit 2 over --max-size.
    Stats(stats::Args),
    /// Draw schema/ as an entity-relationship diagram (Mermaid or DOT).
    Graph(graph::Args),
    /// Write the canonical dump of schema/ as an insta snapshot.
    Snapshot(snapshot::Args),
    /// Check the schema files, print their normal form, or print the DSL's JSON Schema.
    #[command(subcommand)]
    Schema(schema::Command),
    /// Print shell completions.
    Completions(completions::Args),
    /// List completion candidates (called by the completion scripts).
    #[command(hide = true)]
    CompleteValues(completions::Values),
}

/// A `--database` flag, shared by the commands that open the live database.
#[derive(Debug, clap::Args)]
pub struct DatabaseArg {
    /// The SQLite database [default: from schemactl.toml, else .swarm/memory.db]
    #[arg(long, short = 'd', env = "SCHEMACTL_DATABASE", value_name = "DB")]
    pub database: Option<PathBuf>,
}

impl DatabaseArg {
    /// Returns the database path: the flag or env var, else the configuration's.
    pub fn resolve(&self, config: &Config) -> PathBuf {
        self.database
            .clone()
            .unwrap_or_else(|| config.database.clone())
    }
}

/// A `--schema` flag, shared by the commands that read the schema files.
#[derive(Debug, clap::Args)]
pub struct SchemaArg {
    /// Schema file or directory [default: from schemactl.toml, else schema/]
    #[arg(long, short = 's', value_name = "PATH")]
    pub schema: Option<PathBuf>,
}

impl SchemaArg {
    /// Returns the schema path: the flag, else the configuration's.
    pub fn resolve(&self, config: &Config) -> PathBuf {
        self.schema.clone().unwrap_or_else(|| config.schema.clone())
    }
}

/// Runs a parsed command line and returns the process's exit code.
pub fn run(cli: Cli) -> Result<ExitCode> {
    let config = || Config::discover(cli.config.as_deref());
    match cli.command {
        Command::Import(args) => import::run(&args, &config()?),
        Command::Plan(args) => plan::run(&args, &config()?),
        Command::Apply(args) => apply::run(&args, &config()?),
        Command::Sync(args) => sync::run(&args, &config()?),
        Command::Baseline(args) => baseline::run(&args, &config()?),
        Command::Rollback(args) => rollback::run(&args, &config()?),
        Command::Stash(cmd) => stash::run(&cmd, &config()?),
        Command::Status(args) => status::run(&args, &config()?),
        Command::Drift(args) => drift::run(&args, &config()?),
        Command::Backup(args) => backup::run(&args, &config()?),
        Command::Restore(args) => restore::run(&args, &config()?),
        Command::Check(args) => check::run(&args, &config()?),
        Command::Fleet(cmd) => fleet::run(&cmd, &config()?),
        Command::Optimize(args) => optimize::run(&args, &config()?),
        Command::Explain(args) => explain::run(&args, &config()?),
        Command::Prune(args) => prune::run(&args, &config()?),
        Command::Stats(args) => stats::run(&args, &config()?),
        Command::Graph(args) => graph::run(&args, &config()?),
        Command::Snapshot(args) => snapshot::run(&args, &config()?),
        Command::Schema(cmd) => schema::run(&cmd, &config()?),
        Command::Completions(args) => completions::run(&args),
        Command::CompleteValues(args) => completions::values(&args, config().ok().as_ref()),
    }
}

/// Prints an error to standard error: each error in a schema file with its snippet. Lines
/// are not wrapped, so that messages stay greppable in logs and tests.
pub fn report(error: Error) {
    let _ = miette::set_hook(Box::new(|_| {
        Box::new(miette::MietteHandlerOpts::new().wrap_lines(false).build())
    }));
    match error {
        Error::Source(errors) => {
            for e in errors {
                output::note_rendered(&format!("{:?}", miette::Report::new(e.printable())));
            }
        }
        // Each message of the chain with its control characters escaped (a name can move
        // no cursor); the error itself has no diagnostic of its own to lose.
        other => {
            let chain = deduplicated(&other).unwrap_or_else(|| layers(&other));
            let mut multi: Vec<String> = Vec::new();
            let mut cause: Option<&dyn std::error::Error> = Some(&other);
            while let Some(e) = cause {
                if e.downcast_ref::<Error>()
                    .is_some_and(Error::has_line_breaks)
                {
                    multi.push(e.to_string());
                }
                cause = e.source();
            }
            output::note_rendered(&format!(
                "{:?}",
                miette::Report::new(chain.printable(&multi))
            ));
        }
    }
}

/// Every message of `error`'s chain, as layers.
fn layers(error: &Error) -> Layer {
    let mut all: Vec<String> = Vec::new();
    let mut cause: Option<&dyn std::error::Error> = Some(error);
    while let Some(e) = cause {
        all.push(e.to_string());
        cause = e.source();
    }
    let mut chain: Option<Layer> = None;
    for text in all.into_iter().rev() {
        chain = Some(Layer {
            text,
            next: chain.map(Box::new),
        });
    }
    chain.unwrap_or(Layer {
        text: String::new(),
        next: None,
    })
}

impl Layer {
    /// The chain with its control characters escaped: [`crate::printable::lines`] for the
    /// messages in `multi` (which have line breaks of their own), [`crate::printable::line`]
    /// for every other one.
    fn printable(self, multi: &[String]) -> Layer {
        let text = if multi.iter().any(|m| self.text.contains(m.as_str())) {
            crate::printable::lines(&self.text)
        } else {
            crate::printable::line(&self.text)
        };
        Layer {
            text: text.into_owned(),
            next: self.next.map(|n| Box::new(n.printable(multi))),
        }
    }
}

/// One message of an error's chain of causes, the next as its source.
#[derive(Debug)]
struct Layer {
    text: String,
    next: Option<Box<Layer>>,
}

impl std::fmt::Display for Layer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::error::Error for Layer {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.next
            .as_deref()
            .map(|l| l as &(dyn std::error::Error + 'static))
    }
}

impl miette::Diagnostic for Layer {}

/// The chain of `error` without the causes an outer message already says in full (a rehearsal
/// failure quotes its cause, refinery's error quotes it again): each message once. None when no
/// message repeats, so the error keeps its own rendering.
fn deduplicated(error: &Error) -> Option<Layer> {
    let mut all: Vec<String> = Vec::new();
    let mut cause: Option<&dyn std::error::Error> = Some(error);
    while let Some(e) = cause {
        all.push(e.to_string());
        cause = e.source();
    }
    let mut texts: Vec<String> = Vec::new();
    for (i, text) in all.iter().enumerate() {
        let said = texts.iter().any(|t| t.contains(text.trim()));
        // A wrapper that only quotes its causes (refinery's "`error applying migrations`,
        // `...`") says nothing of its own once they are said.
        let mut own = text.clone();
        for later in &all[i + 1..] {
            own = own.replace(later.trim(), "");
        }
        let wrapper = i > 0 && own.len() < text.len() && own.trim().len() < 40;
        if !(said || wrapper) {
            texts.push(text.clone());
        }
    }
    if texts.len() == all.len() {
        return None;
    }
    texts.into_iter().rev().fold(None, |next, text| {
        Some(Layer {
            text,
            next: next.map(Box::new),
        })
    })
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        // clap checks names, flags and groups of every subcommand here, not at a user's prompt.
        super::Cli::command().debug_assert();
    }
}
