//! The engine's hot paths beyond `benches/inspect.rs`: the attacks it does not time, the
//! IsolationForest score, the per-client state of the request and response phases, and the
//! cost of behaviour observation when the bundle carries an anomaly model.
//!
//! `cargo bench -p aiwaf-core --bench hotpaths`
//!
//! `inspect.rs` already times a benign page and query, a probe, a SQL injection, the stateless
//! engine, eviction and a form body; this file does not repeat them. `routes` times route
//! matching with 1,000 manifest routes against the same engine without routes.

use std::net::IpAddr;

use aiwaf_core::{
    AnomalyModel, BodyKind, Bundle, Engine, IsolationForest, MemoryStore, Request, Tree, FEATURES,
    FEATURE_NAMES,
};
use criterion::{black_box, criterion_group, criterion_main, Criterion};

mod common;
use common::BROWSER;

/// Unix milliseconds the benches start at (any recent time; core reads no clock).
const T0_MS: u64 = 1_700_000_000_000;

/// One `evaluate` case.
struct Case {
    name: &'static str,
    target: &'static str,
    /// Headers replacing the browser's of the same name.
    overrides: &'static [(&'static str, &'static str)],
    client: &'static str,
    /// The detector that must block it: checked once, so a case cannot silently time a
    /// different path after an engine change.
    blocked_by: &'static str,
}

/// The browser's headers for `method target`, with `overrides` replacing (or adding) headers of
/// the same name.
fn headers(method: &str, target: &str, overrides: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut h = vec![
        (":method".to_string(), method.to_string()),
        (":path".to_string(), target.to_string()),
    ];
    let kept = BROWSER
        .iter()
        .filter(|(k, _)| !overrides.iter().any(|(o, _)| o == k));
    h.extend(
        kept.chain(overrides)
            .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    h
}

fn client(ip: &str) -> Option<IpAddr> {
    Some(ip.parse().expect("bench address"))
}

/// Attack shapes `inspect.rs` leaves out: each exercises a different detector or decoder.
fn evaluate(c: &mut Criterion) {
    let engine = Engine::from_json(
        br#"{"blocklist":[{"ip":"203.0.113.0/24"}],
             "learned":{"keywords":[{"word":"dumper"},{"word":"phpunit"}]}}"#,
    )
    .expect("bench bundle");
    let mut store = MemoryStore::new(1);
    let mut now_ms = T0_MS;
    let browser = "198.51.100.20";
    let case = |name, target, blocked_by| Case {
        name,
        target,
        overrides: &[],
        client: browser,
        blocked_by,
    };
    let cases = [
        case(
            "attack_xss",
            "/search?q=%3Cscript%3Ealert(document.cookie)%3C/script%3E",
            "payload",
        ),
        case(
            "attack_traversal",
            "/download?file=..%2F..%2F..%2F..%2Fetc%2Fpasswd",
            "payload",
        ),
        case(
            "attack_command",
            "/ping?host=127.0.0.1%3Bcat%20%2Fetc%2Fpasswd",
            "payload",
        ),
        case("attack_learned_keyword", "/dumper/export", "keyword"),
        // Refused by the first detector: the cheapest block there is.
        Case {
            client: "203.0.113.12",
            ..case("attack_blocklisted_client", "/", "ip_block")
        },
        // A tool user agent: refused by header validation, after the rate window is written.
        Case {
            overrides: &[("user-agent", "curl/8.5.0"), ("accept", "*/*")],
            client: "198.51.100.21",
            ..case("attack_tool_user_agent", "/products", "header")
        },
    ];
    let mut group = c.benchmark_group("evaluate");
    for case in cases {
        let h = headers("GET", case.target, case.overrides);
        let ip = client(case.client);
        let req = Request::from_pseudo_headers(&h, ip, Some("HTTP/1.1"));
        let verdict = engine.inspect(&req, now_ms, &mut store);
        let detector = verdict.blocking().map(|f| f.detector.as_str());
        assert_eq!(detector, Some(case.blocked_by), "{}", case.name);
        group.bench_function(case.name, |b| {
            b.iter(|| {
                let req = Request::from_pseudo_headers(black_box(&h), ip, Some("HTTP/1.1"));
                now_ms += 1000;
                black_box(engine.inspect(&req, now_ms, &mut store))
            })
        });
    }
    // Bodies: JSON is parsed and walked (nested keys and values), unlike the form body of
    // `inspect.rs`.
    let h = headers(
        "POST",
        "/api/v1/orders",
        &[("content-type", "application/json")],
    );
    let req = Request::from_pseudo_headers(&h, client("198.51.100.20"), Some("HTTP/1.1"));
    let bodies: [(&str, &[u8]); 2] = [
        (
            "benign_json_body",
            br#"{"items":[{"sku":"RJ-204","qty":2},{"sku":"GC-050","qty":1}],"note":"leave at the door"}"#,
        ),
        (
            "attack_json_body_sqli",
            br#"{"items":[{"sku":"1' UNION SELECT password FROM users--","qty":1}]}"#,
        ),
    ];
    for (name, body) in bodies {
        let verdict = engine.inspect_body(&req, BodyKind::Json, body, now_ms, &mut store);
        assert_eq!(verdict.blocked, name.starts_with("attack"), "{name}");
        group.bench_function(name, |b| {
            b.iter(|| {
                black_box(engine.inspect_body(
                    &req,
                    BodyKind::Json,
                    black_box(body),
                    now_ms,
                    &mut store,
                ))
            })
        });
    }
    group.finish();
}

