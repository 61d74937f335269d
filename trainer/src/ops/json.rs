//! An order-preserving JSON tree, so an edit of the policy file changes only what it edits.
//!
//! `serde_json::Value` sorts object keys (the `preserve_order` feature is off in this
//! workspace), and writing the typed `Bundle` back would spell out every default setting,
//! pinning today's defaults into the operator's file. This tree keeps the operator's keys in
//! their order and every number and string exactly as written (`1e3` stays `1e3`, `\u00e9`
//! stays escaped); it is printed in `serde_json`'s pretty style, so a file written by
//! `aiwaf train` or `aiwaf bundle` keeps its bytes outside the edited part, and a file edited
//! once is stable under further edits. Only documents `serde_json` already accepted are parsed
//! here (the policy is loaded with `Bundle::from_json` first); the parser still returns errors
//! instead of panicking on anything else.

/// A JSON value with its object keys in document order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Json {
    /// A number, string, `true`, `false` or `null`, exactly as written (strings with quotes).
    Raw(String),
    /// An array.
    Array(Vec<Json>),
    /// An object: members in document order, each with its key as written and decoded.
    Object(Vec<Member>),
}

/// One member of an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Member {
    /// The key as written, quotes and escapes included (printed back unchanged).
    raw: String,
    /// The decoded key, for lookups.
    name: String,
    /// The value.
    pub(crate) value: Json,
}

/// serde_json's own nesting limit: deeper documents are refused there already.
const MAX_DEPTH: usize = 128;

impl Json {
    /// A string value, escaped as `serde_json` escapes it.
    pub(crate) fn str(s: &str) -> Json {
        Json::Raw(quote(s))
    }

    /// An unsigned integer value.
    pub(crate) fn uint(n: u64) -> Json {
        Json::Raw(n.to_string())
    }

    /// An object with the given members, in that order.
    pub(crate) fn object(members: Vec<(&str, Json)>) -> Json {
        Json::Object(
            members
                .into_iter()
                .map(|(name, value)| Member::new(name, value))
                .collect(),
        )
    }

    /// The member `key` of an object.
    pub(crate) fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(members) => members.iter().find(|m| m.name == key).map(|m| &m.value),
            _ => None,
        }
    }

    /// The member `key` of an object, mutable.
    pub(crate) fn get_mut(&mut self, key: &str) -> Option<&mut Json> {
        match self {
            Json::Object(members) => members
                .iter_mut()
                .find(|m| m.name == key)
                .map(|m| &mut m.value),
            _ => None,
        }
    }

    /// The member `key`, created with `make()` at the end of the object when absent. `None`
    /// when `self` is not an object.
    pub(crate) fn entry(&mut self, key: &str, make: impl FnOnce() -> Json) -> Option<&mut Json> {
        let Json::Object(members) = self else {
            return None;
        };
        let at = match members.iter().position(|m| m.name == key) {
            Some(at) => at,
            None => {
                members.push(Member::new(key, make()));
                members.len() - 1
            }
        };
        members.get_mut(at).map(|m| &mut m.value)
    }

    /// Removes the member `key` of an object; true when it was there.
    pub(crate) fn remove(&mut self, key: &str) -> bool {
        match self {
            Json::Object(members) => {
                let before = members.len();
                members.retain(|m| m.name != key);
                members.len() != before
            }
            _ => false,
        }
    }

    /// The elements of an array, mutable.
    pub(crate) fn items_mut(&mut self) -> Option<&mut Vec<Json>> {
        match self {
            Json::Array(items) => Some(items),
            _ => None,
        }
    }

    /// True for an empty array or object.
    pub(crate) fn is_empty_container(&self) -> bool {
        match self {
            Json::Array(items) => items.is_empty(),
            Json::Object(members) => members.is_empty(),
            Json::Raw(_) => false,
        }
    }

    /// The document in `serde_json`'s pretty style (two-space indent), with a final newline.
    pub(crate) fn pretty(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, 0);
        out.push('\n');
        out
    }

    fn write(&self, out: &mut String, depth: usize) {
        match self {
            Json::Raw(text) => out.push_str(text),
            Json::Array(items) if items.is_empty() => out.push_str("[]"),
            Json::Object(members) if members.is_empty() => out.push_str("{}"),
            Json::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    out.push_str(if i == 0 { "\n" } else { ",\n" });
                    indent(out, depth + 1);
                    item.write(out, depth + 1);
                }
                out.push('\n');
                indent(out, depth);
                out.push(']');
            }
            Json::Object(members) => {
                out.push('{');
                for (i, m) in members.iter().enumerate() {
                    out.push_str(if i == 0 { "\n" } else { ",\n" });
                    indent(out, depth + 1);
                    out.push_str(&m.raw);
                    out.push_str(": ");
                    m.value.write(out, depth + 1);
                }
                out.push('\n');
                indent(out, depth);
                out.push('}');
            }
        }
    }
}

impl Member {
    fn new(name: &str, value: Json) -> Member {
        Member {
            raw: quote(name),
            name: name.to_string(),
            value,
        }
    }
}

fn indent(out: &mut String, depth: usize) {
    for _ in 0..depth {
        out.push_str("  ");
    }
}

