//! [`FakeCluster`]: the in-process fake API server with deploykit's client connected to it.

use std::path::PathBuf;
use std::time::Duration;

use deploykit_cluster::{Cluster, ClusterOptions, ConnectOptions, connect};
use deploykit_fake_apiserver::FakeApiServer;

/// The fake API server (deploykit-fake-apiserver) and a [`Cluster`] connected to it through
/// a kubeconfig file, as a program connects to a real cluster. Tests and examples of the
/// cluster and release crates start from it.
///
/// ```no_run
/// # async fn demo() {
/// let fake = deploykit_testkit::FakeCluster::start().await;
/// fake.server.set_auto_ready(true); // stands in for controllers and kubelets
/// let history = fake.cluster.history("web", "demo").await.unwrap();
/// assert!(history.is_empty());
/// # }
/// ```
pub struct FakeCluster {
    /// The server: put objects, make workloads ready, read what was written.
    pub server: FakeApiServer,
    /// deploykit's client, connected through [`FakeCluster::kubeconfig`] and polling
    /// every 20 ms (a real cluster's 2 s would only slow tests down).
    pub cluster: Cluster,
    /// The kubeconfig file naming the server (its one context is `fake`): for another
    /// client ([`FakeCluster::client`]) or Helm's own.
    pub kubeconfig: PathBuf,
    /// The test's folder, which holds the kubeconfig; a test may write its chart here.
    /// Removed when the value is dropped.
    pub dir: tempfile::TempDir,
}

impl FakeCluster {
    /// Starts a server and connects to it. Workloads stay as the test makes them until
    /// `server.set_auto_ready(true)`. Panics (tests only) when the folder cannot be
    /// written or the client cannot connect.
    pub async fn start() -> FakeCluster {
        let server = FakeApiServer::start().await;
        let dir = tempfile::tempdir().expect("a temporary folder for the kubeconfig");
        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::write(&kubeconfig, server.kubeconfig("fake"))
            .unwrap_or_else(|error| panic!("cannot write {}: {error}", kubeconfig.display()));
        let cluster = connect_to(&kubeconfig).await.with_options(ClusterOptions {
            poll_interval: Duration::from_millis(20),
            ..ClusterOptions::default()
        });
        FakeCluster {
            server,
            cluster,
            kubeconfig,
            dir,
        }
    }

    /// Another client of the same server, with `options` (another lease identity, a
    /// shorter lease).
    pub async fn client(&self, options: ClusterOptions) -> Cluster {
        connect_to(&self.kubeconfig).await.with_options(options)
    }
}

async fn connect_to(kubeconfig: &std::path::Path) -> Cluster {
    connect(ConnectOptions {
        kubeconfig: Some(kubeconfig.to_path_buf()),
        ..ConnectOptions::default()
    })
    .await
    .unwrap_or_else(|error| panic!("cannot connect to the fake API server: {error}"))
}
