//! `aiwaf push` and `aiwaf bundle`: get a policy to running proxies.
//!
//! `bundle` compiles a policy into the bundle the filter loads (validated by the filter's own
//! loader, canonical JSON). `push` puts a bundle into the file Envoy's extension config
//! discovery watches (`envoy-config/envoy-ecds.yaml`): it refuses a bundle the filter would
//! refuse, keeps the rest of the resource (the `vm_config` above all), and replaces the file
//! by a rename, which is what Envoy's file watcher reacts to (an in-place write would be read
//! half-written or not at all).

use std::path::Path;
use std::process::ExitCode;

use aiwaf_core::{Bundle, Engine};
use anyhow::{anyhow, bail, Context as _, Result};
use serde_json::{json, Value};

use crate::cli::{BundleArgs, PushArgs};

/// The Wasm filter's config type, the ECDS resource Envoy asks for.
const WASM_TYPE: &str = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm";
const STRING_VALUE: &str = "type.googleapis.com/google.protobuf.StringValue";

/// `aiwaf bundle`: policy in, bundle out.
pub fn bundle(args: &BundleArgs) -> Result<ExitCode> {
    let now = crate::now();
    let mut bundle = match &args.policy {
        Some(p) => read_bundle(p)?,
        None => Bundle::from_json(b"{}")?,
    };
    if let Some(db) = &args.geoip {
        bundle.geoip = Some(crate::geoip::compile(db, &bundle.settings)?);
    }
    if let Some(m) = &args.manifest {
        let skipped = crate::manifest::apply(&mut bundle, m)?;
        if skipped > 0 {
            eprintln!("{skipped} regex routes of the manifest left out (the filter matches templates and prefixes)");
        }
    }
    if bundle.version.is_none() {
        bundle.version = Some(format!("policy-{now}"));
    }
    Engine::new(&bundle, now).context("the bundle is refused")?;
    write_atomically(&args.out, bundle.to_json_pretty().as_bytes())?;
    println!(
        "wrote {} (bundle `{}`)",
        args.out.display(),
        bundle.version.as_deref().unwrap_or_default()
    );
    Ok(ExitCode::SUCCESS)
}

