//! Fitting a model on the input's own labels during a run (`[model] fit`): the labelled nodes
//! split by time (the latest fifth tests, the fifth before it validates, the rest trains, as a
//! model deployed today meets tomorrow's accounts), the checkpoint written with the run's
//! outputs, and out-of-sample metrics only.

use crate::config::{Fit, ModelSection};
use crate::error::{Context as _, Result};
use crate::feedback::apply_feedback;
use crate::train::{DEFAULT_MODEL, Setup, train_and_save};
use ringscope_export::FitRecord;
use ringscope_features::{FeatureOptions, Standardizer};
use ringscope_gnn::DeviceChoice;
use ringscope_graph::{HeteroGraph, NO_TIME};
use ringscope_train::ModelInput;
use ringscope_train::split::{Split, time_split};
use std::path::Path;

/// Share of the labelled nodes, latest last, that validates; as much again tests.
const HELD_OUT: f64 = 0.2;

/// Whether `section` asks for a fit on `graph`: `always`, or `auto` when it has labels or
/// feedback is given.
pub fn wanted(section: &ModelSection, graph: &HeteroGraph) -> bool {
    match section.fit {
        Fit::Never => false,
        Fit::Always => true,
        Fit::Auto => {
            section.feedback.is_some() || graph.node_sets().iter().any(|s| s.labels.is_some())
        }
    }
}

/// Trains the default model on `graph`'s labels, plus the verdicts in `feedback`, with a time
/// split, and writes the checkpoint to `out`. The accounts of one verdict stay on one side of
/// the split. `Ok(Err(why))` when the labels cannot support it (none, one class only, or too few
/// to fill each part of the split with both classes); the caller then scores label-free and says
/// why.
pub fn fit(
    graph: &HeteroGraph,
    out: &Path,
    device: DeviceChoice,
    feedback: Option<&Path>,
) -> Result<std::result::Result<FitRecord, String>> {
    let mut input = ModelInput::new(graph, FeatureOptions::default());
    let applied = feedback
        .map(|path| apply_feedback(graph, &mut input.labels, path))
        .transpose()
        .context(|| "reading investigator feedback".to_string())?;
    let times = latest_activity(graph);
    let groups = applied.as_ref().map_or(&[][..], |a| &a.groups[..]);
    let split = time_split(&input.labels, &times, groups, HELD_OUT, HELD_OUT);
    if let Err(why) = check(&split, &input.labels) {
        return Ok(Err(why));
    }
    let relations = input.edges.relations.len().max(1);
    let (model, train) =
        ringscope_train::config::from_toml(DEFAULT_MODEL, None, input.features.cols(), relations)?;
    let normalisation = Standardizer::fit(&input.features);
    normalisation.apply(&mut input.features);
    let device = ringscope_gnn::device::open(device)?;
    tracing::info!(model = %model.model, train = split.train.len(), val = split.val.len(), test = split.test.len(), "fitting on the input's labels");
    let name = model.model.clone();
    let kept = train_and_save(
        graph,
        &input,
        &split,
        (model, train),
        normalisation,
        Setup {
            device: &device,
            resume: None,
            out,
        },
        |_| {},
    )?;
    let first = |nodes: &[u32]| nodes.iter().map(|&i| times[i as usize]).min();
    Ok(Ok(FitRecord {
        model: name,
        split: "time".into(),
        train: split.train.len(),
        val: split.val.len(),
        test: split.test.len(),
        test_from: first(&split.test).filter(|&t| t != NO_TIME),
        from_feedback: applied.map_or(0, |a| a.fraud + a.benign),
        best_epoch: kept.best_epoch,
        val_auroc: kept.val.auroc,
        test_auroc: kept.test.auroc,
        test_auprc: kept.test.auprc,
    }))
}

/// Each node's latest timed edge, either side; `NO_TIME` (earliest) without one.
fn latest_activity(graph: &HeteroGraph) -> Vec<i64> {
    let space = graph.index_space();
    let mut latest = vec![NO_TIME; space.len()];
    for r in graph.relations() {
        let Some(times) = &r.time else { continue };
        for ((&s, &d), &t) in r.src.iter().zip(&r.dst).zip(times) {
            for node in [
                space.global_of(r.src_kind, s),
                space.global_of(r.dst_kind, d),
            ] {
                latest[node] = latest[node].max(t);
            }
        }
    }
    latest
}

/// Why `split` cannot train and measure a model, if it cannot: every part needs both classes.
fn check(split: &Split, labels: &[i8]) -> std::result::Result<(), String> {
    let labelled = split.train.len() + split.val.len() + split.test.len();
    if labelled == 0 {
        return Err("the input has no labels to fit on".into());
    }
    let count = |nodes: &[u32], class: i8| {
        nodes
            .iter()
            .filter(|&&i| labels[i as usize] == class)
            .count()
    };
    let all: Vec<u32> = [&split.train, &split.val, &split.test]
        .into_iter()
        .flatten()
        .copied()
        .collect();
    if count(&all, 1) == 0 || count(&all, 0) == 0 {
        let class = if count(&all, 1) == 0 {
            "benign"
        } else {
            "fraud"
        };
        return Err(format!(
            "the labels cover one class only ({labelled} labelled, all {class})"
        ));
    }
    for (part, nodes) in [
        ("training", &split.train),
        ("validation", &split.val),
        ("test", &split.test),
    ] {
        let (fraud, benign) = (count(nodes, 1), count(nodes, 0));
        if fraud == 0 || benign == 0 {
            return Err(format!(
                "too few labels to split by time: the {part} period holds {fraud} fraud and {benign} benign of {labelled} labelled"
            ));
        }
    }
    Ok(())
}

/// The fit `section` asks for on `graph`, written into `out`: the checkpoint to score with and
/// its record, or why none was fitted (the run then scores label-free); `None` when no fit is
/// asked for.
pub fn stage(
    section: &ModelSection,
    graph: &HeteroGraph,
    out: &Path,
    device: DeviceChoice,
) -> Result<Option<std::result::Result<FitRecord, String>>> {
    if !wanted(section, graph) {
        return Ok(None);
    }
    let outcome = fit(graph, out, device, section.feedback.as_deref())?;
    if let Err(why) = &outcome {
        tracing::warn!("[model] fit: {why}; scoring with the label-free scorer instead");
    }
    Ok(Some(outcome))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_class_or_too_few_labels_are_refused_with_a_reason() {
        let split = |train: Vec<u32>, val: Vec<u32>, test: Vec<u32>| Split { train, val, test };
        let labels = [0, 0, 0, 0, 1, 1, 0, 1];
        assert!(
            check(&split(vec![], vec![], vec![]), &labels)
                .unwrap_err()
                .contains("no labels")
        );
        let err = check(&split(vec![0, 1], vec![2], vec![3]), &labels).unwrap_err();
        assert!(
            err.contains("one class only") && err.contains("all benign"),
            "{err}"
        );
        let err = check(&split(vec![0, 4], vec![1, 5], vec![2, 3]), &labels).unwrap_err();
        assert!(
            err.contains("test period holds 0 fraud and 2 benign"),
            "{err}"
        );
        assert!(check(&split(vec![0, 4], vec![1, 5], vec![6, 7]), &labels).is_ok());
    }
}
