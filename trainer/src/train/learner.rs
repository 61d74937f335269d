//! One pass over the logs: per-client aggregates, a sample of feature vectors for the model,
//! keyword candidates; then what is learned from them.
//!
//! Every request goes through [`Engine::observe_record`], the code the filter runs on live
//! responses, so the model is fitted on exactly the vectors it will score. Memory is bounded
//! whatever the logs: at most [`MAX_CLIENTS`] clients are aggregated (the rest are counted),
//! [`RESERVOIR`] vectors are kept for fitting (a uniform reservoir sample), and each client
//! keeps at most [`EVIDENCE_PER_CLIENT`] of its most suspicious vectors for anomaly scoring.

use std::collections::HashMap;
use std::net::IpAddr;

use aiwaf_core::{
    AccessRecord, AnomalyModel, BlockEntry, Engine, Features, IpNet, IsolationForest, MemoryStore,
    Settings, FEATURES, FEATURE_NAMES,
};

use crate::forest_fit::{fit, FitParams};
use crate::rng::Rng;
use crate::train::keywords::KeywordLearner;

/// Clients aggregated; requests of further clients still shape nothing but are counted.
pub const MAX_CLIENTS: usize = 1_000_000;
/// Feature vectors kept for fitting and for the threshold.
pub const RESERVOIR: usize = 16_384;
/// Suspicious vectors kept per client for scoring once the model exists.
pub const EVIDENCE_PER_CLIENT: usize = 8;
/// Blocklist entries one training may add; the most 404-heavy and anomalous come first.
pub const MAX_LEARNED_BLOCKS: usize = 10_000;

/// What one client did.
#[derive(Debug, Default)]
struct Client {
    requests: u64,
    observed: u64,
    not_found: u64,
    max_window_not_found: u16,
    example: String,
    /// The most suspicious vectors (f32 holds these integral values exactly).
    evidence: Vec<[f32; FEATURES]>,
}

/// Why a model was or was not trained.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelOutcome {
    Trained { sampled: usize, observed: u64 },
    Disabled,
    TooFewLogs { parsed: u64, needed: u64 },
    TooFewObserved(u64),
}

/// The result of a training.
pub struct Learned {
    pub blocks: Vec<BlockEntry>,
    pub blocks_dropped: usize,
    pub keywords: Vec<(aiwaf_core::LearnedKeyword, String)>,
    pub rejected: Vec<crate::train::keywords::Rejected>,
    pub keywords_dropped: u64,
    pub model: Option<AnomalyModel>,
    pub outcome: ModelOutcome,
    pub clients: usize,
    pub clients_dropped: u64,
    pub observed: u64,
}

/// Accumulates the log pass.
pub struct Learner<'e> {
    engine: &'e Engine,
    store: MemoryStore,
    clients: HashMap<IpAddr, Client>,
    clients_dropped: u64,
    reservoir: Vec<[f32; FEATURES]>,
    observed: u64,
    rng: Rng,
    keywords: KeywordLearner,
    learn_keywords: bool,
}

