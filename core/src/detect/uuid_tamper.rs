//! `uuid_tamper`: guessing object ids.
//!
//! Any UUID-shaped path segment or query value counts, not only AIWAF's `?uuid=`. A malformed
//! UUID-like value adds `AIWAF_UUID_SCORE_MALFORMED_WEIGHT` (5) at once; a valid UUID answered
//! 404 by the upstream adds `AIWAF_UUID_SCORE_NOT_FOUND_WEIGHT` (1), one answered < 400
//! removes `AIWAF_UUID_SCORE_SUCCESS_DECAY` (2), down to 0 (AIWAF let the score go negative,
//! so successes could be banked to buy guesses). Reaching `AIWAF_UUID_SCORE_BLOCK_THRESHOLD`
//! (5) within `AIWAF_UUID_SCORE_WINDOW_SECONDS` (60, counted from the window's first event)
//! refuses the request, or replaces the upstream's response when the 404 tips it over.

use crate::bundle::Settings;
use crate::detect::{DetectorId, Finding};
use crate::engine::Context;
use crate::state::{self, Record, Scope, Store};

/// The compiled scoring policy.
#[derive(Debug)]
pub(crate) struct UuidTamper {
    window_s: u32,
    threshold: i32,
    malformed: i32,
    not_found: i32,
    success: i32,
    slots: u32,
}

/// What the request carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Uuids {
    None,
    Valid,
    Malformed,
}

impl UuidTamper {
    pub(crate) fn new(s: &Settings) -> UuidTamper {
        UuidTamper {
            window_s: s.uuid_score_window_seconds,
            threshold: s.uuid_score_block_threshold,
            malformed: s.uuid_score_malformed_weight,
            not_found: s.uuid_score_not_found_weight,
            success: s.uuid_score_success_decay,
            slots: s.state_slots,
        }
    }

    /// Request phase: scores malformed UUIDs; tells whether the response must be scored.
    pub(crate) fn inspect(
        &self,
        ctx: &Context<'_, '_>,
        store: &mut dyn Store,
    ) -> (Option<Finding>, bool) {
        match scan(ctx) {
            Uuids::None => (None, false),
            Uuids::Valid => (None, true),
            Uuids::Malformed => (
                self.add(ctx, store, self.malformed, "malformed UUID"),
                false,
            ),
        }
    }

    /// Response phase for a request that carried a valid UUID.
    pub(crate) fn inspect_response(
        &self,
        ctx: &Context<'_, '_>,
        store: &mut dyn Store,
        status: u16,
    ) -> Option<Finding> {
        match status {
            404 => self.add(ctx, store, self.not_found, "UUID answered 404"),
            0..=399 => {
                self.add(ctx, store, -self.success, "");
                None
            }
            _ => None,
        }
    }

    fn add(
        &self,
        ctx: &Context<'_, '_>,
        store: &mut dyn Store,
        points: i32,
        why: &str,
    ) -> Option<Finding> {
        let client = ctx.req.client?;
        let now = u32::try_from(ctx.now).unwrap_or(u32::MAX);
        let updated = state::update(
            store,
            self.slots,
            client,
            Scope::Client,
            ctx.now_ms,
            |r: &mut Record| {
                if state::restart_window(&mut r.uuid_since, now, self.window_s) {
                    r.uuid_score = 0;
                }
                // Floor 0: successes cannot be banked to buy guesses later in the window.
                let score = (i32::from(r.uuid_score) + points).clamp(0, 1000);
                r.uuid_score = score as i16;
            },
        );
        let score = i32::from(updated.record.uuid_score);
        (points > 0 && score >= self.threshold).then(|| {
            Finding::new(
                DetectorId::UuidTamper,
                "uuid_tamper",
                format!(
                    "{why}: score {score} >= {} in {} s",
                    self.threshold, self.window_s
                ),
            )
        })
    }
}

/// Whether `t` looks like a UUID someone typed or generated: 30–42 characters of letters,
/// digits and 3–5 dashes, mostly hex.
fn uuid_like(t: &str) -> bool {
    let b = t.as_bytes();
    if !(30..=42).contains(&b.len()) || !b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-') {
        return false;
    }
    let dashes = b.iter().filter(|c| **c == b'-').count();
    let hex = b.iter().filter(|c| c.is_ascii_hexdigit()).count();
    (3..=5).contains(&dashes) && hex + dashes + 3 >= b.len()
}

/// The canonical 8-4-4-4-12 hex form (any case).
fn valid_uuid(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

fn classify(value: &str, named_uuid: bool) -> Uuids {
    if valid_uuid(value) {
        Uuids::Valid
    } else if uuid_like(value) || (named_uuid && !value.is_empty()) {
        Uuids::Malformed
    } else {
        Uuids::None
    }
}

fn scan(ctx: &Context<'_, '_>) -> Uuids {
    let mut seen = Uuids::None;
    let mut note = |u: Uuids| {
        if u == Uuids::Malformed || seen == Uuids::None {
            seen = u;
        }
    };
    for seg in ctx.path.segments() {
        note(classify(seg, false));
    }
    let query = ctx.req.raw_query();
    if !query.is_empty() {
        for pair in query.split('&') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = crate::payload::decode::decode_component(value, true);
            let key = crate::payload::decode::decode_component(key, true)
                .text
                .to_ascii_lowercase();
            let named = key.contains("uuid") || key.contains("guid");
            note(classify(value.text.trim(), named));
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::{uuid_like, valid_uuid};

    #[test]
    fn shapes() {
        assert!(valid_uuid("123e4567-e89b-12d3-a456-426614174000"));
        assert!(valid_uuid("123E4567-E89B-12D3-A456-426614174000"));
        assert!(!valid_uuid("123e4567-e89b-12d3-a456-42661417400z"));
        assert!(uuid_like("123e4567-e89b-12d3-a456-42661417400z"));
        assert!(uuid_like("123e4567-e89b-12d3-a456-4266141740"));
        assert!(uuid_like("123e4567e89b-12d3-a456-426614174000"));
        assert!(!uuid_like("running-shoes-for-women-size-42-blue"));
        assert!(!uuid_like("42"));
        assert!(!uuid_like("2026-11-25"));
    }
}
