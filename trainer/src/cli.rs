//! Command-line arguments as typed (clap derive); validated into values by each command.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// aiwaf: train, validate and explain the bundles the aiwaf-proxy filter enforces.
#[derive(Debug, Parser)]
#[command(name = "aiwaf", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate a bundle with the filter's own code and print what it enforces.
    Check {
        /// Bundle file (JSON).
        bundle: PathBuf,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Evaluate one request against a bundle and print the verdict with its evidence.
    Explain(ExplainArgs),
    /// Learn from access logs (abusive clients, keywords, the anomaly model) and write a bundle.
    Train(TrainArgs),
    /// Compile a policy into a bundle without logs (validated as the filter loads it).
    Bundle(BundleArgs),
    /// Put a bundle into the ECDS resource file Envoy watches (hot reload, no restart).
    Push(PushArgs),
    /// Write the route manifest (.aiwaf/paths.json) from OpenAPI, Envoy routes or access logs.
    Init(InitArgs),
    /// Browse the route manifest's path tree and exempt prefixes in the policy.
    Pathshell(PathshellArgs),
    #[command(flatten)]
    Ops(crate::ops::OpsCommand),
    /// Write a realistic synthetic access log (browsers, APIs, crawlers, scanners, form posts).
    SampleLog {
        /// Number of lines.
        #[arg(long, default_value_t = 10_000)]
        lines: u64,
        /// Output file; gzipped when it ends in `.gz`.
        #[arg(long)]
        out: PathBuf,
        /// Seed: the same seed gives the same log.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// Bundle file (JSON).
    #[arg(long)]
    pub bundle: PathBuf,
    /// Request target exactly as sent: path and query, percent-encoding kept.
    pub target: String,
    /// HTTP method.
    #[arg(long, short = 'X', default_value = "GET")]
    pub method: String,
    /// A request header, `Name: value` (repeatable).
    #[arg(long = "header", short = 'H')]
    pub headers: Vec<String>,
    /// Start from a complete desktop-browser header set (explicit headers still apply).
    #[arg(long)]
    pub browser: bool,
    /// Client address, as Envoy would report it in `source.address`.
    #[arg(long)]
    pub client: Option<std::net::IpAddr>,
    /// Request body (inspected when the Content-Type is a form or JSON).
    #[arg(long, conflicts_with = "body_file")]
    pub body: Option<String>,
    /// Read the request body from a file.
    #[arg(long)]
    pub body_file: Option<PathBuf>,
    /// Protocol, as Envoy reports it (`HTTP/1.1`, `HTTP/2`).
    #[arg(long, default_value = "HTTP/1.1")]
    pub protocol: String,
    /// Print the verdict as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// The operator's bundle (settings, exemptions, rules) to start from; default `{}`.
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// Train the model even below AIWAF_MIN_AI_LOGS parsed lines.
    #[arg(long)]
    pub force_ai: bool,
    /// Where to write the bundle (atomically).
    #[arg(long)]
    pub out: PathBuf,
    /// A MaxMind-format country database: compiles the policy's geo lists into the bundle.
    #[arg(long)]
    pub geoip: Option<PathBuf>,
    /// The route manifest (`aiwaf init`): compiles its routes into the bundle; its words are
    /// never learned as keywords.
    #[arg(long)]
    pub manifest: Option<PathBuf>,
    /// Seed of the model's randomness: the same logs and seed give the same bundle.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Unix time that expiries count from (default: now).
    #[arg(long, hide = true)]
    pub now: Option<u64>,
    /// Log files, directories or globs; gzip is detected by content, rotated sets are read
    /// oldest first.
    #[arg(required = true)]
    pub logs: Vec<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct BundleArgs {
    /// The operator's policy (settings, exemptions, rules); default `{}`.
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// A MaxMind-format country database: compiles the policy's geo lists into the bundle.
    #[arg(long)]
    pub geoip: Option<PathBuf>,
    /// The route manifest (`aiwaf init`): compiles its routes into the bundle.
    #[arg(long)]
    pub manifest: Option<PathBuf>,
    /// Where to write the bundle (atomically).
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct PushArgs {
    /// The bundle to push; refused (and nothing written) if the filter would refuse it.
    pub bundle: PathBuf,
    /// The ECDS resource file Envoy watches (see envoy-config/envoy-ecds.yaml).
    #[arg(long)]
    pub ecds: PathBuf,
    /// The filter's .wasm: creates the ECDS file when it does not exist, or changes the module.
    #[arg(long)]
    pub wasm: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false, id = "source")]
pub struct InitSource {
    /// An OpenAPI 3 document (JSON or YAML).
    #[arg(long)]
    pub openapi: Option<PathBuf>,
    /// An Envoy bootstrap or route configuration (JSON or YAML).
    #[arg(long)]
    pub envoy_routes: Option<PathBuf>,
    /// Access logs (files, directories, globs; same readers as `train`).
    #[arg(long, num_args = 1..)]
    pub logs: Vec<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct InitArgs {
    #[command(flatten)]
    pub source: InitSource,
    /// Where to write the manifest.
    #[arg(long, default_value = ".aiwaf/paths.json")]
    pub output: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct PathshellArgs {
    /// The route manifest to browse.
    #[arg(long, default_value = ".aiwaf/paths.json")]
    pub manifest: PathBuf,
    /// The policy file that `exempt` writes to.
    #[arg(long, default_value = ".aiwaf/policy.json")]
    pub policy: PathBuf,
}
