//! Structural rewrites of `envoy-config/envoy.yaml` (the only copy of the Envoy
//! config): ports, wasm path, plugin configuration, removal of the filter.
//!
//! Edits address things by name (listener `aiwaf`, filter
//! `envoy.filters.http.wasm`, cluster `backend`), never by string replacement,
//! so a reformatted YAML file keeps working and a renamed element fails loudly.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;

/// Name of the listener that carries the wasm filter.
pub const PROXY_LISTENER: &str = "aiwaf";
/// Name of the demo upstream listener (direct responses, no filter).
pub const BACKEND_LISTENER: &str = "backend";
/// Name of the cluster that points at the backend listener.
pub const BACKEND_CLUSTER: &str = "backend";
/// Name of the wasm HTTP filter in the proxy listener's filter chain.
pub const WASM_FILTER: &str = "envoy.filters.http.wasm";
const HCM: &str = "envoy.filters.network.http_connection_manager";

/// Path of the checked-in bootstrap.
pub fn envoy_yaml_path() -> PathBuf {
    crate::project_root().join("envoy-config/envoy.yaml")
}

/// Path of the checked-in hot-reload bootstrap (the filter config through ECDS).
pub fn envoy_ecds_yaml_path() -> PathBuf {
    crate::project_root().join("envoy-config/envoy-ecds.yaml")
}

/// Path of the checked-in ECDS resource file (the filter's Wasm config).
pub fn ecds_resource_path() -> PathBuf {
    crate::project_root().join("envoy-config/aiwaf-filter.json")
}

/// Parses the checked-in bootstrap into a JSON value (Envoy accepts JSON too,
/// so the rendered file is written as JSON).
pub fn load_base() -> Result<Value> {
    load_yaml(&envoy_yaml_path())
}

/// Parses the checked-in hot-reload bootstrap.
pub fn load_ecds_base() -> Result<Value> {
    load_yaml(&envoy_ecds_yaml_path())
}

fn load_yaml(path: &Path) -> Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_yaml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// The checked-in ECDS resource with the wasm path and the bundle set.
pub fn ecds_resource(wasm: &Path, bundle: &str) -> Result<Value> {
    let path = ecds_resource_path();
    let mut doc: Value = serde_json::from_slice(
        &std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?,
    )
    .with_context(|| format!("parsing {}", path.display()))?;
    let config = doc
        .pointer_mut("/resources/0/typed_config/config")
        .ok_or_else(|| anyhow!("{} has no resources[0].typed_config.config", path.display()))?;
    config["configuration"]["value"] = bundle.into();
    config["vm_config"]["code"]["local"]["filename"] = wasm.display().to_string().into();
    Ok(doc)
}

/// Points the wasm filter's `config_discovery` at the ECDS resource file `path`.
pub fn set_ecds_path(cfg: &mut Value, path: &Path) -> Result<()> {
    let source = http_filters_mut(cfg, PROXY_LISTENER)?
        .iter_mut()
        .find(|f| f.get("name").and_then(Value::as_str) == Some(WASM_FILTER))
        .and_then(|f| f.pointer_mut("/config_discovery/config_source/path_config_source"))
        .ok_or_else(|| anyhow!("{WASM_FILTER} has no config_discovery path_config_source"))?;
    source["path"] = path.display().to_string().into();
    Ok(())
}

/// Sends the protected listener's file access log to `path`.
pub fn set_access_log_path(cfg: &mut Value, path: &Path) -> Result<()> {
    let logs = hcm_mut(cfg, PROXY_LISTENER)?
        .get_mut("access_log")
        .and_then(Value::as_array_mut)
        .ok_or_else(|| anyhow!("listener {PROXY_LISTENER:?} has no access_log"))?;
    let file = logs
        .iter_mut()
        .filter_map(|l| l.get_mut("typed_config"))
        .find(|t| t.get("path").is_some())
        .ok_or_else(|| anyhow!("listener {PROXY_LISTENER:?} has no file access log"))?;
    file["path"] = path.display().to_string().into();
    Ok(())
}

fn listeners_mut(cfg: &mut Value) -> Result<&mut Vec<Value>> {
    cfg.pointer_mut("/static_resources/listeners")
        .and_then(Value::as_array_mut)
        .ok_or_else(|| anyhow!("envoy config has no static_resources.listeners"))
}

