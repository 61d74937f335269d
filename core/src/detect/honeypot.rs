//! `honeypot`: forms posted faster than a person can fill them, or long after the page.
//!
//! AIWAF remembers each client's last GET and judges its next POST, per client: every office
//! behind one NAT shares one timer, and any GET (an image, an XHR) resets it. Here the timer
//! is per client *and route*, and only page loads start it (a GET whose `Accept` asks for
//! HTML): the POST to `/contact` is judged against the load of `/contact`. A POST without a
//! recorded page load passes (API clients, bookmarks), as in AIWAF.

use crate::bundle::Settings;
use crate::detect::{DetectorId, Finding};
use crate::engine::Context;
use crate::state::{self, Scope, Store};

/// Login forms are often filled by password managers in well under a second (AIWAF's rule).
const LOGIN_SEGMENTS: &[&str] = &["login", "signin", "sign-in", "log-in"];
const LOGIN_MIN_MS: u64 = 100;

/// The compiled timing policy.
#[derive(Debug)]
pub(crate) struct Honeypot {
    min_ms: u64,
    max_ms: u64,
    slots: u32,
}

impl Honeypot {
    pub(crate) fn new(s: &Settings) -> Honeypot {
        Honeypot {
            min_ms: (s.min_form_time * 1000.0) as u64,
            max_ms: (s.max_page_time * 1000.0) as u64,
            slots: s.state_slots,
        }
    }

    pub(crate) fn inspect(&self, ctx: &Context<'_, '_>, store: &mut dyn Store) -> Option<Finding> {
        let client = ctx.req.client?;
        let scope = Scope::Route(route_hash(&ctx.path.path));
        let method = ctx.req.method;
        if method.eq_ignore_ascii_case("GET") {
            let page = ctx
                .req
                .header("accept")
                .is_some_and(|a| a.contains("text/html"));
            if page {
                state::update(store, self.slots, client, scope, ctx.now_ms, |r| {
                    r.page_loaded = ctx.now_ms
                });
            }
            return None;
        }
        if !method.eq_ignore_ascii_case("POST") {
            return None;
        }
        let loaded = state::read(store, self.slots, client, scope)?.page_loaded;
        if loaded == 0 {
            return None;
        }
        let elapsed = ctx.now_ms.saturating_sub(loaded);
        let last = ctx.path.segments().last().unwrap_or("");
        let min = if LOGIN_SEGMENTS.contains(&last) {
            LOGIN_MIN_MS.min(self.min_ms)
        } else {
            self.min_ms
        };
        if elapsed < min {
            return Some(Finding::new(
                DetectorId::Honeypot,
                "form_too_fast",
                format!("posted {elapsed} ms after the page loaded (minimum {min} ms)"),
            ));
        }
        if elapsed > self.max_ms {
            // One 409 per stale page: the next POST has no page load and passes, as in AIWAF.
            state::update(store, self.slots, client, scope, ctx.now_ms, |r| {
                r.page_loaded = 0
            });
            return Some(Finding {
                status: 409,
                ..Finding::new(
                    DetectorId::Honeypot,
                    "page_expired",
                    format!("posted {} s after the page loaded", elapsed / 1000),
                )
            });
        }
        None
    }
}

/// 16 bits of the normalised path: routes of one client that collide share a timer, which
/// only makes the check more lenient.
fn route_hash(path: &str) -> u16 {
    use std::hash::Hasher;
    let mut h = crate::text::Fnv::default();
    h.write(path.as_bytes());
    let x = h.finish();
    (x ^ (x >> 16) ^ (x >> 32) ^ (x >> 48)) as u16
}
