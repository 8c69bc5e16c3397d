//! The scenarios both suites run: `fake_cluster.rs` against the fake API server on every
//! `cargo test`, `real_cluster.rs` against a real cluster (`cargo xtask e2e-cluster`).
//!
//! Each scenario takes a connected [`Cluster`] and a namespace of its own, deploys
//! ConfigMaps, Secrets and ServiceAccounts, plus one Deployment of an image that is in no
//! cluster and never pulled (pull policy Never: no image or registry is ever needed), and
//! checks what it sees through the Kubernetes API. The fake plays the kubelet for that one
//! through [`Target::image_missing`]. The list is [`shared_scenarios!`]: a suite turns each
//! name into a test with its own macro, so both suites run the same list. Scenarios that
//! need controllers to act in a precise way (each other diagnosis, readiness figures, logs,
//! port-forward, pods being replaced) stay in `fake_cluster.rs`, where its hooks play them.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use deploykit_cluster::release::{self, Release};
use deploykit_cluster::{
    Change, ChartMetadata, Cluster, ClusterOptions, DeployOutcome, DiffAction, Error, Progress,
    ReleaseRequest, RollbackOptions, Status,
};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::Api;
use kube::api::{ListParams, Patch, PatchParams, PostParams};
use serde_json::json;
use tokio_util::sync::CancellationToken;

/// Calls `$test!(name)` for every shared scenario; each name is a function of this module
/// taking a [`Target`].
macro_rules! shared_scenarios {
    ($test:ident) => {
        $test!(install_records_a_helm_revision_and_marks_objects);
        $test!(redeploying_the_same_release_writes_nothing);
        $test!(upgrade_prunes_only_what_left_the_release_and_honours_keep);
        $test!(apply_conflicts_name_the_owning_manager_and_force_takes_over);
        $test!(applied_change_kinds_are_reported);
        $test!(diff_shows_what_an_apply_would_change_and_writes_nothing);
        $test!(rollback_reapplies_a_stored_revision_as_a_new_one);
        $test!(uninstall_deletes_objects_and_records_but_keeps_kept_ones);
        $test!(records_round_trip_with_everything_helm_stores);
        $test!(reads_a_release_helm_wrote_and_upgrades_it);
        $test!(ctrl_c_while_applying_records_the_revision_failed);
        $test!(an_image_missing_from_the_cluster_is_diagnosed_and_atomic_rolls_back);
        $test!(a_stale_pending_revision_is_taken_over_with_a_message);
        $test!(a_pending_upgrade_left_without_a_lease_is_taken_over);
        $test!(a_recent_pending_upgrade_without_a_lease_is_left_to_its_writer);
        $test!(a_second_concurrent_deploy_refuses_naming_the_first_or_waits_for_it);
    };
}
pub(crate) use shared_scenarios;

/// Where a scenario runs.
pub struct Target<'a> {
    /// deploykit's client.
    pub cluster: &'a Cluster,
    /// A kube client of the suite's own, for what the scenarios check behind deploykit's
    /// back (deploykit's [`Cluster`] hands out no client).
    pub client: kube::Client,
    /// A namespace for this scenario alone (deploys create it; the suite removes it).
    pub namespace: &'a str,
    /// The server's count of client writes, when the suite can see it (the fake can).
    pub writes: Option<WriteCounter<'a>>,
    /// Where no kubelet runs (the fake): shows a pod of Deployment `web` waiting with
    /// `ErrImageNeverPull` for the image given, as a kubelet reports it. None on a real
    /// cluster, whose kubelet does it.
    pub image_missing: Option<Kubelet<'a>>,
}

/// A kube client for the kubeconfig at `path` (None: `KUBECONFIG` or `~/.kube/config`)
/// and `context` (None: its current context).
pub async fn kube_client(path: Option<&std::path::Path>, context: Option<&str>) -> kube::Client {
    let options = kube::config::KubeConfigOptions {
        context: context.map(str::to_string),
        ..Default::default()
    };
    let config = match path {
        Some(path) => {
            let kubeconfig = kube::config::Kubeconfig::read_from(path).unwrap();
            kube::Config::from_custom_kubeconfig(kubeconfig, &options)
                .await
                .unwrap()
        }
        None => kube::Config::from_kubeconfig(&options).await.unwrap(),
    };
    kube::Client::try_from(config).unwrap()
}

/// Counts the API server's client writes.
pub type WriteCounter<'a> = Box<dyn Fn() -> usize + Send + Sync + 'a>;

/// Plays a kubelet's part for an image.
pub type Kubelet<'a> = Box<dyn Fn(&str) + Send + Sync + 'a>;

