//! Durable, atomic output helpers shared by every crate that writes files.
//!
//! Durable means fsynced: a file's bytes before its rename, and the directory holding it after
//! the rename, so a power loss after a commit cannot leave short or empty files under a
//! completion marker. Atomic means renamed into place whole: readers see the old file or
//! directory or the new one, never part of it.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The directory `path` is in (`.` for a bare name).
fn parent_of(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// The last component of `dir`, which names its staging and lock files.
fn name_of(dir: &Path) -> &str {
    dir.file_name().and_then(|n| n.to_str()).unwrap_or("output")
}

/// Flushes a directory's entries (new names, renames, removals) to disk.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    fs::File::open(dir)?.sync_all()?;
    // Windows cannot open a directory as a file; its renames are flushed with the volume.
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Flushes every file under `dir`, then every directory bottom-up, `dir` last.
fn sync_tree(dir: &Path) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            sync_tree(&entry.path())?;
        } else {
            fs::File::open(entry.path())?.sync_all()?;
        }
    }
    sync_dir(dir)
}

/// Writes `bytes` to `path` atomically and durably: a temporary file in the same directory is
/// written and fsynced, renamed into place, and the directory fsynced.
pub fn write_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = parent_of(path);
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    io::Write::write_all(tmp.as_file_mut(), bytes)?;
    // NamedTempFile is created 0600; outputs are meant to be read by others.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(fs::Permissions::from_mode(0o644))?;
    }
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    sync_dir(dir)
}

/// The prefix of `dir`'s staging directories: they are named after their target, so the stale
/// ones of one target can be found and removed without touching another's.
fn staging_prefix(dir: &Path) -> String {
    format!(".staging-{}-", name_of(dir))
}

/// The prefix of the name `dir` is moved aside to while it is replaced.
fn aside_prefix(dir: &Path) -> String {
    format!("{}.old-", name_of(dir))
}

/// A temporary directory beside `dir`, to be filled and then passed to [`replace_dir`].
pub fn staging_dir(dir: &Path) -> io::Result<tempfile::TempDir> {
    let parent = parent_of(dir);
    fs::create_dir_all(parent)?;
    tempfile::Builder::new()
        .prefix(&staging_prefix(dir))
        .tempdir_in(parent)
}

/// Moves the fully written `staged` directory to `dir`, replacing what was there, durably.
///
/// Every staged file and directory is fsynced first. Readers then see the old directory or the
/// new one, never a mix: the old one is renamed aside to `<dir>.old-<pid>` (a crash between the
/// two renames leaves it whole there, and [`recover`] puts it back), then the staged one renamed
/// into place, the parent fsynced, and the old one deleted.
pub fn replace_dir(staged: tempfile::TempDir, dir: &Path) -> io::Result<()> {
    sync_tree(staged.path())?;
    let staged: PathBuf = staged.keep();
    let parent = parent_of(dir);
    let old = parent.join(format!("{}{}", aside_prefix(dir), std::process::id()));
    let had_old = dir.exists();
    if had_old {
        fs::rename(dir, &old)?;
    }
    if let Err(e) = fs::rename(&staged, dir) {
        if had_old {
            let _ = fs::rename(&old, dir); // put the previous output back
        }
        let _ = fs::remove_dir_all(&staged);
        return Err(e);
    }
    sync_dir(parent)?;
    if had_old {
        fs::remove_dir_all(&old)?;
    }
    Ok(())
}

/// An exclusive lock on an output directory, held until dropped (or the process dies: the
/// kernel releases it, so a killed run never leaves a lock behind).
#[derive(Debug)]
pub struct DirLock {
    _file: fs::File,
    path: PathBuf,
}

impl DirLock {
    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Takes the exclusive lock on `dir`, the file `.<name>.lock` beside it, without waiting. When
/// another process holds it the error is [`io::ErrorKind::WouldBlock`] and says which file.
///
/// The lock file is left in place: deleting it would let a second process lock a new file of
/// the same name while a third still holds the old one.
pub fn lock_dir(dir: &Path) -> io::Result<DirLock> {
    let parent = parent_of(dir);
    fs::create_dir_all(parent)?;
    let path = parent.join(format!(".{}.lock", name_of(dir)));
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)?;
    match file.try_lock() {
        Ok(()) => Ok(DirLock { _file: file, path }),
        Err(fs::TryLockError::WouldBlock) => Err(io::Error::new(
            io::ErrorKind::WouldBlock,
            format!(
                "another process is writing {} (it holds {})",
                dir.display(),
                path.display()
            ),
        )),
        Err(fs::TryLockError::Error(e)) => Err(e),
    }
}

