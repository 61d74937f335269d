//! The route manifest end to end: `aiwaf init --openapi` writes it, `aiwaf bundle --manifest`
//! compiles it, and the real Envoy enforces it (405 for a method the route does not accept).

use aiwaf_e2e::{browser_headers, curl_headers, Envoy, EnvoyOptions};

#[test]
fn manifest_routes_answer_405_and_api_routes_skip_browser_checks() {
    let root = aiwaf_e2e::project_root();
    let dir = root
        .join("target/e2e-runs")
        .join(format!("manifest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let openapi = root.join("manifest-gen/tests/fixtures/openapi.yaml");
    let (paths, bundle) = (dir.join("paths.json"), dir.join("bundle.json"));
    let out = aiwaf_e2e::expect_aiwaf(&[
        "init",
        "--openapi",
        openapi.to_str().unwrap(),
        "--output",
        paths.to_str().unwrap(),
    ]);
    assert!(out.contains("routes"), "{out}");
    aiwaf_e2e::expect_aiwaf(&[
        "bundle",
        "--manifest",
        paths.to_str().unwrap(),
        "--out",
        bundle.to_str().unwrap(),
    ]);
    let envoy = Envoy::start(EnvoyOptions::with_bundle(
        std::fs::read_to_string(&bundle).unwrap(),
    ))
    .unwrap_or_else(|e| panic!("{e:#}"));
    let send = |method: &str, target: &str, headers: Vec<(String, String)>, ip: &str| {
        envoy
            .client()
            .request(method, target)
            .headers(headers)
            .xff(ip)
            .send()
            .unwrap_or_else(|e| panic!("{method} {target}: {e:#}"))
            .status
    };
    // /products/{id} accepts GET only.
    assert_eq!(
        send("GET", "/products/42", browser_headers(), "198.18.5.1"),
        200
    );
    assert_eq!(
        send("DELETE", "/products/42", browser_headers(), "198.18.5.2"),
        405
    );
    let event = envoy
        .wait_for_event("block", |e| e["client"] == "198.18.5.2")
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(event["reason"], "method_not_allowed", "{event}");
    // /api/items/{item_id} accepts DELETE; API clients need no browser headers there.
    assert_eq!(
        send("DELETE", "/api/items/7", curl_headers(), "198.18.5.3"),
        200
    );
    assert_eq!(
        send("GET", "/products/42", curl_headers(), "198.18.5.4"),
        403
    );
    // A path the manifest does not know: any method.
    assert_eq!(
        send("DELETE", "/elsewhere", browser_headers(), "198.18.5.5"),
        200
    );
    let _ = std::fs::remove_dir_all(&dir);
}
