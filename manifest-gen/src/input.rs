//! Reading the structured inputs (OpenAPI documents, Envoy configurations, manifests) into one
//! tree, `serde_json::Value`, whatever their syntax, with the checks every input gets.
//!
//! JSON or YAML is decided by content (a document whose first character is `{` or `[` is
//! JSON), not by file name: the same OpenAPI document must give the same manifest in either
//! syntax, and both go through the same walk. Inputs are capped at [`MAX_INPUT_BYTES`], and a
//! key written twice in one object is an error in both syntaxes (JSON parsers usually keep the
//! last one silently; a route written twice in a hand-made manifest must not vanish).

use std::fmt;

use anyhow::{anyhow, bail, Result};
use std::cell::Cell;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Largest structured input accepted, bytes.
pub const MAX_INPUT_BYTES: usize = 64 * 1024 * 1024;

/// Most values (scalars, lists, objects and keys) in one structured input: the bound on the
/// parsed tree's memory. Large real OpenAPI documents hold well under a million.
pub const MAX_VALUES: usize = 4_000_000;

/// Parses `text` as JSON or YAML (by content) into a JSON tree; `what` names the input in
/// errors ("OpenAPI document").
pub fn parse_document(text: &str, what: &str) -> Result<Value> {
    check_size(text, what)?;
    let body = text.trim_start_matches('\u{feff}').trim_start();
    if body.is_empty() {
        bail!("{what}: empty input");
    }
    if body.starts_with(['{', '[']) {
        parse_json(body, what)
    } else {
        parse_yaml(body, what)
    }
}

/// Parses JSON (only), refusing duplicate keys.
pub fn parse_json(text: &str, what: &str) -> Result<Value> {
    check_size(text, what)?;
    let body = text.trim_start_matches('\u{feff}');
    let count = Cell::new(0);
    let mut de = serde_json::Deserializer::from_str(body);
    let value = StrictSeed(&count)
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v))
        .map_err(|e| anyhow!("{what}: invalid JSON: {e}"))?;
    Ok(value)
}

fn check_size(text: &str, what: &str) -> Result<()> {
    if text.len() > MAX_INPUT_BYTES {
        bail!(
            "{what}: {} bytes, more than the {} MiB accepted",
            text.len(),
            MAX_INPUT_BYTES / (1024 * 1024)
        );
    }
    Ok(())
}

/// Deepest flow nesting (`[`, `{`) accepted in YAML. The YAML parser refuses documents nested
/// deeper than 128 levels anyway, but only after scanning them in time quadratic in the depth
/// (a 200 KB line of `[` takes seconds): this linear pre-scan refuses them first.
const MAX_YAML_FLOW_DEPTH: usize = 256;

fn parse_yaml(text: &str, what: &str) -> Result<Value> {
    scan_yaml(text).map_err(|e| anyhow!("{what}: invalid YAML: {e}"))?;
    let mut yaml: serde_yaml::Value =
        serde_yaml::from_str(text).map_err(|e| anyhow!("{what}: invalid YAML: {e}"))?;
    yaml.apply_merge()
        .map_err(|e| anyhow!("{what}: invalid YAML merge key: {e}"))?;
    from_yaml(yaml).map_err(|e| anyhow!("{what}: {e}"))
}

