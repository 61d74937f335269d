//! Reading a manifest back: [`Manifest::from_json`], strict, because manifests are also
//! written by hand and a bundle compiler will trust what it loads.
//!
//! Every key is checked and an error names it (`routes["/x"].methods[1]: ...`): unknown keys,
//! missing keys, wrong types, out-of-range numbers, bad templates and bad methods are refused,
//! nothing is ignored or clamped. The shape is exactly what [`Manifest::to_json`] writes, with
//! two allowances for hand-written files: `source` may be `manual`, and `context_hash` may be
//! left out. The hash is recomputed on load either way, so it always describes the routes
//! actually loaded (a hand-edited manifest keeps working and never carries a stale hash).

use std::collections::BTreeMap;

use anyhow::{anyhow, bail, Result};
use serde_json::{Map, Value};

use crate::input::{self, type_name};
use crate::manifest::{
    Category, Manifest, Match, Protections, RateLimit, ResponseType, Route, Source, Toggle,
    MAX_ROUTES, SCHEMA_VERSION,
};
use crate::template::{check_method, check_regex_key, check_template};

/// Most requests a route's rate limit may allow per window.
const MAX_REQUESTS: u64 = 1_000_000;
/// Longest rate window, seconds (a day).
const MAX_WINDOW: u64 = 86_400;

impl Manifest {
    /// Parses and validates a manifest (see the module documentation for what is checked).
    pub fn from_json(text: &str) -> Result<Manifest> {
        let doc = input::parse_json(text, "manifest")?;
        let root = object(&doc, "manifest")?;
        only_keys(
            root,
            &["schema_version", "source", "context_hash", "routes"],
            "",
        )?;
        let version = required_str(root, "schema_version", "")?;
        if version != SCHEMA_VERSION {
            bail!("schema_version: `{version}` is not supported (only `{SCHEMA_VERSION}`)");
        }
        let source = match required_str(root, "source", "")? {
            "openapi" => Source::Openapi,
            "envoy" => Source::Envoy,
            "logs" => Source::Logs,
            "manual" => Source::Manual,
            other => bail!("source: `{other}` is not one of openapi, envoy, logs, manual"),
        };
        if let Some(h) = root.get("context_hash") {
            let h = h.as_str().ok_or_else(|| {
                anyhow!("context_hash: expected a string, found {}", type_name(h))
            })?;
            if h.len() != 64 || !h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
                bail!("context_hash: expected 64 lowercase hex digits (a SHA-256)");
            }
        }
        let routes = object(required(root, "routes", "")?, "routes")?;
        if routes.len() > MAX_ROUTES {
            bail!(
                "routes: {} routes, more than the {MAX_ROUTES} a manifest may hold",
                routes.len()
            );
        }
        let mut out = BTreeMap::new();
        for (key, v) in routes {
            let at = format!("routes[{key:?}]");
            out.insert(key.clone(), route(key, v, &at)?);
        }
        Manifest::new(source, out)
    }
}

fn route(key: &str, v: &Value, at: &str) -> Result<Route> {
    let obj = object(v, at)?;
    only_keys(
        obj,
        &[
            "auth_required",
            "category",
            "match",
            "methods",
            "protections",
            "response_type",
        ],
        at,
    )?;
    let matching = match obj.get("match") {
        None => Match::Template,
        Some(m) => match m.as_str() {
            Some("template") => Match::Template,
            Some("prefix") => Match::Prefix,
            Some("regex") => Match::Regex,
            _ => bail!("{at}.match: expected one of \"template\", \"prefix\", \"regex\""),
        },
    };
    match matching {
        Match::Regex => check_regex_key(key),
        Match::Template | Match::Prefix => check_template(key),
    }
    .map_err(|e| anyhow!("{at}: {e}"))?;

    let methods_at = format!("{at}.methods");
    let list = required(obj, "methods", at)?
        .as_array()
        .ok_or_else(|| anyhow!("{methods_at}: expected a list"))?;
    let mut methods = Vec::with_capacity(list.len());
    for (i, m) in list.iter().enumerate() {
        let m_at = format!("{methods_at}[{i}]");
        let m = m
            .as_str()
            .ok_or_else(|| anyhow!("{m_at}: expected a string, found {}", type_name(m)))?;
        check_method(m).map_err(|e| anyhow!("{m_at}: {e}"))?;
        if methods.iter().any(|x: &String| x == m) {
            bail!("{m_at}: `{m}` is listed twice");
        }
        methods.push(m.to_owned());
    }
    methods.sort();

    let category = required_str(obj, "category", at)?;
    let category = Category::parse(category).ok_or_else(|| {
        anyhow!(
            "{at}.category: `{category}` is not one of static, admin, auth, api, upload, form, app"
        )
    })?;
    let response = required_str(obj, "response_type", at)?;
    let response_type = ResponseType::parse(response).ok_or_else(|| {
        anyhow!(
            "{at}.response_type: `{response}` is not one of html, json, xml, text, binary, mixed"
        )
    })?;
    let auth = required(obj, "auth_required", at)?;
    let auth_required = auth.as_bool().ok_or_else(|| {
        anyhow!(
            "{at}.auth_required: expected a boolean, found {}",
            type_name(auth)
        )
    })?;
    let protections = protections(
        required(obj, "protections", at)?,
        &format!("{at}.protections"),
    )?;
    Ok(Route {
        auth_required,
        category,
        matching,
        methods,
        protections,
        response_type,
    })
}

