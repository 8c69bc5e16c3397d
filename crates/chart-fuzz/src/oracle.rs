//! Helm's engine in one long-lived Python process (libhelm in-process through
//! `helm_python`), spoken to in JSON lines by `helm_driver.py`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::Duration;

use crate::error::FuzzError;

/// The driver's source, run with `python3 -c`.
const DRIVER: &str = include_str!("helm_driver.py");

/// How long one answer may take before the engine is thought stuck (generous: a
/// loaded 2-core machine, and Helm's first render initialises its Go runtime).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

/// What Helm's engine made of a chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HelmAnswer {
    /// Rendered: template path → text.
    Rendered(BTreeMap<String, String>),
    /// Refused, with Helm's message.
    Refused(String),
}

/// Helm's engine, running.
pub struct HelmEngine {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
}

impl HelmEngine {
    /// Whether Helm's engine can run here (`python3` with `helm_python`), with the fix
    /// when it cannot.
    pub fn available() -> Result<(), String> {
        let status = Command::new("python3")
            .args(["-c", "import helm_python"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_err(|error| format!("cannot run python3: {error}"))?;
        if status.success() {
            Ok(())
        } else {
            Err("python3 cannot import helm_python: run `python3 -m pip install 'helm-python-sdk==0.2.2'`".into())
        }
    }

    /// Starts the engine's process.
    pub fn start() -> Result<HelmEngine, FuzzError> {
        let mut child = Command::new("python3")
            .args(["-u", "-c", DRIVER])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|source| FuzzError::HelmStart { source })?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(FuzzError::HelmProtocol(
                "the driver has no stdin or stdout".into(),
            ));
        };
        let (sender, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(HelmEngine {
            child,
            stdin,
            lines,
        })
    }

    /// Renders the chart in `dir` with its own values, as `helm template` does.
    pub fn render(&mut self, dir: &Path) -> Result<HelmAnswer, FuzzError> {
        let request = serde_json::json!({"op": "render", "chart": dir});
        let answer = self.ask(&request)?;
        match answer {
            Answer::Ok(serde_json::Value::Object(map)) => Ok(HelmAnswer::Rendered(
                map.into_iter()
                    .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_string()))
                    .collect(),
            )),
            Answer::Ok(other) => Err(FuzzError::HelmProtocol(format!("render answered {other}"))),
            Answer::Refused(message) => Ok(HelmAnswer::Refused(message)),
        }
    }

    /// Reads a values document as Helm reads `-f` files: the values as JSON, or
    /// Helm's refusal.
    pub fn values(&mut self, text: &str) -> Result<Result<serde_json::Value, String>, FuzzError> {
        self.ask_value("values", text)
    }

    /// Parses a `--set` expression as Helm does.
    pub fn set(&mut self, text: &str) -> Result<Result<serde_json::Value, String>, FuzzError> {
        self.ask_value("set", text)
    }

    /// Parses an expression of Helm's `--set-string` (`"set-string"`), `--set-json`
    /// (`"set-json"`) or `--set-literal` (`"set-literal"`) flag, or `--set` (`"set"`).
    pub fn set_as(
        &mut self,
        flag: &str,
        text: &str,
    ) -> Result<Result<serde_json::Value, String>, FuzzError> {
        self.ask_value(flag, text)
    }

    fn ask_value(
        &mut self,
        op: &str,
        text: &str,
    ) -> Result<Result<serde_json::Value, String>, FuzzError> {
        match self.ask(&serde_json::json!({"op": op, "text": text}))? {
            Answer::Ok(value) => Ok(Ok(value)),
            Answer::Refused(message) => Ok(Err(message)),
        }
    }

    fn ask(&mut self, request: &serde_json::Value) -> Result<Answer, FuzzError> {
        let line = format!("{request}\n");
        if let Err(error) = self
            .stdin
            .write_all(line.as_bytes())
            .and_then(|()| self.stdin.flush())
        {
            return Err(FuzzError::HelmProtocol(format!(
                "the driver stopped reading: {error}"
            )));
        }
        let reply = match self.lines.recv_timeout(ANSWER_TIMEOUT) {
            Ok(reply) => reply,
            Err(RecvTimeoutError::Timeout) => {
                self.restart()?;
                return Err(FuzzError::HelmTimeout);
            }
            Err(RecvTimeoutError::Disconnected) => {
                self.restart()?;
                return Err(FuzzError::HelmCrashed);
            }
        };
        let mut value: serde_json::Value = serde_json::from_str(&reply).map_err(|error| {
            FuzzError::HelmProtocol(format!("unreadable answer {reply:?}: {error}"))
        })?;
        if let Some(ok) = value.get_mut("ok") {
            return Ok(Answer::Ok(ok.take()));
        }
        if let Some(message) = value.get("refused").and_then(|m| m.as_str()) {
            return Ok(Answer::Refused(message.to_string()));
        }
        Err(FuzzError::HelmProtocol(format!(
            "the driver failed: {reply}"
        )))
    }

    /// Replaces a stuck or dead process with a new one.
    fn restart(&mut self) -> Result<(), FuzzError> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        *self = HelmEngine::start()?;
        Ok(())
    }
}

impl Drop for HelmEngine {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

enum Answer {
    Ok(serde_json::Value),
    Refused(String),
}
