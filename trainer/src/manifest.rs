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

/// Reads a manifest and compiles it into the bundle's routes (replacing any there). Regex
/// routes (from Envoy `safe_regex` matches) are left out and counted: the filter matches
/// templates and prefixes only. A parameter that is part of a segment (`{id}.json`) becomes
/// the whole segment.
pub fn apply(bundle: &mut aiwaf_core::Bundle, path: &std::path::Path) -> Result<usize> {
    use anyhow::Context as _;
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let manifest = aiwaf_manifest_gen::Manifest::from_json(&text)
        .with_context(|| format!("{} is refused", path.display()))?;
    let (routes, skipped) = compile(&manifest);
    bundle.routes = routes;
    Ok(skipped)
}

/// The manifest's routes as the bundle's `routes`, and how many regex routes were left out.
fn compile(manifest: &aiwaf_manifest_gen::Manifest) -> (Vec<aiwaf_core::RouteRule>, usize) {
    use aiwaf_core::{RateLimitRule, RouteMatch, RouteRule};
    use aiwaf_manifest_gen::Match;
    let mut out = Vec::with_capacity(manifest.routes.len());
    let mut skipped = 0;
    for (template, r) in &manifest.routes {
        let matching = match r.matching {
            Match::Template => RouteMatch::Template,
            Match::Prefix => RouteMatch::Prefix,
            Match::Regex => {
                skipped += 1;
                continue;
            }
        };
        let path = template
            .split('/')
            .map(|seg| match seg.find('{').zip(seg.find('}')) {
                Some((open, close)) if open < close => &seg[open..=close],
                _ => seg,
            })
            .collect::<Vec<_>>()
            .join("/");
        let p = &r.protections;
        let disable = [
            ("ai_anomaly", p.ai_anomaly.enabled),
            ("header_validation", p.header_validation.enabled),
            ("honeypot", p.honeypot.enabled),
            ("ip_keyword_block", p.ip_keyword_block.enabled),
        ]
        .iter()
        .filter(|(_, on)| !on)
        .map(|(name, _)| name.to_string())
        .collect();
        out.push(RouteRule {
            path,
            matching,
            methods: r.methods.clone(),
            category: r.category.to_string(),
            rate_limit: Some(RateLimitRule {
                window: Some(p.rate_limit.window_seconds),
                max: Some(p.rate_limit.requests),
                flood: None,
            }),
            disable,
        });
    }
    (out, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TempDir;

    #[test]
    fn a_generated_manifest_compiles_into_routes_the_filter_loads() {
        let dir = TempDir::new("manifest");
        let openapi = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../manifest-gen/tests/fixtures/openapi.yaml"),
        )
        .unwrap();
        let manifest = aiwaf_manifest_gen::from_openapi(&openapi).unwrap();
        let path = dir.write("paths.json", manifest.to_json().as_bytes());
        let mut bundle = aiwaf_core::Bundle::from_json(b"{}").unwrap();
        let skipped = apply(&mut bundle, &path).unwrap();
        assert_eq!(skipped, 0);
        assert_eq!(bundle.routes.len(), manifest.routes.len());
        let engine = aiwaf_core::Engine::new(&bundle, 0).unwrap();
        assert!(engine
            .summary()
            .contains(&("routes".to_string(), manifest.routes.len().to_string())));
        // API routes carry the generator's category defaults into the bundle.
        let api = bundle.routes.iter().find(|r| r.category == "api").unwrap();
        assert!(
            api.disable.contains(&"header_validation".to_string()),
            "{api:?}"
        );
        // A broken manifest is refused with the reason.
        let bad = dir.write("bad.json", br#"{"schema_version":"9"}"#);
        assert!(apply(&mut bundle, &bad).is_err());
    }

    #[test]
    fn partial_segment_parameters_become_whole_segments() {
        let m = aiwaf_manifest_gen::Manifest::from_json(
            r#"{"schema_version":"1.0","source":"manual","routes":{
              "/export/{id}.json":{"methods":["GET"],"category":"app","response_type":"json",
                "auth_required":false,"protections":{
                  "ai_anomaly":{"enabled":true},"header_validation":{"enabled":true},
                  "honeypot":{"enabled":true},"ip_keyword_block":{"enabled":true},
                  "rate_limit":{"requests":60,"window_seconds":60}}}}}"#,
        )
        .unwrap();
        let (routes, _) = compile(&m);
        assert_eq!(routes[0].path, "/export/{id}");
        assert!(routes[0].disable.is_empty());
        assert_eq!(routes[0].rate_limit.as_ref().unwrap().max, Some(60));
    }
}
