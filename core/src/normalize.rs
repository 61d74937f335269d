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
}

impl NormalizedPath {
    /// The non-empty segments of the normalised path.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.path.split('/').filter(|s| !s.is_empty())
    }
}

/// Normalises a raw request path (no query). Never fails: undecodable bytes are kept as
/// replacement characters, which no rule matches by accident. Decoding is the payload
/// decoder's (bounded repeated rounds, `%uXXXX`, overlong UTF-8 folded back to ASCII).
pub fn normalize_path(raw: &str) -> NormalizedPath {
    let decoded = crate::payload::decode::decode_component(raw, false);
    let mut out = NormalizedPath {
        overlong: decoded.overlong,
        nul_byte: decoded.text.contains('\0'),
        ..NormalizedPath::default()
    };
    // Backslash is a separator to IIS and to many frameworks; NUL truncates in C-based servers
    // (the flag above reports it, the bytes themselves are dropped).
    let text: &str = &decoded.text;
    let lower: String = if text.is_ascii() {
        // The common case: a byte loop, no Unicode case tables.
        text.bytes()
            .filter(|&b| b != 0)
            .map(|b| {
                if b == b'\\' {
                    '/'
                } else {
                    char::from(b.to_ascii_lowercase())
                }
            })
            .collect()
    } else {
        text.chars()
            .filter(|&c| c != '\0')
            .map(|c| if c == '\\' { '/' } else { c })
            .flat_map(char::to_lowercase)
            .collect()
    };
    let mut path = String::with_capacity(lower.len() + 1);
    // Where each kept segment starts in `path`, so `..` can drop the last one.
    let mut starts: Vec<usize> = Vec::new();
    for raw_seg in lower.split('/') {
        // `;jsessionid=…` and `..;/` tricks: servers drop matrix parameters before routing.
        let seg = raw_seg.split(';').next().unwrap_or("");
        // Windows ignores trailing dots and spaces (`shell.php.`, `x.asp `, `..%20`): trim
        // first, then a segment of two or more dots is a step up (`...` included), one dot or
        // nothing is no step.
        let spaced = seg.trim_end_matches(' ');
        if !spaced.is_empty() && spaced.bytes().all(|b| b == b'.') {
            if spaced.len() >= 2 {
                out.dot_dot = true;
                match starts.pop() {
                    Some(start) => path.truncate(start),
                    None => out.escaped_root = true,
                }
            }
            continue;
        }
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
        // Trailing dots and spaces do not hide a step up (IIS trims them).
        for trick in [
            "/static/..%20/admin/delete",
            "/static/.. /admin",
            "/static/.../admin",
            "/static/..%2e/admin",
        ] {
            let p = n(trick);
            assert!(p.dot_dot, "{trick}");
            assert!(!p.path.starts_with("/static"), "{trick} -> {}", p.path);
        }
        assert!(n("/x.php%00.jpg").nul_byte);
        assert!(n("/%c0%ae%c0%ae/etc").overlong);
        let p = n("/products/42/reviews");
        assert!(!p.dot_dot && !p.nul_byte && !p.overlong);
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
