//! `bench watch --loop deploy-local`: `deploy-local --watch` next to plain `deploy-local`,
//! against the in-process fake API server (no Kubernetes runs on the machines this project
//! is built on) with a stand-in `minikube` on PATH whose Docker is this machine's, as
//! xtask/tests/deploy_watch.rs runs it.
//!
//! "Served" is the stand-in's notion of it: the backend's Deployment names the new content
//! tag and is ready for its generation (the fake API server makes written workloads ready
//! at once, so a real cluster adds the new pod's start and readiness probe). The server is
//! read in-process every 10 ms.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use deploykit_fake_apiserver::FakeApiServer;

use super::{
    Bench, FIRST_BUILD, Liveness, Loop, NoProcess, ONE_CHANGE, Sample, Table, Watched,
    reported_phase, written_after,
};
use crate::project;

/// The kube context: deploy-local takes it for minikube.
const CONTEXT: &str = "minikube";
/// The Deployment whose rollout each run waits for.
const BACKEND_DEPLOYMENT: &str = "todo-app-backend";

const RUNNING: &str = r#"{"Name":"minikube","Host":"Running","Kubelet":"Running","APIServer":"Running","Kubeconfig":"Configured","Worker":false}"#;

/// `deploy-local --watch` for `runs` changes, then plain `deploy-local` for as many.
pub(super) fn measure(bench: &mut Bench<'_>) -> anyhow::Result<Table> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let server = runtime.block_on(FakeApiServer::start());
    server.set_auto_ready(true);
    let sandbox = Sandbox::new(&server)?;
    let mut table = Table::default();

    let watch_command = sandbox.xtask(bench, &["deploy-local", "--context", CONTEXT, "--watch"])?;
    let mut watching = Watched::start(watch_command)?;
    watching.line_starting("watching ", FIRST_BUILD)?;
    note_images(bench, &server);
    let watch_profile = format!("{}-unknown-linux-gnu/watch", std::env::consts::ARCH);
    for _ in 0..bench.args.runs {
        let sample = watch_run(bench, &watching, &server, &watch_profile)?;
        show("deploy-local --watch", &sample);
        note_images(bench, &server);
        table.watch.push(sample);
        // Let the cycle finish (superseded images are removed after the block).
        std::thread::sleep(Duration::from_secs(2));
    }
    watching.stop("-INT")?;
    if bench.args.watch_only {
        return Ok(table);
    }

    // Release images of both services first, so that each run rebuilds the backend only.
    eprintln!("==> deploy-local once with release images (not measured)");
    let mut warm_up =
        Watched::start(sandbox.xtask(bench, &["deploy-local", "--context", CONTEXT])?)?;
    let status = warm_up.wait_exit(FIRST_BUILD)?;
    anyhow::ensure!(status.success(), "deploy-local failed:\n{}", warm_up.tail());
    note_images(bench, &server);
    let release = format!("{}-unknown-linux-gnu/release", std::env::consts::ARCH);
    for _ in 0..bench.args.runs {
        let before = deployment_image(&server, BACKEND_DEPLOYMENT);
        let (_, saved) = bench.edit()?;
        let mut deploy =
            Watched::start(sandbox.xtask(bench, &["deploy-local", "--context", CONTEXT])?)?;
        let served = wait_rolled(&server, &before, &mut deploy)?;
        let exit = deploy.wait_exit(ONE_CHANGE)?;
        // What the command still does once the change is served (the chart's test pod).
        let exit_after_served = served.elapsed();
        anyhow::ensure!(exit.success(), "deploy-local failed:\n{}", deploy.tail());
        let binary = written_after(&bench.binary(&release), &saved)?;
        note_images(bench, &server);
        let sample = Sample {
            served: served - saved.at,
            binary,
            phases: vec![("exit after served", exit_after_served)],
        };
        show("deploy-local", &sample);
        table.anchor.push(sample);
    }
    Ok(table)
}

/// One change through the running loop: the measured moments and the phases its block
/// reports (the backend's line, then the release's).
fn watch_run(
    bench: &mut Bench<'_>,
    watching: &Watched,
    server: &FakeApiServer,
    profile_folder: &str,
) -> anyhow::Result<Sample> {
    let before = deployment_image(server, BACKEND_DEPLOYMENT);
    let (_, saved) = bench.edit()?;
    let served = wait_rolled(server, &before, &mut NoProcess)?;
    let binary = written_after(&bench.binary(profile_folder), &saved)?;
    let (header_at, _) = watching.line_starting("[", ONE_CHANGE)?;
    let (_, rebuilt) = watching.line_starting("    backend: ", ONE_CHANGE)?;
    let (_, released) = watching.line_starting("    revision ", ONE_CHANGE)?;
    anyhow::ensure!(
        rebuilt.contains("rebuilt (")
            && released.contains(&format!("configured Deployment/{BACKEND_DEPLOYMENT}")),
        "the cycle did not roll the backend:\n{rebuilt}\n{released}"
    );
    let lines = format!("{rebuilt} {released}");
    let mut phases = vec![("detect", header_at.saturating_duration_since(saved.at))];
    for name in Loop::DeployLocal.reported_phases() {
        let time = reported_phase(&lines, name)
            .with_context(|| format!("no `{name}` time in the cycle's lines: {lines}"))?;
        phases.push((name, time));
    }
    Ok(Sample {
        served: served - saved.at,
        binary,
        phases,
    })
}

