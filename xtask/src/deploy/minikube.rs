//! minikube, driven through its own command line: status, start, docker-env, ip.
//!
//! Parsing is kept apart from running the tool so that every answer minikube gives
//! (captured from its documentation) is tested without a minikube.

use anyhow::{Context, bail};
use std::collections::BTreeMap;

/// What `minikube status -o json` says about a profile.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Status {
    /// The profile's name.
    pub name: String,
    /// The VM or container: `Running`, `Stopped`, `Nonexistent`...
    pub host: String,
    /// The kubelet: `Running`, `Stopped`...
    pub kubelet: String,
    /// The API server: `Running`, `Stopped`...
    #[serde(rename = "APIServer")]
    pub api_server: String,
}

impl Status {
    /// Whether the cluster answers (host, kubelet and API server running).
    pub fn is_running(&self) -> bool {
        [&self.host, &self.kubelet, &self.api_server]
            .iter()
            .all(|part| part.as_str() == "Running")
    }
}

/// How to reach minikube's Docker daemon: the variables `minikube docker-env` exports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DockerEnv {
    /// `DOCKER_HOST`, `DOCKER_TLS_VERIFY`, `DOCKER_CERT_PATH`, ... in the order printed.
    pub variables: BTreeMap<String, String>,
}

/// The minikube command for one profile.
#[derive(Debug, Clone)]
pub struct Minikube {
    profile: String,
}

impl Minikube {
    /// minikube for `profile` (`minikube` is minikube's own default).
    pub fn new(profile: &str) -> Minikube {
        Minikube {
            profile: profile.to_string(),
        }
    }

    /// The profile's name.
    pub fn profile(&self) -> &str {
        &self.profile
    }

    /// Whether the `minikube` program is installed.
    pub fn is_installed() -> bool {
        which::which("minikube").is_ok()
    }

    /// The profile's status; `None` when the profile does not exist.
    pub fn status(&self) -> anyhow::Result<Option<Status>> {
        // minikube exits non-zero whenever a part is not running: read the JSON anyway.
        let output = duct::cmd!("minikube", "-p", &self.profile, "status", "-o", "json")
            .stdout_capture()
            .stderr_capture()
            .unchecked()
            .run()
            .context("could not run `minikube status`: is minikube installed?")?;
        parse_status(&String::from_utf8_lossy(&output.stdout))
    }

    /// Starts the profile, passing `driver` through when given; minikube's own output
    /// streams to the terminal.
    pub fn start(&self, driver: Option<&str>) -> anyhow::Result<()> {
        let mut args = vec!["-p".to_string(), self.profile.clone(), "start".to_string()];
        if let Some(driver) = driver {
            args.push(format!("--driver={driver}"));
        }
        duct::cmd("minikube", &args).run().with_context(|| {
            format!(
                "`minikube -p {} start` failed: read its output above; `minikube delete -p {}` \
                 then a new start fixes most broken profiles",
                self.profile, self.profile
            )
        })?;
        Ok(())
    }

    /// The variables that point a Docker client at minikube's daemon.
    pub fn docker_env(&self) -> anyhow::Result<DockerEnv> {
        let text = duct::cmd!(
            "minikube",
            "-p",
            &self.profile,
            "docker-env",
            "--shell",
            "bash"
        )
        .stderr_capture()
        .read()
        .with_context(|| {
            format!(
                "`minikube -p {} docker-env` failed: minikube's Docker daemon is reachable \
                     only when the cluster runs the docker container runtime \
                     (`minikube start --container-runtime=docker`)",
                self.profile
            )
        })?;
        parse_docker_env(&text)
    }

