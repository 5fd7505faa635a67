//! The shipped sample (`graphs/sample`) and model (`checkpoints/default`), compiled into the
//! binary so that `ringscope run` works from any directory and after `cargo install`.
//!
//! Where the default paths exist relative to the working directory (a checkout's root), they are
//! used as they are. Elsewhere the embedded files are checked against the checkpoint manifest's
//! hashes and written once to a content-addressed folder in the user's cache
//! (`$RINGSCOPE_CACHE_DIR`, else `$XDG_CACHE_HOME/ringscope`, else `~/.cache/ringscope`, else
//! the temporary directory), whose files are verified on every use.

use crate::error::{Error, Result};
use ringscope_score::checkpoint;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The config's default input: the embedded sample.
pub const DEFAULT_INPUT: &str = "graphs/sample";
/// The config's default checkpoint: the embedded model.
pub const DEFAULT_CHECKPOINT: &str = "checkpoints/default";

/// One embedded file: its name in the folder and its bytes.
type File = (&'static str, &'static [u8]);

macro_rules! embed {
    ($dir:literal: $($name:literal),+ $(,)?) => {
        &[$(($name, include_bytes!(concat!("../../../", $dir, "/", $name)))),+]
    };
}

/// `graphs/sample`, every file (the ground truth too: ingest skips files starting with `_`).
pub const SAMPLE: &[File] = embed!("graphs/sample":
    "_rings.json", "accounts.csv", "labels.csv", "orders.csv", "products.csv", "reviews.csv",
    "sessions.csv");
/// `checkpoints/default`, every file.
pub const CHECKPOINT: &[File] =
    embed!("checkpoints/default": "manifest.json", "model.bpk", "optimizer.bpk");

/// `path` as given where it exists, else the embedded copy for the two default paths, else
/// `path` (whose absence the stage reading it reports).
pub fn resolve(path: &Path) -> Result<PathBuf> {
    if path.exists() || path.is_absolute() {
        return Ok(path.to_path_buf());
    }
    if path == Path::new(DEFAULT_INPUT) {
        return Ok(materialised()?.join(DEFAULT_INPUT));
    }
    if path == Path::new(DEFAULT_CHECKPOINT) {
        return Ok(materialised()?.join(DEFAULT_CHECKPOINT));
    }
    Ok(path.to_path_buf())
}

/// Checks each embedded model file against the size and SHA-256 its manifest records, with
/// the check that loading a checkpoint makes.
pub fn verify_checkpoint() -> Result<()> {
    let dir = Path::new(DEFAULT_CHECKPOINT);
    let corrupt = |e: ringscope_gnn::GnnError| Error::Embedded(e.to_string());
    let text = CHECKPOINT
        .iter()
        .find(|(name, _)| *name == checkpoint::MANIFEST)
        .and_then(|(_, bytes)| std::str::from_utf8(bytes).ok())
        .ok_or_else(|| Error::Embedded(format!("{DEFAULT_CHECKPOINT}: no manifest.json text")))?;
    let manifest =
        checkpoint::parse_manifest(&dir.join(checkpoint::MANIFEST), text).map_err(corrupt)?;
    for (name, bytes) in CHECKPOINT
        .iter()
        .filter(|(n, _)| *n != checkpoint::MANIFEST)
    {
        let digest = manifest.file_digest(name).ok_or_else(|| {
            Error::Embedded(format!(
                "{DEFAULT_CHECKPOINT}/{name}: the manifest vouches for no such file"
            ))
        })?;
        checkpoint::vouch(&dir.join(name), bytes, &digest).map_err(corrupt)?;
    }
    Ok(())
}

/// The folder holding `graphs/sample` and `checkpoints/default`, written on first use.
fn materialised() -> Result<PathBuf> {
    static ROOT: OnceLock<std::result::Result<PathBuf, String>> = OnceLock::new();
    ROOT.get_or_init(|| materialise().map_err(|e| e.to_string()))
        .clone()
        .map_err(Error::Embedded)
}

