//! `cargo xtask bench deploy`: a no-change `cargo xtask deploy-local`, as a user types it,
//! next to Helm's client upgrading the same chart with the same values, in one run,
//! against one in-process fake API server.
//!
//! The cluster is deploykit-fake-apiserver (no Kubernetes can run on the machines this
//! project is built on) under the context name `docker-desktop`, so images are built
//! into the local Docker daemon and nothing stands in for minikube: a real minikube adds
//! its own `minikube status` and `minikube docker-env` calls. The anchor is Helm v4's
//! client (helm-python-sdk, as ../shared/helm-oracle uses it) upgrading a release of the
//! same chart and values in another namespace, timed inside Python around the upgrade call
//! alone; it is skipped with a reason when that client is missing.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use deploykit_fake_apiserver::FakeApiServer;

use crate::project;

const CONTEXT: &str = "docker-desktop";
const HELM_NAMESPACE: &str = "todo-helm";

/// Options of `bench deploy`.
#[derive(clap::Args)]
pub struct Args {
    /// How many no-change runs of each tool.
    #[arg(long, default_value_t = 5)]
    runs: usize,
}

/// Runs the benchmark and prints the figures.
pub fn run(args: Args) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let server = runtime.block_on(FakeApiServer::start());
    server.set_auto_ready(true);
    let dir = tempfile::tempdir()?;
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, server.kubeconfig(CONTEXT))?;
    let sandbox = Sandbox {
        kubeconfig: &kubeconfig,
        env_file: &dir.path().join(".env"),
    };

    let first = sandbox.deploy_local()?.time;
    let writes_before = server.writes();
    let mut no_change = Vec::new();
    let mut release_steps = Vec::new();
    let mut last_run = None;
    for _ in 0..args.runs {
        let run = sandbox.deploy_local()?;
        if run.line_at("release unchanged").is_none() {
            bail!(
                "a deploy-local with nothing changed changed the release:\n{}",
                run.transcript()
            );
        }
        no_change.push(run.time);
        release_steps.extend(run.release_step());
        last_run = Some(run);
    }
    let writes = server.writes() - writes_before;

    let values = runtime.block_on(recorded_values(&kubeconfig))?;
    let helm = helm_upgrades(&kubeconfig, &values, dir.path(), args.runs);

    println!(
        "\ndeploy, one run (fake API server, context {CONTEXT}, load {}):",
        super::load_average()
    );
    println!(
        "  {:<58} {:>6.2} s",
        "first cargo xtask deploy-local (build or find images)",
        first.as_secs_f64()
    );
    print_runs("no-change cargo xtask deploy-local", &no_change);
    print_runs(
        "  of which the release step (Secret, render, compare, wait)",
        &release_steps,
    );
    println!(
        "  {:<58} {writes:>6}",
        "writes to the API server in those runs"
    );
    match &helm {
        Ok(times) => {
            print_runs(
                "no-change upgrade, Helm v4 client (upgrade call only)",
                times,
            );
            println!(
                "  {:<58} {:>6.2}x",
                "ratio, Helm's upgrade / deploykit's release step",
                super::median(times).as_secs_f64() / super::median(&release_steps).as_secs_f64()
            );
        }
        Err(why) => println!("  Helm's client: skipped ({why})"),
    }
    if let Some(run) = last_run {
        println!(
            "\nthe last no-change run, each line with the time it appeared:\n{}",
            run.transcript()
        );
    }
    Ok(())
}

/// The temporary kubeconfig and `.env` the runs use.
struct Sandbox<'a> {
    kubeconfig: &'a Path,
    env_file: &'a Path,
}

/// One `cargo xtask deploy-local`: its wall time and its output lines (stdout and stderr
/// merged), each stamped with the time it appeared, so the figures show where time goes.
struct Run {
    time: Duration,
    lines: Vec<(Duration, String)>,
}

impl Run {
    /// When the first line containing `text` appeared.
    fn line_at(&self, text: &str) -> Option<Duration> {
        self.lines
            .iter()
            .find(|(_, line)| line.contains(text))
            .map(|(at, _)| *at)
    }

    /// The time from the last image line (the images are settled) to the end of the
    /// release step: the part of deploy-local that does Helm's job.
    fn release_step(&self) -> Option<Duration> {
        let images_done = self
            .lines
            .iter()
            .filter(|(_, line)| line.contains("build skipped") || line.contains(" built in "))
            .map(|(at, _)| *at)
            .max()?;
        let released = self.line_at("release unchanged")?;
        Some(released.saturating_sub(images_done))
    }

