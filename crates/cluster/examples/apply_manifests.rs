//! Deploy rendered manifests as a Helm-compatible release, change them, look at the
//! history, roll back and uninstall, on the in-process fake API server (connect with
//! `connect(ConnectOptions::default())` to do the same on a real cluster):
//! `cargo run -p deploykit-cluster --example apply_manifests`.

use std::io::Write;
use std::time::Duration;

use deploykit_cluster::{
    CancellationToken, ChartMetadata, Cluster, Progress, ReleaseRequest, RollbackOptions,
};
use deploykit_testkit::FakeCluster;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The in-process fake API server and a client connected to it through a kubeconfig;
    // on a real cluster: `let cluster = connect(ConnectOptions::default()).await?;`
    // (the kubeconfig's current context, as kubectl finds it).
    let fake = FakeCluster::start().await;
    fake.server.set_auto_ready(true); // stands in for controllers and kubelets
    walk_through(&fake.cluster, &mut std::io::stdout().lock()).await
}

/// A ConfigMap and a Deployment for `greeting`, as a chart would render them.
fn manifests(greeting: &str) -> Vec<String> {
    vec![
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  greeting: {greeting}\n"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.27\n".to_string(),
    ]
}

/// Install, upgrade, roll back and uninstall release `web` in namespace `demo`, writing
/// what happens to `out`.
async fn walk_through(
    cluster: &Cluster,
    out: &mut impl Write,
) -> Result<(), Box<dyn std::error::Error>> {
    let chart = ChartMetadata {
        name: "web".into(),
        version: "0.1.0".into(),
        ..Default::default()
    };
    // Cancel the token (on Ctrl-C, say) to stop a deploy: the revision is recorded failed.
    let cancel = CancellationToken::new();
    let mut events = Vec::new();
    let mut progress = |event: Progress| events.push(event.to_string());
    for greeting in ["hello", "bonjour"] {
        let mut request = ReleaseRequest::new("web", "demo", chart.clone(), manifests(greeting));
        request.timeout = Duration::from_secs(60);
        let outcome = cluster.deploy(&request, &mut progress, &cancel).await?;
        writeln!(out, "deployed revision {}", outcome.revision)?;
    }
    // To the revision before the latest; `options.revision` names another.
    let options = RollbackOptions {
        timeout: Duration::from_secs(60),
        ..Default::default()
    };
    let rolled_back = cluster
        .rollback("web", "demo", &options, &mut progress, &cancel)
        .await?;
    writeln!(out, "rolled back as revision {}", rolled_back.revision)?;
    for record in cluster.history("web", "demo").await? {
        let info = &record.info;
        writeln!(
            out,
            "revision {}: {} ({})",
            record.version, info.status, info.description
        )?;
    }
    let removed = cluster.uninstall("web", "demo", &mut progress).await?;
    writeln!(
        out,
        "uninstalled: {} objects deleted",
        removed.deleted.len()
    )?;
    for event in events {
        writeln!(out, "  {event}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn installs_upgrades_rolls_back_and_uninstalls() {
        let fake = FakeCluster::start().await;
        fake.server.set_auto_ready(true);
        let mut out = Vec::new();
        walk_through(&fake.cluster, &mut out).await.unwrap();
        let out = String::from_utf8(out).unwrap();
        let expected = "deployed revision 1\ndeployed revision 2\nrolled back as revision 3\n\
            revision 1: superseded (Install complete)\n\
            revision 2: superseded (Upgrade complete)\n\
            revision 3: deployed (Rollback to 1)\n\
            uninstalled: 2 objects deleted\n";
        assert!(out.starts_with(expected), "{out}");
        assert!(out.contains("  applied ConfigMap/web (created)\n"), "{out}");
        assert!(
            fake.server
                .get("v1", "ConfigMap", Some("demo"), "web")
                .is_none()
        );
    }
}
