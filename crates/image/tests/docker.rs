//! Tests against a real Docker Engine (skipped with a reason when there is none, failing
//! under CI=true). Every image is tagged in a repository unique to the test run and removed
//! at the end; nothing is pulled.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::Path;
use std::time::Duration;

use deploykit_image::{
    BuildContext, BuildEvent, BuildSpec, ContextSource, DockerHost, Engine, ImageError,
    ImageReference, PackageRecipe, RegistryCredentials,
};
use futures::StreamExt;

/// Removes the test's images (all tags of its repositories) even when the test fails.
struct Cleanup(Vec<String>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for repository in &self.0 {
            let listed = std::process::Command::new("docker")
                .args(["images", "-q", "--no-trunc", repository])
                .output();
            if let Ok(output) = listed {
                let ids: BTreeSet<String> = String::from_utf8_lossy(&output.stdout)
                    .lines()
                    .map(String::from)
                    .collect();
                for id in ids {
                    let _ = std::process::Command::new("docker")
                        .args(["rmi", "-f", &id])
                        .output();
                }
            }
        }
    }
}

fn repository(name: &str) -> String {
    format!("deploykit-image-test-{}-{name}", std::process::id())
}

/// One test at a time talks to the daemon. Docker's legacy builder shares cached steps
/// between builds whose inputs match, and removing one test's images also removes their
/// untagged parents: a build running at the same time in another test that had just
/// picked such a parent from the cache then fails with "unable to find image".
static DAEMON_TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The engine and this test's turn with the daemon, or `None` (with the reason printed)
/// when there is no daemon. A test that makes images takes [`daemon`] instead (or declares
/// its `Cleanup` after the turn), so they are removed before the next test starts.
async fn engine() -> Option<(Engine, tokio::sync::MutexGuard<'static, ()>)> {
    let turn = DAEMON_TURN.lock().await;
    let connected = Engine::connect().await;
    let check = connected
        .as_ref()
        .map(|_| ())
        .map_err(|error| error.to_string());
    if !deploykit_testkit::require("Docker", check) {
        return None;
    }
    connected.ok().map(|engine| (engine, turn))
}

/// A test's turn with the daemon and a repository of its own, whose images go when the
/// test ends.
struct Daemon {
    engine: Engine,
    repo: String,
    // Fields drop in order: the images are removed before the next test gets its turn.
    _cleanup: Cleanup,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

/// [`engine`] for a test that builds into the repository `name` (made unique to the run).
async fn daemon(name: &str) -> Option<Daemon> {
    let (engine, turn) = engine().await?;
    let repo = repository(name);
    Some(Daemon {
        engine,
        _cleanup: Cleanup(vec![repo.clone()]),
        repo,
        _turn: turn,
    })
}

fn write(root: &Path, path: &str, content: &str) {
    let full = root.join(path);
    std::fs::create_dir_all(full.parent().unwrap()).unwrap();
    std::fs::write(full, content).unwrap();
}

/// Every file path in the image's layers (`docker save`), without the leading `/`.
async fn image_files(engine: &Engine, reference: &str) -> BTreeMap<String, (u64, u64)> {
    let mut saved = Vec::new();
    let mut stream = engine.client().export_image(reference);
    while let Some(chunk) = stream.next().await {
        saved.extend_from_slice(&chunk.unwrap());
    }
    let mut files = BTreeMap::new();
    let mut outer = tar::Archive::new(saved.as_slice());
    for entry in outer.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().display().to_string();
        if !path.ends_with("layer.tar") {
            continue;
        }
        let mut layer = Vec::new();
        entry.read_to_end(&mut layer).unwrap();
        let mut inner = tar::Archive::new(layer.as_slice());
        for file in inner.entries().unwrap() {
            let file = file.unwrap();
            let name = file.path().unwrap().display().to_string();
            let header = file.header();
            files.insert(
                name.trim_end_matches('/').to_string(),
                (header.uid().unwrap(), header.mode().unwrap() as u64),
            );
        }
    }
    files
}

