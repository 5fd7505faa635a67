//! Atomic output helpers shared by every crate that writes files.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` atomically: a temporary file in the same directory is renamed into
/// place, so readers see the old file or the whole new one, never part of it.
pub fn write_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    io::Write::write_all(tmp.as_file_mut(), bytes)?;
    // NamedTempFile is created 0600; outputs are meant to be read by others.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(fs::Permissions::from_mode(0o644))?;
    }
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// A temporary directory beside `dir`, to be filled and then passed to [`replace_dir`].
pub fn staging_dir(dir: &Path) -> io::Result<tempfile::TempDir> {
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(parent)?;
    tempfile::Builder::new()
        .prefix(".staging-")
        .tempdir_in(parent)
}

/// Moves the fully written `staged` directory to `dir`, replacing what was there.
///
/// Readers see the old directory or the new one, never a mix: the old one is first renamed
/// aside to `<dir>.old-<pid>` (where a crash between the two renames leaves it intact), then
/// the staged one renamed into place, then the old one deleted.
pub fn replace_dir(staged: tempfile::TempDir, dir: &Path) -> io::Result<()> {
    let staged: PathBuf = staged.keep();
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("output");
    let old = dir.with_file_name(format!("{name}.old-{}", std::process::id()));
    let had_old = dir.exists();
    if had_old {
        fs::rename(dir, &old)?;
    }
    if let Err(e) = fs::rename(&staged, dir) {
        if had_old {
            let _ = fs::rename(&old, dir); // put the previous output back
        }
        return Err(e);
    }
    if had_old {
        fs::remove_dir_all(&old)?;
    }
    Ok(())
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
}
