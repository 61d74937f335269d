//! Generating a manifest file from one source: what the `aiwaf-manifest` binary and
//! `aiwaf init` both do, in one place.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};

use crate::{LogSummary, Manifest, MAX_INPUT_BYTES};

/// Where a manifest comes from.
#[derive(Debug, Clone, Copy)]
pub enum Input<'a> {
    /// An OpenAPI 3 document, JSON or YAML.
    OpenApi(&'a Path),
    /// An Envoy bootstrap, listener, route configuration or RDS discovery response.
    EnvoyRoutes(&'a Path),
    /// Access logs: files, directories or globs.
    Logs(&'a [PathBuf]),
}

/// Builds the manifest from `input` and writes it atomically to `output` (its directory is
/// created). Returns the one-line summary for stdout; a log source's reading report goes to
/// stderr. A manifest without routes is refused and nothing is written.
pub fn generate(input: Input<'_>, output: &Path) -> Result<String> {
    let manifest = match input {
        Input::OpenApi(path) => {
            crate::from_openapi(&read_input(path)?).with_context(|| path.display().to_string())?
        }
        Input::EnvoyRoutes(path) => crate::from_envoy_routes(&read_input(path)?)
            .with_context(|| path.display().to_string())?,
        Input::Logs(paths) => {
            let (manifest, summary) = crate::from_logs(paths)?;
            report_logs(&summary);
            manifest
        }
    };
    if manifest.routes.is_empty() {
        bail!("no routes found in the input: nothing written");
    }
    write_atomic(output, &manifest.to_json())?;
    Ok(summary_line(output, &manifest))
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