/// Bounds a YAML document before the parser sees it: flow nesting depth, and an estimate of
/// its number of values (one per flow bracket and comma, two per non-empty line) against
/// [`MAX_VALUES`]. Brackets and commas inside quoted scalars and comments are skipped (an
/// approximation of YAML's grammar that errs towards counting).
fn scan_yaml(text: &str) -> Result<(), String> {
    let mut depth = 0usize;
    let mut values = 0usize;
    for (n, line) in text.lines().enumerate() {
        if !line.trim().is_empty() {
            values += 2;
        }
        let mut quote: Option<u8> = None;
        let mut prev = b' ';
        let bytes = line.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            match quote {
                Some(q) if b == q => {
                    // `''` inside a single-quoted scalar is an escaped quote.
                    if q == b'\'' && bytes.get(i + 1) == Some(&b'\'') {
                        i += 1;
                    } else {
                        quote = None;
                    }
                }
                Some(b'"') if b == b'\\' => i += 1,
                Some(_) => {}
                None => {
                    let token_start = matches!(prev, b' ' | b'\t' | b'[' | b'{' | b',' | b':');
                    match b {
                        b'\'' | b'"' if token_start => quote = Some(b),
                        b'#' if prev == b' ' || prev == b'\t' => break,
                        b'[' | b'{' => {
                            depth += 1;
                            values += 1;
                            if depth > MAX_YAML_FLOW_DEPTH {
                                return Err(format!(
                                    "flow collections nested more than {MAX_YAML_FLOW_DEPTH} deep at line {}",
                                    n + 1
                                ));
                            }
                        }
                        b']' | b'}' => depth = depth.saturating_sub(1),
                        b',' => values += 1,
                        _ => {}
                    }
                }
            }
            prev = b;
            i += 1;
        }
        if values > MAX_VALUES {
            return Err(format!(
                "more than {MAX_VALUES} values (estimated) by line {}",
                n + 1
            ));
        }
    }
    Ok(())
}

/// YAML → JSON tree. Scalar keys become strings (OpenAPI's `200:` response keys are integers
/// to a YAML parser); tags are dropped (`!Ref` style tags carry no meaning here).
fn from_yaml(v: serde_yaml::Value) -> Result<Value, String> {
    use serde_yaml::Value as Y;
    Ok(match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => yaml_number(&n),
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(
            items
                .into_iter()
                .map(from_yaml)
                .collect::<Result<Vec<_>, _>>()?,
        ),
        Y::Mapping(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let key = match k {
                    Y::String(s) => s,
                    Y::Number(n) => n.to_string(),
                    Y::Bool(b) => b.to_string(),
                    Y::Null => "null".to_owned(),
                    _ => return Err("a mapping key is not a scalar".to_owned()),
                };
                if out.contains_key(&key) {
                    return Err(format!("key `{key}` appears twice in one mapping"));
                }
                out.insert(key, from_yaml(v)?);
            }
            Value::Object(out)
        }
        Y::Tagged(t) => from_yaml(t.value)?,
    })
}

fn yaml_number(n: &serde_yaml::Number) -> Value {
    if let Some(u) = n.as_u64() {
        Value::from(u)
    } else if let Some(i) = n.as_i64() {
        Value::from(i)
    } else {
        n.as_f64()
            .and_then(serde_json::Number::from_f64)
            .map_or_else(|| Value::String(n.to_string()), Value::Number)
    }
}

/// Deserialises a JSON value whose objects refuse duplicate keys, counting values (keys
/// included) in the shared counter and refusing more than [`MAX_VALUES`]: the tree's memory is
/// bounded by the count, not by the bytes (`[[],[],…]` is one value per two bytes).
#[derive(Clone, Copy)]
struct StrictSeed<'c>(&'c Cell<usize>);

impl StrictSeed<'_> {
    fn count<E: de::Error>(&self) -> Result<(), E> {
        let n = self.0.get() + 1;
        self.0.set(n);
        if n > MAX_VALUES {
            return Err(E::custom(format!("more than {MAX_VALUES} values")));
        }
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for StrictSeed<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        self.count()?;
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }
    fn visit_i64<E>(self, i: i64) -> Result<Value, E> {
        Ok(Value::from(i))
    }
    fn visit_u64<E>(self, u: u64) -> Result<Value, E> {
        Ok(Value::from(u))
    }
    fn visit_f64<E>(self, f: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }
    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(self)? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            self.count()?;
            if out.contains_key(&key) {
                return Err(de::Error::custom(format!(
                    "key `{key}` appears twice in one object"
                )));
            }
            let v = map.next_value_seed(self)?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

/// The JSON type name of `v`, for error messages.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// `v` as an object, or an error naming `at`.
pub fn object<'a>(v: &'a Value, at: &str) -> Result<&'a Map<String, Value>> {
    v.as_object()
        .ok_or_else(|| anyhow!("{at}: expected an object, found {}", type_name(v)))
}