/// What [`recover`] found and did.
#[derive(Debug, Default, PartialEq)]
pub struct Recovered {
    /// Staging directories of killed writers, deleted.
    pub removed_staging: Vec<PathBuf>,
    /// Previous outputs left aside by a writer killed mid-replace: deleted when the new output
    /// made it into place, else renamed back.
    pub removed_aside: Vec<PathBuf>,
    /// The previous output put back, if `dir` was missing.
    pub restored: Option<PathBuf>,
}

/// Cleans up after writers of `dir` that were killed: their staging directories, and the
/// previous output a replace had moved aside. Call it only while holding [`lock_dir`]'s lock,
/// so no live writer's files are touched.
pub fn recover(dir: &Path, _lock: &DirLock) -> io::Result<Recovered> {
    let parent = parent_of(dir);
    let mut found = Recovered::default();
    if !parent.is_dir() {
        return Ok(found);
    }
    let (staging, aside) = (staging_prefix(dir), aside_prefix(dir));
    let mut asides = Vec::new();
    for entry in fs::read_dir(parent)? {
        let entry = entry?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        if !entry.file_type()?.is_dir() {
            continue;
        }
        if name.starts_with(&staging) {
            fs::remove_dir_all(entry.path())?;
            found.removed_staging.push(entry.path());
        } else if name
            .strip_prefix(&aside)
            .is_some_and(|pid| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()))
        {
            asides.push(entry.path());
        }
    }
    asides.sort();
    if !dir.exists()
        && let Some(previous) = asides.pop()
    {
        fs::rename(&previous, dir)?;
        found.restored = Some(previous);
    }
    for old in asides {
        fs::remove_dir_all(&old)?;
        found.removed_aside.push(old);
    }
    if found != Recovered::default() {
        sync_dir(parent)?;
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replacing_swaps_whole_directories() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("out");
        fs::create_dir(&dir).unwrap();
        fs::write(dir.join("old.txt"), "old").unwrap();
        let staged = staging_dir(&dir).unwrap();
        fs::write(staged.path().join("new.txt"), "new").unwrap();
        replace_dir(staged, &dir).unwrap();
        assert!(!dir.join("old.txt").exists());
        assert_eq!(fs::read_to_string(dir.join("new.txt")).unwrap(), "new");
        let leftovers: Vec<_> = fs::read_dir(root.path()).unwrap().collect();
        assert_eq!(
            leftovers.len(),
            1,
            "no staging or .old directory is left behind"
        );
    }

    #[test]
    fn a_held_lock_refuses_a_second_writer_until_released() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("dt=1");
        let held = lock_dir(&dir).unwrap();
        let err = lock_dir(&dir).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        assert!(err.to_string().contains("dt=1"), "{err}");
        drop(held);
        lock_dir(&dir).expect("free again once the holder is gone");
    }

    #[test]
    fn recovery_removes_stale_staging_and_puts_back_an_output_moved_aside() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("out");
        let other = root.path().join("other");
        // A writer killed while staging, and one killed between its two renames.
        let stale = staging_dir(&dir).unwrap().keep();
        let others = staging_dir(&other).unwrap().keep();
        let aside = root.path().join("out.old-4242");
        fs::create_dir(&aside).unwrap();
        fs::write(aside.join("_SUCCESS"), "").unwrap();
        let lock = lock_dir(&dir).unwrap();
        let found = recover(&dir, &lock).unwrap();
        assert_eq!(found.removed_staging, vec![stale.clone()]);
        assert_eq!(found.restored, Some(aside.clone()));
        assert!(!stale.exists() && !aside.exists());
        assert!(
            dir.join("_SUCCESS").is_file(),
            "the previous output is back"
        );
        assert!(others.is_dir(), "another target's staging is not touched");
        // With the output in place, a leftover aside copy is the stale one.
        fs::create_dir(&aside).unwrap();
        let found = recover(&dir, &lock).unwrap();
        assert_eq!(
            (found.removed_aside, found.restored),
            (vec![aside.clone()], None)
        );
        assert!(dir.join("_SUCCESS").is_file() && !aside.exists());
    }
}
