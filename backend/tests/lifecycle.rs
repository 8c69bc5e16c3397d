//! What a deployment relies on: graceful shutdown, replicas migrating one database at once,
//! the binary's configuration errors, logs without secrets, the healthcheck subcommand, and
//! SQLite paths as the container uses them.

mod common;

use std::io::Read;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::standin::{Reply, StandIn, text};
use common::{Db, TestDb, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const BINARY: &str = env!("CARGO_BIN_EXE_todo-backend");

#[tokio::test]
async fn shutdown_finishes_the_request_in_flight_and_refuses_new_ones() {
    let standin = StandIn::start(vec![Reply::After(
        Duration::from_millis(1500),
        Box::new(text("Slow but done.")),
    )])
    .await;
    let mut server = TestServer::start_with(
        Db::Sqlite,
        &[
            ("OPENAI_API_KEY", "sk-test"),
            ("OPENAI_BASE_URL", &standin.base_url),
        ],
    )
    .await
    .unwrap();
    let token = server.signup("ann@example.com").await;
    let in_flight = {
        let request = server
            .http
            .post(server.url("/api/chat"))
            .bearer_auth(&token)
            .json(&json!({"message": "anything"}));
        tokio::spawn(async move { request.send().await })
    };
    let started = Instant::now();
    while standin.received().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the request never arrived"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let base = server.base.clone();
    let stopped = server.begin_shutdown();

    // New connections are refused while the old request finishes.
    let fresh = reqwest::Client::new();
    let started = Instant::now();
    while fresh.get(format!("{base}/healthz")).send().await.is_ok() {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "still accepting connections"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let response = in_flight.await.unwrap().unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["reply"], "Slow but done.");
    stopped.await.unwrap().unwrap();
}

#[tokio::test]
async fn shutdown_stops_waiting_after_the_grace_period() {
    let standin = StandIn::start(vec![Reply::After(
        Duration::from_secs(120),
        Box::new(text("never")),
    )])
    .await;
    let db = TestDb::new(Db::Sqlite).await.unwrap();
    let mut config = common::config(&[
        ("DATABASE_URL", &db.url),
        ("BETTER_AUTH_SECRET", common::SECRET),
        ("OPENAI_API_KEY", "sk-test"),
        ("OPENAI_BASE_URL", &standin.base_url),
    ]);
    config.shutdown_grace = Duration::from_millis(500);
    let mut server = TestServer::start_config(config, db).await;
    let token = server.signup("ann@example.com").await;
    let request = server
        .http
        .post(server.url("/api/chat"))
        .bearer_auth(&token)
        .json(&json!({"message": "anything"}));
    let _in_flight = tokio::spawn(async move { request.send().await });
    while standin.received().is_empty() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let started = Instant::now();
    server.begin_shutdown().await.unwrap().unwrap();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(10), "stopped after {took:?}");
}