/// `s` as a JSON string literal.
fn quote(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

/// Parses a JSON document, keeping key order and the spelling of scalars.
pub(crate) fn parse(text: &str) -> Result<Json, String> {
    let mut p = Parser { text, at: 0 };
    let value = p.value(0)?;
    p.skip_ws();
    if p.at != text.len() {
        return Err(format!("trailing characters at byte {}", p.at));
    }
    Ok(value)
}

struct Parser<'a> {
    text: &'a str,
    at: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn expect(&mut self, byte: u8) -> Result<(), String> {
        self.skip_ws();
        if self.peek() == Some(byte) {
            self.at += 1;
            Ok(())
        } else {
            Err(format!(
                "expected `{}` at byte {}",
                char::from(byte),
                self.at
            ))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json, String> {
        if depth > MAX_DEPTH {
            return Err("nested too deeply".to_string());
        }
        self.skip_ws();
        match self.peek() {
            Some(b'{') => {
                self.at += 1;
                let mut members = Vec::new();
                self.skip_ws();
                if self.peek() == Some(b'}') {
                    self.at += 1;
                    return Ok(Json::Object(members));
                }
                loop {
                    self.skip_ws();
                    let raw = self.string()?;
                    let name: String = serde_json::from_str(&raw).map_err(|e| e.to_string())?;
                    self.expect(b':')?;
                    let value = self.value(depth + 1)?;
                    members.push(Member { raw, name, value });
                    self.skip_ws();
                    match self.peek() {
                        Some(b',') => self.at += 1,
                        Some(b'}') => {
                            self.at += 1;
                            return Ok(Json::Object(members));
                        }
                        _ => return Err(format!("expected `,` or `}}` at byte {}", self.at)),
                    }
                }
            }
            Some(b'[') => {
                self.at += 1;
                let mut items = Vec::new();
                self.skip_ws();
                if self.peek() == Some(b']') {
                    self.at += 1;
                    return Ok(Json::Array(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    self.skip_ws();
                    match self.peek() {
                        Some(b',') => self.at += 1,
                        Some(b']') => {
                            self.at += 1;
                            return Ok(Json::Array(items));
                        }
                        _ => return Err(format!("expected `,` or `]` at byte {}", self.at)),
                    }
                }
            }
            Some(b'"') => {
                let raw = self.string()?;
                serde_json::from_str::<String>(&raw).map_err(|e| e.to_string())?;
                Ok(Json::Raw(raw))
            }
            Some(_) => {
                let start = self.at;
                while matches!(self.peek(), Some(b) if b.is_ascii_alphanumeric() || b"+-.".contains(&b))
                {
                    self.at += 1;
                }
                let token = self.text.get(start..self.at).unwrap_or_default();
                match serde_json::from_str::<serde_json::Value>(token) {
                    Ok(v) if !v.is_string() && !v.is_array() && !v.is_object() => {
                        Ok(Json::Raw(token.to_string()))
                    }
                    _ => Err(format!("unexpected `{token}` at byte {start}")),
                }
            }
            None => Err("unexpected end of the document".to_string()),
        }
    }

    /// A string literal as written, quotes included (decoded and checked by the caller).
    fn string(&mut self) -> Result<String, String> {
        let start = self.at;
        if self.peek() != Some(b'"') {
            return Err(format!("expected a string at byte {start}"));
        }
        self.at += 1;
        loop {
            match self.peek() {
                None => return Err("unterminated string".to_string()),
                Some(b'\\') => self.at += 2,
                Some(b'"') => {
                    self.at += 1;
                    break;
                }
                Some(_) => self.at += 1,
            }
        }
        self.text
            .get(start..self.at)
            .map(str::to_string)
            .ok_or_else(|| format!("invalid string at byte {start}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_and_spelling() {
        let text = r#"{"z": 1e3, "a": ["\u00e9", -0.50, null, true], "m": {}, "e": []}"#;
        let doc = parse(text).unwrap();
        assert_eq!(
            doc.pretty(),
            "{\n  \"z\": 1e3,\n  \"a\": [\n    \"\\u00e9\",\n    -0.50,\n    null,\n    true\n  ],\n  \"m\": {},\n  \"e\": []\n}\n"
        );
        // Same meaning as serde_json reads it.
        let a: serde_json::Value = serde_json::from_str(text).unwrap();
        let b: serde_json::Value = serde_json::from_str(&doc.pretty()).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn prints_like_serde_json_pretty() {
        let v = serde_json::json!({"schema_version": 1, "settings": {"AIWAF_EXEMPT_IPS": ["10.0.0.0/8"], "PATH_RULES": []},
            "blocklist": [{"ip": "203.0.113.0/24", "reason": "a \"quoted\" reason\n", "expires_at": 5}], "learned": {}});
        let text = serde_json::to_string_pretty(&v).unwrap();
        assert_eq!(parse(&text).unwrap().pretty(), format!("{text}\n"));
    }

    #[test]
    fn refuses_what_is_not_json() {
        for bad in [
            "",
            "{",
            "{\"a\" 1}",
            "{\"a\":}",
            "[1,]",
            "[1 2]",
            "\"abc",
            "{\"a\":1} x",
            "nul",
            "{\"a\":\"\\q\"}",
            "[01]",
            "{1:2}",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert!(parse(&deep).is_err());
    }

    #[test]
    fn edits_objects() {
        let mut doc = parse(r#"{"b": 1, "a": {"x": [1]}}"#).unwrap();
        doc.entry("c", || Json::str("new")).unwrap();
        let a = doc.get_mut("a").unwrap();
        a.get_mut("x")
            .unwrap()
            .items_mut()
            .unwrap()
            .push(Json::uint(2));
        assert!(doc.remove("b"));
        assert!(!doc.remove("b"));
        assert_eq!(
            doc.pretty(),
            "{\n  \"a\": {\n    \"x\": [\n      1,\n      2\n    ]\n  },\n  \"c\": \"new\"\n}\n"
        );
        assert!(Json::uint(1).entry("x", || Json::uint(2)).is_none());
    }
}
