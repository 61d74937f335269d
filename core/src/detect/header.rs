//! `header`: does this request look like it came from the client it claims to be?
//!
//! AIWAF's header validation (reference §10) with its known flaws fixed: user-agent patterns
//! match product tokens, not raw substrings (`java` no longer hits `javascript`); `Connection`
//! is not scored, because Envoy removes hop-by-hop headers before any filter sees them (and
//! HTTP/2 has none); a failure rejects the request, it does not blocklist the client.

use std::collections::BTreeMap;

use crate::bundle::{RequiredHeaders, Settings};
use crate::detect::{DetectorId, Finding};
use crate::engine::Context;
use crate::text::WordSet;

/// Substrings that mark a self-declared crawler.
const CRAWLER_MARKERS: &[&str] = &["bot", "crawler", "spider", "scraper"];

/// Product tokens of HTTP libraries, command-line tools and scanners.
const TOOL_TOKENS: WordSet = WordSet::new(&[
    "aiohttp",
    "axios",
    "curl",
    "dirbuster",
    "fasthttp",
    "feroxbuster",
    "ffuf",
    "gobuster",
    "httpie",
    "httpx",
    "insomnia",
    "java",
    "libwww",
    "lwp",
    "masscan",
    "mechanize",
    "nikto",
    "nmap",
    "node",
    "nuclei",
    "okhttp",
    "postman",
    "powershell",
    "python",
    "requests",
    "scrapy",
    "sqlmap",
    "urllib",
    "wget",
    "winhttp",
    "wpscan",
    "zgrab",
]);

/// Tool names that contain a hyphen, matched as a token prefix (`go-http-client`).
const HYPHENATED_TOOLS: &[&str] = &["go-http", "apache-httpclient"];

/// Crawlers that announce themselves and that sites usually welcome (not verified: a
/// reverse-DNS check needs I/O the proxy cannot do per request).
const LEGITIMATE_BOTS: WordSet = WordSet::new(&[
    "applebot",
    "baiduspider",
    "bingbot",
    "duckduckbot",
    "facebookexternalhit",
    "googlebot",
    "linkedinbot",
    "pingdom",
    "site24x7",
    "slurp",
    "statuscake",
    "telegrambot",
    "twitterbot",
    "uptimerobot",
    "whatsapp",
    "yandexbot",
]);

/// The compiled header policy.
#[derive(Debug)]
pub(crate) struct HeaderCheck {
    default_required: Vec<String>,
    by_method: BTreeMap<String, Vec<String>>,
    min_score: u32,
    max_bytes: usize,
    max_count: usize,
    max_user_agent: usize,
    max_accept: usize,
}

/// `HTTP_USER_AGENT`, `CONTENT_TYPE` and `User-Agent` all mean `user-agent`.
fn header_name(setting: &str) -> String {
    let s = setting.trim();
    let s = s.strip_prefix("HTTP_").unwrap_or(s);
    s.replace('_', "-").to_ascii_lowercase()
}

impl HeaderCheck {
    pub(crate) fn new(s: &Settings) -> HeaderCheck {
        let names = |v: &Vec<String>| v.iter().map(|h| header_name(h)).collect::<Vec<_>>();
        let aiwaf_default = vec!["user-agent".to_string(), "accept".to_string()];
        let (default_required, by_method) = match &s.required_headers {
            None => (aiwaf_default, BTreeMap::new()),
            Some(RequiredHeaders::All(v)) => (names(v), BTreeMap::new()),
            Some(RequiredHeaders::ByMethod(m)) => {
                let default = m.get("DEFAULT").map(names).unwrap_or(aiwaf_default);
                let per = m
                    .iter()
                    .filter(|(k, _)| k.as_str() != "DEFAULT")
                    .map(|(k, v)| (k.to_ascii_uppercase(), names(v)))
                    .collect();
                (default, per)
            }
        };
        HeaderCheck {
            default_required,
            by_method,
            min_score: s.header_quality_min_score,
            max_bytes: s.max_header_bytes as usize,
            max_count: s.max_header_count as usize,
            max_user_agent: s.max_user_agent_length as usize,
            max_accept: s.max_accept_length as usize,
        }
    }

    fn required(&self, method: &str) -> &[String] {
        self.by_method.get(method).unwrap_or(&self.default_required)
    }

