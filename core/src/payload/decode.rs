//! Percent-decoding for query strings, form bodies and JSON values, hardened for hostile input.
//!
//! Attackers hide payloads behind double encoding (`%252e`), IIS `%uXXXX` escapes and overlong
//! UTF-8 (`%c0%ae`). Decoding here is repeated (bounded) while it keeps changing, never panics, and
//! folds overlong sequences back to the ASCII they smuggle so the classifier sees the real text.

use std::borrow::Cow;

/// How many decoding rounds at most: enough for double and triple encoding, bounded for cost.
const MAX_ROUNDS: usize = 3;

/// Result of decoding one component.
#[derive(Debug)]
pub(crate) struct Decoded<'a> {
    /// The decoded text (borrowed when nothing had to change: the common benign case).
    pub text: Cow<'a, str>,
    /// An overlong UTF-8 sequence encoding ASCII was seen (a classic traversal evasion).
    pub overlong: bool,
}

/// Decodes a query/form component (`+` is a space on the first round) or, with `plus_is_space`
/// false, a value from elsewhere (JSON strings, paths) where `+` is literal.
pub(crate) fn decode_component(raw: &str, plus_is_space: bool) -> Decoded<'_> {
    let bytes = raw.as_bytes();
    let needs = bytes.contains(&b'%') || (plus_is_space && bytes.contains(&b'+'));
    if !needs {
        return Decoded {
            text: Cow::Borrowed(raw),
            overlong: false,
        };
    }
    let mut overlong = false;
    let mut buf = Vec::with_capacity(bytes.len());
    decode_once(bytes, plus_is_space, &mut buf, &mut overlong);
    let mut current = String::from_utf8_lossy(&buf).into_owned();
    for _ in 1..MAX_ROUNDS {
        if !current.as_bytes().contains(&b'%') {
            break;
        }
        buf.clear();
        if !decode_once(current.as_bytes(), false, &mut buf, &mut overlong) {
            break;
        }
        current = String::from_utf8_lossy(&buf).into_owned();
    }
    Decoded {
        text: Cow::Owned(current),
        overlong,
    }
}

/// Value of an ASCII hex digit.
fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// One decoding round into `out`; returns whether anything changed.
fn decode_once(input: &[u8], plus_is_space: bool, out: &mut Vec<u8>, overlong: &mut bool) -> bool {
    let mut changed = false;
    let mut i = 0;
    while i < input.len() {
        let b = input[i];
        if b == b'%' {
            // %XX
            if let (Some(h), Some(l)) = (
                input.get(i + 1).copied().and_then(hex),
                input.get(i + 2).copied().and_then(hex),
            ) {
                out.push(h << 4 | l);
                i += 3;
                changed = true;
                continue;
            }
            // %uXXXX (IIS)
            if matches!(input.get(i + 1), Some(b'u') | Some(b'U')) {
                let mut cp: u32 = 0;
                let mut ok = true;
                for k in 0..4 {
                    match input.get(i + 2 + k).copied().and_then(hex) {
                        Some(d) => cp = cp << 4 | u32::from(d),
                        None => {
                            ok = false;
                            break;
                        }
                    }
                }
                if ok {
                    let c = char::from_u32(cp).unwrap_or(char::REPLACEMENT_CHARACTER);
                    let mut tmp = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
                    i += 6;
                    changed = true;
                    continue;
                }
            }
            out.push(b);
            i += 1;
        } else if b == b'+' && plus_is_space {
            out.push(b' ');
            changed = true;
            i += 1;
        } else {
            out.push(b);
            i += 1;
        }
    }
    if fold_overlong(out) {
        *overlong = true;
        changed = true;
    }
    changed
}

/// Rewrites overlong UTF-8 encodings of ASCII (`C0 AE` = `.`, `E0 80 AF` = `/`) to the ASCII byte.
/// Returns whether any was found. Such sequences are never produced by honest encoders.
fn fold_overlong(buf: &mut Vec<u8>) -> bool {
    let has_lead = buf.iter().any(|&b| b == 0xC0 || b == 0xC1 || b == 0xE0);
    if !has_lead {
        return false;
    }
    let mut found = false;
    let mut w = 0;
    let mut r = 0;
    while r < buf.len() {
        let b = buf[r];
        let c1 = buf.get(r + 1).copied();
        let c2 = buf.get(r + 2).copied();
        let is_cont = |c: Option<u8>| matches!(c, Some(x) if x & 0xC0 == 0x80);
        if (b == 0xC0 || b == 0xC1) && is_cont(c1) {
            let v = ((b & 0x1F) << 6) | (c1.unwrap_or(0) & 0x3F);
            buf[w] = v;
            w += 1;
            r += 2;
            found = true;
        } else if b == 0xE0 && matches!(c1, Some(x) if (0x80..0xA0).contains(&x)) && is_cont(c2) {
            let v = (u32::from(c1.unwrap_or(0) & 0x3F) << 6) | u32::from(c2.unwrap_or(0) & 0x3F);
            // Values < 0x80 are ASCII smuggling; larger ones are just junk, keep a marker.
            buf[w] = if v < 0x80 { v as u8 } else { b'?' };
            w += 1;
            r += 3;
            found = true;
        } else {
            buf[w] = b;
            w += 1;
            r += 1;
        }
    }
    buf.truncate(w);
    found
}

