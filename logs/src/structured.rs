//! JSON lines and AIWAF CSV logs.

use aiwaf_core::AccessRecord;
use serde_json::{Map, Value};

use super::text::{self, parse_ip, Parsed};
use super::time;

/// The first present key of `keys`.
fn field<'a>(obj: &'a Map<String, Value>, keys: &[&str]) -> Option<&'a Value> {
    keys.iter()
        .find_map(|k| obj.get(*k).filter(|v| !v.is_null()))
}

fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if s == "-" => Some(String::new()),
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn as_u64(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Seconds (number, or string with a decimal point) → milliseconds.
fn seconds_ms(v: &Value) -> Option<u32> {
    match v {
        Value::Number(n) => n
            .as_f64()
            .filter(|s| (0.0..4.0e6).contains(s))
            .map(|s| (s * 1000.0).round() as u32),
        Value::String(s) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|s| (0.0..4.0e6).contains(s))
            .map(|s| (s * 1000.0).round() as u32),
        _ => None,
    }
}

fn millis(v: &Value) -> Option<u32> {
    match v {
        Value::Number(n) => n
            .as_f64()
            .filter(|s| (0.0..4.0e9).contains(s))
            .map(|s| s.round() as u32),
        Value::String(s) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|s| (0.0..4.0e9).contains(s))
            .map(|s| s.round() as u32),
        _ => None,
    }
}

/// One JSON object per line. Field mapping (first present key wins):
/// client `remote_addr`, `client`, `ip`, `client_ip`, `remote_ip`, `downstream_remote_address`;
/// time `time`, `timestamp`, `time_local`, `start_time`, `time_iso8601`, `@timestamp`
/// (RFC 3339, CLF, or a number of Unix seconds — milliseconds when above 1e11);
/// method `method`, `request_method`; target `path`, `uri`, `request_uri`, `target`, `url`, or
/// `request` (`"GET /x HTTP/1.1"`, which also gives the method); status `status`,
/// `status_code`, `response_code`; response time `request_time` (seconds), `duration`,
/// `response_time_ms`, `duration_ms` (milliseconds); bytes `body_bytes_sent`, `bytes`,
/// `bytes_sent`; user agent `http_user_agent`, `user_agent`; referer `http_referer`, `referer`.
pub fn parse_json(line: &[u8]) -> Parsed {
    let obj: Map<String, Value> =
        serde_json::from_slice(line).map_err(|_| "invalid JSON object")?;
    let client = field(
        &obj,
        &[
            "remote_addr",
            "client",
            "ip",
            "client_ip",
            "remote_ip",
            "downstream_remote_address",
        ],
    )
    .and_then(Value::as_str)
    .and_then(|s| parse_ip(s.as_bytes()))
    .ok_or("no client address")?;
    let time_ms = match field(
        &obj,
        &[
            "time",
            "timestamp",
            "time_local",
            "start_time",
            "time_iso8601",
            "@timestamp",
        ],
    ) {
        Some(Value::String(s)) => time::parse_any(s.as_bytes()),
        // Unix seconds; a number above 1e11 can only be milliseconds (year 5138 in seconds).
        Some(Value::Number(n)) => n.as_f64().and_then(|s| match s {
            s if (0.0..1.0e11).contains(&s) => Some((s * 1000.0).round() as u64),
            s if (1.0e11..1.0e14).contains(&s) => Some(s.round() as u64),
            _ => None,
        }),
        _ => None,
    }
    .ok_or("no or bad timestamp")?;
    let mut method = field(&obj, &["method", "request_method"]).and_then(as_text);
    let mut target =
        field(&obj, &["path", "uri", "request_uri", "target", "url"]).and_then(as_text);
    if target.is_none() || method.is_none() {
        if let Some(Value::String(req)) = obj.get("request") {
            let mut parts = req.splitn(2, ' ');
            let m = parts.next().unwrap_or_default();
            let rest = parts.next().unwrap_or_default();
            let t = rest
                .rsplit_once(' ')
                .filter(|(_, p)| p.starts_with("HTTP/"))
                .map_or(rest, |(t, _)| t);
            method.get_or_insert_with(|| m.to_owned());
            target.get_or_insert_with(|| t.to_owned());
        }
    }
    let method = method.filter(|m| !m.is_empty()).ok_or("no method")?;
    let target = target.filter(|t| !t.is_empty()).ok_or("no path")?;
    let status = field(&obj, &["status", "status_code", "response_code"])
        .and_then(as_u64)
        .filter(|&s| s < 1000)
        .ok_or("no status")? as u16;
    let response_ms = match field(&obj, &["request_time"]) {
        Some(v) => seconds_ms(v),
        None => field(&obj, &["duration", "response_time_ms", "duration_ms"]).and_then(millis),
    };
    let bytes = field(&obj, &["body_bytes_sent", "bytes", "bytes_sent"]).and_then(as_u64);
    let user_agent = field(&obj, &["http_user_agent", "user_agent"])
        .and_then(as_text)
        .unwrap_or_default();
    let referer = field(&obj, &["http_referer", "referer"])
        .and_then(as_text)
        .unwrap_or_default();
    Ok(AccessRecord {
        client,
        time_ms,
        method,
        target,
        status,
        response_ms,
        bytes,
        user_agent,
        referer,
    })
}