impl Target<'_> {
    fn config_maps(&self) -> Api<ConfigMap> {
        Api::namespaced(self.client.clone(), self.namespace)
    }

    fn secrets(&self) -> Api<Secret> {
        Api::namespaced(self.client.clone(), self.namespace)
    }

    /// `data.value` of a ConfigMap, None when it does not exist.
    async fn value_of(&self, name: &str) -> Option<String> {
        let live = self.config_maps().get_opt(name).await.unwrap()?;
        Some(
            live.data
                .unwrap_or_default()
                .remove("value")
                .unwrap_or_default(),
        )
    }

    /// Names of the ConfigMaps in the namespace, sorted (without the CA bundle real
    /// clusters put in every namespace).
    async fn config_map_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .config_maps()
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .filter_map(|c| c.metadata.name)
            .filter(|n| n != "kube-root-ca.crt")
            .collect();
        names.sort();
        names
    }

    async fn history(&self) -> Vec<(u32, Status)> {
        statuses(&self.cluster.history(RELEASE, self.namespace).await.unwrap())
    }

    /// A client of the same cluster with another lease identity.
    fn client_named(&self, identity: &str) -> Cluster {
        self.cluster.clone().with_options(ClusterOptions {
            poll_interval: Duration::from_millis(200),
            lease_duration: Duration::from_secs(30),
            identity: identity.into(),
        })
    }
}

/// The release every scenario deploys.
pub const RELEASE: &str = "web";

fn chart() -> ChartMetadata {
    ChartMetadata {
        name: "web".into(),
        version: "0.1.0".into(),
        app_version: "1.0".into(),
        api_version: "v2".into(),
        description: "deploykit's shared scenarios".into(),
        ..Default::default()
    }
}

/// A ConfigMap `name` holding `value`, as a chart renders it (with its `# Source:` line).
pub fn config_map(name: &str, value: &str) -> String {
    format!(
        "# Source: web/templates/{name}.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  value: \"{value}\"\n"
    )
}

/// A ConfigMap annotated `helm.sh/resource-policy: keep`.
pub fn kept_config_map(name: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  annotations:\n    helm.sh/resource-policy: keep\ndata:\n  value: kept\n"
    )
}

fn service_account(name: &str) -> String {
    format!("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {name}\n")
}

fn secret(name: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\ntype: Opaque\ndata:\n  token: {}\n",
        base64::engine::general_purpose::STANDARD.encode("not-a-real-token")
    )
}

fn request(target: &Target<'_>, manifests: Vec<String>) -> ReleaseRequest {
    let mut request = ReleaseRequest::new(RELEASE, target.namespace, chart(), manifests);
    request.timeout = Duration::from_secs(60);
    request.values = serde_json::from_value(json!({"image": {"tag": "v1"}})).unwrap();
    request
}

type Events = Arc<Mutex<Vec<Progress>>>;

async fn deploy_as(
    cluster: &Cluster,
    request: &ReleaseRequest,
) -> (Result<DeployOutcome, Error>, Vec<Progress>) {
    let events: Events = Arc::default();
    let sink = events.clone();
    let result = cluster
        .deploy(
            request,
            &mut move |e| sink.lock().unwrap().push(e),
            &CancellationToken::new(),
        )
        .await;
    let events = events.lock().unwrap().clone();
    (result, events)
}

async fn deploy(
    target: &Target<'_>,
    request: &ReleaseRequest,
) -> (Result<DeployOutcome, Error>, Vec<Progress>) {
    deploy_as(target.cluster, request).await
}

/// Each revision with its status.
pub fn statuses(history: &[Release]) -> Vec<(u32, Status)> {
    history.iter().map(|r| (r.version, r.info.status)).collect()
}

fn applied(events: &[Progress]) -> Vec<(String, Change)> {
    events
        .iter()
        .filter_map(|e| match e {
            Progress::Applied { object, change } => {
                Some((format!("{}/{}", object.kind, object.name), *change))
            }
            _ => None,
        })
        .collect()
}

async fn leases(target: &Target<'_>) -> Vec<String> {
    let api: Api<Lease> = Api::namespaced(target.client.clone(), target.namespace);
    api.list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|l| l.metadata.name)
        .collect()
}

