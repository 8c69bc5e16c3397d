//! The Todo app's names and paths: the one place xtask reads them from, so that the
//! library crates never know which app they serve.

use std::path::PathBuf;

/// The workspace root (the folder holding the root `Cargo.toml`).
pub fn root() -> PathBuf {
    let xtask_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    xtask_dir.parent().map(PathBuf::from).unwrap_or(xtask_dir)
}