/// One run's figures, as soon as they are known: the anchor's builds take minutes each,
/// and a run cut short keeps what it measured.
fn show(command: &str, sample: &Sample) {
    let phases: Vec<String> = sample
        .phases
        .iter()
        .map(|(name, time)| format!("{name} {:.2} s", time.as_secs_f64()))
        .collect();
    eprintln!(
        "    {command}: save -> served {:.2} s, save -> binary {:.2} s ({})",
        sample.served.as_secs_f64(),
        sample.binary.as_secs_f64(),
        phases.join(", ")
    );
}

/// The image the Deployment `name` runs now (empty: none yet).
fn deployment_image(server: &FakeApiServer, name: &str) -> String {
    server
        .get("apps/v1", "Deployment", Some(project::NAMESPACE), name)
        .and_then(|deployment| {
            deployment["spec"]["template"]["spec"]["containers"][0]["image"]
                .as_str()
                .map(str::to_string)
        })
        .unwrap_or_default()
}

/// Whether the backend's Deployment runs an image other than `before` and is ready for
/// its generation.
fn rolled_past(server: &FakeApiServer, before: &str) -> bool {
    let Some(deployment) = server.get(
        "apps/v1",
        "Deployment",
        Some(project::NAMESPACE),
        BACKEND_DEPLOYMENT,
    ) else {
        return false;
    };
    let image = &deployment["spec"]["template"]["spec"]["containers"][0]["image"];
    let status = &deployment["status"];
    let replicas = deployment["spec"]["replicas"].as_i64().unwrap_or(1);
    image.as_str().is_some_and(|image| image != before)
        && status["observedGeneration"] == deployment["metadata"]["generation"]
        && status["updatedReplicas"].as_i64() == Some(replicas)
        && status["readyReplicas"].as_i64() == Some(replicas)
}

/// Polls the server until the backend's Deployment rolled past `before`; the moment it was
/// first seen so.
fn wait_rolled(
    server: &FakeApiServer,
    before: &str,
    serving: &mut dyn Liveness,
) -> anyhow::Result<Instant> {
    let started = Instant::now();
    loop {
        if rolled_past(server, before) {
            return Ok(Instant::now());
        }
        serving.check()?;
        anyhow::ensure!(
            started.elapsed() < ONE_CHANGE,
            "Deployment/{BACKEND_DEPLOYMENT} did not roll past {before} within {} s",
            ONE_CHANGE.as_secs()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Notes the images both Deployments run, to remove them at the end.
fn note_images(bench: &mut Bench<'_>, server: &FakeApiServer) {
    for name in [BACKEND_DEPLOYMENT, "todo-app-frontend"] {
        let image = deployment_image(server, name);
        if !image.is_empty() {
            bench.images.insert(image);
        }
    }
}

/// The kubeconfig of the fake API server and the stand-in minikube.
struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new(server: &FakeApiServer) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir().context("cannot create a temporary folder")?;
        std::fs::write(dir.path().join("kubeconfig"), server.kubeconfig(CONTEXT))?;
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin)?;
        // minikube as deploy-local asks it: running, its Docker this machine's, its node
        // at the usual address; `image rm` removes from that Docker.
        let stand_in = format!(
            "#!/bin/sh\n# minikube stand-in for bench watch.\n\
             while [ \"$1\" = -p ] || [ \"$1\" = --profile ]; do shift 2; done\n\
             case \"$1\" in\n\
             status) echo '{RUNNING}';;\n\
             docker-env) echo 'export DOCKER_HOST=\"unix:///var/run/docker.sock\"';;\n\
             ip) echo 192.168.49.2;;\n\
             image) test \"$2\" = rm && docker rmi \"$3\" >/dev/null;;\n\
             *) echo \"unexpected: $*\" >&2; exit 64;;\n\
             esac\n"
        );
        let path = bin.join("minikube");
        std::fs::write(&path, stand_in)?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
        Ok(Self { dir })
    }

    fn bin(&self) -> PathBuf {
        self.dir.path().join("bin")
    }

    /// The benchmark's `cargo xtask <args>` against the fake API server, the stand-in first
    /// on PATH.
    fn xtask(&self, bench: &Bench<'_>, args: &[&str]) -> anyhow::Result<Command> {
        let mut command = bench.xtask(args)?;
        let path = std::env::var("PATH").unwrap_or_default();
        command
            .env("KUBECONFIG", self.dir.path().join("kubeconfig"))
            .env("PATH", format!("{}:{path}", self.bin().display()))
            .env_remove("DOCKER_HOST");
        Ok(command)
    }
}
