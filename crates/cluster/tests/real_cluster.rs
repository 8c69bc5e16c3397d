//! The same scenarios against a real cluster: the current kube context (minikube, kind,
//! k3d...). Ignored by `cargo test`; `cargo test -p deploykit-cluster --test real_cluster --
//! --ignored` (what `cargo xtask e2e-cluster` runs) uses it, and says it skipped when no
//! cluster answers. Only ConfigMaps are deployed, so no image is ever pulled. Everything
//! happens in a namespace of its own, deleted at the end.

use std::time::Duration;

use deploykit_cluster::{
    ChartMetadata, ConnectOptions, DiffAction, ReleaseRequest, Status, connect,
};
use tokio_util::sync::CancellationToken;

fn config_map(name: &str, value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  value: \"{value}\"\n"
    )
}

#[tokio::test]
#[ignore = "needs a reachable Kubernetes cluster: run through `cargo xtask e2e-cluster`"]
async fn release_lifecycle_on_the_current_context() {
    let cluster = match connect(ConnectOptions::default()).await {
        Ok(cluster) => cluster,
        Err(error) => {
            eprintln!("skipped: no cluster answers ({error})");
            return;
        }
    };
    let namespace = format!("deploykit-e2e-{}", std::process::id());
    let chart = ChartMetadata {
        name: "e2e".into(),
        version: "0.1.0".into(),
        ..Default::default()
    };
    let request = |value: &str, extra: bool| {
        let mut manifests = vec![config_map("settings", value)];
        if extra {
            manifests.push(config_map("extra", value));
        }
        let mut request = ReleaseRequest::new("e2e", &namespace, chart.clone(), manifests);
        request.timeout = Duration::from_secs(60);
        request
    };
    let cancel = CancellationToken::new();
    let first = cluster
        .deploy(&request("1", true), &mut |_| {}, &cancel)
        .await
        .unwrap();
    assert_eq!(first.revision, 1);
    let again = cluster
        .deploy(&request("1", true), &mut |_| {}, &cancel)
        .await
        .unwrap();
    assert!(again.unchanged);
    let diff = cluster.diff(&request("2", false)).await.unwrap();
    assert!(
        diff.iter()
            .any(|d| d.object.name == "extra" && d.action == DiffAction::Delete)
    );
    let second = cluster
        .deploy(&request("2", false), &mut |_| {}, &cancel)
        .await
        .unwrap();
    assert_eq!((second.revision, second.deleted), (2, 1));
    let back = cluster
        .rollback(
            "e2e",
            &namespace,
            Some(1),
            Duration::from_secs(60),
            &mut |_| {},
            &cancel,
        )
        .await
        .unwrap();
    assert_eq!(back.revision, 3);
    let history = cluster.history("e2e", &namespace).await.unwrap();
    assert_eq!(
        history.last().map(|r| r.info.status),
        Some(Status::Deployed)
    );
    cluster
        .uninstall("e2e", &namespace, &mut |_| {})
        .await
        .unwrap();
    let namespaces: kube::Api<k8s_openapi::api::core::v1::Namespace> =
        kube::Api::all(cluster.client().clone());
    namespaces
        .delete(&namespace, &Default::default())
        .await
        .unwrap();
}
