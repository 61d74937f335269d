//! Route classification: what a route is (category) and the protections that follow from it.
//!
//! The rules are AIWAF's `classify_route` (reference §11), applied to what a proxy-side source
//! can know: the path, the methods, and, from OpenAPI only, security requirements and media
//! types. First matching rule wins:
//!
//! | rule | category | rate (per 60 s) | protections changed |
//! |---|---|---|---|
//! | under `/static/`, `/media/`, `/assets/`, or a static file extension (`.css`, `.js`, images, fonts) | static | 60 | header validation, anomaly, honeypot off |
//! | an `admin` segment | admin | 30 | `auth_required` |
//! | a login-like segment (login, signin, sign_in, auth, token, password…) | auth | 30 | honeypot on |
//! | multipart request body | upload | 20 | |
//! | form (urlencoded) request body | form | 30 | honeypot on |
//! | `/api/` prefix, a JSON request body, or JSON as the only success response type (not with a form body) | api | 120 | honeypot and header validation off |
//! | an `upload`, `uploads` or `files` segment | upload | 20 | |
//! | anything else | app | 60 (90 when `auth_required`) | |
//!
//! Then any route accepting POST that is not api or upload gets 30 per 60 s, and an app route
//! accepting POST becomes a form. API-like routes (the api rule's condition) keep honeypot and
//! header validation off whatever their category: API clients are not browsers (they send no
//! browser headers and post without loading a page).
//!
//! Words are matched on whole segment words (split at `-`, `_`, `.`), lowercase, so that
//! `/authors` is not auth and `/reset-password` is: AIWAF's substring matching made
//! `/administrators-guide` an admin route.

use crate::manifest::{Category, Protections, RateLimit, ResponseType, Route, Toggle};

/// Rate-limit window of every generated route, seconds.
pub const WINDOW_SECONDS: u32 = 60;

const STATIC_PREFIXES: &[&str] = &["static", "media", "assets"];
/// AIWAF's static extensions, plus the font and image types its Flask exemptions list.
const STATIC_EXTENSIONS: &[&str] = &[
    "css", "js", "mjs", "map", "png", "jpg", "jpeg", "gif", "ico", "svg", "webp", "avif", "woff",
    "woff2", "ttf", "eot",
];
const ADMIN_WORDS: &[&str] = &["admin", "administrator", "administration"];
const AUTH_WORDS: &[&str] = &[
    "login", "logon", "signin", "auth", "oauth", "oauth2", "token", "tokens", "password", "passwd",
];
/// Two-word spellings of sign-in (`sign_in`, `log-in`).
const AUTH_PAIRS: &[(&str, &str)] = &[("sign", "in"), ("log", "in")];
const UPLOAD_WORDS: &[&str] = &["upload", "uploads", "files"];
/// AIWAF's "protected app prefixes": pages of a signed-in user.
const ACCOUNT_PREFIXES: &[&str] = &[
    "portal",
    "dashboard",
    "account",
    "accounts",
    "profile",
    "settings",
];

/// What a source knows about a route before classification.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// Accepted methods (upper case), empty for unknown.
    pub methods: Vec<String>,
    /// Whether authentication is required, when the source says (OpenAPI `security`).
    pub auth_required: Option<bool>,
    /// Request bodies accepted.
    pub body: BodyKinds,
    /// What the source says the route answers with (OpenAPI responses).
    pub response: Option<ResponseType>,
}

/// Request body kinds a route accepts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BodyKinds {
    /// `application/x-www-form-urlencoded`.
    pub form: bool,
    /// `multipart/*`.
    pub multipart: bool,
    /// `application/json` or `+json`.
    pub json: bool,
}

/// True for a word that the classifier gives a meaning to: such segments are never merged into
/// a `{slug}` by the log generator, or their route would lose its category.
pub fn is_significant_segment(segment: &str) -> bool {
    let lower = segment.to_ascii_lowercase();
    let words = words(&lower);
    words.iter().any(|w| {
        ADMIN_WORDS.contains(w) || AUTH_WORDS.contains(w) || UPLOAD_WORDS.contains(w) || *w == "api"
    }) || is_auth_pair(&words)
}

/// The static extension of a segment (`app.css` → `css`), lowercase.
pub fn static_extension(segment: &str) -> Option<String> {
    let (_, ext) = segment.rsplit_once('.')?;
    let ext = ext.to_ascii_lowercase();
    STATIC_EXTENSIONS.contains(&ext.as_str()).then_some(ext)
}

fn words(segment: &str) -> Vec<&str> {
    segment
        .split(['-', '_', '.'])
        .filter(|w| !w.is_empty())
        .collect()
}

fn is_auth_pair(words: &[&str]) -> bool {
    words.windows(2).any(|p| AUTH_PAIRS.contains(&(p[0], p[1])))
}

