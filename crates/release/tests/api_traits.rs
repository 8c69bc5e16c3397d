//! What a program keeps across `.await`s, shares between tasks or hands to `tokio::spawn`
//! is `Send` (and the shared handles `Sync`), and the errors fit `anyhow` and
//! `Box<dyn Error + Send + Sync>`: checked at compile time, so a change that loses it
//! fails here rather than in a user's program.

use deploykit_chart::{Chart, ChartError, Map, Value};
use deploykit_cluster::{Cluster, Progress, ReleaseRequest};
use deploykit_release::{Diff, History, Install, Rollback, Status, Test, Uninstall, Upgrade};

fn send_sync<T: Send + Sync>() {}

fn send<T: Send>(_: &T) {}

#[test]
fn handles_values_and_errors_are_send_and_sync() {
    send_sync::<Cluster>();
    send_sync::<Chart>();
    send_sync::<Map>();
    send_sync::<Value>();
    send_sync::<ReleaseRequest>();
    send_sync::<Progress>();
    send_sync::<Install<'static>>();
    send_sync::<Upgrade<'static>>();
    send_sync::<ChartError>();
    send_sync::<deploykit_cluster::Error>();
    send_sync::<deploykit_release::Error>();
}

/// Never called: it only has to compile.
#[allow(dead_code)]
fn action_futures_can_be_spawned(cluster: &Cluster, chart: &Chart, values: &Map) {
    send(&Install::new(cluster, "web", "demo").run(chart, values));
    send(&Upgrade::new(cluster, "web", "demo").run(chart, values));
    send(&Rollback::new(cluster, "web", "demo").run());
    send(&Uninstall::new(cluster, "web", "demo").run());
    send(&Status::new(cluster, "web", "demo").run());
    send(&History::new(cluster, "web", "demo").run());
    send(&Diff::new(cluster, "web", "demo").run(chart, values));
    send(&Test::new(cluster, "web", "demo").run());
}
