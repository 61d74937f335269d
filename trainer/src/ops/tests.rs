//! Tests of the ops commands, called as functions on files in a temporary directory: every
//! command, bad input, idempotence, atomic writes and byte stability of repeated edits.

use std::path::{Path, PathBuf};

use aiwaf_core::{Bundle, FEATURE_NAMES};
use clap::Parser as _;

use super::exempt::Kind;
use super::geo::List;
use super::{blocklist, diagnose, dispatch, exempt, geo, keywords, reset};
use super::{DiagnoseArgs, PolicyArg, Report, ResetArgs};
use crate::testutil::TempDir;

/// A fixed clock: 2027-01-15 08:00 UTC.
const NOW: u64 = 1_800_000_000;
const HOUR: u64 = 3600;

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

fn bundle(p: &Path) -> Bundle {
    Bundle::from_json(&std::fs::read(p).unwrap()).unwrap()
}

fn err(r: anyhow::Result<Report>) -> String {
    format!("{:#}", r.expect_err("expected a refusal"))
}

fn text(r: anyhow::Result<Report>) -> String {
    let r = r.unwrap();
    assert!(r.ok);
    r.text
}

/// Files in the policy's directory: an atomic write leaves no temporary file behind.
fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn reset_args(p: &Path, flags: &[&str], confirm: bool) -> ResetArgs {
    ResetArgs {
        blocklist: flags.contains(&"blocklist"),
        keywords: flags.contains(&"keywords"),
        exemptions: flags.contains(&"exemptions"),
        confirm,
        policy: PolicyArg {
            policy: p.to_path_buf(),
        },
    }
}

fn diag(policy: &Path, bundle: Option<&Path>, json: bool) -> Report {
    diagnose::run(
        &DiagnoseArgs {
            policy: policy.to_path_buf(),
            bundle: bundle.map(Path::to_path_buf),
            json,
        },
        NOW,
    )
    .unwrap()
}

/// A one-leaf model the filter accepts, trained at `NOW - 2 h`.
fn model_json() -> String {
    let names: Vec<String> = FEATURE_NAMES.iter().map(|n| format!("\"{n}\"")).collect();
    format!(
        r#"{{"feature_names": [{}], "samples": 10, "trained_at": {}, "forest": {{"features": {}, "sample_size": 2, "threshold": 0.6,
            "trees": [{{"feature": [-1], "split": [0.0], "left": [0], "right": [0], "size": [2]}}]}}}}"#,
        names.join(", "),
        NOW - 2 * HOUR,
        FEATURE_NAMES.len()
    )
}

/// A policy as `aiwaf train` writes it (canonical `Bundle::to_json_pretty`).
fn trained_policy(dir: &TempDir) -> PathBuf {
    let src = format!(
        r#"{{"version": "v1", "settings": {{"AIWAF_RATE_MAX": 30, "AIWAF_RATE_FLOOD": 60}},
            "blocklist": [{{"ip": "203.0.113.0/24", "reason": "trained: 404-heavy", "evidence": "12 404s", "expires_at": {}}}],
            "learned": {{"keywords": [{{"word": "dumper", "count": 12, "clients": 4, "expires_at": {}}}], "model": {}}}}}"#,
        NOW + 2 * HOUR,
        NOW + 7 * 86_400,
        model_json()
    );
    let b = Bundle::from_json(src.as_bytes()).unwrap();
    dir.write("policy.json", b.to_json_pretty().as_bytes())
}

// ---- blocklist ----

#[test]
fn blocklist_add_creates_the_file_and_its_directory() {
    let dir = TempDir::new("ops-bl-create");
    let p = dir.0.join("nested/.aiwaf/policy.json");
    let out = text(blocklist::add(&p, "203.0.113.9", None, None, NOW));
    assert!(out.contains("added 203.0.113.9 to the blocklist"), "{out}");
    assert!(out.contains("permanent"), "{out}");
    let out = text(blocklist::add(
        &p,
        "2001:db8::1/32",
        Some("scanner"),
        Some(HOUR),
        NOW,
    ));
    assert!(out.contains("written as 2001:db8::/32"), "{out}");
    let b = bundle(&p);
    assert_eq!(b.blocklist.len(), 2);
    assert_eq!(b.blocklist[0].reason, "manual");
    assert_eq!(b.blocklist[0].expires_at, None);
    assert_eq!(b.blocklist[1].ip.to_string(), "2001:db8::/32");
    assert_eq!(b.blocklist[1].reason, "scanner");
    assert_eq!(b.blocklist[1].expires_at, Some(NOW + HOUR));
    assert_eq!(files_in(p.parent().unwrap()), ["policy.json"]);
}

