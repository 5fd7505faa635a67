//! Investigator verdicts (`feedback.jsonl`, appended by `ringscope serve`) turned into labels.

use crate::error::{Error, Result};
use ringscope_graph::{HeteroGraph, NodeKind};
use std::collections::BTreeMap;
use std::path::Path;

/// What [`apply_feedback`] did.
#[derive(Debug, Default, PartialEq)]
pub struct FeedbackApplied {
    /// Accounts labelled fraud.
    pub fraud: usize,
    /// Accounts labelled benign.
    pub benign: usize,
    /// Accounts named in the file but not in the graph.
    pub unknown: usize,
    /// The accounts (global node indices) labelled by each verdict line that still holds for
    /// them: one investigator decision, which a train/test split must not cut through.
    pub groups: Vec<Vec<u32>>,
}

/// Labels the accounts named in a feedback file (`accounts` of each line): `confirm` → 1,
/// `dismiss` → 0, later lines over earlier ones. `labels` are per node of `graph`, in its global
/// index space.
pub fn apply_feedback(
    graph: &HeteroGraph,
    labels: &mut [i8],
    path: &Path,
) -> Result<FeedbackApplied> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let bad = |line: usize, message: &str| Error::BadFile {
        file: path.to_path_buf(),
        line,
        message: message.to_string(),
    };
    let Some((kind, accounts)) = graph.node_set(NodeKind::Account.name()) else {
        return Ok(FeedbackApplied::default());
    };
    let space = graph.index_space();
    // account → (verdict, line), the latest line winning
    let mut verdicts: BTreeMap<String, (i8, usize)> = BTreeMap::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let v: serde_json::Value =
            serde_json::from_str(line).map_err(|e| bad(i + 1, &e.to_string()))?;
        let label = match v["verdict"].as_str() {
            Some("confirm") => 1,
            Some("dismiss") => 0,
            _ => return Err(bad(i + 1, "verdict must be \"confirm\" or \"dismiss\"")),
        };
        let members = v["accounts"]
            .as_array()
            .ok_or_else(|| bad(i + 1, "no array 'accounts'"))?;
        for m in members {
            let id = m
                .as_str()
                .ok_or_else(|| bad(i + 1, "an account that is not a string"))?;
            verdicts.insert(id.to_string(), (label, i));
        }
    }
    let mut applied = FeedbackApplied::default();
    let mut by_line: BTreeMap<usize, Vec<u32>> = BTreeMap::new();
    for (id, (label, line)) in verdicts {
        match accounts.ids.get(&id) {
            Some(local) => {
                let node = space.global_of(kind, local);
                labels[node] = label;
                by_line.entry(line).or_default().push(node as u32);
                if label == 1 {
                    applied.fraud += 1;
                } else {
                    applied.benign += 1;
                }
            }
            None => applied.unknown += 1,
        }
    }
    applied.groups = by_line.into_values().collect();
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels_after(lines: &str) -> (Result<FeedbackApplied>, Vec<i8>) {
        let graph = ringscope_testkit::reviews_graph(3, 1, &[(0, 0)]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("feedback.jsonl");
        std::fs::write(&path, lines).unwrap();
        let mut labels = vec![-1; graph.num_nodes()];
        let applied = apply_feedback(&graph, &mut labels, &path);
        (applied, labels)
    }

    #[test]
    fn the_latest_verdict_labels_each_account_and_strangers_are_counted() {
        let (applied, labels) = labels_after(concat!(
            r#"{"verdict":"confirm","accounts":["a0","a1"]}"#,
            "\n\n",
            r#"{"verdict":"dismiss","accounts":["a1","nobody"]}"#,
            "\n"
        ));
        assert_eq!(
            applied.unwrap(),
            FeedbackApplied {
                fraud: 1,
                benign: 1,
                unknown: 1,
                // a1's verdict is the second line's, so each line now holds one account.
                groups: vec![vec![0], vec![1]],
            }
        );
        // Accounts a0..a2, then the product.
        assert_eq!(labels, vec![1, 0, -1, -1]);
    }

    #[test]
    fn a_bad_line_is_an_error_naming_the_file_and_line() {
        let (applied, _) =
            labels_after("{\"verdict\":\"confirm\",\"accounts\":[]}\n{\"verdict\":\"maybe\"}\n");
        let err = applied.unwrap_err();
        assert!(
            matches!(&err, Error::BadFile { line: 2, message, .. } if message.contains("verdict")),
            "{err}"
        );
        assert!(err.to_string().contains("feedback.jsonl: line 2"), "{err}");
    }
}
