//! The fake API server's answers, over plain HTTP/1.1.

use deploykit_fake_apiserver::FakeApiServer;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn call(
    server: &FakeApiServer,
    method: &str,
    path: &str,
    content_type: &str,
    body: &str,
) -> (u16, String) {
    let addr = server.url().trim_start_matches("http://").to_string();
    let mut socket = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    socket.read_to_string(&mut response).await.unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

async fn json_call(
    server: &FakeApiServer,
    method: &str,
    path: &str,
    content_type: &str,
    body: &str,
) -> (u16, Value) {
    let (status, body) = call(server, method, path, content_type, body).await;
    (
        status,
        serde_json::from_str(&body).unwrap_or(Value::String(body)),
    )
}

const JSON: &str = "application/json";
const APPLY: &str = "application/apply-patch+yaml";

fn config_map(name: &str, data: Value) -> String {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data})
        .to_string()
}

#[tokio::test]
async fn discovery_lists_builtin_kinds_and_registered_crds() {
    let server = FakeApiServer::start().await;
    let (status, apis) = json_call(&server, "GET", "/apis", JSON, "").await;
    assert_eq!(status, 200);
    assert!(
        apis["groups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["name"] == "apps")
    );
    let (_, apps) = json_call(&server, "GET", "/apis/apps/v1", JSON, "").await;
    assert!(
        apps["resources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "deployments" && r["namespaced"] == true)
    );
    assert_eq!(
        json_call(&server, "GET", "/apis/example.com/v1", JSON, "")
            .await
            .0,
        404
    );

    let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Cluster", "names": {"plural": "widgets", "kind": "Widget"}, "versions": [{"name": "v1", "served": true}]}});
    assert_eq!(
        json_call(
            &server,
            "POST",
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
            JSON,
            &crd.to_string()
        )
        .await
        .0,
        201
    );
    let (_, group) = json_call(&server, "GET", "/apis/example.com/v1", JSON, "").await;
    assert_eq!(group["resources"][0]["kind"], "Widget");
    assert_eq!(group["resources"][0]["namespaced"], false);
    let widget =
        json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}});
    assert_eq!(
        json_call(
            &server,
            "POST",
            "/apis/example.com/v1/widgets",
            JSON,
            &widget.to_string()
        )
        .await
        .0,
        201
    );
}

#[tokio::test]
async fn crud_answers_404_409_and_422_like_a_real_server() {
    let server = FakeApiServer::start().await;
    let path = "/api/v1/namespaces/default/configmaps";
    let (status, created) = json_call(
        &server,
        "POST",
        path,
        JSON,
        &config_map("a", json!({"k": "v"})),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(created["metadata"]["namespace"], "default");
    let (status, duplicate) =
        json_call(&server, "POST", path, JSON, &config_map("a", json!({}))).await;
    assert_eq!(
        (status, duplicate["reason"].as_str()),
        (409, Some("AlreadyExists"))
    );
    let (status, invalid) = json_call(
        &server,
        "POST",
        path,
        JSON,
        r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{}}"#,
    )
    .await;
    assert_eq!((status, invalid["reason"].as_str()), (422, Some("Invalid")));
    let (status, missing) = json_call(&server, "GET", &format!("{path}/nope"), JSON, "").await;
    assert_eq!(
        (status, missing["message"].as_str()),
        (404, Some("configmaps \"nope\" not found"))
    );
    let (status, no_namespace) = json_call(
        &server,
        "POST",
        "/api/v1/namespaces/absent/configmaps",
        JSON,
        &config_map("a", json!({})),
    )
    .await;
    assert_eq!(
        (status, no_namespace["message"].as_str()),
        (404, Some("namespaces \"absent\" not found"))
    );

    let mut stale = created.clone();
    stale["metadata"]["resourceVersion"] = json!("1");
    assert_eq!(
        json_call(
            &server,
            "PUT",
            &format!("{path}/a"),
            JSON,
            &stale.to_string()
        )
        .await
        .0,
        409
    );
    let (status, replaced) = json_call(
        &server,
        "PUT",
        &format!("{path}/a"),
        JSON,
        &created.to_string(),
    )
    .await;
    assert_eq!(status, 200);
    assert_ne!(
        replaced["metadata"]["resourceVersion"],
        created["metadata"]["resourceVersion"]
    );

    let (status, patched) = json_call(
        &server,
        "PATCH",
        &format!("{path}/a"),
        "application/merge-patch+json",
        r#"{"data":{"k":null,"n":"1"}}"#,
    )
    .await;
    assert_eq!((status, patched["data"].clone()), (200, json!({"n": "1"})));
    assert_eq!(
        json_call(&server, "DELETE", &format!("{path}/a"), JSON, "")
            .await
            .0,
        200
    );
    assert_eq!(
        json_call(&server, "DELETE", &format!("{path}/a"), JSON, "")
            .await
            .0,
        404
    );
    assert_eq!(
        server.writes(),
        9,
        "failed attempts count too: {:?}",
        server.write_log()
    );
}