    pub(crate) fn inspect(&self, ctx: &Context<'_, '_>) -> Option<Finding> {
        let req = ctx.req;
        let fail =
            |reason, evidence: String| Some(Finding::new(DetectorId::Header, reason, evidence));
        let (mut bytes, mut count) = (0usize, 0usize);
        for (k, v) in req.headers.iter().filter(|(k, _)| !k.starts_with(':')) {
            bytes += k.len() + v.len();
            count += 1;
        }
        if bytes > self.max_bytes {
            return fail("header_bytes_exceeded", format!("{bytes} bytes"));
        }
        if count > self.max_count {
            return fail("header_count_exceeded", format!("{count} headers"));
        }
        let present = |name: &str| req.header(name).map(str::trim).filter(|v| !v.is_empty());
        let ua = present("user-agent");
        let accept = present("accept");
        if let Some(ua) = ua {
            if ua.len() > self.max_user_agent {
                return fail("user_agent_too_long", format!("{} bytes", ua.len()));
            }
        }
        if let Some(a) = accept {
            if a.len() > self.max_accept {
                return fail("accept_too_long", format!("{} bytes", a.len()));
            }
        }
        let required = self.required(req.method);
        let missing: Vec<&str> = required
            .iter()
            .filter(|h| present(h).is_none())
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            return fail("missing_required_headers", missing.join(", "));
        }
        let lower_ua = ua.map(str::to_ascii_lowercase).unwrap_or_default();
        if let Some(ua) = ua {
            let lower = lower_ua.as_str();
            match classify_agent(lower) {
                Agent::Legitimate => {}
                Agent::Suspicious(pattern) => {
                    return fail("suspicious_user_agent", format!("{pattern}: {ua}"))
                }
                Agent::Ordinary if ua.len() < 10 => {
                    return fail("user_agent_too_short", ua.to_string())
                }
                Agent::Ordinary => {}
            }
        }
        let language = present("accept-language");
        let encoding = present("accept-encoding");
        if !required.is_empty() {
            let protocol = req.protocol.unwrap_or("");
            let combo = if protocol.starts_with("HTTP/2") && lower_ua.contains("mozilla/4.0") {
                Some("HTTP/2 with a legacy Mozilla/4.0 agent")
            } else if protocol == "HTTP/1.0" && lower_ua.contains("chrome") {
                Some("HTTP/1.0 with a modern browser agent")
            } else if accept == Some("*/*") && language.is_none() && encoding.is_none() {
                Some("Accept */* without Accept-Language or Accept-Encoding")
            } else if ua.is_some() && language.is_none() && encoding.is_none() {
                Some("no Accept-Language nor Accept-Encoding")
            } else {
                None
            };
            if let Some(why) = combo {
                return fail("suspicious_header_combination", why.to_string());
            }
        }
        let score = quality_score(ua, accept, language, encoding, present("cache-control"));
        if score < self.min_score {
            return fail(
                "low_header_quality",
                format!("score {score} < {}", self.min_score),
            );
        }
        None
    }
}

/// AIWAF's quality score without the `Connection` terms (see the module doc).
fn quality_score(
    ua: Option<&str>,
    accept: Option<&str>,
    language: Option<&str>,
    encoding: Option<&str>,
    cache_control: Option<&str>,
) -> u32 {
    let mut score = 0;
    score += if ua.is_some() { 2 } else { 0 };
    score += if accept.is_some() { 2 } else { 0 };
    score += u32::from(language.is_some()) + u32::from(encoding.is_some());
    score += u32::from(cache_control.is_some());
    score += u32::from(language.is_some() && encoding.is_some());
    if let Some(a) = accept {
        let a = a.to_ascii_lowercase();
        score += u32::from(a.contains("text/html") && a.contains("application/xml"));
    }
    score
}

