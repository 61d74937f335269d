//! Generation from the three sources, checked against golden files byte for byte.
//!
//! The golden files are `tests/golden/*.json`. After an intended change of the output, rewrite
//! them with `AIWAF_BLESS=1 cargo test -p aiwaf-manifest-gen --test generate` and review the
//! diff: that diff is the change every user's manifest will see.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use aiwaf_manifest_gen::{
    from_envoy_routes, from_logs, from_logs_with, from_openapi, Category, LogOptions, Manifest,
    Match, ResponseType,
};

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Compares `actual` with the golden file `name`, or rewrites it under `AIWAF_BLESS=1`.
fn golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("AIWAF_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, actual).expect("golden file written");
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (create it with AIWAF_BLESS=1)", path.display()));
    if expected != actual {
        panic!(
            "{} differs from the generated manifest (AIWAF_BLESS=1 rewrites it)\n--- expected\n{expected}\n--- actual\n{actual}",
            path.display()
        );
    }
}

fn route<'a>(m: &'a Manifest, key: &str) -> &'a aiwaf_manifest_gen::Route {
    m.routes
        .get(key)
        .unwrap_or_else(|| panic!("no route `{key}` in {:?}", m.routes.keys()))
}

// === OpenAPI ===

#[test]
fn openapi_yaml_matches_golden() {
    let m = from_openapi(&fixture("openapi.yaml")).expect("fixture parses");
    golden("openapi.json", &m.to_json());
}

#[test]
fn openapi_json_and_yaml_give_identical_output() {
    let yaml = from_openapi(&fixture("openapi.yaml")).expect("yaml");
    let json = from_openapi(&fixture("openapi.json")).expect("json");
    assert_eq!(yaml.routes, json.routes);
    assert_eq!(yaml.to_json(), json.to_json());
}

#[test]
fn openapi_generation_is_deterministic() {
    let text = fixture("openapi.yaml");
    let a = from_openapi(&text).expect("first").to_json();
    let b = from_openapi(&text).expect("second").to_json();
    assert_eq!(a.as_bytes(), b.as_bytes());
    assert!(a.ends_with("}\n"));
}

#[test]
fn openapi_routes_are_classified_from_the_document() {
    let m = from_openapi(&fixture("openapi.yaml")).expect("fixture parses");
    assert_eq!(m.routes.len(), 12);
    let item = route(&m, "/api/items/{item_id}");
    assert_eq!(item.category, Category::Api);
    assert_eq!(item.methods, ["DELETE", "GET", "PUT"]);
    assert!(item.auth_required);
    assert_eq!(item.protections.rate_limit.requests, 120);
    assert_eq!(route(&m, "/products/{id}").category, Category::App);
    assert_eq!(
        route(&m, "/products/{id}").response_type,
        ResponseType::Html
    );
    let login = route(&m, "/login");
    assert_eq!(
        (login.category, login.auth_required),
        (Category::Auth, false)
    );
    assert_eq!(route(&m, "/admin/users").category, Category::Admin);
    assert_eq!(route(&m, "/contact").category, Category::Form);
    assert_eq!(route(&m, "/account/avatar").category, Category::Upload);
    assert_eq!(
        route(&m, "/account/orders").protections.rate_limit.requests,
        90
    );
    assert_eq!(route(&m, "/static/app.css").category, Category::Static);
    assert_eq!(
        route(&m, "/static/app.css").response_type,
        ResponseType::Text
    );
    // HEAD is implied by GET and never listed.
    assert_eq!(route(&m, "/health").methods, ["GET"]);
}

// === Envoy ===

#[test]
fn envoy_bootstrap_matches_golden() {
    let m = from_envoy_routes(&fixture("envoy-bootstrap.yaml")).expect("fixture parses");
    golden("envoy.json", &m.to_json());
}

