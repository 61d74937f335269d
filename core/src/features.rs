//! The anomaly features: one definition for training (log records) and serving (live traffic).
//!
//! AIWAF computed its six features one way in the trainer and another in the middleware
//! (status index lists, keyword lists, burst windows, whole-log vs windowed 404 counts and
//! path-with-query vs path all differed), so the model scored something it was never trained
//! on. Here the filter and the trainer both call [`Engine::observe`](crate::Engine), which
//! updates the client's counters in the same per-client record and builds the vector below.
//!
//! | # | name | definition | change from AIWAF |
//! |---|---|---|---|
//! | 0 | `path_len` | bytes of the normalised path, no query, capped at 2048 | AIWAF's logs included the query, its middleware did not |
//! | 1 | `kw_hits` | path segments matching a static `AIWAF_MALICIOUS_KEYWORDS` word | same list in training and serving; whole segments, not substrings |
//! | 2 | `status_class` | status / 100 (2 for 204, 4 for 403) | AIWAF used an index into a status list (`-1` for a 401), a category the forest splits as a number |
//! | 3 | `burst` | the client's requests in the last 10 s, this one included | AIWAF's trainer counted this one, its middleware did not |
//! | 4 | `not_found` | the client's 404s in `AIWAF_WINDOW_SECONDS`, this one included | AIWAF's trainer counted 404s over the whole log, its middleware over 60 s |
//! | 5 | `errors` | the client's other 4xx/5xx answers in the same window | replaces AIWAF's response time, which most log formats lack (it was 0 in training, real when serving) and which measures the backend, not the client |
//!
//! Static-asset fetches and exempt paths are not observed (a page pulls dozens of assets), and
//! requests the filter refuses are observed with the status it answered, so a blocked
//! scanner's attempts still count, as they do in the proxy's access log.

use serde::Serialize;

/// Number of features.
pub const FEATURES: usize = 6;

/// Feature names in vector order; a model records them, and loading refuses a model trained
/// on other features.
pub const FEATURE_NAMES: [&str; FEATURES] = [
    "path_len",
    "kw_hits",
    "status_class",
    "burst",
    "not_found",
    "errors",
];

/// The burst window, milliseconds (AIWAF's 10 s).
pub(crate) const BURST_WINDOW_MS: u64 = 10_000;
/// Longest path length counted: longer paths are all equally odd.
pub(crate) const MAX_PATH_LEN: usize = 2048;

/// One observed request's feature vector.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Features(pub [f64; FEATURES]);

impl Features {
    /// Static keyword hits in the path.
    pub fn kw_hits(&self) -> f64 {
        self.0[1]
    }

    /// The client's 404s in the window.
    pub fn not_found(&self) -> f64 {
        self.0[4]
    }

    /// The client's other error answers in the window.
    pub fn errors(&self) -> f64 {
        self.0[5]
    }

    /// Evidence of probing, beyond volume and beyond refusals: a static keyword in the path,
    /// or five 404s in the window. An anomaly without it is never blocked: a busy polling UI is
    /// anomalous by volume alone (AIWAF issue #15), a shopper following a few dead links has
    /// a few 404s, and an API client refused for its user agent collects 403s that say
    /// nothing about intent (the sandbox showed such clients blocklisted, and the browsers
    /// sharing their address with them). Errors still shape the model's score.
    pub fn suspicious(&self) -> bool {
        self.kw_hits() >= 1.0 || self.not_found() >= 5.0
    }
}

/// What the request phase read from the client's record after counting the request, carried
/// to the response phase: a successful response then needs no second state write.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Snapshot {
    pub(crate) burst: u32,
    pub(crate) not_found: u16,
    pub(crate) errors: u16,
    /// Start of the behaviour window, Unix seconds (0: none open).
    pub(crate) since: u32,
}

/// The client's counters behind `burst`, `not_found` and `errors`, updated in its state
/// record (see `state::Record`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counters {
    /// Index of the current burst window (`now_ms / BURST_WINDOW_MS`).
    pub(crate) burst_window: u32,
    /// Requests in the current burst window.
    pub(crate) burst_current: u16,
    /// Requests in the previous burst window.
    pub(crate) burst_previous: u16,
}

impl Counters {
    /// Counts one request at `now_ms` and returns the sliding-window estimate of the requests
    /// in the last 10 s: this window's count plus the previous one's, weighted by overlap.
    pub(crate) fn count_burst(&mut self, now_ms: u64) -> u32 {
        let window = (now_ms / BURST_WINDOW_MS) as u32;
        if window > self.burst_window {
            self.burst_previous = if self.burst_window.wrapping_add(1) == window {
                self.burst_current
            } else {
                0
            };
            self.burst_current = 0;
            self.burst_window = window;
        }
        self.burst_current = self.burst_current.saturating_add(1);
        self.burst_estimate(now_ms)
    }

    fn burst_estimate(&self, now_ms: u64) -> u32 {
        let elapsed = now_ms % BURST_WINDOW_MS;
        let overlap = (BURST_WINDOW_MS - elapsed) * 1000 / BURST_WINDOW_MS;
        let previous = u64::from(self.burst_previous) * overlap / 1000;
        u32::from(self.burst_current) + previous as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_counts_this_request_and_slides() {
        let mut c = Counters::default();
        assert_eq!(c.count_burst(100_000), 1);
        assert_eq!(c.count_burst(100_500), 2);
        assert_eq!(c.count_burst(101_000), 3);
        // Next window, halfway: 1 here plus half of the previous 3.
        assert_eq!(c.count_burst(115_000), 2);
        // Two windows later nothing carries over.
        assert_eq!(c.count_burst(140_000), 1);
    }

    #[test]
    fn evidence_needs_keywords_or_errors_not_volume() {
        let burst_only = Features([12.0, 0.0, 2.0, 40.0, 0.0, 0.0]);
        assert!(!burst_only.suspicious());
        assert!(Features([12.0, 1.0, 4.0, 1.0, 1.0, 0.0]).suspicious());
        assert!(Features([12.0, 0.0, 4.0, 3.0, 5.0, 0.0]).suspicious());
        assert!(!Features([12.0, 0.0, 4.0, 3.0, 4.0, 0.0]).suspicious());
        // Refusals alone (an API client without browser headers) are no evidence.
        assert!(!Features([12.0, 0.0, 4.0, 3.0, 0.0, 30.0]).suspicious());
    }
}