async fn build(
    engine: &Engine,
    spec: &BuildSpec,
) -> Result<deploykit_image::BuiltImage, ImageError> {
    engine.build(spec, &mut |_event| {}).await
}

#[tokio::test]
async fn an_unreachable_daemon_says_how_to_start_docker() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let hosts = [
        DockerHost::Tcp {
            address: format!("127.0.0.1:{port}"),
            tls: None,
        },
        DockerHost::Unix("/nonexistent/deploykit/docker.sock".into()),
    ];
    for host in hosts {
        let shown = host.to_string();
        let message = Engine::connect_to(host).await.unwrap_err().to_string();
        assert!(message.contains(&shown), "{message}");
        assert!(message.contains("Start Docker"), "{message}");
        assert!(message.contains("DOCKER_HOST"), "{message}");
    }
}

#[tokio::test]
async fn the_daemon_receives_exactly_what_dockerignore_keeps() {
    let Some(daemon) = daemon("ignore").await else {
        return;
    };
    let (engine, repo) = (&daemon.engine, daemon.repo.clone());
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "Dockerfile", "FROM scratch\nCOPY . /ctx/\n");
    write(
        root,
        ".dockerignore",
        "# build output\ntarget\n**/*.log\n!important.log\n/secret\ndocs/**\n!docs/keep.md\n.env*\n",
    );
    for path in [
        "src/main.rs",
        "src/nested/deep.rs",
        "target/debug/app",
        "a.log",
        "src/b.log",
        "important.log",
        "secret",
        "src/secret",
        "docs/drop.md",
        "docs/keep.md",
        ".env",
        ".env.local",
        "README.md",
    ] {
        write(root, path, path);
    }
    let context = BuildContext::scan(root, "Dockerfile").unwrap();
    let sent: BTreeSet<String> = context
        .paths()
        .filter(|path| root.join(path).is_file())
        .map(String::from)
        .collect();
    let expected: BTreeSet<String> = [
        ".dockerignore",
        "Dockerfile",
        "README.md",
        "docs/keep.md",
        "important.log",
        "src/main.rs",
        "src/nested/deep.rs",
        "src/secret",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(sent, expected);

    let image = build(
        engine,
        &BuildSpec::new(&repo, ContextSource::Folder(context)),
    )
    .await
    .unwrap();
    let received: BTreeSet<String> = image_files(engine, &image.reference)
        .await
        .into_iter()
        .filter(|(_, (_, mode))| mode & 0o40000 == 0)
        .filter_map(|(path, _)| path.strip_prefix("ctx/").map(String::from))
        .filter(|path| root.join(path).is_file())
        .collect();
    assert_eq!(received, expected);
}

const STAGES: &str = "\
FROM scratch AS base
COPY greeting.txt /base/
FROM base AS extra
COPY extra.txt /extra/
FROM scratch AS final
ARG VERSION=0.0.0
LABEL version=$VERSION
COPY --from=base /base/greeting.txt /from-base.txt
";

/// A multi-stage context whose first layer holds `owner` (the test's repository).
fn staged_context(owner: &str) -> (tempfile::TempDir, BuildContext) {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "Dockerfile", STAGES);
    write(dir.path(), "greeting.txt", &format!("hello from {owner}"));
    write(dir.path(), "extra.txt", "extra");
    let context = BuildContext::scan(dir.path(), "Dockerfile").unwrap();
    (dir, context)
}

