//! The bundle: the whole policy the filter enforces, as one JSON document.
//!
//! `{}` is a valid bundle meaning "AIWAF defaults". Operators write `settings` with the flat
//! `AIWAF_*` keys they know from AIWAF; the trainer adds what it learned. Every key is checked:
//! an unknown key, a wrong type or an invalid address is an error naming the key, never a
//! silently weaker policy.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::detect::DetectorId;
use crate::error::Error;
use crate::forest::IsolationForest;
use crate::net::IpNet;

/// The bundle format this build reads and writes. Bumped on incompatible changes.
pub const SCHEMA_VERSION: u32 = 1;

/// The whole policy. See README "Bundle schema" for the documented form.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    /// Format version; absent means the current one.
    #[serde(default = "schema_version")]
    pub schema_version: u32,
    /// A label carried into every block log line, so an operator can tell which bundle decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// `enforce` (default) or `monitor`: a global dry run that logs what would be blocked.
    #[serde(default)]
    pub mode: Mode,
    /// AIWAF's flat settings plus `PATH_RULES`.
    #[serde(default)]
    pub settings: Settings,
    /// Per-detector action overrides, keyed by detector id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub detectors: BTreeMap<DetectorId, DetectorConfig>,
    /// Clients refused on every path, with reason and optional expiry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocklist: Vec<BlockEntry>,
    /// What the trainer learned from logs.
    #[serde(default, skip_serializing_if = "Learned::is_empty")]
    pub learned: Learned,
    /// Refused address ranges by country, compiled by `aiwaf bundle --geoip DB.mmdb` from the
    /// geo settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geoip: Option<GeoTable>,
    /// The application's routes, compiled from the route manifest (`--manifest`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<RouteRule>,
}

/// How a route's path matches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteMatch {
    /// The whole path, `{name}` matching one segment.
    #[default]
    Template,
    /// The path and everything below it.
    Prefix,
}

/// One route of the application behind the proxy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteRule {
    /// `/items/{id}`: literal segments and `{name}` parameters.
    pub path: String,
    /// `template` (default) or `prefix`.
    #[serde(rename = "match", default, skip_serializing_if = "is_template")]
    pub matching: RouteMatch,
    /// Methods the route accepts; empty: any (`HEAD` goes with `GET`, `OPTIONS` always passes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub methods: Vec<String>,
    /// The manifest's category (`static`, `admin`, `auth`, `api`, `upload`, `form`, `app`),
    /// shown in logs and summaries.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub category: String,
    /// Requests a client may make to this route per window (`PATH_RULES` `RATE_LIMIT` shape).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimitRule>,
    /// Detectors off on this route (`PATH_RULES` `DISABLE` names).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disable: Vec<String>,
}

fn is_template(m: &RouteMatch) -> bool {
    *m == RouteMatch::Template
}

/// The address ranges the geo policy refuses, with the lists they were compiled for.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeoTable {
    /// Where the ranges came from (database type and build date), for operators.
    #[serde(default)]
    pub source: String,
    /// `AIWAF_GEO_ALLOW_COUNTRIES` at compile time.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow: Vec<String>,
    /// `AIWAF_GEO_BLOCK_COUNTRIES` at compile time.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub block: Vec<String>,
    /// Country codes the ranges refer to, sorted.
    #[serde(default)]
    pub countries: Vec<String>,
    /// IPv4 ranges `[first, last, country index]` as integers, sorted, non-overlapping.
    #[serde(default)]
    pub v4: Vec<(u32, u32, u16)>,
    /// IPv6 ranges `[first, last, country index]`, addresses as text, sorted, non-overlapping.
    #[serde(default)]
    pub v6: Vec<(String, String, u16)>,
}

fn schema_version() -> u32 {
    SCHEMA_VERSION
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Global enforcement mode.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Block what the detectors reject.
    #[default]
    Enforce,
    /// Let everything through and log what would have been blocked.
    Monitor,
}