/// What a user agent says about its client.
#[derive(Debug, PartialEq, Eq)]
enum Agent {
    /// A well-known crawler (by name; unverified).
    Legitimate,
    /// A crawler marker (`bot`, `spider`, …), a tool's product token (`curl/8`,
    /// `python-requests/2`, `Go-http-client/1.1`) or the bare `Mozilla/4.0`.
    Suspicious(&'static str),
    /// Nothing notable.
    Ordinary,
}

/// Classifies a lowercase user agent in one pass over its tokens: this runs on every request.
fn classify_agent(lower: &str) -> Agent {
    if lower == "mozilla/4.0" {
        return Agent::Suspicious("mozilla/4.0");
    }
    let mut suspicious = None;
    let tokens = lower.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    for token in tokens.filter(|t| t.len() >= 3) {
        if LEGITIMATE_BOTS.get(token).is_some() {
            return Agent::Legitimate;
        }
        if suspicious.is_some() {
            continue;
        }
        suspicious = TOOL_TOKENS
            .get(token)
            .or_else(|| {
                CRAWLER_MARKERS
                    .iter()
                    .copied()
                    .find(|m| crate::text::contains(token, m))
            })
            .or_else(|| {
                if !token.contains(['-', '_']) {
                    return None;
                }
                token
                    .split(['-', '_'])
                    .find_map(|part| TOOL_TOKENS.get(part))
                    .or_else(|| {
                        HYPHENATED_TOOLS.iter().copied().find(|h| {
                            token.starts_with(h)
                                && matches!(token.as_bytes().get(h.len()), None | Some(b'-'))
                        })
                    })
            });
    }
    suspicious.map_or(Agent::Ordinary, Agent::Suspicious)
}

#[cfg(test)]
mod tests {
    use super::{classify_agent, Agent};
    use crate::detect::DetectorId::Header;
    use crate::engine::testutil::{finding_with_headers, BROWSER};

    const CHROME: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";

    #[test]
    fn user_agent_tokens() {
        assert_eq!(
            classify_agent("mozilla/5.0 (compatible; googlebot/2.1)"),
            Agent::Legitimate
        );
        assert_eq!(
            classify_agent("mozilla/5.0 (compatible; uptimerobot/2.0)"),
            Agent::Legitimate
        );
        assert_eq!(classify_agent("curl/8.5.0"), Agent::Suspicious("curl"));
        assert_eq!(
            classify_agent("python-requests/2.31"),
            Agent::Suspicious("python")
        );
        assert_eq!(
            classify_agent("go-http-client/1.1"),
            Agent::Suspicious("go-http")
        );
        assert_eq!(classify_agent("sqlmap/1.7"), Agent::Suspicious("sqlmap"));
        assert_eq!(
            classify_agent("mozilla/5.0 (compatible; ahrefsbot/7.0)"),
            Agent::Suspicious("bot")
        );
        assert_eq!(
            classify_agent(&CHROME.to_ascii_lowercase()),
            Agent::Ordinary
        );
        assert_eq!(
            classify_agent("mozilla/5.0 javascript-enabled-browser"),
            Agent::Ordinary
        );
        assert_eq!(
            classify_agent("mozilla/5.0 (x11; nodebook)"),
            Agent::Ordinary
        );
    }

    #[test]
    fn browsers_pass_and_tools_fail() {
        assert!(finding_with_headers(Header, "GET", BROWSER).is_none());
        let curl = [("user-agent", "curl/8.5.0"), ("accept", "*/*")];
        assert_eq!(
            finding_with_headers(Header, "GET", &curl).map(|f| f.reason),
            Some("suspicious_user_agent")
        );
        let none: [(&str, &str); 0] = [];
        assert_eq!(
            finding_with_headers(Header, "GET", &none).map(|f| f.evidence),
            Some("user-agent, accept".to_string())
        );
        let minimal = [("user-agent", CHROME), ("accept", "text/html")];
        assert_eq!(
            finding_with_headers(Header, "GET", &minimal).map(|f| f.reason),
            Some("suspicious_header_combination")
        );
        let bot = [
            ("user-agent", "Mozilla/5.0 (compatible; Googlebot/2.1)"),
            ("accept", "*/*"),
            ("accept-encoding", "gzip"),
        ];
        assert!(finding_with_headers(Header, "GET", &bot).is_none());
    }

    #[test]
    fn caps_apply() {
        let long_ua = format!("{CHROME}{}", "x".repeat(600));
        let h = [("user-agent", long_ua.as_str()), ("accept", "text/html")];
        assert_eq!(
            finding_with_headers(Header, "GET", &h).map(|f| f.reason),
            Some("user_agent_too_long")
        );
        let long_accept = "a".repeat(5000);
        let h = [("user-agent", CHROME), ("accept", long_accept.as_str())];
        assert_eq!(
            finding_with_headers(Header, "GET", &h).map(|f| f.reason),
            Some("accept_too_long")
        );
        let many: Vec<(String, String)> = (0..120)
            .map(|i| (format!("x-h{i}"), "v".to_string()))
            .collect();
        let mut all: Vec<(&str, &str)> = BROWSER.to_vec();
        all.extend(many.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        assert_eq!(
            finding_with_headers(Header, "GET", &all).map(|f| f.reason),
            Some("header_count_exceeded")
        );
    }
}
