//! `not_found`: a client collecting 404s on non-exempt paths is probing.
//!
//! The seed trainer blocklists clients with 6 or more such 404s in its logs; here the same
//! rule runs live, over `AIWAF_WINDOW_SECONDS` (60, from the window's first 404) with
//! `AIWAF_NOT_FOUND_THRESHOLD` (6). Static assets and exempt paths do not count (a stale
//! cache asks for many missing assets).

use crate::bundle::Settings;
use crate::detect::{DetectorId, Finding};

/// The compiled probing policy.
#[derive(Debug)]
pub(crate) struct NotFound {
    threshold: u32,
    window_s: u32,
}

impl NotFound {
    pub(crate) fn new(s: &Settings) -> NotFound {
        NotFound {
            threshold: s.not_found_threshold,
            window_s: s.window_seconds,
        }
    }

    /// Response phase: judges the client's 404 count in the window, this 404 included
    /// (counted by `Engine::observe`, which also feeds the anomaly features).
    pub(crate) fn judge(&self, count: u16) -> Option<Finding> {
        let count = u32::from(count);
        (count >= self.threshold).then(|| {
            Finding::new(
                DetectorId::NotFound,
                "not_found_probing",
                format!("{count} 404s in {} s", self.window_s),
            )
        })
    }
}
