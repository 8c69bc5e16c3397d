//! The shared scenarios (`tests/scenarios/mod.rs`, also run against the fake API server by
//! `fake_cluster.rs`) against a real cluster: minikube, kind, k3d...
//!
//! Ignored by `cargo test`. `cargo xtask e2e-cluster` runs them with
//! `cargo test -p deploykit-cluster --test real_cluster -- --ignored`, passing the kube
//! context in `DEPLOYKIT_E2E_CONTEXT` (unset: the current context). When no cluster
//! answers, each test prints why and passes. Only ConfigMaps, Secrets, ServiceAccounts and
//! a Deployment of an absent image with pull policy Never are deployed, so no image is
//! ever pulled; every scenario has a namespace of its own (`deploykit-e2e-PID-N`), deleted
//! at its end, failed or not.

mod scenarios;

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use deploykit_cluster::{Cluster, ClusterOptions, ConnectOptions, connect};
use futures::FutureExt;
use k8s_openapi::api::core::v1::Namespace;

/// The variable naming the kube context to test (what `cargo xtask e2e-cluster` sets).
const CONTEXT_VARIABLE: &str = "DEPLOYKIT_E2E_CONTEXT";

/// The cluster of the chosen context, or None (with the reason printed) when none answers.
async fn real_cluster() -> Option<Cluster> {
    let context = std::env::var(CONTEXT_VARIABLE)
        .ok()
        .filter(|c| !c.is_empty());
    let connected = connect(ConnectOptions {
        context: context.clone(),
        timeout: Some(Duration::from_secs(5)),
        ..Default::default()
    })
    .await;
    match connected {
        Ok(cluster) => Some(cluster.with_options(ClusterOptions {
            poll_interval: Duration::from_millis(500),
            ..Default::default()
        })),
        Err(error) => {
            eprintln!("skipped: no Kubernetes cluster answers ({error})");
            None
        }
    }
}

fn fresh_namespace() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(1);
    format!(
        "deploykit-e2e-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

async fn remove_namespace(client: &kube::Client, namespace: &str) {
    let namespaces: kube::Api<Namespace> = kube::Api::all(client.clone());
    if let Err(error) = namespaces.delete(namespace, &Default::default()).await {
        eprintln!("could not delete namespace {namespace}: {error}");
    }
}

macro_rules! on_the_real_cluster {
    ($name:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        #[ignore = "needs a reachable Kubernetes cluster: run through `cargo xtask e2e-cluster`"]
        async fn $name() {
            let Some(cluster) = real_cluster().await else {
                return;
            };
            let namespace = fresh_namespace();
            let context = std::env::var(CONTEXT_VARIABLE)
                .ok()
                .filter(|c| !c.is_empty());
            let client = scenarios::kube_client(None, context.as_deref()).await;
            let target = scenarios::Target {
                cluster: &cluster,
                client: client.clone(),
                namespace: &namespace,
                writes: None,
                image_missing: None,
            };
            let outcome = AssertUnwindSafe(scenarios::$name(&target))
                .catch_unwind()
                .await;
            remove_namespace(&client, &namespace).await;
            if let Err(panic) = outcome {
                std::panic::resume_unwind(panic);
            }
        }
    };
}

scenarios::shared_scenarios!(on_the_real_cluster);
