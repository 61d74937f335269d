//! Payload signatures: SQL injection, XSS, path traversal and command injection in request values.
//!
//! This is the "classic WAF" layer of the engine. It runs on every request, so it is built for
//! the hot path: values are scanned once for interesting bytes before any expensive check, regexes
//! are compiled once (`OnceLock`, fine on wasm32-wasip1), decoding borrows when nothing changes,
//! and every input — invalid UTF-8, broken JSON, megabytes of nesting — is handled without panics.
//! Inspection is bounded by a [`PayloadBudget`]; exhausting it is reported as [`PayloadLimit`] so
//! the caller can refuse the request (413) instead of passing what it could not inspect.

pub(crate) mod decode;
mod rules;
#[cfg(test)]
mod tests;

use serde_json::Value;

/// Which attack class a payload finding belongs to (drives the verdict's reason and metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttackClass {
    /// SQL injection (`' or 1=1--`, `union select`, stacked queries).
    Sqli,
    /// Cross-site scripting (`<script>`, event handlers, `javascript:` URIs).
    Xss,
    /// Path traversal / local file inclusion (`../`, `/etc/passwd`, `file://`).
    PathTraversal,
    /// OS command injection (`; cat /etc/passwd`, `| id`, `$(...)`).
    CommandInjection,
}

impl AttackClass {
    /// Stable snake_case name, used in logs, metrics labels and verdict reasons.
    pub fn as_str(self) -> &'static str {
        match self {
            AttackClass::Sqli => "sqli",
            AttackClass::Xss => "xss",
            AttackClass::PathTraversal => "path_traversal",
            AttackClass::CommandInjection => "command_injection",
        }
    }
}

/// A payload signature hit: enough for an operator to understand the block without the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadFinding {
    /// The attack class.
    pub class: AttackClass,
    /// Short rule name, e.g. "libinjection_sqli", "script_tag", "dot_dot_slash", "shell_metachar".
    pub rule: &'static str,
    /// The (decoded) parameter or JSON key name the value came from, when known; empty otherwise
    /// (the path, unparsable JSON). The caller prefixes "query", "body", "header:<name>".
    pub location: String,
    /// The offending (decoded) value, truncated to at most 120 chars (char boundary safe), so
    /// logs show what fired without storing whole bodies.
    pub evidence: String,
}

/// Inspection ran out of budget (bytes, nodes or depth): the caller answers 413, because passing
/// an uninspected payload would be a trivial bypass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadLimit {
    /// Which budget ran out: "bytes", "nodes" or "depth".
    pub what: &'static str,
}

/// Budget for one request, bounding CPU and memory spent on hostile input. AIWAF's seed values
/// are max_bytes 65536, max_nodes 4096, max_depth 16 (see [`PayloadBudget::default`]).
#[derive(Debug, Clone, Copy)]
pub struct PayloadBudget {
    /// Maximum size of a query string or body to inspect.
    pub max_bytes: usize,
    /// Maximum number of parameters (query/form) or JSON values (objects, arrays, scalars).
    pub max_nodes: usize,
    /// Maximum JSON nesting depth (including JSON re-parsed from string values).
    pub max_depth: usize,
}

impl Default for PayloadBudget {
    /// AIWAF's seed values.
    fn default() -> Self {
        PayloadBudget {
            max_bytes: 65536,
            max_nodes: 4096,
            max_depth: 16,
        }
    }
}

/// Maximum evidence length in chars.
const EVIDENCE_CHARS: usize = 120;

fn limit(what: &'static str) -> PayloadLimit {
    PayloadLimit { what }
}