    /// Removes an image from the node (`minikube image rm`, which refuses one a container
    /// still uses).
    pub fn remove_image(&self, reference: &str) -> anyhow::Result<()> {
        let output = duct::cmd!("minikube", "-p", &self.profile, "image", "rm", reference)
            .stdout_capture()
            .stderr_capture()
            .unchecked()
            .run()
            .context("could not run `minikube image rm`: is minikube installed?")?;
        if !output.status.success() {
            bail!(
                "`minikube -p {} image rm {reference}` failed: {}",
                self.profile,
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(())
    }

    /// The node's IP address (where NodePorts answer).
    pub fn ip(&self) -> anyhow::Result<String> {
        let text = duct::cmd!("minikube", "-p", &self.profile, "ip")
            .stderr_capture()
            .read()
            .context("`minikube ip` failed")?;
        let ip = text.trim();
        if ip.is_empty() {
            bail!("`minikube ip` printed nothing");
        }
        Ok(ip.to_string())
    }
}

/// Reads `minikube status -o json`; empty output or an unknown profile is `None`.
pub fn parse_status(json: &str) -> anyhow::Result<Option<Status>> {
    let json = json.trim();
    if json.is_empty() {
        return Ok(None);
    }
    // A multi-node profile prints one object per node in a list: the first is the control plane.
    let value: serde_json::Value =
        serde_json::from_str(json).with_context(|| format!("minikube status printed: {json}"))?;
    let first = match value {
        serde_json::Value::Array(mut nodes) if !nodes.is_empty() => nodes.swap_remove(0),
        serde_json::Value::Array(_) => return Ok(None),
        other => other,
    };
    if first.get("Host").and_then(|h| h.as_str()) == Some("Nonexistent") {
        return Ok(None);
    }
    let status =
        serde_json::from_value(first).context("minikube status had no Host/Kubelet/APIServer")?;
    Ok(Some(status))
}

/// Reads the bash form of `minikube docker-env`: `export KEY="VALUE"` lines and comments.
pub fn parse_docker_env(text: &str) -> anyhow::Result<DockerEnv> {
    let mut variables = BTreeMap::new();
    for line in text.lines().map(str::trim) {
        let Some(assignment) = line.strip_prefix("export ") else {
            continue;
        };
        let Some((key, value)) = assignment.split_once('=') else {
            continue;
        };
        let value = value.trim().trim_matches('"');
        variables.insert(key.trim().to_string(), value.to_string());
    }
    if !variables.contains_key("DOCKER_HOST") {
        bail!("`minikube docker-env` printed no DOCKER_HOST:\n{text}");
    }
    Ok(DockerEnv { variables })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Captured from minikube's documentation (`minikube status`, `minikube docker-env`).
    const RUNNING: &str = r#"{"Name":"minikube","Host":"Running","Kubelet":"Running","APIServer":"Running","Kubeconfig":"Configured","Worker":false}"#;
    const STOPPED: &str = r#"{"Name":"minikube","Host":"Stopped","Kubelet":"Stopped","APIServer":"Stopped","Kubeconfig":"Stopped","Worker":false}"#;
    const DOCKER_ENV: &str = r#"export DOCKER_TLS_VERIFY="1"
export DOCKER_HOST="tcp://192.168.49.2:2376"
export DOCKER_CERT_PATH="/home/user/.minikube/certs"
export MINIKUBE_ACTIVE_DOCKERD="minikube"

# To point your shell to minikube's docker-daemon, run:
# eval $(minikube -p minikube docker-env)
"#;

    #[test]
    fn a_running_profile_is_running() {
        let status = parse_status(RUNNING).unwrap().unwrap();
        assert!(status.is_running());
        assert_eq!(status.name, "minikube");
    }

    #[test]
    fn a_stopped_profile_is_not_running() {
        assert!(!parse_status(STOPPED).unwrap().unwrap().is_running());
    }

    #[test]
    fn a_missing_profile_is_none() {
        assert_eq!(parse_status("").unwrap(), None);
        let nonexistent = r#"{"Name":"x","Host":"Nonexistent","Kubelet":"Nonexistent","APIServer":"Nonexistent","Kubeconfig":"Nonexistent"}"#;
        assert_eq!(parse_status(nonexistent).unwrap(), None);
    }

    #[test]
    fn multi_node_profiles_report_the_control_plane() {
        let nodes = format!("[{RUNNING},{STOPPED}]");
        assert!(parse_status(&nodes).unwrap().unwrap().is_running());
    }

    #[test]
    fn docker_env_exports_are_read() {
        let env = parse_docker_env(DOCKER_ENV).unwrap();
        assert_eq!(env.variables["DOCKER_HOST"], "tcp://192.168.49.2:2376");
        assert_eq!(env.variables["DOCKER_TLS_VERIFY"], "1");
        assert_eq!(
            env.variables["DOCKER_CERT_PATH"],
            "/home/user/.minikube/certs"
        );
    }

    #[test]
    fn docker_env_without_a_host_is_an_error() {
        let error = parse_docker_env("# nothing\n").unwrap_err();
        assert!(error.to_string().contains("no DOCKER_HOST"));
    }
}
