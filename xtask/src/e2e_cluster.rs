//! `cargo xtask e2e-cluster`: the deploy scenarios against a real cluster (the current
//! kube context: minikube, kind, k3d...), when one is reachable; a clear skip otherwise.
//!
//! Two parts, in this order:
//! 1. deploykit-cluster's shared scenarios (install, upgrade, prune, keep, no-op re-apply,
//!    conflicts, diff, rollback, uninstall, records, Ctrl-C, stale lease, concurrent
//!    deploys: the list `cargo test` runs against the fake API server), through
//!    `cargo test -p deploykit-cluster --test real_cluster -- --ignored` with the context
//!    in `DEPLOYKIT_E2E_CONTEXT`; they deploy ConfigMaps only, no image;
//! 2. the app, driving this same xtask binary as a user would: deploy-local, a no-change
//!    redeploy, status, history, the app answering through a port-forward, then undeploy.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// The variable `crates/cluster/tests/real_cluster.rs` reads the kube context from.
const CONTEXT_VARIABLE: &str = "DEPLOYKIT_E2E_CONTEXT";

/// Options of `e2e-cluster`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The kube context to test against (default: the current context).
    #[arg(long)]
    context: Option<String>,
    /// The kubeconfig to read (default: `KUBECONFIG`, then `~/.kube/config`); the commands
    /// this one runs get it as `KUBECONFIG`.
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    /// Leave the release installed at the end.
    #[arg(long)]
    keep: bool,
    /// Run only deploykit-cluster's scenarios (no images, no app).
    #[arg(long)]
    scenarios_only: bool,
}

/// Runs the scenarios, or says why it skipped.
pub fn run(args: Args) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let cluster = match runtime.block_on(reach(args.context.clone(), args.kubeconfig.clone())) {
        Reach::Cluster(cluster) => cluster,
        Reach::Skip(message) => {
            println!("{message}");
            return Ok(());
        }
    };
    if let Some(kubeconfig) = &args.kubeconfig {
        KUBECONFIG.get_or_init(|| kubeconfig.clone());
    }
    let context = cluster.context().to_string();
    println!(
        "e2e-cluster: testing against context `{context}` at {}",
        cluster.server()
    );
    cluster_scenarios(&context)?;
    if args.scenarios_only {
        println!(
            "e2e-cluster: the cluster scenarios passed (the app was not deployed: --scenarios-only)"
        );
        return Ok(());
    }
    let target = ["--context", context.as_str()];
    xtask(&[&["deploy-local"], &target[..]].concat())?;
    let again = xtask(&[&["deploy-local"], &target[..]].concat())?;
    if !again.contains("release unchanged") {
        bail!("the second deploy-local changed the release:\n{again}");
    }
    xtask(&[&["status"], &target[..]].concat())?;
    xtask(&[&["history"], &target[..]].concat())?;
    check_through_port_forward(&target)?;
    if !args.keep {
        xtask(&[&["undeploy"], &target[..]].concat())?;
    }
    println!("e2e-cluster: all scenarios passed");
    Ok(())
}

/// The kubeconfig given with `--kubeconfig`, passed to the commands this one runs.
static KUBECONFIG: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// A command that sees the kubeconfig this run uses.
fn command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut command = Command::new(program);
    if let Some(kubeconfig) = KUBECONFIG.get() {
        command.env("KUBECONFIG", kubeconfig);
    }
    command
}

/// A cluster to test, or the message saying why there is none.
enum Reach {
    Cluster(deploykit_cluster::Cluster),
    Skip(String),
}

async fn reach(context: Option<String>, kubeconfig: Option<PathBuf>) -> Reach {
    let connected = deploykit_cluster::connect(deploykit_cluster::ConnectOptions {
        context,
        kubeconfig,
        timeout: Some(Duration::from_secs(5)),
        kubeconfig_text: None,
    })
    .await;
    match connected {
        Ok(cluster) => Reach::Cluster(cluster),
        Err(error) => Reach::Skip(format!(
            "e2e-cluster SKIPPED: no reachable Kubernetes cluster, nothing was tested.\n  {error}"
        )),
    }
}

