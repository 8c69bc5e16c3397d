//! What the watch tests share: a copy of the project to edit, and the watch command's
//! output read line by line while it runs.
// Each test file compiles this module on its own and uses only part of it.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

// The same `latest` bookkeeping as `bench watch`'s.
#[path = "../../src/bench/latest_tags.rs"]
mod latest_tags;
use latest_tags::LatestTags;

/// The first cycle compiles both services (and, on a first run, their dependencies) on a
/// machine other builds may be loading.
pub const FIRST_BUILD: Duration = Duration::from_secs(60 * 60);
/// A later cycle recompiles one service's crate.
pub const CYCLE: Duration = Duration::from_secs(20 * 60);

/// The handler whose response string the tests edit (`GET /readyz`).
pub const HANDLER_FILE: &str = "backend/src/api.rs";
pub const ORIGINAL_RESPONSE: &str = r#"status: "ready".into(),"#;
pub const EDITED_RESPONSE: &str = r#"status: "ready, edited while watched".into(),"#;
pub const COMMENTED_RESPONSE: &str =
    r#"status: "ready, edited while watched".into(), // said while watched"#;
pub const BROKEN_RESPONSE: &str = r#"status: "ready, broken.into(),"#;

/// A copy of the project's sources in a temporary folder, and where it builds.
pub struct ProjectCopy {
    _dir: tempfile::TempDir,
    /// The copy's root (canonical).
    pub root: PathBuf,
    /// Its `CARGO_TARGET_DIR`: `target/watch-e2e` next to the workspace's build, kept
    /// between runs. Not the workspace's own target folder: cargo names a workspace
    /// member's artifacts after its path relative to the workspace root, so the copy's
    /// `todo-backend` would replace the workspace's (and could then pass for fresh there).
    pub target: PathBuf,
}

impl ProjectCopy {
    pub fn new() -> Self {
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("xtask lies in the workspace");
        // target/<profile>/xtask -> target/watch-e2e
        let target = Path::new(env!("CARGO_BIN_EXE_xtask"))
            .ancestors()
            .nth(2)
            .expect("xtask lies in a target folder")
            .join("watch-e2e");
        let dir = tempfile::tempdir().expect("a temporary folder");
        let root = dir.path().canonicalize().expect("the temporary folder");
        copy_folder(workspace, &root);
        Self {
            _dir: dir,
            root,
            target,
        }
    }

    /// Replaces the one occurrence of `from` in the copy's `file` with `to`.
    pub fn edit(&self, file: &str, from: &str, to: &str) {
        let path = self.root.join(file);
        let text = std::fs::read_to_string(&path).expect("the file reads");
        assert_eq!(text.matches(from).count(), 1, "{from:?} in {file}");
        std::fs::write(&path, text.replacen(from, to, 1)).expect("the file writes");
    }

    /// `cargo xtask --project-dir <copy> <args>`, building into the copy's target folder.
    pub fn xtask(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
        command
            .args(["--project-dir", &self.root.display().to_string()])
            .args(args)
            .env("CARGO_TARGET_DIR", &self.target);
        command
    }
}

/// Copies a folder's files, leaving out `target/` and `.git/`.
fn copy_folder(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("the folder lists") {
        let entry = entry.expect("an entry");
        let name = entry.file_name();
        if name == "target" || name == ".git" {
            continue;
        }
        let (source, destination) = (entry.path(), to.join(&name));
        let kind = entry.file_type().expect("a file type");
        if kind.is_dir() {
            std::fs::create_dir(&destination).expect("a folder of the copy");
            copy_folder(&source, &destination);
        } else if kind.is_symlink() {
            let target = std::fs::read_link(&source).expect("a link");
            std::os::unix::fs::symlink(target, &destination).expect("a link in the copy");
        } else {
            std::fs::copy(&source, &destination).expect("a file of the copy");
        }
    }
}

