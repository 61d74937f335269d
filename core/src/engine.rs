//! The engine: a bundle compiled once, then asked about each request.

use crate::bundle::{Action, Bundle, Mode};
use crate::detect::anomaly::Anomaly;
use crate::detect::geo::Geo;
use crate::detect::header::HeaderCheck;
use crate::detect::honeypot::Honeypot;
use crate::detect::ip_block::IpBlock;
use crate::detect::keyword::Keywords;
use crate::detect::method::{MethodCheck, MethodRule};
use crate::detect::not_found::NotFound;
use crate::detect::payload::{BodyKind, PayloadCheck};
use crate::detect::probe::Probe;
use crate::detect::rate_limit::{Limits, RateLimit};
use crate::detect::uuid_tamper::UuidTamper;
use crate::detect::{DetectorId, DetectorSet, Finding, REGISTRY};
use crate::error::Error;
use crate::features::{Features, Snapshot, MAX_PATH_LEN};
use crate::net::IpSet;
use crate::normalize::{normalize_path, NormalizedPath};
use crate::record::AccessRecord;
use crate::request::Request;
use crate::routes::RouteTable;
use crate::state::{self, Scope, Store};
use crate::verdict::{ResponseCheck, Verdict};

/// Everything a detector may look at for one request.
pub(crate) struct Context<'r, 'a> {
    pub(crate) req: &'r Request<'a>,
    pub(crate) path: &'r NormalizedPath,
    /// Unix time, seconds.
    pub(crate) now: u64,
    /// Unix time, milliseconds.
    pub(crate) now_ms: u64,
}

/// What an observation counts (see [`Engine::observe`]).
#[derive(Debug, Clone, Copy)]
enum Count {
    /// The request and its status in one write: log records, and refused requests whose
    /// request was not counted yet.
    RequestAndStatus,
    /// The status only; the request phase counted the request and read this.
    Status(Snapshot),
    /// A 404 only, and no features (no model: only the `not_found` detector reads the count).
    NotFoundOnly,
}

/// A `PATH_RULES` entry compiled for matching.
#[derive(Debug)]
struct CompiledRule {
    /// Normalised prefix without a trailing `/`; empty for the root rule.
    prefix: String,
    disabled: DetectorSet,
    /// Scope and limits, when the rule has a `RATE_LIMIT`.
    rate: Option<(Scope, Limits)>,
}

/// A manifest route compiled for enforcement (matching is the [`RouteTable`]'s).
#[derive(Debug)]
struct CompiledRoute {
    disabled: DetectorSet,
    /// Scope (a hash of the template) and limits, when the route has a rate limit.
    rate: Option<(Scope, Limits)>,
    /// Accepted methods, uppercase; empty: any.
    methods: Vec<String>,
}

/// What applies to one request path: detectors off, the rate limit scope, the route.
struct PathPolicy {
    disabled: DetectorSet,
    rate: Option<(Scope, Limits)>,
    route: Option<usize>,
}

/// Static-asset suffixes and prefixes: such requests skip header validation only.
const STATIC_SUFFIXES: &[&str] = &[
    ".css", ".js", ".mjs", ".map", ".png", ".jpg", ".jpeg", ".gif", ".ico", ".svg", ".webp",
    ".avif", ".woff", ".woff2", ".ttf", ".eot",
];
const STATIC_PREFIXES: &[&str] = &["/static/", "/media/", "/assets/"];

/// Detectors an exempt path skips: the heuristics that produce false positives on operational
/// routes. Payload, probe and blocklist checks still run there.
fn exempt_path_skips() -> DetectorSet {
    let mut s = DetectorSet::EMPTY;
    s.insert(DetectorId::Keyword);
    s.insert(DetectorId::Header);
    s.insert(DetectorId::RateLimit);
    s.insert(DetectorId::Honeypot);
    s.insert(DetectorId::UuidTamper);
    s.insert(DetectorId::NotFound);
    s.insert(DetectorId::Anomaly);
    s
}

/// A compiled bundle. Build it once per configuration (it validates everything), then call
/// [`Engine::inspect`] per request; it is immutable and can be shared.
#[derive(Debug)]
pub struct Engine {
    version: String,
    mode: Mode,
    actions: [Action; REGISTRY.len()],
    /// Per-detector block duration overrides, milliseconds.
    ttls: [Option<u64>; REGISTRY.len()],
    exempt_ips: IpSet,
    exempt_paths: Vec<String>,
    rules: Vec<CompiledRule>,

    ip_block: IpBlock,
    rate_limit: RateLimit,
    /// Dynamic block durations, milliseconds, by offense count.
    block_durations: Vec<u64>,
    slots: u32,
    payload: PayloadCheck,
    probe: Probe,
    keyword: Keywords,
    header: HeaderCheck,
    method: MethodCheck,
    honeypot: Honeypot,
    uuid: UuidTamper,
    not_found: NotFound,
    anomaly: Anomaly,
    route_table: RouteTable,
    routes: Vec<CompiledRoute>,
    geo: Option<Geo>,
    /// Behaviour window, seconds (`AIWAF_WINDOW_SECONDS`).
    window_s: u32,
    /// Observe every request's behaviour even without a model (the trainer's engine).
    training: bool,
}

