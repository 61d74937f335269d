//! `cargo xtask sandbox`: Envoy direct vs protected under the same replayed traffic (issue 7).
//!
//! One command answers "what does the filter cost, and what does it stop?" on this machine:
//! it trains a bundle on a generated log, starts two Envoys on loopback (without the filter,
//! and with it and the bundle), replays benign and attack streams through both one request
//! at a time to count blocks, loads both with the benign stream through `wrk`, repeats with
//! fresh Envoys, and reports medians. Both Envoys get byte-identical requests; the direct one
//! must block nothing, which checks the classification itself.
//!
//! Streams are built in [`traffic`], replayed in [`replay`], loaded in [`load`] and reported
//! in [`report`].

mod load;
mod replay;
mod report;
mod traffic;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aiwaf_e2e::{Envoy, EnvoyOptions};
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use report::{Iteration, RunInfo, SideRun};
use traffic::{FreshClients, Stream};

const USAGE: &str =
    "usage: cargo xtask sandbox [-n N] [--corpus FILE.jsonl] [--seconds S] [--out DIR]

  -n N              iterations, each with fresh Envoys; medians are reported (default 3)
  --corpus FILE     also replay every request of a JSONL corpus (method, uri, headers, body,
                    label, category), e.g. /work/shared/corpora/gotestwaf.jsonl
  --seconds S       wrk duration per Envoy and iteration (default 5)
  --out DIR         where the JSON results go (default target/sandbox)";

/// Lines of each generated log (as the demo), and their seeds: the benign replay comes from
/// another log than the one the bundle was trained on.
const LOG_LINES: u64 = 20_000;
const TRAIN_SEED: u64 = 1;
const REPLAY_SEED: u64 = 2;
/// Benign requests replayed and cycled through under load (the replay log's first ones).
const BENIGN_REQUESTS: usize = 2_000;
/// Envoy workers for both Envoys (the harness default, as in production-like tests).
const ENVOY_CONCURRENCY: u32 = 2;
/// wrk runs this long before each measurement, so V8 has tiered up the filter.
const WARMUP_SECONDS: u64 = 1;
/// Margin over `AIWAF_MIN_FORM_TIME` before the deferred form posts are sent.
const FORM_PAUSE_MARGIN: Duration = Duration::from_millis(500);

/// The command line.
#[derive(Debug, Clone, PartialEq)]
struct Options {
    iterations: usize,
    corpus: Option<PathBuf>,
    seconds: u64,
    out: PathBuf,
}

impl Options {
    /// `None` for `--help`.
    fn parse(args: &[String]) -> Result<Option<Options>> {
        let mut opts = Options {
            iterations: 3,
            corpus: None,
            seconds: 5,
            out: crate::project_root().join("target/sandbox"),
        };
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            let mut value = || {
                it.next()
                    .with_context(|| format!("{flag} needs a value\n\n{USAGE}"))
            };
            match flag.as_str() {
                "-n" => opts.iterations = number(flag, value()?, 1..=100)? as usize,
                "--seconds" => opts.seconds = number(flag, value()?, 1..=600)?,
                "--corpus" => opts.corpus = Some(PathBuf::from(value()?)),
                "--out" => opts.out = PathBuf::from(value()?),
                "-h" | "--help" => return Ok(None),
                other => bail!("unknown argument {other:?}\n\n{USAGE}"),
            }
        }
        Ok(Some(opts))
    }
}

fn number(flag: &str, value: &str, range: std::ops::RangeInclusive<u64>) -> Result<u64> {
    value
        .parse::<u64>()
        .ok()
        .filter(|n| range.contains(n))
        .with_context(|| {
            format!(
                "{flag} {value:?}: expected a number in {}..={}",
                range.start(),
                range.end()
            )
        })
}

