//! End-to-end tests: the real Envoy 1.40 running the real `aiwaf_filter.wasm`.
//!
//! Each test boots its own Envoy (free loopback ports, `--concurrency 2`) with
//! the bundle it needs, so tests run in parallel and never share state. Every
//! request carries its own `X-Forwarded-For` client address (Envoy trusts one
//! hop), so per-client state in the filter cannot leak between requests.
//! Run through `cargo xtask test`, which installs Envoy and builds the wasm.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use aiwaf_e2e::{browser_headers, curl_headers, Envoy, EnvoyOptions, Request, Response};
use serde_json::Value;

const BACKEND_BODY: &str = "hello from the backend";

/// Boots Envoy with `bundle`; a failure (missing binary or wasm included) fails
/// the test with the harness's instructions.
fn start(bundle: &str) -> Envoy {
    Envoy::start(EnvoyOptions::with_bundle(bundle)).unwrap_or_else(|e| panic!("{e:#}"))
}

/// A client address of its own for every request (198.18.0.0/15, the
/// benchmarking range: never allowlisted or blocklisted by the tests).
fn fresh_ip() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    format!("198.18.{}.{}", (n / 250) % 250, n % 250 + 1)
}

/// Browser-like `GET target` from a fresh client address.
fn browser_get(envoy: &Envoy, target: &str) -> Request {
    envoy.client().browser_get(target).xff(&fresh_ip())
}

/// curl-like `GET target` from a fresh client address.
fn curl_get(envoy: &Envoy, target: &str) -> Request {
    envoy
        .client()
        .get(target)
        .headers(curl_headers())
        .xff(&fresh_ip())
}

/// Browser headers with `Accept` replaced.
fn browser_headers_accepting(accept: &str) -> Vec<(String, String)> {
    browser_headers()
        .into_iter()
        .map(|(k, v)| {
            if k.eq_ignore_ascii_case("accept") {
                (k, accept.to_string())
            } else {
                (k, v)
            }
        })
        .collect()
}

fn send(req: Request) -> Response {
    req.send().unwrap_or_else(|e| panic!("{e:#}"))
}

#[track_caller]
fn assert_status(resp: &Response, status: u16, what: &str) {
    assert_eq!(
        resp.status,
        status,
        "{what}: expected {status}, got {} with body {:?}",
        resp.status,
        resp.text()
    );
}

/// Asserts the request got through to the backend.
#[track_caller]
fn assert_passed(resp: &Response, what: &str) {
    assert_status(resp, 200, what);
    assert_eq!(
        resp.text(),
        BACKEND_BODY,
        "{what}: not the backend's answer"
    );
}