/// Normalises a configured prefix the way request paths are normalised, minus the trailing `/`.
fn normalize_prefix(prefix: &str) -> String {
    let p = normalize_path(prefix).path;
    if p == "/" {
        String::new()
    } else {
        p
    }
}

/// `path` is under `prefix` (segment boundary; the empty prefix covers everything).
pub(crate) fn under(path: &str, prefix: &str) -> bool {
    prefix.is_empty()
        || (path.starts_with(prefix)
            && matches!(path.as_bytes().get(prefix.len()), None | Some(b'/')))
}

impl Engine {
    /// Parses and compiles a bundle.
    pub fn from_json(bytes: &[u8]) -> Result<Engine, Error> {
        Engine::new(&Bundle::from_json(bytes)?, 0)
    }

    /// Compiles a bundle, checking what the schema cannot express (ranges, names in lists).
    /// `now` (Unix seconds) drops learned items that have already expired.
    pub fn new(bundle: &Bundle, now: u64) -> Result<Engine, Error> {
        let s = &bundle.settings;
        if s.payload_max_bytes == 0 || s.payload_max_bytes > 1_048_576 {
            return Err(Error::invalid(
                "settings.AIWAF_PAYLOAD_MAX_BYTES",
                "must be between 1 and 1048576",
            ));
        }
        if s.header_quality_min_score > 10 {
            return Err(Error::invalid(
                "settings.AIWAF_HEADER_QUALITY_MIN_SCORE",
                "must be between 0 and 10",
            ));
        }
        if s.state_slots == 0 || s.state_slots > 1_048_576 {
            return Err(Error::invalid(
                "settings.AIWAF_STATE_SLOTS",
                "must be between 1 and 1048576",
            ));
        }
        if s.blocklist_durations.is_empty() || s.blocklist_durations.contains(&0) {
            return Err(Error::invalid(
                "settings.AIWAF_BLOCKLIST_DURATIONS",
                "must list at least one duration, each at least 1 second",
            ));
        }
        // Ranges the per-client counters can hold: a threshold beyond them would never fire.
        let ranges: [(&str, i64, i64, i64); 7] = [
            (
                "AIWAF_NOT_FOUND_THRESHOLD",
                i64::from(s.not_found_threshold),
                1,
                65_535,
            ),
            (
                "AIWAF_WINDOW_SECONDS",
                i64::from(s.window_seconds),
                1,
                86_400,
            ),
            (
                "AIWAF_UUID_SCORE_WINDOW_SECONDS",
                i64::from(s.uuid_score_window_seconds),
                1,
                86_400,
            ),
            (
                "AIWAF_UUID_SCORE_BLOCK_THRESHOLD",
                i64::from(s.uuid_score_block_threshold),
                1,
                1_000,
            ),
            (
                "AIWAF_UUID_SCORE_MALFORMED_WEIGHT",
                i64::from(s.uuid_score_malformed_weight),
                0,
                1_000,
            ),
            (
                "AIWAF_UUID_SCORE_NOT_FOUND_WEIGHT",
                i64::from(s.uuid_score_not_found_weight),
                0,
                1_000,
            ),
            (
                "AIWAF_UUID_SCORE_SUCCESS_DECAY",
                i64::from(s.uuid_score_success_decay),
                0,
                1_000,
            ),
        ];
        for (key, value, min, max) in ranges {
            if !(min..=max).contains(&value) {
                return Err(Error::invalid(
                    format!("settings.{key}"),
                    format!("must be between {min} and {max}"),
                ));
            }
        }
        if s.rate_window == 0 {
            return Err(Error::invalid(
                "settings.AIWAF_RATE_WINDOW",
                "must be at least 1 second",
            ));
        }
        if s.rate_flood <= s.rate_max {
            return Err(Error::invalid(
                "settings.AIWAF_RATE_FLOOD",
                format!("must be greater than AIWAF_RATE_MAX ({})", s.rate_max),
            ));
        }
        if !(0.0..=0.5).contains(&s.ai_contamination) {
            return Err(Error::invalid(
                "settings.AIWAF_AI_CONTAMINATION",
                "must be between 0 and 0.5",
            ));
        }
        if !(s.min_form_time >= 0.0 && s.max_page_time > s.min_form_time) {
            return Err(Error::invalid(
                "settings.AIWAF_MAX_PAGE_TIME",
                "must be greater than AIWAF_MIN_FORM_TIME, both non-negative",
            ));
        }
        for (i, p) in s.exempt_paths.iter().enumerate() {
            if !p.starts_with('/') {
                return Err(Error::invalid(
                    format!("settings.AIWAF_EXEMPT_PATHS[{i}]"),
                    "must start with `/`",
                ));
            }
        }
        let mut rules = Vec::with_capacity(s.path_rules.len());
        let mut method_rules = Vec::new();
        for (i, rule) in s.path_rules.iter().enumerate() {
            if !rule.prefix.starts_with('/') {
                return Err(Error::invalid(
                    format!("settings.PATH_RULES[{i}].PREFIX"),
                    "must start with `/`",
                ));
            }
            let mut disabled = DetectorSet::EMPTY;
            for (j, name) in rule.disable.iter().enumerate() {
                let set = DetectorSet::from_disable_name(name).ok_or_else(|| {
                    Error::invalid(
                        format!("settings.PATH_RULES[{i}].DISABLE[{j}]"),
                        format!("unknown detector or middleware name `{name}`"),
                    )
                })?;
                disabled = disabled.union(set);
            }
            let mut rate = None;
            if let Some(rl) = &rule.rate_limit {
                let key = format!("settings.PATH_RULES[{i}].RATE_LIMIT");
                let index = u16::try_from(i)
                    .map_err(|_| Error::invalid("settings.PATH_RULES", "at most 65535 rules"))?;
                rate = Some((Scope::Rule(index), limits(s, rl, &key)?));
            }
            if let Some(methods) = &rule.methods {
                check_methods(methods, &format!("settings.PATH_RULES[{i}].METHODS"))?;
                method_rules.push(MethodRule {
                    prefix: normalize_prefix(&rule.prefix),
                    methods: methods.iter().map(|m| m.to_ascii_uppercase()).collect(),
                });
            }
            rules.push(CompiledRule {
                prefix: normalize_prefix(&rule.prefix),
                disabled,
                rate,
            });
        }
        // Most specific first; equal prefixes keep their written order (the first one wins).
        rules.sort_by_key(|r| std::cmp::Reverse(r.prefix.len()));
        method_rules.sort_by_key(|r| std::cmp::Reverse(r.prefix.len()));
        let mut exempt_ips = IpSet::default();
        for (i, net) in s.exempt_ips.iter().enumerate() {
            exempt_ips.insert(*net, i);
        }
        let mut actions = [Action::Reject; REGISTRY.len()];
        actions[index(DetectorId::RateLimit)] = Action::Blocklist;
        actions[index(DetectorId::NotFound)] = Action::Blocklist;
        actions[index(DetectorId::Anomaly)] = Action::Blocklist;
        if !s.uuid_score_enabled {
            actions[index(DetectorId::UuidTamper)] = Action::Off;
        }
        let mut ttls = [None; REGISTRY.len()];
        for (id, cfg) in &bundle.detectors {
            actions[index(*id)] = cfg.action;
            if cfg.ttl == Some(0) {
                return Err(Error::invalid(
                    format!("detectors.{id}.ttl"),
                    "must be at least 1 second",
                ));
            }
            ttls[index(*id)] = cfg.ttl.map(|t| u64::from(t) * 1000);
        }
        Ok(Engine {
            version: bundle
                .version
                .clone()
                .unwrap_or_else(|| "unversioned".to_string()),
            mode: bundle.mode,
            actions,
            ttls,
            exempt_ips,
            exempt_paths: s.exempt_paths.iter().map(|p| normalize_prefix(p)).collect(),
            rules,
            ip_block: IpBlock::new(&bundle.blocklist),
            rate_limit: RateLimit::new(s),
            block_durations: s
                .blocklist_durations
                .iter()
                .map(|d| u64::from(*d) * 1000)
                .collect(),
            slots: s.state_slots,
            payload: PayloadCheck::new(s.payload_max_bytes),
            probe: Probe::new(&s.file_extensions),
            keyword: Keywords::new(bundle, now),
            header: HeaderCheck::new(s),
            method: MethodCheck::new(method_rules),
            honeypot: Honeypot::new(s),
            uuid: UuidTamper::new(s),
            not_found: NotFound::new(s),
            anomaly: Anomaly::new(bundle)?,
            route_table: RouteTable::new(&bundle.routes)?,
            routes: compile_routes(bundle)?,
            geo: Geo::new(bundle)?,
            window_s: s.window_seconds,
            training: false,
        })
    }

