//! Sequential replay of the streams through one Envoy, counting what the filter blocked.
//!
//! Block rates are about correctness, not speed: requests go one at a time on fresh
//! connections through the harness's byte-exact client (floods excepted: their threads are
//! the point).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aiwaf_e2e::{Client, Response};
use serde_json::{json, Value};

use super::traffic::{Shot, Stream};

/// The statuses the filter answers with (reject, method, stale form, payload budget,
/// throttle). The demo backend answers only 200, 404 and 500, so a 404 is never a block.
const BLOCK_STATUSES: [u16; 5] = [403, 405, 409, 413, 429];

/// What happened to one request.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    /// An HTTP answer; `blocked_by` names the detector when the filter refused it.
    Answered {
        status: u16,
        blocked_by: Option<String>,
    },
    /// No HTTP answer (connection refused or reset, timeout).
    Failed(String),
}

/// The counts of one stream against one Envoy.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    pub sent: u64,
    pub blocked: u64,
    /// Requests without an HTTP answer: left out of the block rate.
    pub failed: u64,
    pub statuses: BTreeMap<u16, u64>,
    /// Blocks per detector (from the block response's body).
    pub detectors: BTreeMap<String, u64>,
    pub first_failure: Option<String>,
}

impl Tally {
    fn add(&mut self, outcome: Outcome) {
        self.sent += 1;
        match outcome {
            Outcome::Answered { status, blocked_by } => {
                *self.statuses.entry(status).or_default() += 1;
                if let Some(detector) = blocked_by {
                    self.blocked += 1;
                    *self.detectors.entry(detector).or_default() += 1;
                }
            }
            Outcome::Failed(why) => {
                self.failed += 1;
                self.first_failure.get_or_insert(why);
            }
        }
    }

    /// Adds another tally's counts (streams grouped in the report, flood threads).
    pub fn merge(&mut self, other: &Tally) {
        self.sent += other.sent;
        self.blocked += other.blocked;
        self.failed += other.failed;
        for (k, v) in &other.statuses {
            *self.statuses.entry(*k).or_default() += v;
        }
        for (k, v) in &other.detectors {
            *self.detectors.entry(k.clone()).or_default() += v;
        }
        if self.first_failure.is_none() {
            self.first_failure.clone_from(&other.first_failure);
        }
    }

    /// Blocked requests in percent of the answered ones.
    pub fn block_pct(&self) -> f64 {
        let answered = self.sent - self.failed;
        if answered == 0 {
            0.0
        } else {
            100.0 * self.blocked as f64 / answered as f64
        }
    }

    pub fn to_json(&self) -> Value {
        json!({
            "sent": self.sent,
            "blocked": self.blocked,
            "failed": self.failed,
            "block_pct": self.block_pct(),
            "statuses": self.statuses.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
            "blocked_by": self.detectors,
            "first_failure": self.first_failure,
        })
    }
}

/// The detector named in a block response: `{"detector": …}` for JSON clients,
/// `error: reason (detector)` otherwise; `unknown` when the body says neither (HEAD).
fn detector_of(resp: &Response) -> String {
    if let Some(d) = resp
        .json()
        .ok()
        .and_then(|v| v["detector"].as_str().map(String::from))
    {
        return d;
    }
    let text = resp.text();
    text.trim_end()
        .strip_suffix(')')
        .and_then(|t| t.rsplit_once('('))
        .map_or_else(|| "unknown".to_string(), |(_, d)| d.to_string())
}

/// A refusal by the filter: one of its statuses with the `cache-control: no-store` every
/// filter answer carries (Envoy's own 413 for an oversized body, say, has none).
fn filter_block(resp: &Response) -> Option<String> {
    let from_filter = resp
        .header("cache-control")
        .is_some_and(|v| v.eq_ignore_ascii_case("no-store"));
    (BLOCK_STATUSES.contains(&resp.status) && from_filter).then(|| detector_of(resp))
}

fn send(client: Client, shot: &Shot) -> Outcome {
    let mut req = client
        .request(&shot.method, &shot.target)
        .headers(shot.headers.iter().cloned())
        .xff(&shot.client);
    if let Some(body) = &shot.body {
        req = req.body(body.clone());
    }
    match req.send() {
        Ok(resp) => Outcome::Answered {
            status: resp.status,
            blocked_by: filter_block(&resp),
        },
        Err(e) => Outcome::Failed(format!("{e:#}")),
    }
}

/// Sends the shots `pick` selects, on the stream's threads.
fn send_stream(client: Client, stream: &Stream, pick: fn(&Shot) -> bool, tally: &mut Tally) {
    let shots: Vec<&Shot> = stream.shots.iter().filter(|s| pick(s)).collect();
    if stream.threads <= 1 {
        shots.into_iter().for_each(|s| tally.add(send(client, s)));
        return;
    }
    let chunk = shots.len().div_ceil(stream.threads).max(1);
    let parts: Vec<Tally> = std::thread::scope(|scope| {
        let handles: Vec<_> = shots
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    let mut t = Tally::default();
                    part.iter().for_each(|s| t.add(send(client, s)));
                    t
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a replay thread panicked"))
            .collect()
    });
    parts.iter().for_each(|p| tally.merge(p));
}

/// Replays every stream through `client` and returns a tally per stream name. Deferred shots
/// (form posts) go last, once `form_pause` has passed since the last page load.
pub fn replay(client: Client, streams: &[Stream], form_pause: Duration) -> BTreeMap<String, Tally> {
    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    let mut last_page_load = None;
    for stream in streams {
        let tally = tallies.entry(stream.name.clone()).or_default();
        send_stream(client, stream, |s| !s.deferred, tally);
        if stream.shots.iter().any(|s| s.deferred) {
            last_page_load = Some(Instant::now());
        }
    }
    if let Some(loaded) = last_page_load {
        std::thread::sleep(form_pause.saturating_sub(loaded.elapsed()));
        for stream in streams {
            let tally = tallies.entry(stream.name.clone()).or_default();
            send_stream(client, stream, |s| s.deferred, tally);
        }
    }
    tallies
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, headers: &[(&str, &str)], body: &str) -> Response {
        Response {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn only_the_filters_refusals_are_blocks() {
        let no_store = [("cache-control", "no-store")];
        let text = response(403, &no_store, "blocked: probe_path (probe)\n");
        assert_eq!(filter_block(&text).as_deref(), Some("probe"));
        let json = response(
            429,
            &no_store,
            r#"{"error":"too_many_requests","detector":"rate_limit","reason":"rate"}"#,
        );
        assert_eq!(filter_block(&json).as_deref(), Some("rate_limit"));
        assert_eq!(filter_block(&response(404, &no_store, "x")), None);
        assert_eq!(filter_block(&response(413, &[], "Payload Too Large")), None);
        assert_eq!(
            filter_block(&response(403, &no_store, "")).as_deref(),
            Some("unknown")
        );
    }

    #[test]
    fn tallies_rate_answered_requests_and_merge() {
        let mut t = Tally::default();
        t.add(Outcome::Answered {
            status: 403,
            blocked_by: Some("probe".into()),
        });
        t.add(Outcome::Answered {
            status: 200,
            blocked_by: None,
        });
        t.add(Outcome::Failed("reset".into()));
        assert_eq!((t.sent, t.blocked, t.failed), (3, 1, 1));
        assert_eq!(t.block_pct(), 50.0);
        let mut sum = t.clone();
        sum.merge(&t);
        assert_eq!(
            (sum.sent, sum.detectors["probe"], sum.statuses[&200]),
            (6, 2, 2)
        );
    }
}