pub async fn install_records_a_helm_revision_and_marks_objects(target: &Target<'_>) {
    let manifests = vec![
        config_map("settings", "a"),
        secret("credentials"),
        service_account("runner"),
    ];
    let (outcome, events) = deploy(target, &request(target, manifests)).await;
    let outcome = outcome.unwrap();
    assert_eq!(
        (outcome.revision, outcome.created, outcome.unchanged),
        (1, 3, false)
    );
    assert_eq!(
        events.first(),
        Some(&Progress::Started {
            revision: 1,
            status: Status::PendingInstall
        })
    );
    let order: Vec<String> = applied(&events).into_iter().map(|(o, _)| o).collect();
    assert_eq!(
        order,
        [
            "ServiceAccount/runner",
            "Secret/credentials",
            "ConfigMap/settings"
        ],
        "Helm's install order"
    );

    let record = target
        .secrets()
        .get("sh.helm.release.v1.web.v1")
        .await
        .unwrap();
    assert_eq!(record.type_.as_deref(), Some("helm.sh/release.v1"));
    let labels = record.metadata.labels.unwrap_or_default();
    for (label, value) in [
        ("name", "web"),
        ("owner", "helm"),
        ("status", "deployed"),
        ("version", "1"),
    ] {
        assert_eq!(
            labels.get(label).map(String::as_str),
            Some(value),
            "{label}"
        );
    }
    let history = target
        .cluster
        .history(RELEASE, target.namespace)
        .await
        .unwrap();
    assert_eq!(statuses(&history), [(1, Status::Deployed)]);
    assert_eq!(history[0].info.description, "Install complete");
    assert!(
        history[0]
            .manifest
            .starts_with("---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: runner\n"),
        "{}",
        history[0].manifest
    );
    assert_eq!(history[0].config["image"]["tag"], "v1");

    let live = target.config_maps().get("settings").await.unwrap();
    let meta = live.metadata;
    let managers: Vec<(String, String)> = meta
        .managed_fields
        .unwrap_or_default()
        .into_iter()
        .map(|m| {
            (
                m.manager.unwrap_or_default(),
                m.operation.unwrap_or_default(),
            )
        })
        .collect();
    assert!(
        managers.contains(&("deploykit".into(), "Apply".into())),
        "{managers:?}"
    );
    let labels = meta.labels.unwrap_or_default();
    assert_eq!(
        labels
            .get("app.kubernetes.io/managed-by")
            .map(String::as_str),
        Some("Helm")
    );
    let annotations = meta.annotations.unwrap_or_default();
    assert_eq!(
        annotations
            .get("meta.helm.sh/release-name")
            .map(String::as_str),
        Some("web")
    );
    assert_eq!(
        annotations
            .get("meta.helm.sh/release-namespace")
            .map(String::as_str),
        Some(target.namespace)
    );
    assert!(leases(target).await.is_empty(), "the lease is released");

    let status = target
        .cluster
        .status(RELEASE, target.namespace)
        .await
        .unwrap();
    assert_eq!(status.release.info.status, Status::Deployed);
    assert!(status.workloads.is_empty(), "{:?}", status.workloads);
}

pub async fn redeploying_the_same_release_writes_nothing(target: &Target<'_>) {
    let manifests = vec![
        config_map("a", "1"),
        config_map("b", "1"),
        service_account("runner"),
    ];
    deploy(target, &request(target, manifests.clone()))
        .await
        .0
        .unwrap();
    let versions = |items: Vec<ConfigMap>| -> Vec<Option<String>> {
        items
            .into_iter()
            .map(|c| c.metadata.resource_version)
            .collect()
    };
    let before = versions(
        target
            .config_maps()
            .list(&ListParams::default())
            .await
            .unwrap()
            .items,
    );
    let writes_before = target.writes.as_ref().map(|w| w());

    let (outcome, events) = deploy(target, &request(target, manifests)).await;
    let outcome = outcome.unwrap();
    assert!(outcome.unchanged);
    assert_eq!(outcome.revision, 1);
    assert!(events.contains(&Progress::UpToDate { revision: 1 }));
    assert_eq!(target.history().await, [(1, Status::Deployed)]);
    let after = versions(
        target
            .config_maps()
            .list(&ListParams::default())
            .await
            .unwrap()
            .items,
    );
    assert_eq!(before, after, "no object was rewritten");
    if let Some(writes) = &target.writes {
        assert_eq!(Some(writes()), writes_before, "no write at all");
    }
}

pub async fn upgrade_prunes_only_what_left_the_release_and_honours_keep(target: &Target<'_>) {
    deploy(
        target,
        &request(
            target,
            vec![
                config_map("a", "1"),
                config_map("b", "1"),
                kept_config_map("c"),
            ],
        ),
    )
    .await
    .0
    .unwrap();
    let not_ours: ConfigMap = serde_json::from_value(
        json!({"metadata": {"name": "not-ours"}, "data": {"value": "someone else's"}}),
    )
    .unwrap();
    target
        .config_maps()
        .create(&PostParams::default(), &not_ours)
        .await
        .unwrap();

    let (outcome, events) = deploy(target, &request(target, vec![config_map("a", "2")])).await;
    let outcome = outcome.unwrap();
    assert_eq!(
        (outcome.revision, outcome.configured, outcome.deleted),
        (2, 1, 1)
    );
    assert!(events.contains(&Progress::Started {
        revision: 2,
        status: Status::PendingUpgrade
    }));
    assert_eq!(target.config_map_names().await, ["a", "c", "not-ours"]);
    assert_eq!(target.value_of("a").await.as_deref(), Some("2"));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Progress::Kept { object } if object.name == "c"))
    );
    let history = target
        .cluster
        .history(RELEASE, target.namespace)
        .await
        .unwrap();
    assert_eq!(
        statuses(&history),
        [(1, Status::Superseded), (2, Status::Deployed)]
    );
    assert_eq!(history[1].info.description, "Upgrade complete");
    assert_eq!(
        history[1].info.first_deployed,
        history[0].info.first_deployed
    );
}