/// SplitMix64: a deterministic source for the synthetic forest (core has no randomness, and
/// a fixed sequence keeps runs comparable).
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Split ranges per feature, like the trainer's (split between the node's min and max): path
/// length, keyword hits, status class, burst, 404s, errors.
const FEATURE_RANGES: [(f32, f32); FEATURES] = [
    (1.0, 80.0),
    (0.0, 2.0),
    (2.0, 5.0),
    (1.0, 40.0),
    (0.0, 12.0),
    (0.0, 12.0),
];

/// Appends the subtree for `n` sample points at `depth` in preorder (children after their
/// parent, as `IsolationForest::validate` requires) and returns its root index. Points split
/// between a quarter and three quarters per side, so trees are near-balanced like fitted ones:
/// a leaf holds one point or is at the height limit ⌈log2 ψ⌉.
fn grow(tree: &mut Tree, rng: &mut SplitMix, n: u32, depth: u32, max_depth: u32) -> u32 {
    let at = tree.feature.len() as u32;
    let leaf = n <= 1 || depth == max_depth;
    let feature = rng.below(FEATURES as u64) as usize;
    let (lo, hi) = FEATURE_RANGES[feature];
    let split = lo + (hi - lo) * (rng.below(1000) as f32 / 1000.0);
    tree.feature.push(if leaf { -1 } else { feature as i32 });
    tree.split.push(if leaf { 0.0 } else { split });
    tree.left.push(0);
    tree.right.push(0);
    tree.size.push(if leaf { n } else { 0 });
    if !leaf {
        let left_n = n / 4 + rng.below(u64::from(n / 2).max(1)) as u32;
        let left_n = left_n.clamp(1, n - 1);
        let l = grow(tree, rng, left_n, depth + 1, max_depth);
        let r = grow(tree, rng, n - left_n, depth + 1, max_depth);
        tree.left[at as usize] = l;
        tree.right[at as usize] = r;
    }
    at
}

/// 100 trees of ψ = 256 (the trainer's shape, about 50,000 nodes in all). The threshold is
/// out of reach of these trees, so the engine benches never blocklist and every iteration does
/// the same work.
fn synthetic_forest() -> IsolationForest {
    const SAMPLE: u32 = 256;
    let max_depth = SAMPLE.ilog2() + u32::from(!SAMPLE.is_power_of_two());
    let mut rng = SplitMix(42);
    let trees = (0..100)
        .map(|_| {
            let mut t = Tree {
                feature: Vec::new(),
                split: Vec::new(),
                left: Vec::new(),
                right: Vec::new(),
                size: Vec::new(),
            };
            grow(&mut t, &mut rng, SAMPLE, 0, max_depth);
            t
        })
        .collect();
    let forest = IsolationForest {
        features: FEATURES,
        sample_size: SAMPLE as usize,
        threshold: 0.99,
        trees,
    };
    forest.validate().expect("the synthetic forest is valid");
    forest
}

fn model_score(c: &mut Criterion) {
    let forest = synthetic_forest();
    let mut group = c.benchmark_group("model");
    // A shopper's page view, and a scanner's 404 burst with a keyword hit.
    let vectors: [(&str, [f64; FEATURES]); 2] = [
        ("score_benign", [18.0, 0.0, 2.0, 3.0, 0.0, 0.0]),
        ("score_anomalous", [42.0, 1.0, 4.0, 35.0, 9.0, 4.0]),
    ];
    for (name, x) in vectors {
        group.bench_function(name, |b| b.iter(|| black_box(forest.score(black_box(&x)))));
    }
    group.finish();
}

