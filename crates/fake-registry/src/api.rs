//! The HTTP side: the routes of the OCI distribution API, parsed by hand because a
//! repository name may hold slashes (`team/todo-backend`) before the route's own parts.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Query, State as Shared};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::{Manifest, State, lock};

type Registry = Arc<Mutex<State>>;

/// One router for everything under `/v2`.
pub(crate) fn router(state: Registry) -> Router {
    Router::new()
        .fallback(handle)
        .layer(DefaultBodyLimit::disable())
        .with_state(state)
}

/// What a path under `/v2/` asks for.
#[derive(Debug, PartialEq)]
enum Route<'a> {
    /// `/v2/`: the API check.
    Base,
    /// `/v2/<name>/blobs/uploads/`: start an upload.
    StartUpload(&'a str),
    /// `/v2/<name>/blobs/uploads/<id>`: an upload in progress.
    Upload(&'a str, &'a str),
    /// `/v2/<name>/blobs/<digest>`.
    Blob(&'a str, &'a str),
    /// `/v2/<name>/manifests/<tag or digest>`.
    Manifest(&'a str, &'a str),
    /// `/v2/<name>/tags/list`.
    Tags(&'a str),
}

fn route(path: &str) -> Option<Route<'_>> {
    let rest = path.strip_prefix("/v2")?;
    if rest.is_empty() || rest == "/" {
        return Some(Route::Base);
    }
    let rest = rest.strip_prefix('/')?;
    if let Some(name) = rest.strip_suffix("/tags/list") {
        return Some(Route::Tags(name));
    }
    if let Some(name) = rest.strip_suffix("/blobs/uploads/") {
        return Some(Route::StartUpload(name));
    }
    if let Some((name, id)) = rest.rsplit_once("/blobs/uploads/") {
        return Some(Route::Upload(name, id));
    }
    if let Some((name, reference)) = rest.rsplit_once("/manifests/") {
        return Some(Route::Manifest(name, reference));
    }
    let (name, digest) = rest.rsplit_once("/blobs/")?;
    Some(Route::Blob(name, digest))
}

async fn handle(
    Shared(registry): Shared<Registry>,
    method: Method,
    uri: Uri,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path();
    let mut state = lock(&registry);
    state.requests.push(format!("{method} {path}"));
    if !authorized(&state, &headers) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Basic realm=\"fake-registry\"")],
            error_body("UNAUTHORIZED", "authentication required"),
        )
            .into_response();
    }
    let Some(route) = route(path) else {
        return error(StatusCode::NOT_FOUND, "NAME_UNKNOWN", "no such route");
    };
    match (route, method) {
        (Route::Base, Method::GET | Method::HEAD) => {
            (StatusCode::OK, [api_version()], "{}").into_response()
        }
        (Route::StartUpload(name), Method::POST) => start_upload(&mut state, name, &query, &body),
        (Route::Upload(name, id), Method::PATCH) => {
            match state.uploads.get_mut(id) {
                Some(upload) => upload.extend_from_slice(&body),
                None => return upload_unknown(),
            }
            upload_accepted(name, id, state.uploads[id].len())
        }
        (Route::Upload(name, id), Method::PUT) => {
            finish_upload(&mut state, name, id, &query, &body)
        }
        (Route::Upload(name, id), Method::GET) => match state.uploads.get(id) {
            Some(upload) => upload_accepted(name, id, upload.len()),
            None => upload_unknown(),
        },
        (Route::Upload(_, id), Method::DELETE) => match state.uploads.remove(id) {
            Some(_) => StatusCode::NO_CONTENT.into_response(),
            None => upload_unknown(),
        },
        (Route::Blob(_, digest), method @ (Method::GET | Method::HEAD)) => {
            match state.blobs.get(digest) {
                Some(blob) => content(&method, "application/octet-stream", digest, blob.clone()),
                None => error(StatusCode::NOT_FOUND, "BLOB_UNKNOWN", "blob unknown"),
            }
        }
        (Route::Manifest(name, reference), Method::PUT) => {
            put_manifest(&mut state, name, reference, &headers, &body)
        }
        (Route::Manifest(name, reference), method @ (Method::GET | Method::HEAD)) => {
            let digest = resolve(&state, name, reference);
            let manifest = digest
                .as_ref()
                .and_then(|digest| state.manifests.get(name)?.get(digest));
            match (digest.as_ref(), manifest) {
                (Some(digest), Some(manifest)) => content(
                    &method,
                    &manifest.media_type,
                    digest,
                    manifest.bytes.clone(),
                ),
                _ => error(
                    StatusCode::NOT_FOUND,
                    "MANIFEST_UNKNOWN",
                    "manifest unknown",
                ),
            }
        }
        (Route::Tags(name), Method::GET) => {
            let tags: Vec<&String> = state
                .tags
                .get(name)
                .map(|tags| tags.keys().collect())
                .unwrap_or_default();
            axum::Json(serde_json::json!({"name": name, "tags": tags})).into_response()
        }
        _ => error(
            StatusCode::METHOD_NOT_ALLOWED,
            "UNSUPPORTED",
            "method not allowed",
        ),
    }
}

fn authorized(state: &State, headers: &HeaderMap) -> bool {
    let Some((user, password)) = &state.credentials else {
        return true;
    };
    let expected = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Basic "))
        .is_some_and(|given| given == expected)
}

/// POST: a mount from another repository, a monolithic upload (`?digest=`), or a new
/// upload session.
fn start_upload(
    state: &mut State,
    name: &str,
    query: &HashMap<String, String>,
    body: &[u8],
) -> Response {
    if let Some(digest) = query.get("mount")
        && state.blobs.contains_key(digest)
    {
        return blob_created(name, digest);
    }
    if let Some(digest) = query.get("digest") {
        return store_blob(state, name, digest, body.to_vec());
    }
    state.next_upload += 1;
    let id = format!("upload-{}", state.next_upload);
    state.uploads.insert(id.clone(), body.to_vec());
    upload_accepted(name, &id, body.len())
}