#[tokio::test]
async fn build_args_targets_and_copy_from_other_stages() {
    let Some(daemon) = daemon("stages").await else {
        return;
    };
    let (engine, repo) = (&daemon.engine, daemon.repo.clone());
    let (_dir, context) = staged_context(&repo);

    let mut final_stage = BuildSpec::new(&repo, ContextSource::Folder(context.clone()));
    final_stage.target = Some("final".into());
    final_stage
        .build_args
        .insert("VERSION".into(), "1.2.3".into());
    final_stage
        .labels
        .insert("deploykit.test".into(), "image".into());
    let mut steps = Vec::new();
    let built = engine
        .build(&final_stage, &mut |event| {
            if let BuildEvent::Step { instruction, .. } = event {
                steps.push(instruction);
            }
        })
        .await
        .unwrap();
    assert!(!built.skipped);
    assert!(
        steps
            .iter()
            .any(|step| step.starts_with("COPY --from=base")),
        "{steps:?}"
    );
    let inspect = engine
        .client()
        .inspect_image(&built.reference)
        .await
        .unwrap();
    let labels = inspect.config.unwrap().labels.unwrap();
    assert_eq!(labels["version"], "1.2.3");
    assert_eq!(labels["deploykit.test"], "image");
    let files = image_files(engine, &built.reference).await;
    assert!(files.contains_key("from-base.txt"), "{files:?}");
    assert!(!files.contains_key("extra/extra.txt"), "{files:?}");

    let mut extra_stage = BuildSpec::new(&repo, ContextSource::Folder(context));
    extra_stage.target = Some("extra".into());
    let extra = build(engine, &extra_stage).await.unwrap();
    assert_ne!(extra.tag, built.tag);
    let files = image_files(engine, &extra.reference).await;
    assert!(
        files.contains_key("base/greeting.txt") && files.contains_key("extra/extra.txt"),
        "{files:?}"
    );
}

#[tokio::test]
async fn a_failing_step_is_named_with_its_output() {
    let Some(daemon) = daemon("failing").await else {
        return;
    };
    let (engine, repo) = (&daemon.engine, daemon.repo.clone());
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "Dockerfile",
        "FROM scratch\nCOPY a.txt /\nRUN echo no shell in scratch\n",
    );
    write(dir.path(), "a.txt", "a");
    let context = BuildContext::scan(dir.path(), "Dockerfile").unwrap();
    let error = build(
        engine,
        &BuildSpec::new(&repo, ContextSource::Folder(context)),
    )
    .await
    .unwrap_err();
    let ImageError::BuildFailed { step, message, .. } = &error else {
        panic!("expected a build failure, got {error}");
    };
    assert_eq!(step, "Step 3/3 : RUN echo no shell in scratch");
    assert!(!message.is_empty());
    let shown = error.to_string();
    assert!(
        shown.contains("failed at Step 3/3 : RUN echo no shell in scratch"),
        "{shown}"
    );
}

#[tokio::test]
async fn unchanged_inputs_skip_the_build() {
    let Some(daemon) = daemon("skip").await else {
        return;
    };
    let (engine, repo) = (&daemon.engine, daemon.repo.clone());
    let (dir, context) = staged_context(&repo);
    let spec = BuildSpec::new(&repo, ContextSource::Folder(context));
    let first = build(engine, &spec).await.unwrap();
    assert!(!first.skipped);
    let mut events = Vec::new();
    let again = BuildSpec::new(
        &repo,
        ContextSource::Folder(BuildContext::scan(dir.path(), "Dockerfile").unwrap()),
    );
    let second = engine
        .build(&again, &mut |event| events.push(event))
        .await
        .unwrap();
    assert!(second.skipped);
    assert_eq!(second.reference, first.reference);
    assert_eq!(second.id, first.id);
    assert!(
        matches!(events.last(), Some(BuildEvent::Skipped { .. })),
        "{events:?}"
    );
    assert!(
        engine
            .image_info(&format!("{repo}:latest"))
            .await
            .unwrap()
            .is_some()
    );

    write(dir.path(), "greeting.txt", "changed");
    let changed = BuildSpec::new(
        &repo,
        ContextSource::Folder(BuildContext::scan(dir.path(), "Dockerfile").unwrap()),
    );
    let third = build(engine, &changed).await.unwrap();
    assert!(!third.skipped);
    assert_ne!(third.tag, first.tag);
}

