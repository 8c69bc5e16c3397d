//! Asking git whether it tracks a file.

use std::path::Path;
use std::process::{Command, Stdio};

/// Whether git tracks `path` (`git ls-files --error-unmatch`).
///
/// `false` when git is not installed or the file is outside any repository: there is
/// nothing to commit it to then.
pub fn is_tracked_by_git(path: &Path) -> bool {
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let Some(name) = path.file_name() else {
        return false;
    };
    if !folder.is_dir() {
        return false;
    }
    Command::new("git")
        .arg("-C")
        .arg(folder)
        .args(["ls-files", "--error-unmatch", "--"])
        .arg(name)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}
