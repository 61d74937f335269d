//! A tiny blocking HTTP/1.1 client over `std::net::TcpStream`.
//!
//! It exists because attack requests must reach Envoy byte for byte: the request
//! target is written exactly as given (no re-encoding, no `..` normalisation),
//! and headers go out in the given order. One connection per request.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};

/// Headers a current desktop Chrome sends for a top-level navigation, so the
/// header detector sees a real browser.
pub fn browser_headers() -> Vec<(String, String)> {
    [
        (
            "User-Agent",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
        ),
        (
            "Accept",
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        ),
        ("Accept-Language", "en-US,en;q=0.9"),
        ("Accept-Encoding", "gzip, deflate, br"),
        ("Connection", "keep-alive"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// Headers `curl` 8.5 sends by default: what the header detector must flag.
pub fn curl_headers() -> Vec<(String, String)> {
    vec![
        ("User-Agent".to_string(), "curl/8.5.0".to_string()),
        ("Accept".to_string(), "*/*".to_string()),
    ]
}

/// A parsed response.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers in received order, names as received.
    pub headers: Vec<(String, String)>,
    /// Decoded body (chunked encoding removed).
    pub body: Vec<u8>,
}

impl Response {
    /// First header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as (lossy) UTF-8, for assertions and messages.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON.
    pub fn json(&self) -> Result<serde_json::Value> {
        serde_json::from_slice(&self.body)
            .with_context(|| format!("response body is not JSON: {:?}", self.text()))
    }
}

/// A request under construction; send it with [`Request::send`].
#[derive(Debug, Clone)]
pub struct Request {
    addr: SocketAddr,
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
}

impl Request {
    /// Appends a header (kept in order; duplicates allowed).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Appends several headers in order.
    pub fn headers(mut self, headers: impl IntoIterator<Item = (String, String)>) -> Self {
        self.headers.extend(headers);
        self
    }

    /// Sets `X-Forwarded-For` (replacing any): with `xff_num_trusted_hops: 1`
    /// Envoy takes this address as the client, so each scenario can have its own.
    pub fn xff(mut self, client: &str) -> Self {
        self.headers
            .retain(|(k, _)| !k.eq_ignore_ascii_case("x-forwarded-for"));
        self.headers
            .push(("X-Forwarded-For".to_string(), client.to_string()));
        self
    }

    /// Sets a body; `Content-Length` is added when sending.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// The exact bytes that go on the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!("{} {} HTTP/1.1\r\n", self.method, self.target).into_bytes();
        let has = |n: &str| self.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(n));
        if !has("host") {
            out.extend_from_slice(b"Host: localhost\r\n");
        }
        for (k, v) in &self.headers {
            out.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
        }
        if let Some(body) = &self.body {
            if !has("content-length") {
                out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
            }
        }
        out.extend_from_slice(b"\r\n");
        if let Some(body) = &self.body {
            out.extend_from_slice(body);
        }
        out
    }

    /// Sends the request on a fresh connection and reads the whole response
    /// (bounded by the harness patience).
    pub fn send(&self) -> Result<Response> {
        let what = format!("{} {} to {}", self.method, self.target, self.addr);
        self.send_inner().with_context(|| what)
    }

    fn send_inner(&self) -> Result<Response> {
        let timeout = crate::patience().max(Duration::from_secs(1));
        let mut stream = TcpStream::connect_timeout(&self.addr, timeout)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        stream.set_nodelay(true)?;
        stream.write_all(&self.to_bytes())?;
        stream.flush()?;
        read_response(&mut BufReader::new(stream), self.method == "HEAD").map_err(|e| {
            let timed_out = e.downcast_ref::<std::io::Error>().is_some_and(|io| {
                matches!(
                    io.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                )
            });
            if timed_out {
                e.context(format!(
                    "no complete response within {timeout:?}: the request is stuck in Envoy \
                     (raise {} only if Envoy is merely slow)",
                    crate::PATIENCE_ENV
                ))
            } else {
                e
            }
        })
    }
}