/// Makes the copy's backend binary this run's own, so its images' content tags are too:
/// another run on the same Docker that builds the same source removes the same tags.
pub fn mark_backend(copy: &ProjectCopy, label: &str) {
    let main = copy.root.join("backend/src/main.rs");
    let mut text = std::fs::read_to_string(&main).expect("main.rs reads");
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    text.push_str(&format!(
        "\n#[used]\n#[allow(dead_code)]\nstatic TEST_RUN: &str = \"{label}-{}-{nanos}\";\n",
        std::process::id()
    ));
    std::fs::write(&main, text).expect("main.rs writes");
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port on 127.0.0.1")
        .port()
}

/// A long-running xtask command, its output read line by line.
pub struct Running {
    pub child: Child,
    lines: Receiver<String>,
    /// Everything printed so far (stdout, and stderr prefixed with `! `).
    transcript: Arc<Mutex<String>>,
}

impl Running {
    pub fn start(mut command: Command) -> Self {
        let mut child = command
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
        }
    }

    pub fn transcript(&self) -> String {
        self.transcript.lock().expect("transcript").clone()
    }

    /// The next line of standard output that starts with `prefix`.
    pub fn line_starting(&self, prefix: &str, timeout: Duration) -> String {
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
    pub fn printed_eventually(&self, text: &str) {
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

    /// The lines of cycle `number`: its header, the backend's line, and the next line.
    pub fn backend_cycle(&self, number: u32) -> (String, String, String) {
        let header = self.line_starting(&format!("[{number}] "), CYCLE);
        let backend = self.line_starting("    backend: ", CYCLE);
        let next = self.line_starting("    ", CYCLE);
        (header, backend, next)
    }

    /// SIGTERM (as Ctrl-C does) and the exit status.
    pub fn stop(&mut self) -> std::process::ExitStatus {
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

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The `status` of `GET url`'s JSON answer.
pub fn status_at(url: &str) -> String {
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

/// The images a test's builds made, removed when it ends; `repository:latest` is put back
/// where it was (every release build moves it).
pub struct TestImages {
    /// Every image the test ran.
    pub images: BTreeSet<String>,
    /// Where the `latest` tags pointed before the test.
    latest: LatestTags,
}

impl TestImages {
    /// Notes where `todo-backend:latest` and `todo-frontend:latest` point now.
    pub fn new() -> Self {
        Self {
            images: BTreeSet::new(),
            latest: LatestTags::note(),
        }
    }

    /// The `latest` tags that name one of the test's images (a watch build must not).
    pub fn latest_naming_ours(&self) -> Vec<String> {
        self.latest.naming(&latest_tags::ids_of(&self.images))
    }
}

impl Drop for TestImages {
    fn drop(&mut self) {
        self.latest.restore(&latest_tags::ids_of(&self.images));
        for image in &self.images {
            if !image.is_empty() && !image.ends_with(":latest") {
                let _ = Command::new("docker").args(["rmi", image]).output();
            }
        }
    }
}

/// `docker <args>`'s standard output, trimmed.
pub fn docker(args: &[&str]) -> String {
    let output = Command::new("docker")
        .args(args)
        .output()
        .expect("docker runs");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// The id of the image `reference` names; empty when there is none.
pub fn image_id(reference: &str) -> String {
    docker(&["image", "inspect", "-f", "{{.Id}}", reference])
}

/// Appends `line` to `file` (a `.env`).
pub fn append(file: &Path, line: &str) {
    let mut text = std::fs::read_to_string(file).expect(".env reads");
    text.push_str(line);
    std::fs::write(file, text).expect(".env writes");
}

/// Each compose installed here, as `DEPLOYKIT_COMPOSE` names it: `docker compose` (v2)
/// and `docker-compose` (v1 on Debian 12), one of each version. The compose suites run
/// once with each, so that both keep working.
pub fn installed_composes() -> Vec<&'static str> {
    let mut versions = Vec::new();
    let mut found = Vec::new();
    for program in ["docker compose", "docker-compose"] {
        let mut words = program.split(' ');
        let Some(first) = words.next() else { continue };
        let output = Command::new(first)
            .args(words)
            .args(["version", "--short"])
            .output();
        let Ok(output) = output else { continue };
        let version = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        if output.status.success() && !versions.contains(&version) {
            versions.push(version);
            found.push(program);
        }
    }
    found
}
