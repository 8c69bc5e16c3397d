//! deploykit-cluster against the fake API server: a real kube::Client over real HTTP.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use deploykit_cluster::release::Release;
use deploykit_cluster::{
    Cause, ChartMetadata, Cluster, ClusterOptions, ConnectOptions, DiffAction, Error, ForwardEvent,
    LogsRequest, PortForwardRequest, Progress, ReleaseRequest, Status, Target, connect,
    current_context,
};
use deploykit_fake_apiserver::FakeApiServer;
use deploykit_testkit::FakeCluster;
use futures::StreamExt;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

mod scenarios;

use scenarios::{config_map, kept_config_map, statuses};

const NS: &str = "todo";

struct Env {
    /// The server, the folder, and a client of its own options.
    fake: FakeCluster,
    /// The client deploying in the tests, holding leases as `test-a`.
    cluster: Cluster,
    /// A plain kube client, for what the scenarios check behind deploykit's back.
    kube: kube::Client,
}

async fn env() -> Env {
    let fake = FakeCluster::start().await;
    let cluster = fake.cluster.clone().with_options(options("test-a"));
    let kube = scenarios::kube_client(Some(&fake.kubeconfig), None).await;
    Env {
        fake,
        cluster,
        kube,
    }
}

impl Env {
    /// Deploys `manifests` as the release (see [`request`]), which must succeed.
    async fn deployed(&self, manifests: Vec<String>) -> deploykit_cluster::DeployOutcome {
        deploy(&self.cluster, &request(manifests)).await.0.unwrap()
    }

    /// This fake as a target of the shared scenarios, with its write counter.
    fn target(&self) -> scenarios::Target<'_> {
        scenarios::Target {
            cluster: &self.cluster,
            client: self.kube.clone(),
            namespace: NS,
            writes: Some(Box::new(|| self.fake.server.writes())),
            image_missing: Some(Box::new(|image| {
                let message =
                    format!("Container image \"{image}\" is not present with pull policy of Never");
                let mut pod = waiting_pod("ErrImageNeverPull", &message);
                pod["spec"]["containers"][0]["image"] = json!(image);
                pod["status"]["containerStatuses"][0]["image"] = json!(image);
                self.fake.server.put(pod);
            })),
        }
    }
}

/// The scenarios `real_cluster.rs` runs against a real cluster, here against the fake.
mod shared {
    use super::{env, scenarios};

    macro_rules! on_the_fake {
        ($name:ident) => {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let env = env().await;
                scenarios::$name(&env.target()).await;
            }
        };
    }
    scenarios::shared_scenarios!(on_the_fake);
}

/// A test client's options: quick polls, a 30 s lease held as `identity`.
fn options(identity: &str) -> ClusterOptions {
    ClusterOptions {
        poll_interval: Duration::from_millis(20),
        lease_duration: Duration::from_secs(30),
        identity: identity.into(),
    }
}

fn chart() -> ChartMetadata {
    ChartMetadata {
        name: "web".into(),
        version: "0.1.0".into(),
        app_version: "1.0".into(),
        api_version: "v2".into(),
        ..Default::default()
    }
}

fn deployment(image: &str) -> String {
    format!(
        "# Source: web/templates/deployment.yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n      - name: web\n        image: {image}\n"
    )
}

fn service() -> String {
    "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector:\n    app: web\n  ports:\n  - port: 80\n    targetPort: 8080\n".to_string()
}

fn request(manifests: Vec<String>) -> ReleaseRequest {
    let mut request = ReleaseRequest::new("web", NS, chart(), manifests);
    request.timeout = Duration::from_secs(5);
    request.values = serde_json::from_value(json!({"image": {"tag": "v1"}})).unwrap();
    request
}

type Events = Arc<Mutex<Vec<Progress>>>;

async fn deploy(
    cluster: &Cluster,
    request: &ReleaseRequest,
) -> (
    Result<deploykit_cluster::DeployOutcome, Error>,
    Vec<Progress>,
) {
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

fn pod(name: &str, status: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": NS, "labels": {"app": "web"}, "creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {"containers": [{"name": "web", "image": "web:v2", "ports": [{"name": "http", "containerPort": 8080}]}]}, "status": status})
}

fn waiting_pod(reason: &str, message: &str) -> Value {
    pod(
        "web-1",
        json!({"phase": "Pending", "containerStatuses": [{"name": "web", "image": "web:v2", "imageID": "", "ready": false, "restartCount": 5,
        "state": {"waiting": {"reason": reason, "message": message}}, "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}}}]}),
    )
}

fn ready_pod(name: &str) -> Value {
    pod(
        name,
        json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
        "containerStatuses": [{"name": "web", "image": "web:v2", "imageID": "", "ready": true, "restartCount": 0, "state": {"running": {}}}]}),
    )
}

fn namespace(server: &FakeApiServer) {
    server.put(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}));
}

