//! Day-2 commands on the policy file that `aiwaf train --policy` reads (issue 6): blocklist,
//! exemptions, learned keywords, reset, geo lists, diagnose.
//!
//! Operators should not hand-edit JSON during an incident. Every edit here reads the policy,
//! changes one thing in the operator's own text (key order, spelling and unrelated content kept,
//! see [`json`]), checks the result with the filter's own loader and writes it atomically, or
//! refuses with the key at fault and leaves the file alone. Adding what is present is a no-op;
//! removing what is absent is an error (exit 1), so a typo never passes as success.
//!
//! An emptied list is removed where the canonical form (`Bundle::to_json_pretty`, what
//! `aiwaf train` writes) omits it (`blocklist`, `learned.keywords`) and kept where it writes it
//! (the settings lists), so edits and their undo give back a canonical file byte for byte.

mod blocklist;
mod diagnose;
mod exempt;
mod fmt;
mod geo;
mod json;
mod keywords;
mod policy;
mod reset;
#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Subcommand};

/// Where the policy lives unless `--policy` says otherwise.
pub const DEFAULT_POLICY: &str = ".aiwaf/policy.json";

/// The ops commands, flattened into the top-level `aiwaf` command.
#[derive(Debug, Subcommand)]
pub enum OpsCommand {
    /// Clients refused on every path (the policy's `blocklist`): add, remove, list.
    Blocklist {
        /// What to do.
        #[command(subcommand)]
        action: BlocklistAction,
    },
    /// Clients and paths exempt from detection (AIWAF_EXEMPT_IPS, AIWAF_EXEMPT_PATHS).
    Exempt {
        /// Clients or paths.
        #[command(subcommand)]
        kind: ExemptKind,
    },
    /// Learned path keywords (`learned.keywords`): list, remove.
    Keywords {
        /// What to do.
        #[command(subcommand)]
        action: KeywordsAction,
    },
    /// Remove the blocklist, the learned keywords and/or the exemptions (needs --confirm).
    Reset(ResetArgs),
    /// Country lists (AIWAF_GEO_BLOCK_COUNTRIES, AIWAF_GEO_ALLOW_COUNTRIES).
    Geo {
        /// Which list.
        #[command(subcommand)]
        list: GeoList,
    },
    /// Validate the policy (and a bundle) with the filter's code; report what is enabled,
    /// sizes, expiry and warnings. Exit 1 when a file is refused.
    Diagnose(DiagnoseArgs),
}

/// The policy file every ops command works on.
#[derive(Debug, Clone, Args)]
pub struct PolicyArg {
    /// The policy file (what `aiwaf train --policy` reads). Missing: counts as `{}`, and the
    /// first edit creates it with its directory.
    #[arg(long, default_value = DEFAULT_POLICY)]
    pub policy: PathBuf,
}

/// `aiwaf blocklist …`
#[derive(Debug, Subcommand)]
pub enum BlocklistAction {
    /// Refuse a client or block on every path. Present already: nothing changes (an expired
    /// entry is replaced).
    Add {
        /// Address or CIDR block, IPv4 or IPv6 (`203.0.113.7`, `203.0.113.0/24`).
        #[arg(value_name = "IP|CIDR")]
        ip: String,
        /// Why, shown in the block log line [default: manual].
        #[arg(long)]
        reason: Option<String>,
        /// Seconds the entry applies from now; without it the entry is permanent.
        #[arg(long)]
        ttl: Option<u64>,
        /// The policy file.
        #[command(flatten)]
        policy: PolicyArg,
    },
    /// Remove an entry (the exact address or block as listed). Absent: exit 1.
    Remove {
        /// Address or CIDR block.
        #[arg(value_name = "IP|CIDR")]
        ip: String,
        /// The policy file.
        #[command(flatten)]
        policy: PolicyArg,
    },
    /// Show the entries with their remaining time; expired ones are marked EXPIRED.
    List {
        /// Print a JSON array instead of a table.
        #[arg(long)]
        json: bool,
        /// The policy file.
        #[command(flatten)]
        policy: PolicyArg,
    },
}