/// Runs the sandbox with its command-line arguments (after `sandbox`).
pub fn run(args: &[String]) -> Result<()> {
    let Some(opts) = Options::parse(args)? else {
        println!("{USAGE}");
        return Ok(());
    };
    // A bad corpus fails before minutes of building.
    let mut fresh = FreshClients::new();
    let corpus = match &opts.corpus {
        Some(path) => traffic::corpus_streams(path, &mut fresh)?,
        None => Vec::new(),
    };
    let envoy_bin = crate::setup()?;
    crate::build_wasm()?;
    let cli = crate::build_cli()?;
    ensure_wrk()?;

    let work = opts.out.join("work");
    std::fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
    let inputs = generate(&cli, &work)?;
    let streams = build_streams(&inputs, corpus, &mut fresh)?;
    let benign = traffic::log_benign(&streams);
    let script = load::write_script(&work.join("load.lua"), &benign)?;
    let settings = Settings::of(&inputs.bundle)?;

    let mut iterations = Vec::new();
    for k in 0..opts.iterations {
        eprintln!("sandbox: iteration {}/{}", k + 1, opts.iterations);
        iterations.push(iteration(
            k,
            &inputs.bundle,
            &streams,
            &script,
            &opts,
            &settings,
        )?);
    }
    let info = run_info(
        &opts,
        &envoy_bin,
        &inputs,
        &streams,
        &settings,
        benign.len(),
    );
    let files = report::report(&opts.out, &info, &iterations)?;
    println!();
    for f in files {
        println!("sandbox: wrote {}", f.display());
    }
    Ok(())
}

/// Installs `wrk` from Debian when missing, as `cargo xtask bench-e2e` does.
fn ensure_wrk() -> Result<()> {
    if crate::has_command("wrk") {
        return Ok(());
    }
    println!("sandbox: wrk not found; installing it from Debian");
    crate::apt_install("wrk").context("wrk measures throughput and latency")
}

/// The generated logs and the bundle trained on the first.
struct Inputs {
    train_log: PathBuf,
    replay_log: PathBuf,
    bundle_path: PathBuf,
    manifest: PathBuf,
    bundle: String,
}

/// Writes the training and replay logs with the project's generator, derives the route
/// manifest from the training log and trains the bundle with it (the summary goes to
/// `train.txt` next to it, to keep the table readable).
fn generate(cli: &Path, work: &Path) -> Result<Inputs> {
    let train_log = work.join("train.log");
    let replay_log = work.join("replay.log");
    let bundle_path = work.join("bundle.json");
    let manifest = work.join("paths.json");
    crate::sample_log(cli, &train_log, LOG_LINES, TRAIN_SEED)?;
    crate::sample_log(cli, &replay_log, LOG_LINES, REPLAY_SEED)?;
    // The route manifest an operator derives from the same log: it tells API routes (which
    // skip browser-header checks) from pages, and which methods each route takes.
    crate::run(
        Command::new(cli)
            .args(["init", "--logs"])
            .arg(&train_log)
            .arg("--output")
            .arg(&manifest),
    )?;
    let summary = work.join("train.txt");
    crate::train(
        cli,
        &train_log,
        Some(&manifest),
        &bundle_path,
        File::create(&summary)?.into(),
    )?;
    eprintln!("sandbox: training summary in {}", summary.display());
    let bundle = std::fs::read_to_string(&bundle_path)
        .with_context(|| format!("reading {}", bundle_path.display()))?;
    Ok(Inputs {
        train_log,
        replay_log,
        bundle_path,
        manifest,
        bundle,
    })
}

/// Benign, attack and corpus streams, in replay order (benign first: its page loads start
/// the form-post pause).
fn build_streams(
    inputs: &Inputs,
    corpus: Vec<Stream>,
    fresh: &mut FreshClients,
) -> Result<Vec<Stream>> {
    let train = traffic::read_log(&inputs.train_log)?;
    let replay = traffic::read_log(&inputs.replay_log)?;
    let scanners = traffic::scanners(&train);
    if scanners.is_empty() {
        bail!("the training log has no scanners (203.0.113.0/24)");
    }
    let mut streams = traffic::benign_streams(&replay, &scanners, BENIGN_REQUESTS);
    streams.extend(traffic::attack_streams(&replay, &scanners, fresh));
    streams.extend(corpus);
    for s in &streams {
        eprintln!("sandbox: stream {:?}: {} requests", s.name, s.shots.len());
    }
    Ok(streams)
}

