//! Whole-engine tests: detector order, exemptions, path rules, modes, bypasses.

use super::testutil::{engine, headers, BROWSER, NOW};
use crate::{block_response, log_line, BodyKind, Request, Verdict};

const CURL: &[(&str, &str)] = &[("user-agent", "curl/8.5.0"), ("accept", "*/*")];

fn check(
    bundle: &str,
    method: &str,
    target: &str,
    extra: &[(&str, &str)],
    client: &str,
) -> Verdict {
    let e = engine(bundle);
    let h = headers(method, target, extra);
    let req = Request::from_pseudo_headers(&h, Some(client.parse().unwrap()), Some("HTTP/1.1"));
    e.inspect(&req, NOW)
}

fn blocked_by(v: &Verdict) -> Option<(&'static str, &'static str)> {
    v.blocking().map(|f| (f.detector.as_str(), f.reason))
}

#[test]
fn browser_requests_pass_clean() {
    for target in [
        "/",
        "/en/profile/",
        "/products/42?sort=price",
        "/static/app.css",
        "/search?q=O%27Reilly",
    ] {
        let v = check("{}", "GET", target, BROWSER, "198.51.100.1");
        assert!(v.is_clean(), "{target}: {v:?}");
    }
}

#[test]
fn static_looking_paths_skip_header_checks_only() {
    // AIWAF let both of these through because they end in `.css`.
    let v = check(
        "{}",
        "GET",
        "/x.css?id=1'%20OR%201=1--",
        CURL,
        "198.51.100.1",
    );
    assert_eq!(blocked_by(&v), Some(("payload", "sqli")));
    let v = check("{}", "GET", "/wp-admin.php/x.css", CURL, "198.51.100.1");
    assert_eq!(blocked_by(&v), Some(("probe", "probe_extension")));
    // The header check is what static assets skip.
    assert!(check("{}", "GET", "/static/app.css", CURL, "198.51.100.1").is_clean());
    assert!(check("{}", "GET", "/img/logo.png", CURL, "198.51.100.1").is_clean());
    assert_eq!(
        blocked_by(&check("{}", "GET", "/", CURL, "198.51.100.1")),
        Some(("header", "suspicious_user_agent"))
    );
}

#[test]
fn exempt_paths_skip_heuristics_but_not_attacks() {
    let b = r#"{"settings":{"AIWAF_EXEMPT_PATHS":["/health/"]}}"#;
    assert!(check(b, "GET", "/health", CURL, "198.51.100.1").is_clean());
    assert!(check(b, "GET", "/health/live", CURL, "198.51.100.1").is_clean());
    assert!(
        !check(b, "GET", "/healthz", CURL, "198.51.100.1").is_clean(),
        "prefix stops at a segment boundary"
    );
    assert_eq!(
        blocked_by(&check(
            b,
            "GET",
            "/health/../wp-admin.php",
            BROWSER,
            "198.51.100.1"
        ))
        .map(|b| b.0),
        Some("payload")
    );
    assert_eq!(
        blocked_by(&check(
            b,
            "GET",
            "/health?q=<script>alert(1)</script>",
            CURL,
            "198.51.100.1"
        )),
        Some(("payload", "xss"))
    );
}

#[test]
fn exempt_clients_skip_everything_and_blocklisted_clients_are_refused() {
    let b = r#"{"settings":{"AIWAF_EXEMPT_IPS":["198.51.100.0/24"]},
                "blocklist":[{"ip":"203.0.113.0/24","reason":"scanner"},{"ip":"192.0.2.1","expires_at":999}]}"#;
    assert!(check(b, "GET", "/wp-admin.php", CURL, "198.51.100.7").is_clean());
    assert_eq!(
        blocked_by(&check(b, "GET", "/", BROWSER, "203.0.113.9")),
        Some(("ip_block", "blocklisted"))
    );
    assert!(
        check(b, "GET", "/", BROWSER, "192.0.2.1").is_clean(),
        "expired entry no longer applies"
    );
    assert_eq!(
        blocked_by(&check(b, "GET", "/", BROWSER, "::ffff:203.0.113.9")),
        Some(("ip_block", "blocklisted"))
    );
}

#[test]
fn path_rules_most_specific_prefix_wins() {
    let b = r#"{"settings":{"PATH_RULES":[
        {"PREFIX":"/api/","DISABLE":["HeaderValidationMiddleware"]},
        {"PREFIX":"/api/strict/","DISABLE":[]},
        {"PREFIX":"/hooks/","DISABLE":["ip_keyword_block","header"]}]}}"#;
    assert!(check(b, "GET", "/api/items", CURL, "198.51.100.1").is_clean());
    assert_eq!(
        blocked_by(&check(b, "GET", "/api/strict/items", CURL, "198.51.100.1")).map(|b| b.0),
        Some("header")
    );
    assert_eq!(
        blocked_by(&check(b, "GET", "/api/x.php", CURL, "198.51.100.1")).map(|b| b.0),
        Some("probe")
    );
    assert!(check(b, "GET", "/hooks/x?q=1'%20OR%201=1--", CURL, "198.51.100.1").is_clean());
    assert_eq!(
        blocked_by(&check(b, "GET", "/API/../shell", CURL, "198.51.100.1")).map(|b| b.0),
        Some("payload")
    );
}

