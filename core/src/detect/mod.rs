//! The detectors, one module each, and the ordered registry the engine runs them in.
//!
//! A detector's id is its module name, its key under `detectors` in the bundle, its metric
//! label and the `detector` field of a block log line, so a log line leads straight to code.

pub(crate) mod anomaly;
pub(crate) mod geo;
pub(crate) mod header;
pub(crate) mod honeypot;
pub(crate) mod ip_block;
pub(crate) mod keyword;
pub(crate) mod method;
pub(crate) mod not_found;
pub(crate) mod payload;
pub(crate) mod probe;
pub(crate) mod rate_limit;
pub(crate) mod uuid_tamper;

use std::fmt;

use serde::{Deserialize, Serialize};

/// Identifies a detector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DetectorId {
    /// Static blocklist of clients (exact and CIDR) and the dynamic blocklist.
    IpBlock,
    /// Sliding-window request rate per client (429), flood (blocklist).
    RateLimit,
    /// Clients from countries the policy refuses.
    Geo,
    /// SQL injection, XSS, traversal and command injection in path, query and body.
    Payload,
    /// Probes for files that should never be served: dotfiles, script extensions, backups.
    Probe,
    /// Static and learned suspicious path words.
    Keyword,
    /// Required headers, user agents, header combinations, quality score and size caps.
    Header,
    /// A method the route does not accept (405).
    Method,
    /// Form posted too soon after its page was loaded (403), or too late (409).
    Honeypot,
    /// Malformed UUIDs and UUID enumeration answered by 404s.
    UuidTamper,
    /// Too many 404s on non-exempt paths in the window (probing).
    NotFound,
    /// The trained IsolationForest finds the client's behaviour anomalous, with evidence.
    Anomaly,
}

/// The order detectors run in: cheapest and strongest evidence first. The first rejecting
/// detector decides the response.
pub const REGISTRY: &[DetectorId] = &[
    DetectorId::IpBlock,
    DetectorId::Geo,
    DetectorId::RateLimit,
    DetectorId::Payload,
    DetectorId::Probe,
    DetectorId::Keyword,
    DetectorId::Method,
    DetectorId::Header,
    DetectorId::Honeypot,
    DetectorId::UuidTamper,
    DetectorId::NotFound,
    DetectorId::Anomaly,
];

impl DetectorId {
    /// The id as written in bundles, logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            DetectorId::IpBlock => "ip_block",
            DetectorId::RateLimit => "rate_limit",
            DetectorId::Geo => "geo",
            DetectorId::Payload => "payload",
            DetectorId::Probe => "probe",
            DetectorId::Keyword => "keyword",
            DetectorId::Header => "header",
            DetectorId::Method => "method",
            DetectorId::Honeypot => "honeypot",
            DetectorId::UuidTamper => "uuid_tamper",
            DetectorId::NotFound => "not_found",
            DetectorId::Anomaly => "anomaly",
        }
    }

    /// Position in [`REGISTRY`]: a dense index for per-detector tables (metrics, actions).
    pub fn index(self) -> usize {
        REGISTRY.iter().position(|id| *id == self).unwrap_or(0)
    }

    /// The detector named `name` (its id as written in bundles).
    pub fn from_name(name: &str) -> Option<DetectorId> {
        REGISTRY.iter().copied().find(|id| id.as_str() == name)
    }

    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

impl Serialize for DetectorId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for DetectorId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<DetectorId, D::Error> {
        // Read as a string (not an enum) so error paths name the key.
        let name = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        DetectorId::from_name(&name).ok_or_else(|| {
            let known: Vec<&str> = REGISTRY.iter().map(|id| id.as_str()).collect();
            serde::de::Error::custom(format!(
                "unknown detector `{name}` (known: {})",
                known.join(", ")
            ))
        })
    }
}

impl fmt::Display for DetectorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of detectors as a bit mask: path rules carry one, so the per-request check is one AND.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DetectorSet(u32);

impl DetectorSet {
    /// No detector.
    pub const EMPTY: DetectorSet = DetectorSet(0);

    /// Adds a detector.
    pub fn insert(&mut self, id: DetectorId) {
        self.0 |= id.bit();
    }

    /// True when `id` is in the set.
    pub fn contains(self, id: DetectorId) -> bool {
        self.0 & id.bit() != 0
    }

