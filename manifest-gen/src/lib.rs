//! Builds AIWAF's route manifest, `.aiwaf/paths.json`, from what a platform team has.
//!
//! AIWAF's `aiwaf init` imports the application and walks its URL map; a proxy cannot do that,
//! it does not have the application's code. This crate builds the same kind of manifest from
//! three sources a proxy operator does have:
//!
//! * [`from_openapi`]: an OpenAPI 3 document (JSON or YAML): methods, security requirements
//!   and media types, the most precise source;
//! * [`from_envoy_routes`]: an Envoy bootstrap, listener, route configuration or RDS
//!   discovery response: the routes the proxy itself knows;
//! * [`from_logs`]: access logs: the paths that were successfully requested, identifiers
//!   collapsed into `{id}`, `{uuid}`, `{hash}` and `{slug}` templates.
//!
//! Each route is then classified (static, admin, auth, api, upload, form, app) with AIWAF's
//! rules, which set its protections (rate limit, honeypot, header validation, anomaly
//! scoring); see the `classify` module's table. The output is deterministic: the same input
//! always gives byte-identical JSON ([`Manifest::to_json`]), so the file can be reviewed and
//! diffed. [`Manifest::from_json`] reads a manifest back and refuses anything it does not
//! understand, naming the key, because manifests are also written and edited by hand.
//!
//! This crate does not compile manifests into bundles; it only builds and checks them.
//!
//! ```
//! let doc = "openapi: 3.0.3\npaths:\n  /api/items/{id}:\n    get: {}\n";
//! let manifest = aiwaf_manifest_gen::from_openapi(doc)?;
//! let route = &manifest.routes["/api/items/{id}"];
//! assert_eq!(route.category.as_str(), "api");
//! assert_eq!(route.protections.rate_limit.requests, 120);
//! let again = aiwaf_manifest_gen::Manifest::from_json(&manifest.to_json())?;
//! assert_eq!(again, manifest);
//! # Ok::<(), anyhow::Error>(())
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod classify;
mod collapse;
mod envoy;
mod generate;
mod input;
mod manifest;
mod observed;
mod openapi;
mod template;
mod validate;

pub use crate::collapse::SLUG_MIN_DISTINCT;
pub use crate::envoy::from_envoy_routes;
pub use crate::generate::{generate, Input};
pub use crate::input::MAX_INPUT_BYTES;
pub use crate::manifest::{
    Category, Manifest, Match, Protections, RateLimit, ResponseType, Route, Source, Toggle,
    MAX_ROUTES, SCHEMA_VERSION,
};
pub use crate::observed::{from_logs, from_logs_with, LogOptions, LogSummary, MAX_TRACKED_PATHS};
pub use crate::openapi::from_openapi;
