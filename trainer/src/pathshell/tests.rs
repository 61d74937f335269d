//! Scripted sessions against a small manifest and a policy in a temporary directory.

use std::path::{Path, PathBuf};

use super::Shell;
use crate::testutil::TempDir;

/// One route of the manifest format (`manifest-gen/tests/golden/*.json`).
fn route(methods: &[&str], category: &str, matching: Option<&str>) -> String {
    let methods: Vec<String> = methods.iter().map(|m| format!("\"{m}\"")).collect();
    let matching = matching.map_or_else(String::new, |m| format!("\"match\": \"{m}\", "));
    format!(
        r#"{{"auth_required": false, "category": "{category}", {matching}"methods": [{}],
            "protections": {{"ai_anomaly": {{"enabled": true}}, "header_validation": {{"enabled": false}},
            "honeypot": {{"enabled": false}}, "ip_keyword_block": {{"enabled": true}},
            "rate_limit": {{"requests": 120, "window_seconds": 60}}}}, "response_type": "json"}}"#,
        methods.join(", ")
    )
}

fn manifest_json() -> String {
    let routes = [
        ("/api/items", route(&["GET", "POST"], "api", None)),
        ("/api/items/{id}", route(&["DELETE", "GET"], "api", None)),
        ("/api/status", route(&["GET"], "api", None)),
        ("/health", route(&["GET"], "app", None)),
        ("/static/", route(&[], "static", Some("prefix"))),
        ("^/x/[0-9]+$", route(&[], "app", Some("regex"))),
    ];
    let body: Vec<String> = routes
        .iter()
        .map(|(k, r)| format!("\"{k}\": {r}"))
        .collect();
    format!(
        "{{\"schema_version\": \"1.0\", \"source\": \"manual\", \"routes\": {{{}}}}}",
        body.join(", ")
    )
}

/// A temporary directory with the manifest; the policy path is not created.
fn setup(tag: &str) -> (TempDir, PathBuf, PathBuf) {
    let dir = TempDir::new(tag);
    let manifest = dir.write("paths.json", manifest_json().as_bytes());
    let policy = dir.0.join("policy.json");
    (dir, manifest, policy)
}

/// Runs `script` as piped input (no prompt) and returns the output.
fn session(manifest: &Path, policy: &Path, script: &str) -> String {
    let mut shell = Shell::open(manifest, policy).unwrap();
    let mut out = Vec::new();
    shell
        .serve(&mut script.as_bytes(), &mut out, false)
        .unwrap();
    String::from_utf8(out).unwrap()
}

