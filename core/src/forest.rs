//! IsolationForest scoring (Liu, Ting, Zhou 2008) over a compact, validated model.
//!
//! Fitting needs randomness and lives in the trainer; scoring is pure and lives here, so the
//! filter and the trainer score identically. A tree is stored as flat arrays (one entry per
//! node, children after their parent), not nested objects: about a tenth of AIWAF's JSON.

use serde::{Deserialize, Serialize};

/// Bounds a model must respect to be loaded (a model comes from a file an attacker may reach).
const MAX_TREES: usize = 1_000;
const MAX_SAMPLE: usize = 4_096;
const MAX_FEATURES: usize = 64;
/// Nodes over all trees: 100 trees of ψ = 256 have about 50,000; this bounds memory and the
/// per-request scoring work whatever the file says.
const MAX_NODES: usize = 262_144;

/// One isolation tree. Node `i` is a leaf when `feature[i] < 0`; otherwise points with
/// `x[feature[i]] < split[i]` go to `left[i]`, the others to `right[i]`. `size[i]` is the
/// number of training points that reached a leaf.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tree {
    /// Split feature per node, `-1` for leaves.
    pub feature: Vec<i32>,
    /// Split value per node (ignored for leaves); single precision keeps the JSON short.
    pub split: Vec<f32>,
    /// Left child per node (ignored for leaves).
    pub left: Vec<u32>,
    /// Right child per node (ignored for leaves).
    pub right: Vec<u32>,
    /// Training points per leaf (ignored for inner nodes).
    pub size: Vec<u32>,
}

/// A trained forest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IsolationForest {
    /// Number of features a point has.
    pub features: usize,
    /// Points per tree (ψ), for the normalisation c(ψ).
    pub sample_size: usize,
    /// Anomaly score at or above which a point is anomalous (from the contamination).
    pub threshold: f64,
    /// The trees.
    pub trees: Vec<Tree>,
}

/// Average path length of an unsuccessful binary-search-tree search among `n` points: the
/// normalisation of isolation depths.
pub fn average_path_length(n: usize) -> f64 {
    match n {
        0 | 1 => 0.0,
        2 => 1.0,
        n => {
            let n = n as f64;
            2.0 * ((n - 1.0).ln() + 0.577_215_664_901_532_9) - 2.0 * (n - 1.0) / n
        }
    }
}

impl IsolationForest {
    /// Checks a deserialised model: sizes within bounds, every array of a tree the same
    /// length, children after their parent (no cycles), features in range, finite splits.
    /// Returns what is wrong, naming the tree and node.
    pub fn validate(&self) -> Result<(), String> {
        if self.features == 0 || self.features > MAX_FEATURES {
            return Err(format!("features must be 1..={MAX_FEATURES}"));
        }
        if self.sample_size < 2 || self.sample_size > MAX_SAMPLE {
            return Err(format!("sample_size must be 2..={MAX_SAMPLE}"));
        }
        if self.trees.is_empty() || self.trees.len() > MAX_TREES {
            return Err(format!("trees must number 1..={MAX_TREES}"));
        }
        if !(self.threshold.is_finite() && (0.0..=1.0).contains(&self.threshold)) {
            return Err("threshold must be within 0..=1".into());
        }
        let nodes: usize = self.trees.iter().map(|t| t.feature.len()).sum();
        if nodes > MAX_NODES {
            return Err(format!("{nodes} nodes in all (at most {MAX_NODES})"));
        }
        for (t, tree) in self.trees.iter().enumerate() {
            let n = tree.feature.len();
            if n == 0 || n > 2 * self.sample_size {
                return Err(format!(
                    "trees[{t}]: {n} nodes (1..={})",
                    2 * self.sample_size
                ));
            }
            if [
                tree.split.len(),
                tree.left.len(),
                tree.right.len(),
                tree.size.len(),
            ] != [n; 4]
            {
                return Err(format!("trees[{t}]: node arrays differ in length"));
            }
            for i in 0..n {
                let f = tree.feature[i];
                if f < 0 {
                    continue;
                }
                let (l, r) = (tree.left[i] as usize, tree.right[i] as usize);
                if f as usize >= self.features
                    || !tree.split[i].is_finite()
                    || l <= i
                    || r <= i
                    || l >= n
                    || r >= n
                {
                    return Err(format!("trees[{t}].node[{i}]: invalid split or children"));
                }
            }
        }
        Ok(())
    }