#[tokio::test]
async fn a_packaged_static_binary_runs_as_non_root_and_turns_healthy() {
    let Some((engine, _turn)) = engine().await else {
        return;
    };
    if !deploykit_testkit::require(
        "a C compiler with static libc (cc -static)",
        deploykit_testkit::on_path("cc")
            .then_some(())
            .ok_or("cc is not on PATH".into()),
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let binary = dir.path().join("app");
    let compiled = std::process::Command::new("cc")
        .args(["-static", "-Os", "-o"])
        .arg(&binary)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/app.c"))
        .output()
        .unwrap();
    assert!(
        compiled.status.success(),
        "{}",
        String::from_utf8_lossy(&compiled.stderr)
    );

    let repo = repository("package");
    let _cleanup = Cleanup(vec![repo.clone()]);
    let mut recipe = PackageRecipe::new(&binary, "app");
    recipe.ports = vec![8080];
    recipe.env.insert("PORT".into(), "8080".into());
    recipe.healthcheck = Some(deploykit_image::Healthcheck {
        interval_secs: 1,
        start_period_secs: 1,
        ..Default::default()
    });
    let labels =
        deploykit_image::oci_labels("https://example.invalid/app", "abc123", 1_700_000_000);
    let packaged = recipe.package(&repo, &labels).unwrap();
    let mut events = Vec::new();
    let built = engine
        .install(&packaged, &mut |event| events.push(event))
        .await
        .unwrap();
    assert!(!built.skipped);
    assert_eq!(
        built.id, packaged.id,
        "the daemon keeps the packaged image ID"
    );

    let files = image_files(&engine, &built.reference).await;
    for path in [
        "app",
        "etc/passwd",
        "etc/group",
        "etc/ssl/certs/ca-certificates.crt",
        "data",
    ] {
        assert!(files.contains_key(path), "{path} missing from {files:?}");
    }
    assert_eq!(files["data"].0, 10001, "/data is owned by the app user");
    let config = engine
        .client()
        .inspect_image(&built.reference)
        .await
        .unwrap()
        .config
        .unwrap();
    assert_eq!(config.user.as_deref(), Some("10001:10001"));
    assert_eq!(config.exposed_ports.unwrap(), ["8080/tcp"]);
    assert_eq!(
        config.healthcheck.unwrap().test.unwrap(),
        ["CMD", "/app", "healthcheck"]
    );
    assert_eq!(
        config.labels.unwrap()["org.opencontainers.image.created"],
        "2023-11-14T22:13:20Z"
    );
    assert!(
        engine
            .image_info(&format!("{repo}:latest"))
            .await
            .unwrap()
            .is_some()
    );

    let again = recipe.package(&repo, &labels).unwrap();
    let second = engine.install(&again, &mut |_| {}).await.unwrap();
    assert!(second.skipped);
    assert_eq!(second.id, built.id);

    // A recipe without extra tags (the watch loops' builds) leaves `latest` where it was.
    let mut untagged = recipe.clone();
    untagged.env.insert("VARIANT".into(), "watch".into());
    untagged.extra_tags.clear();
    let other = untagged.package(&repo, &labels).unwrap();
    assert_ne!(other.tag, packaged.tag);
    let third = engine.install(&other, &mut |_| {}).await.unwrap();
    assert!(!third.skipped);
    let latest = engine
        .image_info(&format!("{repo}:latest"))
        .await
        .unwrap()
        .map(|(id, _)| id);
    assert_eq!(latest, Some(built.id.clone()), "latest did not move");

    // Run it: the process is not root, /data is writable, the healthcheck turns healthy.
    let name = format!("{repo}-run");
    let client = engine.client();
    let create = bollard::query_parameters::CreateContainerOptionsBuilder::default()
        .name(&name)
        .build();
    let body = bollard::models::ContainerCreateBody {
        image: Some(built.reference.clone()),
        labels: Some([("deploykit.test".to_string(), "image".to_string())].into()),
        ..Default::default()
    };
    client.create_container(Some(create), body).await.unwrap();
    struct RemoveContainer(String);
    impl Drop for RemoveContainer {
        fn drop(&mut self) {
            let _ = std::process::Command::new("docker")
                .args(["rm", "-f", &self.0])
                .output();
        }
    }
    let _container = RemoveContainer(name.clone());
    client
        .start_container(
            &name,
            None::<bollard::query_parameters::StartContainerOptions>,
        )
        .await
        .unwrap();
    let mut health = String::new();
    for _ in 0..60 {
        let state = client
            .inspect_container(
                &name,
                None::<bollard::query_parameters::InspectContainerOptions>,
            )
            .await
            .unwrap()
            .state
            .unwrap();
        health = state
            .health
            .and_then(|health| health.status)
            .map(|status| status.to_string())
            .unwrap_or_default();
        if health == "healthy" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(health, "healthy");
    let mut archive = Vec::new();
    let mut download = client.download_from_container(
        &name,
        Some(
            bollard::query_parameters::DownloadFromContainerOptionsBuilder::default()
                .path("/data/uid")
                .build(),
        ),
    );
    while let Some(chunk) = download.next().await {
        archive.extend_from_slice(&chunk.unwrap());
    }
    let mut uid = String::new();
    tar::Archive::new(archive.as_slice())
        .entries()
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .read_to_string(&mut uid)
        .unwrap();
    assert_eq!(uid.trim(), "10001:10001");
}

#[tokio::test]
async fn export_and_load_round_trip() {
    let Some(daemon) = daemon("export").await else {
        return;
    };
    let (engine, repo) = (&daemon.engine, daemon.repo.clone());
    let (_dir, context) = staged_context(&repo);
    let built = build(
        engine,
        &BuildSpec::new(&repo, ContextSource::Folder(context)),
    )
    .await
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let tar = out.path().join("image.tar");
    let size = engine.export_image(&built.reference, &tar).await.unwrap();
    assert!(size > 0);
    engine.remove_image(&built.id, true).await.unwrap();
    assert!(engine.image_info(&built.reference).await.unwrap().is_none());
    engine.import_image(&tar).await.unwrap();
    assert_eq!(
        engine
            .image_info(&built.reference)
            .await
            .unwrap()
            .unwrap()
            .0,
        built.id
    );
}

/// Regular files under `prefix/` in the image's layers, without the prefix.
async fn files_under(engine: &Engine, reference: &str, prefix: &str) -> BTreeSet<String> {
    let mut saved = Vec::new();
    let mut stream = engine.client().export_image(reference);
    while let Some(chunk) = stream.next().await {
        saved.extend_from_slice(&chunk.unwrap());
    }
    let mut files = BTreeSet::new();
    let mut outer = tar::Archive::new(saved.as_slice());
    for entry in outer.entries().unwrap() {
        let mut entry = entry.unwrap();
        if !entry
            .path()
            .unwrap()
            .display()
            .to_string()
            .ends_with("layer.tar")
        {
            continue;
        }
        let mut layer = Vec::new();
        entry.read_to_end(&mut layer).unwrap();
        for file in tar::Archive::new(layer.as_slice()).entries().unwrap() {
            let file = file.unwrap();
            if file.header().entry_type().is_file() {
                let name = file.path().unwrap().display().to_string();
                if let Some(rest) = name.strip_prefix(&format!("{prefix}/")) {
                    files.insert(rest.to_string());
                }
            }
        }
    }
    files
}

/// The docker CLI applies `.dockerignore` itself (moby's patternmatcher) before sending
/// the context to the classic builder: the images it builds are the oracle.
#[tokio::test]
async fn dockerignore_table_matches_the_docker_cli() {
    let Some(daemon) = daemon("cli-oracle").await else {
        return;
    };
    let (engine, repo) = (&daemon.engine, daemon.repo.clone());
    let cases = [
        "target\n**/*.log\n!important.log\n/secret\ndocs/**\n!docs/keep.md\n.env*",
        "*\n!src\n!Dockerfile",
        "**/node_modules\nsrc/*/deep.rs",
        "docs\n!docs/keep.md",
        "docs\n!**/keep.md",
        "Dockerfile\n.dockerignore\nREADME.md",
        "src/[mn]*\n?.log",
        "!README.md\n*.md",
        "# comment\n  src/main.rs  \n./secret/\n",
        "src\n!src/nested\nsrc/nested/deep.rs",
    ];
    let files = [
        "src/main.rs",
        "src/nested/deep.rs",
        "src/node_modules/y.js",
        "node_modules/x.js",
        "target/debug/app",
        "a.log",
        "src/b.log",
        "important.log",
        "secret",
        "src/secret",
        "docs/drop.md",
        "docs/keep.md",
        "docs/sub/keep.md",
        ".env",
        ".env.local",
        "README.md",
    ];
    for (index, ignore) in cases.iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "Dockerfile", "FROM scratch\nCOPY . /ctx/\n");
        write(root, ".dockerignore", ignore);
        for path in files {
            write(root, path, path);
        }
        let cli_tag = format!("{repo}:cli-{index}");
        let cli = std::process::Command::new("docker")
            .args(["build", "-q", "-t", &cli_tag])
            .arg(root)
            .env("DOCKER_BUILDKIT", "0")
            .output()
            .unwrap();
        assert!(
            cli.status.success(),
            "{}",
            String::from_utf8_lossy(&cli.stderr)
        );
        let expected = files_under(engine, &cli_tag, "ctx").await;

        let context = BuildContext::scan(root, "Dockerfile").unwrap();
        let image = build(
            engine,
            &BuildSpec::new(&repo, ContextSource::Folder(context)),
        )
        .await
        .unwrap();
        let received = files_under(engine, &image.reference, "ctx").await;
        assert_eq!(received, expected, "case {index}: {ignore:?}");
    }
}

