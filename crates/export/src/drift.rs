//! `drift_profile.json`, what a run keeps for the next run's drift check, and the drift block of
//! the run manifest. The statistics themselves are computed in `ringscope-pipeline`.

use crate::{ExportError, read_text};
use std::collections::BTreeMap;
use std::path::Path;

/// The layout of `drift_profile.json` that this build writes and reads. A file without the
/// field was written before it existed and has the layout of version 1.
pub const DRIFT_SCHEMA_VERSION: u32 = 1;

fn unversioned() -> u32 {
    DRIFT_SCHEMA_VERSION
}

pub use ringscope_features::distribution::Binned;

/// `drift_profile.json`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DriftProfile {
    /// [`DRIFT_SCHEMA_VERSION`] when written by this build.
    #[serde(default = "unversioned")]
    pub schema_version: u32,
    /// Distribution name → its binning.
    pub distributions: BTreeMap<String, Binned>,
}

impl DriftProfile {
    /// A profile of this build's version.
    pub fn new(distributions: BTreeMap<String, Binned>) -> Self {
        DriftProfile {
            schema_version: DRIFT_SCHEMA_VERSION,
            distributions,
        }
    }
}

/// Drift against a previous run, as recorded in `run_manifest.json`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Drift {
    /// The previous run's output directory.
    pub against: String,
    /// PSI per distribution present in both runs.
    pub psi: BTreeMap<String, f64>,
    /// The warning threshold.
    pub warn_above: f64,
    /// Distributions whose PSI exceeds it.
    pub warnings: Vec<String>,
}

/// Reads a `drift_profile.json`, refusing a version this build does not know.
pub fn read_drift_profile(path: &Path) -> Result<DriftProfile, ExportError> {
    let bad = |message: String| ExportError::BadFile {
        file: path.to_path_buf(),
        line: 1,
        message,
    };
    let profile: DriftProfile =
        serde_json::from_str(&read_text(path)?).map_err(|e| bad(e.to_string()))?;
    if profile.schema_version != DRIFT_SCHEMA_VERSION {
        return Err(bad(format!(
            "schema_version {}, but this build reads version {DRIFT_SCHEMA_VERSION}",
            profile.schema_version
        )));
    }
    Ok(profile)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_carry_their_version_and_older_files_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("drift_profile.json");
        let profile = DriftProfile::new(BTreeMap::from([(
            "account_score".to_string(),
            Binned {
                edges: vec![0.5],
                shares: vec![0.25, 0.75],
            },
        )]));
        let text = serde_json::to_string(&profile).unwrap();
        assert!(text.starts_with("{\"schema_version\":1,"), "{text}");
        std::fs::write(&path, &text).unwrap();
        assert_eq!(read_drift_profile(&path).unwrap(), profile);

        std::fs::write(&path, r#"{"distributions":{}}"#).unwrap();
        assert_eq!(read_drift_profile(&path).unwrap().schema_version, 1);
        std::fs::write(&path, r#"{"schema_version":9,"distributions":{}}"#).unwrap();
        let err = read_drift_profile(&path).unwrap_err().to_string();
        assert!(
            err.contains("drift_profile.json") && err.contains("version 9"),
            "{err}"
        );
    }
}
