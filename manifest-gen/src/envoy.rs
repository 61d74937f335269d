//! Routes from an Envoy route configuration: what the proxy itself routes, for services that
//! publish no OpenAPI document.
//!
//! Accepted inputs (JSON or YAML): a bootstrap (`static_resources.listeners[].filter_chains[]
//! .filters[]` → the HTTP connection manager's `route_config`), a listener, a
//! `RouteConfiguration` (RDS file), or a discovery response whose `resources` are any of these
//! (wrapped in `resource` or not). Every virtual host's routes are merged: a manifest is per
//! service, and domains are not part of a route key.
//!
//! Per route, the path matcher gives the key and how it matches: `path` (exact) and
//! `path_match_policy` URI templates (`/items/{id}`) are templates, `prefix` and
//! `path_separated_prefix` are prefixes, and `safe_regex` is kept as a path when the regex is a
//! plain literal (`^/healthz$`), otherwise as a regex route without methods. Methods come from
//! `:method` header matchers (exact, or an alternation regex such as `^(GET|POST)$`); without
//! one, or with one this cannot read as a list (inverted, prefix…), the route takes any method.
//! A route whose `direct_response` is an error (status ≥ 400) is a denial, not a route, and is
//! left out; so are CONNECT matchers.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{anyhow, bail, Context as _, Result};
use serde_json::{Map, Value};

use crate::classify::{classify, Facts};
use crate::input::{self, object, opt_list, string};
use crate::manifest::{Manifest, Match, Source};
use crate::template::{
    check_regex_key, check_template, convert_template, encode_literal, listed_method,
};

/// How deeply discovery responses may nest resources (a response inside a response…).
const MAX_NESTING: usize = 4;

/// One route key's matcher kind and methods (`None`: any method).
#[derive(Debug, Clone)]
struct Entry {
    matching: Match,
    methods: Option<BTreeSet<String>>,
}

/// Builds a manifest from an Envoy bootstrap, listener, `RouteConfiguration` or discovery
/// response, JSON or YAML (decided by content).
///
/// An input with no route configuration in it (for instance a bootstrap whose connection
/// managers use RDS) is an error that says where the routes are instead.
pub fn from_envoy_routes(text: &str) -> Result<Manifest> {
    let doc = input::parse_document(text, "Envoy configuration")?;
    let mut found = Found::default();
    collect(&doc, "", 0, &mut found)?;
    if found.configs.is_empty() {
        if found.rds.is_empty() {
            bail!("Envoy configuration: no route configuration found (expected `static_resources`, `filter_chains`, `virtual_hosts` or `resources`)");
        }
        bail!(
            "Envoy configuration: the HTTP connection managers load their routes over RDS ({}): pass that route configuration instead",
            found.rds.join(", ")
        );
    }
    let mut entries: BTreeMap<String, Entry> = BTreeMap::new();
    for (config, at) in &found.configs {
        for (v, vhost) in opt_list(config, "virtual_hosts", at)?.iter().enumerate() {
            let at = format!("{at}virtual_hosts[{v}]");
            let vhost = object(vhost, &at)?;
            for (r, route) in opt_list(vhost, "routes", &at)?.iter().enumerate() {
                let at = format!("{at}.routes[{r}]");
                if let Some((key, entry)) = route_entry(object(route, &at)?, &at)? {
                    merge(&mut entries, key, entry);
                }
            }
        }
    }
    let routes = entries
        .into_iter()
        .map(|(key, e)| {
            let facts = Facts {
                methods: e
                    .methods
                    .map(|m| m.into_iter().collect())
                    .unwrap_or_default(),
                ..Facts::default()
            };
            let mut route = classify(&key, &facts);
            route.matching = e.matching;
            (key, route)
        })
        .collect();
    Manifest::new(Source::Envoy, routes).context("Envoy configuration")
}

