//! The HTML report of a run (`report/index.html`). A run builds it from its values in memory;
//! `ringscope report` rebuilds it from the run's files with the same function, so both pages are
//! byte-identical.

use crate::error::{Context as _, Result};
use ringscope_export::{
    Histogram, ReportData, ReportRing, ScoringRecord, StagedOutput, TrainingCurve,
};
use ringscope_rings::RingRecord;
use ringscope_score::checkpoint::{self, Manifest};
use std::path::{Path, PathBuf};

/// The title and the run's own facts for the page (nodes, edges, rejected rows).
pub struct RunFacts {
    /// Input directory name.
    pub name: String,
    /// `(label, value)` pairs.
    pub facts: Vec<(String, String)>,
}

impl RunFacts {
    /// The facts of a run, from its counts.
    pub fn of(input: &Path, nodes: usize, edges: usize, rejected: u64) -> RunFacts {
        RunFacts {
            name: input.file_name().map_or_else(
                || input.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            ),
            facts: vec![
                ("nodes".into(), nodes.to_string()),
                ("edges".into(), edges.to_string()),
                ("rejected rows".into(), rejected.to_string()),
            ],
        }
    }
}

/// The report page for `records` (highest score first) and every account's score as
/// `scores.csv` has it, `flagged` of them flagged; `scoring` gives the threshold, the scorer and
/// the applicability check, `manifest` the checkpoint's training curve.
pub fn page<'a>(
    records: &'a [RingRecord],
    account_scores: &[f64],
    flagged: usize,
    scoring: Option<&ScoringRecord>,
    manifest: Option<&Manifest>,
    rings: usize,
    facts: RunFacts,
) -> ReportData<'a> {
    let threshold = scoring
        .map(|s| s.threshold)
        .or(manifest.map(|m| m.threshold))
        .map_or(0.5, f64::from);
    let mut all_facts = vec![
        ("accounts scored".into(), account_scores.len().to_string()),
        ("flagged".into(), flagged.to_string()),
        ("rings".into(), records.len().to_string()),
    ];
    all_facts.extend(facts.facts);
    let label_free = scoring.is_some_and(|s| s.scorer == ringscope_labelfree::NAME);
    let manifest = manifest.filter(|_| !label_free);
    match manifest {
        Some(m) => all_facts.push((
            "model".into(),
            format!("{} (test AUROC {:.3})", m.model.model, m.test.auroc),
        )),
        None if label_free => {
            all_facts.push(("model".into(), "label-free, fitted on this input".into()))
        }
        None => {}
    }
    let banner = scoring.and_then(|s| match (&s.fallback, &s.applicability) {
        (Some(why), a) => Some(format!(
            "The label-free scorer made these scores: {why}.{}",
            a.as_ref().map_or(String::new(), |a| format!(" {}", a.text()))
        )),
        (None, Some(a)) if !a.in_domain => Some(format!(
            "The checkpoint does not fit this input; its scores were kept ([model] on_out_of_domain = \"warn\"). {}",
            a.text()
        )),
        _ => None,
    });
    ReportData {
        title: format!("ringscope — {}", facts.name),
        facts: all_facts,
        banner,
        total_rings: records.len(),
        rings: records.iter().take(rings).map(ReportRing::new).collect(),
        histogram: Histogram::of(account_scores.iter().copied(), 20, threshold),
        training: manifest.map(|m| TrainingCurve {
            model: m.model.model.clone(),
            epochs: m
                .history
                .iter()
                .map(|e| (e.epoch, e.loss, e.val_auprc))
                .collect(),
            best_epoch: m.best_epoch,
        }),
    }
}

/// Writes `page` to `<run>/report/` (the folder replaced atomically).
pub fn write(run: &Path, page: &ReportData<'_>) -> Result<()> {
    let staged = StagedOutput::locked_by(&run.join("report"), run)?;
    ringscope_export::write_report(staged.path(), page)?;
    staged.commit()?;
    Ok(())
}

/// Rebuilds `<run>/report/index.html` from the run's `rings.jsonl`, `scores.csv` and
/// `run_manifest.json`. `checkpoint` overrides the one the manifest names.
pub fn rebuild(run: &Path, checkpoint: Option<&Path>, rings: usize) -> Result<PathBuf> {
    let rebuilding = || format!("rebuilding the report of {}", run.display());
    let records = ringscope_export::read_rings(&run.join("rings.jsonl")).context(rebuilding)?;
    let scores: Vec<f64> = ringscope_export::read_scores(&run.join("scores.csv"))
        .context(rebuilding)?
        .iter()
        .map(|r| ringscope_export::as_written(r.score))
        .collect();
    // The run's manifest names its checkpoint and holds the counts the page shows; a run
    // directory without one still gets a page.
    let run_manifest = ringscope_export::read_run_manifest(&run.join("run_manifest.json")).ok();
    let checkpoint = match (checkpoint, &run_manifest) {
        (Some(path), _) => Some(path.to_path_buf()),
        (None, Some(m)) => Some(crate::embedded::resolve(&m.checkpoint.path)?),
        (None, None) => None,
    };
    let manifest = checkpoint
        .as_deref()
        .map(checkpoint::read_manifest)
        .transpose()
        .context(rebuilding)?;
    let facts = match &run_manifest {
        Some(m) => RunFacts::of(
            &m.input,
            m.counts.nodes,
            m.counts.edges,
            m.counts.rows_rejected,
        ),
        None => RunFacts {
            name: run.display().to_string(),
            facts: Vec::new(),
        },
    };
    let scoring = run_manifest.as_ref().and_then(|m| m.scoring.as_ref());
    let flagged = match &run_manifest {
        Some(m) => m.counts.accounts_flagged,
        None => {
            let threshold = manifest.as_ref().map_or(0.5, |m| f64::from(m.threshold));
            scores.iter().filter(|&&s| s >= threshold).count()
        }
    };
    write(
        run,
        &page(
            &records,
            &scores,
            flagged,
            scoring,
            manifest.as_ref(),
            rings,
            facts,
        ),
    )?;
    Ok(run.join("report/index.html"))
}