#[test]
fn blocklist_add_is_idempotent() {
    let dir = TempDir::new("ops-bl-idem");
    let p = dir.0.join("policy.json");
    text(blocklist::add(&p, "10.0.0.0/8", None, None, NOW));
    let before = read(&p);
    let out = text(blocklist::add(&p, "10.1.2.3/8", Some("other"), None, NOW));
    assert!(out.contains("already present"), "{out}");
    assert!(out.contains("to change it"), "{out}");
    assert_eq!(read(&p), before);
    assert_eq!(bundle(&p).blocklist.len(), 1);
}

#[test]
fn blocklist_add_replaces_an_expired_entry() {
    let dir = TempDir::new("ops-bl-expired");
    let p = dir.write(
        "policy.json",
        format!(
            r#"{{"blocklist": [{{"ip": "198.51.100.7", "reason": "old", "expires_at": {}}}]}}"#,
            NOW - 5
        )
        .as_bytes(),
    );
    let out = text(blocklist::add(&p, "198.51.100.7", None, Some(60), NOW));
    assert!(out.contains("replaced the expired entry"), "{out}");
    let b = bundle(&p);
    assert_eq!(b.blocklist.len(), 1);
    assert_eq!(b.blocklist[0].expires_at, Some(NOW + 60));
    assert_eq!(b.blocklist[0].reason, "manual");
}

#[test]
fn blocklist_add_refuses_bad_input_and_leaves_the_file() {
    let dir = TempDir::new("ops-bl-bad");
    let p = dir.write("policy.json", b"{\"version\": \"x\"}\n");
    let e = err(blocklist::add(&p, "10.0.0.0/33", None, None, NOW));
    assert!(
        e.contains("`10.0.0.0/33` has prefix length 33, more than 32"),
        "{e}"
    );
    assert!(e.contains("is unchanged"), "{e}");
    for bad in ["nope", "10.0.0/8", "=HYPERLINK(1)", ""] {
        err(blocklist::add(&p, bad, None, None, NOW));
    }
    let e = err(blocklist::add(&p, "10.0.0.1", None, Some(0), NOW));
    assert!(e.contains("--ttl must be at least 1 second"), "{e}");
    err(blocklist::add(&p, "10.0.0.1", None, Some(u64::MAX), NOW));
    let e = err(blocklist::add(&p, "10.0.0.1", Some("a\nb"), None, NOW));
    assert!(e.contains("control characters"), "{e}");
    assert_eq!(read(&p), "{\"version\": \"x\"}\n");
    assert_eq!(files_in(&dir.0), ["policy.json"]);
}

#[test]
fn blocklist_remove_and_missing_entries() {
    let dir = TempDir::new("ops-bl-remove");
    let p = dir.write(
        "policy.json",
        br#"{"blocklist": [{"ip": "203.0.113.0/24", "reason": "scanner"}], "version": "v"}"#,
    );
    let e = err(blocklist::remove(&p, "203.0.113.5", NOW));
    assert!(e.contains("203.0.113.5 is not in the blocklist"), "{e}");
    assert!(e.contains("it lies in the entry 203.0.113.0/24"), "{e}");
    let e = err(blocklist::remove(&p, "10.0.0.0/33", NOW));
    assert!(e.contains("prefix length 33"), "{e}");
    let out = text(blocklist::remove(&p, "203.0.113.7/24", NOW));
    assert!(out.contains("removed 203.0.113.0/24"), "{out}");
    assert!(out.contains("reason `scanner`"), "{out}");
    // The emptied list goes: `blocklist` absent means the same and undoes the first add.
    assert_eq!(read(&p), "{\n  \"version\": \"v\"\n}\n");
    let e = err(blocklist::remove(&p, "203.0.113.0/24", NOW));
    assert!(e.contains("not in the blocklist"), "{e}");
    // A missing policy has nothing to remove.
    let e = err(blocklist::remove(&dir.0.join("none.json"), "1.2.3.4", NOW));
    assert!(e.contains("not in the blocklist"), "{e}");
}

