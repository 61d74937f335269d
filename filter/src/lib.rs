//! The proxy-wasm glue of aiwaf-proxy: it translates Envoy's request into an
//! [`aiwaf_core::Request`], asks the engine, and acts on the verdict. No detection logic lives
//! here; the bundle (the plugin configuration) is compiled once per configuration and shared
//! by every request of the worker.
#![deny(unsafe_code)]

use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;
use std::time::{SystemTime, UNIX_EPOCH};

use aiwaf_core::{block_response, log_line, BodyKind, Bundle, Engine, Request, Verdict};
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(AiwafRoot { engine: None }) });
}}

/// Lives as long as the plugin: holds the compiled bundle.
struct AiwafRoot {
    engine: Option<Rc<Engine>>,
}

impl Context for AiwafRoot {}

impl RootContext for AiwafRoot {
    fn on_configure(&mut self, _configuration_size: usize) -> bool {
        let config = self.get_plugin_configuration().unwrap_or_default();
        let config: &[u8] = if config.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &config
        };
        match Bundle::from_json(config)
            .and_then(|b| Engine::new(&b, unix_seconds(self.get_current_time())))
        {
            Ok(engine) => {
                log::info!("aiwaf: bundle `{}` loaded", engine.version());
                for warning in engine.warnings() {
                    log::warn!("aiwaf: bundle `{}`: {warning}", engine.version());
                }
                self.engine = Some(Rc::new(engine));
                true
            }
            Err(e) => {
                // Refusing the configuration keeps Envoy from serving with a weaker policy; on a
                // reload the previous bundle stays in force.
                log::error!("aiwaf: bundle refused: {e}");
                false
            }
        }
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        let engine = self.engine.clone()?;
        Some(Box::new(AiwafRequest {
            engine,
            headers: Vec::new(),
            client: None,
            protocol: None,
            body_plan: None,
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

/// Lives for one request.
struct AiwafRequest {
    engine: Rc<Engine>,
    headers: Vec<(String, String)>,
    client: Option<IpAddr>,
    protocol: Option<String>,
    /// Set when the body must be inspected before the request may continue.
    body_plan: Option<(BodyKind, usize)>,
}

impl AiwafRequest {
    fn request(&self) -> Request<'_> {
        Request::from_pseudo_headers(&self.headers, self.client, self.protocol.as_deref())
    }

    /// Logs the verdict and sends the block response; true when the request was answered.
    fn act(&self, verdict: &Verdict) -> bool {
        if verdict.is_clean() {
            return false;
        }
        let req = self.request();
        for finding in verdict.monitored() {
            log::info!(
                "{}",
                log_line("monitor", finding, &req, self.engine.version())
            );
        }
        let Some(finding) = verdict.blocking() else {
            return false;
        };
        log::info!(
            "{}",
            log_line("block", finding, &req, self.engine.version())
        );
        let response = block_response(finding, req.prefers_json());
        self.send_http_response(
            u32::from(response.status),
            vec![
                ("content-type", response.content_type),
                ("cache-control", "no-store"),
            ],
            Some(response.body.as_bytes()),
        );
        true
    }
}

impl Context for AiwafRequest {}

impl HttpContext for AiwafRequest {
    fn on_http_request_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        self.headers = self.get_http_request_headers();
        self.client = self
            .get_property(vec!["source", "address"])
            .and_then(|a| parse_address(&a));
        self.protocol = self
            .get_property(vec!["request", "protocol"])
            .and_then(|p| String::from_utf8(p).ok());
        let verdict = self
            .engine
            .inspect(&self.request(), unix_seconds(self.get_current_time()));
        if self.act(&verdict) {
            return Action::Pause;
        }
        if !end_of_stream {
            // Envoy (1.40) never delivers the body to a filter that paused its headers, so the
            // headers go on and the body is held in `on_http_request_body` until judged; a
            // block there resets the upstream request before it has seen any body byte.
            self.body_plan = self.engine.body_plan(&self.request());
        }
        Action::Continue
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        let Some((kind, limit)) = self.body_plan else {
            return Action::Continue;
        };
        if !end_of_stream && body_size < limit {
            return Action::Pause;
        }
        let body = self
            .get_http_request_body(0, body_size.min(limit))
            .unwrap_or_default();
        self.body_plan = None;
        if self.act(&self.engine.inspect_body(kind, &body)) {
            return Action::Pause;
        }
        Action::Continue
    }
}

/// Envoy's `source.address` is `ip:port` (`[v6]:port` for IPv6), or a bare address.
fn parse_address(raw: &[u8]) -> Option<IpAddr> {
    let text = std::str::from_utf8(raw).ok()?;
    text.parse::<SocketAddr>()
        .map(|s| s.ip())
        .or_else(|_| text.parse::<IpAddr>())
        .ok()
}

fn unix_seconds(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::parse_address;

    #[test]
    fn parses_envoy_source_addresses() {
        assert_eq!(
            parse_address(b"203.0.113.9:51000"),
            Some("203.0.113.9".parse().unwrap())
        );
        assert_eq!(
            parse_address(b"[2001:db8::1]:443"),
            Some("2001:db8::1".parse().unwrap())
        );
        assert_eq!(
            parse_address(b"198.51.100.7"),
            Some("198.51.100.7".parse().unwrap())
        );
        assert_eq!(parse_address(b"not an address"), None);
        assert_eq!(parse_address(b"\xff\xfe"), None);
    }
}
