//! Day-2 commands on the policy file that `aiwaf train` reads (issue 6): blocklist, exemptions,
//! keywords, reset, geo lists, diagnose.

use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;

/// The ops commands, flattened into the top-level `aiwaf` command.
#[derive(Debug, Subcommand)]
pub enum OpsCommand {
    /// Validate the policy (and a bundle) and report what is enabled.
    Diagnose {
        /// The policy file.
        #[arg(long, default_value = ".aiwaf/policy.json")]
        policy: std::path::PathBuf,
    },
}

/// Runs an ops command.
pub fn run(cmd: &OpsCommand) -> Result<ExitCode> {
    match cmd {
        OpsCommand::Diagnose { .. } => anyhow::bail!("not built yet"),
    }
}