fn protections(v: &Value, at: &str) -> Result<Protections> {
    let obj = object(v, at)?;
    only_keys(
        obj,
        &[
            "ai_anomaly",
            "header_validation",
            "honeypot",
            "ip_keyword_block",
            "rate_limit",
        ],
        at,
    )?;
    let rl_at = format!("{at}.rate_limit");
    let rl = object(required(obj, "rate_limit", at)?, &rl_at)?;
    only_keys(rl, &["requests", "window_seconds"], &rl_at)?;
    Ok(Protections {
        ai_anomaly: toggle(obj, "ai_anomaly", at)?,
        header_validation: toggle(obj, "header_validation", at)?,
        honeypot: toggle(obj, "honeypot", at)?,
        ip_keyword_block: toggle(obj, "ip_keyword_block", at)?,
        rate_limit: RateLimit {
            requests: bounded(rl, "requests", MAX_REQUESTS, &rl_at)?,
            window_seconds: bounded(rl, "window_seconds", MAX_WINDOW, &rl_at)?,
        },
    })
}

fn toggle(obj: &Map<String, Value>, key: &str, at: &str) -> Result<Toggle> {
    let t_at = format!("{at}.{key}");
    let t = object(required(obj, key, at)?, &t_at)?;
    only_keys(t, &["enabled"], &t_at)?;
    let e = required(t, "enabled", &t_at)?;
    let enabled = e
        .as_bool()
        .ok_or_else(|| anyhow!("{t_at}.enabled: expected a boolean, found {}", type_name(e)))?;
    Ok(Toggle { enabled })
}

fn bounded(obj: &Map<String, Value>, key: &str, max: u64, at: &str) -> Result<u32> {
    let v = required(obj, key, at)?;
    match v.as_u64() {
        Some(n) if (1..=max).contains(&n) => Ok(n as u32),
        _ => bail!("{at}.{key}: expected an integer from 1 to {max}, found {v}"),
    }
}

fn object<'a>(v: &'a Value, at: &str) -> Result<&'a Map<String, Value>> {
    input::object(v, at)
}

fn path(at: &str, key: &str) -> String {
    if at.is_empty() {
        key.to_owned()
    } else {
        format!("{at}.{key}")
    }
}

fn only_keys(obj: &Map<String, Value>, allowed: &[&str], at: &str) -> Result<()> {
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => bail!(
            "{}: unknown key (expected one of {})",
            path(at, k),
            allowed.join(", ")
        ),
        None => Ok(()),
    }
}

fn required<'a>(obj: &'a Map<String, Value>, key: &str, at: &str) -> Result<&'a Value> {
    obj.get(key)
        .ok_or_else(|| anyhow!("{}: missing", path(at, key)))
}

fn required_str<'a>(obj: &'a Map<String, Value>, key: &str, at: &str) -> Result<&'a str> {
    let v = required(obj, key, at)?;
    v.as_str().ok_or_else(|| {
        anyhow!(
            "{}: expected a string, found {}",
            path(at, key),
            type_name(v)
        )
    })
}
