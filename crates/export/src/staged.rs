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
///
/// It holds the target's exclusive lock from creation until the committed output is dropped, so
/// two writers of one partition never interleave: the second fails at once with
/// [`ExportError::Locked`]. Under the lock, what killed writers left (staging directories, a
/// previous output moved aside) is cleaned up first.
pub struct StagedOutput {
    target: PathBuf,
    staged: tempfile::TempDir,
    lock: atomic::DirLock,
}

/// A committed output directory, still locked until dropped.
pub struct Committed {
    /// The output directory.
    pub dir: PathBuf,
    _lock: atomic::DirLock,
}

impl StagedOutput {
    /// Locks `target`, cleans up after killed writers, and makes a staging directory beside it.
    pub fn new(target: &Path) -> Result<Self, ExportError> {
        Self::locked_by(target, target)
    }

    /// As [`StagedOutput::new`], under the lock of `owner`, a directory that holds `target`:
    /// a run's report is rebuilt under the run's lock, so it never races a rerun.
    pub fn locked_by(target: &Path, owner: &Path) -> Result<Self, ExportError> {
        let io = |source: std::io::Error| ExportError::Io {
            path: target.to_path_buf(),
            source,
        };
        let lock = atomic::lock_dir(owner).map_err(|source| {
            if source.kind() == std::io::ErrorKind::WouldBlock {
                ExportError::Locked {
                    path: owner.to_path_buf(),
                    lock: source.to_string(),
                }
            } else {
                ExportError::Io {
                    path: owner.to_path_buf(),
                    source,
                }
            }
        })?;
        let recovered = atomic::recover(target, &lock).map_err(io)?;
        for stale in &recovered.removed_staging {
            tracing::warn!(path = %stale.display(), "removed a killed writer's staging directory");
        }
        if let Some(previous) = &recovered.restored {
            tracing::warn!(from = %previous.display(), to = %target.display(), "put back the previous output a killed writer had moved aside");
        }
        let staged = atomic::staging_dir(target).map_err(io)?;
        Ok(StagedOutput {
            target: target.to_path_buf(),
            staged,
            lock,
        })
    }

    /// Where the outputs are written until the commit.
    pub fn path(&self) -> &Path {
        self.staged.path()
    }

    /// Renames the staged directory into place, replacing the target, durably.
    pub fn commit(self) -> Result<Committed, ExportError> {
        let target = self.target;
        atomic::replace_dir(self.staged, &target).map_err(|source| ExportError::Io {
            path: target.clone(),
            source,
        })?;
        Ok(Committed {
            dir: target,
            _lock: self.lock,
        })
    }
}

impl Committed {
    /// Marks the output complete with an empty, fsynced `_SUCCESS`.
    pub fn mark_success(&self) -> Result<(), ExportError> {
        mark_success(&self.dir)
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
        let done = staged.commit().unwrap();
        done.mark_success().unwrap();
        drop(done);
        assert!(!target.join("old").exists());
        assert_eq!(
            std::fs::read_to_string(target.join("new.json")).unwrap(),
            "[\n  1,\n  2\n]\n"
        );
        assert!(target.join(SUCCESS).is_file());
        let left: Vec<String> = std::fs::read_dir(root.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(left.len(), 2, "the output and its lock file: {left:?}");
        assert!(left.contains(&".out.lock".to_string()));
    }

    #[test]
    fn a_second_writer_of_one_target_is_refused_while_the_first_holds_it() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("dt=2026-11-01");
        let first = StagedOutput::new(&target).unwrap();
        let err = StagedOutput::new(&target).err().expect("locked");
        assert!(matches!(err, ExportError::Locked { .. }), "{err}");
        assert!(err.to_string().contains("dt=2026-11-01"), "{err}");
        let done = first.commit().unwrap();
        assert!(
            StagedOutput::new(&target).is_err(),
            "held until the commit is dropped"
        );
        drop(done);
        StagedOutput::new(&target).expect("free once the first writer is done");
    }
}
