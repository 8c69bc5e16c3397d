//! `/api/*`: passed to the backend with the session's bearer token added.
//!
//! The browser only ever talks to the frontend (same origin, no CORS). Two paths are
//! special: sign-in and sign-up answers have their token moved into the HttpOnly cookie
//! (JavaScript never sees it), and `POST /api/auth/signout` ends the session on the backend
//! and clears that cookie.
//!
//! The token goes only to paths under `/api/`: a path with a dot segment or a backslash,
//! raw or percent-encoded, is refused before anything is sent (the URL parser would
//! resolve `/api/%2e%2e/readyz` to `/readyz`). State-changing requests must carry JSON
//! or no body at all: the content types an HTML form can send cross-site
//! (`application/x-www-form-urlencoded`, `multipart/form-data`, `text/plain`) are
//! refused, so a body-less action such as a toggle cannot be triggered by a form.

use axum::Json;
use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::AppState;
use crate::backend::Failure;
use crate::server::MAX_BODY_BYTES;
use crate::session;

/// Request headers passed to the backend; everything else (cookies first) stays here.
const FORWARDED_REQUEST_HEADERS: [HeaderName; 5] = [
    header::CONTENT_TYPE,
    header::ACCEPT,
    header::ACCEPT_LANGUAGE,
    HeaderName::from_static("x-request-id"),
    // The client chain, ending with this connection's peer (`server::run` appends it).
    HeaderName::from_static("x-forwarded-for"),
];

/// Response headers passed back to the browser.
const FORWARDED_RESPONSE_HEADERS: [HeaderName; 6] = [
    header::CONTENT_TYPE,
    header::CACHE_CONTROL,
    header::LOCATION,
    header::RETRY_AFTER,
    header::WWW_AUTHENTICATE,
    HeaderName::from_static("x-request-id"),
];

/// Handles every `/api/*` request.
pub(crate) async fn proxy(State(app): State<AppState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path().to_owned(), |pq| pq.as_str().to_owned());
    let path = parts.uri.path().to_owned();
    let secure = session::over_https(&parts.headers);

    if escapes_api(&path) {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_path",
            "API paths may not contain '.' or '..' segments or backslashes, raw or \
             percent-encoded. Use the API's own paths, e.g. /api/tasks/1.",
        );
    }
    if let Some(refusal) = refuse_non_json(&parts.method, &parts.headers) {
        return refusal;
    }

    if parts.method == Method::POST && path == "/api/auth/signout" {
        // The backend ends the session first (its token is refused from then on); the
        // cookie goes whatever it answers.
        if let Some(token) = session::token(&parts.headers)
            && let Err(failure) = app.backend.sign_out(&token).await
        {
            tracing::warn!(
                error = failure.code(),
                "the backend did not end the session; the cookie is cleared anyway"
            );
        }
        return (
            StatusCode::NO_CONTENT,
            [(header::SET_COOKIE, session::clear(secure))],
        )
            .into_response();
    }

    let body = match to_bytes(body, MAX_BODY_BYTES).await {
        Ok(body)
            if !body.is_empty() && !is_safe(&parts.method) && !has_json_type(&parts.headers) =>
        {
            return unsupported_type();
        }
        Ok(body) => body,
        Err(_) => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "The request body is larger than 1 MiB; send less.",
            );
        }
    };

    let Ok(method) = reqwest::Method::from_bytes(parts.method.as_str().as_bytes()) else {
        return error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "This method is not supported.",
        );
    };
    let mut outgoing = app
        .backend
        .client()
        .request(method, app.backend.url(&path_and_query))
        .body(body);
    for name in &FORWARDED_REQUEST_HEADERS {
        for value in parts.headers.get_all(name) {
            outgoing = outgoing.header(name, value);
        }
    }
    if let Some(token) = session::token(&parts.headers) {
        outgoing = outgoing.bearer_auth(token);
    } else if let Some(authorization) = parts.headers.get(header::AUTHORIZATION) {
        // API clients that hold their own token may still use the frontend's address.
        outgoing = outgoing.header(header::AUTHORIZATION, authorization);
    }

    let response = match outgoing.send().await {
        Ok(response) => response,
        Err(err) => return failure(&app, &path, &Failure::from_transport(&err)),
    };
    let status = response.status();
    let headers = response.headers().clone();
    let body = match response.bytes().await {
        Ok(body) => body,
        Err(err) => return failure(&app, &path, &Failure::from_transport(&err)),
    };

    let is_auth =
        parts.method == Method::POST && (path == "/api/auth/signin" || path == "/api/auth/signup");
    if is_auth && status.is_success() {
        return signed_in(status, &body, secure);
    }
    passthrough(status, &headers, body)
}

