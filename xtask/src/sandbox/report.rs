//! Medians over the iterations, the JSON result files and the table on stdout.
//!
//! Every figure is a median over the iterations (each with fresh Envoys). A ratio is the
//! median of the iterations' own protected / direct ratios: both sides of an iteration ran
//! interleaved on the same machine state, so the pair is the fair comparison. Targets are printed next to the figures, never
//! enforced: this is a benchmark, timings vary with the machine.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::{json, Map, Value};

use super::load::LoadResult;
use super::replay::Tally;
use super::traffic::{
    BENIGN_API, BENIGN_BROWSER, CORPUS_ATTACK, CORPUS_BENIGN, FLOODS, INJECTIONS, PROBES, SCANNERS,
};

/// Protected throughput should stay at or above this share of direct (issue 7).
pub const TARGET_THROUGHPUT_RATIO: f64 = 0.65;
/// The two benign streams together.
const BENIGN: &str = "benign";
/// Corpus categories shown on stdout (most attacks let through first); all are in the JSON.
const WORST_CORPUS_SHOWN: usize = 5;

/// One Envoy's results in one iteration.
#[derive(Debug, Clone)]
pub struct SideRun {
    pub load: LoadResult,
    pub streams: BTreeMap<String, Tally>,
}

/// Both Envoys' results in one iteration.
#[derive(Debug, Clone)]
pub struct Iteration {
    pub direct: SideRun,
    pub protected: SideRun,
}

/// What the run was (machine, inputs, settings): copied into every file.
#[derive(Debug, Clone)]
pub struct RunInfo {
    pub timestamp: String,
    pub machine: Value,
    pub inputs: Value,
    /// Expected protected block rate of the flood stream: what exceeds `AIWAF_RATE_MAX`.
    pub flood_target_pct: f64,
}

/// The median (the mean of the middle two for an even count; 0 for none).
pub fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

fn ratio(protected: f64, direct: f64) -> f64 {
    if direct > 0.0 {
        protected / direct
    } else {
        0.0
    }
}

/// Protected / direct of the load figures, median over the iterations' paired ratios.
#[derive(Debug, Clone, Copy, Default)]
struct Ratios {
    rps: f64,
    p50: f64,
    p95: f64,
    p99: f64,
}

impl Ratios {
    fn paired(iterations: &[Iteration]) -> Ratios {
        let med = |f: fn(&LoadResult) -> f64| {
            median(
                iterations
                    .iter()
                    .map(|it| ratio(f(&it.protected.load), f(&it.direct.load)))
                    .collect(),
            )
        };
        Ratios {
            rps: med(|l| l.rps),
            p50: med(|l| l.p50_ms),
            p95: med(|l| l.p95_ms),
            p99: med(|l| l.p99_ms),
        }
    }
}

/// The streams plus the groups the report is about: all benign requests, and all corpus
/// requests per label.
fn grouped(streams: &BTreeMap<String, Tally>) -> BTreeMap<String, Tally> {
    let mut out = streams.clone();
    for (name, tally) in streams {
        let group = if name == BENIGN_BROWSER || name == BENIGN_API {
            BENIGN
        } else if name.starts_with(&format!("{CORPUS_BENIGN}:")) {
            CORPUS_BENIGN
        } else if name.starts_with(&format!("{CORPUS_ATTACK}:")) {
            CORPUS_ATTACK
        } else {
            continue;
        };
        out.entry(group.to_string()).or_default().merge(tally);
    }
    out
}

/// Medians of one Envoy's figures over the iterations.
#[derive(Debug, Clone, Default)]
struct SideMedians {
    rps: f64,
    p50: f64,
    p95: f64,
    p99: f64,
    non_2xx_3xx: f64,
    block_pct: BTreeMap<String, f64>,
    /// Requests per stream and blocks per detector, summed over the iterations.
    totals: BTreeMap<String, Tally>,
}

