//! The Todo app's names and paths: the one place xtask reads them from, so that the
//! library crates never know which app they serve.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::Context;

/// The project folder given with `--project-dir` (or `DEPLOYKIT_PROJECT_DIR`), if any.
static PROJECT_DIR: OnceLock<PathBuf> = OnceLock::new();

/// The workspace root (the folder holding the root `Cargo.toml`): the one given with
/// `--project-dir`, else the workspace this xtask was built from.
pub fn root() -> PathBuf {
    if let Some(dir) = PROJECT_DIR.get() {
        return dir.clone();
    }
    let xtask_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    xtask_dir.parent().map(PathBuf::from).unwrap_or(xtask_dir)
}

/// Makes every command work on the copy of the project in `dir` instead of the workspace
/// xtask was built from (tests drive the watch loops on a temporary copy this way).
pub fn set_root(dir: &Path) -> anyhow::Result<()> {
    let dir = dir.canonicalize().with_context(|| {
        format!(
            "--project-dir {}: no such folder; give the folder that holds the workspace's Cargo.toml",
            dir.display()
        )
    })?;
    let looks_like_project = dir.join("Cargo.toml").is_file()
        && SERVICES
            .iter()
            .all(|service| dir.join(service.source).is_dir());
    anyhow::ensure!(
        looks_like_project,
        "--project-dir {}: not a copy of this project (it needs Cargo.toml, {}): give the folder that holds the workspace's Cargo.toml",
        dir.display(),
        SERVICES
            .iter()
            .map(|service| format!("{}/", service.source))
            .collect::<Vec<_>>()
            .join(", ")
    );
    PROJECT_DIR
        .set(dir)
        .map_err(|dir| anyhow::anyhow!("the project folder is already set to {}", dir.display()))
}

/// Where cargo puts what it builds for the project in `root`: `CARGO_TARGET_DIR`
/// (relative to `root` when relative, as the cargo commands xtask runs start there), else
/// `root/target`.
pub fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .filter(|dir| !dir.is_empty())
        .map_or_else(|| root.join("target"), |dir| root.join(dir))
}

/// One service of the app: how it is built and packaged into an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Service {
    /// The short name used on the command line and in compose (`backend`).
    pub name: &'static str,
    /// Its cargo package (`todo-backend`).
    pub package: &'static str,
    /// Its source folder, relative to the workspace root (what `dev --watch` watches).
    pub source: &'static str,
    /// The workspace crates its binary is also built from (its path dependencies),
    /// relative to the root: the watch loops rebuild it when one of them changes.
    pub shared: &'static [&'static str],
    /// Its binary, which also answers `<binary> healthcheck`.
    pub binary: &'static str,
    /// The port it listens on inside its container (its `PORT`).
    pub port: u16,
    /// Its Dockerfile, relative to the workspace root (the build context).
    pub dockerfile: &'static str,
    /// The image repository it is tagged in.
    pub repository: &'static str,
    /// Environment baked into its image.
    pub image_env: &'static [(&'static str, &'static str)],
}

/// The workspace crates both services are built from.
const SHARED_CRATES: &[&str] = &["crates/reexec"];

/// The app's services, in start order.
pub const SERVICES: &[Service] = &[
    Service {
        name: "backend",
        package: "todo-backend",
        source: "backend",
        shared: SHARED_CRATES,
        binary: "todo-backend",
        port: 8000,
        dockerfile: "backend/Dockerfile",
        repository: "todo-backend",
        image_env: &[("PORT", "8000"), ("DATABASE_URL", "sqlite:///data/todo.db")],
    },
    Service {
        name: "frontend",
        package: "todo-frontend",
        source: "frontend",
        shared: SHARED_CRATES,
        binary: "todo-frontend",
        port: 3000,
        dockerfile: "frontend/Dockerfile",
        repository: "todo-frontend",
        image_env: &[("PORT", "3000")],
    },
];