/// The default policy plus a model: what `aiwaf train` produces from enough logs.
fn engine_with_model() -> Engine {
    engine_with_model_and(Bundle::default())
}

/// `bundle` plus a model.
fn engine_with_model_and(mut bundle: Bundle) -> Engine {
    bundle.learned.model = Some(AnomalyModel {
        feature_names: FEATURE_NAMES.iter().map(|s| s.to_string()).collect(),
        samples: 16_384,
        trained_at: T0_MS / 1000,
        forest: synthetic_forest(),
    });
    Engine::new(&bundle, T0_MS / 1000).expect("bundle with model")
}

/// Request phase against response phase on a bundle with per-client state (defaults): what
/// each phase writes to the shared store. Each case has its own client, and simulated time only
/// moves forward (criterion calls a bench closure several times), so no case inherits another's
/// rate window or ends up throttled.
fn state_update(c: &mut Criterion) {
    let engine = Engine::from_json(b"{}").expect("default bundle");
    let mut store = MemoryStore::new(1);
    let mut now_ms = T0_MS;
    let mut group = c.benchmark_group("state");
    // The request phase alone (`inspect.rs` times the same with a blocklist and keywords in the
    // bundle; here it sits next to the response phases of the same run).
    let page = headers("GET", "/products/42", &[]);
    let ip = client("198.51.100.30");
    let req = Request::from_pseudo_headers(&page, ip, Some("HTTP/1.1"));
    assert!(!engine.inspect(&req, now_ms, &mut store).blocked);
    group.bench_function("request_phase", |b| {
        b.iter(|| {
            let req = Request::from_pseudo_headers(black_box(&page), ip, Some("HTTP/1.1"));
            now_ms += 1000;
            black_box(engine.inspect(&req, now_ms, &mut store))
        })
    });
    // (case, target, upstream status, client, simulated ms between responses). A 200 needs no
    // write; a 404 writes the client's 404 count (61 s apart the window restarts every time, so
    // the threshold is never reached and each iteration is the same read-modify-write); a UUID
    // in the path scores the status.
    let cases = [
        (
            "response_phase_200",
            "/products/42",
            200,
            "198.51.100.31",
            1000,
        ),
        (
            "response_phase_404",
            "/products/9042",
            404,
            "198.51.100.32",
            61_000,
        ),
        (
            "response_phase_uuid_200",
            "/api/v1/items/3f1c5a6e-8d0b-4b1e-9a55-0d5c2f7e9a10",
            200,
            "198.51.100.33",
            1000,
        ),
    ];
    for (name, target, status, ip, step_ms) in cases {
        let h = headers("GET", target, &[]);
        let req = Request::from_pseudo_headers(&h, client(ip), Some("HTTP/1.1"));
        now_ms += 1000;
        let verdict = engine.inspect(&req, now_ms, &mut store);
        assert!(!verdict.blocked && verdict.response.is_needed(), "{name}");
        let check = verdict.response;
        group.bench_function(name, |b| {
            b.iter(|| {
                now_ms += step_ms;
                black_box(engine.inspect_response(&req, check, status, now_ms, &mut store))
            })
        });
    }
    group.finish();
}