fn finding(hit: (AttackClass, &'static str), location: &str, value: &str) -> PayloadFinding {
    let evidence = match value.char_indices().nth(EVIDENCE_CHARS) {
        Some((cut, _)) => value[..cut].to_owned(),
        None => value.to_owned(),
    };
    PayloadFinding {
        class: hit.0,
        rule: hit.1,
        location: location.to_owned(),
        evidence,
    }
}

/// The core classifier used by all entry points: one already-decoded value to an attack class and
/// rule name. Exposed so the caller can apply it to other places (header values, cookies).
pub fn inspect_value(decoded: &str) -> Option<(AttackClass, &'static str)> {
    rules::classify(decoded, false)
}

/// Inspects a raw query string (without the `?`): `&`-separated pairs, keys and values
/// percent-decoded (`+` = space, repeated for double encoding). `;` is not a separator (WHATWG
/// URL parsing does not split on it, and splitting would hide `; drop table`).
pub fn inspect_query(
    raw_query: &str,
    budget: &PayloadBudget,
) -> Result<Option<PayloadFinding>, PayloadLimit> {
    if raw_query.len() > budget.max_bytes {
        return Err(limit("bytes"));
    }
    inspect_pairs(raw_query, budget)
}

/// Inspects an `application/x-www-form-urlencoded` body; same rules as [`inspect_query`]. Bytes
/// that are not UTF-8 are replaced (lossy) rather than rejected: never panic, still inspect.
pub fn inspect_form_body(
    body: &[u8],
    budget: &PayloadBudget,
) -> Result<Option<PayloadFinding>, PayloadLimit> {
    if body.len() > budget.max_bytes {
        return Err(limit("bytes"));
    }
    let text = String::from_utf8_lossy(body);
    inspect_pairs(&text, budget)
}

/// Shared query/form walker.
fn inspect_pairs(
    raw: &str,
    budget: &PayloadBudget,
) -> Result<Option<PayloadFinding>, PayloadLimit> {
    let mut nodes = 0usize;
    for pair in raw.split('&') {
        if pair.is_empty() {
            continue;
        }
        nodes += 1;
        if nodes > budget.max_nodes {
            return Err(limit("nodes"));
        }
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let key = decode::decode_component(k, true);
        let val = decode::decode_component(v, true);
        if val.overlong {
            return Ok(Some(finding(
                (AttackClass::PathTraversal, "overlong_utf8"),
                &key.text,
                &val.text,
            )));
        }
        if key.overlong {
            return Ok(Some(finding(
                (AttackClass::PathTraversal, "overlong_utf8"),
                &key.text,
                &key.text,
            )));
        }
        if let Some(hit) = inspect_value(&val.text) {
            return Ok(Some(finding(hit, &key.text, &val.text)));
        }
        if let Some(hit) = inspect_value(&key.text) {
            return Ok(Some(finding(hit, &key.text, &key.text)));
        }
    }
    Ok(None)
}

/// Inspects the already percent-decoded URL path for XSS, SQLi and command injection. Dot
/// segments are the caller's normaliser's job; only leftover encoding (double-encoded paths) is
/// decoded again here, and overlong UTF-8 is flagged as traversal since it is never honest.
pub fn inspect_path(decoded_path: &str) -> Option<PayloadFinding> {
    let d = decode::decode_component(decoded_path, false);
    if d.overlong {
        return Some(finding(
            (AttackClass::PathTraversal, "overlong_utf8"),
            "",
            &d.text,
        ));
    }
    rules::classify(&d.text, true).map(|hit| finding(hit, "", &d.text))
}

/// Inspects a JSON body: keys and string values, recursively, including strings that contain
/// JSON themselves (double-encoded JSON is a known bypass). Unparsable JSON is inspected as one
/// raw value — attackers send broken JSON to slip past parsers that give up.
pub fn inspect_json_body(
    body: &[u8],
    budget: &PayloadBudget,
) -> Result<Option<PayloadFinding>, PayloadLimit> {
    if body.len() > budget.max_bytes {
        return Err(limit("bytes"));
    }
    // Depth is checked before parsing: serde_json would otherwise fail at its own recursion
    // limit and the body would be inspected as text, silently skipping the depth budget.
    if json_depth(body) > budget.max_depth {
        return Err(limit("depth"));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(v) => {
            let mut walker = JsonWalker { budget, nodes: 0 };
            walker.walk(&v, "", 0)
        }
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            Ok(inspect_string(&text, ""))
        }
    }
}

/// Maximum bracket nesting of a JSON text, ignoring brackets inside strings (a cheap pre-scan).
fn json_depth(body: &[u8]) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    let (mut in_str, mut esc) = (false, false);
    for &c in body {
        if in_str {
            if esc {
                esc = false;
            } else if c == b'\\' {
                esc = true;
            } else if c == b'"' {
                in_str = false;
            }
            continue;
        }
        match c {
            b'"' => in_str = true,
            b'{' | b'[' => {
                depth += 1;
                max = max.max(depth);
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// Inspects one JSON string (or raw text): as is, and percent-decoded if it contains `%`
/// (some applications URL-decode JSON fields; attackers rely on it).
fn inspect_string(s: &str, key: &str) -> Option<PayloadFinding> {
    if let Some(hit) = inspect_value(s) {
        return Some(finding(hit, key, s));
    }
    if s.as_bytes().contains(&b'%') {
        let d = decode::decode_component(s, false);
        if d.overlong {
            return Some(finding(
                (AttackClass::PathTraversal, "overlong_utf8"),
                key,
                &d.text,
            ));
        }
        if let std::borrow::Cow::Owned(ref t) = d.text {
            if let Some(hit) = inspect_value(t) {
                return Some(finding(hit, key, t));
            }
        }
    }
    None
}

/// Recursive JSON walk with node and depth accounting shared across re-parsed strings.
struct JsonWalker<'b> {
    budget: &'b PayloadBudget,
    nodes: usize,
}

impl JsonWalker<'_> {
    fn walk(
        &mut self,
        v: &Value,
        key: &str,
        depth: usize,
    ) -> Result<Option<PayloadFinding>, PayloadLimit> {
        self.nodes += 1;
        if self.nodes > self.budget.max_nodes {
            return Err(limit("nodes"));
        }
        if depth > self.budget.max_depth {
            return Err(limit("depth"));
        }
        match v {
            Value::String(s) => {
                if let Some(f) = inspect_string(s, key) {
                    return Ok(Some(f));
                }
                let t = s.trim_start();
                if t.starts_with('{') || t.starts_with('[') {
                    if json_depth(t.as_bytes()) + depth > self.budget.max_depth {
                        return Err(limit("depth"));
                    }
                    if let Ok(inner) = serde_json::from_str::<Value>(t) {
                        return self.walk(&inner, key, depth + 1);
                    }
                }
                Ok(None)
            }
            Value::Array(items) => {
                for item in items {
                    if let Some(f) = self.walk(item, key, depth + 1)? {
                        return Ok(Some(f));
                    }
                }
                Ok(None)
            }
            Value::Object(map) => {
                for (k, item) in map {
                    if let Some(hit) = inspect_value(k) {
                        return Ok(Some(finding(hit, k, k)));
                    }
                    if let Some(f) = self.walk(item, k, depth + 1)? {
                        return Ok(Some(f));
                    }
                }
                Ok(None)
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => Ok(None),
        }
    }
}
