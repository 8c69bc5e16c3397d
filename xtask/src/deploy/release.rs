//! From the chart, the user's values and the built images to a [`ReleaseRequest`]; and the
//! Kubernetes Secret made from `.env`.

use std::path::PathBuf;

use anyhow::Context;
use deploykit_chart::{Chart, ReleaseOptions, SetKind, ValueSources, sort_manifests};
use deploykit_cluster::{Cluster, ReleaseRequest};
use deploykit_secret::{EnvFile, KubeSecret};
use kube::api::{Api, Patch, PatchParams};
use kube::core::DynamicObject;

use crate::project;

/// The user's chart flags, as `helm install` takes them.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ValueFlags {
    /// A values file, merged over the chart's (repeatable; later files win).
    #[arg(short = 'f', long = "values", value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Set a value: `a.b=c` (repeatable, Helm's syntax).
    #[arg(long, value_name = "EXPR")]
    pub set: Vec<String>,
    /// Set a value as a string: `a.b=0123`.
    #[arg(long, value_name = "EXPR")]
    pub set_string: Vec<String>,
}

/// What deploykit itself sets on top of the user's values.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `service → (repository, tag)` of the images to run.
    pub images: Vec<(String, String, String)>,
    /// Pull policy forced on every image (images loaded into the node are never pulled).
    pub pull_policy: Option<String>,
    /// Name of the Secret made from `.env` (`existingSecret`).
    pub existing_secret: Option<String>,
}

/// Renders the app's chart for `release` in `namespace`: `base_files` (such as
/// values-minikube.yaml) first, then the user's flags, then deploykit's overrides.
pub fn render(
    cluster_revision: Option<u32>,
    release: &str,
    namespace: &str,
    base_files: &[PathBuf],
    flags: &ValueFlags,
    overrides: &Overrides,
) -> anyhow::Result<ReleaseRequest> {
    let chart_dir = project::root().join(project::CHART);
    let chart = Chart::load(&chart_dir)?;
    let sources = value_sources(base_files, flags, overrides);
    let values = sources.merge()?;
    let options = ReleaseOptions {
        name: release.to_string(),
        namespace: namespace.to_string(),
        revision: i64::from(cluster_revision.map_or(1, |last| last + 1)),
        is_install: cluster_revision.is_none(),
        is_upgrade: cluster_revision.is_some(),
    };
    let rendered = deploykit_chart::render(&chart, &values, &options)?;
    let sorted = sort_manifests(&rendered)?;
    let notes = rendered
        .iter()
        .find(|(path, _)| path.ends_with("/templates/NOTES.txt") && path.matches('/').count() == 2)
        .map(|(_, text)| text.clone())
        .unwrap_or_default();
    let manifests = sorted
        .manifests
        .iter()
        .map(deploykit_chart::Manifest::with_source_line)
        .collect();
    let record = deploykit_cluster::Chart::from_loaded(&chart)?;
    let mut request = ReleaseRequest::new(release, namespace, record, manifests);
    request.notes = notes;
    request.values = deploykit_chart::value::map_to_json(&values);
    Ok(request)
}

fn value_sources(
    base_files: &[PathBuf],
    flags: &ValueFlags,
    overrides: &Overrides,
) -> ValueSources {
    let mut sources = ValueSources::default();
    for file in base_files.iter().chain(&flags.files) {
        sources = sources.file(file);
    }
    for expression in &flags.set {
        sources = sources.set(SetKind::Typed, expression);
    }
    for expression in &flags.set_string {
        sources = sources.set(SetKind::String, expression);
    }
    for (service, repository, tag) in &overrides.images {
        sources = sources
            .set(
                SetKind::String,
                format!("{service}.image.repository={repository}"),
            )
            .set(SetKind::String, format!("{service}.image.tag={tag}"));
        if let Some(policy) = &overrides.pull_policy {
            sources = sources.set(
                SetKind::String,
                format!("{service}.image.pullPolicy={policy}"),
            );
        }
    }
    if let Some(secret) = &overrides.existing_secret {
        sources = sources.set(SetKind::String, format!("existingSecret={secret}"));
    }
    sources
}

/// The pull policy the user's values ask of `service`'s image, if any.
pub fn requested_pull_policy(
    flags: &ValueFlags,
    base_files: &[PathBuf],
    service: &str,
) -> anyhow::Result<Option<String>> {
    let values = value_sources(base_files, flags, &Overrides::default()).merge()?;
    let field = |value: Option<deploykit_chart::Value>, key: &str| value?.as_map()?.get(key);
    let image = field(values.get(service).cloned(), "image");
    let policy = field(image, "pullPolicy").and_then(|policy| policy.as_str().map(str::to_string));
    Ok(policy)
}

/// Makes sure `.env` holds the app's keys (generating what can be generated) and returns
/// the keys it generated.
pub fn ensure_env() -> anyhow::Result<Vec<String>> {
    let (env, template) = project::env_files();
    let template = template.exists().then_some(template);
    let report = deploykit_secret::ensure_env(&env, template.as_deref(), &project::env_keys())?;
    Ok(report.generated)
}

/// Creates or updates the app's Secret from `.env`; returns false when it was already
/// up to date (no write).
pub async fn apply_env_secret(cluster: &Cluster, namespace: &str) -> anyhow::Result<bool> {
    let (env_path, _) = project::env_files();
    let env = EnvFile::load(&env_path)?;
    let secret = KubeSecret::new(project::SECRET_NAME, namespace)
        .label("app.kubernetes.io/managed-by", "deploykit")
        .label("app.kubernetes.io/part-of", project::RELEASE)
        .from_env(
            &env,
            project::SECRET_REQUIRED_KEYS,
            project::SECRET_OPTIONAL_KEYS,
        )?;
    let desired = secret.to_manifest();
    let resource = kube::discovery::ApiResource::erase::<k8s_openapi::api::core::v1::Secret>(&());
    let api: Api<DynamicObject> =
        Api::namespaced_with(cluster.client().clone(), namespace, &resource);
    let live = api
        .get_opt(project::SECRET_NAME)
        .await
        .with_context(|| format!("cannot read Secret {namespace}/{}", project::SECRET_NAME))?;
    if live.is_some_and(|live| live.data.get("data") == desired.get("data")) {
        return Ok(false);
    }
    let params = PatchParams::apply(deploykit_cluster::FIELD_MANAGER).force();
    api.patch(project::SECRET_NAME, &params, &Patch::Apply(&desired))
        .await
        .with_context(|| {
            format!(
                "cannot write Secret {namespace}/{} (its keys: {})",
                project::SECRET_NAME,
                secret.keys().collect::<Vec<_>>().join(", ")
            )
        })?;
    Ok(true)
}