/// `v` as a list, or an error naming `at`.
pub fn list<'a>(v: &'a Value, at: &str) -> Result<&'a Vec<Value>> {
    v.as_array()
        .ok_or_else(|| anyhow!("{at}: expected a list, found {}", type_name(v)))
}

/// `v` as a string, or an error naming `at`.
pub fn string<'a>(v: &'a Value, at: &str) -> Result<&'a str> {
    v.as_str()
        .ok_or_else(|| anyhow!("{at}: expected a string, found {}", type_name(v)))
}

/// The optional member `key` of `obj` as a list (absent → empty), or an error naming it.
pub fn opt_list<'a>(obj: &'a Map<String, Value>, key: &str, at: &str) -> Result<&'a [Value]> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(v) => list(v, &format!("{at}.{key}")).map(Vec::as_slice),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_and_yaml_give_the_same_tree() {
        let j = parse_document(r#"{"a": {"200": [1, "x", true, null]}}"#, "t").unwrap();
        let y = parse_document("a:\n  200: [1, x, true, null]\n", "t").unwrap();
        assert_eq!(j, y);
    }

    #[test]
    fn duplicate_keys_are_refused_in_both_syntaxes() {
        let e = parse_document(r#"{"a": 1, "a": 2}"#, "t").unwrap_err();
        assert!(e.to_string().contains("`a` appears twice"), "{e}");
        assert!(parse_document("a: 1\na: 2\n", "t").is_err());
    }

    #[test]
    fn bad_inputs_are_errors() {
        assert!(parse_document("", "t").is_err());
        assert!(parse_document("{\"a\": ", "t").is_err());
        assert!(parse_document("a: [1, 2\n", "t").is_err());
        assert!(parse_document("? [a, b]\n: 1\n", "t").is_err());
        let big = " ".repeat(MAX_INPUT_BYTES + 1);
        let e = parse_document(&big, "t").unwrap_err();
        assert!(e.to_string().contains("MiB"), "{e}");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let deep_json = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse_document(&deep_json, "t").is_err());
        let deep_yaml = format!("a: {}{}", "[".repeat(100_000), "]".repeat(100_000));
        let e = parse_document(&deep_yaml, "t").unwrap_err();
        assert!(e.to_string().contains("nested more than"), "{e}");
        // Brackets in quoted scalars and comments are text, not nesting.
        let text = format!(
            "a: '{0}'\nb: \"{0}\"\nc: 1 # {0}\nd: [[x]]\n",
            "[".repeat(1000)
        );
        let v = parse_document(&text, "t").unwrap();
        assert_eq!(v["d"][0][0], "x");
    }

    #[test]
    fn too_many_values_are_refused_early() {
        let items = vec!["[]"; MAX_VALUES].join(",");
        let e = parse_document(&format!("[{items}]"), "t").unwrap_err();
        assert!(e.to_string().contains("more than 4000000 values"), "{e}");
        let e = parse_document(&format!("a: [{items}]"), "t").unwrap_err();
        assert!(e.to_string().contains("more than 4000000 values"), "{e}");
    }

    #[test]
    fn alias_expansion_is_bounded() {
        // "Billion laughs": nine levels of ten aliases each.
        let mut laughs = String::from("a0: &a0 [lol]\n");
        for i in 1..10 {
            let prev = format!("*a{}", i - 1);
            let row = [prev.as_str(); 10].join(", ");
            laughs.push_str(&format!("a{i}: &a{i} [{row}]\n"));
        }
        let e = parse_document(&laughs, "t").unwrap_err();
        assert!(e.to_string().contains("repetition limit"), "{e}");
    }

    #[test]
    fn yaml_anchors_and_merges_resolve() {
        let v = parse_document("base: &b {x: 1}\nother:\n  <<: *b\n  y: 2\n", "t").unwrap();
        assert_eq!(v["other"]["x"], 1);
        assert_eq!(v["other"]["y"], 2);
    }
}
