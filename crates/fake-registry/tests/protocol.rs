//! The registry answers the distribution API's calls as `docker push` expects.

use deploykit_fake_registry::FakeRegistry;
use reqwest::StatusCode;
use sha2::{Digest, Sha256};

fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

fn url(registry: &FakeRegistry, path: &str) -> String {
    format!("http://{}{path}", registry.host())
}

#[tokio::test]
async fn chunked_and_monolithic_uploads_then_a_tagged_manifest() {
    let registry = FakeRegistry::start().await;
    let http = reqwest::Client::new();
    let base = http.get(url(&registry, "/v2/")).send().await.unwrap();
    assert_eq!(base.status(), StatusCode::OK);
    assert_eq!(
        base.headers()["docker-distribution-api-version"],
        "registry/2.0"
    );

    // A layer in two chunks.
    let layer = b"layer-bytes".to_vec();
    let started = http
        .post(url(&registry, "/v2/team/app/blobs/uploads/"))
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), StatusCode::ACCEPTED);
    let location = started.headers()["location"].to_str().unwrap().to_string();
    let patched = http
        .patch(url(&registry, &location))
        .body(layer[..5].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), StatusCode::ACCEPTED);
    assert_eq!(patched.headers()["range"], "0-4");
    let layer_digest = digest(&layer);
    let finished = http
        .put(format!(
            "{}?digest={layer_digest}",
            url(&registry, &location)
        ))
        .body(layer[5..].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(finished.status(), StatusCode::CREATED);
    assert!(registry.has_blob(&layer_digest));

    // The config in one request.
    let config = br#"{"architecture":"amd64"}"#.to_vec();
    let config_digest = digest(&config);
    let put = http
        .post(format!(
            "{}?digest={config_digest}",
            url(&registry, "/v2/team/app/blobs/uploads/")
        ))
        .body(config.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::CREATED);

    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"digest": config_digest, "size": config.len()},
        "layers": [{"digest": layer_digest, "size": layer.len()}],
    })
    .to_string();
    let stored = http
        .put(url(&registry, "/v2/team/app/manifests/v1"))
        .header(
            "content-type",
            "application/vnd.docker.distribution.manifest.v2+json",
        )
        .body(manifest.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(stored.status(), StatusCode::CREATED);
    assert_eq!(
        stored.headers()["docker-content-digest"],
        digest(manifest.as_bytes()).as_str()
    );
    assert_eq!(registry.tags("team/app"), ["v1"]);
    assert_eq!(
        registry.manifest("team/app", "v1").unwrap()["layers"][0]["digest"],
        layer_digest.as_str()
    );
    let pulled = http
        .get(url(&registry, "/v2/team/app/manifests/v1"))
        .send()
        .await
        .unwrap();
    assert_eq!(pulled.text().await.unwrap(), manifest);
    let tags: serde_json::Value = http
        .get(url(&registry, "/v2/team/app/tags/list"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(tags["tags"], serde_json::json!(["v1"]));
}

#[tokio::test]
async fn wrong_digests_missing_blobs_and_missing_credentials_are_refused() {
    let registry = FakeRegistry::start_with_credentials("ci", "s3cret").await;
    let http = reqwest::Client::new();
    let anonymous = http.get(url(&registry, "/v2/")).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert!(
        anonymous.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic ")
    );
    let authorized = |request: reqwest::RequestBuilder| request.basic_auth("ci", Some("s3cret"));

    let wrong = authorized(http.post(format!(
        "{}?digest={}",
        url(&registry, "/v2/app/blobs/uploads/"),
        digest(b"other")
    )))
    .body("content")
    .send()
    .await
    .unwrap();
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    assert!(wrong.text().await.unwrap().contains("DIGEST_INVALID"));

    let dangling = serde_json::json!({
        "schemaVersion": 2,
        "config": {"digest": digest(b"absent")},
        "layers": [],
    });
    let refused = authorized(http.put(url(&registry, "/v2/app/manifests/v1")))
        .body(dangling.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("MANIFEST_BLOB_UNKNOWN")
    );
    assert!(registry.tags("app").is_empty());

    let unknown = authorized(http.get(url(&registry, "/v2/app/manifests/v9")))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}
