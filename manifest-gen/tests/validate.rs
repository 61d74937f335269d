//! `Manifest::from_json` refuses what it does not understand, naming the key, and accepts a
//! hand-written manifest of the documented shape.

use aiwaf_manifest_gen::{Category, Manifest, Source};

/// A valid hand-written manifest with `routes` replaced by `routes` and the top level extended
/// by `extra` (JSON members, with a leading comma).
fn doc(routes: &str, extra: &str) -> String {
    format!(r#"{{"schema_version": "1.0", "source": "manual", "routes": {routes}{extra}}}"#)
}

const PROTECTIONS: &str = r#"{"ai_anomaly": {"enabled": true}, "header_validation": {"enabled": true},
    "honeypot": {"enabled": true}, "ip_keyword_block": {"enabled": true},
    "rate_limit": {"requests": 60, "window_seconds": 60}}"#;

/// One route keyed `key` whose members are the valid defaults with `patch` applied
/// (`patch` replaces the text of one member, e.g. `"methods": ["get"]`).
fn one_route(key: &str, patch: &str) -> String {
    let mut members = vec![
        r#""auth_required": false"#.to_owned(),
        r#""category": "app""#.to_owned(),
        r#""methods": ["GET", "POST"]"#.to_owned(),
        format!(r#""protections": {PROTECTIONS}"#),
        r#""response_type": "html""#.to_owned(),
    ];
    if let Some((name, _)) = patch.split_once(':') {
        members.retain(|m| !m.starts_with(name));
        members.push(patch.to_owned());
    }
    format!(
        "{{{}: {{{}}}}}",
        serde_json::to_string(key).unwrap(),
        members.join(", ")
    )
}

fn error_of(text: &str) -> String {
    match Manifest::from_json(text) {
        Ok(m) => panic!("accepted: {m:?}"),
        Err(e) => format!("{e:#}"),
    }
}

#[test]
fn a_hand_written_manifest_is_accepted_and_hashed() {
    let m = Manifest::from_json(&doc(&one_route("/items/{id}", ""), "")).expect("valid");
    assert_eq!(m.source, Source::Manual);
    assert_eq!(m.routes["/items/{id}"].category, Category::App);
    assert_eq!(m.routes["/items/{id}"].methods, ["GET", "POST"]);
    assert_eq!(m.context_hash.len(), 64);
    // The hash describes the content: given or not, stale or not, it is recomputed.
    let stale = doc(
        &one_route("/items/{id}", ""),
        &format!(r#", "context_hash": "{}""#, "0".repeat(64)),
    );
    assert_eq!(
        Manifest::from_json(&stale).expect("valid").context_hash,
        m.context_hash
    );
    // Methods are sorted on load.
    let unsorted = one_route("/x", r#""methods": ["POST", "DELETE"]"#);
    let m = Manifest::from_json(&doc(&unsorted, "")).expect("valid");
    assert_eq!(m.routes["/x"].methods, ["DELETE", "POST"]);
}

#[test]
fn unknown_keys_are_refused_by_name() {
    let e = error_of(&doc(
        &one_route("/a", ""),
        r#", "generated_at": "2026-11-01T00:00:00Z""#,
    ));
    assert!(e.contains("generated_at: unknown key"), "{e}");
    let e = error_of(&doc(&one_route("/a", r#""view": "app.views.a""#), ""));
    assert!(e.contains(r#"routes["/a"].view: unknown key"#), "{e}");
    let patched = PROTECTIONS.replace("\"honeypot\"", "\"honeypots\"");
    let e = error_of(&doc(
        &one_route("/a", &format!(r#""protections": {patched}"#)),
        "",
    ));
    assert!(
        e.contains(r#"routes["/a"].protections.honeypots: unknown key"#),
        "{e}"
    );
    let patched = PROTECTIONS.replace("\"window_seconds\"", "\"window\"");
    let e = error_of(&doc(
        &one_route("/a", &format!(r#""protections": {patched}"#)),
        "",
    ));
    assert!(e.contains("rate_limit.window: unknown key"), "{e}");
}

#[test]
fn only_schema_version_1_0_is_read() {
    for v in [r#""2.0""#, r#""1""#, "1.0"] {
        let text = doc(&one_route("/a", ""), "").replace(r#""1.0""#, v);
        let e = error_of(&text);
        assert!(e.contains("schema_version"), "{v}: {e}");
    }
    let e = error_of(r#"{"source": "manual", "routes": {}}"#);
    assert!(e.contains("schema_version: missing"), "{e}");
}

#[test]
fn bad_templates_are_refused() {
    for (key, want) in [
        ("items/{id}", "must start with `/`"),
        ("/api/items/<uuid:item_id>", "`/api/items/{item_id}`"),
        ("/a//b", "empty path segment"),
        ("/a/{", "without its `}`"),
        ("/a b", "not allowed"),
        ("/a/../b", "`..` segment"),
    ] {
        let e = error_of(&doc(&one_route(key, ""), ""));
        assert!(e.contains(want), "{key}: {e}");
        assert!(e.contains("routes["), "{key}: the key is named: {e}");
    }
    // A regex route's key is a regex, not a path.
    let regex = one_route("^/p/[0-9]+$", r#""match": "regex""#);
    assert!(Manifest::from_json(&doc(&regex, "")).is_ok());
    let bad = one_route("/a", r#""match": "glob""#);
    assert!(error_of(&doc(&bad, "")).contains(r#"routes["/a"].match"#));
}

#[test]
fn bad_methods_are_refused() {
    for (methods, want) in [
        (r#"["get"]"#, "upper case"),
        (r#"["G ET"]"#, "not a method name"),
        (r#"["GET", "HEAD"]"#, "implied"),
        (r#"["OPTIONS"]"#, "implied"),
        (r#"["GET", "GET"]"#, "listed twice"),
        (r#"[1]"#, "expected a string"),
        (r#""GET""#, "expected a list"),
    ] {
        let e = error_of(&doc(
            &one_route("/a", &format!(r#""methods": {methods}"#)),
            "",
        ));
        assert!(e.contains(want), "{methods}: {e}");
        assert!(e.contains(r#"routes["/a"].methods"#), "{methods}: {e}");
    }
}

#[test]
fn wrong_types_and_values_are_refused() {
    let cases = [
        (
            one_route("/a", r#""category": "unknown""#),
            "category: `unknown`",
        ),
        (
            one_route("/a", r#""response_type": "pdf""#),
            "response_type: `pdf`",
        ),
        (
            one_route("/a", r#""auth_required": "yes""#),
            "auth_required: expected a boolean",
        ),
        (
            one_route(
                "/a",
                &format!(
                    r#""protections": {}"#,
                    PROTECTIONS.replace(r#""requests": 60"#, r#""requests": 0"#)
                ),
            ),
            "rate_limit.requests: expected an integer from 1",
        ),
        (
            one_route(
                "/a",
                &format!(
                    r#""protections": {}"#,
                    PROTECTIONS.replace(r#"{"enabled": true}, "ip"#, r#"{"enabled": 1}, "ip"#)
                ),
            ),
            "honeypot.enabled: expected a boolean",
        ),
        (
            r#"{"/a": {}}"#.to_owned(),
            r#"routes["/a"].methods: missing"#,
        ),
        ("[]".to_owned(), "routes: expected an object"),
    ];
    for (routes, want) in cases {
        let e = error_of(&doc(&routes, ""));
        assert!(e.contains(want), "{routes}: {e}");
    }
    let e = error_of(&doc(&one_route("/a", ""), "").replace("manual", "django"));
    assert!(e.contains("source: `django`"), "{e}");
    let e = error_of(&doc(&one_route("/a", ""), r#", "context_hash": "abc""#));
    assert!(e.contains("context_hash"), "{e}");
}

#[test]
fn malformed_json_and_duplicate_routes_are_errors() {
    assert!(error_of("").contains("invalid JSON"));
    assert!(error_of("{").contains("invalid JSON"));
    assert!(
        error_of("schema_version: '1.0'").contains("invalid JSON"),
        "YAML is not a manifest"
    );
    let a = one_route("/a", "");
    let inner = &a[1..a.len() - 1];
    let e = error_of(&doc(&format!("{{{inner}, {inner}}}"), ""));
    assert!(e.contains("`/a` appears twice"), "{e}");
}

#[test]
fn more_routes_than_the_cap_are_refused() {
    let m = Manifest::from_json(&doc(&one_route("/a", ""), "")).expect("valid");
    let route = m.routes["/a"].clone();
    let routes = (0..=aiwaf_manifest_gen::MAX_ROUTES)
        .map(|i| (format!("/r{i}"), route.clone()))
        .collect();
    let e = Manifest::new(Source::Manual, routes).unwrap_err();
    assert!(e.to_string().contains("more than the 100000"), "{e}");
}
