//! `report/index.html`: one self-contained page for investigators that works from a file://
//! URL with no network. The data is embedded as JSON and drawn by the page's own script
//! (`report.html`; no third-party JavaScript): a filterable ring list, and per ring a
//! force-directed graph, the members' action timeline, evidence tables and the reasons behind
//! the score, plus the account-score histogram and the model's training curve.

use crate::ExportError;
use ringscope_rings::RingRecord;
use std::path::Path;

const TEMPLATE: &str = include_str!("report.html");
const DATA_MARKER: &str = "__RINGSCOPE_DATA__";
/// Timeline actions embedded per ring; the full timeline is in `rings.jsonl`.
const MAX_ACTIONS: usize = 2000;

/// Everything the page shows.
#[derive(Debug, serde::Serialize)]
pub struct ReportData<'a> {
    /// Page title.
    pub title: String,
    /// Key facts for the header as `(label, value)`: input, accounts scored, rejects, model.
    pub facts: Vec<(String, String)>,
    /// A warning shown above everything: the input is out of the model's domain, or the
    /// label-free scorer replaced it.
    pub banner: Option<String>,
    /// Rings reported in total (the page may show only the top ones).
    pub total_rings: usize,
    /// The rings on the page, highest score first.
    pub rings: Vec<ReportRing<'a>>,
    /// Distribution of every account's score.
    pub histogram: Histogram,
    /// The scoring model's training curve, when its checkpoint has one.
    pub training: Option<TrainingCurve>,
}

/// One ring on the page.
#[derive(Debug, serde::Serialize)]
pub struct ReportRing<'a> {
    /// The ring as in `rings.jsonl`, timeline capped at [`MAX_ACTIONS`].
    pub ring: std::borrow::Cow<'a, RingRecord>,
    /// Timeline actions left out of the page.
    pub actions_left_out: usize,
}

impl<'a> ReportRing<'a> {
    /// `ring` with its timeline capped for the page.
    pub fn new(ring: &'a RingRecord) -> Self {
        let total = ring.evidence.timeline.len();
        let ring = if total > MAX_ACTIONS {
            let mut capped = ring.clone();
            capped.evidence.timeline.truncate(MAX_ACTIONS);
            std::borrow::Cow::Owned(capped)
        } else {
            std::borrow::Cow::Borrowed(ring)
        };
        ReportRing {
            ring,
            actions_left_out: total.saturating_sub(MAX_ACTIONS),
        }
    }
}

/// Counts of scores in equal-width bins over `[0, 1]`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Histogram {
    /// Count per bin.
    pub counts: Vec<u64>,
    /// The model's flagging threshold.
    pub threshold: f64,
}

impl Histogram {
    /// `bins` equal-width bins of `scores` (clamped to `[0, 1]`; NaN skipped).
    pub fn of(scores: impl IntoIterator<Item = f64>, bins: usize, threshold: f64) -> Histogram {
        let mut counts = vec![0; bins.max(1)];
        let n = counts.len();
        for s in scores.into_iter().filter(|s| !s.is_nan()) {
            counts[((s.clamp(0.0, 1.0) * n as f64) as usize).min(n - 1)] += 1;
        }
        Histogram { counts, threshold }
    }
}

/// Loss and validation AUPRC per epoch.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TrainingCurve {
    /// Model name.
    pub model: String,
    /// `(epoch, loss, validation AUPRC)`.
    pub epochs: Vec<(usize, f64, f64)>,
    /// The epoch whose weights score.
    pub best_epoch: usize,
}

/// The page for `data`, with the JSON embedded so that no `</script>` inside a string can
/// end the script element.
pub fn render(data: &ReportData) -> String {
    let json = serde_json::to_string(data)
        .expect("report data serialises")
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026");
    TEMPLATE.replacen(DATA_MARKER, &json, 1)
}

/// Writes `dir/index.html`.
pub fn write_report(dir: &Path, data: &ReportData) -> Result<(), ExportError> {
    std::fs::create_dir_all(dir).map_err(|source| ExportError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    crate::write(dir.join("index.html"), render(data).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_bins_cover_the_unit_interval() {
        let h = Histogram::of([0.0, 0.04, 0.5, 0.99, 1.0, 1.5, f64::NAN], 10, 0.5);
        assert_eq!(h.counts, vec![2, 0, 0, 0, 0, 1, 0, 0, 0, 3]);
    }

    #[test]
    fn embedded_json_cannot_close_the_script_element() {
        let data = ReportData {
            title: "</script><script>alert(1)</script>".into(),
            facts: vec![],
            banner: Some("</script>".into()),
            total_rings: 0,
            rings: vec![],
            histogram: Histogram::of([], 4, 0.5),
            training: None,
        };
        let page = render(&data);
        assert_eq!(
            page.matches("</script>").count(),
            TEMPLATE.matches("</script>").count()
        );
        let start = page.find("id=\"data\">").unwrap() + "id=\"data\">".len();
        let end = start + page[start..].find("</script>").unwrap();
        let back: serde_json::Value = serde_json::from_str(&page[start..end]).unwrap();
        assert_eq!(back["title"], "</script><script>alert(1)</script>");
    }
}
