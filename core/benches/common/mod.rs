//! What both benchmark files send: the headers of a current desktop browser.

/// A current desktop browser, so the header detector passes and every later detector runs.
pub const BROWSER: &[(&str, &str)] = &[
    ("user-agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"),
    ("accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
    ("accept-language", "en-US,en;q=0.9"),
    ("accept-encoding", "gzip, deflate, br"),
    (":authority", "shop.example"),
    ("x-forwarded-proto", "http"),
    ("x-request-id", "3f1c5a6e-8d0b-4b1e-9a55-0d5c2f7e9a10"),
];
