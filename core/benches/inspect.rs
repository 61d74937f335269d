//! Per-request cost of `Engine::inspect`: the filter pays this on every request.
//!
//! `cargo bench -p aiwaf-core --bench inspect`

use aiwaf_core::{BodyKind, Engine, MemoryStore, Request};
use criterion::{black_box, criterion_group, criterion_main, Criterion};

mod common;
use common::BROWSER;

fn headers(target: &str) -> Vec<(String, String)> {
    let mut h = vec![
        (":method".to_string(), "GET".to_string()),
        (":path".to_string(), target.to_string()),
    ];
    h.extend(BROWSER.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    h
}

fn bench(c: &mut Criterion) {
    let engine = Engine::from_json(
        br#"{"blocklist":[{"ip":"203.0.113.0/24"},{"ip":"192.0.2.7"}],
             "learned":{"keywords":[{"word":"dumper"},{"word":"phpunit"}]}}"#,
    )
    .expect("bench bundle");
    let client = Some("198.51.100.20".parse().expect("address"));
    // Distinct clients per iteration would measure eviction; one client at a steady rate
    // measures the common case (the state is read and written every request).
    let mut store = MemoryStore::new(1);
    let mut now_ms = 1_700_000_000_000u64;
    let cases = [
        ("benign_page", "/products/42/reviews"),
        ("benign_query", "/search?q=running+shoes&page=2&sort=price"),
        ("attack_probe", "/wp-admin.php"),
        (
            "attack_sqli",
            "/search?q=1%27%20UNION%20SELECT%20password%20FROM%20users--",
        ),
    ];
    for (name, target) in cases {
        let h = headers(target);
        c.bench_function(name, |b| {
            b.iter(|| {
                let req = Request::from_pseudo_headers(black_box(&h), client, Some("HTTP/1.1"));
                // One request per second of simulated time: never throttled.
                now_ms += 1000;
                black_box(engine.inspect(&req, now_ms, &mut store))
            })
        });
    }
    // The per-request cost of the shared state (rate window read-modify-write, honeypot page
    // stamp): the same request with the stateful detectors off, in the same run.
    let stateless = Engine::from_json(
        br#"{"detectors":{"rate_limit":{"action":"off"},"honeypot":{"action":"off"},
             "uuid_tamper":{"action":"off"},"not_found":{"action":"off"}}}"#,
    )
    .expect("stateless bundle");
    let h = headers("/products/42/reviews");
    c.bench_function("benign_page_without_state", |b| {
        b.iter(|| {
            let req = Request::from_pseudo_headers(black_box(&h), client, Some("HTTP/1.1"));
            now_ms += 1000;
            black_box(stateless.inspect(&req, now_ms, &mut store))
        })
    });
    // A million distinct clients through 16384 slots: every request evicts (worst case).
    let mut i = 0u32;
    c.bench_function("benign_page_new_client_each_request", |b| {
        b.iter(|| {
            i = i.wrapping_add(1);
            let ip = std::net::IpAddr::V4(std::net::Ipv4Addr::from(0x6440_0000 | (i % 1_000_000)));
            let req = Request::from_pseudo_headers(black_box(&h), Some(ip), Some("HTTP/1.1"));
            black_box(engine.inspect(&req, now_ms, &mut store))
        })
    });
    let form = b"user=alice&password=correct+horse+battery+staple&remember=on";
    c.bench_function("benign_form_body", |b| {
        let h = headers("/login");
        let req = Request::from_pseudo_headers(&h, client, Some("HTTP/1.1"));
        b.iter(|| {
            black_box(engine.inspect_body(
                &req,
                BodyKind::Form,
                black_box(form),
                now_ms,
                &mut store,
            ))
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
