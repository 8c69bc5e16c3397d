//! The backend under faults and abuse: a full disk, sustained writes, many concurrent
//! sign-ins, slow and silent sockets, long chat messages. Figures from these runs are in
//! docs/reliability.md ("Backend").

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{SECRET, TestDb, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A tmpfs mounted on a temporary folder (root only), unmounted when dropped.
struct TinyDisk {
    dir: tempfile::TempDir,
}

impl TinyDisk {
    /// Mounts a tmpfs of `size` (as `mount -o size=` reads it), or says why it cannot.
    fn mount(size: &str) -> Result<Self, String> {
        let dir = tempfile::Builder::new()
            .prefix("todo-backend-tiny-disk-")
            .tempdir()
            .map_err(|error| format!("cannot create a temporary folder: {error}"))?;
        let output = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0755"),
                "tmpfs",
            ])
            .arg(dir.path())
            .output()
            .map_err(|error| format!("cannot run mount: {error}"))?;
        if !output.status.success() {
            return Err(format!(
                "mounting a tmpfs needs root: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        Ok(Self { dir })
    }

    /// Mounts a tmpfs of `size`; `None` (the test skips, or fails under CI) when this
    /// machine cannot.
    fn required(size: &str) -> Option<Self> {
        let disk = Self::mount(size);
        let mounted = deploykit_testkit::require(
            "a tmpfs mount (run the tests as root)",
            disk.as_ref().map(drop).map_err(Clone::clone),
        );
        if mounted { disk.ok() } else { None }
    }

    /// The SQLite URL of a database file on this disk.
    fn database_url(&self) -> String {
        format!("sqlite://{}/todo.db", self.path().display())
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Changes the size of the mounted tmpfs (space coming back).
    fn resize(&self, size: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(self.path())
            .status()
            .unwrap();
        assert!(status.success(), "cannot resize the tmpfs");
    }
}

impl Drop for TinyDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.path()).status();
    }
}

/// Log lines the app writes while this test binary runs (error level and up).
fn captured_errors() -> Arc<Mutex<Vec<u8>>> {
    static LOG: std::sync::OnceLock<Arc<Mutex<Vec<u8>>>> = std::sync::OnceLock::new();
    LOG.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = buffer.clone();
        let _ = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::ERROR)
            .with_ansi(false)
            .with_writer(move || Capture(writer.clone()))
            .try_init();
        buffer
    })
    .clone()
}

struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What one writer was told was stored: its account and its tasks as last confirmed.
#[derive(Debug, Default)]
struct Confirmed {
    /// email -> (user id, token) of every sign-up answered 201.
    users: BTreeMap<String, (i64, String)>,
    /// task id -> its JSON as last answered 2xx (None: deleted with a 2xx).
    tasks: BTreeMap<i64, Option<Value>>,
    /// Tasks whose last write failed: their state is either; not checked.
    uncertain: BTreeSet<i64>,
    /// Every status seen.
    statuses: BTreeMap<u16, usize>,
}

async fn storage_write(
    server: &TestServer,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
    confirmed: &mut Confirmed,
) -> (StatusCode, Value) {
    let (status, answer) = server.call(method.clone(), path, token, body).await;
    *confirmed.statuses.entry(status.as_u16()).or_default() += 1;
    assert!(
        status.is_success()
            || status == StatusCode::INSUFFICIENT_STORAGE
            || status == StatusCode::SERVICE_UNAVAILABLE,
        "{method} {path}: {status} {answer}"
    );
    if !status.is_success() {
        assert!(
            answer["detail"]
                .as_str()
                .is_some_and(|detail| detail.contains("nothing was saved")),
            "{method} {path}: {status} {answer}"
        );
    }
    (status, answer)
}

