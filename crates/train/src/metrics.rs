//! Binary-classification metrics for fraud scores: AUROC, AUPRC (average precision), macro-F1
//! at a threshold chosen on validation, and recall at k.
//!
//! Definitions follow scikit-learn (`roc_auc_score`, `average_precision_score`, `f1_score(...,
//! average="macro")`) and GADBench (`Rec@K` with K = number of positives), so numbers compare
//! with published tables.

/// Area under the ROC curve: the probability that a random positive scores above a random
/// negative, ties counting one half (Mann–Whitney U with average ranks). `None` when either
/// class is absent.
pub fn auroc(scores: &[f32], labels: &[bool]) -> Option<f64> {
    assert_eq!(scores.len(), labels.len(), "one label per score");
    let order = sorted_by_score(scores);
    let (mut rank_sum, mut positives) = (0.0f64, 0u64);
    let mut i = 0;
    while i < order.len() {
        // Ranks are 1-based; tied scores share the average of their ranks.
        let j = tie_end(scores, &order, i);
        let average_rank = (i + 1 + j) as f64 / 2.0;
        for &k in &order[i..j] {
            if labels[k] {
                rank_sum += average_rank;
                positives += 1;
            }
        }
        i = j;
    }
    let negatives = labels.len() as u64 - positives;
    if positives == 0 || negatives == 0 {
        return None;
    }
    let p = positives as f64;
    Some((rank_sum - p * (p + 1.0) / 2.0) / (p * negatives as f64))
}

/// Average precision: Σₙ (Rₙ − Rₙ₋₁) Pₙ over descending score thresholds, with tied scores
/// forming one threshold. `None` without positives.
pub fn auprc(scores: &[f32], labels: &[bool]) -> Option<f64> {
    assert_eq!(scores.len(), labels.len(), "one label per score");
    let positives = labels.iter().filter(|&&l| l).count();
    if positives == 0 {
        return None;
    }
    let mut order = sorted_by_score(scores);
    order.reverse();
    let (mut tp, mut seen, mut ap, mut last_recall) = (0usize, 0usize, 0.0f64, 0.0f64);
    let mut i = 0;
    while i < order.len() {
        let j = tie_end(scores, &order, i);
        tp += order[i..j].iter().filter(|&&k| labels[k]).count();
        seen += j - i;
        let recall = tp as f64 / positives as f64;
        ap += (recall - last_recall) * tp as f64 / seen as f64;
        last_recall = recall;
        i = j;
    }
    Some(ap)
}

/// Macro-F1 (mean of the F1 of each class) when scores `>= threshold` are called positive.
pub fn macro_f1(scores: &[f32], labels: &[bool], threshold: f32) -> f64 {
    let (mut tp, mut fp, mut fn_, mut tn) = (0u64, 0u64, 0u64, 0u64);
    for (&s, &l) in scores.iter().zip(labels) {
        match (s >= threshold, l) {
            (true, true) => tp += 1,
            (true, false) => fp += 1,
            (false, true) => fn_ += 1,
            (false, false) => tn += 1,
        }
    }
    let f1 = |tp: u64, fp: u64, fn_: u64| {
        if tp == 0 {
            0.0
        } else {
            2.0 * tp as f64 / (2 * tp + fp + fn_) as f64
        }
    };
    (f1(tp, fp, fn_) + f1(tn, fn_, fp)) / 2.0
}

/// The threshold among the observed scores that maximises macro-F1 (used on validation, then
/// applied unchanged to test), with its macro-F1.
pub fn best_f1_threshold(scores: &[f32], labels: &[bool]) -> (f32, f64) {
    let mut order = sorted_by_score(scores);
    order.reverse();
    let positives = labels.iter().filter(|&&l| l).count() as u64;
    let negatives = labels.len() as u64 - positives;
    let (mut best, mut tp, mut fp) = ((f32::INFINITY, 0.0), 0u64, 0u64);
    let mut i = 0;
    while i < order.len() {
        let j = tie_end(scores, &order, i);
        for &k in &order[i..j] {
            if labels[k] { tp += 1 } else { fp += 1 }
        }
        let (fn_, tn) = (positives - tp, negatives - fp);
        let f1 = |tp: u64, fp: u64, fn_: u64| {
            if tp == 0 {
                0.0
            } else {
                2.0 * tp as f64 / (2 * tp + fp + fn_) as f64
            }
        };
        let macro_f1 = (f1(tp, fp, fn_) + f1(tn, fn_, fp)) / 2.0;
        if macro_f1 > best.1 {
            best = (scores[order[i]], macro_f1);
        }
        i = j;
    }
    best
}