/// Whether `path`, once percent-decoded (repeatedly, so `%252e` counts too), holds a
/// `.` or `..` segment or a backslash: anything that could leave `/api/` on the way to
/// the backend.
fn escapes_api(path: &str) -> bool {
    let mut current = path.as_bytes().to_vec();
    // Each round removes at least one level of encoding; a few rounds cover any real path
    // and bound the work on hostile ones.
    for _ in 0..4 {
        let leaves = current.contains(&b'\\')
            || current
                .split(|byte| *byte == b'/')
                .any(|segment| segment == b"." || segment == b"..");
        if leaves {
            return true;
        }
        let decoded: Vec<u8> = percent_encoding::percent_decode(&current).collect();
        if decoded == current {
            return false;
        }
        current = decoded;
    }
    // Still encoded after four rounds: no honest client sends that.
    true
}

/// Methods that change nothing (and so may come from any page).
fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Whether the request says its body is JSON (`application/json`, `application/*+json`).
fn has_json_type(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .map(|essence| essence.trim().to_ascii_lowercase())
        .is_some_and(|essence| {
            essence == "application/json"
                || (essence.starts_with("application/") && essence.ends_with("+json"))
        })
}

/// A 415 for a state-changing request that declares a type other than JSON: what an
/// HTML form on another site would send.
fn refuse_non_json(method: &Method, headers: &HeaderMap) -> Option<Response> {
    let declared = headers.contains_key(header::CONTENT_TYPE);
    (!is_safe(method) && declared && !has_json_type(headers)).then(unsupported_type)
}

fn unsupported_type() -> Response {
    error(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        "Send JSON with Content-Type: application/json (or no body at all).",
    )
}

/// Copies a backend answer to the browser.
fn passthrough(status: StatusCode, headers: &HeaderMap, body: Bytes) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    for name in &FORWARDED_RESPONSE_HEADERS {
        for value in headers.get_all(name) {
            response.headers_mut().append(name, value.clone());
        }
    }
    response
}

/// Moves the token of a sign-in answer into the cookie and returns the rest.
fn signed_in(status: StatusCode, body: &Bytes, secure: bool) -> Response {
    let Ok(serde_json::Value::Object(mut answer)) = serde_json::from_slice(body) else {
        return error(
            StatusCode::BAD_GATEWAY,
            "backend_invalid_response",
            "The sign-in answer of the task service was not understood. Please try again.",
        );
    };
    let Some(serde_json::Value::String(token)) = answer.remove("token") else {
        return error(
            StatusCode::BAD_GATEWAY,
            "backend_invalid_response",
            "The sign-in answer of the task service had no session. Please try again.",
        );
    };
    let cookie = session::set(&token, secure);
    (
        status,
        [(header::SET_COOKIE, cookie)],
        Json(serde_json::Value::Object(answer)),
    )
        .into_response()
}

/// A 502/504 JSON answer for a call that got no answer.
fn failure(app: &AppState, path: &str, failure: &Failure) -> Response {
    tracing::warn!(path, error = failure.code(), "backend call failed");
    let message = failure.message(app.backend.timeout());
    let mut response = error(failure.status(), failure.code(), &message);
    if failure.status() == StatusCode::GATEWAY_TIMEOUT
        || failure.status() == StatusCode::BAD_GATEWAY
    {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
    }
    response
}

/// An error in the backend's shape: `{"error": code, "detail": text}`.
pub(crate) fn error(status: StatusCode, code: &str, detail: &str) -> Response {
    (status, Json(json!({ "error": code, "detail": detail }))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_segments_and_backslashes_are_caught_in_every_spelling() {
        let escaping = [
            "/api/../readyz",
            "/api/./tasks",
            "/api/tasks/..",
            "/api/%2e%2e/readyz",
            "/api/%2E%2E/readyz",
            "/api/.%2e/readyz",
            "/api/%2e./readyz",
            "/api/%2e/tasks",
            "/api/..\\readyz",
            "/api/%5c..%5creadyz",
            "/api/%5C",
            "/api/..%2freadyz",
            "/api/%252e%252e/readyz",
            "/api/%25252e%25252e/readyz",
            "/api/%2525252525252e",
        ];
        for path in escaping {
            assert!(escapes_api(path), "{path}");
        }
        let fine = [
            "/api/tasks",
            "/api/tasks/12/toggle",
            "/api/tasks/a.b",
            "/api/...",
            "/api/tasks/%20x",
            "/api",
        ];
        for path in fine {
            assert!(!escapes_api(path), "{path}");
        }
    }

    #[test]
    fn only_json_counts_as_json() {
        let with = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(value));
            headers
        };
        assert!(has_json_type(&with("application/json")));
        assert!(has_json_type(&with("Application/JSON; charset=utf-8")));
        assert!(has_json_type(&with("application/merge-patch+json")));
        for form in [
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "text/plain",
            "text/json",
        ] {
            assert!(!has_json_type(&with(form)), "{form}");
            assert!(
                refuse_non_json(&Method::POST, &with(form)).is_some(),
                "{form}"
            );
            assert!(
                refuse_non_json(&Method::GET, &with(form)).is_none(),
                "{form}"
            );
        }
        assert!(refuse_non_json(&Method::POST, &HeaderMap::new()).is_none());
    }
}
