//! Hot reload through ECDS (envoy-config/envoy-ecds.yaml): `aiwaf push` replaces the bundle
//! in the resource file Envoy watches, under load, without a restart and without failing a
//! request; a bundle the filter refuses leaves the previous one in force. And the whole loop
//! on one machine: Envoy's access log → `aiwaf train` → `aiwaf push` → Envoy.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aiwaf_e2e::{browser_headers, Envoy, EnvoyOptions};

fn start_ecds(bundle: &str) -> Envoy {
    Envoy::start(EnvoyOptions {
        ecds: true,
        ..EnvoyOptions::with_bundle(bundle)
    })
    .unwrap_or_else(|e| panic!("{e:#}"))
}

/// Runs the `aiwaf` CLI built by `cargo xtask test`; returns (success, stdout + stderr).
fn aiwaf(args: &[&str]) -> (bool, String) {
    aiwaf_e2e::run_aiwaf(args).unwrap_or_else(|e| panic!("{e:#}"))
}

fn status(envoy: &Envoy, target: &str, client: &str) -> u16 {
    envoy
        .client()
        .request("GET", target)
        .headers(browser_headers())
        .xff(client)
        .send()
        .unwrap_or_else(|e| panic!("GET {target}: {e:#}"))
        .status
}

fn push(bundle_path: &Path, envoy: &Envoy) -> (bool, String) {
    aiwaf(&[
        "push",
        bundle_path.to_str().unwrap(),
        "--ecds",
        envoy.ecds_file().to_str().unwrap(),
    ])
}

#[test]
fn pushed_bundles_apply_under_load_and_a_refused_one_changes_nothing() {
    let envoy = start_ecds(r#"{"version":"v0"}"#);
    let dir = envoy.run_dir().to_path_buf();
    // Steady benign load from many clients while bundles change.
    let stop = Arc::new(AtomicBool::new(false));
    let client = envoy.client();
    let load = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let (mut ok, mut failed) = (0u32, Vec::new());
            let mut n = 0u32;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let ip = format!("198.18.{}.{}", (n / 200) % 200, n % 200 + 1);
                match client
                    .request("GET", "/products")
                    .headers(browser_headers())
                    .xff(&ip)
                    .send()
                {
                    Ok(r) if r.status == 200 => ok += 1,
                    Ok(r) => failed.push(format!("{} {}", r.status, r.text())),
                    Err(e) => failed.push(format!("{e:#}")),
                }
            }
            (ok, failed)
        })
    };
    let mut apply_ms = Vec::new();
    for i in 1..=10 {
        let path = dir.join(format!("bundle-{i}.json"));
        let newcomer = format!("192.0.2.{i}");
        if i == 5 {
            // Refused by `push` (rate flood below max), and the file is left alone.
            std::fs::write(
                &path,
                r#"{"version":"bad","settings":{"AIWAF_RATE_FLOOD":1}}"#,
            )
            .unwrap();
            let before = std::fs::read(envoy.ecds_file()).unwrap();
            let (ok, out) = push(&path, &envoy);
            assert!(!ok && out.contains("AIWAF_RATE_FLOOD"), "{out}");
            assert_eq!(std::fs::read(envoy.ecds_file()).unwrap(), before);
            // Bypassing `push`: Envoy gets the bad bundle, the filter refuses it, and the
            // previous bundle (keyword of bundle 4) stays in force.
            let mut resource: serde_json::Value = serde_json::from_slice(&before).unwrap();
            resource["resources"][0]["typed_config"]["config"]["configuration"]["value"] =
                r#"{"version":"bad","settings":{"AIWAF_RATE_FLOOD":1}}"#.into();
            let text = resource.to_string();
            let tmp = dir.join(".aiwaf-filter.json.tmp");
            std::fs::write(&tmp, text).unwrap();
            std::fs::rename(&tmp, envoy.ecds_file()).unwrap();
            envoy
                .wait_for_log("AIWAF_RATE_FLOOD")
                .unwrap_or_else(|e| panic!("{e:#}"));
            assert_eq!(
                status(&envoy, "/reloadword4/", &newcomer),
                403,
                "bundle 4 still in force"
            );
            continue;
        }
        let bundle = format!(
            r#"{{"version":"v{i}","learned":{{"keywords":[{{"word":"reloadword{i}","count":1}}]}}}}"#
        );
        std::fs::write(&path, bundle).unwrap();
        let pushed = Instant::now();
        let (ok, out) = push(&path, &envoy);
        assert!(ok, "push v{i}: {out}");
        let applied =
            aiwaf_e2e::poll_until(|| status(&envoy, &format!("/reloadword{i}/"), &newcomer) == 403);
        assert!(
            applied,
            "bundle v{i} did not apply within {:?}",
            aiwaf_e2e::patience()
        );
        apply_ms.push(pushed.elapsed().as_millis());
    }
    stop.store(true, Ordering::Relaxed);
    let (ok, failed) = load.join().unwrap();
    assert!(
        failed.is_empty(),
        "{} benign requests failed: {:?}",
        failed.len(),
        &failed[..failed.len().min(5)]
    );
    assert!(ok > 50, "only {ok} benign requests were sent");
    println!("benign requests: {ok}, all 200; push → applied (ms): {apply_ms:?}");
}

/// A counter of the filter, read back from Envoy's admin endpoint (0 when not yet defined).
fn counter(envoy: &Envoy, name: &str) -> u64 {
    aiwaf_e2e::metrics::counter(envoy.admin_addr(), name)
        .unwrap_or_else(|e| panic!("{e:#}"))
        .unwrap_or(0)
}