/// Decodes HTML character references (`&#99;`, `&#x28;`, `&lpar;`, `&colon;`...), with or
/// without the trailing `;` as browsers accept. Returns `None` when nothing changed. XSS filters
/// that do not do this are bypassed by `java&#115;cript:` and `confirm&lpar;1&rpar;`.
pub(crate) fn decode_html_entities(s: &str) -> Option<String> {
    if !s.contains('&') {
        return None;
    }
    let mut out = String::with_capacity(s.len());
    let mut changed = false;
    let mut rest = s;
    while let Some(p) = rest.find('&') {
        out.push_str(&rest[..p]);
        let after = &rest[p + 1..];
        if let Some((c, used)) = entity(after) {
            out.push(c);
            rest = &after[used..];
            changed = true;
        } else {
            out.push('&');
            rest = after;
        }
    }
    out.push_str(rest);
    changed.then_some(out)
}

/// Named references attackers use to hide JavaScript syntax.
const NAMED: &[(&str, char)] = &[
    ("lt", '<'),
    ("gt", '>'),
    ("quot", '"'),
    ("apos", '\''),
    ("amp", '&'),
    ("colon", ':'),
    ("lpar", '('),
    ("rpar", ')'),
    ("tab", '\t'),
    ("newline", '\n'),
    ("sol", '/'),
    ("bsol", '\\'),
    ("lsqb", '['),
    ("rsqb", ']'),
    ("lcub", '{'),
    ("rcub", '}'),
    ("comma", ','),
    ("period", '.'),
    ("excl", '!'),
    ("equals", '='),
    ("plus", '+'),
    ("num", '#'),
    ("grave", '`'),
    ("semi", ';'),
    ("nbsp", ' '),
];

/// Parses one reference after `&`; returns the char and bytes consumed.
fn entity(after: &str) -> Option<(char, usize)> {
    let b = after.as_bytes();
    if b.first() == Some(&b'#') {
        let (hexa, start) = match b.get(1) {
            Some(b'x') | Some(b'X') => (true, 2),
            _ => (false, 1),
        };
        let mut end = start;
        let mut v: u32 = 0;
        while let Some(&c) = b.get(end) {
            let d = if hexa {
                (c as char).to_digit(16)
            } else {
                (c as char).to_digit(10)
            };
            let Some(d) = d else { break };
            v = v
                .saturating_mul(if hexa { 16 } else { 10 })
                .saturating_add(d);
            end += 1;
        }
        if end == start {
            return None;
        }
        if b.get(end) == Some(&b';') {
            end += 1;
        }
        return Some((
            char::from_u32(v).unwrap_or(char::REPLACEMENT_CHARACTER),
            end,
        ));
    }
    for (name, c) in NAMED {
        let n = name.len();
        if b.len() >= n && b[..n].eq_ignore_ascii_case(name.as_bytes()) {
            let used = if b.get(n) == Some(&b';') { n + 1 } else { n };
            // without `;` only accept when the name is not a prefix of a longer word
            if used == n && b.get(n).is_some_and(|x| x.is_ascii_alphanumeric()) {
                continue;
            }
            return Some((*c, used));
        }
    }
    None
}

/// If the whole value looks like base64 (standard or URL-safe alphabet, at least 12 chars) and
/// decodes to printable UTF-8 text, returns that text. Scanners (gotestwaf `Base64Flat`) and
/// real applications ship payloads base64-encoded; binary tokens decode to non-text and are
/// ignored, so session ids and hashes cost one linear pass and pass.
pub(crate) fn decode_base64_text(s: &str) -> Option<String> {
    let b = s.trim_end_matches('=').as_bytes();
    if b.len() < 12 || s.len() - b.len() > 2 {
        return None;
    }
    let mut out = Vec::with_capacity(b.len() * 3 / 4 + 1);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for &c in b {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    let text = String::from_utf8(out).ok()?;
    let printable = text
        .chars()
        .all(|c| !c.is_control() || c == '\n' || c == '\r' || c == '\t');
    // Random tokens and alphanumeric words (`internationalization`) decode to bytes that are
    // rarely printable, mostly-ASCII UTF-8; the classifier judges whatever text remains.
    let ascii = text.bytes().filter(u8::is_ascii).count();
    (printable && ascii * 10 >= text.len() * 9).then_some(text)
}
