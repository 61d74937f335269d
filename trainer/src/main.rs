//! The `aiwaf` command line. Glue only: parsing, reading files and printing; every decision is
//! made by `aiwaf-core`, the same code the filter runs.

mod cli;
mod explain;
mod forest_fit;
mod geoip;
mod manifest;
mod ops;
mod pathshell;
mod push;
mod rng;
mod sample_log;
#[cfg(test)]
mod testutil;
mod train;

use std::path::Path;
use std::process::ExitCode;

use aiwaf_core::{Bundle, Engine};
use anyhow::{Context as _, Result};
use clap::Parser;

use crate::cli::{Cli, Command};

/// Exit code for a bundle or argument that cannot be used (sysexits' EX_USAGE/EX_DATAERR).
const EXIT_INVALID: u8 = 1;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check { bundle, json } => check(&bundle, json),
        Command::Explain(args) => explain::run(&args),
        Command::Train(args) => train::run(&args),
        Command::Ops(cmd) => ops::run(&cmd),
        Command::Bundle(args) => push::bundle(&args),
        Command::Push(args) => push::push(&args),
        Command::Init(args) => manifest::init(&args),
        Command::Pathshell(args) => pathshell::run(&args),
        Command::SampleLog { lines, out, seed } => sample_log_file(&out, lines, seed),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("aiwaf: {e:#}");
            ExitCode::from(EXIT_INVALID)
        }
    }
}

/// Current Unix time: the CLI, unlike core, may read the clock.
pub(crate) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Reads and compiles a bundle exactly as the filter does.
pub(crate) fn load_engine(path: &Path) -> Result<Engine> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let bundle =
        Bundle::from_json(&bytes).with_context(|| format!("{} is refused", path.display()))?;
    Engine::new(&bundle, now()).with_context(|| format!("{} is refused", path.display()))
}

/// Writes the sample log atomically enough for a demo: to `out`, gzipped for `.gz`.
fn sample_log_file(out: &Path, lines: u64, seed: u64) -> Result<ExitCode> {
    use std::io::Write as _;
    let file =
        std::fs::File::create(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut buffered = std::io::BufWriter::new(file);
    if out.extension().is_some_and(|e| e == "gz") {
        let mut gz = flate2::write::GzEncoder::new(buffered, flate2::Compression::fast());
        sample_log::write(&mut gz, lines, seed)?;
        gz.finish()?.flush()?;
    } else {
        sample_log::write(&mut buffered, lines, seed)?;
        buffered.flush()?;
    }
    eprintln!("wrote {lines} lines to {}", out.display());
    Ok(ExitCode::SUCCESS)
}

fn check(path: &Path, json: bool) -> Result<ExitCode> {
    let engine = load_engine(path)?;
    let summary = engine.summary();
    let warnings = engine.warnings();
    if json {
        let object: serde_json::Map<String, serde_json::Value> = summary
            .into_iter()
            .map(|(k, v)| (k, serde_json::Value::String(v)))
            .collect();
        let out = serde_json::json!({"valid": true, "summary": object, "warnings": warnings});
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("{}: valid", path.display());
        let width = summary.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        for (k, v) in &summary {
            println!("  {k:<width$}  {v}");
        }
        for w in &warnings {
            println!("warning: {w}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The trainer allocates a few short strings per log line on one thread and frees them on
/// another; mimalloc does that about twice as fast as glibc's allocator.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;
