//! The manifest's types and its one serialisation.
//!
//! Output must be byte-identical for the same input (the file is reviewed in pull requests and
//! its hash identifies it), so nothing here depends on a map's iteration order or on the
//! clock: routes are a `BTreeMap`, every struct declares its fields in alphabetical order (so
//! serde writes sorted keys without relying on `serde_json`'s map features), and there is no
//! `generated_at`.

use std::collections::BTreeMap;
use std::fmt;

use anyhow::{bail, Result};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The only manifest schema version written and read.
pub const SCHEMA_VERSION: &str = "1.0";

/// Most routes in one manifest: a bound on what a generator may emit and a reader may load.
pub const MAX_ROUTES: usize = 100_000;

/// A route manifest: `.aiwaf/paths.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// Always [`SCHEMA_VERSION`].
    pub schema_version: String,
    /// What the routes were built from.
    pub source: Source,
    /// SHA-256 (lowercase hex) of the compact, key-sorted JSON of `{"routes", "source"}`: it
    /// identifies the routes independently of formatting, so a bundle can record which
    /// manifest it was compiled from. [`Manifest::to_json`] writes the hash of the current
    /// content, so editing `routes` in place cannot produce a stale one.
    pub context_hash: String,
    /// Route template → route, sorted.
    pub routes: BTreeMap<String, Route>,
}

/// Where a manifest's routes came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// An OpenAPI 3 document.
    Openapi,
    /// An Envoy route configuration (bootstrap or RDS).
    Envoy,
    /// Successful requests in access logs.
    Logs,
    /// Written by hand (accepted by [`Manifest::from_json`], never generated).
    Manual,
}

impl Source {
    /// The name written in the manifest.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Openapi => "openapi",
            Source::Envoy => "envoy",
            Source::Logs => "logs",
            Source::Manual => "manual",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One route. Fields are in alphabetical order: that is the order they are written in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Route {
    /// The route requires an authenticated client (OpenAPI `security`, `/admin`, or an
    /// account-area prefix such as `/account/`).
    pub auth_required: bool,
    /// What kind of route this is; it decides the protections.
    pub category: Category,
    /// How the key matches a request path; [`Match::Template`] (the default) is not written.
    #[serde(rename = "match", skip_serializing_if = "Match::is_template")]
    pub matching: Match,
    /// Accepted methods, upper case, sorted, without `HEAD` (implied by `GET`) and `OPTIONS`
    /// (always accepted). Empty means any method: the source did not say.
    pub methods: Vec<String>,
    /// Per-route protections, in AIWAF's middleware vocabulary.
    pub protections: Protections,
    /// What the route answers with.
    pub response_type: ResponseType,
}

/// How a route key matches request paths.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Match {
    /// The whole path, `{name}` matching one segment (or part of one).
    #[default]
    Template,
    /// Every path that starts with the key (Envoy `prefix`, `path_separated_prefix`).
    Prefix,
    /// The key is a regular expression (RE2 syntax, from Envoy `safe_regex`) over the whole
    /// path; such a route carries no methods.
    Regex,
}

impl Match {
    fn is_template(&self) -> bool {
        *self == Match::Template
    }
}

/// Route categories, as AIWAF's `classify_route` names them (except AIWAF's `unknown`: a
/// route that is nothing more specific is an `app` page here).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    /// Files served as they are (`/static/`, `/media/`, `/assets/`, static extensions).
    Static,
    /// Administration (`admin` path segments).
    Admin,
    /// Sign-in, tokens and passwords.
    Auth,
    /// Programmatic clients (`/api/`, JSON bodies).
    Api,
    /// File uploads (multipart bodies, `upload`/`uploads`/`files` segments).
    Upload,
    /// Browser forms (form bodies, or any other POST route).
    Form,
    /// Everything else: pages of the application.
    App,
}

impl Category {
    /// Every category, in a fixed order.
    pub const ALL: [Category; 7] = [
        Category::Static,
        Category::Admin,
        Category::Auth,
        Category::Api,
        Category::Upload,
        Category::Form,
        Category::App,
    ];