/// What a detector does with a finding.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Refuse this request only (the default: one odd request never locks a client out).
    #[default]
    Reject,
    /// Refuse this request and put the client on the dynamic blocklist (escalating durations,
    /// `AIWAF_BLOCKLIST_DURATIONS`); the default of `rate_limit`, whose flood finding asks for it.
    Blocklist,
    /// Log the finding and let the request pass.
    Monitor,
    /// Do not run the detector.
    Off,
}

/// Per-detector configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectorConfig {
    /// What the detector does with a finding.
    #[serde(default)]
    pub action: Action,
    /// Seconds a `blocklist` action blocks the client for; absent: the escalating
    /// `AIWAF_BLOCKLIST_DURATIONS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u32>,
}

/// A refused client or block of clients.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockEntry {
    /// Address or CIDR block (IPv4 or IPv6).
    pub ip: IpNet,
    /// Why, shown in the block log.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// What was seen (for trained entries: counts, score, an example path), for the operator.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub evidence: String,
    /// Unix time (seconds) after which the entry no longer applies; absent means permanent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
}

/// Learned data written by `aiwaf train`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Learned {
    /// Suspicious path words learned from probing traffic.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keywords: Vec<LearnedKeyword>,
    /// The anomaly model; absent: the `anomaly` detector does not run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<AnomalyModel>,
}

impl Learned {
    fn is_empty(&self) -> bool {
        self.keywords.is_empty() && self.model.is_none()
    }
}

/// An IsolationForest with what it was trained on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnomalyModel {
    /// Feature names in vector order; must equal this build's [`crate::FEATURE_NAMES`], so a
    /// model is never applied to features it was not trained on.
    pub feature_names: Vec<String>,
    /// Log records the model was fitted on (a sample of them when there were many).
    #[serde(default)]
    pub samples: u64,
    /// When it was trained, Unix seconds.
    #[serde(default)]
    pub trained_at: u64,
    /// The forest.
    pub forest: IsolationForest,
}

/// One learned keyword with its evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LearnedKeyword {
    /// The path segment word (lowercase).
    pub word: String,
    /// How many requests showed it.
    #[serde(default)]
    pub count: u64,
    /// How many distinct clients asked for it.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub clients: u32,
    /// Unix time (seconds) after which the keyword is dropped; absent means permanent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
}

/// `AIWAF_REQUIRED_HEADERS`: one list for every method, or a list per method with `DEFAULT`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RequiredHeaders {
    /// The same headers for every method.
    All(Vec<String>),
    /// Headers per method (`GET`, `POST`, …) with an optional `DEFAULT`.
    ByMethod(BTreeMap<String, Vec<String>>),
}

/// A per-prefix rule in AIWAF's `PATH_RULES` shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathRule {
    /// Path prefix, matched on segment boundaries of the normalised path.
    #[serde(rename = "PREFIX")]
    pub prefix: String,
    /// Detectors switched off under the prefix: AIWAF middleware names
    /// (`HeaderValidationMiddleware`, `header_validation`, …) or detector ids (`header`).
    #[serde(rename = "DISABLE", default, skip_serializing_if = "Vec::is_empty")]
    pub disable: Vec<String>,
    /// Rate limit override under the prefix.
    #[serde(
        rename = "RATE_LIMIT",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub rate_limit: Option<RateLimitRule>,
    /// Methods the routes under the prefix accept; others get 405 (`HEAD` goes with `GET`,
    /// `OPTIONS` is always accepted for CORS preflight). Absent: any method.
    #[serde(rename = "METHODS", default, skip_serializing_if = "Option::is_none")]
    pub methods: Option<Vec<String>>,
}

/// `PATH_RULES[].RATE_LIMIT`; absent fields inherit the global `AIWAF_RATE_*` values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitRule {
    /// Window in seconds.
    #[serde(rename = "WINDOW", default, skip_serializing_if = "Option::is_none")]
    pub window: Option<u32>,
    /// Requests allowed in the window before 429.
    #[serde(rename = "MAX", default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u32>,
    /// Requests in the window that get the client blocklisted.
    #[serde(rename = "FLOOD", default, skip_serializing_if = "Option::is_none")]
    pub flood: Option<u32>,
}

