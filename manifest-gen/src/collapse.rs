//! Slug collapsing: turning `/blog/how-to-x`, `/blog/why-y`, … into `/blog/{slug}`.
//!
//! A slug is not recognisable on its own (`how-to-x` could be a page), only by its siblings:
//! a segment position, under one parent, holding many distinct values that are each rarely
//! requested. The paths form a trie; at every node except the root, the literal children that
//! are *rare* (under 5% of the requests below that node) are merged into one `{slug}` child
//! (`{slug}.png` for names with a static extension, so the route stays static) when there are
//! more than [`SLUG_MIN_DISTINCT`] of them, or when the node already has a `{slug}` child from
//! an earlier pass. Merging is recursive (`/blog/a/comments` and `/blog/b/comments` become
//! `/blog/{slug}/comments`), and positions below are collapsed after it.
//!
//! Kept literal: the root's children (a site's top-level pages are few and distinct, and
//! `/{slug}` would swallow `/login`), frequently requested values (`/products/search` next to
//! product slugs), segments the classifier gives a meaning to (`admin`, `login`, `api`,
//! `upload`…: merging them would lose their category), and trailing slashes.
//!
//! The result depends only on the set of paths and their counts, never on reading order, so
//! the same logs always give the same manifest.

use std::collections::{BTreeMap, BTreeSet};

use crate::classify::{is_significant_segment, static_extension};

/// A position becomes `{slug}` when more than this many rare distinct values share it.
pub const SLUG_MIN_DISTINCT: usize = 20;
/// A value is rare below 1/RARE_DIVISOR (5%) of the requests under its parent.
const RARE_DIVISOR: u64 = 20;
/// Most distinct methods remembered per path (bounds what a log can make us store).
const MAX_METHODS: usize = 16;

/// Requests seen for one path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PathStats {
    /// Successful requests.
    pub hits: u64,
    /// Methods seen with success (listed methods only).
    pub methods: BTreeSet<String>,
}

impl PathStats {
    /// Counts `hits` requests with `method`.
    pub fn add(&mut self, method: String, hits: u64) {
        self.hits += hits;
        if self.methods.len() < MAX_METHODS || self.methods.contains(&method) {
            self.methods.insert(method);
        }
    }

    fn merge(&mut self, other: PathStats) {
        self.hits += other.hits;
        for m in other.methods {
            self.add(m, 0);
        }
    }
}

/// A trie of path segments.
#[derive(Debug, Default)]
pub struct Trie {
    root: Node,
}

#[derive(Debug, Default)]
struct Node {
    children: BTreeMap<String, Node>,
    /// Requests for the path ending here; `None` when no request ended here.
    stats: Option<PathStats>,
    /// Requests for this path and every path below it.
    total: u64,
}

impl Trie {
    /// Adds a path (`/a/b`, `/a/b/`, `/`) with its requests.
    pub fn insert(&mut self, path: &str, stats: PathStats) {
        let mut node = &mut self.root;
        node.total += stats.hits;
        let rest = path.strip_prefix('/').unwrap_or(path);
        if !rest.is_empty() {
            for seg in rest.split('/') {
                node = node.children.entry(seg.to_owned()).or_default();
                node.total += stats.hits;
            }
        }
        match &mut node.stats {
            Some(s) => s.merge(stats),
            None => node.stats = Some(stats),
        }
    }

    /// Collapses slug positions everywhere below the root's children.
    pub fn collapse(&mut self) {
        for child in self.root.children.values_mut() {
            child.collapse();
        }
    }

    /// Every path with its requests, sorted.
    pub fn routes(&self) -> Vec<(String, PathStats)> {
        let mut out = Vec::new();
        self.root.flatten(&mut String::new(), &mut out);
        out
    }
}

fn is_placeholder(seg: &str) -> bool {
    seg.starts_with('{')
}

fn slug_for(seg: &str) -> String {
    match static_extension(seg) {
        Some(ext) => format!("{{slug}}.{ext}"),
        None => "{slug}".to_owned(),
    }
}