#[test]
fn blocklist_list_shows_remaining_time_and_marks_expired() {
    let dir = TempDir::new("ops-bl-list");
    let p = dir.write(
        "policy.json",
        format!(
            r#"{{"blocklist": [
                {{"ip": "203.0.113.0/24", "reason": "scanner", "expires_at": {}}},
                {{"ip": "198.51.100.7", "reason": "trained: anomaly", "evidence": "score 0.71", "expires_at": {}}},
                {{"ip": "192.0.2.1"}}]}}"#,
            NOW + HOUR + 300,
            NOW - 2 * HOUR
        )
        .as_bytes(),
    );
    let out = text(blocklist::list(&p, false, NOW));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "IP              EXPIRES            REASON            EVIDENCE"
    );
    assert_eq!(lines[1], "203.0.113.0/24  in 1h 5m           scanner");
    assert_eq!(
        lines[2],
        "198.51.100.7    EXPIRED 2h 0m ago  trained: anomaly  score 0.71"
    );
    assert_eq!(lines[3], "192.0.2.1       permanent");
    assert!(out.contains("3 entries, 1 expired"), "{out}");
    let v: serde_json::Value = serde_json::from_str(&text(blocklist::list(&p, true, NOW))).unwrap();
    assert_eq!(v[0]["remaining_seconds"], HOUR + 300);
    assert_eq!(v[1]["expired"], true);
    assert_eq!(v[1]["remaining_seconds"], 0);
    assert_eq!(v[2]["expires_at"], serde_json::Value::Null);
    assert_eq!(v[2]["remaining_seconds"], serde_json::Value::Null);
    // A missing policy lists nothing.
    let out = text(blocklist::list(&dir.0.join("none.json"), false, NOW));
    assert!(out.contains("no blocklist entries"), "{out}");
    assert_eq!(
        text(blocklist::list(&dir.0.join("none.json"), true, NOW)),
        "[]\n"
    );
}

// ---- exemptions ----

#[test]
fn exempt_ip_add_remove_list() {
    let dir = TempDir::new("ops-ex-ip");
    let p = dir.write(
        "policy.json",
        br#"{"blocklist": [{"ip": "10.9.9.9"}], "settings": {"AIWAF_RATE_MAX": 5}}"#,
    );
    let out = text(exempt::add(Kind::Ip, &p, "10.0.0.0/8", Some("office"), NOW));
    assert!(out.contains("added client exemption 10.0.0.0/8"), "{out}");
    assert!(out.contains("reason `office` is not stored"), "{out}");
    assert!(
        out.contains("the blocklist entry 10.9.9.9 overlaps 10.0.0.0/8"),
        "{out}"
    );
    assert!(!read(&p).contains("office"));
    let before = read(&p);
    let out = text(exempt::add(Kind::Ip, &p, "10.1.0.0/8", None, NOW));
    assert!(out.contains("already exempt"), "{out}");
    assert_eq!(read(&p), before);
    let e = err(exempt::add(Kind::Ip, &p, "::1/129", None, NOW));
    assert!(e.contains("prefix length 129, more than 128"), "{e}");
    let out = text(exempt::list(Kind::Ip, &p, false));
    assert!(out.starts_with("CLIENT\n10.0.0.0/8\n"), "{out}");
    let v: serde_json::Value =
        serde_json::from_str(&text(exempt::list(Kind::Ip, &p, true))).unwrap();
    assert_eq!(v["entries"][0], "10.0.0.0/8");
    assert_eq!(v["set"], true);
    let e = err(exempt::remove(Kind::Ip, &p, "10.1.2.3", NOW));
    assert!(e.contains("10.1.2.3 is not in AIWAF_EXEMPT_IPS"), "{e}");
    assert!(e.contains("it lies in the exemption 10.0.0.0/8"), "{e}");
    text(exempt::remove(Kind::Ip, &p, "10.0.0.0/8", NOW));
    let b = bundle(&p);
    assert!(b.settings.exempt_ips.is_empty());
    assert_eq!(b.settings.rate_max, 5);
    assert!(
        read(&p).contains("\"AIWAF_EXEMPT_IPS\": []"),
        "the list stays, empty"
    );
}

