//! `cargo xtask bench compose`: how long `compose-up` takes, cold and warm, next to
//! compose on its own with the same files, in one run.
//!
//! The benchmark runs under its own compose project, container names, ports and `.env`,
//! so it never touches an app the developer is running; it removes everything at the end.

use crate::project;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PROJECT: &str = "deploykit-bench";
const BACKEND: &str = "deploykit-bench-backend";
const FRONTEND: &str = "deploykit-bench-frontend";

/// Options of `bench compose`.
#[derive(clap::Args)]
pub struct Args {
    /// Host port of the backend during the run.
    #[arg(long, default_value_t = 18932)]
    backend_port: u16,
    /// Host port of the frontend during the run.
    #[arg(long, default_value_t = 13932)]
    frontend_port: u16,
}

/// One measured step.
struct Figure {
    what: &'static str,
    outcome: Result<Duration, String>,
}

/// Runs the benchmark and prints the figures.
pub fn run(args: Args) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let env_file = dir.path().join(".env");
    let bench = Bench {
        env_file: &env_file,
        args: &args,
    };
    let result = bench.measure();
    // Whatever happened, leave nothing behind.
    bench.xtask(&["compose-down", "--volumes"], true)?;
    let (compose, figures) = result?;
    println!("\ncompose-up, one run ({compose}; project {PROJECT}):");
    for figure in &figures {
        match &figure.outcome {
            Ok(time) => println!("  {:<66} {:>6.2} s", figure.what, time.as_secs_f64()),
            Err(why) => println!("  {:<66} {why}", figure.what),
        }
    }
    Ok(())
}

struct Bench<'a> {
    env_file: &'a Path,
    args: &'a Args,
}

