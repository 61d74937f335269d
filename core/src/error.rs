//! The one error type of the engine: a bundle that cannot be enforced as written.

use std::fmt;

/// Why a bundle was refused. The message always names the offending key, so an operator can fix
/// the bundle without reading code; the filter logs it and keeps the previous bundle in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
}

/// The kinds of refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The document is not JSON at all (or is truncated).
    Syntax(String),
    /// A key has an unknown name, a wrong type or an invalid value.
    Key {
        /// Dotted path of the key, e.g. `settings.AIWAF_RATE_MAX` or `blocklist[0].ip`.
        key: String,
        /// What is wrong with it.
        message: String,
    },
}

impl Error {
    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The dotted key the error is about, if it is about one.
    pub fn key(&self) -> Option<&str> {
        match &self.kind {
            ErrorKind::Key { key, .. } => Some(key),
            ErrorKind::Syntax(_) => None,
        }
    }

    pub(crate) fn syntax(message: impl Into<String>) -> Error {
        Error {
            kind: ErrorKind::Syntax(message.into()),
        }
    }

    pub(crate) fn invalid(key: impl Into<String>, message: impl Into<String>) -> Error {
        Error {
            kind: ErrorKind::Key {
                key: key.into(),
                message: message.into(),
            },
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::Syntax(m) => write!(f, "bundle is not valid JSON: {m}"),
            ErrorKind::Key { key, message } if key.is_empty() => write!(f, "bundle: {message}"),
            ErrorKind::Key { key, message } => write!(f, "bundle key `{key}`: {message}"),
        }
    }
}

impl std::error::Error for Error {}
