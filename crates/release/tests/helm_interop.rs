//! Helm's own client (helm-python-sdk, Helm v4's Go code) against releases deploykit-release
//! makes, on the fake API server:
//! - for the same chart and values, what Helm reads back (`helm get manifest`, `values`,
//!   `hooks`, `notes`) and the chart it records equal those of a release Helm installed;
//! - Helm upgrades a deploykit release, and deploykit upgrades and rolls back a Helm
//!   release, and either way both tools then read the same history, statuses and
//!   `helm get` of every revision as when Helm did it all.

use std::path::{Path, PathBuf};

use deploykit_chart::{Chart, Map, SetKind, ValueSources};
use deploykit_cluster::Cluster;
use deploykit_fake_apiserver::FakeApiServer;
use deploykit_release::{History, Install, Rollback, Upgrade};
use deploykit_testkit::FakeCluster;
use serde_json::Value;

const NS: &str = "apps";
const RELEASE: &str = "shop";

/// One call of Helm's client: `python3 -c HELM kubeconfig namespace action args...`,
/// printing the answer as JSON.
const HELM: &str = r#"
import json, sys, helm_python as helm
kubeconfig, namespace, action, release = sys.argv[1:5]
args = sys.argv[5:]
cfg = helm.Config(kubeconfig_path=kubeconfig, namespace=namespace)
if action == "install":
    out = cfg.install(args[0], release, json.loads(args[1]), create_namespace=True, wait="watcher", timeout=60)
elif action == "upgrade":
    out = cfg.upgrade(args[0], release, json.loads(args[1]), wait="watcher", timeout=60)
elif action == "rollback":
    out = cfg.rollback(release, version=int(args[0]), wait="watcher", timeout=60)
elif action == "test":
    out = cfg.test(release, timeout=60)
elif action == "history":
    out = cfg.history(release)
elif action == "get":
    revision = int(args[0])
    out = {"all": cfg.get_all(release, revision=revision), "status": cfg.status(release, revision=revision), "values": cfg.get_values(release, revision=revision)}
print(json.dumps(out, default=str))
"#;

/// One cluster (a fake API server) with Helm's kubeconfig for it and deploykit's client.
struct Side {
    server: FakeApiServer,
    kubeconfig: PathBuf,
    cluster: Cluster,
    /// Holds the kubeconfig; removed with the side.
    _dir: tempfile::TempDir,
}

impl Side {
    /// A fresh fake API server that makes workloads ready.
    async fn start() -> Side {
        let FakeCluster {
            server,
            cluster,
            kubeconfig,
            dir,
        } = FakeCluster::start().await;
        server.set_auto_ready(true);
        Side {
            server,
            kubeconfig,
            cluster,
            _dir: dir,
        }
    }

