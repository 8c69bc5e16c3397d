//! The crate's one error type.

use deploykit_chart::ChartError;

/// What can go wrong in a release action.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The chart did not load or render (values, schema, templates).
    #[error(transparent)]
    Chart(#[from] ChartError),
    /// The cluster refused or failed (apply, wait, records, lease).
    #[error(transparent)]
    Cluster(#[from] deploykit_cluster::Error),
    /// Chart.yaml's `kubeVersion` excludes the cluster's version.
    #[error(
        "chart {chart} requires kubeVersion {required}, which is incompatible with Kubernetes {server}: use a cluster of a matching version, or for offline rendering set the Kubernetes version in the capabilities"
    )]
    IncompatibleKubeVersion {
        /// The chart's name.
        chart: String,
        /// Its `kubeVersion` range.
        required: String,
        /// The cluster's version.
        server: String,
    },
    /// The release name is not one Helm takes (it names the release's records and
    /// objects, so Kubernetes' naming rules apply).
    #[error(
        "invalid release name {release:?}: {reason}; use 1 to 53 lowercase letters, digits, '-' and '.', starting and ending with a letter or digit (Helm's rule)"
    )]
    InvalidReleaseName {
        /// The name as given.
        release: String,
        /// What breaks the rule.
        reason: &'static str,
    },
    /// An install of a release that exists.
    #[error(
        "release {release} already exists in namespace {namespace} (revision {revision}): upgrade it instead, or uninstall it first"
    )]
    AlreadyInstalled {
        /// The release.
        release: String,
        /// Its namespace.
        namespace: String,
        /// Its latest revision.
        revision: u32,
    },
    /// An upgrade of a release that does not exist.
    #[error(
        "release {release} is not installed in namespace {namespace}: install it first (or upgrade with `install` set)"
    )]
    NotInstalled {
        /// The release.
        release: String,
        /// Its namespace.
        namespace: String,
    },
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
