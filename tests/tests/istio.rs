//! The Istio example (envoy-config/istio/wasmplugin.yaml) cannot run here (no Kubernetes), so
//! it is checked structurally: the fields Istio needs, and a pluginConfig the filter loads.

use serde_json::Value;

fn example() -> Value {
    let path = aiwaf_e2e::project_root().join("envoy-config/istio/wasmplugin.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    serde_yaml::from_str(&text).unwrap()
}

#[test]
fn the_wasmplugin_is_complete_and_fails_closed() {
    let p = example();
    assert_eq!(p["apiVersion"], "extensions.istio.io/v1alpha1");
    assert_eq!(p["kind"], "WasmPlugin");
    let spec = &p["spec"];
    // The root context id the filter registers (filter/src/lib.rs: root_id "aiwaf").
    assert_eq!(spec["pluginName"], "aiwaf");
    assert_eq!(spec["failStrategy"], "FAIL_CLOSE");
    assert_eq!(spec["phase"], "AUTHN");
    let url = spec["url"].as_str().unwrap();
    assert!(
        ["oci://", "https://", "file://"]
            .iter()
            .any(|s| url.starts_with(s)),
        "{url}"
    );
    assert!(spec["selector"]["matchLabels"].is_object());
}

#[test]
fn the_plugin_config_is_a_bundle_the_filter_loads() {
    let p = example();
    // Istio passes pluginConfig to the filter as JSON text.
    let text = serde_json::to_string(&p["spec"]["pluginConfig"]).unwrap();
    let bundle = aiwaf_core::Bundle::from_json(text.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    let engine = aiwaf_core::Engine::new(&bundle, 0).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(engine.version(), "istio-example-1");
    assert_eq!(bundle.settings.rate_max, 40);
    assert_eq!(bundle.blocklist.len(), 1);
}