/// `aiwaf exempt ip|path …`
#[derive(Debug, Subcommand)]
pub enum ExemptKind {
    /// Clients that skip every detector, the blocklist included (AIWAF_EXEMPT_IPS).
    Ip {
        /// What to do.
        #[command(subcommand)]
        action: ExemptAction,
    },
    /// Path prefixes that skip the heuristic detectors (AIWAF_EXEMPT_PATHS); payload and probe
    /// checks still run there.
    Path {
        /// What to do.
        #[command(subcommand)]
        action: ExemptAction,
    },
}

/// `aiwaf exempt ip|path add|remove|list`
#[derive(Debug, Subcommand)]
pub enum ExemptAction {
    /// Add an exemption. While the list is not written in the policy it starts from the
    /// default list, so adding one entry keeps the defaults.
    Add {
        /// `exempt ip`: an address or CIDR block; `exempt path`: a prefix starting with `/`.
        #[arg(value_name = "IP|CIDR|PATH")]
        entry: String,
        /// Printed back but NOT stored: the policy schema has no reason field for exemptions
        /// (keep it in your change log).
        #[arg(long)]
        reason: Option<String>,
        /// The policy file.
        #[command(flatten)]
        policy: PolicyArg,
    },
    /// Remove an exemption (paths compare as the filter normalises them). Absent: exit 1.
    Remove {
        /// The address, block or path prefix.
        #[arg(value_name = "IP|CIDR|PATH")]
        entry: String,
        /// The policy file.
        #[command(flatten)]
        policy: PolicyArg,
    },
    /// Show the exemptions in force (the default list when the policy does not set one).
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// The policy file.
        #[command(flatten)]
        policy: PolicyArg,
    },
}

/// `aiwaf keywords …`
#[derive(Debug, Subcommand)]
pub enum KeywordsAction {
    /// Show the learned keywords with their count, clients and expiry.
    List {
        /// Print a JSON array instead of a table.
        #[arg(long)]
        json: bool,
        /// The policy file.
        #[command(flatten)]
        policy: PolicyArg,
    },
    /// Remove a learned keyword (case-insensitive). Absent: exit 1.
    Remove {
        /// The word.
        word: String,
        /// The policy file.
        #[command(flatten)]
        policy: PolicyArg,
    },
}

/// `aiwaf reset`: without a selection flag, all three.
#[derive(Debug, Args)]
pub struct ResetArgs {
    /// Remove every blocklist entry (operator and trained).
    #[arg(long)]
    pub blocklist: bool,
    /// Remove the learned keywords (the anomaly model is kept).
    #[arg(long)]
    pub keywords: bool,
    /// Remove AIWAF_EXEMPT_IPS and AIWAF_EXEMPT_PATHS (back to the defaults).
    #[arg(long)]
    pub exemptions: bool,
    /// Do it; without this flag the command only says what it would remove, and exits 1.
    #[arg(long)]
    pub confirm: bool,
    /// The policy file.
    #[command(flatten)]
    pub policy: PolicyArg,
}

/// `aiwaf geo block|allow …`
#[derive(Debug, Subcommand)]
pub enum GeoList {
    /// Countries refused (AIWAF_GEO_BLOCK_COUNTRIES), unless an allow list is set.
    Block {
        /// What to do.
        #[command(subcommand)]
        action: GeoAction,
    },
    /// The only countries allowed when non-empty (AIWAF_GEO_ALLOW_COUNTRIES); it wins over the
    /// block list.
    Allow {
        /// What to do.
        #[command(subcommand)]
        action: GeoAction,
    },
}

/// `aiwaf geo block|allow add|remove|list`. A change takes effect once the bundle is compiled
/// with `--geoip DB.mmdb` and AIWAF_GEO_BLOCK_ENABLED is true.
#[derive(Debug, Subcommand)]
pub enum GeoAction {
    /// Add a country (ISO 3166-1 alpha-2 code, stored uppercase).
    Add {
        /// Two-letter country code (`CN`, `ru`).
        #[arg(value_name = "CC")]
        code: String,
        /// The policy file.
        #[command(flatten)]
        policy: PolicyArg,
    },
    /// Remove a country. Absent: exit 1.
    Remove {
        /// Two-letter country code.
        #[arg(value_name = "CC")]
        code: String,
        /// The policy file.
        #[command(flatten)]
        policy: PolicyArg,
    },
    /// Show the list and whether geo blocking is enabled.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// The policy file.
        #[command(flatten)]
        policy: PolicyArg,
    },
}

