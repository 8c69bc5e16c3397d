//! `cargo xtask dev`: builds and runs the backend (embedded SQLite) on 127.0.0.1:8000 and
//! the frontend on 127.0.0.1:3000 pointing at it, until Ctrl-C stops both.
//!
//! The SQLite file lives in `target/dev/data/todo.db`, inside the ignored build folder,
//! and survives restarts. With `--watch`, a saved change rebuilds and restarts only the
//! service it belongs to (`dev/watch.rs`).

mod watch;

pub(crate) use watch::same_contents;

use std::path::Path;
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::project;

/// Options of this command.
#[derive(clap::Args)]
pub struct Args {
    /// Port of the backend API.
    #[arg(long, default_value_t = 8000)]
    backend_port: u16,
    /// Port of the frontend.
    #[arg(long, default_value_t = 3000)]
    frontend_port: u16,
    /// Build and run optimized binaries.
    #[arg(long)]
    release: bool,
    /// Watch backend/ and frontend/: rebuild and restart only the service whose source
    /// changed (a compile error leaves the running version up).
    #[arg(long)]
    watch: bool,
}

/// How this machine runs the two services: ports, working folder, environment.
pub(crate) struct Launch {
    /// The folder both processes run in (`target/dev`).
    work: std::path::PathBuf,
    backend_port: u16,
    frontend_port: u16,
}

impl Launch {
    fn new(root: &Path, args: &Args) -> anyhow::Result<Self> {
        let work = root.join("target").join("dev");
        std::fs::create_dir_all(&work)
            .with_context(|| format!("cannot create {}", work.display()))?;
        Ok(Self {
            work,
            backend_port: args.backend_port,
            frontend_port: args.frontend_port,
        })
    }

    /// The port `service` listens on here.
    fn port(&self, service: &project::Service) -> u16 {
        if service.name == "backend" {
            self.backend_port
        } else {
            self.frontend_port
        }
    }

    /// Where `service` answers on this machine.
    fn url(&self, service: &project::Service) -> String {
        format!("http://127.0.0.1:{}", self.port(service))
    }

    /// Starts `binary` as `service` with this machine's environment.
    fn spawn(&self, service: &project::Service, binary: &Path) -> anyhow::Result<Child> {
        let backend = project::service("backend")?;
        let mut command = Command::new(binary);
        command
            .current_dir(&self.work)
            .env("HOST", "127.0.0.1")
            .env("PORT", self.port(service).to_string())
            .env("ENVIRONMENT", "development");
        if service.name == "backend" {
            let origins = format!(
                "http://localhost:{port},http://127.0.0.1:{port}",
                port = self.frontend_port
            );
            command
                .env("CORS_ORIGINS", origins)
                .env_remove("DATABASE_URL");
        } else {
            command.env("BACKEND_URL", self.url(backend));
        }
        command
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))
    }
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    let root = project::root();
    if args.watch {
        let launch = Launch::new(&root, &args)?;
        return watch::run(&root, &launch, args.release);
    }
    let profile = if args.release { "release" } else { "debug" };
    build(&root, "todo-backend", args.release, false)?;
    let frontend_built = match build(&root, "todo-frontend", args.release, false) {
        Ok(()) => true,
        Err(error) => {
            eprintln!(
                "warning: the frontend does not build ({error:#}); running the backend alone"
            );
            false
        }
    };
    let bin = project::target_dir(&root).join(profile);
    let launch = Launch::new(&root, &args)?;
    let backend_service = project::service("backend")?;
    let backend_url = launch.url(backend_service);
    let mut backend = launch.spawn(backend_service, &bin.join(backend_service.binary))?;
    wait_healthy("todo-backend", &mut backend, &backend_url)?;
    println!(
        "backend:  {backend_url} (API docs at {backend_url}/api/openapi.json; SQLite in target/dev/data/todo.db)"
    );

    let mut frontend = None;
    if frontend_built {
        let frontend_service = project::service("frontend")?;
        let mut child = launch.spawn(frontend_service, &bin.join(frontend_service.binary))?;
        std::thread::sleep(Duration::from_secs(1));
        match child.try_wait()? {
            Some(status) => eprintln!(
                "warning: the frontend is not available (it exited at once with {status}); the backend keeps running"
            ),
            None => {
                println!("frontend: http://127.0.0.1:{}", args.frontend_port);
                frontend = Some(child);
            }
        }
    }
    println!("press Ctrl-C to stop");

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let stopped_by_user = runtime.block_on(async {
        let watch = async {
            loop {
                if let Ok(Some(status)) = backend.try_wait() {
                    return status;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => Ok(()),
            status = watch => Err(status),
        }
    });
    // Ctrl-C reached the whole process group already; SIGTERM covers the other cases.
    let mut children: Vec<(&str, Child)> = vec![("todo-backend", backend)];
    if let Some(frontend) = frontend {
        children.push(("todo-frontend", frontend));
    }
    for (name, child) in &mut children {
        stop(name, child);
    }
    match stopped_by_user {
        Ok(()) => {
            println!("stopped");
            Ok(())
        }
        Err(status) => anyhow::bail!("todo-backend exited on its own with {status}"),
    }
}

/// The `cargo build` command of one service's binary (`--release` and `--quiet` as asked),
/// run by [`build`] and by `dev --watch`.
fn build_command(root: &Path, package: &str, release: bool, quiet: bool) -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command
        .current_dir(root)
        .args(["build", "--package", package, "--bin", package]);
    if release {
        command.arg("--release");
    }
    if quiet {
        command.arg("--quiet");
    }
    command
}