pub async fn apply_conflicts_name_the_owning_manager_and_force_takes_over(target: &Target<'_>) {
    target
        .cluster
        .ensure_namespace(target.namespace)
        .await
        .unwrap();
    let theirs = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"value": "theirs"}});
    target
        .config_maps()
        .patch(
            "settings",
            &PatchParams::apply("kubectl-edit"),
            &Patch::Apply(&theirs),
        )
        .await
        .unwrap();

    let err = deploy(
        target,
        &request(target, vec![config_map("settings", "ours")]),
    )
    .await
    .0
    .unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(&err, Error::Conflict { manager, fields, .. } if manager == "kubectl-edit" && fields.contains(".data.value")),
        "{text}"
    );
    assert!(text.contains("--force-conflicts"), "{text}");
    assert_eq!(target.history().await, [(1, Status::Failed)]);
    assert_eq!(target.value_of("settings").await.as_deref(), Some("theirs"));

    let mut forced = request(target, vec![config_map("settings", "ours")]);
    forced.force_conflicts = true;
    let outcome = deploy(target, &forced).await.0.unwrap();
    assert_eq!(outcome.revision, 2);
    assert_eq!(target.value_of("settings").await.as_deref(), Some("ours"));
    assert_eq!(
        target.history().await,
        [(1, Status::Failed), (2, Status::Deployed)]
    );
}

pub async fn applied_change_kinds_are_reported(target: &Target<'_>) {
    deploy(
        target,
        &request(target, vec![config_map("a", "1"), config_map("b", "1")]),
    )
    .await
    .0
    .unwrap();
    let (outcome, events) = deploy(
        target,
        &request(
            target,
            vec![
                config_map("a", "2"),
                config_map("b", "1"),
                config_map("c", "1"),
            ],
        ),
    )
    .await;
    let outcome = outcome.unwrap();
    assert_eq!(
        (
            outcome.created,
            outcome.configured,
            outcome.unchanged_objects
        ),
        (1, 1, 1)
    );
    assert_eq!(
        applied(&events),
        [
            ("ConfigMap/a".to_string(), Change::Configured),
            ("ConfigMap/b".to_string(), Change::Unchanged),
            ("ConfigMap/c".to_string(), Change::Created)
        ]
    );
}

pub async fn diff_shows_what_an_apply_would_change_and_writes_nothing(target: &Target<'_>) {
    deploy(
        target,
        &request(
            target,
            vec![
                config_map("a", "1"),
                config_map("b", "1"),
                config_map("same", "1"),
                kept_config_map("kept"),
            ],
        ),
    )
    .await
    .0
    .unwrap();
    let writes_before = target.writes.as_ref().map(|w| w());
    let diffs = target
        .cluster
        .diff(&request(
            target,
            vec![
                config_map("a", "2"),
                config_map("new", "1"),
                config_map("same", "1"),
            ],
        ))
        .await
        .unwrap();
    if let Some(writes) = &target.writes {
        assert_eq!(Some(writes()), writes_before, "diff writes nothing");
    }
    let summary: Vec<(String, DiffAction)> = diffs
        .iter()
        .map(|d| (d.object.name.clone(), d.action.clone()))
        .collect();
    assert_eq!(
        summary,
        [
            ("a".into(), DiffAction::Update),
            ("new".into(), DiffAction::Create),
            ("same".into(), DiffAction::Unchanged),
            ("b".into(), DiffAction::Delete),
            ("kept".into(), DiffAction::Keep),
        ]
    );
    assert_eq!(diffs[0].fields.len(), 1);
    assert_eq!(diffs[0].fields[0].path, "data.value");
    assert_eq!(diffs[0].fields[0].live, Some(json!("1")));
    assert_eq!(diffs[0].fields[0].desired, Some(json!("2")));
    assert!(
        diffs[0]
            .to_string()
            .ends_with("\n    data.value: \"1\" -> \"2\""),
        "{}",
        diffs[0]
    );
    assert_eq!(target.value_of("a").await.as_deref(), Some("1"));
    assert_eq!(target.value_of("new").await, None);
    assert_eq!(target.history().await, [(1, Status::Deployed)]);
}

pub async fn rollback_reapplies_a_stored_revision_as_a_new_one(target: &Target<'_>) {
    deploy(
        target,
        &request(target, vec![config_map("a", "1"), config_map("b", "1")]),
    )
    .await
    .0
    .unwrap();
    deploy(target, &request(target, vec![config_map("a", "2")]))
        .await
        .0
        .unwrap();
    let rollback = |revision: Option<u32>| async move {
        let mut events = Vec::new();
        let outcome = target
            .cluster
            .rollback(
                RELEASE,
                target.namespace,
                &RollbackOptions {
                    revision,
                    timeout: Duration::from_secs(60),
                    force_conflicts: false,
                },
                &mut |event| events.push(event),
                &CancellationToken::new(),
            )
            .await;
        outcome.map(|outcome| (outcome, events))
    };
    let (outcome, events) = rollback(None).await.unwrap();
    assert_eq!(outcome.revision, 3);
    assert!(events.contains(&Progress::Started {
        revision: 3,
        status: Status::PendingRollback
    }));
    assert_eq!(target.value_of("a").await.as_deref(), Some("1"));
    assert_eq!(
        target.value_of("b").await.as_deref(),
        Some("1"),
        "b comes back"
    );
    let history = target
        .cluster
        .history(RELEASE, target.namespace)
        .await
        .unwrap();
    assert_eq!(
        statuses(&history),
        [
            (1, Status::Superseded),
            (2, Status::Superseded),
            (3, Status::Deployed)
        ]
    );
    assert_eq!(history[2].info.description, "Rollback to 1");

    let (outcome, _) = rollback(Some(2)).await.unwrap();
    assert_eq!(outcome.revision, 4);
    assert_eq!(target.config_map_names().await, ["a"]);

    let err = rollback(Some(9)).await.unwrap_err();
    assert!(err.to_string().contains("has no revision 9"), "{err}");
}