#[tokio::test]
async fn install_applies_in_helm_order_and_records_a_helm_revision() {
    let env = env().await;
    env.fake.server.set_auto_ready(true);
    let (outcome, events) = deploy(
        &env.cluster,
        &request(vec![
            deployment("web:v1"),
            service(),
            config_map("settings", "a"),
        ]),
    )
    .await;
    let outcome = outcome.unwrap();
    assert_eq!(
        (outcome.revision, outcome.created, outcome.unchanged),
        (1, 3, false)
    );
    let applied: Vec<String> = events
        .iter()
        .filter_map(|e| {
            if let Progress::Applied { object, .. } = e {
                Some(object.kind.clone())
            } else {
                None
            }
        })
        .collect();
    assert_eq!(applied, ["ConfigMap", "Service", "Deployment"]);
    assert!(events.iter().any(|e| matches!(e, Progress::Workload { object, readiness: deploykit_cluster::Readiness::Ready, .. } if object.kind == "Deployment")));

    let secret = env
        .fake
        .server
        .get("v1", "Secret", Some(NS), "sh.helm.release.v1.web.v1")
        .expect("record");
    assert_eq!(secret["type"], "helm.sh/release.v1");
    for (label, value) in [
        ("name", "web"),
        ("owner", "helm"),
        ("status", "deployed"),
        ("version", "1"),
    ] {
        assert_eq!(secret["metadata"]["labels"][label], value, "{label}");
    }
    let history = env.cluster.history("web", NS).await.unwrap();
    assert_eq!(statuses(&history), [(1, Status::Deployed)]);
    assert_eq!(history[0].info.description, "Install complete");
    assert!(
        history[0].manifest.starts_with(
            "---\n# Source: web/templates/settings.yaml\napiVersion: v1\nkind: ConfigMap"
        ),
        "{}",
        history[0].manifest
    );
    assert_eq!(history[0].config["image"]["tag"], "v1");

    let live = env
        .fake
        .server
        .get("apps/v1", "Deployment", Some(NS), "web")
        .unwrap();
    assert_eq!(live["metadata"]["managedFields"][0]["manager"], "deploykit");
    assert_eq!(live["metadata"]["managedFields"][0]["operation"], "Apply");
    assert_eq!(
        live["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "Helm"
    );
    assert_eq!(
        live["metadata"]["annotations"]["meta.helm.sh/release-name"],
        "web"
    );
    assert!(
        env.fake
            .server
            .names("coordination.k8s.io/v1", "Lease", Some(NS))
            .is_empty(),
        "lease released"
    );

    let status = env.cluster.status("web", NS).await.unwrap();
    assert_eq!(status.release.info.status, Status::Deployed);
    assert_eq!(status.workloads.len(), 2);
}

#[tokio::test]
async fn a_drifted_object_is_reapplied_and_only_it_is_written() {
    let env = env().await;
    env.fake.server.set_auto_ready(true);
    let manifests = vec![config_map("a", "1"), config_map("b", "1")];
    deploy(&env.cluster, &request(manifests.clone()))
        .await
        .0
        .unwrap();
    let mut drifted = env
        .fake
        .server
        .get("v1", "ConfigMap", Some(NS), "b")
        .unwrap();
    drifted["data"]["value"] = json!("edited by hand");
    env.fake.server.put(drifted);
    let (outcome, _) = deploy(&env.cluster, &request(manifests)).await;
    let outcome = outcome.unwrap();
    assert_eq!(
        (
            outcome.revision,
            outcome.configured,
            outcome.unchanged_objects
        ),
        (2, 1, 1)
    );
    assert_eq!(
        env.fake
            .server
            .get("v1", "ConfigMap", Some(NS), "b")
            .unwrap()["data"]["value"],
        "1"
    );
}

async fn diagnose(
    pod: Value,
    events: Vec<Value>,
    logs: Option<&str>,
    timeout: Duration,
) -> (Error, Env) {
    let env = env().await;
    namespace(&env.fake.server);
    env.fake.server.put(pod);
    for event in events {
        env.fake.server.put(event);
    }
    if let Some(text) = logs {
        env.fake.server.set_pod_log(NS, "web-1", "web", true, text);
    }
    let mut req = request(vec![deployment("web:v2")]);
    req.timeout = timeout;
    let err = deploy(&env.cluster, &req).await.0.unwrap_err();
    (err, env)
}

fn problem_of(err: &Error) -> &deploykit_cluster::Problem {
    match err {
        Error::RolloutFailed { diagnosis, .. } => &diagnosis.problems[0],
        other => panic!("expected a rollout failure, got {other}"),
    }
}

#[tokio::test]
async fn image_not_in_the_cluster_is_diagnosed_with_the_build_fix() {
    let (err, env) = diagnose(
        waiting_pod(
            "ErrImageNeverPull",
            "Container image \"web:v2\" is not present with pull policy of Never",
        ),
        vec![],
        None,
        Duration::from_secs(30),
    )
    .await;
    let problem = problem_of(&err);
    assert_eq!(problem.cause, Cause::ImageNotInCluster);
    assert!(
        err.to_string().contains("minikube docker-env") && err.to_string().contains("web:v2"),
        "{err}"
    );
    assert_eq!(
        statuses(&env.cluster.history("web", NS).await.unwrap()),
        [(1, Status::Failed)]
    );
}

#[tokio::test]
async fn image_pull_back_off_is_diagnosed() {
    let (err, _env) = diagnose(
        waiting_pod("ImagePullBackOff", "Back-off pulling image \"web:v2\""),
        vec![],
        None,
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(problem_of(&err).cause, Cause::ImagePull);
    assert!(err.to_string().contains("Back-off pulling image"), "{err}");
}

#[tokio::test]
async fn crash_loops_come_with_the_last_log_lines() {
    let (err, _env) = diagnose(
        waiting_pod("CrashLoopBackOff", "back-off 5m0s"),
        vec![],
        Some("starting\nerror: DATABASE_URL is not set\n"),
        Duration::from_secs(30),
    )
    .await;
    let problem = problem_of(&err);
    assert_eq!(problem.cause, Cause::CrashLoop);
    assert_eq!(
        problem.last_log_lines,
        ["starting", "error: DATABASE_URL is not set"]
    );
    assert!(
        err.to_string().contains("| error: DATABASE_URL is not set"),
        "{err}"
    );
}

#[tokio::test]
async fn a_missing_secret_reference_is_diagnosed() {
    let (err, _env) = diagnose(
        waiting_pod(
            "CreateContainerConfigError",
            "secret \"todo-secrets\" not found",
        ),
        vec![],
        None,
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(problem_of(&err).cause, Cause::BadConfigReference);
    assert!(
        err.to_string()
            .contains("secret \"todo-secrets\" not found"),
        "{err}"
    );
}

#[tokio::test]
async fn unschedulable_pods_report_the_scheduler_message() {
    let pending = pod(
        "web-1",
        json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/1 nodes are available: 1 Insufficient memory."}]}),
    );
    let (err, _env) = diagnose(pending, vec![], None, Duration::from_secs(30)).await;
    assert_eq!(problem_of(&err).cause, Cause::Unschedulable);
    assert!(err.to_string().contains("Insufficient memory"), "{err}");
}

#[tokio::test]
async fn failing_probes_are_reported_when_the_wait_times_out() {
    let running = pod(
        "web-1",
        json!({"phase": "Running", "containerStatuses": [{"name": "web", "image": "web:v2", "imageID": "", "ready": false, "restartCount": 0, "state": {"running": {}}}]}),
    );
    let event = json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "web-1.probe", "namespace": NS},
        "involvedObject": {"kind": "Pod", "name": "web-1", "namespace": NS, "fieldPath": "spec.containers{web}"},
        "reason": "Unhealthy", "message": "Readiness probe failed: Get \"http://10.0.0.5:8080/health\": connection refused", "count": 4, "type": "Warning"});
    let (err, _env) = diagnose(running, vec![event], None, Duration::from_millis(300)).await;
    let Error::RolloutFailed { diagnosis, .. } = &err else {
        panic!("{err}")
    };
    assert!(diagnosis.timed_out_after.is_some());
    assert_eq!(diagnosis.problems[0].cause, Cause::ProbeFailing);
    assert!(
        err.to_string().contains("Readiness probe failed") && err.to_string().contains("timed out"),
        "{err}"
    );
}

fn workloads_of_every_kind() -> Vec<String> {
    let pod_template = |app: &str| {
        format!(
            "  selector:\n    matchLabels:\n      app: {app}\n  template:\n    metadata:\n      labels:\n        app: {app}\n    spec:\n      containers:\n      - name: {app}\n        image: {app}:v1\n"
        )
    };
    vec![
        format!("apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: db\nspec:\n  replicas: 1\n  serviceName: db\n{}", pod_template("db")),
        format!("apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: agent\nspec:\n{}", pod_template("agent")),
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: migrate\n        image: migrate:v1\n".into(),
        "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: data\nspec:\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: 1Gi\n".into(),
        service(),
    ]
}