/// AIWAF_EXEMPT_PATHS as written in the policy file.
fn exempt_list(policy: &Path) -> Vec<String> {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(policy).unwrap()).unwrap();
    v["settings"]["AIWAF_EXEMPT_PATHS"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn ls_shows_directories_routes_and_default_exemptions() {
    let (_dir, manifest, policy) = setup("ps-ls");
    let out = session(&manifest, &policy, "ls\ncd api\npwd\nls\nls items\n");
    assert_eq!(
        out,
        "\
api/
health  (GET · app) [exempt]
static  (any method · static · prefix) [exempt]
/api
items/  (GET, POST · api)
status  (GET · api)
{id}  (DELETE, GET · api)
"
    );
    assert!(!policy.exists(), "browsing never writes the policy");
}

#[test]
fn exempt_adds_the_prefix_once_and_unexempt_removes_it() {
    let (_dir, manifest, policy) = setup("ps-exempt");
    std::fs::write(
        &policy,
        "{\"settings\": {\"AIWAF_RATE_MAX\": 30, \"AIWAF_EXEMPT_PATHS\": [\"/health\"]}}\n",
    )
    .unwrap();
    let out = session(
        &manifest,
        &policy,
        "cd /api/items\nexempt\nexempt\ncd ..\nls\n",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("added path exemption /api/items to AIWAF_EXEMPT_PATHS"),
        "{out}"
    );
    assert!(lines[1].contains("already exempt"), "{out}");
    assert_eq!(lines[2], "items/  (GET, POST · api) [exempt]");
    assert_eq!(lines[3], "status  (GET · api)");
    assert_eq!(exempt_list(&policy), ["/health", "/api/items"]);
    let text = std::fs::read_to_string(&policy).unwrap();
    assert!(
        text.find("AIWAF_RATE_MAX").unwrap() < text.find("AIWAF_EXEMPT_PATHS").unwrap(),
        "key order kept: {text}"
    );

    let out = session(
        &manifest,
        &policy,
        "cd api\nunexempt items\nls\nunexempt items\n",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("removed path exemption /api/items"),
        "{out}"
    );
    assert_eq!(lines[1], "items/  (GET, POST · api)");
    assert!(
        lines[3].starts_with("error: /api/items is not in AIWAF_EXEMPT_PATHS"),
        "{out}"
    );
    assert_eq!(exempt_list(&policy), ["/health"]);
}

#[test]
fn a_new_policy_starts_from_the_default_list() {
    let (_dir, manifest, policy) = setup("ps-default");
    let out = session(&manifest, &policy, "exempt health\n");
    assert!(out.starts_with("/health is already exempt"), "{out}");
    assert!(!policy.exists(), "a no-op writes nothing");
    let out = session(&manifest, &policy, "exempt api/status\nls api\n");
    assert!(
        out.contains("(the list was not set: written as the default"),
        "{out}"
    );
    assert!(out.ends_with("status  (GET · api) [exempt]\n"), "{out}");
    let list = exempt_list(&policy);
    assert_eq!(list.iter().filter(|e| *e == "/api/status").count(), 1);
    assert!(
        list.contains(&"/static/".to_owned()),
        "defaults kept: {list:?}"
    );
}

#[test]
fn exempt_below_a_parameter_or_at_the_root_is_refused() {
    let (_dir, manifest, policy) = setup("ps-template");
    let out = session(
        &manifest,
        &policy,
        "cd /api/items/{id}\nexempt\nunexempt\ncd /api/items\nexempt {id}\ncd /\nexempt\n",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    for l in &lines[..3] {
        assert!(
            l.starts_with("error: cannot exempt /api/items/{id}: `{id}` is a route parameter"),
            "{out}"
        );
        assert!(
            l.ends_with("exempt /api/items to cover everything below it"),
            "{out}"
        );
    }
    assert!(lines[3].starts_with("error: will not exempt `/`"), "{out}");
    assert!(!policy.exists(), "nothing written");
}

#[test]
fn navigation_errors_keep_the_session_going() {
    let (_dir, manifest, policy) = setup("ps-cd");
    let out = session(
        &manifest,
        &policy,
        "cd ..\npwd\nup\npwd\ncd api/nope\npwd\ncd api\nfrobnicate\n\n# comment\ncd ../../..\npwd\ncd /api/items/{id}\npwd\nup\nup\npwd\ncd\npwd\ncd a b\nls health\nexit\npwd\n",
    );
    assert_eq!(
        out,
        "\
/
/
error: no such path in the manifest: /api/nope
/
error: unknown command `frobnicate` (`help` lists the commands)
/
/api/items/{id}
/api
/
error: `cd` takes at most one argument
(nothing below /health)
"
    );
}

#[test]
fn exemptions_from_a_parent_show_and_are_explained() {
    let (_dir, manifest, policy) = setup("ps-under");
    std::fs::write(
        &policy,
        "{\"settings\": {\"AIWAF_EXEMPT_PATHS\": [\"/API/\"]}}",
    )
    .unwrap();
    let out = session(
        &manifest,
        &policy,
        "ls\ncd api\nls\nunexempt items\ninfo items\n",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "api/    [exempt]");
    assert_eq!(lines[1], "health  (GET · app)");
    assert_eq!(lines[3], "items/  (GET, POST · api) [exempt: under /API/]");
    assert!(
        lines[5].starts_with("error: /api/items is not listed itself"),
        "{out}"
    );
    assert_eq!(
        lines[6],
        "route /api/items (template): GET, POST · api · response json · auth not required · rate 120/60s · off: header_validation, honeypot"
    );
    assert_eq!(
        lines[7],
        "/api/items: exempt (under /API/ in AIWAF_EXEMPT_PATHS)"
    );
}

#[test]
fn the_prompt_shows_the_path_and_end_of_input_ends_the_session() {
    let (_dir, manifest, policy) = setup("ps-prompt");
    let mut shell = Shell::open(&manifest, &policy).unwrap();
    let mut out = Vec::new();
    shell
        .serve(&mut "cd api\n".as_bytes(), &mut out, true)
        .unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), "aiwaf:/> aiwaf:/api> \n");
}

#[test]
fn a_missing_or_invalid_manifest_or_policy_is_refused_at_start() {
    let (dir, manifest, policy) = setup("ps-open");
    let err = |m: &Path, p: &Path| format!("{:#}", Shell::open(m, p).err().unwrap());
    let e = err(&dir.0.join("nope.json"), &policy);
    assert!(e.contains("cannot read the route manifest"), "{e}");
    let bad = dir.write(
        "bad.json",
        br#"{"schema_version": "1.0", "source": "manual", "routes": {"/x": {"category": "api"}}}"#,
    );
    let e = err(&bad, &policy);
    assert!(e.contains("is not a valid route manifest"), "{e}");
    assert!(e.contains("routes[\"/x\"]"), "names the key: {e}");
    let bad_policy = dir.write(
        "policy.json",
        b"{\"settings\": {\"AIWAF_EXEMPT_PATHS\": \"x\"}}",
    );
    let e = err(&manifest, &bad_policy);
    assert!(e.contains("AIWAF_EXEMPT_PATHS"), "{e}");
}

#[test]
fn regex_routes_stay_out_of_the_tree() {
    let (_dir, manifest, policy) = setup("ps-regex");
    let shell = Shell::open(&manifest, &policy).unwrap();
    assert_eq!(shell.tree.regex, ["^/x/[0-9]+$"]);
    assert_eq!(shell.tree.routes, 6);
}

#[test]
fn only_input_output_failures_end_the_session() {
    use anyhow::Context as _;
    let io: anyhow::Result<()> = Err(std::io::Error::other("disk full")).context("cannot write x");
    assert!(super::is_io(&io.unwrap_err()));
    assert!(!super::is_io(&anyhow::anyhow!(
        "/x is not in AIWAF_EXEMPT_PATHS"
    )));
}