/// deploykit-cluster's shared scenarios against `context` (each in a namespace of its own).
fn cluster_scenarios(context: &str) -> anyhow::Result<()> {
    println!(
        "==> {CONTEXT_VARIABLE}={context} cargo test -p deploykit-cluster --test real_cluster -- --ignored"
    );
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = command(cargo)
        .args([
            "test",
            "-p",
            "deploykit-cluster",
            "--test",
            "real_cluster",
            "--",
            "--ignored",
        ])
        .env(CONTEXT_VARIABLE, context)
        .current_dir(crate::project::root())
        .status()
        .context("cannot run cargo test")?;
    if !status.success() {
        bail!("deploykit-cluster's scenarios failed against context `{context}` (see above)");
    }
    Ok(())
}

/// Runs `cargo xtask ARGS` (this binary), echoing and returning its output.
fn xtask(args: &[&str]) -> anyhow::Result<String> {
    println!("==> cargo xtask {}", args.join(" "));
    let output = command(std::env::current_exe()?)
        .args(args)
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("cannot run cargo xtask {}", args.join(" ")))?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    print!("{stdout}");
    if !output.status.success() {
        bail!("cargo xtask {} failed", args.join(" "));
    }
    Ok(stdout)
}

/// Forwards a free local port to the frontend and asks its /readyz.
fn check_through_port_forward(target: &[&str]) -> anyhow::Result<()> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let port_text = port.to_string();
    let mut forward: Child = command(std::env::current_exe()?)
        .args(
            [
                &["port-forward"],
                target,
                &[
                    crate::project::FRONTEND_SERVICE,
                    port_text.as_str(),
                    "--remote-port",
                    "3000",
                ],
            ]
            .concat(),
        )
        .spawn()
        .context("cannot start the port-forward")?;
    let deadline = Instant::now() + Duration::from_secs(30);
    let result = loop {
        match readyz(port) {
            Ok(()) => break Ok(()),
            Err(error) if Instant::now() > deadline => break Err(error),
            Err(_) => std::thread::sleep(Duration::from_millis(500)),
        }
    };
    let _ = forward.kill();
    let _ = forward.wait();
    result.context("the frontend did not answer /readyz through the port-forward")
}

fn readyz(port: u16) -> anyhow::Result<()> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.write_all(b"GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    if response.starts_with("HTTP/1.1 200") {
        Ok(())
    } else {
        bail!(
            "/readyz answered: {}",
            response.lines().next().unwrap_or("")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn no_reachable_cluster_is_a_clear_skip() {
        let dir = tempfile::tempdir().unwrap();
        let missing = reach(None, Some(dir.path().join("missing"))).await;
        let Reach::Skip(message) = missing else {
            panic!("a missing kubeconfig reached a cluster")
        };
        assert!(
            message.starts_with("e2e-cluster SKIPPED: no reachable Kubernetes cluster")
                && message.contains("cannot load a kubeconfig"),
            "{message}"
        );

        // A kubeconfig whose server does not answer (nothing listens on port 1).
        let server = deploykit_fake_apiserver::FakeApiServer::start().await;
        let dead = dir.path().join("dead");
        std::fs::write(
            &dead,
            server
                .kubeconfig("minikube")
                .replace(&server.url(), "http://127.0.0.1:1"),
        )
        .unwrap();
        let Reach::Skip(message) = reach(None, Some(dead)).await else {
            panic!("a stopped cluster answered")
        };
        assert!(
            message.contains("SKIPPED")
                && message.contains("context `minikube`")
                && message.contains("minikube start"),
            "{message}"
        );
    }

    #[tokio::test]
    async fn a_reachable_cluster_is_tested_with_its_context() {
        let server = deploykit_fake_apiserver::FakeApiServer::start().await;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kubeconfig");
        std::fs::write(&path, server.kubeconfig("kind-e2e")).unwrap();
        let Reach::Cluster(cluster) = reach(None, Some(path)).await else {
            panic!("the fake API server did not answer")
        };
        assert_eq!(cluster.context(), "kind-e2e");
    }
}