/// The trained bundle's settings the sandbox adapts to.
struct Settings {
    /// `AIWAF_MIN_FORM_TIME` plus a margin: how long form posts wait after their page.
    form_pause: Duration,
    /// Requests of the flood that pass before throttling starts: the `MAX` of the manifest
    /// route the flood hits (a route's own limit replaces the global one), else
    /// `AIWAF_RATE_MAX`.
    rate_max: u64,
}

impl Settings {
    fn of(bundle: &str) -> Result<Settings> {
        let v: Value = serde_json::from_str(bundle).context("the trained bundle is not JSON")?;
        let s = &v["settings"];
        let min_form = s["AIWAF_MIN_FORM_TIME"]
            .as_f64()
            .context("the trained bundle lacks settings.AIWAF_MIN_FORM_TIME")?;
        let global_max = s["AIWAF_RATE_MAX"]
            .as_u64()
            .context("the trained bundle lacks settings.AIWAF_RATE_MAX")?;
        let flood_route = v["routes"].as_array().and_then(|routes| {
            routes
                .iter()
                .find(|r| r["path"] == traffic::FLOOD_TARGET && r["rate_limit"].is_object())
        });
        let rate_max = flood_route
            .and_then(|r| r["rate_limit"]["MAX"].as_u64())
            .unwrap_or(global_max);
        Ok(Settings {
            form_pause: Duration::from_secs_f64(min_form.max(0.0)) + FORM_PAUSE_MARGIN,
            rate_max,
        })
    }
}

/// One iteration: two fresh Envoys, the replay through each, then wrk against both in
/// alternating slices (which one starts alternates too, so neither always runs first). Both
/// Envoys are stopped when they go out of scope, on errors too.
fn iteration(
    k: usize,
    bundle: &str,
    streams: &[Stream],
    script: &Path,
    opts: &Options,
    settings: &Settings,
) -> Result<Iteration> {
    let direct = Envoy::start(EnvoyOptions {
        no_filter: true,
        concurrency: ENVOY_CONCURRENCY,
        ..Default::default()
    })
    .context("starting the direct Envoy (no filter)")?;
    let protected = Envoy::start(EnvoyOptions {
        bundle: bundle.to_string(),
        concurrency: ENVOY_CONCURRENCY,
        ..Default::default()
    })
    .context("starting the protected Envoy (filter + trained bundle)")?;
    eprintln!(
        "sandbox: direct http://{}, protected http://{}; replaying",
        direct.proxy_addr(),
        protected.proxy_addr()
    );
    let direct_streams = replay::replay(direct.client(), streams, settings.form_pause);
    let protected_streams = replay::replay(protected.client(), streams, settings.form_pause);
    let (direct_load, protected_load) = if k & 1 == 0 {
        load::measure_pair(
            script,
            direct.proxy_addr(),
            protected.proxy_addr(),
            opts.seconds,
            WARMUP_SECONDS,
        )?
    } else {
        let (p, d) = load::measure_pair(
            script,
            protected.proxy_addr(),
            direct.proxy_addr(),
            opts.seconds,
            WARMUP_SECONDS,
        )?;
        (d, p)
    };
    Ok(Iteration {
        direct: SideRun {
            load: direct_load,
            streams: direct_streams,
        },
        protected: SideRun {
            load: protected_load,
            streams: protected_streams,
        },
    })
}

