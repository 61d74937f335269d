//! Path normalisation: what a server would resolve the path to, before any path check.
//!
//! Attackers hide probes behind encodings that a backend undoes (`%2e%2e`, `%252e`, `\`,
//! `//`, mixed case, `;params`, trailing dots). Every path detector matches on the result of
//! [`normalize_path`], and the tricks themselves are reported as flags.

/// The canonical form of a request path and what it took to get there.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NormalizedPath {
    /// Lowercase, percent-decoded, `\` as `/`, no empty, `.` or `..` segments, `;params` and
    /// trailing dots/spaces stripped from segments. Always starts with `/`.
    pub path: String,
    /// A `..` segment appeared (after decoding): path traversal.
    pub dot_dot: bool,
    /// The `..` segments climbed above the root.
    pub escaped_root: bool,
    /// A NUL byte appeared (`%00`): extension-truncation trick.
    pub nul_byte: bool,
    /// An overlong UTF-8 encoding of `.`, `/` or `\` (`%c0%ae`): a classic filter bypass.
    pub overlong: bool,
    /// Decoding needed more than one round (double encoding such as `%252e`).
    pub double_encoded: bool,
}

impl NormalizedPath {
    /// The non-empty segments of the normalised path.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.path.split('/').filter(|s| !s.is_empty())
    }
}

/// Most decoding rounds applied; three covers double and triple encoding without letting a
/// hostile path make the filter loop.
const MAX_DECODE_ROUNDS: usize = 3;

/// Normalises a raw request path (no query). Never fails: undecodable bytes are kept as
/// replacement characters, which no rule matches by accident.
pub fn normalize_path(raw: &str) -> NormalizedPath {
    let mut out = NormalizedPath::default();
    let mut bytes: Vec<u8> = raw.as_bytes().to_vec();
    let mut rounds = 0;
    while rounds < MAX_DECODE_ROUNDS && bytes.contains(&b'%') {
        let decoded = percent_decode(&bytes);
        if decoded == bytes {
            break;
        }
        bytes = decoded;
        rounds += 1;
    }
    out.double_encoded = rounds > 1;
    // Overlong UTF-8 forms of '.', '/', '\' (C0 AE, C0 AF, C1 9C, E0 80 AE): servers that decode
    // leniently see the ASCII character, so do we.
    let mut cleaned = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match (b, bytes.get(i + 1), bytes.get(i + 2)) {
            (0xC0, Some(0xAE), _) => {
                cleaned.push(b'.');
                out.overlong = true;
                i += 2;
            }
            (0xC0, Some(0xAF), _) => {
                cleaned.push(b'/');
                out.overlong = true;
                i += 2;
            }
            (0xC1, Some(0x9C), _) => {
                cleaned.push(b'/');
                out.overlong = true;
                i += 2;
            }
            (0xE0, Some(0x80), Some(0xAE)) => {
                cleaned.push(b'.');
                out.overlong = true;
                i += 3;
            }
            (0, _, _) => {
                out.nul_byte = true;
                i += 1;
            }
            (b'\\', _, _) => {
                cleaned.push(b'/');
                i += 1;
            }
            _ => {
                cleaned.push(b);
                i += 1;
            }
        }
    }
    let text = String::from_utf8_lossy(&cleaned);
    let lower = text.to_lowercase();
    let mut path = String::with_capacity(lower.len() + 1);
    // Where each kept segment starts in `path`, so `..` can drop the last one.
    let mut starts: Vec<usize> = Vec::new();
    for raw_seg in lower.split('/') {
        // `;jsessionid=…` and `..;/` tricks: servers drop matrix parameters before routing.
        let seg = raw_seg.split(';').next().unwrap_or("");
        if seg == ".." {
            out.dot_dot = true;
            match starts.pop() {
                Some(start) => path.truncate(start),
                None => out.escaped_root = true,
            }
            continue;
        }
        // Windows ignores trailing dots and spaces (`shell.php.`, `x.asp `); this also drops `.`.
        let seg = seg.trim_end_matches(['.', ' ']);
        if seg.is_empty() {
            continue;
        }
        starts.push(path.len());
        path.push('/');
        path.push_str(seg);
    }
    if path.is_empty() {
        path.push('/');
    }
    out.path = path;
    out
}

/// Decodes `%XX` escapes; a `%` not followed by two hex digits is kept as is.
pub fn percent_decode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] == b'%' && i + 2 < input.len() {
            if let (Some(h), Some(l)) = (hex(input[i + 1]), hex(input[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(input[i]);
        i += 1;
    }
    out
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(p: &str) -> NormalizedPath {
        normalize_path(p)
    }

    #[test]
    fn resolves_the_tricks() {
        assert_eq!(n("/").path, "/");
        assert_eq!(n("").path, "/");
        assert_eq!(n("/Static//App.CSS").path, "/static/app.css");
        assert_eq!(n("/a/./b/../c").path, "/a/c");
        assert_eq!(n("/static/../.env").path, "/.env");
        assert_eq!(n("/%2e%2e/%2e%2e/etc/passwd").path, "/etc/passwd");
        assert_eq!(n("/%252e%252e/x").path, "/x");
        assert_eq!(n("/a%5c..%5c.git%5cconfig").path, "/.git/config");
        assert_eq!(n("/..;/admin;jsessionid=1/x").path, "/admin/x");
        assert_eq!(n("/shell.php.").path, "/shell.php");
        assert_eq!(n("/x.asp%20").path, "/x.asp");
        assert_eq!(n("/%c0%ae%c0%ae/etc/passwd").path, "/etc/passwd");
        assert_eq!(n("/WP-Admin.PHP/x.css").path, "/wp-admin.php/x.css");
    }

    #[test]
    fn flags_what_it_saw() {
        let p = n("/%2e%2e/%2e%2e/etc/passwd");
        assert!(p.dot_dot && p.escaped_root);
        let p = n("/a/b/../c");
        assert!(p.dot_dot && !p.escaped_root);
        assert!(n("/%252e%252e/x").double_encoded);
        assert!(n("/x.php%00.jpg").nul_byte);
        assert!(n("/%c0%ae%c0%ae/etc").overlong);
        let p = n("/products/42/reviews");
        assert!(!p.dot_dot && !p.nul_byte && !p.overlong && !p.double_encoded);
    }

    #[test]
    fn hostile_bytes_never_panic() {
        for p in [
            "%",
            "%%",
            "%4",
            "/%zz",
            "/\u{fffd}",
            "/%ff%fe",
            "/..",
            "/../../..",
            "%c0",
            "%e0%80",
        ] {
            let _ = n(p);
        }
        let long = "/a".repeat(50_000);
        assert_eq!(n(&long).path.len(), long.len());
    }
}