#[test]
fn monitor_modes_log_but_pass() {
    let v = check(
        r#"{"mode":"monitor"}"#,
        "GET",
        "/.env",
        CURL,
        "198.51.100.1",
    );
    assert!(!v.blocked);
    assert_eq!(
        v.monitored().first().map(|f| f.reason),
        Some("probe_dotfile")
    );
    let b = r#"{"detectors":{"header":{"action":"monitor"}}}"#;
    let v = check(b, "GET", "/", CURL, "198.51.100.1");
    assert!(!v.blocked && v.monitored().len() == 1);
    let v = check(b, "GET", "/wp-admin.php", CURL, "198.51.100.1");
    assert_eq!(blocked_by(&v).map(|b| b.0), Some("probe"));
    let v = check(
        r#"{"detectors":{"probe":{"action":"off"},"keyword":{"action":"off"}}}"#,
        "GET",
        "/.env",
        BROWSER,
        "198.51.100.1",
    );
    assert!(v.is_clean());
}

#[test]
fn required_headers_per_method() {
    let b = r#"{"settings":{"AIWAF_REQUIRED_HEADERS":{"DEFAULT":["HTTP_USER_AGENT","HTTP_ACCEPT"],"POST":["HTTP_USER_AGENT"]}}}"#;
    let v = check(b, "GET", "/", &[], "198.51.100.1");
    assert_eq!(
        v.blocking().map(|f| f.evidence.as_str()),
        Some("user-agent, accept")
    );
    let v = check(b, "POST", "/", &[], "198.51.100.1");
    assert_eq!(
        v.blocking().map(|f| f.evidence.as_str()),
        Some("user-agent")
    );
}

#[test]
fn responses_and_log_lines() {
    let v = check("{}", "GET", "/.env", BROWSER, "198.51.100.1");
    let f = v.blocking().unwrap();
    let json = block_response(f, true);
    assert_eq!((json.status, json.content_type), (403, "application/json"));
    let body: serde_json::Value = serde_json::from_str(&json.body).unwrap();
    assert_eq!(body["error"], "blocked");
    assert_eq!(body["detector"], "probe");
    let text = block_response(f, false);
    assert!(text.body.starts_with("blocked") && text.content_type.starts_with("text/plain"));
    let h = headers("GET", "/.env", BROWSER);
    let req = Request::from_pseudo_headers(&h, Some("198.51.100.1".parse().unwrap()), None);
    let line: serde_json::Value = serde_json::from_str(&log_line("block", f, &req, "v1")).unwrap();
    assert_eq!(line["aiwaf"], "block");
    assert_eq!(line["client"], "198.51.100.1");
    assert_eq!(line["path"], "/.env");
    assert_eq!(line["bundle"], "v1");
    assert!(line["user_agent"].as_str().unwrap().contains("Chrome"));
}

#[test]
fn bodies_are_planned_and_inspected() {
    let e = engine("{}");
    let h = headers(
        "POST",
        "/login",
        &[("content-type", "application/x-www-form-urlencoded")],
    );
    let req = Request::from_pseudo_headers(&h, None, None);
    let (kind, limit) = e.body_plan(&req).unwrap();
    assert_eq!((kind, limit), (BodyKind::Form, 65537));
    assert!(e
        .inspect_body(kind, b"user=O%27Reilly&pw=secret")
        .is_clean());
    let v = e.inspect_body(kind, b"user=admin'%20OR%201=1--&pw=x");
    assert_eq!(blocked_by(&v), Some(("payload", "sqli")));
    let v = e.inspect_body(BodyKind::Json, br#"{"q":"<script>alert(1)</script>"}"#);
    assert_eq!(blocked_by(&v), Some(("payload", "xss")));
    let big = vec![b'a'; 70_000];
    assert_eq!(
        e.inspect_body(kind, &big).blocking().map(|f| f.status),
        Some(413)
    );
    let h = headers(
        "POST",
        "/upload",
        &[("content-type", "multipart/form-data; boundary=x")],
    );
    assert!(e
        .body_plan(&Request::from_pseudo_headers(&h, None, None))
        .is_none());
}

#[test]
fn engine_refuses_bad_values_with_the_key() {
    let bad = [
        (
            r#"{"settings":{"AIWAF_RATE_FLOOD":10}}"#,
            "settings.AIWAF_RATE_FLOOD",
        ),
        (
            r#"{"settings":{"AIWAF_PAYLOAD_MAX_BYTES":0}}"#,
            "settings.AIWAF_PAYLOAD_MAX_BYTES",
        ),
        (
            r#"{"settings":{"PATH_RULES":[{"PREFIX":"api"}]}}"#,
            "settings.PATH_RULES[0].PREFIX",
        ),
        (
            r#"{"settings":{"PATH_RULES":[{"PREFIX":"/a","DISABLE":["Nope"]}]}}"#,
            "settings.PATH_RULES[0].DISABLE[0]",
        ),
        (
            r#"{"settings":{"AIWAF_EXEMPT_PATHS":["health"]}}"#,
            "settings.AIWAF_EXEMPT_PATHS[0]",
        ),
    ];
    for (json, key) in bad {
        let err = crate::Engine::from_json(json.as_bytes()).unwrap_err();
        assert_eq!(err.key(), Some(key), "{json}: {err}");
    }
}

#[test]
fn warns_about_catch_all_exemptions() {
    let e = engine(r#"{"settings":{"AIWAF_EXEMPT_PATHS":["/"]}}"#);
    assert!(e.warnings().iter().any(|w| w.contains("every path")));
}

#[test]
fn warns_about_settings_this_build_does_not_enforce() {
    let e = engine(r#"{"settings":{"AIWAF_RATE_MAX":5}}"#);
    assert!(e
        .warnings()
        .iter()
        .any(|w| w.contains("AIWAF_RATE_WINDOW/MAX/FLOOD") && w.contains("not enforced")));
    assert!(engine("{}").warnings().is_empty());
}
