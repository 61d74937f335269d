//! Route templates and method names: the two strings every route is keyed and checked by.
//!
//! A template is a path with `{name}` variables (`/items/{id}`, `/img/{slug}.png`). Every
//! source is brought to this one syntax so that the bundle compiler has a single thing to
//! match: OpenAPI already uses it, Flask's `<uuid:item_id>` and Envoy's `{id=*}` are
//! converted, and literal text is kept to the characters a path may carry on the wire
//! (RFC 3986 `pchar`), anything else percent-encoded, so that a literal `{` in a logged path can
//! never be mistaken for a variable.

/// Longest template or regex key accepted, in bytes.
pub const MAX_TEMPLATE_LEN: usize = 2048;

/// Longest method name accepted (real methods are short; this bounds what a log can inject).
const MAX_METHOD_LEN: usize = 32;

/// True for the bytes a path segment may carry unencoded (RFC 3986 `pchar` minus `%`).
fn is_pchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&b)
}

fn is_var_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.'
}

/// Percent-encodes every byte of `literal` that is not a `pchar` or `/`, and every `%` not
/// followed by two hex digits. Used on paths read from logs, where the text is data.
pub fn encode_literal(literal: &str) -> String {
    let bytes = literal.as_bytes();
    let mut out = String::with_capacity(bytes.len());
    for (i, &b) in bytes.iter().enumerate() {
        let escape_ok = b == b'%'
            && bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
            && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
        if is_pchar(b) || b == b'/' || escape_ok {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Converts the template syntaxes met in route sources to `{name}`:
/// Flask/Werkzeug `<converter(args):name>` and `<name>`, Envoy `{name=*}` / `{name=**}`, and
/// Envoy's bare `*` / `**` segments (`{segment}` / `{path}`). Other text is left as it is for
/// [`check_template`] to judge.
pub fn convert_template(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(c) = rest.chars().next() {
        let open_close = match c {
            '<' => Some('>'),
            '{' => Some('}'),
            _ => None,
        };
        if let Some(close) = open_close {
            if let Some(end) = rest.find(close) {
                let inner = &rest[1..end];
                let name = if c == '<' {
                    inner.rsplit(':').next().unwrap_or(inner)
                } else {
                    inner.split('=').next().unwrap_or(inner)
                };
                if !name.is_empty() && name.bytes().all(is_var_name_byte) {
                    out.push('{');
                    out.push_str(name);
                    out.push('}');
                    rest = &rest[end + 1..];
                    continue;
                }
            }
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out.split('/')
        .map(|seg| match seg {
            "*" => "{segment}",
            "**" => "{path}",
            other => other,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Checks a path template: starts with `/`, at most [`MAX_TEMPLATE_LEN`] bytes, no empty
/// segment except a trailing slash, no `.`/`..` segment, literal text of `pchar`s and valid
/// `%XX` escapes, variables `{name}` with a name of letters, digits, `_`, `-`, `.`.
/// The error says what is wrong, without the template (callers name it).
pub fn check_template(t: &str) -> Result<(), String> {
    if !t.starts_with('/') {
        return Err("a route template must start with `/`".into());
    }
    if t.len() > MAX_TEMPLATE_LEN {
        return Err(format!(
            "longer than {MAX_TEMPLATE_LEN} bytes ({} bytes)",
            t.len()
        ));
    }
    if t.contains('<') {
        let hint = convert_template(t);
        return Err(format!(
            "`<...>` is Flask's syntax: route templates use `{{name}}`, as in `{hint}`"
        ));
    }
    let segments: Vec<&str> = t[1..].split('/').collect();
    let last = segments.len() - 1;
    for (i, seg) in segments.iter().enumerate() {
        if seg.is_empty() && i != last {
            return Err("empty path segment (`//`)".into());
        }
        if *seg == "." || *seg == ".." {
            return Err(format!(
                "`{seg}` segment (paths are matched after normalisation, so it could never match)"
            ));
        }
        check_segment(seg)?;
    }
    Ok(())
}

fn check_segment(seg: &str) -> Result<(), String> {
    let b = seg.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'{' => {
                let Some(len) = b[i + 1..].iter().position(|&c| c == b'}') else {
                    return Err("`{` without its `}`".into());
                };
                let name = &b[i + 1..i + 1 + len];
                if name.is_empty() || !name.iter().all(|&c| is_var_name_byte(c)) {
                    return Err(format!(
                        "variable `{{{}}}`: a name is letters, digits, `_`, `-` or `.`",
                        String::from_utf8_lossy(name)
                    ));
                }
                i += len + 2;
            }
            b'}' => return Err("`}` without its `{`".into()),
            b'%' => {
                let ok = b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                    && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
                if !ok {
                    return Err("`%` not followed by two hex digits".into());
                }
                i += 3;
            }
            c if is_pchar(c) => i += 1,
            c => {
                return Err(format!(
                    "character {:?} is not allowed in a path (percent-encode it)",
                    char::from(c)
                ))
            }
        }
    }
    Ok(())
}

/// Checks the key of a regex route: non-empty, at most [`MAX_TEMPLATE_LEN`] bytes, no control
/// characters. Its syntax is RE2's (Envoy's), which no dependency here implements, so it is
/// not compiled.
pub fn check_regex_key(re: &str) -> Result<(), String> {
    if re.is_empty() {
        return Err("an empty regex".into());
    }
    if re.len() > MAX_TEMPLATE_LEN {
        return Err(format!(
            "longer than {MAX_TEMPLATE_LEN} bytes ({} bytes)",
            re.len()
        ));
    }
    if re.chars().any(char::is_control) {
        return Err("a control character in a regex".into());
    }
    Ok(())
}

/// True for an RFC 9110 token (`tchar`s), the syntax of a method name.
pub fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_METHOD_LEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Checks one method of a manifest route. `HEAD` and `OPTIONS` are refused rather than kept:
/// `HEAD` goes with `GET` and `OPTIONS` is always accepted, so listing them would only suggest
/// a meaning they do not have.
pub fn check_method(m: &str) -> Result<(), String> {
    if !is_token(m) {
        return Err(format!(
            "`{m}` is not a method name (an HTTP token of at most {MAX_METHOD_LEN} characters)"
        ));
    }
    if m.bytes().any(|b| b.is_ascii_lowercase()) {
        return Err(format!(
            "`{m}`: methods are written in upper case (`{}`)",
            m.to_ascii_uppercase()
        ));
    }
    if m == "HEAD" || m == "OPTIONS" {
        return Err(format!(
            "`{m}` is implied (HEAD goes with GET, OPTIONS is always accepted): leave it out"
        ));
    }
    Ok(())
}

/// Upper-cases `m` and keeps it when it is a method worth listing (a token, not `HEAD` or
/// `OPTIONS`): the generators' common filter.
pub fn listed_method(m: &str) -> Option<String> {
    let upper = m.to_ascii_uppercase();
    (is_token(&upper) && upper != "HEAD" && upper != "OPTIONS").then_some(upper)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flask_and_envoy_syntax_become_braces() {
        assert_eq!(
            convert_template("/api/items/<uuid:item_id>"),
            "/api/items/{item_id}"
        );
        assert_eq!(convert_template("/u/<name>/x"), "/u/{name}/x");
        assert_eq!(convert_template("/l/<string(length=2):lang>"), "/l/{lang}");
        assert_eq!(convert_template("/f/{id=*}/{rest=**}"), "/f/{id}/{rest}");
        assert_eq!(convert_template("/a/*/b/**"), "/a/{segment}/b/{path}");
        assert_eq!(convert_template("/items/{id}"), "/items/{id}");
    }

    #[test]
    fn templates_are_checked() {
        assert!(check_template("/").is_ok());
        assert!(check_template("/items/{id}/").is_ok());
        assert!(check_template("/img/{slug}.png").is_ok());
        assert!(check_template("/a%20b").is_ok());
        assert!(check_template("items").is_err());
        assert!(check_template("/a//b").is_err());
        assert!(check_template("/a/../b").is_err());
        assert!(check_template("/a b").is_err());
        assert!(check_template("/a/{").is_err());
        assert!(check_template("/a/}").is_err());
        assert!(check_template("/a/{}").is_err());
        assert!(check_template("/a/%zz").is_err());
        assert!(check_template("/a?b=1").is_err());
        let flask = check_template("/i/<int:id>").unwrap_err();
        assert!(flask.contains("`/i/{id}`"), "{flask}");
    }

    #[test]
    fn literals_are_encoded() {
        assert_eq!(
            encode_literal("/a b/{x}/%41/%zz"),
            "/a%20b/%7Bx%7D/%41/%25zz"
        );
        assert_eq!(encode_literal("/caf\u{e9}"), "/caf%C3%A9");
    }

    #[test]
    fn methods_are_checked() {
        assert!(check_method("GET").is_ok());
        assert!(check_method("PROPFIND").is_ok());
        assert!(check_method("get").is_err());
        assert!(check_method("HEAD").is_err());
        assert!(check_method("OPTIONS").is_err());
        assert!(check_method("G T").is_err());
        assert!(check_method("").is_err());
        assert_eq!(listed_method("post").as_deref(), Some("POST"));
        assert_eq!(listed_method("head"), None);
        assert_eq!(listed_method("\u{1}"), None);
    }
}
