//! Route manifest generation (`.aiwaf/paths.json`) from OpenAPI documents, Envoy route
//! configurations and observed traffic.
//!
//! Placeholder: the foundation only reserves the crate name; the manifest issue fills it.
#![forbid(unsafe_code)]