#[test]
fn exempt_path_starts_from_the_defaults_and_compares_normalised() {
    let dir = TempDir::new("ops-ex-path");
    let p = dir.0.join("policy.json");
    let out = text(exempt::add(Kind::Path, &p, "/metrics", None, NOW));
    assert!(out.contains("written as the default"), "{out}");
    assert_eq!(
        bundle(&p).settings.exempt_paths,
        [
            "/favicon.ico",
            "/robots.txt",
            "/static/",
            "/health/",
            "/metrics"
        ]
    );
    let before = read(&p);
    let out = text(exempt::add(Kind::Path, &p, "/Health", None, NOW));
    assert!(out.contains("already exempt"), "{out}");
    assert!(out.contains("`/health/`"), "{out}");
    assert_eq!(read(&p), before);
    let e = err(exempt::add(Kind::Path, &p, "metrics", None, NOW));
    assert!(e.contains("must start with `/`"), "{e}");
    let out = text(exempt::add(Kind::Path, &p, "/", None, NOW));
    assert!(out.contains("covers every path"), "{out}");
    text(exempt::remove(Kind::Path, &p, "/", NOW));
    text(exempt::remove(Kind::Path, &p, "/static", NOW));
    let e = err(exempt::remove(Kind::Path, &p, "/static/", NOW));
    assert!(e.contains("/static/ is not in AIWAF_EXEMPT_PATHS"), "{e}");
    let out = text(exempt::list(Kind::Path, &p, false));
    assert!(!out.contains("/static/"), "{out}");
    assert!(
        out.contains("4 entries in AIWAF_EXEMPT_PATHS (set in"),
        "{out}"
    );
    // Not set: the default list is shown as such.
    let out = text(exempt::list(Kind::Path, &dir.0.join("none.json"), false));
    assert!(out.contains("/favicon.ico"), "{out}");
    assert!(out.contains("the default applies"), "{out}");
    // Removing from the default list writes the rest (an empty list would differ from absent).
    let q = dir.0.join("q.json");
    text(exempt::remove(Kind::Path, &q, "/favicon.ico", NOW));
    assert_eq!(
        bundle(&q).settings.exempt_paths,
        ["/robots.txt", "/static/", "/health/"]
    );
}

// ---- keywords ----

#[test]
fn keywords_list_and_remove() {
    let dir = TempDir::new("ops-kw");
    let p = dir.write(
        "policy.json",
        format!(
            r#"{{"learned": {{"keywords": [
                {{"word": "dumper", "count": 12, "clients": 4, "expires_at": {}}},
                {{"word": "Backup_Old", "count": 3, "clients": 3, "expires_at": {}}}]}}}}"#,
            NOW + 20 * HOUR,
            NOW - 1
        )
        .as_bytes(),
    );
    let out = text(keywords::list(&p, false, NOW));
    assert!(
        out.starts_with("WORD        COUNT  CLIENTS  EXPIRES\n"),
        "{out}"
    );
    assert!(
        out.contains("dumper      12     4        in 20h 0m"),
        "{out}"
    );
    assert!(
        out.contains("Backup_Old  3      3        EXPIRED 1s ago"),
        "{out}"
    );
    assert!(out.contains("2 learned keywords, 1 expired"), "{out}");
    let v: serde_json::Value = serde_json::from_str(&text(keywords::list(&p, true, NOW))).unwrap();
    assert_eq!(v[0]["word"], "dumper");
    assert_eq!(v[0]["clients"], 4);
    assert_eq!(v[1]["expired"], true);
    let e = err(keywords::remove(&p, "shell", NOW));
    assert!(e.contains("`shell` is not a learned keyword"), "{e}");
    assert!(e.contains("static keyword"), "{e}");
    let out = text(keywords::remove(&p, "backup_old", NOW));
    assert!(
        out.contains("removed learned keyword `backup_old`"),
        "{out}"
    );
    assert!(out.contains("AIWAF_ALLOWED_PATH_KEYWORDS"), "{out}");
    text(keywords::remove(&p, "DUMPER", NOW));
    assert_eq!(read(&p), "{}\n");
    let out = text(keywords::list(&p, false, NOW));
    assert!(out.contains("no learned keywords"), "{out}");
}

// ---- reset ----