/// A benign page with and without `learned.model`, request and response phase together (what
/// the filter does per request), so the cost of observing behaviour is the difference; and a
/// suspicious client's response, the only case where the forest is scored.
fn behaviour(c: &mut Criterion) {
    let with_model = engine_with_model();
    let without_model = Engine::from_json(b"{}").expect("default bundle");
    let mut now_ms = T0_MS;
    let mut group = c.benchmark_group("behaviour");
    let page = headers("GET", "/products/42", &[]);
    for (name, engine, ip) in [
        ("benign_page_without_model", &without_model, "198.51.100.40"),
        ("benign_page_with_model", &with_model, "198.51.100.41"),
    ] {
        let mut store = MemoryStore::new(1);
        let ip = client(ip);
        let req = Request::from_pseudo_headers(&page, ip, Some("HTTP/1.1"));
        let verdict = engine.inspect(&req, now_ms, &mut store);
        assert!(!verdict.blocked, "{name}");
        group.bench_function(name, |b| {
            b.iter(|| {
                let req = Request::from_pseudo_headers(black_box(&page), ip, Some("HTTP/1.1"));
                now_ms += 1000;
                let verdict = engine.inspect(&req, now_ms, &mut store);
                black_box(engine.inspect_response(&req, verdict.response, 200, now_ms, &mut store))
            })
        });
    }
    // Five 404s in the window make the client suspicious, so its features are scored by all
    // 100 trees after each response (the `not_found` detector is off here, or the sixth 404
    // would blocklist the client and end the measurement).
    let probing = engine_with_model_and(
        Bundle::from_json(br#"{"detectors":{"not_found":{"action":"off"}}}"#).expect("bundle"),
    );
    let mut store = MemoryStore::new(1);
    let missing = headers("GET", "/missing/page", &[]);
    let req = Request::from_pseudo_headers(&missing, client("198.51.100.42"), Some("HTTP/1.1"));
    let check = probing.inspect(&req, now_ms, &mut store).response;
    for i in 1..=5 {
        now_ms += 1;
        let verdict = probing.inspect_response(&req, check, 404, now_ms, &mut store);
        let scored = verdict.features.is_some_and(|x| x.suspicious());
        assert_eq!(scored, i == 5, "404 number {i}");
    }
    group.bench_function("suspicious_response_scored", |b| {
        b.iter(|| {
            // 1 ms apart, the 60 s window restarts once per 60,000 responses: the client is
            // suspicious, and scored, on all but two of them.
            now_ms += 1;
            black_box(probing.inspect_response(&req, check, 404, now_ms, &mut store))
        })
    });
    group.finish();
}

/// 1,000 routes shaped like a real API and site: 250 resources, each with a collection, an item
/// template, a sub-collection under the item and a literal action.
fn thousand_routes() -> Bundle {
    let mut routes = Vec::new();
    for i in 0..250 {
        for (path, methods) in [
            (format!("/api/v1/res{i}"), vec!["GET", "POST"]),
            (
                format!("/api/v1/res{i}/{{id}}"),
                vec!["GET", "PUT", "DELETE"],
            ),
            (format!("/api/v1/res{i}/{{id}}/items"), vec!["GET"]),
            (format!("/pages/section{i}/about"), vec!["GET"]),
        ] {
            routes.push(aiwaf_core::RouteRule {
                path,
                methods: methods.into_iter().map(String::from).collect(),
                category: "api".into(),
                ..Default::default()
            });
        }
    }
    assert_eq!(routes.len(), 1000);
    Bundle {
        routes,
        ..Bundle::default()
    }
}

/// A request through an engine with 1,000 routes against one without routes (same run): the
/// difference is the route lookup. The stateless detectors are off, so the lookup is not
/// hidden in shared-state noise.
fn routes(c: &mut Criterion) {
    let stateless = |mut b: Bundle| {
        b.detectors = ["rate_limit", "not_found", "honeypot", "uuid_tamper"]
            .iter()
            .map(|id| {
                let cfg = aiwaf_core::DetectorConfig {
                    action: aiwaf_core::Action::Off,
                    ttl: None,
                };
                (aiwaf_core::DetectorId::from_name(id).expect("id"), cfg)
            })
            .collect();
        Engine::new(&b, T0_MS / 1000).expect("bundle")
    };
    let with_routes = stateless(thousand_routes());
    let without = stateless(Bundle::default());
    let mut group = c.benchmark_group("routes");
    for (name, target, method) in [
        ("item_template_hit", "/api/v1/res200/12345/items", "GET"),
        ("literal_hit", "/pages/section7/about", "GET"),
        ("miss", "/products/42", "GET"),
        ("method_not_allowed", "/api/v1/res9/7", "PATCH"),
    ] {
        let h = headers(method, target, &[]);
        let ip = client("198.51.100.60");
        let mut store = MemoryStore::new(1);
        let req = Request::from_pseudo_headers(&h, ip, Some("HTTP/1.1"));
        let verdict = with_routes.inspect(&req, T0_MS, &mut store);
        assert_eq!(verdict.blocked, method == "PATCH", "{name}");
        for (engine, label) in [(&with_routes, "1000_routes"), (&without, "no_routes")] {
            group.bench_function(format!("{name}/{label}"), |b| {
                b.iter(|| {
                    let req = Request::from_pseudo_headers(black_box(&h), ip, Some("HTTP/1.1"));
                    black_box(engine.inspect(&req, T0_MS, &mut store))
                })
            });
        }
    }
    group.finish();
}

criterion_group!(
    benches,
    evaluate,
    model_score,
    state_update,
    behaviour,
    routes
);
criterion_main!(benches);
