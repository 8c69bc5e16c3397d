//! The OpenAPI document matches the routes: every documented operation exists, answers
//! with a documented status, and its bodies validate against the documented schemas.

mod common;

use std::collections::BTreeSet;

use common::{Db, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const OPERATIONS: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/api/openapi.json"),
    ("post", "/api/auth/signup"),
    ("post", "/api/auth/signin"),
    ("get", "/api/auth/me"),
    ("post", "/api/auth/signout"),
    ("get", "/api/undo"),
    ("post", "/api/undo"),
    ("get", "/api/tasks"),
    ("post", "/api/tasks"),
    ("get", "/api/tasks/{id}"),
    ("patch", "/api/tasks/{id}"),
    ("delete", "/api/tasks/{id}"),
    ("post", "/api/tasks/{id}/toggle"),
    ("post", "/api/chat"),
];

/// Checks `instance` against the schema the document gives for `status` of an operation.
fn assert_matches(
    doc: &Value,
    operation: &Value,
    status: StatusCode,
    instance: &Value,
    what: &str,
) {
    let response = &operation["responses"][status.as_str()];
    assert!(
        response.is_object(),
        "{what}: status {status} is not documented"
    );
    let Some(schema) = response.pointer("/content/application~1json/schema") else {
        return;
    };
    if schema.as_object().is_some_and(|schema| schema.is_empty()) {
        return;
    }
    let mut root = schema.clone();
    root["components"] = doc["components"].clone();
    let validator = jsonschema::validator_for(&root).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| e.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "{what} {status}: {instance} breaks the schema: {errors:?}"
    );
}

/// A valid example body for a request schema.
fn example(schema_ref: &str) -> Value {
    match schema_ref.rsplit('/').next().unwrap() {
        "SignUp" => json!({"email": "new@example.com", "password": "long enough", "name": "New"}),
        "SignIn" => json!({"email": "ann@example.com", "password": "correct horse battery"}),
        "NewTask" => {
            json!({"title": "from the document", "priority": "high", "due_date": "2030-01-01", "tags": ["x"]})
        }
        "TaskPatch" => json!({"title": "patched", "due_date": null}),
        "ChatRequest" => json!({"message": "what is still open?"}),
        // The newest change: the task each operation's check creates first.
        "UndoRequest" => json!({}),
        other => panic!("no example for {other}"),
    }
}

#[tokio::test]
async fn the_document_lists_exactly_the_routes() {
    let server = TestServer::start(Db::Sqlite).await.unwrap();
    let response = server
        .http
        .get(server.url("/api/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    let doc: Value = response.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(
        doc,
        serde_json::from_str::<Value>(&todo_backend::openapi_document()).unwrap()
    );

    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |method| (method.clone(), path.clone()))
        })
        .collect();
    let expected: BTreeSet<(String, String)> = OPERATIONS
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(documented, expected);

    // Every reference resolves.
    let text = doc.to_string();
    for reference in text.split("\"$ref\":\"").skip(1) {
        let target = reference.split('"').next().unwrap();
        let pointer = target.trim_start_matches('#');
        assert!(doc.pointer(pointer).is_some(), "dangling $ref {target}");
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );

    // The schemas have teeth: a task without its fields does not pass.
    let mut root = json!({"$ref": "#/components/schemas/Task"});
    root["components"] = doc["components"].clone();
    let validator = jsonschema::validator_for(&root).unwrap();
    assert!(!validator.is_valid(&json!({"id": "seven"})));
    server.stop().await;
}

#[tokio::test]
async fn every_documented_operation_answers_as_documented() {
    let server = TestServer::start(Db::Sqlite).await.unwrap();
    let token = server.signup("ann@example.com").await;
    let doc: Value = server
        .http
        .get(server.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    // Operations on one task run last, deletion at the very end.
    let mut operations: Vec<(String, String, Value)> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            operations.push((method.clone(), path.clone(), operation.clone()));
        }
    }
    operations
        .sort_by_key(|(method, path, _)| (path.contains("{id}"), method == "delete", path.clone()));

    for (method, path, operation) in operations {
        let what = format!("{} {path}", method.to_uppercase());
        let task = server.create(&token, json!({"title": "target"})).await;
        let concrete = path.replace("{id}", &task["id"].to_string());
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let secured = operation.get("security").is_some();
        let body = operation
            .pointer("/requestBody/content/application~1json/schema/$ref")
            .and_then(Value::as_str)
            .map(example);

        // The happy path (signing out ends a session of its own, not the one the other
        // operations use).
        let session = if path == "/api/auth/signout" {
            let (_, session) = server
                .call(
                    Method::POST,
                    "/api/auth/signin",
                    None,
                    Some(example("SignIn")),
                )
                .await;
            session["token"].as_str().unwrap().to_string()
        } else {
            token.clone()
        };
        let (status, answer) = server
            .call(
                method.clone(),
                &concrete,
                secured.then_some(session.as_str()),
                body.clone(),
            )
            .await;
        assert!(status.is_success(), "{what}: {status} {answer}");
        assert_matches(&doc, &operation, status, &answer, &what);

        // Without a token.
        if secured {
            let (status, answer) = server
                .call(method.clone(), &concrete, None, body.clone())
                .await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}");
            assert_matches(&doc, &operation, status, &answer, &what);
        }
        // With a body of the wrong shape, and with broken JSON.
        if body.is_some() {
            let (status, answer) = server
                .call(
                    method.clone(),
                    &concrete,
                    Some(&token),
                    Some(json!({"unexpected": true})),
                )
                .await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{what}");
            assert_matches(&doc, &operation, status, &answer, &what);
            let response = server
                .http
                .request(method.clone(), server.url(&concrete))
                .bearer_auth(&token)
                .header("content-type", "application/json")
                .body("{")
                .send()
                .await
                .unwrap();
            let status = response.status();
            let answer: Value = response.json().await.unwrap();
            assert_eq!(status, StatusCode::BAD_REQUEST, "{what}");
            assert_matches(&doc, &operation, status, &answer, &what);
            // Without a JSON content type, and larger than the limit.
            for (content_type, body, expected) in [
                (None, "{}".to_string(), StatusCode::UNSUPPORTED_MEDIA_TYPE),
                (
                    Some("application/json"),
                    format!("\"{}\"", "x".repeat(todo_backend::BODY_LIMIT)),
                    StatusCode::PAYLOAD_TOO_LARGE,
                ),
            ] {
                let mut request = server
                    .http
                    .request(method.clone(), server.url(&concrete))
                    .bearer_auth(&token)
                    .body(body);
                if let Some(content_type) = content_type {
                    request = request.header("content-type", content_type);
                }
                let response = request.send().await.unwrap();
                let status = response.status();
                let answer: Value = response.json().await.unwrap();
                assert_eq!(status, expected, "{what}");
                assert_matches(&doc, &operation, status, &answer, &what);
            }
        }
        // A task that does not exist, and an id that is not one.
        if path.contains("{id}") {
            for (id, expected) in [
                ("987654", StatusCode::NOT_FOUND),
                ("x1", StatusCode::BAD_REQUEST),
            ] {
                let (status, answer) = server
                    .call(
                        method.clone(),
                        &path.replace("{id}", id),
                        Some(&token),
                        body.clone(),
                    )
                    .await;
                assert_eq!(status, expected, "{what} {id}");
                assert_matches(&doc, &operation, status, &answer, &what);
            }
        }
    }
    server.stop().await;
}