/// Asserts each browser-like request is blocked with 403.
fn assert_all_blocked(envoy: &Envoy, targets: &[&str]) {
    let failures: Vec<String> = targets
        .iter()
        .filter_map(|t| {
            let resp = send(browser_get(envoy, t));
            (resp.status != 403).then(|| format!("{t} -> {} {:?}", resp.status, resp.text()))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "expected 403 for every request, but:\n  {}",
        failures.join("\n  ")
    );
}

/// Asserts Envoy refuses `bundle` and the filter's log names `key`.
fn assert_bundle_refused(bundle: &str, key: &str) {
    let log = Envoy::start_expect_failure(EnvoyOptions::with_bundle(bundle))
        .unwrap_or_else(|e| panic!("bundle {bundle} was not refused: {e:#}"));
    // The key must be named by the filter itself (a wasm log line), not merely
    // echoed by Envoy from the config.
    assert!(
        log.lines()
            .any(|l| l.contains("wasm log") && l.contains(key)),
        "no wasm log line names {key:?} for bundle {bundle}:\n{}",
        aiwaf_e2e::envoy::tail(&log, 30)
    );
}

#[test]
fn browser_like_get_root_reaches_the_backend() {
    let envoy = start("{}");
    assert_passed(&send(browser_get(&envoy, "/")), "GET / from a browser");
}

#[test]
fn probe_paths_are_blocked() {
    let envoy = start("{}");
    assert_all_blocked(
        &envoy,
        &[
            "/wp-admin.php",
            "/.env",
            "/.git/config",
            "/backup.bak",
            "/%2e%2e/%2e%2e/etc/passwd",
            "/static/../.env",
        ],
    );
}

#[test]
fn sql_injection_in_the_query_is_blocked() {
    let envoy = start("{}");
    assert_all_blocked(
        &envoy,
        &[
            "/search?q=1'%20OR%20'1'='1",
            "/?id=1%27%20UNION%20SELECT%20password%20FROM%20users--",
        ],
    );
}

#[test]
fn xss_in_the_query_is_blocked() {
    let envoy = start("{}");
    assert_all_blocked(&envoy, &["/search?q=%3Cscript%3Ealert(1)%3C/script%3E"]);
}

#[test]
fn traversal_in_the_query_is_blocked() {
    let envoy = start("{}");
    assert_all_blocked(&envoy, &["/download?file=../../../../etc/passwd"]);
}

#[test]
fn command_injection_in_the_query_is_blocked() {
    let envoy = start("{}");
    assert_all_blocked(&envoy, &["/ping?host=127.0.0.1;cat%20/etc/passwd"]);
}

#[test]
fn static_asset_suffix_does_not_bypass_inspection() {
    let envoy = start("{}");
    assert_all_blocked(
        &envoy,
        &["/x.css?id=1'%20OR%201=1--", "/wp-admin.php/x.css"],
    );
}

#[test]
fn curl_like_request_to_root_is_blocked_by_the_header_detector() {
    let envoy = start("{}");
    let ip = fresh_ip();
    let resp = send(envoy.client().get("/").headers(curl_headers()).xff(&ip));
    assert_status(&resp, 403, "curl-like GET /");
    let event = envoy
        .wait_for_event("block", |e| e["client"] == ip.as_str())
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(event["detector"], "header", "{event}");
}

#[test]
fn static_assets_skip_header_validation_only() {
    let envoy = start("{}");
    assert_passed(
        &send(curl_get(&envoy, "/static/app.css")),
        "curl-like GET of a static asset",
    );
    assert_status(
        &send(browser_get(
            &envoy,
            "/static/app.css?x=<script>alert(1)</script>",
        )),
        403,
        "XSS in the query of a static asset",
    );
}

#[test]
fn json_client_gets_a_json_block_body() {
    let envoy = start("{}");
    let resp = send(
        envoy
            .client()
            .get("/wp-admin.php")
            .headers(browser_headers_accepting("application/json"))
            .xff(&fresh_ip()),
    );
    assert_status(&resp, 403, "JSON client on a probe path");
    let ctype = resp.header("content-type").unwrap_or_default();
    assert!(
        ctype.starts_with("application/json"),
        "content-type {ctype:?}"
    );
    let body: Value = resp.json().unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(body["error"], "blocked", "{body}");
    assert!(
        body["detector"].as_str().is_some_and(|d| !d.is_empty()),
        "{body}"
    );
    assert!(
        body["reason"].as_str().is_some_and(|r| !r.is_empty()),
        "{body}"
    );
}

#[test]
fn text_client_gets_a_text_block_body() {
    let envoy = start("{}");
    let resp = send(browser_get(&envoy, "/wp-admin.php"));
    assert_status(&resp, 403, "browser on a probe path");
    let ctype = resp.header("content-type").unwrap_or_default();
    assert!(ctype.starts_with("text/plain"), "content-type {ctype:?}");
    assert!(resp.text().starts_with("blocked"), "body {:?}", resp.text());
}

#[test]
fn global_monitor_mode_lets_attacks_through_and_logs_them() {
    let envoy = start(r#"{"mode":"monitor"}"#);
    let ip = fresh_ip();
    let resp = send(
        envoy
            .client()
            .browser_get("/search?q=1'%20OR%20'1'='1")
            .xff(&ip),
    );
    assert_passed(&resp, "SQLi in monitor mode");
    envoy
        .wait_for_event("monitor", |e| e["client"] == ip.as_str())
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert!(
        envoy.aiwaf_events("block").is_empty(),
        "monitor mode must not log blocks:\n{}",
        envoy.log()
    );
}

#[test]
fn per_detector_monitor_only_relaxes_that_detector() {
    let envoy = start(r#"{"detectors":{"header":{"action":"monitor"}}}"#);
    let ip = fresh_ip();
    let resp = send(envoy.client().get("/").headers(curl_headers()).xff(&ip));
    assert_passed(&resp, "curl-like GET / with the header detector in monitor");
    let event = envoy
        .wait_for_event("monitor", |e| e["client"] == ip.as_str())
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(event["detector"], "header", "{event}");
    assert_status(
        &send(browser_get(&envoy, "/wp-admin.php")),
        403,
        "probe path with only the header detector in monitor",
    );
}

#[test]
fn blocklisted_client_is_blocked_and_others_are_not() {
    let envoy = start(r#"{"blocklist":[{"ip":"203.0.113.0/24","reason":"test"}]}"#);
    let blocked = send(envoy.client().browser_get("/").xff("203.0.113.9"));
    assert_status(&blocked, 403, "blocklisted 203.0.113.9");
    let other = send(envoy.client().browser_get("/").xff("198.51.100.7"));
    assert_passed(&other, "198.51.100.7 (not blocklisted)");
}

#[test]
fn allowlisted_client_bypasses_detection() {
    let envoy = start(r#"{"settings":{"AIWAF_EXEMPT_IPS":["198.51.100.0/24"]}}"#);
    let exempt = send(
        envoy
            .client()
            .browser_get("/wp-admin.php")
            .xff("198.51.100.7"),
    );
    assert_passed(&exempt, "probe path from the exempt 198.51.100.7");
    // Control: the same request from an address outside the range is blocked.
    assert_status(
        &send(browser_get(&envoy, "/wp-admin.php")),
        403,
        "probe path from a non-exempt client",
    );
}

#[test]
fn exempt_path_is_not_inspected_but_traversal_out_of_it_is() {
    let envoy = start(r#"{"settings":{"AIWAF_EXEMPT_PATHS":["/health/"]}}"#);
    assert_passed(
        &send(curl_get(&envoy, "/health/")),
        "curl-like GET /health/",
    );
    assert_status(
        &send(browser_get(&envoy, "/health/../wp-admin.php")),
        403,
        "traversal out of an exempt path",
    );
}

fn post_form(envoy: &Envoy, body: &str) -> Response {
    send(
        envoy
            .client()
            .request("POST", "/login")
            .headers(browser_headers())
            .header("Content-Type", "application/x-www-form-urlencoded")
            .xff(&fresh_ip())
            .body(body),
    )
}

#[test]
fn sql_injection_in_a_form_body_is_blocked_but_an_apostrophe_is_not() {
    let envoy = start("{}");
    assert_status(
        &post_form(&envoy, "user=admin'%20OR%201=1--&pw=x"),
        403,
        "SQLi in a form body",
    );
    assert_passed(
        &post_form(&envoy, "user=O%27Reilly&pw=secret"),
        "benign apostrophe in a form body",
    );
}

#[test]
fn xss_in_a_json_body_is_blocked() {
    let envoy = start("{}");
    let resp = send(
        envoy
            .client()
            .request("POST", "/api/comments")
            .headers(browser_headers())
            .header("Content-Type", "application/json")
            .xff(&fresh_ip())
            .body(r#"{"q":"<script>alert(1)</script>"}"#),
    );
    assert_status(&resp, 403, "XSS in a JSON body");
}

#[test]
fn bundle_with_an_unknown_setting_is_refused() {
    assert_bundle_refused(r#"{"settings":{"AIWAF_RATE_MAXX":1}}"#, "AIWAF_RATE_MAXX");
}

#[test]
fn bundle_with_a_wrongly_typed_setting_is_refused() {
    assert_bundle_refused(r#"{"settings":{"AIWAF_RATE_MAX":"x"}}"#, "AIWAF_RATE_MAX");
}

#[test]
fn bundle_with_an_invalid_cidr_is_refused() {
    assert_bundle_refused(r#"{"blocklist":[{"ip":"10.0.0.0/33"}]}"#, "blocklist");
}

#[test]
fn block_log_line_names_the_detector_and_the_forwarded_client() {
    let envoy = start("{}");
    let resp = send(
        envoy
            .client()
            .browser_get("/wp-admin.php")
            .xff("192.0.2.44"),
    );
    assert_status(&resp, 403, "probe path");
    let event = envoy
        .wait_for_event("block", |e| e["path"] == "/wp-admin.php")
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(event["client"], "192.0.2.44", "{event}");
    let detector = event["detector"].as_str().unwrap_or_default();
    assert!(
        ["ip_block", "keyword", "probe", "header", "payload"].contains(&detector),
        "unknown detector in {event}"
    );
    assert_eq!(event["method"], "GET", "{event}");
    let lines = envoy
        .log()
        .lines()
        .filter(|l| l.contains("\"aiwaf\":\"block\""))
        .count();
    assert_eq!(lines, 1, "one blocked request must log exactly one line");
}

#[test]
fn query_over_the_payload_budget_is_413() {
    let envoy = start(r#"{"settings":{"AIWAF_PAYLOAD_MAX_BYTES":64}}"#);
    let resp = send(browser_get(
        &envoy,
        &format!("/search?q={}", "a".repeat(100)),
    ));
    assert_status(&resp, 413, "100-byte query over a 64-byte budget");
    assert_passed(
        &send(browser_get(&envoy, "/search?q=short")),
        "query within the budget",
    );
}

#[test]
fn form_body_over_the_payload_budget_is_413() {
    let envoy = start(r#"{"settings":{"AIWAF_PAYLOAD_MAX_BYTES":64}}"#);
    let body = format!("comment={}", "a".repeat(100));
    assert_status(
        &post_form(&envoy, &body),
        413,
        "100-byte form body over a 64-byte budget",
    );
}

// === per-client state shared by the workers ===

/// Sends `n` browser-like `GET target` from `client`, one connection each (so the kernel
/// spreads them over Envoy's workers), all inside one default 10 s rate window; returns the
/// responses.
fn burst(envoy: &Envoy, client: &str, target: &str, n: usize) -> Vec<Response> {
    aiwaf_e2e::start_within_one_window(Duration::from_secs(10), Duration::from_secs(5));
    (0..n)
        .map(|_| send(envoy.client().browser_get(target).xff(client)))
        .collect()
}

/// Connections each worker of the protected listener accepted (the listener's `stat_prefix`
/// in envoy-config/envoy.yaml is `aiwaf`).
fn connections_per_worker(envoy: &Envoy) -> Vec<u64> {
    aiwaf_e2e::metrics::stats(envoy.admin_addr())
        .unwrap_or_else(|e| panic!("{e:#}"))
        .into_iter()
        .filter(|(name, _)| {
            name.starts_with("listener.aiwaf.worker_") && name.ends_with(".downstream_cx_total")
        })
        .map(|(_, v)| v)
        .collect()
}

#[test]
fn rapid_requests_are_throttled_then_blocklisted_across_workers() {
    let envoy = start("{}");
    let client = fresh_ip();
    let statuses: Vec<u16> = burst(&envoy, &client, "/", 45)
        .iter()
        .map(|r| r.status)
        .collect();
    let expected: Vec<u16> = [vec![200; 20], vec![429; 20], vec![403; 5]].concat();
    assert_eq!(
        statuses, expected,
        "one limit for the whole Envoy, not one per worker"
    );
    // The requests really were spread over both workers: per-worker state would have let
    // up to 40 through.
    let per_worker = connections_per_worker(&envoy);
    assert_eq!(
        per_worker.len(),
        2,
        "per-worker listener stats: {per_worker:?}"
    );
    assert!(
        per_worker.iter().all(|c| *c > 0),
        "both workers served requests: {per_worker:?}"
    );
    // A throttled answer says when to come back; the flooder is blocklisted everywhere.
    let throttled = send(envoy.client().browser_get("/").xff(&fresh_ip()));
    assert_passed(&throttled, "another client is unaffected");
    let again = send(envoy.client().browser_get("/somewhere/else").xff(&client));
    assert_status(&again, 403, "the flooder on another path");
    let secs: u64 = again
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!(
        (800..=900).contains(&secs),
        "first block is 15 minutes, Retry-After {secs}"
    );
    let ev = envoy
        .wait_for_event("block", |e| {
            e["reason"] == "flood" && e["client"] == client.as_str()
        })
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert!(
        ev["evidence"]
            .as_str()
            .unwrap_or("")
            .contains("blocklisted for 900 s"),
        "{ev}"
    );
}

#[test]
fn throttled_responses_carry_retry_after() {
    let envoy = start("{}");
    let client = fresh_ip();
    let responses = burst(&envoy, &client, "/", 21);
    let last = responses.last().expect("21 responses");
    assert_status(last, 429, "the 21st request in the window");
    let secs: u64 = last
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!((1..=10).contains(&secs), "Retry-After {secs}");
}

#[test]
fn dynamic_blocks_expire() {
    let envoy = start(r#"{"settings":{"AIWAF_BLOCKLIST_DURATIONS":[2]}}"#);
    let client = fresh_ip();
    let statuses: Vec<u16> = burst(&envoy, &client, "/", 41)
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses.last(), Some(&403), "{statuses:?}");
    assert_status(
        &send(envoy.client().browser_get("/").xff(&client)),
        403,
        "blocked right after",
    );
    aiwaf_e2e::assert_eventually!(
        send(envoy.client().browser_get("/").xff(&client)).status == 200,
        "the 2-second block expires and the client is counted afresh"
    );
}

#[test]
fn per_client_state_memory_is_bounded() {
    // 64 slots: the shared map can never hold more than 64 client records, however many
    // clients arrive. Compare Envoy's heap after 1,000 clients (slots full) and after 8,000
    // more: unbounded per-client keys would add over a megabyte (8,000 × ~150 bytes).
    let envoy = start(r#"{"settings":{"AIWAF_STATE_SLOTS":64}}"#);
    let allocated = || -> u64 {
        let admin = aiwaf_e2e::client::Client::new(envoy.admin_addr());
        let json = admin
            .get("/memory")
            .send()
            .unwrap_or_else(|e| panic!("{e:#}"))
            .json()
            .expect("json");
        json["allocated"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .expect("allocated bytes")
    };
    let spread = |from: u32, n: u32| {
        std::thread::scope(|scope| {
            for t in 0..4u32 {
                let envoy = &envoy;
                scope.spawn(move || {
                    for i in (from + t..from + n).step_by(4) {
                        let ip =
                            format!("100.{}.{}.{}", 64 + (i >> 16) % 64, (i >> 8) & 255, i & 255);
                        let r = send(envoy.client().browser_get("/").xff(&ip));
                        assert_passed(&r, "a new client's first request");
                    }
                });
            }
        })
    };
    spread(0, 1_000);
    let before = allocated();
    spread(1_000, 8_000);
    let after = allocated();
    let growth = after.saturating_sub(before);
    eprintln!("heap after 1,000 clients {before}, after 8,000 more {after}: +{growth} bytes");
    assert!(
        growth < 512 * 1024,
        "Envoy's heap grew {growth} bytes over 8,000 new clients ({before} -> {after})"
    );
}

/// A browser-like form POST of `body` to `target` from `client`.
fn form_post(envoy: &Envoy, target: &str, client: &str, body: &str) -> Response {
    send(
        envoy
            .client()
            .request("POST", target)
            .headers(browser_headers())
            .header("Content-Type", "application/x-www-form-urlencoded")
            .xff(client)
            .body(body),
    )
}

#[test]
fn malformed_uuids_are_blocked_and_uuid_enumeration_is_stopped_on_the_response() {
    let envoy = start("{}");
    let resp = send(browser_get(
        &envoy,
        "/api/items/123e4567-e89b-12d3-a456-42661417400z",
    ));
    assert_status(&resp, 403, "a malformed UUID");
    let resp = send(browser_get(&envoy, "/items?uuid=bad"));
    assert_status(&resp, 403, "a malformed ?uuid=");
    // Valid UUIDs that the upstream answers 404: four pass through as 404, the fifth 404 is
    // replaced by a 403 (the backend answers 404 under /missing).
    let client = fresh_ip();
    let statuses: Vec<u16> = (0..5)
        .map(|i| {
            let target = format!("/missing/items/123e4567-e89b-12d3-a456-42661417400{i}");
            send(envoy.client().browser_get(&target).xff(&client)).status
        })
        .collect();
    assert_eq!(
        statuses,
        [404, 404, 404, 404, 403],
        "UUID 404 scoring, shared by both workers"
    );
    // A client fetching existing objects is never scored up.
    let other = fresh_ip();
    for i in 0..8 {
        let target = format!("/items/123e4567-e89b-12d3-a456-42661417400{i}");
        assert_passed(
            &send(envoy.client().browser_get(&target).xff(&other)),
            "existing objects",
        );
    }
}

#[test]
fn a_client_collecting_404s_is_blocklisted() {
    let envoy = start("{}");
    let client = fresh_ip();
    let statuses: Vec<u16> = (0..6)
        .map(|i| {
            send(
                envoy
                    .client()
                    .browser_get(&format!("/missing/page{i}"))
                    .xff(&client),
            )
            .status
        })
        .collect();
    assert_eq!(
        statuses,
        [404, 404, 404, 404, 404, 403],
        "the 6th 404 blocklists"
    );
    assert_status(
        &send(envoy.client().browser_get("/").xff(&client)),
        403,
        "then everything",
    );
    assert_passed(&send(browser_get(&envoy, "/")), "another client");
}

#[test]
fn forms_posted_too_fast_are_blocked_per_client_and_route() {
    let envoy = start(r#"{"settings":{"AIWAF_MIN_FORM_TIME":0.6,"AIWAF_MAX_PAGE_TIME":2.0}}"#);
    let client = fresh_ip();
    assert_passed(
        &send(envoy.client().browser_get("/contact").xff(&client)),
        "the page",
    );
    assert_status(
        &form_post(&envoy, "/contact", &client, "msg=hi"),
        403,
        "posted at once",
    );
    // The same client's other form, and the same form from another client: no page load.
    assert_passed(
        &form_post(&envoy, "/feedback", &client, "msg=hi"),
        "another route",
    );
    assert_passed(
        &form_post(&envoy, "/contact", &fresh_ip(), "msg=hi"),
        "another client",
    );
    // A person takes longer than AIWAF_MIN_FORM_TIME (the timing is what is under test; the
    // margins of 0.6 s leave room for a busy machine's request latency).
    let person = fresh_ip();
    assert_passed(
        &send(envoy.client().browser_get("/contact").xff(&person)),
        "the page",
    );
    std::thread::sleep(std::time::Duration::from_millis(900));
    assert_passed(
        &form_post(&envoy, "/contact", &person, "msg=hi"),
        "after 0.9 s",
    );
    // A stale page gets 409, once.
    let slow = fresh_ip();
    assert_passed(
        &send(envoy.client().browser_get("/contact").xff(&slow)),
        "the page",
    );
    std::thread::sleep(std::time::Duration::from_millis(2_300));
    let resp = form_post(&envoy, "/contact", &slow, "msg=hi");
    assert_status(&resp, 409, "posted after AIWAF_MAX_PAGE_TIME");
    assert_passed(&form_post(&envoy, "/contact", &slow, "msg=hi"), "reposted");
}

#[test]
fn a_method_the_route_does_not_accept_gets_405() {
    let envoy = start(r#"{"settings":{"PATH_RULES":[{"PREFIX":"/health/","METHODS":["GET"]}]}}"#);
    let client = fresh_ip();
    let resp = form_post(&envoy, "/health", &client, "x=1");
    assert_status(&resp, 405, "POST to a GET-only route");
    assert_passed(
        &send(envoy.client().browser_get("/health").xff(&client)),
        "GET, and no lockout",
    );
}

/// Status of an HTTP/2 form POST of `body` followed by trailers, sent by the Python `h2`
/// client that `cargo xtask setup` installs beside Envoy.
fn h2_post_with_trailers(envoy: &Envoy, client: &str, body: &str) -> String {
    let root = aiwaf_e2e::project_root();
    let python = root.join("target/envoy-venv/bin/python");
    let script = root.join("tests/scripts/h2_post_with_trailers.py");
    let out = std::process::Command::new(&python)
        .arg(&script)
        .arg(envoy.proxy_addr().to_string())
        .arg(client)
        .arg(body)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "{} not runnable ({e}): run `cargo xtask setup`",
                python.display()
            )
        });
    assert!(
        out.status.success(),
        "{} failed (is h2 installed? run `cargo xtask setup`): {}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn a_body_followed_by_trailers_is_still_inspected() {
    let envoy = start("{}");
    assert_eq!(
        h2_post_with_trailers(&envoy, &fresh_ip(), "user=admin%27%20OR%201=1--&pw=x"),
        "403"
    );
    assert_eq!(
        h2_post_with_trailers(&envoy, &fresh_ip(), "user=alice&pw=x"),
        "200"
    );
}