#[test]
fn reset_needs_confirm_and_removes_the_chosen_sections() {
    let dir = TempDir::new("ops-reset");
    let p = trained_policy(&dir);
    text(exempt::add(Kind::Ip, &p, "192.0.2.0/24", None, NOW));
    text(exempt::add(Kind::Path, &p, "/metrics", None, NOW));
    let before = read(&p);
    let e = err(reset::run(&reset_args(&p, &[], false), NOW));
    assert!(e.contains("refused without --confirm"), "{e}");
    assert!(e.contains("blocklist: 1 entry"), "{e}");
    assert!(e.contains("learned.keywords: 1 word"), "{e}");
    assert!(e.contains("settings.AIWAF_EXEMPT_IPS: 1 entry"), "{e}");
    assert!(e.contains("settings.AIWAF_EXEMPT_PATHS: 5 entries"), "{e}");
    assert_eq!(read(&p), before);

    let out = text(reset::run(&reset_args(&p, &["keywords"], true), NOW));
    assert!(out.contains("learned.keywords: 1 word"), "{out}");
    assert!(
        out.contains("anomaly model (learned.model) is kept"),
        "{out}"
    );
    let b = bundle(&p);
    assert!(b.learned.keywords.is_empty() && b.learned.model.is_some());
    assert_eq!(b.blocklist.len(), 1);

    text(reset::run(
        &reset_args(&p, &["blocklist", "exemptions"], true),
        NOW,
    ));
    let b = bundle(&p);
    assert!(b.blocklist.is_empty());
    assert!(b.settings.exempt_ips.is_empty());
    assert_eq!(b.settings.exempt_paths.len(), 4, "defaults again");
    assert_eq!(b.settings.rate_max, 30, "other settings kept");
    assert_eq!(b.version.as_deref(), Some("v1"));

    let out = text(reset::run(&reset_args(&p, &[], false), NOW));
    assert!(out.contains("nothing to reset"), "{out}");
}

// ---- geo ----

#[test]
fn geo_lists_store_uppercase_and_say_what_is_needed() {
    let dir = TempDir::new("ops-geo");
    let p = dir.0.join("policy.json");
    let out = text(geo::add(List::Block, &p, "cn", NOW));
    assert!(
        out.contains("added CN to AIWAF_GEO_BLOCK_COUNTRIES"),
        "{out}"
    );
    assert!(out.contains("--geoip"), "{out}");
    assert!(out.contains("AIWAF_GEO_BLOCK_ENABLED is false"), "{out}");
    assert_eq!(bundle(&p).settings.geo_block_countries, ["CN"]);
    let before = read(&p);
    let out = text(geo::add(List::Block, &p, " Cn ", NOW));
    assert!(out.contains("already present"), "{out}");
    assert_eq!(read(&p), before);
    for bad in ["CHN", "C", "1A", "", "ÇN"] {
        let e = err(geo::add(List::Allow, &p, bad, NOW));
        assert!(e.contains("is not a two-letter country code"), "{bad}: {e}");
    }
    let e = err(geo::remove(List::Block, &p, "RU", NOW));
    assert!(e.contains("RU is not in AIWAF_GEO_BLOCK_COUNTRIES"), "{e}");
    let out = text(geo::list(List::Block, &p, false));
    assert!(out.starts_with("COUNTRY\nCN\n"), "{out}");
    assert!(out.contains("AIWAF_GEO_BLOCK_ENABLED is false"), "{out}");
    let v: serde_json::Value =
        serde_json::from_str(&text(geo::list(List::Block, &p, true))).unwrap();
    assert_eq!(v["entries"][0], "CN");
    assert_eq!(v["enabled"], false);
    text(geo::remove(List::Block, &p, "cn", NOW));
    assert_eq!(
        read(&p),
        "{\n  \"settings\": {\n    \"AIWAF_GEO_BLOCK_COUNTRIES\": []\n  }\n}\n"
    );
}

#[test]
fn geo_edits_on_an_enabled_policy_need_the_table_but_are_not_refused() {
    let dir = TempDir::new("ops-geo-enabled");
    let p = dir.write(
        "policy.json",
        br#"{"settings": {"AIWAF_GEO_BLOCK_ENABLED": true, "AIWAF_GEO_ALLOW_COUNTRIES": ["DE"]}}"#,
    );
    let out = text(geo::add(List::Block, &p, "RU", NOW));
    assert!(out.contains("AIWAF_GEO_BLOCK_ENABLED is true"), "{out}");
    assert!(out.contains("bundle key `geoip`"), "{out}");
    assert!(
        out.contains("AIWAF_GEO_ALLOW_COUNTRIES is not empty and wins"),
        "{out}"
    );
    // An unrelated emergency edit goes through too.
    text(blocklist::add(&p, "203.0.113.9", None, None, NOW));
    assert_eq!(bundle(&p).blocklist.len(), 1);
    // diagnose: a policy awaiting its table is valid with a note; a bundle without it is not.
    let r = diag(&p, None, false);
    assert!(r.ok, "{}", r.text);
    assert!(r.text.contains("note: bundle key `geoip`"), "{}", r.text);
    let r = diag(&p, Some(&p), false);
    assert!(!r.ok);
    assert!(
        r.text.contains("bundle") && r.text.contains("REFUSED"),
        "{}",
        r.text
    );
    assert!(r.text.contains("`geoip`"), "{}", r.text);
}