/// `aiwaf push`: bundle into the ECDS resource file.
pub fn push(args: &PushArgs) -> Result<ExitCode> {
    let bundle = read_bundle(&args.bundle)?;
    Engine::new(&bundle, crate::now()).with_context(|| {
        format!(
            "{} is refused; {} is unchanged",
            args.bundle.display(),
            args.ecds.display()
        )
    })?;
    let text = serde_json::to_string(&bundle)?;
    let resource = match std::fs::read(&args.ecds) {
        Ok(bytes) => {
            let mut doc: Value = serde_json::from_slice(&bytes)
                .with_context(|| format!("{} is not JSON", args.ecds.display()))?;
            set_configuration(&mut doc, &text, args.wasm.as_deref())
                .with_context(|| format!("in {}", args.ecds.display()))?;
            doc
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let wasm = args.wasm.as_deref().ok_or_else(|| {
                anyhow!(
                    "{} does not exist: pass --wasm PATH to create it",
                    args.ecds.display()
                )
            })?;
            new_resource(&text, wasm)
        }
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", args.ecds.display())),
    };
    let mut out = serde_json::to_string_pretty(&resource)?;
    out.push('\n');
    write_atomically(&args.ecds, out.as_bytes())?;
    println!(
        "pushed bundle `{}` ({} bytes) to {}",
        bundle.version.as_deref().unwrap_or("unversioned"),
        text.len(),
        args.ecds.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn read_bundle(path: &Path) -> Result<Bundle> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Bundle::from_json(&bytes).with_context(|| format!("{} is refused", path.display()))
}

/// Replaces the plugin configuration (and with `wasm`, the module path) of the Wasm resource
/// in a DiscoveryResponse-shaped document, leaving everything else as it was.
fn set_configuration(doc: &mut Value, bundle: &str, wasm: Option<&Path>) -> Result<()> {
    let resources = doc
        .get_mut("resources")
        .and_then(Value::as_array_mut)
        .ok_or_else(|| anyhow!("no `resources` list (an ECDS file is a DiscoveryResponse)"))?;
    let config = resources
        .iter_mut()
        .filter_map(|r| r.get_mut("typed_config"))
        .find(|t| t.get("@type").and_then(Value::as_str) == Some(WASM_TYPE))
        .and_then(|t| t.get_mut("config"))
        .ok_or_else(|| anyhow!("no resource with a `{WASM_TYPE}` typed_config.config"))?;
    let Some(config) = config.as_object_mut() else {
        bail!("the Wasm typed_config.config is not an object");
    };
    config.insert(
        "configuration".into(),
        json!({"@type": STRING_VALUE, "value": bundle}),
    );
    if let Some(wasm) = wasm {
        let code = config
            .entry("vm_config")
            .or_insert_with(|| json!({"runtime": "envoy.wasm.runtime.v8", "vm_id": "aiwaf"}));
        code["code"] = json!({"local": {"filename": wasm.display().to_string()}});
    }
    Ok(())
}

/// A new ECDS resource file for the filter (`--wasm` given, no file yet).
fn new_resource(bundle: &str, wasm: &Path) -> Value {
    json!({"resources": [{
        "@type": "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig",
        "name": "envoy.filters.http.wasm",
        "typed_config": {
            "@type": WASM_TYPE,
            "config": {
                "name": "aiwaf",
                "root_id": "aiwaf",
                "configuration": {"@type": STRING_VALUE, "value": bundle},
                "fail_open": false,
                "vm_config": {
                    "runtime": "envoy.wasm.runtime.v8",
                    "vm_id": "aiwaf",
                    "code": {"local": {"filename": wasm.display().to_string()}}
                }
            }
        }
    }]})
}

/// Writes `bytes` to a temporary file next to `path` and renames it over `path`: readers see
/// the old file or the new one, never a partial one, and Envoy's watcher sees a move. The data
/// is synced before the rename (a crash cannot leave an empty file in place), the old file's
/// permissions are kept (a 0600 policy stays 0600), and the temporary file is removed when
/// anything fails.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write as _;
    let name = path
        .file_name()
        .ok_or_else(|| anyhow!("{} is not a file path", path.display()))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let result = (|| -> Result<()> {
        let mut file = std::fs::File::create(&tmp)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        file.write_all(bytes)
            .and_then(|()| file.sync_all())
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        if let Ok(meta) = std::fs::metadata(path) {
            std::fs::set_permissions(&tmp, meta.permissions())
                .with_context(|| format!("cannot set the permissions of {}", tmp.display()))?;
        }
        std::fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TempDir;

    fn args(dir: &TempDir, bundle: &[u8], wasm: Option<&str>) -> PushArgs {
        PushArgs {
            bundle: dir.write("bundle.json", bundle),
            ecds: dir.0.join("aiwaf-filter.json"),
            wasm: wasm.map(Into::into),
        }
    }

    fn configuration(dir: &TempDir) -> (String, Value) {
        let doc: Value =
            serde_json::from_slice(&std::fs::read(dir.0.join("aiwaf-filter.json")).unwrap())
                .unwrap();
        let config = doc["resources"][0]["typed_config"]["config"].clone();
        (
            config["configuration"]["value"]
                .as_str()
                .unwrap()
                .to_string(),
            config,
        )
    }

    #[test]
    fn push_creates_then_replaces_only_the_bundle() {
        let dir = TempDir::new("push");
        // No file and no --wasm: refused, nothing created.
        let e = push(&args(&dir, b"{}", None)).unwrap_err();
        assert!(format!("{e:#}").contains("--wasm"), "{e:#}");
        push(&args(
            &dir,
            br#"{"version":"one"}"#,
            Some("/opt/aiwaf.wasm"),
        ))
        .unwrap();
        let (bundle, config) = configuration(&dir);
        assert_eq!(
            Bundle::from_json(bundle.as_bytes())
                .unwrap()
                .version
                .as_deref(),
            Some("one")
        );
        assert_eq!(
            config["vm_config"]["code"]["local"]["filename"],
            "/opt/aiwaf.wasm"
        );
        // An operator's edit of the resource (here fail_open) survives the next push.
        let path = dir.0.join("aiwaf-filter.json");
        let edited = std::fs::read_to_string(&path)
            .unwrap()
            .replace("\"fail_open\": false", "\"fail_open\": true");
        std::fs::write(&path, edited).unwrap();
        push(&args(&dir, br#"{"version":"two"}"#, None)).unwrap();
        let (bundle, config) = configuration(&dir);
        assert_eq!(
            Bundle::from_json(bundle.as_bytes())
                .unwrap()
                .version
                .as_deref(),
            Some("two")
        );
        assert_eq!(config["fail_open"], true);
        assert_eq!(
            config["vm_config"]["code"]["local"]["filename"],
            "/opt/aiwaf.wasm"
        );
    }

    #[test]
    fn a_refused_bundle_leaves_the_file_untouched() {
        let dir = TempDir::new("push-bad");
        push(&args(
            &dir,
            br#"{"version":"good"}"#,
            Some("/opt/aiwaf.wasm"),
        ))
        .unwrap();
        let before = std::fs::read(dir.0.join("aiwaf-filter.json")).unwrap();
        for bad in [
            &br#"{"settings":{"AIWAF_RATE_MAXX":1}}"#[..],
            br#"{"settings":{"AIWAF_RATE_FLOOD":5}}"#,
            b"not json",
        ] {
            let e = push(&args(&dir, bad, None)).unwrap_err();
            assert!(
                format!("{e:#}").contains("is unchanged") || format!("{e:#}").contains("refused"),
                "{e:#}"
            );
            assert_eq!(
                std::fs::read(dir.0.join("aiwaf-filter.json")).unwrap(),
                before
            );
        }
        // A file that is not an ECDS resource is refused, not overwritten.
        std::fs::write(dir.0.join("aiwaf-filter.json"), b"{\"resources\": []}").unwrap();
        assert!(push(&args(&dir, b"{}", None)).is_err());
        assert_eq!(
            std::fs::read(dir.0.join("aiwaf-filter.json")).unwrap(),
            b"{\"resources\": []}"
        );
    }

    #[test]
    fn atomic_writes_keep_permissions_and_leave_no_temporary_file() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = TempDir::new("atomic");
        let path = dir.write("policy.json", b"{}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        write_atomically(&path, b"{\"version\":\"2\"}").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"{\"version\":\"2\"}");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let left: Vec<_> = std::fs::read_dir(&dir.0).unwrap().collect();
        assert_eq!(left.len(), 1, "only the file itself");
        // A target in a missing directory fails and leaves nothing behind.
        assert!(write_atomically(&dir.0.join("no/such/file.json"), b"{}").is_err());
    }

    #[test]
    fn bundle_compiles_a_policy_and_refuses_a_bad_one() {
        let dir = TempDir::new("bundle");
        let policy = dir.write("policy.json", br#"{"settings":{"AIWAF_RATE_MAX":30}}"#);
        let out = dir.0.join("bundle.json");
        let run = |policy: std::path::PathBuf| {
            bundle(&BundleArgs {
                policy: Some(policy),
                geoip: None,
                manifest: None,
                out: out.clone(),
            })
        };
        run(policy).unwrap();
        let b = Bundle::from_json(&std::fs::read(&out).unwrap()).unwrap();
        assert_eq!(b.settings.rate_max, 30);
        assert!(b.version.unwrap().starts_with("policy-"));
        let bad = dir.write("bad.json", br#"{"settings":{"AIWAF_RATE_FLOOD":5}}"#);
        let e = run(bad).unwrap_err();
        assert!(format!("{e:#}").contains("AIWAF_RATE_FLOOD"), "{e:#}");
        assert_eq!(
            Bundle::from_json(&std::fs::read(&out).unwrap())
                .unwrap()
                .settings
                .rate_max,
            30
        );
    }
}
