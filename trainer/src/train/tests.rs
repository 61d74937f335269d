//! Training tests: feature parity with the live engine, and what gets learned from whom.

use std::net::IpAddr;

use aiwaf_core::{AccessRecord, Bundle, Engine, Features, MemoryStore, Request};

use super::learner::{Learner, ModelOutcome};
use crate::forest_fit::{fit, FitParams};
use crate::sample_log::clf_time;
use crate::testutil::TempDir;
use aiwaf_logs::LogReader;

/// (client, seconds after t0, method, target, status)
type Hit = (&'static str, u64, &'static str, &'static str, u16);

const T0: u64 = 1_793_491_200;

/// Browsing, a burst, static assets, an exempt path, 404s and errors across a window expiry,
/// a path rule with its own rate limit, two interleaved clients and an IPv6 one.
const SEQUENCE: &[Hit] = &[
    ("198.18.0.5", 0, "GET", "/", 200),
    ("198.18.0.5", 0, "GET", "/static/app.css", 200),
    ("203.0.113.9", 1, "GET", "/wp-login.php", 404),
    ("198.18.0.5", 2, "GET", "/products/12?sort=price", 200),
    ("203.0.113.9", 2, "GET", "/.env", 404),
    ("203.0.113.9", 3, "POST", "/xmlrpc.php", 403),
    ("203.0.113.9", 3, "GET", "/search?q=1%27%20OR%201=1", 500),
    ("203.0.113.9", 4, "GET", "/health/ready", 404),
    ("203.0.113.9", 5, "GET", "/admin/Shell.PHP", 404),
    ("2001:db8::7", 5, "PATCH", "/api/v1/items/abc", 200),
    ("2001:db8::7", 6, "GET", "/api/v1/items/zzz", 404),
    ("198.18.0.5", 12, "GET", "/cart", 302),
    ("198.18.0.5", 13, "GET", "/api/v1/list", 200),
    ("203.0.113.9", 70, "GET", "/.git/config", 404),
    ("203.0.113.9", 71, "GET", "/", 200),
    ("203.0.113.9", 200, "GET", "/about", 200),
];

const BROWSER: &[(&str, &str)] = &[
    (
        "user-agent",
        "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    ),
    ("accept", "text/html,application/xhtml+xml,*/*;q=0.8"),
    ("accept-language", "en-US,en;q=0.9"),
    ("accept-encoding", "gzip, deflate, br"),
];

const POLICY: &str = r#""settings":{"PATH_RULES":[{"PREFIX":"/api/","RATE_LIMIT":{"MAX":50}}]}"#;

fn log_line(h: &Hit) -> String {
    format!(
        "{} - - [{}] \"{} {} HTTP/1.1\" {} 512 \"-\" \"Mozilla/5.0\" 0.004\n",
        h.0,
        clf_time(T0 + h.1),
        h.2,
        h.3,
        h.4
    )
}

/// A small fitted model, so the live engine observes behaviour as it does with a trained
/// bundle; `threshold` overrides the fitted one (1.0: nothing is ever anomalous).
fn bundle_with_model(extra: &str, threshold: Option<f64>) -> Bundle {
    let points: Vec<Vec<f64>> = (0..300)
        .map(|i| vec![(i % 30) as f64, 0.0, 2.0, (i % 5) as f64, 0.0, 0.0])
        .collect();
    let mut forest = fit(&points, 6, &FitParams::default()).unwrap();
    if let Some(t) = threshold {
        forest.threshold = t;
    }
    let model = aiwaf_core::AnomalyModel {
        feature_names: aiwaf_core::FEATURE_NAMES
            .iter()
            .map(|s| s.to_string())
            .collect(),
        samples: 300,
        trained_at: 0,
        forest,
    };
    let mut b = Bundle::from_json(format!("{{{extra}}}").as_bytes()).unwrap();
    b.learned.model = Some(model);
    b
}

/// The filter's calls on each request of the sequence (request phase, then the response
/// phase with the upstream's status unless the request was refused): the status the client
/// got and the features.
fn live(bundle: &Bundle) -> Vec<(u16, Option<Features>)> {
    let live = Engine::new(bundle, T0).unwrap();
    let mut store = MemoryStore::new(11);
    SEQUENCE
        .iter()
        .map(|&(client, t, method, target, status)| {
            let headers: Vec<(String, String)> = [
                (":method".to_string(), method.to_string()),
                (":path".to_string(), target.to_string()),
            ]
            .into_iter()
            .chain(BROWSER.iter().map(|(k, v)| (k.to_string(), v.to_string())))
            .collect();
            let client: IpAddr = client.parse().unwrap();
            let req = Request::from_pseudo_headers(&headers, Some(client), Some("HTTP/1.1"));
            let now_ms = (T0 + t) * 1000;
            let v = live.inspect(&req, now_ms, &mut store);
            if let Some(f) = v.blocking() {
                return (f.status, v.features);
            }
            let r = live.inspect_response(&req, v.response, status, now_ms, &mut store);
            (r.blocking().map_or(status, |f| f.status), r.features)
        })
        .collect()
}

/// The same sequence as log lines with the statuses the clients got, through the readers
/// and the trainer's engine.
fn from_logs(answered: &[u16]) -> Vec<Option<Features>> {
    let dir = TempDir::new("parity");
    let text: String = SEQUENCE
        .iter()
        .zip(answered)
        .map(|(h, status)| log_line(&(h.0, h.1, h.2, h.3, *status)))
        .collect();
    let path = dir.write("access.log", text.as_bytes());
    let policy = Bundle::from_json(format!("{{{POLICY}}}").as_bytes()).unwrap();
    let trainer = Engine::for_training(&policy, T0).unwrap();
    let mut store = MemoryStore::new(11);
    let mut out = Vec::new();
    let stats = LogReader::for_each(&[path], |rec| {
        out.push(trainer.observe_record(&rec, &mut store).0);
    })
    .unwrap();
    assert_eq!(stats.parsed, SEQUENCE.len() as u64);
    out
}

#[test]
fn log_lines_and_live_requests_yield_identical_features() {
    // Monitor mode: the upstream answers every request as the log says.
    let monitored = live(&bundle_with_model(
        &format!(r#"{POLICY},"mode":"monitor""#),
        None,
    ));
    let statuses: Vec<u16> = SEQUENCE.iter().map(|h| h.4).collect();
    assert_eq!(monitored.iter().map(|x| x.0).collect::<Vec<_>>(), statuses);
    let features: Vec<Option<Features>> = monitored.iter().map(|x| x.1).collect();
    assert_eq!(from_logs(&statuses), features);

    // And the vectors say what the definitions say.
    let scanner: Vec<[f64; 6]> = SEQUENCE
        .iter()
        .zip(&features)
        .filter(|(h, _)| h.0 == "203.0.113.9")
        .filter_map(|(_, x)| x.map(|x| x.0))
        .collect();
    // /wp-login.php: 13 bytes, `wp-` and `.php` are one segment, 404 → class 4, first request.
    assert_eq!(scanner[0], [13.0, 1.0, 4.0, 1.0, 1.0, 0.0]);
    // /admin/Shell.PHP (the exempt /health/ready was not observed): 3 404s, 2 errors.
    assert_eq!(scanner[4], [16.0, 1.0, 4.0, 5.0, 3.0, 2.0]);
    // 65 s later the window has expired: this 404 is the first of a new one.
    assert_eq!(scanner[5][4..], [1.0, 0.0]);
    // A success long after: the window is empty, with no write in the response phase.
    assert_eq!(scanner[7], [6.0, 0.0, 2.0, 1.0, 0.0, 0.0]);
    assert_eq!(features[1], None, "static assets are not observed");
    assert!(features[12].is_some(), "a path rule's own rate limit");
}

#[test]
fn refused_requests_are_observed_as_the_access_log_records_them() {
    // Enforce mode: probes and injections are refused by the filter and logged with its 403.
    let enforced = live(&bundle_with_model(POLICY, Some(1.0)));
    let answered: Vec<u16> = enforced.iter().map(|x| x.0).collect();
    assert_eq!(
        answered,
        [200, 200, 403, 200, 403, 403, 403, 404, 403, 200, 404, 302, 200, 403, 200, 200]
    );
    let features: Vec<Option<Features>> = enforced.iter().map(|x| x.1).collect();
    assert_eq!(from_logs(&answered), features);
}

fn rec(client: &str, t_ms: u64, method: &str, target: &str, status: u16) -> AccessRecord {
    AccessRecord {
        client: client.parse().unwrap(),
        time_ms: T0 * 1000 + t_ms,
        method: method.into(),
        target: target.into(),
        status,
        response_ms: None,
        bytes: Some(100),
        user_agent: String::new(),
        referer: String::new(),
    }
}

#[test]
fn learns_scanners_not_browsers_or_pollers() {
    let policy =
        Bundle::from_json(br#"{"settings":{"AIWAF_EXEMPT_IPS":["198.51.100.99"]}}"#).unwrap();
    let engine = Engine::for_training(&policy, T0).unwrap();
    let mut l = Learner::new(&engine, &policy.settings, 1);
    let pages = [
        "/",
        "/products",
        "/products/7",
        "/cart",
        "/blog/post-1",
        "/about",
    ];
    let mut t = 0;
    // 60 browsers, each a few sessions an hour apart, one dead link per session.
    for b in 0..60u64 {
        let ip = format!("198.18.1.{b}");
        for session in 0..4u64 {
            t = session * 3_600_000 + b * 1_000;
            for (i, p) in pages.iter().enumerate() {
                l.add(&rec(&ip, t + i as u64 * 4_000, "GET", p, 200));
            }
            l.add(&rec(&ip, t + 30_000, "GET", "/products/99999", 404));
        }
    }
    // A dashboard polling every 200 ms for ten minutes: volume only.
    for i in 0..3_000u64 {
        l.add(&rec("198.18.2.1", i * 200, "GET", "/api/status", 200));
    }
    // A scanner with a 404 every 20 s (never 6 in a window) but mostly keyword probes
    // refused with 403: the model must catch it.
    for i in 0..20u64 {
        let (target, status) = if i % 4 == 0 {
            ("/backup.tar", 404)
        } else {
            ("/wp-admin/install.php", 403)
        };
        l.add(&rec("203.0.113.50", t + i * 5_000, "GET", target, status));
    }
    // A 404 sweep: the live not_found rule in one window.
    for i in 0..8u64 {
        l.add(&rec("203.0.113.51", t + i * 300, "GET", "/old/thing", 404));
    }
    // An exempt client doing the same is never listed.
    for i in 0..8u64 {
        l.add(&rec("198.51.100.99", t + i * 300, "GET", "/old/thing", 404));
    }
    let learned = l.finish(&policy.settings, 2_000, true, T0, 1);
    assert!(matches!(learned.outcome, ModelOutcome::Trained { .. }));
    let listed: Vec<(String, &str)> = learned
        .blocks
        .iter()
        .map(|b| (b.ip.addr().to_string(), b.reason.as_str()))
        .collect();
    assert_eq!(
        listed,
        [
            ("203.0.113.51".to_string(), "trained: 404-heavy"),
            ("203.0.113.50".to_string(), "trained: anomaly"),
        ]
    );
    assert_eq!(
        learned.blocks[0].expires_at,
        Some(T0 + policy.settings.trained_block_seconds)
    );
}

#[test]
fn the_model_waits_for_enough_logs_unless_forced() {
    let policy = Bundle::from_json(b"{}").unwrap();
    let engine = Engine::for_training(&policy, T0).unwrap();
    let run = |force: bool| {
        let mut l = Learner::new(&engine, &policy.settings, 1);
        for i in 0..500u64 {
            l.add(&rec("198.18.0.1", i * 1_000, "GET", "/", 200));
        }
        l.finish(&policy.settings, 500, force, T0, 1)
    };
    let keyword_only = run(false);
    assert_eq!(
        keyword_only.outcome,
        ModelOutcome::TooFewLogs {
            parsed: 500,
            needed: 10_000
        }
    );
    assert!(keyword_only.model.is_none());
    assert!(run(true).model.is_some());
}

fn train_args(
    dir: &TempDir,
    policy: Option<std::path::PathBuf>,
    log: &str,
) -> crate::cli::TrainArgs {
    crate::cli::TrainArgs {
        policy,
        force_ai: false,
        geoip: None,
        manifest: None,
        out: dir.0.join("bundle.json"),
        seed: 42,
        now: Some(T0),
        logs: vec![dir.0.join(log)],
    }
}

#[test]
fn too_little_data_writes_nothing_and_keeps_the_bundle_in_force() {
    let dir = TempDir::new("train-short");
    let lines: String = SEQUENCE.iter().map(log_line).collect();
    dir.write("access.log", lines.as_bytes());
    let out = dir.write("bundle.json", b"{\"version\":\"in force\"}");
    let err = super::run(&train_args(&dir, None, "access.log")).unwrap_err();
    assert!(
        format!("{err:#}").contains("AIWAF_MIN_TRAIN_LOGS is 50"),
        "{err:#}"
    );
    assert_eq!(std::fs::read(&out).unwrap(), b"{\"version\":\"in force\"}");
}

#[test]
fn the_output_is_the_policy_plus_what_was_learned() {
    let dir = TempDir::new("train-merge");
    let mut log = Vec::new();
    crate::sample_log::write(&mut log, 3_000, 5).unwrap();
    dir.write("access.log", &log);
    // The policy: its own settings and static entries, an expired entry, an earlier trained
    // entry of a scanner of this log, and last training's keywords.
    let policy = dir.write(
        "policy.json",
        br#"{"version":"prod-7","settings":{"AIWAF_RATE_MAX":30},
             "blocklist":[{"ip":"192.0.2.0/24","reason":"manual"},
                          {"ip":"192.0.2.200","reason":"stale","expires_at":5},
                          {"ip":"203.0.113.12","reason":"trained: 404-heavy","expires_at":1793491300}],
             "learned":{"keywords":[{"word":"oldword","count":3}]}}"#,
    );
    super::run(&train_args(&dir, Some(policy), "access.log")).unwrap();
    let out = Bundle::from_json(&std::fs::read(dir.0.join("bundle.json")).unwrap()).unwrap();
    assert_eq!(
        out.version.as_deref(),
        Some(format!("prod-7+trained-{T0}").as_str())
    );
    assert_eq!(out.settings.rate_max, 30);
    let reasons: Vec<(String, &str)> = out
        .blocklist
        .iter()
        .map(|b| (b.ip.to_string(), b.reason.as_str()))
        .collect();
    assert_eq!(reasons[0], ("192.0.2.0/24".to_string(), "manual"));
    assert!(!reasons.iter().any(|(_, r)| *r == "stale"), "{reasons:?}");
    let scanner: Vec<_> = out
        .blocklist
        .iter()
        .filter(|b| b.ip.to_string() == "203.0.113.12")
        .collect();
    assert_eq!(scanner.len(), 1, "{reasons:?}");
    assert_eq!(
        scanner[0].expires_at,
        Some(T0 + out.settings.trained_block_seconds),
        "re-learned: the new expiry"
    );
    assert!(out.learned.keywords.iter().all(|k| k.word != "oldword"));
    assert!(!out.learned.keywords.is_empty());
    // 3,000 lines are below AIWAF_MIN_AI_LOGS: keyword and 404 rules only.
    assert!(out.learned.model.is_none());
    // And the filter's loader accepts it.
    Engine::new(&out, T0).unwrap();
}

#[test]
fn a_policy_with_geo_blocking_trains_with_its_country_table() {
    let dir = TempDir::new("train-geo");
    let mut log = Vec::new();
    crate::sample_log::write(&mut log, 500, 3).unwrap();
    dir.write("access.log", &log);
    let db = crate::geoip::tests::tiny_db(&dir, &[("192.0.2.0/24", "RU")]);
    let policy = dir.write(
        "policy.json",
        br#"{"settings":{"AIWAF_GEO_BLOCK_ENABLED":true,"AIWAF_GEO_BLOCK_COUNTRIES":["RU"]}}"#,
    );
    let mut args = train_args(&dir, Some(policy.clone()), "access.log");
    // Without the database the policy is incomplete, and refused.
    let e = super::run(&args).unwrap_err();
    assert!(format!("{e:#}").contains("geoip"), "{e:#}");
    args.geoip = Some(db);
    super::run(&args).unwrap();
    let out = Bundle::from_json(&std::fs::read(dir.0.join("bundle.json")).unwrap()).unwrap();
    assert_eq!(out.geoip.unwrap().v4, [(0xC000_0200, 0xC000_02FF, 0)]);
}
