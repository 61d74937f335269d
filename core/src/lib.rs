//! The aiwaf-proxy detection engine.
pub mod payload;