/// Classifies the route keyed `template` (a template or a prefix; a regex key is classified as
/// the text it is, which catches literal words such as `admin` in it).
pub fn classify(template: &str, facts: &Facts) -> Route {
    let lower = template.to_ascii_lowercase();
    let segments: Vec<&str> = lower.split('/').filter(|s| !s.is_empty()).collect();
    let any_word = |list: &[&str]| {
        segments
            .iter()
            .any(|s| words(s).iter().any(|w| list.contains(w)))
    };
    let first = segments.first().copied().unwrap_or("");
    let last = segments.last().copied().unwrap_or("");
    let post = facts.methods.iter().any(|m| m == "POST");

    let is_static = STATIC_PREFIXES.iter().any(|p| {
        lower
            .strip_prefix('/')
            .and_then(|l| l.strip_prefix(p))
            .is_some_and(|r| r.starts_with('/'))
    }) || static_extension(last).is_some();
    let is_admin = any_word(ADMIN_WORDS);
    let is_auth = any_word(AUTH_WORDS) || segments.iter().any(|s| is_auth_pair(&words(s)));
    let json_body = facts.body.json || facts.response == Some(ResponseType::Json);
    let api_like = !is_static && (first == "api" || (json_body && !facts.body.form));
    let account = ACCOUNT_PREFIXES.contains(&first);

    let mut auth_required = facts.auth_required.unwrap_or(account);
    let (mut category, mut requests) = if is_static {
        (Category::Static, 60)
    } else if is_admin {
        auth_required = true;
        (Category::Admin, 30)
    } else if is_auth {
        // A sign-in page is public, even under an account prefix.
        auth_required = facts.auth_required.unwrap_or(false);
        (Category::Auth, 30)
    } else if facts.body.multipart {
        (Category::Upload, 20)
    } else if facts.body.form {
        (Category::Form, 30)
    } else if api_like {
        (Category::Api, 120)
    } else if any_word(UPLOAD_WORDS) {
        (Category::Upload, 20)
    } else if auth_required {
        (Category::App, 90)
    } else {
        (Category::App, 60)
    };
    if post && !matches!(category, Category::Api | Category::Upload) {
        requests = requests.min(30);
        if category == Category::App {
            category = Category::Form;
        }
    }

    let browser = !is_static && !api_like;
    let honeypot = match category {
        Category::Static | Category::Api => false,
        _ => browser,
    };
    let protections = Protections {
        ai_anomaly: Toggle {
            enabled: !is_static,
        },
        header_validation: Toggle { enabled: browser },
        honeypot: Toggle { enabled: honeypot },
        ip_keyword_block: Toggle { enabled: true },
        rate_limit: RateLimit {
            requests,
            window_seconds: WINDOW_SECONDS,
        },
    };
    let response_type = facts.response.unwrap_or(if is_static {
        static_response(last)
    } else if category == Category::Api {
        ResponseType::Json
    } else {
        ResponseType::Html
    });
    Route {
        auth_required,
        category,
        matching: Default::default(),
        methods: facts.methods.clone(),
        protections,
        response_type,
    }
}

