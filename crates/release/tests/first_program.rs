//! A stranger's first program against deploykit-release, written from the crate's docs
//! alone: a chart folder with a values file installed, upgraded with `--set`, rolled back
//! and its history read; then the inputs such a program gets wrong (an API server that
//! does not answer, a kubeconfig that does not parse, a release name Helm refuses, a
//! folder that is not a chart, a values file that is not YAML), each a typed error that
//! names the input and the fix, with nothing written to the cluster.

use std::path::Path;

use deploykit_release::{
    Chart, Cluster, ConnectOptions, Error, History, Install, Rollback, SetKind, Upgrade,
    ValueSources, chart::ChartError, cluster, connect,
};
use deploykit_testkit::FakeCluster;

/// The program: what a team writes to ship its chart. Returns each revision as
/// `(number, status, description)`.
async fn ship(
    cluster: &Cluster,
    chart_dir: &Path,
    values_file: &Path,
) -> Result<Vec<(u32, String, String)>, Error> {
    let chart = Chart::load(chart_dir)?;
    let values = ValueSources::default().file(values_file).merge()?;
    let install = Install::new(cluster, "shop", "store");
    let installed = install.run(&chart, &values).await?;
    assert_eq!(installed.outcome.revision, 1);

    let bigger = ValueSources::default()
        .file(values_file)
        .set(SetKind::Typed, "replicas=3")
        .merge()?;
    Upgrade::new(cluster, "shop", "store")
        .run(&chart, &bigger)
        .await?;
    Rollback::new(cluster, "shop", "store").run().await?;

    let history = History::new(cluster, "shop", "store").run().await?;
    Ok(history
        .into_iter()
        .map(|record| {
            let status = record.info.status.to_string();
            (record.version, status, record.info.description)
        })
        .collect())
}

/// A chart whose ConfigMap shows the values it was given.
fn write_chart(root: &Path) {
    deploykit_testkit::write_files(
        root,
        &[
            ("Chart.yaml", "apiVersion: v2\nname: shop\nversion: 1.0.0\n"),
            ("values.yaml", "replicas: 1\ngreeting: hi\n"),
            (
                "templates/settings.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  replicas: {{ .Values.replicas | quote }}\n  greeting: {{ .Values.greeting | quote }}\n",
            ),
            ("templates/NOTES.txt", "Say {{ .Values.greeting }}.\n"),
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chart_folder_with_values_is_installed_upgraded_rolled_back_and_its_history_read() {
    let fake = FakeCluster::start().await;
    fake.server.set_auto_ready(true);
    let chart = fake.dir.path().join("shop");
    write_chart(&chart);
    let values = fake.dir.path().join("prod.yaml");
    std::fs::write(&values, "greeting: hello\n").unwrap();

    let history = ship(&fake.cluster, &chart, &values).await.unwrap();

    let expected = [
        (1, "superseded", "Install complete"),
        (2, "superseded", "Upgrade complete"),
        (3, "deployed", "Rollback to 1"),
    ];
    let history: Vec<_> = history
        .iter()
        .map(|(n, s, d)| (*n, s.as_str(), d.as_str()))
        .collect();
    assert_eq!(history, expected);
    let live = fake
        .server
        .get("v1", "ConfigMap", Some("store"), "shop")
        .unwrap();
    assert_eq!(live["data"]["greeting"], "hello");
    assert_eq!(live["data"]["replicas"], "1", "rolled back to revision 1");
}

#[tokio::test]
async fn an_api_server_that_does_not_answer_is_named_with_the_fix() {
    // A port nothing listens on: bound, then closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let fake = FakeCluster::start().await;
    let kubeconfig = fake
        .server
        .kubeconfig("staging")
        .replace(&fake.server.url(), &format!("http://127.0.0.1:{port}"));
    let options = ConnectOptions {
        kubeconfig_text: Some(kubeconfig),
        ..ConnectOptions::default()
    };
    let error: Error = connect(options).await.unwrap_err().into();
    let Error::Cluster(cluster::Error::Unreachable {
        context, server, ..
    }) = &error
    else {
        panic!("{error:?}");
    };
    assert_eq!(
        (context.as_str(), server.as_str()),
        ("staging", format!("http://127.0.0.1:{port}").as_str())
    );
    let message = error.to_string();
    assert!(message.contains("kubectl config use-context"), "{message}");
}

#[tokio::test]
async fn a_kubeconfig_that_does_not_parse_is_named_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    std::fs::write(&path, "clusters: [unclosed\n").unwrap();
    let options = ConnectOptions {
        kubeconfig: Some(path.clone()),
        ..ConnectOptions::default()
    };
    let error = connect(options).await.unwrap_err();
    let cluster::Error::Kubeconfig { origin, .. } = &error else {
        panic!("{error:?}");
    };
    assert_eq!(origin, &path.display().to_string());
    let message = error.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("kubectl config view"), "{message}");
    assert!(!message.contains("create ~/.kube/config"), "{message}");
}

#[tokio::test]
async fn a_release_name_helm_refuses_is_refused_before_any_request() {
    let fake = FakeCluster::start().await;
    let chart = fake.dir.path().join("shop");
    write_chart(&chart);
    let chart = Chart::load(&chart).unwrap();
    let before = fake.server.writes();
    let error = Install::new(&fake.cluster, "Shop_Prod", "store")
        .run(&chart, &Default::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::InvalidReleaseName { release, .. } if release == "Shop_Prod"),
        "{error:?}"
    );
    assert!(error.to_string().contains("lowercase letters"), "{error}");
    assert_eq!(fake.server.writes(), before, "nothing written");
}

/// deploykit-chart words this as Helm does (`Chart.yaml file is missing`), then names the
/// folder and what a chart folder holds.
#[tokio::test]
async fn a_folder_that_is_not_a_chart_is_a_typed_load_error() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("templates-only");
    deploykit_testkit::write_files(&folder, &[("templates/a.yaml", "kind: ConfigMap\n")]);
    let error: Error = Chart::load(&folder).unwrap_err().into();
    assert!(
        matches!(&error, Error::Chart(ChartError::Load { message }) if message.contains("Chart.yaml") && message.contains("templates-only")),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_values_file_that_is_not_yaml_writes_nothing() {
    let fake = FakeCluster::start().await;
    let chart = fake.dir.path().join("shop");
    write_chart(&chart);
    let values = fake.dir.path().join("broken.yaml");
    std::fs::write(&values, "greeting: [unclosed\n").unwrap();
    let before = fake.server.writes();
    let error = ship(&fake.cluster, &chart, &values).await.unwrap_err();
    assert!(
        matches!(&error, Error::Chart(ChartError::Values { file, .. }) if file.ends_with("broken.yaml")),
        "{error:?}"
    );
    assert_eq!(fake.server.writes(), before, "nothing written");
}

/// What a program keeps in its own structs and logs: every action and its options can
/// be printed with `{:?}` and copied.
#[test]
fn actions_are_debug_and_clone() {
    fn debug_clone<T: std::fmt::Debug + Clone>() {}
    debug_clone::<Install<'static>>();
    debug_clone::<Upgrade<'static>>();
    debug_clone::<Rollback<'static>>();
    debug_clone::<History<'static>>();
    debug_clone::<deploykit_release::Uninstall<'static>>();
    debug_clone::<deploykit_release::Status<'static>>();
    debug_clone::<deploykit_release::Diff<'static>>();
    debug_clone::<deploykit_release::Test<'static>>();
    debug_clone::<Cluster>();
}