/// PUT on an upload: the last chunk, then the blob is checked against its digest.
fn finish_upload(
    state: &mut State,
    name: &str,
    id: &str,
    query: &HashMap<String, String>,
    body: &[u8],
) -> Response {
    let Some(mut blob) = state.uploads.remove(id) else {
        return upload_unknown();
    };
    blob.extend_from_slice(body);
    match query.get("digest") {
        Some(digest) => store_blob(state, name, digest, blob),
        None => error(
            StatusCode::BAD_REQUEST,
            "DIGEST_INVALID",
            "the digest query parameter is missing",
        ),
    }
}

fn store_blob(state: &mut State, name: &str, digest: &str, blob: Vec<u8>) -> Response {
    if sha256_digest(&blob) != digest {
        return error(
            StatusCode::BAD_REQUEST,
            "DIGEST_INVALID",
            "the content does not match the digest",
        );
    }
    state.blobs.insert(digest.to_string(), blob);
    blob_created(name, digest)
}

/// PUT of a manifest: every blob it names must be there; a tag then points at it.
fn put_manifest(
    state: &mut State,
    name: &str,
    reference: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let Ok(parsed) = serde_json::from_slice::<serde_json::Value>(body) else {
        return error(StatusCode::BAD_REQUEST, "MANIFEST_INVALID", "not JSON");
    };
    let referenced = std::iter::once(&parsed["config"])
        .chain(parsed["layers"].as_array().into_iter().flatten())
        .filter_map(|descriptor| descriptor["digest"].as_str());
    if let Some(missing) = referenced
        .into_iter()
        .find(|digest| !state.blobs.contains_key(*digest))
    {
        return error(
            StatusCode::BAD_REQUEST,
            "MANIFEST_BLOB_UNKNOWN",
            &format!("blob {missing} unknown"),
        );
    }
    let digest = sha256_digest(body);
    let media_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .or_else(|| parsed["mediaType"].as_str())
        .unwrap_or("application/vnd.docker.distribution.manifest.v2+json")
        .to_string();
    let manifest = Manifest {
        media_type,
        bytes: body.to_vec(),
    };
    state
        .manifests
        .entry(name.to_string())
        .or_default()
        .insert(digest.clone(), manifest);
    if !reference.starts_with("sha256:") {
        state
            .tags
            .entry(name.to_string())
            .or_default()
            .insert(reference.to_string(), digest.clone());
    }
    (
        StatusCode::CREATED,
        [
            (header::LOCATION, format!("/v2/{name}/manifests/{digest}")),
            (
                header::HeaderName::from_static("docker-content-digest"),
                digest,
            ),
        ],
    )
        .into_response()
}

/// A tag or a digest, as a manifest digest.
fn resolve(state: &State, name: &str, reference: &str) -> Option<String> {
    if reference.starts_with("sha256:") {
        return Some(reference.to_string());
    }
    state.tags.get(name)?.get(reference).cloned()
}

fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

fn api_version() -> (header::HeaderName, &'static str) {
    (
        header::HeaderName::from_static("docker-distribution-api-version"),
        "registry/2.0",
    )
}

fn content(method: &Method, media_type: &str, digest: &str, bytes: Vec<u8>) -> Response {
    let length = bytes.len();
    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        Body::from(bytes)
    };
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    let mut set = |name: header::HeaderName, value: String| {
        if let Ok(value) = value.parse() {
            headers.insert(name, value);
        }
    };
    set(header::CONTENT_TYPE, media_type.to_string());
    set(header::CONTENT_LENGTH, length.to_string());
    set(
        header::HeaderName::from_static("docker-content-digest"),
        digest.to_string(),
    );
    response
}

fn upload_accepted(name: &str, id: &str, length: usize) -> Response {
    (
        StatusCode::ACCEPTED,
        [
            (header::LOCATION, format!("/v2/{name}/blobs/uploads/{id}")),
            (header::RANGE, format!("0-{}", length.saturating_sub(1))),
            (
                header::HeaderName::from_static("docker-upload-uuid"),
                id.to_string(),
            ),
        ],
    )
        .into_response()
}

fn blob_created(name: &str, digest: &str) -> Response {
    (
        StatusCode::CREATED,
        [
            (header::LOCATION, format!("/v2/{name}/blobs/{digest}")),
            (
                header::HeaderName::from_static("docker-content-digest"),
                digest.to_string(),
            ),
        ],
    )
        .into_response()
}

fn upload_unknown() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "BLOB_UPLOAD_UNKNOWN",
        "upload unknown",
    )
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, error_body(code, message)).into_response()
}

fn error_body(code: &str, message: &str) -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({"errors": [{"code": code, "message": message}]}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_allow_slashes_in_repository_names() {
        assert_eq!(route("/v2/"), Some(Route::Base));
        assert_eq!(
            route("/v2/team/app/blobs/uploads/"),
            Some(Route::StartUpload("team/app"))
        );
        assert_eq!(
            route("/v2/team/app/blobs/uploads/upload-1"),
            Some(Route::Upload("team/app", "upload-1"))
        );
        assert_eq!(
            route("/v2/team/app/blobs/sha256:ab"),
            Some(Route::Blob("team/app", "sha256:ab"))
        );
        assert_eq!(
            route("/v2/app/manifests/v1"),
            Some(Route::Manifest("app", "v1"))
        );
        assert_eq!(route("/v2/a/b/tags/list"), Some(Route::Tags("a/b")));
        assert_eq!(route("/other"), None);
    }
}
