//! API errors: `{"error": code, "detail": text}` with the matching status, and extractors
//! whose rejections use the same shape.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// The body of every error response.
#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
pub struct ErrorBody {
    /// A stable machine-readable code, e.g. `not_found`, `invalid_body`, `unauthorized`.
    pub error: String,
    /// What went wrong, for people.
    pub detail: String,
}

/// An error a handler returns; becomes a JSON error response.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    detail: String,
    retry_after: Option<std::time::Duration>,
}

impl ApiError {
    /// An error with any status.
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            retry_after: None,
        }
    }

    /// Adds `Retry-After` (whole seconds, rounded up) to the answer.
    pub fn with_retry_after(mut self, wait: std::time::Duration) -> Self {
        self.retry_after = Some(wait);
        self
    }

    /// 422 with code `invalid_input`: the body parsed but a value breaks a rule.
    pub fn invalid(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", detail)
    }

    /// 401 with code `unauthorized`.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }

    /// 404 with code `not_found`.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", detail)
    }

    /// 500: logs the cause, tells the client nothing internal.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the server failed to handle this request; it has been logged",
        )
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// What went wrong, for people.
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        match StorageFailure::of(&error) {
            Some(StorageFailure::Full) => {
                tracing::error!(error = %error, "the database's disk is full: a write was refused");
                Self::new(
                    StatusCode::INSUFFICIENT_STORAGE,
                    "storage_full",
                    "the database's disk is full: nothing was saved; try again once space is freed",
                )
            }
            Some(StorageFailure::Unavailable) => {
                tracing::error!(error = %error, "database unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "database_unavailable",
                    "the database does not answer and nothing was saved; try again shortly",
                )
            }
            None => Self::internal(error),
        }
    }
}

/// A database failure that is the storage's, not the request's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StorageFailure {
    /// No space left: SQLite's `SQLITE_FULL`, PostgreSQL's `disk_full` (53100).
    Full,
    /// The database cannot be reached or cannot write: I/O errors, a busy or locked
    /// SQLite file, no free connection, PostgreSQL's resource and connection errors.
    Unavailable,
}

impl StorageFailure {
    fn of(error: &sqlx::Error) -> Option<Self> {
        match error {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                Some(Self::Unavailable)
            }
            sqlx::Error::Database(database) => {
                let code = database.code()?;
                // SQLite's codes are numbers (extended codes keep the primary code in the low
                // byte), PostgreSQL's are SQLSTATE texts.
                if let Ok(number) = code.parse::<i32>() {
                    return match number & 0xff {
                        13 => Some(Self::Full),
                        // IOERR, BUSY, LOCKED, NOMEM, READONLY, CANTOPEN, PROTOCOL
                        10 | 5 | 6 | 7 | 8 | 14 | 15 => Some(Self::Unavailable),
                        _ => None,
                    };
                }
                match code.as_ref() {
                    "53100" => Some(Self::Full),
                    sqlstate if sqlstate.starts_with("53") || sqlstate.starts_with("08") => {
                        Some(Self::Unavailable)
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.code.to_string(),
            detail: self.detail,
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(wait) = self.retry_after {
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(seconds.max(1)),
            );
        }
        response
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let status = rejection.status();
        let code = match status {
            StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
            StatusCode::BAD_REQUEST => "invalid_json",
            _ => "invalid_body",
        };
        let detail = match status {
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                "send the body as JSON with `Content-Type: application/json`".to_string()
            }
            StatusCode::PAYLOAD_TOO_LARGE => "the request body is larger than 64 KiB".to_string(),
            _ => rejection.body_text(),
        };
        Self::new(status, code, detail)
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_id",
            format!("{}: ids are positive integers", rejection.body_text()),
        )
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            rejection.body_text(),
        )
    }
}

/// `axum::Json` whose rejections are [`ApiError`]s.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Json<T>(pub T);

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// `axum::extract::Path` whose rejections are [`ApiError`]s.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);

/// `axum::extract::Query` whose rejections are [`ApiError`]s.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);
