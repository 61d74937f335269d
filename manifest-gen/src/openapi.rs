//! Routes from an OpenAPI 3 document: the most complete source, because it says what the
//! application accepts rather than what a proxy happened to see.
//!
//! Read per path: the operations (methods), the security requirements (operation `security`
//! overrides the document's; an empty list, or a list with an empty requirement `{}`, means
//! no authentication), the request body media types (form, multipart, JSON) and the media types
//! of successful responses. The document's `servers` (and a path's own `servers`) give base
//! paths: a proxy sees `/v1/items/{id}` for a path `/items/{id}` served at
//! `https://api.example.com/v1`, so every route is written under each distinct base path.
//! Local `$ref`s (`#/components/...`) are followed; external ones contribute nothing (a proxy
//! cannot fetch them), which leaves the route classified by its path alone.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{anyhow, bail, Context as _, Result};
use serde_json::{Map, Value};

use crate::classify::{classify, BodyKinds, Facts};
use crate::input::{self, object, string};
use crate::manifest::{Manifest, ResponseType, Source, MAX_ROUTES};
use crate::template::{check_template, convert_template, listed_method};

const OPERATIONS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];
/// Most distinct server base paths; more is not a real deployment.
const MAX_BASES: usize = 16;
/// Most `$ref` hops followed from one place (a cycle ends here with an error).
const MAX_REF_HOPS: usize = 32;

/// Builds a manifest from an OpenAPI 3.x document, JSON or YAML (decided by content).
///
/// Errors name the offending place (`paths["/x"].get.responses: expected an object, found a
/// string`); a Swagger 2.0 document, a missing `paths` or a path not starting with `/` are
/// errors rather than an empty or partial manifest.
pub fn from_openapi(text: &str) -> Result<Manifest> {
    let doc = input::parse_document(text, "OpenAPI document")?;
    let root = object(&doc, "OpenAPI document")?;
    if root.contains_key("swagger") {
        bail!("OpenAPI document: this is Swagger 2.0; convert it to OpenAPI 3 first");
    }
    let version = root.get("openapi").ok_or_else(|| {
        anyhow!("OpenAPI document: missing key `openapi` (not an OpenAPI 3 document)")
    })?;
    // `openapi: 3.1` unquoted is a number to a YAML parser; its text is what was meant.
    let version = match version {
        Value::Number(n) => n.to_string(),
        v => string(v, "openapi")?.to_owned(),
    };
    if !version.starts_with("3.") {
        bail!("openapi: version `{version}` is not supported (OpenAPI 3.x only)");
    }
    let global_bases = bases(root.get("servers"), "servers")?;
    let global_auth = match root.get("security") {
        Some(v) => Some(requires_auth(v, "security")?),
        None => None,
    };
    let paths = root
        .get("paths")
        .ok_or_else(|| anyhow!("OpenAPI document: missing key `paths`"))?;
    let paths = object(paths, "paths")?;
    if paths.len() > MAX_ROUTES {
        bail!(
            "paths: {} paths, more than the {MAX_ROUTES} routes a manifest may hold",
            paths.len()
        );
    }

    let mut routes = BTreeMap::new();
    let mut origin: BTreeMap<String, String> = BTreeMap::new();
    for (path, item) in paths {
        if path.starts_with("x-") {
            continue;
        }
        let at = format!("paths[{path:?}]");
        if !path.starts_with('/') {
            bail!("{at}: a path must start with `/`");
        }
        let Some(item) = resolve(&doc, item, &at)? else {
            continue;
        };
        let item = object(item, &at)?;
        let Some(facts) = path_facts(&doc, item, global_auth, &at)? else {
            continue;
        };
        let item_bases = match item.get("servers") {
            Some(s) => bases(Some(s), &format!("{at}.servers"))?,
            None => global_bases.clone(),
        };
        for base in &item_bases {
            let template = format!("{base}{}", convert_template(path));
            check_template(&template).map_err(|e| anyhow!("{at}: route `{template}`: {e}"))?;
            if let Some(first) = origin.insert(template.clone(), path.clone()) {
                bail!("{at}: gives the route `{template}`, as does paths[{first:?}]");
            }
            routes.insert(template.clone(), classify(&template, &facts));
        }
    }
    Manifest::new(Source::Openapi, routes).context("OpenAPI document")
}