macro_rules! settings {
    ($( $(#[doc = $doc:literal])* $key:literal $field:ident : $ty:ty = $default:expr; )*) => {
        /// AIWAF's flat settings, with AIWAF's defaults (see README "Settings").
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields, default)]
        pub struct Settings {
            $( $(#[doc = $doc])* #[serde(rename = $key)] pub $field: $ty, )*
            /// Per-prefix rules (`PATH_RULES`, also accepted as `AIWAF_PATH_RULES`).
            #[serde(rename = "PATH_RULES", alias = "AIWAF_PATH_RULES")]
            pub path_rules: Vec<PathRule>,
        }

        impl Default for Settings {
            fn default() -> Settings {
                Settings { $( $field: $default, )* path_rules: Vec::new() }
            }
        }

        /// Every settings key this build accepts, for `aiwaf check` and documentation.
        pub const SETTINGS_KEYS: &[&str] = &[$( $key, )* "PATH_RULES"];
    };
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

settings! {
    /// Path prefixes exempt from the heuristic detectors (keywords, headers); payload and probe
    /// inspection still run there.
    "AIWAF_EXEMPT_PATHS" exempt_paths: Vec<String> = strings(&["/favicon.ico", "/robots.txt", "/static/", "/health/"]);
    /// Clients (addresses or CIDR blocks) that skip every detector.
    "AIWAF_EXEMPT_IPS" exempt_ips: Vec<IpNet> = Vec::new();
    /// Path words that are never treated as keywords.
    "AIWAF_ALLOWED_PATH_KEYWORDS" allowed_path_keywords: Vec<String> = strings(&["profile", "user", "account", "dashboard"]);
    /// Operational words never treated as keywords nor learned.
    "AIWAF_EXEMPT_KEYWORDS" exempt_keywords: Vec<String> = strings(&["api", "webhook", "health", "static", "media"]);
    /// Static suspicious keywords (AIWAF's runtime list).
    "AIWAF_MALICIOUS_KEYWORDS" malicious_keywords: Vec<String> = strings(&[".php", "xmlrpc", "wp-", ".env", ".git", ".bak", "shell", "filemanager"]);
    /// Script extensions whose presence in any path segment is a probe.
    "AIWAF_FILE_EXTENSIONS" file_extensions: Vec<String> = strings(&[".php", ".asp", ".jsp"]);
    /// Headers a request must carry; `null` means User-Agent and Accept.
    "AIWAF_REQUIRED_HEADERS" required_headers: Option<RequiredHeaders> = None;
    /// Minimum header quality score (0–10).
    "AIWAF_HEADER_QUALITY_MIN_SCORE" header_quality_min_score: u32 = 3;
    /// Cap on the total size of header names and values, bytes.
    "AIWAF_MAX_HEADER_BYTES" max_header_bytes: u32 = 32768;
    /// Cap on the number of headers.
    "AIWAF_MAX_HEADER_COUNT" max_header_count: u32 = 100;
    /// Cap on the User-Agent length, bytes.
    "AIWAF_MAX_USER_AGENT_LENGTH" max_user_agent_length: u32 = 500;
    /// Cap on the Accept length, bytes.
    "AIWAF_MAX_ACCEPT_LENGTH" max_accept_length: u32 = 4096;
    /// Budget for query and body inspection, bytes (1–1048576); more is answered 413.
    "AIWAF_PAYLOAD_MAX_BYTES" payload_max_bytes: u32 = 65536;
    /// Rate-limit window, seconds.
    "AIWAF_RATE_WINDOW" rate_window: u32 = 10;
    /// Requests per window before 429.
    "AIWAF_RATE_MAX" rate_max: u32 = 20;
    /// Requests per window that blocklist the client.
    "AIWAF_RATE_FLOOD" rate_flood: u32 = 40;
    /// Per-client state slots shared by all workers (1–1048576): the fixed memory bound of
    /// rate limiting and the dynamic blocklist, whatever the number of clients.
    "AIWAF_STATE_SLOTS" state_slots: u32 = 16384;
    /// Dynamic block durations in seconds for a client's 1st, 2nd, 3rd… block within 24 hours
    /// (AIWAF's reputation steps: 15 min, 1 h, 24 h).
    "AIWAF_BLOCKLIST_DURATIONS" blocklist_durations: Vec<u32> = vec![900, 3600, 86400];
    /// 404s on non-exempt paths within `AIWAF_WINDOW_SECONDS` that blocklist a client (the
    /// seed trainer's rule, applied live).
    "AIWAF_NOT_FOUND_THRESHOLD" not_found_threshold: u32 = 6;
    /// Behaviour window (anomaly features, 404 probing), seconds.
    "AIWAF_WINDOW_SECONDS" window_seconds: u32 = 60;
    /// Minimum seconds between a form's GET and its POST.
    "AIWAF_MIN_FORM_TIME" min_form_time: f64 = 1.0;
    /// Maximum seconds between a form's GET and its POST before 409.
    "AIWAF_MAX_PAGE_TIME" max_page_time: f64 = 240.0;
    /// UUID tamper scoring on or off.
    "AIWAF_UUID_SCORE_ENABLED" uuid_score_enabled: bool = true;
    /// UUID tamper window, seconds.
    "AIWAF_UUID_SCORE_WINDOW_SECONDS" uuid_score_window_seconds: u32 = 60;
    /// UUID tamper score that blocks.
    "AIWAF_UUID_SCORE_BLOCK_THRESHOLD" uuid_score_block_threshold: i32 = 5;
    /// Score added by a malformed UUID-like value.
    "AIWAF_UUID_SCORE_MALFORMED_WEIGHT" uuid_score_malformed_weight: i32 = 5;
    /// Score added by a valid UUID answered 404.
    "AIWAF_UUID_SCORE_NOT_FOUND_WEIGHT" uuid_score_not_found_weight: i32 = 1;
    /// Score removed by a successful UUID request.
    "AIWAF_UUID_SCORE_SUCCESS_DECAY" uuid_score_success_decay: i32 = 2;
    /// Turn the anomaly model off.
    "AIWAF_DISABLE_AI" disable_ai: bool = false;
    /// Parsed log lines needed before the model is trained.
    "AIWAF_MIN_AI_LOGS" min_ai_logs: u64 = 10000;
    /// Parsed log lines needed before anything is learned.
    "AIWAF_MIN_TRAIN_LOGS" min_train_logs: u64 = 50;
    /// Train the model below `AIWAF_MIN_AI_LOGS`.
    "AIWAF_FORCE_AI_TRAINING" force_ai_training: bool = false;
    /// Expected share of anomalies in training data.
    "AIWAF_AI_CONTAMINATION" ai_contamination: f64 = 0.05;
    /// How many learned keywords to keep.
    "AIWAF_DYNAMIC_TOP_N" dynamic_top_n: u32 = 10;
    /// Learn keywords during training.
    "AIWAF_ENABLE_KEYWORD_LEARNING" enable_keyword_learning: bool = true;
    /// Distinct clients that must ask for a word before it is learned (one client's 404 never
    /// teaches a keyword that then blocks everyone).
    "AIWAF_KEYWORD_MIN_CLIENTS" keyword_min_clients: u32 = 3;
    /// Seconds a learned keyword stays in force after training.
    "AIWAF_KEYWORD_TTL_SECONDS" keyword_ttl_seconds: u64 = 604_800;
    /// Seconds a client blocklisted by training stays blocked after training.
    "AIWAF_TRAINED_BLOCK_SECONDS" trained_block_seconds: u64 = 86_400;
    /// Refuse clients by country (needs the bundle's `geoip` table).
    "AIWAF_GEO_BLOCK_ENABLED" geo_block_enabled: bool = false;
    /// When non-empty, only these countries are allowed (unknown countries too).
    "AIWAF_GEO_ALLOW_COUNTRIES" geo_allow_countries: Vec<String> = Vec::new();
    /// Countries refused when there is no allow list.
    "AIWAF_GEO_BLOCK_COUNTRIES" geo_block_countries: Vec<String> = Vec::new();
}

impl Bundle {
    /// Parses and checks a bundle. This is the only loader: the filter, the CLI and the tests
    /// all go through it, so they can never disagree on what a bundle means.
    pub fn from_json(bytes: &[u8]) -> Result<Bundle, Error> {
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(Error::invalid(
                "",
                "a bundle is a JSON object (`{}` means AIWAF defaults)",
            ));
        }
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let bundle: Bundle = match serde_path_to_error::deserialize(&mut de) {
            Ok(b) => b,
            Err(e) => return Err(key_error(e)),
        };
        de.end().map_err(|e| Error::syntax(e.to_string()))?;
        if bundle.schema_version != SCHEMA_VERSION {
            return Err(Error::invalid(
                "schema_version",
                format!(
                    "version {} is not supported (this build reads {SCHEMA_VERSION})",
                    bundle.schema_version
                ),
            ));
        }
        Ok(bundle)
    }

    /// The canonical JSON form (what `aiwaf` writes).
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|_| String::from("{}"))
    }
}

