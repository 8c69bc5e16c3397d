//! The REST API over real HTTP, against SQLite and a real PostgreSQL: auth, isolation,
//! every endpoint and every error path.

mod common;

use common::{Db, TestServer};
use reqwest::{Method, StatusCode};
use rstest::rstest;
use serde_json::{Value, json};

macro_rules! server {
    ($db:expr) => {
        match TestServer::start($db).await {
            Some(server) => server,
            None => return,
        }
    };
}

fn titles(list: &Value) -> Vec<&str> {
    list["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|task| task["title"].as_str().unwrap())
        .collect()
}

#[rstest]
#[case::sqlite(Db::Sqlite)]
#[case::postgres(Db::Postgres)]
#[tokio::test]
async fn signup_signin_and_me(#[case] db: Db) {
    let server = server!(db);
    let (status, session) = server
        .call(
            Method::POST,
            "/api/auth/signup",
            None,
            Some(json!({"email": "Ann@Example.com", "password": "correct horse", "name": "Ann"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{session}");
    assert_eq!(session["user"]["email"], "ann@example.com");
    assert_eq!(session["user"]["name"], "Ann");
    assert_eq!(session["token_type"], "bearer");
    assert!(
        session.get("password_hash").is_none() && session["user"].get("password_hash").is_none()
    );

    // Same email, any case: 409.
    let (status, body) = server
        .call(
            Method::POST,
            "/api/auth/signup",
            None,
            Some(json!({"email": "ANN@example.com", "password": "another password"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"], "email_taken");

    let (status, signed_in) = server
        .call(
            Method::POST,
            "/api/auth/signin",
            None,
            Some(json!({"email": "ann@example.com", "password": "correct horse"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{signed_in}");
    let token = signed_in["token"].as_str().unwrap();
    let (status, me) = server
        .call(Method::GET, "/api/auth/me", Some(token), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["email"], "ann@example.com");
    assert_eq!(me["id"], session["user"]["id"]);

    for (email, password) in [
        ("ann@example.com", "wrong password"),
        ("nobody@example.com", "correct horse"),
    ] {
        let (status, body) = server
            .call(
                Method::POST,
                "/api/auth/signin",
                None,
                Some(json!({"email": email, "password": password})),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["error"], "invalid_credentials");
    }
    server.stop().await;
}

#[rstest]
#[case::sqlite(Db::Sqlite)]
#[case::postgres(Db::Postgres)]
#[tokio::test]
async fn signup_rejects_bad_input(#[case] db: Db) {
    let server = server!(db);
    let cases = [
        (
            json!({"email": "not-an-email", "password": "long enough"}),
            "email",
        ),
        (
            json!({"email": "a@b.co", "password": "short"}),
            "at least 8",
        ),
        (
            json!({"email": "a@b.co", "password": "x".repeat(129)}),
            "at most 128",
        ),
        (
            json!({"email": "a@b.co", "password": "long enough", "name": "n".repeat(101)}),
            "name",
        ),
    ];
    for (body, expected) in cases {
        let (status, answer) = server
            .call(Method::POST, "/api/auth/signup", None, Some(body.clone()))
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body} -> {answer}"
        );
        assert_eq!(answer["error"], "invalid_input");
        assert!(
            answer["detail"].as_str().unwrap().contains(expected),
            "{answer}"
        );
    }
    server.stop().await;
}

#[rstest]
#[case::sqlite(Db::Sqlite)]
#[case::postgres(Db::Postgres)]
#[tokio::test]
async fn tokens_are_required_and_checked(#[case] db: Db) {
    let server = server!(db);
    let token = server.signup("ann@example.com").await;
    let forged = {
        // Same claims, signed with another key.
        let mut parts: Vec<&str> = token.split('.').collect();
        parts[2] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        parts.join(".")
    };
    for path in ["/api/auth/me", "/api/tasks", "/api/tasks/1"] {
        let (status, body) = server.call(Method::GET, path, None, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(body["error"], "unauthorized");
        assert!(body["detail"].as_str().unwrap().contains("Bearer"));
        for bad in ["garbage", forged.as_str(), ""] {
            let (status, body) = server.call(Method::GET, path, Some(bad), None).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{path} {bad}: {body}");
        }
    }
    let response = server
        .http
        .get(server.url("/api/tasks"))
        .header("authorization", format!("Basic {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    server.stop().await;
}

#[rstest]
#[case::sqlite(Db::Sqlite)]
#[case::postgres(Db::Postgres)]
#[tokio::test]
async fn task_crud(#[case] db: Db) {
    let server = server!(db);
    let token = server.signup("ann@example.com").await;
    let token = token.as_str();

    let minimal = server.create(token, json!({"title": "  buy milk  "})).await;
    assert_eq!(minimal["title"], "buy milk");
    assert_eq!(minimal["description"], "");
    assert_eq!(minimal["completed"], false);
    assert_eq!(minimal["priority"], "medium");
    assert_eq!(minimal["due_date"], Value::Null);
    assert_eq!(minimal["tags"], json!([]));
    assert!(minimal["created_at"].as_str().unwrap().ends_with('Z'));

    let full = server
        .create(
            token,
            json!({"title": "file taxes", "description": "forms A and B", "completed": true,
                   "priority": "high", "due_date": "2025-04-15", "tags": ["home", "money", "home"]}),
        )
        .await;
    assert_eq!(full["priority"], "high");
    assert_eq!(full["due_date"], "2025-04-15");
    assert_eq!(full["tags"], json!(["home", "money"]));
    assert_eq!(full["completed"], true);
    let id = full["id"].as_i64().unwrap();

    let (status, got) = server
        .call(Method::GET, &format!("/api/tasks/{id}"), Some(token), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got, full);

    let (status, patched) = server
        .call(
            Method::PATCH,
            &format!("/api/tasks/{id}"),
            Some(token),
            Some(json!({"title": "file the taxes", "due_date": null, "priority": "low"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["title"], "file the taxes");
    assert_eq!(patched["due_date"], Value::Null);
    assert_eq!(patched["priority"], "low");
    assert_eq!(
        patched["description"], "forms A and B",
        "untouched fields stay"
    );
    assert_eq!(patched["tags"], json!(["home", "money"]));

    let (status, toggled) = server
        .call(
            Method::POST,
            &format!("/api/tasks/{id}/toggle"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(toggled["completed"], false);
    let (_, toggled) = server
        .call(
            Method::POST,
            &format!("/api/tasks/{id}/toggle"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(toggled["completed"], true);

    let (status, deleted) = server
        .call(
            Method::DELETE,
            &format!("/api/tasks/{id}"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(deleted, json!({"deleted": id}));
    for method in [Method::GET, Method::DELETE, Method::PATCH] {
        let body = (method == Method::PATCH).then(|| json!({"title": "x"}));
        let (status, body) = server
            .call(
                method.clone(),
                &format!("/api/tasks/{id}"),
                Some(token),
                body,
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method}");
        assert_eq!(body["error"], "not_found");
    }
    let (status, _) = server
        .call(
            Method::POST,
            &format!("/api/tasks/{id}/toggle"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    server.stop().await;
}

#[rstest]
#[case::sqlite(Db::Sqlite)]
#[case::postgres(Db::Postgres)]
#[tokio::test]
async fn users_see_only_their_own_tasks(#[case] db: Db) {
    let server = server!(db);
    let ann = server.signup("ann@example.com").await;
    let bob = server.signup("bob@example.com").await;
    let task = server.create(&ann, json!({"title": "ann's secret"})).await;
    let path = format!("/api/tasks/{}", task["id"]);

    let (status, list) = server
        .call(Method::GET, "/api/tasks", Some(&bob), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["total"], 0);
    assert_eq!(list["tasks"], json!([]));
    for (method, body) in [
        (Method::GET, None),
        (Method::PATCH, Some(json!({"title": "mine now"}))),
        (Method::DELETE, None),
    ] {
        let (status, body) = server.call(method, &path, Some(&bob), body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    }
    let (status, _) = server
        .call(Method::POST, &format!("{path}/toggle"), Some(&bob), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, chat) = server
        .call(
            Method::POST,
            "/api/chat",
            Some(&bob),
            Some(json!({"message": "delete the secret task"})),
        )
        .await;
    assert_eq!(chat["tasks"], json!([]), "{chat}");

    let (_, still) = server.call(Method::GET, &path, Some(&ann), None).await;
    assert_eq!(still, task, "bob changed nothing");
    server.stop().await;
}

#[rstest]
#[case::sqlite(Db::Sqlite)]
#[case::postgres(Db::Postgres)]
#[tokio::test]
async fn list_filters_sorts_and_pages(#[case] db: Db) {
    let server = server!(db);
    let token = server.signup("ann@example.com").await;
    let token = token.as_str();
    for body in [
        json!({"title": "buy milk", "priority": "low", "due_date": "2025-03-02", "tags": ["shop"]}),
        json!({"title": "call mum", "priority": "high", "completed": true}),
        json!({"title": "pay rent", "priority": "high", "due_date": "2025-03-01"}),
        json!({"title": "50% off sale", "description": "Check the MILK price"}),
    ] {
        server.create(token, body).await;
    }
    let list = |query: &'static str| {
        let server = &server;
        async move {
            let (status, body) = server
                .call(
                    Method::GET,
                    &format!("/api/tasks{query}"),
                    Some(token),
                    None,
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{query}: {body}");
            body
        }
    };
    let all = list("").await;
    assert_eq!(
        titles(&all),
        ["50% off sale", "pay rent", "call mum", "buy milk"]
    );
    assert_eq!(all["total"], 4);
    assert_eq!(all["counts"], json!({"all": 4, "open": 3, "done": 1}));

    assert_eq!(
        titles(&list("?status=open").await),
        ["50% off sale", "pay rent", "buy milk"]
    );
    let done = list("?status=done").await;
    assert_eq!(titles(&done), ["call mum"]);
    assert_eq!(done["total"], 1);
    assert_eq!(titles(&list("?q=MILK").await), ["50% off sale", "buy milk"]);
    assert_eq!(
        titles(&list("?q=shop").await),
        ["buy milk"],
        "tags are searched"
    );
    assert_eq!(
        titles(&list("?q=50%25").await),
        ["50% off sale"],
        "% is literal"
    );
    assert_eq!(
        titles(&list("?q=_").await),
        Vec::<&str>::new(),
        "_ is literal"
    );
    let high = list("?priority=high&status=open").await;
    assert_eq!(titles(&high), ["pay rent"]);
    assert_eq!(high["total"], 1);
    assert_eq!(
        titles(&list("?sort=due").await),
        ["pay rent", "buy milk", "50% off sale", "call mum"]
    );
    assert_eq!(
        titles(&list("?sort=priority").await),
        ["pay rent", "call mum", "50% off sale", "buy milk"]
    );
    let page = list("?limit=2&offset=1").await;
    assert_eq!(titles(&page), ["pay rent", "call mum"]);
    assert_eq!(page["total"], 4);
    assert_eq!(titles(&list("?limit=2&offset=4").await), Vec::<&str>::new());

    for bad in [
        "?status=maybe",
        "?sort=random",
        "?priority=extreme",
        "?limit=0",
        "?limit=201",
        "?limit=ten",
        "?offset=-1",
        "?unknown=1",
    ] {
        let (status, body) = server
            .call(Method::GET, &format!("/api/tasks{bad}"), Some(token), None)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_eq!(body["error"], "invalid_query", "{bad}");
    }
    server.stop().await;
}

#[rstest]
#[case::sqlite(Db::Sqlite)]
#[case::postgres(Db::Postgres)]
#[tokio::test]
async fn bad_input_gets_4xx_never_500(#[case] db: Db) {
    let server = server!(db);
    let token = server.signup("ann@example.com").await;
    let token = token.as_str();
    let raw = |method: Method, path: &str, content_type: &str, body: String| {
        server
            .http
            .request(method, server.url(path))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(body)
    };
    let too_many_tags: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
    let cases: Vec<(reqwest::RequestBuilder, StatusCode, &str)> = vec![
        (
            raw(
                Method::POST,
                "/api/tasks",
                "application/json",
                "{\"title\": ".into(),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            raw(Method::POST, "/api/tasks", "application/json", "[]".into()),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            raw(
                Method::POST,
                "/api/tasks",
                "text/plain",
                "{\"title\": \"x\"}".into(),
            ),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            raw(
                Method::POST,
                "/api/tasks",
                "application/json",
                json!({"title": 5}).to_string(),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            raw(
                Method::POST,
                "/api/tasks",
                "application/json",
                json!({"title": "x", "owner": 2}).to_string(),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            raw(
                Method::POST,
                "/api/tasks",
                "application/json",
                json!({"title": "x", "priority": "extreme"}).to_string(),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            raw(
                Method::POST,
                "/api/tasks",
                "application/json",
                json!({"title": "x", "due_date": "31/01/2025"}).to_string(),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            raw(
                Method::POST,
                "/api/tasks",
                "application/json",
                json!({"title": "x", "due_date": "2025-02-30"}).to_string(),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            raw(
                Method::POST,
                "/api/tasks",
                "application/json",
                json!({"title": ""}).to_string(),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            raw(
                Method::POST,
                "/api/tasks",
                "application/json",
                json!({"title": "x".repeat(201)}).to_string(),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            raw(
                Method::POST,
                "/api/tasks",
                "application/json",
                json!({"title": "x", "description": "d".repeat(2001)}).to_string(),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            raw(
                Method::POST,
                "/api/tasks",
                "application/json",
                json!({"title": "x", "tags": too_many_tags}).to_string(),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            raw(
                Method::POST,
                "/api/tasks",
                "application/json",
                json!({"title": "x", "tags": ["y".repeat(51)]}).to_string(),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            raw(
                Method::POST,
                "/api/tasks",
                "application/json",
                json!({"title": "x".repeat(70 * 1024)}).to_string(),
            ),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
        (
            raw(
                Method::PATCH,
                "/api/tasks/1",
                "application/json",
                json!({"completed": "yes"}).to_string(),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            raw(
                Method::PATCH,
                "/api/tasks/1",
                "application/json",
                json!({"title": "  "}).to_string(),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            raw(
                Method::GET,
                "/api/tasks/abc",
                "application/json",
                String::new(),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_id",
        ),
        (
            raw(
                Method::GET,
                "/api/tasks/1.5",
                "application/json",
                String::new(),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_id",
        ),
        (
            raw(
                Method::GET,
                "/api/tasks/99999999999999999999",
                "application/json",
                String::new(),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_id",
        ),
        (
            raw(
                Method::DELETE,
                "/api/tasks/1%27%20OR%201=1",
                "application/json",
                String::new(),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_id",
        ),
        (
            raw(
                Method::GET,
                "/api/tasks/-1",
                "application/json",
                String::new(),
            ),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            raw(
                Method::GET,
                "/api/nothing-here",
                "application/json",
                String::new(),
            ),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            raw(Method::PUT, "/api/tasks", "application/json", String::new()),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            raw(
                Method::POST,
                "/api/chat",
                "application/json",
                json!({"message": ""}).to_string(),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            raw(
                Method::POST,
                "/api/chat",
                "application/json",
                json!({"message": "m".repeat(2001)}).to_string(),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            raw(
                Method::POST,
                "/api/chat",
                "application/json",
                json!({"msg": "hi"}).to_string(),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
    ];
    for (request, expected_status, expected_code) in cases {
        let request = request.build().unwrap();
        let what = format!("{} {}", request.method(), request.url().path());
        let response = server.http.execute(request).await.unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_eq!(status, expected_status, "{what}: {body}");
        assert_eq!(body["error"], expected_code, "{what}: {body}");
        assert!(
            body["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{what}"
        );
    }

    // SQL metacharacters are data.
    for title in [
        "'); DROP TABLE tasks; --",
        "\" OR 1=1 --",
        "Robert'); DELETE FROM users;--",
        "\\0 \\' %_",
    ] {
        let task = server
            .create(token, json!({"title": title, "tags": [title]}))
            .await;
        assert_eq!(task["title"], title.trim());
        let (status, found) = server
            .call(
                Method::GET,
                &format!("/api/tasks?q={}", urlencode(title)),
                Some(token),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(titles(&found).contains(&title.trim()), "{found}");
    }
    let (_, list) = server
        .call(Method::GET, "/api/tasks", Some(token), None)
        .await;
    assert_eq!(list["total"], 4, "tables intact");
    // Unicode at the limit is fine.
    server
        .create(token, json!({"title": "ü".repeat(200)}))
        .await;
    server.stop().await;
}

fn urlencode(text: &str) -> String {
    text.bytes().map(|b| format!("%{b:02X}")).collect()
}

#[rstest]
#[case::sqlite(Db::Sqlite)]
#[case::postgres(Db::Postgres)]
#[tokio::test]
async fn health_readiness_request_ids_and_cors(#[case] db: Db) {
    let server = server!(db);
    let (status, body) = server.call(Method::GET, "/healthz", None, None).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "ok"})));
    let (status, body) = server.call(Method::GET, "/readyz", None, None).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "ready"})));

    let response = server
        .http
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    let id = response.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(id.len(), 36, "a uuid: {id}");
    let response = server
        .http
        .get(server.url("/healthz"))
        .header("x-request-id", "trace-me-123")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-me-123");

    let preflight = server
        .http
        .request(Method::OPTIONS, server.url("/api/tasks"))
        .header("origin", "http://localhost:3000")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type",
        )
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success());
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "http://localhost:3000"
    );
    let foreign = server
        .http
        .get(server.url("/healthz"))
        .header("origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert!(
        foreign
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    server.stop().await;
}

#[tokio::test]
async fn readyz_is_503_when_the_database_is_gone() {
    let Some(pg) = common::postgres() else {
        return;
    };
    let server = server!(Db::Postgres);
    let (status, _) = server.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let name = server.db.url.rsplit('/').next().unwrap().to_string();
    pg.execute(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .await;
    let (status, body) = server.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"], "database_unavailable");
    let (status, _) = server.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(status, StatusCode::OK, "alive even when not ready");
}
