//! Keyword learning: path words that scanners ask for and the site never serves.
//!
//! AIWAF learned every long segment of a 404 in a "malicious context", from a single request:
//! one 404 on `/admin/quarterly_reports` taught `quarterly_reports`, which then blocked every
//! client, and generic words (`index`, `vendor`) were learned. Here a word is learned only when
//! * it is the stem of a path segment (what the `keyword` detector matches) of a 4xx answer on
//!   a non-exempt path, in a malicious context: the target alone earns a payload, probe or
//!   keyword finding, or the client already has two 404s in its window;
//! * at least `AIWAF_KEYWORD_MIN_CLIENTS` distinct clients asked for it;
//! * it never appears in a successful (2xx/3xx) request's path, anywhere in the logs;
//! * it is not legitimate, allowed, exempt, generic, numeric-looking or already a keyword.
//!
//! The top `AIWAF_DYNAMIC_TOP_N` are chosen coverage first: words asked for in requests that
//! no static rule refuses (payload, probe, static keyword) rank before words whose every
//! request a static rule already refuses, then by distinct clients and requests. Otherwise
//! `backup_old` (of `/backup_old.zip`, a probe already) could take the slot of `boaform`.
//!
//! Memory is bounded: at most [`MAX_CANDIDATES`] candidate words, and successful words are
//! kept in a fixed-size Bloom filter, whose false positives only ever stop a word from being
//! learned (the safe direction).

use std::collections::HashMap;
use std::net::IpAddr;

use aiwaf_core::{Engine, LearnedKeyword, NormalizedPath};

/// Candidate words tracked; further new words are counted and dropped.
pub const MAX_CANDIDATES: usize = 100_000;
/// Distinct clients remembered per word (enough for any sane `AIWAF_KEYWORD_MIN_CLIENTS`).
const MAX_CLIENTS_PER_WORD: usize = 32;
/// Request lines whose static verdict is remembered; the cache starts over when full.
const VERDICT_CACHE: usize = 65_536;
/// Longer request lines are judged every time (they are rare, and would make the cache large).
const VERDICT_CACHE_KEY_MAX: usize = 256;
/// Bloom filter size: 2^25 bits (4 MiB), about 1% false positives at 3 million words.
const BLOOM_BITS: u32 = 25;

/// Words common to every web stack that scanners ask for but that name nothing malicious.
const GENERIC_WORDS: &[&str] = &[
    "index", "vendor", "util", "utils", "public", "default", "main", "assets", "includes",
    "include", "common", "core", "modules", "module", "plugins", "plugin", "themes", "theme",
    "scripts", "script", "temp", "html", "libs", "node", "apps", "lang", "images", "build", "dist",
    "source", "sources", "content", "wwwroot", "htdocs",
];

/// One candidate word's evidence.
#[derive(Debug, Default)]
struct Candidate {
    count: u64,
    /// Requests with this word that no static rule refused: what learning it would add.
    uncaught: u64,
    clients: Vec<IpAddr>,
    example: String,
}

/// A word that was not learned, and why (for the summary).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub word: String,
    pub clients: usize,
    pub why: &'static str,
}

/// Collects candidates and successful words during the log pass.
pub struct KeywordLearner {
    candidates: HashMap<String, Candidate>,
    success: Bloom,
    /// New candidate words dropped because the table was full.
    pub dropped: u64,
    /// Whether static rules refuse a request line (`METHOD target`): scanners send the same
    /// few hundred lines thousands of times, and judging one costs microseconds.
    verdicts: HashMap<String, bool>,
    key: String,
}

impl KeywordLearner {
    pub fn new() -> KeywordLearner {
        KeywordLearner {
            candidates: HashMap::new(),
            success: Bloom::new(BLOOM_BITS),
            dropped: 0,
            verdicts: HashMap::new(),
            key: String::new(),
        }
    }