    /// Runs Helm's client on this cluster.
    async fn helm(&self, action: &str, args: &[&str]) -> Value {
        let output = tokio::process::Command::new("python3")
            .arg("-c")
            .arg(HELM)
            .arg(&self.kubeconfig)
            .args([NS, action, RELEASE])
            .args(args)
            .output()
            .await
            .expect("python3 runs");
        assert!(
            output.status.success(),
            "Helm's client failed to {action}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).expect("Helm's client answers JSON")
    }

    /// What `helm history` and `helm get` show of every revision, as Helm reads them,
    /// with what differs by nature left out (times, hook run times).
    async fn helm_view(&self) -> Value {
        let history = self.helm("history", &[]).await;
        let mut revisions = Vec::new();
        for entry in history.as_array().expect("a list of revisions") {
            let revision = entry["revision"].to_string();
            let get = helm_get(&self.helm("get", &[&revision]).await);
            revisions.push(serde_json::json!({
                "revision": entry["revision"],
                "status": entry["status"],
                "description": entry["description"],
                "chart": entry["chart"],
                "app_version": entry["app_version"],
                "get": get,
            }));
        }
        Value::Array(revisions)
    }

    /// The revisions as deploykit reads them: number, status, description.
    async fn deploykit_view(&self) -> Vec<(u32, String, String)> {
        History::new(&self.cluster, RELEASE, NS)
            .run()
            .await
            .unwrap()
            .into_iter()
            .map(|r| {
                (
                    r.version,
                    r.info.status.to_string(),
                    r.info.description.clone(),
                )
            })
            .collect()
    }

    /// The release's ConfigMap's greeting, as the cluster holds it.
    fn greeting(&self) -> Value {
        self.server
            .get("v1", "ConfigMap", Some(NS), &format!("{RELEASE}-config"))
            .expect("the release's ConfigMap")["data"]["greeting"]
            .clone()
    }
}

fn write_chart(dir: &Path) -> PathBuf {
    let root = dir.join("shop");
    deploykit_testkit::write_files(
        &root,
        &[
            (
                "Chart.yaml",
                "apiVersion: v2\nname: shop\nversion: 1.2.3\nappVersion: \"4.5\"\ndescription: interop\n",
            ),
            ("values.yaml", "greeting: hi\nreplicas: 1\n"),
            (
                "Chart.lock",
                "dependencies:\n- name: common\n  repository: oci://registry.example/charts\n  version: 2.31.4\ndigest: sha256:fc442e77200e1914dd46fe26490dcf62f44caa51db673c2f8e67d5319cd4c163\ngenerated: \"2025-08-14T15:12:51.716883419+02:00\"\n",
            ),
            (
                "values.schema.json",
                "{\"type\": \"object\", \"properties\": {\"replicas\": {\"type\": \"integer\"}}}\n",
            ),
            ("files/motd.txt", "hello from a file\n"),
            (
                "templates/config.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-config\ndata:\n  greeting: {{ .Values.greeting | quote }}\n  revision: {{ .Release.Revision | quote }}\n---\n# a comment-only document\n",
            ),
            (
                "templates/service.yaml",
                "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  ports:\n  - port: 80\n",
            ),
            (
                "templates/migrate.yaml",
                "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {{ .Release.Name }}-migrate\n  annotations:\n    helm.sh/hook: pre-install,pre-upgrade\n    helm.sh/hook-weight: \"2\"\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: migrate\n        image: busybox\n",
            ),
            (
                "templates/tests/ping.yaml",
                "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {{ .Release.Name }}-ping\n  annotations:\n    helm.sh/hook: test\n    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded\nspec:\n  restartPolicy: Never\n  containers:\n  - name: ping\n    image: busybox\n",
            ),
            (
                "templates/NOTES.txt",
                "{{ .Values.greeting }} from {{ .Release.Name }} ({{ .Chart.Version }}).\n",
            ),
        ],
    );
    root
}

/// What `helm get manifest/values/hooks/notes` shows of a revision (hook run times left
/// out).
fn helm_get(answer: &Value) -> Value {
    let hooks: Vec<Value> = answer["all"]["hooks"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|mut hook| {
            if let Some(hook) = hook.as_object_mut() {
                hook.remove("last_run");
            }
            hook
        })
        .collect();
    serde_json::json!({
        "manifest": answer["status"]["manifest"],
        "notes": answer["status"]["notes"],
        "values": answer["values"],
        "hooks": hooks,
    })
}

/// The user's values as Helm's client takes them (JSON) and as deploykit does.
fn values(greeting: &str) -> (String, Map) {
    let json = serde_json::json!({"greeting": greeting, "replicas": 2}).to_string();
    let map = ValueSources::default()
        .set(SetKind::Typed, format!("greeting={greeting}"))
        .set(SetKind::Typed, "replicas=2")
        .merge()
        .unwrap();
    (json, map)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_get_reads_the_same_release_from_deploykit_as_from_helm() {
    if !deploykit_testkit::require(
        "Helm's client (helm-python-sdk)",
        deploykit_testkit::helm_sdk_available(),
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let chart_dir = write_chart(dir.path());
    let chart_path = chart_dir.to_str().unwrap();
    let (json, map) = values("hello");

    let by_helm = Side::start().await;
    by_helm.helm("install", &[chart_path, &json]).await;

    let by_deploykit = Side::start().await;
    let chart = Chart::load(&chart_dir).unwrap();
    Install::new(&by_deploykit.cluster, RELEASE, NS)
        .run(&chart, &map)
        .await
        .unwrap();

    let helms = helm_get(&by_helm.helm("get", &["1"]).await);
    let ours = helm_get(&by_deploykit.helm("get", &["1"]).await);
    for part in ["manifest", "values", "notes", "hooks"] {
        assert_eq!(ours[part], helms[part], "helm get {part} differs");
    }
    assert!(
        helms["manifest"]
            .as_str()
            .unwrap()
            .contains("# Source: shop/templates/config.yaml")
    );

    // The objects carry the metadata Helm gives them: hooks only the chart's own labels
    // and annotations, release objects Helm's ownership ones (deploykit adds only its
    // fingerprint).
    let metadata = |side: &Side, api_version: &str, kind: &str, name: &str| {
        let object = side
            .server
            .get(api_version, kind, Some(NS), name)
            .unwrap_or_else(|| panic!("{kind}/{name}"));
        let mut annotations = object["metadata"]["annotations"].clone();
        annotations
            .as_object_mut()
            .map(|a| a.remove(deploykit_cluster::compare::APPLIED_HASH));
        (object["metadata"]["labels"].clone(), annotations)
    };
    for (api_version, kind, name) in [
        ("batch/v1", "Job", "shop-migrate"),
        ("v1", "ConfigMap", "shop-config"),
        ("v1", "Service", "shop"),
    ] {
        assert_eq!(
            metadata(&by_deploykit, api_version, kind, name),
            metadata(&by_helm, api_version, kind, name),
            "{kind}/{name}'s labels and annotations"
        );
    }
    assert_eq!(
        by_deploykit
            .server
            .get("v1", "Namespace", None, NS)
            .unwrap()["metadata"]["labels"],
        by_helm.server.get("v1", "Namespace", None, NS).unwrap()["metadata"]["labels"],
        "--create-namespace labels"
    );

    // The chart as each record keeps it (Helm's client shows none of it): metadata,
    // Chart.lock, templates, files, schema and default values.
    let record = |history: Vec<deploykit_cluster::Release>| {
        history
            .into_iter()
            .next()
            .and_then(|r| r.chart)
            .expect("a chart")
    };
    let helms = record(by_helm.cluster.history(RELEASE, NS).await.unwrap());
    let ours = record(by_deploykit.cluster.history(RELEASE, NS).await.unwrap());
    assert_eq!(ours.lock, helms.lock, "Chart.lock");
    assert_eq!(
        helms.lock["generated"], "2025-08-14T15:12:51.716883419+02:00",
        "{}",
        helms.lock
    );
    assert_eq!(ours.metadata, helms.metadata, "Chart.yaml");
    // Helm 4 also keeps modification times: each file's, Chart.yaml's (the chart's
    // `modtime`) and the schema's (`schemamodtime`), as Go writes times.
    assert_eq!(
        ours.templates, helms.templates,
        "templates, with their modtime"
    );
    assert_eq!(ours.files, helms.files, "files, with their modtime");
    assert!(
        helms.templates[0]["modtime"].is_string() && helms.extra["schemamodtime"].is_string(),
        "{:?}",
        helms.extra
    );
    assert_eq!(
        ours.extra, helms.extra,
        "modtime, schemamodtime and any other field"
    );

    // Each tool runs the other's tests (`helm test`): the ping Pod succeeds.
    by_deploykit.helm("test", &[]).await;
    let outcome = deploykit_release::Test::new(&by_helm.cluster, RELEASE, NS)
        .run()
        .await
        .unwrap();
    assert!(outcome.passed(), "{outcome:?}");
    assert_eq!(outcome.tests[0].object.name, "shop-ping");
    assert_eq!(ours.schema, helms.schema, "values.schema.json");
    assert_eq!(ours.values, helms.values, "values.yaml");
}

/// A cluster where Helm's client installed the chart with `first`, upgraded it with
/// `second` and rolled back to revision 1: the history a mixed one is compared with.
async fn all_by_helm(chart_path: &str, first: &str, second: &str) -> Side {
    let by_helm = Side::start().await;
    by_helm.helm("install", &[chart_path, first]).await;
    by_helm.helm("upgrade", &[chart_path, second]).await;
    by_helm.helm("rollback", &["1"]).await;
    by_helm
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_upgrades_a_deploykit_release_as_one_of_its_own() {
    if !deploykit_testkit::require(
        "Helm's client (helm-python-sdk)",
        deploykit_testkit::helm_sdk_available(),
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let chart_dir = write_chart(dir.path());
    let chart_path = chart_dir.to_str().unwrap();
    let (first, first_map) = values("hello");
    let (second, _) = values("bonjour");

    let by_helm = all_by_helm(chart_path, &first, &second).await;

    let mixed = Side::start().await;
    let chart = Chart::load(&chart_dir).unwrap();
    Install::new(&mixed.cluster, RELEASE, NS)
        .run(&chart, &first_map)
        .await
        .unwrap();
    mixed.helm("upgrade", &[chart_path, &second]).await;
    assert_eq!(mixed.greeting(), "bonjour", "Helm's upgrade applied");
    assert_eq!(
        mixed.deploykit_view().await,
        [
            (1, "superseded".into(), "Install complete".into()),
            (2, "deployed".into(), "Upgrade complete".into()),
        ],
        "deploykit reads Helm's revision as its own"
    );

    // Helm's upgrade owns the fields it changed (its field manager), applied client-side
    // (`apply_method: csa`, as Helm 4 upgrades a release whose record has none): Helm would
    // apply client-side again, overwriting them, and deploykit takes them over as it would.
    assert_eq!(
        mixed.cluster.history(RELEASE, NS).await.unwrap()[1].extra["apply_method"],
        "csa"
    );
    let rollback = Rollback::new(&mixed.cluster, RELEASE, NS);
    assert_eq!(rollback.run().await.unwrap().revision, 3);
    assert_eq!(mixed.greeting(), "hello", "deploykit's rollback applied");

    assert_eq!(mixed.helm_view().await, by_helm.helm_view().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploykit_upgrades_and_rolls_back_a_helm_release_as_helm_does() {
    if !deploykit_testkit::require(
        "Helm's client (helm-python-sdk)",
        deploykit_testkit::helm_sdk_available(),
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let chart_dir = write_chart(dir.path());
    let chart_path = chart_dir.to_str().unwrap();
    let (first, _) = values("hello");
    let (second, second_map) = values("bonjour");

    let by_helm = all_by_helm(chart_path, &first, &second).await;

    let mixed = Side::start().await;
    mixed.helm("install", &[chart_path, &first]).await;
    let chart = Chart::load(&chart_dir).unwrap();
    // Helm 4 installed with server-side apply (`apply_method: ssa`): its field manager
    // (named after the process, python3 here) owns the fields, and applied Helm's release
    // annotation. Helm upgrading would own them already; deploykit takes over that
    // manager's fields as the release's own, without force_conflicts.
    assert_eq!(
        mixed.cluster.history(RELEASE, NS).await.unwrap()[0].extra["apply_method"],
        "ssa"
    );
    Upgrade::new(&mixed.cluster, RELEASE, NS)
        .run(&chart, &second_map)
        .await
        .unwrap();
    assert_eq!(mixed.greeting(), "bonjour", "deploykit's upgrade applied");
    let mut rollback = Rollback::new(&mixed.cluster, RELEASE, NS);
    rollback.revision = Some(1);
    assert_eq!(rollback.run().await.unwrap().revision, 3);
    assert_eq!(mixed.greeting(), "hello", "deploykit's rollback applied");

    assert_eq!(mixed.helm_view().await, by_helm.helm_view().await);
    assert_eq!(
        mixed.deploykit_view().await,
        [
            (1, "superseded".into(), "Install complete".into()),
            (2, "superseded".into(), "Upgrade complete".into()),
            (3, "deployed".into(), "Rollback to 1".into()),
        ]
    );
}