impl Node {
    fn collapse(&mut self) {
        let rare: Vec<String> = self
            .children
            .iter()
            .filter(|(seg, child)| {
                !seg.is_empty()
                    && !is_placeholder(seg)
                    && !is_significant_segment(seg)
                    && child.total * RARE_DIVISOR < self.total
            })
            .map(|(seg, _)| seg.clone())
            .collect();
        let has_slug = self.children.keys().any(|k| k.starts_with("{slug}"));
        if rare.len() > SLUG_MIN_DISTINCT || (has_slug && !rare.is_empty()) {
            for seg in rare {
                if let Some(child) = self.children.remove(&seg) {
                    self.children
                        .entry(slug_for(&seg))
                        .or_default()
                        .absorb(child);
                }
            }
        }
        for child in self.children.values_mut() {
            child.collapse();
        }
    }

    /// Merges `other` (a sibling's subtree) into this node.
    fn absorb(&mut self, other: Node) {
        self.total += other.total;
        if let Some(stats) = other.stats {
            match &mut self.stats {
                Some(s) => s.merge(stats),
                None => self.stats = Some(stats),
            }
        }
        for (seg, child) in other.children {
            self.children.entry(seg).or_default().absorb(child);
        }
    }

    fn flatten(&self, path: &mut String, out: &mut Vec<(String, PathStats)>) {
        if let Some(stats) = &self.stats {
            let p = if path.is_empty() {
                "/".to_owned()
            } else {
                path.clone()
            };
            out.push((p, stats.clone()));
        }
        for (seg, child) in &self.children {
            let len = path.len();
            path.push('/');
            path.push_str(seg);
            child.flatten(path, out);
            path.truncate(len);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(hits: u64, m: &str) -> PathStats {
        let mut s = PathStats::default();
        s.add(m.to_owned(), hits);
        s
    }

    fn keys(t: &Trie) -> Vec<String> {
        t.routes().into_iter().map(|(p, _)| p).collect()
    }

    #[test]
    fn many_rare_values_become_a_slug_with_their_subtrees() {
        let mut t = Trie::default();
        for i in 0..25 {
            t.insert(&format!("/blog/post-{i}"), stats(2, "GET"));
            t.insert(&format!("/blog/post-{i}/comments"), stats(1, "POST"));
        }
        t.insert("/blog/search", stats(100, "GET"));
        t.insert("/blog/login", stats(1, "GET"));
        t.collapse();
        assert_eq!(
            keys(&t),
            [
                "/blog/login",
                "/blog/search",
                "/blog/{slug}",
                "/blog/{slug}/comments"
            ]
        );
        let routes: BTreeMap<_, _> = t.routes().into_iter().collect();
        assert_eq!(routes["/blog/{slug}"].hits, 50);
        assert_eq!(
            routes["/blog/{slug}/comments"].methods,
            ["POST".to_owned()].into()
        );
    }

    #[test]
    fn few_values_and_top_level_pages_stay_literal() {
        let mut t = Trie::default();
        for i in 0..SLUG_MIN_DISTINCT {
            t.insert(&format!("/tags/t{i}"), stats(1, "GET"));
        }
        for i in 0..30 {
            t.insert(&format!("/page-{i}"), stats(1, "GET"));
        }
        t.collapse();
        assert_eq!(keys(&t).len(), SLUG_MIN_DISTINCT + 30);
    }

    #[test]
    fn static_names_keep_their_extension() {
        let mut t = Trie::default();
        for i in 0..30 {
            t.insert(&format!("/img/photo{i}.jpg"), stats(1, "GET"));
        }
        t.insert("/img/x.pdf", stats(1, "GET"));
        t.collapse();
        assert_eq!(keys(&t), ["/img/{slug}", "/img/{slug}.jpg"]);
    }

    #[test]
    fn an_existing_slug_absorbs_later_rare_values() {
        let mut t = Trie::default();
        t.insert("/blog/{slug}", stats(100, "GET"));
        t.insert("/blog/new-post", stats(1, "GET"));
        t.collapse();
        assert_eq!(keys(&t), ["/blog/{slug}"]);
    }

    #[test]
    fn order_does_not_matter() {
        let paths: Vec<String> = (0..40).map(|i| format!("/p/item-{i}/x")).collect();
        let mut a = Trie::default();
        let mut b = Trie::default();
        for p in &paths {
            a.insert(p, stats(1, "GET"));
        }
        for p in paths.iter().rev() {
            b.insert(p, stats(1, "GET"));
        }
        a.collapse();
        b.collapse();
        assert_eq!(a.routes(), b.routes());
    }
}
