//! `aiwaf explain`: one request through the engine, with the evidence behind the verdict.

use std::process::ExitCode;

use aiwaf_core::{block_response, Finding, MemoryStore, Request, Verdict};
use anyhow::{bail, Context as _, Result};

use crate::cli::ExplainArgs;

/// The header set of a current desktop Chrome, for `--browser`.
const BROWSER: &[(&str, &str)] = &[
    ("user-agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"),
    ("accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
    ("accept-language", "en-US,en;q=0.9"),
    ("accept-encoding", "gzip, deflate, br"),
];

pub fn run(args: &ExplainArgs) -> Result<ExitCode> {
    let engine = crate::load_engine(&args.bundle)?;
    let mut headers = vec![
        (":method".to_string(), args.method.to_ascii_uppercase()),
        (":path".to_string(), args.target.clone()),
    ];
    if args.browser {
        headers.extend(BROWSER.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    }
    for h in &args.headers {
        let Some((name, value)) = h.split_once(':') else {
            bail!("header `{h}` is not of the form `Name: value`");
        };
        let name = name.trim().to_ascii_lowercase();
        headers.retain(|(k, _)| *k != name);
        headers.push((name, value.trim().to_string()));
    }
    let body = match (&args.body, &args.body_file) {
        (Some(b), _) => Some(b.clone().into_bytes()),
        (None, Some(path)) => {
            Some(std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?)
        }
        (None, None) => None,
    };
    let req = Request::from_pseudo_headers(&headers, args.client, Some(&args.protocol));
    // One request on its own: per-client state starts empty, as for a client the proxy has not
    // seen yet.
    let mut store = MemoryStore::new(0);
    let now_ms = crate::now() * 1000;
    let mut verdict = engine.inspect(&req, now_ms, &mut store);
    let mut body_note = None;
    if !verdict.blocked {
        if let Some(body) = &body {
            match engine.body_plan(&req) {
                Some((kind, limit)) => {
                    let cut = &body[..body.len().min(limit)];
                    let body_verdict = engine.inspect_body(&req, kind, cut, now_ms, &mut store);
                    verdict.findings.extend(body_verdict.findings);
                    verdict.blocked = body_verdict.blocked;
                    body_note = Some(format!("body inspected as {kind:?}"));
                }
                None => {
                    body_note =
                        Some("body not inspected (content type, path rule or exempt client)".into())
                }
            }
        }
    }
    if args.json {
        print_json(&verdict, &req)?;
    } else {
        print_text(&verdict, &req, body_note.as_deref());
    }
    Ok(ExitCode::SUCCESS)
}

fn finding_json(f: &Finding) -> serde_json::Value {
    serde_json::json!({"detector": f.detector.as_str(), "reason": f.reason, "evidence": f.evidence, "status": f.status})
}

fn print_json(verdict: &Verdict, req: &Request<'_>) -> Result<()> {
    let response = verdict.blocking().map(|f| {
        let r = block_response(f, req.prefers_json());
        serde_json::json!({"status": r.status, "content_type": r.content_type, "body": r.body})
    });
    let out = serde_json::json!({
        "decision": if verdict.blocked { "block" } else { "allow" },
        "blocking": verdict.blocking().map(finding_json),
        "monitored": verdict.monitored().iter().map(finding_json).collect::<Vec<_>>(),
        "response": response,
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

fn print_text(verdict: &Verdict, req: &Request<'_>, body_note: Option<&str>) {
    println!("{} {}", req.method, req.target);
    if let Some(note) = body_note {
        println!("  ({note})");
    }
    for f in verdict.monitored() {
        println!("  monitor  {} / {}: {}", f.detector, f.reason, f.evidence);
    }
    match verdict.blocking() {
        Some(f) => {
            println!("  BLOCK    {} / {}: {}", f.detector, f.reason, f.evidence);
            let r = block_response(f, req.prefers_json());
            println!(
                "  response {} {}: {}",
                r.status,
                r.content_type,
                r.body.trim_end()
            );
        }
        None => println!("  allow"),
    }
}
