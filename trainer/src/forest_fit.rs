//! Fitting an IsolationForest (Liu, Ting, Zhou 2008): random feature, random split between
//! the node's min and max, trees grown to ceil(log2 ψ). Scoring is `aiwaf_core`'s, so what
//! the trainer fits is exactly what the filter scores.

use aiwaf_core::{IsolationForest, Tree};

use crate::rng::Rng;

/// Fitting parameters (AIWAF's defaults: 100 trees, ψ = min(256, n), contamination 0.05).
pub struct FitParams {
    pub trees: usize,
    pub max_sample: usize,
    pub contamination: f64,
    pub seed: u64,
}

impl Default for FitParams {
    fn default() -> FitParams {
        FitParams {
            trees: 100,
            max_sample: 256,
            contamination: 0.05,
            seed: 42,
        }
    }
}

/// Fits a forest on `points` (each `features` long). `None` with fewer than two points.
pub fn fit(points: &[Vec<f64>], features: usize, p: &FitParams) -> Option<IsolationForest> {
    if points.len() < 2 || features == 0 {
        return None;
    }
    let mut rng = Rng(p.seed);
    let sample_size = p.max_sample.min(points.len()).max(2);
    let height = (sample_size as f64).log2().ceil() as usize;
    let trees = (0..p.trees)
        .map(|_| {
            let sample = sample_indices(&mut rng, points.len(), sample_size);
            let mut tree = Tree {
                feature: vec![],
                split: vec![],
                left: vec![],
                right: vec![],
                size: vec![],
            };
            grow(&mut tree, points, sample, features, 0, height, &mut rng);
            tree
        })
        .collect();
    let mut forest = IsolationForest {
        features,
        sample_size,
        threshold: 1.0,
        trees,
    };
    // Threshold: the score above which `contamination` of the training points lie.
    let mut scores: Vec<f64> = points.iter().map(|x| forest.score(x)).collect();
    scores.sort_by(|a, b| b.total_cmp(a));
    let k = ((p.contamination * points.len() as f64).ceil() as usize).clamp(1, points.len());
    forest.threshold = scores[k - 1];
    Some(forest)
}

/// `k` distinct indices of `0..n` (partial Fisher–Yates).
fn sample_indices(rng: &mut Rng, n: usize, k: usize) -> Vec<usize> {
    let mut all: Vec<usize> = (0..n).collect();
    for i in 0..k {
        let j = i + rng.below((n - i) as u64) as usize;
        all.swap(i, j);
    }
    all.truncate(k);
    all
}

/// Appends the subtree for `rows` and returns its node index (children after parents).
fn grow(
    tree: &mut Tree,
    points: &[Vec<f64>],
    rows: Vec<usize>,
    features: usize,
    depth: usize,
    height: usize,
    rng: &mut Rng,
) -> u32 {
    let node = tree.feature.len();
    tree.feature.push(-1);
    tree.split.push(0.0);
    tree.left.push(0);
    tree.right.push(0);
    tree.size.push(rows.len() as u32);
    if depth >= height || rows.len() <= 1 {
        return node as u32;
    }
    // A random feature among those that still vary in this node.
    let spread: Vec<(usize, f64, f64)> = (0..features)
        .filter_map(|f| {
            let (lo, hi) = rows
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &r| {
                    let v = points[r].get(f).copied().unwrap_or(0.0);
                    (lo.min(v), hi.max(v))
                });
            (hi > lo).then_some((f, lo, hi))
        })
        .collect();
    if spread.is_empty() {
        return node as u32;
    }
    let &(f, lo, hi) = rng.pick(&spread);
    let split = lo + (hi - lo) * (rng.below(1 << 53) as f64 / (1u64 << 53) as f64);
    let split = if split <= lo { (lo + hi) / 2.0 } else { split };
    // Stored in single precision: partition with the value the filter will compare against.
    let split = f64::from(split as f32);
    let (left_rows, right_rows): (Vec<usize>, Vec<usize>) = rows
        .into_iter()
        .partition(|&r| points[r].get(f).copied().unwrap_or(0.0) < split);
    let left = grow(tree, points, left_rows, features, depth + 1, height, rng);
    let right = grow(tree, points, right_rows, features, depth + 1, height, rng);
    tree.feature[node] = f as i32;
    tree.split[node] = split as f32;
    tree.left[node] = left;
    tree.right[node] = right;
    tree.size[node] = 0;
    node as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster(rng: &mut Rng, n: usize) -> Vec<Vec<f64>> {
        (0..n)
            .map(|_| {
                vec![
                    10.0 + rng.below(100) as f64 / 100.0,
                    5.0 + rng.below(100) as f64 / 100.0,
                ]
            })
            .collect()
    }

    #[test]
    fn outliers_score_above_the_threshold_and_the_cluster_below() {
        let mut rng = Rng(1);
        let points = cluster(&mut rng, 1000);
        let forest = fit(&points, 2, &FitParams::default()).unwrap();
        forest.validate().unwrap();
        assert_eq!((forest.trees.len(), forest.sample_size), (100, 256));
        assert!(
            forest.is_anomalous(&[40.0, 30.0]),
            "{}",
            forest.score(&[40.0, 30.0])
        );
        assert!(
            !forest.is_anomalous(&[10.5, 5.5]),
            "{}",
            forest.score(&[10.5, 5.5])
        );
        let flagged = points.iter().filter(|x| forest.is_anomalous(x)).count();
        assert!(
            (40..=70).contains(&flagged),
            "contamination 5% of 1000: {flagged}"
        );
    }

    #[test]
    fn deterministic_for_a_seed_and_compact() {
        let mut rng = Rng(2);
        let points = cluster(&mut rng, 300);
        let a = fit(&points, 2, &FitParams::default()).unwrap();
        let b = fit(&points, 2, &FitParams::default()).unwrap();
        assert_eq!(a, b);
        let other = fit(
            &points,
            2,
            &FitParams {
                seed: 7,
                ..FitParams::default()
            },
        )
        .unwrap();
        assert_ne!(a, other);
        let json = serde_json::to_string(&a).unwrap();
        // AIWAF's nested-object model of the same size is about 1.4 MB; this is about 360 KB.
        assert!(json.len() < 400_000, "{} bytes", json.len());
        assert!(fit(&points[..1], 2, &FitParams::default()).is_none());
    }
}
