//! Hand-written byte scanners for the text formats: nginx/Apache `combined` and `common`
//! (with an optional trailing response time), and Envoy's default access-log format.

use std::net::IpAddr;

use aiwaf_core::AccessRecord;

use super::time::{self, TimeCache};

pub type Parsed = Result<AccessRecord, &'static str>;

/// Bytes as a `String`; invalid UTF-8 is replaced (U+FFFD), never refused.
pub fn owned(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) => s.to_owned(),
        Err(_) => String::from_utf8_lossy(b).into_owned(),
    }
}

/// A client address: IPv4, IPv6, `[v6]`, with an optional `:port` (`1.2.3.4:80`, `[::1]:80`).
pub fn parse_ip(b: &[u8]) -> Option<IpAddr> {
    let s = std::str::from_utf8(b).ok()?.trim();
    if let Ok(ip) = s.parse() {
        return Some(ip);
    }
    if let Some(rest) = s.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    let (host, port) = s.rsplit_once(':')?;
    if port.bytes().all(|c| c.is_ascii_digit()) && !host.contains(':') {
        return host.parse().ok();
    }
    None
}

/// A small cursor over one line.
struct Cur<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Cur<'a> {
    fn skip_spaces(&mut self) {
        while self.i < self.b.len() && self.b[self.i] == b' ' {
            self.i += 1;
        }
    }
    /// The next space-delimited token (may be empty at the end).
    fn token(&mut self) -> &'a [u8] {
        self.skip_spaces();
        let s = self.i;
        while self.i < self.b.len() && self.b[self.i] != b' ' {
            self.i += 1;
        }
        &self.b[s..self.i]
    }
    /// `[...]`: the text inside the brackets.
    fn bracketed(&mut self) -> Option<&'a [u8]> {
        self.skip_spaces();
        if self.b.get(self.i) != Some(&b'[') {
            return None;
        }
        let s = self.i + 1;
        let e = s + self.b[s..].iter().position(|&c| c == b']')?;
        self.i = e + 1;
        Some(&self.b[s..e])
    }
    /// `"..."` with backslash escapes kept as logged; the text inside the quotes.
    fn quoted(&mut self) -> Option<&'a [u8]> {
        self.skip_spaces();
        if self.b.get(self.i) != Some(&b'"') {
            return None;
        }
        let s = self.i + 1;
        let mut j = s;
        while j < self.b.len() {
            match self.b[j] {
                b'\\' => j += 2,
                b'"' => {
                    self.i = j + 1;
                    return Some(&self.b[s..j]);
                }
                _ => j += 1,
            }
        }
        None
    }
    fn rest(&self) -> &'a [u8] {
        &self.b[self.i.min(self.b.len())..]
    }
}

fn status(b: &[u8]) -> Option<u16> {
    if b.len() != 3 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0u16, |n, c| n * 10 + u16::from(c - b'0')))
}

fn uint(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 19 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0u64, |n, c| n * 10 + u64::from(c - b'0')))
}

/// `-` → None, digits → Some, else an error.
fn bytes_field(b: &[u8]) -> Result<Option<u64>, &'static str> {
    if b == b"-" {
        return Ok(None);
    }
    uint(b).map(Some).ok_or("bad byte count")
}

/// `"METHOD target PROTOCOL"` (protocol optional, HTTP/0.9) → (method, target).
fn request_line(b: &[u8]) -> Result<(String, String), &'static str> {
    let sp = b
        .iter()
        .position(|&c| c == b' ')
        .ok_or("malformed request line")?;
    let method = &b[..sp];
    if method.is_empty()
        || !method
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_'))
    {
        return Err("malformed request method");
    }
    let mut target = &b[sp + 1..];
    if let Some(p) = target.iter().rposition(|&c| c == b' ') {
        if target[p + 1..].starts_with(b"HTTP/") {
            target = &target[..p];
        }
    }
    if target.is_empty() {
        return Err("empty request target");
    }
    Ok((owned(method), owned(target)))
}

/// A response time: seconds when it has a decimal point (nginx `$request_time`, `rt=0.123`),
/// milliseconds when it is an integer (Envoy `%DURATION%`).
pub fn response_time(b: &[u8]) -> Option<u32> {
    if b.is_empty() || b == b"-" {
        return None;
    }
    if b.contains(&b'.') {
        let s: f64 = std::str::from_utf8(b).ok()?.parse().ok()?;
        if !(0.0..4.0e6).contains(&s) {
            return None;
        }
        return Some((s * 1000.0).round() as u32);
    }
    uint(b).and_then(|n| u32::try_from(n).ok())
}