/// Plays the controllers for one workload: its status as when it is ready.
fn make_ready(server: &FakeApiServer, kind: &str, name: &str) {
    let generation = |api_version: &str| {
        server.get(api_version, kind, Some(NS), name).unwrap()["metadata"]["generation"]
            .as_i64()
            .unwrap_or(1)
    };
    match kind {
        "StatefulSet" => server.set_status("apps/v1", kind, Some(NS), name, json!({"observedGeneration": generation("apps/v1"),
            "replicas": 1, "readyReplicas": 1, "updatedReplicas": 1, "currentReplicas": 1, "currentRevision": "r1", "updateRevision": "r1"})),
        "DaemonSet" => server.set_status("apps/v1", kind, Some(NS), name, json!({"observedGeneration": generation("apps/v1"),
            "desiredNumberScheduled": 2, "currentNumberScheduled": 2, "numberMisscheduled": 0, "numberReady": 2,
            "updatedNumberScheduled": 2, "numberAvailable": 2})),
        "Job" => server.set_status("batch/v1", kind, Some(NS), name, json!({"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]})),
        "PersistentVolumeClaim" => server.set_status("v1", kind, Some(NS), name, json!({"phase": "Bound"})),
        "Service" => server.put(json!({"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": name, "namespace": NS},
            "subsets": [{"addresses": [{"ip": "10.244.0.7"}], "ports": [{"port": 8080}]}]})),
        other => panic!("no controller for {other}"),
    }
}

#[tokio::test]
async fn the_wait_follows_every_workload_kind_until_ready_then_times_out_naming_the_laggard() {
    let env = env().await;
    namespace(&env.fake.server);
    let server = &env.fake.server;
    let mut seen: Vec<(String, deploykit_cluster::Readiness, String)> = Vec::new();
    let outcome = env
        .cluster
        .deploy(
            &request(workloads_of_every_kind()),
            &mut |event| {
                if let Progress::Workload {
                    object,
                    readiness,
                    detail,
                } = event
                {
                    // Each workload becomes ready once deploykit has seen it waiting.
                    if readiness == deploykit_cluster::Readiness::Waiting {
                        make_ready(server, &object.kind, &object.name);
                    }
                    seen.push((
                        format!("{}/{}", object.kind, object.name),
                        readiness,
                        detail,
                    ));
                }
            },
            &CancellationToken::new(),
        )
        .await
        .unwrap();
    assert_eq!(outcome.revision, 1);
    use deploykit_cluster::Readiness::{Ready, Waiting};
    for (object, waiting, ready) in [
        (
            "StatefulSet/db",
            "waiting for the controller to see it",
            "1/1 ready",
        ),
        (
            "DaemonSet/agent",
            "waiting for the controller to see it",
            "2/2 updated, 2/2 available",
        ),
        ("Job/migrate", "0/1 completions", "complete"),
        (
            "PersistentVolumeClaim/data",
            "Pending (not bound yet)",
            "bound",
        ),
        ("Service/web", "no ready endpoints", "1 ready endpoint(s)"),
    ] {
        let events: Vec<_> = seen
            .iter()
            .filter(|(o, _, _)| o == object)
            .map(|(_, readiness, detail)| (*readiness, detail.as_str()))
            .collect();
        assert_eq!(events.len(), 2, "{object}: {events:?}");
        assert_eq!(events[0], (Waiting, waiting), "{object}");
        assert_eq!(events[1].0, Ready, "{object}");
        assert!(events[1].1.contains(ready), "{object}: {events:?}");
    }

    // A claim nobody binds: the wait gives up at the timeout and names it.
    let mut more = workloads_of_every_kind();
    more.push("apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: scratch\nspec:\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: 1Gi\n".into());
    let mut req = request(more);
    req.timeout = Duration::from_secs(1);
    let err = deploy(&env.cluster, &req).await.0.unwrap_err();
    let Error::RolloutFailed {
        diagnosis,
        revision: 2,
        ..
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!(diagnosis.timed_out_after, Some(Duration::from_secs(1)));
    assert_eq!(diagnosis.not_ready.len(), 1, "{err}");
    assert!(
        err.to_string().contains("timed out after 1s")
            && err.to_string().contains("PersistentVolumeClaim/scratch")
            && err.to_string().contains("not bound yet"),
        "{err}"
    );

    // A Job that fails is reported at once, without waiting for the timeout.
    let mut req = request(workloads_of_every_kind());
    req.timeout = Duration::from_secs(60);
    server.set_status("batch/v1", "Job", Some(NS), "migrate", json!({"failed": 6,
        "conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}]}));
    let err = deploy(&env.cluster, &req).await.0.unwrap_err();
    let Error::RolloutFailed { diagnosis, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(diagnosis.timed_out_after, None, "{err}");
    assert!(
        err.to_string().contains("Job/migrate") && err.to_string().contains("job failed"),
        "{err}"
    );
}

#[tokio::test]
async fn atomic_upgrade_rolls_back_when_the_rollout_fails() {
    let env = env().await;
    env.fake.server.set_auto_ready(true);
    env.deployed(vec![deployment("web:v1"), config_map("settings", "1")])
        .await;
    env.fake.server.set_auto_ready(false);
    env.fake
        .server
        .put(waiting_pod("CrashLoopBackOff", "back-off"));
    let mut req = request(vec![deployment("web:v2"), config_map("settings", "2")]);
    req.atomic = true;
    let mut events = Vec::new();
    let server = &env.fake.server;
    let result = env
        .cluster
        .deploy(
            &req,
            &mut |event| {
                // Play the controller: when the rollback starts, the old pods come back.
                if matches!(event, Progress::RollingBack { .. }) {
                    server.remove("v1", "Pod", Some(NS), "web-1");
                    server.set_auto_ready(true);
                }
                events.push(event);
            },
            &CancellationToken::new(),
        )
        .await;
    let err = result.unwrap_err();
    assert!(
        matches!(
            err,
            Error::RolloutFailed {
                revision: 2,
                rolled_back_to: Some(1),
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("rolled back to revision 1"),
        "{err}"
    );
    assert!(events.contains(&Progress::RollingBack { to: 1 }));
    let history = env.cluster.history("web", NS).await.unwrap();
    assert_eq!(
        statuses(&history),
        [
            (1, Status::Superseded),
            (2, Status::Failed),
            (3, Status::Deployed)
        ]
    );
    assert_eq!(history[2].info.description, "Rollback to 1");
    assert_eq!(
        env.fake
            .server
            .get("v1", "ConfigMap", Some(NS), "settings")
            .unwrap()["data"]["value"],
        "1"
    );
    let live = env
        .fake
        .server
        .get("apps/v1", "Deployment", Some(NS), "web")
        .unwrap();
    assert_eq!(
        live["spec"]["template"]["spec"]["containers"][0]["image"],
        "web:v1"
    );
}

#[tokio::test]
async fn atomic_first_install_that_fails_is_removed() {
    let (err, env) = {
        let env = env().await;
        namespace(&env.fake.server);
        env.fake.server.put(waiting_pod("ErrImageNeverPull", ""));
        let mut req = request(vec![deployment("web:v2"), config_map("settings", "1")]);
        req.atomic = true;
        (deploy(&env.cluster, &req).await.0.unwrap_err(), env)
    };
    assert!(
        matches!(
            err,
            Error::RolloutFailed {
                rolled_back_to: Some(0),
                ..
            }
        ),
        "{err}"
    );
    assert!(env.cluster.history("web", NS).await.unwrap().is_empty());
    assert!(
        env.fake
            .server
            .get("apps/v1", "Deployment", Some(NS), "web")
            .is_none()
    );
    assert!(
        env.fake
            .server
            .get("v1", "ConfigMap", Some(NS), "settings")
            .is_none()
    );
}

/// Helm's uninstall stops at the first object it may not delete and leaves the release
/// `uninstalling`: so does deploykit's, and running it again after the fix finishes it.
#[tokio::test]
async fn an_uninstall_stopped_by_a_forbidden_delete_finishes_when_run_again() {
    let env = env().await;
    env.fake.server.set_auto_ready(true);
    env.deployed(vec![
        deployment("web:v1"),
        service(),
        kept_config_map("data"),
    ])
    .await;
    env.fake
        .server
        .set_forbid_delete("Deployment", Some(NS), "web", true);
    let err = env
        .cluster
        .uninstall("web", NS, &mut |_| {})
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("deleting Deployment/web failed: deployments \"web\" is forbidden")
            && message.contains("(403 Forbidden): your credentials may not do this")
            && message.contains("run the uninstall again"),
        "{message}"
    );
    assert!(!message.contains("ErrorResponse"), "{message}");
    let history = env.cluster.history("web", NS).await.unwrap();
    assert_eq!(history.last().unwrap().info.status, Status::Uninstalling);
    assert!(
        env.fake
            .server
            .get("apps/v1", "Deployment", Some(NS), "web")
            .is_some()
    );

    env.fake
        .server
        .set_forbid_delete("Deployment", Some(NS), "web", false);
    let outcome = env.cluster.uninstall("web", NS, &mut |_| {}).await.unwrap();
    let deleted: Vec<_> = outcome.deleted.iter().map(|o| o.kind.as_str()).collect();
    assert!(deleted.contains(&"Deployment"), "{deleted:?}");
    assert_eq!(outcome.kept[0].name, "data");
    assert!(
        env.fake
            .server
            .get("v1", "ConfigMap", Some(NS), "data")
            .is_some()
    );
    for (api_version, kind) in [("apps/v1", "Deployment"), ("v1", "Service")] {
        assert!(
            env.fake
                .server
                .get(api_version, kind, Some(NS), "web")
                .is_none()
        );
    }
    assert!(env.cluster.history("web", NS).await.unwrap().is_empty());
}

#[tokio::test]
async fn ctrl_c_records_the_revision_failed_and_the_next_deploy_goes_on() {
    let env = env().await;
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        trigger.cancel();
    });
    let err = env
        .cluster
        .deploy(&request(vec![deployment("web:v1")]), &mut |_| {}, &cancel)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Interrupted { revision: 1, .. }),
        "{err}"
    );
    let history = env.cluster.history("web", NS).await.unwrap();
    assert_eq!(statuses(&history), [(1, Status::Failed)]);
    assert!(
        history[0]
            .info
            .description
            .ends_with("failed: context canceled")
    );
    assert!(
        env.fake
            .server
            .names("coordination.k8s.io/v1", "Lease", Some(NS))
            .is_empty()
    );

    env.fake.server.set_auto_ready(true);
    let outcome = env.deployed(vec![deployment("web:v1")]).await;
    assert_eq!(outcome.revision, 2);
    assert_eq!(
        statuses(&env.cluster.history("web", NS).await.unwrap()),
        [(1, Status::Failed), (2, Status::Deployed)]
    );
}

#[tokio::test]
async fn custom_resources_are_applied_after_their_definition() {
    let env = env().await;
    env.fake.server.set_auto_ready(true);
    let crd = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\nspec:\n  group: example.com\n  scope: Namespaced\n  names:\n    plural: widgets\n    singular: widget\n    kind: Widget\n  versions:\n  - name: v1\n    served: true\n    storage: true\n";
    let widget =
        "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  size: 3\n";
    let outcome = env.deployed(vec![widget.into(), crd.into()]).await;
    assert_eq!(outcome.created, 2);
    assert_eq!(
        env.fake
            .server
            .get("example.com/v1", "Widget", Some(NS), "w")
            .unwrap()["spec"]["size"],
        3
    );

    let unknown = "apiVersion: example.com/v1\nkind: Gadget\nmetadata:\n  name: g\n";
    let err = deploy(&env.cluster, &request(vec![unknown.into()]))
        .await
        .0
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("no resource kind Gadget in example.com/v1")
            && err.to_string().contains("CustomResourceDefinition"),
        "{err}"
    );
}

#[tokio::test]
async fn logs_of_a_workload_tail_since_all_containers_and_follow() {
    let env = env().await;
    env.fake.server.set_auto_ready(true);
    env.deployed(vec![deployment("web:v1")]).await;
    let mut two = ready_pod("web-1");
    two["spec"]["containers"] =
        json!([{"name": "web", "image": "a"}, {"name": "sidecar", "image": "b"}]);
    env.fake.server.put(two);
    env.fake
        .server
        .set_pod_log(NS, "web-1", "web", false, "one\ntwo\nthree");
    env.fake
        .server
        .set_pod_log(NS, "web-1", "sidecar", false, "side");

    let mut req = LogsRequest::new(
        NS,
        Target::Workload {
            kind: "Deployment".into(),
            name: "web".into(),
        },
    );
    req.tail = Some(2);
    let lines: Vec<String> = env
        .cluster
        .logs(&req)
        .await
        .unwrap()
        .map(|l| l.unwrap().line)
        .collect()
        .await;
    assert_eq!(lines, ["two", "three"]);

    req.all_containers = true;
    req.tail = None;
    let mut all: Vec<(String, String)> = env
        .cluster
        .logs(&req)
        .await
        .unwrap()
        .map(|l| l.map(|l| (l.container, l.line)).unwrap())
        .collect()
        .await;
    all.sort();
    assert_eq!(all.len(), 4);
    assert!(all.contains(&("sidecar".into(), "side".into())));

    env.fake.server.set_pod_log_aged(
        NS,
        "web-1",
        "web",
        &[
            (Duration::from_secs(3600), "an hour ago"),
            (Duration::from_secs(5), "just now"),
        ],
    );
    let mut recent = LogsRequest::new(NS, Target::Pod("web-1".into()));
    recent.container = Some("web".into());
    recent.since = Some(Duration::from_secs(60));
    let lines: Vec<String> = env
        .cluster
        .logs(&recent)
        .await
        .unwrap()
        .map(|l| l.unwrap().line)
        .collect()
        .await;
    assert_eq!(lines, ["just now"]);

    let mut follow = LogsRequest::new(NS, Target::Pod("web-1".into()));
    follow.follow = true;
    follow.tail = Some(0);
    let mut stream = env.cluster.logs(&follow).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    env.fake
        .server
        .append_pod_log(NS, "web-1", "web", "new line");
    let line = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(
        (line.pod.as_str(), line.line.as_str()),
        ("web-1", "new line")
    );

    let err = match env
        .cluster
        .logs(&LogsRequest::new(NS, Target::Pod("nope".into())))
        .await
    {
        Err(e) => e,
        Ok(_) => panic!("expected an error"),
    };
    assert!(
        err.to_string()
            .contains("pod nope not found in namespace todo"),
        "{err}"
    );
}

async fn echo_server(tag: &'static str) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buffer = [0u8; 64];
                while let Ok(n) = socket.read(&mut buffer).await {
                    if n == 0 {
                        break;
                    }
                    let reply = format!("{tag}:{}", String::from_utf8_lossy(&buffer[..n]));
                    if socket.write_all(reply.as_bytes()).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

async fn round_trip(addr: std::net::SocketAddr, message: &str) -> String {
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    socket.write_all(message.as_bytes()).await.unwrap();
    let mut buffer = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), socket.read(&mut buffer))
        .await
        .unwrap()
        .unwrap();
    String::from_utf8_lossy(&buffer[..n]).to_string()
}

#[tokio::test]
async fn port_forward_to_a_service_follows_a_replaced_pod_and_to_a_pod() {
    let env = env().await;
    env.fake.server.set_auto_ready(true);
    env.deployed(vec![deployment("web:v1"), service()]).await;
    env.fake.server.put(ready_pod("web-1"));
    env.fake
        .server
        .set_port_target(NS, "web-1", 8080, echo_server("first").await);

    let cancel = CancellationToken::new();
    let request = PortForwardRequest {
        namespace: NS.into(),
        target: Target::Service("web".into()),
        remote_port: 80,
        local_port: 0,
    };
    let mut forward = env
        .cluster
        .port_forward(request, cancel.clone())
        .await
        .unwrap();
    let local = forward.local_addr();
    assert!(local.ip().is_loopback());
    assert_eq!(round_trip(local, "ping").await, "first:ping");
    assert_eq!(
        forward.next_event().await,
        Some(ForwardEvent::Forwarding {
            pod: "web-1".into(),
            port: 8080
        })
    );

    env.fake.server.remove("v1", "Pod", Some(NS), "web-1");
    let mut replacement = ready_pod("web-2");
    replacement["metadata"]["creationTimestamp"] = json!("2026-01-02T00:00:00Z");
    env.fake.server.put(replacement);
    env.fake
        .server
        .set_port_target(NS, "web-2", 8080, echo_server("second").await);
    assert_eq!(round_trip(local, "ping").await, "second:ping");
    assert_eq!(
        forward.next_event().await,
        Some(ForwardEvent::Forwarding {
            pod: "web-2".into(),
            port: 8080
        })
    );

    cancel.cancel();
    tokio::time::timeout(Duration::from_secs(5), forward.wait())
        .await
        .unwrap();

    // Straight to a pod, on a port of the container.
    let to_pod = CancellationToken::new();
    let forward = env
        .cluster
        .port_forward(
            PortForwardRequest {
                namespace: NS.into(),
                target: Target::Pod("web-2".into()),
                remote_port: 8080,
                local_port: 0,
            },
            to_pod.clone(),
        )
        .await
        .unwrap();
    assert_eq!(
        round_trip(forward.local_addr(), "pong").await,
        "second:pong"
    );
    to_pod.cancel();
    tokio::time::timeout(Duration::from_secs(5), forward.wait())
        .await
        .unwrap();

    let err = match env
        .cluster
        .port_forward(
            PortForwardRequest {
                namespace: NS.into(),
                target: Target::Service("web".into()),
                remote_port: 81,
                local_port: 0,
            },
            CancellationToken::new(),
        )
        .await
    {
        Err(e) => e,
        Ok(_) => panic!("expected an error"),
    };
    assert!(
        err.to_string().contains("service web has no port 81") && err.to_string().contains("80"),
        "{err}"
    );
}

/// Run by `kubeconfig_is_found_as_kubectl_finds_it` in a child process with its own
/// environment (tests cannot change their own): connects with the environment's kubeconfig
/// resolution and prints what it reached.
#[tokio::test]
#[ignore = "a helper run in a child process by kubeconfig_is_found_as_kubectl_finds_it"]
async fn connect_with_the_environment() {
    match connect(ConnectOptions::default()).await {
        Ok(cluster) => println!(
            "CONNECTED context={} server={}",
            cluster.context(),
            cluster.server()
        ),
        Err(error) => println!("REFUSED {error}"),
    }
}

/// What `connect_with_the_environment` printed with `KUBECONFIG` (None: unset) and `HOME`.
fn connect_in_child(kubeconfig: Option<&str>, home: &std::path::Path) -> String {
    let mut child = std::process::Command::new(std::env::current_exe().unwrap());
    child
        .args([
            "--ignored",
            "--exact",
            "connect_with_the_environment",
            "--nocapture",
        ])
        .env("HOME", home)
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("KUBERNETES_SERVICE_PORT");
    match kubeconfig {
        Some(list) => child.env("KUBECONFIG", list),
        None => child.env_remove("KUBECONFIG"),
    };
    let output = child.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .lines()
        .find(|l| l.starts_with("CONNECTED") || l.starts_with("REFUSED"))
        .unwrap_or_else(|| panic!("the child printed no answer: {stdout}"))
        .to_string()
}

#[tokio::test]
async fn kubeconfig_is_found_as_kubectl_finds_it() {
    let server = FakeApiServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();

    // A KUBECONFIG list is merged: the first file names the current context, the second
    // defines it (and the first file's own entries win on equal names).
    let first = dir.path().join("first");
    std::fs::write(
        &first,
        "apiVersion: v1\nkind: Config\ncurrent-context: fake\ncontexts:\n- name: stale\n  context:\n    cluster: stale\n    user: stale\nclusters:\n- name: stale\n  cluster:\n    server: http://127.0.0.1:1\nusers:\n- name: stale\n  user:\n    token: stale\n",
    )
    .unwrap();
    let second = dir.path().join("second");
    std::fs::write(
        &second,
        server
            .kubeconfig("fake")
            .replace("current-context: fake\n", ""),
    )
    .unwrap();
    let list = format!("{}:{}", first.display(), second.display());
    let merged = tokio::task::spawn_blocking({
        let home = home.clone();
        move || connect_in_child(Some(&list), &home)
    });
    assert_eq!(
        merged.await.unwrap(),
        format!("CONNECTED context=fake server={}", server.url())
    );

    // A context other than the current one, by name.
    let both = dir.path().join("both");
    std::fs::write(
        &both,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: stale\nclusters:\n- name: stale\n  cluster:\n    server: http://127.0.0.1:1\n- name: fake\n  cluster:\n    server: {}\ncontexts:\n- name: stale\n  context:\n    cluster: stale\n    user: u\n- name: fake\n  context:\n    cluster: fake\n    user: u\nusers:\n- name: u\n  user:\n    token: t\n",
            server.url()
        ),
    )
    .unwrap();
    let chosen = connect(ConnectOptions {
        kubeconfig: Some(both.clone()),
        context: Some("fake".into()),
        ..Default::default()
    })
    .await
    .unwrap();
    assert_eq!(
        (chosen.context(), chosen.server()),
        ("fake", server.url().as_str())
    );
    // The context connect would use, without connecting: the one asked for, else the
    // kubeconfig's current one.
    let named = |context: Option<&str>| ConnectOptions {
        kubeconfig: Some(both.clone()),
        context: context.map(str::to_string),
        ..Default::default()
    };
    assert_eq!(
        current_context(&named(Some("fake"))).unwrap().as_deref(),
        Some("fake")
    );
    assert_eq!(
        current_context(&named(None)).unwrap().as_deref(),
        Some("stale")
    );
    let current = connect(ConnectOptions {
        kubeconfig: Some(both),
        timeout: Some(Duration::from_secs(2)),
        ..Default::default()
    })
    .await
    .err()
    .unwrap();
    assert!(
        current.to_string().contains("context `stale`")
            && current.to_string().contains("http://127.0.0.1:1"),
        "{current}"
    );

    // Without KUBECONFIG: ~/.kube/config.
    std::fs::create_dir_all(home.join(".kube")).unwrap();
    std::fs::write(home.join(".kube/config"), server.kubeconfig("home-cluster")).unwrap();
    let found = tokio::task::spawn_blocking({
        let home = home.clone();
        move || connect_in_child(None, &home)
    });
    assert_eq!(
        found.await.unwrap(),
        format!("CONNECTED context=home-cluster server={}", server.url())
    );

    // Neither, and not inside a cluster: an error saying where it looked and what to do.
    std::fs::remove_file(home.join(".kube/config")).unwrap();
    let none = tokio::task::spawn_blocking(move || connect_in_child(None, &home));
    let answer = none.await.unwrap();
    assert!(
        answer.contains("no KUBECONFIG, no ~/.kube/config, and not running inside a cluster")
            && answer.contains("minikube start"),
        "{answer}"
    );
}

#[tokio::test]
async fn connection_errors_name_context_server_and_fix() {
    let server = FakeApiServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    std::fs::write(&path, server.kubeconfig("minikube")).unwrap();

    let err = connect(ConnectOptions {
        kubeconfig: Some(path.clone()),
        context: Some("prod".into()),
        ..Default::default()
    })
    .await
    .err()
    .unwrap();
    assert!(
        err.to_string()
            .contains("`prod` is not in the kubeconfig (known: minikube)"),
        "{err}"
    );

    server.set_reject_credentials(true);
    let err = connect(ConnectOptions {
        kubeconfig: Some(path.clone()),
        ..Default::default()
    })
    .await
    .err()
    .unwrap();
    assert!(
        err.to_string()
            .contains("credentials of context `minikube` were refused"),
        "{err}"
    );
    server.set_reject_credentials(false);

    // Nothing listens on port 1: the answer of a stopped minikube.
    let url = "http://127.0.0.1:1";
    std::fs::write(
        &path,
        server.kubeconfig("minikube").replace(&server.url(), url),
    )
    .unwrap();
    let err = connect(ConnectOptions {
        kubeconfig: Some(path.clone()),
        timeout: Some(Duration::from_secs(2)),
        ..Default::default()
    })
    .await
    .err()
    .unwrap();
    let text = err.to_string();
    assert!(
        text.contains("context `minikube`")
            && text.contains(url)
            && text.contains("minikube start"),
        "{text}"
    );

    let err = connect(ConnectOptions {
        kubeconfig: Some(dir.path().join("missing")),
        ..Default::default()
    })
    .await
    .err()
    .unwrap();
    assert!(
        err.to_string().contains("cannot load a kubeconfig"),
        "{err}"
    );
}

/// Runs a Python snippet with Helm's own client (helm-python-sdk) against the fake server.
async fn helm_client(script: &str, args: &[&str]) -> Result<Value, String> {
    let output = tokio::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .await
        .map_err(|e| format!("python3: {e}"))?;
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).to_string());
    }
    serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("{e}: {}", String::from_utf8_lossy(&output.stdout)))
}

