//! The application's routes (from the route manifest), matched per request.
//!
//! AIWAF compiled each manifest route into a literal `PATH_RULES` prefix: a template such as
//! `/api/items/<uuid:item_id>` became a prefix no real path has, and the root route `/` became
//! a prefix of every path, overriding every limit. Here routes are templates matched segment
//! by segment (`{name}` matches one segment), most specific first: a literal segment beats a
//! parameter, a whole-path match beats a prefix match, a deeper prefix beats a shallower one.
//! A prefix route for `/` is no route at all (a catch-all says nothing about the app).
//!
//! The table is a trie built once per configuration. A lookup walks it depth first, literal
//! child before parameter child; every node is visited at most once, so the cost is bounded
//! by the path's depth and the trie's size, never exponential, and a path allocates nothing.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use crate::bundle::{RouteMatch, RouteRule};
use crate::error::Error;
use crate::normalize::{normalize_path, NormalizedPath};
use crate::text::Fnv;

/// Routes a bundle may hold (the manifest generator's own cap).
pub(crate) const MAX_ROUTES: usize = 100_000;
/// Segments looked at; deeper paths match no route (they are no app's routes either).
const MAX_DEPTH: usize = 32;

type Children = HashMap<String, u32, BuildHasherDefault<Fnv>>;

#[derive(Debug, Default)]
struct Node {
    literal: Children,
    param: Option<u32>,
    /// Route that matches a path ending here.
    exact: Option<u32>,
    /// Route that matches a path ending here or below.
    prefix: Option<u32>,
}

/// A route matched by a request path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Matched {
    /// Index in the bundle's `routes`.
    pub(crate) index: usize,
    /// The route's template has no parameter and matched the whole path: the path itself is
    /// a known route (keyword and probe checks do not apply to it).
    pub(crate) literal: bool,
}

/// The compiled table.
#[derive(Debug, Default)]
pub(crate) struct RouteTable {
    nodes: Vec<Node>,
    /// Per route: does its template have a parameter?
    has_param: Vec<bool>,
    /// Literal segments of every template: words of the app, never learned as keywords.
    vocabulary: HashMap<String, (), BuildHasherDefault<Fnv>>,
}

impl RouteTable {
    /// Builds the trie; a template that is not a path, or a route duplicated with the same
    /// match kind, is an error naming the route.
    pub(crate) fn new(routes: &[RouteRule]) -> Result<RouteTable, Error> {
        if routes.len() > MAX_ROUTES {
            return Err(Error::invalid(
                "routes",
                format!("at most {MAX_ROUTES} routes"),
            ));
        }
        let mut t = RouteTable {
            nodes: vec![Node::default()],
            ..RouteTable::default()
        };
        for (i, r) in routes.iter().enumerate() {
            let key = || format!("routes[{i}].path");
            if !r.path.starts_with('/') {
                return Err(Error::invalid(key(), "must start with `/`"));
            }
            let normalized = normalize_path(&r.path);
            let segments: Vec<&str> = normalized.segments().collect();
            if segments.len() > MAX_DEPTH {
                return Err(Error::invalid(
                    key(),
                    format!("more than {MAX_DEPTH} segments"),
                ));
            }
            let mut node = 0usize;
            let mut has_param = false;
            for seg in &segments {
                let is_param = seg.len() > 2 && seg.starts_with('{') && seg.ends_with('}');
                if !is_param && (seg.contains('{') || seg.contains('}')) {
                    return Err(Error::invalid(
                        key(),
                        format!("segment `{seg}`: a parameter is a whole segment `{{name}}`"),
                    ));
                }
                has_param |= is_param;
                if !is_param {
                    t.vocabulary.insert(seg.to_string(), ());
                }
                let next = t.nodes.len() as u32;
                let child = if is_param {
                    *t.nodes[node].param.get_or_insert(next)
                } else {
                    *t.nodes[node].literal.entry(seg.to_string()).or_insert(next)
                };
                if child == next {
                    t.nodes.push(Node::default());
                }
                node = child as usize;
            }
            let catch_all = segments.is_empty() && r.matching == RouteMatch::Prefix;
            let slot = match r.matching {
                RouteMatch::Template => &mut t.nodes[node].exact,
                RouteMatch::Prefix => &mut t.nodes[node].prefix,
            };
            if slot.is_some() {
                return Err(Error::invalid(key(), "the same route is listed twice"));
            }
            if !catch_all {
                *slot = Some(i as u32);
            }
            t.has_param.push(has_param);
        }
        Ok(t)
    }

    /// True when there is no route.
    pub(crate) fn is_empty(&self) -> bool {
        self.has_param.is_empty()
    }

    /// Number of routes.
    pub(crate) fn len(&self) -> usize {
        self.has_param.len()
    }

    /// True when `word` is a literal segment of some route.
    pub(crate) fn is_vocabulary(&self, word: &str) -> bool {
        self.vocabulary.contains_key(word)
    }

