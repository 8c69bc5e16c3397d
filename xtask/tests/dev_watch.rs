//! `cargo xtask dev --watch` driven for real, on a temporary copy of the project
//! (`--project-dir`): the real binary, real cargo builds, real processes, real HTTP.
//!
//! The copy builds into its own target folder next to the workspace's (`target/watch-e2e`),
//! kept between runs so only the two services' crates compile again: sharing the
//! workspace's target folder would overwrite the workspace's own `todo-backend` (cargo
//! names a workspace member's artifacts after its path relative to the workspace root, so
//! the copy's and the original's collide). The first run compiles the services'
//! dependencies there once, which takes minutes.
//!
//! Linux only: which process serves a service is read from `/proc`.
#![cfg(target_os = "linux")]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The first cycle compiles both services (and, on a first run, their dependencies) on a
/// machine other builds may be loading.
const FIRST_BUILD: Duration = Duration::from_secs(60 * 60);
/// A later cycle recompiles one service's crate.
const CYCLE: Duration = Duration::from_secs(20 * 60);

/// The handler whose response string the test edits (`GET /readyz`).
const HANDLER_FILE: &str = "backend/src/api.rs";
const ORIGINAL_RESPONSE: &str = r#"status: "ready".into(),"#;
const EDITED_RESPONSE: &str = r#"status: "ready, edited while watched".into(),"#;