    /// The name written in the manifest.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Static => "static",
            Category::Admin => "admin",
            Category::Auth => "auth",
            Category::Api => "api",
            Category::Upload => "upload",
            Category::Form => "form",
            Category::App => "app",
        }
    }

    /// The category named `s`.
    pub fn parse(s: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a route answers with (from OpenAPI response media types, else from the category).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ResponseType {
    /// `text/html`: pages.
    Html,
    /// `application/json` and `+json` types.
    Json,
    /// XML types.
    Xml,
    /// Other `text/*` (CSS, JavaScript, plain text).
    Text,
    /// Images, fonts, archives, octet streams.
    Binary,
    /// Several of the above.
    Mixed,
}

impl ResponseType {
    /// Every response type, in a fixed order.
    pub const ALL: [ResponseType; 6] = [
        ResponseType::Html,
        ResponseType::Json,
        ResponseType::Xml,
        ResponseType::Text,
        ResponseType::Binary,
        ResponseType::Mixed,
    ];

    /// The name written in the manifest.
    pub fn as_str(self) -> &'static str {
        match self {
            ResponseType::Html => "html",
            ResponseType::Json => "json",
            ResponseType::Xml => "xml",
            ResponseType::Text => "text",
            ResponseType::Binary => "binary",
            ResponseType::Mixed => "mixed",
        }
    }

    /// The response type named `s`.
    pub fn parse(s: &str) -> Option<ResponseType> {
        ResponseType::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// Per-route protections, named as AIWAF's middlewares (`compile_manifest_to_path_rules`
/// turns `enabled: false` into `DISABLE` and `rate_limit` into `RATE_LIMIT`). All five are
/// always written, so a reader never has to know a default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Protections {
    /// Anomaly scoring (`AIAnomalyMiddleware`).
    pub ai_anomaly: Toggle,
    /// Header validation (`HeaderValidationMiddleware`): off where clients are not browsers.
    pub header_validation: Toggle,
    /// Form timing (`HoneypotTimingMiddleware`).
    pub honeypot: Toggle,
    /// Payload, probe and keyword checks (`IPAndKeywordBlockMiddleware`).
    pub ip_keyword_block: Toggle,
    /// The route's rate budget.
    pub rate_limit: RateLimit,
}

/// A protection switched on or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Toggle {
    /// Whether the protection runs on the route.
    pub enabled: bool,
}

/// At most `requests` per client in `window_seconds` on the route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RateLimit {
    /// Requests allowed per window.
    pub requests: u32,
    /// The window, seconds.
    pub window_seconds: u32,
}

#[derive(Serialize)]
struct HashInput<'a> {
    routes: &'a BTreeMap<String, Route>,
    source: Source,
}

#[derive(Serialize)]
struct Document<'a> {
    context_hash: &'a str,
    routes: &'a BTreeMap<String, Route>,
    schema_version: &'a str,
    source: Source,
}

impl Manifest {
    /// A manifest of `routes` from `source`, with its hash; more than [`MAX_ROUTES`] routes is
    /// an error (such a manifest is a sign of a wrong input, and would be slow to compile).
    pub fn new(source: Source, routes: BTreeMap<String, Route>) -> Result<Manifest> {
        if routes.len() > MAX_ROUTES {
            bail!(
                "{} routes, more than the {MAX_ROUTES} a manifest may hold",
                routes.len()
            );
        }
        let context_hash = context_hash(source, &routes);
        Ok(Manifest {
            schema_version: SCHEMA_VERSION.to_owned(),
            source,
            context_hash,
            routes,
        })
    }

    /// The manifest as written to `.aiwaf/paths.json`: pretty-printed (two-space indent),
    /// keys sorted, a trailing newline. The same manifest always gives the same bytes.
    pub fn to_json(&self) -> String {
        let hash = context_hash(self.source, &self.routes);
        let doc = Document {
            context_hash: &hash,
            routes: &self.routes,
            schema_version: &self.schema_version,
            source: self.source,
        };
        // Serialising plain structs, maps with string keys, strings, bools and integers to a
        // String cannot fail.
        let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Routes per category, every category listed (zeros included), in [`Category::ALL`] order.
    pub fn category_counts(&self) -> Vec<(Category, usize)> {
        Category::ALL
            .into_iter()
            .map(|c| (c, self.routes.values().filter(|r| r.category == c).count()))
            .collect()
    }
}

/// The hash of `{"routes": …, "source": …}` as compact JSON with sorted keys.
pub(crate) fn context_hash(source: Source, routes: &BTreeMap<String, Route>) -> String {
    let stable = serde_json::to_string(&HashInput { routes, source }).unwrap_or_default();
    let digest = Sha256::digest(stable.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
