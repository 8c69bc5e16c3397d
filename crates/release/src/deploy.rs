//! `Install` and `Upgrade` (with upgrade-or-install): Helm's `action.Install` and
//! `action.Upgrade` over deploykit-chart and deploykit-cluster.

use std::sync::Mutex;
use std::time::Duration;

use deploykit_chart::manifest::{Manifest, sort_manifests};
use deploykit_chart::objects::KubeVersion;
use deploykit_chart::{Capabilities, Chart, ChartError, Map, ReleaseOptions, render_for};
use deploykit_cluster::{
    CancellationToken, Cluster, DeployOutcome, Progress, ReleaseRequest, Revision, RevisionContent,
};

use crate::error::{Error, Result};

/// What an install or upgrade did.
#[derive(Debug, Clone, PartialEq)]
pub struct Deployed {
    /// The revision now deployed, and what the apply did.
    pub outcome: DeployOutcome,
    /// The rendered NOTES.txt of the chart (empty when it has none).
    pub notes: String,
    /// The chart's hooks as rendered (recorded; those of the install or upgrade run).
    pub hooks: Vec<Manifest>,
}

/// Options shared by [`Install`] and [`Upgrade`], with Helm's defaults.
#[derive(Debug, Clone)]
pub struct DeployOptions {
    /// Release name.
    pub release: String,
    /// Namespace of the release and its records.
    pub namespace: String,
    /// Create the namespace when missing (`--create-namespace`; default true).
    pub create_namespace: bool,
    /// Roll back (or remove a first install) when the wait fails (`--atomic`).
    pub atomic: bool,
    /// Wait for readiness (default true).
    pub wait: bool,
    /// How long to wait (default 5 minutes, Helm's).
    pub timeout: Duration,
    /// Take over fields other field managers own (server-side apply `force`).
    pub force_conflicts: bool,
    /// How long to wait for another client's operation on the release (default: none).
    pub lock_wait: Duration,
    /// What templates see as `.Capabilities`; None reads the cluster's version and API
    /// groups (set it to render for another cluster than the one answering).
    pub capabilities: Option<Capabilities>,
}

impl DeployOptions {
    /// Defaults for `release` in `namespace`.
    pub fn new(release: &str, namespace: &str) -> DeployOptions {
        DeployOptions {
            release: release.to_string(),
            namespace: namespace.to_string(),
            create_namespace: true,
            atomic: false,
            wait: true,
            timeout: Duration::from_secs(300),
            force_conflicts: false,
            lock_wait: Duration::ZERO,
            capabilities: None,
        }
    }
}

/// Installs a release that does not exist yet (Helm's `action.Install`).
#[derive(Debug, Clone)]
pub struct Install<'a> {
    cluster: &'a Cluster,
    /// The options.
    pub options: DeployOptions,
}

impl<'a> Install<'a> {
    /// An install of `release` in `namespace` with Helm's defaults.
    pub fn new(cluster: &'a Cluster, release: &str, namespace: &str) -> Install<'a> {
        Install {
            cluster,
            options: DeployOptions::new(release, namespace),
        }
    }

    /// Renders `chart` with the user's `values` and installs it.
    pub async fn run(&self, chart: &Chart, values: &Map) -> Result<Deployed> {
        self.run_with(chart, values, &mut |_| {}, &CancellationToken::new())
            .await
    }

    /// As [`Install::run`], with progress events and cancellation (Ctrl-C).
    pub async fn run_with(
        &self,
        chart: &Chart,
        values: &Map,
        progress: &mut (dyn FnMut(Progress) + Send),
        cancel: &CancellationToken,
    ) -> Result<Deployed> {
        let o = &self.options;
        check_release_name(&o.release)?;
        let history = self.cluster.history(&o.release, &o.namespace).await?;
        if let Some(latest) = history.last() {
            return Err(Error::AlreadyInstalled {
                release: o.release.clone(),
                namespace: o.namespace.clone(),
                revision: latest.version,
            });
        }
        deploy(self.cluster, o, chart, values, progress, cancel).await
    }
}

/// Upgrades a release (Helm's `action.Upgrade`); with `install`, installs it when it does
/// not exist (`helm upgrade --install`).
#[derive(Debug, Clone)]
pub struct Upgrade<'a> {
    cluster: &'a Cluster,
    /// The options.
    pub options: DeployOptions,
    /// Install the release when it does not exist (default true).
    pub install: bool,
}

