//! [`FuzzError`]: what stops a fuzzing or differential run itself (not a finding).

/// Why a run could not go on.
#[derive(Debug, thiserror::Error)]
pub enum FuzzError {
    /// `python3` (with `helm_python`) could not be started.
    #[error(
        "cannot start Helm's engine (python3 with helm_python): {source}; install it with `python3 -m pip install 'helm-python-sdk==0.2.2'`"
    )]
    HelmStart {
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The driver answered something it should not have, or died.
    #[error("Helm's engine driver failed: {0}")]
    HelmProtocol(String),
    /// Helm's engine died on one case (a fatal error inside libhelm; it was
    /// restarted): the case is skipped.
    #[error("Helm's engine died on this case (restarted)")]
    HelmCrashed,
    /// Helm's engine took longer than a minute on one case (it was restarted).
    #[error("Helm's engine did not answer within a minute (restarted)")]
    HelmTimeout,
    /// A case's chart could not be written.
    #[error("cannot write the case's chart into {path}: {source}")]
    Io {
        /// The folder.
        path: std::path::PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
}
