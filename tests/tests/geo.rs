//! GeoIP in the real Envoy: a bundle with a compiled country table (as `aiwaf bundle
//! --geoip` writes it; the compilation from a database is unit-tested in the trainer).

use aiwaf_e2e::{browser_headers, Envoy, EnvoyOptions};

fn status(envoy: &Envoy, client: &str) -> u16 {
    envoy
        .client()
        .request("GET", "/")
        .headers(browser_headers())
        .xff(client)
        .send()
        .unwrap_or_else(|e| panic!("{e:#}"))
        .status
}

/// 192.0.2.0/24 is "RU" and 2001:db8::/32 "CN" in this table; everything else is unknown.
const TABLE: &str = r#""geoip":{"source":"e2e","block":["CN","RU"],"countries":["CN","RU"],
    "v4":[[3221225984,3221226239,1]],"v6":[["2001:db8::","2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",0]]}"#;

#[test]
fn clients_of_refused_countries_are_blocked_others_pass() {
    let bundle = format!(
        r#"{{"settings":{{"AIWAF_GEO_BLOCK_ENABLED":true,"AIWAF_GEO_BLOCK_COUNTRIES":["RU","CN"]}},{TABLE}}}"#
    );
    let envoy = Envoy::start(EnvoyOptions::with_bundle(bundle)).unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(status(&envoy, "192.0.2.10"), 403);
    assert_eq!(status(&envoy, "2001:db8::5"), 403);
    assert_eq!(
        status(&envoy, "198.51.100.10"),
        200,
        "unknown country: allowed"
    );
    let event = envoy
        .wait_for_event("block", |e| e["client"] == "192.0.2.10")
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(event["detector"], "geo", "{event}");
    assert_eq!(event["evidence"], "RU", "{event}");
}

#[test]
fn a_table_compiled_for_other_countries_is_refused_at_load() {
    // The policy now also blocks DE, but the table was compiled for CN and RU: Envoy refuses
    // the configuration rather than enforce a weaker policy.
    let bundle = format!(
        r#"{{"settings":{{"AIWAF_GEO_BLOCK_ENABLED":true,"AIWAF_GEO_BLOCK_COUNTRIES":["RU","CN","DE"]}},{TABLE}}}"#
    );
    let log = Envoy::start_expect_failure(EnvoyOptions::with_bundle(bundle))
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert!(
        log.contains("recompile the bundle"),
        "{}",
        aiwaf_e2e::envoy::tail(&log, 20)
    );
}
