//! The `aiwaf-manifest` binary: what it writes, where, what it prints, and how it fails.

use std::path::Path;
use std::process::{Command, Output};

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn golden(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    std::fs::read_to_string(path).expect("golden file")
}

fn run(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_aiwaf-manifest"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("binary runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn default_output_is_dot_aiwaf_paths_json_in_the_current_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = fixture("openapi.yaml");
    let out = run(
        dir.path(),
        &["--openapi", spec.to_str().expect("utf-8 path")],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let written = std::fs::read_to_string(dir.path().join(".aiwaf/paths.json")).expect("written");
    assert_eq!(written, golden("openapi.json"));
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(
        stdout.contains(".aiwaf/paths.json: 12 routes from openapi (static 1, admin 1, auth 2, api 2, upload 1, form 1, app 4)"),
        "{stdout}"
    );
    // No temporary file is left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path().join(".aiwaf"))
        .expect("dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names, ["paths.json"]);
}

#[test]
fn envoy_routes_go_to_the_given_output() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = fixture("envoy-bootstrap.yaml");
    let out = run(
        dir.path(),
        &[
            "--envoy-routes",
            config.to_str().expect("utf-8 path"),
            "--output",
            "deep/er/manifest.json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let written =
        std::fs::read_to_string(dir.path().join("deep/er/manifest.json")).expect("written");
    assert_eq!(written, golden("envoy.json"));
}

#[test]
fn logs_are_summarised_on_stderr() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("access.log");
    let mut lines = String::new();
    for i in 0..3 {
        lines.push_str(&format!(
            "198.18.0.1 - - [01/Nov/2026:00:00:0{i} +0000] \"GET /products/{i} HTTP/1.1\" 200 512 \"-\" \"Mozilla/5.0\"\n"
        ));
    }
    lines.push_str("203.0.113.9 - - [01/Nov/2026:00:00:09 +0000] \"GET /.env HTTP/1.1\" 404 0 \"-\" \"curl\"\n");
    std::fs::write(&log, lines).expect("log written");
    let out = run(dir.path(), &["--logs", "access.log", "-o", "m.json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("3 successful requests used, 1 error responses"));
    assert!(text(&out.stdout).contains("1 routes from logs (app 1)"));
    let written = std::fs::read_to_string(dir.path().join("m.json")).expect("written");
    assert!(written.contains("\"/products/{id}\""), "{written}");
    assert!(!written.contains(".env"), "{written}");
}

#[test]
fn bad_input_fails_without_writing() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("bad.yaml"), "openapi: 3.0.0\npaths: [\n").expect("written");
    let out = run(dir.path(), &["--openapi", "bad.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("bad.yaml") && err.contains("invalid YAML"),
        "{err}"
    );
    assert!(!dir.path().join(".aiwaf").exists());

    let out = run(dir.path(), &["--envoy-routes", "missing.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("cannot open missing.yaml"));

    // Logs with no successful request give no routes: nothing is written.
    std::fs::write(
        dir.path().join("probes.log"),
        "203.0.113.9 - - [01/Nov/2026:00:00:09 +0000] \"GET /.env HTTP/1.1\" 404 0 \"-\" \"curl\"\n",
    )
    .expect("written");
    let out = run(dir.path(), &["--logs", "probes.log"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no routes"),
        "{}",
        text(&out.stderr)
    );
    assert!(!dir.path().join(".aiwaf").exists());
}

#[test]
fn exactly_one_source_is_required() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(2), "usage error");
    let spec = fixture("openapi.yaml");
    let spec = spec.to_str().expect("utf-8 path");
    let out = run(dir.path(), &["--openapi", spec, "--envoy-routes", spec]);
    assert_eq!(out.status.code(), Some(2), "usage error");
    assert!(text(&out.stderr).contains("cannot be used with"));
}
