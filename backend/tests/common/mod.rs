//! Test harness: the app served in-process on 127.0.0.1:0 over SQLite or a real PostgreSQL
//! that the harness starts in a temporary folder.

#![allow(dead_code, missing_docs)]

pub mod phrasings;
pub mod standin;

use std::collections::HashMap;
use std::io::Write;
use std::net::TcpListener as StdListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::Connection;
use todo_backend::Config;
use todo_backend::config::PasswordCost;

pub const SECRET: &str = "test-secret-0123456789abcdef0123456789";

/// Which database a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// A database for one test: a fresh SQLite file or a fresh PostgreSQL database.
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// A database that exists already (e.g. shared by several servers).
    pub fn existing(url: &str) -> Self {
        Self {
            url: url.to_string(),
            _dir: None,
        }
    }

    /// `None` when PostgreSQL is not installed here (skipped, or a failure under CI).
    pub async fn new(db: Db) -> Option<Self> {
        match db {
            Db::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                Some(Self {
                    url: format!("sqlite://{}/todo.db", dir.path().display()),
                    _dir: Some(dir),
                })
            }
            Db::Postgres => {
                let server = postgres()?;
                let name = server.create_database().await;
                Some(Self {
                    url: server.url(&name),
                    _dir: None,
                })
            }
        }
    }
}

/// The app served on 127.0.0.1:<free port>.
pub struct TestServer {
    pub base: String,
    pub http: reqwest::Client,
    pub db: TestDb,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<Result<(), todo_backend::ServeError>>>,
}

/// Configuration as the environment would give it, with cheap password hashes.
/// The suites make many accounts and failed sign-ins from 127.0.0.1: the per-address limits
/// are raised unless a test sets them (tests of the limits do).
pub fn config(vars: &[(&str, &str)]) -> Config {
    let defaults = [
        ("SIGNUP_LIMIT_PER_ADDRESS", "100000"),
        ("SIGNIN_FREE_FAILURES_PER_ADDRESS", "100000"),
    ];
    let map: HashMap<String, String> = defaults
        .iter()
        .chain(vars)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut config = Config::from_vars(|name| map.get(name).cloned()).unwrap();
    config.password_cost = PasswordCost::Minimal;
    config.shutdown_grace = Duration::from_secs(10);
    config
}

impl TestServer {
    /// Starts the app on `db` (None when the database is unavailable here).
    pub async fn start(db: Db) -> Option<Self> {
        Self::start_with(db, &[]).await
    }

    /// Starts the app with extra environment variables.
    pub async fn start_with(db: Db, vars: &[(&str, &str)]) -> Option<Self> {
        let db = TestDb::new(db).await?;
        let mut all = vec![
            ("DATABASE_URL", db.url.as_str()),
            ("BETTER_AUTH_SECRET", SECRET),
        ];
        all.extend_from_slice(vars);
        let config = config(&all);
        Some(Self::start_config(config, db).await)
    }

