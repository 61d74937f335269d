//! The request as the engine sees it: borrowed from the host, never copied wholesale.

use std::net::IpAddr;

/// One HTTP request. The filter builds it from Envoy's headers (pseudo-headers included), the
/// CLI from its arguments; both go through the same detectors.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// Method, e.g. `GET`.
    pub method: &'a str,
    /// Request target exactly as sent: path plus optional `?query`, percent-encoding kept.
    pub target: &'a str,
    /// Header names and values. Names are compared case-insensitively; pseudo-headers
    /// (`:path`, …) are ignored by header checks.
    pub headers: &'a [(String, String)],
    /// The client, from Envoy's `source.address` (XFF-aware only as far as Envoy trusts it).
    pub client: Option<IpAddr>,
    /// `HTTP/1.0`, `HTTP/1.1`, `HTTP/2`, `HTTP/3` when known.
    pub protocol: Option<&'a str>,
}

impl<'a> Request<'a> {
    /// Builds a request from a header list carrying `:method` and `:path` pseudo-headers, as
    /// proxy-wasm hosts hand them over.
    pub fn from_pseudo_headers(
        headers: &'a [(String, String)],
        client: Option<IpAddr>,
        protocol: Option<&'a str>,
    ) -> Request<'a> {
        let mut method = "";
        let mut target = "";
        for (k, v) in headers {
            match k.as_str() {
                ":method" => method = v,
                ":path" => target = v,
                _ => {}
            }
        }
        Request {
            method,
            target,
            headers,
            client,
            protocol,
        }
    }

    /// First value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Path part of the target (before `?` and `#`).
    pub fn raw_path(&self) -> &'a str {
        let end = self.target.find(['?', '#']).unwrap_or(self.target.len());
        &self.target[..end]
    }

    /// Query part of the target (after `?`, before `#`), empty when absent.
    pub fn raw_query(&self) -> &'a str {
        match self.target.find('?') {
            Some(i) => {
                let q = &self.target[i + 1..];
                &q[..q.find('#').unwrap_or(q.len())]
            }
            None => "",
        }
    }

    /// True when the client asked for JSON (Accept) or speaks JSON (Content-Type): such clients
    /// get a JSON block body.
    pub fn prefers_json(&self) -> bool {
        let has_json = |v: Option<&str>| v.is_some_and(|v| v.to_ascii_lowercase().contains("json"));
        has_json(self.header("accept")) || has_json(self.header("content-type"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn reads_pseudo_headers_and_splits_target() {
        let headers = h(&[
            (":method", "GET"),
            (":path", "/a/b?x=1#frag"),
            ("Accept", "application/json"),
        ]);
        let r = Request::from_pseudo_headers(&headers, None, None);
        assert_eq!(r.method, "GET");
        assert_eq!(r.raw_path(), "/a/b");
        assert_eq!(r.raw_query(), "x=1");
        assert_eq!(r.header("accept"), Some("application/json"));
        assert!(r.prefers_json());
        let headers = h(&[(":path", "/p")]);
        let r = Request::from_pseudo_headers(&headers, None, None);
        assert_eq!(r.raw_query(), "");
        assert!(!r.prefers_json());
    }
}