#[derive(Default)]
struct Found<'a> {
    /// Route configurations with the error prefix of their location.
    configs: Vec<(&'a Map<String, Value>, String)>,
    /// RDS route configuration names met instead.
    rds: Vec<String>,
}

/// Finds route configurations in whatever `v` is (bootstrap, listener, route configuration,
/// discovery response).
fn collect<'a>(v: &'a Value, at: &str, depth: usize, found: &mut Found<'a>) -> Result<()> {
    let here = if at.is_empty() {
        "Envoy configuration"
    } else {
        at
    };
    let obj = object(v, here)?;
    if obj.contains_key("virtual_hosts") {
        found.configs.push((obj, prefix(at)));
    } else if let Some(sr) = obj.get("static_resources") {
        let at = format!("{}static_resources", prefix(at));
        for (i, l) in opt_list(object(sr, &at)?, "listeners", &at)?
            .iter()
            .enumerate()
        {
            collect(l, &format!("{at}.listeners[{i}]"), depth, found)?;
        }
    } else if obj.contains_key("filter_chains") || obj.contains_key("default_filter_chain") {
        let mut chains: Vec<(String, &Value)> = opt_list(obj, "filter_chains", here)?
            .iter()
            .enumerate()
            .map(|(i, c)| (format!("{}filter_chains[{i}]", prefix(at)), c))
            .collect();
        if let Some(c) = obj.get("default_filter_chain") {
            chains.push((format!("{}default_filter_chain", prefix(at)), c));
        }
        for (at, chain) in chains {
            for (i, f) in opt_list(object(chain, &at)?, "filters", &at)?
                .iter()
                .enumerate()
            {
                let at = format!("{at}.filters[{i}]");
                let filter = object(f, &at)?;
                let Some((key, cfg)) = ["typed_config", "config"]
                    .iter()
                    .find_map(|k| filter.get(*k).map(|c| (*k, c)))
                else {
                    continue;
                };
                let at = format!("{at}.{key}");
                let cfg = object(cfg, &at)?;
                if let Some(rc) = cfg.get("route_config") {
                    collect(rc, &format!("{at}.route_config"), depth, found)?;
                } else if let Some(rds) = cfg.get("rds") {
                    let name = rds
                        .get("route_config_name")
                        .and_then(Value::as_str)
                        .unwrap_or("unnamed");
                    found.rds.push(format!("`{name}`"));
                }
            }
        }
    } else if let Some(resources) = obj.get("resources") {
        if depth >= MAX_NESTING {
            bail!("{here}: resources nested more than {MAX_NESTING} deep");
        }
        let at = format!("{}resources", prefix(at));
        for (i, r) in input::list(resources, &at)?.iter().enumerate() {
            let at = format!("{at}[{i}]");
            // A `Resource` wrapper (delta xDS) carries the configuration in `resource`.
            let inner = r.get("resource").unwrap_or(r);
            collect(inner, &at, depth + 1, found)?;
        }
    } else if at.is_empty() {
        bail!("Envoy configuration: not a bootstrap, listener, route configuration or discovery response (no `static_resources`, `filter_chains`, `virtual_hosts` or `resources`)");
    }
    Ok(())
}

fn prefix(at: &str) -> String {
    if at.is_empty() {
        String::new()
    } else {
        format!("{at}.")
    }
}

