//! The restart in place that `compose-up --watch` uses (`SIGHUP`, src/reexec.rs), on the
//! real binary run from a copy in a temporary folder (as the container runs `/todo-backend`,
//! which the watch loop overwrites): the process re-executes the file at its path, keeps
//! its process id and its listening socket, finishes the request in flight, refuses no
//! connection, and finds the SQLite data written before the signal; a missing or broken
//! file leaves the running version serving.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::standin::{Reply, StandIn, text};
use reqwest::StatusCode;
use serde_json::{Value, json};

const BINARY: &str = env!("CARGO_BIN_EXE_todo-backend");
/// Generous: the machine may be busy compiling.
const START: Duration = Duration::from_secs(60);

/// The backend started from a copy of its binary in a temporary folder, with SQLite there.
struct Copied {
    folder: tempfile::TempDir,
    binary: PathBuf,
    child: Child,
    base: String,
}

impl Copied {
    fn start(vars: &[(&str, &str)]) -> Self {
        let folder = tempfile::tempdir().unwrap();
        let binary = folder.path().join("todo-backend");
        std::fs::copy(BINARY, &binary).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let database = format!("sqlite://{}/todo.db?mode=rwc", folder.path().display());
        let log = std::fs::File::create(folder.path().join("log")).unwrap();
        let mut command = Command::new(&binary);
        command
            .env_clear()
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("DATABASE_URL", &database)
            .env("BETTER_AUTH_SECRET", common::SECRET)
            .env("LOG_LEVEL", "info")
            .envs(vars.iter().copied())
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

/// A client that opens a new connection for every request (a kept-alive one would stay
/// with the old process).
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

async fn signup_and_create(base: &str, title: &str) -> String {
    let http = fresh_connections();
    let session: Value = http
        .post(format!("{base}/api/auth/signup"))
        .json(&json!({"email": "ann@example.com", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = session["token"].as_str().unwrap().to_string();
    let created = http
        .post(format!("{base}/api/tasks"))
        .bearer_auth(&token)
        .json(&json!({"title": title}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    token
}

async fn titles(base: &str, token: &str) -> Vec<String> {
    let list: Value = fresh_connections()
        .get(format!("{base}/api/tasks"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    list["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|task| task["title"].as_str().unwrap().to_string())
        .collect()
}

/// Asks `/healthz` on a new connection again and again until `stop`; every failure.
fn hammer(base: String, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<(usize, Vec<String>)> {
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
}

#[tokio::test(flavor = "multi_thread")]
async fn sighup_reexecutes_in_place_finishing_the_request_in_flight_and_refusing_no_connection() {
    let standin = StandIn::start(vec![Reply::After(
        Duration::from_millis(1500),
        Box::new(text("Slow but done.")),
    )])
    .await;
    let mut server = Copied::start(&[
        ("OPENAI_API_KEY", "sk-test"),
        ("OPENAI_BASE_URL", &standin.base_url),
    ]);
    let pid = server.child.id();
    let before = server.wait_for_instance(None).await;
    let token = signup_and_create(&server.base, "written before the signal").await;

    let in_flight = {
        let (base, token) = (server.base.clone(), token.clone());
        tokio::spawn(async move {
            fresh_connections()
                .post(format!("{base}/api/chat"))
                .bearer_auth(token)
                .json(&json!({"message": "anything"}))
                .send()
                .await
        })
    };
    let started = Instant::now();
    while standin.received().is_empty() {
        assert!(started.elapsed() < START, "the chat request never arrived");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let hammering = hammer(server.base.clone(), Arc::clone(&stop));
    server.signal("-HUP");
    let after = server.wait_for_instance(Some(&before)).await;
    // Some more requests to the new process before the count.
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    let (answered, failures) = hammering.await.unwrap();

    let response = in_flight.await.unwrap().unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["reply"], "Slow but done.");
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
    assert_eq!(
        titles(&server.base, &token).await,
        vec!["written before the signal".to_string()],
        "SQLite data written before the signal is there after it"
    );
    let log = server.stop();
    assert!(log.contains("re-executing"), "{log}");
    assert_eq!(log.matches("todo-backend listening").count(), 2, "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sighup_with_a_missing_or_broken_binary_keeps_the_running_version_serving() {
    let mut server = Copied::start(&[]);
    let before = server.wait_for_instance(None).await;
    let token = signup_and_create(&server.base, "still here").await;
    let binary = server.binary.clone();
    let broken: [(&str, &BreakBinary); 3] = [
        ("missing", &|path| std::fs::remove_file(path).unwrap()),
        ("text", &|path| {
            std::fs::write(path, "not a program\n").unwrap();
            set_mode(path, 0o755);
        }),
        ("not executable", &|path| {
            std::fs::copy(BINARY, path).unwrap();
            set_mode(path, 0o644);
        }),
    ];
    for (what, make) in broken {
        make(&binary);
        server.signal("-HUP");
        // The signal is handled at once; give it time on a busy machine.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(
            instance(&fresh_connections(), &server.base)
                .await
                .as_deref(),
            Some(before.as_str()),
            "a {what} binary: the same process answers"
        );
        assert_eq!(
            titles(&server.base, &token).await,
            vec!["still here".to_string()]
        );
    }
    // Fixed: the next signal re-executes.
    set_mode(&binary, 0o755);
    server.signal("-HUP");
    let after = server.wait_for_instance(Some(&before)).await;
    assert_ne!(before, after);
    let log = server.stop();
    for problem in [
        "No such file",
        "not an ELF executable",
        "not executable (mode 644)",
    ] {
        assert!(
            log.contains("SIGHUP ignored: cannot re-execute") && log.contains(problem),
            "the log names the problem `{problem}`: {log}"
        );
    }
}

/// Makes the binary at a path unusable in one way.
type BreakBinary = dyn Fn(&Path);

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
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
