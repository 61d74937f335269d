//! End-to-end tests of trained bundles: `aiwaf train` on a generated log, loaded by the real
//! Envoy running the real `aiwaf_filter.wasm`; and the filter's live anomaly scoring.
//! Run through `cargo xtask test`, which builds the CLI, the wasm and installs Envoy.

use std::collections::BTreeSet;
use std::path::PathBuf;

use aiwaf_e2e::{Envoy, EnvoyOptions, Response};
use serde_json::Value;

fn start(bundle: &str) -> Envoy {
    Envoy::start(EnvoyOptions::with_bundle(bundle)).unwrap_or_else(|e| panic!("{e:#}"))
}

fn get(envoy: &Envoy, target: &str, client: &str) -> Response {
    envoy
        .client()
        .browser_get(target)
        .xff(client)
        .send()
        .unwrap_or_else(|e| panic!("GET {target} from {client}: {e:#}"))
}

fn work_dir(tag: &str) -> PathBuf {
    let dir = aiwaf_e2e::project_root()
        .join("target/e2e-runs")
        .join(format!("{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_trained_bundle_blocks_the_logs_scanners_and_not_its_browsers() {
    let dir = work_dir("trained");
    let log = dir.join("access.log");
    let bundle_path = dir.join("bundle.json");
    let (log_s, bundle_s) = (log.to_str().unwrap(), bundle_path.to_str().unwrap());
    aiwaf_e2e::expect_aiwaf(&[
        "sample-log",
        "--lines",
        "20000",
        "--seed",
        "7",
        "--out",
        log_s,
    ]);
    let summary = aiwaf_e2e::expect_aiwaf(&["train", "--out", bundle_s, log_s]);
    let text = std::fs::read_to_string(&log).unwrap();
    let client_of = |line: &str| line.split(' ').next().unwrap_or("").to_string();
    let scanners: BTreeSet<String> = text
        .lines()
        .filter(|l| l.starts_with("203.0.113."))
        .map(client_of)
        .collect();
    // Browsing clients: a browser user agent, from the benign range.
    let browsers: BTreeSet<String> = text
        .lines()
        .filter(|l| l.starts_with("198.18.") && l.contains("\"Mozilla/5.0 ("))
        .map(client_of)
        .collect();
    assert!(scanners.len() >= 10, "{scanners:?}");
    assert!(browsers.len() >= 100, "{} browsers", browsers.len());

    let bundle = std::fs::read_to_string(&bundle_path).unwrap();
    let parsed: Value = serde_json::from_str(&bundle).unwrap();
    assert!(
        parsed["learned"]["model"]["forest"]["trees"]
            .as_array()
            .is_some_and(|t| t.len() == 100),
        "20,000 lines train the model:\n{summary}"
    );
    let envoy = start(&bundle);
    for ip in &scanners {
        let resp = get(&envoy, "/", ip);
        assert_eq!(resp.status, 403, "scanner {ip} of the log:\n{summary}");
    }
    let event = envoy
        .wait_for_event("block", |e| {
            scanners.contains(e["client"].as_str().unwrap_or(""))
        })
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(event["detector"], "ip_block", "{event}");
    for ip in &browsers {
        for page in ["/", "/products"] {
            let resp = get(&envoy, page, ip);
            assert_eq!(resp.status, 200, "browser {ip} of the log, {page}");
        }
    }
    // A learned word blocks a client the log never saw.
    let word = parsed["learned"]["keywords"][0]["word"]
        .as_str()
        .unwrap_or_else(|| panic!("no keyword learned:\n{summary}"))
        .to_string();
    let newcomer = "192.0.2.77";
    assert_eq!(get(&envoy, &format!("/{word}/"), newcomer).status, 403);
    let event = envoy
        .wait_for_event("block", |e| e["client"] == newcomer)
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(event["reason"], "learned_keyword", "{event}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A model that isolates 3+ 404s in the window, 3+ errors and bursts of 30+ (the same shape
/// as the core unit tests'), so what the filter decides is known in advance.
fn bundle_with_model() -> String {
    let model = serde_json::json!({
        "feature_names": ["path_len", "kw_hits", "status_class", "burst", "not_found", "errors"],
        "forest": {"features": 6, "sample_size": 256, "threshold": 0.6, "trees": [{
            "feature": [4, 5, -1, 3, -1, -1, -1],
            "split": [2.5, 2.5, 0.0, 30.0, 0.0, 0.0, 0.0],
            "left": [1, 3, 0, 5, 0, 0, 0],
            "right": [2, 4, 0, 6, 0, 0, 0],
            "size": [0, 0, 1, 0, 1, 253, 1]
        }]}
    });
    serde_json::json!({
        "settings": {"AIWAF_RATE_MAX": 200, "AIWAF_RATE_FLOOD": 400},
        "learned": {"model": model}
    })
    .to_string()
}

#[test]
fn the_filter_blocks_anomalous_clients_with_evidence_and_not_pollers() {
    let envoy = start(&bundle_with_model());
    // Five 404s (the backend answers 404 under /missing): anomalous from the third,
    // suspicious at the fifth, which is replaced by a 403; then the client is blocklisted.
    let scanner = "192.0.2.10";
    let statuses: Vec<u16> = (0..5)
        .map(|i| get(&envoy, &format!("/missing/a{i}"), scanner).status)
        .collect();
    assert_eq!(statuses, [404, 404, 404, 404, 403]);
    let event = envoy
        .wait_for_event("block", |e| e["client"] == scanner)
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(event["detector"], "anomaly", "{event}");
    assert_eq!(get(&envoy, "/", scanner).status, 403, "blocklisted");
    // A poller: 40 quick successful requests are an outlier by volume only.
    let poller = "192.0.2.11";
    for i in 0..40 {
        assert_eq!(get(&envoy, "/api/status", poller).status, 200, "poll {i}");
    }
}
