//! `cargo xtask compose-*` against the real Docker Engine, the main scenario once with each
//! compose installed (v2 and v1, chosen by `DEPLOYKIT_COMPOSE`).
//!
//! The suite runs the app under its own compose project, container names and ports, so
//! that it never touches an app the developer is running, and always cleans up.

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const PROJECT: &str = "deploykit-compose-test";
const BACKEND: &str = "deploykit-test-backend";
const FRONTEND: &str = "deploykit-test-frontend";
const BACKEND_PORT: u16 = 18931;
const FRONTEND_PORT: u16 = 13931;

/// Docker answers and some compose is installed.
fn docker_and_compose() -> Result<(), String> {
    let ok = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .output()
            .is_ok_and(|output| output.status.success())
    };
    if !ok("docker", &["info"]) {
        return Err("`docker info` fails: no daemon".into());
    }
    if !ok("docker", &["compose", "version"]) && !ok("docker-compose", &["version"]) {
        return Err("neither `docker compose` nor `docker-compose` is installed".into());
    }
    Ok(())
}

/// `cargo xtask <args>` with the test's project, names and ports.
fn xtask(env_file: &Path, args: &[&str]) -> Output {
    xtask_with(env_file, args, &[])
}

fn xtask_with(env_file: &Path, args: &[&str], extra_env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
    command
        .args(args)
        .env("TODO_ENV_FILE", env_file)
        .env("COMPOSE_PROJECT_NAME", PROJECT)
        .env("TODO_BACKEND_CONTAINER", BACKEND)
        .env("TODO_FRONTEND_CONTAINER", FRONTEND)
        .env("TODO_BACKEND_PORT", BACKEND_PORT.to_string())
        .env("TODO_FRONTEND_PORT", FRONTEND_PORT.to_string());
    for (key, value) in extra_env {
        command.env(key, value);
    }
    let output = command.output().unwrap();
    eprintln!(
        "$ cargo xtask {}\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn docker(args: &[&str]) -> String {
    let output = Command::new("docker").args(args).output().unwrap();
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// Removes the test project (containers, network, volume) when the test ends, passing or not.
struct Project {
    env_file: PathBuf,
    _dir: tempfile::TempDir,
}

impl Project {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let project = Self {
            env_file: dir.path().join(".env"),
            _dir: dir,
        };
        project.down();
        project
    }

    fn down(&self) {
        xtask(&self.env_file, &["compose-down", "--volumes"]);
    }

    /// Every container, network and volume compose labelled with the project.
    fn leftovers(&self) -> String {
        let filter = format!("label=com.docker.compose.project={PROJECT}");
        [
            docker(&["ps", "-a", "-q", "--filter", &filter]),
            docker(&["network", "ls", "-q", "--filter", &filter]),
            docker(&["volume", "ls", "-q", "--filter", &filter]),
        ]
        .join(" ")
        .trim()
        .to_owned()
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        self.down();
    }
}

fn wait_healthy(container: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let status = docker(&["inspect", "-f", "{{.State.Health.Status}}", container]);
        if status == "healthy" {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{container} is {status} after 60 s"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn compose_up_serves_the_app_keeps_data_across_restarts_and_down_cleans_up() {
    if !deploykit_testkit::require("Docker", docker_and_compose()) {
        return;
    }
    for compose in common::installed_composes() {
        eprintln!("==> with {compose}");
        serves_keeps_data_and_cleans_up(compose);
    }
}

fn serves_keeps_data_and_cleans_up(compose: &str) {
    let project = Project::new();
    let chosen = [("DEPLOYKIT_COMPOSE", compose)];
    let xtask = |env_file: &Path, args: &[&str]| xtask_with(env_file, args, &chosen);

    // Cold start: .env created with a generated secret, both services healthy.
    let up = xtask(&project.env_file, &["compose-up"]);
    assert!(up.status.success(), "compose-up failed:\n{}", text(&up));
    let app_url = format!("http://127.0.0.1:{FRONTEND_PORT}");
    assert!(text(&up).contains(&app_url), "{}", text(&up));
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&project.env_file).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    let env = std::fs::read_to_string(&project.env_file).unwrap();
    assert!(
        env.lines()
            .any(|line| line.starts_with("BETTER_AUTH_SECRET=") && line.len() > 40)
    );
    assert!(
        !text(&up).contains(
            env.lines()
                .find(|l| l.starts_with("BETTER_AUTH_SECRET="))
                .unwrap()
        )
    );

    // Sign up and create a task through the frontend's URL (its /api proxy).
    let client = reqwest::blocking::Client::builder()
        .cookie_store(true)
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let signup = client
        .post(format!("{app_url}/api/auth/signup"))
        .json(&serde_json::json!({"email": "compose@example.com", "password": "correct horse battery"}))
        .send()
        .unwrap();
    assert!(signup.status().is_success(), "signup: {}", signup.status());
    let created = client
        .post(format!("{app_url}/api/tasks"))
        .json(&serde_json::json!({"title": "survive a restart"}))
        .send()
        .unwrap();
    assert!(
        created.status().is_success(),
        "create: {}",
        created.status()
    );

    // The data lives in the volume: a restarted backend still has the task.
    docker(&["restart", BACKEND]);
    wait_healthy(BACKEND);
    let tasks: serde_json::Value = client
        .get(format!("{app_url}/api/tasks"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert!(tasks.to_string().contains("survive a restart"), "{tasks}");

    // Nothing changed: nothing rebuilt, nothing recreated.
    let ids_before = docker(&["inspect", "-f", "{{.Id}}", BACKEND, FRONTEND]);
    let again = xtask(&project.env_file, &["compose-up"]);
    assert!(
        again.status.success(),
        "second compose-up failed:\n{}",
        text(&again)
    );
    assert_eq!(
        docker(&["inspect", "-f", "{{.Id}}", BACKEND, FRONTEND]),
        ids_before
    );
    assert!(!text(&again).contains("Recreating"), "{}", text(&again));

    let ps = xtask(&project.env_file, &["compose-ps"]);
    assert!(ps.status.success());
    assert!(
        text(&ps).contains(BACKEND) && text(&ps).contains("healthy"),
        "{}",
        text(&ps)
    );
    let logs = xtask(
        &project.env_file,
        &["compose-logs", "backend", "--tail", "5"],
    );
    assert!(logs.status.success());

    // down --volumes leaves nothing of the project behind.
    let down = xtask(&project.env_file, &["compose-down", "--volumes"]);
    assert!(down.status.success(), "{}", text(&down));
    assert_eq!(project.leftovers(), "");
}

#[test]
fn a_taken_port_is_named_with_the_fix() {
    if !deploykit_testkit::require("Docker", docker_and_compose()) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let output = xtask_with(
        &dir.path().join(".env"),
        &["compose-up", "--no-build"],
        &[
            ("TODO_FRONTEND_PORT", &port),
            ("COMPOSE_PROJECT_NAME", "deploykit-port-test"),
        ],
    );
    assert!(!output.status.success());
    let message = text(&output);
    assert!(
        message.contains(&format!(
            "error: port {port} on 127.0.0.1 is already in use by another program"
        )),
        "{message}"
    );
    assert!(message.contains("TODO_FRONTEND_PORT=<port>"), "{message}");
}

#[test]
fn an_unreachable_daemon_says_how_to_start_it() {
    let dir = tempfile::tempdir().unwrap();
    let output = xtask_with(
        &dir.path().join(".env"),
        &["compose-up"],
        &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")],
    );
    assert!(!output.status.success());
    let message = text(&output);
    assert!(
        message.contains("error: the Docker daemon is not running")
            || message.contains("error: the docker command is not installed"),
        "{message}"
    );
    assert!(
        !dir.path().join(".env").exists(),
        "nothing is written before Docker answers"
    );
}

#[test]
fn missing_compose_says_what_to_install() {
    if !deploykit_testkit::require("Docker", docker_and_compose()) {
        return;
    }
    // A PATH with docker but no compose. The compose plugin may sit in a system folder
    // (`/usr/local/lib/docker/cli-plugins`, where CI installs it) that no setting hides,
    // so this `docker` answers `compose` as a docker without the plugin does and hands
    // everything else to the real one.
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let docker_path = which::which("docker").unwrap();
    let docker_without_compose = bin.join("docker");
    std::fs::write(
        &docker_without_compose,
        format!(
            "#!/bin/sh\nif [ \"$1\" = compose ]; then\n  echo \"docker: unknown command: docker compose\" >&2\n  exit 1\nfi\nexec '{}' \"$@\"\n",
            docker_path.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        &docker_without_compose,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let output = xtask_with(
        &dir.path().join(".env"),
        &["compose-up"],
        &[
            ("PATH", bin.to_str().unwrap()),
            ("DOCKER_CONFIG", dir.path().to_str().unwrap()),
        ],
    );
    assert!(!output.status.success());
    let message = text(&output);
    assert!(
        message.contains("error: Docker Compose is not installed"),
        "{message}"
    );
    assert!(message.contains("docker-compose-plugin"), "{message}");
}

#[test]
fn an_unreadable_env_file_is_named() {
    if !deploykit_testkit::require("Docker", docker_and_compose()) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let env_file = dir.path().join("settings.env");
    std::fs::create_dir(&env_file).unwrap();
    let output = xtask(&env_file, &["compose-ps"]);
    assert!(!output.status.success());
    let message = text(&output);
    assert!(
        message.contains(&format!("error: cannot read {}", env_file.display())),
        "{message}"
    );
}