fn key_error(e: serde_path_to_error::Error<serde_json::Error>) -> Error {
    let inner = e.inner();
    if inner.is_syntax() || inner.is_eof() {
        return Error::syntax(inner.to_string());
    }
    let mut key = e.path().to_string();
    if key == "." {
        key.clear();
    }
    let mut message = inner.to_string();
    // serde lists every accepted key after an unknown one; name the key instead of drowning it.
    if let Some(cut) = message.find(", expected one of") {
        message.truncate(cut);
    }
    if let Some(cut) = message.find(" at line ") {
        message.truncate(cut);
    }
    if message.starts_with("unknown field `") {
        // The path already ends with the unknown key's name.
        message = "unknown key".to_string();
    } else if let Some(rest) = message.strip_prefix("unknown variant `") {
        // An unknown map key such as a detector id shows as `?` in the path.
        if let (Some(name), true) = (rest.split('`').next(), key.ends_with('?')) {
            key = format!("{}{name}", &key[..key.len() - 1]);
            message = format!("unknown name `{name}`");
        }
    }
    Error::invalid(key, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(json: &str) -> Error {
        Bundle::from_json(json.as_bytes()).unwrap_err()
    }

    #[test]
    fn empty_bundle_means_aiwaf_defaults() {
        let b = Bundle::from_json(b"{}").unwrap();
        assert_eq!(
            b,
            Bundle {
                schema_version: 1,
                ..Bundle::default()
            }
        );
        let s = &b.settings;
        assert_eq!(s.rate_window, 10);
        assert_eq!(s.rate_max, 20);
        assert_eq!(s.rate_flood, 40);
        assert_eq!(s.header_quality_min_score, 3);
        assert_eq!(s.max_accept_length, 4096);
        assert_eq!(s.file_extensions, [".php", ".asp", ".jsp"]);
        assert_eq!(s.min_form_time, 1.0);
        assert_eq!(s.max_page_time, 240.0);
        assert_eq!(s.uuid_score_block_threshold, 5);
        assert_eq!(s.min_ai_logs, 10000);
        assert_eq!(s.min_train_logs, 50);
        assert_eq!(s.ai_contamination, 0.05);
        assert!(s.required_headers.is_none());
        assert_eq!(b.mode, Mode::Enforce);
    }

    #[test]
    fn accepts_seed_settings_and_path_rules() {
        let b = Bundle::from_json(
            br#"{"settings":{"AIWAF_RATE_MAX":5,"AIWAF_EXEMPT_IPS":["10.0.0.0/8","::1"],
                "AIWAF_REQUIRED_HEADERS":{"DEFAULT":["HTTP_USER_AGENT"],"POST":[]},
                "PATH_RULES":[{"PREFIX":"/api/webhooks/","DISABLE":["HeaderValidationMiddleware"],
                               "RATE_LIMIT":{"WINDOW":60,"MAX":2000}}]}}"#,
        )
        .unwrap();
        assert_eq!(b.settings.rate_max, 5);
        assert_eq!(b.settings.exempt_ips.len(), 2);
        assert_eq!(
            b.settings.path_rules[0].rate_limit.as_ref().unwrap().max,
            Some(2000)
        );
    }

    #[test]
    fn unknown_key_is_named() {
        let e = err(r#"{"settings":{"AIWAF_RATE_MAXX":1}}"#);
        assert_eq!(e.key(), Some("settings.AIWAF_RATE_MAXX"), "{e}");
        let e = err(r#"{"colour":1}"#);
        assert_eq!(e.key(), Some("colour"), "{e}");
        let e = err(r#"{"settings":{"PATH_RULES":[{"PREFIX":"/a","DISABEL":[]}]}}"#);
        assert_eq!(e.key(), Some("settings.PATH_RULES[0].DISABEL"), "{e}");
    }

    #[test]
    fn wrong_type_is_named() {
        let e = err(r#"{"settings":{"AIWAF_RATE_MAX":"x"}}"#);
        assert_eq!(e.key(), Some("settings.AIWAF_RATE_MAX"), "{e}");
        assert!(e.to_string().contains("invalid type"), "{e}");
        let e = err(r#"{"settings":{"AIWAF_RATE_MAX":-1}}"#);
        assert_eq!(e.key(), Some("settings.AIWAF_RATE_MAX"), "{e}");
        let e = err(r#"{"mode":"dry"}"#);
        assert_eq!(e.key(), Some("mode"), "{e}");
    }

    #[test]
    fn invalid_cidr_is_named() {
        let e = err(r#"{"blocklist":[{"ip":"10.0.0.0/33"}]}"#);
        assert_eq!(e.key(), Some("blocklist[0].ip"), "{e}");
        let e = err(r#"{"settings":{"AIWAF_EXEMPT_IPS":["1.2.3.4","nope"]}}"#);
        assert_eq!(e.key(), Some("settings.AIWAF_EXEMPT_IPS[1]"), "{e}");
    }

    #[test]
    fn unknown_detector_and_action_are_named() {
        let e = err(r#"{"detectors":{"magic":{"action":"monitor"}}}"#);
        assert_eq!(e.key(), Some("detectors.magic"), "{e}");
        assert!(e.to_string().contains("magic"), "{e}");
        let e = err(r#"{"detectors":{"header":{"action":"explode"}}}"#);
        assert_eq!(e.key(), Some("detectors.header.action"), "{e}");
    }

    #[test]
    fn syntax_errors_and_versions_are_refused() {
        assert!(matches!(
            err("{").kind(),
            crate::error::ErrorKind::Syntax(_)
        ));
        assert!(matches!(
            err("{} x").kind(),
            crate::error::ErrorKind::Syntax(_)
        ));
        assert_eq!(err("").key(), Some(""));
        assert_eq!(err(r#"{"schema_version":2}"#).key(), Some("schema_version"));
        assert_eq!(err("[]").key(), Some(""));
    }

    #[test]
    fn round_trips() {
        let b = Bundle::from_json(
            br#"{"version":"v7","blocklist":[{"ip":"203.0.113.0/24","reason":"scanner","expires_at":5}],
                 "learned":{"keywords":[{"word":"dumper","count":4}]}}"#,
        )
        .unwrap();
        let again = Bundle::from_json(b.to_json_pretty().as_bytes()).unwrap();
        assert_eq!(b, again);
    }
}