fn side_medians(runs: &[&SideRun]) -> SideMedians {
    let load = |f: fn(&LoadResult) -> f64| median(runs.iter().map(|r| f(&r.load)).collect());
    let groups: Vec<BTreeMap<String, Tally>> = runs.iter().map(|r| grouped(&r.streams)).collect();
    let mut totals: BTreeMap<String, Tally> = BTreeMap::new();
    for g in &groups {
        for (name, t) in g {
            totals.entry(name.clone()).or_default().merge(t);
        }
    }
    let block_pct = totals
        .keys()
        .map(|name| {
            let rates = groups
                .iter()
                .map(|g| g.get(name).map_or(0.0, Tally::block_pct))
                .collect();
            (name.clone(), median(rates))
        })
        .collect();
    SideMedians {
        rps: load(|l| l.rps),
        p50: load(|l| l.p50_ms),
        p95: load(|l| l.p95_ms),
        p99: load(|l| l.p99_ms),
        non_2xx_3xx: load(|l| l.non_2xx_3xx as f64),
        block_pct,
        totals,
    }
}

/// The protected block rate each reported group should reach.
fn target_pct(name: &str, info: &RunInfo) -> f64 {
    let benign =
        [BENIGN, BENIGN_BROWSER, BENIGN_API].contains(&name) || name.starts_with(CORPUS_BENIGN);
    match name {
        _ if benign => 0.0,
        FLOODS => info.flood_target_pct,
        _ => 100.0,
    }
}

fn side_json(side: &str, info: &RunInfo, runs: &[&SideRun], m: &SideMedians) -> Value {
    let iterations: Vec<Value> = runs
        .iter()
        .map(|r| {
            let streams: Map<String, Value> = grouped(&r.streams)
                .iter()
                .map(|(k, t)| (k.clone(), t.to_json()))
                .collect();
            json!({"load": r.load.to_json(), "streams": streams})
        })
        .collect();
    json!({
        "envoy": side,
        "timestamp": info.timestamp,
        "iterations": runs.len(),
        "median": {
            "requests_per_second": m.rps,
            "latency_ms": {"p50": m.p50, "p95": m.p95, "p99": m.p99},
            "non_2xx_3xx_under_load": m.non_2xx_3xx,
            "block_pct": m.block_pct,
        },
        "runs": iterations,
        "machine": info.machine,
        "inputs": info.inputs,
    })
}

fn comparison_json(
    info: &RunInfo,
    iterations: &[Iteration],
    (d, p): (&SideMedians, &SideMedians),
    r: Ratios,
) -> Value {
    let per_iteration: Vec<f64> = iterations
        .iter()
        .map(|it| ratio(it.protected.load.rps, it.direct.load.rps))
        .collect();
    let latency = |dv: f64, pv: f64, r: f64| json!({"direct": dv, "protected": pv, "ratio": r});
    let blocks: Map<String, Value> = p
        .block_pct
        .iter()
        .map(|(name, pct)| {
            let t = &p.totals[name];
            let entry = json!({
                "direct": d.block_pct.get(name).copied().unwrap_or(0.0),
                "protected": pct,
                "target": target_pct(name, info),
                "requests_per_iteration": t.sent / iterations.len().max(1) as u64,
                "protected_blocked_by": t.detectors,
            });
            (name.clone(), entry)
        })
        .collect();
    json!({
        "timestamp": info.timestamp,
        "iterations": iterations.len(),
        "statistic": "median over iterations; ratio = median of the per-iteration protected / direct ratios",
        "throughput": {
            "direct_rps": d.rps,
            "protected_rps": p.rps,
            "ratio": r.rps,
            "target_min_ratio": TARGET_THROUGHPUT_RATIO,
            "ratio_per_iteration": per_iteration,
            "non_2xx_3xx_under_load": {"direct": d.non_2xx_3xx, "protected": p.non_2xx_3xx},
        },
        "latency_ms": {
            "p50": latency(d.p50, p.p50, r.p50),
            "p95": latency(d.p95, p.p95, r.p95),
            "p99": latency(d.p99, p.p99, r.p99),
        },
        "block_pct": blocks,
        "machine": info.machine,
        "inputs": info.inputs,
    })
}

