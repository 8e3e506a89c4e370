//! `schemactl completions SHELL`: clap's static completions, and for bash, zsh and fish a
//! hook that completes the project's values by asking `schemactl complete-values KIND`
//! (hidden): migration versions and names for `rollback` (and `--to`), stashed versions for
//! `stash drop`, backup files for `restore`.
//!
//! clap_complete's own dynamic completion (`CompleteEnv`, `ArgValueCompleter`) is behind its
//! `unstable-dynamic` feature, which may change in any release and changes how users register
//! completions; this hook keeps clap's stable generator and adds a few lines per shell.

use std::io::Write;
use std::process::ExitCode;

use clap::CommandFactory;
use clap_complete::Shell;

use super::DatabaseArg;
use crate::config::Config;
use crate::error::{Error, Result};

/// Arguments of `schemactl completions`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "bash, zsh and fish also complete migration versions and names (rollback, rollback --to),\nstashed versions (stash drop) and backup files (restore) from the project.\n\nExamples:\n  schemactl completions bash > /etc/bash_completion.d/schemactl\n  source <(schemactl completions zsh)        # in ~/.zshrc, after compinit\n  schemactl completions fish > ~/.config/fish/completions/schemactl.fish"
)]
pub struct Args {
    /// The shell.
    pub shell: Shell,
}

/// What `complete-values` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// Migration versions and names, and `last`.
    Migrations,
    /// Versions whose stash the database keeps.
    Stashes,
    /// Backup files.
    Backups,
}

/// Arguments of the hidden `schemactl complete-values`, which the completion hooks call.
#[derive(Debug, clap::Args)]
pub struct Values {
    /// What to list.
    kind: Kind,
    #[command(flatten)]
    database: DatabaseArg,
    /// Directory of backups [default: from schemactl.toml]
    #[arg(long, value_name = "DIR")]
    backups: Option<std::path::PathBuf>,
}

const BASH_HOOK: &str = r#"
# schemactl: the project's values (migrations, stashes, backup files).
_schemactl_values() {
    local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}" kind="" i
    local -a extra=()
    for ((i = 1; i < COMP_CWORD; i++)); do
        case "${COMP_WORDS[i]}" in
            --database|-d) extra+=(--database "${COMP_WORDS[i+1]}") ;;
            --backups) extra+=(--backups "${COMP_WORDS[i+1]}") ;;
        esac
    done
    case "${COMP_WORDS[1]}" in
        rollback) kind=migrations ;;
        restore) kind=backups ;;
        stash) [[ "${COMP_WORDS[2]}" == drop && COMP_CWORD -ge 3 ]] && kind=stashes ;;
    esac
    case "$prev" in
        --to) kind=migrations ;;
        --database|-d|--backups|--at|--schema|-s|--table|--mode|--format) kind="" ;;
    esac
    if [[ -n "$kind" && "$cur" != -* ]]; then
        local IFS=$'\n'
        COMPREPLY=($(compgen -W "$(schemactl complete-values "$kind" "${extra[@]}" 2>/dev/null)" -- "$cur"))
        [[ ${#COMPREPLY[@]} -gt 0 ]] && return 0
    fi
    _schemactl "$@"
}
complete -F _schemactl_values -o bashdefault -o default schemactl
"#;

const ZSH_HOOK: &str = r#"
# schemactl: the project's values (migrations, stashes, backup files).
_schemactl_values() {
    local kind="" prev="${words[CURRENT-1]}" i
    local -a extra values
    for ((i = 2; i < CURRENT; i++)); do
        case "${words[i]}" in
            --database|-d) extra+=(--database "${words[i+1]}") ;;
            --backups) extra+=(--backups "${words[i+1]}") ;;
        esac
    done
    case "${words[2]}" in
        rollback) kind=migrations ;;
        restore) kind=backups ;;
        stash) [[ "${words[3]}" == drop && CURRENT -ge 4 ]] && kind=stashes ;;
    esac
    case "$prev" in
        --to) kind=migrations ;;
        --database|-d|--backups|--at|--schema|-s|--table|--mode|--format) kind="" ;;
    esac
    if [[ -n "$kind" && "$PREFIX" != -* ]]; then
        values=("${(@f)$(schemactl complete-values "$kind" "${extra[@]}" 2>/dev/null)}")
        values=(${values:#})
        if (( ${#values} )); then
            compadd -a values
            return 0
        fi
    fi
    _schemactl "$@"
}
compdef _schemactl_values schemactl
"#;

const FISH_HOOK: &str = r#"
# schemactl: the project's values (migrations, stashes, backup files).
complete -c schemactl -n "__fish_seen_subcommand_from rollback; and not string match -q -- '-*' (commandline -ct)" -f -a "(schemactl complete-values migrations 2>/dev/null)"
complete -c schemactl -n "__fish_seen_subcommand_from restore; and not string match -q -- '-*' (commandline -ct)" -a "(schemactl complete-values backups 2>/dev/null)"
complete -c schemactl -n "__fish_seen_subcommand_from stash; and __fish_seen_subcommand_from drop" -f -a "(schemactl complete-values stashes 2>/dev/null)"
"#;

/// Prints the completions script for the shell.
pub fn run(args: &Args) -> Result<ExitCode> {
    let mut cmd = super::Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "schemactl", &mut out);
    let hook = match args.shell {
        Shell::Bash => BASH_HOOK,
        Shell::Zsh => ZSH_HOOK,
        Shell::Fish => FISH_HOOK,
        _ => "",
    };
    out.extend_from_slice(hook.as_bytes());
    std::io::stdout()
        .write_all(&out)
        .map_err(|e| Error::io("write", "standard output", e))?;
    Ok(ExitCode::SUCCESS)
}

/// Prints one candidate per line; prints nothing when the project cannot be read.
pub fn values(args: &Values, config: Option<&Config>) -> Result<ExitCode> {
    let Some(config) = config else {
        return Ok(ExitCode::SUCCESS);
    };
    let list = match args.kind {
        Kind::Migrations => crate::ops::complete::migrations(&config.migrations, &config.rollbacks),
        Kind::Stashes => crate::ops::complete::stashes(&args.database.resolve(config)),
        Kind::Backups => {
            crate::ops::complete::backups(args.backups.as_deref().unwrap_or(&config.backups))
        }
    };
    let mut text = String::new();
    for value in list {
        text.push_str(&value);
        text.push('\n');
    }
    // A closed pipe (the shell stopped reading) is not an error worth a message.
    let _ = std::io::stdout().write_all(text.as_bytes());
    Ok(ExitCode::SUCCESS)
}