fn cache_roots() -> Vec<PathBuf> {
    let env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    let mut roots = Vec::new();
    if let Some(dir) = env("RINGSCOPE_CACHE_DIR") {
        roots.push(PathBuf::from(dir));
    }
    if let Some(dir) = env("XDG_CACHE_HOME") {
        roots.push(Path::new(&dir).join("ringscope"));
    }
    if let Some(home) = env("HOME") {
        roots.push(Path::new(&home).join(".cache/ringscope"));
    }
    roots.push(std::env::temp_dir().join("ringscope"));
    roots
}

fn materialise() -> Result<PathBuf> {
    verify_checkpoint()?;
    let sets = [(DEFAULT_INPUT, SAMPLE), (DEFAULT_CHECKPOINT, CHECKPOINT)];
    let mut digest = String::new();
    for (dir, files) in sets {
        for (name, bytes) in files {
            digest.push_str(&format!(
                "{dir}/{name} {}\n",
                ringscope_export::sha256_hex(bytes)
            ));
        }
    }
    let folder = format!(
        "embedded-{}",
        &ringscope_export::sha256_hex(digest.as_bytes())[..16]
    );
    let mut last = None;
    for root in cache_roots() {
        let target = root.join(&folder);
        match write_verified(&target, &sets) {
            Ok(()) => return Ok(target),
            Err(e) => last = Some(e),
        }
    }
    Err(Error::Embedded(format!(
        "no cache folder could hold the embedded sample and checkpoint: {}",
        last.map_or_else(String::new, |e| e.to_string())
    )))
}

/// Whether every file of `sets` is under `target` with the embedded bytes.
fn holds(target: &Path, sets: &[(&str, &[File])]) -> bool {
    sets.iter().all(|(dir, files)| {
        files.iter().all(|(name, bytes)| {
            std::fs::read(target.join(dir).join(name)).is_ok_and(|on_disk| on_disk == *bytes)
        })
    })
}

/// Makes `target` hold `sets`: kept if it already does, else written beside it and renamed
/// into place, so a concurrent run never sees part of it.
fn write_verified(target: &Path, sets: &[(&str, &[File])]) -> std::io::Result<()> {
    if holds(target, sets) {
        return Ok(());
    }
    let parent = target.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)?;
    let staged = tempfile::Builder::new()
        .prefix(".staging-")
        .tempdir_in(parent)?;
    for (dir, files) in sets {
        let dir = staged.path().join(dir);
        std::fs::create_dir_all(&dir)?;
        for (name, bytes) in *files {
            std::fs::write(dir.join(name), bytes)?;
        }
    }
    if target.exists() {
        // Damaged or partly deleted: replaced whole.
        std::fs::remove_dir_all(target)?;
    }
    match std::fs::rename(staged.path(), target) {
        Ok(()) => Ok(()),
        // Another process put a complete copy there first.
        Err(_) if holds(target, sets) => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names_on_disk(dir: &str) -> Vec<String> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(dir);
        let mut names: Vec<String> = std::fs::read_dir(root)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn every_shipped_file_is_embedded_and_the_model_matches_its_manifest() {
        for (dir, files) in [(DEFAULT_INPUT, SAMPLE), (DEFAULT_CHECKPOINT, CHECKPOINT)] {
            let embedded: Vec<&str> = files.iter().map(|f| f.0).collect();
            assert_eq!(names_on_disk(dir), embedded, "{dir}");
        }
        verify_checkpoint().unwrap();
    }

    #[test]
    fn a_damaged_cache_copy_is_rewritten_and_a_good_one_kept() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("embedded");
        let sets = [(DEFAULT_CHECKPOINT, CHECKPOINT)];
        write_verified(&target, &sets).unwrap();
        assert!(holds(&target, &sets));
        let model = target.join(DEFAULT_CHECKPOINT).join("model.bpk");
        std::fs::write(&model, b"truncated").unwrap();
        assert!(!holds(&target, &sets));
        write_verified(&target, &sets).unwrap();
        assert_eq!(std::fs::read(&model).unwrap(), CHECKPOINT[1].1);
        let modified = std::fs::metadata(&model).unwrap().modified().unwrap();
        write_verified(&target, &sets).unwrap();
        assert_eq!(
            std::fs::metadata(&model).unwrap().modified().unwrap(),
            modified,
            "a good copy is not rewritten"
        );
        assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 1);
    }
}