fn write_json(dir: &Path, name: &str, value: &Value) -> Result<PathBuf> {
    let path = dir.join(name);
    let text = serde_json::to_string_pretty(value)?;
    std::fs::write(&path, text + "\n").with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// `most: 12, other: 3` from blocks per detector, most frequent first.
fn detectors_line(t: &Tally) -> String {
    let mut v: Vec<(&String, &u64)> = t.detectors.iter().collect();
    v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    v.iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Width of the first column of the tables.
const LABEL: usize = 34;

fn print_load_table(
    info: &RunInfo,
    iterations: usize,
    (d, p): (&SideMedians, &SideMedians),
    r: Ratios,
) {
    println!(
        "\nsandbox: medians of {iterations} iteration(s); {}",
        info.machine["summary"].as_str().unwrap_or("")
    );
    println!(
        "\n{:<LABEL$}{:>10}{:>11}{:>18}{:>10}",
        "benign stream under load", "direct", "protected", "protected/direct", "target"
    );
    println!(
        "{:<LABEL$}{:>10.0}{:>11.0}{:>18.2}{:>10}",
        "throughput (req/s)",
        d.rps,
        p.rps,
        r.rps,
        format!(">= {TARGET_THROUGHPUT_RATIO:.2}")
    );
    for (name, dv, pv, rv) in [
        ("latency p50 (ms)", d.p50, p.p50, r.p50),
        ("latency p95 (ms)", d.p95, p.p95, r.p95),
        ("latency p99 (ms)", d.p99, p.p99, r.p99),
    ] {
        println!("{name:<LABEL$}{dv:>10.2}{pv:>11.2}{rv:>18.2}");
    }
    println!(
        "{:<LABEL$}{:>10.0}{:>11.0}",
        "non-2xx/3xx answers", d.non_2xx_3xx, p.non_2xx_3xx
    );
}

/// Requests of a stream the protected Envoy let through (or failed to answer).
fn missed(t: &Tally) -> u64 {
    t.sent - t.blocked
}

fn print_block_table(info: &RunInfo, iterations: usize, d: &SideMedians, p: &SideMedians) {
    println!(
        "\n{:<LABEL$}{:>6}{:>9}{:>11}{:>8}  protected blocks by detector",
        "block rate (%)", "reqs", "direct", "protected", "target"
    );
    let mut rows: Vec<&str> = vec![
        BENIGN,
        BENIGN_BROWSER,
        BENIGN_API,
        PROBES,
        INJECTIONS,
        SCANNERS,
        FLOODS,
        CORPUS_BENIGN,
        CORPUS_ATTACK,
    ];
    // The corpus categories that let the most attacks through.
    let mut worst: Vec<(&String, &Tally)> = p
        .totals
        .iter()
        .filter(|(k, t)| k.starts_with(&format!("{CORPUS_ATTACK}:")) && missed(t) > 0)
        .collect();
    worst.sort_by(|a, b| missed(b.1).cmp(&missed(a.1)).then(a.0.cmp(b.0)));
    rows.extend(
        worst
            .iter()
            .take(WORST_CORPUS_SHOWN)
            .map(|(k, _)| k.as_str()),
    );
    let per_iteration = iterations.max(1) as u64;
    for name in rows {
        let Some(t) = p.totals.get(name) else {
            continue;
        };
        let label: String = name
            .strip_prefix(&format!("{CORPUS_ATTACK}: "))
            .map_or(name.to_string(), |c| format!("  {c}"))
            .chars()
            .take(LABEL - 1)
            .collect();
        let mut detectors = detectors_line(t);
        if t.failed > 0 {
            detectors.push_str(&format!(" ({} unanswered)", t.failed / per_iteration));
        }
        println!(
            "{label:<LABEL$}{:>6}{:>9.1}{:>11.1}{:>8.0}  {detectors}",
            t.sent / per_iteration,
            d.block_pct.get(name).copied().unwrap_or(0.0),
            p.block_pct[name],
            target_pct(name, info),
        );
    }
}

/// Writes `results_direct_*.json`, `results_protected_*.json` and `comparison_*.json` to
/// `dir`, prints the table, and returns the files written.
pub fn report(dir: &Path, info: &RunInfo, iterations: &[Iteration]) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let direct_runs: Vec<&SideRun> = iterations.iter().map(|i| &i.direct).collect();
    let protected_runs: Vec<&SideRun> = iterations.iter().map(|i| &i.protected).collect();
    let d = side_medians(&direct_runs);
    let p = side_medians(&protected_runs);
    let ratios = Ratios::paired(iterations);
    let ts = &info.timestamp;
    let files = vec![
        write_json(
            dir,
            &format!("results_direct_{ts}.json"),
            &side_json("direct", info, &direct_runs, &d),
        )?,
        write_json(
            dir,
            &format!("results_protected_{ts}.json"),
            &side_json("protected", info, &protected_runs, &p),
        )?,
        write_json(
            dir,
            &format!("comparison_{ts}.json"),
            &comparison_json(info, iterations, (&d, &p), ratios),
        )?,
    ];
    print_load_table(info, iterations.len(), (&d, &p), ratios);
    print_block_table(info, iterations.len(), &d, &p);
    Ok(files)
}

/// `YYYYMMDDTHHMMSSZ` for Unix seconds (UTC), for file names that sort by time.
pub fn utc_stamp(unix: u64) -> String {
    let c = aiwaf_logs::UtcTime::from_unix(unix);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_stamps() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(vec![]), 0.0);
        assert_eq!(utc_stamp(1_793_491_200), "20261101T000000Z");
        assert_eq!(utc_stamp(1_764_052_537), "20251125T063537Z");
    }

    #[test]
    fn ratios_pair_the_sides_of_each_iteration() {
        let side = |rps, p99_ms| SideRun {
            load: LoadResult {
                requests: 0,
                seconds: 1.0,
                slices: 1,
                rps,
                p50_ms: 1.0,
                p95_ms: 1.0,
                p99_ms,
                mean_ms: 1.0,
                non_2xx_3xx: 0,
                socket_errors: 0,
            },
            streams: BTreeMap::new(),
        };
        // A slow machine in the second iteration slows both sides: the pairs stay at 0.5.
        let its = [(100.0, 50.0), (10.0, 5.0), (80.0, 40.0)].map(|(d, p)| Iteration {
            direct: side(d, 2.0),
            protected: side(p, 3.0),
        });
        let r = Ratios::paired(&its);
        assert_eq!((r.rps, r.p99, r.p50), (0.5, 1.5, 1.0));
    }

    #[test]
    fn groups_benign_and_corpus_streams() {
        let mut streams = BTreeMap::new();
        let t = |sent, blocked| Tally {
            sent,
            blocked,
            ..Tally::default()
        };
        streams.insert(BENIGN_BROWSER.to_string(), t(10, 0));
        streams.insert(BENIGN_API.to_string(), t(10, 5));
        streams.insert(format!("{CORPUS_ATTACK}: sqli"), t(4, 4));
        streams.insert(format!("{CORPUS_ATTACK}: xss"), t(4, 2));
        let g = grouped(&streams);
        assert_eq!((g[BENIGN].sent, g[BENIGN].block_pct()), (20, 25.0));
        assert_eq!(g[CORPUS_ATTACK].block_pct(), 75.0);
        assert!(!g.contains_key(CORPUS_BENIGN));
    }
}