    /// Union of two sets.
    pub fn union(self, other: DetectorSet) -> DetectorSet {
        DetectorSet(self.0 | other.0)
    }

    /// The detectors a `PATH_RULES` `DISABLE` name stands for. AIWAF's middleware names (class
    /// or short form) map to the detectors that do their job here; our own ids map to
    /// themselves. Names of AIWAF layers this build has no detector for yet map to the empty
    /// set. `None` means the name is unknown (an error in the bundle).
    pub fn from_disable_name(name: &str) -> Option<DetectorSet> {
        use DetectorId::*;
        let mut set = DetectorSet::EMPTY;
        let ids: &[DetectorId] = match name {
            "ip_block" => &[IpBlock],
            "payload" => &[Payload],
            "probe" => &[Probe],
            "keyword" => &[Keyword],
            "header" => &[Header],
            "method" => &[Method],
            "not_found" => &[NotFound],
            "anomaly" | "ai_anomaly" | "AIAnomalyMiddleware" => &[Anomaly],
            // AIWAF's honeypot middleware also ran its method policy.
            "honeypot" | "HoneypotTimingMiddleware" => &[Honeypot, Method],
            "uuid_tamper" | "UUIDTamperMiddleware" => &[UuidTamper],
            // AIWAF's IP/keyword middleware also ran the SQL inspection. The client blocklist is
            // deliberately not path-scoped: a blocked client is blocked everywhere.
            "ip_keyword_block" | "IPAndKeywordBlockMiddleware" => &[Payload, Probe, Keyword],
            "header_validation" | "HeaderValidationMiddleware" => &[Header],
            "rate_limit" | "RateLimitMiddleware" => &[RateLimit],
            "geo" | "geo_block" | "GeoBlockMiddleware" => &[Geo],
            "logging" | "AIWAFLoggerMiddleware" => &[],
            _ => return None,
        };
        for id in ids {
            set.insert(*id);
        }
        Some(set)
    }
}

/// What a detector found. Built only when something fires, so clean requests allocate nothing
/// here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Which detector.
    pub detector: DetectorId,
    /// HTTP status to answer with when the finding blocks (403, or 413 for an over-budget body).
    pub status: u16,
    /// Short machine-readable reason, e.g. `sqli`, `probe_extension`, `suspicious_user_agent`.
    pub reason: &'static str,
    /// The request part that fired, truncated, for the log.
    pub evidence: String,
    /// Seconds after which the client may try again (`Retry-After`), for throttles and blocks.
    pub retry_after: Option<u32>,
    /// The detector asks for the client to be blocklisted (a flood), when its action allows.
    pub escalate: bool,
}

impl Finding {
    pub(crate) fn new(
        detector: DetectorId,
        reason: &'static str,
        evidence: impl Into<String>,
    ) -> Finding {
        Finding {
            detector,
            status: 403,
            reason,
            evidence: truncate(evidence.into(), 200),
            retry_after: None,
            escalate: false,
        }
    }
}

/// Cuts a string to at most `max` bytes on a character boundary.
pub(crate) fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disable_names_map_to_detectors() {
        let s = DetectorSet::from_disable_name("HeaderValidationMiddleware").unwrap();
        assert!(s.contains(DetectorId::Header) && !s.contains(DetectorId::Keyword));
        let s = DetectorSet::from_disable_name("ip_keyword_block").unwrap();
        assert!(s.contains(DetectorId::Keyword) && s.contains(DetectorId::Payload));
        assert!(!s.contains(DetectorId::IpBlock));
        assert!(DetectorSet::from_disable_name("AIAnomalyMiddleware")
            .unwrap()
            .contains(DetectorId::Anomaly));
        assert_eq!(
            DetectorSet::from_disable_name("logging"),
            Some(DetectorSet::EMPTY)
        );
        assert!(DetectorSet::from_disable_name("RateLimitMiddleware")
            .unwrap()
            .contains(DetectorId::RateLimit));
        assert_eq!(DetectorSet::from_disable_name("nonsense"), None);
        for id in REGISTRY {
            assert!(DetectorSet::from_disable_name(id.as_str())
                .unwrap()
                .contains(*id));
        }
    }

    #[test]
    fn truncates_on_char_boundaries() {
        assert_eq!(truncate("héllo".into(), 2), "h");
        assert_eq!(truncate("abc".into(), 10), "abc");
    }
}
