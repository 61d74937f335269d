//! Routes from observed traffic: access logs, for applications with neither an OpenAPI
//! document nor meaningful proxy routes (one `prefix: /` to the backend).
//!
//! Only successful requests (2xx and 3xx) are evidence of a route: a path that only ever got
//! 4xx/5xx is a scanner's probe or a dead link, and must never become a route. A successful
//! request whose path the filter would refuse by default (a payload, probe or keyword finding
//! of `aiwaf-core`, e.g. `/.env` answered 200 by a single-page app's fallback), or that is not
//! a plain origin-form path (absolute URLs, `*`, `..` segments, NUL or overlong encodings), is
//! counted and left out too. `OPTIONS` requests (CORS preflights, answered for any path) are
//! no evidence; `HEAD` counts as `GET`.
//!
//! Identifiers are collapsed while reading, per segment (an extension is kept:
//! `42.json` → `{id}.json`): digits → `{id}`, UUIDs → `{uuid}`, hex strings of 16 or more
//! characters with a digit → `{hash}`. Slugs need the whole picture and are collapsed at the
//! end (see [`crate::collapse`]). Case is kept (paths are case-sensitive to most backends);
//! query strings are dropped; characters outside RFC 3986 `pchar` are percent-encoded.
//!
//! Memory is bounded: at most [`LogOptions::max_paths`] distinct paths are tracked. When the
//! table is full, slug positions are collapsed early to make room; when that frees less than
//! half of it, further new paths are counted in [`LogSummary::overflow_records`] and dropped.

use std::collections::HashMap;
use std::path::PathBuf;

use aiwaf_core::{normalize_path, AccessRecord, Engine};
use aiwaf_logs::{LogReader, ReadStats};
use anyhow::{anyhow, bail, Context as _, Result};

use crate::classify::{classify, Facts};
use crate::collapse::{PathStats, Trie};
use crate::manifest::{Manifest, Source, MAX_ROUTES};
use crate::template::{encode_literal, listed_method, MAX_TEMPLATE_LEN};

/// Default cap on distinct paths tracked while reading.
pub const MAX_TRACKED_PATHS: usize = 200_000;

/// Tunables of [`from_logs_with`].
#[derive(Debug, Clone)]
pub struct LogOptions {
    /// Most distinct paths tracked at once (the memory bound); at least 2.
    pub max_paths: usize,
}

impl Default for LogOptions {
    fn default() -> Self {
        LogOptions {
            max_paths: MAX_TRACKED_PATHS,
        }
    }
}

/// What reading the logs did, for the operator: why the routes are what they are.
#[derive(Debug, Clone, Default)]
pub struct LogSummary {
    /// The log readers' own counts (files, lines, unparseable lines, file errors, formats).
    pub read: ReadStats,
    /// Successful (2xx/3xx) requests that count as route evidence.
    pub successes: u64,
    /// Requests answered with any other status (never evidence of a route).
    pub failures_ignored: u64,
    /// `OPTIONS` requests (CORS preflights), not evidence of a route.
    pub preflights_ignored: u64,
    /// Successful requests whose path the filter refuses by default (payload, probe, keyword).
    pub rejected_suspicious: u64,
    /// Successful requests whose target is not a plain path, or whose method is not a token.
    pub rejected_unusable: u64,
    /// Successful requests dropped because the path table was full.
    pub overflow_records: u64,
    /// Times the path table was compacted (slugs collapsed early) because it was full.
    pub compactions: u32,
    /// Distinct paths tracked when reading ended (identifiers collapsed).
    pub distinct_paths: usize,
    /// Routes in the manifest.
    pub routes: usize,
}

/// Builds a manifest from access logs (files, directories, globs; gzip and rotated sets as
/// `aiwaf train` reads them), with the default [`LogOptions`].
pub fn from_logs(paths: &[PathBuf]) -> Result<(Manifest, LogSummary)> {
    from_logs_with(paths, &LogOptions::default())
}