/// The key and entry of one route; `None` for routes that are not application routes.
fn route_entry(route: &Map<String, Value>, at: &str) -> Result<Option<(String, Entry)>> {
    let m = route
        .get("match")
        .ok_or_else(|| anyhow!("{at}: missing key `match`"))?;
    let at = format!("{at}.match");
    let m = object(m, &at)?;
    if let Some(dr) = route.get("direct_response") {
        if dr
            .get("status")
            .and_then(Value::as_u64)
            .is_some_and(|s| s >= 400)
        {
            return Ok(None);
        }
    }
    let str_at = |key: &str| -> Result<Option<&str>> {
        m.get(key)
            .map(|v| string(v, &format!("{at}.{key}")))
            .transpose()
    };
    let (key, matching) = if let Some(p) = str_at("prefix")? {
        let p = if p.is_empty() { "/" } else { p };
        (encode_literal(p), Match::Prefix)
    } else if let Some(p) = str_at("path")? {
        (encode_literal(p), Match::Template)
    } else if let Some(p) = str_at("path_separated_prefix")? {
        (encode_literal(p), Match::Prefix)
    } else if let Some(re) = m.get("safe_regex") {
        let re_at = format!("{at}.safe_regex");
        let re = object(re, &re_at)?
            .get("regex")
            .ok_or_else(|| anyhow!("{re_at}: missing key `regex`"))?;
        let re = string(re, &format!("{re_at}.regex"))?;
        match regex_literal(re) {
            Some(lit) => (encode_literal(&lit), Match::Template),
            None => {
                check_regex_key(re).map_err(|e| anyhow!("{re_at}.regex: {e}"))?;
                let entry = Entry {
                    matching: Match::Regex,
                    methods: None,
                };
                return Ok(Some((re.to_owned(), entry)));
            }
        }
    } else if let Some(pmp) = m.get("path_match_policy") {
        let pmp_at = format!("{at}.path_match_policy");
        let template = object(pmp, &pmp_at)?
            .get("typed_config")
            .and_then(|c| c.get("path_template"))
            .ok_or_else(|| anyhow!("{pmp_at}: missing `typed_config.path_template`"))?;
        let template = string(template, &format!("{pmp_at}.typed_config.path_template"))?;
        (convert_template(template), Match::Template)
    } else if m.contains_key("connect_matcher") {
        return Ok(None);
    } else {
        bail!("{at}: no path matcher (`prefix`, `path`, `safe_regex`, `path_separated_prefix` or `path_match_policy`)");
    };
    check_template(&key).map_err(|e| anyhow!("{at}: route `{key}`: {e}"))?;
    let methods = methods(m, &at)?;
    Ok(Some((key, Entry { matching, methods })))
}

/// Methods from the `:method` header matchers; `None` for any method. Several `:method`
/// matchers must all match, so their lists intersect.
fn methods(m: &Map<String, Value>, at: &str) -> Result<Option<BTreeSet<String>>> {
    let mut result: Option<BTreeSet<String>> = None;
    for (i, h) in opt_list(m, "headers", at)?.iter().enumerate() {
        let h_at = format!("{at}.headers[{i}]");
        let h = object(h, &h_at)?;
        let name = h
            .get("name")
            .ok_or_else(|| anyhow!("{h_at}: missing key `name`"))?;
        if !string(name, &format!("{h_at}.name"))?.eq_ignore_ascii_case(":method") {
            continue;
        }
        if h.get("invert_match").and_then(Value::as_bool) == Some(true) {
            return Ok(None);
        }
        let sm = h.get("string_match");
        let exact = h
            .get("exact_match")
            .or_else(|| sm.and_then(|s| s.get("exact")))
            .and_then(Value::as_str);
        let regex = h
            .get("safe_regex_match")
            .or_else(|| sm.and_then(|s| s.get("safe_regex")))
            .and_then(|r| r.get("regex"))
            .and_then(Value::as_str);
        let listed: BTreeSet<String> = match (exact, regex) {
            (Some(e), _) => [e.to_ascii_uppercase()].into(),
            (None, Some(r)) => match alternation(r) {
                Some(list) => list,
                None => return Ok(None),
            },
            (None, None) => return Ok(None),
        };
        result = Some(match result {
            None => listed,
            Some(prev) => prev.intersection(&listed).cloned().collect(),
        });
    }
    Ok(result.map(|set| set.iter().filter_map(|m| listed_method(m)).collect()))
}