#[test]
fn envoy_matchers_become_keys() {
    let m = from_envoy_routes(&fixture("envoy-bootstrap.yaml")).expect("fixture parses");
    assert_eq!(
        m.routes.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "/",
            "/admin",
            "/api/",
            "/api/items/{id}",
            "/contact",
            "/healthz",
            "/login",
            "/static/",
            "/uploads",
            "^/products/[0-9]+$"
        ]
    );
    assert_eq!(route(&m, "/static/").matching, Match::Prefix);
    assert_eq!(route(&m, "/admin").matching, Match::Prefix);
    assert_eq!(route(&m, "/api/items/{id}").matching, Match::Template);
    assert_eq!(
        route(&m, "/api/items/{id}").methods,
        ["DELETE", "GET", "PUT"]
    );
    assert_eq!(route(&m, "/api/").methods, ["GET", "POST"]);
    assert_eq!(route(&m, "/login").methods, ["GET", "POST"]);
    assert_eq!(route(&m, "/healthz").matching, Match::Template);
    let regex = route(&m, "^/products/[0-9]+$");
    assert_eq!(regex.matching, Match::Regex);
    assert!(regex.methods.is_empty(), "regex routes carry no methods");
    assert!(
        route(&m, "/").methods.is_empty(),
        "no :method matcher: any method"
    );
    assert_eq!(route(&m, "/contact").category, Category::Form);
    assert_eq!(route(&m, "/uploads").category, Category::Upload);
    assert!(
        !m.routes.contains_key("/internal/"),
        "a 403 direct response is not a route"
    );
}

// === Logs ===

const UUIDS: [&str; 3] = [
    "3f2b8c1e-9a4d-4e7b-8c2f-1a2b3c4d5e6f",
    "0c9d2e4f-1b3a-4c5d-9e8f-7a6b5c4d3e2f",
    "b1a2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
];

/// A combined-format log: browsing, an API client, a blog with many rarely read posts, and a
/// scanner whose probes must never become routes. Line order is fixed (the test that needs
/// another order reverses it).
fn log_lines() -> Vec<String> {
    let mut lines = Vec::new();
    let mut second = 0u32;
    let mut line = |client: &str, method: &str, target: &str, status: u16| {
        second += 1;
        let (m, s) = (second / 60, second % 60);
        lines.push(format!(
            "{client} - - [01/Nov/2026:00:{m:02}:{s:02} +0000] \"{method} {target} HTTP/1.1\" {status} 512 \"-\" \"Mozilla/5.0\""
        ));
    };
    let browser = "198.18.0.1";
    line(browser, "GET", "/", 200);
    line(browser, "HEAD", "/health", 200);
    for id in 1..=40 {
        line(browser, "GET", &format!("/products/{id}"), 200);
    }
    line(browser, "GET", "/products/search?q=shoes", 200);
    for _ in 0..30 {
        line(browser, "GET", "/blog/", 200);
    }
    for i in 0..25 {
        line(
            browser,
            "GET",
            &format!("/blog/post-number-{i}-about-shoes"),
            200,
        );
    }
    line(browser, "GET", "/login", 200);
    line(browser, "POST", "/login", 302);
    line(browser, "GET", "/contact", 200);
    line(browser, "POST", "/contact", 303);
    line(browser, "GET", "/static/app.css", 200);
    line(browser, "GET", "/static/app.js", 304);
    line(
        browser,
        "GET",
        "/downloads/9e107d9d372bb6826bd81d3542a419d6",
        200,
    );
    line(browser, "GET", "/admin/", 302);
    let api = "198.18.0.2";
    for u in UUIDS {
        line(api, "GET", &format!("/api/items/{u}"), 200);
        line(api, "PUT", &format!("/api/items/{u}"), 204);
        line(api, "OPTIONS", &format!("/api/items/{u}"), 204);
    }
    line(api, "DELETE", &format!("/api/items/{}", UUIDS[0]), 500);
    line(api, "GET", "/broken", 500);
    let scanner = "203.0.113.66";
    for probe in [
        "/.env",
        "/wp-login.php",
        "/phpmyadmin/",
        "/admin/config.php",
        "/backup.sql",
    ] {
        line(scanner, "GET", probe, 404);
    }
    // A single-page app's fallback answers 200 for anything: still no route.
    line(scanner, "GET", "/.git/config", 200);
    line(scanner, "GET", "/static/..%2f..%2fetc/passwd", 200);
    lines.push("this line is not a log line".to_owned());
    lines
}

fn write_log(dir: &Path, lines: &[String]) -> PathBuf {
    let path = dir.join("access.log");
    let mut text = String::new();
    for l in lines {
        writeln!(text, "{l}").expect("string write");
    }
    std::fs::write(&path, text).expect("log written");
    path
}