/// `cargo build` of one service's binary; cargo's own messages (errors included) go to
/// the terminal; `quiet` leaves out its progress and status lines, not its errors.
fn build(root: &Path, package: &str, release: bool, quiet: bool) -> anyhow::Result<()> {
    let status = build_command(root, package, release, quiet)
        .status()
        .context("cannot run cargo")?;
    anyhow::ensure!(status.success(), "cargo build --package {package} failed");
    Ok(())
}

/// How often a starting process's `/healthz` is asked, and a stopping process checked.
/// A refused connection on loopback costs microseconds, so a short interval keeps "ready"
/// within a few milliseconds of the process listening.
const POLL: Duration = Duration::from_millis(10);

/// Polls `url/healthz` until it answers 200, the process exits, or 60 s pass.
fn wait_healthy(name: &str, backend: &mut Child, url: &str) -> anyhow::Result<()> {
    // No kept-alive connection: the next restart's graceful shutdown would wait for it.
    let client = reqwest::blocking::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(2))
        .build()?;
    let started = Instant::now();
    loop {
        if let Some(status) = backend.try_wait()? {
            anyhow::bail!(
                "{name} exited during start-up with {status}: see its messages above (is port {} taken?)",
                url.rsplit(':').next().unwrap_or("?")
            );
        }
        if client
            .get(format!("{url}/healthz"))
            .send()
            .is_ok_and(|response| response.status().is_success())
        {
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = backend.kill();
            let _ = backend.wait();
            anyhow::bail!("{name} did not answer {url}/healthz within 60 s");
        }
        std::thread::sleep(POLL);
    }
}

/// SIGTERM, then up to 25 s for a graceful exit, then SIGKILL.
fn stop(name: &str, child: &mut Child) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(25) {
        if let Ok(Some(status)) = child.try_wait() {
            report(name, status);
            return;
        }
        std::thread::sleep(POLL);
    }
    eprintln!("{name} did not stop within 25 s: killing it");
    let _ = child.kill();
    let _ = child.wait();
}

fn report(name: &str, status: ExitStatus) {
    if !status.success() {
        eprintln!("{name} exited with {status}");
    }
}