#[tokio::test]
async fn server_side_apply_tracks_managers_conflicts_and_force() {
    let server = FakeApiServer::start().await;
    let path = "/api/v1/namespaces/default/configmaps/a";
    let (status, _) = json_call(
        &server,
        "PATCH",
        &format!("{path}?fieldManager=tool-a"),
        APPLY,
        &config_map("a", json!({"x": "1", "y": "1"})),
    )
    .await;
    assert_eq!(status, 201);
    let (status, conflict) = json_call(
        &server,
        "PATCH",
        &format!("{path}?fieldManager=tool-b"),
        APPLY,
        &config_map("a", json!({"x": "2"})),
    )
    .await;
    assert_eq!(status, 409);
    assert_eq!(
        conflict["message"],
        "Apply failed with 1 conflict: conflict with \"tool-a\" using v1: .data.x"
    );
    assert_eq!(conflict["details"]["causes"][0]["field"], ".data.x");
    // Same value: shared ownership, no conflict.
    assert_eq!(
        json_call(
            &server,
            "PATCH",
            &format!("{path}?fieldManager=tool-b"),
            APPLY,
            &config_map("a", json!({"y": "1"}))
        )
        .await
        .0,
        200
    );
    let (status, forced) = json_call(
        &server,
        "PATCH",
        &format!("{path}?fieldManager=tool-b&force=true"),
        APPLY,
        &config_map("a", json!({"x": "2", "y": "1"})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(forced["data"], json!({"x": "2", "y": "1"}));
    let managers = forced["metadata"]["managedFields"].as_array().unwrap();
    let owner_of_x: Vec<&str> = managers
        .iter()
        .filter(|m| m["fieldsV1"]["f:data"].get("f:x").is_some())
        .map(|m| m["manager"].as_str().unwrap())
        .collect();
    assert_eq!(owner_of_x, ["tool-b"]);
    // tool-a stops applying y; tool-b still owns it, so it stays.
    json_call(
        &server,
        "PATCH",
        &format!("{path}?fieldManager=tool-a"),
        APPLY,
        &config_map("a", json!({})),
    )
    .await;
    let (_, live) = json_call(&server, "GET", path, JSON, "").await;
    assert_eq!(live["data"], json!({"x": "2", "y": "1"}));
    // tool-b stops applying x: nobody owns it any more, it is removed.
    json_call(
        &server,
        "PATCH",
        &format!("{path}?fieldManager=tool-b"),
        APPLY,
        &config_map("a", json!({"y": "1"})),
    )
    .await;
    let (_, live) = json_call(&server, "GET", path, JSON, "").await;
    assert_eq!(live["data"], json!({"y": "1"}));
}

#[tokio::test]
async fn generation_bumps_only_on_spec_changes() {
    let server = FakeApiServer::start().await;
    let path = "/apis/apps/v1/namespaces/default/deployments/web?fieldManager=m";
    let deployment = |replicas: i64, label: &str| {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": {"l": label}}, "spec": {"replicas": replicas}}).to_string()
    };
    let (_, first) = json_call(&server, "PATCH", path, APPLY, &deployment(1, "a")).await;
    let (_, relabelled) = json_call(&server, "PATCH", path, APPLY, &deployment(1, "b")).await;
    let (_, scaled) = json_call(&server, "PATCH", path, APPLY, &deployment(2, "b")).await;
    assert_eq!(
        (
            first["metadata"]["generation"].as_i64(),
            relabelled["metadata"]["generation"].as_i64(),
            scaled["metadata"]["generation"].as_i64()
        ),
        (Some(1), Some(1), Some(2))
    );
    server.make_deployment_ready("default", "web");
    let live = server
        .get("apps/v1", "Deployment", Some("default"), "web")
        .unwrap();
    assert_eq!(live["status"]["observedGeneration"], 2);
    assert_eq!(live["status"]["availableReplicas"], 2);
}

#[tokio::test]
async fn lists_filter_by_label_and_field_selectors_and_watch_streams_events() {
    let server = FakeApiServer::start().await;
    for (name, tier) in [("a", "front"), ("b", "back"), ("c", "front")] {
        server.put(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default", "labels": {"tier": tier}}}));
    }
    let (_, list) = json_call(
        &server,
        "GET",
        "/api/v1/namespaces/default/configmaps?labelSelector=tier%3Dfront",
        JSON,
        "",
    )
    .await;
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a", "c"]);
    let (_, list) = json_call(
        &server,
        "GET",
        "/api/v1/configmaps?fieldSelector=metadata.name%3Db",
        JSON,
        "",
    )
    .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(server.writes(), 0, "hooks and reads are not writes");

    let (status, stream) = call(&server, "GET", "/api/v1/namespaces/default/configmaps?watch=true&labelSelector=tier%3Dback&timeoutSeconds=1", JSON, "").await;
    assert_eq!(status, 200);
    let events: Vec<Value> = stream
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 1);
    assert_eq!(
        (
            events[0]["type"].as_str(),
            events[0]["object"]["metadata"]["name"].as_str()
        ),
        (Some("ADDED"), Some("b"))
    );
}

#[tokio::test]
async fn rejected_credentials_answer_401() {
    let server = FakeApiServer::start().await;
    server.set_reject_credentials(true);
    let (status, body) = json_call(&server, "GET", "/version", JSON, "").await;
    assert_eq!(
        (status, body["reason"].as_str()),
        (401, Some("Unauthorized"))
    );
}

#[tokio::test]
async fn watch_lists_end_their_initial_events_with_a_bookmark() {
    let server = FakeApiServer::start().await;
    server.put(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "default"}}));
    // client-go's watch-list (Helm's readiness watcher): no bookmark, no readiness.
    let (status, stream) = call(&server, "GET", "/api/v1/namespaces/default/configmaps?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=1", JSON, "").await;
    assert_eq!(status, 200);
    let events: Vec<Value> = stream
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["ADDED", "BOOKMARK"]);
    assert_eq!(
        events[1]["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );
}

/// Every `$ref` in `value` names a schema of `document`.
fn unresolved_refs(document: &Value, value: &Value) -> Vec<String> {
    match value {
        Value::Object(map) => map
            .iter()
            .flat_map(|(key, inner)| match (key.as_str(), inner.as_str()) {
                ("$ref", Some(reference)) => {
                    let name = reference.trim_start_matches("#/components/schemas/");
                    if document["components"]["schemas"].get(name).is_some() {
                        vec![]
                    } else {
                        vec![reference.to_string()]
                    }
                }
                _ => unresolved_refs(document, inner),
            })
            .collect(),
        Value::Array(items) => items
            .iter()
            .flat_map(|item| unresolved_refs(document, item))
            .collect(),
        _ => vec![],
    }
}

async fn openapi_document(server: &FakeApiServer, api_path: &str) -> Value {
    let (status, root) = json_call(server, "GET", "/openapi/v3", JSON, "").await;
    assert_eq!(status, 200);
    let url = root["paths"][api_path]["serverRelativeURL"]
        .as_str()
        .unwrap_or_else(|| panic!("{api_path} missing from {root}"))
        .to_string();
    assert!(
        url.starts_with(&format!("/openapi/v3/{api_path}?hash=")),
        "{url}"
    );
    let (status, document) = json_call(server, "GET", &url, JSON, "").await;
    assert_eq!(status, 200);
    assert_eq!(document["openapi"], "3.0.0");
    assert_eq!(unresolved_refs(&document, &document), Vec::<String>::new());
    document
}

#[tokio::test]
async fn openapi_v3_describes_the_served_kinds_and_server_side_field_validation() {
    let server = FakeApiServer::start().await;
    let core = openapi_document(&server, "api/v1").await;
    let config_map = &core["components"]["schemas"]["io.k8s.api.core.v1.ConfigMap"];
    assert_eq!(config_map["properties"]["data"]["type"], "object");
    assert_eq!(
        config_map["x-kubernetes-group-version-kind"][0],
        json!({"group": "", "version": "v1", "kind": "ConfigMap"})
    );
    // kubectl's validation (in Helm's client) looks for this parameter on the kind's PATCH
    // and then leaves validation to the server instead of downloading OpenAPI v2.
    let patch = &core["paths"]["/api/v1/namespaces/{namespace}/configmaps/{name}"]["patch"];
    assert_eq!(
        patch["x-kubernetes-group-version-kind"],
        json!({"group": "", "version": "v1", "kind": "ConfigMap"})
    );
    assert!(
        patch["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "fieldValidation" && p["in"] == "query")
    );
    assert!(core["paths"].get("/api/v1/namespaces/{name}").is_some());
    let apps = openapi_document(&server, "apis/apps/v1").await;
    assert!(
        apps["components"]["schemas"]["io.k8s.api.apps.v1.Deployment"]["properties"]["spec"]
            .is_object()
    );
    assert_eq!(
        json_call(&server, "GET", "/openapi/v3/apis/example.com/v1", JSON, "")
            .await
            .0,
        404
    );

    server.put(json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced", "names": {"plural": "widgets", "kind": "Widget"}, "versions": [{"name": "v1", "served": true}]}}));
    let custom = openapi_document(&server, "apis/example.com/v1").await;
    assert_eq!(
        custom["components"]["schemas"]["com.example.v1.Widget"]["properties"]["spec"]["x-kubernetes-preserve-unknown-fields"],
        true
    );
    assert!(
        custom["paths"]
            .get("/apis/example.com/v1/namespaces/{namespace}/widgets/{name}")
            .is_some()
    );
}
