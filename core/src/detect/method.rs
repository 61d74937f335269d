//! `method`: a method the route does not accept gets 405.
//!
//! Methods come from `PATH_RULES` `METHODS` (the most specific prefix that lists methods
//! decides) and, where no such rule applies, from the route manifest's route. Unlike AIWAF, a
//! wrong method only gets a 405; it does not blocklist the client (a POST to `/health` is a
//! mistake, not an attack).

use crate::detect::{DetectorId, Finding};
use crate::engine::Context;

/// The accepted methods of one prefix.
#[derive(Debug)]
pub(crate) struct MethodRule {
    pub(crate) prefix: String,
    pub(crate) methods: Vec<String>,
}

/// Rules with `METHODS`, most specific first.
#[derive(Debug, Default)]
pub(crate) struct MethodCheck {
    rules: Vec<MethodRule>,
}

impl MethodCheck {
    /// `rules` must be sorted most specific first.
    pub(crate) fn new(rules: Vec<MethodRule>) -> MethodCheck {
        MethodCheck { rules }
    }

    /// `route`: the methods of the matched manifest route, used when no `PATH_RULES` rule
    /// lists methods for the path (manual rules take precedence).
    pub(crate) fn inspect(&self, ctx: &Context<'_, '_>, route: &[String]) -> Option<Finding> {
        let methods = match self
            .rules
            .iter()
            .find(|r| crate::engine::under(&ctx.path.path, &r.prefix))
        {
            Some(rule) => &rule.methods,
            None if !route.is_empty() => route,
            None => return None,
        };
        let method = ctx.req.method;
        let accepted = method.eq_ignore_ascii_case("OPTIONS")
            || methods.iter().any(|m| {
                m.eq_ignore_ascii_case(method)
                    || (method.eq_ignore_ascii_case("HEAD") && m == "GET")
            });
        if accepted {
            return None;
        }
        Some(Finding {
            status: 405,
            ..Finding::new(
                DetectorId::Method,
                "method_not_allowed",
                format!("{method} not in {}", methods.join(", ")),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::testutil::finding_with_method;

    #[test]
    fn methods_per_prefix() {
        let b = r#"{"settings":{"PATH_RULES":[
            {"PREFIX":"/health/","METHODS":["GET"]},
            {"PREFIX":"/api/","METHODS":["GET","POST"]},
            {"PREFIX":"/api/hooks/","DISABLE":["header"]}]}}"#;
        let reason =
            |m: &str, path: &str| finding_with_method(b, m, path).map(|f| (f.status, f.reason));
        assert_eq!(reason("POST", "/health"), Some((405, "method_not_allowed")));
        assert_eq!(reason("GET", "/health"), None);
        assert_eq!(reason("HEAD", "/health"), None);
        assert_eq!(reason("OPTIONS", "/health"), None);
        assert_eq!(
            reason("DELETE", "/api/items"),
            Some((405, "method_not_allowed"))
        );
        assert_eq!(reason("post", "/api/items"), None);
        // A more specific rule without METHODS does not lift its parent's.
        assert_eq!(
            reason("PUT", "/api/hooks/x"),
            Some((405, "method_not_allowed"))
        );
        assert_eq!(reason("PUT", "/elsewhere"), None);
    }
}