/// Machine, inputs and settings, for every result file.
fn run_info(
    opts: &Options,
    envoy_bin: &Path,
    inputs: &Inputs,
    streams: &[Stream],
    settings: &Settings,
    load_requests: usize,
) -> RunInfo {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    // `<path>  version: <commit>/1.40.0/Clean/RELEASE/BoringSSL`
    let full_version = crate::envoy_version(envoy_bin).unwrap_or_default();
    let envoy_version = crate::first_line(&full_version)
        .split_once("version:")
        .map_or("unknown", |(_, v)| v.trim());
    let release = envoy_version.split('/').nth(1).unwrap_or("?");
    let load_generator = format!(
        "wrk -t{} -c{}, {} alternating 1-s slices per Envoy after {} s warm-up",
        load::WRK_THREADS,
        load::WRK_CONNECTIONS,
        opts.seconds,
        WARMUP_SECONDS
    );
    let flood = streams.iter().find(|s| s.name == traffic::FLOODS);
    let flood_len = flood.map_or(0, |s| s.shots.len()) as f64;
    let flood_target_pct = if flood_len > 0.0 {
        100.0 * (flood_len - settings.rate_max as f64).max(0.0) / flood_len
    } else {
        0.0
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    RunInfo {
        timestamp: report::utc_stamp(now),
        machine: json!({
            "cores": cores,
            "os": std::env::consts::OS,
            "arch": std::env::consts::ARCH,
            "envoy_version": envoy_version,
            "envoy_concurrency": ENVOY_CONCURRENCY,
            "load_generator": load_generator,
            "summary": format!(
                "{cores} cores, Envoy {release} --concurrency {ENVOY_CONCURRENCY}, {load_generator}, loopback"
            ),
        }),
        inputs: json!({
            "training_log": {"path": inputs.train_log, "lines": LOG_LINES, "seed": TRAIN_SEED},
            "replay_log": {"path": inputs.replay_log, "lines": LOG_LINES, "seed": REPLAY_SEED},
            "bundle": inputs.bundle_path,
            "manifest": inputs.manifest,
            "corpus": opts.corpus,
            "load_requests_cycled": load_requests,
            "form_pause_ms": settings.form_pause.as_millis() as u64,
            "streams": streams.iter().map(|s| (s.name.clone(), json!(s.shots.len()))).collect::<serde_json::Map<_, _>>(),
        }),
        flood_target_pct,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn the_flood_expectation_follows_the_flooded_routes_limit() {
        let settings = r#""settings":{"AIWAF_MIN_FORM_TIME":1.0,"AIWAF_RATE_MAX":20}"#;
        let global = Settings::of(&format!("{{{settings}}}")).unwrap();
        assert_eq!(global.rate_max, 20);
        let routed = Settings::of(&format!(
            r#"{{{settings},"routes":[{{"path":"/products/{{id}}","rate_limit":{{"MAX":90}}}},
                {{"path":"{}","rate_limit":{{"WINDOW":60,"MAX":30}}}}]}}"#,
            traffic::FLOOD_TARGET
        ))
        .unwrap();
        assert_eq!(routed.rate_max, 30);
        let unlimited = Settings::of(&format!(
            r#"{{{settings},"routes":[{{"path":"{}"}}]}}"#,
            traffic::FLOOD_TARGET
        ))
        .unwrap();
        assert_eq!(unlimited.rate_max, 20, "a route without its own limit");
    }

    #[test]
    fn parses_the_command_line() {
        let o = Options::parse(&args("-n 1 --seconds 3 --corpus c.jsonl --out /tmp/x"))
            .unwrap()
            .unwrap();
        assert_eq!(
            (o.iterations, o.seconds, o.corpus, o.out),
            (1, 3, Some("c.jsonl".into()), "/tmp/x".into())
        );
        let d = Options::parse(&[]).unwrap().unwrap();
        assert_eq!((d.iterations, d.seconds, d.corpus), (3, 5, None));
        assert!(d.out.ends_with("target/sandbox"));
        assert_eq!(Options::parse(&args("--help")).unwrap(), None);
        for bad in ["-n 0", "-n x", "--seconds", "--bogus"] {
            assert!(Options::parse(&args(bad)).is_err(), "{bad}");
        }
    }
}