/// Splits one CSV line (RFC 4180 quoting: `"a,b"`, `""` for a quote) into `out`.
fn split_csv(line: &[u8], out: &mut Vec<String>) {
    out.clear();
    let mut field = Vec::new();
    let mut i = 0;
    let mut quoted = false;
    while i < line.len() {
        let c = line[i];
        if quoted {
            if c == b'"' {
                if line.get(i + 1) == Some(&b'"') {
                    field.push(b'"');
                    i += 1;
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
        } else if c == b'"' && field.is_empty() {
            quoted = true;
        } else if c == b',' {
            out.push(text::owned(&field));
            field.clear();
        } else {
            field.push(c);
        }
        i += 1;
    }
    out.push(text::owned(&field));
}

/// Column positions of an AIWAF CSV log, from its header line.
#[derive(Debug, Clone, Default)]
pub struct CsvColumns {
    timestamp: usize,
    ip: usize,
    method: Option<usize>,
    path: usize,
    status: usize,
    response_ms: Option<usize>,
    response_s: Option<usize>,
    bytes: Option<usize>,
    user_agent: Option<usize>,
    referer: Option<usize>,
}

impl CsvColumns {
    /// A header with at least `timestamp`, `ip`, `path` and `status_code` (AIWAF's rule).
    pub fn from_header(line: &[u8]) -> Option<Self> {
        let line = line.strip_prefix(b"\xef\xbb\xbf").unwrap_or(line); // UTF-8 BOM
        let mut names = Vec::new();
        split_csv(line, &mut names);
        let pos = |n: &str| names.iter().position(|h| h.trim().eq_ignore_ascii_case(n));
        Some(Self {
            timestamp: pos("timestamp")?,
            ip: pos("ip")?,
            path: pos("path")?,
            status: pos("status_code")?,
            method: pos("method"),
            response_ms: pos("response_time_ms"),
            response_s: pos("response_time"),
            bytes: pos("content_length"),
            user_agent: pos("user_agent"),
            referer: pos("referer"),
        })
    }

    pub fn parse(&self, line: &[u8], scratch: &mut Vec<String>) -> Parsed {
        split_csv(line, scratch);
        let get = |i: usize| scratch.get(i).map(|s| s.trim());
        let opt = |i: Option<usize>| {
            i.and_then(|i| scratch.get(i))
                .map(|s| s.trim())
                .filter(|s| !s.is_empty() && *s != "-")
        };
        let client = get(self.ip)
            .and_then(|s| parse_ip(s.as_bytes()))
            .ok_or("no client address")?;
        let time_ms = get(self.timestamp)
            .and_then(|s| time::parse_any(s.as_bytes()))
            .ok_or("bad timestamp")?;
        let target = get(self.path)
            .filter(|s| !s.is_empty())
            .ok_or("no path")?
            .to_owned();
        let status = get(self.status)
            .and_then(|s| s.parse::<u16>().ok())
            .filter(|&s| s < 1000)
            .ok_or("bad status")?;
        let response_ms = match opt(self.response_ms) {
            Some(v) => v
                .parse::<f64>()
                .ok()
                .filter(|v| (0.0..4.0e9).contains(v))
                .map(|v| v.round() as u32),
            None => opt(self.response_s)
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|v| (0.0..4.0e6).contains(v))
                .map(|v| (v * 1000.0).round() as u32),
        };
        Ok(AccessRecord {
            client,
            time_ms,
            method: opt(self.method).unwrap_or("GET").to_owned(),
            target,
            status,
            response_ms,
            bytes: opt(self.bytes).and_then(|v| v.parse().ok()),
            user_agent: opt(self.user_agent).unwrap_or_default().to_owned(),
            referer: opt(self.referer).unwrap_or_default().to_owned(),
        })
    }
}