/// One writer: signs up, then creates, patches and deletes its own tasks until `rounds` end.
async fn hammer(server: &TestServer, writer: usize, rounds: usize) -> Confirmed {
    let mut confirmed = Confirmed::default();
    let filler = "x".repeat(1900);
    let mut token: Option<String> = None;
    let mut live: Vec<i64> = Vec::new();
    for round in 0..rounds {
        let Some(current) = token.clone() else {
            let email = format!("writer{writer}-{round}@example.com");
            let (status, session) = storage_write(
                server,
                Method::POST,
                "/api/auth/signup",
                None,
                Some(json!({"email": email, "password": "correct horse battery"})),
                &mut confirmed,
            )
            .await;
            if status == StatusCode::CREATED {
                let token_text = session["token"].as_str().unwrap().to_string();
                let id = session["user"]["id"].as_i64().unwrap();
                confirmed.users.insert(email, (id, token_text.clone()));
                token = Some(token_text);
            }
            continue;
        };
        let token = current.as_str();
        match round % 6 {
            0..=2 => {
                let body = json!({"title": format!("w{writer} r{round}"), "description": filler});
                let (status, task) = storage_write(
                    server,
                    Method::POST,
                    "/api/tasks",
                    Some(token),
                    Some(body),
                    &mut confirmed,
                )
                .await;
                if status == StatusCode::CREATED {
                    let id = task["id"].as_i64().unwrap();
                    confirmed.tasks.insert(id, Some(task));
                    live.push(id);
                }
            }
            3 | 4 => {
                let Some(&id) = live.get(round % live.len().max(1)) else {
                    continue;
                };
                let body = json!({"title": format!("w{writer} patched r{round}")});
                let (status, task) = storage_write(
                    server,
                    Method::PATCH,
                    &format!("/api/tasks/{id}"),
                    Some(token),
                    Some(body),
                    &mut confirmed,
                )
                .await;
                if status == StatusCode::OK {
                    confirmed.tasks.insert(id, Some(task));
                } else {
                    confirmed.uncertain.insert(id);
                    live.retain(|&other| other != id);
                }
            }
            _ => {
                let Some(id) = live.pop() else { continue };
                let (status, _) = storage_write(
                    server,
                    Method::DELETE,
                    &format!("/api/tasks/{id}"),
                    Some(token),
                    None,
                    &mut confirmed,
                )
                .await;
                if status == StatusCode::OK {
                    confirmed.tasks.insert(id, None);
                } else {
                    confirmed.uncertain.insert(id);
                }
            }
        }
    }
    confirmed
}

