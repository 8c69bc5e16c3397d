//! `Rollback`, `Uninstall`, `Status`, `History` and `Diff`: Helm's other actions.

use std::time::Duration;

use deploykit_chart::{Chart, Map};
use deploykit_cluster::{
    CancellationToken, Cluster, DeployOutcome, ObjectDiff, Progress, Release, ReleaseStatus,
    Revision, RollbackOptions, TestOutcome, UninstallOptions, UninstallOutcome,
};

use crate::deploy::{
    DeployOptions, capabilities_of, check_kube_version, check_release_name, render_revision,
};
use crate::error::{Error, Result};

/// Rolls a release back to an earlier revision, as a new revision (Helm's `action.Rollback`).
#[derive(Debug, Clone)]
pub struct Rollback<'a> {
    cluster: &'a Cluster,
    /// Release name.
    pub release: String,
    /// Its namespace.
    pub namespace: String,
    /// The revision to restore (None: the one before the latest).
    pub revision: Option<u32>,
    /// How long to wait for readiness (default 5 minutes).
    pub timeout: Duration,
    /// Take over fields other field managers own (server-side apply `force`), as after
    /// a `helm upgrade` of the release (default false: such a conflict is an error naming
    /// the manager).
    pub force_conflicts: bool,
}

impl<'a> Rollback<'a> {
    /// A rollback of `release` in `namespace` to the revision before the latest.
    pub fn new(cluster: &'a Cluster, release: &str, namespace: &str) -> Rollback<'a> {
        Rollback {
            cluster,
            release: release.to_string(),
            namespace: namespace.to_string(),
            revision: None,
            timeout: Duration::from_secs(300),
            force_conflicts: false,
        }
    }

    /// Restores the revision and waits for it.
    pub async fn run(&self) -> Result<DeployOutcome> {
        self.run_with(&mut |_| {}, &CancellationToken::new()).await
    }

    /// As [`Rollback::run`], with progress events and cancellation.
    pub async fn run_with(
        &self,
        progress: &mut (dyn FnMut(Progress) + Send),
        cancel: &CancellationToken,
    ) -> Result<DeployOutcome> {
        check_release_name(&self.release)?;
        Ok(self
            .cluster
            .rollback(
                &self.release,
                &self.namespace,
                &RollbackOptions {
                    revision: self.revision,
                    timeout: self.timeout,
                    force_conflicts: self.force_conflicts,
                },
                progress,
                cancel,
            )
            .await?)
    }
}

/// Removes a release's objects and records (Helm's `action.Uninstall`).
#[derive(Debug, Clone)]
pub struct Uninstall<'a> {
    cluster: &'a Cluster,
    /// Release name.
    pub release: String,
    /// Its namespace.
    pub namespace: String,
    /// Keep the records, the latest marked `uninstalled` (`--keep-history`; default false:
    /// purged). A later [`Upgrade`](crate::Upgrade) installs the release as its next
    /// revision; uninstalling again without keeping the history purges them.
    pub keep_history: bool,
    /// Wait until the deleted objects are gone, their finalizers done (`--wait`; default
    /// false).
    pub wait: bool,
    /// How long each delete hook, and the wait, may take (default 5 minutes).
    pub timeout: Duration,
}

