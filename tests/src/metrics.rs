//! Reads Envoy's admin statistics, so tests can assert on counters (e.g. the
//! filter's custom metrics) instead of only on responses.

use std::net::SocketAddr;

use crate::client::Client;
use anyhow::{bail, Context, Result};

/// All counters and gauges from `/stats?format=json`, as `(name, value)`.
pub fn stats(admin: SocketAddr) -> Result<Vec<(String, u64)>> {
    let resp = Client::new(admin).get("/stats?format=json").send()?;
    if resp.status != 200 {
        bail!("admin /stats answered {}: {}", resp.status, resp.text());
    }
    let json = resp.json().context("admin /stats?format=json")?;
    Ok(json["stats"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| Some((s["name"].as_str()?.to_string(), s["value"].as_u64()?)))
        .collect())
}

/// The value of the counter or gauge `name`, or `None` when Envoy has no such
/// stat. Wasm custom metrics are also looked up under Envoy's `wasmcustom.`
/// prefix, so callers use the name the filter defines.
pub fn counter(admin: SocketAddr, name: &str) -> Result<Option<u64>> {
    let all = stats(admin)?;
    let prefixed = format!("wasmcustom.{name}");
    Ok(all
        .iter()
        .find(|(n, _)| n == name)
        .or_else(|| all.iter().find(|(n, _)| *n == prefixed))
        .map(|(_, v)| *v))
}

/// The raw Prometheus exposition from `/stats/prometheus`.
pub fn prometheus(admin: SocketAddr) -> Result<String> {
    let resp = Client::new(admin).get("/stats/prometheus").send()?;
    if resp.status != 200 {
        bail!("admin /stats/prometheus answered {}", resp.status);
    }
    Ok(resp.text())
}
