//! `aiwaf pathshell`: browse the route manifest's path tree and exempt prefixes (issue 5).

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::PathshellArgs;

/// Runs the interactive shell on stdin/stdout.
pub fn run(_args: &PathshellArgs) -> Result<ExitCode> {
    anyhow::bail!("not built yet")
}