/// Makes requests to one address.
#[derive(Debug, Clone, Copy)]
pub struct Client {
    addr: SocketAddr,
}

impl Client {
    /// A client for `addr` (e.g. [`crate::Envoy::proxy_addr`]).
    pub fn new(addr: SocketAddr) -> Self {
        Client { addr }
    }

    /// A request with the target sent exactly as given and no headers yet.
    pub fn request(&self, method: &str, target: &str) -> Request {
        Request {
            addr: self.addr,
            method: method.to_string(),
            target: target.to_string(),
            headers: Vec::new(),
            body: None,
        }
    }

    /// `GET target` with no extra headers.
    pub fn get(&self, target: &str) -> Request {
        self.request("GET", target)
    }

    /// `GET target` with [`browser_headers`].
    pub fn browser_get(&self, target: &str) -> Request {
        self.get(target).headers(browser_headers())
    }
}

fn read_line(r: &mut impl BufRead) -> Result<String> {
    let mut line = String::new();
    let n = r.read_line(&mut line)?;
    if n == 0 {
        bail!("connection closed before the response was complete");
    }
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

fn read_response(r: &mut impl BufRead, head: bool) -> Result<Response> {
    let status_line = read_line(r)?;
    let mut parts = status_line.splitn(3, ' ');
    let (version, code) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if !version.starts_with("HTTP/1.") {
        bail!("not an HTTP/1 status line: {status_line:?}");
    }
    let status: u16 = code
        .parse()
        .map_err(|_| anyhow!("bad status line: {status_line:?}"))?;
    let mut headers = Vec::new();
    loop {
        let line = read_line(r)?;
        if line.is_empty() {
            break;
        }
        let (k, v) = line
            .split_once(':')
            .ok_or_else(|| anyhow!("bad header line: {line:?}"))?;
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let find = |n: &str| {
        headers
            .iter()
            .find(|(k, _): &&(String, String)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.clone())
    };
    let mut body = Vec::new();
    if head || status == 204 || status == 304 || (100..200).contains(&status) {
        // no body
    } else if find("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
    {
        loop {
            let size_line = read_line(r)?;
            let size_hex = size_line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_hex, 16)
                .map_err(|_| anyhow!("bad chunk size line: {size_line:?}"))?;
            if size == 0 {
                while !read_line(r)?.is_empty() {}
                break;
            }
            let start = body.len();
            body.resize(start + size, 0);
            r.read_exact(&mut body[start..])?;
            read_line(r)?;
        }
    } else if let Some(len) = find("content-length") {
        let len: usize = len
            .parse()
            .map_err(|_| anyhow!("bad content-length {len:?}"))?;
        body.resize(len, 0);
        r.read_exact(&mut body)?;
    } else {
        r.read_to_end(&mut body)?;
    }
    Ok(Response {
        status,
        headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_the_target_and_headers_verbatim() {
        let addr: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let req = Client::new(addr)
            .get("/%2e%2e/%2e%2e/etc/passwd?q=1'%20OR")
            .header("B", "2")
            .header("A", "1")
            .xff("203.0.113.9")
            .body("x=1");
        let wire = String::from_utf8(req.to_bytes()).unwrap();
        assert_eq!(
            wire,
            "GET /%2e%2e/%2e%2e/etc/passwd?q=1'%20OR HTTP/1.1\r\nHost: localhost\r\nB: 2\r\nA: 1\r\n\
             X-Forwarded-For: 203.0.113.9\r\nContent-Length: 3\r\n\r\nx=1"
        );
    }

    #[test]
    fn parses_chunked_and_sized_bodies() {
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
        let resp = read_response(&mut &raw[..], false).unwrap();
        assert_eq!(resp.text(), "hello world");
        let raw = b"HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: 7\r\n\r\nblocked";
        let resp = read_response(&mut &raw[..], false).unwrap();
        assert_eq!((resp.status, resp.text().as_str()), (403, "blocked"));
        assert_eq!(resp.header("Content-Type"), Some("text/plain"));
    }
}