/// The listener called `name`.
pub fn listener_mut<'a>(cfg: &'a mut Value, name: &str) -> Result<&'a mut Value> {
    listeners_mut(cfg)?
        .iter_mut()
        .find(|l| l.get("name").and_then(Value::as_str) == Some(name))
        .ok_or_else(|| anyhow!("envoy config has no listener named {name:?}"))
}

/// The HttpConnectionManager `typed_config` of the listener called `name`.
pub fn hcm_mut<'a>(cfg: &'a mut Value, name: &str) -> Result<&'a mut Value> {
    let listener = listener_mut(cfg, name)?;
    let chains = listener
        .get_mut("filter_chains")
        .and_then(Value::as_array_mut)
        .ok_or_else(|| anyhow!("listener {name:?} has no filter_chains"))?;
    chains
        .iter_mut()
        .filter_map(|c| c.get_mut("filters").and_then(Value::as_array_mut))
        .flatten()
        .find(|f| f.get("name").and_then(Value::as_str) == Some(HCM))
        .and_then(|f| f.get_mut("typed_config"))
        .ok_or_else(|| anyhow!("listener {name:?} has no {HCM}"))
}

fn http_filters_mut<'a>(cfg: &'a mut Value, listener: &str) -> Result<&'a mut Vec<Value>> {
    hcm_mut(cfg, listener)?
        .get_mut("http_filters")
        .and_then(Value::as_array_mut)
        .ok_or_else(|| anyhow!("listener {listener:?} has no http_filters"))
}

/// The wasm filter's `typed_config.config` (name, root_id, configuration, vm_config).
pub fn wasm_config_mut(cfg: &mut Value) -> Result<&mut Value> {
    http_filters_mut(cfg, PROXY_LISTENER)?
        .iter_mut()
        .find(|f| f.get("name").and_then(Value::as_str) == Some(WASM_FILTER))
        .and_then(|f| f.pointer_mut("/typed_config/config"))
        .ok_or_else(|| anyhow!("listener {PROXY_LISTENER:?} has no {WASM_FILTER} with a config"))
}

fn socket_port_mut<'a>(v: &'a mut Value, what: &str) -> Result<&'a mut Value> {
    v.pointer_mut("/address/socket_address/port_value")
        .ok_or_else(|| anyhow!("{what} has no address.socket_address.port_value"))
}

/// Moves the admin interface to `port`.
pub fn set_admin_port(cfg: &mut Value, port: u16) -> Result<()> {
    let admin = cfg
        .get_mut("admin")
        .ok_or_else(|| anyhow!("envoy config has no admin section"))?;
    *socket_port_mut(admin, "admin")? = port.into();
    Ok(())
}

/// Moves the listener called `name` to `port`.
pub fn set_listener_port(cfg: &mut Value, name: &str, port: u16) -> Result<()> {
    *socket_port_mut(listener_mut(cfg, name)?, name)? = port.into();
    Ok(())
}

/// Points every endpoint of the cluster called `name` at `port`.
pub fn set_cluster_port(cfg: &mut Value, name: &str, port: u16) -> Result<()> {
    let clusters = cfg
        .pointer_mut("/static_resources/clusters")
        .and_then(Value::as_array_mut)
        .ok_or_else(|| anyhow!("envoy config has no static_resources.clusters"))?;
    let cluster = clusters
        .iter_mut()
        .find(|c| c.get("name").and_then(Value::as_str) == Some(name))
        .ok_or_else(|| anyhow!("envoy config has no cluster named {name:?}"))?;
    let groups = cluster
        .pointer_mut("/load_assignment/endpoints")
        .and_then(Value::as_array_mut)
        .ok_or_else(|| anyhow!("cluster {name:?} has no load_assignment.endpoints"))?;
    let mut n = 0;
    for group in groups {
        for ep in group
            .get_mut("lb_endpoints")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            if let Some(ep) = ep.get_mut("endpoint") {
                *socket_port_mut(ep, "cluster endpoint")? = port.into();
                n += 1;
            }
        }
    }
    if n == 0 {
        bail!("cluster {name:?} has no endpoint to rewrite");
    }
    Ok(())
}

/// Sets the file the wasm VM loads (absolute, so Envoy's cwd does not matter).
pub fn set_wasm_path(cfg: &mut Value, wasm: &Path) -> Result<()> {
    let local = wasm_config_mut(cfg)?
        .pointer_mut("/vm_config/code/local")
        .ok_or_else(|| anyhow!("wasm filter has no vm_config.code.local"))?;
    *local = serde_json::json!({ "filename": wasm.display().to_string() });
    Ok(())
}

