//! deploykit-release: Helm's action layer (`pkg/action`) over deploykit-chart (render)
//! and deploykit-cluster (apply, wait, records): install, upgrade, roll back, uninstall,
//! inspect and diff Helm-compatible releases from any Rust program.
//!
//! Each action is a small options struct with `run`: [`Install`], [`Upgrade`] (with
//! upgrade-or-install), [`Rollback`], [`Uninstall`], [`Status`], [`History`], [`Diff`],
//! [`Test`]. Hooks run as Helm runs them (pre/post install, upgrade, rollback, delete;
//! weights; delete policies; Jobs and Pods waited for, with a diagnosis on failure) and
//! are kept in the record.
//! Every decision of a release is taken here, once: the revision and install-or-upgrade
//! are decided under the release lease, the chart is rendered for that revision with the
//! cluster's `.Capabilities` (or given ones), `kubeVersion` is checked, and the record
//! keeps what Helm keeps (the manifest with its `# Source:` lines, the chart's metadata,
//! templates, files, schema and values, the user's values, NOTES), so `helm get`,
//! `helm history` and `helm rollback` read it as their own.
//!
//! The types its calls take and return are re-exported (and the two crates whole, as
//! [`chart`] and [`cluster`]), so a program can depend on deploykit-release alone:
//!
//! ```no_run
//! use deploykit_release::{Chart, ConnectOptions, SetKind, Upgrade, ValueSources, connect};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let cluster = connect(ConnectOptions::default()).await?;
//! let chart = Chart::load("charts/podinfo")?;
//! let values = ValueSources::default().set(SetKind::Typed, "replicaCount=2").merge()?;
//! let deployed = Upgrade::new(&cluster, "podinfo", "demo").run(&chart, &values).await?;
//! println!("revision {}\n{}", deployed.outcome.revision, deployed.notes);
//! # Ok(()) }
//! ```

mod deploy;
mod error;
mod ops;

pub use deploy::{DeployOptions, Deployed, Install, Upgrade};
pub use error::{Error, Result};
pub use ops::{Diff, History, Rollback, Status, Test, Uninstall};

pub use deploykit_chart as chart;
pub use deploykit_chart::{Capabilities, Chart, ChartError, Map, SetKind, ValueSources};
pub use deploykit_cluster as cluster;
/// A revision's state in its record (`deployed`, `superseded`, `failed`, `pending-*`...):
/// deploykit-cluster's `Status`, renamed here beside the [`Status`] action.
pub use deploykit_cluster::Status as RevisionStatus;
pub use deploykit_cluster::{
    CancellationToken, Cluster, ClusterOptions, ConnectOptions, DeployOutcome, Diagnosis,
    ObjectDiff, Progress, Release, ReleaseStatus, TestOutcome, UninstallOutcome, connect,
};
