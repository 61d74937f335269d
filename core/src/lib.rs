//! The aiwaf-proxy detection engine: bundle schema, request view, detectors and verdicts.
//!
//! This crate is compiled into both the Envoy filter (wasm32-wasip1) and the `aiwaf` CLI, so
//! what is enforced and what is explained or trained can never disagree. It is a pure
//! function of its inputs: no file or network I/O, no clock, no randomness, no environment,
//! no proxy-wasm. The caller supplies the time.
//!
//! ```
//! use aiwaf_core::{Engine, Request};
//!
//! let engine = Engine::from_json(br#"{"blocklist":[{"ip":"203.0.113.0/24","reason":"scanner"}]}"#)?;
//! let headers = vec![(":method".to_string(), "GET".to_string()), (":path".to_string(), "/.env".to_string())];
//! let req = Request::from_pseudo_headers(&headers, Some("198.51.100.7".parse()?), None);
//! let verdict = engine.inspect(&req, 1_700_000_000_000, &mut aiwaf_core::MemoryStore::new(0));
//! assert_eq!(verdict.blocking().map(|f| f.detector.as_str()), Some("probe"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod bundle;
mod detect;
mod engine;
mod error;
mod features;
mod forest;
mod net;
mod normalize;
pub mod payload;
mod record;
mod request;
mod routes;
mod state;
mod text;
mod verdict;

pub use crate::bundle::{
    Action, AnomalyModel, BlockEntry, Bundle, DetectorConfig, GeoTable, Learned, LearnedKeyword,
    Mode, PathRule, RateLimitRule, RequiredHeaders, RouteMatch, RouteRule, Settings,
    SCHEMA_VERSION, SETTINGS_KEYS,
};
pub use crate::detect::geo::normalize_countries;
pub use crate::detect::payload::BodyKind;
pub use crate::detect::{DetectorId, DetectorSet, Finding, REGISTRY};
pub use crate::engine::Engine;
pub use crate::error::{Error, ErrorKind};
pub use crate::features::{Features, FEATURES, FEATURE_NAMES};
pub use crate::forest::{average_path_length, IsolationForest, Tree};
pub use crate::net::{IpNet, IpSet};
pub use crate::normalize::{normalize_path, NormalizedPath};
pub use crate::record::AccessRecord;
pub use crate::request::Request;
pub use crate::state::{MemoryStore, Store};
pub use crate::verdict::{block_response, log_line, BlockResponse, ResponseCheck, Verdict};
