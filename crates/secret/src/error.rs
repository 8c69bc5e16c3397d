//! The crate's one error type. No variant carries a secret value: only paths, keys and
//! line numbers.

use std::path::PathBuf;

/// What went wrong, on which file or key, and what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The `.env` file exists but cannot be read.
    #[error("cannot read {path} (check that it is a readable file)")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A line of the `.env` file is not `KEY=value`. The line itself is not shown: it may
    /// hold a secret.
    #[error(
        "{path}, line {line}: not a KEY=value line; fix or remove it (quote values that contain spaces or #)"
    )]
    Parse {
        /// The file.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
    },
    /// A required key is absent or empty.
    #[error("{key} is missing or empty: set it in {path} ({hint})")]
    MissingKey {
        /// The key.
        key: String,
        /// The file where it should be set.
        path: PathBuf,
        /// What the key is for and how to get a value.
        hint: String,
    },
    /// The target file is tracked by git: writing a secret there would commit it.
    #[error(
        "refusing to write secrets into {path}: git tracks this file; untrack it with `git rm --cached {path}` and list it in .gitignore"
    )]
    TrackedByGit {
        /// The file.
        path: PathBuf,
    },
    /// The file cannot be written.
    #[error("cannot write {path} (check the folder exists and is writable)")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The operating system's random number generator failed.
    #[error("cannot generate {key}: the operating system's random generator failed")]
    Random {
        /// The key being generated.
        key: String,
        /// Why.
        #[source]
        source: rand::Error,
    },
}