    /// The most specific route for `path`, if any.
    pub(crate) fn find(&self, path: &NormalizedPath) -> Option<Matched> {
        if self.is_empty() {
            return None;
        }
        let mut segs = [""; MAX_DEPTH];
        let mut depth = 0;
        for s in path.segments() {
            if depth == MAX_DEPTH {
                return None;
            }
            segs[depth] = s;
            depth += 1;
        }
        let segs = &segs[..depth];
        // Depth-first, literal before parameter; (node, depth) pairs on the stack. The first
        // whole-path match is the most specific; otherwise the deepest prefix seen.
        let mut stack: [(u32, u8); MAX_DEPTH * 2 + 2] = [(0, 0); MAX_DEPTH * 2 + 2];
        let mut top = 1;
        let mut best_prefix: Option<(usize, u32)> = None;
        while top > 0 {
            top -= 1;
            let (n, d) = stack[top];
            let node = &self.nodes[n as usize];
            let d = usize::from(d);
            if let Some(p) = node.prefix {
                if best_prefix.is_none_or(|(bd, _)| d > bd) {
                    best_prefix = Some((d, p));
                }
            }
            if d == segs.len() {
                if let Some(r) = node.exact {
                    let r = r as usize;
                    return Some(Matched {
                        index: r,
                        literal: !self.has_param[r],
                    });
                }
                continue;
            }
            // Pushed in reverse order of preference: the parameter child is tried last.
            if let Some(p) = node.param {
                stack[top] = (p, (d + 1) as u8);
                top += 1;
            }
            if let Some(&c) = node.literal.get(segs[d]) {
                stack[top] = (c, (d + 1) as u8);
                top += 1;
            }
        }
        best_prefix.map(|(_, r)| Matched {
            index: r as usize,
            literal: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(routes: &[(&str, RouteMatch)]) -> RouteTable {
        let rules: Vec<RouteRule> = routes
            .iter()
            .map(|(p, m)| RouteRule {
                path: p.to_string(),
                matching: *m,
                ..RouteRule::default()
            })
            .collect();
        RouteTable::new(&rules).unwrap()
    }

    fn find(t: &RouteTable, path: &str) -> Option<(usize, bool)> {
        t.find(&normalize_path(path)).map(|m| (m.index, m.literal))
    }

    use RouteMatch::{Prefix, Template};

    #[test]
    fn templates_match_whole_segments_most_specific_first() {
        let t = table(&[
            ("/", Template),
            ("/items/{id}", Template),
            ("/items/new", Template),
            ("/items/{id}/reviews", Template),
            ("/api/", Prefix),
            ("/api/v1/users/{uuid}", Template),
            ("/", Prefix),
        ]);
        assert_eq!(find(&t, "/"), Some((0, true)));
        assert_eq!(find(&t, "/items/42"), Some((1, false)));
        assert_eq!(
            find(&t, "/Items/NEW"),
            Some((2, true)),
            "literal beats parameter"
        );
        assert_eq!(
            find(&t, "/items/new/reviews"),
            Some((3, false)),
            "backtracks to {{id}}"
        );
        assert_eq!(find(&t, "/items"), None);
        assert_eq!(find(&t, "/items/1/2"), None);
        assert_eq!(find(&t, "/api/v1/users/0b6d…"), Some((5, false)));
        assert_eq!(find(&t, "/api/v2/anything"), Some((4, false)), "prefix");
        // The root route is not a catch-all, and a `/` prefix route is none.
        assert_eq!(find(&t, "/elsewhere"), None);
    }

    #[test]
    fn deep_paths_and_bad_templates() {
        let t = table(&[("/a/{x}", Template)]);
        assert_eq!(find(&t, &"/a".repeat(40)), None);
        for bad in ["items", "/items/{id", "/x{y}/z"] {
            let rule = RouteRule {
                path: bad.into(),
                ..RouteRule::default()
            };
            assert_eq!(
                RouteTable::new(&[rule]).unwrap_err().key(),
                Some("routes[0].path"),
                "{bad}"
            );
        }
        let twice = [
            RouteRule {
                path: "/a".into(),
                ..RouteRule::default()
            },
            RouteRule {
                path: "/A/".into(),
                ..RouteRule::default()
            },
        ];
        assert_eq!(
            RouteTable::new(&twice).unwrap_err().key(),
            Some("routes[1].path")
        );
    }

    #[test]
    fn every_node_is_visited_at_most_once() {
        // Literal and parameter children at every level, no match at the end: a naive
        // backtracking matcher would try 2^20 paths.
        let mut routes = Vec::new();
        let mut lit = String::new();
        let mut par = String::new();
        for _ in 0..20 {
            lit.push_str("/a");
            par.push_str("/{p}");
            routes.push((lit.clone(), Template));
            routes.push((par.clone(), Template));
        }
        let owned: Vec<(&str, RouteMatch)> = routes.iter().map(|(p, m)| (p.as_str(), *m)).collect();
        let t = table(&owned);
        assert!(t.nodes.len() <= 41);
        assert_eq!(find(&t, &format!("{}/b/c", "/a".repeat(19))), None);
        assert!(t.is_vocabulary("a") && !t.is_vocabulary("{p}"));
    }
}