    pub async fn start_config(config: Config, db: TestDb) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let handle = tokio::spawn(todo_backend::serve(config, listener, async move {
            let _ = rx.await;
        }));
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let server = Self {
            base,
            http,
            db,
            shutdown: Some(tx),
            handle: Some(handle),
        };
        // serve() migrates before accepting: wait until it answers.
        let started = Instant::now();
        loop {
            if let Ok(response) = server.http.get(server.url("/healthz")).send().await
                && response.status() == StatusCode::OK
            {
                break;
            }
            if server.handle.as_ref().unwrap().is_finished() {
                panic!("the server stopped during start-up");
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the server did not start"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        server
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends a request; returns the status and the JSON body (Null when empty or not JSON).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.http.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Signs up a user; returns the token.
    pub async fn signup(&self, email: &str) -> String {
        let (status, body) = self
            .call(
                Method::POST,
                "/api/auth/signup",
                None,
                Some(json!({"email": email, "password": "correct horse battery"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["token"].as_str().unwrap().to_string()
    }

    /// Creates a task from a JSON body; returns it.
    pub async fn create(&self, token: &str, body: Value) -> Value {
        let (status, task) = self
            .call(Method::POST, "/api/tasks", Some(token), Some(body))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{task}");
        task
    }

    /// Stops the server (graceful shutdown) and waits for it.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(handle) = self.handle.take() {
            handle.await.unwrap().unwrap();
        }
    }

    /// Triggers the shutdown without waiting.
    pub fn begin_shutdown(
        &mut self,
    ) -> tokio::task::JoinHandle<Result<(), todo_backend::ServeError>> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.handle.take().unwrap()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A PostgreSQL server on 127.0.0.1 in a temporary folder, run as the `postgres` user when
/// the tests run as root. It stops when dropped, or when the test process exits (its
/// supervising shell sees standard input close).
pub struct PgServer {
    pub port: u16,
    dir: PathBuf,
    supervisor: Child,
    counter: AtomicUsize,
}

static SHARED_PG: OnceLock<Result<PgServer, String>> = OnceLock::new();

/// The PostgreSQL server shared by this test binary (None: skipped, see testkit).
pub fn postgres() -> Option<&'static PgServer> {
    let server = SHARED_PG.get_or_init(PgServer::start);
    let check = server.as_ref().map(|_| ()).map_err(Clone::clone);
    if deploykit_testkit::require("PostgreSQL", check) {
        server.as_ref().ok()
    } else {
        None
    }
}

fn pg_bin_dir() -> Result<PathBuf, String> {
    if let Ok(output) = Command::new("pg_config").arg("--bindir").output()
        && output.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
        if dir.join("initdb").is_file() {
            return Ok(dir);
        }
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|_| "no /usr/lib/postgresql: install the postgresql package".to_string())?
        .filter_map(Result::ok)
        .map(|entry| entry.path().join("bin"))
        .filter(|bin| bin.join("initdb").is_file())
        .collect();
    found.sort();
    found
        .pop()
        .ok_or_else(|| "initdb not found: install the postgresql package".to_string())
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl PgServer {
    /// initdb + postgres in a fresh temporary folder on a free loopback port.
    pub fn start() -> Result<Self, String> {
        let bin = pg_bin_dir()?;
        let root = running_as_root();
        let dir = tempfile::Builder::new()
            .prefix("todo-backend-pg-")
            .tempdir()
            .map_err(|error| format!("cannot create a temporary folder: {error}"))?
            .keep();
        if root {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir)
                .status()
                .map_err(|error| format!("chown failed: {error}"))?;
            if !status.success() {
                let _ = std::fs::remove_dir_all(&dir);
                return Err("cannot chown the data folder to the postgres user".into());
            }
        }
        let as_postgres = |program: &Path| {
            if root {
                let mut command = Command::new("runuser");
                command.args(["-u", "postgres", "--"]).arg(program);
                command
            } else {
                Command::new(program)
            }
        };
        let data = dir.join("data");
        let output = as_postgres(&bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"])
            .output()
            .map_err(|error| format!("cannot run initdb: {error}"))?;
        if !output.status.success() {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(format!(
                "initdb failed: {}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        let port = free_port();
        // The shell starts postgres, waits for its standard input to close (this process
        // ending, or drop), then stops postgres and removes the folder.
        let script = format!(
            "'{postgres}' -D '{data}' -h 127.0.0.1 -p {port} -k '{dir}' -c fsync=off \
             -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 \
             >'{dir}/log' 2>&1 & pid=$!; read _ignored; kill -INT $pid; wait $pid; rm -rf '{dir}'",
            postgres = bin.join("postgres").display(),
            data = data.display(),
            dir = dir.display(),
        );
        let supervisor = as_postgres(Path::new("/bin/sh"))
            .args(["-c", &script])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|error| format!("cannot start postgres: {error}"))?;
        let server = Self {
            port,
            dir,
            supervisor,
            counter: AtomicUsize::new(0),
        };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if started.elapsed() > Duration::from_secs(30) {
                let log = std::fs::read_to_string(server.dir.join("log")).unwrap_or_default();
                return Err(format!("postgres did not start within 30 s: {log}"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(server)
    }

    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Creates an empty database; returns its name.
    pub async fn create_database(&self) -> String {
        let name = format!(
            "t{}_{}",
            std::process::id(),
            self.counter.fetch_add(1, Ordering::SeqCst)
        );
        let started = Instant::now();
        loop {
            match sqlx::PgConnection::connect(&self.url("postgres")).await {
                Ok(mut connection) => {
                    sqlx::query(&format!("CREATE DATABASE {name}"))
                        .execute(&mut connection)
                        .await
                        .unwrap();
                    connection.close().await.unwrap();
                    return name;
                }
                // Starting up: "the database system is starting up".
                Err(error) => {
                    assert!(
                        started.elapsed() < Duration::from_secs(30),
                        "postgres does not accept connections: {error}"
                    );
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }

    /// Runs one SQL statement in the `postgres` database.
    pub async fn execute(&self, sql: &str) {
        let mut connection = sqlx::PgConnection::connect(&self.url("postgres"))
            .await
            .unwrap();
        sqlx::query(sql).execute(&mut connection).await.unwrap();
        connection.close().await.unwrap();
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        if let Some(mut stdin) = self.supervisor.stdin.take() {
            let _ = stdin.write_all(b"\n");
        }
        let _ = self.supervisor.wait();
    }
}
