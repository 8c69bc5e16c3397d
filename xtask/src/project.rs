//! The Todo app's names and paths: the one place xtask reads them from, so that the
//! library crates never know which app they serve.

use std::path::PathBuf;

/// The workspace root (the folder holding the root `Cargo.toml`).
pub fn root() -> PathBuf {
    let xtask_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    xtask_dir.parent().map(PathBuf::from).unwrap_or(xtask_dir)
}

/// One service of the app: how it is built and packaged into an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Service {
    /// The short name used on the command line and in compose (`backend`).
    pub name: &'static str,
    /// Its cargo package (`todo-backend`).
    pub package: &'static str,
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

/// The app's services, in start order.
pub const SERVICES: &[Service] = &[
    Service {
        name: "backend",
        package: "todo-backend",
        binary: "todo-backend",
        port: 8000,
        dockerfile: "backend/Dockerfile",
        repository: "todo-backend",
        image_env: &[("PORT", "8000"), ("DATABASE_URL", "sqlite:///data/todo.db")],
    },
    Service {
        name: "frontend",
        package: "todo-frontend",
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
