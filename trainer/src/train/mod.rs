//! `aiwaf train`: access logs in, a bundle out (the operator's policy plus what was learned).
//!
//! Glue: read the policy, stream the logs through [`learner::Learner`], print what was learned
//! and why, check the result with the filter's own loader, write it atomically. A bundle is
//! written only when training had enough data (`AIWAF_MIN_TRAIN_LOGS`), so a cron job that
//! reads an empty or broken log never replaces a good bundle with an emptier one.

mod keywords;
mod learner;
#[cfg(test)]
mod tests;

use std::io::{IsTerminal as _, Write as _};
use std::process::ExitCode;
use std::time::Instant;

use aiwaf_core::{Bundle, Engine};
use anyhow::{bail, Context as _, Result};

use crate::cli::TrainArgs;
use crate::push::write_atomically;
use aiwaf_logs::{expand_inputs, LogReader, ReadStats};
use learner::{Learned, Learner, ModelOutcome};

/// Slots of the trainer's state store: the most the schema allows, so clients of a large log
/// rarely share a slot (the store only allocates what is used).
const TRAINING_SLOTS: u32 = 1_048_576;

/// Runs the command.
pub fn run(args: &TrainArgs) -> Result<ExitCode> {
    let now = args.now.unwrap_or_else(crate::now);
    let mut policy = match &args.policy {
        Some(path) => {
            let bytes =
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            Bundle::from_json(&bytes)
                .with_context(|| format!("policy {} is refused", path.display()))?
        }
        None => Bundle::from_json(b"{}")?,
    };
    // The country table first: a policy that enables geo blocking is complete only with it.
    if let Some(db) = &args.geoip {
        policy.geoip = Some(crate::geoip::compile(db, &policy.settings)?);
    }
    if let Some(m) = &args.manifest {
        crate::manifest::apply(&mut policy, m)?;
    }
    Engine::new(&policy, now).context("the policy is refused")?;
    let s = &policy.settings;

    let mut replay = policy.clone();
    replay.learned = Default::default();
    replay.settings.state_slots = TRAINING_SLOTS;
    let engine = Engine::for_training(&replay, now)?;

    let files = expand_inputs(&args.logs)?;
    if files.is_empty() {
        bail!("no log files found in the given paths");
    }
    let mut learner = Learner::new(&engine, s, args.seed);
    let stats = read_into(&files, &mut learner)?;
    print_read(&stats);
    if stats.parsed < s.min_train_logs {
        bail!(
            "only {} parsed log lines; AIWAF_MIN_TRAIN_LOGS is {}: nothing learned, no bundle written",
            stats.parsed,
            s.min_train_logs
        );
    }
    let learned = learner.finish(s, stats.parsed, args.force_ai, now, args.seed);
    let bundle = merge(&policy, &learned, now);
    // Never write what the filter would refuse.
    Engine::new(&bundle, now).context("the trained bundle does not load (a bug: please report)")?;
    write_atomically(&args.out, bundle.to_json_pretty().as_bytes())?;
    print_learned(&learned, s);
    println!(
        "wrote {} ({} blocklist entries, {} learned keywords, model: {})",
        args.out.display(),
        bundle.blocklist.len(),
        bundle.learned.keywords.len(),
        if bundle.learned.model.is_some() {
            "yes"
        } else {
            "no"
        }
    );
    Ok(ExitCode::SUCCESS)
}

/// Records per batch handed from the reading thread to the learning one.
const BATCH: usize = 4096;

/// Reads and parses the logs on one thread while the learner works on the other: decompressing
/// and parsing cost about as much as learning, and a training host has cores to spare.
fn read_into(files: &[std::path::PathBuf], learner: &mut Learner<'_>) -> Result<ReadStats> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<aiwaf_core::AccessRecord>>(4);
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || {
            let mut batch = Vec::with_capacity(BATCH);
            let stats = LogReader::for_each(files, |rec| {
                batch.push(rec);
                if batch.len() == BATCH {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                    // A closed channel means the learner stopped; the rest is not needed.
                    let _ = tx.send(full);
                }
            });
            let _ = tx.send(batch);
            stats
        });
        let mut progress = Progress::new();
        for batch in rx {
            for rec in &batch {
                learner.add(rec);
            }
            progress.advance(batch.len() as u64);
        }
        progress.finish();
        reader
            .join()
            .map_err(|_| anyhow::anyhow!("the log reading thread failed"))?
    })
}