/// The service called `name`, or an error listing the known ones.
pub fn service(name: &str) -> anyhow::Result<&'static Service> {
    SERVICES
        .iter()
        .find(|service| service.name == name)
        .ok_or_else(|| {
            let known: Vec<&str> = SERVICES.iter().map(|service| service.name).collect();
            anyhow::anyhow!(
                "unknown service `{name}`: choose one of {}",
                known.join(", ")
            )
        })
}

/// Where the images say their source lives (`org.opencontainers.image.source`).
pub const SOURCE_URL: &str = "https://example.invalid/deploykit";

/// The chart that deploys the app, relative to the workspace root. Its values name each
/// service's settings after the service (`backend.image.repository`, ...).
pub const CHART: &str = "charts/todo-app";

/// The values file that deploy-local adds for minikube and other local clusters.
pub const LOCAL_VALUES: &str = "charts/todo-app/values-minikube.yaml";

/// The release name on Kubernetes.
pub const RELEASE: &str = "todo-app";

/// The namespace of the release.
pub const NAMESPACE: &str = "todo";

/// The Secret that deploy-local makes from `.env`, passed to the chart as `existingSecret`.
pub const SECRET_NAME: &str = "todo-app-env";

/// The services whose pods read that Secret (the chart's `secretKeyRef`s): a change to
/// its data rolls them.
pub const ENV_SECRET_READERS: &[&str] = &["backend"];

/// Keys of `.env` the Secret must hold.
pub const SECRET_REQUIRED_KEYS: &[&str] = &["BETTER_AUTH_SECRET"];

/// Keys of `.env` the Secret holds when they are set (else the chart's default applies).
pub const SECRET_OPTIONAL_KEYS: &[&str] = &["DATABASE_URL"];

/// The frontend's Service, where users reach the app.
pub const FRONTEND_SERVICE: &str = "todo-frontend";

/// The frontend's NodePort in values-minikube.yaml.
pub const FRONTEND_NODE_PORT: u16 = 30080;

/// The frontend Service's port, and the local port a port-forward listens on by default
/// (`deploy-local --port-forward` writes it as its default: keep the two equal).
pub const FORWARD_PORT: u16 = 3000;

/// The `.env` file (the workspace's, or `TODO_ENV_FILE` as compose reads it) and its
/// committed template.
pub fn env_files() -> (PathBuf, PathBuf) {
    let env = std::env::var_os("TODO_ENV_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".env"));
    (env, root().join(".env.example"))
}

/// The keys `.env` must hold; the ones that can be generated are generated.
pub fn env_keys() -> Vec<deploykit_secret::RequiredKey> {
    vec![deploykit_secret::RequiredKey::generated(
        "BETTER_AUTH_SECRET",
        "the key that signs session tokens",
        deploykit_secret::Generator::RandomBytes(32),
    )]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The watch loops rebuild a service when a crate it is built from changes: its
    /// `shared` list must name exactly its path dependencies inside the workspace.
    #[test]
    fn each_service_lists_the_workspace_crates_it_is_built_from() {
        let metadata = cargo_metadata::MetadataCommand::new()
            .current_dir(root())
            .no_deps()
            .exec()
            .expect("cargo metadata reads the workspace");
        let workspace = metadata.workspace_root.as_std_path();
        for service in SERVICES {
            let package = metadata
                .packages
                .iter()
                .find(|package| package.name.as_str() == service.package)
                .expect("each service is a workspace package");
            let mut built_from: Vec<String> = package
                .dependencies
                .iter()
                .filter(|dependency| dependency.kind == cargo_metadata::DependencyKind::Normal)
                .filter_map(|dependency| dependency.path.as_ref())
                .filter_map(|path| path.as_std_path().strip_prefix(workspace).ok())
                .map(|path| path.display().to_string())
                .collect();
            built_from.sort();
            assert_eq!(built_from, service.shared, "{}", service.name);
        }
    }
}