#[test]
fn logs_match_golden() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = write_log(dir.path(), &log_lines());
    let (m, _) = from_logs(&[log]).expect("logs read");
    golden("logs.json", &m.to_json());
}

#[test]
fn logs_collapse_identifiers_and_keep_probes_out() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = write_log(dir.path(), &log_lines());
    let (m, summary) = from_logs(&[log]).expect("logs read");
    assert_eq!(
        m.routes.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "/",
            "/admin/",
            "/api/items/{uuid}",
            "/blog/",
            "/blog/{slug}",
            "/contact",
            "/downloads/{hash}",
            "/health",
            "/login",
            "/products/search",
            "/products/{id}",
            "/static/app.css",
            "/static/app.js",
        ]
    );
    // Methods seen with success only: the DELETE got a 500, OPTIONS is a preflight.
    assert_eq!(route(&m, "/api/items/{uuid}").methods, ["GET", "PUT"]);
    assert_eq!(route(&m, "/health").methods, ["GET"], "HEAD counts as GET");
    assert_eq!(route(&m, "/contact").category, Category::Form);
    assert_eq!(route(&m, "/admin/").category, Category::Admin);
    assert_eq!(summary.rejected_suspicious, 1, "/.git/config");
    assert_eq!(summary.rejected_unusable, 1, "traversal");
    assert_eq!(summary.preflights_ignored, 3);
    assert_eq!(summary.failures_ignored, 7);
    assert_eq!(summary.read.skipped, 1);
    assert_eq!(summary.overflow_records, 0);
    assert_eq!(summary.routes, m.routes.len());
}

#[test]
fn logs_give_the_same_bytes_whatever_the_line_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lines = log_lines();
    let forward = write_log(dir.path(), &lines);
    let (a, _) = from_logs(std::slice::from_ref(&forward)).expect("forward");
    let (again, _) = from_logs(&[forward]).expect("again");
    assert_eq!(a.to_json().as_bytes(), again.to_json().as_bytes());
    let other = tempfile::tempdir().expect("tempdir");
    let mut reversed = lines.clone();
    reversed.reverse();
    let backward = write_log(other.path(), &reversed);
    let (b, _) = from_logs(&[backward]).expect("backward");
    assert_eq!(a.to_json(), b.to_json());
}

#[test]
fn a_full_path_table_is_compacted_then_counts_overflow() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut lines = Vec::new();
    // Slugs the compaction can fold into `/docs/{slug}`...
    for i in 0..50 {
        lines.push(format!(
            "198.18.0.1 - - [01/Nov/2026:00:00:01 +0000] \"GET /docs/page-{i} HTTP/1.1\" 200 1 \"-\" \"x\""
        ));
    }
    // ...and top-level pages it cannot fold (the root's children stay literal).
    for i in 0..50 {
        lines.push(format!(
            "198.18.0.1 - - [01/Nov/2026:00:00:02 +0000] \"GET /top-{i} HTTP/1.1\" 200 1 \"-\" \"x\""
        ));
    }
    let log = write_log(dir.path(), &lines);
    let (m, summary) = from_logs_with(&[log], &LogOptions { max_paths: 30 }).expect("logs read");
    assert!(summary.compactions >= 1, "{summary:?}");
    assert!(summary.overflow_records > 0, "{summary:?}");
    assert!(summary.distinct_paths <= 30, "{summary:?}");
    assert!(
        m.routes.contains_key("/docs/{slug}"),
        "{:?}",
        m.routes.keys()
    );
}

#[test]
fn missing_log_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let e = from_logs(&[dir.path().join("nope.log")]).unwrap_err();
    assert!(format!("{e:#}").contains("no such file"), "{e:#}");
}

// === Round trip ===

#[test]
fn golden_manifests_read_back_unchanged() {
    for name in ["openapi.json", "envoy.json", "logs.json"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/golden")
            .join(name);
        let text = std::fs::read_to_string(&path).expect("golden file");
        let m = Manifest::from_json(&text).unwrap_or_else(|e| panic!("{name}: {e:#}"));
        assert_eq!(m.to_json(), text, "{name}");
    }
}