/// What the operations of one path item say; `None` when it has no operation.
fn path_facts(
    doc: &Value,
    item: &Map<String, Value>,
    global_auth: Option<bool>,
    at: &str,
) -> Result<Option<Facts>> {
    let mut facts = Facts::default();
    let mut methods = BTreeSet::new();
    let mut responses = BTreeSet::new();
    let mut any_op = false;
    let mut auth: Option<bool> = None;
    for &name in OPERATIONS {
        let Some(op) = item.get(name) else { continue };
        let at = format!("{at}.{name}");
        let op = object(op, &at)?;
        any_op = true;
        if let Some(m) = listed_method(name) {
            methods.insert(m);
        }
        let op_auth = match op.get("security") {
            Some(v) => Some(requires_auth(v, &format!("{at}.security"))?),
            None => global_auth,
        };
        // The route needs authentication when any of its operations does.
        auth = match (auth, op_auth) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (a, b) => a.or(b),
        };
        if let Some(body) = op.get("requestBody") {
            let at = format!("{at}.requestBody");
            if let Some(body) = resolve(doc, body, &at)? {
                for media in media_types(object(body, &at)?, &at)? {
                    add_body_kind(&mut facts.body, &media);
                }
            }
        }
        if let Some(r) = op.get("responses") {
            response_kinds(doc, r, &format!("{at}.responses"), &mut responses)?;
        }
    }
    if !any_op {
        return Ok(None);
    }
    facts.methods = methods.into_iter().collect();
    facts.auth_required = auth;
    facts.response = match responses.len() {
        0 => None,
        1 => responses.into_iter().next(),
        _ => Some(ResponseType::Mixed),
    };
    Ok(Some(facts))
}

/// A security requirement list: `true` when every alternative needs a scheme (a list that
/// is empty or holds an empty requirement `{}` lets anonymous clients in).
fn requires_auth(v: &Value, at: &str) -> Result<bool> {
    let list = input::list(v, at)?;
    let mut all_need = !list.is_empty();
    for (i, req) in list.iter().enumerate() {
        if object(req, &format!("{at}[{i}]"))?.is_empty() {
            all_need = false;
        }
    }
    Ok(all_need)
}

