//! Train/validation/test splits of a graph's labelled nodes: the labels in the global index
//! space, stratified random splits and stratified k-fold cross-validation. Used by training on a
//! user's graph and by the benchmark protocols (`datasets.rs`) alike.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use ringscope_graph::HeteroGraph;

/// Node indices of the train, validation and test sets.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Split {
    /// Training nodes.
    pub train: Vec<u32>,
    /// Validation nodes (early stopping, threshold choice).
    pub val: Vec<u32>,
    /// Test nodes.
    pub test: Vec<u32>,
}

/// Per node in the global index space: 1 fraud, 0 benign, −1 unlabelled or unlabelled kind.
pub fn node_labels(graph: &HeteroGraph) -> Vec<i8> {
    let mut labels = Vec::with_capacity(graph.num_nodes());
    for set in graph.node_sets() {
        match &set.labels {
            Some(l) => labels.extend_from_slice(l),
            None => labels.resize(labels.len() + set.len(), -1),
        }
    }
    labels
}

/// The labelled nodes of each class, shuffled by `seed`.
fn shuffled_classes(labels: &[i8], seed: u64) -> [Vec<u32>; 2] {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    [0i8, 1].map(|class| {
        let mut nodes: Vec<u32> = (0..labels.len() as u32)
            .filter(|&i| labels[i as usize] == class)
            .collect();
        nodes.shuffle(&mut rng);
        nodes
    })
}

/// `split` with each part in ascending node order.
pub(crate) fn sorted(mut split: Split) -> Split {
    for part in [&mut split.train, &mut split.val, &mut split.test] {
        part.sort_unstable();
    }
    split
}

/// Labelled nodes split at random into train/validation/test by the given shares (the rest
/// tests), stratified by class so the rare class appears in every part.
pub fn stratified_split(labels: &[i8], train: f64, val: f64, seed: u64) -> Split {
    let mut split = Split::default();
    for nodes in shuffled_classes(labels, seed) {
        let n_train = (nodes.len() as f64 * train).round() as usize;
        let n_val = ((nodes.len() as f64 * val).round() as usize).min(nodes.len() - n_train);
        split.train.extend_from_slice(&nodes[..n_train]);
        split
            .val
            .extend_from_slice(&nodes[n_train..n_train + n_val]);
        split.test.extend_from_slice(&nodes[n_train + n_val..]);
    }
    sorted(split)
}

impl Split {
    /// Moves each group that the split cuts through wholly into the earliest part holding one
    /// of its members (train, then validation, then test), so that nodes labelled by one
    /// decision (an investigator's verdict on a ring) never sit on both sides of the split.
    pub fn keep_together(self, groups: &[Vec<u32>]) -> Split {
        let mut part: std::collections::HashMap<u32, usize> = std::collections::HashMap::new();
        for (p, nodes) in [&self.train, &self.val, &self.test].into_iter().enumerate() {
            part.extend(nodes.iter().map(|&n| (n, p)));
        }
        for group in groups {
            let Some(first) = group.iter().filter_map(|n| part.get(n)).min().copied() else {
                continue;
            };
            for n in group {
                if let Some(p) = part.get_mut(n) {
                    *p = first;
                }
            }
        }
        let mut split = Split::default();
        let mut nodes: Vec<(u32, usize)> = part.into_iter().collect();
        nodes.sort_unstable();
        for (n, p) in nodes {
            [&mut split.train, &mut split.val, &mut split.test][p].push(n);
        }
        split
    }
}

/// A split by time: the labelled nodes whose latest activity (`times`, per node) is the most
/// recent `test` share are tested on, the `val` share before them validates, and the rest
/// trains, as a model deployed today meets tomorrow's accounts. Ties in time go by node index.
/// Each of `groups` (nodes labelled by one decision, such as an investigator's verdict on a
/// ring) moves as one unit, at the time of its latest member, so it never straddles the split.
pub fn time_split(labels: &[i8], times: &[i64], groups: &[Vec<u32>], val: f64, test: f64) -> Split {
    let labelled = |n: &u32| labels[*n as usize] >= 0;
    let mut grouped = vec![false; labels.len()];
    let mut units: Vec<Vec<u32>> = Vec::new();
    for group in groups {
        let members: Vec<u32> = group
            .iter()
            .copied()
            .filter(|n| labelled(n) && !grouped[*n as usize])
            .collect();
        members.iter().for_each(|&n| grouped[n as usize] = true);
        if !members.is_empty() {
            units.push(members);
        }
    }
    units.extend(
        (0..labels.len() as u32)
            .filter(|n| labelled(n) && !grouped[*n as usize])
            .map(|n| vec![n]),
    );
    let key = |u: &Vec<u32>| {
        let latest = u.iter().map(|&n| times[n as usize]).max();
        (latest, u.iter().min().copied())
    };
    units.sort_by_key(key);
    let n: usize = units.iter().map(Vec::len).sum();
    let n_test = (n as f64 * test).round() as usize;
    let n_val = ((n as f64 * val).round() as usize).min(n - n_test);
    let n_train = n - n_test - n_val;
    let mut split = Split::default();
    let mut taken = 0;
    for unit in units {
        let part = if taken < n_train {
            &mut split.train
        } else if taken < n_train + n_val {
            &mut split.val
        } else {
            &mut split.test
        };
        taken += unit.len();
        part.extend(unit);
    }
    sorted(split)
}

