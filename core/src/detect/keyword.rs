//! `keyword`: static and learned suspicious words, matched against whole path segments of the
//! normalised path.
//!
//! Matching whole segments (or a segment's stem before its first dot) instead of substrings is
//! what keeps `/profile/` and `/myshellfish` safe. A segment that is an allowed, exempt or
//! common legitimate word never matches, whatever was learned: AIWAF blocked `/en/profile/`
//! this way.

use crate::bundle::Bundle;
use crate::detect::{DetectorId, Finding};
use crate::engine::Context;
use crate::normalize::NormalizedPath;
use crate::text::FastSet;

/// Words of ordinary web applications that a learned or static keyword must never match
/// (AIWAF's default legitimate list).
pub(crate) const LEGITIMATE_WORDS: &[&str] = &[
    "profile",
    "user",
    "users",
    "account",
    "accounts",
    "settings",
    "dashboard",
    "home",
    "about",
    "contact",
    "help",
    "search",
    "list",
    "lists",
    "view",
    "views",
    "edit",
    "create",
    "update",
    "delete",
    "detail",
    "details",
    "api",
    "auth",
    "login",
    "logout",
    "register",
    "signup",
    "signin",
    "reset",
    "confirm",
    "activate",
    "verify",
    "page",
    "pages",
    "category",
    "categories",
    "tag",
    "tags",
    "post",
    "posts",
    "article",
    "articles",
    "blog",
    "blogs",
    "news",
    "item",
    "items",
    "admin",
    "administration",
    "manage",
    "manager",
    "control",
    "panel",
    "config",
    "configuration",
    "option",
    "options",
    "preference",
    "preferences",
    "contenttypes",
    "contenttype",
    "sessions",
    "session",
    "messages",
    "message",
    "staticfiles",
    "static",
    "sites",
    "site",
    "flatpages",
    "flatpage",
    "redirects",
    "redirect",
    "permissions",
    "permission",
    "groups",
    "group",
    "token",
    "tokens",
    "oauth",
    "social",
    "rest",
    "framework",
    "cors",
    "debug",
    "toolbar",
    "extensions",
    "allauth",
    "crispy",
    "forms",
    "channels",
    "celery",
    "redis",
    "cache",
    "email",
    "mail",
    "favicon",
    "robots",
    "sitemap",
    "manifest",
    "health",
    "ping",
    "status",
    "metrics",
    "test",
    "docs",
    "documentation",
    "endpoint",
    "endpoints",
    "resource",
    "resources",
    "data",
    "export",
    "import",
    "upload",
    "download",
    "file",
    "files",
    "media",
    "images",
    "documents",
    "reports",
    "analytics",
    "stats",
    "statistics",
    "customer",
    "customers",
    "client",
    "clients",
    "company",
    "companies",
    "department",
    "departments",
    "employee",
    "employees",
    "team",
    "teams",
    "project",
    "projects",
    "task",
    "tasks",
    "event",
    "events",
    "notification",
    "notifications",
    "alert",
    "alerts",
    "language",
    "languages",
    "locale",
    "locales",
    "translation",
    "translations",
    "en",
    "fr",
    "de",
    "es",
    "it",
    "pt",
    "ru",
    "ja",
    "zh",
    "ko",
];

/// The compiled keyword lists.
#[derive(Debug, Default)]
pub(crate) struct Keywords {
    /// Whole-word keywords (`shell`, learned words).
    words: FastSet<String>,
    /// Prefix keywords written with a trailing `-` (`wp-`).
    prefixes: Vec<String>,
    /// Dot keywords (`.php`, `.env`): a segment equal to one, starting with it or ending in it.
    dotted: Vec<String>,
    /// Segments that never match: allowed, exempt and legitimate words.
    never: FastSet<String>,
    /// Learned words, kept apart for the reason label.
    learned: FastSet<String>,
}

impl Keywords {
    pub(crate) fn new(bundle: &Bundle, now: u64) -> Keywords {
        let s = &bundle.settings;
        let norm = |w: &String| w.trim().to_lowercase();
        let never: FastSet<String> = s
            .allowed_path_keywords
            .iter()
            .chain(&s.exempt_keywords)
            .map(norm)
            .chain(LEGITIMATE_WORDS.iter().map(|w| w.to_string()))
            .collect();
        let mut k = Keywords {
            never,
            ..Keywords::default()
        };
        for w in s
            .malicious_keywords
            .iter()
            .map(norm)
            .filter(|w| !w.is_empty())
        {
            if w.starts_with('.') {
                k.dotted.push(w);
            } else if w.ends_with('-') {
                k.prefixes.push(w);
            } else if !k.never.contains(&w) {
                k.words.insert(w);
            }
        }
        for lk in &bundle.learned.keywords {
            let w = lk.word.trim().to_lowercase();
            let live = lk.expires_at.is_none_or(|t| t > now);
            if live && !w.is_empty() && !k.never.contains(&w) {
                k.learned.insert(w);
            }
        }
        k
    }