/// [`from_logs`] with explicit options.
pub fn from_logs_with(paths: &[PathBuf], options: &LogOptions) -> Result<(Manifest, LogSummary)> {
    let files = aiwaf_logs::expand_inputs(paths)?;
    let engine = Engine::from_json(b"{}").map_err(|e| anyhow!("default engine: {e}"))?;
    let mut tracker = Tracker::new(options.max_paths.max(2), engine);
    let read = LogReader::for_each(&files, |rec| tracker.record(&rec))?;
    let Tracker {
        table, mut summary, ..
    } = tracker;
    summary.read = read;
    summary.distinct_paths = table.len();
    let mut trie = Trie::default();
    for (path, stats) in table {
        trie.insert(&path, stats);
    }
    trie.collapse();
    let mut routes = std::collections::BTreeMap::new();
    for (template, stats) in trie.routes() {
        let facts = Facts {
            methods: stats.methods.into_iter().collect(),
            ..Facts::default()
        };
        let route = classify(&template, &facts);
        routes.insert(template, route);
    }
    summary.routes = routes.len();
    if routes.len() > MAX_ROUTES {
        bail!(
            "access logs: {} routes, more than the {MAX_ROUTES} a manifest may hold: {} successful requests \
             to {} distinct paths ({} more not counted, the path table was full) did not collapse into templates",
            routes.len(),
            summary.successes,
            summary.distinct_paths,
            summary.overflow_records
        );
    }
    let manifest = Manifest::new(Source::Logs, routes).context("access logs")?;
    Ok((manifest, summary))
}

struct Tracker {
    table: HashMap<String, PathStats>,
    max: usize,
    /// False once a compaction freed less than half the table (no more compactions).
    can_compact: bool,
    engine: Engine,
    summary: LogSummary,
}

impl Tracker {
    fn new(max: usize, engine: Engine) -> Tracker {
        Tracker {
            table: HashMap::new(),
            max,
            can_compact: true,
            engine,
            summary: LogSummary::default(),
        }
    }

    fn record(&mut self, rec: &AccessRecord) {
        if !(200..400).contains(&rec.status) {
            self.summary.failures_ignored += 1;
            return;
        }
        if rec.method.eq_ignore_ascii_case("OPTIONS") {
            self.summary.preflights_ignored += 1;
            return;
        }
        let method = if rec.method.eq_ignore_ascii_case("HEAD") {
            Some("GET".to_owned())
        } else {
            listed_method(&rec.method)
        };
        let (Some(method), Some(key)) = (method, template_of(&rec.target)) else {
            self.summary.rejected_unusable += 1;
            return;
        };
        if let Some(stats) = self.table.get_mut(&key) {
            self.summary.successes += 1;
            stats.add(method, 1);
            return;
        }
        let raw_path = rec.target.split(['?', '#']).next().unwrap_or("");
        let normal = normalize_path(raw_path);
        if normal.dot_dot || normal.nul_byte || normal.overlong {
            self.summary.rejected_unusable += 1;
            return;
        }
        if self
            .engine
            .path_finding(&rec.method, &rec.target, &normal)
            .is_some()
        {
            self.summary.rejected_suspicious += 1;
            return;
        }
        if self.table.len() >= self.max && !self.compact() {
            self.summary.overflow_records += 1;
            return;
        }
        self.summary.successes += 1;
        self.table.entry(key).or_default().add(method, 1);
    }

    /// Collapses slugs in the table to make room; false when it cannot (any more).
    fn compact(&mut self) -> bool {
        if !self.can_compact {
            return false;
        }
        self.summary.compactions += 1;
        let mut trie = Trie::default();
        for (path, stats) in self.table.drain() {
            trie.insert(&path, stats);
        }
        trie.collapse();
        self.table = trie.routes().into_iter().collect();
        if self.table.len() > self.max / 2 {
            self.can_compact = false;
        }
        self.table.len() < self.max
    }
}