    /// The output with each line's time in front.
    fn transcript(&self) -> String {
        self.lines
            .iter()
            .map(|(at, line)| format!("    {:>5.2} s  {line}\n", at.as_secs_f64()))
            .collect()
    }
}

impl Sandbox<'_> {
    /// Runs `cargo xtask deploy-local`, stamping each line of its output.
    fn deploy_local(&self) -> anyhow::Result<Run> {
        let started = Instant::now();
        // `cargo xtask deploy-local` with this build's feature, so that cargo reuses this
        // binary instead of rebuilding xtask without it.
        let mut child = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args([
                "run",
                "--package",
                "xtask",
                "--features",
                "bench-deploy",
                "--",
            ])
            .args(["deploy-local", "--context", CONTEXT])
            .current_dir(project::root())
            .env("KUBECONFIG", self.kubeconfig)
            .env("TODO_ENV_FILE", self.env_file)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("cannot run cargo xtask deploy-local")?;
        let (sender, lines) = mpsc::channel();
        let readers = [
            child
                .stdout
                .take()
                .map(|out| stamp_lines(out, started, sender.clone())),
            child
                .stderr
                .take()
                .map(|err| stamp_lines(err, started, sender)),
        ];
        let status = child.wait().context("cannot wait for deploy-local")?;
        let time = started.elapsed();
        for reader in readers.into_iter().flatten() {
            let _ = reader.join();
        }
        let mut lines: Vec<(Duration, String)> = lines.into_iter().collect();
        lines.sort_by_key(|(at, _)| *at);
        let run = Run { time, lines };
        if !status.success() {
            bail!(
                "deploy-local failed during the benchmark:\n{}",
                run.transcript()
            );
        }
        Ok(run)
    }
}

/// Sends each line `stream` prints, with the time since `started`.
fn stamp_lines(
    stream: impl Read + Send + 'static,
    started: Instant,
    lines: mpsc::Sender<(Duration, String)>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            let _ = lines.send((started.elapsed(), line));
        }
    })
}

/// The values deploykit recorded in its release (values-minikube.yaml, image tags, pull
/// policy, existingSecret), so that Helm renders the same manifests.
async fn recorded_values(kubeconfig: &Path) -> anyhow::Result<serde_json::Value> {
    let cluster = deploykit_cluster::connect(deploykit_cluster::ConnectOptions {
        kubeconfig: Some(kubeconfig.to_path_buf()),
        ..Default::default()
    })
    .await?;
    let history = cluster
        .history(project::RELEASE, project::NAMESPACE)
        .await?;
    let release = history
        .last()
        .context("deploy-local left no release record")?;
    Ok(serde_json::Value::Object(release.config.clone()))
}

/// Helm's client: one install, then `runs` timed no-change upgrades.
const HELM_UPGRADES: &str = r#"
import json, sys, time, helm_python as helm
kubeconfig, namespace, chart, values_file, runs = sys.argv[1:6]
values = json.load(open(values_file))
cfg = helm.Config(kubeconfig_path=kubeconfig, namespace=namespace)
cfg.install(chart, "todo-app", values, create_namespace=True, wait="watcher", timeout=60)
times = []
for _ in range(int(runs)):
    started = time.perf_counter()
    cfg.upgrade(chart, "todo-app", values, wait="watcher", timeout=60)
    times.append(time.perf_counter() - started)
print(json.dumps(times))
"#;

fn helm_upgrades(
    kubeconfig: &Path,
    values: &serde_json::Value,
    dir: &Path,
    runs: usize,
) -> Result<Vec<Duration>, String> {
    let values_file = dir.join("values.json");
    std::fs::write(&values_file, values.to_string()).map_err(|error| error.to_string())?;
    let chart = project::root().join(project::CHART);
    let output = Command::new("python3")
        .arg("-c")
        .arg(HELM_UPGRADES)
        .arg(kubeconfig)
        .arg(HELM_NAMESPACE)
        .arg(&chart)
        .arg(&values_file)
        .arg(runs.to_string())
        .output()
        .map_err(|error| format!("python3: {error}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.lines().last().unwrap_or("no output");
        return Err(format!(
            "helm-python-sdk failed: {last} (install it with `pip install helm-python-sdk==0.2.2`)"
        ));
    }
    let times: Vec<f64> =
        serde_json::from_slice(&output.stdout).map_err(|error| error.to_string())?;
    Ok(times.into_iter().map(Duration::from_secs_f64).collect())
}

fn print_runs(what: &str, times: &[Duration]) {
    let best = times.iter().min().copied().unwrap_or_default();
    println!(
        "  {:<58} {:>6.2} s median, {:.2} s best of {}",
        what,
        super::median(times).as_secs_f64(),
        best.as_secs_f64(),
        times.len()
    );
}
