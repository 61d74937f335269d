//! `aiwaf-manifest`: writes `.aiwaf/paths.json` from an OpenAPI document, an Envoy route
//! configuration or access logs. Glue only: the work is in the library.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use aiwaf_manifest_gen::{LogSummary, Manifest, MAX_INPUT_BYTES};
use anyhow::{bail, Context as _, Result};
use clap::{ArgGroup, Parser};

/// Builds AIWAF's route manifest (.aiwaf/paths.json) from one source.
#[derive(Parser, Debug)]
#[command(name = "aiwaf-manifest", version)]
#[command(group(ArgGroup::new("source").required(true).args(["openapi", "envoy_routes", "logs"])))]
struct Args {
    /// An OpenAPI 3 document, JSON or YAML.
    #[arg(long, value_name = "FILE")]
    openapi: Option<PathBuf>,
    /// An Envoy bootstrap, listener, route configuration or RDS discovery response, JSON or YAML.
    #[arg(long = "envoy-routes", value_name = "FILE")]
    envoy_routes: Option<PathBuf>,
    /// Access logs: files, directories or globs (gzip and rotated sets as `aiwaf train` reads them).
    #[arg(long, value_name = "LOG", num_args = 1..)]
    logs: Vec<PathBuf>,
    /// Where to write the manifest (its directory is created).
    #[arg(long, short, value_name = "PATH", default_value = ".aiwaf/paths.json")]
    output: PathBuf,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("aiwaf-manifest: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<()> {
    let manifest = if let Some(path) = &args.openapi {
        aiwaf_manifest_gen::from_openapi(&read_input(path)?)
            .with_context(|| path.display().to_string())?
    } else if let Some(path) = &args.envoy_routes {
        aiwaf_manifest_gen::from_envoy_routes(&read_input(path)?)
            .with_context(|| path.display().to_string())?
    } else {
        let (manifest, summary) = aiwaf_manifest_gen::from_logs(&args.logs)?;
        report_logs(&summary);
        manifest
    };
    if manifest.routes.is_empty() {
        bail!("no routes found in the input: nothing written");
    }
    write_atomic(&args.output, &manifest.to_json())?;
    println!("{}", summary_line(&args.output, &manifest));
    Ok(())
}

/// Reads a structured input, refusing files over the library's size cap before reading them.
fn read_input(path: &Path) -> Result<String> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(MAX_INPUT_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    if bytes.len() > MAX_INPUT_BYTES {
        bail!(
            "{}: larger than the {} MiB accepted",
            path.display(),
            MAX_INPUT_BYTES / (1024 * 1024)
        );
    }
    String::from_utf8(bytes).with_context(|| format!("{}: not UTF-8 text", path.display()))
}

/// Writes `text` to a temporary file next to `path` and renames it over `path`, so a reader
/// never sees a half-written manifest.
fn write_atomic(path: &Path, text: &str) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let name = path
        .file_name()
        .with_context(|| format!("{}: not a file name", path.display()))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| -> std::io::Result<()> {
        use std::io::Write as _;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("cannot write {}", path.display()));
    }
    Ok(())
}

fn summary_line(path: &Path, m: &Manifest) -> String {
    let per: Vec<String> = m
        .category_counts()
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(c, n)| format!("{c} {n}"))
        .collect();
    format!(
        "wrote {}: {} routes from {} ({})",
        path.display(),
        m.routes.len(),
        m.source,
        per.join(", ")
    )
}

fn report_logs(s: &LogSummary) {
    let r = &s.read;
    eprintln!(
        "logs: {} files, {} lines ({} parsed, {} unparseable); {} successful requests used, {} error responses and {} preflights ignored, {} suspicious and {} unusable successful requests left out; {} distinct paths",
        r.files,
        r.lines,
        r.parsed,
        r.skipped,
        s.successes,
        s.failures_ignored,
        s.preflights_ignored,
        s.rejected_suspicious,
        s.rejected_unusable,
        s.distinct_paths
    );
    for sample in &r.bad_samples {
        eprintln!("  unparseable: {sample}");
    }
    for e in &r.errors {
        eprintln!("  error: {e}");
    }
    if s.overflow_records > 0 {
        eprintln!(
            "warning: the path table was full: {} successful requests to new paths were not counted ({} compactions)",
            s.overflow_records, s.compactions
        );
    }
}