/// `aiwaf diagnose`
#[derive(Debug, Args)]
pub struct DiagnoseArgs {
    /// The policy file; missing counts as `{}`.
    #[arg(long, default_value = DEFAULT_POLICY)]
    pub policy: PathBuf,
    /// A bundle built from it (what the filter loads), checked too and compared with the policy.
    #[arg(long)]
    pub bundle: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// What a command prints on stdout, and whether it succeeded. Refusals that print nothing but
/// an error are `Err` instead (main prints them and exits 1).
#[derive(Debug)]
pub(crate) struct Report {
    /// The output, newline-terminated.
    pub(crate) text: String,
    /// False: exit 1 after printing (diagnose of a refused file).
    pub(crate) ok: bool,
}

impl Report {
    fn ok(text: String) -> Report {
        Report { text, ok: true }
    }
}

/// Runs an ops command.
pub fn run(cmd: &OpsCommand) -> Result<ExitCode> {
    let report = dispatch(cmd, crate::now())?;
    print!("{}", report.text);
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Runs a command at time `now` (Unix seconds), returning what to print.
pub(crate) fn dispatch(cmd: &OpsCommand, now: u64) -> Result<Report> {
    use exempt::Kind;
    match cmd {
        OpsCommand::Blocklist { action } => match action {
            BlocklistAction::Add {
                ip,
                reason,
                ttl,
                policy,
            } => blocklist::add(&policy.policy, ip, reason.as_deref(), *ttl, now),
            BlocklistAction::Remove { ip, policy } => blocklist::remove(&policy.policy, ip, now),
            BlocklistAction::List { json, policy } => blocklist::list(&policy.policy, *json, now),
        },
        OpsCommand::Exempt { kind } => {
            let (kind, action) = match kind {
                ExemptKind::Ip { action } => (Kind::Ip, action),
                ExemptKind::Path { action } => (Kind::Path, action),
            };
            match action {
                ExemptAction::Add {
                    entry,
                    reason,
                    policy,
                } => exempt::add(kind, &policy.policy, entry, reason.as_deref(), now),
                ExemptAction::Remove { entry, policy } => {
                    exempt::remove(kind, &policy.policy, entry, now)
                }
                ExemptAction::List { json, policy } => exempt::list(kind, &policy.policy, *json),
            }
        }
        OpsCommand::Keywords { action } => match action {
            KeywordsAction::List { json, policy } => keywords::list(&policy.policy, *json, now),
            KeywordsAction::Remove { word, policy } => keywords::remove(&policy.policy, word, now),
        },
        OpsCommand::Reset(args) => reset::run(args, now),
        OpsCommand::Geo { list } => {
            let (list, action) = match list {
                GeoList::Block { action } => (geo::List::Block, action),
                GeoList::Allow { action } => (geo::List::Allow, action),
            };
            match action {
                GeoAction::Add { code, policy } => geo::add(list, &policy.policy, code, now),
                GeoAction::Remove { code, policy } => geo::remove(list, &policy.policy, code, now),
                GeoAction::List { json, policy } => geo::list(list, &policy.policy, *json),
            }
        }
        OpsCommand::Diagnose(args) => diagnose::run(args, now),
    }
}

/// The lines a successful edit prints: what changed, then notes and warnings.
fn edited(head: String, notes: Vec<String>) -> Report {
    let mut text = head;
    text.push('\n');
    for n in notes {
        text.push_str(&n);
        text.push('\n');
    }
    Report::ok(text)
}

/// A refusal that says, after the reason, that the policy file was left as it was.
fn unchanged(path: &std::path::Path, e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("{e:#}; {} is unchanged", path.display())
}

/// Free text that goes into a log line (a blocklist reason) must stay on one line.
fn check_text(what: &str, text: &str) -> Result<()> {
    if text.chars().any(char::is_control) {
        anyhow::bail!("{what} must not contain control characters (newlines, tabs)");
    }
    Ok(())
}
