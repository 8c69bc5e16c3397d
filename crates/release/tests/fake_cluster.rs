//! The release actions against the fake API server: what a user of the crate relies on.

use std::time::Duration;

use deploykit_chart::{Chart, Map, SetKind, ValueSources};
use deploykit_cluster::{Cluster, DiffAction, Release, Status as RecordStatus};
use deploykit_fake_apiserver::FakeApiServer;
use deploykit_release::{
    Diff, Error, History, Install, Rollback, Status, Test, Uninstall, Upgrade,
};
use deploykit_testkit::FakeCluster;

const NS: &str = "demo";
const RELEASE: &str = "web";

/// What every test starts from: the fake API server, a cluster connected to it through a
/// kubeconfig file, and the folder that holds that file and the test's chart.
struct Env {
    server: FakeApiServer,
    cluster: Cluster,
    dir: tempfile::TempDir,
}

impl Env {
    /// A fresh server on which workloads and hooks stay as the test makes them.
    async fn new() -> Env {
        let FakeCluster {
            server,
            cluster,
            dir,
            ..
        } = FakeCluster::start().await;
        Env {
            server,
            cluster,
            dir,
        }
    }

    /// A fresh server that makes workloads and hooks ready, as controllers and kubelets
    /// would.
    async fn ready() -> Env {
        let env = Env::new().await;
        env.server.set_auto_ready(true);
        env
    }

    fn install(&self) -> Install<'_> {
        Install::new(&self.cluster, RELEASE, NS)
    }

    fn upgrade(&self) -> Upgrade<'_> {
        Upgrade::new(&self.cluster, RELEASE, NS)
    }

    fn uninstall(&self) -> Uninstall<'_> {
        Uninstall::new(&self.cluster, RELEASE, NS)
    }

    fn rollback(&self) -> Rollback<'_> {
        Rollback::new(&self.cluster, RELEASE, NS)
    }

    fn test(&self) -> Test<'_> {
        Test::new(&self.cluster, RELEASE, NS)
    }

    /// The release's records, oldest first.
    async fn history(&self) -> Vec<Release> {
        History::new(&self.cluster, RELEASE, NS)
            .run()
            .await
            .unwrap()
    }

    /// The data of the release's ConfigMap: what the templates were told.
    fn config_map(&self) -> serde_json::Value {
        self.server
            .get("v1", "ConfigMap", Some(NS), RELEASE)
            .expect("the release's ConfigMap")["data"]
            .clone()
    }

    /// Whether the server holds the object (in the release's namespace).
    fn holds(&self, api_version: &str, kind: &str, name: &str) -> bool {
        self.server.get(api_version, kind, Some(NS), name).is_some()
    }

    /// The demo chart of [`chart`], in this test's folder.
    fn chart(&self, kube_version: &str) -> Chart {
        chart(self.dir.path(), kube_version)
    }

    /// The demo chart plus `extra` templates ([`chart_with`]).
    fn chart_with(&self, extra: &[String]) -> Chart {
        chart_with(self.dir.path(), extra)
    }

    /// The demo chart plus hooks ([`chart_with_hooks`]).
    fn chart_with_hooks(&self, post_install_label: &str) -> Chart {
        chart_with_hooks(self.dir.path(), post_install_label)
    }

    /// The demo chart plus a Deployment ([`chart_with_deployment`]).
    fn chart_with_deployment(&self, extra: &[String]) -> Chart {
        chart_with_deployment(self.dir.path(), extra)
    }
}

/// A chart whose ConfigMap shows what the templates were told.
fn chart(dir: &std::path::Path, kube_version: &str) -> Chart {
    let root = dir.join("demo");
    let chart_yaml = format!(
        "apiVersion: v2\nname: demo\nversion: 0.1.0\nappVersion: \"1.0\"\nkubeVersion: \"{kube_version}\"\n"
    );
    deploykit_testkit::write_files(
        &root,
        &[
            ("Chart.yaml", &chart_yaml),
            ("values.yaml", "greeting: hello\n"),
            (
                "templates/cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  greeting: {{ .Values.greeting | quote }}\n  revision: {{ .Release.Revision | quote }}\n  install: {{ .Release.IsInstall | quote }}\n  upgrade: {{ .Release.IsUpgrade | quote }}\n  kube: {{ .Capabilities.KubeVersion.Version | quote }}\n  apps: {{ .Capabilities.APIVersions.Has \"apps/v1/Deployment\" | quote }}\n",
            ),
            (
                "templates/svc.yaml",
                "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  ports:\n  - port: 80\n",
            ),
            (
                "templates/NOTES.txt",
                "Say {{ .Values.greeting }} to {{ .Release.Name }}.\n",
            ),
        ],
    );
    Chart::load(&root).unwrap()
}

/// Each record's revision, status and description, oldest first.
fn records(history: &[Release]) -> Vec<(u32, RecordStatus, &str)> {
    history
        .iter()
        .map(|r| (r.version, r.info.status, r.info.description.as_str()))
        .collect()
}

