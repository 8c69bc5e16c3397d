//! For the same chart and values, what Helm's own client reads back (`helm get manifest`,
//! `values`, `hooks`, `notes`) from a release deploykit-release made equals what it reads
//! from one Helm installed. Helm's client is helm-python-sdk, against the fake API server.

use std::time::Duration;

use deploykit_chart::{Chart, SetKind, ValueSources};
use deploykit_cluster::{ClusterOptions, ConnectOptions, connect};
use deploykit_fake_apiserver::FakeApiServer;
use deploykit_release::Install;
use serde_json::Value;

const NS: &str = "apps";

const HELM_INSTALL: &str = r#"
import json, sys, helm_python as helm
cfg = helm.Config(kubeconfig_path=sys.argv[1], namespace=sys.argv[2])
print(json.dumps(cfg.install(sys.argv[4], sys.argv[3], json.loads(sys.argv[5]), create_namespace=True, wait="watcher", timeout=60), default=str))
"#;

const HELM_GET: &str = r#"
import json, sys, helm_python as helm
cfg = helm.Config(kubeconfig_path=sys.argv[1], namespace=sys.argv[2])
print(json.dumps({"all": cfg.get_all(sys.argv[3]), "status": cfg.status(sys.argv[3]), "values": cfg.get_values(sys.argv[3])}, default=str))
"#;

fn helm_sdk_available() -> Result<(), String> {
    let status = std::process::Command::new("python3")
        .args(["-c", "import helm_python"])
        .output()
        .map_err(|e| e.to_string())?;
    if status.status.success() {
        Ok(())
    } else {
        Err("python3 -m pip install 'helm-python-sdk==0.2.2'".into())
    }
}

async fn helm_client(script: &str, args: &[&str]) -> Value {
    let output = tokio::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .await
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "Helm's client failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("Helm's client answers JSON")
}

fn write_chart(dir: &std::path::Path) -> std::path::PathBuf {
    let root = dir.join("shop");
    std::fs::create_dir_all(root.join("templates/tests")).unwrap();
    std::fs::write(
        root.join("Chart.yaml"),
        "apiVersion: v2\nname: shop\nversion: 1.2.3\nappVersion: \"4.5\"\ndescription: interop\n",
    )
    .unwrap();
    std::fs::write(root.join("values.yaml"), "greeting: hi\nreplicas: 1\n").unwrap();
    std::fs::write(
        root.join("templates/config.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-config\ndata:\n  greeting: {{ .Values.greeting | quote }}\n  revision: {{ .Release.Revision | quote }}\n---\n# a comment-only document\n",
    )
    .unwrap();
    std::fs::write(
        root.join("templates/service.yaml"),
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  ports:\n  - port: 80\n",
    )
    .unwrap();
    std::fs::write(
        root.join("templates/migrate.yaml"),
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {{ .Release.Name }}-migrate\n  annotations:\n    helm.sh/hook: pre-install,pre-upgrade\n    helm.sh/hook-weight: \"2\"\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: migrate\n        image: busybox\n",
    )
    .unwrap();
    std::fs::write(
        root.join("templates/tests/ping.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {{ .Release.Name }}-ping\n  annotations:\n    helm.sh/hook: test\n    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded\nspec:\n  restartPolicy: Never\n  containers:\n  - name: ping\n    image: busybox\n",
    )
    .unwrap();
    std::fs::write(
        root.join("templates/NOTES.txt"),
        "{{ .Values.greeting }} from {{ .Release.Name }} ({{ .Chart.Version }}).\n",
    )
    .unwrap();
    root
}

/// What `helm get manifest/values/hooks/notes` shows of a release (hook run times left out).
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_get_reads_the_same_release_from_deploykit_as_from_helm() {
    if !deploykit_testkit::require("Helm's client (helm-python-sdk)", helm_sdk_available()) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let chart_dir = write_chart(dir.path());
    let values = r#"{"greeting": "hello", "replicas": 2}"#;

    let by_helm = FakeApiServer::start().await;
    by_helm.set_auto_ready(true);
    let helm_kubeconfig = dir.path().join("helm.kubeconfig");
    std::fs::write(&helm_kubeconfig, by_helm.kubeconfig("fake")).unwrap();
    let helm_kubeconfig = helm_kubeconfig.to_str().unwrap();
    helm_client(
        HELM_INSTALL,
        &[
            helm_kubeconfig,
            NS,
            "shop",
            chart_dir.to_str().unwrap(),
            values,
        ],
    )
    .await;

    let by_deploykit = FakeApiServer::start().await;
    by_deploykit.set_auto_ready(true);
    let deploykit_kubeconfig = dir.path().join("deploykit.kubeconfig");
    std::fs::write(&deploykit_kubeconfig, by_deploykit.kubeconfig("fake")).unwrap();
    let cluster = connect(ConnectOptions {
        kubeconfig: Some(deploykit_kubeconfig.clone()),
        ..Default::default()
    })
    .await
    .unwrap()
    .with_options(ClusterOptions {
        poll_interval: Duration::from_millis(20),
        ..ClusterOptions::default()
    });
    let chart = Chart::load(&chart_dir).unwrap();
    let merged = ValueSources::default()
        .set(SetKind::Typed, "greeting=hello")
        .set(SetKind::Typed, "replicas=2")
        .merge()
        .unwrap();
    Install::new(&cluster, "shop", NS)
        .run(&chart, &merged)
        .await
        .unwrap();

    let helms = helm_get(&helm_client(HELM_GET, &[helm_kubeconfig, NS, "shop"]).await);
    let ours = helm_get(
        &helm_client(
            HELM_GET,
            &[deploykit_kubeconfig.to_str().unwrap(), NS, "shop"],
        )
        .await,
    );
    for part in ["manifest", "values", "notes", "hooks"] {
        assert_eq!(ours[part], helms[part], "helm get {part} differs");
    }
    assert!(
        helms["manifest"]
            .as_str()
            .unwrap()
            .contains("# Source: shop/templates/config.yaml")
    );
}
