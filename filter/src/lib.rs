//! The proxy-wasm glue of aiwaf-proxy: it translates Envoy's request into an
//! [`aiwaf_core::Request`], asks the engine, and acts on the verdict. No detection logic lives
//! here; the bundle (the plugin configuration) is compiled once per configuration and shared
//! by every request of the worker.
#![deny(unsafe_code)]

mod metrics;
mod shared;

use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;
use std::time::{SystemTime, UNIX_EPOCH};

use metrics::Metrics;
use shared::{shared_seed, SharedStore};

use aiwaf_core::{
    block_response, log_line, BodyKind, Bundle, Engine, Request, ResponseCheck, Verdict,
};
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(AiwafRoot { engine: None, seed: 0, metrics: None }) });
}}

/// Lives as long as the plugin: holds the compiled bundle.
struct AiwafRoot {
    engine: Option<Rc<Engine>>,
    /// Keys the state slot hash; the same for every worker of this Envoy (see `shared_seed`).
    seed: u64,
    metrics: Option<Rc<Metrics>>,
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
                self.seed = shared_seed(self.get_current_time());
                log::info!("aiwaf: bundle `{}` loaded", engine.version());
                for warning in engine.warnings() {
                    log::warn!("aiwaf: bundle `{}`: {warning}", engine.version());
                }
                self.engine = Some(Rc::new(engine));
                self.metrics = Some(Rc::new(Metrics::define()));
                metrics::config_outcome(true);
                true
            }
            Err(e) => {
                // Refusing the configuration keeps Envoy from serving with a weaker policy; on a
                // reload the previous bundle stays in force.
                log::error!("aiwaf: bundle refused: {e}");
                metrics::config_outcome(false);
                false
            }
        }
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        let engine = self.engine.clone()?;
        Some(Box::new(AiwafRequest {
            engine,
            metrics: self.metrics.clone()?,
            store: SharedStore { seed: self.seed },
            headers: Vec::new(),
            client: None,
            protocol: None,
            body_plan: None,
            body_seen: 0,
            response_check: ResponseCheck::default(),
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

/// Lives for one request.
struct AiwafRequest {
    engine: Rc<Engine>,
    metrics: Rc<Metrics>,
    store: SharedStore,
    headers: Vec<(String, String)>,
    client: Option<IpAddr>,
    protocol: Option<String>,
    /// Set when the body must be inspected before the request may continue.
    body_plan: Option<(BodyKind, usize)>,
    /// Body bytes buffered so far.
    body_seen: usize,
    /// What the engine wants to judge on the upstream's response status.
    response_check: ResponseCheck,
}

impl AiwafRequest {
    fn request(&self) -> Request<'_> {
        Request::from_pseudo_headers(&self.headers, self.client, self.protocol.as_deref())
    }

    /// Logs the verdict and sends the block response; true when the request was answered.
    fn act(&mut self, verdict: &Verdict) -> bool {
        self.metrics.verdict(verdict);
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
        let retry_after = response.retry_after.map(|s| s.to_string());
        let mut headers = vec![
            ("content-type", response.content_type),
            ("cache-control", "no-store"),
        ];
        if let Some(secs) = retry_after.as_deref() {
            headers.push(("retry-after", secs));
        }
        self.send_http_response(
            u32::from(response.status),
            headers,
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
        self.metrics.request();
        let now = unix_millis(self.get_current_time());
        let engine = Rc::clone(&self.engine);
        let mut store = self.store;
        let verdict = engine.inspect(&self.request(), now, &mut store);
        self.response_check = verdict.response;
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

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        self.judge_response()
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        self.body_seen = body_size;
        match self.body_plan {
            Some((_, limit)) if !end_of_stream && body_size < limit => Action::Pause,
            Some(_) => self.judge_body(),
            None => Action::Continue,
        }
    }

    fn on_http_request_trailers(&mut self, _num_trailers: usize) -> Action {
        // With trailers (HTTP/2, HTTP/3) the last body chunk does not end the stream: the held
        // body is judged here, or it would go upstream uninspected.
        self.judge_body()
    }
}

impl AiwafRequest {
    /// Inspects the buffered request body planned at the headers, once.
    fn judge_body(&mut self) -> Action {
        let Some((kind, limit)) = self.body_plan.take() else {
            return Action::Continue;
        };
        let body = self
            .get_http_request_body(0, self.body_seen.min(limit))
            .unwrap_or_default();
        let now = unix_millis(self.get_current_time());
        let mut store = self.store;
        let verdict = self
            .engine
            .inspect_body(&self.request(), kind, &body, now, &mut store);
        if self.act(&verdict) {
            return Action::Pause;
        }
        Action::Continue
    }

    /// Replaces the upstream's response when its status tips a score over (UUID tamper, 404
    /// probing).
    fn judge_response(&mut self) -> Action {
        if !self.response_check.is_needed() {
            return Action::Continue;
        }
        let status = self
            .get_http_response_header(":status")
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let now = unix_millis(self.get_current_time());
        let mut store = self.store;
        let check = std::mem::take(&mut self.response_check);
        let verdict = self
            .engine
            .inspect_response(&self.request(), check, status, now, &mut store);
        if self.act(&verdict) {
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
    unix_millis(t) / 1000
}

fn unix_millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
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
