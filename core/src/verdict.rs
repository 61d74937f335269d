//! Verdicts, and how a block is answered and logged.

use serde::Serialize;

use crate::detect::Finding;
use crate::features::{Features, Snapshot};
use crate::request::Request;

/// The engine's answer for one request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Verdict {
    /// Findings in detection order. When `blocked`, the last one is the blocking finding and
    /// the others were monitored; otherwise all were monitored.
    pub findings: Vec<Finding>,
    /// True when the request must be refused.
    pub blocked: bool,
    /// A per-client state slot held another client's record and was taken over (a metric).
    pub evicted: bool,
    /// What must be judged on the upstream's response (pass it to `Engine::inspect_response`).
    pub response: ResponseCheck,
    /// The client's anomaly features after this request, when behaviour was observed.
    pub features: Option<Features>,
}

/// Response-phase checks a request asked for; the filter reads the response status only when
/// one is needed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResponseCheck {
    /// The request carried a valid UUID: score the status (404 +1, success −2).
    pub(crate) uuid: bool,
    /// Count a 404 toward probing.
    pub(crate) not_found: bool,
    /// Observe the client's behaviour and score it with the anomaly model, from what the
    /// request phase counted.
    pub(crate) anomaly: Option<Snapshot>,
}

impl ResponseCheck {
    /// True when the response status must be passed to the engine.
    pub fn is_needed(self) -> bool {
        self.uuid || self.not_found || self.anomaly.is_some()
    }
}

impl Verdict {
    /// The finding that blocks the request, if any.
    pub fn blocking(&self) -> Option<&Finding> {
        if self.blocked {
            self.findings.last()
        } else {
            None
        }
    }

    /// Findings that were only logged (monitor mode or monitor action).
    pub fn monitored(&self) -> &[Finding] {
        let n = self.findings.len() - usize::from(self.blocked);
        &self.findings[..n]
    }

    /// True when the request passes and nothing was seen.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }
}

/// An HTTP answer to send instead of forwarding the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockResponse {
    /// Status code.
    pub status: u16,
    /// `application/json` or `text/plain; charset=utf-8`.
    pub content_type: &'static str,
    /// Body. Never echoes request data back (no reflection of attacker input).
    pub body: String,
    /// `Retry-After` seconds, for throttles and dynamic blocks.
    pub retry_after: Option<u32>,
}

#[derive(Serialize)]
struct JsonBody<'a> {
    error: &'a str,
    detector: &'a str,
    reason: &'a str,
}

/// The response for a blocking finding: JSON for clients that asked for JSON, short text
/// otherwise.
pub fn block_response(finding: &Finding, json: bool) -> BlockResponse {
    let error = match finding.status {
        405 => "method_not_allowed",
        409 => "page_expired",
        413 => "payload_inspection_limit",
        429 => "too_many_requests",
        _ => "blocked",
    };
    if json {
        let body = JsonBody {
            error,
            detector: finding.detector.as_str(),
            reason: finding.reason,
        };
        BlockResponse {
            status: finding.status,
            content_type: "application/json",
            body: serde_json::to_string(&body).unwrap_or_default(),
            retry_after: finding.retry_after,
        }
    } else {
        BlockResponse {
            status: finding.status,
            content_type: "text/plain; charset=utf-8",
            body: format!("{error}: {} ({})\n", finding.reason, finding.detector),
            retry_after: finding.retry_after,
        }
    }
}

#[derive(Serialize)]
struct LogLine<'a> {
    aiwaf: &'a str,
    detector: &'a str,
    reason: &'a str,
    status: u16,
    evidence: &'a str,
    client: Option<String>,
    method: &'a str,
    path: &'a str,
    user_agent: &'a str,
    bundle: &'a str,
}

/// One structured log line (a JSON object) for a block (`event` = `block`) or a would-block
/// (`monitor`). Request fields are truncated so a hostile request cannot flood the log.
pub fn log_line(event: &str, finding: &Finding, req: &Request<'_>, bundle_version: &str) -> String {
    let cut = |s: &'_ str, n: usize| -> String { crate::detect::truncate(s.to_string(), n) };
    let path = cut(req.target, 512);
    let ua = cut(req.header("user-agent").unwrap_or(""), 256);
    let line = LogLine {
        aiwaf: event,
        detector: finding.detector.as_str(),
        reason: finding.reason,
        status: finding.status,
        evidence: &finding.evidence,
        client: req.client.map(|c| c.to_string()),
        method: req.method,
        path: &path,
        user_agent: &ua,
        bundle: bundle_version,
    };
    serde_json::to_string(&line).unwrap_or_default()
}