impl<'e> Learner<'e> {
    /// `engine` must come from [`Engine::for_training`].
    pub fn new(engine: &'e Engine, settings: &Settings, seed: u64) -> Learner<'e> {
        Learner {
            engine,
            store: MemoryStore::new(seed),
            clients: HashMap::new(),
            clients_dropped: 0,
            reservoir: Vec::new(),
            observed: 0,
            rng: Rng(seed ^ 0x5EED),
            keywords: KeywordLearner::new(),
            learn_keywords: settings.enable_keyword_learning,
        }
    }

    /// Takes one record (in log order).
    pub fn add(&mut self, rec: &AccessRecord) {
        let (features, path) = self.engine.observe_record(rec, &mut self.store);
        if self.learn_keywords {
            let probing = features.is_some_and(|x| x.not_found() >= 2.0);
            self.keywords.add(
                self.engine,
                rec.client,
                &rec.method,
                &rec.target,
                &path,
                rec.status,
                probing,
            );
        }
        let full = self.clients.len() >= MAX_CLIENTS;
        let client = match self.clients.get_mut(&rec.client) {
            Some(c) => c,
            None if full => {
                self.clients_dropped += 1;
                return;
            }
            None => self.clients.entry(rec.client).or_default(),
        };
        client.requests += 1;
        let Some(x) = features else { return };
        let v = x.0.map(|f| f as f32);
        self.observed += 1;
        client.observed += 1;
        if rec.status == 404 {
            client.not_found += 1;
            if client.example.is_empty() {
                client.example = rec.target.chars().take(120).collect();
            }
        }
        client.max_window_not_found = client.max_window_not_found.max(x.not_found() as u16);
        if x.suspicious() {
            keep_most_suspicious(&mut client.evidence, v);
        }
        // Reservoir sampling (Algorithm R): every observed vector equally likely to be kept.
        if self.reservoir.len() < RESERVOIR {
            self.reservoir.push(v);
        } else {
            let j = self.rng.below(self.observed) as usize;
            if j < RESERVOIR {
                self.reservoir[j] = v;
            }
        }
    }

    /// Fits the model (when the gates allow) and decides blocks and keywords.
    pub fn finish(self, s: &Settings, parsed: u64, force_ai: bool, now: u64, seed: u64) -> Learned {
        let gate = force_ai || s.force_ai_training || parsed >= s.min_ai_logs;
        let (model, outcome) = if s.disable_ai {
            (None, ModelOutcome::Disabled)
        } else if !gate {
            (
                None,
                ModelOutcome::TooFewLogs {
                    parsed,
                    needed: s.min_ai_logs,
                },
            )
        } else {
            let points: Vec<Vec<f64>> = self
                .reservoir
                .iter()
                .map(|v| v.iter().map(|f| f64::from(*f)).collect())
                .collect();
            let params = FitParams {
                contamination: s.ai_contamination,
                seed,
                ..FitParams::default()
            };
            match fit(&points, FEATURES, &params) {
                Some(forest) => (
                    Some(AnomalyModel {
                        feature_names: FEATURE_NAMES.iter().map(|n| n.to_string()).collect(),
                        samples: points.len() as u64,
                        trained_at: now,
                        forest,
                    }),
                    ModelOutcome::Trained {
                        sampled: points.len(),
                        observed: self.observed,
                    },
                ),
                None => (None, ModelOutcome::TooFewObserved(self.observed)),
            }
        };
        let expires = now.saturating_add(s.trained_block_seconds);
        let mut blocks = self.blocks(s, model.as_ref().map(|m| &m.forest), expires);
        let blocks_dropped = blocks.len().saturating_sub(MAX_LEARNED_BLOCKS);
        blocks.truncate(MAX_LEARNED_BLOCKS);
        let (keywords, rejected) = if s.enable_keyword_learning {
            self.keywords.select(
                s.keyword_min_clients,
                s.dynamic_top_n,
                now.saturating_add(s.keyword_ttl_seconds),
            )
        } else {
            (Vec::new(), Vec::new())
        };
        Learned {
            blocks: blocks.into_iter().map(|(_, b)| b).collect(),
            blocks_dropped,
            keywords,
            rejected,
            keywords_dropped: self.keywords.dropped,
            model,
            outcome,
            clients: self.clients.len(),
            clients_dropped: self.clients_dropped,
            observed: self.observed,
        }
    }

    /// Clients to blocklist, most severe first: 404-heavy ones (the live `not_found` rule was
    /// met in some window, or most of the client's requests were non-exempt 404s, at least
    /// `AIWAF_NOT_FOUND_THRESHOLD` of them) and ones the model finds anomalous with evidence.
    fn blocks(
        &self,
        s: &Settings,
        forest: Option<&IsolationForest>,
        expires_at: u64,
    ) -> Vec<(u64, BlockEntry)> {
        let threshold = u64::from(s.not_found_threshold);
        let mut out = Vec::new();
        for (ip, c) in &self.clients {
            let windowed = u64::from(c.max_window_not_found) >= threshold;
            let mostly_404 = c.not_found >= threshold && c.not_found * 2 >= c.observed;
            let entry = |reason: &str, evidence: String| BlockEntry {
                ip: IpNet::from(*ip),
                reason: reason.to_string(),
                evidence,
                expires_at: Some(expires_at),
            };
            if windowed || mostly_404 {
                let evidence = format!(
                    "{} 404s of {} requests, up to {} in {} s; e.g. {}",
                    c.not_found, c.requests, c.max_window_not_found, s.window_seconds, c.example
                );
                out.push((c.not_found, entry("trained: 404-heavy", evidence)));
                continue;
            }
            let Some(forest) = forest else { continue };
            let worst = c
                .evidence
                .iter()
                .map(|v| {
                    let x = Features(v.map(f64::from));
                    (forest.score(&x.0), x)
                })
                .max_by(|a, b| a.0.total_cmp(&b.0));
            if let Some((score, x)) = worst.filter(|(score, _)| *score >= forest.threshold) {
                let v = x.0;
                let evidence = format!(
                    "score {score:.3} >= {:.3}: kw {}, 404s {}, errors {}, burst {}; {} requests",
                    forest.threshold, v[1], v[4], v[5], v[3], c.requests
                );
                out.push((c.not_found, entry("trained: anomaly", evidence)));
            }
        }
        out.sort_by(|a, b| {
            b.0.cmp(&a.0)
                .then_with(|| a.1.ip.addr().cmp(&b.1.ip.addr()))
        });
        out
    }
}

/// Keeps the `EVIDENCE_PER_CLIENT` vectors with the most evidence (keyword hits, 404s, errors).
fn keep_most_suspicious(kept: &mut Vec<[f32; FEATURES]>, v: [f32; FEATURES]) {
    let weight = |v: &[f32; FEATURES]| v[1] + v[4] + v[5];
    if kept.len() < EVIDENCE_PER_CLIENT {
        kept.push(v);
        return;
    }
    if let Some((i, least)) = kept
        .iter()
        .enumerate()
        .min_by(|a, b| weight(a.1).total_cmp(&weight(b.1)))
    {
        if weight(&v) > weight(least) {
            kept[i] = v;
        }
    }
}