fn values(expressions: &[&str]) -> Map {
    expressions
        .iter()
        .fold(ValueSources::default(), |sources, e| {
            sources.set(SetKind::Typed, *e)
        })
        .merge()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn install_records_what_helm_records() {
    let env = Env::new().await;
    let chart = env.chart(">=1.20.0-0");
    let deployed = env
        .install()
        .run(&chart, &values(&["greeting=hi"]))
        .await
        .unwrap();
    assert_eq!(deployed.outcome.revision, 1);
    assert_eq!(deployed.notes, "Say hi to web.\n");

    let data = env.config_map();
    assert_eq!(data["revision"], "1");
    assert_eq!(
        (&data["install"], &data["upgrade"]),
        (&"true".into(), &"false".into())
    );
    assert_eq!(
        data["apps"], "true",
        "APIVersions come from the cluster's discovery"
    );
    let version = env.cluster.server_version().await.unwrap();
    assert_eq!(data["kube"], version.as_str());

    let history = env.history().await;
    let record = &history[0];
    assert_eq!(record.info.status, RecordStatus::Deployed);
    assert_eq!(record.info.description, "Install complete");
    assert_eq!(record.info.notes, "Say hi to web.\n");
    assert!(
        record.manifest.starts_with(
            "---\n# Source: demo/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\n"
        ),
        "{}",
        record.manifest
    );
    assert!(
        record
            .manifest
            .contains("---\n# Source: demo/templates/cm.yaml\n")
    );
    assert_eq!(
        record.config,
        serde_json::json!({"greeting": "hi"})
            .as_object()
            .unwrap()
            .clone()
    );
    let stored = record.chart.as_ref().unwrap();
    assert_eq!(stored.metadata.name, "demo");
    assert_eq!(stored.metadata.kube_version, ">=1.20.0-0");
    assert_eq!(stored.values, serde_json::json!({"greeting": "hello"}));
    let templates: Vec<&str> = stored
        .templates
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        templates,
        [
            "templates/NOTES.txt",
            "templates/cm.yaml",
            "templates/svc.yaml"
        ]
    );

    // Each file's modification time, as Helm 4 records it (Go's RFC 3339, nanoseconds).
    let cm = &stored.templates[1];
    let written = std::fs::metadata(env.dir.path().join("demo/templates/cm.yaml"))
        .unwrap()
        .modified()
        .unwrap();
    let recorded = chrono::DateTime::parse_from_rfc3339(cm["modtime"].as_str().unwrap()).unwrap();
    assert_eq!(std::time::SystemTime::from(recorded), written);
    assert!(stored.extra["modtime"].is_string(), "Chart.yaml's");
    assert_eq!(
        stored.extra["schemamodtime"], "0001-01-01T00:00:00Z",
        "no schema"
    );

    let again = env.install().run(&chart, &Map::new()).await.unwrap_err();
    assert!(
        matches!(again, Error::AlreadyInstalled { revision: 1, .. }),
        "{again}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrade_rollback_and_uninstall_keep_helms_statuses() {
    let env = Env::new().await;
    let chart = env.chart("");
    let mut only_upgrade = env.upgrade();
    only_upgrade.install = false;
    let not_yet = only_upgrade.run(&chart, &Map::new()).await.unwrap_err();
    assert!(matches!(not_yet, Error::NotInstalled { .. }), "{not_yet}");

    let upgrade = env.upgrade();
    assert_eq!(
        upgrade
            .run(&chart, &Map::new())
            .await
            .unwrap()
            .outcome
            .revision,
        1
    );
    assert_eq!(env.config_map()["install"], "true");
    let second = upgrade
        .run(&chart, &values(&["greeting=bonjour"]))
        .await
        .unwrap();
    assert_eq!(second.outcome.revision, 2);
    let data = env.config_map();
    assert_eq!(
        (&data["revision"], &data["install"], &data["upgrade"]),
        (&"2".into(), &"false".into(), &"true".into())
    );

    let diffs = Diff::new(&env.cluster, "web", NS)
        .run(&chart, &values(&["greeting=hola"]))
        .await
        .unwrap();
    let cm = diffs.iter().find(|d| d.object.kind == "ConfigMap").unwrap();
    assert_eq!(cm.action, DiffAction::Update);
    assert!(cm.fields.iter().any(|f| f.path == "data.greeting"), "{cm}");

    let rolled = env.rollback().run().await.unwrap();
    assert_eq!(rolled.revision, 3);
    assert_eq!(env.config_map()["greeting"], "hello");
    let history = env.history().await;
    let statuses = records(&history);
    assert_eq!(
        statuses,
        [
            (1, RecordStatus::Superseded, "Install complete"),
            (2, RecordStatus::Superseded, "Upgrade complete"),
            (3, RecordStatus::Deployed, "Rollback to 1"),
        ]
    );
    let status = Status::new(&env.cluster, "web", NS).run().await.unwrap();
    assert_eq!(status.release.version, 3);

    env.uninstall().run().await.unwrap();
    assert!(!env.holds("v1", "ConfigMap", "web"));
    assert!(env.history().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chart_for_another_kubernetes_is_refused_before_any_write() {
    let env = Env::new().await;
    let chart = env.chart("<1.0.0");
    let writes = env.server.writes();
    let error = env.upgrade().run(&chart, &Map::new()).await.unwrap_err();
    assert!(
        matches!(error, Error::IncompatibleKubeVersion { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("<1.0.0"), "{error}");
    assert_eq!(env.server.writes(), writes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_name_helm_refuses_is_refused_before_any_request() {
    let env = Env::new().await;
    let chart = env.chart("");
    let writes = env.server.writes();
    let error = Upgrade::new(&env.cluster, "My_App", NS)
        .run(&chart, &Map::new())
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::InvalidReleaseName { release, .. } if release == "My_App"),
        "{error}"
    );
    assert!(error.to_string().contains("lowercase letters"), "{error}");
    let error = Rollback::new(&env.cluster, "", NS).run().await.unwrap_err();
    assert!(error.to_string().contains("it is empty"), "{error}");
    assert_eq!(env.server.writes(), writes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_error_comes_back_typed_and_nothing_is_recorded() {
    let env = Env::new().await;
    let chart = env.chart("");
    std::fs::write(
        env.dir.path().join("demo/templates/bad.yaml"),
        "{{ required \"set greeting2\" .Values.greeting2 }}\n",
    )
    .unwrap();
    let chart_with_error = Chart::load(env.dir.path().join("demo")).unwrap();
    drop(chart);
    let error = env
        .upgrade()
        .run(&chart_with_error, &Map::new())
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Chart(_)), "{error:?}");
    assert!(error.to_string().contains("set greeting2"), "{error}");
    assert!(env.history().await.is_empty());
}

/// The label that makes the fake server fail a hook's Job or Pod.
const FAILS: &str = "    fake.deploykit/outcome: failed\n";

/// The label that keeps a hook's Job running until the wait gives up.
const NEVER_ENDS: &str = "    fake.deploykit/outcome: pending\n";

/// A hook of `kind` for `events`, with no weight or delete policy.
fn plain_hook(name: &str, kind: &str, events: &str, labels: &str) -> String {
    hook(name, kind, &[("helm.sh/hook", events)], labels)
}

fn hook(name: &str, kind: &str, annotations: &[(&str, &str)], labels: &str) -> String {
    let annotations: String = annotations
        .iter()
        .map(|(k, v)| format!("    {k}: {v:?}\n"))
        .collect();
    let spec = match kind {
        "Job" => {
            "spec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: run\n        image: busybox\n"
        }
        "Pod" => {
            "spec:\n  restartPolicy: Never\n  containers:\n  - name: test\n    image: busybox\n"
        }
        _ => "data:\n  a: b\n",
    };
    let api_version = if kind == "Job" { "batch/v1" } else { "v1" };
    format!(
        "apiVersion: {api_version}\nkind: {kind}\nmetadata:\n  name: {name}\n  labels:\n    app: demo\n{labels}  annotations:\n{annotations}{spec}"
    )
}

/// The demo chart plus hooks: two pre-install hooks out of name order by weight, a
/// post-install Job, and a test Pod.
fn chart_with_hooks(dir: &std::path::Path, post_install_label: &str) -> Chart {
    chart(dir, "");
    let hooks = [
        hook(
            "zz-first",
            "ConfigMap",
            &[
                ("helm.sh/hook", "pre-install"),
                ("helm.sh/hook-weight", "-5"),
                ("helm.sh/hook-delete-policy", "hook-succeeded"),
            ],
            "",
        ),
        hook(
            "aa-migrate",
            "Job",
            &[
                ("helm.sh/hook", "pre-install,pre-upgrade"),
                ("helm.sh/hook-weight", "1"),
            ],
            "",
        ),
        plain_hook("seed", "Job", "post-install", post_install_label),
        plain_hook("web-test", "Pod", "test", ""),
    ]
    .join("---\n");
    std::fs::write(dir.join("demo/templates/hooks.yaml"), hooks).unwrap();
    Chart::load(dir.join("demo")).unwrap()
}

fn hook_events(events: &[deploykit_cluster::Progress]) -> Vec<String> {
    events
        .iter()
        .filter(|e| matches!(e, deploykit_cluster::Progress::Hook { .. }))
        .map(ToString::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hooks_run_by_weight_are_deleted_by_policy_and_kept_in_the_record() {
    let env = Env::ready().await;
    let chart = env.chart_with_hooks("");
    let mut events = Vec::new();
    let deployed = env
        .install()
        .run_with(
            &chart,
            &Map::new(),
            &mut |e| events.push(e),
            &deploykit_cluster::CancellationToken::new(),
        )
        .await
        .unwrap();
    assert_eq!(
        hook_events(&events),
        [
            "pre-install hook ConfigMap/zz-first: running",
            "pre-install hook ConfigMap/zz-first: succeeded",
            "pre-install hook Job/aa-migrate: running",
            "pre-install hook Job/aa-migrate: succeeded",
            "post-install hook Job/seed: running",
            "post-install hook Job/seed: succeeded",
        ]
    );
    assert_eq!(deployed.hooks.len(), 4);
    assert!(
        !env.holds("v1", "ConfigMap", "zz-first"),
        "hook-succeeded deletes it"
    );
    let migrate = env
        .server
        .get("batch/v1", "Job", Some(NS), "aa-migrate")
        .expect("the default policy keeps it until the next run");
    assert_eq!(
        (
            &migrate["metadata"]["labels"],
            &migrate["metadata"]["annotations"]
        ),
        (
            &serde_json::json!({"app": "demo"}),
            &serde_json::json!({"helm.sh/hook": "pre-install,pre-upgrade", "helm.sh/hook-weight": "1"})
        ),
        "Helm creates hooks with the chart's labels and annotations only"
    );

    let record = env.history().await.remove(0);
    assert!(
        !record.manifest.contains("helm.sh/hook"),
        "hooks stay out of the manifest"
    );
    let runs: Vec<(&str, &str, &[String])> = record
        .hooks
        .iter()
        .map(|h| {
            (
                h.name.as_str(),
                h.last_run.phase.as_str(),
                h.delete_policies.as_slice(),
            )
        })
        .collect();
    let default = ["before-hook-creation".to_string()];
    let succeeded = ["hook-succeeded".to_string()];
    assert_eq!(
        runs,
        [
            ("zz-first", "Succeeded", &succeeded[..]),
            ("web-test", "", &[][..]),
            ("aa-migrate", "Succeeded", &default[..]),
            ("seed", "Succeeded", &default[..]),
        ],
        "Helm's install order: ConfigMap, Pod, Job"
    );
    assert_eq!(record.hooks[2].path, "demo/templates/hooks.yaml");
    assert_eq!(record.hooks[2].events, ["pre-install", "pre-upgrade"]);
    assert_eq!(record.hooks[2].weight, 1);

    // An upgrade runs pre-upgrade hooks only, deleting the previous Job first.
    events.clear();
    env.upgrade()
        .run_with(
            &chart,
            &values(&["greeting=again"]),
            &mut |e| events.push(e),
            &deploykit_cluster::CancellationToken::new(),
        )
        .await
        .unwrap();
    assert_eq!(
        hook_events(&events),
        [
            "pre-upgrade hook Job/aa-migrate: running",
            "pre-upgrade hook Job/aa-migrate: succeeded",
        ]
    );

    // Test runs the test Pod and reads its log.
    env.server
        .set_pod_log(NS, "web-test", "test", false, "GET / 200\nall good\n");
    let outcome = env.test().run().await.unwrap();
    assert!(outcome.passed(), "{outcome:?}");
    assert_eq!(outcome.tests.len(), 1);
    assert_eq!(outcome.tests[0].logs, ["GET / 200", "all good"]);
    let record = env.history().await.pop().unwrap();
    let test = record.hooks.iter().find(|h| h.name == "web-test").unwrap();
    assert_eq!(test.last_run.phase, "Succeeded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_hook_fails_the_release_with_a_diagnosis() {
    let env = Env::ready().await;
    let chart = env.chart_with_hooks(FAILS);
    let error = env.install().run(&chart, &Map::new()).await.unwrap_err();
    let text = error.to_string();
    assert!(
        matches!(
            &error,
            Error::Cluster(deploykit_cluster::Error::HookFailed { object, .. }) if object.name == "seed"
        ),
        "{text}"
    );
    assert!(text.contains("backoff limit"), "{text}");
    let record = env.history().await.remove(0);
    assert_eq!(record.info.status, RecordStatus::Failed);
    assert!(
        record
            .info
            .description
            .starts_with("Release \"web\" failed: failed post-install: hook Job/seed failed: "),
        "Helm's words: {}",
        record.info.description
    );
    assert!(
        record.info.description.contains("backoff limit"),
        "the diagnosis in one line: {}",
        record.info.description
    );
    let seed = record.hooks.iter().find(|h| h.name == "seed").unwrap();
    assert_eq!(seed.last_run.phase, "Failed");
}

/// The demo chart with the hooks of an atomic test: `extra` hook documents added.
fn chart_with(dir: &std::path::Path, extra: &[String]) -> Chart {
    chart(dir, "");
    std::fs::write(dir.join("demo/templates/hooks.yaml"), extra.join("---\n")).unwrap();
    Chart::load(dir.join("demo")).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_atomic_install_whose_hook_fails_is_uninstalled_as_helm_does() {
    let env = Env::ready().await;
    let chart = env.chart_with(&[
        hook(
            "migrate",
            "Job",
            &[
                ("helm.sh/hook", "pre-install"),
                ("helm.sh/hook-delete-policy", "hook-failed"),
            ],
            FAILS,
        ),
        plain_hook("farewell", "ConfigMap", "pre-delete", ""),
    ]);
    let mut install = env.install();
    install.options.atomic = true;
    let mut events = Vec::new();
    let error = install
        .run_with(
            &chart,
            &Map::new(),
            &mut |e| events.push(e),
            &deploykit_cluster::CancellationToken::new(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            &error,
            Error::Cluster(deploykit_cluster::Error::HookFailed {
                event: deploykit_cluster::HookEvent::PreInstall,
                rolled_back_to: Some(0),
                ..
            })
        ),
        "{error}"
    );
    let text = error.to_string();
    assert!(text.contains("pre-install hook Job/migrate"), "{text}");
    assert!(text.contains("backoff limit"), "{text}");
    assert!(text.contains("the release was removed"), "{text}");
    assert_eq!(
        hook_events(&events),
        [
            "pre-install hook Job/migrate: running",
            "pre-install hook Job/migrate: failed",
            "pre-delete hook ConfigMap/farewell: running",
            "pre-delete hook ConfigMap/farewell: succeeded",
        ],
        "rollback-on-failure uninstalls the release, delete hooks included"
    );
    assert!(events.contains(&deploykit_cluster::Progress::RollingBack { to: 0 }));
    assert!(
        !env.holds("batch/v1", "Job", "migrate"),
        "hook-failed deletes the failed hook"
    );
    assert!(!env.holds("v1", "ConfigMap", "web"));
    assert!(env.history().await.is_empty(), "no record is left");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_atomic_upgrade_whose_hook_times_out_rolls_back_as_helm_does() {
    let env = Env::ready().await;
    let chart = env.chart_with(&[
        hook(
            "announce",
            "ConfigMap",
            &[
                ("helm.sh/hook", "pre-upgrade"),
                ("helm.sh/hook-weight", "-1"),
                ("helm.sh/hook-delete-policy", "hook-succeeded"),
            ],
            "",
        ),
        plain_hook("migrate", "Job", "pre-upgrade", NEVER_ENDS),
        plain_hook("restored", "ConfigMap", "post-rollback", ""),
    ]);
    env.install().run(&chart, &Map::new()).await.unwrap();

    let mut upgrade = env.upgrade();
    upgrade.options.atomic = true;
    upgrade.options.timeout = Duration::from_secs(2);
    let mut events = Vec::new();
    let error = upgrade
        .run_with(
            &chart,
            &values(&["greeting=bonjour"]),
            &mut |e| events.push(e),
            &deploykit_cluster::CancellationToken::new(),
        )
        .await
        .unwrap_err();
    let deploykit_cluster::Error::HookFailed {
        event,
        object,
        diagnosis,
        rolled_back_to,
        ..
    } = (match &error {
        Error::Cluster(error) => error,
        other => panic!("{other}"),
    })
    else {
        panic!("{error}");
    };
    assert_eq!(
        (*event, object.name.as_str(), *rolled_back_to),
        (deploykit_cluster::HookEvent::PreUpgrade, "migrate", Some(1))
    );
    assert_eq!(diagnosis.timed_out_after, Some(Duration::from_secs(2)));
    assert!(
        error.to_string().contains("rolled back to revision 1"),
        "{error}"
    );
    assert_eq!(
        hook_events(&events),
        [
            "pre-upgrade hook ConfigMap/announce: running",
            "pre-upgrade hook ConfigMap/announce: succeeded",
            "pre-upgrade hook Job/migrate: running",
            "pre-upgrade hook Job/migrate: failed",
            "post-rollback hook ConfigMap/restored: running",
            "post-rollback hook ConfigMap/restored: succeeded",
        ]
    );
    assert!(
        !env.holds("v1", "ConfigMap", "announce"),
        "as Helm 4: a failure still deletes the event's succeeded hooks by hook-succeeded"
    );

    let history = env.history().await;
    let statuses: Vec<_> = history.iter().map(|r| (r.version, r.info.status)).collect();
    assert_eq!(
        statuses,
        [
            (1, RecordStatus::Superseded),
            (2, RecordStatus::Failed),
            (3, RecordStatus::Deployed),
        ]
    );
    assert_eq!(history[0].info.description, "Install complete");
    assert!(
        history[1].info.description.starts_with(
            "Upgrade \"web\" failed: pre-upgrade hooks failed: hook Job/migrate failed: timed out after 2s"
        ),
        "Helm's words: {}",
        history[1].info.description
    );
    assert_eq!(history[2].info.description, "Rollback to 1");
    assert_eq!(env.config_map()["greeting"], "hello");
    assert_eq!(env.config_map()["revision"], "1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_capabilities_replace_the_clusters_for_templates_and_kube_version() {
    let env = Env::new().await;
    let offline = deploykit_chart::Capabilities {
        kube_version: deploykit_chart::objects::KubeVersion::parse("v1.24.3").unwrap(),
        api_versions: vec!["v1".to_string()],
    };

    let newer = env.chart(">=1.25.0-0");
    let mut install = env.install();
    install.options.capabilities = Some(offline.clone());
    let error = install.run(&newer, &Map::new()).await.unwrap_err();
    assert!(
        matches!(&error, Error::IncompatibleKubeVersion { server, .. } if server == "v1.24.3"),
        "kubeVersion is checked against the given version: {error}"
    );

    let chart = env.chart(">=1.20.0-0");
    install.run(&chart, &Map::new()).await.unwrap();
    let data = env.config_map();
    assert_eq!(
        (&data["kube"], &data["apps"]),
        (&"v1.24.3".into(), &"false".into()),
        "templates see the given capabilities, not the cluster's"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_failed_first_install_the_next_deploy_is_an_upgrade_as_in_helm() {
    let env = Env::ready().await;
    let failing = env.chart_with(&[plain_hook(
        "migrate",
        "Job",
        "pre-install,pre-upgrade",
        FAILS,
    )]);
    env.install().run(&failing, &Map::new()).await.unwrap_err();

    // Atomic, but nothing was ever deployed to go back to: Helm leaves it failed.
    let mut upgrade = env.upgrade();
    upgrade.options.atomic = true;
    let error = upgrade.run(&failing, &Map::new()).await.unwrap_err();
    assert!(
        matches!(
            &error,
            Error::Cluster(deploykit_cluster::Error::HookFailed {
                event: deploykit_cluster::HookEvent::PreUpgrade,
                rolled_back_to: None,
                ..
            })
        ),
        "{error}"
    );

    let fixed = env.chart_with(&[]);
    upgrade.run(&fixed, &Map::new()).await.unwrap();
    let data = env.config_map();
    assert_eq!(
        (&data["revision"], &data["install"], &data["upgrade"]),
        (&"3".into(), &"false".into(), &"true".into())
    );
    let history = env.history().await;
    let statuses = records(&history);
    assert_eq!(statuses.len(), 3);
    assert_eq!(statuses[0].1, RecordStatus::Failed);
    assert!(
        statuses[0]
            .2
            .starts_with("Release \"web\" failed: failed pre-install: ")
    );
    assert_eq!(statuses[1].1, RecordStatus::Failed);
    assert!(
        statuses[1]
            .2
            .starts_with("Upgrade \"web\" failed: pre-upgrade hooks failed: "),
        "{}",
        statuses[1].2
    );
    assert_eq!(statuses[2], (3, RecordStatus::Deployed, "Upgrade complete"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_test_pod_is_reported_with_its_log_not_as_an_error() {
    let env = Env::ready().await;
    let chart = env.chart_with(&[plain_hook("web-test", "Pod", "test", FAILS)]);
    env.install().run(&chart, &Map::new()).await.unwrap();
    env.server
        .set_pod_log(NS, "web-test", "test", false, "GET / 503\nwanted 200\n");
    let outcome = env.test().run().await.unwrap();
    assert!(!outcome.passed());
    assert_eq!(outcome.tests.len(), 1);
    assert_eq!(outcome.tests[0].phase, "Failed");
    assert_eq!(outcome.tests[0].logs, ["GET / 503", "wanted 200"]);
    let failure = outcome.failure.as_deref().unwrap_or_default();
    assert!(failure.contains("test hook Pod/web-test"), "{failure}");
    let record = env.history().await.remove(0);
    assert_eq!(
        record.info.status,
        RecordStatus::Deployed,
        "a failed test leaves the release as it was"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_rollback_hook_leaves_the_rollback_pending_as_helm_does() {
    let env = Env::ready().await;
    let chart = env.chart_with(&[plain_hook("guard", "Job", "pre-rollback", FAILS)]);
    let upgrade = env.upgrade();
    upgrade.run(&chart, &Map::new()).await.unwrap();
    upgrade
        .run(&chart, &values(&["greeting=bonjour"]))
        .await
        .unwrap();
    let error = env.rollback().run().await.unwrap_err();
    assert!(
        matches!(
            &error,
            Error::Cluster(deploykit_cluster::Error::HookFailed {
                event: deploykit_cluster::HookEvent::PreRollback,
                ..
            })
        ),
        "{error}"
    );
    let history = env.history().await;
    let last = history.last().unwrap();
    // Helm 4's `Rollback.Run` returns from the failed hook before recording anything: the
    // revision keeps the status and description it was created with, and its hook the
    // run recorded when it started.
    assert_eq!(
        (
            last.version,
            last.info.status,
            last.info.description.as_str()
        ),
        (3, RecordStatus::PendingRollback, "Rollback to 1")
    );
    let guard = last.hooks.iter().find(|h| h.name == "guard").unwrap();
    assert_eq!(guard.last_run.phase, "Running");
    assert_eq!(history[1].info.status, RecordStatus::Deployed);
    assert_eq!(
        env.config_map()["greeting"],
        "bonjour",
        "nothing was rolled back"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uninstall_keeping_history_marks_it_uninstalled_and_the_next_install_is_a_new_revision() {
    let env = Env::new().await;
    let chart = env.chart("");
    let upgrade = env.upgrade();
    upgrade.run(&chart, &Map::new()).await.unwrap();
    upgrade
        .run(&chart, &values(&["greeting=bonjour"]))
        .await
        .unwrap();

    let mut uninstall = env.uninstall();
    uninstall.keep_history = true;
    let outcome = uninstall.run().await.unwrap();
    assert_eq!(outcome.revision, 2);
    assert!(!env.holds("v1", "ConfigMap", "web"));
    let history = env.history().await;
    assert_eq!(
        records(&history),
        [
            (1, RecordStatus::Superseded, "Install complete"),
            (2, RecordStatus::Uninstalled, "Uninstallation complete"),
        ]
    );
    assert_ne!(
        history[1].info.deleted, history[0].info.deleted,
        "the time of deletion"
    );

    let error = uninstall.run().await.unwrap_err();
    assert!(
        matches!(
            &error,
            Error::Cluster(deploykit_cluster::Error::AlreadyUninstalled { .. })
        ),
        "{error}"
    );
    assert!(
        matches!(
            env.install().run(&chart, &Map::new()).await,
            Err(Error::AlreadyInstalled { revision: 2, .. })
        ),
        "as `helm install` without --replace"
    );

    let deployed = upgrade.run(&chart, &Map::new()).await.unwrap();
    assert_eq!(deployed.outcome.revision, 3);
    assert_eq!(env.config_map()["install"], "true");
    assert_eq!(env.config_map()["revision"], "3");
    let history = env.history().await;
    assert_eq!(
        records(&history)[1..],
        [
            (2, RecordStatus::Superseded, "superseded by new release"),
            (3, RecordStatus::Deployed, "Install complete"),
        ],
        "as Helm's install --replace"
    );

    uninstall.keep_history = false;
    uninstall.run().await.unwrap();
    assert!(env.history().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uninstall_with_wait_waits_for_finalizers_and_names_what_stays() {
    let env = Env::new().await;
    let finalized = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: held\n  finalizers:\n  - demo.example/cleanup\ndata:\n  a: b\n".to_string();
    let chart = env.chart_with(&[finalized]);
    let upgrade = env.upgrade();
    upgrade.run(&chart, &Map::new()).await.unwrap();

    // Without `wait` the uninstall returns at once, the object still finalizing.
    env.uninstall().run().await.unwrap();
    let held = env.server.get("v1", "ConfigMap", Some(NS), "held").unwrap();
    assert!(held["metadata"]["deletionTimestamp"].is_string());
    env.server.remove("v1", "ConfigMap", Some(NS), "held");

    // With `wait`, it waits until the controller lets the object go.
    upgrade.run(&chart, &Map::new()).await.unwrap();
    let mut uninstall = env.uninstall();
    uninstall.wait = true;
    let finalized = std::sync::atomic::AtomicBool::new(false);
    let controller = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        finalized.store(true, std::sync::atomic::Ordering::SeqCst);
        env.server.remove("v1", "ConfigMap", Some(NS), "held");
    };
    let uninstalled = async {
        let outcome = uninstall.run().await.unwrap();
        assert!(
            finalized.load(std::sync::atomic::Ordering::SeqCst),
            "returned only once the finalizer was done"
        );
        outcome
    };
    let (outcome, ()) = tokio::join!(uninstalled, controller);
    assert!(outcome.deleted.iter().any(|o| o.name == "held"));

    // A finalizer that never ends: the records go all the same, and the error names it.
    upgrade.run(&chart, &Map::new()).await.unwrap();
    uninstall.timeout = Duration::from_millis(300);
    let error = uninstall.run().await.unwrap_err();
    assert!(
        matches!(
            &error,
            Error::Cluster(deploykit_cluster::Error::DeletionTimedOut { remaining, .. })
                if remaining.len() == 1 && remaining[0].name == "held"
        ),
        "{error}"
    );
    assert!(
        error.to_string().contains("ConfigMap/held is still there"),
        "{error}"
    );
    assert!(env.history().await.is_empty());
}

/// The demo chart plus a Deployment whose image follows `greeting`.
fn chart_with_deployment(dir: &std::path::Path, extra: &[String]) -> Chart {
    let deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n      - name: web\n        image: \"web:{{ .Values.greeting }}\"\n".to_string();
    let mut templates = vec![deployment];
    templates.extend_from_slice(extra);
    chart_with(dir, &templates)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_during_an_atomic_upgrade_stops_the_wait_and_rolls_back_as_helm_does() {
    let env = Env::ready().await;
    let chart = env.chart_with_deployment(&[]);
    env.install().run(&chart, &Map::new()).await.unwrap();

    // The new Deployment never becomes ready; Ctrl-C while the upgrade waits for it.
    env.server.set_auto_ready(false);
    let mut upgrade = env.upgrade();
    upgrade.options.atomic = true;
    upgrade.options.timeout = Duration::from_secs(600);
    let cancel = deploykit_cluster::CancellationToken::new();
    let mut events = Vec::new();
    let error = upgrade
        .run_with(
            &chart,
            &values(&["greeting=bonjour"]),
            &mut |event| {
                match &event {
                    deploykit_cluster::Progress::Workload { .. } => cancel.cancel(),
                    // The rollback's own objects become ready, as the old image's would.
                    deploykit_cluster::Progress::RollingBack { .. } => {
                        env.server.set_auto_ready(true)
                    }
                    _ => {}
                }
                events.push(event);
            },
            &cancel,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            &error,
            Error::Cluster(deploykit_cluster::Error::RolledBack {
                revision: 2,
                rolled_back_to: 1,
                cause,
                ..
            }) if matches!(**cause, deploykit_cluster::Error::Interrupted { .. })
        ),
        "{error}"
    );
    assert!(events.contains(&deploykit_cluster::Progress::RollingBack { to: 1 }));
    let history = env.history().await;
    let statuses = records(&history);
    assert_eq!(
        statuses,
        [
            (1, RecordStatus::Superseded, "Install complete"),
            (
                2,
                RecordStatus::Failed,
                "Upgrade \"web\" failed: context canceled"
            ),
            (3, RecordStatus::Deployed, "Rollback to 1"),
        ],
        "Helm 4's records of a cancelled atomic upgrade"
    );
    let image = env
        .server
        .get("apps/v1", "Deployment", Some(NS), "web")
        .unwrap()["spec"]["template"]["spec"]["containers"][0]["image"]
        .clone();
    assert_eq!(image, "web:hello");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_during_an_install_records_it_failed_or_removes_it_when_atomic() {
    let env = Env::ready().await;
    let slow = plain_hook("migrate", "Job", "pre-install", NEVER_ENDS);
    let chart = env.chart_with(&[slow]);
    let cancel_on_hook = |cancel: &deploykit_cluster::CancellationToken| {
        let cancel = cancel.clone();
        move |event: deploykit_cluster::Progress| {
            if matches!(event, deploykit_cluster::Progress::Hook { .. }) {
                cancel.cancel();
            }
        }
    };

    let install = env.install();
    let cancel = deploykit_cluster::CancellationToken::new();
    let error = install
        .run_with(&chart, &Map::new(), &mut cancel_on_hook(&cancel), &cancel)
        .await
        .unwrap_err();
    assert!(
        matches!(
            &error,
            Error::Cluster(deploykit_cluster::Error::Interrupted { revision: 1, .. })
        ),
        "{error}"
    );
    let history = env.history().await;
    assert_eq!(
        (history[0].info.status, history[0].info.description.as_str()),
        (
            RecordStatus::Failed,
            "Release \"web\" failed: context canceled"
        )
    );
    env.uninstall().run().await.unwrap();

    let mut install = env.install();
    install.options.atomic = true;
    let cancel = deploykit_cluster::CancellationToken::new();
    let error = install
        .run_with(&chart, &Map::new(), &mut cancel_on_hook(&cancel), &cancel)
        .await
        .unwrap_err();
    assert!(
        matches!(
            &error,
            Error::Cluster(deploykit_cluster::Error::RolledBack {
                rolled_back_to: 0,
                ..
            })
        ),
        "{error}"
    );
    assert!(
        env.history().await.is_empty(),
        "rollback-on-failure uninstalls a cancelled install"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fields_another_manager_took_are_a_conflict_naming_them_until_forced() {
    let env = Env::new().await;
    let chart = env.chart("");
    let upgrade = env.upgrade();
    upgrade.run(&chart, &Map::new()).await.unwrap();

    // Someone edits the release's ConfigMap server-side under their own field manager.
    let kubeconfig =
        kube::config::Kubeconfig::read_from(env.dir.path().join("kubeconfig")).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .unwrap();
    let client = kube::Client::try_from(config).unwrap();
    let config_maps: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
        kube::Api::namespaced(client, NS);
    let edit = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web"}, "data": {"greeting": "edited"}});
    config_maps
        .patch(
            "web",
            &kube::api::PatchParams::apply("kubectl-edit").force(),
            &kube::api::Patch::Apply(&edit),
        )
        .await
        .unwrap();

    let error = upgrade
        .run(&chart, &values(&["greeting=bonjour"]))
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(
        matches!(
            &error,
            Error::Cluster(deploykit_cluster::Error::Conflict { manager, fields, .. })
                if manager == "kubectl-edit" && fields.contains(".data.greeting")
        ),
        "{text}"
    );
    assert!(text.contains("force_conflicts"), "names the option: {text}");
    assert_eq!(env.config_map()["greeting"], "edited");

    let mut forced = env.upgrade();
    forced.options.force_conflicts = true;
    forced
        .run(&chart, &values(&["greeting=bonjour"]))
        .await
        .unwrap();
    assert_eq!(env.config_map()["greeting"], "bonjour");
}