/// Copies the project's sources (not `target/` nor `.git/`) into `to`.
fn copy_project(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("the workspace lists") {
        let entry = entry.expect("a workspace entry");
        let name = entry.file_name();
        if name == "target" || name == ".git" {
            continue;
        }
        let (source, destination) = (entry.path(), to.join(&name));
        let kind = entry.file_type().expect("a file type");
        if kind.is_dir() {
            std::fs::create_dir(&destination).expect("a folder of the copy");
            copy_project(&source, &destination);
        } else if kind.is_symlink() {
            let target = std::fs::read_link(&source).expect("a link");
            std::os::unix::fs::symlink(target, &destination).expect("a link in the copy");
        } else {
            std::fs::copy(&source, &destination).expect("a file of the copy");
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port on 127.0.0.1")
        .port()
}

/// The processes whose executable lies under `folder`, by file name without the hash
/// suffix (`todo-backend` for `target/dev/bin/todo-backend-0123abcd...`).
fn processes_under(folder: &Path) -> BTreeMap<String, Vec<u32>> {
    let mut found: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for entry in std::fs::read_dir("/proc").expect("/proc lists").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(exe) = std::fs::read_link(entry.path().join("exe")) else {
            continue;
        };
        if !exe.starts_with(folder) {
            continue;
        }
        let name = exe.file_name().unwrap_or_default().to_string_lossy();
        let service = name.rsplit_once('-').map_or(&*name, |(service, _)| service);
        found.entry(service.to_owned()).or_default().push(pid);
    }
    found
}

/// `cargo xtask dev --watch` on the copy, with its output read line by line.
struct Watch {
    child: Child,
    lines: Receiver<String>,
    /// Everything printed so far (stdout and stderr), for failure messages.
    transcript: Arc<Mutex<String>>,
    /// Where the copy's processes run from.
    bin: PathBuf,
}

impl Watch {
    fn start(project: &Path, target: &Path, backend_port: u16, frontend_port: u16) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(["--project-dir", &project.display().to_string()])
            .args(["dev", "--watch"])
            .args(["--backend-port", &backend_port.to_string()])
            .args(["--frontend-port", &frontend_port.to_string()])
            .env("CARGO_TARGET_DIR", target)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("xtask starts");
        let transcript = Arc::new(Mutex::new(String::new()));
        let (sender, lines) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        let record = Arc::clone(&transcript);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                record
                    .lock()
                    .expect("transcript")
                    .push_str(&format!("{line}\n"));
                let _ = sender.send(line);
            }
        });
        let record = Arc::clone(&transcript);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                record
                    .lock()
                    .expect("transcript")
                    .push_str(&format!("! {line}\n"));
            }
        });
        Self {
            child,
            lines,
            transcript,
            bin: project.join("target/dev/bin"),
        }
    }

    fn transcript(&self) -> String {
        self.transcript.lock().expect("transcript").clone()
    }

    /// The next line of standard output that starts with `prefix`.
    fn line_starting(&self, prefix: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.starts_with(prefix) => return line,
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => panic!(
                    "no line starting with {prefix:?} within {timeout:?}; output:\n{}",
                    self.transcript()
                ),
                Err(RecvTimeoutError::Disconnected) => panic!(
                    "xtask ended before printing {prefix:?}; output:\n{}",
                    self.transcript()
                ),
            }
        }
    }

    /// Waits until the output holds `text` (standard error is read on its own thread, so
    /// it may trail standard output a little).
    fn printed_eventually(&self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.transcript().contains(text) {
            assert!(
                Instant::now() < deadline,
                "{text:?} not printed; output:\n{}",
                self.transcript()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The lines of cycle `number`: its header, the backend's line, and the line naming
    /// the services it did not touch.
    fn backend_cycle(&self, number: u32) -> (String, String, String) {
        let header = self.line_starting(&format!("[{number}] "), CYCLE);
        let backend = self.line_starting("    backend: ", CYCLE);
        let untouched = self.line_starting("    ", CYCLE);
        (header, backend, untouched)
    }

    /// The pid serving each service now (exactly one process each).
    fn pids(&self) -> BTreeMap<String, u32> {
        processes_under(&self.bin)
            .into_iter()
            .map(|(service, pids)| {
                assert_eq!(pids.len(), 1, "{service} runs as {pids:?}");
                (service, pids[0])
            })
            .collect()
    }

    /// SIGTERM (as Ctrl-C does) and the exit status.
    fn stop(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("xtask did not stop within 120 s of SIGTERM");
    }
}

impl Drop for Watch {
    /// Leaves no process behind, whatever the test's outcome.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        for pid in processes_under(&self.bin).into_values().flatten() {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
    }
}

/// The `status` of `GET url`'s JSON answer.
fn status_at(url: &str) -> String {
    let client = reqwest::blocking::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("an HTTP client");
    let answer: serde_json::Value = client
        .get(url)
        .send()
        .and_then(|response| response.error_for_status())
        .and_then(|response| response.json())
        .unwrap_or_else(|error| panic!("GET {url}: {error}"));
    answer["status"].as_str().unwrap_or_default().to_owned()
}

/// Replaces the one occurrence of `from` in `file` with `to`.
fn edit(file: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(file).expect("the handler's file reads");
    assert_eq!(
        text.matches(from).count(),
        1,
        "{from:?} in {}",
        file.display()
    );
    std::fs::write(file, text.replacen(from, to, 1)).expect("the handler's file writes");
}

#[test]
fn a_saved_change_rebuilds_and_restarts_only_its_service() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lies in the workspace");
    // target/<profile>/xtask -> target/watch-e2e
    let target = Path::new(env!("CARGO_BIN_EXE_xtask"))
        .ancestors()
        .nth(2)
        .expect("xtask lies in a target folder")
        .join("watch-e2e");
    let copy = tempfile::tempdir().expect("a temporary folder");
    let project = copy.path().canonicalize().expect("the temporary folder");
    copy_project(workspace, &project);
    let handler = project.join(HANDLER_FILE);
    let (backend_port, frontend_port) = (free_port(), free_port());
    let readyz = format!("http://127.0.0.1:{backend_port}/readyz");
    let frontend_healthz = format!("http://127.0.0.1:{frontend_port}/healthz");

    let mut watch = Watch::start(&project, &target, backend_port, frontend_port);
    watch.line_starting("[1] first build", FIRST_BUILD);
    let first_backend = watch.line_starting("    backend: ", FIRST_BUILD);
    let first_frontend = watch.line_starting("    frontend: ", FIRST_BUILD);
    watch.line_starting("watching backend/ and frontend/", CYCLE);
    assert!(first_backend.contains("started"), "{first_backend}");
    assert!(first_frontend.contains("started"), "{first_frontend}");
    assert_eq!(status_at(&readyz), "ready");
    let started = watch.pids();
    assert_eq!(
        started.keys().collect::<Vec<_>>(),
        ["todo-backend", "todo-frontend"],
        "{}",
        watch.transcript()
    );

    // A changed response string: the backend alone is rebuilt and restarted, and serves it.
    edit(&handler, ORIGINAL_RESPONSE, EDITED_RESPONSE);
    let (header, backend, untouched) = watch.backend_cycle(2);
    assert_eq!(header, format!("[2] changed: {HANDLER_FILE}"));
    assert!(
        backend.contains("rebuilt") && backend.contains("restarted"),
        "{backend}"
    );
    assert_eq!(untouched, "    not affected: frontend");
    assert_eq!(status_at(&readyz), "ready, edited while watched");
    let after_edit = watch.pids();
    assert_ne!(after_edit["todo-backend"], started["todo-backend"]);
    assert_eq!(after_edit["todo-frontend"], started["todo-frontend"]);
    assert_eq!(status_at(&frontend_healthz), "ok");

    // A comment on a line of its own code: built again, same binary, nothing restarted.
    edit(
        &handler,
        EDITED_RESPONSE,
        &format!("{EDITED_RESPONSE} // said while watched"),
    );
    let (header, backend, untouched) = watch.backend_cycle(3);
    assert_eq!(header, format!("[3] changed: {HANDLER_FILE}"));
    assert!(
        backend.contains("binary unchanged: nothing restarted"),
        "{backend}\n{}",
        watch.transcript()
    );
    assert_eq!(untouched, "    not affected: frontend");
    assert_eq!(watch.pids(), after_edit);

    // A syntax error: cargo's error is shown, the running version keeps answering.
    edit(
        &handler,
        EDITED_RESPONSE,
        r#"status: "ready, broken.into(),"#,
    );
    let (header, backend, untouched) = watch.backend_cycle(4);
    assert_eq!(header, format!("[4] changed: {HANDLER_FILE}"));
    assert!(
        backend.contains("not rebuilt") && backend.contains("the running version stays up"),
        "{backend}"
    );
    assert_eq!(untouched, "    not affected: frontend");
    watch.printed_eventually("! error");
    assert_eq!(watch.pids(), after_edit);
    assert_eq!(status_at(&readyz), "ready, edited while watched");

    // SIGTERM (Ctrl-C) stops both services and the loop.
    let status = watch.stop();
    assert!(status.success(), "{status}\n{}", watch.transcript());
    watch.line_starting("stopped", CYCLE);
    assert_eq!(processes_under(&watch.bin), BTreeMap::new());
}

#[test]
fn a_project_dir_that_is_not_the_project_is_refused_with_the_fix() {
    let empty = tempfile::tempdir().expect("a temporary folder");
    let missing = empty.path().join("missing");
    for (dir, says) in [
        (empty.path(), "not a copy of this project"),
        (missing.as_path(), "no such folder"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(["--project-dir", &dir.display().to_string(), "dev"])
            .output()
            .expect("xtask runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{stderr}");
        assert!(stderr.contains(says), "{stderr}");
        assert!(
            stderr.contains("give the folder that holds the workspace's Cargo.toml"),
            "{stderr}"
        );
    }
}