/// Stratified k-fold cross-validation: fold `k` tests on every `folds`-th node of each shuffled
/// class, and `val` of the rest of each class validates.
pub fn stratified_folds(labels: &[i8], folds: usize, val: f64, seed: u64) -> Vec<Split> {
    let classes = shuffled_classes(labels, seed);
    (0..folds)
        .map(|k| {
            let mut split = Split::default();
            for nodes in &classes {
                let in_fold = |i: &usize| i % folds == k;
                split
                    .test
                    .extend((0..nodes.len()).filter(in_fold).map(|i| nodes[i]));
                let rest: Vec<u32> = (0..nodes.len())
                    .filter(|i| !in_fold(i))
                    .map(|i| nodes[i])
                    .collect();
                let n_val = (rest.len() as f64 * val).round() as usize;
                split.val.extend_from_slice(&rest[..n_val]);
                split.train.extend_from_slice(&rest[n_val..]);
            }
            sorted(split)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<i8> {
        // 20 benign, 10 fraud, 5 unlabelled.
        let mut l = vec![0i8; 20];
        l.extend([1; 10]);
        l.extend([-1; 5]);
        l
    }

    #[test]
    fn stratified_split_keeps_class_shares_and_skips_unlabelled() {
        let l = labels();
        let s = stratified_split(&l, 0.4, 0.2, 7);
        let count = |part: &[u32], class| part.iter().filter(|&&i| l[i as usize] == class).count();
        assert_eq!((count(&s.train, 0), count(&s.train, 1)), (8, 4));
        assert_eq!((count(&s.val, 0), count(&s.val, 1)), (4, 2));
        assert_eq!((count(&s.test, 0), count(&s.test, 1)), (8, 4));
        assert!(s.train.iter().chain(&s.val).chain(&s.test).all(|&i| i < 30));
        assert_ne!(s, stratified_split(&l, 0.4, 0.2, 8), "seeds differ");
    }

    #[test]
    fn folds_test_every_labelled_node_exactly_once() {
        let l = labels();
        let folds = stratified_folds(&l, 5, 0.2, 3);
        let mut tested: Vec<u32> = folds.iter().flat_map(|f| f.test.clone()).collect();
        tested.sort_unstable();
        assert_eq!(tested, (0..30).collect::<Vec<u32>>());
        for f in &folds {
            assert_eq!(f.test.iter().filter(|&&i| l[i as usize] == 1).count(), 2);
            assert_eq!(f.train.len() + f.val.len() + f.test.len(), 30);
            assert!(
                f.val
                    .iter()
                    .all(|v| !f.train.contains(v) && !f.test.contains(v))
            );
        }
    }

    #[test]
    fn the_latest_labelled_nodes_are_tested_on() {
        // Node 2 is unlabelled; times put node 4 first and node 0 last.
        let labels = [1, 0, -1, 0, 1, 0, 1, 0, 0, 1, 0];
        let times = [100, 5, 0, 6, 1, 7, 8, 9, 10, 11, 12];
        let s = time_split(&labels, &times, &[], 0.2, 0.2);
        assert_eq!(s.test, vec![0, 10]);
        assert_eq!(s.val, vec![8, 9]);
        assert_eq!(s.train, vec![1, 3, 4, 5, 6, 7]);
        // Nodes 4 (earliest) and 10 (latest) were one decision: they move together, at 10's
        // time; a unit goes to the period it starts in.
        let s = time_split(&labels, &times, &[vec![4, 10]], 0.2, 0.2);
        assert_eq!(s.train, vec![1, 3, 5, 6, 7, 8]);
        assert_eq!(s.val, vec![4, 9, 10]);
        assert_eq!(s.test, vec![0]);
    }

    #[test]
    fn a_group_cut_by_the_split_moves_to_its_earliest_part() {
        let split = Split {
            train: vec![0, 1],
            val: vec![2, 3],
            test: vec![4, 5, 6],
        };
        // 3 and 5 were one verdict: both validate. 6 and 9 (9 unlabelled): 6 stays.
        let kept = split.keep_together(&[vec![5, 3], vec![6, 9]]);
        assert_eq!(kept.train, vec![0, 1]);
        assert_eq!(kept.val, vec![2, 3, 5]);
        assert_eq!(kept.test, vec![4, 6]);
    }
}
