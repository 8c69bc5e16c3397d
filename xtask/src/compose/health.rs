//! Container states as `docker inspect` reports them, and what they mean for a wait.
//! Pure: parsing and verdicts only.

use serde::Deserialize;

/// The parts of `docker inspect` this module reads.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Container {
    /// The container's id (a recreated container has a new one).
    #[serde(default)]
    pub id: String,
    /// `/todo-backend` (with Docker's leading slash).
    pub name: String,
    /// The container's state.
    pub state: State,
    /// How many times the restart policy restarted it.
    #[serde(default)]
    pub restart_count: u64,
}

/// `State` of `docker inspect`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct State {
    /// created, running, restarting, exited, paused, dead.
    pub status: String,
    /// The last exit code.
    #[serde(default)]
    pub exit_code: i64,
    /// Present when the image or compose file declares a healthcheck.
    pub health: Option<Health>,
}

/// `State.Health` of `docker inspect`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Health {
    /// starting, healthy, unhealthy.
    pub status: String,
    /// The last probes, oldest first.
    #[serde(default)]
    pub log: Vec<Probe>,
}

/// One healthcheck run.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Probe {
    /// The check's exit code (0 healthy).
    pub exit_code: i64,
    /// What it printed.
    pub output: String,
}

impl Container {
    /// The name without Docker's leading slash.
    pub fn short_name(&self) -> &str {
        self.name.trim_start_matches('/')
    }

    /// The output of the last failed probe, if any.
    pub fn last_failed_probe(&self) -> Option<&Probe> {
        self.state
            .health
            .as_ref()?
            .log
            .iter()
            .rev()
            .find(|probe| probe.exit_code != 0)
    }
}

/// Parses the JSON array `docker inspect` prints (for the containers that exist).
pub fn parse_inspect(json: &str) -> anyhow::Result<Vec<Container>> {
    if json.trim().is_empty() {
        return Ok(Vec::new());
    }
    Ok(serde_json::from_str(json)?)
}

/// Where a container stands while we wait for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Running and healthy (or running without a healthcheck).
    Healthy,
    /// Not there yet; the text says what it is doing.
    Waiting(String),
    /// It will not get healthy by waiting; the text says why.
    Failed(String),
}

/// The verdict for `container`, given its restart count when the wait began.
pub fn verdict(container: &Container, restarts_before: u64) -> Verdict {
    let state = &container.state;
    if container.restart_count > restarts_before {
        return Verdict::Failed(format!(
            "it crashed and was restarted {} time(s) (last exit code {})",
            container.restart_count - restarts_before,
            state.exit_code
        ));
    }
    match state.status.as_str() {
        "running" => match state.health.as_ref().map(|health| health.status.as_str()) {
            None | Some("healthy") => Verdict::Healthy,
            Some("unhealthy") => Verdict::Failed("its healthcheck fails".into()),
            Some(other) => Verdict::Waiting(other.into()),
        },
        "created" => Verdict::Waiting("created".into()),
        "restarting" => Verdict::Failed(format!(
            "it keeps restarting (last exit code {})",
            state.exit_code
        )),
        "paused" => Verdict::Failed("it is paused (docker unpause it)".into()),
        other => Verdict::Failed(format!("it is {other} (exit code {})", state.exit_code)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(status: &str, health: Option<&str>, restarts: u64) -> Container {
        let health = health.map(|status| {
            serde_json::json!({
                "Status": status,
                "Log": [
                    {"ExitCode": 1, "Output": "connection refused"},
                    {"ExitCode": 0, "Output": ""}
                ]
            })
        });
        let json = serde_json::json!([{
            "Name": "/todo-backend",
            "RestartCount": restarts,
            "State": {"Status": status, "ExitCode": 3, "Health": health},
        }]);
        parse_inspect(&json.to_string()).unwrap().remove(0)
    }

    #[test]
    fn reads_what_docker_inspect_prints() {
        let json = r#"[{"Id":"abc","Name":"/todo-frontend","RestartCount":0,
            "State":{"Status":"running","Running":true,"ExitCode":0,
            "Health":{"Status":"starting","FailingStreak":0,"Log":[]}},"Config":{}}]"#;
        let containers = parse_inspect(json).unwrap();
        assert_eq!(containers[0].short_name(), "todo-frontend");
        assert_eq!(
            verdict(&containers[0], 0),
            Verdict::Waiting("starting".into())
        );
        assert!(parse_inspect("\n").unwrap().is_empty());
        assert!(parse_inspect("not json").is_err());
    }

    #[test]
    fn verdicts() {
        assert_eq!(
            verdict(&container("running", Some("healthy"), 0), 0),
            Verdict::Healthy
        );
        assert_eq!(verdict(&container("running", None, 0), 0), Verdict::Healthy);
        assert_eq!(
            verdict(&container("created", None, 0), 0),
            Verdict::Waiting("created".into())
        );
        assert_eq!(
            verdict(&container("running", Some("unhealthy"), 0), 0),
            Verdict::Failed("its healthcheck fails".into())
        );
        assert_eq!(
            verdict(&container("exited", None, 0), 0),
            Verdict::Failed("it is exited (exit code 3)".into())
        );
        assert_eq!(
            verdict(&container("running", Some("starting"), 2), 1),
            Verdict::Failed("it crashed and was restarted 1 time(s) (last exit code 3)".into())
        );
        // Restarts from before this wait do not count.
        assert_eq!(
            verdict(&container("running", Some("healthy"), 5), 5),
            Verdict::Healthy
        );
    }

    #[test]
    fn finds_the_last_failed_probe() {
        let unhealthy = container("running", Some("unhealthy"), 0);
        assert_eq!(
            unhealthy.last_failed_probe().unwrap().output,
            "connection refused"
        );
        assert!(container("running", None, 0).last_failed_probe().is_none());
    }
}