#[tokio::test]
async fn replicas_migrate_one_empty_postgres_database_at_once() {
    let Some(pg) = common::postgres() else {
        return;
    };
    let url = pg.url(&pg.create_database().await);
    let start = || async {
        let config = common::config(&[
            ("DATABASE_URL", &url),
            ("BETTER_AUTH_SECRET", common::SECRET),
        ]);
        TestServer::start_config(config, TestDb::existing(&url)).await
    };
    let (a, b, c, d) = tokio::join!(start(), start(), start(), start());
    // One schema, shared: a user made through one replica signs in through another.
    let token = a.signup("ann@example.com").await;
    b.create(&token, json!({"title": "made on b"})).await;
    let (status, list) = c.call(Method::GET, "/api/tasks", Some(&token), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["tasks"][0]["title"], "made on b");
    let (status, _) = d
        .call(
            Method::POST,
            "/api/auth/signin",
            None,
            Some(json!({"email": "ann@example.com", "password": "correct horse battery"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    for server in [a, b, c, d] {
        server.stop().await;
    }
    // A restart finds the migrations applied.
    start().await.stop().await;
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs the binary with exactly these environment variables (plus PATH).
fn binary(vars: &[(&str, &str)], dir: &Path) -> Command {
    let mut command = Command::new(BINARY);
    command.env_clear().current_dir(dir);
    if let Ok(path) = std::env::var("PATH") {
        command.env("PATH", path);
    }
    for (name, value) in vars {
        command.env(name, value);
    }
    command
}

fn healthcheck(port: u16) -> bool {
    let status = binary(&[("PORT", &port.to_string())], Path::new("/"))
        .arg("healthcheck")
        .stderr(Stdio::null())
        .status()
        .unwrap();
    status.success()
}

fn wait_healthy(child: &mut Child, port: u16) {
    let started = Instant::now();
    while !healthcheck(port) {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut stderr)
                .unwrap();
            panic!("the server exited with {status}: {stderr}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "not healthy in time"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn terminate(child: Child) -> Output {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn a_sqlite_database_of_the_first_schema_keeps_its_tasks_and_ids() {
    use sqlx::Connection;
    // The database as the first release left it: migration 0001 applied, tasks in it, the
    // newest one deleted.
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first-migrations");
    std::fs::create_dir(&first).unwrap();
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/migrations/sqlite/0001_init.sql"
        ),
        first.join("0001_init.sql"),
    )
    .unwrap();
    let url = format!("sqlite://{}/todo.db", dir.path().display());
    let mut connection = sqlx::SqliteConnection::connect(&format!("{url}?mode=rwc"))
        .await
        .unwrap();
    sqlx::migrate::Migrator::new(first.as_path())
        .await
        .unwrap()
        .run(&mut connection)
        .await
        .unwrap();
    for sql in [
        "INSERT INTO users (email, password_hash, created_at) \
         VALUES ('old@example.com', 'x', '2025-01-01T00:00:00.000Z')",
        "INSERT INTO tasks (user_id, title, description, completed, priority, due_date, tags, \
         created_at, updated_at) VALUES \
         (1, 'say \"hi\" ✓', 'two\nlines', 1, 'high', '2030-01-02', '[\"a\",\"b\"]', \
          '2025-01-01T00:00:00.000Z', '2025-01-02T00:00:00.000Z'), \
         (1, 'plain', '', 0, 'low', NULL, '[]', \
          '2025-01-03T00:00:00.000Z', '2025-01-03T00:00:00.000Z'), \
         (1, 'deleted', '', 0, 'medium', NULL, '[]', \
          '2025-01-04T00:00:00.000Z', '2025-01-04T00:00:00.000Z')",
        "DELETE FROM tasks WHERE id = 3",
    ] {
        sqlx::query(sql).execute(&mut connection).await.unwrap();
    }
    connection.close().await.unwrap();

    let config = common::config(&[
        ("DATABASE_URL", &url),
        ("BETTER_AUTH_SECRET", common::SECRET),
    ]);
    let server = TestServer::start_config(config, TestDb::existing(&url)).await;
    let keys = todo_backend::auth::Keys::new(
        &todo_backend::config::Secret::new(common::SECRET),
        Duration::from_secs(60),
        todo_backend::config::PasswordCost::Minimal,
    );
    let token = keys.issue(1).unwrap().token;
    let (status, list) = server
        .call(Method::GET, "/api/tasks", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(
        list,
        json!({
            "tasks": [
                {"id": 2, "number": 2, "title": "plain", "description": "", "completed": false,
                 "priority": "low", "due_date": null, "tags": [],
                 "created_at": "2025-01-03T00:00:00.000Z", "updated_at": "2025-01-03T00:00:00.000Z"},
                {"id": 1, "number": 1, "title": "say \"hi\" ✓", "description": "two\nlines", "completed": true,
                 "priority": "high", "due_date": "2030-01-02", "tags": ["a", "b"],
                 "created_at": "2025-01-01T00:00:00.000Z", "updated_at": "2025-01-02T00:00:00.000Z"}
            ],
            "total": 2,
            "counts": {"all": 2, "open": 1, "done": 1}
        })
    );
    // The deleted task's id is not handed out again; changes show in the list at once.
    let task = server.create(&token, json!({"title": "new"})).await;
    assert_eq!(task["id"], 4);
    let (status, _) = server
        .call(Method::POST, "/api/tasks/2/toggle", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, list) = server
        .call(Method::GET, "/api/tasks", Some(&token), None)
        .await;
    let ids: Vec<&Value> = list["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|task| &task["id"])
        .collect();
    assert_eq!(ids, [4, 2, 1]);
    assert_eq!(list["tasks"][1]["completed"], true);
    assert_eq!(list["tasks"][0], task);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_connections_take_turns_and_survive_cancelled_queries() {
    use todo_backend::model::{NewTask, Priority, TaskQuery};
    let dir = tempfile::tempdir().unwrap();
    let database = todo_backend::config::Database::parse(&format!(
        "sqlite://{}/todo.db",
        dir.path().display()
    ))
    .unwrap();
    let store = todo_backend::store::Store::open(&database).await.unwrap();
    let user = store
        .create_user("turns@example.com", None, "x")
        .await
        .unwrap();
    let task = NewTask {
        title: "one".into(),
        description: String::new(),
        completed: false,
        priority: Priority::Medium,
        due_date: None,
        tags: vec![],
    };
    store.create_task(user.id, &task).await.unwrap();
    // Queries abandoned half-way (their requests cancelled) give their connections back in
    // a usable state.
    for _ in 0..20 {
        let store = store.clone();
        let query = tokio::spawn(async move {
            loop {
                store
                    .list_tasks_json(user.id, &TaskQuery::default(), 50, 0)
                    .await
                    .unwrap();
            }
        });
        tokio::time::sleep(Duration::from_millis(1)).await;
        query.abort();
    }
    // Many more queries at once than there are connections: they queue and all succeed.
    let queries = (0..100).map(|n| {
        let store = store.clone();
        let task = task.clone();
        tokio::spawn(async move {
            if n % 4 == 0 {
                store.create_task(user.id, &task).await.map(drop)
            } else {
                store
                    .list_tasks_json(user.id, &TaskQuery::default(), 50, 0)
                    .await
                    .map(drop)
            }
        })
    });
    for query in await_all(queries).await {
        query.unwrap().unwrap();
    }
    let (_, total, _) = store
        .list_tasks_json(user.id, &TaskQuery::default(), 50, 0)
        .await
        .unwrap();
    assert_eq!(total, 26);
    store.close().await;
    assert!(
        store
            .list_tasks_json(user.id, &TaskQuery::default(), 50, 0)
            .await
            .is_err(),
        "a closed store answers no queries"
    );
}

/// Awaits every handle, in order.
async fn await_all<T>(
    handles: impl Iterator<Item = tokio::task::JoinHandle<T>>,
) -> Vec<Result<T, tokio::task::JoinError>> {
    let handles: Vec<_> = handles.collect();
    let mut results = Vec::with_capacity(handles.len());
    for handle in handles {
        results.push(handle.await);
    }
    results
}

#[tokio::test]
async fn production_binary_logs_json_without_secrets_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let secret = "production-signing-key-9f8e7d6c5b4a";
    // The container's layout: an absolute sqlite: URL in a writable folder.
    let url = format!("sqlite://{}/data/todo.db?mode=rwc", dir.path().display());
    std::fs::create_dir(dir.path().join("data")).unwrap();
    let mut child = binary(
        &[
            ("PORT", &port.to_string()),
            ("ENVIRONMENT", "production"),
            ("BETTER_AUTH_SECRET", secret),
            ("DATABASE_URL", &url),
            ("LOG_LEVEL", "info"),
        ],
        dir.path(),
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    wait_healthy(&mut child, port);

    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let password = "my-very-private-password";
    let session: Value = http
        .post(format!("{base}/api/auth/signup"))
        .json(&json!({"email": "ann@example.com", "password": password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = session["token"].as_str().unwrap().to_string();
    let response = http
        .get(format!("{base}/api/tasks?q=secret-search"))
        .bearer_auth(&token)
        .header("x-request-id", "req-42")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let output = terminate(child);
    assert!(
        output.status.success(),
        "exit after SIGTERM: {:?}",
        output.status
    );
    assert!(!healthcheck(port), "healthcheck fails once stopped");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    let requests: Vec<&Value> = lines.iter().filter(|l| l["message"] == "request").collect();
    assert!(requests.len() >= 2, "{stdout}");
    let list = requests
        .iter()
        .find(|l| l["request_id"] == "req-42")
        .unwrap_or_else(|| panic!("{stdout}"));
    assert_eq!(list["method"], "GET");
    assert_eq!(list["path"], "/api/tasks");
    assert_eq!(list["status"], 200);
    assert!(list["latency_ms"].as_f64().is_some());
    assert!(lines.iter().any(|l| {
        l["message"] == "todo-backend listening"
            && l["database"]
                .as_str()
                .unwrap()
                .ends_with("/data/todo.db?mode=rwc")
    }));
    assert!(lines.iter().any(|l| l["message"] == "stopped"));
    for leak in [secret, password, token.as_str(), "secret-search"] {
        assert!(!stdout.contains(leak), "the log contains `{leak}`");
    }
    assert!(dir.path().join("data/todo.db").is_file());
}

#[tokio::test]
async fn the_password_in_a_postgres_url_is_redacted() {
    let Some(pg) = common::postgres() else {
        return;
    };
    let name = pg.create_database().await;
    // Trust authentication accepts any password: the point is that it is never printed.
    let url = format!(
        "postgres://postgres:hunter2-db-pw@127.0.0.1:{}/{name}?sslmode=disable",
        pg.port
    );
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let mut child = binary(
        &[
            ("PORT", &port.to_string()),
            ("DATABASE_URL", &url),
            ("LOG_LEVEL", "debug"),
        ],
        dir.path(),
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    wait_healthy(&mut child, port);
    let output = terminate(child);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(&format!(
            "postgres://postgres:***@127.0.0.1:{}/{name}",
            pg.port
        )),
        "{stdout}"
    );
    assert!(!stdout.contains("hunter2-db-pw"));
    assert!(
        stdout.contains("BETTER_AUTH_SECRET is not set"),
        "development warns: {stdout}"
    );
}

#[test]
fn without_database_url_the_sqlite_file_goes_to_data_todo_db() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = binary(&[("PORT", &port.to_string())], dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_healthy(&mut child, port);
    let output = terminate(child);
    assert!(output.status.success());
    assert!(dir.path().join("data/todo.db").is_file());
}

#[test]
fn configuration_errors_are_one_line_each() {
    let dir = tempfile::tempdir().unwrap();
    let output = binary(
        &[
            ("ENVIRONMENT", "production"),
            ("PORT", "eighty"),
            ("CORS_ORIGINS", "localhost:3000"),
            ("DATABASE_URL", "mysql://root:pw-in-url@db/todo"),
        ],
        dir.path(),
    )
    .output()
    .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 4, "{stderr}");
    for (line, names) in
        lines
            .iter()
            .zip(["PORT", "CORS_ORIGINS", "DATABASE_URL", "BETTER_AUTH_SECRET"])
    {
        assert!(
            line.starts_with("configuration error: ") && line.contains(names),
            "{line}"
        );
    }
    assert!(!stderr.contains("pw-in-url"));
}

#[test]
fn an_unusable_sqlite_folder_is_named_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let output = binary(
        &[
            ("DATABASE_URL", "sqlite:///dev/null/data/todo.db"),
            ("PORT", &free_port().to_string()),
        ],
        dir.path(),
    )
    .output()
    .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("cannot use the SQLite database /dev/null/data/todo.db")
            && text.contains("cannot create folder /dev/null/data")
            && text.contains("writable"),
        "{text}"
    );

    // As the image runs it: uid 10001 and a /data it may not write.
    let root = Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
    if !root || !deploykit_testkit::on_path("setpriv") {
        eprintln!("skipped the uid 10001 part: needs root and setpriv");
        return;
    }
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let mut permissions = std::fs::metadata(dir.path()).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(dir.path(), permissions).unwrap();
    let url = format!("sqlite://{}/todo.db", data.display());
    let output = Command::new("setpriv")
        .args([
            "--reuid",
            "10001",
            "--regid",
            "10001",
            "--clear-groups",
            BINARY,
        ])
        .env_clear()
        .env("DATABASE_URL", &url)
        .env("PORT", free_port().to_string())
        .current_dir("/")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains(&format!("folder {} is not writable", data.display()))
            && text.contains("make its folder writable by the user the server runs as"),
        "{text}"
    );
}

/// A database as the release before task numbers left it: the migrations before
/// `first_new` applied, two users' tasks interleaved, one deleted.
async fn database_before_task_numbers(db: Db) -> Option<TestDb> {
    use sqlx::Connection;
    let (folder, first_new) = match db {
        Db::Sqlite => ("sqlite", "0004"),
        Db::Postgres => ("postgres", "0003"),
    };
    let database = TestDb::new(db).await?;
    let dir = tempfile::tempdir().unwrap();
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(folder);
    for entry in std::fs::read_dir(&source).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        if name.as_str() < first_new {
            std::fs::copy(entry.path(), dir.path().join(&name)).unwrap();
        }
    }
    sqlx::any::install_default_drivers();
    let mut connection = match db {
        Db::Sqlite => sqlx::AnyConnection::connect(&format!("{}?mode=rwc", database.url)).await,
        Db::Postgres => sqlx::AnyConnection::connect(&database.url).await,
    }
    .unwrap();
    sqlx::migrate::Migrator::new(dir.path())
        .await
        .unwrap()
        .run(&mut connection)
        .await
        .unwrap();
    let task = |user: i64, title: &str| {
        format!(
            "INSERT INTO tasks (user_id, title, description, completed, priority, tags, \
             created_at, updated_at) VALUES ({user}, '{title}', '', 0, 'medium', '[]', \
             '2025-01-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z')"
        )
    };
    let mut statements = vec![
        "INSERT INTO users (email, password_hash, created_at) VALUES \
         ('ann@example.com', 'x', '2025-01-01T00:00:00.000Z'), \
         ('bob@example.com', 'x', '2025-01-01T00:00:00.000Z')"
            .to_string(),
    ];
    for (user, title) in [
        (1, "ann one"),
        (2, "bob one"),
        (1, "ann two"),
        (1, "ann three"),
        (2, "bob two"),
    ] {
        statements.push(task(user, title));
    }
    statements.push("DELETE FROM tasks WHERE title = 'ann two'".to_string());
    for sql in statements {
        sqlx::query(&sql).execute(&mut connection).await.unwrap();
    }
    connection.close().await.unwrap();
    Some(database)
}

#[rstest::rstest]
#[case::sqlite(Db::Sqlite)]
#[case::postgres(Db::Postgres)]
#[tokio::test]
async fn existing_tasks_are_numbered_per_user_by_the_migration(#[case] db: Db) {
    let Some(database) = database_before_task_numbers(db).await else {
        return;
    };
    let url = database.url.clone();
    let config = common::config(&[
        ("DATABASE_URL", &url),
        ("BETTER_AUTH_SECRET", common::SECRET),
    ]);
    let server = TestServer::start_config(config, database).await;
    let keys = todo_backend::auth::Keys::new(
        &todo_backend::config::Secret::new(common::SECRET),
        Duration::from_secs(60),
        todo_backend::config::PasswordCost::Minimal,
    );
    let numbers = |list: &Value| -> Vec<(String, i64)> {
        list["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|task| {
                (
                    task["title"].as_str().unwrap().to_string(),
                    task["number"].as_i64().unwrap(),
                )
            })
            .collect()
    };
    let ann = keys.issue(1).unwrap().token;
    let bob = keys.issue(2).unwrap().token;
    let (status, list) = server
        .call(Method::GET, "/api/tasks", Some(&ann), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    // Numbered in the order they were created, per user; the deleted task had no number.
    assert_eq!(
        numbers(&list),
        [("ann three".to_string(), 2), ("ann one".to_string(), 1)]
    );
    let (_, list) = server
        .call(Method::GET, "/api/tasks", Some(&bob), None)
        .await;
    assert_eq!(
        numbers(&list),
        [("bob two".to_string(), 2), ("bob one".to_string(), 1)]
    );
    // New tasks continue each user's numbering.
    let task = server.create(&ann, json!({"title": "ann four"})).await;
    assert_eq!(task["number"], 3, "{task}");
    let task = server.create(&bob, json!({"title": "bob three"})).await;
    assert_eq!(task["number"], 3, "{task}");
    server.stop().await;
}
