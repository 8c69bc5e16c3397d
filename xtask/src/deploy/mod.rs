//! Kubernetes workflows: `deploy-local` (minikube, kind, k3d), `deploy` (any cluster) and
//! the commands that look after a release once it is there (`status`, `history`,
//! `rollback`, `undeploy`, `logs`, `port-forward`, `diff`).
//!
//! The crates do the work (deploykit-image builds, deploykit-secret makes the Secret,
//! deploykit-release renders, applies, waits, tests and keeps the records through
//! deploykit-chart and deploykit-cluster); this module turns flags into value sources,
//! calls them in order, and owns the terminal. It holds no Kubernetes client of its own.

mod display;
mod local;
pub mod minikube;
mod nodes;
mod ops;
mod release;
mod watch;

pub use local::{DeployArgs, LocalArgs, deploy, deploy_local};
pub use ops::{
    DiffArgs, HistoryArgs, LogsArgs, PortForwardArgs, RollbackArgs, StatusArgs, UndeployArgs, diff,
    history, logs, port_forward, rollback, status, undeploy,
};

use crate::build_images::runtime;
use deploykit_cluster::{Cluster, ConnectOptions};

/// The options every command that talks to a cluster shares.
#[derive(clap::Args, Debug, Clone)]
pub struct Target {
    /// The kube context to use (default: the kubeconfig's current context).
    #[arg(long, value_name = "CONTEXT")]
    pub context: Option<String>,
    /// The release's namespace.
    #[arg(long, short = 'n', default_value = crate::project::NAMESPACE)]
    pub namespace: String,
    /// The release's name.
    #[arg(long, default_value = crate::project::RELEASE)]
    pub release: String,
}

/// Connects to the cluster of `context` (or the current context) and checks it answers.
async fn connect(context: Option<&str>) -> anyhow::Result<Cluster> {
    let options = ConnectOptions {
        context: context.map(str::to_string),
        ..Default::default()
    };
    Ok(deploykit_cluster::connect(options).await?)
}