    /// Looks at one logged request; `path` is its normalised path. `probing`: the client had
    /// at least two 404s in its window.
    #[allow(clippy::too_many_arguments)]
    pub fn add(
        &mut self,
        engine: &Engine,
        client: IpAddr,
        method: &str,
        target: &str,
        path: &NormalizedPath,
        status: u16,
        probing: bool,
    ) {
        let successful = (200..400).contains(&status);
        let client_error = (400..500).contains(&status);
        if !successful && !client_error {
            return;
        }
        if successful {
            for seg in path.segments() {
                self.success.insert(stem(seg));
            }
            return;
        }
        if engine.exempt_path(&path.path) {
            return;
        }
        let caught = self.refused_by_static_rules(engine, method, target, path);
        if !probing && !caught {
            return;
        }
        for seg in path.segments() {
            let word = stem(seg);
            if !shaped_like_a_keyword(word) || !engine.learnable_word(word) {
                continue;
            }
            let full = self.candidates.len() >= MAX_CANDIDATES;
            let c = match self.candidates.get_mut(word) {
                Some(c) => c,
                None if full => {
                    self.dropped += 1;
                    continue;
                }
                None => self.candidates.entry(word.to_string()).or_default(),
            };
            c.count += 1;
            c.uncaught += u64::from(!caught);
            if c.clients.len() < MAX_CLIENTS_PER_WORD && !c.clients.contains(&client) {
                c.clients.push(client);
            }
            if c.example.is_empty() {
                c.example = path.path.chars().take(120).collect();
            }
        }
    }

    /// True when the target alone earns a payload, probe or keyword finding (static keywords
    /// and those the policy already holds): learning a word from it would block nothing new.
    fn refused_by_static_rules(
        &mut self,
        engine: &Engine,
        method: &str,
        target: &str,
        path: &NormalizedPath,
    ) -> bool {
        if method.len() + target.len() >= VERDICT_CACHE_KEY_MAX {
            return engine.path_finding(method, target, path).is_some();
        }
        self.key.clear();
        self.key.push_str(method);
        self.key.push(' ');
        self.key.push_str(target);
        if let Some(&refused) = self.verdicts.get(self.key.as_str()) {
            return refused;
        }
        let refused = engine.path_finding(method, target, path).is_some();
        if self.verdicts.len() >= VERDICT_CACHE {
            self.verdicts.clear();
        }
        self.verdicts.insert(self.key.clone(), refused);
        refused
    }

    /// The learned keywords, best evidence first, and the candidates that were refused.
    pub fn select(
        &self,
        min_clients: u32,
        top_n: u32,
        expires_at: u64,
    ) -> (Vec<(LearnedKeyword, String)>, Vec<Rejected>) {
        let mut ranked: Vec<(&String, &Candidate)> = self.candidates.iter().collect();
        let key = |c: &Candidate| (c.uncaught > 0, c.clients.len(), c.count);
        ranked.sort_by(|a, b| (key(b.1), a.0).cmp(&(key(a.1), b.0)));
        let mut learned = Vec::new();
        let mut rejected = Vec::new();
        for (word, c) in ranked {
            let why = if GENERIC_WORDS.contains(&word.as_str()) {
                Some("generic word")
            } else if self.success.contains(word) {
                Some("also in successful requests")
            } else if (c.clients.len() as u32) < min_clients {
                Some("too few clients")
            } else if learned.len() as u32 >= top_n && c.uncaught == 0 {
                Some("beyond AIWAF_DYNAMIC_TOP_N; static rules already refuse its requests")
            } else if learned.len() as u32 >= top_n {
                Some("beyond AIWAF_DYNAMIC_TOP_N")
            } else {
                None
            };
            match why {
                Some(why) => rejected.push(Rejected {
                    word: word.clone(),
                    clients: c.clients.len(),
                    why,
                }),
                None => learned.push((
                    LearnedKeyword {
                        word: word.clone(),
                        count: c.count,
                        clients: c.clients.len() as u32,
                        expires_at: Some(expires_at),
                    },
                    c.example.clone(),
                )),
            }
        }
        (learned, rejected)
    }
}