pub async fn uninstall_deletes_objects_and_records_but_keeps_kept_ones(target: &Target<'_>) {
    deploy(
        target,
        &request(
            target,
            vec![
                config_map("settings", "1"),
                service_account("runner"),
                kept_config_map("data"),
            ],
        ),
    )
    .await
    .0
    .unwrap();
    deploy(
        target,
        &request(
            target,
            vec![
                config_map("settings", "2"),
                service_account("runner"),
                kept_config_map("data"),
            ],
        ),
    )
    .await
    .0
    .unwrap();
    let outcome = target
        .cluster
        .uninstall(RELEASE, target.namespace, &mut |_| {})
        .await
        .unwrap();
    assert_eq!(outcome.revision, 2);
    let deleted: Vec<String> = outcome
        .deleted
        .iter()
        .map(|o| format!("{}/{}", o.kind, o.name))
        .collect();
    assert_eq!(
        deleted,
        ["ConfigMap/settings", "ServiceAccount/runner"],
        "Helm's uninstall order"
    );
    let kept: Vec<&str> = outcome.kept.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(kept, ["data"]);
    assert_eq!(target.config_map_names().await, ["data"]);
    assert!(target.history().await.is_empty(), "records removed");

    let err = target
        .cluster
        .uninstall(RELEASE, target.namespace, &mut |_| {})
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains(&format!(
            "release `web` not found in namespace `{}`",
            target.namespace
        )),
        "{err}"
    );
}

pub async fn records_round_trip_with_everything_helm_stores(target: &Target<'_>) {
    let mut first = request(target, vec![config_map("a", "1")]);
    first.notes = "Open http://127.0.0.1:3000\n".into();
    first.chart.values = json!({"replicas": 1, "image": {"tag": "latest"}});
    first.values =
        serde_json::from_value(json!({"image": {"tag": "v1"}, "list": [1, "two"]})).unwrap();
    deploy(target, &first).await.0.unwrap();
    let mut second = first.clone();
    second.manifests = vec![config_map("a", "2")];
    second.chart.metadata.version = "0.2.0".into();
    deploy(target, &second).await.0.unwrap();

    let history = target
        .cluster
        .history(RELEASE, target.namespace)
        .await
        .unwrap();
    assert_eq!(history.len(), 2);
    for (record, sent) in history.iter().zip([&first, &second]) {
        assert_eq!(record.name, RELEASE);
        assert_eq!(record.namespace, target.namespace);
        assert_eq!(record.info.notes, sent.notes);
        assert_eq!(record.config, sent.values);
        let chart = record.chart.as_ref().unwrap();
        assert_eq!(chart, &sent.chart);
        assert!(!record.info.first_deployed.is_empty());
        assert!(!record.info.last_deployed.is_empty());
    }
    assert!(history[1].manifest.contains("value: \"2\""));

    // Encoding a record read back gives the same record (what a rewrite of the status does).
    let secret = release::to_secret(&history[0], ("createdAt", 1)).unwrap();
    assert_eq!(release::from_secret(&secret).unwrap(), history[0]);
}

