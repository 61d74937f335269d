//! The route manifest as a tree of path segments: `/api/items/{id}` gives `api` → `items` →
//! `{id}`, so an operator can walk the application's URL space the way it is served.

use std::collections::BTreeMap;

use aiwaf_manifest_gen::{Manifest, Match, Route};

/// One path segment, the routes whose key ends there and the segments below it.
#[derive(Debug, Default)]
pub(super) struct Node {
    /// Segments below, by name (sorted, so `ls` is stable).
    pub(super) children: BTreeMap<String, Node>,
    /// Routes whose key ends at this segment (`/api` and the prefix route `/api/` both end at
    /// `api`), with their key.
    pub(super) routes: Vec<(String, Route)>,
}

/// The tree of a manifest's template and prefix routes.
#[derive(Debug)]
pub(super) struct Tree {
    /// The `/` node.
    pub(super) root: Node,
    /// Keys of the regex routes: a regular expression is not a path, so it has no place in the
    /// tree; they are reported once at start instead of silently dropped.
    pub(super) regex: Vec<String>,
    /// Routes in the manifest, all kinds.
    pub(super) routes: usize,
}

impl Tree {
    /// Builds the tree: each key split on `/`, empty segments (the root's, a prefix route's
    /// trailing one) ignored.
    pub(super) fn build(manifest: &Manifest) -> Tree {
        let mut root = Node::default();
        let mut regex = Vec::new();
        for (key, route) in &manifest.routes {
            if route.matching == Match::Regex {
                regex.push(key.clone());
                continue;
            }
            let mut node = &mut root;
            for seg in key.split('/').filter(|s| !s.is_empty()) {
                node = node.children.entry(seg.to_owned()).or_default();
            }
            node.routes.push((key.clone(), route.clone()));
        }
        Tree {
            root,
            regex,
            routes: manifest.routes.len(),
        }
    }

    /// The node at `segs` below the root, if the manifest has it.
    pub(super) fn node(&self, segs: &[String]) -> Option<&Node> {
        segs.iter()
            .try_fold(&self.root, |node, seg| node.children.get(seg))
    }
}

/// A segment holding a route parameter (`{id}`, `v{version}`): it stands for any value, so it
/// cannot be part of a literal exemption prefix.
pub(super) fn is_template(seg: &str) -> bool {
    seg.contains('{')
}

/// The path of the node at `segs`: `/` for the root.
pub(super) fn path_of(segs: &[String]) -> String {
    format!("/{}", segs.join("/"))
}

/// A route in one line, as `ls` shows it: `GET, POST · api` (`any method` when the manifest
/// does not restrict them; ` · prefix` for a prefix route).
pub(super) fn summary(route: &Route) -> String {
    let mut s = format!("{} · {}", methods(route), route.category);
    if route.matching == Match::Prefix {
        s.push_str(" · prefix");
    }
    s
}

/// The route's methods, or `any method` when the manifest does not restrict them.
fn methods(route: &Route) -> String {
    if route.methods.is_empty() {
        "any method".to_owned()
    } else {
        route.methods.join(", ")
    }
}

/// Everything the manifest says about a route, for `info`.
pub(super) fn details(key: &str, route: &Route) -> String {
    let p = &route.protections;
    let off: Vec<&str> = [
        ("ai_anomaly", p.ai_anomaly.enabled),
        ("header_validation", p.header_validation.enabled),
        ("honeypot", p.honeypot.enabled),
        ("ip_keyword_block", p.ip_keyword_block.enabled),
    ]
    .into_iter()
    .filter(|(_, on)| !on)
    .map(|(name, _)| name)
    .collect();
    let off = if off.is_empty() {
        "none".to_owned()
    } else {
        off.join(", ")
    };
    let matching = match route.matching {
        Match::Template => "template",
        Match::Prefix => "prefix",
        Match::Regex => "regex",
    };
    format!(
        "route {key} ({matching}): {} · {} · response {} · auth {} · rate {}/{}s · off: {off}",
        methods(route),
        route.category,
        route.response_type.as_str(),
        if route.auth_required {
            "required"
        } else {
            "not required"
        },
        p.rate_limit.requests,
        p.rate_limit.window_seconds,
    )
}