/// The part of a segment the `keyword` detector matches as a word: before its first dot.
fn stem(seg: &str) -> &str {
    seg.split('.').next().unwrap_or(seg)
}

/// At least 4 characters of `[a-z0-9_-]`, starting with a letter, with at most two digits
/// (ids, hashes, dates and versions are not words).
fn shaped_like_a_keyword(w: &str) -> bool {
    let b = w.as_bytes();
    b.len() >= 4
        && b.len() <= 64
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_' || *c == b'-')
        && b.iter().filter(|c| c.is_ascii_digit()).count() <= 2
}

/// A Bloom filter of words (3 hash positions per word from one 64-bit FNV-1a hash).
struct Bloom {
    bits: Vec<u64>,
    mask: u64,
}

impl Bloom {
    fn new(log2_bits: u32) -> Bloom {
        Bloom {
            bits: vec![0; 1 << (log2_bits - 6)],
            mask: (1u64 << log2_bits) - 1,
        }
    }

    fn positions(&self, word: &str) -> [u64; 3] {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in word.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        let (a, b) = (h, h.rotate_left(32) | 1);
        [0u64, 1, 2].map(|i| a.wrapping_add(i.wrapping_mul(b)) & self.mask)
    }

    fn insert(&mut self, word: &str) {
        for p in self.positions(word) {
            self.bits[(p >> 6) as usize] |= 1 << (p & 63);
        }
    }