pub async fn reads_a_release_helm_wrote_and_upgrades_it(target: &Target<'_>) {
    target
        .cluster
        .ensure_namespace(target.namespace)
        .await
        .unwrap();
    // As Helm's Go structs serialize it (json.Marshal, map keys sorted), gzip, base64.
    let helm_json = json!({"name": "web", "info": {"first_deployed": "2025-06-01T10:00:00.123456789+02:00",
        "last_deployed": "2025-06-01T10:00:00.123456789+02:00", "deleted": "", "description": "Install complete",
        "status": "deployed", "notes": "visit it"},
        "chart": {"metadata": {"name": "web", "version": "0.1.0", "description": "demo", "apiVersion": "v2",
            "appVersion": "1.0", "type": "application"}, "lock": null,
            "templates": [{"name": "templates/cm.yaml", "data": "YXBpVmVyc2lvbjogdjEK"}],
            "values": {"replicas": 1}, "schema": null, "files": []},
        "config": {"image": {"tag": "v0"}},
        "manifest": "---\n# Source: web/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-helm\ndata:\n  value: \"1\"\n",
        "version": 1, "namespace": target.namespace});
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut gz, helm_json.to_string().as_bytes()).unwrap();
    let encoded = base64::engine::general_purpose::STANDARD.encode(gz.finish().unwrap());
    let record: Secret = serde_json::from_value(json!({"type": "helm.sh/release.v1",
        "metadata": {"name": "sh.helm.release.v1.web.v1", "labels": {"name": "web", "owner": "helm", "status": "deployed", "version": "1", "createdAt": "1748764800"}},
        "data": {"release": base64::engine::general_purpose::STANDARD.encode(encoded)}}))
    .unwrap();
    target
        .secrets()
        .create(&PostParams::default(), &record)
        .await
        .unwrap();
    let from_helm: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "from-helm"}, "data": {"value": "1"}}))
            .unwrap();
    target
        .config_maps()
        .create(&PostParams::default(), &from_helm)
        .await
        .unwrap();

    let history = target
        .cluster
        .history(RELEASE, target.namespace)
        .await
        .unwrap();
    assert_eq!(statuses(&history), [(1, Status::Deployed)]);
    assert_eq!(history[0].info.notes, "visit it");
    assert_eq!(history[0].config["image"]["tag"], "v0");
    let chart = history[0].chart.as_ref().unwrap();
    assert_eq!(chart.metadata.chart_type, "application");
    assert_eq!(chart.values["replicas"], 1);

    let outcome = deploy(target, &request(target, vec![config_map("settings", "1")]))
        .await
        .0
        .unwrap();
    assert_eq!(
        (outcome.revision, outcome.deleted),
        (2, 1),
        "Helm's object is pruned"
    );
    assert_eq!(target.config_map_names().await, ["settings"]);
    let history = target
        .cluster
        .history(RELEASE, target.namespace)
        .await
        .unwrap();
    assert_eq!(
        statuses(&history),
        [(1, Status::Superseded), (2, Status::Deployed)]
    );
    assert_eq!(
        history[1].info.first_deployed,
        history[0].info.first_deployed
    );
    assert_eq!(
        history[0].chart.as_ref().unwrap().templates[0]["name"],
        "templates/cm.yaml",
        "Helm's fields survive the rewrite to superseded"
    );
}

/// An image that is in no cluster, never pulled (pull policy Never): no network is used.
const ABSENT_IMAGE: &str = "deploykit-e2e.invalid/absent:never";

fn deployment_of_absent_image() -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n      - name: web\n        image: {ABSENT_IMAGE}\n        imagePullPolicy: Never\n"
    )
}

fn assert_image_not_in_cluster(err: &Error, revision: u32, rolled_back_to: u32) {
    let text = err.to_string();
    let Error::RolloutFailed {
        revision: failed,
        diagnosis,
        rolled_back_to: restored,
        ..
    } = err
    else {
        panic!("expected a rollout failure, got {text}")
    };
    assert_eq!(
        (*failed, *restored),
        (revision, Some(rolled_back_to)),
        "{text}"
    );
    assert_eq!(
        diagnosis.problems[0].cause,
        deploykit_cluster::Cause::ImageNotInCluster,
        "{text}"
    );
    assert!(
        text.contains(ABSENT_IMAGE) && text.contains("build the image into the cluster's runtime"),
        "{text}"
    );
}

pub async fn an_image_missing_from_the_cluster_is_diagnosed_and_atomic_rolls_back(
    target: &Target<'_>,
) {
    if let Some(image_missing) = &target.image_missing {
        target
            .cluster
            .ensure_namespace(target.namespace)
            .await
            .unwrap();
        image_missing(ABSENT_IMAGE);
    }
    let deployments: Api<k8s_openapi::api::apps::v1::Deployment> =
        Api::namespaced(target.client.clone(), target.namespace);

    // An atomic first install that cannot become ready is removed.
    let mut install = request(
        target,
        vec![config_map("settings", "1"), deployment_of_absent_image()],
    );
    install.atomic = true;
    let err = deploy(target, &install).await.0.unwrap_err();
    assert_image_not_in_cluster(&err, 1, 0);
    assert!(target.history().await.is_empty());
    assert_eq!(target.value_of("settings").await, None);
    assert!(deployments.get_opt("web").await.unwrap().is_none());

    // An atomic upgrade that cannot become ready goes back to the deployed revision.
    deploy(target, &request(target, vec![config_map("settings", "1")]))
        .await
        .0
        .unwrap();
    let mut upgrade = request(
        target,
        vec![config_map("settings", "2"), deployment_of_absent_image()],
    );
    upgrade.atomic = true;
    let (result, events) = deploy(target, &upgrade).await;
    assert_image_not_in_cluster(&result.unwrap_err(), 2, 1);
    assert!(events.contains(&Progress::RollingBack { to: 1 }));
    let history = target
        .cluster
        .history(RELEASE, target.namespace)
        .await
        .unwrap();
    assert_eq!(
        statuses(&history),
        [
            (1, Status::Superseded),
            (2, Status::Failed),
            (3, Status::Deployed)
        ]
    );
    assert!(
        history[1]
            .info
            .description
            .starts_with("Upgrade \"web\" failed: Deployment/web"),
        "Helm's words, then the diagnosis in one line: {}",
        history[1].info.description
    );
    assert_eq!(history[2].info.description, "Rollback to 1");
    assert_eq!(target.value_of("settings").await.as_deref(), Some("1"));
    assert!(deployments.get_opt("web").await.unwrap().is_none());
}

