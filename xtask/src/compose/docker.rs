//! The few questions xtask asks the Docker Engine, through the docker CLI.

use super::health::{self, Container};
use super::settings::{Service, Settings};
use std::net::TcpListener;
use xshell::Shell;

/// Checks that the docker CLI is installed and the daemon answers.
pub fn check_daemon(sh: &Shell) -> anyhow::Result<()> {
    let output = sh
        .cmd("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .quiet()
        .ignore_status()
        .output()
        .map_err(|_| {
            anyhow::anyhow!(
                "the docker command is not installed: install Docker Engine (https://docs.docker.com/engine/install/) or Docker Desktop"
            )
        })?;
    if output.status.success() {
        return Ok(());
    }
    anyhow::bail!(daemon_error(&String::from_utf8_lossy(&output.stderr)))
}

/// One line saying why the daemon does not answer and what to do.
fn daemon_error(stderr: &str) -> String {
    let cause = stderr
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty() && !line.starts_with("Client:"))
        .unwrap_or("no answer");
    if stderr.contains("permission denied") {
        format!(
            "Docker refuses this user ({cause}): add yourself to the docker group (`sudo usermod -aG docker $USER`, then log in again)"
        )
    } else {
        format!(
            "the Docker daemon is not running ({cause}): start it (`sudo systemctl start docker`, or open Docker Desktop) and try again"
        )
    }
}

/// `docker inspect` of the containers among `names` that exist.
pub fn inspect(sh: &Shell, names: &[&str]) -> anyhow::Result<Vec<Container>> {
    // Exit status 1 when one of them does not exist: the others are still printed.
    let output = sh
        .cmd("docker")
        .args(["inspect", "--type", "container"])
        .args(names)
        .quiet()
        .ignore_status()
        .ignore_stderr()
        .output()?;
    health::parse_inspect(&String::from_utf8_lossy(&output.stdout))
}

/// The last `lines` lines a container logged (stdout and stderr).
pub fn logs_tail(sh: &Shell, container: &str, lines: usize) -> String {
    let lines = lines.to_string();
    match sh
        .cmd("docker")
        .args(["logs", "--tail", &lines, container])
        .quiet()
        .ignore_status()
        .output()
    {
        Ok(output) => {
            let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
            text.push_str(&String::from_utf8_lossy(&output.stderr));
            text
        }
        Err(error) => format!("(docker logs failed: {error})"),
    }
}

/// `docker rmi <reference>` (never forced: an image a container still uses stays); the
/// daemon's message when it refuses.
pub fn remove_image(sh: &Shell, reference: &str) -> Result<(), String> {
    let output = sh
        .cmd("docker")
        .args(["rmi", reference])
        .quiet()
        .ignore_status()
        .output()
        .map_err(|error| error.to_string())?;
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).trim().to_string())
    }
}

/// The containers that publish `port` on the host.
fn port_owners(sh: &Shell, port: u16) -> Vec<String> {
    let filter = format!("publish={port}");
    sh.cmd("docker")
        .args(["ps", "--filter", &filter, "--format", "{{.Names}}"])
        .quiet()
        .ignore_status()
        .ignore_stderr()
        .read()
        .map(|text| text.lines().map(str::to_owned).collect())
        .unwrap_or_default()
}

/// Fails with the cause and the fix when `service`'s host port is taken by anything but
/// its own container (which compose will keep or recreate).
pub fn check_port(sh: &Shell, settings: &Settings, service: &Service) -> anyhow::Result<()> {
    if TcpListener::bind((settings.bind, service.port)).is_ok() {
        return Ok(());
    }
    let owners = port_owners(sh, service.port);
    match port_verdict(settings, service, &owners) {
        Some(message) => anyhow::bail!(message),
        None => Ok(()),
    }
}

/// Pure part of [`check_port`]: the error, if the port's owners are not the service's own
/// container.
fn port_verdict(settings: &Settings, service: &Service, owners: &[String]) -> Option<String> {
    let port = service.port;
    let address = settings.bind;
    let fix = format!(
        "or publish {} on another port (set {}=<port> in {})",
        service.name,
        service.port_var,
        settings.env_file.display()
    );
    if owners.contains(&service.container) {
        return None;
    }
    Some(match owners.first() {
        Some(owner) => format!(
            "port {port} on {address} is already in use by the container {owner}: stop it (`docker stop {owner}`) {fix}"
        ),
        None => format!(
            "port {port} on {address} is already in use by another program: stop it (`ss -ltnp 'sport = :{port}'` shows which) {fix}"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings::resolve("/repo".into(), "/repo/.env".into(), "todo".into(), |_| None).unwrap()
    }

    #[test]
    fn a_port_held_by_the_services_own_container_is_fine() {
        let settings = settings();
        let backend = settings.service("backend").unwrap();
        assert_eq!(
            port_verdict(&settings, backend, &["todo-backend".into()]),
            None
        );
    }

    #[test]
    fn a_port_held_by_another_container_names_it_and_the_fixes() {
        let settings = settings();
        let frontend = settings.service("frontend").unwrap();
        assert_eq!(
            port_verdict(&settings, frontend, &["grafana".into()]).unwrap(),
            "port 3000 on 127.0.0.1 is already in use by the container grafana: stop it (`docker stop grafana`) \
             or publish frontend on another port (set TODO_FRONTEND_PORT=<port> in /repo/.env)"
        );
    }

    #[test]
    fn a_port_held_by_a_program_says_how_to_find_it() {
        let settings = settings();
        let backend = settings.service("backend").unwrap();
        let message = port_verdict(&settings, backend, &[]).unwrap();
        assert!(message.starts_with("port 8000 on 127.0.0.1 is already in use by another program"));
        assert!(message.contains("TODO_BACKEND_PORT=<port>"));
    }

    #[test]
    fn daemon_errors_say_what_to_do() {
        let down = daemon_error(
            "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n",
        );
        assert!(
            down.starts_with("the Docker daemon is not running (Cannot connect"),
            "{down}"
        );
        assert!(down.contains("systemctl start docker"));
        let denied = daemon_error(
            "permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock",
        );
        assert!(denied.contains("usermod -aG docker"), "{denied}");
    }
}