const HELM_READ: &str = r#"
import json, sys, helm_python as helm
cfg = helm.Config(kubeconfig_path=sys.argv[1], namespace=sys.argv[2])
print(json.dumps({"list": cfg.list(all_states=True), "history": cfg.history(sys.argv[3]), "status": cfg.status(sys.argv[3])}, default=str))
"#;

#[tokio::test]
async fn helm_lists_and_reads_what_deploykit_wrote() {
    if !deploykit_testkit::require(
        "Helm's client (helm-python-sdk)",
        deploykit_testkit::helm_sdk_available(),
    ) {
        return;
    }
    let env = env().await;
    env.fake.server.set_auto_ready(true);
    env.deployed(vec![config_map("a", "1"), deployment("web:v1")])
        .await;
    env.deployed(vec![config_map("a", "2"), deployment("web:v1")])
        .await;
    let kubeconfig = env.fake.kubeconfig.clone();
    let answer = helm_client(HELM_READ, &[kubeconfig.to_str().unwrap(), NS, "web"])
        .await
        .unwrap();
    let listed = &answer["list"][0];
    assert_eq!(
        (
            listed["name"].as_str(),
            listed["revision"].as_i64(),
            listed["status"].as_str()
        ),
        (Some("web"), Some(2), Some("deployed"))
    );
    assert_eq!(
        (
            listed["chart_name"].as_str(),
            listed["chart_version"].as_str(),
            listed["app_version"].as_str()
        ),
        (Some("web"), Some("0.1.0"), Some("1.0"))
    );
    let history: Vec<(i64, String)> = answer["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["revision"].as_i64().unwrap(),
                r["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        history,
        [(1, "superseded".to_string()), (2, "deployed".to_string())]
    );
    assert_eq!(answer["status"]["status"], "deployed");
    assert!(
        answer["status"]["manifest"]
            .as_str()
            .unwrap()
            .contains("value: \"2\"")
    );
}

#[tokio::test]
async fn helm_rolls_back_and_uninstalls_a_release_deploykit_made() {
    if !deploykit_testkit::require(
        "Helm's client (helm-python-sdk)",
        deploykit_testkit::helm_sdk_available(),
    ) {
        return;
    }
    let env = env().await;
    env.fake.server.set_auto_ready(true);
    env.deployed(vec![config_map("a", "1"), deployment("web:v1")])
        .await;
    env.deployed(vec![config_map("a", "2"), deployment("web:v2")])
        .await;
    let kubeconfig = env.fake.kubeconfig.clone();
    let rollback = r#"
import json, sys, helm_python as helm
cfg = helm.Config(kubeconfig_path=sys.argv[1], namespace=sys.argv[2])
cfg.rollback(sys.argv[3], version=1)
print(json.dumps(cfg.history(sys.argv[3]), default=str))
"#;
    helm_client(rollback, &[kubeconfig.to_str().unwrap(), NS, "web"])
        .await
        .unwrap();
    assert_eq!(
        statuses(&env.cluster.history("web", NS).await.unwrap()),
        [
            (1, Status::Superseded),
            (2, Status::Superseded),
            (3, Status::Deployed)
        ]
    );
    assert_eq!(
        env.fake
            .server
            .get("v1", "ConfigMap", Some(NS), "a")
            .unwrap()["data"]["value"],
        "1"
    );
    let image = |server: &FakeApiServer| {
        server
            .get("apps/v1", "Deployment", Some(NS), "web")
            .unwrap()["spec"]["template"]["spec"]["containers"][0]["image"]
            .clone()
    };
    assert_eq!(image(&env.fake.server), "web:v1");

    // Helm's client-side apply now owns the fields it changed, as on a real server. Its
    // record says it applied client-side (`apply_method: csa`), which Helm 4 would do again
    // and which overwrites any owner's fields: deploykit takes them over as Helm would.
    let latest = env.cluster.history("web", NS).await.unwrap().pop().unwrap();
    assert_eq!(latest.extra["apply_method"], "csa");
    let v2 = request(vec![config_map("a", "2"), deployment("web:v2")]);
    assert_eq!(deploy(&env.cluster, &v2).await.0.unwrap().revision, 4);
    assert_eq!(image(&env.fake.server), "web:v2");

    let uninstall = r#"
import json, sys, helm_python as helm
cfg = helm.Config(kubeconfig_path=sys.argv[1], namespace=sys.argv[2])
print(json.dumps(cfg.uninstall(sys.argv[3]), default=str))
"#;
    helm_client(uninstall, &[kubeconfig.to_str().unwrap(), NS, "web"])
        .await
        .unwrap();
    assert!(env.cluster.history("web", NS).await.unwrap().is_empty());
    assert!(
        env.fake
            .server
            .get("apps/v1", "Deployment", Some(NS), "web")
            .is_none()
    );
    assert!(
        env.fake
            .server
            .get("v1", "ConfigMap", Some(NS), "a")
            .is_none()
    );
}

/// A small chart for Helm's client to install: a ConfigMap and a Deployment.
fn helm_chart(dir: &std::path::Path) -> std::path::PathBuf {
    let chart = dir.join("hello");
    let deployment = deployment("web:v1");
    deploykit_testkit::write_files(
        &chart,
        &[
            (
                "Chart.yaml",
                "apiVersion: v2\nname: hello\nversion: 0.1.0\nappVersion: \"1.0\"\n",
            ),
            ("values.yaml", "greeting: hi\n"),
            (
                "templates/settings.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  greeting: {{ .Values.greeting | quote }}\n",
            ),
            ("templates/deployment.yaml", &deployment),
            ("templates/NOTES.txt", "Say {{ .Values.greeting }}.\n"),
        ],
    );
    chart
}

/// Helm's client installs (`--create-namespace --wait=watcher`) and prints the release.
const HELM_INSTALL: &str = r#"
import json, sys, helm_python as helm
cfg = helm.Config(kubeconfig_path=sys.argv[1], namespace=sys.argv[2])
print(json.dumps(cfg.install(sys.argv[4], sys.argv[3], json.loads(sys.argv[5]), create_namespace=True, wait="watcher", timeout=30), default=str))
"#;

const HELM_VALUES_AND_HISTORY: &str = r#"
import json, sys, helm_python as helm
cfg = helm.Config(kubeconfig_path=sys.argv[1], namespace=sys.argv[2])
print(json.dumps({"values": cfg.get_values(sys.argv[3]), "history": cfg.history(sys.argv[3]), "list": cfg.list(all_states=True)}, default=str))
"#;

const HELM_LIST: &str = r#"
import json, sys, helm_python as helm
cfg = helm.Config(kubeconfig_path=sys.argv[1], namespace=sys.argv[2])
print(json.dumps(cfg.list(all_states=True), default=str))
"#;

const HELM_UNINSTALL: &str = r#"
import json, sys, helm_python as helm
cfg = helm.Config(kubeconfig_path=sys.argv[1], namespace=sys.argv[2])
print(json.dumps(cfg.uninstall(sys.argv[3]), default=str))
"#;

#[tokio::test]
async fn deploykit_reads_and_upgrades_a_release_helms_client_installed() {
    if !deploykit_testkit::require(
        "Helm's client (helm-python-sdk)",
        deploykit_testkit::helm_sdk_available(),
    ) {
        return;
    }
    let env = env().await;
    env.fake.server.set_auto_ready(true);
    let kubeconfig = env.fake.kubeconfig.clone();
    let kubeconfig = kubeconfig.to_str().unwrap();
    let chart_dir = helm_chart(env.fake.dir.path());
    let chart_dir = chart_dir.to_str().unwrap();
    let installed = helm_client(
        HELM_INSTALL,
        &[
            kubeconfig,
            NS,
            "hello",
            chart_dir,
            r#"{"greeting": "hello"}"#,
        ],
    )
    .await
    .unwrap();
    assert_eq!(
        (installed["revision"].as_i64(), installed["status"].as_str()),
        (Some(1), Some("deployed"))
    );

    // deploykit reads Helm's release: status, history, manifest, values, notes.
    let status = env.cluster.status("hello", NS).await.unwrap();
    let release = &status.release;
    assert_eq!(
        (release.version, release.info.status),
        (1, Status::Deployed)
    );
    assert_eq!(release.info.description, "Install complete");
    assert_eq!(release.info.notes.trim(), "Say hello.");
    let chart = release.chart.as_ref().unwrap();
    assert_eq!(
        (
            chart.metadata.name.as_str(),
            chart.metadata.version.as_str()
        ),
        ("hello", "0.1.0")
    );
    assert_eq!(chart.values["greeting"], "hi");
    assert_eq!(release.config["greeting"], "hello");
    assert!(
        release.manifest.contains("greeting: \"hello\"")
            && release.manifest.contains("kind: Deployment"),
        "{}",
        release.manifest
    );
    assert_eq!(
        status
            .workloads
            .iter()
            .map(|(object, _)| format!("{}/{}", object.kind, object.name))
            .collect::<Vec<_>>(),
        ["Deployment/web"]
    );
    assert_eq!(
        statuses(&env.cluster.history("hello", NS).await.unwrap()),
        [(1, Status::Deployed)]
    );

    // deploykit upgrades it: a changed ConfigMap, the Deployment gone. Helm's client applied
    // with its own field manager, so taking its fields over is forced, as with kubectl.
    let hello = ChartMetadata {
        name: "hello".into(),
        version: "0.2.0".into(),
        app_version: "1.0".into(),
        api_version: "v2".into(),
        ..Default::default()
    };
    let mut upgrade = ReleaseRequest::new(
        "hello",
        NS,
        hello,
        vec!["apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  greeting: \"bonjour\"\n".into()],
    );
    upgrade.values = serde_json::from_value(json!({"greeting": "bonjour"})).unwrap();
    upgrade.force_conflicts = true;
    let outcome = deploy(&env.cluster, &upgrade).await.0.unwrap();
    assert_eq!(
        (outcome.revision, outcome.configured, outcome.deleted),
        (2, 1, 1)
    );
    assert_eq!(
        env.fake
            .server
            .get("v1", "ConfigMap", Some(NS), "settings")
            .unwrap()["data"]["greeting"],
        "bonjour"
    );
    assert!(
        env.fake
            .server
            .get("apps/v1", "Deployment", Some(NS), "web")
            .is_none()
    );

    // Helm's client sees revision 2 deployed, 1 superseded, and deploykit's values.
    let seen = helm_client(HELM_VALUES_AND_HISTORY, &[kubeconfig, NS, "hello"])
        .await
        .unwrap();
    let history: Vec<(i64, &str)> = seen["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["revision"].as_i64().unwrap(),
                r["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(history, [(1, "superseded"), (2, "deployed")]);
    assert_eq!(seen["values"], json!({"greeting": "bonjour"}));
    assert_eq!(seen["list"][0]["chart_version"], "0.2.0");

    // Helm's client uninstalls what deploykit upgraded.
    helm_client(HELM_UNINSTALL, &[kubeconfig, NS, "hello"])
        .await
        .unwrap();
    assert!(env.cluster.history("hello", NS).await.unwrap().is_empty());
    assert!(
        env.fake
            .server
            .get("v1", "ConfigMap", Some(NS), "settings")
            .is_none()
    );

    // And deploykit uninstalls what Helm's client installed.
    helm_client(
        HELM_INSTALL,
        &[
            kubeconfig,
            NS,
            "hello",
            chart_dir,
            r#"{"greeting": "again"}"#,
        ],
    )
    .await
    .unwrap();
    let removed = env
        .cluster
        .uninstall("hello", NS, &mut |_| {})
        .await
        .unwrap();
    let mut deleted: Vec<String> = removed
        .deleted
        .iter()
        .map(|object| format!("{}/{}", object.kind, object.name))
        .collect();
    deleted.sort();
    assert_eq!(deleted, ["ConfigMap/settings", "Deployment/web"]);
    let listed = helm_client(HELM_LIST, &[kubeconfig, NS]).await.unwrap();
    assert_eq!(listed, json!([]));
}

const HELM_UPGRADE: &str = r#"
import json, sys, helm_python as helm
cfg = helm.Config(kubeconfig_path=sys.argv[1], namespace=sys.argv[2])
print(json.dumps(cfg.upgrade(sys.argv[4], sys.argv[3]), default=str))
"#;

fn helm_history(answer: &Value) -> Vec<(i64, String)> {
    answer["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["revision"].as_i64().unwrap(),
                r["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn helm_sees_failed_and_pending_revisions_deploykit_recorded_and_deploykit_unblocks_them() {
    if !deploykit_testkit::require(
        "Helm's client (helm-python-sdk)",
        deploykit_testkit::helm_sdk_available(),
    ) {
        return;
    }
    let env = env().await;
    env.fake.server.set_auto_ready(true);
    let kubeconfig = env.fake.kubeconfig.clone();
    let kubeconfig = kubeconfig.to_str().unwrap();
    env.deployed(vec![config_map("a", "1")]).await;
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    let err = env
        .cluster
        .deploy(
            &request(vec![config_map("a", "2"), config_map("b", "2")]),
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
        matches!(err, Error::Interrupted { revision: 2, .. }),
        "{err}"
    );
    let answer = helm_client(HELM_READ, &[kubeconfig, NS, "web"])
        .await
        .unwrap();
    assert_eq!(
        helm_history(&answer),
        [(1, "deployed".into()), (2, "failed".into())]
    );
    assert_eq!(answer["status"]["status"], "failed");

    // A revision left pending by a client that died: Helm's client refuses to go on...
    let mut stuck = Release::new(
        "web",
        NS,
        3,
        Status::PendingUpgrade,
        "Preparing upgrade",
        chrono::Utc::now() - chrono::Duration::minutes(10),
    );
    stuck.manifest = "---\n".to_string() + &config_map("a", "3");
    // Helm's client dereferences the chart of every record it lists.
    stuck.chart = env.cluster.history("web", NS).await.unwrap()[0]
        .chart
        .clone();
    let record = deploykit_cluster::release::to_secret(&stuck, ("createdAt", 3)).unwrap();
    let mut record = serde_json::to_value(record).unwrap();
    record["apiVersion"] = json!("v1");
    record["kind"] = json!("Secret");
    env.fake.server.put(record);
    let answer = helm_client(HELM_READ, &[kubeconfig, NS, "web"])
        .await
        .unwrap();
    assert_eq!(helm_history(&answer)[2], (3, "pending-upgrade".to_string()));
    let chart = helm_chart(env.fake.dir.path());
    let refused = helm_client(
        HELM_UPGRADE,
        &[kubeconfig, NS, "web", chart.to_str().unwrap()],
    )
    .await
    .unwrap_err();
    assert!(
        refused.contains("another operation (install/upgrade/rollback) is in progress"),
        "{refused}"
    );

    // ...deploykit takes over, and Helm's client sees the release deployed again.
    let (outcome, events) = deploy(&env.cluster, &request(vec![config_map("a", "4")])).await;
    assert_eq!(outcome.unwrap().revision, 4);
    assert!(events.iter().any(|e| matches!(
        e,
        Progress::TookOver {
            revision: 3,
            status: Status::PendingUpgrade,
            ..
        }
    )));
    let answer = helm_client(HELM_READ, &[kubeconfig, NS, "web"])
        .await
        .unwrap();
    assert_eq!(
        helm_history(&answer),
        [
            (1, "superseded".into()),
            (2, "failed".into()),
            (3, "failed".into()),
            (4, "deployed".into())
        ]
    );
    assert_eq!(answer["list"][0]["status"], "deployed");
}

#[tokio::test]
async fn the_lease_is_renewed_while_a_long_deploy_waits() {
    let env = env().await;
    let short = |identity: &str| {
        env.fake.client(ClusterOptions {
            lease_duration: Duration::from_secs(1),
            ..options(identity)
        })
    };
    let (first, second) = (short("slow-deploy").await, short("impatient").await);
    let cancel = CancellationToken::new();
    let running = {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            first
                .deploy(&request(vec![deployment("web:v1")]), &mut |_| {}, &cancel)
                .await
        })
    };
    // Three lease durations later the first deploy still holds a live (renewed) lease.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let err = deploy(&second, &request(vec![deployment("web:v2")]))
        .await
        .0
        .unwrap_err();
    assert!(
        matches!(&err, Error::Locked { holder, .. } if holder == "slow-deploy"),
        "{err}"
    );
    cancel.cancel();
    assert!(matches!(
        running.await.unwrap(),
        Err(Error::Interrupted { .. })
    ));
}

/// A render (CPU work) on a one-worker runtime leaves room for the program's other tasks:
/// here the render waits for a task spawned once it started, which could not run if the
/// render held the only worker.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn the_render_runs_off_the_async_workers() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let env = env().await;
    env.fake.server.set_auto_ready(true);
    let (started, other_ran) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let cluster = env.cluster.clone();
    let (render_started, render_sees) = (started.clone(), other_ran.clone());
    let deploy = tokio::spawn(async move {
        let mut render = move |_| {
            render_started.store(true, Ordering::SeqCst);
            // Up to 60 s for the other task: generous on a loaded machine.
            if !wait_for(&render_sees) {
                return Err("the other task never ran: the render held the only worker".into());
            }
            let manifests = deploykit_cluster::manifest::parse_manifests(&[config_map("a", "b")])
                .map_err(|e| e.to_string())?;
            Ok(deploykit_cluster::RevisionContent {
                manifests,
                hooks: Vec::new(),
                notes: String::new(),
            })
        };
        let request = request(Vec::new());
        let cancel = CancellationToken::new();
        cluster
            .deploy_rendered(&request, &mut render, &mut |_| {}, &cancel)
            .await
    });
    // This thread runs the test's body, not the worker: it may block.
    assert!(wait_for(&started), "the render never started");
    let flag = other_ran.clone();
    tokio::spawn(async move { flag.store(true, Ordering::SeqCst) });
    let outcome = deploy.await.unwrap().unwrap();
    assert_eq!(outcome.revision, 1);
}

/// Blocks up to 60 s for `flag`; whether it was set.
fn wait_for(flag: &std::sync::atomic::AtomicBool) -> bool {
    for _ in 0..6000 {
        if flag.load(std::sync::atomic::Ordering::SeqCst) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

/// The release's leases on the fake server (at most one: `deploykit.web`).
fn leases(env: &Env) -> Vec<String> {
    env.fake
        .server
        .names("coordination.k8s.io/v1", "Lease", Some(NS))
}

#[tokio::test]
async fn a_failed_operation_still_releases_the_lease() {
    let env = env().await;
    // A deploy whose wait fails.
    let mut failing = request(vec![deployment("web:v1")]);
    failing.timeout = Duration::from_secs(1);
    let err = deploy(&env.cluster, &failing).await.0.unwrap_err();
    assert!(matches!(err, Error::RolloutFailed { .. }), "{err}");
    assert!(leases(&env).is_empty(), "{:?}", leases(&env));
    // A rollback to a revision that does not exist.
    let options = deploykit_cluster::RollbackOptions {
        revision: Some(7),
        ..Default::default()
    };
    let err = env
        .cluster
        .rollback("web", NS, &options, &mut |_| {}, &CancellationToken::new())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::RevisionNotFound { revision: 7, .. }),
        "{err}"
    );
    assert!(leases(&env).is_empty(), "{:?}", leases(&env));
    // An uninstall of a release that is not there.
    let err = env
        .cluster
        .uninstall("absent", NS, &mut |_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ReleaseNotFound { .. }), "{err}");
    assert!(leases(&env).is_empty(), "{:?}", leases(&env));
    // So the next deploy takes the lease at once.
    env.fake.server.set_auto_ready(true);
    assert_eq!(env.deployed(vec![deployment("web:v1")]).await.revision, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deploy_whose_future_is_dropped_leaves_its_lease_expired() {
    let env = env().await;
    let first = env.cluster.clone();
    let running = tokio::spawn(async move {
        let mut waiting = request(vec![deployment("web:v1")]);
        waiting.timeout = Duration::from_secs(600);
        first
            .deploy(&waiting, &mut |_| {}, &CancellationToken::new())
            .await
    });
    let pending = until(|| {
        lease_held_by("test-a", &env)
            && env
                .fake
                .server
                .get("v1", "Secret", Some(NS), "sh.helm.release.v1.web.v1")
                .is_some()
    })
    .await;
    assert!(pending, "the deploy never recorded its pending revision");
    // A caller's timeout or select! drops the future in the middle of the wait: the
    // lease is dated back, not left to run its 30 s, nor deleted (a pending revision with
    // no lease would wait 5 minutes for its writer).
    running.abort();
    let expired = until(|| !lease_held_by("test-a", &env)).await;
    assert!(expired, "the lease is still live");
    // Another client takes the revision over at once.
    let other = env.fake.client(options("test-b")).await;
    env.fake.server.set_auto_ready(true);
    let outcome = deploy(&other, &request(vec![deployment("web:v1")]))
        .await
        .0
        .unwrap();
    assert_eq!(
        (outcome.revision, outcome.took_over.as_deref()),
        (2, Some("test-a"))
    );
    assert!(leases(&env).is_empty(), "{:?}", leases(&env));
}

/// Whether `holder` holds the release's lease, unexpired, on the fake server.
fn lease_held_by(holder: &str, env: &Env) -> bool {
    let Some(lease) =
        env.fake
            .server
            .get("coordination.k8s.io/v1", "Lease", Some(NS), "deploykit.web")
    else {
        return false;
    };
    let lease = serde_json::from_value(lease).expect("a Lease");
    let state = deploykit_cluster::lease::lease_state(&lease, "an observer", chrono::Utc::now());
    matches!(state, deploykit_cluster::lease::LeaseState::Held { holder: h, .. } if h == holder)
}

/// Polls `condition` every 20 ms for up to 30 s (a loaded machine is slow); whether it
/// came true.
async fn until(mut condition: impl FnMut() -> bool) -> bool {
    for _ in 0..1500 {
        if condition() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test]
async fn old_crashing_pods_being_replaced_do_not_fail_the_new_rollout() {
    let env = env().await;
    namespace(&env.fake.server);
    let server = &env.fake.server;
    let replica_set = |hash: &str, revision: &str| {
        json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": format!("web-{hash}"), "namespace": NS,
            "labels": {"app": "web", "pod-template-hash": hash}, "annotations": {"deployment.kubernetes.io/revision": revision}},
            "spec": {"selector": {"matchLabels": {"app": "web", "pod-template-hash": hash}}}})
    };
    let mut old_pod = waiting_pod("CrashLoopBackOff", "back-off");
    old_pod["metadata"]["labels"]["pod-template-hash"] = json!("old1");
    let mut new_pod = ready_pod("web-new");
    new_pod["metadata"]["labels"]["pod-template-hash"] = json!("new2");
    let mut polls = 0;
    let result = env
        .cluster
        .deploy(
            &request(vec![deployment("web:fixed")]),
            &mut |event| {
                // Play the controllers: a new ReplicaSet rolls out while the old, crashing
                // one is scaled down; the Deployment becomes ready a few polls later.
                if matches!(&event, Progress::Applied { object, .. } if object.kind == "Deployment")
                {
                    let mut live = server
                        .get("apps/v1", "Deployment", Some(NS), "web")
                        .unwrap();
                    live["metadata"]["annotations"]["deployment.kubernetes.io/revision"] =
                        json!("2");
                    server.put(live);
                    server.put(replica_set("old1", "1"));
                    server.put(replica_set("new2", "2"));
                    server.put(old_pod.clone());
                    server.put(new_pod.clone());
                }
                if matches!(event, Progress::Workload { .. }) {
                    polls += 1;
                    if polls == 1 {
                        server.make_deployment_ready(NS, "web");
                    }
                }
            },
            &CancellationToken::new(),
        )
        .await;
    assert_eq!(result.unwrap().revision, 1);
}

#[tokio::test]
async fn a_secret_is_applied_only_when_its_data_changed_and_errors_hide_its_values() {
    let env = env().await;
    env.cluster.ensure_namespace(NS).await.unwrap();
    let secret = |value: &str| {
        json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": "app-env", "namespace": NS, "labels": {"part-of": "app"}},
            "data": {"TOKEN": value}})
    };
    let first = secret("c2VjcmV0LW9uZQ==");
    assert_eq!(
        env.cluster.apply_secret(&first).await.unwrap(),
        deploykit_cluster::Change::Created
    );
    let stored = env
        .fake
        .server
        .get("v1", "Secret", Some(NS), "app-env")
        .unwrap();
    assert_eq!(stored["data"]["TOKEN"], "c2VjcmV0LW9uZQ==");
    assert_eq!(stored["metadata"]["labels"]["part-of"], "app");

    // The same data again: read, not written.
    let writes = env.fake.server.writes();
    assert_eq!(
        env.cluster.apply_secret(&first).await.unwrap(),
        deploykit_cluster::Change::Unchanged
    );
    assert_eq!(
        env.fake.server.writes(),
        writes,
        "{:?}",
        env.fake.server.write_log()
    );

    // New data: written.
    assert_eq!(
        env.cluster
            .apply_secret(&secret("c2VjcmV0LXR3bw=="))
            .await
            .unwrap(),
        deploykit_cluster::Change::Configured
    );
    let stored = env
        .fake
        .server
        .get("v1", "Secret", Some(NS), "app-env")
        .unwrap();
    assert_eq!(stored["data"]["TOKEN"], "c2VjcmV0LXR3bw==");

    // An object without a namespace is refused before any call.
    let mut nameless = secret("c2VjcmV0LW9uZQ==");
    nameless["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("namespace");
    let error = env.cluster.apply_secret(&nameless).await.unwrap_err();
    assert!(
        error.to_string().contains("metadata.namespace") && !error.to_string().contains("c2Vj"),
        "{error}"
    );

    // A refused write names the Secret and its keys, never the values.
    env.fake.server.set_reject_credentials(true);
    let error = env
        .cluster
        .apply_secret(&secret("c2VjcmV0LXRocmVl"))
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains(&format!("Secret {NS}/app-env")), "{error}");
    assert!(!error.contains("c2VjcmV0LXRocmVl"), "{error}");
}

