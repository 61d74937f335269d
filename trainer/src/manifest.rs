//! `aiwaf init` and `--manifest`: the route manifest (`.aiwaf/paths.json`, built by
//! `aiwaf-manifest-gen`) compiled into the bundle's `routes`.

use std::process::ExitCode;

use aiwaf_manifest_gen::Input;
use anyhow::Result;

use crate::cli::InitArgs;

/// `aiwaf init`: writes the manifest from the one source given (the same code as the
/// `aiwaf-manifest` binary).
pub fn init(args: &InitArgs) -> Result<ExitCode> {
    let s = &args.source;
    let input = if let Some(p) = &s.openapi {
        Input::OpenApi(p)
    } else if let Some(p) = &s.envoy_routes {
        Input::EnvoyRoutes(p)
    } else {
        Input::Logs(&s.logs)
    };
    println!("{}", aiwaf_manifest_gen::generate(input, &args.output)?);
    Ok(ExitCode::SUCCESS)
}