fn sqlite_config(url: &str) -> todo_backend::Config {
    common::config(&[
        ("DATABASE_URL", url),
        ("BETTER_AUTH_SECRET", SECRET),
        ("SIGNUP_LIMIT_PER_ADDRESS", "100000"),
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_loses_no_confirmed_write_and_hands_out_no_id_twice() {
    let Some(disk) = TinyDisk::required("1m") else {
        return;
    };
    let errors = captured_errors();
    let url = disk.database_url();
    let server = TestServer::start_config(sqlite_config(&url), TestDb::existing(&url)).await;
    let server = Arc::new(server);
    let writers: Vec<_> = (0..6)
        .map(|writer| {
            let server = server.clone();
            tokio::spawn(async move { hammer(&server, writer, 400).await })
        })
        .collect();
    let mut all = Vec::new();
    for writer in writers {
        all.push(writer.await.unwrap());
    }
    let server = Arc::into_inner(server).unwrap();
    server.stop().await;

    let refused: usize = all
        .iter()
        .map(|confirmed| confirmed.statuses.get(&507).copied().unwrap_or(0))
        .sum();
    let stored: usize = all
        .iter()
        .map(|confirmed| {
            confirmed
                .statuses
                .iter()
                .filter(|(status, _)| **status < 300)
                .map(|(_, n)| n)
                .sum::<usize>()
        })
        .sum();
    assert!(
        refused > 0,
        "the disk never filled up: {:?}",
        all.iter().map(|c| &c.statuses).collect::<Vec<_>>()
    );
    assert!(stored > 0, "nothing was stored before the disk filled up");
    let log = String::from_utf8_lossy(&errors.lock().unwrap()).to_string();
    assert!(
        log.contains("disk is full"),
        "the refusals were not logged: {log}"
    );

    // Space comes back; the server restarts on the same file.
    disk.resize("16m");
    let server = TestServer::start_config(sqlite_config(&url), TestDb::existing(&url)).await;
    let mut handed_out_users = BTreeSet::new();
    let mut handed_out_tasks = BTreeSet::new();
    for confirmed in &all {
        for (email, (id, token)) in &confirmed.users {
            assert!(
                handed_out_users.insert(*id),
                "user id {id} was handed out twice"
            );
            let (status, me) = server
                .call(Method::GET, "/api/auth/me", Some(token), None)
                .await;
            assert_eq!(status, StatusCode::OK, "{email}: {me}");
            assert_eq!(
                (me["id"].as_i64(), me["email"].as_str()),
                (Some(*id), Some(email.as_str()))
            );
        }
        let token = confirmed
            .users
            .values()
            .next()
            .map(|(_, token)| token.as_str());
        for (id, expected) in &confirmed.tasks {
            assert!(
                handed_out_tasks.insert(*id),
                "task id {id} was handed out twice"
            );
            if confirmed.uncertain.contains(id) {
                continue;
            }
            let (status, task) = server
                .call(Method::GET, &format!("/api/tasks/{id}"), token, None)
                .await;
            match expected {
                Some(expected) => {
                    assert_eq!(status, StatusCode::OK, "confirmed task {id} is gone");
                    assert_eq!(&task, expected, "task {id} is not as confirmed");
                }
                None => assert_eq!(status, StatusCode::NOT_FOUND, "deleted task {id} is back"),
            }
        }
    }
    // New accounts and tasks get ids never handed out before.
    let token = server.signup("after-the-storm@example.com").await;
    let (_, me) = server
        .call(Method::GET, "/api/auth/me", Some(&token), None)
        .await;
    let user = me["id"].as_i64().unwrap();
    assert!(
        !handed_out_users.contains(&user),
        "user id {user} handed out again"
    );
    let task = server.create(&token, json!({"title": "fresh"})).await;
    let task = task["id"].as_i64().unwrap();
    assert!(
        !handed_out_tasks.contains(&task),
        "task id {task} handed out again"
    );
    server.stop().await;
}

/// The task titles of the user's list, as `GET /api/tasks` answers it.
async fn listed_titles(server: &TestServer, token: &str) -> Vec<String> {
    let (status, list) = server
        .call(Method::GET, "/api/tasks?limit=200", Some(token), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|task| task["title"].as_str().unwrap().to_string())
        .collect()
}

/// The same list from 16 requests at once (so from every SQLite connection): a connection
/// left inside a transaction would answer an older list.
async fn every_connection_lists(server: &Arc<TestServer>, token: &str) -> Vec<String> {
    let lists: Vec<_> = (0..16)
        .map(|_| {
            let (server, token) = (server.clone(), token.to_string());
            tokio::spawn(async move { listed_titles(&server, &token).await })
        })
        .collect();
    let mut seen = Vec::new();
    for list in lists {
        seen.push(list.await.unwrap());
    }
    assert!(
        seen.windows(2).all(|pair| pair[0] == pair[1]),
        "the connections answer different lists: {seen:?}"
    );
    seen.remove(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undos_on_a_full_disk_change_nothing_and_leave_the_connections_usable() {
    let Some(disk) = TinyDisk::required("1m") else {
        return;
    };
    let url = disk.database_url();
    let server =
        Arc::new(TestServer::start_config(sqlite_config(&url), TestDb::existing(&url)).await);
    let token = server.signup("ann@example.com").await;
    let filler = "x".repeat(1900);
    let mut full = false;
    for n in 0..2000 {
        let body = json!({"title": format!("t{n}"), "description": filler});
        let (status, answer) = server
            .call(Method::POST, "/api/tasks", Some(&token), Some(body))
            .await;
        if status == StatusCode::INSUFFICIENT_STORAGE {
            full = true;
            break;
        }
        assert_eq!(status, StatusCode::CREATED, "{answer}");
    }
    assert!(full, "the disk never filled up");
    let before = listed_titles(&server, &token).await;

    // Undos at once, so that they run on several connections, each in a transaction
    // that the full disk ends with an error (or, if a page is free, that succeeds).
    let undos: Vec<_> = (0..12)
        .map(|_| {
            let (server, token) = (server.clone(), token.clone());
            tokio::spawn(async move {
                server
                    .call(Method::POST, "/api/undo", Some(&token), Some(json!({})))
                    .await
            })
        })
        .collect();
    let mut undone = Vec::new();
    for undo in undos {
        let (status, answer) = undo.await.unwrap();
        match status {
            StatusCode::OK => {
                undone.push(answer["tasks"][0]["title"].as_str().unwrap().to_string())
            }
            StatusCode::INSUFFICIENT_STORAGE | StatusCode::SERVICE_UNAVAILABLE => assert!(
                answer["detail"]
                    .as_str()
                    .unwrap()
                    .contains("nothing was saved"),
                "{answer}"
            ),
            other => panic!("an undo on a full disk answered {other}: {answer}"),
        }
    }
    let expected: Vec<String> = before
        .iter()
        .filter(|title| !undone.contains(title))
        .cloned()
        .collect();
    assert_eq!(
        every_connection_lists(&server, &token).await,
        expected,
        "only the undos answered 200 took their task back"
    );

    // Space comes back: the same server undoes and writes again, on every connection.
    disk.resize("16m");
    let (status, answer) = server
        .call(Method::POST, "/api/undo", Some(&token), Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let back = answer["tasks"][0]["title"].as_str().unwrap().to_string();
    let created = server.create(&token, json!({"title": "after"})).await;
    assert_eq!(created["title"], "after");
    let mut expected: Vec<String> = expected.into_iter().filter(|t| *t != back).collect();
    expected.insert(0, "after".to_string());
    assert_eq!(every_connection_lists(&server, &token).await, expected);
    Arc::into_inner(server).unwrap().stop().await;
}

#[tokio::test]
async fn a_token_whose_user_does_not_exist_is_refused() {
    let Some(server) = TestServer::start(common::Db::Sqlite).await else {
        return;
    };
    let keys = todo_backend::auth::Keys::new(
        &todo_backend::config::Secret::new(SECRET),
        Duration::from_secs(60),
        todo_backend::config::PasswordCost::Minimal,
    );
    let token = keys.issue(4242).unwrap().token;
    for (method, path, body) in [
        (Method::GET, "/api/tasks", None),
        (Method::POST, "/api/tasks", Some(json!({"title": "orphan"}))),
        (Method::GET, "/api/auth/me", None),
        (
            Method::POST,
            "/api/chat",
            Some(json!({"message": "what is open?"})),
        ),
    ] {
        let (status, answer) = server.call(method.clone(), path, Some(&token), body).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{method} {path}: {answer}"
        );
        assert_eq!(answer["error"], "unauthorized");
    }
    server.stop().await;
}

/// Signs up `writers` users and has each create `per_writer` tasks while others list.
async fn sustained_writes(server: &TestServer, writers: usize, per_writer: usize) {
    let mut tokens = Vec::new();
    for writer in 0..writers {
        tokens.push(server.signup(&format!("steady{writer}@example.com")).await);
    }
    let mut load = tokio::task::JoinSet::new();
    for token in tokens {
        let http = server.http.clone();
        let base = server.base.clone();
        load.spawn(async move {
            for n in 0..per_writer {
                let created = http
                    .post(format!("{base}/api/tasks"))
                    .bearer_auth(&token)
                    .json(&json!({"title": format!("steady task {n}"), "tags": ["load"]}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(created.status(), StatusCode::CREATED);
                if n % 4 == 0 {
                    let listed = http
                        .get(format!("{base}/api/tasks"))
                        .bearer_auth(&token)
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(listed.status(), StatusCode::OK);
                }
            }
        });
    }
    while let Some(done) = load.join_next().await {
        done.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wal_stays_bounded_under_sustained_writes() {
    let Some(server) = TestServer::start(common::Db::Sqlite).await else {
        return;
    };
    let path = server.db.url.strip_prefix("sqlite://").unwrap().to_string();
    let wal = PathBuf::from(format!("{path}-wal"));
    let largest = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let watcher = {
        let (wal, largest) = (wal.clone(), largest.clone());
        tokio::spawn(async move {
            loop {
                let size = std::fs::metadata(&wal).map_or(0, |meta| meta.len());
                largest.fetch_max(size, std::sync::atomic::Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let writes = 6 * 1000;
    sustained_writes(&server, 6, writes / 6).await;
    watcher.abort();
    let largest = largest.load(std::sync::atomic::Ordering::Relaxed);
    let last = std::fs::metadata(&wal).map_or(0, |meta| meta.len());
    eprintln!(
        "WAL after {writes} writes: {last} bytes, largest seen {largest} bytes (database {} bytes)",
        std::fs::metadata(&path).unwrap().len()
    );
    // Unchecked, it grew by about 19 KiB a write (over 100 MiB here).
    let bound = 3 * todo_backend::store::WAL_TRUNCATE_ABOVE;
    assert!(
        largest <= bound,
        "the WAL reached {largest} bytes (bound {bound})"
    );
    server.stop().await;
}

/// A message the first parser took cubic time on: every connector is consumed one pass
/// after the one behind it.
fn worst_case_message() -> String {
    let mut message = String::from("add water the plants");
    while message.len() + 3 <= todo_backend::chat::intent::MAX_MESSAGE_CHARS {
        message.push_str(" on");
    }
    message
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_checks_answer_while_long_chat_messages_parse() {
    let Some(server) = TestServer::start(common::Db::Sqlite).await else {
        return;
    };
    let token = server.signup("chatty@example.com").await;
    let message = worst_case_message();
    let mut chats = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let request = server
            .http
            .post(server.url("/api/chat"))
            .bearer_auth(&token)
            .json(&json!({ "message": message }));
        chats.spawn(async move { request.send().await.unwrap() });
    }
    // The liveness probe's own timeout: 2 s.
    let probe = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    while !chats.is_empty() {
        let health = probe.get(server.url("/healthz")).send().await;
        assert!(
            health.is_ok_and(|answer| answer.status() == StatusCode::OK),
            "/healthz did not answer within 2 s while chat messages were parsed"
        );
        while let Some(done) = chats.try_join_next() {
            let answer = done.unwrap();
            assert_eq!(answer.status(), StatusCode::OK);
            let reply: Value = answer.json().await.unwrap();
            assert_eq!(reply["tasks"][0]["title"], "water the plants", "{reply}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.stop().await;
}

const BINARY: &str = env!("CARGO_BIN_EXE_todo-backend");

/// The real binary on a free port with a fresh SQLite file; killed when dropped.
struct Process {
    child: std::process::Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Process {
    fn start(vars: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut command = Command::new(BINARY);
        command
            .env_clear()
            .current_dir(dir.path())
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env(
                "DATABASE_URL",
                format!("sqlite://{}/todo.db", dir.path().display()),
            )
            .env("BETTER_AUTH_SECRET", SECRET)
            .env("LOG_LEVEL", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        for (name, value) in vars {
            command.env(name, value);
        }
        let mut process = Self {
            child: command.spawn().unwrap(),
            port,
            _dir: dir,
        };
        let started = std::time::Instant::now();
        while todo_backend::healthcheck::check(port, Duration::from_secs(2)).is_err() {
            assert!(
                process.child.try_wait().unwrap().is_none(),
                "the server exited during start-up"
            );
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the server did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        process
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The peak resident memory so far (`VmHWM`), in bytes.
    fn peak_rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let line = status
            .lines()
            .find(|line| line.starts_with("VmHWM:"))
            .unwrap();
        let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        kib * 1024
    }

    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits up to `limit` for the process to exit; its status, or None.
    fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let started = std::time::Instant::now();
        while started.elapsed() < limit {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The chart's memory limit for the backend.
const CHART_MEMORY_LIMIT: u64 = 256 * 1024 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_stays_under_the_chart_limit_under_48_concurrent_sign_ins() {
    let process = Process::start(&[
        ("SIGNIN_FREE_FAILURES_PER_ADDRESS", "1000"),
        ("PASSWORD_HASH_CONCURRENCY", "2"),
    ]);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let base = process.base();
    let signup = http
        .post(format!("{base}/api/auth/signup"))
        .json(&json!({"email": "known@example.com", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(signup.status(), StatusCode::CREATED);
    let before = process.peak_rss();
    let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
    for _round in 0..3 {
        let mut sign_ins = tokio::task::JoinSet::new();
        for n in 0..48 {
            // Unknown accounts cost a whole hash too (so timing reveals nothing).
            let email = if n % 2 == 0 {
                format!("nobody{n}@example.com")
            } else {
                "known@example.com".to_string()
            };
            let request = http
                .post(format!("{base}/api/auth/signin"))
                .json(&json!({"email": email, "password": "wrong password"}));
            sign_ins.spawn(async move { request.send().await.unwrap() });
        }
        while let Some(answer) = sign_ins.join_next().await {
            let answer = answer.unwrap();
            if answer.status() == StatusCode::SERVICE_UNAVAILABLE {
                assert!(answer.headers().contains_key("retry-after"));
            }
            *statuses.entry(answer.status().as_u16()).or_default() += 1;
        }
    }
    let peak = process.peak_rss();
    eprintln!(
        "peak RSS {:.1} MiB (before the sign-ins {:.1} MiB); answers {statuses:?}",
        peak as f64 / 1048576.0,
        before as f64 / 1048576.0
    );
    assert!(
        statuses
            .keys()
            .all(|status| [401, 429, 503].contains(status)),
        "{statuses:?}"
    );
    assert!(statuses.get(&401).is_some_and(|n| *n >= 4), "{statuses:?}");
    assert!(
        peak < CHART_MEMORY_LIMIT,
        "peak RSS {peak} bytes is over the chart's 256 MiB"
    );
}

/// Opens a raw connection and sends `prefix`; returns how long until the server closed it.
async fn seconds_until_closed(port: u16, prefix: &[u8], trickle: bool) -> f64 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut socket = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let started = std::time::Instant::now();
    socket.write_all(prefix).await.unwrap();
    let mut buffer = [0u8; 4096];
    let mut received = Vec::new();
    loop {
        let read = if trickle {
            // One header byte every 200 ms, never a whole header.
            match tokio::time::timeout(Duration::from_millis(200), socket.read(&mut buffer)).await {
                Ok(read) => read,
                Err(_) => {
                    if socket.write_all(b"x").await.is_err() {
                        break;
                    }
                    continue;
                }
            }
        } else {
            tokio::time::timeout(Duration::from_secs(120), socket.read(&mut buffer))
                .await
                .expect("the server kept the connection open for 2 minutes")
        };
        match read {
            Ok(0) | Err(_) => break,
            Ok(n) => received.extend_from_slice(&buffer[..n]),
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "still open after 2 minutes"
        );
    }
    let answer = String::from_utf8_lossy(&received);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "unexpected answer: {answer}"
    );
    started.elapsed().as_secs_f64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_trickling_and_stalled_sockets_are_closed() {
    let process = Process::start(&[
        ("CLIENT_HEADER_TIMEOUT_SECS", "2"),
        ("CLIENT_BODY_TIMEOUT_SECS", "2"),
    ]);
    let port = process.port;
    let silent = seconds_until_closed(port, b"", false).await;
    let trickling = seconds_until_closed(port, b"GET /healthz HTTP/1.1\r\nX-Slow: ", true).await;
    let stalled_body = seconds_until_closed(
        port,
        b"POST /api/auth/signin HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
          Content-Length: 100\r\n\r\n{\"email\":",
        false,
    )
    .await;
    let idle = {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut socket = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        socket
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let started = std::time::Instant::now();
        let mut buffer = vec![0u8; 4096];
        let mut answer = Vec::new();
        loop {
            match tokio::time::timeout(Duration::from_secs(120), socket.read(&mut buffer))
                .await
                .expect("an idle kept-alive connection stayed open for 2 minutes")
            {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buffer[..n]),
            }
        }
        assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"));
        started.elapsed().as_secs_f64()
    };
    eprintln!(
        "closed after: silent {silent:.1} s, trickling headers {trickling:.1} s, \
         stalled body {stalled_body:.1} s, idle keep-alive {idle:.1} s (timeouts 2 s)"
    );
    // Still serving.
    assert!(todo_backend::healthcheck::check(port, Duration::from_secs(10)).is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_a_stuck_request_exits_within_the_shutdown_deadline() {
    use tokio::io::AsyncWriteExt;
    let mut process = Process::start(&[
        ("CLIENT_HEADER_TIMEOUT_SECS", "600"),
        ("CLIENT_BODY_TIMEOUT_SECS", "600"),
        ("SHUTDOWN_TIMEOUT_SECS", "2"),
    ]);
    // A request whose body never finishes, and a connection that never sends a whole header.
    let mut stuck_body = tokio::net::TcpStream::connect(("127.0.0.1", process.port))
        .await
        .unwrap();
    stuck_body
        .write_all(
            b"POST /api/auth/signin HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{\"email\":",
        )
        .await
        .unwrap();
    let mut stuck_head = tokio::net::TcpStream::connect(("127.0.0.1", process.port))
        .await
        .unwrap();
    stuck_head
        .write_all(b"GET /healthz HTTP/1.1\r\nX-Sl")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = std::time::Instant::now();
    process.terminate();
    // The timeouts are 10 minutes: only the 2 s shutdown deadline can end this.
    let status = process
        .wait_exit(Duration::from_secs(60))
        .expect("still running 60 s after SIGTERM");
    eprintln!(
        "exited {:.1} s after SIGTERM with two stuck connections (deadline 2 s)",
        started.elapsed().as_secs_f64()
    );
    assert!(status.success(), "{status:?}");
    drop((stuck_body, stuck_head));
}

async fn signin(
    server: &TestServer,
    email: &str,
    password: &str,
    forwarded_for: Option<&str>,
) -> reqwest::Response {
    let mut request = server
        .http
        .post(server.url("/api/auth/signin"))
        .json(&json!({"email": email, "password": password}));
    if let Some(address) = forwarded_for {
        request = request.header("x-forwarded-for", address);
    }
    request.send().await.unwrap()
}

fn retry_after(answer: &reqwest::Response) -> u64 {
    answer
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("no Retry-After in {:?}", answer.headers()))
}

#[tokio::test]
async fn guessing_a_password_backs_off_per_account() {
    let Some(server) = TestServer::start_with(
        common::Db::Sqlite,
        &[("SIGNIN_FREE_FAILURES_PER_ACCOUNT", "5")],
    )
    .await
    else {
        return;
    };
    server.signup("ann@example.com").await;
    // Each wait lets one more guess through, then doubles (1 s, 2 s, 4 s, ...): of 200 quick
    // guesses, only the free five, the one that starts the wait and the odd one after a
    // wait ran out get an answer.
    let mut let_through = 0;
    let mut waits = Vec::new();
    for attempt in 0..200 {
        let answer = signin(
            &server,
            "ann@example.com",
            &format!("guess {attempt}"),
            None,
        )
        .await;
        match answer.status() {
            StatusCode::UNAUTHORIZED => let_through += 1,
            StatusCode::TOO_MANY_REQUESTS => waits.push(retry_after(&answer)),
            other => panic!("attempt {attempt}: {other}"),
        }
    }
    assert!(
        (6..=12).contains(&let_through),
        "{let_through} guesses were answered"
    );
    assert!(
        waits.iter().all(|wait| (1..=900).contains(wait)),
        "{waits:?}"
    );
    // Even the right password waits while the account is held back.
    loop {
        let answer = signin(&server, "ann@example.com", "another guess", None).await;
        if answer.status() == StatusCode::TOO_MANY_REQUESTS {
            break;
        }
    }
    let right = signin(&server, "ann@example.com", "correct horse battery", None).await;
    assert_eq!(right.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(retry_after(&right) >= 1);
    // Other accounts are not held back.
    server.signup("bob@example.com").await;
    let bob = signin(&server, "bob@example.com", "correct horse battery", None).await;
    assert_eq!(bob.status(), StatusCode::OK);
    server.stop().await;
}

#[tokio::test]
async fn failures_from_one_address_back_off_and_signups_are_limited_per_address() {
    let Some(server) = TestServer::start_with(
        common::Db::Sqlite,
        &[
            ("SIGNIN_FREE_FAILURES_PER_ADDRESS", "10"),
            ("SIGNUP_LIMIT_PER_ADDRESS", "3"),
            ("TRUSTED_PROXIES", "127.0.0.1"),
        ],
    )
    .await
    else {
        return;
    };
    // Different accounts, one address: the address is held back after 10 failures.
    let mut statuses = Vec::new();
    for n in 0..14 {
        let answer = signin(
            &server,
            &format!("user{n}@example.com"),
            "whatever",
            Some("203.0.113.7"),
        )
        .await;
        statuses.push(answer.status().as_u16());
    }
    assert_eq!(statuses[..10], [401; 10], "{statuses:?}");
    assert!(statuses[10..].contains(&429), "{statuses:?}");
    // Another client behind the same proxy is not.
    let other = signin(
        &server,
        "user0@example.com",
        "whatever",
        Some("198.51.100.1"),
    )
    .await;
    assert_eq!(other.status(), StatusCode::UNAUTHORIZED);

    // Three sign-ups an hour per address.
    let signup = |n: usize, address: &'static str| {
        server
            .http
            .post(server.url("/api/auth/signup"))
            .header("x-forwarded-for", address)
            .json(&json!({"email": format!("new{n}@example.com"), "password": "correct horse battery"}))
            .send()
    };
    for n in 0..3 {
        assert_eq!(
            signup(n, "203.0.113.9").await.unwrap().status(),
            StatusCode::CREATED
        );
    }
    let refused = signup(3, "203.0.113.9").await.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(retry_after(&refused) > 60);
    assert_eq!(
        signup(4, "198.51.100.2").await.unwrap().status(),
        StatusCode::CREATED
    );
    server.stop().await;
}

async fn signup_from(server: &TestServer, email: &str, forwarded_for: Option<&str>) -> u16 {
    let mut request = server
        .http
        .post(server.url("/api/auth/signup"))
        .json(&json!({"email": email, "password": "correct horse battery"}));
    if let Some(address) = forwarded_for {
        request = request.header("x-forwarded-for", address);
    }
    request.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn x_forwarded_for_counts_only_from_trusted_proxies() {
    // 127.0.0.1 is not trusted: a made-up X-Forwarded-For does not buy more sign-ups.
    let Some(server) = TestServer::start_with(
        common::Db::Sqlite,
        &[
            ("SIGNUP_LIMIT_PER_ADDRESS", "2"),
            ("TRUSTED_PROXIES", "none"),
        ],
    )
    .await
    else {
        return;
    };
    let mut statuses = Vec::new();
    for n in 0..3 {
        let address = format!("192.0.2.{n}");
        statuses.push(signup_from(&server, &format!("spoof{n}@example.com"), Some(&address)).await);
    }
    assert_eq!(statuses, [201, 201, 429]);
    server.stop().await;

    // By default loopback and private networks are proxies (the frontend, an ingress):
    // what they forward counts, and what they send without naming a client counts against
    // no address (not against every user behind the proxy as one).
    let Some(server) =
        TestServer::start_with(common::Db::Sqlite, &[("SIGNUP_LIMIT_PER_ADDRESS", "2")]).await
    else {
        return;
    };
    let mut statuses = Vec::new();
    for n in 0..3 {
        statuses.push(signup_from(&server, &format!("direct{n}@example.com"), None).await);
    }
    for n in 0..3 {
        let forwarded = "198.51.100.4, 10.1.2.3";
        statuses
            .push(signup_from(&server, &format!("behind{n}@example.com"), Some(forwarded)).await);
    }
    assert_eq!(statuses, [201, 201, 201, 201, 201, 429]);
    server.stop().await;
}