#[test]
fn metrics_count_requests_blocks_throttles_and_reloads() {
    let envoy = start_ecds(r#"{"version":"m1","detectors":{"header":{"action":"monitor"}}}"#);
    let loaded = counter(&envoy, "aiwaf.config.loaded");
    assert!(loaded >= 1, "the first configuration is counted");
    for i in 0..3 {
        assert_eq!(status(&envoy, "/", &format!("198.18.9.{i}")), 200);
    }
    for probe in ["/.env", "/wp-login.php"] {
        assert_eq!(status(&envoy, probe, "198.18.9.50"), 403);
    }
    // curl-like headers: the header detector only monitors here.
    let r = envoy
        .client()
        .request("GET", "/")
        .header("user-agent", "curl/8.5.0")
        .header("accept", "*/*")
        .xff("198.18.9.60")
        .send()
        .unwrap();
    assert_eq!(r.status, 200);
    // 25 quick requests from one client, in one rate window: the 21st to 25th are throttled.
    aiwaf_e2e::start_within_one_window(Duration::from_secs(10), Duration::from_secs(5));
    let statuses: Vec<u16> = (0..25)
        .map(|_| status(&envoy, "/", "198.18.9.70"))
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        5,
        "{statuses:?}"
    );
    let wanted = [
        ("aiwaf.requests", 3 + 2 + 1 + 25),
        ("aiwaf.blocked", 2),
        ("aiwaf.blocked.probe", 2),
        ("aiwaf.monitored.header", 1),
        ("aiwaf.throttled", 5),
        ("aiwaf.blocked.rate_limit", 5),
    ];
    // Counters reach the admin endpoint on Envoy's stats flush; wait for them.
    let settled = aiwaf_e2e::poll_until(|| wanted.iter().all(|(n, v)| counter(&envoy, n) == *v));
    let seen: Vec<(&str, u64)> = wanted
        .iter()
        .map(|(n, _)| (*n, counter(&envoy, n)))
        .collect();
    assert!(settled, "{seen:?}");
    // A refused reload is counted, the previous bundle stays.
    let mut resource: serde_json::Value =
        serde_json::from_slice(&std::fs::read(envoy.ecds_file()).unwrap()).unwrap();
    resource["resources"][0]["typed_config"]["config"]["configuration"]["value"] =
        r#"{"mode":"panic"}"#.into();
    let tmp = envoy.run_dir().join(".tmp-resource");
    std::fs::write(&tmp, resource.to_string()).unwrap();
    std::fs::rename(&tmp, envoy.ecds_file()).unwrap();
    assert!(
        aiwaf_e2e::poll_until(|| counter(&envoy, "aiwaf.config.rejected") >= 1),
        "config.rejected"
    );
    assert_eq!(status(&envoy, "/.git/config", "198.18.9.80"), 403);
    // Prometheus exposition carries them too (a custom stat namespace: no `envoy_` prefix).
    let prom = aiwaf_e2e::metrics::prometheus(envoy.admin_addr()).unwrap();
    assert!(
        prom.lines().any(|l| l == "aiwaf_blocked_probe{} 3"),
        "{}",
        prom.lines()
            .filter(|l| l.contains("blocked"))
            .take(10)
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn one_retraining_cycle_closes_the_loop_on_one_machine() {
    // The policy lets 404 sweeps through live (monitor), so only training can stop the scanner.
    let policy = r#"{"version":"policy","detectors":{"not_found":{"action":"monitor"}}}"#;
    let envoy = start_ecds(policy);
    let dir = envoy.run_dir().to_path_buf();
    std::fs::write(dir.join("policy.json"), policy).unwrap();
    for i in 0..60 {
        let page = ["/", "/products", "/about"][i % 3];
        assert_eq!(
            status(&envoy, page, &format!("198.18.7.{}", i % 20 + 1)),
            200
        );
    }
    let scanner = "192.0.2.99";
    for i in 0..10 {
        assert_eq!(status(&envoy, &format!("/missing/old-{i}"), scanner), 404);
    }
    // Envoy flushes its access log every 200 ms (the harness sets the interval).
    let log = envoy.access_log();
    assert!(
        aiwaf_e2e::poll_until(|| std::fs::read_to_string(&log)
            .map(|t| t.lines().count() >= 70)
            .unwrap_or(false)),
        "the access log did not get 70 lines"
    );
    let script = aiwaf_e2e::project_root().join("envoy-config/retrain.sh");
    let out = Command::new("sh")
        .arg(&script)
        .current_dir(&dir)
        .env("AIWAF", aiwaf_e2e::aiwaf_cli())
        .env("POLICY", dir.join("policy.json"))
        .env("LOGS", &log)
        .env("ECDS", envoy.ecds_file())
        .env("OUT", dir.join("trained.json"))
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("192.0.2.99") && text.contains("404-heavy"),
        "{text}"
    );
    assert!(
        aiwaf_e2e::poll_until(|| status(&envoy, "/", scanner) == 403),
        "the trained bundle did not block the scanner:\n{text}"
    );
    let event = envoy
        .wait_for_event("block", |e| e["client"] == scanner)
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(event["detector"], "ip_block", "{event}");
    assert_eq!(
        status(&envoy, "/", "198.18.7.1"),
        200,
        "browsers still pass"
    );
}
