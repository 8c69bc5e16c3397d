//! Install, upgrade with `--set`, roll back and uninstall podinfo (from
//! ../shared/chart-corpus) on the in-process fake API server (connect with
//! `connect(ConnectOptions::default())` to do the same on a real cluster):
//! `cargo run -p deploykit-release --example podinfo [CHART]`, from the workspace's folder.

use std::io::Write;
use std::path::Path;

use deploykit_release::{
    Chart, Cluster, History, Rollback, SetKind, Uninstall, Upgrade, ValueSources,
};
use deploykit_testkit::FakeCluster;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let chart = std::env::args().nth(1);
    let chart = chart
        .as_deref()
        .unwrap_or("../shared/chart-corpus/charts/podinfo");
    // The in-process fake API server and a client connected to it through a kubeconfig;
    // on a real cluster: `let cluster = connect(ConnectOptions::default()).await?;`
    // (the kubeconfig's current context, as kubectl finds it).
    let fake = FakeCluster::start().await;
    fake.server.set_auto_ready(true); // stands in for controllers and kubelets
    walk_through(&fake.cluster, chart.as_ref(), &mut std::io::stdout().lock()).await
}

/// Installs the chart as release `podinfo` in namespace `demo`, upgrades it with
/// `--set replicaCount=2`, rolls back and uninstalls, writing what happens to `out`.
async fn walk_through(
    cluster: &Cluster,
    chart: &Path,
    out: &mut impl Write,
) -> Result<(), Box<dyn std::error::Error>> {
    let chart = Chart::load(chart)?;
    // Upgrade installs a release that is not there yet, as `helm upgrade --install`.
    let upgrade = Upgrade::new(cluster, "podinfo", "demo");
    let installed = upgrade.run(&chart, &Default::default()).await?;
    writeln!(
        out,
        "{}",
        installed.notes.lines().next().unwrap_or_default()
    )?;
    let values = ValueSources::default().set(SetKind::Typed, "replicaCount=2");
    upgrade.run(&chart, &values.merge()?).await?;
    Rollback::new(cluster, "podinfo", "demo").run().await?;
    for record in History::new(cluster, "podinfo", "demo").run().await? {
        let (status, description) = (record.info.status, record.info.description);
        writeln!(out, "revision {}: {status} ({description})", record.version)?;
    }
    let removed = Uninstall::new(cluster, "podinfo", "demo").run().await?;
    writeln!(
        out,
        "uninstalled: {} objects deleted",
        removed.deleted.len()
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn installs_upgrades_rolls_back_and_uninstalls_podinfo() {
        let chart = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/chart-corpus/charts/podinfo");
        let present = match chart.is_dir() {
            true => Ok(()),
            false => Err(format!("{} is missing", chart.display())),
        };
        if !deploykit_testkit::require("the chart corpus", present) {
            return;
        }
        let fake = FakeCluster::start().await;
        fake.server.set_auto_ready(true);
        let mut out = Vec::new();
        walk_through(&fake.cluster, &chart, &mut out).await.unwrap();
        let out = String::from_utf8(out).unwrap();
        let history = "revision 1: superseded (Install complete)\n\
            revision 2: superseded (Upgrade complete)\n\
            revision 3: deployed (Rollback to 1)\n";
        assert!(out.contains(history), "{out}");
        assert!(out.ends_with(" objects deleted\n"), "{out}");
        assert!(
            fake.server
                .get("apps/v1", "Deployment", Some("demo"), "podinfo")
                .is_none()
        );
    }
}
