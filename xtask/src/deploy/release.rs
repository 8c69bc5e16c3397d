//! Flags to value sources: the user's `-f`/`--set` flags and deploykit's own overrides
//! (image tags, pull policy, the Secret's name) as the values of the app's chart; and the
//! Kubernetes Secret made from `.env`.

use std::path::PathBuf;

use anyhow::Context as _;
use aws_lc_rs::hmac;
use deploykit_chart::{Chart, Map, ReleaseOptions, SetKind, ValueSources};
use deploykit_cluster::{Change, Cluster};
use deploykit_secret::{EnvFile, KubeSecret};

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

/// The pod annotation deploykit sets, on the services that read the Secret made from
/// `.env` ([`project::ENV_SECRET_READERS`]), to a keyed digest of that Secret's data: a
/// change to `.env` that changes the Secret rolls them. (The chart's own `checksum/secret`
/// can only hash an `existingSecret`'s name.)
pub const ENV_DIGEST_ANNOTATION: &str = "checksum/env-secret";

/// The `.env` key that keys the digest: generated (32 random bytes) and secret, so the
/// annotation tells nothing about the Secret's values.
const DIGEST_KEY: &str = "BETTER_AUTH_SECRET";

/// What deploykit itself sets on top of the user's values.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `service → (repository, tag)` of the images to run.
    pub images: Vec<(String, String, String)>,
    /// Pull policy forced on every image (images loaded into the node are never pulled).
    pub pull_policy: Option<String>,
    /// Name of the Secret made from `.env` (`existingSecret`).
    pub existing_secret: Option<String>,
    /// The digest of that Secret's data ([`env_secret_digest`]), set as the
    /// [`ENV_DIGEST_ANNOTATION`] of the pods that read it.
    pub env_digest: Option<String>,
}

/// The app's chart (charts/todo-app).
pub fn chart() -> anyhow::Result<Chart> {
    let chart_dir = project::root().join(project::CHART);
    Ok(Chart::load(&chart_dir)?)
}

/// The user's values for the app's chart: `base_files` (such as values-minikube.yaml)
/// first, then the user's flags, then deploykit's overrides.
pub fn values(
    base_files: &[PathBuf],
    flags: &ValueFlags,
    overrides: &Overrides,
) -> anyhow::Result<Map> {
    Ok(value_sources(base_files, flags, overrides).merge()?)
}

/// Renders `chart` once with `values` as a first install would, and drops the result: a
/// malformed values file, a value the schema refuses or a failing template stops here,
/// before any build and any write to a cluster.
pub fn check_renders(
    chart: &Chart,
    values: &Map,
    release: &str,
    namespace: &str,
) -> anyhow::Result<()> {
    let options = ReleaseOptions {
        name: release.to_string(),
        namespace: namespace.to_string(),
        revision: 1,
        is_install: true,
        is_upgrade: false,
    };
    deploykit_chart::render(chart, values, &options)?;
    Ok(())
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
    if let Some(digest) = &overrides.env_digest {
        for service in project::ENV_SECRET_READERS {
            sources = sources.set(
                SetKind::String,
                format!("{service}.podAnnotations.{ENV_DIGEST_ANNOTATION}={digest}"),
            );
        }
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
    let (secret, _) = env_secret(namespace)?;
    let change = cluster.apply_secret(&secret.to_manifest()).await?;
    Ok(change != Change::Unchanged)
}

/// HMAC-SHA256 of the data of the Secret made from `.env`, keyed by its signing key, in
/// hex: it changes with the Secret's data and reveals none of it.
pub fn env_secret_digest() -> anyhow::Result<String> {
    let (secret, env) = env_secret(project::NAMESPACE)?;
    let key = env.get_non_empty(DIGEST_KEY).with_context(|| {
        format!(
            "{} has no {DIGEST_KEY}: run the deploy once without --watch to generate it",
            env.path().display()
        )
    })?;
    let data = serde_json::to_vec(&secret.to_manifest()["data"])?;
    let key = hmac::Key::new(hmac::HMAC_SHA256, key.expose().as_bytes());
    Ok(hex::encode(hmac::sign(&key, &data).as_ref()))
}

/// The app's Secret made from `.env` (the keys the app reads, nothing else), and the file.
fn env_secret(namespace: &str) -> anyhow::Result<(KubeSecret, EnvFile)> {
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
    Ok((secret, env))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Deployments of the chart that read the Secret, rendered with `overrides`.
    fn rendered_deployments(overrides: &Overrides) -> Vec<(String, String)> {
        let chart = chart().expect("the app's chart loads");
        let base = [project::root().join(project::LOCAL_VALUES)];
        let values = values(&base, &ValueFlags::default(), overrides).expect("values merge");
        let options = ReleaseOptions {
            name: project::RELEASE.to_string(),
            namespace: project::NAMESPACE.to_string(),
            revision: 1,
            is_install: true,
            is_upgrade: false,
        };
        let rendered = deploykit_chart::render(&chart, &values, &options).expect("renders");
        rendered
            .values()
            .flat_map(|text| text.split("\n---"))
            .filter(|document| document.contains("kind: Deployment"))
            .map(|document| {
                let name = document
                    .lines()
                    .find_map(|line| line.trim().strip_prefix("name: "))
                    .unwrap_or_default()
                    .to_string();
                (name, document.to_string())
            })
            .collect()
    }

    #[test]
    fn the_env_digest_rolls_exactly_the_deployments_that_read_the_secret() {
        let overrides = Overrides {
            existing_secret: Some(project::SECRET_NAME.to_string()),
            env_digest: Some("d1g3st".to_string()),
            ..Overrides::default()
        };
        let deployments = rendered_deployments(&overrides);
        assert_eq!(
            deployments.len(),
            project::SERVICES.len(),
            "{deployments:?}"
        );
        for (name, document) in deployments {
            let reads_secret = document.contains(&format!("name: {}", project::SECRET_NAME));
            let annotated = document.contains(&format!("{ENV_DIGEST_ANNOTATION}: d1g3st"));
            let reader = project::ENV_SECRET_READERS
                .iter()
                .any(|service| name.ends_with(&format!("-{service}")));
            assert_eq!(
                reads_secret, reader,
                "{name}: ENV_SECRET_READERS is out of date"
            );
            assert_eq!(annotated, reader, "{name}:\n{document}");
        }
    }
}
