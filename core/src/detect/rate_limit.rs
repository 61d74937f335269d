//! `rate_limit`: requests per client in a sliding window, shared by all workers.
//!
//! AIWAF's limits (`AIWAF_RATE_WINDOW` 10 s, `AIWAF_RATE_MAX` 20 → 429, `AIWAF_RATE_FLOOD` 40 →
//! blocklist), keyed by the client across all paths (AIWAF keyed by client and path, so a
//! scanner spreading over paths was never limited). A `PATH_RULES` `RATE_LIMIT` counts the
//! client's requests under its prefix separately, with its own limits.
//!
//! The window is a sliding-window counter: this window's count plus the previous window's,
//! weighted by how much of it still overlaps. Two counters per client instead of a timestamp
//! per request keep the record fixed-size whatever `FLOOD` is.

use crate::bundle::Settings;
use crate::detect::{DetectorId, Finding};
use crate::engine::Context;
use crate::features::Snapshot;
use crate::state::{self, Scope, Store};

/// Limits for one scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    pub(crate) window_ms: u64,
    pub(crate) max: u32,
    pub(crate) flood: u32,
}

/// The compiled rate policy.
#[derive(Debug)]
pub(crate) struct RateLimit {
    global: Limits,
    slots: u32,
}

impl RateLimit {
    pub(crate) fn new(s: &Settings) -> RateLimit {
        RateLimit {
            global: Limits {
                window_ms: u64::from(s.rate_window) * 1000,
                max: s.rate_max,
                flood: s.rate_flood,
            },
            slots: s.state_slots,
        }
    }

    pub(crate) fn global(&self) -> Limits {
        self.global
    }

    /// Counts this request and judges the client's rate. `rule` is the scope and limits of the
    /// matching path rule or manifest route with its own rate limit. With `behaviour`, the
    /// request is also counted toward the anomaly features in the same write (client scope
    /// only), and the snapshot is returned.
    pub(crate) fn inspect(
        &self,
        ctx: &Context<'_, '_>,
        store: &mut dyn Store,
        rule: Option<(Scope, Limits)>,
        behaviour: bool,
    ) -> (Option<Finding>, bool, Option<Snapshot>) {
        let Some(client) = ctx.req.client else {
            return (None, false, None);
        };
        let behaviour = behaviour && rule.is_none();
        let mut snapshot = None;
        let (scope, limits) = match rule {
            Some((scope, l)) => (scope, l),
            None => (Scope::Client, self.global),
        };
        let now = ctx.now_ms;
        let window = (now / limits.window_ms) as u32;
        let updated = state::update(store, self.slots, client, scope, now, |r| {
            // Only a later window rolls the counters: a worker whose clock is a few ms behind
            // another's counts into the current window instead of wiping it.
            if window > r.window {
                r.previous = if r.window.wrapping_add(1) == window {
                    r.current
                } else {
                    0
                };
                r.current = 0;
                r.window = window;
            }
            r.current = r.current.saturating_add(1);
            if behaviour {
                snapshot = Some(r.count_request(now));
            }
        });
        let r = updated.record;
        let elapsed = now % limits.window_ms;
        // Share of the previous window still inside the sliding window, in per-mille.
        let overlap = (limits.window_ms - elapsed) * 1000 / limits.window_ms;
        // Rounded up: a burst just across the boundary lies wholly inside the sliding window,
        // and rounding down would let its last request through uncounted.
        let estimate = u64::from(r.current) + (u64::from(r.previous) * overlap).div_ceil(1000);
        let retry_after = ((limits.window_ms - elapsed).div_ceil(1000)).max(1) as u32;
        let finding = if estimate > u64::from(limits.flood) {
            Some(Finding {
                escalate: true,
                ..Finding::new(
                    DetectorId::RateLimit,
                    "flood",
                    format!("{estimate} requests in {} s", limits.window_ms / 1000),
                )
            })
        } else if estimate > u64::from(limits.max) {
            Some(Finding {
                status: 429,
                retry_after: Some(retry_after),
                ..Finding::new(
                    DetectorId::RateLimit,
                    "too_many_requests",
                    format!(
                        "{estimate} requests in {} s (max {})",
                        limits.window_ms / 1000,
                        limits.max
                    ),
                )
            })
        } else {
            None
        };
        (finding, updated.evicted, snapshot)
    }
}
