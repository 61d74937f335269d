//! The filter's counters, through the proxy-wasm metrics API: Envoy shows them under
//! `wasmcustom.aiwaf.*` in `/stats` and as `envoy_wasmcustom_aiwaf_*` in `/stats/prometheus`.
//!
//! Counters are defined once per configuration (defining a name again returns the same
//! counter) and incremented with one host call each; a failed host call only loses a count.

use aiwaf_core::{Verdict, REGISTRY};
use proxy_wasm::hostcalls;
use proxy_wasm::types::MetricType;

/// Counter ids (0 when a definition failed; incrementing id 0 is a harmless no-op failure).
pub struct Metrics {
    requests: u32,
    blocked: u32,
    throttled: u32,
    evictions: u32,
    blocked_by: Vec<u32>,
    monitored_by: Vec<u32>,
}

fn counter(name: &str) -> u32 {
    hostcalls::define_metric(MetricType::Counter, name).unwrap_or(0)
}

/// Counts a configuration load (`aiwaf.config.loaded`) or refusal (`aiwaf.config.rejected`).
pub fn config_outcome(loaded: bool) {
    let name = if loaded {
        "aiwaf.config.loaded"
    } else {
        "aiwaf.config.rejected"
    };
    let _ = hostcalls::increment_metric(counter(name), 1);
}

impl Metrics {
    /// Defines every counter: requests, blocked and monitored per detector, throttled, state
    /// evictions.
    pub fn define() -> Metrics {
        let per = |what: &str| {
            REGISTRY
                .iter()
                .map(|id| counter(&format!("aiwaf.{what}.{id}")))
                .collect()
        };
        Metrics {
            requests: counter("aiwaf.requests"),
            blocked: counter("aiwaf.blocked"),
            throttled: counter("aiwaf.throttled"),
            evictions: counter("aiwaf.state.evictions"),
            blocked_by: per("blocked"),
            monitored_by: per("monitored"),
        }
    }

    /// One request seen.
    pub fn request(&self) {
        let _ = hostcalls::increment_metric(self.requests, 1);
    }

    /// What a verdict did: blocks and throttles by detector, monitored findings, evictions.
    pub fn verdict(&self, verdict: &Verdict) {
        for f in verdict.monitored() {
            let _ = hostcalls::increment_metric(self.monitored_by[f.detector.index()], 1);
        }
        if let Some(f) = verdict.blocking() {
            let total = if f.status == 429 {
                self.throttled
            } else {
                self.blocked
            };
            let _ = hostcalls::increment_metric(total, 1);
            let _ = hostcalls::increment_metric(self.blocked_by[f.detector.index()], 1);
        }
        if verdict.evicted {
            let _ = hostcalls::increment_metric(self.evictions, 1);
        }
    }
}