// ---- validation, atomicity, formatting ----

#[test]
fn an_edit_the_filter_would_refuse_is_not_written() {
    let dir = TempDir::new("ops-refuse");
    // Valid JSON and schema, but the engine refuses it: FLOOD must exceed MAX.
    let bad = br#"{"settings": {"AIWAF_RATE_MAX": 50}}"#;
    let p = dir.write("policy.json", bad);
    let e = err(blocklist::add(&p, "203.0.113.9", None, None, NOW));
    assert!(e.contains("the edited policy is refused"), "{e}");
    assert!(e.contains("settings.AIWAF_RATE_FLOOD"), "{e}");
    assert!(e.contains("is unchanged"), "{e}");
    assert_eq!(std::fs::read(&p).unwrap(), bad);
    assert_eq!(files_in(&dir.0), ["policy.json"]);
    // A policy the loader refuses cannot be edited, and the key is named.
    let q = dir.write("q.json", br#"{"settings": {"AIWAF_RATE_MAXX": 1}}"#);
    let e = err(exempt::add(Kind::Ip, &q, "10.0.0.1", None, NOW));
    assert!(e.contains("settings.AIWAF_RATE_MAXX"), "{e}");
    let n = dir.write("n.json", b"not json");
    let e = err(keywords::list(&n, false, NOW));
    assert!(e.contains("n.json is refused"), "{e}");
    let e = err(geo::add(List::Block, &n, "CN", NOW));
    assert!(e.contains("is refused"), "{e}");
    assert_eq!(read(&n), "not json");
    // An edit may fix what made the policy invalid.
    let r = dir.write(
        "r.json",
        br#"{"settings": {"AIWAF_EXEMPT_PATHS": ["/ok/"]}}"#,
    );
    text(exempt::remove(Kind::Path, &r, "/ok", NOW));
    assert!(bundle(&r).settings.exempt_paths.is_empty());
}

#[test]
fn atomic_write_leaves_a_valid_file_and_keeps_symlinks() {
    let dir = TempDir::new("ops-atomic");
    let p = dir.0.join("policy.json");
    for i in 0..20 {
        text(blocklist::add(
            &p,
            &format!("198.51.100.{i}"),
            None,
            None,
            NOW,
        ));
        // Every intermediate state is a complete, valid policy, with no temporary file left.
        assert_eq!(bundle(&p).blocklist.len(), i + 1);
        assert_eq!(files_in(&dir.0), ["policy.json"]);
    }
    #[cfg(unix)]
    {
        let link = dir.0.join("link.json");
        std::os::unix::fs::symlink(&p, &link).unwrap();
        text(blocklist::remove(&link, "198.51.100.0", NOW));
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(bundle(&p).blocklist.len(), 19);
    }
}

#[test]
fn edits_keep_a_canonical_file_byte_for_byte() {
    let dir = TempDir::new("ops-canonical");
    let p = trained_policy(&dir);
    // What `aiwaf train` writes, plus a final newline, is this module's canonical form.
    let canonical = format!("{}\n", bundle(&p).to_json_pretty());
    std::fs::write(&p, &canonical).unwrap();
    text(blocklist::add(
        &p,
        "192.0.2.1",
        Some("incident 42"),
        Some(HOUR),
        NOW,
    ));
    text(exempt::add(Kind::Ip, &p, "10.0.0.0/8", None, NOW));
    let edited = read(&p);
    // Only the edited parts changed: every other original line is still there, in order.
    let mut lines = edited.lines();
    for line in canonical
        .lines()
        .filter(|l| !l.contains("AIWAF_EXEMPT_IPS"))
    {
        assert!(lines.any(|l| l == line), "lost or moved: {line}");
    }
    assert!(edited.contains("\"AIWAF_EXEMPT_IPS\": [\n      \"10.0.0.0/8\"\n    ],"));
    text(exempt::remove(Kind::Ip, &p, "10.0.0.0/8", NOW));
    text(blocklist::remove(&p, "192.0.2.1", NOW));
    assert_eq!(read(&p), canonical);
}

#[test]
fn edits_keep_the_operators_order_and_spelling() {
    let dir = TempDir::new("ops-order");
    let hand = r#"{"version":"prod-7","settings":{"AIWAF_AI_CONTAMINATION":5e-2,"AIWAF_EXEMPT_IPS":["10.0.0.0/8"],"AIWAF_RATE_MAX":20},"mode":"enforce","detectors":{"header":{"action":"monitor"}}}"#;
    let p = dir.write("policy.json", hand.as_bytes());
    text(exempt::add(Kind::Ip, &p, "192.0.2.0/24", None, NOW));
    let once = read(&p);
    assert!(once.contains("\"AIWAF_AI_CONTAMINATION\": 5e-2"), "{once}");
    let order: Vec<usize> = ["\"version\"", "\"settings\"", "\"mode\"", "\"detectors\""]
        .iter()
        .map(|k| once.find(k).unwrap())
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{once}");
    assert!(
        !once.contains("AIWAF_EXEMPT_PATHS"),
        "defaults are not pinned: {once}"
    );
    // Two more edits and their undo: the same bytes.
    text(exempt::add(Kind::Ip, &p, "2001:db8::/32", None, NOW));
    text(blocklist::add(&p, "203.0.113.0/24", None, None, NOW));
    text(blocklist::remove(&p, "203.0.113.0/24", NOW));
    text(exempt::remove(Kind::Ip, &p, "2001:db8::/32", NOW));
    assert_eq!(read(&p), once);
    text(exempt::remove(Kind::Ip, &p, "192.0.2.0/24", NOW));
    let v1: serde_json::Value = serde_json::from_str(hand).unwrap();
    let v2: serde_json::Value = serde_json::from_str(&read(&p)).unwrap();
    assert_eq!(v1, v2, "back to the same meaning");
}

// ---- diagnose ----

#[test]
fn diagnose_reports_what_is_enabled_sizes_expiry_and_warnings() {
    let dir = TempDir::new("ops-diag");
    let p = trained_policy(&dir);
    text(blocklist::add(
        &p,
        "198.51.100.7",
        None,
        Some(60),
        NOW - 120,
    ));
    text(blocklist::add(&p, "10.1.1.1", None, None, NOW));
    text(exempt::add(Kind::Ip, &p, "10.0.0.0/8", None, NOW));
    text(geo::add(List::Block, &p, "CN", NOW));
    let r = diag(&p, None, false);
    assert!(r.ok, "{}", r.text);
    let t = &r.text;
    assert!(t.contains(": valid ("), "{t}");
    assert!(t.contains("detector ip_block"), "{t}");
    assert!(t.contains("anomaly model         1 trees"), "{t}");
    assert!(
        t.contains("blocklist         3 entries (1 permanent, 1 expired)"),
        "{t}"
    );
    assert!(
        t.contains("model: trained 2027-01-15 06:00 UTC (2h 0m ago) on 10 samples"),
        "{t}"
    );
    assert!(
        t.contains("1 expiring within 24 h: 203.0.113.0/24 (in 2h 0m)"),
        "{t}"
    );
    assert!(
        t.contains("warning: expired blocklist entries: 1 (no longer applied"),
        "{t}"
    );
    assert!(t.contains("AIWAF_GEO_BLOCK_ENABLED is false"), "{t}");
    assert!(
        t.contains("10.1.1.1 overlaps the exemption 10.0.0.0/8"),
        "{t}"
    );

    let r = diag(&p, None, true);
    let v: serde_json::Value = serde_json::from_str(&r.text).unwrap();
    assert_eq!(v["valid"], true);
    let f = &v["files"][0];
    assert_eq!(f["role"], "policy");
    assert_eq!(f["summary"]["mode"], "enforce");
    assert_eq!(f["sizes"]["blocklist_entries"], 3);
    assert_eq!(f["sizes"]["learned_keywords"], 1);
    assert_eq!(f["sizes"]["model_trees"], 1);
    assert!(f["sizes"]["model_json_bytes"].as_u64().unwrap() > 100);
    assert_eq!(f["model"]["trained_at"], NOW - 2 * HOUR);
    assert_eq!(f["expiry"]["blocklist"]["expired"], 1);
    assert_eq!(
        f["expiry"]["keywords"]["expiring_within_24h"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(f["error"], serde_json::Value::Null);

    // Policy and bundle: the bundle lacks the geo table and the new entries.
    let b = dir.write("bundle.json", br#"{"version": "old"}"#);
    let r = diag(&p, Some(&b), false);
    assert!(r.ok, "{}", r.text);
    assert!(
        r.text.contains("bundle ") && r.text.contains("bundle.json: valid"),
        "{}",
        r.text
    );
    assert!(r.text.contains("settings differ"), "{}", r.text);
    assert!(
        r.text.contains("no `geoip` table: rebuild it with --geoip"),
        "{}",
        r.text
    );
    assert!(
        r.text
            .contains("blocklist entries of the policy are not in the bundle"),
        "{}",
        r.text
    );
}

#[test]
fn diagnose_refuses_naming_the_key() {
    let dir = TempDir::new("ops-diag-bad");
    let p = dir.write("policy.json", br#"{"blocklist": [{"ip": "10.0.0.0/33"}]}"#);
    let r = diag(&p, None, false);
    assert!(!r.ok);
    assert!(r.text.contains("REFUSED"), "{}", r.text);
    assert!(
        r.text.contains("bundle key `blocklist[0].ip`"),
        "{}",
        r.text
    );
    let v: serde_json::Value = serde_json::from_str(&diag(&p, None, true).text).unwrap();
    assert_eq!(v["valid"], false);
    assert_eq!(v["files"][0]["error"]["key"], "blocklist[0].ip");

    let n = dir.write("n.json", b"<html>");
    let r = diag(&n, None, false);
    assert!(
        !r.ok && r.text.contains("a bundle is a JSON object"),
        "{}",
        r.text
    );
    let n = dir.write("t.json", b"{\"version\": ");
    let r = diag(&n, None, false);
    assert!(!r.ok && r.text.contains("not valid JSON"), "{}", r.text);
    // Engine-level refusal.
    let e = dir.write("e.json", br#"{"settings": {"AIWAF_STATE_SLOTS": 0}}"#);
    let r = diag(&e, None, true);
    let v: serde_json::Value = serde_json::from_str(&r.text).unwrap();
    assert_eq!(v["files"][0]["error"]["key"], "settings.AIWAF_STATE_SLOTS");
    // A missing policy is `{}`; a missing bundle is refused.
    let r = diag(&dir.0.join("none.json"), None, false);
    assert!(r.ok && r.text.contains("counts as `{}`"), "{}", r.text);
    let r = diag(
        &dir.0.join("none.json"),
        Some(&dir.0.join("nob.json")),
        false,
    );
    assert!(!r.ok && r.text.contains("cannot read"), "{}", r.text);
}

#[test]
fn the_cli_reaches_every_command() {
    let dir = TempDir::new("ops-cli");
    let p = dir.0.join("p.json");
    let ps = p.to_str().unwrap();
    let run = |args: &[&str]| -> anyhow::Result<Report> {
        let mut argv = vec!["aiwaf"];
        argv.extend_from_slice(args);
        argv.extend_from_slice(&["--policy", ps]);
        match crate::cli::Cli::try_parse_from(argv).unwrap().command {
            crate::cli::Command::Ops(cmd) => dispatch(&cmd, NOW),
            other => panic!("not an ops command: {other:?}"),
        }
    };
    text(run(&[
        "blocklist",
        "add",
        "203.0.113.9",
        "--ttl",
        "60",
        "--reason",
        "x",
    ]));
    text(run(&["blocklist", "list", "--json"]));
    text(run(&["exempt", "ip", "add", "10.0.0.1", "--reason", "lb"]));
    text(run(&["exempt", "path", "add", "/metrics"]));
    text(run(&["exempt", "path", "list"]));
    text(run(&["geo", "allow", "add", "de"]));
    text(run(&["geo", "block", "list", "--json"]));
    text(run(&["keywords", "list"]));
    err(run(&["keywords", "remove", "x"]));
    err(run(&["reset"]));
    text(run(&["reset", "--exemptions", "--confirm"]));
    assert!(run(&["diagnose", "--json"]).unwrap().ok);
    let b = bundle(&p);
    assert_eq!(b.blocklist[0].reason, "x");
    assert_eq!(b.settings.geo_allow_countries, ["DE"]);
    assert!(b.settings.exempt_ips.is_empty());
}