    /// The engine `aiwaf train` replays logs through: it observes every request's behaviour
    /// (there is no model yet) and never blocks, so the replay sees the traffic as logged.
    pub fn for_training(bundle: &Bundle, now: u64) -> Result<Engine, Error> {
        let mut engine = Engine::new(bundle, now)?;
        engine.mode = Mode::Monitor;
        engine.training = true;
        Ok(engine)
    }

    /// The bundle's version label, carried in every log line.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// A one-screen description of what this engine enforces, for `aiwaf check`.
    pub fn summary(&self) -> Vec<(String, String)> {
        let mut out = vec![
            ("version".to_string(), self.version.clone()),
            (
                "mode".to_string(),
                format!("{:?}", self.mode).to_lowercase(),
            ),
        ];
        for id in REGISTRY {
            out.push((
                format!("detector {id}"),
                format!("{:?}", self.actions[index(*id)]).to_lowercase(),
            ));
        }
        out.push(("blocklist entries".into(), self.ip_block.len().to_string()));
        out.push(("exempt clients".into(), self.exempt_ips.len().to_string()));
        out.push(("exempt paths".into(), self.exempt_paths.len().to_string()));
        out.push(("path rules".into(), self.rules.len().to_string()));
        out.push(("routes".into(), self.route_table.len().to_string()));
        let g = self.rate_limit.global();
        out.push((
            "rate limit".into(),
            format!("{} per {} s, flood {}", g.max, g.window_ms / 1000, g.flood),
        ));
        out.push(("state slots".into(), self.slots.to_string()));
        out.push(("keywords".into(), self.keyword.len().to_string()));
        out.push((
            "geo ranges".into(),
            self.geo.as_ref().map_or(0, Geo::ranges).to_string(),
        ));
        out.push((
            "anomaly model".into(),
            match self.anomaly.trees() {
                0 => "none".to_string(),
                n => format!("{n} trees"),
            },
        ));
        out
    }