/// Sets the plugin configuration (the policy bundle JSON text) verbatim.
pub fn set_bundle(cfg: &mut Value, bundle: &str) -> Result<()> {
    let config = wasm_config_mut(cfg)?;
    config["configuration"] = serde_json::json!({
        "@type": "type.googleapis.com/google.protobuf.StringValue",
        "value": bundle,
    });
    Ok(())
}

/// Removes the wasm filter (benchmarks compare Envoy with and without it).
pub fn remove_wasm_filter(cfg: &mut Value) -> Result<()> {
    let filters = http_filters_mut(cfg, PROXY_LISTENER)?;
    let before = filters.len();
    filters.retain(|f| f.get("name").and_then(Value::as_str) != Some(WASM_FILTER));
    if filters.len() == before {
        bail!("listener {PROXY_LISTENER:?} has no {WASM_FILTER} to remove");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_the_checked_in_config_by_name() {
        let mut cfg = load_base().unwrap();
        set_admin_port(&mut cfg, 1).unwrap();
        set_listener_port(&mut cfg, PROXY_LISTENER, 2).unwrap();
        set_listener_port(&mut cfg, BACKEND_LISTENER, 3).unwrap();
        set_cluster_port(&mut cfg, BACKEND_CLUSTER, 3).unwrap();
        set_wasm_path(&mut cfg, Path::new("/abs/f.wasm")).unwrap();
        set_bundle(&mut cfg, r#"{"mode":"monitor"}"#).unwrap();
        let text = cfg.to_string();
        assert!(text.contains(r#""filename":"/abs/f.wasm""#), "{text}");
        assert!(text.contains(r#"{\"mode\":\"monitor\"}"#), "{text}");
        assert_eq!(
            cfg.pointer("/admin/address/socket_address/port_value"),
            Some(&1.into())
        );
        remove_wasm_filter(&mut cfg).unwrap();
        assert!(!cfg.to_string().contains(WASM_FILTER));
        assert!(remove_wasm_filter(&mut cfg).is_err());
    }

    /// envoy-ecds.yaml is envoy.yaml with the wasm filter delivered by ECDS and the access
    /// log in a file: nothing else may drift apart.
    #[test]
    fn the_hot_reload_config_differs_only_where_documented() {
        let strip = |mut cfg: Value| -> Value {
            if let Some(o) = cfg.as_object_mut() {
                o.remove("node");
            }
            let hcm = hcm_mut(&mut cfg, PROXY_LISTENER).unwrap();
            hcm["access_log"] = Value::Null;
            for f in hcm["http_filters"].as_array_mut().unwrap() {
                if f["name"] == WASM_FILTER {
                    *f = Value::Null;
                }
            }
            cfg
        };
        let ecds = load_ecds_base().unwrap();
        assert_eq!(strip(load_base().unwrap()), strip(ecds.clone()));
        assert_eq!(ecds["node"]["id"], "aiwaf-proxy");
        // The resource file carries the same Wasm config as the static bootstrap.
        let resource = ecds_resource(Path::new("/x.wasm"), "{}").unwrap();
        let mut base = load_base().unwrap();
        let mut inline = wasm_config_mut(&mut base).unwrap().clone();
        inline["vm_config"]["code"]["local"]["filename"] = "/x.wasm".into();
        assert_eq!(resource["resources"][0]["typed_config"]["config"], inline);
    }

    #[test]
    fn the_checked_in_config_has_the_documented_contract() {
        let mut cfg = load_base().unwrap();
        let hcm = hcm_mut(&mut cfg, PROXY_LISTENER).unwrap();
        assert_eq!(hcm["use_remote_address"], true);
        assert_eq!(hcm["xff_num_trusted_hops"], 1);
        let wasm = wasm_config_mut(&mut cfg).unwrap();
        assert_eq!(wasm["name"], "aiwaf");
        assert_eq!(wasm["root_id"], "aiwaf");
        assert_eq!(wasm["fail_open"], false);
        assert_eq!(wasm["configuration"]["value"], "{}");
        assert_eq!(wasm["vm_config"]["runtime"], "envoy.wasm.runtime.v8");
        let backend = hcm_mut(&mut cfg, BACKEND_LISTENER).unwrap().to_string();
        assert!(
            !backend.contains(WASM_FILTER),
            "the backend must not be filtered"
        );
    }
}