impl<'a> Uninstall<'a> {
    /// An uninstall of `release` in `namespace`, with Helm's defaults.
    pub fn new(cluster: &'a Cluster, release: &str, namespace: &str) -> Uninstall<'a> {
        let defaults = UninstallOptions::default();
        Uninstall {
            cluster,
            release: release.to_string(),
            namespace: namespace.to_string(),
            keep_history: defaults.keep_history,
            wait: defaults.wait,
            timeout: defaults.timeout,
        }
    }

    /// Deletes the objects (except those marked `helm.sh/resource-policy: keep`) and the
    /// records (or marks them uninstalled, with `keep_history`).
    pub async fn run(&self) -> Result<UninstallOutcome> {
        self.run_with(&mut |_| {}).await
    }

    /// As [`Uninstall::run`], with progress events.
    pub async fn run_with(
        &self,
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<UninstallOutcome> {
        check_release_name(&self.release)?;
        let options = UninstallOptions {
            keep_history: self.keep_history,
            wait: self.wait,
            timeout: self.timeout,
        };
        Ok(self
            .cluster
            .uninstall_with(&self.release, &self.namespace, &options, progress)
            .await?)
    }
}

/// A release's latest revision and its workloads' readiness (Helm's `action.Status`).
#[derive(Debug, Clone)]
pub struct Status<'a> {
    cluster: &'a Cluster,
    /// Release name.
    pub release: String,
    /// Its namespace.
    pub namespace: String,
}

impl<'a> Status<'a> {
    /// The status of `release` in `namespace`.
    pub fn new(cluster: &'a Cluster, release: &str, namespace: &str) -> Status<'a> {
        Status {
            cluster,
            release: release.to_string(),
            namespace: namespace.to_string(),
        }
    }

    /// Reads it.
    pub async fn run(&self) -> Result<ReleaseStatus> {
        check_release_name(&self.release)?;
        Ok(self.cluster.status(&self.release, &self.namespace).await?)
    }
}

/// A release's revisions, oldest first (Helm's `action.History`).
#[derive(Debug, Clone)]
pub struct History<'a> {
    cluster: &'a Cluster,
    /// Release name.
    pub release: String,
    /// Its namespace.
    pub namespace: String,
}

impl<'a> History<'a> {
    /// The history of `release` in `namespace`.
    pub fn new(cluster: &'a Cluster, release: &str, namespace: &str) -> History<'a> {
        History {
            cluster,
            release: release.to_string(),
            namespace: namespace.to_string(),
        }
    }

    /// Reads it (empty when the release does not exist).
    pub async fn run(&self) -> Result<Vec<Release>> {
        check_release_name(&self.release)?;
        Ok(self.cluster.history(&self.release, &self.namespace).await?)
    }
}

/// What an upgrade with a chart and values would change, object by object (reads only).
#[derive(Debug, Clone)]
pub struct Diff<'a> {
    cluster: &'a Cluster,
    /// The release and how it would be rendered (capabilities, namespace).
    pub options: DeployOptions,
}

impl<'a> Diff<'a> {
    /// A diff for `release` in `namespace`.
    pub fn new(cluster: &'a Cluster, release: &str, namespace: &str) -> Diff<'a> {
        Diff {
            cluster,
            options: DeployOptions::new(release, namespace),
        }
    }

    /// Renders `chart` as the next revision would be and compares it with the cluster.
    pub async fn run(&self, chart: &Chart, values: &Map) -> Result<Vec<ObjectDiff>> {
        let o = &self.options;
        let capabilities = capabilities_of(self.cluster, o).await?;
        check_kube_version(chart, &capabilities)?;
        let history = self.cluster.history(&o.release, &o.namespace).await?;
        let rendered = render_revision(chart, values, o, &capabilities, Revision::next(&history))
            .map_err(Error::Chart)?;
        Ok(self
            .cluster
            .diff_manifests(&o.release, &o.namespace, rendered.manifests)
            .await?)
    }
}

/// Runs a release's `helm.sh/hook: test` hooks and reads their logs (Helm's
/// `action.ReleaseTesting`).
#[derive(Debug, Clone)]
pub struct Test<'a> {
    cluster: &'a Cluster,
    /// Release name.
    pub release: String,
    /// Its namespace.
    pub namespace: String,
    /// How long each test may run (default 5 minutes).
    pub timeout: Duration,
}

impl<'a> Test<'a> {
    /// The tests of `release` in `namespace`.
    pub fn new(cluster: &'a Cluster, release: &str, namespace: &str) -> Test<'a> {
        Test {
            cluster,
            release: release.to_string(),
            namespace: namespace.to_string(),
            timeout: Duration::from_secs(300),
        }
    }

    /// Runs them; a failed test is in the outcome ([`TestOutcome::passed`]), not an error.
    pub async fn run(&self) -> Result<TestOutcome> {
        self.run_with(&mut |_| {}, &CancellationToken::new()).await
    }

    /// As [`Test::run`], with progress events and cancellation.
    pub async fn run_with(
        &self,
        progress: &mut (dyn FnMut(Progress) + Send),
        cancel: &CancellationToken,
    ) -> Result<TestOutcome> {
        Ok(self
            .cluster
            .test(
                &self.release,
                &self.namespace,
                self.timeout,
                progress,
                cancel,
            )
            .await?)
    }
}
