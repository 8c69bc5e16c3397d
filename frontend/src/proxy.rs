//! `/api/*`: passed to the backend with the session's bearer token added.
//!
//! The browser only ever talks to the frontend (same origin, no CORS). Two paths are
//! special: sign-in and sign-up answers have their token moved into the HttpOnly cookie
//! (JavaScript never sees it), and `POST /api/auth/signout` clears that cookie.

use axum::Json;
use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::AppState;
use crate::backend::Failure;
use crate::session;

/// The largest request body passed on (the backend's own limit is lower).
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Request headers passed to the backend; everything else (cookies first) stays here.
const FORWARDED_REQUEST_HEADERS: [HeaderName; 4] = [
    header::CONTENT_TYPE,
    header::ACCEPT,
    header::ACCEPT_LANGUAGE,
    HeaderName::from_static("x-request-id"),
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

    if parts.method == Method::POST && path == "/api/auth/signout" {
        return (
            StatusCode::NO_CONTENT,
            [(header::SET_COOKIE, session::clear(secure))],
        )
            .into_response();
    }

    let body = match to_bytes(body, MAX_BODY_BYTES).await {
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