pub async fn ctrl_c_while_applying_records_the_revision_failed(target: &Target<'_>) {
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    let manifests = vec![config_map("a", "1"), config_map("b", "1")];
    let err = target
        .cluster
        .deploy(
            &request(target, manifests.clone()),
            &mut move |event| {
                // Ctrl-C right after the first object is applied.
                if matches!(event, Progress::Applied { .. }) {
                    trigger.cancel();
                }
            },
            &cancel,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Interrupted { revision: 1, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("recorded as failed"), "{err}");
    let history = target
        .cluster
        .history(RELEASE, target.namespace)
        .await
        .unwrap();
    assert_eq!(statuses(&history), [(1, Status::Failed)]);
    assert!(
        history[0]
            .info
            .description
            .ends_with("failed: context canceled"),
        "{}",
        history[0].info.description
    );
    assert!(leases(target).await.is_empty(), "the lease is released");

    let outcome = deploy(target, &request(target, manifests)).await.0.unwrap();
    assert_eq!(outcome.revision, 2);
    assert_eq!(
        target.history().await,
        [(1, Status::Failed), (2, Status::Deployed)]
    );
    assert_eq!(target.config_map_names().await, ["a", "b"]);

    // Ctrl-C during an upgrade: that revision fails, the deployed one stays deployed.
    let upgrade = request(target, vec![config_map("a", "2"), config_map("b", "2")]);
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    let err = target
        .cluster
        .deploy(
            &upgrade,
            &mut move |event| {
                if matches!(event, Progress::Applied { .. }) {
                    trigger.cancel();
                }
            },
            &cancel,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Interrupted { revision: 3, .. }),
        "{err}"
    );
    assert_eq!(
        target.history().await,
        [
            (1, Status::Failed),
            (2, Status::Deployed),
            (3, Status::Failed)
        ]
    );
    assert_eq!(
        target.value_of("b").await.as_deref(),
        Some("1"),
        "not reached"
    );
    assert!(leases(target).await.is_empty(), "the lease is released");
    let outcome = deploy(target, &upgrade).await.0.unwrap();
    assert_eq!(outcome.revision, 4);
    assert_eq!(
        target.history().await,
        [
            (1, Status::Failed),
            (2, Status::Superseded),
            (3, Status::Failed),
            (4, Status::Deployed)
        ]
    );
    assert_eq!(target.value_of("b").await.as_deref(), Some("2"));
}

pub async fn a_stale_pending_revision_is_taken_over_with_a_message(target: &Target<'_>) {
    target
        .cluster
        .ensure_namespace(target.namespace)
        .await
        .unwrap();
    let long_ago = chrono::Utc::now() - chrono::Duration::hours(1);
    let mut stale = Release::new(
        RELEASE,
        target.namespace,
        1,
        Status::PendingInstall,
        "Initial install underway",
        long_ago,
    );
    stale.manifest = "---\n".to_string() + &config_map("old", "1");
    let record = release::to_secret(&stale, ("createdAt", long_ago.timestamp())).unwrap();
    target
        .secrets()
        .create(&PostParams::default(), &record)
        .await
        .unwrap();
    let holder = "deploykit@laptop pid 42";
    let lease: Lease = serde_json::from_value(json!({"metadata": {"name": "deploykit.web"},
        "spec": {"holderIdentity": holder, "leaseDurationSeconds": 30,
            "acquireTime": release::go_time(long_ago), "renewTime": release::go_time(long_ago)}}))
    .unwrap();
    Api::<Lease>::namespaced(target.client.clone(), target.namespace)
        .create(&PostParams::default(), &lease)
        .await
        .unwrap();

    let (outcome, events) =
        deploy(target, &request(target, vec![config_map("settings", "1")])).await;
    let outcome = outcome.unwrap();
    assert_eq!(outcome.revision, 2);
    assert_eq!(outcome.took_over.as_deref(), Some(holder));
    assert!(events.contains(&Progress::TookOver {
        revision: 1,
        status: Status::PendingInstall,
        holder: Some(holder.into())
    }));
    let history = target
        .cluster
        .history(RELEASE, target.namespace)
        .await
        .unwrap();
    assert_eq!(
        statuses(&history),
        [(1, Status::Failed), (2, Status::Deployed)]
    );
    assert!(
        history[0]
            .info
            .description
            .contains("deploykit@laptop pid 42 stopped"),
        "{}",
        history[0].info.description
    );
    // As `helm upgrade --install` after a failed first install: an upgrade.
    assert_eq!(history[1].info.description, "Upgrade complete");
    assert!(leases(target).await.is_empty(), "the stale lease is gone");
}

/// Revision 1 deployed (`a` = 1), then a revision 2 record `pending-upgrade` written
/// `age` ago (`a` = 2) with no lease, as a client that takes none would leave it.
async fn deployed_then_pending_without_lease(target: &Target<'_>, age: chrono::Duration) {
    deploy(target, &request(target, vec![config_map("a", "1")]))
        .await
        .0
        .unwrap();
    let mut pending = Release::new(
        RELEASE,
        target.namespace,
        2,
        Status::PendingUpgrade,
        "Preparing upgrade",
        chrono::Utc::now() - age,
    );
    pending.manifest = "---\n".to_string() + &config_map("a", "2");
    let record = release::to_secret(&pending, ("createdAt", 2)).unwrap();
    target
        .secrets()
        .create(&PostParams::default(), &record)
        .await
        .unwrap();
}