    /// Anomaly score of `x` in `0..=1`: 2^(−E[h(x)] / c(ψ)); near 1 is anomalous, near 0.5
    /// ordinary. `x` shorter than `features` is padded with zeros.
    pub fn score(&self, x: &[f64]) -> f64 {
        let c = average_path_length(self.sample_size);
        if self.trees.is_empty() || c == 0.0 {
            return 0.0;
        }
        let total: f64 = self.trees.iter().map(|t| path_length(t, x)).sum();
        let mean = total / self.trees.len() as f64;
        2f64.powf(-mean / c)
    }

    /// True when `x` scores at or above the threshold.
    pub fn is_anomalous(&self, x: &[f64]) -> bool {
        self.score(x) >= self.threshold
    }
}

/// Depth of the leaf `x` reaches, plus c(size) for the points left unseparated there.
fn path_length(tree: &Tree, x: &[f64]) -> f64 {
    let mut node = 0usize;
    let mut depth = 0.0;
    // Children come after parents (validated), so the walk is bounded by the node count; it
    // is bounded here too, so even an unvalidated model cannot loop or index out of range.
    for _ in 0..tree.feature.len() {
        let Some(&f) = tree.feature.get(node) else {
            break;
        };
        if f < 0 {
            return depth + average_path_length(tree.size.get(node).copied().unwrap_or(0) as usize);
        }
        let v = x.get(f as usize).copied().unwrap_or(0.0);
        let split = tree.split.get(node).map_or(f64::NAN, |s| f64::from(*s));
        let next = if v < split {
            tree.left.get(node)
        } else {
            tree.right.get(node)
        };
        node = next.copied().unwrap_or(u32::MAX) as usize;
        depth += 1.0;
    }
    depth
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One split on feature 0 at 10: the left leaf holds 1 point, the right 255.
    fn model() -> IsolationForest {
        IsolationForest {
            features: 2,
            sample_size: 256,
            threshold: 0.6,
            trees: vec![Tree {
                feature: vec![0, -1, -1],
                split: vec![10.0, 0.0, 0.0],
                left: vec![1, 0, 0],
                right: vec![2, 0, 0],
                size: vec![0, 1, 255],
            }],
        }
    }

    #[test]
    fn path_length_normalisation_matches_the_paper() {
        assert_eq!(average_path_length(1), 0.0);
        assert_eq!(average_path_length(2), 1.0);
        assert!((average_path_length(256) - 10.2448).abs() < 1e-3);
    }

    #[test]
    fn isolated_points_score_higher() {
        let m = model();
        m.validate().unwrap();
        let isolated = m.score(&[1.0, 0.0]);
        let crowded = m.score(&[50.0, 0.0]);
        assert!((isolated - 2f64.powf(-1.0 / average_path_length(256))).abs() < 1e-12);
        assert!(isolated > 0.9 && crowded < 0.5, "{isolated} {crowded}");
        assert!(m.is_anomalous(&[1.0]) && !m.is_anomalous(&[50.0]));
    }

    #[test]
    fn malformed_models_are_refused() {
        let mut cycle = model();
        cycle.trees[0].left[0] = 0;
        assert!(cycle.validate().unwrap_err().contains("node[0]"));
        let mut out_of_range = model();
        out_of_range.trees[0].feature[0] = 5;
        assert!(out_of_range.validate().is_err());
        let mut ragged = model();
        ragged.trees[0].size.pop();
        assert!(ragged.validate().is_err());
        let mut nan = model();
        nan.trees[0].split[0] = f32::NAN;
        assert!(nan.validate().is_err());
        let mut huge = model();
        huge.trees = vec![huge.trees[0].clone(); MAX_TREES + 1];
        assert!(huge.validate().is_err());
        let json = serde_json::to_string(&model()).unwrap();
        let back: IsolationForest = serde_json::from_str(&json).unwrap();
        assert_eq!(back, model());
    }
}
