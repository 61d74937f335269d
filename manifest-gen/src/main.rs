//! `aiwaf-manifest`: writes `.aiwaf/paths.json` from an OpenAPI document, an Envoy route
//! configuration or access logs. Glue only: the work is in the library.

use std::path::PathBuf;
use std::process::ExitCode;

use aiwaf_manifest_gen::Input;
use anyhow::Result;
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
        Ok(summary) => {
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("aiwaf-manifest: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<String> {
    let input = if let Some(path) = &args.openapi {
        Input::OpenApi(path)
    } else if let Some(path) = &args.envoy_routes {
        Input::EnvoyRoutes(path)
    } else {
        Input::Logs(&args.logs)
    };
    aiwaf_manifest_gen::generate(input, &args.output)
}