    fn contains(&self, word: &str) -> bool {
        self.positions(word)
            .iter()
            .all(|p| self.bits[(p >> 6) as usize] & (1 << (p & 63)) != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aiwaf_core::Bundle;

    fn engine() -> Engine {
        Engine::for_training(&Bundle::from_json(b"{}").unwrap(), 0).unwrap()
    }

    fn add(
        k: &mut KeywordLearner,
        e: &Engine,
        client: IpAddr,
        target: &str,
        status: u16,
        probing: bool,
    ) {
        let path = aiwaf_core::normalize_path(target.split('?').next().unwrap_or(target));
        k.add(e, client, "GET", target, &path, status, probing);
    }

    fn ip(n: u8) -> IpAddr {
        IpAddr::from([203, 0, 113, n])
    }

    #[test]
    fn needs_several_clients_and_never_a_served_word() {
        let e = engine();
        let mut k = KeywordLearner::new();
        // `dumper` from three scanners, in a malicious context (a .php probe).
        for n in 1..=3 {
            add(&mut k, &e, ip(n), "/dumper/x.php", 404, false);
        }
        // `quarterly_reports` from one client only (AIWAF learned it from one 404).
        add(&mut k, &e, ip(9), "/admin/quarterly_reports", 404, true);
        // `exports2` was asked by three probing clients but the site serves it.
        for n in 1..=3 {
            add(&mut k, &e, ip(n), "/exports2/shell.php", 404, false);
        }
        add(&mut k, &e, ip(50), "/exports2/today", 200, false);
        // `vendor` is generic; `index` too; `api` is exempt; numbers are not words.
        for n in 1..=3 {
            add(&mut k, &e, ip(n), "/vendor/index.php", 404, false);
            add(&mut k, &e, ip(n), "/api/v1/items/12345678", 404, true);
        }
        let (learned, rejected) = k.select(3, 10, 99);
        let words: Vec<&str> = learned.iter().map(|(k, _)| k.word.as_str()).collect();
        assert_eq!(words, ["dumper"]);
        assert_eq!(
            (
                learned[0].0.count,
                learned[0].0.clients,
                learned[0].0.expires_at
            ),
            (3, 3, Some(99))
        );
        let why = |w: &str| rejected.iter().find(|r| r.word == w).map(|r| r.why);
        assert_eq!(why("quarterly_reports"), Some("too few clients"));
        assert_eq!(why("exports2"), Some("also in successful requests"));
        assert_eq!(why("vendor"), Some("generic word"));
        assert_eq!(why("12345678"), None, "never a candidate");
        assert_eq!(why("items"), None, "a legitimate word is never a candidate");
    }

    #[test]
    fn only_malicious_context_4xx_counts() {
        let e = engine();
        let mut k = KeywordLearner::new();
        for n in 1..=5 {
            // A plain 404 from a client that is not probing: a dead link, not evidence.
            add(&mut k, &e, ip(n), "/winter-sale", 404, false);
            // A 500 is the site's fault, not the client's.
            add(&mut k, &e, ip(n), "/crashme/a.php", 500, true);
            add(&mut k, &e, ip(n), "/phpunit/eval-stdin.php", 403, false);
        }
        let (learned, _) = k.select(3, 10, 0);
        let words: Vec<&str> = learned.iter().map(|(k, _)| k.word.as_str()).collect();
        assert_eq!(words, ["eval-stdin", "phpunit"]);
    }

    #[test]
    fn the_candidate_table_is_bounded_and_top_n_applies() {
        let e = engine();
        let mut k = KeywordLearner::new();
        for n in 1..=3 {
            for w in ["alpha", "bravo", "charlie"] {
                add(&mut k, &e, ip(n), &format!("/{w}"), 404, true);
            }
        }
        for i in 0..(MAX_CANDIDATES - 3 + 10) {
            let word = format!("word{}", base26(i));
            add(&mut k, &e, ip(1), &format!("/{word}"), 404, true);
        }
        assert_eq!(k.candidates.len(), MAX_CANDIDATES);
        assert_eq!(k.dropped, 10);
        // Known words still count when the table is full.
        add(&mut k, &e, ip(4), "/charlie", 404, true);
        let (learned, rejected) = k.select(3, 2, 0);
        let words: Vec<&str> = learned.iter().map(|(k, _)| k.word.as_str()).collect();
        assert_eq!(words, ["charlie", "alpha"]);
        assert!(rejected
            .iter()
            .any(|r| r.word == "bravo" && r.why == "beyond AIWAF_DYNAMIC_TOP_N"));
    }

    #[test]
    fn words_that_add_coverage_rank_before_words_static_rules_already_refuse() {
        let e = engine();
        let mut k = KeywordLearner::new();
        // `backup_old.zip` is a probe already; `boaform` is refused by nothing static.
        for n in 1..=6 {
            add(&mut k, &e, ip(n), "/backup_old.zip", 404, true);
        }
        for n in 1..=3 {
            add(&mut k, &e, ip(n), "/boaform/x", 404, true);
        }
        let (learned, rejected) = k.select(3, 1, 0);
        let words: Vec<&str> = learned.iter().map(|(k, _)| k.word.as_str()).collect();
        assert_eq!(words, ["boaform"], "fewer clients, but it adds coverage");
        let why = |w: &str| rejected.iter().find(|r| r.word == w).map(|r| r.why);
        assert_eq!(
            why("backup_old"),
            Some("beyond AIWAF_DYNAMIC_TOP_N; static rules already refuse its requests")
        );
        assert_eq!(why("x"), None, "too short to be a word");
        // With room for both, both are learned.
        let (learned, _) = k.select(3, 2, 0);
        assert_eq!(learned.len(), 2);
    }

    fn base26(mut i: usize) -> String {
        let mut s = String::new();
        loop {
            s.push((b'a' + (i % 26) as u8) as char);
            i /= 26;
            if i == 0 {
                return s;
            }
        }
    }

    #[test]
    fn bloom_has_no_false_negatives() {
        let mut b = Bloom::new(16);
        for i in 0..1000 {
            b.insert(&format!("word{i}"));
        }
        assert!((0..1000).all(|i| b.contains(&format!("word{i}"))));
        let false_positives = (0..1000)
            .filter(|i| b.contains(&format!("other{i}")))
            .count();
        assert!(false_positives < 20, "{false_positives}");
    }
}
