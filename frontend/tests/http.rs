//! Handler and proxy tests over real HTTP: the frontend on 127.0.0.1:0 in front of a
//! stand-in backend that answers, errs, is slow, or is not there at all.

use std::io::Read;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use reqwest::redirect::Policy;
use serde_json::{Value, json};
use todo_frontend::Config;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

const TOKEN: &str = "tok-123.secret";

/// A running server and the means to stop it.
struct Running {
    base: String,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = tokio::time::timeout(Duration::from_secs(10), &mut self.task).await;
    }
}

fn bearer_ok(headers: &HeaderMap) -> bool {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {TOKEN}"))
}

fn unauthorized() -> (StatusCode, Json<Value>) {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"error": "unauthorized", "detail": "missing or invalid token"})),
    )
}

fn task(id: u64, title: &str, completed: bool) -> Value {
    json!({
        "id": id, "title": title, "description": "", "completed": completed,
        "priority": "high", "due_date": "2020-01-02", "tags": ["home"],
        "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"
    })
}

/// The `X-Forwarded-For` a stand-in route received.
fn forwarded_for(headers: &HeaderMap) -> String {
    headers
        .get("x-forwarded-for")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("(none)")
        .to_owned()
}

/// A stand-in for todo-backend with just enough behaviour to exercise the frontend.
fn stand_in(slow: Duration) -> Router {
    Router::new()
        .route(
            "/api/forwarded-for",
            get(|headers: HeaderMap| async move { forwarded_for(&headers) }),
        )
        .route(
            "/api/auth/signin",
            post(|headers: HeaderMap, Json(body): Json<Value>| async move {
                if body["password"] == "check-forwarded-for" {
                    // 401 only when the form's call names the browser's address.
                    let status = if forwarded_for(&headers) == "127.0.0.1" {
                        StatusCode::UNAUTHORIZED
                    } else {
                        StatusCode::UNPROCESSABLE_ENTITY
                    };
                    return (
                        status,
                        Json(json!({"error": "invalid_credentials", "detail": forwarded_for(&headers)})),
                    );
                }
                if body["password"] == "right-password" {
                    (
                        StatusCode::OK,
                        Json(json!({"token": TOKEN, "user": {"id": 1, "email": body["email"]}})),
                    )
                } else {
                    (
                        StatusCode::UNAUTHORIZED,
                        Json(json!({"error": "invalid_credentials", "detail": "invalid email or password"})),
                    )
                }
            }),
        )
        .route(
            "/api/auth/signup",
            post(|Json(body): Json<Value>| async move {
                if body["email"] == "taken@example.com" {
                    (
                        StatusCode::CONFLICT,
                        Json(json!({"error": "email_taken", "detail": "An account with this email already exists."})),
                    )
                } else {
                    (
                        StatusCode::CREATED,
                        Json(json!({"token": TOKEN, "user": {"id": 2, "email": body["email"]}})),
                    )
                }
            }),
        )
        .route(
            "/api/auth/me",
            get(move |headers: HeaderMap| async move {
                tokio::time::sleep(slow).await;
                if bearer_ok(&headers) {
                    (StatusCode::OK, Json(json!({"id": 1, "email": "ada@example.com"})))
                } else {
                    unauthorized()
                }
            }),
        )
        .route(
            "/api/tasks",
            get(|headers: HeaderMap, query: axum::extract::RawQuery| async move {
                if !bearer_ok(&headers) {
                    return unauthorized();
                }
                let query = query.0.unwrap_or_default();
                let counts = json!({"all": 3, "open": 2, "done": 1});
                if query.contains("q=nothing") {
                    return (StatusCode::OK, Json(json!({"tasks": [], "total": 0, "counts": counts})));
                }
                if query.contains("q=twelve") {
                    let tasks: Vec<Value> = (1..=12)
                        .map(|id| task(id, &format!("Twelve: an everyday task number {id}"), id % 3 == 0))
                        .collect();
                    return (StatusCode::OK, Json(json!({"tasks": tasks, "total": 12, "counts": counts})));
                }
                (
                    StatusCode::OK,
                    Json(json!({
                        "tasks": [task(1, "Buy <milk>", false), task(2, "Call Bob", false), task(3, "Done one", true)],
                        "total": 3,
                        "counts": counts
                    })),
                )
            })
            .post(|headers: HeaderMap, Json(body): Json<Value>| async move {
                if !bearer_ok(&headers) {
                    return unauthorized();
                }
                if body["title"].as_str().unwrap_or("").is_empty() {
                    return (
                        StatusCode::UNPROCESSABLE_ENTITY,
                        Json(json!({"error": "validation_failed", "detail": "title must be 1 to 200 characters"})),
                    );
                }
                (StatusCode::CREATED, Json(task(9, body["title"].as_str().unwrap_or(""), false)))
            }),
        )
        .route(
            "/api/echo",
            get(|headers: HeaderMap| async move {
                let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
                Json(json!({"authorization": get("authorization"), "cookie": get("cookie")}))
            }),
        )
        .route(
            "/api/slow",
            get(move || async move {
                tokio::time::sleep(slow).await;
                Json(json!({"slow": true}))
            }),
        )
        .route(
            "/api/boom",
            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "internal failure") }),
        )
        .route(
            "/api/tasks/{id}/toggle",
            post(|headers: HeaderMap| async move {
                if !bearer_ok(&headers) {
                    return unauthorized();
                }
                (StatusCode::OK, Json(task(1, "Toggled", true)))
            }),
        )
        .route(
            "/api/tasks/{id}",
            axum::routing::delete(
                |headers: HeaderMap, axum::extract::Path(id): axum::extract::Path<u64>| async move {
                    if !bearer_ok(&headers) {
                        return unauthorized();
                    }
                    if id == 99 {
                        return (
                            StatusCode::NOT_FOUND,
                            Json(json!({"error": "not_found", "detail": "you have no task 99"})),
                        );
                    }
                    (StatusCode::OK, Json(json!({"deleted": id})))
                },
            ),
        )
        .route(
            "/api/chat",
            post(|headers: HeaderMap, Json(body): Json<Value>| async move {
                if !bearer_ok(&headers) {
                    return unauthorized();
                }
                if body["message"] == "break" {
                    return (
                        StatusCode::SERVICE_UNAVAILABLE,
                        Json(json!({"error": "assistant_unavailable", "detail": "The assistant is unavailable. Try again in a moment."})),
                    );
                }
                let reply = format!("You said: {}", body["message"].as_str().unwrap_or(""));
                (StatusCode::OK, Json(json!({"reply": reply, "tasks": []})))
            }),
        )
        .route(
            "/api/auth/signout",
            post(|headers: HeaderMap| async move {
                if !bearer_ok(&headers) {
                    return unauthorized().into_response();
                }
                SESSIONS_ENDED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                StatusCode::NO_CONTENT.into_response()
            }),
        )
        .route(
            "/api/undo",
            get(|| async { Json(json!({"change": null})) }).post(
                |headers: HeaderMap, Json(body): Json<Value>| async move {
                    if !bearer_ok(&headers) {
                        return unauthorized();
                    }
                    if body["change"] == 7 {
                        (StatusCode::OK, Json(json!({"reply": "Undone: deleted task 2 “Call Bob”.", "tasks": []})))
                    } else {
                        (
                            StatusCode::CONFLICT,
                            Json(json!({"error": "changed_since", "detail": "Nothing was undone: task 2 “Call Bob” has been changed since."})),
                        )
                    }
                },
            ),
        )
        .route("/readyz", get(|| async { Json(json!({"status": "backend-readyz"})) }))
}

