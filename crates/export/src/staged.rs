//! A run's output directory, staged beside its target and renamed into place whole, then
//! marked complete with `_SUCCESS` (docs/nightly.md).

use crate::ExportError;
use ringscope_ingest::atomic;
use std::path::{Path, PathBuf};

/// The marker a complete output directory gets last.
pub const SUCCESS: &str = "_SUCCESS";

/// An output directory being written: files go under [`StagedOutput::path`], and
/// [`StagedOutput::commit`] replaces the target with it. Dropped without a commit, the staged
/// files are deleted and the target is untouched.
pub struct StagedOutput {
    target: PathBuf,
    staged: tempfile::TempDir,
}

impl StagedOutput {
    /// A staging directory beside `target`.
    pub fn new(target: &Path) -> Result<Self, ExportError> {
        let staged = atomic::staging_dir(target).map_err(|source| ExportError::Io {
            path: target.to_path_buf(),
            source,
        })?;
        Ok(StagedOutput {
            target: target.to_path_buf(),
            staged,
        })
    }

    /// Where the outputs are written until the commit.
    pub fn path(&self) -> &Path {
        self.staged.path()
    }

    /// Renames the staged directory into place, replacing the target.
    pub fn commit(self) -> Result<PathBuf, ExportError> {
        let target = self.target;
        atomic::replace_dir(self.staged, &target).map_err(|source| ExportError::Io {
            path: target.clone(),
            source,
        })?;
        Ok(target)
    }
}

/// Marks a committed output directory complete.
pub fn mark_success(dir: &Path) -> Result<(), ExportError> {
    write_file(&dir.join(SUCCESS), b"")
}

/// Writes `bytes` to `path` atomically.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), ExportError> {
    atomic::write_file(path, bytes).map_err(|source| ExportError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes `value` to `path` as pretty JSON with a final newline, atomically.
pub fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<(), ExportError> {
    let text = serde_json::to_string_pretty(value).map_err(|e| ExportError::Encode {
        what: path.display().to_string(),
        message: e.to_string(),
    })?;
    write_file(path, (text + "\n").as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_uncommitted_output_leaves_the_target_as_it_was() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("out");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("old"), "old").unwrap();
        {
            let staged = StagedOutput::new(&target).unwrap();
            write_file(&staged.path().join("new"), b"new").unwrap();
        }
        assert!(target.join("old").is_file() && !target.join("new").exists());
        let staged = StagedOutput::new(&target).unwrap();
        write_json(&staged.path().join("new.json"), &[1, 2]).unwrap();
        let dir = staged.commit().unwrap();
        mark_success(&dir).unwrap();
        assert!(!target.join("old").exists());
        assert_eq!(
            std::fs::read_to_string(target.join("new.json")).unwrap(),
            "[\n  1,\n  2\n]\n"
        );
        assert!(target.join(SUCCESS).is_file());
        assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 1);
    }
}
