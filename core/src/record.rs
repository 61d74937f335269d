//! One request as an access log line records it: the common input of training.
//!
//! The trainer's log readers (nginx/Apache combined and common, Envoy, JSON lines, AIWAF CSV)
//! all produce this type, so everything learned from logs starts from one shape, whatever
//! the format.

use std::net::IpAddr;

/// A logged request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRecord {
    /// The client address as logged.
    pub client: IpAddr,
    /// When the request was received, Unix milliseconds, UTC (log time zones applied).
    pub time_ms: u64,
    /// Method as logged (any token, not only the common ones).
    pub method: String,
    /// Request target: path plus optional `?query`, as logged.
    pub target: String,
    /// Response status.
    pub status: u16,
    /// Response time in milliseconds, when the format records it.
    pub response_ms: Option<u32>,
    /// Response size in bytes; `None` for `-` (no body).
    pub bytes: Option<u64>,
    /// User agent; empty for `-` or absent.
    pub user_agent: String,
    /// Referer; empty for `-` or absent.
    pub referer: String,
}