    /// Warnings about a policy that is valid but probably not what the operator meant.
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        if self.exempt_paths.iter().any(String::is_empty) {
            w.push("AIWAF_EXEMPT_PATHS contains `/`: this exemption covers every path".to_string());
        }

        if self.mode == Mode::Monitor {
            w.push("mode is `monitor`: nothing is blocked".to_string());
        }
        w
    }

    /// What applies to this path. A manual `PATH_RULES` rule takes precedence over the
    /// manifest route (its `DISABLE`, and its `RATE_LIMIT` when it has one); a whole-path match
    /// of a route without parameters is a known route, where keyword, probe and UUID checks
    /// do not apply (its words are the app's own; it carries no object id).
    fn policy_for(&self, method: &str, path: &NormalizedPath) -> PathPolicy {
        let rule = self.rules.iter().find(|r| under(&path.path, &r.prefix));
        let matched = self.route_table.find(path);
        let route = matched.map(|m| &self.routes[m.index]);
        let mut disabled = match (rule, route) {
            (Some(r), _) => r.disabled,
            (None, Some(route)) => route.disabled,
            (None, None) => DetectorSet::EMPTY,
        };
        if matched.is_some_and(|m| m.literal) {
            disabled.insert(DetectorId::Keyword);
            disabled.insert(DetectorId::Probe);
            disabled.insert(DetectorId::UuidTamper);
        }
        if self.exempt_path(&path.path) {
            disabled = disabled.union(exempt_path_skips());
        }
        // Only fetches count as static: `POST /users/sign_in.js` reaches a real handler.
        let fetch = method.eq_ignore_ascii_case("GET") || method.eq_ignore_ascii_case("HEAD");
        if fetch && is_static_asset(&path.path) {
            // A page pulls dozens of assets: they neither prove a browser nor count as load.
            disabled.insert(DetectorId::Header);
            disabled.insert(DetectorId::RateLimit);
            disabled.insert(DetectorId::Honeypot);
            disabled.insert(DetectorId::NotFound);
            disabled.insert(DetectorId::Anomaly);
        }
        PathPolicy {
            disabled,
            rate: rule.and_then(|r| r.rate).or(route.and_then(|r| r.rate)),
            route: matched.map(|m| m.index),
        }
    }

    fn exempt_client(&self, req: &Request<'_>) -> bool {
        req.client
            .is_some_and(|c| self.exempt_ips.find(c).is_some())
    }

    /// Decides one request from its head (method, target, headers, client). `now_ms` is Unix
    /// time in milliseconds, supplied by the caller (core reads no clock); `store` holds the
    /// per-client state shared by all workers.
    pub fn inspect(&self, req: &Request<'_>, now_ms: u64, store: &mut dyn Store) -> Verdict {
        let mut verdict = Verdict::default();
        if self.exempt_client(req) {
            return verdict;
        }
        let path = normalize_path(req.raw_path());
        let PathPolicy {
            disabled,
            rate: rule_rate,
            route,
        } = self.policy_for(req.method, &path);
        let route_methods: &[String] = route.map_or(&[], |i| &self.routes[i].methods);
        let ctx = Context {
            req,
            path: &path,
            now: now_ms / 1000,
            now_ms,
        };
        if let Some(f) = self.dynamic_block(&ctx, store) {
            if self.record(&mut verdict, f, &ctx, store) {
                return verdict;
            }
        }
        let observing = self.observing(disabled);
        // The request's behaviour count, once made (with the rate window when it runs).
        let mut behaviour: Option<Snapshot> = None;
        for &id in REGISTRY {
            if disabled.contains(id) || self.actions[index(id)] == Action::Off {
                continue;
            }
            let finding = match id {
                DetectorId::IpBlock => self.ip_block.inspect(&ctx),
                DetectorId::Geo => self.geo.as_ref().and_then(|g| g.inspect(&ctx)),
                DetectorId::RateLimit => {
                    let (finding, evicted, snapshot) =
                        self.rate_limit.inspect(&ctx, store, rule_rate, observing);
                    verdict.evicted |= evicted;
                    behaviour = snapshot;
                    finding
                }
                DetectorId::Payload => self.payload.inspect(&ctx),
                DetectorId::Probe => self.probe.inspect(&ctx),
                DetectorId::Keyword => self.keyword.inspect(&ctx),
                DetectorId::Header => self.header.inspect(&ctx),
                DetectorId::Method => self.method.inspect(&ctx, route_methods),
                DetectorId::Honeypot => self.honeypot.inspect(&ctx, store),
                DetectorId::UuidTamper => {
                    let (finding, score_response) = self.uuid.inspect(&ctx, store);
                    verdict.response.uuid = score_response;
                    finding
                }
                DetectorId::NotFound => {
                    // Judged on the upstream's status, in `inspect_response`.
                    verdict.response.not_found = true;
                    None
                }
                DetectorId::Anomaly => {
                    if observing && behaviour.is_none() {
                        behaviour = self.count_request(&ctx, store);
                    }
                    verdict.response.anomaly = behaviour;
                    None
                }
            };
            if let Some(f) = finding {
                if self.record(&mut verdict, f, &ctx, store) {
                    if id != DetectorId::IpBlock && observing {
                        self.observe_refused(&mut verdict, &ctx, behaviour, store);
                    }
                    return verdict;
                }
            }
        }
        verdict
    }

    /// True when behaviour is observed for a request under `disabled`: a model is loaded (or
    /// this is the trainer's engine) and the anomaly detector runs there.
    fn observing(&self, disabled: DetectorSet) -> bool {
        (self.anomaly.active() || self.training)
            && !disabled.contains(DetectorId::Anomaly)
            && self.actions[index(DetectorId::Anomaly)] != Action::Off
    }

    /// A refused request still counts in its client's behaviour, with the status it was
    /// answered (as in the proxy's access log); when that makes the client anomalous, the
    /// client is blocklisted too.
    fn observe_refused(
        &self,
        verdict: &mut Verdict,
        ctx: &Context<'_, '_>,
        behaviour: Option<Snapshot>,
        store: &mut dyn Store,
    ) {
        let Some(status) = verdict.blocking().map(|f| f.status) else {
            return;
        };
        let count = behaviour.map_or(Count::RequestAndStatus, Count::Status);
        let (_, features) = self.observe(ctx, status, count, store);
        verdict.features = features;
        let Some(x) = features else { return };
        // A finding that already blocklisted the client needs no second, longer block.
        if verdict
            .blocking()
            .is_some_and(|f| self.actions[index(f.detector)] == Action::Blocklist)
        {
            return;
        }
        let Some(finding) = self.anomaly.judge(&x) else {
            return;
        };
        let blocker = verdict.findings.pop();
        let refused = verdict.blocked;
        self.record(verdict, finding, ctx, store);
        verdict.blocked |= refused;
        // The original finding stays the one that answered the request.
        if let Some(b) = blocker {
            verdict.findings.push(b);
        }
    }

    /// Counts the request toward `burst` when the rate limiter did not (its rule scope, or it
    /// is off there).
    fn count_request(&self, ctx: &Context<'_, '_>, store: &mut dyn Store) -> Option<Snapshot> {
        let client = ctx.req.client?;
        let mut snapshot = Snapshot::default();
        state::update(store, self.slots, client, Scope::Client, ctx.now_ms, |r| {
            snapshot = r.count_request(ctx.now_ms);
        });
        Some(snapshot)
    }

    /// Counts a response in the client's behaviour record and returns the client's 404 count
    /// and, unless only 404s are counted, the feature vector: the one definition of the
    /// features, for live traffic and for logs. A successful response of a request counted in
    /// the request phase costs no state write; neither does any response without a model.
    fn observe(
        &self,
        ctx: &Context<'_, '_>,
        status: u16,
        count: Count,
        store: &mut dyn Store,
    ) -> (u16, Option<Features>) {
        let Some(client) = ctx.req.client else {
            return (0, None);
        };
        let now = u32::try_from(ctx.now).unwrap_or(u32::MAX);
        let counted = status == 404 || status >= 400;
        let mut count_status = |all: bool, burst: bool| {
            let mut b = 0;
            let r = state::update(store, self.slots, client, Scope::Client, ctx.now_ms, |r| {
                r.count_status(status, now, self.window_s, all);
                if burst {
                    b = r.counters.count_burst(ctx.now_ms);
                }
            })
            .record;
            (r.not_found, r.errors, b)
        };
        match count {
            Count::NotFoundOnly if status == 404 => (count_status(false, false).0, None),
            Count::NotFoundOnly => (0, None),
            Count::RequestAndStatus => {
                let (not_found, errors, burst) = count_status(true, true);
                let x = self.features(ctx, status, burst, not_found, errors);
                (not_found, Some(x))
            }
            Count::Status(snap) => {
                let (not_found, errors) = if counted {
                    let (n, e, _) = count_status(true, false);
                    (n, e)
                } else if snap.since != 0 && now.saturating_sub(snap.since) > self.window_s {
                    (0, 0)
                } else {
                    (snap.not_found, snap.errors)
                };
                let x = self.features(ctx, status, snap.burst, not_found, errors);
                (not_found, Some(x))
            }
        }
    }

    /// The feature vector (see `features.rs` for the definitions).
    fn features(
        &self,
        ctx: &Context<'_, '_>,
        status: u16,
        burst: u32,
        not_found: u16,
        errors: u16,
    ) -> Features {
        Features([
            ctx.path.path.len().min(MAX_PATH_LEN) as f64,
            f64::from(self.keyword.static_hits(ctx.path)),
            f64::from(status / 100),
            f64::from(burst),
            f64::from(not_found),
            f64::from(errors),
        ])
    }

    /// Decides on the upstream's response status for a request whose verdict asked for it
    /// ([`Verdict::response`]): UUID scoring and 404 probing. A blocking verdict means the
    /// response must be replaced by the block response.
    pub fn inspect_response(
        &self,
        req: &Request<'_>,
        check: ResponseCheck,
        status: u16,
        now_ms: u64,
        store: &mut dyn Store,
    ) -> Verdict {
        let mut verdict = Verdict::default();
        if !check.is_needed() {
            return verdict;
        }
        let path = normalize_path(req.raw_path());
        let ctx = Context {
            req,
            path: &path,
            now: now_ms / 1000,
            now_ms,
        };
        if check.uuid {
            if let Some(f) = self.uuid.inspect_response(&ctx, store, status) {
                if self.record(&mut verdict, f, &ctx, store) {
                    return verdict;
                }
            }
        }
        if check.not_found || check.anomaly.is_some() {
            let count = check.anomaly.map_or(Count::NotFoundOnly, Count::Status);
            let (not_found, features) = self.observe(&ctx, status, count, store);
            verdict.features = features;
            if check.not_found && status == 404 {
                if let Some(f) = self.not_found.judge(not_found) {
                    if self.record(&mut verdict, f, &ctx, store) {
                        return verdict;
                    }
                }
            }
            if let Some(f) = features.and_then(|x| self.anomaly.judge(&x)) {
                self.record(&mut verdict, f, &ctx, store);
            }
        }
        verdict
    }

    /// Observes one logged request exactly as the filter observes a live one (same policy for
    /// what is observed, same counters, same vector). The features are `None` when the request
    /// is not observed (exempt client or path, static asset); the normalised path is returned
    /// for the caller's own use, so it is computed once. Used by the trainer on an engine from
    /// [`Engine::for_training`]; records must come in time order per client.
    pub fn observe_record(
        &self,
        rec: &AccessRecord,
        store: &mut dyn Store,
    ) -> (Option<Features>, NormalizedPath) {
        let req = Request {
            method: &rec.method,
            target: &rec.target,
            headers: &[],
            client: Some(rec.client),
            protocol: None,
        };
        let path = normalize_path(req.raw_path());
        if self.exempt_client(&req) || !self.observing(self.policy_for(req.method, &path).disabled)
        {
            return (None, path);
        }
        let ctx = Context {
            req: &req,
            path: &path,
            now: rec.time_ms / 1000,
            now_ms: rec.time_ms,
        };
        let features = self
            .observe(&ctx, rec.status, Count::RequestAndStatus, store)
            .1;
        (features, path)
    }

    /// The path-level finding (payload, probe or keyword) a request's target alone earns,
    /// whatever the detectors' actions: the trainer's test of a malicious context. `path` is
    /// `normalize_path` of the target's path, which callers have already computed.
    pub fn path_finding(
        &self,
        method: &str,
        target: &str,
        path: &NormalizedPath,
    ) -> Option<Finding> {
        let req = Request {
            method,
            target,
            headers: &[],
            client: None,
            protocol: None,
        };
        let ctx = Context {
            req: &req,
            path,
            now: 0,
            now_ms: 0,
        };
        self.payload
            .inspect(&ctx)
            .or_else(|| self.probe.inspect(&ctx))
            .or_else(|| self.keyword.inspect(&ctx))
    }

    /// True when `word` (a lowercase path segment or its stem) may be learned as a keyword: not
    /// a legitimate, allowed or exempt word, not a word of the app's routes, and not already a
    /// static or learned keyword.
    pub fn learnable_word(&self, word: &str) -> bool {
        self.keyword.learnable(word) && !self.route_table.is_vocabulary(word)
    }

    /// True when `path` (normalised) is under an `AIWAF_EXEMPT_PATHS` prefix.
    pub fn exempt_path(&self, path: &str) -> bool {
        self.exempt_paths.iter().any(|p| under(path, p))
    }

    /// A client on the dynamic blocklist (put there by any worker) is refused until it expires.
    fn dynamic_block(&self, ctx: &Context<'_, '_>, store: &mut dyn Store) -> Option<Finding> {
        if self.actions[index(DetectorId::IpBlock)] == Action::Off {
            return None;
        }
        let client = ctx.req.client?;
        let r = state::read(store, self.slots, client, Scope::Client)?;
        if r.blocked_until <= ctx.now_ms {
            return None;
        }
        let cause = REGISTRY
            .get(usize::from(r.reason))
            .map_or("unknown", |id| id.as_str());
        let remaining = (r.blocked_until - ctx.now_ms).div_ceil(1000);
        Some(Finding {
            retry_after: Some(u32::try_from(remaining).unwrap_or(u32::MAX)),
            ..Finding::new(
                DetectorId::IpBlock,
                "dynamic_block",
                format!("blocklisted by {cause}, {remaining} s left"),
            )
        })
    }

    /// Puts the client on the dynamic blocklist with an escalating duration; returns it in ms.
    fn blocklist(
        &self,
        ctx: &Context<'_, '_>,
        store: &mut dyn Store,
        cause: DetectorId,
    ) -> Option<u64> {
        let client = ctx.req.client?;
        let now_s = u32::try_from(ctx.now).unwrap_or(u32::MAX);
        let mut duration = 0;
        state::update(store, self.slots, client, Scope::Client, ctx.now_ms, |r| {
            // Offenses count while the client keeps offending within a day of its last block.
            if u64::from(r.last_block) + 86_400 < ctx.now {
                r.offenses = 0;
            }
            r.offenses = r.offenses.saturating_add(1);
            let step = usize::from(r.offenses - 1).min(self.block_durations.len() - 1);
            duration = self.ttls[index(cause)].unwrap_or(self.block_durations[step]);
            r.blocked_until = ctx.now_ms + duration;
            r.last_block = now_s;
            r.reason = index(cause) as u8;
            // The block is the penalty: when it ends, the client's rate is counted afresh
            // (otherwise a block shorter than the window would re-flood on the first request).
            r.current = 0;
            r.previous = 0;
        });
        Some(duration)
    }

    /// Adds a finding to the verdict, blocklisting the client when the detector's action says
    /// so; true when the request is refused.
    fn record(
        &self,
        verdict: &mut Verdict,
        mut f: Finding,
        ctx: &Context<'_, '_>,
        store: &mut dyn Store,
    ) -> bool {
        let action = self.actions[index(f.detector)];
        let blocks =
            self.mode == Mode::Enforce && matches!(action, Action::Reject | Action::Blocklist);
        // A rate-limit throttle is only a 429; its flood finding, or any finding of a detector
        // the operator set to `blocklist`, puts the client on the dynamic blocklist.
        let escalate =
            action == Action::Blocklist && (f.escalate || f.detector != DetectorId::RateLimit);
        if blocks && escalate {
            if let Some(ms) = self.blocklist(ctx, store, f.detector) {
                let secs = ms.div_ceil(1000);
                f.retry_after = Some(u32::try_from(secs).unwrap_or(u32::MAX));
                f.evidence = crate::detect::truncate(
                    format!("{}; blocklisted for {secs} s", f.evidence),
                    240,
                );
            }
        }
        verdict.findings.push(f);
        verdict.blocked = blocks;
        blocks
    }

    /// Whether the request's body must be read and handed to [`Engine::inspect_body`], and how
    /// many bytes of it are worth reading. `None` when the body is not inspected here (no
    /// readable content type, payload detector off for this path, or an exempt client).
    pub fn body_plan(&self, req: &Request<'_>) -> Option<(BodyKind, usize)> {
        let kind = BodyKind::from_content_type(req.header("content-type")?)?;
        if self.actions[index(DetectorId::Payload)] == Action::Off || self.exempt_client(req) {
            return None;
        }
        let path = normalize_path(req.raw_path());
        if self
            .policy_for(req.method, &path)
            .disabled
            .contains(DetectorId::Payload)
        {
            return None;
        }
        Some((kind, self.payload.body_read_limit()))
    }

    /// Decides on a request body planned by [`Engine::body_plan`]. `body` may be cut at the
    /// planned limit; a body longer than the budget is answered 413, never passed unread.
    pub fn inspect_body(
        &self,
        req: &Request<'_>,
        kind: BodyKind,
        body: &[u8],
        now_ms: u64,
        store: &mut dyn Store,
    ) -> Verdict {
        let mut verdict = Verdict::default();
        if let Some(f) = self.payload.inspect_body(kind, body) {
            let path = normalize_path(req.raw_path());
            let ctx = Context {
                req,
                path: &path,
                now: now_ms / 1000,
                now_ms,
            };
            self.record(&mut verdict, f, &ctx, store);
        }
        verdict
    }
}

