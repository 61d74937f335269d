//! `payload`: attack payloads (SQL injection, XSS, path traversal, command injection) in the
//! path, the query string and form or JSON bodies. The signatures live in [`crate::payload`];
//! this module decides what to inspect and turns a hit into a finding.

use crate::detect::{DetectorId, Finding};
use crate::engine::Context;
use crate::payload::{self, PayloadBudget, PayloadFinding, PayloadLimit};

/// Body encodings the detector can read; other bodies (multipart, binary) pass uninspected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// `application/x-www-form-urlencoded`.
    Form,
    /// `application/json` and `application/*+json`.
    Json,
}

impl BodyKind {
    /// The body kind a `Content-Type` announces, if the detector reads it.
    pub fn from_content_type(content_type: &str) -> Option<BodyKind> {
        let mime = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if mime == "application/x-www-form-urlencoded" {
            Some(BodyKind::Form)
        } else if mime == "application/json"
            || (mime.starts_with("application/") && mime.ends_with("+json"))
        {
            Some(BodyKind::Json)
        } else {
            None
        }
    }
}

/// The compiled payload policy.
#[derive(Debug)]
pub(crate) struct PayloadCheck {
    budget: PayloadBudget,
}

impl PayloadCheck {
    pub(crate) fn new(max_bytes: u32) -> PayloadCheck {
        PayloadCheck {
            budget: PayloadBudget {
                max_bytes: max_bytes as usize,
                max_nodes: 4096,
                max_depth: 16,
            },
        }
    }

    /// The most body bytes worth reading: one more than the budget proves it was exceeded.
    pub(crate) fn body_read_limit(&self) -> usize {
        self.budget.max_bytes + 1
    }

    pub(crate) fn inspect(&self, ctx: &Context<'_, '_>) -> Option<Finding> {
        let p = ctx.path;
        let trick = if p.escaped_root || p.dot_dot {
            Some("dot_dot_segment")
        } else if p.nul_byte {
            Some("nul_byte")
        } else if p.overlong {
            Some("overlong_utf8")
        } else {
            None
        };
        if let Some(rule) = trick {
            return Some(Finding::new(
                DetectorId::Payload,
                "path_traversal",
                format!("path {rule}: {}", ctx.req.raw_path()),
            ));
        }
        if let Some(f) = payload::inspect_path(&p.path) {
            return Some(found(f, "path"));
        }
        let query = ctx.req.raw_query();
        if query.is_empty() {
            return None;
        }
        hit_or_limit(payload::inspect_query(query, &self.budget), "query")
    }

    pub(crate) fn inspect_body(&self, kind: BodyKind, body: &[u8]) -> Option<Finding> {
        let result = match kind {
            BodyKind::Form => payload::inspect_form_body(body, &self.budget),
            BodyKind::Json => payload::inspect_json_body(body, &self.budget),
        };
        hit_or_limit(result, "body")
    }
}

fn hit_or_limit(
    result: Result<Option<PayloadFinding>, PayloadLimit>,
    part: &str,
) -> Option<Finding> {
    match result {
        Ok(hit) => hit.map(|f| found(f, part)),
        Err(limit) => Some(Finding {
            status: 413,
            ..Finding::new(
                DetectorId::Payload,
                "payload_inspection_limit",
                format!("{part}: {}", limit.what),
            )
        }),
    }
}

fn found(f: PayloadFinding, part: &str) -> Finding {
    let location = if f.location.is_empty() {
        part.to_string()
    } else {
        format!("{part} {}", f.location)
    };
    Finding::new(
        DetectorId::Payload,
        f.class.as_str(),
        format!("{location} ({}): {}", f.rule, f.evidence),
    )
}

#[cfg(test)]
mod tests {
    use super::BodyKind;
    use crate::detect::DetectorId::Payload;
    use crate::engine::testutil::finding_for;

    #[test]
    fn path_and_query_attacks() {
        let cases = [
            ("/%2e%2e/%2e%2e/etc/passwd", Some("path_traversal")),
            ("/a/../b", Some("path_traversal")),
            ("/x.php%00.jpg", Some("path_traversal")),
            ("/search?q=1'%20OR%20'1'='1", Some("sqli")),
            (
                "/?id=1%27%20UNION%20SELECT%20password%20FROM%20users--",
                Some("sqli"),
            ),
            ("/x.css?id=1'%20OR%201=1--", Some("sqli")),
            ("/search?q=%3Cscript%3Ealert(1)%3C/script%3E", Some("xss")),
            (
                "/download?file=../../../../etc/passwd",
                Some("path_traversal"),
            ),
            ("/ping?host=127.0.0.1%3Bwhoami", Some("command_injection")),
            ("/search?q=O%27Reilly", None),
            ("/products/42?sort=price&page=2", None),
            ("/", None),
        ];
        for (target, want) in cases {
            assert_eq!(
                finding_for(Payload, "{}", target).map(|f| f.reason),
                want,
                "{target}"
            );
        }
    }

    #[test]
    fn over_budget_query_is_413() {
        let b = r#"{"settings":{"AIWAF_PAYLOAD_MAX_BYTES":64}}"#;
        let target = format!("/?q={}", "a".repeat(100));
        let f = finding_for(Payload, b, &target).unwrap();
        assert_eq!((f.status, f.reason), (413, "payload_inspection_limit"));
    }

    #[test]
    fn body_kinds_from_content_type() {
        assert_eq!(
            BodyKind::from_content_type("application/x-www-form-urlencoded; charset=UTF-8"),
            Some(BodyKind::Form)
        );
        assert_eq!(
            BodyKind::from_content_type("Application/JSON"),
            Some(BodyKind::Json)
        );
        assert_eq!(
            BodyKind::from_content_type("application/vnd.api+json"),
            Some(BodyKind::Json)
        );
        assert_eq!(
            BodyKind::from_content_type("multipart/form-data; boundary=x"),
            None
        );
    }
}
