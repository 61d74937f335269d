//! End-to-end harness for aiwaf-proxy: boots the real Envoy with the real
//! `aiwaf_filter.wasm` on free loopback ports and talks raw HTTP/1.1 to it.
//!
//! Used by the tests in `tests/tests/` and by `cargo xtask demo` / `bench-e2e`,
//! so the demo exercises exactly what the tests exercise.

pub mod client;
pub mod config;
pub mod envoy;
pub mod metrics;

use std::path::PathBuf;
use std::time::{Duration, Instant};

pub use client::{browser_headers, curl_headers, Client, Request, Response};
pub use envoy::{Envoy, EnvoyOptions};

/// Environment variable that scales every bounded wait of the harness, in
/// milliseconds (slow CI machines raise it instead of tests sleeping longer).
pub const PATIENCE_ENV: &str = "AIWAF_TEST_PATIENCE_MS";

/// Default patience when [`PATIENCE_ENV`] is unset: generous enough for Envoy to
/// compile the wasm module with V8 on a 2-core machine.
pub const DEFAULT_PATIENCE_MS: u64 = 20_000;

/// The repository root, derived from this crate's manifest directory so the
/// harness works whatever the current directory is.
pub fn project_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent().map(PathBuf::from).unwrap_or(here)
}

/// How long a bounded wait may last (see [`PATIENCE_ENV`]).
pub fn patience() -> Duration {
    let ms = std::env::var(PATIENCE_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(DEFAULT_PATIENCE_MS);
    Duration::from_millis(ms)
}

/// Polls `check` until it returns `true` or [`patience`] runs out.
///
/// This is the only way the harness waits for something: a poll with a bound,
/// never a bare sleep used as synchronisation. Returns whether it succeeded.
pub fn poll_until(mut check: impl FnMut() -> bool) -> bool {
    poll_until_for(patience(), &mut check)
}

/// Like [`poll_until`] with an explicit bound (used for short waits, e.g. after
/// killing a process).
pub fn poll_until_for(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    let mut pause = Duration::from_millis(5);
    loop {
        if check() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

/// Waits, if need be, until a burst lasting up to `span` fits before the next boundary of
/// the filter's `window` (windows are aligned to the Unix epoch, as the rate limiter's are).
///
/// The rate limiter's sliding window weighs the previous window's count by its remaining
/// overlap, an estimate that can undercount a burst spread across a boundary. Tests that
/// assert an exact request number (the 21st is throttled, the 41st flooded) start their
/// burst in one window, so what they assert is the limit, not where the clock happened to be.
/// This aligns with the wall clock; it is not a synchronisation wait.
pub fn start_within_one_window(window: Duration, span: Duration) {
    let window_ms = window.as_millis().max(1);
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let left = window_ms - now_ms % window_ms;
    if left <= span.as_millis() {
        // Just past the boundary, so a worker clock a few ms behind is not in the old window.
        let pause = u64::try_from(left).unwrap_or(0) + 50;
        std::thread::sleep(Duration::from_millis(pause));
    }
}

/// Asserts that a condition becomes true within the patience
/// ([`PATIENCE_ENV`]), polling it; panics with the message otherwise.
///
/// ```text
/// assert_eventually!(envoy.log().contains("\"aiwaf\":\"block\""), "no block line");
/// ```
#[macro_export]
macro_rules! assert_eventually {
    ($cond:expr $(,)?) => {
        $crate::assert_eventually!($cond, "condition `{}` never became true", stringify!($cond))
    };
    ($cond:expr, $($msg:tt)+) => {
        if !$crate::poll_until(|| $cond) {
            panic!(
                "{} (waited {:?}; raise {} to wait longer)",
                format!($($msg)+),
                $crate::patience(),
                $crate::PATIENCE_ENV
            );
        }
    };
}

/// Where `cargo xtask wasm` puts the filter.
pub fn built_wasm_path() -> PathBuf {
    project_root().join("target/wasm32-wasip1/release/aiwaf_filter.wasm")
}

/// The filter the tests load: `$AIWAF_WASM` (to try another build, e.g. a
/// debug one), else [`built_wasm_path`].
pub fn default_wasm_path() -> PathBuf {
    match std::env::var_os("AIWAF_WASM") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => built_wasm_path(),
    }
}

/// The Envoy binary: `$AIWAF_ENVOY`, else the one `cargo xtask setup` installs.
pub fn envoy_binary() -> PathBuf {
    match std::env::var_os("AIWAF_ENVOY") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => project_root().join("target/envoy-venv/bin/envoy"),
    }
}

/// The `aiwaf` CLI built by `cargo build -p aiwaf-trainer --release`.
pub fn aiwaf_cli() -> PathBuf {
    project_root().join("target/release/aiwaf")
}

/// Runs the `aiwaf` CLI; returns whether it succeeded and its stdout then stderr, so a failing
/// assertion shows both. Fails with how to build the CLI when it is missing.
pub fn run_aiwaf(args: &[&str]) -> anyhow::Result<(bool, String)> {
    use anyhow::Context as _;
    let cli = aiwaf_cli();
    anyhow::ensure!(
        cli.is_file(),
        "{} is missing: run `cargo xtask test` (or `cargo build -p aiwaf-trainer --release`)",
        cli.display()
    );
    let out = std::process::Command::new(&cli)
        .args(args)
        .output()
        .with_context(|| format!("running {}", cli.display()))?;
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    Ok((out.status.success(), text))
}

/// [`run_aiwaf`] for a test step that must succeed: panics with the command and its output.
pub fn expect_aiwaf(args: &[&str]) -> String {
    match run_aiwaf(args) {
        Ok((true, text)) => text,
        Ok((false, text)) => panic!("aiwaf {args:?} failed:\n{text}"),
        Err(e) => panic!("{e:#}"),
    }
}