/// The limits of a `RATE_LIMIT` (path rule or route); absent fields inherit `AIWAF_RATE_*`.
/// A rule that raises `MAX` without a `FLOOD` keeps AIWAF's 2:1 flood ratio, never a flood
/// threshold below its own limit (AIWAF's manifest bug).
fn limits(
    s: &crate::bundle::Settings,
    rl: &crate::bundle::RateLimitRule,
    key: &str,
) -> Result<Limits, Error> {
    if rl.window == Some(0) {
        return Err(Error::invalid(
            format!("{key}.WINDOW"),
            "must be at least 1 second",
        ));
    }
    let max = rl.max.unwrap_or(s.rate_max);
    let flood = rl
        .flood
        .unwrap_or_else(|| s.rate_flood.max(max.saturating_mul(2)));
    if flood <= max {
        return Err(Error::invalid(
            format!("{key}.FLOOD"),
            format!("must be greater than MAX ({max})"),
        ));
    }
    Ok(Limits {
        window_ms: u64::from(rl.window.unwrap_or(s.rate_window)) * 1000,
        max,
        flood,
    })
}

/// Checks a method list: every entry an alphabetic token.
fn check_methods(methods: &[String], key: &str) -> Result<(), Error> {
    for (j, m) in methods.iter().enumerate() {
        if m.is_empty() || !m.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(Error::invalid(
                format!("{key}[{j}]"),
                format!("`{m}` is not an HTTP method"),
            ));
        }
    }
    Ok(())
}