pub async fn a_pending_upgrade_left_without_a_lease_is_taken_over(target: &Target<'_>) {
    // A client that crashed before it took a lease (or whose lease was deleted).
    deployed_then_pending_without_lease(target, chrono::Duration::minutes(10)).await;

    let (outcome, events) = deploy(target, &request(target, vec![config_map("a", "3")])).await;
    let outcome = outcome.unwrap();
    assert_eq!((outcome.revision, outcome.took_over), (3, None));
    assert!(events.contains(&Progress::TookOver {
        revision: 2,
        status: Status::PendingUpgrade,
        holder: None
    }));
    let history = target
        .cluster
        .history(RELEASE, target.namespace)
        .await
        .unwrap();
    assert_eq!(
        statuses(&history),
        [
            (1, Status::Superseded),
            (2, Status::Failed),
            (3, Status::Deployed)
        ]
    );
    assert!(
        history[1]
            .info
            .description
            .contains("its client stopped (no lease held)"),
        "{}",
        history[1].info.description
    );
    assert_eq!(target.value_of("a").await.as_deref(), Some("3"));
}

/// Helm holds no lease: a pending revision it wrote a minute ago may still be in progress,
/// so deploykit refuses, says until when, and changes nothing.
pub async fn a_recent_pending_upgrade_without_a_lease_is_left_to_its_writer(target: &Target<'_>) {
    deployed_then_pending_without_lease(target, chrono::Duration::minutes(1)).await;

    let (outcome, _) = deploy(target, &request(target, vec![config_map("a", "3")])).await;
    let err = outcome.unwrap_err();
    assert!(
        matches!(
            &err,
            Error::PendingElsewhere {
                revision: 2,
                status: Status::PendingUpgrade,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("wait for it to finish"), "{err}");
    let history = target
        .cluster
        .history(RELEASE, target.namespace)
        .await
        .unwrap();
    assert_eq!(
        statuses(&history),
        [(1, Status::Deployed), (2, Status::PendingUpgrade)]
    );
    assert_eq!(target.value_of("a").await.as_deref(), Some("1"));
    assert!(leases(target).await.is_empty(), "the lease is given back");
}

/// Needs a multi-threaded runtime: the first deploy is held inside its progress callback.
pub async fn a_second_concurrent_deploy_refuses_naming_the_first_or_waits_for_it(
    target: &Target<'_>,
) {
    let first = target.client_named("deploykit@first-laptop");
    let second = target.client_named("deploykit@ci-runner");
    // The first deploy stops after applying its first object until told to go on.
    let (go_on, held) = std::sync::mpsc::channel::<()>();
    let (applying_tx, applying) = tokio::sync::oneshot::channel::<()>();
    let running = {
        let request = request(target, vec![config_map("a", "1"), config_map("b", "1")]);
        let mut applying_tx = Some(applying_tx);
        tokio::spawn(async move {
            first
                .deploy(
                    &request,
                    &mut move |event| {
                        if let Progress::Applied { .. } = event
                            && let Some(tx) = applying_tx.take()
                        {
                            let _ = tx.send(());
                            tokio::task::block_in_place(|| {
                                let _ = held.recv_timeout(Duration::from_secs(60));
                            });
                        }
                    },
                    &CancellationToken::new(),
                )
                .await
        })
    };
    if applying.await.is_err() {
        panic!("the first deploy ended early: {:?}", running.await);
    }

    let err = deploy_as(&second, &request(target, vec![config_map("a", "2")]))
        .await
        .0
        .unwrap_err();
    assert!(
        matches!(&err, Error::Locked { holder, .. } if holder == "deploykit@first-laptop"),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("being changed by deploykit@first-laptop"),
        "{err}"
    );

    // With a lock wait, the second deploy waits and goes on once the first is done.
    let mut patient = request(target, vec![config_map("a", "2")]);
    patient.lock_wait = Duration::from_secs(60);
    let seen: Events = Arc::default();
    let waiting = {
        let seen = seen.clone();
        tokio::spawn(async move {
            second
                .deploy(
                    &patient,
                    &mut move |e| seen.lock().unwrap().push(e),
                    &CancellationToken::new(),
                )
                .await
        })
    };
    let told_to_wait = |events: &[Progress]| {
        events.iter().any(|e| {
            matches!(e, Progress::WaitingForLock { holder, .. } if holder == "deploykit@first-laptop")
        })
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !told_to_wait(&seen.lock().unwrap()) {
        assert!(tokio::time::Instant::now() < deadline, "never waited");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    go_on.send(()).unwrap();
    assert_eq!(running.await.unwrap().unwrap().revision, 1);
    assert_eq!(waiting.await.unwrap().unwrap().revision, 2);
    assert_eq!(target.value_of("a").await.as_deref(), Some("2"));
    assert_eq!(
        target.history().await,
        [(1, Status::Superseded), (2, Status::Deployed)]
    );
}
