//! The restart in place that `compose-up --watch` uses (`SIGHUP`, src/reexec.rs), on the
//! real binary run from a copy in a temporary folder (as the container runs
//! `/todo-frontend`): the process re-executes the file at its path, keeps its process id
//! and its listening socket and refuses no connection; a missing or broken file leaves the
//! running version serving. (The backend's tests/reexec.rs also covers a request in flight
//! and the data kept.)

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use reqwest::StatusCode;

const BINARY: &str = env!("CARGO_BIN_EXE_todo-frontend");
/// Generous: the machine may be busy compiling.
const START: Duration = Duration::from_secs(60);

/// The frontend started from a copy of its binary in a temporary folder.
struct Copied {
    folder: tempfile::TempDir,
    binary: PathBuf,
    child: Child,
    base: String,
}

impl Copied {
    fn start() -> Self {
        let folder = tempfile::tempdir().unwrap();
        let binary = folder.path().join("todo-frontend");
        std::fs::copy(BINARY, &binary).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = std::fs::File::create(folder.path().join("log")).unwrap();
        let mut command = Command::new(&binary);
        command
            .env_clear()
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("BACKEND_URL", "http://127.0.0.1:9")
            .env("LOG_LEVEL", "info")
            .current_dir(folder.path())
            // A file, not a pipe nobody reads until the end: a full pipe would block the
            // server's log writes, and so its answers.
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log));
        let child = spawn(&mut command);
        Self {
            folder,
            binary,
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    /// The instance id `/healthz` names, once it differs from `old`.
    async fn wait_for_instance(&mut self, old: Option<&str>) -> String {
        let http = fresh_connections();
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("the server exited with {status}");
            }
            if let Some(id) = instance(&http, &self.base).await
                && Some(id.as_str()) != old
            {
                return id;
            }
            assert!(
                started.elapsed() < START,
                "no new instance within {START:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([name, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// SIGTERM, then the process's log.
    fn stop(mut self) -> String {
        self.signal("-TERM");
        let status = self.child.wait().unwrap();
        assert!(status.success(), "exit: {status:?}");
        std::fs::read_to_string(self.folder.path().join("log")).unwrap()
    }
}

impl Drop for Copied {
    /// A failed test must not leave its server running.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client that opens a new connection for every request.
fn fresh_connections() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

async fn instance(http: &reqwest::Client, base: &str) -> Option<String> {
    let response = http.get(format!("{base}/healthz")).send().await.ok()?;
    (response.status() == StatusCode::OK).then_some(())?;
    let id = response.headers().get("x-instance-id")?;
    Some(id.to_str().ok()?.to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn sighup_reexecutes_in_place_refusing_no_connection() {
    let mut server = Copied::start();
    let pid = server.child.id();
    let before = server.wait_for_instance(None).await;
    let stop = Arc::new(AtomicBool::new(false));
    let hammering = {
        let (base, stop) = (server.base.clone(), Arc::clone(&stop));
        tokio::spawn(async move {
            let http = fresh_connections();
            let (mut answered, mut failures) = (0, Vec::new());
            while !stop.load(Ordering::Relaxed) {
                match http.get(format!("{base}/healthz")).send().await {
                    Ok(response) if response.status() == StatusCode::OK => answered += 1,
                    Ok(response) => failures.push(format!("status {}", response.status())),
                    Err(error) => failures.push(format!("{error:?}")),
                }
            }
            (answered, failures)
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    server.signal("-HUP");
    let after = server.wait_for_instance(Some(&before)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    let (answered, failures) = hammering.await.unwrap();
    assert!(
        failures.is_empty(),
        "refused or failed during the swap: {failures:?}"
    );
    assert!(answered > 0, "the hammer got no answer");
    assert_ne!(before, after);
    assert_eq!(
        server.child.try_wait().unwrap(),
        None,
        "the process (pid {pid}) is still the server"
    );
    let log = server.stop();
    assert!(log.contains("re-executing"), "{log}");
    assert_eq!(log.matches("todo-frontend listening").count(), 2, "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sighup_with_a_broken_binary_keeps_the_running_version_serving() {
    let mut server = Copied::start();
    let before = server.wait_for_instance(None).await;
    // As Docker's archive upload does: a new file in place of the running one.
    let next = server.binary.with_extension("next");
    std::fs::write(&next, "not a program\n").unwrap();
    let executable = std::os::unix::fs::PermissionsExt::from_mode(0o755);
    std::fs::set_permissions(&next, executable).unwrap();
    std::fs::rename(&next, &server.binary).unwrap();
    server.signal("-HUP");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        instance(&fresh_connections(), &server.base)
            .await
            .as_deref(),
        Some(before.as_str()),
        "the same process answers"
    );
    std::fs::remove_file(&server.binary).unwrap();
    server.signal("-HUP");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        instance(&fresh_connections(), &server.base)
            .await
            .as_deref(),
        Some(before.as_str()),
        "the same process answers"
    );
    std::fs::copy(BINARY, &server.binary).unwrap();
    server.signal("-HUP");
    assert_ne!(server.wait_for_instance(Some(&before)).await, before);
    let log = server.stop();
    for problem in ["not an ELF executable", "No such file"] {
        assert!(
            log.contains("SIGHUP ignored: cannot re-execute") && log.contains(problem),
            "the log names the problem `{problem}`: {log}"
        );
    }
}

/// Starts `command`, again if another test thread's fork still held the just-copied
/// binary open for writing (`Text file busy`, until that child's own exec).
fn spawn(command: &mut Command) -> Child {
    let started = Instant::now();
    loop {
        match command.spawn() {
            Ok(child) => return child,
            Err(error)
                if error.kind() == std::io::ErrorKind::ExecutableFileBusy
                    && started.elapsed() < START =>
            {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(error) => panic!("cannot start the copied binary: {error}"),
        }
    }
}