impl<'a> Upgrade<'a> {
    /// An upgrade-or-install of `release` in `namespace` with Helm's defaults.
    pub fn new(cluster: &'a Cluster, release: &str, namespace: &str) -> Upgrade<'a> {
        Upgrade {
            cluster,
            options: DeployOptions::new(release, namespace),
            install: true,
        }
    }

    /// Renders `chart` with the user's `values` and deploys it.
    pub async fn run(&self, chart: &Chart, values: &Map) -> Result<Deployed> {
        self.run_with(chart, values, &mut |_| {}, &CancellationToken::new())
            .await
    }

    /// As [`Upgrade::run`], with progress events and cancellation (Ctrl-C).
    pub async fn run_with(
        &self,
        chart: &Chart,
        values: &Map,
        progress: &mut (dyn FnMut(Progress) + Send),
        cancel: &CancellationToken,
    ) -> Result<Deployed> {
        let o = &self.options;
        check_release_name(&o.release)?;
        if !self.install {
            let history = self.cluster.history(&o.release, &o.namespace).await?;
            if history.is_empty() {
                return Err(Error::NotInstalled {
                    release: o.release.clone(),
                    namespace: o.namespace.clone(),
                });
            }
        }
        deploy(self.cluster, o, chart, values, progress, cancel).await
    }
}

/// The capabilities templates see: the options' own, or the cluster's.
pub(crate) async fn capabilities_of(
    cluster: &Cluster,
    options: &DeployOptions,
) -> Result<Capabilities> {
    if let Some(capabilities) = &options.capabilities {
        return Ok(capabilities.clone());
    }
    let version = cluster.server_version().await?;
    let mut capabilities = Capabilities::default();
    if let Some(kube_version) = KubeVersion::parse(&version) {
        capabilities.kube_version = kube_version;
    }
    capabilities.api_versions = cluster.api_versions().await?;
    Ok(capabilities)
}

/// Helm's longest release name: the record Secret's name adds `sh.helm.release.v1.` and
/// `.vN` to it, and object names derived from it must stay within 63 characters.
const MAX_RELEASE_NAME: usize = 53;

/// Refuses a release name Helm refuses (`chartutil.ValidateReleaseName`: a DNS-1123
/// subdomain of at most 53 characters), before any request names it.
pub(crate) fn check_release_name(release: &str) -> Result<()> {
    let label_ok = |label: &str| {
        let edge =
            |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        edge(label.chars().next())
            && edge(label.chars().last())
            && label
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    };
    let reason = if release.is_empty() {
        "it is empty"
    } else if release.len() > MAX_RELEASE_NAME {
        "it is longer than 53 characters"
    } else if !release.split('.').all(label_ok) {
        "it is not a lowercase DNS name"
    } else {
        return Ok(());
    };
    Err(Error::InvalidReleaseName {
        release: release.to_string(),
        reason,
    })
}

/// Refuses a chart whose `kubeVersion` excludes the cluster, as Helm does.
pub(crate) fn check_kube_version(chart: &Chart, capabilities: &Capabilities) -> Result<()> {
    let required = &chart.metadata.kube_version;
    let server = &capabilities.kube_version.version;
    if !required.is_empty() && !deploykit_chart::semver::is_compatible_range(required, server) {
        return Err(Error::IncompatibleKubeVersion {
            chart: chart.metadata.name.clone(),
            required: required.clone(),
            server: server.clone(),
        });
    }
    Ok(())
}

/// One rendered revision, as Helm's `renderResources` makes it.
pub(crate) struct RenderedRevision {
    pub manifests: Vec<Manifest>,
    pub hooks: Vec<Manifest>,
    pub notes: String,
}

/// Renders `chart` for `revision`: plain resources and hooks sorted, the chart's own
/// NOTES.txt (not its subcharts').
pub(crate) fn render_revision(
    chart: &Chart,
    values: &Map,
    options: &DeployOptions,
    capabilities: &Capabilities,
    revision: Revision,
) -> Result<RenderedRevision, ChartError> {
    let release = ReleaseOptions {
        name: options.release.clone(),
        namespace: options.namespace.clone(),
        revision: i64::from(revision.number),
        is_install: revision.is_install,
        is_upgrade: !revision.is_install,
    };
    let rendered = render_for(
        chart.clone(),
        values.clone(),
        &release,
        capabilities.clone(),
    )?;
    let notes_path = format!("{}/templates/NOTES.txt", chart.name());
    let notes = rendered.get(&notes_path).cloned().unwrap_or_default();
    let sorted = sort_manifests(&rendered)?;
    Ok(RenderedRevision {
        manifests: sorted.manifests,
        hooks: sorted.hooks,
        notes,
    })
}

/// The request for `chart` and `values`: Helm's record of the chart and the user's values.
pub(crate) fn request_for(
    options: &DeployOptions,
    chart: &Chart,
    values: &Map,
) -> Result<ReleaseRequest> {
    let record = deploykit_cluster::Chart::from_loaded(chart)?;
    let mut request = ReleaseRequest::new(&options.release, &options.namespace, record, Vec::new());
    request.values = deploykit_chart::value::map_to_json(values);
    request.create_namespace = options.create_namespace;
    request.atomic = options.atomic;
    request.wait = options.wait;
    request.timeout = options.timeout;
    request.force_conflicts = options.force_conflicts;
    request.lock_wait = options.lock_wait;
    Ok(request)
}

async fn deploy(
    cluster: &Cluster,
    options: &DeployOptions,
    chart: &Chart,
    values: &Map,
    progress: &mut (dyn FnMut(Progress) + Send),
    cancel: &CancellationToken,
) -> Result<Deployed> {
    let capabilities = capabilities_of(cluster, options).await?;
    check_kube_version(chart, &capabilities)?;
    let request = request_for(options, chart, values)?;
    // The cluster decides the revision under the release lease and asks for the render;
    // a chart error is kept here, typed, and the cluster only sees its text.
    let failure: Mutex<Option<ChartError>> = Mutex::new(None);
    let last: Mutex<Option<(Vec<Manifest>, String)>> = Mutex::new(None);
    let mut render =
        |revision: Revision| match render_revision(chart, values, options, &capabilities, revision)
        {
            Ok(rendered) => {
                *lock(&last) = Some((rendered.hooks.clone(), rendered.notes.clone()));
                Ok(RevisionContent {
                    manifests: rendered.manifests,
                    hooks: rendered.hooks,
                    notes: rendered.notes,
                })
            }
            Err(error) => {
                let text = error.to_string();
                *lock(&failure) = Some(error);
                Err(text)
            }
        };
    let result = cluster
        .deploy_rendered(&request, &mut render, progress, cancel)
        .await;
    if let Some(error) = lock(&failure).take() {
        return Err(Error::Chart(error));
    }
    let outcome = result?;
    let (hooks, notes) = lock(&last).take().unwrap_or_default();
    Ok(Deployed {
        outcome,
        notes,
        hooks,
    })
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_names_follow_helms_rule() {
        let long = "a".repeat(54);
        for (name, reason) in [
            ("web", None),
            ("my-app.v2", None),
            ("0ab", None),
            (&"a".repeat(53), None),
            ("", Some("it is empty")),
            (&long, Some("it is longer than 53 characters")),
            ("My-App", Some("it is not a lowercase DNS name")),
            ("my_app", Some("it is not a lowercase DNS name")),
            ("-web", Some("it is not a lowercase DNS name")),
            ("web-", Some("it is not a lowercase DNS name")),
            ("web..v2", Some("it is not a lowercase DNS name")),
            ("web app", Some("it is not a lowercase DNS name")),
        ] {
            match (check_release_name(name), reason) {
                (Ok(()), None) => {}
                (Err(Error::InvalidReleaseName { reason: got, .. }), Some(want)) => {
                    assert_eq!(got, want, "{name:?}")
                }
                (other, _) => panic!("{name:?}: {other:?}"),
            }
        }
    }
}