/// The tracked key of a request target: the path (no query or fragment), `//` collapsed,
/// identifiers replaced, other text percent-encoded; `None` for a target that is not an
/// origin-form path or has a `.`/`..` segment (the backend sees another path).
fn template_of(target: &str) -> Option<String> {
    let path = target.split(['?', '#']).next().unwrap_or("");
    if !path.starts_with('/') || path.len() > MAX_TEMPLATE_LEN {
        return None;
    }
    let mut out = String::with_capacity(path.len());
    let segments: Vec<&str> = path[1..].split('/').collect();
    let last = segments.len() - 1;
    for (i, seg) in segments.iter().enumerate() {
        if seg.is_empty() && i != last {
            continue;
        }
        if *seg == "." || *seg == ".." {
            return None;
        }
        out.push('/');
        match placeholder(seg) {
            Some(p) => out.push_str(&p),
            None => out.push_str(&encode_literal(seg)),
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    (out.len() <= MAX_TEMPLATE_LEN).then_some(out)
}

/// `{id}`, `{uuid}` or `{hash}` for an identifier segment, extension kept (`42.json` →
/// `{id}.json`).
fn placeholder(seg: &str) -> Option<String> {
    let (stem, ext) = match seg.split_once('.') {
        Some((stem, ext)) if !ext.is_empty() && ext.bytes().all(|b| b.is_ascii_alphanumeric()) => {
            (stem, Some(ext))
        }
        _ => (seg, None),
    };
    let name = identifier_kind(stem)?;
    Some(match ext {
        Some(ext) => format!("{{{name}}}.{ext}"),
        None => format!("{{{name}}}"),
    })
}

fn identifier_kind(s: &str) -> Option<&'static str> {
    let b = s.as_bytes();
    if b.is_empty() {
        None
    } else if b.iter().all(u8::is_ascii_digit) {
        Some("id")
    } else if is_uuid(b) {
        Some("uuid")
    } else if b.len() >= 16
        && b.iter().all(u8::is_ascii_hexdigit)
        && b.iter().any(u8::is_ascii_digit)
    {
        Some("hash")
    } else {
        None
    }
}

/// `8-4-4-4-12` hex digits.
fn is_uuid(b: &[u8]) -> bool {
    b.len() == 36
        && b.iter().enumerate().all(|(i, &c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_become_placeholders() {
        assert_eq!(
            template_of("/products/123?x=1").as_deref(),
            Some("/products/{id}")
        );
        assert_eq!(
            template_of("/items/3f2b8c1e-9a4d-4e7b-8c2f-1a2b3c4d5e6f/edit").as_deref(),
            Some("/items/{uuid}/edit")
        );
        assert_eq!(
            template_of("/dl/9e107d9d372bb6826bd81d3542a419d6").as_deref(),
            Some("/dl/{hash}")
        );
        assert_eq!(
            template_of("/api/orders/42.json").as_deref(),
            Some("/api/orders/{id}.json")
        );
        assert_eq!(
            template_of("/CamelCase/Page").as_deref(),
            Some("/CamelCase/Page")
        );
        assert_eq!(template_of("//a//b/").as_deref(), Some("/a/b/"));
        assert_eq!(template_of("/").as_deref(), Some("/"));
        assert_eq!(template_of("/a b/{x}").as_deref(), Some("/a%20b/%7Bx%7D"));
        // Short or letter-only hex is a word, not a hash.
        assert_eq!(template_of("/deadbeef").as_deref(), Some("/deadbeef"));
        assert_eq!(
            template_of("/facadefacadefacade").as_deref(),
            Some("/facadefacadefacade")
        );
        assert_eq!(template_of("/a/./b"), None);
        assert_eq!(template_of("/a/../b"), None);
        assert_eq!(template_of("*"), None);
        assert_eq!(template_of("http://example.com/"), None);
    }
}