/// A static file's response type from its extension; a directory of assets is `mixed`.
fn static_response(last: &str) -> ResponseType {
    match static_extension(last).as_deref() {
        Some("css" | "js" | "mjs" | "map" | "svg") => ResponseType::Text,
        Some(_) => ResponseType::Binary,
        None => ResponseType::Mixed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(methods: &[&str]) -> Facts {
        Facts {
            methods: methods.iter().map(|m| m.to_string()).collect(),
            ..Facts::default()
        }
    }

    fn class(t: &str, methods: &[&str]) -> Route {
        classify(t, &facts(methods))
    }

    #[test]
    fn static_routes_switch_off_browser_checks() {
        for t in [
            "/static/app.css",
            "/media/{path}",
            "/img/{slug}.png",
            "/favicon.ico",
        ] {
            let r = class(t, &["GET"]);
            assert_eq!(r.category, Category::Static, "{t}");
            assert!(!r.protections.header_validation.enabled, "{t}");
            assert!(!r.protections.ai_anomaly.enabled, "{t}");
            assert!(!r.protections.honeypot.enabled, "{t}");
            assert!(r.protections.ip_keyword_block.enabled, "{t}");
            assert_eq!(r.protections.rate_limit.requests, 60, "{t}");
        }
        assert_eq!(
            class("/static/app.css", &[]).response_type,
            ResponseType::Text
        );
        assert_eq!(class("/logo.png", &[]).response_type, ResponseType::Binary);
        assert_eq!(
            class("/static/{path}", &[]).response_type,
            ResponseType::Mixed
        );
        // `/static/` is the directory (an Envoy prefix); `/static` alone is a page.
        assert_eq!(class("/static/", &[]).category, Category::Static);
        assert_eq!(class("/static", &[]).category, Category::App);
        assert_eq!(class("/staticpages/x", &[]).category, Category::App);
    }

    #[test]
    fn admin_requires_auth_at_30() {
        for t in ["/admin", "/admin/users/{id}", "/wp-admin/", "/django_admin"] {
            let r = class(t, &["GET"]);
            assert_eq!(r.category, Category::Admin, "{t}");
            assert!(r.auth_required, "{t}");
            assert_eq!(r.protections.rate_limit.requests, 30, "{t}");
        }
        assert_eq!(class("/administrators-guide", &[]).category, Category::App);
    }

    #[test]
    fn login_like_routes_are_auth_with_honeypot() {
        for t in [
            "/login",
            "/accounts/signin/",
            "/sign_in",
            "/log-in",
            "/auth/callback",
            "/oauth/token",
            "/reset-password",
        ] {
            let r = class(t, &["GET", "POST"]);
            assert_eq!(r.category, Category::Auth, "{t}");
            assert_eq!(r.protections.rate_limit.requests, 30, "{t}");
            assert!(r.protections.honeypot.enabled, "{t}");
            assert!(!r.auth_required, "{t}");
        }
        assert_eq!(class("/authors", &[]).category, Category::App);
        assert_eq!(class("/signing", &[]).category, Category::App);
    }

    #[test]
    fn api_login_keeps_browser_checks_off() {
        let r = class("/api/auth/token", &["POST"]);
        assert_eq!(r.category, Category::Auth);
        assert!(!r.protections.honeypot.enabled);
        assert!(!r.protections.header_validation.enabled);
    }

    #[test]
    fn api_routes_get_120_without_browser_checks() {
        let r = class("/api/items/{id}", &["GET", "POST"]);
        assert_eq!(r.category, Category::Api);
        assert_eq!(r.protections.rate_limit.requests, 120);
        assert!(!r.protections.honeypot.enabled);
        assert!(!r.protections.header_validation.enabled);
        assert!(r.protections.ai_anomaly.enabled);
        assert_eq!(r.response_type, ResponseType::Json);
        let json = Facts {
            methods: vec!["GET".into()],
            response: Some(ResponseType::Json),
            ..Facts::default()
        };
        assert_eq!(classify("/reports/{id}", &json).category, Category::Api);
    }

    #[test]
    fn uploads_get_20() {
        for t in ["/upload", "/uploads/{name}", "/files/{id}"] {
            let r = class(t, &["POST"]);
            assert_eq!(r.category, Category::Upload, "{t}");
            assert_eq!(r.protections.rate_limit.requests, 20, "{t}");
        }
        let multipart = Facts {
            methods: vec!["POST".into()],
            body: BodyKinds {
                multipart: true,
                ..BodyKinds::default()
            },
            ..Facts::default()
        };
        assert_eq!(classify("/avatar", &multipart).category, Category::Upload);
        // A JSON API about files is an API, not an upload form.
        assert_eq!(class("/api/files/{id}", &["GET"]).category, Category::Api);
    }

    #[test]
    fn forms_get_30_with_honeypot() {
        let form = Facts {
            methods: vec!["POST".into()],
            body: BodyKinds {
                form: true,
                ..BodyKinds::default()
            },
            ..Facts::default()
        };
        let r = classify("/contact", &form);
        assert_eq!(r.category, Category::Form);
        assert_eq!(r.protections.rate_limit.requests, 30);
        assert!(r.protections.honeypot.enabled);
        assert!(r.protections.header_validation.enabled);
        // Any other POST route is a form too.
        let r = class("/comments", &["GET", "POST"]);
        assert_eq!(r.category, Category::Form);
        assert_eq!(r.protections.rate_limit.requests, 30);
    }

    #[test]
    fn app_pages_get_defaults_and_90_when_signed_in() {
        let r = class("/products/{id}", &["GET"]);
        assert_eq!(r.category, Category::App);
        assert_eq!(r.protections.rate_limit.requests, 60);
        assert_eq!(r.protections.rate_limit.window_seconds, 60);
        assert!(r.protections.honeypot.enabled);
        assert!(r.protections.header_validation.enabled);
        assert!(!r.auth_required);
        assert_eq!(r.response_type, ResponseType::Html);
        let r = class("/account/orders", &["GET"]);
        assert!(r.auth_required);
        assert_eq!(r.protections.rate_limit.requests, 90);
        let secured = Facts {
            methods: vec!["GET".into()],
            auth_required: Some(true),
            ..Facts::default()
        };
        assert_eq!(
            classify("/orders", &secured)
                .protections
                .rate_limit
                .requests,
            90
        );
    }

    #[test]
    fn significant_segments_are_recognised() {
        for s in [
            "login",
            "Admin",
            "api",
            "sign_in",
            "uploads",
            "reset-password",
        ] {
            assert!(is_significant_segment(s), "{s}");
        }
        for s in ["blue-shoes", "authors", "12"] {
            assert!(!is_significant_segment(s), "{s}");
        }
    }
}