/// Compiles the manifest routes' enforcement data (disable names, methods, rate limits).
fn compile_routes(bundle: &Bundle) -> Result<Vec<CompiledRoute>, Error> {
    use std::hash::Hasher as _;
    let mut out = Vec::with_capacity(bundle.routes.len());
    for (i, r) in bundle.routes.iter().enumerate() {
        let mut disabled = DetectorSet::EMPTY;
        for (j, name) in r.disable.iter().enumerate() {
            disabled = disabled.union(DetectorSet::from_disable_name(name).ok_or_else(|| {
                Error::invalid(
                    format!("routes[{i}].disable[{j}]"),
                    format!("unknown detector or middleware name `{name}`"),
                )
            })?);
        }
        check_methods(&r.methods, &format!("routes[{i}].methods"))?;
        let rate = match &r.rate_limit {
            Some(rl) => {
                let mut h = crate::text::Fnv::default();
                h.write(r.path.as_bytes());
                let scope = Scope::Endpoint((h.finish() & 0xFFFF) as u16);
                let key = format!("routes[{i}].rate_limit");
                Some((scope, limits(&bundle.settings, rl, &key)?))
            }
            None => None,
        };
        out.push(CompiledRoute {
            disabled,
            rate,
            methods: r.methods.iter().map(|m| m.to_ascii_uppercase()).collect(),
        });
    }
    Ok(out)
}

