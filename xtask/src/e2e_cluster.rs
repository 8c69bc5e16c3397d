//! `cargo xtask e2e-cluster`: the deploy scenarios against a real cluster (the current
//! kube context: minikube, kind, k3d...), when one is reachable; a clear skip otherwise.
//!
//! It drives this same xtask binary, as a user would: deploy-local, a no-change redeploy,
//! status, history, the app answering through a port-forward, then undeploy.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// Options of `e2e-cluster`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The kube context to test against (default: the current context).
    #[arg(long)]
    context: Option<String>,
    /// Leave the release installed at the end.
    #[arg(long)]
    keep: bool,
}

/// Runs the scenarios, or says why it skipped.
pub fn run(args: Args) -> anyhow::Result<()> {
    let reachable = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(deploykit_cluster::connect(
            deploykit_cluster::ConnectOptions {
                context: args.context.clone(),
                timeout: Some(Duration::from_secs(5)),
                ..Default::default()
            },
        ));
    let cluster = match reachable {
        Ok(cluster) => cluster,
        Err(error) => {
            println!("e2e-cluster skipped: no reachable cluster ({error})");
            return Ok(());
        }
    };
    let context = cluster.context().to_string();
    println!(
        "e2e-cluster: testing against context `{context}` at {}",
        cluster.server()
    );
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

/// Runs `cargo xtask ARGS` (this binary), echoing and returning its output.
fn xtask(args: &[&str]) -> anyhow::Result<String> {
    println!("==> cargo xtask {}", args.join(" "));
    let output = Command::new(std::env::current_exe()?)
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
    let mut forward: Child = Command::new(std::env::current_exe()?)
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