/// The media types under `content` of a request body or response (lowercase, parameters
/// dropped).
fn media_types(obj: &Map<String, Value>, at: &str) -> Result<Vec<String>> {
    let Some(content) = obj.get("content") else {
        return Ok(Vec::new());
    };
    let content = object(content, &format!("{at}.content"))?;
    Ok(content
        .keys()
        .map(|k| {
            k.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .collect())
}

fn is_json(media: &str) -> bool {
    media == "application/json" || media.ends_with("+json")
}

fn add_body_kind(kinds: &mut BodyKinds, media: &str) {
    if media == "application/x-www-form-urlencoded" {
        kinds.form = true;
    } else if media.starts_with("multipart/") {
        kinds.multipart = true;
    } else if is_json(media) {
        kinds.json = true;
    }
}

/// Response types of the successful responses (`2XX` codes; `default` only when there is no
/// 2XX code, since error bodies say nothing about the route).
fn response_kinds(
    doc: &Value,
    responses: &Value,
    at: &str,
    out: &mut BTreeSet<ResponseType>,
) -> Result<()> {
    let responses = object(responses, at)?;
    let success: Vec<&String> = responses.keys().filter(|k| k.starts_with('2')).collect();
    let chosen: Vec<&String> = if success.is_empty() {
        responses.keys().filter(|k| *k == "default").collect()
    } else {
        success
    };
    for code in chosen {
        let at = format!("{at}[{code:?}]");
        let Some(resp) = resolve(doc, &responses[code.as_str()], &at)? else {
            continue;
        };
        for media in media_types(object(resp, &at)?, &at)? {
            if let Some(kind) = response_kind(&media) {
                out.insert(kind);
            }
        }
    }
    Ok(())
}

fn response_kind(media: &str) -> Option<ResponseType> {
    Some(match media {
        "text/html" | "application/xhtml+xml" => ResponseType::Html,
        m if is_json(m) => ResponseType::Json,
        "application/xml" | "text/xml" => ResponseType::Xml,
        m if m.ends_with("+xml") => ResponseType::Xml,
        m if m.starts_with("text/") => ResponseType::Text,
        "*/*" | "" => return None,
        _ => ResponseType::Binary,
    })
}

/// Follows local `$ref`s; `Ok(None)` for an external reference.
fn resolve<'a>(doc: &'a Value, mut v: &'a Value, at: &str) -> Result<Option<&'a Value>> {
    for _ in 0..MAX_REF_HOPS {
        let Some(r) = v.get("$ref") else {
            return Ok(Some(v));
        };
        let r = string(r, &format!("{at}.$ref"))?;
        let Some(pointer) = r.strip_prefix('#') else {
            return Ok(None);
        };
        v = doc
            .pointer(pointer)
            .ok_or_else(|| anyhow!("{at}: `$ref` `{r}` points to nothing"))?;
    }
    bail!("{at}: more than {MAX_REF_HOPS} `$ref` hops (a reference cycle?)")
}

/// Base paths of a `servers` list: the path part of each URL, variables replaced by their
/// defaults, without a trailing `/`; `[""]` when there is no list.
fn bases(servers: Option<&Value>, at: &str) -> Result<Vec<String>> {
    let list = match servers {
        None | Some(Value::Null) => return Ok(vec![String::new()]),
        Some(v) => input::list(v, at)?,
    };
    let mut out = BTreeSet::new();
    for (i, server) in list.iter().enumerate() {
        let at = format!("{at}[{i}]");
        let server = object(server, &at)?;
        let url = server
            .get("url")
            .ok_or_else(|| anyhow!("{at}: missing key `url`"))?;
        let url = substitute(string(url, &format!("{at}.url"))?, server, &at)?;
        let base = base_path(&url);
        check_template(if base.is_empty() { "/" } else { &base })
            .map_err(|e| anyhow!("{at}.url: base path `{base}`: {e}"))?;
        out.insert(base);
    }
    if out.is_empty() {
        out.insert(String::new());
    }
    if out.len() > MAX_BASES {
        bail!("{at}: more than {MAX_BASES} distinct base paths");
    }
    Ok(out.into_iter().collect())
}

/// Replaces `{name}` in a server URL by `variables.name.default`.
fn substitute(url: &str, server: &Map<String, Value>, at: &str) -> Result<String> {
    let mut out = String::new();
    let mut rest = url;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..]
            .find('}')
            .ok_or_else(|| anyhow!("{at}.url: `{{` without `}}`"))?
            + open;
        let name = &rest[open + 1..close];
        let default = server
            .get("variables")
            .and_then(|v| v.get(name))
            .and_then(|v| v.get("default"))
            .and_then(Value::as_str)
            .ok_or_else(|| {
                anyhow!("{at}.variables.{name}.default: missing (the URL uses `{{{name}}}`)")
            })?;
        out.push_str(default);
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// `https://h:8080/v1/?x` → `/v1`; `/v1` → `/v1`; `http://h` → ``.
fn base_path(url: &str) -> String {
    let url = url.split(['?', '#']).next().unwrap_or("");
    let path = match url.find("://") {
        Some(i) => url[i + 3..].find('/').map_or("", |j| &url[i + 3 + j..]),
        None => url.trim_start_matches('.'),
    };
    let path = path.trim_end_matches('/');
    if path.is_empty() || path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{Category, Route};

    fn route<'a>(m: &'a Manifest, t: &str) -> &'a Route {
        m.routes
            .get(t)
            .unwrap_or_else(|| panic!("no route {t} in {:?}", m.routes.keys()))
    }

    #[test]
    fn base_paths_come_from_servers() {
        assert_eq!(base_path("https://api.example.com/v1/"), "/v1");
        assert_eq!(base_path("http://localhost:8080"), "");
        assert_eq!(base_path("/api"), "/api");
        assert_eq!(base_path("v2"), "/v2");
        let doc = r#"{"openapi": "3.0.3",
            "servers": [{"url": "https://{host}/{base}", "variables": {"host": {"default": "x"}, "base": {"default": "v1"}}},
                        {"url": "http://localhost/v1"}],
            "paths": {"/items/{id}": {"get": {}}}}"#;
        let m = from_openapi(doc).unwrap();
        assert_eq!(m.routes.keys().collect::<Vec<_>>(), ["/v1/items/{id}"]);
    }

    #[test]
    fn security_decides_auth_required() {
        let doc = r#"{"openapi": "3.1.0", "security": [{"bearer": []}],
            "paths": {"/a": {"get": {}}, "/b": {"get": {"security": []}},
                      "/c": {"get": {"security": [{}, {"bearer": []}]}},
                      "/d": {"get": {"security": []}, "post": {}}}}"#;
        let m = from_openapi(doc).unwrap();
        assert!(route(&m, "/a").auth_required);
        assert!(!route(&m, "/b").auth_required);
        assert!(!route(&m, "/c").auth_required);
        assert!(route(&m, "/d").auth_required);
    }

    #[test]
    fn refs_are_followed_and_cycles_stopped() {
        let doc = r##"{"openapi": "3.0.0",
            "components": {"requestBodies": {"F": {"content": {"multipart/form-data": {}}}},
                           "responses": {"Loop": {"$ref": "#/components/responses/Loop"}}},
            "paths": {"/avatar": {"post": {"requestBody": {"$ref": "#/components/requestBodies/F"}}},
                      "/ext": {"post": {"requestBody": {"$ref": "other.yaml#/X"}}}}}"##;
        let m = from_openapi(doc).unwrap();
        assert_eq!(route(&m, "/avatar").category, Category::Upload);
        assert_eq!(route(&m, "/ext").category, Category::Form);
        let looped = r##"{"openapi": "3.0.0", "components": {"responses": {"L": {"$ref": "#/components/responses/L"}}},
            "paths": {"/x": {"get": {"responses": {"200": {"$ref": "#/components/responses/L"}}}}}}"##;
        let e = from_openapi(looped).unwrap_err().to_string();
        assert!(e.contains("hops"), "{e}");
        let dangling = r##"{"openapi": "3.0.0",
            "paths": {"/x": {"get": {"responses": {"200": {"$ref": "#/components/responses/Nope"}}}}}}"##;
        let e = from_openapi(dangling).unwrap_err().to_string();
        assert!(e.contains("points to nothing"), "{e}");
    }

    #[test]
    fn response_types_come_from_success_responses() {
        let doc = r#"{"openapi": "3.0.0", "paths": {
            "/page": {"get": {"responses": {"200": {"content": {"text/html; charset=utf-8": {}}},
                                            "400": {"content": {"application/json": {}}}}}},
            "/both": {"get": {"responses": {"200": {"content": {"text/html": {}, "application/json": {}}}}}},
            "/csv": {"get": {"responses": {"default": {"content": {"text/csv": {}}}}}}}}"#;
        let m = from_openapi(doc).unwrap();
        assert_eq!(route(&m, "/page").response_type, ResponseType::Html);
        assert_eq!(route(&m, "/page").category, Category::App);
        assert_eq!(route(&m, "/both").response_type, ResponseType::Mixed);
        // A page that also answers JSON serves browsers: browser checks stay on.
        assert_eq!(route(&m, "/both").category, Category::App);
        assert_eq!(route(&m, "/csv").response_type, ResponseType::Text);
    }

    #[test]
    fn malformed_documents_are_errors() {
        let cases = [
            ("swagger: '2.0'\npaths: {}\n", "Swagger 2.0"),
            ("info: {}\n", "missing key `openapi`"),
            ("openapi: 3.0.0\n", "missing key `paths`"),
            ("openapi: 2.5\npaths: {}\n", "`2.5` is not supported"),
            ("openapi: [3]\npaths: {}\n", "openapi: expected a string"),
            ("openapi: '4.0'\npaths: {}\n", "not supported"),
            ("openapi: 3.0.0\npaths: []\n", "paths: expected an object"),
            (
                "openapi: 3.0.0\npaths: {items: {get: {}}}\n",
                "must start with `/`",
            ),
            (
                "openapi: 3.0.0\npaths: {/a: {get: 1}}\n",
                "paths[\"/a\"].get: expected an object",
            ),
            (
                "openapi: 3.0.0\npaths: {/a: {get: {responses: x}}}\n",
                "responses: expected an object",
            ),
            (
                "openapi: 3.0.0\npaths: {/a b: {get: {}}}\n",
                "not allowed in a path",
            ),
            (
                "openapi: 3.0.0\nsecurity: {}\npaths: {}\n",
                "security: expected a list",
            ),
            ("openapi: 3.0.0\npaths: {/a: {get: {}}\n", "invalid YAML"),
            ("[1, 2]", "expected an object"),
            (
                "openapi: 3.0.0\nservers: [{url: 'http://h/{v}'}]\npaths: {}\n",
                "variables.v.default",
            ),
        ];
        for (doc, want) in cases {
            let e = format!("{:#}", from_openapi(doc).unwrap_err());
            assert!(e.contains(want), "{doc:?}: {e}");
        }
    }

    #[test]
    fn paths_without_operations_are_skipped() {
        let doc = "openapi: 3.0.0\npaths:\n  /a: {parameters: []}\n  /b: {get: {}}\n  x-ext: 1\n";
        let m = from_openapi(doc).unwrap();
        assert_eq!(m.routes.keys().collect::<Vec<_>>(), ["/b"]);
    }
}
