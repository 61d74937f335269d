//! `not_found`: a client collecting 404s on non-exempt paths is probing.
//!
//! The seed trainer blocklists clients with 6 or more such 404s in its logs; here the same
//! rule runs live, over `AIWAF_WINDOW_SECONDS` (60, from the window's first 404) with
//! `AIWAF_NOT_FOUND_THRESHOLD` (6). Static assets and exempt paths do not count (a stale
//! cache asks for many missing assets).

use crate::bundle::Settings;
use crate::detect::{DetectorId, Finding};
use crate::engine::Context;
use crate::state::{self, Scope, Store};

/// The compiled probing policy.
#[derive(Debug)]
pub(crate) struct NotFound {
    window_s: u32,
    threshold: u32,
    slots: u32,
}

impl NotFound {
    pub(crate) fn new(s: &Settings) -> NotFound {
        NotFound {
            window_s: s.window_seconds,
            threshold: s.not_found_threshold,
            slots: s.state_slots,
        }
    }

    /// Response phase: counts a 404.
    pub(crate) fn inspect_response(
        &self,
        ctx: &Context<'_, '_>,
        store: &mut dyn Store,
        status: u16,
    ) -> Option<Finding> {
        if status != 404 {
            return None;
        }
        let client = ctx.req.client?;
        let now = u32::try_from(ctx.now).unwrap_or(u32::MAX);
        let updated = state::update(store, self.slots, client, Scope::Client, ctx.now_ms, |r| {
            if state::restart_window(&mut r.not_found_since, now, self.window_s) {
                r.not_found = 0;
            }
            r.not_found = r.not_found.saturating_add(1);
        });
        let count = u32::from(updated.record.not_found);
        (count >= self.threshold).then(|| {
            Finding::new(
                DetectorId::NotFound,
                "not_found_probing",
                format!("{count} 404s in {} s", self.window_s),
            )
        })
    }
}