    /// Number of active words (static and learned).
    pub(crate) fn len(&self) -> usize {
        self.words.len() + self.prefixes.len() + self.dotted.len() + self.learned.len()
    }

    pub(crate) fn inspect(&self, ctx: &Context<'_, '_>) -> Option<Finding> {
        ctx.path.segments().find_map(|seg| {
            self.classify(seg)
                .map(|reason| Finding::new(DetectorId::Keyword, reason, seg.to_string()))
        })
    }

    /// Segments of `path` that match a static keyword: the `kw_hits` anomaly feature. Learned
    /// words do not count, so a model means the same after the next training.
    pub(crate) fn static_hits(&self, path: &NormalizedPath) -> u32 {
        path.segments()
            .filter(|seg| self.classify(seg) == Some(STATIC))
            .count() as u32
    }

    /// True when `word` could be learned: not a legitimate, allowed or exempt word, and not
    /// already caught by a static or learned keyword.
    pub(crate) fn learnable(&self, word: &str) -> bool {
        !self.never.contains(word) && self.classify(word).is_none()
    }

    /// `learned_keyword`, `static_keyword` or nothing, for one path segment.
    fn classify(&self, seg: &str) -> Option<&'static str> {
        if self.never.contains(seg) {
            return None;
        }
        // A legitimate stem (`site` in `site.bak`) only shields it from whole-word keywords.
        let stem = seg.split('.').next().unwrap_or(seg);
        let stem_counts = stem != seg && !self.never.contains(stem);
        if self.learned.contains(seg) || (stem_counts && self.learned.contains(stem)) {
            return Some(LEARNED);
        }
        let hit = self.words.contains(seg)
            || (stem_counts && self.words.contains(stem))
            || self.prefixes.iter().any(|p| seg.starts_with(p.as_str()))
            || self.dotted.iter().any(|d| {
                seg == d
                    || seg.ends_with(d.as_str())
                    || (seg.starts_with(d.as_str()) && seg.as_bytes().get(d.len()) == Some(&b'.'))
            });
        hit.then_some(STATIC)
    }
}

const STATIC: &str = "static_keyword";
const LEARNED: &str = "learned_keyword";

#[cfg(test)]
mod tests {
    use crate::detect::DetectorId::Keyword;
    use crate::engine::testutil::finding_for;

    #[test]
    fn static_keywords_match_segments_not_substrings() {
        let cases = [
            ("/shell", Some("static_keyword")),
            ("/Shell.PHP", Some("static_keyword")),
            ("/wp-login", Some("static_keyword")),
            ("/blog/wp-content/x", Some("static_keyword")),
            ("/xmlrpc", Some("static_keyword")),
            ("/filemanager/", Some("static_keyword")),
            ("/site.bak", Some("static_keyword")),
            ("/myshell", None),
            ("/shellfish/recipes", None),
            ("/en/profile/", None),
            ("/", None),
            ("/products/wpx", None),
        ];
        for (path, want) in cases {
            assert_eq!(
                finding_for(Keyword, "{}", path).map(|f| f.reason),
                want,
                "{path}"
            );
        }
    }

    #[test]
    fn learned_keywords_respect_allowed_and_exempt_words() {
        let b = r#"{"learned":{"keywords":[{"word":"profile"},{"word":"dumper"},{"word":"webhook"},
                   {"word":"stale","expires_at":5}]},
                   "settings":{"AIWAF_ALLOWED_PATH_KEYWORDS":["quarterly_reports"]}}"#;
        assert!(finding_for(Keyword, b, "/en/profile/").is_none());
        assert!(finding_for(Keyword, b, "/hooks/webhook").is_none());
        assert_eq!(
            finding_for(Keyword, b, "/tools/dumper").map(|f| f.reason),
            Some("learned_keyword")
        );
        assert_eq!(
            finding_for(Keyword, b, "/dumper.txt").map(|f| f.reason),
            Some("learned_keyword")
        );
        // expired at t=5, the test clock is later
        assert!(finding_for(Keyword, b, "/stale").is_none());
        let b2 = r#"{"learned":{"keywords":[{"word":"quarterly_reports"}]},
                    "settings":{"AIWAF_ALLOWED_PATH_KEYWORDS":["quarterly_reports"]}}"#;
        assert!(finding_for(Keyword, b2, "/docs/quarterly_reports").is_none());
    }

    #[test]
    fn malicious_keywords_setting_replaces_the_static_list() {
        let b = r#"{"settings":{"AIWAF_MALICIOUS_KEYWORDS":["cryptominer"]}}"#;
        assert!(finding_for(Keyword, b, "/cryptominer").is_some());
        assert!(finding_for(Keyword, b, "/shell").is_none());
    }
}