/// Share of the positives found among the `k` highest scores (ties broken by index).
/// GADBench's Rec@K uses `k` = the number of positives.
pub fn recall_at_k(scores: &[f32], labels: &[bool], k: usize) -> Option<f64> {
    let positives = labels.iter().filter(|&&l| l).count();
    if positives == 0 {
        return None;
    }
    let mut order = sorted_by_score(scores);
    order.reverse();
    let found = order.iter().take(k).filter(|&&i| labels[i]).count();
    Some(found as f64 / positives as f64)
}

/// Indices sorted by ascending score (NaN last), stable.
fn sorted_by_score(scores: &[f32]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    order
}

/// End of the run of scores equal to `scores[order[i]]`.
fn tie_end(scores: &[f32], order: &[usize], i: usize) -> usize {
    let mut j = i + 1;
    while j < order.len() && scores[order[j]] == scores[order[i]] {
        j += 1;
    }
    j
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn auroc_matches_hand_computed_cases() {
        // sklearn: roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75
        assert!(close(
            auroc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]).unwrap(),
            0.75
        ));
        assert!(close(
            auroc(&[0.9, 0.8, 0.1], &[true, true, false]).unwrap(),
            1.0
        ));
        assert!(close(
            auroc(&[0.1, 0.8, 0.9], &[true, false, false]).unwrap(),
            0.0
        ));
        // All tied: every positive–negative pair counts one half.
        assert!(close(
            auroc(&[0.5; 4], &[true, false, true, false]).unwrap(),
            0.5
        ));
        // sklearn: roc_auc_score([0, 1, 0, 1], [0.2, 0.2, 0.1, 0.3]) == 0.875
        assert!(close(
            auroc(&[0.2, 0.2, 0.1, 0.3], &[false, true, false, true]).unwrap(),
            0.875
        ));
        assert_eq!(auroc(&[0.1, 0.2], &[true, true]), None);
    }

    #[test]
    fn auprc_is_average_precision() {
        // sklearn: average_precision_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.8333...
        assert!(close(
            auprc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]).unwrap(),
            5.0 / 6.0
        ));
        assert!(close(
            auprc(&[0.9, 0.8, 0.1], &[true, true, false]).unwrap(),
            1.0
        ));
        // A tie between the only positive and a negative: precision 1/2 at recall 1.
        assert!(close(
            auprc(&[0.5, 0.5, 0.1], &[true, false, false]).unwrap(),
            0.5
        ));
        assert_eq!(auprc(&[0.3], &[false]), None);
    }

    #[test]
    fn macro_f1_and_its_best_threshold() {
        let (scores, labels) = ([0.9, 0.8, 0.3, 0.2, 0.1], [true, false, true, false, false]);
        // Threshold 0.8: tp 1, fp 1, fn 1, tn 2 → F1+ = 0.5, F1- = 2·2/(4+1+1) = 0.667.
        assert!(close(
            macro_f1(&scores, &labels, 0.8),
            (0.5 + 4.0 / 6.0) / 2.0
        ));
        let (t, f) = best_f1_threshold(&scores, &labels);
        // Threshold 0.3: tp 2, fp 1, fn 0, tn 2 → F1+ = 0.8, F1- = 0.8.
        assert_eq!(t, 0.3);
        assert!(close(f, 0.8));
        assert!(close(macro_f1(&scores, &labels, t), f));
    }

    #[test]
    fn recall_at_k_counts_positives_in_the_top_k() {
        let (scores, labels) = ([0.9, 0.8, 0.3, 0.2], [true, false, true, false]);
        assert!(close(recall_at_k(&scores, &labels, 2).unwrap(), 0.5));
        assert!(close(recall_at_k(&scores, &labels, 3).unwrap(), 1.0));
        assert_eq!(recall_at_k(&scores, &[false; 4], 2), None);
    }
}
