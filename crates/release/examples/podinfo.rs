//! Install, upgrade, roll back and uninstall podinfo (from ../shared/chart-corpus) on the
//! in-process fake API server: `cargo run -p deploykit-release --example podinfo`, from
//! the workspace's folder.

use deploykit_chart::{Chart, SetKind, ValueSources};
use deploykit_cluster::{ConnectOptions, connect};
use deploykit_release::{History, Rollback, Uninstall, Upgrade};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = deploykit_fake_apiserver::FakeApiServer::start().await;
    server.set_auto_ready(true); // stands in for controllers and kubelets
    let kubeconfig_text = Some(server.kubeconfig("fake"));
    let cluster = connect(ConnectOptions {
        kubeconfig_text,
        ..Default::default()
    })
    .await?;
    let chart = Chart::load("../shared/chart-corpus/charts/podinfo")?;
    let upgrade = Upgrade::new(&cluster, "podinfo", "demo");

    println!("{}", upgrade.run(&chart, &Default::default()).await?.notes);
    let values = ValueSources::default().set(SetKind::Typed, "replicaCount=2");
    upgrade.run(&chart, &values.merge()?).await?;
    Rollback::new(&cluster, "podinfo", "demo").run().await?;
    for record in History::new(&cluster, "podinfo", "demo").run().await? {
        let (status, description) = (record.info.status, record.info.description);
        println!("revision {}: {status} ({description})", record.version);
    }
    let removed = Uninstall::new(&cluster, "podinfo", "demo").run().await?;
    println!("uninstalled: {} objects deleted", removed.deleted.len());
    Ok(())
}