/// The first response time among the trailing tokens: `rt=`, `response-time=`, `request_time=`
/// or a bare number.
fn trailing_time(mut rest: &[u8]) -> Option<u32> {
    while !rest.is_empty() {
        let s = rest.iter().position(|&c| c != b' ').unwrap_or(rest.len());
        rest = &rest[s..];
        let e = rest.iter().position(|&c| c == b' ').unwrap_or(rest.len());
        let tok = &rest[..e];
        rest = &rest[e..];
        let value = if let Some(p) = tok.iter().position(|&c| c == b'=') {
            match &tok[..p] {
                b"rt" | b"response-time" | b"response_time" | b"request_time" | b"request-time" => {
                    &tok[p + 1..]
                }
                _ => continue,
            }
        } else {
            tok
        };
        let value = value.strip_prefix(b"\"").unwrap_or(value);
        let value = value.strip_suffix(b"\"").unwrap_or(value);
        if let Some(ms) = response_time(value) {
            return Some(ms);
        }
    }
    None
}

/// nginx/Apache `common` or `combined`, with optional trailing response time. Returns the record
/// and whether the referer/user-agent pair was present (combined).
pub fn parse_clf(line: &[u8], cache: &mut TimeCache) -> Result<(AccessRecord, bool), &'static str> {
    let mut c = Cur { b: line, i: 0 };
    let client = parse_ip(c.token()).ok_or("no client address")?;
    // ident and user: skipped up to the timestamp (a user name may contain spaces).
    let open = line[c.i..]
        .iter()
        .position(|&b| b == b'[')
        .ok_or("no [timestamp]")?;
    c.i += open;
    let ts = c.bracketed().ok_or("no [timestamp]")?;
    let time_ms = cache.get(ts, time::parse_any).ok_or("bad timestamp")?;
    let req = c.quoted().ok_or("no quoted request")?;
    let (method, target) = request_line(req)?;
    let status = status(c.token()).ok_or("bad status")?;
    let bytes = bytes_field(c.token())?;
    let save = c.i;
    let (referer, user_agent, combined) = match c.quoted() {
        Some(r) => {
            let ua = c.quoted().ok_or("referer without user agent")?;
            (dash_empty(r), dash_empty(ua), true)
        }
        None => {
            c.i = save;
            (String::new(), String::new(), false)
        }
    };
    let response_ms = trailing_time(c.rest());
    Ok((
        AccessRecord {
            client,
            time_ms,
            method,
            target,
            status,
            response_ms,
            bytes,
            user_agent,
            referer,
        },
        combined,
    ))
}

fn dash_empty(b: &[u8]) -> String {
    if b == b"-" {
        String::new()
    } else {
        owned(b)
    }
}

/// Envoy's default format:
/// `[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE%
/// %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%
/// "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%"
/// "%UPSTREAM_HOST%"`. It logs no downstream address: the client is the LAST entry of
/// X-Forwarded-For (the one the nearest proxy appended); a line without one is refused.
pub fn parse_envoy(line: &[u8], cache: &mut TimeCache) -> Parsed {
    let mut c = Cur { b: line, i: 0 };
    let ts = c.bracketed().ok_or("no [timestamp]")?;
    let time_ms = cache.get(ts, time::parse_any).ok_or("bad timestamp")?;
    let req = c.quoted().ok_or("no quoted request")?;
    let (method, target) = request_line(req)?;
    // Envoy logs 0 when no response was sent.
    let status = uint(c.token()).filter(|&n| n < 1000).ok_or("bad status")? as u16;
    let _flags = c.token();
    let _received = c.token();
    let bytes = bytes_field(c.token())?;
    let response_ms = uint(c.token()).and_then(|n| u32::try_from(n).ok());
    let _upstream_time = c.token();
    let xff = c.quoted().ok_or("no quoted X-Forwarded-For")?;
    let ua = c.quoted().ok_or("no quoted user agent")?;
    let last = xff.rsplit(|&b| b == b',').next().unwrap_or_default();
    let client = parse_ip(last).ok_or("no client address (X-Forwarded-For empty or invalid)")?;
    Ok(AccessRecord {
        client,
        time_ms,
        method,
        target,
        status,
        response_ms,
        bytes,
        user_agent: dash_empty(ua),
        referer: String::new(),
    })
}