#[tokio::test]
async fn node_images_lists_what_each_node_reports() {
    let env = env().await;
    assert!(env.cluster.node_images().await.unwrap().is_empty());
    for (node, images) in [
        (
            "a",
            vec!["docker.io/library/app:1", "docker.io/library/db:2"],
        ),
        ("b", vec!["docker.io/library/app:1"]),
    ] {
        env.fake
            .server
            .put(json!({"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": node},
            "status": {"images": [{"names": images, "sizeBytes": 1000}]}}));
    }
    let mut nodes: Vec<Vec<String>> = env
        .cluster
        .node_images()
        .await
        .unwrap()
        .into_iter()
        .map(|names| names.into_iter().collect())
        .collect();
    nodes.sort();
    assert_eq!(
        nodes,
        vec![
            vec!["docker.io/library/app:1".to_string()],
            vec![
                "docker.io/library/app:1".to_string(),
                "docker.io/library/db:2".to_string()
            ],
        ]
    );
}

#[tokio::test]
async fn diff_uses_the_servers_dry_run_and_says_why_when_it_cannot() {
    let env = env().await;
    let manifests = |value: &str| vec![config_map("a", value), config_map("b", "1")];

    // Nothing deployed, no namespace yet: every object is a create, compared here, with
    // the one reason they share.
    let diffs = env.cluster.diff(&request(manifests("1"))).await.unwrap();
    assert!(
        diffs.iter().all(|d| d.action == DiffAction::Create),
        "{diffs:?}"
    );
    let reasons: std::collections::BTreeSet<_> =
        diffs.iter().filter_map(|d| d.fallback.clone()).collect();
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert!(
        reasons
            .iter()
            .all(|r| r.contains(&format!("namespaces \"{NS}\" not found"))),
        "{reasons:?}"
    );

    // Deployed: the server's dry-run answer is compared with the live object.
    deploy(&env.cluster, &request(manifests("1")))
        .await
        .0
        .unwrap();
    let writes = env.fake.server.writes();
    let diffs = env.cluster.diff(&request(manifests("2"))).await.unwrap();
    assert_eq!(env.fake.server.writes(), writes, "a dry run writes nothing");
    assert_eq!(diffs[0].action, DiffAction::Update);
    assert_eq!(diffs[0].fallback, None, "{diffs:?}");
    let fields: Vec<_> = diffs[0]
        .fields
        .iter()
        .map(|f| (f.path.as_str(), f.live.clone(), f.desired.clone()))
        .collect();
    assert_eq!(fields, [("data.value", Some(json!("1")), Some(json!("2")))]);
    assert_eq!(diffs[1].action, DiffAction::Unchanged);

    // A server that refuses dry runs: the same answer from deploykit's own comparison,
    // with the server's reason.
    env.fake.server.set_refuse_dry_run(true);
    let fallback = env.cluster.diff(&request(manifests("2"))).await.unwrap();
    assert_eq!(fallback[0].action, DiffAction::Update);
    assert_eq!(fallback[0].fields, diffs[0].fields);
    let reason = fallback[0].fallback.clone().unwrap_or_default();
    assert!(
        reason.contains("refused a dry-run apply") && reason.contains("does not support dry run"),
        "{reason}"
    );
}