/// `GET`, `GET|POST`, `^(GET|POST)$`, `(?:PUT|PATCH)` → the methods; anything else `None`.
fn alternation(re: &str) -> Option<BTreeSet<String>> {
    let mut s = re.strip_prefix('^').unwrap_or(re);
    s = s.strip_suffix('$').unwrap_or(s);
    if let Some(inner) = s.strip_prefix("(?:").or_else(|| s.strip_prefix('(')) {
        s = inner.strip_suffix(')')?;
    }
    let mut out = BTreeSet::new();
    for alt in s.split('|') {
        if alt.is_empty()
            || !alt
                .bytes()
                .all(|b| b.is_ascii_alphabetic() || b == b'-' || b == b'_')
        {
            return None;
        }
        out.insert(alt.to_ascii_uppercase());
    }
    Some(out)
}

/// The path a regex matches when it matches exactly one (`^/healthz$`, `/a\.json`): anchors
/// dropped (Envoy matches the whole path anyway), escaped punctuation unescaped; `None` when
/// any metacharacter or class remains, or the result does not start with `/`.
fn regex_literal(re: &str) -> Option<String> {
    let mut s = re.strip_prefix('^').unwrap_or(re);
    if s.ends_with('$') && !s.ends_with("\\$") {
        s = &s[..s.len() - 1];
    }
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e) if e.is_ascii_punctuation() => out.push(e),
                _ => return None,
            },
            '.' | '^' | '$' | '*' | '+' | '?' | '(' | ')' | '[' | ']' | '{' | '}' | '|' => {
                return None
            }
            c => out.push(c),
        }
    }
    out.starts_with('/').then_some(out)
}