#[tokio::test]
async fn push_reaches_a_registry_with_credentials_and_names_the_fix_without() {
    let Some((engine, _turn)) = engine().await else {
        return;
    };
    let registry = deploykit_fake_registry::FakeRegistry::start_with_credentials("ci", "pw").await;
    let repo = repository("push");
    let target_repository = format!("{}/team/{repo}", registry.host());
    let _cleanup = Cleanup(vec![repo.clone(), target_repository.clone()]);
    let (_dir, context) = staged_context(&repo);
    let built = build(
        &engine,
        &BuildSpec::new(&repo, ContextSource::Folder(context)),
    )
    .await
    .unwrap();
    engine
        .tag(&built.reference, &target_repository, "v1")
        .await
        .unwrap();
    let target = ImageReference::parse(&format!("{target_repository}:v1")).unwrap();

    let refused = engine
        .push(&target, None, &mut |_line| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains(&format!("docker login {}", registry.host())),
        "{refused}"
    );
    assert!(registry.tags(&format!("team/{repo}")).is_empty());

    let credentials = RegistryCredentials {
        server: registry.host(),
        username: "ci".into(),
        password: "pw".into(),
        identity_token: None,
    };
    let mut lines = Vec::new();
    engine
        .push(&target, Some(&credentials), &mut |line| lines.push(line))
        .await
        .unwrap();
    assert_eq!(registry.tags(&format!("team/{repo}")), ["v1"]);
    let manifest = registry.manifest(&format!("team/{repo}"), "v1").unwrap();
    for layer in manifest["layers"].as_array().unwrap() {
        assert!(registry.has_blob(layer["digest"].as_str().unwrap()));
    }
    assert!(!lines.iter().any(|line| line.contains("pw")), "{lines:?}");
}