/// How many sessions the stand-in backend was asked to end (with the right token).
static SESSIONS_ENDED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

async fn spawn_router(router: Router) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    Running {
        base,
        stop: Some(stop),
        task,
    }
}

async fn spawn_frontend(backend_url: &str, timeout: Duration) -> Running {
    spawn_frontend_with(Config {
        backend_url: backend_url.to_owned(),
        request_timeout: timeout,
        ..test_config()
    })
    .await
}

fn test_config() -> Config {
    Config {
        port: 0,
        connect_timeout: Duration::from_secs(2),
        ..Config::default()
    }
}

async fn spawn_frontend_with(config: Config) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        todo_frontend::serve(config, listener, async move {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    Running {
        base,
        stop: Some(stop),
        task,
    }
}

/// A backend address where nothing listens.
async fn closed_address() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{address}")
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

fn session_cookie() -> String {
    format!("todo_session={TOKEN}")
}

#[tokio::test]
async fn health_and_readiness_follow_the_backend() {
    let backend = spawn_router(stand_in(Duration::ZERO)).await;
    let frontend = spawn_frontend(&backend.base, Duration::from_secs(5)).await;
    let http = client();

    let health = http
        .get(format!("{}/healthz", frontend.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let ready = http
        .get(format!("{}/readyz", frontend.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.json::<Value>().await.unwrap()["status"], "ready");

    backend.stop().await;
    let ready = http
        .get(format!("{}/readyz", frontend.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["error"], "backend_unavailable", "{body}");
    let health = http
        .get(format!("{}/healthz", frontend.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        health.status(),
        200,
        "liveness does not depend on the backend"
    );
    frontend.stop().await;
}

#[tokio::test]
async fn visitors_without_a_session_are_sent_to_sign_in() {
    let backend = spawn_router(stand_in(Duration::ZERO)).await;
    let frontend = spawn_frontend(&backend.base, Duration::from_secs(5)).await;
    let http = client();

    let home = http
        .get(format!("{}/", frontend.base))
        .send()
        .await
        .unwrap();
    assert_eq!(home.status(), StatusCode::SEE_OTHER);
    assert_eq!(home.headers()["location"], "/signin");

    let page = http
        .get(format!("{}/signin", frontend.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let headers = page.headers().clone();
    let html = page.text().await.unwrap();
    assert!(
        html.contains(r#"<label for="email">Email</label>"#),
        "{html}"
    );
    assert!(html.contains(r#"<label for="password">Password</label>"#));
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'self'")
    );

    let signup = http
        .get(format!("{}/signup", frontend.base))
        .send()
        .await
        .unwrap();
    assert!(signup.text().await.unwrap().contains("Create your account"));

    let missing = http
        .get(format!("{}/no/such/page", frontend.base))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert!(missing.text().await.unwrap().contains("Page not found"));
    frontend.stop().await;
    backend.stop().await;
}

#[tokio::test]
async fn sign_in_sets_an_http_only_lax_cookie_and_never_exposes_the_token() {
    let backend = spawn_router(stand_in(Duration::ZERO)).await;
    let frontend = spawn_frontend(&backend.base, Duration::from_secs(5)).await;
    let http = client();

    let form = [("email", "ada@example.com"), ("password", "right-password")];
    let answer = http
        .post(format!("{}/signin", frontend.base))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    assert_eq!(answer.headers()["location"], "/");
    let cookie = answer.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.starts_with(&format!("todo_session={TOKEN}")),
        "{cookie}"
    );
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "plain HTTP gets no Secure flag: {cookie}"
    );

    let over_https = http
        .post(format!("{}/signin", frontend.base))
        .header("x-forwarded-proto", "https")
        .form(&form)
        .send()
        .await
        .unwrap();
    let cookie = over_https.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("Secure"), "{cookie}");

    // Through the JSON proxy the token goes into the cookie, not into the body.
    let answer = http
        .post(format!("{}/api/auth/signin", frontend.base))
        .json(&json!({"email": "ada@example.com", "password": "right-password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert!(
        answer.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("HttpOnly")
    );
    let body = answer.text().await.unwrap();
    assert!(!body.contains(TOKEN), "token leaked to JavaScript: {body}");
    assert!(body.contains("ada@example.com"), "{body}");

    let ended = SESSIONS_ENDED.load(std::sync::atomic::Ordering::SeqCst);
    let signout = http
        .post(format!("{}/signout", frontend.base))
        .header("cookie", session_cookie())
        .send()
        .await
        .unwrap();
    assert_eq!(signout.status(), StatusCode::SEE_OTHER);
    assert_eq!(signout.headers()["location"], "/signed-out");
    // The backend was told to end the session, so the token is refused from now on.
    assert!(
        SESSIONS_ENDED.load(std::sync::atomic::Ordering::SeqCst) > ended,
        "the backend's session was not ended"
    );
    assert!(
        signout.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let signed_out = http
        .get(format!("{}/signed-out", frontend.base))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_out.status(), 200);
    assert_eq!(signed_out.headers()["cache-control"], "no-store");
    let html = signed_out.text().await.unwrap();
    assert!(
        html.contains(r#"<h1 id="auth-heading">You are signed out</h1>"#),
        "{html}"
    );
    assert!(
        html.contains(r#"action="/signin""#),
        "a way back in: {html}"
    );
    frontend.stop().await;
    backend.stop().await;
}

#[tokio::test]
async fn bad_credentials_and_taken_emails_show_the_form_again_with_the_reason() {
    let backend = spawn_router(stand_in(Duration::ZERO)).await;
    let frontend = spawn_frontend(&backend.base, Duration::from_secs(5)).await;
    let http = client();

    let wrong = http
        .post(format!("{}/signin", frontend.base))
        .form(&[("email", "ada@example.com"), ("password", "wrong")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(wrong.headers().get("set-cookie").is_none());
    let html = wrong.text().await.unwrap();
    assert!(html.contains(r#"role="alert""#), "{html}");
    assert!(html.contains("do not match an account"), "{html}");
    assert!(
        html.contains(r#"value="ada@example.com""#),
        "email kept: {html}"
    );

    let taken = http
        .post(format!("{}/signup", frontend.base))
        .form(&[("email", "taken@example.com"), ("password", "long-enough")])
        .send()
        .await
        .unwrap();
    assert_eq!(taken.status(), 409);
    let html = taken.text().await.unwrap();
    assert!(
        html.contains("An account with this email exists already."),
        "{html}"
    );
    assert!(
        html.contains(r#"<a href="/signin">Sign in instead</a>"#),
        "a link, not words: {html}"
    );

    let empty = http
        .post(format!("{}/signup", frontend.base))
        .form(&[("email", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(empty.status(), 422);
    assert!(
        empty
            .text()
            .await
            .unwrap()
            .contains("Enter both your email and your password")
    );
    frontend.stop().await;
    backend.stop().await;
}

#[tokio::test]
async fn task_page_renders_tasks_counts_and_escapes_titles() {
    let backend = spawn_router(stand_in(Duration::ZERO)).await;
    let frontend = spawn_frontend(&backend.base, Duration::from_secs(5)).await;
    let http = client();

    let page = http
        .get(format!("{}/?status=bogus&q=&sort=due", frontend.base))
        .header("cookie", session_cookie())
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["cache-control"], "no-store");
    let html = page.text().await.unwrap();
    assert!(html.contains("ada@example.com"), "signed-in email shown");
    assert!(
        html.contains("Buy &lt;milk&gt;"),
        "titles are escaped: {html}"
    );
    assert!(!html.contains("Buy <milk>"));
    assert!(
        html.contains(r#"All <span class="count">3</span>"#),
        "{html}"
    );
    assert!(html.contains(r#"Open <span class="count">2</span>"#));
    assert!(html.contains(r#"Done <span class="count">1</span>"#));
    assert!(html.contains("High priority"));
    assert!(
        html.contains("Overdue: "),
        "open task due in 2020 is overdue"
    );
    assert!(html.contains(r#"<label for="chat-message">Message the assistant</label>"#));
    assert!(!html.contains(TOKEN), "token never in the page");

    let empty = http
        .get(format!("{}/partials/tasks?q=nothing", frontend.base))
        .header("cookie", session_cookie())
        .send()
        .await
        .unwrap();
    assert_eq!(empty.status(), 200);
    let html = empty.text().await.unwrap();
    assert!(html.contains("No tasks match your search."));
    // The filter counts count what the search matches, not every task.
    for label in ["All", "Open", "Done"] {
        assert!(
            html.contains(&format!(r#"{label} <span class="count">0</span>"#)),
            "{label}: {html}"
        );
    }

    // An expired session sends the browser back to sign-in and clears the cookie.
    let expired = http
        .get(format!("{}/", frontend.base))
        .header("cookie", "todo_session=expired")
        .send()
        .await
        .unwrap();
    assert_eq!(expired.status(), StatusCode::SEE_OTHER);
    assert_eq!(expired.headers()["location"], "/signin?ended");
    assert!(
        expired.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    frontend.stop().await;
    backend.stop().await;
}

#[tokio::test]
async fn proxy_adds_the_bearer_token_and_keeps_cookies_to_itself() {
    let backend = spawn_router(stand_in(Duration::ZERO)).await;
    let frontend = spawn_frontend(&backend.base, Duration::from_secs(5)).await;
    let http = client();

    let echo: Value = http
        .get(format!("{}/api/echo", frontend.base))
        .header("cookie", format!("other=1; {}", session_cookie()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(echo["authorization"], format!("Bearer {TOKEN}"));
    assert_eq!(echo["cookie"], Value::Null, "cookies are not forwarded");

    let created = http
        .post(format!("{}/api/tasks", frontend.base))
        .header("cookie", session_cookie())
        .json(&json!({"title": "Write tests"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    assert_eq!(
        created.json::<Value>().await.unwrap()["title"],
        "Write tests"
    );

    // Backend errors pass through unchanged, status and body.
    let invalid = http
        .post(format!("{}/api/tasks", frontend.base))
        .header("cookie", session_cookie())
        .json(&json!({"title": ""}))
        .send()
        .await
        .unwrap();
    assert_eq!(invalid.status(), 422);
    let body: Value = invalid.json().await.unwrap();
    assert_eq!(body["error"], "validation_failed");

    let anonymous = http
        .get(format!("{}/api/tasks", frontend.base))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);

    let boom = http
        .get(format!("{}/api/boom", frontend.base))
        .header("cookie", session_cookie())
        .send()
        .await
        .unwrap();
    assert_eq!(boom.status(), 500);
    frontend.stop().await;
    backend.stop().await;
}

#[tokio::test]
async fn a_backend_that_is_down_gets_502_pages_and_json() {
    let frontend = spawn_frontend(&closed_address().await, Duration::from_secs(5)).await;
    let http = client();

    let api = http
        .get(format!("{}/api/tasks", frontend.base))
        .header("cookie", session_cookie())
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 502);
    assert_eq!(api.headers()["retry-after"], "2");
    let body: Value = api.json().await.unwrap();
    assert_eq!(body["error"], "backend_unavailable");
    assert!(
        body["detail"].as_str().unwrap().contains("try again"),
        "{body}"
    );

    let page = http
        .get(format!("{}/?status=open", frontend.base))
        .header("cookie", session_cookie())
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 502);
    let html = page.text().await.unwrap();
    assert!(html.contains("The task service is unavailable"), "{html}");
    assert!(
        html.contains(r#"href="/?status=open">Try again</a>"#),
        "{html}"
    );

    let signin = http
        .post(format!("{}/signin", frontend.base))
        .form(&[("email", "ada@example.com"), ("password", "right-password")])
        .send()
        .await
        .unwrap();
    assert_eq!(signin.status(), 502);
    assert!(signin.text().await.unwrap().contains("cannot be reached"));
    frontend.stop().await;
}

#[tokio::test]
async fn a_slow_backend_gets_504_within_the_timeout() {
    let backend = spawn_router(stand_in(Duration::from_secs(5))).await;
    let frontend = spawn_frontend(&backend.base, Duration::from_millis(300)).await;
    let http = client();

    let started = std::time::Instant::now();
    let api = http
        .get(format!("{}/api/slow", frontend.base))
        .header("cookie", session_cookie())
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 504);
    let body: Value = api.json().await.unwrap();
    assert_eq!(body["error"], "backend_timeout");
    assert!(
        body["detail"].as_str().unwrap().contains("0.3 seconds"),
        "{body}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "the request did not hang"
    );

    let page = http
        .get(format!("{}/", frontend.base))
        .header("cookie", session_cookie())
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 504);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("slow to answer") && html.contains("Try again"),
        "{html}"
    );

    let partial = http
        .get(format!("{}/partials/tasks", frontend.base))
        .header("cookie", session_cookie())
        .send()
        .await
        .unwrap();
    assert_eq!(partial.status(), 504);
    frontend.stop().await;
    backend.stop().await;
}

#[tokio::test]
async fn shutdown_lets_a_request_in_flight_finish() {
    let backend = spawn_router(stand_in(Duration::from_millis(700))).await;
    let frontend = spawn_frontend(&backend.base, Duration::from_secs(5)).await;
    let url = format!("{}/api/slow", frontend.base);
    let in_flight = tokio::spawn(async move { client().get(url).send().await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    frontend.stop().await;
    let answer = in_flight.await.unwrap().unwrap();
    assert_eq!(answer.status(), 200);
    backend.stop().await;
}

#[tokio::test]
async fn healthcheck_subcommand_exits_0_when_healthy_and_1_when_not() {
    let backend = spawn_router(stand_in(Duration::ZERO)).await;
    let frontend = spawn_frontend(&backend.base, Duration::from_secs(5)).await;
    let port = frontend.base.rsplit(':').next().unwrap().to_owned();
    let run = |port: String| async move {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_todo-frontend"))
            .arg("healthcheck")
            .env("PORT", port)
            .output()
            .await
            .unwrap()
    };
    let healthy = run(port).await;
    assert_eq!(healthy.status.code(), Some(0), "{healthy:?}");

    let closed = closed_address().await;
    let closed_port = closed.rsplit(':').next().unwrap().to_owned();
    let unhealthy = run(closed_port.clone()).await;
    assert_eq!(unhealthy.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&unhealthy.stderr);
    assert!(
        stderr.contains(&format!("127.0.0.1:{closed_port}")),
        "{stderr}"
    );

    let bad = tokio::process::Command::new(env!("CARGO_BIN_EXE_todo-frontend"))
        .arg("healthcheck")
        .env("PORT", "eighty")
        .output()
        .await
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("PORT=\"eighty\" is not valid"));
    frontend.stop().await;
    backend.stop().await;
}

#[tokio::test]
async fn the_binary_logs_json_without_secrets_and_stops_cleanly_on_sigterm() {
    let kill = if deploykit_testkit::on_path("kill") {
        Ok(())
    } else {
        Err("no `kill` program on PATH to send SIGTERM: apt-get install procps".to_owned())
    };
    if !deploykit_testkit::require("kill (procps)", kill) {
        return;
    }
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap().port()
    };
    let backend = closed_address().await;
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_todo-frontend"))
        .env("PORT", port.to_string())
        .env("BACKEND_URL", &backend)
        .env("ENVIRONMENT", "production")
        .env("LOG_LEVEL", "info")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let http = client();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while http.get(format!("{base}/healthz")).send().await.is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the binary did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let secret = "secret-session-token-4f9a";
    let answer = http
        .get(format!("{base}/api/tasks?q=x"))
        .header("cookie", format!("todo_session={secret}"))
        .header("authorization", format!("Bearer {secret}"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 502);

    let pid = child.id().unwrap().to_string();
    let killed = tokio::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    assert!(killed.success());
    let output = tokio::time::timeout(Duration::from_secs(15), child.wait_with_output())
        .await
        .expect("the binary stops within 15 s of SIGTERM")
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "clean exit on SIGTERM");
    let logs = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!logs.contains(secret), "a token reached the logs:\n{logs}");
    let lines: Vec<Value> = logs
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    let request = lines
        .iter()
        .find(|line| {
            line["fields"]["message"] == "request" && line["fields"]["path"] == "/api/tasks"
        })
        .unwrap_or_else(|| panic!("no request line:\n{logs}"));
    assert_eq!(request["fields"]["status"], 502);
    assert_eq!(request["fields"]["method"], "GET");
    assert!(logs.contains("shutdown signal received"), "{logs}");
}

/// The first line of the server's answer to `request` sent as is over a fresh socket
/// (for paths a URL library would normalise), and the whole answer.
async fn raw_exchange(base: &str, request: &str) -> (String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = base.trim_start_matches("http://");
    let mut socket = tokio::net::TcpStream::connect(address).await.unwrap();
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), socket.read_to_end(&mut answer))
        .await
        .expect("the server answers and closes")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer.lines().next().unwrap_or_default().to_owned();
    (status, answer)
}

#[tokio::test]
async fn the_proxy_refuses_paths_that_would_leave_api() {
    let backend = spawn_router(stand_in(Duration::ZERO)).await;
    let frontend = spawn_frontend(&backend.base, Duration::from_secs(5)).await;
    let escaping = [
        "/api/../readyz",
        "/api/%2e%2e/readyz",
        "/api/%2E%2e/readyz",
        "/api/.%2E/readyz",
        "/api/..\\readyz",
        "/api/%5c..%5creadyz",
        "/api/%5C..%5Creadyz",
        "/api/tasks/..%2f..%2freadyz",
        "/api/%252e%252e/readyz",
        "/api/./../readyz",
    ];
    for path in escaping {
        for method in ["GET", "POST"] {
            let request = format!(
                "{method} {path} HTTP/1.1\r\nHost: app.example\r\nCookie: {}\r\n\
                 Content-Length: 0\r\nConnection: close\r\n\r\n",
                session_cookie()
            );
            let (status, answer) = raw_exchange(&frontend.base, &request).await;
            assert!(status.contains(" 400 "), "{method} {path}: {answer}");
            assert!(
                !answer.contains("backend-readyz"),
                "{method} {path} reached the backend: {answer}"
            );
        }
    }
    // Ordinary paths still pass.
    let (status, answer) = raw_exchange(
        &frontend.base,
        &format!(
            "POST /api/tasks/1/toggle HTTP/1.1\r\nHost: app.example\r\nCookie: {}\r\n\
             Content-Length: 0\r\nConnection: close\r\n\r\n",
            session_cookie()
        ),
    )
    .await;
    assert!(status.contains(" 200 "), "{answer}");
    assert!(answer.contains("Toggled"), "{answer}");
    frontend.stop().await;
    backend.stop().await;
}

#[tokio::test]
async fn cross_site_requests_are_refused_and_same_origin_ones_pass() {
    let backend = spawn_router(stand_in(Duration::ZERO)).await;
    let frontend = spawn_frontend(&backend.base, Duration::from_secs(5)).await;
    let base = frontend.base.clone();
    let http = client();
    let evil = "https://evil.example";
    let credentials = [("email", "ada@example.com"), ("password", "right-password")];

    // A cross-site form toggling or deleting a task with the visitor's cookie.
    let toggle = http
        .post(format!("{base}/api/tasks/1/toggle"))
        .header("cookie", session_cookie())
        .header("origin", evil)
        .send()
        .await
        .unwrap();
    assert_eq!(toggle.status(), 403);
    let body: Value = toggle.json().await.unwrap();
    assert_eq!(body["error"], "cross_site_request", "{body}");
    let delete = http
        .delete(format!("{base}/api/tasks/1"))
        .header("cookie", session_cookie())
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status(), 403);

    // Login CSRF: another site signing the visitor in to the attacker's account.
    for (name, value) in [
        ("origin", evil),
        ("origin", "null"),
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-site", "same-site"),
    ] {
        let signin = http
            .post(format!("{base}/signin"))
            .header(name, value)
            .form(&credentials)
            .send()
            .await
            .unwrap();
        assert_eq!(signin.status(), 403, "{name}: {value}");
        assert!(signin.headers().get("set-cookie").is_none());
        let html = signin.text().await.unwrap();
        assert!(html.contains("Request refused"), "{html}");
        assert!(html.contains("sent by another website"), "{html}");
    }
    // Forced sign-out.
    let signout = http
        .post(format!("{base}/signout"))
        .header("cookie", session_cookie())
        .header("origin", evil)
        .send()
        .await
        .unwrap();
    assert_eq!(signout.status(), 403);
    assert!(signout.headers().get("set-cookie").is_none());
    let api_signout = http
        .post(format!("{base}/api/auth/signout"))
        .header("cookie", session_cookie())
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(api_signout.status(), 403);
    assert!(api_signout.headers().get("set-cookie").is_none());

    // The page's own requests (same origin, as a browser sends them) still work.
    let created = http
        .post(format!("{base}/api/tasks"))
        .header("cookie", session_cookie())
        .header("origin", &base)
        .header("sec-fetch-site", "same-origin")
        .json(&json!({"title": "Mine"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let signin = http
        .post(format!("{base}/signin"))
        .header("origin", &base)
        .form(&credentials)
        .send()
        .await
        .unwrap();
    assert_eq!(signin.status(), StatusCode::SEE_OTHER);
    // Reading is never refused: links from other sites keep working.
    let page = http
        .get(format!("{base}/signin"))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    frontend.stop().await;
    backend.stop().await;
}

#[tokio::test]
async fn form_content_types_cannot_drive_the_api() {
    let backend = spawn_router(stand_in(Duration::ZERO)).await;
    let frontend = spawn_frontend(&backend.base, Duration::from_secs(5)).await;
    let http = client();
    let toggle = format!("{}/api/tasks/1/toggle", frontend.base);
    for content_type in [
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "text/plain",
        "text/plain;charset=UTF-8",
    ] {
        let answer = http
            .post(&toggle)
            .header("cookie", session_cookie())
            .header("content-type", content_type)
            .body("a=b")
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 415, "{content_type}");
        let body: Value = answer.json().await.unwrap();
        assert_eq!(body["error"], "unsupported_media_type", "{body}");
    }
    let untyped = http
        .post(&toggle)
        .header("cookie", session_cookie())
        .body("a=b")
        .send()
        .await
        .unwrap();
    assert_eq!(untyped.status(), 415, "a body must say it is JSON");
    let bare = http
        .post(&toggle)
        .header("cookie", session_cookie())
        .send()
        .await
        .unwrap();
    assert_eq!(
        bare.status(),
        200,
        "no body, no type: the page's own toggle"
    );
    frontend.stop().await;
    backend.stop().await;
}

/// Reads from `socket` until the server closes it (end of file or reset); what was read.
async fn until_closed(socket: &mut tokio::net::TcpStream) -> String {
    use tokio::io::AsyncReadExt;
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(60), async {
        let mut buffer = [0u8; 4096];
        loop {
            match socket.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the server kept the connection open for 60 s");
    String::from_utf8_lossy(&answer).into_owned()
}

fn short_timeouts() -> Config {
    Config {
        client_header_timeout: Duration::from_secs(1),
        client_body_timeout: Duration::from_secs(1),
        ..test_config()
    }
}

#[tokio::test]
async fn silent_trickling_and_idle_clients_are_disconnected() {
    use tokio::io::AsyncWriteExt;
    let frontend = spawn_frontend_with(short_timeouts()).await;
    let address = frontend.base.trim_start_matches("http://").to_owned();
    let connect = || tokio::net::TcpStream::connect(address.clone());

    // Sends nothing at all.
    let mut silent = connect().await.unwrap();
    until_closed(&mut silent).await;

    // Sends a header line every 200 ms and never finishes.
    let mut trickling = connect().await.unwrap();
    trickling
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: app.example\r\n")
        .await
        .unwrap();
    let dripping = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if trickling.write_all(b"X-Slow: 1\r\n").await.is_err() {
                break;
            }
        }
    })
    .await;
    assert!(dripping.is_ok(), "a trickling client was served for 60 s");

    // Sends complete headers and half of the body.
    let mut half_body = connect().await.unwrap();
    half_body
        .write_all(
            b"POST /api/tasks HTTP/1.1\r\nHost: app.example\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{\"title\":",
        )
        .await
        .unwrap();
    let answer = until_closed(&mut half_body).await;
    assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");
    assert!(answer.contains("body_timeout"), "{answer}");

    // Finishes a request, then keeps the connection open doing nothing.
    let mut idle = connect().await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: app.example\r\n\r\n")
        .await
        .unwrap();
    let answer = until_closed(&mut idle).await;
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
    frontend.stop().await;
}

#[tokio::test]
async fn connections_beyond_the_bound_wait_for_a_free_slot() {
    let frontend = spawn_frontend_with(Config {
        max_connections: 2,
        client_header_timeout: Duration::from_secs(120),
        ..test_config()
    })
    .await;
    let address = frontend.base.trim_start_matches("http://").to_owned();
    let first = tokio::net::TcpStream::connect(&address).await.unwrap();
    let _second = tokio::net::TcpStream::connect(&address).await.unwrap();

    let url = format!("{}/healthz", frontend.base);
    let mut third = tokio::spawn(async move { client().get(url).send().await });
    let waited = tokio::time::timeout(Duration::from_secs(1), &mut third).await;
    assert!(
        waited.is_err(),
        "a third connection was served beyond the bound"
    );
    drop(first);
    let answer = tokio::time::timeout(Duration::from_secs(30), third)
        .await
        .expect("served once a slot is free")
        .unwrap()
        .unwrap();
    assert_eq!(answer.status(), 200);
    frontend.stop().await;
}

#[tokio::test]
async fn shutdown_closes_a_stuck_connection_at_its_deadline() {
    use tokio::io::AsyncWriteExt;
    let config = Config {
        client_header_timeout: Duration::from_secs(300),
        client_body_timeout: Duration::from_secs(300),
        shutdown_timeout: Duration::from_secs(1),
        ..test_config()
    };
    let mut frontend = spawn_frontend_with(config).await;
    let address = frontend.base.trim_start_matches("http://").to_owned();
    let mut stuck = tokio::net::TcpStream::connect(&address).await.unwrap();
    stuck
        .write_all(
            b"POST /api/tasks HTTP/1.1\r\nHost: app.example\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{",
        )
        .await
        .unwrap();
    // The request is in flight once the server answers others on a fresh connection.
    let health = client()
        .get(format!("{}/healthz", frontend.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);

    let _ = frontend.stop.take().unwrap().send(());
    tokio::time::timeout(Duration::from_secs(30), &mut frontend.task)
        .await
        .expect("the server stops at its shutdown deadline, not when the client gives up")
        .unwrap();
    until_closed(&mut stuck).await;
}

#[tokio::test]
async fn the_binary_exits_at_its_shutdown_deadline_despite_a_stuck_socket() {
    use tokio::io::AsyncWriteExt;
    let kill = if deploykit_testkit::on_path("kill") {
        Ok(())
    } else {
        Err("no `kill` program on PATH to send SIGTERM: apt-get install procps".to_owned())
    };
    if !deploykit_testkit::require("kill (procps)", kill) {
        return;
    }
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap().port()
    };
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_todo-frontend"))
        .env("PORT", port.to_string())
        .env("BACKEND_URL", closed_address().await)
        .env("ENVIRONMENT", "production")
        .env("CLIENT_HEADER_TIMEOUT_SECS", "600")
        .env("CLIENT_BODY_TIMEOUT_SECS", "600")
        .env("SHUTDOWN_TIMEOUT_SECS", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let http = client();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while http.get(format!("{base}/healthz")).send().await.is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the binary did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // One client stuck mid-body, one trickling its headers.
    let mut stuck = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    stuck
        .write_all(
            b"POST /api/tasks HTTP/1.1\r\nHost: app.example\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{",
        )
        .await
        .unwrap();
    let mut trickling = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    trickling
        .write_all(b"GET /healthz HTTP/1.1\r\n")
        .await
        .unwrap();
    assert_eq!(
        http.get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    let pid = child.id().unwrap().to_string();
    let killed = tokio::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    assert!(killed.success());
    let output = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("the binary stops at its shutdown deadline with a stuck client")
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "clean exit on SIGTERM");
    let logs = String::from_utf8_lossy(&output.stdout);
    assert!(logs.contains("shutdown deadline reached"), "{logs}");
    until_closed(&mut stuck).await;
    until_closed(&mut trickling).await;
}

/// The body of a response, gunzipped when it says it is gzip.
async fn decoded(response: reqwest::Response) -> (Option<String>, usize, String) {
    let encoding = response
        .headers()
        .get("content-encoding")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = response.bytes().await.unwrap();
    let text = if encoding.as_deref() == Some("gzip") {
        let mut text = String::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_string(&mut text)
            .unwrap();
        text
    } else {
        String::from_utf8(bytes.to_vec()).unwrap()
    };
    (encoding, bytes.len(), text)
}

/// The `href`/`src` of the page's stylesheet and script.
fn asset_urls(html: &str) -> Vec<String> {
    ["<link rel=\"stylesheet\" href=\"", "<script src=\""]
        .iter()
        .map(|start| {
            let from = html.find(start).expect("asset reference") + start.len();
            let len = html[from..].find('"').unwrap();
            html[from..from + len].to_owned()
        })
        .collect()
}

#[tokio::test]
async fn assets_are_fingerprinted_long_cached_compressed_and_revalidated() {
    let backend = spawn_router(stand_in(Duration::ZERO)).await;
    let frontend = spawn_frontend(&backend.base, Duration::from_secs(5)).await;
    let http = client();

    let page = http
        .get(format!("{}/signin", frontend.base))
        .send()
        .await
        .unwrap();
    let urls = asset_urls(&page.text().await.unwrap());
    for url in &urls {
        // The name carries a 16-hex-digit content hash: /static/app.<hash>.css
        let name = url.strip_prefix("/static/app.").expect(url);
        let hash = name.split('.').next().unwrap();
        assert_eq!(hash.len(), 16, "{url}");
        assert!(hash.chars().all(|c| c.is_ascii_hexdigit()), "{url}");

        let plain = http
            .get(format!("{}{url}", frontend.base))
            .send()
            .await
            .unwrap();
        assert_eq!(plain.status(), 200, "{url}");
        assert_eq!(
            plain.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );
        assert!(plain.headers().get("content-encoding").is_none());
        let etag = plain.headers()["etag"].to_str().unwrap().to_owned();
        assert_eq!(etag, format!("W/\"{hash}\""));
        let plain_len = plain.bytes().await.unwrap().len();

        let zipped = http
            .get(format!("{}{url}", frontend.base))
            .header("accept-encoding", "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(zipped.headers()["vary"], "accept-encoding");
        let (encoding, zipped_len, text) = decoded(zipped).await;
        assert_eq!(encoding.as_deref(), Some("gzip"), "{url}");
        assert_eq!(text.len(), plain_len);
        assert!(
            zipped_len * 2 < plain_len,
            "{url}: {zipped_len} of {plain_len}"
        );

        // The browser's copy is still good: 304, no body, same caching headers.
        for sent in [etag.clone(), etag.trim_start_matches("W/").to_owned()] {
            let again = http
                .get(format!("{}{url}", frontend.base))
                .header("if-none-match", &sent)
                .header("accept-encoding", "gzip")
                .send()
                .await
                .unwrap();
            assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{url} {sent}");
            assert_eq!(again.headers()["etag"], etag.as_str());
            assert!(again.bytes().await.unwrap().is_empty());
        }
    }

    // An old or made-up name is not answered with today's content.
    for stale in [
        "/static/app.0000000000000000.css",
        "/static/app.css",
        "/static/x",
    ] {
        let missing = http
            .get(format!("{}{stale}", frontend.base))
            .send()
            .await
            .unwrap();
        assert_eq!(missing.status(), 404, "{stale}");
        assert_ne!(
            missing.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );
    }
    frontend.stop().await;
    backend.stop().await;
}

#[tokio::test]
async fn pages_are_compressed_never_stored_and_carry_no_edit_forms() {
    let backend = spawn_router(stand_in(Duration::ZERO)).await;
    let frontend = spawn_frontend(&backend.base, Duration::from_secs(5)).await;
    let http = client();

    let page = http
        .get(format!("{}/?q=twelve", frontend.base))
        .header("cookie", session_cookie())
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["cache-control"], "no-store");
    let (encoding, zipped_len, html) = decoded(page).await;
    assert_eq!(encoding.as_deref(), Some("gzip"));
    assert_eq!(html.matches("<li class=\"task").count(), 12, "{html}");
    // One template for the whole page, no form inside any task.
    assert_eq!(html.matches("class=\"edit-form\"").count(), 1, "{html}");
    assert!(html.contains("<template id=\"edit-template\">"));
    assert!(!html.contains("id=\"edit-title-1\""));

    // The refreshed region is compressed and never stored either.
    let region = http
        .get(format!("{}/partials/tasks?q=twelve", frontend.base))
        .header("cookie", session_cookie())
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(region.headers()["cache-control"], "no-store");
    assert_eq!(region.headers()["content-encoding"], "gzip");

    // Page weight, first visit (page, stylesheet, script) and later visits (page only).
    let mut first_visit = zipped_len;
    for url in asset_urls(&html) {
        let asset = http
            .get(format!("{}{url}", frontend.base))
            .header("accept-encoding", "gzip")
            .send()
            .await
            .unwrap();
        first_visit += decoded(asset).await.1;
    }
    let signin = http
        .get(format!("{}/signin", frontend.base))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    let (_, signin_len, _) = decoded(signin).await;
    let assets = first_visit - zipped_len;
    eprintln!(
        "page weight (gzip): task page with 12 tasks {zipped_len} B html, {first_visit} B first visit; \
         sign-in {signin_len} B html, {} B first visit; CSS + JS {assets} B; uncompressed task page {} B",
        signin_len + assets,
        html.len()
    );
    assert!(first_visit < 16 * 1024, "first visit {first_visit} B");
    frontend.stop().await;
    backend.stop().await;
}

#[tokio::test]
async fn the_backend_learns_the_client_address_through_x_forwarded_for() {
    let backend = spawn_router(stand_in(Duration::ZERO)).await;
    let frontend = spawn_frontend(&backend.base, Duration::from_secs(5)).await;
    let http = client();
    // Through the /api proxy: what came in, then this connection's peer.
    let seen = http
        .get(format!("{}/api/forwarded-for", frontend.base))
        .header("x-forwarded-for", "203.0.113.5")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(seen, "203.0.113.5, 127.0.0.1");
    // The sign-in form's call to the backend carries it too.
    let form = [
        ("email", "ada@example.com"),
        ("password", "check-forwarded-for"),
    ];
    let page = http
        .post(format!("{}/signin", frontend.base))
        .form(&form)
        .send()
        .await
        .unwrap();
    let status = page.status();
    let body = page.text().await.unwrap();
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the backend call did not carry X-Forwarded-For: 127.0.0.1: {body}"
    );
    let seen = http
        .get(format!("{}/api/forwarded-for", frontend.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        seen, "127.0.0.1",
        "a client that sends none gets its peer address"
    );
}

#[tokio::test]
async fn the_undo_form_works_without_the_script() {
    let backend = spawn_router(stand_in(Duration::ZERO)).await;
    let frontend = spawn_frontend(&backend.base, Duration::from_secs(5)).await;
    let http = client();
    let undo = |form: Vec<(&'static str, &'static str)>, cookie: bool| {
        let mut request = http.post(format!("{}/undo", frontend.base)).form(&form);
        if cookie {
            request = request.header("cookie", session_cookie());
        }
        request.send()
    };
    // Undone: back to the list the bar was on.
    let answer = undo(vec![("change", "7"), ("back", "/?status=open")], true)
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    assert_eq!(answer.headers()["location"], "/?status=open");
    // Never back to an address elsewhere.
    let answer = undo(vec![("change", "7"), ("back", "//evil.example/")], true)
        .await
        .unwrap();
    assert_eq!(answer.headers()["location"], "/");
    // Refused: a page that says why, with the way back.
    let answer = undo(vec![("change", "8"), ("back", "/")], true)
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::CONFLICT);
    let html = answer.text().await.unwrap();
    assert!(
        html.contains("Nothing was undone: task 2 “Call Bob” has been changed since."),
        "{html}"
    );
    assert!(
        html.contains(r#"href="/">Back to your tasks</a>"#),
        "{html}"
    );
    // Signed out: to the sign-in page.
    let answer = undo(vec![("change", "7")], false).await.unwrap();
    assert_eq!(answer.headers()["location"], "/signin");
    frontend.stop().await;
    backend.stop().await;
}

#[tokio::test]
async fn tasks_can_be_added_completed_deleted_and_chatted_about_without_the_script() {
    let backend = spawn_router(stand_in(Duration::ZERO)).await;
    let frontend = spawn_frontend(&backend.base, Duration::from_secs(5)).await;
    let http = client();
    let post = |path: &str, form: Vec<(&'static str, String)>| {
        http.post(format!("{}{path}", frontend.base))
            .header("cookie", session_cookie())
            .form(&form)
            .send()
    };
    // The page's forms post somewhere: before, the add and chat forms had no method, so
    // without the script they sent a GET that dropped the words without a word.
    let page = http
        .get(format!("{}/?status=open", frontend.base))
        .header("cookie", session_cookie())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for form in [
        r#"<form class="card add-form" id="add-form" method="post" action="/tasks""#,
        r#"<form class="chat-form" id="chat-form" method="post" action="/chat""#,
        r#"<form class="task-actions" method="post" action="/tasks/1/delete">"#,
        r#"formaction="/tasks/1/toggle">Mark done"#,
        r#"formaction="/tasks/3/toggle">Reopen"#,
        r#"<input type="hidden" name="back" value="/?status=open">"#,
    ] {
        assert!(page.contains(form), "no {form} in {page}");
    }
    // Added: back to the list the form was on.
    let back = || ("back", "/?status=open".to_owned());
    let answer = post(
        "/tasks",
        vec![
            ("title", "Water the plants".into()),
            ("priority", "low".into()),
            back(),
        ],
    )
    .await
    .unwrap();
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    assert_eq!(answer.headers()["location"], "/?status=open");
    // An empty title: says so, with the way back; never to an address elsewhere.
    let answer = post(
        "/tasks",
        vec![("title", "   ".into()), ("back", "//evil.example/".into())],
    )
    .await
    .unwrap();
    assert_eq!(answer.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = answer.text().await.unwrap();
    assert!(html.contains("Give the task a title first."), "{html}");
    assert!(
        html.contains(r#"href="/">Back to your tasks</a>"#),
        "{html}"
    );
    // Completed and deleted.
    let answer = post("/tasks/1/toggle", vec![back()]).await.unwrap();
    assert_eq!(answer.headers()["location"], "/?status=open");
    let answer = post("/tasks/2/delete", vec![back()]).await.unwrap();
    assert_eq!(answer.headers()["location"], "/?status=open");
    // A task that is gone: the backend's reason, not a bare error.
    let answer = post("/tasks/99/delete", vec![back()]).await.unwrap();
    assert_eq!(answer.status(), StatusCode::NOT_FOUND);
    let html = answer.text().await.unwrap();
    assert!(html.contains("The task was not deleted"), "{html}");
    // The backend's words name the task's global id, which the page never shows.
    assert!(html.contains("That task no longer exists"), "{html}");
    assert!(!html.contains("no task 99"), "{html}");
    // The chat: the page comes back with the message and the answer, escaped.
    let answer = post("/chat", vec![("message", "add <b>milk</b>".into()), back()])
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let html = answer.text().await.unwrap();
    assert!(
        html.contains(r#"<li class="me">add &lt;b&gt;milk&lt;/b&gt;</li>"#),
        "{html}"
    );
    assert!(
        html.contains("You said: add &lt;b&gt;milk&lt;/b&gt;</li>"),
        "{html}"
    );
    // The assistant unavailable: says so, and the message is back in the box.
    let html = post("/chat", vec![("message", "break".into()), back()])
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains(r#"<li class="bot error">The assistant is unavailable."#),
        "{html}"
    );
    assert!(html.contains(r#"value="break""#), "{html}");
    // Signed out: to the sign-in page, nothing sent.
    let answer = http
        .post(format!("{}/tasks", frontend.base))
        .form(&[("title", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.headers()["location"], "/signin?ended");
    frontend.stop().await;
    backend.stop().await;
}

#[tokio::test]
async fn without_the_script_the_phone_layout_hides_no_task_and_no_dead_control() {
    let backend = spawn_router(stand_in(Duration::ZERO)).await;
    let frontend = spawn_frontend(&backend.base, Duration::from_secs(5)).await;
    let http = client();
    let page = http
        .get(format!("{}/", frontend.base))
        .header("cookie", session_cookie())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let css_url = asset_urls(&page)
        .into_iter()
        .find(|url| url.ends_with(".css"))
        .unwrap();
    let css = http
        .get(format!("{}{css_url}", frontend.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // Before, the panel was docked over the page's last 9rem whatever its height: without
    // the script (which measures it) a phone could not reach the last task under it.
    assert!(
        css.contains("@media (max-width: 899.98px) and (scripting: enabled)"),
        "the assistant is docked only with the script"
    );
    assert!(
        css.contains(r#"#chat-toggle, .task [data-action="edit"], .task .hit { display: none; }"#),
        "the controls that need the script are hidden without it"
    );
    frontend.stop().await;
    backend.stop().await;
}
