//! Checks of the harness itself against the real Envoy, without the wasm
//! filter: Envoy starts on free ports, the backend answers through the proxy,
//! X-Forwarded-For sets the client address, and the log is captured.

use aiwaf_e2e::{assert_eventually, browser_headers, metrics, Envoy, EnvoyOptions};

#[test]
fn envoy_without_filter_proxies_to_the_backend() {
    let envoy = Envoy::start(EnvoyOptions::without_filter()).unwrap();
    let client = envoy.client();

    let ok = client.browser_get("/").send().unwrap();
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert_eq!(ok.text(), "hello from the backend");
    assert_eq!(ok.header("content-type"), Some("text/plain"));

    let missing = client.browser_get("/missing/thing").send().unwrap();
    assert_eq!(
        (missing.status, missing.text().as_str()),
        (404, "not found")
    );

    let error = client.browser_get("/status/500").send().unwrap();
    assert_eq!(error.status, 500);
}

#[test]
fn x_forwarded_for_becomes_the_client_address_in_the_access_log() {
    let envoy = Envoy::start(EnvoyOptions::without_filter()).unwrap();
    let resp = envoy
        .client()
        .get("/xff-check")
        .headers(browser_headers())
        .xff("198.51.100.77")
        .send()
        .unwrap();
    assert_eq!(resp.status, 200);
    // Combined format: the client address starts the access-log line.
    envoy
        .wait_for_log("198.51.100.77 - - [")
        .expect("access log names the XFF client");
    let log = envoy.log();
    let line = log
        .lines()
        .find(|l| l.starts_with("198.51.100.77 - - ["))
        .unwrap();
    assert!(
        line.contains("\"GET /xff-check HTTP/1.1\" 200 22 "),
        "{line}"
    );
}

#[test]
fn admin_stats_count_the_requests() {
    let envoy = Envoy::start(EnvoyOptions::without_filter()).unwrap();
    let before = metrics::counter(envoy.admin_addr(), "http.aiwaf.downstream_rq_total")
        .unwrap()
        .expect("the HCM counter exists");
    for _ in 0..3 {
        assert_eq!(envoy.client().browser_get("/").send().unwrap().status, 200);
    }
    assert_eventually!(
        metrics::counter(envoy.admin_addr(), "http.aiwaf.downstream_rq_total")
            .unwrap()
            .unwrap_or(0)
            >= before + 3,
        "downstream_rq_total did not grow by 3"
    );
}

#[test]
fn a_missing_wasm_fails_with_instructions() {
    let err = Envoy::start(EnvoyOptions {
        wasm: Some("/nonexistent/aiwaf_filter.wasm".into()),
        ..Default::default()
    })
    .unwrap_err();
    assert!(format!("{err:#}").contains("cargo xtask wasm"), "{err:#}");
}

#[test]
fn a_config_envoy_rejects_is_reported_with_the_log() {
    let log = Envoy::start_expect_failure(EnvoyOptions {
        no_filter: true,
        edit: Some(Box::new(|cfg| {
            aiwaf_e2e::config::hcm_mut(cfg, "aiwaf")?["no_such_field"] = true.into();
            Ok(())
        })),
        ..Default::default()
    })
    .unwrap();
    assert!(log.contains("no_such_field"), "{log}");
}
