//! `run_manifest.json`: what a run read (files and hashes), the model and config it used, its
//! counts, drift and timings, and a hash of every file it wrote.

use crate::drift::Drift;
use crate::{ExportError, read_text};
use ringscope_features::distribution::Applicability;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// A file the manifest vouches for.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FileEntry {
    /// Path relative to the directory listed, with `/` separators.
    pub path: String,
    /// Size in bytes.
    pub bytes: u64,
    /// SHA-256, lowercase hex.
    pub sha256: String,
}

/// The checkpoint a run scored with.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CheckpointEntry {
    /// Its directory.
    pub path: PathBuf,
    /// The model name (`rgcn`, `sage`, ...).
    pub model: String,
    /// Its files.
    pub files: Vec<FileEntry>,
}

/// Counts of a run.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[allow(missing_docs)]
pub struct Counts {
    pub rows_read: u64,
    pub rows_used: u64,
    pub rows_rejected: u64,
    pub accounts_scored: usize,
    pub accounts_flagged: usize,
    pub nodes: usize,
    pub edges: usize,
    pub rings: usize,
    pub ring_events: usize,
}

/// `run_manifest.json`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RunManifest {
    /// `ringscope`.
    pub tool: String,
    /// The tool's version.
    pub version: String,
    /// The Hive-style partition, if any.
    pub partition: Option<String>,
    /// The input directory read.
    pub input: PathBuf,
    /// The output directory written.
    pub output: PathBuf,
    /// Every input file.
    pub inputs: Vec<FileEntry>,
    /// The model.
    pub checkpoint: CheckpointEntry,
    /// SHA-256 of `config`.
    pub config_sha256: String,
    /// The effective config as TOML.
    pub config: String,
    /// The previous run's `rings.jsonl`, if compared with.
    pub previous_rings: Option<PathBuf>,
    /// Counts.
    pub counts: Counts,
    /// How the scores were made and thresholded; absent in manifests written before it.
    #[serde(default)]
    pub scoring: Option<ScoringRecord>,
    /// Drift against the previous run.
    pub drift: Option<Drift>,
    /// Every output file but the manifest itself.
    pub outputs: Vec<FileEntry>,
    /// Seconds per stage, in order.
    pub timings: Vec<(String, f64)>,
}

/// How a run's scores were made: the scorer, the applicability check that chose it, and the
/// threshold after the flag-rate cap.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ScoringRecord {
    /// `checkpoint` or `label_free`.
    pub scorer: String,
    /// Why the label-free scorer replaced the checkpoint, if it did.
    pub fallback: Option<String>,
    /// The input against the checkpoint's training population, when it has a profile.
    pub applicability: Option<Applicability>,
    /// The label-free scorer's signals, when it scored.
    pub signals: Vec<String>,
    /// The threshold applied: the model's, raised by the cap when the cap cut in.
    pub threshold: f32,
    /// The checkpoint's own threshold (none for the label-free scorer).
    pub model_threshold: Option<f32>,
    /// `[model] max_flag_rate`.
    pub max_flag_rate: f64,
    /// Nodes the model's own threshold would have flagged (none without one).
    pub flagged_at_model_threshold: Option<usize>,
    /// Whether the cap lowered what was flagged.
    pub cap_cut_in: bool,
    /// The model fitted on the input's labels, when the run fitted one.
    #[serde(default)]
    pub fit: Option<FitRecord>,
}

/// A model fitted during a run on the input's own labels, and its out-of-sample metrics.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FitRecord {
    /// The architecture.
    pub model: String,
    /// How the labelled nodes were split (`time`: the latest test, those before validate).
    pub split: String,
    /// Training nodes.
    pub train: usize,
    /// Validation nodes.
    pub val: usize,
    /// Test nodes.
    pub test: usize,
    /// The earliest latest-activity time (unix seconds) among the test nodes.
    pub test_from: Option<i64>,
    /// Labels that came from investigator feedback.
    pub from_feedback: usize,
    /// The kept epoch.
    pub best_epoch: usize,
    /// Validation AUROC (early stopping and the threshold were chosen on it).
    pub val_auroc: f64,
    /// Test AUROC: the latest period, never seen in training or validation.
    pub test_auroc: f64,
    /// Test AUPRC.
    pub test_auprc: f64,
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every file under `root` (recursively, sorted by path), with sizes and hashes; `skip` names
/// files (relative paths) left out.
pub fn digest_files(root: &Path, skip: &[&str]) -> Result<Vec<FileEntry>, ExportError> {
    let read_error = |path: &Path, source| ExportError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).map_err(|e| read_error(&dir, e))? {
            let path = entry.map_err(|e| read_error(&dir, e))?.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let rel = path.strip_prefix(root).unwrap_or(&path);
            let rel = rel.to_string_lossy().replace('\\', "/");
            if skip.contains(&rel.as_str()) {
                continue;
            }
            // Streamed: a day's input can be larger than memory.
            let mut hasher = Sha256::new();
            let bytes = std::fs::File::open(&path)
                .and_then(|mut f| std::io::copy(&mut f, &mut hasher))
                .map_err(|e| read_error(&path, e))?;
            files.push(FileEntry {
                path: rel,
                bytes,
                sha256: hex(&hasher.finalize()),
            });
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// Reads a run's `run_manifest.json`.
pub fn read_run_manifest(path: &Path) -> Result<RunManifest, ExportError> {
    serde_json::from_str(&read_text(path)?).map_err(|e| ExportError::BadFile {
        file: path.to_path_buf(),
        line: e.line(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_list_every_file_below_the_root_sorted_with_their_hashes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("b.txt"), "b").unwrap();
        std::fs::write(dir.path().join("sub/a.txt"), "abc").unwrap();
        std::fs::write(dir.path().join("skip.json"), "{}").unwrap();
        let files = digest_files(dir.path(), &["skip.json"]).unwrap();
        let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["b.txt", "sub/a.txt"]);
        assert_eq!(files[1].bytes, 3);
        assert_eq!(
            files[1].sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