impl Bench<'_> {
    fn measure(&self) -> anyhow::Result<(String, Vec<Figure>)> {
        let compose = compose_program()?;
        let mut figures = Vec::new();

        eprintln!("==> preparing: compiling and packaging once, then removing the images");
        self.xtask(&["compose-down", "--volumes"], true)?;
        self.xtask(&["compose-up"], false)?;
        let images = self.inspect("{{.Config.Image}}")?;
        // By id, so that every tag (content-addressed and latest) goes; read before the
        // containers are removed.
        let ids = self.inspect("{{.Image}}")?;
        self.xtask(&["compose-down", "--volumes"], false)?;
        let mut rmi = vec!["rmi", "--force"];
        rmi.extend(ids.iter().map(String::as_str));
        docker(&rmi)?;

        eprintln!("==> cold compose-up (images not built, binaries already compiled)");
        figures.push(Figure {
            what: "cold compose-up (package images, create, healthy, smoke test)",
            outcome: Ok(self.xtask(&["compose-up"], false)?),
        });
        eprintln!("==> warm compose-up (nothing changed)");
        figures.push(Figure {
            what: "warm compose-up, nothing changed",
            outcome: Ok(self.xtask(&["compose-up"], false)?),
        });

        // compose alone on the same files and images: no .env handling, no build step,
        // no smoke test; v1 still waits for the backend's health (depends_on).
        let mut env = self.env();
        anyhow::ensure!(
            images.len() == 2,
            "expected two bench containers, found {images:?}"
        );
        env.push(("TODO_BACKEND_IMAGE".into(), images[0].clone()));
        env.push(("TODO_FRONTEND_IMAGE".into(), images[1].clone()));
        let base = self.compose_base(&compose);
        let with = |extra: &[&str]| -> Vec<String> {
            base.iter()
                .cloned()
                .chain(extra.iter().map(|arg| arg.to_string()))
                .collect()
        };
        let (down, up, build) = (
            with(&["down", "--volumes"]),
            with(&["up", "-d"]),
            with(&["up", "-d", "--build"]),
        );
        timed(&compose[0], &down, &env).map_err(anyhow::Error::msg)?;
        figures.push(Figure {
            what: "docker-compose up -d, cold (same images; frontend waits on backend)",
            outcome: timed(&compose[0], &up, &env),
        });
        figures.push(Figure {
            what: "docker-compose up -d, warm (nothing changed)",
            outcome: timed(&compose[0], &up, &env),
        });
        timed(&compose[0], &down, &env).map_err(anyhow::Error::msg)?;
        figures.push(Figure {
            what: "docker-compose up -d --build (the Dockerfiles)",
            outcome: timed(&compose[0], &build, &env),
        });
        Ok((compose.join(" "), figures))
    }

    /// The environment that gives the benchmark its own project, names and ports.
    fn env(&self) -> Vec<(String, String)> {
        [
            ("TODO_ENV_FILE", self.env_file.display().to_string()),
            ("COMPOSE_PROJECT_NAME", PROJECT.into()),
            ("TODO_BACKEND_CONTAINER", BACKEND.into()),
            ("TODO_FRONTEND_CONTAINER", FRONTEND.into()),
            ("TODO_BACKEND_PORT", self.args.backend_port.to_string()),
            ("TODO_FRONTEND_PORT", self.args.frontend_port.to_string()),
        ]
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value))
        .collect()
    }

    /// The compose command line (without the program) for the benchmark's project.
    fn compose_base(&self, compose: &[String]) -> Vec<String> {
        let file = project::root().join("docker-compose.yml");
        let mut base: Vec<String> = compose[1..].to_vec();
        base.extend(["--project-name".into(), PROJECT.into()]);
        base.extend(["--file".into(), file.display().to_string()]);
        base.extend(["--env-file".into(), self.env_file.display().to_string()]);
        base
    }

    /// Runs `cargo xtask <args>` (this very binary) and times it.
    fn xtask(&self, args: &[&str], quiet: bool) -> anyhow::Result<Duration> {
        let program = std::env::current_exe()?;
        let mut command = Command::new(program);
        command.args(args).envs(self.env());
        if quiet {
            command.stdout(Stdio::null()).stderr(Stdio::null());
        }
        let started = Instant::now();
        let status = command.status()?;
        let elapsed = started.elapsed();
        if !quiet && !status.success() {
            anyhow::bail!("`cargo xtask {}` failed (see above)", args.join(" "));
        }
        Ok(elapsed)
    }

    /// `docker inspect --format <format>` of the two containers.
    fn inspect(&self, format: &str) -> anyhow::Result<Vec<String>> {
        let output = Command::new("docker")
            .args(["inspect", "--format", format, BACKEND, FRONTEND])
            .output()?;
        anyhow::ensure!(
            output.status.success(),
            "docker inspect of the bench containers failed"
        );
        Ok(String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(str::to_owned)
            .collect())
    }
}

/// `docker compose` when the plugin answers, else `docker-compose`.
fn compose_program() -> anyhow::Result<Vec<String>> {
    let answers = |program: &[&str]| {
        Command::new(program[0])
            .args(&program[1..])
            .arg("version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    };
    for program in [&["docker", "compose"][..], &["docker-compose"][..]] {
        if answers(program) {
            return Ok(program.iter().map(|part| part.to_string()).collect());
        }
    }
    anyhow::bail!("Docker Compose is not installed: the benchmark needs it")
}

fn docker(args: &[&str]) -> anyhow::Result<()> {
    let status = Command::new("docker")
        .args(args)
        .stdout(Stdio::null())
        .status()?;
    anyhow::ensure!(status.success(), "`docker {}` failed", args.join(" "));
    Ok(())
}

/// Runs `program args` with `env`, quietly, and times it; a failure is its last line.
fn timed(program: &str, args: &[String], env: &[(String, String)]) -> Result<Duration, String> {
    let started = Instant::now();
    let output = Command::new(program)
        .args(args)
        .envs(env.iter().map(|(key, value)| (key, value)))
        .output()
        .map_err(|error| error.to_string())?;
    let elapsed = started.elapsed();
    if output.status.success() {
        return Ok(elapsed);
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last = stderr
        .lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .unwrap_or("no output");
    Err(format!(
        "failed after {:.2} s: {}",
        elapsed.as_secs_f64(),
        last.trim()
    ))
}