/// Routes with the same key (several virtual hosts, or `path` and `prefix` on one string)
/// merge: the broader matcher and the union of methods (any method wins).
fn merge(entries: &mut BTreeMap<String, Entry>, key: String, new: Entry) {
    match entries.get_mut(&key) {
        None => {
            entries.insert(key, new);
        }
        Some(e) => {
            e.matching = e.matching.max(new.matching);
            e.methods = match (e.methods.take(), new.methods) {
                (Some(mut a), Some(b)) => {
                    a.extend(b);
                    Some(a)
                }
                _ => None,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alternations_are_read() {
        let set = |v: &[&str]| Some(v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>());
        assert_eq!(alternation("GET"), set(&["GET"]));
        assert_eq!(alternation("^(GET|POST)$"), set(&["GET", "POST"]));
        assert_eq!(alternation("(?:put|PATCH)"), set(&["PATCH", "PUT"]));
        assert_eq!(alternation("G.T"), None);
        assert_eq!(alternation("GET|"), None);
        assert_eq!(alternation("(GET|POST"), None);
    }

    #[test]
    fn literal_regexes_become_paths() {
        assert_eq!(regex_literal("^/healthz$").as_deref(), Some("/healthz"));
        assert_eq!(regex_literal("/a\\.json").as_deref(), Some("/a.json"));
        assert_eq!(regex_literal("/items/[0-9]+"), None);
        assert_eq!(regex_literal("/a.json"), None);
        assert_eq!(regex_literal("/a\\d"), None);
        assert_eq!(regex_literal("healthz"), None);
    }

    #[test]
    fn route_configuration_and_discovery_response_are_read() {
        let rc = r#"{"name": "local", "virtual_hosts": [{"name": "a", "domains": ["*"], "routes": [
            {"match": {"prefix": "/api/"}, "route": {"cluster": "api"}},
            {"match": {"path": "/login", "headers": [{"name": ":method", "string_match": {"exact": "POST"}}]}, "route": {"cluster": "web"}},
            {"match": {"path": "/login", "headers": [{"name": ":method", "exact_match": "GET"}]}, "route": {"cluster": "web"}},
            {"match": {"prefix": "/internal"}, "direct_response": {"status": 403}},
            {"match": {"safe_regex": {"regex": "^/p/[a-z]+$"}, "headers": [{"name": ":method", "exact_match": "GET"}]}, "route": {"cluster": "web"}}
        ]}]}"#;
        let m = from_envoy_routes(rc).unwrap();
        assert_eq!(
            m.routes.keys().collect::<Vec<_>>(),
            ["/api/", "/login", "^/p/[a-z]+$"]
        );
        assert_eq!(m.routes["/api/"].matching, Match::Prefix);
        assert_eq!(m.routes["/login"].methods, ["GET", "POST"]);
        assert_eq!(m.routes["^/p/[a-z]+$"].matching, Match::Regex);
        assert!(m.routes["^/p/[a-z]+$"].methods.is_empty());
        let ds = format!(
            r#"{{"version_info": "1", "resources": [{{"@type": "type.googleapis.com/envoy.config.route.v3.RouteConfiguration", "name": "x", "virtual_hosts": {}}}]}}"#,
            serde_json::to_string(&serde_json::from_str::<Value>(rc).unwrap()["virtual_hosts"])
                .unwrap()
        );
        let from_ds = from_envoy_routes(&ds).unwrap();
        assert_eq!(from_ds.routes, m.routes);
    }

    #[test]
    fn same_key_merges_to_the_broader_matcher_and_any_method() {
        let rc = r#"
virtual_hosts:
  - name: a
    domains: ["a.example"]
    routes:
      - match: {path: /shop, headers: [{name: ":method", exact_match: GET}]}
        route: {cluster: a}
  - name: b
    domains: ["b.example"]
    routes:
      - match: {prefix: /shop}
        route: {cluster: b}
"#;
        let m = from_envoy_routes(rc).unwrap();
        assert_eq!(m.routes["/shop"].matching, Match::Prefix);
        assert!(m.routes["/shop"].methods.is_empty());
    }

    #[test]
    fn inverted_or_prefix_method_matchers_mean_any_method() {
        let rc = r#"virtual_hosts: [{name: a, domains: ["*"], routes: [
            {match: {path: /a, headers: [{name: ":method", exact_match: GET, invert_match: true}]}, route: {cluster: c}},
            {match: {path: /b, headers: [{name: ":method", string_match: {prefix: P}}]}, route: {cluster: c}},
            {match: {path: /c, headers: [{name: ":method", exact_match: HEAD}]}, route: {cluster: c}}]}]"#;
        let m = from_envoy_routes(rc).unwrap();
        assert!(m.routes["/a"].methods.is_empty());
        assert!(m.routes["/b"].methods.is_empty());
        assert!(m.routes["/c"].methods.is_empty());
    }

    #[test]
    fn malformed_configurations_are_errors() {
        let cases = [
            ("{}", "not a bootstrap"),
            ("foo: bar\n", "not a bootstrap"),
            ("- 1\n", "expected an object"),
            ("virtual_hosts: 3\n", "virtual_hosts: expected a list"),
            ("virtual_hosts: [{routes: [{route: {}}]}]\n", "missing key `match`"),
            ("virtual_hosts: [{routes: [{match: {}}]}]\n", "no path matcher"),
            ("virtual_hosts: [{routes: [{match: {prefix: 3}}]}]\n", "match.prefix: expected a string"),
            ("virtual_hosts: [{routes: [{match: {path: items}}]}]\n", "must start with `/`"),
            ("virtual_hosts: [{routes: [{match: {safe_regex: {}}}]}]\n", "missing key `regex`"),
            ("virtual_hosts: [{routes: [{match: {path_match_policy: {}}}]}]\n", "path_template"),
            ("static_resources: {listeners: [{filter_chains: [{filters: [{typed_config: {rds: {route_config_name: r1}}}]}]}]}\n", "RDS (`r1`)"),
            ("static_resources: {listeners: 1}\n", "listeners: expected a list"),
            ("virtual_hosts: [\n", "invalid YAML"),
            ("{\"virtual_hosts\": [}", "invalid JSON"),
        ];
        for (doc, want) in cases {
            let e = format!("{:#}", from_envoy_routes(doc).unwrap_err());
            assert!(e.contains(want), "{doc:?}: {e}");
        }
    }
}
