//! `cargo xtask sandbox`: Envoy direct vs protected under the same replayed traffic (issue 7).

use anyhow::{bail, Result};

/// Runs the sandbox with its command-line arguments (after `sandbox`).
pub fn run(_args: &[String]) -> Result<()> {
    bail!("the sandbox is not built yet")
}