/// The policy plus what was learned, labelled `<policy version>+trained-<time>`. The policy's
/// `learned` section is replaced. Its blocklist
/// is kept, minus expired entries and minus earlier trained entries of clients blocked again
/// now (their expiry moves); a client the policy already lists is not listed twice.
fn merge(policy: &Bundle, learned: &Learned, now: u64) -> Bundle {
    let mut out = policy.clone();
    let relearned = |e: &aiwaf_core::BlockEntry| learned.blocks.iter().any(|b| b.ip == e.ip);
    out.blocklist.retain(|e| {
        e.expires_at.is_none_or(|t| t > now) && !(e.reason.starts_with("trained:") && relearned(e))
    });
    for b in &learned.blocks {
        if !out.blocklist.iter().any(|e| e.ip == b.ip) {
            out.blocklist.push(b.clone());
        }
    }
    out.learned.keywords = learned.keywords.iter().map(|(k, _)| k.clone()).collect();
    out.learned.model = learned.model.clone();
    // Every training gets its own label, so a block log line names the bundle that decided.
    out.version = Some(match &policy.version {
        Some(v) => format!("{v}+trained-{now}"),
        None => format!("trained-{now}"),
    });
    out
}

fn print_read(stats: &ReadStats) {
    println!(
        "read {} files: {} lines, {} parsed, {} skipped",
        stats.files, stats.lines, stats.parsed, stats.skipped
    );
    for (path, format) in &stats.formats {
        println!("  {}: {format:?}", path.display());
    }
    for bad in &stats.bad_samples {
        println!("  skipped {bad}");
    }
    for e in &stats.errors {
        println!("  error: {e}");
    }
}

fn print_learned(l: &Learned, s: &aiwaf_core::Settings) {
    println!(
        "clients: {} ({} observed requests: not static assets, exempt paths or exempt clients)",
        l.clients, l.observed
    );
    if l.clients_dropped > 0 {
        println!(
            "  {} requests of clients beyond the first {} were not aggregated",
            l.clients_dropped,
            learner::MAX_CLIENTS
        );
    }
    match &l.outcome {
        ModelOutcome::Trained { sampled, observed } => {
            let m = l.model.as_ref().map(|m| &m.forest);
            println!(
                "model: trained on {sampled} of {observed} observed requests, {} trees, threshold {:.3} (contamination {})",
                m.map_or(0, |f| f.trees.len()),
                m.map_or(0.0, |f| f.threshold),
                s.ai_contamination
            );
        }
        ModelOutcome::Disabled => println!("model: not trained (AIWAF_DISABLE_AI)"),
        ModelOutcome::TooFewLogs { parsed, needed } => println!(
            "model: not trained: {parsed} parsed lines < AIWAF_MIN_AI_LOGS {needed} (--force-ai trains anyway); keywords and 404 rules only"
        ),
        ModelOutcome::TooFewObserved(n) => {
            println!("model: not trained: only {n} observed requests")
        }
    }
    println!("blocklist: {} clients", l.blocks.len());
    for b in l.blocks.iter().take(20) {
        println!("  {:<39} {:<20} {}", b.ip.addr(), b.reason, b.evidence);
    }
    if l.blocks.len() > 20 {
        println!("  … and {} more (all in the bundle)", l.blocks.len() - 20);
    }
    if l.blocks_dropped > 0 {
        println!(
            "  {} further clients not listed (at most {} per training)",
            l.blocks_dropped,
            learner::MAX_LEARNED_BLOCKS
        );
    }
    println!(
        "keywords: {} learned (at least {} clients each, never in a successful request)",
        l.keywords.len(),
        s.keyword_min_clients
    );
    for (k, example) in &l.keywords {
        println!(
            "  {:<24} {} requests from {} clients, e.g. {example}",
            k.word, k.count, k.clients
        );
    }
    let mut shown = 0;
    for r in &l.rejected {
        if r.why != "too few clients" && shown < 10 {
            println!(
                "  not learned: {} ({}, {} clients)",
                r.word, r.why, r.clients
            );
            shown += 1;
        }
    }
    let few = l
        .rejected
        .iter()
        .filter(|r| r.why == "too few clients")
        .count();
    if few > 0 {
        println!(
            "  not learned: {few} words asked by fewer than {} clients",
            s.keyword_min_clients
        );
    }
    if l.keywords_dropped > 0 {
        println!(
            "  {} candidate occurrences dropped (candidate table full)",
            l.keywords_dropped
        );
    }
}

/// A line count on stderr while reading, when stderr is a terminal.
struct Progress {
    enabled: bool,
    records: u64,
    started: Instant,
}

impl Progress {
    fn new() -> Progress {
        Progress {
            enabled: std::io::stderr().is_terminal(),
            records: 0,
            started: Instant::now(),
        }
    }

    fn advance(&mut self, records: u64) {
        let before = self.records / 100_000;
        self.records += records;
        if self.enabled && self.records / 100_000 > before {
            let secs = self.started.elapsed().as_secs_f64().max(1e-3);
            let _ = write!(
                std::io::stderr(),
                "\r  {} records, {:.0} per second",
                self.records,
                self.records as f64 / secs
            );
        }
    }

    fn finish(&self) {
        if self.enabled && self.records >= 100_000 {
            let _ = writeln!(std::io::stderr());
        }
    }
}
