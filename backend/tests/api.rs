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

/// Sends a chat message; returns the reply text and the tasks it names.
async fn chat(server: &TestServer, token: &str, message: &str) -> (String, Value) {
    let (status, answer) = server
        .call(
            Method::POST,
            "/api/chat",
            Some(token),
            Some(json!({"message": message})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{message}: {answer}");
    (
        answer["reply"].as_str().unwrap().to_string(),
        answer["tasks"].clone(),
    )
}

#[rstest]
#[case::sqlite(Db::Sqlite)]
#[case::postgres(Db::Postgres)]
#[tokio::test]
async fn task_numbers_are_per_user_and_never_given_again(#[case] db: Db) {
    let server = server!(db);
    let ann = server.signup("ann@example.com").await;
    let bob = server.signup("bob@example.com").await;
    let mut numbers = Vec::new();
    for title in ["milk", "bread", "eggs"] {
        numbers.push(server.create(&ann, json!({"title": title})).await["number"].clone());
    }
    assert_eq!(numbers, [1, 2, 3]);
    // Bob's first task is his 1, whatever Ann has.
    let bobs = server.create(&bob, json!({"title": "bob's plan"})).await;
    assert_eq!(bobs["number"], 1);
    assert_ne!(bobs["id"], 1, "ids stay global");

    // A deleted task's number is not given again.
    let (_, list) = server
        .call(Method::GET, "/api/tasks", Some(&ann), None)
        .await;
    let eggs = list["tasks"][0]["id"].clone();
    let (status, _) = server
        .call(
            Method::DELETE,
            &format!("/api/tasks/{eggs}"),
            Some(&ann),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let task = server.create(&ann, json!({"title": "butter"})).await;
    assert_eq!(task["number"], 4);

    // Tasks created at the same moment get different numbers.
    let created = futures_join_all(
        (0..8).map(|n| server.create(&ann, json!({"title": format!("at once {n}")}))),
    )
    .await;
    let mut at_once: Vec<i64> = created
        .iter()
        .map(|t| t["number"].as_i64().unwrap())
        .collect();
    at_once.sort_unstable();
    assert_eq!(at_once, (5..=12).collect::<Vec<i64>>());

    // The chatbot reads numbers as the user's own.
    let (reply, touched) = chat(&server, &ann, "mark 2 done").await;
    assert_eq!(touched[0]["title"], "bread", "{reply}");
    assert_eq!(touched[0]["completed"], true, "{reply}");
    assert!(reply.contains("#2 \"bread\""), "{reply}");
    let (reply, touched) = chat(&server, &bob, "mark 1 done").await;
    assert_eq!(touched[0]["title"], "bob's plan", "{reply}");
    // Another user's number answers as no task, and tells nothing about theirs.
    let (reply, touched) = chat(&server, &bob, "mark 3 done").await;
    assert_eq!(
        reply.lines().next().unwrap(),
        "You have no task 3. Say \"what is still open?\" to see your tasks."
    );
    assert_eq!(touched, json!([]));
    let (_, list) = server
        .call(Method::GET, "/api/tasks?status=done", Some(&ann), None)
        .await;
    assert_eq!(titles(&list), ["bread"], "bob changed nothing of ann's");
    server.stop().await;
}

/// Runs the futures at once and waits for all (a small stand-in for futures::join_all).
async fn futures_join_all<F: std::future::Future>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output> {
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = futures.map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|context| {
        let mut pending = false;
        for (future, output) in pinned.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(context) {
                    std::task::Poll::Ready(value) => *output = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().map(Option::unwrap).collect()
}

#[rstest]
#[case::sqlite(Db::Sqlite)]
#[case::postgres(Db::Postgres)]
#[tokio::test]
async fn signing_out_ends_that_session_at_once(#[case] db: Db) {
    let server = server!(db);
    let laptop = server.signup("ann@example.com").await;
    let (status, phone) = server
        .call(
            Method::POST,
            "/api/auth/signin",
            None,
            Some(json!({"email": "ann@example.com", "password": "correct horse battery"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let phone = phone["token"].as_str().unwrap().to_string();

    let (status, body) = server
        .call(Method::POST, "/api/auth/signout", Some(&laptop), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    for (method, path) in [
        (Method::GET, "/api/auth/me"),
        (Method::GET, "/api/tasks"),
        (Method::POST, "/api/auth/signout"),
    ] {
        let (status, body) = server.call(method, path, Some(&laptop), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}: {body}");
        assert!(
            body["detail"].as_str().unwrap().contains("signed out"),
            "{body}"
        );
    }
    // The other session goes on.
    let (status, me) = server
        .call(Method::GET, "/api/auth/me", Some(&phone), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    // Without a token there is nothing to sign out of.
    let (status, _) = server
        .call(Method::POST, "/api/auth/signout", None, None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    server.stop().await;
}

async fn undo(server: &TestServer, token: &str, body: Value) -> (StatusCode, Value) {
    server
        .call(Method::POST, "/api/undo", Some(token), Some(body))
        .await
}

async fn list(server: &TestServer, token: &str) -> Value {
    let (status, list) = server
        .call(Method::GET, "/api/tasks", Some(token), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    list
}

#[rstest]
#[case::sqlite(Db::Sqlite)]
#[case::postgres(Db::Postgres)]
#[tokio::test]
async fn the_last_changes_can_be_undone(#[case] db: Db) {
    let server = server!(db);
    let ann = server.signup("ann@example.com").await;
    let (status, nothing) = undo(&server, &ann, json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{nothing}");
    assert_eq!(nothing["error"], "nothing_to_undo");
    let (_, state) = server
        .call(Method::GET, "/api/undo", Some(&ann), None)
        .await;
    assert_eq!(state, json!({"change": null}));

    let milk = server
        .create(&ann, json!({"title": "milk", "priority": "high", "due_date": "2030-01-02", "tags": ["shop"]}))
        .await;
    let bread = server.create(&ann, json!({"title": "bread"})).await;
    let before = list(&server, &ann).await;

    // Delete, then undo: the task is back exactly, id and number included.
    let path = format!("/api/tasks/{}", milk["id"]);
    server.call(Method::DELETE, &path, Some(&ann), None).await;
    let (_, state) = server
        .call(Method::GET, "/api/undo", Some(&ann), None)
        .await;
    assert_eq!(
        state["change"]["summary"], "deleted task 1 “milk”",
        "{state}"
    );
    let (status, undone) = undo(&server, &ann, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{undone}");
    assert_eq!(undone["reply"], "Undone: deleted task 1 “milk”.");
    assert_eq!(undone["tasks"], json!([milk]));
    assert_eq!(list(&server, &ann).await, before);

    // Complete, edit: each undo takes back the newest change, then the one before.
    server
        .call(Method::POST, &format!("{path}/toggle"), Some(&ann), None)
        .await;
    server
        .call(
            Method::PATCH,
            &path,
            Some(&ann),
            Some(json!({"title": "oat milk"})),
        )
        .await;
    let (_, undone) = undo(&server, &ann, json!({})).await;
    assert_eq!(
        undone["reply"], "Undone: edited task 1 “oat milk”.",
        "{undone}"
    );
    let (_, undone) = undo(&server, &ann, json!({})).await;
    assert_eq!(
        undone["reply"], "Undone: marked task 1 “milk” done.",
        "{undone}"
    );
    assert_eq!(list(&server, &ann).await, before);

    // Undoing an addition deletes the task; its number stays used.
    let (_, undone) = undo(&server, &ann, json!({})).await;
    assert_eq!(undone["reply"], "Undone: added task 2 “bread”.", "{undone}");
    assert_eq!(titles(&list(&server, &ann).await), ["milk"]);
    let again = server.create(&ann, json!({"title": "bread"})).await;
    assert_ne!(again["number"], bread["number"]);

    // A named change: undoing it leaves later changes to other tasks alone.
    server.call(Method::DELETE, &path, Some(&ann), None).await;
    let (_, state) = server
        .call(Method::GET, "/api/undo", Some(&ann), None)
        .await;
    let deleted = state["change"]["id"].clone();
    let again_path = format!("/api/tasks/{}", again["id"]);
    server
        .call(
            Method::PATCH,
            &again_path,
            Some(&ann),
            Some(json!({"title": "rye bread"})),
        )
        .await;
    let (status, undone) = undo(&server, &ann, json!({"change": deleted})).await;
    assert_eq!(status, StatusCode::OK, "{undone}");
    assert_eq!(titles(&list(&server, &ann).await), ["rye bread", "milk"]);
    // Undone already: it says so.
    let (status, gone) = undo(&server, &ann, json!({"change": deleted})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{gone}");
    assert_eq!(gone["error"], "undo_unavailable");

    // A change whose task changed since is not undone, and says so.
    let (_, state) = server
        .call(Method::GET, "/api/undo", Some(&ann), None)
        .await;
    let renamed = state["change"]["id"].clone();
    server
        .call(
            Method::POST,
            &format!("{again_path}/toggle"),
            Some(&ann),
            None,
        )
        .await;
    let (status, refused) = undo(&server, &ann, json!({"change": renamed})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert_eq!(
        refused["detail"],
        "Nothing was undone: you edited task 3 “rye bread”, but task 3 “rye bread” has been changed since."
    );
    let (_, now) = server
        .call(Method::GET, &again_path, Some(&ann), None)
        .await;
    assert_eq!(
        (now["title"].clone(), now["completed"].clone()),
        (json!("rye bread"), json!(true))
    );

    // Another user can neither see nor undo Ann's changes.
    let bob = server.signup("bob@example.com").await;
    let (_, state) = server
        .call(Method::GET, "/api/undo", Some(&bob), None)
        .await;
    assert_eq!(state, json!({"change": null}));
    let (_, state) = server
        .call(Method::GET, "/api/undo", Some(&ann), None)
        .await;
    let (status, _) = undo(&server, &bob, json!({"change": state["change"]["id"]})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, bad) = undo(&server, &ann, json!({"change": "soon"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    server.stop().await;
}

#[rstest]
#[case::sqlite(Db::Sqlite)]
#[case::postgres(Db::Postgres)]
#[tokio::test]
async fn bulk_changes_undo_as_one_and_old_changes_expire(#[case] db: Db) {
    use todo_backend::model::TaskPatch;
    let Some((_database, store, user)) = store_with_user(db).await else {
        return;
    };
    let ids = create_tasks(&store, user, &["a", "b", "c"]).await;
    let query = todo_backend::model::TaskQuery::default();
    let before = store.list_tasks(user, &query, 50, 0).await.unwrap();

    let done = TaskPatch {
        completed: Some(true),
        ..TaskPatch::default()
    };
    let changed = todo_backend::tasks::update_many(&store, user, &ids[..2], done)
        .await
        .unwrap();
    assert_eq!(changed.len(), 2);
    let deleted = todo_backend::tasks::delete_many(&store, user, &ids)
        .await
        .unwrap();
    assert_eq!(deleted.len(), 3);
    let undone = todo_backend::tasks::undo(&store, user, None).await.unwrap();
    assert_eq!(undone.reply, "Undone: deleted 3 tasks.");
    let undone = todo_backend::tasks::undo(&store, user, None).await.unwrap();
    assert_eq!(undone.reply, "Undone: marked 2 tasks done.");
    assert_eq!(store.list_tasks(user, &query, 50, 0).await.unwrap(), before);

    // Older than the window: not shown, not undone.
    let long_ago = chrono::Utc::now().timestamp_millis() - 11 * 60 * 1000;
    store
        .record_change(user, "deleted everything", &[], long_ago)
        .await
        .unwrap();
    let state = todo_backend::tasks::undoable(&store, user).await.unwrap();
    assert!(state.change.is_some(), "the additions are still undoable");
    while todo_backend::tasks::undo(&store, user, None).await.is_ok() {}
    let error = todo_backend::tasks::undo(&store, user, None)
        .await
        .unwrap_err();
    assert_eq!(error.status(), reqwest::StatusCode::NOT_FOUND);
    assert!(
        todo_backend::tasks::undoable(&store, user)
            .await
            .unwrap()
            .change
            .is_none()
    );

    // Only the newest 20 changes are kept.
    let flip = create_tasks(&store, user, &["flip"]).await[0];
    for _ in 0..25 {
        todo_backend::tasks::toggle(&store, user, flip)
            .await
            .unwrap();
    }
    let mut undone = 0;
    while todo_backend::tasks::undo(&store, user, None).await.is_ok() {
        undone += 1;
    }
    assert_eq!(undone, 20);
    store.close().await;
}

/// A store on a new database with one user in it (None when PostgreSQL is not here).
async fn store_with_user(db: Db) -> Option<(common::TestDb, todo_backend::store::Store, i64)> {
    let database = common::TestDb::new(db).await?;
    let store = todo_backend::store::Store::open(
        &todo_backend::config::Database::parse(&database.url).unwrap(),
    )
    .await
    .unwrap();
    let user = store
        .create_user("ann@example.com", None, "x")
        .await
        .unwrap()
        .id;
    Some((database, store, user))
}

/// Creates open tasks with these titles; their ids.
async fn create_tasks(store: &todo_backend::store::Store, user: i64, titles: &[&str]) -> Vec<i64> {
    let mut ids = Vec::new();
    for title in titles {
        let task = todo_backend::model::NewTask {
            title: (*title).into(),
            description: String::new(),
            completed: false,
            priority: todo_backend::model::Priority::Medium,
            due_date: None,
            tags: vec![],
        };
        ids.push(
            todo_backend::tasks::create(store, user, task)
                .await
                .unwrap()
                .id,
        );
    }
    ids
}

/// Marks these tasks done as one change (one undo).
async fn complete_all(store: &todo_backend::store::Store, user: i64, ids: &[i64]) {
    let done = todo_backend::model::TaskPatch {
        completed: Some(true),
        ..Default::default()
    };
    let changed = todo_backend::tasks::update_many(store, user, ids, done)
        .await
        .unwrap();
    assert_eq!(changed.len(), ids.len());
}

/// Makes every write of task `written` change task `edited` too, in the same statement:
/// an edit that lands while an undo is putting tasks back, between its writes.
async fn edit_when_written(url: &str, db: Db, written: i64, edited: i64) {
    use sqlx::{Connection, Executor};
    sqlx::any::install_default_drivers();
    let mut connection = sqlx::AnyConnection::connect(url).await.unwrap();
    let edit = format!(
        "UPDATE tasks SET title = 'edited elsewhere', updated_at = '2099-01-01T00:00:00.000Z' \
         WHERE id = {edited}"
    );
    let sql = match db {
        Db::Sqlite => format!(
            "CREATE TRIGGER edit_meanwhile AFTER UPDATE ON tasks WHEN NEW.id = {written} \
             BEGIN {edit}; END"
        ),
        Db::Postgres => format!(
            "CREATE FUNCTION edit_meanwhile() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN {edit}; RETURN NULL; END $$; \
             CREATE TRIGGER edit_meanwhile AFTER UPDATE ON tasks FOR EACH ROW \
             WHEN (NEW.id = {written}) EXECUTE FUNCTION edit_meanwhile()"
        ),
    };
    connection.execute(sql.as_str()).await.unwrap();
    connection.close().await.unwrap();
}

#[rstest]
#[case::sqlite(Db::Sqlite)]
#[case::postgres(Db::Postgres)]
#[tokio::test]
async fn a_bulk_undo_that_meets_an_edit_puts_no_task_back(#[case] db: Db) {
    let Some((database, store, user)) = store_with_user(db).await else {
        return;
    };
    let ids = create_tasks(&store, user, &["a", "b", "c"]).await;
    complete_all(&store, user, &ids).await;
    let query = todo_backend::model::TaskQuery::default();
    let before = store.list_tasks(user, &query, 50, 0).await.unwrap();

    // The undo writes the last task back first; task "a" is edited at that moment, so
    // it can no longer be put back: "c" must not stay reopened either.
    edit_when_written(&database.url, db, ids[2], ids[0]).await;
    let refused = todo_backend::tasks::undo(&store, user, None)
        .await
        .unwrap_err();
    assert_eq!(
        refused.status(),
        StatusCode::CONFLICT,
        "{}",
        refused.detail()
    );
    assert_eq!(
        refused.detail(),
        "Nothing was undone: you marked 3 tasks done, but task 1 “a” has been changed since."
    );
    assert_eq!(
        store.list_tasks(user, &query, 50, 0).await.unwrap(),
        before,
        "every task is as the bulk change left it"
    );
    // The refused change is dropped: the one before it is next.
    let next = todo_backend::tasks::undoable(&store, user).await.unwrap();
    assert_eq!(next.change.unwrap().summary, "added task 3 “c”");
    store.close().await;
}

#[rstest]
#[case::sqlite(Db::Sqlite)]
#[case::postgres(Db::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_undo_racing_an_edit_is_all_or_nothing(#[case] db: Db) {
    let Some((_database, store, user)) = store_with_user(db).await else {
        return;
    };
    let (mut undone, mut refused) = (0, 0);
    for round in 0..12 {
        let ids = create_tasks(&store, user, &["a", "b", "c", "d"]).await;
        complete_all(&store, user, &ids).await;
        let bulk = todo_backend::tasks::undoable(&store, user)
            .await
            .unwrap()
            .change
            .unwrap()
            .id;
        let undo = tokio::spawn({
            let store = store.clone();
            async move { todo_backend::tasks::undo(&store, user, Some(bulk)).await }
        });
        let edit = tokio::spawn({
            let store = store.clone();
            let renamed = ids[1];
            let rename = todo_backend::model::TaskPatch {
                title: Some(format!("renamed {round}")),
                ..Default::default()
            };
            async move { todo_backend::tasks::update(&store, user, renamed, rename).await }
        });
        let (undo, edit) = (undo.await.unwrap(), edit.await.unwrap());
        edit.unwrap();
        let mut open = 0;
        for &id in &ids {
            let task = store.task(user, id).await.unwrap().unwrap();
            open += usize::from(!task.completed);
        }
        match undo {
            Ok(answer) => {
                assert_eq!(
                    answer.reply, "Undone: marked 4 tasks done.",
                    "round {round}"
                );
                assert_eq!(open, 4, "round {round}: every task reopened");
                undone += 1;
            }
            Err(error) => {
                assert_eq!(error.status(), StatusCode::CONFLICT, "{}", error.detail());
                assert_eq!(open, 0, "round {round}: no task reopened");
                refused += 1;
            }
        }
    }
    assert_eq!(undone + refused, 12);
    store.close().await;
}

#[rstest]
#[case::sqlite(Db::Sqlite)]
#[case::postgres(Db::Postgres)]
#[tokio::test]
async fn undo_in_the_chat_takes_back_the_last_change(#[case] db: Db) {
    let server = server!(db);
    let ann = server.signup("ann@example.com").await;
    let (reply, _) = chat(&server, &ann, "undo").await;
    assert!(reply.starts_with("There is nothing to undo"), "{reply}");
    chat(&server, &ann, "add buy milk").await;
    chat(&server, &ann, "add call mum").await;
    let before = list(&server, &ann).await;
    let (reply, _) = chat(&server, &ann, "delete the milk task").await;
    assert!(reply.starts_with("Deleted"), "{reply}");
    let (reply, touched) = chat(&server, &ann, "oops, undo that").await;
    assert_eq!(reply, "Undone: deleted task 1 “buy milk”.");
    assert_eq!(touched[0]["title"], "buy milk");
    assert_eq!(list(&server, &ann).await, before);
    // Changes made on the page are undone from the chat too.
    let mum = before["tasks"][0]["id"].clone();
    server
        .call(
            Method::POST,
            &format!("/api/tasks/{mum}/toggle"),
            Some(&ann),
            None,
        )
        .await;
    let (reply, _) = chat(&server, &ann, "undo").await;
    assert_eq!(reply, "Undone: marked task 2 “call mum” done.");
    assert_eq!(list(&server, &ann).await, before);
    // A confirmed bulk change is one change: one undo brings every task back.
    let (reply, _) = chat(&server, &ann, "mark everything done").await;
    assert!(reply.starts_with("Shall I"), "{reply}");
    let (reply, _) = chat(&server, &ann, "yes").await;
    assert_eq!(list(&server, &ann).await["counts"]["done"], 2, "{reply}");
    let (reply, _) = chat(&server, &ann, "undo").await;
    assert_eq!(reply, "Undone: marked 2 tasks done.");
    assert_eq!(list(&server, &ann).await, before);
    chat(&server, &ann, "delete all my tasks").await;
    let (reply, _) = chat(&server, &ann, "yes").await;
    assert_eq!(list(&server, &ann).await["total"], 0, "{reply}");
    let (reply, _) = chat(&server, &ann, "undo").await;
    assert_eq!(reply, "Undone: deleted 2 tasks.");
    assert_eq!(list(&server, &ann).await, before);
    server.stop().await;
}