fn index(id: DetectorId) -> usize {
    id.index()
}

/// Static files by extension of the last segment or by conventional prefix.
fn is_static_asset(path: &str) -> bool {
    let last = path.rsplit('/').next().unwrap_or("");
    STATIC_SUFFIXES.iter().any(|s| last.ends_with(s))
        || STATIC_PREFIXES.iter().any(|p| path.starts_with(p))
}

#[cfg(test)]
pub(crate) mod testutil {
    //! Helpers to run one detector, or the whole engine, on a literal request.

    use super::*;

    /// A complete desktop-browser header set.
    pub(crate) const BROWSER: &[(&str, &str)] = &[
        ("user-agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"),
        ("accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
        ("accept-language", "en-US,en;q=0.9"),
        ("accept-encoding", "gzip, deflate, br"),
    ];

    /// The test clock: well after any `expires_at` used in tests below 1000.
    pub(crate) const NOW: u64 = 1_000;

    pub(crate) fn engine(bundle: &str) -> Engine {
        Engine::new(&Bundle::from_json(bundle.as_bytes()).unwrap(), NOW).unwrap()
    }

    pub(crate) fn headers(
        method: &str,
        target: &str,
        extra: &[(&str, &str)],
    ) -> Vec<(String, String)> {
        let mut h = vec![
            (":method".to_string(), method.to_string()),
            (":path".to_string(), target.to_string()),
        ];
        h.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        h
    }

    /// Runs only detector `id` on a browser GET of `target`.
    pub(crate) fn finding_for(id: DetectorId, bundle: &str, target: &str) -> Option<Finding> {
        let e = engine(bundle);
        let h = headers("GET", target, BROWSER);
        let req = Request::from_pseudo_headers(
            &h,
            Some("198.51.100.1".parse().unwrap()),
            Some("HTTP/1.1"),
        );
        run_one(&e, id, &req)
    }

    /// Runs only detector `id` on `method /` with the given headers.
    pub(crate) fn finding_with_headers(
        id: DetectorId,
        method: &str,
        extra: &[(&str, &str)],
    ) -> Option<Finding> {
        let e = engine("{}");
        let h = headers(method, "/", extra);
        let req = Request::from_pseudo_headers(
            &h,
            Some("198.51.100.1".parse().unwrap()),
            Some("HTTP/1.1"),
        );
        run_one(&e, id, &req)
    }

    fn run_one(e: &Engine, id: DetectorId, req: &Request<'_>) -> Option<Finding> {
        let path = normalize_path(req.raw_path());
        let ctx = Context {
            req,
            path: &path,
            now: NOW,
            now_ms: NOW * 1000,
        };
        match id {
            DetectorId::IpBlock => e.ip_block.inspect(&ctx),
            DetectorId::Geo => e.geo.as_ref().and_then(|g| g.inspect(&ctx)),
            DetectorId::RateLimit => {
                e.rate_limit
                    .inspect(&ctx, &mut crate::MemoryStore::new(0), None, false)
                    .0
            }
            DetectorId::Payload => e.payload.inspect(&ctx),
            DetectorId::Probe => e.probe.inspect(&ctx),
            DetectorId::Keyword => e.keyword.inspect(&ctx),
            DetectorId::Header => e.header.inspect(&ctx),
            DetectorId::Method => e.method.inspect(&ctx, &[]),
            DetectorId::Honeypot => e.honeypot.inspect(&ctx, &mut crate::MemoryStore::new(0)),
            DetectorId::UuidTamper => e.uuid.inspect(&ctx, &mut crate::MemoryStore::new(0)).0,
            DetectorId::NotFound | DetectorId::Anomaly => None,
        }
    }

    /// Runs only the method detector on `method path` of `bundle`.
    pub(crate) fn finding_with_method(bundle: &str, method: &str, path: &str) -> Option<Finding> {
        let e = engine(bundle);
        let h = headers(method, path, BROWSER);
        let req = Request::from_pseudo_headers(&h, Some("198.51.100.1".parse().unwrap()), None);
        run_one(&e, DetectorId::Method, &req)
    }
}

#[cfg(test)]
mod tests;
